"""Pandoc (html, docx, typst) and Typst (pdf) invocations."""

from __future__ import annotations

import datetime
import re
import subprocess
import threading
from pathlib import Path

import yaml

from renderer.errors import RenderError

HERE = Path(__file__).parent
READER = "markdown-implicit_figures"  # figures are built explicitly by the assembler


def pandoc_path():
    """The Pandoc bundled with pypandoc-binary, never one on the PATH.

    `pypandoc.get_pandoc_path()` prefers the PATH, where a system Pandoc 2.x (Debian's
    2.17) lacks `--embed-resources` and the typst writer.
    """
    import pypandoc

    files = Path(pypandoc.__file__).parent / "files"
    for name in ("pandoc", "pandoc.exe"):
        if (files / name).is_file():
            return str(files / name)
    raise RenderError(
        f"the Pandoc bundled with pypandoc-binary is missing from {files}: reinstall the pinned requirements (make env)"
    )


# Running Pandoc processes, so that a SIGTERM can stop them before the temporary
# folder they write into is removed (cli.py).
_running = set()
_running_lock = threading.Lock()


def stop_running():
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def _run(cmd, workdir):
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _running_lock:
        _running.add(proc)
    try:
        out, err = proc.communicate()
    finally:
        with _running_lock:
            _running.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _authors(value):
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    out = []
    for a in items:
        if isinstance(a, dict):
            name = a.get("name")
            if isinstance(name, dict):
                name = name.get("literal") or " ".join(filter(None, [name.get("given"), name.get("family")]))
            out.append(str(name))
        else:
            out.append(str(a))
    return out


def metadata(meta, bibliography, csl, workdir=None):
    """The document's metadata for Pandoc. ``workdir`` (Pandoc's working folder): the citation
    style and the bibliographies are copied into it and named relative to it, so that no local
    path of the project reaches the outputs (Pandoc's DOCX writer keeps every metadata field it
    does not know as a custom document property: ``csl = /home/<user>/<project>/vancouver.csl``
    travelled with the manuscript)."""
    m = {k: meta[k] for k in ("title", "subtitle", "abstract", "lang", "keywords", "abstract-title") if k in meta}
    if "author" in meta:
        m["author"] = _authors(meta["author"])
    if "date" in meta:
        date = meta["date"]
        if date in ("today", "now", "last-modified"):
            date = datetime.date.today().isoformat()
        m["date"] = str(date)
    if "abstract" in m and "abstract-title" not in m:
        m["abstract-title"] = "Abstract"
    if bibliography:
        m["bibliography"] = [_local_copy(b, workdir, f"bibliography-{i}") for i, b in enumerate(bibliography)]
    if csl:
        m["csl"] = _local_copy(csl, workdir, "style")
    m["link-citations"] = True
    return m


def _local_copy(path, workdir, stem: str) -> str:
    """``path`` copied into ``workdir``/citations (its extension kept: Pandoc reads a
    bibliography's format from it), as the relative name Pandoc finds it by; the path as it
    is without ``workdir``."""
    if workdir is None:
        return str(path)
    import shutil

    source = Path(path)
    folder = Path(workdir) / "citations"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(source, folder / f"{stem}{source.suffix}")
    return f"citations/{stem}{source.suffix}"


def run_pandoc(markdown_path, out_path, to, args, workdir, filters=()):
    cmd = [
        pandoc_path(),
        str(markdown_path),
        "-f",
        READER,
        "-t",
        to,
        "-o",
        str(out_path),
        "--citeproc",
        "--lua-filter",
        str(HERE / "callouts.lua"),
        *(f"--lua-filter={f}" for f in filters),
        *args,
    ]
    proc = _run(cmd, workdir)
    problems = [
        ln
        for ln in proc.stderr.splitlines()
        if re.search(r"citation .* not found|Could not fetch|could not find|Could not find", ln)
    ]
    if proc.returncode != 0 or problems:
        detail = "; ".join(problems) or proc.stderr.strip()[-800:]
        raise RenderError(f"pandoc ({to}) failed: {detail}")


def html(markdown_path, out_path, opts, workdir, resource_path, filters=()):
    args = [
        "--standalone",
        f"--resource-path={resource_path}",
        "--include-in-header",
        str(workdir / "style.html"),
        "--section-divs",
    ]
    (workdir / "style.html").write_text(f"<style>\n{(HERE / 'style.css').read_text()}</style>\n")
    if opts.get("toc"):
        args += ["--toc", f"--toc-depth={opts.get('toc-depth', 3)}"]
        args += ["-M", f"toc-title={opts.get('toc-title', 'Contents')}"]
    if opts.get("css"):
        args += ["--css", str(opts["css"])]
    else:
        # Pandoc's --embed-resources takes 2/3 of the HTML conversion (it re-reads and
        # re-encodes every figure): when the page's only resources are the figures this
        # render wrote, they are embedded here as Pandoc would (`role="img"`, base64).
        run_pandoc(markdown_path, out_path, "html5", args, workdir, filters)
        if _embed_figures(out_path, workdir):
            _byline_under_title(out_path)
            return
    run_pandoc(markdown_path, out_path, "html5", [*args, "--embed-resources"], workdir, filters)
    _byline_under_title(out_path)


BYLINE_RE = re.compile(r'<div class="byline">.*?</div>\s*', re.S)
TOC_RE = re.compile(r'<nav id="TOC"')


def _byline_under_title(out_path):
    """Put the byline (authors, affiliations) right under the title block, before the table
    of contents Pandoc's template places there (in Quarto's HTML the contents sit in the
    margin, and the byline already follows the title)."""
    page = Path(out_path).read_text(encoding="utf-8")
    byline, toc = BYLINE_RE.search(page), TOC_RE.search(page)
    if byline is None or toc is None or toc.start() > byline.start():
        return
    block = byline.group(0)
    page = page[: byline.start()] + page[byline.end() :]
    at = TOC_RE.search(page).start()
    Path(out_path).write_text(page[:at] + block + page[at:], encoding="utf-8")


RESOURCE_TAG_RE = re.compile(r"<(?:img|script|link|source|video|audio|iframe|embed|object|track|input)\b[^>]*>", re.I)
FIGURE_IMG_RE = re.compile(r'<img src="(report_files/[\w.-]+\.(png|jpeg))"([^<>]*)>')
ALT_RE = re.compile(r'\balt="([^"]*)"')
MIME = {"png": "image/png", "jpeg": "image/jpeg"}
TAG_RE = re.compile(r"<[^<>]*>")
LINE_BREAK_RE = re.compile(r"\s*\n\s*")
SINGLE_QUOTED_RE = re.compile(r"""(\s[\w:.-]+)\s*=\s*'([^'"]*)'""")


def _embed_figures(out_path, workdir):
    """Embed the figures of `workdir/report_files` into the HTML; False (nothing written)
    when the page refers to any other resource, or a figure is missing."""
    import base64

    page = Path(out_path).read_text(encoding="utf-8")
    for tag in RESOURCE_TAG_RE.findall(page):
        m = FIGURE_IMG_RE.match(tag)
        if (
            not m
            or not (Path(workdir) / m.group(1)).is_file()
            or re.search(r"\b(?:src|href|data|srcset|poster)\s*=", m.group(3), re.I)
        ):
            return False

    def data_uri(m):
        data = base64.b64encode((Path(workdir) / m.group(1)).read_bytes()).decode("ascii")
        alt = ALT_RE.search(m.group(3))
        label = f' aria-label="{alt.group(1)}"' if alt and alt.group(1) else ""
        return f'<img role="img"{label} src="data:{MIME[m.group(2)]};base64,{data}"{m.group(3)}>'

    # and write the page out as --embed-resources re-writes it: a tag on one line, attribute
    # values in double quotes, `'` as &#39;
    def tag(m):
        return SINGLE_QUOTED_RE.sub(r'\1="\2"', LINE_BREAK_RE.sub(" ", m.group(0)))

    page = TAG_RE.sub(tag, page).replace("&#x27;", "&#39;")
    Path(out_path).write_text(FIGURE_IMG_RE.sub(data_uri, page), encoding="utf-8")
    return True


def docx(markdown_path, out_path, opts, workdir, resource_path, filters=()):
    args = [f"--resource-path={resource_path}"]
    if opts.get("toc"):
        args += ["--toc", f"--toc-depth={opts.get('toc-depth', 3)}"]
    ref = opts.get("reference-doc")
    args += ["--reference-doc", str(ref) if ref else str(reference_docx(workdir))]
    run_pandoc(markdown_path, out_path, "docx", args, workdir, filters)


def typst_pdf(markdown_path, out_path, opts, workdir, resource_path, filters=()):
    typ = out_path.with_suffix(".typ")
    margin = opts.get("margin", {"x": "2cm", "y": "2cm"})
    if not isinstance(margin, dict):
        margin = {"x": margin, "y": margin}
    # Template variables go through a metadata file: `-V` cannot set the nested margin map.
    layout = {
        "papersize": opts.get("papersize", "a4"),
        "fontsize": str(opts.get("fontsize", "10pt")),
        "margin": {k: str(v) for k, v in margin.items()},
        "page-numbering": "1",
    }
    if opts.get("mainfont"):
        layout["mainfont"] = opts["mainfont"]
    if opts.get("columns"):
        layout["columns"] = opts["columns"]
    (workdir / "typst-layout.yaml").write_text(yaml.safe_dump(layout))
    args = [
        f"--resource-path={resource_path}",
        "--include-in-header",
        str(HERE / "header.typ"),
        "--metadata-file",
        str(workdir / "typst-layout.yaml"),
    ]
    # The project's own Typst rules (_quarto.yml `include-in-header`, shared with Quarto)
    # come after the renderer's, so they win where both set something.
    for inc in opts.get("include-in-header") or []:
        args += ["--include-in-header", str(inc)]
    if opts.get("toc"):
        args += ["--toc", f"--toc-depth={opts.get('toc-depth', 3)}"]
    run_pandoc(markdown_path, typ, "typst", args, workdir, filters)
    import typst

    try:
        typst.compile(str(typ), output=str(out_path), root=str(workdir))
    except Exception as exc:  # typst raises its own error types with the compiler message
        msg = str(exc).strip().splitlines()
        raise RenderError(f"typst compilation failed: {' '.join(msg[:6])} (see {typ.name})") from None


#: The Word layout of the PDF (``_quarto.yml`` typst: A4, 2 cm margins, 10 pt; tables in 8 pt,
#: typst-include.typ): pandoc's default is US Letter in 12 pt, where an 11-column Table 1
#: broke "0.785" into "0./78/5" (review 31, Word).
DOCX_PAGE = (
    '<w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="709" w:footer="709" w:gutter="0"/>'
)
DOCX_BODY_HALF_POINTS = 20
DOCX_TABLE_HALF_POINTS = 16
DOCX_CELL_MARGIN = 43  # twentieths of a point: 0.75 mm


def reference_docx(workdir, out=None):
    """Pandoc's default reference.docx with the PDF's page (A4, 2 cm margins) and type sizes
    (10 pt text; 8 pt in tables, whose cells pandoc writes in the 'Compact' style, as tight
    lists), plus a bordered, shaded 'Callout' paragraph style. ``out``: where to write it (the
    project's ``cartox-reference.docx`` is this file, which _quarto.yml gives both renderers)."""
    import zipfile

    if out is None:
        out = Path(workdir) / "reference.docx"
        if out.exists():  # built once per render
            return out
    out = Path(out)
    data = subprocess.run(
        [pandoc_path(), "--print-default-data-file", "reference.docx"], capture_output=True, check=True
    ).stdout
    src = Path(workdir) / "reference-default.docx"
    src.write_bytes(data)
    style = (
        '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Callout">'
        '<w:name w:val="Callout"/><w:basedOn w:val="BodyText"/><w:qFormat/>'
        "<w:pPr><w:pBdr>"
        '<w:top w:val="single" w:sz="4" w:space="4" w:color="E0A800"/>'
        '<w:left w:val="single" w:sz="24" w:space="4" w:color="E0A800"/>'
        '<w:bottom w:val="single" w:sz="4" w:space="4" w:color="E0A800"/>'
        '<w:right w:val="single" w:sz="4" w:space="4" w:color="E0A800"/>'
        '</w:pBdr><w:shd w:val="clear" w:color="auto" w:fill="FFF8E1"/>'
        '<w:ind w:left="144" w:right="144"/></w:pPr></w:style>'
    )
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "word/styles.xml":
                content = _sized_styles(content.decode("utf-8")).replace("</w:styles>", style + "</w:styles>").encode()
            elif item.filename == "word/document.xml":
                text = content.decode("utf-8")
                if "<w:sectPr>" not in text:
                    raise RenderError("pandoc's reference.docx has no section properties to set the page in")
                content = text.replace("<w:sectPr>", "<w:sectPr>" + DOCX_PAGE, 1).encode()
            zout.writestr(item, content)
    return out


def _sized_styles(styles: str) -> str:
    """styles.xml with the body size of the document defaults and the table size in 'Compact'."""
    sized, n = re.subn(
        r'(<w:rPrDefault>.*?<w:sz w:val=")24("\s*/>\s*<w:szCs w:val=")24(")',
        rf"\g<1>{DOCX_BODY_HALF_POINTS}\g<2>{DOCX_BODY_HALF_POINTS}\g<3>",
        styles,
        count=1,
        flags=re.S,
    )
    compact = re.compile(r'(<w:style w:type="paragraph" w:customStyle="1" w:styleId="Compact">.*?)(</w:style>)', re.S)
    run = f'<w:rPr><w:sz w:val="{DOCX_TABLE_HALF_POINTS}"/><w:szCs w:val="{DOCX_TABLE_HALF_POINTS}"/></w:rPr>'
    sized, m = compact.subn(lambda mm: mm.group(1) + run + mm.group(2), sized, count=1)
    # cell margins of 0.75 mm instead of 1.9 mm a side: an 11-column table gives 2.5 cm back to
    # its numbers (the PDF's cells are as tight)
    table = re.compile(r'(<w:style w:type="table" w:default="1" w:styleId="Table">.*?</w:style>)', re.S)
    sized, k = table.subn(
        lambda mm: re.sub(
            r'<w:(left|right) w:w="108" w:type="dxa" />',
            rf'<w:\1 w:w="{DOCX_CELL_MARGIN}" w:type="dxa" />',
            mm.group(1),
        ),
        sized,
        count=1,
    )
    if n != 1 or m != 1 or k != 1 or f'w:w="{DOCX_CELL_MARGIN}"' not in sized:
        raise RenderError("pandoc's reference.docx styles changed: cannot set the Word type sizes")
    return sized


def write_markdown(path, meta, body):
    header = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"
    Path(path).write_text(header + body, encoding="utf-8")
