"""Issue #21: a journal methods reviewer's findings on the demo manuscript (reviewer 27, part c):
a cross-reference to a display that does not hold what it is cited for, the covariates of
the multivariable model read as effects ("Table 2 fallacy"), LFS in the abstract without its
population (patients in CR), a count of peak comparisons two of which coincide, and Table 1
rows whose cells print one variable at different precisions."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, captions, report_parameter
from test_review_findings import _said

from analysis.inputs.loading import load_study
from analysis.registry.groups import GROUPINGS
from analysis.report import tables
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results  # the session's results of the bundled demo (conftest.py)


@pytest.fixture(scope="module")
def text(results):
    return Narrative(results)


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(COHORT, comment="#", dtype=str, keep_default_na=False)


def _sentences(prose: str) -> list[str]:
    return re.split(r"(?<=[.;]) (?=[A-Z(])", prose)


# --------------------------------------------------------------------------- 1. a cross-reference to the right display


def test_survival_by_treatment_of_toxicity_is_cited_where_it_is_shown(text):
    """Results 3.5 sent "survival by grade and by treatment of toxicity" to Supplementary
    Figure S4, which draws the grades only; survival by tocilizumab and corticosteroids is in
    Supplementary Table S2 (no figure draws it)."""
    figure = text.ref("fig-km-grade")
    table = text.ref("tbl-survival-grade")
    caps = captions(document="supplement")
    km_grade = [
        c
        for c in caps["fig-cap"]
        if c.startswith("Kaplan–Meier estimates of overall survival and leukemia-free survival by CRS grade")
    ]
    assert len(km_grade) == 1 and "treatment" not in km_grade[0] and "tocilizumab" not in km_grade[0]
    assert any(c.startswith("Survival by CRS grade") and "by treatment of toxicity" in c for c in caps["tbl-cap"])
    # no figure of the supplement draws survival by treatment
    assert not any("Kaplan" in c and ("treatment" in c or "tocilizumab" in c) for c in caps["fig-cap"])

    survival = _said("_results-survival", text)
    (sentence,) = [s for s in _sentences(survival) if "treatment of toxicity" in s]
    after = sentence[sentence.index("treatment of toxicity") :]
    assert figure not in after and table in after, sentence
    assert figure in sentence  # survival by grade still points to its curves


# --------------------------------------------------------------------------- 2. the "Table 2 fallacy"


def _rows(markdown: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines() if line.startswith("| ")]


def test_the_covariates_of_the_model_are_adjustment_terms_not_effects(text, results):
    """Results 3.6 said "Significant at the 5% level were Ph-positive for OS, ..." and Table 4
    gave an E-value for every covariate. A model built to estimate the exposure (the severity
    group) adjusted for confounders does not estimate the covariates' own effects: the prose
    names no covariate's test, the table keeps their HRs with a footnote saying they are
    adjustment terms, and gives E-values for the exposure's terms only."""
    section = _said("_results-multivariable", text)
    assert "Significant at" not in section and "No term of any model" not in section
    for model in results.cox.values():
        for term in model.covariate_terms:  # (the proportional-hazards checks name terms: diagnostics)
            assert term.label not in section[: section.index("The global test of proportional hazards")], term.label
    assert (
        "The exposure's hazard ratios for death (@tbl-cox) had E-values" in section
        and "E-value of every term" not in section
    )
    assert any(t.p < 0.05 for m in results.cox.values() for t in m.covariate_terms)  # Ph-positive: what was said

    table = tables.table2(results.cox, results.e_values)
    rows = _rows(table.markdown)
    assert rows[0][-1] == "E-value (CI)"
    covariates = {t.label for m in results.cox.values() for t in m.covariate_terms}
    exposure = {t.label for m in results.cox.values() for t in m.exposure_terms}
    seen_cov = seen_exp = 0
    for row in rows[1:]:
        label = row[0].replace("\\<", "<")
        if label in covariates:
            assert row[1] not in ("", "—") and row[-1] == "", row  # the HR stays, no E-value
            seen_cov += 1
        elif label in exposure:
            assert re.fullmatch(r"\d+\.\d\d \(\d+\.\d\d\)", row[-1]), row
            seen_exp += 1
    assert seen_cov == sum(len(m.covariate_terms) for m in results.cox.values()) == 12
    assert seen_exp == sum(len(m.exposure_terms) for m in results.cox.values()) == 6
    # VanderWeele & Ding's E-value of the headline HR (common outcome: HR -> RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)))
    # R: hr <- 1.41; rr <- (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1/hr)); rr + sqrt(rr * (rr - 1))  (printed HR; table: 1.85)
    grade3 = [r for r in rows if r[0].strip() == "Grade ≥3 CRS or severe ICANS"]
    assert grade3[0][-1] == "1.85 (1.00)"
    note = table.markdown.split("\n\n", 1)[1]
    assert "the covariates' rows are adjustment terms, not effect estimates" in note
    assert "no E-value is given for them" in note
    # the supplement's tables of the same kind (the publication's model) carry the same footnote
    publication = tables.table2(results.cox_publication).markdown
    assert "the covariates' rows are adjustment terms, not effect estimates" in publication
    supplement = _said("_supp-grades", text)
    assert "are not effect estimates themselves" in supplement


# --------------------------------------------------------------------------- 3. LFS is estimated among the patients in CR


def _clauses(prose: str) -> list[str]:
    """Clauses of the abstract: split at sentence ends and semicolons (not inside numbers)."""
    return [c for c in re.split(r"(?<=[a-z0-9)%])[.;] ", prose) if c]


def test_the_abstract_says_lfs_is_among_the_patients_in_cr(text, results):
    """LFS (and its HR "for relapse or death") is defined only for the patients in CR at day
    30: conditional on response. The abstract said "median LFS 7.1 months" and "for relapse
    or death 0.78" without saying so."""
    abstract = _said("_abstract", text)
    lfs = [c for c in _clauses(abstract) if "LFS" in c or "relapse or death" in c or "leukemia-free" in c]
    assert len(lfs) >= 3, lfs  # the outcome, its median, its HR
    for clause in lfs:
        assert "patients in CR" in clause, clause
    assert f"median LFS (patients in CR) {text.median_survival('lfs')}" in abstract
    assert f"for relapse or death (patients in CR) {text.survival_hr('lfs', 'crs', name=False)}" in abstract
    # a study whose primary endpoint is LFS: the abstract's adjusted HR says so too

    study = load_study(COHORT, KINETICS, report_parameter("cutoff"))
    lfs_primary = Narrative(compute_results(study, primary_endpoint="lfs"))
    assert lfs_primary.headline.endswith("for relapse or death among the patients in CR")
    assert text.headline.endswith("for death") and text.primary_among == ""


# --------------------------------------------------------------------------- 4. two groupings that coincide are one comparison


def test_the_count_of_peak_comparisons_counts_distinct_comparisons(text, results, raw):
    """Results 3.7 said "Of the 4 comparisons of the peak": among the 24 patients with kinetics
    every one with ICANS also had CRS, so concurrent CRS and ICANS versus the others is ICANS
    versus no ICANS (Figure 4 draws it once). Counted on the raw export: 3 distinct splits."""
    kin = pd.read_csv(KINETICS, comment="#", dtype=str)
    sampled = raw[raw["patient_id"].isin(set(kin["patient_id"]))]
    crs = sampled["crs_grade"].astype(int) > 0
    icans = sampled["icans_grade"].astype(int) > 0
    assert ((crs & icans) == icans).all() and 0 < icans.sum() < len(sampled)  # "both" is "ICANS" here
    severity_differs = len({(a, b) for a, b in zip(crs, icans)}) > 2  # 3 severity groups: a split of its own
    assert severity_differs
    assert text.kinetics_tests.n == 3 and text.kinetics_tests.n_tested == 3
    section = _said("_results-kinetics", text)
    assert "Of the 4 comparisons" not in section
    assert (
        "Of the 3 comparisons of the peak (concurrent CRS and ICANS versus the others divided these patients "
        "as ICANS did, so it is counted once), none reached statistical significance" in section
    )


def test_groupings_that_divide_the_patients_differently_are_all_counted(results):
    """Where concurrent CRS and ICANS is not ICANS (a patient with ICANS but no CRS among those
    with kinetics), the four comparisons are four and no sentence says two coincide."""
    import dataclasses

    patients = results.kinetics_patients.copy()
    column = GROUPINGS["concurrent"].column
    icans_only = patients.index[patients[GROUPINGS["icans"].column].astype(str) == "yes"][0]
    patients.loc[icans_only, column] = "others"  # an ICANS patient without CRS: no longer "both"
    other = Narrative(dataclasses.replace(results, kinetics_patients=patients))
    assert other.kinetics_coinciding == "" and other.kinetics_tests.n == 4


# --------------------------------------------------------------------------- 5. one precision per row of Table 1


_MEDIAN_RANGE = re.compile(r"^−?[\d,]+(?:\.(\d+))? \(−?[\d,]+(?:\.(\d+))?–−?[\d,]+(?:\.(\d+))?\)$")


def _decimals_of(cell: str) -> set[int]:
    m = _MEDIAN_RANGE.match(cell)
    assert m, cell
    return {len(g or "") for g in m.groups()}


def test_a_numeric_row_has_one_precision_in_every_column_and_in_the_text(text, results, raw):
    """Table 1 printed "4 (0–7)" beside "3.5 (1.0–13.0)" (prior therapy lines), "5.2 (0.0–95.0)"
    beside "33 (0–92)" (marrow blasts), "1 (1–4)" beside "1.0 (0.4–4.3)" (dose). Each numeric
    row now has one number of decimals in every column; the course table's rows too; the text's
    median (range) and medians of the same variable keep the row's precision."""
    lines = pd.to_numeric(raw["prior_lines"])
    crs = raw["crs_grade"].astype(int) > 0
    # the 3.5 that forces a decimal on the row (76 patients with CRS: the mean of the 38th and 39th)
    assert lines[crs].median() == 3.5 and lines[~crs].median() == 4 and lines.max() == 13
    for variables in (tables.baseline_variables(), tables.course_variables()):
        table = tables.table1(results.table1, overall=results.table1_overall, variables=variables)
        numeric_rows = 0
        for row in _rows(table.markdown)[1:]:
            cells = [c for c in row[1:] if _MEDIAN_RANGE.match(c)]
            if not cells:
                continue
            numeric_rows += 1
            # review 29, finding 15: a row of whole numbers (counts, whole years) prints whole
            # ranges and a median with a decimal only where it is halfway ("3.5 (1–13)")
            ranges = {len(g or "") for c in cells for g in _MEDIAN_RANGE.match(c).groups()[1:]}
            medians = {c.split(" ")[0] for c in cells}
            if ranges == {0}:
                assert all("." not in m or m.endswith(".5") for m in medians), row
            else:
                decimals = set().union(*(_decimals_of(c) for c in cells))
                assert len(decimals) == 1, row
        assert numeric_rows >= 2
    baseline = _rows(tables.table1(results.table1, overall=results.table1_overall).markdown)
    by_label = {r[0]: r[1:] for r in baseline}
    assert by_label["Prior therapy lines"][:3] == ["4 (0–13)", "4 (0–7)", "3.5 (1–13)"]
    blasts = next(v for k, v in by_label.items() if k.startswith("BM blasts"))
    assert blasts[1:3] == ["5.2 (0.0–95.0)", "33.0 (0.0–92.0)"]
    dose = next(v for k, v in by_label.items() if k.startswith("CAR-T dose"))
    assert dose[-3] == "1.0 (1.0–4.0)" and dose[0] == "1.0 (0.4–4.3)"
    # the text: the same variable at the precision of its row
    assert text.median_range("age") == by_label["Age, years"][0] == "28 (2–70)"
    assert text.median_range("cart_dose_1e6_per_kg") == dose[0]
    assert "median 2 (ICANS) vs 4 (no ICANS)" in text.table1_differences("icans")


def test_row_decimals_is_the_finest_precision_of_the_row():
    from types import SimpleNamespace as D

    from analysis.report.formatting import WHOLE, fmt_median_range, row_decimals

    whole, half, tenth = D(median=4, min=0, max=7), D(median=3.5, min=1, max=13), D(median=3.2, min=1, max=13)
    # review 29, finding 15: whole numbers (counts, whole years) are WHOLE: whole ranges, a median
    # with one decimal only where it falls halfway ("3.5 (1–13)" beside "4 (0–7)")
    assert row_decimals(whole) == WHOLE and row_decimals(whole, half) == WHOLE and row_decimals(whole, None) == WHOLE
    assert fmt_median_range(4, 0, 7, decimals=WHOLE) == "4 (0–7)"
    assert fmt_median_range(3.5, 1, 13, decimals=WHOLE) == "3.5 (1–13)"
    d = row_decimals(whole, tenth)  # a median that is not halfway: one precision for the row
    assert (
        d == 1 and fmt_median_range(4, 0, 7, decimals=d) == "4.0 (0.0–7.0)" and fmt_median_range(4, 0, 7) == "4 (0–7)"
    )
    assert row_decimals(D(median=254, min=2, max=27231), D(median=9.5, min=2, max=481)) == 0  # thousands: whole


def test_the_methods_promise_e_values_for_the_exposure_only(text):
    methods = _said("_methods", text)
    assert "For every hazard ratio of the multivariable model we report the E-value" not in methods
    assert "Each exposure hazard ratio of the multivariable model carries its E-value" in methods
    # why the covariates have none is said in the supplement (the main text's word limit, review 30)
    supplement = _said("_supp-methods", text)
    assert "ratio of the exposure in the multivariable model (not of the covariates" in supplement
