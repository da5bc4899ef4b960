"""Effect sizes (analysis.estimators.effects) against R output and hand calculations.

Every R value below was computed with R 4.x (survival 3.5-3) on this machine; the
call and what R printed (options(digits = 15)) are written next to it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.estimators.effects import (
    REFERENCE_LEVELS,
    compared_levels,
    detectable_hazard_ratio,
    detectable_hazard_ratio_for,
    fisher_odds_ratio,
    newcombe_difference,
    response_effect,
    univariable_cox,
    wilson_interval,
)
from analysis.registry.groups import GROUPINGS

REF = Path(__file__).parent / "reference"
TOL = 1e-6


def close(a, b, tol=TOL):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


# --------------------------------------------------------------------------- reference levels


def test_every_grouping_has_a_reference_level_that_is_one_of_its_levels():
    assert set(REFERENCE_LEVELS) == set(GROUPINGS)
    for name, grouping in GROUPINGS.items():
        assert REFERENCE_LEVELS[name] in grouping.keys
        assert len(compared_levels(name)) == len(grouping.levels) - 1
    # concurrent CRS + ICANS lists "both" first, but the comparison is against the others
    assert compared_levels("concurrent") == ("both",)


# --------------------------------------------------------------------------- Wilson, Newcombe


def test_wilson_interval_matches_r_prop_test():
    # R> prop.test(56, 70, correct = FALSE)$conf.int   ->  0.691833555037469 0.876952607516370
    low, high = wilson_interval(56, 70)
    assert close(low, 0.691833555037469) and close(high, 0.876952607516370)


# R> nc <- function(k1, n1, k2, n2) {
# R+   w1 <- prop.test(k1, n1, correct = FALSE)$conf.int; w2 <- prop.test(k2, n2, correct = FALSE)$conf.int
# R+   p1 <- k1/n1; p2 <- k2/n2; d <- p1 - p2
# R+   c(d, d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)) }
NEWCOMBE_R = [
    # R> nc(56, 70, 48, 80)
    ((56, 70, 48, 80), (0.2000000000000001, 0.0524314724023649, 0.3338726540369059)),
    # R> nc(9, 10, 3, 10)
    ((9, 10, 3, 10), (0.600000000000000, 0.170522723934503, 0.809017973535488)),
    # R> nc(0, 5, 7, 13)   (a zero count)
    ((0, 5, 7, 13), (-0.5384615384615384, -0.7679393219046169, -0.0386659183021764)),
    # R> nc(76, 76, 14, 17)   (a group where everyone responded)
    ((76, 76, 14, 17), (0.1764705882352942, 0.0522178003686493, 0.4102945856883412)),
    # R> nc(12, 17, 5, 14)
    ((12, 17, 5, 14), (0.348739495798319366, 0.000308938971544881, 0.600813649247715631)),
]


@pytest.mark.parametrize("counts, expected", NEWCOMBE_R)
def test_newcombe_hybrid_score_matches_r(counts, expected):
    res = newcombe_difference(*counts)
    assert (res.difference, res.ci_low, res.ci_high) == pytest.approx(expected, abs=1e-12)
    assert res.reason is None


def test_newcombe_matches_newcombe_1998_table_ii():
    # Newcombe (1998) Stat Med 17:873, Table II, example (a) 56/70 - 48/80, method 10: 0.0524 to 0.3339
    res = newcombe_difference(56, 70, 48, 80)
    assert round(res.ci_low, 4) == 0.0524 and round(res.ci_high, 4) == 0.3339


def test_newcombe_empty_group_is_none_with_reason():
    res = newcombe_difference(0, 0, 3, 10)
    assert res.difference is None and res.ci_low is None and "no patient" in res.reason


# --------------------------------------------------------------------------- fisher.test odds ratio


# R> f <- fisher.test(matrix(c(a, c, b, d), 2)); cat(f$estimate, f$conf.int)
FISHER_R = [
    # R> fisher.test(matrix(c(12,5,3,9),2))    6.6542010967762 1.07613722151707 55.7129594443812
    ([[12, 3], [5, 9]], (6.6542010967762, 1.07613722151707, 55.7129594443812)),
    # R> fisher.test(matrix(c(30,12,41,10),2)) 0.613071992581251 0.206735356905488 1.78005819544013
    ([[30, 41], [12, 10]], (0.613071992581251, 0.206735356905488, 1.78005819544013)),
    # R> fisher.test(matrix(c(86,7,40,7),2))   2.13732678451671 0.595845959564026 7.67846712839723
    ([[86, 40], [7, 7]], (2.13732678451671, 0.595845959564026, 7.67846712839723)),
    # R> fisher.test(matrix(c(1,1,1,1),2))     1 0.00641299089985111 155.933481836567
    ([[1, 1], [1, 1]], (1.0, 0.00641299089985111, 155.933481836567)),
    # R> fisher.test(matrix(c(200,150,180,260),2))  1.92431605016448 1.43450737469898 2.58598974567764
    ([[200, 180], [150, 260]], (1.92431605016448, 1.43450737469898, 2.58598974567764)),
    # R> fisher.test(matrix(c(76,10,17,0),2))  0 0 2.23476078807182   (zero cell: estimate 0)
    ([[76, 17], [10, 0]], (0.0, 0.0, 2.23476078807182)),
    # R> fisher.test(matrix(c(0,7,5,6),2))     0 0 1.43908178986538
    ([[0, 5], [7, 6]], (0.0, 0.0, 1.43908178986538)),
]


@pytest.mark.parametrize("table, expected", FISHER_R)
def test_conditional_odds_ratio_and_exact_ci_match_r_fisher_test(table, expected):
    res = fisher_odds_ratio(table)
    for got, want in zip((res.odds_ratio, res.ci_low, res.ci_high), expected):
        assert close(got, want), (got, want)


def test_scipy_conditional_odds_ratio_is_not_r_fisher_test():
    """Why fisher_odds_ratio ports R's uniroot: SciPy's exact root differs from R at 1e-5."""
    from scipy.stats.contingency import odds_ratio

    scipy_estimate = odds_ratio([[12, 3], [5, 9]], kind="conditional").statistic
    assert abs(scipy_estimate - 6.6542010967762) > 1e-5
    assert abs(fisher_odds_ratio([[12, 3], [5, 9]]).odds_ratio - 6.6542010967762) < 1e-9


def test_infinite_odds_ratio_is_none_with_reasons():
    # R> fisher.test(matrix(c(5,0,3,9),2))   Inf 1.51311643141717 Inf
    res = fisher_odds_ratio([[5, 3], [0, 9]])
    assert res.odds_ratio is None and "infinite" in res.reason
    assert close(res.ci_low, 1.51311643141717)
    assert res.ci_high is None and "infinite" in res.ci_reason


def test_odds_ratio_of_empty_margin_is_none():
    res = fisher_odds_ratio([[0, 0], [3, 4]])
    assert res.odds_ratio is None and res.ci_low is None and "empty" in res.reason


def test_response_effect_reads_exposed_versus_reference():
    # concurrent: "both" (exposed) vs "others" (reference), although "both" is listed first
    g = GROUPINGS["concurrent"]
    keys = ["both"] * 17 + ["others"] * 14
    cr = [True] * 12 + [False] * 5 + [True] * 5 + [False] * 9
    df = pd.DataFrame({g.column: pd.Categorical(keys, categories=list(g.keys)), "cr_response": cr})  # prepared
    res = response_effect(df, "cr", "concurrent")
    assert (res.level, res.reference, res.events, res.n, res.reference_events, res.reference_n) == (
        "both",
        "others",
        12,
        17,
        5,
        14,
    )
    # R> nc(12, 17, 5, 14)  (see NEWCOMBE_R)
    assert close(res.difference.difference, 0.348739495798319366)
    assert close(res.difference.ci_low, 0.000308938971544881)
    # R> fisher.test(matrix(c(12, 5, 5, 9), 2))   (rows: both, others; columns: CR yes, no)
    #    4.1022098907924 0.768329673260371 25.5973714749175
    assert close(res.odds_ratio.odds_ratio, 4.1022098907924)
    assert close(res.odds_ratio.ci_low, 0.768329673260371) and close(res.odds_ratio.ci_high, 25.5973714749175)
    assert response_effect(df.assign(**{GROUPINGS["severity"].column: "none"}), "cr", "severity") is None


# --------------------------------------------------------------------------- univariable Cox


def _reference_cohort() -> pd.DataFrame:
    s = pd.read_csv(REF / "synthetic_cohort.csv")
    s["os_event"] = s["os_event"].astype(bool)
    s["lfs_event"] = s["lfs_event"].astype("boolean")
    s[GROUPINGS["severity"].column] = pd.Categorical(s["grp_severity"], categories=list(GROUPINGS["severity"].keys))
    for name in ("steroids", "tocilizumab"):
        s[GROUPINGS[name].column] = pd.Categorical(
            s[name].map({0: "no", 1: "yes"}), categories=list(GROUPINGS[name].keys)
        )
    return s


# R> s <- read.csv("tests/reference/synthetic_cohort.csv")
# R> s$grp_severity <- factor(s$grp_severity, c("none", "severe", "other"))
# R> fit <- coxph(<formula>, data = s)      # ties = "efron", the default
# R> cbind(coef(fit), sqrt(diag(vcov(fit))), summary(fit)$conf.int[, c(1, 3, 4)], summary(fit)$coefficients[, 5])
UNIVARIABLE_R = {
    # Surv(os_months, os_event) ~ grp_severity          n 93, events 68
    ("os", "severity"): (
        93,
        68,
        {
            "severe": (
                1.069765421125212,
                0.332595322300784,
                2.91469569374070,
                1.51875446495305,
                5.59369613927236,
                0.00129801839560155,
            ),
            "other": (
                0.592398651638125,
                0.301332301634574,
                1.80832074896793,
                1.00179981077444,
                3.26414908046353,
                0.04930652845101197,
            ),
        },
    ),
    # Surv(lfs_months, lfs_event) ~ grp_severity        n 77, events 62
    ("lfs", "severity"): (
        77,
        62,
        {
            "severe": (
                1.022841072531851,
                0.350139252329533,
                2.78108481422904,
                1.400151924722021,
                5.52399536605353,
                0.00348640235856678,
            ),
            "other": (
                0.569604307371473,
                0.318897897162349,
                1.76756749960909,
                0.946083842130762,
                3.30234459837918,
                0.07407252346312215,
            ),
        },
    ),
    # Surv(os_months, os_event) ~ steroids              n 93, events 68
    ("os", "steroids"): (
        93,
        68,
        {
            "yes": (
                0.299180292198186,
                0.25562882369362,
                1.34875277115536,
                0.817223225470312,
                2.22599405034328,
                0.241852125374298,
            ),
        },
    ),
    # Surv(lfs_months, lfs_event) ~ tocilizumab         n 77, events 62
    ("lfs", "tocilizumab"): (
        77,
        62,
        {
            "yes": (
                -0.375336223154848,
                0.269181062688067,
                0.687058235064666,
                0.405383635800059,
                1.16445010770734,
                0.163207893001725,
            ),
        },
    ),
}


@pytest.mark.parametrize("key", list(UNIVARIABLE_R))
def test_univariable_cox_matches_r_coxph_efron(key):
    endpoint, grouping = key
    n, events, expected = UNIVARIABLE_R[key]
    res = univariable_cox(_reference_cohort(), endpoint, grouping)
    assert (res.n, res.events, res.reason) == (n, events, None)
    # in the order of the grouping's levels (severity: grade 1–2 before grade ≥3)
    assert [hr.level for hr in res.hazard_ratios] == [k for k in GROUPINGS[grouping].keys if k in expected]
    for hr in res.hazard_ratios:
        for got, want in zip((hr.coef, hr.se, hr.hr, hr.ci_low, hr.ci_high, hr.p), expected[hr.level]):
            assert close(got, want), (hr.level, got, want)


def test_univariable_cox_degenerate_cases_give_reasons():
    s = _reference_cohort()
    # a level without patients is left out (R: NA), the others are still estimated
    no_severe = s[s["grp_severity"] != "severe"]
    res = univariable_cox(no_severe, "os", "severity")
    by_level = {hr.level: hr for hr in res.hazard_ratios}
    assert by_level["severe"].hr is None and "no patient" in by_level["severe"].reason
    assert by_level["other"].hr is not None
    # no reference patient
    res = univariable_cox(s[s["grp_severity"] != "none"], "os", "severity")
    assert all(hr.hr is None for hr in res.hazard_ratios) and "reference" in res.reason
    # no event
    res = univariable_cox(s.assign(os_event=False), "os", "steroids")
    assert res.hazard_ratios[0].hr is None and "no event" in res.reason
    # a group without events: monotone likelihood, R warns "coefficient may be infinite"
    sep = s.copy()
    sep.loc[sep["steroids"] == 1, "os_event"] = False
    res = univariable_cox(sep, "os", "steroids")
    assert res.hazard_ratios[0].hr is None and "infinite" in res.reason and "Steroids" in res.reason


# --------------------------------------------------------------------------- Schoenfeld


def test_detectable_hazard_ratio_matches_hand_calculation_and_r():
    # hand: z = 1.959964 + 0.841621 = 2.801585; d p (1 - p) = 68 * 0.21 = 14.28;
    # log HR = 2.801585 / 3.778889 = 0.741378; HR = exp(-0.741378) = 0.476457
    # R> exp(-(qnorm(0.975) + qnorm(0.8)) / sqrt(68 * 0.3 * 0.7))   ->  0.476456873486843
    res = detectable_hazard_ratio(68, 0.3, alpha=0.05)
    assert close(res.hr_below, 0.476456873486843)
    assert round(res.hr_below, 6) == 0.476457
    assert close(res.hr_above, 1 / 0.476456873486843)
    assert (res.events, res.proportion, res.alpha, res.power, res.reason) == (68, 0.3, 0.05, 0.8, None)
    # R> exp(-(qnorm(0.975) + qnorm(0.8)) / sqrt(87 * (76/93) * (17/93)))  ->  0.459721693373554
    assert close(detectable_hazard_ratio(87, 76 / 93, alpha=0.05).hr_below, 0.459721693373554)


def test_detectable_hazard_ratio_without_events_or_split_is_none():
    assert detectable_hazard_ratio(0, 0.5, alpha=0.05).hr_below is None
    res = detectable_hazard_ratio(10, 1.0, alpha=0.05)
    assert res.hr_below is None and res.hr_above is None and "empty" in res.reason


def test_detectable_hazard_ratio_for_reads_events_and_split():
    s = _reference_cohort()
    res = detectable_hazard_ratio_for(s, "os", "steroids", alpha=0.05)
    share = float((s["steroids"] == 0).mean())
    assert res.events == 68 and math.isclose(res.proportion, share)
    assert close(res.hr_below, detectable_hazard_ratio(68, share, alpha=0.05).hr_below)
    with pytest.raises(ValueError):
        detectable_hazard_ratio_for(s, "os", "severity", alpha=0.05)


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_intervals_contain_their_estimates_and_stay_in_range(n1, n2, data):
    k1 = data.draw(st.integers(0, n1))
    k2 = data.draw(st.integers(0, n2))
    d = newcombe_difference(k1, n1, k2, n2)
    assert -1 <= d.ci_low <= d.difference <= d.ci_high <= 1
    o = fisher_odds_ratio([[k1, n1 - k1], [k2, n2 - k2]])
    if o.odds_ratio is not None:
        assert o.ci_low <= o.odds_ratio * (1 + 1e-9)
        assert o.ci_high is None or o.odds_ratio <= o.ci_high * (1 + 1e-9)
    else:
        assert o.reason
    # swapping the groups inverts the odds ratio (R: fisher.test(m[2:1, ])$estimate == 1 / estimate)
    swapped = fisher_odds_ratio([[k2, n2 - k2], [k1, n1 - k1]])
    if o.odds_ratio and swapped.odds_ratio:
        assert math.isclose(o.odds_ratio * swapped.odds_ratio, 1, rel_tol=1e-3)  # both carry uniroot's 1e-4 error
