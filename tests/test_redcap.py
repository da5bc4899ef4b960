"""REDCap exports as they come (issue 19): one flat file with a repeating kinetics
instrument or sampling events, data access groups, REDCap's dictionary CSV beside it, raw
codes or labels, "not done" values and columns the registry does not collect.

Each export of tests/registry_exports.py goes `map` -> `validate` -> results with only the
cut-off written by hand: validate reports exactly the planted errors and nothing about
repeat rows, and the counts (MRD not done kept apart) are those of the patients the
export was written from, counted here independently of the library.
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, Rendered, background_render, register_render, warm_env
from registry_exports import (
    MRD_NOT_DONE,
    NOT_EVALUABLE,
    REDCAP_CUTOFF,
    REDCAP_N,
    REDCAP_PLANTED_ERRORS,
    redcap_truth,
    write_redcap_dictionary,
    write_redcap_export,
)

from analysis import cli
from analysis.estimators.quality import data_quality
from analysis.inputs import mapping, redcap
from analysis.inputs.errors import DataRefused, InputError
from analysis.inputs.loading import load_study
from analysis.inputs.mapping import MAP_AUTHOR, MAP_TITLE
from analysis.inputs.studyfile import StudyFileError, load_settings, resolve_study
from analysis.registry.contract import LOST_TO_FOLLOWUP_DAYS
from analysis.report.results import compute_results

#: (design, labels, excel) of the exports every test below goes through.
VARIANTS = {
    "repeating-raw-csv": ("repeating", False, False),
    "events-raw-csv": ("events", False, False),
    "repeating-labels-xlsx": ("repeating", True, True),
    "events-labels-csv": ("events", True, False),
}


def _set_cutoff(study: Path) -> Path:
    """The one hand edit: the cut-off (map proposes everything else)."""
    lines = study.read_text(encoding="utf-8").splitlines()
    edited = [f"  cutoff: {REDCAP_CUTOFF}" if line.startswith("  cutoff:") else line for line in lines]
    assert edited != lines
    study.write_text("\n".join(edited) + "\n", encoding="utf-8")
    return study


def _map(folder: Path, export: Path, capsys) -> tuple[Path, str]:
    study = folder / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    return _set_cutoff(study), capsys.readouterr().out


@pytest.fixture(scope="module")
def truth():
    cohort, kinetics = redcap_truth()
    return cohort, kinetics


# --------------------------------------------------------------------------- map -> validate


@pytest.mark.parametrize("variant", VARIANTS)
def test_map_then_validate_reports_exactly_the_planted_errors(variant, tmp_path, capsys):
    design, labels, excel = VARIANTS[variant]
    export, dictionary = write_redcap_export(tmp_path, design, labels=labels, excel=excel)
    study, out = _map(tmp_path, export, capsys)
    # what map found, said once at the top; the dictionary CSV beside the export was read
    assert f"data dictionary {dictionary.name}" in out
    instrument = "CAR-T Kinetics" if labels else "cart_kinetics"
    found = (
        f"{REDCAP_N} records, 339 rows of repeating instrument {instrument} -> kinetics"
        if design == "repeating"
        else "339 rows of 10 sampling events -> kinetics (day after infusion from the event names)"
    )
    assert found in out, out
    assert "not read (not part of the contract): 44 rows of repeating instrument" in out
    # doubts first, and no "every required column is mapped" while there are any
    assert out.index("Check these before you validate") < out.index("cohort columns:")
    assert "Every required column is mapped." not in out
    text = study.read_text(encoding="utf-8")
    assert "# tocilizumab_cum_mg: " in text and "HELD BACK" in text  # doses, not mg: not read
    assert "not_collected: [dex_equiv_cum_mg]" in text

    problems = tmp_path / "problems.csv"
    assert cli.main(["validate", "--study", str(study), "--problems", str(problems)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{len(REDCAP_PLANTED_ERRORS)} problems found")
    for words in ("duplicate patient_id", "required (the cell is empty)", "missing column", "not a "):
        assert words not in out, words
    with open(problems, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["severity"] == "error"]
    assert sorted(r["column"] for r in rows) == sorted(c for c, _ in REDCAP_PLANTED_ERRORS)
    for column, rule in REDCAP_PLANTED_ERRORS:
        assert any(r["column"] == column and rule in r["rule"] for r in rows), (column, rows)
    if not excel:  # the row is the file's row: the record and the bad value are on it
        with open(export, encoding="utf-8-sig", newline="") as fh:
            lines = list(csv.reader(fh))
        for r in rows:
            line = lines[int(r["row"]) - 1]
            assert line[0] == r["record"], (r, line[:3])
            if r["column"] == "age":
                assert "150" in line


def test_map_finds_every_column_of_the_raw_export(tmp_path):
    export, _ = write_redcap_export(tmp_path, "repeating", errors=False)
    proposal = mapping.propose_mapping(export)
    found = {m.name: (m.header, m.how) for m in proposal.cohort_matches}
    assert found["patient_id"] == ("record_id", "known label")
    assert found["center"] == ("redcap_data_access_group", "known label")
    assert found["seizure"][0] == "icans_sx___2"  # the checkbox option "Seizure" of "ICANS symptoms"
    assert found["bm_blasts_pct"][0] == "bm_blasts"  # label "BM blasts before CAR-T (%)"
    assert found["last_followup_date"][0] == "lfu_dt"  # "Date of last FU"
    assert found["cr_day30"][0] == "resp_d30" and found["mrd_negative"][0] == "mrd_d30"
    assert found["tocilizumab_cum_mg"] == ("toci_doses", mapping.HELD_BACK)
    assert found["dex_equiv_cum_mg"] == (None, "unmapped")
    assert not any(m.how == "guess" for m in proposal.cohort_matches)
    # every coded value of the dictionary, also those not in this export
    assert proposal.values["cr_day30"] == {1: True, 2: True, 3: False, 4: False, 5: "not done"}
    assert proposal.values["mrd_negative"] == {1: True, 2: False, 3: "not done"}
    assert proposal.layout == redcap.Layout(kinetics_instrument="cart_kinetics")
    assert {m.name: m.header for m in proposal.kinetics_matches} == {
        "patient_id": "record_id",
        "day": "pcr_day",
        "car_copies_per_ug": "car_copies",
    }


def test_the_dictionary_csv_is_read_as_redcap_writes_it(tmp_path):
    path = write_redcap_dictionary(tmp_path)
    found = mapping._read_dictionary_csv(path)
    assert found is not None
    assert found.choices["gender"] == {"1": "Male", "2": "Female"}
    assert found.choices["ph_pos"] == {"1": "Yes", "0": "No"}  # yesno: implicit choices
    assert "bmi" in found.labels and "bmi" not in found.choices  # a calculation is not a list of choices
    assert "tox_intro" not in found.labels  # descriptive: no data
    assert found.options["icans_sx___2"] == ("ICANS symptoms", "Seizure")
    assert found.forms["car_copies"] == "cart_kinetics"
    # label export headers find their variable
    assert found.variable_of("ICANS symptoms (choice=Seizure)") == "icans_sx___2"
    assert found.variable_of("Date of CR") == "cr_dt"


def test_a_dictionary_elsewhere_is_named_with_dictionary(tmp_path, capsys):
    export, dictionary = write_redcap_export(tmp_path / "export", "repeating", errors=False)
    moved = tmp_path / "docs" / "dictionary.csv"
    moved.parent.mkdir()
    dictionary.rename(moved)
    without = mapping.propose_mapping(export)
    assert without.dictionary_file is None
    assert cli.main(["map", str(export), "--dictionary", str(moved)]) == 0
    assert "data dictionary dictionary.csv" in capsys.readouterr().out
    named = mapping.propose_mapping(export, dictionary=moved)
    assert {m.name: m.header for m in named.cohort_matches}["seizure"] == "icans_sx___2"


# --------------------------------------------------------------------------- counts


@pytest.fixture(scope="module", params=["repeating-raw-csv", "events-labels-csv"])
def loaded(request, tmp_path_factory):
    """(settings, study, results) of an export without errors, after map and the cut-off."""
    design, labels, excel = VARIANTS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    export, _ = write_redcap_export(folder, design, labels=labels, excel=excel, errors=False)
    study_file = folder / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study_file)]) == 0
    settings = resolve_study(_set_cutoff(study_file))
    study = load_settings(settings)
    return settings, study, compute_results(study, **settings.analysis.model_dump())


def test_the_export_loads_as_the_patients_it_was_written_from(loaded, truth):
    _, study, _ = loaded
    cohort, kinetics = truth
    got = study.cohort.set_index("patient_id").sort_index()
    want = cohort.set_index("patient_id").sort_index()
    assert list(got.index) == list(want.index)
    assert study.not_collected == ("dex_equiv_cum_mg", "tocilizumab_cum_mg")
    for column in (
        "sex",
        "disease_status",
        "crs_grade",
        "icans_grade",
        "n_relapses",
        "steroids",
        "tocilizumab",
        "infusion_date",
        "cr_date",
        "relapse_date",
        "death_date",
        "last_followup_date",
        "cr_day30_not_done",
        "mrd_negative_not_done",
        "seizure",
        "ph_positive",
    ):
        pd.testing.assert_series_equal(got[column], want[column], check_dtype=False, check_names=False, obj=column)
    assert (got["cr_day30"] == (want["cr_day30"] & ~want["cr_day30_not_done"])).all()
    known = ~want["mrd_negative_not_done"] & want["cr_day30"]
    assert (got.loc[known, "mrd_negative"] == want.loc[known, "mrd_negative"].astype(bool)).all()
    assert got.loc[want["mrd_negative_not_done"], "mrd_negative"].isna().all()
    assert got["center"].nunique() == 3  # data access groups
    k = study.kinetics.sort_values(["patient_id", "day"]).reset_index(drop=True)
    w = kinetics.sort_values(["patient_id", "day"]).reset_index(drop=True)
    assert len(k) == len(w) == 339
    assert (k["patient_id"] == w["patient_id"]).all() and (k["day"] == w["day"]).all()
    assert k["car_copies_per_ug"].to_numpy() == pytest.approx(w["car_copies_per_ug"].to_numpy())


def test_not_done_is_kept_apart_in_every_count(loaded, truth):
    _, _, results = loaded
    cohort, _ = truth
    # a "not done" response of a patient who died or left follow-up by day 30 counts as not in
    # CR (concepts.RESPONSE_RULE, intention to treat); only one followed beyond it stays apart
    days = (cohort["death_date"].fillna(cohort["last_followup_date"]) - cohort["infusion_date"]).dt.days
    not_done = cohort["cr_day30_not_done"]
    assert not_done.sum() == NOT_EVALUABLE == 2 and (not_done & (days <= 30)).sum() == 1
    evaluable = ~(not_done & (days > 30))
    in_cr = cohort["cr_day30"] & evaluable
    mrd_done = in_cr & ~cohort["mrd_negative_not_done"]
    mrd_negative = mrd_done & cohort["mrd_negative"].fillna(False).astype(bool)
    c = results.counts
    assert c["n_response_not_evaluable"] == 1
    assert c["n_response_evaluable"] == int(evaluable.sum()) == 149
    assert c["n_cr"] == int(in_cr.sum())
    assert c["n_mrd_not_assessed"] == MRD_NOT_DONE == 3
    assert c["n_mrd_assessed"] == int(mrd_done.sum())
    assert c["n_mrd_negative_cr"] == int(mrd_negative.sum())
    flow = results.cohort_flow
    assert flow.mrd_not_assessed_cr == 3 and flow.response_not_evaluable == 1
    assert flow.before_assessment == int((~cohort["cr_day30"] & (days <= 30)).sum())
    assert flow.mrd_positive_cr == int((mrd_done & ~mrd_negative).sum())
    assert flow.mrd_positive_cr + flow.mrd_not_assessed_cr + flow.mrd_negative_cr == flow.cr
    # the rates leave the not-done patients out of numerator and denominator
    for grouping in ("crs", "severity"):
        cr_rates = results.response[("cr", grouping)]
        assert sum(lv.n for lv in cr_rates.levels) == 149 and cr_rates.not_assessed == 1
        assert sum(lv.events for lv in cr_rates.levels) == c["n_cr"]
        mrd_rates = results.response[("mrd_negative_cr", grouping)]
        assert sum(lv.n for lv in mrd_rates.levels) == REDCAP_N - 1 - 3 and mrd_rates.not_assessed == 4
        assert sum(lv.events for lv in mrd_rates.levels) == c["n_mrd_negative_cr"]


def test_columns_not_collected_leave_no_trace(loaded):
    _, _, results = loaded
    assert results.not_collected == ("dex_equiv_cum_mg", "tocilizumab_cum_mg")
    assert not results.collected("dex_equiv_cum_mg") and results.collected("il6_peak_pg_ml")
    assert "dex_equiv_cum_mg" not in results.missing and "il6_peak_pg_ml" in results.missing


# --------------------------------------------------------------------------- safe mappings


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=str).fillna("")


def _m(name: str, header: str) -> mapping.ColumnMatch:
    return mapping.ColumnMatch(name, header, "known label", 1.0)


def test_a_cr_column_holding_mrd_results_is_held_back(tmp_path):
    """The issue's case: cr_day30 proposed from an MRD column (Negative/Positive/Not done)."""
    frame = _frame(d30=["1", "2", "1", "3", "1"], cr_dt=["2020-02-01"] * 5)
    choices = {"d30": {"1": "Negative", "2": "Positive", "3": "Not done"}}
    values = {"cr_day30": {1: False, 2: True, 3: None}}
    found = mapping._content_doubts(
        frame, [_m("cr_day30", "d30"), _m("cr_date", "cr_dt")], values, choices, None, tmp_path / "export.csv"
    )
    assert [(name, hold) for name, _, hold in found] == [("cr_day30", True), ("cr_day30", True)]
    assert "a test result (MRD?)" in found[0][1] and "have no CR date" in found[1][1]


def test_a_misleading_cr_header_is_not_read(tmp_path, capsys):
    """An export whose only day-30 column is MRD, under a name that says CR: map holds it back,
    says so first, and exits 1 (a required column is then unmapped)."""
    export, dictionary = write_redcap_export(tmp_path, "repeating", errors=False)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["resp_d30"]).rename(columns={"mrd_d30": "cr_d30"})
    frame.to_csv(export, index=False)
    text = dictionary.read_text(encoding="utf-8").replace("mrd_d30,response", "cr_d30,response")
    dictionary.write_text(text.replace("MRD at day 30 (flow cytometry)", "Day 30 CR (flow MRD)"), encoding="utf-8")
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 1
    out = capsys.readouterr().out
    assert "cr_day30 <- 'cr_d30': its values are" in out.split("cohort columns:")[0]
    assert "Every required column" not in out and "Required columns still unmapped: cr_day30" in out
    assert '# cr_day30: "cr_d30"  # HELD BACK' in study.read_text(encoding="utf-8")


def test_a_dose_of_small_whole_numbers_is_not_read_as_mg(tmp_path):
    frame = _frame(toci=["1", "2", "", "3", "1"], dex=["10", "24.5", "", "160", "40"])
    found = mapping._content_doubts(
        frame, [_m("tocilizumab_cum_mg", "toci"), _m("dex_equiv_cum_mg", "dex")], {}, {}, None, tmp_path / "x.csv"
    )
    assert [(name, hold) for name, _, hold in found] == [("tocilizumab_cum_mg", True)]
    assert "a number of doses, not mg?" in found[0][1]


def test_dates_before_birth_or_after_the_export_are_doubted(tmp_path):
    export = tmp_path / "Study_DATA_2021-06-30_0900.csv"
    frame = _frame(
        dob=["1990-01-01", "2001-05-01", "1985-03-03"],
        inf=["1991-01-01", "2000-01-01", "1986-01-01"],
        lfu=["2021-01-01", "2022-01-01", "2023-01-01"],
    )
    found = mapping._content_doubts(
        frame, [_m("infusion_date", "inf"), _m("last_followup_date", "lfu")], {}, {}, None, export
    )
    messages = {text for _, text, _ in found}
    assert any("1 dates precede the patient's date of birth" in m for m in messages)
    assert any("2 dates before 2000" in m for m in messages)  # held back: most of the column
    assert any("2 dates after the export was made (2021-06-30, the date in its name)" in m for m in messages)
    assert {(name, hold) for name, _, hold in found} == {
        ("infusion_date", False),
        ("infusion_date", True),
        ("last_followup_date", True),
    }


def test_values_under_a_guessed_column_are_a_guess_too(tmp_path):
    path = tmp_path / "export.csv"
    pd.DataFrame({"patient_id": ["1", "2"], "steroidz_yn": ["Ja", "Nein"]}).to_csv(path, index=False)
    proposal = mapping.propose_mapping(path)
    match = next(m for m in proposal.cohort_matches if m.name == "steroids")
    assert match.how == "guess"
    assert "GUESS" in proposal.value_notes["steroids"]
    assert any(d.startswith("values of steroids: GUESS") for d in proposal.doubts)


@pytest.mark.parametrize(
    ("column", "header"),
    [
        ("bm_blasts_pct", "BM blasts before CAR-T (%)"),
        ("last_followup_date", "Date of last FU"),
        ("cr_day30", "Resp D30"),
        ("infusion_date", "CAR-T inf date"),
        ("icans_grade", "Max ICANS grade"),
        ("ph_positive", "Ph+ ALL (BCR-ABL1)"),
        ("dex_equiv_cum_mg", "Cum dex dose (mg)"),
        ("tocilizumab", "TCZ given"),
    ],
)
def test_clinical_abbreviations_are_known_labels(column, header):
    how, _, via = mapping._candidates(column, header, None)
    assert how == "known label", (column, header, via)


def test_abbreviations_do_not_make_unrelated_columns_match():
    for column, header in (("infusion_date", "Dx date"), ("bm_blasts_pct", "BMI"), ("cr_day30", "MRD d30")):
        assert mapping._candidates(column, header, None)[0] != "known label", (column, header)


# --------------------------------------------------------------------------- the loader


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_events_holding_two_values_of_one_column_are_a_violation(tmp_path):
    export, _ = write_redcap_export(tmp_path, "events", errors=False)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    first = frame.index[(frame["record_id"] == "101") & (frame["redcap_event_name"] == "day_30_arm_1")][0]
    frame.loc[first, "gender"] = "2"  # also written at baseline, as 1
    frame.to_csv(export, index=False)
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    with pytest.raises(InputError) as err:
        load_settings(resolve_study(_set_cutoff(study)))
    (violation,) = err.value.violations
    assert (violation.row, violation.patient_id, violation.column) == (first + 2, "101", "sex")
    assert "two values for one patient" in violation.rule and "day_30_arm_1" in violation.rule
    assert violation.related.startswith("sex = 1 in event 'baseline_arm_1'")


def test_not_done_is_a_value_only_where_the_contract_accepts_it(tmp_path):
    from analysis.inputs.loading import load_cohort

    valid = ROOT / "tests" / "bad_inputs" / "valid_cohort.csv"
    frame = pd.read_csv(valid, dtype=str, keep_default_na=False, comment="#")
    in_cr = frame.index[frame["cr_day30"].str.lower().isin(["yes", "true", "1", "y"])]
    frame.loc[in_cr[0], "mrd_negative"] = "Not done"
    frame.loc[in_cr[1], "mrd_negative"] = ""
    frame.loc[in_cr[2], "ph_positive"] = "not done"
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        load_cohort(path, cutoff="2023-03-01")
    got = {(v.row, v.column): v.rule for v in err.value.violations}
    assert set(got) == {(in_cr[1] + 2, "mrd_negative"), (in_cr[2] + 2, "ph_positive")}
    assert "write 'not done' when MRD was not assessed" in got[(in_cr[1] + 2, "mrd_negative")]
    assert got[(in_cr[2] + 2, "ph_positive")].startswith("not a boolean")


def test_not_collected_in_the_study_file(tmp_path):
    valid = ROOT / "tests" / "bad_inputs" / "valid_cohort.csv"
    study = tmp_path / "study.yml"
    study.write_text(
        f"data: {{cohort: {valid}, cutoff: 2023-03-01}}\nnot_collected: [ferritin_peak_ng_ml]\n", encoding="utf-8"
    )
    loaded = load_settings(resolve_study(study))
    assert loaded.not_collected == ("ferritin_peak_ng_ml",)
    assert loaded.cohort["ferritin_peak_ng_ml"].isna().all()  # present in the file, not read
    study.write_text(f"data: {{cohort: {valid}, cutoff: 2023-03-01}}\nnot_collected: [age]\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match="'age' cannot be left out"):
        resolve_study(study)
    # an optional column absent from the file: not collected, not an error
    frame = pd.read_csv(valid, dtype=str, keep_default_na=False, comment="#").drop(columns=["il6_peak_pg_ml"])
    frame.to_csv(tmp_path / "without.csv", index=False)
    assert load_study(tmp_path / "without.csv", cutoff="2023-03-01").not_collected == ("il6_peak_pg_ml",)


def test_a_second_repeating_instrument_is_named_not_read(tmp_path):
    header = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "age"]
    path = _write(tmp_path / "x.csv", [header, ["1", "", "", "40"], ["1", "ae", "1", ""], ["1", "ae", "2", ""]])
    shape = redcap.shape_of(header)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).set_axis(range(4), axis=1)
    split = redcap.split(frame, header, shape)
    assert list(split.cohort.index) == [0] and split.kinetics is None
    assert split.notes == ["not read (not part of the contract): 2 rows of repeating instrument ae"]


@pytest.mark.parametrize(
    ("event", "day"),
    [
        ("day_14_arm_1", 14),
        ("Day 7 (Arm 1: Arm 1)", 7),
        ("d28", 28),
        ("baseline_arm_1", None),
        ("week_2_arm_1", None),
        ("D+3", 3),
    ],
)
def test_the_day_an_event_name_says(event, day):
    assert redcap.event_day(event) == day


# --------------------------------------------------------------------------- plausibility


def test_plausibility_warnings_name_the_record_and_are_not_errors(tmp_path, capsys):
    valid = ROOT / "tests" / "bad_inputs" / "valid_cohort.csv"
    frame = pd.read_csv(valid, dtype=str, keep_default_na=False, comment="#")
    frame.loc[0, ["disease_status", "n_relapses"]] = ["primary_refractory", "2"]
    frame.loc[1, ["prior_lines"]] = ["0"]
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    assert cli.main(["validate", str(path), "--cutoff", "2023-03-01"]) == 0
    out = capsys.readouterr().out
    assert "OK: " in out and "plausibility warning" in out
    assert f"2    {frame.loc[0, 'patient_id']}" in out.replace("  ", "    ", 1) or frame.loc[0, "patient_id"] in out
    assert "primary refractory disease with relapses recorded" in out
    assert "no prior line of therapy" in out


def test_each_plausibility_rule_and_the_data_quality_counts():
    day = pd.Timestamp
    cohort = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e", "f"],
            "disease_status": ["primary_refractory", "relapsed", "relapsed", "relapsed", "relapsed", "relapsed"],
            "n_relapses": pd.array([1, 1, 1, 1, 1, 1], dtype="Int64"),
            "prior_lines": pd.array([2, 0, 2, 2, 2, 2], dtype="Int64"),
            "seizure": pd.array([False, False, True, False, False, False], dtype="boolean"),
            "icans_grade": pd.array([0, 0, 2, 0, 3, 0], dtype="Int64"),
            "crs_onset_day": pd.array([None, None, None, 90, None, None], dtype="Int64"),
            "icans_onset_day": pd.array([None, None, None, None, 5, None], dtype="Int64"),
            "infusion_date": [day("2020-01-01")] * 6,
            "cr_date": [pd.NaT, pd.NaT, pd.NaT, pd.NaT, day("2020-05-01"), pd.NaT],
            "death_date": [pd.NaT, pd.NaT, pd.NaT, day("2020-02-01"), pd.NaT, pd.NaT],
            "last_followup_date": [
                day("2022-12-01"),
                day("2022-12-01"),
                day("2022-12-01"),
                day("2020-02-01"),
                day("2021-01-01"),
                day("2020-06-01"),
            ],
        }
    )
    quality = data_quality(cohort, dt.date(2023, 1, 1))
    assert quality.warnings == {
        "primary refractory disease with relapses recorded": 1,
        "no prior line of therapy": 1,
        "a seizure with an ICANS grade below 3": 1,
        "CRS onset after the end of follow-up": 1,
        "a CR date outside days 14–60 after infusion": 1,
        "lost to follow-up": 2,  # counted as validate counts it (and described on its own)
    }
    assert quality.n_patients_warned == 6 and quality.n_warnings == 7
    assert "lost to follow-up" not in quality.other_warnings and len(quality.other_warnings) == 5
    # lost: e (last seen 2021-01-01, 730 days) and f (2020-06-01, 944 days) before 2023-01-01
    assert LOST_TO_FOLLOWUP_DAYS == 365 and quality.lost_to_followup == 2
    assert quality.lost_median_gap_months == pytest.approx((730 + 944) / 2 / 30.4375)


# --------------------------------------------------------------------------- refusal


def test_the_report_refuses_invalid_data_in_the_validators_words(tmp_path):
    export, _ = write_redcap_export(tmp_path, "repeating")
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    settings = resolve_study(_set_cutoff(study))
    with pytest.raises(DataRefused) as err:
        load_settings(settings, refuse=True)
    message = str(err.value)
    assert message.startswith("The data do not pass validation: 3 problems found.")
    assert f"python -m analysis validate --study {study} --problems problems.csv" in message
    assert message.count("must be between 0 and 120") == 1  # the summary, once


def test_the_renderer_prints_the_refusal_once_without_its_internals(tmp_path):
    export, _ = write_redcap_export(tmp_path, "repeating")
    study = tmp_path / "study.yml"
    subprocess.run(
        [sys.executable, "-m", "analysis", "map", str(export), "-o", str(study)],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    _set_cutoff(study)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "renderer",
            "report.qmd",
            "--study",
            str(study),
            "--to",
            "html",
            "--output-dir",
            str(tmp_path / "out"),
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=warm_env(),
    )
    assert proc.returncode == 1
    err = proc.stderr
    assert err.count("The data do not pass validation: 3 problems found.") == 1
    assert err.count("must be between 0 and 120") == 1
    assert "python -m analysis validate --study" in err and "--problems problems.csv" in err
    for internal in ("light worker", "Jupyter", "kernel", "Traceback", "InputError", "DataRefused", "failed at"):
        assert internal not in err, internal
    assert not (tmp_path / "out").exists()


QUARTO_FAILURE = """\
  Cell 3/23: ''......................

An error occurred while executing the following cell:
------------------
data = load_settings(settings, refuse=True)
------------------


\x1b[31m---------------------------------------------------------------------------\x1b[39m
\x1b[31mDataRefused\x1b[39m                               Traceback (most recent call last)
\x1b[31mDataRefused\x1b[39m: The data do not pass validation: 1 problem found. Nothing was rendered.

Summary (problems per column and rule):
       1  age  must be between 0 and 120

Every problem, with its row and record, and a CSV for the data manager:
  python -m analysis validate --study study.yml --problems problems.csv

\x1b[33mWARN: Error encountered when rendering files\x1b[39m
"""


def test_quartos_report_of_a_refusal_is_reduced_to_the_refusal():
    from renderer.quarto import _refusal

    text = _refusal(QUARTO_FAILURE)
    assert text.startswith("The data do not pass validation: 1 problem found.")
    assert text.endswith("--problems problems.csv")
    assert "Traceback" not in text and "WARN" not in text and "Cell" not in text
    assert _refusal(QUARTO_FAILURE.replace("DataRefused", "ZeroDivisionError")) is None


# --------------------------------------------------------------------------- the report


def _redcap_study(directory: Path) -> dict:
    """A REDCap label export of the events design, mapped by the real command; only the
    cut-off, the title and an author are written by hand."""
    export, _ = write_redcap_export(directory, "events", labels=True, errors=False)
    study = directory / "study.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "map", str(export), "-o", str(study)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = _set_cutoff(study).read_text(encoding="utf-8")
    text = text.replace(f'title: "{MAP_TITLE}"', 'title: "Our REDCap registry"')
    study.write_text(text.replace(f'name: "{MAP_AUTHOR}"', 'name: "Ada Registrar"'), encoding="utf-8")
    return {"study": study, "to": "html,pdf", "supplement": True}


register_render("redcap-report", ("test_redcap",), _redcap_study)


@pytest.fixture(scope="module")
def redcap_report():
    proc, out = background_render("redcap-report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Rendered(out)


def test_the_registrys_report_keeps_not_done_apart_and_drops_what_is_not_collected(redcap_report, truth):
    cohort, _ = truth
    in_cr = int((cohort["cr_day30"] & ~cohort["cr_day30_not_done"]).sum())
    for body in (redcap_report.html_text, redcap_report.pdf_text):
        body = " ".join(body.split())
        assert "Our REDCap registry" in body and "Ada Registrar" in body
        assert (
            "the response could be evaluated in 149 of 150 (99.3%) patients" in body
        )  # one not-done died by day 30: not in CR
        assert f"MRD was assessed in {in_cr - 3} of the {in_cr} patients in CR" in body
        assert (
            "The registry does not collect the cumulative corticosteroid dose and the cumulative tocilizumab dose"
            in body
        )
        assert "dexamethasone-equivalent dose" not in body and "not estimable mg" not in body
        assert "lost to follow-up" in body  # Results; the plausibility warnings are the supplement's
        for name in ("St Elsewhere", "Mercy General", "City Children", "st_elsewhere"):
            assert name not in body
    supplement = " ".join(redcap_report.supplement.html_text.split())
    assert "The check raised" in supplement and "plausibility warnings" in supplement and "concerning" in supplement
    for name in ("St Elsewhere", "Mercy General", "City Children", "st_elsewhere"):
        assert name not in supplement
    # said once, where the rates are (above), and not under Table 1, which has no MRD row (new user 31)
    html = " ".join(redcap_report.html_text.split())
    assert f"MRD assessed in {in_cr - 3} of {in_cr} patients in CR" not in html


# --------------------------------------------------------------------------- what a first trial found


def test_an_infusion_date_later_than_the_cr_date_is_doubted_as_a_swap(tmp_path):
    """A first new-user trial (the closing report of issue 19) mapped 'Date of remission' to
    infusion_date and 'Date of CAR-T' to cr_date; the order of the dates now says so."""
    frame = _frame(rem=["2020-02-01", "2020-03-05", "2021-01-09"], cart=["2020-01-02", "2020-02-01", "2020-12-10"])
    found = mapping._content_doubts(
        frame, [_m("infusion_date", "rem"), _m("cr_date", "cart")], {}, {}, None, tmp_path / "x.csv"
    )
    assert {(name, hold) for name, _, hold in found} == {("infusion_date", True), ("cr_date", True)}
    assert "precedes infusion_date <- 'rem' in 3 of 3 patients: are the two columns swapped?" in found[0][1]


@pytest.mark.parametrize(
    ("column", "header"),
    [
        ("crs_grade", "CRS (ASTCT grade)"),  # the same words in another order
        ("last_followup_date", "Date last contact"),
        ("n_relapses", "No. of prior relapses"),  # "No. of" = number of
        ("prior_lines", "No. of prior treatment lines"),
        ("bm_blasts_pct", "BM blast % pre-infusion"),  # singular
        ("tocilizumab_cum_mg", "Tocilizumab total dose (mg)"),
        ("infusion_date", "Date of CAR-T"),
        ("cr_date", "Date of remission"),
    ],
)
def test_headers_of_a_first_trial_are_known_labels(column, header):
    assert mapping._candidates(column, header, None)[0] == "known label", (column, header)


def test_a_disease_state_naming_both_words_is_not_guessed():
    table, note = mapping._status_values(["Relapse", "Refractory relapse", "Primary refractory"], {})
    assert table == {"Relapse": "relapsed"}  # "Primary refractory" is read as it is
    assert note == "not recognised: Refractory relapse"


def test_value_labels_with_a_threshold_in_brackets():
    table, note = mapping._boolean_values(["Negative (<0.01%)", "Positive", "Not performed"], {}, "mrd_negative")
    assert table == {"Negative (<0.01%)": True, "Positive": False, "Not performed": "not done"}


# --------------------------------------------------------------------------- what a second trial found


@pytest.mark.parametrize(
    ("column", "header", "label"),
    [
        ("disease_status", "dz_status", "Status at CAR-T"),
        ("crs_grade", "crs_max", "Highest CRS grade"),
        ("crs_onset_day", "crs_start", "First day of CRS"),
        ("steroids", "cs_yn", "Corticosteroids administered"),
        ("tocilizumab", "tcz_yn", "Tocilizumab administered"),
        ("relapse_date", "pd_dt", "Date of progression/relapse"),
        ("mrd_negative", "d28_mrd", "MRD by NGS (day 28)"),
        ("car_copies_per_ug", "pk_vcn", "CAR vector copies per ug DNA"),
    ],
)
def test_headers_of_a_second_trial_are_known_labels(column, header, label):
    assert mapping._candidates(column, header, label)[0] == "known label", (column, header, label)


def test_a_yes_no_column_none_of_whose_values_is_yes_or_no_is_held_back(tmp_path):
    """The second trial's mapping mrd_negative <- 'dz_status' (Relapsed / Primary refractory)."""
    frame = _frame(dz=["1", "2", "1"])
    found = mapping._content_doubts(
        frame,
        [_m("mrd_negative", "dz")],
        {},
        {"dz": {"1": "Relapsed", "2": "Primary refractory"}},
        None,
        tmp_path / "x.csv",
    )
    assert found == [
        (
            "mrd_negative",
            "mrd_negative <- 'dz': none of its values (Primary refractory, Relapsed) reads as yes or no",
            True,
        )
    ]


def test_response_and_mrd_words_of_a_second_trial():
    table, _ = mapping._boolean_values(
        ["1", "2", "9"], {"1": "CR/CRi", "2": "No CR", "9": "Not assessable"}, "cr_day30"
    )
    assert table == {"1": True, "2": False, "9": "not done"}
    table, _ = mapping._boolean_values(
        ["1", "2", "3"], {"1": "Undetectable", "2": "Detectable", "3": "Not tested"}, "mrd_negative"
    )
    assert table == {"1": True, "2": False, "3": "not done"}
