"""Privacy and safety of everything the report writes (issue 5).

* No patient identifier and no individual date (infusion, CR, relapse, death, last
  follow-up) reaches the html, the pdf text, the docx XML or the results JSON, in ISO
  form or in the other ways a date is commonly written. The data cut-off is a study
  parameter and may be printed.
* Text from the data is escaped in HTML: a center called ``<script>alert(1)</script>``
  never becomes a script (and center names are not printed at all).
* Data files are read as data: spreadsheet formulas and Python expressions in cells
  load as text or are rejected, a pickle renamed to .csv is rejected, and nothing in a
  data file is ever executed or unpickled.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    COHORT,
    KINETICS,
    ROOT,
    Rendered,
    background_render,
    html_text,
    read_cohort_text,
    register_render,
    report_parameter,
    write_cohort_text,
)

from analysis.inputs.loading import InputError, load_study
from analysis.report.export import results_to_json
from analysis.report.results import compute_results

DATE_COLUMNS = ("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date")
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


def _python_payload(sentinel) -> str:
    return f"__import__('os').system('touch {sentinel}')"


def _cohort_frame() -> pd.DataFrame:
    return read_cohort_text(COHORT)[1]


def _patient_ids() -> list[str]:
    ids = _cohort_frame()["patient_id"].tolist()
    assert len(ids) == len(set(ids)) > 50
    return ids


def date_renderings(d: dt.date) -> set[str]:
    """The ways a reader, a locale or a library commonly prints one date."""
    day, month, year = d.day, d.month, d.year
    full, abbr = d.strftime("%B"), d.strftime("%b")
    return {
        d.isoformat(),
        f"{year}/{month:02d}/{day:02d}",
        f"{year}{month:02d}{day:02d}",
        f"{day:02d}/{month:02d}/{year}",
        f"{month:02d}/{day:02d}/{year}",
        f"{day}/{month}/{year}",
        f"{month}/{day}/{year}",
        f"{day:02d}.{month:02d}.{year}",
        f"{day}.{month}.{year}",
        f"{day:02d}-{month:02d}-{year}",
        f"{day}-{abbr}-{year}",
        f"{day:02d}-{abbr}-{year}",
        f"{day} {full} {year}",
        f"{day} {abbr} {year}",
        f"{full} {day}, {year}",
        f"{abbr} {day}, {year}",
        f"{day:02d} {full} {year}",
        f"{abbr}. {day}, {year}",
        f"{d:%a}, {day} {abbr} {year}",
    }


def _individual_dates() -> set[dt.date]:
    cutoff = dt.date.fromisoformat(report_parameter("cutoff"))
    frame = _cohort_frame()
    dates = {dt.date.fromisoformat(v) for c in DATE_COLUMNS for v in frame[c] if v}
    assert len(dates) > 100
    return dates - {cutoff}


#: Anything shaped like a date (ISO, compact, numeric d/m/y in either order, day-month-year
#: and month-day-year with month names); the matches are then looked up among the patients' dates.
DATE_LIKE = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{4}[-/]\d{2}[-/]\d{2}|\d{8}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}"
    r"|(?:[A-Z][a-z]{2}, )?\d{1,2}[ -][A-Z][a-z]+[ -]\d{4}|[A-Z][a-z]+\.? \d{1,2}, \d{4})(?![0-9])"
)


class _DateMatcher:
    def __init__(self, dates: set[dt.date]):
        self.forms = {r for d in dates for r in date_renderings(d)}

    def finditer(self, text: str):
        return (m for m in DATE_LIKE.finditer(text) if m.group(0) in self.forms)

    def search(self, text: str):
        return next(self.finditer(text), None)


def _date_pattern() -> _DateMatcher:
    return _DateMatcher(_individual_dates())


def _leaks(text: str, ids: list[str], dates: _DateMatcher) -> list[str]:
    # every identifier in one pass (one scan of a 600 kB page instead of ninety-three): the
    # text holds a match exactly when it holds an identifier standing alone, as each searched
    # on its own (the longest first, so that an identifier is not cut to a shorter one)
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    found = sorted({m.group(0) for m in re.finditer(rf"(?<![\w-])(?:{alternatives})(?![\w-])", text)})
    found += sorted({m.group(0) for m in dates.finditer(text)})
    return found


def test_date_renderings_are_recognised():
    """The date matcher itself: finds every form of a patient's date, ignores the cut-off."""
    pattern = _date_pattern()
    some = sorted(_individual_dates())[0]
    for form in date_renderings(some):
        assert pattern.search(f"seen on {form}."), form
    cutoff = dt.date.fromisoformat(report_parameter("cutoff"))
    # (day/month forms of the cut-off may read as another patient's month/day: not checked)
    assert not pattern.search(
        f"{cutoff.isoformat()}, {cutoff.day} {cutoff:%B %Y}, {cutoff:%B} {cutoff.day}, {cutoff.year}"
    )
    assert not pattern.search(f"1{some.isoformat()}0")


@pytest.mark.parametrize("document", ["report", "supplement"])
@pytest.mark.parametrize("part", ["html markup", "html text", "pdf text", "pdf metadata", "docx xml"])
def test_no_identifier_or_individual_date_in_the_rendered_report(bundled_render: Rendered, part, document):
    ids, dates = _patient_ids(), _date_pattern()
    if document == "supplement":
        bundled_render = bundled_render.supplement
    if part == "pdf metadata":
        from pypdf import PdfReader

        text = repr(dict(PdfReader(str(bundled_render.pdf)).metadata or {}))
    else:
        text = {
            "html markup": bundled_render.html_markup,
            "html text": bundled_render.html_text,
            "pdf text": bundled_render.pdf_text,
            "docx xml": bundled_render.docx_xml,
        }[part]
    assert len(text) > 100 or part == "pdf metadata"
    assert not _leaks(text, ids, dates), f"{part} leaks: {_leaks(text, ids, dates)[:10]}"
    # the cut-off is a study parameter: printed, and not mistaken for a patient's date
    if part in ("html text", "pdf text"):
        cutoff = dt.date.fromisoformat(report_parameter("cutoff"))
        assert f"{cutoff:%B %Y}" in text  # month and year: the setting prints no day (review 28)


@pytest.mark.parametrize("document", ["report", "supplement"])
def test_no_local_path_in_any_output_metadata(bundled_render: Rendered, document):
    """Attack 30 (7): every DOCX carried ``csl = /home/<user>/<project>/vancouver.csl`` as a
    custom document property (Word: File > Properties > Custom). No absolute path of the
    project (nor its folder's name) in the DOCX properties, the PDF's information dictionary
    or the HTML's head."""
    import re
    import zipfile

    from pypdf import PdfReader

    if document == "supplement":
        bundled_render = bundled_render.supplement
    with zipfile.ZipFile(bundled_render.docx) as z:
        props = "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("docProps/"))
    pdf_info = repr(dict(PdfReader(str(bundled_render.pdf)).metadata or {}))
    head = bundled_render.html.read_text(encoding="utf-8").split("</head>", 1)[0]
    head = re.sub(r"<style.*?</style>|<script.*?</script>", "", head, flags=re.S)
    assert 'name="csl"' in props or "csl" not in props  # the property may stay, with no path
    for part, text in (("docx properties", props), ("pdf metadata", pdf_info), ("html head", head)):
        for path in {str(ROOT), str(bundled_render.out_dir), str(Path.home())}:
            assert path not in text, (part, path)
        assert not re.search(r"(?<![\w.])/(?:home|tmp|work|Users|root)/", text), (part, text[:2000])


def test_the_metadata_given_to_pandoc_names_no_local_path(tmp_path):
    """The citation style and bibliography reach Pandoc as copies in its working folder,
    named relative to it (attack 30 (7): the DOCX kept ``csl`` as a custom property)."""
    from renderer import pandoc

    meta = pandoc.metadata({"title": "T"}, [ROOT / "references.bib"], ROOT / "vancouver.csl", tmp_path)
    assert meta["csl"] == "citations/style.csl" and meta["bibliography"] == ["citations/bibliography-0.bib"]
    assert (tmp_path / meta["csl"]).read_bytes() == (ROOT / "vancouver.csl").read_bytes()
    assert (tmp_path / meta["bibliography"][0]).read_bytes() == (ROOT / "references.bib").read_bytes()
    assert str(ROOT) not in repr(meta) and str(tmp_path) not in repr(meta)


def test_no_identifier_or_individual_date_in_the_results_json(bundled_results):
    text = results_to_json(bundled_results)
    assert not _leaks(text, _patient_ids(), _date_pattern())
    # the per-patient kinetics kept for the figures carry no identifier either
    assert "patient_id" not in bundled_results.kinetics_patients.columns
    assert not bundled_results.kinetics_patients.index.astype(str).isin(_patient_ids()).any()
    assert report_parameter("cutoff") in text  # the parameter itself is exported


# --------------------------------------------------------------------------- hostile text in cells


def _hostile_cohort(directory) -> dict:
    """The bundled cohort with its centers renamed to a script tag, a spreadsheet formula and
    a Python expression that would create a file if it were ever evaluated; rendered to html."""
    header, frame = read_cohort_text(COHORT)
    names = sorted(frame["center"].unique())
    rename = dict(zip(names, [SCRIPT, FORMULA, _python_payload(directory / "executed")]))
    frame["center"] = frame["center"].map(lambda c: rename.get(c, c))
    path = write_cohort_text(directory / "cohort.csv", header, frame)
    return {"cohort": path, "kinetics": KINETICS, "to": "html"}


register_render("hostile", ("test_privacy",), _hostile_cohort)


@pytest.fixture(scope="module")
def hostile():
    proc, out = background_render("hostile")
    names = sorted(_cohort_frame()["center"].unique())
    sentinel = out.parent / "executed"
    rename = dict(zip(names, [SCRIPT, FORMULA, _python_payload(sentinel)]))
    return {
        "path": out.parent / "cohort.csv",
        "sentinel": sentinel,
        "proc": proc,
        "out": out,
        "rename": rename,
        "n_centers": len(names),
    }


def test_script_in_a_center_name_is_never_a_script(hostile):
    assert hostile["proc"].returncode == 0, hostile["proc"].stderr[-2000:]
    html = (hostile["out"] / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html.replace(" ", "").lower()
    text = html_text(hostile["out"] / "report.html")
    # center names are not printed at all (only their number)
    for name in hostile["rename"].values():
        assert name not in text
    assert "alert(1)" not in text and "=cmd|" not in text and "__import__" not in text
    assert not hostile["sentinel"].exists()


def test_hostile_cells_load_as_text_and_are_counted(hostile):
    study = load_study(hostile["path"], KINETICS, report_parameter("cutoff"))
    assert set(hostile["rename"].values()) <= set(study.cohort["center"])
    results = compute_results(study)
    assert results.counts["n_centers"] == hostile["n_centers"]
    assert SCRIPT not in results_to_json(results) and FORMULA not in results_to_json(results)
    assert not hostile["sentinel"].exists()


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data file was unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(pd, "read_pickle", refuse)


@pytest.mark.parametrize("column", ["age", "bm_blasts_pct", "infusion_date", "crs_grade", "cr_day30"])
@pytest.mark.parametrize("payload", ["formula", "python"])
def test_executable_text_in_a_typed_cell_is_rejected(tmp_path, no_unpickling, column, payload):
    sentinel = tmp_path / "executed"
    value = FORMULA if payload == "formula" else _python_payload(sentinel)
    header, frame = read_cohort_text(COHORT)
    frame.loc[3, column] = value
    path = write_cohort_text(tmp_path / "cohort.csv", header, frame)
    with pytest.raises(InputError) as err:
        load_study(path, KINETICS, report_parameter("cutoff"))
    assert any(v.column == column for v in err.value.violations), err.value.format()
    assert not sentinel.exists()


def test_executable_text_in_kinetics_is_rejected(tmp_path, no_unpickling):
    sentinel = tmp_path / "executed"
    lines = KINETICS.read_text(encoding="utf-8").splitlines()
    data_row = next(i for i, line in enumerate(lines) if line.startswith(_patient_ids()[0][:3]))
    cells = lines[data_row].split(",")
    cells[2] = f'"{_python_payload(sentinel)}"'
    lines[data_row] = ",".join(cells)
    path = tmp_path / "kinetics.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_study(COHORT, path, report_parameter("cutoff"))
    assert not sentinel.exists()


def test_executable_text_in_a_text_cell_loads_verbatim(tmp_path, no_unpickling):
    sentinel = tmp_path / "executed"
    header, frame = read_cohort_text(COHORT)
    frame.loc[0, "center"] = FORMULA
    frame.loc[1, "center"] = _python_payload(sentinel)
    frame.loc[2, "patient_id"] = _python_payload(sentinel).replace("touch", "touch -c")
    path = write_cohort_text(tmp_path / "cohort.csv", header, frame)
    study = load_study(path, None, report_parameter("cutoff"))
    assert study.cohort.loc[0, "center"] == FORMULA
    assert study.cohort.loc[1, "center"] == _python_payload(sentinel)
    assert study.cohort.loc[2, "patient_id"] == frame.loc[2, "patient_id"]
    compute_results(study)
    assert not sentinel.exists()


class _Payload:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.sentinel}",))


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", ["cohort.csv", "cohort.pkl", "cohort.xlsx"])
def test_a_pickle_passed_as_data_is_rejected_not_unpickled(tmp_path, name, protocol):
    sentinel = tmp_path / "executed"
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_Payload(sentinel), protocol=protocol))
    with pytest.raises(InputError):
        load_study(path, None, report_parameter("cutoff"))
    kinetics = tmp_path / f"kinetics-{name}"
    kinetics.write_bytes(path.read_bytes())
    with pytest.raises(InputError):
        load_study(COHORT, kinetics, report_parameter("cutoff"))
    assert not sentinel.exists()


def test_an_excel_formula_cell_is_never_evaluated(tmp_path, no_unpickling):
    openpyxl = pytest.importorskip("openpyxl")
    sentinel = tmp_path / "executed"
    header, frame = read_cohort_text(COHORT)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append(list(row))
    ws.cell(row=2, column=frame.columns.get_loc("center") + 1, value=FORMULA)
    ws.cell(row=3, column=frame.columns.get_loc("center") + 1, value=_python_payload(sentinel))
    path = tmp_path / "cohort.xlsx"
    wb.save(path)
    try:
        study = load_study(path, None, report_parameter("cutoff"))
    except InputError as err:  # a formula without a saved result is reported, never computed
        assert any(v.column == "center" for v in err.violations), err.format()
    else:
        assert study.cohort.loc[1, "center"] == _python_payload(sentinel)
        assert study.cohort.loc[0, "center"] in (FORMULA, "")
    assert not sentinel.exists()


def test_the_render_refusal_shows_counts_and_columns_not_values(tmp_path):
    """Attack 29/08 (variant B): a column mapped to the wrong export column stopped the render
    with a hint quoting five of the export's values (individual infusion dates) in the render
    log, which README promises holds the validator's summary and the command only. The refusal
    now gives the count and the column; ``validate``'s own report keeps the values (it is the
    data manager's tool; its problems CSV is 0600)."""
    from analysis.inputs.errors import DataRefused, InputError
    from analysis.inputs.problems import format_report
    from analysis.inputs.studyfile import hint_context, load_settings, resolve_study

    cohort = pd.read_csv(COHORT, comment="#", dtype=str, keep_default_na=False)
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    study = tmp_path / "study.yml"
    study.write_text(
        f"title: t\ndata: {{cohort: cohort.csv, kinetics: {KINETICS}, cutoff: 2023-03-01}}\n"
        'columns: {age: "infusion_date"}\n',
        encoding="utf-8",
    )
    settings = resolve_study(study)
    with pytest.raises(DataRefused) as refused:
        load_settings(settings, refuse=True)
    log = str(refused.value)
    assert "93 of the 93 values of 'infusion_date' are not numbers: the study file maps age" in log
    assert not re.search(r"\d{4}-\d{2}-\d{2}", log)  # no individual date
    assert not re.search(r"SYN-\d+", log, re.IGNORECASE)  # no identifier
    with pytest.raises(InputError) as err:
        load_settings(settings)
    report = format_report(err.value, context=hint_context(settings))
    first = cohort["infusion_date"].sort_values().iloc[0]
    assert f"are not numbers ({first}, " in report  # validate still quotes them
