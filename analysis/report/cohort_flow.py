"""Cohort flow (infused -> evaluable at day 30 -> CR -> MRD-negative CR -> outcome in CR)
and the per-patient timelines of a swimmer plot. Counts and event times only; the
drawings are in :mod:`analysis.report.figures`.

Definitions (the same as the rest of the report):

* infused: every patient of the cohort;
* evaluable at day 30: alive and in follow-up after the day-30 response assessment
  (OS time from infusion > ``RESPONSE_ASSESSMENT_DAY`` days) or assessed in CR;
  the others died (or were lost) before it;
* CR: ``cr_day30``; MRD-negative CR: ``mrd_negative_cr`` (the other patients in CR are
  MRD-positive: MRD is required for every CR);
* outcome of the patients in CR (the competing-risks cohort of
  :mod:`analysis.estimators.competing`): relapsed, died without relapse, or alive in CR at last
  follow-up; and how many of them had an allogeneic HSCT while in CR (before any relapse),
  whatever came after it (a transplant ends no endpoint).

Swimmer timelines hold no identifier and no date: each row is months after infusion
(``DAYS_PER_MONTH``) of CRS and ICANS onset, CR, relapse, HSCT, and the end of follow-up
(death or censoring), ordered by follow-up.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.estimators.landmark import RESPONSE_ASSESSMENT_DAY
from analysis.registry.groups import DAYS_PER_MONTH


@dataclass(frozen=True)
class CohortFlow:
    infused: int
    not_evaluable: int          # died or lost before the day-30 assessment, not in CR
    evaluable: int
    no_cr: int                  # evaluable, not in CR
    cr: int
    mrd_positive_or_unknown_cr: int
    mrd_negative_cr: int
    relapsed: int               # among CR
    died_without_relapse: int   # among CR
    alive_in_cr: int            # among CR: censored in CR
    relapsed_mrd_negative: int  # the same three among MRD-negative CR
    died_without_relapse_mrd_negative: int
    alive_in_cr_mrd_negative: int
    #: allogeneic HSCT while in CR (before any relapse), among CR and MRD-negative CR; None
    #: when the cohort table has no hsct_date column (not recorded)
    hsct_in_cr: int | None = None
    hsct_in_cr_mrd_negative: int | None = None


def cohort_flow(df: pd.DataFrame, hsct_recorded: bool = True) -> CohortFlow:
    """Counts of the flow diagram from a prepared cohort (see module docstring);
    ``hsct_recorded``: the cohort table had an hsct_date column."""
    n = int(len(df))
    cr = df["cr_day30"].astype(bool)
    end = df["death_date"].where(df["death_date"].notna(), df["last_followup_date"])
    evaluable = cr | ((end - df["infusion_date"]).dt.days > RESPONSE_ASSESSMENT_DAY)
    mrd_neg = df["mrd_negative_cr"].astype(bool)
    relapsed = cr & df["relapse_date"].notna()
    died = cr & df["death_date"].notna() & ~relapsed
    alive = cr & ~relapsed & ~died
    hsct = df["hsct_date"] if "hsct_date" in df else pd.Series(pd.NaT, index=df.index)
    in_cr_hsct = cr & hsct.notna() & (df["relapse_date"].isna() | (hsct < df["relapse_date"]))
    return CohortFlow(
        infused=n, not_evaluable=int((~evaluable).sum()), evaluable=int(evaluable.sum()),
        no_cr=int((evaluable & ~cr).sum()), cr=int(cr.sum()),
        mrd_positive_or_unknown_cr=int((cr & ~mrd_neg).sum()), mrd_negative_cr=int(mrd_neg.sum()),
        relapsed=int(relapsed.sum()), died_without_relapse=int(died.sum()), alive_in_cr=int(alive.sum()),
        relapsed_mrd_negative=int((relapsed & mrd_neg).sum()),
        died_without_relapse_mrd_negative=int((died & mrd_neg).sum()),
        alive_in_cr_mrd_negative=int((alive & mrd_neg).sum()),
        hsct_in_cr=int(in_cr_hsct.sum()) if hsct_recorded else None,
        hsct_in_cr_mrd_negative=int((in_cr_hsct & mrd_neg).sum()) if hsct_recorded else None,
    )


@dataclass(frozen=True)
class Timelines:
    """One row per patient shown, ordered by follow-up (longest first), months after
    infusion; NaN where the event did not happen. No identifier, no date."""
    follow_up: np.ndarray
    died: np.ndarray            # bool: the follow-up ended with death
    crs_onset: np.ndarray
    icans_onset: np.ndarray
    cr: np.ndarray
    relapse: np.ndarray
    n_patients: int             # in the cohort
    shown: int                  # rows kept (thinned above MAX_SWIMMER_PATIENTS)
    #: allogeneic HSCT after CAR-T (NaN without one; all NaN when not recorded)
    hsct: np.ndarray | None = None


#: Most patients drawn in the swimmer plot; above it, evenly spaced ranks of follow-up
#: are kept (a line per patient stops being readable at about this many rows).
MAX_SWIMMER_PATIENTS = 150


def swimmer_timelines(df: pd.DataFrame, max_patients: int = MAX_SWIMMER_PATIENTS) -> Timelines:
    """Per-patient event times for a swimmer plot, longest follow-up first; thinned to
    ``max_patients`` rows at evenly spaced ranks of follow-up when the cohort is larger."""
    n = int(len(df))
    follow = df["os_months"].to_numpy(dtype=float)
    order = np.argsort(-follow, kind="stable")
    if n > max_patients:
        order = order[np.unique(np.linspace(0, n - 1, max_patients).round().astype(int))]
    rows = df.iloc[order]
    infusion = rows["infusion_date"]

    def months_after(column):
        return ((rows[column] - infusion).dt.days / DAYS_PER_MONTH).to_numpy(dtype=float)

    def onset(day_column, grade_column):
        days = rows[day_column].astype("Float64").where(rows[grade_column].gt(0))
        return (days / DAYS_PER_MONTH).to_numpy(dtype=float, na_value=np.nan)

    return Timelines(
        follow_up=follow[order], died=rows["os_event"].to_numpy(dtype=bool),
        crs_onset=onset("crs_onset_day", "crs_grade"), icans_onset=onset("icans_onset_day", "icans_grade"),
        cr=months_after("cr_date"), relapse=months_after("relapse_date"),
        n_patients=n, shown=int(order.size),
        hsct=months_after("hsct_date") if "hsct_date" in rows else np.full(int(order.size), np.nan),
    )
