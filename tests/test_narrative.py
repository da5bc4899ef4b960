"""Prose helpers: numbers and verdict words must follow the results, not the publication."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analysis.loading import load_study
from analysis.narrative import TOXICITY_GROUPINGS, Narrative
from analysis.results import compute_results

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results():
    return compute_results(load_study(ROOT / "data/cohort.csv", ROOT / "data/kinetics.csv", "2023-03-01"))


def _with_logrank_p(results, key, p):
    survival = dict(results.survival)
    survival[key] = dataclasses.replace(survival[key], logrank_p=p)
    return dataclasses.replace(results, survival=survival)


def test_verdicts_flip_with_the_p_value(results):
    significant = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.01))
    not_significant = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.5))
    assert significant.differ("survival", ("os", "steroids")) == "differed significantly"
    assert not_significant.differ("survival", ("os", "steroids")) == "showed no statistically significant difference"
    # the Discussion's treatment sentence names the significant test instead of denying it
    assert "p = 0.010" in significant.treatment_verdict()
    assert significant.treatment_verdict().startswith("Treatment of toxicity was associated")


def test_conclusion_counts_the_significant_comparisons(results):
    base = Narrative(_with_logrank_p(results, ("os", "crs"), 0.5))
    n_tests = len(base.main_comparisons())
    assert n_tests == 24  # 6 toxicity groupings x (CR, MRD-negative CR, OS, LFS)
    flipped = Narrative(_with_logrank_p(results, ("os", "crs"), 0.001))
    before = sum(bool(base.significant(t, k)) for t, k in base.main_comparisons())
    assert flipped.conclusion.startswith(f"{before + 1} of {n_tests} comparisons")


def test_unestimable_values_are_worded_not_printed_as_nan(results):
    text = Narrative(_with_logrank_p(results, ("lfs", "crs"), None))
    assert text.differ("survival", ("lfs", "crs")) == "could not be compared"
    assert text.p("survival", ("lfs", "crs")).startswith("not estimable")


def test_lowest_cr_rate_is_the_minimum_over_levels(results):
    levels = [lv for (r, g), c in results.response.items() if r == "cr" and g in TOXICITY_GROUPINGS for lv in c.levels if lv.n]
    worst = min(lv.rate for lv in levels)
    assert f"({100 * worst:.1f}%)" in Narrative(results).lowest_cr_rate()


def test_a_sentence_listing_several_tests_denies_a_difference_only_if_all_agree(results):
    keys = [("os", "crs"), ("os", "icans")]
    none_significant = Narrative(_with_logrank_p(_with_logrank_p(results, keys[0], 0.4), keys[1], 0.6))
    one_significant = Narrative(_with_logrank_p(_with_logrank_p(results, keys[0], 0.4), keys[1], 0.02))
    assert none_significant.differ_all("survival", keys) == "showed no statistically significant difference"
    assert one_significant.differ_all("survival", keys) == "differed significantly in at least one comparison"


def test_without_kinetics_every_peak_comparison_says_so_briefly(results):
    no_kinetics = dataclasses.replace(results, kinetics_reason="no CAR-T kinetics table was supplied")
    text = Narrative(no_kinetics)
    assert text.p("kinetics", "crs") == "not estimable (no kinetics data)"
    assert text.differ("kinetics", "crs") == "could not be compared"


# --- issue 10: words that never claim more than the test shows ------------------------

EQUIVALENCE = ("did not differ", "like those who", "no difference", "similar", "same as", "equivalent")


def _all_null(results):
    """Every main comparison non-significant (log-rank and response p set to 0.5)."""
    survival = {k: dataclasses.replace(v, logrank_p=0.5) for k, v in results.survival.items()}
    response = {k: dataclasses.replace(v, result=dataclasses.replace(v.result, p=0.5))
                for k, v in results.response.items()}
    return dataclasses.replace(results, survival=survival, response=response)


def test_a_null_conclusion_is_not_worded_as_equivalence(results):
    text = Narrative(_all_null(results))
    conclusion = text.conclusion
    assert conclusion.startswith("Of the 24 comparisons") and "none reached statistical significance" in conclusion
    assert "not evidence that toxicity leaves efficacy unchanged" in conclusion
    for words in EQUIVALENCE:
        assert words not in conclusion.lower()
        assert words not in text.differ("survival", ("os", "crs"))
    assert text.conclusion_inline.startswith("of the 24 comparisons")


def test_no_treatment_recommendation_and_kinetics_only_when_measured(results):
    text = Narrative(_all_null(results))
    sentence = text.treatment_verdict()
    assert "supports" not in sentence and "withholding" not in sentence
    assert "response, expansion or survival" in sentence
    no_kinetics = Narrative(dataclasses.replace(_all_null(results), kinetics_reason="no CAR-T kinetics table was supplied"))
    assert "response or survival in this analysis (6 tests)" in no_kinetics.treatment_verdict()
    assert no_kinetics.kinetics_absent == "CAR-T expansion was not analysed: no CAR-T kinetics table was supplied."
    assert "kinetics: false" in no_kinetics.title_block and "kinetics: true" in text.title_block


def test_significant_terms_read_as_a_sentence(results):
    cox = {e: dataclasses.replace(c, terms=tuple(dataclasses.replace(t, p=0.5) for t in c.terms))
           for e, c in results.cox.items()}
    none = Narrative(dataclasses.replace(results, cox=cox))
    assert none.significant_terms_sentence() == "No term of either model was significant at the 5% level."
    one = dict(cox)
    one["os"] = dataclasses.replace(cox["os"], terms=(dataclasses.replace(cox["os"].terms[0], p=0.01),
                                                     *cox["os"].terms[1:]))
    sentence = Narrative(dataclasses.replace(results, cox=one)).significant_terms_sentence()
    assert sentence == f"Significant at the 5% level were {cox['os'].terms[0].label} for OS, and no term for LFS."


def test_alpha_comes_from_the_study_file(results, tmp_path):
    from analysis.studyfile import resolve_study

    study = tmp_path / "study.yml"
    study.write_text("analysis:\n  alpha: 0.01\n", encoding="utf-8")
    strict = Narrative(_with_logrank_p(results, ("os", "steroids"), 0.03), resolve_study(study))
    assert strict.alpha_level == "1%" and strict.significant("survival", ("os", "steroids")) is False
    assert Narrative(_with_logrank_p(results, ("os", "steroids"), 0.03)).significant("survival", ("os", "steroids"))
