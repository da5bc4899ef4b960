"""The manuscript as a journal reads it: the study's declarations (design, setting,
eligibility, ethics, funding...), what is still to be completed, the code availability
statement, and references across the manuscript and its supplement.

What the study file does not declare is printed as a visible "[to be completed: ...]"
(:data:`PLACEHOLDER`) and listed by :attr:`Manuscript.placeholders` (the end of each
document, and the render's last lines)."""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from functools import cached_property
from typing import ClassVar

from analysis import __version__
from analysis.inputs import usertext
from analysis.inputs.provenance import git_commit
from analysis.inputs.studyfile import Declarations, JournalLimits
from analysis.inputs.usertext import MarkdownText
from analysis.report.documents import MANUSCRIPT, PROJECT_DIR, SUPPLEMENT, Documents, documents
from analysis.report.formatting import fmt_count, fmt_count_noun, fmt_month
from analysis.report.narrative.parts import Part
from analysis.report.strobe import ChecklistRow, checklist

#: How a missing declaration shows in the text: visible, and found by the render's check.
PLACEHOLDER = "[to be completed: {}]"


def _placeholder(what: str) -> MarkdownText:
    """The visible placeholder, as Markdown that prints its brackets as text."""
    return usertext.plain(PLACEHOLDER.format(what))


#: What each declaration is, for its placeholder ("[to be completed: the study design ...]").
DECLARATION_NAMES = {
    "design": "the study design (study file: declarations: design)",
    "registry": "the data source or registry (declarations: registry)",
    "setting": "the setting: the kind of centers (declarations: setting)",
    "region": "the country or region of the centers (declarations: region)",
    "eligibility": "the eligibility criteria (declarations: eligibility)",
    "relapse": "the definition of relapse (declarations: relapse)",
    "measurement": (
        "who assessed the grades and the response, from which records, and whether alike at every center "
        "(declarations: measurement)"
    ),
    "ethics": "the ethics committee and approval number (declarations: ethics_committee, ethics_approval)",
    "consent": "how consent was obtained or why it was waived (declarations: consent)",
    "funding": "the funding, or that there was none (declarations: funding)",
    "conflicts": "the conflicts of interest, or that there are none (declarations: conflicts)",
    "data_availability": "where and on what terms the data are available (declarations: data_availability)",
    "cutoff_rationale": "why each covariate entered at a cut-off is cut there (declarations: cutoff_rationale)",
    "exclusions": "the patients screened and not analyzed, with the reasons (screening: excluded)",
    "product": "the CAR-T product, its dose and the lymphodepletion (study file: product)",
}

#: Declarations that are not a phrase of ``declarations:`` (printed by their own helpers).
_NOT_PHRASES = ("ethics", "exclusions", "product")


class Manuscript(Part):
    #: The declarations the report needs (a profile without B-ALL's relapse leaves it out).
    DECLARATIONS: ClassVar[tuple[str, ...]] = tuple(DECLARATION_NAMES)
    #: The files of the manuscript and of its supplement.
    FILES: ClassVar[tuple[str, str]] = (MANUSCRIPT, SUPPLEMENT)

    #: "report" (the manuscript) or "supplement": the document the text is written in.
    document: str
    #: {document stem: {heading label: page}} of the PDFs rendered before this document
    #: (the renderers' `pages` parameter), as a mapping or its JSON text.
    pages: Mapping | str | None

    # --- the two documents ------------------------------------------------------------
    @property
    def show_reproduction(self) -> bool:
        """The comparison with the publication's numbers: only for the bundled synthetic demo,
        which is calibrated to them (a team's own cohort is not expected to match)."""
        return bool(self.results.is_synthetic and (self.settings is None or self.settings.is_demo))

    @property
    def flags(self) -> dict[str, bool]:
        """The metadata the sections' conditional content reads (``cartox.kinetics`` ...)."""
        return {
            "kinetics": self.has_kinetics,
            "mrd": self.results.collected("mrd_negative"),
            "not_collected": bool(self.results.not_collected),
            "not_done": bool(
                self.results.counts.get("n_response_not_evaluable")
                or (self.results.collected("mrd_negative") and self.results.counts.get("n_mrd_not_assessed"))
            ),
            "reproduction": self.show_reproduction,
            "synthetic": self.results.is_synthetic,
            "hsct": bool(self.results.transplant is not None and self.results.transplant.reason is None),
            "placeholders": bool(self.placeholders),
            # the export's reading found what the data-quality section must say (text.caveats)
            "caveats": bool(getattr(self, "caveats_any", False)),
            # the analysis plan: ASTCT grading is cited (another system is named)
            "astct": getattr(self, "grading_is_astct", True),
            # an adjusted HR of the exposure excludes 1: the Interpretation states its direction
            "adjusted_direction": bool(getattr(self, "adjusted_beyond_null_any", False)),
        }

    @cached_property
    def page_map(self) -> dict[str, dict[str, int]]:
        pages = self.pages
        if not pages:
            return {}
        if isinstance(pages, str):
            pages = json.loads(pages)
        return {str(doc): {str(k): int(v) for k, v in labels.items()} for doc, labels in pages.items()}

    @cached_property
    def documents(self) -> Documents:
        """The manuscript and the supplement, scanned (:mod:`analysis.report.documents`)."""
        return documents(self.flags, current=self.document, pages=self.page_map, files=self.FILES)

    def ref(self, label: str) -> str:
        """A figure, table or section of either document: ``text.ref("tbl-centers")`` ->
        'Supplementary Table S3' in the manuscript, 'Table S3' in the supplement."""
        return self.documents.ref(label)

    # --- declarations -----------------------------------------------------------------
    @property
    def _declared(self) -> Declarations:
        """The study file's declarations (the demo's worked example for the bundled demo);
        without settings, none."""
        if self.settings is None:
            return Declarations()
        return self.settings.declarations

    @property
    def limits(self) -> JournalLimits:
        return self.settings.journal if self.settings is not None else JournalLimits()

    @property
    def journal_marker(self) -> str:
        """An invisible HTML element carrying the journal's limits, read by the render's check
        of the manuscript (renderer/journal.py): word counts and displays against the limits."""
        lim = self.limits
        caveats = getattr(self, "caveats", "")  # the data-quality caveats, printed by the render too
        attribute = f' data-caveats="{html.escape(caveats)}"' if caveats else ""
        return (
            "```{=html}\n"
            f'<div id="cartox-journal" hidden data-abstract-words="{lim.abstract_words}" '
            f'data-main-text-words="{lim.main_text_words}" data-displays="{lim.displays}"{attribute}></div>\n'
            "```\n"
        )

    def declared(self, key: str) -> MarkdownText:
        """A declaration of the study file as written (as text: escaped for Markdown, with the
        allowed inline styles, :func:`analysis.inputs.usertext.styled`), or its visible
        placeholder: ``text.declared("funding")`` -> 'This work was funded by ...' or
        '[to be completed: the funding, or that there was none (declarations: funding)]'."""
        if key not in DECLARATION_NAMES:
            raise KeyError(f"unknown declaration {key!r}; the declarations are: {', '.join(DECLARATION_NAMES)}")
        if key == "ethics":
            return self.ethics
        if key == "exclusions":
            return self.exclusions
        if key == "product":
            product = getattr(self, "product", "")
            return MarkdownText(product) if product else _placeholder(DECLARATION_NAMES[key])
        value = getattr(self._declared, key)
        if value and value.strip():
            return usertext.styled(value.strip())
        return _placeholder(DECLARATION_NAMES[key])

    @property
    def design(self) -> MarkdownText:
        """The declared design as a phrase: 'retrospective multicenter cohort study' (or its placeholder)."""
        return self.declared("design")

    @property
    def Design(self) -> MarkdownText:  # noqa: N802 (the capitalised form, as a sentence begins)
        """The design at the start of a sentence: 'Retrospective multicenter cohort study'."""
        value = (self._declared.design or "").strip()
        if not value:
            return self.design
        return usertext.styled(value[:1].upper() + value[1:])

    @property
    def infusion_period(self) -> str:
        """The months of the first and last infusion, computed from the data (month and year,
        never a day): 'between May 2016 and December 2022' ('in May 2021'); the years where the
        results have no months."""
        c = self.results.counts
        months = c.get("first_infusion_month"), c.get("last_infusion_month")
        if months[0] is None or months[1] is None:
            first, last = str(c["first_infusion_year"]), str(c["last_infusion_year"])
        else:
            first, last = fmt_month(months[0]), fmt_month(months[1])
        return f"in {first}" if first == last else f"between {first} and {last}"

    @property
    def exclusions_declared(self) -> bool:
        """Whether the study file says which screened patients were not analyzed (``screening:
        excluded``, an empty list included)."""
        return self.results.cohort_flow is not None and self.results.cohort_flow.excluded is not None

    @property
    def exclusions(self) -> MarkdownText:
        """The screened patients and those excluded before the analysis, with the reasons
        (STROBE 13a/13b), as a sentence: 'Of the 101 patients screened, 8 were excluded (did
        not meet the eligibility criteria, 4; product not infused, 4) and 93 infused patients
        were analyzed.'; 'No screened patient was declared excluded before the analysis, so
        all 93 infused patients were analyzed.'; or the visible placeholder when the study file
        does not say."""
        flow = self.results.cohort_flow
        if flow is None or flow.excluded is None:
            return _placeholder(DECLARATION_NAMES["exclusions"])
        infused = flow.infused
        analyzed = fmt_count_noun(infused, "infused patient")
        if not flow.excluded:
            return MarkdownText(
                "No screened patient was declared excluded before the analysis, so "
                + (f"the {analyzed} was analyzed." if infused == 1 else f"all {analyzed} were analyzed.")
            )
        reasons = "; ".join(f"{usertext.styled(e.reason)}, {fmt_count(e.n)}" for e in flow.excluded)
        n = flow.n_excluded
        return MarkdownText(
            f"Of the {fmt_count_noun(flow.screened, 'patient')} screened, {fmt_count(n)} "
            f"{'was' if n == 1 else 'were'} excluded ({reasons}) and {analyzed} "
            f"{'was' if infused == 1 else 'were'} analyzed."
        )

    @property
    def ethics(self) -> MarkdownText:
        """'The study was approved by the Ethics Committee of ... (approval number EK 1/26).'
        Markdown: the team's sentence, committee and approval number are escaped as text
        with the allowed inline styles (:func:`analysis.inputs.usertext.styled`), as every
        other declaration."""
        d = self._declared
        styled = usertext.styled
        if d.ethics and d.ethics.strip():
            return styled(d.ethics.strip())
        committee = (d.ethics_committee or "").strip()
        approval = (d.ethics_approval or "").strip()
        if committee:
            missing = "the approval number (declarations: ethics_approval)"
            number = styled(approval) if approval else _placeholder(missing)
            return MarkdownText(f"The study was approved by {styled(committee)} (approval number {number}).")
        return _placeholder(DECLARATION_NAMES["ethics"])

    @property
    def has_cutoffs(self) -> bool:
        """Whether the study's model enters a covariate at a cut-off (covariate_cutoffs)."""
        model = getattr(self.results, "model", None)
        return bool(model is not None and model.cutoffs)

    @property
    def cutoff_rationale(self) -> MarkdownText:
        """Why the plan's covariates at a cut-off are cut there (the study file's declaration,
        or its placeholder); '' when the model enters no covariate at a cut-off."""
        return self.declared("cutoff_rationale") if self.has_cutoffs else MarkdownText("")

    @property
    def missing_declarations(self) -> list[str]:
        """The keys of the declarations the study file has not given yet: ['funding', ...]."""
        d = self._declared
        missing = [key for key in self.DECLARATIONS if key not in _NOT_PHRASES and not (getattr(d, key) or "").strip()]
        if not self.has_cutoffs:  # no covariate at a cut-off: no rationale to give
            missing = [key for key in missing if key != "cutoff_rationale"]
        if "exclusions" in self.DECLARATIONS and not self.exclusions_declared:
            missing.append("exclusions")
        if "product" in self.DECLARATIONS and not getattr(self, "product", ""):
            missing.append("product")  # review 28: a user's Methods named no product, silently
        ethics_given = (d.ethics or "").strip() or (
            (d.ethics_committee or "").strip() and (d.ethics_approval or "").strip()
        )
        if not ethics_given and "ethics" in self.DECLARATIONS:
            missing.append("ethics")
        return [key for key in self.DECLARATIONS if key in missing]

    @property
    def placeholders(self) -> list[str]:
        """What the study file has not declared yet (empty when every declaration is given)."""
        return [DECLARATION_NAMES[key] for key in self.missing_declarations]

    @property
    def strobe(self) -> list[ChecklistRow]:
        """The STROBE checklist of the documents (:func:`analysis.report.strobe.checklist`)."""
        return checklist(self.documents, self.missing_declarations)

    @property
    def placeholder_list(self) -> str:
        """The placeholders as a Markdown list (the end of each document)."""
        return "\n".join(f"- {item}" for item in self.placeholders)

    # --- code availability ------------------------------------------------------------
    @cached_property
    def commit(self) -> str | None:
        """The git commit of the project the report was rendered from (None outside git;
        :func:`analysis.inputs.provenance.git_commit`, which the render cache's key holds)."""
        return git_commit(PROJECT_DIR)

    @property
    def study_file_hash(self) -> str | None:
        """SHA-256 of the study file (its first 16 hex digits), None without one."""
        path = self.settings.study_file if self.settings is not None else None
        if path is None:
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    @property
    def code_availability(self) -> str:
        """The code availability statement: cartox's version, the commit, the study file's hash."""
        commit = f"commit {self.commit}" if self.commit else "not from a git checkout, so no commit is recorded"
        study = (
            f"the study file's SHA-256 begins {self.study_file_hash}"
            if self.study_file_hash
            else "no study file was used (the bundled demo's settings)"
        )
        return (
            f"Every number, table and figure was computed at rendering time by cartox {__version__} "
            f"({commit}); {study}. Rendering the same version with the same study file and data "
            f"export reproduces this document."
        )
