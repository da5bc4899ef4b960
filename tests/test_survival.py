"""Kaplan-Meier, log-rank and reverse-KM follow-up against textbook values and R output.

R references come from ``tests/reference/r_reference.R`` (R 4.x, survival 3.5-3);
each literal below is preceded by the R call and what R printed.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.survival import compare_survival, kaplan_meier, median_followup

REF = Path(__file__).parent / "reference"
REL = 1e-7


def _gehan(arm):
    g = pd.read_csv(REF / "gehan.csv")  # MASS::gehan, Freireich 6-MP remission data (weeks)
    g = g[g["treat"] == arm]
    return g["time"].to_numpy(), g["cens"].to_numpy()


def _synthetic():
    s = pd.read_csv(REF / "synthetic_cohort.csv")
    s["grp_severity"] = pd.Categorical(s["grp_severity"], ["none", "severe", "other"], ordered=True)
    s["os_event"] = s["os_event"].astype(bool)
    return s


# --- Freireich 6-MP (Gehan 1965): textbook values and R's extra decimals ---------------


def test_gehan_medians_textbook_and_r():
    # Kleinbaum & Klein: KM median 23 weeks (6-MP), 8 weeks (placebo).
    # R> survfit(Surv(time, cens) ~ treat, data = gehan)
    #    treat=6-MP    21  9  23  16  NA
    #    treat=control 21 21   8   4  12
    mp = kaplan_meier(*_gehan("6-MP"), key="6mp", label="6-MP")
    assert (mp.n, mp.events) == (21, 9)
    assert (mp.median_months, mp.median_ci_low, mp.median_ci_high) == (23, 16, None)
    assert "upper" in mp.median_reason
    pl = kaplan_meier(*_gehan("control"))
    assert (pl.n, pl.events) == (21, 21)
    assert (pl.median_months, pl.median_ci_low, pl.median_ci_high) == (8, 4, 12)
    assert pl.median_reason is None


def test_gehan_landmarks_log_ci():
    # R> summary(survfit(Surv(time, cens) ~ treat, data = gehan), times = c(12, 24))
    #  6-MP  12: survival 0.75294118 lower 0.58591898 upper 0.96757475
    #        24: survival 0.44817927 lower 0.24878823 upper 0.80737205
    #  control 12: survival 0.190476190 lower 0.078870140 upper 0.460011598
    mp = kaplan_meier(*_gehan("6-MP"))
    lm = {x.months: x for x in mp.landmarks}
    assert (lm[12].survival, lm[12].ci_low, lm[12].ci_high) == pytest.approx(
        (0.75294118, 0.58591898, 0.96757475), abs=6e-9
    )
    assert (lm[24].survival, lm[24].ci_low, lm[24].ci_high) == pytest.approx(
        (0.44817927, 0.24878823, 0.80737205), abs=6e-9
    )
    # last 6-MP follow-up is 35 weeks: nothing at 36
    assert lm[36].survival is None and "36" in lm[36].reason
    pl = {x.months: x for x in kaplan_meier(*_gehan("control")).landmarks}
    assert (pl[12].survival, pl[12].ci_low, pl[12].ci_high) == pytest.approx(
        (0.190476190, 0.078870140, 0.460011598), abs=6e-10
    )
    # last placebo time is 23 weeks and every placebo patient had the event: the curve is 0
    # from then on, an estimate, not a gap (issue 21: "—" printed for an estimable 24-month 0)
    # R> summary(survfit(Surv(time, cens) ~ 1, data = gehan[gehan$treat == "control", ]),
    #            times = c(12, 24), extend = TRUE)
    #    24: survival 0 lower NA upper NA
    assert (pl[24].survival, pl[24].ci_low, pl[24].ci_high) == (0.0, None, None)


def test_upper_median_limit_not_reached_differs_from_not_estimable():
    """Issue 21: 'NR' printed as the upper limit where every patient had an event.
    R> f <- survfit(Surv(c(0.3, 1, 2, 5.6, 6, 8), rep(1, 6)) ~ 1); print(f)
         n events median 0.95LCL 0.95UCL
         6      6    3.8       1      NA      (the curve falls to 0: NA is "not estimable")
    R> survfit(Surv(c(0.3, 1, 2, 5.6, 6, 8), c(1, 1, 0, 1, 1, 0)) ~ 1)
         6      4    5.6       1      NA      (the curve ends above 0: the band stays above 50%)"""
    all_events = kaplan_meier(np.array([0.3, 1, 2, 5.6, 6, 8]), np.ones(6, bool))
    assert (all_events.median_months, all_events.median_ci_low, all_events.median_ci_high) == (3.8, 1, None)
    assert all_events.median_ci_high_not_estimable and "not estimable" in all_events.median_reason
    censored_last = kaplan_meier(np.array([0.3, 1, 2, 5.6, 6, 8]), np.array([1, 1, 0, 1, 1, 0], bool))
    assert (censored_last.median_months, censored_last.median_ci_low, censored_last.median_ci_high) == (5.6, 1, None)
    assert not censored_last.median_ci_high_not_estimable and "not reached" in censored_last.median_reason


def test_gehan_logrank():
    # Textbook: log-rank chi-square 16.8 on 1 df.
    # R> survdiff(Surv(time, cens) ~ treat, data = gehan)$chisq  ->  16.7929409892 ; p= 4.16881e-05
    g = pd.read_csv(REF / "gehan.csv")
    df = pd.DataFrame(
        {
            "os_months": g["time"].astype(float),
            "os_event": g["cens"].astype(bool),
            "grp_steroids": pd.Categorical(np.where(g["treat"] == "6-MP", "no", "yes"), ["no", "yes"]),
        }
    )
    res = compare_survival(df, "os", "steroids")
    assert round(res.logrank_chisq, 1) == 16.8
    assert res.logrank_chisq == pytest.approx(16.7929409892, rel=1e-10)
    assert res.df == 1
    assert res.logrank_p == pytest.approx(4.16881e-05, rel=1e-5)
    assert [lv.key for lv in res.levels] == ["no", "yes"]
    assert res.levels[0].median_months == 23 and res.levels[1].median_months == 8


# --- R survfit log CI, median and median CI ---------------------------------------------


def test_aml_log_ci_every_step():
    # R> summary(survfit(Surv(time, status) ~ 1, data = aml))   (first and last rows)
    #  time n.risk n.event survival    lower 95% CI upper 95% CI
    #     5     23       2 0.913043478 0.804854798  1.00000000
    #     8     21       2 0.826086957 0.684839468  0.99646661
    #     9     19       1 0.782608696 0.630957911  0.97070876
    #    48      2       1 0.082815735 0.014834608  0.46232741
    a = pd.read_csv(REF / "aml.csv")
    km = kaplan_meier(a["time"], a["status"])
    c = km.curve
    assert list(c.times[:4]) == [0, 5, 8, 9] and c.times[-1] == 48
    np.testing.assert_allclose(c.survival[1:4], [0.913043478, 0.826086957, 0.782608696], atol=6e-10)
    np.testing.assert_allclose(c.ci_low[1:4], [0.804854798, 0.684839468, 0.630957911], atol=6e-10)
    np.testing.assert_allclose(c.ci_high[1:4], [1.0, 0.99646661, 0.97070876], atol=6e-9)  # 1 = clipped
    np.testing.assert_allclose(
        [c.survival[-1], c.ci_low[-1], c.ci_high[-1]], [0.082815735, 0.014834608, 0.46232741], atol=6e-9
    )
    # R> print(survfit(Surv(time, status) ~ 1, data = aml)):  n 23 events 18 median 27 0.95LCL 18 0.95UCL 45
    assert (km.n, km.events, km.median_months, km.median_ci_low, km.median_ci_high) == (23, 18, 27, 18, 45)
    # censor marks: aml censored at 13, 16, 28, 45, 161; S there from the same summary
    np.testing.assert_allclose(c.censor_times, [13, 16, 28, 45, 161])
    np.testing.assert_allclose(
        c.censor_survival, [0.695652174, 0.695652174, 0.496894410, 0.165631470, 0.082815735], atol=6e-10
    )


def test_median_midpoint_when_curve_sits_at_half():
    # S(2) = 0.5 exactly -> R takes the midpoint of 2 and 3.
    # R> survfit(Surv(c(1,2,3,4), c(1,1,1,1)) ~ 1):  median 2.5  0.95LCL 1  0.95UCL NA
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert (km.median_months, km.median_ci_low, km.median_ci_high) == (2.5, 1, None)
    # S reaches 0 at t=4: R's CI is NA there; the curve holds 0 for drawing, never NaN
    assert km.curve.survival[-1] == 0 and not np.isnan(km.curve.ci_high).any()


def test_median_ci_midpoints_on_synthetic_cohort():
    # R> survfit(Surv(os_months, os_event) ~ 1, data = s):   n 93 events 68 median 11   LCL 8.5 UCL 14.5
    # R> (LFS, rows with lfs_months)                          n 77 events 62 median 7.5 LCL 5.5 UCL 9
    s = _synthetic()
    os_all = compare_survival(s, "os").levels[0]
    assert (os_all.n, os_all.events, os_all.median_months, os_all.median_ci_low, os_all.median_ci_high) == (
        93,
        68,
        11,
        8.5,
        14.5,
    )
    lfs_all = compare_survival(s, "lfs").levels[0]
    assert (lfs_all.n, lfs_all.events, lfs_all.median_months, lfs_all.median_ci_low, lfs_all.median_ci_high) == (
        77,
        62,
        7.5,
        5.5,
        9,
    )


# --- log-rank with 3 groups, numbers at risk ------------------------------------------


def test_three_group_logrank_lung():
    # R> l <- subset(lung, ph.ecog %in% 0:2); survdiff(Surv(time, status) ~ ph.ecog, data = l)$chisq
    #    18.0120966947 ; pchisq(., 2, lower.tail = FALSE) 0.000122665631501
    # R> survfit(Surv(time, status) ~ ph.ecog, data = l)
    #    ph.ecog=0  63 37 394 348 574 / ph.ecog=1 113 82 306 268 429 / ph.ecog=2 50 44 199 156 288
    lung = pd.read_csv(REF / "lung_ecog.csv")
    df = pd.DataFrame(
        {
            "os_months": lung["time"].astype(float),
            "os_event": lung["status"].astype(bool),
            "grp_crs_grade": pd.Categorical(
                lung["ph.ecog"].map({0: "none", 1: "grade_1_2", 2: "grade_ge3"}), ["none", "grade_1_2", "grade_ge3"]
            ),
        }
    )
    res = compare_survival(df, "os", "crs_grade")
    assert res.logrank_chisq == pytest.approx(18.0120966947, rel=1e-10)
    assert res.df == 2
    assert res.logrank_p == pytest.approx(0.000122665631501, rel=1e-9)
    got = [(lv.n, lv.events, lv.median_months, lv.median_ci_low, lv.median_ci_high) for lv in res.levels]
    assert got == [(63, 37, 394, 348, 574), (113, 82, 306, 268, 429), (50, 44, 199, 156, 288)]


def test_synthetic_logrank_and_at_risk():
    # R> survdiff(Surv(os_months, os_event) ~ grp_severity, data = s)$chisq   10.9752863007
    # R> survdiff(... LFS rows ...)$chisq                                     9.23670253295
    # R> summary(survfit(Surv(os_months, os_event) ~ grp_severity, data = s), times = c(0,12,24,36))$n.risk
    #    29 18 8 3 | 24 6 1 | 40 15 4 1     (severe: R omits 36, beyond its last follow-up -> 0 at risk)
    s = _synthetic()
    os = compare_survival(s, "os", "severity")
    assert os.logrank_chisq == pytest.approx(10.9752863007, rel=1e-10) and os.df == 2
    assert os.risk_times == (0, 12, 24, 36)  # max follow-up 44 months
    assert os.at_risk == {"none": (29, 18, 8, 3), "severe": (24, 6, 1, 0), "other": (40, 15, 4, 1)}
    lfs = compare_survival(s, "lfs", "severity")
    assert lfs.logrank_chisq == pytest.approx(9.23670253295, rel=1e-10)
    assert sum(lv.n for lv in lfs.levels) == 77


# --- reverse Kaplan-Meier follow-up --------------------------------------------------


def test_median_followup_reverse_km():
    # R> survfit(Surv(os_months, 1 - os_event) ~ 1, data = s):  n 93 events 25 median 27 LCL 20.5 UCL NA
    fu = median_followup(_synthetic())
    assert (fu.median_months, fu.ci_low, fu.ci_high) == (27, 20.5, None)
    assert fu.reason
    # R> survfit(Surv(time, 1 - status) ~ 1, data = l)  (lung, ecog 0-2):  median 588 LCL 511 UCL 1010
    lung = pd.read_csv(REF / "lung_ecog.csv")
    fu = median_followup(pd.DataFrame({"os_months": lung["time"], "os_event": lung["status"].astype(bool)}))
    assert (fu.median_months, fu.ci_low, fu.ci_high, fu.reason) == (588, 511, 1010, None)


# --- degenerate data: None + reason, never an exception, never NaN -------------------


def _frame(months, events, levels):
    return pd.DataFrame(
        {
            "os_months": np.asarray(months, float),
            "os_event": np.asarray(events, bool),
            "grp_crs": pd.Categorical(levels, ["no", "yes"]),
        }
    )


def test_one_level_only_keeps_empty_level():
    res = compare_survival(_frame([1, 2, 3], [1, 0, 1], ["no"] * 3), "os", "crs")
    assert res.logrank_chisq is None and res.logrank_p is None and res.df is None
    assert "only 1 group" in res.reason
    empty = res.levels[1]
    assert (empty.key, empty.n, empty.median_months) == ("yes", 0, None) and empty.reason
    assert res.at_risk["yes"] == (0,)


def test_zero_events():
    res = compare_survival(_frame([5, 13, 30], [0, 0, 0], ["no", "yes", "yes"]), "os", "crs")
    assert res.logrank_chisq is None and "no event" in res.reason
    lv = res.levels[1]
    assert lv.median_months is None and "not reached" in lv.median_reason
    assert [(x.months, x.survival) for x in lv.landmarks] == [(12, 1.0), (24, 1.0), (36, None)]
    assert res.risk_times == (0, 12, 24)


def test_single_patient_level_and_landmark_at_zero_survival():
    res = compare_survival(_frame([2, 4, 6, 14], [1, 1, 0, 1], ["no", "no", "no", "yes"]), "os", "crs")
    assert res.df == 1 and res.logrank_chisq is not None and np.isfinite(res.logrank_chisq)
    one = res.levels[1]
    assert (one.n, one.events, one.median_months) == (1, 1, 14)
    assert one.median_ci_low is None and one.median_ci_high is None  # CI is NA where S = 0 (R)
    lm12 = one.landmarks[0]
    assert lm12.survival == 1.0
    assert res.at_risk == {"no": (3, 0), "yes": (1, 1)}


def test_empty_cohort():
    km = kaplan_meier([], [])
    assert km.n == 0 and km.median_months is None and km.reason
    assert median_followup(pd.DataFrame({"os_months": [], "os_event": []})).reason


def test_lfs_on_prepared_cohort_uses_cr_patients_only():
    # Hand calculation: 3 patients, 2 in CR. LFS from CR date: patient A relapses 61 days
    # after CR (event), patient B censored 366 days after CR; patient C (no CR) excluded.
    from analysis.registry.groups import DAYS_PER_MONTH, prepare_cohort

    rows = [
        dict(
            crs_grade=1,
            icans_grade=0,
            cr_day30=True,
            mrd_negative=True,
            cr_date="2020-01-01",
            relapse_date="2020-03-02",
            death_date=None,
            last_followup_date="2020-06-01",
        ),
        dict(
            crs_grade=0,
            icans_grade=0,
            cr_day30=True,
            mrd_negative=False,
            cr_date="2020-01-01",
            relapse_date=None,
            death_date=None,
            last_followup_date="2021-01-01",
        ),
        dict(
            crs_grade=3,
            icans_grade=0,
            cr_day30=False,
            mrd_negative=None,
            cr_date=None,
            relapse_date=None,
            death_date="2020-02-01",
            last_followup_date="2020-02-01",
        ),
    ]
    df = pd.DataFrame(rows).assign(
        patient_id=["A", "B", "C"],
        seizure=False,
        steroids=False,
        tocilizumab=False,
        bm_blasts_pct=5.0,
        infusion_date="2019-12-01",
    )
    for col in ("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date"):
        df[col] = pd.to_datetime(df[col])
    res = compare_survival(prepare_cohort(df), "lfs", "crs")
    assert [(lv.key, lv.n, lv.events) for lv in res.levels] == [("no", 1, 0), ("yes", 1, 1)]
    assert res.levels[1].median_months == pytest.approx(61 / DAYS_PER_MONTH)
    assert res.risk_times == (0, 12) and res.at_risk == {"no": (1, 1), "yes": (1, 0)}
    # survdiff by hand: one event at 2.0 months with 2 at risk -> O-E = 0.5, V = 0.25, chisq = 1
    assert res.logrank_chisq == pytest.approx(1.0) and res.df == 1


def _ties3_frame():
    d = pd.read_csv(REF / "logrank_ties3.csv")  # written by the R call below
    keys = np.array(["none", "grade_1_2", "grade_ge3"])
    return d, pd.DataFrame(
        {
            "os_months": d["time"].astype(float),
            "os_event": d["status"].astype(bool),
            "grp_crs_grade": pd.Categorical(keys[d["group"]], list(keys)),
        }
    )


def test_logrank_heavy_ties_tiny_p_matches_r_and_lifelines():
    # R> set.seed(1); n <- 3000; t <- round(rexp(n, 1/20)); g <- sample(0:2, n, TRUE)
    # R> t <- round(t * c(1, 0.5, 2)[g + 1]); e <- rbinom(n, 1, 0.7)     (-> logrank_ties3.csv)
    # R> s <- survdiff(Surv(time, status) ~ group); pchisq(s$chisq, 2, lower.tail = FALSE)
    #    chisq 604.381992609934   p 5.75596075124662e-132
    from lifelines.statistics import multivariate_logrank_test

    d, frame = _ties3_frame()
    res = compare_survival(frame, "os", "crs_grade")
    assert res.df == 2
    assert res.logrank_chisq == pytest.approx(604.381992609934, rel=1e-10)
    assert res.logrank_p == pytest.approx(5.75596075124662e-132, rel=1e-8)  # not rounded to 0
    ll = multivariate_logrank_test(d["time"], d["group"], d["status"])
    assert res.logrank_chisq == pytest.approx(ll.test_statistic, rel=1e-10)
    assert res.logrank_p == pytest.approx(ll.p_value, rel=1e-8)


def test_logrank_two_of_three_levels_matches_lifelines():
    d, frame = _ties3_frame()
    keep = d["group"] != 1
    from lifelines.statistics import multivariate_logrank_test

    res = compare_survival(frame[keep.to_numpy()], "os", "crs_grade")
    ll = multivariate_logrank_test(d["time"][keep], d["group"][keep], d["status"][keep])
    assert res.df == 1 and res.levels[1].n == 0
    assert res.logrank_chisq == pytest.approx(ll.test_statistic, rel=1e-10)
    assert res.logrank_p == pytest.approx(ll.p_value, rel=1e-8)


def test_logrank_singular_variance_falls_back_to_lifelines():
    # level "yes" is censored before the first event: its variance row is 0 (singular)
    from lifelines.statistics import multivariate_logrank_test

    months = np.array([1.0, 1.0, 5.0, 6.0, 7.0, 8.0])
    events = np.array([False, False, True, True, False, True])
    group = np.array(["yes", "yes", "no", "no", "no", "no"])
    df = pd.DataFrame({"os_months": months, "os_event": events, "grp_steroids": pd.Categorical(group, ["no", "yes"])})
    res = compare_survival(df, "os", "steroids")
    ll = multivariate_logrank_test(months, group, events)
    assert res.df == 1
    assert res.logrank_chisq == pytest.approx(ll.test_statistic, abs=1e-12)
    assert res.logrank_p == pytest.approx(ll.p_value, abs=1e-12)


def test_total_follow_up_in_person_years():
    """STROBE 14c asks for the total amount of follow-up: by hand, (12 + 24 + 6 + 18) / 12 = 5.0."""
    df = pd.DataFrame({"os_months": [12.0, 24.0, 6.0, 18.0], "os_event": [True, False, True, False]})
    assert median_followup(df).person_years == pytest.approx(5.0, abs=1e-12)
    everyone_died = pd.DataFrame({"os_months": [3.0, 9.0], "os_event": [True, True]})
    fu = median_followup(everyone_died)
    assert fu.median_months is None and fu.person_years == pytest.approx(1.0)
