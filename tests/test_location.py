"""Hodges–Lehmann shift and ratio (analysis.estimators.location) against R's wilcox.test.

R 4.2.2 on this machine; every call and what it printed (``sprintf("%.17g")``) is next to
the expected value. The estimates and limits are compared to 1e-12 (relative): the normal
approximation's roots come from R's own root finder (ported), so they are R's step for step,
not only within uniroot's tolerance of 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.location import hodges_lehmann, qwilcox, wilcox_counts

REF = Path(__file__).parent / "reference"


def same(result, estimate, low, high, rel=1e-12):
    assert result.reason is None
    assert (result.estimate, result.ci_low, result.ci_high) == (
        pytest.approx(estimate, rel=rel, abs=1e-15),
        pytest.approx(low, rel=rel),
        pytest.approx(high, rel=rel),
    )


def test_exact_interval_without_ties():
    # R> wilcox.test(c(1.2, 3.4, 5.1, 2.2), c(0.5, 2.9, 1.1), conf.int = TRUE)
    #    estimate 1.4000000000000001, conf.int -1.7 4.5999999999999996 (exact)
    r = hodges_lehmann([1.2, 3.4, 5.1, 2.2], [0.5, 2.9, 1.1])
    same(r, 1.4000000000000001, -1.7, 4.5999999999999996)
    assert r.exact is True and (r.n_x, r.n_y) == (4, 3)


def test_normal_approximation_with_ties():
    # R> wilcox.test(c(7, 10, 14, 7, 7, 10, 14, 14), c(7, 7, 10, 10, 10, 14, 21), conf.int = TRUE)
    #    estimate -3.557630219677114e-05, conf.int -6.9999783423016009 3.9999995081504705
    r = hodges_lehmann([7, 10, 14, 7, 7, 10, 14, 14], [7, 7, 10, 10, 10, 14, 21])
    same(r, -3.557630219677114e-05, -6.9999783423016009, 3.9999995081504705)
    assert r.exact is False
    # R> wilcox.test(c(3, 1, 4, 1, 5, 9, 2, 6), c(2, 7, 1, 8, 2, 8), conf.int = TRUE)
    #    estimate -0.99995845341079515, conf.int -5.0000563395277382 3.0000388574404475
    same(
        hodges_lehmann([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8]),
        -0.99995845341079515,
        -5.0000563395277382,
        3.0000388574404475,
    )


def test_large_samples_and_the_ratio_on_the_log_scale():
    data = pd.read_csv(REF / "hl_two_samples.csv")  # 80 and 120 values: normal approximation
    x, y = data.loc[data["g"] == "x", "v"].to_numpy(), data.loc[data["g"] == "y", "v"].to_numpy()
    # R> d <- read.csv("tests/reference/hl_two_samples.csv"); x <- d$v[d$g == "x"]; y <- d$v[d$g == "y"]
    # R> wilcox.test(x, y, conf.int = TRUE)   estimate 699.00003663666553, conf.int 146.99994593419521 1349.000034010199
    same(hodges_lehmann(x, y), 699.00003663666553, 146.99994593419521, 1349.000034010199)
    # R> exp(unlist(wilcox.test(log(x), log(y), conf.int = TRUE)[c("estimate", "conf.int")]))
    #    from 0.39611737947087877, 0.076723326887011861, 0.71451557203438343 on the log scale
    r = hodges_lehmann(x, y, ratio=True)
    same(r, np.exp(0.39611737947087877), np.exp(0.076723326887011861), np.exp(0.71451557203438343))
    assert r.ratio and r.exact is False


def test_the_interval_stops_at_the_range_of_the_differences():
    # R> wilcox.test(1, 2:60, conf.int = TRUE): estimate -30, conf.int -59 -1 (R's documented extreme case)
    same(hodges_lehmann([1], np.arange(2, 61)), -30, -59, -1)


def test_exact_ratio_is_the_median_of_the_pairwise_ratios():
    x, y = np.array([120.0, 800.0, 3000.0]), np.array([40.0, 90.0, 700.0])  # 9 ratios: one in the middle
    r = hodges_lehmann(x, y, ratio=True)
    assert r.exact and r.estimate == pytest.approx(np.median(np.divide.outer(x, y)), rel=1e-12)
    # an even number of ratios: the geometric mean of the two middle ones
    r = hodges_lehmann(np.r_[x, 50.0], y, ratio=True)
    middle = np.sort(np.divide.outer(np.r_[x, 50.0], y).ravel())[5:7]
    assert r.estimate == pytest.approx(np.sqrt(middle.prod()), rel=1e-12)


def test_what_cannot_be_estimated_says_why():
    assert hodges_lehmann([], [1, 2]).reason == "a group has no value"
    zero = hodges_lehmann([0.0, 10.0], [5.0, 7.0], ratio=True)
    assert zero.estimate is None and "zero" in zero.reason
    assert hodges_lehmann([3, 3], [3, 3, 3]).reason.startswith("all values are equal")
    assert hodges_lehmann([1, np.nan, 2], [5, 6]).n_x == 2  # missing values are dropped


# R> for (m in c(1, 3, 10, 24, 49)) for (n in c(2, 5, 19, 49)) cat(m, n, qwilcox(0.025, m, n), "\n")
QWILCOX_R = {
    (1, 2): 0,
    (1, 5): 0,
    (1, 19): 0,
    (1, 49): 1,
    (3, 2): 0,
    (3, 5): 1,
    (3, 19): 8,
    (3, 49): 24,
    (10, 2): 1,
    (10, 5): 9,
    (10, 19): 53,
    (10, 49): 148,
    (24, 2): 4,
    (24, 5): 26,
    (24, 19): 148,
    (24, 49): 421,
    (49, 2): 10,
    (49, 5): 57,
    (49, 19): 322,
    (49, 49): 925,
}


@pytest.mark.parametrize(("m", "n"), sorted(QWILCOX_R))
def test_qwilcox_matches_r(m, n):
    assert qwilcox(0.025, m, n) == QWILCOX_R[(m, n)]


def test_wilcox_counts_are_the_mann_whitney_distribution():
    # by enumeration: U of every choice of 3 ranks among 3 + 4
    from itertools import combinations

    counts = np.zeros(13, dtype=int)
    for ranks in combinations(range(1, 8), 3):
        counts[sum(ranks) - 6] += 1
    assert wilcox_counts(3, 4) == counts.tolist()
