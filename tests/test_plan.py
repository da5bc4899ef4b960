"""The analysis plan (issue 20): the study file's `analysis:` section decides the model,
the definitions Methods states and the landmarks, and the report follows it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.inputs.studyfile import StudyFileError, read_study_file
from analysis.registry.concepts import BASELINE_COVARIATES, OPTIONS
from analysis.report import tables
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = sorted((ROOT / "sections").glob("_*.qmd"))
INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")


@pytest.fixture(scope="module")
def study(bundled_study):
    return bundled_study  # the session's bundled demo and its results (conftest.py)


@pytest.fixture(scope="module")
def default(bundled_results):
    return bundled_results


def _inline_values(results) -> dict[str, str]:
    """Every inline expression of the sections evaluated as the report does (``text``, ``R``)."""
    from conftest import source_text

    text = Narrative(results)
    values = {}
    for path in SECTIONS:  # the conditional content of this report only
        source = source_text(path, kinetics=text.has_kinetics, reproduction=text.show_reproduction)
        for expression in INLINE.findall(source):
            values[expression] = str(eval(expression, {"text": text, "R": results}))  # noqa: S307
    return values


# --------------------------------------------------------------------------- the study file


def test_study_example_documents_every_option_with_its_default():
    example = ROOT / "study.example.yml"
    written = yaml.safe_load(example.read_text(encoding="utf-8"))["analysis"]
    assert set(written) == set(OPTIONS)
    for key, option in OPTIONS.items():
        assert written[key] == option.default, key
        assert re.search(rf"^\s+{key}:", example.read_text(encoding="utf-8"), re.MULTILINE)
    read_study_file(example)  # and it is a valid study file


def test_an_unknown_covariate_in_a_study_file_lists_the_valid_ones(tmp_path):
    path = tmp_path / "study.yml"
    path.write_text("analysis:\n  covariates: [age, bm_blast_pct]\n", encoding="utf-8")
    with pytest.raises(StudyFileError) as error:
        read_study_file(path)
    message = str(error.value)
    assert "analysis.covariates: unknown name 'bm_blast_pct'" in message
    assert "the valid ones are: age, sex, ph_positive" in message and "bm_blasts_pct" in message


def test_an_unknown_option_passed_to_the_statistics_is_refused(study):
    with pytest.raises(TypeError, match="unknown analysis option landmark; the options are: alpha"):
        compute_results(study, landmark=30)


# --------------------------------------------------------------------------- the default plan


def test_the_default_model_adjusts_for_baseline_confounders_only(default):
    assert default.model.covariates == BASELINE_COVARIATES
    for cox in default.cox.values():
        keys = [t.key for t in cox.terms]
        assert keys == [
            "age",
            "bm_blasts_ge20",
            "ph_positive",
            "cart_dose_1e6_per_kg",
            "severity_other",
            "severity_ge3",
        ]
        assert not {"steroids", "tocilizumab"} & set(keys)
    # the demo keeps the publication's model beside it, labelled
    assert {c.model for c in default.cox_publication.values()} == {"publication"}
    assert [t.key for t in default.cox_publication["os"].terms][1:3] == ["steroids", "tocilizumab"]


def test_the_abstract_headline_follows_the_primary_model(default, study):
    text = Narrative(default)
    os_terms = {t.key: t for t in default.cox["os"].terms}
    # the levels in order of severity: grade 1–2, then grade ≥3
    assert text.headline.startswith(f"others (grade 1–2 CRS and/or ICANS) had HR {os_terms['severity_other'].hr:.2f}")
    assert f"grade ≥3 CRS or severe ICANS HR {os_terms['severity_ge3'].hr:.2f}" in text.headline
    assert text.headline.endswith("for death")
    lfs = Narrative(compute_results(study, primary_endpoint="lfs"))
    lfs_severe = next(t for t in lfs.results.cox["lfs"].terms if t.key == "severity_ge3")
    assert f"HR {lfs_severe.hr:.2f}" in lfs.headline and lfs.headline.endswith(
        "for relapse or death among the patients in CR"
    )
    assert lfs.primary_endpoint_title == "leukemia-free survival"


def test_events_per_coefficient_are_reported_with_a_warning_below_10(default):
    text = Narrative(default)
    cox = default.cox["os"]
    assert cox.events_per_variable == pytest.approx(cox.events / 6)  # 55 deaths, 6 coefficients
    assert text.epv("os") == f"{cox.events / 6:.1f} ({cox.events} events, 6 coefficients)"
    assert text.low_epv and text.low_epv_models == f"OS ({cox.events / 6:.1f} events per coefficient)"
    footnotes = tables.table2(default.cox).markdown
    assert "fewer than 10: the estimates may be biased" in footnotes
    assert "Adjusted for age, bone-marrow blasts, Ph-chromosome status, and infused CAR-T cell dose" in footnotes
    values = _inline_values(default)
    # one sentence per model, the number of the model's events and coefficients beside its ratio (review 29)
    sentences = values["text.epv_sentences"]  # one per model, as a model is below 10
    assert sentences.startswith(
        f"The OS model had {cox.events / 6:.1f} events per coefficient ({cox.events} events, 6 coefficients), "
        "fewer than 10: its estimates may be biased away from 1"
    )
    lfs = default.cox["lfs"]
    assert lfs.events_per_variable >= 10
    assert (
        f" The LFS model had {lfs.events / 6:.1f} events per coefficient ({lfs.events} events, 6 coefficients). "
        in sentences
    )
    # every model at 10 or more: one sentence for all (review 29: the word limit of a user's study)
    import analysis.report.narrative.models as models

    low = dataclasses.replace(default, cox={e: c for e, c in default.cox.items() if e != "os"})
    assert Narrative(low).epv_sentences == (
        f"Every model had at least {models.EPV_RULE} events per coefficient (LFS {lfs.events_per_variable:.1f} "
        f"and EFS {default.cox['efs'].events_per_variable:.1f})."
    )


def test_methods_lines_follow_the_default_definitions(default):
    text = Narrative(default)
    assert text.response_criteria.startswith("regardless of blood count recovery")
    assert text.mrd_definition == "fewer than 0.01% (10⁻⁴) leukemic cells in the marrow by multicolor flow cytometry"
    assert text.grading == "the ASTCT consensus criteria" and text.grading_is_astct
    assert "astct: true" in text.title_block
    assert text.model_covariates == (
        "age, bone-marrow blasts (≥20% versus <20%), Ph-chromosome status, and infused CAR-T cell dose"
    )
    assert text.exposure_levels == (
        "others (grade 1–2 CRS and/or ICANS) and grade ≥3 CRS or severe ICANS, each against no CRS or ICANS"
    )


# --------------------------------------------------------------------------- another plan


def test_another_plan_changes_the_model_the_definitions_and_the_prose(study):
    # a copy of the cohort with 5 peak IL-6 values missing and without any ferritin value
    il6 = study.cohort["il6_peak_pg_ml"].astype("Float64").copy()
    il6.iloc[:5] = pd.NA
    cohort = study.cohort.assign(
        il6_peak_pg_ml=il6, ferritin_peak_ng_ml=pd.Series(pd.NA, index=study.cohort.index, dtype="Float64")
    )
    other = dataclasses.replace(study, cohort=cohort, is_synthetic=False)
    plan = dict(
        exposure="crs",
        covariates=["age", "il6_peak_pg_ml", "ferritin_peak_ng_ml", "sex", "disease_status"],
        covariate_cutoffs={},
        primary_endpoint="lfs",
        sensitivity_landmark_day=None,
        response_criteria="cr",
        mrd_method="ngs",
        mrd_threshold_pct=0.0001,
        toxicity_grading="ctcae",
    )
    results = compute_results(other, **plan)
    assert results.covariates_unavailable == ("ferritin_peak_ng_ml",)
    assert results.model.covariates == ("age", "il6_peak_pg_ml", "sex", "disease_status")
    cox = results.cox["os"]
    assert [t.key for t in cox.terms] == [
        "age",
        "il6_peak_pg_ml",
        "sex_F",
        "disease_status_primary_refractory",
        "crs_yes",
    ]
    assert [t.label for t in cox.terms][2:] == ["Female vs male", "Primary refractory vs relapsed", "CRS"]
    # patients without a peak IL-6 are left out and counted (R na.omit)
    assert cox.n_missing == 5
    assert cox.n == len(cohort) - cox.n_missing
    assert not results.cox_publication  # not the demo: no publication's model
    assert set(results.landmark_models) == {("os", 30), ("lfs", 30)}  # no sensitivity landmark
    text = Narrative(results)
    assert text.mrd_definition == (
        "fewer than 0.0001% (10⁻⁶) leukemic cells in the marrow by next-generation "
        "sequencing of immunoglobulin gene rearrangements"
    )
    assert text.response_criteria.startswith("with recovery of blood counts")
    assert not text.grading_is_astct and "astct: false" in text.title_block
    assert text.grading.startswith("the Common Terminology Criteria")
    assert text.unavailable_covariates == "peak ferritin"
    assert text.model_covariates == "age, peak IL-6, sex, and disease status"
    assert text.headline.startswith("CRS had HR ") and text.headline.endswith(
        "for relapse or death among the patients in CR"
    )
    values = _inline_values(results)  # every sentence of the manuscript can be written
    assert any(v.startswith("The plan also named peak ferritin") for v in values.values())
    assert any(v.startswith("Left out for a missing covariate value were") for v in values.values())
    table = tables.table2(results.cox).markdown
    assert "Patients left out for a missing covariate value" in table and "| CRS |" in table


def test_an_exposure_without_reference_patients_is_not_estimable_with_its_reason(study):
    everyone = study.cohort.assign(
        crs_grade=study.cohort["crs_grade"].clip(lower=1), crs_onset_day=study.cohort["crs_onset_day"].fillna(3)
    )
    results = compute_results(dataclasses.replace(study, cohort=everyone), exposure="crs")
    (term,) = results.cox["os"].exposure_terms
    assert term.hr is None and term.reason.startswith("no patient in the reference group (No CRS)")
    assert Narrative(results).exposure_hrs("os").startswith("CRS had HR not estimable (no patient in the reference")


def test_table2_default_model_matches_r(default):
    # R> coxph(Surv(time, status) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev0, ties = "efron")
    #    (tests/reference/r_timevarying.R, section 5: the bundled export, the toxicity from infusion)
    r = {
        "os": (
            93,
            55,
            {
                "age": (-0.007040219227341, 0.008362163879752),
                "bm_blasts_ge20": (-0.450173205564414, 0.299822303973461),
                "ph_positive": (1.185345336953487, 0.339333253364875),
                "cart_dose_1e6_per_kg": (0.185686938776936, 0.115408542642944),
                "severity_ge3": (0.342198627990325, 0.496147943253712),
                "severity_other": (0.083962682493852, 0.418287334084047),
            },
        ),
        "lfs": (
            86,
            69,
            {
                "age": (0.002992245654755, 0.007110260224206),
                "bm_blasts_ge20": (-0.199235543160249, 0.269358443623566),
                "ph_positive": (1.112648729670224, 0.338639369505001),
                "cart_dose_1e6_per_kg": (0.101980782784976, 0.103214120227210),
                "severity_ge3": (0.104073678778429, 0.446333572812841),
                "severity_other": (-0.081596245419274, 0.371000822696216),
            },
        ),
    }
    for endpoint, (n, events, terms) in r.items():
        cox = default.cox[endpoint]
        assert (cox.n, cox.events) == (n, events)
        got = {t.key: (t.coef, t.se) for t in cox.terms}
        for key, values in terms.items():
            assert got[key] == pytest.approx(values, rel=1e-7), (endpoint, key)
