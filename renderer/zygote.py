"""A warm start for the light worker (renderer.worker): a process that has imported the
heavy third-party libraries once and forks a ready worker per render.

A worker started as a new process spends most of its start importing IPython, matplotlib,
NumPy, pandas and SciPy: about 2 CPU-s before the first chunk of the report runs, and 0.6 s
of a one-chunk document's 1 s. The test suite renders about a hundred documents; it starts
a zygote (``python -m renderer.worker --zygote SOCKET``) and names its socket in
``CARTOX_WORKER_ZYGOTE``. A render then asks the zygote for its worker (:func:`spawn`) when
it runs the document without the execution cache, and starts a process of its own
otherwise, or when there is no answer.

Why only without the cache: the cache's global-state fingerprint (renderer.incremental)
counts a module as untouched by the document when it is not imported, and a forked worker
has every preloaded module imported from the start. Without the cache, what a forked
worker shares with the zygote is limited to what a new process has all the same:

- Only third-party packages are preloaded, never the project's own modules (analysis/ is
  imported by each worker, as by a new process).
- A request is served only when the zygote runs the same Python and the same
  renderer.worker as the render, when the render's environment equals the zygote's but for
  the variables nothing preloaded reads (:data:`FREE_VARIABLES`), and when nothing on the
  render's own path (its folder, PYTHONPATH) would be imported instead of a preloaded
  module or run at start-up (sitecustomize); otherwise the answer is a refusal.
- The forked worker gets the render's standard streams, folder, environment, arguments and
  `sys.path` (as a new process would compute it from them), and NumPy's global random
  state is seeded afresh (Python's `random` reseeds itself after a fork).
- The warning filters the preloaded libraries install on import (NumPy's and SciPy's own
  warning classes, binary-compatibility messages) are there from the start; they concern
  warnings only these libraries raise, once they are imported.

The zygote reaps its workers itself (so that their CPU time is counted in its own
children's), and hands the render a pidfd of its worker to watch and kill it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

#: The environment variable naming the socket of a running zygote.
ENV_VAR = "CARTOX_WORKER_ZYGOTE"

#: Imported once by the zygote (third-party only: see the module's docstring).
PRELOAD = (
    "IPython.core.interactiveshell",
    "IPython.core.displayhook",
    "IPython.core.displaypub",
    "ipykernel.compiler",
    "traitlets.config",
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "scipy.stats",
    "scipy.optimize",
    "lifelines",
    "great_tables",
    "yaml",
)

#: Environment variables a render may set differently from the zygote's: read when a
#: process is started or by the project's code, never by a preloaded library at import.
#: The last four are set by pandera and scikit-learn when they are imported (a test process
#: has them once a test has loaded a study or fitted a Firth model) and read only by Spark
#: and Intel's OpenMP runtime, neither of which is loaded here.
FREE_VARIABLES = frozenset(
    {"PATH", "PYTHONPATH", "PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES", ENV_VAR}
    | {"SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE", "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"}
)
FREE_PREFIXES = ("CARTOX_", "PYTEST_")

#: How long a render waits for the zygote's answer before starting its own worker.
ANSWER_TIMEOUT = 10.0


# ----------------------------------------------------------------------------- render side
class ForkedWorker:
    """The part of :class:`subprocess.Popen` that renderer.worker.Worker uses, for a worker
    forked by the zygote (not a child of this process: watched through its pidfd)."""

    def __init__(self, pid: int, pidfd: int, stdin, stdout):
        self.pid, self._pidfd = pid, pidfd
        self.stdin, self.stdout = stdin, stdout
        self.returncode: int | None = None

    def poll(self):
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -1  # ended (its status went to the zygote, which reaped it)
            os.close(self._pidfd)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def wait(self, timeout=None):
        if self.returncode is None:
            select.select([self._pidfd], [], [], timeout)
        return self.poll()


def _worker_file() -> str:
    return str(Path(__file__).with_name("worker.py").resolve())


def _process_environment() -> dict[str, str]:
    """The environment a new process started now would inherit: the C library's, which a
    library may have changed without `os.environ` knowing (readline exports LINES and
    COLUMNS)."""
    try:
        import ctypes

        environ = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
        out, index = {}, 0
        while environ[index] is not None:
            name, _, value = os.fsdecode(environ[index]).partition("=")
            out.setdefault(name, value)
            index += 1
        return out
    except (OSError, ValueError, AttributeError):
        return dict(os.environ)


def spawn(socket_path: str, cwd, stderr) -> ForkedWorker | None:
    """A worker forked by the zygote at `socket_path`, in `cwd` (None: this folder), its
    standard error into the file `stderr`; None when there is no zygote or it declines."""
    return ask(socket_path, cwd, stderr)[0]


def ask(socket_path: str, cwd, stderr) -> tuple[ForkedWorker | None, str]:
    """(:func:`spawn`'s answer, why there is no worker: "" when there is one)."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    request = {
        "executable": sys.executable,
        "worker": _worker_file(),
        "cwd": os.path.abspath(cwd if cwd is not None else os.getcwd()),
        "env": _process_environment(),
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(ANSWER_TIMEOUT)
            conn.connect(socket_path)
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [stdin_r, stdout_w, stderr.fileno()])
            data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 1)
    except OSError as exc:  # no zygote (not started yet, or gone) or no answer in time
        data, fds = json.dumps({"declined": f"no answer ({exc})"}).encode(), []
    finally:
        os.close(stdin_r)
        os.close(stdout_w)
    answer = json.loads(data) if data else {"declined": "no answer"}
    if "pid" not in answer or not fds:
        for fd in fds:
            os.close(fd)
        os.close(stdin_w)
        os.close(stdout_r)
        return None, answer.get("declined", "no worker")
    forked = ForkedWorker(
        answer["pid"],
        fds[0],
        os.fdopen(stdin_w, "w", encoding="utf-8"),
        os.fdopen(stdout_r, "r", encoding="utf-8"),
    )
    return forked, ""


# ----------------------------------------------------------------------------- zygote side
def _refusal(request: dict, own_env: dict) -> str | None:
    """Why this zygote cannot stand in for a new worker process of `request`, or None."""
    if request["executable"] != sys.executable:
        return f"another Python ({request['executable']})"
    if request["worker"] != _worker_file():
        return f"another renderer ({request['worker']})"
    env = request["env"]
    for name in sorted(set(env) | set(own_env)):
        if name in FREE_VARIABLES or name.startswith(FREE_PREFIXES):
            continue
        if env.get(name) != own_env.get(name):
            return f"the environment variable {name} differs"
    if "" in env.get("PYTHONPATH", "x").split(os.pathsep):
        return "an empty entry in PYTHONPATH"
    return _shadowing(_sys_path(request["cwd"], env.get("PYTHONPATH", ""), []))


#: Run by a new interpreter from the first folder of its path that has one.
_STARTUP_MODULES = ("sitecustomize", "usercustomize")


def _shadowing(entries: list[str]) -> str | None:
    """Why a new process whose path starts with `entries` (the folder and PYTHONPATH) would
    import something else than this zygote has: a start-up module, or a preloaded module
    found there first in another file."""
    loaded = {}
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if "." not in name and origin:
            loaded[name] = os.path.realpath(origin)
    for entry in entries:
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for file in names:
            stem = file.split(".", 1)[0]
            if stem in _STARTUP_MODULES and (file.endswith(".py") or "." not in file):
                return f"{os.path.join(entry, file)} runs when a process starts"
            if stem not in loaded:
                continue
            candidates = (os.path.join(entry, file, "__init__.py"), os.path.join(entry, file))
            if not any(os.path.realpath(c) == loaded[stem] for c in candidates):
                return f"{os.path.join(entry, file)} comes before the preloaded {stem}"
    return None


def _sys_path(cwd: str, pythonpath: str, base: list[str]) -> list[str]:
    """`sys.path` of ``python -m renderer.worker`` started in `cwd` with `pythonpath`: the
    folder, the PYTHONPATH entries (absolute, as the site module makes them), then the
    interpreter's own entries; duplicates dropped after their first place."""
    entries = [cwd, *(os.path.join(cwd, p) for p in pythonpath.split(os.pathsep) if pythonpath), *base]
    out: list[str] = []
    for entry in map(os.path.normpath, entries):
        if entry not in out:
            out.append(entry)
    return out


def _become_worker(request: dict, fds: list[int], base_path: list[str], worker, state) -> None:
    """In the forked child: take the render's streams, folder, environment, arguments and
    path, as a new ``python -m renderer.worker`` would have them, then serve the render with
    the shell the zygote prepared (`state`). Never returns."""
    code = 1
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the folder as the new process would see it (getcwd: without symbolic links)
        sys.path[:] = _sys_path(os.getcwd(), request["env"].get("PYTHONPATH", ""), base_path)
        sys.argv = [request["worker"]]
        worker._kernel_sys_path()
        if not os.environ.get("MPLBACKEND"):
            os.environ["MPLBACKEND"] = worker.KERNEL_MPLBACKEND
        shell = state[0]
        shell.starting_dir = os.getcwd()  # where the shell of a new process would start
        shell.history_manager.dir_hist[:] = [Path.cwd()]
        import numpy

        numpy.random.seed()  # a new process draws its own seed; the zygote's is shared
        commands, replies = worker._private_streams()
        worker.run_commands(commands, replies, *state)
        code = 0
    except BaseException:
        import traceback

        traceback.print_exc(file=sys.__stderr__)
    finally:
        os._exit(code)


def _reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def preload() -> None:
    """Import :data:`PRELOAD` (in a worker prepared to run cells: the libraries see the
    shell and the streams the document's imports would see)."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)


def serve(socket_path: str, worker) -> None:
    """Be a worker paused before its first command (`worker`: renderer.worker, run as
    ``python -m renderer.worker --zygote SOCKET``), with :data:`PRELOAD` imported, and
    fork it for each request on `socket_path` until terminated."""
    own_env = dict(os.environ)
    # the interpreter's own entries of sys.path: without the folder and PYTHONPATH
    own = set(_sys_path(os.getcwd(), own_env.get("PYTHONPATH", ""), [])) | {sys.path[0]}
    base_path = [p for p in sys.path if p not in own and os.path.normpath(p) not in own]
    state = worker.prepare()
    prepared_env = dict(os.environ)
    with state[0].builtin_trap, state[0].display_trap:  # as while a cell runs
        preload()
    if dict(os.environ) != prepared_env:  # a forked worker would not have these changes
        changed = sorted(set(os.environ.items()) ^ set(prepared_env.items()))
        sys.exit(f"zygote: importing the preloaded libraries changed the environment: {changed}")
    # the preloaded objects out of the collector's sight: a worker's collections then do not
    # touch (and copy) the pages it shares with the zygote
    import gc

    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # bound only now: a render finding no socket starts its own worker instead of waiting
    temporary = f"{socket_path}.{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(temporary)
        listener.listen(16)
        os.replace(temporary, socket_path)
        try:
            while True:
                conn, _ = listener.accept()
                with conn:
                    _serve_one(conn, listener, own_env, (base_path, worker, state))
        finally:
            try:
                os.unlink(socket_path)
            except OSError:
                pass


def _serve_one(conn, listener, own_env, child_args) -> None:
    fds: list[int] = []
    try:
        conn.settimeout(ANSWER_TIMEOUT)
        data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
        request = json.loads(data)
        refusal = _refusal(request, own_env) if len(fds) == 3 else "three descriptors expected"
        if refusal:
            conn.sendall(json.dumps({"declined": refusal}).encode())
            return
        # (SIGCHLD held until the pidfd is open: a worker that ends at once is not reaped,
        # and its number reused, before)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                _become_worker(request, fds, *child_args)
            pidfd = os.pidfd_open(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        try:
            socket.send_fds(conn, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)
    except (OSError, ValueError) as exc:  # a broken request: the render starts its own worker
        print(f"zygote: {exc}", file=sys.__stderr__, flush=True)
    finally:
        for fd in fds:
            os.close(fd)
