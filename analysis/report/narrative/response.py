"""Response rates with exact CIs, risk differences and odds ratios."""

from __future__ import annotations

from analysis.registry.groups import TOXICITY_GROUPINGS
from analysis.report.formatting import (
    NOT_ESTIMABLE,
    fmt_count,
    fmt_n_of,
    fmt_pct,
)
from analysis.report.narrative.parts import (
    Part,
    _entry,
    _pick,
    _ratio,
    _signed,
)


class Response(Part):
    def lowest_cr_rate(self) -> str:
        """The lowest CR rate of any toxicity-group level: '17 of 19 (89.5%), in the group “CRS grade ≥3”'."""
        levels = [
            level
            for grouping in TOXICITY_GROUPINGS
            for level in self.results.response[("cr", grouping)].levels
            if level.n > 0 and level.rate is not None  # the rate is None only for an empty group
        ]
        if not levels:  # no patient's response could be assessed (every response not evaluable)
            c = self.results.counts
            return (
                f"{NOT_ESTIMABLE}: the response at day 30 could not be assessed in any patient "
                f"({fmt_count(c['n_response_not_evaluable'])} of {fmt_count(c['n_patients'])} not evaluable)"
            )
        worst = min(levels, key=lambda level: level.rate or 0.0)
        return f"{fmt_n_of(worst.events, worst.n)}, in the group “{worst.label}”"

    @property
    def response_p_and_ci(self) -> str:
        """Why a difference's CI and the p beside it can disagree: the registry's one statement
        (:data:`~analysis.registry.concepts.RESPONSE_P_AND_CI`), at the study's alpha, for the Methods."""
        from analysis.registry.concepts import RESPONSE_P_AND_CI

        return RESPONSE_P_AND_CI.format(alpha=f"{self.alpha:g}")

    def risk_difference(
        self, response: str, grouping: str, p: bool = True, named: bool = True, unit: str = "percentage points"
    ) -> str:
        """Exposed minus reference rate, Newcombe 95% CI, with the p-value of the report's test
        of the comparison named beside it (review 30, finding 2: a difference whose CI excluded
        0 was printed without the p = 0.080 that the Conclusions counted):
        '−9.2 percentage points (95% CI −17.8 to 9.8; Fisher's exact p = 0.344)'; ``p=False``: the
        difference and its CI alone (a sentence that prints the p itself); ``named=False``: the p
        without its test ('p = 0.344'), two words fewer where the Methods name the test and a word
        limit binds; ``unit="points"`` after a first difference in percentage points."""
        d = self.results.response_effects[(response, grouping)].difference
        if d.difference is None:  # the sentence names the difference: "(difference not estimable (...))"
            return f"{NOT_ESTIMABLE} ({d.reason})"
        shown = self.named_p(response, by=grouping) if named else self.p(response, by=grouping)  # type: ignore[attr-defined]
        test = f"; {shown}" if p else ""
        if d.ci_low is None or d.ci_high is None:
            return f"{_signed(100 * d.difference)} {unit} (95% CI {NOT_ESTIMABLE}: {d.reason}{test})"
        return (
            f"{_signed(100 * d.difference)} {unit} "
            f"(95% CI {_signed(100 * d.ci_low)} to {_signed(100 * d.ci_high)}{test})"
        )

    def _difference_disagrees(self, response: str, grouping: str) -> bool | None:
        """Whether the difference's 95% CI and the test of the comparison reach different verdicts
        (the CI excludes 0 while p >= alpha, or includes 0 while p < alpha); None without both."""
        effect = self.results.response_effects.get((response, grouping))
        comparison = self.results.response.get((response, grouping))
        if effect is None or comparison is None:
            return None
        d, p = effect.difference, comparison.result.p
        if d.ci_low is None or d.ci_high is None or p is None:
            return None
        return (d.ci_low > 0 or d.ci_high < 0) != (p < self.alpha)

    def difference_test_disagreement(self, groupings: tuple[str, ...] = ("crs", "icans")) -> str:
        """A clause naming each difference in response rates printed in the Results (CR and
        MRD-negative CR, by ``groupings``) whose 95% CI and test disagree, pointing to why (the
        Methods' :data:`~analysis.registry.concepts.RESPONSE_P_AND_CI`), to end the Results'
        sentence of the differences; '' when none does (review 30, finding 2): '; for
        MRD-negative CR by CRS and by ICANS, the differences' CIs excluded 0 although Fisher's
        exact p ≥ 0.05 (see Methods)'."""
        from analysis.registry.concepts import RESPONSES, reported_responses
        from analysis.registry.groups import GROUPINGS
        from analysis.report.formatting import and_list
        from analysis.report.narrative.parts import in_sentence

        responses = [r for r in RESPONSES if r in reported_responses(self.results.not_collected)]
        found: dict[tuple[bool, str], dict[str, list[str]]] = {}
        for response in responses:
            for grouping in groupings:
                if not self._difference_disagrees(response, grouping):
                    continue
                p = self.results.response[(response, grouping)].result.p
                excludes = p is not None and p >= self.alpha
                test = self.test_name(response, by=grouping)  # type: ignore[attr-defined]
                by = found.setdefault((excludes, test), {})
                by.setdefault(self._outcome_phrase(response), []).append(  # type: ignore[attr-defined]
                    "by " + in_sentence(GROUPINGS[grouping].title)
                )
        sentences = []
        for (excludes, test), outcomes in found.items():
            which = "; ".join(f"{outcome} {and_list(bys)}" for outcome, bys in outcomes.items())
            n = sum(len(bys) for bys in outcomes.values())
            verdict = (
                f"excluded 0 although {test} p ≥ {self.alpha:g}"
                if excludes
                else f"included 0 although {test} p < {self.alpha:g}"
            )
            subject = "the differences' CIs" if n > 1 else "the difference's CI"
            sentences.append(f"; for {which}, {subject} {verdict} (see Methods)")
        return "".join(sentences)

    def odds_ratio(self, response: str, grouping: str) -> str:
        """Conditional-MLE odds ratio with fisher.test's exact 95% CI: 'OR 0.49 (95% CI 0.07–5.64)';
        with a zero cell (the conditional MLE is 0 or infinite), Firth's penalized estimate with
        its profile penalized-likelihood CI: 'Firth OR 0.26 (95% CI 0.002–2.36)'."""
        effect = self.results.response_effects[(response, grouping)]
        if effect.firth is not None:
            f = effect.firth
            if f.odds_ratio is None:
                return f"OR {NOT_ESTIMABLE} ({f.reason})"
            return _ratio("Firth OR", f.odds_ratio, f.ci_low, f.ci_high)
        o = effect.odds_ratio
        if o.odds_ratio is None:
            return f"OR {NOT_ESTIMABLE} ({o.reason})"
        return _ratio("OR", o.odds_ratio, o.ci_low, o.ci_high)

    def rate_effects(self, response: str, grouping: str) -> str:
        """The difference in rates and the odds ratio, as the Methods describe them, and the p of
        the comparison's test, named: '−9.2 percentage points (95% CI −17.8 to 9.8); Firth OR 0.26
        (95% CI 0.002–2.36); Fisher's exact p = 0.344'."""
        return (
            f"{self.risk_difference(response, grouping, p=False)}; {self.odds_ratio(response, grouping)}; "
            f"{self.named_p(response, by=grouping)}"  # type: ignore[attr-defined]
        )

    @property
    def firth_odds_ratio_shown(self) -> bool:
        """Whether the Results print a Firth odds ratio (a main two-level grouping's 2x2 table
        with a zero cell), so that the Methods name the method only then."""
        responses = ["cr", "mrd_negative_cr"] if self.results.collected("mrd_negative") else ["cr"]
        return any(
            (effect := self.results.response_effects.get((r, g))) is not None and effect.firth is not None
            for r in responses
            for g in ("crs", "icans")
        )

    def rate(self, response: str, grouping: str, level: str) -> str:
        """A response rate with its denominator and exact 95% CI: '69 of 76 (90.8%; 95% CI 81.9–96.2%)'."""
        lv = _pick(_entry(self.results.response, "response comparison", (response, grouping)).levels, "level", level)
        if lv.n == 0:
            return f"{NOT_ESTIMABLE} (no patient in the group “{lv.label}”)"
        if lv.rate is None or lv.ci_low is None or lv.ci_high is None:  # only for an empty group
            return f"{NOT_ESTIMABLE} (group “{lv.label}”)"
        ci = f"{fmt_pct(100 * lv.ci_low).rstrip('%')}–{fmt_pct(100 * lv.ci_high)}"
        return f"{fmt_count(lv.events)} of {fmt_count(lv.n)} ({fmt_pct(100 * lv.rate)}; 95% CI {ci})"
