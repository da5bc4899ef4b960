"""The analysis plan of an LBCL or MM study file: every option it sets is read, or refused.

A study file's ``analysis:`` option the disease report does not read (the B-ALL plan's
exposure, second landmark, MRD method...) used to be accepted and silently ignored; the
covariate cut-offs and the toxicity grading system were ignored too, so that Methods said
"ASTCT" for a team grading with CTCAE.
"""

import re
from pathlib import Path

import pytest

from analysis.inputs.studyfile import StudyFileError, load_settings, resolve_study
from analysis.registry.concepts import OPTIONS
from analysis.report.disease_results import compute_disease_results, disease_plan
from analysis.report.narrative.disease import DiseaseNarrative

ROOT = Path(__file__).resolve().parents[1]

#: The options each profile's report reads (``Option.diseases``): the B-ALL report all of them.
DISEASE_OPTIONS = {"alpha", "covariates", "covariate_cutoffs", "landmark_day", "toxicity_grading"}


def _study_file(tmp_path, text: str) -> Path:
    path = tmp_path / "study.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_options_a_disease_report_reads_are_declared_once():
    read = {key for key, o in OPTIONS.items() if o.diseases is None or "lbcl" in o.diseases}
    assert read == DISEASE_OPTIONS
    assert all(o.diseases is None or o.diseases == ("b-all",) for o in OPTIONS.values())


@pytest.mark.parametrize(
    "disease, option, value",
    [
        ("lbcl", "exposure", "crs"),
        ("lbcl", "sensitivity_landmark_day", "60"),
        ("mm", "mrd_method", "ngs"),
        ("mm", "primary_endpoint", "efs"),
        ("lbcl", "visit_windows", "{7: 3}"),
    ],
)
def test_an_option_the_disease_report_does_not_read_is_refused_naming_those_it_reads(tmp_path, disease, option, value):
    path = _study_file(tmp_path, f"disease: {disease}\nanalysis:\n  {option}: {value}\n")
    with pytest.raises(StudyFileError) as err:
        resolve_study(path, base=ROOT)
    message = str(err.value)
    assert f"analysis.{option}" in message and "(line 3)" in message
    assert f"read by the B-ALL report only, not by the {disease.upper()} report" in message
    assert "reads: " + ", ".join(k for k in OPTIONS if k in DISEASE_OPTIONS) in message


def test_the_same_option_is_read_by_the_b_all_report(tmp_path):
    settings = resolve_study(_study_file(tmp_path, "analysis:\n  exposure: crs\n  mrd_method: ngs\n"), base=ROOT)
    assert (settings.analysis.exposure, settings.analysis.mrd_method) == ("crs", "ngs")


def test_a_disease_argument_over_a_b_all_study_file_refuses_what_that_profile_does_not_read(tmp_path):
    """`make report DISEASE=lbcl STUDY=...` with a B-ALL plan: the plan's B-ALL-only options are
    named, rather than dropped."""
    path = _study_file(tmp_path, "analysis:\n  alpha: 0.05\n  min_cell_size: 3\n")
    with pytest.raises(StudyFileError, match=r"analysis\.min_cell_size: is read by the B-ALL report only"):
        resolve_study(path, base=ROOT, disease="lbcl")
    # B-ALL's blast cut-off names a column the lymphoma contract does not have
    path = _study_file(tmp_path, "analysis:\n  covariate_cutoffs: {bm_blasts_pct: 20}\n")
    with pytest.raises(StudyFileError, match=r"analysis\.covariate_cutoffs: unknown name 'bm_blasts_pct'"):
        resolve_study(path, base=ROOT, disease="lbcl")


#: ``tests/reference/r_disease_covariates.R`` (second fit): the LBCL demo's model with
#: ``covariates: [age, ldh_elevated]`` and ``covariate_cutoffs: {age: 65}``:
#:     d$age_ge65 <- d$age >= 65
#:     fit65 <- coxph(Surv(pfs_months, pfs_event) ~ severity + age_ge65 + ldh_elevated, data = d, ties = "efron")
#:     exp(coef(fit65)); summary(fit65)$conf.int[, c("lower .95", "upper .95")]; summary(fit65)$coefficients[, 5]
R_AGE65 = {
    "n": 101,
    "events": 60,
    "n_age_ge65": 28,
    "hr": {
        "severitysevere": 0.94503384035205,
        "severityother": 1.0468609062659,
        "age_ge65TRUE": 1.3663825869656,
        "ldh_elevatedTRUE": 0.99727910838145,
    },
    "lower": {
        "severitysevere": 0.28020098560808,
        "severityother": 0.32246209972121,
        "age_ge65TRUE": 0.78054897618891,
        "ldh_elevatedTRUE": 0.5854886392225,
    },
    "upper": {
        "severitysevere": 3.1873155530571,
        "severityother": 3.3985939991562,
        "age_ge65TRUE": 2.391908042822,
        "ldh_elevatedTRUE": 1.6986932852102,
    },
    "p": {
        "severitysevere": 0.92737773481086,
        "severityother": 0.93924096801561,
        "age_ge65TRUE": 0.27452076709682,
        "ldh_elevatedTRUE": 0.99199989678854,
    },
}
R_TERMS = {
    "severitysevere": "severity_ge3",
    "severityother": "severity_other",
    "age_ge65TRUE": "age_ge65",
    "ldh_elevatedTRUE": "ldh_elevated",
}


def test_the_study_files_cut_offs_make_the_disease_model(tmp_path):
    text = "disease: lbcl\nanalysis:\n  covariates: [age, ldh_elevated]\n  covariate_cutoffs: {age: 65}\n"
    settings = resolve_study(_study_file(tmp_path, text), base=ROOT)
    assert disease_plan(settings.analysis)["covariate_cutoffs"] == {"age": 65.0}
    study = load_settings(settings)
    results = compute_disease_results(study, **disease_plan(settings.analysis))
    assert results.model.cutoffs == (("age", 65.0),)
    cox = results.cox["pfs"]
    assert (cox.n, cox.events) == (R_AGE65["n"], R_AGE65["events"])
    assert int((study.cohort["age"] >= 65).sum()) == R_AGE65["n_age_ge65"]
    terms = {t.key: t for t in cox.terms}
    assert set(terms) == set(R_TERMS.values())
    for r_name, key in R_TERMS.items():
        t = terms[key]
        for ours, what in ((t.hr, "hr"), (t.ci_low, "lower"), (t.ci_high, "upper"), (t.p, "p")):
            expected = R_AGE65[what][r_name]
            assert ours == pytest.approx(expected, rel=1e-7), (key, what, ours, expected)
    assert terms["age_ge65"].label == "Age ≥65 years vs <65 years"
    # Methods names the covariate as entered
    assert "65" in DiseaseNarrative(results, settings).model_covariates


def test_without_cut_offs_the_disease_model_keeps_the_profiles_own(tmp_path):
    settings = resolve_study(_study_file(tmp_path, "disease: lbcl\n"), base=ROOT)
    assert "covariate_cutoffs" not in disease_plan(settings.analysis)  # not B-ALL's blast cut-off
    results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
    assert results.model.cutoffs == tuple((c, float(v)) for c, v in results.profile.covariate_cutoffs)


@pytest.mark.parametrize("disease", ["lbcl", "mm"])
def test_the_grading_system_of_the_study_file_is_the_one_the_documents_name(tmp_path, disease):
    settings = resolve_study(_study_file(tmp_path, f"disease: {disease}\nanalysis:\n  toxicity_grading: ctcae\n"))
    results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
    text = DiseaseNarrative(results, settings)
    assert text.grading_short == "CTCAE" and "Common Terminology Criteria" in text.grading
    assert text.flags["astct"] is False  # Methods names CTCAE and does not cite the ASTCT criteria
    default = DiseaseNarrative(results, resolve_study(_study_file(tmp_path, f"disease: {disease}\n")))
    assert default.grading_short == "ASTCT" and default.flags["astct"] is True
    methods = (ROOT / "sections" / "disease" / "_methods.qmd").read_text(encoding="utf-8")
    astct, other = methods.split('::: {.content-hidden when-meta="cartox.astct"}')
    assert "ASTCT consensus criteria [@lee2019astct]" in astct.rsplit(":::", 2)[-2]
    assert "`{python} text.grading`" in other.split(":::")[0] and "ASTCT" not in other.split(":::")[0]
    for section in ("_abstract.qmd", "_discussion.qmd"):
        source = (ROOT / "sections" / "disease" / section).read_text(encoding="utf-8")
        assert "ASTCT" not in source and "text.grading_short" in source


@pytest.mark.parametrize(
    "text, named",
    [
        ("screening:\n  excluded:\n    - {reason: centre A, column: center, values: [Center A]}\n", "screening"),
        ("screening:\n  excluded: []\n", "screening"),
        ("declarations:\n  region: Example Country\n", "declarations.region"),
    ],
)
@pytest.mark.parametrize("disease", ["lbcl", "mm"])
def test_a_screening_or_region_the_disease_documents_do_not_print_is_refused(tmp_path, disease, text, named):
    """Attack 28b: an LBCL study's screening rule removed 35 of 101 rows and the documents said
    only "The report includes 66 patients" (no reason, no count anywhere); the region was
    accepted and never printed."""
    path = _study_file(tmp_path, f"disease: {disease}\n{text}")
    with pytest.raises(StudyFileError, match=rf"{re.escape(named)}: read by the B-ALL report only") as err:
        resolve_study(path, base=ROOT)
    assert f"the {disease.upper()} documents do not print them" in str(err.value)
    resolve_study(_study_file(tmp_path, text), base=ROOT)  # B-ALL prints both
