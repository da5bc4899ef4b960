"""The machine-readable export of the results object: every number of the report as JSON.

:func:`results_to_dict` turns a :class:`analysis.report.results.Results` into plain JSON values
(the keys are listed in ``docs/results.md``), :func:`results_to_json` into text, and
:func:`write_results` writes it for ``python -m analysis results [-o FILE]``.

Conventions: numbers at full precision (numpy scalars converted); a statistic that cannot
be estimated is ``null`` with a sibling ``"<key>_reason"``; a whole analysis that cannot
run has a ``"reason"``; per-level objects are keyed by the grouping's level keys
(:data:`analysis.registry.groups.GROUPINGS`). No patient identifier and no individual date is ever
exported.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis import __version__
from analysis.estimators.absolute import SurvivalDifferences
from analysis.estimators.centers import CenterSupplement
from analysis.estimators.comparisons import Comparison, ContinuousLevel, ResponseComparison
from analysis.estimators.competing import CIF_MONTHS, CompetingRisks, OnsetIncidence
from analysis.estimators.cox import FIRTH, CoxResult
from analysis.estimators.effects import DetectableHazardRatio, ResponseEffect, UnivariableCox
from analysis.estimators.kinetics import LevelEffect
from analysis.estimators.landmark import LandmarkComparison
from analysis.estimators.multiplicity import EValue, rare_outcome
from analysis.estimators.survival import LANDMARK_MONTHS, UNDEFINED_CI, KMSummary, SurvivalComparison
from analysis.estimators.transplant import TransplantAnalysis
from analysis.inputs.outfiles import write_atomic
from analysis.report.pvalues import PValueTable

if TYPE_CHECKING:
    from analysis.report.results import Results


def results_to_json(results: Results, indent: int | None = 2) -> str:
    """The export as JSON text. ``allow_nan=False``: a NaN reaching the export is a bug,
    never a silent "NaN"."""
    return json.dumps(results_to_dict(results), indent=indent, allow_nan=False, ensure_ascii=False)


def write_results(results: Results, output=None) -> None:
    """Write the JSON to ``output`` all at once (:func:`analysis.inputs.outfiles.write_atomic`),
    or to standard output when ``output`` is empty."""
    text = results_to_json(results) + "\n"
    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


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


#: The fields of every hazard ratio: univariable, multivariable and landmark Cox models.
_HAZARD_RATIO_STATS = ("hr", "ci_low", "ci_high", "p", "coef", "se")


def _put_stats(target: dict, source, stats: tuple[str, ...], reason: str | None) -> dict:
    """:func:`_put` each attribute ``stats`` of ``source``, a null with ``reason``; returns ``target``."""
    for stat in stats:
        _put(target, stat, getattr(source, stat), reason)
    return target


def _risk_table(source) -> dict[str, Any]:
    """The numbers-at-risk table below a curve: its times and the counts per level."""
    return {
        "risk_times": [_number(t) for t in source.risk_times],
        "at_risk": {k: [int(n) for n in v] for k, v in source.at_risk.items()},
    }


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
            _put_stats(entry, level, ("median", "min", "max"), "no non-missing values in this group")
        else:
            entry["counts"] = {str(c.category): int(c.count) for c in level.categories}
            entry["percent"] = {}
            for c in level.categories:
                _put(entry["percent"], str(c.category), c.percent, "no patients in this group")
        levels[level.key] = entry
    out["levels"] = levels
    return out


def _overall_dict(level) -> dict:
    entry: dict[str, Any] = {"n": int(level.n)}
    if isinstance(level, ContinuousLevel):
        return _put_stats(entry, level, ("median", "min", "max"), "no patient has a value")
    entry["counts"] = {str(c.category): int(c.count) for c in level.categories}
    entry["percent"] = {}
    for c in level.categories:
        _put(entry["percent"], str(c.category), c.percent, "no patient has a value")
    return entry


def _response_dict(comparison: ResponseComparison) -> dict:
    out: dict[str, Any] = {}
    _test_fields(out, comparison.result)
    levels = {}
    for level in comparison.levels:
        entry: dict[str, Any] = {"label": level.label, "n": int(level.n), "events": int(level.events)}
        levels[level.key] = _put_stats(entry, level, ("rate", "ci_low", "ci_high"), "no patients in this group")
    out["levels"] = levels
    out["not_assessed"] = int(comparison.not_assessed)
    return out


def _limit_reason(summary: KMSummary, bound: str, side: str) -> str:
    """Why a limit of the median's CI is missing: not estimable (its curve is undefined where
    survival falls to 0; no follow-up beyond day 0) or not reached."""
    if "median" in summary.not_estimable:
        return summary.median_reason or f"{side} confidence limit not estimable"
    if bound in summary.not_estimable:
        return f"{side} confidence limit not estimable: {UNDEFINED_CI}"
    if side == "lower" and summary.median_reason:
        return summary.median_reason
    return f"{side} confidence limit not reached"


def _km_dict(summary: KMSummary) -> dict:
    entry: dict[str, Any] = {
        "label": summary.label,
        "n": int(summary.n),
        "events": int(summary.events),
        "events_at_zero": int(summary.events_at_zero),
    }
    _put(entry, "median_months", summary.median_months, summary.median_reason)
    for bound, side in (("median_ci_low", "lower"), ("median_ci_high", "upper")):
        _put(entry, bound, getattr(summary, bound), _limit_reason(summary, bound, side))
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
    _put_stats(out, comparison, ("logrank_chisq", "logrank_p", "df"), comparison.reason)
    out["levels"] = {s.key: _km_dict(s) for s in comparison.levels}
    out.update(_risk_table(comparison))
    return out


def _differences_dict(result: SurvivalDifferences) -> dict:
    """Survival of each level at each time and the difference of each level from the reference
    (level minus reference, probability scale, Greenwood SE, Newcombe-type 95% CI from the curves'
    log-log intervals), keyed by the time
    in months ("12"); a null with its ``_reason``."""
    out: dict[str, Any] = {"reference": result.reference}
    for t in result.months:
        block: dict[str, Any] = {"survival": {}, "difference": {}}
        for (level, months), s in result.at.items():
            if months == t:
                block["survival"][level] = _put_stats(
                    {"n": s.n, "n_at_risk": s.n_at_risk}, s, ("survival", "se", "ci_low", "ci_high"), s.reason
                )
        for (level, months), d in result.differences.items():
            if months == t:
                block["difference"][level] = _put_stats({}, d, ("difference", "se", "ci_low", "ci_high"), d.reason)
        out[f"{t:g}"] = block
    return out


def _response_effect_dict(effect: ResponseEffect) -> dict:
    out: dict[str, Any] = {"level": effect.level, "reference": effect.reference}
    d, o = effect.difference, effect.odds_ratio
    for key, value in (
        ("difference", d.difference),
        ("difference_ci_low", d.ci_low),
        ("difference_ci_high", d.ci_high),
    ):
        _put(out, key, value, d.reason)
    _put(out, "odds_ratio", o.odds_ratio, o.reason)
    _put(out, "odds_ratio_ci_low", o.ci_low, o.reason)
    _put(out, "odds_ratio_ci_high", o.ci_high, o.ci_reason or o.reason)
    out["odds_ratio_method"] = effect.odds_ratio_method
    if effect.firth is not None:
        f = effect.firth
        for key, value in (
            ("firth_odds_ratio", f.odds_ratio),
            ("firth_ci_low", f.ci_low),
            ("firth_ci_high", f.ci_high),
            ("firth_lr_chisq", f.lr_chisq),
            ("firth_lr_p", f.lr_p),
        ):
            _put(out, key, value, f.reason)
    return out


def _univariable_cox_dict(result: UnivariableCox, e_values: dict[str, EValue] | None = None) -> dict:
    out: dict[str, Any] = {
        "reference": result.reference,
        "n": int(result.n),
        "events": int(result.events),
        "ties": "efron",
    }
    if result.reason:
        out["reason"] = result.reason
    out["levels"] = {
        hr.level: _e_value_fields(
            _put_stats({"label": hr.label}, hr, _HAZARD_RATIO_STATS, hr.reason or result.reason),
            (e_values or {}).get(hr.level),
        )
        for hr in result.hazard_ratios
    }
    if e_values:
        out["e_value_rare_outcome"] = rare_outcome(result.events, result.n)
    return out


def _detectable_dict(result: DetectableHazardRatio) -> dict:
    out: dict[str, Any] = {"events": int(result.events), "alpha": result.alpha, "power": result.power}
    return _put_stats(out, result, ("proportion", "hr_below", "hr_above"), result.reason)


def _e_value_fields(target: dict, e: EValue | None) -> dict:
    """``e_value`` and ``e_value_ci`` (the CI limit closest to 1; 1 when the CI holds 1) beside a HR."""
    if e is not None:
        _put(target, "e_value", e.point, e.reason or "no hazard ratio")
        _put(target, "e_value_ci", e.ci, e.reason or "no hazard ratio")
    return target


def _cox_dict(result: CoxResult, e_values: dict[str, EValue] | None = None) -> dict:
    out: dict[str, Any] = {
        "model": result.model,
        "exposure": result.exposure,
        "covariates": list(result.covariates),
        "n": int(result.n),
        "events": int(result.events),
        "n_missing": int(result.n_missing),
        "n_coefficients": int(result.n_coefficients),
        "ties": result.ties,
        "method": result.method,
    }
    _put(out, "events_per_variable", result.events_per_variable, "the model has no coefficient")
    # "cox": Wald CIs and p; "firth": profile penalized-likelihood CIs, penalized LR p
    out["ci_method"] = "profile_penalized_likelihood" if result.method == FIRTH else "wald"
    out["p_method"] = "penalized_likelihood_ratio" if result.method == FIRTH else "wald"
    if result.method_reason:
        out["method_reason"] = result.method_reason
    if result.reason:
        out["reason"] = result.reason
    out["terms"] = {
        term.key: _e_value_fields(
            _put_stats({"label": term.label}, term, _HAZARD_RATIO_STATS, term.reason or result.reason),
            (e_values or {}).get(term.key),
        )
        for term in result.terms
    }
    if e_values:
        out["e_value_rare_outcome"] = rare_outcome(result.events, result.n)
    severity_reason = result.severity_global_reason or result.reason
    _put(out, "severity_global_chisq", result.severity_global_chisq, severity_reason)
    _put(out, "severity_global_p", result.severity_global_p, severity_reason)
    _put(out, "ph_test_global_p", result.ph_test_global_p, result.ph_test_reason or result.reason)
    out["ph_tests"] = {row.term: _put_stats({}, row, ("chisq", "df", "p"), result.reason) for row in result.ph_tests}
    return out


def results_to_dict(results: Results) -> dict[str, Any]:
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
    _put(out["followup"], "person_years", fu.person_years, "no patient")
    out["descriptives"] = {}
    for name, dist in results.descriptives.items():
        out["descriptives"][name] = _put_stats({"n": dist.n}, dist, ("median", "min", "max"), "no patient has a value")

    table1: dict[str, dict] = {}
    for (variable, grouping), comparison in results.table1.items():
        table1.setdefault(variable, {})[grouping] = _comparison_dict(comparison)
    out["table1"] = table1
    out["table1_overall"] = {variable: _overall_dict(level) for variable, level in results.table1_overall.items()}

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
            block["all"]["at_times"] = {
                f"{t:g}": _put_stats(
                    {"n": s.n, "n_at_risk": s.n_at_risk}, s, ("survival", "se", "ci_low", "ci_high"), s.reason
                )
                for t, s in zip(
                    results.plan.get("survival_times_months", ()), results.survival_at_times.get(endpoint, ())
                )
            }
        else:
            block[grouping] = _survival_dict(curves)
            if (endpoint, grouping) in results.survival_hr:
                e_values = {k[3]: e for k, e in results.e_values.items() if k[:3] == ("survival", endpoint, grouping)}
                block[grouping]["cox"] = _univariable_cox_dict(results.survival_hr[(endpoint, grouping)], e_values)
            if (endpoint, grouping) in results.survival_differences:
                block[grouping]["at_times"] = _differences_dict(results.survival_differences[(endpoint, grouping)])
            if (endpoint, grouping) in results.detectable_hr:
                block[grouping]["detectable_hr"] = _detectable_dict(results.detectable_hr[(endpoint, grouping)])
    out["survival"] = survival

    out["analysis_plan"] = {
        **results.plan,
        "covariates_used": list(results.model.covariates) if results.model else [],
        "covariates_unavailable": list(results.covariates_unavailable),
    }
    out["cox"] = {
        endpoint: _cox_dict(result, {k[2]: e for k, e in results.e_values.items() if k[:2] == ("cox", endpoint)})
        for endpoint, result in results.cox.items()
    }
    if results.cox_publication:
        out["cox_publication"] = {endpoint: _cox_dict(result) for endpoint, result in results.cox_publication.items()}

    functional: dict[str, dict] = {}
    for (endpoint, column), f in results.functional_forms.items():
        form: dict[str, Any] = {"per": f.per, "n": f.n, "events": f.events, "knots": list(f.knots)}
        _put(form, "cutoff", f.cutoff, "the analysis plan enters this covariate per unit")
        _put_stats(form, f, ("hr", "ci_low", "ci_high"), f.reason)
        _put_stats(form, f, ("nonlinearity_chisq", "nonlinearity_p"), f.nonlinearity_reason or f.reason)
        functional.setdefault(endpoint, {})[column] = form
    out["functional_forms"] = functional

    kinetics: dict[str, Any] = {"peak": {}}
    if results.kinetics_reason:
        kinetics["reason"] = results.kinetics_reason
    for grouping, comparison in results.kinetics_peak.items():
        kinetics["peak"][grouping] = _comparison_dict(comparison)
    kinetics.update(_kinetics_dict(results))
    # how the kinetics subset was selected: its patients against the others (review 29)
    kinetics["selection"] = {key: _comparison_dict(c) for key, c in results.kinetics_selection.items()}
    out["kinetics"] = kinetics
    if results.pvalues is not None:
        out["pvalues"] = _pvalues_dict(results.pvalues)

    extra: dict[str, Any] = {}
    if results.il6_by_blasts is not None:
        extra["il6_by_bm_blasts_ge20"] = {}
        _test_fields(extra["il6_by_bm_blasts_ge20"], results.il6_by_blasts)
    out["extra"] = extra
    out.update(_competing_and_landmark_dict(results))
    out.update(_time_dependent_dict(results))
    out["ph_sensitivity"] = {
        endpoint: {
            "flagged": list(found.flagged),
            "stratified": list(found.stratified),
            "time_varying": list(found.time_varying),
            **({"reason": found.reason} if found.result is None or found.reason else _cox_dict(found.result)),
        }
        for endpoint, found in results.ph_sensitivity.items()
    }
    if results.centers is not None:
        out["centers"] = _centers_dict(results.centers)
    _add_trend_onset_and_transplant(out, results)
    return out


def _centers_dict(supplement: CenterSupplement) -> dict[str, Any]:
    """Per-center counts under labels "Center 1..k" (no name; small centers pooled) and the
    stratified models."""
    out: dict[str, Any] = {
        "rows": [
            {
                "label": row.label,
                "n": int(row.n),
                "counts": {k: int(v) for k, v in row.counts.items()},
                "percents": {k: _number(v) for k, v in row.percents.items()},
                "denominators": {k: int(v) for k, v in row.denominators.items()},
                "centers": int(row.centers),
            }
            for row in supplement.rows
        ],
        "min_cell_size": int(supplement.min_cell_size),
        "n_centers": int(supplement.n_centers),
        "pooled_centers": int(supplement.pooled_centers),
        "pooled_patients": int(supplement.pooled_patients),
        "below_minimum": int(supplement.below_minimum),
        "suppressed": bool(supplement.suppressed),
        "stratified_cox": {endpoint: _cox_dict(result) for endpoint, result in supplement.cox.items()},
    }
    if supplement.cox_reason:
        out["stratified_cox_reason"] = supplement.cox_reason
    return out


def _competing_dict(result: CompetingRisks) -> dict:
    out: dict[str, Any] = {
        "n": result.n,
        "n_relapse": result.n_relapse,
        "n_nrm": result.n_nrm,
        **_risk_table(result),
    }
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
    out: dict[str, Any] = {
        "n": result.n,
        "n_before": result.n_before,
        "n_event_before": result.n_event_before,
        "n_censored_before": result.n_censored_before,
        "n_reclassified": result.n_reclassified,
    }
    if result.survival is None:
        out["reason"] = result.reason
        return out
    out.update(_survival_dict(result.survival))
    out["hr"] = {
        ratio.key: _put_stats({"label": ratio.label}, ratio, _HAZARD_RATIO_STATS, ratio.reason)
        for ratio in result.hazard_ratios
    }
    return out


def _competing_and_landmark_dict(results: Results) -> dict[str, Any]:
    landmark: dict[str, Any] = {"landmark_day": results.landmark_day}
    for (endpoint, grouping), comparison in results.landmark.items():
        landmark.setdefault(endpoint, {})[grouping] = _landmark_dict(comparison)
    out: dict[str, Any] = {
        "competing": {key: _competing_dict(value) for key, value in results.competing.items()},
        "landmark": landmark,
    }
    if results.cohort_flow is not None:
        out["cohort_flow"] = dataclasses.asdict(results.cohort_flow)
        if results.cohort_flow.excluded is None:  # null with its reason, as every null
            why = "the study file does not declare the patients screened and excluded (screening: excluded)"
            out["cohort_flow"]["excluded_reason"] = out["cohort_flow"]["screened_reason"] = why
    out["not_collected"] = list(results.not_collected)
    if results.data_quality is not None:
        quality = results.data_quality
        out["data_quality"] = {
            "warnings": dict(quality.warnings),
            "n_patients_warned": quality.n_patients_warned,
            "lost_to_followup": quality.lost_to_followup,
            "lost_after_days": quality.lost_after_days,
            "unread_sheets": [{"rows": rows, "patients": patients} for rows, patients in quality.unread_sheets],
            "fraction_columns": [dataclasses.asdict(f) for f in quality.fraction_columns],
        }
        _put(
            out["data_quality"],
            "lost_median_gap_months",
            quality.lost_median_gap_months,
            "no living patient was last seen that long before the cut-off",
        )
    return out


# ======================================================================================
# Trend tests, onset of CRS/ICANS, HSCT after CAR-T (issue 20)
# ======================================================================================


def _add_trend_onset_and_transplant(out: dict[str, Any], results: Results) -> None:
    for (response, grouping), test in results.response_trend.items():
        entry: dict[str, Any] = {"test": test.test}
        _put(entry, "statistic", test.statistic, test.reason)
        _put(entry, "p", test.p, test.reason)
        out["response"][response][grouping]["trend"] = entry
    for (endpoint, grouping), trend in results.survival_trend.items():
        entry = {"scores": dict(trend.scores), "n": trend.n, "events": trend.events, "ties": "efron"}
        out["survival"][endpoint][grouping]["trend"] = _put_stats(entry, trend, _HAZARD_RATIO_STATS, trend.reason)
    out["onset"] = {key: _onset_dict(value) for key, value in results.onset.items()}
    if results.transplant is not None:
        out["transplant"] = _transplant_dict(results.transplant)


def _onset_dict(onset: OnsetIncidence) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": onset.n,
        "onsets": onset.onsets,
        "deaths_before_onset": onset.deaths_before_onset,
        "censored": onset.censored,
    }
    _put(out, "median_day", onset.median_day, onset.median_reason)
    for point in onset.points:
        stem = f"cif_day{point.day}"
        _put(out, stem, point.estimate, point.reason)
        _put(out, f"{stem}_var", point.variance, point.reason)
        _put(out, f"{stem}_ci_low", point.ci_low, point.reason)
        _put(out, f"{stem}_ci_high", point.ci_high, point.reason)
    return out


def _transplant_dict(analysis: TransplantAnalysis) -> dict[str, Any]:
    c = analysis.counts
    out: dict[str, Any] = {
        "recorded": c.recorded,
        "n_hsct": c.n_hsct,
        "n_in_cr": c.n_in_cr,
        "n_after_relapse": c.n_after_relapse,
        "n_without_cr": c.n_without_cr,
        "relapsed_after_hsct_in_cr": c.relapsed_after,
        "died_without_relapse_after_hsct_in_cr": c.died_without_relapse_after,
    }
    if c.reason:
        out["reason"] = c.reason
    for name, timing in (("months_from_infusion", c.from_infusion), ("months_from_cr", c.from_cr)):
        out[name] = _put_stats({"n": timing.n}, timing, ("median", "min", "max"), "no patient transplanted")
    td: dict[str, Any] = {}
    for (endpoint, model), fit in analysis.time_dependent.items():
        entry: dict[str, Any] = {
            "n": fit.n,
            "n_rows": fit.n_rows,
            "events": fit.events,
            "n_hsct": fit.n_hsct,
            "n_zero_time": fit.n_zero_time,
            "ties": "efron",
        }
        if fit.reason:
            entry["reason"] = fit.reason
        entry["terms"] = {
            t.key: _put_stats({"label": t.label}, t, _HAZARD_RATIO_STATS, t.reason or fit.reason) for t in fit.terms
        }
        td.setdefault(endpoint, {})[model] = entry
    out["time_dependent"] = td
    censored: dict[str, Any] = {}
    for endpoint, result in analysis.censored.items():
        block: dict[str, Any] = {
            "n_censored_at_hsct": result.n_censored,
            "n_events_removed": result.n_events_removed,
            "all": _km_dict(result.survival["all"].levels[0]),
        }
        for grouping, comparison in result.survival.items():
            if grouping == "all":
                continue
            block[grouping] = _survival_dict(comparison)
            block[grouping]["cox"] = _univariable_cox_dict(result.hazard_ratios[grouping])
        censored[endpoint] = block
    out["censored_at_hsct"] = censored
    return out


def _location_dict(effect: LevelEffect) -> dict[str, Any]:
    shift = effect.shift
    out: dict[str, Any] = {
        "label": effect.label,
        "reference": effect.reference,
        "scale": "ratio" if shift.ratio else "shift",
        "n": int(shift.n_x),
        "n_reference": int(shift.n_y),
    }
    _put_stats(out, shift, ("estimate", "ci_low", "ci_high"), shift.reason)
    if shift.exact is not None:
        out["method"] = "exact" if shift.exact else "normal_approximation"
    return out


def _kinetics_dict(results: Results) -> dict[str, Any]:
    """Cmax/Tmax/AUC by the kinetics table's groupings with their effects, how the AUCs were
    obtained, the visit windows and the profiles per visit (docs/results.md)."""
    out: dict[str, Any] = {"metrics": {}, "visit_windows": [{"day": d, "within": w} for d, w in results.visit_windows]}
    for (metric, grouping), kc in results.kinetics_metrics.items():
        entry = _comparison_dict(kc.comparison)
        entry["effects"] = {e.level: _location_dict(e) for e in kc.effects}
        out["metrics"].setdefault(metric, {})[grouping] = entry
    if results.kinetics_auc is not None:
        out["auc"] = dataclasses.asdict(results.kinetics_auc)
    out["profiles"] = {
        grouping: [
            {
                "level": str(row.level),
                "day": _number(row.day),
                "within": _number(row.within),
                "n": int(row.n),
                "median": _number(row.median),
                "q1": _number(row.q1),
                "q3": _number(row.q3),
            }
            for row in profile.itertuples(index=False)
        ]
        for grouping, profile in results.kinetics_profiles.items()
    }
    return out


def _pvalues_dict(table: PValueTable) -> dict[str, Any]:
    """Every p-value of the report with its family and its Holm / BH adjustments (within family)."""
    return {
        "alpha": table.alpha,
        "n": table.n,
        "families": {
            f.key: {"title": f.title, "n": f.n, "n_significant": f.n_significant, "n_holm": f.n_holm, "n_bh": f.n_bh}
            for f in table.families
        },
        "rows": [
            {
                "family": r.family,
                "label": r.label,
                "test": r.test,
                "p": _number(r.p),
                "p_holm": _number(r.p_holm),
                "p_bh": _number(r.p_bh),
                "path": r.path,
                **({"same_as": r.same_as} if r.same_as else {}),
            }
            for r in table.rows
        ],
    }


# ======================================================================================
# Toxicity as a time-dependent exposure and the multivariable landmark model (issue 20)
# ======================================================================================


def _time_dependent_dict(results: Results) -> dict[str, Any]:
    onsets = {}
    for toxicity, summary in results.onset_days.items():
        item: dict[str, Any] = {"n": summary.n, "n_after_day0": summary.n_after_day0}
        onsets[toxicity] = _put_stats(
            item, summary, ("median_day", "q1_day", "q3_day", "min_day", "max_day"), "no patient had this toxicity"
        )
    td: dict[str, Any] = {"onsets": onsets}
    for (endpoint, grouping), comparison in results.time_dependent.items():
        mb = comparison.mantel_byar
        entry: dict[str, Any] = {
            "n": comparison.n,
            "n_rows": comparison.n_rows,
            "events": comparison.events,
            "n_zero_time": comparison.n_zero_time,
            "n_changed": comparison.n_changed,
        }
        _put(entry, "mantel_byar_chisq", mb.chisq, mb.reason)
        _put(entry, "mantel_byar_df", mb.df, mb.reason)
        _put(entry, "mantel_byar_p", mb.p, mb.reason)
        entry["cox"] = _cox_dict(comparison.cox)
        entry["levels"] = {level.key: _km_dict(level) for level in comparison.curves.levels}
        entry.update(_risk_table(comparison.curves))
        td.setdefault(endpoint, {})[grouping] = entry
    for endpoint, model in results.time_dependent_cox.items():
        td.setdefault(endpoint, {})["multivariable"] = _cox_dict(model)
    models: dict[str, Any] = {}
    for (endpoint, day), lm in results.landmark_models.items():
        item = {
            "n_before": lm.n_before,
            "n_event_before": lm.n_event_before,
            "n_censored_before": lm.n_censored_before,
            "n_reclassified": lm.n_reclassified,
        }
        if lm.cox is None:
            item["reason"] = lm.reason
        else:
            item.update(_cox_dict(lm.cox))
        models.setdefault(str(day), {})[endpoint] = item
    return {"time_dependent": td, "landmark_models": models}
