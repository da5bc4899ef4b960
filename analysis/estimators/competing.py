"""Competing risks among patients in CR: cumulative incidence of relapse and of
non-relapse mortality (NRM), and Gray's test.

Reproduces R ``cmprsk`` (2.2-11), the reference every hematology paper uses::

    fit <- cuminc(ftime = months, fstatus = cause, group = group, cencode = 0)   # rho = 0
    fit$Tests                                   # Gray's statistic, p, df per cause
    tp <- timepoints(fit, c(12, 24))            # estimate and variance at 12, 24 months

* Time origin is the CR date and time is in months of ``DAYS_PER_MONTH`` days, the
  same clock as LFS (``analysis.estimators.survival``): ``lfs_months``. A patient in CR has a
  relapse (cause 1) when ``relapse_date`` is set, otherwise a death is non-relapse
  mortality (cause 2, death without relapse); everyone else is censored at last
  follow-up. A relapse on the day of death counts as relapse, as in the LFS endpoint.
* Estimates and variances are cmprsk's Fortran ``cinc`` (Aalen-Johansen estimate;
  the variance of Gray's 1988 paper, updated at the times of the cause of interest).
  ``timepoints`` reads the right-continuous step function and is NA beyond the
  largest follow-up time of the group; so are these.
* 95% CI: ``cuminc`` prints none; the usual one (e.g. ``tidycmprsk``, Stata
  ``stcompet``) is the log(-log) transform of the CIF with the cinc variance,
  ``F ** exp(±z * sqrt(var) / (F * log(F)))`` with ``z = qnorm(0.975)``; undefined
  when F is 0 or 1 (no event of the cause yet, or every patient had it).
* Gray's test: cmprsk's Fortran ``crstm``/``crst`` with ``rho = 0`` and one stratum
  (its loop over times vectorised with cumulative sums and products),
  over the levels of the grouping that have at least one patient (``cuminc`` drops
  empty factor levels); statistic ``s' V^-1 s`` on ``k - 1`` df. Computed in floating
  point: cmprsk 2.2-11 computes ``nd1*rs(i)`` in 32-bit integers and its statistic is
  wrong once that product passes 2^31 (registries of ~10^5 patients in CR and more;
  ``benchmarks/peer/cmprsk_overflow.R`` shows it), so agreement with R is checked below
  that size.

Packages evaluated first (on ``tests/reference/cmprsk_ties.csv`` and the demo data):
lifelines 0.30 ``AalenJohansenFitter`` jitters tied event times, so its CIF is off by
~1e-3 (0.15289 vs cmprsk 0.15247 at 5 months) and it has no Gray's test; PyPI
``comprisk`` 0.8.0 matches cmprsk's estimates, variances and Gray statistic to
1e-12, but carries the last value past the largest follow-up time where
``timepoints`` gives NA, returns p = 1 for a cause with no event (R gives no test),
and brings numba, llvmlite and scikit-learn (1.4 s import) for two short routines.
This module is therefore a direct, vectorised port of the two Fortran routines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.estimators.survival import RISK_STEP_MONTHS, Z95, _at_risk, unique_inverse

# scipy is imported in the functions that use it: a kernel restoring cached results
# (renderer/incremental.py) then skips importing scipy.stats (~0.7 s).
from analysis.registry.groups import GROUPINGS

#: Months at which the cumulative incidences are reported.
CIF_MONTHS = (12, 24)

#: Competing causes among patients in CR: key -> (code in the status vector, label).
CAUSES = {"relapse": (1, "Relapse"), "nrm": (2, "Non-relapse mortality")}
CENSORED = 0
#: The same codes for the disease profiles (LBCL, MM): progression and NRM from infusion.
PROGRESSION_CAUSES = {"progression": (1, "Progression"), "nrm": (2, "Non-relapse mortality")}


@dataclass(frozen=True)
class CIFPoint:
    months: int
    estimate: float | None
    variance: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


@dataclass(frozen=True)
class CIFCurve:
    """Step function for plotting: starts at (0, 0), a step at each time of the cause."""

    times: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    last_time: float  # largest follow-up of the group: the curve ends there


@dataclass(frozen=True)
class CIFLevel:
    key: str
    label: str
    n: int
    events: int  # events of this cause
    points: tuple[CIFPoint, ...]
    curve: CIFCurve
    reason: str | None = None


@dataclass(frozen=True)
class GrayTest:
    statistic: float | None
    df: int | None
    p: float | None
    reason: str | None = None


@dataclass(frozen=True)
class CauseComparison:
    cause: str  # "relapse" | "nrm"
    label: str
    levels: tuple[CIFLevel, ...]
    gray: GrayTest


@dataclass(frozen=True)
class CompetingRisks:
    grouping: str | None  # None for all patients in CR
    n: int
    n_relapse: int
    n_nrm: int
    causes: dict[str, CauseComparison]
    risk_times: tuple[float, ...]
    at_risk: dict[str, tuple[int, ...]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# cmprsk's cinc: estimate and variance of one cumulative incidence function
# --------------------------------------------------------------------------------------


def _tie_factor(d: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """cinc's ``t5``: 1 - (d - 1) / (rs - 1) for tied events, 1 otherwise."""
    out = np.ones_like(rs)
    tied = d > 1
    out[tied] = 1 - (d[tied] - 1) / (rs[tied] - 1)
    return out


def cumulative_incidence(months, status, cause: int) -> CIFCurve:
    """Aalen-Johansen CIF of ``cause`` and its variance, cmprsk's Fortran ``cinc``
    vectorised over the distinct times (``status``: 0 censored, else a cause code)."""
    months = np.asarray(months, dtype=float)
    status = np.asarray(status)
    if months.size == 0:
        return CIFCurve(np.array([0.0]), np.array([0.0]), np.array([0.0]), 0.0)
    times, inverse = unique_inverse(months)
    rs = np.cumsum(np.bincount(inverse, minlength=times.size)[::-1])[::-1].astype(float)  # at risk at each time
    d_all = np.bincount(inverse, weights=(status != CENSORED), minlength=times.size)
    d1 = np.bincount(inverse, weights=(status == cause), minlength=times.size)
    keep = d_all > 0
    if not keep.any():
        return CIFCurve(np.array([0.0]), np.array([0.0]), np.array([0.0]), float(months.max()))
    times, rs, d_all, d1 = times[keep], rs[keep], d_all[keep], d1[keep]
    d2 = d_all - d1
    fkn = np.cumprod((rs - d_all) / rs)  # overall KM after the time
    fk = np.concatenate([[1.0], fkn[:-1]])  # ... and just before it
    f = np.cumsum(fk * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_fkn = np.where(fkn > 0, 1.0 / fkn, 0.0)
    # competing events (skipped by cinc when S reaches 0)
    t6 = fk * fk * _tie_factor(d2, rs) * d2 / (rs * rs)
    t6 = np.where((d2 > 0) & (fkn > 0), t6, 0.0)
    t4 = f * inv_fkn
    v1, v2, v3 = t4 * t4 * t6, inv_fkn * t4 * t6, inv_fkn * inv_fkn * t6
    # events of the cause of interest
    t6 = np.where(d1 > 0, fk * fk * _tie_factor(d1, rs) * d1 / (rs * rs), 0.0)
    t4 = 1 + inv_fkn * f
    v1, v2, v3 = (
        np.cumsum(v1 + t4 * t4 * t6),
        np.cumsum(v2 + inv_fkn * t4 * t6),
        np.cumsum(v3 + inv_fkn * inv_fkn * t6),
    )
    variance = v1 + f * f * v3 - 2 * f * v2
    at_cause = d1 > 0
    return CIFCurve(
        times=np.concatenate([[0.0], times[at_cause]]),
        estimate=np.concatenate([[0.0], f[at_cause]]),
        variance=np.concatenate([[0.0], variance[at_cause]]),
        last_time=float(months.max()),
    )


def loglog_ci(estimate: float, variance: float) -> tuple[float | None, float | None, str | None]:
    """95% CI of a cumulative incidence on the log(-log) scale:
    ``F ** exp(±z sqrt(var) / (F log F))``; (None, None, reason) when F is 0 or 1."""
    if estimate <= 0:
        return None, None, "no event of this cause yet, so its log(-log) CI is undefined"
    if estimate >= 1:
        return None, None, "cumulative incidence is 1, so its log(-log) CI is undefined"
    if variance <= 0:
        return estimate, estimate, None
    scale = Z95 * np.sqrt(variance) / (estimate * np.log(estimate))  # negative
    # F ** exp(scale) > F (exp(scale) < 1): the upper limit. F within rounding of 1 (every patient
    # but a fraction eps had the event) makes |scale| huge: exp overflows to inf and the limits
    # are their limits, 0 and 1 (as R computes them, without a warning).
    with np.errstate(over="ignore"):
        return float(estimate ** np.exp(-scale)), float(estimate ** np.exp(scale)), None


def value_at(curve: CIFCurve, months: float) -> CIFPoint:
    """Estimate, variance and CI at ``months`` as ``cmprsk::timepoints`` (NA after the
    largest follow-up time)."""
    if months > curve.last_time:
        return CIFPoint(
            int(months),
            None,
            None,
            None,
            None,
            f"no patient followed to {months:g} months (last follow-up {curve.last_time:.1f})",
        )
    i = np.searchsorted(curve.times, months, side="right") - 1
    estimate, variance = float(curve.estimate[i]), float(curve.variance[i])
    low, high, reason = loglog_ci(estimate, variance)
    return CIFPoint(int(months), estimate, variance, low, high, reason)


# --------------------------------------------------------------------------------------
# cmprsk's crstm/crst: Gray's K-sample test (rho = 0, one stratum)
# --------------------------------------------------------------------------------------


def gray_test(months, status, group, cause: int) -> GrayTest:
    """Gray's (1988) test that the CIFs of ``cause`` are equal across groups.

    ``group`` holds codes 0..k-1 of the groups with at least one patient. A port of
    cmprsk's ``crst`` with ``rho = 0``: the score ``s`` and variance ``V`` of the
    first k-1 groups, statistic ``s' V^-1 s`` on k-1 df (R: NA-like -1 when V is
    singular; here None with a reason)."""
    from analysis.estimators.survival import chi2_sf

    months = np.asarray(months, dtype=float)
    status = np.asarray(status)
    group = np.asarray(group, dtype=np.int64)
    ng = int(group.max()) + 1 if group.size else 0
    if ng < 2:
        return GrayTest(None, None, None, "fewer than two groups with patients: no test")
    if not np.any(status == cause):
        return GrayTest(None, None, None, "no event of this cause: test undefined")
    ng1 = ng - 1
    times, inverse = unique_inverse(months)
    # d[k, time, g]: censored (k=0), the cause (k=1), another cause (k=2)
    kind = np.where(status == cause, 1, np.where(status == CENSORED, 0, 2))
    cell = (kind * times.size + inverse) * ng + group  # bincount: np.add.at is ~50x slower
    d = np.bincount(cell, minlength=3 * times.size * ng).astype(float).reshape(3, times.size, ng)
    rs = d.sum(axis=0)[::-1].cumsum(axis=0)[::-1]  # at risk in each group at each time
    # crst's loop over times, vectorised: only times with an event change anything
    at_event = (d[1] + d[2]).sum(axis=1) > 0
    rs, d1, d2 = rs[at_event], d[1][at_event], d[2][at_event]
    present = rs > 0
    nd1 = d1.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_rs = np.where(present, rs, 1.0)
        skm = np.cumprod(np.where(present, (rs - d1 - d2) / safe_rs, 1.0), axis=0)  # KM per group, after t
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])  # ... and before t
        f1 = np.cumsum(np.where(present, skmm * d1 / safe_rs, 0.0), axis=0)  # CIF per group, after t
        f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
        weight = np.where(present, rs / skmm, 0.0)  # R_r / S_r(t-)
        tr = weight.sum(axis=1)
        tq = np.where(present, rs * (1 - f1m) / skmm, 0.0).sum(axis=1)
        f = np.cumsum(nd1 / tr)  # pooled CIF, after t
        fm = np.concatenate([[0.0], f[:-1]])
        a = -weight[:, :, None] * weight[:, None, :] / tr[:, None, None]
        idx = np.arange(ng)
        a[:, idx, idx] = weight * (1 - weight / tr[:, None])
        c = np.cumsum(a * (nd1 / (tr * (1 - fm)))[:, None, None], axis=0)
        s = np.where(present, d1 - nd1[:, None] * rs * (1 - f1m) / (skmm * tq[:, None]), 0.0)[:, :ng1].sum(axis=0)
        # events of the cause of interest
        t4 = np.where(skm > 0, 1 - (1 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = np.where(present & (nd1[:, None] > 0), t5 * skmm * nd1[:, None] / (tr[:, None] * safe_rs), 0.0)
        t1 = a[:, :ng1, :] - t4[:, None, :] * c[:, :ng1, :]
        v3 = (t4 * t4 * t3).sum(axis=0)
        v2 = np.einsum("tik,tk->ik", t1, t4 * t3)
        v = np.einsum("tik,tjk,tk->ij", t1, t1, t3)
        # events of the other causes
        other = present & (skm > 0) & (d2 > 0)
        t4 = np.where(other, (1 - f[:, None]) / np.where(other, skm, 1.0), 0.0)
        t5 = np.where(d2 > 1, 1 - (d2 - 1) / np.where(d2 > 1, rs - 1, 1.0), 1.0)
        t3 = np.where(other, t5 * skmm**2 * d2 / safe_rs**2, 0.0)
        t1 = t4[:, None, :] * c[:, :ng1, :]
        v3 += (t4 * t4 * t3).sum(axis=0)
        v2 -= np.einsum("tik,tk->ik", t1, t4 * t3)
        v += np.einsum("tik,tjk,tk->ij", t1, t1, t3)
    cc = c[-1, :ng1, :]
    v = v + (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    if not (np.all(np.isfinite(v)) and np.isfinite(s).all()) or np.linalg.matrix_rank(v) < ng1:
        return GrayTest(None, ng1, None, "variance of Gray's score is singular: test undefined")
    statistic = float(s @ np.linalg.solve(v, s))
    return GrayTest(statistic, ng1, chi2_sf(statistic, ng1))


# --------------------------------------------------------------------------------------
# The analysis of the report
# --------------------------------------------------------------------------------------


def competing_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Patients in CR with ``months`` from CR (the LFS clock) and ``status``:
    0 censored, 1 relapse, 2 death without relapse."""
    cr = df[df["lfs_months"].notna()]
    event = cr["lfs_event"].astype(bool).to_numpy()
    relapse = cr["relapse_date"].notna().to_numpy()
    status = np.where(event, np.where(relapse, CAUSES["relapse"][0], CAUSES["nrm"][0]), CENSORED)
    return pd.DataFrame({"months": cr["lfs_months"].astype(float).to_numpy(), "status": status}, index=cr.index)


def _level(key: str, label: str, months, status, code: int) -> CIFLevel:
    if months.size == 0:
        reason = "no patient in this group"
        empty = CIFCurve(np.array([0.0]), np.array([0.0]), np.array([0.0]), 0.0)
        return CIFLevel(
            key, label, 0, 0, tuple(CIFPoint(m, None, None, None, None, reason) for m in CIF_MONTHS), empty, reason
        )
    curve = cumulative_incidence(months, status, code)
    return CIFLevel(
        key, label, int(months.size), int(np.sum(status == code)), tuple(value_at(curve, m) for m in CIF_MONTHS), curve
    )


def compare_competing(
    df: pd.DataFrame,
    grouping: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    causes: dict | None = None,
    population: str = "Patients in CR",
) -> CompetingRisks:
    """CIF of relapse and of NRM among patients in CR, per level of ``grouping``
    (all patients in CR when None), with Gray's test per cause (see module docstring).
    ``causes`` and ``population``: the disease profiles' progression and NRM from infusion
    (:data:`PROGRESSION_CAUSES`, all patients).
    Levels without patients are kept with n = 0 and a reason; they do not enter the test.
    ``data``: ``competing_frame(df)`` when already computed (shared by the groupings)."""
    data = competing_frame(df) if data is None else data
    months = data["months"].to_numpy(dtype=float)
    status = data["status"].to_numpy()
    if grouping is None:
        levels = [("all", population, np.ones(len(data), dtype=bool))]
    else:
        g = GROUPINGS[grouping]
        codes = pd.Categorical(df.loc[data.index, g.column], categories=list(g.keys)).codes
        levels = [(lv.key, lv.label, codes == i) for i, lv in enumerate(g.levels)]
    max_follow = float(months.max()) if months.size else 0.0
    risk_times = np.arange(0.0, max_follow + 1e-9, RISK_STEP_MONTHS) if months.size else np.array([0.0])

    present = [m for _, _, m in levels if m.any()]
    group = np.full(len(data), -1, dtype=np.int64)
    for i, m in enumerate(present):
        group[m] = i
    in_test = group >= 0

    compared = {}
    for cause, (code, label) in (CAUSES if causes is None else causes).items():
        if grouping is None:
            gray = GrayTest(None, None, None, "no grouping: no test")
        elif len(present) < 2:
            gray = GrayTest(
                None, None, None, "only one group with patients: no test" if present else "no patient in CR: no test"
            )
        else:
            gray = gray_test(months[in_test], status[in_test], group[in_test], code)
        compared[cause] = CauseComparison(
            cause, label, tuple(_level(key, lbl, months[m], status[m], code) for key, lbl, m in levels), gray
        )
    return CompetingRisks(
        grouping=grouping,
        n=int(len(data)),
        n_relapse=int(np.sum(status == CAUSES["relapse"][0])),
        n_nrm=int(np.sum(status == CAUSES["nrm"][0])),
        causes=compared,
        risk_times=tuple(float(t) for t in risk_times),
        at_risk={key: _at_risk(months[m], risk_times) for key, _, m in levels},
    )


# --------------------------------------------------------------------------------------
# Rows for a survival summary table
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CIFRow:
    """One row of a summary table: a cause in one level of a grouping."""

    grouping: str | None
    cause: str
    cause_label: str
    level: str
    level_label: str
    n: int
    events: int
    points: tuple[CIFPoint, ...]  # at CIF_MONTHS
    gray_p: float | None  # the same on every row of a cause and grouping
    gray_reason: str | None
    reason: str | None = None


def summary_rows(result: CompetingRisks) -> tuple[CIFRow, ...]:
    """Rows (cause, then level) with n, events, the CIF at 12 and 24 months with CIs and
    Gray's p, for a table; numbers only, formatting is left to the table."""
    return tuple(
        CIFRow(
            result.grouping,
            cause,
            comparison.label,
            level.key,
            level.label,
            level.n,
            level.events,
            level.points,
            comparison.gray.p,
            comparison.gray.reason,
            level.reason,
        )
        for cause, comparison in result.causes.items()
        for level in comparison.levels
    )


# --------------------------------------------------------------------------------------
# Onset of CRS and ICANS, with death before onset as the competing event
# --------------------------------------------------------------------------------------

#: Days after infusion at which the cumulative incidence of onset is reported.
ONSET_DAYS = (7, 14, 28)
#: Toxicities with an onset day: key -> (grade column, onset column, "any" flag of the prepared cohort).
ONSET_TOXICITIES = {
    "crs": ("crs_grade", "crs_onset_day", "crs_any"),
    "icans": ("icans_grade", "icans_onset_day", "icans_any"),
}
ONSET, DEATH_BEFORE_ONSET = 1, 2


@dataclass(frozen=True)
class OnsetPoint:
    day: int
    estimate: float | None
    variance: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


@dataclass(frozen=True)
class OnsetIncidence:
    """Cumulative incidence of a toxicity's onset from infusion, in days, death without the
    toxicity competing (R ``cmprsk::cuminc(day, status)``, status 1 onset, 2 death, 0 censored)."""

    toxicity: str  # "crs" | "icans"
    n: int
    onsets: int
    deaths_before_onset: int
    censored: int
    points: tuple[OnsetPoint, ...]  # at ONSET_DAYS
    median_day: float | None  # first day the cumulative incidence reaches 50%
    median_reason: str | None
    curve: CIFCurve  # in days


def onset_frame(df: pd.DataFrame, toxicity: str) -> pd.DataFrame:
    """Every patient: ``day`` (onset day, else day of death or last follow-up) and ``status``
    (1 onset, 2 death without the toxicity, 0 censored). An onset on the day of death counts
    as the onset: it is recorded, so it preceded the death."""
    if toxicity not in ONSET_TOXICITIES:
        raise KeyError(f"unknown toxicity {toxicity!r}; expected one of {', '.join(ONSET_TOXICITIES)}")
    _, onset_column, any_column = ONSET_TOXICITIES[toxicity]
    had = df[any_column].to_numpy(dtype=bool)
    onset = df[onset_column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    died = df["death_date"].notna().to_numpy()
    end = (df["death_date"].where(died, df["last_followup_date"]) - df["infusion_date"]).dt.days.to_numpy(dtype=float)
    day = np.where(had, onset, end)
    status = np.where(had, ONSET, np.where(died, DEATH_BEFORE_ONSET, CENSORED))
    return pd.DataFrame({"day": day, "status": status}, index=df.index)


def onset_incidence(df: pd.DataFrame, toxicity: str, *, days=ONSET_DAYS) -> OnsetIncidence:
    """Cumulative incidence of ``toxicity`` onset (Aalen-Johansen, cmprsk's variance, log(-log)
    95% CI as for relapse) at ``days``, and the median onset day: the first day on which the
    cumulative incidence is at least 50% (read off the step function of ``cuminc``), not
    reached when fewer than half of the patients ever have the toxicity."""
    data = onset_frame(df, toxicity)
    day, status = data["day"].to_numpy(dtype=float), data["status"].to_numpy()
    n = int(day.size)
    counts = dict(
        onsets=int(np.sum(status == ONSET)),
        deaths_before_onset=int(np.sum(status == DEATH_BEFORE_ONSET)),
        censored=int(np.sum(status == CENSORED)),
    )
    if n == 0:
        empty = CIFCurve(np.array([0.0]), np.array([0.0]), np.array([0.0]), 0.0)
        return OnsetIncidence(
            toxicity,
            0,
            **counts,
            points=tuple(OnsetPoint(d, None, None, None, None, "no patient") for d in days),
            median_day=None,
            median_reason="no patient",
            curve=empty,
        )
    curve = cumulative_incidence(day, status, ONSET)
    points = []
    for d in days:
        p = value_at(curve, d)
        reason = p.reason.replace(f"{d:g} months", f"day {d}") if p.reason and d > curve.last_time else p.reason
        points.append(OnsetPoint(int(d), p.estimate, p.variance, p.ci_low, p.ci_high, reason))
    reached = np.flatnonzero(curve.estimate >= 0.5)
    median = float(curve.times[reached[0]]) if reached.size else None
    reason = (
        None
        if reached.size
        else (f"not reached: the cumulative incidence stays below 50%, at most {100 * curve.estimate[-1]:.1f}%")
    )
    return OnsetIncidence(
        toxicity, n, **counts, points=tuple(points), median_day=median, median_reason=reason, curve=curve
    )
