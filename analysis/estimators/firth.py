"""Firth's penalized Cox partial likelihood for monotone likelihood, as R ``coxphf``.

When a covariate separates the events (e.g. every relapse is in a patient who got
steroids), the Cox partial likelihood keeps increasing as that coefficient goes to
infinity: the maximum likelihood estimate does not exist. Firth (1993) penalizes the
log-likelihood by half the log-determinant of the information,
``log L(beta) + 0.5 log det I(beta)`` (Jeffreys' prior); Heinze & Schemper (2001)
showed that this gives finite estimates for the Cox model, with confidence intervals
from the profile penalized likelihood and penalized likelihood-ratio tests. This is
what R's ``coxphf`` (Heinze et al.) computes::

    coxphf(Surv(time, status) ~ x1 + x2 + ..., data = d)       # pl = TRUE, penalty = 0.5
    coxphftest(Surv(time, status) ~ x1 + x2 + ..., test = ~ x2 + x3, data = d)

``coxphf`` uses **Breslow** ties (its Fortran ``firthcox`` and ``fit$method.ties ==
"breslow"``); so does this module, so that results agree with ``coxphf`` on tied
data. The fit and the profile CIs come from the PyPI package ``firthmodels``
(``FirthCoxPH``, Breslow ties), checked against ``coxphf`` output and against a
direct maximization in ``tests/test_firth.py``. Penalized likelihood-ratio tests
(each coefficient, and the joint 2-df CRS/ICANS test) maximize the penalized
likelihood with the tested coefficients held at 0, with the analytic gradient
below, as ``coxphf``/``coxphftest`` do.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: Convergence of the Firth Newton-Raphson: max |modified score| and max |step|.
#: Tighter than coxphf's defaults (1e-4, 1e-6): estimates reproducible to ~1e-8. Tighter
#: still (1e-9) fails at the floating-point floor (firthmodels' step halving gives up).
GTOL = 1e-6
XTOL = 1e-8
MAX_ITER = 200
#: Profile-likelihood CI bound (Venzon-Moolgavkar in firthmodels): tolerance (its default
#: is 1e-4) and iterations (coxphf's maxit); a bound it misses is found by root finding
#: on the profile (``_profile_limit``).
PL_TOL = 1e-8
PL_MAX_ITER = 50
CHI2_95 = float(stats.chi2.ppf(0.95, 1))
#: How far (log-likelihood units) a limit's profile may be from the chi2 contour: a limit
#: off by 1e-4 in the log-likelihood is off by about 1e-4 / |score| in beta.
PROFILE_TOL = 1e-5
#: Convergence of a constrained maximum (LR tests, profile limits): max |modified score|.
#: Only its value is used, and that is off by about |score|^2 / (2 x curvature): 1e-7 leaves
#: it within ~1e-13 (LR statistics and profile limits moved by < 1e-12 from 1e-10, which
#: BFGS mostly missed at the floating-point floor, grinding on: twice the CPU; issue 23).
CONSTRAINED_GTOL = 1e-7
#: A constrained fit with a coefficient beyond this (log hazard ratio per unit of a centred
#: covariate; e^5 = 148) is near separation: it is started again from 0 (``_constrained_max``).
RIDGE = 5.0


@dataclass(frozen=True)
class FirthFit:
    """Firth-penalized Cox fit (Breslow ties); coefficients on the log-hazard scale."""

    coef: np.ndarray  # (p,)
    se: np.ndarray  # sqrt(diag(I(beta)^-1)), as coxphf's se(coef)
    ci_low: np.ndarray  # profile penalized-likelihood 95% CI (log scale)
    ci_high: np.ndarray
    lr_chisq: np.ndarray  # penalized likelihood-ratio test of beta_j = 0, 1 df
    lr_p: np.ndarray
    penalized_loglik: float  # log L + 0.5 log det I at the estimate (this module's constant)
    converged: bool
    iterations: int


def canonical_order(time, event, X) -> np.ndarray:
    """Row order by (time, event, covariates): the same patients in any row order give the
    same arrays. The fit stops at max |score| < GTOL, and where in that neighbourhood it
    stops depends on the summation order (Hypothesis found a shuffled cohort's HR moving
    by 1e-7), so every fit sees the rows in this order."""
    X = np.asarray(X, dtype=float).reshape(len(np.asarray(time)), -1)
    keys = [X[:, j] for j in range(X.shape[1] - 1, -1, -1)]
    return np.lexsort([*keys, np.asarray(event, dtype=bool), np.asarray(time, dtype=float)])


def _prepare(time, event, X):
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    X = np.asarray(X, dtype=float).reshape(time.size, -1)
    order = canonical_order(time, event, X)  # in time order, as the risk sets need
    t, e, x = time[order], event[order], X[order]
    x = x - x.mean(axis=0)  # same coefficients and penalty, better conditioning
    ev_times, d = np.unique(t[e], return_counts=True)
    start = np.searchsorted(t, ev_times, side="left")  # first subject at risk
    grp = np.searchsorted(ev_times, t[e])
    s = np.vstack(
        [np.bincount(grp, weights=x[e, j], minlength=ev_times.size) for j in range(x.shape[1])]
    ).T  # covariate sums of the deaths
    return x, start, d.astype(float), s


def _moments(x, start, beta, third: bool):
    """Risk-set sums S0, S1, S2 (and S3) at each event time, with exp(eta) rescaled; S2 and
    S3 flattened (k, p*p) and (k, p**3). One reversed cumulative sum for all of them: the
    penalized likelihood is evaluated thousands of times per fit (profile limits, tests)."""
    eta = x @ beta
    top = eta.max()
    r = np.exp(eta - top)
    n, p = x.shape
    xx = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    parts = [r[:, None], r[:, None] * x, r[:, None] * xx]
    if third:
        parts.append(r[:, None] * (xx[:, :, None] * x[:, None, :]).reshape(n, p * p * p))
    sums = np.cumsum(np.concatenate(parts, axis=1)[::-1], axis=0)[::-1][start]  # sum over t_i >= t
    S3 = sums[:, 1 + p + p * p :] if third else None
    return top, sums[:, 0], sums[:, 1 : 1 + p], sums[:, 1 + p : 1 + p + p * p], S3


def penalized_terms(time, event, X, beta, gradient: bool = True):
    """(log L + 0.5 log det I, its gradient = Firth's modified score, I) at ``beta``, Breslow ties.

    The gradient of 0.5 log det I is 0.5 tr(I^-1 dI/dbeta_r), dI/dbeta_r the sum over
    deaths of the third central moment of x in the risk set (Heinze & Schemper 2001, eq. 2).
    """
    x, start, d, s = _prepare(time, event, X)
    return _penalized(x, start, d, s, np.asarray(beta, dtype=float), gradient)


def _penalized(x, start, d, s, beta, gradient):
    p = x.shape[1]
    shift, S0, S1, S2, S3 = _moments(x, start, beta, gradient)
    xbar = S1 / S0[:, None]
    per_risk_set = d / S0
    d_xbar = d[:, None] * xbar
    info = (S2.T @ per_risk_set).reshape(p, p) - xbar.T @ d_xbar
    loglik = float(np.sum(s @ beta) - np.sum(d * (np.log(S0) + shift)))
    sign, logdet = np.linalg.slogdet(info)
    penalized = loglik + 0.5 * logdet if sign > 0 else -np.inf
    if not gradient:
        return penalized, None, info
    score = s.sum(axis=0) - d_xbar.sum(axis=0)
    # dI_ab / dbeta_c: the deaths' sum of the third central moment of x in the risk set,
    # E[x_a x_b x_c] - E[x_a x_b] xbar_c - E[x_a x_c] xbar_b - E[x_b x_c] xbar_a + 2 xbar_a xbar_b xbar_c
    m2_xbar = ((S2 / S0[:, None]).T @ d_xbar).reshape(p, p, p)  # sum d E[x_a x_b] xbar_c
    xbar_xbar = (xbar[:, :, None] * xbar[:, None, :]).reshape(len(S0), p * p)
    dinfo = (
        (S3.T @ per_risk_set).reshape(p, p, p)
        - m2_xbar
        - m2_xbar.transpose(0, 2, 1)
        - m2_xbar.transpose(2, 0, 1)
        + 2 * (xbar_xbar.T @ d_xbar).reshape(p, p, p)
    )
    modified = score + 0.5 * np.linalg.inv(info).ravel() @ dinfo.reshape(p * p, p)
    return penalized, modified, info


def fit_firth(time, event, X) -> FirthFit:
    """Firth-penalized Cox fit with profile CIs and 1-df penalized LR tests (firthmodels)."""
    from threadpoolctl import threadpool_limits

    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    X = np.asarray(X, dtype=float).reshape(time.size, -1)
    order = canonical_order(time, event, X)
    # p x p matrices: a multi-threaded BLAS only adds overhead (13x slower on a shared 2-core machine)
    with threadpool_limits(limits=1):
        return _fit_firth(time[order], event[order], X[order])


def _fit_firth(time, event, X) -> FirthFit:
    from firthmodels import FirthCoxPH
    from sklearn.exceptions import ConvergenceWarning

    X = np.asarray(X, dtype=float)
    y = (np.asarray(event, dtype=bool), np.asarray(time, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # non-convergence is read from the fit
        model = FirthCoxPH(backend="numpy", max_iter=MAX_ITER, gtol=GTOL, xtol=XTOL).fit(X, y)
        ci = model.conf_int(alpha=0.05, method="pl", tol=PL_TOL, max_iter=PL_MAX_ITER)
    fit = FirthFit(
        coef=np.asarray(model.coef_, dtype=float),
        se=np.asarray(model.bse_, dtype=float),
        ci_low=ci[:, 0].astype(float),
        ci_high=ci[:, 1].astype(float),
        lr_chisq=np.full(X.shape[1], np.nan),
        lr_p=np.full(X.shape[1], np.nan),
        penalized_loglik=penalized_terms(time, event, X, model.coef_, gradient=False)[0],
        converged=bool(model.converged_) or _at_maximum(time, event, X, model.coef_),
        iterations=int(model.n_iter_),
    )
    # 1-df tests by the same constrained maximization as the 2-df group test (firthmodels'
    # lrt() has 1-df tests only, and with its gtol at 1e-9 its constrained fits failed on
    # coxphf's breast example: one method for every test)
    tests = [penalized_lr_test(time, event, X, fit, [j]) for j in range(X.shape[1])]
    low, high = fit.ci_low.copy(), fit.ci_high.copy()
    for j in range(X.shape[1]):
        # firthmodels' Venzon-Moolgavkar iteration can stop on a point that is not on the
        # profile's chi2 contour (found by Hypothesis: flipping another 0/1 covariate, which
        # leaves the profile unchanged, moved a lower limit from 0.0027 to 0.0058): every
        # limit is checked on the profile and found by root finding when it is off
        if not _on_profile_contour(time, event, X, fit, j, low[j]):
            low[j] = _profile_limit(time, event, X, fit, j, -1)
        if not _on_profile_contour(time, event, X, fit, j, high[j]):
            high[j] = _profile_limit(time, event, X, fit, j, +1)
    return dataclasses.replace(
        fit, lr_chisq=np.array([t[0] for t in tests]), lr_p=np.array([t[2] for t in tests]), ci_low=low, ci_high=high
    )


def _constrained_max(x, start, d, s, fixed: dict[int, float], init: np.ndarray) -> tuple[float, np.ndarray]:
    """max of the penalized log-likelihood over beta with beta[j] = v for (j, v) in ``fixed``."""
    p = x.shape[1]
    free = [j for j in range(p) if j not in fixed]

    def full(b_free):
        beta = np.zeros(p)
        beta[free] = b_free
        for j, v in fixed.items():
            beta[j] = v
        return beta

    if not free:
        return _penalized(x, start, d, s, full([]), False)[0], full([])

    def objective(b_free):
        try:
            value, grad, _ = _penalized(x, start, d, s, full(b_free), True)
        except np.linalg.LinAlgError:  # a line-search trial point where the information is singular
            return np.inf, np.zeros(len(free))
        if not np.isfinite(value):
            return np.inf, np.zeros(len(free))
        return -value, -grad[free]

    def maximize(start):
        return optimize.minimize(
            objective, start, jac=True, method="BFGS", options={"gtol": CONSTRAINED_GTOL, "maxiter": 1000}
        )

    best = maximize(init[free])
    # BFGS can end on "precision loss" (status 2) short of its gtol, with the score below
    # the fit's own GTOL: a maximum to the floating-point floor. Started again from 0, 704
    # such fits of 60 random small models all came back no higher (issue 23).
    at_floor = best.status == 2 and np.max(np.abs(best.jac), initial=0.0) < GTOL
    if not (best.success or at_floor) or np.max(np.abs(best.x), initial=0.0) > RIDGE:
        # Near separation the penalized likelihood can have a flat ridge on which BFGS stops
        # short of the constrained maximum, and which maximum it reaches depends on where it
        # starts (found by Hypothesis: flipping a 0/1 covariate, which mirrors the profile
        # exactly, gave limits 7.083 and -6.968; the latter's constrained fit from the
        # estimate, with another coefficient at 14.6, was 0.053 below the one from 0): a
        # second start from 0 there, the better kept.
        other = maximize(np.zeros(len(free)))
        if other.fun < best.fun:
            best = other
    return -float(best.fun), full(best.x)


def _at_maximum(time, event, X, beta) -> bool:
    """Whether beta maximizes the penalized log-likelihood although firthmodels' step
    halving gave up at the floating-point floor: max |modified score| below GTOL, or the
    Newton decrement s'I^-1 s / 2 below 1e-12 (scale-free: with a covariate such as age in
    years the score stays ~1e-6 from rounding alone, and the same data in another row
    order were 'converged' or not)."""
    _, score, info = penalized_terms(time, event, X, beta)
    if float(np.max(np.abs(score))) < GTOL:
        return True
    try:
        return bool(score @ np.linalg.solve(info, score) / 2 < 1e-12)
    except np.linalg.LinAlgError:
        return False


def _on_profile_contour(time, event, X, fit: FirthFit, j: int, value: float) -> bool:
    """Whether beta_j = value is a 95% profile limit: the penalized log-likelihood maximized
    over the other coefficients is chi2_1(0.95)/2 below the maximum there (within 1e-4)."""
    if not np.isfinite(value):
        return False
    x, start, d, s = _prepare(time, event, X)
    profile, _ = _constrained_max(x, start, d, s, {j: float(value)}, fit.coef.copy())
    return bool(abs(profile - (fit.penalized_loglik - CHI2_95 / 2)) < PROFILE_TOL)


def _profile_limit(time, event, X, fit: FirthFit, j: int, side: int) -> float:
    """A profile penalized-likelihood 95% limit by root finding, where firthmodels'
    Venzon-Moolgavkar iteration did not converge: the value v of beta_j (below or above
    the estimate) where max over the other coefficients of the penalized log-likelihood
    is chi2_1(0.95)/2 below its maximum. NaN if not bracketed within |v - beta_j| < 50."""
    x, start, d, s = _prepare(time, event, X)
    target = fit.penalized_loglik - CHI2_95 / 2
    state = {"beta": fit.coef.copy()}

    def gap(v):
        value, beta = _constrained_max(x, start, d, s, {j: v}, state["beta"])
        state["beta"] = beta
        return value - target

    inner, step = float(fit.coef[j]), max(float(fit.se[j]), 0.1) if np.isfinite(fit.se[j]) else 1.0
    outer = inner + side * step
    while gap(outer) > 0:
        inner, outer, step = outer, outer + side * step, 2 * step
        if abs(outer - fit.coef[j]) > 50:
            return float("nan")
    state["beta"] = fit.coef.copy()
    try:
        return float(optimize.brentq(gap, min(inner, outer), max(inner, outer), xtol=1e-10))
    except ValueError:
        return float("nan")


def penalized_lr_test(time, event, X, fit: FirthFit, fixed: list[int]) -> tuple[float, int, float]:
    """Penalized likelihood-ratio test that the coefficients ``fixed`` are all 0 (R ``coxphftest``):
    2 (pl(beta_hat) - max pl over beta with beta[fixed] = 0), chi-square on len(fixed) df."""
    x, start, d, s = _prepare(time, event, X)
    constrained, _ = _constrained_max(x, start, d, s, {j: 0.0 for j in fixed}, fit.coef)
    chisq = max(0.0, 2.0 * (fit.penalized_loglik - constrained))
    return chisq, len(fixed), float(stats.chi2.sf(chisq, len(fixed)))


# --------------------------------------------------------------------------------------
# Firth logistic regression of a 2x2 table (Firth 1993; Heinze & Schemper 2002)
# --------------------------------------------------------------------------------------
#
# A response compared between two groups is the logistic model logit p = alpha + beta x,
# x = 1 in the exposed group; exp(beta) is the odds ratio. With a zero cell (every patient
# of a group responded, or none did) the maximum-likelihood beta is infinite and the
# conditional MLE of fisher.test is 0 or infinity. Firth's penalty 0.5 log det I(alpha,
# beta) gives a finite estimate; Heinze & Schemper (2002) recommend it for separation in
# logistic regression, with profile penalized-likelihood confidence intervals (R logistf,
# whose defaults these are). For two groups the information is diag-free in closed form:
# det I = n0 p0 (1 - p0) n1 p1 (1 - p1), so the penalized log-likelihood is the binomial
# log-likelihood of the table with 1/2 added to every cell (plus a constant): the estimate
# is the odds ratio of the table plus 1/2 (Haldane's correction), and the profile interval
# is found here on that likelihood, from cell counts (any number of patients costs the same).


@dataclass(frozen=True)
class FirthOddsRatio:
    """Firth-penalized odds ratio of a 2x2 table (exposed / reference) with the profile
    penalized-likelihood 95% CI and the penalized likelihood-ratio test of OR = 1 (R
    ``logistf(y ~ x)``: ``exp(coef)``, ``exp(confint)``, ``prob``)."""

    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    lr_chisq: float | None
    lr_p: float | None
    reason: str | None = None


def _augmented_loglik(a: np.ndarray, b: np.ndarray, alpha: float, beta: float) -> float:
    """sum over the two groups of a log p + b log(1 - p), logit p = alpha + beta x (x = 0, 1),
    written with log-sigmoids so that it stays finite for any alpha, beta."""
    eta = np.array([alpha, alpha + beta])
    log_p = -np.logaddexp(0.0, -eta)
    log_q = -np.logaddexp(0.0, eta)
    return float(np.sum(a * log_p + b * log_q))


def _profile_alpha(a: np.ndarray, b: np.ndarray, beta: float) -> float:
    """The intercept maximizing the augmented log-likelihood at a fixed beta: the root of
    sum(a - (a + b) p) (decreasing in alpha), bracketed by the two groups' own logits."""
    from scipy.special import expit

    def score(alpha):
        return float(np.sum(a - (a + b) * expit(np.array([alpha, alpha + beta]))))

    own = np.log(a / b)  # each group's logit: the root lies between
    low, high = float(min(own[0], own[1] - beta)) - 1.0, float(max(own[0], own[1] - beta)) + 1.0
    return float(optimize.brentq(score, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def firth_odds_ratio(table) -> FirthOddsRatio:
    """Firth logistic regression of ``table = [[a, b], [c, d]]`` (rows: exposed, reference;
    columns: response yes, no), as R ``logistf(y ~ x)`` (see the section comment)."""
    t = np.asarray(table, dtype=float)
    if t.shape != (2, 2) or (t < 0).any():
        raise ValueError("a 2x2 table of non-negative counts is required")
    if (t.sum(axis=1) == 0).any():
        return FirthOddsRatio(None, None, None, None, None, "a group has no patient: odds ratio undefined")
    # groups in model order: reference (x = 0), exposed (x = 1); a = responders + 1/2, b = others + 1/2
    a = np.array([t[1, 0], t[0, 0]]) + 0.5
    b = np.array([t[1, 1], t[0, 1]]) + 0.5
    beta_hat = float(np.log(a[1] / b[1]) - np.log(a[0] / b[0]))
    top = _augmented_loglik(a, b, float(np.log(a[0] / b[0])), beta_hat)

    def deviance(beta: float) -> float:
        return 2.0 * (top - _augmented_loglik(a, b, _profile_alpha(a, b, beta), beta))

    def limit(side: int) -> float:
        step, inner = 0.5, beta_hat
        outer = beta_hat + side * step
        while deviance(outer) < CHI2_95:
            inner, step = outer, 2 * step
            outer = beta_hat + side * step
        return float(optimize.brentq(lambda v: deviance(v) - CHI2_95, min(inner, outer), max(inner, outer), xtol=1e-12))

    chisq = max(0.0, deviance(0.0))
    return FirthOddsRatio(
        float(np.exp(beta_hat)),
        float(np.exp(limit(-1))),
        float(np.exp(limit(+1))),
        chisq,
        float(stats.chi2.sf(chisq, 1)),
    )
