"""Cross-references: numbering figures, tables and sections, and rewriting `@fig-x` refs.

Only the prefixes fig-, tbl- and sec- are cross-references; every other `@key` is a
citation left to pandoc's citeproc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from renderer.errors import RenderError
from renderer.qmd import Cell, Div, Markdown, code_spans

HEADER_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^{}]*\})?\s*$")
KINDS = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
KEY = r"(?:fig|tbl|sec)-[A-Za-z0-9_-]*[A-Za-z0-9_]"
INTEXT_RE = re.compile(r"(?<![\w@\\])(-?)@(" + KEY + r")", re.IGNORECASE)
BRACKET_RE = re.compile(r"\[([^\[\]]*@[^\[\]]*)\](?![(\[{])")
ITEM_RE = re.compile(r"^(.*?)(-?)@([^\s;,\]]+)(.*)$", re.S)


@dataclass
class Target:
    kind: str  # fig | tbl | sec
    number: str
    anchor: str  # id to link to


@dataclass
class Registry:
    targets: dict = field(default_factory=dict)
    header_numbers: dict = field(default_factory=dict)  # id(Line) -> section number

    def add(self, label, kind, number, where, anchor=None):
        if label in self.targets:
            raise RenderError(f"duplicate cross-reference label '{label}'", where)
        self.targets[label] = Target(kind, number, anchor or label)


def _header(line, code, in_callout):
    if code or in_callout:
        return None
    m = HEADER_RE.match(line.text)
    if not m:
        return None
    from renderer.qmd import parse_attrs

    ident, classes, _ = parse_attrs(m.group(3), line.where) if m.group(3) else (None, [], {})
    return len(m.group(1)), ident, "unnumbered" in classes


def is_callout(div):
    return any(c.startswith("callout-") for c in div.classes)


def number(blocks, labels=None):
    """Registry of all fig/tbl/sec targets in document order; `labels`: "fig"/"tbl" -> the
    numbers to give in order (`crossref: tbl-labels`, e.g. a supplement's S1, S2, ...)."""
    reg = Registry()
    counters = {"fig": 0, "tbl": 0}
    labels = labels or {}

    def next_number(kind, where):
        n = counters[kind]
        if kind not in labels:
            return str(n)
        if n > len(labels[kind]):
            raise RenderError(
                f"more {KINDS[kind].lower()}s than the {len(labels[kind])} numbers of crossref: {kind}-labels", where
            )
        return labels[kind][n - 1]

    headers = []  # (line, level, ident, unnumbered)

    def visit(blocks, in_callout):
        for b in blocks:
            if isinstance(b, Markdown):
                for line, code in zip(b.lines, b.code):
                    h = _header(line, code, in_callout)
                    if h:
                        headers.append((line,) + h)
            elif isinstance(b, Cell):
                label = b.label
                if label:
                    kind = label.split("-")[0]
                    if kind not in counters:
                        raise RenderError(f"cell label '{label}' must start with fig- or tbl-", b.line.where)
                    counters[kind] += 1
                    num = next_number(kind, b.line.where)
                    reg.add(label, kind, num, b.line.where)
                    if kind == "fig":
                        for i, _ in enumerate(b.options.get("fig-subcap") or [], start=1):
                            reg.add(f"{label}-{i}", "fig", f"{num}{chr(64 + i)}", b.line.where, anchor=label)
            elif isinstance(b, Div):
                kind = (b.ident or "").split("-")[0]
                if b.ident and kind in counters:
                    for inner in _cells(b.children):
                        if inner.label:
                            raise RenderError(
                                f"cell inside cross-reference div #{b.ident} must not have its own label",
                                inner.line.where,
                            )
                    counters[kind] += 1
                    num = next_number(kind, b.line.where)
                    reg.add(b.ident, kind, num, b.line.where)
                    subcaps = (
                        next(
                            (c.options.get("fig-subcap") for c in _cells(b.children) if c.options.get("fig-subcap")),
                            None,
                        )
                        or []
                    )
                    for i, _ in enumerate(subcaps, start=1):
                        reg.add(f"{b.ident}-{i}", "fig", f"{num}{chr(64 + i)}", b.line.where, anchor=b.ident)
                visit(b.children, in_callout or is_callout(b))

    visit(blocks, False)
    numbered = [h for h in headers if not h[3]]
    top = min((h[1] for h in numbered), default=1)
    levels = []
    for line, level, ident, unnumbered in headers:
        num = None
        if not unnumbered:
            depth = max(level - top, 0)
            levels = levels[: depth + 1]
            while len(levels) < depth + 1:
                levels.append(0)
            levels[depth] += 1
            num = ".".join(str(n) for n in levels)
            reg.header_numbers[(str(line.file), line.lineno)] = num
        if ident and ident.startswith("sec-"):
            reg.add(ident, "sec", num, line.where)  # unnumbered (None): an error only when referenced
    return reg


def _cells(blocks):
    from renderer.qmd import walk

    return [b for b in walk(blocks) if isinstance(b, Cell)]


def _ref_text(reg, key, suppress, where):
    target = reg.targets.get(key) or reg.targets.get(key.lower())
    if target is None:
        raise RenderError(f"unknown cross-reference @{key}", where)
    if target.number is None:
        raise RenderError(f"section #{key} is referenced by label but unnumbered", where)
    text = target.number if suppress else f"{KINDS[target.kind]}\u00a0{target.number}"
    return f"[{text}](#{target.anchor})"


def resolve(text, reg, where):
    """Replace fig/tbl/sec references in a markdown snippet (not inside code spans)."""
    if "@" not in text:
        return text
    spans = code_spans(text)
    out, pos = [], 0
    for start, end in spans + [(len(text), len(text))]:
        out.append(_resolve_plain(text[pos:start], reg, where))
        out.append(text[start:end])
        pos = end
    return "".join(out)


def _is_xref(key):
    return re.fullmatch(KEY, key, re.IGNORECASE) is not None


def _resolve_plain(text, reg, where):
    def bracket(m):
        items = m.group(1).split(";")
        parsed = [ITEM_RE.match(item) for item in items]
        keys = [p.group(3).rstrip(".,:") for p in parsed if p]
        xrefs = [k for k in keys if _is_xref(k)]
        if not xrefs:
            return m.group(0)  # a citation: citeproc's business
        if len(xrefs) != len(keys) or len(keys) != len(items):
            raise RenderError(f"'{m.group(0)}' mixes cross-references and citations", where)
        parts = []
        for p in parsed:
            key = p.group(3)
            trail = ""
            while key and key[-1] in ".,:":
                key, trail = key[:-1], key[-1] + trail
            parts.append(
                p.group(1).strip()
                + (" " if p.group(1).strip() else "")
                + _ref_text(reg, key, p.group(2) == "-", where)
                + trail
                + p.group(4).rstrip()
            )
        return "; ".join(x.strip() for x in parts)

    text = BRACKET_RE.sub(bracket, text)
    return INTEXT_RE.sub(lambda m: _ref_text(reg, m.group(2), m.group(1) == "-", where), text)
