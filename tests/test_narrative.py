"""Prose helpers: numbers and verdict words must follow the results, not the publication."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from analysis.report.formatting import sentence_start
from analysis.report.narrative import TOXICITY_GROUPINGS, Narrative

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results  # the session's results of the bundled demo, cut-off 2023-03-01 (conftest.py)


def said(section: str, begins: str, text: Narrative) -> str:
    """The value of the inline expression of ``sections/<section>.qmd`` that begins with
    ``begins``, for these results: the sentence the report prints (its words live in the
    section, the Narrative only chooses)."""
    source = (ROOT / "sections" / f"{section}.qmd").read_text(encoding="utf-8")
    found = [code for code in re.findall(r"`\{python\}\s+([^`]+?)\s*`", source) if code.startswith(begins)]
    assert len(found) == 1, (section, begins, found)
    return str(eval(found[0], {"text": text, "R": text.results}))  # noqa: S307 (our own source)


def conclusion(text: Narrative) -> str:
    return said("_abstract", "text.choose(text.main_tests.any", text)


def grade_verdict(text: Narrative) -> str:
    return said("_supp-grades", "text.choose(text.grade_tests.any", text)


def _with_logrank_p(results, key, p):
    survival = dict(results.survival)
    survival[key] = dataclasses.replace(survival[key], logrank_p=p)
    return dataclasses.replace(results, survival=survival)


def test_verdicts_flip_with_the_p_value(results):
    significant = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.01))
    not_significant = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.5))
    assert significant.differ("survival", ("os", "steroids")) == "differed significantly"
    assert not_significant.differ("survival", ("os", "steroids")) == "showed no statistically significant difference"
    # the supplement's sentence on the grade-level family names the significant test
    flipped = Narrative(_with_logrank_p(_all_null(results), ("os", "crs_grade"), 0.01))
    assert "OS by CRS grade (p = 0.010)" in grade_verdict(flipped)
    assert grade_verdict(flipped).startswith("1 of the 10 comparisons")
    assert grade_verdict(Narrative(_all_null(results))).startswith("none of the 10 comparisons")


def test_conclusion_counts_the_significant_comparisons(results):
    base = Narrative(_with_logrank_p(results, ("os", "crs"), 0.5))
    n_tests = base.main_tests.n
    assert n_tests == 30  # 6 toxicity groupings x (CR, MRD-negative CR, OS, LFS, EFS)
    flipped = Narrative(_with_logrank_p(results, ("os", "crs"), 0.001))
    outcomes = ("cr", "mrd_negative_cr", "os", "lfs", "efs")
    before = sum(bool(base.significant(o, by=g)) for g in TOXICITY_GROUPINGS for o in outcomes)
    # after the adjusted primary verdict (review 30, F3)
    # with the OS model's events per coefficient, below 10 in the demo (review 31)
    epv = results.cox["os"].events_per_variable
    assert epv < 10
    primary = f"The main adjusted analysis (OS) was not significant (joint {base.exposure_p('os')}; {epv:.1f} events per coefficient). "
    assert conclusion(flipped).startswith(
        f"{primary}{sentence_start(str(before + 1))} of {n_tests} tests"
    )  # "One of 30"
    # the direction of the flipped test: the univariable HR of OS with against without CRS
    (hr,) = results.survival_hr[("os", "crs")].hazard_ratios
    side = "lower" if hr.hr < 1 else "higher"
    # the HR's CI includes 1 beside the forced log-rank p: the test it rests on is named (review 31)
    mark = " (log-rank only)" if hr.ci_low <= 1 <= hr.ci_high else ""
    assert f"toxicity went with {side} hazards (OS by CRS{mark})." in conclusion(flipped)
    assert "(OS)" not in conclusion(base)


def test_unestimable_values_are_worded_not_printed_as_nan(results):
    text = Narrative(_with_logrank_p(results, ("lfs", "crs"), None))
    assert text.differ("survival", ("lfs", "crs")) == "could not be compared"
    assert text.p("survival", ("lfs", "crs")).startswith("not estimable")


def test_lowest_cr_rate_is_the_minimum_over_levels(results):
    levels = [
        lv for (r, g), c in results.response.items() if r == "cr" and g in TOXICITY_GROUPINGS for lv in c.levels if lv.n
    ]
    worst = min(lv.rate for lv in levels)
    assert f"({100 * worst:.1f}%)" in Narrative(results).lowest_cr_rate()


def test_a_sentence_listing_several_tests_denies_a_difference_only_if_all_agree(results):
    keys = [("os", "crs"), ("os", "icans")]
    none_significant = Narrative(_with_logrank_p(_with_logrank_p(results, keys[0], 0.4), keys[1], 0.6))
    one_significant = Narrative(_with_logrank_p(_with_logrank_p(results, keys[0], 0.4), keys[1], 0.02))
    assert none_significant.differ_all("survival", keys) == "showed no statistically significant difference"
    assert one_significant.differ_all("survival", keys) == "differed significantly in at least one comparison"


def test_without_kinetics_every_peak_comparison_says_why(results):
    no_kinetics = dataclasses.replace(results, kinetics_reason="no CAR-T kinetics table was supplied")
    text = Narrative(no_kinetics)
    assert text.p("kinetics", "crs") == "not estimable (no CAR-T kinetics table was supplied)"
    assert text.differ("kinetics", "crs") == "could not be compared"


# --- issue 10: words that never claim more than the test shows ------------------------

EQUIVALENCE = ("did not differ", "like those who", "no difference", "similar", "same as", "equivalent")


def _all_null(results):
    """Every main comparison non-significant (log-rank and response p set to 0.5)."""
    survival = {k: dataclasses.replace(v, logrank_p=0.5) for k, v in results.survival.items()}
    response = {
        k: dataclasses.replace(v, result=dataclasses.replace(v.result, p=0.5)) for k, v in results.response.items()
    }
    return dataclasses.replace(results, survival=survival, response=response)


def test_a_null_conclusion_is_not_worded_as_equivalence(results):
    text = Narrative(_all_null(results))
    abstract = conclusion(text)
    assert abstract.startswith("Of the 30 tests") and "none reached statistical significance" in abstract
    assert "This is not evidence of no effect" in abstract
    discussion = said("_discussion", "text.choose(text.main_tests.any", text)
    for words in EQUIVALENCE:
        assert words not in abstract.lower() and words not in discussion.lower()
        assert words not in text.differ("survival", ("os", "crs"))
    assert discussion.startswith("of the 30 tests")  # inside "In this cohort, ..."
    assert "none reached statistical significance" in discussion


def test_no_treatment_or_kinetics_comparison_is_worded_as_an_effect_on_outcome(results):
    """Issue 21: "Treatment of toxicity was associated with outcome in this analysis: peak
    expansion by tocilizumab (p = 0.008)" called a kinetics comparison an outcome and ignored
    confounding by indication. The treatment tests are summed up nowhere in the prose as an
    association with outcome; the sections that show them say the drugs followed the toxicity."""
    sources = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "sections").glob("*.qmd")}
    for name, source in sources.items():
        assert "treatment_tests" not in source, name
        assert "associated with outcome" not in source, name
    for name in ("_supp-grades", "_supp-kinetics", "_methods", "_discussion"):
        assert "indication" in sources[name] or "because of the toxicity" in sources[name], name
    text = Narrative(_all_null(results))
    no_kinetics = Narrative(
        dataclasses.replace(_all_null(results), kinetics_reason="no CAR-T kinetics table was supplied")
    )
    assert no_kinetics.kinetics_reason == "no CAR-T kinetics table was supplied" and text.kinetics_reason == ""
    assert "kinetics: false" in no_kinetics.title_block and "kinetics: true" in text.title_block


def test_alpha_comes_from_the_study_file(results, tmp_path):
    from analysis.inputs.studyfile import resolve_study

    study = tmp_path / "study.yml"
    study.write_text("analysis:\n  alpha: 0.01\n", encoding="utf-8")
    strict = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.03), resolve_study(study))
    assert strict.alpha_level == "1%" and strict.significant("survival", ("os", "steroids")) is False
    assert Narrative(_with_logrank_p(results, ("os", "steroids"), 0.03)).significant("survival", ("os", "steroids"))


# --------------------------------------------------------------------------- effect sizes in prose


def _with_cox_term(results, endpoint, term, **changes):
    cox = dict(results.cox)
    terms = tuple(dataclasses.replace(t, **changes) if t.key == term else t for t in cox[endpoint].terms)
    cox[endpoint] = dataclasses.replace(cox[endpoint], terms=terms)
    return dataclasses.replace(results, cox=cox)


@pytest.mark.parametrize("upper", [float("inf"), None])
def test_hr_with_an_infinite_or_missing_upper_bound_says_so_once(results, upper):
    text = Narrative(_with_cox_term(results, "os", "ph_positive", hr=2.02, ci_low=0.65, ci_high=upper, p=0.222))
    assert text.hr("os", "ph_positive") == "HR 2.02 (95% CI not estimable), p = 0.222"


def test_hr_prints_estimate_interval_and_p(results):
    text = Narrative(_with_cox_term(results, "os", "ph_positive", hr=2.0249, ci_low=0.6549, ci_high=6.2551, p=0.2224))
    assert text.hr("os", "ph_positive") == "HR 2.02 (95% CI 0.65–6.26), p = 0.222"


def _with_level(results, key, level_key, **changes):
    survival = dict(results.survival)
    levels = tuple(dataclasses.replace(lv, **changes) if lv.key == level_key else lv for lv in survival[key].levels)
    survival[key] = dataclasses.replace(survival[key], levels=levels)
    return dataclasses.replace(results, survival=survival)


def test_median_survival_reached_and_not_reached(results):
    reached = Narrative(
        _with_level(results, ("os", "all"), "all", median_months=25.24, median_ci_low=16.0, median_ci_high=31.06)
    )
    assert reached.median_survival("os") == "25.2 months (95% CI 16.0–31.1)"
    open_ended = Narrative(
        _with_level(results, ("os", "crs"), "no", median_months=17.9, median_ci_low=6.2, median_ci_high=None)
    )
    assert open_ended.median_survival("os", "crs", "no") == "17.9 months (95% CI 6.2–not reached)"
    never = Narrative(
        _with_level(results, ("os", "crs"), "no", median_months=None, median_ci_low=None, median_ci_high=None)
    )
    assert never.median_survival("os", "crs", "no") == "not reached"
    with pytest.raises(ValueError):
        Narrative(results).median_survival("os", "crs")  # two levels: which one?


def test_landmark_survival_in_percent_with_its_ci(results):
    from analysis.estimators.survival import Landmark

    km = results.survival[("os", "all")].levels[0]
    marks = (
        Landmark(12, 0.63412, 0.54049, 0.74401),
        Landmark(24, 0.0, None, None, "survival is 0"),
        Landmark(36, None, None, None, "no patient followed to 36 months"),
    )
    text = Narrative(_with_level(results, ("os", "all"), km.key, landmarks=marks))
    assert text.landmark("os", 12) == "63.4% (95% CI 54.0–74.4%)"
    assert text.landmark("os", 24) == "0.0% (95% CI not estimable)"
    assert text.landmark("os", 36) == "not estimable (no patient followed to 36 months)"


def _with_effects(results, **changes):
    return dataclasses.replace(results, **changes)


def test_survival_hr_and_effect_and_verdict(results):
    from analysis.estimators.effects import HazardRatio, UnivariableCox

    two = UnivariableCox("os", "crs", "no", 93, 55, (HazardRatio("yes", "CRS", 0.9104, 0.5182, 1.6049, 0.74),))
    three = UnivariableCox(
        "lfs",
        "severity",
        "none",
        86,
        69,
        (
            HazardRatio("severe", "Grade ≥3 CRS or severe ICANS", 0.7515, 0.3533, 1.5987, 0.46),
            HazardRatio(
                "other",
                "Others (grade 1–2 CRS and/or ICANS)",
                None,
                None,
                None,
                None,
                reason="no patient in this group",
            ),
        ),
    )
    base = _with_effects(results, survival_hr={**results.survival_hr, ("os", "crs"): two, ("lfs", "severity"): three})
    text = Narrative(_with_logrank_p(base, ("os", "crs"), 0.7412))
    assert text.survival_hr("os", "crs") == "HR 0.91 (95% CI 0.52–1.60)"
    assert text.effect("survival", ("os", "crs")) == "HR 0.91, 95% CI 0.52–1.60; p = 0.741"
    assert text.verdict("survival", ("os", "crs")) == (
        "no significant difference was detected (HR 0.91, 95% CI 0.52–1.60; p = 0.741)"
    )
    significant = Narrative(_with_logrank_p(base, ("os", "crs"), 0.0123))
    assert significant.verdict("survival", ("os", "crs")).startswith("a significant difference was found (HR 0.91")
    untestable = Narrative(_with_logrank_p(base, ("os", "crs"), None))
    assert untestable.verdict("survival", ("os", "crs")).startswith("no test was possible")
    text3 = Narrative(_with_logrank_p(base, ("lfs", "severity"), 0.666))
    assert text3.effect("survival", ("lfs", "severity")) == (
        "HR 0.75, 95% CI 0.35–1.60 for Grade ≥3 CRS or severe ICANS; "
        "HR not estimable (no patient in this group) for Others (grade 1–2 CRS and/or ICANS), "
        "each versus No CRS or ICANS; p = 0.666"
    )
    with pytest.raises(ValueError):
        text3.survival_hr("lfs", "severity")  # two compared levels: which one?


def test_risk_difference_odds_ratio_and_response_effect(results):
    from analysis.estimators.effects import OddsRatio, ProportionDifference, ResponseEffect

    effect = ResponseEffect(
        "cr",
        "crs",
        "yes",
        "no",
        69,
        76,
        17,
        17,
        ProportionDifference(-0.092105, -0.178127, 0.098054),
        OddsRatio(0.0, 0.0, 3.129712),
    )
    infinite = dataclasses.replace(
        effect, odds_ratio=OddsRatio(None, 1.513, None, "a zero cell: odds ratio infinite", "upper limit infinite")
    )
    base = _with_effects(
        results, response_effects={**results.response_effects, ("cr", "crs"): effect, ("cr", "icans"): infinite}
    )
    text = Narrative(base)
    # review 30, finding 2: the p of the comparison's test, named, beside the difference and its CI
    named = text.named_p("cr", by="crs")
    assert named.startswith(("Fisher's exact p", "Firth LR p"))
    assert text.risk_difference("cr", "crs") == f"\u22129.2 percentage points (95% CI \u221217.8 to 9.8; {named})"
    assert text.risk_difference("cr", "crs", p=False) == "\u22129.2 percentage points (95% CI \u221217.8 to 9.8)"
    assert text.odds_ratio("cr", "crs") == "OR 0.00 (95% CI 0.00–3.13)"
    assert text.odds_ratio("cr", "icans") == "OR not estimable (a zero cell: odds ratio infinite)"
    assert text.effect("response", ("cr", "crs")) == (
        f"difference \u22129.2 percentage points, 95% CI \u221217.8 to 9.8; OR 0.00, 95% CI 0.00–3.13; {named}"
    )
    # three-level groupings keep their rates (Figure 1) and the p only
    assert text.effect("response", ("cr", "severity")) == text.p("response", ("cr", "severity"))


def test_detectable_hr_and_its_basis(results):
    from analysis.estimators.effects import detectable_hazard_ratio

    # hand: R> exp(-(qnorm(0.975) + qnorm(0.8)) / sqrt(55 * (78/93) * (15/93)))  ->  0.358043968855158
    expected = detectable_hazard_ratio(55, 78 / 93, alpha=0.05)
    assert abs(expected.hr_below - 0.358043968855158) < 1e-9
    base = _with_effects(results, detectable_hr={**results.detectable_hr, ("os", "concurrent"): expected})
    text = Narrative(base)
    assert text.detectable_hr("os", "concurrent") == "2.79 (or 0.36 for a lower hazard)"
    assert text.detectable_basis("os", "concurrent") == (
        "55 events; 15 of 93 (16.1%) patients in the group “CRS and ICANS”; 80% power; two-sided alpha 0.05"
    )
    none = _with_effects(
        results, detectable_hr={**results.detectable_hr, ("os", "crs"): detectable_hazard_ratio(0, 0.5, alpha=0.05)}
    )
    assert Narrative(none).detectable_hr("os", "crs") == "not estimable (no event)"


def test_bundled_cohort_effects_are_those_of_the_results_object(results):
    """The accessors read the results object: the bundled cohort's OS-by-concurrent HR and
    the detectable HR of its 55 deaths (checked against R in tests/test_effects.py)."""
    text = Narrative(results)
    hr = results.survival_hr[("os", "concurrent")].hazard_ratios[0]
    assert text.survival_hr("os", "concurrent") == f"HR {hr.hr:.2f} (95% CI {hr.ci_low:.2f}–{hr.ci_high:.2f})"
    assert results.detectable_hr[("os", "concurrent")].events == results.counts["n_deaths"]
    assert text.detectable_hr("os", "concurrent") == "2.79 (or 0.36 for a lower hazard)"


def test_rate_has_denominator_and_exact_ci(results):
    from analysis.estimators.comparisons import RateLevel

    response = dict(results.response)
    key = ("cr", "severity")
    # R> binom.test(19, 23)$conf.int   ->  0.612188110045 0.950492354694   (exact Clopper-Pearson)
    levels = (
        RateLevel("none", "No CRS or ICANS", 0, 0, None, None, None),
        RateLevel("severe", "Grade ≥3 CRS or severe ICANS", 23, 19, 19 / 23, 0.612188110045, 0.950492354694),
        response[key].levels[2],
    )
    response[key] = dataclasses.replace(response[key], levels=levels)
    text = Narrative(dataclasses.replace(results, response=response))
    assert text.rate("cr", "severity", "severe") == "19 of 23 (82.6%; 95% CI 61.2–95.0%)"
    assert text.rate("cr", "severity", "none") == "not estimable (no patient in the group “No CRS or ICANS”)"


def test_ph_test_without_a_p_reads_as_a_sentence(results):
    cox = dict(results.cox)
    cox["lfs"] = dataclasses.replace(cox["lfs"], ph_test_global_p=None, ph_test_reason="Firth fit: cox.zph not defined")
    text = Narrative(dataclasses.replace(results, cox=cox))
    assert text.ph_p("lfs") == "no test (Firth fit: cox.zph not defined)"
    assert text.ph_p("os").startswith("p ")


def test_keyword_accessors_read_like_the_tables(results):
    """issue 14: text.p("os", by="crs") is the same test as the older tuple form."""
    text = Narrative(results)
    assert text.p("os", by="crs") == text.p("survival", ("os", "crs"))
    assert text.p("cr", by="icans") == text.p("response", ("cr", "icans"))
    assert text.p("peak", by="crs") == text.p("kinetics", "crs")
    assert text.p("age", by="crs") == text.p("table1", ("age", "crs"))
    assert text.verdict("os", by="crs").endswith(f"{text.p('os', by='crs')})")
    assert text.differ_all("peak", by=["crs", "icans"]) == text.differ_all("kinetics", ["crs", "icans"])
    assert text.median("os") == text.median_survival("os")
    s = results.survival[("os", "crs")]
    level = s.levels[1].key
    assert text.median("os", by="crs", level=level) == text.median_survival("os", "crs", level)


@pytest.mark.parametrize(
    "call, listed",
    [
        (lambda t: t.p("os", by="age_crs"), "the groupings are: crs, icans"),
        (
            lambda t: t.p("overall", by="crs"),
            "the outcomes are: cr, mrd_negative_cr, os, lfs, efs, peak, cmax, tmax, auc, relapse, nrm, age",
        ),
        (lambda t: t.count("age_crs"), "the counts are: n_patients"),
        (lambda t: t.p("survival", ("os", "nope")), "the groupings it has are:"),
        (lambda t: t.p("os"), 'text.p("os", by="crs")'),
        (lambda t: t.p("cr", by="crs", at="landmark"), "the landmark analysis compares os, lfs, not 'cr'"),
        (lambda t: t.p("os", by="crs", at="day 90"), "the other analyses are at='landmark' or at='time-dependent'"),
    ],
)
def test_an_unknown_name_lists_the_valid_ones(results, call, listed):
    from analysis.report.narrative import UnknownKey

    with pytest.raises(UnknownKey) as err:
        call(Narrative(results))
    assert listed in str(err.value)


@pytest.mark.parametrize(
    "call, listed",
    [
        (
            lambda t: t.median("lfs", by="icnas", level="yes"),
            "no survival comparison of 'lfs' by 'icnas'; the groupings are:",
        ),
        (lambda t: t.median("OS"), "no survival comparison of 'OS'; the outcomes are: os, lfs"),
        (lambda t: t.median("os", by="crs", level="Yes"), "unknown level 'Yes'; the levels are: 'no', 'yes'"),
        (lambda t: t.landmark("os", 18), "unknown landmark month 18; the landmark months are: 12, 24"),
        (lambda t: t.survival_hr("os", "crs", level="grade3"), "unknown level 'grade3'; the levels are: 'yes'"),
        (lambda t: t.hr("os", "severity_ge4"), "unknown term 'severity_ge4'; the terms are: "),
        (lambda t: t.hr("pfs", "severity_ge3"), "no baseline Cox model 'pfs'; the valid names are: os, lfs, efs"),
        (lambda t: t.rate("cr", "crs", "maybe"), "unknown level 'maybe'; the levels are: 'no', 'yes'"),
        (lambda t: t.cif("relapse", 36), "unknown month 36; the months are: 12, 24"),
    ],
)
def test_every_helper_names_the_valid_choices_for_a_misspelt_name(results, call, listed):
    """README: "A misspelt name stops the render with the list of valid names" -- also for the
    median, landmark, HR, rate and CIF helpers, which used to raise a bare KeyError or StopIteration."""
    from analysis.report.narrative import UnknownKey

    with pytest.raises(UnknownKey) as err:
        call(Narrative(results))
    assert listed in str(err.value)


def test_group_titles_inside_sentences_lose_only_a_leading_capital():
    from analysis.report.narrative import in_sentence

    assert in_sentence("Concurrent CRS and ICANS") == "concurrent CRS and ICANS"
    assert in_sentence("CRS grade") == "CRS grade" and in_sentence("ICANS") == "ICANS"


def test_landmark_exclusions_without_any_read_as_a_sentence(results):
    lm = {k: dataclasses.replace(v, n_event_before=0, n_censored_before=0) for k, v in results.landmark.items()}
    text = Narrative(dataclasses.replace(results, landmark=lm))
    assert text.landmark_excluded("os") == "no patient had died or left follow-up before it"
    assert text.landmark_excluded("lfs") == "no patient had relapsed, died or left follow-up before it"


def test_choose_follows_the_verdict_and_says_when_no_test_ran(results):
    significant = Narrative(_with_logrank_p(results, ("os", "crs"), 0.01))
    not_significant = Narrative(_with_logrank_p(results, ("os", "crs"), 0.2))
    untested = Narrative(_with_logrank_p(results, ("os", "crs"), None))
    words = {"yes": "OS differed", "no": "no significant difference was detected", "untested": "no test ran"}
    for text, expected in (
        (significant, "OS differed"),
        (not_significant, "no significant difference was detected"),
        (untested, "no test ran"),
    ):
        assert text.choose(text.significant("os", by="crs"), **words) == expected
    assert untested.choose(None, "a", "b") == "b"  # without untested=, the 'no' words


def test_a_family_of_tests_counts_lists_and_skips_peak_without_kinetics(results):
    text = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.01))
    family = text.tests(["cr", "peak", "os"], by=["tocilizumab", "steroids"])
    assert family.n == 6 and family.any is True
    assert family.listed_p == "OS by steroids (p = 0.010)" and family.groupings == "steroids"
    no_kinetics = Narrative(dataclasses.replace(results, kinetics_reason="no CAR-T kinetics table was supplied"))
    assert no_kinetics.tests(["cr", "peak"], by="crs").n == 1
    assert no_kinetics.tests("peak", by="crs").any is None


def _with_censorings(results, n_times, keys):
    """``results`` with every curve of the survival comparisons ``keys`` censored at ``n_times`` distinct times."""
    import numpy as np

    def censored(comparison):
        levels = tuple(
            dataclasses.replace(
                lv,
                curve=dataclasses.replace(
                    lv.curve, censor_times=np.linspace(1.0, 50.0, n_times), censor_survival=np.full(n_times, 0.5)
                ),
            )
            for lv in comparison.levels
        )
        return dataclasses.replace(comparison, levels=levels)

    survival = {k: censored(c) if k in keys else c for k, c in results.survival.items()}
    landmark = {
        k: dataclasses.replace(lm, survival=censored(lm.survival)) if lm.survival is not None else lm
        for k, lm in results.landmark.items()
    }
    return dataclasses.replace(results, survival=survival, landmark=landmark)


def test_methods_say_whether_the_km_figures_mark_censored_patients(results):
    from analysis.report.figures import MAX_CENSOR_MARKS

    def sentence(r):
        return said("_methods", "text.choose(text.censor_marks", Narrative(r))

    # the demo: at most 38 distinct censoring times on any curve (counted in data/cohort.csv's
    # KM fits), all panels marked
    assert max(len(lv.curve.censor_times) for c in results.survival.values() for lv in c.levels) == 38
    assert sentence(results) == "Crosses on the Kaplan–Meier curves mark censored patients."
    every = set(results.survival)
    none = sentence(_with_censorings(results, MAX_CENSOR_MARKS + 1, every))
    assert none.startswith("Censored patients are not marked") and f"more than {MAX_CENSOR_MARKS:,} " in none
    some = sentence(_with_censorings(results, MAX_CENSOR_MARKS + 1, {("os", "crs")}))
    assert some.startswith("Crosses mark censored patients on the Kaplan–Meier panels whose curves each have at most")
    # at the threshold every panel is still marked
    assert sentence(_with_censorings(results, MAX_CENSOR_MARKS, every)).startswith("Crosses on the")


def test_a_registry_count_has_thousands_separators_as_in_the_tables(results):
    registry = dataclasses.replace(results, counts={**results.counts, "n_patients": 100_000})
    assert Narrative(registry).count("n_patients") == "100,000"  # was "100000" in the 10^5 report
    assert Narrative(results).count("n_patients") == "93"


def _shown_parts(source: str, flags: dict[str, bool]) -> str:
    """The text of a .qmd outside the conditional blocks (``::: {.content-visible
    when-meta="cartox.x"}``, ``.content-hidden``) that these flags hide."""
    shown, stack = [], []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(":::") and "{" in stripped:
            found = re.search(r'\.content-(visible|hidden)\s+when-meta="cartox\.(\w+)"', stripped)
            stack.append(True if found is None else flags[found.group(2)] == (found.group(1) == "visible"))
            continue
        if re.fullmatch(r":::+", stripped) and stack:
            stack.pop()
            continue
        if all(stack):
            shown.append(line)
    return "\n".join(shown)


def test_no_inline_expression_of_the_documents_evaluates_to_nothing(results):
    """Real Quarto prints the code of an inline expression whose value is empty ("text.product"
    appeared literally in Methods when the study file had no ``product:``). Every inline
    expression the documents show, evaluated without a study file (no product, no
    declarations), prints something."""
    text = Narrative(results)
    assert text.product == ""  # the case of the bug: nothing stated about the product
    sources = [ROOT / "report.qmd", ROOT / "supplement.qmd", *sorted((ROOT / "sections").glob("*.qmd"))]
    empty, n = [], 0
    for path in sources:
        source = _shown_parts(path.read_text(encoding="utf-8"), text.flags)
        for code in re.findall(r"(?<!`)`\{python\}\s+([^`]+?)\s*`", source):
            n += 1
            value = eval(code, {"text": text, "R": results})  # noqa: S307 (our own source)
            if not str(value).strip():
                empty.append(f"{path.name}: {code[:80]}")
    assert n > 150 and not empty, empty
    # the placeholders of both: eligibility, then the product (review 28: no product, no sentence, silently)
    assert str(text.eligibility_and_product) == f"{text.declared('eligibility')} {text.declared('product')}"


def test_the_joint_test_of_the_exposure_is_worded_endpoint_by_endpoint(bundled_results):
    """Review 28 (blocking): a user study's Key results read "the group as a whole was associated
    with outcome (OS p = 0.068, LFS p = 0.035, EFS p = 0.070)": one joint test below alpha made
    all three endpoints "associated", the primary one (OS) included."""

    def worded(ps: dict[str, float]) -> str:
        cox = {e: dataclasses.replace(c, severity_global_p=ps[e]) for e, c in bundled_results.cox.items()}
        return Narrative(dataclasses.replace(bundled_results, cox=cox)).differ_severity()

    assert worded({"os": 0.068, "lfs": 0.035, "efs": 0.070}) == (
        "was associated with LFS (p = 0.035), and showed no statistically significant association with "
        "OS (p = 0.068) or EFS (p = 0.070)"
    )
    assert worded({"os": 0.01, "lfs": 0.02, "efs": 0.003}) == (
        "was associated with OS (p = 0.010), LFS (p = 0.020), and EFS (p = 0.003)"
    )
    assert worded({"os": 0.5, "lfs": 0.6, "efs": 0.7}) == (
        "showed no statistically significant association with OS (p = 0.500), LFS (p = 0.600), or EFS (p = 0.700)"
    )


def test_a_count_of_significant_tests_never_reads_k_of_the_k():
    """'all 3 comparisons', 'both', 'the one' — never '3 of the 3' (review 29)."""
    from analysis.report.narrative.parts import TestSet

    def family(n: int, k: int) -> TestSet:
        names = tuple(f"T{i}" for i in range(k))
        return TestSet(n=n, n_tested=n, significant=names, significant_p=names, significant_groupings=())

    assert [family(3, k).significant_of for k in range(4)] == ["0 of the 3", "1 of the 3", "2 of the 3", "all 3"]
    assert (family(2, 2).significant_of, family(1, 1).significant_of) == ("both", "the one")
    assert [family(3, k).n_significant_or_all for k in range(4)] == ["0", "1", "2", "all"]
    assert (family(2, 2).n_significant_or_all, family(1, 1).n_significant_or_all) == ("both", "1")
