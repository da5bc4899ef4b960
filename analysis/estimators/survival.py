"""Kaplan-Meier, log-rank and reverse-KM follow-up (Figures 2-3).

Every estimate reproduces R ``survival`` (>= 3) defaults, so that a reader who
re-runs the analysis in R gets the printed numbers:

* survival curve: ``survfit(Surv(time, status) ~ 1)`` (Kaplan-Meier),
  95% CI ``conf.type = "log"``: ``S * exp(±z * se)`` with ``se`` the Greenwood
  standard error of ``log S`` (upper limit clipped to 1). lifelines' own CI is
  log-log, so it is not used.
* median and its CI: ``print.survfit`` (``survmean``'s ``minmin``): the first time
  the curve is ``<= 0.5``; if the curve sits exactly at 0.5 there, the midpoint of
  that time and the next time it drops. The lower limit of the median is where the
  *lower* CI curve reaches 0.5, the upper limit where the *upper* CI curve does.
* landmark survival: ``summary(fit, times = t)``.
* log-rank: ``survdiff``, df = k - 1 over the levels that have at least one patient.
  The statistic is computed here from counts per (time, group) (statsmodels' ``survdiff``
  formulas, which agree with R; lifelines' ``multivariate_logrank_test`` gives the same
  chi-square to ~1e-13 but took ~0.3 s per test at 10^6 patients, statsmodels ~0.1 s);
  the p-value is ``chi2.sf`` (``1 - cdf`` would round the tiny p-values of large
  registries to 0).
* median follow-up: reverse Kaplan-Meier, ``survfit(Surv(time, 1 - status) ~ 1)``.

Levels of a grouping with no patient are kept (``n = 0``, every estimate None
with a reason) so that tables and figures always show the same rows; they do not
enter the log-rank test.

The dataclasses below are read by field name in results.py, tables.py and figures.py:
renaming a field changes the results JSON (docs/results.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.estimators.multiplicity import split_key
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.diseases import DISEASE_ENDPOINTS, endpoint_of

LANDMARK_MONTHS = (12, 24, 36)


@dataclass(frozen=True)
class KMCurve:
    """Step function for plotting: S(t) right-continuous, starting at (0, 1)."""

    times: np.ndarray  # 0 then each distinct event time (months)
    survival: np.ndarray
    ci_low: np.ndarray  # log-transformed CI as R survfit(conf.type="log")
    ci_high: np.ndarray
    censor_times: np.ndarray  # distinct censoring times (for '+' marks)
    censor_survival: np.ndarray


@dataclass(frozen=True)
class Landmark:
    months: int
    survival: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None  # e.g. "no patient followed to 36 months"


@dataclass(frozen=True)
class KMSummary:
    key: str
    label: str
    n: int
    events: int
    median_months: float | None  # None when not reached
    median_ci_low: float | None
    median_ci_high: float | None  # None when the upper limit is not reached
    median_reason: str | None
    landmarks: tuple[Landmark, ...]
    curve: KMCurve
    reason: str | None = None  # set when the level has no patient
    #: Which of "median", "median_ci_low", "median_ci_high" are missing because they cannot be
    #: estimated (no follow-up beyond day 0; a CI curve undefined where survival falls to 0)
    #: rather than not reached (the curve stays above 50% while it is defined).
    not_estimable: frozenset[str] = frozenset()
    #: Events at time 0 (death on the day of infusion): a median of 0 rests on them.
    events_at_zero: int = 0

    @property
    def median_ci_high_not_estimable(self) -> bool:
        """The upper limit of the median's CI cannot be estimated (not: not reached)."""
        return "median_ci_high" in self.not_estimable


@dataclass(frozen=True)
class SurvivalComparison:
    endpoint: str  # "os" | "lfs"
    grouping: str | None  # None for the whole cohort
    levels: tuple[KMSummary, ...]
    logrank_chisq: float | None
    df: int | None
    logrank_p: float | None
    reason: str | None
    risk_times: tuple[float, ...]  # 0, 12, 24, ... months
    at_risk: dict[str, tuple[int, ...]] = field(default_factory=dict)  # level key -> n at risk at risk_times
    #: the endpoint and the patients of each group the test used, as a digest: comparisons with
    #: the same key are one test (:func:`analysis.estimators.multiplicity.split_key`)
    split: str | None = None


@dataclass(frozen=True)
class FollowUp:
    median_months: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None
    not_estimable: frozenset[str] = frozenset()  # as KMSummary.not_estimable
    #: Total time observed, infusion to death or last follow-up, in years of 365.25 days
    #: (months / 12): the "total amount" of follow-up STROBE item 14c asks for
    person_years: float | None = None


# --------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), as R qnorm(0.975)
_TOL = np.sqrt(np.finfo(float).eps)  # R survmean's tolerance for "exactly 0.5"
RISK_STEP_MONTHS = 12


@dataclass(frozen=True)
class _Steps:
    """KM at the distinct event times, with R's log-CI (NaN where S = 0, as R's NA)."""

    times: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    last_time: float  # largest follow-up time (event or censored)


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` by hashing (pandas factorize, then a sort
    of the distinct values only): O(n), ~5x faster on 10^6 times with a few thousand
    distinct values, which survival curves, the log-rank and Gray's tests all start with."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques, dtype=float), codes.astype(np.intp, copy=False)


def _km_steps(months: np.ndarray, events: np.ndarray, entry: np.ndarray | None = None) -> _Steps:
    """Kaplan-Meier steps: deaths d and number at risk n (follow-up >= t) at each distinct
    time, S = prod(1 - d/n) over the times with a death (R survfit; lifelines gives the same
    to ~1e-15, but its event table took ~0.1 s per curve at 10^6 patients).

    ``entry``: delayed entry (counting-process rows (entry, months]): a row is at risk at t
    when entry < t <= months, as R ``survfit(Surv(tstart, tstop, event) ~ 1)``."""
    times, inverse = unique_inverse(months)
    deaths = np.bincount(inverse, weights=events, minlength=times.size)
    at_risk = np.cumsum(np.bincount(inverse, minlength=times.size)[::-1])[::-1].astype(float)
    if entry is not None:  # minus the rows not yet entered: entry >= t
        at_risk -= entry.size - np.searchsorted(np.sort(entry), times, side="left")
    at_event = deaths > 0
    d, n, times = deaths[at_event], at_risk[at_event], times[at_event]
    surv = np.cumprod(1.0 - d / n)
    # Greenwood variance of log S (R survfit std.err); infinite once S reaches 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
        se = np.sqrt(var_log)
        lower = np.where(surv > 0, surv * np.exp(-Z95 * se), np.nan)
        upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(Z95 * se)), np.nan)
    return _Steps(times, surv, lower, upper, float(np.max(months)))


def _r_median(times: np.ndarray, curve: np.ndarray) -> float | None:
    """R survmean's ``minmin``: first time the curve is <= 0.5 (NA points dropped),
    or the midpoint with the next drop when the curve is exactly 0.5 there."""
    keep = ~np.isnan(curve) & (curve < 0.5 + _TOL)
    if not keep.any():
        return None
    x, y = times[keep], curve[keep]
    if abs(y[0] - 0.5) < _TOL:
        lower_after = np.flatnonzero(y < y[0])
        if lower_after.size:
            return float((x[0] + x[lower_after[0]]) / 2)
    return float(x[0])


def _value_at(steps: _Steps, t: float) -> tuple[float, float, float]:
    """S, lower, upper at time t (right-continuous step function; 1 before the first event)."""
    i = np.searchsorted(steps.times, t, side="right") - 1
    if i < 0:
        return 1.0, 1.0, 1.0
    return float(steps.surv[i]), float(steps.lower[i]), float(steps.upper[i])


def _landmark(steps: _Steps, months: int) -> Landmark:
    if steps.surv.size and steps.surv[-1] == 0 and steps.times[-1] <= months:
        # the curve reached 0 (every patient still at risk had the event): it stays 0, as R's
        # summary(fit, times, extend = TRUE) says, even beyond the last follow-up
        return Landmark(months, 0.0, None, None, "survival is 0, so its log-scale CI is undefined, as in R")
    if steps.last_time < months:
        return Landmark(
            months, None, None, None, f"no patient followed to {months} months (last follow-up {steps.last_time:.1f})"
        )
    s, lo, hi = _value_at(steps, months)
    if s == 0:
        return Landmark(months, 0.0, None, None, "survival is 0, so its log-scale CI is undefined, as in R")
    return Landmark(months, s, lo, hi)


def _empty_summary(key: str, label: str) -> KMSummary:
    empty = np.array([], dtype=float)
    reason = "no patient in this group"
    return KMSummary(
        key=key,
        label=label,
        n=0,
        events=0,
        median_months=None,
        median_ci_low=None,
        median_ci_high=None,
        median_reason=reason,
        landmarks=tuple(Landmark(m, None, None, None, reason) for m in LANDMARK_MONTHS),
        curve=KMCurve(empty, empty, empty, empty, empty, empty),
        reason=reason,
    )


def kaplan_meier(
    months, events, key: str = "all", label: str = "All patients", *, entry=None, censored=None
) -> KMSummary:
    """Kaplan-Meier summary matching R ``survfit(Surv(months, events) ~ 1)``.

    Median and its 95% CI follow ``print.survfit``; landmarks follow
    ``summary(fit, times = c(12, 24, 36))`` with the log CI. The curve's CI is 0
    where S = 0 (R prints NA there) so that it can be drawn.

    ``entry``: start of counting-process rows (delayed entry, R ``Surv(tstart, tstop,
    event)``; the Simon–Makuch estimator when the rows are a patient's time in a group);
    ``censored``: the rows that end in censoring (the censor marks; default: every row
    without an event — a row that ends because its patient changed group is not censored).
    """
    months = np.asarray(months, dtype=float)
    events = np.asarray(events, dtype=bool)
    entry = None if entry is None else np.asarray(entry, dtype=float)
    censored = ~events if censored is None else np.asarray(censored, dtype=bool)
    if months.size == 0:
        return _empty_summary(key, label)
    n_events = int(events.sum())
    if n_events == 0:
        # No drop: S = 1 everywhere, CI [1, 1] (R: std.err 0).
        censor_times = np.unique(months[censored])
        curve = KMCurve(
            np.array([0.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), censor_times, np.ones_like(censor_times)
        )
        last = float(months.max())
        landmarks = tuple(
            Landmark(m, 1.0, 1.0, 1.0)
            if last >= m
            else Landmark(m, None, None, None, f"no patient followed to {m} months (last follow-up {last:.1f})")
            for m in LANDMARK_MONTHS
        )
        if last <= 0:  # nobody followed beyond day 0: the curve is never observed above 50%
            return KMSummary(
                key,
                label,
                int(months.size),
                0,
                None,
                None,
                None,
                NO_FOLLOWUP,
                landmarks,
                curve,
                not_estimable=frozenset(MEDIAN_QUANTITIES),
            )
        return KMSummary(
            key, label, int(months.size), 0, None, None, None, "no event: median not reached", landmarks, curve
        )

    steps = _km_steps(months, events, entry)
    median = _r_median(steps.times, steps.surv)
    ci_low = _r_median(steps.times, steps.lower)
    ci_high = _r_median(steps.times, steps.upper)
    # A limit is "not reached" only when its curve is defined throughout and stays above 50%;
    # where survival falls to 0 the log-scale CI is undefined (R: NA), and a limit the curve
    # did not reach before that point is not estimable, not "not reached".
    not_estimable = {
        name
        for name, value, curve in (("median_ci_low", ci_low, steps.lower), ("median_ci_high", ci_high, steps.upper))
        if value is None and np.isnan(curve).any()
    }
    reasons = []
    if median is None:
        reasons.append("median not reached: survival stays above 50%")
    if ci_low is None:
        reasons.append(f"lower 95% limit {_why_missing('median_ci_low' in not_estimable, 'lower')}")
    if ci_high is None:
        reasons.append(f"upper 95% limit {_why_missing('median_ci_high' in not_estimable, 'upper')}")

    censored = np.unique(months[censored])
    censor_surv = np.concatenate([[1.0], steps.surv])[np.searchsorted(steps.times, censored, side="right")]
    curve = KMCurve(
        times=np.concatenate([[0.0], steps.times]),
        survival=np.concatenate([[1.0], steps.surv]),
        ci_low=np.concatenate([[1.0], np.nan_to_num(steps.lower, nan=0.0)]),
        ci_high=np.concatenate([[1.0], np.nan_to_num(steps.upper, nan=0.0)]),
        censor_times=censored,
        censor_survival=censor_surv,
    )
    return KMSummary(
        key=key,
        label=label,
        n=int(months.size),
        events=n_events,
        median_months=median,
        median_ci_low=ci_low,
        median_ci_high=ci_high,
        median_reason="; ".join(reasons) or None,
        landmarks=tuple(_landmark(steps, m) for m in LANDMARK_MONTHS),
        curve=curve,
        not_estimable=frozenset(not_estimable),
        events_at_zero=int(events[months == 0].sum()),
    )


#: The quantities of a median line: the median and its CI limits.
MEDIAN_QUANTITIES = ("median", "median_ci_low", "median_ci_high")
NO_FOLLOWUP = "no follow-up beyond day 0: median not estimable"
UNDEFINED_CI = "survival falls to 0, where its log-scale CI is undefined"


def normal_sf(x):
    """``scipy.stats.norm.sf(x)``, the same computation (``scipy.special.ndtr(-x)``: the same
    bits for every x, infinite and NaN included) without the distribution object's argument
    handling, ~50 us a call (~100 calls per results object)."""
    from scipy import special

    return special.ndtr(-np.asarray(x, dtype=float))


def chi2_sf(x: float, df: int) -> float:
    """``float(scipy.stats.chi2.sf(x, df))``, the same computation
    (``scipy.special.chdtrc``; 1 at x <= 0, as the distribution's support check gives, where
    chdtrc gives NaN for x < 0) without the distribution object's argument handling."""
    from scipy import special

    x = float(x)
    if not df > 0:  # no such distribution: scipy's argument check gives NaN
        return math.nan
    return 1.0 if x <= 0 else float(special.chdtrc(df, x))


def _why_missing(undefined: bool, which: str) -> str:
    if undefined:
        return f"not estimable: {UNDEFINED_CI}"
    return "not reached" + (": the upper CI curve stays above 50%" if which == "upper" else "")


def events_tied_at_one_time(months, events) -> str | None:
    """Why no survival comparison is made when every event falls at one time, or None.

    With two or more events all tied at one time (everyone who died, died on the day of
    infusion), a log-rank test, a Cox hazard ratio or a power calculation has a single risk
    set: it compares who had the event at that moment, not survival over time (R would still
    print an HR and a p-value). A single event is left to the usual rules."""
    months = np.asarray(months, dtype=float)
    events = np.asarray(events, dtype=bool)
    n_events = int(events.sum())
    if n_events < 2:
        return None
    times = np.unique(months[events])
    if times.size != 1:
        return None
    when = "time 0" if times[0] == 0 else f"{times[0]:.1f} months"
    return f"all {n_events:,} events tied at {when}: no survival comparison possible"


def _endpoint_columns(endpoint: str) -> list[str]:
    """Time and event columns of a registry endpoint (none for an unknown one: endpoint_frame says so)."""
    return list(endpoint_of(endpoint).columns) if endpoint in ENDPOINTS or endpoint in DISEASE_ENDPOINTS else []


#: Up to this many columns besides the endpoint's, :func:`endpoint_frame` builds its frame
#: column by column (faster for the few columns an estimator passes; slower for a whole cohort).
_FEW_COLUMNS = 10


def endpoint_frame(df: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Rows and columns of one endpoint: OS and EFS on every patient, LFS on patients in CR."""
    if endpoint not in ENDPOINTS and endpoint not in DISEASE_ENDPOINTS:  # disease profiles: PFS, DoR
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {sorted(ENDPOINTS)}")
    time_col, event_col = endpoint_of(endpoint).columns
    others = [c for c in df.columns if c != time_col and c != event_col]
    if len(others) <= _FEW_COLUMNS and len(set(others)) == len(others) and not {"months", "event"} & set(others):
        # the estimators pass a few columns (148 calls per results object): the frame is
        # built column by column, a third of the time of the drop and inserts below
        keep = df[time_col].notna().to_numpy()
        rows = df if keep.all() else df.iloc[np.flatnonzero(keep)]
        columns = {"months": rows[time_col].astype(float), "event": rows[event_col].astype(bool)}
        columns.update({c: rows[c] for c in others})
        return pd.DataFrame(columns, copy=True)
    rows = df[df[time_col].notna()]
    # months and event first, then the other columns (as a join would give, without its
    # index alignment: the rows are the same)
    out = rows.drop(columns=[time_col, event_col])
    out.insert(0, "event", rows[event_col].astype(bool))
    out.insert(0, "months", rows[time_col].astype(float))
    return out


def endpoint_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame | None:
    """``months``, ``event`` and ``columns`` of ``frame``, an :func:`endpoint_frame` of a whole
    cohort: the frame :func:`endpoint_frame` gives for the cohort's endpoint columns and
    ``columns`` (the same rows, columns and values); None when ``frame`` is None or lacks one of
    them. A results object makes each endpoint's frame once and passes it to every estimator
    (``frame=``) instead of each estimator making its own (148 per results object)."""
    if frame is None or any(c not in frame.columns or c in ("months", "event") for c in columns):
        return None
    wanted = ["months", "event", *columns]
    if len(set(wanted)) < len(wanted) or not frame.columns.is_unique:
        return frame[wanted]
    # column by column on the frame's own index (no alignment): the same frame as frame[wanted]
    # in a third of the time
    return pd.DataFrame({c: frame[c] for c in wanted}, index=frame.index, copy=True)


def endpoint_data(
    df: pd.DataFrame, endpoint: str, columns: Sequence[str], frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``months``, ``event`` and those of ``columns`` that ``df`` has, on the endpoint's rows: taken
    from ``frame`` (the cohort's :func:`endpoint_frame`, made once per results object) when
    given and complete, else made from only these columns of ``df`` (:func:`endpoint_frame`
    copies every column it is given)."""
    ends = _endpoint_columns(endpoint)
    present = [c for c in [*ends, *columns] if c in df.columns]
    data = endpoint_columns(frame, present[len(ends) :]) if present[: len(ends)] == ends else None
    return endpoint_frame(df[present], endpoint) if data is None else data


def _at_risk(months: np.ndarray, risk_times: np.ndarray) -> tuple[int, ...]:
    """Number with follow-up >= t (R ``summary(fit, times)$n.risk``)."""
    return tuple(int(np.count_nonzero(months >= t)) for t in risk_times)  # a few times: no sort needed


def compare_survival(
    df: pd.DataFrame, endpoint: str, grouping: str | None = None, frame: pd.DataFrame | None = None
) -> SurvivalComparison:
    """KM per level of ``grouping`` (whole cohort when None) and the log-rank test.

    The test equals R ``survdiff(Surv(months, event) ~ group)`` (chisq, df = k - 1
    over the levels with at least one patient). Levels without patients are kept
    with n = 0 and a reason. Numbers at risk are given at 0, 12, 24, ... months up
    to the largest follow-up of the endpoint. ``frame``: ``endpoint_frame(df, endpoint)``
    when already made (:func:`endpoint_columns`).
    """
    from analysis.registry.groups import GROUPINGS

    # only the columns used here: endpoint_frame copies every column it is given
    data = endpoint_data(df, endpoint, [GROUPINGS[grouping].column] if grouping else [], frame)
    max_follow = float(data["months"].max()) if len(data) else 0.0
    risk_times = np.arange(0.0, max_follow + 1e-9, RISK_STEP_MONTHS) if len(data) else np.array([0.0])

    if grouping is None:
        population = endpoint_of(endpoint).population
        levels = [("all", population[:1].upper() + population[1:], np.ones(len(data), dtype=bool))]
    else:
        g = GROUPINGS[grouping]
        # level keys as integer codes (no per-row string comparison at 10^6 rows)
        codes = pd.Categorical(data[g.column], categories=list(g.keys)).codes
        levels = [(lv.key, lv.label, codes == i) for i, lv in enumerate(g.levels)]

    months = data["months"].to_numpy(dtype=float)
    events = data["event"].to_numpy(dtype=bool)
    summaries = tuple(kaplan_meier(months[m], events[m], key, label) for key, label, m in levels)
    at_risk = {key: _at_risk(months[m], risk_times) for key, _, m in levels}

    chisq = p = dof = None
    reason = None
    present = [(key, m) for key, _, m in levels if m.any()]
    if grouping is None:
        reason = "no grouping: no test"
    elif len(present) < 2:
        reason = f"only {len(present)} group with patients" if len(present) == 1 else "no group has patients"
    elif not events[np.any([m for _, m in present], axis=0)].any():
        reason = "no event: log-rank test undefined"
    elif tied := events_tied_at_one_time(*(a[np.any([m for _, m in present], axis=0)] for a in (months, events))):
        reason = tied
    else:
        chisq, dof, p = _logrank(months, events, present)

    return SurvivalComparison(
        endpoint=endpoint,
        grouping=grouping,
        levels=summaries,
        logrank_chisq=chisq,
        df=dof,
        logrank_p=p,
        reason=reason,
        risk_times=tuple(float(t) for t in risk_times),
        at_risk=at_risk,
        split=None if grouping is None else split_key(endpoint, (m for _, m in present)),
    )


def _logrank(months, events, present) -> tuple[float, int, float]:
    """R ``survdiff`` over the levels in ``present`` (each with at least one patient)."""
    group = np.full(len(months), -1, dtype=np.int64)
    for i, (_, m) in enumerate(present):
        group[m] = i
    mask = group >= 0
    dof = len(present) - 1
    try:
        chisq = _survdiff_chisq(months[mask], events[mask], group[mask], len(present))
    except np.linalg.LinAlgError:
        # Singular variance (a level whose patients are all censored before the first
        # event): lifelines' generalised inverse, as before statsmodels was used here.
        from lifelines.statistics import multivariate_logrank_test

        res = multivariate_logrank_test(months[mask], group[mask], events[mask])
        return float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value)
    return float(chisq), dof, chi2_sf(chisq, dof)


def _survdiff_chisq(months: np.ndarray, events: np.ndarray, group: np.ndarray, k: int) -> float:
    """R ``survdiff``'s chi-square (rho = 0) over groups 0..k-1: observed minus expected
    deaths U and its variance V summed over the distinct times, ``U' V^-1 U`` without the
    first group (the statistic is the same whichever is left out). The formulas of
    statsmodels' ``survdiff`` (which agreed with R to ~1e-13), on counts per (time, group)
    from one hashing pass instead of a sort per call. Raises LinAlgError when V is singular."""
    times, inverse = unique_inverse(months)
    cell = inverse * k + group.astype(np.intp)
    at_time = np.bincount(cell, minlength=times.size * k).reshape(times.size, k).astype(float)
    deaths = np.bincount(cell, weights=events, minlength=times.size * k).reshape(times.size, k)
    at_risk = np.cumsum(at_time[::-1], axis=0)[::-1]  # n_gt: follow-up >= t
    n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
    used = n > 1  # as statsmodels: a time with one at risk adds nothing
    share, n, d = at_risk[used] / n[used, None], n[used], d[used]
    u = (deaths[used] - share * d[:, None]).sum(axis=0)
    scale = d * (n - d) / (n - 1)
    v = np.diag((scale[:, None] * share).sum(axis=0)) - (share * scale[:, None]).T @ share
    return float(u[1:] @ np.linalg.solve(v[1:, 1:], u[1:]))


def median_followup(df: pd.DataFrame) -> FollowUp:
    """Median follow-up by reverse Kaplan-Meier on OS, R
    ``survfit(Surv(os_months, 1 - os_event) ~ 1)``: censoring is the event, death censors."""
    months = df["os_months"].to_numpy(dtype=float)
    alive = ~df["os_event"].to_numpy(dtype=bool)
    if months.size == 0:
        return FollowUp(None, None, None, "no patient")
    total = float(months.sum()) / 12
    if not alive.any():
        return FollowUp(None, None, None, "every patient died: no censored follow-up time", person_years=total)
    km = kaplan_meier(months, alive)
    return FollowUp(km.median_months, km.median_ci_low, km.median_ci_high, km.median_reason, km.not_estimable, total)
