"""Attack 29 on the statistics' words: what the abstract's Conclusions count, the Results state
(05); the same test is not counted twice in the prose's families (07, with tests/test_pvalues.py)."""

from __future__ import annotations

import re

from analysis.report.narrative import Narrative

_INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_CHUNK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SECTIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "sections"


def _evaluated(results, name: str) -> str:
    """A section's prose with every inline expression evaluated in place (no render)."""
    text = Narrative(results)
    source = _CHUNK.sub("", (SECTIONS / name).read_text(encoding="utf-8"))
    return " ".join(_INLINE.sub(lambda m: str(eval(m.group(1), {"text": text, "R": results})), source).split())


def test_the_results_state_every_significant_test_the_conclusions_count(all_crs_results):
    """Everyone with CRS: the Conclusions count four significant tests of response or survival by
    toxicity (MRD-negative CR by ICANS and by ICANS grade, LFS and EFS by ICANS grade) of 20
    distinct ones; the Results name each with its p (before: 'Five of 25 ... by several groupings'
    in the Conclusions, 'none reached statistical significance' in the Results' survival)."""
    abstract = _evaluated(all_crs_results, "_abstract.qmd")
    conclusions = abstract[abstract.index("**Conclusions.**") :]
    # review 30, F3: after the adjusted primary verdict, and with the direction of the four
    # (their names are the Results')
    # (everyone had CRS: the severity group's joint test cannot be computed, and is said so)
    assert conclusions.startswith("**Conclusions.** The main adjusted analysis (OS) could not be tested (")
    assert "Four of 20 tests of response or survival across toxicity groups" in conclusions
    # ICANS grade 1–2 and grade ≥3 on either side of no ICANS for LFS and EFS; MRD-negative CR
    # lower with ICANS
    assert (
        "toxicity went with hazards lower in some groups and higher in others (LFS and EFS by ICANS grade) "
        "and a lower MRD-negative CR rate (by ICANS and ICANS grade)." in conclusions
    )
    assert "several groupings" not in conclusions
    results = _evaluated(all_crs_results, "_results-response.qmd") + _evaluated(
        all_crs_results, "_results-survival.qmd"
    )
    for named in ("MRD-negative CR by ICANS (p = 0.034", "MRD-negative CR by ICANS grade (p = 0.028)",
                  "LFS by ICANS grade (p = 0.006)", "EFS by ICANS grade (p = 0.011)"):  # fmt: skip
        assert named in results
    # the survival sentence that says "none" names what it counts
    assert "between the toxicity groups of Table 3" in results or "between the toxicity groups of @tbl" in results


def test_a_family_of_the_prose_counts_a_repeated_test_once(all_crs_results):
    """The prose's count of the main family is the p-value table's: a comparison by concurrent CRS
    and ICANS that is the one by ICANS is counted once and named with it."""
    text = Narrative(all_crs_results)
    main = text.main_tests
    family = all_crs_results.pvalues.family("efficacy_by_toxicity")
    assert (main.n_tested, main.n_significant) == (family.n, family.n_significant) == (20, 4)
    assert (
        text.response_tests.listed_p
        == "MRD-negative CR by ICANS (p = 0.034; the same test as by concurrent CRS and ICANS)"
    )


# --------------------------------------------------------------------------- 03: p and CI limits at a boundary


def test_a_p_value_next_to_alpha_prints_its_side():
    """p = 0.0496 and 0.0504 both printed 'p = 0.050', one significant, one not (attack 29, 03): the
    printed p now shows its side of alpha, in prose and in table cells alike (hand-checked values)."""
    from analysis.report.formatting import fmt_p, fmt_p_bare

    assert (fmt_p(0.0496), fmt_p(0.0504)) == ("p = 0.0496", "p = 0.0504")
    assert (fmt_p_bare(0.0496), fmt_p_bare(0.0504)) == ("0.0496", "0.0504")
    assert fmt_p(0.04996) == "p = 0.04996"  # "0.0500" at four decimals still prints alpha
    # review 30, finding 10: only the study's alpha (0.05 here) gets the extra digits; near 0.01
    # and 0.1, where no verdict is drawn, three decimals ("p = 0.1002" read as inconsistent)
    assert (fmt_p(0.00996), fmt_p(0.01004)) == ("p = 0.010", "p = 0.010")
    assert (fmt_p(0.00996, alpha=0.01), fmt_p(0.01004, alpha=0.01)) == ("p = 0.00996", "p = 0.01004")
    assert fmt_p(0.05) == "p = 0.050"  # exactly alpha: not significant, and printed so
    assert (fmt_p(0.342), fmt_p(0.049), fmt_p(0.0505), fmt_p(0.9996)) == (
        "p = 0.342",
        "p = 0.049",
        "p = 0.051",
        "p > 0.99",
    )
    # a study's own alpha, passed by the prose and the p-value table
    assert (fmt_p(0.0304), fmt_p(0.0304, alpha=0.03)) == ("p = 0.030", "p = 0.0304")


def test_the_printed_p_and_the_verdict_agree_everywhere_on_a_grid():
    """For every p on a fine grid around the levels, the printed number read back is on the same
    side of alpha as p (the verdict's rule: p < alpha), and never prints alpha unless p is alpha."""
    from analysis.report.formatting import fmt_p_bare

    for alpha, passed in ((0.05, None), (0.05, 0.05), (0.01, 0.01), (0.10, 0.10), (0.03, 0.03)):
        for i in range(-700, 701):
            p = alpha + i * 1e-6
            printed = float(fmt_p_bare(p, alpha=passed))
            assert (printed < alpha) == (p < alpha), (alpha, p, printed)
            assert printed != alpha or p == alpha, (alpha, p)


def test_a_ci_limit_that_excludes_1_never_prints_as_1():
    """'HR 1.00 (95% CI 0.99–1.00)' for an upper limit of 0.9997 read as touching the null: a limit
    that is not 1 takes the decimals that show its side, and the estimate and the other limit
    share them (hand-rounded)."""
    from analysis.report.formatting import fmt_hr_ci, fmt_ratio_ci

    assert fmt_ratio_ci("HR", 0.995, 0.990, 0.9997) == "HR 0.9950 (95% CI 0.9900–0.9997)"
    assert fmt_ratio_ci("HR", 0.62, 0.32, 0.998) == "HR 0.620 (95% CI 0.320–0.998)"  # review 28's rule kept
    assert fmt_hr_ci(1.5, 1.00004, 2.3) == "1.50000 (1.00004–2.30000)"
    assert fmt_ratio_ci("HR", 1.0, 0.5, 1.0) == "HR 1.00 (95% CI 0.50–1.00)"  # a limit of exactly 1 stays 1.00
    assert fmt_ratio_ci("HR", 2.02, 0.65, 6.26) == "HR 2.02 (95% CI 0.65–6.26)"


def test_the_survival_tables_word_a_group_without_an_event_as_the_prose_does():
    """Table 3 and the grade table printed 'CRS grade ≥3 ... 100.0 (100.0–100.0)' for a group with no
    event by 12 months (attack 29's 13-patient cohort), the zero-width interval the prose words as
    'no event by 12 months; 95% CI not estimable'."""
    from types import SimpleNamespace

    from analysis.report.narrative.parts import km_landmark
    from analysis.report.tables import _landmark_cell

    point = SimpleNamespace(months=12, survival=1.0, ci_low=1.0, ci_high=1.0, reason=None)
    assert (
        _landmark_cell(SimpleNamespace(landmarks=[point]), 12) == "100.0 (no event by 12 months; 95% CI not estimable)"
    )
    assert km_landmark(point) == "100.0% (no event by 12 months; 95% CI not estimable)"
    some = SimpleNamespace(months=12, survival=0.621, ci_low=0.52, ci_high=0.742, reason=None)
    assert _landmark_cell(SimpleNamespace(landmarks=[some]), 12) == "62.1 (52.0–74.2)"


def test_a_none_sentence_says_which_comparisons_repeat_another(all_crs_results):
    """'Of the 9 log-rank comparisons ... of Table 3' while Table 3 prints 12 p-values: the three by
    concurrent CRS and ICANS repeat those by ICANS, and the sentence says so."""
    survival = Narrative(all_crs_results).survival_tests
    assert (survival.n, survival.n_tested, survival.n_repeats) == (9, 6, 3)
    assert survival.untested_note == (
        " (3 could not be computed; 3 more repeat the test of another grouping, with the same patients in the same groups)"
    )


# --------------------------------------------------------------------------- review 30, finding 2


def _with_response(results, key, p, low, high, difference=None):
    """The demo with one two-group response comparison's test p and difference CI replaced."""
    import dataclasses

    response = dict(results.response)
    response[key] = dataclasses.replace(response[key], result=dataclasses.replace(response[key].result, p=p))
    effects = dict(results.response_effects)
    d = effects[key].difference
    d = dataclasses.replace(d, difference=d.difference if difference is None else difference, ci_low=low, ci_high=high)
    effects[key] = dataclasses.replace(effects[key], difference=d)
    return dataclasses.replace(results, response=response, response_effects=effects)


def test_a_difference_prints_the_named_p_and_says_when_its_ci_and_the_test_disagree(bundled_results):
    """The user study's abstract printed 'MRD-negative CR rate 18.6 percentage points (95% CI 1.0 to
    38.9)' beside Fisher's p = 0.080 (review 30, finding 2). The p is now named beside every
    difference printed with its CI, and the Results say where the CI and the test disagree
    (the user's numbers: 18.6 (1.0 to 38.9), p = 0.080; by ICANS −20.3 (−40.9 to −2.1), p = 0.060)."""
    demo = Narrative(bundled_results)
    assert demo.difference_test_disagreement() == ""  # the demo's CIs and tests agree
    r = _with_response(bundled_results, ("mrd_negative_cr", "crs"), 0.080, 0.010, 0.389, 0.186)
    r = _with_response(r, ("mrd_negative_cr", "icans"), 0.060, -0.409, -0.021, -0.203)
    text = Narrative(r)
    assert text.risk_difference("mrd_negative_cr", "crs") == (
        "18.6 percentage points (95% CI 1.0 to 38.9; Fisher's exact p = 0.080)"
    )
    assert text.difference_test_disagreement() == (
        "; for MRD-negative CR by CRS and by ICANS, the differences' CIs excluded 0 although Fisher's exact "
        "p ≥ 0.05 (see Methods)"
    )
    # the reverse: a CI that includes 0 beside p < alpha
    r = _with_response(bundled_results, ("cr", "icans"), 0.030, -0.300, 0.010)
    assert Narrative(r).difference_test_disagreement() == (
        "; for CR by ICANS, the difference's CI included 0 although Fisher's exact p < 0.05 (see Methods)"
    )
    # where the Results print it, and the Methods say why (no longer 'exactly when the interval excludes 1'
    # of any interval: of the odds ratio's only)
    response = (SECTIONS / "_results-response.qmd").read_text(encoding="utf-8")
    assert "text.difference_test_disagreement()" in response
    methods = (SECTIONS / "_methods.qmd").read_text(encoding="utf-8")
    assert "text.response_p_and_ci" in methods and "exactly when the interval" not in methods
    assert demo.response_p_and_ci == (
        "p < 0.05 exactly when the odds ratio's interval excludes 1; the difference's interval does not invert "
        "the test and can disagree with it near p = 0.05."
    )


def test_the_abstract_names_the_test_it_counts_where_the_printed_intervals_include_no_effect(bundled_results):
    """The user abstract counted 'EFS by CRS' (log-rank p = 0.046) as a lower hazard beside Table 3's
    HR 0.626 (0.392–1.001) (review 30, finding 2; review 31): the direction says which test it rests on."""
    import dataclasses

    survival = dict(bundled_results.survival)
    survival[("efs", "crs")] = dataclasses.replace(survival[("efs", "crs")], logrank_p=0.046)
    hr = bundled_results.survival_hr[("efs", "crs")].hazard_ratios[0]
    assert hr.ci_low < 1 < hr.ci_high and hr.hr < 1  # the demo's HR 0.89 (0.49–1.62)
    text = Narrative(dataclasses.replace(bundled_results, survival=survival))
    assert text.main_tests.significant == ("EFS by CRS",)
    assert text.main_directions == "lower hazards (EFS by CRS (log-rank only))"
    # a significant test whose HR CI excludes 1 is listed without the mark
    survival[("lfs", "crs")] = dataclasses.replace(survival[("lfs", "crs")], logrank_p=0.01)
    hrs = bundled_results.survival_hr[("lfs", "crs")].hazard_ratios
    text = Narrative(dataclasses.replace(bundled_results, survival=survival))
    lfs_mark = " (log-rank only)" if all(h.ci_low <= 1 <= h.ci_high for h in hrs) else ""
    assert hrs[0].hr < 1
    assert text.main_directions == (
        "lower hazards (LFS and EFS by CRS (log-rank only))"
        if lfs_mark
        else "lower hazards (LFS by CRS; EFS by CRS (log-rank only))"
    )
