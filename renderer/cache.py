"""Execution cache keys: everything the executed results of the setup depend on.

The role of Quarto's freeze/cache, but keyed on everything the executed results depend
on, so that new data can never print stale numbers. `compute_key` covers, for the cells
it is given (renderer.incremental gives it the setup prefix of the document):

* every executed chunk's code and options, in order, the execute options and the figure
  defaults (a chunk edit, a moved chunk or a new `fig-dpi` invalidates);
* the effective parameter values (the `parameters` cell's literals with `-P` overrides);
* the CONTENTS of every file a parameter names (`cohort`, `kinetics`, ...): a new export
  under the same file name invalidates; a renamed copy of the same bytes does not;
* the CONTENTS of every YAML configuration file at the project root (a study file such
  as `study.yml`, read when no parameter names one) or named by a parameter, and of every
  file such a YAML file names (a study file's `data: cohort: ...`), relative to its folder;
* the library sources: `analysis/**/*.py`, `analysis/demo/data/published.yml` and the project's
  top-level `*.py` modules (this also captures the library version);
* the Python version and the versions of the key packages, and this cache's format;
* the git commit of the project and whether a tracked file has local changes, as the code
  availability statement prints them (:func:`analysis.inputs.provenance.git_commit`, the one
  definition both use): git runs in a subprocess the kernel's file tracking cannot see, so a
  new commit or an edited tracked file must change the key itself;
* the date of the render: a document prints today's date (a study file's ``date: today``,
  or none given), resolved while the setup executes, so a render on a later day executes
  again instead of printing the date the cache was filled.

Prose is deliberately not in the key (the structure of the documents, which cross-references
number, is in the key of every later chunk and inline expression). How later chunks and
inline expressions are keyed on top of it, stored and reused: renderer.incremental.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from analysis.inputs.paths import PROJECT_DIR, STUDY_PARAMETER, check_regular, resolve_path
from analysis.inputs.provenance import git_commit
from analysis.registry.concepts import SOFTWARE
from analysis.registry.demo_files import DEMO_COHORT_FILE, DEMO_KINETICS_FILE, DISEASE_DEMO_COHORTS

#: Bump when the entry layout or the meaning of cached outputs changes.
FORMAT = 1
#: Library sources hashed into the key (relative to the project directory).
LIBRARY_GLOBS = ("analysis/**/*.py", "analysis/demo/data/published.yml", "*.py")
#: Packages whose version changes what the analysis prints or draws: those the report lists
#: (analysis.registry.concepts.SOFTWARE), the reader of .xlsx exports, the readers of the study
#: file (PyYAML parses it, pydantic checks and converts its values: which file it names, which
#: options it sets) and the kernel machinery. (lifelines' formulaic and autograd are not: the
#: library uses only lifelines.statistics' log-rank test, which computes with NumPy and SciPy.)
PACKAGES = (*SOFTWARE, "openpyxl", "pydantic", "PyYAML", "ipykernel", "nbclient")
#: Entries kept per document (most recent first); older ones are pruned.
KEEP = 4


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, default=repr, ensure_ascii=False).encode()


def file_digest(path) -> str:
    """SHA-256 of a regular file's contents; a named pipe, a device, a folder or a socket
    is refused before it is opened (an OSError: opening a FIFO waits for a writer forever,
    ``/dev/zero`` never ends)."""
    check_regular(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_versions(packages=PACKAGES) -> dict:
    from importlib import metadata

    out = {"python": platform.python_version(), "implementation": sys.implementation.name}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def parameter_defaults(cell_source: str) -> dict:
    """Literal values assigned in the parameters cell (non-literals are left out: they are
    part of the chunk code, which is in the key anyway)."""
    out = {}
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return out
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                out[t.id] = literal
    return out


def effective_params(doc, overrides: dict) -> dict:
    """Parameter values the kernel will see: the parameters cell's literals, then -P."""
    values = {}
    for cell in doc.cells:
        if "parameters" in (cell.options.get("tags") or []):
            values.update(parameter_defaults(cell.source))
    values.update(overrides or {})
    return values


def data_files(params: dict, project_dir) -> dict:
    """{parameter name: sha256 of the file's contents} for parameters naming a file.

    Paths are resolved exactly as the loader resolves them (one definition:
    :func:`analysis.inputs.paths.resolve_path`: ``~`` expanded, relative paths against the
    project directory, the kernel's working directory). A parameter naming a missing file
    hashes as None: the render will fail (or not read it), and a file appearing later
    changes the key.
    """
    out = {}
    for name, value in sorted(params.items()):
        text = path_text(value)
        if text is None:
            continue
        try:
            path = resolve_path(text, project_dir)
        except RuntimeError:  # '~someone' with no such user: the loader cannot read it either
            continue
        try:
            if path.is_file():
                out[name] = file_digest(path)
            elif path.suffix:  # looks like a file name that does not exist (yet)
                out[name] = None
        except (OSError, ValueError):  # unreadable, too long for the system, a NUL in it
            out[name] = None
    return out


def path_text(value) -> str | None:
    """The text the loader takes as a path for a parameter or study-file value (it reads
    ``str(value)``: ``-P study:2023`` names the file ``2023`` even when the value arrives as
    the number 2023; a YAML ``!!binary`` value is decoded as pydantic decodes it), or None
    when it cannot name a file (empty, a boolean, nothing). Never skipped for its length or
    its characters: ``././.../cohort.csv`` (4,000 characters) and ``co\nhort.csv`` name
    files like any other path; whether one exists is asked of the file system."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    return text if text.strip() else None


def _yaml_strings(value):
    """Every scalar of a parsed YAML file that could name a file (:func:`path_text`)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _yaml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _yaml_strings(item)
    elif (text := path_text(value)) is not None:
        yield text


def config_files(params: dict, project_dir) -> dict:
    """{path: sha256} of the YAML files at the project root, of the study file (the
    ``study`` parameter, whatever its name or extension: the loader reads any file given
    as ``--study``/``STUDY=``/``-P study:``) and of any other parameter naming a ``.yml``
    or ``.yaml`` file (not `_quarto.yml`, already read by the renderer), and of every file
    they name. Paths are resolved as the loader resolves them
    (:func:`analysis.inputs.paths.resolve_path`)."""
    import yaml

    from analysis.inputs import yamlstrict

    project_dir = Path(project_dir)
    yamls = [p for p in sorted(project_dir.glob("*.y*ml")) if p.name != "_quarto.yml"]
    for name, value in sorted(params.items()):
        text = path_text(value)
        if text is None:
            continue
        if name != STUDY_PARAMETER and not text.lower().endswith((".yml", ".yaml")):
            continue
        try:
            path = resolve_path(text, project_dir)
        except RuntimeError:  # '~someone' with no such user
            continue
        if path not in yamls:
            yamls.append(path)
    out = {}
    for path in yamls:
        try:
            out[str(path)] = file_digest(path)
            # strictly and size-limited: an alias bomb (a few hundred bytes expanding to
            # billions of strings) or a huge file must not hang the key; what is refused
            # here the kernel reports (the bytes are in the key either way)
            parsed = yamlstrict.load(yamlstrict.read_limited(path))
        except OSError:
            out.setdefault(str(path), None)
            continue
        except (yaml.YAMLError, ValueError, RecursionError):
            continue
        for text in _yaml_strings(parsed):
            try:
                named = resolve_path(text, path.parent)  # as StudyFile.data_path resolves it
                if named.is_file():
                    out[str(named)] = file_digest(named)
            except (OSError, RuntimeError, ValueError):  # too long, a NUL, '~nobody', unreadable
                pass
    return out


def library_digest(project_dir, globs=LIBRARY_GLOBS) -> dict:
    project_dir = Path(project_dir)
    files = set()
    for pattern in globs:
        files.update(p for p in project_dir.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    return {p.relative_to(project_dir).as_posix(): file_digest(p) for p in sorted(files)}


def code_components(nb, steps, execute_opts, fig) -> list:
    """What the notebook executes, prose excluded: every non-inline cell's code (chunks,
    setup, injected parameters and figure sizes) with the chunk options, the execute
    options and the figure defaults."""
    out = [["execute", execute_opts], ["fig", fig]]
    for cell, step in zip(nb.cells, steps):
        if step.role == "inline":
            continue
        out.append([step.role, cell.source, step.obj.options if step.role == "chunk" else None])
    return out


@dataclass
class Key:
    digest: str
    components: dict = field(default_factory=dict)  # name -> digest, for "why it missed"


def bundled_data_digest(project_dir) -> dict:
    """{path: sha256 or None} of the bundled demos' data files, which the loader reads when no
    study file or parameter names an export (the B-ALL demo's cohort and kinetics, each disease
    profile's demo cohort): no parameter names them, so an edit of them must change the key."""
    # the light module that names them, not the loader and the registry (pandas, pydantic:
    # about a second of every render's start; tests/test_cache_keys.py checks that these are
    # the registry's demo cohorts)
    project_dir = Path(project_dir)
    paths = [Path(DEMO_COHORT_FILE), Path(DEMO_KINETICS_FILE), *map(Path, DISEASE_DEMO_COHORTS.values())]
    out = {}
    for rel in sorted(set(paths)):
        path = project_dir / rel
        try:
            out[rel.as_posix()] = file_digest(path) if path.is_file() else None
        except OSError:
            out[rel.as_posix()] = None
    return out


def compute_key(doc, nb, steps, overrides, execute_opts, fig, project_dir) -> Key:
    """Cache key of the document's execution (see the module docstring)."""
    params = effective_params(doc, overrides)
    components = {
        "format": str(FORMAT),
        "code": _sha(_json(code_components(nb, steps, execute_opts, fig))),
        "parameters": _sha(_json(params)),
    }
    for name, digest in data_files(params, project_dir).items():
        components[f"data file of parameter '{name}'"] = digest or "missing"
    for name, digest in config_files(params, project_dir).items():
        components[f"study/configuration file or a file it names: {name}"] = digest or "missing"
    for rel, digest in library_digest(project_dir).items():
        components[f"library file {rel}"] = digest
    for rel, digest in bundled_data_digest(project_dir).items():
        components[f"bundled demo data {rel}"] = digest or "missing"
    for name, version in package_versions().items():
        components[f"version of {name}"] = version or "not installed"
    for name, commit in git_state(project_dir).items():
        components[name] = commit
    components[RENDER_DATE] = render_date()
    return Key(_sha(_json(components)), components)


def git_state(project_dir) -> dict:
    """{component name: what the code availability statement prints} for the project folder
    and, when the library is imported from another folder, for that one (the narrative asks
    git about the folder of the analysis package: analysis.report.documents.PROJECT_DIR)."""
    folders = {"git commit of the project (printed by the code availability statement)": Path(project_dir)}
    if Path(PROJECT_DIR).resolve() != Path(project_dir).resolve():
        folders["git commit of the library's folder (printed by the code availability statement)"] = PROJECT_DIR
    return {name: git_commit(folder) or "not a git checkout" for name, folder in folders.items()}


#: The key component of the render's date (see the module docstring).
RENDER_DATE = "date of the render (the report prints today's date unless the study file fixes one)"


def render_date() -> str:
    """Today's date, as the executed setup resolves ``date: today`` (the kernel's clock)."""
    import datetime

    return datetime.date.today().isoformat()


class Manifest:
    """The components of the last stored key, to say why a key missed."""

    def __init__(self, project_dir, doc_path):
        self.project_dir = Path(project_dir)
        self.dir = self.project_dir / ".cache" / "renderer"
        self.path = self.dir / f"{Path(doc_path).stem}.last-key.json"

    def record(self, key: Key) -> None:
        private_dir(self.project_dir)
        write_verified(self.path, json.dumps(key.components, indent=1, sort_keys=True))

    def why_missed(self, key: Key) -> str:
        try:
            last = json.loads(read_verified(self.path))
            if not isinstance(last, dict):
                raise ValueError
        except (OSError, ValueError, UnicodeDecodeError):
            return "no cached execution"
        changed = [
            name for name in sorted(set(last) | set(key.components)) if last.get(name) != key.components.get(name)
        ]
        if not changed:
            return "cached execution not found"
        labels = ["chunk code or options" if c == "code" else c for c in changed]
        more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
        return "changed: " + ", ".join(labels[:3]) + more


# ------------------------------------------------------------------ storage on disk
#
# The cache holds the analysed data (the setup snapshot pickles the study: patient
# identifiers, center names, dates) and every executed output: its folder is private
# (0700) and its files 0600, and every file is checked against the SHA-256 digest stored
# with it before use (a flipped bit must never print a wrong number: a mismatch is a miss).

#: First line of a verified cache file: this prefix, then the SHA-256 of the rest.
VERIFIED_HEADER = "cartox-cache sha256:"


class IntegrityError(ValueError):
    """A cache file whose contents do not match the digest stored with it."""


def private_dir(project_dir) -> Path:
    """``<project>/.cache/renderer``, created or made private (0700, with ``.cache``)."""
    root = Path(project_dir) / ".cache"
    folder = root / "renderer"
    for path in (root, folder):
        path.mkdir(mode=0o700, exist_ok=True)
        try:
            if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
                os.chmod(path, 0o700)  # made by an older version, or by hand
        except OSError:
            pass
    return folder


def write_verified(path: Path, text: str) -> None:
    """Write ``text`` with its digest (see :func:`read_verified`), atomically, mode 0600."""
    payload = text.encode("utf-8")
    _atomic_write(path, f"{VERIFIED_HEADER}{_sha(payload)}\n".encode("ascii") + payload)


def read_verified(path: Path) -> str:
    """The text of a file written by :func:`write_verified`; :class:`IntegrityError` when
    it has no digest or its contents do not match it."""
    data = Path(path).read_bytes()
    header, newline, payload = data.partition(b"\n")
    if not newline or not header.startswith(VERIFIED_HEADER.encode("ascii")):
        raise IntegrityError("no digest: written by an older version, or damaged")
    if header[len(VERIFIED_HEADER) :].decode("ascii", "replace") != _sha(payload):
        raise IntegrityError("its SHA-256 does not match the one stored with it")
    return payload.decode("utf-8")


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a 0600 temporary file renamed over it; the
    temporary file is locked while it exists (renderer.leftovers sweeps it if a render is
    killed before the rename)."""
    from renderer import leftovers

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{leftovers.CLAIMED_TMP}")
    fd = leftovers.open_claimed(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), 0o600)
            os.replace(tmp, path)  # under the lock
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
