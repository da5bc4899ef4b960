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
    assert not_significant.differ("survival", ("os", "steroids")) == "did not differ significantly"
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
    assert none_significant.differ_all("survival", keys) == "did not differ significantly"
    assert one_significant.differ_all("survival", keys) == "differed significantly in at least one comparison"


def test_without_kinetics_every_peak_comparison_says_so_briefly(results):
    no_kinetics = dataclasses.replace(results, kinetics_reason="no CAR-T kinetics table was supplied")
    text = Narrative(no_kinetics)
    assert text.p("kinetics", "crs") == "not estimable (no kinetics data)"
    assert text.differ("kinetics", "crs") == "could not be compared"
