"""The partial-run worker (renderer/worker.py) gives what a Jupyter kernel gives.

Each cell is executed in a real kernel (nbclient, as a full render does) and in the
worker, and their outputs compared: text streams and their order, displays, the value of
the last expression, matplotlib figures (the PNG bytes), inline values, errors, and the
global state the cache fingerprints (pandas options, rcParams, sys.path).
"""

from __future__ import annotations

import re

import pytest

from renderer import execute, incremental, notebook, worker
from renderer.errors import RenderError

SETUP = execute._setup_code(50, 3, 2)
CELLS = [
    SETUP,
    "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')",
    "from IPython.display import Markdown, display\ndisplay(Markdown('**bold**'))\nprint('after the display')",
    "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 1, 3])\nplt.title('panel')",
    "from matplotlib.figure import Figure\nfig = Figure()\nfig.add_subplot().bar(['a', 'b'], [1, 2])\ndisplay(fig)",
    "import warnings\nwarnings.warn('careful')",
    "x = 41",
    f"from IPython.display import display as _d\n_d({{{execute.INLINE_MIME!r}: str(\nx + 1\n)}}, raw=True)",
    "print(pd.get_option('display.max_columns'), pd.get_option('display.encoding'))",
    "import sys, matplotlib\nprint(sys.path, matplotlib.rcParams['backend'])",
    incremental._KERNEL_LIB % {"mime": "text/plain"}
    + "\nstate = _renderer_state_lib().fingerprint()\n"
    # (NumPy's random state is seeded afresh in each process: restored from the snapshot)
    + "state.pop('numpy.random')\nprint(state)",
]


def _notebook(cells):
    nb = notebook.new_notebook()
    nb.cells = [notebook.new_code_cell(c) for c in cells]
    return nb, [execute.Step("setup") for _ in cells]


def _outputs(nb):
    out = []
    for cell in nb.cells:
        items = [dict(o) for o in cell.outputs]
        for o in items:
            o.pop("execution_count", None)
            if o["output_type"] == "stream":  # a cell's file name holds the process id
                o["text"] = re.sub(r"/ipykernel_\d+/", "/ipykernel_PID/", o["text"])
        out.append(items)
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("worker")
    in_kernel, steps = _notebook(CELLS)
    execute.execute(in_kernel, steps, cwd)
    in_worker, steps = _notebook(CELLS)
    with worker.Worker(cwd) as w:
        w.execute(in_worker, steps, cwd)
    return _outputs(in_kernel), _outputs(in_worker)


@pytest.mark.parametrize("index", range(len(CELLS)))
def test_worker_outputs_equal_the_kernels(both, index):
    kernel, light = both
    assert light[index] == kernel[index]


def test_the_cells_produce_what_they_should(both):
    kernel, _ = both
    assert [o["output_type"] for o in kernel[1]] == ["stream", "stream"]
    assert kernel[1][0]["text"] == "out 1\nout 2\n" and kernel[1][1]["text"] == "err 1\n"
    assert kernel[2][0]["data"]["text/markdown"] == "**bold**" and kernel[2][1]["text"] == "after the display\n"
    assert "text/html" in kernel[3][0]["data"] and kernel[3][0]["output_type"] == "execute_result"
    assert "image/png" in kernel[4][-1]["data"] and "image/png" in kernel[5][0]["data"]
    assert kernel[8][0]["data"][execute.INLINE_MIME] == "42"


def test_an_error_is_reported_as_the_kernel_reports_it(tmp_path):
    cells = ["x = 1", "1 / 0"]
    messages = []
    for run in ("kernel", "worker"):
        nb, steps = _notebook(cells)
        with pytest.raises(RenderError) as err:
            if run == "kernel":
                execute.execute(nb, steps, tmp_path)
            else:
                with worker.Worker(tmp_path) as w:
                    w.execute(nb, steps, tmp_path)
        messages.append(str(err.value))
    assert messages[0] == messages[1] == "renderer setup cell failed: ZeroDivisionError: division by zero"


def test_a_display_update_is_refused(tmp_path):
    nb, steps = _notebook(["h = display('a', display_id=True)\nh.update('b')"])
    with pytest.raises(RenderError, match="Unsupported: display updates"), worker.Worker(tmp_path) as w:
        w.execute(nb, steps, tmp_path)


def test_a_dead_worker_is_an_error_not_a_hang(tmp_path):
    nb, steps = _notebook(["import os\nos._exit(3)"])
    with pytest.raises(RenderError, match="worker stopped"), worker.Worker(tmp_path) as w:
        w.execute(nb, steps, tmp_path)


def test_a_worker_started_elsewhere_runs_in_the_project_folder(tmp_path, monkeypatch):
    """`python -m renderer` starts the worker before it knows the project folder: the
    worker moves there before the first cell, and imports the project's own modules."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "projectmodule.py").write_text("ANSWER = 42\n")
    monkeypatch.chdir(elsewhere)
    nb, steps = _notebook(["import os, projectmodule\nprint(os.getcwd(), projectmodule.ANSWER)"])
    with worker.Worker() as w:
        w.execute(nb, steps, project)
    assert nb.cells[0].outputs[0]["text"] == f"{project} 42\n"


def test_a_cell_over_the_time_limit_stops_the_run(tmp_path):
    nb, steps = _notebook(["import time\ntime.sleep(30)"])
    with pytest.raises(worker.TimedOut, match="timed out after 1 s"), worker.Worker(tmp_path) as w:
        w.execute(nb, steps, tmp_path, timeout=1)
