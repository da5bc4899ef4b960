"""CRS and ICANS as time-dependent exposures, worded beside the analyses from infusion:
onset days, whether the two analyses agree, and the multivariable landmark model."""

from __future__ import annotations

from analysis.estimators.timevarying import ONSETS
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.groups import GROUPINGS
from analysis.report.formatting import NOT_ESTIMABLE, and_list, fmt_count, fmt_n_of, fmt_numbers, fmt_tick
from analysis.report.narrative.effects import Effects
from analysis.report.narrative.models import Models
from analysis.report.narrative.parts import _entry, in_sentence


def _day(x: float) -> str:
    return fmt_tick(x)


class TimeVarying(Effects, Models):
    # --- onsets ---------------------------------------------------------------------------
    def onset(self, toxicity: str) -> str:
        """Onset after infusion among the patients with the toxicity: 'day 5 (interquartile range
        2.0–7.3; range 1–14)' (the two ends of a range at one precision: R's quartiles 2 and 7.25)."""
        o = _entry(self.results.onset_days, "toxicity", toxicity)
        if o.median_day is None:
            return f"{NOT_ESTIMABLE} (no patient had {GROUPINGS[toxicity].title})"
        return (
            f"day {_day(o.median_day)} (interquartile range {'–'.join(fmt_numbers(o.q1_day, o.q3_day))}; "
            f"range {'–'.join(fmt_numbers(o.min_day, o.max_day))})"
        )

    def onset_after_day0(self, toxicity: str) -> str:
        """Patients whose toxicity began after the day of infusion, of those with it: '76 of 76 (100.0%)'."""
        o = _entry(self.results.onset_days, "toxicity", toxicity)
        return fmt_n_of(o.n_after_day0, o.n)

    @property
    def toxicities(self) -> tuple[str, ...]:
        return tuple(ONSETS)

    # --- agreement with the analysis from infusion -----------------------------------------
    def _pairs(self):
        return [(e, g) for (e, g) in self.results.time_dependent if e in ENDPOINTS]

    def td_agrees(self, endpoint: str, grouping: str) -> bool | None:
        """Whether the time-dependent analysis gives the verdict of the analysis from infusion
        (Mantel–Byar against log-rank at the report's alpha, and when both are significant,
        hazard ratios on the same side of 1); None when either test could not be run."""
        time0 = self.significant(endpoint, by=grouping)
        td = self.significant(endpoint, by=grouping, at="time-dependent")
        if time0 is None or td is None:
            return None
        if time0 != td:
            return False
        if not time0:
            return True
        before = self.results.survival_hr[(endpoint, grouping)].hazard_ratios
        after = self.results.time_dependent[(endpoint, grouping)].cox.exposure_terms
        return all(a.hr is not None and b.hr is not None and (a.hr > 1) == (b.hr > 1) for a, b in zip(before, after))

    def _model_agrees(self, endpoint: str, model: str) -> bool | None:
        time0 = self.exposure_significant(endpoint)
        other = self.exposure_significant(endpoint, model)
        if time0 is None or other is None:
            return None
        return time0 == other

    @property
    def td_all_agree(self) -> bool | None:
        """Whether every time-dependent comparison (Mantel–Byar by CRS, ICANS and severity, and
        the multivariable model's exposure) and the multivariable landmark models give the
        verdicts of the analyses from infusion; None when none could be compared."""
        verdicts = [self.td_agrees(e, g) for e, g in self._pairs()]
        verdicts += [self._model_agrees(e, "time-dependent") for e in self.results.time_dependent_cox]
        verdicts += [
            self._model_agrees(e, m)
            for e in self.results.cox
            for m in ("landmark", "sensitivity landmark")
            if self._has_model(e, m)
        ]
        tested = [v for v in verdicts if v is not None]
        return None if not tested else all(tested)

    def _has_model(self, endpoint: str, model: str) -> bool:
        if model == "sensitivity landmark" and not self.has_sensitivity_landmark:
            return False
        day = self.plan["landmark_day"] if model == "landmark" else self.plan["sensitivity_landmark_day"]
        lm = self.results.landmark_models.get((endpoint, day))
        return lm is not None and lm.cox is not None

    @property
    def td_disagreements(self) -> str:
        """The comparisons whose verdict changes: 'OS by CRS, the multivariable model for LFS'
        ('' when none)."""
        items = [
            f"{ENDPOINTS[e].abbreviation} by {in_sentence(GROUPINGS[g].title)}"
            for e, g in self._pairs()
            if self.td_agrees(e, g) is False
        ]
        items += [
            f"the time-dependent multivariable model for {ENDPOINTS[e].abbreviation}"
            for e in self.results.time_dependent_cox
            if self._model_agrees(e, "time-dependent") is False
        ]
        items += [
            f"the {m} model for {ENDPOINTS[e].abbreviation}"
            for e in self.results.cox
            for m in ("landmark", "sensitivity landmark")
            if self._has_model(e, m) and self._model_agrees(e, m) is False
        ]
        return and_list(items)

    def _model_numbers(self, endpoint: str, model: str | None = None) -> str:
        """'joint p = 0.035; 92 patients, 54 events' of a multivariable model."""
        cox = self._cox(endpoint, model)
        return f"joint {self.exposure_p(endpoint, model)}; {fmt_count(cox.n)} patients, {fmt_count(cox.events)} events"

    @property
    def td_disagreements_detail(self) -> str:
        """The comparisons whose verdict changes, each with what changed — the test and p of both
        analyses, and for a model the patients and events of both: 'LFS by CRS (log-rank p = 0.011
        from infusion, Mantel–Byar p = 0.090 from the onset)', 'the sensitivity landmark model for
        LFS (from infusion: joint p = 0.037; 93 patients, 69 events; at day 90: joint p = 0.267; 71
        patients, 40 events)' ('' when none). Why the verdict changed is not stated: the numbers
        show what differs (review 29)."""
        items = [
            f"{ENDPOINTS[e].abbreviation} by {in_sentence(GROUPINGS[g].title)} "
            f"({self.named_p(e, by=g)} from infusion, {self.named_p(e, by=g, at='time-dependent')} from the onset)"
            for e, g in self._pairs()
            if self.td_agrees(e, g) is False
        ]
        items += [
            f"the time-dependent multivariable model for {ENDPOINTS[e].abbreviation} (from infusion: "
            f"{self._model_numbers(e)}; from the onset: {self._model_numbers(e, 'time-dependent')})"
            for e in self.results.time_dependent_cox
            if self._model_agrees(e, "time-dependent") is False
        ]
        for e in self.results.cox:
            for m in ("landmark", "sensitivity landmark"):
                if self._has_model(e, m) and self._model_agrees(e, m) is False:
                    day = self.results.landmark_day if m == "landmark" else self.sensitivity_landmark_day
                    items.append(
                        f"the {m} model for {ENDPOINTS[e].abbreviation} (from infusion: {self._model_numbers(e)}; "
                        f"at day {day}: {self._model_numbers(e, m)})"
                    )
        return and_list(items, separator="; ")

    def events_affected(self, endpoint: str) -> int:
        """Events of an endpoint at which some patient at risk had a toxicity still to come (the
        most over the toxicity groupings): 0 means the two analyses share every risk set."""
        return max(
            (c.n_events_affected for (e, _), c in self.results.time_dependent.items() if e == endpoint), default=0
        )

    @property
    def td_identical(self) -> bool:
        """Whether no event of any endpoint happened while a toxicity was still to come: the
        time-dependent estimates then equal those from infusion (the section says why)."""
        return all(self.events_affected(e) == 0 for e in {e for e, _ in self.results.time_dependent})

    def td_events_affected(self, endpoint: str) -> str:
        """'12 of 55 deaths' of the endpoint occurred while a toxicity was still to come."""
        td = next((c for (e, _), c in self.results.time_dependent.items() if e == endpoint), None)
        if td is None:
            return NOT_ESTIMABLE
        return f"{fmt_count(self.events_affected(endpoint))} of {fmt_count(td.events)}"

    def td_zero_time(self, endpoint: str) -> int:
        """Patients of an endpoint left out of the time-dependent analyses (follow-up of 0 days)."""
        return max((c.n_zero_time for (e, _), c in self.results.time_dependent.items() if e == endpoint), default=0)

    # --- the multivariable landmark model --------------------------------------------------
    def landmark_model_n(self, endpoint: str, model: str = "landmark") -> str:
        """'92 patients, 54 events' of the landmark model."""
        cox = self._cox(endpoint, model)
        return f"{fmt_count(cox.n)} patients, {fmt_count(cox.events)} events"

    @property
    def landmark_days(self) -> str:
        """Where the multivariable model was refitted: 'the day-30 landmark and, as a sensitivity
        analysis, at day 90' (or 'the day-30 landmark')."""
        text = f"the day-{self.results.landmark_day} landmark"
        if self.has_sensitivity_landmark:
            text += f" and, as a sensitivity analysis, at day {self.sensitivity_landmark_day}"
        return text

    def landmark_model_hrs(self, endpoint: str) -> str:
        """The exposure's HRs (no p: the joint test is printed) of the model at each landmark:
        'at day 30 (92 patients, 54 events), grade ≥3 ... had HR 1.41 (95% CI 0.53–3.74) ...; at
        day 90 (78 patients, 45 events), ...'."""
        parts = [
            f"at day {self.results.landmark_day} ({self.landmark_model_n(endpoint)}), "
            f"{self.exposure_hrs(endpoint, model='landmark', p=False)}"
        ]
        if self.has_sensitivity_landmark:
            parts.append(
                f"at day {self.sensitivity_landmark_day} "
                f"({self.landmark_model_n(endpoint, 'sensitivity landmark')}), "
                f"{self.exposure_hrs(endpoint, model='sensitivity landmark', p=False)}"
            )
        return "; ".join(parts)
