"""Cohort flow (infused -> evaluable at day 30 -> CR -> MRD-negative CR -> outcome in CR)
and the per-patient timelines of a swimmer plot. Counts and event times only; the
drawings are in :mod:`analysis.report.figures`.

Definitions (the same as the rest of the report):

* infused: every patient of the cohort;
* assessed at day 30 (``evaluable``): alive and in follow-up after the day-30 response
  assessment (OS time from infusion > ``RESPONSE_ASSESSMENT_DAY`` days) or assessed in CR,
  and not recorded as "response not evaluable"; the others died (or were lost) before it
  (``before_assessment``: not in CR by :data:`analysis.registry.concepts.RESPONSE_RULE`,
  so they are in the denominator of the response rates), or their response could not be
  evaluated (``response_not_evaluable``: left out of the rates);
* CR: ``cr_day30``; MRD-negative CR: ``mrd_negative_cr``; the other patients in CR are
  MRD-positive, or their MRD was not assessed ("not done": counted apart, never as
  positive or negative);
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

from analysis.registry.groups import DAYS_PER_MONTH, followed_beyond_assessment


@dataclass(frozen=True)
class CohortFlow:
    infused: int
    not_evaluable: int  # not assessed at day 30: before_assessment + response_not_evaluable
    evaluable: int
    no_cr: int  # evaluable, not in CR
    cr: int
    mrd_positive_or_unknown_cr: int
    mrd_negative_cr: int
    relapsed: int  # among CR
    died_without_relapse: int  # among CR
    alive_in_cr: int  # among CR: censored in CR
    relapsed_mrd_negative: int  # the same three among MRD-negative CR
    died_without_relapse_mrd_negative: int
    alive_in_cr_mrd_negative: int
    #: allogeneic HSCT while in CR (before any relapse), among CR and MRD-negative CR; None
    #: when the cohort table has no hsct_date column (not recorded)
    hsct_in_cr: int | None = None
    hsct_in_cr_mrd_negative: int | None = None
    mrd_positive_cr: int = 0  # MRD assessed and positive
    mrd_not_assessed_cr: int = 0  # in CR, MRD not done (or not collected)
    response_not_evaluable: int = 0  # recorded as not evaluable (among not_evaluable)
    mrd_collected: bool = True  # False: the registry does not collect MRD (no MRD box)
    #: died or not followed up beyond the day-30 assessment, not in CR: counted as not in CR
    #: (concepts.RESPONSE_RULE), among not_evaluable
    before_assessment: int = 0

    @property
    def no_cr_all(self) -> int:
        """Every patient not in CR in the response rates: assessed and not in CR, and those who
        died or were not followed up before the assessment."""
        return self.no_cr + self.before_assessment


def cohort_flow(df: pd.DataFrame, hsct_recorded: bool = True, mrd_collected: bool = True) -> CohortFlow:
    """Counts of the flow diagram from a prepared cohort (see module docstring);
    ``hsct_recorded``: the cohort table had an hsct_date column; ``mrd_collected``: the
    registry collects MRD."""
    n = int(len(df))
    cr = df["cr_day30"].astype(bool)
    recorded = ~df["response_evaluable"].astype(bool) if "response_evaluable" in df else pd.Series(False, df.index)
    reached = cr | followed_beyond_assessment(df)
    evaluable = reached & ~recorded
    mrd_neg = df["mrd_negative_cr"].astype("boolean").fillna(False).astype(bool)
    not_assessed = df["mrd_not_assessed"].astype(bool) if "mrd_not_assessed" in df else pd.Series(False, index=df.index)
    relapsed = cr & df["relapse_date"].notna()
    died = cr & df["death_date"].notna() & ~relapsed
    alive = cr & ~relapsed & ~died
    hsct = df["hsct_date"] if "hsct_date" in df else pd.Series(pd.NaT, index=df.index)
    in_cr_hsct = cr & hsct.notna() & (df["relapse_date"].isna() | (hsct < df["relapse_date"]))
    return CohortFlow(
        infused=n,
        not_evaluable=int((~evaluable).sum()),
        evaluable=int(evaluable.sum()),
        no_cr=int((evaluable & ~cr).sum()),
        cr=int(cr.sum()),
        mrd_positive_or_unknown_cr=int((cr & ~mrd_neg).sum()),
        mrd_negative_cr=int(mrd_neg.sum()),
        relapsed=int(relapsed.sum()),
        died_without_relapse=int(died.sum()),
        alive_in_cr=int(alive.sum()),
        relapsed_mrd_negative=int((relapsed & mrd_neg).sum()),
        died_without_relapse_mrd_negative=int((died & mrd_neg).sum()),
        alive_in_cr_mrd_negative=int((alive & mrd_neg).sum()),
        hsct_in_cr=int(in_cr_hsct.sum()) if hsct_recorded else None,
        hsct_in_cr_mrd_negative=int((in_cr_hsct & mrd_neg).sum()) if hsct_recorded else None,
        mrd_positive_cr=int((cr & ~mrd_neg & ~not_assessed).sum()),
        mrd_not_assessed_cr=int(not_assessed.sum()),
        response_not_evaluable=int(recorded.sum()),
        mrd_collected=mrd_collected,
        before_assessment=int((~reached & ~recorded).sum()),
    )


@dataclass(frozen=True)
class Timelines:
    """One row per patient shown, ordered by follow-up (longest first), months after
    infusion; NaN where the event did not happen. No identifier, no date."""

    follow_up: np.ndarray
    died: np.ndarray  # bool: the follow-up ended with death
    crs_onset: np.ndarray
    icans_onset: np.ndarray
    cr: np.ndarray
    relapse: np.ndarray
    n_patients: int  # in the cohort
    shown: int  # rows kept (thinned above MAX_SWIMMER_PATIENTS)
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
        follow_up=follow[order],
        died=rows["os_event"].to_numpy(dtype=bool),
        crs_onset=onset("crs_onset_day", "crs_grade"),
        icans_onset=onset("icans_onset_day", "icans_grade"),
        cr=months_after("cr_date"),
        relapse=months_after("relapse_date"),
        n_patients=n,
        shown=int(order.size),
        hsct=months_after("hsct_date") if "hsct_date" in rows else np.full(int(order.size), np.nan),
    )
