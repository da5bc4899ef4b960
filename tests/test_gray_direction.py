"""Review 30 re-check, N4: a significant Gray's test is listed with its direction and the
cumulative incidences at 24 months (the toxicity's levels, then the reference)."""

from __future__ import annotations

import pytest

from analysis.report.formatting import fmt_pct
from analysis.report.narrative import Narrative


def _at(level, months=24):
    return next(pt.estimate for pt in level.points if pt.months == months)


@pytest.mark.parametrize("grouping", ["crs", "icans", "severity"])
@pytest.mark.parametrize("cause", ["relapse", "nrm"])
def test_the_direction_follows_the_24_month_incidences(bundled_results, grouping, cause):
    levels = bundled_results.competing[grouping].causes[cause].levels
    reference, *exposed = (_at(lv) for lv in levels)
    words = Narrative(bundled_results).gray_direction(grouping, cause)
    if all(v < reference for v in exposed):
        assert words.startswith("lower with ")
    elif all(v > reference for v in exposed):
        assert words.startswith("higher with ")
    else:
        assert words.startswith("not in one direction")
    assert words.endswith(f"24-month {' and '.join(fmt_pct(100 * v) for v in exposed)} vs {fmt_pct(100 * reference)}")


def test_a_users_study_lists_nrm_lower_with_toxicity(tmp_path):
    """A user's study (tests/test_studyfile `_users_study`: 140 patients, 2 centers; review 30's):
    Table S7, NRM at 24 months 33.3% with CRS vs 54.4% without (Gray p = 0.020); by severity
    27.4% (others) and 43.3% (grade ≥3) vs 56.8% (none), p = 0.021."""
    from test_studyfile import _users_study

    from analysis.inputs.studyfile import load_settings, resolve_study
    from analysis.report.results import compute_results

    study = _users_study(tmp_path)["study"]
    settings = resolve_study(str(study), cohort=None, kinetics=None, cutoff=None)
    results = compute_results(load_settings(settings, refuse=True), **settings.analysis.model_dump())
    assert Narrative(results, settings).competing_listed == (
        "non-relapse mortality by CRS (p = 0.020; lower with CRS, 24-month 33.3% vs 54.4%) and "
        "non-relapse mortality by CRS/ICANS severity (p = 0.021; lower with toxicity, 27.4% and 43.3% vs 56.8%)"
    )
