"""Edges that say what happened (issue 22).

- A cohort in which no patient is followed beyond the day of infusion (everyone censored
  on day 0, everyone dead on day 0) is refused by the validator with one problem that says
  so, counted.
- Patients in CR at day 30 whose follow-up ends before day 30 are counted in a note, and
  the flow diagram and the landmark analysis then agree on them.
- A median whose curve stays above 50% is "not reached"; one a curve cannot give (no
  follow-up beyond day 0; a CI curve undefined where survival falls to 0, which R prints
  as NA) is "not estimable" -- in the prose, in Table 3 and in the JSON.
- A family of tests says how many of its tests could be run and why the others could not.

R references: tests/reference/r_edges.R (print.survfit), each value next to its call.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import COHORT, LEAKED_MISSING, document_sources, read_cohort_text, write_cohort_text

from analysis.estimators.survival import kaplan_meier
from analysis.inputs.loading import InputError, load_study
from analysis.registry.concepts import ENDPOINTS, RESPONSES
from analysis.registry.groups import GROUPINGS, TOXICITY_GROUPINGS
from analysis.report.export import results_to_dict
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results
from analysis.report.tables import table3

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2023-03-01"


def _write(tmp_path: Path, name: str, edit) -> Path:
    header, frame = read_cohort_text(COHORT)
    return write_cohort_text(tmp_path / f"{name}.csv", header, edit(frame.copy()))


def _day0(frame: pd.DataFrame, died: bool) -> pd.DataFrame:
    """Every patient's follow-up ends on the day of infusion (dead that day, or censored)."""
    frame["last_followup_date"] = frame["infusion_date"]
    frame["death_date"] = frame["infusion_date"] if died else ""
    frame[["relapse_date", "cr_date", "mrd_negative", "hsct_date"]] = ""
    frame["cr_day30"] = "no"
    return frame


def _crs_claimed_on_day0(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero follow-up, yet the CRs at day 30 stay (dated on day 0, the only day the contract allows)."""
    cr = frame["cr_day30"].eq("yes")
    frame["last_followup_date"] = frame["infusion_date"]
    frame[["death_date", "relapse_date", "hsct_date"]] = ""
    frame.loc[cr, "cr_date"] = frame.loc[cr, "infusion_date"]
    return frame


# --------------------------------------------------------------------------- refused cohorts


@pytest.mark.parametrize(
    "edit,died",
    [
        (lambda f: _day0(f, died=False), 0),  # everyone censored at day 0 (zero follow-up)
        (lambda f: _day0(f, died=True), 93),  # everyone dead on day 0
        (_crs_claimed_on_day0, 0),  # zero follow-up with 86 CRs "at day 30"
    ],
    ids=["censored-day-0", "dead-day-0", "cr-claims-without-follow-up"],
)
def test_a_cohort_without_follow_up_beyond_day_0_is_refused(tmp_path, edit, died):
    path = _write(tmp_path, "edge", edit)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    [violation] = info.value.violations
    assert (violation.row, violation.column, violation.file) == (None, "last_followup_date", str(path))
    assert violation.rule.startswith(
        f"no patient is followed beyond the day of infusion (all 93 patients: {died} died on day 0, "
        f"{93 - died} censored on day 0): no survival or response analysis is possible"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(path), "--cutoff", CUTOFF],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1 and "no patient is followed beyond the day of infusion" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_single_patient_without_follow_up_is_refused(tmp_path):
    path = _write(tmp_path, "one", lambda f: _day0(f.iloc[:1].copy(), died=True))
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    assert "(the only patient: 1 died on day 0, 0 censored on day 0)" in info.value.violations[0].rule


def test_one_patient_followed_beyond_day_0_is_enough(tmp_path):
    def edit(frame):
        frame = _day0(frame, died=False)
        frame.loc[0, "last_followup_date"] = (
            dt.date.fromisoformat(frame.loc[0, "infusion_date"]) + dt.timedelta(days=1)
        ).isoformat()
        return frame

    assert len(load_study(_write(tmp_path, "edge", edit), None, CUTOFF).cohort) == 93


# --------------------------------------------------------------------------- CR at day 30 without follow-up to day 30


def test_crs_without_follow_up_to_day_30_are_noted_and_flow_and_landmark_agree(tmp_path):
    """Three patients in CR, alive, whose follow-up is cut to day 29 (CR seen on day 28)."""
    header, frame = read_cohort_text(COHORT)
    alive_in_cr = frame.index[
        frame["cr_day30"].eq("yes")
        & frame["death_date"].eq("")
        & frame["relapse_date"].eq("")
        & frame["hsct_date"].eq("")
    ]
    cut = alive_in_cr[:3]
    infusion = pd.to_datetime(frame.loc[cut, "infusion_date"])
    frame.loc[cut, "cr_date"] = (infusion + pd.Timedelta(days=28)).dt.strftime("%Y-%m-%d")
    frame.loc[cut, "last_followup_date"] = (infusion + pd.Timedelta(days=29)).dt.strftime("%Y-%m-%d")
    study = load_study(write_cohort_text(tmp_path / "short.csv", header, frame), None, CUTOFF)
    [note] = study.notes
    assert note.startswith(
        "short.csv: 3 patients in CR at day 30 (cr_day30) followed for fewer than 30 days (last follow-up on day 29)"
    )
    results, bundled = compute_results(study), compute_results(load_study(COHORT, None, CUTOFF))
    # the flow diagram: still in CR and evaluable (assessed in CR), as the note says
    assert (results.cohort_flow.cr, results.cohort_flow.evaluable) == (
        bundled.cohort_flow.cr,
        bundled.cohort_flow.evaluable,
    )
    # the day-30 landmark: the three are censored before it, so three fewer patients at the landmark
    lm, lm0 = results.landmark[("os", "crs")], bundled.landmark[("os", "crs")]
    assert lm.n_censored_before == lm0.n_censored_before + 3 and lm.n == lm0.n - 3


# --------------------------------------------------------------------------- not reached / not estimable


@pytest.mark.parametrize(
    "months,events,r_median,not_estimable",
    [
        # R> p(c(0, 0, 0), c(1, 1, 1))      -> median 0, 0.95LCL NA, 0.95UCL NA
        ([0, 0, 0], [1, 1, 1], (0.0, None, None), {"median_ci_low", "median_ci_high"}),
        # R> p(c(1, 2, 3, 4), c(1, 1, 1, 1)) -> 2.5, 1, NA: S reaches 0 at 4, where the CI is undefined
        ([1, 2, 3, 4], [1, 1, 1, 1], (2.5, 1.0, None), {"median_ci_high"}),
        # R> p(c(5, 6, 7), c(0, 1, 0))      -> 6, 6, NA: the upper curve is 1 throughout: not reached
        ([5, 6, 7], [0, 1, 0], (6.0, 6.0, None), set()),
        # R> p(c(1, 2, 3), c(0, 0, 1))      -> 3, NA, NA: S = 0 at the only death
        ([1, 2, 3], [0, 0, 1], (3.0, None, None), {"median_ci_low", "median_ci_high"}),
        # R> p(c(0, 0, 0), c(0, 0, 0))      -> NA, NA, NA: nobody followed beyond day 0
        ([0, 0, 0], [0, 0, 0], (None, None, None), {"median", "median_ci_low", "median_ci_high"}),
    ],
)
def test_a_missing_median_or_limit_is_not_reached_only_when_its_curve_stays_above_half(
    months, events, r_median, not_estimable
):
    km = kaplan_meier(np.array(months, float), np.array(events, bool))
    assert (km.median_months, km.median_ci_low, km.median_ci_high) == r_median
    assert km.not_estimable == not_estimable
    if "median_ci_high" in not_estimable and "median" not in not_estimable:
        assert "upper 95% limit not estimable: survival falls to 0" in km.median_reason


def _group_at_day0(frame: pd.DataFrame, died: bool) -> pd.DataFrame:
    """The patients with ICANS end follow-up on the day of infusion; the others are untouched."""
    icans = frame["icans_grade"].ne("0") | frame["seizure"].str.lower().eq("yes")
    frame.loc[icans, "last_followup_date"] = frame.loc[icans, "infusion_date"]
    frame.loc[icans, "death_date"] = frame.loc[icans, "infusion_date"] if died else ""
    frame.loc[icans, ["relapse_date", "cr_date", "mrd_negative", "hsct_date"]] = ""
    frame.loc[icans, "cr_day30"] = "no"
    return frame


def test_a_group_dead_on_day_0_has_a_median_of_0_and_no_ci(tmp_path):
    results = compute_results(load_study(_write(tmp_path, "g", lambda f: _group_at_day0(f, True)), None, CUTOFF))
    text = Narrative(results)
    assert text.median_survival("os", "icans", "yes") == (
        "0.0 months (95% CI not estimable; 16 of 16 patients had the event at time 0)"
    )
    level = next(lv for lv in results.survival[("os", "icans")].levels if lv.key == "yes")
    assert (level.median_months, level.events, level.n) == (0.0, level.n, results.counts["n_icans"])
    markdown = table3(results.survival, results.survival_hr)._repr_markdown_()
    assert "| 0.0 (NE–NE) |" in markdown and "NE, not estimable" in markdown
    exported = results_to_dict(results)["survival"]["os"]["icans"]["levels"]["yes"]
    assert exported["median_ci_low"] is None and "not estimable" in exported["median_ci_low_reason"]
    assert exported["median_ci_high"] is None and "not estimable" in exported["median_ci_high_reason"]


def test_a_group_without_follow_up_has_no_median_not_a_median_not_reached(tmp_path):
    results = compute_results(load_study(_write(tmp_path, "g", lambda f: _group_at_day0(f, False)), None, CUTOFF))
    text = Narrative(results)
    assert text.median_survival("os", "icans", "yes") == (
        "not estimable (no follow-up beyond day 0: median not estimable)"
    )
    assert "| NE |" in table3(results.survival, results.survival_hr)._repr_markdown_()
    # the other group is followed: its median is estimated as usual
    assert not text.median_survival("os", "icans", "no").startswith("not estimable")


# --------------------------------------------------------------------------- what the sentences count


@pytest.fixture(scope="module")
def one_patient(tmp_path_factory):
    path = _write(tmp_path_factory.mktemp("one"), "one", lambda f: f.iloc[:1].copy())
    return Narrative(compute_results(load_study(path, None, CUTOFF)))


def test_a_family_with_no_test_run_says_so_and_why(one_patient):
    tests = one_patient.main_tests
    n = len([*RESPONSES, *ENDPOINTS]) * len(TOXICITY_GROUPINGS)  # each outcome by each toxicity grouping
    assert (tests.n, tests.n_tested, tests.any) == (n, 0, None)
    assert sum(count for _, count in tests.untested) == n
    assert tests.untested_reasons == "; ".join(f"{reason} ({count})" for reason, count in tests.untested)
    assert ("no group has patients", 6) in tests.untested  # LFS (and the patient is not in CR) by each grouping
    assert tests.testable == f" ({n} more could not be tested: " + tests.untested_reasons + ")"
    assert one_patient.family_count("efficacy_by_toxicity") == "0"  # the p-value table has no row of it
    n = one_patient.treatment_tests.n
    assert one_patient.treatment_tests.counted == f"0 tests; {n} more could not be run: " + (
        one_patient.treatment_tests.untested_reasons
    )
    assert all(model.severity_global_p is None for model in one_patient.results.cox.values())
    assert one_patient.exposure_p("os").startswith("not estimable (")


def test_a_family_partly_run_counts_what_ran(tmp_path):
    def no_cr(frame):
        frame["cr_day30"] = "no"
        frame[["mrd_negative", "cr_date", "relapse_date", "hsct_date"]] = ""
        return frame

    text = Narrative(compute_results(load_study(_write(tmp_path, "no_cr", no_cr), None, CUTOFF)))
    tests = text.main_tests
    assert 0 < tests.n_tested < tests.n
    assert tests.testable == f" ({tests.n - tests.n_tested} more could not be tested: {tests.untested_reasons})"
    assert text.family_count("efficacy_by_toxicity") == str(tests.n_tested)  # the sentence's count: those run
    treatment = text.treatment_tests
    assert 0 < treatment.n_tested < treatment.n
    assert treatment.counted == (
        f"{treatment.n_tested} tests; {treatment.n - treatment.n_tested} more could not be run: "
        f"{treatment.untested_reasons}"
    )
    bundled = Narrative(compute_results(load_study(COHORT, None, CUTOFF)))
    assert (bundled.main_tests.testable, bundled.treatment_tests.counted) == ("", f"{bundled.treatment_tests.n} tests")


def test_the_summary_sentences_use_the_counts_of_what_ran():
    """The Conclusion and the Discussion cite the family through the computed phrases (the
    one-patient render in tests/test_degenerate.py checks the printed words)."""
    abstract = (ROOT / "sections" / "_abstract.qmd").read_text(encoding="utf-8")
    discussion = (ROOT / "sections" / "_discussion.qmd").read_text(encoding="utf-8")
    for section in (abstract, discussion):
        assert section.count("text.main_tests.testable") == 2 and "text.main_tests.untested_reasons" in section
    # the manuscript no longer sums up the treatment family (confounding by indication); a
    # section that does must cite it through the counted phrases
    for path in (ROOT / "sections").glob("*.qmd"):
        source = path.read_text(encoding="utf-8")
        if "text.treatment_tests.any" in source:
            assert "text.treatment_tests.counted" in source and "text.treatment_tests.untested_reasons" in source, (
                path.name
            )
    # the covariates of the multivariable model are adjustment terms: no sentence sums up their tests
    cox = (ROOT / "sections" / "_results-multivariable.qmd").read_text(encoding="utf-8")
    assert "significant_term" not in cox and "No term of any model" not in cox


def test_the_transplant_sentences_of_a_cohort_without_transplant_say_why(one_patient):
    """The transplant section is hidden without a transplant, but its inline expressions are
    evaluated before it is hidden (by Quarto and the built-in renderer): they must say why
    instead of failing the render."""
    reason = one_patient.hsct_reason
    assert not one_patient.hsct_analysed and reason
    assert one_patient.hsct_hr("os") == f"HR not estimable ({reason})"
    assert one_patient.hsct_hr("lfs", "crs", "yes") == f"HR not estimable ({reason})"
    assert one_patient.hsct_censored_n("os") == f"not estimable ({reason})"
    assert one_patient.hsct_censored_verdict("os", "crs") == f"no test of a difference was possible ({reason})"


# --------------------------------------------------------------------------- the prose of edge cohorts

_INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_CHUNK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)


def _prose(results) -> str:
    """The manuscript and the supplement as their sections read with every inline expression
    evaluated in place (code chunks left out): the words a render prints around the values,
    without a render. An expression that fails fails the test, as it fails a render."""
    out = []
    for document in ("report", "supplement"):
        text = Narrative(results, document=document)
        for path in document_sources(document):
            source = _CHUNK.sub("", path.read_text(encoding="utf-8"))
            out.append(_INLINE.sub(lambda m: str(eval(m.group(1), {"text": text, "R": results})), source))
    return re.sub(r"\s+", " ", "\n".join(out))


def _no_events(frame):
    """Nobody died or relapsed (everyone censored at the last follow-up)."""
    frame[["death_date", "relapse_date"]] = ""
    return frame


def _all_crs(frame):
    none = frame["crs_grade"].eq("0")
    frame.loc[none, ["crs_grade", "crs_onset_day"]] = ["1", "2"]
    return frame


def _no_crs(frame):
    frame["crs_grade"], frame["crs_onset_day"] = "0", ""
    return frame


def _no_icans(frame):
    frame["icans_grade"], frame["icans_onset_day"], frame["seizure"] = "0", "", "no"
    return frame


def _all_treated(frame):
    frame["steroids"], frame["tocilizumab"] = "yes", "yes"
    return frame


def _all_not_evaluable(frame):
    """Every day-30 response 'not evaluable' (attack repro 16)."""
    frame["cr_day30"] = "not evaluable"
    frame[["mrd_negative", "cr_date", "relapse_date"]] = ""
    return frame


def _dead_day0_but_one(frame):
    """92 of 93 patients die on the day of infusion, the first is followed to day 1 (attack repro 21)."""
    frame = _day0(frame, died=True)
    frame.loc[0, "death_date"] = ""
    frame.loc[0, "last_followup_date"] = (
        dt.date.fromisoformat(frame.loc[0, "infusion_date"]) + dt.timedelta(1)
    ).isoformat()
    return frame


EDGE_PROSE = {
    "no-events": _no_events,
    "all-crs": _all_crs,
    "no-crs": _no_crs,
    "no-icans": _no_icans,
    "all-treated": _all_treated,
    "all-not-evaluable": _all_not_evaluable,
    "dead-day-0-but-one": _dead_day0_but_one,
}


@pytest.fixture(scope="module")
def edge_prose(tmp_path_factory):
    directory = tmp_path_factory.mktemp("edge_prose")
    out = {}
    for name, edit in EDGE_PROSE.items():
        results = compute_results(load_study(_write(directory, name, edit), None, CUTOFF))
        out[name] = (results, _prose(results))
    return out


@pytest.mark.parametrize("name", list(EDGE_PROSE))
def test_the_prose_of_an_edge_cohort_claims_no_power_it_has_not_and_doubles_no_word(edge_prose, name):
    """Attack repro 17: 'had 80% power ... only for not estimable (no event)' and
    '(difference difference not estimable ...)'. The minimum detectable hazard ratio (a design
    property at 80% power, issue 21 finding 11) is given only when there is one; otherwise the
    sentence says why it is not estimable."""
    results, prose = edge_prose[name]
    assert not [m.group(0) for m in _DOUBLED.finditer(prose)]
    power = re.findall(r"[^.]*\bpower\b[^.]*\.", prose)
    claims = [s for s in power if "80% power" in s]
    assert not [s for s in claims if "not estimable" in s or "could not" in s]
    detectable = results.detectable_hr[("os", "crs")]
    if detectable.hr_below is None:
        assert not claims
        assert f"was not estimable ({detectable.reason}) for OS by CRS; the confidence intervals" in prose
    else:
        assert len(claims) == 1
        assert not re.search(r"not estimable \([^)]*\) for OS by CRS", prose)
        assert "The minimum detectable hazard ratio given the deaths observed" in prose
    assert not LEAKED_MISSING.search(prose)


def test_the_power_sentence_names_the_reason_of_each_edge(edge_prose):
    reasons = {name: results.detectable_hr[("os", "crs")].reason for name, (results, _) in edge_prose.items()}
    assert reasons == {
        "no-events": "no event",
        "all-crs": "one group is empty: no comparison",
        "no-crs": "one group is empty: no comparison",
        "no-icans": None,
        "all-treated": None,
        "all-not-evaluable": None,
        "dead-day-0-but-one": "all 92 events tied at time 0: no survival comparison possible",
    }
    # the risk difference of an empty group is named once: "(difference not estimable (...); OR ...)"
    assert "(difference not estimable (a group has no patient); OR not estimable (" in edge_prose["all-crs"][1]


def _followed_beyond_day_30(frame):
    end = frame["death_date"].where(frame["death_date"] != "", frame["last_followup_date"])
    days = (pd.to_datetime(end) - pd.to_datetime(frame["infusion_date"])).dt.days
    return days > 30


def test_a_cohort_whose_every_response_is_not_evaluable_renders_and_says_so(edge_prose, tmp_path):
    """Attack repro 16: every day-30 response 'not evaluable' crashed the Discussion
    (``min() arg is an empty sequence``). A patient who died or left follow-up by day 30 is
    not in CR whatever the cell says (concepts.RESPONSE_RULE, intention to treat): the demo
    has one, so 92 responses are left out and that patient is the one rate."""
    results, prose = edge_prose["all-not-evaluable"]
    frame = _all_not_evaluable(read_cohort_text()[1].copy())
    early = int((~_followed_beyond_day_30(frame)).sum())
    assert early == 1
    assert results.counts["n_response_not_evaluable"] == 93 - early
    assert results.cohort_flow.before_assessment == early
    assert Narrative(results).lowest_cr_rate() == "0 of 1 (0.0%), in the group “CRS”"
    # without that patient, no response at all: the Discussion says so instead of crashing
    only_followed = compute_results(
        load_study(
            _write(
                tmp_path,
                "all-not-evaluable-followed",
                lambda f: _all_not_evaluable(f)[_followed_beyond_day_30(f)].reset_index(drop=True),
            ),
            None,
            CUTOFF,
        )
    )
    assert only_followed.counts["n_response_not_evaluable"] == 92
    assert Narrative(only_followed).lowest_cr_rate() == (
        "not estimable: the response at day 30 could not be assessed in any patient (92 of 92 not evaluable)"
    )
    # the Discussion's key results lead with the plan's primary analysis (issue 21), not the lowest
    # rate of any group: the document renders its sentences all the same
    assert "In the main analysis, of overall survival by the CRS/ICANS severity group" in _prose(only_followed)


def test_deaths_tied_at_time_0_give_no_survival_comparison(edge_prose):
    """Attack repro 21: 92 of 93 patients dead on day 0, one followed to day 1. R fits the
    single risk set and prints an HR and a p-value:

        R> t <- c(rep(0, 92), 1/30.4375); e <- c(rep(1, 92), 0); g <- c(rep(0:1, 46), 1)
        R> coxph(Surv(t, e) ~ g)     # exp(coef) 0.914, p = 0.667
        R> survdiff(Surv(t, e) ~ g)  # Chisq = 1, p = 0.3

    They compare only who died on day 0, not survival: the report gives no HR, log-rank p or
    power then, and says why. The median is R's (print(survfit(Surv(t, e) ~ 1)): median 0,
    0.95LCL 0, 0.95UCL 0) and says what it rests on."""
    results, prose = edge_prose["dead-day-0-but-one"]
    tied = "all 92 events tied at time 0: no survival comparison possible"
    os_all = results.survival[("os", "all")].levels[0]
    assert (os_all.median_months, os_all.median_ci_low, os_all.median_ci_high) == (0.0, 0.0, 0.0)
    assert os_all.events_at_zero == 92
    text = Narrative(results)
    assert text.median_survival("os") == "0.0 months (95% CI 0.0–0.0; 92 of 93 patients had the event at time 0)"
    for grouping in GROUPINGS:
        comparison = results.survival[("os", grouping)]
        if sum(lv.n > 0 for lv in comparison.levels) > 1:
            assert (comparison.logrank_p, comparison.reason) == (None, tied), grouping
        assert all(hr.hr is None and hr.reason == tied for hr in results.survival_hr[("os", grouping)].hazard_ratios)
    assert results.cox["os"].reason == tied and all(t.hr is None for t in results.cox["os"].terms)
    assert results.detectable_hr[("os", "crs")].reason == tied
    assert text.survival_hr("os", "crs") == f"HR not estimable ({tied})"
    assert not [row.path for row in results.pvalues.rows if "os" in row.path.split("/")]
    assert "80% power" not in prose and f"not estimable ({tied}) for OS by CRS" in prose
    exported = results_to_dict(results)["survival"]["os"]
    assert exported["all"]["events_at_zero"] == 92
    assert exported["crs"]["logrank_p"] is None and exported["crs"]["logrank_p_reason"] == tied


def test_events_at_two_times_are_compared_as_usual(tmp_path):
    """The rule is narrow: one death moved from day 0 to day 1 leaves two event times, and the
    comparisons are made (they rest on little, as their wide CIs show)."""

    def edit(frame):
        frame = _dead_day0_but_one(frame)
        frame.loc[1, ["death_date", "last_followup_date"]] = (
            dt.date.fromisoformat(frame.loc[1, "infusion_date"]) + dt.timedelta(1)
        ).isoformat()
        return frame

    results = compute_results(load_study(_write(tmp_path, "two", edit), None, CUTOFF))
    assert results.survival[("os", "crs")].logrank_p is not None
    assert results.survival_hr[("os", "crs")].hazard_ratios[0].hr is not None
    assert results.detectable_hr[("os", "crs")].hr_below is not None


def test_the_landmark_tests_are_summed_up_by_what_ran(edge_prose):
    """The supplement's landmark sentence said 'Of these four log-rank tests, none reached
    statistical significance' when none could be computed (no event after the landmark)."""
    results, prose = edge_prose["no-events"]
    assert all(results.landmark[(e, g)].survival.logrank_p is None for e in ("os", "lfs") for g in ("crs", "icans"))
    assert "Of these four log-rank tests, none reached" not in prose
    assert "These log-rank tests could not be computed (no event: log-rank test undefined (4))." in prose
    _, followed = edge_prose["no-icans"]
    assert "Of these four log-rank tests (2 could not be computed), none reached statistical significance" in followed
