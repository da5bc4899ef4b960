"""The results object: every number of the report, computed once.

:func:`compute_results` runs every statistic of the manuscript on a loaded
study and returns a :class:`Results`. Tables, figures and inline prose are all
built from it, so they cannot disagree. Its machine-readable export
(``python -m analysis results``) is :mod:`analysis.report.export`, which reads it (this module
does not import its exporter),
with the keys described in ``docs/results.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from analysis.estimators.absolute import SurvivalAt, SurvivalDifferences, overall_survival_at, survival_differences
from analysis.estimators.centers import CenterSupplement, center_supplement
from analysis.estimators.comparisons import (
    CategoricalLevel,
    Comparison,
    ContinuousLevel,
    ResponseComparison,
    TestResult,
    compare_categorical,
    compare_continuous,
    compare_response,
    compare_subset,
    describe,
    rank_test,
)
from analysis.estimators.cox import PUBLICATION_MODEL, CoxResult, ModelSpec, fit_cox, model_columns
from analysis.estimators.effects import (
    DetectableHazardRatio,
    ResponseEffect,
    UnivariableCox,
    detectable_hazard_ratio_for,
    response_effect,
    univariable_cox,
)
from analysis.estimators.functional import FunctionalForm, functional_form, is_continuous
from analysis.estimators.kinetics import (
    AucCounts,
    KineticsComparison,
    auc_counts,
    compare_kinetics,
    compare_peak,
    kinetics_profile,
    kinetics_samples,
    patient_kinetics,
    visit_samples,
    with_groupings,
)
from analysis.estimators.multiplicity import EValue, e_value_hr, rare_outcome
from analysis.estimators.ph_sensitivity import PHSensitivity, ph_sensitivity
from analysis.estimators.quality import DataQuality, data_quality
from analysis.estimators.survival import (
    FollowUp,
    SurvivalComparison,
    compare_survival,
    endpoint_frame,
    median_followup,
)
from analysis.registry.concepts import (
    CONTINUOUS,
    ENDPOINTS,
    KINETIC_METRICS,
    NO_KINETICS_REASON,
    OPTIONS,
    RESPONSES,
    VARIABLES,
)
from analysis.registry.concepts import visit_windows as concept_visit_windows
from analysis.registry.groups import GROUPINGS, KINETICS_TABLE_GROUPINGS, TABLE1_GROUPINGS, prepare_cohort
from analysis.report.pvalues import PValueTable, collect_pvalues


@dataclass(frozen=True)
class Distribution:
    """Median and range of one variable over the patients it applies to."""

    n: int
    median: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True)
class Results:
    cutoff: date
    is_synthetic: bool
    counts: dict[str, int]
    missing: dict[str, int]
    descriptives: dict[str, Distribution]
    followup: FollowUp
    table1: dict[tuple[str, str], Comparison]
    #: Table 1's "All patients" column: each characteristic over the whole cohort
    table1_overall: dict[str, ContinuousLevel | CategoricalLevel]
    response: dict[tuple[str, str], ResponseComparison]
    survival: dict[tuple[str, str], SurvivalComparison]  # (endpoint, grouping or "all")
    cox: dict[str, CoxResult]
    kinetics_peak: dict[str, Comparison] = field(default_factory=dict)
    #: per-patient Cmax/Tmax/AUC with grouping level keys, without patient identifiers
    kinetics_patients: pd.DataFrame | None = None
    kinetics_profiles: dict[str, pd.DataFrame] = field(default_factory=dict)
    kinetics_reason: str | None = None
    #: characteristic -> the patients with kinetics data against the others (how the kinetics
    #: subset was selected, STROBE 12c/14a); empty without kinetics data
    kinetics_selection: dict[str, Comparison] = field(default_factory=dict)
    #: Peak IL-6 by marrow blasts >= 20% vs < 20% (the publication's Discussion; the demo only)
    il6_by_blasts: TestResult | None = None
    #: (response, grouping) -> difference in proportions and odds ratio, two-level groupings only
    response_effects: dict[tuple[str, str], ResponseEffect] = field(default_factory=dict)
    #: (endpoint, grouping) -> univariable Cox HR of each level against the reference level
    survival_hr: dict[tuple[str, str], UnivariableCox] = field(default_factory=dict)
    #: (endpoint, grouping) -> Kaplan–Meier survival of each level at the plan's
    #: ``survival_times_months`` and its difference from the reference level (STROBE 16c)
    survival_differences: dict[tuple[str, str], SurvivalDifferences] = field(default_factory=dict)
    #: endpoint -> Kaplan–Meier survival of all its patients at each of the plan's
    #: ``survival_times_months`` (STROBE 16c: the Results quote each endpoint at each time)
    survival_at_times: dict[str, tuple[SurvivalAt, ...]] = field(default_factory=dict)
    #: (endpoint, covariate) -> each continuous covariate of the plan's model entered per unit
    #: (one at a cut-off in the plan: continuously instead) and the spline test of its linearity
    #: (STROBE 11)
    functional_forms: dict[tuple[str, str], FunctionalForm] = field(default_factory=dict)
    #: (endpoint, grouping) -> Schoenfeld's smallest detectable HR, two-level groupings only
    detectable_hr: dict[tuple[str, str], DetectableHazardRatio] = field(default_factory=dict)
    #: Competing risks among patients in CR ("all" and each grouping) and the landmark
    #: analysis ((endpoint, grouping) at ``landmark_day``): see the block at the end.
    competing: dict[str, CompetingRisks] = field(default_factory=dict)
    landmark: dict[tuple[str, str], LandmarkComparison] = field(default_factory=dict)
    landmark_day: int | None = None
    cohort_flow: CohortFlow | None = None
    #: per-patient months of the swimmer plot (no identifier, no date)
    swimmer: Timelines | None = None
    #: per-center counts ("Center 1..k", never names) and the center-stratified Cox models
    centers: CenterSupplement | None = None
    #: (metric, grouping) -> Cmax, Tmax or AUC(0-28) by a grouping of the kinetics table, with
    #: each level's Hodges–Lehmann ratio or shift against the reference (Cmax: the peak's test)
    kinetics_metrics: dict[tuple[str, str], KineticsComparison] = field(default_factory=dict)
    #: how the AUC(0-28) of the patients with samples was obtained (None without samples)
    kinetics_auc: AucCounts | None = None
    #: the visit windows of the kinetics profiles: ((nominal day, half-width), ...)
    visit_windows: tuple[tuple[int, int], ...] = ()
    #: E-values of the hazard ratios: ("cox", endpoint, term) for Table 2 and
    #: ("survival", endpoint, grouping, level) for the univariable models
    e_values: dict[tuple[str, ...], EValue] = field(default_factory=dict)
    #: every p-value of the report, once, by family, with Holm and BH adjustments
    #: (:func:`analysis.report.pvalues.collect_pvalues`, filled in last)
    pvalues: PValueTable | None = None
    #: The analysis plan (the study file's ``analysis:`` options, every one resolved:
    #: :data:`analysis.registry.concepts.OPTIONS`) and the multivariable model built from it.
    plan: dict[str, Any] = field(default_factory=dict)
    model: ModelSpec | None = None
    #: covariates of the plan left out because no patient has a value
    covariates_unavailable: tuple[str, ...] = ()
    #: the publication's model (adjusting for corticosteroids and tocilizumab), for the
    #: bundled demo only: a labelled sensitivity analysis beside Table 2
    cox_publication: dict[str, CoxResult] = field(default_factory=dict)
    #: endpoint -> the study's model refitted with the covariates whose proportional-hazards
    #: test is below alpha relaxed (a yes/no one as a stratum, a numeric one with x * log(t)):
    #: only the endpoints with such a covariate (review 29, finding 13)
    ph_sensitivity: dict[str, PHSensitivity] = field(default_factory=dict)
    #: CRS/ICANS as time-dependent exposures: onset days, (endpoint, grouping) -> Mantel–Byar,
    #: time-dependent Cox and Simon–Makuch curves, endpoint -> the multivariable model with
    #: its exposure time-dependent; (endpoint, day) -> the multivariable model at a landmark
    onset_days: dict[str, OnsetSummary] = field(default_factory=dict)
    time_dependent: dict[tuple[str, str], TimeDependentComparison] = field(default_factory=dict)
    time_dependent_cox: dict[str, CoxResult] = field(default_factory=dict)
    landmark_models: dict[tuple[str, int], LandmarkModel] = field(default_factory=dict)
    #: Trend across ordered grades ((response or endpoint, grouping) for the groupings of
    #: groups.TREND_SCORES), onset of CRS/ICANS with death competing, HSCT after CAR-T:
    #: see the block at the end.
    response_trend: dict[tuple[str, str], TestResult] = field(default_factory=dict)
    survival_trend: dict[tuple[str, str], CoxTrend] = field(default_factory=dict)
    onset: dict[str, OnsetIncidence] = field(default_factory=dict)
    transplant: TransplantAnalysis | None = None
    #: optional contract columns the registry does not collect: what needs them is left out
    not_collected: tuple[str, ...] = ()
    #: the contract's plausibility warnings, counted, and the patients lost to follow-up
    data_quality: DataQuality | None = None

    def collected(self, column: str) -> bool:
        """Whether the registry collects an (optional) contract column."""
        return column not in self.not_collected

    def kinetics_same_split(self, grouping: str, earlier) -> str | None:
        """The first of the ``earlier`` groupings that divides the patients with kinetics into
        the same groups as ``grouping`` (level names aside), or None: its comparison of the
        peaks is the same one (in the demo, every patient with kinetics and ICANS also had
        CRS, so "concurrent CRS and ICANS versus others" is "ICANS versus no ICANS")."""
        if self.kinetics_patients is None or self.kinetics_patients.empty:
            return None
        for other in earlier:
            if self.kinetics_level_pairs(grouping, other):
                return other
        return None

    def kinetics_level_pairs(self, grouping: str, other: str) -> list[tuple[str, str]]:
        """``[(level of grouping, level of other), ...]`` holding the same patients with
        kinetics, when the two groupings divide them alike; [] when they do not."""
        if self.kinetics_patients is None or self.kinetics_patients.empty:
            return []
        mine = self.kinetics_patients[GROUPINGS[grouping].column].astype(str)
        theirs = self.kinetics_patients[GROUPINGS[other].column].astype(str)
        # the non-empty cells of their cross-table (a set of pairs: pandas' crosstab cost
        # 40 ms a call, and the p-value table asks about every kinetics row)
        cells = set(zip(mine.tolist(), theirs.tolist()))
        partner = dict(cells)
        # one non-empty cell in every row and every column: the same partition
        if len(partner) != len(cells) or len(set(partner.values())) != len(cells):
            return []
        return [(a, partner[a]) for a in sorted(partner)]

    def kinetics_values(self, grouping: str) -> pd.DataFrame:
        """Per-patient peak copies with the patient's level key for a grouping (no identifiers)."""
        if self.kinetics_patients is None:
            return pd.DataFrame({"level": pd.Series(dtype=str), "peak_copies": pd.Series(dtype=float)})
        column = GROUPINGS[grouping].column
        return self.kinetics_patients.assign(level=self.kinetics_patients[column])[["level", "peak_copies"]]


def _distribution(values: pd.Series) -> Distribution:
    values = values.dropna()
    if values.empty:
        return Distribution(0, None, None, None)
    return Distribution(int(values.size), float(values.median()), float(values.min()), float(values.max()))


def _descriptives(df: pd.DataFrame) -> dict[str, Distribution]:
    crs, icans = df["crs_any"], df["icans_any"]
    return {
        "age": _distribution(df["age"]),
        "cart_dose_1e6_per_kg": _distribution(df["cart_dose_1e6_per_kg"]),
        "crs_onset_day": _distribution(df["crs_onset_day"].where(crs).astype("float")),
        "crs_severe_onset_day": _distribution(df["crs_onset_day"].where(df["crs_severe"]).astype("float")),
        "icans_onset_day": _distribution(df["icans_onset_day"].where(icans).astype("float")),
        "icans_severe_onset_day": _distribution(df["icans_onset_day"].where(df["icans_severe"]).astype("float")),
        "dex_equiv_cum_mg": _distribution(df["dex_equiv_cum_mg"].where(df["steroids"].astype(bool))),
        "tocilizumab_cum_mg": _distribution(df["tocilizumab_cum_mg"].where(df["tocilizumab"].astype(bool))),
    }


def _counts(df: pd.DataFrame, kinetics: pd.DataFrame | None) -> dict[str, int]:
    return {
        "n_patients": int(len(df)),
        "n_centers": int(df["center"].nunique()),
        "n_male": int(df["sex"].eq("M").sum()),
        "n_female": int(df["sex"].eq("F").sum()),
        "n_cr": int(df["cr_day30"].sum()),
        "n_response_evaluable": int(df["response_evaluable"].sum()),
        "n_response_not_evaluable": int((~df["response_evaluable"]).sum()),
        "n_mrd_assessed": int(df["mrd_assessed"].sum()),
        "n_mrd_not_assessed": int(df["mrd_not_assessed"].sum()),
        "n_mrd_negative_cr": int(df["mrd_negative_cr"].fillna(False).sum()),
        "n_crs": int(df["crs_any"].sum()),
        "n_crs_severe": int(df["crs_severe"].sum()),
        "n_icans": int(df["icans_any"].sum()),
        "n_icans_severe": int(df["icans_severe"].sum()),
        "n_concurrent": int(df["concurrent"].sum()),
        "n_steroids": int(df["steroids"].sum()),
        "n_tocilizumab": int(df["tocilizumab"].sum()),
        "n_deaths": int(df["os_event"].sum()),
        "n_lfs_events": int(df["lfs_event"].eq(True).sum()),
        "n_kinetics_patients": 0 if kinetics is None else int(kinetics["patient_id"].nunique()),
        "n_kinetics_samples": 0 if kinetics is None else int(len(kinetics)),
        "first_infusion_year": int(df["infusion_date"].dt.year.min()),
        "last_infusion_year": int(df["infusion_date"].dt.year.max()),
        # months, never days (the setting of Methods and the abstract: STROBE 5)
        "first_infusion_month": df["infusion_date"].min().strftime("%Y-%m"),
        "last_infusion_month": df["infusion_date"].max().strftime("%Y-%m"),
    }


def _missing(df: pd.DataFrame, not_collected: tuple[str, ...] = ()) -> dict[str, int]:
    """Missing values of the optional measurements, among the patients they apply to
    (a column the registry does not collect is not missing: it is left out)."""
    missing = {
        "il6_peak_pg_ml": int(df["il6_peak_pg_ml"].isna().sum()),
        "ferritin_peak_ng_ml": int(df["ferritin_peak_ng_ml"].isna().sum()),
        "dex_equiv_cum_mg": int(df["dex_equiv_cum_mg"].isna()[df["steroids"].astype(bool)].sum()),
        "tocilizumab_cum_mg": int(df["tocilizumab_cum_mg"].isna()[df["tocilizumab"].astype(bool)].sum()),
    }
    return {column: n for column, n in missing.items() if column not in not_collected}


def resolve_plan(options: dict[str, Any]) -> dict[str, Any]:
    """Every option of the analysis plan, checked as a study file's ``analysis:`` section
    (:class:`analysis.inputs.studyfile.AnalysisOptions`): a name outside the registry's is an
    error; ``None`` means the default, except for an option that ``null`` switches off
    (``sensitivity_landmark_day``)."""
    from typing import get_args

    from analysis.inputs.studyfile import AnalysisOptions

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown analysis option {', '.join(unknown)}; the options are: {', '.join(OPTIONS)}")
    given = {
        key: value for key, value in options.items() if value is not None or type(None) in get_args(OPTIONS[key].kind)
    }
    return AnalysisOptions(**given).model_dump()


def per_units(column: str) -> float:
    """The units a continuous covariate's hazard ratio is given per in the functional-form
    analysis: 10 for a percentage (marrow blasts: per 10 percentage points), else 1."""
    from analysis.registry.contract import unit_of

    return 10.0 if unit_of(column) == "%" else 1.0


def plan_model(df: pd.DataFrame, plan: dict[str, Any]) -> tuple[ModelSpec, tuple[str, ...]]:
    """The study's multivariable model (its name "baseline"): the plan's exposure and the
    covariates that have a value in the data; and the covariates left out for having none."""
    present = [c for c in plan["covariates"] if c in df.columns and df[c].notna().any()]
    absent = tuple(c for c in plan["covariates"] if c not in present)
    cutoffs = tuple((c, float(v)) for c, v in plan["covariate_cutoffs"].items() if c in present)
    return ModelSpec(exposure=plan["exposure"], covariates=tuple(present), cutoffs=cutoffs, name="baseline"), absent


def compute_results(study, **options) -> Results:
    """Compute every statistic of the report for a loaded :class:`analysis.inputs.loading.Study`.

    ``options``: the analysis plan, as the study file's ``analysis:`` section names it
    (``compute_results(data, **settings.analysis.model_dump())``; ``alpha=``,
    ``landmark_day=``, ``covariates=``...); an option not given takes its default
    (:data:`analysis.registry.concepts.OPTIONS`)."""
    plan = resolve_plan(options)
    alpha, landmark_day = plan["alpha"], plan["landmark_day"]
    df = prepare_cohort(study.cohort)
    kinetics = study.kinetics
    not_collected = tuple(getattr(study, "not_collected", ()))
    model, unavailable = plan_model(df, plan)
    hsct_recorded = "hsct_date" not in getattr(study, "absent_columns", ())  # the file had the column

    table1 = {
        (variable, grouping): (compare_continuous if v.compared_as == CONTINUOUS else compare_categorical)(
            df, variable, grouping
        )
        for variable, v in VARIABLES.items()
        if variable not in not_collected  # its row drops out of Table 1
        for grouping in TABLE1_GROUPINGS
    }
    table1_overall = {variable: describe(df, variable) for variable in VARIABLES}
    response = {(r, g): compare_response(df, r, g) for r in RESPONSES for g in GROUPINGS}
    two_level = [g for g, grouping in GROUPINGS.items() if len(grouping.levels) == 2]
    response_effects = {
        (r, g): effect for r in RESPONSES for g in two_level if (effect := response_effect(df, r, g)) is not None
    }  # None only beyond two levels
    times = tuple(plan["survival_times_months"])
    by_endpoint = _by_endpoint(df, model, alpha, times, bool(study.is_synthetic), two_level)
    cox = by_endpoint["cox"]

    # compare_peak / kinetics_profile return "not estimable" results when there is no table,
    # so the report renders the same panels with a reason instead of failing.
    # Sorted once and joined once with every grouping column (on patient_id), shared by
    # every grouping: at 10^6 patients the sort and the joins are the main cost.
    samples = kinetics_samples(kinetics, df)
    per_patient = patient_kinetics(kinetics, samples=samples)
    grouped = with_groupings(per_patient.reset_index(), df)
    kinetics_peak = {g: compare_peak(df, kinetics, g, patient=grouped) for g in GROUPINGS}
    kinetics_metrics = {
        (m, g): compare_kinetics(grouped, g, m, comparison=kinetics_peak[g] if m == "cmax" else None)
        for m in KINETIC_METRICS
        for g in KINETICS_TABLE_GROUPINGS
    }
    windows = concept_visit_windows(plan["visit_windows"])
    visits = visit_samples(samples, windows)  # one sample per patient and visit, for every grouping
    kinetics_profiles = {g: kinetics_profile(df, kinetics, g, samples=visits, windows=windows) for g in GROUPINGS}
    kinetics_patients = None
    kinetics_reason = None
    if kinetics is None or kinetics.empty:
        kinetics_reason = NO_KINETICS_REASON
    else:
        kinetics_patients = grouped.drop(columns="patient_id").reset_index(drop=True)
    kinetics_auc = None if kinetics_reason else auc_counts(per_patient)
    # the samples (~2 x 10^6 rows at 10^6 patients, with every grouping) are not kept while
    # the analyses below run
    del samples, visits, per_patient, grouped
    # the cohort classified at each landmark day, once for the landmark analysis and the
    # landmark models (toxicity_at_landmark prepares the cohort again), then let go
    classify = landmark_classifier(df)
    competing_and_landmark = _competing_and_landmark(
        df,
        landmark_day,
        hsct_recorded,
        not_collected,
        getattr(study, "excluded", None),
        getattr(study, "samples_excluded", 0),
        classify=classify,
    )
    time_dependent = _time_dependent(df, model, plan, classify)
    del classify

    results = Results(
        cutoff=pd.Timestamp(study.cutoff).date(),
        is_synthetic=bool(study.is_synthetic),
        counts=_counts(df, kinetics),
        missing=_missing(df, not_collected),
        descriptives=_descriptives(df),
        followup=median_followup(df),
        table1=table1,
        table1_overall=table1_overall,
        response=response,
        survival=by_endpoint["survival"],
        cox=cox,
        kinetics_peak=kinetics_peak,
        kinetics_patients=kinetics_patients,
        kinetics_profiles=kinetics_profiles,
        kinetics_reason=kinetics_reason,
        kinetics_selection={}
        if kinetics_reason
        else compare_subset(df, df["patient_id"].isin(kinetics["patient_id"]).to_numpy()),
        # the publication's Discussion, reproduced by the demo's reproduction table only: a team's
        # study shows it nowhere, so it is not a test of theirs (review 31: a p-value of the p-value
        # table with no analysis behind it, counted in the Limitations' totals)
        il6_by_blasts=rank_test(
            [df.loc[df["bm_blasts_ge20"].eq(flag), "il6_peak_pg_ml"].dropna().to_numpy() for flag in (True, False)]
        )
        if study.is_synthetic
        else None,
        response_effects=response_effects,
        survival_hr=by_endpoint["survival_hr"],
        detectable_hr=by_endpoint["detectable_hr"],
        survival_differences=by_endpoint["survival_differences"],
        survival_at_times=by_endpoint["survival_at_times"],
        functional_forms=by_endpoint["functional_forms"],
        **competing_and_landmark,
        centers=center_supplement(df, plan["min_cell_size"], model),
        plan=plan,
        model=model,
        covariates_unavailable=unavailable,
        cox_publication=by_endpoint["cox_publication"],
        ph_sensitivity=by_endpoint["ph_sensitivity"],
        **time_dependent,
        kinetics_metrics=kinetics_metrics,
        kinetics_auc=kinetics_auc,
        visit_windows=windows,
        e_values=_e_values(cox, by_endpoint["survival_hr"]),
        **_trend_onset_and_transplant(df, hsct_recorded, by_endpoint["survival_trend"]),
        not_collected=not_collected,
        data_quality=data_quality(
            study.cohort,
            study.cutoff,
            not_collected,
            tuple((o.rows, o.patients) for o in getattr(study, "other_sheets", ()) if o.same_table),
        ),
    )
    return replace(results, pvalues=collect_pvalues(results, alpha))


def _by_endpoint(
    df: pd.DataFrame,
    model: ModelSpec,
    alpha: float,
    times: tuple[float, ...],
    synthetic: bool,
    two_level: list[str],
) -> dict[str, dict]:
    """The survival analyses of every endpoint, one endpoint at a time: its
    :func:`endpoint_frame` (the columns they read) made once and passed to each of them
    (``frame=``), instead of each making its own (148 per results object); one endpoint's
    frame held at a time (the whole cohort's size at 10^6 patients). Every dictionary is
    keyed endpoint first, in the order of ENDPOINTS."""
    out: dict[str, dict] = {
        key: {}
        for key in (
            "survival",
            "cox",
            "cox_publication",
            "survival_hr",
            "detectable_hr",
            "survival_differences",
            "survival_at_times",
            "functional_forms",
            "ph_sensitivity",
            "survival_trend",
        )
    }
    models = [model, PUBLICATION_MODEL] if synthetic else [model]
    read = [g.column for g in GROUPINGS.values()] + [c for m in models for c in model_columns(m)]
    for e in ENDPOINTS:
        ends = list(ENDPOINTS[e].columns)
        wanted = [c for c in dict.fromkeys(ends + read) if c in df.columns]
        frame = endpoint_frame(df[wanted], e) if all(c in wanted for c in ends) else None
        out["survival"][(e, "all")] = compare_survival(df, e, None, frame=frame)
        for g in GROUPINGS:
            out["survival"][(e, g)] = compare_survival(df, e, g, frame=frame)
        cox = out["cox"][e] = fit_cox(df, e, model=model, frame=frame)
        if synthetic:
            out["cox_publication"][e] = fit_cox(df, e, model=PUBLICATION_MODEL, frame=frame)
        for g in GROUPINGS:
            out["survival_hr"][(e, g)] = univariable_cox(df, e, g, frame=frame)
        for g in two_level:
            out["detectable_hr"][(e, g)] = detectable_hazard_ratio_for(df, e, g, alpha, frame=frame)
        for g in GROUPINGS:
            out["survival_differences"][(e, g)] = survival_differences(df, e, g, times, frame=frame)
        out["survival_at_times"][e] = overall_survival_at(df, e, times, frame=frame)
        for column in model.covariates:
            if is_continuous(column):
                out["functional_forms"][(e, column)] = functional_form(
                    df, e, model, column, per=per_units(column), frame=frame
                )
        if (found := ph_sensitivity(df, e, model, cox, alpha, frame=frame)) is not None:
            out["ph_sensitivity"][e] = found
        for g in TREND_SCORES:
            out["survival_trend"][(e, g)] = cox_trend(df, e, g, frame=frame)
        del frame
    return out


def _e_values(cox: dict[str, CoxResult], survival_hr: dict[tuple[str, str], UnivariableCox]) -> dict:
    """E-values of every hazard ratio of Table 2 and of the univariable models (rare outcome:
    under 15% of the model's patients with an event, :func:`rare_outcome`)."""
    out: dict[tuple[str, ...], EValue] = {}
    for endpoint, model in cox.items():
        rare = rare_outcome(model.events, model.n)
        for t in model.terms:
            out[("cox", endpoint, t.key)] = e_value_hr(t.hr, t.ci_low, t.ci_high, rare)
    for (endpoint, grouping), univariable in survival_hr.items():
        rare = rare_outcome(univariable.events, univariable.n)
        for hr in univariable.hazard_ratios:
            out[("survival", endpoint, grouping, hr.level)] = e_value_hr(hr.hr, hr.ci_low, hr.ci_high, rare)
    return out


# ======================================================================================
# Competing risks (CIR/NRM) and the landmark analysis (issue 11)
# ======================================================================================
# Their JSON keys: docs/results.md; the export: analysis/report/export.py.

from analysis.estimators.competing import CompetingRisks, compare_competing, competing_frame  # noqa: E402
from analysis.estimators.landmark import LANDMARK_ENDPOINTS, LandmarkComparison, landmark_analyses  # noqa: E402
from analysis.report.cohort_flow import CohortFlow, Timelines, cohort_flow, swimmer_timelines  # noqa: E402

#: Groupings of the landmark analysis (toxicity with an onset day).
LANDMARK_REPORTED = ("crs", "icans")


def _competing_and_landmark(
    df: pd.DataFrame,
    landmark_day: int | None,
    hsct_recorded: bool = True,
    not_collected: tuple[str, ...] = (),
    excluded=None,
    samples_excluded: int = 0,
    *,
    classify: Callable[[int], Classification | None],
) -> dict[str, Any]:
    """``classify``: :func:`landmark_classifier` of ``df`` (shared with :func:`_time_dependent`)."""
    day = OPTIONS["landmark_day"].default if landmark_day is None else int(landmark_day)
    in_cr = competing_frame(df)  # the same patients and times for every grouping
    competing = {"all": compare_competing(df, None, data=in_cr)}
    competing.update({g: compare_competing(df, g, data=in_cr) for g in GROUPINGS})
    landmark = landmark_analyses(df, LANDMARK_ENDPOINTS, LANDMARK_REPORTED, day, classification=classify(day))
    return {
        "competing": competing,
        "landmark": landmark,
        "landmark_day": day,
        "cohort_flow": cohort_flow(df, hsct_recorded, "mrd_negative" not in not_collected, excluded, samples_excluded),
        "swimmer": swimmer_timelines(df),
    }


# ======================================================================================
# Toxicity as a time-dependent exposure, and the multivariable landmark model (issue 20)
# ======================================================================================

from analysis.estimators.landmark import LandmarkModel, landmark_model, toxicity_at_landmark  # noqa: E402
from analysis.estimators.timevarying import (  # noqa: E402
    ONSETS,
    TIME_DEPENDENT_ENDPOINTS,
    OnsetSummary,
    TimeDependentComparison,
    onset_summary,
    time_dependent_comparison,
    time_dependent_data,
    time_dependent_model,
)

#: The cohort at a landmark day: :func:`toxicity_at_landmark`'s (prepared cohort, patients reclassified).
Classification = tuple[pd.DataFrame, pd.Series]


def landmark_classifier(df: pd.DataFrame) -> Callable[[int], Classification | None]:
    """day -> :func:`toxicity_at_landmark` of ``df``, computed once per day (the landmark
    analysis and every landmark model of that day read the same); None for a day < 0 (no
    landmark)."""

    @functools.cache
    def classify(day: int) -> Classification | None:
        return toxicity_at_landmark(df, day) if day >= 0 else None

    return classify


#: Groupings analysed as time-dependent exposures (the plan's exposure is added when another).
TIME_DEPENDENT_REPORTED = ("crs", "icans", "severity")


def _time_dependent(
    df: pd.DataFrame,
    model: ModelSpec,
    plan: dict[str, Any],
    classify: Callable[[int], Classification | None],
) -> dict[str, Any]:
    """``classify``: :func:`landmark_classifier` of ``df`` (shared with :func:`_competing_and_landmark`)."""
    groupings = tuple(dict.fromkeys([*TIME_DEPENDENT_REPORTED, model.exposure]))
    comparisons: dict[tuple[str, str], TimeDependentComparison] = {}
    multivariable: dict[str, CoxResult] = {}
    for endpoint in TIME_DEPENDENT_ENDPOINTS:
        # one split per endpoint, shared by every grouping and the multivariable model
        data = time_dependent_data(df, endpoint, groupings)
        for grouping in groupings:
            comparisons[(endpoint, grouping)] = time_dependent_comparison(df, endpoint, grouping, data)
        multivariable[endpoint] = time_dependent_model(df, endpoint, model, data)
        del data
    days = [plan["landmark_day"]] + (
        [plan["sensitivity_landmark_day"]] if plan["sensitivity_landmark_day"] is not None else []
    )
    landmarks = {}
    for day in dict.fromkeys(int(d) for d in days):
        for endpoint in TIME_DEPENDENT_ENDPOINTS:
            landmarks[(endpoint, day)] = landmark_model(df, endpoint, day, model, classification=classify(day))
    return {
        "onset_days": {t: onset_summary(df, t) for t in ONSETS},
        "time_dependent": comparisons,
        "time_dependent_cox": multivariable,
        "landmark_models": landmarks,
    }


# ======================================================================================
# Trend tests, onset of CRS/ICANS, HSCT after CAR-T (issue 20)
# ======================================================================================

from analysis.estimators.comparisons import response_trend  # noqa: E402
from analysis.estimators.competing import ONSET_TOXICITIES, OnsetIncidence, onset_incidence  # noqa: E402
from analysis.estimators.effects import CoxTrend, cox_trend  # noqa: E402
from analysis.estimators.transplant import TransplantAnalysis, transplant_analysis  # noqa: E402
from analysis.registry.groups import TREND_SCORES  # noqa: E402


def _trend_onset_and_transplant(
    df: pd.DataFrame, hsct_recorded: bool, survival_trend: dict[tuple[str, str], CoxTrend]
) -> dict[str, Any]:
    """``hsct_recorded``: the cohort file had the hsct_date column (Study.absent_columns);
    ``survival_trend``: the Cox trend tests (made with each endpoint's frame, :func:`_by_endpoint`)."""
    return {
        "response_trend": {(r, g): response_trend(df, r, g) for r in RESPONSES for g in TREND_SCORES},
        "survival_trend": survival_trend,
        "onset": {t: onset_incidence(df, t) for t in ONSET_TOXICITIES},
        "transplant": transplant_analysis(df, hsct_recorded),
    }
