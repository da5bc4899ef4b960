"""The STROBE checklist for cohort studies: its 22 items, one definition each.

STROBE (von Elm et al., 2007) lists what the report of an observational study should
contain. Each item is worded here briefly (the checklist's own wording is longer); the
manuscript's sections say which items they meet (a heading's ``strobe="6a 6b"``
attribute), and :func:`analysis.report.strobe.checklist` builds the supplement's table
from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrobeItem:
    key: str  # "6a"
    number: int  # 6
    topic: str  # "Participants"
    recommendation: str
    #: Why the item does not apply to this kind of study (None: it applies)
    not_applicable: str | None = None


STROBE_ITEMS: dict[str, StrobeItem] = {
    i.key: i
    for i in (
        StrobeItem(
            "1a", 1, "Title and abstract", "The study's design in a commonly used term in the title or abstract"
        ),
        StrobeItem("1b", 1, "Title and abstract", "An informative and balanced summary of what was done and found"),
        StrobeItem("2", 2, "Background/rationale", "The scientific background and rationale"),
        StrobeItem("3", 3, "Objectives", "Specific objectives, including any prespecified hypotheses"),
        StrobeItem("4", 4, "Study design", "Key elements of the study design, early in the paper"),
        StrobeItem(
            "5",
            5,
            "Setting",
            "Setting, locations and relevant dates: recruitment, exposure, follow-up, data collection",
        ),
        StrobeItem(
            "6a", 6, "Participants", "Eligibility criteria, sources and methods of selection; methods of follow-up"
        ),
        StrobeItem(
            "6b",
            6,
            "Participants",
            "For matched studies, matching criteria and numbers exposed and unexposed",
            not_applicable="not a matched study",
        ),
        StrobeItem(
            "7",
            7,
            "Variables",
            "Outcomes, exposures, predictors, potential confounders and effect "
            "modifiers clearly defined; diagnostic criteria",
        ),
        StrobeItem(
            "8",
            8,
            "Data sources/measurement",
            "Sources of data and methods of assessment for each variable; comparability across groups",
        ),
        StrobeItem("9", 9, "Bias", "Efforts to address potential sources of bias"),
        StrobeItem("10", 10, "Study size", "How the study size was arrived at"),
        StrobeItem(
            "11", 11, "Quantitative variables", "How quantitative variables were handled; groupings chosen and why"
        ),
        StrobeItem(
            "12a", 12, "Statistical methods", "All statistical methods, including those used to control for confounding"
        ),
        StrobeItem("12b", 12, "Statistical methods", "Methods used to examine subgroups and interactions"),
        StrobeItem("12c", 12, "Statistical methods", "How missing data were addressed"),
        StrobeItem("12d", 12, "Statistical methods", "How loss to follow-up was addressed"),
        StrobeItem("12e", 12, "Statistical methods", "Sensitivity analyses"),
        StrobeItem("13a", 13, "Participants", "Numbers of individuals at each stage of the study"),
        StrobeItem("13b", 13, "Participants", "Reasons for non-participation at each stage"),
        StrobeItem("13c", 13, "Participants", "A flow diagram"),
        StrobeItem(
            "14a", 14, "Descriptive data", "Characteristics of participants, exposures and potential confounders"
        ),
        StrobeItem("14b", 14, "Descriptive data", "Number of participants with missing data for each variable"),
        StrobeItem("14c", 14, "Descriptive data", "Follow-up time summarized"),
        StrobeItem("15", 15, "Outcome data", "Numbers of outcome events or summary measures over time"),
        StrobeItem(
            "16a",
            16,
            "Main results",
            "Unadjusted and confounder-adjusted estimates with their precision; which confounders and why",
        ),
        StrobeItem("16b", 16, "Main results", "Category boundaries of categorized continuous variables"),
        StrobeItem(
            "16c",
            16,
            "Main results",
            "Relative risk translated into absolute risk for a meaningful period, if relevant",
        ),
        StrobeItem("17", 17, "Other analyses", "Subgroups, interactions and sensitivity analyses done"),
        StrobeItem("18", 18, "Key results", "Key results with reference to the study objectives"),
        StrobeItem(
            "19", 19, "Limitations", "Limitations, sources of bias or imprecision, their direction and magnitude"
        ),
        StrobeItem(
            "20",
            20,
            "Interpretation",
            "A cautious overall interpretation: objectives, limitations, multiplicity, similar studies",
        ),
        StrobeItem("21", 21, "Generalizability", "The generalizability (external validity) of the results"),
        StrobeItem("22", 22, "Funding", "Source of funding and role of the funders"),
    )
}

#: The study file's declarations each item rests on: a missing one makes the item a placeholder.
STROBE_DECLARATIONS: dict[str, tuple[str, ...]] = {
    "1a": ("design",),
    "4": ("design", "registry"),
    "5": ("setting", "region"),
    "6a": ("eligibility",),
    "7": ("relapse", "product"),
    "8": ("measurement",),
    "11": ("cutoff_rationale",),
    "13a": ("exclusions",),
    "13b": ("exclusions",),
    "21": ("setting",),
    "22": ("funding",),
}

#: What is missing when a section claims an item only in part (``strobe="13b:partial"``):
#: the status column of the checklist says it.
STROBE_PARTIAL: dict[str, str] = {
    "11": "continuous covariates entered as linear terms; their functional form was not examined",
    "13b": "patients eligible but not infused, and why, are not in the data",
}
