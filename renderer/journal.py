"""What a journal counts, read from a rendered manuscript: words of the abstract and of the
main text, the number of displays, and the placeholders still to be completed.

The manuscript says what to count against: an invisible element of its HTML,
``<div id="cartox-journal" data-abstract-words="300" data-main-text-words="4000"
data-displays="8">`` (the study file's ``journal:`` limits). Counting follows the usual
rules of journals (and of a word processor's count): words are the whitespace-separated
tokens with a letter or digit, a "[to be completed: …]" placeholder not counted (the study
file's gap, not the authors' words); the abstract is the section ``#sec-abstract`` without its
heading; the main text is every paragraph of the numbered sections from the
Introduction to the end of the Discussion — headings, figure and table captions, tables,
notes, declarations and references are not counted. A display is a figure or table with
a cross-reference label (a figure's panels count once). Both renderers print the counts
and a warning for each limit exceeded, the data-quality caveats the manuscript carries on the
same element (``data-caveats``: a workbook sheet with the same table not read, percentages
recorded as fractions), and list the "[to be completed: …]" placeholders of every document
at the end of the render.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

PLACEHOLDER_RE = re.compile(r"\[to be completed: ([^\[\]]+)\]")
#: The sections of the main text: the Introduction to the Discussion (ids of level-1 headings).
MAIN_FIRST, MAIN_LAST = "sec-introduction", "sec-discussion"
WORD_RE = re.compile(r"\S*[^\W_]\S*")
_SKIP_CLASSES = {
    "cx-figure",
    "cx-table",
    "cx-caption",
    "quarto-float",
    "quarto-figure",
    "callout",
    "callout-warning",
    "references",
    "csl-bib-body",
    "byline",
}


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Counts:
    abstract_words: int = 0
    main_text_words: int = 0
    displays: int = 0
    limits: dict = field(default_factory=dict)  # "abstract_words" -> 300, ...
    placeholders: list = field(default_factory=list)
    #: the data-quality caveats of the export (a sheet not read, percentages as fractions)
    caveats: str = ""

    def lines(self) -> list[str]:
        """The render's report: the counts, then one warning per limit exceeded."""

        def against(value, key, unit):
            limit = self.limits.get(key)
            return f"{value:,} {unit}" + (f" (limit {limit:,})" if limit else "")

        out = [
            f"manuscript: abstract {against(self.abstract_words, 'abstract_words', 'words')}, "
            f"main text {against(self.main_text_words, 'main_text_words', 'words')}, "
            f"{against(self.displays, 'displays', 'figures and tables')}"
        ]
        names = {
            "abstract_words": ("the abstract", "words", self.abstract_words),
            "main_text_words": ("the main text", "words", self.main_text_words),
            "displays": ("the manuscript", "figures and tables", self.displays),
        }
        for key, (what, unit, value) in names.items():
            limit = self.limits.get(key)
            if limit and value > limit:
                out.append(
                    f"warning: {what} has {value:,} {unit}, over the journal's limit of {limit:,} "
                    f"(study file: journal: {key})"
                )
        return out


#: A Markdown backslash escape (``\(``, ``\/``): what the document's text escapes as Markdown.
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def console_text(markdown: str) -> str:
    """Markdown text as a terminal shows it: the backslash escapes of punctuation removed
    (attack 28b: the warning printed a reason as 'consent withdrawn \\(n\\/a\\)')."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set, str]] = []
        self.limits: dict = {}
        self.caveats = ""  # what the data-quality section says about reading the export
        self.section: str | None = None  # id of the current level-1 section
        self.level1: list[str] = []
        self.words = {"abstract": 0, "main": 0}
        self.ids: list[str] = []
        self.in_p = 0
        self.buffer: list[str] = []
        self.text: list[str] = []
        self._skip_text = 0

    def _skipped(self) -> bool:
        return any(
            classes & _SKIP_CLASSES or tag in ("figure", "table", "figcaption", "nav", "header")
            for tag, classes, _ in self.stack
        )

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        ident = a.get("id") or ""
        if ident == "cartox-journal":
            for key in ("abstract-words", "main-text-words", "displays"):
                value = a.get(f"data-{key}")
                if value and value.isdigit():
                    self.limits[key.replace("-", "_")] = int(value)
            if a.get("data-caveats"):
                self.caveats = a["data-caveats"]
        if ident.startswith(("fig-", "tbl-")):
            self.ids.append(ident)
        if tag in ("script", "style"):
            self._skip_text += 1
        if tag == "section" and "level1" in classes:  # both renderers: <section id=.. class="level1">
            self.section = ident
            self.level1.append(ident)
        if tag in _VOID:
            return
        self.stack.append((tag, classes, ident))
        if tag == "p" and not self._skipped():
            self.in_p += 1
            self.buffer = []

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip_text:
            self._skip_text -= 1
        if not any(t == tag for t, _, _ in self.stack):
            return  # an end tag without its start (or of a void element): nothing to close
        while self.stack:
            t, classes, ident = self.stack.pop()
            if t == "p" and self.in_p:
                self.in_p -= 1
                self._count(" ".join(self.buffer))
            if t == tag:
                break

    def _count(self, text: str) -> None:
        # a "[to be completed: …]" is the study file's gap, not the authors' words: not counted
        n = len(WORD_RE.findall(PLACEHOLDER_RE.sub(" ", re.sub(r"\s+", " ", text))))
        if self.section == "sec-abstract":
            self.words["abstract"] += n
        elif self.section in self._main_sections():
            self.words["main"] += n

    def _main_sections(self) -> set:
        order = self.level1
        if MAIN_FIRST not in order:
            return set()
        start = order.index(MAIN_FIRST)
        end = order.index(MAIN_LAST) if MAIN_LAST in order else len(order) - 1
        # sections are read in order: the main text is every one from the first to the last seen so far
        return set(order[start : end + 1]) if MAIN_LAST in order else set(order[start:])

    def handle_data(self, data):
        if self._skip_text:
            return
        self.text.append(data)
        if self.in_p:
            self.buffer.append(data)


def count(html: Path | str) -> Counts:
    """The journal's counts of a rendered manuscript's HTML (see the module docstring)."""
    reader = _Reader()
    reader.feed(Path(html).read_text(encoding="utf-8"))
    reader.close()
    ids = {i for i in reader.ids if "-caption" not in i}
    displays = [i for i in ids if not (re.fullmatch(r".+-\d+", i) and i.rsplit("-", 1)[0] in ids)]
    return Counts(
        reader.words["abstract"],
        reader.words["main"],
        len(displays),
        reader.limits,
        placeholders(" ".join(reader.text)),
        reader.caveats,
    )


def placeholders(text: str) -> list[str]:
    """The distinct "[to be completed: …]" of a text, in order; the form itself, quoted with an
    ellipsis where the documents explain it ('each shows as "[to be completed: …]"'), is no
    placeholder (review 29: it was counted as the 15th of 14)."""
    found = (m.group(1).strip() for m in PLACEHOLDER_RE.finditer(re.sub(r"\s+", " ", text)))
    return list(dict.fromkeys(p for p in found if p.strip(" .…")))


def _document_text(path: Path) -> str:
    """The text of a PDF or DOCX output (for its placeholders when no HTML was rendered)."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return " ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    if path.suffix == ".docx":
        import zipfile

        with zipfile.ZipFile(path) as docx:
            xml = docx.read("word/document.xml").decode("utf-8", "replace")
        return html.unescape(re.sub(r"<[^>]+>", " ", xml))
    return ""


def report(produced: list[Path], progress) -> Counts | None:
    """Print the manuscript's counts and warnings and every document's placeholders, from the
    HTML files a render produced; without an HTML (``--to pdf``), the placeholders from the
    PDF or DOCX and a line saying the counts need the HTML (review 30: they were skipped in
    silence)."""
    counts = None
    found: list[str] = []
    htmls = [path for path in produced if path.suffix == ".html"]
    for path in htmls:
        c = count(path)
        if c.limits and counts is None:
            counts = c
            for line in c.lines():
                progress(line)
            if c.caveats:
                progress(f"warning: data quality (the supplement's Data quality section): {console_text(c.caveats)}")
        found += [p for p in c.placeholders if p not in found]
    if not htmls:
        for path in produced:
            if path.suffix == ".pdf" or (path.suffix == ".docx" and path.with_suffix(".pdf") not in produced):
                found += [p for p in placeholders(_document_text(path)) if p not in found]
        if produced:
            progress(
                "word and display counts not checked: they are read from the HTML output "
                "(render with --to html as well, e.g. --to html,pdf)"
            )
    if found:
        progress(f"to be completed before submission ({len(found)}), in the study file:")
        for item in found:
            progress(f"  - {item}")
    return counts
