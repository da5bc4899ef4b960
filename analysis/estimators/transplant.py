"""Allogeneic HSCT after CAR-T (``hsct_date``): counts and timing, OS and LFS with the
transplant as a time-dependent covariate, and a sensitivity analysis censoring at it.

In B-ALL a share of the patients in CR after CAR-T proceeds to a consolidative allogeneic
transplant, and some relapsed patients are transplanted later. A transplant changes no
endpoint's definition here: OS, LFS, EFS, relapse and non-relapse mortality run through it.
But a patient must be alive (and, for a consolidation, in CR) to be transplanted, so
comparing "transplanted" with "not transplanted" from time zero credits the transplant with
the time before it (immortal time bias). Two standard analyses answer this:

* **HSCT as a time-dependent covariate** (counting-process data, as R's ``tmerge`` +
  ``coxph(Surv(tstart, tstop, event) ~ hsct)``): each patient's follow-up is split at the
  transplant by :func:`analysis.estimators.timevarying.counting_process`; the intervals after
  it carry ``hsct = 1``. Conventions of ``tmerge``'s ``tdc()``: the covariate changes *after*
  the transplant day, so an event on that day counts before it; a transplant on or after the
  end of follow-up never counts; one before the time origin (an LFS patient transplanted
  before the CR date) counts from the origin; a patient with follow-up 0 (an event on the day
  of the origin) has no interval ``(start, stop]`` and is counted in ``n_zero_time`` (R stops
  with "Stop time must be > start time"). The models are HSCT alone and each toxicity
  grouping plus HSCT, fitted with Efron's ties.
* **Censoring at HSCT**: follow-up ends at the transplant (an event on the transplant day
  counts), and the comparisons by toxicity are repeated: Kaplan–Meier, log-rank and the
  univariable Cox hazard ratio (:mod:`analysis.estimators.survival`,
  :mod:`analysis.estimators.effects`). This estimates survival in a world without transplant
  only under independent censoring, which a transplant chosen for fit patients violates: it
  is a sensitivity analysis, not an estimate.

The clocks are those of the endpoints (``analysis.registry.concepts.ENDPOINTS``): OS from
infusion, LFS from the CR date, in months of ``DAYS_PER_MONTH`` days.

The Cox fit on counting-process data is :class:`CountingEfron` below: Efron's partial
likelihood with risk sets ``start < t <= stop`` (R ``coxph`` with ``Surv(tstart, tstop,
event)``), plugged into the Newton-Raphson of :mod:`analysis.estimators.cox`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.estimators.cox import _EfronData
from analysis.estimators.timevarying import CountingProcess, counting_process
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.groups import DAYS_PER_MONTH, GROUPINGS

#: Endpoints analysed with HSCT as a time-dependent covariate and censored at HSCT (EFS is
#: left out: its day-0 events have no interval (start, stop] with stop > start).
HSCT_ENDPOINTS = ("os", "lfs")
#: Toxicity groupings adjusted for HSCT and compared after censoring at HSCT.
HSCT_GROUPINGS = ("crs", "icans")
#: Why there is no transplant analysis when the export has no hsct_date column.
NOT_RECORDED_REASON = "the cohort table has no hsct_date column: transplants after CAR-T were not recorded"
NONE_REASON = "no patient had an allogeneic HSCT after CAR-T"


# --------------------------------------------------------------------------------------
# Counts and timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Median and range of a delay in months (None when no patient)."""

    n: int
    median: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True)
class TransplantCounts:
    recorded: bool  # the cohort table had an hsct_date column
    n_patients: int
    n_hsct: int  # any allogeneic HSCT after CAR-T
    n_in_cr: int  # consolidation: in CR at day 30, before any relapse
    n_after_relapse: int  # in CR at day 30, transplanted after the relapse
    n_without_cr: int  # not in CR at day 30
    n_cr: int
    from_infusion: Timing  # months from infusion to HSCT, every transplanted patient
    from_cr: Timing  # months from CR to a consolidative HSCT
    #: among the consolidative transplants: relapsed after HSCT, died without relapse after HSCT
    relapsed_after: int = 0
    died_without_relapse_after: int = 0
    reason: str | None = None


def _timing(months: pd.Series) -> Timing:
    months = months.dropna()
    if months.empty:
        return Timing(0, None, None, None)
    return Timing(int(months.size), float(months.median()), float(months.min()), float(months.max()))


def transplant_counts(df: pd.DataFrame, recorded: bool = True) -> TransplantCounts:
    """Who was transplanted when, on a prepared cohort (``recorded``: the file had the column)."""
    hsct = df["hsct_date"] if "hsct_date" in df else pd.Series(pd.NaT, index=df.index)
    had = hsct.notna()
    cr = df["cr_day30"].astype(bool)
    relapse = df["relapse_date"]
    in_cr = had & cr & (relapse.isna() | (hsct < relapse))
    after_relapse = had & cr & relapse.notna() & (hsct >= relapse)
    death = df["death_date"]
    reason = None if recorded else NOT_RECORDED_REASON
    if recorded and not had.any():
        reason = NONE_REASON
    return TransplantCounts(
        recorded=bool(recorded),
        n_patients=int(len(df)),
        n_hsct=int(had.sum()),
        n_in_cr=int(in_cr.sum()),
        n_after_relapse=int(after_relapse.sum()),
        n_without_cr=int((had & ~cr).sum()),
        n_cr=int(cr.sum()),
        from_infusion=_timing(((hsct - df["infusion_date"]).dt.days / DAYS_PER_MONTH)[had]),
        from_cr=_timing(((hsct - df["cr_date"]).dt.days / DAYS_PER_MONTH)[in_cr]),
        relapsed_after=int((in_cr & relapse.notna()).sum()),
        died_without_relapse_after=int((in_cr & relapse.isna() & death.notna()).sum()),
        reason=reason,
    )


def hsct_months(df: pd.DataFrame, endpoint: str) -> pd.Series:
    """Months from the endpoint's time origin to HSCT (OS: infusion; LFS: CR), NaN without one."""
    if endpoint not in HSCT_ENDPOINTS:
        raise ValueError(f"no transplant analysis of {endpoint!r}; the endpoints are {', '.join(HSCT_ENDPOINTS)}")
    origin = df["infusion_date"] if endpoint == "os" else df["cr_date"]
    hsct = df["hsct_date"] if "hsct_date" in df else pd.Series(pd.NaT, index=df.index)
    return (hsct - origin).dt.days / DAYS_PER_MONTH


# --------------------------------------------------------------------------------------
# Counting-process data and Efron's partial likelihood on it
# --------------------------------------------------------------------------------------


class CountingEfron(_EfronData):
    """Efron's partial likelihood of counting-process data: at each event time t the risk set
    is the rows with ``start < t <= stop`` (R ``coxph(Surv(tstart, tstop, event) ~ x)``).

    The library's one Efron likelihood (:class:`analysis.estimators.cox._EfronData`, which
    :func:`analysis.estimators.cox.fit_model` uses for the toxicity as a time-dependent
    covariate) called with the interval starts: rows collapsed by (stop, covariates) and, for
    the entries, by (start, covariates), so 10^6 patients split at a transplant collapse to a
    few thousand rows per table. ``cox._fit_efron(None, columns, model=CountingEfron(...))``
    fits it.
    """

    def __init__(self, start, stop, event, X):
        super().__init__(stop, event, X, entry=start)


# --------------------------------------------------------------------------------------
# Time-dependent Cox models
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TDTerm:
    key: str  # "hsct" or a level key of the grouping
    label: str
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None  # Wald
    coef: float | None = None
    se: float | None = None
    reason: str | None = None
    #: how a list of every p-value of the report names this one: "OS: CRS, adjusted for HSCT (time-dependent)"
    p_label: str | None = None
    #: whether the report prints this estimate (the transplant's own HR in the models with a
    #: toxicity is in the JSON only: the report shows the transplant alone and the toxicity's HR)
    reported: bool = True


@dataclass(frozen=True)
class TimeDependentCox:
    """``coxph(Surv(tstart, tstop, event) ~ [grouping +] hsct, ties = "efron")``."""

    endpoint: str
    grouping: str | None  # None: HSCT alone
    n: int  # patients with an interval
    n_rows: int  # counting-process rows
    events: int
    n_hsct: int  # patients whose HSCT falls inside their follow-up
    n_zero_time: int
    terms: tuple[TDTerm, ...]
    reason: str | None = None


HSCT_LABEL = "Allogeneic HSCT (time-dependent)"


@dataclass(frozen=True)
class _TDData:
    """One endpoint's counting-process intervals split at HSCT, and each grouping's level code
    per interval: shared by the models of the endpoint (built once)."""

    intervals: CountingProcess
    codes: dict[str, np.ndarray]


def _td_data(df: pd.DataFrame, endpoint: str, groupings=HSCT_GROUPINGS) -> _TDData:
    time_col, event_col = ENDPOINTS[endpoint].columns
    columns = [time_col, event_col, "infusion_date", "cr_date", "hsct_date"] + [GROUPINGS[g].column for g in groupings]
    mask = df[time_col].notna().to_numpy()
    rows = df.loc[mask, [c for c in columns if c in df]]  # only what the models read: no copy of the whole cohort
    onset = hsct_months(rows, endpoint).to_numpy(dtype=float)
    iv = counting_process(
        rows[time_col].to_numpy(dtype=float), rows[event_col].astype(bool).to_numpy(), {"hsct": onset}
    )
    codes = {
        g: pd.Categorical(rows[GROUPINGS[g].column], categories=list(GROUPINGS[g].keys)).codes[iv.patient]
        for g in groupings
    }
    return _TDData(iv, codes)


def time_dependent_cox(
    df: pd.DataFrame, endpoint: str, grouping: str | None = None, *, data: _TDData | None = None
) -> TimeDependentCox:
    """HSCT as a time-dependent covariate for ``endpoint`` (``os``, ``lfs``), alone or with
    the levels of ``grouping`` (against its first level) as fixed covariates. ``data``: the
    endpoint's intervals when already built (:func:`transplant_analysis` shares them)."""
    from analysis.estimators import cox

    if data is None or (grouping is not None and grouping not in data.codes):
        data = _td_data(df, endpoint, (grouping,) if grouping else ())
    iv = data.intervals
    g = GROUPINGS[grouping] if grouping else None
    exposed = iv.exposed["hsct"]
    columns = ["hsct"]
    labels = {"hsct": HSCT_LABEL}
    design = {"hsct": exposed.astype(float)}
    if g is not None:
        levels = []
        level_codes = data.codes[g.name]
        for i, lv in enumerate(g.levels[1:], start=1):
            levels.append(lv.key)
            design[lv.key] = (level_codes == i).astype(float)
            labels[lv.key] = lv.label
        columns = levels + ["hsct"]
    n = iv.n_patients - iv.n_zero_time
    events = int(iv.event.sum())
    n_hsct = int(np.count_nonzero(exposed))  # one onset: at most one exposed interval per patient

    def p_label(term: str) -> str:
        head = ENDPOINTS[endpoint].abbreviation
        if term == "hsct":
            return f"{head}: HSCT (time-dependent)" + (f", adjusted for {g.title}" if g is not None else "")
        return f"{head}: {labels[term]}, adjusted for HSCT (time-dependent)"

    def result(terms, reason=None):
        terms = [dataclasses.replace(t, p_label=p_label(t.key), reported=g is None or t.key != "hsct") for t in terms]
        return TimeDependentCox(
            endpoint, grouping, n, int(iv.patient.size), events, n_hsct, iv.n_zero_time, tuple(terms), reason
        )

    def failed(reason):
        return result([TDTerm(c, labels[c], None, None, None, None, reason=reason) for c in columns], reason)

    if events == 0:
        return failed("no event: hazard ratio not estimable")
    if n_hsct == 0:
        return failed("no transplant during follow-up: HSCT not estimable")
    constant = [c for c in columns if design[c].min() == design[c].max()]
    fit_columns = [c for c in columns if c not in constant]
    model = CountingEfron(iv.start, iv.stop, iv.event, np.column_stack([design[c] for c in fit_columns]))
    coef, cov, _converged, problem, _monotone = cox._fit_efron(None, fit_columns, model=model)
    if coef is None:
        return failed(problem or "Cox model not estimable")
    terms = []
    for c in columns:
        if c in constant:
            terms.append(TDTerm(c, labels[c], None, None, None, None, reason="no patient in this group"))
            continue
        j = fit_columns.index(c)
        b, se = float(coef[j]), float(math.sqrt(cov[j, j])) if cov[j, j] > 0 else math.nan
        wald = cox.wald_ratio(b, se)
        if wald is None:
            terms.append(TDTerm(c, labels[c], None, None, None, None, reason="variance not estimable"))
            continue
        terms.append(TDTerm(c, labels[c], *wald, b, se, problem))
    return result(terms, problem)


# --------------------------------------------------------------------------------------
# Sensitivity analysis: censoring at HSCT
# --------------------------------------------------------------------------------------


def censored_at_hsct(df: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """The prepared cohort with ``endpoint``'s time and event ended at HSCT: time = min(time,
    HSCT), event only when it came on or before the transplant day."""
    time_col, event_col = ENDPOINTS[endpoint].columns
    h = hsct_months(df, endpoint)
    time = df[time_col].astype(float)
    cut = h.notna() & (h < time)
    out = df.copy()
    out[time_col] = time.where(~cut, h.clip(lower=0.0))
    out[event_col] = df[event_col].where(~cut, False).where(time.notna())
    return out


@dataclass(frozen=True)
class CensoredAtHSCT:
    """Survival by toxicity with follow-up censored at HSCT."""

    endpoint: str
    n_censored: int  # patients whose follow-up was ended by the transplant
    n_events_removed: int  # events after HSCT no longer counted
    survival: dict = field(default_factory=dict)  # grouping or "all" -> SurvivalComparison
    hazard_ratios: dict = field(default_factory=dict)  # grouping -> UnivariableCox


def censor_at_hsct_analysis(df: pd.DataFrame, endpoint: str, groupings=HSCT_GROUPINGS) -> CensoredAtHSCT:
    """KM and log-rank by each grouping (and overall), and the univariable Cox HR, of
    ``endpoint`` censored at HSCT."""
    from analysis.estimators.effects import univariable_cox
    from analysis.estimators.survival import compare_survival, endpoint_frame

    time_col, event_col = ENDPOINTS[endpoint].columns
    columns = [time_col, event_col, "infusion_date", "cr_date", "hsct_date"] + [GROUPINGS[g].column for g in groupings]
    base = df[[c for c in columns if c in df]]
    cut = censored_at_hsct(base, endpoint)
    h = hsct_months(base, endpoint)
    ended = h.notna() & (h < base[time_col].astype(float))
    removed = ended & base[event_col].eq(True)
    frame = endpoint_frame(cut, endpoint)  # once, for every grouping
    survival = {"all": compare_survival(cut, endpoint, None, frame=frame)}
    survival.update({g: compare_survival(cut, endpoint, g, frame=frame) for g in groupings})
    return CensoredAtHSCT(
        endpoint,
        int(ended.sum()),
        int(removed.sum()),
        survival,
        {g: univariable_cox(cut, endpoint, g, frame=frame) for g in groupings},
    )


# --------------------------------------------------------------------------------------
# Everything the report shows
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransplantAnalysis:
    counts: TransplantCounts
    #: (endpoint, grouping or "hsct") -> time-dependent Cox model
    time_dependent: dict[tuple[str, str], TimeDependentCox] = field(default_factory=dict)
    #: endpoint -> survival censored at HSCT
    censored: dict[str, CensoredAtHSCT] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """Why there are no transplant analyses (no column, or no transplant)."""
        return self.counts.reason


def transplant_analysis(df: pd.DataFrame, recorded: bool = True) -> TransplantAnalysis:
    """Counts and timing, and when anyone was transplanted the time-dependent models (HSCT
    alone and with each of :data:`HSCT_GROUPINGS`) and the analyses censored at HSCT."""
    counts = transplant_counts(df, recorded)
    if counts.reason is not None:
        return TransplantAnalysis(counts)
    td = {}
    for endpoint in HSCT_ENDPOINTS:
        data = _td_data(df, endpoint)
        td[(endpoint, "hsct")] = time_dependent_cox(df, endpoint, data=data)
        for g in HSCT_GROUPINGS:
            td[(endpoint, g)] = time_dependent_cox(df, endpoint, g, data=data)
    censored = {endpoint: censor_at_hsct_analysis(df, endpoint) for endpoint in HSCT_ENDPOINTS}
    return TransplantAnalysis(counts, td, censored)
