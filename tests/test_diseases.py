"""Disease profiles (issue 24): LBCL and MM contracts, statistics against R, the demos.

R reference values: the bundled demos (data/lbcl/cohort.csv, data/mm/cohort.csv) prepared
by prepare_disease_cohort and written with the columns below; R 4.x, survival:

    x <- read.csv(f)   # score_best, grp_crs, grp_crs_grade, resp_orr_best, pfs_months, pfs_event
    wilcox.test(score_best ~ grp_crs, data = x, exact = FALSE, correct = TRUE)   # W, p
    kruskal.test(score_best ~ grp_crs_grade, data = x)                            # H, p
    prop.test(sum(resp_orr_best), nrow(x), correct = FALSE)$conf.int              # Wilson CI
    fisher.test(table(grp_crs, resp_orr_best))$p.value                            # LBCL (small cell)
    chisq.test(table(grp_crs, resp_orr_best), correct = FALSE)$p.value            # MM
    survdiff(Surv(pfs_months, pfs_event) ~ grp_crs, data = x)                     # chisq, p
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import background_render, register_render, warm_env

from analysis.inputs.errors import InputError
from analysis.inputs.loading import load_study
from analysis.inputs.studyfile import StudyFileError, load_settings, read_study_file, resolve_study
from analysis.registry.diseases import DISEASES, IMWG, LUGANO, disease
from analysis.report.disease_results import compute_disease_results, disease_results_to_dict

ROOT = Path(__file__).resolve().parents[1]

#: disease -> R values (see the module docstring for the calls)
R_VALUES = {
    "lbcl": dict(
        w=285,
        w_p=0.519551806827,
        h=0.559731196647,
        h_p=0.755885326884,
        ci=(0.735794416616, 0.8841893258),
        table_p=0.604988287527,
        table_test="fisher_exact",
        logrank=0.776728525384,
        logrank_p=0.378143544125,
    ),
    "mm": dict(
        w=1259.5,
        w_p=0.374897755694,
        h=2.03536783039,
        h_p=0.361431076542,
        ci=(0.65184706191, 0.803244989836),
        table_p=0.393765604877,
        table_test="chi_square",
        logrank=1.44924104655,
        logrank_p=0.228649772048,
    ),
}


@pytest.fixture(scope="module", params=["lbcl", "mm"])
def demo(request):
    study = load_settings(resolve_study(None, disease=request.param, base=ROOT))
    return request.param, compute_disease_results(study)


def test_statistics_agree_with_r(demo):
    key, results = demo
    r = R_VALUES[key]
    w = results.distributions[("best", "crs")].result
    assert w.test == "mann_whitney"
    assert w.statistic == pytest.approx(r["w"], abs=1e-9) and w.p == pytest.approx(r["w_p"], rel=1e-9)
    h = results.distributions[("best", "crs_grade")].result
    assert h.test == "kruskal_wallis"
    assert h.statistic == pytest.approx(r["h"], rel=1e-9) and h.p == pytest.approx(r["h_p"], rel=1e-9)
    overall = results.rates[("orr", "best", "all")].groups[0]
    assert (overall.ci_low, overall.ci_high) == pytest.approx(r["ci"], rel=1e-9)
    by_crs = results.rates[("orr", "best", "crs")].result
    assert by_crs.test == r["table_test"] and by_crs.p == pytest.approx(r["table_p"], rel=1e-7)
    s = results.survival[("pfs", "crs")]
    assert s.logrank_chisq == pytest.approx(r["logrank"], rel=1e-9)
    assert s.logrank_p == pytest.approx(r["logrank_p"], rel=1e-9)


def test_demos_reproduce_the_published_counts(demo):
    key, results = demo
    c = results.counts
    orr = results.rates[("orr", "best", "all")].groups[0]
    cr = results.rates[("cr", "best", "all")].groups[0]
    if key == "lbcl":  # ZUMA-1 (Neelapu 2017): n 101, ORR 82%, CR 54%, CRS >=3 13%, NE >=3 28%
        assert (c["n_patients"], orr.events, cr.events) == (101, 83, 55)
        assert (c["n_crs"], c["n_crs_severe"], c["n_icans"], c["n_icans_severe"]) == (94, 13, 65, 28)
        assert round(100 * orr.rate) == 82 and round(100 * cr.rate) == 54
    else:  # KarMMa (Munshi 2021): n 128, ORR 94 (73%), >=CR 42 (33%), MRD-neg 33, CRS 107 (7 >=3), NT 23 (4)
        assert (c["n_patients"], orr.events, cr.events, c["n_mrd_negative"]) == (128, 94, 42, 33)
        assert (c["n_crs"], c["n_crs_severe"], c["n_icans"], c["n_icans_severe"]) == (107, 7, 23, 4)


def test_mm_responder_definitions_nest(demo):
    key, results = demo
    if key != "mm":
        return
    events = [results.rates[(r, "best", "all")].groups[0].events for r in ("orr", "vgpr", "cr")]
    assert events[0] >= events[1] >= events[2]
    mrd = results.rates[("mrd_cr", "best", "all")].groups[0]
    # MRD not assessed in 4 patients in CR: left out of the denominator, never counted
    assert (mrd.events, mrd.n) == (33, 128 - 4)


def test_json_export_has_no_patient_data(demo):
    key, results = demo
    text = json.dumps(disease_results_to_dict(results), allow_nan=False)
    assert "Center A" not in text and f"{disease(key).abbreviation}-001" not in text
    assert '"orr|best|crs"' in text


#: JSON objects whose keys are data (assessment|grouping, cause, group level, rule), not names.
_DATA_KEYED = {
    ("distributions",),
    ("rates",),
    ("survival",),
    ("hazard_ratios",),
    ("competing",),
    ("survival", "*", "at_risk"),
    ("competing", "*", "at_risk"),
    ("competing", "*", "causes"),
    ("data_quality", "warnings"),
    ("table1_by",),
    ("course_by",),
    ("detectable_hr",),
    ("cox",),
    ("landmark",),
    ("landmark_models",),
    ("landmark", "*", "survival", "at_risk"),
}


def _key_names(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            if path in _DATA_KEYED:
                yield from _key_names(v, (*path, "*"))
            else:
                yield k
                yield from _key_names(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from _key_names(v, path)


def test_docs_results_md_names_every_key_of_the_disease_json(demo):
    """docs/results.md's lymphoma and myeloma section names every key the export writes
    (a key added in the code and not documented fails), and its patterns match the keys."""
    key, results = demo
    out = disease_results_to_dict(results)
    docs = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Lymphoma and myeloma reports") :]
    section = section[: section.find("\n## ", 5)] if "\n## " in section[5:] else section
    named = {word for code in re.findall(r"`([^`]+)`", section) for word in re.split(r"[.|]", code)}
    undocumented = sorted(set(_key_names(out)) - named)
    assert not undocumented, f"docs/results.md does not name: {undocumented}"
    profile = disease(key)
    assert all(f"`{r.key}`" in section for r in profile.responders)
    assert all(f"`{a.key}`" in section for a in profile.assessments)
    assert all(f"`{e.key}`" in section for e in profile.endpoints)
    assert "best|crs" in out["distributions"] and "orr|best|crs" in out["rates"] and "pfs|crs" in out["survival"]


def test_unknown_disease_lists_the_valid_ones(tmp_path):
    path = tmp_path / "study.yml"
    path.write_text("disease: cll\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match="b-all, lbcl, mm"):
        read_study_file(path)
    with pytest.raises(StudyFileError, match="b-all, lbcl, mm"):
        resolve_study(None, disease="aml", base=tmp_path)


def test_scales_are_ordered_and_accept_their_words():
    assert LUGANO.keys == ("CR", "PR", "SD", "PD") and LUGANO.score("CR") > LUGANO.score("PD")
    assert IMWG.at_least("VGPR") == ("sCR", "CR", "VGPR")
    assert LUGANO.words["complete metabolic response"] == "CR" and IMWG.words["very good partial response"] == "VGPR"
    assert set(DISEASES) == {"b-all", "lbcl", "mm"}


def _lbcl_rows(tmp_path, **changes):
    header = (
        "Patient,Site,CAR-T infusion,Age,Sex,ECOG,Stage,LDH > ULN,CRS grade,CRS onset,ICANS grade,"
        "ICANS onset,Steroids,Tocilizumab,Response d30,Best response (Lugano),First response,"
        "PFS event date,Death,Last contact,prior_lines"
    )
    rows = [
        "P1,Site 1,2022-01-10,61,M,1,4,yes,2,2,0,,no,yes,Partial response,CMR,2022-02-10,,,2023-01-01,3",
        "P2,Site 1,2022-02-01,55,F,0,3,no,1,3,1,5,no,no,PD,PD,,2022-02-25,2022-06-01,2022-06-01,2",
        "P3,Site 2,2022-03-01,70,M,1,2,yes,0,,0,,no,no,CR,CR,2022-04-01,2022-10-01,,2023-01-01,4",
        "P4,Site 2,2022-03-15,48,F,0,4,yes,3,1,3,4,yes,yes,SD,PR,2022-06-15,,,2023-01-01,2",
    ]
    for i, row in changes.items():
        rows[int(i)] = row
    path = tmp_path / "export.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    study = tmp_path / "study.yml"
    study.write_text(
        "disease: lbcl\ndata:\n  cohort: export.csv\n  cutoff: 2023-01-01\ncolumns:\n"
        "  patient_id: Patient\n  center: Site\n  infusion_date: CAR-T infusion\n  age: Age\n  sex: Sex\n"
        "  ecog: ECOG\n  ann_arbor_stage: Stage\n  ldh_elevated: LDH > ULN\n  crs_grade: CRS grade\n"
        "  crs_onset_day: CRS onset\n  icans_grade: ICANS grade\n  icans_onset_day: ICANS onset\n"
        "  steroids: Steroids\n  tocilizumab: Tocilizumab\n  response_day30: Response d30\n"
        "  best_response: Best response (Lugano)\n  response_date: First response\n"
        "  progression_date: PFS event date\n  death_date: Death\n  last_followup_date: Last contact\n"
        "not_collected: [bulky_disease, ipi, bridging, cart_dose_1e6_per_kg, seizure]\n",
        encoding="utf-8",
    )
    return study


def test_a_user_lbcl_export_through_the_study_file_to_results(tmp_path):
    study = _lbcl_rows(tmp_path)
    settings = resolve_study(study, base=tmp_path)
    results = compute_disease_results(load_settings(settings))
    orr = results.rates[("orr", "best", "all")].groups[0]
    assert (orr.events, orr.n) == (3, 4)  # CMR, CR, PR respond; PD does not
    assert results.counts["n_progressions"] == 2 and results.counts["n_deaths"] == 1
    assert ("orr", "day90", "all") not in results.rates  # no day-90 column: not collected, not reported
    assert "response_day90" in results.not_collected
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "results", "--study", str(study)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"]["n_patients"] == 4


def test_the_validator_knows_the_profile_rules(tmp_path):
    # best response worse than day 30; PD at day 30 without a progression date
    study = _lbcl_rows(
        tmp_path,
        **{
            "0": "P1,Site 1,2022-01-10,61,M,1,4,yes,2,2,0,,no,yes,CR,PR,2022-02-10,,,2023-01-01,3",
            "1": "P2,Site 1,2022-02-01,55,F,0,3,no,1,3,1,5,no,no,PD,PD,,,,2022-06-01,2",
        },
    )
    with pytest.raises(InputError) as err:
        load_settings(resolve_study(study, base=tmp_path))
    rules = {(v.patient_id, v.column, v.rule.split(" (")[0]) for v in err.value.violations}
    assert ("P1", "best_response", "worse than response_day30") in rules
    assert ("P2", "progression_date", "required when response_day30 is PD") in rules


def test_mm_mrd_only_in_complete_response(tmp_path):
    text = (ROOT / "data" / "mm" / "cohort.csv").read_text(encoding="utf-8").splitlines()
    header = text[1].split(",")
    best, mrd = header.index("best_response"), header.index("mrd_negative")
    for i, line in enumerate(text[2:], start=2):
        cells = line.split(",")
        if cells[best] == "PR":
            cells[mrd] = "yes"
            text[i] = ",".join(cells)
            break
    path = tmp_path / "mm.csv"
    path.write_text("\n".join(text[1:]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_study(path, cutoff="2020-10-16", disease="mm")
    assert any(v.column == "mrd_negative" and "only for a patient in CR or sCR" in v.rule for v in err.value.violations)


def _render_disease_demo(out_dir: Path, *, key: str, to: str) -> subprocess.CompletedProcess:
    """The disease demo `key`, report and supplement, rendered by the built-in renderer."""
    return subprocess.run(
        [sys.executable, "-m", "renderer", "report-disease.qmd", "supplement-disease.qmd", "-P", f"disease:{key}"]
        + ["--to", to, "--no-cache", "--output-dir", str(out_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=warm_env(),
    )


# One render per demo, in the background from the start of the session (conftest.py); the MM
# demo's PDF is read by the rates-table test too.
register_render(
    "disease-lbcl", ("test_diseases",), lambda directory: {"key": "lbcl", "to": "html"}, run=_render_disease_demo
)
register_render(
    "disease-mm", ("test_diseases",), lambda directory: {"key": "mm", "to": "html,pdf"}, run=_render_disease_demo
)


@pytest.fixture(scope="module")
def rendered_demos():
    return {key: background_render(f"disease-{key}") for key in ("lbcl", "mm")}


@pytest.mark.slow
@pytest.mark.parametrize("key", ["lbcl", "mm"])
def test_demo_renders(rendered_demos, key):
    out, out_dir = rendered_demos[key]
    assert out.returncode == 0, out.stderr[-2000:]
    html = (out_dir / "report-disease.html").read_text(encoding="utf-8")
    assert "Synthetic data — not real patients" in html
    assert disease(key).name in html and "Kruskal–Wallis" in html
    # the B-ALL report's shape: Table 1 by toxicity group, the multivariable model with its events
    # per coefficient, the landmark analysis, the declarations; the supplement's checklist and p-values
    for part in ("All patients (n = ", "Multivariable analysis", "events per coefficient", "Landmark analysis"):
        assert part in html, part
    assert "Declarations" in html and "B-ALL" not in html
    supplement = (out_dir / "supplement-disease.html").read_text(encoding="utf-8")
    for part in ("STROBE checklist", "Every p-value of the analysis", "Holm", "Proportional hazards"):
        assert part in supplement, part
    for text in (html, supplement):
        assert "Center A" not in text and f"{disease(key).abbreviation}-001" not in text
        assert "1.000" not in text  # a p that rounds to 1 prints "p > 0.99"
    # a journal article: abstract, Introduction, Discussion, the course after infusion, the flow;
    # within the journal's default limits, which the render prints
    for part in ("Abstract", "Introduction", "Key results", "Limitations", "Generalizability", "Course after infusion"):
        assert part in html, part
    from renderer.journal import count

    counts = count(out_dir / "report-disease.html")
    assert counts.limits == {"abstract_words": 300, "main_text_words": 4000, "displays": 8}
    assert 150 < counts.abstract_words <= 300 and 1500 < counts.main_text_words <= 4000 and counts.displays == 8
    assert counts.placeholders == []  # the demo declares everything
    assert "manuscript: abstract" in out.stderr + out.stdout


def test_rates_by_group_read_as_a_sentence(demo):
    from analysis.report.narrative.disease import DiseaseNarrative, among

    assert among("No CRS") == "among patients without CRS"
    assert among("CRS grade 1–2") == "among patients with CRS grade 1–2"
    assert among("Grade ≥3 CRS or severe ICANS") == "among patients with grade ≥3 CRS or severe ICANS"
    assert among("Others (grade 1–2 CRS and/or ICANS)") == "among the others (grade 1–2 CRS and/or ICANS)"
    _, results = demo
    text = DiseaseNarrative(results).rate_by("orr", "crs")
    no, yes = results.rates[("orr", "best", "crs")].groups
    assert text.startswith(f"{no.events} of {no.n} (") and " among patients without CRS and " in text
    assert f"{yes.events} of {yes.n} (" in text and " among patients with CRS; " in text
    assert "in the group" not in text


@pytest.mark.slow
def test_mm_rates_table_prints_each_label_and_ci_on_one_line(rendered_demos):
    """Review 29: the MM rates table's CI column wrapped ("19.6–" / "35.0)") under equal dashes,
    and "Others (grade 1–2 CRS and/or ICANS)" wrapped: the columns are now as wide as their
    longest cell and the severity rows use the registry's short labels (defined below the table)."""
    from layout import pdf_pages, squash_quotes, wrapped_row_labels

    out, out_dir = rendered_demos["mm"]
    assert out.returncode == 0, out.stderr[-2000:]
    html, pdf = out_dir / "report-disease.html", out_dir / "report-disease.pdf"
    assert not wrapped_row_labels(html, pdf)
    lines = [" ".join(squash_quotes(line).split()) for page in pdf_pages(pdf) for line in page.splitlines()]
    row = next(line for line in lines if line.startswith("All patients 128"))
    assert "33/124 (26.6%; 19.6–35.0)" in row  # the MRD-negative ≥CR rate whole on its row
    assert any(line.startswith("Grade 1–2 only 99") for line in lines)


def test_an_lbcl_response_after_the_end_of_follow_up_is_noted(tmp_path):
    """Attack 29/04: a day-90 CR of a patient dead on day 60 (and a day-30 CR of one dead on day
    10) was counted without a word, while B-ALL notes a CR at day 30 followed for fewer than 30
    days. The same note now for the LBCL assessments due on a day; progression carried to day 90
    (PD after progressing on day 44, as the demo has 7 times) is no response and not noted."""
    import pandas as pd

    demo = ROOT / "data" / "lbcl" / "cohort.csv"
    assert load_study(demo, None, "2017-08-11", disease="lbcl").notes == ()
    base = pd.read_csv(demo, comment="#", dtype=str, keep_default_na=False)
    i = base.index[base.patient_id == "LBCL-005"][0]  # infused 2015-12-07, response_day90 CR
    assert (base.at[i, "infusion_date"], base.at[i, "response_day90"]) == ("2015-12-07", "CR")
    base.loc[i, ["death_date", "last_followup_date"]] = "2016-02-05"  # day 60
    j = base.index[base.patient_id == "LBCL-011"][0]  # infused 2015-12-12
    base.loc[j, ["response_day30", "response_day90", "best_response", "response_date", "death_date"]] = [
        "CR",
        "",
        "CR",
        "2015-12-20",
        "2015-12-22",
    ]
    base.loc[j, "last_followup_date"] = "2015-12-22"  # day 10
    path = tmp_path / "lbcl.csv"
    base.to_csv(path, index=False)
    notes = load_study(path, None, "2017-08-11", disease="lbcl").notes
    assert notes == (
        "lbcl.csv: 1 patient responding (CR or PR) at day 30 (response_day30) followed for fewer than 30 days "
        "(last follow-up on day 10): the day-30 response rates count them as assessed at day 30; check the "
        "assessment or the follow-up (a death before the assessment ends the follow-up)",
        "lbcl.csv: 1 patient responding (CR or PR) at day 90 (response_day90) followed for fewer than 90 days "
        "(last follow-up on day 60): the day-90 response rates count them as assessed at day 90; check the "
        "assessment or the follow-up (a death before the assessment ends the follow-up)",
    )
    # MM records only the best response (no assessment due on a day): nothing to check there
    assert all(a.day is None for a in DISEASES["mm"].assessments)
