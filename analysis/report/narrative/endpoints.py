"""Tests for trend across ordered grades, and the onset of CRS and ICANS (issue 20)."""

from __future__ import annotations

from analysis.registry.concepts import ENDPOINTS, RESPONSES
from analysis.registry.groups import TREND_SCORES
from analysis.report.formatting import NOT_ESTIMABLE, fmt_count, fmt_p, fmt_pct, fmt_tick
from analysis.report.narrative.parts import Part, UnknownKey, _entry, _pick, _ratio


class Endpoints(Part):
    def _trend(self, what: str, by: str):
        if by not in TREND_SCORES:
            raise UnknownKey(f"no trend test by {by!r}; the ordered groupings are: {', '.join(TREND_SCORES)}")
        if what in RESPONSES:
            test = _entry(self.results.response_trend, "trend test", (what, by))
            return test, test.p, test.reason
        if what in ENDPOINTS:
            trend = _entry(self.results.survival_trend, "trend test", (what, by))
            return trend, trend.p, trend.reason
        raise UnknownKey(f"no trend test of {what!r}; the outcomes are: {', '.join([*RESPONSES, *ENDPOINTS])}")

    def trend_p(self, what: str, by: str) -> str:
        """p of the test for trend across an ordered grouping: the Cochran–Armitage test for a
        response, the Cox score term for an endpoint: ``text.trend_p("cr", by="crs_grade")`` -> 'p = 0.591'."""
        _, p, reason = self._trend(what, by)
        return fmt_p(p, reason, alpha=self.alpha)

    def trend_significant(self, what: str, by: str) -> bool | None:
        """Whether the trend test is significant at the report's alpha (None: no test)."""
        _, p, _ = self._trend(what, by)
        return None if p is None else p < self.alpha

    def trend(self, what: str, by: str) -> str:
        """The trend test with its estimate: for an endpoint '1.05 (95% CI 0.67–1.66; p = 0.822)',
        the hazard ratio per step up the grades, for a response 'p = 0.591'."""
        result, p, reason = self._trend(what, by)
        if what in RESPONSES:
            return fmt_p(p, reason, alpha=self.alpha)
        if result.hr is None:
            return f"{NOT_ESTIMABLE} ({reason})"
        estimate = _ratio("", result.hr, result.ci_low, result.ci_high).strip()  # '1.05 (95% CI 0.67–1.66)'
        return (
            f"{estimate[:-1]}; {fmt_p(p, reason, alpha=self.alpha)})"
            if estimate.endswith(")")
            else f"{estimate}, {fmt_p(p, reason, alpha=self.alpha)}"
        )

    # --- onset of CRS and ICANS, death competing ------------------------------------------
    def onset_cif(self, toxicity: str, day: int) -> str:
        """Cumulative incidence of onset by a day after infusion, log(−log) 95% CI:
        ``text.onset_cif("crs", 7)`` -> '61.3% (95% CI 50.5–70.4%)'."""
        inc = _entry(self.results.onset, "toxicity", toxicity)
        point = _pick(inc.points, "day", day, "day")
        if point.estimate is None:
            return f"{NOT_ESTIMABLE} ({point.reason})"
        value = fmt_pct(100 * point.estimate)
        if point.ci_low is None or point.ci_high is None:
            return f"{value} (95% CI {NOT_ESTIMABLE}: {point.reason})"
        return f"{value} (95% CI {fmt_pct(100 * point.ci_low).removesuffix('%')}–{fmt_pct(100 * point.ci_high)})"

    def onset_median(self, toxicity: str) -> str:
        """The first day the cumulative incidence of onset reaches 50%: 'day 6', or 'not reached
        (the cumulative incidence stays below 50% ...)'."""
        inc = _entry(self.results.onset, "toxicity", toxicity)
        if inc.median_day is None:  # the reason (its highest incidence) is in the JSON
            return (
                "not reached"
                if inc.median_reason and inc.median_reason.startswith("not reached")
                else f"{NOT_ESTIMABLE} ({inc.median_reason})"
            )
        return f"day {fmt_tick(inc.median_day)}"

    def onset_count(self, toxicity: str, key: str) -> str:
        """'9' for ``deaths_before_onset`` (or ``onsets``, ``censored``, ``n``) of a toxicity."""
        inc = _entry(self.results.onset, "toxicity", toxicity)
        if key not in ("n", "onsets", "deaths_before_onset", "censored"):
            raise UnknownKey(f"unknown onset count {key!r}; the counts are: n, onsets, deaths_before_onset, censored")
        return f"{fmt_count(getattr(inc, key))}"
