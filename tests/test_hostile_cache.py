"""Caches that verify, stay private and leave nothing behind (issue 22).

* A flipped bit in the cached JSON (an inline value: 12 -> 13) or a changed float in the
  setup snapshot pickle (0.962 -> 0.712, restored by a partial run) never prints: the
  stored SHA-256 does not match, the render says so, executes, and prints the right number.
* The cache holds the analysed data: its folders are 0700 and its files 0600 (an existing
  0755 folder is tightened).
* What a render killed with SIGKILL leaves (its working folder with the executed report,
  the snapshot pickle being written) is removed by the next render; what a running render
  holds, and what is not the renderer's, is never touched.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from mini_project import make_project

from analysis.inputs.provenance import GIT_COMMANDS
from renderer import cache, leftovers

ROOT = Path(__file__).resolve().parents[1]

REPORT = """---
title: "Integrity fixture"
---

```{python}
#| tags: [parameters]
data = "data/values.csv"
```

```{python}
#| include: false
from analysis.stats import total
result = total(data) * 2
ratio = total(data) / 6.237
```

The total is `{python} result`.

```{python}
print("chunk output", result)
```

Closing prose.
"""


def render(p, *args, tmpdir=None):
    env = {"PYTHONPATH": f"{p}:{ROOT}", "PATH": "/usr/bin:/bin"}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    proc = subprocess.run(
        [sys.executable, "-m", "renderer", "report.qmd", "--to", "html", *args],
        cwd=p,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr, (p / "_output" / "report.html").read_text()


def entry_of(p) -> Path:
    (entry,) = (p / ".cache" / "renderer").glob("report@*.json")
    return entry


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path, REPORT)


@pytest.mark.slow
def test_a_flipped_bit_in_the_cached_json_is_a_miss_not_a_wrong_number(proj):
    err, html = render(proj)
    assert "The total is 12" in html
    entry = entry_of(proj)
    data = bytearray(entry.read_bytes())
    at = data.index(b'"12"')  # the inline value, as stored
    data[at + 2] ^= 0x01  # '2' -> '3': one flipped bit
    entry.write_bytes(bytes(data))
    err, html = render(proj)
    assert "cache miss (cache entry failed its integrity check: its SHA-256 does not match" in err
    assert "executing chunk" in err
    assert "The total is 12" in html and "The total is 13" not in html
    assert "cache hit" in render(proj)[0]  # the entry was written again, whole


@pytest.mark.slow
def test_a_changed_float_in_the_snapshot_pickle_is_never_restored(proj):
    render(proj)
    (snapshot,) = (proj / ".cache" / "renderer").glob("report@*.pkl")
    data = snapshot.read_bytes()
    stored = struct.pack(">d", 6 / 6.237)  # pickle writes floats as 8 big-endian bytes
    assert data.count(stored) == 1
    snapshot.write_bytes(data.replace(stored, struct.pack(">d", 0.712)))
    # a new inline expression: only it runs, with the setup restored from the snapshot
    report = proj / "report.qmd"
    report.write_text(report.read_text().replace("Closing prose.", "The ratio is `{python} f'{ratio:.3f}'`."))
    err, html = render(proj)
    assert "the setup snapshot failed its integrity check" in err and "running everything" in err
    assert "The ratio is 0.962" in html and "0.712" not in html
    # and an intact snapshot is restored as before
    report.write_text(report.read_text().replace("f'{ratio:.3f}'", "f'{ratio:.4f}'"))
    err, html = render(proj)
    assert "cache: setup restored, executing 0 of 1 chunks and 1 of 2 inline expressions" in err
    assert "The ratio is 0.9620" in html


@pytest.mark.slow
def test_the_cache_is_private(proj):
    (proj / ".cache").mkdir(mode=0o755)  # an older version's folder
    os.chmod(proj / ".cache", 0o755)
    render(proj)
    folder = proj / ".cache" / "renderer"
    for path in (proj / ".cache", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = list(folder.iterdir())
    assert {p.suffix for p in files} == {".json", ".pkl"} and len(files) == 3  # entry, snapshot, last key
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_every_cache_file_is_verified(tmp_path):
    path = tmp_path / "entry.json"
    cache.write_verified(path, '{"value": "81.7%"}')
    assert cache.read_verified(path) == '{"value": "81.7%"}'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(path.read_bytes().replace(b"81.7", b"81.6"))
    with pytest.raises(cache.IntegrityError, match="does not match"):
        cache.read_verified(path)
    path.write_text('{"value": "81.7%"}')  # no digest (an older version's file)
    with pytest.raises(cache.IntegrityError, match="no digest"):
        cache.read_verified(path)
    assert not list(tmp_path.glob(f"*{leftovers.CLAIMED_TMP}"))


# --------------------------------------------------------------------------- leftovers

CLAIMER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from renderer import leftovers
    folder = Path(sys.argv[1])
    leftovers.make_dir("cartox-render-", folder)
    leftovers.make_file(folder / ".report@k.pkl.1.claimed.tmp")
    print("claimed", flush=True)
    time.sleep(600)
""")


def _claimer(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.readline().strip() == "claimed"
    return proc


def test_a_dead_renders_claims_are_swept_and_a_live_ones_kept(tmp_path):
    live = _claimer(tmp_path / "live") if (tmp_path / "live").mkdir() is None else None
    dead = _claimer(tmp_path / "dead") if (tmp_path / "dead").mkdir() is None else None
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=30)
        for folder in ("live", "dead"):
            # what neither renderer wrote stays: another program's, an older version's
            (tmp_path / folder / "renderer-olderversion").mkdir()
            (tmp_path / folder / "notes.tmp").write_text("mine")
        patterns = ["cartox-render-*", f".*{leftovers.CLAIMED_TMP}"]
        messages = []
        removed = leftovers.sweep(tmp_path / "dead", patterns, progress=messages.append)
        assert sorted(p.name for p in removed)[0] == ".report@k.pkl.1.claimed.tmp" and len(removed) == 2
        assert messages and messages[0].startswith("removed 2 leftovers of an interrupted render")
        assert sorted(p.name for p in (tmp_path / "dead").iterdir()) == ["notes.tmp", "renderer-olderversion"]
        assert leftovers.sweep(tmp_path / "live", patterns) == []
        assert len(list((tmp_path / "live").iterdir())) == 4
    finally:
        live.kill()
        live.wait(timeout=30)
    assert len(leftovers.sweep(tmp_path / "live", patterns)) == 2  # its owner is gone now


@pytest.mark.slow
def test_the_next_render_sweeps_what_a_killed_render_left(proj, tmp_path):
    """SIGKILL while a chunk runs, after the setup snapshot was written: the working folder
    (the executed report) and the snapshot being written stay behind; the next render
    removes them and prints the right numbers."""
    report = proj / "report.qmd"
    report.write_text(
        report.read_text().replace(
            'print("chunk output", result)', '__import__("time").sleep(120)\nprint("chunk output", result)'
        )
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer", "report.qmd", "--to", "html"],
        cwd=proj,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": f"{proj}:{ROOT}", "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)},
    )
    for line in proc.stderr:
        if "executing chunk" in line and "[3/" in line:  # the sleeping chunk (it binds no name: after the snapshot)
            break
    cache_dir = proj / ".cache" / "renderer"
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in cache_dir.glob(f"*{leftovers.CLAIMED_TMP}")):
        assert time.monotonic() < deadline, "the snapshot was never written"
        time.sleep(0.2)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for child in children:  # a killed machine takes its kernel with it
        child.kill()
    left = [*tmp.glob("cartox-render-*"), *cache_dir.glob(f"*{leftovers.CLAIMED_TMP}")]
    assert len(left) == 2, left
    report.write_text(report.read_text().replace('__import__("time").sleep(120)\n', ""))
    err, html = render(proj, tmpdir=tmp)
    assert "removed 1 leftover of an interrupted render" in err
    assert all(not p.exists() for p in left)
    assert list(tmp.iterdir()) == [] and not list(cache_dir.glob(f"*{leftovers.CLAIMED_TMP}"))
    assert "The total is 12" in html and "chunk output 12" in html


def test_the_readme_says_the_cache_holds_patient_data_and_how_to_remove_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "**The cache holds patient data.**" in readme and "`make clean-cache`" in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\nclean-cache:\n\trm -rf .cache\n" in makefile


TODAY_REPORT = """---
title: "Date fixture"
---

```{python}
#| include: false
import datetime
printed = datetime.date.today().isoformat()  # as a study file's `date: today` is resolved
```

Rendered on `{python} printed`.
"""

FAKE_TODAY = """import datetime as _d


class _FakeDate(_d.date):
    @classmethod
    def today(cls):
        return cls(2030, 1, 1)


_d.date = _FakeDate
"""


@pytest.mark.slow
def test_a_render_on_a_later_day_prints_that_day_not_the_cached_one(tmp_path):
    """Attack repro 14: `date: today` is resolved while the setup executes, and a cache hit on
    a later day printed the day the cache was filled ('1 January 2030' on 5 December 2026).
    The render date is part of the key: the first render runs on a faked 1 January 2030 (a
    sitecustomize, in the renderer and the kernel), the next on the real clock."""
    import datetime

    p = make_project(tmp_path, TODAY_REPORT)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(FAKE_TODAY)

    def run(*pythonpath):
        proc = subprocess.run(
            [sys.executable, "-m", "renderer", "report.qmd", "--to", "html"],
            cwd=p,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PYTHONPATH": ":".join([*map(str, pythonpath), str(p), str(ROOT)]), "PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stderr, (p / "_output" / "report.html").read_text()

    err, html = run(fake)
    assert "Rendered on 2030-01-01" in html
    assert "cache hit" in run(fake)[0]  # the same day: the cache answers
    err, html = run()
    today = datetime.date.today().isoformat()
    assert "cache hit" not in err and cache.RENDER_DATE in err
    assert f"Rendered on {today}" in html and "2030-01-01" not in html


# --------------------------------------------------------------------------- cross-references (attack 27)
# text.ref() and the STROBE checklist scan the sources of both documents for the numbers of
# figures, tables and sections; an inline expression was cached by its own code, so swapping
# two includes of the supplement gave "cache hit" and a manuscript citing Supplementary
# Table S11 for what --no-cache numbered S9.

SWAP = ("{{< include sections/_supplement-centers.qmd >}}", "{{< include sections/_supp-kinetics.qmd >}}")


def _sources(tmp_path) -> Path:
    """The manuscript's and the supplement's sources, copied."""
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in ("report.qmd", "supplement.qmd"):
        (folder / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "sections").mkdir()
    for path in (ROOT / "sections").glob("*.qmd"):
        (folder / "sections" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _swap(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    a, b = SWAP
    assert text.index(a) < text.index(b)
    path.write_text(text.replace(a, "\0").replace(b, a).replace("\0", b), encoding="utf-8")


def test_moving_a_table_changes_the_documents_structure_and_prose_does_not(tmp_path, bundled_results):
    from analysis.report.documents import documents, structure_digest
    from analysis.report.narrative import Narrative

    folder = _sources(tmp_path)
    flags = Narrative(bundled_results).flags
    assert structure_digest(folder) == structure_digest(ROOT)  # the copy is the project's
    before = structure_digest(folder)
    cited = documents(flags, project_dir=folder).ref("tbl-kinetics")
    # prose: a sentence edited, a paragraph added -- the numbers cannot change
    kinetics = folder / "sections" / "_supp-kinetics.qmd"
    kinetics.write_text(kinetics.read_text(encoding="utf-8") + "\nA new closing sentence.\n", encoding="utf-8")
    assert structure_digest(folder) == before
    # structure: the two includes swapped, a heading renamed, a label changed
    _swap(folder / "supplement.qmd")
    moved = structure_digest(folder)
    assert moved != before
    assert documents(flags, project_dir=folder).ref("tbl-kinetics") != cited  # what the digest stands for
    centers = folder / "sections" / "_supplement-centers.qmd"
    centers.write_text(centers.read_text(encoding="utf-8").replace("#| label: tbl-centers-cox", "#| label: tbl-cc"))
    assert structure_digest(folder) not in (before, moved)


STRUCTURE_REPORT = """---
title: "Cross-references"
---

```{python}
#| include: false
from pathlib import Path
from analysis.report.documents import documents
```

The centers are in `{python} documents({}, project_dir=Path.cwd()).ref("tbl-centers")`.

Closing prose.
"""

STRUCTURE_SUPPLEMENT = """---
crossref:
  tbl-labels: "[S1]{}[S2]{}[S3]{}"
---

{{< include sections/_a.qmd >}}

{{< include sections/_b.qmd >}}
"""


@pytest.mark.slow
def test_a_cached_cross_reference_follows_a_moved_table(tmp_path):
    p = make_project(tmp_path, STRUCTURE_REPORT)
    (p / "supplement.qmd").write_text(STRUCTURE_SUPPLEMENT)
    (p / "sections").mkdir()
    for name, label in (("_a", "tbl-kinetics"), ("_b", "tbl-centers")):
        (p / "sections" / f"{name}.qmd").write_text(f"# {name}\n\n```{{python}}\n#| label: {label}\n1\n```\n")
    err, html = render(p)
    assert "The centers are in Supplementary Table S2." in html
    # prose only: nothing runs
    report = p / "report.qmd"
    report.write_text(report.read_text().replace("Closing prose.", "Closing prose, edited."))
    err, html = render(p)
    assert "cache hit: analysis not re-run" in err and "Closing prose, edited." in html
    # the supplement's includes swapped: the expression runs again (the setup does not)
    supplement = p / "supplement.qmd"
    a, b = "{{< include sections/_a.qmd >}}", "{{< include sections/_b.qmd >}}"
    supplement.write_text(supplement.read_text().replace(a, "\0").replace(b, a).replace("\0", b))
    err, html = render(p)
    assert "cache hit" not in err and "cache: setup restored, executing 0 of 0 chunks and 1 of 1 inline" in err
    assert "The centers are in Supplementary Table S1." in html
    assert "The centers are in Supplementary Table S1." in render(p, "--no-cache")[1]


# --------------------------------------------------------------------------- inputs that change during the run (attack 28)
# The key is computed before the document executes; the entry is stored after it. An export
# replaced between the two (a nightly export job, a sync client) was stored under the old
# file's key with the new file's numbers, and a later render of the old file hit it (race.py:
# cached 63 patients where --no-cache printed 93). A file a chunk opens itself is in no key
# at all (repro_chunk_reads_file.sh: cached "3 further events" where --no-cache gave 7).


def _run_in_process(p, monkeypatch, before_execution=None):
    """incremental.run as the command line runs it, in the light worker; `before_execution`
    runs after the key is computed and before the document executes. Returns the progress
    messages and the inline values."""
    from renderer import execute, incremental, project, qmd, worker

    monkeypatch.setenv("PYTHONPATH", f"{p}:{ROOT}")
    monkeypatch.chdir(p)
    doc = qmd.load(p / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    fig = {"width": 7, "height": 5, "dpi": 50}
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, fig)
    messages: list[str] = []

    def run(nb, steps, cwd, progress=None):
        if before_execution is not None:
            before_execution()
        with worker.Worker(cwd) as light:
            return light.execute(nb, steps, cwd, progress=progress)

    incremental.run(doc, nb, steps, {}, cfg, fig, messages.append, run)
    values = [s.obj.value for s in steps if s.role == "inline"]
    return "\n".join(messages), values


@pytest.mark.slow
def test_an_export_replaced_while_the_document_executes_is_not_stored_under_the_old_key(proj, monkeypatch):
    values = proj / "data" / "values.csv"

    def replace_export():  # after the key (of 1, 2, 3), before the setup reads the file
        values.write_text("10\n20\n")

    err, printed = _run_in_process(proj, monkeypatch, replace_export)
    assert printed == ["60"]  # what was read: this render prints it
    assert "cache: not stored: data file of parameter 'data'" in err and "changed while the document executed" in err
    assert not list((proj / ".cache" / "renderer").glob("report@*.json"))
    values.write_text("1\n2\n3\n")  # back to the file the key was computed on
    err, printed = _run_in_process(proj, monkeypatch)
    assert "cache hit" not in err and printed == ["12"]  # was: cache hit, 60


@pytest.mark.slow
def test_a_render_whose_day_ends_while_it_executes_is_not_stored_under_the_first_day(proj, monkeypatch):
    """The setup resolves `date: today` while it executes; a render started before midnight
    and executed after it was stored under the first day's key with the second day's date."""
    days = iter(["2030-01-01", "2030-01-02", "2030-01-02"])
    monkeypatch.setattr(cache, "render_date", lambda: next(days))
    err, _ = _run_in_process(proj, monkeypatch)
    assert f"cache: not stored: {cache.RENDER_DATE} changed while the document executed" in err
    assert not list((proj / ".cache" / "renderer").glob("report@*.json"))


EXTRA_READER = """

```{python}
import pathlib
extra_n = len(pathlib.Path("data/extra.csv").read_text().split())
```

The log lists `{python} extra_n` further events.
"""


@pytest.mark.slow
def test_a_file_a_chunk_opens_itself_is_checked_before_its_outputs_are_reused(proj):
    """repro_chunk_reads_file.sh on the small project: the file is recorded when the run opens
    it, with its SHA-256, and a changed file is a miss naming it. What Python and the packages
    open (imports, matplotlib's settings) and the library files already keyed are not
    recorded: an unchanged project still hits."""
    report = proj / "report.qmd"
    report.write_text(report.read_text() + EXTRA_READER)
    extra = proj / "data" / "extra.csv"
    extra.write_text("1\n2\n3\n")
    err, html = render(proj)
    assert "The log lists 3 further events" in html
    (entry,) = (proj / ".cache" / "renderer").glob("report@*.json")
    recorded = json.loads(cache.read_verified(entry))["files"]
    assert sorted(recorded) == [str(proj / "data" / "extra.csv"), str(proj / "data" / "values.csv")]
    assert "cache hit" in render(proj)[0]
    extra.write_text("1\n2\n3\n4\n5\n6\n7\n")
    err, html = render(proj)
    assert f"cache miss (changed: the file {extra}, read while the document executed)" in err
    assert "The log lists 7 further events" in html  # was: cache hit, 3


def test_a_recorded_file_that_appears_vanishes_or_changes_is_a_miss(tmp_path):
    from renderer import incremental

    here, gone = tmp_path / "here.csv", tmp_path / "gone.csv"
    here.write_text("1\n")
    gone.write_text("2\n")
    files, changed = incremental.opened_files(
        {str(here): _seen(here), str(gone): _seen(gone), str(tmp_path / "absent.csv"): None}
    )
    assert changed == [] and files[str(tmp_path / "absent.csv")] is None
    assert incremental.files_changed(files) is None
    gone.unlink()
    assert incremental.files_changed(files) == f"changed: the file {gone}, read while the document executed"
    gone.write_text("2\n")
    (tmp_path / "absent.csv").write_text("3\n")  # opened and not found then: found now
    assert "absent.csv" in incremental.files_changed(files)
    # changed between the open and the end of the run: not stored
    seen = _seen(here)
    here.write_text("1\n2\n")
    assert incremental.opened_files({str(here): seen})[1] == [f"the file {here}"]


def _seen(path):
    st = path.stat()
    from renderer import incremental

    return incremental.signature(st)


def test_a_file_replaced_by_a_same_size_same_mtime_copy_during_the_run_is_not_stored(tmp_path):
    """Attack 28b: a file opened during the run and replaced before its end by a copy with the
    same size and mtime (``cp -p``, ``rsync -t``) had the same [mtime, size]: the entry stored
    the NEW file's digest with the outputs of the OLD contents, and every later render printed
    the old value. The inode (a rename) and the ctime (a write or utime sets it) catch it."""
    import os
    import time

    from renderer import incremental

    path = tmp_path / "race.txt"
    path.write_text("A\n")
    seen = _seen(path)
    st = path.stat()
    (tmp_path / "race.tmp").write_text("B\n")
    os.utime(tmp_path / "race.tmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp_path / "race.tmp", path)
    assert [path.stat().st_mtime_ns, path.stat().st_size] == seen[:2]  # what was compared before
    assert incremental.opened_files({str(path): seen}) == ({}, [f"the file {path}"])
    # rewritten in place, mtime put back: the ctime still moves
    seen = _seen(path)
    st = path.stat()
    time.sleep(0.05)  # past the kernel's coarse timestamp clock (a few ms), as a later writer is
    path.write_text("C\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert incremental.opened_files({str(path): seen}) == ({}, [f"the file {path}"])
    # untouched: stored with its digest
    files, changed = incremental.opened_files({str(path): _seen(path)})
    assert changed == [] and set(files) == {str(path)}


def test_reads_the_open_hook_missed_are_followed_or_not_stored(tmp_path):
    """Attack 28b (repro_cache_untracked_reads.sh): a SQLite database (opened natively), a
    program's output (``cat``), a folder listing and a module imported from its up-to-date
    .pyc (the .py is only stat()ed) all changed, and the render said "cache hit" with the old
    SQL=1 SUB=1 HELPER=1 LIST=1 where --no-cache printed 2 2 2 2. The tracking code, run as
    the kernel runs it: a listing is followed by the digest of its names, the module's source
    as a file, and a database or a program (other than the git commands of the code
    availability statement, which the key holds) makes the run not stored."""
    import json
    import py_compile
    import subprocess
    import sys

    from renderer import incremental

    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.py").write_text("VALUE = 1\n")
    py_compile.compile(str(tmp_path / "lib" / "helper.py"))
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.csv").write_text("1\n")
    probe = incremental._TRACK_CODE % {"project": str(tmp_path), "allowed": [list(c) for c in GIT_COMMANDS]}
    probe += """
import json, os, sqlite3, subprocess, sys
sys.path.insert(0, "lib")
import helper
os.listdir("dir")
def run(label, fn):
    before = len(_renderer_untracked)
    fn()
    return label, _renderer_untracked[before:]
out = [run("git", lambda: subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True)),
       run("cat", lambda: subprocess.run(["cat", "dir/a.csv"], capture_output=True)),
       run("memory", lambda: sqlite3.connect(":memory:").close()),
       run("sqlite", lambda: sqlite3.connect("v.db").close())]
_renderer_imported()
print(json.dumps({"seen": _renderer_opened, "untracked": out}))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["untracked"] == [
        ["git", []],
        ["cat", ["ran 'cat'"]],
        ["memory", []],
        ["sqlite", ["opened the SQLite database v.db"]],
    ]
    folder, helper = f"{tmp_path / 'dir'}/", str(tmp_path / "lib" / "helper.py")
    seen = result["seen"]
    assert seen[folder] == incremental.listing_digest(folder) and seen[helper] == _seen(tmp_path / "lib" / "helper.py")
    files, changed = incremental.opened_files({folder: seen[folder], helper: seen[helper]})
    assert changed == [] and incremental.files_changed(files) is None
    (tmp_path / "dir" / "b.csv").write_text("2\n")
    assert incremental.files_changed(files) == f"changed: the folder {folder}, listed while the document executed"
    assert incremental.not_followed({"untracked": ["ran 'cat'"]}) == ["ran 'cat'"]
