"""CAR-T kinetics: per-patient Cmax, Tmax, AUC(0-28), group comparisons with effect sizes,
and profiles over time by visit window.

Functions:
- patient_kinetics(kinetics) -> DataFrame indexed by patient_id with columns
  peak_copies (Cmax), peak_day (Tmax, first day reaching the max), auc_0_28 (linear
  trapezoid from day 0 to 28, copies·day/µg; the rule, for a missing day 0 and day 28,
  is in the function's docstring) and how each AUC was obtained; auc_counts() sums that up.
- compare_peak(prepared_cohort, kinetics, grouping) -> comparisons.Comparison with
  variable "peak_copies" (Mann-Whitney / Kruskal-Wallis, same rule as Table 1).
- compare_kinetics(patient, grouping, metric) -> KineticsComparison: a metric of
  :data:`analysis.registry.concepts.KINETIC_METRICS` by a grouping, the rank test and each
  level's Hodges–Lehmann ratio (Cmax, AUC) or shift (Tmax) against the reference level with
  its 95% CI, as R ``wilcox.test(conf.int = TRUE)``.
- visit_samples(samples, windows) -> one sample per patient and visit window.
- kinetics_profile(prepared_cohort, kinetics, grouping, windows=...) -> DataFrame columns
  [level, label, day, within, n, median, q1, q3] per level and visit window.

Details:
- ``kinetics`` is the sample table of the data dictionary (patient_id, day,
  car_copies_per_ug) or None when the study has none. Patients without samples
  are left out of every kinetics result; with no table at all, compare_peak's
  result has ``p is None`` and reason :data:`NO_KINETICS_REASON`, and
  patient_kinetics / kinetics_profile return empty frames with their columns.
- Cmax/Tmax use every sample of the patient; AUC(0-28) the samples of days 0-28, day 0
  counted as 0 copies when not sampled, day 28 interpolated when not sampled, never
  extrapolated.
- Quartiles in kinetics_profile are R's default ``quantile(type = 7)``
  (= pandas/numpy linear interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.estimators.comparisons import Comparison, TestResult, compare_continuous
from analysis.estimators.effects import compared_levels, reference_level
from analysis.estimators.location import LocationShift, hodges_lehmann
from analysis.registry.concepts import KINETIC_METRICS, NO_KINETICS_REASON, OPTIONS, visit_windows
from analysis.registry.groups import GROUPINGS

AUC_WINDOW_DAYS = (0, 28)
NO_SAMPLES_REASON = "no patient of the cohort has CAR-T kinetics samples"

PATIENT_COLUMNS = [
    "peak_copies",
    "peak_day",
    "auc_0_28",
    "n_samples",
    "n_samples_0_28",
    "auc_day0_imputed",
    "auc_day28_interpolated",
    "auc_missing",
]
PROFILE_COLUMNS = ["level", "label", "day", "within", "n", "median", "q1", "q3"]


def _samples(kinetics: pd.DataFrame | None) -> pd.DataFrame:
    if kinetics is None:
        return pd.DataFrame(
            {
                "patient_id": pd.Series(dtype=object),
                "day": pd.Series(dtype=float),
                "car_copies_per_ug": pd.Series(dtype=float),
            }
        )
    k = kinetics[["patient_id", "day", "car_copies_per_ug"]].dropna()
    # each patient's samples together, by day (stable): patients in order of first appearance,
    # integer codes instead of a sort of the identifier strings (~1 s at 10^6 patients);
    # every per-patient result is keyed by patient, so the order of patients does not matter
    patient = pd.factorize(k["patient_id"])[0]
    order = np.lexsort((k["day"].to_numpy(), patient))
    return k.iloc[order].reset_index(drop=True)


def kinetics_samples(kinetics: pd.DataFrame | None, prepared_cohort: pd.DataFrame | None = None) -> pd.DataFrame:
    """The non-missing samples sorted by patient and day (compute once, pass as ``samples=``
    to the functions below: sorting 10^6-patient tables is their main cost).

    With ``prepared_cohort``, the samples of its patients only, with every grouping column
    (see :func:`with_groupings`): joined once on ``patient_id`` for all the groupings."""
    k = _samples(kinetics)
    return k if prepared_cohort is None else with_groupings(k, prepared_cohort)


def with_groupings(frame: pd.DataFrame, prepared_cohort: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` (a ``patient_id`` column) whose patient is in the cohort, in their
    order, with the cohort's grouping columns appended (an inner join, done once)."""
    columns = [g.column for g in GROUPINGS.values() if g.column in prepared_cohort]
    ids = pd.Index(prepared_cohort["patient_id"])
    if not ids.is_unique:  # not a validated cohort: a plain join
        return frame.merge(prepared_cohort[["patient_id", *columns]], on="patient_id", how="inner")
    position = ids.get_indexer(frame["patient_id"])
    found = position >= 0
    out = frame[found].copy() if not found.all() else frame.copy()
    for column in columns:
        out[column] = prepared_cohort[column].array.take(position[found])
    return out


def _patient_codes(k: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Integer code of each sample's patient (0, 1, ... in the samples' order) and the patients.

    The samples are sorted by patient (:func:`kinetics_samples`), so the codes ascend and each
    patient's samples form one block."""
    codes, patients = pd.factorize(k["patient_id"])
    return codes, pd.Index(patients, name="patient_id")


def patient_kinetics(kinetics: pd.DataFrame | None, *, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cmax, Tmax and AUC(0-28) per patient (one row per patient with samples).

    - ``peak_copies`` (Cmax): the highest value of any sample; ``peak_day`` (Tmax): the first
      day it is reached (missing when every sample is 0: no expansion, no peak).
    - ``auc_0_28``: linear trapezoid between the observed sampling days from day 0 to day 28
      (:data:`AUC_WINDOW_DAYS`), copies·day/µg. A missing day-0 sample counts as 0 copies (no
      CAR T cell is in the blood before the infusion: ``auc_day0_imputed``). Day 28 without a
      sample is interpolated linearly between the last sample before it and the first after
      it (``auc_day28_interpolated``). Gaps between samples are bridged by the straight line
      between them, as the trapezoid rule does. Nothing is extrapolated: the AUC is missing
      (NaN) when no sample lies in days 1-28 (``auc_missing`` 1) or none lies on or after day
      28 (``auc_missing`` 2; e.g. sampling stopped at day 21).
    - ``n_samples``, ``n_samples_0_28``: the patient's samples, all and in days 0-28.

    Vectorised over all patients (one pass over the samples sorted by patient and day).
    """
    k = _samples(kinetics) if samples is None else samples
    if k.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=bool if c.startswith("auc_day") else float) for c in PATIENT_COLUMNS},
            index=pd.Index([], name="patient_id"),
        )
    code, patients = _patient_codes(k)
    n_patients = len(patients)
    day = k["day"].to_numpy(dtype=float)
    copies = k["car_copies_per_ug"].to_numpy(dtype=float)
    n = day.size
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    peak = np.maximum.reduceat(copies, starts)
    at_peak = copies == peak[code]
    peak_day = np.minimum.reduceat(np.where(at_peak, day, np.inf), starts)
    peak_day = np.where(peak > 0, peak_day, np.nan)

    lo, hi = AUC_WINDOW_DAYS
    inside = (day >= lo) & (day <= hi)
    same = np.r_[False, code[1:] == code[:-1]]
    pair = inside & np.r_[False, inside[:-1]] & same  # a sample and the one before it, both in the window
    segment = np.zeros(n)
    segment[pair] = (day[pair] - day[np.flatnonzero(pair) - 1]) * (copies[pair] + copies[np.flatnonzero(pair) - 1]) / 2
    auc = np.bincount(code, weights=segment, minlength=n_patients)

    # the first and last sample of each patient inside the window
    rows = np.flatnonzero(inside)
    has = np.zeros(n_patients, dtype=bool)
    has[code[rows]] = True
    first = np.full(n_patients, -1)
    last = np.full(n_patients, -1)
    first[code[rows[::-1]]] = rows[::-1]  # the last assignment wins: the earliest row
    last[code[rows]] = rows
    early = np.zeros(n_patients, dtype=bool)  # an observed sample in (lo, hi]
    early[code[rows[day[rows] > lo]]] = True

    # day 0 without a sample: 0 copies at day 0, the first trapezoid from there
    day0_imputed = has & (day[first.clip(0)] > lo)
    auc = auc + np.where(day0_imputed, (day[first.clip(0)] - lo) * copies[first.clip(0)] / 2, 0.0)
    # day 28 without a sample: interpolated between the last sample before it and the next one
    last_day = day[last.clip(0)]
    following = last + 1
    has_next = has & (last_day < hi) & (following < n)
    has_next &= code[following.clip(max=n - 1)] == np.arange(n_patients)
    nxt = following.clip(max=n - 1)
    c1, t1 = copies[last.clip(0)], last_day
    gap = np.where(has_next, day[nxt] - t1, 1.0)  # the division only where there is a next sample
    c28 = c1 + (copies[nxt] - c1) * (hi - t1) / gap
    day28_interpolated = has_next
    auc = auc + np.where(has_next, (hi - t1) * (c1 + c28) / 2, 0.0)

    missing = np.where(~early, 1, np.where((last_day < hi) & ~has_next, 2, 0))
    auc = np.where(missing == 0, auc, np.nan)
    computed = missing == 0
    out = pd.DataFrame(
        {
            "peak_copies": peak,
            "peak_day": peak_day,
            "auc_0_28": auc,
            "n_samples": np.diff(np.r_[starts, n]).astype(float),
            "n_samples_0_28": np.bincount(code[rows], minlength=n_patients).astype(float),
            "auc_day0_imputed": day0_imputed & computed,
            "auc_day28_interpolated": day28_interpolated & computed,
            "auc_missing": missing.astype(np.int8),
        },
        index=patients,
    )
    return out


@dataclass(frozen=True)
class AucCounts:
    """How the AUC(0-28) of the patients with samples was obtained (Methods and Results)."""

    n_patients: int  # patients with samples
    n_auc: int  # with an AUC(0-28)
    n_day0_imputed: int  # no day-0 sample: 0 copies at day 0
    n_day28_interpolated: int  # no day-28 sample: interpolated
    n_no_early_sample: int  # no AUC: no sample in days 1-28
    n_no_late_sample: int  # no AUC: no sample on or after day 28


def auc_counts(patient: pd.DataFrame) -> AucCounts:
    """:class:`AucCounts` of a :func:`patient_kinetics` frame."""
    missing = patient["auc_missing"].to_numpy() if len(patient) else np.zeros(0, dtype=np.int8)
    return AucCounts(
        n_patients=int(len(patient)),
        n_auc=int((missing == 0).sum()),
        n_day0_imputed=int(patient["auc_day0_imputed"].sum()) if len(patient) else 0,
        n_day28_interpolated=int(patient["auc_day28_interpolated"].sum()) if len(patient) else 0,
        n_no_early_sample=int((missing == 1).sum()),
        n_no_late_sample=int((missing == 2).sum()),
    )


def _with_samples(
    prepared_cohort: pd.DataFrame, kinetics: pd.DataFrame | None, patient: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Cohort rows of the patients with samples, with their per-patient kinetics."""
    pk = patient_kinetics(kinetics) if patient is None else patient
    return prepared_cohort.merge(pk, left_on="patient_id", right_index=True, how="inner")


def compare_peak(
    prepared_cohort: pd.DataFrame, kinetics: pd.DataFrame | None, grouping: str, *, patient: pd.DataFrame | None = None
) -> Comparison:
    """Peak CAR copies (Cmax) per level and the Table 1 rank test (R wilcox.test / kruskal.test).

    ``patient``: ``patient_kinetics(kinetics)`` when already computed, or those rows of the
    cohort's patients with the grouping columns already joined (:func:`with_groupings`,
    shared by every grouping)."""
    column = GROUPINGS[grouping].column
    if patient is not None and column in patient.columns:
        df = patient
    else:
        df = _with_samples(prepared_cohort[["patient_id", column]], kinetics, patient)  # only what the test needs
    comparison = compare_continuous(df, "peak_copies", grouping)
    if kinetics is None:
        return replace(comparison, result=TestResult(None, None, None, NO_KINETICS_REASON))
    if df.empty:
        return replace(comparison, result=TestResult(None, None, None, NO_SAMPLES_REASON))
    return comparison


@dataclass(frozen=True)
class LevelEffect:
    """A level against the grouping's reference level: Hodges–Lehmann ratio (Cmax, AUC) or
    shift in days (Tmax) with its 95% CI (:func:`analysis.estimators.location.hodges_lehmann`)."""

    level: str
    label: str
    reference: str
    shift: LocationShift


@dataclass(frozen=True)
class KineticsComparison:
    """One kinetic metric (:data:`analysis.registry.concepts.KINETIC_METRICS`) by one grouping:
    median (range) per level and the rank test (``comparison``, as Table 1), and each level's
    effect against the reference level."""

    metric: str
    grouping: str
    comparison: Comparison
    effects: tuple[LevelEffect, ...]


def compare_kinetics(
    patient: pd.DataFrame, grouping: str, metric: str, *, comparison: Comparison | None = None
) -> KineticsComparison:
    """``metric`` by ``grouping`` among the patients with samples: ``patient`` is
    :func:`patient_kinetics` with the grouping columns joined (:func:`with_groupings`).
    ``comparison``: the rank test already computed for the metric (the peak's, by
    :func:`compare_peak`), reused as it is. Patients without a value (no AUC) are left out."""
    m = KINETIC_METRICS[metric]
    g = GROUPINGS[grouping]
    if comparison is None:
        comparison = compare_continuous(patient, m.column, grouping)
        if patient.empty:
            comparison = replace(comparison, result=TestResult(None, None, None, NO_SAMPLES_REASON))
    ref = reference_level(grouping)
    values = patient[m.column].to_numpy(dtype=float) if len(patient) else np.zeros(0)
    level = patient[g.column].to_numpy() if len(patient) else np.zeros(0, dtype=object)
    reference_values = values[level == ref]
    effects = tuple(
        LevelEffect(key, g.label(key), ref, hodges_lehmann(values[level == key], reference_values, ratio=m.ratio))
        for key in compared_levels(grouping)
    )
    return KineticsComparison(metric, grouping, comparison, effects)


def visit_samples(samples: pd.DataFrame, windows) -> pd.DataFrame:
    """One sample per patient and visit window: the rows of ``samples`` that fall in a window
    of ``windows`` ((nominal day, half-width), ..., non-overlapping: :func:`analysis.registry.
    concepts.visit_windows`), with a ``visit`` column (the nominal day); of a patient's samples
    in one window, the one closest to the nominal day (the earlier on a tie). Samples outside
    every window are left out. Vectorised: one search of each day in the windows, one sort."""
    windows = visit_windows(windows)
    nominal = np.array([w[0] for w in windows], dtype=float)
    low = np.array([w[0] - w[1] for w in windows], dtype=float)
    high = np.array([w[0] + w[1] for w in windows], dtype=float)
    day = samples["day"].to_numpy(dtype=float)
    j = np.searchsorted(low, day, side="right") - 1
    inside = (j >= 0) & (day <= high[j.clip(0)])
    rows = np.flatnonzero(inside)
    j = j[rows]
    code, _ = pd.factorize(samples["patient_id"].to_numpy()[rows])
    distance = np.abs(day[rows] - nominal[j])
    order = np.lexsort((day[rows], distance, j, code))
    first = np.r_[True, (code[order][1:] != code[order][:-1]) | (j[order][1:] != j[order][:-1])][: order.size]
    keep = rows[order[first]]
    out = samples.iloc[keep].copy()
    out["visit"] = nominal[j[order[first]]]
    return out.reset_index(drop=True)


def kinetics_profile(
    prepared_cohort: pd.DataFrame,
    kinetics: pd.DataFrame | None,
    grouping: str,
    *,
    samples: pd.DataFrame | None = None,
    windows=None,
) -> pd.DataFrame:
    """Median and quartiles of CAR copies per level and visit window (Figure: over time).

    One row per (level, visit) with at least one patient, levels in the grouping's order then
    visits ascending; ``level`` holds the level key, ``label`` its label, ``day`` the nominal
    day of the visit, ``within`` its half-width, ``n`` the patients with a sample in the window
    (one sample each: :func:`visit_samples`). ``windows``: the study file's ``visit_windows``
    (default :data:`analysis.registry.concepts.OPTIONS`). ``samples`` from
    ``kinetics_samples(kinetics, prepared_cohort)`` already hold the grouping columns: then
    nothing is joined here; ``visit_samples`` of them may be passed instead (a ``visit``
    column), computed once for every grouping.
    """
    g = GROUPINGS[grouping]
    if windows is None:
        windows = OPTIONS["visit_windows"].default
    half_width = dict(visit_windows(windows))
    k = _samples(kinetics) if samples is None else samples
    if g.column not in k.columns:
        k = k.merge(prepared_cohort[["patient_id", g.column]], on="patient_id", how="inner")
    df = k if "visit" in k.columns else visit_samples(k, windows)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("level", "label") else float) for c in PROFILE_COLUMNS})
    copies = df.groupby([g.column, "visit"], observed=True)["car_copies_per_ug"]
    # cythonised group quantiles: linear interpolation, R type 7 (as Series.quantile)
    quartiles = copies.quantile([0.25, 0.75]).unstack()  # one sort of the groups for both
    stats = (
        pd.DataFrame({"n": copies.size(), "median": copies.median(), "q1": quartiles[0.25], "q3": quartiles[0.75]})
        .reset_index()
        .rename(columns={g.column: "level", "visit": "day"})
    )
    stats["level"] = stats["level"].astype(str)
    stats["label"] = stats["level"].map(g.label)
    stats["within"] = stats["day"].map(half_width).astype(float)
    order = {key: i for i, key in enumerate(g.keys)}
    stats = stats.sort_values(["level", "day"], key=lambda s: s.map(order) if s.name == "level" else s)
    return stats[PROFILE_COLUMNS].reset_index(drop=True)
