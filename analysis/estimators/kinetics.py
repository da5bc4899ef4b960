"""CAR-T kinetics (Figure 4): per-patient Cmax, Tmax, AUC(0-28) and group comparisons.

Functions:
- patient_kinetics(kinetics) -> DataFrame indexed by patient_id with columns
  peak_copies (Cmax), peak_day (Tmax, first day reaching the max), auc_0_28 (trapezoidal,
  copies·day/µg, over samples with 0 <= day <= 28).
- compare_peak(prepared_cohort, kinetics, grouping) -> comparisons.Comparison with
  variable "peak_copies" (Mann-Whitney / Kruskal-Wallis, same rule as Table 1).
- kinetics_profile(prepared_cohort, kinetics, grouping) -> DataFrame columns
  [level, day, n, median, q1, q3] for the over-time panel.

Details:
- ``kinetics`` is the sample table of the data dictionary (patient_id, day,
  car_copies_per_ug) or None when the study has none. Patients without samples
  are left out of every kinetics result; with no table at all, compare_peak's
  result has ``p is None`` and reason :data:`NO_KINETICS_REASON`, and
  patient_kinetics / kinetics_profile return empty frames with their columns.
- Cmax/Tmax use every sample of the patient; AUC(0-28) uses only samples with
  0 <= day <= 28, without extrapolation to day 0 or 28, and is missing (NaN)
  for a patient with fewer than two such samples (no interval to integrate).
  ``n_samples`` and ``n_samples_0_28`` are added so readers can see why.
- Quartiles in kinetics_profile are R's default ``quantile(type = 7)``
  (= pandas/numpy linear interpolation).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.estimators.comparisons import Comparison, TestResult, compare_continuous
from analysis.registry.concepts import NO_KINETICS_REASON
from analysis.registry.groups import GROUPINGS

AUC_WINDOW_DAYS = (0, 28)
NO_SAMPLES_REASON = "no patient of the cohort has CAR-T kinetics samples"

PATIENT_COLUMNS = ["peak_copies", "peak_day", "auc_0_28", "n_samples", "n_samples_0_28"]
PROFILE_COLUMNS = ["level", "label", "day", "n", "median", "q1", "q3"]


def _samples(kinetics: pd.DataFrame | None) -> pd.DataFrame:
    if kinetics is None:
        return pd.DataFrame({"patient_id": pd.Series(dtype=object), "day": pd.Series(dtype=float),
                             "car_copies_per_ug": pd.Series(dtype=float)})
    k = kinetics[["patient_id", "day", "car_copies_per_ug"]].dropna()
    # each patient's samples together, by day (stable): patients in order of first appearance,
    # integer codes instead of a sort of the identifier strings (~1 s at 10^6 patients);
    # every per-patient result is keyed by patient, so the order of patients does not matter
    patient = pd.factorize(k["patient_id"])[0]
    order = np.lexsort((k["day"].to_numpy(), patient))
    return k.iloc[order].reset_index(drop=True)


def kinetics_samples(kinetics: pd.DataFrame | None,
                     prepared_cohort: pd.DataFrame | None = None) -> pd.DataFrame:
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


def patient_kinetics(kinetics: pd.DataFrame | None, *, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cmax, Tmax and trapezoidal AUC(0-28) per patient (one row per patient with samples).

    Vectorised over all patients: the trapezoid rule (as ``numpy.trapezoid`` per
    patient) is the sum of (day_i - day_{i-1}) * (c_i + c_{i-1}) / 2 over
    consecutive samples of the same patient.
    """
    k = _samples(kinetics) if samples is None else samples
    if k.empty:
        return pd.DataFrame(columns=PATIENT_COLUMNS, index=pd.Index([], name="patient_id"), dtype=float)
    copies = k["car_copies_per_ug"].astype(float)
    by_patient = copies.groupby(k["patient_id"])
    peak = by_patient.max()
    # Tmax: the first day at which the patient's maximum is reached.
    at_peak = copies.eq(by_patient.transform("max"))
    peak_day = k.loc[at_peak].groupby("patient_id")["day"].min()

    lo, hi = AUC_WINDOW_DAYS
    w = k[(k["day"] >= lo) & (k["day"] <= hi)]
    wc = w["car_copies_per_ug"].astype(float)
    same_patient = w["patient_id"].eq(w["patient_id"].shift())
    segment = ((w["day"] - w["day"].shift()) * (wc + wc.shift()) / 2).where(same_patient)
    auc = segment.groupby(w["patient_id"]).sum(min_count=1)  # NaN when a single sample
    n_window = w.groupby("patient_id").size()

    out = pd.DataFrame({
        "peak_copies": peak,
        "peak_day": peak_day.astype(float),
        "auc_0_28": auc.reindex(peak.index),
        "n_samples": by_patient.size(),
        "n_samples_0_28": n_window.reindex(peak.index, fill_value=0),
    })
    out.index.name = "patient_id"
    return out


def _with_samples(prepared_cohort: pd.DataFrame, kinetics: pd.DataFrame | None,
                  patient: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cohort rows of the patients with samples, with their per-patient kinetics."""
    pk = patient_kinetics(kinetics) if patient is None else patient
    return prepared_cohort.merge(pk, left_on="patient_id", right_index=True, how="inner")


def compare_peak(prepared_cohort: pd.DataFrame, kinetics: pd.DataFrame | None, grouping: str, *,
                 patient: pd.DataFrame | None = None) -> Comparison:
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


def kinetics_profile(prepared_cohort: pd.DataFrame, kinetics: pd.DataFrame | None, grouping: str, *,
                     samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """Median and quartiles of CAR copies per level and sampling day (Figure 4 over-time panel).

    One row per (level, day) with at least one sample, levels in the grouping's
    order then days ascending; ``level`` holds the level key, ``label`` its label.
    ``samples`` from ``kinetics_samples(kinetics, prepared_cohort)`` already hold the
    grouping columns: then nothing is joined here.
    """
    g = GROUPINGS[grouping]
    k = _samples(kinetics) if samples is None else samples
    if g.column in k.columns:
        df = k
    else:
        df = k.merge(prepared_cohort[["patient_id", g.column]], on="patient_id", how="inner")
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("level", "label") else float)
                             for c in PROFILE_COLUMNS})
    copies = df.groupby([g.column, "day"], observed=True)["car_copies_per_ug"]
    # cythonised group quantiles: linear interpolation, R type 7 (as Series.quantile)
    quartiles = copies.quantile([0.25, 0.75]).unstack()  # one sort of the groups for both
    stats = (
        pd.DataFrame({"n": copies.size(), "median": copies.median(),
                      "q1": quartiles[0.25], "q3": quartiles[0.75]})
        .reset_index()
        .rename(columns={g.column: "level"})
    )
    stats["level"] = stats["level"].astype(str)
    stats["label"] = stats["level"].map(g.label)
    order = {key: i for i, key in enumerate(g.keys)}
    stats = stats.sort_values(["level", "day"], key=lambda s: s.map(order) if s.name == "level" else s)
    return stats[PROFILE_COLUMNS].reset_index(drop=True)
