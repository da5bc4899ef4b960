"""Allogeneic HSCT after CAR-T: counts and timing, HSCT as a time-dependent covariate, and the
analyses censored at HSCT (issue 20)."""

from __future__ import annotations

from analysis.estimators.transplant import TimeDependentCox, TransplantAnalysis
from analysis.registry.groups import GROUPINGS
from analysis.report.formatting import NOT_ESTIMABLE, fmt_count, fmt_median_range, fmt_n_of, fmt_p
from analysis.report.narrative.parts import Part, UnknownKey, _inline_ci, _pick, _ratio


class Transplant(Part):
    @property
    def _transplant(self) -> TransplantAnalysis:
        if self.results.transplant is None:
            raise UnknownKey("the results have no transplant analysis")
        return self.results.transplant

    @property
    def hsct_recorded(self) -> bool:
        """Whether the cohort table had an hsct_date column (else transplants were not recorded)."""
        return self._transplant.counts.recorded

    @property
    def hsct_analysed(self) -> bool:
        """Whether anyone was transplanted, so that the time-dependent and censored analyses ran."""
        return self._transplant.reason is None

    @property
    def sensitivity_count(self) -> str:
        """How many sensitivity analyses of the Methods' biases the Results summarize, as the
        sentence's first word: the landmark, competing-risks and center-stratified analyses,
        the toxicity as a time-dependent exposure when it was analyzed, and the transplant
        analyses when anyone was transplanted: 'Five'."""
        n = 3 + (1 if self.results.time_dependent else 0)
        n += 1 if self.results.transplant is not None and self.hsct_analysed else 0
        return ("Three", "Four", "Five")[n - 3]

    @property
    def hsct_reason(self) -> str:
        """Why there is no transplant analysis ('' when there is one): 'the cohort table has no
        hsct_date column: transplants after CAR-T were not recorded'."""
        return self._transplant.reason or ""

    def hsct_n(self, key: str, denominator: str | None = None) -> str:
        """A transplant count, with a denominator when named: ``text.hsct_n("n_hsct", "n_patients")``
        -> '26 of 93 (28.0%)'; ``text.hsct_n("n_in_cr", "n_cr")``; keys of
        :class:`analysis.estimators.transplant.TransplantCounts` (``n_hsct``, ``n_in_cr``,
        ``n_after_relapse``, ``n_without_cr``, ``relapsed_after``, ``died_without_relapse_after``)."""
        counts = self._transplant.counts
        names = (
            "n_hsct",
            "n_in_cr",
            "n_after_relapse",
            "n_without_cr",
            "relapsed_after",
            "died_without_relapse_after",
            "n_cr",
            "n_patients",
        )
        for name in (key, denominator):
            if name is not None and name not in names:
                raise UnknownKey(f"unknown transplant count {name!r}; the counts are: {', '.join(names)}")
        value = getattr(counts, key)
        return f"{fmt_count(value)}" if denominator is None else fmt_n_of(value, getattr(counts, denominator))

    def hsct_timing(self, since: str = "infusion") -> str:
        """Months from infusion (or, ``since="cr"``, from CR for a consolidation) to HSCT:
        '3.8 (2.0–18.8) months'."""
        counts = self._transplant.counts
        timing = {"infusion": counts.from_infusion, "cr": counts.from_cr}.get(since)
        if timing is None:
            raise UnknownKey(f"since={since!r}: the transplant is timed from 'infusion' or 'cr'")
        if timing.n == 0:
            return f"{NOT_ESTIMABLE} (no patient transplanted)"
        return f"{fmt_median_range(timing.median, timing.min, timing.max)} months"

    def _td(self, endpoint: str, model: str) -> TimeDependentCox:
        fits = self._transplant.time_dependent
        if (endpoint, model) not in fits:
            valid = ", ".join(f"({e!r}, {m!r})" for e, m in fits) or f"none: {self.hsct_reason}"
            raise UnknownKey(f"no time-dependent model ({endpoint!r}, {model!r}); the models are: {valid}")
        return fits[(endpoint, model)]

    def hsct_hr(self, endpoint: str, model: str = "hsct", term: str = "hsct") -> str:
        """A hazard ratio of a time-dependent Cox model: HSCT alone (``model="hsct"``) or a
        toxicity grouping plus HSCT (``model="crs"``; ``term="yes"`` for the toxicity, ``"hsct"``
        for the transplant): 'HR 1.21 (95% CI 0.64–2.29), p = 0.555'; without a transplant
        analysis 'HR not estimable (no patient had an allogeneic HSCT after CAR-T)' (the
        section's conditional content is evaluated before it is hidden)."""
        if not self.hsct_analysed:
            return f"HR {NOT_ESTIMABLE} ({self.hsct_reason})"
        fit = self._td(endpoint, model)
        t = _pick(fit.terms, "term", term)
        if t.hr is None:
            return f"HR {NOT_ESTIMABLE} ({t.reason or fit.reason})"
        return f"{_ratio('HR', t.hr, t.ci_low, t.ci_high)}, {fmt_p(t.p, t.reason, alpha=self.alpha)}"

    def hsct_censored_n(self, endpoint: str, key: str = "n_censored") -> str:
        """Patients whose follow-up the transplant ended (``n_censored``), or events after it no
        longer counted (``n_events_removed``), in the analysis of ``endpoint`` censored at HSCT."""
        if not self.hsct_analysed:
            return f"{NOT_ESTIMABLE} ({self.hsct_reason})"
        result = self._transplant.censored.get(endpoint)
        if result is None:
            raise UnknownKey(f"no analysis of {endpoint!r} censored at HSCT ({self.hsct_reason or 'not run'})")
        if key not in ("n_censored", "n_events_removed"):
            raise UnknownKey(f"unknown count {key!r}; the counts are: n_censored, n_events_removed")
        return f"{fmt_count(getattr(result, key))}"

    def hsct_censored_verdict(self, endpoint: str, by: str, of: str = "") -> str:
        """The comparison of ``endpoint`` by a two-level toxicity grouping with follow-up censored
        at HSCT, worded as :meth:`verdict` words it: 'no significant difference was detected
        (HR 0.98, 95% CI 0.41–2.33; p = 0.957)'."""
        if not self.hsct_analysed:
            return f"no test of a difference was possible ({self.hsct_reason})"
        result = self._transplant.censored.get(endpoint)
        if result is None or by not in result.survival:
            raise UnknownKey(f"no analysis of {endpoint!r} by {by!r} censored at HSCT")
        comparison, cox = result.survival[by], result.hazard_ratios[by]
        p_text = fmt_p(comparison.logrank_p, comparison.reason, alpha=self.alpha)
        hr = cox.hazard_ratios[0]
        effect = (
            f"HR {NOT_ESTIMABLE} ({hr.reason or cox.reason})"
            if hr.hr is None
            else _inline_ci(_ratio("HR", hr.hr, hr.ci_low, hr.ci_high))
        )
        of = f" {of}" if of else ""
        if comparison.logrank_p is None:
            words = f"no test of a difference{of} was possible"
        elif comparison.logrank_p < self.alpha:
            words = f"a significant difference{of} was found"
        else:
            words = f"no significant difference{of} was detected"
        if len(GROUPINGS[by].levels) != 2:
            raise UnknownKey(f"hsct_censored_verdict compares two groups; {by!r} has {len(GROUPINGS[by].levels)}")
        return f"{words} ({effect}; {p_text})"
