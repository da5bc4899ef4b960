"""The p-value table (analysis.report.pvalues): every p-value the report prints, once, in
its family, with Holm and Benjamini–Hochberg adjustments within the family.

The completeness check does not trust the walker: the expected entries are listed here from
the results object's own stores, one loop per analysis; a new analysis whose result carries
a ``p`` must land in the table without any registration (checked on a results object with an
extra field); and in the rendered report, every "p = ..." printed anywhere is a p-value of
the table.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import pytest

from analysis.estimators.multiplicity import p_adjust
from analysis.registry.groups import TOXICITY_GROUPINGS
from analysis.report.formatting import fmt_p, sentence_start
from analysis.report.narrative import Narrative
from analysis.report.pvalues import FAMILY_TITLES, collect_pvalues
from analysis.report.results import Results


def _expected_paths(r: Results) -> dict[str, str]:
    """path -> family, written out from the results' stores (not by walking them)."""
    out: dict[str, str] = {}
    # the drugs that treat CRS and ICANS are not tested by toxicity (Table 2's "not tested"):
    # written out here, not read from the registry's Variable.tested_by
    untested = {(drug, g) for drug in ("steroids", "tocilizumab") for g in ("crs", "icans", "concurrent")}
    course = {"il6_peak_pg_ml", "ferritin_peak_ng_ml", "steroids", "tocilizumab"}
    for (variable, grouping), c in r.table1.items():
        if c.result.p is not None and (variable, grouping) not in untested:
            out[f"table1/{variable}/{grouping}/result/p"] = "course" if variable in course else "baseline"
    for (response, grouping), c in r.response.items():
        family = "efficacy_by_toxicity" if grouping in TOXICITY_GROUPINGS else "efficacy_by_treatment"
        out[f"response/{response}/{grouping}/result/p"] = family
    for (endpoint, grouping), s in r.survival.items():
        if grouping != "all":
            family = "efficacy_by_toxicity" if grouping in TOXICITY_GROUPINGS else "efficacy_by_treatment"
            out[f"survival/{endpoint}/{grouping}/logrank_p"] = family
    for endpoint, cox in r.cox.items():
        for term in cox.terms:
            out[f"cox/{endpoint}/terms/{term.key}/p"] = "multivariable"
        out[f"cox/{endpoint}/severity_global_p"] = "multivariable"
        out[f"cox/{endpoint}/ph_test_global_p"] = "model_checks"
        for i, ph in enumerate(cox.ph_tests):  # cox.zph's per-term rows (Supplementary Table), not GLOBAL
            if ph.term != "GLOBAL" and ph.p is not None:
                out[f"cox/{endpoint}/ph_tests/{i}/p"] = "model_checks"
    for grouping in r.kinetics_peak:
        family = "kinetics" if grouping in TOXICITY_GROUPINGS else "efficacy_by_treatment"
        out[f"kinetics_peak/{grouping}/result/p"] = family
    for metric, grouping in r.kinetics_metrics:
        if metric != "cmax":  # the peak's own test, listed once under kinetics_peak
            out[f"kinetics_metrics/{metric}/{grouping}/comparison/result/p"] = "kinetics"
    for grouping, comp in r.competing.items():
        for cause, cc in comp.causes.items():
            if cc.gray.p is not None:
                out[f"competing/{grouping}/causes/{cause}/gray/p"] = "competing"
    for endpoint, grouping in r.landmark:
        out[f"landmark/{endpoint}/{grouping}/survival/logrank_p"] = "landmark"
    for endpoint, cox in r.centers.cox.items():
        for term in cox.terms:
            out[f"centers/cox/{endpoint}/terms/{term.key}/p"] = "centers"
        out[f"centers/cox/{endpoint}/severity_global_p"] = "centers"
    out["il6_by_blasts/p"] = "il6"
    # issue 20: the publication's model beside Table 2 (the demo), the Mantel–Byar tests, and the
    # joint tests of the exposure time-dependent and at the landmarks (their HRs print without p)
    for endpoint, cox in r.cox_publication.items():
        for term in cox.terms:
            out[f"cox_publication/{endpoint}/terms/{term.key}/p"] = "publication_model"
        out[f"cox_publication/{endpoint}/severity_global_p"] = "publication_model"
        out[f"cox_publication/{endpoint}/ph_test_global_p"] = "model_checks"
    for endpoint, grouping in r.time_dependent:
        out[f"time_dependent/{endpoint}/{grouping}/mantel_byar/p"] = "time_dependent"
    for endpoint in r.ph_sensitivity:  # review 29, finding 13: the joint p of its table (its HRs print without p)
        out[f"ph_sensitivity/{endpoint}/result/severity_global_p"] = "ph_sensitivity"
    for endpoint in r.time_dependent_cox:
        out[f"time_dependent_cox/{endpoint}/severity_global_p"] = "exposure_models"
    for endpoint, day in r.landmark_models:
        out[f"landmark_models/{endpoint}/{day}/cox/severity_global_p"] = "exposure_models"
    for (response, grouping), test in r.response_trend.items():
        out[f"response_trend/{response}/{grouping}/p"] = "trend"
    for (endpoint, grouping), trend in r.survival_trend.items():
        out[f"survival_trend/{endpoint}/{grouping}/p"] = "trend"
    for (endpoint, model), fit in r.transplant.time_dependent.items():
        for term in fit.terms:  # the transplant's HR beside a toxicity is in the JSON only
            if model == "hsct" or term.key != "hsct":
                out[f"transplant/time_dependent/{endpoint}/{model}/terms/{term.key}/p"] = "transplant"
    for endpoint, censored in r.transplant.censored.items():
        for grouping in censored.hazard_ratios:
            out[f"transplant/censored/{endpoint}/survival/{grouping}/logrank_p"] = "transplant"
    # STROBE 11: the spline tests of the linearity of the model's continuous covariates are model checks
    for (endpoint, column), form in r.functional_forms.items():
        out[f"functional_forms/{endpoint}/{column}/nonlinearity_p"] = "model_checks"
    # review 29: how the kinetics subset was selected (STROBE 12c/14a)
    for variable, c in r.kinetics_selection.items():
        if c.result.p is not None:
            out[f"kinetics_selection/{variable}/result/p"] = "kinetics_selection"
    return out


def test_a_repeated_test_is_counted_and_adjusted_once(bundled_results):
    """In the demo no event occurred while a patient at risk still had a toxicity to come, so each
    Mantel–Byar test is the log-rank test from infusion (the same p, to the last digit), and every
    patient with kinetics and ICANS also had CRS, so the kinetics comparisons by concurrent CRS and
    ICANS are those by ICANS: each repeat points to its twin, carries the twin's adjusted values and
    is left out of the counts and of its family's adjustment."""
    from analysis.estimators.multiplicity import p_adjust

    table = bundled_results.pvalues
    rows = {row.path: row for row in table.rows}
    repeats = {path: row.same_as for path, row in rows.items() if row.same_as}
    expected = {
        f"time_dependent/{e}/{g}/mantel_byar/p": f"survival/{e}/{g}/logrank_p"
        for e in ("os", "lfs")
        for g in ("crs", "icans", "severity")
    }
    expected.update(
        {
            "kinetics_peak/concurrent/result/p": "kinetics_peak/icans/result/p",
            "kinetics_metrics/tmax/concurrent/comparison/result/p": "kinetics_metrics/tmax/icans/comparison/result/p",
            "kinetics_metrics/auc/concurrent/comparison/result/p": "kinetics_metrics/auc/icans/comparison/result/p",
        }
    )
    assert repeats == expected
    for path, twin in repeats.items():
        assert rows[path].p == rows[twin].p  # the same test
        assert (rows[path].p_holm, rows[path].p_bh) == (rows[twin].p_holm, rows[twin].p_bh)
    assert table.n == len(table.rows) - 9
    # the kinetics family: Holm over its 11 distinct tests, not 14 (the repeats would inflate it)
    kinetics = [row for row in table.rows if row.family == "kinetics" and not row.same_as]
    assert table.family("kinetics").n == len(kinetics) == 11
    assert [row.p_holm for row in kinetics] == pytest.approx(p_adjust([row.p for row in kinetics], "holm"))
    # the Mantel–Byar family has no distinct test left: it is not a family of the count
    assert "time_dependent" not in {f.key for f in table.families}


def test_the_table_holds_exactly_the_reported_p_values(bundled_results):
    table = bundled_results.pvalues
    got = {row.path: row.family for row in table.rows}
    assert got == _expected_paths(bundled_results)
    # the bundled demo: 245 rows, 236 distinct tests (9 rows repeat another's) in 17 families (the
    # Mantel–Byar rows, each the log-rank test from infusion here, leave no family of their own;
    # review 29 added two: the proportional-hazards sensitivity model of OS, and the 10
    # comparisons of the patients with kinetics data with the others)
    assert (table.n, len(table.rows), len(table.families)) == (236, 245, 17)
    distinct = {row.family for row in table.rows if not row.same_as}
    assert [f.key for f in table.families] == [k for k in FAMILY_TITLES if k in distinct]
    # not reported: univariable and landmark Wald p (their log-rank test is), cox.zph's
    # terms = FALSE rows (its per-term rows are)
    assert not any("/hazard_ratios/" in p or "/ph_tests_by_coef" in p for p in got)
    assert not any("firth" in p for p in got)  # the Firth odds ratio's LR test is not printed


def test_adjustments_are_within_each_family(bundled_results):
    table = bundled_results.pvalues
    for family in table.families:
        rows = [r for r in table.rows if r.family == family.key and not r.same_as]  # each distinct test once
        ps = [r.p for r in rows]
        assert [r.p_holm for r in rows] == p_adjust(ps, "holm")
        assert [r.p_bh for r in rows] == p_adjust(ps, "BH")
        assert family.n == len(rows)
        assert family.n_significant == sum(p < table.alpha for p in ps)
        assert family.n_holm <= family.n_bh <= family.n_significant  # Holm is the stricter
    # the bundled demo: 8 baseline characteristics by 3 groupings; in the course table peak IL-6
    # and ferritin by 3 (the drugs are not tested); IL-6 differs by CRS even after Holm's adjustment
    baseline, course = table.family("baseline"), table.family("course")
    assert (baseline.n, baseline.n_significant, baseline.n_holm, baseline.n_bh) == (24, 3, 0, 0)
    assert (course.n, course.n_significant, course.n_holm, course.n_bh) == (6, 1, 1, 1)


def test_labels_say_what_is_compared(bundled_results):
    rows = {r.path: r for r in bundled_results.pvalues.rows}
    assert rows["survival/os/crs/logrank_p"].label == "OS by CRS"
    assert rows["survival/os/crs/logrank_p"].test == "Log-rank"
    assert "table1/steroids/icans/result/p" not in rows  # not tested (Table 2's footnote)
    assert rows["table1/il6_peak_pg_ml/icans/result/p"].label == "Peak IL-6 by ICANS"
    assert rows["kinetics_metrics/auc/severity/comparison/result/p"].label == "AUC(0–28) by CRS/ICANS severity"
    assert rows["competing/crs/causes/nrm/gray/p"].label == "Non-relapse mortality by CRS"
    assert rows["cox/os/severity_global_p"].test == "Wald, joint (2 df)"
    assert rows["kinetics_peak/concurrent/result/p"].label == "Cmax by concurrent CRS and ICANS"
    for family in bundled_results.pvalues.families:
        labels = [r.label for r in bundled_results.pvalues.rows if r.family == family.key]
        assert len(labels) == len(set(labels)), family.key  # every row of a family is distinct


@dataclass(frozen=True)
class _NewTest:
    statistic: float
    p: float
    endpoint: str = "os"
    grouping: str = "crs"


@dataclass(frozen=True)
class _ExtendedResults(Results):
    mantel_byar: dict = field(default_factory=dict)


def test_a_new_analysis_lands_in_the_table_without_registration(bundled_results):
    shared = _NewTest(3.1, 0.0781)
    values = {f.name: getattr(bundled_results, f.name) for f in dataclasses.fields(Results)}
    extended = _ExtendedResults(
        **values, mantel_byar={"os": shared, "again": shared, "lfs": _NewTest(1.0, 0.3, endpoint="lfs")}
    )
    table = collect_pvalues(extended, 0.05)
    new = [r for r in table.rows if r.family == "mantel_byar"]
    assert [(r.label, r.test, r.p, r.path) for r in new] == [
        ("OS by CRS", "", 0.0781, "mantel_byar/os/p"),
        ("LFS by CRS", "", 0.3, "mantel_byar/lfs/p"),
    ]
    assert table.n == bundled_results.pvalues.n + 2  # the shared object counts once
    assert table.family("mantel_byar").title == "Mantel byar"  # until FAMILY_TITLES names it
    # Holm within its own family (R: p.adjust(c(0.0781, 0.3), "holm") -> 0.1562 0.3000)
    assert [r.p_holm for r in new] == pytest.approx([0.1562, 0.3], rel=1e-12)
    assert [f.n for f in table.families if f.key != "mantel_byar"] == [f.n for f in bundled_results.pvalues.families]


def test_the_prose_counts_are_the_table(bundled_results):
    text = Narrative(bundled_results)
    table = bundled_results.pvalues
    assert text.pvalue_count == str(table.n)
    assert text.family_count("efficacy_by_toxicity") == str(text.main_tests.n_tested) == "30"
    assert text.family_count("efficacy_by_treatment") == str(text.treatment_tests.n_tested) == "12"
    assert text.significant_count() == str(sum(f.n_significant for f in table.families))


def test_every_p_printed_in_the_report_is_in_the_table(bundled_render, bundled_results):
    """Every 'p = 0.xxx' / 'p < 0.001' of the rendered text (prose, captions, table notes)
    matches a p-value of the table, as printed."""
    texts = bundled_render.html_text + " " + bundled_render.supplement.html_text
    printed = set(re.findall(r"(?<!Holm-adjusted )\bp (?:= \d\.\d{3}|< 0\.001)", texts))
    listed = {fmt_p(r.p) for r in bundled_results.pvalues.rows}
    assert printed, "no p-value found in the rendered text"
    assert printed <= listed, sorted(printed - listed)
    # a Holm-adjusted p printed in the text is the table's Holm value
    holm = set(re.findall(r"Holm-adjusted (p (?:= \d\.\d{3}|< 0\.001))", texts))
    assert holm and holm <= {fmt_p(r.p_holm) for r in bundled_results.pvalues.rows}, holm
    # the table itself is in the supplement, with its title and every family
    for family in bundled_results.pvalues.families:
        shown = {"baseline": " (Table 1 of the manuscript)", "course": " (Table 2 of the manuscript)"}.get(
            family.key, ""
        )
        assert f"{family.title}{shown}" in bundled_render.supplement.html_text, family.key
        assert re.search(
            rf"{re.escape(family.title)}[^(]*(?:\([^)]*\) )?\({family.n}\)", bundled_render.supplement.html_text
        ), family.key


def test_the_rendered_count_of_comparisons_is_the_number_of_rows_of_the_rendered_table(bundled_render):
    """Issue 20: the manuscript's prose count of p-values equals the supplementary table as
    rendered (its rows with a p, the family headings apart), and so do the supplement's own
    sentence and the table's footnote."""
    manuscript, supplement = bundled_render.html_text, bundled_render.supplement.html_text
    (prose,) = re.findall(r"the report prints (\d+) distinct p-values in (\d+) families", manuscript)
    (sentence,) = re.findall(r"The report prints (\d+) distinct p-values; each is listed once", supplement)
    (footnote,) = re.findall(r"([\d,]+) distinct p-values in (\d+) families \(number of distinct", supplement)
    # the sentence begins with the count, spelt out (journals: no sentence begins with a numeral)
    (repeats,) = re.findall(r"(\w+) further rows repeat a test shown elsewhere", supplement)
    markup = bundled_render.supplement.html_markup
    start = markup.index('id="tbl-pvalues"')
    table = markup[start : markup.index("</table>", start)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    p_cells = [re.search(r'headers="[^"]* p"[^>]*>([^<]*)<', row) for row in rows]
    with_p = [m.group(1) for m in p_cells if m and m.group(1).strip()]
    headings = [row for row, m in zip(rows, p_cells) if m and not m.group(1).strip()]
    # each distinct test counted once: the rows with a p are the distinct tests and their repeats
    # (the Mantel–Byar tests that are the log-rank tests here, concurrent CRS and ICANS for kinetics)
    same = len(re.findall(r"\(same test as ", table))
    assert repeats == sentence_start(str(same)) and same == 9
    assert int(prose[0]) == int(sentence) == int(footnote[0].replace(",", "")) == len(with_p) - same > 200
    # the Mantel–Byar rows keep their heading, but it holds no distinct test: not a family of the count
    assert int(prose[1]) == int(footnote[1]) == len(headings) - 1
    # a p in every such row; more than three decimals only where three would print the study's alpha
    # or the wrong side of it (0.0503: attack 29, finding 03); 0.1002 near 0.1, where no verdict is
    # drawn, prints 0.100 (review 30, finding 10)
    assert all(re.fullmatch(r"0\.\d{3}|&lt;0\.001|&gt;0\.99", p) for p in with_p if len(p) != 6), with_p[:5]
    assert {p for p in with_p if len(p) == 6} == {"0.0503"}
    assert "0.100" in with_p


@pytest.mark.parametrize("adjustment", [None, "holm", "bh"])
def test_significant_count_names_its_adjustment(bundled_results, adjustment):
    assert Narrative(bundled_results).significant_count(adjustment).isdigit()


# --------------------------------------------------------------------------- identical splits (attack 29, 07)


def test_a_grouping_that_splits_the_patients_alike_repeats_its_tests(all_crs_results):
    """Every response and survival comparison by concurrent CRS and ICANS is the one by ICANS
    (the same patients in the same groups): it names its twin and is counted and adjusted once,
    so the family holds 20 distinct tests, 4 significant (25 and 5 before: attack 29, 07)."""
    table = all_crs_results.pvalues
    rows = {row.path: row for row in table.rows}
    family = [row for row in table.rows if row.family == "efficacy_by_toxicity"]
    repeats = {row.path: row.same_as for row in family if row.same_as}
    assert repeats == {
        **{f"response/{r}/concurrent/result/p": f"response/{r}/icans/result/p" for r in ("cr", "mrd_negative_cr")},
        **{f"survival/{e}/concurrent/logrank_p": f"survival/{e}/icans/logrank_p" for e in ("os", "lfs", "efs")},
    }
    for path, twin in repeats.items():
        assert rows[path].p == pytest.approx(rows[twin].p, rel=1e-12)  # LFS/EFS differ in the 16th digit
        assert (rows[path].p_holm, rows[path].p_bh) == (rows[twin].p_holm, rows[twin].p_bh)
    summary = table.family("efficacy_by_toxicity")
    assert (summary.n, summary.n_significant, summary.n_holm, summary.n_bh) == (20, 4, 0, 0)
    distinct = [row for row in family if not row.same_as]
    # R 4.2.2, options(digits = 15); p: the 20 distinct p-values in the table's order
    # (response CR, MRD-negative CR, then OS, LFS, EFS; by ICANS, CRS grade, ICANS grade, severity;
    # a two-group response's p is the central Fisher p its odds ratio's CI inverts, review 29)
    # R> p <- c(0.8389374131994236, 0.6724917218974743, 0.41946870659972313, 1.0, 0.03381055493983024,
    #           0.7260137863808019, 0.027763179514560102, 0.19539101072054801, 0.8615728291216367,
    #           0.7131748929724845, 0.7765360187036794, 0.8063779588274824, 0.4433070593478614,
    #           0.7307789148139778, 0.006124625609171061, 0.9195245646379036, 0.3483525266231523,
    #           0.9223494143830391, 0.010971861620143292, 0.9347455888566453)
    assert [row.p for row in distinct] == pytest.approx(
        [0.8389374131994236, 0.6724917218974743, 0.41946870659972313, 1.0, 0.03381055493983024,
         0.7260137863808019, 0.027763179514560102, 0.19539101072054801, 0.8615728291216367,
         0.7131748929724845, 0.7765360187036794, 0.8063779588274824, 0.4433070593478614,
         0.7307789148139778, 0.006124625609171061, 0.9195245646379036, 0.3483525266231523,
         0.9223494143830391, 0.010971861620143292, 0.9347455888566453],
        rel=1e-9,
    )  # fmt: skip
    holm = {4: 0.574779433977114, 6: 0.499737231262082, 14: 0.122492512183421, 18: 0.208465370782723}
    # R> p.adjust(p, "holm")  -> 1 except [5] 0.574779433977114 [7] 0.499737231262082
    #                            [15] 0.122492512183421 [19] 0.208465370782723
    assert [row.p_holm for row in distinct] == pytest.approx([holm.get(i, 1.0) for i in range(20)], abs=1e-12)
    # R> p.adjust(p, "BH")  -> 0.983942725112258 except [4] 1 [5] [7] 0.169052774699151
    #                          [8] 0.781564042882192 [15] [19] 0.109718616201433
    bh = {3: 1.0, 4: 0.169052774699151, 6: 0.169052774699151, 7: 0.781564042882192}
    bh.update({14: 0.109718616201433, 18: 0.109718616201433})
    assert [row.p_bh for row in distinct] == pytest.approx([bh.get(i, 0.983942725112258) for i in range(20)], abs=1e-12)
    # counting the repeats would adjust over 25: R> p.adjust(c(p, p[c(1, 5, 9, 13, 17)]), "holm")[5]
    # 0.743832208676265, not the 0.574779433977114 above
    assert rows["response/mrd_negative_cr/icans/result/p"].p_holm == pytest.approx(0.574779433977114, abs=1e-12)


def test_split_key_is_the_partition_not_its_names():
    """split_key: the same rows in the same groups give one key whatever the groups' order; a
    row moved, a row left out or another outcome gives another."""
    import numpy as np

    from analysis.estimators.multiplicity import split_key

    a = np.array([True, True, False, False, False])
    b = np.array([False, False, True, True, False])
    assert split_key("os", [a, b]) == split_key("os", [b, a]) == split_key("os", [b, np.zeros(5, bool), a])
    assert split_key("os", [a, b]) != split_key("lfs", [a, b])
    assert split_key("os", [a, b]) != split_key("os", [a, b | np.array([False] * 4 + [True])])
    moved = np.array([True, False, True, False, False]), np.array([False, True, False, True, False])
    assert split_key("os", [a, b]) != split_key("os", list(moved))


def test_a_repeat_of_a_repeat_names_the_first_test(bundled_study):
    """13 patients of the demo (attack 29's small cohort): among the patients in CR, the severity
    groups split them as the CRS grades do, and no event occurred while a patient at risk still had
    CRS or ICANS to come, so the Mantel–Byar test of LFS by severity is the log-rank test by severity,
    itself the one by CRS grade. The chain resolves to the first test (it raised KeyError before)."""
    from analysis.report.results import compute_results

    ids = [f"SYN-{i:03d}" for i in (3, 13, 22, 26, 28, 39, 42, 62, 71, 77, 79, 83, 90)]
    cohort = bundled_study.cohort[bundled_study.cohort["patient_id"].isin(ids)]
    kinetics = bundled_study.kinetics[bundled_study.kinetics["patient_id"].isin(ids)]
    table = compute_results(dataclasses.replace(bundled_study, cohort=cohort, kinetics=kinetics)).pvalues
    rows = {row.path: row for row in table.rows}
    assert rows["survival/lfs/severity/logrank_p"].same_as == "survival/lfs/crs_grade/logrank_p"
    assert rows["time_dependent/lfs/severity/mantel_byar/p"].same_as == "survival/lfs/crs_grade/logrank_p"
    for row in table.rows:
        if row.same_as:
            assert rows[row.same_as].same_as is None
            assert (row.p_holm, row.p_bh) == (rows[row.same_as].p_holm, rows[row.same_as].p_bh)
