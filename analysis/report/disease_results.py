"""Every number of an LBCL or MM report (a disease profile other than B-ALL), computed once.

:func:`compute_disease_results` is the counterpart of
:func:`analysis.report.results.compute_results` for the profiles of
:data:`analysis.registry.diseases.DISEASES` with an ordered response scale; the
document ``report-disease.qmd`` (prose in ``sections/disease/``) and the JSON export
(:func:`disease_results_to_dict`, keys in ``docs/results.md``) read it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from analysis.estimators.comparisons import (
    CategoricalLevel,
    CategoryCount,
    Comparison,
    ContinuousLevel,
    compare_categorical,
    compare_continuous,
)
from analysis.estimators.competing import PROGRESSION_CAUSES, CompetingRisks, compare_competing
from analysis.estimators.cox import CoxResult, ModelSpec, fit_cox
from analysis.estimators.effects import (
    DetectableHazardRatio,
    UnivariableCox,
    detectable_hazard_ratio_for,
    univariable_cox,
)
from analysis.estimators.landmark import (
    LandmarkComparison,
    LandmarkModel,
    landmark_analyses,
    landmark_model,
    toxicity_at_landmark,
)
from analysis.estimators.ordinal import ResponderRates, ResponseDistribution, responder_rates, response_distribution
from analysis.estimators.quality import DataQuality, data_quality
from analysis.estimators.survival import FollowUp, SurvivalComparison, compare_survival, median_followup
from analysis.registry.concepts import OPTIONS
from analysis.registry.disease_groups import mrd_assessed, prepare_disease_cohort
from analysis.registry.diseases import Profile, covariate_columns, disease
from analysis.registry.groups import GROUPINGS
from analysis.report.cohort_flow import DiseaseFlow, disease_flow
from analysis.report.pvalues import PValueTable, collect_pvalues

#: The toxicity groupings of a disease report: any CRS, any ICANS (two levels), CRS and
#: ICANS grade bands and the CRS/ICANS severity groups (three ordered levels).
DISEASE_GROUPINGS = ("crs", "icans", "crs_grade", "icans_grade", "severity")
#: The two-level groupings (hazard ratios, differences in rates).
TWO_LEVEL = tuple(g for g in DISEASE_GROUPINGS if len(GROUPINGS[g].levels) == 2)
#: Table 1's groupings: any CRS, any ICANS and the severity group (the model's exposure).
TABLE1_GROUPINGS = ("crs", "icans", "severity")
#: The endpoints of the multivariable model and of the landmark analysis (from infusion, every patient).
MODEL_ENDPOINTS = ("pfs", "os")
#: The groupings compared at the landmark (toxicity with an onset day, as the B-ALL report).
LANDMARK_GROUPINGS = ("crs", "icans")
#: The exposure of the multivariable model: the CRS/ICANS severity group, against no CRS or ICANS.
EXPOSURE = "severity"


@dataclass(frozen=True)
class Table1Row:
    column: str
    label: str
    kind: str  # "continuous" or "count"
    n: int  # patients with a value
    median: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None  # "count": patients with the characteristic


@dataclass(frozen=True)
class DiseaseResults:
    disease: str
    cutoff: date
    is_synthetic: bool
    counts: dict[str, int]
    followup: FollowUp
    table1: tuple[Table1Row, ...]
    distributions: dict[tuple[str, str], ResponseDistribution]  # (assessment, grouping or "all")
    rates: dict[tuple[str, str, str], ResponderRates]  # (responder, assessment, grouping or "all")
    survival: dict[tuple[str, str], SurvivalComparison]  # (endpoint, grouping or "all")
    hazard_ratios: dict[tuple[str, str], UnivariableCox]  # (endpoint, two-level grouping)
    competing: dict[str, CompetingRisks]  # grouping or "all"
    not_collected: tuple[str, ...] = ()
    #: responder definitions with MRD (MM: MRD-negative ≥CR) whose rate is not reported because
    #: no patient at their response levels had an MRD result
    mrd_not_assessed: tuple[str, ...] = ()
    data_quality: DataQuality | None = None
    #: Table 1 by toxicity group: (column, grouping) -> the characteristic's comparison (the
    #: count rows compare the row's flag: stage III–IV, R-ISS III)
    table1_by: dict[tuple[str, str], Comparison] = field(default_factory=dict)
    #: the course after infusion by toxicity group (corticosteroids, tocilizumab): the counts of
    #: each group; not tested where a group cannot have the treatment (Variable.tested_by)
    course_by: dict[tuple[str, str], Comparison] = field(default_factory=dict)
    #: the multivariable Cox model (the profile's baseline covariates with a value in the data and
    #: the severity group) per endpoint, and the covariates left out for having no value
    model: ModelSpec | None = None
    covariates_unavailable: tuple[str, ...] = ()
    #: whether the covariates are those the study file's ``analysis: covariates`` names (False:
    #: the profile's own, :attr:`Profile.covariates`)
    covariates_planned: bool = False
    cox: dict[str, CoxResult] = field(default_factory=dict)
    #: the landmark analysis: (endpoint, grouping) at ``landmark_day``, and the multivariable
    #: model refitted at the landmark ((endpoint, day))
    landmark_day: int | None = None
    landmark: dict[tuple[str, str], LandmarkComparison] = field(default_factory=dict)
    landmark_models: dict[tuple[str, int], LandmarkModel] = field(default_factory=dict)
    #: every p-value computed, by family, with Holm and BH adjustments (filled in last)
    pvalues: PValueTable | None = None
    #: the cohort flow (STROBE 13a–c): response, outcome of the responders, the patients of the
    #: model and of the landmark analysis
    flow: DiseaseFlow | None = None
    #: onset day of CRS and of ICANS among the patients with it (median, range)
    onset: tuple[Table1Row, ...] = ()
    #: (endpoint, two-level grouping) -> Schoenfeld's smallest detectable HR (the study size:
    #: what the events allow to detect, a property of the design, not a power of the result)
    detectable_hr: dict[tuple[str, str], DetectableHazardRatio] = field(default_factory=dict)
    alpha: float = OPTIONS["alpha"].default

    def collected(self, column: str) -> bool:
        """Whether the registry collects an (optional) contract column."""
        return column not in self.not_collected

    @property
    def profile(self) -> Profile:
        return disease(self.disease)


def _table1(df: pd.DataFrame, profile: Profile, not_collected: tuple[str, ...]) -> tuple[Table1Row, ...]:
    rows = []
    for column, label, kind in profile.table1:
        if column in not_collected or column not in df:
            continue
        values = df[column]
        known = values.dropna()
        if kind == "continuous":
            v = known.astype(float)
            rows.append(
                Table1Row(
                    column,
                    label,
                    "continuous",
                    int(v.size),
                    *((float(v.median()), float(v.min()), float(v.max())) if v.size else (None, None, None)),
                )
            )
            continue
        if kind == "stage34":
            flag = known.astype(int) >= 3
        elif kind == "riss3":
            flag = known.astype(int) == 3
        else:
            flag = known.astype(bool)
        rows.append(Table1Row(column, label, "count", int(known.size), count=int(flag.sum())))
    return tuple(rows)


def _table1_values(df: pd.DataFrame, column: str, kind: str) -> pd.Series:
    """A Table 1 row's values: the number, or the row's yes/no flag (missing stays missing)."""
    values = df[column]
    if kind == "continuous":
        return pd.to_numeric(values, errors="coerce").astype(float)
    known = values.notna()
    if kind == "stage34":
        flag = values.astype("Float64") >= 3
    elif kind == "riss3":
        flag = values.astype("Float64") == 3
    else:
        flag = values.astype("boolean")
    return pd.Series(pd.array(flag.to_numpy(dtype=object), dtype="boolean"), index=df.index).where(known, pd.NA)


def _table1_by(
    df: pd.DataFrame, profile: Profile, not_collected: tuple[str, ...], rows: tuple[tuple[str, str, str], ...] = ()
) -> dict[tuple[str, str], Comparison]:
    """Each baseline characteristic of Table 1 (or each of ``rows``: the course after infusion)
    by each of :data:`TABLE1_GROUPINGS`: median (range) and a rank test, or n (%) of the row's
    flag and chi-square/Fisher (the B-ALL Table 1's tests)."""
    out = {}
    for column, _label, kind in rows or profile.baseline_table1:
        if column in not_collected or column not in df:
            continue
        frame = pd.DataFrame({column: _table1_values(df, column, kind)}, index=df.index)
        for g in TABLE1_GROUPINGS:
            frame[GROUPINGS[g].column] = df[GROUPINGS[g].column]
            compare = compare_continuous if kind == "continuous" else compare_categorical
            out[(column, g)] = compare(frame, column, g)
    return out


def table1_overall(results: DiseaseResults) -> dict[str, ContinuousLevel | CategoricalLevel]:
    """Table 1's "All patients" column from :attr:`DiseaseResults.table1` (for the table builder)."""
    out: dict[str, ContinuousLevel | CategoricalLevel] = {}
    for row in results.table1:
        if row.kind == "continuous":
            out[row.column] = ContinuousLevel("all", "All patients", row.n, row.median, row.min, row.max)
        else:
            count, n = row.count or 0, row.n
            yes, no = (100.0 * count / n, 100.0 * (n - count) / n) if n else (None, None)
            out[row.column] = CategoricalLevel(
                "all", "All patients", n, (CategoryCount("yes", count, yes), CategoryCount("no", n - count, no))
            )
    return out


def disease_model(
    df: pd.DataFrame,
    profile: Profile,
    covariates: Sequence[str] | None = None,
    covariate_cutoffs: Mapping[str, float] | None = None,
) -> tuple[ModelSpec, tuple[str, ...]]:
    """The multivariable model of a profile: the covariates (the study file's ``analysis:
    covariates``; None: the profile's own, :attr:`Profile.covariates`) that have a value in the
    data, at the cut-offs (the study file's ``analysis: covariate_cutoffs``; None: the
    profile's own), and the severity group; and the covariates left out for having none (as
    :func:`analysis.report.results.plan_model`). A name outside the profile's contract columns
    a model can adjust for is a ValueError listing them."""
    wanted = tuple(profile.covariates if covariates is None else covariates)
    valid = covariate_columns(profile.key)
    unknown = [c for c in wanted if c not in valid]
    if unknown:
        raise ValueError(
            f"unknown covariate {', '.join(map(repr, unknown))} for disease: {profile.key}; "
            f"the valid ones are: {', '.join(valid)}"
        )
    present = tuple(c for c in wanted if c in df.columns and df[c].notna().any())
    absent = tuple(c for c in wanted if c not in present)
    given = profile.covariate_cutoffs if covariate_cutoffs is None else tuple(covariate_cutoffs.items())
    cutoffs = tuple((c, float(v)) for c, v in given if c in present)
    return ModelSpec(exposure=EXPOSURE, covariates=present, cutoffs=cutoffs, name="baseline"), absent


def _onsets(df: pd.DataFrame) -> tuple[Table1Row, ...]:
    """The onset day of CRS and of ICANS, median (range) among the patients with it."""
    rows = []
    for column, grade, label in (
        ("crs_onset_day", "crs_grade", "CRS onset, day"),
        ("icans_onset_day", "icans_grade", "ICANS onset, day"),
    ):
        v = pd.to_numeric(df[column].where(df[grade].astype("Float64").gt(0)), errors="coerce").dropna().astype(float)
        summary = (float(v.median()), float(v.min()), float(v.max())) if v.size else (None, None, None)
        rows.append(Table1Row(column, label, "continuous", int(v.size), *summary))
    return tuple(rows)


def _counts(df: pd.DataFrame, profile: Profile) -> dict[str, int]:
    assert profile.scale is not None
    counts = {
        "n_patients": int(len(df)),
        "n_centers": int(df["center"].nunique()),
        "n_crs": int(df["crs_any"].sum()),
        "n_crs_severe": int(df["crs_severe"].sum()),
        "n_icans": int(df["icans_any"].sum()),
        "n_icans_severe": int(df["icans_severe"].sum()),
        "n_concurrent": int((df["crs_any"] & df["icans_any"]).sum()),
        "n_tocilizumab": int(df["tocilizumab"].sum()),
        "n_steroids": int(df["steroids"].sum()),
        "n_deaths": int(df["os_event"].sum()),
        "n_progressions": int(df["progression_status"].eq(1).sum()),
        "n_nrm": int(df["progression_status"].eq(2).sum()),
        "n_responders": int(df["dor_months"].notna().sum()),
        "first_infusion_year": int(df["infusion_date"].dt.year.min()),
        "last_infusion_year": int(df["infusion_date"].dt.year.max()),
    }
    for column in ("parkinsonism", "cranial_nerve_palsy"):
        if column in df:
            counts[f"n_{column}"] = int(df[column].fillna(False).astype(bool).sum())
    if "mrd_negative" in df:
        in_cr = df["best_response"].isin(["sCR", "CR"])
        done = df["mrd_negative"].notna()
        counts["n_mrd_assessed"] = int((in_cr & done).sum())
        counts["n_mrd_negative"] = int((in_cr & df["mrd_negative"].fillna(False).astype(bool)).sum())
    return counts


def disease_plan(analysis) -> dict:
    """The options of a study file's analysis plan (``settings.analysis``) the disease
    results read, as arguments of :func:`compute_disease_results`: ``alpha``, ``landmark_day``
    and, when the study file names them, ``covariates`` and ``covariate_cutoffs`` (not named:
    the profile's own, not B-ALL's defaults). ``toxicity_grading`` is read by the narrative; the
    study file refuses the options no disease report reads (``Option.diseases``)."""
    plan = {"alpha": analysis.alpha, "landmark_day": analysis.landmark_day}
    if "covariates" in analysis.model_fields_set:
        plan["covariates"] = tuple(analysis.covariates)
    if "covariate_cutoffs" in analysis.model_fields_set:
        plan["covariate_cutoffs"] = dict(analysis.covariate_cutoffs)
    return plan


def compute_disease_results(
    study,
    alpha: float | None = None,
    landmark_day: int | None = None,
    covariates: Sequence[str] | None = None,
    covariate_cutoffs: Mapping[str, float] | None = None,
) -> DiseaseResults:
    """Every statistic of the disease report for a loaded study (``study.disease`` not B-ALL);
    ``alpha``, ``landmark_day``, ``covariates`` and ``covariate_cutoffs``: the study file's
    analysis plan (:func:`disease_plan`; default: the registry's,
    :data:`analysis.registry.concepts.OPTIONS`, and the profile's own covariates and cut-offs)."""
    alpha = float(OPTIONS["alpha"].default if alpha is None else alpha)
    day = int(OPTIONS["landmark_day"].default if landmark_day is None else landmark_day)
    profile = disease(study.disease)
    df = prepare_disease_cohort(study.cohort, profile)
    not_collected = tuple(getattr(study, "not_collected", ()))
    groupings: tuple[str | None, ...] = (None, *DISEASE_GROUPINGS)

    def key(g: str | None) -> str:
        return "all" if g is None else g

    assessments = [a for a in profile.assessments if a.column not in not_collected]
    distributions = {
        (a.key, key(g)): response_distribution(df, profile, a.key, g) for a in assessments for g in groupings
    }
    rates = {}
    mrd_not_assessed = []
    for r in profile.responders:
        if r.mrd_column is not None and r.mrd_column in not_collected:
            continue
        for a in assessments:
            if r.mrd_column is not None and mrd_assessed(df, profile, r.key, a.key) == 0:
                # no MRD result at the responder levels: the rate would be 0% of the others
                mrd_not_assessed.append(r.key)
                continue
            for g in groupings:
                rates[(r.key, a.key, key(g))] = responder_rates(df, r.key, a.key, g)
    survival = {(e.key, key(g)): compare_survival(df, e.key, g) for e in profile.endpoints for g in groupings}
    hazard_ratios = {(e.key, g): univariable_cox(df, e.key, g) for e in profile.endpoints for g in TWO_LEVEL}
    frame = pd.DataFrame(
        {"months": df["pfs_months"].astype(float).to_numpy(), "status": df["progression_status"].to_numpy()},
        index=df.index,
    )
    competing = {
        key(g): compare_competing(df, g, data=frame, causes=PROGRESSION_CAUSES, population="All patients")
        for g in groupings
    }
    model, unavailable = disease_model(df, profile, covariates, covariate_cutoffs)
    cox = {e: fit_cox(df, e, model=model) for e in MODEL_ENDPOINTS}
    landmark = landmark_analyses(df, MODEL_ENDPOINTS, LANDMARK_GROUPINGS, day)
    classified = toxicity_at_landmark(df, day) if day >= 0 else None
    landmark_models = {(e, day): landmark_model(df, e, day, model, classification=classified) for e in MODEL_ENDPOINTS}
    flow = disease_flow(
        df,
        profile,
        model_n=cox["pfs"].n,
        model_missing=cox["pfs"].n_missing,
        landmark=landmark.get(("pfs", LANDMARK_GROUPINGS[0])),
    )
    results = DiseaseResults(
        disease=profile.key,
        cutoff=pd.Timestamp(study.cutoff).date(),
        is_synthetic=bool(study.is_synthetic),
        counts=_counts(df, profile),
        followup=median_followup(df),
        table1=_table1(df, profile, not_collected),
        distributions=distributions,
        rates=rates,
        survival=survival,
        hazard_ratios=hazard_ratios,
        competing=competing,
        not_collected=not_collected,
        mrd_not_assessed=tuple(dict.fromkeys(mrd_not_assessed)),
        data_quality=data_quality(
            study.cohort,
            study.cutoff,
            tuple(set(not_collected) | _B_ALL_ONLY),
            tuple((o.rows, o.patients) for o in study.other_sheets if o.same_table),
        ),
        table1_by=_table1_by(df, profile, not_collected),
        course_by=_table1_by(df, profile, not_collected, profile.course_table),
        model=model,
        covariates_unavailable=unavailable,
        covariates_planned=covariates is not None,
        cox=cox,
        landmark_day=day,
        landmark=landmark,
        landmark_models=landmark_models,
        alpha=alpha,
        flow=flow,
        onset=_onsets(df),
        detectable_hr={
            (e, g): detectable_hazard_ratio_for(df, e, g, alpha) for e in MODEL_ENDPOINTS for g in TWO_LEVEL
        },
    )
    return replace(results, pvalues=disease_pvalues(results))


#: The families of the disease report's p-values: results field -> family of
#: :data:`analysis.report.pvalues.FAMILY_TITLES` (fields without a test are not listed).
DISEASE_FAMILIES = {
    "distributions": "efficacy_by_toxicity",
    "rates": "efficacy_by_toxicity",
    "survival": "efficacy_by_toxicity",
    "hazard_ratios": "efficacy_by_toxicity",
    "competing": "progression",
    "table1_by": "baseline",
    "course_by": "course",
    "cox": "multivariable",
    "landmark": "landmark",
    "landmark_models": "landmark_models",
}


def pvalue_names(profile: Profile) -> dict[str, str]:
    """The words of the profile's keys in the p-value table's labels: 'PFS', 'ORR', 'day 30'..."""
    from analysis.registry.concepts import DISEASE_VARIABLES

    names = {e.key: e.abbreviation for e in profile.endpoints}
    names.update({r.key: r.abbreviation for r in profile.responders})
    names.update({a.key: (a.label if a.key == "best" else f"{a.label} response").lower() for a in profile.assessments})
    names.update({c: label for c, label, _ in profile.table1})
    names.update({k: v.name for k, v in DISEASE_VARIABLES.items() if k not in names})
    names.update({"progression": "Progression", "nrm": "Non-relapse mortality"})
    return names


def disease_pvalues(results: DiseaseResults) -> PValueTable:
    """Every p-value of a disease report's results, by family (:data:`DISEASE_FAMILIES`), with
    Holm and Benjamini–Hochberg adjustments within each family, by the walk of
    :func:`analysis.report.pvalues.collect_pvalues`. A comparison the registry does not collect
    (MRD-negative ≥CR without MRD) is not in the results, so in no family."""
    return collect_pvalues(results, results.alpha, DISEASE_FAMILIES, pvalue_names(results.profile))


#: Columns of the B-ALL contract the data-quality count skips for another profile.
_B_ALL_ONLY = frozenset({"disease_status", "n_relapses", "cr_date", "cr_day30", "relapse_date", "hsct_date"})

# --------------------------------------------------------------------------- JSON


def _plain(value):
    """JSON-ready values: dataclasses as dicts (step curves and the digests that pair identical
    tests, ``split``, left out), numpy scalars as numbers."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name not in ("curve", "split")}
    if isinstance(value, dict):
        return {("|".join(map(str, k)) if isinstance(k, tuple) else str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def disease_results_to_dict(results: DiseaseResults) -> dict:
    """The export: every field of :class:`DiseaseResults`, tuple keys joined with ``|``
    ("orr|best|crs", "pfs|30"), step curves left out (no patient-level data)."""
    out = _plain(results)
    out["profile"] = {
        "key": results.disease,
        "name": results.profile.name,
        "scale": list(results.profile.scale.keys) if results.profile.scale else None,
    }
    return out


def disease_results_to_json(results: DiseaseResults, indent: int | None = 2) -> str:
    return json.dumps(disease_results_to_dict(results), indent=indent, allow_nan=False, ensure_ascii=False)
