"""Re-render time after each kind of edit, with a warm cache (a measurement, not a test).

    .venv/bin/python benchmarks/edit_timings.py [--repeat 1]

Copies the project to a temporary folder, renders it once (cold, no cache), then applies
one edit of each kind and re-renders html+pdf+docx after each: nothing changed, a
sentence, a new inline expression, a changed inline expression, a changed figure chunk,
a changed table chunk, an added figure chunk. Prints, per render, the wall time, the CPU
time of the renderer and its children (user + sys) and the load average: on a shared
machine the wall time depends on the load; the CPU time much less. Edits carry a random
token, so that no earlier run's cache entry can serve them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import copy_project  # the same project files as the benchmark's renders

ROOT = Path(__file__).resolve().parents[1]
FIGURE_LINE = 'for grouping in ("crs", "icans", "crs_grade", "icans_grade", "concurrent", "severity"):'


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"edit not applicable: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1))


def render(project: Path, *args: str) -> tuple[float, float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "renderer", "report.qmd", *args], cwd=project, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"render failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    how = next((ln for ln in proc.stderr.splitlines() if ln.startswith(("cache", "cache miss"))), "")
    return wall, cpu, os.getloadavg()[0], how


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=1, help="rounds of edits after the cold render")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="cartox-edits-") as tmp:
        project = copy_project(Path(tmp))
        sections = project / "sections"
        rows = [("cold (no cache)", *render(project, "--no-cache"))]
        rows.append(("cold (cache miss, stores it)", *render(project)))
        for _ in range(args.repeat):
            token = random.randrange(10**9)
            rows.append(("nothing changed", *render(project)))
            edit(
                sections / "_introduction.qmd",
                "The price of this activity is",
                f"The price ({token}) of this activity is",
            )
            rows.append(("a sentence", *render(project)))
            edit(
                sections / "_results-response.qmd",
                "At day 30, ",
                f'At day 30 (`{{python}} text.n_of("n_crs") + "" * {token}`), ',
            )
            rows.append(("new inline expression", *render(project)))
            edit(
                sections / "_results-response.qmd",
                f'text.n_of("n_crs") + "" * {token}',
                f'text.n_of("n_icans") + "" * {token}',
            )
            rows.append(("changed inline expression", *render(project)))
            edit(sections / "_results-response.qmd", FIGURE_LINE, f"# edit {token}\n{FIGURE_LINE}")
            rows.append(("changed figure chunk", *render(project)))
            edit(
                sections / "_results-multivariable.qmd",
                "tables.table2(R.cox)\n",
                f"tables.table2(R.cox)  # edit {token}\n",
            )
            rows.append(("changed table chunk", *render(project)))
            with open(sections / "_discussion.qmd", "a") as fh:
                fh.write(
                    f'\n```{{python}}\n#| label: fig-extra{token}\n#| fig-cap: "An added figure."\n'
                    f'display(figures.response_bars(R.response[("cr", "crs")], '
                    f'R.response[("mrd_negative_cr", "crs")]))\n```\n'
                )
            rows.append(("added figure chunk", *render(project)))
            shutil.copytree(ROOT / "sections", sections, dirs_exist_ok=True)  # the next round's starting point
    print(f"{'render':32} {'wall s':>7} {'cpu s':>7}  load  how")
    for label, wall, cpu, load, how in rows:
        print(f"{label:32} {wall:7.2f} {cpu:7.2f}  {load:4.1f}  {how[:70]}")


if __name__ == "__main__":
    main()
