"""The registry (analysis.registry.concepts) is the one home of every endpoint, response, variable,
test and option: a word or a column changed there changes every table, figure, sentence
and statistic that shows or uses it, and no other module types it again."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from analysis.estimators.centers import CENTER_COUNTS
from analysis.estimators.comparisons import compare_response
from analysis.estimators.survival import compare_survival
from analysis.inputs.loading import load_study
from analysis.inputs.studyfile import AnalysisOptions
from analysis.registry import concepts, contract
from analysis.registry.groups import prepare_cohort
from analysis.report import figures, tables
from analysis.report.export import results_to_dict
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results

ROOT = Path(__file__).resolve().parent.parent
STUDY = (ROOT / "data/cohort.csv", ROOT / "data/kinetics.csv", "2023-03-01")


@pytest.fixture(scope="module")
def study():
    return load_study(*STUDY)


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results  # the session's results of the bundled demo (conftest.py)


def _patch(monkeypatch, registry: dict, key: str, **changes) -> None:
    """Replace one registry entry for the test (every module reads the same dict)."""
    monkeypatch.setitem(registry, key, dataclasses.replace(registry[key], **changes))


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]


def test_an_endpoint_renamed_in_the_registry_is_renamed_everywhere(monkeypatch, results):
    _patch(
        monkeypatch,
        concepts.ENDPOINTS,
        "os",
        title="Survival overall",
        abbreviation="SO",
        time_axis="Months after the infusion",
        population="every patient",
    )
    table2 = tables.table2(results.cox).markdown
    table3 = tables.table3(results.survival, results.survival_hr).markdown
    assert "Survival overall (every patient, n = 93" in table2 and "Overall survival" not in table2
    # Table 3's rows by the abbreviation, its legend spells out the (renamed) title
    assert "SO (every patient)" in table3 and "SO, survival overall" in table3 and "Overall survival" not in table3
    km = figures.km_plot(results.survival[("os", "crs")]).axes[0]
    assert (km.get_ylabel(), km.get_xlabel()) == ("Survival overall (%)", "Months after the infusion")
    forest_titles = [ax.get_title() for ax in figures.forest_plot(results.cox).axes]
    assert any(t.startswith("Survival overall\n") for t in forest_titles), forest_titles
    landmark = figures.landmark_km_plot(results.landmark[("os", "crs")]).axes[0]
    assert landmark.get_ylabel() == "Survival overall (%)"
    survival = {
        **results.survival,
        ("os", "crs"): dataclasses.replace(results.survival[("os", "crs")], logrank_p=0.001),
    }
    listed = Narrative(dataclasses.replace(results, survival=survival)).main_tests.listed
    assert "SO by CRS" in listed, listed


def test_an_endpoint_reads_its_columns_from_the_registry(monkeypatch, study):
    df = prepare_cohort(study.cohort)
    lfs = compare_survival(df, "lfs")
    _patch(monkeypatch, concepts.ENDPOINTS, "os", time_column="lfs_months", event_column="lfs_event")
    as_os = compare_survival(df, "os")
    assert (as_os.levels[0].n, as_os.levels[0].events) == (lfs.levels[0].n, lfs.levels[0].events)
    assert as_os.levels[0].n < len(df)  # LFS: the patients in CR only


def test_a_response_relabelled_or_remapped_in_the_registry_follows(monkeypatch, study, results):
    df = prepare_cohort(study.cohort)
    # read once at import, as labels of a table's columns
    assert CENTER_COUNTS["mrd_negative_cr"] == concepts.RESPONSES["mrd_negative_cr"].label
    _patch(monkeypatch, concepts.RESPONSES, "mrd_negative_cr", label="MRD-free CR")
    bars = figures.response_bars(results.response[("cr", "crs")], results.response[("mrd_negative_cr", "crs")])
    assert "MRD-free CR" in _texts(bars)
    assert "MRD-free CR" in " ".join(_texts(figures.flow_diagram(results.cohort_flow)))
    _patch(monkeypatch, concepts.RESPONSES, "cr", column="mrd_negative_cr")
    assert compare_response(df, "cr", "crs").levels == compare_response(df, "mrd_negative_cr", "crs").levels


def test_a_table1_variable_relabelled_in_the_registry_follows(monkeypatch, results):
    text = Narrative(results)
    (variable, *_) = text.table1_significant("crs")  # the demo has at least one (peak IL-6)
    _patch(monkeypatch, concepts.VARIABLES, variable, name="Renamed row", phrase="the renamed thing")
    label = concepts.VARIABLES[variable].label  # the name and the contract's unit
    unit = contract.unit_of(variable)
    assert label == (f"Renamed row, {unit}" if unit else "Renamed row")
    assert label in tables.table1(results.table1).markdown
    assert text.table1_differences("crs").startswith("the renamed thing (median ")
    assert text.p(variable, by="crs") == text.p("table1", (variable, "crs"))


def test_a_variable_added_to_the_registry_is_compared_tabulated_exported_and_named(monkeypatch, study):
    # the how-to of analysis/registry/concepts.py: one line, for a column the cohort already has
    new = concepts.Variable("icans_grade", "ICANS grade, maximum", "maximum ICANS grade", concepts.CONTINUOUS)
    assert new.label == new.name  # a grade has no unit in the contract
    monkeypatch.setitem(concepts.VARIABLES, new.key, new)
    results = compute_results(study)
    assert {("icans_grade", g) for g in ("crs", "icans", "concurrent")} <= set(results.table1)
    assert results.table1[("icans_grade", "crs")].result.test == "mann_whitney"
    assert "ICANS grade, maximum" in tables.table1(results.table1).markdown
    assert set(results_to_dict(results)["table1"]["icans_grade"]) == {"crs", "icans", "concurrent"}
    text = Narrative(results)
    assert text.p("icans_grade", by="icans") == text.p("table1", ("icans_grade", "icans"))
    # ICANS grade by ICANS: Mann-Whitney p < 0.001 on the demo (every ICANS patient has grade >= 1)
    assert re.search(
        r"maximum ICANS grade \(median [0-9.]+ \(ICANS\) vs 0 \(no ICANS\); p < 0\.001, Holm-adjusted p < 0\.001\)",
        text.table1_differences("icans"),
    )


def test_a_categorical_variable_takes_its_category_order_and_labels_from_the_registry(monkeypatch, study):
    sex = concepts.VARIABLES["sex"]
    _patch(monkeypatch, concepts.VARIABLES, "sex", categories=tuple(reversed(sex.categories)))
    comparison = compute_results(study).table1[("sex", "crs")]
    assert [c.category for c in comparison.levels[0].categories] == ["F", "M"]


def test_a_test_renamed_in_the_registry_changes_footnote_and_figure(monkeypatch, results):
    _patch(monkeypatch, concepts.TESTS, "mann_whitney", name="Wilcoxon rank-sum", footnote="Wilcoxon rank-sum test")
    assert "Wilcoxon rank-sum test" in tables.table1(results.table1).markdown
    strip = figures.peak_strip(results.kinetics_peak["crs"], results.kinetics_values("crs"))
    assert any(t.startswith("Wilcoxon rank-sum p") for t in _texts(strip))


def test_the_study_file_options_are_the_registry_options():
    fields = AnalysisOptions.model_fields
    assert set(fields) == set(concepts.OPTIONS)  # an option added to one must be added to the other
    for key, option in concepts.OPTIONS.items():
        assert fields[key].get_default(call_default_factory=True) == option.default
        assert fields[key].description == option.description
    assert AnalysisOptions().alpha == concepts.OPTIONS["alpha"].default == 0.05
    # a list default is the study's own copy: changing one study's list changes no other
    first = AnalysisOptions()
    first.covariates.append("sex")
    assert AnalysisOptions().covariates == list(concepts.BASELINE_COVARIATES)


def test_an_unknown_name_in_the_analysis_plan_lists_the_valid_ones():
    import pydantic

    for options, field, listed in (
        ({"covariates": ["age", "blasts"]}, "covariates", "bm_blasts_pct"),
        ({"covariate_cutoffs": {"sex": 1}}, "covariate_cutoffs", "bm_blasts_pct"),
        ({"exposure": "steroids"}, "exposure", "severity"),
        ({"primary_endpoint": "pfs"}, "primary_endpoint", "os, lfs"),
        ({"toxicity_grading": "carte"}, "toxicity_grading", "astct"),
    ):
        with pytest.raises(pydantic.ValidationError) as error:
            AnalysisOptions(**options)
        message = str(error.value)
        assert field in message and "the valid ones are" in message and listed in message, message
    # dates and identifiers are not covariates
    with pytest.raises(pydantic.ValidationError, match="unknown name 'infusion_date'"):
        AnalysisOptions(covariates=["infusion_date"])
    with pytest.raises(pydantic.ValidationError, match="named twice: age"):
        AnalysisOptions(covariates=["age", "age"])
    assert AnalysisOptions(covariates=[], sensitivity_landmark_day=None).covariates == []


def test_default_alpha_and_landmark_come_from_the_registry(monkeypatch, results):
    assert results.landmark_day == concepts.OPTIONS["landmark_day"].default
    assert {d.alpha for d in results.detectable_hr.values()} == {concepts.OPTIONS["alpha"].default}
    _patch(monkeypatch, concepts.OPTIONS, "alpha", default=0.5)
    assert Narrative(results).alpha == 0.5 and Narrative(results).alpha_level == "50%"


def test_no_kinetics_reason_is_one_sentence_everywhere():
    results = compute_results(load_study(STUDY[0], None, STUDY[2]))
    assert results.kinetics_reason == concepts.NO_KINETICS_REASON
    assert results.kinetics_peak["crs"].result.reason == concepts.NO_KINETICS_REASON
    assert results_to_dict(results)["kinetics"]["peak"]["crs"]["p_reason"] == concepts.NO_KINETICS_REASON
    text = Narrative(results)
    assert text.kinetics_reason == concepts.NO_KINETICS_REASON
    assert text.p("peak", by="crs") == f"not estimable ({concepts.NO_KINETICS_REASON})"


def test_the_software_list_is_shared_by_the_report_and_the_cache():
    from renderer.cache import PACKAGES

    listed = tables.software_table().markdown.replace("\\_", "_")
    for name in concepts.SOFTWARE:
        assert f"| {name} |" in listed
        assert name in PACKAGES


def _string_constants(path: Path):
    """(line, text) of every string literal of a module except docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_other_module_types_a_registry_word_again():
    # Whole labels, and the endpoint words also inside longer strings ("Overall survival (%)").
    whole = {concepts.NO_KINETICS_REASON}
    whole |= {v.label for v in concepts.VARIABLES.values()}
    whole |= {v.phrase for v in concepts.VARIABLES.values() if v.phrase != v.key}  # "age" is also the column
    whole |= {c.label for v in concepts.VARIABLES.values() for c in v.categories}
    whole |= {t.footnote for t in concepts.TESTS.values()} | {e.population for e in concepts.ENDPOINTS.values()}
    inside = {e.title for e in concepts.ENDPOINTS.values()} | {e.time_axis for e in concepts.ENDPOINTS.values()}
    inside |= {r.label for r in concepts.RESPONSES.values() if len(r.label) > 2}
    found = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        # mapping.py lists what registries call a column (synonyms to match), not our words
        if path.name in ("concepts.py", "mapping.py"):
            continue
        for line, text in _string_constants(path):
            if text in whole or any(word in text for word in inside):
                found.append(f"{path.name}:{line}: {text!r}")
    assert not found, "declared in analysis/registry/concepts.py; read it from there:\n" + "\n".join(found)
