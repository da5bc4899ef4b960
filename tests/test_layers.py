"""The library's layers (docs/architecture.md): imports run downward only, and there is no cycle.

Every ``import`` of every module under ``analysis/`` is read with :mod:`ast` (imports inside
functions included, so a lazy import cannot hide an upward arrow), and each is checked
against the rank of its layer:

    registry (0) < inputs, estimators (1) < demo (2) < report (3) < the command line (4)

Layers of the same rank do not import each other (the estimators never read a study file,
the readers never fit a model).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "analysis"

#: Rank of each layer (a folder of analysis/); the package's own top-level modules
#: (cli, __main__, __init__) are the top floor.
RANKS = {"registry": 0, "inputs": 1, "estimators": 1, "demo": 2, "report": 3}
TOP = 4
#: Third-party packages the estimators must not touch: they are pure computation.
NOT_IN_ESTIMATORS = ("matplotlib", "great_tables", "yaml", "IPython")


def layer_of(module: str) -> str | None:
    """'analysis.estimators.cox' -> 'estimators'; 'analysis.cli' -> None (top floor)."""
    parts = module.split(".")
    if parts[0] != "analysis" or len(parts) < 2 or parts[1] not in RANKS:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_library_module(name: str) -> bool:
    return (LIBRARY / Path(*name.split(".")[1:])).with_suffix(".py").exists()


@functools.cache  # two tests walk every module
def imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # `from analysis.report import figures` imports the module analysis.report.figures
            modules = [f"{base}.{alias.name}" for alias in node.names if is_library_module(f"{base}.{alias.name}")]
            found += [(node.lineno, name) for name in modules or [base]]
    return found


def library_modules() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def upward_imports(paths: list[Path], source: str | None = None) -> list[str]:
    problems = []
    for path in paths:
        own = layer_of(module_name(path))
        own_rank = RANKS[own] if own else TOP
        for line, target in imports(path, source):
            if own == "estimators" and target.split(".")[0] in NOT_IN_ESTIMATORS:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the estimators import {target}")
            if not target.startswith("analysis."):
                continue
            other = layer_of(target)
            if other is None:
                if target.count(".") >= 1 and target.split(".")[1] not in ("__version__",) and own is not None:
                    problems.append(f"{path.relative_to(ROOT)}:{line}: {own} imports the top floor ({target})")
                continue
            if other == own:
                continue
            if RANKS[other] >= own_rank:
                problems.append(
                    f"{path.relative_to(ROOT)}:{line}: {own or 'top'} (rank {own_rank}) imports {target} ({other}, rank {RANKS[other]})"
                )
    return problems


def test_every_module_sits_in_a_layer():
    loose = [
        p.relative_to(ROOT)
        for p in library_modules()
        if p.parent == LIBRARY and p.stem not in ("__init__", "__main__", "cli")
    ]
    assert not loose, f"modules outside a layer folder: {loose}"
    folders = {p.name for p in LIBRARY.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(RANKS), folders


def test_imports_run_downward_only():
    assert upward_imports(library_modules()) == []


def test_an_upward_import_is_caught():
    """The check itself fails on an estimator that reads the report, or on a lazy import of
    the study file inside a function (checked on source text: no file is written into the
    library while other tests hash it)."""
    bad = LIBRARY / "estimators" / "_upward_probe.py"
    source = "from analysis.report.formatting import fmt_p\n\ndef f():\n    from analysis.inputs import studyfile\n    import matplotlib.pyplot\n"
    problems = upward_imports([bad], source)
    assert len(problems) == 3, problems
    assert "analysis.report.formatting" in problems[0]
    assert "analysis.inputs.studyfile" in problems[1]
    assert "matplotlib" in problems[2]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in library_modules():
        graph[module_name(path)] = {t for _, t in imports(path) if is_library_module(t)}
    return graph


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt) :] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, f"import cycle: {' -> '.join(cycle)}"


@pytest.mark.parametrize("layer", sorted(RANKS))
def test_each_layer_says_what_it_is(layer):
    doc = ast.get_docstring(ast.parse((LIBRARY / layer / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 15, f"analysis/{layer}/__init__.py needs a docstring saying what the layer holds"


def test_every_package_is_installed():
    """pyproject.toml lists packages one by one: a new layer or sub-package must be listed, or a
    non-editable install would lack it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {module_name(init) for init in LIBRARY.rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
