"""Cache keys that follow every file the loader reads, however its name is written (issue 22,
attack 28).

Each case here printed a cached wrong number before: the export a study file or a parameter
named was read by the kernel but left out of the key, so replacing it (93 patients -> 63)
gave "cache hit" and the old count where ``--no-cache`` printed the new one. The key function
is tested directly (what a render would hit is exactly what the key holds); the races and the
files a chunk opens itself, which only an execution shows, are tested in
tests/test_hostile_cache.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mini_project import make_project

from renderer import cache, cli, execute, project, qmd

FIG = {"width": 7, "height": 5, "dpi": 50}

REPORT = """---
title: "Key fixture"
---

```{python}
#| tags: [parameters]
study = ""
cohort = ""
```

```{python}
#| include: false
result = 1
```

The result is `{python} result`.
"""


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path, REPORT)


def key_of(p: Path, params: dict | None = None) -> str:
    doc = qmd.load(p / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, params or {}, cfg.execute, FIG)
    return cache.compute_key(doc, nb, steps, params or {}, cfg.execute, FIG, cfg.project_dir).digest


def _replace_export(path: Path) -> None:
    """A new export under the same name (fewer patients)."""
    path.write_text("patient_id\nP1\n")


# ------------------------------------------------------------ 1, 2: how the path is written
@pytest.mark.parametrize(
    "written",
    [
        "./" * 2100 + "exports/cohort.csv",  # 4,218 characters, pathlib reads exports/cohort.csv
        "exports" + "/" * 4200 + "cohort.csv",  # `a//b` repeated
        "co\nhort.csv",  # a line break in the name (a "\n" escape inside quotes)
    ],
    ids=["dot-slash-repeats", "slash-repeats", "newline"],
)
def test_a_study_file_path_is_keyed_however_long_or_odd_it_is(proj, written):
    """Attack 28 (repro_longpath.sh, repro_newline.sh): strings longer than 4,096 characters
    or holding a line break were skipped by the key, yet pathlib resolved them to the export:
    cached 93 patients where --no-cache printed 63. The key follows the file's contents."""
    import json

    target = proj / Path(written.replace("./", "").replace("/" * 4200, "/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("patient_id\nP1\nP2\n")
    (proj / "study.yml").write_text("title: Odd path\ndata:\n  cohort: " + json.dumps(written) + "\n")
    before = key_of(proj)
    _replace_export(target)
    assert key_of(proj) != before


def test_a_control_character_in_a_study_file_path_is_refused_naming_it(tmp_path):
    """The study file says what is wrong with such a name instead of reading a file no one
    can spell (a NUL made a traceback: "embedded null byte")."""
    from analysis.inputs.studyfile import StudyFileError, read_study_file

    study = tmp_path / "study.yml"
    study.write_text('data:\n  cohort: "co\\nhort.csv"\n  kinetics: "k\\0.csv"\n')
    with pytest.raises(StudyFileError) as err:
        read_study_file(study)
    message = str(err.value)
    assert "data.cohort: the name 'co\\nhort.csv' holds a line break (\\n)" in message and "(line 2)" in message
    assert "data.kinetics: the name 'k\\x00.csv' holds a NUL (\\0)" in message and "(line 3)" in message


# ------------------------------------------------------------------ 3: a name that reads as a number
@pytest.mark.parametrize("parameter", ["study", "cohort"])
def test_a_path_parameter_that_reads_as_a_number_is_keyed(proj, parameter):
    """Attack 28 (repro_intstudy.sh, repro_intcohort.sh): `-P study:2023` arrived as the int
    2023, which the loader reads as the file 2023 (str(value)) but the key skipped (it hashed
    str values only): a retitled study file and a shorter export printed the old title and
    count. The key follows the file whatever the value's type, and the command line keeps a
    path parameter as text."""
    args = cli.parse_args(["report.qmd", "-P", f"{parameter}:2023", "-P", "cutoff:2023"])
    params = cli.params_from(args)
    assert params[parameter] == "2023" and params["cutoff"] == 2023  # only the path stays text

    (proj / "exports").mkdir()
    export = proj / "exports" / "cohort.csv"
    export.write_text("patient_id\nP1\nP2\n")
    if parameter == "study":
        (proj / "2023").write_text("title: First\ndata:\n  cohort: exports/cohort.csv\n")
    else:
        (proj / "2023").write_text("patient_id\nP1\nP2\n")
    keyed = proj / "2023" if parameter == "cohort" else export
    for value in (2023, "2023"):  # the number (a parameters cell `study = 2023`) and the text
        before = key_of(proj, {parameter: value})
        _replace_export(keyed)
        assert key_of(proj, {parameter: value}) != before, value
        keyed.write_text("patient_id\nP1\nP2\n")


# ---------------------------------------------------------------------------- 4: YAML tags
@pytest.mark.parametrize(
    "value, tag",
    [
        ("!!binary Y29ob3J0LmNzdg==", "!!binary"),  # base64 of 'cohort.csv'
        ("!!python/name:os.system x", "!!python/name:os.system"),
        ("!!set {cohort.csv}", "!!set"),
        ("!local cohort.csv", "!local"),
    ],
)
def test_a_tagged_value_is_refused_naming_its_line(tmp_path, value, tag):
    """Attack 28 (repro_binary.sh): `cohort: !!binary Y29ob3J0LmNzdg==` was read as the file
    cohort.csv (pydantic decodes bytes) while the key looked for text only: cached 93 patients,
    fresh 63. A study file is plain text: an explicit tag other than the core scalar ones is
    refused with its line, by the study-file reader and by the cache key's parser."""
    from analysis.inputs import yamlstrict
    from analysis.inputs.studyfile import StudyFileError, read_study_file

    text = f"title: Tagged\ndata:\n  cohort: {value}\n"
    with pytest.raises(yamlstrict.StrictYAMLError, match=f"line 3: the tag {tag} is not allowed"):
        yamlstrict.load(text)
    study = tmp_path / "study.yml"
    study.write_text(text)
    with pytest.raises(StudyFileError, match=f"line 3: the tag {tag} is not allowed"):
        read_study_file(study)


def test_the_core_scalar_tags_still_read():
    from analysis.inputs import yamlstrict

    assert yamlstrict.load("a: !!str 2023\nb: !!int '7'\nc: !!float 1\nd: !!bool true\ne: !!null ''\n") == {
        "a": "2023",
        "b": 7,
        "c": 1.0,
        "d": True,
        "e": None,
    }


def test_what_a_tag_would_have_decoded_is_still_followed_by_the_key():
    """Belt and braces: had a tagged value got through, the key reads bytes and numbers as the
    loader does (str(value), bytes decoded), never only str."""
    assert list(cache._yaml_strings({"data": {"cohort": b"cohort.csv", "kinetics": 2023, "x": [True, None]}})) == [
        "cohort.csv",
        "2023",
    ]


def test_the_study_files_readers_versions_are_in_the_key(proj):
    """PyYAML parses the study file and pydantic converts its values (which file it names,
    which options it sets): a new version of either may read the same file otherwise."""
    doc = qmd.load(proj / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, FIG)
    components = cache.compute_key(doc, nb, steps, {}, cfg.execute, FIG, cfg.project_dir).components
    from importlib import metadata

    for name in ("pydantic", "PyYAML"):
        assert components[f"version of {name}"] == metadata.version(name)


# ------------------------------------------------------------ the git commit the report prints
def _git(folder: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def test_the_git_commit_and_local_changes_are_in_the_key(proj):
    """Attack 28b: the code availability statement prints the commit (git runs in a
    subprocess the kernel's file tracking cannot see); after a new commit, or with a tracked
    file edited, a cached render printed the old commit where --no-cache printed the new one
    (before: the same key, "cache hit"). The key holds what the statement prints, by the one
    definition both use."""
    from analysis.inputs.provenance import git_commit

    _git(proj, "init", "-q")
    _git(proj, "add", "-A")
    _git(proj, "commit", "-qm", "first")
    name = "git commit of the project (printed by the code availability statement)"
    first = key_of(proj)
    assert key_of(proj) == first  # an unchanged checkout is still a hit
    (proj / "untracked.txt").write_text("not in git\n")  # untracked: the statement does not change
    assert key_of(proj) == first
    (proj / "data" / "notes.txt").write_text("x\n")
    _git(proj, "add", "data/notes.txt")
    _git(proj, "commit", "-qm", "second")
    second = key_of(proj)
    head = git_commit(proj)
    assert head is not None and len(head) == 12
    assert second != first
    (proj / "data" / "notes.txt").write_text("y\n")  # a tracked file with local changes
    assert git_commit(proj).endswith(" with local changes")
    assert key_of(proj) not in (first, second)
    doc = qmd.load(proj / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, FIG)
    components = cache.compute_key(doc, nb, steps, {}, cfg.execute, FIG, cfg.project_dir).components
    assert components[name] == git_commit(proj) == f"{head} with local changes"


def test_the_key_of_a_render_imports_neither_pandas_nor_the_loader(tmp_path):
    """The renderer's own process computes the cache key (every render, a cache hit included)
    without importing pandas, pydantic or the study-file loader (about a second of CPU at
    each start: issue 23); the bundled demos' files come from analysis.registry.demo_files,
    the registry's own list (tests/test_hostile_paths.py checks that they are the files the
    loader reads)."""
    import subprocess
    import sys

    proj = make_project(tmp_path, "---\ntitle: t\n---\n\n```{python}\nx = 1\n```\n\nx is `{python} x`.\n")
    probe = (
        "import sys\n"
        "from renderer import cache, execute, project, qmd\n"
        "doc = qmd.load('report.qmd')\n"
        "cfg = project.load(doc.path, doc.meta)\n"
        f"nb, steps = execute.build_notebook(doc, {{}}, cfg.execute, {FIG!r})\n"
        "cache.compute_key(doc, nb, steps, {}, cfg.execute, "
        f"{FIG!r}, cfg.project_dir)\n"
        "print(sorted(m for m in ('pandas', 'pydantic', 'analysis.inputs.studyfile') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=proj, capture_output=True, text=True, env={"PYTHONPATH": str(root)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
