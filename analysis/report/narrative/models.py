"""The multivariable models in a sentence: the exposure's and the covariates' hazard ratios,
the joint test of the exposure, and events per coefficient (any of the models of
:data:`analysis.report.narrative.survival.Survival.MODELS`)."""

from __future__ import annotations

from analysis.estimators.cox import EPV_RULE
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.diseases import endpoint_of
from analysis.report.formatting import NOT_ESTIMABLE, and_list, fmt_count, fmt_hr, fmt_number, fmt_p
from analysis.report.narrative.parts import _ratio, in_sentence
from analysis.report.narrative.plan import Plan
from analysis.report.narrative.survival import Survival

_PER = {"years": "year", "%": "percentage point", "days after infusion": "day"}


def covariate_term_phrase(term, model) -> str:
    """A covariate's coefficient inside a sentence (a :class:`~analysis.estimators.cox.TermSpec`):
    'age (per year)', 'bone-marrow blasts ≥20% (versus <20%)', 'Ph-chromosome status',
    'sex (female versus male)'."""
    from analysis.registry.concepts import CATEGORICAL, VARIABLES, covariate_phrase
    from analysis.registry.contract import BOOLEAN, unit_of
    from analysis.registry.diseases import field_kind

    column = term.term
    phrase = covariate_phrase(column)
    unit = unit_of(column)
    cut = model.cutoff(column)
    if cut is not None:
        u = "%" if unit == "%" else f" {unit}" if unit else ""
        return f"{phrase} ≥{cut:g}{u} (versus <{cut:g}{u})"
    kind = field_kind(column)
    if kind == BOOLEAN:
        return covariate_phrase(column, coefficient=True)
    variable = VARIABLES.get(column)
    if variable is not None and variable.kind == CATEGORICAL:
        reference = variable.categories[0].label.lower()
        category = term.key.removeprefix(f"{column}_")
        label = next(c.label for c in variable.categories if c.value == category).lower()
        return f"{phrase} ({label} versus {reference})"
    per = _PER.get(unit or "", unit)
    return f"{phrase} (per {per})" if per else phrase


def _abbreviation(endpoint: str) -> str:
    """'OS', 'PFS': the abbreviation of a time-to-event endpoint of any profile."""
    try:
        return endpoint_of(endpoint).abbreviation
    except KeyError:
        return endpoint


class EventsPerCoefficient:
    """Events per coefficient of the multivariable models (``self.results.cox`` by endpoint,
    ``self._cox(endpoint, which)`` for one model), for the B-ALL and the disease manuscripts."""

    def epv(self, endpoint: str, model=None) -> str:
        """Events per coefficient of a model: '9.2 (55 events, 6 coefficients)'."""
        cox = self._cox(endpoint, model)  # type: ignore[attr-defined]
        if cox.events_per_variable is None:
            return f"{NOT_ESTIMABLE} (no coefficient)"
        epv = fmt_number(cox.events_per_variable, decimals=1)
        return f"{epv} ({fmt_count(cox.events)} events, {cox.n_coefficients} coefficients)"

    def epv_sentence(self, endpoint: str, model=None) -> str:
        """One sentence per model (review 29: one muddled sentence for three): 'The LFS model had
        11.5 events per coefficient (69 events, 6 coefficients).'; below :data:`EPV_RULE`: 'The OS
        model had 9.2 events per coefficient (55 events, 6 coefficients), fewer than 10: its
        estimates may be biased away from 1 and their confidence intervals unreliable, so they
        should be read as exploratory.'"""
        cox = self._cox(endpoint, model)  # type: ignore[attr-defined]
        name = f"The {_abbreviation(endpoint)} model"
        if cox.events_per_variable is None:
            return f"{name} had no coefficient to count events for."
        epv = fmt_number(cox.events_per_variable, decimals=1)
        counts = f"({fmt_count(cox.events)} events, {cox.n_coefficients} coefficients)"
        if cox.events_per_variable >= EPV_RULE:
            return f"{name} had {epv} events per coefficient {counts}."
        return (
            f"{name} had {epv} events per coefficient {counts}, fewer than {EPV_RULE}: its estimates may be "
            "biased away from 1 and their confidence intervals unreliable, so they should be read as exploratory."
        )

    @property
    def epv_sentences(self) -> str:
        """Events per coefficient of every multivariable model: one sentence per model when one
        is below :data:`EPV_RULE` (:meth:`epv_sentence`), else one for all: 'Every model had at
        least 10 events per coefficient (OS 14.7, LFS 18.0, and EFS 19.8).'"""
        models = self.results.cox  # type: ignore[attr-defined]
        values = {e: c.events_per_variable for e, c in models.items()}
        if not values or any(v is None or v < EPV_RULE for v in values.values()):
            return " ".join(self.epv_sentence(e) for e in models)
        listed = and_list(f"{_abbreviation(e)} {fmt_number(v, decimals=1)}" for e, v in values.items())
        return f"Every model had at least {EPV_RULE} events per coefficient ({listed})."

    @property
    def epv_rule(self) -> str:
        """'10': events per coefficient below which the report warns."""
        return str(EPV_RULE)

    def _low_epv(self) -> dict:
        return {
            e: c
            for e, c in self.results.cox.items()  # type: ignore[attr-defined]
            if c.events_per_variable is not None and c.events_per_variable < EPV_RULE
        }

    @property
    def low_epv(self) -> bool:
        """Whether a main multivariable model has fewer than :data:`EPV_RULE` events per coefficient."""
        return bool(self._low_epv())

    @property
    def low_epv_models(self) -> str:
        """The main models below the rule: 'OS (9.2 events per coefficient)'."""
        return and_list(
            f"{_abbreviation(e)} ({fmt_number(c.events_per_variable, decimals=1)} events per coefficient)"
            for e, c in self._low_epv().items()
        )


class Models(EventsPerCoefficient, Survival, Plan):
    def _term_hr(self, term, cox, with_p: bool = True) -> str:
        if term.hr is None:
            return f"HR {NOT_ESTIMABLE} ({term.reason or cox.reason})"
        ratio = _ratio("HR", term.hr, term.ci_low, term.ci_high)
        return f"{ratio}, {fmt_p(term.p, term.reason, alpha=self.alpha)}" if with_p else ratio

    def exposure_hrs(
        self, endpoint: str, model: str | None = None, p: bool = True, labels: bool = True, short: bool = False
    ) -> str:
        """Every level of the model's exposure against its reference (:attr:`exposure_reference`):
        'grade ≥3 CRS or severe ICANS had HR 1.41 (95% CI 0.53–3.72), p = 0.490 and others
        (grade 1–2 CRS and/or ICANS) HR 1.09 (95% CI 0.48–2.47), p = 0.841'; ``p=False``: the
        HRs and CIs alone (the time-dependent and landmark models, whose joint test is printed:
        the p-value table lists what the report prints); ``labels=False``: without the levels'
        names, for a sentence that named them, in this order, for another endpoint ('HR 1.41 (...),
        p = 0.490 and HR 1.09 (...), p = 0.841'); ``short=True``: the levels' short labels where
        the registry has them ('grade 1–2 only', 'grade ≥3 or severe': the abstract's word limit)."""
        from analysis.estimators.cox import exposure_term_key
        from analysis.registry.groups import GROUPINGS

        cox = self._cox(endpoint, model)
        if not labels:
            return and_list([self._term_hr(t, cox, p) for t in cox.exposure_terms])
        grouping = GROUPINGS.get(cox.exposure)
        shorter = (
            {exposure_term_key(cox.exposure, lv.key): lv.row_label for lv in grouping.levels}
            if short and grouping is not None
            else {}
        )
        parts = [
            f"{in_sentence(shorter.get(t.key, t.label))} {'had ' if i == 0 else ''}{self._term_hr(t, cox, p)}"
            for i, t in enumerate(cox.exposure_terms)
        ]
        return and_list(parts)

    @property
    def exposure_reference(self) -> str:
        """The exposure's reference level in a sentence: 'no CRS or ICANS'."""
        from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS

        return in_sentence(GROUPINGS[self.exposure].label(REFERENCE_LEVELS[self.exposure]))

    def _spec(self, model: str | None):
        from analysis.estimators.cox import PUBLICATION_MODEL

        return PUBLICATION_MODEL if model == "publication" else self.results.model

    def covariate_hrs(self, endpoint: str, model: str | None = None) -> str:
        """Every covariate's HR: 'HR 0.99 (95% CI 0.98–1.01), p = 0.400 for age (per year); HR 0.64
        (...) for bone-marrow blasts ≥20% (versus <20%); ...' ('no covariate' without one)."""
        from analysis.estimators.cox import model_terms

        cox = self._cox(endpoint, model)
        if not cox.covariate_terms:
            return "no covariate"
        spec = self._spec(model)
        phrases = {t.key: covariate_term_phrase(t, spec) for t in model_terms(spec)} if spec else {}
        return "; ".join(
            f"{self._term_hr(t, cox)} for {phrases.get(t.key, in_sentence(t.label))}" for t in cox.covariate_terms
        )

    def exposure_p(self, endpoint: str, model: str | None = None) -> str:
        """Joint Wald test of the exposure's terms: 'p = 0.720'."""
        cox = self._cox(endpoint, model)
        return fmt_p(cox.severity_global_p, cox.severity_global_reason or cox.reason, alpha=self.alpha)

    def exposure_significant(self, endpoint: str, model: str | None = None) -> bool | None:
        """Whether the exposure's joint test is significant at the report's alpha (None: no test)."""
        p = self._cox(endpoint, model).severity_global_p
        return None if p is None else p < self.alpha

    def n_missing(self, endpoint: str, model: str | None = None) -> int:
        """Patients left out of a model for a missing covariate value."""
        return self._cox(endpoint, model).n_missing

    @property
    def any_missing_covariate(self) -> bool:
        """Whether a Table 2 model left out patients for a missing covariate value."""
        return any(c.n_missing for c in self.results.cox.values())

    @property
    def missing_covariate_counts(self) -> str:
        """'3 patients for OS and 2 for LFS'."""
        items = [(e, c.n_missing) for e, c in self.results.cox.items() if c.n_missing]
        return and_list(
            f"{fmt_count(n)} {'patient' if n == 1 else 'patients'} for {ENDPOINTS[e].abbreviation}" for e, n in items
        )

    # --- the direction of the adjusted association (the Interpretation) -------------------
    def _adjusted_beyond_null(self) -> list[tuple[str, list]]:
        """(endpoint, exposure terms whose 95% CI excludes 1) of each main multivariable model
        with at least one such term, in model order."""
        found = []
        for endpoint, cox in self.results.cox.items():
            terms = [
                t
                for t in cox.exposure_terms
                if t.hr is not None
                and t.ci_low is not None
                and t.ci_high is not None
                and (t.ci_low > 1 or t.ci_high < 1)
            ]
            if terms:
                found.append((endpoint, terms))
        return found

    @property
    def adjusted_beyond_null_any(self) -> bool:
        """Whether an exposure term of a main multivariable model has a 95% CI that excludes 1."""
        return bool(self._adjusted_beyond_null())

    @property
    def adjusted_lower(self) -> bool | None:
        """Whether every adjusted HR of the exposure whose CI excludes 1 is below 1 (toxicity with
        lower hazards): True; every one above 1: False; some each way, or none: None."""
        sides = {t.hr < 1 for _, terms in self._adjusted_beyond_null() for t in terms}
        return next(iter(sides)) if len(sides) == 1 else None

    @property
    def adjusted_beyond_null_count(self) -> str:
        """How many of the main models' exposure HRs have a 95% CI that excludes 1, of how many:
        '4 of 6'."""
        n = sum(len(c.exposure_terms) for c in self.results.cox.values())
        return f"{fmt_count(sum(len(t) for _, t in self._adjusted_beyond_null()))} of {fmt_count(n)}"

    @property
    def adjusted_beyond_null_models(self) -> str:
        """The models with such an HR: 'the OS, LFS, and EFS models', 'the LFS model'."""
        names = [_abbreviation(e) for e, _ in self._adjusted_beyond_null()]
        return f"the {and_list(names)} model{'s' if len(names) > 1 else ''}"

    @property
    def primary_verdict(self) -> str:
        """The verdict of the study's main analysis, the joint test of the exposure in the
        primary endpoint's adjusted model, as a sentence (review 30, F3: a conclusion that
        counts the significant secondary tests states it first; the abstract's Results give
        that model's HRs just before): 'The main adjusted analysis (OS) was not significant
        (joint p = 0.068).'; a model with fewer than :data:`EPV_RULE` events per coefficient says
        so there too (review 31: the abstract gave the HRs of a 9.2-EPV model without the caveat
        Results give, which Methods set at 10): '... (joint p = 0.720; 9.2 events per coefficient).'"""
        endpoint = self.primary_endpoint
        name = ENDPOINTS[endpoint].abbreviation if endpoint in ENDPOINTS else endpoint.upper()
        verdict = self.exposure_significant(endpoint)
        p = self.exposure_p(endpoint)
        if verdict is None:
            return f"The main adjusted analysis ({name}) could not be tested ({p})."
        epv = self._cox(endpoint).events_per_variable
        caveat = f"; {fmt_number(epv, decimals=1)} events per coefficient" if epv is not None and epv < EPV_RULE else ""
        return f"The main adjusted analysis ({name}) was {'' if verdict else 'not '}significant (joint {p}{caveat})."

    def _adjusted_joint(self) -> tuple[list[str], list[str]]:
        """(significant, not significant): the models with an exposure HR whose CI excludes 1,
        by the verdict of their joint test of the exposure (a model without one is in neither)."""
        yes: list[str] = []
        no: list[str] = []
        for endpoint, _ in self._adjusted_beyond_null():
            verdict = self.exposure_significant(endpoint)
            if verdict is not None:
                (yes if verdict else no).append(_abbreviation(endpoint))
        return yes, no

    @property
    def adjusted_joint_all(self) -> bool | None:
        """Whether the joint test of the exposure — the model's verdict, not a single HR (review
        30, F4) — was significant in every model with an HR whose CI excludes 1: True; in none
        of them: False; in some: None."""
        yes, no = self._adjusted_joint()
        if not no:
            return True
        return False if not yes else None

    @property
    def adjusted_joint_significant(self) -> str:
        """Those models whose joint test was significant: 'LFS' ('' when none)."""
        return and_list(self._adjusted_joint()[0])

    # --- the abstract's headline ----------------------------------------------------------
    @property
    def headline(self) -> str:
        """The primary endpoint's exposure HRs in the study's model, for the abstract:
        'grade 1–2 only had HR 1.09 (95% CI 0.48–2.47), p = 0.841 and grade ≥3 or severe HR 1.41
        (95% CI 0.53–3.72), p = 0.490 for death' (the levels' short labels; for LFS:
        '... for relapse or death among the patients in CR')."""
        return f"{self.exposure_hrs(self.primary_endpoint, short=True)} for {self.primary_event}{self.primary_among}"

    @property
    def headline_hrs(self) -> str:
        """The headline without each level's Wald p (the abstract: the exposure's joint test is
        its p, printed beside it or in the Conclusions; a level's p below alpha beside a joint p
        above it invites reading the level alone): 'grade 1–2 only had HR 1.09 (95% CI
        0.48–2.47) and grade ≥3 or severe HR 1.41 (95% CI 0.53–3.72) for death'."""
        hrs = self.exposure_hrs(self.primary_endpoint, p=False, short=True)
        return f"{hrs} for {self.primary_event}{self.primary_among}"

    @property
    def headline_term(self) -> str:
        """Key of the primary model's first exposure term (the most severe level of the severity
        group by default): ``text.e_value(text.primary_endpoint, text.headline_term)``."""
        terms = self._cox(self.primary_endpoint).exposure_terms
        return terms[0].key if terms else ""

    @property
    def stratified_headline(self) -> str:
        """Every exposure level of the primary model stratified by center (the supplement's
        sensitivity analysis), with the exposure's joint test, as the main model reports them
        (review 30, finding 7: only the first level was given; each level's Wald p is in the
        supplement's table, as for the landmark models): 'others (grade 1–2 CRS and/or ICANS) had
        HR 0.50 (95% CI 0.27–0.91) and grade ≥3 CRS or severe ICANS HR 0.54 (95% CI 0.27–1.06)
        for death (joint p = 0.074)'; 'not estimable (why)' without an exposure term."""
        endpoint = self.primary_endpoint
        if not self._cox(endpoint).exposure_terms:
            return f"{NOT_ESTIMABLE} (the model has no exposure term)"
        cox = self._cox(endpoint, "center-stratified")
        if not cox.exposure_terms:
            return f"{NOT_ESTIMABLE} ({cox.reason or 'the model has no exposure term'})"
        return (
            f"{self.exposure_hrs(endpoint, model='center-stratified', p=False)} for {self.primary_event} "
            f"(joint {self.exposure_p(endpoint, model='center-stratified')})"
        )

    @property
    def headline_e_values(self) -> str:
        """E-values of every hazard ratio the abstract's headline reports, in its order, with
        the E-values of their confidence limits closest to 1 (the rule: each exposure term of the
        plan's primary model, so the E-value never belongs to a term the reader cannot tell
        apart; review 29, finding 18): 'E-values 1.85 and 1.23 (CI limits 1.00 and 1.00)'; with
        one term 'E-value 1.85 (CI limit 1.00)'; '' without an exposure term."""
        terms = self._cox(self.primary_endpoint).exposure_terms
        if not terms:
            return ""
        values = [self.results.e_values.get(("cox", self.primary_endpoint, t.key)) for t in terms]

        def shown(e, value) -> str:  # as text.e_value / text.e_value_ci print it
            if e is None:
                return f"{NOT_ESTIMABLE} (no E-value)"
            return f"{NOT_ESTIMABLE} ({e.reason})" if value is None else fmt_hr(value)

        points = [shown(e, None if e is None else e.point) for e in values]
        limits = [shown(e, None if e is None else e.ci) for e in values]
        if len(terms) == 1:
            return f"E-value {points[0]} (CI limit {limits[0]})"
        return f"E-values {and_list(points)} (CI limits {and_list(limits)})"

    @property
    def headline_label(self) -> str:
        """That term's level in a sentence: 'grade ≥3 CRS or severe ICANS'."""
        terms = self._cox(self.primary_endpoint).exposure_terms
        return in_sentence(terms[0].label) if terms else ""
