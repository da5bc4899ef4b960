"""A verdict with its effect size: estimate, CI and p of a comparison after the words."""

from __future__ import annotations

from analysis.registry.concepts import KINETIC_METRICS
from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS
from analysis.report.formatting import (
    NOT_ESTIMABLE,
)
from analysis.report.narrative.parts import (
    _inline_ci,
    _ratio,
    in_sentence,
    kinetics_effect_text,
)
from analysis.report.narrative.response import Response
from analysis.report.narrative.survival import Survival


class Effects(Survival, Response):
    def effect(self, what: str, key=None, *, by: str | None = None, at: str | None = None) -> str:
        """Estimate, CI and p of a comparison, for parentheses after a verdict.

        Survival: 'HR 0.95, 95% CI 0.46–1.94; p = 0.894' (two levels) or each level's HR
        against the reference then the log-rank p. Response, two levels: the risk difference
        and the odds ratio then the p; three levels: the p alone (the rates are in Figure 1).
        Kinetics (``"peak"``/``"cmax"``, ``"tmax"``, ``"auc"``, groupings of the kinetics table):
        each level's Hodges–Lehmann ratio or shift against the reference, then the p.
        Competing risks: "Gray's test p = 0.245". Landmark (``at="landmark"``): 'log-rank
        p = 0.976; HR 1.01, 95% CI 0.50–2.07' (the HR for a two-level grouping). Time-dependent
        (``at="time-dependent"``): 'Mantel–Byar p = 0.924; HR 1.04, 95% CI 0.51–2.12' (each
        level's HR against the reference for three levels).
        """
        table, key = self._locate(what, key, by, at)
        p_text = self.p(table, key)
        if table == "competing":
            return f"Gray's test {p_text}"
        if table == "landmark":
            lm = self.results.landmark[key]
            if lm.survival is None:
                return f"{NOT_ESTIMABLE} ({lm.reason})"
            parts = [f"log-rank {p_text}"]
            if len(lm.hazard_ratios) == 1:
                h = lm.hazard_ratios[0]
                parts.append(
                    f"HR {NOT_ESTIMABLE} ({h.reason})"
                    if h.hr is None
                    else _inline_ci(_ratio("HR", h.hr, h.ci_low, h.ci_high))
                )
            return "; ".join(parts)
        if table == "time_dependent":
            td = self.results.time_dependent[key]
            if td.mantel_byar.p is None and td.cox.reason:
                return f"{NOT_ESTIMABLE} ({td.mantel_byar.reason or td.cox.reason})"
            endpoint, grouping = key
            parts = [f"Mantel–Byar {p_text}"]
            terms = td.cox.exposure_terms
            for term in terms:
                text = (
                    f"HR {NOT_ESTIMABLE} ({term.reason or td.cox.reason})"
                    if term.hr is None
                    else _inline_ci(_ratio("HR", term.hr, term.ci_low, term.ci_high))
                )
                parts.append(text + (f" for {in_sentence(term.label)}" if len(terms) > 1 else ""))
            if len(terms) > 1:
                parts[-1] += f", each versus {in_sentence(GROUPINGS[grouping].label(REFERENCE_LEVELS[grouping]))}"
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
        if table in ("kinetics", "kinetics_metrics"):
            metric, grouping = key if table == "kinetics_metrics" else ("cmax", key)
            kc = self.results.kinetics_metrics.get((metric, grouping))
            if kc is None or self.results.kinetics_reason:
                return p_text
            parts = []
            for effect in kc.effects:
                text = _inline_ci(kinetics_effect_text(effect, KINETIC_METRICS[metric].ratio))
                if len(kc.effects) > 1:
                    text += f" for {effect.label}"
                parts.append(text)
            if len(kc.effects) > 1:
                parts[-1] += f", each versus {GROUPINGS[grouping].label(kc.effects[0].reference)}"
            return "; ".join(parts + [p_text])
        if table == "response" and key in self.results.response_effects:
            response, grouping = key
            return "; ".join(
                [
                    "difference " + _inline_ci(self.risk_difference(response, grouping, p=False)),
                    _inline_ci(self.odds_ratio(response, grouping)),
                    self.named_p(table, key),  # the test named beside a difference (review 30, finding 2)
                ]
            )
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
