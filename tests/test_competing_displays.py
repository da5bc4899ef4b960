"""Displays and prose of the competing-risks and landmark analyses, the cohort flow and
the swimmer plot: what is drawn and written, on the bundled data and on degenerate data.

Counts are checked against a direct pandas count of the raw export (independent of the
library's derived columns); statistics themselves are checked against R in
tests/test_competing.py and tests/test_landmark.py.
"""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from conftest import COHORT, KINETICS, report_parameter

from analysis.estimators.competing import compare_competing
from analysis.estimators.landmark import landmark_survival
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort
from analysis.report import figures
from analysis.report.cohort_flow import swimmer_timelines
from analysis.report.export import results_to_json
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results
from analysis.report.tables import cif_table


@pytest.fixture(scope="module")
def study(bundled_study):
    return bundled_study  # the session's bundled demo and its results (conftest.py)


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(COHORT, comment="#", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- cohort flow


def test_flow_counts_from_the_raw_export(results, raw):
    flow = results.cohort_flow
    cr = raw["cr_day30"] == "yes"
    relapsed = cr & (raw["relapse_date"] != "")
    died = cr & (raw["death_date"] != "") & ~relapsed
    mrd_neg = cr & (raw["mrd_negative"] == "yes")
    end = pd.to_datetime(raw["death_date"].where(raw["death_date"] != "", raw["last_followup_date"]))
    alive_after_30 = (end - pd.to_datetime(raw["infusion_date"])).dt.days > 30
    assert flow.infused == len(raw)
    assert flow.cr == cr.sum() and flow.mrd_negative_cr == mrd_neg.sum()
    assert flow.mrd_positive_or_unknown_cr == (cr & ~mrd_neg).sum()
    assert flow.evaluable == (cr | alive_after_30).sum()
    assert flow.infused == flow.evaluable + flow.not_evaluable and flow.evaluable == flow.cr + flow.no_cr
    assert (flow.relapsed, flow.died_without_relapse) == (relapsed.sum(), died.sum())
    assert flow.relapsed + flow.died_without_relapse + flow.alive_in_cr == flow.cr
    assert flow.relapsed_mrd_negative == (relapsed & mrd_neg).sum()
    assert (
        flow.relapsed_mrd_negative + flow.died_without_relapse_mrd_negative + flow.alive_in_cr_mrd_negative
        == flow.mrd_negative_cr
    )
    # the CR cohort of the flow is the competing-risks cohort
    assert (results.competing["all"].n_relapse, results.competing["all"].n_nrm) == (
        flow.relapsed,
        flow.died_without_relapse,
    )


def test_flow_diagram_prints_every_count(results):
    flow = results.cohort_flow
    fig = figures.flow_diagram(flow)
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for label, n in (
        ("Infused", flow.infused),
        ("Assessed at day 30", flow.evaluable),
        ("Not in CR", flow.no_cr),
        ("MRD-negative CR", flow.mrd_negative_cr),
        ("Alive in CR", flow.alive_in_cr_mrd_negative),
    ):
        assert f"{label}\nn = {n:,}" in text
    assert f"(all CR: {flow.relapsed:,})" in text


# --------------------------------------------------------------------------- swimmer plot


def test_swimmer_rows_are_ordered_by_follow_up_and_hold_no_identifier(results, study):
    t = results.swimmer
    assert t.shown == t.n_patients == len(study.cohort)
    assert np.all(np.diff(t.follow_up) <= 0)
    assert np.all(t.relapse[~np.isnan(t.relapse)] > t.cr[~np.isnan(t.relapse)])
    assert set(vars(t)) == {
        "follow_up",
        "died",
        "crs_onset",
        "icans_onset",
        "cr",
        "relapse",
        "hsct",
        "n_patients",
        "shown",
    }
    fig = figures.swimmer_plot(t)
    early, late = fig.axes
    assert early.get_yticks().size == 0 and len(figures.swimmer_bar_ends(early)) == t.shown
    # issue 21: onsets are measured in days; the first weeks get a panel in days (CRS and
    # ICANS onsets all fall in it here), the rest of follow-up one in months
    assert early.get_xlabel() == "Days after infusion" and late.get_xlabel() == "Months after infusion"
    assert early.get_xlim() == (0, figures.SWIMMER_EARLY_DAYS)
    onsets = [ln for ln in early.lines if ln.get_marker() in ("o", "D")]
    drawn = sum(len(ln.get_xdata()) for ln in onsets)
    assert drawn == int((~np.isnan(t.crs_onset)).sum() + (~np.isnan(t.icans_onset)).sum())
    assert len(figures.swimmer_bar_ends(late)) == int((t.follow_up > figures.SWIMMER_EARLY_DAYS / 30.4375).sum())
    assert not any("shown" in txt.get_text() for txt in early.texts)


def test_swimmer_is_thinned_with_a_note(study):
    df = prepare_cohort(study.cohort)
    t = swimmer_timelines(df, max_patients=40)
    assert t.shown == 40 and t.n_patients == len(df)
    assert t.follow_up[0] == df["os_months"].max() and t.follow_up[-1] == df["os_months"].min()
    notes = [x.get_text() for x in figures.swimmer_plot(t).axes[0].texts]
    assert notes == [f"40 of {len(df)} patients shown, at evenly spaced ranks of follow-up"]


# --------------------------------------------------------------------------- CIF and landmark figures


def test_cif_plot_curves_gray_p_and_risk_table(results):
    fig = figures.cif_plot(results.competing["crs"], "relapse")
    ax, ax_risk = fig.axes
    assert ax.get_ylabel() == "Relapse incidence (%)" and ax.get_xlabel() == "Months since CR"
    assert len(ax.lines) == 2
    assert "Gray's test p = 0.245" in [t.get_text() for t in ax.texts]  # R: 0.245274460738
    at_risk = [t.get_text() for t in ax_risk.texts]
    assert at_risk[: len(results.competing["crs"].at_risk["no"])] == [
        str(n) for n in results.competing["crs"].at_risk["no"]
    ]
    # the curve is the estimate in percent, ending at the group's last follow-up
    no = results.competing["crs"].causes["relapse"].levels[0]
    x, y = ax.lines[0].get_data()
    assert x[-1] == pytest.approx(no.curve.last_time) and y[-1] == pytest.approx(100 * no.curve.estimate[-1])


def test_landmark_plot_axis_says_where_time_starts(results):
    fig = figures.landmark_km_plot(results.landmark[("os", "crs")])
    assert fig.axes[0].get_xlabel() == "Months since the day-30 landmark"


def _degenerate(df, **changes):
    out = df.copy()
    for column, value in changes.items():
        out[column] = value
    return prepare_cohort(out)


def test_degenerate_panels_say_why(study):
    cohort = study.cohort
    nobody_in_cr = _degenerate(cohort, cr_day30=False, mrd_negative=pd.NA, cr_date=pd.NaT, relapse_date=pd.NaT)
    fig = figures.cif_plot(compare_competing(nobody_in_cr, "crs"), "nrm")
    assert "not estimable (no patient in CR)" in " ".join(fig.axes[0].texts[0].get_text().split())
    late = cohort.assign(
        last_followup_date=cohort["infusion_date"] + pd.Timedelta(days=5),
        death_date=cohort["infusion_date"] + pd.Timedelta(days=5),
    )
    lm = landmark_survival(prepare_cohort(late), "os", "crs", 30)
    fig = figures.landmark_km_plot(lm)
    assert "not estimable (no patient alive and event-free after day 30)" in " ".join(
        fig.axes[0].texts[0].get_text().split()
    )
    empty = swimmer_timelines(prepare_cohort(cohort.iloc[:0]))
    assert "no patient" in figures.swimmer_plot(empty).axes[0].texts[0].get_text()


def test_no_relapse_anywhere_gives_reasons_in_results_and_prose(study):
    from dataclasses import replace

    results = compute_results(replace(study, cohort=study.cohort.assign(relapse_date=pd.NaT)))
    text = Narrative(results)
    assert results.competing["all"].n_relapse == 0
    assert text.cif("relapse", 12).startswith("0.0% (95% CI not estimable: no event of this cause yet")
    assert text.verdict("relapse", by="crs", of="in the cumulative incidence of relapse").startswith(
        "no test of a difference in the cumulative incidence of relapse was possible "
        "(Gray's test not estimable (no event"
    )
    exported = json.loads(results_to_json(results))
    relapse = exported["competing"]["crs"]["relapse"]
    assert relapse["gray_p"] is None and "no event" in relapse["gray_p_reason"]
    assert relapse["levels"]["yes"]["cif_12m_ci_low"] is None and relapse["levels"]["yes"]["cif_12m_ci_low_reason"]
    figures.cif_plot(results.competing["crs"], "relapse")  # draws, no exception


# --------------------------------------------------------------------------- table, prose, JSON


def test_cif_table_rows_and_gray_p(results):
    md = cif_table(results.competing, ("crs", "severity")).markdown
    # R: no CRS relapse at 12 months 0.563025210084, CI 0.2775665844556-0.773021122226; Gray p 0.245274460738
    md = md.replace("\u2003", "")  # the indent of level rows
    assert "| No CRS | 17 | 56.3 (27.8–77.3) |" in md
    assert "0.245" in md and "0.643" in md
    # Grade >=3 CRS (18 in CR) is followed 13.7 months: no 24-month value (R timepoints: NA);
    # R: relapse 0.257175925926 (0.0685635459125-0.502521333316), NRM 0.417824074074 (0.1744648210972-0.646496929246)
    grade = cif_table(results.competing, ("crs_grade",)).markdown.replace("\u2003", "")
    row = next(line for line in grade.splitlines() if line.startswith("| CRS grade ≥3 |"))
    assert row.split(" | ")[1:6] == ["18", "25.7 (6.9–50.3)", "—", "41.8 (17.4–64.6)", "—"]


def test_verdicts_follow_the_tests(results):
    text = Narrative(results)
    relapse = "in the cumulative incidence of relapse"
    assert text.verdict("relapse", by="crs", of=relapse) == (
        "no significant difference in the cumulative incidence of relapse was detected (Gray's test p = 0.245)"
    )
    assert text.verdict("os", by="crs", at="landmark", of="in OS") == (
        "no significant difference in OS was detected (log-rank p = 0.976; HR 1.01, 95% CI 0.50–2.07)"
    )
    assert text.p("os", by="crs", at="landmark") == "p = 0.976" and text.p("relapse", by="crs") == "p = 0.245"
    assert text.landmark_day == "30"
    for phrase in ("did not differ", "no difference", "similar"):
        assert phrase not in text.verdict("nrm", by="icans") + text.verdict("lfs", by="icans", at="landmark")


def test_significant_verdict_wording(results):
    from dataclasses import replace

    from analysis.estimators.competing import GrayTest

    crs = results.competing["crs"]
    significant = replace(
        crs, causes={**crs.causes, "relapse": replace(crs.causes["relapse"], gray=GrayTest(5.0, 1, 0.0253))}
    )
    text = Narrative(replace(results, competing={**results.competing, "crs": significant}))
    assert text.verdict("relapse", by="crs", of="in the cumulative incidence of relapse") == (
        "a significant difference in the cumulative incidence of relapse was found (Gray's test p = 0.025)"
    )
    assert text.tests(["relapse", "nrm"], by="crs").listed_p == "relapse by CRS (p = 0.025)"


def test_json_block(results):
    exported = json.loads(results_to_json(results))
    assert exported["landmark"]["landmark_day"] == 30
    assert set(exported["competing"]) == {
        "all",
        *__import__("analysis.registry.groups", fromlist=["GROUPINGS"]).GROUPINGS,
    }
    lm = exported["landmark"]["os"]["crs"]
    assert lm["n"] == 92 and lm["hr"]["yes"]["hr"] == pytest.approx(1.01336455196, abs=1e-8)  # R coxph
    assert exported["competing"]["severity"]["nrm"]["gray_p"] == pytest.approx(0.414411669223, abs=1e-9)  # R cuminc
    assert compute_results(load_study(COHORT, KINETICS, report_parameter("cutoff")), landmark_day=10).landmark_day == 10
