"""Absolute differences in Kaplan–Meier survival at fixed times (STROBE 16c) against R.

R references come from ``tests/reference/r_absolute.R`` (R 4.x, survival 3.x): ``surv`` and
``std.err`` of ``summary(survfit(...), times = ..., extend = TRUE)`` (std.err on the survival
scale: Greenwood), the difference's standard error ``sqrt(se1^2 + se2^2)``, and its 95% CI by
Newcombe's hybrid construction with each curve's log-log interval (``mover()`` of the script:
``L = D - sqrt((S1 - l1)^2 + (u2 - S2)^2)``, ``U = D + sqrt((u1 - S1)^2 + (S2 - l2)^2)``,
``(l, u)`` from ``survfit(..., conf.type = "log-log")``).
Each literal is preceded by the R call and what R printed.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.absolute import (
    BEYOND_FOLLOWUP,
    NO_EVENT,
    NO_PATIENT,
    SURVIVAL_ZERO,
    difference_of,
    survival_at,
    survival_differences,
)
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort
from tests.conftest import report_parameter

ROOT = Path(__file__).resolve().parents[1]
REF = Path(__file__).parent / "reference"
TOL = 1e-9


@pytest.fixture(scope="module")
def cohort():
    return prepare_cohort(
        load_study(ROOT / "data" / "cohort.csv", ROOT / "data" / "kinetics.csv", report_parameter("cutoff")).cohort
    )


# difference("OS by CRS", survfit(Surv(os_months, os_event) ~ crs, data = d), c(12, 24), "=yes", "=no")
#    strata time n.risk         surv       std.err
# 1  crs=no   12      9 0.5647058824 0.12387659237
# 2  crs=no   24      4 0.4183006536 0.12916155421
# 3 crs=yes   12     44 0.6494470508 0.05683862090
# 4 crs=yes   24     27 0.5320538015 0.06159021147
# t=12 difference 0.0847411685 se 0.1362939432 (Wald ci -0.1823900516 0.3518723885)
# t=24 difference 0.1137531479 se 0.1430945884 (Wald ci -0.1667070918 0.3942133876)
# mover("OS by CRS", survfit(Surv(os_months, os_event) ~ crs, data = d, conf.type = "log-log"), ...)
#    strata time surv std.err lower upper
# 1  crs=no   12 0.5647058824 0.12387659237 0.2974106307 0.7639196996
# 2  crs=no   24 0.4183006536 0.12916155421 0.1745991646 0.6471094090
# 3 crs=yes   12 0.6494470508 0.05683862090 0.5261058896 0.7481999830
# 4 crs=yes   24 0.5320538015 0.06159021147 0.4049282424 0.6437554577
# t=12 difference 0.0847411685 ci -0.1495645869 0.3696953633
# t=24 difference 0.1137531479 ci -0.1479993197 0.3818346201
OS_BY_CRS = {
    ("no", 12.0): (9, 0.5647058824, 0.12387659237),
    ("no", 24.0): (4, 0.4183006536, 0.12916155421),
    ("yes", 12.0): (44, 0.6494470508, 0.05683862090),
    ("yes", 24.0): (27, 0.5320538015, 0.06159021147),
}
OS_BY_CRS_DIFF = {
    12.0: (0.0847411685, 0.1362939432, -0.1495645869, 0.3696953633),
    24.0: (0.1137531479, 0.1430945884, -0.1479993197, 0.3818346201),
}
# difference("LFS by ICANS", survfit(Surv(lfs_months, lfs_event) ~ icans, data = cr), ...)
#     strata time n.risk         surv       std.err
# 1  icans=no   12     23 0.3865636748 0.06011416551
# 2  icans=no   24      7 0.1654450510 0.05188847060
# 3 icans=yes   12      3 0.2571428571 0.12293779982
# 4 icans=yes   24      1 0.1714285714 0.10777365332
# t=12 difference -0.1294208177 se 0.1368481477 (Wald ci -0.3976382584 0.1387966231)
# t=24 difference 0.0059835204 se 0.1196142706 (Wald ci -0.2284561420 0.2404231828)
# mover("LFS by ICANS", survfit(Surv(lfs_months, lfs_event) ~ icans, data = cr, conf.type = "log-log"), ...)
#      strata time surv std.err lower upper
# 1  icans=no   12 0.3865636748 0.06011416551 0.26987613390 0.5017234905
# 2  icans=no   24 0.1654450510 0.05188847060 0.07950885334 0.2784764962
# 3 icans=yes   12 0.2571428571 0.12293779982 0.06669762723 0.5059922453
# 4 icans=yes   24 0.1714285714 0.10777365332 0.02881793531 0.4160597985
# t=12 difference -0.1294208177 ci -0.3519768078 0.1454282321
# t=24 difference 0.0059835204 ci -0.1759887333 0.2652699784
LFS_BY_ICANS = {
    ("no", 12.0): (23, 0.3865636748, 0.06011416551),
    ("no", 24.0): (7, 0.1654450510, 0.05188847060),
    ("yes", 12.0): (3, 0.2571428571, 0.12293779982),
    ("yes", 24.0): (1, 0.1714285714, 0.10777365332),
}
LFS_BY_ICANS_DIFF = {
    12.0: (-0.1294208177, 0.1368481477, -0.3519768078, 0.1454282321),
    24.0: (0.0059835204, 0.1196142706, -0.1759887333, 0.2652699784),
}


@pytest.mark.parametrize(
    "endpoint, grouping, levels, diffs",
    [("os", "crs", OS_BY_CRS, OS_BY_CRS_DIFF), ("lfs", "icans", LFS_BY_ICANS, LFS_BY_ICANS_DIFF)],
)
def test_demo_differences_match_r(cohort, endpoint, grouping, levels, diffs):
    result = survival_differences(cohort, endpoint, grouping, (12, 24))
    assert result.reference == "no"
    for key, (n_risk, surv, se) in levels.items():
        got = result.at[key]
        assert got.n_at_risk == n_risk
        assert got.survival == pytest.approx(surv, abs=TOL)
        assert got.se == pytest.approx(se, abs=TOL)
    for months, (diff, se, low, high) in diffs.items():
        got = result.differences[("yes", months)]
        assert (got.difference, got.se, got.ci_low, got.ci_high) == pytest.approx((diff, se, low, high), abs=TOL)
        assert got.reason is None


def _aml(arm):
    aml = pd.read_csv(REF / "aml.csv")  # survival::aml (weeks)
    aml = aml[aml["x"] == arm]
    return aml["time"].to_numpy(), aml["status"].to_numpy()


def test_aml_at_three_times_and_a_curve_at_zero():
    """difference("AML", survfit(Surv(time, status) ~ x, data = aml), c(12, 30, 50), ...)
                 strata time n.risk         surv      std.err
    1    x=Maintained   12     10 0.9090909091 0.0866784172
    2    x=Maintained   30      5 0.6136363636 0.1526323310
    3    x=Maintained   50      1 0.1840909091 0.1534927458
    4 x=Nonmaintained   12      8 0.5833333333 0.1423187606
    5 x=Nonmaintained   30      4 0.2916666667 0.1387151691
    6 x=Nonmaintained   50      0 0.0000000000          NaN
    t=12 difference 0.3257575758 se 0.1666366635 (Wald ci -0.0008442833 0.6523594348)
    t=30 difference 0.3219696970 se 0.2062487009 (Wald ci -0.0822703287 0.7262097226)
    t=50 difference 0.1840909091 se NaN ci NaN NaN
    mover("AML", survfit(Surv(time, status) ~ x, data = aml, conf.type = "log-log"), c(12, 30), ...)
                 strata time surv std.err lower upper
    1    x=Maintained   12 0.9090909091 0.0866784172 0.50808020577 0.9866738227
    3 x=Nonmaintained   12 0.5833333333 0.1423187606 0.27013892409 0.8009401923
    t=12 difference 0.3257575758 ci -0.1304905248 0.6484181505
    t=30 difference 0.3219696970 ci -0.1179195850 0.6337574417"""
    expected = {
        12: ((10, 0.9090909091, 0.0866784172), (8, 0.5833333333, 0.1423187606)),
        30: ((5, 0.6136363636, 0.1526323310), (4, 0.2916666667, 0.1387151691)),
    }
    for t, (m, n) in expected.items():
        a = survival_at(*_aml("Maintained"), t, "m", "Maintained")
        b = survival_at(*_aml("Nonmaintained"), t, "n", "Nonmaintained")
        assert (a.n_at_risk, a.survival, a.se) == pytest.approx(m, abs=TOL)
        assert (b.n_at_risk, b.survival, b.se) == pytest.approx(n, abs=TOL)
        # R summary()$lower: conf.type "log", surv * exp(-qnorm(0.975) * std.err / surv)
        assert a.ci_low == pytest.approx(m[1] * np.exp(-1.959963984540054 * m[2] / m[1]), abs=TOL)
    d12 = difference_of(survival_at(*_aml("Maintained"), 12), survival_at(*_aml("Nonmaintained"), 12), 12)
    assert (d12.difference, d12.se, d12.ci_low, d12.ci_high) == pytest.approx(
        (0.3257575758, 0.1666366635, -0.1304905248, 0.6484181505), abs=TOL
    )
    d30 = difference_of(survival_at(*_aml("Maintained"), 30), survival_at(*_aml("Nonmaintained"), 30), 30)
    assert (d30.ci_low, d30.ci_high) == pytest.approx((-0.1179195850, 0.6337574417), abs=TOL)
    # the nonmaintained curve reached 0 at 45 weeks: 0 at 50 (R: surv 0, std.err NaN), so the
    # difference is a number and its CI is not estimable (R: NaN), with the reason in words
    zero = survival_at(*_aml("Nonmaintained"), 50, "n", "Nonmaintained")
    assert zero.survival == 0.0 and zero.se is None and zero.reason == SURVIVAL_ZERO
    d50 = difference_of(survival_at(*_aml("Maintained"), 50, "m", "Maintained"), zero, 50)
    assert d50.difference == pytest.approx(0.1840909091, abs=TOL)
    assert d50.ci_low is None and d50.ci_high is None and "Nonmaintained" in d50.reason


def test_beyond_last_follow_up_is_not_estimable():
    """The maintained arm's last follow-up is 161+ weeks; at 170 R's summary(fit, times = 170)
    stops: "no points selected for one or more curves, consider using the extend argument"
    (with extend = TRUE it carries the last value forward with 0 at risk): no number here."""
    beyond = survival_at(*_aml("Maintained"), 170, "m", "Maintained")
    assert beyond.survival is None and beyond.n_at_risk == 0
    assert beyond.reason == BEYOND_FOLLOWUP.format(months=170, last=161)
    d = difference_of(beyond, survival_at(*_aml("Nonmaintained"), 170, "n", "Nonmaintained"), 170)
    assert d.difference is None and d.reason.startswith("Maintained: no patient at risk at 170 months")


def test_empty_group_and_no_event():
    empty = survival_at(np.array([]), np.array([], dtype=bool), 12, "yes", "CRS")
    assert empty.survival is None and empty.reason == NO_PATIENT
    # no event before 12 months: S = 1 with standard error 0 (R: surv 1, std.err 0)
    flat = survival_at(np.array([13.0, 20.0, 5.0]), np.array([False, True, False]), 12)
    assert (flat.survival, flat.se, flat.n_at_risk) == (1.0, 0.0, 2)
    d = difference_of(empty, flat, 12)
    assert d.difference is None and d.reason == f"CRS: {NO_PATIENT}"
    # against a group with events, the difference is given; its CI is not (R would print the other
    # group's interval alone: std.err 0 here), and the reason says why
    other = survival_at(*_aml("Nonmaintained"), 12, "n", "Nonmaintained")
    d = difference_of(
        survival_at(np.array([13.0, 20.0, 5.0]), np.array([False, True, False]), 12, "f", "Flat"), other, 12
    )
    assert d.difference == pytest.approx(1 - 0.5833333333, abs=TOL)
    assert d.ci_low is None and d.reason == f"Flat: {NO_EVENT.format(months=12)}"


def test_every_level_against_the_reference(cohort):
    result = survival_differences(cohort, "os", "severity", (12, 24))
    assert result.reference == "none"
    assert set(result.differences) == {("severe", 12.0), ("other", 12.0), ("severe", 24.0), ("other", 24.0)}
    for (level, t), d in result.differences.items():
        a, b = result.at[(level, t)], result.at[("none", t)]
        assert d.difference == pytest.approx(a.survival - b.survival)
        assert d.ci_low < d.difference < d.ci_high


def test_the_curves_ci_is_rs_log_ci():
    """print(summary(survfit(Surv(time, status) ~ x, data = aml), times = 12)[c("surv", "lower", "upper")])
    $lower [1] 0.7541338451 0.3616137052   $upper [1] 1.0000000000 0.9409980122"""
    m = survival_at(*_aml("Maintained"), 12)
    n = survival_at(*_aml("Nonmaintained"), 12)
    assert (m.ci_low, m.ci_high, n.ci_low, n.ci_high) == pytest.approx(
        (0.7541338451, 1.0, 0.3616137052, 0.9409980122), abs=1e-9
    )


def test_the_sentence_and_the_table_say_what_is_not_estimable(bundled_results, cohort):
    """Follow-up of the patients without CRS cut at 20 months: their 24-month survival, and with it
    the difference, is not estimable, and the sentence and the table say so (no number)."""
    import dataclasses

    from analysis.report import tables
    from analysis.report.narrative import Narrative

    short = cohort.copy()
    no_crs = short["crs_any"] == False  # noqa: E712 (a boolean column)
    short.loc[no_crs, "os_event"] = short.loc[no_crs, "os_event"] & (short.loc[no_crs, "os_months"] <= 20)
    short.loc[no_crs, "os_months"] = short.loc[no_crs, "os_months"].clip(upper=20)
    last = short.loc[no_crs, "os_months"].max()
    differences = {**bundled_results.survival_differences, ("os", "crs"): survival_differences(short, "os", "crs")}
    text = Narrative(dataclasses.replace(bundled_results, survival_differences=differences))
    sentence = text.survival_difference("os", "crs")
    assert sentence.startswith("OS at 24 months was ")
    assert f"not estimable (no patient at risk at 24 months (last follow-up {last:.1f} months)) without" in sentence
    assert sentence.endswith(
        f"their difference is not estimable (No CRS: no patient at risk at 24 months (last follow-up {last:.1f} months))"
    )
    twelve = text.survival_difference("os", "crs", 12)  # still estimable at 12 months
    assert "a difference of " in twelve and "percentage points (95% CI " in twelve
    table = tables.survival_difference_table(differences, groupings=("crs",), endpoints=("os",)).markdown
    assert "| NE | Reference |" in table  # the reference group at 24 months
    assert "Overall survival, CRS, CRS at 24 months: No CRS: no patient at risk at 24 months" in table
    with pytest.raises(Exception, match="survival_times_months"):
        text.survival_difference("os", "crs", 36)


def test_a_difference_is_of_the_unrounded_estimates_and_the_documents_say_so(bundled_results):
    """Review 29, finding 32: "49.3% and 40.9%, a difference of +8.3" (the printed values give
    8.4). The difference is of the unrounded Kaplan–Meier estimates (recomputed here from the
    two survival values, not from the difference field), and the table and the Methods state
    the rule once (the registry's sentence)."""
    from analysis.registry.concepts import ROUNDING_RULE
    from analysis.report import tables
    from analysis.report.narrative import Narrative

    text = Narrative(bundled_results)
    result = bundled_results.survival_differences[("os", "crs")]
    for (level, t), d in result.differences.items():
        if d.difference is None:
            continue
        mine = 100 * (result.at[(level, t)].survival - result.at[(result.reference, t)].survival)
        assert abs(mine - 100 * d.difference) < 1e-9
    assert "unrounded" in ROUNDING_RULE
    table = tables.survival_difference_table(bundled_results.survival_differences, endpoints=("os",)).markdown
    assert "Differences used unrounded estimates, so one can differ by 0.1 from the difference of the printed" in table
    assert text.rounding_rule.startswith(ROUNDING_RULE)
    methods = (Path(__file__).parents[1] / "sections" / "_methods.qmd").read_text(encoding="utf-8")
    assert "`{python} text.rounding_rule`" in methods


# print(summary(survfit(Surv(os_months, os_event) ~ 1, data = d), times = c(12, 24))[c("surv", "lower", "upper")])
#   surv 0.6339362658 0.5110140969; lower 0.5401539748 0.4126035354; upper 0.7440011698 0.6328966789
# the same for LFS, data = cr (patients in CR):
#   surv 0.3662248314 0.1618449141; lower 0.27383583484 0.09141279868; upper 0.4897847911 0.2865438603
R_OVERALL = {
    "os": ((0.6339362658, 0.5401539748, 0.7440011698), (0.5110140969, 0.4126035354, 0.6328966789)),
    "lfs": ((0.3662248314, 0.27383583484, 0.4897847911), (0.1618449141, 0.09141279868, 0.2865438603)),
}


@pytest.mark.parametrize("endpoint", ["os", "lfs"])
def test_overall_survival_at_the_plans_times_matches_r(cohort, endpoint):
    """Review 29 (STROBE 16c): the Results quote each endpoint at each of the plan's times."""
    from analysis.estimators.absolute import overall_survival_at

    points = overall_survival_at(cohort, endpoint, (12, 24))
    for s, (surv, low, high) in zip(points, R_OVERALL[endpoint]):
        assert (s.survival, s.ci_low, s.ci_high) == pytest.approx((surv, low, high), abs=1e-9)


def test_the_results_quote_every_endpoint_at_every_plan_time(bundled_results):
    """The sentence of the Results, from the plan's times (the demo: 12 and 24 months)."""
    from analysis.report.narrative import Narrative

    text = Narrative(bundled_results)
    assert text.plan_times == "12 and 24 months"
    for endpoint in ("os", "lfs", "efs"):
        assert len(bundled_results.survival_at_times[endpoint]) == 2
        assert text.survival_at_times(endpoint).count("95% CI") == 2
    assert text.survival_at_times("os") == "63.4% (95% CI 54.0–74.4%) and 51.1% (95% CI 41.3–63.3%)"
    differences = text.differences_at("crs")
    assert differences.startswith("+11.4 percentage points (95% CI −14.8 to 38.2) for OS")  # Newcombe/MOVER
    assert "for LFS" in differences and differences.endswith("for EFS")


# --------------------------------------------------------------------------- attack 29, 11
# A 13-patient subset of the demo (OS months and events by CRS, as the library computes them):
# the Wald interval of the 12-month difference was +31.8 (−41.1 to 104.8) points.
SMALL_MONTHS = [5.782341, 2.464066, 13.174538, 49.708419, 14.094456, 14.324435, 22.537988, 1.182752,
                24.542094, 12.845996, 16.854209, 16.558522, 16.657084]  # fmt: skip
SMALL_EVENTS = [True, True, True, False, False, False, False, True, True, False, True, True, False]
SMALL_CRS = [False, True, True, True, False, True, True, True, True, True, True, True, True]


def test_a_difference_interval_stays_within_100_points():
    """R (mover() of tests/reference/r_absolute.R, the same written-out construction):
    months <- c(5.782341, 2.464066, ...); event <- c(TRUE, TRUE, ...); crs <- factor(...)
    mover("13 patients, OS by CRS", survfit(Surv(months, event) ~ crs, conf.type = "log-log"), 12, "=yes", "=no")
       strata time surv std.err lower upper
    1  crs=no   12 0.5000000000 0.3535533906 0.005983087639 0.9104100848
    2 crs=yes   12 0.8181818182 0.1162912998 0.447428614682 0.9511622286
    t=12 difference 0.3181818182 ci -0.2348953696 0.8297837135"""
    months, events, crs = (np.array(x) for x in (SMALL_MONTHS, SMALL_EVENTS, SMALL_CRS))
    d = difference_of(survival_at(months[crs], events[crs], 12), survival_at(months[~crs], events[~crs], 12), 12)
    assert (d.difference, d.ci_low, d.ci_high) == pytest.approx((0.3181818182, -0.2348953696, 0.8297837135), abs=TOL)
    assert d.difference + 1.959963984540054 * d.se > 1  # the Wald limit it replaces: +104.8 points
    # the bound holds whatever the curves: every pair of estimates on a grid of survivals and errors
    rng = np.random.default_rng(29)
    for _ in range(2000):
        n = int(rng.integers(2, 15))
        a = survival_at(rng.uniform(0, 30, n), rng.random(n) < 0.6, 12)
        b = survival_at(rng.uniform(0, 30, n), rng.random(n) < 0.6, 12)
        got = difference_of(a, b, 12)
        if got.ci_low is not None:
            assert -1 <= got.ci_low <= got.difference <= got.ci_high <= 1


def test_a_group_without_an_event_is_worded_as_the_prose_words_it(cohort):
    """Supplementary Table S5 printed '100.0 (100.0–100.0)' for a group with no event by the time
    (a zero-width Greenwood interval); it now says what the prose says."""
    from analysis.report import tables

    s = survival_at(np.array([13.0, 20.0, 5.0]), np.array([False, True, False]), 12, "x", "X")
    assert (s.survival, s.se) == (1.0, 0.0)
    assert tables._survival_at_cell(s, 12.0) == "100.0 (no event by 12 months; 95% CI not estimable)"
    # in the table: no patient with CRS dies before 12 months
    quiet = cohort.copy()
    early = quiet["crs_any"].astype(bool) & quiet["os_event"].astype(bool) & (quiet["os_months"] <= 12)
    quiet.loc[early, "os_event"] = False
    table = tables.survival_difference_table(
        {("os", "crs"): survival_differences(quiet, "os", "crs")}, groupings=("crs",), endpoints=("os",)
    ).markdown
    assert "100.0 (no event by 12 months; 95% CI not estimable)" in table
    assert "100.0 (100.0–100.0)" not in table


# --------------------------------------------------------------------------- review 30, finding 5
# The per-group intervals printed beside a difference are those it is built from. R 4.x, survival 3.x,
# on the demo's OS by CRS (d: os_months, os_event, crs "yes"/"no"):
# R> s <- summary(survfit(Surv(os_months, os_event) ~ crs, data = d, conf.type = "log-log"), times = 24)
# R> data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk, surv = s$surv, std.err = s$std.err,
#               lower = s$lower, upper = s$upper)
#    strata time n.risk         surv       std.err        lower        upper
# 1  crs=no   24      4 0.4183006536 0.12916155421 0.1745991646 0.6471094090
# 2 crs=yes   24     27 0.5320538015 0.06159021147 0.4049282424 0.6437554577
# (the log-scale default, conf.type = "log", gives crs=no 0.2349... to 0.7443..., the old table's
# "41.8 (23.5–74.4)" beside a difference built from 17.5–64.7)
R_LOGLOG_24 = {"no": (0.4183006536, 0.1745991646, 0.6471094090), "yes": (0.5320538015, 0.4049282424, 0.6437554577)}


def test_the_group_intervals_beside_a_difference_are_the_ones_it_is_built_from(bundled_results, cohort):
    """Review 30, finding 5: Table S6 printed log-scale group intervals beside a difference built
    from log-log ones, and the supplement described the difference's interval both as a Wald one
    (sum of Greenwood variances) and as Newcombe's MOVER. The groups' intervals are now R's
    log-log ones, the footnote names that transform, and the method is one registry sentence."""
    from analysis.registry.concepts import SURVIVAL_DIFFERENCE_METHOD
    from analysis.report import tables
    from analysis.report.narrative import Narrative

    result = survival_differences(cohort, "os", "crs", (12, 24))
    for level, (surv, low, high) in R_LOGLOG_24.items():
        s = result.at[(level, 24.0)]
        assert s.transform == "log-log"
        assert (s.survival, s.ci_low, s.ci_high) == pytest.approx((surv, low, high), abs=TOL)
    d = result.differences[("yes", 24.0)]
    # the MOVER limits from exactly these printed intervals (R's numbers above)
    (s1, l1, u1), (s2, l2, u2) = R_LOGLOG_24["yes"], R_LOGLOG_24["no"]
    assert d.ci_low == pytest.approx(s1 - s2 - np.hypot(s1 - l1, u2 - s2), abs=1e-9)
    assert d.ci_high == pytest.approx(s1 - s2 + np.hypot(u1 - s1, s2 - l2), abs=1e-9)
    # the table and the sentence print them (hand-rounded from R)
    table = tables.survival_difference_table(
        bundled_results.survival_differences, groupings=("crs",), endpoints=("os",)
    )
    markdown = table.markdown
    assert "| 41.8 (17.5–64.7) | Reference |" in markdown and "53.2 (40.5–64.4)" in markdown
    assert "23.5–74.4" not in markdown
    assert "complementary log-log transformation" in markdown and "(log transformation)" not in markdown
    sentence = Narrative(bundled_results).survival_difference("os", "crs")
    assert sentence == (
        "OS at 24 months was 53.2% (95% CI 40.5–64.4%) with CRS and 41.8% (95% CI 17.5–64.7%) without, a "
        "difference of +11.4 percentage points (95% CI −14.8 to 38.2)"
    )
    # one description of the method: the registry's, in the supplement; no Wald description left
    section = (ROOT / "sections" / "_supp-absolute.qmd").read_text(encoding="utf-8")
    assert "`{python} text.survival_difference_method`" in section and "sum of their variances" not in section
    assert Narrative(bundled_results).survival_difference_method == SURVIVAL_DIFFERENCE_METHOD
    assert "Newcombe" in SURVIVAL_DIFFERENCE_METHOD and "variances" not in SURVIVAL_DIFFERENCE_METHOD
    # the overall survival at the plan's times keeps the survival tables' log interval
    assert bundled_results.survival_at_times["os"][0].transform == "log"
