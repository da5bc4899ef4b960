"""Group comparisons: Table 1 rows and response rates (Figure 1).

Functions (the dataclasses' field names are read by results.py, tables.py and figures.py:
renaming one changes the results JSON, docs/results.md):

- ``compare_continuous(df, variable, grouping) -> Comparison`` (kind "continuous"):
  median/min/max per level; Mann–Whitney U for two testable levels, Kruskal–Wallis
  for three or more, following R's ``wilcox.test`` / ``kruskal.test`` defaults.
- ``compare_categorical(df, variable, grouping, categories=None) -> Comparison``
  (kind "categorical"): count/percent per category and level; gtsummary's rule —
  Pearson chi-square without continuity correction, Fisher's exact test when any
  expected count is below 5.
- ``compare_response(df, response, grouping) -> ResponseComparison`` for
  ``"cr"`` and ``"mrd_negative_cr"``: rates with exact Clopper–Pearson 95% CIs; between
  the two groups of a two-level grouping, the test whose inversion is the odds ratio's CI
  printed beside it (:func:`two_group_response_test`, the registry's
  ``TWO_GROUP_RESPONSE_TESTS``), otherwise the same rule as categorical variables.
- ``fisher_central_p(table) -> float``: Fisher's exact two-sided p of a 2x2 table as twice
  the smaller one-sided p, the p that R ``fisher.test``'s confidence interval inverts.
- ``clopper_pearson(k, n, confidence=0.95) -> (low, high)``.
- ``fisher_exact_rxc(table) -> float``: R's ``fisher.test`` p-value, by the network
  algorithm of FEXACT (exact).

``df`` is a frame returned by :func:`analysis.registry.groups.prepare_cohort`; ``grouping``
is a name of :data:`analysis.registry.groups.GROUPINGS`. Levels are always returned in the
grouping's order, including empty ones (n = 0, statistics None). A test that
cannot be computed has ``p is None`` and a ``reason``; nothing here returns NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.estimators.multiplicity import split_key
from analysis.registry.concepts import (
    KINETICS_SELECTION_VARIABLES,
    RESPONSES,
    TWO_GROUP_RESPONSE_TESTS,
    VARIABLES,
    Variable,
)

# scipy is imported in the functions that use it: a kernel restoring cached results
# (renderer/incremental.py) then skips importing scipy.stats (~0.7 s).
from analysis.registry.groups import GROUPINGS, KINETICS_DATA, TREND_SCORES, Grouping


@dataclass(frozen=True)
class TestResult:
    test: str | None  # "mann_whitney" | "kruskal_wallis" | "chi_square" | "fisher_exact" | "cochran_armitage" | None
    p: float | None
    statistic: float | None
    reason: str | None = None  # why p is None

    __test__ = False  # not a pytest test class despite the name


@dataclass(frozen=True)
class ContinuousLevel:
    key: str
    label: str
    n: int  # non-missing values
    median: float | None
    min: float | None
    max: float | None
    # quartiles (R quantile type 7), to show a difference two equal medians hide
    q1: float | None = None
    q3: float | None = None


@dataclass(frozen=True)
class CategoryCount:
    category: str  # e.g. "M", "F", True/False rendered as "yes"/"no", "relapsed"
    count: int
    percent: float | None  # of the level's non-missing n, 0-100


@dataclass(frozen=True)
class CategoricalLevel:
    key: str
    label: str
    n: int
    categories: tuple[CategoryCount, ...]


@dataclass(frozen=True)
class Comparison:
    variable: str
    grouping: str
    kind: str  # "continuous" | "categorical"
    levels: tuple  # ContinuousLevel or CategoricalLevel, in grouping order
    result: TestResult


@dataclass(frozen=True)
class RateLevel:
    key: str
    label: str
    n: int
    events: int
    rate: float | None
    ci_low: float | None  # exact Clopper-Pearson 95%
    ci_high: float | None


@dataclass(frozen=True)
class ResponseComparison:
    response: str  # "cr" | "mrd_negative_cr"
    grouping: str
    levels: tuple[RateLevel, ...]
    result: TestResult
    #: patients of the levels whose response is not known (assessment not done): left out
    not_assessed: int = 0
    #: the response and the patients of each group the test used, as a digest: comparisons
    #: with the same key are one test (:func:`analysis.estimators.multiplicity.split_key`)
    split: str | None = None


#: R's wilcox.test uses the exact distribution only below this many values per group.
WILCOX_EXACT_MAX_N = 50

#: gtsummary switches from chi-square to Fisher when any expected count is below this.
MIN_EXPECTED_COUNT = 5.0


#: Above this many steps (edges of the network and partial tables followed) the exact
#: Fisher test gives up (p None).
MAX_FISHER_ENUMERATION = 20_000_000

# R's fisher.test tie tolerances: 2x2 tables keep d <= d_obs * (1 + 1e-7)
# (relErr in fisher.test); larger tables go through FEXACT, which adds
# tol = 3.45254e-7 to the observed log-probability.
_R_2X2_LOG_TOL = np.log1p(1e-7)
_R_FEXACT_LOG_TOL = 3.45254e-7


class TableTooLargeError(ValueError):
    """The exact Fisher test would need more than MAX_FISHER_ENUMERATION steps."""


def _grouping(name: str | Grouping) -> Grouping:
    if isinstance(name, Grouping):
        return name
    try:
        return GROUPINGS[name]
    except KeyError:
        raise KeyError(f"unknown grouping {name!r}; expected one of {sorted(GROUPINGS)}") from None


def _level_masks(df: pd.DataFrame, grouping: Grouping):
    column = df[grouping.column]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # a prepared cohort's grouping column: its codes compared (pandas' == on a categorical
        # gives the same mask: False for a missing value or a key that is no category)
        codes, categories = column.cat.codes.to_numpy(), column.cat.categories
        for level in grouping.levels:
            if level.key in categories:
                yield level, codes == categories.get_loc(level.key)
            else:
                yield level, np.zeros(codes.size, dtype=bool)
        return
    for level in grouping.levels:
        yield level, (column == level.key).to_numpy()


def _none(reason: str, test: str | None = None) -> TestResult:
    return TestResult(test=test, p=None, statistic=None, reason=reason)


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


# --------------------------------------------------------------------------- continuous


def _tied_ranks(pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code of each value, average rank of each distinct value, tie counts t) from the
    counts of the distinct values (hashing): the ranks of ``scipy.stats.rankdata`` without a
    sort of all values (~0.1 s per test at 10^6 patients, 30 tests in the report)."""
    codes, _ = pd.factorize(pooled, sort=True)
    t = np.bincount(codes).astype(float)
    return codes, np.cumsum(t) - (t - 1) / 2, t


def _mann_whitney_normal(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """SciPy's ``mannwhitneyu(x, y, method="asymptotic", use_continuity=True)``, two-sided:
    (U of x, p), the same formulas on :func:`_tied_ranks`."""
    from scipy.special import ndtr

    n1, n2 = x.size, y.size
    n = n1 + n2
    codes, rank, t = _tied_ranks(np.concatenate([x, y]))
    u1 = float(np.bincount(codes[:n1], minlength=t.size) @ rank) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - np.sum(t**3 - t) / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (u - n1 * n2 / 2 - 0.5) / s
    return u1, float(np.clip(2 * ndtr(-z), 0.0, 1.0))


def _kruskal(samples: Sequence[np.ndarray]) -> tuple[float, float]:
    """SciPy's ``kruskal(*samples)`` (tie-corrected H, chi-square p) on :func:`_tied_ranks`."""
    from analysis.estimators.survival import chi2_sf

    sizes = np.array([s.size for s in samples], dtype=float)
    codes, rank, t = _tied_ranks(np.concatenate(samples))
    group = np.repeat(np.arange(len(samples)), sizes.astype(np.int64))
    rank_sums = np.bincount(group, weights=rank[codes], minlength=len(samples))
    n = sizes.sum()
    h = 12.0 / (n * (n + 1)) * np.sum(rank_sums**2 / sizes) - 3 * (n + 1)
    h /= 1 - np.sum(t**3 - t) / (n**3 - n)
    return float(h), chi2_sf(h, len(samples) - 1)


def rank_test(samples: Sequence[np.ndarray]) -> TestResult:
    """Two-sided rank test of the non-empty samples, as R does it.

    Two samples: Mann–Whitney U = R ``wilcox.test(x, y)`` — exact p when both
    samples have fewer than 50 values and there are no ties, otherwise the normal
    approximation with tie-corrected variance and continuity correction. SciPy's
    ``method="auto"`` uses a different switch rule, so the method is pinned here.
    Three or more: Kruskal–Wallis with tie correction = R ``kruskal.test``.
    The statistic is R's W (U of the first sample) or H.
    """
    from scipy import stats

    testable = [np.asarray(s, dtype=float) for s in samples if len(s) > 0]
    if len(testable) < 2:
        return _none("fewer than two groups with non-missing values")
    pooled = np.concatenate(testable)
    if np.all(pooled == pooled[0]):
        # R returns NaN / NA here: every rank is tied, the test is undefined.
        return _none("all values are equal; the rank test is undefined")
    if len(testable) == 2:
        x, y = testable
        small = len(x) < WILCOX_EXACT_MAX_N and len(y) < WILCOX_EXACT_MAX_N
        exact = small and np.unique(pooled).size == pooled.size  # no ties (sorted only when small)
        if exact:
            res = stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True, method="exact")
            statistic, pvalue = res.statistic, res.pvalue
        else:
            statistic, pvalue = _mann_whitney_normal(x, y)
        test = "mann_whitney"
    else:
        statistic, pvalue = _kruskal(testable)
        test = "kruskal_wallis"
    p = _finite_or_none(pvalue)
    if p is None:
        return _none("the test statistic is undefined on these values", test)
    return TestResult(test=test, p=min(p, 1.0), statistic=_finite_or_none(statistic))


def compare_continuous(df: pd.DataFrame, variable: str, grouping: str | Grouping) -> Comparison:
    """Median (min–max) per level and a rank test (see :func:`rank_test`).

    Missing values are left out; levels without values are shown with n = 0 and
    left out of the test.
    """
    g = _grouping(grouping)
    values = pd.to_numeric(df[variable], errors="coerce").astype(float).to_numpy()
    levels, samples = [], []
    for level, mask in _level_masks(df, g):
        v = values[mask]
        v = v[~np.isnan(v)]
        samples.append(v)
        stats_ = (float(np.median(v)), float(v.min()), float(v.max())) if v.size else (None, None, None)
        quartiles = tuple(float(q) for q in np.quantile(v, (0.25, 0.75))) if v.size else (None, None)
        levels.append(ContinuousLevel(level.key, level.label, int(v.size), *stats_, *quartiles))
    return Comparison(variable, g.name, "continuous", tuple(levels), rank_test(samples))


# --------------------------------------------------------------------------- categorical


def _compositions_within(total: int, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every integer vector x with 0 <= x <= b and sum(x) == total, for each row b of
    `bounds` (m x r): (owner: the row of `bounds` each vector belongs to, vectors).

    Built one cell at a time, each cell only over the values that leave the later cells
    able to take the rest: no vector is generated that cannot be completed, so the size
    limit counts tables that exist (filtering the cross product of every composition with
    every bound refused some 4x4 tables that this computes, e.g. R ``fisher.test`` =
    0.531163484969 for rows 0 8 6 7 / 6 7 7 8 / 3 2 5 6 / 3 8 7 9).
    """
    m, r = bounds.shape
    capacity_after = np.cumsum(bounds[:, ::-1], axis=1)[:, ::-1]  # sum of bounds[:, j:]
    owner = np.arange(m)
    parts = np.zeros((m, 0), dtype=np.int64)
    used = np.zeros(m, dtype=np.int64)
    for j in range(r - 1):
        left = total - used
        low = np.maximum(0, left - capacity_after[owner, j + 1])
        top = np.minimum(bounds[owner, j], left)
        reps = np.maximum(top - low + 1, 0)
        size = int(reps.sum())
        if size > MAX_FISHER_ENUMERATION:
            raise TableTooLargeError
        value = np.arange(size) - np.repeat(np.cumsum(reps) - reps, reps) + np.repeat(low, reps)
        owner = np.repeat(owner, reps)
        parts = np.column_stack([np.repeat(parts, reps, axis=0), value])
        used = np.repeat(used, reps) + value
    return owner, np.column_stack([parts, total - used])


def fisher_exact_rxc(table) -> float:
    """Two-sided Fisher exact p-value of an r×c table, as R ``fisher.test`` computes it.

    Sum of the hypergeometric probabilities of every table with the observed
    margins whose probability is at most the observed one (R's tie tolerance:
    relative 1e-7 for 2×2, FEXACT's 3.45254e-7 on the log scale otherwise), by the
    network algorithm of FEXACT (Mehta & Patel 1983, JASA 78:427–434; see
    :func:`_fisher_exact_rxc`). Raises :class:`TableTooLargeError` beyond
    MAX_FISHER_ENUMERATION steps, where R's default workspace refuses too.
    """
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.ndim != 2 or min(t.shape) < 2:
        return 1.0
    return _fisher_exact_rxc(t.shape, tuple(t.ravel().tolist()))


def _unique_rows(a: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of `a`, index of each row among them); entries below `base`."""
    if float(base) ** a.shape[1] < 2.0**62:  # one integer per row: a 1-D sort
        code = a @ (base ** np.arange(a.shape[1], dtype=np.int64))
        _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        return a[first], inverse.ravel()
    distinct, inverse = np.unique(a, axis=0, return_inverse=True)
    return distinct, inverse.ravel()


def _mass_at_or_below(owner, values, n_owners, query_owner, limits):
    """For each query q: (sum of exp(values - top[owner]) over the values of its owner at or
    below limits[q], top[query_owner]), top being each owner's largest value.

    One sort of values and limits together by (owner, value, kind): a cumulative sum then
    gives, at each limit, the mass of its owner's values at or below it (ties count: values
    sort before limits)."""
    top = np.full(n_owners, -np.inf)
    np.maximum.at(top, owner, values)
    state = np.concatenate([owner, query_owner])
    value = np.concatenate([values, limits])
    kind = np.concatenate([np.zeros(len(owner), np.int8), np.ones(len(limits), np.int8)])
    weight = np.concatenate([np.exp(values - top[owner]), np.zeros(len(limits))])
    order = np.lexsort((kind, value, state))
    cum = np.cumsum(weight[order])
    sorted_state = state[order]
    before = np.concatenate([[0.0], cum])[np.searchsorted(sorted_state, np.arange(n_owners), side="left")]
    is_query = kind[order] == 1
    mass = np.empty(len(limits))
    mass[order[is_query] - len(owner)] = cum[is_query] - before[sorted_state[is_query]]
    return mass, top[query_owner]


#: Paths reaching a node of the network with log weights closer than this are one path
#: (their multiplicities add): a relative change of 1e-11 in a probability.
_FISHER_MERGE = 1e-11


@functools.lru_cache(maxsize=1024)
def _fisher_exact_rxc(shape: tuple[int, int], cells: tuple[int, ...]) -> float:
    """:func:`fisher_exact_rxc` of a table without empty margins, remembered (the bundled
    demo's results test 26 tables, 6 of them twice).

    The network: the columns (the longer side, ascending totals) are stages; a node of stage
    j is the sorted row totals left for columns j.., an edge a way to fill column j, weighted
    by -sum(log cell!). A table is a path; its probability is exp(const + path weight). Every
    node's shortest and longest completion are computed backwards. Going forwards, the paths
    reaching a node (merged by weight) whose longest completion keeps them at or below the
    observed probability count with all their completions at once (the completions' total
    weight has a closed form), those whose shortest completion exceeds it are dropped, the
    rest go on; at the last two columns (the last one is determined) each path's mass is read
    off the node's sorted completions.
    """
    from scipy.special import gammaln

    t = np.array(cells, dtype=np.int64).reshape(shape)
    if t.shape[0] > t.shape[1]:
        t = t.T  # fewer rows: shorter node keys, fewer ways to fill a column
    rows, cols = t.sum(axis=1), np.sort(t.sum(axis=0))
    n, stages = int(rows.sum()), len(cols)
    log_fact = gammaln(np.arange(n + 1) + 1.0)  # lookup: log(k!) for k = 0..n
    log_const = float(log_fact[rows].sum() + log_fact[cols].sum() - log_fact[n])
    threshold = float(-log_fact[t].sum()) + (_R_2X2_LOG_TOL if t.shape == (2, 2) else _R_FEXACT_LOG_TOL)
    steps = 0

    def spend(count: int) -> None:
        nonlocal steps
        steps += count
        if steps > MAX_FISHER_ENUMERATION:
            raise TableTooLargeError

    keys = [np.sort(rows)[None, :]]
    edges = []  # stage j: (owner node, child node, weight), owners in order
    for j in range(stages - 1):
        owner, filled = _compositions_within(int(cols[j]), keys[j])
        spend(len(owner))
        children, child = _unique_rows(np.sort(keys[j][owner] - filled, axis=1), n + 1)
        keys.append(children)
        edges.append((owner, child, -log_fact[filled].sum(axis=1)))
    last = -log_fact[keys[-1]].sum(axis=1)  # the last column is the rest
    shortest: list[np.ndarray] = [last] * stages
    longest: list[np.ndarray] = [last] * stages
    starts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * stages  # each stage's edges, by owner
    for j in range(stages - 2, -1, -1):
        owner, child, weight = edges[j]
        starts[j] = np.searchsorted(owner, np.arange(len(keys[j]) + 1), side="left")
        shortest[j] = np.minimum.reduceat(weight + shortest[j + 1][child], starts[j][:-1])
        longest[j] = np.maximum.reduceat(weight + longest[j + 1][child], starts[j][:-1])
    log_cols_after = np.cumsum(log_fact[cols][::-1])[::-1]  # sum of log(c!) over columns j..

    p = 0.0
    node: np.ndarray = np.zeros(1, dtype=np.int64)
    path: np.ndarray = np.zeros(1)
    count: np.ndarray = np.ones(1)  # paths merged into each entry
    for j in range(stages - 1):
        if len(path) > 1:
            order = np.lexsort((path, node))
            node, path, count = node[order], path[order], count[order]
            first = np.concatenate([[True], (np.diff(node) != 0) | (np.diff(path) > _FISHER_MERGE)])
            count = np.bincount(np.cumsum(first) - 1, weights=count)
            node, path = node[first], path[first]
        inside = path + longest[j][node] <= threshold
        if inside.any():  # sum over the tables with margins (k, cols[j:]) of prod 1/cell!
            k = keys[j][node[inside]]
            completions = log_fact[k.sum(axis=1)] - log_fact[k].sum(axis=1) - log_cols_after[j]
            p += float(np.sum(count[inside] * np.exp(log_const + path[inside] + completions)))
        going_on = ~inside & (path + shortest[j][node] <= threshold)
        node, path, count = node[going_on], path[going_on], count[going_on]
        if not len(path):
            break
        owner, child, weight = edges[j]
        if j == stages - 2:
            spend(len(path))
            mass, top = _mass_at_or_below(owner, weight + shortest[-1][child], len(keys[j]), node, threshold - path)
            p += float(np.sum(count * np.exp(log_const + path + top) * mass))
            break
        start = starts[j]
        fan = start[node + 1] - start[node]
        size = int(fan.sum())
        spend(size)
        edge = np.arange(size) - np.repeat(np.cumsum(fan) - fan, fan) + np.repeat(start[node], fan)
        node, path, count = child[edge], np.repeat(path, fan) + weight[edge], np.repeat(count, fan)
    return min(p, 1.0)


def table_test(counts) -> TestResult:
    """gtsummary's test of a contingency table (rows = group levels).

    Rows and columns with a zero margin are dropped. Pearson chi-square without
    continuity correction (R ``chisq.test(m, correct = FALSE)``) when every
    expected count is at least 5, otherwise Fisher's exact test (R
    ``fisher.test(m)``, exact for any table size, see :func:`fisher_exact_rxc`).
    """
    from scipy import stats

    t = np.asarray(counts, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0] if t.size else t
    if t.ndim != 2 or t.shape[0] < 2:
        return _none("fewer than two groups with non-missing values")
    if t.shape[1] < 2:
        return _none("a single category is observed; nothing to compare")
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()
    if expected.min() >= MIN_EXPECTED_COUNT:
        chi2, p, _, _ = stats.chi2_contingency(t, correction=False)
        return TestResult("chi_square", float(p), float(chi2))
    try:
        p = fisher_exact_rxc(t)
    except TableTooLargeError:
        return _none(f"table {t.shape[0]}x{t.shape[1]} is too large for an exact Fisher test", "fisher_exact")
    return TestResult("fisher_exact", p, None)


def has_zero_cell(table) -> bool:
    """A 2x2 table with a zero cell and no empty row or column: its conditional MLE (and
    the ordinary MLE) of the odds ratio is 0 or infinite, so Firth's estimate is used."""
    t = np.asarray(table, dtype=np.int64)
    margins_ok = (t.sum(axis=0) > 0).all() and (t.sum(axis=1) > 0).all()
    return bool(margins_ok and (t == 0).any())


def fisher_central_p(table) -> float:
    """Two-sided p of Fisher's exact test of a 2x2 table by the central (doubling) method:
    ``min(1, 2 * min(P[X <= x], P[X >= x]))`` under the hypergeometric null, i.e. R
    ``min(1, 2 * min(fisher.test(m, alternative = "less")$p.value,
    fisher.test(m, alternative = "greater")$p.value))``.

    R ``fisher.test``'s 95% CI of the odds ratio is the set of odds ratios that neither
    one-sided test rejects at 2.5%, so this p is below 0.05 exactly when that CI excludes 1
    (Fay 2010). R's default two-sided p (the sum of the tables no more probable than the
    observed one, :func:`fisher_exact_rxc`) is at most this one and can be below 0.05 while
    the CI includes 1.
    """
    from scipy import stats

    t = np.asarray(table, dtype=np.int64)
    if t.shape != (2, 2):
        raise ValueError("a 2x2 table is required")
    total, col1, row1, x = int(t.sum()), int(t[:, 0].sum()), int(t[0].sum()), int(t[0, 0])
    if total == 0:
        return 1.0
    null = stats.hypergeom(total, col1, row1)
    return float(min(1.0, 2.0 * min(null.cdf(x), null.sf(x - 1))))


def two_group_response_test(counts) -> TestResult:
    """The test of a 2x2 response table (rows: the two groups; columns: responders, others)
    declared in :data:`analysis.registry.concepts.TWO_GROUP_RESPONSE_TESTS`: the test whose
    inversion is the odds ratio's CI the report prints beside the p. Central Fisher p with
    the conditional odds ratio; with a zero cell (Firth's odds ratio is printed), Firth's
    penalized likelihood-ratio test, R ``logistf(y ~ x)``'s p. An empty group or a single
    observed outcome leaves the test undefined, as in :func:`table_test`."""
    t = np.asarray(counts, dtype=np.int64)
    if t.shape != (2, 2) or (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
        return table_test(t)  # the reason why no test is possible
    if has_zero_cell(t):
        from analysis.estimators.firth import firth_odds_ratio  # scipy.optimize only when needed

        firth = firth_odds_ratio(t)
        test = TWO_GROUP_RESPONSE_TESTS["firth"]
        if firth.lr_p is None:
            return _none(firth.reason or "Firth's likelihood-ratio test could not be computed", test)
        return TestResult(test, float(firth.lr_p), firth.lr_chisq)
    return TestResult(TWO_GROUP_RESPONSE_TESTS["conditional_mle"], fisher_central_p(t), None)


def _is_boolean(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    present = values.dropna()
    return len(present) > 0 and pd.api.types.infer_dtype(present, skipna=True) == "boolean"


def _category_label(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def compare_categorical(
    df: pd.DataFrame, variable: str, grouping: str | Grouping, categories: Sequence | None = None
) -> Comparison:
    """Count and percent per category and level, and gtsummary's test (:func:`table_test`).

    Category order: ``categories`` if given, else yes/no for booleans, else the
    variable's categories in :data:`analysis.registry.concepts.VARIABLES`, else sorted; unlisted observed values
    follow, sorted. Percent is of the level's non-missing n.
    """
    g = _grouping(grouping)
    values = df[variable]
    boolean = _is_boolean(values)
    if categories is None:
        known = VARIABLES[variable].categories if variable in VARIABLES else ()
        categories = (True, False) if boolean else tuple(c.value for c in known)
    present = values.dropna()
    if boolean:
        present = present.astype(bool)
    extra = sorted(set(present.unique()) - set(categories), key=str)
    order = list(categories) + extra

    # Counts by integer codes (one bincount), not by comparing every value with each category.
    code_of = {c: i for i, c in enumerate(order)}
    value_codes, uniques = pd.factorize(present, use_na_sentinel=True)
    category_code = np.array([code_of[u] for u in uniques] + [-1], dtype=np.int64)
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[values.notna().to_numpy()] = category_code[value_codes]
    level_codes = pd.Categorical(df[g.column], categories=list(g.keys)).codes.astype(np.int64)
    seen = (codes >= 0) & (level_codes >= 0)
    table = np.bincount(level_codes[seen] * len(order) + codes[seen], minlength=len(g.levels) * len(order)).reshape(
        len(g.levels), len(order)
    )
    counts, levels = [], []
    for level, row_counts in zip(g.levels, table):
        row = [int(k) for k in row_counts]
        n = int(sum(row))
        counts.append(row)
        levels.append(
            CategoricalLevel(
                level.key,
                level.label,
                n,
                tuple(CategoryCount(_category_label(c), k, 100.0 * k / n if n else None) for c, k in zip(order, row)),
            )
        )
    return Comparison(variable, g.name, "categorical", tuple(levels), table_test(counts))


def describe(df: pd.DataFrame, variable: str) -> ContinuousLevel | CategoricalLevel:
    """The whole cohort's summary of a characteristic (Table 1's "All patients" column):
    median (min–max) of the non-missing values, or the count and percent per category in
    the order of :func:`compare_categorical`. No test."""
    if VARIABLES[variable].compared_as == "continuous":
        v = pd.to_numeric(df[variable], errors="coerce").astype(float).to_numpy()
        v = v[~np.isnan(v)]
        stats_ = (float(np.median(v)), float(v.min()), float(v.max())) if v.size else (None, None, None)
        return ContinuousLevel("all", "All patients", int(v.size), *stats_)
    values = df[variable]
    present = values.dropna()
    boolean = _is_boolean(values)
    if boolean:
        present = present.astype(bool)
    known = (True, False) if boolean else tuple(c.value for c in VARIABLES[variable].categories)
    order = list(known) + sorted(set(present.unique()) - set(known), key=str)
    counts = present.value_counts()
    n = int(present.size)
    return CategoricalLevel(
        "all",
        "All patients",
        n,
        tuple(
            CategoryCount(_category_label(c), int(counts.get(c, 0)), 100.0 * int(counts.get(c, 0)) / n if n else None)
            for c in order
        ),
    )


def compare_subset(
    df: pd.DataFrame, in_subset, definitions: dict[str, Variable] | None = None
) -> dict[str, Comparison]:
    """The patients of a subset (``in_subset``: a boolean per row of ``df``) against the
    others, on each characteristic of ``definitions`` (default
    :data:`analysis.registry.concepts.KINETICS_SELECTION_VARIABLES`: how the patients with
    kinetics data were selected): the comparisons and tests of Table 1, levels "with" and
    "without" (:data:`analysis.registry.groups.KINETICS_DATA`). A characteristic whose
    column the cohort lacks (not collected) has no comparison."""
    defined = KINETICS_SELECTION_VARIABLES if definitions is None else definitions
    flag = np.asarray(in_subset, dtype=bool)
    if flag.shape != (len(df),):
        raise ValueError(f"in_subset has {flag.size} values for {len(df)} patients")
    frame = df.assign(**{KINETICS_DATA.column: np.where(flag, "with", "without")})
    out = {}
    for key, v in defined.items():
        if key not in frame.columns:
            continue
        compare = compare_continuous if v.compared_as == "continuous" else compare_categorical
        out[key] = compare(frame, key, KINETICS_DATA)
    return out


# --------------------------------------------------------------------------- response rates


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Exact Clopper–Pearson interval of k/n = R ``binom.test(k, n)$conf.int``; (None, None) if n = 0.

    R's beta quantiles, ``qbeta(a/2, k, n-k+1)`` and ``qbeta(1-a/2, k+1, n-k)`` (SciPy's
    ``binomtest(...).proportion_ci(method="exact")`` finds the same limits by root-finding,
    within 5e-13 of these, about 1,000 times slower).
    """
    from scipy.special import betaincinv

    if n <= 0:
        return None, None
    k, n, tail = int(k), int(n), (1.0 - confidence) / 2
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, tail))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1.0 - tail))
    return low, high


def compare_response(df: pd.DataFrame, response: str, grouping: str) -> ResponseComparison:
    """Response rate per level (denominator: every patient of the level whose response is
    known) and the test: between two groups :func:`two_group_response_test` (the test the
    printed odds ratio's CI inverts), between three or more gtsummary's (:func:`table_test`).

    ``response`` is ``"cr"`` (column ``cr_response``) or ``"mrd_negative_cr"``
    (CR with negative MRD; patients not in CR count as non-responders). A patient whose
    response is missing in the column (response not evaluable; MRD not assessed in CR) is
    left out of numerator and denominator, and counted in ``not_assessed``.
    """
    try:
        column = RESPONSES[response].column
    except KeyError:
        raise KeyError(f"unknown response {response!r}; expected one of {sorted(RESPONSES)}") from None
    g = _grouping(grouping)
    # nullable boolean first: fillna on an object column would downcast silently (pandas FutureWarning)
    values = df[column].astype("boolean")
    known = values.notna().to_numpy()
    flag = values.fillna(False).to_numpy(dtype=bool)
    levels, counts, masks = [], [], []
    not_assessed = 0
    for level, mask in _level_masks(df, g):
        not_assessed += int((mask & ~known).sum())
        mask = mask & known
        masks.append(mask)
        n, events = int(mask.sum()), int(flag[mask].sum())
        low, high = clopper_pearson(events, n)
        levels.append(RateLevel(level.key, level.label, n, events, events / n if n else None, low, high))
        counts.append([events, n - events])
    result = two_group_response_test(counts) if len(g.levels) == 2 else table_test(counts)
    split = split_key(response, masks)
    return ResponseComparison(response, grouping, tuple(levels), result, not_assessed, split)


# --------------------------------------------------------------------------- trend across ordered levels


def cochran_armitage(events, totals, scores) -> TestResult:
    """Chi-square test for trend in proportions (Cochran 1954, Armitage 1955), as R
    ``prop.trend.test(events, totals, score = scores)``: the weighted regression of the
    proportions on the scores, ``T = (sum x_i (s_i - s_bar))^2 / (p (1 - p) sum n_i (s_i - s_bar)^2)``
    with ``s_bar = sum n_i s_i / N`` and ``p`` the pooled proportion, chi-square on 1 df.
    Levels without patients add nothing; fewer than two scored levels with patients, or a
    pooled proportion of 0 or 1, leave the test undefined (R: NaN)."""
    from analysis.estimators.survival import chi2_sf

    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    s = np.asarray(scores, dtype=float)
    present = n > 0
    if np.unique(s[present]).size < 2:
        return _none("fewer than two ordered groups with patients", "cochran_armitage")
    total, responders = n.sum(), x.sum()
    pooled = responders / total
    if pooled <= 0 or pooled >= 1:
        return _none("every patient or none responded: no trend to test", "cochran_armitage")
    centre = float(np.sum(n * s) / total)
    statistic = float(np.sum(x * (s - centre)) ** 2 / (pooled * (1 - pooled) * np.sum(n * (s - centre) ** 2)))
    return TestResult("cochran_armitage", chi2_sf(statistic, 1), statistic)


def response_trend(df: pd.DataFrame, response: str, grouping: str) -> TestResult:
    """Cochran–Armitage test of a response rate across the ordered levels of ``grouping``
    (scores :data:`analysis.registry.groups.TREND_SCORES`)."""
    if grouping not in TREND_SCORES:
        raise KeyError(f"grouping {grouping!r} is not ordered; the ordered groupings are: {', '.join(TREND_SCORES)}")
    rates = compare_response(df, response, grouping)
    scores = TREND_SCORES[grouping]
    return cochran_armitage(
        [lv.events for lv in rates.levels], [lv.n for lv in rates.levels], [scores[lv.key] for lv in rates.levels]
    )
