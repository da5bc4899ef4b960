"""Survival: follow-up, medians and landmark survival, hazard ratios (univariable and
Table 2), the detectable hazard ratio, and how the Kaplan–Meier figures mark censoring."""

from __future__ import annotations

from analysis.registry.concepts import ENDPOINTS, ROUNDING_RULE, SURVIVAL_DIFFERENCE_METHOD, SURVIVAL_P_AND_CI
from analysis.registry.groups import GROUPINGS, TOXICITY_GROUPINGS
from analysis.report.formatting import (
    NOT_ESTIMABLE,
    RATIO_RULE,
    and_list,
    fmt_count,
    fmt_hr,
    fmt_months,
    fmt_n_of,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_signed,
)
from analysis.report.narrative.parts import (
    ONE_PATIENT,
    UnknownKey,
    _entry,
    _pick,
    _ratio,
    fmt_ci_bounds,
    in_sentence,
    km_landmark,
    km_median,
    relaxed_terms,
)
from analysis.report.narrative.verdicts import Verdicts

#: Up to this many pairwise hazard ratios beyond 1 are listed in the Discussion; more are summed up.
PAIRWISE_LISTED = 3


class Survival(Verdicts):
    def followup(self) -> str:
        """Median follow-up (reverse Kaplan–Meier) with its CI: ``text.followup()`` ->
        '37.2 months (95% CI 28.6–52.6)'."""
        fu = self.results.followup
        if self.results.counts.get("n_patients") == 1:  # that patient's own follow-up
            return ONE_PATIENT
        if fu.median_months is None:
            return f"not estimable ({fu.reason})"
        return f"{fmt_months(fu.median_months)} (95% CI {fmt_ci_bounds(fu.ci_low, fu.ci_high, fu.not_estimable)})"

    #: The multivariable models a sentence can name (``model=``): the study's (Table 2), the
    #: publication's (the demo's sensitivity analysis), the study's with its exposure
    #: time-dependent, at the landmark and the sensitivity landmark, and stratified by center.
    MODELS = ("baseline", "publication", "time-dependent", "landmark", "sensitivity landmark", "center-stratified")

    def _cox(self, endpoint: str, model: str | None = None):
        """The CoxResult of a multivariable model of ``endpoint`` (:data:`MODELS`)."""
        model = model or "baseline"
        if model not in self.MODELS:
            raise UnknownKey(f"unknown model {model!r}; the models are: {', '.join(self.MODELS)}")
        if model in ("landmark", "sensitivity landmark"):
            plan = self.results.plan
            day = plan.get("landmark_day") if model == "landmark" else plan.get("sensitivity_landmark_day")
            from analysis.estimators.cox import PUBLICATION_MODEL, _failed

            spec = self.results.model or PUBLICATION_MODEL
            if day is None:  # a sentence written both ways still evaluates: "not estimable (why)"
                return _failed(endpoint, 0, 0, "no sensitivity landmark in the analysis plan", spec)
            lm = _entry(self.results.landmark_models, f"{model} model", (endpoint, day))
            if lm.cox is None:  # nobody at the landmark: every estimate "not estimable (why)"
                return _failed(endpoint, 0, 0, lm.reason or "not fitted", spec)
            return lm.cox
        if model == "publication" and not self.results.cox_publication and endpoint in self.results.cox:
            # a sentence in content shown for the demo only is still evaluated: "not estimable (why)"
            from analysis.estimators.cox import PUBLICATION_MODEL, _failed

            return _failed(
                endpoint, 0, 0, "the publication's model is fitted for the bundled demo only", PUBLICATION_MODEL
            )
        if model == "center-stratified":
            centers = self.results.centers
            if centers is None or endpoint not in centers.cox:
                from analysis.estimators.cox import PUBLICATION_MODEL, _failed

                reason = (centers.cox_reason if centers is not None else None) or "no center-stratified model"
                return _failed(endpoint, 0, 0, reason, self.results.model or PUBLICATION_MODEL)
            return centers.cox[endpoint]
        store = {
            "baseline": self.results.cox,
            "publication": self.results.cox_publication,
            "time-dependent": self.results.time_dependent_cox,
        }[model]
        return _entry(store, f"{model} Cox model", endpoint)

    @property
    def person_years(self) -> str:
        """Total follow-up, infusion to death or last follow-up: '312.4 person-years'."""
        total = self.results.followup.person_years
        return f"{fmt_number(total)} person-years" if total is not None else NOT_ESTIMABLE

    def hr(self, endpoint: str, term: str, model: str | None = None, stratified: bool = False) -> str:
        """'HR 2.02 (95% CI 0.65–6.26), p = 0.222' for a Table 2 term; ``model=`` another model
        (:data:`MODELS`): ``text.hr("os", "severity_ge3", model="publication")``;
        ``stratified=True``: Table 2's model stratified by center (the supplement's sensitivity analysis)."""
        if stratified and self.results.centers is not None:
            cox = _entry(self.results.centers.cox, "center-stratified Cox model", endpoint)
        else:
            cox = self._cox(endpoint, model)
        t = _pick(cox.terms, "term", term)
        if t.hr is None:
            return f"HR not estimable ({t.reason or cox.reason})"
        return f"{_ratio('HR', t.hr, t.ci_low, t.ci_high)}, {fmt_p(t.p, t.reason, alpha=self.alpha)}"

    def differ_severity(self) -> str:
        """Joint Wald test of the severity group in both Cox models, as a verdict phrase:
        ``the severity group as a whole `{python} text.differ_severity()` `` -> 'showed no
        statistically significant association with OS (p = 0.479) or LFS (p = 0.807)'."""
        endpoints = [e for e in ENDPOINTS if e in self.results.cox]
        ps = [self.results.cox[e].severity_global_p for e in endpoints]
        tested = [p for p in ps if p is not None]
        if len(tested) < len(ps):
            return "could not be tested in every model"
        named = [f"{ENDPOINTS[e].abbreviation} ({self.severity_p(e)})" for e in endpoints]
        significant = [name for name, p in zip(named, ps) if p is not None and p < self.alpha]
        not_significant = [name for name, p in zip(named, ps) if p is not None and p >= self.alpha]

        def either(names: list[str], last: str) -> str:
            return and_list(names, last)

        if not significant:
            return f"showed no statistically significant association with {either(named, 'or')}"
        verdict = f"was associated with {either(significant, 'and')}"
        if not_significant:
            # each endpoint's own verdict: a joint test below alpha for one endpoint says nothing of
            # the others (review 28: 'was associated with outcome (OS p = 0.068, LFS p = 0.035...)')
            verdict += f", and showed no statistically significant association with {either(not_significant, 'or')}"
        return verdict

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

        return f"{fmt_count(MAX_CENSOR_MARKS)}"

    @property
    def rounding_rule(self) -> str:
        """How a printed difference relates to the printed values it compares (the registry's
        :data:`~analysis.registry.concepts.ROUNDING_RULE`), for the Methods."""
        return ROUNDING_RULE

    @property
    def ratio_rule(self) -> str:
        """The decimals of ratios (:data:`~analysis.report.formatting.RATIO_RULE`), for the
        supplement's methods."""
        return RATIO_RULE

    @property
    def survival_p_and_ci(self) -> str:
        """Why a log-rank p and the Wald CI of a hazard ratio can disagree: the registry's one
        statement (:data:`~analysis.registry.concepts.SURVIVAL_P_AND_CI`), for the Methods."""
        return SURVIVAL_P_AND_CI

    @property
    def survival_difference_method(self) -> str:
        """How the absolute survival differences and their group intervals are estimated: the
        registry's one statement (:data:`~analysis.registry.concepts.SURVIVAL_DIFFERENCE_METHOD`),
        for the supplement's Methods."""
        return SURVIVAL_DIFFERENCE_METHOD

    def severity_p(self, endpoint: str) -> str:
        """Joint Wald p of the severity group in a Cox model: ``text.severity_p("os")`` -> 'p = 0.479'."""
        cox = self.results.cox[endpoint]
        return fmt_p(cox.severity_global_p, cox.severity_global_reason or cox.reason, alpha=self.alpha)

    def ph_p(self, endpoint: str) -> str:
        """'p = 0.412', or 'no test (reason)' when the test cannot be computed."""
        cox = self.results.cox[endpoint]
        if cox.ph_test_global_p is None:
            return f"no test ({cox.ph_test_reason or cox.reason})"
        return fmt_p(cox.ph_test_global_p, alpha=self.alpha)

    def _pairwise_beyond_null(self) -> tuple[int, list[str], list[tuple[str, bool]]]:
        """(how many, which) pairwise estimates behind the omnibus tests of survival by a
        toxicity grouping — each level's univariable Cox HR against the reference — have a 95%
        CI that excludes 1: 'ICANS grade 1–2 against no ICANS, HR 2.23 (95% CI 1.00–4.99) for
        LFS'. The Wald CIs come from a model the log-rank test does not use, so they can
        exclude 1 where the omnibus test is not significant."""
        n, found = 0, []
        detail: list[tuple[str, bool]] = []  # (endpoint, below 1)
        for (endpoint, grouping), uc in self.results.survival_hr.items():
            if grouping not in TOXICITY_GROUPINGS:
                continue
            g = GROUPINGS[grouping]
            for hr in uc.hazard_ratios:
                if hr.hr is None or hr.ci_low is None or hr.ci_high is None:
                    continue
                n += 1
                if hr.ci_low > 1 or hr.ci_high < 1:
                    abbreviation = ENDPOINTS[endpoint].abbreviation if endpoint in ENDPOINTS else endpoint.upper()
                    # the overall test of the grouping beside the HR when it was not significant
                    # (review 30, F8: 'HR 2.21 (1.04–4.70) for EFS' read as a finding the
                    # abstract's 'none reached statistical significance' contradicted)
                    overall = (
                        f" (overall {self.named_p(endpoint, by=grouping)})"
                        if endpoint in ENDPOINTS and self.significant(endpoint, by=grouping) is False
                        else ""
                    )
                    found.append(
                        f"{in_sentence(hr.label)} against {in_sentence(g.label(uc.reference))}, "
                        f"{_ratio('HR', hr.hr, hr.ci_low, hr.ci_high)} for {abbreviation}{overall}"
                    )
                    detail.append((abbreviation, hr.ci_high < 1))
        return n, found, detail

    @property
    def pairwise_beyond_null_any(self) -> bool:
        return bool(self._pairwise_beyond_null()[1])

    @property
    def pairwise_beyond_null(self) -> str:
        """The pairwise hazard ratios whose 95% CI excludes 1 ('' when none), joined by '; '
        (each holds commas) with 'and' before the last; more than :data:`PAIRWISE_LISTED` of
        them are summed up by direction and endpoint ('all below 1 (1 for OS, 5 for LFS, and 2
        for EFS)'; the sentence cites the tables that list them): a list of eight hazard ratios
        took 150 words of the Discussion (review 29)."""
        _, found, detail = self._pairwise_beyond_null()
        if len(found) <= PAIRWISE_LISTED:
            return and_list(found, separator="; ")
        below = sum(1 for _, low in detail if low)
        if below == len(detail):
            direction = "all below 1"
        elif below == 0:
            direction = "all above 1"
        else:
            direction = f"{fmt_count(below)} below 1 and {fmt_count(len(detail) - below)} above"
        per_endpoint: dict[str, int] = {}
        for endpoint, _ in detail:
            per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        return f"{direction} ({and_list(f'{fmt_count(k)} for {e}' for e, k in per_endpoint.items())})"

    @property
    def pairwise_beyond_null_n(self) -> str:
        """How many pairwise hazard ratios have a 95% CI that excludes 1: '8'."""
        return fmt_count(len(self._pairwise_beyond_null()[1]))

    @property
    def pairwise_beyond_null_several(self) -> bool:
        """Whether more than one pairwise hazard ratio has a 95% CI that excludes 1 (the
        sentence's number: 'these are exploratory findings' or 'an exploratory finding')."""
        return len(self._pairwise_beyond_null()[1]) > 1

    @property
    def pairwise_n(self) -> str:
        """How many pairwise hazard ratios (each level against its reference) the toxicity
        groupings have: '42'."""
        return f"{fmt_count(self._pairwise_beyond_null()[0])}"

    @property
    def ph_global(self) -> str:
        """The global proportional-hazards test of every multivariable model, from the one
        list of fitted models (review 29, finding 13: the EFS model's test was left out of
        the text): 'p = 0.052 (OS), p = 0.400 (LFS) and p = 0.921 (EFS)'."""
        return and_list(
            f"{self.ph_p(e)} ({ENDPOINTS[e].abbreviation if e in ENDPOINTS else e.upper()})" for e in self.results.cox
        )

    def _ph_terms(self) -> list[tuple[str, str, float]]:
        """(endpoint, term label, p) of every per-term proportional-hazards test of the
        multivariable models (cox.zph's rows without GLOBAL)."""
        from analysis.report.pvalues import ph_term_label

        return [
            (endpoint, ph_term_label(t.term, cox), t.p)
            for endpoint, cox in self.results.cox.items()
            for t in cox.ph_tests
            if t.term != "GLOBAL" and t.p is not None
        ]

    @property
    def ph_sensitivity_any(self) -> bool:
        """Whether some model was refitted with a flagged covariate relaxed (``results.ph_sensitivity``)."""
        return bool(self.results.ph_sensitivity)

    @property
    def ph_sensitivity_summary(self) -> str:
        """The exposure's joint p with the flagged covariates relaxed, beside the main model's
        (review 29, finding 13): 'the exposure's joint p for OS was 0.671 (main model 0.720)',
        after "With them relaxed (Supplementary Table S4), "; '' when no model was refitted."""
        items = []
        for endpoint, found in self.results.ph_sensitivity.items():
            abbreviation = ENDPOINTS[endpoint].abbreviation if endpoint in ENDPOINTS else endpoint.upper()
            main = self.results.cox[endpoint]
            other = found.result
            if other is None or other.severity_global_p is None or main.severity_global_p is None:
                items.append(f"the {abbreviation} model could not be refitted ({found.reason or 'no joint test'})")
                continue
            items.append(
                f"the exposure's joint p for {abbreviation} was "
                f"{fmt_p(other.severity_global_p).removeprefix('p = ')} (main model "
                f"{fmt_p(main.severity_global_p).removeprefix('p = ')})"
            )
        return "; ".join(items)

    @property
    def ph_sensitivity_intro(self) -> str:
        """The supplement's sentence before the sensitivity table."""
        if not self.results.ph_sensitivity:
            return (
                f"No covariate's proportional-hazards test was below {self.alpha:g}, so no model was refitted "
                "with proportional hazards relaxed"
            )
        models = and_list(
            f"the {ENDPOINTS[e].abbreviation if e in ENDPOINTS else e.upper()} model ({', '.join(relaxed_terms(f))})"
            for e, f in self.results.ph_sensitivity.items()
        )
        return (
            f"Each model with a covariate whose proportional-hazards test was below {self.alpha:g} was refitted with "
            f"that covariate relaxed, a yes/no covariate as a stratum and a numeric one with an interaction with "
            f"the logarithm of time: {models}"
        )

    @property
    def ph_terms_n(self) -> str:
        """How many per-term proportional-hazards tests the models have: '12'."""
        return f"{fmt_count(len(self._ph_terms()))}"

    @property
    def ph_terms_flagged(self) -> bool:
        """Whether some per-term proportional-hazards test is below alpha."""
        return any(p < self.alpha for _, _, p in self._ph_terms())

    @property
    def ph_terms_below(self) -> str:
        """The terms whose proportional-hazards test is below alpha: 'BM blasts ≥20% vs <20% in
        the OS model (p = 0.044) and received tocilizumab in the EFS model (p = 0.036)'."""
        parts = [
            f"{in_sentence(label)} in the {ENDPOINTS[e].abbreviation if e in ENDPOINTS else e.upper()} model "
            f"({fmt_p(p, alpha=self.alpha)})"
            for e, label, p in self._ph_terms()
            if p < self.alpha
        ]
        return and_list(parts)

    @property
    def ph_terms_expected(self) -> str:
        """Per-term tests expected below alpha by chance alone when every hazard is proportional:
        n × alpha, '0.6'."""
        return fmt_number(len(self._ph_terms()) * self.alpha, decimals=1)

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
        """'24.4 months (95% CI 14.6–33.3)'; 'not reached' for a median or bound the curve stays
        above; 'not estimable' for one it cannot give (no follow-up beyond day 0; a CI that is
        undefined where survival falls to 0)."""
        return km_median(self._summary(endpoint, grouping, level))

    def landmark(self, endpoint: str, months: int, grouping: str = "all", level: str | None = None) -> str:
        """Kaplan–Meier survival at a landmark with its log-scale 95% CI: '63.4% (95% CI 54.0–74.4)'."""
        km = self._summary(endpoint, grouping, level)
        return km_landmark(_pick(km.landmarks, "landmark month", months, "months"))

    def _survival_at_text(self, s, months: float) -> str:
        """'53.2% (95% CI 41.9–67.6)' (the curve's CI: log for the survival at the plan's times, log-log
        beside a difference, the one it is built from), or 'not estimable (why)'; no event by
        then: '100.0% (no event by 24 months; 95% CI not estimable)', as :func:`km_landmark`."""
        if s.survival is None:
            return f"{NOT_ESTIMABLE} ({s.reason})"
        if s.survival == 1:
            return f"{fmt_pct(100.0)} (no event by {months:g} months; 95% CI {NOT_ESTIMABLE})"
        if s.ci_low is None or s.ci_high is None:
            return f"{fmt_pct(100 * s.survival)} (95% CI {NOT_ESTIMABLE})"
        return f"{fmt_pct(100 * s.survival)} (95% CI {fmt_pct(100 * s.ci_low).rstrip('%')}–{fmt_pct(100 * s.ci_high)})"

    @property
    def plan_times(self) -> str:
        """The plan's ``survival_times_months`` in a sentence: '12 and 24 months'."""
        return f"{and_list([f'{t:g}' for t in self._plan_times])} months"

    @property
    def last_plan_time(self) -> str:
        """The last of the plan's times: '24 months'."""
        return f"{self._plan_times[-1]:g} months"

    @property
    def _plan_times(self) -> list[float]:
        return [float(t) for t in self.results.plan["survival_times_months"]]

    def survival_at_times(self, endpoint: str) -> str:
        """Survival of all the endpoint's patients at each of the plan's times, in order (STROBE
        16c): '63.4% (95% CI 54.0–74.4) and 51.1% (95% CI 41.3–63.3)'."""
        points = _entry(self.results.survival_at_times, "survival at the plan's times", endpoint)
        return and_list([self._survival_at_text(s, t) for s, t in zip(points, self._plan_times)])

    def differences_at(self, grouping: str, endpoints: tuple[str, ...] = ("os", "lfs", "efs")) -> str:
        """The difference in survival from the reference level at the plan's last time, for each
        endpoint: '+11.4 percentage points (95% CI −16.7 to 39.4) for OS, −2.1 (95% CI ...) for
        LFS and ... for EFS' (a two-level grouping; the other times are in the supplement's table)."""
        parts = []
        for i, endpoint in enumerate(endpoints):
            result = _entry(self.results.survival_differences, "survival difference", (endpoint, grouping))
            (level,) = [lv.key for lv in GROUPINGS[grouping].levels if lv.key != result.reference]
            d = result.differences[(level, float(result.months[-1]))]
            unit = " percentage points" if i == 0 else ""
            abbreviation = ENDPOINTS[endpoint].abbreviation
            if d.difference is None:
                parts.append(f"{NOT_ESTIMABLE} ({d.reason}) for {abbreviation}")
                continue
            sign = "+" if round(100 * d.difference, 1) > 0 else ""
            value = f"{sign}{fmt_signed(100 * d.difference)}{unit}"
            if d.ci_low is None or d.ci_high is None:
                parts.append(f"{value} (95% CI {NOT_ESTIMABLE}: {d.reason}) for {abbreviation}")
            else:
                ci = f"{fmt_signed(100 * d.ci_low)} to {fmt_signed(100 * d.ci_high)}"
                parts.append(f"{value} (95% CI {ci}) for {abbreviation}")
        return and_list(parts)

    def survival_difference(
        self, endpoint: str, grouping: str, months: float | None = None, level: str | None = None
    ) -> str:
        """The absolute difference in Kaplan–Meier survival at a time of the plan
        (``survival_times_months``; default its last), with both groups' survival (STROBE 16c):
        ``text.survival_difference("os", "crs")`` -> 'OS at 24 months was 53.2% (95% CI
        41.9–67.6) with CRS and 41.8% (95% CI 23.5–74.4) without, a difference of +11.4
        percentage points (95% CI −16.7 to 39.4)'. ``level`` defaults to the only non-reference
        level of a two-level grouping; what is not estimable says so, with why."""
        result = _entry(self.results.survival_differences, "survival difference", (endpoint, grouping))
        t = float(result.months[-1] if months is None else months)
        if t not in result.months:
            raise UnknownKey(
                f"no survival difference at {t:g} months; the plan's times (survival_times_months) are: "
                + ", ".join(f"{m:g}" for m in result.months)
            )
        others = [lv.key for lv in GROUPINGS[grouping].levels if lv.key != result.reference]
        if level is None:
            if len(others) != 1:
                raise ValueError(f"grouping {grouping!r} compares several levels: name one")
            level = others[0]
        a, b = result.at[(level, t)], result.at[(result.reference, t)]
        d = result.differences[(level, t)]
        g = GROUPINGS[grouping]
        if [lv.key for lv in g.levels] == ["no", "yes"]:
            name_a, name_b = f"with {g.title}", "without"
        else:
            name_a, name_b = f"in {in_sentence(g.label(level))}", f"in {in_sentence(g.label(result.reference))}"
        text = (
            f"{ENDPOINTS[endpoint].abbreviation} at {t:g} months was {self._survival_at_text(a, t)} {name_a} "
            f"and {self._survival_at_text(b, t)} {name_b}"
        )
        if d.difference is None:
            return f"{text}; their difference is {NOT_ESTIMABLE} ({d.reason})"
        sign = "+" if round(100 * d.difference, 1) > 0 else ""
        diff = f"{sign}{fmt_signed(100 * d.difference)} percentage points"
        if d.ci_low is None or d.ci_high is None:
            return f"{text}, a difference of {diff} (95% CI {NOT_ESTIMABLE}: {d.reason})"
        return f"{text}, a difference of {diff} (95% CI {fmt_signed(100 * d.ci_low)} to {fmt_signed(100 * d.ci_high)})"

    def survival_hr(self, endpoint: str, grouping: str, level: str | None = None, name: bool = True) -> str:
        """Univariable Cox HR against the reference level: 'HR 1.04 (95% CI 0.51–2.12)';
        ``name=False`` for a sentence that names the HR itself: '1.04 (95% CI 0.51–2.12)'.

        ``level`` defaults to the only non-reference level of a two-level grouping."""
        cox = _entry(self.results.survival_hr, "survival comparison", (endpoint, grouping))
        if level is None:
            if len(cox.hazard_ratios) != 1:
                raise ValueError(f"grouping {grouping!r} compares several levels: name one")
            hr = cox.hazard_ratios[0]
        else:
            hr = _pick(cox.hazard_ratios, "level", level, "level")
        if hr.hr is None:
            return f"{'HR ' if name else ''}{NOT_ESTIMABLE} ({hr.reason or cox.reason})"
        text = _ratio("HR", hr.hr, hr.ci_low, hr.ci_high)
        return text if name else text.removeprefix("HR ")

    def detectable_hr(self, endpoint: str, grouping: str) -> str:
        """Schoenfeld's minimum detectable HR with 80% power at the report's alpha, a property
        of the design (the number of events and the allocation), never of the observed effect:
        '2.66 (or 0.38 for a lower hazard)'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        if d.hr_below is None:
            return f"{NOT_ESTIMABLE} ({d.reason})"
        return f"{fmt_hr(d.hr_above)} (or {fmt_hr(d.hr_below)} for a lower hazard)"

    def detectable_allocation(self, endpoint: str, grouping: str) -> str:
        """The allocation Schoenfeld's formula uses, reference group first: '17 patients without
        and 76 with CRS (allocation 1:4.5)'; for a grouping whose levels are not 'without and
        with': '78 patients “Others” and 15 “CRS and ICANS” (allocation 1:0.19)'."""
        comparison = self.results.survival[(endpoint, grouping)]
        reference = self.results.survival_hr[(endpoint, grouping)].reference
        ref = next(lv for lv in comparison.levels if lv.key == reference)
        (other,) = [lv for lv in comparison.levels if lv.key != reference]
        ratio = f"1:{fmt_number(other.n / ref.n, decimals=1 if other.n >= ref.n else 2)}" if ref.n else NOT_ESTIMABLE
        if ref.key == "no" and other.key == "yes":
            with_it = in_sentence(other.label)
            return f"{fmt_count(ref.n)} patients without and {fmt_count(other.n)} with {with_it} (allocation {ratio})"
        counts = f"{fmt_count(ref.n)} patients “{ref.label}” and {fmt_count(other.n)} “{other.label}”"
        return f"{counts} (allocation {ratio})"

    def power_computed(self, endpoint: str, grouping: str) -> bool | None:
        """True when Schoenfeld's detectable HR of the comparison could be computed, None when
        not (no event, an empty group, every event tied at one time), for ``text.choose``: a
        sentence claims a power only when there is one; ``text.power_reason`` says why not."""
        return True if self.results.detectable_hr[(endpoint, grouping)].hr_below is not None else None

    def power_reason(self, endpoint: str, grouping: str) -> str:
        """Why the power of a comparison could not be computed: 'no event'."""
        return self.results.detectable_hr[(endpoint, grouping)].reason or ""

    def detectable_basis(self, endpoint: str, grouping: str) -> str:
        """What the detectable HR rests on: '55 events; 15 of 93 (16.1%) patients in the group
        “CRS and ICANS”; 80% power; two-sided alpha 0.05'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        comparison = self.results.survival[(endpoint, grouping)]
        reference = self.results.survival_hr[(endpoint, grouping)].reference
        (level,) = [lv for lv in comparison.levels if lv.key != reference]
        total = sum(lv.n for lv in comparison.levels)
        return (
            f"{fmt_count(d.events)} events; {fmt_n_of(level.n, total)} patients in the group “{level.label}”; "
            f"{fmt_pct(100 * d.power, 0)} power; two-sided alpha {d.alpha:g}"
        )
