"""What the study file declares and the study's own facts, worded: the title block,
the byline, the product sentence, the cut-off, and the demo's reproduction table."""

from __future__ import annotations

from functools import cached_property

import yaml

from analysis.demo.reproduction import ReproductionTable, reproduce_results
from analysis.inputs.usertext import MarkdownText
from analysis.report.export import results_to_dict
from analysis.report.formatting import fmt_month
from analysis.report.narrative.manuscript import Manuscript


class Declarations(Manuscript):
    @property
    def title_block(self) -> str:
        """Title, subtitle and date as a metadata block (see StudySettings.metadata_block),
        with the flags the sections' conditional content reads (``cartox.kinetics``,
        ``cartox.mrd`` (the registry collects MRD), ``cartox.not_collected`` (it does not
        collect an optional column), ``cartox.not_done`` (an assessment was not done),
        ``cartox.reproduction``, ``cartox.synthetic``: the notice of report.qmd; ``cartox.hsct``:
        transplants after CAR-T were recorded and analyzed; ``cartox.placeholders``; ``cartox.astct``:
        ASTCT grading, cited)."""
        flags = {"cartox": self.flags}
        if self.settings is None:
            return "---\n" + yaml.safe_dump(flags) + "---\n"
        return self.settings.metadata_block(flags)

    @property
    def title(self) -> MarkdownText:
        """The manuscript's title (the study file's, escaped as text with its allowed styles;
        else the default)."""
        from analysis.inputs import usertext
        from analysis.inputs.studyfile import DEFAULT_TITLE

        return usertext.styled(self.settings.title if self.settings is not None else DEFAULT_TITLE)

    @property
    def supplement_title_block(self) -> str:
        """The supplement's title block: 'Supplementary material', the manuscript's title as
        subtitle, the date, and the same flags as :attr:`title_block`."""
        flags = {"cartox": self.flags}
        if self.settings is None:
            return "---\n" + yaml.safe_dump({"title": "Supplementary material", **flags}) + "---\n"
        return self.settings.metadata_block(flags, title="Supplementary material", subtitle=self.settings.title)

    @property
    def byline(self) -> str:
        """Authors with affiliations and the corresponding author, as Markdown:
        ``display(Markdown(text.byline))`` -> '::: {.byline}\\nThe cartox team\\n:::'."""
        return self.settings.byline() if self.settings is not None else ""

    @property
    def product(self) -> str:
        """Methods' sentence on the product and regimen, from the study file."""
        settings = self.settings
        return settings.product_sentence() if settings is not None else ""

    @property
    def eligibility_and_product(self) -> MarkdownText:
        """The Participants paragraph's first sentences: the declared eligibility criteria (or
        their placeholder), then the product sentence (or its placeholder: the Discussion speaks of
        "the product and lymphodepletion described in the Methods"). One
        expression that is never empty: an inline expression evaluating to nothing (no
        ``product:``) makes real Quarto print its code."""
        return MarkdownText(f"{self.declared('eligibility')} {self.declared('product')}")

    @property
    def cutoff(self) -> str:
        """The month of the data cut-off: 'March 2023' (month and year, as every date of the
        setting; the day is the study file's)."""
        return fmt_month(self.results.cutoff)

    @cached_property
    def reproduction(self) -> ReproductionTable:
        """The publication's numbers against this report's (:func:`analysis.demo.reproduction.reproduce_results`):
        ``text.reproduction.summary.exact`` -> '27' numbers reproduced exactly as printed;
        ``tables.reproduction_table(text.reproduction)`` shows every row."""
        return reproduce_results(results_to_dict(self.results))
