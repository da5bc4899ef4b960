"""Inline numbers and verdicts for the prose, read from the results object.

The manuscript writes `` `{python} text.n_of("n_crs")` `` instead of typing
"76 of 93 (81.7%)", and `` `{python} text.differ("os", by="crs")` `` instead
of typing a verdict, so a new data export rewrites the numbers *and* the words
that depend on them.

The sentences themselves live in ``sections/*.qmd``, where an editor sees them. This
module gives them numbers, verdict phrases and facts to choose wording from:
``text.choose(condition, "words if yes", "words if no")`` picks one of two wordings
written in the section (:meth:`Narrative.choose`), and :meth:`Narrative.tests`
summarises a family of tests (how many, whether any is significant, which).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from analysis.demo.reproduction import ReproductionTable, reproduce_results
from analysis.estimators.competing import CAUSES
from analysis.inputs.studyfile import StudySettings
from analysis.registry.concepts import ENDPOINTS, NO_KINETICS_REASON, OPTIONS, RESPONSES, VARIABLES, outcome_phrase
from analysis.registry.groups import GROUPINGS, TOXICITY_GROUPINGS
from analysis.report.export import results_to_dict
from analysis.report.formatting import (
    NOT_ESTIMABLE,
    fmt_ci,
    fmt_date,
    fmt_hr,
    fmt_median_range,
    fmt_months,
    fmt_n_of,
    fmt_p,
    fmt_pct,
    is_missing,
)
from analysis.report.results import Results

#: Verdict phrases: a non-significant test is never worded as equivalence (issue 10).
DIFFERED = "differed significantly"
NOT_DETECTED = "showed no statistically significant difference"


#: How a sentence names the kinetics outcome ("peak" in ``text.p("peak", by=...)``).
PEAK_PHRASE = "peak expansion"



@dataclass(frozen=True)
class TestSet:
    """A family of tests that one sentence sums up (:meth:`Narrative.tests`).

    >>> family = text.tests(["cr", "os"], by=["tocilizumab", "steroids"])
    >>> family.n, family.any          # 4 tests; any significant? (None: none could be run)
    (4, False)
    >>> family.listed_p               # the significant ones, in test order
    'CR by tocilizumab (p = 0.010)'
    """

    n: int  # tests in the family (those that could not be run included)
    n_tested: int  # tests with a p-value
    significant: tuple[str, ...]  # 'OS by concurrent CRS and ICANS', in test order
    significant_p: tuple[str, ...]  # the same with '(p = 0.010)'
    significant_groupings: tuple[str, ...]  # their groupings, in a sentence, each once

    __test__ = False  # not a pytest class

    @property
    def any(self) -> bool | None:
        """True when at least one test is significant, False when none is, None when no test ran."""
        return None if self.n_tested == 0 else bool(self.significant)

    @property
    def n_significant(self) -> int:
        return len(self.significant)

    @property
    def listed(self) -> str:
        """'CR by CRS, OS by concurrent CRS and ICANS' ('' when none is significant)."""
        return ", ".join(self.significant)

    @property
    def listed_p(self) -> str:
        """'CR by tocilizumab (p = 0.010), OS by steroids (p = 0.031)'."""
        return ", ".join(self.significant_p)

    @property
    def groupings(self) -> str:
        """'CRS, CRS/ICANS severity': the groupings with a significant test."""
        return ", ".join(self.significant_groupings)


class UnknownKey(ValueError):
    """An inline expression names a comparison, count or outcome the results do not have;
    the message lists the valid names (instead of a bare ``KeyError: 'age_crs'``)."""


def _pick(items, name: str, value, attribute: str = "key"):
    """The item whose ``attribute`` is ``value``; an unknown value lists the valid ones
    (instead of a bare StopIteration from ``next``)."""
    for item in items:
        if getattr(item, attribute) == value:
            return item
    valid = ", ".join(repr(getattr(item, attribute)) for item in items)
    raise UnknownKey(f"unknown {name} {value!r}; the {name}s are: {valid}")


def _entry(store: Mapping[Any, Any], what: str, key):
    """``store[key]``; an unknown key lists the valid ones: for an (outcome, grouping) key,
    the groupings of that outcome, or the outcomes when the outcome itself is unknown."""
    if key in store:
        return store[key]
    if isinstance(key, tuple):
        outcome, grouping = key
        groupings = [k[1] for k in store if k[0] == outcome]
        if groupings:
            raise UnknownKey(f"no {what} of {outcome!r} by {grouping!r}; the groupings are: {', '.join(groupings)}")
        outcomes = list(dict.fromkeys(k[0] for k in store))
        raise UnknownKey(f"no {what} of {outcome!r}; the outcomes are: {', '.join(outcomes)}")
    raise UnknownKey(f"no {what} {key!r}; the valid names are: {', '.join(map(str, store))}")


@dataclass(frozen=True)
class Narrative:
    results: Results
    #: The study file's settings (title, product, alpha...); None: the defaults.
    settings: StudySettings | None = None

    @property
    def alpha(self) -> float:
        """The significance level of every verdict (``analysis: alpha`` in the study file;
        default :data:`analysis.registry.concepts.OPTIONS`): ``text.alpha`` -> 0.05."""
        return self.settings.analysis.alpha if self.settings is not None else OPTIONS["alpha"].default

    @property
    def alpha_level(self) -> str:
        """The significance level as prose writes it: '5%'."""
        return f"{self.alpha * 100:g}%"

    # --- the study ----------------------------------------------------------------------
    @property
    def has_kinetics(self) -> bool:
        """Whether a kinetics table was analysed: ``text.choose(text.has_kinetics, "response,
        expansion or survival", "response or survival")``."""
        return self.results.kinetics_reason is None

    @property
    def title_block(self) -> str:
        """Title, subtitle and date as a metadata block (see StudySettings.metadata_block),
        with the flags the sections' conditional content reads (``cartox.kinetics``,
        ``cartox.reproduction``, ``cartox.synthetic``: the notice of report.qmd)."""
        flags = {"cartox": {"kinetics": self.has_kinetics, "reproduction": self.show_reproduction,
                            "synthetic": self.results.is_synthetic}}
        if self.settings is None:
            return "---\n" + yaml.safe_dump(flags) + "---\n"
        return self.settings.metadata_block(flags)

    @property
    def kinetics_reason(self) -> str:
        """Why there is no kinetics analysis ('' when there is one):
        ``CAR-T expansion was not analysed: `{python} text.kinetics_reason`.`` ->
        'CAR-T expansion was not analysed: no CAR-T kinetics table was supplied.'"""
        if self.has_kinetics:
            return ""
        return self.results.kinetics_reason or NO_KINETICS_REASON

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

    # --- counts -------------------------------------------------------------------------
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

    # --- p-values -----------------------------------------------------------------------
    #: What an editor compares: a response, a survival endpoint, the kinetics peak or a
    #: Table 1 variable, always ``by`` a grouping of :data:`analysis.registry.groups.GROUPINGS`.
    OUTCOMES = (*RESPONSES, *ENDPOINTS, "peak", *CAUSES, *VARIABLES)
    _TABLES = ("table1", "response", "kinetics", "survival", "competing", "landmark")

    def _locate(self, what: str, key=None, by: str | None = None, at: str | None = None) -> tuple[str, object]:
        """(table, key) of a comparison, from the editor's ``("os", by="crs")`` (``at="landmark"``
        for the landmark analysis) or the older ``("survival", ("os", "crs"))``; an unknown name
        lists the valid ones."""
        if at not in (None, "landmark"):
            raise UnknownKey(f"at={at!r}: the only other analysis is at='landmark'")
        if by is None:
            if what not in self._TABLES or key is None:
                raise UnknownKey(f"name the comparison as text.p(OUTCOME, by=GROUPING), e.g. "
                                 f'text.p("os", by="crs"); OUTCOME is one of: {", ".join(self.OUTCOMES)}')
            table = what
        else:
            if by not in GROUPINGS:
                raise UnknownKey(f"unknown grouping {by!r}; the groupings are: {', '.join(GROUPINGS)}")
            if at == "landmark":
                if what not in ENDPOINTS:
                    raise UnknownKey(f"the landmark analysis compares {', '.join(ENDPOINTS)}, not {what!r}")
                table, key = "landmark", (what, by)
            elif what in RESPONSES:
                table, key = "response", (what, by)
            elif what in ENDPOINTS:
                table, key = "survival", (what, by)
            elif what == "peak":
                table, key = "kinetics", by
            elif what in CAUSES:
                table, key = "competing", (what, by)
            elif what in VARIABLES:
                table, key = "table1", (what, by)
            else:
                raise UnknownKey(f"unknown outcome {what!r}; the outcomes are: {', '.join(self.OUTCOMES)}")
        stores: dict[str, Mapping[Any, object]] = {
            "table1": self.results.table1, "response": self.results.response,
            "kinetics": self.results.kinetics_peak, "survival": self.results.survival,
            "landmark": self.results.landmark,
            "competing": {(c, g): r for g, r in self.results.competing.items() if g in GROUPINGS for c in r.causes}}
        store = stores[table]
        if key not in store:
            valid = sorted({k[1] if isinstance(k, tuple) else k for k in store})
            raise UnknownKey(f"no {table} comparison {key!r}; the groupings it has are: {', '.join(valid)}")
        return table, key

    def _p(self, table: str, key):
        if table == "table1":
            r = self.results.table1[key].result
        elif table == "response":
            r = self.results.response[key].result
        elif table == "kinetics":
            if self.results.kinetics_reason:
                return None, NO_KINETICS_REASON
            r = self.results.kinetics_peak[key].result
        elif table == "survival":
            s = self.results.survival[key]
            return s.logrank_p, s.reason
        elif table == "competing":
            cause, grouping = key
            gray = self.results.competing[grouping].causes[cause].gray
            return gray.p, gray.reason
        elif table == "landmark":
            lm = self.results.landmark[key]
            if lm.survival is None:
                return None, lm.reason
            return lm.survival.logrank_p, lm.survival.reason
        else:
            raise KeyError(table)
        return r.p, r.reason

    def p(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """Formatted p-value of a comparison.

        >>> text.p("os", by="crs")        # log-rank test of OS by CRS
        'p = 0.924'
        >>> text.p("cr", by="icans")      # CR rate by ICANS (chi-square or Fisher)
        >>> text.p("peak", by="crs")      # peak CAR-T copies (Mann-Whitney)
        >>> text.p("age", by="crs")       # a Table 1 variable
        >>> text.p("relapse", by="crs")   # Gray's test of the cumulative incidence ("nrm": NRM)
        'p = 0.245'
        >>> text.p("os", by="crs", at="landmark")   # log-rank test from the landmark
        'p = 0.976'
        """
        p, reason = self._p(*self._locate(what, key, by, at))
        return fmt_p(p, reason)

    def significant(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> bool | None:
        """True/False at the report's alpha; None when there is no test.
        ``text.significant("os", by="crs")``, ``text.significant("relapse", by="icans")``."""
        p, _ = self._p(*self._locate(what, key, by, at))
        return None if p is None else p < self.alpha

    def differ(self, what: str, key=None, yes: str = DIFFERED, no: str = NOT_DETECTED, *,
               by: str | None = None) -> str:
        """A verdict phrase that follows the test: ``text.differ("os", by="crs")`` ->
        'showed no statistically significant difference' or 'differed significantly';
        ``yes=``/``no=`` choose other words for the same verdict."""
        verdict = self.significant(what, key, by=by)
        if verdict is None:
            return "could not be compared"
        return yes if verdict else no

    def differ_all(self, what: str, keys=None, yes: str = "differed significantly in at least one comparison",
                   no: str = NOT_DETECTED, *, by=None) -> str:
        """One verdict for a sentence that lists several tests: 'no' only when none is
        significant. ``text.differ_all("peak", by=["crs", "icans"])``."""
        if by is not None:
            verdicts = [self.significant(what, by=g) for g in by]
        else:
            verdicts = [self.significant(what, key) for key in keys]
        if any(verdicts):
            return yes
        if all(v is None for v in verdicts):
            return "could not be compared"
        return no

    def table1_significant(self, grouping: str) -> list[str]:
        """Table 1 variables whose p-value is below alpha for a grouping:
        ``text.table1_significant("crs")`` -> ['il6_peak_pg_ml', 'steroids', ...]."""
        return [
            v
            for (v, g), c in self.results.table1.items()
            if g == grouping and c.result.p is not None and c.result.p < self.alpha
        ]

    def table1_differences(self, grouping: str) -> str:
        """'peak IL-6 (p < 0.001) and steroid use (p < 0.001)', or 'none of the characteristics'."""
        items = [
            f"{VARIABLES[v].phrase} ({self.p('table1', (v, grouping))})" for v in self.table1_significant(grouping)
        ]
        if not items:
            return "none of the characteristics"
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    # --- survival and Cox ---------------------------------------------------------------
    def followup(self) -> str:
        """Median follow-up (reverse Kaplan–Meier) with its CI: ``text.followup()`` ->
        '37.2 months (95% CI 28.6–52.6)'."""
        fu = self.results.followup
        if fu.median_months is None:
            return f"not estimable ({fu.reason})"
        return f"{fmt_months(fu.median_months)} (95% CI {fmt_ci_bounds(fu.ci_low, fu.ci_high)})"

    def hr(self, endpoint: str, term: str) -> str:
        """'HR 2.02 (95% CI 0.65–6.26), p = 0.222' for a Table 2 term."""
        cox = _entry(self.results.cox, "Cox model", endpoint)
        t = _pick(cox.terms, "term", term)
        if t.hr is None:
            return f"HR not estimable ({t.reason or cox.reason})"
        return f"{_ratio('HR', t.hr, t.ci_low, t.ci_high)}, {fmt_p(t.p, t.reason)}"

    def lowest_cr_rate(self) -> str:
        """The lowest CR rate of any toxicity-group level: '17 of 19 (89.5%), in the group “CRS grade ≥3”'."""
        levels = [
            level
            for grouping in TOXICITY_GROUPINGS
            for level in self.results.response[("cr", grouping)].levels
            if level.n > 0 and level.rate is not None  # the rate is None only for an empty group
        ]
        worst = min(levels, key=lambda level: level.rate or 0.0)
        return f"{fmt_n_of(worst.events, worst.n)}, in the group “{worst.label}”"

    def differ_severity(self) -> str:
        """Joint Wald test of the severity group in both Cox models, as a verdict phrase:
        ``the severity group as a whole `{python} text.differ_severity()` `` -> 'showed no
        statistically significant association with OS (p = 0.479) or LFS (p = 0.807)'."""
        ps = [self.results.cox[e].severity_global_p for e in ENDPOINTS]
        tested = [p for p in ps if p is not None]
        if len(tested) < len(ps):
            return "could not be tested in both models"
        if all(p >= self.alpha for p in tested):
            return (f"showed no statistically significant association with OS ({self.severity_p('os')}) or LFS "
                    f"({self.severity_p('lfs')})")
        return f"was associated with outcome (OS {self.severity_p('os')}, LFS {self.severity_p('lfs')})"

    # --- families of tests and the choice of words ---------------------------------------
    def _outcome_phrase(self, what: str) -> str:
        if what in CAUSES:
            return in_sentence(CAUSES[what][1])
        return PEAK_PHRASE if what == "peak" else VARIABLES[what].phrase if what in VARIABLES else outcome_phrase(what)

    def tests(self, what, by) -> TestSet:
        """A family of tests (each outcome ``what`` by each grouping ``by``), summed up for one
        sentence; the peak-expansion tests count only when there is a kinetics table.

        >>> text.tests(["cr", "os"], by=["tocilizumab", "steroids"]).any
        False
        >>> text.tests("peak", by=["crs", "icans"]).groupings     # those that differed
        'CRS'
        """
        outcomes = [what] if isinstance(what, str) else list(what)
        groupings = [by] if isinstance(by, str) else list(by)
        keys = [(o, g) for g in groupings for o in outcomes if o != "peak" or self.has_kinetics]
        verdicts = [self.significant(o, by=g) for o, g in keys]
        hits = [(o, g) for (o, g), v in zip(keys, verdicts) if v]
        named = [f"{self._outcome_phrase(o)} by {in_sentence(GROUPINGS[g].title)}" for o, g in hits]
        return TestSet(
            n=len(keys),
            n_tested=sum(v is not None for v in verdicts),
            significant=tuple(named),
            significant_p=tuple(f"{name} ({self.p(o, by=g)})" for name, (o, g) in zip(named, hits)),
            significant_groupings=tuple(dict.fromkeys(in_sentence(GROUPINGS[g].title) for _, g in hits)),
        )

    @property
    def main_tests(self) -> TestSet:
        """Every toxicity-versus-efficacy test of the report: CR, MRD-negative CR, OS and LFS by
        each toxicity grouping (``text.main_tests.n`` -> 24)."""
        return self.tests([*RESPONSES, *ENDPOINTS], by=TOXICITY_GROUPINGS)

    @property
    def kinetics_tests(self) -> TestSet:
        """Peak expansion by CRS, ICANS, severity and concurrent CRS and ICANS:
        ``text.kinetics_tests.groupings`` -> 'CRS, CRS/ICANS severity' (those that differed)."""
        return self.tests("peak", by=["crs", "icans", "severity", "concurrent"])

    @property
    def treatment_tests(self) -> TestSet:
        """CR, peak expansion (with a kinetics table), OS and LFS by tocilizumab and by steroids:
        ``text.treatment_tests.n`` -> 8 (6 without a kinetics table)."""
        return self.tests(["cr", "peak", "os", "lfs"], by=["tocilizumab", "steroids"])

    @staticmethod
    def choose(condition: bool | None, yes: str, no: str, untested: str | None = None) -> str:
        """One of two wordings written in the section, chosen by a result.

        ``condition`` is a verdict (``text.significant("os", by="crs")``, ``text.tests(...).any``)
        or any fact of the results (``R.is_synthetic``); ``untested`` is used when it is None
        (no test was possible), else ``no``::

            `{python} text.choose(text.main_tests.any, "some comparisons reached significance",
                                  "no significant difference was detected")`

        Write the verdict words the test allows: a non-significant test is "no significant
        difference was detected", never "no difference" or "similar".
        """
        if condition is None:
            return no if untested is None else untested
        return yes if condition else no

    @property
    def censor_marks(self) -> bool | None:
        """Whether the Kaplan–Meier figures mark censored patients with crosses: True on every
        panel, False on none, None on some (:func:`analysis.report.figures.report_censor_marks`)::

            `{python} text.choose(text.censor_marks, "Crosses mark ...", "... not marked ...",
                                  untested="... on the panels with at most ...")`
        """
        from analysis.report.figures import report_censor_marks  # matplotlib: only when the sentence is written

        return report_censor_marks(self.results)

    @property
    def max_censor_marks(self) -> str:
        """The most distinct censoring times a curve may have for its panel to be marked: "100"."""
        from analysis.report.figures import MAX_CENSOR_MARKS

        return f"{MAX_CENSOR_MARKS:,}"

    @property
    def any_significant_term(self) -> bool | None:
        """Whether any term of either Cox model is significant (None: no term has a p-value):
        ``text.choose(text.any_significant_term, "Significant ... were ...", "No term ...")``."""
        ps = [t.p for e in ENDPOINTS for t in self.results.cox[e].terms if t.p is not None]
        return None if not ps else any(p < self.alpha for p in ps)

    def significant_terms(self, endpoint: str, none: str = "none") -> str:
        """Cox terms with a Wald p below alpha, as a phrase: ``text.significant_terms("os")`` ->
        'Received steroids and BM blasts ≥20% vs <20%'; ``none`` when there are none."""
        terms = [t.label for t in self.results.cox[endpoint].terms if t.p is not None and t.p < self.alpha]
        if not terms:
            return none
        return terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + " and " + terms[-1]

    def severity_p(self, endpoint: str) -> str:
        """Joint Wald p of the severity group in a Cox model: ``text.severity_p("os")`` -> 'p = 0.479'."""
        cox = self.results.cox[endpoint]
        return fmt_p(cox.severity_global_p, cox.severity_global_reason or cox.reason)

    def ph_p(self, endpoint: str) -> str:
        """'p = 0.412', or 'no test (reason)' when the test cannot be computed."""
        cox = self.results.cox[endpoint]
        if cox.ph_test_global_p is None:
            return f"no test ({cox.ph_test_reason or cox.reason})"
        return fmt_p(cox.ph_test_global_p)

    @property
    def cutoff(self) -> str:
        """The data cut-off as a reader writes it: '1 March 2023'."""
        return fmt_date(self.results.cutoff)

    # --- appendix -----------------------------------------------------------------------
    @cached_property
    def reproduction(self) -> ReproductionTable:
        """The publication's numbers against this report's (:func:`analysis.demo.reproduction.reproduce_results`):
        ``text.reproduction.summary.exact`` -> '27' numbers reproduced exactly as printed;
        ``tables.reproduction_table(text.reproduction)`` shows every row."""
        return reproduce_results(results_to_dict(self.results))

    # --- effect sizes (estimate and 95% CI beside every p) ------------------------------
    def _summary(self, endpoint: str, grouping: str = "all", level: str | None = None):
        comparison = _entry(self.results.survival, "survival comparison", (endpoint, grouping))
        if level is None:
            if len(comparison.levels) != 1:
                raise ValueError(f"grouping {grouping!r} has several levels: name one")
            return comparison.levels[0]
        return _pick(comparison.levels, "level", level)

    def median(self, endpoint: str, by: str = "all", level: str | None = None) -> str:
        """Median survival with its CI: ``text.median("os")`` for the cohort,
        ``text.median("os", by="crs", level="yes")`` for one group."""
        return self.median_survival(endpoint, by, level)

    def median_survival(self, endpoint: str, grouping: str = "all", level: str | None = None) -> str:
        """'24.4 months (95% CI 14.6–33.3)'; 'not reached' for a median or bound never reached."""
        km = self._summary(endpoint, grouping, level)
        if km.n == 0:
            return f"{NOT_ESTIMABLE} ({km.reason})"
        if km.median_months is None:
            low = "" if km.median_ci_low is None else f" (95% CI {fmt_ci_bounds(km.median_ci_low, None)})"
            return f"not reached{low}"
        return f"{fmt_months(km.median_months)} (95% CI {fmt_ci_bounds(km.median_ci_low, km.median_ci_high)})"

    def landmark(self, endpoint: str, months: int, grouping: str = "all", level: str | None = None) -> str:
        """Kaplan–Meier survival at a landmark with its log-scale 95% CI: '63.4% (95% CI 54.0–74.4)'."""
        km = self._summary(endpoint, grouping, level)
        lm = _pick(km.landmarks, "landmark month", months, "months")
        if lm.survival is None:
            return f"{NOT_ESTIMABLE} ({lm.reason})"
        if lm.ci_low is None or lm.ci_high is None:
            return f"{fmt_pct(100 * lm.survival)} (95% CI {NOT_ESTIMABLE})"
        low = fmt_pct(100 * lm.ci_low).rstrip("%")
        return f"{fmt_pct(100 * lm.survival)} (95% CI {low}–{fmt_pct(100 * lm.ci_high)})"

    def survival_hr(self, endpoint: str, grouping: str, level: str | None = None) -> str:
        """Univariable Cox HR against the reference level: 'HR 1.04 (95% CI 0.51–2.12)'.

        ``level`` defaults to the only non-reference level of a two-level grouping."""
        cox = _entry(self.results.survival_hr, "survival comparison", (endpoint, grouping))
        if level is None:
            if len(cox.hazard_ratios) != 1:
                raise ValueError(f"grouping {grouping!r} compares several levels: name one")
            hr = cox.hazard_ratios[0]
        else:
            hr = _pick(cox.hazard_ratios, "level", level, "level")
        if hr.hr is None:
            return f"HR {NOT_ESTIMABLE} ({hr.reason or cox.reason})"
        return _ratio("HR", hr.hr, hr.ci_low, hr.ci_high)

    def risk_difference(self, response: str, grouping: str) -> str:
        """Exposed minus reference rate, Newcombe 95% CI: '−9.2 percentage points (95% CI −17.8 to 9.8)'."""
        d = self.results.response_effects[(response, grouping)].difference
        if d.difference is None:
            return f"difference {NOT_ESTIMABLE} ({d.reason})"
        if d.ci_low is None or d.ci_high is None:
            return f"{_signed(100 * d.difference)} percentage points (95% CI {NOT_ESTIMABLE}: {d.reason})"
        return (f"{_signed(100 * d.difference)} percentage points "
                f"(95% CI {_signed(100 * d.ci_low)} to {_signed(100 * d.ci_high)})")

    def odds_ratio(self, response: str, grouping: str) -> str:
        """Conditional-MLE odds ratio with fisher.test's exact 95% CI: 'OR 0.49 (95% CI 0.07–5.64)'."""
        o = self.results.response_effects[(response, grouping)].odds_ratio
        if o.odds_ratio is None:
            return f"OR {NOT_ESTIMABLE} ({o.reason})"
        return _ratio("OR", o.odds_ratio, o.ci_low, o.ci_high)

    def effect(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """Estimate, CI and p of a comparison, for parentheses after a verdict.

        Survival: 'HR 0.95, 95% CI 0.46–1.94; p = 0.894' (two levels) or each level's HR
        against the reference then the log-rank p. Response, two levels: the risk difference
        and the odds ratio then the p; three levels: the p alone (the rates are in Figure 1).
        Competing risks: "Gray's test p = 0.245". Landmark (``at="landmark"``): 'log-rank
        p = 0.976; HR 1.01, 95% CI 0.50–2.07' (the HR for a two-level grouping).
        """
        table, key = self._locate(what, key, by, at)
        p_text = self.p(table, key)
        if table == "competing":
            return f"Gray's test {p_text}"
        if table == "landmark":
            lm = self.results.landmark[key]
            if lm.survival is None:
                return f"{NOT_ESTIMABLE}: {lm.reason}"
            parts = [f"log-rank {p_text}"]
            if len(lm.hazard_ratios) == 1:
                h = lm.hazard_ratios[0]
                parts.append(f"HR {NOT_ESTIMABLE} ({h.reason})" if h.hr is None
                             else _inline_ci(_ratio("HR", h.hr, h.ci_low, h.ci_high)))
            return "; ".join(parts)
        if table == "survival":
            endpoint, grouping = key
            cox = self.results.survival_hr[key]
            parts = []
            for hr in cox.hazard_ratios:
                text = _inline_ci(self.survival_hr(endpoint, grouping, hr.level))
                if len(cox.hazard_ratios) > 1:
                    text += f" for {GROUPINGS[grouping].label(hr.level)}"
                parts.append(text)
            if len(cox.hazard_ratios) > 1:
                parts[-1] += f", each versus {GROUPINGS[grouping].label(cox.reference)}"
            return "; ".join(parts + [p_text])
        if table == "response" and key in self.results.response_effects:
            response, grouping = key
            return "; ".join([
                "difference " + _inline_ci(self.risk_difference(response, grouping)),
                _inline_ci(self.odds_ratio(response, grouping)),
                p_text,
            ])
        return p_text

    def verdict(self, what: str, key=None, *, by: str | None = None, at: str | None = None, of: str = "") -> str:
        """'no significant difference was detected (HR 0.95, 95% CI 0.46–1.94; p = 0.894)'
        or 'a significant difference was found (...)': the words follow the test, the
        estimate and its CI follow the words. ``text.verdict("os", by="crs")``,
        ``text.verdict("cr", by="icans")``; ``of`` names what differs, inside the words:

        >>> text.verdict("relapse", by="crs", of="in the cumulative incidence of relapse")
        "no significant difference in the cumulative incidence of relapse was detected (Gray's test p = 0.245)"
        >>> text.verdict("os", by="crs", at="landmark", of="in OS")
        'no significant difference in OS was detected (log-rank p = 0.976; HR 1.01, 95% CI 0.50–2.07)'
        """
        table, key = self._locate(what, key, by, at)
        significant = self.significant(table, key)
        of = f" {of}" if of else ""
        if significant is None:
            words = f"no test of a difference{of} was possible" if of else "no test was possible"
        elif significant:
            words = f"a significant difference{of} was found"
        else:
            words = f"no significant difference{of} was detected"
        return f"{words} ({self.effect(table, key)})"

    def rate(self, response: str, grouping: str, level: str) -> str:
        """A response rate with its denominator and exact 95% CI: '69 of 76 (90.8%; 95% CI 81.9–96.2%)'."""
        lv = _pick(_entry(self.results.response, "response comparison", (response, grouping)).levels, "level", level)
        if lv.n == 0:
            return f"{NOT_ESTIMABLE} (no patient in the group “{lv.label}”)"
        if lv.rate is None or lv.ci_low is None or lv.ci_high is None:  # only for an empty group
            return f"{NOT_ESTIMABLE} (group “{lv.label}”)"
        ci = f"{fmt_pct(100 * lv.ci_low).rstrip('%')}–{fmt_pct(100 * lv.ci_high)}"
        return f"{lv.events:,} of {lv.n:,} ({fmt_pct(100 * lv.rate)}; 95% CI {ci})"

    def detectable_hr(self, endpoint: str, grouping: str) -> str:
        """Schoenfeld's smallest detectable HR with 80% power at the report's alpha:
        'a hazard ratio of 0.38 or below (or 2.66 or above)'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        if d.hr_below is None:
            return f"{NOT_ESTIMABLE} ({d.reason})"
        return f"a hazard ratio of {fmt_hr(d.hr_below)} or below (or {fmt_hr(d.hr_above)} or above)"

    def detectable_basis(self, endpoint: str, grouping: str) -> str:
        """What the detectable HR rests on: '55 events; 15 of 93 (16.1%) patients in the group
        “CRS and ICANS”; 80% power; two-sided alpha 0.05'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        comparison = self.results.survival[(endpoint, grouping)]
        reference = self.results.survival_hr[(endpoint, grouping)].reference
        (level,) = [lv for lv in comparison.levels if lv.key != reference]
        total = sum(lv.n for lv in comparison.levels)
        return (f"{d.events:,} events; {fmt_n_of(level.n, total)} patients in the group “{level.label}”; "
                f"{fmt_pct(100 * d.power, 0)} power; two-sided alpha {d.alpha:g}")

    # --- competing risks and the landmark analysis (issue 11) --------------------------
    def competing_count(self, key: str) -> str:
        """'43' for ``n`` (patients in CR), ``n_relapse`` or ``n_nrm`` of the CR cohort."""
        return f"{getattr(self.results.competing['all'], key):,}"

    def cif(self, cause: str, months: int, grouping: str = "all", level: str = "all") -> str:
        """'50.0% (95% CI 39.0–60.1%)' for the CIF of a cause at 12 or 24 months, or
        'not estimable (reason)'."""
        comparison = _entry(_entry(self.results.competing, "competing-risks grouping", grouping).causes, "cause", cause)
        lv = _pick(comparison.levels, "level", level)
        point = _pick(lv.points, "month", months, "months")
        if point.estimate is None:
            return f"not estimable ({point.reason})"
        value = fmt_pct(100 * point.estimate)
        if point.ci_low is None or point.ci_high is None:
            return f"{value} (95% CI not estimable: {point.reason})"
        return f"{value} (95% CI {fmt_pct(100 * point.ci_low).removesuffix('%')}–{fmt_pct(100 * point.ci_high)})"

    def gray_p(self, grouping: str, cause: str) -> str:
        """Gray's test of a cause's cumulative incidence: ``text.gray_p("crs", "relapse")`` -> 'p = 0.245'."""
        gray = self.results.competing[grouping].causes[cause].gray
        return fmt_p(gray.p, gray.reason)

    def competing_significant(self, cause: str, groupings=TOXICITY_GROUPINGS) -> list[str]:
        """Toxicity groupings whose Gray's test for ``cause`` is significant:
        ``text.competing_significant("relapse")`` -> [] (or ['crs', ...])."""
        out = []
        for g in groupings:
            p = self.results.competing[g].causes[cause].gray.p
            if p is not None and p < self.alpha:
                out.append(g)
        return out

    @property
    def landmark_day(self) -> str:
        """The landmark, days after infusion (``analysis: landmark_day``): ``day `{python}
        text.landmark_day` `` -> 'day 30'."""
        return str(self.results.landmark_day)

    def landmark_n(self, endpoint: str, grouping: str = "crs") -> str:
        """'92 of 93 patients' at the landmark (alive, event-free and followed after it)."""
        lm = self.results.landmark[(endpoint, grouping)]
        return f"{lm.n:,} of {lm.n_before:,}"

    def landmark_excluded(self, endpoint: str, grouping: str = "crs") -> str:
        """'1 patient had died and 0 were no longer followed' on or before the landmark."""
        lm = self.results.landmark[(endpoint, grouping)]
        event = "had died" if endpoint == "os" else "had relapsed or died"
        if lm.n_event_before == 0 and lm.n_censored_before == 0:
            return ("no patient had died or left follow-up before it" if endpoint == "os"
                    else "no patient had relapsed, died or left follow-up before it")
        noun = "patient" if lm.n_event_before == 1 else "patients"
        return f"{lm.n_event_before:,} {noun} {event} and {lm.n_censored_before:,} had no follow-up beyond it"

    def landmark_reclassified(self, grouping: str = "crs") -> str:
        """Patients at the OS landmark whose CRS or ICANS began after it (counted as none):
        'no patient's CRS or ICANS began after the landmark' or '5 patients whose ... counted as without it'."""
        n = self.results.landmark[("os", grouping)].n_reclassified
        if n == 0:
            return "no patient's CRS or ICANS began after the landmark"
        noun = "patient" if n == 1 else "patients"
        return f"{n:,} {noun} whose CRS or ICANS began after the landmark counted as without it"

def _ratio(name: str, estimate, low, high) -> str:
    """'HR 2.02 (95% CI 0.65–6.26)'; a missing or infinite bound: 'HR 2.02 (95% CI not estimable)'."""
    if is_missing(low) or is_missing(high):
        return f"{name} {fmt_hr(estimate)} (95% CI {NOT_ESTIMABLE})"
    return f"{name} {fmt_hr(estimate)} (95% CI {fmt_ci(low, high)})"


def _inline_ci(text: str) -> str:
    """'HR 1.04 (95% CI 0.51–2.12)' -> 'HR 1.04, 95% CI 0.51–2.12' (inside parentheses already)."""
    head, sep, ci = text.partition(" (95% CI ")
    return f"{head}, 95% CI {ci[:-1]}" if sep and ci.endswith(")") else text


def _signed(x: float) -> str:
    """One decimal with a true minus sign: '−9.2', '9.8', '0.0'."""
    text = fmt_pct(x).rstrip("%")
    return text.replace("-", "\u2212")


def in_sentence(title: str) -> str:
    """A grouping title inside a sentence: 'Concurrent CRS and ICANS' -> 'concurrent CRS and
    ICANS'; an acronym ('CRS grade') keeps its capitals."""
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        return title[0].lower() + title[1:]
    return title


def fmt_ci_bounds(low, high) -> str:
    """'26.6–50.0' with 'not reached' for a missing upper bound."""
    lo = "not reached" if low is None else f"{low:.1f}"
    hi = "not reached" if high is None else f"{high:.1f}"
    return f"{lo}–{hi}"
