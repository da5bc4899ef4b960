"""Positional check of the printed prose against its source (issue 14, item 5).

The renderer's ``--inline-log`` lists each inline expression it evaluated, with its value,
in document order. Each source paragraph that holds inline expressions is rebuilt with
those values in place, turned into text by Pandoc, and must be one paragraph of the
rendered html, in document order. A value printed in another expression's place (two
verdicts swapped, a stale number) makes its paragraph unmatched, where a search of the
whole page for each value would still find it somewhere.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from conftest import normalise

INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
# Cross-references and citations: resolved by the renderer into "Figure 3", "(12)" etc.,
# left as written by a plain Pandoc conversion; either way not an inline value.
REFERENCE = re.compile(r"\[[^\[\]]*@[^\[\]]*\]|\??@[\w:-]+")
_FENCE = re.compile(r"^\s*(```|:::)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_SEPARATOR = "CARTOXPARAGRAPHSEPARATOR"
_BLOCK_TAGS = {
    "p",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "td",
    "th",
    "div",
    "section",
    "table",
    "tr",
    "ul",
    "ol",
    "blockquote",
    "figure",
    "figcaption",
    "header",
    "footer",
    "aside",
    "nav",
    "body",
    "dd",
    "dt",
    "dl",
    "caption",
    "pre",
}


@dataclass(frozen=True)
class Logged:
    file: str
    line: int
    expression: str
    value: str


def read_inline_log(path: Path) -> list[Logged]:
    return [Logged(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@dataclass
class Paragraph:
    file: str
    first: int  # 1-based source line numbers, inclusive
    last: int
    source: str
    logged: list[Logged]

    @property
    def where(self) -> str:
        return f"{Path(self.file).name}:{self.first}-{self.last}"

    def with_values(self) -> str:
        """The source paragraph with each inline expression replaced by its logged value."""
        values = iter(self.logged)
        return INLINE.sub(lambda m: next(values).value, self.source)


def _paragraph_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) 1-based line ranges of the prose paragraphs (list items apart; code
    chunks and div fences are not prose)."""
    ranges, start, in_code = [], None, False

    def close(end):
        nonlocal start
        if start is not None:
            ranges.append((start, end))
        start = None

    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            close(number - 1)
            in_code = not in_code
            continue
        if in_code or not line.strip() or _FENCE.match(line):
            close(number - 1)
            continue
        if _ITEM.match(line) or line.startswith("#"):
            close(number - 1)
        if start is None:
            start = number
        if line.startswith("#"):
            close(number)
    close(len(lines))
    return ranges


def paragraphs(log: list[Logged]) -> list[Paragraph]:
    """The source paragraphs the logged expressions belong to, in document order."""
    out: list[Paragraph] = []
    sources: dict[str, tuple[list[str], list[tuple[int, int]]]] = {}
    for entry in log:
        if entry.file not in sources:
            lines = Path(entry.file).read_text(encoding="utf-8").splitlines()
            sources[entry.file] = (lines, _paragraph_ranges(lines))
        lines, ranges = sources[entry.file]
        first, last = next(r for r in ranges if r[0] <= entry.line <= r[1])
        if not out or (out[-1].file, out[-1].first) != (entry.file, first):
            out.append(Paragraph(entry.file, first, last, "\n".join(lines[first - 1 : last]), []))
        out[-1].logged.append(entry)
    return out


class _BlockText(HTMLParser):
    """Visible text of an HTML page, one string per block element (paragraph, list item,
    heading, table cell)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] = []
        self._skip = 0

    def _flush(self):
        text = normalise("".join(self._current))
        if text:
            self.blocks.append(text)
        self._current = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS or tag == "br":
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data):
        if not self._skip:
            self._current.append(data)

    def close(self):
        super().close()
        self._flush()


def html_blocks(html: str) -> list[str]:
    parser = _BlockText()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _as_text(markdown_paragraphs: list[str]) -> list[list[str]]:
    """Each markdown paragraph as the text of its html blocks (one Pandoc run for all)."""
    from renderer.pandoc import pandoc_path

    source = f"\n\n{_SEPARATOR}\n\n".join(markdown_paragraphs)
    html = subprocess.run(
        [pandoc_path(), "-f", "markdown", "-t", "html5", "--wrap=none"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out: list[list[str]] = [[]]
    for block in html_blocks(html):
        if block == _SEPARATOR:
            out.append([])
        else:
            out[-1].append(block)
    assert len(out) == len(markdown_paragraphs), "a paragraph separator was lost in the conversion"
    return out


def _pattern(text: str) -> re.Pattern:
    """The paragraph's text with each reference matching whatever it was resolved to."""
    pieces = REFERENCE.split(text)
    return re.compile(".+?".join(re.escape(p) for p in pieces))


def misplaced_prose(log: list[Logged], html: str) -> list[str]:
    """Problems, one per source paragraph not printed as itself (with its logged values in
    place) in the html, in document order; empty when every paragraph is."""
    problems = []
    paras = paragraphs(log)
    for para in paras:
        written = INLINE.findall(para.source)
        logged = [e.expression for e in para.logged]
        if written != logged:
            problems.append(f"{para.where}: logged expressions {logged} differ from the source's {written}")
    if problems:
        return problems
    printed = html_blocks(html)
    position = 0
    for para, expected in zip(paras, _as_text([p.with_values() for p in paras])):
        for block in expected:
            pattern = _pattern(block)
            found = next((i for i in range(position, len(printed)) if pattern.fullmatch(printed[i])), None)
            if found is None:
                problems.append(f"{para.where}: not printed as one paragraph, in order: {block[:300]!r}")
            else:
                position = found + 1
    return problems


def inline_value_problems(
    log: list[Logged],
    html: str,
    namespace: dict,
    kinetics: bool = True,
    reproduction: bool | None = None,
    hsct: bool | None = None,
    document: str = "report",
) -> list[str]:
    """Everything wrong with the inline values of a render, in one list:

    - the log holds, file by file and in order, exactly the inline expressions of the
      sources as rendered (with or without the kinetics section, and the comparison with
      the publication: ``reproduction``, by default as the namespace's ``text`` decides);
    - each logged value is the library's: the expression evaluated here, on results
      computed in this process, gives the same text;
    - each source paragraph is printed as itself, with those values in place, in order.
    """
    from conftest import document_sources, source_text

    if reproduction is None:
        reproduction = namespace["text"].show_reproduction
    if hsct is None:  # the transplant section, as the namespace's text flags it (cartox.hsct)
        hsct = namespace["text"].hsct_analysed
    problems = []
    for path in document_sources(document):
        astct = getattr(namespace["text"], "grading_is_astct", True)
        # the paragraph on the direction of the adjusted HRs, as the text flags it (review 29)
        direction = getattr(namespace["text"], "flags", {}).get("adjusted_direction", False)
        source = source_text(path, kinetics, reproduction, hsct, astct=astct, adjusted_direction=direction)
        written = [INLINE.findall(line) for line in _prose_lines(source)]
        written = [expr for exprs in written for expr in exprs]
        logged = [e.expression for e in log if Path(e.file) == path.resolve()]
        if written != logged:
            problems.append(f"{path.name}: logged expressions {logged} differ from the source's {written}")
    for entry in log:
        value = str(eval(entry.expression, dict(namespace)))  # noqa: S307 - the manuscript's own expressions
        if value != entry.value:
            problems.append(
                f"{Path(entry.file).name}:{entry.line}: {entry.expression} printed {entry.value!r}, "
                f"the library gives {value!r}"
            )
    return problems + misplaced_prose(log, html)


def _prose_lines(text: str) -> list[str]:
    out, in_code = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code:
            out.append(line)
    return out
