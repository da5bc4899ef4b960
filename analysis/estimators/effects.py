"""Effect sizes with 95% confidence intervals for every comparison of the report.

Each estimate reproduces R, so that a reader re-running the analysis in R gets the
printed numbers (the tests record the R calls and their output):

* difference in response proportions (exposed minus reference) with Newcombe's
  hybrid-score interval (Newcombe 1998, method 10): the Wilson limits of each
  proportion, R ``prop.test(x, n, correct = FALSE)$conf.int``, combined as
  ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``;
* odds ratio of response, exposed over reference: R ``fisher.test`` — the
  conditional maximum-likelihood estimate and the exact conditional 95% CI.
  R finds both roots with ``uniroot`` at its default tolerance (``eps^0.25``,
  about 1e-4), so its printed values sit up to ~1e-4 from the exact roots;
  :func:`_r_uniroot` is a port of R's ``zeroin`` so that the values here are R's
  to ~1e-12 (SciPy's ``odds_ratio(kind="conditional")`` solves exactly and
  differs from R in the fifth digit);
* when the 2x2 table has a zero cell (the conditional MLE is then 0 or infinite), the
  odds ratio shown is Firth's penalized estimate with its profile penalized-likelihood CI
  (R ``logistf``, :func:`analysis.estimators.firth.firth_odds_ratio`); the conditional
  one is kept beside it for the JSON;
* univariable Cox hazard ratio of each level against the reference level:
  R ``coxph(Surv(time, status) ~ group)`` with Efron ties, fitted by the same
  Newton-Raphson as Table 2 (:mod:`analysis.estimators.cox`), Wald CI ``exp(b ± z se)``;
* the smallest hazard ratio the study could detect (Schoenfeld 1983):
  ``exp(±(z_{1-α/2} + z_{power}) / sqrt(d p (1 - p)))`` for ``d`` events and a
  fraction ``p`` of patients in one group.

The reference level of every grouping is :data:`REFERENCE_LEVELS` (no toxicity,
no treatment; for concurrent CRS and ICANS, the other patients). A statistic
that cannot be estimated is ``None`` with a reason, never NaN or an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.estimators.comparisons import has_zero_cell
from analysis.registry.concepts import RESPONSES

if TYPE_CHECKING:
    from analysis.estimators.firth import FirthOddsRatio

# scipy is imported in the functions that use it: a kernel restoring cached results
# (renderer/incremental.py) then skips importing scipy.stats (~0.7 s).
from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS

#: Power of the minimum-detectable-effect statement (Schoenfeld's formula).
DETECTABLE_POWER = 0.80


#: R uniroot's default tolerance, .Machine$double.eps^0.25 (used inside fisher.test).
_R_UNIROOT_TOL = np.finfo(float).eps ** 0.25
_R_UNIROOT_MAXIT = 1000
_DBL_EPS = np.finfo(float).eps


def reference_level(grouping: str) -> str:
    """Key of the reference level of a grouping (:data:`REFERENCE_LEVELS`)."""
    return REFERENCE_LEVELS[grouping]


def compared_levels(grouping: str) -> tuple[str, ...]:
    """Level keys compared with the reference, in the grouping's order."""
    ref = reference_level(grouping)
    return tuple(k for k in GROUPINGS[grouping].keys if k != ref)


# --------------------------------------------------------------------------- proportions


@dataclass(frozen=True)
class ProportionDifference:
    """Exposed minus reference proportion (0–1 scale) with Newcombe's hybrid-score 95% CI."""

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


@dataclass(frozen=True)
class OddsRatio:
    """Conditional MLE of the odds ratio (exposed / reference) and R fisher.test's exact 95% CI."""

    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None  # why the estimate is None
    ci_reason: str | None = None  # why a bound is None (e.g. infinite)


@dataclass(frozen=True)
class ResponseEffect:
    """Effect of a two-level grouping on one response."""

    response: str
    grouping: str
    level: str  # exposed level key
    reference: str  # reference level key
    events: int  # responders in the exposed level
    n: int
    reference_events: int
    reference_n: int
    difference: ProportionDifference
    odds_ratio: OddsRatio
    #: Firth-penalized odds ratio (R logistf), computed when the 2x2 table has a zero cell:
    #: the conditional MLE is then 0 or infinite, and the Firth estimate is the one shown
    firth: FirthOddsRatio | None = None

    @property
    def odds_ratio_method(self) -> str:
        """Which odds ratio the report shows: "firth" (a zero cell) or "conditional_mle" (fisher.test)."""
        return "firth" if self.firth is not None else "conditional_mle"


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of k/n = R ``prop.test(k, n, correct = FALSE)$conf.int``."""
    from scipy import stats

    z = stats.norm.ppf((1 + confidence) / 2)
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    # exact limits at k = 0 and k = n (the formula leaves a rounding residue of ~1e-16)
    low = 0.0 if k == 0 else max(0.0, float((centre - half) / denom))
    high = 1.0 if k == n else min(1.0, float((centre + half) / denom))
    return low, high


def newcombe_difference(k1: int, n1: int, k2: int, n2: int) -> ProportionDifference:
    """k1/n1 - k2/n2 with Newcombe's hybrid-score 95% CI (method 10, no continuity correction)."""
    if n1 <= 0 or n2 <= 0:
        return ProportionDifference(None, None, None, "a group has no patient")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1)
    l2, u2 = wilson_interval(k2, n2)
    d = p1 - p2
    low = max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    high = min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    return ProportionDifference(d, low, high)


def _r_uniroot(f, lower: float, upper: float, tol: float = _R_UNIROOT_TOL, maxit: int = _R_UNIROOT_MAXIT) -> float:
    """R ``uniroot(f, c(lower, upper))$root``: a port of R's ``R_zeroin2`` (Brent 1973),
    step for step, so that the root carries R's (default-tolerance) error too."""
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _DBL_EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def fisher_odds_ratio(table, confidence: float = 0.95) -> OddsRatio:
    """Conditional MLE and exact CI of the odds ratio of a 2×2 table, as R ``fisher.test(table)``.

    ``table = [[a, b], [c, d]]`` (rows: exposed, reference; columns: response yes, no);
    the odds ratio is (a/b)/(c/d) conditionally on the margins. An infinite estimate or
    bound (a zero cell) is None with a reason, as is a table with an empty row or column.
    """
    from scipy import stats
    from scipy.special import gammaln

    t = np.asarray(table, dtype=np.int64)
    if t.shape != (2, 2) or (t < 0).any():
        raise ValueError("a 2x2 table of non-negative counts is required")
    if (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
        return OddsRatio(None, None, None, "a row or column of the 2x2 table is empty: odds ratio undefined")
    m, n = int(t[:, 0].sum()), int(t[:, 1].sum())  # column totals (R: white, black balls)
    k, x = int(t[0].sum()), int(t[0, 0])  # first-row total, observed cell
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    # R dhyper(support, m, n, k, log = TRUE)
    logdc = (
        gammaln(m + 1)
        - gammaln(support + 1)
        - gammaln(m - support + 1)
        + gammaln(n + 1)
        - gammaln(k - support + 1)
        - gammaln(n - k + support + 1)
        - gammaln(m + n + 1)
        + gammaln(k + 1)
        + gammaln(m + n - k + 1)
    )

    def dnhyper(ncp: float) -> np.ndarray:
        d = logdc + math.log(ncp) * support
        d = np.exp(d - d.max())
        return d / d.sum()

    def mnhyper(ncp: float) -> float:
        if ncp == 0:
            return lo
        if math.isinf(ncp):
            return hi
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q: int, ncp: float, upper_tail: bool = False) -> float:
        if ncp == 0:
            return float(q <= lo) if upper_tail else float(q >= lo)
        if math.isinf(ncp):
            return float(q <= hi) if upper_tail else float(q >= hi)
        if ncp == 1:
            return float(stats.hypergeom.sf(x - 1, m + n, m, k) if upper_tail else stats.hypergeom.cdf(x, m + n, m, k))
        return float(np.sum(dnhyper(ncp)[support >= q if upper_tail else support <= q]))

    eps = _DBL_EPS
    estimate: float
    if x == lo:
        estimate = 0.0
    elif x == hi:
        estimate = math.inf
    else:
        mu = mnhyper(1.0)
        if mu > x:
            estimate = _r_uniroot(lambda t_: mnhyper(t_) - x, 0.0, 1.0)
        elif mu < x:
            estimate = 1.0 / _r_uniroot(lambda t_: mnhyper(1.0 / t_) - x, eps, 1.0)
        else:
            estimate = 1.0

    alpha = (1 - confidence) / 2

    def ncp_upper() -> float:
        if x == hi:
            return math.inf
        p = pnhyper(x, 1.0)
        if p < alpha:
            return _r_uniroot(lambda t_: pnhyper(x, t_) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / _r_uniroot(lambda t_: pnhyper(x, 1.0 / t_) - alpha, eps, 1.0)
        return 1.0

    def ncp_lower() -> float:
        if x == lo:
            return 0.0
        p = pnhyper(x, 1.0, upper_tail=True)
        if p > alpha:
            return _r_uniroot(lambda t_: pnhyper(x, t_, upper_tail=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / _r_uniroot(lambda t_: pnhyper(x, 1.0 / t_, upper_tail=True) - alpha, eps, 1.0)
        return 1.0

    low, high = float(ncp_lower()), float(ncp_upper())
    estimate = float(estimate)
    reason = ci_reason = None
    if math.isinf(estimate):
        reason = "a zero cell (no non-responder in one group or no responder in the other): odds ratio infinite"
    if math.isinf(high):
        ci_reason = "upper limit infinite (a zero cell)"
    return OddsRatio(None if reason else estimate, low, None if ci_reason else high, reason, ci_reason)


def response_effect(df: pd.DataFrame, response: str, grouping: str) -> ResponseEffect | None:
    """Difference in proportions and odds ratio of a response, for a two-level grouping
    (None for groupings with more levels: they keep rates with exact CIs and the p)."""
    keys = GROUPINGS[grouping].keys
    if len(keys) != 2:
        return None
    ref = reference_level(grouping)
    (level,) = compared_levels(grouping)
    values = df[RESPONSES[response].column].astype("boolean")
    known = values.notna().to_numpy()  # a response not assessed is neither (compare_response)
    flag = values.fillna(False).to_numpy(dtype=bool)
    column = df[GROUPINGS[grouping].column]
    in_level = (column == level).to_numpy() & known
    in_ref = (column == ref).to_numpy() & known
    k1, n1 = int(flag[in_level].sum()), int(in_level.sum())
    k2, n2 = int(flag[in_ref].sum()), int(in_ref.sum())
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    firth = None
    if has_zero_cell(table):
        from analysis.estimators.firth import firth_odds_ratio  # scipy.optimize only when needed

        firth = firth_odds_ratio(table)
    return ResponseEffect(
        response=response,
        grouping=grouping,
        level=level,
        reference=ref,
        events=k1,
        n=n1,
        reference_events=k2,
        reference_n=n2,
        difference=newcombe_difference(k1, n1, k2, n2),
        odds_ratio=fisher_odds_ratio(table),
        firth=firth,
    )


# --------------------------------------------------------------------------- hazard ratios


@dataclass(frozen=True)
class HazardRatio:
    """Univariable Cox hazard ratio of one level against the reference level."""

    level: str
    label: str
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None  # Wald
    coef: float | None = None
    se: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class UnivariableCox:
    """R ``coxph(Surv(time, status) ~ group, ties = "efron")`` for one endpoint and grouping."""

    endpoint: str
    grouping: str
    reference: str
    n: int
    events: int
    hazard_ratios: tuple[HazardRatio, ...]  # one per non-reference level, grouping order
    reason: str | None = None


def univariable_cox(
    df: pd.DataFrame, endpoint: str, grouping: str, frame: pd.DataFrame | None = None
) -> UnivariableCox:
    """Hazard ratio of each level against :func:`reference_level`, Efron ties (R's default).

    Levels without a patient are left out of the model (R: NA coefficient) and get a
    reason; the model is fitted by :mod:`analysis.estimators.cox`'s Newton-Raphson. No reference
    patient, no event, or a level without events (monotone likelihood, R's "coefficient
    may be infinite") give None estimates with a reason. ``frame``: ``endpoint_frame(df,
    endpoint)`` when already made (:func:`analysis.estimators.survival.endpoint_columns`).
    """
    from analysis.estimators import cox
    from analysis.estimators.survival import endpoint_data, events_tied_at_one_time

    g = GROUPINGS[grouping]
    ref = reference_level(grouping)
    data = endpoint_data(df, endpoint, [g.column], frame)  # PFS, DoR too
    data = data[data[g.column].notna()]
    n, events = int(len(data)), int(data["event"].sum())
    levels = compared_levels(grouping)
    keys = list(g.keys)
    level_codes = pd.Categorical(data[g.column], categories=keys).codes  # integers: no strings at 10^6 rows

    def is_level(key: str) -> np.ndarray:
        return level_codes == keys.index(key)

    def failed(reason: str) -> UnivariableCox:
        return UnivariableCox(
            endpoint,
            grouping,
            ref,
            n,
            events,
            tuple(HazardRatio(k, g.label(k), None, None, None, None, reason=reason) for k in levels),
            reason,
        )

    if n == 0:
        return failed("no patient")
    if events == 0:
        return failed("no event: hazard ratio not estimable")
    if tied := events_tied_at_one_time(data["months"], data["event"]):
        return failed(tied)
    if not is_level(ref).any():
        return failed(f"no patient in the reference group ({g.label(ref)})")
    present = [k for k in levels if is_level(k).any()]
    if not present:
        return failed("no patient outside the reference group")
    # columns named by label: the fitter's reasons name them ("may be infinite for CRS grade ≥3")
    columns = [g.label(k) for k in present]
    design = pd.DataFrame(
        {
            "months": data["months"].to_numpy(dtype=float),
            "event": data["event"].to_numpy(dtype=float),
            **{column: is_level(k).astype(float) for k, column in zip(present, columns)},
        }
    )
    coef, cov, _, problem, _monotone = cox._fit_efron(design, columns)
    if coef is None:
        return failed(problem)
    rows = []
    for k in levels:
        if k not in present:
            rows.append(HazardRatio(k, g.label(k), None, None, None, None, reason="no patient in this group"))
            continue
        j = present.index(k)
        b, se = float(coef[j]), float(math.sqrt(cov[j, j])) if cov[j, j] > 0 else math.nan
        wald = cox.wald_ratio(b, se)
        if wald is None:
            rows.append(HazardRatio(k, g.label(k), None, None, None, None, reason="variance not estimable"))
            continue
        rows.append(HazardRatio(k, g.label(k), *wald, b, se, problem))
    return UnivariableCox(endpoint, grouping, ref, n, events, tuple(rows), problem)


# --------------------------------------------------------------------------- detectable effect


@dataclass(frozen=True)
class DetectableHazardRatio:
    """Smallest hazard ratio detectable with the given power (Schoenfeld 1983), both directions."""

    events: int
    proportion: float | None  # fraction of patients in one of the two groups
    alpha: float  # two-sided
    power: float
    hr_below: float | None  # protective effect: HR <= this is detected
    hr_above: float | None  # harmful effect: HR >= this (= 1 / hr_below)
    reason: str | None = None


def detectable_hazard_ratio(
    events: int, proportion: float | None, alpha: float, power: float = DETECTABLE_POWER, tied: str | None = None
) -> DetectableHazardRatio:
    """Schoenfeld's minimum detectable hazard ratio: R
    ``exp(-(qnorm(1 - alpha/2) + qnorm(power)) / sqrt(d * p * (1 - p)))`` and its inverse.
    ``tied``: why the events cannot carry a survival comparison
    (:func:`analysis.estimators.survival.events_tied_at_one_time`): no power then."""
    from scipy import stats

    if events <= 0 or proportion is None or not 0 < proportion < 1 or tied:
        reason = tied or ("no event" if events <= 0 else "one group is empty: no comparison")
        return DetectableHazardRatio(int(max(events, 0)), proportion, alpha, power, None, None, reason)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    log_hr = z / math.sqrt(events * proportion * (1 - proportion))
    return DetectableHazardRatio(int(events), float(proportion), alpha, power, math.exp(-log_hr), math.exp(log_hr))


def detectable_hazard_ratio_for(
    df: pd.DataFrame,
    endpoint: str,
    grouping: str,
    alpha: float,
    power: float = DETECTABLE_POWER,
    frame: pd.DataFrame | None = None,
) -> DetectableHazardRatio:
    """:func:`detectable_hazard_ratio` for a two-level grouping: its events and its split
    (``frame``: ``endpoint_frame(df, endpoint)`` when already made)."""
    from analysis.estimators.survival import endpoint_data, events_tied_at_one_time

    g = GROUPINGS[grouping]
    if len(g.levels) != 2:
        raise ValueError(f"grouping {grouping!r} has {len(g.levels)} levels; Schoenfeld's formula needs two")
    data = endpoint_data(df, endpoint, [g.column], frame)  # PFS, DoR too
    data = data[data[g.column].notna()]
    n = len(data)
    codes = pd.Categorical(data[g.column], categories=list(g.keys)).codes  # integers: no strings at 10^6 rows
    in_reference = codes == g.keys.index(reference_level(grouping))
    share = float(in_reference.mean()) if n else None
    tied = events_tied_at_one_time(data["months"], data["event"])
    return detectable_hazard_ratio(int(data["event"].sum()), share, alpha, power, tied)


# --------------------------------------------------------------------------- trend across ordered levels


@dataclass(frozen=True)
class CoxTrend:
    """Cox model with a grouping's ordered score as one numeric covariate: the hazard ratio
    per step up the order (none -> grade 1-2 -> grade >=3), R
    ``coxph(Surv(time, status) ~ score, ties = "efron")``, Wald CI and p."""

    endpoint: str
    grouping: str
    scores: dict[str, int]
    n: int
    events: int
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    coef: float | None = None
    se: float | None = None
    reason: str | None = None


def cox_trend(df: pd.DataFrame, endpoint: str, grouping: str, frame: pd.DataFrame | None = None) -> CoxTrend:
    """Test for trend of survival across an ordered grouping (scores
    :data:`analysis.registry.groups.TREND_SCORES`), fitted by :mod:`analysis.estimators.cox`'s
    Newton-Raphson (Efron ties, R's default). ``frame``: ``endpoint_frame(df, endpoint)`` when
    already made."""
    from analysis.estimators import cox
    from analysis.estimators.survival import endpoint_data, events_tied_at_one_time
    from analysis.registry.groups import TREND_SCORES

    if grouping not in TREND_SCORES:
        raise KeyError(f"grouping {grouping!r} is not ordered; the ordered groupings are: {', '.join(TREND_SCORES)}")
    g, scores = GROUPINGS[grouping], TREND_SCORES[grouping]
    data = endpoint_data(df, endpoint, [g.column], frame)  # PFS, DoR too
    data = data[data[g.column].notna()]
    codes = pd.Categorical(data[g.column], categories=list(g.keys)).codes
    score = np.array([scores[k] for k in g.keys], dtype=float)[codes]
    n, events = int(len(data)), int(data["event"].sum())

    def failed(reason: str) -> CoxTrend:
        return CoxTrend(endpoint, grouping, dict(scores), n, events, None, None, None, None, reason=reason)

    if events == 0:
        return failed("no event: hazard ratio not estimable")
    if tied := events_tied_at_one_time(data["months"], data["event"]):
        return failed(tied)
    if np.unique(score).size < 2:
        return failed("fewer than two ordered groups with patients")
    design = pd.DataFrame(
        {"months": data["months"].to_numpy(dtype=float), "event": data["event"].to_numpy(dtype=float), "score": score}
    )
    coef, cov, _, problem, _monotone = cox._fit_efron(design, ["score"])
    if coef is None:
        return failed(problem or "Cox model not estimable")
    b, se = float(coef[0]), float(math.sqrt(cov[0, 0])) if cov[0, 0] > 0 else math.nan
    wald = cox.wald_ratio(b, se)
    if wald is None:
        return failed("variance not estimable")
    return CoxTrend(endpoint, grouping, dict(scores), n, events, *wald, b, se, problem)
