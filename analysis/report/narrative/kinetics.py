"""CAR-T kinetics: whether expansion was analysed, why not, and its family of tests."""

from __future__ import annotations

from analysis.registry.concepts import NO_KINETICS_REASON
from analysis.report.narrative.parts import (
    TestSet,
)
from analysis.report.narrative.verdicts import Verdicts


class Kinetics(Verdicts):
    @property
    def kinetics_reason(self) -> str:
        """Why there is no kinetics analysis ('' when there is one):
        ``CAR-T expansion was not analysed: `{python} text.kinetics_reason`.`` ->
        'CAR-T expansion was not analysed: no CAR-T kinetics table was supplied.'"""
        if self.has_kinetics:
            return ""
        return self.results.kinetics_reason or NO_KINETICS_REASON

    @property
    def kinetics_tests(self) -> TestSet:
        """Peak expansion by CRS, ICANS, severity and concurrent CRS and ICANS:
        ``text.kinetics_tests.groupings`` -> 'CRS, CRS/ICANS severity' (those that differed)."""
        return self.tests("peak", by=["crs", "icans", "severity", "concurrent"])
