"""Inline numbers and verdicts for the prose, read from the results object.

The manuscript writes `` `{python} text.n_of("n_crs")` `` instead of typing
"76 of 93 (81.7%)", and `` `{python} text.differ(("os", "crs"))` `` instead
of typing "did not differ", so a new data export rewrites the numbers *and*
the words that depend on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .formatting import NOT_ESTIMABLE, fmt_ci, fmt_hr, fmt_median_range, fmt_months, fmt_n_of, fmt_p, fmt_pct, is_missing
from .groups import GROUPINGS
from .results import Results

ALPHA = 0.05

#: The publication's numbers with where they are printed (see data/README.md).
PUBLISHED_VALUES = Path(__file__).resolve().parent.parent / "data" / "published.yml"

#: Groupings that describe toxicity (the question of the report), in the order of the figures.
TOXICITY_GROUPINGS = ("crs", "icans", "concurrent", "crs_grade", "icans_grade", "severity")

MISSING_PHRASES = {
    "il6_peak_pg_ml": "peak IL-6",
    "ferritin_peak_ng_ml": "peak ferritin",
    "dex_equiv_cum_mg": "steroid dose (patients given steroids)",
    "tocilizumab_cum_mg": "tocilizumab dose (patients given tocilizumab)",
}

TABLE_PHRASES = {"response": "CR", "kinetics": "peak expansion", "survival": "survival"}

OUTCOME_PHRASES = {"cr": "CR", "mrd_negative_cr": "MRD-negative CR", "os": "OS", "lfs": "LFS"}

#: How a Table 1 variable is named inside a sentence.
VARIABLE_PHRASES = {
    "age": "age",
    "sex": "sex",
    "ph_positive": "Ph-chromosome status",
    "il6_peak_pg_ml": "peak IL-6",
    "ferritin_peak_ng_ml": "peak ferritin",
    "prior_lines": "number of prior therapy lines",
    "disease_status": "disease status",
    "n_relapses": "number of relapses",
    "steroids": "corticosteroid use",
    "tocilizumab": "tocilizumab use",
    "bm_blasts_pct": "bone-marrow blasts",
    "cart_dose_1e6_per_kg": "infused CAR-T cell dose",
}


@dataclass(frozen=True)
class Narrative:
    results: Results

    # --- counts -------------------------------------------------------------------------
    def count(self, key: str) -> str:
        return str(self.results.counts[key])

    def n_of(self, key: str, denominator: str = "n_patients") -> str:
        """'76 of 93 (81.7%)' for a count of the results object."""
        return fmt_n_of(self.results.counts[key], self.results.counts[denominator])

    def median_range(self, name: str, unit: str = "") -> str:
        """'5 (range 1–14)' for a descriptive distribution (onset days, doses, age)."""
        d = self.results.descriptives[name]
        text = fmt_median_range(d.median, d.min, d.max)
        return f"{text} {unit}".strip() if unit else text

    # --- p-values -----------------------------------------------------------------------
    def _p(self, table: str, key):
        if table == "table1":
            r = self.results.table1[key].result
        elif table == "response":
            r = self.results.response[key].result
        elif table == "kinetics":
            if self.results.kinetics_reason:
                # one short reason: the kinetics paragraph repeats it for every grouping
                return None, "no kinetics data"
            r = self.results.kinetics_peak[key].result
        elif table == "survival":
            s = self.results.survival[key]
            return s.logrank_p, s.reason
        else:
            raise KeyError(table)
        return r.p, r.reason

    def p(self, table: str, key) -> str:
        """Formatted p-value, e.g. ``p("survival", ("os", "crs"))`` -> 'p = 0.677'."""
        p, reason = self._p(table, key)
        return fmt_p(p, reason)

    def significant(self, table: str, key) -> bool | None:
        p, _ = self._p(table, key)
        return None if p is None else p < ALPHA

    def differ(self, table: str, key, yes: str = "differed significantly", no: str = "did not differ significantly") -> str:
        """A verdict phrase that follows the data rather than the publication."""
        verdict = self.significant(table, key)
        if verdict is None:
            return "could not be compared"
        return yes if verdict else no

    def differ_all(self, table: str, keys, yes: str = "differed significantly in at least one comparison",
                   no: str = "did not differ significantly") -> str:
        """One verdict for a sentence that lists several tests: 'no' only when none is significant."""
        verdicts = [self.significant(table, key) for key in keys]
        if any(verdicts):
            return yes
        if all(v is None for v in verdicts):
            return "could not be compared"
        return no

    def table1_significant(self, grouping: str) -> list[str]:
        """Table 1 variables whose p-value is < 0.05 for a grouping."""
        return [
            v
            for (v, g), c in self.results.table1.items()
            if g == grouping and c.result.p is not None and c.result.p < ALPHA
        ]

    def table1_differences(self, grouping: str) -> str:
        """'peak IL-6 (p < 0.001) and steroid use (p < 0.001)', or 'none of the characteristics'."""
        items = [
            f"{VARIABLE_PHRASES[v]} ({self.p('table1', (v, grouping))})" for v in self.table1_significant(grouping)
        ]
        if not items:
            return "none of the characteristics"
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    # --- survival and Cox ---------------------------------------------------------------
    def followup(self) -> str:
        fu = self.results.followup
        if fu.median_months is None:
            return f"not estimable ({fu.reason})"
        return f"{fmt_months(fu.median_months)} (95% CI {fmt_ci_bounds(fu.ci_low, fu.ci_high)})"

    def hr(self, endpoint: str, term: str) -> str:
        """'HR 2.02 (95% CI 0.65–6.26), p = 0.222' for a Table 2 term."""
        cox = self.results.cox[endpoint]
        t = next(t for t in cox.terms if t.key == term)
        if t.hr is None:
            return f"HR not estimable ({t.reason or cox.reason})"
        return f"{_ratio('HR', t.hr, t.ci_low, t.ci_high)}, {fmt_p(t.p, t.reason)}"

    def lowest_cr_rate(self) -> str:
        """The lowest CR rate of any toxicity-group level: '17 of 19 (89.5%), in the group “CRS grade ≥3”'."""
        levels = [
            level
            for grouping in TOXICITY_GROUPINGS
            for level in self.results.response[("cr", grouping)].levels
            if level.n > 0
        ]
        worst = min(levels, key=lambda level: level.rate)
        return f"{fmt_n_of(worst.events, worst.n)}, in the group “{worst.label}”"

    def differ_severity(self) -> str:
        """Joint Wald test of the severity group in both Cox models, as a verdict phrase."""
        ps = {e: self.results.cox[e].severity_global_p for e in ("os", "lfs")}
        if any(p is None for p in ps.values()):
            return "could not be tested in both models"
        if all(p >= ALPHA for p in ps.values()):
            return f"was not associated with OS ({self.severity_p('os')}) or LFS ({self.severity_p('lfs')})"
        return f"was associated with outcome (OS {self.severity_p('os')}, LFS {self.severity_p('lfs')})"

    def kinetics_verdict(self) -> str:
        """Whether CAR-T expansion told the toxicity groups apart, worded from the tests."""
        tested = [g for g in ("crs", "icans", "severity", "concurrent") if self.significant("kinetics", g) is not None]
        if not tested:
            return f"expansion could not be compared ({self.results.kinetics_reason or 'too few samples'})."
        different = [GROUPINGS[g].title for g in tested if self.significant("kinetics", g)]
        if not different:
            return "the absence of clinical CRS did not identify patients with poor expansion in these data."
        return f"expansion differed by {', '.join(different)}, in line with toxicity as a marker of expansion."

    def treatment_verdict(self) -> str:
        """Whether tocilizumab or corticosteroids went with response, expansion or survival."""
        tests = [
            (table, key)
            for g in ("tocilizumab", "steroids")
            for table, key in (("response", ("cr", g)), ("kinetics", g), ("survival", ("os", g)), ("survival", ("lfs", g)))
        ]
        hits = [(t, k) for t, k in tests if self.significant(t, k)]
        if not hits:
            return (
                "Neither tocilizumab nor corticosteroids was associated with response, expansion or survival "
                "in this analysis, which supports treating toxicity promptly rather than withholding treatment "
                "out of concern for efficacy."
            )
        listed = ", ".join(
            f"{TABLE_PHRASES[t]} by {GROUPINGS[k if isinstance(k, str) else k[1]].title.lower()} ({self.p(t, k)})"
            for t, k in hits
        )
        return f"Treatment of toxicity was associated with outcome in this analysis: {listed}."

    def significant_terms(self, endpoint: str) -> str:
        """Cox terms with Wald p < 0.05, as a phrase ('none' when there are none)."""
        terms = [t.label for t in self.results.cox[endpoint].terms if t.p is not None and t.p < ALPHA]
        if not terms:
            return "none"
        return terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + " and " + terms[-1]

    def severity_p(self, endpoint: str) -> str:
        cox = self.results.cox[endpoint]
        return fmt_p(cox.severity_global_p, cox.severity_global_reason or cox.reason)

    def ph_p(self, endpoint: str) -> str:
        cox = self.results.cox[endpoint]
        return fmt_p(cox.ph_test_global_p, cox.ph_test_reason or cox.reason)

    @property
    def cutoff(self) -> str:
        """The data cut-off as a reader writes it: '1 March 2023'."""
        c = self.results.cutoff
        return f"{c.day} {c.strftime('%B %Y')}"

    def main_comparisons(self) -> list[tuple[str, tuple[str, str]]]:
        """Every toxicity-versus-efficacy test of the report: response and survival by each toxicity grouping."""
        return [
            (table, (outcome, grouping))
            for grouping in TOXICITY_GROUPINGS
            for table, outcomes in (("response", ("cr", "mrd_negative_cr")), ("survival", ("os", "lfs")))
            for outcome in outcomes
        ]

    @property
    def conclusion(self) -> str:
        """The abstract's conclusion, worded from the tests rather than typed."""
        tests = self.main_comparisons()
        significant = [key for table, key in tests if self.significant(table, key)]
        if not significant:
            return (
                f"Of the {len(tests)} comparisons of response or survival between toxicity groups, none "
                "reached statistical significance: patients who developed CRS or ICANS, at any grade, "
                "responded and survived like those who did not."
            )
        listed = ", ".join(f"{OUTCOME_PHRASES[o]} by {GROUPINGS[g].title}" for o, g in significant)
        return (
            f"{len(significant)} of {len(tests)} comparisons of response or survival between toxicity "
            f"groups reached statistical significance ({listed}); these associations need confirmation."
        )

    @property
    def synthetic_notice(self) -> str:
        return SYNTHETIC_NOTICE

    # --- appendix -----------------------------------------------------------------------
    @cached_property
    def reproduction(self):
        from .reproduction import load_published, reproduce

        return reproduce(self.results.to_dict(), load_published(PUBLISHED_VALUES))

    @property
    def reproduction_rows(self):
        return self.reproduction.rows

    @property
    def reproduction_intro(self) -> str:
        s = self.reproduction.summary
        source = (
            "the bundled synthetic data set, calibrated to the publication"
            if self.results.is_synthetic
            else "the data this report was rendered with (a different cohort is expected to differ)"
        )
        return (
            f"@tbl-reproduction compares {s.total} numbers printed in the publication [@source2024] "
            f"with the values computed from {source}: {s.exact} agree exactly as printed, "
            f"{s.within_10pct} more lie within 10%, and {s.conclusions_agree} of {s.p_values} "
            "published tests reach the same conclusion at the 5% level."
        )

    @property
    def data_summary(self) -> str:
        c, m = self.results.counts, self.results.missing
        rows = [
            ("Patients", c["n_patients"]),
            ("Centers", c["n_centers"]),
            ("Years of infusion", f"{c['first_infusion_year']}–{c['last_infusion_year']}"),
            ("Data cut-off", self.cutoff),
            ("Deaths", c["n_deaths"]),
            ("Patients in CR at day 30", c["n_cr"]),
            ("Relapses or deaths after CR", c["n_lfs_events"]),
            ("Patients with CAR-T kinetics", c["n_kinetics_patients"]),
            ("Kinetics samples", c["n_kinetics_samples"]),
        ] + [(f"Missing: {MISSING_PHRASES[k]}", v) for k, v in m.items()]
        lines = ["| Item | Value |", "|:--|--:|"] + [f"| {k} | {v} |" for k, v in rows]
        origin = "synthetic (bundled)" if self.results.is_synthetic else "user-supplied export"
        return "\n".join(lines) + f"\n\nData source: {origin}."

    @property
    def software_versions(self) -> str:
        import platform
        from importlib.metadata import version

        from . import __version__

        packages = ["numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib", "great_tables", "pandera"]
        rows = [("cartox", __version__), ("Python", platform.python_version())]
        rows += [(name, version(name.replace("_", "-"))) for name in packages]
        return "\n".join(["| Software | Version |", "|:--|:--|"] + [f"| {k} | {v} |" for k, v in rows])

    def level_label(self, grouping: str, key: str) -> str:
        return GROUPINGS[grouping].label(key)

    # --- effect sizes (estimate and 95% CI beside every p) ------------------------------
    def _summary(self, endpoint: str, grouping: str = "all", level: str | None = None):
        comparison = self.results.survival[(endpoint, grouping)]
        if level is None:
            if len(comparison.levels) != 1:
                raise ValueError(f"grouping {grouping!r} has several levels: name one")
            return comparison.levels[0]
        return next(lv for lv in comparison.levels if lv.key == level)

    def median_survival(self, endpoint: str, grouping: str = "all", level: str | None = None) -> str:
        """'24.4 months (95% CI 14.6–33.3)'; 'not reached' for a median or bound never reached."""
        km = self._summary(endpoint, grouping, level)
        if km.n == 0:
            return f"{NOT_ESTIMABLE} ({km.reason})"
        if km.median_months is None:
            low = "" if km.median_ci_low is None else f" (95% CI {fmt_ci_bounds(km.median_ci_low, None)})"
            return f"not reached{low}"
        return f"{fmt_months(km.median_months)} (95% CI {fmt_ci_bounds(km.median_ci_low, km.median_ci_high)})"

    def landmark(self, endpoint: str, months: int, grouping: str = "all", level: str | None = None) -> str:
        """Kaplan–Meier survival at a landmark with its log-scale 95% CI: '63.4% (95% CI 54.0–74.4)'."""
        km = self._summary(endpoint, grouping, level)
        lm = next(x for x in km.landmarks if x.months == months)
        if lm.survival is None:
            return f"{NOT_ESTIMABLE} ({lm.reason})"
        if lm.ci_low is None or lm.ci_high is None:
            return f"{fmt_pct(100 * lm.survival)} (95% CI {NOT_ESTIMABLE})"
        return f"{fmt_pct(100 * lm.survival)} (95% CI {fmt_pct(100 * lm.ci_low).rstrip('%')}–{fmt_pct(100 * lm.ci_high)})"

    def survival_hr(self, endpoint: str, grouping: str, level: str | None = None) -> str:
        """Univariable Cox HR against the reference level: 'HR 1.04 (95% CI 0.51–2.12)'.

        ``level`` defaults to the only non-reference level of a two-level grouping."""
        cox = self.results.survival_hr[(endpoint, grouping)]
        if level is None:
            if len(cox.hazard_ratios) != 1:
                raise ValueError(f"grouping {grouping!r} compares several levels: name one")
            hr = cox.hazard_ratios[0]
        else:
            hr = next(h for h in cox.hazard_ratios if h.level == level)
        if hr.hr is None:
            return f"HR {NOT_ESTIMABLE} ({hr.reason or cox.reason})"
        return _ratio("HR", hr.hr, hr.ci_low, hr.ci_high)

    def risk_difference(self, response: str, grouping: str) -> str:
        """Exposed minus reference rate, Newcombe 95% CI: '−9.2 percentage points (95% CI −17.8 to 9.8)'."""
        d = self.results.response_effects[(response, grouping)].difference
        if d.difference is None:
            return f"difference {NOT_ESTIMABLE} ({d.reason})"
        return (f"{_signed(100 * d.difference)} percentage points "
                f"(95% CI {_signed(100 * d.ci_low)} to {_signed(100 * d.ci_high)})")

    def odds_ratio(self, response: str, grouping: str) -> str:
        """Conditional-MLE odds ratio with fisher.test's exact 95% CI: 'OR 0.49 (95% CI 0.07–5.64)'."""
        o = self.results.response_effects[(response, grouping)].odds_ratio
        if o.odds_ratio is None:
            return f"OR {NOT_ESTIMABLE} ({o.reason})"
        return _ratio("OR", o.odds_ratio, o.ci_low, o.ci_high)

    def effect(self, table: str, key) -> str:
        """Estimate, CI and p of a comparison, for parentheses after a verdict.

        Survival: 'HR 0.95, 95% CI 0.46–1.94; p = 0.894' (two levels) or each level's HR
        against the reference then the log-rank p. Response, two levels: the risk difference
        and the odds ratio then the p; three levels: the p alone (the rates are in Figure 1).
        """
        p_text = self.p(table, key)
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
        if table == "response" and key in self.results.response_effects:
            response, grouping = key
            return "; ".join([
                "difference " + _inline_ci(self.risk_difference(response, grouping)),
                _inline_ci(self.odds_ratio(response, grouping)),
                p_text,
            ])
        return p_text

    def verdict(self, table: str, key) -> str:
        """'no significant difference was detected (HR 0.95, 95% CI 0.46–1.94; p = 0.894)'
        or 'a significant difference was found (...)': the words follow the test, the
        estimate and its CI follow the words."""
        significant = self.significant(table, key)
        if significant is None:
            words = "no test was possible"
        elif significant:
            words = "a significant difference was found"
        else:
            words = "no significant difference was detected"
        return f"{words} ({self.effect(table, key)})"

    def rate(self, response: str, grouping: str, level: str) -> str:
        """A response rate with its denominator and exact 95% CI: '69 of 76 (90.8%; 95% CI 81.9–96.2%)'."""
        lv = next(x for x in self.results.response[(response, grouping)].levels if x.key == level)
        if lv.n == 0:
            return f"{NOT_ESTIMABLE} (no patient in the group “{lv.label}”)"
        ci = f"{fmt_pct(100 * lv.ci_low).rstrip('%')}–{fmt_pct(100 * lv.ci_high)}"
        return f"{lv.events:,} of {lv.n:,} ({fmt_pct(100 * lv.rate)}; 95% CI {ci})"

    def detectable_hr(self, endpoint: str, grouping: str) -> str:
        """Schoenfeld's smallest detectable HR with 80% power at the report's alpha:
        'a hazard ratio of 0.38 or below (or 2.66 or above)'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        if d.hr_below is None:
            return f"{NOT_ESTIMABLE} ({d.reason})"
        return f"a hazard ratio of {fmt_hr(d.hr_below)} or below (or {fmt_hr(d.hr_above)} or above)"

    def detectable_basis(self, endpoint: str, grouping: str) -> str:
        """What the detectable HR rests on: '55 events; 15 of 93 (16.1%) patients in the group
        “CRS and ICANS”; 80% power; two-sided alpha 0.05'."""
        d = self.results.detectable_hr[(endpoint, grouping)]
        comparison = self.results.survival[(endpoint, grouping)]
        (level,) = [lv for lv in comparison.levels if lv.key != self.results.survival_hr[(endpoint, grouping)].reference]
        total = sum(lv.n for lv in comparison.levels)
        return (f"{d.events:,} events; {fmt_n_of(level.n, total)} patients in the group “{level.label}”; "
                f"{fmt_pct(100 * d.power, 0)} power; two-sided alpha {d.alpha:g}")


def _ratio(name: str, estimate, low, high) -> str:
    """'HR 2.02 (95% CI 0.65–6.26)'; a missing or infinite bound: 'HR 2.02 (95% CI not estimable)'."""
    if is_missing(low) or is_missing(high):
        return f"{name} {fmt_hr(estimate)} (95% CI {NOT_ESTIMABLE})"
    return f"{name} {fmt_hr(estimate)} (95% CI {fmt_ci(low, high)})"


def _inline_ci(text: str) -> str:
    """'HR 1.04 (95% CI 0.51–2.12)' -> 'HR 1.04, 95% CI 0.51–2.12' (inside parentheses already)."""
    head, sep, ci = text.partition(" (95% CI ")
    return f"{head}, 95% CI {ci[:-1]}" if sep and ci.endswith(")") else text


def _signed(x: float) -> str:
    """One decimal with a true minus sign: '−9.2', '9.8', '0.0'."""
    text = fmt_pct(x).rstrip("%")
    return text.replace("-", "\u2212")


def fmt_ci_bounds(low, high) -> str:
    """'26.6–50.0' with 'not reached' for a missing upper bound."""
    lo = "not reached" if low is None else f"{low:.1f}"
    hi = "not reached" if high is None else f"{high:.1f}"
    return f"{lo}–{hi}"


#: Shown at the top of the report whenever the bundled synthetic data set is used.
SYNTHETIC_NOTICE = """::: {.callout-warning}
## Synthetic data — not real patients

This report was computed from the bundled **synthetic** data set, generated by
`python -m analysis synthesize` and calibrated to the published summary figures.
No number in it describes a real patient. Point the report at your own export to
analyse real data (see the README).
:::
"""
