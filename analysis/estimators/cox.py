"""Multivariable Cox model (Table 2) with Efron ties and R's cox.zph test.

Matches R ``survival`` (>= 3)::

    fit <- coxph(Surv(time, status) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity,
                 ties = "efron")          # grp_severity: factor, reference "none"
    summary(fit)                          # Wald p, HR CI = exp(coef +- z se)
    i <- 4:5; b <- coef(fit)[i]; t(b) %*% solve(vcov(fit)[i, i]) %*% b   # joint severity test, 2 df
    cox.zph(fit)                          # transform = "km", terms = TRUE, global = TRUE

The fit is a vectorised Newton-Raphson on Efron's partial likelihood (R's default
tie method), started at 0 with step halving as R's ``coxph``, stopped on a Newton
decrement < 1e-20 so that coefficients agree with R to ~1e-9; it agrees with
lifelines' ``CoxPHFitter`` to 1e-13 and takes seconds at 10^6 rows where lifelines
took ~90 s. lifelines' ``proportional_hazard_test`` is not R's test (it is the
Grambsch-Therneau approximation with a diagonal-only variance), so cox.zph is
implemented here from R's ``cox.zph`` and its C routine ``zph1.c``: a score test
of adding ``g(t) * x`` to the model, with ``g`` the left-continuous KM transform,
using the full 2p x 2p information matrix at the fitted coefficients.

Small cohorts: when the partial likelihood is monotone (a covariate separates the
events, so its estimate is infinite: Newton-Raphson drives |coef| past
``MAX_ABS_COEF``, R's "coefficient may be infinite", or the information turns
singular on the way there), the model is refitted with Firth's penalized partial
likelihood as R ``coxphf`` (``analysis.estimators.firth``: Breslow ties, profile penalized-
likelihood CIs, penalized likelihood-ratio p-values); ``method`` says which fit a
result holds and ``method_reason`` why. A well-defined ordinary fit is never replaced.

``ph_tests`` holds R's default rows (``terms = TRUE``): one per model term, so
the severity factor is a single 2-df row keyed ``"severity"``, then ``"GLOBAL"``;
``ph_tests_by_coef`` holds the ``terms = FALSE`` rows (one per coefficient).

The dataclasses below are read by field name in results.py and tables.py: renaming a
field changes the results JSON (docs/results.md).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# scipy is imported in the functions that use it: a kernel restoring cached results
# (renderer/incremental.py) then skips importing scipy.stats (~0.7 s).
from analysis.estimators.survival import Z95, chi2_sf, normal_sf
from analysis.registry.concepts import CATEGORICAL, VARIABLES
from analysis.registry.groups import BLAST_THRESHOLD_PCT, GROUPINGS, REFERENCE_LEVELS

#: Terms of the publication's model in display order: key -> label (the treatments as named
#: in Table 1 (yes/no, no unit: ``name`` does not import the contract), the severity terms as
#: the levels of their grouping). :data:`PUBLICATION_MODEL` builds exactly these.
COX_TERMS = {
    "bm_blasts_ge20": "BM blasts ≥20% vs <20%",
    "steroids": VARIABLES["steroids"].name,
    "tocilizumab": VARIABLES["tocilizumab"].name,
    "severity_other": GROUPINGS["severity"].label("other"),
    "severity_ge3": GROUPINGS["severity"].label("severe"),
}


@dataclass(frozen=True)
class ModelSpec:
    """What a multivariable Cox model contains: the exposure (a grouping of
    :data:`analysis.registry.groups.GROUPINGS`, each level against its reference level
    :data:`analysis.registry.groups.REFERENCE_LEVELS`) and the adjustment covariates
    (columns of the cohort: a yes/no column as 0/1, a number per unit, a categorical
    column as one term per category against the first; a column in ``cutoffs`` as
    "at or above the cut-off" versus below). ``name``: "baseline" (the study's own
    model), "publication" (:data:`PUBLICATION_MODEL`) or any label."""

    exposure: str = "severity"
    covariates: tuple[str, ...] = ()
    cutoffs: tuple[tuple[str, float], ...] = ()
    name: str = "baseline"

    def cutoff(self, column: str) -> float | None:
        return next((float(value) for key, value in self.cutoffs if key == column), None)


#: The publication's model (Table 2 of the source article): marrow blasts >=20%,
#: corticosteroids, tocilizumab and the severity group. Corticosteroids and tocilizumab
#: are given *because of* CRS/ICANS, so this model adjusts for consequences of the
#: exposure; the report keeps it only as a labelled sensitivity analysis of the demo.
PUBLICATION_MODEL = ModelSpec(
    exposure="severity",
    covariates=("bm_blasts_pct", "steroids", "tocilizumab"),
    cutoffs=(("bm_blasts_pct", BLAST_THRESHOLD_PCT),),
    name="publication",
)


@dataclass(frozen=True)
class TermSpec:
    """One coefficient of a model: its key, its label and the model term (R ``terms(fit)``)
    it belongs to: the covariate's column, or the exposure grouping's name."""

    key: str
    label: str
    term: str
    exposure_level: str | None = None  # the exposure level it contrasts with the reference


#: Exposure term keys that differ from "<grouping>_<level>" (kept from the publication's model).
_EXPOSURE_KEYS = {("severity", "severe"): "severity_ge3"}
#: Units written as "per ..." in a term label.
_PER_UNIT = {"years": "year", "%": "percentage point", "days after infusion": "day"}


def exposure_term_key(grouping: str, level: str) -> str:
    """'severity_ge3' (severe vs none), 'severity_other', 'crs_yes', ..."""
    return _EXPOSURE_KEYS.get((grouping, level), f"{grouping}_{level}")


def _covariate_terms(column: str, cutoff: float | None) -> list[TermSpec]:
    """The coefficient(s) of one covariate: "≥ cut-off vs below", a yes/no (0/1), the
    categories of a categorical column against its first, or a number per unit."""
    from analysis.registry.concepts import covariate_name
    from analysis.registry.contract import BOOLEAN, unit_of
    from analysis.registry.diseases import field_kind

    name = covariate_name(column)
    unit = unit_of(column)
    kind = field_kind(column)  # any profile's contract (B-ALL's first)
    variable = VARIABLES.get(column)
    if cutoff is not None:
        u = "%" if unit == "%" else f" {unit}" if unit else ""
        return [
            TermSpec(f"{column.removesuffix('_pct')}_ge{cutoff:g}", f"{name} ≥{cutoff:g}{u} vs <{cutoff:g}{u}", column)
        ]
    if kind == BOOLEAN:
        return [TermSpec(column, name, column)]
    if variable is not None and variable.kind == CATEGORICAL:
        reference, *others = variable.categories
        ref = reference.label[:1].lower() + reference.label[1:]
        return [TermSpec(f"{column}_{c.value}", f"{c.label} vs {ref}", column) for c in others]
    per = _PER_UNIT.get(unit or "", unit)
    return [TermSpec(column, f"{name}, per {per}" if per else name, column)]


def model_terms(model: ModelSpec) -> tuple[TermSpec, ...]:
    """The coefficients of a model in display order: the covariates, then the exposure's
    levels against its reference (its reference level has no coefficient)."""
    out: list[TermSpec] = []
    for column in model.covariates:
        out += _covariate_terms(column, model.cutoff(column))
    g = GROUPINGS[model.exposure]
    reference = REFERENCE_LEVELS[model.exposure]
    out += [
        TermSpec(exposure_term_key(model.exposure, k), g.label(k), model.exposure, k) for k in g.keys if k != reference
    ]
    return tuple(out)


def model_columns(model: ModelSpec) -> list[str]:
    """Columns of the cohort a model reads: its covariates, the prepared cohort's own
    column of a covariate at a cut-off when it has one (``bm_blasts_ge20``, read instead of
    the cut-off applied again), and the exposure's grouping column."""
    cut = [t.key for t in model_terms(model) if model.cutoff(t.term) is not None]
    return list(dict.fromkeys([*model.covariates, *cut, GROUPINGS[model.exposure].column]))


#: Events per coefficient below which the report warns that the model may be overfitted
#: (Peduzzi et al. 1995 for proportional hazards; Vittinghoff and McCulloch 2007 relax it).
EPV_RULE = 10


@dataclass(frozen=True)
class CoxTerm:
    key: str
    label: str
    coef: float | None
    se: float | None
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None  # Wald (method "cox") or penalized likelihood ratio (method "firth")
    reason: str | None = None


@dataclass(frozen=True)
class PHTest:
    term: str  # term key or "GLOBAL"
    chisq: float | None
    df: int | None
    p: float | None


@dataclass(frozen=True)
class CoxResult:
    endpoint: str  # "os" | "lfs"
    n: int
    events: int
    ties: str  # "efron"
    terms: tuple[CoxTerm, ...]
    #: joint test of the exposure's terms (the severity group's two terms by default; the
    #: names are the publication's model's): Wald, or penalized LR for a Firth fit
    severity_global_chisq: float | None
    severity_global_p: float | None
    ph_tests: tuple[PHTest, ...]  # per term then GLOBAL, as R survival >= 3 cox.zph(transform="km")
    ph_test_global_p: float | None
    reason: str | None = None
    severity_global_df: int | None = None
    severity_global_reason: str | None = None
    ph_tests_by_coef: tuple[PHTest, ...] = ()  # R cox.zph(fit, terms = FALSE)
    ph_test_reason: str | None = None
    converged: bool | None = None
    #: "cox": ordinary partial likelihood, Wald CIs and p; "firth": Firth-penalized partial
    #: likelihood (R coxphf), profile penalized-likelihood CIs, penalized LR p (also the group test)
    method: str = "cox"
    method_reason: str | None = None  # why the Firth fit replaced the ordinary one
    #: the model (:class:`ModelSpec`): its name, exposure grouping and covariate columns
    model: str = PUBLICATION_MODEL.name
    exposure: str = PUBLICATION_MODEL.exposure
    covariates: tuple[str, ...] = PUBLICATION_MODEL.covariates
    #: patients of the endpoint left out because a covariate value is missing (R na.omit)
    n_missing: int = 0

    @property
    def n_coefficients(self) -> int:
        """Coefficients of the model as specified (those not estimable included)."""
        return len(self.terms)

    @property
    def events_per_variable(self) -> float | None:
        """Events per coefficient (Peduzzi et al. 1996; below 10 the estimates may be biased
        and their CIs too narrow or too wide); None without coefficients."""
        return self.events / self.n_coefficients if self.n_coefficients else None

    @property
    def exposure_terms(self) -> tuple[CoxTerm, ...]:
        """The exposure's terms (each level against the reference), in the grouping's order."""
        keys = {exposure_term_key(self.exposure, k) for k in GROUPINGS[self.exposure].keys}
        return tuple(t for t in self.terms if t.key in keys)

    @property
    def covariate_terms(self) -> tuple[CoxTerm, ...]:
        return tuple(t for t in self.terms if t not in self.exposure_terms)


# --------------------------------------------------------------------------------------

#: Newton-Raphson stopping rule: Newton decrement g'H^-1g/2 below this (a relative
#: log-likelihood change, R's rule, leaves coefficients ~1e-7 off R's final digits;
#: Gehan: 1.5721249 vs 1.5721251). Floating-point noise in g stays far below it even
#: for 10^6 rows (decrement ~ n eps^2).
FIT_DECREMENT = 1e-20
#: ... except that with many rows the score's rounding noise can keep the decrement above
#: 1e-20 for ever (measured: ~5e-20 at 10^6 rows, icans_grade, score noise ~5e-8), so a
#: Newton step taken from a decrement below this is the last one: the error left after it
#: is of the order of this squared, below floating-point noise.
FIT_FINAL_DECREMENT = 1e-12
FIT_MAX_STEPS = 60
#: |coef| above this means an infinite estimate (monotone likelihood), e.g. a level
#: with no event; R warns "coefficient may be infinite" in the same situation.
MAX_ABS_COEF = 10.0
#: Relative size under which a pivot of the information matrix counts as zero (R: toler.chol = eps^0.75).
INFO_TOLERANCE = 1.8e-12
SEVERITY_TERMS = ("severity_ge3", "severity_other")
FIRTH = "firth"
#: Largest model frame refitted by Firth: its profile CIs and penalized LR tests are
#: constrained maximizations costing O(n p^3) per evaluation (measured: 7-25 s at 10^4
#: rows, 5 min at 10^5 on a shared 2-core machine). Monotone likelihood is a small-cohort
#: problem; a larger separated model keeps the ordinary fit's "not estimable" reason.
FIRTH_MAX_ROWS = 20_000
STRATUM = "stratum"  # column of the model frame holding stratum codes (fit_cox(..., strata=))
#: Column of a model frame holding the start of counting-process intervals (start, months]:
#: R ``Surv(tstart, tstop, event)``; without it every row is at risk from time 0.
START = "start"
#: Model terms as R's terms(fit) sees them: the severity factor is one term.
MODEL_TERMS = {
    "bm_blasts_ge20": ("bm_blasts_ge20",),
    "steroids": ("steroids",),
    "tocilizumab": ("tocilizumab",),
    "severity": SEVERITY_TERMS,
}


CONSTANT_REASON = "covariate constant in these patients, no patient in one category: not estimable"
NO_REFERENCE_REASON = "no patient without CRS or ICANS, the reference group: the severity terms are not estimable"
NO_INFORMATION_REASON = (
    "no information on this covariate: its patients are not at risk at any event "
    "time that distinguishes them, as R reports NA: not estimable"
)
ALIASED_REASON = "covariate collinear with the other covariates, aliased as R reports NA: not estimable"


def _rank(A: np.ndarray, n_rows: int) -> int:
    """NumPy's ``matrix_rank`` of an ``n_rows`` x j matrix given as ``A`` with the same
    singular values (its distinct rows, each weighted by the square root of its count: the
    same Gram matrix), with the tolerance ``matrix_rank`` uses for the full matrix."""
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)
    return int(np.count_nonzero(s > s.max() * max(n_rows, A.shape[1]) * np.finfo(float).eps))


def _aliased(table: np.ndarray, count: np.ndarray, names: list[str]) -> list[str]:
    """Columns that are linear combinations of earlier ones and a constant, in R's order
    (coxph reports NA for them); the model is fitted without them. ``table``: the distinct
    covariate patterns (:func:`covariate_patterns`), ``count``: the rows of each."""
    n = float(count.sum())
    centred = (table - (count @ table) / n) * np.sqrt(count)[:, None]
    kept: list[int] = []
    out: list[str] = []
    for j, column in enumerate(names):
        if _rank(centred[:, kept + [j]], int(n)) > len(kept):
            kept.append(j)
        else:
            out.append(column)
    return out


def _without_information(model, columns: list[str]) -> list[str]:
    """Columns whose partial-likelihood information at 0 is nil given the earlier ones
    (e.g. every patient of a category is censored before the first event). R's coxph
    finds them as zero pivots of the Cholesky decomposition (toler.chol) and reports NA."""
    info = model.terms(np.zeros(len(columns)))[2]
    tol = INFO_TOLERANCE * max(float(np.max(np.abs(np.diag(info)))), 1e-300)
    kept: list[int] = []
    out: list[str] = []
    for j, column in enumerate(columns):
        idx = kept + [j]
        if np.linalg.matrix_rank(info[np.ix_(idx, idx)], tol=tol) > len(kept):
            kept.append(j)
        else:
            out.append(column)
    return out


def _as_float(values: pd.Series) -> np.ndarray:
    """A yes/no or number column as floats, a missing value as NaN."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fbiu":  # plain NumPy: no masked copy
        return values.to_numpy(dtype=float)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    return pd.Series(values).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def design_matrix(df: pd.DataFrame, model: ModelSpec = PUBLICATION_MODEL, exposure: bool = True) -> pd.DataFrame:
    """The model's coefficients as columns of floats (:func:`model_terms`): the covariates
    (NaN where the cohort has no value), then the exposure's levels as 0/1 dummies against
    its reference (the publication's model: blasts >=20%, steroids, tocilizumab, and the
    severity group as two dummies vs "none"). ``exposure=False``: the covariates only (``df``
    need not have the exposure's grouping column)."""
    out: dict[str, np.ndarray] = {}
    for spec in model_terms(model):
        if spec.exposure_level is not None and not exposure:
            continue
        if spec.exposure_level is not None:
            level = df[GROUPINGS[model.exposure].column]
            if isinstance(level.dtype, pd.CategoricalDtype):  # the groupings' columns: integer codes
                codes = level.cat.codes.to_numpy()
                hit = codes == list(level.cat.categories).index(spec.exposure_level)
                out[spec.key] = np.where(codes < 0, np.nan, hit.astype(float))
            else:
                text = level.astype(object)
                out[spec.key] = np.where(text.isna(), np.nan, (text == spec.exposure_level).astype(float))
            continue
        if spec.key != spec.term and spec.key in df:  # the prepared cohort's own definition (bm_blasts_ge20)
            out[spec.key] = _as_float(df[spec.key])
            continue
        column = df[spec.term]
        cutoff = model.cutoff(spec.term)
        variable = VARIABLES.get(spec.term)
        if cutoff is not None:
            x = _as_float(column)
            out[spec.key] = np.where(np.isnan(x), np.nan, (x >= cutoff).astype(float))
        elif variable is not None and variable.kind == CATEGORICAL:  # one category against the first
            value = spec.key.removeprefix(f"{spec.term}_")
            text = column.astype(object)
            out[spec.key] = np.where(text.isna(), np.nan, (text == value).astype(float))
        else:
            out[spec.key] = _as_float(column)
    return pd.DataFrame(out, index=df.index)


def _empty_terms(reason: str, model: ModelSpec = PUBLICATION_MODEL) -> tuple[CoxTerm, ...]:
    return tuple(CoxTerm(t.key, t.label, None, None, None, None, None, None, reason) for t in model_terms(model))


def _failed(
    endpoint: str, n: int, events: int, reason: str, model: ModelSpec = PUBLICATION_MODEL, n_missing: int = 0
) -> CoxResult:
    return CoxResult(
        endpoint=endpoint,
        n=n,
        events=events,
        ties="efron",
        terms=_empty_terms(reason, model),
        severity_global_chisq=None,
        severity_global_p=None,
        ph_tests=(),
        ph_test_global_p=None,
        reason=reason,
        severity_global_reason=reason,
        ph_test_reason=reason,
        converged=None,
        **_model_fields(model, n_missing),
    )


def _model_fields(model: ModelSpec, n_missing: int) -> dict:
    return dict(model=model.name, exposure=model.exposure, covariates=tuple(model.covariates), n_missing=n_missing)


def _codes(values: np.ndarray, sort: bool = True, na: bool = False) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of the distinct values of a 1-d array (in sorted order when
    ``sort``; NaN a value of its own when ``na``), and k; hashing, O(n) (a sort of 10^6
    values costs ~0.1 s per call)."""
    codes, uniq = pd.factorize(values, sort=sort, use_na_sentinel=not na)
    return codes.astype(np.int64, copy=False), int(len(uniq))


def _first_rows(codes: np.ndarray, k: int) -> np.ndarray:
    """Index of the first row of each code 0..k-1."""
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return first


def _value_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes of a column's values for :func:`covariate_patterns` (equal values, equal codes;
    at most k distinct codes 0..k-1, not all used): a column of small integers (0/1, an age in
    years, a grade) is its own code, offset by its minimum, without hashing; other columns
    are factorized (NaN a value of its own)."""
    if values.size:
        low, high = values.min(), values.max()  # NaN when there is one: not this path
        if np.isfinite(low) and np.isfinite(high) and high - low < 2**16 and np.array_equal(values, np.rint(values)):
            return (values - low).astype(np.int64), int(high - low) + 1
    return _codes(values, sort=False, na=True)


def covariate_patterns(columns: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct covariate patterns of ``n`` rows: (the pattern of each row, 0..k-1; the k
    patterns as a k x p array, in order of first appearance). ``columns``: the p covariates,
    1-d float arrays (NaN is a value like another). Hashing, one pass per column; the rows'
    n x p matrix is never built (a model with a few binary or integer covariates has a few
    thousand patterns at 10^6 rows)."""
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for values in columns:
        codes, k = _value_codes(np.asarray(values, dtype=float))
        if size * k >= 2**62:  # many distinct patterns: re-code those seen so far (<= n)
            key, size = _codes(key, sort=False)
        key, size = key * k + codes, size * k
    code, k = _codes(key, sort=False)
    first = _first_rows(code, k)
    table = np.empty((k, len(columns)))
    for j, values in enumerate(columns):
        table[:, j] = np.asarray(values, dtype=float)[first]
    return code, table


@dataclass(frozen=True)
class CovariatePatterns:
    """A model's covariates for n rows held as their distinct patterns, for
    :func:`fit_model` in place of the n x p :func:`design_matrix`: ``code``, the pattern of
    each row (0..k-1), and ``table``, one row per pattern with the design matrix's columns
    (NaN where a value is missing). Counting-process data repeat each patient's covariates
    on every interval: their patterns are the patient's with the interval's exposure level,
    and no intervals x p array is ever built."""

    code: np.ndarray
    table: pd.DataFrame

    @property
    def columns(self) -> pd.Index:
        return self.table.columns


def _compact(code: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code, values) keeping only the patterns some row has, renumbered 0..k-1."""
    new, k = _codes(code, sort=False)
    return new, values[code[_first_rows(new, k)]]


def _reverse_cumsum(values: np.ndarray) -> np.ndarray:
    """Sums from each position to the end, with a zero row appended (index len(values): nothing)."""
    out = np.cumsum(values[::-1], axis=0)[::-1]
    return np.concatenate([out, np.zeros((1, *values.shape[1:]))])


class _EfronData:
    """Efron's partial likelihood (R ``coxph(..., ties = "efron")``), right-censored or
    counting-process data: the one implementation every Cox fit of the library uses (Table 2,
    the univariable and trend models, the landmark models, the center-stratified models, the
    toxicity and the transplant as time-dependent covariates).

    Rows with the same time and the same covariate values contribute identical terms, so
    they are collapsed into one row with a count of patients and a count of events (10^6
    patients with a few binary covariates become ~10^4 rows: the registries record days).
    The sums are exactly those over the patients, in another order (floating-point noise
    only); the tie correction keeps one term per event: the k-th of the d deaths at a time
    removes k/d of their risk. Vectorised (segment sums over the rows in time order for the
    risk sets, reverse cumulative sums over the event times); memory O(rows p + events).

    ``entry``: counting-process data (R ``Surv(tstart, tstop, event)`` after ``tmerge``): row
    i is at risk at the event times t with ``entry_i < t <= time_i``. Every risk-set sum is
    then a sum over the *exits* (rows keyed by stop time and covariates: all rows) minus a
    sum over the *entries* (rows keyed by start time and covariates, those starting at or
    after the first event time), each collapsed on its own key: 10^6 patients split at their
    CRS, ICANS or transplant onset (2-3 x 10^6 intervals whose (start, stop) pairs are nearly
    all distinct) collapse as right-censored data do. The information's second-moment term is
    the exits' ``X' diag(w C[last(stop)]) X`` minus the entries' ``X' diag(w C[last(start)]) X``,
    with C the cumulative sum of Efron's weights over the event times and last(t) the number
    of event times <= t.

    ``X``: the n x p covariates (an array, or a sequence of p columns), or ``(pattern, table)``
    from :func:`covariate_patterns` (no n x p array at all). Covariates are centered (as R);
    the partial likelihood does not change.
    """

    def __init__(self, time, event, X, entry=None):
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=bool)
        n = time.size
        if isinstance(X, tuple):
            code, table = X
        else:
            if isinstance(X, np.ndarray):
                X = X[:, None] if X.ndim == 1 else X
                X = [X[:, j] for j in range(X.shape[1])]
            code, table = covariate_patterns(list(X), n)
        k = table.shape[0]
        if k > 1 and table.shape[1]:
            # patterns in value order, not in order of first appearance: every sum below then
            # runs in the same order for the same patients in any row order (Hypothesis: a
            # shuffled cohort's stratified model with HRs of 10^-4 and 10^3 moved a CI limit
            # by 1.5e-6, the information's exits-minus-entries sums cancelling large terms)
            rank = np.lexsort(table.T[::-1])
            renumber = np.empty(k, dtype=np.int64)
            renumber[rank] = np.arange(k)
            code, table = renumber[np.asarray(code)], table[rank]
        if entry is not None:
            entry = np.asarray(entry, dtype=float)
            if np.any(entry >= time):
                raise ValueError("counting-process data need start < stop on every row")
        # centred as R: by the mean over the rows (the patterns weighted by their rows)
        table = table - (np.bincount(code, minlength=k) @ table) / max(n, 1)
        # exits: one row per (time, pattern), ordered by time
        time_code, _ = _codes(time)
        inverse, m = _codes(time_code * k + code)
        first = _first_rows(inverse, m)
        self.first = first  # a patient of each row
        self.count = np.bincount(inverse, minlength=m).astype(float)  # patients per row
        self.deaths = np.bincount(inverse, weights=event, minlength=m)  # events per row
        self.t = time[first]
        self.x = table[code[first]]
        has_event = self.deaths > 0
        ev_times = np.unique(self.t[has_event])
        self.n_times = ev_times.size
        self.event_rows = np.flatnonzero(has_event)
        self.row_time = np.searchsorted(ev_times, self.t[has_event])  # event row -> event time
        d = np.bincount(self.row_time, weights=self.deaths[has_event], minlength=self.n_times).astype(np.int64)
        # the rows at risk at each event time start here (rows are in time order)
        self.start = np.searchsorted(self.t, ev_times, side="left")
        # the event rows of each event time start here (event rows are in time order too)
        self.event_segments = np.searchsorted(self.row_time, np.arange(self.n_times), side="left")
        self.x_events = self.x[self.event_rows]
        self.deaths_events = self.deaths[self.event_rows]
        # one entry per event: its event time and Efron's fraction k/d (the entries of an event
        # time are consecutive, from tie_starts)
        self.grp = np.repeat(np.arange(self.n_times), d)
        self.tie_starts = np.concatenate([[0], np.cumsum(d)[:-1]]).astype(np.int64)
        kk = np.arange(self.grp.size) - np.repeat(self.tie_starts, d)
        self.frac = kk / d[self.grp]
        # number of event times <= t for every row (its last risk set)
        self.last = np.searchsorted(ev_times, self.t, side="right")
        self.xd_sum = self.deaths_events @ self.x_events  # summed covariates of the deaths
        self.n_deaths = float(self.deaths.sum())
        # entries: rows starting at or after the first event time (the others are at risk
        # from before it), one row per (start, pattern), ordered by start
        self.entry_x = None
        if entry is not None and self.n_times:
            late = entry >= ev_times[0]
            entry_code, _ = _codes(entry[late])
            e_inverse, e_m = _codes(entry_code * k + code[late])
            e_first = _first_rows(e_inverse, e_m)
            entry_t = entry[late][e_first]
            self.entry_x = table[code[late][e_first]]
            self.entry_count = np.bincount(e_inverse, minlength=e_m).astype(float)
            self.entry_at = np.searchsorted(entry_t, ev_times, side="left")  # entries with start >= t from here
            self.entry_last = np.searchsorted(ev_times, entry_t, side="right")  # event times <= start
        self._cached: tuple[np.ndarray, tuple] | None = None

    @property
    def n_rows(self) -> int:
        """Rows after collapsing (exits, and entries of counting-process data)."""
        return int(self.count.size + (0 if self.entry_x is None else self.entry_count.size))

    def subset(self, columns: Sequence[int]) -> _EfronData:
        """The same data with only the covariates ``columns`` (by position): the collapse
        stays valid (rows equal in every covariate are equal in some of them)."""
        out = copy.copy(self)
        idx = list(columns)
        out.x = self.x[:, idx]
        out.x_events = self.x_events[:, idx]
        out.xd_sum = self.xd_sum[idx]
        if self.entry_x is not None:
            out.entry_x = self.entry_x[:, idx]
        out._cached = None
        return out

    def _segment_sums(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (rows in time order) over the segments starting at ``starts``
        (strictly increasing), the last one running to the end."""
        if starts.size == 0:
            return np.zeros((0, *values.shape[1:]))
        return np.add.reduceat(values, starts, axis=0)

    def terms(self, beta):
        """(log partial likelihood, score, information) at `beta` (Efron ties)."""
        beta = np.asarray(beta, dtype=float)
        if self._cached is not None and np.array_equal(self._cached[0], beta):
            return self._cached[1]  # the Newton-Raphson asks again for the start (the checks asked first)
        x, grp, frac, rows = self.x, self.grp, self.frac, self.event_rows
        eta = x @ beta
        shift = eta.max() if eta.size else 0.0  # entries are rows too: their eta is at most this
        r = np.exp(eta - shift)
        w = self.count * r
        wx = x * w[:, None]
        # at each event time: the rows with time >= t (segment sums, then reverse sums over the event times)
        S0 = _reverse_cumsum(self._segment_sums(w, self.start))[:-1]
        S1 = _reverse_cumsum(self._segment_sums(wx, self.start))[:-1]
        if self.entry_x is not None:  # minus those entering at or after t
            w_entry = self.entry_count * np.exp(self.entry_x @ beta - shift)
            S0 = S0 - _reverse_cumsum(w_entry)[self.entry_at]
            S1 = S1 - _reverse_cumsum(self.entry_x * w_entry[:, None])[self.entry_at]
        dr = self.deaths_events * r[rows]  # risk of the deaths, summed per row
        D0 = self._segment_sums(dr, self.event_segments)
        D1 = self._segment_sums(self.x_events * dr[:, None], self.event_segments)
        denom = S0[grp] - frac * D0[grp]
        loglik = float(self.deaths @ eta - shift * self.n_deaths - np.sum(np.log(denom)))
        # The k-th death at a time has xbar = (S1 - c D1) u, u = 1/denom, c = k/d: sums of
        # xbar and xbar xbar' over the deaths need only per-time sums of u, c u, u^2, c u^2,
        # c^2 u^2 (scalars per event instead of events x p arrays), segment sums over the
        # consecutive entries of each event time.
        u = 1.0 / denom
        cu = frac * u
        ties = self.tie_starts
        A = self._segment_sums(u, ties)
        B = self._segment_sums(cu, ties)
        W0 = self._segment_sums(u * u, ties)
        W1 = self._segment_sums(cu * u, ties)
        W2 = self._segment_sums(cu * cu, ties)
        score = self.xd_sum - (S1.T @ A - D1.T @ B)
        cross = S1.T @ (W1[:, None] * D1)
        xbar_xbar = S1.T @ (W0[:, None] * S1) - cross - cross.T + D1.T @ (W2[:, None] * D1)
        # sum over deaths of (S2 - c D2)/denom, without events x p x p arrays:
        # = X' diag(w_i * sum_{event times at which row i is at risk} A) X - X_d' diag(r_d B[time]) X_d
        cum_a = np.concatenate([[0.0], np.cumsum(A)])
        weight = w * cum_a[self.last]
        weight[rows] -= dr * B[self.row_time]
        info = (x * weight[:, None]).T @ x
        if self.entry_x is not None:
            info -= self.entry_x.T @ (self.entry_x * (w_entry * cum_a[self.entry_last])[:, None])
        info -= xbar_xbar
        result = (loglik, score, info)
        self._cached = (beta.copy(), result)
        return result


class _StratifiedEfron:
    """Efron's partial likelihood stratified (R ``strata()``): one baseline hazard per
    stratum, risk sets within strata; log-likelihood, score and information add up."""

    def __init__(self, parts: list[_EfronData]):
        self.parts = parts

    def subset(self, columns: Sequence[int]) -> _StratifiedEfron:
        return _StratifiedEfron([part.subset(columns) for part in self.parts])

    def terms(self, beta):
        loglik, score, info = 0.0, 0.0, 0.0
        for part in self.parts:
            ll, sc, inf = part.terms(beta)
            loglik, score, info = loglik + ll, score + sc, info + inf
        return loglik, score, info


def _efron_model(time, event, patterns, entry=None, strata=None):
    """Efron partial likelihood of rows (time, event, covariate ``patterns`` = (pattern of
    each row, table): :func:`covariate_patterns`), on counting-process intervals (entry,
    time] when ``entry`` is given, stratified by the integer codes ``strata`` (strata
    without an event add nothing and are left out)."""
    if strata is None:
        return _EfronData(time, event, patterns, entry)
    code, table = patterns
    parts = []
    order = np.argsort(strata, kind="stable")
    bounds = np.flatnonzero(np.diff(strata[order])) + 1
    for rows in np.split(order, bounds):
        if strata[rows[0]] >= 0 and event[rows].any():  # a missing stratum (code -1) is no stratum
            parts.append(
                _EfronData(time[rows], event[rows], (code[rows], table), None if entry is None else entry[rows])
            )
    return _StratifiedEfron(parts)


def _model(data: pd.DataFrame, columns: list[str]):
    """Efron partial likelihood of ``data`` (months, event, columns), stratified when it
    has a ``stratum`` column, on counting-process intervals (start, months] when it has a
    ``start`` column."""
    time = data["months"].to_numpy(dtype=float)
    event = data["event"].to_numpy(dtype=bool)
    patterns = covariate_patterns([data[c].to_numpy(dtype=float) for c in columns], len(data))
    entry = data[START].to_numpy(dtype=float) if START in data else None
    strata = pd.factorize(data[STRATUM], sort=True)[0] if STRATUM in data else None
    return _efron_model(time, event, patterns, entry, strata)


def _fit_efron(data: pd.DataFrame | None, columns: list[str], model=None):
    """Newton-Raphson on Efron's partial likelihood, as R's coxph (start at 0, step
    halving when the log-likelihood decreases); returns (coef, covariance, converged,
    problem, monotone). ``monotone`` is true when the likelihood is monotone (separation):
    a coefficient diverges past MAX_ABS_COEF, or the information becomes singular while
    the iterates move away from 0 (columns without information were removed before).
    Stops when the Newton decrement g'H^-1g/2 falls below 1e-20 (coefficients
    then agree with R to ~1e-9), or after the step taken from a decrement below
    FIT_FINAL_DECREMENT (rounding noise of large data sets); vectorised, so 10^6 rows take seconds (lifelines'
    CoxPHFitter took ~90 s there). ``model``: ``_model(data, columns)`` when already built."""
    if model is None:
        assert data is not None, "a model frame or a model"
        model = _model(data, columns)
    beta = np.zeros(len(columns))
    loglik = None
    try:
        loglik, score, info = model.terms(beta)
        converged = False
        for _ in range(FIT_MAX_STEPS):
            delta = np.linalg.solve(info, score)
            decrement = score @ delta / 2
            if decrement < FIT_DECREMENT:
                converged = True
                break
            final = decrement < FIT_FINAL_DECREMENT
            step = 1.0
            for _halving in range(30):
                new = beta + step * delta
                new_loglik, new_score, new_info = model.terms(new)
                if np.isfinite(new_loglik) and (final or new_loglik >= loglik - 1e-12 * abs(loglik)):
                    break  # the final step's predicted gain is below the log-likelihood's rounding
                step /= 2
            beta, loglik, score, info = new, new_loglik, new_score, new_info
            if final:
                converged = True
                break
            if np.any(np.abs(beta) > 2 * MAX_ABS_COEF):
                break  # diverging towards an infinite estimate
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        moved = loglik is not None and np.any(beta != 0)
        return None, None, False, f"Cox model did not converge, possibly separation or collinearity: {exc}", moved
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(cov))):
        return None, None, False, "Cox model did not converge: non-finite estimates", True
    infinite = [COX_TERMS.get(c, c) for c, b in zip(columns, beta) if abs(b) > MAX_ABS_COEF]  # any column names
    if infinite:
        return (
            None,
            None,
            False,
            ("monotone likelihood (separation): coefficient may be infinite for " + ", ".join(infinite)),
            True,
        )
    if not converged:
        return beta, cov, False, f"Newton-Raphson did not converge in {FIT_MAX_STEPS} steps", False
    return beta, cov, True, None, False


def fit_cox(
    df: pd.DataFrame,
    endpoint: str,
    strata: str | None = None,
    model: ModelSpec = PUBLICATION_MODEL,
    ph_test: bool = True,
    frame: pd.DataFrame | None = None,
) -> CoxResult:
    """Multivariable Cox model on a prepared cohort (see module docstring): the exposure
    and covariates of ``model`` (default: the publication's model, whose R reference the
    tests hold; the report fits the study's own, :class:`ModelSpec`).

    Endpoint "os" uses every patient, "lfs" the patients in CR. Patients with a missing
    covariate value are left out (R ``na.omit``) and counted (``n_missing``); a covariate
    without any value is left out of the model with a reason. A covariate that is constant
    (e.g. a severity level with no patient) is left out of the model, as R does (its
    coefficient is NA), and its term gets a reason. Zero events or non-convergence give
    None estimates with a reason; separation (monotone likelihood) gives the
    Firth-penalized fit (method "firth"), see the module docstring.

    ``strata``: a column of ``df`` (e.g. "center") whose values get their own baseline
    hazard, as R ``coxph(... + strata(center))``; no Firth refit (R coxphf has no strata)
    and no cox.zph test then. ``ph_test=False``: no cox.zph test (a model nothing reports it for).
    ``frame``: ``endpoint_frame(df, endpoint)`` when already made.
    """
    from analysis.estimators.survival import endpoint_data

    data = endpoint_data(df, endpoint, model_columns(model) + ([strata] if strata else []), frame)
    frame = data[["months", "event"]]
    if strata:
        frame = frame.assign(**{STRATUM: data[strata]})
    return fit_model(frame, design_matrix(data, model), endpoint, model, stratified=bool(strata), ph_test=ph_test)


def _distinct(index: pd.Index, rows: np.ndarray) -> int:
    """Distinct labels of ``index`` at ``rows`` (a mask): the patients of counting-process
    intervals. Intervals listed patient by patient (a sorted index) are counted by the label
    changes, without hashing 10^6 labels."""
    if not rows.any():
        return 0
    if index.is_monotonic_increasing:
        labels = index.to_numpy()[rows]
        return int(1 + np.count_nonzero(labels[1:] != labels[:-1]))
    return int(index[rows].nunique())


def fit_model(
    frame: pd.DataFrame,
    X: pd.DataFrame | CovariatePatterns,
    endpoint: str,
    model: ModelSpec,
    stratified: bool = False,
    ph_test: bool = True,
) -> CoxResult:
    """The Cox model of :func:`fit_cox` on a model frame: ``months`` (stop) and ``event``,
    optionally ``start`` (counting-process intervals (start, months], R ``Surv(tstart,
    tstop, event)``: no cox.zph and no Firth refit then) and ``stratum`` (any labels:
    R ``strata()``); ``X``: :func:`design_matrix` rows of the same index, or the same as
    :class:`CovariatePatterns`. Patients (rows) with a missing value are left out and
    counted in ``n_missing``."""

    from analysis.estimators.survival import events_tied_at_one_time

    counting = START in frame
    specs = model_terms(model)
    labels = {t.key: t.label for t in specs}
    exposure_keys = [t.key for t in specs if t.exposure_level is not None]
    left_out: dict[str, str] = {}
    held = isinstance(X, CovariatePatterns)
    values: pd.DataFrame = X.table if isinstance(X, CovariatePatterns) else X
    # which cells are missing, once for every column (not a frame per column: 90 models per
    # results object)
    given = list(X.columns)
    missing = (values if list(values.columns) == given else values[given]).isna().to_numpy()
    no_value = [c for j, c in enumerate(given) if missing[:, j].all() and c not in exposure_keys]
    for c in no_value:
        left_out[c] = "no patient has a value of this covariate: left out of the model"
    names = [c for c in X.columns if c not in no_value]
    ok = ~missing[:, [j for j, c in enumerate(given) if c not in no_value]].any(axis=1)  # R na.omit
    if held:
        ok = ok[X.code]
    strata = None
    if stratified:
        ok &= frame[STRATUM].notna().to_numpy()
        strata = pd.factorize(frame[STRATUM], sort=True)[0]
    complete = bool(ok.all())
    n_missing = int((~ok).sum()) if not counting else _distinct(frame.index, ~ok)

    # NumPy views of the model frame's columns (a copy only of the rows kept when some are
    # missing); the covariates are then held as their distinct patterns, never as an n x p array
    def column(values: pd.Series, dtype) -> np.ndarray:
        out = values.to_numpy(dtype=dtype)
        return out if complete else out[ok]

    time = column(frame["months"], float)
    event = column(frame["event"], float).astype(bool)
    entry = column(frame[START], float) if counting else None
    if strata is not None and not complete:
        strata = strata[ok]
    n = int(time.size) if not counting else _distinct(frame.index, ok)
    events = int(event.sum())
    fields = _model_fields(model, n_missing)
    if n == 0:
        return _failed(endpoint, n, events, "no patient", model, n_missing)
    if events == 0:
        return _failed(endpoint, n, events, "no event: Cox model not estimable", model, n_missing)
    if tied := events_tied_at_one_time(time, event):
        return _failed(endpoint, n, events, tied, model, n_missing)

    if isinstance(X, CovariatePatterns):
        pattern, table = _compact(X.code if complete else X.code[ok], X.table[names].to_numpy(dtype=float))
    else:
        pattern, table = covariate_patterns([column(X[c], float) for c in names], time.size)
    count = np.bincount(pattern, minlength=table.shape[0]).astype(float)
    constant = [c for j, c in enumerate(names) if table[:, j].min() == table[:, j].max()]
    columns = [c for c in names if c not in constant]
    left_out.update({c: CONSTANT_REASON for c in constant})
    if exposure_keys and (table[:, [names.index(c) for c in exposure_keys]].sum(axis=1) > 0).all():
        # Nobody in the reference level: the dummies sum to 1 (collinear), and none can be a
        # contrast with the reference the table labels them against.
        g = GROUPINGS[model.exposure]
        reason = (
            NO_REFERENCE_REASON
            if model.exposure == "severity"
            else f"no patient in the reference group ({g.label(REFERENCE_LEVELS[model.exposure])}): "
            "the exposure's terms are not estimable"
        )
        left_out.update({c: reason for c in exposure_keys})
        columns = [c for c in columns if c not in exposure_keys]
    aliased = _aliased(table[:, [names.index(c) for c in columns]], count, columns)
    for c in aliased:  # R: NA coefficient for a column collinear with earlier ones
        left_out[c] = ALIASED_REASON
        columns.remove(c)
    if not columns:
        reasons = "; ".join(sorted(set(left_out.values())))
        return _failed(endpoint, n, events, "no covariate can be estimated: " + reasons, model, n_missing)
    # centred (by _EfronData) as R's coxph does: the partial likelihood is unchanged, and
    # recoding a 0/1 covariate as 1 - x then only flips signs, so every rank and convergence
    # decision is the same for both codings (uncentred, a 9-patient cohort got Firth's
    # estimate for one coding and "monotone likelihood" for the other)
    fitted = _efron_model(time, event, (pattern, table[:, [names.index(c) for c in columns]]), entry, strata)
    no_information = _without_information(fitted, columns)
    for c in no_information:  # R's Cholesky: zero pivot -> NA coefficient
        left_out[c] = NO_INFORMATION_REASON
    if no_information:
        fitted = fitted.subset([j for j, c in enumerate(columns) if c not in no_information])
        columns = [c for c in columns if c not in no_information]
    if not columns:
        reasons = "; ".join(sorted(set(left_out.values())))
        return _failed(endpoint, n, events, "no covariate can be estimated: " + reasons, model, n_missing)
    coef, cov, converged, problem, monotone = _fit_efron(None, columns, fitted)
    if coef is None and monotone and not stratified and not counting:
        if n > FIRTH_MAX_ROWS:
            problem += f"; Firth's penalized likelihood is fitted up to {FIRTH_MAX_ROWS:,} patients only"
        else:
            covariates = table[pattern][:, [names.index(c) for c in columns]]
            # centred, as the ordinary fit, by a mean summed in value order: the same
            # patients in another row order get the same bits (fit_firth then orders the rows)
            covariates -= np.sort(covariates, axis=0).mean(axis=0)
            data = pd.DataFrame({"months": time, "event": event.astype(float)}).join(
                pd.DataFrame(covariates, columns=columns)
            )
            firth = _fit_firth(endpoint, n, events, data, columns, left_out, problem, model, n_missing)
            if firth is not None:
                return firth
    if coef is None:
        out = _failed(endpoint, n, events, problem, model, n_missing)
        return CoxResult(**{**out.__dict__, "converged": False})

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        se = np.sqrt(np.diag(cov))
        z = coef / se
    p_values = 2 * normal_sf(np.abs(z))
    est = {c: (b, s, p) for c, b, s, p in zip(columns, coef, se, p_values)}
    for c, (b, s, p) in list(est.items()):
        # a variance that is not positive, or a CI past floating point, is no estimate
        if not (np.isfinite(s) and s > 0 and np.isfinite(p) and abs(b) + Z95 * s < 700):
            del est[c]
            left_out[c] = "variance not estimable (information nil or singular in this direction)"
    terms = []
    for key, label in labels.items():
        if key in est:
            b, s, p = est[key]
            terms.append(
                CoxTerm(
                    key,
                    label,
                    float(b),
                    float(s),
                    float(np.exp(b)),
                    float(np.exp(b - Z95 * s)),
                    float(np.exp(b + Z95 * s)),
                    float(p),
                    problem,
                )
            )
        else:
            terms.append(CoxTerm(key, label, None, None, None, None, None, None, left_out[key]))

    sev_chisq = sev_p = sev_df = None
    sev_reason = problem
    if exposure_keys and all(t in est for t in exposure_keys):
        idx = [columns.index(t) for t in exposure_keys]
        b = coef[idx]
        try:
            sev_chisq = float(b @ np.linalg.solve(cov[np.ix_(idx, idx)], b))
            sev_df = len(idx)
            sev_p = chi2_sf(sev_chisq, sev_df)
        except np.linalg.LinAlgError:
            sev_reason = f"joint {len(idx)}-df test not available: the exposure terms' covariance is singular"
        if sev_p is not None and not np.isfinite(sev_p):
            sev_chisq = sev_p = sev_df = None
            sev_reason = f"joint {len(idx)}-df test not available: non-finite statistic"
    elif exposure_keys:
        missing = next(t for t in exposure_keys if t not in est)
        sev_reason = f"joint {len(exposure_keys)}-df test not available: {left_out[missing]}"

    ph_terms: tuple[PHTest, ...] = ()
    ph_coef: tuple[PHTest, ...] = ()
    ph_reason = problem
    if stratified:
        ph_reason = "proportional-hazards test not computed for a model stratified by center"
    elif counting:
        ph_reason = "proportional-hazards test not computed for the time-dependent model"
    elif not ph_test:
        ph_reason = "proportional-hazards test not computed for this model (not reported)"
    else:
        try:
            groups: dict[str, list[str]] = {}
            for t in specs:  # R terms(fit): one row per model term (a factor's coefficients together)
                groups.setdefault(t.term, []).append(t.key)
            groups = {(keys[0] if len(keys) == 1 else name): keys for name, keys in groups.items()}
            ph_terms, ph_coef = cox_zph(time, event, None, coef, columns, groups, model=fitted)
        except np.linalg.LinAlgError:
            ph_reason = "cox.zph information matrix is singular"
    global_p = next((t.p for t in ph_terms if t.term == "GLOBAL"), None)

    return CoxResult(
        endpoint=endpoint,
        n=n,
        events=events,
        ties="efron",
        terms=tuple(terms),
        severity_global_chisq=sev_chisq,
        severity_global_p=sev_p,
        ph_tests=ph_terms,
        ph_test_global_p=global_p,
        reason=problem,
        severity_global_df=sev_df,
        severity_global_reason=sev_reason,
        ph_tests_by_coef=ph_coef,
        ph_test_reason=ph_reason,
        converged=converged,
        **fields,
    )


def _fit_firth(
    endpoint, n, events, data, columns, left_out, problem, model=PUBLICATION_MODEL, n_missing=0
) -> CoxResult | None:
    """The model refitted by Firth's penalized partial likelihood (R ``coxphf``), or None
    when that fit fails too (the caller then reports the ordinary fit's problem)."""
    from analysis.estimators.firth import fit_firth, penalized_lr_test

    time = data["months"].to_numpy()
    event = data["event"].to_numpy(dtype=bool)
    X = data[columns].to_numpy(dtype=float)
    try:
        with np.errstate(all="ignore"):
            fit = fit_firth(time, event, X)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None
    if not (fit.converged and np.all(np.isfinite(fit.coef)) and np.all(np.isfinite(fit.se))):
        return None
    specs = model_terms(model)
    exposure_keys = [t.key for t in specs if t.exposure_level is not None]
    terms = []
    for spec in specs:
        key, label = spec.key, spec.label
        if key not in columns:
            terms.append(CoxTerm(key, label, None, None, None, None, None, None, left_out[key]))
            continue
        j = columns.index(key)
        b, s, lo, hi, p = (float(v[j]) for v in (fit.coef, fit.se, fit.ci_low, fit.ci_high, fit.lr_p))
        if not all(np.isfinite(v) and abs(v) < 700 for v in (b, lo, hi)) or not np.isfinite(p):
            # an HR is reported with its CI and p or not at all (as for the ordinary fit)
            terms.append(
                CoxTerm(
                    key,
                    label,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "Firth fit: profile penalized-likelihood confidence limit or test not found: not estimable",
                )
            )
            continue
        terms.append(CoxTerm(key, label, b, s, float(np.exp(b)), float(np.exp(lo)), float(np.exp(hi)), p, None))

    sev_chisq = sev_p = sev_df = None
    if exposure_keys and all(t in columns for t in exposure_keys):
        chisq, df, p = penalized_lr_test(time, event, X, fit, [columns.index(t) for t in exposure_keys])
        if np.isfinite(p):
            sev_chisq, sev_df, sev_p = float(chisq), int(df), float(p)
        sev_reason = None if sev_p is not None else "joint penalized likelihood-ratio test: non-finite statistic"
    else:
        missing = next((t for t in exposure_keys if t not in columns), None)
        sev_reason = (
            f"joint {len(exposure_keys)}-df test not available: {left_out[missing]}" if missing else "no exposure term"
        )
    return CoxResult(
        endpoint=endpoint,
        n=n,
        events=events,
        ties="breslow",
        terms=tuple(terms),
        severity_global_chisq=sev_chisq,
        severity_global_p=sev_p,
        ph_tests=(),
        ph_test_global_p=None,
        reason=None,
        severity_global_df=sev_df,
        severity_global_reason=sev_reason,
        ph_test_reason="not computed for the Firth-penalized fit: R cox.zph needs an ordinary coxph fit",
        converged=True,
        method=FIRTH,
        method_reason=problem,
        **_model_fields(model, n_missing),
    )


# --------------------------------------------------------------------------------------
# R cox.zph (survival >= 3), transform = "km", Efron ties, no weights, no strata
# --------------------------------------------------------------------------------------


def wald_ratio(coef: float, se: float) -> tuple[float, float, float, float] | None:
    """exp(coef) with its Wald 95% CI and two-sided p, as R's ``summary(coxph)``; None when
    the standard error is not a positive finite number or the interval overflows."""

    if not (math.isfinite(se) and se > 0 and abs(coef) + Z95 * se < 700):
        return None
    return (
        math.exp(coef),
        math.exp(coef - Z95 * se),
        math.exp(coef + Z95 * se),
        float(2 * normal_sf(abs(coef / se))),
    )


def _km_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 - S(t-) per subject, S the KM of all subjects (R: findInterval(..., left.open=TRUE))."""
    ev_times, d = np.unique(time[event], return_counts=True)
    sorted_t = np.sort(time)
    at_risk = sorted_t.size - np.searchsorted(sorted_t, ev_times, side="left")
    surv = np.cumprod(1.0 - d / at_risk)
    i = np.searchsorted(ev_times, time, side="left")  # number of event times < t
    return 1.0 - np.concatenate([[1.0], surv])[i]


def zph_score(time, event, X, beta, model: _EfronData | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Score vector u (2p) and information matrix (2p x 2p) of R's ``zph1.c``.

    Columns p+1..2p are the time-weighted covariates g(t) * x, g = centered KM
    transform; the first p score entries are ~0 at the MLE (R uses 0). Vectorised on the
    rows of :class:`_EfronData` (patients collapsed by time and covariate values: g
    depends on time only): cumulative sums, memory O(rows p + events p + p^2).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    data = _EfronData(time, event, X) if model is None else model  # centres X, as R
    x, grp, frac, rows = data.x, data.grp, data.frac, data.event_rows
    ttimes = _km_transform(time, event)[data.first]
    g = ttimes - data.deaths @ ttimes / data.deaths.sum()  # centred over the deaths

    eta = x @ np.asarray(beta, dtype=float)
    r = np.exp(eta - eta.max())  # common scale cancels in every ratio
    w = data.count * r
    segments = data._segment_sums
    S0 = _reverse_cumsum(segments(w, data.start))[:-1]
    S1 = _reverse_cumsum(segments(x * w[:, None], data.start))[:-1]
    dr = data.deaths_events * r[rows]
    D0 = segments(dr, data.event_segments)
    D1 = segments(data.x_events * dr[:, None], data.event_segments)
    g_at = g[rows[data.event_segments]] if rows.size else np.zeros(0)  # g(t) at each event time

    # Efron: the k-th of d tied deaths (k = 0..d-1) sees the risk set minus k/d of the deaths,
    # xbar = (S1 - c D1) u with u = 1/denom, c = k/d; g is constant within an event time, so
    # every sum over the deaths is a sum over the event times of per-time sums of u, c u, u^2,
    # c u^2, c^2 u^2 (as in _EfronData.terms)
    denom = S0[grp] - frac * D0[grp]
    u = 1.0 / denom
    cu = frac * u
    ties = data.tie_starts
    A, B = segments(u, ties), segments(cu, ties)
    W0, W1, W2 = segments(u * u, ties), segments(cu * u, ties), segments(cu * cu, ties)
    xbar_sums = S1 * A[:, None] - D1 * B[:, None]  # per event time: the sum of its deaths' xbar
    p = x.shape[1]
    # Schoenfeld residuals x - xbar summed, and weighted by g
    score = np.concatenate([data.xd_sum - xbar_sums.sum(axis=0), (data.deaths * g) @ x - g_at @ xbar_sums])

    imat = np.empty((2 * p, 2 * p))
    blocks = {}
    for m in (0, 1, 2):
        gm = g_at**m
        # sum over the deaths of g^m S2/denom = X' diag(w * W(t)) X, W(t) = sum over event times <= t
        wt = w * np.concatenate([[0.0], np.cumsum(A * gm)])[data.last]
        wt[rows] -= dr * (B * gm)[data.row_time]
        cross = S1.T @ ((W1 * gm)[:, None] * D1)
        xbar_xbar = S1.T @ ((W0 * gm)[:, None] * S1) - cross - cross.T + D1.T @ ((W2 * gm)[:, None] * D1)
        blocks[m] = (x * wt[:, None]).T @ x - xbar_xbar
    imat[:p, :p] = blocks[0]
    imat[:p, p:] = imat[p:, :p] = blocks[1]
    imat[p:, p:] = blocks[2]
    return score, imat


def _zph_rows(u, imat, p, groups: dict[str, list[int]]) -> tuple[PHTest, ...]:

    rows = []
    for name, jj in list(groups.items()) + [("GLOBAL", list(range(p)))]:
        kk = list(range(p)) + [p + j for j in jj]
        uu = np.concatenate([np.zeros(p), u[[p + j for j in jj]]])
        block = imat[np.ix_(kk, kk)]
        # R's solve() refuses a matrix whose reciprocal condition number (1-norm) is below
        # .Machine$double.eps ("system is computationally singular"), and cox.zph with it:
        # numpy would solve it, into rounding noise (a chi-square of -2.6e-5 where R said
        # "exactly singular": the time-weighted column of a covariate without information)
        if not np.linalg.cond(block, 1) < 1 / np.finfo(float).eps:
            raise np.linalg.LinAlgError("cox.zph information matrix is computationally singular")
        chisq = float(uu @ np.linalg.solve(block, uu))
        rows.append(PHTest(name, chisq, len(jj), chi2_sf(chisq, len(jj))))
    return tuple(rows)


def cox_zph(
    time,
    event,
    X,
    beta,
    columns: list[str],
    terms: Mapping[str, Sequence[str]] | None = None,
    model: _EfronData | None = None,
) -> tuple[tuple[PHTest, ...], tuple[PHTest, ...]]:
    """R ``cox.zph(fit)`` (terms = TRUE rows, then terms = FALSE rows), each ending with GLOBAL.

    Term rows group the coefficients of one model term (``terms``: name -> coefficient keys;
    default the publication's model) like R's factor: the severity dummies are one
    "severity" term. ``model``: the fit's :class:`_EfronData` of the same rows and columns
    (right-censored, unstratified), used instead of ``X`` when given.
    """
    u, imat = zph_score(time, event, X, beta, model)
    p = len(columns)
    grouped = MODEL_TERMS if terms is None else terms
    by_term = {name: [columns.index(c) for c in cols if c in columns] for name, cols in grouped.items()}
    by_term = {name: jj for name, jj in by_term.items() if jj}
    by_coef = {c: [i] for i, c in enumerate(columns)}
    return _zph_rows(u, imat, p, by_term), _zph_rows(u, imat, p, by_coef)
