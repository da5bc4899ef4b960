"""Inline numbers and verdicts for the prose, read from the results object.

The manuscript writes `` `{python} text.n_of("n_crs")` `` instead of typing
"76 of 93 (81.7%)", and `` `{python} text.differ("os", by="crs")` `` instead
of typing a verdict, so a new data export rewrites the numbers *and* the words
that depend on them.

The sentences themselves live in ``sections/*.qmd``, where an editor sees them. This
package gives them numbers, verdict phrases and facts to choose wording from:
``text.choose(condition, "words if yes", "words if no")`` picks one of two wordings
written in the section, and ``text.tests(...)`` summarizes a family of tests (how many,
whether any is significant, which).

:class:`Narrative` (``text`` in the report) is one object assembled from families, each in
its own module beside the results it reads:

* :mod:`.declarations` – title block, byline, product, cut-off, the demo's reproduction;
* :mod:`.manuscript` – the study file's declarations and their placeholders, code
  availability, references across the manuscript and the supplement;
* :mod:`.counts` – counts with denominators, medians with ranges;
* :mod:`.verdicts` – p-values, verdict phrases, families of tests, the choice of words;
* :mod:`.survival` – follow-up, medians, landmark survival, hazard ratios, Table 2;
* :mod:`.response` – response rates, risk differences, odds ratios;
* :mod:`.effects` – a verdict with its estimate and CI;
* :mod:`.kinetics` – CAR-T expansion;
* :mod:`.competing` – competing risks and the landmark analysis;
* :mod:`.plan` – the analysis plan worded for Methods (endpoint, definitions, model, landmarks);
* :mod:`.models` – the multivariable models (exposure and covariate HRs, events per coefficient);
* :mod:`.timevarying` – toxicity as a time-dependent exposure, beside the analyses from infusion;
* :mod:`.endpoints` – tests for trend across grades, onset of CRS and ICANS;
* :mod:`.transplant` – allogeneic HSCT after CAR-T;
* :mod:`.multiplicity` – the count of p-values, adjusted significance, E-values;
* :mod:`.quality` – data quality, assessments not done, columns not collected;
* :mod:`.parts` – what they share (the results, the settings, alpha, wording helpers).

A new inline helper goes into the family whose results it reads (or a new module added to
the bases below); the sections' names (``text.p``, ``text.verdict``...) do not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.inputs.studyfile import StudySettings
from analysis.registry.groups import TOXICITY_GROUPINGS
from analysis.report.narrative.competing import Competing
from analysis.report.narrative.declarations import Declarations
from analysis.report.narrative.effects import Effects
from analysis.report.narrative.endpoints import Endpoints
from analysis.report.narrative.kinetics import Kinetics
from analysis.report.narrative.multiplicity import Multiplicity
from analysis.report.narrative.parts import (
    DIFFERED,
    NOT_DETECTED,
    PEAK_PHRASE,
    TestSet,
    UnknownKey,
    fmt_ci_bounds,
    in_sentence,
)
from analysis.report.narrative.plan import Plan
from analysis.report.narrative.quality import Quality
from analysis.report.narrative.timevarying import TimeVarying
from analysis.report.narrative.transplant import Transplant
from analysis.report.results import Results

__all__ = [
    "DIFFERED",
    "NOT_DETECTED",
    "PEAK_PHRASE",
    "TOXICITY_GROUPINGS",
    "Narrative",
    "TestSet",
    "UnknownKey",
    "fmt_ci_bounds",
    "in_sentence",
]


@dataclass(frozen=True)
class Narrative(
    Declarations, Quality, TimeVarying, Effects, Kinetics, Competing, Multiplicity, Endpoints, Transplant, Plan
):
    """The sections' ``text``: every family's helpers on one object."""

    results: Results
    #: The study file's settings (title, product, alpha...); None: the defaults.
    settings: StudySettings | None = None
    #: The document the text is written in: "report" (the manuscript) or "supplement".
    document: str = "report"
    #: The pages of the documents rendered before this one (the renderers' `pages` parameter).
    pages: Mapping | str | None = None
