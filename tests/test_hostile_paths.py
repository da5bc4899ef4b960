"""The cache key digests exactly the files the loader reads, and no path hangs (issue 22,
second attack).

* Whatever a study file is called (``--study study.txt``, ``STUDY=study``), the files it
  names are in the cache key: a new export under the same name is a miss, never the old
  numbers (before: only a parameter ending in .yml/.yaml was read as a study file).
* A path written with ``~`` (``-P cohort:~/cohort.csv``: the shell does not expand it after
  ``cohort:``) is digested where the loader reads it (before: ``<project>/~/cohort.csv``,
  "missing", whatever ``$HOME/cohort.csv`` held). For every path-like parameter of the
  report and every spelling of a path, the key holds the digest of the file the loader
  reads, and changing that file changes the key.
* A study file that is a named pipe, or a link to a device, is refused at once by the
  study-file reader and by the cache key (before: ``open`` of a FIFO waited forever;
  ``/dev/zero`` was hashed forever).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.inputs import yamlstrict
from analysis.inputs.paths import NotARegularFile
from analysis.inputs.studyfile import StudyFileError, read_study_file, resolve_study
from renderer import cache

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"


def key_digests(params: dict, project: Path) -> dict:
    """{path or parameter: digest} of every file the key digests (data and study files)."""
    out = dict(cache.data_files(params, project))
    out.update(cache.config_files(params, project))
    return out


def digested(params: dict, project: Path, path: Path) -> bool:
    return cache.file_digest(path) in key_digests(params, project).values()


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A project folder (the kernel's working directory) and a separate $HOME."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    return project, home


def _export(folder: Path, rows: int | None = None) -> tuple[Path, Path]:
    lines = (DEMO / "cohort.csv").read_text().splitlines(keepends=True)
    if lines[0].startswith("#"):  # the synthetic marker: this is an export, not the demo
        lines = lines[1:]
    if rows is not None:
        lines = lines[: rows + 1]
    (folder / "cohort.csv").write_text("".join(lines))
    shutil.copy(DEMO / "kinetics.csv", folder / "kinetics.csv")
    return folder / "cohort.csv", folder / "kinetics.csv"


@pytest.mark.parametrize("name", ["study.txt", "study", "study.conf", "STUDY.YML.bak"])
def test_a_study_file_of_any_name_keys_the_files_it_names(place, name):
    project, _ = place
    cohort, kinetics = _export(project)
    (project / name).write_text("data:\n  cohort: cohort.csv\n  kinetics: kinetics.csv\n  cutoff: 2023-03-01\n")
    params = {"study": name, "cohort": "", "kinetics": "", "cutoff": ""}
    settings = resolve_study(name, base=project)
    assert settings.cohort == cohort and settings.kinetics == kinetics
    assert digested(params, project, cohort) and digested(params, project, kinetics)
    first = key_digests(params, project)
    _export(project, rows=83)  # next month's export under the same name: 10 patients fewer
    assert key_digests(params, project) != first


PATH_PARAMETERS = ("study", "cohort", "kinetics")
#: parameters of the documents that never name a file
NOT_PATHS = {"cutoff", "disease", "pages"}


def _spellings(path: Path, project: Path, home: Path) -> dict[str, str]:
    return {
        "relative": os.path.relpath(path, project),
        "absolute": str(path),
        "tilde": "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path),
    }


# a ~ path names a file under $HOME: no ("project", "tilde") case
@pytest.mark.parametrize(
    "where,spelling",
    [("project", "relative"), ("project", "absolute"), ("home", "relative"), ("home", "absolute"), ("home", "tilde")],
)
def test_every_path_parameter_keys_the_file_the_loader_reads(place, where, spelling):
    """For every path-like parameter of the report's parameters cell, each spelling of a
    path resolves in the key to the very file resolve_study (the loader) reads."""
    project, home = place
    folder = project if where == "project" else home / "exports"
    folder.mkdir(exist_ok=True)
    cohort, kinetics = _export(folder)
    study = folder / "my-study.txt"
    study.write_text("data:\n  cutoff: 2023-03-01\n")
    files = {"study": study, "cohort": cohort, "kinetics": kinetics}
    params = {name: _spellings(files[name], project, home)[spelling] for name in PATH_PARAMETERS}
    params["cutoff"] = ""
    settings = resolve_study(params["study"], cohort=params["cohort"], kinetics=params["kinetics"], base=project)
    read = {"study": settings.study_file, "cohort": settings.cohort, "kinetics": settings.kinetics}
    # every parameter of the documents that names a file is covered here
    for doc in sorted(ROOT.glob("*.qmd")):
        text = doc.read_text()
        if "#| tags: [parameters]" not in text:
            continue
        cell = text.split("#| tags: [parameters]", 1)[1].split("```", 1)[0]
        names = set(cache.parameter_defaults(cell)) - NOT_PATHS
        assert names == set(PATH_PARAMETERS), (doc.name, names)
    for name in PATH_PARAMETERS:
        assert read[name].resolve() == files[name].resolve(), name  # the loader reads the file given
        assert digested(params, project, read[name]), f"{name} ({spelling}) not in the key"
        first = key_digests(params, project)
        with open(read[name], "a") as fh:  # the file changes under the same name
            fh.write("\n")
        assert key_digests(params, project) != first, f"a changed {name} ({spelling}) keeps the key"


def test_a_tilde_path_changed_under_home_is_a_miss_in_the_full_key(place):
    project, home = place
    cohort, _ = _export(home)
    params = {"cohort": "~/cohort.csv", "kinetics": "~/kinetics.csv", "cutoff": "2023-03-01"}
    assert cache.data_files(params, project)["cohort"] == cache.file_digest(cohort)
    first = cache.data_files(params, project)["cohort"]
    _export(home, rows=83)  # ~/cohort.csv loses 10 patients
    assert cache.data_files(params, project)["cohort"] == cache.file_digest(cohort) != first


@pytest.fixture
def pipes(tmp_path):
    fifo = tmp_path / "study.yml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yml"
    zero.symlink_to("/dev/zero")
    return fifo, zero


def test_a_study_file_that_is_a_pipe_or_a_device_is_refused_without_opening(pipes, tmp_path):
    for path, kind in zip(pipes, ("a named pipe (FIFO)", "a device")):
        with pytest.raises(NotARegularFile, match="not a file"):
            yamlstrict.read_limited(path)  # returns at once (a FIFO's open would block)
        with pytest.raises(
            StudyFileError, match=rf"cannot read the study file: it is {kind.replace('(', '.').replace(')', '.')}"
        ):
            read_study_file(path)
        with pytest.raises(NotARegularFile):
            cache.file_digest(path)
        # the cache key does not hang on it, whether named or lying at the project root
        assert cache.config_files({"study": str(path)}, tmp_path)[str(path)] is None


def test_validate_refuses_a_fifo_study_file_with_a_message(pipes):
    fifo, _ = pipes
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", "--study", str(fifo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a hang is the failure; this is no timing assertion
    )
    assert proc.returncode != 0
    assert "named pipe (FIFO)" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_an_edit_of_the_bundled_demo_data_changes_the_key(tmp_path):
    """Attack 4: with no study file and no cohort parameter the loader reads the bundled demo
    (data/cohort.csv, data/kinetics.csv; data/lbcl, data/mm for the disease profiles), which no
    parameter names: an edit of any of them printed the previous render's numbers from the
    cache (a severity HR of 1.41 where --no-cache gave 1.10). Each file is in the key."""
    from analysis.inputs.studyfile import resolve_study as resolve
    from analysis.registry.diseases import DISEASES

    read = {resolve("").cohort, resolve("").kinetics, resolve("", disease="lbcl").cohort}
    read.add(resolve("", disease="mm").cohort)
    # and every profile's demo (the digest reads their names from analysis.registry.demo_files)
    read |= {resolve("", disease=key).cohort for key, profile in DISEASES.items() if profile.demo is not None}
    for path in read:  # the files the loader reads by default are the ones hashed
        rel = path.relative_to(ROOT).as_posix()
        assert rel in cache.bundled_data_digest(ROOT), rel
        copy = tmp_path / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    before = cache.bundled_data_digest(tmp_path)
    for rel in before:
        with open(tmp_path / rel, "a", encoding="utf-8") as fh:
            fh.write("\n")
        after = cache.bundled_data_digest(tmp_path)
        assert after[rel] != before[rel] and all(after[r] == before[r] for r in before if r != rel)
        before = after


# --------------------------------------------------------------------------- attack 30, finding 3
# `validate --problems X` and `results -o X` wrote over the very export or study file the run had
# read (the registry export replaced by a problems CSV); so did `map -o EXPORT --force`.


def _inputs_of_a_study(folder: Path) -> tuple[Path, Path, Path]:
    cohort, kinetics = _export(folder, rows=5)
    study = folder / "study.yml"
    study.write_text("data:\n  cohort: cohort.csv\n  kinetics: kinetics.csv\n  cutoff: 2023-03-01\n", encoding="utf-8")
    return cohort, kinetics, study


def _digests(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


def _refused(capsys, argv: list[str], *words: str) -> None:
    from analysis import cli

    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    for word in words:
        assert word in err, (word, err)
    assert "Traceback" not in err


@pytest.mark.parametrize("which", ["cohort", "kinetics", "study"])
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative spelling"])
def test_an_output_path_that_is_an_input_is_refused(tmp_path, monkeypatch, capsys, which, how):
    cohort, kinetics, study = _inputs_of_a_study(tmp_path)
    before = _digests(cohort, kinetics, study)
    target = {"cohort": cohort, "kinetics": kinetics, "study": study}[which]
    what = {"cohort": "the cohort export", "kinetics": "the kinetics export", "study": "the study file"}[which]
    if how == "symlink":
        (tmp_path / "link.csv").symlink_to(target)
        target = tmp_path / "link.csv"
    elif how == "hard link":
        os.link(target, tmp_path / "hard.csv")
        target = tmp_path / "hard.csv"
    elif how == "relative spelling":
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")
        target = Path("..") / target.name
    for argv in (
        ["validate", "--study", str(study), "--problems", str(target)],
        ["results", "--study", str(study), "-o", str(target)],
    ):
        _refused(capsys, argv, what, "give another file name")
        assert _digests(cohort, kinetics, study) == before, argv


def test_validate_of_a_bad_export_does_not_write_its_problems_over_it(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,center\nP1,A\n", encoding="utf-8")
    before = bad.read_bytes()
    _refused(capsys, ["validate", str(bad), "--cutoff", "2023-03-01", "--problems", str(bad)], "the cohort export")
    assert bad.read_bytes() == before
    # another name is written as before
    from analysis import cli

    assert cli.main(["validate", str(bad), "--cutoff", "2023-03-01", "--problems", str(tmp_path / "p.csv")]) == 1
    assert (tmp_path / "p.csv").read_text(encoding="utf-8-sig").startswith('"file"')


def test_map_force_does_not_write_over_its_export(tmp_path, capsys):
    cohort, kinetics = _export(tmp_path, rows=5)
    before = _digests(cohort, kinetics)
    for target in (cohort, kinetics):
        _refused(
            capsys,
            ["map", str(cohort), "--kinetics", str(kinetics), "-o", str(target), "--force"],
            "give another file name",
        )
    assert _digests(cohort, kinetics) == before


def test_a_write_error_names_the_file_the_user_gave_not_the_partial_one(tmp_path, capsys):
    """Attack 30 (5): "No such file or directory: '.../nodir/.x.json.partial'"."""
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,center\nP1,A\n", encoding="utf-8")
    target = tmp_path / "nodir" / "problems.csv"
    _refused(
        capsys,
        ["validate", str(bad), "--cutoff", "2023-03-01", "--problems", str(target)],
        f"cannot write {target}: the folder {target.parent} does not exist",
    )
    from analysis.inputs.outfiles import write_atomic

    with pytest.raises(FileNotFoundError) as err:
        write_atomic(target, "x")
    assert ".partial" not in str(err.value) and str(target) in str(err.value)
    assert not list(tmp_path.rglob("*.partial"))
