"""Running the document's Python in one Jupyter kernel.

`build_notebook` turns the parsed document into a notebook (setup cell, chunks, the
parameter-override cell, one small cell per inline expression); `execute` runs it in a
Jupyter kernel (the fall-back of renderer.worker, which runs it first).
`renderer.incremental` decides which cells `execute` needs to run (see cli.run_or_reuse).
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass

from renderer.errors import RenderError
from renderer.notebook import new_code_cell, new_notebook
from renderer.qmd import Cell, Markdown, inline_exprs, params_cell_names, walk

INLINE_MIME = "application/x-renderer-inline"
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _venv_kernel_manager():
    """Kernel manager whose spec is pinned to this interpreter: an installed `python3`
    kernelspec may point at another Python (its argv is just `python`), which would miss the
    venv's packages. Built on first use: jupyter_client/nbclient are imported only when a
    kernel is needed (a cached re-render never needs one)."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class _VenvKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name="Python 3 (renderer)",
                    language="python",
                )
            return self._kernel_spec

    return _VenvKernelManager


@dataclass
class Step:
    role: str  # setup | chunk | params | inline | figsize
    obj: object = None


def _setup_code(dpi, width, height):
    # `%matplotlib inline` registers the PNG formatter, so that `display(fig)` also works for
    # Figure objects made without pyplot; rc {} keeps the inline backend off our rcParams.
    return "\n".join(
        [
            "%config InlineBackend.rc = {}",
            "%matplotlib inline",
            "%config InlineBackend.figure_formats = ['png']",
            f"%config InlineBackend.print_figure_kwargs = {{'bbox_inches': 'tight', 'dpi': {dpi}}}",
            "import matplotlib.pyplot as _renderer_plt",
            f"_renderer_plt.rcParams['figure.figsize'] = ({width}, {height})",
            f"_renderer_plt.rcParams['figure.dpi'] = {dpi}",
        ]
    )


def build_notebook(doc, params, execute_opts, fig):
    """Notebook + the Step each of its cells came from.

    `params`: overrides (name -> value) injected right after the `parameters` cell.
    `fig`: dict with dpi/width/height defaults.
    """
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    steps = []

    def add(step, code):
        nb.cells.append(new_code_cell(code))
        steps.append(step)

    add(Step("setup"), _setup_code(fig["dpi"], fig["width"], fig["height"]))
    params_cell = None
    for block in walk(doc.blocks):
        if isinstance(block, Markdown):
            block.inlines = inline_exprs(block)
            for expr in block.inlines:
                add(
                    Step("inline", expr),
                    "from IPython.display import display as _renderer_display\n"
                    f"_renderer_display({{{INLINE_MIME!r}: str(\n{expr.code}\n)}}, raw=True)",
                )
        elif isinstance(block, Cell):
            opts = {**execute_opts, **block.options}
            tags = block.options.get("tags") or []
            if "parameters" in tags:
                if params_cell is not None:
                    raise RenderError("more than one cell is tagged 'parameters'", block.line.where)
                params_cell = block
            if not opts.get("eval", True):
                continue
            sized = "fig-width" in block.options or "fig-height" in block.options
            if sized:
                w = block.options.get("fig-width", fig["width"])
                h = block.options.get("fig-height", fig["height"])
                add(Step("figsize"), f"_renderer_plt.rcParams['figure.figsize'] = ({w}, {h})")
            add(Step("chunk", block), block.source)
            if sized:
                add(Step("figsize"), f"_renderer_plt.rcParams['figure.figsize'] = ({fig['width']}, {fig['height']})")
            if block is params_cell and params:
                known = params_cell_names(block)
                unknown = sorted(set(params) - known)
                if unknown:
                    raise RenderError(
                        f"unknown parameter(s) {', '.join(unknown)}; the parameters cell "
                        f"defines {', '.join(sorted(known)) or 'nothing'}",
                        block.line.where,
                    )
                add(Step("params"), "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items()))
    if params and params_cell is None:
        raise RenderError(
            "parameters were given but no cell is tagged 'parameters' (add `#| tags: [parameters]`)", str(doc.path)
        )
    return nb, steps


def _failing_line(cell_source, traceback, count):
    """Line (1-based, within the cell) where the exception was raised, from IPython's traceback."""
    text = ANSI_RE.sub("", "\n".join(traceback))
    hits = re.findall(r"Cell In\[(\d+)\], line (\d+)", text)
    mine = [int(line) for n, line in hits if count is None or int(n) == count]
    if mine:
        return mine[-1]
    m = re.search(r'File "<[^>]*>", line (\d+)', text)  # SyntaxError
    if m:
        return int(m.group(1))
    m = re.search(r"line (\d+)", text)
    return int(m.group(1)) if m else None


#: The exception a document raises to refuse its data (analysis.inputs.errors.DataRefused).
REFUSAL = "DataRefused"


def _error(step, cell):
    err = next((o for o in cell.outputs if o.output_type == "error"), None)
    ename = err.ename if err else "Error"
    evalue = ANSI_RE.sub("", err.evalue) if err else "(no message)"
    if ename == REFUSAL:  # the data were refused: the validator's words, nothing of the renderer
        return RenderError(evalue, refused=True)
    if step.role == "inline":
        expr = step.obj
        return RenderError(f"inline expression `{{python}} {expr.code}` failed: {ename}: {evalue}", expr.line.where)
    if step.role == "chunk":
        chunk = step.obj
        line = _failing_line(cell.source, err.traceback if err else [], cell.get("execution_count"))
        where = chunk.line.where
        src = ""
        if line is not None:
            where = f"{chunk.line.where.rsplit(':', 1)[0]}:{chunk.line.lineno + line}"
            lines = chunk.source.split("\n")
            if 0 < line <= len(lines):
                src = f" at `{lines[line - 1].strip()}`"
        return RenderError(f"chunk {chunk.name} failed{src}: {ename}: {evalue}", where)
    return RenderError(f"renderer {step.role} cell failed: {ename}: {evalue}")


def execute(nb, steps, cwd, progress=None, timeout=1800):
    """Execute `nb` in one python3 kernel with working directory `cwd`; outputs are stored
    on the notebook cells. Raises RenderError naming the failing chunk."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    progress = progress or (lambda msg: None)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_venv_kernel_manager(),
        timeout=timeout,
        allow_errors=False,
        record_timing=False,
        # every output has arrived when the last cell returns: a graceful
        # shutdown only waits (0.5-2 s) for the kernel to exit
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(cwd)}},
    )
    chunks = [s for s in steps if s.role == "chunk"]
    done = 0
    # The kernel process's own stderr (transport warnings, crashes) goes to a log that is
    # quoted only if the kernel dies; cell output arrives over the messaging channel.
    log = tempfile.TemporaryFile(mode="w+")
    try:
        with client.setup_kernel(stderr=log):
            for index, (cell, step) in enumerate(zip(nb.cells, steps)):
                if step.role == "chunk":
                    done += 1
                    progress(f"[{done}/{len(chunks)}] executing chunk {step.obj.name}")
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError:
                    raise _error(step, cell) from None
                except CellTimeoutError:
                    name = step.obj.name if step.role == "chunk" else step.role
                    raise RenderError(f"{name} timed out after {timeout} s") from None
                except DeadKernelError:
                    log.seek(0)
                    tail = " ".join(log.read().strip().splitlines()[-3:])
                    what = step.obj.name if step.role == "chunk" else step.role
                    raise RenderError(f"the kernel died while running {what}: {tail}") from None
    except RenderError:
        raise
    except RuntimeError as exc:
        raise RenderError(f"could not start the python3 kernel: {exc}") from None
    finally:
        log.close()
    collect(nb, steps, progress)
    return nb


def collect(nb, steps, progress):
    """Hand the executed cells' outputs to the chunks and inline expressions they came from."""
    progress(f"inline {sum(s.role == 'inline' for s in steps)} expressions")
    for cell, step in zip(nb.cells, steps):
        if step.role == "inline":
            values = [o for o in cell.outputs if INLINE_MIME in o.get("data", {})]
            step.obj.value = values[0]["data"][INLINE_MIME] if values else None
        elif step.role == "chunk":
            step.obj.outputs = list(cell.outputs)
