"""The STROBE checklist of the supplement, generated from the documents.

Each heading of the manuscript (and of the supplement) may say which STROBE items its
section meets: ``## Participants {#sec-participants strobe="6a"}``, and an anchor
``[]{.strobe items="12c"}`` marks the sentence (or the display) within a section that meets
an item. :func:`checklist` reads them from the documents as scanned
(:mod:`analysis.report.documents`), so the table follows the text: a section or sentence
moved, renamed or renumbered moves its items with it, and an item nothing claims is listed
as absent. The page of each place in the manuscript's PDF (the anchor's page where there is
one, else the section heading's) comes from the renderers (their ``pages`` parameter);
without it, the table gives the sections. An item claimed as ``"13b:partial"`` is only
partly met: its status says what is missing (:data:`STROBE_PARTIAL`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analysis.registry.strobe import STROBE_DECLARATIONS, STROBE_ITEMS, STROBE_PARTIAL
from analysis.report.documents import Document, Documents, anchor_label

PRESENT, PARTIAL, PLACEHOLDER, ABSENT, NOT_APPLICABLE = "present", "partial", "placeholder", "absent", "not applicable"


@dataclass(frozen=True)
class Place:
    document: str  # "report" | "supplement": the document's role, whatever its file is called
    label: str  # the label whose page is given: the item's anchor, else the section heading
    section: str  # "2.1 Study design and setting" or "Abstract"
    page: int | None  # in that document's PDF, when known
    display: str | None = None  # "Figure 1": the display the anchor marks
    partial: bool = False  # the place meets the item only in part


@dataclass(frozen=True)
class ChecklistRow:
    item: str  # "6a"
    topic: str
    recommendation: str
    places: tuple[Place, ...]
    status: str  # PRESENT | PLACEHOLDER | ABSENT | NOT_APPLICABLE
    note: str = ""  # what is missing, or why the item does not apply


def _places(doc: Document, item: str, pages: Mapping[str, int], role: str) -> list[Place]:
    """The sections of ``doc`` (the document of ``role``) that claim ``item``, by heading
    attribute or by an anchor in them; a section's page is its anchor's when the item is
    anchored there."""
    out = []
    for index, h in enumerate(doc.headings):
        anchor = next((a for a in doc.anchors if item in a.items and a.heading == index), None)
        if item not in h.strobe and anchor is None:
            continue
        section = f"{h.number} {h.title}" if h.number else h.title
        label = anchor_label(item) if anchor is not None else (h.ident or "")
        display = None
        if anchor is not None and anchor.display:
            shown = doc.float(anchor.display)
            if shown is None:
                raise KeyError(f"STROBE anchor of {item}: no figure or table {anchor.display!r} in {doc.name}")
            display = f"{'Figure' if shown.kind == 'fig' else 'Table'} {shown.number}"
        partial = item in h.partial or (anchor is not None and item in anchor.partial)
        out.append(Place(role, label, section, pages.get(label), display, partial))
    return out


def checklist(docs: Documents, missing_declarations: Iterable[str] = ()) -> list[ChecklistRow]:
    """One row per STROBE item: where the documents meet it, with the page when known, and
    its status: present, partial (a place claims it only in part: what is missing is the
    note), a visible placeholder (a declaration the study file has not given yet:
    ``missing_declarations``, keys of the study file's ``declarations:``), absent, or not
    applicable."""
    missing = set(missing_declarations)
    rows = []
    for key, item in STROBE_ITEMS.items():
        places = _places(docs.manuscript, key, docs.pages.get(docs.manuscript.name, {}), "report") + _places(
            docs.supplement, key, docs.pages.get(docs.supplement.name, {}), "supplement"
        )
        gaps = [d for d in STROBE_DECLARATIONS.get(key, ()) if d in missing]
        if item.not_applicable:
            status, note = NOT_APPLICABLE, item.not_applicable
        elif not places:
            status, note = ABSENT, "no section of the manuscript or the supplement claims it"
        elif gaps:
            status, note = PLACEHOLDER, "to be completed in the study file: " + ", ".join(gaps)
        elif any(p.partial for p in places):
            status, note = PARTIAL, STROBE_PARTIAL.get(key, "only partly met")
        else:
            status, note = PRESENT, ""
        rows.append(ChecklistRow(key, item.topic, item.recommendation, tuple(places), status, note))
    return rows
