"""Every string of the study file is text where it leaves the narrative (issue 22, attack 27).

The attack on main found the ethics declaration (``ethics``, ``ethics_committee``,
``ethics_approval``) inserted raw: a script ran in the HTML, /etc/passwd was embedded, raw
Typst rewrote p-values in the PDF. The per-field tests (test_hostile_text.py) list their
fields; this one does not. It walks the study file's schema (tests/hostile_text.py:
:func:`~hostile_text.schema_strings`), fills every prose string with its own hostile
payload (markup of every kind, each piece carrying the field's marker), and the structural
strings (file names, export headers and values, the date format) with markup where they
still load. Then, at the layer where text leaves the narrative:

* every inline expression of the manuscript, the supplement and the disease report
  (``{python} ...`` in report.qmd, supplement.qmd, report-disease.qmd and their sections),
  every ``display(Markdown(...))`` of their chunks, and every public property of the
  narrative objects is evaluated against the hostile study;
* every output carrying a marker is read by the Pandoc both renderers use: no raw
  HTML/Typst/LaTeX/OpenXML, image, link (but the author's mailto), citation, note, math,
  code, heading, list, quote, table, div or span attribute holds a marker, and no Quarto
  shortcode delimiter ``{{<``/``>}}`` is left in the text (Quarto would run it);
* an inline expression carrying a marker is Markdown (:class:`MarkdownText`), which both
  renderers insert as it is (Quarto escapes a plain string its own, partial way);
* each prose field is printed somewhere (a field the report never prints must be said to
  be so here), and no structural string is printed at all.

A new study-file field, or a new accessor, is covered the day it is added.
"""

from __future__ import annotations

import csv
import functools
import inspect
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import COHORT, KINETICS, ROOT, document_sources
from hostile_text import STRUCTURAL, elements, fill_study, free_text_paths, pandoc_ast, schema_strings

from analysis.inputs.studyfile import resolve_study
from analysis.inputs.usertext import MarkdownText


def marker(i: int) -> str:
    """A field's marker: letters and digits only (never escaped, never split)."""
    return f"qqf{i:02d}qq"


def payload(m: str) -> str:
    """Markup of every kind Pandoc or Quarto would act on, each piece carrying ``m``; lines
    joined by line breaks (Alt+Enter in a cell, a YAML block scalar)."""
    return "\n".join(
        [
            f"{m} <b>{m}</b> <script>document.title='{m}'</script> <!-- {m} -->",
            f"![{m}](/etc/passwd) ![x](/{m}.png) [{m}](javascript:alert(1)) <http://{m}.example.org> <{m}@x.org>",
            f"@{m} [@{m}; @{m}b] ^[{m} note] {m}[^1]",
            f'`{m}`{{=typst}} `#read("{m}")`{{=typst}} `<i>{m}</i>`{{=html}} `{m}`{{=openxml}} `{m}`{{=latex}}',
            f"$x_{m}$ $${m}$$ \\input{{{m}}} `{m}`",
            f"{{{{< meta {m} >}}}} {{{{< env {m} >}}}} {{{{< include {m}.qmd >}}}} {{{{{{< env {m} >}}}}}}",
            f"# {m}",
            f"::: {{.{m}}}",
            f"```{m}",
            f"| {m} | a |",
            f"- {m}",
            f"> {m}",
            f"1. {m}",
            f"^![]({m})^ ~[x](javascript:{m})~ ^`{m}`{{=typst}}^ ^@{m}^ *[{m}](x)*",
            f"&lt;b&gt;{m} &#60;i&#62;{m} [{m}]{{.smallcaps}} [{m}]{{#id-{m}}}",
            f"\\\n{m} end",
        ]
    )


#: Elements a study-file string may never become (or be inside of).
FORBIDDEN = {
    "RawInline",
    "RawBlock",
    "Image",
    "Cite",
    "Math",
    "Code",
    "CodeBlock",
    "Note",
    "Header",
    "BulletList",
    "OrderedList",
    "BlockQuote",
    "Table",
    "DefinitionList",
    "LineBlock",
    "HorizontalRule",
    "Figure",
}


def problems(doc: dict, markers: list[str]) -> list[str]:
    """What in ``doc`` (a markdown text as the renderers' Pandoc reads it: :func:`pandoc_ast`)
    lets a marker act."""
    found = []
    for e in elements(doc):
        dumped = json.dumps(e, ensure_ascii=False).lower()
        hit = [m for m in markers if m in dumped]
        if not hit:
            continue
        kind = e["t"]
        if kind in FORBIDDEN:
            found.append(f"{kind} holds {hit}: {dumped[:160]}")
        elif kind == "Link" and not e["c"][2][0].startswith("mailto:"):
            found.append(f"Link to {e['c'][2][0]!r} holds {hit}")
        elif kind in ("Div", "Span") and any(m in json.dumps(e["c"][0]).lower() for m in markers):
            found.append(f"{kind} attributes hold {hit}: {e['c'][0]}")
    text = words(doc)
    for delimiter in ("{{<", ">}}"):
        if delimiter in text:
            found.append(f"a Quarto shortcode delimiter {delimiter!r} in the text")
    return found


def words(doc: dict) -> str:
    """The text of a document (body and metadata) as a reader sees it."""
    return " ".join(e["c"] for e in elements(doc) if e["t"] in ("Str", "MetaString"))


# --------------------------------------------------------------------------- the hostile study


def _hostile_export(folder: Path) -> dict:
    """The demo's cohort and kinetics in a folder whose name is markup, the cohort's
    ``center`` header and one ``sex`` value written as markup and mapped back, a date format
    holding markup: the structural strings of the schema, hostile where the data still load."""
    where = folder / "<img src=x onerror=alert(1)> qqs01qq ![x](y) @qqs01qq"
    where.mkdir()
    kinetics = where / "kinetics [qqs02qq](javascript:1).csv"
    shutil.copy(KINETICS, kinetics)
    header_text = "<b>qqs03qq</b> {{< env HOME >}} `x`{=typst}"
    value_text = "<i>qqs04qq</i> @qqs04qq"
    lines = COHORT.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    rows = list(csv.reader(lines[first:]))
    center, sex = rows[0].index("center"), rows[0].index("sex")
    rows[0][center] = header_text
    for row in rows[1:]:
        if row[sex] == "F":
            row[sex] = value_text
    cohort = where / "cohort <script>qqs05qq<\\script> `x`{=html}.csv"
    with cohort.open("w", encoding="utf-8", newline="") as f:
        f.writelines(lines[:first])
        csv.writer(f, lineterminator="\n").writerows(rows)
    return {
        "data": {"cohort": str(cohort), "kinetics": str(kinetics), "cutoff": "2023-03-01"},
        "columns": {"center": header_text},
        "values": {"sex": {value_text: "F"}},
        "date_format": "%d/%m/%Y <b>qqs06qq</b>",
    }


STRUCTURAL_MARKERS = [f"qqs{i:02d}qq" for i in range(1, 7)]
FREE = free_text_paths()
MARKERS = {path: marker(i) for i, path in enumerate(FREE)}


def _study(folder: Path, drop: tuple[str, ...] = (), extra: dict | None = None) -> Path:
    study = fill_study(lambda path: payload(MARKERS[path]))
    for path in drop:
        head, _, leaf = path.rpartition(".")
        (study[head] if head else study).pop(leaf)
    study.update(extra or {})
    out = folder / f"study-{len(drop)}.yml"
    out.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


_INLINE = re.compile(r"(?<!`)`\{python\}[ \t]+([^`]+)`")
_DISPLAYED = re.compile(r"^\s*display\(Markdown\((.+)\)\)\s*$", re.MULTILINE)


def expressions(document: str) -> list[tuple[str, str]]:
    """Every inline expression ("inline") and displayed Markdown ("displayed") of a
    document's sources."""
    if document == "report-disease":
        sources = [ROOT / "report-disease.qmd", *sorted((ROOT / "sections" / "disease").glob("*.qmd"))]
    else:
        sources = document_sources(document)
    found: list[tuple[str, str]] = []
    for path in sources:
        source = path.read_text(encoding="utf-8")
        found += [("inline", e) for e in _INLINE.findall(source)]
        found += [("displayed", e) for e in _DISPLAYED.findall(source)]
    return list(dict.fromkeys(found))


def public_properties(obj) -> list[str]:
    kinds = (property, functools.cached_property)
    names = []
    for name in dir(type(obj)):
        if not name.startswith("_") and isinstance(inspect.getattr_static(type(obj), name, None), kinds):
            names.append(name)
    return names


def outputs(namespace: dict, document: str) -> tuple[list[tuple[str, str, object]], list[str]]:
    """(how, expression, value) of every expression of the document ("inline" or
    "displayed": a chunk's ``display(Markdown(...))``) and every property of its narrative
    ("property"), evaluated against ``namespace``; and the expressions that failed."""
    out, failed = [], []
    for how, expression in expressions(document):
        try:
            out.append((how, expression, eval(expression, dict(namespace))))  # noqa: S307 (the project's sources)
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            failed.append(f"{document}: {expression}: {type(exc).__name__}: {exc}")
    text = namespace["text"]
    for name in public_properties(text):
        try:
            out.append(("property", f"text.{name}", getattr(text, name)))
        except Exception:  # noqa: BLE001, S112 (a property without data for this cohort prints nothing)
            continue
    return out, failed


def _markdown(value) -> str | None:
    if hasattr(value, "_repr_markdown_"):
        return value._repr_markdown_()
    return value if isinstance(value, str) else None


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory):
    """Every output of both B-ALL documents and of the disease report, under two hostile
    study files: with ``declarations.ethics`` (the team's own sentence) and without it (the
    committee and approval number are printed instead)."""
    from analysis.inputs.studyfile import load_settings
    from analysis.report.disease_results import compute_disease_results
    from analysis.report.narrative import Narrative
    from analysis.report.narrative.disease import DiseaseNarrative
    from analysis.report.results import compute_results

    folder = tmp_path_factory.mktemp("hostile-fields")
    export = _hostile_export(folder)
    collected: list[tuple[str, object]] = []
    failed: list[str] = []
    data = results = None
    for drop in ((), ("declarations.ethics",)):
        settings = resolve_study(_study(folder, drop, export))
        if data is None:
            data = load_settings(settings)
            results = compute_results(data, **settings.analysis.model_dump())
        for document in ("report", "supplement"):
            text = Narrative(results, settings, document=document)
            got, bad = outputs({"text": text, "R": results, "settings": settings}, document)
            collected += got
            failed += bad
    # (the screening and the region, which the disease documents do not print, are refused there)
    disease = resolve_study(
        _study(folder, ("declarations.ethics", "declarations.region", "screening"), {"disease": "lbcl"})
    )
    disease_results = compute_disease_results(load_settings(disease))
    text = DiseaseNarrative(disease_results, disease)
    got, bad = outputs({"text": text, "R": disease_results, "settings": disease, "P": text.profile}, "report-disease")
    return collected + got, failed + bad, data


def test_the_schema_walk_finds_every_kind_of_string():
    """The walk sees nested models, lists, 'one or a list' and mappings; every structural
    string it finds has its reason, and every reason names a string the schema has."""
    strings = schema_strings()
    for expected in ("title", "authors.name", "authors.affiliation", "product.vector", "declarations.ethics"):
        assert expected in FREE, expected
    for expected in ("declarations.ethics_committee", "declarations.ethics_approval", "columns.*", "values.*.*"):
        assert expected in strings, expected
    for key in STRUCTURAL:
        assert any(s == key or (key.endswith(".*") and s.startswith(key[:-1])) for s in strings), key
    assert not set(FREE) & {s for s in strings if s.startswith(("data.", "columns.", "analysis."))}


def test_the_rendered_hostile_report_holds_every_prose_field():
    """The slow renders of test_hostile_text (HTML in Chromium, PDF, DOCX, real Quarto) carry
    every prose string of the schema: a new field must join their corpus (the team's own
    ``ethics`` sentence replaces the committee and number there: it is checked here)."""
    from hostile_text import RENDERED_FIELDS, SCHEMA_PATH

    assert sorted(SCHEMA_PATH[f] for f in RENDERED_FIELDS) == sorted(set(FREE) - {"declarations.ethics"})


def test_every_expression_of_the_documents_evaluates(hostile_outputs):
    _, failed, _ = hostile_outputs
    assert failed == []


def test_the_hostile_export_was_read(hostile_outputs):
    """The structural strings were in play: the export under its markup name, its markup
    header mapped onto ``center`` and its markup value onto ``F``."""
    _, _, data = hostile_outputs
    assert "qqs05qq" in str(data.cohort_path) and "qqs02qq" in str(data.kinetics_path)
    assert data.cohort["center"].notna().all() and data.cohort["sex"].eq("F").any()


def test_no_study_file_string_becomes_markup(hostile_outputs):
    collected, _, _ = hostile_outputs
    markers = list(MARKERS.values()) + STRUCTURAL_MARKERS
    seen: set[str] = set()
    checked = 0
    for how, expression, value in collected:
        markdown = _markdown(value)
        if markdown is None or not any(m in markdown.lower() for m in markers):
            continue
        checked += 1
        doc = pandoc_ast(markdown)  # one Pandoc run per value (~27 ms each)
        assert problems(doc, markers) == [], (how, expression)
        text = words(doc).lower()
        seen |= {m for m in markers if m in text}
    assert checked > 10
    # every prose field is printed (as text), no structural string at all
    assert [path for path, m in MARKERS.items() if m not in seen] == []
    assert [m for m in STRUCTURAL_MARKERS if m in seen] == []


def test_what_carries_study_text_into_the_prose_is_markdown(hostile_outputs):
    """Quarto inserts an inline expression's ``text/markdown`` as it is and escapes a plain
    string's repr its own, partial way (``@``, ``<``, ``^`` and ``$`` pass; the escaped
    text would print its backslashes): every inline expression and narrative property
    carrying a study-file string is :class:`MarkdownText` (only what chunks display with
    ``display(Markdown(...))`` may be a plain string)."""
    collected, _, _ = hostile_outputs
    markers = list(MARKERS.values())
    displayed = {expression for how, expression, _ in collected if how == "displayed"}
    plain = {
        f"{how}: {expression}"
        for how, expression, value in collected
        if isinstance(value, str)
        and not isinstance(value, MarkdownText)
        and any(m in value.lower() for m in markers)
        and expression not in displayed
    }
    assert plain == set()
