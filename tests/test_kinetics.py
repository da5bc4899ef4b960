"""CAR-T kinetics: hand-computed Cmax/Tmax/AUC, group comparison and profile checked against R."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.kinetics import (
    PROFILE_COLUMNS,
    compare_peak,
    kinetics_profile,
    patient_kinetics,
)
from analysis.registry.concepts import NO_KINETICS_REASON
from analysis.registry.groups import GROUPINGS

SAMPLES = pd.DataFrame({
    "patient_id": ["A"] * 4 + ["B"] * 3 + ["C"] + ["D"] * 3,
    "day": [0, 7, 14, 28, 0, 10, 35, 7, 14, 3, 21],    # D deliberately unsorted
    "car_copies_per_ug": [0, 100, 50, 10, 5, 200, 400, 30, 80, 20, 80],
})


def _cohort(groups: dict[str, str], grouping: str = "crs") -> pd.DataFrame:
    g = GROUPINGS[grouping]
    return pd.DataFrame({
        "patient_id": list(groups),
        g.column: pd.Categorical(list(groups.values()), categories=list(g.keys), ordered=True),
    })


def test_patient_kinetics_by_hand():
    pk = patient_kinetics(SAMPLES)
    assert list(pk.index) == ["A", "B", "C", "D"]
    # A: Cmax 100 at day 7; AUC = 7*(0+100)/2 + 7*(100+50)/2 + 14*(50+10)/2 = 350 + 525 + 420 = 1295
    assert (pk.loc["A", "peak_copies"], pk.loc["A", "peak_day"]) == (100, 7)
    assert pk.loc["A", "auc_0_28"] == pytest.approx(1295.0)
    # B: Cmax 400 at day 35 (outside the AUC window); AUC over days 0 and 10 only = 10*(5+200)/2 = 1025
    assert (pk.loc["B", "peak_copies"], pk.loc["B", "peak_day"]) == (400, 35)
    assert pk.loc["B", "auc_0_28"] == pytest.approx(1025.0)
    assert (pk.loc["B", "n_samples"], pk.loc["B", "n_samples_0_28"]) == (3, 2)
    # C: a single sample -> no interval, AUC missing; Cmax/Tmax still defined
    assert np.isnan(pk.loc["C", "auc_0_28"]) and pk.loc["C", "peak_copies"] == 30
    # D: samples given out of order (14, 3, 21); max 80 reached on days 14 and 21 -> Tmax is the first, 14;
    # AUC = 11*(20+80)/2 + 7*(80+80)/2 = 550 + 560 = 1110
    assert (pk.loc["D", "peak_copies"], pk.loc["D", "peak_day"]) == (80, 14)
    assert pk.loc["D", "auc_0_28"] == pytest.approx(1110.0)


def test_no_kinetics_table():
    assert patient_kinetics(None).empty
    cohort = _cohort({"A": "yes", "B": "no"})
    comp = compare_peak(cohort, None, "crs")
    assert comp.variable == "peak_copies"
    assert comp.result.p is None and comp.result.reason == NO_KINETICS_REASON
    assert [lv.n for lv in comp.levels] == [0, 0]
    profile = kinetics_profile(cohort, None, "crs")
    assert profile.empty and list(profile.columns) == PROFILE_COLUMNS


def test_compare_peak_excludes_patients_without_samples_and_matches_r():
    # Peaks: A 100, B 400, C 30, D 80. P and Q have no samples and must not count.
    cohort = _cohort({"A": "yes", "B": "yes", "C": "no", "D": "no", "P": "no", "Q": "yes"})
    comp = compare_peak(cohort, SAMPLES, "crs")
    no, yes = comp.levels
    assert (no.n, no.median, no.min, no.max) == (2, 55.0, 30.0, 80.0)
    assert (yes.n, yes.median, yes.min, yes.max) == (2, 250.0, 100.0, 400.0)
    # R: wilcox.test(c(30, 80), c(100, 400)) -> W = 0, p-value = 0.333333333333 (exact)
    assert comp.result.test == "mann_whitney"
    assert comp.result.statistic == 0
    assert comp.result.p == pytest.approx(1 / 3, rel=1e-12)


def test_compare_peak_one_level_gives_reason():
    comp = compare_peak(_cohort({"A": "yes", "B": "yes"}), SAMPLES, "crs")
    assert comp.result.p is None and comp.result.reason
    comp = compare_peak(_cohort({"X": "yes"}), SAMPLES, "crs")  # nobody with samples
    assert comp.result.p is None and comp.result.reason


def test_kinetics_profile_median_and_quartiles():
    samples = pd.DataFrame({
        "patient_id": ["A", "B", "C", "D", "A", "B", "E"],
        "day": [7, 7, 7, 7, 14, 14, 7],
        "car_copies_per_ug": [10.0, 20.0, 40.0, 1000.0, 5.0, 9.0, 3.0],
    })
    cohort = _cohort({"A": "yes", "B": "yes", "C": "yes", "D": "yes", "E": "no"})
    prof = kinetics_profile(cohort, samples, "crs")
    assert list(prof.columns) == PROFILE_COLUMNS
    # Levels in the grouping's order (no CRS first), then by day.
    assert list(zip(prof["level"], prof["day"])) == [("no", 7), ("yes", 7), ("yes", 14)]
    assert prof["label"].tolist() == ["No CRS", "CRS", "CRS"]
    yes7 = prof.iloc[1]
    # R: quantile(c(10, 20, 40, 1000)) -> 25%: 17.5, 50%: 30, 75%: 280 (type 7)
    assert (yes7["n"], yes7["median"], yes7["q1"], yes7["q3"]) == (4, 30.0, 17.5, 280.0)
    # R: quantile(c(5, 9)) -> 25%: 6, 50%: 7, 75%: 8
    assert tuple(prof.iloc[2][["n", "median", "q1", "q3"]]) == (2, 7.0, 6.0, 8.0)
    assert tuple(prof.iloc[0][["n", "median", "q1", "q3"]]) == (1, 3.0, 3.0, 3.0)
