"""The study file, the export mapping and a study-neutral report (issue 9).

A team's REDCap-style exports (tests/registry_exports.py: label headers and raw variable
names, dd/mm/yyyy text mixed with Excel dates, a data-dictionary sheet, three planted
data-entry errors) go through `map` -> `validate --study` -> render with no hand edit
but the cut-off, and only the planted errors are reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Rendered, background_render, register_render
from registry_exports import FIELDS, N_PATIENTS, PLANTED_ERRORS, write_export

from analysis import cli
from analysis.inputs.loading import InputError, load_study
from analysis.inputs.mapping import MAP_AFFILIATION, MAP_AUTHOR, MAP_TITLE, propose_mapping
from analysis.inputs.problems import date_order_hint, hints
from analysis.inputs.studyfile import (
    DEMO_COHORT,
    DEMO_CUTOFF,
    DEMO_KINETICS,
    StudyFileError,
    format_date,
    load_settings,
    read_study_file,
    resolve_study,
)

CUTOFF = "2023-03-01"


def _set_cutoff(study: Path, cutoff: str = CUTOFF) -> Path:
    """The one hand edit a user makes to the proposed file."""
    lines = study.read_text(encoding="utf-8").splitlines()
    edited = [f"  cutoff: {cutoff}" if line.startswith("  cutoff:") else line for line in lines]
    assert edited != lines, "the proposed study file has no cutoff line"
    study.write_text("\n".join(edited) + "\n", encoding="utf-8")
    return study


@pytest.fixture(scope="module", params=["labels", "raw"])
def mapped(request, tmp_path_factory):
    """(study file, export folder) after `map` and the cut-off edit, for each flavour."""
    folder = tmp_path_factory.mktemp(f"export-{request.param}")
    export, kinetics = write_export(folder, request.param)
    study = folder / "study.yml"
    assert cli.main(["map", str(export), "--kinetics", str(kinetics), "-o", str(study)]) == 0
    return _set_cutoff(study), folder


# --------------------------------------------------------------------------- map


def test_map_finds_every_column_of_a_clear_export(mapped):
    study, folder = mapped
    flavour = "labels" if (folder / "labels_export.xlsx").exists() else "raw"
    proposal = propose_mapping(folder / f"{flavour}_export.xlsx", kinetics=folder / f"{flavour}_kinetics.csv")
    position = 0 if flavour == "labels" else 1
    found = {m.name: m.header for m in proposal.cohort_matches}
    assert found == {name: headers[position] for name, headers in FIELDS.items()}
    assert not any(m.how == "guess" for m in proposal.cohort_matches)
    assert proposal.date_format == "%d/%m/%Y" and proposal.complete
    assert proposal.dictionary_sheet == "Data dictionary"


def test_map_names_the_export_columns_it_left_unmapped(tmp_path):
    """New user 31: an export's "infused" column (for a screening rule) was left aside without
    a word; the report names the unmapped columns, a bounded number of them."""
    import pandas as pd

    frame = pd.read_csv(DEMO_COHORT, comment="#", dtype=str)
    frame["Infused"] = "Yes"
    for i in range(20):
        frame[f"extra_{i}"] = ""
    frame.to_csv(tmp_path / "export.csv", index=False)
    proposal = propose_mapping(tmp_path / "export.csv")
    assert proposal.unused_headers == ["Infused", *(f"extra_{i}" for i in range(20))]
    (line,) = [line for line in proposal.report().splitlines() if line.startswith("export columns not mapped")]
    assert line.startswith("export columns not mapped (21): 'Infused', 'extra_0'") and "and 9 more" in line
    assert "screening: excluded:" in line and "'extra_11'" not in line
    # every column used: nothing to say
    plain = tmp_path / "plain.csv"
    pd.read_csv(DEMO_COHORT, comment="#", dtype=str).to_csv(plain, index=False)
    assert propose_mapping(plain).unused_headers == []
    assert "not mapped (" not in propose_mapping(plain).report()


def test_mapped_export_validates_with_only_the_planted_errors(mapped, capsys):
    study, folder = mapped
    problems = folder / "problems.csv"
    assert cli.main(["validate", "--study", str(study), "--problems", str(problems)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("3 problems found")
    with open(problems, encoding="utf-8-sig", newline="") as fh:
        listed = list(csv.DictReader(fh))
    rows = [r for r in listed if r["severity"] == "error"]  # the plausibility warnings follow them
    assert {r["severity"] for r in listed} <= {"error", "warning"}
    assert len(rows) == len(PLANTED_ERRORS)
    assert {r["column"] for r in rows} == {c for c, _ in PLANTED_ERRORS}
    for column, rule in PLANTED_ERRORS:
        assert any(r["column"] == column and rule in r["rule"] for r in rows), (column, rule, rows)
    # the cross-field rule shows the value it was compared with
    order = next(r for r in rows if r["column"] == "cr_date")
    assert order["related_value"].startswith("infusion_date = ") and order["record"]
    # the data manager finds the column by the export's own header
    position = 0 if (folder / "labels_export.xlsx").exists() else 1
    assert order["export_column"] == FIELDS["cr_date"][position]
    assert f"cr_date ('{FIELDS['cr_date'][position]}')" in out


def test_mapped_export_without_errors_loads_every_patient(tmp_path):
    export, kinetics = write_export(tmp_path, "raw", errors=False)
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "--kinetics", str(kinetics), "-o", str(study)]) == 0
    data = load_settings(resolve_study(_set_cutoff(study)))
    assert len(data.cohort) == N_PATIENTS
    assert set(data.cohort["sex"]) == {"M", "F"}  # codes 1/2 through the proposed values
    assert data.cohort["infusion_date"].notna().all()  # text and Excel dates alike
    assert data.kinetics is not None and len(data.kinetics) > 0


def test_map_never_overwrites_and_fails_while_a_required_column_is_unmapped(tmp_path, capsys):
    export, _ = write_export(tmp_path, "labels", errors=False)
    import pandas as pd

    frame = pd.read_excel(export, sheet_name="Export", dtype=object)
    frame = frame.drop(columns=["Date of CAR-T infusion"])
    lacking = tmp_path / "lacking.xlsx"
    frame.to_excel(lacking, index=False)
    target = tmp_path / "study.yml"
    target.write_text("keep me\n", encoding="utf-8")
    assert cli.main(["map", str(lacking), "-o", str(target)]) == 1
    captured = capsys.readouterr()
    assert "exists" in captured.err and target.read_text(encoding="utf-8") == "keep me\n"
    assert cli.main(["map", str(lacking), "-o", str(target), "--force"]) == 1
    assert "Required columns still unmapped: infusion_date" in capsys.readouterr().out
    assert "# infusion_date:   # NOT FOUND" in target.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the study file


def _write(tmp_path: Path, text: str, name: str = "study.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_argument_over_study_file_over_demo(tmp_path):
    (tmp_path / "exports").mkdir()
    study = _write(tmp_path, "data:\n  cohort: exports/c.csv\n  kinetics: exports/k.csv\n  cutoff: 2024-05-01\n")
    from_file = resolve_study(study)
    assert from_file.cohort == tmp_path / "exports" / "c.csv"  # relative to the study file
    assert from_file.kinetics == tmp_path / "exports" / "k.csv" and from_file.cutoff == dt.date(2024, 5, 1)
    overridden = resolve_study(study, cutoff="2024-06-30", kinetics="none", base=tmp_path)
    assert overridden.cutoff == dt.date(2024, 6, 30) and overridden.kinetics is None
    assert overridden.cohort == from_file.cohort
    # another cohort on the command line never gets the study file's kinetics or cut-off
    other = resolve_study(study, cohort="other.csv", cutoff="2024-04-01", base=tmp_path)
    assert other.cohort == tmp_path / "other.csv" and other.kinetics is None and other.cutoff == dt.date(2024, 4, 1)
    with pytest.raises(StudyFileError, match="belongs to the export it names"):
        resolve_study(study, cohort="other.csv", base=tmp_path)
    # a study file that names no export lends its cut-off (and mapping) to the one given
    mapping_only = _write(tmp_path, "data:\n  cutoff: 2024-05-01\n", "mapping.yml")
    assert resolve_study(mapping_only, cohort="other.csv", base=tmp_path).cutoff == dt.date(2024, 5, 1)
    # study.yml in the working folder is read when none is named
    assert resolve_study(base=tmp_path).cohort == from_file.cohort
    # no study file, no cohort: the demo, its kinetics and its cut-off
    demo = resolve_study(base=tmp_path / "exports")
    assert (demo.cohort, demo.kinetics, demo.cutoff.isoformat(), demo.is_demo) == (
        DEMO_COHORT,
        DEMO_KINETICS,
        DEMO_CUTOFF,
        True,
    )


def test_an_export_needs_its_own_cutoff(tmp_path):
    with pytest.raises(StudyFileError, match="no data cut-off.*CUTOFF=YYYY-MM-DD"):
        resolve_study(cohort="exports/cohort.csv", base=tmp_path)
    study = _write(tmp_path, "data:\n  cohort: c.csv\n")
    with pytest.raises(StudyFileError, match="set `data: cutoff: YYYY-MM-DD`"):
        resolve_study(study)


@pytest.mark.parametrize(
    "text, message",
    [
        ("cuttoff: 2024-01-01\n", "cuttoff: unknown key"),
        ("columns:\n  age_crs: Age\n", "unknown contract column 'age_crs'; the contract's columns are: patient_id"),
        ("date_format: '%d/%m'\n", "must contain %d, %m and %Y"),
        ("analysis:\n  alpha: 5\n", "analysis.alpha"),
        ("authors:\n  - name: A\n    orcid: 1234\n", "authors.0.orcid"),
        ("title: 'unclosed\nsubtitle: x\n", "not valid YAML (line"),
        ("- a list\n", "a set of `key: value` lines"),
    ],
)
def test_a_bad_study_file_names_the_key(tmp_path, text, message):
    with pytest.raises(StudyFileError) as err:
        read_study_file(_write(tmp_path, text))
    assert message in str(err.value) and str(tmp_path / "study.yml") in str(err.value)


def test_title_block_byline_product_and_date(tmp_path):
    study = _write(
        tmp_path,
        """
title: "Our cohort"
subtitle: "Two centers"
date: 2026-11-07
authors:
  - {name: "Zoë Q", affiliation: "Hospital A", email: "zq@example.org", corresponding: true}
  - {name: "R *O*", affiliation: ["Hospital A", "Unit B"]}
data: {cohort: c.csv, cutoff: 2026-11-01}
product: {target: CD19, costimulatory_domain: CD28, lymphodepletion: fludarabine–cyclophosphamide}
""",
    )
    settings = resolve_study(study)
    block = settings.metadata_block()
    assert 'title: "Our cohort"' in block and 'subtitle: "Two centers"' in block and 'date: "7 November 2026"' in block
    byline = settings.byline()
    assert "Zoë Q^1^\\*" in byline and "R \\*O\\*^1,2^" in byline  # a name is never read as Markdown
    assert "^2^ Unit B" in byline and "Corresponding author: [zq\\@example\\.org](mailto:zq@example.org)" in byline
    assert settings.product_sentence() == (
        "Patients received CD19-directed CAR-T cells "
        "(CD28 co-stimulation) after fludarabine–cyclophosphamide lymphodepletion."
    )
    assert (
        resolve_study(_write(tmp_path, "data: {cohort: c.csv, cutoff: 2026-11-01}\n", "bare.yml")).product_sentence()
        == ""
    )  # nothing stated, nothing assumed
    two = resolve_study(
        _write(
            tmp_path,
            "data: {cohort: c.csv, cutoff: 2026-11-01}\nproduct:\n"
            "  - {name: tisagenlecleucel, target: CD19, costimulatory_domain: 4-1BB}\n"
            "  - {name: brexucabtagene autoleucel, target: CD19, "
            "costimulatory_domain: CD28}\n",
            "two.yml",
        )
    )
    assert two.product_sentence() == (
        "Patients received one of 2 products: CD19-directed CAR-T cells (tisagenlecleucel; "
        "4\\-1BB co-stimulation); or CD19-directed CAR-T cells (brexucabtagene autoleucel; "
        "CD28 co-stimulation)."
    )
    assert format_date(dt.date(2026, 11, 27)) == "27 November 2026"


def test_mapping_applies_values_and_date_format_before_validation(tmp_path):
    """An exact hand check of the mapping on a two-patient export."""
    from conftest import read_cohort_text, write_cohort_text

    header, frame = read_cohort_text()
    frame = frame.head(2).copy()
    frame = frame.rename(columns={"patient_id": "Record ID", "crs_grade": "CRS grade"})
    frame.loc[:, "CRS grade"] = ["Grade 3", "none"]
    frame.loc[:, "crs_onset_day"] = ["4", ""]
    frame.loc[:, "infusion_date"] = ["05/03/2020", "2020-03-06"]
    path = write_cohort_text(tmp_path / "c.csv", "", frame)
    study = _write(
        tmp_path,
        """
data: {cohort: c.csv, cutoff: 2023-03-01}
columns: {patient_id: "Record ID", crs_grade: "CRS grade"}
values: {crs_grade: {"Grade 3": 3, "None": 0}}
date_format: "%d/%m/%Y"
""",
    )
    data = load_settings(resolve_study(study))
    assert list(data.cohort["crs_grade"]) == [3, 0]
    assert list(data.cohort["infusion_date"].dt.date) == [dt.date(2020, 3, 5), dt.date(2020, 3, 6)]
    with pytest.raises(InputError):  # without the mapping, the same file is refused
        load_study(path, None, CUTOFF)


def test_whole_column_failures_get_a_hint(tmp_path, capsys):
    export, kinetics = write_export(tmp_path, "labels", errors=False)
    study = tmp_path / "study.yml"
    cli.main(["map", str(export), "--kinetics", str(kinetics), "-o", str(study)])
    text = _set_cutoff(study).read_text(encoding="utf-8")
    study.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("date_format")) + "\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert cli.main(["validate", "--study", str(study)]) == 1
    out = capsys.readouterr().out
    assert 'these look like DD/MM/YYYY: add `date_format: "%d/%m/%Y"`' in out
    assert out.index("Summary") < out.index("Hints:") < out.index("Detail:")


def test_date_order_hint_reads_the_cells():
    assert "DD/MM/YYYY" in date_order_hint(["24/03/2021", "01/02/2020"])
    assert "MM/DD/YYYY" in date_order_hint(["03/24/2021", "01/02/2020"])
    assert "cannot be told apart" in date_order_hint(["03/04/2021"])
    assert date_order_hint(["yesterday", "soon"]) is None
    assert hints([]) == []


def test_label_headers_without_a_study_file_point_to_map(tmp_path, capsys):
    export, _ = write_export(tmp_path, "labels", errors=False)
    assert cli.main(["validate", str(export), "--cutoff", CUTOFF]) == 1
    assert "run `python -m analysis map" in capsys.readouterr().out


def test_did_you_mean_is_not_offered_for_an_unrelated_column(tmp_path, capsys):
    from conftest import read_cohort_text, write_cohort_text

    header, frame = read_cohort_text()
    frame = frame.rename(columns={"last_followup_date": "cart_followup_complete"})
    path = write_cohort_text(tmp_path / "c.csv", header, frame)
    cli.main(["validate", str(path), "--cutoff", CUTOFF])
    out = capsys.readouterr().out
    assert "missing column" in out and "did you mean last_followup_date" not in out


# --------------------------------------------------------------------------- the report


def _users_study(directory: Path) -> dict:
    """map (the real command) -> one cut-off edit -> their title and author."""
    export, kinetics = write_export(directory, "labels", errors=False)
    study = directory / "study.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "map", str(export), "--kinetics", str(kinetics), "-o", str(study)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = _set_cutoff(study).read_text(encoding="utf-8")
    text = text.replace(f'title: "{MAP_TITLE}"', 'title: "Toxicity after CAR-T in our registry"')
    text = text.replace(f'name: "{MAP_AUTHOR}"', 'name: "Zoë Quintero"')
    text = text.replace(f'affiliation: "{MAP_AFFILIATION}"', 'affiliation: "University Hospital X"')
    # the declarations a journal asks for, filled in where map left them commented out
    for key, value in USERS_DECLARATIONS.items():
        assert f"  # {key}: " in text, key
        text = re.sub(rf"^  # {key}: .*$", f"  {key}: {_q(value)}", text, flags=re.MULTILINE)
    # the product (Methods), where map proposes it commented out
    for key, value in (("name", "tisagenlecleucel"), ("lymphodepletion", "fludarabine-cyclophosphamide")):
        assert f'  # {key}: "' in text, key
        text = re.sub(rf'^  # {key}: ".*"$', f"  {key}: {_q(value)}", text, count=1, flags=re.MULTILINE)
    # the patients screened and not analyzed (STROBE 13a/13b), declared where map proposes them
    assert "\nscreening:\n  # excluded:\n" in text
    text = text.replace(
        "\nscreening:\n  # excluded:\n", '\nscreening:\n  excluded:\n    - {reason: "consent withdrawn", count: 2}\n'
    )
    study.write_text(text, encoding="utf-8")
    return {"study": study, "to": "html,pdf,docx", "supplement": True}


USERS_DECLARATIONS = {
    "design": "retrospective cohort study",
    "registry": "the CAR-T registry of our two hospitals",
    "setting": "university hospitals",
    "region": "Example Country",
    "eligibility": (
        "Patients with relapsed or refractory B-ALL infused with CD19 CAR-T cells at either hospital and "
        "enrolled in the registry were eligible."
    ),
    "relapse": "Relapse was the reappearance, after CR, of blasts in blood, of 5% or more marrow blasts, or of extramedullary disease.",
    "measurement": "Two investigators re-graded CRS and ICANS centrally; the hospitals' laboratories assessed response and MRD by the same methods.",
    "ethics_committee": "the Ethics Committee of X",
    "ethics_approval": "EK 1/2026",
    "consent": "Patients consented to the registry.",
    "funding": "No specific funding.",
    "conflicts": "None declared.",
    "data_availability": "On request from the corresponding author.",
    "cutoff_rationale": "Marrow blasts were cut at 20%, the threshold of the published series.",
}


def _q(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


register_render("users-report", ("test_studyfile",), _users_study)


@pytest.fixture(scope="module")
def users_report():
    proc, out = background_render("users-report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Rendered(out, proc.stderr)


def test_a_users_report_is_about_their_study(users_report):
    """Their title and authors in all three outputs, nothing of the publication's cohort as
    the source of their data."""
    rendered = users_report
    for body in (rendered.html_text, rendered.pdf_text, rendered.docx_text):
        assert "Toxicity after CAR-T in our registry" in body and "Zoë Quintero" in body
        assert f"{N_PATIENTS} patients" in body
        for words in (
            "Reproduction of the published figures",
            "Patients enrolled",
            "The cartox team",
            "synthetic",
            "4-1BB",
            "re-analys",
            "93 patients",
        ):
            assert words not in body, words
        assert "St Elsewhere" not in body and "Mercy General" not in body  # center names never printed


def test_a_users_declared_study_leaves_no_placeholder_and_keeps_to_the_journals_limits(users_report):
    """Issue 21, "done when": a user's study rendered with the declarations filled in has no
    placeholder left in either document, and its counts are within the default limits."""
    for document in (users_report, users_report.supplement):
        for body in (document.html_text, document.pdf_text, document.docx_text):
            assert "[to be completed" not in body and "To be completed before submission" not in body
    body = users_report.html_text
    assert "EK 1/2026" in body and "the Ethics Committee of X" in body and "No specific funding." in body
    assert "retrospective cohort study using data from the CAR-T registry of our two hospitals" in body
    counts = [line for line in users_report.stderr.splitlines() if line.startswith("manuscript: ")]
    assert len(counts) == 1 and "(limit 300)" in counts[0] and "(limit 4,000)" in counts[0], counts
    assert "warning:" not in users_report.stderr and "to be completed" not in users_report.stderr
    from layout import html_parts

    (strobe,) = [
        t for t in html_parts(users_report.supplement.html).tables if t.header[:2] == ["Item", "Recommendation"]
    ]
    statuses = {row[0]: row[-1] for row in strobe.rows}
    assert len(statuses) == 34 and statuses["6b"].startswith("not applicable")
    # every item met: item 8 by the declared assessment (issue 21; it was partial before)
    assert {v for k, v in statuses.items() if k != "6b"} == {"present"}, statuses
    assert "Two investigators re-graded CRS and ICANS centrally;" in body
    assert (
        f"Of the {N_PATIENTS + 2} patients screened, 2 were excluded (consent withdrawn, 2) and "
        f"{N_PATIENTS} infused patients were analyzed."
    ) in " ".join(body.split())


@pytest.mark.parametrize("document", ["report", "supplement"])
def test_a_users_documents_hold_the_layout_rules(users_report, document):
    """Review 28, point 6: the layout rules (a table on consecutive pages with its header
    repeated and no single row left on its first or last page, displays after their first
    mention, no paragraph cut by a float) on a user's study, not only on the bundled demo:
    the check also locates the rows whose page column differs between the HTML and the PDF."""
    from layout import layout_problems

    rendered = users_report if document == "report" else users_report.supplement
    problems = layout_problems(rendered.html, rendered.pdf, supplement=document == "supplement")
    assert not problems, "\n".join(problems)


def test_analysis_options_reach_the_results(tmp_path, bundled_results):
    """`analysis:` in the study file is read by the statistics, not only by the prose."""
    from analysis.report.results import compute_results

    study = _write(
        tmp_path,
        f"data: {{cohort: {DEMO_COHORT}, cutoff: {DEMO_CUTOFF}}}\nanalysis: {{alpha: 0.01, landmark_day: 60}}\n",
    )
    settings = resolve_study(study)
    results = compute_results(load_settings(settings), **settings.analysis.model_dump())
    assert results.landmark_day == 60
    default = bundled_results  # the demo with the default options (conftest.py)
    assert default.landmark_day == 30
    # Schoenfeld: a stricter alpha needs a larger effect (z_{1-alpha/2} grows)
    strict, usual = results.detectable_hr[("os", "crs")], default.detectable_hr[("os", "crs")]
    assert strict.hr_above > usual.hr_above
    # the p-value table counts significance at the study's alpha
    assert results.pvalues.alpha == 0.01 and default.pvalues.alpha == 0.05


def test_visit_windows_reach_the_kinetics_profiles_and_overlaps_are_refused(tmp_path):
    from analysis.report.results import compute_results

    study = _write(
        tmp_path,
        f"data: {{cohort: {DEMO_COHORT}, kinetics: {DEMO_KINETICS}, cutoff: {DEMO_CUTOFF}}}\n"
        "analysis:\n  visit_windows: {14: 7, 28: 5}\n",
    )
    settings = resolve_study(study)
    results = compute_results(load_settings(settings), **settings.analysis.model_dump())
    assert results.visit_windows == ((14, 7), (28, 5))
    assert sorted(set(results.kinetics_profiles["crs"]["day"])) == [14, 28]
    bad = _write(tmp_path, "analysis:\n  visit_windows: {7: 4, 14: 3}\n", name="bad.yml")
    with pytest.raises(StudyFileError, match=r"visit_windows: the visit windows of day 7 \(± 4\) and day 14"):
        read_study_file(bad)


def test_words_in_a_grade_column_get_a_values_hint():
    from analysis.inputs.loading import Violation

    violations = [
        Violation(r, f"P{r}", "crs_grade", "not a whole number", v)
        for r, v in ((2, "Grade II"), (3, "Grade I"), (4, "Grade II"))
    ]
    assert any("map them to numbers under `values:`" in h and "Grade II" in h for h in hints(violations))


@pytest.mark.parametrize(
    "section, line",
    [
        ("analysis", "min_cell_size: yes"),
        ("analysis", "sensitivity_landmark_day: no"),
        ("analysis", "landmark_day: yes"),
        ("analysis", "mrd_threshold_pct: yes"),
        ("analysis", "covariate_cutoffs: {bm_blasts_pct: yes}"),
        ("analysis", "visit_windows: {7: on}"),
        ("journal", "displays: true"),
        ("screening", "excluded: [{reason: consent withdrawn, count: yes}]"),
    ],
)
def test_a_truth_value_is_no_number(tmp_path, section, line):
    """Attack 29/12: YAML reads an unquoted yes/no/on/true as a truth value and pydantic's lax
    mode made it 1 or 0 (min_cell_size: yes -> 1, the per-center pooling off;
    sensitivity_landmark_day: no -> a landmark at day 0), validate saying OK. The study file's
    number types refuse a truth value now: the key and its line are named."""
    key = line.split(":")[0]
    with pytest.raises(StudyFileError) as err:
        read_study_file(_write(tmp_path, f"title: t\n{section}:\n  {line}\n"))
    message = str(err.value)
    assert f"{section}.{key}" in message and "a number is expected, not a truth value" in message
    assert message.rstrip().endswith("(line 3)")


def test_numbers_that_are_numbers_still_read(tmp_path):
    study = read_study_file(
        _write(
            tmp_path,
            "analysis:\n  min_cell_size: 3\n  sensitivity_landmark_day: null\n  mrd_threshold_pct: 1\n"
            "  alpha: 0.01\n  visit_windows: {7: 2, '14': 3}\n",
        )
    )
    options = study.model.analysis
    assert (options.min_cell_size, options.sensitivity_landmark_day, options.mrd_threshold_pct) == (3, None, 1.0)
    assert options.alpha == 0.01 and options.visit_windows == {7: 2, 14: 3}


def test_blank_texts_are_absent_and_a_blank_name_is_an_error(tmp_path):
    """Attack 29/09: `title: "  "`, a blank affiliation and `product: {target: " ", vector: " "}`
    printed a manuscript without a title, an empty byline and "autologous -directed CAR-T cells
    ( transduction)". Spaces only are absent now: the title a visible placeholder (listed at the
    end of the render), the product's keys left out (its placeholder), no affiliation; an
    author's blank name is an error naming the line."""
    data = f"data: {{cohort: {DEMO_COHORT}, kinetics: {DEMO_KINETICS}, cutoff: 2023-03-01}}\n"
    study = _write(
        tmp_path,
        'title: "  "\nsubtitle: "\\t"\nauthors:\n  - name: "A. Author"\n    affiliation: " "\n    email: " "\n'
        + data
        + 'product: {target: " ", vector: " ", name: ""}\n',
    )
    settings = resolve_study(study)
    assert settings.title == MAP_TITLE and settings.subtitle is None
    assert settings.authors[0].affiliations == () and settings.authors[0].email is None
    assert settings.products == () and settings.product_sentence() == ""
    assert resolve_study(_write(tmp_path, data)).title.startswith("Toxicity and efficacy")  # none written
    kept = resolve_study(_write(tmp_path, data + 'product: {target: "CD19", vector: " "}\n'))
    assert kept.product_sentence() == "Patients received CD19-directed CAR-T cells."
    with pytest.raises(StudyFileError) as err:
        read_study_file(_write(tmp_path, 'authors:\n  - name: " "\n'))
    assert "authors.0.name: the author's name is blank" in str(err.value) and "(line 2)" in str(err.value)


@pytest.mark.parametrize(
    "lines, message",
    [
        ("date: 1900-01-01\n", "date: 1900-01-01 (line 2) is before the data cut-off 2023-03-01"),
        ("date: 9999-12-31\n", "date: 9999-12-31 (line 2) is more than a year after today (2026-11-27)"),
        (
            "date: 20261127\n",
            "date: 20261127 is a number, not a date: write the date as YYYY-MM-DD (2026-11-27?) (line 2)",
        ),
    ],
)
def test_the_manuscript_date_is_checked(tmp_path, lines, message):
    """Attack 29/13: `date: 1900-01-01` printed "1 January 1900" above a 2023 cut-off, 9999-12-31
    was accepted, and `date: 20261127` got pydantic's "should have zero time" (read as seconds
    since 1970)."""
    study = _write(tmp_path, f"data: {{cohort: {DEMO_COHORT}, cutoff: 2023-03-01}}\n" + lines)
    with pytest.raises(StudyFileError) as err:
        resolve_study(study, today=dt.date(2026, 11, 27))
    assert message in str(err.value)
    ok = resolve_study(_write(tmp_path, f"data: {{cohort: {DEMO_COHORT}, cutoff: 2023-03-01}}\ndate: 2023-03-01\n"))
    assert ok.date == dt.date(2023, 3, 1)  # on the cut-off: fine


def test_a_cutoff_written_as_a_number_says_how_to_write_it(tmp_path):
    with pytest.raises(StudyFileError) as err:
        read_study_file(_write(tmp_path, "data:\n  cutoff: 20230301\n"))
    assert "data.cutoff: 20230301 is a number, not a date: write the date as YYYY-MM-DD (2023-03-01?) (line 2)" in str(
        err.value
    )
    assert "zero time" not in str(err.value)


def test_the_projects_own_study_file_is_not_read_by_the_tests(tmp_path, monkeypatch):
    """Review 30 (new user): a team's study.yml at the project root made `make test` fail 98
    tests, which check the bundled demo. The folder CARTOX_IGNORE_DEFAULT_STUDY_IN names (the
    suite sets it to the project) has its study.yml left unread by default; elsewhere, and when
    named, a study file is read as always."""
    from analysis.inputs.studyfile import IGNORE_DEFAULT_STUDY_ENV, resolve_study

    assert os.environ[IGNORE_DEFAULT_STUDY_ENV] == str(Path(__file__).resolve().parents[1])
    study = tmp_path / "study.yml"
    study.write_text('title: "Our own study"\ndata:\n  cutoff: 2023-03-01\n', encoding="utf-8")
    monkeypatch.setenv(IGNORE_DEFAULT_STUDY_ENV, str(tmp_path))
    assert resolve_study(base=tmp_path).study_file is None
    assert resolve_study(str(study), base=tmp_path).study_file == study  # named: read
    monkeypatch.delenv(IGNORE_DEFAULT_STUDY_ENV)
    assert resolve_study(base=tmp_path).study_file == study


def test_a_cohort_named_on_the_command_line_does_not_borrow_the_study_files_sheet(tmp_path, monkeypatch):
    """New user (review 30): with their study.yml (an .xlsx export, `sheet: Export`) present,
    the README's `results data/cohort.csv ...` failed with "sheet 'Export' is named, but the
    file is not an Excel workbook". The sheet belongs to the study file's cohort, as its
    kinetics do; named with the cohort (or on the command line), it applies."""
    from analysis.inputs.studyfile import IGNORE_DEFAULT_STUDY_ENV, resolve_study

    monkeypatch.delenv(IGNORE_DEFAULT_STUDY_ENV, raising=False)
    (tmp_path / "export.xlsx").write_bytes(b"")
    study = tmp_path / "study.yml"
    study.write_text("data:\n  cohort: export.xlsx\n  sheet: Export\n  cutoff: 2023-03-01\n", encoding="utf-8")
    assert resolve_study(base=tmp_path).sheet == "Export"
    other = Path(__file__).resolve().parents[1] / "data" / "cohort.csv"
    assert resolve_study(cohort=str(other), base=tmp_path).sheet is None
    assert resolve_study(cohort=str(other), sheet="Other", base=tmp_path).sheet == "Other"
