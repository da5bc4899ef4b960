"""Counts of the cohort with their denominators, and medians with ranges."""

from __future__ import annotations

from analysis.report.formatting import (
    NOT_ESTIMABLE,
    fmt_count,
    fmt_count_noun,
    fmt_count_pct,
    fmt_median_range,
    fmt_n_of,
    row_decimals,
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

    def count(self, key: str, noun: str | None = None) -> str:
        """A count of the cohort: ``text.count("n_patients")`` -> '93'; a registry's -> '100,000';
        with its ``noun``, singular for one: ``text.count("n_centers", "center")`` -> '1 center'."""
        if noun is not None:
            return fmt_count_noun(self._count(key), noun)
        return f"{fmt_count(self._count(key))}"  # "100,000", as fmt_n_of and the tables print it

    def agree(self, key: str, singular: str, plural: str) -> str:
        """The word that agrees with a count: ``text.agree("n_centers", "was", "were")``."""
        return singular if self._count(key) == 1 else plural

    def n_of(self, key: str, denominator: str = "n_patients") -> str:
        """A count with its denominator: ``text.n_of("n_crs")`` -> '76 of 93 (81.7%)';
        ``text.n_of("n_concurrent", "n_icans")`` for another denominator."""
        return fmt_n_of(self._count(key), self._count(denominator))

    def n_pct(self, key: str, denominator: str = "n_patients") -> str:
        """A count with its percentage, where the sentence names the denominator once (the
        abstract: 'Of 93 patients, CRS developed in 76 (81.7%)'): ``text.n_pct("n_crs")`` -> '76 (81.7%)'."""
        k, n = self._count(key), self._count(denominator)
        return fmt_count_pct(k, 100.0 * k / n if n else None, missing=NOT_ESTIMABLE)

    def median_range(self, name: str, unit: str = "") -> str:
        """Median (range) of a descriptive distribution (onset days, doses, age):
        ``text.median_range("age")`` -> '28 (2–70)'; ``text.median_range("dex_equiv_cum_mg", "mg")``."""
        from analysis.report.tables import table1_row_decimals

        d = self.results.descriptives[name]
        if d.n == 0:  # e.g. the onset of ICANS in a cohort without ICANS
            return f"{NOT_ESTIMABLE} (no patient with a value)"
        # a variable of Table 1 or of the course table: at the precision of its row
        decimals = table1_row_decimals(self.results.table1, self.results.table1_overall, name)
        if decimals is not None:
            decimals = max(decimals, row_decimals(d))
        text = fmt_median_range(d.median, d.min, d.max, decimals=decimals)
        return f"{text} {unit}".strip() if unit else text

    @property
    def centers_shown(self) -> str:
        """Which centers the per-center table shows one by one (centers below the minimum cell
        size are pooled): 'for each center'; 'for each center except the 3 smallest, which are
        pooled (a row shows at least 5 patients)'; 'for no single center (none has 5 or more
        patients, the fewest a row shows)'."""
        centers = self.results.centers
        if centers is None or not centers.pooled_centers and not centers.suppressed:
            return "for each center"
        k = centers.min_cell_size
        if centers.suppressed:
            return f"for no single center (none has {k} or more patients, the fewest a row shows)"
        return (
            f"for each center except the {centers.pooled_centers} smallest, which are pooled "
            f"(a row shows at least {k} patients)"
        )

    def flow(self, key: str, of: str = "infused") -> str:
        """A count of the cohort flow (Figure 1) with its denominator:
        ``text.flow("not_evaluable")`` -> '1 of 93 (1.1%)'; ``text.flow("relapsed", of="cr")``."""
        flow = self.results.cohort_flow
        if flow is None or not hasattr(flow, key) or not hasattr(flow, of):
            names = ", ".join(vars(flow)) if flow is not None else "none (no flow computed)"
            raise UnknownKey(f"unknown flow count {key!r} or {of!r}; the counts are: {names}")
        return fmt_n_of(getattr(flow, key), getattr(flow, of))

    @property
    def sex_counts(self) -> str:
        """The cohort by sex, in words that fit its ages (review 30, F14), after 'The cohort
        includes 93 patients': '47 men and 46 women' when every patient was an adult (18 or
        older), else '47 male and 46 female' (a cohort of children and adults)."""
        male, female = self.count("n_male"), self.count("n_female")
        age = self.results.descriptives.get("age")
        adults = age is not None and age.n > 0 and age.min is not None and age.min >= 18
        return f"{male} men and {female} women" if adults else f"{male} male and {female} female"

    @property
    def baseline_missing_any(self) -> bool:
        """Whether a characteristic of Table 1 lacks a value for some patient (its footnote then
        lists them, by column; review 30, F9: the sentence pointing to that footnote is said
        only then)."""
        from analysis.report.tables import baseline_variables

        n = self.results.counts["n_patients"]
        shown = {v for v, _ in self.results.table1}
        not_collected = set(self.results.not_collected or ())
        for variable in baseline_variables():
            if variable not in shown or variable in not_collected:
                continue
            level = self.results.table1_overall.get(variable)
            if level is not None and getattr(level, "n", n) < n:
                return True
        return False
