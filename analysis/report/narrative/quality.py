"""Data quality and what the registry does not collect or could not assess: the data-quality
paragraph (plausibility warnings, patients lost to follow-up), the denominators of
assessments that were not done, and the optional columns left out."""

from __future__ import annotations

from analysis.inputs import usertext
from analysis.inputs.screening import rows_left_out
from analysis.registry.concepts import RESPONSE_RULE, RESPONSES, VARIABLES, covariate_phrase
from analysis.report.formatting import and_list, fmt_count, fmt_months, fmt_n_of
from analysis.report.narrative.counts import Counts

#: How prose names an optional contract column that is not a Table 1 variable.
_COLUMN_PHRASES = {
    "seizure": "seizures",
    "dex_equiv_cum_mg": "the cumulative corticosteroid dose",
    "tocilizumab_cum_mg": "the cumulative tocilizumab dose",
    "mrd_negative": "MRD",
}


#: What the report leaves out when an optional column is not collected (a Table 1 variable:
#: its row of Table 1).
_LEFT_OUT = {
    "seizure": "the seizure criterion of severe ICANS (severe ICANS is grade ≥3 ICANS alone here) and the "
    "seizure plausibility check",
    "dex_equiv_cum_mg": "the median cumulative corticosteroid dose of the patients given corticosteroids",
    "tocilizumab_cum_mg": "the median cumulative tocilizumab dose of the patients given tocilizumab",
    "mrd_negative": f"MRD assessment and {RESPONSES['mrd_negative_cr'].label} (its rate, its comparisons between "
    "groups and the MRD boxes of the flow diagram)",
}


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


class Quality(Counts):
    def collected(self, column: str) -> bool:
        """Whether the registry collects an optional contract column:
        ``text.choose(text.collected("dex_equiv_cum_mg"), ", with a median ...", "")``."""
        return self.results.collected(column)

    @property
    def not_collected(self) -> str:
        """The columns the registry does not collect, in words ('' when it collects every one):
        'peak IL-6, peak ferritin and the cumulative corticosteroid dose'."""
        names = [
            VARIABLES[c].phrase if c in VARIABLES else _COLUMN_PHRASES.get(c, c) for c in self.results.not_collected
        ]
        return and_list(names)

    @property
    def not_collected_left_out(self) -> str:
        """What the report leaves out for want of the columns the registry does not collect,
        concretely ('' when it collects every one): 'the peak IL-6 row of Table 1 and the median
        cumulative tocilizumab dose of the patients given tocilizumab'."""
        parts = [
            _LEFT_OUT[c]
            if c in _LEFT_OUT
            else f"the {VARIABLES[c].phrase} row of Table 1"
            if c in VARIABLES
            else _COLUMN_PHRASES.get(c, c)
            for c in self.results.not_collected
        ]
        return and_list(parts, separator="; ")  # the parts hold commas

    @property
    def mrd_collected(self) -> bool:
        return self.collected("mrd_negative")

    @property
    def response_not_evaluable(self) -> bool:
        """Whether the day-30 response of some patient could not be evaluated."""
        return self.results.counts["n_response_not_evaluable"] > 0

    @property
    def response_rule(self) -> str:
        """The one rule for a patient who died or was not followed up before the day-30
        assessment (:data:`analysis.registry.concepts.RESPONSE_RULE`), as a sentence."""
        return RESPONSE_RULE[0].upper() + RESPONSE_RULE[1:] + "."

    def _before_assessment(self) -> int:
        flow = self.results.cohort_flow
        return 0 if flow is None else flow.before_assessment

    @property
    def before_assessment(self) -> str:
        """What the rule did in this cohort, for the Results: 'before the day-30 assessment,
        1 of 93 (1.1%) patients had died or left follow-up and counted as not in CR';
        'every patient was followed up to the day-30 assessment'; and, when some response was
        recorded as not evaluable, how many were left out of the rates."""
        n = self._before_assessment()
        c = self.results.counts
        text = (
            f"before the day-30 assessment, {fmt_n_of(n, c['n_patients'])} patients had died or left follow-up "
            "and counted as not in CR"
            if n
            else "every patient was followed up to the day-30 assessment or in CR before it"
        )
        if self.response_not_evaluable:
            text += (
                f", and the response of {fmt_n_of(c['n_response_not_evaluable'], c['n_patients'])} patients "
                "followed beyond it was recorded as not evaluable and left out of the rates"
            )
        return text

    @property
    def outcomes_missing(self) -> str:
        """The Methods' missing-data clause for the response (STROBE 12c), from the same rule:
        'by the rule above, 1 of 93 (1.1%) patients counted as not in CR, not as missing'."""
        n = self._before_assessment()
        if not n:
            return "every patient was followed up to the day-30 assessment or in CR before it"
        c = self.results.counts
        return f"by the rule above, {fmt_n_of(n, c['n_patients'])} patients counted as not in CR, not as missing"

    @property
    def mrd_not_assessed(self) -> bool:
        """Whether some patient in CR had no MRD assessment ("not done")."""
        return self.mrd_collected and self.results.counts["n_mrd_not_assessed"] > 0

    @property
    def mrd_assessed(self) -> str:
        """'MRD assessed in 136 of 139 patients in CR'."""
        c = self.results.counts
        return f"MRD assessed in {fmt_count(c['n_mrd_assessed'])} of {fmt_count(c['n_cr'])} patients in CR"

    @property
    def response_evaluated(self) -> str:
        """'response evaluable in 148 of 150 patients'."""
        c = self.results.counts
        return f"response evaluable in {fmt_count(c['n_response_evaluable'])} of {fmt_count(c['n_patients'])} patients"

    @property
    def mrd_negative_cr_known(self) -> str:
        """MRD-negative CR among the evaluable patients, the patients in CR without an MRD
        result left out of both counts (the denominator of the comparisons): '118 of 145
        (81.4%)'. Its sentence must say so: the denominator holds the patients not in CR."""
        c = self.results.counts
        known = c["n_response_evaluable"] - c["n_mrd_not_assessed"]
        return fmt_n_of(c["n_mrd_negative_cr"], known)

    @property
    def mrd_negative_of_assessed(self) -> str:
        """MRD negativity among the patients in CR whose MRD was assessed: '118 of 136 (86.8%)'."""
        c = self.results.counts
        return fmt_n_of(c["n_mrd_negative_cr"], c["n_mrd_assessed"])

    @property
    def assessment_notes(self) -> list[str]:
        """Footnotes of Table 1 on what the registry does not collect ([] when it collects
        everything). Responses not evaluable and MRD not assessed are told where the rates are
        (Methods and the first sentence of Results on response), not under Table 1, which has
        no response row (new user 31: "MRD assessed in 85 of 86 patients in CR" sat there)."""
        notes = []
        if self.results.not_collected:
            text = self.not_collected
            notes.append(f"Not collected by the registry: {text}")
        return notes

    # ---------------------------------------------------------------- data quality

    @property
    def warnings_any(self) -> bool:
        q = self.results.data_quality
        return q is not None and q.n_warnings > 0

    @property
    def warnings_listed(self) -> str:
        """The plausibility warnings, counted: 'primary refractory disease with relapses
        recorded (12 patients) and no prior line of therapy (3 patients)'."""
        q = self.results.data_quality
        if q is None:
            return ""
        return and_list(
            f"{phrase} ({fmt_count(n)} {_plural(n, 'patient', 'patients')})" for phrase, n in q.warnings.items()
        )

    @property
    def warnings_top(self) -> str:
        """The plausibility warning raised for the most patients: 'primary refractory disease with
        relapses recorded (12 patients)' ('' without warnings)."""
        q = self.results.data_quality
        if q is None or not q.warnings:
            return ""
        phrase, n = max(q.warnings.items(), key=lambda item: item[1])
        return f"{phrase} ({fmt_count(n)} {_plural(n, 'patient', 'patients')})"

    @property
    def warnings_count(self) -> str:
        """'3 plausibility warnings': as many as ``validate`` prints (one per rule and patient)."""
        q = self.results.data_quality
        n = 0 if q is None else q.n_warnings
        return f"{fmt_count(n)} plausibility {_plural(n, 'warning', 'warnings')}"

    @property
    def warnings_patients(self) -> str:
        """'17 patients' with at least one plausibility warning."""
        q = self.results.data_quality
        n = 0 if q is None else q.n_patients_warned
        return f"{fmt_count(n)} {_plural(n, 'patient', 'patients')}"

    @property
    def caveats_any(self) -> bool:
        """Whether reading the export found something the data-quality section must say
        (:attr:`caveats`): patients possibly on a sheet not read, percentages as fractions."""
        q = self.results.data_quality
        flow = self.results.cohort_flow
        left_out = flow is not None and bool(rows_left_out(flow.excluded))
        return left_out or (q is not None and bool(q.unread_sheets or q.fraction_columns))

    @property
    def caveats(self) -> str:
        """What reading the export found that may bias the analysis, counted (no sheet is named:
        a sheet name may be a center's): 'The export's workbook holds 1 other sheet with the
        columns of the sheet analyzed, which was not read: 15 rows, 15 patient identifiers; ...'
        and 'Every value of bone-marrow blasts is at most 1 (median 0.25): percentages recorded
        as fractions, probably; the values were analyzed as recorded.' ("" when nothing)."""
        q = self.results.data_quality
        sentences = []
        flow = self.results.cohort_flow
        ruled = rows_left_out(flow.excluded) if flow is not None else []
        if ruled:  # no patient dropped silently: the rows the study file's rules left out, by reason
            n = sum(e.n for e in ruled)
            reasons = "; ".join(f"{usertext.styled(e.reason)} ({fmt_count(e.n)})" for e in ruled)
            samples = flow.samples_excluded if flow is not None else 0
            with_samples = (
                f", and with them {fmt_count(samples)} kinetics {_plural(samples, 'sample', 'samples')}"
                if samples
                else ""
            )
            sentences.append(
                f"The study file's exclusion rules left {fmt_count(n)} {_plural(n, 'row', 'rows')} of the export "
                f"out of the analysis before it was checked: {reasons}{with_samples}; they are counted in the "
                "cohort flow."
            )
        if q is None:
            return " ".join(sentences)
        if q.unread_sheets:
            k = len(q.unread_sheets)
            rows = [r for r, _ in q.unread_sheets if r is not None]
            patients = [p for _, p in q.unread_sheets if p is not None]
            held = []
            if rows:
                held.append(f"{fmt_count(sum(rows))} {_plural(sum(rows), 'row', 'rows')}")
            if patients:
                held.append(f"{fmt_count(sum(patients))} patient {_plural(sum(patients), 'identifier', 'identifiers')}")
            uncounted = k - len(rows)
            if uncounted:
                held.append(f"{uncounted} {_plural(uncounted, 'sheet', 'sheets')} too large or damaged to count")
            sentences.append(
                f"The export's workbook holds {k} other {_plural(k, 'sheet', 'sheets')} with the columns of the "
                f"sheet analyzed, which {_plural(k, 'was', 'were')} not read: {', '.join(held)}; patients recorded "
                "only there are not in this report."
            )
        for f in q.fraction_columns:
            sentences.append(
                f"Every value of {covariate_phrase(f.column)} is at most 1 "
                f"({fmt_count(f.n)} patients, median {f.median:g}): "
                "percentages recorded as fractions, probably (45% as 0.45); the values were analyzed as recorded."
            )
        return " ".join(sentences)

    @property
    def lost_any(self) -> bool:
        q = self.results.data_quality
        return q is not None and q.lost_to_followup > 0

    @property
    def lost(self) -> str:
        """Living patients last seen long before the cut-off: '4 of 93 (4.3%)'."""
        q = self.results.data_quality
        return fmt_n_of(0 if q is None else q.lost_to_followup, self.results.counts["n_patients"])

    @property
    def lost_gap(self) -> str:
        """Their median time from last follow-up to the cut-off: '27.4 months'."""
        q = self.results.data_quality
        if q is None or q.lost_median_gap_months is None:
            return ""
        return fmt_months(q.lost_median_gap_months)

    @property
    def lost_after(self) -> str:
        """The threshold in words: 'a year' (365 days), else '180 days'."""
        q = self.results.data_quality
        days = 365 if q is None else q.lost_after_days
        return "a year" if days == 365 else f"{days} days"
