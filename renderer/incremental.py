"""Incremental execution: re-run only the chunks and inline expressions an edit affects.

The document is split into
* the *setup prefix*: the renderer's setup cell and the leading chunks that each bind
  names (parameters, the chunk building `settings`, `data`, `R`, `text`), with any inline
  expression among them. It is keyed by its own code and every input of the analysis
  (`cache.compute_key` on the prefix alone: parameters, data and study file contents,
  `analysis/` sources, package versions, execute options, figure defaults);
* *units* after it: every later chunk (with its figure-size cells) and every inline
  expression. A unit's key is the prefix key, the structure of the manuscript and the
  supplement (`analysis.report.documents.structure_digest`: the figures, tables and headings
  `text.ref()` and the STROBE checklist number, from sources no unit's code shows), its own
  code and options, and the keys of the earlier units it depends on (below).

Dependencies come from the names a unit reads (`analyse`). A name bound by the prefix
and never rebound is *frozen*: the prefix key covers it. Any other name a unit reads
makes it depend on every earlier unit that read or bound that name (a method call can
mutate an object: every toucher counts). A name nobody bound before the unit is keyed as
"unresolved", so an expression moved above the chunk defining its name misses and is
executed (and fails as it would with `--no-cache`).

"Frozen" is checked, not assumed: after the prefix the kernel pickles its namespace
(modules by name, functions of the document by their code) and fingerprints the global
state (matplotlib rcParams, pandas and NumPy options, random states, working directory,
sys.path). Every execution ends by pickling the same objects again: if anything changed
(a chunk mutated `R`, called `pd.set_option`, ...) the entry is marked non-incremental
and any later miss executes the whole document. A partial run that changes them, or
fails, is discarded and the whole document executed. Units that use `globals()`,
`exec`, IPython's `_`/`Out` and the like, or do not parse, also disable it.

Files the execution opens besides (a chunk reading `data/extra.csv` by itself) are recorded
by an audit hook and checked before an entry is used (`opened_files`, `files_changed`); the
prefix key is computed again once the execution ends (`Plan.rekey`): inputs that changed
while the document executed (an export replaced, midnight passed) are not stored.

On a miss of some units only, the prefix namespace is restored from the pickle in the
light worker (renderer.worker) and only the missing units, with the units they depend
on, executed in document order. Only the setup names these units read are restored
(modules are stored by name and imported only when read; the other objects come back
together), unless the setup defined a function, which may read any name; an inline-only
run skips the figure setup cell. The global-state fingerprint is kept by piece (a module
not imported has none): every piece present after the restore and at the end must match
the stored one.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.inputs.provenance import GIT_COMMANDS
from renderer import cache, leftovers, notebook
from renderer.errors import RenderError
from renderer.execute import Step

#: Bump when the entry layout changes.
FORMAT = 5
STATE_MIME = "application/x-renderer-state+json"
#: Names whose use makes static dependency analysis meaningless.
DYNAMIC_NAMES = {
    "globals",
    "locals",
    "vars",
    "exec",
    "eval",
    "get_ipython",
    "In",
    "Out",
    "_",
    "__",
    "___",
    "__builtins__",
    "_ih",
    "_oh",
    "_dh",
}
DYNAMIC_RE = re.compile(r"^_i{1,3}\d*$|^_\d+$")
#: Runs whose units are kept in an entry.
KEEP_RUNS = 4


# ------------------------------------------------------------------------ static analysis
@dataclass
class Names:
    reads: set = field(default_factory=set)  # free names whose prior value may be read
    binds: set = field(default_factory=set)  # names (re)bound in the namespace
    dynamic: bool = False


def _target_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _scope_locals(node):
    """Names local to a function / lambda / comprehension scope."""
    local = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                local.add(arg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = set()
        for child in body:
            for n in ast.walk(child):
                if isinstance(n, (ast.Global, ast.Nonlocal)):
                    declared.update(n.names)
                elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                    local.add(n.id)
                elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    local.add(n.name)
                elif isinstance(n, (ast.Import, ast.ImportFrom)):
                    local.update((a.asname or a.name).split(".")[0] for a in n.names)
        local -= declared
    else:  # comprehension
        for gen in node.generators:
            local |= _target_names(gen.target)
    return local


def _free_loads(node, bound=frozenset()):
    """Names loaded in `node` that are not bound locally (function, lambda, comprehension)."""
    out = set()

    def visit(n, bound):
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id not in bound:
            out.add(n.target.id)  # `x += 1` reads x
        if isinstance(n, (ast.For, ast.AsyncFor)):
            # the loop's body reads the target the loop bound, not an earlier value (the
            # `else` clause may run after no iteration at all)
            visit(n.iter, bound)
            for child in n.body:
                visit(child, bound | _target_names(n.target))
            for child in n.orelse:
                visit(child, bound)
            return
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load) and n.id not in bound:
                out.add(n.id)
            return
        if isinstance(
            n,
            (
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.Lambda,
                ast.ListComp,
                ast.SetComp,
                ast.DictComp,
                ast.GeneratorExp,
            ),
        ):
            inner = bound | _scope_locals(n)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                # defaults and decorators are evaluated in the enclosing scope
                for d in n.args.defaults + [d for d in n.args.kw_defaults if d is not None]:
                    visit(d, bound)
                for d in getattr(n, "decorator_list", []):
                    visit(d, bound)
                body = n.body if isinstance(n.body, list) else [n.body]
                for child in body:
                    visit(child, inner)
            else:
                for gen in n.generators:
                    visit(gen.iter, bound if gen is n.generators[0] else inner)
                    for cond in gen.ifs:
                        visit(cond, inner)
                for part in ("elt", "key", "value"):
                    if hasattr(n, part):
                        visit(getattr(n, part), inner)
            return
        for child in ast.iter_child_nodes(n):
            visit(child, bound)

    visit(node, frozenset(bound))
    return out


def _binds(tree):
    """Names a chunk may bind in the namespace (conservative)."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.NamedExpr):
            out |= _target_names(n.target)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)

    def top(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(s.name)
                continue
            if isinstance(s, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in s.names)
                continue
            for n in ast.walk(s):
                if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)) and not _inside_scope(s, n):
                    out.add(n.id)
                elif isinstance(n, (ast.Import, ast.ImportFrom)) and not _inside_scope(s, n):
                    out.update((a.asname or a.name).split(".")[0] for a in n.names)
                elif (
                    isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and n is not s
                    and not _inside_scope(s, n)
                ):
                    out.add(n.name)
                elif isinstance(n, ast.ExceptHandler) and n.name:
                    out.add(n.name)
                elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
                    out.add(n.name)
                elif isinstance(n, ast.MatchMapping) and n.rest:
                    out.add(n.rest)

    top(tree.body)
    return out


def _inside_scope(root, target):
    """Whether `target` sits inside a function, lambda, class body or comprehension of `root`."""

    def walk_scoped(n, inside):
        if n is target:
            return inside
        for child in ast.iter_child_nodes(n):
            scoped = isinstance(
                n,
                (
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.Lambda,
                    ast.ClassDef,
                    ast.ListComp,
                    ast.SetComp,
                    ast.DictComp,
                    ast.GeneratorExp,
                ),
            )
            found = walk_scoped(child, inside or scoped)
            if found is not None:
                return found
        return None

    return bool(walk_scoped(root, False))


def _top_reads(tree):
    """Free names read, statement by statement: a name assigned unconditionally by an
    earlier top-level statement of the same chunk, or the target of the `for` loop whose
    body reads it, is not a read of an earlier value."""
    reads, defined = set(), set()
    for s in tree.body:
        reads |= _free_loads(s) - defined
        if isinstance(s, (ast.Assign, ast.AnnAssign)):
            for t in s.targets if isinstance(s, ast.Assign) else [s.target]:
                if isinstance(t, ast.Name):
                    defined.add(t.id)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in s.names)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(s.name)
    return reads


def analyse(code: str, inline: bool = False) -> Names:
    """Names read and bound by a chunk's code (or an inline expression)."""
    try:
        tree = ast.parse(code, mode="eval" if inline else "exec")
    except SyntaxError:
        return Names(dynamic=True)  # IPython magics, or an error the execution will report
    if inline:
        names = Names(
            _free_loads(tree.body),
            {n for x in ast.walk(tree) if isinstance(x, ast.NamedExpr) for n in _target_names(x.target)},
        )
    else:
        names = Names(_top_reads(tree), _binds(tree))
    every = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    # `seed`: a later chunk seeding a global random generator makes the next chunks'
    # draws depend on it having run.
    star_import = any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree))
    names.dynamic = (
        any(n in DYNAMIC_NAMES or DYNAMIC_RE.match(n) for n in every) or "seed" in every | attributes or star_import
    )
    return names


# ------------------------------------------------------------------------- units and keys
@dataclass
class Unit:
    kind: str  # chunk | inline
    step: Step
    cells: list  # notebook cell indices (figure-size cells, the chunk)
    code: list  # what the key covers
    names: Names
    key: str = ""
    deps: list = field(default_factory=list)  # unit indices


@dataclass
class Plan:
    prefix_cells: list  # notebook cell indices
    prefix_key: cache.Key
    units: list
    analysable: bool  # False: any miss executes everything
    #: the structure of the manuscript and the supplement (analysis.report.documents.structure_digest):
    #: text.ref() and the STROBE checklist print the numbers of figures, tables and sections of
    #: sources outside this document, which no unit's code shows; part of every unit's key
    structure: str = ""
    #: the prefix key computed again (after the execution: were its inputs the same throughout?)
    rekey: Callable[[], cache.Key] | None = None


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr, ensure_ascii=False).encode()).hexdigest()


def _without_options(source):
    return "\n".join("" if line.startswith("#|") else line for line in source.split("\n"))


def plan(doc, nb, steps, overrides, execute_opts, fig, project_dir) -> Plan:
    """Split the notebook into the setup prefix and units; key the prefix."""
    end = 0  # exclusive end of the prefix (cell index)
    for i, step in enumerate(steps):
        if step.role == "setup" or step.role == "params":
            end = i + 1
        elif step.role == "chunk":
            names = analyse(nb.cells[i].source)
            if names.dynamic or not names.binds:
                break
            end = i + 1
            if i > 0 and steps[i - 1].role == "figsize":  # a sized chunk: its size is reset after it
                end += 1
            if end < len(steps) and steps[end].role == "params":
                end += 1
    prefix_cells = list(range(end))
    prefix_steps = [steps[i] for i in prefix_cells]
    prefix_nb = type(nb)(nb)  # shallow copy with only the prefix cells
    prefix_nb.cells = [nb.cells[i] for i in prefix_cells]

    def prefix_key() -> cache.Key:
        key = cache.compute_key(doc, prefix_nb, prefix_steps, overrides, execute_opts, fig, project_dir)
        inline_texts = [s.obj.code for s in prefix_steps if s.role == "inline"]
        key.components["prefix inline expressions"] = _sha(inline_texts)
        key.components["incremental format"] = str(FORMAT)
        return cache.Key(_sha(key.components), key.components)

    key = prefix_key()

    units, i = [], end
    while i < len(steps):
        cells = []
        while steps[i].role == "figsize" and i + 1 < len(steps) and steps[i + 1].role == "chunk":
            cells.append(i)
            i += 1
        step = steps[i]
        cells.append(i)
        i += 1
        if step.role == "chunk":
            if len(cells) > 1:  # a sized chunk: its size is reset after it
                cells.append(i)
                i += 1
            # Cell options (captions, labels, layout, echo...) only affect how the stored
            # outputs are placed, not what executing gives: blanked out of the key (line
            # numbers kept); `eval` and figure sizes are in the notebook cells themselves.
            units.append(
                Unit(
                    "chunk",
                    step,
                    cells,
                    [_without_options(nb.cells[c].source) for c in cells],
                    analyse(step.obj.source),
                )
            )
        elif step.role == "inline":
            units.append(Unit("inline", step, cells, [step.obj.code], analyse(step.obj.code, inline=True)))
        else:  # anything else after the prefix: treat as a chunk-like unit without step outputs
            units.append(
                Unit(step.role, step, cells, [nb.cells[c].source for c in cells], analyse(nb.cells[cells[-1]].source))
            )
    analysable = not any(u.names.dynamic for u in units)
    from analysis.report.documents import structure_digest

    return Plan(prefix_cells, key, units, analysable, structure_digest(project_dir), rekey=prefix_key)


def key_units(p: Plan, frozen: set) -> None:
    """Fill each unit's dependencies and key; `frozen`: names the prefix bound."""
    touchers: dict[str, list[int]] = {}
    rebound: set = set()
    for idx, unit in enumerate(p.units):
        markers, deps = [], set()
        for name in sorted(unit.names.reads):
            if name in frozen and name not in rebound:
                markers.append(f"setup:{name}")
            elif name in touchers:
                deps.update(touchers[name])
                markers.append(f"from:{name}")
            elif hasattr(builtins, name):
                markers.append(f"builtin:{name}")
            else:
                markers.append(f"unresolved:{name}")
        unit.deps = sorted(deps)
        unit.key = _sha(
            [p.prefix_key.digest, p.structure, unit.kind, unit.code, markers, [p.units[d].key for d in unit.deps]]
        )
        # Touchers of a name bound after the setup: its binders and every later reader
        # (a method call can mutate). Reading a frozen name is checked at the end of the
        # run instead; a builtin or an unbound name has no toucher.
        for name in unit.names.binds:
            touchers.setdefault(name, []).append(idx)
        for name in unit.names.reads - unit.names.binds:
            if name in touchers:
                touchers[name].append(idx)
        rebound |= unit.names.binds


def closure(p: Plan, missing: set) -> list:
    """Indices of the units to execute: the missing ones and what they depend on, in order."""
    todo, stack = set(), list(missing)
    while stack:
        i = stack.pop()
        if i not in todo:
            todo.add(i)
            stack.extend(p.units[i].deps)
    return sorted(todo)


# ----------------------------------------------------------------------- kernel-side code
_KERNEL_LIB = r'''
def _renderer_state_lib():
    import hashlib, importlib, marshal, os, pickle, random, re, sys, types
    shell = get_ipython()
    hidden = set(shell.user_ns_hidden)
    skip = re.compile(r"^_renderer_|^_i{1,3}\d*$|^_\d+$|^_+$|^_(ih|oh|dh|exit_code)$")

    def user_names():
        return sorted(n for n in shell.user_ns if n not in hidden and not skip.match(n)
                      and n not in ("In", "Out", "exit", "quit", "get_ipython"))

    cached_names = {}

    def lazily_cached(cls):
        """Attribute names of functools.cached_property members: a memo filled on first
        read is not a change of the object."""
        if cls not in cached_names:
            import functools
            cached_names[cls] = {k for c in cls.__mro__ for k, v in vars(c).items()
                                 if isinstance(v, functools.cached_property)}
        return cached_names[cls]

    class Pickler(pickle.Pickler):
        code = False  # whether a function of the document was pickled

        def reducer_override(self, obj):
            if isinstance(obj, type) or not isinstance(getattr(obj, "__dict__", None), dict):
                return NotImplemented
            cached = lazily_cached(type(obj))
            if not cached or not (cached & set(obj.__dict__)):
                return NotImplemented
            rv = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
            state = rv[2] if len(rv) > 2 else None
            if isinstance(state, dict):
                state = {k: v for k, v in state.items() if k not in cached}
            return (rv[0], rv[1], state) + tuple(rv[3:])

        def persistent_id(self, obj):
            if isinstance(obj, types.ModuleType):
                return ("module", obj.__name__)
            if isinstance(obj, types.FunctionType) and obj.__module__ == "__main__":
                if obj.__closure__:
                    raise pickle.PicklingError(f"function {obj.__name__} has a closure")
                self.code = True
                return ("function", marshal.dumps(obj.__code__), obj.__name__, obj.__qualname__,
                        obj.__defaults__, obj.__kwdefaults__, obj.__doc__)
            if isinstance(obj, type) and obj.__module__ == "__main__":
                raise pickle.PicklingError(f"class {obj.__name__} defined in the document")
            return None

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            if pid[0] == "module":
                return importlib.import_module(pid[1])
            _, code, name, qualname, defaults, kwdefaults, doc = pid
            fn = types.FunctionType(marshal.loads(code), shell.user_ns, name, defaults)
            fn.__qualname__, fn.__kwdefaults__, fn.__doc__ = qualname, kwdefaults, doc
            return fn

    class HashingWriter:
        """Streams the pickle to a file (or nowhere) while hashing it: no in-memory copy
        of a large cohort."""

        def __init__(self, fh=None):
            self.fh, self.sha = fh, hashlib.sha256()

        def write(self, data):
            self.sha.update(data)
            if self.fh is not None:
                self.fh.write(data)
            return len(data)

    def dump(frozen, fh=None):
        """(sha256, whether a function of the document is in it) of the snapshot of the
        namespace `frozen`, written to `fh` when given: the names bound to modules (by module
        name), then every other object in one pickle (so shared references stay shared)."""
        writer = HashingWriter(fh)
        modules = {n: v.__name__ for n, v in frozen.items() if isinstance(v, types.ModuleType)}
        pickle.dump(modules, writer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler = Pickler(writer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dump({n: v for n, v in frozen.items() if n not in modules})
        return writer.sha.hexdigest(), pickler.code

    def load(fh, needed=None):
        """The namespace dumped to `fh`, or the part of it a partial run reads (`needed`):
        modules are imported by name, only those needed (importing matplotlib for a module
        of figures nobody reads costs half a second); the other objects come back together."""
        modules = pickle.load(fh)
        out = {n: importlib.import_module(m) for n, m in modules.items() if needed is None or n in needed}
        if needed is None or any(n not in modules for n in needed):
            out.update(Unpickler(fh).load())
        return out

    def random_states():
        # NumPy's as plain Python, so that restoring it does not import NumPy
        np = sys.modules.get("numpy")
        state = np.random.get_state() if np is not None else None
        if state is not None:
            state = (state[0], state[1].tolist(), *state[2:])
        return random.getstate(), state

    def set_random_states(states):
        random.setstate(states[0])
        np = sys.modules.get("numpy")
        if np is not None and states[1] is not None:
            np.random.set_state((states[1][0], np.array(states[1][1], dtype=np.uint32), *states[1][2:]))

    def fingerprint():
        """Digest of each piece of global state a chunk could change, by piece; a piece
        of a module not imported is absent (nothing changed it)."""
        # (Python's own `random` is left out: great_tables draws its HTML ids from it.)
        def sha(value):
            return hashlib.sha256(repr(value).encode()).hexdigest()

        parts = {"cwd": sha(os.getcwd()), "sys.path": sha(list(sys.path))}
        mpl = sys.modules.get("matplotlib")
        if mpl is not None:
            parts["matplotlib.rcParams"] = sha(sorted((k, repr(v)) for k, v in mpl.rcParams.items()))
        pd = sys.modules.get("pandas")
        if pd is not None:
            parts["pandas options"] = sha(pd._config.config._global_config)
        np = sys.modules.get("numpy")
        if np is not None:
            parts["numpy print options"] = sha(np.get_printoptions())
            parts["numpy.random"] = sha(np.random.get_state())
        return parts

    return types.SimpleNamespace(user_names=user_names, dump=dump, load=load, Unpickler=Unpickler,
                                 fingerprint=fingerprint, random_states=random_states,
                                 set_random_states=set_random_states)


def _renderer_report(**values):
    from IPython.display import display
    display({%(mime)r: values}, raw=True)
'''


def _snapshot_code(path):
    return (
        _KERNEL_LIB % {"mime": STATE_MIME}
        + f"""
_renderer_lib = _renderer_state_lib()
_renderer_frozen = {{n: get_ipython().user_ns[n] for n in _renderer_lib.user_names()}}
try:
    # the renderer created this file (0600) and holds its lock until it is renamed
    with open({str(path)!r}, "wb", opener=lambda p, f: __import__("os").open(p, f, 0o600)) as _renderer_fh:
        # the random generators' states first (a new kernel seeds them afresh), then the namespace
        __import__("pickle").dump(_renderer_lib.random_states(), _renderer_fh)
        _renderer_digest, _renderer_code = _renderer_lib.dump(_renderer_frozen, _renderer_fh)
except Exception as exc:  # not restorable, or not writable: the cache stays all or nothing
    _renderer_report(names=sorted(_renderer_frozen), snapshot=None, why=f"{{type(exc).__name__}}: {{exc}}",
                     digest=None, fingerprint=_renderer_lib.fingerprint(), code=None,
                     modules=[])
else:
    _renderer_report(names=sorted(_renderer_frozen), snapshot={str(path)!r}, why=None,
                     digest=_renderer_digest, fingerprint=_renderer_lib.fingerprint(), code=_renderer_code,
                     modules=sorted(n for n, v in _renderer_frozen.items()
                                    if isinstance(v, __import__("types").ModuleType)))
"""
    )


def _restore_code(path, fingerprint, needed=None):
    """Kernel code restoring the setup's namespace (only the names in `needed`, when given)."""
    return (
        _KERNEL_LIB % {"mime": STATE_MIME}
        + f"""
_renderer_lib = _renderer_state_lib()
with open({str(path)!r}, "rb") as _renderer_fh:
    _renderer_random_states = __import__("pickle").load(_renderer_fh)
    _renderer_frozen = _renderer_lib.load(_renderer_fh, {needed!r})
get_ipython().user_ns.update(_renderer_frozen)
# (compared at the end with this, not with the stored digest: unpickled objects need not
# pickle to the very same bytes)
_renderer_start = _renderer_lib.dump(_renderer_frozen)[0]
_renderer_lib.set_random_states(_renderer_random_states)
_renderer_stored = {fingerprint!r}
_renderer_differ = [k for k, v in _renderer_lib.fingerprint().items() if _renderer_stored.get(k) != v]
if _renderer_differ:
    raise RuntimeError(f"the restored setup does not reproduce the global state ({{', '.join(_renderer_differ)}})")
"""
    )


_CHECK_CODE = """
try:
    _renderer_digest = _renderer_lib.dump(_renderer_frozen)[0]
except Exception:
    _renderer_digest = None
_renderer_report(digest=_renderer_digest, fingerprint=_renderer_lib.fingerprint(),
                 start=globals().get("_renderer_start"))
"""


#: The cells the renderer adds to a run (not the document's).
RENDERER_ROLES = ("track", "snapshot", "check", "opened")

# Files the execution opens. A chunk may read a file no parameter and no study file names
# (`pd.read_csv("data/extra.csv")`): no key can know it beforehand, so the run records what
# it opens for reading (an audit hook on "open", installed before the setup) and the entry
# keeps each file's SHA-256; a changed, new or vanished file is a miss. Left out: Python's
# and the packages' own files (the interpreter's prefixes, site-packages; their versions are
# in the key), compiled bytecode, /proc, /sys and /dev, the cache itself, the documents'
# .qmd sources (prose is deliberately not in the key; what the setup reads of them, the
# structure text.ref() numbers, is: Plan.structure), and the library files the key already
# holds; matplotlib's and IPython's own caches and settings are dropped when the list is
# reported. What "open" does not show (attack 28b): a folder listed (os.listdir/os.scandir,
# not the import system's) is kept as the digest of its sorted names; a module imported
# from an up-to-date .pyc under the project (its .py only stat()ed) as a file; a SQLite
# database opened natively or a program run (other than the git commands of
# analysis.inputs.provenance, which the key holds) make the run not stored (not_followed).
_TRACK_CODE = r"""
def _renderer_track(project, allowed):
    import hashlib, os, site, stat, sys
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages()}
    prefixes |= {"/proc", "/sys", "/dev", os.path.join(project, ".cache")}
    prefixes = {p for p in prefixes if p}
    skip = tuple({os.path.join(p, "") for p in prefixes} | {os.path.join(os.path.realpath(p), "") for p in prefixes})
    seen = {}
    untracked = []
    write = os.O_WRONLY
    allowed = [list(a) for a in allowed]

    def skipped(full):
        return full.startswith(skip) or os.path.realpath(full).startswith(skip)

    def listing(full):  # as renderer.incremental.listing_digest
        names = sorted(os.listdir(full))
        return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()

    def hook(event, args):
        try:
            if event in ("subprocess.Popen", "os.posix_spawn"):  # (subprocess may use posix_spawn)
                if list(args[1]) not in allowed:
                    untracked.append(f"ran {os.path.basename(os.fsdecode(args[0] or list(args[1])[0]))!r}")
                return
            if event in ("os.system", "os.exec", "os.spawn"):
                untracked.append("ran a program (" + event + ")")
                return
            if event == "sqlite3.connect":
                database = os.fsdecode(args[0])
                if database not in ("", ":memory:"):
                    untracked.append(f"opened the SQLite database {database}")
                return
            if event in ("os.listdir", "os.scandir"):
                path = args[0]
                if isinstance(path, int):
                    return
                caller = sys._getframe(1).f_code.co_filename
                if "importlib" in caller:  # the import system's own directory cache
                    return
                full = os.path.join(os.path.abspath(os.fsdecode(path if path is not None else ".")), "")
                if full in seen or skipped(full):
                    return
                seen[full] = None  # before listing it: the listing raises this event again
                seen[full] = listing(full)
                return
            if event != "open":
                return
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            if mode is not None:
                if any(c in mode for c in "wax") and "+" not in mode:
                    return
            elif flags is not None and flags & os.O_ACCMODE == write:
                return
            full = os.path.abspath(os.fsdecode(path))
            if full in seen or full.endswith((".pyc", ".pyo", ".qmd")) or skipped(full):
                return
            try:
                st = os.stat(full)
            except OSError:
                seen[full] = None  # opened and not found: a file appearing there changes the output
                return
            if stat.S_ISREG(st.st_mode):  # as signature() below
                seen[full] = [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]
        except Exception:
            pass

    def imported():
        # a module imported from its up-to-date .pyc: the .py is only stat()ed, never opened
        base = os.path.join(os.path.abspath(project), "")
        for module in list(sys.modules.values()):
            f = getattr(module, "__file__", None)
            if not isinstance(f, str) or not f.endswith(".py"):
                continue
            full = os.path.abspath(f)
            if full in seen or not full.startswith(base) or skipped(full):
                continue
            try:
                st = os.stat(full)
                seen[full] = [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]
            except OSError:
                pass

    sys.addaudithook(hook)
    return seen, untracked, imported


_renderer_opened, _renderer_untracked, _renderer_imported = _renderer_track(%(project)r, %(allowed)r)
"""

_OPENED_CODE = """
def _renderer_opened_files():
    import os, sys
    _renderer_imported()
    drop = [os.path.expanduser("~/.ipython")]
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        drop += [mpl.get_cachedir(), mpl.get_configdir()]
    drop = tuple(os.path.join(os.path.realpath(d), "") for d in drop if d)
    return {p: v for p, v in _renderer_opened.items() if not os.path.realpath(p).startswith(drop)}


_renderer_report(opened=_renderer_opened_files(), untracked=sorted(set(_renderer_untracked)))
"""


def _track_code(project_dir) -> str:
    allowed = [list(command) for command in GIT_COMMANDS]
    return _KERNEL_LIB % {"mime": STATE_MIME} + _TRACK_CODE % {
        "project": os.path.abspath(project_dir),
        "allowed": allowed,
    }


def listing_digest(path) -> str | None:
    """SHA-256 of a folder's sorted names (a folder a chunk listed: a file added or removed
    there changes what it computed), None when it is not a folder."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def not_followed(state) -> list:
    """What the run read that the cache cannot follow (a program it ran, a SQLite database
    it opened natively): such a run is not stored."""
    return list(state.get("untracked") or [])


def signature(st: os.stat_result) -> list:
    """What says a file is still the one a run opened (the tracking hook records the same
    list at the open): its mtime and size, and its inode and ctime, which a replacement by a
    copy with the same size and mtime (``cp -p``, ``rsync -t``, ``os.utime``) cannot keep:
    a rename gives another inode, any write or utime sets the ctime to now."""
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _signature_now(path) -> list | None:
    try:
        return signature(os.stat(path))
    except OSError:
        return None


def opened_files(opened, key: cache.Key | None = None, project_dir=None) -> tuple[dict, list]:
    """({path: SHA-256, or None for a file opened that did not exist}, [paths that changed
    since the run opened them]) of what a run reported opening, less the library files
    `key` holds already. A file whose :func:`signature` differs from the one taken at the
    open (or changes while it is hashed) is changed: its digest would be of other bytes
    than those the outputs were computed from."""
    keyed = set()
    if key is not None and project_dir is not None:
        prefix = "library file "
        base = os.path.abspath(project_dir)
        keyed = {os.path.join(base, n[len(prefix) :]) for n in key.components if n.startswith(prefix)}
    files, changed = {}, []
    for path, seen in sorted((opened or {}).items()):
        if path in keyed:
            continue
        if path.endswith(os.sep):  # a folder the run listed: the digest of its names
            if listing_digest(path) != seen:
                changed.append(f"the folder {path}")
            else:
                files[path] = seen
            continue
        now = _signature_now(path)
        if now != seen:
            changed.append(f"the file {path}")
            continue
        try:
            digest = cache.file_digest(path) if now is not None else None
        except OSError:
            changed.append(f"the file {path}")
            continue
        if _signature_now(path) != now:  # replaced or written while it was hashed
            changed.append(f"the file {path}")
            continue
        files[path] = digest
    return files, changed


def files_changed(files) -> str | None:
    """Why an entry cannot be used: a file its run opened has other contents now (or
    appeared, or vanished); None when every one is as it was."""
    for path, digest in sorted((files or {}).items()):
        if path.endswith(os.sep):
            if listing_digest(path) != digest:
                return f"changed: the folder {path}, listed while the document executed"
            continue
        try:
            now = cache.file_digest(path) if os.path.exists(path) else None
        except OSError:
            now = "unreadable"
        if now != digest:
            return f"changed: the file {path}, read while the document executed"
    return None


def _state(cell):
    for out in cell.outputs:
        data = out.get("data", {})
        if STATE_MIME in data:
            return data[STATE_MIME]
    raise RenderError("the renderer's state cell reported nothing")


# ------------------------------------------------------------------------------- storage
class Store:
    """The cache entry of one setup key: ``<stem>@<key>.json`` (outputs and inline values,
    with its SHA-256: renderer.cache.write_verified) and ``<stem>@<key>.pkl`` (the setup's
    namespace; its SHA-256 is in the entry and checked before it is restored)."""

    def __init__(self, project_dir, doc_path, key: cache.Key):
        self.project_dir = Path(project_dir)
        self.dir = Path(project_dir) / ".cache" / "renderer"
        self.stem = Path(doc_path).stem
        self.key = key
        base = f"{self.stem}@{key.digest[:32]}"
        self.entry_path = self.dir / f"{base}.json"
        self.snapshot_path = self.dir / f"{base}.pkl"
        self.manifest = cache.Manifest(project_dir, doc_path)  # why a setup key missed

    def load(self):
        """(entry, None) or (None, why)."""
        if not self.entry_path.exists():
            return None, self.manifest.why_missed(self.key)
        try:
            entry = json.loads(cache.read_verified(self.entry_path))
            if not (
                isinstance(entry, dict)
                and entry.get("format") == FORMAT
                and entry.get("key") == self.key.digest
                and isinstance(entry.get("units"), dict)
                and isinstance(entry.get("prefix_chunks"), list)
                and isinstance(entry.get("prefix_inline"), list)
                and isinstance(entry.get("names"), list)
                and isinstance(entry.get("fingerprint"), dict)
                and isinstance(entry.get("runs"), list)
            ):
                raise ValueError("unexpected layout")
        except cache.IntegrityError as exc:
            return None, f"cache entry failed its integrity check: {exc}; ignored"
        except (OSError, ValueError, UnicodeDecodeError):
            return None, "cache entry unreadable (ignored)"
        try:
            os.utime(self.entry_path)
        except OSError:
            pass
        return entry, None

    def save(self, entry) -> bool:
        """Write the entry (False when it cannot be written: a cache only costs time)."""
        try:
            cache.private_dir(self.project_dir)
            cache.write_verified(self.entry_path, json.dumps(entry, ensure_ascii=False))
            self.manifest.record(self.key)
            self._prune()
        except OSError:
            return False
        return True

    def snapshot_verified(self, entry) -> bool:
        """Whether the setup snapshot on disk is the one the entry recorded (its SHA-256)."""
        try:
            return entry.get("snapshot_sha256") == cache.file_digest(self.snapshot_path)
        except OSError:
            return False

    def sweep(self, progress) -> None:
        """Remove what killed renders left in the cache: snapshots and entries being
        written (renderer.leftovers), and snapshots whose entry is gone."""
        from renderer import leftovers

        if not self.dir.is_dir():
            return
        leftovers.sweep(self.dir, [f".*{leftovers.CLAIMED_TMP}"], progress=progress)
        for snapshot in self.dir.glob("*.pkl"):
            if not snapshot.with_suffix(".json").exists():  # an entry is written before its snapshot
                _unlink(snapshot)

    def _prune(self):
        entries = sorted(self.dir.glob(f"{self.stem}@*.json"), key=lambda q: q.stat().st_mtime, reverse=True)
        for old in [q for q in entries if q != self.entry_path][cache.KEEP - 1 :]:
            for path in (old, old.with_suffix(".pkl")):
                try:
                    path.unlink()
                except OSError:
                    pass


def _unit_record(unit):
    if unit.kind == "chunk":
        return {"outputs": [dict(o) for o in unit.step.obj.outputs]}
    if unit.kind == "inline":
        return {"value": unit.step.obj.value}
    return {}


def _apply_record(unit, record):
    if unit.kind == "chunk":
        unit.step.obj.outputs = [notebook.from_dict(o) for o in record["outputs"]]
    elif unit.kind == "inline":
        unit.step.obj.value = record["value"]


# ----------------------------------------------------------------------------- execution
def run(doc, nb, steps, overrides, cfg, fig, progress, execute_fn, partial_fn=None):
    """Fill every chunk's outputs and inline value, executing as little as is safe.

    `execute_fn` runs a whole document (a Jupyter kernel); `partial_fn`, when given, runs
    a partial run (renderer.worker); if it fails, the whole document is executed."""
    p = plan(doc, nb, steps, overrides, cfg.execute, fig, cfg.project_dir)
    store = Store(cfg.project_dir, doc.path, p.prefix_key)
    store.sweep(progress)
    entry, why = store.load()
    if entry is not None and (why := files_changed(entry.get("files"))) is not None:
        entry = None
    if entry is not None:
        try:
            result = _reuse(p, entry, store, nb, steps, cfg, progress, partial_fn or execute_fn)
        except (KeyError, TypeError, ValueError, IndexError):
            result, why = None, "cache entry unreadable (ignored)"
        else:
            if result is True:
                return
            why = result
    progress(f"cache miss ({why}): executing")
    _full(p, nb, steps, store, cfg, progress, execute_fn)


def _prefix_steps_filled(p, entry, steps):
    chunks = [steps[i] for i in p.prefix_cells if steps[i].role == "chunk"]
    inlines = [steps[i] for i in p.prefix_cells if steps[i].role == "inline"]
    if len(chunks) != len(entry["prefix_chunks"]) or len(inlines) != len(entry["prefix_inline"]):
        raise ValueError("prefix layout")
    for step, outs in zip(chunks, entry["prefix_chunks"]):
        step.obj.outputs = [notebook.from_dict(o) for o in outs]
    for step, value in zip(inlines, entry["prefix_inline"]):
        step.obj.value = value


def _reuse(p, entry, store, nb, steps, cfg, progress, execute_fn):
    """True when done from the entry (with or without a partial run), else why not."""
    key_units(p, set(entry["names"]))
    missing = {i for i, u in enumerate(p.units) if u.key not in entry["units"]}
    if not entry.get("incremental") and entry["runs"][:1] != [[u.key for u in p.units]]:
        # Outputs of a run in which a chunk modified the setup's objects are valid only
        # for that exact sequence of chunks and expressions (prose may change).
        missing = set(range(len(p.units)))
    _prefix_steps_filled(p, entry, steps)
    if not missing:
        for u in p.units:
            _apply_record(u, entry["units"][u.key])
        progress("cache hit: analysis not re-run")
        _remember(store, entry, p, [])
        return True
    if not (entry.get("incremental") and p.analysable and store.snapshot_path.exists()):
        reason = entry.get("why_not_incremental") or (
            "the document uses dynamic names or IPython magics" if not p.analysable else "no setup snapshot"
        )
        return f"chunks or inline expressions changed; incremental run not possible: {reason}"
    if not store.snapshot_verified(entry):
        return "the setup snapshot failed its integrity check (SHA-256 mismatch); running everything"
    todo = closure(p, missing)
    n_chunks = sum(p.units[i].kind == "chunk" for i in todo)
    n_inline = sum(p.units[i].kind == "inline" for i in todo)
    progress(
        f"cache: setup restored, executing {n_chunks} of {sum(u.kind == 'chunk' for u in p.units)} "
        f"chunks and {n_inline} of {sum(u.kind == 'inline' for u in p.units)} inline expressions"
    )
    sub = notebook.new_notebook(metadata=nb.metadata)
    sub_steps = []

    def add(step, source):
        sub.cells.append(notebook.new_code_cell(source))
        sub_steps.append(step)

    # Restore only what the units read, unless a function of the document (which may read
    # any name) is in the setup; without a chunk to run, the figure setup (matplotlib) is
    # not needed either: an inline expression cannot display a figure.
    needed = None
    if entry.get("selective"):
        needed = sorted(set(entry["names"]) & {n for i in todo for n in p.units[i].names.reads})
    add(Step("track"), _track_code(cfg.project_dir))
    if any(p.units[i].kind != "inline" for i in todo):
        add(Step("setup"), nb.cells[0].source)
    add(Step("restore"), _restore_code(store.snapshot_path, entry["fingerprint"], needed))
    for i in todo:
        for c in p.units[i].cells:
            add(steps[c], nb.cells[c].source)
    add(Step("check"), _CHECK_CODE)
    add(Step("opened"), _OPENED_CODE)
    try:
        execute_fn(sub, sub_steps, cfg.project_dir, progress=progress)
    except RenderError as exc:
        if getattr(exc, "final", False):  # a time-out: running everything would time out too
            raise
        return f"partial run failed ({exc}); running everything"
    state = _state(sub.cells[-2])
    opened = _state(sub.cells[-1])
    files, changed = opened_files(opened["opened"], p.prefix_key, store.project_dir)
    stored = entry["fingerprint"]
    if (
        state["digest"] is None
        or state["digest"] != state["start"]
        or any(stored.get(k) != v for k, v in state["fingerprint"].items())
    ):
        return "a changed chunk modified the setup's objects or global state; running everything"
    for i, u in enumerate(p.units):
        if i not in todo:
            _apply_record(u, entry["units"][u.key])
    if changed:
        progress(f"cache: not stored: {', '.join(changed[:3])} changed while the document executed")
        return True
    if untracked := not_followed(opened):
        progress(f"cache: not stored: the document {', '.join(untracked[:3])}, which the cache cannot follow")
        return True
    for i in todo:
        entry["units"][p.units[i].key] = _unit_record(p.units[i])
    entry["files"] = {**entry.get("files", {}), **files}
    _remember(store, entry, p, todo)
    return True


def _remember(store, entry, p, executed) -> bool:
    """Record this run's unit keys and drop units no recent run used; False when the entry
    could not be written."""
    run_keys = [u.key for u in p.units]
    previous = entry["runs"][:1]
    runs = [r for r in entry["runs"] if r != run_keys][: KEEP_RUNS - 1]
    entry["runs"] = [run_keys] + runs
    live = {k for r in entry["runs"] for k in r}
    unchanged = not executed and previous == [run_keys]
    entry["units"] = {k: v for k, v in entry["units"].items() if k in live}
    if not unchanged:
        return store.save(entry)
    return True


def _full(p, nb, steps, store, cfg, progress, execute_fn):
    """Execute the whole notebook, with a state snapshot after the prefix and the check at the end."""
    full = notebook.new_notebook(metadata=nb.metadata)
    full_steps = []
    snap_at = check_at = None
    tmp_snapshot = store.snapshot_path.with_name(f".{store.snapshot_path.name}.{os.getpid()}{leftovers.CLAIMED_TMP}")
    try:
        cache.private_dir(store.project_dir)
        leftovers.make_file(tmp_snapshot)  # held (locked) by this process until renamed
        can_snapshot = True
    except OSError:
        can_snapshot = False
    full.cells.append(notebook.new_code_cell(_track_code(cfg.project_dir)))
    full_steps.append(Step("track"))
    for i, cell in enumerate(nb.cells):
        full.cells.append(cell)
        full_steps.append(steps[i])
        if can_snapshot and i == len(p.prefix_cells) - 1:
            snap_at = len(full.cells)
            full.cells.append(notebook.new_code_cell(_snapshot_code(tmp_snapshot)))
            full_steps.append(Step("snapshot"))
    if snap_at is not None:
        check_at = len(full.cells)
        full.cells.append(notebook.new_code_cell(_CHECK_CODE))
        full_steps.append(Step("check"))
    full.cells.append(notebook.new_code_cell(_OPENED_CODE))
    full_steps.append(Step("opened"))
    try:
        execute_fn(full, full_steps, cfg.project_dir, progress=progress)
    except BaseException:
        _unlink(tmp_snapshot)
        leftovers.release(tmp_snapshot)
        raise
    try:
        _finish_full(p, nb, steps, store, full, full_steps, snap_at, check_at, tmp_snapshot, progress)
    finally:
        _unlink(tmp_snapshot)
        leftovers.release(tmp_snapshot)


def _finish_full(p, nb, steps, store, full, full_steps, snap_at, check_at, tmp_snapshot, progress):
    nb.cells[:] = [c for c, s in zip(full.cells, full_steps) if s.role not in RENDERER_ROLES]
    if snap_at is None:
        return
    opened = _state(full.cells[-1])
    if untracked := not_followed(opened):
        progress(f"cache: not stored: the document {', '.join(untracked[:3])}, which the cache cannot follow")
        return
    files, changed = opened_files(opened["opened"], p.prefix_key, store.project_dir)
    if p.rekey is not None and not changed:
        again = p.rekey()
        changed = [
            name for name in sorted(again.components) if again.components[name] != p.prefix_key.components.get(name)
        ]
    if changed:
        # the outputs are those of what was read, but not of the key computed before: the
        # next render executes again rather than print them for the inputs of that key
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        progress(f"cache: not stored: {', '.join(changed[:3])}{more} changed while the document executed")
        return
    snap, check = _state(full.cells[snap_at]), _state(full.cells[check_at])
    why_not = snap.get("why")
    if why_not is None and (check["digest"] != snap["digest"] or check["fingerprint"] != snap["fingerprint"]):
        why_not = "a chunk after the setup modified the setup's objects or the global state"
    if why_not is None and not p.analysable:
        why_not = "the document uses dynamic names or IPython magics"
    key_units(p, set(snap["names"]))
    entry = {
        "format": FORMAT,
        "key": p.prefix_key.digest,
        "names": snap["names"],
        "digest": snap["digest"],
        "fingerprint": snap["fingerprint"],
        # a partial run may restore only the names it reads (no function of the document)
        "selective": snap.get("code") is False,
        "incremental": why_not is None,
        "why_not_incremental": why_not,
        "prefix_chunks": [[dict(o) for o in steps[i].obj.outputs] for i in p.prefix_cells if steps[i].role == "chunk"],
        "prefix_inline": [steps[i].obj.value for i in p.prefix_cells if steps[i].role == "inline"],
        "units": {u.key: _unit_record(u) for u in p.units},
        "runs": [],
        # the files the execution opened for reading, beyond those the key names (a chunk
        # reading data/extra.csv): checked before the entry is used
        "files": files,
    }
    if why_not is None and snap.get("snapshot"):
        try:
            entry["snapshot_sha256"] = cache.file_digest(tmp_snapshot)
        except OSError:
            entry["incremental"], entry["why_not_incremental"] = False, "snapshot not written"
    _unlink(store.snapshot_path)
    # the entry first, then its snapshot: a snapshot without an entry is never left behind
    if _remember(store, entry, p, [True]) and entry["incremental"]:
        try:
            os.replace(tmp_snapshot, store.snapshot_path)
        except OSError:
            pass  # the entry then finds no snapshot: a full run


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
