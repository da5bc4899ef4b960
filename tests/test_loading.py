"""Loading and validation: the malformed corpus, normalisation, row numbers, Excel."""
from __future__ import annotations

import datetime as dt
import pickle
import time

import numpy as np
import pandas as pd
import pytest

import analysis.loading as loading
from analysis.groups import prepare_cohort
from analysis.loading import InputError, Study, Violation, load_cohort, load_kinetics, load_study, parse_cutoff
from corpus import (
    ACCEPTED, ACCEPTED_WORKBOOKS, BAD_INPUTS, GENERATED_CASES, VALID_COHORT, VALID_KINETICS, committed_cases,
    generated_directory, violation_matches,
)

COMMITTED = committed_cases()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generated_directory(tmp_path_factory)


@pytest.fixture(scope="module")
def valid():
    return load_cohort(VALID_COHORT)


def _violations(cohort, kinetics=None, **kwargs) -> list[Violation]:
    with pytest.raises(InputError) as info:
        load_study(cohort, kinetics, **kwargs)
    return info.value.violations


def _assert_expected(violations, case):
    for column, rule in case.expected:
        assert any(violation_matches(v, column, rule) for v in violations), (
            f"{case.name}: no violation of {column!r} with rule containing {rule!r}:\n{InputError(violations)}")


def _write(tmp_path, text: str, name="cohort.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _valid_lines() -> list[str]:
    return VALID_COHORT.read_text(encoding="utf-8").splitlines()


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_has_at_least_30_cases():
    assert len(COMMITTED) + len(GENERATED_CASES) >= 30
    assert len({case.name for case in COMMITTED + GENERATED_CASES}) == len(COMMITTED) + len(GENERATED_CASES)


@pytest.mark.parametrize("case", COMMITTED, ids=lambda case: case.name)
def test_committed_bad_input_is_rejected(case):
    kinetics = BAD_INPUTS / case.kinetics if case.kinetics else None
    _assert_expected(_violations(BAD_INPUTS / case.cohort, kinetics), case)


@pytest.mark.parametrize("case", GENERATED_CASES, ids=lambda case: case.name)
def test_generated_bad_input_is_rejected(case, generated):
    started = time.perf_counter()
    violations = _violations(generated / case.cohort)
    _assert_expected(violations, case)
    assert time.perf_counter() - started < 10  # the 100 MB files fail on their first KBs


def test_garbage_is_judged_on_its_first_bytes(generated, monkeypatch):
    """100 MB of garbage is rejected without being handed to the CSV reader."""
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("garbage reached the CSV reader"))
    for name in ("garbage_100mb.csv", "garbage_100mb_one_line.csv"):
        assert _violations(generated / name)[0].row is None


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda path: path.name)
def test_accepted_variants_load_to_the_same_cohort(path, valid):
    pd.testing.assert_frame_equal(load_cohort(path), valid)


@pytest.mark.parametrize("name", ACCEPTED_WORKBOOKS)
def test_excel_workbooks_load_like_the_csv(name, generated, valid):
    pd.testing.assert_frame_equal(load_cohort(generated / name), valid)


def test_excel_errors_name_the_spreadsheet_rows(generated):
    [header] = _violations(generated / "excel_header_not_on_row_1.xlsx")
    assert (header.row, header.column) == (None, None) and "it is on row 3" in header.rule
    formula = _violations(generated / "excel_formula_without_result.xlsx")
    assert [(v.row, v.patient_id, v.column, v.value) for v in formula] == [(2, "P01", "age", "=30+4")]
    values = _violations(generated / "excel_bad_values.xlsx")
    assert {(v.row, v.column, v.value) for v in values} == {
        (2, "crs_grade", "6"), (3, "infusion_date", "2023/13/45"), (4, "age", "seven")}


# --------------------------------------------------------------------------- normalisation


def test_valid_cohort_is_normalised(valid):
    assert list(valid.columns) == [field.name for field in loading.COHORT_FIELDS]
    dtypes = valid.dtypes.astype(str).to_dict()
    assert {c for c, d in dtypes.items() if d == "datetime64[ns]"} == {
        "infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date"}
    assert {c for c, d in dtypes.items() if d == "bool"} == {"ph_positive", "steroids", "tocilizumab", "cr_day30"}
    assert {c for c, d in dtypes.items() if d == "boolean"} == {"seizure", "mrd_negative"}
    assert {c for c, d in dtypes.items() if d == "int64"} == {"n_relapses", "prior_lines", "crs_grade", "icans_grade"}
    assert {c for c, d in dtypes.items() if d == "Int64"} == {"crs_onset_day", "icans_onset_day"}
    assert {c for c, d in dtypes.items() if d == "object"} == {"patient_id", "center", "sex", "disease_status"}
    assert all(d == "float64" for c, d in dtypes.items() if c in (
        "age", "bm_blasts_pct", "cart_dose_1e6_per_kg", "il6_peak_pg_ml", "ferritin_peak_ng_ml",
        "dex_equiv_cum_mg", "tocilizumab_cum_mg"))

    p2, p3 = valid.iloc[1], valid.iloc[2]
    assert p2["patient_id"] == "P02" and p2["sex"] == "F" and p2["disease_status"] == "primary_refractory"
    assert p2["ph_positive"] is np.True_ and p2["seizure"] is np.True_ and p2["mrd_negative"] is np.False_
    assert p2["relapse_date"] == pd.Timestamp("2020-01-15") and p2["icans_onset_day"] == 5
    assert pd.isna(p2["il6_peak_pg_ml"]) and p2["bm_blasts_pct"] == 80.0
    assert p3["seizure"] is np.False_  # empty seizure = no
    assert pd.isna(p3["mrd_negative"]) and pd.isna(p3["cr_date"]) and pd.isna(p3["crs_onset_day"])
    assert valid["seizure"].notna().all()


def test_other_spellings_are_normalised(tmp_path, valid):
    lines = _valid_lines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    rows[0].update(sex="male", ph_positive="N", steroids="FALSE", tocilizumab="Y", cr_day30="1", mrd_negative="True")
    rows[1].update(sex="Female", age=" 12 ", crs_grade="3.0", disease_status="PRIMARY-REFRACTORY")
    text = "\n".join([",".join(header)] + [",".join(r[c] for c in header) for r in rows])
    pd.testing.assert_frame_equal(load_cohort(_write(tmp_path, text)), valid)


def test_the_loaded_cohort_can_be_prepared(valid):
    prepared = prepare_cohort(valid)
    assert list(prepared["grp_severity"]) == ["other", "severe", "none", "other", "other"]
    assert prepared["os_event"].tolist() == [False, True, True, False, False]


def test_kinetics_are_loaded_against_the_cohort(valid):
    kinetics = load_kinetics(VALID_KINETICS, valid)
    assert kinetics.dtypes.astype(str).tolist() == ["object", "int64", "float64"]
    assert kinetics["patient_id"].tolist() == ["P01", "P01", "P01", "P02", "P02", "P04"]
    assert kinetics["car_copies_per_ug"].iloc[1] == 15200.5
    with pytest.raises(InputError) as info:
        load_kinetics(VALID_KINETICS, valid[valid["patient_id"] != "P04"])
    assert [(v.row, v.column, v.rule) for v in info.value.violations] == [
        (7, "patient_id", "not a patient_id of the cohort")]


def test_study():
    study = load_study(VALID_COHORT, VALID_KINETICS, cutoff="2023-03-01")
    assert isinstance(study, Study) and not study.is_synthetic
    assert study.cutoff == dt.date(2023, 3, 1) and study.cohort_path == VALID_COHORT
    assert len(study.cohort) == 5 and len(study.kinetics) == 6
    assert load_study(VALID_COHORT).kinetics is None
    with pytest.raises(AttributeError):
        study.cutoff = dt.date(2020, 1, 1)
    # Its first comment says "SYNTHETIC test cohort", but only the generator's marker line counts.
    assert not load_study(BAD_INPUTS / "accepted" / "comments_and_blank_lines.csv").is_synthetic


# --------------------------------------------------------------------------- rules


def test_every_violation_is_reported_at_once(tmp_path):
    lines = _valid_lines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    rows[0].update(age="seven", crs_grade="two")          # two unreadable cells; crs_onset_day not judged
    rows[1].update(sex="X", death_date="2020-05-19")      # follow-up no longer equals death
    rows[2].update(patient_id="P01", mrd_negative="yes")  # duplicate id; MRD without CR
    rows[3].update(infusion_date="2023/13/45", icans_onset_day="")  # unreadable date: its rules skipped
    rows[4].update(last_followup_date="2023-06-01", il6_peak_pg_ml="-1")
    text = "\n".join([",".join(header)] + [",".join(r[c] for c in header) for r in rows]) + "\n"
    got = {(v.row, v.column, v.rule.split(" (")[0]) for v in _violations(_write(tmp_path, text))}
    assert got == {
        (2, "patient_id", "duplicate patient_id"),
        (2, "age", "not a number"),
        (2, "crs_grade", "not a whole number"),
        (3, "sex", "must be M or F"),
        (3, "last_followup_date", "must equal death_date for a patient who died"),
        (4, "patient_id", "duplicate patient_id"),
        (4, "mrd_negative", "must be empty or false when cr_day30 is false"),
        (5, "infusion_date", "not a date"),
        (5, "icans_onset_day", "required when icans_grade > 0"),
        (6, "il6_peak_pg_ml", "must be >= 0"),
        (6, "last_followup_date", "after the data cut-off"),
    }


def test_duplicates_name_each_other():
    violations = _violations(BAD_INPUTS / "cohort" / "duplicate_patient_id.csv")
    assert [(v.row, v.rule) for v in violations] == [
        (3, "duplicate patient_id (rows 3, 5)"), (5, "duplicate patient_id (rows 3, 5)")]


def test_a_missing_column_is_reported_once_and_other_columns_still_checked(tmp_path):
    lines = _valid_lines()
    header = lines[0].split(",")
    drop = header.index("crs_grade")
    rows = [line.split(",") for line in lines]
    rows[3][header.index("age")] = "-4"
    text = "\n".join(",".join(cells[:drop] + cells[drop + 1:]) for cells in rows)
    got = [(v.row, v.column, v.rule) for v in _violations(_write(tmp_path, text))]
    assert got == [(None, "crs_grade", "missing column"), (4, "age", "must be between 0 and 120")]


def test_the_cutoff_is_a_parameter():
    assert _violations(VALID_COHORT, cutoff=dt.date(2022, 12, 31))[0].rule == "after the data cut-off (2022-12-31)"
    load_study(VALID_COHORT, cutoff=pd.Timestamp("2023-02-28"))
    for bad in ("2023-02-30", "03/01/2023", "", 20230301):
        with pytest.raises(ValueError):
            parse_cutoff(bad)
    assert parse_cutoff(None) == dt.date(2023, 3, 1)


def test_violations_of_both_files_are_reported_together():
    violations = _violations(BAD_INPUTS / "cohort" / "age_as_word.csv", BAD_INPUTS / "kinetics" / "negative_copies.csv")
    assert {(v.file.split("/")[-1], v.column) for v in violations} == {
        ("age_as_word.csv", "age"), ("negative_copies.csv", "car_copies_per_ug")}


# --------------------------------------------------------------------------- rows, chunks, report


def test_row_numbers_are_spreadsheet_rows(tmp_path):
    """Comments above the header are not rows; blank lines below it are, and so is a line
    starting with # below it (reported, as only lines above the header may be comments):
    header = row 1, P01 = row 2, blank = row 3, "# note" = row 4, P02 = row 5."""
    lines = _valid_lines()
    text = "\n".join(["# a comment", "", lines[0], lines[1], "", "# note", lines[2].replace(",12,", ",twelve,")])
    comment, age = _violations(_write(tmp_path, text))
    assert (comment.row, comment.column, comment.value) == (4, None, "# note")
    assert comment.rule.startswith("a comment line below the header")
    assert (age.row, age.patient_id, age.column, age.value) == (5, "P02", "age", "twelve")


def test_chunked_reading_keeps_rows_and_values(tmp_path, monkeypatch, valid):
    lines = _valid_lines()
    monkeypatch.setattr(loading, "CHUNK_ROWS", 2)
    pd.testing.assert_frame_equal(load_cohort(VALID_COHORT), valid)
    text = "\n".join(lines[:5] + [lines[5].replace(",7,", ",seven,")])  # in the third chunk
    [violation] = _violations(_write(tmp_path, text))
    assert (violation.row, violation.patient_id, violation.column) == (6, "P05", "age")


def test_input_error_reads_as_a_table():
    error = InputError([
        Violation(None, None, "age", "missing column", file="cohort.csv"),
        Violation(4, "P03", "crs_grade", "must be between 0 and 5", "6", file="cohort.csv"),
        Violation(9, "P99", "patient_id", "not a patient_id of the cohort", "P99", file="kinetics.csv"),
    ])
    text = str(error)
    assert text == error.format()
    assert text.splitlines()[0].startswith("cohort.csv: 2 problems")
    assert text.splitlines()[1].split() == ["row", "patient_id", "column", "rule", "value"]
    assert text.splitlines()[3].split() == ["4", "P03", "crs_grade", "must", "be", "between", "0", "and", "5", "6"]
    assert "kinetics.csv: 1 problem" in text
    assert isinstance(error, Exception) and len(error.violations) == 3
    assert pickle.loads(pickle.dumps(error)).violations == error.violations


def test_many_violations_in_a_large_file_are_reported_quickly(tmp_path):
    """50,000 patients and 10,000 violations: the checks are vectorised, not per row."""
    lines = _valid_lines()
    tails = [line[len("P01"):] for line in lines[1:]]  # each row without its patient_id
    rows = [f"X{i}{tails[i % 5]}" for i in range(50_000)]
    for i in range(0, len(rows), 10):  # patient P01's rows: CR before infusion
        rows[i] = rows[i].replace(",2019-04-02,", ",2019-03-01,")
    for i in range(1, len(rows), 10):  # patient P02's rows: age in words
        rows[i] = rows[i].replace(",12,", ",twelve,")
    path = _write(tmp_path, "\n".join([lines[0]] + rows))
    started = time.perf_counter()
    violations = _violations(path)
    assert time.perf_counter() - started < 30
    assert len(violations) == 10_000
    assert {(v.column, v.rule) for v in violations} == {
        ("cr_date", "must be on or after infusion_date"), ("age", "not a number")}
