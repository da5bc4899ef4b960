"""The built-in renderer's output folder, tools and environment (issues 12 and 15):
bundled Pandoc only, `--to` honoured and validated, the output set replaced as a whole,
temporary folders removed on failure and SIGTERM, environment failures named."""

import errno
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_renderer import ROOT, copy_fixture, tree_digest

from renderer import cli, outputs, pandoc
from renderer.errors import RenderError


def run(project, *args, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "renderer", "report.qmd", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **(env or {})},
        **kw,
    )


# -- Pandoc: always the bundled one -------------------------------------------------------


@pytest.mark.slow
def test_pandoc_on_the_path_is_never_used(tmp_path):
    """A system Pandoc 2.17 earlier on the PATH broke the render (no --embed-resources, no
    typst writer). A fake `pandoc` that records its calls and fails must stay unused."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    marker = tmp_path / "fake-pandoc-called"
    (fake_bin / "pandoc").write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\necho 'pandoc 2.17.1.1'\nexit 1\n")
    (fake_bin / "pandoc").chmod(0o755)
    project = copy_fixture(tmp_path)
    proc = run(project, "--no-cache", env={"PATH": f"{fake_bin}:/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert {p.name for p in (project / "_output").iterdir()} == {"report.html", "report.pdf", "report.docx"}


def test_pandoc_path_is_the_bundled_binary(tmp_path, monkeypatch):
    import pypandoc

    (tmp_path / "pandoc").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "pandoc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    path = Path(pandoc.pandoc_path())
    assert path.parent == Path(pypandoc.__file__).parent / "files"
    version = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
    assert version.startswith("pandoc 3.")


# -- --to ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        (" , ", "names no format"),
        ("", "names no format"),
        ("html,epub", "unknown output format 'epub'"),
    ],
)
def test_bad_to_is_a_usage_error(value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["report.qmd", "--to", value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_to_html_replaces_the_whole_output_set(tmp_path):
    """After a full render, `--to html` leaves exactly the new HTML (older PDF/DOCX are
    removed and named), and a file of the user's own in the folder is kept."""
    project = copy_fixture(tmp_path)
    assert run(project).returncode == 0
    out = project / "_output"
    (out / "notes.txt").write_text("mine")
    old_html = (out / "report.html").read_bytes()
    proc = run(project, "--to", "html")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html"]
    assert (out / "notes.txt").read_text() == "mine"
    assert f"removed from {out}: report.docx, report.pdf (not produced by this render)" in proc.stderr
    assert (out / "report.html").read_bytes() == old_html  # same sources, same HTML
    # no staging or old folder left beside the output folder
    assert sorted(p.name for p in project.iterdir() if p.name.startswith("._output")) == []


# -- publish: one consistent set, nothing left behind ------------------------------------


def _set(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)


def test_publish_swaps_the_folder(tmp_path):
    out = tmp_path / "out"
    _set(out, report_html="old", report_pdf="old", report_docx="old")
    new = tmp_path / "work"
    _set(new, report_html="new")
    messages = []
    outputs.publish([new / "report.html"], out, "report", progress=messages.append)
    assert {p.name: p.read_text() for p in out.iterdir()} == {"report.html": "new"}
    assert messages == [f"removed from {out}: report.docx, report.pdf (not produced by this render)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode


def test_publish_without_exchange_uses_two_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _set(out, report_html="old", report_pdf="old")
    new = tmp_path / "work"
    _set(new, report_html="new", report_pdf="new")
    outputs.publish([new / "report.html", new / "report.pdf"], out, "report")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"report.html": "new", "report.pdf": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]


def test_publish_on_a_full_disk_keeps_the_old_set_and_names_the_path(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _set(out, report_html="old", report_pdf="old")
    before = tree_digest(out)
    new = tmp_path / "work"
    _set(new, report_html="new", report_pdf="new")
    real_copy = outputs.shutil.copyfile
    calls = []

    def copy_then_fill_disk(src, dst, **kw):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_copy(src, dst, **kw)

    monkeypatch.setattr(outputs.shutil, "copyfile", copy_then_fill_disk)
    with pytest.raises(RenderError) as err:
        outputs.publish([new / "report.html", new / "report.pdf"], out, "report")
    assert str(err.value).startswith(f"cannot write {out / 'report.pdf'}: No space left on device")
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]  # staging removed


def test_publish_into_a_read_only_place_names_it(tmp_path, monkeypatch):
    def read_only(*args, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(outputs.tempfile, "mkdtemp", read_only)
    new = tmp_path / "work"
    _set(new, report_html="new")
    with pytest.raises(RenderError) as err:
        outputs.publish([new / "report.html"], tmp_path / "out", "report")
    assert str(err.value) == (
        f"cannot write the output folder {tmp_path / 'out'} (in {tmp_path}): "
        f"Read-only file system (choose a writable folder with --output-dir)"
    )


def test_too_little_free_space_is_named():
    with pytest.raises(RenderError, match=r"only \d+ MB free in /tmp, a render needs about"):
        outputs.check_free_space("/tmp", needed=1 << 62)


# -- environment failures end to end: named, before any chunk runs ------------------------


def test_output_dir_that_is_a_file(tmp_path):
    project = copy_fixture(tmp_path)
    (project / "out.txt").write_text("x")
    proc = run(project, "--output-dir", "out.txt")
    assert proc.returncode == 1
    assert f"the output folder {project / 'out.txt'} is a file, not a folder" in proc.stderr
    assert "executing" not in proc.stderr and "internal error" not in proc.stderr


def test_output_dir_below_a_file(tmp_path):
    project = copy_fixture(tmp_path)
    (project / "out.txt").write_text("x")
    proc = run(project, "--output-dir", "out.txt/sub")
    assert proc.returncode == 1
    assert f"cannot create the output folder {project / 'out.txt/sub'}: {project / 'out.txt'} is a file" in proc.stderr
    assert "executing" not in proc.stderr


def test_output_dir_on_a_read_only_file_system(tmp_path):
    # /sys is mounted read-only (or refuses new folders even to root)
    project = copy_fixture(tmp_path)
    proc = run(project, "--output-dir", "/sys/cartox-out")
    assert proc.returncode == 1
    assert "cannot write the output folder /sys/cartox-out (in /sys): " in proc.stderr
    assert re.search(r"Operation not permitted|Read-only file system|Permission denied", proc.stderr)
    assert "executing" not in proc.stderr and "internal error" not in proc.stderr


def test_output_dir_containing_the_project(tmp_path):
    project = copy_fixture(tmp_path)
    proc = run(project, "--output-dir", ".")
    assert proc.returncode == 1
    assert "contains the project" in proc.stderr and "executing" not in proc.stderr


def test_os_errors_are_named_not_internal(monkeypatch, capsys):
    def disk_full(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out/report.pdf")

    monkeypatch.setattr(cli, "render", disk_full)
    assert cli.main(["report.qmd"]) == 1
    err = capsys.readouterr().err
    assert "cannot write /data/out/report.pdf: No space left on device" in err
    assert "internal error" not in err


# -- SIGTERM: temporary files removed, outputs unchanged ------------------------------------


@pytest.mark.slow
def test_sigterm_during_execution_cleans_up(tmp_path):
    project = copy_fixture(tmp_path)
    part = project / "sections" / "_part.qmd"
    part.write_text(
        part.read_text().replace(
            '    ax.plot(ys, marker="o")', '    ax.plot(ys, marker="o")\n    import time; time.sleep(60)'
        )
    )
    out = project / "_output"
    _set(out, report_html="previous")
    before = tree_digest(out)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer", "report.qmd", "--no-cache"],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)},
    )
    lines = []
    for line in proc.stderr:  # wait until the sleeping chunk runs
        lines.append(line)
        if "executing chunk fig-panels" in line:
            break
    time.sleep(1.0)
    assert list(tmp.glob("cartox-render-*"))  # the working folder exists while rendering
    kernel = psutil.Process(proc.pid).children(recursive=True)
    assert kernel  # the Jupyter kernel running the chunk
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 143
    assert "render terminated (SIGTERM)" in rest
    assert list(tmp.glob("cartox-render-*")) == []
    assert tree_digest(out) == before
    assert not [p for p in project.iterdir() if p.name.startswith("._output")]
    time.sleep(1)
    assert not [k for k in kernel if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


# -- make preview -------------------------------------------------------------------------


@pytest.mark.slow
def test_preview_rerenders_the_html_on_save(tmp_path):
    project = copy_fixture(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer.preview", "report.qmd"],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    try:

        def lines_until(text):
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if text in line:
                    return "".join(seen)
            raise AssertionError(f"preview ended before {text!r}: {''.join(seen)}")

        first = lines_until("preview: ok")
        assert "executing chunk" in first
        html = project / "_preview" / "report.html"
        assert "lists values" in html.read_text()
        assert not (project / "_output").exists()  # the preview never touches _output
        part = project / "sections" / "_part.qmd"
        part.write_text(part.read_text().replace("lists values", "lists the edited values"))
        second = lines_until("preview: ok")
        assert "preview: changed sections/_part.qmd" in second
        assert "cache hit: analysis not re-run" in second and "executing chunk" not in second
        assert "lists the edited values" in html.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- renderer.quarto: the same --to contract for real Quarto ------------------------------


@pytest.mark.parametrize("value", [" , ", "html,latex"])
def test_quarto_wrapper_bad_to_is_a_usage_error(value):
    from renderer import quarto

    with pytest.raises(SystemExit) as exit_info:
        quarto.parse_args(["report.qmd", "--to", value])
    assert exit_info.value.code == 2


def test_quarto_wrapper_maps_formats_and_passes_arguments_through():
    from renderer import quarto

    args = quarto.parse_args(["report.qmd", "--to", "pdf", "--", "-P", "cohort:x.csv"])
    assert args.formats == ["pdf"] and quarto.QUARTO_FORMAT["pdf"] == "typst"
    assert args.passthrough == ["-P", "cohort:x.csv"]


def test_quarto_wrapper_html_of_a_subset_links_no_format_it_does_not_write():
    """`make report TO=html` with Quarto used to print "Other Formats: Typst, MS Word" links
    to report.pdf/report.docx, which the swap of the output folder had just removed."""
    from renderer import quarto

    everything = ["html", "pdf", "docx"]
    assert quarto.quarto_runs(everything, everything) == [[]]  # one run: every link is written
    assert quarto.quarto_runs(["html"], everything) == [["--to", "html", "-M", "format-links:false"]]
    assert quarto.quarto_runs(["pdf", "html"], everything) == [
        ["--to", "typst"],
        ["--to", "html", "-M", "format-links:false"],
    ]


def test_quarto_wrapper_without_quarto_says_so(capsys):
    from renderer import quarto

    assert quarto.main(["report.qmd", "--quarto", "no-such-quarto-binary"]) == 1
    assert "'no-such-quarto-binary' is not on the PATH" in capsys.readouterr().err


def test_the_disease_documents_render_with_quartos_disease_profile():
    """Quarto refuses --output-dir for a file outside the project's render list ("The
    --output-dir flag can only be used when rendering projects"): the LBCL/MM documents are
    listed by _quarto-disease.yml and rendered with --profile disease; the B-ALL ones without."""
    from renderer import quarto

    root = Path(__file__).resolve().parents[1]
    assert quarto.profile_arguments(root / "report.qmd", root) == []
    assert quarto.profile_arguments(root / "supplement.qmd", root) == []
    for name in ("report-disease.qmd", "supplement-disease.qmd"):
        assert quarto.profile_arguments(root / name, root) == ["--profile", "disease"]
    # the documents `analysis document` names for a disease are the ones the profile lists
    from analysis.report.documents import DISEASE_DOCUMENTS

    assert all(quarto.profile_arguments(root / d, root) for d in DISEASE_DOCUMENTS)
