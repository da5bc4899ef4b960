"""Exact strings of the number formatters shared by prose, tables and figures."""

import math

import pytest

from analysis.report.formatting import (
    CELL_MISSING,
    NOT_ESTIMABLE,
    fmt_count_pct,
    fmt_hr_ci,
    fmt_median_range,
    fmt_months,
    fmt_n_of,
    fmt_number,
    fmt_p,
    fmt_p_bare,
    fmt_pct,
)


@pytest.mark.parametrize(
    "p, prose, cell",
    [
        (0.342, "p = 0.342", "0.342"),
        (0.0421, "p = 0.042", "0.042"),
        (0.05, "p = 0.050", "0.050"),
        (0.001, "p = 0.001", "0.001"),
        (0.000999, "p < 0.001", "<0.001"),
        (1e-12, "p < 0.001", "<0.001"),
        (0.0, "p < 0.001", "<0.001"),
        (0.9994, "p = 0.999", "0.999"),
        # issue 21, finding 13: a p that rounds to 1 is "> 0.99", never "p = 1.000"
        (0.9995, "p > 0.99", ">0.99"),
        (0.9996, "p > 0.99", ">0.99"),
        (1.0, "p > 0.99", ">0.99"),
        # review 30, finding 10: four digits only next to the study's alpha (0.05 by default), never
        # near 0.01 or 0.1 ("p = 0.1002", "p = 0.0103" beside three decimals everywhere else)
        (0.1002, "p = 0.100", "0.100"),
        (0.0998, "p = 0.100", "0.100"),
        (0.0103, "p = 0.010", "0.010"),
        (0.0098, "p = 0.010", "0.010"),
        (0.0496, "p = 0.0496", "0.0496"),
        (0.0503, "p = 0.0503", "0.0503"),
    ],
)
def test_p_values_prose_and_cell(p, prose, cell):
    assert fmt_p(p) == prose
    assert fmt_p_bare(p) == cell


def test_p_extra_digits_follow_the_study_alpha_only():
    """A study with alpha 0.10 gets the extra digits at 0.1 and none at 0.05 (review 30, finding 10)."""
    assert fmt_p(0.1002, alpha=0.10) == "p = 0.1002"
    assert fmt_p(0.0496, alpha=0.10) == "p = 0.050"
    assert fmt_p_bare(0.0103, alpha=0.01) == "0.0103"


def test_missing_p_is_never_nan_or_none():
    assert fmt_p(None, "no events in either group") == "not estimable (no events in either group)"
    assert fmt_p(float("nan")) == NOT_ESTIMABLE
    assert fmt_p_bare(None) == CELL_MISSING
    assert fmt_p_bare(float("nan"), "single group") == CELL_MISSING


def test_out_of_range_p_is_an_error_not_a_string():
    with pytest.raises(ValueError):
        fmt_p(1.2)
    with pytest.raises(ValueError):
        fmt_p_bare(-0.01)


def test_n_of():
    assert fmt_n_of(86, 93) == "86 of 93 (92.5%)"
    assert fmt_n_of(0, 17) == "0 of 17 (0.0%)"
    assert fmt_n_of(1500, 2000) == "1,500 of 2,000 (75.0%)"
    assert fmt_n_of(0, 0) == "0 of 0 (not estimable)"


def test_percent_and_count_cells():
    assert fmt_pct(92.473) == "92.5%"
    assert fmt_pct(100) == "100.0%"
    assert fmt_pct(None) == NOT_ESTIMABLE
    assert fmt_count_pct(41, 53.947) == "41 (53.9%)"
    assert fmt_count_pct(None, None) == CELL_MISSING


@pytest.mark.parametrize(
    "x, text",
    [
        (27231, "27,231"),
        (27231.0, "27,231"),
        (3.14, "3.1"),
        (10952.9, "10,953"),
        (23.75, "23.8"),
        (0, "0"),
        (0.5, "0.5"),
        (0.042, "0.042"),
        (0.00001, "0.000010"),
        (-2.0, "-2"),
    ],
)
def test_number_digits(x, text):
    assert fmt_number(x) == text


def test_median_range():
    assert fmt_median_range(31, 2, 70) == "31 (2–70)"
    assert fmt_median_range(517.0, 3.1, 27231) == "517 (3–27,231)"  # whole numbers beside 27,231
    assert fmt_median_range(1.15, 0.4, 4.3) == "1.2 (0.4–4.3)"  # half up, although 1.15 is 1.1499.. in binary
    assert fmt_median_range(None, None, None) == NOT_ESTIMABLE
    assert fmt_median_range(float("nan"), None, None, missing=CELL_MISSING) == CELL_MISSING


def test_hazard_ratio_with_interval():
    assert fmt_hr_ci(2.021, 0.653, 6.256) == "2.02 (0.65–6.26)"
    assert fmt_hr_ci(None, 0.6, 6.0) == NOT_ESTIMABLE
    assert fmt_hr_ci(1.5, 0.2, math.inf) == "1.50 (95% CI not estimable)"
    assert fmt_hr_ci(None, None, None, missing=CELL_MISSING) == CELL_MISSING


def test_months():
    assert fmt_months(38.27) == "38.3 months"
    assert fmt_months(None) == NOT_ESTIMABLE
    assert "nan" not in fmt_months(float("nan")).lower()


def test_tiny_ratios_print_below_0_01_and_keep_two_decimals():
    """A Firth or exact limit of 0.0003 printed as "0.00" would read as zero (issue 11); review 29,
    finding 15: "Firth OR 0.265 (95% CI 0.002–2.360)" beside "OR 0.49 (95% CI 0.07–5.64)" were two
    rules. One rule (RATIO_RULE): two decimals, "<0.01" below 0.005."""
    from analysis.report.formatting import RATIO_RULE, fmt_ci, fmt_hr, fmt_ratio_ci

    assert fmt_ci(0.00031, 0.33) == "<0.01–0.33"
    assert fmt_hr(0.0047) == "<0.01" and fmt_hr(0.0) == "0.00" and fmt_hr(0.01) == "0.01"
    assert fmt_hr(0.0051) == "0.01"  # rounds to 0.01: printed as such
    assert fmt_ci(0.012, 250.0) == "0.01–250.00"
    assert fmt_hr_ci(0.26, 0.0023, 2.36) == "0.26 (<0.01–2.36)"
    assert fmt_ratio_ci("Firth OR", 0.26, 0.0023, 2.36) == "Firth OR 0.26 (95% CI <0.01–2.36)"
    assert fmt_ratio_ci("OR", 0.49, 0.07, 5.64) == "OR 0.49 (95% CI 0.07–5.64)"  # the same precision
    assert fmt_ratio_ci("HR", 1.5, 0.2, math.inf) == "HR 1.50 (95% CI not estimable)"
    assert "two decimals" in RATIO_RULE and "<0.01" in RATIO_RULE


@pytest.mark.parametrize(
    "median, low, high, text",
    [
        (0.3, 0.1, 5, "0.3 (0.1–5.0)"),  # one precision for the three (was "0.3 (0.1–5)")
        (28, 2, 70, "28 (2–70)"),  # all whole: no decimals
        (10952.9, 12.3, 27231, "10,953 (12–27,231)"),  # from 1,000 on whole numbers, for all three
        (1.15, 0.02, 3, "1.15 (0.02–3.00)"),  # a small minimum: two decimals, not three
        (0.042, 0.011, 0.09, "0.042 (0.011–0.090)"),
    ],
)
def test_numbers_shown_together_share_one_precision(median, low, high, text):
    """Issue 21: "0.3–5" beside "0.3–4.0", "10,952.9" beside "27,231"."""
    assert fmt_median_range(median, low, high) == text


def test_counts_and_ticks_carry_thousands_separators():
    """Issue 21, finding 13: counts of 1,000 or more with separators in prose, tables and
    figure labels alike (they all call fmt_count / fmt_tick)."""
    from analysis.report.formatting import fmt_count, fmt_signed, fmt_tick

    assert fmt_count(999) == "999" and fmt_count(1000) == "1,000" and fmt_count(27231.0) == "27,231"
    assert fmt_count(None) == NOT_ESTIMABLE and fmt_count(2.5) == "2.5"
    assert fmt_tick(0.25) == "0.25" and fmt_tick(1095) == "1,095" and fmt_tick(7.0) == "7"
    assert fmt_signed(-4900, 0) == "−4,900"


def test_a_limit_next_to_1_shows_on_which_side_of_1_it_lies():
    """Review 28: "HR 0.57 (95% CI 0.32–1.00)" was listed among the intervals that exclude 1
    (its limit 0.998), while "0.63 (0.39–1.00)" (limit 1.0004) was not: both printed "1.00"."""
    from analysis.report.formatting import fmt_ci, fmt_ratio_ci

    assert fmt_ratio_ci("HR", 0.57, 0.32, 0.998) == "HR 0.570 (95% CI 0.320–0.998)"
    assert fmt_hr_ci(0.63, 0.39, 1.0041) == "0.630 (0.390–1.004)"
    assert fmt_ci(0.5, 1.0) == "0.50–1.00"  # exactly 1 (a reference, a bound): no extra digit
    assert fmt_ratio_ci("HR", 0.998, 0.5, 2.0) == "HR 1.00 (95% CI 0.50–2.00)"  # the estimate is not a limit
    assert fmt_hr_ci(1.41, 0.53, 3.72) == "1.41 (0.53–3.72)"


def test_an_estimate_and_its_interval_in_a_table_cell_share_one_precision():
    """Review 29, finding 15: Table 3 printed "0.63 (0.392–1.001)" and Table 4 "1.01 | 0.996–1.018"
    (the estimate at two decimals, its interval at three); one rule (RATIO_RULE) for all three."""
    from types import SimpleNamespace as HR

    from analysis.report.formatting import ratio_decimals
    from analysis.report.tables import _hr_cell, _hr_cells, _hr_ci

    assert ratio_decimals(0.63, 0.392, 1.001) == 3 and ratio_decimals(1.41, 0.53, 3.72) == 2
    near = HR(hr=0.63, ci_low=0.392, ci_high=1.001, p=0.05)
    assert _hr_cell(near) == _hr_ci(near) == _hr_cells(near)[0] == "0.630 (0.392–1.001)"
    assert _hr_cell(HR(hr=1.41, ci_low=0.53, ci_high=3.72)) == "1.41 (0.53–3.72)"
