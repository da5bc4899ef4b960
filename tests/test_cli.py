"""`python -m analysis validate`: every corpus case, and the registry.

The corpus runs in-process through `cli.main` (the same argument parsing, exit codes and
output); a few tests run the real `python -m analysis` process, proving the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import (
    ACCEPTED_WORKBOOKS,
    BAD_INPUTS,
    GENERATED_CASES,
    VALID_COHORT,
    VALID_KINETICS,
    committed_cases,
    generated_directory,
)

from analysis import cli
from analysis.inputs.loading import InputError, Violation

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2023-03-01"


def _run_process(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _run(*args: str | Path) -> subprocess.CompletedProcess:
    """`cli.main` in this process, its exit code and output as a finished process's."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    return subprocess.CompletedProcess(
        ["python", "-m", "analysis", *map(str, args)], code, out.getvalue(), err.getvalue()
    )


def _assert_rejected(proc: subprocess.CompletedProcess, case) -> None:
    """`validate` reports on standard output: a summary, then the detail table."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("found") and lines[2] == "Summary (problems per column and rule):"
    detail = lines[lines.index("Detail:") + 1 :]
    assert detail[1].split()[:5] == ["row", "patient_id", "column", "rule", "value"]
    for column, rule in case.expected:
        assert any(column in line.split() and rule in line for line in detail), (
            f"no line with column {column!r} and rule {rule!r}:\n{proc.stdout}"
        )


COMMITTED = committed_cases()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generated_directory(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus_runs(generated) -> dict[str, subprocess.CompletedProcess]:
    """One `validate` run per corpus case."""
    commands = {
        case.name: ["validate", BAD_INPUTS / case.cohort, "--cutoff", CUTOFF]
        + (["--kinetics", BAD_INPUTS / case.kinetics] if case.kinetics else [])
        for case in COMMITTED
    }
    commands.update({case.name: ["validate", generated / case.cohort, "--cutoff", CUTOFF] for case in GENERATED_CASES})
    return {name: _run(*args) for name, args in commands.items()}


@pytest.mark.parametrize("case", COMMITTED + GENERATED_CASES, ids=lambda case: case.name)
def test_bad_input_exits_1_with_the_violations(case, corpus_runs):
    _assert_rejected(corpus_runs[case.name], case)


def test_valid_input_prints_counts():
    proc = _run_process("validate", VALID_COHORT, "--kinetics", VALID_KINETICS, "--cutoff", "2023-03-01")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "OK: 5 patients, 3 centers, 3 patients with 6 kinetics samples\n"


def test_excel_and_synthetic_inputs(generated):
    proc = _run("validate", generated / ACCEPTED_WORKBOOKS[0], "--cutoff", CUTOFF)
    assert proc.stdout == "OK: 5 patients, 3 centers\n"
    proc = _run(
        "validate", BAD_INPUTS / "accepted" / "comments_and_blank_lines.csv", "--cutoff", CUTOFF
    )  # "# SYNTHETIC test cohort"
    assert proc.stdout == "OK: 5 patients, 3 centers\n"  # is not the generator's marker line


def test_a_later_cutoff_is_checked():
    proc = _run("validate", VALID_COHORT, "--cutoff", "2022-12-31")
    assert proc.returncode == 1 and "after the data cut-off (2022-12-31)" in proc.stdout


def test_an_export_without_a_cutoff_is_refused_with_a_hint():
    """The demo's cut-off is never applied to another export (issue 9)."""
    proc = _run_process("validate", VALID_COHORT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no data cut-off" in proc.stderr and "--cutoff" in proc.stderr


def test_missing_file_and_directory_exit_1_without_traceback(tmp_path):
    for path in (tmp_path / "nowhere.csv", tmp_path):
        proc = _run("validate", path, "--kinetics", tmp_path / "nowhere_either.csv", "--cutoff", CUTOFF)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert "cannot read the file" in proc.stdout


def test_usage_errors_exit_2():
    for args in ((), ("validate", VALID_COHORT, "--cutoff", "2023-02-30"), ("frobnicate",)):
        proc = _run_process(*args) if not args else _run(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "usage:" in proc.stderr
    assert "cut-off must be a date" in _run("validate", VALID_COHORT, "--cutoff", "01/03/2023").stderr


def test_a_subcommand_is_a_few_lines(monkeypatch, capsys):
    def hello(args: argparse.Namespace) -> int:
        study = cli.study_from_args(args)
        print(f"hello {len(study.cohort)} {args.shout}")
        return 0

    monkeypatch.setitem(
        cli.COMMANDS,
        "hello",
        cli.Command(
            "say hello", hello, lambda parser: (cli.add_study_arguments(parser), parser.add_argument("--shout"))
        ),
    )
    assert cli.main(["hello", str(VALID_COHORT), "--cutoff", CUTOFF, "--shout", "loud"]) == 0
    assert capsys.readouterr().out == "hello 5 loud\n"


def test_main_turns_input_and_os_errors_into_exit_1(monkeypatch, capsys):
    def bad_input(args):
        raise InputError([Violation(2, "P01", "age", "not a number", "seven")])

    def unwritable(args):
        raise PermissionError(13, "Permission denied", "/out/results.json")

    monkeypatch.setitem(cli.COMMANDS, "bad", cli.Command("fails", bad_input))
    monkeypatch.setitem(cli.COMMANDS, "unwritable", cli.Command("fails", unwritable))
    assert cli.main(["bad"]) == 1
    assert "not a number" in capsys.readouterr().err
    assert cli.main(["unwritable"]) == 1
    assert "Permission denied" in capsys.readouterr().err


# --------------------------------------------------------------------------- issue 15: results -o, empty paths


def test_validate_with_an_empty_kinetics_path_reads_the_cohort_only():
    """An empty value means "not given" on every command (the Makefile passes none)."""
    proc = _run("validate", VALID_COHORT, "--kinetics", "", "--cutoff", CUTOFF)
    assert (proc.returncode, proc.stderr) == (0, "") and "directory" not in proc.stdout
    assert proc.stdout == "OK: 5 patients, 3 centers\n"


def test_an_empty_path_given_to_the_library_says_so():
    from analysis.inputs.loading import load_study

    with pytest.raises(InputError, match="no file name given for the kinetics table"):
        load_study(VALID_COHORT, "", CUTOFF)


def _results(output) -> int:
    return cli.main(
        ["results", str(VALID_COHORT), "--kinetics", str(VALID_KINETICS), "--cutoff", CUTOFF, "-o", str(output)]
    )


def test_results_are_written_through_a_symlink(tmp_path):
    target = tmp_path / "real" / "results.json"
    target.parent.mkdir()
    target.write_text("stale\n")
    link = tmp_path / "results.json"
    link.symlink_to(target)
    assert _results(link) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("{") and '"n_patients": 5' in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]  # no partial file left


def test_results_refuse_a_target_that_is_not_a_regular_file(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe")
    for target in (tmp_path, tmp_path / "pipe", Path("/dev/null")):
        before = os.lstat(target)
        assert _results(target) == 1
        assert "not a regular file" in capsys.readouterr().err
        after = os.lstat(target)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # not replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_results_leave_no_partial_file_when_the_rename_fails(tmp_path, monkeypatch, capsys):
    target = tmp_path / "results.json"
    target.write_text("previous\n")

    def failing_replace(self, other):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", failing_replace)
    assert _results(target) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
