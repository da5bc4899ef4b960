"""Wording edges of the summaries (issue 22, attack 28 #12), worded alike in the B-ALL and
the disease (LBCL, MM) reports: counts with their noun in the singular for one; a median
CI none of whose limits is given worded once; a Kaplan–Meier estimate with no event
before its time point stated without the zero-width Greenwood interval; a median of one
patient (that patient's own time) not printed.

Pure function calls on Kaplan–Meier summaries (whose values tests/test_survival.py checks
against R); no results of a whole cohort are computed.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.estimators.survival import SurvivalComparison, kaplan_meier
from analysis.report.formatting import fmt_count_noun
from analysis.report.narrative.counts import Counts
from analysis.report.narrative.disease import DiseaseNarrative
from analysis.report.narrative.parts import ONE_PATIENT, km_landmark
from analysis.report.narrative.survival import Survival

ROOT = Path(__file__).resolve().parents[1]


def test_a_count_takes_its_noun_in_the_singular_for_one():
    """Before: 'of 1 patients infused at 1 centers'."""
    assert fmt_count_noun(1, "patient") == "1 patient"
    assert fmt_count_noun(0, "center") == "0 centers"
    assert fmt_count_noun(1234, "patient") == "1,234 patients"
    assert fmt_count_noun(1, "participating center") == "1 participating center"
    one = SimpleNamespace(results=SimpleNamespace(counts={"n_patients": 1, "n_centers": 1}))
    assert DiseaseNarrative.n(one, "n_centers", "center") == "1 center"  # type: ignore[arg-type]
    ball = Counts.__new__(Counts)
    ball.results = one.results  # type: ignore[assignment]
    assert ball.count("n_patients", "patient") == "1 patient"
    assert ball.agree("n_centers", "was", "were") == "was"
    assert DiseaseNarrative.n(one, "n_centers") == "1"  # type: ignore[arg-type]


def test_no_section_writes_a_count_of_patients_or_centers_before_a_plural_noun():
    """The abstracts, Methods, Results and Discussion name the noun through the count."""
    pattern = re.compile(r'text\.(?:n|count)\("n_(?:patients|centers)"\)` (?:patients|centers|participating centers)\b')
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in sorted((ROOT / "sections").rglob("*.qmd"))
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def _both(km) -> tuple[str, str]:
    """A cohort's median as the B-ALL and the disease narratives word it."""
    comparison = SurvivalComparison("pfs", None, (km,), None, None, None, None, (0.0,))
    ball = SimpleNamespace(_summary=lambda endpoint, grouping, level: km)
    disease = SimpleNamespace(results=SimpleNamespace(survival={("pfs", "all"): comparison}))
    return Survival.median_survival(ball, "pfs"), DiseaseNarrative.median(disease, "pfs")  # type: ignore[arg-type]


def test_the_median_of_one_patient_is_not_printed():
    """Before (LBCL): 'median PFS 7.0 months (95% CI not estimable–not reached)': one
    patient's own time. After: not summarised, in both reports."""
    km = kaplan_meier([7.0], [True])
    assert km.median_months == 7.0  # what would have been printed
    assert _both(km) == (ONE_PATIENT, ONE_PATIENT)
    assert _both(kaplan_meier([7.0], [False])) == (ONE_PATIENT, ONE_PATIENT)


def test_a_median_ci_without_either_limit_is_worded_once():
    km = dataclasses.replace(
        kaplan_meier([1.0, 2.0, 3.0, 4.0, 5.0], [True, True, True, False, False]),
        median_ci_low=None,
        median_ci_high=None,
        not_estimable=frozenset({"median_ci_low"}),
    )
    ball, disease = _both(km)
    assert ball == disease and ball.endswith("(95% CI not estimable)"), ball
    assert "not reached" not in ball


def test_both_reports_word_a_median_alike():
    # R: survfit(Surv(c(2, 4, 4, 6, 9, 12, 15), c(1, 1, 0, 1, 1, 0, 1)) ~ 1): median 9 (the
    # values are checked against R in tests/test_survival.py; here only the wording)
    km = kaplan_meier([2, 4, 4, 6, 9, 12, 15], [1, 1, 0, 1, 1, 0, 1])
    ball, disease = _both(km)
    assert ball == disease and ball.startswith("9.0 months (95% CI ")


@pytest.mark.parametrize(
    "months,events",
    [
        ([14, 20, 30, 8, 25], [0, 0, 0, 0, 0]),  # no event at all
        ([14, 20, 30, 8, 25], [1, 0, 1, 0, 0]),  # events only after 12 months
    ],
    ids=["all-censored", "events-after-12"],
)
def test_survival_with_no_event_by_the_time_point_has_no_zero_width_ci(months, events):
    """Before: '12-month PFS 100.0% (95% CI 100.0–100.0%)'. R agrees there is no interval:
    summary(survfit(Surv(c(14, 20, 30, 8, 25), c(1, 0, 1, 0, 0)) ~ 1), times = 12) gives
    surv 1, std.err 0, lower 1, upper 1 (lifelines' log-log CI: NaN)."""
    point = next(p for p in kaplan_meier(months, events).landmarks if p.months == 12)
    assert (point.survival, point.ci_low, point.ci_high) == (1.0, 1.0, 1.0)  # the estimator, as R
    assert km_landmark(point) == "100.0% (no event by 12 months; 95% CI not estimable)"


def test_a_landmark_with_events_keeps_its_interval():
    point = next(p for p in kaplan_meier([2, 4, 4, 6, 9, 12, 15], [1, 1, 0, 1, 1, 0, 1]).landmarks if p.months == 12)
    assert re.fullmatch(r"\d+\.\d% \(95% CI \d+\.\d–\d+\.\d%\)", km_landmark(point))
