"""What the study file declares and the study's own facts, worded: the title block,
the byline, the product sentence, the cut-off, and the demo's reproduction table."""

from __future__ import annotations

from functools import cached_property

import yaml

from analysis.demo.reproduction import ReproductionTable, reproduce_results
from analysis.report.export import results_to_dict
from analysis.report.formatting import (
    fmt_date,
)
from analysis.report.narrative.parts import (
    Part,
)


class Declarations(Part):
    @property
    def title_block(self) -> str:
        """Title, subtitle and date as a metadata block (see StudySettings.metadata_block),
        with the flags the sections' conditional content reads (``cartox.kinetics``,
        ``cartox.reproduction``, ``cartox.synthetic``: the notice of report.qmd; ``cartox.hsct``:
        transplants after CAR-T were recorded and analysed; ``cartox.astct``: ASTCT grading, cited)."""
        flags = {
            "cartox": {
                "kinetics": self.has_kinetics,
                "reproduction": self.show_reproduction,
                "synthetic": self.results.is_synthetic,
                "hsct": bool(self.results.transplant is not None and self.results.transplant.reason is None),
                # the analysis plan: ASTCT grading is cited (another system is named)
                "astct": getattr(self, "grading_is_astct", True),
            }
        }
        if self.settings is None:
            return "---\n" + yaml.safe_dump(flags) + "---\n"
        return self.settings.metadata_block(flags)

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
    def show_reproduction(self) -> bool:
        """The comparison with the publication's numbers: only for the bundled synthetic demo,
        which is calibrated to them (a team's own cohort is not expected to match)."""
        return bool(self.results.is_synthetic and (self.settings is None or self.settings.is_demo))

    @property
    def cutoff(self) -> str:
        """The data cut-off as a reader writes it: '1 March 2023'."""
        return fmt_date(self.results.cutoff)

    @cached_property
    def reproduction(self) -> ReproductionTable:
        """The publication's numbers against this report's (:func:`analysis.demo.reproduction.reproduce_results`):
        ``text.reproduction.summary.exact`` -> '27' numbers reproduced exactly as printed;
        ``tables.reproduction_table(text.reproduction)`` shows every row."""
        return reproduce_results(results_to_dict(self.results))
