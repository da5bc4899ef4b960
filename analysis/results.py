"""The results object: every number of the report, computed once.

:func:`compute_results` runs every statistic of the manuscript on a loaded
study and returns a :class:`Results`. Tables, figures and inline prose are all
built from it, so they cannot disagree; :meth:`Results.to_dict` is the
machine-readable export described in ``docs/results.md`` (the
``python -m analysis results`` command writes it as JSON).

JSON conventions: numbers at full precision; a statistic that cannot be
estimated is ``null`` with a sibling ``"<key>_reason"``; per-level objects are
keyed by the grouping's level keys (:data:`analysis.groups.GROUPINGS`).
No patient identifier and no individual date is ever exported.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .centers import CenterSupplement, center_supplement
from .comparisons import (
    Comparison,
    ResponseComparison,
    TestResult,
    compare_categorical,
    compare_continuous,
    compare_response,
    rank_test,
)
from .cox import FIRTH, CoxResult, fit_cox
from .effects import (
    DetectableHazardRatio,
    ResponseEffect,
    UnivariableCox,
    detectable_hazard_ratio_for,
    response_effect,
    univariable_cox,
)
from .groups import GROUPINGS, TABLE1_GROUPINGS, prepare_cohort
from .kinetics import compare_peak, kinetics_profile, kinetics_samples, patient_kinetics, with_groupings
from .survival import (
    LANDMARK_MONTHS,
    FollowUp,
    KMSummary,
    SurvivalComparison,
    compare_survival,
    median_followup,
)

#: Table 1 rows in display order: variable -> kind.
TABLE1_VARIABLES: dict[str, str] = {
    "age": "continuous",
    "sex": "categorical",
    "ph_positive": "categorical",
    "il6_peak_pg_ml": "continuous",
    "ferritin_peak_ng_ml": "continuous",
    "prior_lines": "continuous",
    "disease_status": "categorical",
    "n_relapses": "continuous",
    "steroids": "categorical",
    "tocilizumab": "categorical",
    "bm_blasts_pct": "continuous",
    "cart_dose_1e6_per_kg": "continuous",
}

RESPONSES = ("cr", "mrd_negative_cr")
ENDPOINTS = ("os", "lfs")


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
    response: dict[tuple[str, str], ResponseComparison]
    survival: dict[tuple[str, str], SurvivalComparison]  # (endpoint, grouping or "all")
    cox: dict[str, CoxResult]
    kinetics_peak: dict[str, Comparison] = field(default_factory=dict)
    #: per-patient Cmax/Tmax/AUC with grouping level keys, without patient identifiers
    kinetics_patients: pd.DataFrame | None = None
    kinetics_profiles: dict[str, pd.DataFrame] = field(default_factory=dict)
    kinetics_reason: str | None = None
    #: Peak IL-6 by marrow blasts >= 20% vs < 20% (the publication's Discussion)
    il6_by_blasts: TestResult | None = None
    #: (response, grouping) -> difference in proportions and odds ratio, two-level groupings only
    response_effects: dict[tuple[str, str], ResponseEffect] = field(default_factory=dict)
    #: (endpoint, grouping) -> univariable Cox HR of each level against the reference level
    survival_hr: dict[tuple[str, str], UnivariableCox] = field(default_factory=dict)
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

    def kinetics_values(self, grouping: str) -> pd.DataFrame:
        """Per-patient peak copies with the patient's level key for a grouping (no identifiers)."""
        if self.kinetics_patients is None:
            return pd.DataFrame({"level": pd.Series(dtype=str), "peak_copies": pd.Series(dtype=float)})
        column = GROUPINGS[grouping].column
        return self.kinetics_patients.assign(level=self.kinetics_patients[column])[["level", "peak_copies"]]

    def to_dict(self) -> dict[str, Any]:
        return _results_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        # allow_nan=False: a NaN reaching the export is a bug, never a silent "NaN".
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)


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
        "icans_severe_onset_day": _distribution(
            df["icans_onset_day"].where(df["icans_severe"]).astype("float")
        ),
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
        "n_mrd_negative_cr": int(df["mrd_negative_cr"].sum()),
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
    }


def _missing(df: pd.DataFrame) -> dict[str, int]:
    """Missing values of the optional measurements, among the patients they apply to."""
    return {
        "il6_peak_pg_ml": int(df["il6_peak_pg_ml"].isna().sum()),
        "ferritin_peak_ng_ml": int(df["ferritin_peak_ng_ml"].isna().sum()),
        "dex_equiv_cum_mg": int(df["dex_equiv_cum_mg"].isna()[df["steroids"].astype(bool)].sum()),
        "tocilizumab_cum_mg": int(df["tocilizumab_cum_mg"].isna()[df["tocilizumab"].astype(bool)].sum()),
    }


def compute_results(study, alpha: float | None = None, landmark_day: int | None = None) -> Results:
    """Compute every statistic of the report for a loaded :class:`analysis.loading.Study`.

    ``alpha``: the significance level of the power statements (default
    :data:`analysis.narrative.ALPHA`); ``landmark_day``: day after infusion of the landmark
    analysis (default :data:`analysis.landmark.DEFAULT_LANDMARK_DAY`). A study file's
    ``analysis:`` options provide both."""
    df = prepare_cohort(study.cohort)
    kinetics = study.kinetics

    table1 = {
        (variable, grouping): (compare_continuous if kind == "continuous" else compare_categorical)(
            df, variable, grouping
        )
        for variable, kind in TABLE1_VARIABLES.items()
        for grouping in TABLE1_GROUPINGS
    }
    response = {(r, g): compare_response(df, r, g) for r in RESPONSES for g in GROUPINGS}
    survival: dict[tuple[str, str], SurvivalComparison] = {}
    for endpoint in ENDPOINTS:
        survival[(endpoint, "all")] = compare_survival(df, endpoint, None)
        for grouping in GROUPINGS:
            survival[(endpoint, grouping)] = compare_survival(df, endpoint, grouping)
    cox = {endpoint: fit_cox(df, endpoint) for endpoint in ENDPOINTS}
    if alpha is None:  # the default alpha (a study file's `analysis: alpha` is passed in)
        from .narrative import ALPHA  # narrative imports this module

        alpha = ALPHA

    two_level = [g for g, grouping in GROUPINGS.items() if len(grouping.levels) == 2]
    response_effects = {(r, g): effect for r in RESPONSES for g in two_level
                        if (effect := response_effect(df, r, g)) is not None}  # None only beyond two levels
    survival_hr = {(e, g): univariable_cox(df, e, g) for e in ENDPOINTS for g in GROUPINGS}
    detectable_hr = {(e, g): detectable_hazard_ratio_for(df, e, g, alpha) for e in ENDPOINTS for g in two_level}

    # compare_peak / kinetics_profile return "not estimable" results when there is no table,
    # so the report renders the same panels with a reason instead of failing.
    # Sorted once and joined once with every grouping column (on patient_id), shared by
    # every grouping: at 10^6 patients the sort and the joins are the main cost.
    samples = kinetics_samples(kinetics, df)
    per_patient = patient_kinetics(kinetics, samples=samples)
    grouped = with_groupings(per_patient.reset_index(), df)
    kinetics_peak = {g: compare_peak(df, kinetics, g, patient=grouped) for g in GROUPINGS}
    kinetics_profiles = {g: kinetics_profile(df, kinetics, g, samples=samples) for g in GROUPINGS}
    kinetics_patients = None
    kinetics_reason = None
    if kinetics is None or kinetics.empty:
        kinetics_reason = "no CAR-T kinetics table was supplied"
    else:
        kinetics_patients = grouped.drop(columns="patient_id").reset_index(drop=True)

    return Results(
        cutoff=pd.Timestamp(study.cutoff).date(),
        is_synthetic=bool(study.is_synthetic),
        counts=_counts(df, kinetics),
        missing=_missing(df),
        descriptives=_descriptives(df),
        followup=median_followup(df),
        table1=table1,
        response=response,
        survival=survival,
        cox=cox,
        kinetics_peak=kinetics_peak,
        kinetics_patients=kinetics_patients,
        kinetics_profiles=kinetics_profiles,
        kinetics_reason=kinetics_reason,
        il6_by_blasts=rank_test([
            df.loc[df["bm_blasts_ge20"].eq(flag), "il6_peak_pg_ml"].dropna().to_numpy() for flag in (True, False)
        ]),
        response_effects=response_effects,
        survival_hr=survival_hr,
        detectable_hr=detectable_hr,
        **_competing_and_landmark(df, landmark_day),
        centers=center_supplement(df),
    )


# --- export -----------------------------------------------------------------------------


def _number(value):
    """Plain JSON number, or None for missing/NaN (numpy scalars converted)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _put(target: dict, key: str, value, reason: str | None = None) -> None:
    """Set ``target[key]``; a null gets a sibling ``<key>_reason``."""
    value = _number(value) if not isinstance(value, str) else value
    target[key] = value
    if value is None:
        target[f"{key}_reason"] = reason or "not estimable on these data"


def _test_fields(out: dict, result, prefix: str = "") -> None:
    _put(out, f"{prefix}p", result.p, result.reason)
    out[f"{prefix}test"] = result.test
    if result.statistic is not None or result.p is None:
        _put(out, f"{prefix}statistic", result.statistic, result.reason)


def _comparison_dict(comparison: Comparison) -> dict:
    out: dict[str, Any] = {"kind": comparison.kind}
    _test_fields(out, comparison.result)
    levels = {}
    for level in comparison.levels:
        entry: dict[str, Any] = {"label": level.label, "n": int(level.n)}
        if comparison.kind == "continuous":
            reason = "no non-missing values in this group"
            for stat in ("median", "min", "max"):
                _put(entry, stat, getattr(level, stat), reason)
        else:
            entry["counts"] = {str(c.category): int(c.count) for c in level.categories}
            entry["percent"] = {}
            for c in level.categories:
                _put(entry["percent"], str(c.category), c.percent, "no patients in this group")
        levels[level.key] = entry
    out["levels"] = levels
    return out


def _response_dict(comparison: ResponseComparison) -> dict:
    out: dict[str, Any] = {}
    _test_fields(out, comparison.result)
    levels = {}
    for level in comparison.levels:
        entry: dict[str, Any] = {"label": level.label, "n": int(level.n), "events": int(level.events)}
        reason = "no patients in this group"
        for stat in ("rate", "ci_low", "ci_high"):
            _put(entry, stat, getattr(level, stat), reason)
        levels[level.key] = entry
    out["levels"] = levels
    return out


def _km_dict(summary: KMSummary) -> dict:
    entry: dict[str, Any] = {"label": summary.label, "n": int(summary.n), "events": int(summary.events)}
    _put(entry, "median_months", summary.median_months, summary.median_reason)
    _put(entry, "median_ci_low", summary.median_ci_low, summary.median_reason or "lower confidence limit not reached")
    _put(entry, "median_ci_high", summary.median_ci_high, "upper confidence limit not reached")
    by_month = {lm.months: lm for lm in summary.landmarks}
    for months in LANDMARK_MONTHS:
        lm = by_month.get(months)
        reason = (lm.reason if lm else None) or f"not estimable at {months} months"
        stem = f"surv_{months}m"
        _put(entry, stem, lm.survival if lm else None, reason)
        _put(entry, f"{stem}_ci_low", lm.ci_low if lm else None, reason)
        _put(entry, f"{stem}_ci_high", lm.ci_high if lm else None, reason)
    return entry


def _survival_dict(comparison: SurvivalComparison) -> dict:
    out: dict[str, Any] = {}
    _put(out, "logrank_chisq", comparison.logrank_chisq, comparison.reason)
    _put(out, "logrank_p", comparison.logrank_p, comparison.reason)
    _put(out, "df", comparison.df, comparison.reason)
    out["levels"] = {s.key: _km_dict(s) for s in comparison.levels}
    out["risk_times"] = [_number(t) for t in comparison.risk_times]
    out["at_risk"] = {k: [int(n) for n in v] for k, v in comparison.at_risk.items()}
    return out


def _response_effect_dict(effect: ResponseEffect) -> dict:
    out: dict[str, Any] = {"level": effect.level, "reference": effect.reference}
    d, o = effect.difference, effect.odds_ratio
    for key, value in (("difference", d.difference), ("difference_ci_low", d.ci_low),
                       ("difference_ci_high", d.ci_high)):
        _put(out, key, value, d.reason)
    _put(out, "odds_ratio", o.odds_ratio, o.reason)
    _put(out, "odds_ratio_ci_low", o.ci_low, o.reason)
    _put(out, "odds_ratio_ci_high", o.ci_high, o.ci_reason or o.reason)
    return out


def _univariable_cox_dict(result: UnivariableCox) -> dict:
    out: dict[str, Any] = {"reference": result.reference, "n": int(result.n), "events": int(result.events),
                           "ties": "efron"}
    if result.reason:
        out["reason"] = result.reason
    levels = {}
    for hr in result.hazard_ratios:
        entry: dict[str, Any] = {"label": hr.label}
        for stat in ("hr", "ci_low", "ci_high", "p", "coef", "se"):
            _put(entry, stat, getattr(hr, stat), hr.reason or result.reason)
        levels[hr.level] = entry
    out["levels"] = levels
    return out


def _detectable_dict(result: DetectableHazardRatio) -> dict:
    out: dict[str, Any] = {"events": int(result.events), "alpha": result.alpha, "power": result.power}
    _put(out, "proportion", result.proportion, result.reason)
    _put(out, "hr_below", result.hr_below, result.reason)
    _put(out, "hr_above", result.hr_above, result.reason)
    return out


def _cox_dict(result: CoxResult) -> dict:
    out: dict[str, Any] = {"n": int(result.n), "events": int(result.events), "ties": result.ties,
                           "method": result.method}
    # "cox": Wald CIs and p; "firth": profile penalized-likelihood CIs, penalized LR p
    out["ci_method"] = "profile_penalized_likelihood" if result.method == FIRTH else "wald"
    out["p_method"] = "penalized_likelihood_ratio" if result.method == FIRTH else "wald"
    if result.method_reason:
        out["method_reason"] = result.method_reason
    if result.reason:
        out["reason"] = result.reason
    terms = {}
    for term in result.terms:
        entry: dict[str, Any] = {"label": term.label}
        reason = term.reason or result.reason
        for stat in ("hr", "ci_low", "ci_high", "p", "coef", "se"):
            _put(entry, stat, getattr(term, stat), reason)
        terms[term.key] = entry
    out["terms"] = terms
    severity_reason = result.severity_global_reason or result.reason
    _put(out, "severity_global_chisq", result.severity_global_chisq, severity_reason)
    _put(out, "severity_global_p", result.severity_global_p, severity_reason)
    _put(out, "ph_test_global_p", result.ph_test_global_p, result.ph_test_reason or result.reason)
    out["ph_tests"] = {}
    for row in result.ph_tests:
        entry = {}
        _put(entry, "chisq", row.chisq, result.reason)
        _put(entry, "df", row.df, result.reason)
        _put(entry, "p", row.p, result.reason)
        out["ph_tests"][row.term] = entry
    return out


def _results_to_dict(results: Results) -> dict[str, Any]:
    out: dict[str, Any] = {
        "software": {"cartox": __version__},
        "cutoff": results.cutoff.isoformat(),
        "is_synthetic": results.is_synthetic,
    }
    out.update(results.counts)
    out["missing"] = dict(results.missing)
    out["followup"] = {}
    fu = results.followup
    _put(out["followup"], "median_months", fu.median_months, fu.reason)
    _put(out["followup"], "ci_low", fu.ci_low, fu.reason or "lower confidence limit not reached")
    _put(out["followup"], "ci_high", fu.ci_high, fu.reason or "upper confidence limit not reached")
    out["descriptives"] = {}
    for name, dist in results.descriptives.items():
        entry: dict[str, Any] = {"n": dist.n}
        for stat in ("median", "min", "max"):
            _put(entry, stat, getattr(dist, stat), "no patient has a value")
        out["descriptives"][name] = entry

    table1: dict[str, dict] = {}
    for (variable, grouping), comparison in results.table1.items():
        table1.setdefault(variable, {})[grouping] = _comparison_dict(comparison)
    out["table1"] = table1

    response: dict[str, dict] = {}
    for (r, grouping), rates in results.response.items():
        response.setdefault(r, {})[grouping] = _response_dict(rates)
        effect = results.response_effects.get((r, grouping))
        if effect is not None:
            response[r][grouping]["effect"] = _response_effect_dict(effect)
    out["response"] = response

    survival: dict[str, dict] = {}
    for (endpoint, grouping), curves in results.survival.items():
        block = survival.setdefault(endpoint, {})
        if grouping == "all":
            block["all"] = _km_dict(curves.levels[0])
        else:
            block[grouping] = _survival_dict(curves)
            if (endpoint, grouping) in results.survival_hr:
                block[grouping]["cox"] = _univariable_cox_dict(results.survival_hr[(endpoint, grouping)])
            if (endpoint, grouping) in results.detectable_hr:
                block[grouping]["detectable_hr"] = _detectable_dict(results.detectable_hr[(endpoint, grouping)])
    out["survival"] = survival

    out["cox"] = {endpoint: _cox_dict(result) for endpoint, result in results.cox.items()}

    kinetics: dict[str, Any] = {"peak": {}}
    if results.kinetics_reason:
        kinetics["reason"] = results.kinetics_reason
    for grouping, comparison in results.kinetics_peak.items():
        kinetics["peak"][grouping] = _comparison_dict(comparison)
    out["kinetics"] = kinetics

    extra: dict[str, Any] = {}
    if results.il6_by_blasts is not None:
        extra["il6_by_bm_blasts_ge20"] = {}
        _test_fields(extra["il6_by_bm_blasts_ge20"], results.il6_by_blasts)
    out["extra"] = extra
    out.update(_competing_and_landmark_dict(results))
    if results.centers is not None:
        out["centers"] = _centers_dict(results.centers)
    return out


def _centers_dict(supplement: CenterSupplement) -> dict[str, Any]:
    """Per-center counts under labels "Center 1..k" (no name) and the stratified models."""
    out: dict[str, Any] = {
        "rows": [
            {"label": row.label, "n": int(row.n), "counts": {k: int(v) for k, v in row.counts.items()},
             "percents": {k: _number(v) for k, v in row.percents.items()}}
            for row in supplement.rows
        ],
        "stratified_cox": {endpoint: _cox_dict(result) for endpoint, result in supplement.cox.items()},
    }
    if supplement.cox_reason:
        out["stratified_cox_reason"] = supplement.cox_reason
    return out


# ======================================================================================
# Competing risks (CIR/NRM) and the landmark analysis (issue 11)
# ======================================================================================
# JSON:
#   "competing": {"all" | <grouping>: {"n", "n_relapse", "n_nrm", "risk_times", "at_risk",
#        "relapse" | "nrm": {"gray_statistic", "gray_df", "gray_p",
#            "levels": {<level>: {"label", "n", "events",
#                "cif_12m", "cif_12m_var", "cif_12m_ci_low", "cif_12m_ci_high", ... 24m}}}}}
#   "landmark": {"landmark_day", "os" | "lfs": {<grouping>: {"n", "n_before",
#        "n_event_before", "n_censored_before", "n_reclassified", "logrank_chisq", "df",
#        "logrank_p", "levels": {<level>: KM entry as "survival"}, "hr": {<level>: {"hr",
#        "ci_low", "ci_high", "p", "coef", "se"}}}}}
#   "cohort_flow": {"infused", "not_evaluable", "evaluable", "no_cr", "cr",
#        "mrd_positive_or_unknown_cr", "mrd_negative_cr", "relapsed", "died_without_relapse",
#        "alive_in_cr", "<outcome>_mrd_negative"}: counts of the flow diagram
#   (null + "<key>_reason" as everywhere; a whole analysis that cannot run: "reason").

import dataclasses  # noqa: E402

from .cohort_flow import CohortFlow, Timelines, cohort_flow, swimmer_timelines  # noqa: E402
from .competing import CIF_MONTHS, CompetingRisks, compare_competing  # noqa: E402
from .landmark import DEFAULT_LANDMARK_DAY, LandmarkComparison, landmark_analyses  # noqa: E402

#: Groupings of the landmark analysis (toxicity with an onset day).
LANDMARK_REPORTED = ("crs", "icans")


def _competing_and_landmark(df: pd.DataFrame, landmark_day: int | None) -> dict[str, Any]:
    day = DEFAULT_LANDMARK_DAY if landmark_day is None else int(landmark_day)
    competing = {"all": compare_competing(df, None)}
    competing.update({g: compare_competing(df, g) for g in GROUPINGS})
    landmark = landmark_analyses(df, ENDPOINTS, LANDMARK_REPORTED, day)
    return {"competing": competing, "landmark": landmark, "landmark_day": day,
            "cohort_flow": cohort_flow(df), "swimmer": swimmer_timelines(df)}


def _competing_dict(result: CompetingRisks) -> dict:
    out: dict[str, Any] = {"n": result.n, "n_relapse": result.n_relapse, "n_nrm": result.n_nrm,
                           "risk_times": [_number(t) for t in result.risk_times],
                           "at_risk": {k: [int(n) for n in v] for k, v in result.at_risk.items()}}
    for cause, comparison in result.causes.items():
        entry: dict[str, Any] = {"label": comparison.label}
        gray = comparison.gray
        _put(entry, "gray_statistic", gray.statistic, gray.reason)
        _put(entry, "gray_df", gray.df, gray.reason)
        _put(entry, "gray_p", gray.p, gray.reason)
        levels = {}
        for level in comparison.levels:
            item: dict[str, Any] = {"label": level.label, "n": level.n, "events": level.events}
            points = {p.months: p for p in level.points}
            for months in CIF_MONTHS:
                point = points[months]
                stem = f"cif_{months}m"
                reason = point.reason or level.reason
                _put(item, stem, point.estimate, reason)
                _put(item, f"{stem}_var", point.variance, reason)
                _put(item, f"{stem}_ci_low", point.ci_low, reason)
                _put(item, f"{stem}_ci_high", point.ci_high, reason)
            levels[level.key] = item
        entry["levels"] = levels
        out[cause] = entry
    return out


def _landmark_dict(result: LandmarkComparison) -> dict:
    out: dict[str, Any] = {"n": result.n, "n_before": result.n_before, "n_event_before": result.n_event_before,
                           "n_censored_before": result.n_censored_before, "n_reclassified": result.n_reclassified}
    if result.survival is None:
        out["reason"] = result.reason
        return out
    out.update(_survival_dict(result.survival))
    hrs = {}
    for ratio in result.hazard_ratios:
        entry: dict[str, Any] = {"label": ratio.label}
        for stat in ("hr", "ci_low", "ci_high", "p", "coef", "se"):
            _put(entry, stat, getattr(ratio, stat), ratio.reason)
        hrs[ratio.key] = entry
    out["hr"] = hrs
    return out


def _competing_and_landmark_dict(results: Results) -> dict[str, Any]:
    landmark: dict[str, Any] = {"landmark_day": results.landmark_day}
    for (endpoint, grouping), comparison in results.landmark.items():
        landmark.setdefault(endpoint, {})[grouping] = _landmark_dict(comparison)
    out = {"competing": {key: _competing_dict(value) for key, value in results.competing.items()},
           "landmark": landmark}
    if results.cohort_flow is not None:
        out["cohort_flow"] = dataclasses.asdict(results.cohort_flow)
    return out
