"""Loading and validation: the malformed corpus, normalisation, row numbers, Excel."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest
from corpus import (
    ACCEPTED,
    ACCEPTED_WORKBOOKS,
    BAD_INPUTS,
    GENERATED_CASES,
    VALID_COHORT,
    VALID_KINETICS,
    committed_cases,
    generated_directory,
    violation_matches,
)

import analysis.inputs.readers as readers
import analysis.registry.contract as contract
from analysis.inputs.loading import InputError, Study, Violation, load_cohort, load_kinetics, load_study, parse_cutoff
from analysis.registry.groups import prepare_cohort
from analysis.report.export import results_to_json

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
            f"{case.name}: no violation of {column!r} with rule containing {rule!r}:\n{InputError(violations)}"
        )


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
    _assert_expected(_violations(generated / case.cohort), case)


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
        (2, "crs_grade", "6"),
        (3, "infusion_date", "2023/13/45"),
        (4, "age", "seven"),
    }


# --------------------------------------------------------------------------- normalisation


def test_valid_cohort_is_normalised(valid):
    assert list(valid.columns) == [field.name for field in contract.COHORT_FIELDS] + [
        "cr_day30_not_done",
        "mrd_negative_not_done",
    ]  # "not done" is a value of its own
    assert not valid["cr_day30_not_done"].any() and not valid["mrd_negative_not_done"].any()
    dtypes = valid.dtypes.astype(str).to_dict()
    assert {c for c, d in dtypes.items() if d == "datetime64[ns]"} == {
        "infusion_date",
        "cr_date",
        "relapse_date",
        "death_date",
        "last_followup_date",
        "hsct_date",
    }
    assert {c for c, d in dtypes.items() if d == "bool"} == {
        "ph_positive",
        "steroids",
        "tocilizumab",
        "cr_day30",
        "cr_day30_not_done",
        "mrd_negative_not_done",
    }
    assert {c for c, d in dtypes.items() if d == "boolean"} == {"seizure", "mrd_negative"}
    assert {c for c, d in dtypes.items() if d == "int64"} == {"n_relapses", "prior_lines", "crs_grade", "icans_grade"}
    assert {c for c, d in dtypes.items() if d == "Int64"} == {"crs_onset_day", "icans_onset_day"}
    assert {c for c, d in dtypes.items() if d == "object"} == {"patient_id", "center", "sex", "disease_status"}
    assert all(
        d == "float64"
        for c, d in dtypes.items()
        if c
        in (
            "age",
            "bm_blasts_pct",
            "cart_dose_1e6_per_kg",
            "il6_peak_pg_ml",
            "ferritin_peak_ng_ml",
            "dex_equiv_cum_mg",
            "tocilizumab_cum_mg",
        )
    )

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
        (7, "patient_id", "not a patient_id of the cohort")
    ]


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
    rows[0].update(age="seven", crs_grade="two")  # two unreadable cells; crs_onset_day not judged
    rows[1].update(sex="X", death_date="2020-05-19")  # follow-up no longer equals death
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
        (3, "duplicate patient_id (rows 3, 5)"),
        (5, "duplicate patient_id (rows 3, 5)"),
    ]


def test_a_missing_column_is_reported_once_and_other_columns_still_checked(tmp_path):
    lines = _valid_lines()
    header = lines[0].split(",")
    drop = header.index("crs_grade")
    rows = [line.split(",") for line in lines]
    rows[3][header.index("age")] = "-4"
    text = "\n".join(",".join(cells[:drop] + cells[drop + 1 :]) for cells in rows)
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
        ("age_as_word.csv", "age"),
        ("negative_copies.csv", "car_copies_per_ug"),
    }


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
    monkeypatch.setattr(readers, "CHUNK_ROWS", 2)
    pd.testing.assert_frame_equal(load_cohort(VALID_COHORT), valid)
    text = "\n".join(lines[:5] + [lines[5].replace(",7,", ",seven,")])  # in the third chunk
    [violation] = _violations(_write(tmp_path, text))
    assert (violation.row, violation.patient_id, violation.column) == (6, "P05", "age")


def test_input_error_reads_as_a_table():
    error = InputError(
        [
            Violation(None, None, "age", "missing column", file="cohort.csv"),
            Violation(4, "P03", "crs_grade", "must be between 0 and 5", "6", file="cohort.csv"),
            Violation(9, "P99", "patient_id", "not a patient_id of the cohort", "P99", file="kinetics.csv"),
        ]
    )
    text = str(error)
    assert text == error.format()
    assert text.splitlines()[0].startswith("cohort.csv: 2 problems")
    assert text.splitlines()[1].split() == ["row", "patient_id", "column", "rule", "value"]
    assert text.splitlines()[3].split() == ["4", "P03", "crs_grade", "must", "be", "between", "0", "and", "5", "6"]
    assert "kinetics.csv: 1 problem" in text
    assert isinstance(error, Exception) and len(error.violations) == 3
    assert pickle.loads(pickle.dumps(error)).violations == error.violations


def test_many_violations_in_a_large_file_are_all_reported(tmp_path):
    """50,000 patients and 10,000 violations: every one reported, none twice."""
    lines = _valid_lines()
    tails = [line[len("P01") :] for line in lines[1:]]  # each row without its patient_id
    rows = [f"X{i}{tails[i % 5]}" for i in range(50_000)]
    for i in range(0, len(rows), 10):  # patient P01's rows: CR before infusion
        rows[i] = rows[i].replace(",2019-04-02,", ",2019-03-01,")
    for i in range(1, len(rows), 10):  # patient P02's rows: age in words
        rows[i] = rows[i].replace(",12,", ",twelve,")
    path = _write(tmp_path, "\n".join([lines[0]] + rows))
    violations = _violations(path)
    assert len(violations) == 10_000
    assert {(v.column, v.rule) for v in violations} == {
        ("cr_date", "must be on or after infusion_date"),
        ("age", "not a number"),
    }


# --------------------------------------------------------------------------- issue 15: hostile inputs


def _with_column_first(lines: list[str], name: str) -> list[str]:
    """The CSV lines with column ``name`` moved to the front."""
    rows = [line.split(",") for line in lines]
    i = rows[0].index(name)
    return [",".join([cells[i]] + cells[:i] + cells[i + 1 :]) for cells in rows]


def test_a_first_cell_starting_with_hash_is_data_below_the_header(tmp_path, valid):
    """Patient ids written #001... and a center named "#2 Children's Hospital" in the first
    column are values: no row is dropped as a comment (it used to: 84 of 93 patients)."""
    lines = _valid_lines()
    ids = [lines[0]] + [line.replace(f"P0{k}", f"#00{k}", 1) for k, line in enumerate(lines[1:], start=1)]
    cohort = load_cohort(_write(tmp_path, "# export\n" + "\n".join(ids) + "\n"))
    assert cohort["patient_id"].tolist() == ["#001", "#002", "#003", "#004", "#005"]
    assert cohort.drop(columns="patient_id").equals(valid.drop(columns="patient_id"))

    centers = _with_column_first([line.replace("Center B", "#2 Children's Hospital") for line in lines], "center")
    cohort = load_cohort(_write(tmp_path, "\n".join(centers) + "\n", "centers.csv"))
    assert len(cohort) == 5 and cohort["center"].nunique() == 3
    assert (cohort["center"] == "#2 Children's Hospital").sum() == 2


def test_no_row_is_dropped_without_a_reason(tmp_path):
    """A row is left out only when blank; a comment line below the header, or values only in
    columns that are not read, are reported (once each, on their spreadsheet row)."""
    lines = _valid_lines()
    text = "\n".join(
        [
            lines[0] + ",notes",
            lines[1] + ",",
            "# P02 withdrew",
            "",
            "," * lines[0].count(",") + ",sum of doses",
            "\t",
            *[line + "," for line in lines[2:]],
        ]
    )
    violations = _violations(_write(tmp_path, text))
    assert [(v.row, v.column, v.value) for v in violations] == [(3, None, "# P02 withdrew"), (5, None, "sum of doses")]
    assert violations[0].rule == readers.COMMENT_BELOW_HEADER
    assert violations[1].rule == readers.VALUES_OUTSIDE_CONTRACT


def test_dates_outside_the_plausible_window_are_rejected_and_say_so(tmp_path):
    lines = _valid_lines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    rows[0]["infusion_date"] = "1999-12-31"  # the day before contract.EARLIEST_DATE
    rows[1]["infusion_date"] = "2000-01-01"  # the earliest date accepted
    rows[2]["infusion_date"] = "1600-01-01"  # a valid calendar date, out of range
    text = "\n".join([",".join(header)] + [",".join(r[c] for c in header) for r in rows])
    got = [(v.row, v.column, v.rule) for v in _violations(_write(tmp_path, text))]
    too_early = "before 2000-01-01: not a plausible date of a CAR-T therapy"
    assert got == [(2, "infusion_date", too_early), (4, "infusion_date", too_early)]
    assert contract.EARLIEST_DATE == dt.date(2000, 1, 1)


def test_no_date_after_today_even_with_a_later_cutoff(tmp_path):
    today = dt.date.today()
    lines = _valid_lines()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    text = "\n".join(lines[:-1] + [lines[-1].replace("2023-01-10", tomorrow)])  # P05's last follow-up
    [violation] = _violations(_write(tmp_path, text), cutoff=today + dt.timedelta(days=365))
    assert (violation.row, violation.column, violation.value) == (6, "last_followup_date", tomorrow)
    assert violation.rule == f"in the future (after today, {today.isoformat()})"
    # With the cut-off before today, a later date is reported once, as after the cut-off.
    [violation] = _violations(_write(tmp_path, text), cutoff=today)
    assert violation.rule.startswith("after the data cut-off")


def test_a_date_with_one_digit_month_and_day_is_read(tmp_path, valid):
    """data/README.md: `2021-3-4` is read as 2021-03-04 (year-month-day is unambiguous)."""
    lines = _valid_lines()
    text = "\n".join(lines[:5] + [lines[5].replace("2021-05-17", "2021-5-17")])
    pd.testing.assert_frame_equal(load_cohort(_write(tmp_path, text)), valid)
    assert valid["infusion_date"].iloc[4] == pd.Timestamp("2021-05-17")


def test_numbers_are_bounded_so_that_statistics_stay_finite():
    """A peak at the bound gives finite medians with every kinetics patient counted (1e308
    used to overflow to a null median "no non-missing values" with n = 20)."""
    import json

    from conftest import COHORT

    from analysis.demo.synthetic import synthesize
    from analysis.report.results import compute_results

    study = load_study(COHORT, None)
    _, kinetics = synthesize()
    kinetics["car_copies_per_ug"] = np.where(np.arange(len(kinetics)) % 2, contract.MAX_NUMBER, contract.MAX_NUMBER / 2)
    study = Study(study.cohort, kinetics, study.cutoff, study.cohort_path, None, False)
    peaks = json.loads(results_to_json(compute_results(study)))["kinetics"]["peak"]
    for comparison in peaks.values():
        for level in comparison["levels"].values():
            assert level["n"] > 0 and contract.MAX_NUMBER / 2 <= level["median"] <= contract.MAX_NUMBER


def test_kinetics_samples_after_follow_up_are_rejected(tmp_path, valid):
    """P04: infused 2020-11-02, last follow-up 2023-02-28: 848 days (29 + 31 + 365 + 365 + 58)."""
    with pytest.raises(InputError) as info:
        load_kinetics(BAD_INPUTS / "kinetics" / "sample_after_followup.csv", valid)
    assert [(v.row, v.patient_id, v.column, v.value) for v in info.value.violations] == [(8, "P04", "day", "99999")]
    text = VALID_KINETICS.read_text(encoding="utf-8") + "P04,848,10\nP04,849,10\n"
    violations = _violations(VALID_COHORT, _write(tmp_path, text, "kinetics.csv"))
    assert [(v.row, v.value, v.rule) for v in violations] == [
        (9, "849", "after the patient's last follow-up (last_followup_date - infusion_date in the cohort)")
    ]


def test_only_the_generators_marker_line_marks_synthetic_data(tmp_path):
    from analysis.demo.synthetic import marker_line

    body = VALID_COHORT.read_text(encoding="utf-8")
    for first, synthetic in [
        (marker_line(142), True),
        (marker_line(7), True),
        ("# Real patient data export, not synthetic", False),
        ("# SYNTHETIC", False),
        (marker_line(142) + " (edited by hand)", False),
        ("#" + marker_line(142), False),
    ]:
        assert load_study(_write(tmp_path, f"{first}\n{body}")).is_synthetic is synthetic, first


def test_excel_reads_the_active_visible_sheet_or_a_named_one(generated, valid):
    path = generated / "excel_hidden_old_export_first.xlsx"
    study = load_study(path)
    pd.testing.assert_frame_equal(study.cohort, valid)
    [note] = study.notes
    assert "read sheet 'cohort' (the active sheet)" in note
    assert "'old export' (hidden; 2 rows, 2 patients; the same columns)" in note  # what it holds, counted
    assert len(load_study(path, sheet="old export").cohort) == 2
    [named] = load_study(path, sheet="cohort").notes
    assert named.endswith(
        "read sheet 'cohort' (the sheet named); other sheets with a table were not read: "
        "'old export' (hidden; 2 rows, 2 patients; the same columns)."
    )
    assert load_study(generated / "excel_date_cells.xlsx").notes == ()  # its other sheet holds no table
    pd.testing.assert_frame_equal(load_cohort(path, sheet="cohort"), valid)
    [missing] = _violations(path, sheet="cohorts")
    assert missing.rule == "no sheet named 'cohorts' in the workbook (its sheets: 'old export', 'cohort', 'notes')"
    [csv_with_sheet] = _violations(VALID_COHORT, sheet="cohort")
    assert "not an Excel workbook" in csv_with_sheet.rule


def test_excel_reads_only_the_used_range(generated, valid):
    """One formatted empty cell on row 1,048,576: the blank rows above it are not kept (58.6 s
    and 1.17 GB before, 1.6 s and 107 MB after, measured once; no timing is asserted)."""
    pd.testing.assert_frame_equal(load_cohort(generated / "excel_formatted_cell_on_last_row.xlsx"), valid)


def test_excel_numbers_in_date_columns_are_not_date_serials(generated):
    [violation] = _violations(generated / "excel_number_in_date_column.xlsx")
    assert (violation.row, violation.patient_id, violation.column, violation.value) == (
        3,
        "P02",
        "infusion_date",
        "2019",
    )


def test_empty_path_fifo_and_folder_are_named(tmp_path, generated):
    [empty] = _violations(VALID_COHORT, "")
    assert empty.rule == "no file name given for the kinetics table (an empty path)"
    [fifo] = _violations(generated / "fifo.csv")  # would block forever on open()
    assert fifo.rule == "cannot read the file: it is a named pipe (FIFO), not a file"
    [folder] = _violations(tmp_path)
    assert folder.rule == "cannot read the file: it is a folder, not a file"


def test_cr_line_endings_are_read(valid):
    for name in ("cr_line_endings.csv", "cr_line_endings_with_comments.csv"):
        pd.testing.assert_frame_equal(load_cohort(BAD_INPUTS / "accepted" / name), valid)


def test_a_bad_byte_beyond_the_sniffed_bytes_is_located(generated):
    """The byte sits past the 64 KiB sniffed, inside the CSV reader's first block, which is
    decoded when the reader is created (it used to escape as a UnicodeDecodeError)."""
    path = generated / "latin1_byte_at_100kb.csv"
    data = path.read_bytes()
    line = data[: data.index(b"\xf4")].count(b"\n") + 1
    assert data.index(b"\xf4") > readers.SNIFF_BYTES
    [violation] = _violations(path)
    assert violation.rule.startswith(f"not UTF-8 text (byte 0xF4 on line {line} of the file")
