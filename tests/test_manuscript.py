"""The manuscript as a journal reads it (issue 21): two documents and their numbering, the
study file's declarations and placeholders, the STROBE checklist, the journal's counts.

Renders are elsewhere (tests/test_layout.py, marked slow); these read the sources, the
narrative and small hand-made HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from analysis.inputs import usertext
from analysis.inputs.studyfile import DEMO_DECLARATIONS, Declarations, read_study_file
from analysis.registry.strobe import STROBE_DECLARATIONS, STROBE_ITEMS, STROBE_PARTIAL
from analysis.report.documents import Documents, documents, scan
from analysis.report.narrative.manuscript import DECLARATION_NAMES, PLACEHOLDER
from analysis.report.strobe import ABSENT, NOT_APPLICABLE, PARTIAL, PRESENT, checklist
from analysis.report.strobe import PLACEHOLDER as STATUS_PLACEHOLDER
from renderer import journal

ROOT = Path(__file__).resolve().parents[1]
FLAGS = {"kinetics": True, "reproduction": True, "synthetic": True, "placeholders": False}


# --------------------------------------------------------------------------- the two documents


def test_scan_numbers_floats_and_sections_as_the_renderers_do(tmp_path):
    (tmp_path / "sec").mkdir()
    (tmp_path / "sec" / "_a.qmd").write_text(
        '# First {#sec-first strobe="4 5"}\n\n```{python}\n#| label: fig-one\nx\n```\n\n'
        '::: {.content-visible when-meta="cartox.kinetics"}\n## Kinetics {#sec-kin}\n\n'
        "```{python}\n#| label: fig-kin\nx\n```\n:::\n\n"
        '::: {.content-hidden when-meta="cartox.kinetics"}\nno kinetics\n:::\n\n'
        "```{python}\n#| label: tbl-two\nx\n```\n"
    )
    doc = tmp_path / "doc.qmd"
    doc.write_text(
        '---\ncrossref:\n  tbl-labels: "[S1]{}[S2]{}"\n---\n\n# Abstract {.unnumbered #sec-abs strobe="1a"}\n\n'
        "{{< include sec/_a.qmd >}}\n\n# Last {#sec-last}\n"
    )
    with_kinetics = scan(doc, {"cartox": {"kinetics": True}})
    assert [(f.label, f.number) for f in with_kinetics.floats] == [
        ("fig-one", "1"),
        ("fig-kin", "2"),
        ("tbl-two", "S1"),
    ]
    assert [(h.ident, h.number, h.strobe) for h in with_kinetics.headings] == [
        ("sec-abs", None, ("1a",)),
        ("sec-first", "1", ("4", "5")),
        ("sec-kin", "1.1", ()),
        ("sec-last", "2", ()),
    ]
    without = scan(doc, {"cartox": {"kinetics": False}})
    assert [f.label for f in without.floats] == ["fig-one", "tbl-two"]  # hidden: no number taken
    assert without.heading("sec-kin") is None


def test_references_across_the_manuscript_and_the_supplement():
    docs = documents(FLAGS)
    assert docs.ref("tbl-cox") == "Table 4"
    assert re.fullmatch(r"Supplementary Table S\d+", docs.ref("tbl-centers"))
    assert re.fullmatch(r"Supplementary Figure S\d+", docs.ref("fig-swimmer"))
    supplement = Documents(docs.manuscript, docs.supplement, current="supplement")
    assert supplement.ref("tbl-cox") == "Table 4 of the manuscript"
    assert supplement.ref("tbl-strobe") == "Table S1"
    assert docs.ref("sec-strobe") == "Section 1 of the supplement"
    with pytest.raises(KeyError, match="no figure, table or numbered section 'tbl-nope'"):
        docs.ref("tbl-nope")


def test_the_manuscript_keeps_to_the_default_display_limit_and_the_supplement_takes_the_rest():
    docs = documents(FLAGS)
    assert docs.manuscript.n_displays <= 8
    labels = {f.label for f in docs.supplement.floats}
    # the grade-level analyses, the sensitivity analyses, the timelines and the appendix
    assert {
        "fig-km-grade",
        "fig-cif",
        "fig-landmark",
        "tbl-centers",
        "fig-swimmer",
        "tbl-software",
        "tbl-strobe",
        "tbl-data-summary",
    } <= labels
    assert all(f.number.startswith("S") for f in docs.supplement.floats)
    assert not any(f.number.startswith("S") for f in docs.manuscript.floats)
    without = documents({**FLAGS, "kinetics": False, "reproduction": False})
    assert (
        without.manuscript.float("fig-kinetics-peak") is None and without.supplement.float("tbl-reproduction") is None
    )


# --------------------------------------------------------------------------- STROBE


def test_every_strobe_item_is_claimed_by_a_section_or_does_not_apply():
    rows = checklist(documents(FLAGS))
    assert len({STROBE_ITEMS[r.item].number for r in rows}) == 22
    assert {r.status for r in rows} <= {PRESENT, PARTIAL, NOT_APPLICABLE}, [
        r for r in rows if r.status not in (PRESENT, PARTIAL, NOT_APPLICABLE)
    ]
    # only partly met, and said why (issue 21, finding 14); item 11 (quantitative variables) is met:
    # the cut-off's rationale and the functional form of the continuous covariates (the
    # supplement's splines); 13b since the study file declares the screened patients excluded,
    # with reasons (review 28, point 1)
    assert {r.item: r.note for r in rows if r.status == PARTIAL} == {}
    assert [r.item for r in rows if r.status == NOT_APPLICABLE] == ["6b"]  # not a matched study
    row = {r.item: r for r in rows}
    assert any(p.section.endswith("Study design and setting") for p in row["4"].places)
    assert any(p.document == "supplement" for p in row["12e"].places)


def test_anchors_point_the_checklist_to_their_sentence_and_display(tmp_path):
    """``[]{.strobe items="12c"}`` in a section: the checklist gives that section, the anchor's
    page (the PDF's named destination ``strobe-12c``) instead of the heading's, the display it
    marks, and "partial" for ``:partial``; an item anchored twice in a document is an error."""
    from analysis.report.documents import Document, anchor_label

    doc = tmp_path / "doc.qmd"
    doc.write_text(
        '# Methods {#sec-m strobe="9 11:partial"}\n\nText. []{.strobe items="12c"}Missing values were left out.\n\n'
        "```{python}\n#| label: fig-flow\nx\n```\n\n"
        '[]{.strobe items="13a 13b:partial" display="fig-flow"}\n\n'
        '```{python}\n# []{.strobe items="14b"} in code is no anchor\n```\n'
    )
    scanned = scan(doc)
    assert [(a.items, a.partial, a.heading, a.display) for a in scanned.anchors] == [
        (("12c",), (), 0, None),
        (("13a", "13b"), ("13b",), 0, "fig-flow"),
    ]
    assert scanned.headings[0].strobe == ("9", "11") and scanned.headings[0].partial == ("11",)
    pages = {"doc": {"sec-m": 2, anchor_label("12c"): 3}}
    paged = Documents(scanned, Document("supplement", (), ()), "supplement", pages)
    rows = {r.item: r for r in checklist(paged)}
    assert rows["12c"].places[0].page == 3 and rows["9"].places[0].page == 2  # the anchor's page, the heading's
    assert rows["13a"].places[0].display == "Figure 1" and rows["13a"].status == PRESENT
    assert rows["13b"].status == PARTIAL and rows["13b"].note == STROBE_PARTIAL["13b"]
    assert rows["11"].status == PARTIAL and rows["12d"].status == ABSENT
    doc.write_text('# A {#sec-a}\n\n[]{.strobe items="12c"}One.\n\n# B {#sec-b}\n\n[]{.strobe items="12c"}Two.\n')
    with pytest.raises(ValueError, match="12c anchored more than once"):
        scan(doc)


def test_the_anchor_filter_makes_labelled_headings_in_typst_and_nothing_elsewhere(tmp_path):
    """filters/strobe-anchors.lua, run by Pandoc as both renderers run it: in Typst an
    invisible heading labelled strobe-<item> (inline in a zero-width box, alone as a block);
    in HTML no trace, and no empty paragraph."""
    import subprocess

    from renderer.pandoc import pandoc_path

    source = tmp_path / "a.md"
    source.write_text('Before. []{.strobe items="12c 12d"}Missing values.\n\n[]{.strobe items="13a"}\n\nAfter.\n')

    def convert(to: str) -> str:
        lua = f"--lua-filter={ROOT / 'filters' / 'strobe-anchors.lua'}"
        return subprocess.run(
            [pandoc_path(), str(source), "-t", to, lua], capture_output=True, text=True, check=True
        ).stdout

    typ = convert("typst")
    assert "#box(place(hide[" in typ and "<strobe-12c>" in typ and "<strobe-12d>" in typ
    assert re.search(r"^#place\(hide\[#heading\(.*<strobe-13a>\]\)$", typ, re.MULTILINE)
    html = convert("html")
    assert "strobe" not in html and "<p></p>" not in html and "Missing values." in html
    assert "filters/strobe-anchors.lua" in (ROOT / "_quarto.yml").read_text()


def test_strobe_status_follows_placeholders_pages_and_missing_sections(tmp_path):
    docs = documents(FLAGS)
    paged = Documents(docs.manuscript, docs.supplement, "supplement", {"report": {"sec-design": 3}})
    rows = {r.item: r for r in checklist(paged, missing_declarations=["funding", "setting", "measurement"])}
    assert rows["22"].status == STATUS_PLACEHOLDER and "funding" in rows["22"].note
    # item 8 rests on the declared assessment (who graded, central review): a placeholder without it
    assert rows["8"].status == STATUS_PLACEHOLDER and "measurement" in rows["8"].note
    assert rows["5"].status == STATUS_PLACEHOLDER and rows["21"].status == STATUS_PLACEHOLDER
    assert rows["4"].status == PRESENT and rows["4"].places[0].page == 3
    # a section that loses its attribute: the item is listed as absent, not silently dropped
    bare = Documents(
        docs.manuscript.__class__(
            docs.manuscript.name,
            tuple(
                h.__class__(h.level, h.title, h.ident, h.number, tuple(i for i in h.strobe if i != "9"))
                for h in docs.manuscript.headings
            ),
            docs.manuscript.floats,
        ),
        docs.supplement,
    )
    assert {r.item: r.status for r in checklist(bare)}["9"] == ABSENT
    assert set(STROBE_DECLARATIONS) <= set(STROBE_ITEMS)
    assert {d for ds in STROBE_DECLARATIONS.values() for d in ds} <= set(DECLARATION_NAMES)


# --------------------------------------------------------------------------- declarations


def test_the_demo_declares_everything_and_the_example_study_file_too():
    phrases = [k for k in DECLARATION_NAMES if k not in ("ethics", "exclusions", "product")]
    assert all((getattr(DEMO_DECLARATIONS, k) or "").strip() for k in phrases)
    assert DEMO_DECLARATIONS.ethics
    example = read_study_file(ROOT / "study.example.yml").model
    d = example.declarations
    assert all((getattr(d, k) or "").strip() for k in phrases)
    # the product (Methods; the Discussion's "product ... described in the Methods"): stated
    assert example.product.name and example.product.lymphodepletion
    # the screening (STROBE 13a/13b): the example declares its reasons, both kinds
    excluded = example.screening.excluded
    assert excluded and {e.count is None for e in excluded} == {True, False}
    assert d.ethics_committee and d.ethics_approval
    assert example.journal.abstract_words == 300 and example.journal.main_text_words == 4000
    assert example.journal.displays == 8


def test_a_missing_declaration_is_a_visible_placeholder(narrative_factory):
    text = narrative_factory(Declarations(design="retrospective cohort study", ethics_committee="the EC of X"))
    assert text.design == "retrospective cohort study" and text.Design.startswith("Retrospective")
    # as Markdown that prints the brackets as text (study-file text is never markup)
    assert text.declared("funding") == usertext.plain(PLACEHOLDER.format(DECLARATION_NAMES["funding"]))
    assert usertext.plain("[to be completed: the approval number") in text.ethics
    assert "funding" in text.missing_declarations and "design" not in text.missing_declarations
    assert "ethics" in text.missing_declarations  # committee without its approval number
    assert text.flags["placeholders"] is True and "- the funding" in text.placeholder_list
    full = narrative_factory(Declarations(**{k: "x" for k in Declarations.model_fields if k != "ethics"}))
    assert full.missing_declarations == [] and full.flags["placeholders"] is False
    assert full.ethics == "The study was approved by x (approval number x)."
    with pytest.raises(KeyError, match="the declarations are"):
        full.declared("fundng")


def test_code_availability_names_version_commit_and_the_study_file_hash(narrative_factory, tmp_path):
    import hashlib

    from analysis import __version__

    text = narrative_factory(Declarations(), study_text="title: A\n")
    statement = text.code_availability
    assert f"cartox {__version__}" in statement
    digest = hashlib.sha256(b"title: A\n").hexdigest()[:16]
    assert digest in statement
    assert ("commit " in statement) or ("no commit is recorded" in statement)


@pytest.fixture
def narrative_factory(tmp_path, bundled_results):
    """A Narrative over the demo results (the session's: conftest.py) with a study file's declarations."""
    from analysis.inputs.studyfile import resolve_study
    from analysis.report.narrative import Narrative

    demo = resolve_study("", base=tmp_path)
    results = bundled_results

    def make(declarations: Declarations, study_text: str = "title: A\n"):
        study = tmp_path / "study.yml"
        study.write_text(study_text)
        settings = demo.__class__(**{**demo.__dict__, "declarations": declarations, "study_file": study})
        return Narrative(results, settings)

    return make


# --------------------------------------------------------------------------- the journal's counts


def _page(abstract: str, main: str, extra: str = "") -> str:
    return (
        "<html><head><title>T</title></head><body>"
        '<div id="cartox-journal" hidden data-abstract-words="5" data-main-text-words="12" data-displays="1"></div>'
        f'<section id="sec-abstract" class="level1"><h1>Abstract</h1><p>{abstract}</p></section>'
        f'<section id="sec-introduction" class="level1"><h1>1 Introduction</h1><p>{main}</p>'
        '<div id="fig-a" class="cx-figure"><p>(a) panel caption words here</p>'
        '<div class="cx-caption">Figure 1: caption words are not counted</div></div>'
        '<div id="fig-a-1"></div><div id="fig-a-caption-0ce"></div>'
        '<section id="sec-sub" class="level2"><h2>1.1 Sub</h2><p>four more words here</p></section></section>'
        '<section id="sec-discussion" class="level1"><h1>2 Discussion</h1><p>two words</p></section>'
        f'<section id="sec-declarations" class="level1"><h1>Declarations</h1><p>not counted {extra}</p></section>'
        "</body></html>"
    )


def test_journal_counts_abstract_main_text_and_displays(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(
        _page(
            "One two three four five six.",
            "In 93 patients (95% CI 1.2–3.4), HR 0.5.",
            "[to be completed: the funding (declarations: funding)]",
        )
    )
    counts = journal.count(page)
    assert (counts.abstract_words, counts.main_text_words, counts.displays) == (6, 8 + 4 + 2, 1)
    assert counts.limits == {"abstract_words": 5, "main_text_words": 12, "displays": 1}
    lines = counts.lines()
    assert lines[0] == (
        "manuscript: abstract 6 words (limit 5), main text 14 words (limit 12), 1 figures and tables (limit 1)"
    )
    assert any(line.startswith("warning: the abstract has 6 words") for line in lines)
    assert any(line.startswith("warning: the main text has 14 words") for line in lines)
    assert not any("figures and tables, over" in line for line in lines)
    assert counts.placeholders == ["the funding (declarations: funding)"]
    said = []
    journal.report([page], said.append)
    assert said[-2:] == [
        "to be completed before submission (1), in the study file:",
        "  - the funding (declarations: funding)",
    ]


def test_a_placeholder_is_not_counted_as_words(tmp_path):
    """Review 29: a user's study with placeholders counted 4,001 words; "[to be completed: …]"
    is the study file's gap, not the authors' words (6 words of text, 11 in the placeholder)."""
    page = tmp_path / "report.html"
    page.write_text(
        _page(
            "Design: [to be completed: the design of this study (study file: design)] cohort.",
            "Patients came from [to be completed: the setting (study file:\n setting)] two centers.",
        )
    )
    counts = journal.count(page)
    assert counts.abstract_words == 2  # "Design:" and "cohort."
    assert counts.main_text_words == 5 + 4 + 2  # 5 words around the placeholder, the subsection, the Discussion
    assert counts.placeholders == ["the design of this study (study file: design)", "the setting (study file: setting)"]


def test_quarto_yml_renders_both_documents_and_the_supplement_numbers_s():
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert project["project"]["render"] == ["report.qmd", "supplement.qmd"]
    text = (ROOT / "supplement.qmd").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert re.fullmatch(r"(\[S\d+\]\{\})+", front["crossref"]["tbl-labels"])
    assert "typst-supplement.typ" in front["format"]["typst"]["include-in-header"]
    assert set(front["format"]) == {"html", "docx", "typst"}  # a format left out would not be rendered
    assert '"S" + str(n)' in (ROOT / "typst-supplement.typ").read_text()
    # make report renders what `python -m analysis document` names for the study
    import contextlib
    import io

    from analysis.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["document", "--disease", "b-all"]) == 0
    assert out.getvalue().split() == ["report.qmd", "supplement.qmd"]
    assert "python -m analysis document" in (ROOT / "Makefile").read_text()


def test_strobe_table_gives_the_manuscripts_pages_and_lets_typst_find_the_supplements():
    from analysis.report.tables import strobe_table

    docs = documents(FLAGS)
    pages = {"report": {h.ident: 2 for h in docs.manuscript.headings if h.ident}}
    paged = Documents(docs.manuscript, docs.supplement, "supplement", pages)
    table = strobe_table(checklist(paged))
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
        for line in table.markdown.splitlines()
        if line.startswith("| ")
    }
    assert rows["9"][3] == "M 2"  # a manuscript section: its page from the manuscript's PDF
    page = rows["12a"][3]  # M 2 once, then the supplement's own page, found by Typst
    assert page.startswith("M 2, S `#context") and page.count("M 2") == 1 and "query(<sec-supp-methods>)" in page
    assert page.endswith("`{=typst}") and rows["12a"][4] == "present"
    unpaged = strobe_table(checklist(docs))
    assert "rendered together" in unpaged.markdown  # without the manuscript's pages, the legend says why
