"""`_quarto.yml` + document front matter -> one validated configuration."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from renderer.errors import RenderError

FORMATS = ("html", "pdf", "docx")  # CLI names; Quarto's format key for pdf is `typst`
FORMAT_KEYS = {"html": "html", "pdf": "typst", "docx": "docx"}

# Per-format options the renderer implements.
FORMAT_OPTIONS = {
    "html": {
        "embed-resources",
        "self-contained",
        "toc",
        "toc-depth",
        "toc-title",
        "number-sections",
        "fig-dpi",
        "fig-width",
        "fig-height",
        "css",
    },
    "typst": {
        "papersize",
        "margin",
        "fontsize",
        "mainfont",
        "number-sections",
        "fig-dpi",
        "fig-width",
        "fig-height",
        "toc",
        "toc-depth",
        "columns",
        "keep-typ",
        "include-in-header",
        "citeproc",
    },
    "docx": {"toc", "toc-depth", "number-sections", "fig-dpi", "fig-width", "fig-height", "reference-doc"},
}
# Purely cosmetic Quarto options without a counterpart here: accepted with a note.
COSMETIC = {
    "theme",
    "code-fold",
    "code-tools",
    "anchor-sections",
    "smooth-scroll",
    "title-block-banner",
    "highlight-style",
    "lang",
    "date-format",
    "link-citations",
    "citations-hover",
    "crossrefs-hover",
    "fig-align",
    "html-math-method",
    "grid",
    "fontcolor",
    "linkcolor",
    "page-layout",
    "reference-location",
    "citation-location",
    "toc-location",
}
TOP_LEVEL = {
    "project",
    "format",
    "execute",
    "bibliography",
    "csl",
    "title",
    "subtitle",
    "author",
    "date",
    "abstract",
    "jupyter",
    "engine",
    "keywords",
    "number-sections",
    "toc",
    "fig-width",
    "fig-height",
    "fig-dpi",
    "params",
    "lang",
    "abstract-title",
    "editor",
    "date-format",
    "link-citations",
    "toc-title",
    "toc-depth",
    "execute-dir",
    "filters",
    "crossref",
}
# `crossref:` options: the numbers of figures and tables, as Quarto's list form of
# `fig-labels`/`tbl-labels` ("[S1]{}[S2]{}...": a supplement's "Table S1"), or arabic.
CROSSREF = {"fig-labels", "tbl-labels"}
EXECUTE = {"echo", "warning", "eval", "output", "include", "freeze", "cache", "error", "enabled"}
DOC_ONLY = {"title", "subtitle", "author", "date", "abstract", "keywords", "lang", "abstract-title"}


@dataclass
class Config:
    project_dir: Path
    doc_path: Path
    meta: dict  # merged document-level metadata (title, author, ...)
    formats: dict  # "html"/"pdf"/"docx" -> merged options
    execute: dict
    output_dir: Path
    bibliography: list
    csl: Path | None
    configured: list  # formats listed under `format:` (the default --to)
    filters: list = None  # Lua filter paths (run by Pandoc after the renderer's own)
    crossref: dict = None  # "fig"/"tbl" -> the numbers to use in order (None: 1, 2, ...)


def _filters(entries, project_dir, where):
    """`filters:` entries as Lua files. Quarto's `at:` entry points have no counterpart
    in a single Pandoc run: every filter runs after the document is fully resolved."""
    paths = []
    for entry in entries if isinstance(entries, list) else [entries]:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str) or not path.endswith(".lua"):
            raise RenderError(f"unsupported filter {entry!r} (only Lua filter files)", where)
        paths.append(_project_file(project_dir, path, "filter", where))
    return paths


def _project_file(project_dir, path: str, what: str, where) -> Path:
    """A file an option names, relative to the project folder (as Quarto reads it), resolved;
    an error naming the option when it is missing."""
    full = (project_dir / path).resolve()
    if not full.is_file():
        raise RenderError(f"{what} file not found: {path}", where)
    return full


def _merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load(doc_path, doc_meta, notes=sys.stderr):
    doc_path = Path(doc_path).resolve()
    project_dir = doc_path.parent
    qy = project_dir / "_quarto.yml"
    proj = {}
    if qy.exists():
        try:
            proj = yaml.safe_load(qy.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise RenderError(f"invalid YAML: {exc}", str(qy)) from None
    # `format: {html: default}` in a document: the format with the project's options
    if isinstance(doc_meta.get("format"), dict):
        doc_meta = {**doc_meta, "format": {k: ({} if v == "default" else v) for k, v in doc_meta["format"].items()}}
    meta = _merge(proj, doc_meta)
    where = f"{qy}" if qy.exists() else str(doc_path)
    for key in meta:
        if key not in TOP_LEVEL and key not in COSMETIC:
            raise RenderError(f"unsupported option '{key}'", where)
    filters = _filters(meta.get("filters") or [], project_dir, where)
    if meta.get("engine", "jupyter") != "jupyter" or meta.get("jupyter", "python3") != "python3":
        raise RenderError("only the jupyter engine with the python3 kernel is supported", where)
    project = meta.get("project") or {}
    for key in project:
        if key not in {"type", "output-dir", "render", "execute-dir"}:
            raise RenderError(f"unsupported project option '{key}'", where)
    if project.get("type", "default") != "default":
        raise RenderError(f"unsupported project type '{project['type']}'", where)
    execute = {"echo": True, "warning": True, "eval": True, "output": True, "include": True}
    for key, value in (meta.get("execute") or {}).items():
        if key not in EXECUTE:
            raise RenderError(f"unsupported execute option '{key}'", where)
        if key == "error" and value:
            raise RenderError("execute: error: true is not supported (a failing chunk fails the render)", where)
        execute[key] = value

    formats = {}
    fmt_cfg = meta.get("format") or {"html": {}}
    if isinstance(fmt_cfg, str):
        fmt_cfg = {fmt_cfg: {}}
    for key in fmt_cfg:
        if key not in FORMAT_OPTIONS:
            raise RenderError(f"unsupported format '{key}' (supported: html, typst, docx)", where)
    shared = {
        k: meta[k]
        for k in ("toc", "toc-depth", "toc-title", "number-sections", "fig-width", "fig-height", "fig-dpi")
        if k in meta
    }
    for cli_name in FORMATS:
        key = FORMAT_KEYS[cli_name]
        opts = dict(shared)
        opts.update((fmt_cfg.get(key) or {}) if key in fmt_cfg else {})
        if key == "typst" and opts.get("citeproc") is False:
            raise RenderError(
                "typst citeproc: false is not supported (citations are always "
                "formatted by Pandoc's citeproc with the project's CSL)",
                where,
            )
        if "include-in-header" in opts:
            incs = opts["include-in-header"]
            incs = incs if isinstance(incs, list) else [incs]
            opts["include-in-header"] = []
            for inc in incs:
                if not isinstance(inc, str):
                    raise RenderError(f"unsupported include-in-header entry {inc!r} (a file path)", where)
                opts["include-in-header"].append(_project_file(project_dir, inc, "include-in-header", where))
        if opts.get("reference-doc"):  # a path of the project, as Quarto reads it
            opts["reference-doc"] = _project_file(project_dir, str(opts["reference-doc"]), "reference-doc", where)
        for k in list(opts):
            if k in COSMETIC:
                print(f"note: {key} option '{k}' is ignored by the built-in renderer", file=notes)
                del opts[k]
            elif k not in FORMAT_OPTIONS[key] and k not in shared:
                raise RenderError(f"unsupported {key} option '{k}'", where)
        formats[cli_name] = opts

    bib = meta.get("bibliography") or []
    bib = [bib] if isinstance(bib, str) else list(bib)
    bib_paths = []
    for b in bib:
        p = (project_dir / b).resolve()
        if not p.exists():
            raise RenderError(f"bibliography file not found: {b}", where)
        bib_paths.append(p)
    csl = None
    if meta.get("csl"):
        csl = (project_dir / meta["csl"]).resolve()
        if not csl.exists():
            raise RenderError(f"csl file not found: {meta['csl']}", where)
    doc_meta_out = {k: meta[k] for k in DOC_ONLY if k in meta}
    labels = {}
    for key, value in (meta.get("crossref") or {}).items():
        if key not in CROSSREF:
            raise RenderError(f"unsupported crossref option '{key}' (supported: {', '.join(sorted(CROSSREF))})", where)
        labels[key.split("-")[0]] = _labels(value, key, where)
    return Config(
        project_dir,
        doc_path,
        doc_meta_out,
        formats,
        execute,
        (project_dir / project.get("output-dir", ".")).resolve(),
        bib_paths,
        csl,
        [c for c in FORMATS if FORMAT_KEYS[c] in fmt_cfg],
        filters,
        {k: v for k, v in labels.items() if v is not None},
    )


def _labels(value, key, where):
    """The numbers `fig-labels`/`tbl-labels` give, in order; None for arabic numbers.
    Quarto reads a list of numbers written as empty-attribute spans: "[S1]{}[S2]{}"."""
    if value == "arabic":
        return None
    found = re.findall(r"\[([^\[\]]+)\]\{\}", value) if isinstance(value, str) else []
    if not found or re.sub(r"\[[^\[\]]+\]\{\}", "", value).strip():
        raise RenderError(
            f"crossref {key}: {value!r} is not supported (use arabic, or the numbers "
            f'as Quarto reads a list: "[S1]{{}}[S2]{{}}")',
            where,
        )
    return found


def parse_formats(parser, to: str | None) -> list[str] | None:
    """`--to` as a list of formats (None: not given); an empty or unknown list is a usage
    error of ``parser`` (exit 2)."""
    if to is None:
        return None
    formats = [f.strip() for f in to.split(",") if f.strip()]
    if not formats:
        parser.error(f"--to {to!r} names no format (use html, pdf and/or docx, comma-separated)")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"--to: unknown output format '{unknown[0]}' (use html, pdf, docx)")
    return formats
