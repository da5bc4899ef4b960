"""Exports that lost patients or changed values without a word (attack 27 on main).

* a REDCap record that exists only in rows of a repeating instrument (no row of its own)
  vanished: "30 records" for an export of 31;
* a double quote opened in an unread column (``notes``) swallowed the rows below it into one
  value: "OK: 27 patients" for 30, 204 kinetics samples for 214;
* Excel cells formatted as percentages (45% is stored as 0.45) were read as fractions:
  marrow blasts median 0.2547 instead of 25.47, and no patient at or above the model's 20%;
* the patients on a workbook's other sheets were dropped with a note that did not count
  them, and the report said nothing.

Each test asserts the clear outcome: an error naming the rows and patients, or the value
read as the user sees it with a note saying so, or the count of what was left out in
``validate`` and in the report.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, read_cohort_text

from analysis.inputs.errors import InputError
from analysis.inputs.loading import load_study

CUTOFF = "2023-03-01"


def _violations(cohort, kinetics=None, **options) -> list:
    with pytest.raises(InputError) as info:
        load_study(cohort, kinetics, CUTOFF, **options)
    return info.value.violations


# --------------------------------------------------------------------------- REDCap


def _redcap_export(tmp_path, orphans: dict[str, list[str]]) -> tuple:
    """The demo as a REDCap flat export with a repeating instrument ``adverse_events`` (one
    instance for the first patient), plus records that have only rows of the repeating
    instruments ``orphans`` names (record -> instruments)."""
    from analysis.inputs import redcap

    cohort = read_cohort_text(COHORT)[1]
    instrument, instance = "redcap_repeat_instrument", "redcap_repeat_instance"
    base = cohort.assign(**{instrument: "", instance: "", "ae_term": ""})
    extra = [{"patient_id": cohort["patient_id"][0], instrument: "adverse_events", instance: "1", "ae_term": "fever"}]
    for record, instruments in orphans.items():
        for k, name in enumerate(instruments, start=1):
            extra.append({"patient_id": record, instrument: name, instance: str(k), "ae_term": "rash"})
    rows = pd.concat([base, pd.DataFrame(extra)], ignore_index=True).fillna("")
    rows = rows[
        ["patient_id", instrument, instance]
        + [c for c in base.columns if c not in ("patient_id", instrument, instance)]
    ]
    path = tmp_path / "redcap.csv"
    rows.to_csv(path, index=False)
    assert redcap.shape_of(list(rows.columns)) is not None
    return path, rows, len(cohort)


def test_a_redcap_record_only_in_a_repeating_instrument_is_an_error_with_the_count(tmp_path):
    path, rows, n = _redcap_export(tmp_path, {"SYN-777": ["adverse_events"]})
    [v] = _violations(path)
    assert v.patient_id == "SYN-777" and v.row == len(rows) + 1  # its row, the header being row 1
    assert v.rule == (
        "a record with rows of repeating instrument 'adverse_events' (1 row) only and no row of its own: a patient "
        f"without cohort data, who would be left out (1 of the export's {n + 1} records has no row of their own); "
        "export the record's own row, or delete its rows"
    )


def test_every_record_without_a_row_is_named(tmp_path):
    path, rows, n = _redcap_export(tmp_path, {"SYN-777": ["adverse_events", "adverse_events"], "SYN-778": ["followup"]})
    found = {v.patient_id: v for v in _violations(path)}
    assert set(found) == {"SYN-777", "SYN-778"}
    assert "'adverse_events' (2 rows)" in found["SYN-777"].rule and "'followup' (1 row)" in found["SYN-778"].rule
    assert all(f"(2 of the export's {n + 2} records have no row of their own)" in v.rule for v in found.values())


def test_a_redcap_export_whose_records_all_have_a_row_reads_every_patient(tmp_path):
    path, _, n = _redcap_export(tmp_path, {})
    assert len(load_study(path, None, CUTOFF).cohort) == n


# --------------------------------------------------------------------------- a quote that swallows rows


def _with_column(path, name: str, cells: dict[int, str], out) -> list[list[str]]:
    """``path`` (comment lines kept) with a last column ``name`` holding ``cells`` (data row
    index -> text, written raw: a stray double quote stays unbalanced)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    body = [lines[first] + f",{name}"]
    for i, line in enumerate(lines[first + 1 :]):
        body.append(line + "," + cells.get(i, ""))
    out.write_text("\n".join(lines[:first] + body) + "\n", encoding="utf-8")
    return [line.split(",") for line in lines[first + 1 :]]


def test_a_stray_quote_in_an_unread_column_swallowing_patients_is_an_error(tmp_path):
    """Attack 27: rows 12-14 became part of row 11's note; 'OK: 27 patients' for 30."""
    path = tmp_path / "swallow.csv"
    rows = _with_column(COHORT, "notes", {9: '"Remark: see the rows below', 12: 'end of remark"'}, path)
    n_comments = next(i for i, line in enumerate(COHORT.read_text().splitlines()) if not line.startswith("#"))
    [v] = _violations(path)
    opened = n_comments + 1 + 10  # the line of data row 10 (index 9)
    assert v.row == 11 and v.patient_id == rows[9][0] and v.column == "notes"
    swallowed = ", ".join(row[0] for row in rows[10:13])
    assert v.rule == (
        f"a value in double quotes spans lines {opened}–{opened + 3} of the file and holds 3 lines shaped like rows of "
        f"the table (lines {opened + 1}–{opened + 3}, patient_id {swallowed}): a double quote opened in this cell and "
        "not closed on its line made those rows part of the value; remove the stray quote, or close it"
    )


def test_a_stray_quote_in_the_kinetics_comments_swallowing_samples_is_an_error(tmp_path):
    """Attack 27: '24 patients with 204 kinetics samples' for 214."""
    path = tmp_path / "kinetics.csv"
    rows = _with_column(KINETICS, "comment", {5: '"sample re-run', 15: 'ok"'}, path)
    [v] = _violations(COHORT, path)
    assert v.file == str(path) and v.row == 7 and v.column == "comment"
    assert "holds 10 lines shaped like rows of the table" in v.rule
    assert f"patient_id {', '.join(dict.fromkeys(r[0] for r in rows[6:16]))})" in v.rule


def test_a_quote_left_open_to_the_end_of_the_file_is_an_unclosed_quote(tmp_path):
    path = tmp_path / "open.csv"
    rows = _with_column(COHORT, "notes", {len(read_cohort_text(COHORT)[1]) - 5: '"see below'}, path)
    [v] = _violations(path)
    assert v.row == len(rows) - 5 + 2 and v.column is None
    assert v.rule.startswith('unclosed double quote ("): the value opened on line ')


def test_a_note_over_several_lines_is_read_as_one_value_and_counted(tmp_path):
    """A line break inside a quoted cell (Alt+Enter in Excel) is a note over two lines, not a
    row: every patient is read, and a note counts the lines against the rows."""
    path = tmp_path / "notes.csv"
    rows = _with_column(COHORT, "notes", {3: '"fever on day 2\nresolved, day 5"', 7: '"one\ntwo, three\nfour"'}, path)
    study = load_study(path, None, CUTOFF)
    assert len(study.cohort) == len(rows)
    n_comments = next(i for i, line in enumerate(COHORT.read_text().splitlines()) if not line.startswith("#"))
    [note] = [n for n in study.notes if "over several lines" in n]
    assert note == (
        f"notes.csv: 2 rows hold values in double quotes over several lines of the file (column 'notes', rows 5, 9: "
        f"3 line breaks inside values), each read as one value: lines {n_comments + 1}–{n_comments + 1 + len(rows) + 3} "
        f"of the file hold the header and {len(rows)} rows"
    )


# --------------------------------------------------------------------------- percent-formatted cells


def _workbook(path, sheets: dict[str, list[list]], number_formats: dict[str, str] | None = None, active: int = 0):
    """A workbook of ``sheets`` (title -> rows, header first; dates as datetimes), each cell
    of a column named in ``number_formats`` given that Excel number format."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for name, code in (number_formats or {}).items():
            if name in rows[0]:
                column = rows[0].index(name) + 1
                for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.number_format = code
    wb.active = active
    wb.save(path)
    return path


def _typed_rows(divide: dict[str, float] | None = None, n: int | None = None) -> list[list]:
    """The demo cohort's header and rows as a workbook holds them (numbers as numbers, dates
    as datetimes), the columns of ``divide`` divided by their value (45 -> 0.45)."""
    import datetime as dt

    header, frame = read_cohort_text(COHORT)
    rows = [list(frame.columns)]
    for _, record in frame.head(n).iterrows():
        row = []
        for name, text in record.items():
            value: object = None if text == "" else text
            if value is not None and name.endswith("_date"):
                value = dt.datetime.fromisoformat(text)
            elif value is not None:
                try:
                    number = float(text)
                    value = int(number) if number.is_integer() and name not in ("age", "bm_blasts_pct") else number
                except ValueError:
                    pass
            if value is not None and name in (divide or {}):
                value = value / divide[name]
            row.append(value)
        rows.append(row)
    return rows


@pytest.mark.parametrize("code", ["0.0%", "0%", "0.00%", '0.0" "%', "[Blue]0.0%;[Red]-0.0%"])
def test_percent_formatted_cells_are_read_as_the_percentage_they_show(tmp_path, code):
    """Attack 27: 45% is stored as 0.45; the median of the marrow blasts was 0.2547 for 25.47
    and no patient was at or above the model's 20%."""
    plain = _workbook(tmp_path / "plain.xlsx", {"cohort": _typed_rows()})
    percent = _workbook(
        tmp_path / "percent.xlsx", {"cohort": _typed_rows({"bm_blasts_pct": 100})}, {"bm_blasts_pct": code}
    )
    expected = load_study(plain, None, CUTOFF)
    study = load_study(percent, None, CUTOFF)
    pd.testing.assert_frame_equal(study.cohort, expected.cohort)  # to the last digit: 25.47, not 25.470000000000002
    assert study.cohort["bm_blasts_pct"].median() == expected.cohort["bm_blasts_pct"].median() > 1
    n = int(expected.cohort["bm_blasts_pct"].notna().sum())
    first = expected.cohort["bm_blasts_pct"].iloc[0]
    [note] = [x for x in study.notes if "formatted as percentages" in x]
    assert note == (
        f"percent.xlsx: bm_blasts_pct: {n} cells formatted as percentages in the workbook (Excel stores {first:g}% as "
        f"{first / 100:g}), read as the percentage they show ({first:g})"
    )
    assert study.fraction_columns == ()


def test_a_percent_formatted_cell_in_a_column_that_is_no_percentage_is_a_problem(tmp_path):
    rows = _typed_rows()
    path = _workbook(tmp_path / "age.xlsx", {"cohort": rows}, {"age": "0%"})
    [v] = _violations(path)
    age = rows[1][rows[0].index("age")]
    assert (v.row, v.patient_id, v.column) == (2, rows[1][0], "age")
    assert v.rule.startswith(f"formatted as a percentage in the workbook (shown as {age * 100:g}%, stored as {age:g};")
    assert f"{len(rows) - 1} cells of the column): age is not a percentage" in v.rule


def test_percentages_written_as_fractions_are_noted_and_reach_the_report(tmp_path):
    """A CSV (or a workbook's plain numbers) holding 0.45 for 45%: every value at most 1 is a
    note of validate, a key of the results and a caveat of the report's data quality."""
    from analysis.report.export import results_to_dict
    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    header, frame = read_cohort_text(COHORT)
    blasts = pd.to_numeric(frame["bm_blasts_pct"])
    frame["bm_blasts_pct"] = (blasts / 100).map(lambda v: f"{v:.6g}")
    path = tmp_path / "fractions.csv"
    frame.to_csv(path, index=False)
    study = load_study(path, None, CUTOFF)
    median = float((blasts / 100).median())
    [note] = [x for x in study.notes if "at most 1" in x]
    assert note.startswith(
        f"fractions.csv: bm_blasts_pct: every value is at most 1 ({len(frame)} patients, median {median:g}, at most "
    )
    assert "percentages written as fractions?" in note
    results = compute_results(study)
    [column] = results_to_dict(results)["data_quality"]["fraction_columns"]
    assert column["column"] == "bm_blasts_pct" and column["n"] == len(frame) and column["largest"] <= 1
    text = Narrative(results)
    assert text.caveats_any and text.flags["caveats"]
    assert text.caveats == (
        f"Every value of bone-marrow blasts is at most 1 ({len(frame)} patients, median {median:g}): percentages "
        "recorded as fractions, probably (45% as 0.45); the values were analyzed as recorded."
    )
    assert 'data-caveats="Every value of bone-marrow blasts' in text.journal_marker


# --------------------------------------------------------------------------- other sheets of a workbook


def _split_workbook(tmp_path, **options):
    """The first 30 demo patients, 15 on the active sheet and 15 on a second visible sheet
    with the same header (patients split by center), and a kinetics-shaped third sheet."""
    rows = _typed_rows(n=30)
    sheets = {
        "Center A+B": [rows[0], *rows[1:16]],
        "Center C+D": [rows[0], *rows[16:]],
        "kinetics": [["patient_id", "day", "car_copies_per_ug"], [rows[1][0], 7, 100.0]],
    }
    return _workbook(tmp_path / "split.xlsx", sheets, **options), rows


def test_patients_split_over_two_visible_sheets_are_an_error_counting_each(tmp_path):
    """Attack 27: 'OK: 15 patients' for a workbook of 30, and a report 'of 15 patients'."""
    path, _ = _split_workbook(tmp_path)
    [v] = _violations(path)
    assert v.rule == (
        "2 visible sheets hold the same table: 'Center A+B' (15 rows, 15 patients), 'Center C+D' (15 rows, 15 "
        "patients). Only one sheet is read: put every patient on one sheet, or name the sheet that is the cohort "
        "(study file: data: sheet:, or --sheet)"
    )


def test_a_named_sheet_counts_the_others_in_validate_and_in_the_report(tmp_path):
    from analysis.report.export import results_to_dict
    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    path, _ = _split_workbook(tmp_path)
    study = load_study(path, None, CUTOFF, sheet="Center A+B")
    assert len(study.cohort) == 15
    [note] = [n for n in study.notes if "other sheets" in n]
    assert note == (
        "split.xlsx: read sheet 'Center A+B' (the sheet named); other sheets with a table were not read: "
        "'Center C+D' (15 rows, 15 patients; the same columns), 'kinetics' (1 row, 1 patient)."
    )
    results = compute_results(study)
    assert results_to_dict(results)["data_quality"]["unread_sheets"] == [{"rows": 15, "patients": 15}]
    text = Narrative(results)
    assert text.caveats == (
        "The export's workbook holds 1 other sheet with the columns of the sheet analyzed, which was not read: "
        "15 rows, 15 patient identifiers; patients recorded only there are not in this report."
    )
    assert "Center" not in text.caveats  # a sheet's name may be a center's: never in a document
    assert text.flags["caveats"] and "data-caveats=" in text.journal_marker


def test_a_hidden_old_export_is_counted_not_refused(tmp_path):
    import openpyxl

    path, _ = _split_workbook(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["Center C+D"].sheet_state = "hidden"
    wb.save(path)
    study = load_study(path, None, CUTOFF)
    assert len(study.cohort) == 15
    [note] = [n for n in study.notes if "other sheets" in n]
    assert "'Center C+D' (hidden; 15 rows, 15 patients; the same columns)" in note
    assert note.endswith("Name the sheet to read if that is not the right one.")
    assert [(o.rows, o.patients, o.same_table) for o in study.other_sheets] == [(15, 15, True), (1, 1, False)]


def test_rows_hidden_in_the_workbook_are_read_and_counted_in_a_note(tmp_path):
    """Second attack: 10 rows filtered out by an autoFilter and 5 collapsed in an outline
    group were read (right: nothing is lost) without a word, while Excel showed 78 rows."""
    import openpyxl

    rows = _typed_rows()
    path = _workbook(tmp_path / "cohort.xlsx", {"Export": rows})
    wb = openpyxl.load_workbook(path)
    ws = wb["Export"]
    ws.auto_filter.ref = f"A1:{openpyxl.utils.get_column_letter(len(rows[0]))}{len(rows)}"
    for number in range(2, 12):  # filtered out
        ws.row_dimensions[number].hidden = True
    ws.row_dimensions.group(20, 24, outline_level=1, hidden=True)  # a collapsed group
    wb.save(path)
    study = load_study(path, KINETICS, "2023-03-01")
    assert len(study.cohort) == len(rows) - 1 == 93  # every row read
    [note] = [n for n in study.notes if "hidden in the workbook" in n]
    assert note.startswith("cohort.xlsx: 15 rows of sheet 'Export' are hidden in the workbook")
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, ...)" in note


def test_a_workbook_without_hidden_rows_has_no_such_note(tmp_path):
    path = _workbook(tmp_path / "cohort.xlsx", {"Export": _typed_rows()})
    assert not [n for n in load_study(path, KINETICS, "2023-03-01").notes if "hidden in the workbook" in n]
