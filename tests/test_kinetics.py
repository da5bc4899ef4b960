"""CAR-T kinetics: hand-computed Cmax/Tmax/AUC, group comparison and profile checked against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.kinetics import (
    PROFILE_COLUMNS,
    AucCounts,
    auc_counts,
    compare_peak,
    kinetics_profile,
    patient_kinetics,
    visit_samples,
)
from analysis.registry.concepts import NO_KINETICS_REASON, visit_windows
from analysis.registry.groups import GROUPINGS

SAMPLES = pd.DataFrame(
    {
        "patient_id": ["A"] * 4 + ["B"] * 3 + ["C"] + ["D"] * 3,
        "day": [0, 7, 14, 28, 0, 10, 35, 7, 14, 3, 21],  # D deliberately unsorted
        "car_copies_per_ug": [0, 100, 50, 10, 5, 200, 400, 30, 80, 20, 80],
    }
)

#: More patients for the AUC rule: E has no day-0 and no day-28 sample, F none before day 35,
#: G no detectable copies at all.
MORE_SAMPLES = pd.DataFrame(
    {
        "patient_id": ["E"] * 3 + ["F"] * 2 + ["G"] * 4,
        "day": [4, 14, 60, 35, 60, 0, 7, 14, 28],
        "car_copies_per_ug": [40, 80, 20, 300, 100, 0, 0, 0, 0],
    }
)

# The AUC rule by hand, in R (trap: the linear trapezoid; approx: linear interpolation at day 28):
# R> trap <- function(d, c) sum(diff(d) * (head(c, -1) + tail(c, -1)) / 2)
# R> trap(c(0, 7, 14, 28), c(0, 100, 50, 10))                                           # A: 1295
# R> trap(c(0, 10, 28), c(5, 200, approx(c(10, 35), c(200, 400), xout = 28)$y))         # B: 5921
# R> trap(c(0, 4, 14, 28), c(0, 40, 80, approx(c(14, 60), c(80, 20), xout = 28)$y))     # E: 1672.17391304348


def _cohort(groups: dict[str, str], grouping: str = "crs") -> pd.DataFrame:
    g = GROUPINGS[grouping]
    return pd.DataFrame(
        {
            "patient_id": list(groups),
            g.column: pd.Categorical(list(groups.values()), categories=list(g.keys), ordered=True),
        }
    )


def test_patient_kinetics_by_hand():
    pk = patient_kinetics(SAMPLES)
    assert list(pk.index) == ["A", "B", "C", "D"]
    # A: Cmax 100 at day 7; samples on days 0 and 28: AUC = 7*(0+100)/2 + 7*(100+50)/2 + 14*(50+10)/2 = 1295
    assert (pk.loc["A", "peak_copies"], pk.loc["A", "peak_day"]) == (100, 7)
    assert pk.loc["A", "auc_0_28"] == pytest.approx(1295.0, rel=1e-12)
    assert not pk.loc["A", "auc_day0_imputed"] and not pk.loc["A", "auc_day28_interpolated"]
    # B: Cmax 400 at day 35 (after the AUC window); no day-28 sample: interpolated between
    # days 10 and 35 (344 copies): 10*(5+200)/2 + 18*(200+344)/2 = 1025 + 4896 = 5921
    assert (pk.loc["B", "peak_copies"], pk.loc["B", "peak_day"]) == (400, 35)
    assert pk.loc["B", "auc_0_28"] == pytest.approx(5921.0, rel=1e-12)
    assert pk.loc["B", "auc_day28_interpolated"] and not pk.loc["B", "auc_day0_imputed"]
    assert (pk.loc["B", "n_samples"], pk.loc["B", "n_samples_0_28"]) == (3, 2)
    # C: a single sample on day 7, nothing on or after day 28 -> no AUC (no extrapolation)
    assert np.isnan(pk.loc["C", "auc_0_28"]) and pk.loc["C", "auc_missing"] == 2
    assert pk.loc["C", "peak_copies"] == 30
    # D: samples out of order (14, 3, 21); max 80 on days 14 and 21 -> Tmax is the first, 14;
    # the last sample is on day 21 -> no AUC(0-28)
    assert (pk.loc["D", "peak_copies"], pk.loc["D", "peak_day"]) == (80, 14)
    assert np.isnan(pk.loc["D", "auc_0_28"]) and pk.loc["D", "auc_missing"] == 2


def test_auc_rule_day0_imputed_day28_interpolated_and_missing():
    pk = patient_kinetics(pd.concat([SAMPLES, MORE_SAMPLES], ignore_index=True))
    # E: 0 copies at day 0 (no sample), trapezoids 0-4-14, day 28 interpolated between days 14 and 60
    assert pk.loc["E", "auc_0_28"] == pytest.approx(1672.17391304348, rel=1e-12)
    assert pk.loc["E", "auc_day0_imputed"] and pk.loc["E", "auc_day28_interpolated"]
    # F: no sample in days 1-28 -> no AUC, although a sample after day 28 exists
    assert np.isnan(pk.loc["F", "auc_0_28"]) and pk.loc["F", "auc_missing"] == 1
    assert not pk.loc["F", "auc_day0_imputed"]
    # G: never detectable: Cmax 0, no peak day, AUC 0
    assert pk.loc["G", "peak_copies"] == 0 and np.isnan(pk.loc["G", "peak_day"])
    assert pk.loc["G", "auc_0_28"] == 0
    counts = auc_counts(pk)
    assert counts == AucCounts(
        n_patients=7, n_auc=4, n_day0_imputed=1, n_day28_interpolated=2, n_no_early_sample=1, n_no_late_sample=2
    )


def test_patient_kinetics_equals_a_patient_by_patient_computation():
    """The vectorised rule equals a plain loop over patients (numpy.interp, numpy.trapezoid)."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(300):
        days = np.sort(
            rng.choice([0, 3, 4, 7, 10, 14, 17, 21, 25, 28, 31, 45, 60, 90], rng.integers(1, 9), replace=False)
        )
        rows += [(f"P{i}", d, float(rng.integers(0, 5000))) for d in days]
    samples = pd.DataFrame(rows, columns=["patient_id", "day", "car_copies_per_ug"]).sample(frac=1, random_state=1)
    pk = patient_kinetics(samples)
    for pid, s in samples.sort_values("day").groupby("patient_id"):
        d, c = s["day"].to_numpy(float), s["car_copies_per_ug"].to_numpy(float)
        expected = np.nan
        if ((d > 0) & (d <= 28)).any() and d.max() >= 28:
            if d[0] > 0:
                d, c = np.r_[0.0, d], np.r_[0.0, c]
            c28 = np.interp(28.0, d, c)
            keep = d <= 28
            expected = np.trapezoid(np.r_[c[keep], c28], np.r_[d[keep], 28.0])
        got = pk.loc[pid, "auc_0_28"]
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, rel=1e-12), pid
        assert pk.loc[pid, "peak_copies"] == c.max()


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
    samples = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D", "A", "B", "E"],
            "day": [7, 7, 7, 7, 14, 14, 7],
            "car_copies_per_ug": [10.0, 20.0, 40.0, 1000.0, 5.0, 9.0, 3.0],
        }
    )
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


def test_visit_windows_keep_one_sample_per_patient_closest_to_the_nominal_day():
    samples = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A", "B", "B", "B", "B", "C"],
            "day": [4, 7, 10, 2, 5, 9, 40, 16],
            "car_copies_per_ug": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    visits = visit_samples(samples, {7: 3, 14: 3})
    picked = sorted(zip(visits["patient_id"], visits["visit"], visits["day"]))
    # A: day 7 itself; B: days 5 and 9 are both 2 days off -> the earlier; day 2 and day 40 lie
    # in no window; C: day 16 counts for the day-14 visit
    assert picked == [("A", 7.0, 7), ("B", 7.0, 5), ("C", 14.0, 16)]
    cohort = _cohort({"A": "yes", "B": "yes", "C": "no"})
    profile = kinetics_profile(cohort, samples, "crs", windows={7: 3, 14: 3})
    assert list(zip(profile["level"], profile["day"], profile["within"], profile["n"])) == [
        ("no", 14, 3, 1),
        ("yes", 7, 3, 2),
    ]
    # R: median(c(2, 5)) -> 3.5; quantile(c(2, 5)) -> 25%: 2.75, 75%: 4.25
    assert tuple(profile.iloc[1][["median", "q1", "q3"]]) == (3.5, 2.75, 4.25)


def test_visit_windows_are_checked():
    with pytest.raises(ValueError, match="overlap"):
        visit_windows({7: 4, 14: 3})
    with pytest.raises(ValueError, match="whole numbers"):
        visit_windows({7: -1})
    assert visit_windows([(14, 3), (7, 2)]) == ((7, 2), (14, 3))


# Rscript tests/reference/r_kinetics.R (R 4.2.2, stats only), from the raw demo export:
# Hodges–Lehmann estimate and 95% CI (ratios for Cmax and AUC: exp of wilcox.test on log values).
R_DEMO_EFFECTS = {
    # (grouping, level, metric): (estimate, ci_low, ci_high)
    ("crs", "yes", "cmax"): (0.890877598152424, 0.293055097327614, 3.28888888888889),
    ("crs", "yes", "tmax"): (-3.32002892682101e-05, -4.00001285696239, 4.12424293652256e-05),
    ("crs", "yes", "auc"): (0.936274509803921, 0.223854048363593, 3.1318352378491),
    ("severity", "severe", "cmax"): (0.900529560364448, 0.483950617283951, 3.31473922902494),
    ("severity", "severe", "tmax"): (-3.81697128038131, -7, 4.0482452359026e-05),
    ("severity", "severe", "auc"): (1.07709719751588, 0.466206159797958, 4.51826305743536),
    ("severity", "other", "cmax"): (0.890877598152424, 0.145333616358876, 4.0899868030353),
    ("severity", "other", "tmax"): (-5.18132850346683e-05, -4.0000534008936, 3.83911015911888e-05),
    ("severity", "other", "auc"): (0.836565157036264, 0.141214419141774, 3.81718188465548),
}
# R: wilcox.test p-values of the two-level comparisons (crs yes vs no)
R_DEMO_P = {"cmax": 0.89059853190288, "tmax": 0.236811050045423, "auc": 0.945181629964239}
# R: visit windows by CRS: n and quantile(c(0.25, 0.5, 0.75)) per visit
R_DEMO_VISITS_CRS = {
    ("no", 7): (5, 2025, 6902, 6984),
    ("yes", 7): (19, 1590, 6792, 9724),
    ("no", 14): (5, 5838, 10376, 12124),
    ("yes", 14): (19, 1462, 3483, 10291),
    ("no", 21): (4, 818, 1937, 3511.5),
    ("yes", 21): (15, 194, 427, 3630.5),
    ("no", 28): (5, 269, 288, 775),
    ("yes", 28): (15, 26, 46, 820),
    ("no", 60): (4, 0, 0.5, 1),
    ("yes", 60): (14, 0, 0, 0.75),
    ("no", 90): (3, 0, 0, 0),
    ("yes", 90): (14, 0, 0, 0),
    ("no", 180): (4, 0, 0, 0),
    ("yes", 180): (16, 0, 0, 0),
}


def test_demo_kinetics_agree_with_r(bundled_results):
    r = bundled_results
    # R: patients 24 with AUC 24, sum AUC 3932076.35562988
    assert r.kinetics_auc.n_patients == r.kinetics_auc.n_auc == 24
    assert r.kinetics_patients["auc_0_28"].sum() == pytest.approx(3932076.35562988, rel=1e-12)
    for (grouping, level, metric), expected in R_DEMO_EFFECTS.items():
        effect = next(e for e in r.kinetics_metrics[(metric, grouping)].effects if e.level == level)
        got = (effect.shift.estimate, effect.shift.ci_low, effect.shift.ci_high)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), (grouping, level, metric)
    for metric, p in R_DEMO_P.items():
        assert r.kinetics_metrics[(metric, "crs")].comparison.result.p == pytest.approx(p, rel=1e-12)
    # the peak's test is shared with the peak figure, not computed twice
    assert r.kinetics_metrics[("cmax", "crs")].comparison is r.kinetics_peak["crs"]
    profile = r.kinetics_profiles["crs"]
    got = {(row.level, int(row.day)): (row.n, row.q1, row.median, row.q3) for row in profile.itertuples()}
    assert got == R_DEMO_VISITS_CRS


# --------------------------------------------------------------------------- how the kinetics subset was selected

#: R (tests/reference/r_kinetics_selection.R) on the demo: the 24 patients with kinetics data
#: against the 69 others. wilcox.test(x[with_k], x[!with_k])$p.value, chisq.test(m, correct = FALSE)
#: or fisher.test(m) (an expected count below 5), m = table(with_k, x)
R_KINETICS_SELECTION = {
    "age": ("mann_whitney", 0.111919084775189, (42, 27)),
    "prior_lines": ("mann_whitney", 0.451222179814447, (3.5, 4)),
    "n_relapses": ("mann_whitney", 0.203507540850443, (1, 1)),
    "bm_blasts_pct": ("mann_whitney", 0.137834290959349, (23.195, 38.79)),
    "cart_dose_1e6_per_kg": ("mann_whitney", 0.950352633456873, (1.4, 1)),
    "sex": ("chi_square", 0.0503348274656621, None),  # F/M 16/8 vs 30/39
    "ph_positive": ("fisher_exact", 0.141713048730571, None),  # yes 2 of 24 vs 16 of 69
    "disease_status": ("fisher_exact", 0.0709321476759285, None),  # refractory 6 of 24 vs 6 of 69
    "crs_any": ("fisher_exact", 0.761892198011495, None),  # 19 of 24 vs 57 of 69
    "icans_any": ("fisher_exact", 1.0, None),  # 4 of 24 vs 12 of 69
}


@pytest.fixture(scope="module")
def demo_results(bundled_results):
    return bundled_results  # the session's results of the bundled demo (conftest.py)


def test_kinetics_subset_is_compared_with_the_rest_as_r_does(demo_results):
    selection = demo_results.kinetics_selection
    assert set(selection) == set(R_KINETICS_SELECTION)
    assert demo_results.counts["n_kinetics_patients"] == 24
    for key, (test, p, medians) in R_KINETICS_SELECTION.items():
        c = selection[key]
        assert [lv.n for lv in c.levels] == [24, 69], key
        assert c.result.test == test and c.result.p == pytest.approx(p, rel=1e-9), key
        if medians:
            assert (c.levels[0].median, c.levels[1].median) == pytest.approx(medians), key
    counts = {cat.category: cat.count for cat in selection["disease_status"].levels[0].categories}
    assert counts == {"relapsed": 18, "primary_refractory": 6}
    crs = {cat.category: cat.count for cat in selection["crs_any"].levels[1].categories}
    assert crs == {"yes": 57, "no": 12}


def test_no_kinetics_no_subset_comparison():
    from pathlib import Path

    from analysis.inputs.loading import load_study
    from analysis.report.results import compute_results

    root = Path(__file__).resolve().parents[1]
    assert compute_results(load_study(root / "data" / "cohort.csv", None)).kinetics_selection == {}


@pytest.mark.parametrize(
    "samples, expected",
    [
        # attack 30 (1): one patient, one sample on day 0: no AUC, and nobody was sampled on day 28
        ([(0, 0.0)], "0 of 1 patients (not computed for 1 without a sample in days 1–28)"),
        # sampled on day 28 itself: the phrase is true
        ([(0, 10.0), (7, 100.0), (28, 5.0)], "1 of 1 patients (sampled on day 28; no patient lacked a day-0 sample)"),
        # day 28 between two samples: interpolated, not "sampled on day 28"
        (
            [(7, 100.0), (14, 50.0), (35, 5.0)],
            "1 of 1 patients (day 28 interpolated for 1; day 0 counted as 0 copies for 1 without a day-0 sample)",
        ),
    ],
)
def test_the_auc_sentence_says_what_happened(bundled_study, samples, expected):
    """The AUC sentence of the supplement, on results built from a kinetics table; Results give
    the count alone (the manuscript's word limit), the same count."""
    import dataclasses

    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    pid = bundled_study.cohort["patient_id"].iloc[0]
    template = bundled_study.kinetics
    kinetics = pd.DataFrame({"patient_id": [pid] * len(samples), "day": [d for d, _ in samples]})
    kinetics["copies_per_ug"] = [c for _, c in samples]
    kinetics = kinetics.astype({c: template[c].dtype for c in kinetics.columns if c in template})
    for column in template.columns.difference(kinetics.columns):
        kinetics[column] = pd.Series([template[column].iloc[0]] * len(kinetics), dtype=template[column].dtype)
    study = dataclasses.replace(bundled_study, kinetics=kinetics[list(template.columns)])
    text = Narrative(compute_results(study), None)
    assert text.auc_obtained == expected
    assert text.auc_computed == expected.split(" (")[0]
