"""Hostile study files and exports (issue 22): strict parsing, and `map` output that cannot
be hijacked by a value of the export.

Each case asserts the clear outcome: an error naming the line(s) and the reason, returned
at once (an alias bomb that would expand to 9^9 strings is refused before anything walks
it, in the study-file reader and in the renderer's cache key alike), or a proposed study
file whose keys are exactly those `map` meant to write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import cli
from analysis.inputs import yamlstrict
from analysis.inputs.mapping import MAP_TITLE, propose_mapping, study_file_text
from analysis.inputs.studyfile import StudyFileError, read_study_file, resolve_study
from renderer import cache

ROOT = Path(__file__).resolve().parents[1]

#: 342 bytes; with PyYAML's safe_load every reader that walks the result visits 9^9
#: (387 million) strings.
ALIAS_BOMB = (
    "\n".join(
        [f"a: &a [{','.join(['lol'] * 9)}]"]
        + [f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
    )
    + "\n"
)

#: (name, study-file text, words the error must contain)
HOSTILE = [
    (
        "duplicate top-level key",
        "title: Mine\nanalysis:\n  alpha: 0.05\ntitle: Theirs\n",
        ["duplicate key 'title'", "line 1", "line 4"],
    ),
    (
        "duplicate option",
        "analysis:\n  alpha: 0.05\n  landmark_day: 30\n  alpha: 0.2\n",
        ["duplicate key 'alpha'", "line 2", "line 4"],
    ),
    (
        "duplicate after YAML's booleans",
        "values:\n  steroids:\n    yes: true\n    true: false\n",
        ["duplicate key: 'yes' and 'true' (line 3 and line 4) are the same key for YAML (True;"],
    ),
    ("alias bomb", ALIAS_BOMB, ["anchor (&a)", "line 1"]),
    ("alias", "title: &t Mine\nsubtitle: *t\n", ["anchor (&t)", "line 1"]),
    ("merge key", "product:\n  target: CD19\n  <<: {vector: lentiviral}\n", ["merge key (<<)", "line 3"]),
    ("20,000 levels deep", "title: " + "[" * 20_000 + "]" * 20_000 + "\n", ["nested more than 32 levels"]),
    (
        "deep block mapping",
        "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "x: 1\n",
        ["nested more than 32 levels", "line 32"],
    ),
    # attack 27: strptime compiles a format into a regular expression; a directive written twice was a
    # re.error traceback from validate, results and the render
    (
        "a date format naming a directive twice",
        'title: Mine\ndate_format: "%d/%m/%Y %d"\n',
        ["date_format: '%d/%m/%Y %d' names a directive twice (%d twice) (line 2)"],
    ),
    (
        "a date format naming two directives twice",
        'date_format: "%d.%m.%Y %m %Y %Y"\n',
        ["names a directive twice (%m twice, %Y 3 times) (line 1)"],
    ),
    (
        "a date format with a directive strptime does not know",
        'title: Mine\n\ndate_format: "%d/%m/%Y %Q"\n',
        ["date_format: '%d/%m/%Y %Q' is not a date format strptime can read", "bad directive", "(line 3)"],
    ),
    ("a date format ending in a lone %", 'date_format: "%d/%m/%Y %"\n', ["stray %", "(line 1)"]),
    (
        "a problem in a nested key names its line",
        "title: Mine\nanalysis:\n  alpha: 0.05\n  landmark_day: -3\n",
        ["analysis.landmark_day: ", "(line 4)"],
    ),
    (
        "over a megabyte",
        "values:\n  sex:\n" + "".join(f"    v{i}: M\n" for i in range(100_001)),
        ["larger than 1,000,000 bytes"],
    ),
]


@pytest.mark.parametrize("name,text,words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_study_file_is_refused_with_its_lines(tmp_path, name, text, words):
    study = tmp_path / "study.yml"
    study.write_text(text, encoding="utf-8")
    with pytest.raises(StudyFileError) as err:
        read_study_file(study)
    message = str(err.value)
    assert message.startswith(f"{study}: ")
    for word in words:
        assert word in message, (word, message)


def test_a_study_file_larger_than_the_limit_is_not_read_whole(tmp_path):
    study = tmp_path / "study.yml"
    study.write_bytes(b"title: x\n" + b"# padding\n" * (yamlstrict.MAX_BYTES // 10 + 1))
    with pytest.raises(StudyFileError, match=r"larger than 1,000,000 bytes"):
        read_study_file(study)
    # a device never ends: it is refused before it is opened (tests/test_hostile_paths.py)
    with pytest.raises(OSError, match="it is a device, not a file"):
        yamlstrict.read_limited("/dev/zero", limit=10)


@pytest.mark.slow  # parses a study file at the node limit: seconds
def test_node_count_is_limited():
    text = "- 1\n" * (yamlstrict.MAX_NODES + 1)
    assert len(text.encode()) < yamlstrict.MAX_BYTES
    with pytest.raises(yamlstrict.StrictYAMLError, match="more than 100,000 values"):
        yamlstrict.load(text)


def test_validate_refuses_a_date_format_naming_a_directive_twice(tmp_path, capsys):
    """Attack 27: "%d/%m/%Y %d" ended validate in a Python traceback (re.error)."""
    study = tmp_path / "study.yml"
    study.write_text(
        f'data:\n  cohort: {ROOT / "data" / "cohort.csv"}\n  cutoff: 2023-03-01\ndate_format: "%d/%m/%Y %d"\n',
        encoding="utf-8",
    )
    assert cli.main(["validate", "--study", str(study)]) == 1
    err = capsys.readouterr().err
    assert "date_format: '%d/%m/%Y %d' names a directive twice (%d twice) (line 4)" in err
    assert "Traceback" not in err and "re.error" not in err


def test_validate_says_which_lines_collide_instead_of_ok(tmp_path, capsys):
    """Issue 22's finding: `alpha` silently went from 0.05 to 0.2 and validate said OK."""
    study = tmp_path / "study.yml"
    study.write_text(
        f"data:\n  cohort: {ROOT / 'data' / 'cohort.csv'}\n  cutoff: 2023-03-01\n"
        "analysis:\n  alpha: 0.05\nanalysis:\n  alpha: 0.2\n",
        encoding="utf-8",
    )
    assert cli.main(["validate", "--study", str(study)]) == 1
    err = capsys.readouterr().err
    assert "duplicate key 'analysis' on line 4 and line 6" in err


def test_ordinary_study_files_still_read():
    example = read_study_file(ROOT / "study.example.yml")
    assert example.model.title
    # YAML's own scalars keep their meaning: dates, numbers, lists of affiliations
    assert yamlstrict.load("d: 2023-03-01\nn: 0.05\nl: [a, b]\n") == {
        "d": yaml.safe_load("2023-03-01"),
        "n": 0.05,
        "l": ["a", "b"],
    }


def test_the_cache_key_does_not_expand_an_alias_bomb(tmp_path):
    """The renderer hashes every *.yml of the project root and the files it names: the
    bomb's bytes are in the key, its 9^9 strings are never walked."""
    (tmp_path / "bomb.yml").write_text(ALIAS_BOMB)
    (tmp_path / "study.yml").write_text("data:\n  cohort: data.csv\n")
    (tmp_path / "data.csv").write_text("a\n1\n")
    found = cache.config_files({}, tmp_path)
    assert set(found) == {str(tmp_path / "bomb.yml"), str(tmp_path / "study.yml"), str(tmp_path / "data.csv")}
    assert found[str(tmp_path / "bomb.yml")] == cache.file_digest(tmp_path / "bomb.yml")


def test_a_huge_yml_is_hashed_not_parsed(tmp_path):
    (tmp_path / "huge.yml").write_bytes(b"k: [" + b"1," * 2_000_000 + b"1]\n")
    found = cache.config_files({}, tmp_path)
    assert list(found) == [str(tmp_path / "huge.yml")]


# --------------------------------------------------------------------------- map

#: Cells a registry export can hold (an Alt+Enter line break in Excel, a crafted value).
INJECTED = {
    "crs_grade": "odd\ntitle: PWNED\ncolumns:\n  patient_id: center",
    "sex": "X\r\ndata:\n  cutoff: 1999-01-01",
    "steroids": "maybe\u2028analysis:\u2028  alpha: 0.9",
}


def _hostile_export(folder: Path) -> Path:
    frame = pd.read_csv(ROOT / "data" / "cohort.csv", comment="#", dtype=str, keep_default_na=False)
    frame = frame.rename(
        columns={"crs_grade": "CRS grade", "sex": "Gender", "steroids": "Steroids given", "ph_positive": "Ph\npositive"}
    )
    frame.loc[0, "CRS grade"] = "Grade 2"
    frame.loc[1, "CRS grade"] = INJECTED["crs_grade"]
    frame.loc[2, "Gender"] = INJECTED["sex"]
    frame.loc[3, "Steroids given"] = "Yes"
    frame.loc[4, "Steroids given"] = INJECTED["steroids"]
    path = folder / "export.csv"
    frame.to_csv(path, index=False)
    return path


def test_map_echoes_export_values_without_letting_them_become_keys(tmp_path):
    export = _hostile_export(tmp_path)
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    text = study.read_text(encoding="utf-8")
    parsed = yamlstrict.load(text)  # strict: an injected duplicate key would fail here
    assert parsed["title"] == MAP_TITLE
    assert set(parsed) == {
        "title",
        "authors",
        "date",
        "data",
        "columns",
        "values",
        "product",
        "declarations",
        "screening",
        "analysis",
    }
    assert parsed["data"]["cutoff"] is None
    assert (
        parsed["analysis"]["alpha"] == 0.05 and parsed["analysis"]["landmark_day"] == 30
    )  # the defaults, not injected
    assert "patient_id" not in parsed["columns"]
    # the values are in the comments, escaped onto one line
    assert "not recognised: odd\\ntitle: PWNED\\ncolumns:\\n  patient_id: center" in text
    assert "X\\r\\ndata:\\n  cutoff: 1999-01-01" in text
    # the header with a line break is mapped as written (a quoted scalar), not split
    assert parsed["columns"]["ph_positive"] == "Ph\npositive"
    for line in text.splitlines():
        assert "\u2028" not in line and "\r" not in line


def test_the_proposed_file_is_read_back_before_it_is_written(tmp_path, monkeypatch):
    export = _hostile_export(tmp_path)
    proposal = propose_mapping(export)
    target = tmp_path / "study.yml"
    assert yamlstrict.load(study_file_text(proposal, target))["columns"]["sex"] == "Gender"
    # a writer that lets a line break through is caught by the read-back, and nothing is written
    from analysis.inputs import mapping

    monkeypatch.setattr(mapping.yamlstrict, "comment", lambda text: str(text))
    with pytest.raises(mapping.MappingOutputError, match="nothing was written"):
        study_file_text(proposal, target)
    assert cli.main(["map", str(export), "-o", str(target)]) == 1
    assert not target.exists()


def test_a_mapped_hostile_export_still_validates(tmp_path):
    """The proposed file is a valid study file (once the cut-off is set)."""
    export = _hostile_export(tmp_path)
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    text = study.read_text(encoding="utf-8").replace("  cutoff:   #", "  cutoff: 2023-03-01  #")
    study.write_text(text, encoding="utf-8")
    settings = resolve_study(study)
    assert settings.title == MAP_TITLE and settings.analysis.alpha == 0.05


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "a\nb: 1",
        "x\u2028y\u2029z\x85",
        "tab\there",
        "#not a comment",
        "'quoted'",
        '"dq"',
        "back\\slash",
        "yes",
        "1",
        "",
        " lead",
        "é—ü",
        "\x07bell",
        None,
        1,
        2.5,
        True,
    ],
)
def test_a_scalar_reads_back_as_itself_on_one_line(value):
    text = yamlstrict.scalar(value)
    assert "\n" not in text and "\r" not in text and "\u2028" not in text
    assert yamlstrict.load(f"key: {text}  # comment\n") == {"key": value}


def test_a_comment_stays_one_comment():
    line = "# " + yamlstrict.comment("a\nb: 1\rc: 2\u2028d: 3\x85e\x00f")
    assert yamlstrict.load(f"x: 1\n{line}\n") == {"x": 1}


# --------------------------------------------------------------------------- a mapped header the export lacks


def _renamed_export(tmp_path, old: str, new: str) -> Path:
    lines = (ROOT / "data" / "cohort.csv").read_text().splitlines(keepends=True)
    lines = [line for line in lines if not line.startswith("#")]
    lines[0] = lines[0].replace(old, new)
    path = tmp_path / "cohort.csv"
    path.write_text("".join(lines))
    return path


def _load_mapped(cohort: Path, columns: dict, not_collected=()):
    from analysis.inputs.loading import load_study
    from analysis.inputs.readers import ColumnMapping

    return load_study(
        cohort, None, cutoff="2023-03-01", mapping=ColumnMapping(columns=columns), not_collected=not_collected
    )


def test_a_mapped_optional_header_the_export_lacks_is_an_error_not_not_collected(tmp_path):
    """Second attack: `columns: mrd_negative: "MRD negative"` and next month's export says
    "MRD neg (flow)": MRD-negative CR vanished from the report ('not collected'), validate OK."""
    from analysis.inputs.loading import InputError

    cohort = _renamed_export(tmp_path, "mrd_negative", "MRD neg (flow)")
    with pytest.raises(InputError) as info:
        _load_mapped(cohort, {"seizure": "seizure", "mrd_negative": "MRD negative"})
    (violation,) = info.value.violations
    assert violation.column == "mrd_negative" and violation.value == "MRD negative"
    assert "maps mrd_negative to the header 'MRD negative', which the export does not have" in violation.rule
    assert "did you mean 'MRD neg (flow)'?" in violation.rule
    # the same file, mapped right, reads MRD; declared not collected, it is not an error
    assert _load_mapped(cohort, {"mrd_negative": "MRD neg (flow)"}).cohort["mrd_negative"].notna().any()
    assert "mrd_negative" in _load_mapped(cohort, {"mrd_negative": "MRD negative"}, ["mrd_negative"]).not_collected


def test_a_mapped_required_header_the_export_lacks_is_said_once_with_the_header(tmp_path):
    from analysis.inputs.loading import InputError

    cohort = _renamed_export(tmp_path, "age", "Age at infusion")
    with pytest.raises(InputError) as info:
        _load_mapped(cohort, {"age": "Age (years)"})
    header = [v for v in info.value.violations if v.row is None]
    assert [(v.column, v.value) for v in header] == [("age", "Age (years)")]
    assert "did you mean 'Age at infusion'?" in header[0].rule


def test_validate_says_the_mapped_header_is_missing(tmp_path, capsys):
    cohort = _renamed_export(tmp_path, "mrd_negative", "MRD neg (flow)")
    study = tmp_path / "study.yml"
    study.write_text('data:\n  cohort: cohort.csv\n  cutoff: 2023-03-01\ncolumns:\n  mrd_negative: "MRD negative"\n')
    assert cli.main(["validate", "--study", str(study)]) != 0
    out = capsys.readouterr()
    assert "which the export does not have (did you mean 'MRD neg (flow)'?)" in out.out + out.err
    assert cohort.exists()


# --------------------------------------------------------------------------- numbers that are no numbers

NOT_FINITE = [".nan", ".NaN", ".inf", "-.inf", "+.inf", "1e400", "-1e400", '"nan"', '"Infinity"', '"-inf"']


def _numeric_options():
    """Every number a study file's `analysis:` section takes, as a line writing VALUE there."""
    from analysis.registry.concepts import OPTIONS

    for key, option in OPTIONS.items():
        default = option.default
        if isinstance(default, bool):
            continue
        if isinstance(default, int | float):
            yield key, f"  {key}: VALUE"
        elif isinstance(default, dict) and default and all(isinstance(v, int | float) for v in default.values()):
            name = next(iter(default))
            yield key, f"  {key}: {{{name}: VALUE}}"


def test_every_numeric_option_is_covered():
    assert {k for k, _ in _numeric_options()} >= {
        "alpha",
        "covariate_cutoffs",
        "landmark_day",
        "sensitivity_landmark_day",
        "mrd_threshold_pct",
        "min_cell_size",
        "visit_windows",
    }


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(("key", "line"), list(_numeric_options()))
def test_a_number_that_is_nan_or_infinite_is_a_study_file_error_naming_the_line(tmp_path, key, line, value):
    """Second attack: `covariate_cutoffs: {age: .nan}` passed validate; the manuscript said
    'age (>=nan years versus <nan years)', the models silently lost age, and `results` died
    in a traceback (NaN is no JSON)."""
    study = tmp_path / "study.yml"
    study.write_text("title: x\nanalysis:\n" + line.replace("VALUE", value) + "\n")
    with pytest.raises(StudyFileError) as info:
        read_study_file(study)
    message = str(info.value)
    assert f"analysis.{key}" in message and "(line 3)" in message, message
    if key in ("alpha", "covariate_cutoffs", "mrd_threshold_pct"):  # numbers with a fraction
        assert "finite number" in message, message  # (a whole-number option says 'valid integer')


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_a_nan_anywhere_in_a_study_file_is_refused(tmp_path, value):
    study = tmp_path / "study.yml"
    study.write_text(f'title: x\nvalues:\n  sex:\n    "1": M\n    "2": {value}\n')
    with pytest.raises(StudyFileError, match=r"values\.sex\.2: .* is not a finite number .*\(line 5\)"):
        read_study_file(study)


def test_results_refuses_a_nan_cutoff_without_a_traceback(tmp_path, capsys):
    study = tmp_path / "study.yml"
    study.write_text(
        f"data:\n  cohort: {ROOT / 'data' / 'cohort.csv'}\n  cutoff: 2023-03-01\nanalysis:\n  covariate_cutoffs: {{age: .nan}}\n"
    )
    assert cli.main(["results", "--study", str(study)]) != 0
    out = capsys.readouterr()
    assert "analysis.covariate_cutoffs.age" in out.err + out.out and "finite number" in out.err + out.out


# --------------------------------------------------------------------------- a real export at the demo's path


@pytest.fixture
def demo_path(tmp_path, monkeypatch):
    """A project whose bundled demo lives at tmp/data/cohort.csv (the real one is not touched)."""
    from analysis.inputs import studyfile

    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "cohort.csv"
    monkeypatch.setattr(studyfile, "DEMO_COHORT", path)
    monkeypatch.setattr(studyfile, "DEMO_KINETICS", tmp_path / "data" / "kinetics.csv")
    return path


def test_a_real_export_saved_over_the_demo_is_not_the_demo(demo_path, tmp_path):
    """Second attack: a team's export (no synthetic marker line) copied to data/cohort.csv got
    the demo's cut-off silently, its title, and 'synthetic data ... describe no patient'
    in Methods and Declarations."""
    lines = (ROOT / "data" / "cohort.csv").read_text().splitlines(keepends=True)
    assert lines[0].startswith("# SYNTHETIC")
    demo_path.write_text("".join(lines[1:]))  # the team's own export: no marker line
    with pytest.raises(StudyFileError, match="no data cut-off for .*data/cohort.csv"):
        resolve_study(None, base=tmp_path)
    settings = resolve_study(None, cutoff="2023-06-30", base=tmp_path)
    assert not settings.is_demo
    assert "synthetic" not in (settings.title + (settings.subtitle or "")).lower()
    assert settings.declarations.ethics is None or "synthetic" not in settings.declarations.ethics


def test_the_bundled_demo_with_its_marker_is_still_the_demo(demo_path, tmp_path):
    from analysis.inputs.studyfile import DEMO_CUTOFF, DEMO_TITLE

    shutil.copy(ROOT / "data" / "cohort.csv", demo_path)
    settings = resolve_study(None, base=tmp_path)
    assert settings.is_demo and settings.title == DEMO_TITLE
    assert settings.cutoff.isoformat() == DEMO_CUTOFF and settings.origins["cutoff"] == "bundled demo"


# --------------------------------------------------------------------------- attack 30, finding 8
# One reason of 190,000 words (a 950 KB study file, under the 1 MB limit) made the flow figure a
# 1340 x 815,454-pixel PNG: 9 GB of memory, 8 minutes and a 308 MB HTML.


def _screening_file(tmp_path, entries: str) -> Path:
    study = tmp_path / "study.yml"
    study.write_text("screening:\n  excluded:\n" + entries, encoding="utf-8")
    return study


def test_a_reason_longer_than_the_limit_is_a_study_file_error(tmp_path):
    from analysis.inputs.studyfile import MAX_REASON_CHARS

    long = "x " * 10_000
    study = _screening_file(tmp_path, f'    - reason: "{long}"\n      count: 1\n')
    with pytest.raises(StudyFileError) as err:
        read_study_file(study)
    message = str(err.value)
    assert f"at most {MAX_REASON_CHARS:,} characters" in message and "screening" in message, message
    # a reason at the limit is read
    ok = _screening_file(tmp_path, f'    - reason: "{"y" * MAX_REASON_CHARS}"\n      count: 1\n')
    assert read_study_file(ok).model.screening.excluded[0].reason == "y" * MAX_REASON_CHARS


def test_more_reasons_than_the_limit_is_a_study_file_error(tmp_path):
    from analysis.inputs.studyfile import MAX_EXCLUSION_REASONS

    many = "".join(f'    - {{reason: "reason {i}", count: 1}}\n' for i in range(MAX_EXCLUSION_REASONS + 1))
    with pytest.raises(StudyFileError) as err:
        read_study_file(_screening_file(tmp_path, many))
    assert f"at most {MAX_EXCLUSION_REASONS} may be listed" in str(err.value), str(err.value)
    enough = "".join(f'    - {{reason: "reason {i}", count: 1}}\n' for i in range(MAX_EXCLUSION_REASONS))
    assert len(read_study_file(_screening_file(tmp_path, enough)).model.screening.excluded) == MAX_EXCLUSION_REASONS


def test_the_limits_are_documented():
    from analysis.inputs.studyfile import MAX_EXCLUSION_REASONS, MAX_REASON_CHARS

    for doc in ("study.example.yml", "README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert f"{MAX_EXCLUSION_REASONS} reasons" in text and f"{MAX_REASON_CHARS:,} characters" in text, doc


def test_the_flow_figure_height_is_bounded_whatever_the_reasons(bundled_results):
    """Even past the study file's limits (a CohortFlow built in code), the figure stays small."""
    import dataclasses

    from analysis.inputs.screening import Excluded
    from analysis.report import figures

    flow = bundled_results.cohort_flow
    short = dataclasses.replace(flow, excluded=(Excluded("consent withdrawn", 1, False),), screened=flow.infused + 1)
    huge = dataclasses.replace(
        flow,
        excluded=(Excluded("word " * 40_000, 1, False), *(Excluded("r" * 150 + f" {i}", 1, False) for i in range(400))),
        screened=flow.infused + 401,
    )
    small_h = figures.flow_diagram(short).get_size_inches()[1]
    huge_fig = figures.flow_diagram(huge)
    huge_h = huge_fig.get_size_inches()[1]
    assert huge_h < 12, huge_h  # was about 11,000 inches
    assert small_h <= huge_h
    texts = [t.get_text() for t in huge_fig.axes[0].texts]
    excluded_box = next(t for t in texts if t.startswith("Excluded"))
    assert excluded_box.startswith("Excluded\nn = 401")
    assert len(excluded_box.splitlines()) <= figures.FLOW_EXCLUDED_LINES + 2
    assert "other reasons: " in excluded_box  # the rest summed, the total still adds up
    assert max(len(line) for line in excluded_box.splitlines()) < 50


# --------------------------------------------------------------------------- attack 30, finding 6


@pytest.mark.parametrize("value", ["1e-300", "0.0009", "0.25", "0.49"])
def test_an_alpha_outside_the_range_is_a_study_file_error(tmp_path, value):
    """alpha 1e-300 printed "at the 1e-298% level"."""
    from analysis.registry.concepts import ALPHA_RANGE

    study = tmp_path / "study.yml"
    study.write_text(f"analysis:\n  alpha: {value}\n", encoding="utf-8")
    with pytest.raises(StudyFileError) as err:
        read_study_file(study)
    message = str(err.value)
    assert f"is outside {ALPHA_RANGE[0]:g} to {ALPHA_RANGE[1]:g}" in message and "(line 2)" in message, message


@pytest.mark.parametrize("value", ["0.001", "0.01", "0.05", "0.2"])
def test_an_alpha_inside_the_range_reads_and_prints_as_a_plain_percentage(tmp_path, value, bundled_results):
    from analysis.report.narrative import Narrative

    study = tmp_path / "study.yml"
    study.write_text(f"analysis:\n  alpha: {value}\n", encoding="utf-8")
    assert read_study_file(study).model.analysis.alpha == float(value)
    settings = resolve_study(study)
    level = Narrative(bundled_results, settings).alpha_level
    assert "e" not in level and level.endswith("%"), level


def test_the_survival_p_and_ci_note_names_no_fixed_level():
    """It said "near p = 0.05" whatever the study's alpha."""
    from analysis.registry.concepts import SURVIVAL_P_AND_CI

    assert "0.05" not in SURVIVAL_P_AND_CI and "significance level" in SURVIVAL_P_AND_CI


# --------------------------------------------------------------------------- attack 30, finding 9


def test_the_proposed_study_file_holds_no_individual_date(tmp_path):
    """`map` wrote "(the latest date in the export is 2023-03-01)": one patient's date, in a
    file teams commit and share. Month and year only."""
    import re

    export = tmp_path / "cohort.csv"
    shutil.copy(ROOT / "tests" / "bad_inputs" / "valid_cohort.csv", export)
    proposal = propose_mapping(export)
    assert proposal.latest_date is not None
    text = study_file_text(proposal, tmp_path / "study.yml")
    cells = pd.read_csv(export, dtype=str, keep_default_na=False, comment="#")
    dates = {v for c in cells.columns if c.endswith("_date") for v in cells[c] if v}
    assert dates and not [d for d in dates if d in text]
    import datetime as dt

    found = set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text)) - {dt.date.today().isoformat()}  # the day of `map`
    assert not found, found
    assert f"latest date is in {proposal.latest_date:%B %Y}" in text
