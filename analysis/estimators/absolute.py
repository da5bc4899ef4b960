"""Absolute differences in survival at fixed times (STROBE item 16c): the Kaplan–Meier
survival of each level of a grouping at a time point, and its difference from the grouping's
reference level with a 95% confidence interval.

The method, stated in the supplement's Methods:

* ``S(t)`` is the Kaplan–Meier estimate at ``t`` months (right-continuous step function) and
  its standard error the Greenwood one on the survival scale,
  ``se(S) = S * sqrt(sum d / (n (n - d)))`` over the event times up to ``t`` — R
  ``summary(survfit(Surv(months, event) ~ group), times = t)``'s ``surv`` and ``std.err``.
  Each group's interval in :func:`survival_differences` is the complementary log-log one the
  difference is built from (printed beside it: review 30, finding 5);
  :func:`overall_survival_at` keeps the log one of the survival tables.
* The difference of two independent estimates, level minus reference, ``D = S1 - S2``, has the
  standard error ``sqrt(se1^2 + se2^2)`` (in the JSON export only: the interval is not built
  from it, and the report never prints it), and its 95% interval is Newcombe's hybrid
  score construction (Newcombe, Stat Med 1998;17:873, method 10) with each curve's own interval
  in place of the Wilson interval — the MOVER of Zou & Donner (Stat Med 2008;27:1693), as
  suggested for Kaplan–Meier differences by Klein et al. (Stat Med 2007;26:4505):
  ``L = D - sqrt((S1 - l1)^2 + (u2 - S2)^2)``, ``U = D + sqrt((u1 - S1)^2 + (S2 - l2)^2)``, where
  ``(l, u)`` is the curve's 95% interval on the complementary log-log scale (R ``survfit``'s
  ``conf.type = "log-log"``: ``S^exp(±z se / (S |log S|))``), which stays inside (0, 1). So the
  difference's interval stays inside (-1, 1) — a Wald interval ``D ± z sqrt(se1^2 + se2^2)``
  reached +104.8 points in a 13-patient cohort (attack 29) — and is asymmetric where a curve is
  near 0 or 1, as the binomial analogue is.

What is not estimable says so, and no number stands in for it:

* a level without a patient;
* a time beyond the last follow-up of a level (no patient at risk there; R's ``summary``
  gives no row), unless the curve has already reached 0 (every patient had the event: it
  stays 0);
* the confidence interval when a curve has reached 0 (the Greenwood variance
  ``0 * infinity`` is undefined; R prints ``NaN``), or has had no event yet (its variance is 0,
  R's std.err 0, and the interval would be the other group's alone): the difference is then
  printed without one.

No p-value: the log-rank test of the comparison is reported (the p-value table walks every
``p``, and these results have none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), as R qnorm(0.975)

#: Why a survival or a difference is not estimable (words for the tables, prose and JSON).
NO_PATIENT = "no patient in this group"
BEYOND_FOLLOWUP = "no patient at risk at {months:g} months (last follow-up {last:.1f} months)"
NO_EVENT = (
    "no event by {months:g} months, where Greenwood's variance is 0 (R: std.err 0): no confidence interval "
    "for the difference"
)
SURVIVAL_ZERO = "survival reached 0, where the Greenwood variance is undefined: no confidence interval"


@dataclass(frozen=True)
class SurvivalAt:
    """Kaplan–Meier survival of one level at ``months``, with its Greenwood standard error."""

    level: str
    label: str
    n: int
    n_at_risk: int  # patients with follow-up >= months (R summary()$n.risk)
    survival: float | None
    se: float | None  # Greenwood, survival scale (R summary()$std.err); None where undefined
    #: the curve's own 95% CI on the scale of ``transform``: "log" as R survfit's default (and the
    #: survival tables), "log-log" (``conf.type = "log-log"``) where a difference is built from it
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None
    transform: str = "log"


@dataclass(frozen=True)
class SurvivalDifference:
    """``level`` minus ``reference`` at ``months``, in probability units (0.12 = 12 points)."""

    level: str
    reference: str
    months: float
    difference: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


@dataclass(frozen=True)
class SurvivalDifferences:
    """The survival of every level at each time point and the difference of each level from
    the reference level of ``grouping``, for one endpoint."""

    endpoint: str
    grouping: str
    reference: str
    months: tuple[float, ...]
    #: (level, months) -> survival of that level at that time
    at: dict[tuple[str, float], SurvivalAt]
    #: (level, months) -> difference from the reference, levels other than the reference
    differences: dict[tuple[str, float], SurvivalDifference]


TRANSFORMS = ("log", "log-log")


def survival_at(
    months, events, t: float, level: str = "all", label: str = "All patients", transform: str = "log"
) -> SurvivalAt:
    """Kaplan–Meier survival at ``t`` with its Greenwood standard error on the survival scale
    (R ``summary(survfit(...), times = t)``'s ``surv`` and ``std.err``) and the curve's 95% CI on
    the scale of ``transform``: "log" (R's default ``conf.type = "log"``, as the survival tables
    print it) or "log-log" (``conf.type = "log-log"``, the interval :func:`difference_of` builds
    the difference from; undefined, None, where the curve has had no event: R prints NA)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; the transforms are: {', '.join(TRANSFORMS)}")
    months = np.asarray(months, dtype=float)
    events = np.asarray(events, dtype=bool)
    n = int(months.size)
    if n == 0:
        return SurvivalAt(level, label, 0, 0, None, None, None, None, NO_PATIENT, transform)
    from analysis.estimators.survival import unique_inverse

    at_risk = int(np.count_nonzero(months >= t))
    times, inverse = unique_inverse(months)  # one hashing pass: deaths and risk sets per distinct time
    deaths = np.bincount(inverse, weights=events, minlength=times.size)
    risk = np.cumsum(np.bincount(inverse, minlength=times.size)[::-1])[::-1].astype(float)
    used = (deaths > 0) & (times <= t)
    times, deaths, risk = times[used], deaths[used], risk[used]
    surv = float(np.prod(1.0 - deaths / risk)) if times.size else 1.0
    if surv == 0.0:
        return SurvivalAt(level, label, n, at_risk, 0.0, None, None, None, SURVIVAL_ZERO, transform)
    last = float(months.max())
    if last < t:
        return SurvivalAt(
            level, label, n, at_risk, None, None, None, None, BEYOND_FOLLOWUP.format(months=t, last=last), transform
        )
    se_log = float(np.sqrt(np.sum(deaths / (risk * (risk - deaths))))) if times.size else 0.0
    if transform == "log-log":
        low, high = loglog_interval(surv, surv * se_log) if 0.0 < surv < 1.0 and se_log > 0 else (None, None)
        return SurvivalAt(level, label, n, at_risk, surv, surv * se_log, low, high, None, transform)
    return SurvivalAt(
        level,
        label,
        n,
        at_risk,
        surv,
        surv * se_log,
        surv * np.exp(-Z95 * se_log),
        min(1.0, surv * np.exp(Z95 * se_log)),
    )


def difference_of(a: SurvivalAt, b: SurvivalAt, months: float) -> SurvivalDifference:
    """``a`` minus ``b`` with Newcombe's hybrid (MOVER) 95% CI from each curve's log-log interval (see the module)."""
    for s in (a, b):
        if s.survival is None:
            return SurvivalDifference(a.level, b.level, months, None, None, None, None, f"{s.label}: {s.reason}")
    diff = a.survival - b.survival  # type: ignore[operator]
    if a.se is None or b.se is None:
        undefined = a if a.se is None else b
        return SurvivalDifference(
            a.level, b.level, months, diff, None, None, None, f"{undefined.label}: {undefined.reason}"
        )
    flat = next((s for s in (a, b) if s.se == 0.0), None)
    if flat is not None:  # no event by then: Greenwood's variance 0 would make the interval one group's alone
        return SurvivalDifference(
            a.level, b.level, months, diff, None, None, None, f"{flat.label}: {NO_EVENT.format(months=months)}"
        )
    se = float(np.hypot(a.se, b.se))
    (l1, u1), (l2, u2) = loglog_interval(a.survival, a.se), loglog_interval(b.survival, b.se)  # type: ignore[arg-type]
    s1, s2 = a.survival, b.survival
    low = diff - float(np.hypot(s1 - l1, u2 - s2))  # type: ignore[operator]
    high = diff + float(np.hypot(u1 - s1, s2 - l2))  # type: ignore[operator]
    return SurvivalDifference(a.level, b.level, months, diff, se, low, high)


def loglog_interval(survival: float, se: float) -> tuple[float, float]:
    """The 95% interval of a Kaplan–Meier estimate ``0 < survival < 1`` with Greenwood standard
    error ``se`` on the complementary log-log scale (R ``survfit(..., conf.type = "log-log")``'s
    ``lower`` and ``upper``): ``survival^exp(±z se / (survival |log survival|))``."""
    theta = se / (survival * abs(np.log(survival)))
    return float(survival ** np.exp(Z95 * theta)), float(survival ** np.exp(-Z95 * theta))


def survival_differences(
    df: pd.DataFrame,
    endpoint: str,
    grouping: str,
    months: tuple[float, ...] = (12, 24),
    frame: pd.DataFrame | None = None,
) -> SurvivalDifferences:
    """Survival of each level of ``grouping`` at each of ``months`` (with its log-log 95% CI, the
    one the difference is built from) and its difference from the
    reference level (:data:`analysis.registry.groups.REFERENCE_LEVELS`), on the endpoint's
    patients (:func:`analysis.estimators.survival.endpoint_frame`: OS and EFS all patients,
    LFS the patients in CR). ``frame``: ``endpoint_frame(df, endpoint)`` when already made."""
    from analysis.estimators.survival import endpoint_data

    g = GROUPINGS[grouping]
    data = endpoint_data(df, endpoint, [g.column], frame)
    codes = pd.Categorical(data[g.column], categories=list(g.keys)).codes
    time = data["months"].to_numpy(dtype=float)
    event = data["event"].to_numpy(dtype=bool)
    reference = REFERENCE_LEVELS[grouping]
    at: dict[tuple[str, float], SurvivalAt] = {}
    differences: dict[tuple[str, float], SurvivalDifference] = {}
    for t in months:
        t = float(t)
        for i, level in enumerate(g.levels):
            mask = codes == i
            at[(level.key, t)] = survival_at(time[mask], event[mask], t, level.key, level.label, "log-log")
        for level in g.levels:
            if level.key != reference:
                differences[(level.key, t)] = difference_of(at[(level.key, t)], at[(reference, t)], t)
    return SurvivalDifferences(endpoint, grouping, reference, tuple(float(t) for t in months), at, differences)


def overall_survival_at(
    df: pd.DataFrame, endpoint: str, months: tuple[float, ...] = (12, 24), frame: pd.DataFrame | None = None
) -> tuple[SurvivalAt, ...]:
    """Kaplan–Meier survival of all the endpoint's patients (OS and EFS: every patient; LFS: the
    patients in CR) at each of ``months`` (the plan's ``survival_times_months``), with the curve's
    log 95% CI, as :func:`survival_at` (R ``summary(survfit(Surv(t, e) ~ 1), times = months)``).
    ``frame``: ``endpoint_frame(df, endpoint)`` when already made."""
    from analysis.estimators.survival import endpoint_data

    data = endpoint_data(df, endpoint, [], frame)
    time = data["months"].to_numpy(dtype=float)
    event = data["event"].to_numpy(dtype=bool)
    return tuple(survival_at(time, event, float(t)) for t in months)
