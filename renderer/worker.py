"""A light executor: an IPython shell in a plain child process, instead of a Jupyter kernel.

A re-render after an edit executes only a few cells on top of the cached setup
(renderer.incremental). Starting a Jupyter kernel for them costs more than running them
(kernel launch, ZeroMQ handshake, shutdown: about a second of waiting), so the renderer
runs its cells here: a child process started first thing (before the renderer's own
imports), ready by the time the document is parsed and keyed, that runs an IPython
`InteractiveShell` with the kernel's display machinery (display formatters, the
matplotlib inline backend, the display hook) and returns each cell's outputs as nbclient
would have stored them (stream, display_data, execute_result, error; streams flushed as
ipykernel flushes them: before a display and at the end of the cell, stdout first). It
mirrors what the kernel sets up that the document can see (`sys.path`, `MPLBACKEND`,
`get_ipython().kernel` for pandas, UTF-8 streams, the cells' file names). Anything it
cannot reproduce (display updates, `clear_output`) or any failure makes the renderer run
the document again in a real kernel (renderer.execute), which reports errors as always.
The cache never trusts the worker blindly: a restored setup's global-state fingerprint
must match the one recorded, and tests compare its outputs with a kernel's cell by cell.
Output a C library writes straight to the process's descriptors is not captured (a
kernel shows it as a stream).

``python -m renderer.worker --zygote SOCKET`` is the same worker paused before its first
command, with the heavy libraries imported, forking a copy of itself for each render that
asks (renderer.zygote; the test suite's renders without the cache).

Protocol: one JSON object per line. The worker says {"ready": true}; the renderer sends
{"cwd": folder}, then {"code": ...} per cell, and gets {"outputs": [...], "ok": bool}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from binascii import b2a_base64
from datetime import date, datetime

from renderer import zygote
from renderer.errors import RenderError

KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"


# ------------------------------------------------------------------------ worker process
def _json_default(obj):
    """jupyter_client's JSON packing of message content (bytes: base64)."""
    import numbers
    from collections.abc import Iterable

    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return b2a_base64(obj, newline=False).decode("ascii")
    if isinstance(obj, Iterable):
        return list(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    raise TypeError(f"{obj!r} is not JSON serializable")


class TimedOut(RenderError):
    """A cell ran longer than the time limit (not worth running again in a kernel)."""

    final = True


class Unsupported(Exception):
    """Something a kernel would show that the worker cannot reproduce."""


def _kernel_sys_path():
    # ipykernel_launcher drops the script directory; IPython then inserts '' before the
    # first site-packages (InteractiveShellApp.init_path).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    if "" not in sys.path:
        idx = next((i for i, p in enumerate(sys.path) if os.path.basename(p) in ("site-packages", "dist-packages")), 0)
        sys.path.insert(idx, "")


def _make_shell(outputs):
    import io

    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Stream(io.TextIOBase):
        encoding = "UTF-8"  # as ipykernel's OutStream (pandas reads it: display.encoding)

        def __init__(self, name):
            self.name, self.parts = name, []

        def writable(self):
            return True

        def write(self, text):
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            self.parts.append(text)
            return len(text)

        def flush(self):
            text = "".join(self.parts)
            self.parts.clear()
            if text:
                outputs.append({"output_type": "stream", "name": self.name, "text": text})

    stdout, stderr = Stream("stdout"), Stream("stderr")

    def flush_streams():
        stdout.flush()
        stderr.flush()

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            if update or transient:
                raise Unsupported("display updates (display_id)")
            flush_streams()
            outputs.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})

        def clear_output(self, wait=False):
            raise Unsupported("clear_output")

    class Hook(DisplayHook):
        msg = None

        def start_displayhook(self):
            self.msg = {"output_type": "execute_result", "data": {}, "metadata": {}}

        def write_output_prompt(self):
            self.msg["execution_count"] = self.prompt_count

        def write_format_data(self, format_dict, md_dict=None):
            self.msg["data"], self.msg["metadata"] = format_dict, md_dict

        def finish_displayhook(self):
            flush_streams()
            if self.msg and self.msg["data"]:
                outputs.append(self.msg)
            self.msg = None

    class Shell(InteractiveShell):
        # Libraries tell a kernel from a terminal by this attribute (pandas then shows 20
        # columns, not 0 = terminal width): be a kernel for them.
        kernel = None

        def enable_gui(self, gui=None):
            pass  # the inline backend needs no event loop (as ipykernel's shell)

        def _showtraceback(self, etype, evalue, stb):
            flush_streams()
            outputs.append(
                {"output_type": "error", "ename": str(etype.__name__), "evalue": str(evalue), "traceback": stb}
            )

    from ipykernel.compiler import XCachingCompiler  # the kernel's cell file names (in warnings)

    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # as the kernel nbclient starts
    shell = Shell.instance(
        config=config, displayhook_class=Hook, display_pub_class=Publisher, compiler_class=XCachingCompiler
    )
    sys.stdout, sys.stderr = stdout, stderr
    return shell, flush_streams


def _private_streams():
    """The protocol runs on private copies of the standard descriptors: a cell that reads
    standard input or writes to descriptor 1 cannot disturb it."""
    commands = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    return commands, replies


def prepare():
    """What the worker sets up before its first command (a zygote forks from this state):
    (shell, flush_streams, outputs)."""
    _kernel_sys_path()
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = KERNEL_MPLBACKEND
    outputs: list = []
    shell, flush_streams = _make_shell(outputs)
    return shell, flush_streams, outputs


def run_commands(commands, replies, shell, flush_streams, outputs):
    """Answer the renderer's commands (`commands`, `replies`: the protocol's streams) with
    the shell of :func:`prepare` until the renderer closes them."""

    def reply(obj):
        replies.write(json.dumps(obj, default=_json_default, ensure_ascii=False, allow_nan=False) + "\n")
        replies.flush()

    reply({"ready": True})
    for line in commands:
        outputs.clear()
        request = json.loads(line)
        if "cwd" in request:  # the project folder, known once the command line is read
            os.chdir(request["cwd"])
            reply({"outputs": [], "ok": True})
            continue
        code = request["code"]
        try:
            result = shell.run_cell(code, store_history=True)
            ok = result.success
        except Unsupported as exc:
            ok, outputs[:] = (
                False,
                [{"output_type": "error", "ename": "Unsupported", "evalue": str(exc), "traceback": []}],
            )
        flush_streams()
        if any(o["output_type"] == "error" for o in outputs):
            ok = False
        try:
            reply({"outputs": outputs, "ok": ok})
        except (TypeError, ValueError) as exc:  # an output JSON cannot carry
            reply(
                {
                    "outputs": [
                        {"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc), "traceback": []}
                    ],
                    "ok": False,
                }
            )


def main():
    commands, replies = _private_streams()
    run_commands(commands, replies, *prepare())


# ---------------------------------------------------------------------- renderer side
class Worker:
    """The child process, started early and used at most once (`execute`): in `cwd`, or
    where the command runs (`python -m renderer` starts it before reading its arguments;
    `execute` moves it to the project folder before any cell runs).

    When the environment names a zygote (renderer.zygote: the test suite's renders), the
    process is not started here: a run without the execution cache (`execute` with
    ``warm=True``) takes a worker forked by the zygote, any other run a process started
    then."""

    def __init__(self, cwd=None):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.cwd = cwd
        self.zygote_socket = os.environ.get(zygote.ENV_VAR)
        self.proc = None if self.zygote_socket else self._start()
        self.used = False  # one run per worker: its namespace is then the run's

    def _start(self):
        return subprocess.Popen(
            [sys.executable, "-m", "renderer.worker"],
            cwd=None if self.cwd is None else str(self.cwd),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            encoding="utf-8",
        )

    @property
    def available(self):
        return not self.used and (self.proc is None or self.proc.poll() is None)

    def _died(self, what):
        self.close()
        self.log.seek(0)
        tail = " ".join(self.log.read().strip().splitlines()[-3:])
        return RenderError(f"the light worker stopped while running {what}: {tail or 'no message'}")

    def _read(self, what, timeout=None):
        import select

        if timeout is not None and not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.close()
            raise TimedOut(f"{what} timed out after {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise self._died(what)
        return json.loads(line)

    def execute(self, nb, steps, cwd, progress=None, timeout=1800, warm=False):
        """Like renderer.execute.execute, for a partial run: fills the cells' outputs.
        ``warm``: a run that neither reads nor writes the execution cache, which a worker
        forked by a zygote may do (its preloaded modules would count as the document's in
        the cache's global-state fingerprint)."""
        from renderer import execute as kernel
        from renderer.notebook import from_dict

        if not self.available:
            raise RenderError("the light worker is not available")
        self.used = True
        if self.proc is None:
            if warm:
                self.proc = zygote.spawn(self.zygote_socket, self.cwd, self.log, project=cwd)[0]
            if self.proc is None:
                try:
                    self.proc = self._start()
                except OSError as exc:
                    raise RenderError(f"the light worker did not start: {exc}") from None
        progress = progress or (lambda msg: None)
        try:
            self._read("its start")
            self.proc.stdin.write(json.dumps({"cwd": str(cwd)}) + "\n")
            self.proc.stdin.flush()
            self._read("its start")
            chunks = [s for s in steps if s.role == "chunk"]
            done = 0
            for count, (cell, step) in enumerate(zip(nb.cells, steps), start=1):
                if step.role == "chunk":
                    done += 1
                    progress(f"[{done}/{len(chunks)}] executing chunk {step.obj.name}")
                self.proc.stdin.write(json.dumps({"code": cell.source}) + "\n")
                self.proc.stdin.flush()
                answer = self._read(step.obj.name if step.role == "chunk" else step.role, timeout)
                cell.outputs = [from_dict(out) for out in answer["outputs"]]
                cell.execution_count = count
                if not answer["ok"]:
                    raise kernel._error(step, cell)
        except BrokenPipeError:
            raise self._died("a cell") from None
        finally:
            self.close()
        kernel.collect(nb, steps, progress)
        return nb

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self.log.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"] and len(sys.argv) == 3:
        # (run as this module, so that the zygote's workers are what `python -m
        # renderer.worker` makes: the same __main__ module, shell and classes)
        zygote.serve(sys.argv[2], sys.modules[__name__])
    else:
        main()
