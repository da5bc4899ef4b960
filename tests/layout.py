"""Where things land on the pages of a rendered PDF (issue 21): the page of each table's first
and last row, of each figure and its first mention, and whether a float cut a paragraph.

Shared by tests/test_layout.py (the built-in renderer) and tests/test_quarto_parity.py (real
Quarto). Texts are compared "squashed" (no whitespace or hyphens: PDF extraction breaks
lines and words), page by page with pypdf.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
FLOAT_CLASSES = {"cx-figure", "cx-table", "quarto-float", "quarto-figure", "callout", "references", "csl-bib-body"}


def squash_quotes(text: str) -> str:
    """Typography aside: NFKC, no soft hyphens, plain spaces and straight quotes."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\u00a0", " ")
    return text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))


def squash(text: str) -> str:
    return re.sub(r"[\s\-\u2010\u2011\u2212]+", "", squash_quotes(text))


@dataclass
class HtmlTable:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)


class _Parts(HTMLParser):
    """Paragraphs of the running text (not in figures, tables, callouts or the reference
    list) and every table's header and body rows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set]] = []
        self.paragraphs: list[str] = []
        self.tables: list[HtmlTable] = []
        self.buffer: list[str] | None = None
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.skip = 0

    def _in(self, pred) -> bool:
        return any(pred(t, c) for t, c in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append((tag, classes))
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "p" and not self._in(
            lambda t, c: c & FLOAT_CLASSES or t in ("figure", "table", "nav", "header", "footer", "figcaption")
        ):
            self.buffer = []
        elif tag == "table":
            self.tables.append(HtmlTable([]))
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t in ("script", "style"):
                self.skip -= 1
            elif t == "p" and self.buffer is not None:
                text = re.sub(r"\s+", " ", "".join(self.buffer)).strip()
                if text:
                    self.paragraphs.append(text)
                self.buffer = None
            elif t in ("td", "th") and self.cell is not None and self.row is not None:
                self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
                self.cell = None
            elif t == "tr" and self.row is not None and self.tables:
                in_head = any(tt == "thead" for tt, _ in self.stack)
                if any(tt == "tfoot" for tt, _ in self.stack):
                    pass  # footnotes (great-tables' source notes), printed as a paragraph in the PDF
                elif in_head:
                    self.tables[-1].header = self.row  # the last header row: the column labels
                elif any(self.row):
                    self.tables[-1].rows.append(self.row)
                self.row = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        if self.buffer is not None:
            self.buffer.append(data)
        if self.cell is not None:
            self.cell.append(data)


def html_parts(path: Path) -> _Parts:
    parts = _Parts()
    parts.feed(Path(path).read_text(encoding="utf-8"))
    parts.close()
    return parts


@functools.lru_cache(maxsize=64)
def _page_texts(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    from pypdf import PdfReader

    return tuple(page.extract_text() or "" for page in PdfReader(path).pages)


def pdf_pages(path: Path) -> list[str]:
    """The text of each page, extracted once per version of the file in a test process (pypdf
    takes about a second for the 40-page supplement, and a dozen tests read each rendered PDF)."""
    stat = Path(path).stat()
    return list(_page_texts(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


def _row_page(row: list[str], squashed_pages: list[str]) -> int | None:
    """First page (1-based) on which the row is printed: its cells one after the other; failing
    that, its first two cells (a cell may differ between the HTML and the PDF, e.g. the STROBE
    checklist's page column, which only the PDF knows in full): a row not found would not be
    counted on its page, and a single row left on a page would go unseen."""
    for cells in (row, row[:2]):
        joined = "".join(squash(c) for c in cells)
        found = next((n for n, text in enumerate(squashed_pages, start=1) if joined and joined in text), None)
        if found is not None:
            return found
    return None


@dataclass
class TablePlacement:
    header: list[str]
    first_page: int | None
    last_page: int | None
    header_on: list[int]  # pages (from the first to the last row) whose text holds the header
    row_pages: list[int | None] = field(default_factory=list)  # the page of each body row, in order

    def rows_on(self, page: int) -> int:
        return sum(p == page for p in self.row_pages)


def table_placements(html: Path, pdf: Path) -> list[TablePlacement]:
    """Each HTML table (with body rows) located in the PDF: the page of its first and last row
    and the pages between on which its header is printed again."""
    pages = [squash(p) for p in pdf_pages(pdf)]
    out = []
    for table in html_parts(html).tables:
        # rows with two cells or more: a one-cell group row ("CRS") reads as any other "CRS"
        rows = [r for r in table.rows if sum(bool(squash(c)) for c in r) >= 2]
        if not rows:
            continue
        first = _row_page(rows[0], pages)
        last = _row_page(rows[-1], pages[first - 1 :] if first else pages)
        if first and last:
            last = last + first - 1
        header = "".join(squash(h) for h in table.header)
        on = [p for p in range(first or 0, (last or 0) + 1) if p and header and header in pages[p - 1]]
        row_pages: list[int | None] = []
        at = first or 1
        for row in rows:  # each row on the page of the previous one or a later one
            found = _row_page(row, pages[at - 1 :])
            row_pages.append(None if found is None else found + at - 1)
            at = row_pages[-1] or at
        out.append(TablePlacement(table.header, first, last, on, row_pages))
    return out


def layout_problems(html: Path, pdf: Path, supplement: bool = False) -> list[str]:
    """What breaks the layout rules of issue 21 in one document:

    * a table whose rows run over pages that are not consecutive, or continue on a page
      without its header repeated, or leave a single row (an orphan) on its first or last page;
    * a figure or table printed on a page before the one that first mentions it;
    * a paragraph of the running text cut by something other than a page break.
    """
    problems = []
    pages = pdf_pages(pdf)
    squashed = [squash(p) for p in pages]
    for t in table_placements(html, pdf):
        name = " | ".join(t.header[:3])
        if t.first_page is None or t.last_page is None:
            problems.append(f"table [{name}]: first or last row not found in the PDF")
            continue
        if t.last_page > t.first_page:
            missing = [p for p in range(t.first_page + 1, t.last_page + 1) if p not in t.header_on]
            if missing:
                problems.append(
                    f"table [{name}] runs from page {t.first_page} to {t.last_page} without its "
                    f"header on page(s) {missing} (split across non-adjacent pages?)"
                )
            for page in (t.first_page, t.last_page):
                if t.rows_on(page) == 1:
                    problems.append(f"table [{name}] leaves a single row on page {page} (an orphan row)")
    prefix = "S" if supplement else ""
    for kind in ("Figure", "Table"):
        captions = {}
        for number, text in enumerate(pages, start=1):
            for m in re.finditer(rf"{kind}\s*{prefix}(\d+)\s*:", text):
                captions.setdefault(m.group(1), number)
        for label, caption_page in captions.items():
            mention = rf"(?<!Supplementary ){kind}\s*{prefix}{label}(?![\d:])"
            first = next(
                (
                    n
                    for n, text in enumerate(pages, start=1)
                    if re.search(mention, re.sub(rf"{kind}\s*{prefix}{label}\s*:", "", text))
                ),
                None,
            )
            if first is None:
                if not supplement:  # the supplement's displays may be named only from the manuscript
                    problems.append(f"{kind} {prefix}{label} is never mentioned in the text")
            elif first > caption_page:
                problems.append(
                    f"{kind} {prefix}{label} is on page {caption_page}, before its first mention (page {first})"
                )

    def spaced(text: str) -> str:
        return re.sub(r"\s+", " ", squash_quotes(text)).strip()

    lines = {spaced(line) for page in pages for line in page.splitlines()}
    for table in html_parts(html).tables:
        for row in table.rows:
            label = spaced(row[0]) if row else ""
            if label and not any(c.strip() for c in row[1:]) and not any(label in line for line in lines):
                problems.append(f"a group row's label is broken over lines, its end reads as a row of its own: {label}")
    joined = "".join(squashed)
    for paragraph in html_parts(html).paragraphs:
        needle = squash(paragraph)
        if len(needle) < 40 or needle in joined:
            continue
        if not _split_only_by_page_numbers(needle, joined):
            problems.append(f"paragraph cut by something other than a page break: {paragraph[:90]}...")
    return problems


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _split_only_by_page_numbers(needle: str, text: str) -> bool:
    """``needle`` in ``text`` in pieces separated only by a page number (digits): a paragraph
    that continues on the next page, not one a figure or table was put into."""
    lo, hi = 0, len(needle)
    while lo < hi:  # the longest prefix of needle found anywhere
        mid = (lo + hi + 1) // 2
        if text.find(needle[:mid]) >= 0:
            lo = mid
        else:
            hi = mid - 1
    if lo < 12:
        return False
    for start in [m.start() for m in re.finditer(re.escape(needle[:lo]), text)]:
        rest, at = needle[lo:], start + lo
        while rest:
            # the next piece must follow at once, or after a page number of up to 4 digits
            best = max(
                (_common_prefix(rest, text[at + k :]), k) for k in range(5) if re.fullmatch(r"\d*", text[at : at + k])
            )
            if best[0] < min(8, len(rest)):
                break
            rest, at = rest[best[0] :], at + best[1] + best[0]
        else:
            return True
    return False


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", squash_quotes(text)).strip()


def wrapped_row_labels(html: Path, pdf: Path, first_tables: int | None = None) -> list[str]:
    """The row labels (first cells) of the HTML tables that the PDF does not print on one line
    (a label wrapped in its column: no line of the page text holds it whole). ``first_tables``:
    only the first so many tables with body rows (Tables 1-3)."""
    lines = {_one_line(line) for page in pdf_pages(pdf) for line in page.splitlines()}
    tables = [t for t in html_parts(html).tables if t.rows]
    out = []
    for number, table in enumerate(tables[:first_tables] if first_tables else tables, start=1):
        for row in table.rows:
            label = _one_line(row[0]) if row else ""
            if len(label) < 2:
                continue
            if not any(label in line for line in lines):
                out.append(f"table {number}: {label!r}")
    return out
