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

from analysis.inputs.screening import Excluded
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
    #: the study file's reasons for exclusion before the analysis, counted (STROBE 13a/13b):
    #: None when the study file does not declare them, () when it declares none
    excluded: tuple[Excluded, ...] | None = None
    #: patients screened: the infused (analysed) patients and every excluded one
    screened: int | None = None
    #: kinetics samples of the patients a rule excluded, left out with them
    samples_excluded: int = 0

    @property
    def n_excluded(self) -> int:
        return sum(e.n for e in self.excluded or ())

    @property
    def no_cr_all(self) -> int:
        """Every patient not in CR in the response rates: assessed and not in CR, and those who
        died or were not followed up before the assessment."""
        return self.no_cr + self.before_assessment


def cohort_flow(
    df: pd.DataFrame,
    hsct_recorded: bool = True,
    mrd_collected: bool = True,
    excluded: tuple[Excluded, ...] | None = None,
    samples_excluded: int = 0,
) -> CohortFlow:
    """Counts of the flow diagram from a prepared cohort (see module docstring);
    ``hsct_recorded``: the cohort table had an hsct_date column; ``mrd_collected``: the
    registry collects MRD; ``excluded``: the study's exclusions before the analysis, counted
    (``Study.excluded``; None: not declared)."""
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
        excluded=None if excluded is None else tuple(excluded),
        screened=None if excluded is None else n + sum(e.n for e in excluded),
        samples_excluded=int(samples_excluded),
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


# --------------------------------------------------------------------------- disease profiles


@dataclass(frozen=True)
class DiseaseFlow:
    """The cohort flow of an LBCL or MM report (STROBE 13a–c): every infused patient, whose best
    overall response could or could not be evaluated, the responders (the profile's ORR) and
    among them those with a complete response (LBCL: CR; MM: ≥CR, and MRD-negative ≥CR where
    MRD is collected), and the outcome of the responders at last follow-up; then the patients
    of the analyses that leave patients out (the multivariable model, the landmark analysis),
    with the reason for each left out."""

    infused: int
    not_evaluable: int  # best response not evaluable: left out of the response rates
    evaluable: int
    responders: int  # the profile's ORR levels
    non_responders: int  # evaluable, not responding
    complete: int  # the profile's "cr" responder: CR (LBCL), ≥CR (MM)
    partial: int  # responders short of it
    progressed: int  # among responders: progression (before any death)
    died_without_progression: int  # among responders
    alive_progression_free: int  # among responders, censored without progression
    #: MRD-negative ≥CR and ≥CR with MRD not assessed (None: no MRD responder or not collected)
    mrd_negative: int | None = None
    mrd_not_assessed: int | None = None
    #: the PFS model: patients in it and left out for a missing covariate value
    model_n: int = 0
    model_missing: int = 0
    #: the landmark analysis of PFS: patients in it, and those left out (progressed or died by
    #: the landmark; no follow-up beyond it)
    landmark_day: int | None = None
    landmark_n: int = 0
    landmark_event_before: int = 0
    landmark_censored_before: int = 0


def disease_flow(df: pd.DataFrame, profile, model_n: int, model_missing: int, landmark=None) -> DiseaseFlow:
    """Counts of the disease flow diagram from a prepared cohort
    (:func:`analysis.registry.disease_groups.prepare_disease_cohort`) of ``profile``; the model's
    and the landmark analysis's patients as their estimators counted them (``landmark``: the
    landmark comparison of PFS, :class:`analysis.estimators.landmark.LandmarkComparison`)."""
    from analysis.registry.disease_groups import responder_column, score_column

    best = profile.primary_assessment
    evaluable = df[score_column(best)].notna()
    responder = df[responder_column("orr", best)].astype("boolean").fillna(False).astype(bool)
    complete = df[responder_column("cr", best)].astype("boolean").fillna(False).astype(bool)
    status = df["progression_status"]
    mrd = next((r for r in profile.responders if r.mrd_column is not None), None)
    mrd_negative = mrd_not_assessed = None
    if mrd is not None and responder_column(mrd.key, best) in df:
        value = df[responder_column(mrd.key, best)].astype("boolean")
        mrd_negative = int(value.fillna(False).astype(bool).sum())
        mrd_not_assessed = int((complete & value.isna()).sum())
    return DiseaseFlow(
        infused=int(len(df)),
        not_evaluable=int((~evaluable).sum()),
        evaluable=int(evaluable.sum()),
        responders=int(responder.sum()),
        non_responders=int((evaluable & ~responder).sum()),
        complete=int(complete.sum()),
        partial=int((responder & ~complete).sum()),
        progressed=int((responder & status.eq(1)).sum()),
        died_without_progression=int((responder & status.eq(2)).sum()),
        alive_progression_free=int((responder & status.eq(0)).sum()),
        mrd_negative=mrd_negative,
        mrd_not_assessed=mrd_not_assessed,
        model_n=int(model_n),
        model_missing=int(model_missing),
        landmark_day=None if landmark is None else int(landmark.landmark_day),
        landmark_n=0 if landmark is None else int(landmark.n),
        landmark_event_before=0 if landmark is None else int(landmark.n_event_before),
        landmark_censored_before=0 if landmark is None else int(landmark.n_censored_before),
    )
