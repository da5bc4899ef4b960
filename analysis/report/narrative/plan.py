"""The analysis plan worded for Methods: what the study file's ``analysis:`` section says
(:data:`analysis.registry.concepts.OPTIONS`, resolved in ``results.plan``), one phrase per
decision, so that Methods describes the analysis that was run and nothing typed."""

from __future__ import annotations

import math

from analysis.registry.concepts import (
    ENDPOINTS,
    MRD_METHODS,
    RESPONSE_CRITERIA,
    TOXICITY_GRADING,
    TOXICITY_GRADING_SHORT,
    covariate_phrase,
)
from analysis.registry.groups import GROUPINGS, REFERENCE_LEVELS
from analysis.report.formatting import NOT_ESTIMABLE, and_list
from analysis.report.narrative.parts import Part, in_sentence

#: Superscript digits for 10⁻⁴.
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _exposure_phrase(grouping: str) -> str:
    """'the CRS/ICANS severity group (no CRS or ICANS; grade ≥3 CRS or severe ICANS; ...)'."""
    g = GROUPINGS[grouping]
    return f"the {in_sentence(g.title)} group"


class Plan(Part):
    @property
    def plan(self) -> dict:
        """The analysis plan as used (``results.plan``; the defaults when none was given)."""
        if self.results.plan:
            return self.results.plan
        from analysis.report.results import resolve_plan

        return resolve_plan({})

    # --- endpoints ----------------------------------------------------------------------
    @property
    def primary_endpoint(self) -> str:
        """The primary endpoint's key (``analysis: primary_endpoint``): ``text.hr(text.primary_endpoint, ...)``."""
        return str(self.plan["primary_endpoint"])

    @property
    def primary_endpoint_title(self) -> str:
        """'overall survival' (in a sentence)."""
        return in_sentence(ENDPOINTS[self.primary_endpoint].title)

    @property
    def primary_event(self) -> str:
        """What the primary endpoint counts, for 'HR ... for death': 'death', 'relapse or death'."""
        return ENDPOINTS[self.primary_endpoint].event_phrase

    @property
    def primary_among(self) -> str:
        """Whom the primary endpoint is estimated in, when not every patient: ' among the
        patients in CR' for LFS (conditional on response), '' for OS and EFS."""
        population = ENDPOINTS[self.primary_endpoint].population
        return "" if population == ENDPOINTS["os"].population else f" among the {population}"

    # --- definitions --------------------------------------------------------------------
    @property
    def response_criteria(self) -> str:
        """How a day-30 CR treated count recovery: 'regardless of blood count recovery (CR or CR
        with incomplete count recovery, CRi)'."""
        return RESPONSE_CRITERIA[self.plan["response_criteria"]]

    @property
    def mrd_definition(self) -> str:
        """'fewer than 0.01% (10⁻⁴) leukemic cells in the marrow by multicolor flow cytometry'."""
        threshold = float(self.plan["mrd_threshold_pct"])
        exponent = math.log10(threshold / 100)
        power = f" (10{str(round(exponent)).translate(_SUPERSCRIPT)})" if abs(exponent - round(exponent)) < 1e-9 else ""
        return (
            f"fewer than {threshold:g}%{power} leukemic cells in the marrow by {MRD_METHODS[self.plan['mrd_method']]}"
        )

    @property
    def grading(self) -> str:
        """The grading system of CRS and ICANS: 'the ASTCT consensus criteria'."""
        return TOXICITY_GRADING[self.plan["toxicity_grading"]]

    @property
    def grading_short(self) -> str:
        """The grading system's short name: 'ASTCT', 'CTCAE'."""
        return TOXICITY_GRADING_SHORT[self.plan["toxicity_grading"]]

    @property
    def grading_is_astct(self) -> bool:
        """ASTCT grading (the section then cites Lee et al. 2019): the title block's ``cartox.astct``."""
        return self.plan["toxicity_grading"] == "astct"

    # --- the multivariable model ----------------------------------------------------------
    @property
    def exposure(self) -> str:
        """The exposure grouping of the multivariable model (``analysis: exposure``)."""
        return str(self.plan["exposure"])

    @property
    def exposure_title(self) -> str:
        """'the CRS/ICANS severity group'."""
        return _exposure_phrase(self.exposure)

    @property
    def exposure_levels(self) -> str:
        """The exposure's levels against its reference: 'grade ≥3 CRS or severe ICANS and others
        (grade 1–2 CRS and/or ICANS), each against no CRS or ICANS'."""
        g = GROUPINGS[self.exposure]
        reference = REFERENCE_LEVELS[self.exposure]
        others = [in_sentence(g.label(k)) for k in g.keys if k != reference]
        each = "each " if len(others) > 1 else ""
        return f"{and_list(others)}, {each}against {in_sentence(g.label(reference))}"

    @property
    def model_covariates(self) -> str:
        """The covariates of the study's model as Methods lists them: 'age, bone-marrow blasts
        (≥20% versus <20%), Ph-chromosome status and infused CAR-T cell dose'; 'no covariate'."""
        model = self.results.model
        if model is None or not model.covariates:
            return "no covariate"
        items = []
        for column in model.covariates:
            cut = model.cutoff(column)
            phrase = covariate_phrase(column)
            if cut is not None:
                from analysis.registry.contract import unit_of

                unit = unit_of(column)
                u = "%" if unit == "%" else f" {unit}" if unit else ""
                phrase += f" (≥{cut:g}{u} versus <{cut:g}{u})"
            items.append(phrase)
        return and_list(items)

    @property
    def cutoff_covariates(self) -> str:
        """The covariates the model enters at a cut-off: 'bone-marrow blasts' ('' when none)."""
        model = self.results.model
        return and_list(covariate_phrase(c) for c, _ in model.cutoffs) if model is not None else ""

    @property
    def continuous_covariates(self) -> str:
        """The continuous covariates whose functional form the supplement examines: 'age,
        bone-marrow blasts and infused CAR-T cell dose'."""
        columns = dict.fromkeys(c for _, c in self.results.functional_forms)
        return and_list(covariate_phrase(c) for c in columns)

    def _functional(self, endpoint: str, column: str):
        from analysis.report.narrative.parts import _entry

        return _entry(self.results.functional_forms, "functional form", (endpoint, column))

    def continuous_hr(self, endpoint: str, column: str) -> str:
        """The HR of a covariate entered per unit in the functional-form analysis, with its unit:
        'HR 0.99 per 10 percentage points (95% CI 0.90–1.09)'."""
        from analysis.registry.contract import unit_of
        from analysis.report.formatting import fmt_ci, fmt_hr, ratio_decimals

        f = self._functional(endpoint, column)
        if f.hr is None:
            return f"HR {NOT_ESTIMABLE} ({f.reason})"
        unit = unit_of(column) or "unit"
        unit = {"%": "percentage point", "years": "year"}.get(unit, unit)
        per = f"per {f.per:g} {unit}s" if f.per != 1 else f"per {unit}"
        d = ratio_decimals(f.hr, f.ci_low, f.ci_high)  # one precision for the three
        return f"HR {fmt_hr(f.hr, decimals=d)} {per} (95% CI {fmt_ci(f.ci_low, f.ci_high, decimals=d)})"

    def nonlinearity_p(self, endpoint: str, column: str) -> str:
        """The p of the spline's nonlinear term: 'p = 0.009' (or 'not estimable (why)')."""
        from analysis.report.formatting import fmt_p

        f = self._functional(endpoint, column)
        if f.nonlinearity_p is None:
            return f"{NOT_ESTIMABLE} ({f.nonlinearity_reason or f.reason})"
        return fmt_p(f.nonlinearity_p, alpha=self.alpha)

    @property
    def survival_times(self) -> str:
        """The plan's times of the absolute survival differences: '12 and 24 months'."""
        return and_list(f"{t:g}" for t in self.plan["survival_times_months"]) + " months"

    @property
    def functional_form_summary(self) -> str:
        """The supplement's sentences on the functional form: each cut covariate entered per unit
        instead, per endpoint, and which tests of nonlinearity had p below alpha (no verdict of
        linearity from a p above it)."""
        from analysis.report.formatting import fmt_count

        forms = self.results.functional_forms
        endpoints = list(dict.fromkeys(e for e, _ in forms))
        parts = []
        for column, cut in self.results.model.cutoffs if self.results.model is not None else ():
            hrs = and_list(
                f"{self.continuous_hr(e, column).removeprefix('HR ')} for {ENDPOINTS[e].abbreviation}"
                for e in endpoints
                if (e, column) in forms
            )
            from analysis.registry.contract import unit_of

            unit = unit_of(column)
            u = "%" if unit == "%" else f" {unit}" if unit else ""
            parts.append(
                f"Entered per unit instead of at the cut-off of {cut:g}{u}, {covariate_phrase(column)} had a "
                f"hazard ratio of {hrs}."
            )
        alpha = self.plan["alpha"]
        tested = [(e, c, f) for (e, c), f in forms.items() if f.nonlinearity_p is not None]
        low = [f"{covariate_phrase(c)} ({ENDPOINTS[e].abbreviation})" for e, c, f in tested if f.nonlinearity_p < alpha]
        if low:
            parts.append(
                f"The nonlinear term had p < {alpha:g} for {and_list(low)}: there, a straight line (or the "
                f"cut-off) may describe the association poorly; for the other {fmt_count(len(tested) - len(low))} "
                f"tests it had p ≥ {alpha:g}, which does not show that the association is linear."
            )
        elif tested:
            parts.append(
                f"The nonlinear term had p ≥ {alpha:g} in each of the {fmt_count(len(tested))} tests, which does "
                "not show that the associations are linear."
            )
        return " ".join(parts)

    @property
    def has_unavailable_covariates(self) -> bool:
        """Whether the plan names covariates without any value in the data (left out)."""
        return bool(self.results.covariates_unavailable)

    @property
    def unavailable_covariates(self) -> str:
        """'peak IL-6 and peak ferritin' (named in the plan, no value in the data)."""
        return and_list(covariate_phrase(c) for c in self.results.covariates_unavailable)

    @property
    def default_covariates(self) -> bool:
        """Whether the model adjusts for the default baseline confounders (the section then
        says why they were chosen)."""
        from analysis.registry.concepts import OPTIONS

        return list(self.plan["covariates"]) == list(OPTIONS["covariates"].default)

    # --- landmarks ------------------------------------------------------------------------
    @property
    def has_sensitivity_landmark(self) -> bool:
        """Whether the plan has a second landmark (``analysis: sensitivity_landmark_day``)."""
        day = self.plan["sensitivity_landmark_day"]
        return day is not None and int(day) != int(self.plan["landmark_day"])

    @property
    def sensitivity_landmark_day(self) -> str:
        """The second landmark: '90' ('' when there is none)."""
        return str(self.plan["sensitivity_landmark_day"]) if self.has_sensitivity_landmark else ""
