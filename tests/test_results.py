"""The results object and its JSON export (docs/results.md).

Reference values: the counts printed in the publication (Results text and Table 1),
which the bundled synthetic cohort reproduces by construction, and the structural
rules of the results contract.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.registry.concepts import VARIABLES
from analysis.registry.groups import GROUPINGS, TABLE1_GROUPINGS
from analysis.report.export import results_to_json
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results

ROOT = Path(__file__).resolve().parent.parent
COHORT = ROOT / "data" / "cohort.csv"
KINETICS = ROOT / "data" / "kinetics.csv"


@pytest.fixture(scope="module")
def study(bundled_study):
    return bundled_study  # the session's bundled demo (cut-off 2023-03-01) and its results (conftest.py)


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results


@pytest.fixture(scope="module")
def exported(results):
    return json.loads(results_to_json(results))


def _walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, node


def _get(d, dotted):
    for part in dotted.split("."):
        d = d[part]
    return d


def test_every_contract_key_exists(exported):
    for key in ("followup.median_months", "followup.ci_low", "followup.ci_high"):
        _get(exported, key)
    for variable, definition in VARIABLES.items():
        kind = definition.compared_as
        for g in TABLE1_GROUPINGS:
            row = exported["table1"][variable][g]
            assert row["test"] in {"mann_whitney", "kruskal_wallis", "chi_square", "fisher_exact"}
            assert 0 <= row["p"] <= 1
            assert set(row["levels"]) == set(GROUPINGS[g].keys)
            for level in row["levels"].values():
                assert ("median" in level) if kind == "continuous" else ("counts" in level and "percent" in level)
    for r in ("cr", "mrd_negative_cr"):
        for g in GROUPINGS:
            block = exported["response"][r][g]
            assert {"p", "test", "levels"} <= set(block)
            for level in block["levels"].values():
                assert {"n", "events", "rate", "ci_low", "ci_high"} <= set(level)
    level_fields = {"n", "events", "median_months", "median_ci_low", "median_ci_high"} | {
        f"surv_{m}m{s}" for m in (12, 24, 36) for s in ("", "_ci_low", "_ci_high")
    }
    for e in ("os", "lfs"):
        assert level_fields <= set(exported["survival"][e]["all"])
        for g in GROUPINGS:
            block = exported["survival"][e][g]
            assert {"logrank_p", "logrank_chisq", "df"} <= set(block)
            for level in block["levels"].values():
                assert level_fields <= set(level)
        cox = exported["cox"][e]  # the study's model: baseline confounders by default
        assert set(cox["terms"]) == {
            "age",
            "bm_blasts_ge20",
            "ph_positive",
            "cart_dose_1e6_per_kg",
            "severity_ge3",
            "severity_other",
        }
        assert cox["model"] == "baseline" and cox["n_coefficients"] == 6
        assert cox["events_per_variable"] == cox["events"] / 6
        publication = exported["cox_publication"][e]  # the bundled demo keeps the publication's beside it
        assert set(publication["terms"]) == {
            "bm_blasts_ge20",
            "steroids",
            "tocilizumab",
            "severity_ge3",
            "severity_other",
        }
        for model in (cox, publication):
            for term in model["terms"].values():
                assert {"hr", "ci_low", "ci_high", "p"} <= set(term)
            assert {"severity_global_p", "n", "events", "ties", "ph_test_global_p", "n_missing"} <= set(model)
            assert model["ties"] == "efron"
        for g in ("crs", "icans", "severity"):
            td = exported["time_dependent"][e][g]
            assert {"mantel_byar_chisq", "mantel_byar_df", "mantel_byar_p", "cox", "levels", "n_changed"} <= set(td)
        assert exported["time_dependent"][e]["multivariable"]["model"] == "time-dependent"
        for day in ("30", "90"):
            assert exported["landmark_models"][day][e]["model"] == f"landmark day {day}"
    assert exported["analysis_plan"]["covariates_used"] == [
        "age",
        "bm_blasts_pct",
        "ph_positive",
        "cart_dose_1e6_per_kg",
    ]
    for t in ("crs", "icans"):
        assert {"n", "n_after_day0", "median_day"} <= set(exported["time_dependent"]["onsets"][t])
    for g in GROUPINGS:
        block = exported["kinetics"]["peak"][g]
        assert {"p", "test", "levels"} <= set(block)
        for level in block["levels"].values():
            assert {"n", "median", "min", "max"} <= set(level)


def test_kinetics_multiplicity_and_e_value_keys_exist(exported):
    """The keys docs/results.md documents for Tmax/AUC, the visit windows, E-values and p-values."""
    kinetics = exported["kinetics"]
    for metric in ("cmax", "tmax", "auc"):
        for g in ("crs", "icans", "concurrent", "severity"):
            block = kinetics["metrics"][metric][g]
            assert {"p", "test", "levels", "effects"} <= set(block)
            reference = {"concurrent": "others"}.get(g, "none" if g == "severity" else "no")
            assert set(block["effects"]) == set(GROUPINGS[g].keys) - {reference}
            for effect in block["effects"].values():
                assert effect["reference"] == reference
                assert effect["scale"] == ("shift" if metric == "tmax" else "ratio")
                assert {"estimate", "ci_low", "ci_high", "method", "n", "n_reference"} <= set(effect)
                assert effect["ci_low"] <= effect["estimate"] <= effect["ci_high"]
    assert set(kinetics["auc"]) == {
        "n_patients",
        "n_auc",
        "n_day0_imputed",
        "n_day28_interpolated",
        "n_no_early_sample",
        "n_no_late_sample",
    }
    assert kinetics["visit_windows"][0] == {"day": 7, "within": 3}
    row = kinetics["profiles"]["crs"][0]
    assert set(row) == {"level", "day", "within", "n", "median", "q1", "q3"}
    for e in ("os", "lfs"):
        for term in exported["cox"][e]["terms"].values():
            assert term["e_value"] >= 1 and term["e_value_ci"] >= 1
        assert exported["cox"][e]["e_value_rare_outcome"] is False  # most patients have the event
        for level in exported["survival"][e]["crs"]["cox"]["levels"].values():
            assert level["e_value"] >= 1
    pvalues = exported["pvalues"]
    assert {"alpha", "n", "families", "rows"} <= set(pvalues)
    distinct = [row for row in pvalues["rows"] if "same_as" not in row]  # a repeat points to its twin
    assert pvalues["n"] == len(distinct) == sum(f["n"] for f in pvalues["families"].values())
    assert set(pvalues["rows"][0]) == {"family", "label", "test", "p", "p_holm", "p_bh", "path"}
    for row in pvalues["rows"]:
        assert 0 <= row["p"] <= row["p_bh"] <= row["p_holm"] <= 1  # BH never exceeds Holm


def test_nulls_carry_reasons_and_numbers_are_finite(exported):
    flat = dict(_walk(exported))
    for path, value in flat.items():
        if value is None:
            parent, _, key = path.rpartition(".")
            sibling = f"{parent}.{key}_reason" if parent else f"{key}_reason"
            assert isinstance(flat.get(sibling), str) and flat[sibling], f"{path} is null without a reason"
        if isinstance(value, float):
            assert math.isfinite(value), path


def test_export_holds_no_identifier_and_no_individual_date(study, exported):
    text = json.dumps(exported)
    for pid in study.cohort["patient_id"]:
        assert f'"{pid}"' not in text and pid not in text
    dates = set(re.findall(r"\d{4}-\d{2}-\d{2}", text))
    assert dates <= {"2023-03-01"}  # only the cut-off, a study parameter


def test_table1_counts_follow_the_publication(exported):
    # Table 1 of the publication: sex by CRS (yes: 41 M / 35 F; no: 6 M / 11 F) and
    # steroids by CRS (51/76 vs 0/17), tested by chi-square without continuity correction.
    sex = exported["table1"]["sex"]["crs"]
    assert sex["levels"]["yes"]["counts"] == {"M": 41, "F": 35}
    assert sex["levels"]["no"]["counts"] == {"M": 6, "F": 11}
    assert sex["test"] == "chi_square"
    assert sex["p"] == pytest.approx(0.16435, abs=5e-6)  # R: chisq.test(matrix(c(41,35,6,11),2), correct=FALSE)
    steroids = exported["table1"]["steroids"]["crs"]
    assert steroids["levels"]["yes"]["counts"]["yes"] == 51 and steroids["levels"]["no"]["counts"]["yes"] == 0


def test_narrative_words_follow_the_numbers(results):
    text = Narrative(results)
    assert text.n_of("n_crs") == "76 of 93 (81.7%)"  # the publication's "76 (81.7%)"
    assert text.n_of("n_cr") == "86 of 93 (92.5%)"  # the publication's "86 (92.5%)"
    p = results.survival[("os", "crs")].logrank_p
    assert text.differ("survival", ("os", "crs")) == (
        "differed significantly" if p < 0.05 else "showed no statistically significant difference"
    )
    assert text.cutoff == "March 2023"  # month and year: the setting never prints a day


def test_degenerate_cohort_gives_reasons_not_errors(study):
    # Everybody with CRS: no comparison group for the CRS grouping; nobody in CR: no LFS.
    cohort = study.cohort.copy()
    no_crs = cohort["crs_grade"].eq(0)
    cohort.loc[no_crs, "crs_grade"] = 1
    cohort.loc[no_crs, "crs_onset_day"] = 3
    degenerate = dataclasses.replace(study, cohort=cohort)
    results = compute_results(degenerate)
    exported = json.loads(results_to_json(results))
    crs = exported["survival"]["os"]["crs"]
    assert crs["logrank_p"] is None and crs["logrank_p_reason"]
    assert exported["table1"]["age"]["crs"]["p"] is None
    assert exported["table1"]["age"]["crs"]["p_reason"]


def test_results_command_writes_the_json(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "results", str(COHORT), "--kinetics", str(KINETICS), "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["n_patients"] == 93 and data["cox"]["os"]["ties"] == "efron"


def test_il6_by_marrow_blasts_matches_r(exported):
    # The Discussion's "IL-6 higher with blasts >= 20% (p < 0.001)". Reference, on the bundled data:
    #   d <- read.csv("data/cohort.csv", comment.char="#")
    #   wilcox.test(d$il6_peak_pg_ml[d$bm_blasts_pct >= 20], d$il6_peak_pg_ml[d$bm_blasts_pct < 20])
    #   W = 1681, p-value = 1.3095720555e-07   (normal approximation: ties present;
    #   p printed with format(w$p.value, digits=12))
    row = exported["extra"]["il6_by_bm_blasts_ge20"]
    assert row["test"] == "mann_whitney"
    assert row["statistic"] == 1681
    assert row["p"] == pytest.approx(1.3095720555e-07, rel=1e-9)


def test_effect_keys_exist_for_every_comparison(exported):
    """Documented in docs/results.md: response effects for two-level groupings,
    a univariable Cox HR per compared level of every grouping, Schoenfeld's detectable HR."""
    effect_keys = {
        "level",
        "reference",
        "difference",
        "difference_ci_low",
        "difference_ci_high",
        "odds_ratio",
        "odds_ratio_ci_low",
        "odds_ratio_ci_high",
    }
    for r in ("cr", "mrd_negative_cr"):
        for g, grouping in GROUPINGS.items():
            block = exported["response"][r][g]
            assert (effect_keys <= set(block["effect"])) if len(grouping.levels) == 2 else ("effect" not in block)
    for e in ("os", "lfs"):
        for g, grouping in GROUPINGS.items():
            cox = exported["survival"][e][g]["cox"]
            assert cox["reference"] in grouping.keys and cox["ties"] == "efron"
            assert set(cox["levels"]) == set(grouping.keys) - {cox["reference"]}
            for level in cox["levels"].values():
                assert {"hr", "ci_low", "ci_high", "p"} <= set(level)
            if len(grouping.levels) == 2:
                assert {"events", "proportion", "alpha", "power", "hr_below", "hr_above"} <= set(
                    exported["survival"][e][g]["detectable_hr"]
                )


def test_bundled_cohort_cr_by_crs_effect_matches_r(exported):
    # 69 of 76 with CRS and 17 of 17 without reached CR.
    # R> fisher.test(matrix(c(69, 17, 7, 0), 2))      ->  0 0 3.12971172722257
    # R> Newcombe from prop.test(69, 76, correct = FALSE) and prop.test(17, 17, correct = FALSE):
    #    -0.0921052631578947 -0.178127078489362 0.0980544738275948
    effect = exported["response"]["cr"]["crs"]["effect"]
    assert (effect["level"], effect["reference"]) == ("yes", "no")
    assert effect["odds_ratio"] == 0 and effect["odds_ratio_ci_low"] == 0
    assert effect["odds_ratio_ci_high"] == pytest.approx(3.12971172722257, rel=1e-9)
    assert [effect["difference"], effect["difference_ci_low"], effect["difference_ci_high"]] == pytest.approx(
        [-0.0921052631578947, -0.178127078489362, 0.0980544738275948], abs=1e-12
    )
