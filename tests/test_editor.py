"""The editor's room (README, "Editing the manuscript in VS Code"): after the setup chunk of
report.qmd has run in an interactive window, any chunk of a section runs on its own, and the
repository's VS Code settings point at the project's environment and commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHUNK = re.compile(r"^```\{python\}\n(.*?)^```\s*$", re.S | re.M)


def chunks(path: Path) -> list[str]:
    return CHUNK.findall(path.read_text(encoding="utf-8"))


def setup_chunks() -> list[str]:
    """The leading chunks of report.qmd, up to the one that defines ``text``."""
    found = []
    for code in chunks(ROOT / "report.qmd"):
        found.append(code)
        if re.search(r"^text\s*=", code, re.M):
            return found
    raise AssertionError("report.qmd has no setup chunk defining `text`")


def _jsonc(path: Path) -> dict:
    """VS Code's JSON with // comments."""
    return json.loads(re.sub(r"^\s*//.*$", "", path.read_text(encoding="utf-8"), flags=re.M))


def test_one_section_chunk_runs_after_the_setup_chunk(tmp_path):
    """As the Jupyter interactive window does: run the setup, then every chunk of one section
    in a fresh interpreter (no renderer involved), and get its table and figures."""
    section = ROOT / "sections" / "_results-survival.qmd"
    section_chunks = chunks(section)
    assert section_chunks, f"{section.name} has no chunk"
    script = ["import matplotlib", "matplotlib.use('Agg')"]
    script += setup_chunks()
    for i, code in enumerate(section_chunks):
        script.append(f"exec(compile({code!r}, 'chunk{i}', 'exec'))")
    program = tmp_path / "interactive.py"
    program.write_text("\n".join(script), encoding="utf-8")
    done = subprocess.run([sys.executable, str(program)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # outside a notebook, display() prints each figure's repr: the section's panels were drawn
    assert done.stdout.count("Figure(") >= 1, done.stdout[-2000:]


@pytest.mark.parametrize("name", ["extensions.json", "settings.json", "tasks.json"])
def test_vscode_files_parse(name):
    assert _jsonc(ROOT / ".vscode" / name)


def test_vscode_uses_the_project_environment_and_the_readme_commands():
    settings = _jsonc(ROOT / ".vscode" / "settings.json")
    assert settings["python.defaultInterpreterPath"].endswith("/.venv/bin/python")
    assert settings["jupyter.notebookFileRoot"] == "${workspaceFolder}"
    assert {"quarto.quarto", "ms-python.python"} <= set(_jsonc(ROOT / ".vscode" / "extensions.json")["recommendations"])
    commands = {t["command"] for t in _jsonc(ROOT / ".vscode" / "tasks.json")["tasks"]}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in commands:
        if command.startswith("make "):
            target = command.split()[1]
            assert re.search(rf"^{target}:", makefile, re.M), f"task runs `{command}`, which the Makefile lacks"
    assert {"make report", "make preview", "make test"} <= commands
