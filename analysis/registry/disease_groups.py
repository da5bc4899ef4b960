"""Derived columns of an LBCL or MM cohort (the disease profiles' counterpart of
:func:`analysis.registry.groups.prepare_cohort`).

:func:`prepare_disease_cohort` adds, for a profile of :data:`analysis.registry.diseases.DISEASES`:

- the toxicity flags and groupings of :mod:`analysis.registry.groups` (the same CRS/ICANS
  groups as the B-ALL report);
- per assessment, ``score_<assessment>``: the ordinal score of the response (higher is
  better; missing when not assessed or not evaluable);
- per responder definition and assessment, ``resp_<responder>_<assessment>``: nullable
  boolean (missing when the response, or for MRD the MRD result, is unknown);
- ``pfs_months``/``pfs_event`` (progression or death, from infusion), ``dor_months``/
  ``dor_event`` (responders, from the response date), ``os_months``/``os_event``;
- ``progression_status``: 0 censored, 1 progression, 2 death without progression (the
  competing-risks status from infusion, on the PFS clock).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.registry.contract import not_done_column
from analysis.registry.diseases import Profile
from analysis.registry.groups import DAYS_PER_MONTH, add_groupings, add_toxicity_flags


def score_column(assessment: str) -> str:
    return f"score_{assessment}"


def responder_column(responder: str, assessment: str) -> str:
    return f"resp_{responder}_{assessment}"


def _known(df: pd.DataFrame, column: str) -> pd.Series:
    """Cells holding a value that is not 'not done'."""
    done = df[not_done_column(column)].astype(bool) if not_done_column(column) in df else False
    return df[column].notna() & ~done


def mrd_assessed(df: pd.DataFrame, profile: Profile, responder: str, assessment: str) -> int:
    """Patients at a responder definition's response levels (≥CR) at ``assessment`` whose MRD
    result is known: 0 leaves its MRD-negative rate without a patient who could have been
    counted as a responder (a rate of 0% from the patients below the levels alone)."""
    r = profile.responder(responder)
    column = next(a.column for a in profile.assessments if a.key == assessment)
    if r.mrd_column is None or r.mrd_column not in df:
        return 0
    at_level = df[column].isin(r.levels) & _known(df, column)
    return int((at_level & _known(df, r.mrd_column)).sum())


def prepare_disease_cohort(cohort: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    if profile.scale is None:
        raise ValueError(f"{profile.key}: the B-ALL cohort is prepared by analysis.registry.groups.prepare_cohort")
    scale = profile.scale
    df = cohort.copy()
    add_toxicity_flags(df)
    scores = {key: scale.score(key) for key in scale.keys}
    for a in profile.assessments:
        known = _known(df, a.column)
        df[score_column(a.key)] = df[a.column].where(known).map(scores).astype("Float64")
        for r in profile.responders:
            value = df[a.column].isin(r.levels) & known
            out = pd.array(value.to_numpy(), dtype="boolean")
            out[~known.to_numpy()] = pd.NA
            if r.mrd_column is not None:
                mrd_known = _known(df, r.mrd_column) if r.mrd_column in df else pd.Series(False, index=df.index)
                mrd = df[r.mrd_column].astype("boolean").fillna(False).astype(bool) if r.mrd_column in df else False
                out = pd.array((value & mrd).to_numpy(), dtype="boolean")
                # a responder by level whose MRD is unknown: not counted either way
                out[(~known | (value & ~mrd_known)).to_numpy()] = pd.NA
            df[responder_column(r.key, a.key)] = out

    died = df["death_date"].notna()
    end = df["death_date"].where(died, df["last_followup_date"])
    df["os_months"] = (end - df["infusion_date"]).dt.days / DAYS_PER_MONTH
    df["os_event"] = died
    progressed = df["progression_date"].notna()
    first = df[["progression_date", "death_date"]].min(axis=1)
    event = first.notna()
    stop = first.where(event, df["last_followup_date"])
    df["pfs_months"] = (stop - df["infusion_date"]).dt.days / DAYS_PER_MONTH
    df["pfs_event"] = event
    responded = df["response_date"].notna()
    df["dor_months"] = ((stop - df["response_date"]).dt.days / DAYS_PER_MONTH).where(responded)
    df["dor_event"] = event.where(responded)
    df["progression_status"] = np.where(progressed, 1, np.where(died, 2, 0))
    add_groupings(df)
    return df
