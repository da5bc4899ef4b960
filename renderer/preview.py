"""`python -m renderer.preview report.qmd [renderer options]` (`make preview`)

Renders the HTML into `_preview/` (never touching `_output/`), then re-renders it every
time a source is saved: the document, `_quarto.yml`, `sections/`, `references.bib`, the
CSL, `study.yml`, the `analysis/` library and every data file named in the options.
Each render is a separate `python -m renderer` run, so the execution cache makes a
prose-only edit take seconds and a failing render leaves the loop (and the last good
preview) in place. Stop with Ctrl-C.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5
PREVIEW_DIR = "_preview"
SOURCE_SUFFIXES = {".qmd", ".yml", ".yaml", ".bib", ".csl", ".py", ".lua", ".typ", ".css"}


def watched_files(doc_path, renderer_args):
    """Every file whose change alters the HTML: project sources and data files."""
    project_dir = doc_path.parent
    files = {doc_path, project_dir / "_quarto.yml", project_dir / "study.yml"}
    for folder in ("sections", "analysis", "filters"):
        base = project_dir / folder
        if base.is_dir():
            files.update(p for p in base.rglob("*") if p.suffix in SOURCE_SUFFIXES)
    files.update(p for p in project_dir.glob("*") if p.suffix in SOURCE_SUFFIXES)
    # Data files named by the options (--cohort PATH, -P kinetics:PATH, --study PATH, ...)
    for value in renderer_args:
        candidate = value.split(":", 1)[1] if ":" in value and not Path(value).exists() else value
        if candidate and Path(candidate).is_file():
            files.add(Path(candidate).resolve())
    return sorted(files)


def snapshot(files):
    state = {}
    for path in files:
        try:
            st = path.stat()
            state[path] = (st.st_mtime_ns, st.st_size)
        except OSError:
            state[path] = None  # absent (study.yml is optional); appearing counts as a change
    return state


def render_once(doc, renderer_args):
    cmd = [sys.executable, "-m", "renderer", doc, "--to", "html", "--output-dir", PREVIEW_DIR, *renderer_args]
    started = time.monotonic()
    code = subprocess.call(cmd)
    status = "ok" if code == 0 else f"FAILED (exit {code}); the previous preview is kept"
    print(
        f"preview: {status} in {time.monotonic() - started:.1f} s -> "
        f"{Path(PREVIEW_DIR, Path(doc).stem + '.html').resolve()}",
        file=sys.stderr,
        flush=True,
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    doc, renderer_args = argv[0], argv[1:]
    for opt in ("--to", "--output-dir"):
        if opt in renderer_args:
            print(f"preview: {opt} is set by the preview (html into {PREVIEW_DIR}/)", file=sys.stderr)
            return 2
    doc_path = Path(doc).resolve()
    files = watched_files(doc_path, renderer_args)
    state = snapshot(files)
    print(f"preview: watching {len(files)} files; Ctrl-C to stop", file=sys.stderr, flush=True)
    render_once(doc, renderer_args)
    try:
        while True:
            time.sleep(POLL_SECONDS)
            files = watched_files(doc_path, renderer_args)  # new section files count too
            current = snapshot(files)
            if current != state:
                changed = [os.path.relpath(p) for p in set(current) | set(state) if current.get(p) != state.get(p)]
                print(f"preview: changed {', '.join(sorted(changed)[:5])}", file=sys.stderr, flush=True)
                # Let an editor finish writing (several files on save-all) before rendering.
                time.sleep(POLL_SECONDS)
                state = snapshot(watched_files(doc_path, renderer_args))
                render_once(doc, renderer_args)
    except KeyboardInterrupt:
        print("preview: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
