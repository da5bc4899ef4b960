"""The partial-run worker (renderer/worker.py) gives what a Jupyter kernel gives.

Each cell is executed in a real kernel (nbclient, as a full render does) and in the
worker, and their outputs compared: text streams and their order, displays, the value of
the last expression, matplotlib figures (the PNG bytes), inline values, errors, and the
global state the cache fingerprints (pandas options, rcParams, sys.path).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import WARM_HASH_SEED as HASH_SEED  # the zygote serves this seed only
from conftest import warm_env

from renderer import execute, incremental, notebook, worker, zygote
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
def cells_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("worker")


@pytest.fixture(scope="module")
def both(cells_folder):
    cwd = cells_folder
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


# ----------------------------------------------------------------------- forked by a zygote
# renderer.zygote: a run without the execution cache may take a worker forked from a process
# that has the heavy libraries imported. It must run a document as a new worker process does.


@pytest.fixture(scope="module")
def zygote_socket():
    """The socket of this test process's zygote (conftest.warm_env), once it is bound."""
    path = Path(warm_env()[zygote.ENV_VAR])
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), "the zygote did not bind its socket"
    return str(path)


def _forked_run(cells, cwd, zygote_socket, monkeypatch, **kwargs):
    """Run `cells` in a worker forked by the zygote (asserting it was forked)."""
    monkeypatch.setenv(zygote.ENV_VAR, zygote_socket)
    monkeypatch.setenv("PYTHONHASHSEED", HASH_SEED)
    nb, steps = _notebook(cells)
    with worker.Worker(cwd) as w:
        try:
            w.execute(nb, steps, cwd, warm=True, **kwargs)
        finally:
            assert isinstance(w.proc, zygote.ForkedWorker)
    return nb


@pytest.fixture(scope="module")
def forked(both, cells_folder, zygote_socket):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _outputs(_forked_run(CELLS, cells_folder, zygote_socket, monkeypatch))


@pytest.mark.parametrize("index", range(len(CELLS)))
def test_forked_worker_outputs_equal_the_kernels(both, forked, index):
    kernel, _ = both
    assert forked[index] == kernel[index]


#: What a worker sees of its process: compared between a new process and a forked one.
_SEEN = """
import json, os, sys
import numpy
print(json.dumps({
    "cwd": os.getcwd(), "path": sys.path, "argv": sys.argv, "env": dict(os.environ),
    "main": sys.modules["__main__"].__name__, "worker module": "renderer.worker" in sys.modules,
    "project module": __import__("projectmodule").__file__,
    "analysis preloaded": [m for m in sys.modules if m.split(".")[0] == "analysis"],
    "stdout": [sys.__stdout__.encoding, sys.__stdout__.errors],
    "shell started in": [get_ipython().starting_dir, *map(str, _dh)],
    "command line": sys.orig_argv[1:], "parent": os.getppid() != os.getpid(),
    "string hash": hash("abc"),
    "draw": int(numpy.random.randint(1 << 30)),
}))
"""


def test_a_forked_worker_sees_what_a_new_process_sees(tmp_path, zygote_socket, monkeypatch):
    project, library = tmp_path / "project", tmp_path / "library"
    project.mkdir()
    library.mkdir()
    (project / "projectmodule.py").write_text("ANSWER = 42\n")
    # a relative PYTHONPATH entry is taken from the worker's folder, as by a new process
    pythonpath = [str(library), "relative", *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(pythonpath))
    monkeypatch.setenv(zygote.ENV_VAR, zygote_socket)
    monkeypatch.setenv("PYTHONHASHSEED", HASH_SEED)  # hashes then agree, as between new processes
    seen = {}
    for kind in ("process", "forked", "forked again"):
        nb, steps = _notebook([_SEEN])
        with worker.Worker(project) as w:
            w.execute(nb, steps, project, warm=kind != "process")
            assert isinstance(w.proc, zygote.ForkedWorker) == (kind != "process")
        seen[kind] = json.loads(nb.cells[0].outputs[0]["text"])
    draws = {kind: s.pop("draw") for kind, s in seen.items()}
    assert seen["forked"] == seen["process"]
    assert seen["process"]["cwd"] == str(project) and seen["process"]["analysis preloaded"] == []
    assert str(project / "relative") in seen["process"]["path"] and str(library) in seen["process"]["path"]
    assert len(set(draws.values())) == 3  # NumPy seeded afresh in each forked worker


def _refusal(zygote_socket, cwd):
    with tempfile.TemporaryFile("w+") as log:
        proc, why = zygote.spawn(zygote_socket, cwd, log)
        if proc is not None:
            proc.kill()
            proc.wait()
    return why


@pytest.mark.parametrize(
    "change, served",
    [
        ("PATH", True),  # read when a process starts, not by a preloaded library
        ("CARTOX_ANY_SETTING", True),  # read by the project's code, imported by the worker
        ("LC_ALL", False),  # a new process would start with another locale
        ("sitecustomize", False),  # a new process would run it at start-up
        ("yaml.py", False),  # a new process would import it instead of PyYAML
        ("matplotlibrc", False),  # matplotlib reads it when a cell imports it in this folder
        ("no hash seed", False),  # a new process would draw a string hash seed of its own
    ],
)
def test_the_zygote_serves_only_what_a_new_process_would_see_alike(
    tmp_path, zygote_socket, monkeypatch, change, served
):
    monkeypatch.setenv("PYTHONHASHSEED", HASH_SEED)
    if change == "no hash seed":
        monkeypatch.delenv("PYTHONHASHSEED")
    elif change.isupper() or change.startswith("CARTOX_"):
        monkeypatch.setenv(change, f"{os.environ.get(change, '')}:/elsewhere")
    elif change == "sitecustomize":
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text("")
        monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    else:
        (tmp_path / change).write_text("")
    why = _refusal(zygote_socket, tmp_path)
    assert (why == "") is served, why


def test_without_an_answer_the_worker_is_a_new_process(tmp_path, monkeypatch):
    monkeypatch.setenv(zygote.ENV_VAR, str(tmp_path / "no-zygote-here"))
    nb, steps = _notebook(["print(6 * 7)"])
    with worker.Worker(tmp_path) as w:
        w.execute(nb, steps, tmp_path, warm=True)
        assert isinstance(w.proc, subprocess.Popen)
    assert nb.cells[0].outputs[0]["text"] == "42\n"


def test_a_run_with_the_cache_is_never_forked(tmp_path, zygote_socket, monkeypatch):
    monkeypatch.setenv(zygote.ENV_VAR, zygote_socket)
    nb, steps = _notebook(["print(6 * 7)"])
    with worker.Worker(tmp_path) as w:
        w.execute(nb, steps, tmp_path)  # warm=False: the cache's fingerprint reads sys.modules
        assert isinstance(w.proc, subprocess.Popen)


def test_a_dead_forked_worker_is_an_error_not_a_hang(tmp_path, zygote_socket, monkeypatch):
    with pytest.raises(RenderError, match="worker stopped"):
        _forked_run(["import os\nos._exit(3)"], tmp_path, zygote_socket, monkeypatch)


def test_a_forked_cell_over_the_time_limit_stops_the_run(tmp_path, zygote_socket, monkeypatch):
    started = time.monotonic()
    with pytest.raises(worker.TimedOut, match="timed out after 1 s"):
        _forked_run(["import time\ntime.sleep(30)"], tmp_path, zygote_socket, monkeypatch, timeout=1)
    assert time.monotonic() - started < 20  # killed, not waited for


_ARGV_DOCUMENT = """---
title: "argv"
---

```{python}
#| echo: false
import gc  # (the zygote freezes what it imported: a difference its docstring admits)
print("started by", "a zygote" if gc.get_freeze_count() else "python -m renderer.worker")
```
"""


@pytest.mark.parametrize(
    "args, expected", [(["--no-cache"], "started by a zygote"), ([], "started by python -m renderer.worker")]
)
def test_the_renderer_forks_only_runs_without_the_cache(tmp_path, zygote_socket, args, expected):
    """renderer/cli.py asks the zygote only for a run without the cache (see above)."""
    (tmp_path / "doc.qmd").write_text(_ARGV_DOCUMENT)
    env = {**os.environ, zygote.ENV_VAR: zygote_socket, "PYTHONHASHSEED": HASH_SEED}
    proc = subprocess.run(
        [sys.executable, "-m", "renderer", "doc.qmd", "--to", "html", "--output-dir", "out", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expected in (tmp_path / "out" / "doc.html").read_text(encoding="utf-8")
