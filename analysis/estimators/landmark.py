"""Landmark analysis of OS and LFS by toxicity (Anderson, Cain and Gelber 1983).

CRS and ICANS begin days after infusion. Comparing survival *from infusion* by a
toxicity that happens later credits the toxicity group with the time before its
onset, when its patients could not have died and still be counted as "with
toxicity" (immortal time bias). The landmark analysis removes this: it fixes a day
(``landmark_day`` after infusion, 30 by default), keeps the patients alive and
event-free and still followed after that day, classifies each by the toxicity
known **by** that day, and measures time from the landmark.

Classification at the landmark: a patient counts as having CRS (ICANS) only if it
began on or before the landmark day (``crs_onset_day <= landmark_day``); a patient
whose CRS began after the landmark counts as **no CRS** at the landmark, and its
grade does not count either. The groupings are then rebuilt by
:func:`analysis.registry.groups.prepare_cohort` from these masked grades, so every toxicity
grouping of :data:`analysis.registry.groups.GROUPINGS` keeps its single definition.

Who is at the landmark:

* OS: every patient whose death or last follow-up is after the landmark day
  (days from infusion ``> landmark_day``); time = days after the landmark.
* LFS: patients in CR at the day-30 response assessment whose relapse, death or
  last follow-up is after the landmark day; time from the landmark (not from the CR
  date: every patient's clock starts at the same day). Only defined when the
  landmark is on or after that assessment (``RESPONSE_ASSESSMENT_DAY``): before it,
  being in CR would be information from after the landmark.
* EFS: the same patients (a patient not in CR had the event at day 0, so is counted
  among the events before the landmark); also only from the assessment on.
* PFS (the LBCL and MM profiles): every patient whose progression, death or last follow-up
  is after the landmark day; time from the landmark. The cohort of a disease profile has no
  day-30 CR: its groupings are rebuilt from the masked grades alone
  (:func:`analysis.registry.groups.add_groupings`).

Statistics are those of :mod:`analysis.estimators.survival` (KM, R ``survdiff`` log-rank) on
the landmark cohort, and a univariable Cox model (Efron ties) fitted by the
Newton-Raphson of :mod:`analysis.estimators.cox`: R
``coxph(Surv(months, event) ~ group, ties = "efron")`` on the same subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.estimators.cox import CoxResult
from analysis.estimators.survival import SurvivalComparison, compare_survival
from analysis.registry.concepts import OPTIONS
from analysis.registry.contract import RESPONSE_ASSESSMENT_DAY  # the day of "in CR" (re-exported)
from analysis.registry.groups import (
    DAYS_PER_MONTH,
    EFS_NO_CR_DAY,
    GROUPINGS,
    TOXICITY_GROUPINGS,
    add_groupings,
    prepare_cohort,
)

#: Endpoints the report analyses at the landmark. EFS is left out: at a landmark on or after the
#: day-30 assessment its cohort is the LFS cohort (the patients in CR, event-free after the
#: landmark; a patient not in CR had the event at day 0), and its events and times from the
#: landmark are LFS's, so it would repeat the LFS analysis (``tests/test_endpoints.py`` checks it).
LANDMARK_ENDPOINTS = ("os", "lfs")
#: Endpoints defined by the day-30 response (LFS: who is in CR; EFS: no CR is an event):
#: their landmark cannot precede the assessment.
NEEDS_RESPONSE = ("lfs", "efs")
#: Groupings that can be classified at a landmark: defined by CRS and ICANS only
#: (steroids and tocilizumab have no date in the data).
LANDMARK_GROUPINGS = TOXICITY_GROUPINGS


@dataclass(frozen=True)
class LandmarkHR:
    """Hazard ratio of one level against the grouping's first level."""

    key: str
    label: str
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None  # Wald
    coef: float | None
    se: float | None
    reason: str | None = None


@dataclass(frozen=True)
class LandmarkComparison:
    endpoint: str  # "os" | "lfs"
    grouping: str
    landmark_day: int
    n_before: int  # patients of the endpoint before the landmark
    n_event_before: int  # event (death / relapse or death) on or before the landmark
    n_censored_before: int  # follow-up ended on or before the landmark without event
    n_reclassified: int  # at the landmark, toxicity began later: counted as none
    survival: SurvivalComparison | None
    hazard_ratios: tuple[LandmarkHR, ...]
    reason: str | None = None

    @property
    def n(self) -> int:
        return 0 if self.survival is None else sum(level.n for level in self.survival.levels)


def _days(end: pd.Series, start: pd.Series) -> pd.Series:
    return (end - start).dt.days


#: The columns of a prepared cohort that :func:`analysis.registry.groups.prepare_cohort` and the
#: landmark cohort read: only these are copied to rebuild the groupings (the whole prepared
#: frame is ~0.5 GB at 10^6 patients). A column prepare_cohort starts reading fails loudly.
RECLASSIFY_COLUMNS = (
    "crs_grade",
    "crs_onset_day",
    "icans_grade",
    "icans_onset_day",
    "seizure",
    "cr_day30",
    "cr_day30_not_done",
    "mrd_negative_not_done",
    "mrd_negative",
    "bm_blasts_pct",
    "death_date",
    "last_followup_date",
    "infusion_date",
    "relapse_date",
    "cr_date",
    "steroids",
    "tocilizumab",
    "progression_date",  # the disease profiles' PFS (LBCL, MM)
)


def toxicity_at_landmark(df: pd.DataFrame, landmark_day: int) -> tuple[pd.DataFrame, pd.Series]:
    """The prepared cohort (the columns prepare_cohort reads, :data:`RECLASSIFY_COLUMNS`)
    with CRS/ICANS grades (and seizures) that began after the landmark set to none, and the
    groupings rebuilt; also which patients changed."""
    raw = df[[c for c in RECLASSIFY_COLUMNS if c in df.columns]].copy()
    late_crs = raw["crs_grade"].gt(0) & raw["crs_onset_day"].astype("Float64").gt(landmark_day).fillna(False)
    late_icans = raw["icans_grade"].gt(0) & raw["icans_onset_day"].astype("Float64").gt(landmark_day).fillna(False)
    late_crs, late_icans = late_crs.astype(bool), late_icans.astype(bool)
    raw.loc[late_crs, "crs_grade"] = 0
    raw.loc[late_crs, "crs_onset_day"] = pd.NA
    raw.loc[late_icans, "icans_grade"] = 0
    raw.loc[late_icans, "icans_onset_day"] = pd.NA
    if "seizure" in raw:
        raw.loc[late_icans, "seizure"] = False
    if "cr_day30" not in raw:  # a disease profile's cohort (LBCL, MM): the groupings alone
        add_groupings(raw)
        return raw, late_crs | late_icans
    return prepare_cohort(raw), late_crs | late_icans


def landmark_cohort(
    df: pd.DataFrame,
    endpoint: str,
    landmark_day: int,
    *,
    classification: tuple[pd.DataFrame, pd.Series] | None = None,
    columns=(),
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Patients at risk after the landmark: ``<endpoint>_months`` from the landmark,
    ``<endpoint>_event`` and the grouping columns (toxicity as known at the landmark); and
    the counts of who was left out.
    ``classification``: :func:`toxicity_at_landmark` of the same ``df`` and day, when already computed;
    ``columns``: other columns of ``df`` to carry (a model's baseline covariates; those absent are skipped)."""
    if endpoint not in ("os", "lfs", "efs", "pfs"):  # the endpoints whose landmark cohort is built below
        raise ValueError(f"unknown endpoint {endpoint!r}; expected 'os', 'lfs', 'efs' or 'pfs'")
    classified, late = classification if classification is not None else toxicity_at_landmark(df, landmark_day)
    died = classified["death_date"].notna()
    if endpoint == "os":
        rows = classified
        end = classified["death_date"].where(died, classified["last_followup_date"])
        event = died
    elif endpoint == "pfs":  # the disease profiles: progression or death from infusion, every patient
        rows = classified
        first = rows[["progression_date", "death_date"]].min(axis=1)
        event = first.notna()
        end = first.where(event, rows["last_followup_date"])
    elif endpoint == "lfs":
        rows = classified[classified["cr_day30"].astype(bool)]
        first = rows[["relapse_date", "death_date"]].min(axis=1)
        event = first.notna()
        end = first.where(event, rows["last_followup_date"])
    else:  # EFS: every patient; no CR at day 30 is an event on the infusion day (groups.EFS_NO_CR_DAY)
        rows = classified
        cr = rows["cr_day30"].astype(bool)
        first = rows[["relapse_date", "death_date"]].min(axis=1)
        event = first.notna() | ~cr
        end = first.where(first.notna(), rows["last_followup_date"])
        end = end.where(cr, rows["infusion_date"] + pd.Timedelta(days=EFS_NO_CR_DAY))
    days = _days(end, rows["infusion_date"])
    event = event.loc[rows.index].astype(bool)
    after = days > landmark_day
    counts = {
        "n_before": int(len(rows)),
        "n_event_before": int((~after & event).sum()),
        "n_censored_before": int((~after & ~event).sum()),
        "n_reclassified": int(late.loc[rows.index][after].sum()),  # among those at the landmark
    }
    # the grouping columns only: the analyses read nothing else (a whole-frame copy per endpoint
    # was ~0.3 GB at 10^6 patients)
    out = rows.loc[after, [g.column for g in GROUPINGS.values() if g.column in rows]]
    for column in columns:
        if column in df.columns and column not in out.columns:
            out[column] = df.loc[out.index, column]
    out[f"{endpoint}_months"] = (days[after] - landmark_day) / DAYS_PER_MONTH
    out[f"{endpoint}_event"] = event[after]
    return out, counts


def _hazard_ratios(data: pd.DataFrame, endpoint: str, grouping: str) -> tuple[LandmarkHR, ...]:
    """Univariable Cox (Efron) of the grouping's levels against its first level."""
    from analysis.estimators.cox import (  # the project's Newton-Raphson (R coxph's algorithm and precision)
        _fit_efron,
        wald_ratio,
    )

    g = GROUPINGS[grouping]
    reference, others = g.levels[0], g.levels[1:]
    keys = list(g.keys)
    level_codes = pd.Categorical(data[g.column], categories=keys).codes  # integers: no strings at 10^6 rows

    def in_level(key: str) -> np.ndarray:
        return level_codes == keys.index(key)

    months = data[f"{endpoint}_months"].astype(float)
    event = data[f"{endpoint}_event"].astype(bool)

    def none(reason):
        return tuple(LandmarkHR(lv.key, lv.label, None, None, None, None, None, None, reason) for lv in others)

    if not in_level(reference.key).any():
        return none(f"no patient in the reference group ({reference.label}) at the landmark")
    if not event.any():
        return none("no event after the landmark: hazard ratio not estimable")
    present = [lv for lv in others if in_level(lv.key).any()]
    if not present:
        return none("no patient in this group at the landmark: only one group")
    frame = pd.DataFrame({"months": months, "event": event.astype(float)})
    for lv in present:
        frame[lv.key] = in_level(lv.key).astype(float)
    coef, cov, _converged, problem, _monotone = _fit_efron(frame, [lv.key for lv in present])
    out = []
    for lv in others:
        if lv not in present:
            out.append(
                LandmarkHR(
                    lv.key, lv.label, None, None, None, None, None, None, "no patient in this group at the landmark"
                )
            )
            continue
        if coef is None:
            out.append(LandmarkHR(lv.key, lv.label, None, None, None, None, None, None, problem))
            continue
        i = present.index(lv)
        b, se = float(coef[i]), float(np.sqrt(cov[i, i]))
        wald = wald_ratio(b, se)
        if wald is None:
            out.append(LandmarkHR(lv.key, lv.label, None, None, None, None, None, None, "variance not estimable"))
            continue
        out.append(LandmarkHR(lv.key, lv.label, *wald, b, se, problem))
    return tuple(out)


def landmark_survival(
    df: pd.DataFrame,
    endpoint: str,
    grouping: str,
    landmark_day: int = OPTIONS["landmark_day"].default,
    *,
    cohort: tuple[pd.DataFrame, dict[str, int]] | None = None,
) -> LandmarkComparison:
    """OS or LFS by a toxicity grouping among patients alive and event-free after
    ``landmark_day`` days, time from the landmark (see the module docstring for who is
    included and how toxicity is classified). KM and log-rank as
    :func:`analysis.estimators.survival.compare_survival`; HR by univariable Cox (Efron).
    ``cohort``: :func:`landmark_cohort` of the same arguments, when already computed."""
    if grouping not in LANDMARK_GROUPINGS:
        raise ValueError(f"grouping {grouping!r} has no onset date; landmark groupings: {LANDMARK_GROUPINGS}")
    landmark_day = int(landmark_day)
    empty = dict(n_before=0, n_event_before=0, n_censored_before=0, n_reclassified=0)
    if landmark_day < 0:
        return LandmarkComparison(
            endpoint,
            grouping,
            landmark_day,
            **empty,
            survival=None,
            hazard_ratios=(),
            reason="landmark day is negative",
        )
    if endpoint in NEEDS_RESPONSE and landmark_day < RESPONSE_ASSESSMENT_DAY:
        return LandmarkComparison(
            endpoint,
            grouping,
            landmark_day,
            **empty,
            survival=None,
            hazard_ratios=(),
            reason=f"the landmark (day {landmark_day}) precedes the day-{RESPONSE_ASSESSMENT_DAY} response "
            "assessment that defines the patients in CR",
        )
    data, counts = cohort if cohort is not None else landmark_cohort(df, endpoint, landmark_day)
    if data.empty:
        return LandmarkComparison(
            endpoint,
            grouping,
            landmark_day,
            **counts,
            survival=None,
            hazard_ratios=(),
            reason=f"no patient alive and event-free after day {landmark_day}",
        )
    comparison = compare_survival(data, endpoint, grouping)
    return LandmarkComparison(
        endpoint,
        grouping,
        landmark_day,
        **counts,
        survival=comparison,
        hazard_ratios=_hazard_ratios(data, endpoint, grouping),
        reason=comparison.reason,
    )


def landmark_analyses(
    df: pd.DataFrame,
    endpoints,
    groupings,
    landmark_day: int = OPTIONS["landmark_day"].default,
    *,
    classification: tuple[pd.DataFrame, pd.Series] | None = None,
) -> dict[tuple[str, str], LandmarkComparison]:
    """:func:`landmark_survival` for every (endpoint, grouping), classifying the cohort at
    the landmark once and building each endpoint's landmark cohort once. ``classification``:
    :func:`toxicity_at_landmark` of the same ``df`` and day, when already computed."""
    classified = classification
    cohorts: dict[str, tuple[pd.DataFrame, dict[str, int]]] = {}
    out = {}
    for endpoint in endpoints:
        valid = landmark_day >= 0 and not (endpoint in NEEDS_RESPONSE and landmark_day < RESPONSE_ASSESSMENT_DAY)
        if valid and endpoint not in cohorts:
            if classified is None:
                classified = toxicity_at_landmark(df, int(landmark_day))
            cohorts[endpoint] = landmark_cohort(df, endpoint, int(landmark_day), classification=classified)
        for grouping in groupings:
            out[(endpoint, grouping)] = landmark_survival(
                df, endpoint, grouping, landmark_day, cohort=cohorts.get(endpoint)
            )
    return out


# ======================================================================================
# The multivariable landmark model
# ======================================================================================


@dataclass(frozen=True)
class LandmarkModel:
    """The multivariable Cox model (:class:`analysis.estimators.cox.ModelSpec`) fitted on the
    patients alive and event-free after a landmark, the exposure as known at the landmark
    and time from it: R ``coxph(Surv(months, event) ~ covariates + exposure)`` on the
    landmark subset (the counts as :class:`LandmarkComparison`'s)."""

    endpoint: str
    landmark_day: int
    n_before: int
    n_event_before: int
    n_censored_before: int
    n_reclassified: int
    cox: CoxResult | None  # None with a reason
    reason: str | None = None


def landmark_model(
    df: pd.DataFrame,
    endpoint: str,
    landmark_day: int,
    model,
    *,
    classification: tuple[pd.DataFrame, pd.Series] | None = None,
) -> LandmarkModel:
    """The study's multivariable model at a landmark (see :class:`LandmarkModel`); the
    exposure must be a toxicity grouping (:data:`LANDMARK_GROUPINGS`). ``classification``:
    :func:`toxicity_at_landmark` of the same ``df`` and day, when already computed. No
    proportional-hazards test (the report does not print one for it)."""
    from dataclasses import replace

    from analysis.estimators.cox import fit_cox, model_columns

    if model.exposure not in LANDMARK_GROUPINGS:
        raise ValueError(f"exposure {model.exposure!r} has no onset date; landmark groupings: {LANDMARK_GROUPINGS}")
    landmark_day = int(landmark_day)
    empty = dict(n_before=0, n_event_before=0, n_censored_before=0, n_reclassified=0)
    if landmark_day < 0:
        return LandmarkModel(endpoint, landmark_day, **empty, cox=None, reason="landmark day is negative")
    if endpoint == "lfs" and landmark_day < RESPONSE_ASSESSMENT_DAY:
        return LandmarkModel(
            endpoint,
            landmark_day,
            **empty,
            cox=None,
            reason=f"the landmark (day {landmark_day}) precedes the day-{RESPONSE_ASSESSMENT_DAY} "
            "response assessment that defines the patients in CR",
        )
    data, found = landmark_cohort(
        df, endpoint, landmark_day, columns=model_columns(model), classification=classification
    )
    counts: dict[str, Any] = dict(found)
    if data.empty:
        return LandmarkModel(
            endpoint,
            landmark_day,
            **counts,
            cox=None,
            reason=f"no patient alive and event-free after day {landmark_day}",
        )
    spec = replace(model, name=f"landmark day {landmark_day}")
    return LandmarkModel(endpoint, landmark_day, **counts, cox=fit_cox(data, endpoint, model=spec, ph_test=False))
