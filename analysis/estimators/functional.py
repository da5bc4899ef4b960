"""The functional form of the continuous covariates of the multivariable model (STROBE item
11): a covariate the plan enters at a cut-off is entered as a continuous term instead, and the
linearity of every continuous covariate is tested.

* The continuous model: the plan's Cox model (Efron ties) with ``column`` entered per unit
  (instead of "at or above the cut-off" when the plan has one; otherwise the plan's model
  itself); its hazard ratio is reported per ``per`` units
  (marrow blasts: per 10 percentage points), ``exp(per * coef)`` with the Wald 95% CI
  ``exp(per * (coef ± 1.96 se))``.
* Linearity: the same model with a restricted cubic spline of the covariate — the linear
  term and one nonlinear basis term with 3 knots at the 10th, 50th and 90th percentiles of
  the model's patients (Harrell, *Regression Modeling Strategies*, 2nd ed., section 2.4.5;
  the basis of ``Hmisc::rcspline.eval`` with ``norm = 2``); the Wald test of the nonlinear
  coefficient tests the linear form against the spline (Harrell's ``anova`` "Nonlinear"
  line). R reference: ``coxph(Surv(time, status) ~ age + x + x1 + ..., ties = "efron")``
  with ``x1`` the basis term computed as below (``tests/reference/r_functional.R``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.estimators.cox import ModelSpec, _fit_efron, design_matrix, fit_cox, model_columns, model_terms
from analysis.estimators.survival import Z95

#: Knot positions (quantiles) of the 3-knot restricted cubic spline (Harrell's default).
SPLINE_QUANTILES = (0.10, 0.50, 0.90)


@dataclass(frozen=True)
class FunctionalForm:
    """A covariate of the model entered continuously instead of at its cut-off."""

    endpoint: str
    column: str
    cutoff: float | None  # the plan's cut-off the continuous term replaces (None: entered per unit in the plan)
    per: float  # the hazard ratio is per this many units
    n: int
    events: int
    hr: float | None  # per ``per`` units, the other terms of the plan's model unchanged
    ci_low: float | None
    ci_high: float | None
    knots: tuple[float, ...] = ()
    #: Wald test of the spline's nonlinear term (linearity): a model check, not an effect
    nonlinearity_chisq: float | None = None
    nonlinearity_p: float | None = None
    reason: str | None = None  # why the continuous HR is not estimable
    nonlinearity_reason: str | None = None


def is_continuous(column: str) -> bool:
    """Whether a cohort column is a number (a per-unit term of a model), not a yes/no or a category."""
    from analysis.registry.diseases import field_kind

    return field_kind(column) in ("number", "integer")


def rcs_basis(x: np.ndarray, knots) -> np.ndarray:
    """The nonlinear basis term of a 3-knot restricted cubic spline, divided by (t3 - t1)^2
    (``Hmisc::rcspline.eval(x, knots, norm = 2)``): linear beyond the outer knots."""
    t1, t2, t3 = (float(k) for k in knots)

    def cube(v):
        return np.where(v > 0, v, 0.0) ** 3

    x = np.asarray(x, dtype=float)
    out = cube(x - t1) - cube(x - t2) * (t3 - t1) / (t3 - t2) + cube(x - t3) * (t2 - t1) / (t3 - t2)
    return out / (t3 - t1) ** 2


def functional_form(
    df: pd.DataFrame,
    endpoint: str,
    model: ModelSpec,
    column: str,
    per: float = 1.0,
    frame: pd.DataFrame | None = None,
) -> FunctionalForm:
    """The plan's model with ``column`` continuous (instead of at its cut-off, if any; HR per
    ``per`` units) and the Wald test of a restricted cubic spline's nonlinear term (see the
    module). ValueError for a column that is not a continuous covariate of the model.
    ``frame``: ``endpoint_frame(df, endpoint)`` when already made."""
    from analysis.estimators.survival import chi2_sf, endpoint_data

    if column not in model.covariates:
        raise ValueError(f"{column!r} is not a covariate of the model")
    cutoff = model.cutoff(column)
    linear = replace(model, cutoffs=tuple((c, v) for c, v in model.cutoffs if c != column), name="continuous")
    if not is_continuous(column) or any(t.term == column and t.key != column for t in model_terms(linear)):
        raise ValueError(f"{column!r} is not a continuous covariate (a yes/no or categorical column)")
    fit = fit_cox(df, endpoint, model=linear, ph_test=False, frame=frame)
    term = next(t for t in fit.terms if t.key == column)
    base = FunctionalForm(
        endpoint=endpoint,
        column=column,
        cutoff=None if cutoff is None else float(cutoff),
        per=float(per),
        n=fit.n,
        events=fit.events,
        hr=None,
        ci_low=None,
        ci_high=None,
    )
    if term.coef is None or term.se is None:
        return replace(base, reason=term.reason or fit.reason)
    hr = math.exp(per * term.coef)
    low, high = math.exp(per * (term.coef - Z95 * term.se)), math.exp(per * (term.coef + Z95 * term.se))
    result = replace(base, hr=hr, ci_low=low, ci_high=high)

    data = endpoint_data(df, endpoint, model_columns(linear), frame)
    X = design_matrix(data, linear)
    patients = data[["months", "event"]].join(X).dropna()  # the continuous model's patients (R na.omit)
    values = patients[column].to_numpy(dtype=float)
    knots = tuple(float(k) for k in np.quantile(values, SPLINE_QUANTILES)) if values.size else ()
    if len(set(knots)) < 3:
        return replace(result, knots=knots, nonlinearity_reason="fewer than 3 distinct knots: no spline")
    patients = patients.assign(spline=rcs_basis(values, knots))
    names = [c for c in [*X.columns, "spline"] if patients[c].nunique() > 1]  # a constant column: left out, as R
    coef, cov, _, problem, _ = _fit_efron(patients, names)
    if coef is None or problem:
        return replace(result, knots=knots, nonlinearity_reason=problem or "spline model not estimable")
    if "spline" not in names:
        return replace(result, knots=knots, nonlinearity_reason="the spline term is constant in these patients")
    j = names.index("spline")
    if not (np.isfinite(cov[j, j]) and cov[j, j] > 0):
        return replace(result, knots=knots, nonlinearity_reason="the spline term's variance is not estimable")
    chisq = float(coef[j] ** 2 / cov[j, j])
    return replace(result, knots=knots, nonlinearity_chisq=chisq, nonlinearity_p=chi2_sf(chisq, 1))
