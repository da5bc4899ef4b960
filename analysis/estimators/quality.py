"""Data quality of a validated cohort: the contract's plausibility warnings, counted, and
the living patients lost to follow-up (the report's data-quality paragraph).

The rules are the contract's (:func:`analysis.registry.contract.plausibility_rules`), the
same ``validate`` lists record by record; here they are only counted, so the report
never names a patient.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.registry.contract import (
    LOST_TO_FOLLOWUP,
    LOST_TO_FOLLOWUP_DAYS,
    FractionColumn,
    percentages_as_fractions,
    plausibility_rules,
)
from analysis.registry.groups import DAYS_PER_MONTH

#: How the lost-to-follow-up rule is named among the warnings (its phrase).
LOST_PHRASE = next(r.phrase for r in plausibility_rules(dt.date(2000, 1, 1)) if r.message.startswith(LOST_TO_FOLLOWUP))


@dataclass(frozen=True)
class DataQuality:
    #: the rule's phrase -> patients it warns about (rules with none are left out), most
    #: first: every rule ``validate`` lists, lost to follow-up included (one definition: the
    #: report counts the warnings ``validate`` prints; lost to follow-up also has its own
    #: sentence, ``lost_to_followup``)
    warnings: dict[str, int]
    #: patients with at least one of those warnings
    n_patients_warned: int
    #: living patients last seen more than ``lost_after_days`` before the cut-off
    lost_to_followup: int
    #: their median time from last follow-up to the cut-off, in months (None: no such patient)
    lost_median_gap_months: float | None
    lost_after_days: int = LOST_TO_FOLLOWUP_DAYS
    #: (rows, patients or None) of each other sheet of the export's workbook holding the same
    #: table, not read (the study file names the sheet read): patients who may be missing
    unread_sheets: tuple[tuple[int | None, int | None], ...] = ()
    #: columns of percentages whose every value is at most 1 (fractions, probably)
    fraction_columns: tuple[FractionColumn, ...] = ()

    @property
    def n_warnings(self) -> int:
        """As many as ``validate`` prints: one per rule and patient."""
        return sum(self.warnings.values())

    @property
    def other_warnings(self) -> dict[str, int]:
        """The warnings other than lost to follow-up (which Results describes on its own)."""
        return {phrase: n for phrase, n in self.warnings.items() if phrase != LOST_PHRASE}


def data_quality(
    cohort: pd.DataFrame,
    cutoff: dt.date,
    not_collected: tuple[str, ...] = (),
    unread_sheets: tuple[tuple[int | None, int | None], ...] = (),
) -> DataQuality:
    """Count the plausibility warnings of a validated cohort (rules reading a column the
    registry does not collect are not run), describe the patients lost to follow-up, find the
    columns of percentages written as fractions; ``unread_sheets``: (rows, patients) of the
    workbook's other sheets holding the same table (what the reader found), kept as given."""
    counts: dict[str, int] = {}
    warned = np.zeros(len(cohort), dtype=bool)
    lost = np.zeros(len(cohort), dtype=bool)
    for rule in plausibility_rules(cutoff):
        if set(rule.columns) & set(not_collected) or not set(rule.columns) <= set(cohort.columns):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            hit = rule.violated(cohort).fillna(False).to_numpy(dtype=bool)
        if rule.message.startswith(LOST_TO_FOLLOWUP):
            lost = hit  # also its own sentence of Results
        if hit.any():
            counts[rule.phrase or rule.message] = int(hit.sum())
        warned |= hit
    gap = None
    if lost.any():
        days = (pd.Timestamp(cutoff) - cohort["last_followup_date"][lost]).dt.days
        gap = float(days.median()) / DAYS_PER_MONTH
    ordered = dict(sorted(counts.items(), key=lambda item: -item[1]))
    return DataQuality(
        ordered,
        int(warned.sum()),
        int(lost.sum()),
        gap,
        unread_sheets=tuple(unread_sheets),
        fraction_columns=percentages_as_fractions(cohort),
    )
