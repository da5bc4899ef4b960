"""The malformed-input corpus of tests/bad_inputs/, shared by test_loading and test_cli.

Committed cases are listed in tests/bad_inputs/cases.csv (one line per expected
violation: the column, "-" for the whole file, and a substring of the rule). Cases
that need binary or very large files are generated at test time by the builders below,
into one directory per test session.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"
VALID_COHORT = BAD_INPUTS / "valid_cohort.csv"
VALID_KINETICS = BAD_INPUTS / "valid_kinetics.csv"
ACCEPTED = sorted((BAD_INPUTS / "accepted").iterdir())


@dataclass(frozen=True)
class Case:
    name: str
    cohort: str  # relative to its directory
    kinetics: str | None
    expected: tuple[tuple[str, str], ...]  # (column or "-", substring of the rule)


def committed_cases() -> list[Case]:
    expected = defaultdict(list)
    with open(BAD_INPUTS / "cases.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected[(row["case"], row["cohort"], row["kinetics"] or None)].append((row["column"], row["rule"]))
    return [Case(name, cohort, kinetics, tuple(exp)) for (name, cohort, kinetics), exp in expected.items()]


# --------------------------------------------------------------------------- workbooks

_DATES = {"infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date"}


def _valid_rows() -> tuple[list[str], list[list[str]]]:
    with open(VALID_COHORT, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _cell(column: str, text: str, serial_dates: bool):
    """A CSV value as Excel would store it: numbers, TRUE/FALSE, date cells or serials."""
    if text == "":
        return None
    if column in _DATES:
        date = dt.date.fromisoformat(text)
        return (date - dt.date(1899, 12, 30)).days if serial_dates else dt.datetime(date.year, date.month, date.day)
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return {"yes": True, "no": False}.get(text, text)


def write_workbook(
    path: Path,
    *,
    serial_dates=False,
    date_format=None,
    rows_above=(),
    edits=None,
    hidden_old_export=False,
    far_formatted_cell=False,
    date_system_1904=False,
) -> Path:
    """The valid cohort as an .xlsx workbook; ``edits`` maps a cell ("D2") to a value.

    ``serial_dates``: dates as Excel serial numbers, with the number format ``date_format``
    (None: a plain number, as a date cell that lost its format). ``hidden_old_export``: a
    hidden first sheet holding an older export of two patients, the cohort on the active
    sheet. ``far_formatted_cell``: one formatted empty cell on the last row Excel has.
    ``date_system_1904``: the workbook counts days from 1904 (old Excel for Mac)."""
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    header, data = _valid_rows()
    wb = openpyxl.Workbook()
    if date_system_1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "cohort"
    for row in rows_above:
        ws.append(row)
    ws.append(header)
    for row in data:
        ws.append([_cell(column, text, serial_dates) for column, text in zip(header, row)])
        if serial_dates and date_format:
            for cell, column in zip(ws[ws.max_row], header):
                if column in _DATES and cell.value is not None:
                    cell.number_format = date_format
    for ref, value in (edits or {}).items():
        ws[ref] = value
        ws[ref].number_format = "General"  # as typed in a fresh cell: a number stays a number
    if far_formatted_cell:
        ws["A1048576"].number_format = "0.00"
    wb.create_sheet("notes").append(["only the cohort sheet is read", "=1/0"])
    if hidden_old_export:
        old = wb.create_sheet("old export", 0)
        old.append(header)
        for row in data[:2]:
            old.append([_cell(column, text, False) for column, text in zip(header, row)])
        old.sheet_state = "hidden"
        wb.active = wb.sheetnames.index("cohort")
    wb.save(path)
    return path


def _with_saved_result(path: Path, formula: str, result: str) -> None:
    """Store a formula's result in the workbook, as Excel does on saving."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                old = f"<f>{formula}</f><v />".encode()
                assert old in data, "openpyxl writes formulas differently than expected"
                data = data.replace(old, f"<f>{formula}</f><v>{result}</v>".encode())
            dst.writestr(item, data)
    tmp.replace(path)


# --------------------------------------------------------------------------- generated cases

GARBAGE_BYTES = 100 * 1024 * 1024


def _garbage(path: Path, block: bytes) -> None:
    with open(path, "wb") as fh:
        for _ in range(GARBAGE_BYTES // len(block)):
            fh.write(block)


def _random_garbage(path: Path) -> None:
    with open(path, "wb") as fh:
        for _ in range(GARBAGE_BYTES // (1 << 20)):
            fh.write(os.urandom(1 << 20))


def _non_utf8_far_into(path: Path, offset: int) -> None:
    """Valid rows (new patient ids) for ``offset`` bytes, then a Latin-1 byte, then more rows:
    beyond the bytes sniffed, inside the CSV reader's first block."""
    header, data = _valid_rows()
    lines, size, placed = [",".join(header)], 0, False
    for i in range(10**6):
        if size >= 2 * offset:
            break
        row = list(data[i % len(data)])
        row[0] = f"X{i:06d}"
        if size >= offset and not placed:
            row[1], placed = "Centre Hôpital", True
        lines.append(",".join(row))
        size += len(lines[-1]) + 1
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def _build_generated(directory: Path) -> None:
    write_workbook(directory / "excel_header_not_on_row_1.xlsx", rows_above=[["Cohort export, March 2023"], []])
    write_workbook(directory / "excel_formula_without_result.xlsx", edits={"D2": "=30+4"})
    write_workbook(directory / "excel_bad_values.xlsx", edits={"D4": "seven", "C3": "2023/13/45", "N2": 6})
    (directory / "legacy.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "a zip archive, not a workbook")
    (directory / "zip_not_a_workbook.xlsx").write_bytes(buffer.getvalue())
    import openpyxl

    openpyxl.Workbook().save(directory / "empty_workbook.xlsx")
    write_workbook(directory / "excel_number_in_date_column.xlsx", edits={"C3": 2019})
    write_workbook(directory / "excel_serial_dates_without_format.xlsx", serial_dates=True)
    write_workbook(directory / "excel_comment_row.xlsx", edits={"A7": "# P06 withdrew consent"})
    _non_utf8_far_into(directory / "latin1_byte_at_100kb.csv", 100 * 1024)
    os.mkfifo(directory / "fifo.csv")
    _random_garbage(directory / "garbage_100mb.csv")
    _garbage(directory / "garbage_100mb_one_line.csv", b"lorem ipsum dolor sit amet " * 4096)
    # Accepted workbooks: each loads to exactly the frame of valid_cohort.csv.
    write_workbook(directory / "excel_date_cells.xlsx")
    write_workbook(directory / "excel_serial_dates.xlsx", serial_dates=True, date_format="yyyy-mm-dd")
    write_workbook(directory / "excel_hidden_old_export_first.xlsx", hidden_old_export=True)
    write_workbook(directory / "excel_1904_date_system.xlsx", date_system_1904=True)
    write_workbook(directory / "excel_formatted_cell_on_last_row.xlsx", far_formatted_cell=True)
    write_workbook(directory / "excel_formula_with_saved_result.xlsx", edits={"D2": "=30+4"})
    _with_saved_result(directory / "excel_formula_with_saved_result.xlsx", "30+4", "34")


GENERATED_CASES = [
    Case("excel_header_not_on_row_1", "excel_header_not_on_row_1.xlsx", None, (("-", "header must be on row 1"),)),
    Case(
        "excel_formula_without_result",
        "excel_formula_without_result.xlsx",
        None,
        (("age", "formula without a saved result"),),
    ),
    Case(
        "excel_bad_values",
        "excel_bad_values.xlsx",
        None,
        (("age", "not a number"), ("infusion_date", "not a date"), ("crs_grade", "between 0 and 5")),
    ),
    Case("legacy_xls", "legacy.xls", None, (("-", "old binary Excel (.xls)"),)),
    Case("zip_not_a_workbook", "zip_not_a_workbook.xlsx", None, (("-", "cannot open as an Excel .xlsx"),)),
    Case("empty_workbook", "empty_workbook.xlsx", None, (("-", "empty workbook"),)),
    Case(
        "excel_number_in_date_column",
        "excel_number_in_date_column.xlsx",
        None,
        (("infusion_date", "a number, not a date"),),
    ),
    Case(
        "excel_serial_dates_without_format",
        "excel_serial_dates_without_format.xlsx",
        None,
        (("infusion_date", "a number, not a date"), ("last_followup_date", "a number, not a date")),
    ),
    Case("excel_comment_row", "excel_comment_row.xlsx", None, (("-", "comment line below the header"),)),
    Case("latin1_byte_at_100kb", "latin1_byte_at_100kb.csv", None, (("-", "not UTF-8 text (byte 0xF4"),)),
    Case("fifo", "fifo.csv", None, (("-", "named pipe"),)),
    Case("garbage_100mb", "garbage_100mb.csv", None, (("-", "binary data"),)),
    Case("garbage_100mb_one_line", "garbage_100mb_one_line.csv", None, (("-", "no header line"),)),
]

ACCEPTED_WORKBOOKS = [
    "excel_date_cells.xlsx",
    "excel_serial_dates.xlsx",
    "excel_formula_with_saved_result.xlsx",
    "excel_hidden_old_export_first.xlsx",
    "excel_formatted_cell_on_last_row.xlsx",
    "excel_1904_date_system.xlsx",
]


def generated_directory(tmp_path_factory) -> Path:
    """The generated files, built once per test session (100 MB files included)."""
    directory = tmp_path_factory.getbasetemp() / "generated_bad_inputs"
    if not (directory / ".complete").exists():
        directory.mkdir(exist_ok=True)
        _build_generated(directory)
        (directory / ".complete").touch()
    return directory


def violation_matches(violation, column: str, rule: str) -> bool:
    return (violation.column or "-") == column and rule in violation.rule
