"""Headers an export may carry that the readers must not trust to be simple (issue 22,
attack 28): a header name holding a line break, dictionary labels and label-export
headers written as HTML by REDCap's rich-text label editor.

All in process, on the small valid cohort of tests/bad_inputs (no render).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.inputs.loading import InputError, load_study
from analysis.inputs.readers import ColumnMapping, open_source
from analysis.registry.contract import COHORT_FIELDS

ROOT = Path(__file__).resolve().parents[1]
VALID = (ROOT / "tests" / "bad_inputs" / "valid_cohort.csv").read_text(encoding="utf-8").splitlines()
CUTOFF = "2023-03-01"

#: A header name over three lines of the file (valid CSV: a REDCap label export of a label
#: with line breaks, Alt+Enter in an Excel header cell).
SPANNING = "ICANS grade\n(ASTCT\n2019)"
MAPPING = ColumnMapping(columns={"icans_grade": SPANNING})


def _write(tmp_path: Path, rows: list[str], newline: str = "\n") -> Path:
    header = VALID[0].replace("icans_grade", '"' + SPANNING.replace("\n", newline) + '"')
    path = tmp_path / "cohort.csv"
    path.write_bytes(("# exported 2023-03-01" + newline + header + newline + newline.join(rows) + newline).encode())
    return path


def _violations(path: Path, mapping: ColumnMapping = MAPPING):
    with pytest.raises(InputError) as err:
        load_study(path, None, CUTOFF, mapping=mapping)
    return err.value.violations


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_a_header_name_over_several_lines_is_read_as_one_record(tmp_path, newline):
    """Before: the header was the first physical line (16 of 28 names), every row 'N values
    but the header has 16 columns: two rows joined on one line'. After: the header record."""
    path = _write(tmp_path, VALID[1:], newline)
    source = open_source(path, headers=MAPPING.headers(COHORT_FIELDS))
    assert len(source.header) == 28 and "icans_grade" in source.header
    study = load_study(path, None, CUTOFF, mapping=MAPPING)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cohort.csv").write_text("\n".join(VALID) + "\n", encoding="utf-8")
    expected = load_study(plain / "cohort.csv", None, CUTOFF)
    assert study.cohort["icans_grade"].tolist() == expected.cohort["icans_grade"].tolist()
    assert study.cohort.equals(expected.cohort)


def test_rows_and_lines_named_after_a_spanning_header_are_the_file_s(tmp_path):
    """Rows are records (the header row 1, however many lines it takes); lines are the
    file's physical lines: comment line 1, the header lines 2-4, P01 on line 5."""
    long_row = VALID[3] + ",extra"  # P03 with one value too many
    path = _write(tmp_path, [VALID[1], VALID[2], long_row, VALID[4]])
    [v] = _violations(path)
    assert (v.row, v.patient_id) == (4, "P03")
    assert "29 values but the header has 28 columns" in v.rule

    cells = VALID[2].split(",")
    cells[6] = '"primary_refractory'  # a stray quote in P02's disease_status swallows the rows below
    path = _write(tmp_path, [VALID[1], ",".join(cells)] + VALID[3:])
    [v] = _violations(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (v.row, v.patient_id) == (3, "P02")
    assert "opened on line 6 " in v.rule and lines[6 - 1].startswith("P02,")


def test_the_note_on_values_over_lines_counts_the_header_s_lines(tmp_path):
    cells = VALID[1].split(",")
    cells[1] = '"Center\nA"'
    path = _write(tmp_path, [",".join(cells)] + VALID[2:])
    study = load_study(path, None, CUTOFF, mapping=MAPPING)
    [note] = [n for n in study.notes if "over several lines" in n]
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert f"lines 2–{n_lines} of the file hold the header and 5 rows" in note


def test_a_quote_opened_in_the_header_and_never_closed_is_refused(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(VALID[0].replace("icans_grade", '"icans_grade') + "\n" + "\n".join(VALID[1:]) + "\n")
    [v] = _violations(path, ColumnMapping())
    assert 'unclosed double quote (") in the header' in v.rule


def test_a_stray_quote_inside_an_unquoted_header_name_stays_on_its_line(tmp_path):
    """A quote inside a name (``height 5'10"``) is a character, as to pandas and Excel: the
    header is still its one line."""
    path = tmp_path / "cohort.csv"
    path.write_text(VALID[0] + ',height 5\'10"\n' + "\n".join(row + ",170" for row in VALID[1:]) + "\n")
    source = open_source(path)
    assert source.header[-1] == "height 5'10\"" and len(source.header) == 29
