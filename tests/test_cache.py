"""The renderer's execution cache (renderer/cache.py, renderer/incremental.py): what
invalidates it and what does not.

Correctness only (no timing): the key ignores prose and changes with chunk code, data file
contents, parameters and library sources; a hit reproduces the executed output; broken
entries are ignored.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mini_project import make_project

from renderer import cache, execute, incremental, project, qmd

ROOT = Path(__file__).resolve().parents[1]
FIG = {"width": 7, "height": 5, "dpi": 50}

REPORT = """---
title: "Cache fixture"
---

```{python}
#| tags: [parameters]
data = "data/values.csv"
scale = 2
```

```{python}
#| include: false
from analysis.stats import total
result = total(data) * scale
```

Intro prose. The total is `{python} result` (scale `{python} scale`).

```{python}
print("chunk output", result)
```

Closing prose.
"""


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path, REPORT)


def key_of(p, params=None):
    doc = qmd.load(p / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, params or {}, cfg.execute, FIG)
    return cache.compute_key(doc, nb, steps, params or {}, cfg.execute, FIG, cfg.project_dir)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_key_is_stable(proj):
    assert key_of(proj).digest == key_of(proj).digest


def test_prose_edit_keeps_key(proj):
    before = key_of(proj).digest
    edit(proj / "report.qmd", "Intro prose.", "Rewritten introduction, longer now.")
    edit(proj / "report.qmd", "Closing prose.", "Closing prose.\n\nA new paragraph.")
    assert key_of(proj).digest == before


@pytest.mark.parametrize(
    "change",
    [
        ("report.qmd", 'print("chunk output", result)', 'print("chunk output:", result)'),
        ("report.qmd", "#| include: false", "#| include: true"),  # cell option
        ("report.qmd", "scale = 2", "scale = 3"),  # parameter default
        ("data/values.csv", "3\n", "4\n"),  # same file name, new contents
        ("analysis/stats.py", "return sum(", "return 0 + sum("),  # library source
    ],
)
def test_key_changes(proj, change):
    before = key_of(proj)
    edit(proj / change[0], change[1], change[2])
    after = key_of(proj)
    assert after.digest != before.digest


def test_parameter_override_and_data_file_changes_key(proj):
    base = key_of(proj).digest
    assert key_of(proj, {"scale": 5}).digest != base
    (proj / "data" / "other.csv").write_text("1\n2\n3\n")
    # the contents are hashed, not the name: an identical copy gives the same data digest
    same = key_of(proj, {"data": "data/other.csv"})
    orig = key_of(proj)
    assert same.components["data file of parameter 'data'"] == orig.components["data file of parameter 'data'"]
    (proj / "data" / "other.csv").write_text("9\n")
    assert key_of(proj, {"data": "data/other.csv"}).digest != same.digest


def test_why_missed_names_the_change(proj):
    manifest = cache.Manifest(proj, proj / "report.qmd")
    key = key_of(proj)
    assert manifest.why_missed(key) == "no cached execution"
    manifest.record(key)
    assert manifest.why_missed(key) == "cached execution not found"
    edit(proj / "data" / "values.csv", "3\n", "5\n")
    assert "data file of parameter 'data'" in manifest.why_missed(key_of(proj))


@pytest.mark.parametrize(
    "garbage", ["", "{not json", '{"format": 2}', "[1, 2]", '{"format": 2, "key": "K", "units": [], "names": []}']
)
def test_corrupted_entry_is_ignored(proj, garbage):
    doc = qmd.load(proj / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, FIG)
    key = incremental.plan(doc, nb, steps, {}, cfg.execute, FIG, cfg.project_dir).prefix_key
    store = incremental.Store(proj, proj / "report.qmd", key)
    store.entry_path.parent.mkdir(parents=True, exist_ok=True)
    store.entry_path.write_text(garbage.replace('"K"', json.dumps(key.digest)))
    entry, why = store.load()
    assert entry is None and "ignored" in why


def render(p, *args):
    return subprocess.run(
        [sys.executable, "-m", "renderer", "report.qmd", "--to", "html", *args],
        cwd=p,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": f"{p}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.slow
def test_render_hit_is_identical_and_corruption_is_safe(proj):
    cold = render(proj)
    assert cold.returncode == 0, cold.stderr
    assert "cache miss (no cached execution)" in cold.stderr
    html = (proj / "_output" / "report.html").read_text()
    assert "The total is 12" in html and "chunk output 12" in html

    hit = render(proj)
    assert hit.returncode == 0, hit.stderr
    assert "cache hit: analysis not re-run" in hit.stderr and "executing chunk" not in hit.stderr
    assert (proj / "_output" / "report.html").read_text() == html

    # corrupt every stored entry: the render executes again and still succeeds
    for entry in (proj / ".cache" / "renderer").glob("report@*.json"):
        entry.write_text('{"format": 2, "truncated')
    again = render(proj)
    assert again.returncode == 0, again.stderr
    assert "cache entry failed its integrity check" in again.stderr and "executing chunk" in again.stderr
    assert (proj / "_output" / "report.html").read_text() == html

    # a new data export under the same name is never served from the cache (--no-cache
    # also executes, and does not print cache lines)
    (proj / "data" / "values.csv").write_text("10\n20\n")
    stored = sorted((p.name, p.stat().st_mtime_ns) for p in (proj / ".cache" / "renderer").iterdir())
    bypass = render(proj, "--no-cache")
    assert "cache" not in bypass.stderr and "executing chunk" in bypass.stderr
    assert "The total is 60" in (proj / "_output" / "report.html").read_text()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (proj / ".cache" / "renderer").iterdir()) == stored


def test_study_file_and_the_files_it_names_are_in_the_key(proj):
    """study.yml at the project root is read without a parameter naming it, and the export
    it names (relative to it) can change under the same name (issue 9)."""
    base = key_of(proj).digest
    (proj / "exports").mkdir()
    (proj / "exports" / "cohort.csv").write_text("a\n1\n")
    (proj / "study.yml").write_text("title: One\ndata:\n  cohort: exports/cohort.csv\n")
    with_study = key_of(proj).digest
    assert with_study != base
    edit(proj / "study.yml", "title: One", "title: Two")
    retitled = key_of(proj).digest
    assert retitled != with_study
    (proj / "exports" / "cohort.csv").write_text("a\n2\n")
    assert key_of(proj).digest != retitled
    # a study file elsewhere, named by a parameter
    other = proj / "exports" / "other.yml"
    other.write_text("data:\n  cohort: cohort.csv\n")
    named = key_of(proj, {"data": str(other)})  # the fixture's parameter names a file
    assert f"study/configuration file or a file it names: {other}" in named.components
    assert f"study/configuration file or a file it names: {proj / 'exports' / 'cohort.csv'}" in named.components
