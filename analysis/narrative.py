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

from .formatting import fmt_hr_ci, fmt_median_range, fmt_months, fmt_n_of, fmt_p, fmt_pct
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
        hr_text, _, ci = fmt_hr_ci(t.hr, t.ci_low, t.ci_high).partition(" (")
        return f"HR {hr_text} (95% CI {ci.rstrip(')')}), {fmt_p(t.p, t.reason)}"

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

    # --- competing risks and the landmark analysis (issue 11) --------------------------
    _CAUSE_PHRASES = {"relapse": "the cumulative incidence of relapse", "nrm": "non-relapse mortality"}

    def competing_count(self, key: str) -> str:
        """'43' for ``n`` (patients in CR), ``n_relapse`` or ``n_nrm`` of the CR cohort."""
        return f"{getattr(self.results.competing['all'], key):,}"

    def cif(self, cause: str, months: int, grouping: str = "all", level: str = "all") -> str:
        """'50.0% (95% CI 39.0–60.1%)' for the CIF of a cause at 12 or 24 months, or
        'not estimable (reason)'."""
        comparison = self.results.competing[grouping].causes[cause]
        lv = next(x for x in comparison.levels if x.key == level)
        point = next(p for p in lv.points if p.months == months)
        if point.estimate is None:
            return f"not estimable ({point.reason})"
        value = fmt_pct(100 * point.estimate)
        if point.ci_low is None:
            return f"{value} (95% CI not estimable: {point.reason})"
        return f"{value} (95% CI {fmt_pct(100 * point.ci_low).removesuffix('%')}–{fmt_pct(100 * point.ci_high)})"

    def gray_p(self, grouping: str, cause: str) -> str:
        gray = self.results.competing[grouping].causes[cause].gray
        return fmt_p(gray.p, gray.reason)

    def competing_verdict(self, grouping: str, cause: str) -> str:
        """'no significant difference in the cumulative incidence of relapse was detected
        (Gray's test p = 0.245)' — the words follow the test."""
        gray = self.results.competing[grouping].causes[cause].gray
        what = self._CAUSE_PHRASES[cause]
        if gray.p is None:
            return f"{what} could not be compared (Gray's test not estimable: {gray.reason})"
        if gray.p < ALPHA:
            return f"a significant difference in {what} was detected (Gray's test {fmt_p(gray.p)})"
        return f"no significant difference in {what} was detected (Gray's test {fmt_p(gray.p)})"

    def competing_significant(self, cause: str, groupings=TOXICITY_GROUPINGS) -> list[str]:
        """Toxicity groupings whose Gray's test for ``cause`` is significant."""
        out = []
        for g in groupings:
            p = self.results.competing[g].causes[cause].gray.p
            if p is not None and p < ALPHA:
                out.append(g)
        return out

    @property
    def landmark_day(self) -> str:
        return str(self.results.landmark_day)

    def landmark_n(self, endpoint: str, grouping: str = "crs") -> str:
        """'92 of 93 patients' at the landmark (alive, event-free and followed after it)."""
        lm = self.results.landmark[(endpoint, grouping)]
        return f"{lm.n:,} of {lm.n_before:,}"

    def landmark_excluded(self, endpoint: str, grouping: str = "crs") -> str:
        """'1 patient had died and 0 were no longer followed' on or before the landmark."""
        lm = self.results.landmark[(endpoint, grouping)]
        event = "had died" if endpoint == "os" else "had relapsed or died"
        noun = "patient" if lm.n_event_before == 1 else "patients"
        return f"{lm.n_event_before:,} {noun} {event} and {lm.n_censored_before:,} had no follow-up beyond it"

    def landmark_reclassified(self, grouping: str = "crs") -> str:
        """Patients at the OS landmark whose CRS or ICANS began after it (counted as none):
        'no patient's CRS or ICANS began after the landmark' or '5 patients whose ... counted as without it'."""
        n = self.results.landmark[("os", grouping)].n_reclassified
        if n == 0:
            return "no patient's CRS or ICANS began after the landmark"
        noun = "patient" if n == 1 else "patients"
        return f"{n:,} {noun} whose CRS or ICANS began after the landmark counted as without it"

    def landmark_verdict(self, endpoint: str, grouping: str) -> str:
        """'no significant difference in OS was detected between patients with and without
        CRS (log-rank p = 0.976; HR 1.01, 95% CI 0.50–2.07)', words following the test."""
        lm = self.results.landmark[(endpoint, grouping)]
        outcome = OUTCOME_PHRASES[endpoint]
        title = GROUPINGS[grouping].title
        if lm.survival is None:
            return f"{outcome} by {title} could not be compared ({lm.reason})"
        p, reason = lm.survival.logrank_p, lm.survival.reason
        hrs = [h for h in lm.hazard_ratios]
        hr_text = ""
        if len(hrs) == 1:
            h = hrs[0]
            if h.hr is None:
                hr_text = f"; HR not estimable ({h.reason})"
            else:
                hr_value, _, ci = fmt_hr_ci(h.hr, h.ci_low, h.ci_high).partition(" (")
                hr_text = f"; HR {hr_value}, 95% CI {ci.rstrip(')')}"
        if p is None:
            return f"{outcome} by {title} could not be compared (log-rank test not estimable: {reason}{hr_text})"
        stats_text = f"(log-rank {fmt_p(p)}{hr_text})"
        between = f"between patients with and without {title} at the landmark"
        if p < ALPHA:
            return f"a significant difference in {outcome} was detected {between} {stats_text}"
        return f"no significant difference in {outcome} was detected {between} {stats_text}"


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
