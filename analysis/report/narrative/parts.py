"""The common ground of the narrative's families: the results and settings every part reads,
the significance level, and the helpers that word a missing name or an interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.inputs.studyfile import StudySettings
from analysis.registry.concepts import OPTIONS
from analysis.report.formatting import (
    NOT_ESTIMABLE,
    and_list,
    fmt_count,
    fmt_months,
    fmt_number,
    fmt_pct,
    fmt_ratio_ci,
    fmt_signed,
    is_missing,
    number_words,
    sentence_start,
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
    #: Why the others could not be run: (reason, how many), in test order.
    untested: tuple[tuple[str, int], ...] = ()
    #: the significant tests as (outcome, grouping) in a sentence, in test order
    significant_by: tuple[tuple[str, str], ...] = ()
    #: comparisons left out of ``n`` because they repeat another's test (the same patients in
    #: the same groups: concurrent CRS and ICANS is ICANS when everyone had CRS)
    n_repeats: int = 0
    #: The significant tests with the test that gave each p: 'LFS by CRS (log-rank p = 0.007)'.
    significant_named: tuple[str, ...] = ()
    #: The tests that ran and were not significant, likewise named.
    not_significant_named: tuple[str, ...] = ()
    #: The significant tests as (outcome key, grouping key), in test order.
    significant_keys: tuple[tuple[str, str], ...] = ()

    __test__ = False  # not a pytest class

    @property
    def any(self) -> bool | None:
        """True when at least one test is significant, False when none is, None when no test ran."""
        return None if self.n_tested == 0 else bool(self.significant)

    @property
    def n_significant(self) -> int:
        return len(self.significant)

    @property
    def significant_of(self) -> str:
        """How many of the family were significant, after 'in' or before 'comparisons': '2 of
        the 3', 'all 3', 'both', 'the one' (never '3 of the 3')."""
        k = self.n_significant
        if k == self.n and k > 0:
            return {1: "the one", 2: "both"}.get(k, f"all {fmt_count(k)}")
        return f"{fmt_count(k)} of the {fmt_count(self.n)}"

    @property
    def n_significant_or_all(self) -> str:
        """After 'Of the 3 comparisons, ': 'all' (or 'both') when every one was significant,
        else the count ('2')."""
        k = self.n_significant
        if k == self.n and k > 1:
            return "both" if k == 2 else "all"
        return fmt_count(k)

    @property
    def untested_note(self) -> str:
        """' (2 could not be computed)' when some tests of the family could not be run, else ''
        (for a sentence that counts the family: "Of the 8 comparisons (2 could not be computed), ...")."""
        missing = self.n - self.n_tested
        notes = [f"{fmt_count(missing)} could not be computed"] if missing else []
        if self.n_repeats:
            notes.append(
                f"{fmt_count(self.n_repeats)} more {'repeats' if self.n_repeats == 1 else 'repeat'} the test of "
                "another grouping, with the same patients in the same groups"
            )
        return f" ({'; '.join(notes)})" if notes else ""

    @property
    def listed(self) -> str:
        """'CR by CRS and OS by concurrent CRS and ICANS' ('' when none is significant)."""
        return and_list(self.significant)

    @property
    def listed_p(self) -> str:
        """'CR by tocilizumab (p = 0.010) and OS by steroids (p = 0.031)'."""
        return and_list(self.significant_p)

    @property
    def listed_named(self) -> str:
        """'LFS by CRS (log-rank p = 0.007) and peak expansion by CRS (Mann–Whitney p = 0.015)'."""
        return and_list(self.significant_named)

    @property
    def not_significant_listed(self) -> str:
        """The tests that ran and were not significant, each with its test and p ('' when none)."""
        return and_list(self.not_significant_named)

    @property
    def n_spelled(self) -> str:
        """How many tests the family has, in words: 'four'."""
        return number_words(self.n)

    @property
    def others_clause(self) -> str:
        """'; peak expansion by ICANS (Mann–Whitney p = 0.737) did not' after a sentence listing
        the significant ones ('' when every test that ran was significant)."""
        return f"; {self.not_significant_listed} did not" if self.not_significant_named else ""

    @property
    def groupings(self) -> str:
        """'CRS and CRS/ICANS severity': the groupings with a significant test."""
        return and_list(self.significant_groupings)

    @property
    def untested_reasons(self) -> str:
        """Why tests could not be run, with how many each:
        'only 1 group with patients (6); no group has patients (6)' ('' when all ran)."""
        return "; ".join(f"{reason} ({count})" for reason, count in self.untested)

    @property
    def testable(self) -> str:
        """'' when every test ran, else ' (6 more could not be tested: no group has patients
        (6))': appended to a sentence that counts the tests that ran, so that it also says
        which could not."""
        if self.n_tested == self.n:
            return ""
        return f" ({self.n - self.n_tested} more could not be tested: {self.untested_reasons})"

    @property
    def counted(self) -> str:
        """'6 tests' (those that ran), or '4 tests; 2 more could not be run: ...' (what a
        parenthesis citing the family's size says)."""
        tests = f"{self.n_tested} test{'s' if self.n_tested != 1 else ''}"
        if self.n_tested == self.n:
            return tests
        return f"{tests}; {self.n - self.n_tested} more could not be run: {self.untested_reasons}"


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
            raise UnknownKey(
                f"no {what} of {outcome!r} by {grouping!r}; the groupings are: {', '.join(map(str, groupings))}"
            )
        outcomes = list(dict.fromkeys(k[0] for k in store))
        raise UnknownKey(f"no {what} of {outcome!r}; the outcomes are: {', '.join(outcomes)}")
    raise UnknownKey(f"no {what} {key!r}; the valid names are: {', '.join(map(str, store))}")


class Part:
    """What every family of the narrative reads (the fields of :class:`Narrative`)."""

    results: Results
    #: The study file's settings (title, product, alpha...); None: the defaults.
    settings: StudySettings | None

    @property
    def alpha(self) -> float:
        """The significance level of every verdict (``analysis: alpha`` in the study file;
        default :data:`analysis.registry.concepts.OPTIONS`): ``text.alpha`` -> 0.05."""
        return self.settings.analysis.alpha if self.settings is not None else OPTIONS["alpha"].default

    @property
    def alpha_level(self) -> str:
        """The significance level as prose writes it: '5%'."""
        return f"{self.alpha * 100:g}%"

    @property
    def has_kinetics(self) -> bool:
        """Whether a kinetics table was analyzed: ``text.choose(text.has_kinetics, "response,
        expansion or survival", "response or survival")``."""
        return self.results.kinetics_reason is None

    @staticmethod
    def sentence(value) -> str:
        """A value that begins a sentence, which journals forbid to start with a numeral: a
        leading count is spelt out (:func:`analysis.report.formatting.sentence_start`):
        ``text.sentence(text.n_of("n_concurrent"))`` -> 'Fifteen of 93 (16.1%)'. Markdown text
        stays Markdown."""
        started = sentence_start(str(value))
        return type(value)(started) if isinstance(value, str) and type(value) is not str else started


def _ratio(name: str, estimate, low, high) -> str:
    """'HR 2.02 (95% CI 0.65–6.26)'; a missing or infinite bound: 'HR 2.02 (95% CI not estimable)'
    (:func:`analysis.report.formatting.fmt_ratio_ci`: one precision for the three numbers)."""
    return fmt_ratio_ci(name, estimate, low, high)


def _inline_ci(text: str) -> str:
    """'HR 1.04 (95% CI 0.51–2.12)' -> 'HR 1.04, 95% CI 0.51–2.12' (inside parentheses already)."""
    head, sep, ci = text.partition(" (95% CI ")
    return f"{head}, 95% CI {ci[:-1]}" if sep and ci.endswith(")") else text


def kinetics_effect_text(effect, ratio: bool) -> str:
    """A Hodges–Lehmann effect of a kinetics comparison: 'ratio 0.94 (95% CI 0.22–3.13)' or
    'shift −3.0 days (95% CI −7.0 to 0.0)'; 'not estimable (reason)'."""
    shift = effect.shift
    if shift.estimate is None:
        return f"{'ratio' if ratio else 'shift'} {NOT_ESTIMABLE} ({shift.reason})"
    if ratio:
        return _ratio("ratio", shift.estimate, shift.ci_low, shift.ci_high)
    if is_missing(shift.ci_low) or is_missing(shift.ci_high):
        return f"shift {fmt_signed(shift.estimate)} days (95% CI {NOT_ESTIMABLE})"
    return f"shift {fmt_signed(shift.estimate)} days (95% CI {fmt_signed(shift.ci_low)} to {fmt_signed(shift.ci_high)})"


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


#: What a summary of one patient says instead of that patient's own time (a median of one
#: is that patient's time to the event, or to the last follow-up).
ONE_PATIENT = "not summarized: 1 patient"


def km_median(km) -> str:
    """A Kaplan–Meier median with its CI in words (the B-ALL and the disease narratives):
    '24.4 months (95% CI 14.6–33.3)'; 'not reached' for a median or bound the curve stays
    above; 'not estimable' for one it cannot give (no follow-up beyond day 0; a CI that is
    undefined where survival falls to 0); :data:`ONE_PATIENT` for a group of one patient,
    whose median would be that patient's own time."""
    if km.n == 0:
        return f"{NOT_ESTIMABLE} ({km.reason})"
    if km.n == 1:
        return ONE_PATIENT
    if "median" in km.not_estimable:
        return f"{NOT_ESTIMABLE} ({km.median_reason})"
    bounds = fmt_ci_bounds(km.median_ci_low, km.median_ci_high, km.not_estimable)
    if km.median_months is None:
        low = "" if km.median_ci_low is None else f" (95% CI {bounds})"
        return f"not reached{low}"
    if km.median_months == 0:  # half or more had the event at time 0: say so, it is all the median rests on
        bounds += f"; {fmt_count(km.events_at_zero)} of {fmt_count(km.n)} patients had the event at time 0"
    return f"{fmt_months(km.median_months)} (95% CI {bounds})"


def km_landmark(point) -> str:
    """Kaplan–Meier survival at a landmark (an :class:`~analysis.estimators.survival.Landmark`)
    with its log-scale 95% CI: '63.4% (95% CI 54.0–74.4%)'. No event by then (survival 1):
    '100.0% (no event by 12 months; 95% CI not estimable)' — Greenwood's variance is 0 there
    (R's survfit: std.err 0, a CI 100.0–100.0 of no width; lifelines' log-log CI: NaN), so no
    interval is stated."""
    if point.survival is None:
        return f"{NOT_ESTIMABLE} ({point.reason})"
    value = fmt_pct(100 * point.survival)
    if point.survival == 1:
        return f"{value} (no event by {point.months} months; 95% CI {NOT_ESTIMABLE})"
    if point.ci_low is None or point.ci_high is None:
        return f"{value} (95% CI {NOT_ESTIMABLE})"
    return f"{value} (95% CI {fmt_pct(100 * point.ci_low).rstrip('%')}–{fmt_pct(100 * point.ci_high)})"


def fmt_ci_bounds(low, high, not_estimable: frozenset[str] = frozenset()) -> str:
    """'26.6–50.0' with 'not reached' for a missing bound; 'not estimable' when the bound is
    named in ``not_estimable`` (``median_ci_low``/``median_ci_high``: its curve is undefined,
    e.g. where survival falls to 0); said once for the whole interval when neither bound is
    given and one of them cannot be estimated (never 'not estimable–not reached')."""
    if low is None and high is None and {"median_ci_low", "median_ci_high"} & not_estimable:
        return NOT_ESTIMABLE

    def bound(value, name: str) -> str:
        if isinstance(value, str):  # a word already ('not estimable')
            return value
        if value is not None:
            return fmt_number(value, decimals=1)
        return NOT_ESTIMABLE if name in not_estimable else "not reached"

    return f"{bound(low, 'median_ci_low')}–{bound(high, 'median_ci_high')}"


def relaxed_terms(found) -> list[str]:
    """How a proportional-hazards sensitivity model relaxed its flagged covariates, one part per way:
    ['BM blasts ≥20% vs <20% as a stratum', 'infused CAR-T dose with a time interaction']."""
    parts = []
    for covariates, how in ((found.stratified, "as a stratum"), (found.time_varying, "with a time interaction")):
        if covariates:
            parts.append(f"{and_list(in_sentence(x.split(', per ')[0]) for x in covariates)} {how}")
    return parts
