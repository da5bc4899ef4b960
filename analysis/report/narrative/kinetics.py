"""CAR-T kinetics: whether expansion was analyzed, why not, its family of tests, the
Cmax/Tmax/AUC(0–28) summaries with their Hodges–Lehmann effects, how the AUCs were obtained
and the visit windows of the profiles."""

from __future__ import annotations

from analysis.registry.concepts import KINETIC_METRICS, KINETICS_SELECTION_VARIABLES, NO_KINETICS_REASON
from analysis.registry.groups import GROUPINGS
from analysis.report.formatting import NOT_ESTIMABLE, and_list, fmt_count, fmt_median_range, fmt_n_of, fmt_number, fmt_p
from analysis.report.narrative.parts import (
    TestSet,
    _entry,
    _pick,
    in_sentence,
    kinetics_effect_text,
)
from analysis.report.narrative.verdicts import Verdicts


def _and(items: list[str]) -> str:
    return and_list(items)


class Kinetics(Verdicts):
    @property
    def kinetics_reason(self) -> str:
        """Why there is no kinetics analysis ('' when there is one):
        ``CAR-T expansion was not analyzed: `{python} text.kinetics_reason`.`` ->
        'CAR-T expansion was not analyzed: no CAR-T kinetics table was supplied.'"""
        if self.has_kinetics:
            return ""
        return self.results.kinetics_reason or NO_KINETICS_REASON

    #: The groupings of Figure 4's peak comparisons, in panel order.
    PEAK_GROUPINGS = ("crs", "icans", "severity", "concurrent")

    def _peak_splits(self) -> tuple[list[str], list[tuple[str, str]]]:
        """(distinct groupings, [(grouping, the earlier grouping it coincides with)]): a grouping
        that divides the patients with kinetics into the groups of an earlier one is the same
        comparison (in the demo, concurrent CRS and ICANS is ICANS: every patient with kinetics
        and ICANS also had CRS)."""
        distinct: list[str] = []
        same: list[tuple[str, str]] = []
        for g in self.PEAK_GROUPINGS:
            earlier = self.results.kinetics_same_split(g, distinct) if self.has_kinetics else None
            if earlier:
                same.append((g, earlier))
            else:
                distinct.append(g)
        return distinct, same

    @property
    def kinetics_others(self) -> str:
        """The patients without kinetics data: '69'."""
        c = self.results.counts
        return fmt_count(c["n_patients"] - c["n_kinetics_patients"])

    @property
    def kinetics_selection(self) -> str:
        """How the patients with kinetics data compare with the others (STROBE 12c/14a), after
        'compared with the other 69 patients, ': 'none of the 10 comparisons of baseline
        characteristics and toxicity reached statistical significance at the 5% level' or
        'they differed in sex (p = 0.031) and age (p = 0.012) (2 of 10 comparisons)'."""
        selection = self.results.kinetics_selection
        tested = {k: c.result.p for k, c in selection.items() if c.result.p is not None}
        hits = [k for k, p in tested.items() if p < self.alpha]
        n = fmt_count(len(selection))
        if not tested:
            return f"the {n} characteristics could not be compared (too few patients)"
        if not hits:
            return (
                f"none of the {n} comparisons of baseline characteristics and toxicity reached "
                f"statistical significance at the {self.alpha_level} level"
            )
        named = [f"{KINETICS_SELECTION_VARIABLES[k].phrase} ({fmt_p(tested[k])})" for k in hits]
        return f"they differed in {and_list(named)} ({fmt_count(len(hits))} of {n} comparisons)"

    @property
    def kinetics_tests(self) -> TestSet:
        """Peak expansion by CRS, ICANS, severity and concurrent CRS and ICANS, each distinct
        comparison once (:meth:`_peak_splits`): ``text.kinetics_tests.groupings`` -> 'CRS,
        CRS/ICANS severity' (those that differed)."""
        return self.tests("peak", by=self._peak_splits()[0])

    @property
    def kinetics_coinciding(self) -> str:
        """For the count of the peak comparisons: '' when every grouping divides the patients
        with kinetics differently, else ' (concurrent CRS and ICANS versus the others divided
        these patients as ICANS did, so it is counted once)'."""
        same = self._peak_splits()[1]
        if not same:
            return ""
        parts = [
            f"{in_sentence(GROUPINGS[g].title)} versus the others divided these patients as "
            f"{in_sentence(GROUPINGS[e].title)} did"
            if g == "concurrent"
            else f"{in_sentence(GROUPINGS[g].title)} divided these patients as {in_sentence(GROUPINGS[e].title)} did"
            for g, e in same
        ]
        return f" ({_and(parts)}, so {'it is' if len(same) == 1 else 'each is'} counted once)"

    @property
    def visit_windows(self) -> str:
        """The kinetics visits of the profiles (study file ``analysis: visit_windows``):
        'days 7, 14, 21 and 28 (± 3 days), 60 and 90 (± 14 days) and 180 (± 30 days)'."""
        groups: list[tuple[int, list[int]]] = []
        for day, within in self.results.visit_windows:
            if groups and groups[-1][0] == within:
                groups[-1][1].append(day)
            else:
                groups.append((within, [day]))
        parts = [
            f"{_and([str(d) for d in days])} (± {within} day{'s' if within != 1 else ''})" for within, days in groups
        ]
        return ("day " if len(self.results.visit_windows) == 1 else "days ") + _and(parts)

    def _metric(self, metric: str, by: str):
        if metric not in KINETIC_METRICS:
            raise ValueError(f"unknown kinetic metric {metric!r}; the metrics are: {', '.join(KINETIC_METRICS)}")
        return _entry(self.results.kinetics_metrics, "kinetics comparison", (metric, by))

    def kinetics_direction(self, by: str) -> bool | None:
        """Whether the peak was higher in a two-level grouping's exposed group (CRS) than in its
        reference, by the Hodges–Lehmann ratio: True (higher), False (lower), None (no
        estimate, or a grouping of more levels)."""
        kc = self.results.kinetics_metrics.get(("cmax", by))
        if kc is None or len(kc.effects) != 1 or kc.effects[0].shift.estimate is None:
            return None
        estimate = kc.effects[0].shift.estimate
        return None if estimate == 1 else estimate > 1

    def kinetics_effect(self, metric: str, by: str, level: str | None = None) -> str:
        """A level against the reference (the only other level of a two-level grouping by
        default): ``text.kinetics_effect("auc", by="crs")`` -> 'ratio 0.94 (95% CI 0.22–3.13)';
        ``text.kinetics_effect("tmax", by="crs")`` -> 'shift 0.0 days (95% CI −4.0 to 0.0)'."""
        kc = self._metric(metric, by)
        if level is None:
            if len(kc.effects) != 1:
                raise ValueError(f"grouping {by!r} compares several levels: name one")
            effect = kc.effects[0]
        else:
            effect = _pick(kc.effects, "level", level, "level")
        return kinetics_effect_text(effect, KINETIC_METRICS[metric].ratio)

    def kinetics_n(self, metric: str, by: str, level: str) -> str:
        """Patients with a value of a metric in one group: ``text.kinetics_n("cmax", by="crs", level="no")`` -> '5'."""
        lv = _pick(self._metric(metric, by).comparison.levels, "level", level)
        return f"{fmt_count(lv.n)}"

    def kinetics_effect_estimable(self, metric: str, by: str) -> bool:
        """Whether a two-level grouping's Hodges–Lehmann effect has an estimate and a CI (not when
        a group has no patient with a value)."""
        kc = self._metric(metric, by)
        if len(kc.effects) != 1:
            return False
        shift = kc.effects[0].shift
        return shift.estimate is not None and shift.ci_low is not None and shift.ci_high is not None

    def kinetics_ratio_span(self, metric: str, by: str, level: str | None = None, noun: str = "value") -> str:
        """What the 95% CI of a Hodges–Lehmann ratio leaves open, in words: 'from a 3.4-fold
        lower to a 3.3-fold higher value' (``noun``); 'not estimable' without a CI."""
        kc = self._metric(metric, by)
        effect = kc.effects[0] if level is None else _pick(kc.effects, "level", level, "level")
        low, high = effect.shift.ci_low, effect.shift.ci_high
        if low is None or high is None or not (0 < low <= high < float("inf")):
            return NOT_ESTIMABLE

        def fold(x: float) -> str:
            if x < 1:
                return f"a {fmt_number(1 / x, decimals=1)}-fold lower"
            return "an equal" if x == 1 else f"a {fmt_number(x, decimals=1)}-fold higher"

        return f"from {fold(low)} to {fold(high)} {noun}"

    def kinetics_median(self, metric: str, by: str, level: str) -> str:
        """Median (range) of a metric in one group, with its unit:
        ``text.kinetics_median("tmax", by="crs", level="yes")`` -> '10 days (range 7–14)'."""
        kc = self._metric(metric, by)
        lv = _pick(kc.comparison.levels, "level", level)
        if lv.n == 0:
            return f"{NOT_ESTIMABLE} (no patient with a value in the group “{lv.label}”)"
        text = fmt_median_range(lv.median, lv.min, lv.max)
        median, _, rest = text.partition(" (")
        return f"{median} {KINETIC_METRICS[metric].unit} (range {rest}"

    @property
    def auc_computed(self) -> str:
        """For how many patients with samples the AUC(0–28) was computed, for the manuscript
        (the supplement gives how: :attr:`auc_obtained`): '24 of 24 patients'."""
        a = self.results.kinetics_auc
        if a is None:
            return f"{NOT_ESTIMABLE} ({self.kinetics_reason})"
        return f"{fmt_n_of(a.n_auc, a.n_patients).split(' (')[0]} patients"

    @property
    def auc_obtained(self) -> str:
        """How the AUC(0–28) of the patients with samples was obtained:
        '24 of 24 patients (day 28 interpolated for 4; no patient lacked a day-0 sample)'."""
        a = self.results.kinetics_auc
        if a is None:
            return f"{NOT_ESTIMABLE} ({self.kinetics_reason})"
        notes = []
        if a.n_auc:  # how the computed ones were obtained (none computed: nothing to say)
            notes.append(
                f"day 28 interpolated for {fmt_count(a.n_day28_interpolated)}"
                if a.n_day28_interpolated
                else ("sampled on day 28" if a.n_auc == 1 else "every one sampled on day 28")
            )
            notes.append(
                f"day 0 counted as 0 copies for {fmt_count(a.n_day0_imputed)} without a day-0 sample"
                if a.n_day0_imputed
                else "no patient lacked a day-0 sample"
            )
        missing = []
        if a.n_no_late_sample:
            missing.append(f"{fmt_count(a.n_no_late_sample)} without a sample on or after day 28")
        if a.n_no_early_sample:
            missing.append(f"{fmt_count(a.n_no_early_sample)} without a sample in days 1–28")
        if missing:
            notes.append("not computed for " + _and(missing))
        return f"{self.auc_computed} ({'; '.join(notes)})"

    def kinetics_level_title(self, by: str, level: str) -> str:
        """The label of a level: ``text.kinetics_level_title("crs", "yes")`` -> 'CRS'."""
        return GROUPINGS[by].label(level)
