"""`python -m renderer report.qmd [supplement.qmd ...] [-P name:value ...] [--to html,pdf,docx] [--output-dir DIR]`.

Several documents (a manuscript and its supplement) are rendered in the order given and
published together, in one swap of the output folder. A later document whose `parameters`
cell declares `pages` receives, as a JSON string, the page of every labelled heading in
the PDFs of the documents rendered before it (``{"report": {"sec-methods": 3, ...}}``):
the supplement's STROBE checklist points to the manuscript's pages with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analysis.inputs.paths import PATH_PARAMETERS
from renderer import (
    assemble,
    conditions,
    crossref,
    execute,
    incremental,
    inline_log,
    journal,
    leftovers,
    outputs,
    pandoc,
    project,
    qmd,
    worker,
)
from renderer.errors import RenderError


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that `finally` blocks clean up."""


#: Wall time per stage of the current render (seconds), printed with "done in".
STAGES: dict = {}
#: The working folder in the system's temporary folder (`--debug` keeps it, as
#: `cartox-debug-render-XXXX`, which the sweep of leftovers leaves alone).
WORK_PREFIX = "cartox-render-"


def _stage(name, since):
    STAGES[name] = STAGES.get(name, 0.0) + time.monotonic() - since
    return time.monotonic()


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def _scalar(value):
    """-P values: numbers and booleans as in Quarto's YAML parsing; everything else a string."""
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none", "~"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _path_param(value):
    # Relative paths are taken relative to where the command runs; the kernel runs in the
    # project directory, so make them absolute when the two differ.
    if value and not os.path.isabs(value) and os.path.exists(value):
        return os.path.abspath(value)
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m renderer", description=__doc__)
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="input",
        help="the .qmd document(s), rendered in this order (their directory is the project directory)",
    )
    p.add_argument(
        "-P",
        "--execute-param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="override a parameter of the `parameters` cell",
    )
    p.add_argument("--study", help="shorthand for -P study:PATH (a study file; default: study.yml when present)")
    p.add_argument("--cohort", help="shorthand for -P cohort:PATH")
    p.add_argument("--kinetics", help="shorthand for -P kinetics:PATH ('none' or empty: no kinetics table)")
    p.add_argument("--cutoff", help="shorthand for -P cutoff:DATE")
    p.add_argument("--to", help="comma-separated formats: html,pdf,docx (default: those in _quarto.yml)")
    p.add_argument("--output-dir", help="output directory (default: project output-dir)")
    p.add_argument("--keep-md", action="store_true", help="also write the resolved markdown")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="execute the document even when a cached execution matches (and do not store one)",
    )
    p.add_argument(
        "--inline-log",
        metavar="FILE",
        help="write each inline expression and its value, in document order (JSON lines)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    args = p.parse_args(argv)
    args.formats = project.parse_formats(p, args.to)
    args.input = args.inputs[0]
    folders = {Path(i).resolve().parent for i in args.inputs}
    if len(folders) > 1:
        p.error("the documents rendered together must be in one project folder")
    stems = [Path(i).stem for i in args.inputs]
    if len(set(stems)) < len(stems):
        p.error("a document is named twice")
    return args


def params_from(args):
    params = {}
    for item in args.params:
        if ":" not in item:
            raise RenderError(f"-P expects NAME:VALUE, got '{item}'")
        name, value = item.split(":", 1)
        name = name.strip()
        # a file name stays text: `-P study:2023` names the file 2023, not the number
        params[name] = value.strip() if name in PATH_PARAMETERS else _scalar(value.strip())
    cwd_is_project = Path.cwd().resolve() == Path(args.inputs[0]).resolve().parent
    if args.study is not None:
        params["study"] = args.study if cwd_is_project else _path_param(args.study)
    if args.cohort is not None:
        params["cohort"] = args.cohort if cwd_is_project else _path_param(args.cohort)
    if args.kinetics is not None:
        kin = args.kinetics.strip()
        params["kinetics"] = "none" if not kin else (kin if cwd_is_project else _path_param(kin))
    if args.cutoff is not None:
        params["cutoff"] = args.cutoff
    return params


def run_or_reuse(doc, nb, steps, params, cfg, fig, use_cache=True, light_worker=None):
    """Fill chunk outputs and inline values: from the execution cache where the setup's
    inputs (chunk code, parameters, data file contents, library sources, versions) and each
    later chunk's or inline expression's own code and dependencies match, executing only
    the rest (renderer.incremental); without the cache, by executing the notebook.

    Execution goes to `light_worker` (renderer.worker, started while the document was
    parsed) when given; a document it cannot run (a display update, or any failure) is
    then run in a Jupyter kernel, which reports errors as always."""

    def run(nb, steps, cwd, progress=None):
        if light_worker is not None and light_worker.available:
            try:
                return light_worker.execute(nb, steps, cwd, progress=progress, warm=not use_cache)
            except worker.TimedOut:
                raise  # a kernel would take as long
            except RenderError as exc:
                if exc.refused:
                    raise  # a kernel would refuse the same data
                _progress(f"not run by the light worker ({exc}): executing in a Jupyter kernel")
        return execute.execute(nb, steps, cwd, progress=progress)

    if use_cache:
        # (a partial run that fails makes incremental.run execute the whole document)
        partial = light_worker.execute if light_worker is not None else None
        incremental.run(doc, nb, steps, params, cfg, fig, _progress, run, partial_fn=partial)
    else:
        run(nb, steps, cfg.project_dir, progress=_progress)


def render(args, light_worker=None):
    """Render `args.inputs` in order and publish their outputs together; `light_worker`: a
    renderer.worker.Worker started beforehand for the first document (else one is started
    here; each later document gets its own when its turn comes)."""
    started = time.monotonic()
    STAGES.clear()
    doc_paths = [Path(p).resolve() for p in args.inputs]
    for doc_path, given in zip(doc_paths, args.inputs):
        if not doc_path.exists():
            raise RenderError(f"input file not found: {given}")
    # The Python process that runs the chunks, started now: it gets ready while the
    # document is parsed and keyed (killed unused when the cache has every value).
    first_worker = light_worker if light_worker is not None else _start_worker(doc_paths[0].parent)
    try:
        _render(args, doc_paths, started, first_worker)
    finally:
        if first_worker is not None:
            first_worker.__exit__(None, None, None)


def _start_worker(cwd):
    try:
        return worker.Worker(cwd)
    except OSError:
        return None  # partial runs then start a kernel


def _render(args, doc_paths, started, first_worker):
    formats = getattr(args, "formats", None)
    out_dir = None
    parsed = []
    for doc_path in doc_paths:
        _progress(f"parsing {doc_path.name}")
        doc = qmd.load(doc_path)
        cfg = project.load(doc_path, doc.meta)
        parsed.append((doc_path, doc, cfg))
        if out_dir is None:  # the first document's folder (they share one project)
            formats = formats or cfg.configured or ["html"]
            out_dir = Path(args.output_dir).resolve() if args.output_dir else cfg.output_dir
    _stage("parse", started)
    stems = [p.stem for p in doc_paths]
    # Environment problems surface before the analysis runs, not after.
    outputs.check_output_dir(out_dir, stems, parsed[0][2].project_dir)
    # what a killed render left (working folders with full report copies, staged outputs)
    leftovers.sweep(tempfile.gettempdir(), [f"{WORK_PREFIX}*"], progress=_progress)
    outputs.sweep(out_dir, progress=_progress)
    try:
        # claimed (renderer.leftovers) so that only a dead render's folder is ever swept;
        # --debug keeps it under a name the sweep leaves alone
        work = leftovers.make_dir("cartox-debug-render-" if args.debug else WORK_PREFIX)
    except OSError as exc:
        raise outputs.environment_error(exc, "create a temporary folder in", tempfile.gettempdir()) from None
    try:
        produced, pages = [], {}
        for i, (doc_path, doc, cfg) in enumerate(parsed):
            if len(parsed) > 1:
                _progress(f"[{doc_path.name}]")
            doc_work = work / doc_path.stem if len(parsed) > 1 else work
            doc_work.mkdir(exist_ok=True)
            light = first_worker if i == 0 else _start_worker(cfg.project_dir)
            try:
                files = _render_in(
                    args,
                    doc,
                    doc_path,
                    cfg,
                    formats,
                    doc_work,
                    light,
                    pages=pages,
                    log_suffix="" if i == 0 else f".{doc_path.stem}",
                )
            finally:
                if light is not None and i > 0:
                    light.__exit__(None, None, None)
            produced += files
            pdf = doc_work / f"{doc_path.stem}.pdf"
            if pdf.exists():
                pages[doc_path.stem] = heading_pages(pdf)
        # Everything succeeded: only now replace the output folder, as a whole.
        since = time.monotonic()
        outputs.publish(produced, out_dir, stems if len(stems) > 1 else stems[0], progress=_progress)
        _stage("publish", since)
        _progress(f"wrote {', '.join(str(out_dir / p.name) for p in produced)}")
        journal.report(produced, _progress)
    finally:
        if not args.debug:
            shutil.rmtree(work, ignore_errors=True)
        else:
            _progress(f"working files kept in {work}")
        leftovers.release(work)
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in STAGES.items())
    _progress(f"done in {time.monotonic() - started:.1f} s ({stages})")


def heading_pages(pdf) -> dict:
    """{label: page} of every labelled heading of a PDF Typst wrote (its named destinations)."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    return {name: reader.get_destination_page_number(dest) + 1 for name, dest in reader.named_destinations.items()}


def _render_in(args, doc, doc_path, cfg, formats, work, partial_worker=None, pages=None, log_suffix=""):
    """Execute and convert one document in `work`; the files produced."""
    since = time.monotonic()
    outputs.check_free_space(work)
    params = params_from(args)
    if pages and "pages" in qmd_parameter_names(doc):
        params["pages"] = json.dumps(pages, sort_keys=True)

    # Figure defaults as Quarto: 7 x 5 in; dpi from the first requested format that sets it.
    fig = {"width": 7, "height": 5, "dpi": 200}
    for f in formats:
        for key, name in (("fig-width", "width"), ("fig-height", "height"), ("fig-dpi", "dpi")):
            if key in cfg.formats[f]:
                fig[name] = cfg.formats[f][key]
        break
    nb, steps = execute.build_notebook(doc, params, cfg.execute, fig)
    since = _stage("parse", since)
    run_or_reuse(doc, nb, steps, params, cfg, fig, use_cache=not args.no_cache, light_worker=partial_worker)
    if partial_worker is not None:
        partial_worker.close()  # used or not, it is not needed any more
    since = _stage("execute", since)
    # Conditional content follows the metadata the chunks set; hidden figures take no number.
    doc.blocks = conditions.resolve(doc.blocks, conditions.output_metadata(doc.blocks, cfg.meta))
    reg = crossref.number(doc.blocks, cfg.crossref)
    if getattr(args, "inline_log", None):
        log = Path(args.inline_log)
        inline_log.write_inline_log(doc.blocks, log.with_name(log.name + log_suffix) if log_suffix else log)

    stem = doc_path.stem
    meta = pandoc.metadata(cfg.meta, cfg.bibliography, cfg.csl, work)  # no local path in the outputs
    resource_path = os.pathsep.join([str(work), str(cfg.project_dir)])
    produced, jobs = [], []
    for f in formats:
        asm = assemble.Assembler(doc, reg, cfg.execute, f, cfg.formats[f], work)
        md = work / f"{stem}.{f}.md"
        pandoc.write_markdown(md, meta, asm.body())
        out = work / f"{stem}.{'pdf' if f == 'pdf' else f}"
        convert = {"html": pandoc.html, "docx": pandoc.docx, "pdf": pandoc.typst_pdf}[f]
        jobs.append((f, convert, md, out))
        produced.append(out)
        if args.keep_md:
            produced.append(md)
    # The conversions are independent pandoc/typst runs (separate files in `work`):
    # run them side by side; the first failure in format order is reported.
    since = _stage("assemble", since)
    _progress(", ".join({"html": "pandoc html", "docx": "pandoc docx", "pdf": "typst pdf"}[f] for f, *_ in jobs))
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        futures = [
            pool.submit(convert, md, out, cfg.formats[f], work, resource_path, cfg.filters or ())
            for f, convert, md, out in jobs
        ]
        try:
            for fut in futures:
                fut.result()
        except BaseException:
            pandoc.stop_running()  # do not leave Pandoc writing into a removed folder
            raise
    _stage("convert", since)
    return produced


def qmd_parameter_names(doc) -> set:
    """Names the document's `parameters` cell assigns."""
    from renderer.cache import parameter_defaults

    names = set()
    for cell in doc.cells:
        if "parameters" in (cell.options.get("tags") or []):
            names |= set(parameter_defaults(cell.source))
    return names


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None, light_worker=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if light_worker is None:
            render(args)
        else:
            render(args, light_worker)
    except RenderError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"\n{exc}" if exc.refused else f"render failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("render interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("render terminated (SIGTERM); temporary files removed, outputs unchanged", file=sys.stderr)
        return 143
    except OSError as exc:  # the environment (disk full, permissions), not the document
        if args.debug:
            traceback.print_exc()
        print(f"render failed: {outputs.environment_error(exc, 'write')}", file=sys.stderr)
        return 1
    except Exception as exc:  # a renderer bug: still one paragraph unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"render failed (internal error, rerun with --debug): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
