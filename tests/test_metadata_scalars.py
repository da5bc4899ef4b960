"""Study-file text that a YAML reader would take for something else (issue 22, attack 28 #11):
``title: y`` printed "true" in the HTML <title>/<h1> and left the DOCX without a title,
``subtitle: n`` vanished, ``0o17`` became 15 and ``1e3`` 1000. The metadata block the
report displays is read by Pandoc's YAML reader, which takes unquoted y/n/on/off for
booleans and 0o17/1e3/0x10 for numbers: every string value is now double-quoted.

Pandoc (the renderer's, and Quarto's) reads the block as the render does: the metadata
and the byline go through Pandoc to JSON, HTML and DOCX; no whole report is rendered.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from hostile_text import elements, pandoc_ast, stringify

from analysis.inputs.studyfile import Author, resolve_study
from renderer.pandoc import READER, pandoc_path

#: Strings YAML 1.1 (or 1.2 core) reads as booleans, numbers, null, a list or a mapping.
TRICKY = ["y", "n", "yes", "no", "on", "off", "true", "0o17", "1e3", "0x10", "~", "null", "- a", ": b"]
PAIRS = list(zip(TRICKY[0::2], TRICKY[1::2]))  # (title, subtitle): every value in each field


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory):
    return resolve_study(base=tmp_path_factory.mktemp("meta"))


def _settings(demo, title, subtitle):
    # every value as an author name and as an affiliation too (the byline: Markdown text)
    authors = tuple(Author(name=value) for value in TRICKY) + (Author(name="Z", affiliation=TRICKY),)
    return dataclasses.replace(demo, title=title, subtitle=subtitle, authors=authors)


@pytest.mark.parametrize("title,subtitle", PAIRS, ids=[f"{t}|{s}" for t, s in PAIRS])
def test_every_string_reads_back_as_the_text_typed(demo_settings, title, subtitle):
    """Before: title 'y' read as MetaBool True, 'n' as False (dropped), '0o17' as 15..."""
    settings = _settings(demo_settings, title, subtitle)
    doc = pandoc_ast(settings.metadata_block() + "\n" + settings.byline())
    meta = doc["meta"]
    for key, value in (("title", title), ("pagetitle", title), ("subtitle", subtitle)):
        assert meta[key]["t"] == "MetaInlines", (key, meta[key])
        assert stringify(meta[key]["c"]) == value, key
    assert meta["date"]["t"] == "MetaInlines"
    paragraphs = [stringify(p["c"]) for p in elements(doc["blocks"]) if p["t"] in ("Para", "Plain")]
    marks = ",".join(str(i) for i in range(1, len(TRICKY) + 1))
    assert paragraphs[0] == ", ".join(TRICKY) + ", Z" + marks
    assert paragraphs[1 : 1 + len(TRICKY)] == [f"{i} {value}" for i, value in enumerate(TRICKY, start=1)]


def test_flags_stay_what_they_are(demo_settings):
    """The section flags (``cartox.*``) keep their types: booleans and numbers unquoted."""
    block = demo_settings.metadata_block({"cartox": {"kinetics": True, "n": 3, "not_collected": ["n"]}})
    assert "kinetics: true" in block and "n: 3" in block and '- "n"' in block


def _pandoc(markdown: str, to: str, out: Path) -> None:
    subprocess.run([pandoc_path(), "-f", READER, "-t", to, "-s", "-o", str(out)], input=markdown, text=True, check=True)


def test_html_and_docx_titles_are_the_text_typed(demo_settings, tmp_path):
    """The attack's own case: title y and subtitle n, in HTML (<title>, <h1>, subtitle) and
    DOCX (the Title and Subtitle paragraphs, the document's core title)."""
    markdown = _settings(demo_settings, "y", "n").metadata_block() + "\nBody.\n"
    _pandoc(markdown, "html", tmp_path / "t.html")
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert re.search(r"<title>y</title>", page)
    assert re.search(r'<h1 class="title">y</h1>', page)
    assert re.search(r'<p class="subtitle">n</p>', page)
    _pandoc(markdown, "docx", tmp_path / "t.docx")
    with zipfile.ZipFile(tmp_path / "t.docx") as docx:
        document = docx.read("word/document.xml").decode("utf-8")
        core = docx.read("docProps/core.xml").decode("utf-8")
    assert re.search(r"<w:pStyle w:val=\"Title\" />\s*</w:pPr>\s*<w:r><w:t[^>]*>y</w:t>", document)
    assert re.search(r"<w:pStyle w:val=\"Subtitle\" />\s*</w:pPr>\s*<w:r><w:t[^>]*>n</w:t>", document)
    assert "<dc:title>y</dc:title>" in core
