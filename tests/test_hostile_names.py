"""Control characters in the names and text a user writes (issue 22, attack 28 #10): a NUL, a line
break or another control character in a path of the study file or of an argument is
refused naming the key or argument, never passed to the system (a NUL made `validate`
print a traceback, "ValueError: embedded null byte", and the renderer stop unexplained).

Bidirectional controls in the study file's text (a right-to-left override in a title) are
left out of every document.

In process: resolve_study, the command line's main, Pandoc's reading of the title; no render.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hostile_text import pandoc_ast, stringify

from analysis import cli
from analysis.inputs import usertext
from analysis.inputs.paths import control_character
from analysis.inputs.studyfile import StudyFileError, _same_file, resolve_study

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT / "tests" / "bad_inputs" / "valid_cohort.csv"

CONTROLS = ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\x9f"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_every_control_character_is_named(char):
    assert control_character(f"cohort{char}.csv") is not None
    assert control_character("Kohorte ü 2023 (final).csv") is None


def _study(tmp_path: Path, cohort: str) -> Path:
    path = tmp_path / "study.yml"
    path.write_text(f'title: t\ndata:\n  cohort: "{cohort}"\n  kinetics: none\n  cutoff: 2023-03-01\n')
    return path


@pytest.mark.parametrize("escape", ["\\0", "\\n", "\\r", "\\e", "\\x85"])
def test_a_control_character_in_a_study_file_path_is_refused_naming_the_key(tmp_path, escape):
    """Before: 'ValueError: embedded null byte' from _same_file (a traceback). After: an
    error naming data.cohort."""
    with pytest.raises(StudyFileError) as err:
        resolve_study(_study(tmp_path, f"cohort.csv{escape}"), base=tmp_path)
    assert "data.cohort" in str(err.value)


def test_validate_says_so_without_a_traceback(tmp_path, capsys):
    assert cli.main(["validate", "--study", str(_study(tmp_path, "cohort.csv\\0"))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "data.cohort" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argument",
    [
        dict(cohort="cohort\n.csv"),
        dict(cohort=str(COHORT) + "\x1b"),
        dict(cohort=str(COHORT), kinetics="kin\tetics.csv"),
        dict(study="study\x85.yml"),
        dict(study="study\x00.yml"),
    ],
    ids=["cohort-LF", "cohort-ESC", "kinetics-TAB", "study-NEL", "study-NUL"],
)
def test_a_control_character_in_a_path_argument_is_refused_naming_the_argument(tmp_path, argument):
    """Before: a cohort argument with a control character was looked for as a file ('No such
    file', its name printed with the character in it), a NUL in --study a ValueError."""
    (name,) = [k for k, v in argument.items() if control_character(v)]
    with pytest.raises(StudyFileError, match=f"the {name} argument '"):
        resolve_study(argument.pop("study", None), cutoff="2023-03-01", base=tmp_path, **argument)


def test_same_file_is_false_for_a_name_the_system_refuses():
    assert _same_file(Path("cohort.csv\x00"), COHORT) is False


# --------------------------------------------------------------------------- bidirectional controls

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("function", [usertext.plain, usertext.styled, usertext.mailto])
def test_bidirectional_controls_are_left_out_of_user_text(function):
    """Before: a U+202E right-to-left override in a title reached the HTML and DOCX title
    (the text after it displayed reversed). After: every explicit embedding, override and
    isolate is left out; the implicit marks (U+200F) of right-to-left names stay."""
    for char in BIDI:
        text = str(function(f"CAR-T {char}cohort{char}\u202c report"))
        assert char not in text and "cohort" in text
    assert "\u200f" in str(usertext.plain("\u05e9\u05dc\u05d5\u05dd\u200f Hospital"))


def test_a_right_to_left_override_never_reaches_the_title(tmp_path):
    settings = dataclasses.replace(
        resolve_study(base=tmp_path), title="Report \u202egnp.exe", subtitle="x\u2067y\u2069", authors=()
    )
    doc = pandoc_ast(settings.metadata_block())
    assert stringify(doc["meta"]["title"]["c"]) == "Report gnp.exe"
    assert stringify(doc["meta"]["subtitle"]["c"]) == "xy"
