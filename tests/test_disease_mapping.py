"""``map`` knows the disease profiles (issue 24): a lymphoma team's and a myeloma team's own
exports (tests/disease_exports.py) go map -> validate -> results with one hand edit, the
cut-off; the counts are those of the frame the export was written from."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import warm_env
from disease_exports import LBCL_HEADERS, MM_HEADERS, truth, write_lbcl_export, write_mm_export
from registry_exports import write_export
from test_disease_models import R_MODELS, R_TERMS
from test_diseases import R_VALUES

from analysis import cli
from analysis.inputs.mapping import detect_disease, propose_mapping
from analysis.inputs.studyfile import load_settings, resolve_study
from analysis.registry.diseases import DISEASES

WRITERS = {"lbcl": (write_lbcl_export, LBCL_HEADERS), "mm": (write_mm_export, MM_HEADERS)}


def _set_cutoff(study, cutoff: str) -> None:
    """The one hand edit a user makes to the proposed file (the title may be edited too)."""
    lines = study.read_text(encoding="utf-8").splitlines()
    edited = [f"  cutoff: {cutoff}" if line.startswith("  cutoff:") else line for line in lines]
    assert edited != lines
    study.write_text("\n".join(edited) + "\n", encoding="utf-8")


@pytest.fixture(scope="module", params=["lbcl", "mm"])
def mapped(request, tmp_path_factory):
    key = request.param
    folder = tmp_path_factory.mktemp(f"export-{key}")
    write, headers = WRITERS[key]
    export = write(folder)
    study = folder / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    text = study.read_text(encoding="utf-8")
    _set_cutoff(study, DISEASES[key].demo.cutoff)
    return key, export, study, text, headers


def test_map_proposes_the_profile_and_every_column(mapped):
    key, export, _, text, headers = mapped
    body = "\n".join(text.splitlines()[2:])  # below the header that explains the marks
    assert f"\ndisease: {key}  # " in text and "GUESS" not in body and "CHECK" not in body
    proposal = propose_mapping(export)
    assert proposal.disease.key == key and proposal.disease.how == "sure"
    assert {m.name: m.header for m in proposal.cohort_matches} == headers
    assert not any(m.how == "guess" for m in proposal.cohort_matches) and not proposal.doubts
    assert proposal.date_format == "%d/%m/%Y"
    # the response codes go onto the scale's keys
    scale = DISEASES[key].scale
    assert set(proposal.values["response_day30" if key == "lbcl" else "best_response"].values()) <= set(scale.keys)


def test_mapped_export_validates_and_loads_as_the_frame_it_was_written_from(mapped, capsys):
    key, _, study, _, _ = mapped
    assert cli.main(["validate", "--study", str(study)]) == 0
    out = capsys.readouterr().out
    frame = truth(key)
    assert f"OK: {len(frame)} patients" in out
    loaded = load_settings(resolve_study(study)).cohort.set_index("patient_id")
    expected = frame.set_index("patient_id")
    for column in ("best_response", "crs_grade", "icans_grade", "steroids", "progression_date", "death_date"):
        assert (
            loaded[column].astype(object).where(loaded[column].notna(), None).tolist()
            == expected[column].astype(object).where(expected[column].notna(), None).tolist()
        ), column
    if key == "lbcl":
        assert loaded["ann_arbor_stage"].tolist() == expected["ann_arbor_stage"].tolist()
        assert loaded["response_day30"].tolist() == expected["response_day30"].tolist()
    else:
        assert loaded["r_iss"].tolist() == expected["r_iss"].tolist()
        assert int(loaded["mrd_negative"].eq(True).sum()) == int(expected["mrd_negative"].eq("yes").sum())


def test_mapped_export_results_count_what_the_frame_holds(mapped, tmp_path):
    key, _, study, _, _ = mapped
    out = tmp_path / "results.json"
    assert cli.main(["results", "--study", str(study), "-o", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    frame = truth(key)
    counts = results["counts"]
    profile = DISEASES[key]
    assert results["disease"] == key and not results["is_synthetic"]  # a user's export, no synthetic marker
    assert counts["n_patients"] == len(frame)
    assert counts["n_crs"] == int((frame["crs_grade"] > 0).sum())
    assert counts["n_icans_severe"] == int((frame["icans_grade"] >= 3).sum())
    assert counts["n_progressions"] == int(frame["progression_date"].notna().sum())
    assert counts["n_deaths"] == int(frame["death_date"].notna().sum())
    for responder in ("orr", "cr"):
        group = results["rates"][f"{responder}|best|all"]["groups"][0]
        assert group["events"] == int(frame["best_response"].isin(profile.responder(responder).levels).sum())
    if key == "mm":
        assert counts["n_mrd_negative"] == int(frame["mrd_negative"].eq("yes").sum())
    # the statistics are those R gives for this cohort (tests/test_diseases.py, with the R calls)
    w = results["distributions"]["best|crs"]["result"]
    assert w["statistic"] == pytest.approx(R_VALUES[key]["w"], abs=1e-9)
    assert w["p"] == pytest.approx(R_VALUES[key]["w_p"], rel=1e-9)
    # and so are the multivariable model, the landmark analysis and Table 1 by toxicity group
    # (tests/test_disease_models.py, with the R calls)
    r = R_MODELS[key]
    for endpoint in ("pfs", "os"):
        terms = {t["key"]: t for t in results["cox"][endpoint]["terms"]}
        assert results["cox"][endpoint]["n"] == len(frame)
        for name, coef in r["cox"][endpoint]["coef"].items():
            assert terms[R_TERMS[name]]["coef"] == pytest.approx(coef, rel=1e-7)
        assert results["cox"][endpoint]["severity_global_chisq"] == pytest.approx(
            r["cox"][endpoint]["joint_chisq"], rel=1e-7
        )
    landmark = results["landmark"]["pfs|crs"]["survival"]
    assert landmark["logrank_chisq"] == pytest.approx(r["landmark"]["pfs|crs"]["chisq"], rel=1e-7)
    assert results["table1_by"]["age|severity"]["result"]["p"] == pytest.approx(r["table1"]["age|severity"], rel=1e-7)
    assert {f["key"] for f in results["pvalues"]["families"]} >= {"baseline", "multivariable", "landmark"}


def _frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_detect_disease_is_sure_only_on_evidence_of_one_profile():
    sure = _frame({"R-ISS": ["II"], "Best overall response": ["VGPR"], "Triple-class refractory": ["Y"]})
    guess = detect_disease(list(sure), {}, sure)
    assert (guess.key, guess.how) == ("mm", "sure") and "'R-ISS'" in guess.why and "VGPR" in guess.why
    # one piece of evidence: a guess
    one = _frame({"Patient": ["1"], "Best overall response": ["VGPR"]})
    assert (detect_disease(list(one), {}, one).key, detect_disease(list(one), {}, one).how) == ("mm", "guess")
    # Lugano levels in the cells and the scale named in a header
    lugano = _frame({"Best response (Lugano)": ["CMR", "PMR"], "Bridging": ["yes", "no"]})
    assert (detect_disease(list(lugano), {}, lugano).key, detect_disease(list(lugano), {}, lugano).how) == (
        "lbcl",
        "sure",
    )
    # both profiles' words: a guess naming the other
    mixed = _frame({"Bulky": ["Y"], "Ann Arbor stage": ["4"], "R-ISS": ["I"]})
    found = detect_disease(list(mixed), {}, mixed)
    assert (found.key, found.how) == ("lbcl", "guess") and "multiple myeloma" in found.why
    # a lymphoma-or-myeloma header alone: a guess that says it cannot tell
    generic = _frame({"Best overall response": ["CR", "PR"], "PFS event": ["1", "0"]})
    found = detect_disease(list(generic), {}, generic)
    assert found.how == "guess" and "mm: myeloma" in found.why
    # nothing of the kind: the default, B-ALL
    plain = _frame({"CR at day 30": ["yes"], "Bone marrow blasts (%)": ["40"], "Date of progression": [""]})
    assert detect_disease(list(plain), {}, plain).how == "default"


def test_a_b_all_registry_export_stays_b_all(tmp_path):
    export, kinetics = write_export(tmp_path, "labels", errors=False)
    proposal = propose_mapping(export, kinetics=kinetics)
    assert (proposal.disease.key, proposal.disease.how) == ("b-all", "default")
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "--kinetics", str(kinetics), "-o", str(study)]) == 0
    text = study.read_text(encoding="utf-8")
    assert "\ndisease:" not in text and "# disease: b-all  # the default" in text


def test_a_guessed_profile_is_listed_to_check_and_disease_overrides(tmp_path):
    frame = truth("lbcl")
    export = tmp_path / "few.csv"
    # a lymphoma export with none of the baseline words: only the day-30 response says LBCL
    pd.DataFrame(
        {
            "Patient": frame["patient_id"],
            "Response d30": frame["response_day30"],
            "Best overall response": frame["best_response"],
        }
    ).to_csv(export, index=False)
    proposal = propose_mapping(export)
    assert (proposal.disease.key, proposal.disease.how) == ("lbcl", "guess")
    assert any(d.startswith("disease: lbcl is a GUESS") for d in proposal.doubts)
    forced = propose_mapping(export, disease="mm")
    assert forced.disease.how == "given" and "r_iss" in {m.name for m in forced.cohort_matches}
    study = tmp_path / "study.yml"
    cli.main(["map", str(export), "--disease", "mm", "-o", str(study)])
    assert "\ndisease: mm  # given to map (--disease)" in study.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_mapped_lymphoma_export_renders_both_documents(tmp_path_factory):
    """A lymphoma team's own export, mapped (the cut-off edited), renders the manuscript and its
    supplement: the title block of a real study (no synthetic notice), Table 1 by toxicity group,
    the multivariable and landmark analyses, the STROBE checklist and the p-value table."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path_factory.mktemp("lbcl-render")
    export = write_lbcl_export(folder)
    study = folder / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    _set_cutoff(study, DISEASES["lbcl"].demo.cutoff)
    documents = cli_documents(study)
    assert documents == ["report-disease.qmd", "supplement-disease.qmd"]
    out = subprocess.run(
        [sys.executable, "-m", "renderer", *documents, "--study", str(study), "--to", "html", "--no-cache",
         "--output-dir", str(folder / "out")],
        capture_output=True, text=True, cwd=root, timeout=600, env=warm_env(),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    html = (folder / "out" / "report-disease.html").read_text(encoding="utf-8")
    supplement = (folder / "out" / "supplement-disease.html").read_text(encoding="utf-8")
    assert "Synthetic data — not real patients" not in html
    for part in ("All patients (n = 101)", "Multivariable analysis", "Landmark analysis", "[to be completed:"):
        assert part in html, part
    assert "STROBE checklist" in supplement and "Every p-value of the analysis" in supplement
    frame = truth("lbcl")
    for text in (html, supplement):
        assert str(frame["patient_id"].iloc[0]) not in text


def cli_documents(study) -> list[str]:
    """The documents `make report` renders for a study file (`python -m analysis document`)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli.main(["document", "--study", str(study)]) == 0
    return buffer.getvalue().split()
