"""The STROBE checklist of the supplement, generated from the documents.

Each heading of the manuscript (and of the supplement) may say which STROBE items its
section meets: ``## Participants {#sec-participants strobe="6a"}``. :func:`checklist` reads
them from the documents as scanned (:mod:`analysis.report.documents`), so the table follows
the text: a section moved, renamed or renumbered moves its items with it, and an item no
section claims is listed as absent. The page of each section in the manuscript's PDF comes
from the renderers (their ``pages`` parameter); without it, the table gives the sections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analysis.registry.strobe import STROBE_DECLARATIONS, STROBE_ITEMS
from analysis.report.documents import Document, Documents

PRESENT, PLACEHOLDER, ABSENT, NOT_APPLICABLE = "present", "placeholder", "absent", "not applicable"


@dataclass(frozen=True)
class Place:
    document: str  # "report" | "supplement": the document's role, whatever its file is called
    label: str  # heading label
    section: str  # "2.1 Study design and setting" or "Abstract"
    page: int | None  # in that document's PDF, when known


@dataclass(frozen=True)
class ChecklistRow:
    item: str  # "6a"
    topic: str
    recommendation: str
    places: tuple[Place, ...]
    status: str  # PRESENT | PLACEHOLDER | ABSENT | NOT_APPLICABLE
    note: str = ""  # what is missing, or why the item does not apply


def _places(doc: Document, item: str, pages: Mapping[str, int], role: str) -> list[Place]:
    out = []
    for h in doc.headings:
        if item in h.strobe:
            section = f"{h.number} {h.title}" if h.number else h.title
            out.append(Place(role, h.ident or "", section, pages.get(h.ident or "")))
    return out


def checklist(docs: Documents, missing_declarations: Iterable[str] = ()) -> list[ChecklistRow]:
    """One row per STROBE item: where the documents meet it, with the page when known, and
    its status: present, a visible placeholder (a declaration the study file has not given
    yet: ``missing_declarations``, keys of the study file's ``declarations:``), absent, or
    not applicable."""
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
        else:
            status, note = PRESENT, ""
        rows.append(ChecklistRow(key, item.topic, item.recommendation, tuple(places), status, note))
    return rows
