"""Control characters in the names a user writes (issue 22, attack 28 #10): a NUL, a line
break or another control character in a path of the study file or of an argument is
refused naming the key or argument, never passed to the system (a NUL made `validate`
print a traceback, "ValueError: embedded null byte", and the renderer stop unexplained).

In process: resolve_study and the command line's main, no render.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import cli
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
