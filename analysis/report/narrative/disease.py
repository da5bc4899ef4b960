"""Inline numbers, verdicts and tables of the disease (LBCL, MM) report: ``text`` in
``report-disease.qmd``, read from :class:`~analysis.report.disease_results.DiseaseResults`.

Verdict words follow the test: a p-value at or above alpha says the groups "showed no
statistically significant difference", never that they did not differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import yaml

from analysis.estimators.cox import model_terms
from analysis.inputs.studyfile import StudySettings
from analysis.inputs.usertext import MarkdownText
from analysis.registry.concepts import OPTIONS, TOXICITY_GRADING, TOXICITY_GRADING_SHORT
from analysis.registry.diseases import Profile, endpoint_of
from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS
from analysis.report import tables
from analysis.report.disease_results import (
    DISEASE_GROUPINGS,
    MODEL_ENDPOINTS,
    TABLE1_GROUPINGS,
    DiseaseResults,
    table1_overall,
)
from analysis.report.documents import DISEASE_DOCUMENTS
from analysis.report.formatting import (
    CELL_MISSING,
    NOT_ESTIMABLE,
    and_list,
    fmt_count,
    fmt_count_noun,
    fmt_month,
    fmt_months,
    fmt_n_of,
    fmt_number,
    fmt_p,
    fmt_p_bare,
    fmt_pct,
    fmt_signed,
)
from analysis.report.narrative.manuscript import DECLARATION_NAMES, Manuscript
from analysis.report.narrative.models import EventsPerCoefficient, covariate_term_phrase
from analysis.report.narrative.multiplicity import Multiplicity
from analysis.report.narrative.parts import (
    DIFFERED,
    NOT_DETECTED,
    ONE_PATIENT,
    TestSet,
    _inline_ci,
    _ratio,
    fmt_ci_bounds,
    in_sentence,
    km_landmark,
    km_median,
)
from analysis.report.narrative.survival import Survival
from analysis.report.narrative.verdicts import Verdicts


def _pct(x) -> str:
    return fmt_pct(None if x is None else 100 * x)


def _signed_points(x) -> str:
    """A difference of two rates in percentage points, one decimal, with a true minus sign."""
    return fmt_signed(100 * x)


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
class DiseaseNarrative(EventsPerCoefficient, Manuscript, Multiplicity):
    """``text`` of the LBCL and MM documents (``report-disease.qmd``, ``supplement-disease.qmd``):
    the profile's own helpers below, and those of the B-ALL narrative that read nothing
    disease-specific (:class:`~analysis.report.narrative.manuscript.Manuscript`: declarations,
    placeholders, the STROBE checklist, references across the documents, code availability;
    :class:`~analysis.report.narrative.multiplicity.Multiplicity`: the p-value counts)."""

    results: DiseaseResults  # type: ignore[assignment]  # the parts it shares read no B-ALL field
    settings: StudySettings | None = None
    #: the document the text is written in, by its role: "report" or "supplement"
    document: str = "report"
    #: the pages of the documents rendered before this one (the renderers' `pages` parameter)
    pages: Mapping | str | None = None

    FILES: ClassVar[tuple[str, str]] = DISEASE_DOCUMENTS
    #: one of two wordings written in the section, chosen by a result (the B-ALL narrative's)
    choose = staticmethod(Verdicts.choose)
    #: Schoenfeld's minimum detectable hazard ratio, worded as the B-ALL narrative words it
    #: (``results.detectable_hr`` of both reports: (endpoint, two-level grouping) keys)
    detectable_hr = Survival.detectable_hr
    power_computed = Survival.power_computed
    power_reason = Survival.power_reason
    #: the profile's response criteria define progression: no B-ALL definition of relapse
    #: no relapse (the profile's criteria define progression); the cut-off rationale, the region,
    #: the screening and the product's placeholder are not yet printed by the disease documents
    DECLARATIONS: ClassVar[tuple[str, ...]] = tuple(
        k for k in DECLARATION_NAMES if k not in ("relapse", "cutoff_rationale", "region", "exclusions", "product")
    )

    # ------------------------------------------------------------------ declarations
    @property
    def profile(self) -> Profile:
        return self.results.profile

    @property
    def alpha(self) -> float:
        return float(self.settings.analysis.alpha) if self.settings else float(OPTIONS["alpha"].default)

    @property
    def _grading_key(self) -> str:
        """The study file's ``toxicity_grading`` (default: ASTCT)."""
        return str(self.settings.analysis.toxicity_grading if self.settings else OPTIONS["toxicity_grading"].default)

    @property
    def grading(self) -> str:
        """The grading system of CRS and ICANS, inside a sentence: 'the ASTCT consensus criteria'."""
        return TOXICITY_GRADING[self._grading_key]

    @property
    def grading_short(self) -> str:
        """The grading system's short name: 'ASTCT', 'CTCAE'."""
        return TOXICITY_GRADING_SHORT[self._grading_key]

    @property
    def flags(self) -> dict[str, bool]:
        """The metadata the documents' conditional content reads (``cartox.synthetic``...)."""
        return {
            "synthetic": self.results.is_synthetic,
            # ASTCT grading is cited (another system is named)
            "astct": self._grading_key == "astct",
            "mrd": "n_mrd_assessed" in self.results.counts,
            "placeholders": bool(self.placeholders),
            # neurotoxicity other than ICANS recorded (MM: parkinsonism, cranial nerve palsy)
            "other_neurotoxicity": bool(self.other_neurotoxicity_counts),
        }

    @property
    def title_block(self) -> str:
        flags = {"cartox": self.flags}
        if self.settings is None:
            return "---\n" + yaml.safe_dump(flags) + "---\n"
        return self.settings.metadata_block(flags)

    @property
    def supplement_title_block(self) -> str:
        """'Supplementary material', the manuscript's title as subtitle, the same flags."""
        flags = {"cartox": self.flags}
        if self.settings is None:
            return "---\n" + yaml.safe_dump({"title": "Supplementary material", **flags}) + "---\n"
        return self.settings.metadata_block(flags, title="Supplementary material", subtitle=self.settings.title)

    @property
    def title(self) -> str:
        """The manuscript's title (the study file's, escaped as text with its allowed styles)."""
        from analysis.inputs import usertext
        from analysis.inputs.studyfile import DEFAULT_TITLE

        return usertext.styled(self.settings.title if self.settings is not None else DEFAULT_TITLE)

    @property
    def byline(self) -> str:
        return self.settings.byline() if self.settings else ""

    @property
    def product(self) -> MarkdownText:
        """Methods' sentence on the product, from the study file: Markdown, each field escaped
        as text (an inline expression's ``text/markdown`` is inserted as it is by Quarto;
        a plain string would be escaped again, its own partial way)."""
        return self.settings.product_sentence() if self.settings else MarkdownText("")

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
        """The month of the data cut-off: 'March 2023' (month and year, never a day)."""
        return fmt_month(self.results.cutoff)

    def introduction(self, key: str) -> str:
        """A sentence of the profile's Introduction, with its citations (without its full stop)."""
        return self.profile.introduction[key]

    @property
    def effect(self) -> str:
        """The effect of CAR-T cells on the disease, inside a sentence: 'anti-lymphoma'."""
        return self.profile.effect

    @property
    def responders_phrase(self) -> str:
        """The profile's response rates in a sentence: 'the ORR and the CR rate'; for MM 'the
        ORR, the ≥VGPR rate, the ≥CR rate and the MRD-negative ≥CR rate' (a rate the registry
        does not collect is left out)."""
        return and_list(f"the {r.abbreviation}" for r in self._responders())

    def _responders(self, assessment: str | None = None):
        a = assessment or self.profile.primary_assessment
        return [r for r in self.profile.responders if (r.key, a, "all") in self.results.rates]

    def responder_name(self, key: str) -> str:
        """A responder definition inside a sentence: 'complete response', 'complete response or
        better (≥CR)'."""
        label = self.profile.responder(key).label
        return label[:1].lower() + label[1:]

    @property
    def rates_summary(self) -> str:
        """Every response rate of the profile with its 95% CI: 'the ORR was 82.2% (95% CI
        73.6–88.4%) and the CR rate 54.5% (95% CI 44.8–63.8%)'."""
        parts = []
        for i, r in enumerate(self._responders()):
            g = self.results.rates[(r.key, self.profile.primary_assessment, "all")].groups[0]
            value = f"{_pct(g.rate)} (95% CI {_ci(g.ci_low, g.ci_high)}%)"
            parts.append(f"the {r.abbreviation} {'was ' if i == 0 else ''}{value}")
        return and_list(parts)

    def rate_difference(self, responder: str, by: str, assessment: str | None = None) -> str:
        """The difference of a two-level grouping's rates, exposed minus reference: '11.6
        percentage points (95% CI −10.6 to 47.6)'."""
        r = self.results.rates[(responder, assessment or self.profile.primary_assessment, by)]
        d = r.difference
        if d is None or d.difference is None or d.ci_low is None or d.ci_high is None:
            reason = (d.reason if d is not None else None) or r.result.reason or "no two groups"
            return f"{NOT_ESTIMABLE} ({reason})"
        return (
            f"{_signed_points(d.difference)} percentage points "
            f"(95% CI {_signed_points(d.ci_low)} to {_signed_points(d.ci_high)})"
        )

    @property
    def demo_source(self) -> str:
        demo = self.profile.demo
        return demo.source if demo else ""

    # ------------------------------------------------------------------ counts
    def n(self, key: str, noun: str | None = None) -> str:
        """A count: '93'; with its ``noun``, singular for one: ``text.n("n_centers", "center")`` -> '1 center'."""
        if noun is not None:
            return fmt_count_noun(self.results.counts[key], noun)
        return f"{fmt_count(self.results.counts[key])}"

    def n_of(self, key: str, of: str = "n_patients") -> str:
        return fmt_n_of(self.results.counts[key], self.results.counts[of])

    @property
    def followup(self) -> str:
        f = self.results.followup
        if self.results.counts.get("n_patients") == 1:  # that patient's own follow-up
            return ONE_PATIENT
        if f.median_months is None:
            return f"{NOT_ESTIMABLE} ({f.reason})"
        return f"{fmt_months(f.median_months)} (95% CI {fmt_ci_bounds(f.ci_low, f.ci_high, f.not_estimable)})"

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
        text = and_list(parts)
        d = r.difference
        if d is not None and d.difference is not None and d.ci_low is not None and d.ci_high is not None:
            text += (
                f"; difference {fmt_signed(100 * d.difference)} percentage points "
                f"(95% CI {fmt_signed(100 * d.ci_low)} to {fmt_signed(100 * d.ci_high)})"
            )
        return text + f", {fmt_p(r.result.p, r.result.reason, alpha=self.alpha)}"

    def ordinal_p(self, by: str, assessment: str | None = None) -> str:
        d = self.results.distributions[(assessment or self.profile.primary_assessment, by)]
        return fmt_p(d.result.p, d.result.reason, alpha=self.alpha)

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
        return km_median(next(x for x in s.levels if x.key == level))  # as the B-ALL report words it

    def at(self, endpoint: str, months: int = 12) -> str:
        lv = self.results.survival[(endpoint, "all")].levels[0]
        return km_landmark(next(p for p in lv.landmarks if p.months == months))  # as the B-ALL report

    def logrank(self, endpoint: str, by: str) -> str:
        s = self.results.survival[(endpoint, by)]
        return fmt_p(s.logrank_p, s.reason, alpha=self.alpha)

    def hr(self, endpoint: str, by: str, name: bool = True) -> str:
        """The univariable hazard ratio of a two-level grouping, exposed against reference: 'HR
        0.66, 95% CI 0.26–1.66' (inside parentheses); ``name=False``: '0.66 (95% CI 0.26–1.66)'."""
        u = self.results.hazard_ratios[(endpoint, by)]
        h = u.hazard_ratios[0]
        if h.hr is None:
            return f"{'HR ' if name else ''}{NOT_ESTIMABLE} ({h.reason or u.reason})"
        text = _ratio("HR", h.hr, h.ci_low, h.ci_high)
        return _inline_ci(text) if name else text.removeprefix("HR ")

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
        return fmt_p(g.p, g.reason, alpha=self.alpha)

    def at_by(self, endpoint: str, by: str, months: int = 12) -> str:
        """The Kaplan–Meier estimate at ``months`` in each group of ``by`` (absolute risks, STROBE
        16c): '80.0% (95% CI 20.4–96.9%) among patients without CRS or ICANS, 36.2% (...) among
        patients with grade ≥3 CRS or severe ICANS and 38.7% (...) among the others (...)'."""
        parts = []
        for lv in self.results.survival[(endpoint, by)].levels:
            point = next((p for p in lv.landmarks if p.months == months), None)
            value = f"{NOT_ESTIMABLE} (no estimate)" if point is None else km_landmark(point)
            parts.append(f"{value} {among(lv.label)}")
        return and_list(parts)

    # ------------------------------------------------------------------ families of tests
    def _family(self, keys: list[tuple[str, float | None, str | None]]) -> TestSet:
        """A family of tests for one sentence (the B-ALL narrative's :class:`TestSet`): ``keys``
        are (label, p, reason) in test order."""
        hits = [(label, p) for label, p, _ in keys if p is not None and p < self.alpha]
        untested: dict[str, int] = {}
        for _, p, reason in keys:
            if p is None:
                untested[reason or "no test"] = untested.get(reason or "no test", 0) + 1
        return TestSet(
            n=len(keys),
            n_tested=sum(p is not None for _, p, _ in keys),
            significant=tuple(label for label, _ in hits),
            significant_p=tuple(f"{label} ({fmt_p(p, alpha=self.alpha)})" for label, p in hits),
            significant_groupings=tuple(dict.fromkeys(label.rsplit(" by ", 1)[-1] for label, _ in hits)),
            untested=tuple(untested.items()),
        )

    def _repeats(self, path: str) -> bool:
        """Whether the p-value table's row at ``path`` repeats an earlier row's test (the same
        patients in the same groups): counted once, as the table counts it."""
        table = self.results.pvalues
        return table is not None and any(r.path == path and r.same_as for r in table.rows)

    def _label(self, path: str, fallback: str) -> str:
        row = next((r for r in self.results.pvalues.rows if r.path == path), None) if self.results.pvalues else None
        return row.label if row is not None else fallback

    @property
    def main_tests(self) -> TestSet:
        """Every test of response or survival across toxicity groups — the family "efficacy by
        toxicity" of the p-value table: the ordinal test and the responder rates of each
        assessment, and the log-rank tests of PFS, DoR and OS, by each toxicity grouping."""
        r, keys = self.results, []
        for (a, g), d in r.distributions.items():
            if g in DISEASE_GROUPINGS:
                keys.append(
                    (self._label(f"distributions/{a}/{g}/result/p", f"{a} by {g}"), d.result.p, d.result.reason)
                )
        for (resp, a, g), rates in r.rates.items():
            if g in DISEASE_GROUPINGS:
                label = self._label(f"rates/{resp}/{a}/{g}/result/p", f"{resp} by {g}")
                keys.append((label, rates.result.p, rates.result.reason))
        for (e, g), comparison in r.survival.items():
            if g in DISEASE_GROUPINGS and not self._repeats(f"survival/{e}/{g}/logrank_p"):
                keys.append(
                    (self._label(f"survival/{e}/{g}/logrank_p", f"{e} by {g}"), comparison.logrank_p, comparison.reason)
                )
        return self._family(keys)

    @property
    def landmark_tests(self) -> TestSet:
        """The log-rank tests from the landmark: PFS and OS by CRS and by ICANS."""
        keys = []
        for (e, g), lm in self.results.landmark.items():
            s = lm.survival
            label = f"{endpoint_of(e).abbreviation} by {GROUPINGS[g].title}"
            keys.append((label, None if s is None else s.logrank_p, lm.reason or (s.reason if s else None)))
        return self._family(keys)

    # ------------------------------------------------------------------ the cohort flow, the course
    def flow(self, key: str) -> str:
        """A count of the cohort flow (:class:`~analysis.report.cohort_flow.DiseaseFlow`):
        ``text.flow("responders")`` -> '83'."""
        return fmt_count(getattr(self.results.flow, key))

    def flow_of(self, key: str, of: str = "infused") -> str:
        """A count of the flow with its denominator: '83 of 101 (82.2%)'."""
        flow = self.results.flow
        return fmt_n_of(getattr(flow, key), getattr(flow, of))

    def onset(self, toxicity: str) -> str:
        """The onset day of CRS or ICANS among the patients with it: 'day 3 (range 1–11)'."""
        row = next(r for r in self.results.onset if r.column == f"{toxicity}_onset_day")
        if row.median is None:
            return f"{NOT_ESTIMABLE} (no patient with {toxicity.upper()})"
        from analysis.report.formatting import fmt_median_range

        return "day " + fmt_median_range(row.median, row.min, row.max).replace(" (", " (range ", 1)

    @property
    def other_neurotoxicity_counts(self) -> str:
        """Neurotoxicity other than ICANS, where recorded: 'parkinsonism in 2 of 128 (1.6%) and
        cranial nerve palsy in 3 of 128 (2.3%)' ('' when the registry records none)."""
        c = self.results.counts
        parts = [
            f"{name} in {fmt_n_of(c[key], c['n_patients'])}"
            for key, name in (("n_parkinsonism", "parkinsonism"), ("n_cranial_nerve_palsy", "cranial nerve palsy"))
            if key in c
        ]
        return and_list(parts)

    @property
    def smallest_severity_group(self) -> str:
        """The smallest group of the severity comparison: 'no CRS or ICANS (5 patients)'."""
        levels = self.results.survival[("pfs", "severity")].levels
        lv = min(levels, key=lambda x: x.n)
        return f"{in_sentence(lv.label)} ({fmt_count(lv.n)} {'patient' if lv.n == 1 else 'patients'})"

    def course_table(self) -> tables.Table:
        """The course after infusion (corticosteroids, tocilizumab) for all patients and by CRS,
        ICANS and the severity group; not tested where a group cannot have the treatment (the
        B-ALL course table's rule, :meth:`analysis.registry.concepts.Variable.tested_by`)."""
        columns = [
            c
            for c, _, _ in self.profile.course_table
            if any((c, g) in self.results.course_by for g in TABLE1_GROUPINGS)
        ]
        return tables.table1(
            self.results.course_by,
            TABLE1_GROUPINGS,
            overall=table1_overall(self.results),
            variables=columns,
            first="After infusion",
            definitions={c: self.profile.table1_variable(c) for c in columns},
        )

    # ------------------------------------------------------------------ tables (Markdown)
    def table1(self) -> tables.Table:
        """Table 1: the profile's baseline characteristics for all patients and by CRS, ICANS and
        the severity group, with their tests (the B-ALL Table 1's builder and tests)."""
        columns = [
            c
            for c, _, _ in self.profile.baseline_table1
            if any((c, g) in self.results.table1_by for g in TABLE1_GROUPINGS)
        ]
        return tables.table1(
            self.results.table1_by,
            TABLE1_GROUPINGS,
            overall=table1_overall(self.results),
            variables=columns,
            definitions={c: self.profile.table1_variable(c) for c in columns},
        )

    def rates_table(self, assessment: str | None = None) -> str:
        """Responder rates (Wilson 95% CI) per toxicity group, with the test of each grouping."""
        assessment = assessment or self.profile.primary_assessment
        responders = [r for r in self.profile.responders if (r.key, assessment, "all") in self.results.rates]
        head = "| Group | n | " + " | ".join(f"{r.abbreviation}, n (%; 95% CI)" for r in responders) + " |"
        lines = [head, ""]  # the separator, sized below

        def cells(rates, i, n):
            """'33 (26.6%; ...)', or '33/124 (26.6%; ...)' when the rate's denominator is not the
            row's n (MRD-negative ≥CR: patients in ≥CR without an MRD result are left out)."""
            g = rates.groups[i]
            pct = None if g.rate is None else 100 * g.rate
            count = f"{g.events}" if g.n == n else f"{g.events}/{g.n}"
            return f"{count} ({fmt_pct(pct, missing=CELL_MISSING)}; {_ci(g.ci_low, g.ci_high)})"

        first = [self.results.rates[(r.key, assessment, "all")] for r in responders]
        n_all = first[0].groups[0].n
        lines.append(f"| All patients | {n_all} | " + " | ".join(cells(x, 0, n_all) for x in first) + " |")
        for by in DISEASE_GROUPINGS:
            rates = [self.results.rates[(r.key, assessment, by)] for r in responders]
            short = {lv.label: lv.row_label for lv in GROUPINGS[by].levels}  # defined under the table
            for i, g in enumerate(rates[0].groups):
                label = short.get(g.label, g.label)
                lines.append(f"| {label} | {g.n} | " + " | ".join(cells(x, i, g.n) for x in rates) + " |")
            lines.append(
                f"| *p ({GROUPINGS[by].title})* | | "
                + " | ".join(f"*{fmt_p_bare(x.result.p, x.result.reason)}*" for x in rates)
                + " |"
            )
        lines[1] = _sized_separator(lines[2:], n_columns=2 + len(responders))
        return "\n".join(lines) + self._rates_note

    @property
    def _rates_note(self) -> str:
        """Below the rates table: a rate left out because no patient at its levels had an MRD
        result, and what a 'k/n' cell means."""
        notes = []
        for key in self.results.mrd_not_assessed:
            r = self.profile.responder(key)
            notes.append(
                f"No patient in {'/'.join(r.levels)} had an MRD result: the {r.abbreviation} is not "
                "reported (0% would count only the patients below those levels)."
            )
        if any(r.mrd_column is not None for r in self._responders()):
            notes.append("k/n: the rate's own denominator where patients without an MRD result are left out of it.")
        shortened = [lv for by in DISEASE_GROUPINGS for lv in GROUPINGS[by].levels if lv.short]
        if shortened:
            notes.append("; ".join(f"{lv.short}: {lv.label[0].lower() + lv.label[1:]}" for lv in shortened) + ".")
        return "\n\n" + " ".join(notes) if notes else ""

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

    # ------------------------------------------------------------------ the multivariable model
    @property
    def model_covariates(self) -> str:
        """The model's covariates in a sentence: 'age (per year), ECOG performance status, Ann Arbor
        stage ≥3 (versus <3), ...'."""
        model = self.results.model
        if model is None:
            return "no covariate"
        phrases = [covariate_term_phrase(t, model) for t in model_terms(model) if t.exposure_level is None]
        return and_list(phrases) if phrases else "no covariate"

    @property
    def covariates_planned(self) -> bool:
        """Whether the covariates are the study file's (``analysis: covariates``): Methods then
        says so instead of the profile's reasons for its own."""
        return self.results.covariates_planned

    @property
    def confounders(self) -> str:
        """The model's covariates and those left out for having no value: 'age (per year), ...,
        bridging therapy (the IPI score was left out: no patient has a value)'."""
        return self.model_covariates + self.covariates_unavailable

    @property
    def eligibility_and_product(self) -> MarkdownText:
        """The declared eligibility criteria (or their placeholder), then the product sentence when
        there is one: never empty (an empty inline expression makes real Quarto print its code).
        Markdown, each study-file string escaped as text: Quarto inserts it as it is (a plain
        string it would escape again, printing the backslashes)."""
        eligibility = self.declared("eligibility")
        return MarkdownText(f"{eligibility} {self.product}" if self.product else str(eligibility))

    @property
    def covariates_unavailable(self) -> str:
        """'' or ' (the IPI score was left out: no patient has a value)'."""
        from analysis.registry.concepts import covariate_phrase

        left = self.results.covariates_unavailable
        if not left:
            return ""
        verb = "was" if len(left) == 1 else "were"
        return f" ({and_list(covariate_phrase(c) for c in left)} {verb} left out: no patient has a value)"

    @property
    def exposure_reference(self) -> str:
        exposure = self.results.model.exposure if self.results.model else "severity"
        return in_sentence(GROUPINGS[exposure].label(REFERENCE_LEVELS[exposure]))

    def _cox(self, endpoint: str, at: int | None = None):
        if at is None:
            return self.results.cox[endpoint]
        return self.results.landmark_models[(endpoint, at)].cox

    def _no_model_reason(self, endpoint: str, at: int | None = None) -> str | None:
        """Why a model was not fitted: a landmark model without patients after the landmark
        carries its reason ('no patient alive and event-free after day 30', attack 29/10)."""
        if at is None:
            return getattr(self.results.cox[endpoint], "reason", None)
        return self.results.landmark_models[(endpoint, at)].reason

    def exposure_hrs(self, endpoint: str, at: int | None = None, p: bool = True) -> str:
        """Every severity level against no CRS or ICANS: 'grade ≥3 CRS or severe ICANS had HR 1.01
        (95% CI 0.28–3.65), p = 0.982 and others (...) HR 1.16 (...), p = 0.815'; ``at``: the model
        at a landmark day (HRs without p: its joint test is printed)."""
        cox = self._cox(endpoint, at)
        if cox is None:
            why = self._no_model_reason(endpoint, at)
            return f"HR {NOT_ESTIMABLE}" + (f" ({why})" if why else "")
        parts = []
        for i, t in enumerate(cox.exposure_terms):
            if t.hr is None:
                hr = f"HR {NOT_ESTIMABLE} ({t.reason or cox.reason})"
            else:
                hr = _ratio("HR", t.hr, t.ci_low, t.ci_high) + (
                    f", {fmt_p(t.p, t.reason, alpha=self.alpha)}" if p else ""
                )
            parts.append(f"{in_sentence(t.label)} {'had ' if i == 0 else ''}{hr}")
        return and_list(parts)

    def exposure_p(self, endpoint: str, at: int | None = None) -> str:
        """The joint Wald test of the severity group's terms: 'p = 0.885'."""
        cox = self._cox(endpoint, at)
        if cox is None:
            return fmt_p(None, self._no_model_reason(endpoint, at))
        return fmt_p(cox.severity_global_p, cox.severity_global_reason or cox.reason, alpha=self.alpha)

    def exposure_verdict(self, endpoint: str, at: int | None = None) -> str:
        cox = self._cox(endpoint, at)
        if cox is None or cox.severity_global_p is None:
            return "could not be tested"
        return DIFFERED if cox.severity_global_p < self.alpha else NOT_DETECTED

    @property
    def not_estimable_terms(self) -> str:
        """'Bridging therapy could not be estimated (covariate constant ...).' or 'Every term ...'."""
        seen: dict[str, str] = {}
        for cox in self.results.cox.values():
            for t in cox.covariate_terms:
                if t.hr is None and t.label not in seen:
                    seen[t.label] = t.reason or cox.reason or ""
        if not seen:
            return "Every term of the models could be estimated."
        return " ".join(f"{label} could not be estimated ({why})." for label, why in seen.items())

    @property
    def any_missing_covariate(self) -> bool:
        return any(c.n_missing for c in self.results.cox.values())

    @property
    def missing_covariate_counts(self) -> str:
        return and_list(
            f"{fmt_count(c.n_missing)} {'patient' if c.n_missing == 1 else 'patients'} "
            f"for {endpoint_of(e).abbreviation}"
            for e, c in self.results.cox.items()
            if c.n_missing
        )

    def ph_p(self, endpoint: str) -> str:
        """The global proportional-hazards test (cox.zph) of a model: 'p = 0.723'."""
        cox = self.results.cox[endpoint]
        return fmt_p(cox.ph_test_global_p, cox.ph_test_reason or cox.reason, alpha=self.alpha)

    def cox_table(self) -> tables.Table:
        """The multivariable model for PFS and OS (the B-ALL Table 2's builder)."""
        return tables.table2(self.results.cox)

    def ph_table(self) -> tables.Table:
        """The proportional-hazards tests of the multivariable models (the supplement)."""
        return tables.ph_table(self.results.cox)

    def pvalue_table(self) -> tables.Table:
        """Every p-value of the analysis, by family, with Holm and BH adjustments (the supplement)."""
        return tables.pvalue_table(self._pvalues, ref=self.ref)

    def landmark_model_table(self) -> tables.Table:
        """The multivariable model refitted at the landmark, time from the landmark."""
        day = int(self.results.landmark_day or 0)
        fits = {e: self.results.landmark_models[(e, day)].cox for e in MODEL_ENDPOINTS}
        return tables.table2({e: c for e, c in fits.items() if c is not None})

    # ------------------------------------------------------------------ the landmark analysis
    @property
    def landmark_day(self) -> str:
        return str(self.results.landmark_day)

    def landmark_n(self, endpoint: str) -> str:
        """'93 of 101' patients alive, event-free and followed after the landmark."""
        lm = self.results.landmark[(endpoint, "crs")]
        return f"{fmt_count(lm.n)} of {fmt_count(lm.n_before)}"

    def landmark_excluded(self, endpoint: str) -> str:
        """'8 patients had progressed or died and 0 had no follow-up beyond it'."""
        lm = self.results.landmark[(endpoint, "crs")]
        event = "had died" if endpoint == "os" else "had progressed or died"
        noun = "patient" if lm.n_event_before == 1 else "patients"
        before, censored = fmt_count(lm.n_event_before), fmt_count(lm.n_censored_before)
        return f"{before} {noun} {event} and {censored} had no follow-up beyond it"

    def landmark_reclassified(self) -> str:
        n = self.results.landmark[("os", "crs")].n_reclassified
        if n == 0:
            return "no patient's CRS or ICANS began after the landmark"
        noun = "patient" if n == 1 else "patients"
        return f"{fmt_count(n)} {noun} whose CRS or ICANS began after it counted as without it"

    def landmark_result(self, endpoint: str, grouping: str) -> str:
        """'showed no statistically significant difference (log-rank p = 0.188; HR 0.54, 95% CI 0.21–1.37)'."""
        lm = self.results.landmark[(endpoint, grouping)]
        s = lm.survival
        if s is None or s.logrank_p is None:
            return f"could not be compared ({lm.reason or (s.reason if s else '')})"
        verdict = DIFFERED if s.logrank_p < self.alpha else NOT_DETECTED
        hr = lm.hazard_ratios[0] if lm.hazard_ratios else None
        effect = "; " + _inline_ci(_ratio("HR", hr.hr, hr.ci_low, hr.ci_high)) if hr and hr.hr is not None else ""
        return f"{verdict} (log-rank {fmt_p(s.logrank_p, alpha=self.alpha)}{effect})"


def _sized_separator(rows: list[str], n_columns: int) -> str:
    """The separator line of a pipe table whose columns are as wide as their longest cell
    (Pandoc's relative widths: the dashes; a narrow first column, a CI wrapped as "19.6–" /
    "35.0)", was the default of equal dashes): the first column left-aligned, the others right."""
    longest = [3] * n_columns
    for row in rows:
        cells = [c.strip().strip("*") for c in row.strip().strip("|").split(" | ")]
        for i, cell in enumerate(cells[:n_columns]):
            longest[i] = max(longest[i], len(cell))
    return "|:" + "-" * longest[0] + "|" + "|".join("-" * w + ":" for w in longest[1:]) + "|"
