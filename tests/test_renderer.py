"""The built-in renderer (python -m renderer) on the mini project in tests/renderer_fixtures."""

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from renderer import crossref, qmd
from renderer.errors import RenderError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "renderer_fixtures"


def run_renderer(project, *args):
    return subprocess.run(
        [sys.executable, "-m", "renderer", "report.qmd", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def copy_fixture(tmp_path):
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("_output", "__pycache__"))
    return dest


def tree_digest(path):
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = copy_fixture(tmp_path_factory.mktemp("render"))
    proc = run_renderer(project)
    assert proc.returncode == 0, proc.stderr
    out = project / "_output"
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    with zipfile.ZipFile(out / "report.docx") as z:
        docx_xml = z.read("word/document.xml").decode()
    docx_text = re.sub(r"<[^>]+>", "", docx_xml)
    return {
        "project": project,
        "out": out,
        "stderr": proc.stderr,
        "html": (out / "report.html").read_text(),
        "pdf": re.sub(r"\s+", " ", pdf_text),
        "docx": docx_text,
        "docx_xml": docx_xml,
    }


def test_all_formats_written(rendered):
    for name in ("report.html", "report.pdf", "report.docx"):
        assert (rendered["out"] / name).stat().st_size > 10_000
    assert (rendered["out"] / "report.pdf").read_bytes().startswith(b"%PDF")
    # nothing but the three outputs: working files stay in the temporary directory
    assert sorted(p.name for p in rendered["out"].iterdir()) == ["report.docx", "report.html", "report.pdf"]


def test_progress_lines(rendered):
    err = rendered["stderr"]
    assert "[3/5] executing chunk fig-panels" in err
    assert "inline 5 expressions" in err
    assert "pandoc html" in err and "typst pdf" in err and "pandoc docx" in err
    assert re.search(r"done in \d+\.\d s", err)


def test_html_is_self_contained(rendered):
    html = rendered["html"]
    srcs = re.findall(r"""\bsrc=["']([^"']*)""", html)
    assert srcs and all(s.startswith("data:") for s in srcs)
    assert not re.search(r"""<link[^>]+href=["'](?!data:)""", html)
    assert "@import url(" not in html
    # two panels and one single figure, all embedded
    assert html.count('src="data:image/png;base64,') == 3


def test_html_structure(rendered):
    html = rendered["html"]
    assert 'id="TOC"' in html  # toc: true
    assert '<a href="#fig-panels">Figure\u00a01</a>' in html
    assert '<a href="#tbl-toy">Table\u00a01</a>' in html
    assert '<a href="#sec-results">Section\u00a02</a>' in html
    assert 'class="toy"' in html  # HTML representation used for html
    assert "Table\u00a01: A toy table." in html
    assert 'class="callout callout-warning"' in html and "Synthetic data notice" in html
    assert "(a) Growth" in html and "(b) Decay" in html
    assert "Maude et al. 2018" in html


def test_pdf_text(rendered):
    pdf = rendered["pdf"]
    for expected in (
        "Figure 1: Two panels side by side.",
        "Table 1: A toy table.",
        "Figure 2: Bar chart of 42 and 84 (see Table 1).",
        "The cohort has 42 patients",
        "(doubled: 84)",
        "label baseline",
        "Maude et al. 2018",
        "Synthetic data notice",
        "Results are in Section 2",
        "panel Figure 1B",
        "Values are invented for the test.",
        "(a) Growth",
        "New England Journal of Medicine",
        "1 Introduction",
    ):
        assert expected in pdf.replace("\u00a0", " "), expected


def test_docx_text(rendered):
    docx = rendered["docx"].replace("\u00a0", " ")
    for expected in (
        "Figure 1: Two panels side by side.",
        "Table 1: A toy table.",
        "The cohort has 42",
        "Maude et al. 2018",
        "Synthetic data notice",
    ):
        assert expected in docx, expected
    assert 'w:val="Callout"' in rendered["docx_xml"]  # the callout box style is applied


def test_no_unresolved_inline_code(rendered):
    for key in ("html", "pdf", "docx"):
        assert "{python}" not in rendered[key]
        assert "@fig-" not in rendered[key] and "@tbl-" not in rendered[key]


@pytest.mark.slow
def test_parameter_override_changes_inline_value(tmp_path):
    project = copy_fixture(tmp_path)
    proc = run_renderer(project, "-P", "n_patients:7", "-P", "label:override", "--to", "html", "--output-dir", "out")
    assert proc.returncode == 0, proc.stderr
    html = (project / "out" / "report.html").read_text()
    assert "The cohort has 7 patients (doubled: 14), label override." in html
    assert not (project / "out" / "report.pdf").exists()


@pytest.mark.slow
def test_unknown_parameter_is_an_error(tmp_path):
    project = copy_fixture(tmp_path)
    proc = run_renderer(project, "-P", "nope:1", "--to", "html")
    assert proc.returncode != 0
    assert "unknown parameter(s) nope" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_failing_chunk_keeps_previous_output(tmp_path):
    project = copy_fixture(tmp_path)
    out = project / "_output"
    out.mkdir()
    (out / "report.html").write_text("previous render")
    (out / "notes.txt").write_text("keep me")
    before = tree_digest(out)
    part = project / "sections" / "_part.qmd"
    part.write_text(
        part.read_text().replace(
            '    ax.plot(ys, marker="o")', '    ax.plot(ys, marker="o")\n    raise ValueError("boom")'
        )
    )
    proc = run_renderer(project)
    assert proc.returncode != 0
    err = proc.stderr
    assert "chunk fig-panels failed" in err
    assert "ValueError: boom" in err
    assert "sections/_part.qmd:18" in err  # the line of the raise in the source file
    assert "raise ValueError" in err
    assert "Traceback" not in err
    assert tree_digest(out) == before


@pytest.mark.slow
def test_unknown_shortcode_is_a_clear_error(tmp_path):
    project = copy_fixture(tmp_path)
    doc = project / "report.qmd"
    doc.write_text(
        doc.read_text().replace("# Introduction {#sec-intro}", "# Introduction {#sec-intro}\n\n{{< meta title >}}")
    )
    proc = run_renderer(project)
    assert proc.returncode != 0
    assert "report.qmd:32" in proc.stderr and "unsupported shortcode" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project / "_output").exists()


@pytest.mark.slow
def test_unknown_cell_option_is_a_clear_error(tmp_path):
    project = copy_fixture(tmp_path)
    part = project / "sections" / "_part.qmd"
    part.write_text(part.read_text().replace("#| layout-ncol: 2", "#| layout-ncol: 2\n#| fig-pos: h"))
    proc = run_renderer(project)
    assert proc.returncode != 0
    assert "unsupported cell option 'fig-pos'" in proc.stderr
    assert "sections/_part.qmd:6" in proc.stderr  # the chunk's opening fence
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_unknown_cross_reference_is_an_error(tmp_path):
    project = copy_fixture(tmp_path)
    part = project / "sections" / "_part.qmd"
    part.write_text(part.read_text().replace("@tbl-toy lists", "@tbl-missing lists"))
    proc = run_renderer(project, "--to", "html")
    assert proc.returncode != 0
    assert "unknown cross-reference @tbl-missing" in proc.stderr and "_part.qmd:3" in proc.stderr


def _registry():
    lines = qmd.read_lines(FIXTURE / "report.qmd")
    return crossref.number(qmd.parse(lines))


def test_numbering_in_order_of_appearance():
    reg = _registry()
    assert {k: t.number for k, t in reg.targets.items()} == {
        "sec-intro": "1",
        "sec-results": "2",
        "fig-panels": "1",
        "fig-panels-1": "1A",
        "fig-panels-2": "1B",
        "tbl-toy": "1",
        "fig-single": "2",
    }


def test_citations_are_not_cross_references():
    reg = _registry()
    text = "As shown [@maude2018; @other, p. 3] and by @maude2018, see [@fig-single] and -@tbl-toy."
    assert crossref.resolve(text, reg, "x") == (
        "As shown [@maude2018; @other, p. 3] and by @maude2018, see [Figure\u00a02](#fig-single) and [1](#tbl-toy)."
    )
    assert crossref.resolve("mail a@fig-x.org; `@fig-nope`", reg, "x") == "mail a@fig-x.org; `@fig-nope`"
    with pytest.raises(RenderError, match="mixes cross-references and citations"):
        crossref.resolve("[@maude2018; @fig-single]", reg, "x")


@pytest.mark.slow
def test_conditional_content_follows_metadata_set_by_a_chunk(tmp_path):
    """`.content-visible when-meta` as Quarto: a chunk's metadata block decides; a hidden
    figure takes no number, so the next figure is Figure 1 (issue 10)."""
    project = tmp_path / "cond"
    project.mkdir()
    (project / "report.qmd").write_text(
        """---
title: "Conditional"
---

```{python}
#| tags: [parameters]
show = False
```

```{python}
from IPython.display import Markdown, display
display(Markdown("---\\nflags:\\n  show: " + ("true" if show else "false") + "\\n---\\n"))
```

::: {.content-visible when-meta="flags.show"}
SHOWN-IF-TRUE

```{python}
#| label: fig-hidden
#| fig-cap: "The conditional figure"
import matplotlib.pyplot as plt
plt.plot([1, 2])
plt.show()
```
:::

::: {.content-hidden when-meta="flags.show"}
SHOWN-IF-FALSE
:::

```{python}
#| label: fig-always
#| fig-cap: "The other figure"
plt.plot([2, 1])
plt.show()
```

See @fig-always.
""",
        encoding="utf-8",
    )
    for show, present, absent, number in (
        ("false", "SHOWN-IF-FALSE", "SHOWN-IF-TRUE", "1"),
        ("true", "SHOWN-IF-TRUE", "SHOWN-IF-FALSE", "2"),
    ):
        proc = run_renderer(project, "-P", f"show:{show}", "--to", "html", "--no-cache", "--output-dir", f"out-{show}")
        assert proc.returncode == 0, proc.stderr
        html = (project / f"out-{show}" / "report.html").read_text()
        assert present in html and absent not in html
        assert ("The conditional figure" in html) == (show == "true")
        assert re.search(rf"Figure(&nbsp;|\s){number}", html), html[-2000:]


def test_conditional_content_accepts_only_when_meta(tmp_path):
    doc = tmp_path / "d.qmd"
    doc.write_text('---\ntitle: x\n---\n\n::: {.content-visible when-format="html"}\nx\n:::\n', encoding="utf-8")
    with pytest.raises(RenderError, match="single when-meta"):
        qmd.load(doc)


def test_inline_log_lists_each_expression_and_value_in_document_order(tmp_path):
    """`--inline-log`: one JSON line per inline expression, nested divs included, in order."""
    import json

    from renderer.inline_log import write_inline_log

    doc = tmp_path / "doc.qmd"
    doc.write_text(
        "---\ntitle: t\n---\n\nA `{python} a` and `{python} b`.\n\n"
        "::: {.callout-note}\nC `{python} c`\n:::\n\nD `{python} d`\n",
        encoding="utf-8",
    )
    parsed = qmd.load(doc)
    for block in qmd.walk(parsed.blocks):
        if isinstance(block, qmd.Markdown):
            block.inlines = qmd.inline_exprs(block)
            for expr in block.inlines:
                expr.value = f"value of {expr.code}"
    write_inline_log(parsed.blocks, tmp_path / "log.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["expression"], r["value"]) for r in rows] == [
        (5, "a", "value of a"),
        (5, "b", "value of b"),
        (8, "c", "value of c"),
        (11, "d", "value of d"),
    ]
    assert {r["file"] for r in rows} == {str(doc.resolve())}


def test_a_pdf_only_render_lists_its_placeholders_and_says_the_counts_need_the_html(tmp_path):
    """Review 30 (F13): with ``--to pdf`` the render printed neither the word counts nor the
    placeholders, and said nothing. Now the placeholders are read from the PDF, and a line says
    that the counts are read from the HTML."""
    import typst

    from renderer import journal

    source = tmp_path / "report.typ"
    source.write_text("Approved by [to be completed: ethics committee and approval number].\n", encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    typst.compile(str(source), output=str(pdf))
    said: list[str] = []
    assert journal.report([pdf], said.append) is None
    assert any(line.startswith("word and display counts not checked") for line in said), said
    assert said[-2:] == [
        "to be completed before submission (1), in the study file:",
        "  - ethics committee and approval number",
    ]
