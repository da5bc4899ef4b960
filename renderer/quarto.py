"""`python -m renderer.quarto report.qmd [--to html,pdf,docx] [--output-dir DIR] [-- QUARTO ARGS]`

Runs the real `quarto render` with the same output contract as the built-in renderer
(`make report` uses it when Quarto is on the PATH): `--to` takes the same names (pdf is
Quarto's `typst`), Quarto renders into a temporary folder, and the output folder is
replaced as a whole only when every format succeeded. Arguments after `--` (e.g.
`-P cohort:PATH`) go to `quarto render` unchanged.
"""
from __future__ import annotations

import argparse
import io
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from renderer import leftovers, outputs, project, qmd
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
        argv, passthrough = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(prog="python -m renderer.quarto", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("--to", help="comma-separated formats: html,pdf,docx (default: those in _quarto.yml)")
    p.add_argument("--output-dir", help="output directory (default: project output-dir)")
    p.add_argument("--quarto", default="quarto", help="the quarto executable")
    args = p.parse_args(argv)
    args.passthrough = passthrough
    args.formats = project.parse_formats(p, args.to)
    return args


def _run(cmd, cwd):
    proc = subprocess.Popen(cmd, cwd=cwd)
    try:
        return proc.wait()
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


def render(args):
    started = time.monotonic()
    doc_path = Path(args.input).resolve()
    if not doc_path.exists():
        raise RenderError(f"input file not found: {args.input}")
    cfg = project.load(doc_path, qmd.load(doc_path).meta, notes=io.StringIO())
    formats = args.formats or cfg.configured or ["html"]
    out_dir = Path(args.output_dir).resolve() if args.output_dir else cfg.output_dir
    outputs.check_output_dir(out_dir, doc_path.stem, cfg.project_dir)
    progress = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    leftovers.sweep(tempfile.gettempdir(), [f"{STAGING_PREFIX}*"], progress=progress)
    outputs.sweep(out_dir, progress=progress)
    staging = leftovers.make_dir(STAGING_PREFIX)  # claimed: swept later only if this render is killed
    try:
        runs = quarto_runs(formats, cfg.configured)
        for to in runs:
            cmd = [args.quarto, "render", doc_path.name, *to, "--output-dir", str(staging),
                   *args.passthrough]
            print(f"running: {' '.join(cmd)}", file=sys.stderr, flush=True)
            if _run(cmd, cfg.project_dir) != 0:
                raise RenderError(f"quarto render {' '.join(to) or '(all formats)'} failed "
                                  f"(its messages are above); {out_dir} is unchanged")
        produced = [staging / f"{doc_path.stem}.{OUTPUT_NAME[f]}" for f in formats]
        missing = [p.name for p in produced if not p.exists()]
        if missing:
            raise RenderError(f"quarto did not write {', '.join(missing)}; {out_dir} is unchanged")
        outputs.publish(produced, out_dir, doc_path.stem,
                        progress=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        leftovers.release(staging)
    print(f"wrote {', '.join(str(out_dir / p.name) for p in produced)} "
          f"in {time.monotonic() - started:.1f} s", file=sys.stderr)


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
        print(f"render failed: {exc}", file=sys.stderr)
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
