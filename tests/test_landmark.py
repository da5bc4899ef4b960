"""Landmark analysis against R survival 3.5-3 on the same landmark subset.

``tests/reference/r_landmark.R`` builds the subset itself from the raw export
``data/cohort.csv`` (days from infusion > landmark; CRS/ICANS counted only when the
onset day is <= the landmark; months = (days - landmark) / 30.4375) and prints
``survdiff`` and ``coxph(..., ties = "efron")``; each literal below is what it printed.
"""

import pandas as pd
import pytest

from analysis.estimators.landmark import landmark_cohort, landmark_survival, toxicity_at_landmark
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort

TOL = 1e-8


@pytest.fixture(scope="module")
def cohort():
    from conftest import COHORT, KINETICS, report_parameter

    return prepare_cohort(load_study(COHORT, KINETICS, report_parameter("cutoff")).cohort)


R_LANDMARK = {
    # (endpoint, grouping, landmark): (n, events, n yes, survdiff chisq, p, coef, se, HR, lower, upper, Wald p)
    # == os crs landmark 30 : n 92 events 54 n yes 75
    # survdiff chisq 0.000891351558336 p 0.976182286813
    # groupyes coef 0.0132760341286 exp(coef) 1.01336455196 se(coef) 0.36551636076 Pr(>|z|) 0.971026155872
    # lower .95 0.495036951987 upper .95 2.07440618532
    ("os", "crs", 30): (
        92,
        54,
        75,
        0.000891351558336,
        0.976182286813,
        0.0132760341286,
        0.36551636076,
        1.01336455196,
        0.495036951987,
        2.07440618532,
        0.971026155872,
    ),
    # == os icans landmark 30 : n 92 events 54 n yes 16
    # survdiff chisq 0.0119978000166 p 0.9127785835
    # coef 0.0360664465533 exp 1.03672473099 se 0.350583220818 p 0.918061731923 ; 0.52149059468 2.06101160559
    ("os", "icans", 30): (
        92,
        54,
        16,
        0.0119978000166,
        0.9127785835,
        0.0360664465533,
        0.350583220818,
        1.03672473099,
        0.52149059468,
        2.06101160559,
        0.918061731923,
    ),
    # == os crs landmark 10 : n 93 events 55 n yes 71   (5 patients with CRS onset after day 10)
    # survdiff chisq 2.00435694075e-05 p 0.996427879154
    # coef 0.00400551799575 exp 1.0040135508 se 0.327132824358 p 0.990230692633 ; 0.528790457646 1.90631883693
    ("os", "crs", 10): (
        93,
        55,
        71,
        2.00435694075e-05,
        0.996427879154,
        0.00400551799575,
        0.327132824358,
        1.0040135508,
        0.528790457646,
        1.90631883693,
        0.990230692633,
    ),
    # == os icans landmark 10 : n 93 events 55 n yes 11
    # survdiff chisq 0.533452338454 p 0.465159030147
    # coef -0.342712037014 exp 0.709842590524 se 0.469501084492 p 0.465421111947 ; 0.282827741676 1.78156675981
    ("os", "icans", 10): (
        93,
        55,
        11,
        0.533452338454,
        0.465159030147,
        -0.342712037014,
        0.469501084492,
        0.709842590524,
        0.282827741676,
        1.78156675981,
        0.465421111947,
    ),
    # == lfs crs landmark 30 : n 85 events 68 n yes 68
    # survdiff chisq 0.877065930395 p 0.349006558636
    # coef -0.289221838382 exp 0.748846064176 se 0.311027850994 p 0.352427791362 ; 0.407047568471 1.3776533046
    ("lfs", "crs", 30): (
        85,
        68,
        68,
        0.877065930395,
        0.349006558636,
        -0.289221838382,
        0.311027850994,
        0.748846064176,
        0.407047568471,
        1.3776533046,
        0.352427791362,
    ),
    # == lfs icans landmark 30 : n 85 events 68 n yes 13
    # survdiff chisq 0.0541214819489 p 0.816040776338
    # coef 0.0764620050288 exp 1.07946117546 se 0.333637569439 p 0.818731469878 ; 0.561324777492 2.07586850973
    ("lfs", "icans", 30): (
        85,
        68,
        13,
        0.0541214819489,
        0.816040776338,
        0.0764620050288,
        0.333637569439,
        1.07946117546,
        0.561324777492,
        2.07586850973,
        0.818731469878,
    ),
}


@pytest.mark.parametrize("endpoint, grouping, day", sorted(R_LANDMARK))
def test_landmark_matches_r(cohort, endpoint, grouping, day):
    n, events, n_yes, chisq, p, coef, se, hr, low, high, wald_p = R_LANDMARK[(endpoint, grouping, day)]
    res = landmark_survival(cohort, endpoint, grouping, landmark_day=day)
    assert res.n == n and res.reason is None
    assert sum(lv.events for lv in res.survival.levels) == events
    assert {lv.key: lv.n for lv in res.survival.levels}["yes"] == n_yes
    assert res.survival.logrank_chisq == pytest.approx(chisq, rel=1e-9)
    assert res.survival.logrank_p == pytest.approx(p, abs=TOL)
    (ratio,) = res.hazard_ratios
    assert ratio.key == "yes"
    assert (ratio.coef, ratio.se) == pytest.approx((coef, se), abs=TOL)
    assert (ratio.hr, ratio.ci_low, ratio.ci_high, ratio.p) == pytest.approx((hr, low, high, wald_p), abs=TOL)


def test_default_landmark_is_day_30(cohort):
    assert landmark_survival(cohort, "os", "crs").landmark_day == 30


def _toy(onsets, os_days, died):
    """Prepared cohort of patients infused 2021-01-01 with CRS grade 2 at the given onset
    (None: no CRS), no ICANS, all in CR on day 30."""
    n = len(onsets)
    infusion = pd.Timestamp("2021-01-01")
    end = infusion + pd.to_timedelta(os_days, unit="D")
    raw = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "center": "A",
            "infusion_date": infusion,
            "age": 30,
            "sex": "F",
            "crs_grade": [0 if o is None else 2 for o in onsets],
            "crs_onset_day": pd.array(onsets, dtype="Int64"),
            "icans_grade": 0,
            "icans_onset_day": pd.array([None] * n, dtype="Int64"),
            "seizure": False,
            "cr_day30": True,
            "mrd_negative": True,
            "cr_date": infusion + pd.Timedelta(days=30),
            "relapse_date": pd.NaT,
            "death_date": pd.Series(end).where(died, pd.NaT).to_numpy(),
            "last_followup_date": end,
            "bm_blasts_pct": 10.0,
            "steroids": False,
            "tocilizumab": False,
        }
    )
    return prepare_cohort(raw)


def test_onset_after_the_landmark_counts_as_no_crs():
    df = _toy([5, 30, 31, None], [400, 400, 400, 400], [True, False, True, False])
    classified, late = toxicity_at_landmark(df, 30)
    assert classified["grp_crs"].astype(str).tolist() == ["yes", "yes", "no", "no"]  # day 30 counts, 31 does not
    assert late.tolist() == [False, False, True, False]
    assert classified["grp_crs_grade"].astype(str).tolist() == ["grade_1_2", "grade_1_2", "none", "none"]
    data, counts = landmark_cohort(df, "os", 30)
    assert counts["n_reclassified"] == 1
    assert data["os_months"].tolist() == pytest.approx([370 / 30.4375] * 4, abs=1e-12)


def test_who_is_at_the_landmark():
    # died on day 30 (event on the landmark day), censored on day 30, died on day 31, alive
    df = _toy([5, 5, None, None], [30, 30, 31, 400], [True, False, True, False])
    data, counts = landmark_cohort(df, "os", 30)
    assert len(data) == 2 and counts == {
        "n_before": 4,
        "n_event_before": 1,
        "n_censored_before": 1,
        "n_reclassified": 0,
    }
    assert data["os_months"].tolist() == pytest.approx([1 / 30.4375, 370 / 30.4375], abs=1e-12)


# --- degenerate data: reasons, never exceptions ---------------------------------------------


def test_nobody_alive_at_the_landmark():
    df = _toy([5, None], [10, 20], [True, True])
    res = landmark_survival(df, "os", "crs", 30)
    assert res.survival is None and res.hazard_ratios == () and "no patient alive" in res.reason
    assert res.n == 0 and res.n_event_before == 2


def test_one_group_empty_at_the_landmark():
    # every CRS began after the landmark: nobody has CRS at day 30
    df = _toy([40, 45, None, None], [100, 200, 300, 400], [True, True, True, False])
    res = landmark_survival(df, "os", "crs", 30)
    assert "only 1 group" in res.survival.reason and res.survival.logrank_p is None
    assert res.hazard_ratios[0].hr is None and "no patient in this group" in res.hazard_ratios[0].reason
    # and nobody without CRS: no reference group
    res = landmark_survival(_toy([5, 6, 7], [100, 200, 300], [True, False, True]), "os", "crs", 30)
    assert res.hazard_ratios[0].hr is None and "reference group" in res.hazard_ratios[0].reason


def test_no_event_after_the_landmark():
    res = landmark_survival(_toy([5, None, 6, None], [100, 200, 300, 400], [False] * 4), "os", "crs", 30)
    assert res.survival.logrank_p is None and "no event" in res.survival.reason
    assert res.hazard_ratios[0].hr is None and "no event" in res.hazard_ratios[0].reason


def test_separation_gives_a_reason():
    # only the CRS patients die: the Cox likelihood is monotone
    res = landmark_survival(_toy([5, 6, None, None], [100, 200, 300, 400], [True, True, False, False]), "os", "crs", 30)
    assert res.survival.logrank_p is not None
    assert res.hazard_ratios[0].hr is None and "monotone" in res.hazard_ratios[0].reason


def test_lfs_before_the_response_assessment():
    res = landmark_survival(_toy([5], [100], [True]), "lfs", "crs", 10)
    assert res.survival is None and "response assessment" in res.reason


def test_grouping_without_onset_is_refused():
    with pytest.raises(ValueError, match="no onset date"):
        landmark_survival(_toy([5], [100], [True]), "os", "steroids")


# R> lm_model(lm, endpoint)   (tests/reference/r_landmark.R: the baseline model on the landmark subset,
# R+ coxph(Surv(months, event) ~ age + blast20 + ph + dose + sev, ties = "efron"), sev as known at the landmark)
R_LANDMARK_MODEL = {
    # (endpoint, day): (n, events, {term: (coef, se)}, joint Wald of the two severity terms)
    ("os", 30): (
        92,
        54,
        {
            "age": (-0.005903208010567, 0.008377957173002),
            "bm_blasts_ge20": (-0.481717239272305, 0.303000887401882),
            "ph_positive": (1.152322394637642, 0.348882919779244),
            "cart_dose_1e6_per_kg": (0.199272710823300, 0.116468668509923),
            "severity_ge3": (0.343952410972991, 0.497765615548425),
            "severity_other": (0.038280421059873, 0.421044394011839),
        },
        0.8142855027546,
    ),
    ("lfs", 30): (
        85,
        68,
        {
            "age": (0.002358396688481, 0.007220531062689),
            "bm_blasts_ge20": (-0.227412689817449, 0.271042038047354),
            "ph_positive": (1.129535039021962, 0.341096017647352),
            "cart_dose_1e6_per_kg": (0.094850072591585, 0.104292483400957),
            "severity_ge3": (0.057858966986482, 0.452527541852625),
            "severity_other": (-0.075197911405156, 0.371174856780992),
        },
        0.1922244703421,
    ),
    ("os", 90): (
        78,
        45,
        {
            "age": (-0.011371163457196, 0.009187455697749),
            "bm_blasts_ge20": (-0.008521961545495, 0.353170539400838),
            "ph_positive": (0.628218733131181, 0.442358829256131),
            "cart_dose_1e6_per_kg": (0.253675549893947, 0.127523966308170),
            "severity_ge3": (0.005087538028459, 0.540420264594181),
            "severity_other": (-0.294158095794742, 0.461140479068707),
        },
        0.8932152365208,
    ),
    ("lfs", 90): (
        65,
        53,
        {
            "age": (0.002503335986536, 0.008260691174927),
            "bm_blasts_ge20": (0.001750111619837, 0.325429695262320),
            "ph_positive": (0.830306729845275, 0.454123797347230),
            "cart_dose_1e6_per_kg": (0.043994933912410, 0.118468696847129),
            "severity_ge3": (0.105027922571920, 0.547169912402497),
            "severity_other": (-0.087405093419587, 0.460316695976713),
        },
        0.3123716611653,
    ),
}


@pytest.mark.parametrize("endpoint, day", sorted(R_LANDMARK_MODEL))
def test_landmark_model_matches_r(cohort, endpoint, day):
    from analysis.estimators.cox import ModelSpec
    from analysis.estimators.landmark import landmark_model

    n, events, terms, wald = R_LANDMARK_MODEL[(endpoint, day)]
    model = ModelSpec(
        "severity", ("age", "bm_blasts_pct", "ph_positive", "cart_dose_1e6_per_kg"), (("bm_blasts_pct", 20.0),)
    )
    res = landmark_model(cohort, endpoint, day, model)
    assert res.reason is None and (res.cox.n, res.cox.events) == (n, events)
    got = {t.key: (t.coef, t.se) for t in res.cox.terms}
    for key, values in terms.items():
        assert got[key] == pytest.approx(values, rel=1e-7), key
    assert res.cox.severity_global_chisq == pytest.approx(wald, rel=1e-7)
    assert res.cox.model == f"landmark day {day}"


def test_landmark_model_before_the_response_assessment_is_not_estimable_for_lfs(cohort):
    from analysis.estimators.cox import PUBLICATION_MODEL
    from analysis.estimators.landmark import landmark_model

    res = landmark_model(cohort, "lfs", 10, PUBLICATION_MODEL)
    assert res.cox is None and "precedes the day-30 response assessment" in res.reason
