"""What a person types (the study file, a cut-off, a path) or an export holds, at the edges
(issue 22, attack on main): each gets a clear message naming what is wrong, never a
traceback, a silent last-wins or a fallback to the synthetic demo.

* ``map`` echoes export values: an escape sequence in one (clear the screen, hide what
  follows) is printed as its escape, as ``validate`` does;
* dates that do not exist (``2026-02-30``, ``25:00``) and cut-offs the analysis cannot
  hold (after 2262-04-11, pandas' last timestamp; before 2000);
* keys that differ for YAML but are one for the reader (``"F"`` and ``" f "`` in a
  values table, ``7`` and ``"7"`` in visit windows), and the two spellings of a boolean key;
* a lone surrogate (``"\\ud800"``) in a text field, which no document can print;
* a symlink loop given as the cohort; an empty cohort name; ``validate ... | head``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli
from analysis.inputs.loading import parse_cutoff
from analysis.inputs.studyfile import StudyFileError, read_study_file, resolve_study

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT / "data" / "cohort.csv"


def _refused(tmp_path: Path, text: str) -> str:
    study = tmp_path / "study.yml"
    study.write_text(text, encoding="utf-8")
    with pytest.raises(StudyFileError) as err:
        resolve_study(study)
    return str(err.value)


# --------------------------------------------------------------------------- map and the terminal


def test_map_reads_the_header_below_comment_lines(capsys):
    """The bundled cohort starts with a comment line, as data/README.md allows."""
    cli.main(["map", str(COHORT)])
    assert "patient_id            <- 'patient_id'   [exact]" in capsys.readouterr().out


def test_map_prints_an_escape_sequence_of_the_export_as_its_escape(tmp_path, capsys):
    lines = COHORT.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("patient_id"))
    header = lines[at].split(",")
    row = lines[at + 1].split(",")
    row[header.index("sex")] = "\x1b[2J\x1b[1;1HOK: all valid\x1b[8m\u202e"  # clear, move, conceal, RTL override
    lines[at + 1] = ",".join(row)
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli.main(["map", str(export)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J\\x1b[1;1HOK: all valid\\x1b[8m\\u202e" in out


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text, words",
    [
        ("date: 2026-02-30\n", ["line 1", "'2026-02-30' is not a date", "day is out of range"]),
        ("title: t\ndate: 2026-01-01T25:00:00\n", ["line 2", "'2026-01-01T25:00:00' is not a date"]),
        ("data: {cohort: c.csv, cutoff: 2023-02-30}\n", ["line 1", "'2023-02-30' is not a date"]),
    ],
)
def test_a_date_that_does_not_exist_is_an_error_with_its_line(tmp_path, text, words):
    message = _refused(tmp_path, text)
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("cutoff", ["2262-04-12", "2999-01-01", "9999-12-31"])
def test_a_cutoff_after_the_last_date_the_analysis_holds_is_refused(tmp_path, cutoff):
    expected = f"the cut-off {cutoff} is after 2262-04-11, the last date the analysis can hold"
    assert expected in _refused(tmp_path, f"data: {{cohort: {COHORT}, cutoff: {cutoff}}}\n")
    with pytest.raises(ValueError, match=expected):
        parse_cutoff(cutoff)
    with pytest.raises(StudyFileError, match=expected):
        resolve_study(cohort=COHORT, cutoff=cutoff)


def test_the_last_cutoff_held_and_one_before_2000(tmp_path):
    assert parse_cutoff("2262-04-11") == dt.date(2262, 4, 11)
    assert "is before 2000-01-01" in _refused(tmp_path, f"data: {{cohort: {COHORT}, cutoff: 1999-12-31}}\n")


def test_validate_with_a_cutoff_beyond_the_range_says_so(capsys):
    with pytest.raises(SystemExit):
        cli.main(["validate", str(COHORT), "--cutoff", "2262-05-01"])
    assert "the cut-off 2262-05-01 is after 2262-04-11" in capsys.readouterr().err


# --------------------------------------------------------------------------- keys that collide


@pytest.mark.parametrize(
    "values, words",
    [
        ('{"F": "M", " f ": "F"}', ["sex: 'F' and ' f ' are the same export value"]),
        ('{"Female": "F", "FEMALE": "M"}', ["'Female' and 'FEMALE'"]),
    ],
)
def test_values_that_are_one_once_case_and_spaces_are_ignored_are_an_error(tmp_path, values, words):
    message = _refused(tmp_path, f"data: {{cohort: {COHORT}, cutoff: 2023-03-01}}\nvalues:\n  sex: {values}\n")
    for word in words:
        assert word in message, message


def test_a_boolean_and_its_text_in_a_values_table_are_one_key(tmp_path):
    message = _refused(tmp_path, "values:\n  steroids:\n    yes: true\n    'TRUE': false\n")
    assert "True and 'TRUE' are the same export value" in message


@pytest.mark.parametrize("windows", ['{7: 3, "7": 4}', '{7: 3, "07": 4}', '{28: 7, " 28": 5}'])
def test_visit_windows_of_one_day_written_twice_are_an_error(tmp_path, windows):
    message = _refused(tmp_path, f"analysis:\n  visit_windows: {windows}\n")
    assert "are the same day: keep one of them" in message


def test_two_spellings_of_one_boolean_key_are_both_named(tmp_path):
    study = tmp_path / "study.yml"
    study.write_text("values:\n  steroids: {no: false, off: true}\n", encoding="utf-8")
    with pytest.raises(StudyFileError) as err:
        read_study_file(study)
    message = str(err.value)
    assert "'no' and 'off' (both on line 2) are the same key for YAML (False;" in message
    assert "on line 2 and line 2" not in message


# --------------------------------------------------------------------------- text no document can print


@pytest.mark.parametrize(
    "text, where",
    [
        ('title: "a\\ud800b"\n', "title: holds 'a\\ud800b'"),
        ('product: {name: "CAR\\udfff"}\n', "product.name: holds 'CAR\\udfff'"),
        ('authors: [{name: "x\\udc80"}]\n', "authors[0].name: holds 'x\\udc80'"),
    ],
)
def test_a_lone_surrogate_is_refused_with_its_field(tmp_path, text, where):
    """validate said OK; the render then failed inside Pandoc, naming a temporary file."""
    message = _refused(tmp_path, text)
    assert where in message and "a lone surrogate" in message


# --------------------------------------------------------------------------- paths


def test_a_symlink_loop_as_the_cohort_is_a_clear_error(tmp_path, capsys):
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    assert cli.main(["validate", str(tmp_path / "loop1"), "--cutoff", "2023-03-01"]) == 1
    study = tmp_path / "study.yml"
    study.write_text("data: {cohort: loop1, cutoff: 2023-03-01}\n", encoding="utf-8")
    assert cli.main(["validate", "--study", str(study)]) == 1
    captured = capsys.readouterr()
    # each run: the summary line and the detail line
    assert captured.out.count("cannot read the file: Too many levels of symbolic links") == 4
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("data", ['{cohort: "", cutoff: 2023-03-01}', "{cohort: '  '}", "\n  cohort:\n"])
def test_an_empty_cohort_name_is_refused_not_the_demo(tmp_path, data):
    message = _refused(tmp_path, f"data: {data}\n")
    assert "data" in message and ("an empty name" in message or "no file name after `cohort:`" in message)


def test_validate_piped_into_head_ends_quietly(tmp_path):
    """The reader stops after one line: no 'Broken pipe' error, no traceback."""
    lines = COHORT.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("patient_id"))
    many = tmp_path / "many.csv"
    many.write_text("\n".join([lines[at], *[lines[at + 1]] * 5000]) + "\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", "validate", str(many), "--cutoff", "2023-03-01"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.startswith(b"5000 problems found")
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception ignored" not in err, err
