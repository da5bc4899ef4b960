"""p-values, verdict phrases and families of tests: the words follow the test (a
non-significant test is never worded as equivalence)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from analysis.estimators.competing import CAUSES
from analysis.estimators.landmark import LANDMARK_ENDPOINTS
from analysis.estimators.timevarying import TIME_DEPENDENT_ENDPOINTS
from analysis.registry.concepts import (
    ENDPOINTS,
    KINETIC_METRICS,
    NO_KINETICS_REASON,
    RESPONSES,
    TESTS,
    VARIABLES,
    outcome_phrase,
    reported_responses,
)
from analysis.registry.groups import GROUPINGS, MAIN_GROUPINGS, TOXICITY_GROUPINGS
from analysis.report.formatting import (
    and_list,
    fmt_p,
    fmt_pct,
)
from analysis.report.narrative.parts import (
    DIFFERED,
    NOT_DETECTED,
    PEAK_PHRASE,
    Part,
    TestSet,
    UnknownKey,
    in_sentence,
)


class Verdicts(Part):
    #: What an editor compares: a response, a survival endpoint, the kinetics peak or a
    #: Table 1 variable, always ``by`` a grouping of :data:`analysis.registry.groups.GROUPINGS`.
    OUTCOMES = (*RESPONSES, *ENDPOINTS, "peak", *KINETIC_METRICS, *CAUSES, *VARIABLES)

    _TABLES = (
        "table1",
        "response",
        "kinetics",
        "kinetics_metrics",
        "survival",
        "competing",
        "landmark",
        "time_dependent",
    )
    #: The other analyses of an endpoint by a toxicity (``at=``): from the landmark, and with
    #: the toxicity as a time-dependent exposure (Mantel–Byar test).
    AT = ("landmark", "time-dependent")

    def _locate(self, what: str, key=None, by: str | None = None, at: str | None = None) -> tuple[str, object]:
        """(table, key) of a comparison, from the editor's ``("os", by="crs")`` (``at="landmark"``
        for the landmark analysis) or the older ``("survival", ("os", "crs"))``; an unknown name
        lists the valid ones."""
        if at is not None and at not in self.AT:
            raise UnknownKey(f"at={at!r}: the other analyses are at={' or at='.join(map(repr, self.AT))}")
        if by is None:
            if what not in self._TABLES or key is None:
                raise UnknownKey(
                    f"name the comparison as text.p(OUTCOME, by=GROUPING), e.g. "
                    f'text.p("os", by="crs"); OUTCOME is one of: {", ".join(self.OUTCOMES)}'
                )
            table = what
        else:
            if by not in GROUPINGS:
                raise UnknownKey(f"unknown grouping {by!r}; the groupings are: {', '.join(GROUPINGS)}")
            if at is not None:
                compared = LANDMARK_ENDPOINTS if at == "landmark" else TIME_DEPENDENT_ENDPOINTS
                if what not in compared:
                    raise UnknownKey(f"the {at} analysis compares {', '.join(compared)}, not {what!r}")
                table, key = at.replace("-", "_"), (what, by)
            elif what in RESPONSES:
                table, key = "response", (what, by)
            elif what in ENDPOINTS:
                table, key = "survival", (what, by)
            elif what == "peak":
                table, key = "kinetics", by
            elif what in KINETIC_METRICS:
                table, key = "kinetics_metrics", (what, by)
            elif what in CAUSES:
                table, key = "competing", (what, by)
            elif what in VARIABLES:
                table, key = "table1", (what, by)
            else:
                raise UnknownKey(f"unknown outcome {what!r}; the outcomes are: {', '.join(self.OUTCOMES)}")
        stores: dict[str, Mapping[Any, object]] = {
            "table1": self.results.table1,
            "response": self.results.response,
            "kinetics": self.results.kinetics_peak,
            "kinetics_metrics": self.results.kinetics_metrics,
            "survival": self.results.survival,
            "landmark": self.results.landmark,
            "time_dependent": self.results.time_dependent,
            "competing": {(c, g): r for g, r in self.results.competing.items() if g in GROUPINGS for c in r.causes},
        }
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
        elif table == "kinetics_metrics":
            if self.results.kinetics_reason:
                return None, NO_KINETICS_REASON
            r = self.results.kinetics_metrics[key].comparison.result
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
        elif table == "time_dependent":
            mb = self.results.time_dependent[key].mantel_byar
            return mb.p, mb.reason
        else:
            raise KeyError(table)
        return r.p, r.reason

    def p(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """Formatted p-value of a comparison.

        >>> text.p("os", by="crs")        # log-rank test of OS by CRS
        'p = 0.924'
        >>> text.p("cr", by="icans")      # CR rate by ICANS (chi-square or Fisher)
        >>> text.p("peak", by="crs")      # peak CAR-T copies (Mann-Whitney)
        >>> text.p("auc", by="crs")       # AUC(0-28) ("tmax": day of the peak; "cmax" = "peak")
        >>> text.p("age", by="crs")       # a Table 1 variable
        >>> text.p("relapse", by="crs")   # Gray's test of the cumulative incidence ("nrm": NRM)
        'p = 0.245'
        >>> text.p("os", by="crs", at="landmark")   # log-rank test from the landmark
        'p = 0.976'
        >>> text.p("os", by="crs", at="time-dependent")   # Mantel–Byar test, CRS from its onset
        'p = 0.924'
        """
        p, reason = self._p(*self._locate(what, key, by, at))
        return fmt_p(p, reason, alpha=self.alpha)

    #: The test of each table of :meth:`_p` that is not a :class:`TestResult` (whose ``test`` names it).
    _TEST_OF_TABLE: ClassVar[dict[str, str]] = {
        "survival": "log-rank",
        "landmark": "log-rank",
        "competing": "Gray's",
        "time_dependent": "Mantel–Byar",
    }

    def test_name(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """The test behind :meth:`p`, as a sentence names it beside its p: 'log-rank',
        'Mann–Whitney', "Fisher's exact", 'Chi-square' ('' when no test could be run)."""
        table, key = self._locate(what, key, by, at)
        if table in self._TEST_OF_TABLE:
            return self._TEST_OF_TABLE[table]
        if table in ("kinetics", "kinetics_metrics") and self.results.kinetics_reason:
            return ""
        r = {
            "table1": lambda: self.results.table1[key].result,
            "response": lambda: self.results.response[key].result,
            "kinetics": lambda: self.results.kinetics_peak[key].result,
            "kinetics_metrics": lambda: self.results.kinetics_metrics[key].comparison.result,
        }[table]()
        if r.test is None:
            return ""
        name = TESTS[r.test].name
        return name[0].lower() + name[1:] if name == "Chi-square" else name

    def named_p(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """The p-value with the test that gave it: 'log-rank p = 0.007', 'Mann–Whitney p = 0.015'
        (review 29: a list of p-values from different tests names each test)."""
        name = self.test_name(what, key, by=by, at=at)
        p = self.p(what, key, by=by, at=at)
        return f"{name} {p}" if name and p.startswith("p ") else p

    def significant(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> bool | None:
        """True/False at the report's alpha; None when there is no test.
        ``text.significant("os", by="crs")``, ``text.significant("relapse", by="icans")``."""
        p, _ = self._p(*self._locate(what, key, by, at))
        return None if p is None else p < self.alpha

    def differ(self, what: str, key=None, yes: str = DIFFERED, no: str = NOT_DETECTED, *, by: str | None = None) -> str:
        """A verdict phrase that follows the test: ``text.differ("os", by="crs")`` ->
        'showed no statistically significant difference' or 'differed significantly';
        ``yes=``/``no=`` choose other words for the same verdict."""
        verdict = self.significant(what, key, by=by)
        if verdict is None:
            return "could not be compared"
        return yes if verdict else no

    def differ_all(
        self,
        what: str,
        keys=None,
        yes: str = "differed significantly in at least one comparison",
        no: str = NOT_DETECTED,
        *,
        by=None,
    ) -> str:
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

    def table1_significant(self, grouping: str, after_infusion: bool = False) -> list[str]:
        """Characteristics whose p-value is below alpha for a grouping: the baseline ones
        (Table 1), or with ``after_infusion`` the course after infusion (Table 2), leaving out
        the treatments of the grouping's toxicity, which are not tested:
        ``text.table1_significant("crs")`` -> ['bm_blasts_pct'] (or [])."""
        out = []
        for (v, g), c in self.results.table1.items():
            definition = VARIABLES[v]
            if g != grouping or definition.after_infusion != after_infusion or definition.treats:
                continue
            if c.result.p is not None and c.result.p < self.alpha:
                out.append(v)
        return out

    def _table1_magnitude(self, variable: str, grouping: str) -> str:
        """The size of a Table 1 difference, exposed group first: 'median 1.2 vs 1.0 10⁶ cells/kg';
        '53.9% vs 35.3% male' for a category; '' when it cannot be said."""
        from analysis.estimators.effects import reference_level
        from analysis.registry.contract import unit_of
        from analysis.report.formatting import fmt_median, fmt_pct

        c = self.results.table1[(variable, grouping)]
        ref = reference_level(grouping)
        levels = sorted(c.levels, key=lambda lv: lv.key == ref)  # exposed first, reference last
        if len(levels) != 2:
            return ""
        if c.kind == "continuous":
            if any(lv.median is None for lv in levels):
                return ""
            # at the precision of the variable's row of the table (the table's '1.2' and '1.0')
            from analysis.report.tables import table1_row_decimals

            decimals = table1_row_decimals(self.results.table1, self.results.table1_overall, variable)
            a, b = (fmt_median(lv.median, decimals) for lv in levels)
            # each median names its group (review 29, finding 16: "median 1.2 vs 1.0" did not
            # say which group was first); equal printed medians get their ranges ("1 vs 1, p =
            # 0.033"), the summary of Table 1 and of the Methods (review 30, F6: the quartiles
            # the text gave were in neither)
            first, second = (in_sentence(lv.label) for lv in levels)
            if a == b and all(lv.min is not None and lv.max is not None for lv in levels):
                qa, qb = (f"range {fmt_median(lv.min, decimals)}–{fmt_median(lv.max, decimals)}" for lv in levels)
                text = f"median {a} ({qa}; {first}) vs {b} ({qb}; {second})"
            else:
                text = f"median {a} ({first}) vs {b} ({second})"
            unit = unit_of(variable)
            return text + (f", in {unit}" if unit else "")
        definition = VARIABLES[variable]
        category = definition.categories[0] if definition.categories else None
        wanted = category.value if category is not None else "yes"
        shares = []
        for lv in levels:
            found = next((x for x in lv.categories if str(x.category) == wanted), None)
            if found is None or found.percent is None:
                return ""
            shares.append(fmt_pct(found.percent))
        what = in_sentence(category.label) if category is not None else ""
        return f"{shares[0]} vs {shares[1]}" + (f" {what}" if what else "")

    def _holm(self, path: str) -> str:
        table = self.results.pvalues
        row = None if table is None else next((r for r in table.rows if r.path == path), None)
        return "" if row is None else f"Holm-adjusted {fmt_p(row.p_holm, alpha=self.alpha)}"

    def table1_differences(self, grouping: str, after_infusion: bool = False) -> str:
        """Each characteristic whose p is below alpha, with its size, its p and its p after
        Holm's adjustment within its table's family: 'infused CAR-T cell dose (median 1.2 vs 1.0
        10⁶ cells/kg; p = 0.031, Holm-adjusted p = 0.738)', or 'none of the characteristics'."""
        items = []
        for v in self.table1_significant(grouping, after_infusion):
            parts = [
                self._table1_magnitude(v, grouping),
                self.p("table1", (v, grouping)),
                self._holm(f"table1/{v}/{grouping}/result/p"),
            ]
            items.append(
                f"{VARIABLES[v].phrase} ({'; '.join(x for x in parts[:1] if x)}"
                f"{'; ' if parts[0] else ''}{', '.join(x for x in parts[1:] if x)})"
            )
        if not items:
            return "none of the characteristics"
        return and_list(items, separator="; ")  # each item holds commas

    def _outcome_phrase(self, what: str) -> str:
        if what in CAUSES:
            return in_sentence(CAUSES[what][1])
        if what in KINETIC_METRICS:
            return KINETIC_METRICS[what].name
        return PEAK_PHRASE if what == "peak" else VARIABLES[what].phrase if what in VARIABLES else outcome_phrase(what)

    def tests(self, what, by, at: str | None = None) -> TestSet:
        """A family of tests (each outcome ``what`` by each grouping ``by``), summed up for one
        sentence; the peak-expansion tests count only when there is a kinetics table.

        >>> text.tests(["cr", "os"], by=["tocilizumab", "steroids"]).any
        False
        >>> text.tests("peak", by=["crs", "icans"]).groupings     # those that differed
        'CRS'

        ``at="landmark"``: the tests of the landmark analysis."""
        outcomes = [what] if isinstance(what, str) else list(what)
        # a response the registry does not collect (MRD-negative CR without MRD) is no test of the family
        reported = reported_responses(self.results.not_collected)
        outcomes = [o for o in outcomes if o not in RESPONSES or o in reported]
        groupings = [by] if isinstance(by, str) else list(by)
        kinetic = ("peak", *KINETIC_METRICS)
        keys = [(o, g) for g in groupings for o in outcomes if o not in kinetic or self.has_kinetics]
        tests = [self._p(*self._locate(o, by=g, at=at)) for o, g in keys]
        # a comparison that tests the same patients in the same groups as an earlier one of the
        # family (concurrent CRS and ICANS is ICANS when everyone had CRS) is that test: counted
        # once, as the p-value table counts it, and named with it
        same: dict[tuple[str, str], list[str]] = {}
        first: dict[str, tuple[str, str]] = {}
        kept = []
        for (o, g), (p, reason) in zip(keys, tests):
            split = self._split(o, g, at)
            if p is not None and split is not None and split in first:
                same.setdefault(first[split], []).append(in_sentence(GROUPINGS[g].title))
                continue
            if p is not None and split is not None:
                first[split] = (o, g)
            kept.append(((o, g), (p, reason)))
        keys, tests = [k for k, _ in kept], [t for _, t in kept]
        verdicts = [None if p is None else p < self.alpha for p, _ in tests]
        untested = Counter(reason or "no test" for p, reason in tests if p is None)
        hits = [(o, g) for (o, g), v in zip(keys, verdicts) if v]
        named = [f"{self._outcome_phrase(o)} by {in_sentence(GROUPINGS[g].title)}" for o, g in hits]
        also = [f"the same test as by {and_list(same[hit])}" if hit in same else "" for hit in hits]
        return TestSet(
            n=len(keys),
            n_tested=sum(v is not None for v in verdicts),
            significant=tuple(f"{name} ({a})" if a else name for name, a in zip(named, also)),
            significant_p=tuple(
                f"{name} ({'; '.join(x for x in (self.p(o, by=g, at=at), a) if x)})"
                for name, a, (o, g) in zip(named, also, hits)
            ),
            significant_named=tuple(
                f"{name} ({'; '.join(x for x in (self.named_p(o, by=g, at=at), a) if x)})"
                for name, a, (o, g) in zip(named, also, hits)
            ),
            not_significant_named=tuple(
                f"{self._outcome_phrase(o)} by {in_sentence(GROUPINGS[g].title)} ({self.named_p(o, by=g, at=at)})"
                for (o, g), v in zip(keys, verdicts)
                if v is False
            ),
            significant_groupings=tuple(dict.fromkeys(in_sentence(GROUPINGS[g].title) for _, g in hits)),
            untested=tuple(untested.items()),
            significant_by=tuple((self._outcome_phrase(o), in_sentence(GROUPINGS[g].title)) for o, g in hits),
            n_repeats=sum(len(v) for v in same.values()),
            significant_keys=tuple(hits),
        )

    def _intervals_include_null(self, what: str, by: str, at: str | None) -> bool:
        """Whether every interval the report prints for a comparison includes no effect: each
        univariable HR's CI includes 1 (survival), or the difference's CI includes 0 (a response
        between two groups); False where no such interval is printed (review 30, finding 2)."""
        if at is not None:
            return False
        if what in ENDPOINTS:
            cox = self.results.survival_hr.get((what, by))
            limits = [] if cox is None else [(h.ci_low, h.ci_high) for h in cox.hazard_ratios]
            known = [(low, high) for low, high in limits if low is not None and high is not None]
            return bool(known) and all(low <= 1 <= high for low, high in known)
        if what in RESPONSES:
            effect = self.results.response_effects.get((what, by))
            d = None if effect is None else effect.difference
            return d is not None and d.ci_low is not None and d.ci_high is not None and d.ci_low <= 0 <= d.ci_high
        return False

    def _split(self, what: str, by: str, at: str | None) -> str | None:
        """The ``split`` of a response or survival comparison (its outcome, patients and groups:
        :func:`analysis.estimators.multiplicity.split_key`); None for the other analyses."""
        if at is not None:
            return None
        store: Mapping[Any, Any] = (
            self.results.response if what in RESPONSES else self.results.survival if what in ENDPOINTS else {}
        )
        return getattr(store.get((what, by)), "split", None)

    @property
    def main_tests(self) -> TestSet:
        """Every toxicity-versus-efficacy test of the report: CR, MRD-negative CR, OS and LFS by
        each toxicity grouping (``text.main_tests.n`` -> 24)."""
        return self.tests([*RESPONSES, *ENDPOINTS], by=TOXICITY_GROUPINGS)

    def _direction(self, what: str, by: str) -> bool | None:
        """Whether toxicity went with a lower value of a comparison of response or survival: each
        level's univariable HR against the reference below 1 (survival), or each level's rate
        below the reference's (response): True; each above: False; some each way: None."""
        from analysis.estimators.effects import reference_level

        if what in ENDPOINTS:
            uc = self.results.survival_hr.get((what, by))
            sides = {hr.hr < 1 for hr in (uc.hazard_ratios if uc else ()) if hr.hr is not None and hr.hr != 1}
        else:
            comparison = self.results.response.get((what, by))
            levels = comparison.levels if comparison is not None else ()
            ref = next((lv for lv in levels if lv.key == reference_level(by)), None)
            sides = {
                lv.rate < ref.rate
                for lv in levels
                if ref is not None
                and lv is not ref
                and lv.rate is not None
                and ref.rate is not None
                and lv.rate != ref.rate
            }
        return next(iter(sides)) if len(sides) == 1 else None

    @property
    def main_directions(self) -> str:
        """Which way the significant tests of response or survival by toxicity went, after
        'toxicity went with' (review 30, F3: the abstract gave '5 of 30 tests' without saying
        whether toxicity went with better or worse outcomes), each with the groupings it holds
        by: 'lower hazards (LFS and EFS by CRS) and a lower MRD-negative CR rate (by concurrent CRS
        and ICANS)'; a grouping whose levels differ each way from the reference: 'hazards lower in
        some groups and higher in others (OS by ICANS grade)' ('' when none is significant). A
        test whose printed intervals all include no effect names its test: 'lower hazards (LFS by
        CRS; EFS by CRS (log-rank only))'."""
        # side -> outcome -> the groupings it was significant by (each direction is a grouping's:
        # review 30, N1: "a lower MRD-negative CR rate" held by concurrent CRS and ICANS only)
        hazards: dict[bool | None, dict[str, list[str]]] = {}
        rates: dict[bool | None, dict[str, list[str]]] = {}
        for what, by in self.main_tests.significant_keys:
            side = self._direction(what, by)
            if what in ENDPOINTS:
                name = ENDPOINTS[what].abbreviation
                groupings = hazards.setdefault(side, {}).setdefault(name, [])
            else:
                name = outcome_phrase(what)
                groupings = rates.setdefault(side, {}).setdefault(name, [])
            grouping = in_sentence(GROUPINGS[by].title)
            if what in ENDPOINTS and self._intervals_include_null(what, by, None):
                # a log-rank p below alpha beside HRs whose CIs all include 1 (review 30, F2; review
                # 31: "EFS by CRS" was called a lower hazard beside an HR of 0.63 (0.39–1.00)); a
                # response's odds-ratio interval agrees with its test by construction
                grouping += f" ({self.test_name(what, by=by)} only)"
            if grouping not in groupings:
                groupings.append(grouping)

        def by_groupings(outcomes: dict[str, list[str]], named: bool = True) -> str:
            shared: dict[tuple[str, ...], list[str]] = {}  # outcomes significant by the same groupings
            for outcome, gs in outcomes.items():
                shared.setdefault(tuple(gs), []).append(outcome)
            return "; ".join(f"{and_list(o) + ' ' if named else ''}by {and_list(g)}" for g, o in shared.items())

        words = {True: "lower", False: "higher"}
        parts = []
        for side in (True, False, None):
            if side in hazards:
                listed = by_groupings(hazards[side])
                parts.append(
                    f"{words[side]} hazards ({listed})"
                    if side is not None
                    else f"hazards lower in some groups and higher in others ({listed})"
                )
        for side in (True, False, None):
            if side in rates:
                several = len(rates[side]) > 1
                listed_rates = and_list(rates[side])
                which = by_groupings(rates[side], named=several)
                if side is None:
                    parts.append(f"{listed_rates} rates lower in some groups and higher in others ({which})")
                else:
                    parts.append(
                        f"{'' if several else 'a '}{words[side]} {listed_rates} "
                        f"{'rates' if several else 'rate'} ({which})"
                    )
        return and_list(parts)

    @property
    def response_tests(self) -> TestSet:
        """CR and MRD-negative CR by the main toxicity groupings (the manuscript's Figure of response);
        CR only when the registry does not collect MRD."""
        responses = list(RESPONSES) if self.results.collected("mrd_negative") else ["cr"]
        return self.tests(responses, by=MAIN_GROUPINGS)

    @property
    def survival_tests(self) -> TestSet:
        """OS and LFS by the main toxicity groupings (log-rank tests)."""
        return self.tests(list(ENDPOINTS), by=MAIN_GROUPINGS)

    @property
    def competing_tests(self) -> TestSet:
        """Gray's tests of relapse and of death without relapse by CRS, ICANS and severity group."""
        return self.tests(list(CAUSES), by=("crs", "icans", "severity"))

    def gray_direction(self, grouping: str, cause: str, months: int = 24, first: bool = True) -> str:
        """Which way a cause's cumulative incidence went with the toxicity, with its values at
        ``months`` (the toxicity's levels, then the reference): 'lower with CRS, 24-month 33.3% vs
        54.4%', 'lower with toxicity, 27.4% and 43.3% vs 56.8%' (``first=False``: the time said
        before in the sentence); 'higher with ...' when every level is above the reference,
        'not in one direction, ...' when they differ; '' when an estimate is missing (review 30
        re-check, N4: the Gray's tests were reported without direction)."""
        levels = self.results.competing[grouping].causes[cause].levels
        values = []
        for lv in levels:
            point = next((pt for pt in lv.points if pt.months == months), None)
            if point is None or point.estimate is None or lv.n == 0:
                return ""
            values.append(point.estimate)
        reference, exposed = values[0], values[1:]
        if not exposed:
            return ""
        who = in_sentence(GROUPINGS[grouping].title) if len(levels) == 2 else "toxicity"
        if all(v < reference for v in exposed):
            way = f"lower with {who}"
        elif all(v > reference for v in exposed):
            way = f"higher with {who}"
        else:
            way = "not in one direction"
        shown = and_list([fmt_pct(100 * v) for v in exposed])
        when = f"{months}-month " if first else ""
        return f"{way}, {when}{shown} vs {fmt_pct(100 * reference)}"

    @property
    def competing_listed(self) -> str:
        """The significant Gray's tests by CRS, ICANS and severity group with their p and their
        direction: 'non-relapse mortality by CRS (p = 0.020; lower with CRS, 24-month 33.3% vs
        54.4%)' (:attr:`competing_tests`, :meth:`gray_direction`)."""
        tests = self.competing_tests
        items = []
        said = False  # the time point, said once
        for entry, (cause, grouping) in zip(tests.significant_p, tests.significant_keys):
            direction = self.gray_direction(grouping, cause, first=not said)
            said = said or bool(direction)
            items.append(f"{entry[:-1]}; {direction})" if direction and entry.endswith(")") else entry)
        return and_list(items)

    @property
    def response_grade_tests(self) -> TestSet:
        """CR and MRD-negative CR (CR only without MRD) by CRS grade and by ICANS grade: the
        response tests the main toxicity groupings leave to the grade-level figure."""
        responses = list(RESPONSES) if self.results.collected("mrd_negative") else ["cr"]
        return self.tests(responses, by=("crs_grade", "icans_grade"))

    @property
    def survival_grade_tests(self) -> TestSet:
        """OS, LFS and EFS by CRS grade and by ICANS grade (log-rank tests): the survival tests
        the main toxicity groupings leave to the grade-level table."""
        return self.tests(list(ENDPOINTS), by=("crs_grade", "icans_grade"))

    @property
    def grade_tests(self) -> TestSet:
        """Response and survival by CRS grade and by ICANS grade (the supplement)."""
        return self.tests([*RESPONSES, *ENDPOINTS], by=("crs_grade", "icans_grade"))

    @property
    def treatment_tests(self) -> TestSet:
        """CR, MRD-negative CR, peak expansion (with a kinetics table), OS and LFS by tocilizumab
        and by steroids — the family "efficacy by treatment" of the p-value table:
        ``text.treatment_tests.n`` -> 12 (10 without a kinetics table)."""
        return self.tests([*RESPONSES, "peak", *ENDPOINTS], by=["tocilizumab", "steroids"])

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
