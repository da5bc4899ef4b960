"""Readers that trust nothing (issue 22): hostile workbooks and files that are not data.

Each workbook is built byte for byte by tests/hostile.py; each test asserts the clear
outcome: every patient read (and a note) for a stale declared range, or one file-level
problem naming what was refused -- never a traceback, never a silently shorter cohort,
never the contents of a file that is not a table. Time and memory are measured by
benchmarks/hostile_inputs.py, not here (no timed tests).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import hostile
import pandas as pd
import pytest

import analysis.inputs.xlsx as xlsx
from analysis.inputs.loading import InputError, load_study
from analysis.inputs.readers import VALUES_OUTSIDE_CONTRACT
from analysis.registry.contract import COHORT_FIELDS

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2023-03-01"


def _refusal(path: Path) -> str:
    """The single file-level problem a hostile file gives (anything else fails the test)."""
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    [violation] = info.value.violations
    assert violation.row is None and violation.file == str(path)
    return violation.rule


@pytest.fixture(scope="module")
def bundled_csv():
    return load_study(hostile.BUNDLED, None, CUTOFF).cohort


# --------------------------------------------------------------------------- the declared range


def test_a_stale_declared_range_loses_no_patient_and_is_noted(tmp_path, bundled_csv):
    path = hostile.stale_range(tmp_path / "stale.xlsx")
    with zipfile.ZipFile(path) as archive:  # what a reader trusting <dimension> would read: 49 rows
        assert f'<dimension ref="A1:{hostile.last_column()}50"/>'.encode() in archive.read(hostile.SHEET)
    study = load_study(path, None, CUTOFF)
    assert len(study.cohort) == 93
    pd.testing.assert_frame_equal(study.cohort, bundled_csv)  # the same patients as the CSV, cell for cell
    [note] = study.notes
    assert f"declares its used range as A1:{hostile.last_column()}50" in note and "down to row 94" in note
    assert "every row was read" in note


def test_a_true_or_absent_declared_range_gives_no_note(tmp_path, bundled_csv):
    for dimension in ("exact", None, "A1:XFD1048576"):  # exact, absent, or larger than the values
        path = hostile.bundled_workbook(tmp_path / f"ok-{dimension}.xlsx".replace(":", "-"), dimension)
        study = load_study(path, None, CUTOFF)
        assert study.notes == () and len(study.cohort) == 93


def test_rows_padded_to_excel_s_last_column_read_as_the_table(tmp_path):
    """Each row with a cell in column XFD and the range declared to match: openpyxl pads
    every row to 16,384 values; the reader keeps the header's columns (and the patients)."""
    path = hostile.wide_rows(tmp_path / "wide.xlsx", 200)
    study = load_study(path, None, CUTOFF)
    width = len(hostile.bundled_rows()[0])
    not_done = sum(f.not_done is not None for f in COHORT_FIELDS)  # their "not done" columns follow
    assert len(study.cohort) == 200 and study.cohort.shape[1] == width + not_done and study.notes == ()


# --------------------------------------------------------------------------- XML attacks


@pytest.mark.parametrize("part", [hostile.SHEET, hostile.STYLES])
def test_entity_expansion_is_refused_with_a_message(tmp_path, part):
    rule = _refusal(hostile.billion_laughs(tmp_path / "laughs.xlsx", part))
    assert f"part '{part}' declares an XML document type or entities" in rule and "refused" in rule


def test_an_external_entity_is_refused_and_the_file_it_names_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE-7731\n", encoding="utf-8")
    path = hostile.external_entity(tmp_path / "xxe.xlsx", secret)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    assert "declares an XML document type or entities" in info.value.violations[0].rule
    assert "TOP-SECRET" not in info.value.format()


@pytest.mark.parametrize("part", [hostile.SHEET, hostile.STYLES])
def test_twenty_thousand_deep_nesting_is_refused(tmp_path, part):
    rule = _refusal(hostile.deep_nesting(tmp_path / "deep.xlsx", 20_000, part))
    assert f"part '{part}' nests XML elements more than {xlsx.XML_MAX_DEPTH} deep" in rule


def test_xml_that_is_not_well_formed_is_a_damaged_file(tmp_path):
    rows = [*hostile.bundled_sheet_rows(3), "<row r='9'><c r='A9'><v>1</v></row>"]  # an unclosed <c>
    rule = _refusal(hostile.write_xlsx(tmp_path / "broken.xlsx", hostile.sheet_xml(rows)))
    assert "is not well-formed XML" in rule and "damaged" in rule


def test_a_cell_pointing_past_the_shared_strings_is_a_damaged_file(tmp_path):
    rows = [*hostile.bundled_sheet_rows(3), '<row r="5"><c r="A5" t="s"><v>999</v></c></row>']
    rule = _refusal(hostile.write_xlsx(tmp_path / "strings.xlsx", hostile.sheet_xml(rows)))
    assert rule.startswith("cell A5 of the sheet cannot be read") and "damaged" in rule


# --------------------------------------------------------------------------- sizes


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = hostile.zip_bomb(tmp_path / "bomb.xlsx", 100)  # 100 MiB of blanks in ~100 KB
    info = zipfile.ZipFile(path).getinfo(hostile.SHEET)
    assert info.file_size > 500 * info.compress_size
    rule = _refusal(path)
    assert "times larger than it is packed" in rule and "zip bomb" in rule


def test_a_part_beyond_the_size_limit_is_refused(tmp_path):
    rule = _refusal(hostile.zip_bomb(tmp_path / "bomb.xlsx", 130))
    assert f"more than the {xlsx.XLSX_MAX_PART_BYTES:,} a workbook may hold" in rule and "CSV UTF-8" in rule


def test_the_parts_together_beyond_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "XLSX_MAX_TOTAL_BYTES", 20_000)
    rule = _refusal(hostile.bundled_workbook(tmp_path / "ok.xlsx"))
    assert rule.startswith("the workbook unpacks to") and "more than the 20,000" in rule


def test_more_cells_than_the_limit_are_refused_as_they_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "XLSX_MAX_CELLS", 1000)  # the 93 patients hold more than 2,000 cells
    rule = _refusal(hostile.bundled_workbook(tmp_path / "ok.xlsx"))
    assert "the sheet holds more than 1,000 cells" in rule and "save the sheet as CSV UTF-8" in rule


def test_cells_are_counted_as_they_stream_too(tmp_path, monkeypatch):
    """Without the byte count that refuses a large sheet before parsing it (it misses a cell
    written with a namespace prefix), the parser's own count stops at the limit."""
    monkeypatch.setattr(xlsx, "XLSX_MAX_CELLS", 1000)
    monkeypatch.setattr(xlsx, "_count_cells", lambda book, sheet: None)
    assert "the sheet holds more than 1,000 cells" in _refusal(hostile.bundled_workbook(tmp_path / "ok.xlsx"))


def test_a_value_far_below_the_table_is_refused_by_the_cells_it_spans(tmp_path):
    """The 93 patients and one more on Excel's last row: 1,048,575 rows of the table's columns."""
    rule = _refusal(hostile.far_row_number(tmp_path / "far.xlsx", xlsx.EXCEL_MAX_ROWS))
    assert "a value on row 1,048,576" in rule and "delete the rows below the table" in rule


def test_text_beyond_the_limits_is_refused(tmp_path, monkeypatch):
    header, data = hostile.bundled_rows()
    long_cell = hostile.row_xml(2, header, ["P1", "x" * (xlsx.EXCEL_MAX_CELL_CHARS + 1), *data[0][2:]])
    rule = _refusal(
        hostile.write_xlsx(tmp_path / "long.xlsx", hostile.sheet_xml([hostile.header_xml(header), long_cell]))
    )
    assert rule.startswith("cell B2 holds 32,768 characters, more than Excel's 32,767")
    monkeypatch.setattr(xlsx, "XLSX_MAX_TEXT_CHARS", 2000)
    assert "more than 2,000 characters of text" in _refusal(hostile.bundled_workbook(tmp_path / "ok.xlsx"))


def test_a_row_wider_than_excel_is_refused(tmp_path):
    rule = _refusal(hostile.giant_row(tmp_path / "giant.xlsx", 20_000))
    assert f"a row of the sheet has more than {xlsx.EXCEL_MAX_COLUMNS:,} cells" in rule


# --------------------------------------------------------------------------- rows and cells


def test_a_row_number_written_twice_is_refused_not_skipped(tmp_path):
    """openpyxl skips the second row 94 silently (93 patients instead of 94)."""
    rule = _refusal(hostile.repeated_row_number(tmp_path / "dup.xlsx"))
    assert "row 94 of the sheet comes after row 94" in rule


def test_a_row_number_beyond_excel_is_refused(tmp_path):
    assert "a row numbered 1,000,000,000, beyond Excel's 1,048,576 rows" in _refusal(
        hostile.far_row_number(tmp_path / "far.xlsx", 10**9)
    )


def test_a_value_right_of_the_header_alone_on_its_row_is_reported(tmp_path):
    """A row whose only value lies right of the header's last column is not a blank row."""
    rows = [
        *hostile.bundled_sheet_rows(),
        '<row r="95"><c r="AF95" t="inlineStr"><is><t>P94 withdrew</t></is></c></row>',
    ]
    with pytest.raises(InputError) as info:
        load_study(hostile.write_xlsx(tmp_path / "right.xlsx", hostile.sheet_xml(rows)), None, CUTOFF)
    [violation] = info.value.violations
    assert (violation.row, violation.rule, violation.value) == (95, VALUES_OUTSIDE_CONTRACT, "P94 withdrew")


# --------------------------------------------------------------------------- files that are not data


SECRET = "root:$6$Xk3Q9hashHASHhash:19000:0:99999:7:::"


@pytest.mark.parametrize(
    "text",
    [
        f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n",  # /etc/shadow
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n",
        f"{SECRET};second;third\n",  # semicolons, but no column of the contract
        f"{SECRET}\tsecond\tthird\n",
        f"{SECRET},a\rb,c\n",  # mixed line endings
    ],
    ids=["shadow", "private-key", "semicolons", "tabs", "mixed-endings"],
)
def test_a_file_that_is_not_a_table_is_never_echoed(tmp_path, text):
    path = tmp_path / "shadow"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    shown = info.value.format()
    assert "Xk3Q9" not in shown and "OPENSSH" not in shown and "daemon" not in shown
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(path), "--cutoff", CUTOFF],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1 and "Xk3Q9" not in proc.stdout + proc.stderr


def test_a_semicolon_table_header_is_still_shown(tmp_path):
    """The header of a table (it names contract columns) is shown: it helps, and it is no secret."""
    path = tmp_path / "semi.csv"
    path.write_text("patient_id;center;age\nP1;A;5\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    assert info.value.violations[0].value == "patient_id;center;age"


def test_map_refuses_a_hostile_workbook_before_pandas_reads_it(tmp_path):
    from analysis.inputs.mapping import propose_mapping

    for path in (hostile.zip_bomb(tmp_path / "bomb.xlsx", 100), hostile.billion_laughs(tmp_path / "laughs.xlsx")):
        with pytest.raises(InputError) as info:
            propose_mapping(path)
        assert "zip bomb" in str(info.value) or "declares an XML document type" in str(info.value)


def test_data_readme_states_the_workbook_limits_of_the_code():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    stated = [
        f"{xlsx.XLSX_MAX_PART_BYTES >> 20} MiB",
        f"{xlsx.XLSX_MAX_TOTAL_BYTES >> 20} MiB",
        f"{xlsx.XLSX_RATIO_FROM_BYTES >> 20} MiB packed at most {xlsx.XLSX_MAX_RATIO}:1",
        f"nested at most {xlsx.XML_MAX_DEPTH} deep",
        f"Excel's {xlsx.EXCEL_MAX_COLUMNS:,} in a row, {xlsx.XLSX_MAX_CELLS:,} in the table",
        f"{xlsx.XLSX_MAX_TEXT_CHARS >> 20} MiB of text",
        f"Excel's {xlsx.EXCEL_MAX_CELL_CHARS:,} characters",
        f"Excel's {xlsx.EXCEL_MAX_ROWS:,} rows",
    ]
    flat = " ".join(readme.split())
    assert [s for s in stated if s not in flat] == []


def test_the_benchmark_of_hostile_workbooks_starts():
    """benchmarks/hostile_inputs.py measures time and memory (no timed test here): it runs."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "hostile_inputs.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--memory-cap-gib" in proc.stdout, proc.stderr


def _damaged_exports(folder: Path) -> dict[str, Path]:
    """Four common export damages of the demo cohort (its header and rows, no comment line)."""
    text = (ROOT / "data" / "cohort.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    files = {
        "empty": ("", "utf-8"),
        "latin1": (text.replace("Center A", "Centre Ä"), "latin-1"),
        "quote": (text.replace("SYN-011,", '"SYN-011,', 1), "utf-8"),
        "utf16": (text, "utf-16"),
    }
    out = {}
    for name, (content, encoding) in files.items():
        path = folder / f"{name}.csv"
        path.write_text(content, encoding=encoding, newline="")
        out[name] = path
    return out


@pytest.mark.parametrize(
    "name, words",
    [
        ("empty", "empty file"),
        ("latin1", "not UTF-8 text (byte 0xC4 on line 2 of the file, probably Latin-1/Windows-1252)"),
        ("quote", 'unclosed double quote ("): the value opened on line 12 runs to the end of the file'),
        ("utf16", "UTF-16 text (Excel 'Unicode Text'): re-save the file as CSV UTF-8"),
    ],
)
def test_map_explains_a_damaged_export_as_validate_does(tmp_path, capsys, name, words):
    """Attack 29/06: `map`, the first command a new user runs, read CSVs with pandas directly and
    printed "No columns to parse from file", "'utf-8' codec can't decode byte 0xc4 in position
    375", "Error tokenizing data. C error: EOF inside string starting at row 11" where `validate`
    explains the same file. map now goes through validate's reader: the same messages."""
    from analysis import cli
    from analysis.inputs.mapping import propose_mapping

    path = _damaged_exports(tmp_path)[name]
    with pytest.raises(InputError) as mapped:
        propose_mapping(path)
    with pytest.raises(InputError) as validated:
        load_study(path, None, "2023-03-01")
    assert [(v.row, v.rule) for v in mapped.value.violations] == [(v.row, v.rule) for v in validated.value.violations]
    assert words in mapped.value.violations[0].rule
    assert {v.file for v in mapped.value.violations} == {str(path)}
    assert cli.main(["map", str(path)]) == 1
    err = capsys.readouterr().err
    assert words in err and "codec" not in err and "tokenizing" not in err and "No columns" not in err
