"""End-to-end: the bundled report rendered to html, pdf and docx (issue 4).

One render per session (``bundled_render`` in conftest.py, ``--no-cache`` so the
analysis really runs). Captions, labels and inline expressions are read from the qmd
sources, never retyped, so the checks follow the manuscript as it is edited.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import COHORT, LEAKED_MISSING, ROOT, captions, document_sources, html_text_of, normalise
from prose import _as_text as value_texts
from prose import inline_value_problems, misplaced_prose, paragraphs, read_inline_log

from analysis.report.narrative import Narrative

FORMATS = ("html", "pdf", "docx")
DOCUMENTS = ("report", "supplement")


def _text(rendered, fmt: str) -> str:
    return {"html": rendered.html_text, "pdf": rendered.pdf_text, "docx": rendered.docx_text}[fmt]


def _labels(prefix: str, document: str = "report") -> list[str]:
    labels = []
    for path in document_sources(document):
        labels += re.findall(rf"^#\|\s*label:\s*({prefix}-[\w-]+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    return labels


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_format_is_written_and_substantial(bundled_render, document):
    rendered = bundled_render if document == "report" else bundled_render.supplement
    panels = len(captions(document=document)["fig-subcap"])
    assert panels >= 10  # the sources were read (figures of sub-panels)
    for path in (rendered.html, rendered.pdf, rendered.docx):
        assert path.exists(), path
        assert path.stat().st_size > 200_000, f"{path.name} is only {path.stat().st_size} bytes"
    assert rendered.pdf.read_bytes().startswith(b"%PDF-")
    # every figure panel is embedded: one PNG per panel in the html and the docx
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', rendered.html.read_text("utf-8"))) >= panels
    with zipfile.ZipFile(rendered.docx) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) >= panels
    from pypdf import PdfReader

    assert len(PdfReader(str(rendered.pdf)).pages) >= 8
    # the renderer left nothing behind in the output directory but the two documents' formats
    assert sorted(p.name for p in bundled_render.out_dir.iterdir()) == [
        f"{d}.{f}" for d in DOCUMENTS for f in ("docx", "html", "pdf")
    ]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_word_documents_have_the_pdfs_page_and_type_sizes(bundled_render, document):
    """Word opened pandoc's defaults (US Letter, 12 pt text and tables): an 11-column Table 1
    broke "0.785" into "0./78/5" (review 31, Word). The PDF's A4, 2 cm margins, 10 pt and 8 pt
    tables come from the project's reference document, which _quarto.yml gives both renderers."""
    rendered = bundled_render if document == "report" else bundled_render.supplement
    with zipfile.ZipFile(rendered.docx) as z:
        body = z.read("word/document.xml").decode("utf-8")
        styles = z.read("word/styles.xml").decode("utf-8")
    # A4 in twentieths of a point (210 x 297 mm), 2 cm margins (pandoc orders the attributes its way)
    section = re.findall(r"<w:sectPr>.*?</w:sectPr>", body, re.S)[-1]
    size = re.search(r"<w:pgSz ([^>]*)/>", section).group(1)
    assert 'w:w="11906"' in size and 'w:h="16838"' in size
    margins = re.search(r"<w:pgMar ([^>]*)/>", section).group(1)
    assert all(f'w:{side}="1134"' in margins for side in ("top", "right", "bottom", "left"))
    defaults = re.search(r"<w:rPrDefault>.*?</w:rPrDefault>", styles, re.S).group(0)
    assert '<w:sz w:val="20"' in defaults  # half-points: 10 pt
    compact = re.search(r'w:styleId="Compact"[^>]*>.*?</w:style>', styles, re.S).group(0)
    assert '<w:sz w:val="16"' in compact  # 8 pt, as the PDF's tables
    # the table cells are written in that style
    first_table = re.search(r"<w:tbl>.*?</w:tbl>", body, re.S).group(0)
    assert '<w:pStyle w:val="Compact"' in first_table


def test_every_figure_has_alternative_text(bundled_render):
    """Screen readers and Word's accessibility check read an image's alternative text: every
    figure chunk of the documents declares ``fig-alt`` (the Word review of stop 31 found every
    image's description empty), and every figure image of both HTML documents carries it."""
    sources = [*sorted((ROOT / "sections").glob("*.qmd")), *sorted((ROOT / "sections" / "disease").glob("*.qmd"))]
    figure_chunks = 0
    for path in sources:
        chunks = re.findall(r"```\{python\}\n((?:#\|.*\n)+)", path.read_text(encoding="utf-8"))
        for options in chunks:
            if re.search(r"^#\| label: fig-", options, re.M):
                figure_chunks += 1
                alt = re.search(r'^#\| fig-alt: "([^"]+)"', options, re.M)
                assert alt and len(alt.group(1).split()) >= 8, (path.name, options.splitlines()[0])
    assert figure_chunks >= 20  # the sources were read
    for rendered in (bundled_render, bundled_render.supplement):
        images = re.findall(r"<img\b[^>]*>", rendered.html.read_text("utf-8"))
        figures = [i for i in images if "data:image/png" in i]
        assert figures and all(re.search(r'alt="[^"]{20,}"', i) for i in figures), rendered.html.name


def test_the_projects_reference_document_is_the_renderers():
    """cartox-reference.docx is what renderer.pandoc.reference_docx writes from the Pandoc the
    project installs (regenerate it with that function when Pandoc's default changes)."""
    import tempfile

    from renderer.pandoc import reference_docx

    with tempfile.TemporaryDirectory() as folder:
        fresh = reference_docx(folder, out=Path(folder) / "fresh.docx")
        with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(ROOT / "cartox-reference.docx") as b:
            assert sorted(a.namelist()) == sorted(b.namelist())
            for name in a.namelist():
                assert a.read(name) == b.read(name), name


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_caption_of_the_sources_is_printed(bundled_render, fmt, document):
    caps = captions(document=document)
    assert len(caps["fig-cap"]) == len(_labels("fig", document)) and len(caps["tbl-cap"]) == len(
        _labels("tbl", document)
    )
    text = _text(bundled_render if document == "report" else bundled_render.supplement, fmt)
    missing = [c for c in caps["fig-cap"] + caps["tbl-cap"] + caps["fig-subcap"] if normalise(c) not in text]
    assert not missing, f"captions missing from the {fmt}: {missing}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_unevaluated_code_or_missing_value_is_printed(bundled_render, fmt):
    raw = {"html": bundled_render.html_markup, "pdf": bundled_render.pdf_text, "docx": bundled_render.docx_xml}[fmt]
    assert "{python}" not in raw
    text = _text(bundled_render, fmt)
    assert "{python}" not in text
    leaked = [text[max(0, m.start() - 60) : m.end() + 60] for m in LEAKED_MISSING.finditer(text)]
    assert not leaked, f"missing values printed raw in the {fmt}: {leaked[:5]}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_odds_ratio_of_zero_is_printed(bundled_render, fmt):
    """CR by CRS has a zero cell (every patient without CRS responded): the report prints Firth's
    odds ratio, never the conditional estimate 0 (issue 20)."""
    text = _text(bundled_render, fmt) + " " + _text(bundled_render.supplement, fmt)
    assert not re.search(r"\bOR 0\.0+\b(?!\d)", text), f"an odds ratio of 0 printed in the {fmt}"


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_cross_references_are_resolved(bundled_render, fmt, document):
    text = _text(bundled_render if document == "report" else bundled_render.supplement, fmt)
    for marker in ("@fig-", "@tbl-", "@sec-", "?@", "[@"):
        assert marker not in text, f"unresolved reference {marker!r} in the {fmt}"
    figures, tables = _labels("fig", document), _labels("tbl", document)
    assert len(figures) >= 3 and len(tables) >= 4
    # numbered in order: "Figure 1" ... "Figure n", "Table 1" ... "Table m" (the supplement: S1, ...)
    s = "S" if document == "supplement" else ""
    for i in range(1, len(figures) + 1):
        assert re.search(rf"\bFigure {s}{i}\b", text), f"Figure {s}{i} is never referenced in the {fmt}"
    for i in range(1, len(tables) + 1):
        assert re.search(rf"\bTable {s}{i}\b", text), f"Table {s}{i} is never referenced in the {fmt}"
    if document == "report":  # the manuscript points to the supplement's displays by their numbers
        assert re.search(r"Supplementary (Figure|Table) S\d+", text)
    # cited works are resolved into the reference list (a key left as text would read "source2024")
    assert "source2024" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_synthetic_data_notice_is_shown(bundled_render, bundled_results, fmt):
    assert bundled_results.is_synthetic
    notice = re.search(
        r'^::: \{\.content-visible when-meta="cartox\.synthetic"\}\n(.*?)^:::\n:::$',
        (ROOT / "report.qmd").read_text(encoding="utf-8"),
        re.MULTILINE | re.DOTALL,
    ).group(1)
    title = re.search(r"^## (.+)$", notice, re.MULTILINE).group(1)
    body = normalise(notice.split(title, 1)[1].replace(":::", "").replace("**", "").replace("`", ""))
    text = _text(bundled_render, fmt)
    assert title in text
    assert body.split(".")[0] in text  # "This report was computed from the bundled synthetic data set, ..."


def _namespace(results) -> dict:
    from analysis.inputs.studyfile import resolve_study

    return {"R": results, "text": Narrative(results, resolve_study(cohort=COHORT))}


def test_every_inline_value_is_the_librarys_in_its_place(bundled_render, bundled_results):
    """Each inline expression, evaluated on the library's results, is printed in its own
    paragraph, in its place (the renderer's --inline-log says where each value went)."""
    log = read_inline_log(bundled_render.inline_log)
    assert len(log) > 50
    for entry in log:
        assert entry.value and not LEAKED_MISSING.search(entry.value), entry
    problems = inline_value_problems(log, bundled_render.html.read_text("utf-8"), _namespace(bundled_results))
    assert not problems, "\n".join(problems[:10])
    # the cut-off is printed as a study parameter, as a reader writes it
    assert Narrative(bundled_results).cutoff in bundled_render.pdf_text


def _two_different_verdicts_of_one_paragraph(log):
    """Two estimates of one kind (verdicts, rates, differences, hazard ratios) printed in one
    paragraph with different values: exchanged, each would still be somewhere on the page."""
    for kind in (".verdict(", ".risk_difference(", ".survival_hr(", ".rate("):
        for para in paragraphs(log):
            same = [e for e in para.logged if kind in e.expression]
            for a, b in zip(same, same[1:]):
                if a.value != b.value:
                    return a, b
    raise AssertionError("no paragraph with two different estimates of one kind")


def test_two_swapped_verdicts_in_the_prose_fail_the_check(bundled_render, bundled_results):
    """The printed page with two verdicts of one paragraph exchanged: every value is still
    somewhere on the page (a search of the whole page passes), the positional check fails."""
    log = read_inline_log(bundled_render.inline_log)
    first, second = _two_different_verdicts_of_one_paragraph(log)
    html = bundled_render.html.read_text("utf-8")
    # as Pandoc printed them: line breaks where the value had spaces
    first_re, second_re = (r"\s+".join(map(re.escape, v.value.split())) for v in (first, second))
    b, b_end = re.search(second_re, html).span()
    # the first value's last print before the second (an estimate may also be in the abstract)
    a, a_end = [m.span() for m in re.finditer(first_re, html[:b])][-1]
    assert a_end < b
    swapped = html[:a] + second.value + html[a_end:b] + first.value + html[b_end:]
    page = html_text_of(swapped)
    # what a search of the whole page sees (each value as Pandoc prints it: the product
    # sentence is Markdown, its study-file words escaped)
    printed = [" ".join(blocks) for blocks in value_texts([e.value for e in log])]
    assert all(normalise(text) in page for text in printed)
    problems = misplaced_prose(log, swapped)
    assert len(problems) == 1 and f"{Path(first.file).name}:" in problems[0], problems


def test_a_value_the_library_does_not_give_fails_the_check(bundled_render, bundled_results):
    """A logged value that is not the library's (a stale or mistyped number) is named."""
    log = read_inline_log(bundled_render.inline_log)
    entry = next(i for i, e in enumerate(log) if e.expression == "text.pvalue_count")
    stale = [*log[:entry], replace(log[entry], value=str(int(log[entry].value) + 1)), *log[entry + 1 :]]
    problems = inline_value_problems(stale, bundled_render.html.read_text("utf-8"), _namespace(bundled_results))
    assert any("text.pvalue_count printed" in p for p in problems), problems
    assert any("not printed as one paragraph" in p for p in problems), problems
