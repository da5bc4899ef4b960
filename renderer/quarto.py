"""`python -m renderer.quarto report.qmd [supplement.qmd ...] [--to html,pdf,docx] [--output-dir DIR] [-- QUARTO ARGS]`

Runs the real `quarto render` with the same output contract as the built-in renderer
(`make report` uses it when Quarto is on the PATH): `--to` takes the same names (pdf is
Quarto's `typst`), Quarto renders into a temporary folder, and the output folder is
replaced as a whole only when every format of every document succeeded. Several
documents are rendered in the order given; a later one whose `parameters` cell declares
`pages` receives the page of every labelled heading of the earlier documents' PDFs, as
with the built-in renderer. Arguments after `--` (e.g. `-P cohort:PATH`) go to
`quarto render` unchanged.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from renderer import journal, leftovers, outputs, project, qmd
from renderer.errors import RenderError

QUARTO_FORMAT = {"html": "html", "pdf": "typst", "docx": "docx"}
#: Quarto renders into this folder of the system's temporary folder.
STAGING_PREFIX = "cartox-quarto-"
OUTPUT_NAME = {"html": "html", "pdf": "pdf", "docx": "docx"}


class Terminated(BaseException):
    pass


def parse_args(argv):
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    p = argparse.ArgumentParser(
        prog="python -m renderer.quarto", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("inputs", nargs="+", metavar="input")
    p.add_argument("--to", help="comma-separated formats: html,pdf,docx (default: those in _quarto.yml)")
    p.add_argument("--output-dir", help="output directory (default: project output-dir)")
    p.add_argument("--quarto", default="quarto", help="the quarto executable")
    args = p.parse_args(argv)
    args.passthrough = passthrough
    args.formats = project.parse_formats(p, args.to)
    args.input = args.inputs[0]
    return args


#: Quarto's words when a cell fails, and the ANSI colours of its traceback.
_CELL_FAILED = "An error occurred while executing the following cell"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_REFUSAL = re.compile(r"^DataRefused: ", re.MULTILINE)


def _refusal(failure: str) -> str | None:
    """The document's refusal of its data (analysis.inputs.errors.DataRefused) in Quarto's
    report of a failed cell: the exception's message, without the cell or the traceback."""
    text = _ANSI.sub("", failure)
    match = _REFUSAL.search(text)
    if match is None:
        return None
    lines = []
    for line in text[match.end() :].splitlines():
        if line.startswith("WARN: ") or line.startswith("ERROR: "):
            break
        lines.append(line)
    return "\n".join(lines).strip() or None


def _run(cmd, cwd):
    """Run Quarto, passing its messages on; a cell's failure is held back until the end, so
    that a refusal of the data is printed as the document words it (RenderError refused)."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace"
    )
    held: list[str] = []
    try:
        for line in proc.stdout:
            if held or _CELL_FAILED in line:
                held.append(line)
            else:
                sys.stderr.write(line)
                sys.stderr.flush()
        code = proc.wait()
        refusal = _refusal("".join(held))
        if refusal is not None:
            raise RenderError(refusal, refused=True)
        sys.stderr.write("".join(held))
        return code
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def quarto_runs(formats: list[str], configured: list[str]) -> list[list[str]]:
    """The `quarto render` arguments of each run: one run renders every configured format;
    a subset needs one run each, and its HTML gets no "Other Formats" links (Quarto would
    link the PDF and DOCX of _quarto.yml, which this render does not write and the swap of
    the output folder removes)."""
    if formats == configured:
        return [[]]
    return [["--to", QUARTO_FORMAT[f], *(["-M", "format-links:false"] if f == "html" else [])] for f in formats]


def profile_arguments(doc_path: Path, project_dir: Path) -> list[str]:
    """``["--profile", name]`` for a document that _quarto.yml's ``project: render`` list leaves
    out and a profile file ``_quarto-<name>.yml`` lists (Quarto refuses ``--output-dir`` for a
    file outside the project's render list; the LBCL/MM documents live in the "disease" profile,
    so that a plain ``quarto render`` renders the B-ALL documents only); [] otherwise."""
    import yaml

    def render_list(path: Path) -> list[str]:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return []
        listed = (config.get("project") or {}).get("render") or [] if isinstance(config, dict) else []
        return [str(x) for x in listed] if isinstance(listed, list) else []

    name = doc_path.resolve().relative_to(project_dir.resolve()).as_posix()
    if name in render_list(project_dir / "_quarto.yml"):
        return []
    for profile in sorted(project_dir.glob("_quarto-*.yml")):
        if name in render_list(profile):
            return ["--profile", profile.stem.removeprefix("_quarto-")]
    return []


def render(args):
    import json

    from renderer.cli import heading_pages, qmd_parameter_names

    started = time.monotonic()
    doc_paths = [Path(p).resolve() for p in args.inputs]
    for doc_path, given in zip(doc_paths, args.inputs):
        if not doc_path.exists():
            raise RenderError(f"input file not found: {given}")
    docs = [qmd.load(p) for p in doc_paths]
    cfg = project.load(doc_paths[0], docs[0].meta, notes=io.StringIO())
    formats = args.formats or cfg.configured or ["html"]
    out_dir = Path(args.output_dir).resolve() if args.output_dir else cfg.output_dir
    stems = [p.stem for p in doc_paths]
    outputs.check_output_dir(out_dir, stems, cfg.project_dir)
    progress = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    leftovers.sweep(tempfile.gettempdir(), [f"{STAGING_PREFIX}*"], progress=progress)
    outputs.sweep(out_dir, progress=progress)
    staging = leftovers.make_dir(STAGING_PREFIX)  # claimed: swept later only if this render is killed
    produced, pages = [], {}
    try:
        runs = quarto_runs(formats, cfg.configured)
        for doc_path, doc in zip(doc_paths, docs):
            extra = []
            if pages and "pages" in qmd_parameter_names(doc):
                extra = ["-P", f"pages:{json.dumps(json.dumps(pages, sort_keys=True))}"]
            for to in runs:
                cmd = [
                    args.quarto,
                    "render",
                    doc_path.name,
                    *to,
                    "--output-dir",
                    str(staging),
                    *profile_arguments(doc_path, cfg.project_dir),
                    *args.passthrough,
                    *extra,
                ]
                print(f"running: {' '.join(cmd)}", file=sys.stderr, flush=True)
                if _run(cmd, cfg.project_dir) != 0:
                    raise RenderError(
                        f"quarto render {doc_path.name} {' '.join(to) or '(all formats)'} failed "
                        f"(its messages are above); {out_dir} is unchanged"
                    )
            files = [staging / f"{doc_path.stem}.{OUTPUT_NAME[f]}" for f in formats]
            missing = [p.name for p in files if not p.exists()]
            if missing:
                raise RenderError(f"quarto did not write {', '.join(missing)}; {out_dir} is unchanged")
            produced += files
            pdf = staging / f"{doc_path.stem}.pdf"
            if pdf.exists():
                pages[doc_path.stem] = heading_pages(pdf)
        outputs.publish(
            produced,
            out_dir,
            stems if len(stems) > 1 else stems[0],
            progress=lambda m: print(m, file=sys.stderr, flush=True),
        )
        journal.report(produced, lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        leftovers.release(staging)
    print(
        f"wrote {', '.join(str(out_dir / p.name) for p in produced)} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which(args.quarto) is None:
        print(f"render failed: '{args.quarto}' is not on the PATH", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    try:
        render(args)
    except RenderError as exc:
        print(f"\n{exc}" if exc.refused else f"render failed: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated):
        print("render interrupted; temporary files removed, outputs unchanged", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"render failed: {outputs.environment_error(exc, 'write')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
