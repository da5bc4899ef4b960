"""Exposures that begin after time zero: counting-process data (R ``survival::tmerge``).

CRS, ICANS or a transplant after CAR-T begin days after infusion. A Cox model or a
log-rank test that classifies every patient by an exposure known only later treats it as
present from time zero and credits the exposed group with the time before its onset
(immortal time bias). The standard answer is to let the exposure change during follow-up:
each patient's follow-up is cut at the onset day into intervals ``(start, stop]``, and an
interval carries the exposure status in force during it. This module builds those
intervals, as R's ``tmerge``::

    td <- tmerge(d, d, id = id, death = event(time, status))            # one interval (0, time]
    td <- tmerge(td, d, id = id, crs = tdc(crs_onset), icans = tdc(icans_onset))
    coxph(Surv(tstart, tstop, death) ~ crs + icans, data = td)

:func:`counting_process` is generic: any clock (days, months), any number of onset
columns (an onset missing, ``NaN``, means the exposure never began). Its conventions
are ``tmerge``'s:

* a patient's follow-up ``(0, time]`` is split at each distinct onset strictly inside it
  (``0 < onset < time``); onsets on the same day make one split;
* an interval carries exposure ``name`` = 1 when the onset is on or before its start
  (``tdc``: the value changes *after* the onset time, so an event on the onset day is
  counted before it); an onset at or before time 0 means exposed from the start, an onset
  at or after the end of follow-up never counts;
* the event is on the patient's last interval only;
* follow-up of length 0 (an event or censoring at time 0) gives no interval at all:
  ``Surv(tstart, tstop)`` needs ``tstop > tstart`` (R stops with "Stop time must be >
  start time"). Such patients are not silently lost: :attr:`CountingProcess.n_zero_time`
  counts them for the report to state.

Rows are built with NumPy only (no per-patient loop), one pass per onset column; the
exposures are 0/1 ``int8`` arrays, so 10^6 patients with two onsets (up to 3 x 10^6
intervals) take ~60 MB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Why a patient with no follow-up time has no interval (R: "Stop time must be > start time").
ZERO_TIME_REASON = (
    "follow-up of length 0 (event or censoring on the day of the time origin): no interval "
    "(start, stop] with stop > start, as R's Surv(tstart, tstop, event) requires"
)


@dataclass(frozen=True)
class CountingProcess:
    """Counting-process data: one row per (patient, interval), ordered by patient then start.

    ``patient`` is the position (0..n-1) of the patient in the arrays given to
    :func:`counting_process` (``frame(index=...)`` maps it to any index); ``exposed[name]``
    is 1 on the intervals after the onset of ``name``.
    """

    patient: np.ndarray  # int64, position of the patient in the input
    start: np.ndarray  # float64
    stop: np.ndarray  # float64
    event: np.ndarray  # bool: the event ends this interval
    exposed: dict[str, np.ndarray]  # name -> int8 0/1 per interval
    n_patients: int  # patients given (those with no interval included)
    n_zero_time: int  # patients with follow-up 0: no interval (ZERO_TIME_REASON)

    @property
    def n_rows(self) -> int:
        return int(self.patient.size)

    def frame(self, index=None) -> pd.DataFrame:
        """The intervals as a DataFrame (``tstart``, ``tstop``, ``event`` and one column per
        exposure, as R's tmerge); ``index``: labels of the input rows, put in column ``id``."""
        ids = self.patient if index is None else np.asarray(index)[self.patient]
        return pd.DataFrame(
            {
                "id": ids,
                "tstart": self.start,
                "tstop": self.stop,
                "event": self.event,
                **{name: values for name, values in self.exposed.items()},
            }
        )


def counting_process(time, event, onsets: Mapping[str, object]) -> CountingProcess:
    """Split each patient's follow-up ``(0, time]`` at the onsets of the exposures.

    ``time``: follow-up of each patient from the time origin (event or censoring), on any
    clock; ``event``: whether follow-up ended with the event; ``onsets``: exposure name ->
    onset time of each patient on the same clock (NaN/None: never exposed). See the module
    docstring for the conventions (R ``tmerge`` with ``event()`` and ``tdc()``).

    >>> cp = counting_process([10, 8], [True, False], {"crs": [3, np.nan]})
    >>> cp.frame()[["id", "tstart", "tstop", "event", "crs"]].values.tolist()
    [[0, 0.0, 3.0, False, 0], [0, 3.0, 10.0, True, 1], [1, 0.0, 8.0, False, 0]]
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    n = time.size
    if event.shape != time.shape:
        raise ValueError(f"time and event differ in length ({time.size} and {event.size})")
    if np.isnan(time).any() or (time < 0).any():
        raise ValueError("follow-up times must be known and >= 0 (a patient without one belongs to no risk set)")
    names = list(onsets)
    onset = np.empty((n, len(names)))
    for j, name in enumerate(names):
        values = pd.Series(onsets[name]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if values.shape != time.shape:
            raise ValueError(f"onsets of {name!r} differ in length from the follow-up times")
        onset[:, j] = values
    keep = time > 0
    # cut points strictly inside (0, time); equal onsets make one cut
    cuts = np.where((onset > 0) & (onset < time[:, None]), onset, np.inf)
    cuts.sort(axis=1)
    if cuts.shape[1] > 1:
        cuts[:, 1:][cuts[:, 1:] == cuts[:, :-1]] = np.inf
        cuts.sort(axis=1)
    cuts[~keep] = np.inf
    n_cuts = np.isfinite(cuts).sum(axis=1)
    rows = np.where(keep, n_cuts + 1, 0)
    patient = np.repeat(np.arange(n, dtype=np.int64), rows)
    # position of each row within its patient: 0, 1, ...
    first_row = np.concatenate([[0], np.cumsum(rows)[:-1]])
    k = np.arange(patient.size, dtype=np.int64) - first_row[patient]
    # boundaries per patient: 0, cuts..., time
    bounds = np.concatenate([np.zeros((n, 1)), cuts, np.full((n, 1), np.inf)], axis=1)
    bounds[np.arange(n), n_cuts + 1] = time
    start = bounds[patient, k]
    stop = bounds[patient, k + 1]
    last = k == n_cuts[patient]
    exposed = {name: (onset[patient, j] <= start).astype(np.int8) for j, name in enumerate(names)}
    return CountingProcess(
        patient=patient,
        start=start,
        stop=stop,
        event=event[patient] & last,
        exposed=exposed,
        n_patients=int(n),
        n_zero_time=int((~keep).sum()),
    )


# ======================================================================================
# CRS and ICANS as time-dependent exposures (Results: beside the analyses from infusion)
# ======================================================================================
#
# The toxicity groupings change at the onset days: CRS from ``crs_onset_day``, ICANS (and a
# seizure) from ``icans_onset_day``; the grade recorded is the maximum grade, which is
# assigned from the onset (the day the maximum was reached is not in the data). Each
# interval's level of every toxicity grouping comes from
# :func:`analysis.registry.groups.toxicity_codes` on the grades in force during it (a
# toxicity not yet begun counts as none), so the groupings keep their single definition.
#
# * Cox model with the exposure time-dependent: R
#   ``coxph(Surv(tstart, tstop, event) ~ exposure [+ covariates], ties = "efron")`` on the
#   tmerge intervals, fitted by :func:`analysis.estimators.cox.fit_model`;
# * Mantel–Byar test (Mantel and Byar 1974): the log-rank test with each patient counted in
#   the group of the interval at risk at each event time: observed minus expected events
#   of each group and the hypergeometric variance, as R's survdiff computes them but on the
#   counting-process risk sets; it equals the score test of the exact partial likelihood at
#   beta = 0 (R ``coxph(..., ties = "exact")``'s "Score (logrank) test");
# * Simon–Makuch curves (Simon and Makuch 1984): the product-limit estimator of each group
#   with delayed entry (patients enter the exposed group at their onset), R
#   ``survfit(Surv(tstart, tstop, event) ~ group)`` on the intervals.

from analysis.estimators.cox import CoxResult  # noqa: E402
from analysis.estimators.survival import SurvivalComparison  # noqa: E402
from analysis.registry.concepts import ENDPOINTS  # noqa: E402
from analysis.registry.groups import DAYS_PER_MONTH, GROUPINGS, toxicity_codes  # noqa: E402

#: Endpoints analysed with the toxicity as a time-dependent exposure (and by the multivariable
#: landmark model): OS and LFS. EFS counts no CR at day 30 as an event at time 0, which has no
#: interval at risk in counting-process data.
TIME_DEPENDENT_ENDPOINTS = ("os", "lfs")
#: The toxicities with an onset day: grouping -> (grade column, onset column).
ONSETS = {"crs": ("crs_grade", "crs_onset_day"), "icans": ("icans_grade", "icans_onset_day")}
#: Where each endpoint's clock starts (the other endpoints: infusion).
ORIGINS = {"lfs": "cr_date"}


@dataclass(frozen=True)
class OnsetSummary:
    """How long after infusion a toxicity began, among the patients who had it."""

    toxicity: str  # "crs" | "icans"
    n: int  # patients with the toxicity
    n_after_day0: int  # onset after the day of infusion: misclassified at time 0
    median_day: float | None
    q1_day: float | None
    q3_day: float | None
    min_day: float | None
    max_day: float | None


def onset_summary(df: pd.DataFrame, toxicity: str) -> OnsetSummary:
    """Onset days of CRS or ICANS among the patients with a grade > 0 (quartiles by R's
    default ``quantile(type = 7)``)."""
    grade, onset = ONSETS[toxicity]
    days = df[onset].where(df[grade].gt(0)).astype("Float64").dropna().to_numpy(dtype=float)
    if days.size == 0:
        return OnsetSummary(toxicity, 0, 0, None, None, None, None, None)
    q1, median, q3 = (float(v) for v in np.quantile(days, [0.25, 0.5, 0.75]))
    return OnsetSummary(
        toxicity, int(days.size), int((days > 0).sum()), median, q1, q3, float(days.min()), float(days.max())
    )


def _days(df: pd.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow-up (whole days from the endpoint's origin), event, and the origin in days after
    infusion, of the patients of the endpoint (rows with a time)."""
    e = ENDPOINTS[endpoint]
    time = np.rint(df[e.time_column].to_numpy(dtype=float) * DAYS_PER_MONTH)  # the days the months came from
    event = df[e.event_column].astype("boolean").fillna(False).to_numpy(dtype=bool)
    origin = ORIGINS.get(endpoint)
    offset = np.zeros(len(df)) if origin is None else (df[origin] - df["infusion_date"]).dt.days.to_numpy(dtype=float)
    return time, event, offset


@dataclass(frozen=True)
class TimeDependentData:
    """Counting-process rows of one endpoint with the toxicity groupings in force on each
    interval (``grp_<name>`` level keys, as the prepared cohort's) and the requested
    patient columns repeated; index: the patient's index in the cohort. ``start``/``months``
    are days from the endpoint's origin (hazard ratios and tests do not depend on the unit)."""

    frame: pd.DataFrame
    n_patients: int  # patients of the endpoint
    n_zero_time: int  # of whom without an interval (follow-up 0 days)
    n_changed: dict[str, int]  # grouping -> patients whose level changes during follow-up
    #: positions in the cohort of the endpoint's patients, and the patient of each interval
    #: (a position in ``positions``): the covariates fixed at baseline are read per patient
    positions: np.ndarray | None = None
    patient: np.ndarray | None = None


def time_dependent_data(
    df: pd.DataFrame, endpoint: str, groupings=("crs", "icans", "severity"), columns=()
) -> TimeDependentData:
    """The endpoint's patients split at the CRS and ICANS onsets (:func:`counting_process`,
    onsets moved to the endpoint's clock: LFS starts at the CR date, so a toxicity that began
    before it is present from its start)."""
    e = ENDPOINTS[endpoint]
    # only the columns read here: a row selection copies every column it is given (the
    # prepared cohort of 10^6 patients holds ~0.5 GB in its other columns)
    wanted = [
        e.time_column,
        e.event_column,
        "infusion_date",
        ORIGINS.get(endpoint),
        "seizure",
        *(c for pair in ONSETS.values() for c in pair),
        *columns,
    ]
    rows = df[[c for c in dict.fromkeys(wanted) if c is not None and c in df.columns]]
    has_time = rows[e.time_column].notna().to_numpy()
    rows = rows[has_time]
    time, event, offset = _days(rows, endpoint)
    onsets = {}
    for tox, (grade, onset) in ONSETS.items():
        day = rows[onset].where(rows[grade].gt(0)).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        onsets[tox] = day - offset
    cp = counting_process(time, event, onsets)
    p = cp.patient
    crs_on, icans_on = cp.exposed["crs"].astype(bool), cp.exposed["icans"].astype(bool)
    crs_grade = rows["crs_grade"].astype("Float64").to_numpy(dtype=float, na_value=0.0)[p]
    icans_grade = rows["icans_grade"].astype("Float64").to_numpy(dtype=float, na_value=0.0)[p]
    seizure = (
        rows["seizure"].astype("boolean").fillna(False).to_numpy(dtype=bool)[p]
        if "seizure" in rows
        else np.zeros(p.size, dtype=bool)
    )
    codes = toxicity_codes(np.where(crs_on, crs_grade, 0.0), np.where(icans_on, icans_grade, 0.0), seizure & icans_on)
    index = rows.index[p]
    frame = pd.DataFrame({"start": cp.start, "months": cp.stop, "event": cp.event.astype(float)}, index=index)
    n_changed = {}
    for name in groupings:
        g = GROUPINGS[name]
        frame[g.column] = pd.Categorical.from_codes(codes[name], categories=list(g.keys), ordered=True)
        # a patient changes level when its rows do not all share the first row's level
        first = np.r_[p[:1] == p[:1], p[1:] != p[:-1]]
        level_first = np.repeat(codes[name][first], np.diff(np.r_[np.flatnonzero(first), p.size]))
        changed = np.zeros(len(rows), dtype=bool)
        changed[p[codes[name] != level_first]] = True
        n_changed[name] = int(changed.sum())
    for column in columns:
        if column not in frame and column in rows:  # a derived column the cohort lacks is computed later
            frame[column] = rows[column].to_numpy()[p]
    return TimeDependentData(frame, int(len(rows)), cp.n_zero_time, n_changed, np.flatnonzero(has_time), p)


def interval_patterns(df: pd.DataFrame, data: TimeDependentData, model):
    """A model's covariates on the intervals of ``data``, as
    :class:`analysis.estimators.cox.CovariatePatterns`: each patient's covariates fixed at
    baseline (the design matrix of the patients, read from ``df``) with the exposure level
    in force on the interval. No intervals x covariates array is built: the intervals'
    patterns are (the patient's pattern, the interval's level)."""
    from analysis.estimators.cox import (
        CovariatePatterns,
        _codes,
        _first_rows,
        covariate_patterns,
        design_matrix,
        model_columns,
        model_terms,
    )

    g = GROUPINGS[model.exposure]
    specs = model_terms(model)
    covariates = [t.key for t in specs if t.exposure_level is None]
    level = data.frame[g.column].cat.codes.to_numpy().astype(np.int64)
    patient = data.patient if data.patient is not None else np.zeros(level.size, dtype=np.int64)
    if covariates:
        if data.positions is None:
            raise ValueError("these intervals do not say which patient they belong to")
        columns = [c for c in model_columns(model)[:-1] if c in df.columns]  # not the exposure's
        patients = design_matrix(df[columns].iloc[data.positions], model, exposure=False)
        pcode, ptable = covariate_patterns([patients[c].to_numpy(dtype=float) for c in covariates], len(patients))
        key = pcode[patient] * (len(g.levels) + 1) + (level + 1)  # level -1: missing
    else:
        pcode, ptable = np.zeros(1, dtype=np.int64), np.zeros((1, 0))
        key = level + 1
    code, k = _codes(key, sort=False)
    first = _first_rows(code, k)
    first_patient = pcode[patient[first]] if covariates else np.zeros(k, dtype=np.int64)
    table = {c: ptable[first_patient, j] for j, c in enumerate(covariates)}
    for t in specs:
        if t.exposure_level is not None:
            hit = level[first] == list(g.keys).index(t.exposure_level)
            table[t.key] = np.where(level[first] < 0, np.nan, hit.astype(float))
    return CovariatePatterns(code, pd.DataFrame(table, columns=[t.key for t in specs]))


@dataclass(frozen=True)
class MantelByar:
    chisq: float | None
    df: int | None
    p: float | None
    reason: str | None = None


def mantel_byar(start, stop, event, group, k: int) -> MantelByar:
    """Mantel–Byar test over groups 0..k-1 of counting-process rows (start, stop]: at each
    event time, the events of each group against those expected from its share of the risk
    set, with the hypergeometric variance (R ``survdiff``'s formulas, risk set
    ``start < t <= stop``); ``U' V^-1 U`` without the first group, k - 1 df over the
    groups that are ever at risk at an event time."""
    from analysis.estimators.survival import chi2_sf

    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)
    event, group = np.asarray(event, dtype=bool), np.asarray(group, dtype=np.intp)
    times = np.unique(stop[event])
    if times.size == 0:
        return MantelByar(None, None, None, "no event: Mantel–Byar test undefined")
    at_risk = np.empty((times.size, k))
    deaths = np.zeros((times.size, k))
    for j in range(k):
        mine = group == j
        at_risk[:, j] = (mine.sum() - np.searchsorted(np.sort(stop[mine]), times, side="left")) - (
            mine.sum() - np.searchsorted(np.sort(start[mine]), times, side="left")
        )
        deaths[:, j] = np.bincount(np.searchsorted(times, stop[mine & event]), minlength=times.size)
    present = np.flatnonzero((at_risk > 0).any(axis=0))
    if present.size < 2:
        return MantelByar(None, None, None, "only one group is at risk at the event times: no test")
    at_risk, deaths = at_risk[:, present], deaths[:, present]
    n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
    used = n > 1
    share, n, d = at_risk[used] / n[used, None], n[used], d[used]
    u = (deaths[used] - share * d[:, None]).sum(axis=0)
    scale = d * (n - d) / (n - 1)
    v = np.diag((scale[:, None] * share).sum(axis=0)) - (share * scale[:, None]).T @ share
    try:
        chisq = float(u[1:] @ np.linalg.solve(v[1:, 1:], u[1:]))
    except np.linalg.LinAlgError:
        return MantelByar(None, None, None, "singular variance: Mantel–Byar test not computed")
    dof = int(present.size - 1)
    return MantelByar(chisq, dof, chi2_sf(chisq, dof))


@dataclass(frozen=True)
class TimeDependentComparison:
    """One toxicity grouping as a time-dependent exposure for one endpoint."""

    endpoint: str
    grouping: str
    n: int  # patients with at least one interval
    n_rows: int  # intervals
    events: int
    n_zero_time: int  # patients with follow-up 0: no interval (ZERO_TIME_REASON)
    n_changed: int  # patients whose level changes during follow-up
    #: events at which some patient at risk was still in another group than the one an
    #: analysis from time 0 puts them in (the toxicity still to come): with none, the
    #: time-dependent and time-0 risk sets are the same and so are the estimates
    n_events_affected: int
    mantel_byar: MantelByar
    cox: CoxResult  # univariable, the exposure time-dependent
    curves: SurvivalComparison  # Simon–Makuch curves (its log-rank fields: the Mantel–Byar test)


def _patients_in(data: TimeDependentData, rows: np.ndarray) -> int:
    """How many patients have at least one of the intervals ``rows`` (a mask)."""
    if data.patient is None:
        return int(data.frame.index[rows].nunique())
    seen = np.zeros(data.n_patients, dtype=bool)
    seen[data.patient[rows]] = True
    return int(seen.sum())


def _simon_makuch(data: TimeDependentData, endpoint: str, grouping: str, test: MantelByar):
    from analysis.estimators.survival import RISK_STEP_MONTHS, SurvivalComparison, kaplan_meier

    frame = data.frame
    g = GROUPINGS[grouping]
    codes = frame[g.column].cat.codes.to_numpy()
    start = frame["start"].to_numpy() / DAYS_PER_MONTH
    stop = frame["months"].to_numpy() / DAYS_PER_MONTH
    event = frame["event"].to_numpy(dtype=bool)
    last = np.r_[frame.index[1:] != frame.index[:-1], True]  # a patient's last interval
    censored = last & ~event
    max_follow = float(stop.max()) if stop.size else 0.0
    risk_times = np.arange(0.0, max_follow + 1e-9, RISK_STEP_MONTHS) if stop.size else np.array([0.0])
    levels, at_risk = [], {}
    for i, lv in enumerate(g.levels):
        m = codes == i
        level_start, level_stop = start[m], stop[m]
        summary = kaplan_meier(level_stop, event[m], lv.key, lv.label, entry=level_start, censored=censored[m])
        from dataclasses import replace

        levels.append(replace(summary, n=_patients_in(data, m)))
        at_risk[lv.key] = tuple(
            int(np.count_nonzero((level_start <= 0) & (level_stop > 0)))
            if t == 0
            else int(np.count_nonzero((level_start < t) & (level_stop >= t)))
            for t in risk_times
        )
    return SurvivalComparison(
        endpoint=endpoint,
        grouping=grouping,
        levels=tuple(levels),
        logrank_chisq=test.chisq,
        df=test.df,
        logrank_p=test.p,
        reason=test.reason,
        risk_times=tuple(float(t) for t in risk_times),
        at_risk=at_risk,
    )


def _events_affected(frame: pd.DataFrame, codes: np.ndarray) -> int:
    """Events at times when a row at risk is in another level than its patient's last row."""
    index = frame.index.to_numpy()
    last = np.r_[index[1:] != index[:-1], True] if index.size else np.array([], dtype=bool)
    final = np.repeat(codes[last], np.diff(np.r_[0, np.flatnonzero(last) + 1]))
    pending = codes != final
    start, stop = frame["start"].to_numpy(), frame["months"].to_numpy()
    event = frame["event"].to_numpy(dtype=bool)
    if not pending.any() or not event.any():
        return 0
    t = stop[event]
    covered = np.searchsorted(np.sort(start[pending]), t, side="left") - np.searchsorted(
        np.sort(stop[pending]), t, side="left"
    )
    return int((covered > 0).sum())


def time_dependent_comparison(
    df: pd.DataFrame, endpoint: str, grouping: str, data: TimeDependentData | None = None
) -> TimeDependentComparison:
    """Mantel–Byar test, univariable time-dependent Cox model (each level against the
    reference, :data:`analysis.registry.groups.REFERENCE_LEVELS`) and Simon–Makuch curves
    of a toxicity grouping. ``data``: :func:`time_dependent_data` of the endpoint, when built."""
    from analysis.estimators.cox import ModelSpec, fit_model

    if data is None:
        data = time_dependent_data(df, endpoint, (grouping,))
    frame = data.frame
    g = GROUPINGS[grouping]
    codes = frame[g.column].cat.codes.to_numpy()
    test = mantel_byar(frame["start"], frame["months"], frame["event"], codes, len(g.levels))
    model = ModelSpec(exposure=grouping, covariates=(), name="time-dependent")
    cox = fit_model(frame, interval_patterns(df, data, model), endpoint, model)
    return TimeDependentComparison(
        endpoint=endpoint,
        grouping=grouping,
        n=_patients_in(data, np.ones(len(frame), dtype=bool)),
        n_rows=int(len(frame)),
        events=int(frame["event"].sum()),
        n_zero_time=data.n_zero_time,
        n_changed=data.n_changed.get(grouping, 0),
        n_events_affected=_events_affected(frame, codes),
        mantel_byar=test,
        cox=cox,
        curves=_simon_makuch(data, endpoint, grouping, test),
    )


def time_dependent_model(df: pd.DataFrame, endpoint: str, model, data: TimeDependentData | None = None):
    """The multivariable model (:class:`analysis.estimators.cox.ModelSpec`) with its exposure
    time-dependent and its covariates fixed at baseline: R ``coxph(Surv(tstart, tstop, event)
    ~ covariates + exposure)`` on the intervals (a :class:`~analysis.estimators.cox.CoxResult`
    named ``time-dependent``)."""
    from dataclasses import replace

    from analysis.estimators.cox import fit_model

    if data is None:
        data = time_dependent_data(df, endpoint, (model.exposure,))
    spec = replace(model, name="time-dependent")
    return fit_model(data.frame, interval_patterns(df, data, spec), endpoint, spec)
