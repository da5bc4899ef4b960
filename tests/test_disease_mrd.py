"""The MM report's MRD-negative ≥CR rate: its own denominator shown, and no rate without an
MRD result (attack round 5 of issue 22: with MRD "not done" for everyone, the abstract and
Table 3 printed "MRD-negative ≥CR rate 0.0% (95% CI 0.0–4.3%)", 0 of the 86 patients below
CR; the bundled demo's row "All patients | 128 | ... 33 (26.6%)" was 33/124)."""

import pandas as pd
from conftest import ROOT

from analysis.inputs.studyfile import load_settings, resolve_study
from analysis.report.disease_results import compute_disease_results, disease_plan
from analysis.report.narrative.disease import DiseaseNarrative

MM_DEMO = ROOT / "data" / "mm" / "cohort.csv"


def _narrative(study=None):
    settings = resolve_study(study or "", disease="mm", base=ROOT)
    results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
    return results, DiseaseNarrative(results, settings)


def _by_hand(frame: pd.DataFrame) -> tuple[int, int]:
    """MRD-negative ≥CR from the raw export: a patient in sCR/CR counts when MRD is "yes", is
    left out when it is empty or "not done"; every other evaluated patient is a non-responder."""
    in_cr = frame["best_response"].isin(["sCR", "CR"])
    known = frame["mrd_negative"].isin(["yes", "no"])
    denominator = int((~in_cr | known).sum())
    return int((in_cr & frame["mrd_negative"].eq("yes")).sum()), denominator


def test_the_rate_shows_its_own_denominator_where_it_is_not_the_rows():
    raw = pd.read_csv(MM_DEMO, comment="#", dtype=str, keep_default_na=False)
    events, n = _by_hand(raw)
    assert (events, n) == (33, 124) and len(raw) == 128  # four patients in CR without an MRD result
    results, text = _narrative()
    table = text.rates_table()
    row = next(line for line in table.splitlines() if line.startswith("| All patients |"))
    assert row.startswith("| All patients | 128 | ") and f"| {events}/{n} ({100 * events / n:.1f}%;" in row
    assert "k/n: the rate's own denominator" in table
    # a column whose denominator is the row's keeps the plain count
    assert "| 94 (73.4%;" in row
    assert results.mrd_not_assessed == ()


def test_without_any_mrd_result_the_rate_is_not_reported(tmp_path):
    raw = pd.read_csv(MM_DEMO, comment="#", dtype=str, keep_default_na=False)
    raw["mrd_negative"] = "not done"
    export = tmp_path / "mm.csv"
    raw.to_csv(export, index=False)
    study = tmp_path / "study.yml"
    study.write_text(f"disease: mm\ndata:\n  cohort: {export}\n  cutoff: 2020-10-16\n", encoding="utf-8")
    results, text = _narrative(study)
    assert results.mrd_not_assessed == ("mrd_cr",)
    assert not any(key[0] == "mrd_cr" for key in results.rates)
    assert not any("mrd_cr" in row.path for row in results.pvalues.rows)
    table = text.rates_table()
    assert "MRD-negative ≥CR rate" not in table.splitlines()[0]
    assert "No patient in sCR/CR had an MRD result: the MRD-negative ≥CR rate is not reported" in table
    assert "MRD-negative" not in text.responders_phrase
