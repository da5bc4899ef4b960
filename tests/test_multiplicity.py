"""Adjusted p-values and E-values (analysis.estimators.multiplicity) against R.

p.adjust: R 4.2.2 ``stats::p.adjust`` (the calls and what R printed, ``options(digits = 15)``).
E-values: R's EValue package is not in Debian, so its ``evalues.HR`` is written out in R from
VanderWeele & Ding (Ann Intern Med 2017;167:268-74), the formulas of the package, in the R
lines below; the paper's own worked example is checked too.
"""

from __future__ import annotations

import math

import pytest

from analysis.estimators.multiplicity import e_value_hr, e_value_rr, hr_to_rr, p_adjust, rare_outcome

# R> p <- c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, NA, 0.2, 0.0001)
P = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04, None, 0.2, 0.0001]
# R> p.adjust(p, "holm")
HOLM = [0.0600, 0.1600, 0.1500, 0.0350, 0.5000, 0.1600, None, 0.4000, 0.0008]
# R> p.adjust(p, "BH")
BH = [
    0.0266666666666667,
    0.0533333333333333,
    0.0533333333333333,
    0.0200000000000000,
    0.5000000000000000,
    0.0533333333333333,
    None,
    0.2285714285714286,
    0.0008000000000000,
]
# R> p2 <- c(0.924, 0.962, 0.41, 0.622, 0.342, 0.346, 0.011, 0.03)
P2 = [0.924, 0.962, 0.41, 0.622, 0.342, 0.346, 0.011, 0.03]
# R> p.adjust(p2, "holm")
HOLM2 = [1, 1, 1, 1, 1, 1, 0.088, 0.210]
# R> p.adjust(p2, "BH")
BH2 = [0.962, 0.962, 0.656, 0.829333333333333, 0.656, 0.656, 0.088, 0.120]


def _same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert (g is None and e is None) or g == pytest.approx(e, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("p", "method", "expected"), [(P, "holm", HOLM), (P, "BH", BH), (P2, "holm", HOLM2), (P2, "BH", BH2)]
)
def test_p_adjust_matches_r(p, method, expected):
    _same(p_adjust(p, method), expected)


def test_p_adjust_edge_cases():
    assert p_adjust([], "holm") == []
    assert p_adjust([None], "BH") == [None]
    assert p_adjust([0.3], "holm") == [0.3]
    with pytest.raises(ValueError, match="holm, BH"):
        p_adjust([0.1], "bonferroni")


# R> hr2rr <- function(hr) (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1 / hr))         # EValue's HR_to_RR
# R> thr <- function(rr) { if (rr < 1) rr <- 1 / rr; rr + sqrt(rr * (rr - 1)) }  # EValue's threshold
# R> ev <- function(est, lo, hi, rare) { f <- if (rare) identity else hr2rr
# R+   e <- thr(f(est)); lim <- if (est > 1) lo else hi
# R+   ci <- if ((est > 1 && lim <= 1) || (est < 1 && lim >= 1)) 1 else thr(f(lim)); c(e, ci) }
E_VALUES_R = [
    ((2.17, 0.62, 7.55, False), (2.80050334342192, 1.0)),  # R> ev(2.17, 0.62, 7.55, FALSE)
    ((2.17, 1.2, 7.55, False), (2.80050334342192, 1.52553091757873)),  # R> ev(2.17, 1.2, 7.55, FALSE)
    ((0.5, 0.3, 0.8, True), (3.41421356237309, 1.80901699437495)),  # R> ev(0.5, 0.3, 0.8, TRUE)
    ((0.5, 0.3, 0.8, False), (2.60640926553089, 1.60889134837784)),  # R> ev(0.5, 0.3, 0.8, FALSE)
    ((3.1, 1.4, 6.9, True), (5.65147016443462, 2.14833147735479)),  # R> ev(3.1, 1.4, 6.9, TRUE)
]


@pytest.mark.parametrize(("args", "expected"), E_VALUES_R)
def test_e_values_match_the_formulas_of_the_evalue_package(args, expected):
    e = e_value_hr(*args)
    assert (e.point, e.ci) == (pytest.approx(expected[0], rel=1e-13), pytest.approx(expected[1], rel=1e-13))
    assert e.rare is args[3] and e.reason is None


def test_e_value_worked_example_of_vanderweele_and_ding():
    # The paper's example: RR 3.9 (95% CI 1.8-8.7) -> 3.9 + sqrt(3.9 * 2.9) = 7.26 for the estimate,
    # 3.0 for the limit
    assert round(e_value_rr(3.9), 2) == 7.26
    assert e_value_rr(1.8) == pytest.approx(3.0, abs=1e-12)  # 1.8 + sqrt(1.8 * 0.8) = 1.8 + 1.2
    assert e_value_rr(1.0) == 1.0 and e_value_rr(0.5) == e_value_rr(2.0)
    # a hazard ratio of 1 converts to a risk ratio of 1
    assert hr_to_rr(1.0) == pytest.approx(1.0)


def test_e_value_of_what_cannot_be_estimated():
    assert e_value_hr(None, None, None, False).point is None
    e = e_value_hr(2.0, None, 5.0, True)
    assert e.point == pytest.approx(2 + math.sqrt(2)) and e.ci is None and e.reason
    assert e_value_hr(1.0, 0.5, 2.0, True).ci == 1.0


def test_rare_outcome_is_under_15_percent():
    assert rare_outcome(14, 100) and not rare_outcome(15, 100) and not rare_outcome(0, 0)
