"""Real Quarto and the built-in renderer produce the same report (issue 12).

Runs only when `quarto` is on the PATH (how to get it: the README section "Checking against
real Quarto"). The manuscript and supplement are rendered both ways (HTML, Typst PDF, DOCX;
Quarto from a copy of the project, the built-in renderer's is the session's bundled render)
and compared: every prose
paragraph with its inline values, the figure and table captions and sub-captions, the
reference list, and the last row of every table, in the HTML and in the PDF text.
"""

import re
import shutil
import unicodedata
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import background_render, register_render, render_with_quarto
from layout import layout_problems, pdf_pages
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
QUARTO = shutil.which("quarto")
if QUARTO is None:
    pytest.skip(
        "quarto is not on the PATH: the parity check needs the real Quarto CLI "
        "(the Quarto installer or `pip install quarto-cli`: README, 'Checking against real Quarto')",
        allow_module_level=True,
    )

DOCUMENTS = ("report", "supplement")
REMOTE_TAG_RE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


# -- HTML: paragraphs, captions, references, table rows -------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP_PARAGRAPHS_IN = {"nav", "header", "figure", "figcaption", "table"}
SKIP_CLASSES = {
    "cx-figure",
    "cx-table",
    "cx-caption",
    "cx-panel",
    "references",
    "quarto-float",
    "quarto-figure",
    "quarto-layout-panel",
    "callout-title",
    "callout-header",
}


def _norm(text):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).replace("\u00a0", " ")).strip()


class _Report(HTMLParser):
    """Collects the texts the parity test compares, by element kind."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, classes, id)
        self.open = []  # (kind, buffer list, depth)
        self.found = {"paragraph": [], "caption": [], "subcaption": [], "reference": [], "row": []}
        self.tables = []  # per table: list of body rows (lists of cell texts)

    def _inside(self, pred):
        return any(pred(tag, classes, ident) for tag, classes, ident in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        ident = attrs.get("id") or ""
        if tag in VOID:
            return
        self.stack.append((tag, classes, ident))
        depth = len(self.stack)
        kind = None
        if tag == "p" and not self._inside(lambda t, c, i: t in SKIP_PARAGRAPHS_IN or c & SKIP_CLASSES or i == "refs"):
            kind = "paragraph"
        elif tag == "figcaption" and "quarto-subfloat-caption" in classes:
            kind = "subcaption"
        elif tag == "figcaption" or (tag == "div" and "cx-caption" in classes):
            kind = "caption"
        elif tag == "p" and self._inside(lambda t, c, i: "cx-panel" in c):
            kind = "subcaption"
        elif tag == "div" and "csl-entry" in classes:
            kind = "reference"
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self._inside(lambda t, c, i: t == "tbody"):
            kind = "row"
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self._inside(lambda t, c, i: t == "tbody"):
            kind = "cell"
        if kind:
            self.open.append((kind, [], depth))

    def handle_endtag(self, tag):
        if tag in VOID or not any(t == tag for t, _, _ in self.stack):
            return
        while self.stack:
            depth = len(self.stack)
            while self.open and self.open[-1][2] == depth:
                kind, buf, _ = self.open.pop()
                text = _norm("".join(buf))
                if kind == "cell":
                    self.tables[-1][-1].append(text)
                elif kind == "row":
                    pass
                elif text:
                    self.found[kind].append(text)
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, buf, _ in self.open:
            buf.append(data)


def report_parts(html):
    parser = _Report()
    parser.feed(html)
    parser.close()
    parts = dict(parser.found)
    parts["last_rows"] = [t[-1] for t in parser.tables if t]
    return parts


# -- PDF / DOCX text ---------------------------------------------------------------------


def _squash(text):
    """Text compared regardless of line breaks, hyphenation and spacing (PDF extraction), and of
    typographic quotes (Quarto's Pandoc prints "Fisher's" with a curly apostrophe in the PDF)."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    return re.sub(r"[\s\-\u2010\u2011]+", "", text)


def pdf_text(path):
    return "\n".join(pdf_pages(path))


def misplaced_text(path):
    """Text runs drawn on top of another run (same page and position) or off the page.

    A table in an unbreakable block that overflows the page is not cut: Typst draws the
    rows that do not fit all at the foot of the page, over each other (Quarto before
    `typst-include.typ`). Text extraction still finds them, so look at positions."""
    bad = []
    for number, page in enumerate(PdfReader(path).pages, start=1):
        box = page.mediabox
        runs = {}

        def visit(text, cm, tm, font, size):
            if not text.strip():
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if not (float(box.left) <= x <= float(box.right) and float(box.bottom) <= y <= float(box.top)):
                bad.append((number, "off the page", text.strip()))
            runs.setdefault((round(x), round(y)), set()).add(text.strip())

        page.extract_text(visitor_text=visit)
        bad += [(number, f"overprinted at {pos}", sorted(texts)[:3]) for pos, texts in runs.items() if len(texts) > 1]
    return bad


def docx_text(path):
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode()
    return re.sub(r"<[^>]+>", " ", xml)


def found_across_breaks(needle, text, max_pieces=3):
    """`needle` in `text` (both squashed) whole, or in up to `max_pieces` consecutive pieces:
    a page break (page number) or a figure floated to the next page can cut a paragraph."""
    at = 0
    for _ in range(max_pieces):
        if not needle:
            return True
        lo, hi = 0, len(needle)  # longest prefix of `needle` found at or after `at`
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if text.find(needle[:mid], at) >= 0:
                lo = mid
            else:
                hi = mid - 1
        if lo < min(20, len(needle)):
            return False
        at = text.find(needle[:lo], at) + lo
        needle = needle[lo:]
    return not needle


def cells_in_order(cells, squashed_text):
    """Every non-empty cell found in `squashed_text`, each after the previous one."""
    at = 0
    for cell in cells:
        needle = _squash(cell)
        if not needle:
            continue
        at = squashed_text.find(needle, at)
        if at < 0:
            return cell
        at += len(needle)
    return None


# -- the two renders ---------------------------------------------------------------------


register_render(
    "quarto-parity",
    ("test_quarto_parity",),
    lambda directory: {"documents": ("report.qmd", "supplement.qmd")},
    run=render_with_quarto,
    long=True,
)


@pytest.fixture(scope="module")
def renders(bundled_render):
    """Quarto's render of the manuscript and supplement (html, Typst pdf, docx: _quarto.yml's
    formats), and the built-in renderer's: the session's bundled render (conftest.py), the
    same documents and formats (``--to html,pdf,docx`` names _quarto.yml's), ``--no-cache``,
    from the project itself instead of a copy (the copy is Quarto's need: it writes beside
    its sources). Both start in the background when the session starts."""
    quarto, quarto_out = background_render("quarto-parity")
    assert quarto.returncode == 0, quarto.stderr[-3000:]
    out = {}
    for who, folder, log in (
        ("quarto", quarto_out, quarto.stderr),
        ("builtin", bundled_render.out_dir, bundled_render.stderr),
    ):
        out[who] = {"log": log, "folder": folder}
        for doc in DOCUMENTS:
            html = (folder / f"{doc}.html").read_text(encoding="utf-8")
            out[who][doc] = {
                "html": html,
                "parts": report_parts(html),
                "pdf": pdf_text(folder / f"{doc}.pdf"),
                "pdf_misplaced": misplaced_text(folder / f"{doc}.pdf"),
                "docx": docx_text(folder / f"{doc}.docx"),
                "quarto_log": quarto.stderr,
                "html_path": folder / f"{doc}.html",
                "pdf_path": folder / f"{doc}.pdf",
            }
    return out


@pytest.fixture(params=DOCUMENTS)
def doc(request):
    return request.param


def test_all_formats_rendered_by_both(renders, doc):
    for who in ("quarto", "builtin"):
        parts = renders[who][doc]["parts"]
        assert len(parts["paragraph"]) >= (25 if doc == "report" else 10), who
        assert parts["reference"] and parts["last_rows"], who


def test_html_loads_nothing_remote(renders, doc):
    for who in ("quarto", "builtin"):
        remote = REMOTE_TAG_RE.findall(renders[who][doc]["html"])
        assert remote == [], f"{who} HTML references remote resources: {remote[:3]}"
    assert "Could not fetch resource" not in renders["quarto"][doc]["quarto_log"]


def test_wide_figures_are_scaled_to_the_column_in_both_htmls(renders, doc):
    # Quarto writes a figure's pixel width (the forest plot is 1008 px) and clipped the
    # three widest figures before filters/offline-html.lua added this rule to the head
    for who in ("quarto", "builtin"):
        head = renders[who][doc]["html"].split("<body", 1)[0]
        assert re.search(r"figure img[^{}]*\{[^}]*max-width:\s*100%", head), who


def test_paragraphs_and_inline_values_match(renders, doc):
    quarto = renders["quarto"][doc]["parts"]["paragraph"]
    builtin = renders["builtin"][doc]["parts"]["paragraph"]
    for i, (q, b) in enumerate(zip(quarto, builtin)):
        assert q == b, f"paragraph {i + 1} differs:\nquarto:   {q}\nbuilt-in: {b}"
    assert len(quarto) == len(builtin)


def test_paragraphs_appear_in_both_pdfs(renders, doc):
    for who in ("quarto", "builtin"):
        text = _squash(renders[who][doc]["pdf"])
        missing = [
            p for p in renders["builtin"][doc]["parts"]["paragraph"] if not found_across_breaks(_squash(p), text)
        ]
        assert missing == [], f"{who} PDF lacks {len(missing)} paragraph(s), first: {missing[:1]}"


def test_captions_match(renders, doc):
    for kind in ("caption", "subcaption"):
        quarto = renders["quarto"][doc]["parts"][kind]
        builtin = renders["builtin"][doc]["parts"][kind]
        assert quarto == builtin, kind
    subcaptions = renders["builtin"][doc]["parts"]["subcaption"]
    assert subcaptions[0].startswith("(a) ") and all(re.match(r"\([a-z]\) ", s) for s in subcaptions)


def test_captions_appear_in_every_pdf_and_docx(renders, doc):
    captions = renders["builtin"][doc]["parts"]["caption"] + renders["builtin"][doc]["parts"]["subcaption"]
    for who in ("quarto", "builtin"):
        for fmt in ("pdf", "docx"):
            text = _squash(renders[who][doc][fmt])
            missing = [c for c in captions if _squash(c) not in text]
            assert missing == [], f"{who} {fmt} lacks caption(s): {missing[:2]}"


def test_reference_lists_match_and_sit_under_references(renders, doc):
    quarto = renders["quarto"][doc]["parts"]["reference"]
    builtin = renders["builtin"][doc]["parts"]["reference"]
    assert quarto == builtin and len(builtin) >= (10 if doc == "report" else 5)
    for who in ("quarto", "builtin"):
        pdf = renders[who][doc]["pdf"]
        # numbered (vancouver.csl), under "References", not Typst's "Bibliography" at the end
        assert "Bibliography" not in pdf
        refs_at = pdf.index("\nReferences\n")
        listing = _squash(pdf[refs_at:])
        for number, entry in enumerate(builtin, start=1):
            assert _squash(f"{number}. {entry}") in listing or _squash(entry) in listing, (who, number)


def test_html_title_and_byline(renders, doc):
    """Issue 21: Quarto's <title> was "report"; the built-in renderer's byline sat after the
    table of contents. Both: the title of the study (the supplement's own), byline under it."""
    for who in ("quarto", "builtin"):
        html = renders[who][doc]["html"]
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        expected = "Supplementary material" if doc == "supplement" else "Cytokine release syndrome, ICANS"
        assert _norm(title).startswith(expected), (who, title)
        body = html.split("<body", 1)[1]
        byline, heading, toc = (body.find('class="byline"'), body.find('class="title"'), body.find('id="TOC"'))
        assert heading < byline, who
        main_toc = toc if 'id="quarto-margin-sidebar"' not in body[: max(toc, 0)] else -1
        assert main_toc == -1 or byline < main_toc, (who, "byline after the contents")


def test_layout_of_quartos_pdfs(renders, doc):
    """The layout rules of tests/layout.py (tables on consecutive pages with their header
    repeated, figures after their first mention, no paragraph cut by a float) hold in
    Quarto's PDF as in the built-in renderer's: tests/test_layout.py checks the same
    bundled render with the same call, layout_problems(html, pdf, supplement)."""
    problems = layout_problems(
        renders["quarto"][doc]["html_path"], renders["quarto"][doc]["pdf_path"], supplement=doc == "supplement"
    )
    assert not problems, "quarto:\n" + "\n".join(problems)


def test_both_renderers_report_the_same_journal_counts(renders, doc):
    if doc != "report":
        return
    lines = {
        who: [ln for ln in renders[who]["log"].splitlines() if ln.startswith("manuscript: ")]
        for who in ("quarto", "builtin")
    }
    assert lines["quarto"] == lines["builtin"] and len(lines["builtin"]) == 1, lines
    assert "to be completed" not in renders["builtin"]["log"]  # the demo declares everything


def test_no_clipped_table_in_either_pdf(renders, doc):
    """Checked on Quarto's PDF before the fix: 30 overprinted positions on the page of the
    300-row appendix table; none after (and none in the built-in renderer's PDF)."""
    for who in ("quarto", "builtin"):
        assert renders[who][doc]["pdf_misplaced"] == [], who


#: A page pointer of the STROBE checklist ("M 11", "M 2, S 4"): each renderer's own PDF pages,
#: which may differ by a line of text at a page break, so not compared across renderers.
_PAGE_CELL = re.compile(r"^[MS] \d+(?:, [MS] \d+)*$")


def test_last_row_of_every_table_in_both_pdfs(renders, doc):
    """The last row of each table (HTML) is in its renderer's PDF text, its cells in order, and
    the two renderers' rows agree (the STROBE checklist's page pointers aside: each points into
    its own renderer's PDF)."""

    def unpaged(rows):
        return [["" if _PAGE_CELL.match(cell) else cell for cell in row] for row in rows]

    assert unpaged(renders["builtin"][doc]["parts"]["last_rows"]) == unpaged(
        renders["quarto"][doc]["parts"]["last_rows"]
    )
    assert len(renders["builtin"][doc]["parts"]["last_rows"]) >= 3
    for who in ("quarto", "builtin"):
        text = _squash(renders[who][doc]["pdf"])
        for row in renders[who][doc]["parts"]["last_rows"]:
            missing = cells_in_order(row, text)
            assert missing is None, f"{who} PDF: last row {row} — cell {missing!r} not found"
