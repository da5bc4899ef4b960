"""Competing risks (relapse and non-relapse mortality in CR) and the landmark analysis."""

from __future__ import annotations

from analysis.registry.groups import TOXICITY_GROUPINGS
from analysis.report.formatting import (
    fmt_count,
    fmt_p,
    fmt_pct,
)
from analysis.report.narrative.parts import (
    Part,
    _entry,
    _pick,
)


class Competing(Part):
    def competing_count(self, key: str) -> str:
        """'43' for ``n`` (patients in CR), ``n_relapse`` or ``n_nrm`` of the CR cohort."""
        return f"{fmt_count(getattr(self.results.competing['all'], key))}"

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
        return fmt_p(gray.p, gray.reason, alpha=self.alpha)

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
        return f"{fmt_count(lm.n)} of {fmt_count(lm.n_before)}"

    def landmark_excluded(self, endpoint: str, grouping: str = "crs") -> str:
        """'1 patient had died and 0 were no longer followed' on or before the landmark."""
        lm = self.results.landmark[(endpoint, grouping)]
        event = "had died" if endpoint == "os" else "had relapsed or died"
        if lm.n_event_before == 0 and lm.n_censored_before == 0:
            return (
                "no patient had died or left follow-up before it"
                if endpoint == "os"
                else "no patient had relapsed, died or left follow-up before it"
            )
        noun = "patient" if lm.n_event_before == 1 else "patients"
        before, censored = fmt_count(lm.n_event_before), fmt_count(lm.n_censored_before)
        return f"{before} {noun} {event} and {censored} had no follow-up beyond it"

    def landmark_reclassified(self, grouping: str = "crs") -> str:
        """Patients at the OS landmark whose CRS or ICANS began after it (counted as none):
        'no patient's CRS or ICANS began after the landmark' or '5 patients whose ... counted as without it'."""
        n = self.results.landmark[("os", grouping)].n_reclassified
        if n == 0:
            return "no patient's CRS or ICANS began after the landmark"
        noun = "patient" if n == 1 else "patients"
        return f"{fmt_count(n)} {noun} whose CRS or ICANS began after the landmark counted as without it"
