"""Inline numbers, verdicts and tables of the disease (LBCL, MM) report: ``text`` in
``report-disease.qmd``, read from :class:`~analysis.report.disease_results.DiseaseResults`.

Verdict words follow the test: a p-value at or above alpha says the groups "showed no
statistically significant difference", never that they did not differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from analysis.inputs.studyfile import StudySettings
from analysis.registry.concepts import OPTIONS
from analysis.registry.diseases import Profile
from analysis.registry.groups import GROUPINGS
from analysis.report.disease_results import DISEASE_GROUPINGS, DiseaseResults
from analysis.report.formatting import (
    CELL_MISSING,
    fmt_count,
    fmt_hr_ci,
    fmt_median_range,
    fmt_months,
    fmt_n_of,
    fmt_number,
    fmt_p,
    fmt_p_bare,
    fmt_pct,
    fmt_signed,
)
from analysis.report.narrative.parts import DIFFERED, NOT_DETECTED


def _pct(x) -> str:
    return fmt_pct(None if x is None else 100 * x)


def _bare(months) -> str:
    """A number of months without its unit (the lower bound of a CI)."""
    return fmt_months(months).removesuffix(" months")


def _ci(low, high) -> str:
    return (
        CELL_MISSING
        if low is None or high is None
        else f"{fmt_number(100 * low, decimals=1)}–{fmt_number(100 * high, decimals=1)}"
    )


def among(label: str) -> str:
    """A toxicity group's label inside a sentence: 'No CRS' -> 'among patients without CRS',
    'CRS grade 1–2' -> 'among patients with CRS grade 1–2', 'Grade ≥3 CRS or severe ICANS'
    -> 'among patients with grade ≥3 CRS or severe ICANS', 'Others (...)' -> 'among the
    others (...)'."""
    first, _, rest = label.partition(" ")
    if first == "No" and rest:
        return f"among patients without {rest}"
    word = first if first.isupper() or not first else first[0].lower() + first[1:]
    if word == "others":
        return f"among the {word} {rest}".rstrip()
    return f"among patients with {word} {rest}".rstrip()


@dataclass(frozen=True)
class DiseaseNarrative:
    results: DiseaseResults
    settings: StudySettings | None = None

    # ------------------------------------------------------------------ declarations
    @property
    def profile(self) -> Profile:
        return self.results.profile

    @property
    def alpha(self) -> float:
        return float(self.settings.analysis.alpha) if self.settings else float(OPTIONS["alpha"].default)

    @property
    def title_block(self) -> str:
        flags = {"cartox": {"synthetic": self.results.is_synthetic, "mrd": "n_mrd_assessed" in self.results.counts}}
        if self.settings is None:
            return "---\n" + yaml.safe_dump(flags) + "---\n"
        return self.settings.metadata_block(flags)

    @property
    def byline(self) -> str:
        return self.settings.byline() if self.settings else ""

    @property
    def product(self) -> str:
        return str(self.settings.product_sentence()) if self.settings else ""

    def methods(self, key: str) -> str:
        """A Methods sentence of the profile (without its full stop)."""
        return self.profile.methods[key]

    @property
    def disease_name(self) -> str:
        return self.profile.name

    @property
    def scale_name(self) -> str:
        assert self.profile.scale is not None
        return self.profile.scale.name

    @property
    def cutoff(self) -> str:
        return f"{self.results.cutoff.day} {self.results.cutoff.strftime('%B %Y')}"

    @property
    def demo_source(self) -> str:
        demo = self.profile.demo
        return demo.source if demo else ""

    # ------------------------------------------------------------------ counts
    def n(self, key: str) -> str:
        return f"{fmt_count(self.results.counts[key])}"

    def n_of(self, key: str, of: str = "n_patients") -> str:
        return fmt_n_of(self.results.counts[key], self.results.counts[of])

    @property
    def followup(self) -> str:
        f = self.results.followup
        return f"{fmt_months(f.median_months)} (95% CI {_bare(f.ci_low)}–{fmt_months(f.ci_high)})"

    @property
    def years(self) -> str:
        c = self.results.counts
        a, b = c["first_infusion_year"], c["last_infusion_year"]
        return str(a) if a == b else f"{a} and {b}"

    # ------------------------------------------------------------------ responses
    def rate(self, responder: str, assessment: str | None = None) -> str:
        """'83 of 101 (82.2%; 95% CI 73.6–88.4%)'."""
        r = self.results.rates[(responder, assessment or self.profile.primary_assessment, "all")]
        g = r.groups[0]
        return f"{fmt_n_of(g.events, g.n)[:-1]}; 95% CI {_ci(g.ci_low, g.ci_high)}%)"

    def rate_by(self, responder: str, by: str, assessment: str | None = None) -> str:
        """'5 of 7 (71.4%) among patients without CRS and 78 of 94 (83.0%) among patients with
        CRS; difference 11.6 percentage points (95% CI −10.6 to 47.6), Fisher's exact p = 0.605'."""
        r = self.results.rates[(responder, assessment or self.profile.primary_assessment, by)]
        parts = [f"{fmt_n_of(g.events, g.n)} {among(g.label)}" for g in r.groups]
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
        d = r.difference
        if d is not None and d.difference is not None and d.ci_low is not None and d.ci_high is not None:
            text += (
                f"; difference {fmt_signed(100 * d.difference)} percentage points "
                f"(95% CI {fmt_signed(100 * d.ci_low)} to {fmt_signed(100 * d.ci_high)})"
            )
        return text + f", {fmt_p(r.result.p, r.result.reason)}"

    def ordinal_p(self, by: str, assessment: str | None = None) -> str:
        d = self.results.distributions[(assessment or self.profile.primary_assessment, by)]
        return fmt_p(d.result.p, d.result.reason)

    def ordinal_verdict(self, by: str, assessment: str | None = None) -> str:
        """'showed no statistically significant difference' / 'differed significantly'."""
        d = self.results.distributions[(assessment or self.profile.primary_assessment, by)]
        if d.result.p is None:
            return "could not be compared"
        return DIFFERED if d.result.p < self.alpha else NOT_DETECTED

    def grouping_title(self, by: str) -> str:
        return GROUPINGS[by].title

    # ------------------------------------------------------------------ survival
    def median(self, endpoint: str, level: str = "all", by: str = "all") -> str:
        s = self.results.survival[(endpoint, by)]
        lv = next(x for x in s.levels if x.key == level)
        if lv.median_months is None:
            return "not reached"
        high = "not reached" if lv.median_ci_high is None else fmt_months(lv.median_ci_high)
        return f"{fmt_months(lv.median_months)} (95% CI {_bare(lv.median_ci_low)}–{high})"

    def at(self, endpoint: str, months: int = 12) -> str:
        lv = self.results.survival[(endpoint, "all")].levels[0]
        point = next(p for p in lv.landmarks if p.months == months)
        if point.survival is None:
            return f"not estimable ({point.reason})"
        return f"{_pct(point.survival)} (95% CI {_ci(point.ci_low, point.ci_high)}%)"

    def logrank(self, endpoint: str, by: str) -> str:
        s = self.results.survival[(endpoint, by)]
        return fmt_p(s.logrank_p, s.reason)

    def hr(self, endpoint: str, by: str) -> str:
        u = self.results.hazard_ratios[(endpoint, by)]
        h = u.hazard_ratios[0]
        return f"HR {fmt_hr_ci(h.hr, h.ci_low, h.ci_high)}" if h.hr is not None else f"HR not estimable ({h.reason})"

    def survival_verdict(self, endpoint: str, by: str) -> str:
        s = self.results.survival[(endpoint, by)]
        if s.logrank_p is None:
            return "could not be compared"
        return DIFFERED if s.logrank_p < self.alpha else NOT_DETECTED

    def cif(self, cause: str, months: int = 12) -> str:
        lv = self.results.competing["all"].causes[cause].levels[0]
        point = next(p for p in lv.points if p.months == months)
        if point.estimate is None:
            return f"not estimable ({point.reason})"
        return f"{_pct(point.estimate)} (95% CI {_ci(point.ci_low, point.ci_high)}%)"

    def gray(self, cause: str, by: str) -> str:
        g = self.results.competing[by].causes[cause].gray
        return fmt_p(g.p, g.reason)

    # ------------------------------------------------------------------ tables (Markdown)
    def table1(self) -> str:
        lines = ["| Characteristic | All patients |", "|:--|--:|"]
        for row in self.results.table1:
            if row.kind == "continuous":
                value = fmt_median_range(row.median, row.min, row.max, CELL_MISSING)
                lines.append(f"| {row.label}, median (range) | {value} |")
            else:
                pct = 100 * row.count / row.n if row.n and row.count is not None else None
                lines.append(f"| {row.label}, n (%) | {row.count} ({fmt_pct(pct, missing=CELL_MISSING)}) |")
        return "\n".join(lines)

    def rates_table(self, assessment: str | None = None) -> str:
        """Responder rates (Wilson 95% CI) per toxicity group, with the test of each grouping."""
        assessment = assessment or self.profile.primary_assessment
        responders = [r for r in self.profile.responders if (r.key, assessment, "all") in self.results.rates]
        head = "| Group | n | " + " | ".join(f"{r.abbreviation}, n (%; 95% CI)" for r in responders) + " |"
        lines = [head, "|:--|--:|" + "--:|" * len(responders)]

        def cells(rates, i):
            g = rates.groups[i]
            pct = None if g.rate is None else 100 * g.rate
            return f"{g.events} ({fmt_pct(pct, missing=CELL_MISSING)}; {_ci(g.ci_low, g.ci_high)})"

        first = [self.results.rates[(r.key, assessment, "all")] for r in responders]
        lines.append(f"| All patients | {first[0].groups[0].n} | " + " | ".join(cells(x, 0) for x in first) + " |")
        for by in DISEASE_GROUPINGS:
            rates = [self.results.rates[(r.key, assessment, by)] for r in responders]
            for i, g in enumerate(rates[0].groups):
                lines.append(f"| {g.label} | {g.n} | " + " | ".join(cells(x, i) for x in rates) + " |")
            lines.append(
                f"| *p ({GROUPINGS[by].title})* | | "
                + " | ".join(f"*{fmt_p_bare(x.result.p, x.result.reason)}*" for x in rates)
                + " |"
            )
        return "\n".join(lines)

    def distribution_table(self, by: str) -> str:
        """Patients per response level and assessment in each group of ``by``."""
        assert self.profile.scale is not None
        keys = self.profile.scale.keys
        lines = [
            "| Assessment | Group | n | " + " | ".join(keys) + " | p (rank test) |",
            "|:--|:--|--:|" + "--:|" * len(keys) + "--:|",
        ]
        for a in self.profile.assessments:
            if (a.key, by) not in self.results.distributions:  # not collected
                continue
            d = self.results.distributions[(a.key, by)]
            for i, lv in enumerate(d.levels):
                p = fmt_p_bare(d.result.p, d.result.reason) if i == 0 else ""
                lines.append(
                    f"| {a.label if i == 0 else ''} | {lv.label} | {lv.n} | "
                    + " | ".join(str(c) for c in lv.counts)
                    + f" | {p} |"
                )
        return "\n".join(lines)
