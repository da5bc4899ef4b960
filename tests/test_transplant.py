"""Allogeneic HSCT after CAR-T: counts and timing, OS/LFS with HSCT as a time-dependent
covariate (R tmerge + counting-process coxph) and censored at HSCT, on the bundled demo.

R values from ``tests/reference/r_transplant.R`` (R 4.x, survival 3.5-3), which computes every
time from the dates of data/cohort.csv itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import cox
from analysis.estimators.transplant import (
    NONE_REASON,
    NOT_RECORDED_REASON,
    CountingEfron,
    censor_at_hsct_analysis,
    time_dependent_cox,
    transplant_analysis,
    transplant_counts,
)
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def df():
    return prepare_cohort(load_study(ROOT / "data" / "cohort.csv", None, "2023-03-01").cohort)


def close(a, b, tol=1e-7):
    return a == pytest.approx(b, rel=tol, abs=tol)


def test_counts_and_timing(df):
    c = transplant_counts(df)
    hsct, cr = df["hsct_date"], df["cr_day30"]
    assert c.n_hsct == int(hsct.notna().sum()) == 26
    # consolidation: in CR and before any relapse; the others after a relapse
    before_relapse = hsct.notna() & cr & (df["relapse_date"].isna() | (hsct < df["relapse_date"]))
    assert (c.n_in_cr, c.n_after_relapse, c.n_without_cr) == (int(before_relapse.sum()), 5, 0) == (21, 5, 0)
    months = (hsct - df["infusion_date"]).dt.days / 30.4375
    assert c.from_infusion.median == pytest.approx(months.median()) and c.from_infusion.n == 26
    assert c.from_cr.min > 1 and c.from_cr.max < 4  # the generator's 30-120 days after CR
    assert c.reason is None


def test_without_the_column_or_without_transplants_there_is_a_reason(df):
    assert transplant_counts(df.assign(hsct_date=pd.NaT), recorded=False).reason == NOT_RECORDED_REASON
    none = transplant_analysis(df.assign(hsct_date=pd.NaT))
    assert none.reason == NONE_REASON and not none.time_dependent and not none.censored


def test_the_transplant_splits_follow_up_as_tmerge_does(df):
    """HSCT before the LFS origin (the CR date) counts from the origin; on or after the end of
    follow-up never; an event on the transplant day counts before it (timevarying.counting_process)."""
    from analysis.estimators.timevarying import counting_process

    iv = counting_process([10, 8, 5, 6], [True, False, True, True], {"hsct": [3, np.nan, 5, -1]})
    rows = list(zip(iv.patient, iv.start, iv.stop, iv.event, iv.exposed["hsct"]))
    assert rows == [
        (0, 0, 3, False, 0),
        (0, 3, 10, True, 1),
        (1, 0, 8, False, 0),
        (2, 0, 5, True, 0),
        (3, 0, 6, True, 1),
    ]
    fit = time_dependent_cox(df, "os")
    assert fit.n_zero_time == 0 and fit.n_rows == len(df) + fit.n_hsct


def test_counting_efron_without_splits_is_the_ordinary_efron_fit(df):
    """One interval (0, time] per patient: the counting-process likelihood is the ordinary one."""
    x = df[["crs_any"]].astype(float)
    time, event = df["os_months"].to_numpy(), df["os_event"].to_numpy(dtype=bool)
    plain = cox._fit_efron(pd.DataFrame({"months": time, "event": event.astype(float), "crs": x["crs_any"]}), ["crs"])
    counting = cox._fit_efron(None, ["crs"], model=CountingEfron(np.zeros(time.size), time, event, x.to_numpy()))
    assert np.allclose(plain[0], counting[0], rtol=1e-10) and np.allclose(plain[1], counting[1], rtol=1e-10)


# R> os <- tmerge(d[, c("id", "crs", "icans")], d, id = id, death = event(os_months, died), hsct = tdc(hsct_os))
# R> coxph(Surv(tstart, tstop, death) ~ hsct, data = os, ties = "efron")     (rows 119, events 55)
# (coef, se, p) per term; LFS: the patients in CR, time from CR (rows 107, events 69)
R_TIME_DEPENDENT = {
    ("os", None): {"hsct": (0.192181784571647, 0.325224011783421, 0.554573176797812)},
    ("os", "crs"): {
        "yes": (0.0687968513262613, 0.368888204076480, 0.852054376688797),
        "hsct": (0.2013242493257502, 0.328961378059189, 0.540537986937827),
    },
    ("os", "icans"): {
        "yes": (-0.00132742312913103, 0.351011678584593, 0.996982642001624),
        "hsct": (0.19228019094035328, 0.326263912920813, 0.555633594274755),
    },
    ("lfs", None): {"hsct": (-0.142854437762254, 0.302150246599802, 0.636361066485852)},
    ("lfs", "crs"): {
        "yes": (-0.311237361195736, 0.321640285927879, 0.333215875431409),
        "hsct": (-0.213910790486272, 0.312886284110163, 0.494183925399093),
    },
    ("lfs", "icans"): {
        "yes": (0.215268277229425, 0.335284825404601, 0.520843323351497),
        "hsct": (-0.196399050952589, 0.315444388316243, 0.533540379035366),
    },
}


@pytest.mark.parametrize("key", list(R_TIME_DEPENDENT), ids=str)
def test_time_dependent_cox_matches_r(df, key):
    endpoint, grouping = key
    fit = time_dependent_cox(df, endpoint, grouping)
    assert (fit.n_rows, fit.events) == ((119, 55) if endpoint == "os" else (107, 69))
    terms = {t.key: t for t in fit.terms}
    for name, (coef, se, p) in R_TIME_DEPENDENT[key].items():
        t = terms[name]
        assert close(t.coef, coef) and close(t.se, se) and close(t.p, p), (name, t)
        assert close(t.hr, np.exp(coef)) and close(t.ci_low, np.exp(coef - 1.959963984540054 * se))


def test_censoring_at_hsct_matches_r(df):
    os_ = censor_at_hsct_analysis(df, "os")
    # R> o <- cut(os_months, died, hsct_os)     (time = min(time, HSCT); an event after HSCT is censored)
    # R> survdiff(Surv(o$time, o$event) ~ d$crs)$chisq                        0.00289353278903503
    # R> survdiff(Surv(o$time, o$event) ~ d$icans)$chisq                      0.208937825140394
    # R> coef(summary(coxph(Surv(o$time, o$event) ~ d$crs)))   coef -0.0223426856625359, se 0.44427779629139
    # R> summary(survfit(Surv(o$time, o$event) ~ 1))$table     events 41, median 29.5687885010267 (14.5872689938398-35.9753593429158)
    assert close(os_.survival["crs"].logrank_chisq, 0.00289353278903503, 1e-6)
    assert close(os_.survival["icans"].logrank_chisq, 0.208937825140394)
    hr = os_.hazard_ratios["crs"].hazard_ratios[0]
    assert close(hr.coef, -0.0223426856625359, 1e-6) and close(hr.se, 0.44427779629139)
    overall = os_.survival["all"].levels[0]
    assert overall.events == 41 == 55 - os_.n_events_removed
    assert close(overall.median_months, 29.5687885010267)
    assert close(overall.median_ci_low, 14.5872689938398) and close(overall.median_ci_high, 35.9753593429158)
    assert os_.n_censored == 26
    lfs = censor_at_hsct_analysis(df, "lfs")
    # R> survdiff(Surv(l$time, l$event) ~ cr$crs)$chisq                      3.82363993404042
    # R> coxph(Surv(l$time, l$event) ~ cr$crs)   coef -0.708112885406238, se 0.369034916598449, p 0.0550066695461707
    assert close(lfs.survival["crs"].logrank_chisq, 3.82363993404042)
    hr = lfs.hazard_ratios["crs"].hazard_ratios[0]
    assert close(hr.coef, -0.708112885406238) and close(hr.se, 0.369034916598449) and close(hr.p, 0.0550066695461707)
    assert lfs.n_censored == 21  # only the consolidative transplants fall inside LFS follow-up


def test_counting_efron_matches_r_with_entries_on_event_times():
    # tests/reference/r_transplant.R, last block: coxph(Surv(tstart, tstop, event) ~ x + z, ties = "efron")
    # coef x -1.319108262837078 (se 0.901987770414510), z 0.177151382212819 (se 0.850467107639426);
    # loglik at 0 and at the estimate: -13.1540480736708, -11.9697097782207
    start = [0, 0, 0, 2, 0, 3, 0, 1, 0, 2, 0, 0]
    stop = [2, 3, 3, 5, 3, 6, 1, 4, 2, 6, 5, 4]
    event = np.array([0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1], dtype=bool)
    X = np.column_stack([[0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1], [1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1]]).astype(float)
    model = CountingEfron(start, stop, event, X)
    coef, cov, converged, problem, _ = cox._fit_efron(None, ["x", "z"], model=model)
    assert converged and problem is None
    assert np.allclose(coef, [-1.319108262837078, 0.177151382212819], rtol=1e-8)
    assert np.allclose(np.sqrt(np.diag(cov)), [0.901987770414510, 0.850467107639426], rtol=1e-8)
    assert close(model.terms(np.zeros(2))[0], -13.1540480736708, 1e-10)
    assert close(model.terms(coef)[0], -11.9697097782207, 1e-10)
    with pytest.raises(ValueError, match="start < stop"):
        CountingEfron([0, 2], [1, 2], [True, False], np.zeros((2, 1)))


# --------------------------------------------------------------------------- through the results and the report


def _results(cohort_path, kinetics=None):
    from analysis.report.results import compute_results

    return compute_results(load_study(cohort_path, kinetics, "2023-03-01"))


@pytest.fixture(scope="module")
def results():
    return _results(ROOT / "data" / "cohort.csv")


def test_the_json_transplant_block(results):
    from analysis.report.export import results_to_dict

    out = results_to_dict(results)["transplant"]
    docs = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    for key in ("n_in_cr", "months_from_cr", "time_dependent", "censored_at_hsct", "n_events_removed", "n_rows"):
        assert key in docs and (key in out or key in str(out)), key
    assert out["recorded"] and out["n_hsct"] == 26 and "reason" not in out
    hsct = out["time_dependent"]["os"]["hsct"]["terms"]["hsct"]
    assert hsct["coef"] == pytest.approx(R_TIME_DEPENDENT[("os", None)]["hsct"][0], rel=1e-7)
    assert out["censored_at_hsct"]["lfs"]["crs"]["cox"]["levels"]["yes"]["p"] == pytest.approx(0.0550066695461707)
    assert results_to_dict(results)["cohort_flow"]["hsct_in_cr"] == 21


def test_the_prose_helpers_and_the_flag(results):
    from analysis.report.narrative import Narrative

    text = Narrative(results)
    assert text.hsct_recorded and text.hsct_analysed and text.hsct_reason == ""
    assert "hsct: true" in text.title_block
    assert text.hsct_n("n_in_cr", "n_cr") == "21 of 86 (24.4%)"
    assert text.hsct_timing("cr") == "2.4 (1.1–3.9) months"
    assert text.hsct_hr("os") == "HR 1.21 (95% CI 0.64–2.29), p = 0.555"
    assert text.hsct_censored_verdict("lfs", "crs", of="in LFS") == (
        "no significant difference in LFS was detected (HR 0.49, 95% CI 0.24–1.02; p = 0.051)"
    )


def test_an_export_without_the_column_says_transplants_were_not_recorded(tmp_path, results):
    from analysis.report.narrative import Narrative

    lines = (ROOT / "data" / "cohort.csv").read_text(encoding="utf-8").splitlines()
    frame = pd.read_csv(ROOT / "data" / "cohort.csv", comment="#", dtype=str, keep_default_na=False)
    path = tmp_path / "cohort.csv"
    path.write_text(lines[0] + "\n" + frame.drop(columns="hsct_date").to_csv(index=False), encoding="utf-8")
    study = load_study(path, None, "2023-03-01")
    assert study.absent_columns == ("hsct_date",)
    without = _results(path)
    text = Narrative(without)
    assert not text.hsct_recorded and not text.hsct_analysed
    assert text.hsct_reason == NOT_RECORDED_REASON and "hsct: false" in text.title_block
    assert without.cohort_flow.hsct_in_cr is None and np.isnan(without.swimmer.hsct).all()
    # everything else is the same analysis
    assert without.survival[("os", "crs")].logrank_p == results.survival[("os", "crs")].logrank_p


def test_the_displays_show_the_transplant_only_when_recorded(results):
    import dataclasses

    from analysis.report import figures, tables

    flow = results.cohort_flow
    drawn = " ".join(t.get_text() for t in figures.flow_diagram(flow).axes[0].texts)
    assert f"Allogeneic HSCT in CR\nn = {flow.hsct_in_cr_mrd_negative}\n(all CR: {flow.hsct_in_cr})" in drawn
    not_recorded = dataclasses.replace(flow, hsct_in_cr=None, hsct_in_cr_mrd_negative=None)
    assert "HSCT" not in " ".join(t.get_text() for t in figures.flow_diagram(not_recorded).axes[0].texts)
    legend = figures.swimmer_plot(results.swimmer).legends[0]
    assert "Allogeneic HSCT" in [t.get_text() for t in legend.get_texts()]
    table = tables.hsct_table(results.transplant, results.survival_hr).markdown
    # the main analysis column is the survival table's univariable HR; the others are the R-checked fits
    assert "| CRS vs no CRS | 1.04 (0.51–2.12) | 1.07 (0.52–2.21) | 0.852 | 0.98 (0.41–2.34) |" in table
    assert table.count("Allogeneic HSCT (time-dependent)") == 2


def test_the_onset_figure_draws_both_toxicities(results):
    from analysis.report import figures

    fig = figures.onset_plot(results.onset)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["CRS (76 of 93; median day 6)", "ICANS (16 of 93; median not reached)"]
    assert len([c for c in fig.axes[0].collections if c.get_gid() == "ci_band"]) == 2
