"""Text from the study file is text (issue 22): in every field, in every format, in both
renderers.

Two levels:

* fast: every field of a study file holding the hostile corpus (tests/hostile_text.py) is
  turned into the Markdown the report displays (title block, byline, product sentence)
  and read by the Pandoc both renderers use; its syntax tree holds only text and the
  allow-listed styles (no raw HTML/Typst/LaTeX, image, link but the mailto, citation,
  math, note, code or heading), and each field's text reads back as typed. Pandoc writes
  HTML, DOCX and Typst from that tree, escaping for each format, so nothing else can
  reach them. The product sentence is an inline expression: it is displayed as
  ``text/markdown``, which Quarto inserts as it is (a plain string's repr it would escape
  its own, partial way: ``@``, ``<``, ``^``, ``$`` pass).
* slow: the report rendered with that study file (built-in renderer, html+pdf+docx; real
  Quarto when on the PATH), the HTML opened in headless Chromium with the network off: no
  script ran (a control page shows that one would be seen), no file named in a field was
  read into any output, no address named in a field was fetched while rendering (a local
  HTTP server named there receives no request), no raw Typst/OpenXML reached the PDF or
  the DOCX, and the citation is the literal text "@kaplan1958".

The corpus holds each kind of markup inside the allow-listed ``^...^`` and ``~...~`` too:
Pandoc 3 undoes escapes there and reads the rest as Markdown again (the attack on main
embedded /etc/passwd, ran a script, read a file with Typst and fetched a URL that way).
"""

from __future__ import annotations

import base64
import http.server
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import (
    COHORT,
    KINETICS,
    Rendered,
    background_render,
    register_render,
    render_with_quarto,
    report_parameter,
)
from hostile_text import (
    FIELDS,
    RENDERED_FIELDS,
    SECRET,
    SECRET_ENV,
    elements,
    pandoc_ast,
    stringify,
    study_fields,
    study_yaml,
)

from analysis.inputs import usertext
from analysis.inputs.studyfile import resolve_study

ROOT = Path(__file__).resolve().parents[1]
# what a Quarto shortcode `{{< env CARTOX_HOSTILE_ENV >}}` in a field would print (the
# renders inherit it)
os.environ.setdefault("CARTOX_HOSTILE_ENV", SECRET_ENV)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Pandoc elements a study-file string may become: text, and the allow-listed styles.
TEXT_ELEMENTS = {
    "Str",
    "Space",
    "SoftBreak",
    "Quoted",
    "SingleQuote",
    "DoubleQuote",
    "Emph",
    "Strong",
    "Superscript",
    "Subscript",
}


def one_line(text: str) -> str:
    """A field as typed, as it must print: line breaks as spaces, and Quarto's shortcode
    delimiters with a zero-width space inside (Quarto would run them from a title)."""
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace("{{<", "{{\u200b<").replace(">}}", ">\u200b}}")


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-text")
    secret = folder / "secret.png"
    secret.write_text(SECRET + "\n")
    fields = study_fields(secret)
    study = folder / "study.yml"
    study.write_text(
        yaml.safe_dump(study_yaml(fields, COHORT, KINETICS, "2023-03-01"), allow_unicode=True), encoding="utf-8"
    )
    return resolve_study(study), fields


def test_every_field_reads_back_as_text(hostile_settings):
    settings, fields = hostile_settings
    markdown = settings.metadata_block() + "\n" + settings.byline() + "\n" + settings.product_sentence() + "\n"
    doc = pandoc_ast(markdown)
    kinds = {e["t"] for e in elements(doc["blocks"])} | {e["t"] for e in elements(doc["meta"])}
    structure = {"Para", "Plain", "Div", "MetaInlines", "MetaString", "MetaMap", "MetaBool", "Link"}
    assert kinds <= TEXT_ELEMENTS | structure, kinds - TEXT_ELEMENTS - structure
    # the only link is the corresponding author's mailto, and it is the byline's only div
    links = [e for e in elements(doc["blocks"]) if e["t"] == "Link"]
    assert links == []  # the hostile e-mail is not an address: shown as text
    assert [e["c"][0][1] for e in elements(doc["blocks"]) if e["t"] == "Div"] == [["byline"]]
    # each field, as typed (line breaks as spaces), in the title, the byline, the sentence
    assert stringify(doc["meta"]["title"]["c"]) == one_line(fields["title"])
    assert stringify(doc["meta"]["pagetitle"]["c"]) == one_line(fields["title"])
    assert stringify(doc["meta"]["subtitle"]["c"]) == one_line(fields["subtitle"])
    paragraphs = [stringify(p["c"]) for p in elements(doc["blocks"]) if p["t"] in ("Para", "Plain")]
    byline, affiliation_1, affiliation_2, contact, product = paragraphs
    assert byline == one_line(fields["name"]) + "1,2*"
    assert affiliation_1 == "1 " + one_line(fields["affiliation"])
    assert contact == "* Corresponding author: " + one_line(fields["email"])
    for field in ("product_name", "target", "costimulatory_domain", "vector", "lymphodepletion"):
        assert one_line(fields[field]) in product, field


@pytest.mark.parametrize("field", FIELDS)
def test_one_field_at_a_time(tmp_path, field):
    """Each field alone (the others ordinary), so that no field hides behind another."""
    secret = tmp_path / "secret.png"
    fields = {f: f"ordinary {f}" for f in FIELDS} | {"email": "a@example.org"}
    fields[field] = study_fields(secret)[field]
    study = tmp_path / "study.yml"
    study.write_text(yaml.safe_dump(study_yaml(fields, COHORT, KINETICS, "2023-03-01")), encoding="utf-8")
    settings = resolve_study(study)
    doc = pandoc_ast(settings.metadata_block() + "\n" + settings.byline() + "\n" + settings.product_sentence())
    kinds = {e["t"] for e in elements(doc)}
    forbidden = {
        "RawInline",
        "RawBlock",
        "Image",
        "Cite",
        "Math",
        "Code",
        "CodeBlock",
        "Note",
        "Span",
        "Header",
        "BulletList",
        "OrderedList",
        "BlockQuote",
        "Table",
        "LineBlock",
        "HorizontalRule",
        "Figure",
        "DefinitionList",
        "LineBreak",
    }
    assert not kinds & forbidden, kinds & forbidden
    links = [e["c"][2][0] for e in elements(doc) if e["t"] == "Link"]
    assert links == ([] if field == "email" else ["mailto:a@example.org"])


def test_the_allow_list_styles_and_nothing_else():
    doc = pandoc_ast(usertext.styled("IL-6 *in vivo*, CD19^+^ **key** CO~2~ and 5*3*2 ^no space^ a~b"))
    inlines = doc["blocks"][0]["c"]
    styled = [(e["t"], stringify(e["c"])) for e in inlines if e["t"] not in ("Str", "Space")]
    assert styled == [("Emph", "in vivo"), ("Superscript", "+"), ("Strong", "key"), ("Subscript", "2"), ("Emph", "3")]
    assert stringify(inlines) == "IL-6 in vivo, CD19+ key CO2 and 532 ^no space^ a~b"
    # names are plain text: no style at all
    assert stringify(pandoc_ast(usertext.plain("R *O* ^1^"))["blocks"][0]["c"]) == "R *O* ^1^"


def test_a_super_or_subscript_holding_markup_is_text():
    """Pandoc re-reads the inside of ^...^ and ~...~ with escapes and entities undone, so
    only characters that are never syntax may be styled there; anything else is text."""
    for typed in (
        "P^![](/etc/passwd)^",
        "x~<svg/onload=alert(1)>~",
        "a^&#33;&#91;&#93;&#40;/etc/hostname&#41;^",
        "*in^![](/etc/passwd)^*",
        "**b~[x](javascript:alert(1))~**",
        "t^@kaplan1958^",
        'r^`#read("f")`{=typst}^',
        "q^\\\\![](x)^",
        "z~\u200b~",
    ):
        doc = pandoc_ast(usertext.styled(typed))
        kinds = {e["t"] for e in elements(doc["blocks"])}
        assert kinds <= TEXT_ELEMENTS | {"Para"} and not kinds & {"Superscript", "Subscript"}, (typed, kinds)
        assert stringify(doc["blocks"][0]["c"]) == typed.replace("**", "").replace("*", ""), typed
    doc = pandoc_ast(usertext.styled("Kymriah^®^ 10^-6^ CD3ζ~(+)~ *CD19^+^*"))
    inlines = doc["blocks"][0]["c"]
    scripts = [(e["t"], stringify(e["c"])) for e in elements(inlines) if e["t"] in ("Superscript", "Subscript")]
    assert scripts == [("Superscript", "®"), ("Superscript", "-6"), ("Subscript", "(+)"), ("Superscript", "+")]


def test_an_email_address_is_a_mailto_link_and_anything_else_text():
    doc = pandoc_ast(usertext.mailto("zoë.q+cart@example.org"))  # not ASCII: text
    assert not [e for e in elements(doc) if e["t"] == "Link"]
    doc = pandoc_ast(usertext.mailto("z.q+cart@example.org"))
    link = next(e for e in elements(doc) if e["t"] == "Link")
    assert link["c"][2][0] == "mailto:z.q%2Bcart@example.org" and stringify(link["c"][1]) == "z.q+cart@example.org"


def test_the_product_sentence_is_displayed_as_markdown_for_quarto(hostile_settings):
    """An inline expression's text/markdown is what Quarto inserts (its text/plain would be
    the repr, escaped by Quarto's own partial rule); the built-in renderer inserts str()."""
    from IPython.core.formatters import DisplayFormatter

    settings, _ = hostile_settings
    sentence = settings.product_sentence()
    data, _ = DisplayFormatter().format(sentence)
    assert data["text/markdown"] == str(sentence)
    assert "\\<script\\>" in data["text/markdown"] and "\\@kaplan1958" in data["text/markdown"]


# --------------------------------------------------------------------------- rendered


def witness_server(folder: Path) -> str:
    """The address of an HTTP server on 127.0.0.1 that writes the path of every request
    it gets to ``folder/requests.log`` (a daemon thread: it serves while this process
    lives, i.e. during the render). A first request, "/control", shows that it logs."""
    log = folder / "requests.log"
    log.write_text("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            with log.open("a") as f:
                f.write(self.path + "\n")
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(address + "/control", timeout=10)
    return address


def _hostile_study(directory: Path) -> dict:
    secret = directory / "secret.png"
    secret.write_text(SECRET + "\n")
    study = directory / "study.yml"
    fields = study_fields(secret, witness_server(directory))
    study.write_text(
        yaml.safe_dump(study_yaml(fields, COHORT, KINETICS, report_parameter("cutoff")), allow_unicode=True),
        encoding="utf-8",
    )
    return {"study": study, "to": "html,pdf,docx"}


register_render("hostile-text", ("test_hostile_text",), _hostile_study)


@pytest.fixture(scope="module")
def hostile_report():
    proc, out = background_render("hostile-text")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Rendered(out)


def chromium_dom(html: Path, profile: Path) -> str:
    """The DOM of ``html`` after its scripts ran, in headless Chromium without network."""
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=3000",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_no_script_ran(html: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: the HTML cannot be opened in a browser here")
    control = tmp_path / "control.html"
    control.write_text(
        "<html><body><script>document.documentElement.setAttribute('data-ran','RAN'+'-control')"
        "</script><img src='missing.png' onerror=\"document.body.setAttribute('data-x','RAN'+'-img')\">"
        "</body></html>"
    )
    seen = chromium_dom(control, tmp_path / "profile-control")
    assert "RAN-control" in seen and "RAN-img" in seen  # the check would see a script that ran
    dom = chromium_dom(html, tmp_path / "profile")
    assert "TITLE-START" in dom  # the page was loaded
    assert not re.findall(r"RAN-\w+", dom), re.findall(r"RAN-\w+", dom)


def assert_nothing_was_fetched(folder: Path) -> None:
    """The witness server of the render in ``folder`` got its control request only."""
    assert (folder / "requests.log").read_text().split() == ["/control"]


def assert_no_raw_markup(rendered: Rendered) -> None:
    """No raw OpenXML in the DOCX, no Typst run in the PDF, no javascript: link."""
    with zipfile.ZipFile(rendered.docx) as z:
        document = z.read("word/document.xml").decode()
        assert "<w:t>OPENXMLRAW" not in document and "OPENXMLRAW" in document
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert all(n.endswith(".png") for n in media), media  # the report's figures only
    assert "[TYPSTRAW" in re.sub(r"\s+", "", rendered.pdf_text)  # printed with its brackets, not run
    page = rendered.html.read_text(encoding="utf-8")
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", page, re.IGNORECASE)
    assert not re.search(r"<img[^>]*127\.0\.0\.1", page)


def assert_nothing_was_read(rendered: Rendered) -> None:
    """No output holds the secret file (as text, base64 or bytes) or the environment
    variable a shortcode would print."""
    secret = (SECRET + "\n").encode()
    encoded = base64.b64encode(secret).decode()
    page = rendered.html.read_text(encoding="utf-8")
    for leak in (SECRET, encoded, encoded[:-4], SECRET_ENV):
        assert leak not in page, leak
    for text in (rendered.pdf_text, rendered.docx_text):
        assert SECRET not in text and SECRET_ENV not in text
    assert secret not in rendered.pdf.read_bytes()
    with zipfile.ZipFile(rendered.docx) as z:
        for name in z.namelist():
            assert secret not in z.read(name) and SECRET_ENV.encode() not in z.read(name), name


@pytest.mark.slow
def test_no_script_runs_in_the_rendered_html(hostile_report, tmp_path):
    assert_no_script_ran(hostile_report.html, tmp_path)


@pytest.mark.slow
def test_no_file_named_in_a_field_reaches_an_output(hostile_report):
    assert_nothing_was_read(hostile_report)


@pytest.mark.slow
def test_no_address_named_in_a_field_is_fetched_and_no_raw_markup_passes(hostile_report):
    assert_nothing_was_fetched(hostile_report.out_dir.parent)
    assert_no_raw_markup(hostile_report)


@pytest.mark.slow
def test_every_field_is_printed_as_typed_in_every_format(hostile_report):
    for name, body in (
        ("html", hostile_report.html_text),
        ("pdf", hostile_report.pdf_text),
        ("docx", hostile_report.docx_text),
    ):
        # Typst hyphenates long words at any line end ("VEC-" / "TOR-START"): compared
        # without spaces and hyphens
        squashed = re.sub(r"[\s-]+", "", body)
        for field in RENDERED_FIELDS:
            if field == "email":
                continue
            marker = field.upper().replace("_", "")
            assert f"{marker}START" in squashed.replace("_", "") and f"{marker}END" in squashed.replace("_", ""), (
                name,
                field,
            )
        assert "@kaplan1958 [@kaplan1958]" in body, name  # a citation would print [n]
        assert "{=typst}" in body and "<script>" in body, name
        # markup inside a super/subscript is printed, markers included
        assert "^@kaplan1958^" in body and "{=openxml}~" in squashed, name
        assert "^`#text(fill:red)[TYPSTRAWtitle]`{=typst}^" in squashed, name
        # printed, not run (the PDF's text layer drops the zero-width space)
        assert "{{< env CARTOX_HOSTILE_ENV >}}" in body.replace("\u200b", ""), name
        assert "{{< meta pagetitle >}}" in body.replace("\u200b", ""), name
    assert "<script>document.title='RAN'+'-email'</script>" in hostile_report.html_text


# --------------------------------------------------------------------------- real Quarto

QUARTO = shutil.which("quarto")


def _hostile_study_for_quarto(directory: Path) -> dict:
    return {"quarto_args": ("-P", f"study:{_hostile_study(directory)['study']}")}


if QUARTO is not None:
    register_render(
        "hostile-text-quarto", ("test_hostile_text",), _hostile_study_for_quarto, run=render_with_quarto, long=True
    )


@pytest.mark.slow
@pytest.mark.skipif(QUARTO is None, reason="quarto is not on the PATH (README: 'Checking against real Quarto')")
def test_real_quarto_renders_the_same_fields_as_text(tmp_path):
    """Quarto executes the same chunks (the title block and byline are displayed Markdown,
    the product an inline expression): the same checks on its HTML, PDF and DOCX (the
    manuscript rendered from a copy of the project, in the background from the start of the
    session: conftest.render_with_quarto)."""
    proc, out = background_render("hostile-text-quarto")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rendered = Rendered(out)
    assert_no_script_ran(rendered.html, tmp_path)
    assert_nothing_was_read(rendered)
    assert_nothing_was_fetched(out.parent)  # the folder of the study file and its witness server
    assert_no_raw_markup(rendered)
    for name, body in (("html", rendered.html_text), ("docx", rendered.docx_text), ("pdf", rendered.pdf_text)):
        squashed = re.sub(r"[\s-]+", "", body)  # Quarto's Typst hyphenates: "VEC-" / "TOR-START"
        for field in RENDERED_FIELDS:
            if field != "email":
                marker = field.upper().replace("_", "")
                assert f"{marker}START" in squashed.replace("_", "") and f"{marker}END" in squashed.replace("_", ""), (
                    name,
                    field,
                )
        assert "@kaplan1958 [@kaplan1958]" in body, name
        assert "env CARTOX_HOSTILE_ENV" in body and "meta pagetitle" in body, name
