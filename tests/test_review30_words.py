"""Review 30 of the manuscript: the wording findings F3, F4, F6, F8, F9 and F14 of the methods
reviewer's read of the demo and of a user's REDCap study.

Each test evaluates the sentence a section writes (its words live in ``sections/``, the
Narrative only chooses) on built results: the demo's, and the demo cohort edited so that
toxicity goes with longer survival and the patients with CRS have 20 times the CAR transgene
copies (the shape of the user's study: significant log-rank tests, adjusted HRs below 1, a
landmark model whose verdict changes, significant kinetics comparisons; the fixture of
``test_review29_words``).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_review29_words import SECTIONS, said, toxic_narrative

from analysis.estimators.effects import reference_level
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.groups import GROUPINGS
from analysis.report import tables
from analysis.report.formatting import and_list, fmt_p
from analysis.report.narrative import Narrative
from analysis.report.narrative.parts import in_sentence

CUTOFF = "2023-03-01"
WORD = re.compile(r"\S*[^\W_]\S*")  # renderer.journal.WORD_RE: what the journal counts


@pytest.fixture(scope="module")
def toxic(tmp_path_factory):
    """Toxicity with lower hazards and with 20-fold CAR-T peaks (see the module's docstring)."""
    return toxic_narrative(tmp_path_factory.mktemp("toxic30"))


@pytest.fixture(scope="module")
def demo(bundled_results):
    return Narrative(bundled_results)


# --------------------------------------------------------------------------- F3: the abstract's conclusions


def test_the_conclusions_give_the_primary_verdict_and_the_direction(toxic):
    results = toxic.results
    conclusion = said("_abstract", "text.choose(text.main_tests.any", toxic)
    # the primary endpoint's adjusted verdict first: the joint test of the exposure for OS
    os = results.cox["os"]
    assert os.severity_global_p >= 0.05
    assert conclusion.startswith(
        f"The main adjusted analysis (OS) was not significant (joint {fmt_p(os.severity_global_p)}"
        + (f"; {os.events_per_variable:.1f} events per coefficient)." if os.events_per_variable < 10 else ").")
    )
    # then the significant tests, with the direction of each: every one is a survival test whose
    # univariable HRs (each level against its reference) are all below 1
    significant = [
        (e, g)
        for (e, g), c in results.survival.items()
        if e in ("os", "lfs") and c.logrank_p is not None and c.logrank_p < 0.05
    ]
    assert significant and all(
        hr.hr < 1 for key in significant for hr in results.survival_hr[key].hazard_ratios if hr.hr is not None
    )
    assert "Three of 30 tests of response or survival across toxicity groups reached significance" in conclusion
    by = and_list(in_sentence(GROUPINGS[g].title) for e, g in significant if e == "lfs")
    assert f"none after Holm's adjustment; toxicity went with lower hazards (LFS by {by})." in conclusion
    assert conclusion.endswith("These exploratory associations need confirmation.")
    # the abstract's Results no longer repeat the joint p the conclusions give (the words that pay
    # for the verdict); the demo, whose conclusions count no significant test, keeps it there
    assert "joint" not in said("_abstract", "text.headline_hrs +", toxic)


def test_the_direction_of_a_response_test_is_its_rate_against_the_reference(toxic):
    results = toxic.results
    # MRD-negative CR by ICANS made significant, with its observed rates (the user's study had one)
    comparison = results.response[("mrd_negative_cr", "icans")]
    edited = dataclasses.replace(comparison, result=dataclasses.replace(comparison.result, p=0.01))
    narrative = Narrative(
        dataclasses.replace(results, response={**results.response, ("mrd_negative_cr", "icans"): edited})
    )
    ref = next(lv for lv in comparison.levels if lv.key == reference_level("icans"))
    other = next(lv for lv in comparison.levels if lv is not ref)
    word = "lower" if other.rate < ref.rate else "higher"
    # each direction with the groupings it holds by (review 30, N1)
    assert narrative.main_directions.startswith("lower hazards (LFS by CRS")
    assert narrative.main_directions.endswith(f"and a {word} MRD-negative CR rate (by ICANS)")


def test_the_demo_abstract_keeps_its_wording(demo):
    conclusion = said("_abstract", "text.choose(text.main_tests.any", demo)
    assert conclusion.startswith("Of the 30 tests of response or survival across toxicity groups, none reached")
    assert said("_abstract", "text.headline_hrs +", demo).endswith(f"(joint {demo.exposure_p('os')})")


# --------------------------------------------------------------------------- F4: the Interpretation


def test_the_interpretation_names_the_landmark_model_whose_verdict_changed(toxic):
    assert toxic.td_identical and toxic.td_disagreements == "the sensitivity landmark model for LFS"
    sentence = said("_discussion", "text.choose(text.adjusted_lower", toxic)
    assert "No immortal time can explain this" not in sentence
    assert (
        "The time-dependent analyses coincide with those from infusion, but the verdict changed for the "
        "sensitivity landmark model for LFS (Section 3.8); confounders the model omits may also explain the lower hazards."
    ) in sentence
    # the only model with an HR beyond 1 (LFS) has a significant joint test: the direction stands
    assert toxic.results.cox["lfs"].severity_global_p < 0.05
    assert sentence.startswith("all below 1, so in these data toxicity went with lower hazards, not higher.")


def _with_os_like_lfs(results, p):
    """The OS model given the LFS model's exposure terms (CIs below 1) and a joint p."""
    cox = dict(results.cox)
    cox["os"] = dataclasses.replace(cox["os"], terms=cox["lfs"].terms, severity_global_p=p)
    return Narrative(dataclasses.replace(results, cox=cox))


def test_single_hrs_of_a_model_whose_joint_test_failed_are_not_evidence(toxic):
    # OS: HRs below 1 but joint p = 0.068 (the user's study); LFS: significant
    mixed = _with_os_like_lfs(toxic.results, 0.068)
    assert mixed.adjusted_beyond_null_models == "the OS and LFS models"
    sentence = said("_discussion", "text.choose(text.adjusted_lower", mixed)
    assert sentence.startswith(
        "all below 1, but the group's joint test was significant (unadjusted) only for LFS, so only there do these "
        "data suggest lower hazards with toxicity."
    )
    # no model's joint test significant: the HRs show nothing by themselves
    results = mixed.results
    cox = {**results.cox, "lfs": dataclasses.replace(results.cox["lfs"], severity_global_p=0.2)}
    none = Narrative(dataclasses.replace(results, cox=cox))
    sentence = said("_discussion", "text.choose(text.adjusted_lower", none)
    assert sentence.startswith(
        "all below 1, but the group's joint test was significant in none of these models, so these single "
        "hazard ratios do not show lower hazards with toxicity."
    )
    assert "went with lower hazards, not higher" not in sentence


def test_the_kinetics_paragraph_gives_the_direction_and_size(toxic, demo):
    effect = toxic.results.kinetics_metrics[("cmax", "crs")].effects[0]
    assert effect.level == "yes" and effect.reference == "no" and effect.shift.estimate > 1
    assert toxic.results.kinetics_peak["crs"].result.p < 0.05
    sentence = said("_discussion", "text.choose(text.kinetics_tests.any", toxic)
    shift = effect.shift
    assert sentence.endswith(
        f"; it was higher with CRS (ratio {shift.estimate:.2f} (95% CI {shift.ci_low:.2f}–{shift.ci_high:.2f})), "
        "which bears on expansion, not on the risk of failure."  # review 31: not the intuition's failure
    )
    # the demo's peak did not differ by CRS: no direction claimed
    assert demo.results.kinetics_peak["crs"].result.p >= 0.05
    assert "bears on expansion" not in said("_discussion", "text.choose(text.kinetics_tests.any", demo)


# --------------------------------------------------------------------------- F8: the overall test beside a pairwise HR


# R 4.x, survival: EFS as in tests/reference/r_endpoints.R (lines 10-28), ICANS grade none / 1–2 /
# ≥3 or seizure (77, 8, 8 patients):
#   s <- survdiff(Surv(efs_months, efs_event) ~ g, data = d); 1 - pchisq(s$chisq, 2)   # 0.07955322479
def test_a_pairwise_hr_of_a_non_significant_grouping_carries_the_overall_p(demo):
    overall = demo.results.survival[("efs", "icans_grade")].logrank_p
    assert overall == pytest.approx(0.07955322479, rel=1e-6)
    sentence = said("_discussion", "text.choose(text.pairwise_beyond_null_any", demo)
    assert sentence.endswith(
        f"ICANS grade 1–2 against no ICANS, HR 2.21 (95% CI 1.04–4.70) for EFS (overall log-rank {fmt_p(overall)}); "
        "an exploratory finding."
    )
    assert fmt_p(overall) == "p = 0.080"


# --------------------------------------------------------------------------- F6: one summary for text and Table 1


def test_equal_medians_are_told_apart_by_the_summary_of_table_1_and_the_methods():
    methods = (SECTIONS / "_methods.qmd").read_text(encoding="utf-8")
    assert "Characteristics are summarized as median (range)" in methods and "interquartile" not in methods
    # the text's summary (tests/test_review_findings.py: "median 1 (range 1–5; CRS) vs 1 (range 0–2; no CRS)")
    source = (SECTIONS.parent / "analysis" / "report" / "narrative" / "verdicts.py").read_text(encoding="utf-8")
    assert 'f"IQR ' not in source


# --------------------------------------------------------------------------- F9: the footnotes of Table 1


def _missing_footnote(narrative) -> bool:
    table = tables.table1(
        narrative.results.table1,
        overall=narrative.results.table1_overall,
        variables=tables.baseline_variables(),
        notes=narrative.assessment_notes,
    )
    return "Patients without a value" in table.markdown


def test_the_sentence_on_missing_values_matches_the_footnotes(demo):
    begins = "text.choose(text.baseline_missing_any"
    assert not _missing_footnote(demo) and not demo.baseline_missing_any
    assert said("_results-patients", begins, demo) == "No baseline characteristic was missing."
    # the B-ALL contract requires every baseline column, but a profile may not: results where
    # 2 patients lack a marrow-blast value (the overall column of Table 1)
    results = demo.results
    overall = results.table1_overall["bm_blasts_pct"]
    gaps = Narrative(
        dataclasses.replace(
            results,
            table1_overall={**results.table1_overall, "bm_blasts_pct": dataclasses.replace(overall, n=overall.n - 2)},
        )
    )
    assert _missing_footnote(gaps) and gaps.baseline_missing_any
    assert said("_results-patients", begins, gaps) == (
        "The footnotes give the number of patients without a value for each characteristic."
    )


# --------------------------------------------------------------------------- F14: male and female patients


def test_sex_is_worded_for_the_ages_of_the_cohort(demo):
    counts = demo.results.counts
    age = demo.results.descriptives["age"]
    assert age.min < 18  # children and adults
    assert demo.sex_counts == f"{counts['n_male']} male and {counts['n_female']} female"
    # after "The cohort includes 93 patients" (no second "patients" in the parenthesis)
    assert '`{python} text.count("n_patients", "patient")`\n(`{python} text.sex_counts`)' in (
        SECTIONS / "_results-patients.qmd"
    ).read_text(encoding="utf-8")
    adults = dataclasses.replace(
        demo.results, descriptives={**demo.results.descriptives, "age": dataclasses.replace(age, min=18.0)}
    )
    assert Narrative(adults).sex_counts == f"{counts['n_male']} men and {counts['n_female']} women"


# --------------------------------------------------------------------------- words


def test_the_conclusions_cost_few_words(toxic):
    """The abstract's limit is 300 words and the user's abstract had 291: the conclusions that
    state the primary verdict and the direction are paid for by the joint p the Results no longer
    repeat (3 words) and by naming the direction, by grouping, instead of every significant test."""
    conclusion = said("_abstract", "text.choose(text.main_tests.any", toxic)
    # 50: the direction names the groupings it holds by (review 30, N1), the abstract keeps 10 words' room
    assert len(WORD.findall(conclusion)) <= 50, conclusion
    assert ENDPOINTS["os"].abbreviation == "OS"
