"""The small renderer project of the cache tests: a report, a data file and a one-function
library, so that each kind of input (prose, chunk, parameter, data, library) can change."""

from __future__ import annotations

from pathlib import Path

STATS = """def total(path):
    with open(path) as fh:
        return sum(int(line) for line in fh if line.strip())
"""


def make_project(tmp_path: Path, report: str, study: str | None = None) -> Path:
    """Write the project under ``tmp_path/proj`` with ``report`` as report.qmd."""
    p = tmp_path / "proj"
    (p / "data").mkdir(parents=True)
    (p / "analysis").mkdir()
    (p / "report.qmd").write_text(report)
    if study is not None:
        (p / "study.yml").write_text(study)
    (p / "data" / "values.csv").write_text("1\n2\n3\n")
    (p / "analysis" / "__init__.py").write_text("")
    (p / "analysis" / "stats.py").write_text(STATS)
    (p / "_quarto.yml").write_text("project:\n  output-dir: _output\nformat:\n  html:\n    toc: false\n")
    return p
