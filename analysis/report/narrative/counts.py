"""Counts of the cohort with their denominators, and medians with ranges."""

from __future__ import annotations

from analysis.report.formatting import (
    fmt_median_range,
    fmt_n_of,
)
from analysis.report.narrative.parts import (
    Part,
    UnknownKey,
)


class Counts(Part):
    def _count(self, key: str) -> int:
        if key not in self.results.counts:
            raise UnknownKey(f"unknown count {key!r}; the counts are: {', '.join(self.results.counts)}")
        return self.results.counts[key]

    def count(self, key: str) -> str:
        """A count of the cohort: ``text.count("n_patients")`` -> '93'; a registry's -> '100,000'."""
        return f"{self._count(key):,}"  # "100,000", as fmt_n_of and the tables print it

    def n_of(self, key: str, denominator: str = "n_patients") -> str:
        """A count with its denominator: ``text.n_of("n_crs")`` -> '76 of 93 (81.7%)';
        ``text.n_of("n_concurrent", "n_icans")`` for another denominator."""
        return fmt_n_of(self._count(key), self._count(denominator))

    def median_range(self, name: str, unit: str = "") -> str:
        """Median (range) of a descriptive distribution (onset days, doses, age):
        ``text.median_range("age")`` -> '28 (2–70)'; ``text.median_range("dex_equiv_cum_mg", "mg")``."""
        d = self.results.descriptives[name]
        text = fmt_median_range(d.median, d.min, d.max)
        return f"{text} {unit}".strip() if unit else text
