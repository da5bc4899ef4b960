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
  renderer.worker as the render; when the render's environment equals the zygote's but for
  the variables nothing preloaded reads (:data:`FREE_VARIABLES`), and fixes the string hash
  seed (PYTHONHASHSEED: a new process would draw its own, a forked one has the zygote's);
  when no matplotlibrc is in the worker's folder or the project's (matplotlib reads it when
  first imported there); and when a new process, with the render's folder, project folder
  and PYTHONPATH, would import every module the zygote has from the same file and run no
  sitecustomize. Otherwise the answer is a refusal.
- The forked worker gets the render's standard streams, folder, environment (the C
  library's, which readline may have changed), arguments (`sys.argv`, `sys.orig_argv`) and
  `sys.path` (as a new process would compute them), a shell that starts in its folder, and
  NumPy's global random state seeded afresh (Python's `random` reseeds itself after a fork).
- What stays different: the warning filters the preloaded libraries install on import
  (NumPy's and SciPy's own warning classes, binary-compatibility messages: warnings only
  these libraries raise, once imported); the parent process (the zygote); the objects the
  zygote made permanent for the garbage collector (`gc.freeze`); the modules in
  `sys.modules`.

The zygote reaps its workers itself (so that their CPU time is counted in its own
children's), hands the render a pidfd of its worker to watch and kill it, and ends when the
process that started it does.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import select
import signal
import socket
import subprocess
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
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass  # ended in the meantime (as Popen.send_signal)

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


def start(socket_path, *, cwd=None, env=None) -> subprocess.Popen:
    """Start a zygote listening on `socket_path` (bound once its libraries are imported)."""
    command = [sys.executable, "-m", "renderer.worker", "--zygote", str(socket_path)]
    return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def spawn(socket_path: str, cwd, stderr, project=None) -> tuple[ForkedWorker | None, str]:
    """(a worker forked by the zygote at `socket_path`, in `cwd` (None: this folder), its
    standard error into the file `stderr`, to run cells in `project` (None: `cwd`); why
    there is none: "" when there is one)."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    cwd = os.path.abspath(cwd if cwd is not None else os.getcwd())
    request = {
        "executable": sys.executable,
        "worker": _worker_file(),
        "cwd": cwd,
        "project": os.path.abspath(project if project is not None else cwd),
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
    os.set_inheritable(fds[0], False)  # (recv_fds does not ask for close-on-exec)
    forked = ForkedWorker(
        answer["pid"],
        fds[0],
        os.fdopen(stdin_w, "w", encoding="utf-8"),
        os.fdopen(stdout_r, "r", encoding="utf-8"),
    )
    return forked, ""


# ----------------------------------------------------------------------------- zygote side
def _refusal(request: dict, own_env: dict, loaded: dict[str, str], base_path: list[str]) -> str | None:
    """Why this zygote cannot stand in for a new worker process of `request`, or None
    (`loaded`: the file of each top-level module imported here; `base_path`: the
    interpreter's own entries of sys.path)."""
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
    if env.get("PYTHONHASHSEED", "random") == "random":
        return "no PYTHONHASHSEED: a new process would draw a string hash seed of its own"
    pythonpath = env.get("PYTHONPATH", "")
    if "" in pythonpath.split(os.pathsep) and pythonpath:
        return "an empty entry in PYTHONPATH"
    for folder in (request["cwd"], request["project"]):
        if os.path.exists(os.path.join(folder, "matplotlibrc")):
            return f"{folder}/matplotlibrc: matplotlib reads it when a cell imports it there"
    # the worker's path when it starts (its folder first), and when a cell imports (the
    # project folder first)
    paths = [_sys_path(folder, pythonpath, base_path) for folder in (request["cwd"], request["project"])]
    return _startup_module(paths[0]) or _found_elsewhere(loaded, paths)


#: Run by a new interpreter from the first folder of its path that has one.
_STARTUP_MODULES = ("sitecustomize", "usercustomize")


def _startup_module(path: list[str]) -> str | None:
    for name in _STARTUP_MODULES:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin:
            return f"{spec.origin} would run when a new process starts"
    return None


def _loaded_modules() -> dict[str, str]:
    """The file of each top-level module imported in this process."""
    loaded = {}
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if "." not in name and origin and name != "__main__":  # (the worker itself: checked above)
            loaded[name] = os.path.realpath(origin)
    return loaded


def _found_elsewhere(loaded: dict[str, str], paths: list[list[str]]) -> str | None:
    """Why a new process with one of `paths` would import another file than this process
    has for one of its modules: found first in another folder (shadowed), or only here."""
    others = [f for f in sys.meta_path if f is not importlib.machinery.PathFinder and hasattr(f, "find_spec")]
    for path in paths:
        for name, origin in loaded.items():
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            for finder in others if spec is None else ():
                spec = finder.find_spec(name, None)
                if spec is not None:
                    break
            found = os.path.realpath(spec.origin) if spec is not None and spec.has_location and spec.origin else None
            if found is not None and found != origin:
                return f"a new process would import {name} from {found}, not {origin}"
            if found is None and not any(origin.startswith(os.path.realpath(p) + os.sep) for p in path):
                # a built-in or frozen module has no file on the path: the same everywhere
                if name not in sys.builtin_module_names and not _frozen(name):
                    return f"a new process would not find {name} ({origin})"
    return None


def _frozen(name: str) -> bool:
    return importlib.machinery.FrozenImporter.find_spec(name) is not None


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
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the folder as the new process would see it (getcwd: without symbolic links)
        sys.path[:] = _sys_path(os.getcwd(), request["env"].get("PYTHONPATH", ""), base_path)
        sys.argv = [request["worker"]]
        sys.orig_argv = [sys.executable, "-m", "renderer.worker"]
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


def _reap() -> None:
    """Collect the workers that have ended (their CPU time then counts in this process's
    children's; a render watches its worker through a pidfd, not through its status)."""
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
    own_env, parent = dict(os.environ), os.getppid()
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
    loaded = _loaded_modules()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # bound only now: a render finding no socket starts its own worker instead of waiting
    temporary = f"{socket_path}.{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(temporary)
        listener.listen(16)
        os.replace(temporary, socket_path)
        listener.settimeout(1.0)
        try:
            while os.getppid() == parent:  # (ends with the process that started it)
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    pass
                else:
                    with conn:
                        _serve_one(conn, listener, (own_env, loaded, base_path), (base_path, worker, state))
                _reap()
        finally:
            try:
                os.unlink(socket_path)
            except OSError:
                pass


def _serve_one(conn, listener, refusal_args, child_args) -> None:
    fds: list[int] = []
    try:
        conn.settimeout(ANSWER_TIMEOUT)
        data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
        request = json.loads(data)
        refusal = _refusal(request, *refusal_args) if len(fds) == 3 else "three descriptors expected"
        if refusal:
            conn.sendall(json.dumps({"declined": refusal}).encode())
            return
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            _become_worker(request, fds, *child_args)
        pidfd = os.pidfd_open(pid)  # (not reaped before: that happens in the loop only)
        try:
            socket.send_fds(conn, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)
    except (OSError, ValueError) as exc:  # a broken request: the render starts its own worker
        print(f"zygote: {exc}", file=sys.__stderr__, flush=True)
    finally:
        for fd in fds:
            os.close(fd)
