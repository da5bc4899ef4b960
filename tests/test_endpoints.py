"""Event-free survival, the onset of CRS and ICANS with death competing, tests for trend across
ordered grades and the Firth-penalized odds ratio of a 2x2 table with a zero cell.

R values: ``tests/reference/r_endpoints.R`` (R 4.x, survival 3.5-3, cmprsk 2.2-11; every time
computed there from the dates of data/cohort.csv) and ``tests/reference/r_firth_logistic.R``
(Firth logistic regression written out from its definition: logistf is not in Debian)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.estimators.comparisons import cochran_armitage, response_trend
from analysis.estimators.competing import onset_incidence
from analysis.estimators.effects import cox_trend, has_zero_cell, response_effect, univariable_cox
from analysis.estimators.firth import firth_odds_ratio
from analysis.estimators.landmark import landmark_survival
from analysis.estimators.survival import compare_survival
from analysis.inputs.loading import load_study
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.groups import EFS_NO_CR_DAY, prepare_cohort

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def df():
    return prepare_cohort(load_study(ROOT / "data" / "cohort.csv", None, "2023-03-01").cohort)


def close(a, b, tol=1e-7):
    return a == pytest.approx(b, rel=tol, abs=tol)


# --------------------------------------------------------------------------- event-free survival


def test_efs_is_a_registry_endpoint_from_infusion_with_no_cr_an_event_at_day_0(df):
    efs = ENDPOINTS["efs"]
    assert (efs.time_column, efs.event_column, efs.population) == ("efs_months", "efs_event", "all patients")
    no_cr = ~df["cr_day30"]
    assert EFS_NO_CR_DAY == 0
    assert (df.loc[no_cr, "efs_months"] == 0).all() and df.loc[no_cr, "efs_event"].all()
    cr = df[df["cr_day30"]]
    # in CR: the LFS event, on the clock from infusion instead of from CR
    assert (cr["efs_event"] == cr["lfs_event"].astype(bool)).all()
    gap = (cr["cr_date"] - cr["infusion_date"]).dt.days / 30.4375
    assert np.allclose(cr["efs_months"], cr["lfs_months"] + gap)


def test_efs_kaplan_meier_logrank_and_cox_match_r(df):
    # R> fit <- survfit(Surv(efs_months, efs_event) ~ 1, data = d)
    # R> summary(fit)$table: events 76, median 7.58932238193018 (5.88090349075975-11.2032854209446)
    # R> summary(fit, times = c(12, 24, 36)): surv 0.363455504623985 0.18657633128692 0.0559728993860759
    # R>                                      lower 0.274802734446788 0.11497246086283 0.0193270425092484
    # R>                                      upper 0.480708112702769 0.302774482995697 0.162102684059632
    all_ = compare_survival(df, "efs").levels[0]
    assert all_.label == "All patients" and all_.events == 76
    assert close(all_.median_months, 7.58932238193018)
    assert close(all_.median_ci_low, 5.88090349075975) and close(all_.median_ci_high, 11.2032854209446)
    for lm, s, lo, hi in zip(
        all_.landmarks,
        (0.363455504623985, 0.18657633128692, 0.0559728993860759),
        (0.274802734446788, 0.11497246086283, 0.0193270425092484),
        (0.480708112702769, 0.302774482995697, 0.162102684059632),
    ):
        assert close(lm.survival, s) and close(lm.ci_low, lo) and close(lm.ci_high, hi)
    # R> survdiff(Surv(efs_months, efs_event) ~ crs, data = d)   Chisq = 0.16470375871, p = 0.684862291
    # R> summary(survfit(... ~ crs))$table: medians 5.88090349075975 (4.10677618069815-NA), 7.81930184804928 (6.53798767967146-12.1560574948665)
    # R> coxph(Surv(efs_months, efs_event) ~ crs): coef -0.118866945154137, se 0.306815849663559, p 0.69844445860466
    by_crs = compare_survival(df, "efs", "crs")
    assert close(by_crs.logrank_chisq, 0.16470375871, 1e-9) and close(by_crs.logrank_p, 0.684862291, 1e-8)
    no, yes = by_crs.levels
    assert close(no.median_months, 5.88090349075975) and close(no.median_ci_low, 4.10677618069815)
    assert no.median_ci_high is None
    assert close(yes.median_ci_low, 6.53798767967146) and close(yes.median_ci_high, 12.1560574948665)
    hr = univariable_cox(df, "efs", "crs").hazard_ratios[0]
    assert close(hr.coef, -0.118866945154137) and close(hr.se, 0.306815849663559) and close(hr.p, 0.69844445860466)


def test_efs_landmark_is_the_patients_in_cr_event_free_after_it(df):
    efs = landmark_survival(df, "efs", "crs", 30)
    lfs = landmark_survival(df, "lfs", "crs", 30)
    # everyone not in CR had the event at day 0, before the landmark
    assert efs.n_before == len(df) and efs.n_event_before == int((~df["cr_day30"]).sum()) + lfs.n_event_before
    assert efs.n == lfs.n and efs.survival.logrank_chisq == pytest.approx(lfs.survival.logrank_chisq)
    assert landmark_survival(df, "efs", "crs", 20).reason.startswith("the landmark (day 20) precedes")


# --------------------------------------------------------------------------- onset of CRS and ICANS


def test_onset_incidence_matches_cmprsk(df):
    # R> cuminc(day, status, cencode = 0); timepoints(ci, c(7, 14, 28))   status 1 onset, 2 death first, 0 censored
    # CRS:   est 0.612903225806452 0.817204301075269 0.817204301075269
    #        var 0.0025967143701446 0.00166022680543014 0.00166022680543014;  min(time[est >= 0.5]) = 6
    # ICANS: est 0.0752688172043011 0.150537634408602 0.172043010752688
    #        var 0.000756787743319056 0.00139113768731741 0.00154988693479508;  never 0.5 (Inf)
    crs = onset_incidence(df, "crs")
    assert (crs.n, crs.onsets) == (93, 76)
    for p, est, var in zip(
        crs.points,
        (0.612903225806452, 0.817204301075269, 0.817204301075269),
        (0.0025967143701446, 0.00166022680543014, 0.00166022680543014),
    ):
        assert close(p.estimate, est) and close(p.variance, var)
        assert p.ci_low < p.estimate < p.ci_high
    assert crs.median_day == 6 and crs.median_reason is None
    icans = onset_incidence(df, "icans")
    assert icans.onsets == 16 and icans.deaths_before_onset == int((~df["icans_any"] & df["os_event"]).sum())
    for p, est, var in zip(
        icans.points,
        (0.0752688172043011, 0.150537634408602, 0.172043010752688),
        (0.000756787743319056, 0.00139113768731741, 0.00154988693479508),
    ):
        assert close(p.estimate, est) and close(p.variance, var)
    assert icans.median_day is None and icans.median_reason.startswith("not reached")


def test_an_onset_on_the_day_of_death_is_an_onset(df):
    one = df.head(3).copy()
    one["crs_any"] = [True, False, False]
    one["crs_onset_day"] = [5, None, None]
    one["death_date"] = [
        one["infusion_date"].iloc[0] + np.timedelta64(5, "D"),
        one["infusion_date"].iloc[1] + np.timedelta64(3, "D"),
        None,
    ]
    one["last_followup_date"] = one["death_date"].fillna(one["last_followup_date"])
    inc = onset_incidence(one, "crs", days=(7,))
    assert (inc.onsets, inc.deaths_before_onset, inc.censored) == (1, 1, 1)


# --------------------------------------------------------------------------- trend tests


def test_cochran_armitage_is_r_prop_trend_test():
    # R> prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82))   (R's documented example)
    # X-squared = 8.224922285198, df = 1, p-value = 0.00413189747764
    t = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82], [1, 2, 3, 4])
    assert close(t.statistic, 8.224922285198, 1e-12) and close(t.p, 0.00413189747764, 1e-11)
    assert t.test == "cochran_armitage"
    # scores are a location-scale choice: 0, 2, 4, 6 give the same test
    assert close(cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82], [0, 2, 4, 6]).statistic, t.statistic, 1e-12)
    assert cochran_armitage([3, 4], [3, 4], [0, 1]).p is None  # everyone responded
    assert cochran_armitage([3, 0, 0], [5, 0, 0], [0, 1, 2]).p is None  # one level with patients


# R> x <- tapply(d$cr, d$crs_band, sum); n <- tapply(d$cr, d$crs_band, length)
# R> prop.trend.test(x, n, score = c(0, 1, 2))   (chisq, p) per ordered grouping and response
R_RESPONSE_TREND = {
    ("cr", "crs_grade"): (0.288319735649911, 0.591299300526908),
    ("mrd_negative_cr", "crs_grade"): (0.99249287060921, 0.31913385747756),
    ("cr", "icans_grade"): (0.605410400446348, 0.43652112739401),
    ("mrd_negative_cr", "icans_grade"): (3.05397193597776, 0.0805399501980026),
    ("cr", "severity"): (0.810377277901683, 0.368008731880835),
    ("mrd_negative_cr", "severity"): (0.327009653588747, 0.567425240507806),
}
# R> coxph(Surv(time, status) ~ band, ties = "efron")   (coef, se, p): the hazard ratio per step up the grades
R_COX_TREND = {
    ("os", "crs_grade"): (0.0523316083749673, 0.233123824745602, 0.822383920323195),
    ("lfs", "crs_grade"): (-0.111716199107157, 0.207698663367699, 0.590662416381937),
    ("efs", "crs_grade"): (-0.0702059375844297, 0.196889955100837, 0.721410369151132),
    ("os", "icans_grade"): (-0.0578882065133028, 0.22335387407311, 0.79549860894281),
    ("lfs", "icans_grade"): (-0.0308336080921817, 0.196812547144595, 0.87550899091316),
    ("efs", "icans_grade"): (0.0178283168741422, 0.182633026761957, 0.922235430536008),
    ("os", "severity"): (0.0638006380782543, 0.219202294619624, 0.771006763564623),
    ("lfs", "severity"): (-0.1306807001999, 0.199717250864898, 0.512900152655561),
    ("efs", "severity"): (-0.0636403754880114, 0.189475565742495, 0.736964056101003),
}


@pytest.mark.parametrize("key", list(R_RESPONSE_TREND), ids=str)
def test_response_trend_matches_r(df, key):
    t = response_trend(df, *key)
    chisq, p = R_RESPONSE_TREND[key]
    assert close(t.statistic, chisq, 1e-10) and close(t.p, p, 1e-10)


@pytest.mark.parametrize("key", list(R_COX_TREND), ids=str)
def test_cox_trend_matches_r(df, key):
    t = cox_trend(df, *key)
    coef, se, p = R_COX_TREND[key]
    assert close(t.coef, coef) and close(t.se, se) and close(t.p, p)
    assert close(t.hr, np.exp(coef))


def test_an_unordered_grouping_has_no_trend_test(df):
    with pytest.raises(KeyError, match="not ordered"):
        response_trend(df, "cr", "crs")
    with pytest.raises(KeyError, match="not ordered"):
        cox_trend(df, "os", "steroids")


# --------------------------------------------------------------------------- Firth odds ratio

# R (tests/reference/r_firth_logistic.R): firth_table(a, b, c, d), rows exposed (a responders,
# b not) and reference (c, d): exp(coef), profile penalized-likelihood CI, penalized LR chisq and p
R_FIRTH = {
    (69, 7, 17, 0): (
        0.26476190476190448,
        0.00200443326412428,
        2.36000757640460179,
        1.14996140903776478,
        0.28355722820307433,
    ),
    (5, 3, 0, 9): (29.8571428571427, 2.38987195526863, 4331.89414474504, 7.70010681870898, 0.0055217557593016),
    (0, 5, 7, 6): (
        0.078787878787880045,
        0.000558774787275846,
        0.922410995730303052,
        4.141803262323747958,
        0.041836579531816541,
    ),
    (12, 3, 5, 9): (6.16883116883116, 1.360763363246509, 34.021218851003312, 5.640125030397925, 0.017553955234386),
    (3, 0, 0, 4): (63.0000000000014, 2.10352903478735, 21708.3110956574, 6.10031735478584, 0.0135157607232786),
}


@pytest.mark.parametrize("cells", list(R_FIRTH), ids=str)
def test_firth_odds_ratio_matches_the_penalized_likelihood_written_out_in_r(cells):
    a, b, c, d = cells
    f = firth_odds_ratio([[a, b], [c, d]])
    odds, low, high, chisq, p = R_FIRTH[cells]
    assert close(f.odds_ratio, odds, 1e-9) and close(f.ci_low, low, 1e-8) and close(f.ci_high, high, 1e-8)
    assert close(f.lr_chisq, chisq, 1e-8) and close(f.lr_p, p, 1e-8)
    # the Firth estimate of a 2x2 table is the odds ratio with 1/2 added to every cell (hand calculation)
    assert close(f.odds_ratio, (a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)), 1e-12)


def test_a_zero_cell_gets_the_firth_odds_ratio_instead_of_zero(df):
    # every patient without CRS responded (17 of 17): fisher.test's conditional MLE is 0
    effect = response_effect(df, "cr", "crs")
    assert effect.odds_ratio.odds_ratio == 0.0 and effect.odds_ratio_method == "firth"
    assert close(effect.firth.odds_ratio, R_FIRTH[(69, 7, 17, 0)][0], 1e-9)
    finite = response_effect(df, "cr", "icans")
    assert finite.firth is None and finite.odds_ratio_method == "conditional_mle"
    assert has_zero_cell([[3, 0], [4, 5]]) and not has_zero_cell([[3, 1], [4, 5]])
    assert not has_zero_cell([[0, 0], [4, 5]])  # an empty group: no odds ratio at all


# --------------------------------------------------------------------------- the results, the JSON, the prose


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results  # the session's results of the bundled demo, cut-off 2023-03-01 (conftest.py)


def test_the_json_has_the_documented_keys(results):
    """docs/results.md: EFS beside OS and LFS, the Firth odds ratio, trend blocks, onset incidence."""
    from analysis.registry.groups import GROUPINGS, TREND_SCORES
    from analysis.report.export import results_to_dict

    out = results_to_dict(results)
    docs = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    for key in (
        "odds_ratio_method",
        "firth_odds_ratio",
        "firth_ci_low",
        "firth_ci_high",
        "cochran_armitage",
        "median_day",
        "cif_day7",
        "deaths_before_onset",
        "`efs`",
    ):
        assert key in docs, key
    assert set(out["survival"]["efs"]) == {"all", *GROUPINGS}
    effect = out["response"]["cr"]["crs"]["effect"]
    assert effect["odds_ratio_method"] == "firth" and effect["firth_odds_ratio"] == pytest.approx(0.2647619047619)
    assert out["response"]["cr"]["icans"]["effect"]["odds_ratio_method"] == "conditional_mle"
    assert "firth_odds_ratio" not in out["response"]["cr"]["icans"]["effect"]
    for g in TREND_SCORES:
        assert out["response"]["cr"][g]["trend"]["test"] == "cochran_armitage"
        assert {"hr", "ci_low", "ci_high", "p", "coef", "se", "scores"} <= set(out["survival"]["efs"][g]["trend"])
    onset = out["onset"]["icans"]
    assert onset["median_day"] is None and onset["median_day_reason"].startswith("not reached")
    assert {"cif_day7", "cif_day14", "cif_day28", "cif_day28_ci_low", "onsets", "censored"} <= set(onset)


def test_the_prose_helpers_word_the_new_numbers(results):
    from analysis.report.narrative import Narrative, UnknownKey

    text = Narrative(results)
    assert text.odds_ratio("cr", "crs") == "Firth OR 0.26 (95% CI <0.01–2.36)"  # one rule for ratios (RATIO_RULE)
    assert text.odds_ratio("cr", "icans").startswith("OR 0.49 (95% CI")
    for r in ("cr", "mrd_negative_cr"):
        for g in ("crs", "icans", "concurrent", "steroids", "tocilizumab"):
            assert not text.odds_ratio(r, g).startswith("OR 0.00")
    assert text.trend_p("cr", by="crs_grade") == "p = 0.591"
    assert text.trend("os", by="crs_grade") == "1.05 (95% CI 0.67–1.66; p = 0.822)"
    assert text.onset_cif("crs", 7) == "61.3% (95% CI 50.5–70.4%)"
    assert (text.onset_median("crs"), text.onset_median("icans")) == ("day 6", "not reached")
    assert text.median_survival("efs") == "7.6 months (95% CI 5.9–11.2)"
    with pytest.raises(UnknownKey, match="ordered groupings are: crs_grade"):
        text.trend_p("cr", by="crs")
