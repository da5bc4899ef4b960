"""Sensitivity analysis of a multivariable Cox model whose proportional-hazards test flags a
covariate (review 29, finding 13).

The rule, one for every endpoint: each covariate term whose cox.zph test is below alpha is
relaxed, the exposure's terms are kept as they are (they are the estimates the report is
about, so the question is whether they move).

- a yes/no covariate (a 0/1 coefficient: a cut-off, a boolean, a category) becomes a stratum,
  with its own baseline hazard (R ``strata()``), and leaves the linear predictor;
- a numeric covariate keeps its coefficient and gains a time interaction ``x * log(t)``
  (R ``tt = function(x, t, ...) x * log(t)``), fitted as counting-process intervals split at
  every event time (the interaction is then constant within each interval, and its value at
  an event time is the one R's ``tt()`` uses).

R equivalent (tests/test_review_findings.py holds the demo's values)::

    coxph(Surv(t, ev) ~ age + ph + dose + tt(dose) + sev + strata(blast20), d,
          tt = function(x, t, ...) x * log(t), ties = "efron")
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.estimators.cox import START, STRATUM, CoxResult, ModelSpec, design_matrix, fit_model, model_terms


@dataclass(frozen=True)
class PHSensitivity:
    """The model refitted with the flagged covariates relaxed: ``stratified`` and
    ``time_varying`` name the terms (labels) that became strata or gained ``x * log(t)``;
    ``result`` is the refitted model (its exposure terms and joint test), None with a
    ``reason`` when it cannot be fitted."""

    endpoint: str
    flagged: tuple[str, ...]  # term labels whose PH test was below alpha
    stratified: tuple[str, ...]
    time_varying: tuple[str, ...]
    result: CoxResult | None
    reason: str | None = None


def flagged_terms(cox: CoxResult, alpha: float) -> list[str]:
    """The covariate terms (cox.zph term names, not GLOBAL and not the exposure's) whose
    proportional-hazards test is below ``alpha``."""
    exposure_names = {cox.exposure} | {t.key for t in cox.exposure_terms}
    return [
        t.term
        for t in cox.ph_tests
        if t.term != "GLOBAL" and t.p is not None and t.p < alpha and t.term not in exposure_names
    ]


def _split_at_event_times(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per patient and interval (start, stop] between consecutive event times (R
    ``survSplit`` at the event times): the event only in a patient's last interval."""
    times = np.unique(frame.loc[frame["event"].astype(bool), "months"].to_numpy(dtype=float))
    rows = []
    for index, months, event in zip(frame.index, frame["months"].to_numpy(float), frame["event"].to_numpy(bool)):
        cuts = times[times < months]
        starts = np.concatenate([[0.0], cuts])
        stops = np.concatenate([cuts, [months]])
        for k, (a, b) in enumerate(zip(starts, stops)):
            if b <= a:  # follow-up of length 0 (censored at time 0): in no risk set, as in R
                continue
            rows.append((index, a, b, bool(event) and k == len(stops) - 1))
    out = pd.DataFrame(rows, columns=["row", START, "months", "event"]).set_index("row")
    out.index.name = frame.index.name
    return out


def ph_sensitivity(
    df: pd.DataFrame,
    endpoint: str,
    model: ModelSpec,
    cox: CoxResult,
    alpha: float,
    frame: pd.DataFrame | None = None,
) -> PHSensitivity | None:
    """The sensitivity model for one endpoint (module docstring), None when no covariate's
    proportional-hazards test is below ``alpha``. ``frame``: ``endpoint_frame(df, endpoint)``
    when already made."""
    from analysis.estimators.cox import model_columns
    from analysis.estimators.survival import endpoint_data

    flagged = flagged_terms(cox, alpha)
    if not flagged:
        return None
    specs = model_terms(model)
    labels = {t.key: t.label for t in specs}
    data = endpoint_data(df, endpoint, model_columns(model), frame)
    X = design_matrix(data, model)
    # the coefficients of each flagged term (a categorical covariate's term has several)
    keys = {
        name: [t.key for t in specs if t.key == name or (t.term == name and t.exposure_level is None)]
        for name in flagged
    }
    binary: list[str] = []
    numeric: list[str] = []
    for ks in keys.values():
        values = X[ks].to_numpy(dtype=float)
        seen = values[~np.isnan(values)]
        (binary if np.isin(seen, (0.0, 1.0)).all() else numeric).extend(ks)
    flagged_labels = tuple(labels[k] for ks in keys.values() for k in ks)

    def outcome(result, reason) -> PHSensitivity:
        return PHSensitivity(
            endpoint,
            flagged_labels,
            tuple(labels[k] for k in binary),
            tuple(labels[k] for k in numeric),
            result,
            reason,
        )

    frame = data[["months", "event"]].copy()
    if binary:
        # one stratum per combination of the flagged yes/no terms; a missing value, no stratum
        codes = X[binary]
        frame[STRATUM] = codes.astype("Int64").astype(str).agg("/".join, axis=1).where(codes.notna().all(axis=1))
        X = X.drop(columns=binary)
    if numeric:
        event_times = frame.loc[frame["event"].astype(bool), "months"]
        if (event_times <= 0).any():
            return outcome(None, "an event at time 0 has no log(time): the time interaction is not defined")
        split = _split_at_event_times(frame[["months", "event"]])
        extra = frame.drop(columns=["months", "event"])
        frame = split.join(extra)
        X = X.loc[split.index]
        for k in numeric:
            X[f"{k}_x_log_t"] = X[k].to_numpy(dtype=float) * np.log(split["months"].to_numpy(dtype=float))
    reduced = ModelSpec(
        model.exposure,
        tuple(c for c in model.covariates if not any(t.term == c and t.key in binary for t in specs)),
        model.cutoffs,
        "proportional-hazards sensitivity",
    )
    X = X[[t.key for t in model_terms(reduced)] + [c for c in X.columns if c.endswith("_x_log_t")]]
    try:
        result = fit_model(frame, X, endpoint, reduced, stratified=bool(binary), ph_test=False)
    except np.linalg.LinAlgError as exc:  # a degenerate design (tiny or pathological cohorts)
        return outcome(None, f"the sensitivity model could not be fitted ({exc})")
    return outcome(result, result.reason)
