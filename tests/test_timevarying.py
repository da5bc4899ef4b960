"""Toxicity as a time-dependent exposure against R survival 3.5-3.

``tests/reference/r_timevarying.R`` builds the counting-process data from the raw export
``data/cohort.csv`` with ``tmerge`` and fits the models; each literal below is what it
printed, next to the call that printed it.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.timevarying import ZERO_TIME_REASON, counting_process
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def cohort():
    from conftest import COHORT, KINETICS, report_parameter

    return prepare_cohort(load_study(COHORT, KINETICS, report_parameter("cutoff")).cohort)


def _os_days(df):
    died = df["death_date"].notna()
    return (df["death_date"].where(died, df["last_followup_date"]) - df["infusion_date"]).dt.days, died


def _onset(df, tox):
    return df[f"{tox}_onset_day"].where(df[f"{tox}_grade"].gt(0))


# --------------------------------------------------------------------------- the builder (R tmerge)


def test_counting_process_equals_r_tmerge_on_the_demo(cohort):
    # R> td <- tmerge(d[, c("patient_id", "os_days", "os_event")], d, id = patient_id,
    # R+              death = event(os_days, os_event))
    # R> td <- tmerge(td, d, id = patient_id, crs = tdc(crs_on), icans = tdc(icans_on))
    # == tmerge OS: rows 185 patients 93 events 55 crs rows 85 icans rows 22   (written to tmerge_os.csv)
    days, died = _os_days(cohort)
    cp = counting_process(days, died, {"crs": _onset(cohort, "crs"), "icans": _onset(cohort, "icans")})
    assert (cp.n_rows, cp.n_patients, int(cp.event.sum())) == (185, 93, 55)
    assert (int(cp.exposed["crs"].sum()), int(cp.exposed["icans"].sum())) == (85, 22)
    mine = cp.frame(index=cohort["patient_id"].to_numpy())
    r = pd.read_csv(REF / "tmerge_os.csv")
    assert mine["id"].tolist() == r["patient_id"].tolist()
    for column, r_column in (
        ("tstart", "tstart"),
        ("tstop", "tstop"),
        ("event", "death"),
        ("crs", "crs"),
        ("icans", "icans"),
    ):
        assert mine[column].astype(float).tolist() == r[r_column].astype(float).tolist(), column


def test_tmerge_conventions_on_a_toy_cohort():
    # R> d <- data.frame(id = 1:6, time = c(10, 8, 5, 7, 6, 4), status = c(1, 0, 1, 0, 1, 1),
    # R+                 crs = c(3, NA, 0, 4, 6, 4), icans = c(3, 2, 9, 5, NA, 1))
    # R> td <- tmerge(d[, 1:3], d, id = id, death = event(time, status)); tmerge(td, d, id = id, crs = tdc(crs), icans = tdc(icans))
    r = [  # id tstart tstop death crs icans
        (1, 0, 3, 0, 0, 0),
        (1, 3, 10, 1, 1, 1),  # equal onsets: one split
        (2, 0, 2, 0, 0, 0),
        (2, 2, 8, 0, 0, 1),  # a missing onset: never exposed
        (3, 0, 5, 1, 1, 0),  # onset at 0: exposed from the start; after the end: never
        (4, 0, 4, 0, 0, 0),
        (4, 4, 5, 0, 1, 0),
        (4, 5, 7, 0, 1, 1),
        (5, 0, 6, 1, 0, 0),  # onset on the event day counts after it
        (6, 0, 1, 0, 0, 0),
        (6, 1, 4, 1, 0, 1),
    ]
    cp = counting_process(
        [10, 8, 5, 7, 6, 4], [1, 0, 1, 0, 1, 1], {"crs": [3, np.nan, 0, 4, 6, 4], "icans": [3, 2, 9, 5, None, 1]}
    )
    got = cp.frame(index=np.arange(1, 7))
    assert [tuple(int(v) for v in row) for row in got[["id", "tstart", "tstop", "event", "crs", "icans"]].values] == r


def test_zero_follow_up_has_no_interval_and_is_counted():
    cp = counting_process([0, 3], [True, False], {"x": [np.nan, 1]})
    assert cp.n_zero_time == 1 and cp.patient.tolist() == [1, 1]
    assert "stop > start" in ZERO_TIME_REASON


def test_bad_times_are_refused():
    with pytest.raises(ValueError, match="known and >= 0"):
        counting_process([np.nan, 3], [True, False], {})
    with pytest.raises(ValueError, match="differ in length"):
        counting_process([1, 3], [True, False], {"x": [1]})


# --------------------------------------------------------------------------- the analyses (R coxph, survfit)

REL = 1e-7  # R coxph stops at a relative log-likelihood change of 1e-9: its coefficients are ~1e-8 off the maximum


def _hr(result, key):
    term = next(t for t in result.terms if t.key == key)
    return term.coef, term.se, term.hr, term.ci_low, term.ci_high, term.p


# R> td <- tdata(endpoint)      (tmerge on the demo; see r_timevarying.R, section 3)
# R> coxph(Surv(tstart, tstop, ev) ~ g, data = td, ties = "efron")  -> coef, se, HR, lower, upper, p
# R> coxph(Surv(tstart, tstop, ev) ~ g, data = td, ties = "exact")$score   (the Mantel-Byar statistic)
R_DEMO = {
    ("os", "crs"): (
        {
            "crs_yes": (
                0.03715406686512,
                0.3648453407368,
                1.037852907265,
                0.5076669478373,
                2.121742732528,
                0.918887553583,
            )
        },
        0.009140880528354,
        1,
        0.923831949176,
    ),
    ("os", "icans"): (
        {
            "icans_yes": (
                0.01451988879292,
                0.3498545858035,
                1.014625814433,
                0.5111038404198,
                2.014200367716,
                0.9668951885589,
            )
        },
        0.002298524729126,
        1,
        0.9617617239192,
    ),
    ("os", "severity"): (
        {
            "severity_ge3": (
                0.1371664110902,
                0.4505317833653,
                1.147019009323,
                0.4743263660748,
                2.773728600912,
                0.7607816821116,
            ),
            "severity_other": (
                0.1017146654242,
                0.3933902598544,
                1.107067542010,
                0.5120586673908,
                2.393472897972,
                0.7959753772949,
            ),
        },
        0.09469848510491,
        2,
        0.9537542478508,
    ),
    ("lfs", "crs"): (
        {
            "crs_yes": (
                -0.2537945101281,
                0.3103507511164,
                0.7758512152339,
                0.4222867028908,
                1.425441777018,
                0.413490414977,
            )
        },
        0.6773844873221,
        1,
        0.4104888240066,
    ),
    ("lfs", "icans"): (
        {
            "icans_yes": (
                0.1559918637409,
                0.3217403207397,
                1.168816693256,
                0.6221291461784,
                2.19589850568,
                0.6277914190919,
            )
        },
        0.2431647435022,
        1,
        0.6219296561151,
    ),
    ("lfs", "severity"): (
        {
            "severity_ge3": (
                -0.2856425922521,
                0.3851131530926,
                0.7515311710155,
                0.3532954856783,
                1.598659263714,
                0.4582625632684,
            ),
            "severity_other": (
                -0.2874521167301,
                0.3318542474020,
                0.7501724866227,
                0.3914590018382,
                1.437593099259,
                0.3863805468543,
            ),
        },
        0.8141081247108,
        2,
        0.6656082049815,
    ),
}


@pytest.mark.parametrize("endpoint, grouping", sorted(R_DEMO))
def test_time_dependent_cox_and_mantel_byar_match_r_on_the_demo(cohort, endpoint, grouping):
    from analysis.estimators.timevarying import time_dependent_comparison

    terms, chisq, df, p = R_DEMO[(endpoint, grouping)]
    res = time_dependent_comparison(cohort, endpoint, grouping)
    # == tdata os : rows 185 patients 93 events 55 ; == tdata lfs : rows 86 patients 86 events 69
    assert (res.n_rows, res.n, res.events) == {"os": (185, 93, 55), "lfs": (86, 86, 69)}[endpoint]
    for key, expected in terms.items():
        assert _hr(res.cox, key) == pytest.approx(expected, rel=REL)
    mb = res.mantel_byar
    assert (mb.chisq, mb.df, mb.p) == pytest.approx((chisq, df, p), rel=1e-9)


def test_the_multivariable_time_dependent_model_matches_r_on_the_demo(cohort):
    from analysis.estimators.cox import ModelSpec
    from analysis.estimators.timevarying import time_dependent_model

    model = ModelSpec(
        "severity", ("age", "bm_blasts_pct", "ph_positive", "cart_dose_1e6_per_kg"), (("bm_blasts_pct", 20.0),)
    )
    # R> coxph(Surv(tstart, tstop, ev) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev, data = td)
    # R> i <- 5:6; b <- coef(fit)[i]; t(b) %*% solve(vcov(fit)[i, i]) %*% b        (joint Wald)
    r = {
        "os": (
            {
                "age": (-0.007040219227341, 0.008362163879752),
                "bm_blasts_ge20": (-0.450173205564414, 0.299822303973461),
                "ph_positive": (1.185345336953486, 0.339333253364875),
                "cart_dose_1e6_per_kg": (0.185686938776936, 0.115408542642944),
                "severity_ge3": (0.342198627990323, 0.496147943253712),
                "severity_other": (0.083962682493850, 0.418287334084047),
            },
            0.6562901525683,
            0.7202585196956,
        ),
        "lfs": (
            {
                "age": (0.002992245654755, 0.007110260224206),
                "bm_blasts_ge20": (-0.199235543160249, 0.269358443623566),
                "ph_positive": (1.112648729670225, 0.338639369505001),
                "cart_dose_1e6_per_kg": (0.101980782784977, 0.103214120227210),
                "severity_ge3": (0.104073678778429, 0.446333572812841),
                "severity_other": (-0.081596245419274, 0.371000822696216),
            },
            0.3665220868183,
            0.8325507954702,
        ),
    }
    for endpoint, (terms, wald, p) in r.items():
        res = time_dependent_model(cohort, endpoint, model)
        for key, (coef, se) in terms.items():
            assert _hr(res, key)[:2] == pytest.approx((coef, se), rel=REL), (endpoint, key)
        assert (res.severity_global_chisq, res.severity_global_p) == pytest.approx((wald, p), rel=1e-8)
        assert res.model == "time-dependent" and res.ph_test_global_p is None and res.ph_test_reason


# --------------------------------------------------------------------------- a cohort with events before onsets

DAYS_PER_MONTH = 30.4375


@pytest.fixture(scope="module")
def toy():
    """tests/reference/td_toy.csv (written by r_timevarying.R, section 4) as a prepared cohort's
    columns: OS in months from days, the toxicity grades and onsets, the covariates."""
    t = pd.read_csv(REF / "td_toy.csv").set_index("id")
    return pd.DataFrame(
        {
            "os_months": t["days"] / DAYS_PER_MONTH,
            "os_event": t["died"].astype(bool),
            "crs_grade": t["crs_grade"],
            "crs_onset_day": t["crs_onset_day"].astype("Float64"),
            "icans_grade": t["icans_grade"],
            "icans_onset_day": t["icans_onset_day"].astype("Float64"),
            "seizure": t["seizure"].astype(bool),
            "age": t["age"].astype(float),
            "bm_blasts_pct": t["bm_blasts_pct"],
            "ph_positive": t["ph_positive"].astype(bool),
            "cart_dose_1e6_per_kg": t["cart_dose_1e6_per_kg"],
            "infusion_date": pd.Timestamp("2021-01-01"),
        }
    )


def test_events_before_onsets_match_r(toy):
    from analysis.estimators.cox import ModelSpec
    from analysis.estimators.timevarying import time_dependent_comparison, time_dependent_model

    # == toy: rows 125 events 47
    # R> coxph(Surv(tstart, tstop, ev) ~ crs, data = tt, ties = "efron")
    crs = time_dependent_comparison(toy, "os", "crs")
    assert (crs.n_rows, crs.events) == (125, 47)
    assert _hr(crs.cox, "crs_yes") == pytest.approx(
        (0.8398946542264, 0.4140964490705, 2.316122970163, 1.028684218595, 5.214841946581, 0.04253386926508), rel=REL
    )
    # mantel-byar (coxph exact score test) chisq 4.202901485441 ; by hand (O - E, hypergeometric V): the same
    assert crs.mantel_byar.chisq == pytest.approx(4.202901485441, rel=1e-10)
    icans = time_dependent_comparison(toy, "os", "icans")
    assert _hr(icans.cox, "icans_yes")[:2] == pytest.approx((-0.09236716778743, 0.3294902853145), rel=REL)
    assert icans.mantel_byar.chisq == pytest.approx(0.08215553724703, rel=1e-10)
    severity = time_dependent_comparison(toy, "os", "severity")
    assert _hr(severity.cox, "severity_ge3")[:2] == pytest.approx((0.5769505745163, 0.4996264756539), rel=REL)
    assert _hr(severity.cox, "severity_other")[:2] == pytest.approx((0.3259552357904, 0.4798883643934), rel=REL)
    assert (severity.mantel_byar.chisq, severity.mantel_byar.df) == pytest.approx((1.435618423413, 2), rel=1e-10)
    # R> coxph(Surv(tstart, tstop, ev) ~ age + blast20 + ph_positive + cart_dose_1e6_per_kg + sev, data = tt)
    model = ModelSpec(
        "severity", ("age", "bm_blasts_pct", "ph_positive", "cart_dose_1e6_per_kg"), (("bm_blasts_pct", 20.0),)
    )
    multi = time_dependent_model(toy, "os", model)
    expected = {
        "age": (-0.009876147052825, 0.007533442883363),
        "bm_blasts_ge20": (-0.378318259156177, 0.398348185262492),
        "ph_positive": (-0.539142847050425, 0.354674399207429),
        "cart_dose_1e6_per_kg": (0.034550429374489, 0.112949790753935),
        "severity_ge3": (0.750806623278196, 0.496612531343540),
        "severity_other": (0.440503411981853, 0.477622678846846),
    }
    for key, values in expected.items():
        assert _hr(multi, key)[:2] == pytest.approx(values, rel=REL), key
    assert multi.severity_global_chisq == pytest.approx(2.356006864059, rel=1e-9)
    # the time-0 severity model differs here (R: coef 0.4294712857613 for severe): the exposure
    # is not known at infusion
    assert _hr(severity.cox, "severity_ge3")[0] != pytest.approx(0.4294712857613, abs=1e-3)


def test_simon_makuch_curves_match_r_survfit(toy):
    from analysis.estimators.timevarying import time_dependent_comparison

    curves = time_dependent_comparison(toy, "os", "crs").curves
    levels = {lv.key: lv for lv in curves.levels}

    def at(level, day):
        c = levels[level].curve
        i = np.searchsorted(c.times * DAYS_PER_MONTH, day + 1e-9, side="right") - 1
        return c.survival[i], c.ci_low[i], c.ci_high[i]

    # R> summary(survfit(Surv(tstart, tstop, ev) ~ crs, data = tt), times = c(30, 60, 120))
    r = {
        ("no", 30): (0.785218309356, 0.606778533229, 1.0),
        ("no", 60): (0.560870220969, 0.328562253862, 0.95743014017),
        ("yes", 30): (0.559579484892, 0.338240552386, 0.925758894678),
        ("yes", 60): (0.418075175719, 0.242934429726, 0.719481601474),
        ("yes", 120): (0.278716783813, 0.149720425417, 0.518854026514),
    }
    for (level, day), values in r.items():
        assert at(level, day) == pytest.approx(values, abs=1e-9), (level, day)
    # R> print(sm):  crs=0 median 144 (95% CI 55-NA), crs=1 median 37 (4-126) days; n.start 55 and 5
    assert levels["no"].median_months * DAYS_PER_MONTH == pytest.approx(144)
    assert levels["yes"].median_months * DAYS_PER_MONTH == pytest.approx(37)
    assert levels["yes"].median_ci_low * DAYS_PER_MONTH == pytest.approx(4)
    assert levels["yes"].median_ci_high * DAYS_PER_MONTH == pytest.approx(126)
    assert curves.at_risk["yes"][0] == 5 and curves.at_risk["no"][0] == 55


def test_events_affected_counts_the_events_while_a_toxicity_is_still_to_come(toy, cohort):
    from analysis.estimators.timevarying import time_dependent_comparison

    res = time_dependent_comparison(toy, "os", "crs")
    # by hand on the intervals: an event time at which a row at risk has not yet its patient's last CRS status
    cp = counting_process(
        np.rint(toy["os_months"] * DAYS_PER_MONTH),
        toy["os_event"],
        {"crs": toy["crs_onset_day"].where(toy["crs_grade"] > 0)},
    )
    final = pd.Series(cp.exposed["crs"]).groupby(cp.patient).transform("last").to_numpy()
    pending = cp.exposed["crs"] != final
    expected = sum(bool(np.any(pending & (cp.start < t) & (cp.stop >= t))) for t in cp.stop[cp.event])
    assert res.n_events_affected == expected > 0
    # the demo: every death follows the last onset, so the time-dependent model is the time-0 model
    demo = time_dependent_comparison(cohort, "os", "crs")
    assert demo.n_events_affected == 0 and demo.n_changed == 76
