"""The manuscript and its supplement as their sources say: what each holds, numbered.

The report is two documents rendered together: the manuscript (``report.qmd``) and the
supplement (``supplement.qmd``), each including its sections from ``sections/``. Each is
rendered on its own, so neither renderer can resolve a cross-reference from one to the
other; the numbers come from here instead. :func:`scan` reads a document's sources
(following ``{{< include >}}``, leaving out conditional content that the report's flags
hide, as the renderers do) and lists its figures, tables and sections in order, with the
numbers the renderers give them (the supplement's ``crossref: tbl-labels`` S1, S2, ...).

``text.ref("tbl-centers")`` in the manuscript then prints "Supplementary Table S3", and in
the supplement ``text.ref("tbl-cox")`` prints "Table 4 of the manuscript".

Headings may carry ``strobe="6a 6b"``: the STROBE items the section meets
(:mod:`analysis.report.strobe` builds the checklist from them); ``"13b:partial"`` says the
item is only partly met. Inside a section, an empty span ``[]{.strobe items="12c"}`` marks
the very sentence (or, alone in its paragraph after a figure or table, with
``display="fig-flow"``, the display) that meets an item: the checklist then points to its
page. The Lua filter ``filters/strobe-anchors.lua`` turns it into an invisible labeled
heading ``<strobe-12c>`` in the PDF (both renderers run it), whose page the renderers pass
on as they pass the headings'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: The project folder: the documents sit at its root.
PROJECT_DIR = Path(__file__).resolve().parents[2]
MANUSCRIPT = "report.qmd"
SUPPLEMENT = "supplement.qmd"
#: The two documents of the lymphoma and myeloma profiles (analysis.registry.diseases).
DISEASE_DOCUMENTS = ("report-disease.qmd", "supplement-disease.qmd")
#: The role of each document in a sentence or a checklist: "report" (the manuscript) or
#: "supplement", whatever its file is called.
REPORT, SUPPLEMENT_ROLE = "report", "supplement"

_INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(.*?)\s*$")
_DIV_OPEN = re.compile(r"^(:{3,})\s*\{(.*)\}\s*$")
_DIV_OPEN_BARE = re.compile(r"^(:{3,})\s*[^\s{}:]+\s*$")
_DIV_CLOSE = re.compile(r"^(:{3,})\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^{}]*\})?\s*$")
_ATTR = re.compile(r"""#([\w:.-]+)|\.([\w-]+)|([\w-]+)=("[^"]*"|'[^']*'|\S+)""")
_WHEN = re.compile(r"""when-meta=["']?([\w.-]+)""")
_ANCHOR = re.compile(r"\[\]\{\.strobe\s+([^{}]*)\}")
#: The mark of an item only partly met: ``strobe="13b:partial"``.
PARTIAL = ":partial"


def _strobe_tokens(spec: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"13a 13b:partial"`` -> (("13a", "13b"), ("13b",)): the items, and those partly met."""
    tokens = spec.split()
    return tuple(t.removesuffix(PARTIAL) for t in tokens), tuple(
        t.removesuffix(PARTIAL) for t in tokens if t.endswith(PARTIAL)
    )


def anchor_label(item: str) -> str:
    """The label of the anchor of a STROBE item in a PDF: ``strobe-12c``."""
    return f"strobe-{item}"


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    ident: str | None
    number: str | None  # "2.1"; None when unnumbered
    strobe: tuple[str, ...] = ()  # STROBE items the section meets: ("6a", "6b")
    partial: tuple[str, ...] = ()  # of those, the items only partly met


@dataclass(frozen=True)
class Anchor:
    """``[]{.strobe items="12c"}``: where in a section a STROBE item is met."""

    items: tuple[str, ...]
    partial: tuple[str, ...]
    heading: int | None  # index of the heading it is under (None: before the first)
    display: str | None = None  # the figure or table it marks ("fig-flow")


@dataclass(frozen=True)
class Float:
    label: str  # "tbl-centers"
    kind: str  # "fig" | "tbl"
    number: str  # "3" or "S3"


@dataclass(frozen=True)
class Document:
    """One document's numbered contents, in order."""

    name: str  # "report" | "supplement"
    headings: tuple[Heading, ...]
    floats: tuple[Float, ...]
    anchors: tuple[Anchor, ...] = ()

    def float(self, label: str) -> Float | None:
        return next((f for f in self.floats if f.label == label), None)

    def heading(self, ident: str) -> Heading | None:
        return next((h for h in self.headings if h.ident == ident), None)

    @property
    def n_displays(self) -> int:
        """Figures and tables (a figure of several panels counts once, as journals count)."""
        return len(self.floats)


def _attrs(spec: str | None) -> tuple[str | None, list[str], dict[str, str]]:
    ident, classes, attrs = None, [], {}
    for m in _ATTR.finditer(spec or ""):
        if m.group(1):
            ident = m.group(1)
        elif m.group(2):
            classes.append(m.group(2))
        elif m.group(3):
            attrs[m.group(3)] = m.group(4).strip("\"'")
    return ident, classes, attrs


def _flag(meta: Mapping, dotted: str) -> bool:
    value: object = meta
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return value is True


def _lines(path: Path, seen: tuple[Path, ...] = ()) -> list[str]:
    if path in seen:
        raise ValueError(f"{path} includes itself")
    out = []
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".qmd" and text.startswith("---\n"):
        end = text.find("\n---", 4)
        text = text[end + 4 :] if end > 0 else text
    for line in text.split("\n"):
        m = _INCLUDE.match(line.strip())
        if m:
            out += _lines((path.parent / m.group(1)).resolve(), (*seen, path))
        else:
            out.append(line)
    return out


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return yaml.safe_load(text[4:end]) or {} if end > 0 else {}


def _labels(value) -> list[str] | None:
    """`crossref: tbl-labels` as the renderers read it: "[S1]{}[S2]{}" -> ['S1', 'S2']."""
    if not isinstance(value, str) or value == "arabic":
        return None
    return re.findall(r"\[([^\[\]]+)\]\{\}", value) or None


def scan(path: Path | str, flags: Mapping | None = None, show_all: bool = False) -> Document:
    """The figures, tables and headings of a document, numbered as the renderers number them.

    ``flags``: the metadata the conditional content reads (``{"cartox": {"kinetics": True}}``);
    a div ``.content-visible when-meta="cartox.kinetics"`` is kept only when it is true
    (``show_all``: every conditional div is kept, to list every label the sources have).
    """
    path = Path(path)
    flags = flags or {}
    crossref = _front_matter(path).get("crossref") or {}
    labels = {kind: _labels(crossref.get(f"{kind}-labels")) for kind in ("fig", "tbl")}
    counters = {"fig": 0, "tbl": 0}
    floats: list[Float] = []
    raw_headings: list[tuple[int, str, str | None, bool, str]] = []
    anchors: list[Anchor] = []
    shown = [True]  # per open div: is its content shown (and every enclosing div's)
    fence: str | None = None
    in_cell = False

    def add_float(label: str) -> None:
        kind = label.split("-")[0]
        counters[kind] += 1
        n = counters[kind]
        names = labels[kind]
        floats.append(Float(label, kind, names[n - 1] if names and n <= len(names) else str(n)))

    for line in _lines(path):
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
                fence, in_cell = None, False
            elif in_cell and shown[-1] and line.startswith("#|"):
                m = re.match(r"#\|\s*label:\s*(\S+)", line)
                if m and m.group(1).split("-")[0] in counters:
                    add_float(m.group(1))
            continue
        m = _FENCE.match(line.strip())
        if m:
            fence, in_cell = m.group(1), m.group(2).startswith("{python")
            continue
        m = _DIV_OPEN.match(line.strip())
        if m:
            ident, classes, attrs = _attrs(m.group(2))
            visible = shown[-1]
            if "content-visible" in classes or "content-hidden" in classes:
                when = _WHEN.search(m.group(2))
                on = _flag(flags, when.group(1)) if when else False
                visible = visible and (show_all or (on if "content-visible" in classes else not on))
            shown.append(visible)
            if visible and ident and ident.split("-")[0] in counters:
                add_float(ident)
            continue
        if _DIV_OPEN_BARE.match(line.strip()) and not _DIV_CLOSE.match(line.strip()):
            shown.append(shown[-1])
            continue
        if _DIV_CLOSE.match(line.strip()):
            if len(shown) > 1:
                shown.pop()
            continue
        if not shown[-1]:
            continue
        m = _HEADING.match(line)
        if m:
            ident, classes, attrs = _attrs(m.group(3))
            raw_headings.append(
                (len(m.group(1)), m.group(2).strip(), ident, "unnumbered" in classes, attrs.get("strobe", ""))
            )
            continue
        for a in _ANCHOR.finditer(line):
            _, _, attrs = _attrs(a.group(1))
            items, partial = _strobe_tokens(attrs.get("items", ""))
            anchors.append(
                Anchor(items, partial, len(raw_headings) - 1 if raw_headings else None, attrs.get("display"))
            )
    # section numbers as the renderers give them (number-sections: the shallowest numbered
    # level is the first number)
    numbered = [h for h in raw_headings if not h[3]]
    top = min((h[0] for h in numbered), default=1)
    levels: list[int] = []
    headings = []
    for level, title, ident, unnumbered, spec in raw_headings:
        number = None
        if not unnumbered:
            depth = max(level - top, 0)
            levels = levels[: depth + 1]
            while len(levels) < depth + 1:
                levels.append(0)
            levels[depth] += 1
            number = ".".join(str(n) for n in levels)
        strobe, partial = _strobe_tokens(spec)
        headings.append(Heading(level, title, ident, number, strobe, partial))
    anchored = [item for a in anchors for item in a.items]
    twice = sorted({item for item in anchored if anchored.count(item) > 1})
    if twice:
        raise ValueError(
            f"{path.name}: STROBE item(s) {', '.join(twice)} anchored more than once ([]{{.strobe items=...}}): "
            "an item has one anchor per document (the section headings may claim it too)"
        )
    return Document(path.stem, tuple(headings), tuple(floats), tuple(anchors))


@dataclass(frozen=True)
class Documents:
    """The manuscript and the supplement of one render (the same flags for both)."""

    manuscript: Document
    supplement: Document
    #: The document the text is written in, by its role: "report" (the manuscript) or "supplement".
    current: str = "report"
    pages: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: labels of the sources that the flags hide (a hidden figure takes no number)
    hidden: frozenset[str] = frozenset()

    def ref(self, label: str) -> str:
        """'Table 2', 'Supplementary Table S3'; from the supplement, 'Table 2 of the manuscript'.

        A section: 'Section 2.4', 'Section 3 of the supplement' or 'Section 2.4 of the manuscript'."""
        for doc in (self.manuscript, self.supplement):
            item = doc.float(label)
            if item is not None:
                name = {"fig": "Figure", "tbl": "Table"}[item.kind]
                return self._where(doc, f"{name} {item.number}")
            heading = doc.heading(label)
            if heading is not None and heading.number is not None:
                name = f"Section {heading.number}"
                if self.role(doc) != self.current:
                    return f"{name} of the {'supplement' if doc is self.supplement else 'manuscript'}"
                return name
        if label in self.hidden:
            # in a part of the documents this report leaves out (no kinetics table, not the
            # demo): the sentence that names it is left out with it
            return f"[{label}: not shown in this report]"
        known = [f.label for d in (self.manuscript, self.supplement) for f in d.floats]
        known += [h.ident for d in (self.manuscript, self.supplement) for h in d.headings if h.ident]
        raise KeyError(
            f"no figure, table or numbered section {label!r} in either document; the labels are: {', '.join(known)}"
        )

    def role(self, doc: Document) -> str:
        """'report' for the manuscript, 'supplement' for the supplement (their files' names aside)."""
        return SUPPLEMENT_ROLE if doc is self.supplement else REPORT

    def _where(self, doc: Document, name: str) -> str:
        if self.role(doc) == self.current:
            return name
        if doc is self.supplement:
            return f"Supplementary {name}"
        return f"{name} of the manuscript"


def _structural_lines(lines: list[str]) -> list[str]:
    """The lines of a document (includes expanded) that :func:`scan` reads: code fences,
    the ``#| label:`` options of its cells, divs opening (with their ids, classes and
    conditions) and closing, and headings (with their attributes). Prose is left out."""
    out = []
    fence: str | None = None
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = None
                out.append(line)
            elif line.startswith("#|") and re.match(r"#\|\s*label:", line):
                out.append(line)
            continue
        m = _FENCE.match(stripped)
        if m:
            fence = m.group(1)
            out.append(line)
        elif _DIV_OPEN.match(stripped) or _DIV_OPEN_BARE.match(stripped) or _DIV_CLOSE.match(stripped):
            out.append(line)
        elif _HEADING.match(line):
            out.append(line)
    return out


def structure_digest(project_dir: Path | None = None) -> str:
    """SHA-256 of everything :func:`documents` reads from the sources of both documents (their
    ``crossref`` labels and :func:`_structural_lines`, includes followed): what ``text.ref``
    and the STROBE checklist print depends on it, and on the flags and pages the setup
    computes. The renderer's cache keys the chunks and inline expressions on it, so that an
    edit that moves a figure, a table or a section (swapping two includes) re-executes what
    prints their numbers, while an edit of prose leaves it unchanged."""
    import hashlib
    import json

    folder = Path(project_dir) if project_dir is not None else PROJECT_DIR
    parts: dict[str, object] = {}
    for name in (MANUSCRIPT, SUPPLEMENT):
        path = folder / name
        try:
            crossref = _front_matter(path).get("crossref") or {}
            parts[name] = {"crossref": crossref, "lines": _structural_lines(_lines(path.resolve()))}
        except (OSError, ValueError, yaml.YAMLError) as exc:  # absent or unreadable: the renderer reports it
            parts[name] = f"unreadable: {type(exc).__name__}"
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()


def documents(
    flags: Mapping[str, bool],
    current: str = "report",
    project_dir: Path | None = None,
    pages: Mapping[str, Mapping[str, int]] | None = None,
    files: tuple[str, str] = (MANUSCRIPT, SUPPLEMENT),
) -> Documents:
    """Both documents of the project, scanned with the report's ``cartox`` flags; ``files``: the
    manuscript's and the supplement's (:data:`DISEASE_DOCUMENTS` for the LBCL and MM reports)."""
    folder = Path(project_dir) if project_dir is not None else PROJECT_DIR
    meta = {"cartox": dict(flags)}
    shown = [scan(folder / files[0], meta), scan(folder / files[1], meta)]
    every = [scan(folder / files[0], show_all=True), scan(folder / files[1], show_all=True)]
    labels = {f.label for d in every for f in d.floats} | {h.ident for d in every for h in d.headings if h.ident}
    visible = {f.label for d in shown for f in d.floats} | {h.ident for d in shown for h in d.headings if h.ident}
    return Documents(shown[0], shown[1], current, pages or {}, frozenset(labels - visible))
