"""Registry-scale benchmark of the whole report (a benchmark, not a test: CI never runs it).

    .venv/bin/python benchmarks/scale.py [--sizes 1e5,1e6] [--data DIR] [--no-render] [--no-stages]

For each size n, on a synthetic registry of n patients (``DIR/n<size>/cohort.csv`` and
``kinetics.csv``, written by ``analysis.demo.synthetic.write_synthetic`` when absent, kept for
the next run):

* **stages**: a child process executes the report's chunks in document order as the
  renderer's kernel would (the parameters cell with the registry's paths, every chunk, then
  every inline expression), drawing each figure to PNG at 200 dpi and each table to HTML.
  Each chunk is timed (wall and CPU seconds) with the peak resident memory of the process
  while it ran (``VmHWM``, reset before each chunk through ``/proc/self/clear_refs``); the
  setup chunk is split by statement (load, ``compute_results``, narrative), and
  ``compute_results`` by analysis (``--compute-detail``).
* **render**: ``python -m renderer report.qmd --cohort ... --no-cache`` into a temporary
  folder, all three formats: wall time, CPU time (user + sys) and the peak resident memory
  of the largest process of the tree (``os.wait4`` rusage of the reaped renderer, which
  includes its reaped kernel, Pandoc and Typst), and the renderer's own stage line.

Targets (issue 13): at 10^6 patients the full render <= 60 s and <= 2 GiB. The machine
is usually shared: read the CPU seconds and the printed load average beside the wall time.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2023-03-01"
DPI = 200


def _peak_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


_PEAK_BEFORE_RESET = [0.0]  # the highest VmHWM seen before a reset (nested measurements)


def _reset_peak() -> None:
    _PEAK_BEFORE_RESET[0] = max(_PEAK_BEFORE_RESET[0], _peak_mib())
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


class _Timer:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, action, row: dict | None = None):
        """Run ``action``, adding its wall, CPU and peak memory to ``row`` (a new row by default)."""
        _reset_peak()
        enclosing, _PEAK_BEFORE_RESET[0] = _PEAK_BEFORE_RESET[0], 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return action()
        finally:
            peak = max(_PEAK_BEFORE_RESET[0], _peak_mib())
            _PEAK_BEFORE_RESET[0] = max(enclosing, peak)  # the enclosing measurement saw this peak too
            if row is None:
                row = {"stage": name, "wall": 0.0, "cpu": 0.0, "peak_mib": 0.0, "calls": 0}
                self.rows.append(row)
            row["wall"] += time.perf_counter() - wall
            row["cpu"] += time.process_time() - cpu
            row["peak_mib"] = max(row["peak_mib"], peak)
            row["calls"] += 1


def _show(value) -> None:
    """What the kernel does with a displayed object: figures to PNG, tables to HTML."""
    import io

    from matplotlib.figure import Figure

    if isinstance(value, Figure):
        import matplotlib.pyplot as plt

        value.savefig(io.BytesIO(), format="png", dpi=DPI, bbox_inches="tight")
        plt.close(value)
    elif hasattr(value, "_repr_html_"):
        value._repr_html_()
    elif hasattr(value, "as_raw_html"):
        value.as_raw_html()


def child_stages(cohort: str, kinetics: str, compute_detail: bool) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import IPython.display

    from renderer import qmd

    IPython.display.display = lambda *values, **_: [_show(v) for v in values]
    timer = _Timer()
    doc = qmd.load(ROOT / "report.qmd")
    names: dict = {"__name__": "__report__"}
    os.chdir(ROOT)
    if compute_detail:
        _instrument_compute(timer)
    for cell in doc.cells:
        tree = ast.parse(cell.source)
        if "parameters" in (cell.options.get("tags") or []):
            exec(compile(tree, "<parameters>", "exec"), names)
            names.update(cohort=cohort, kinetics=kinetics, cutoff=CUTOFF)
            continue
        setup = "compute_results(" in cell.source
        body = tree.body
        last = body.pop() if body and isinstance(body[-1], ast.Expr) else None

        def run_cell(body=body, last=last, setup=setup, cell=cell):
            for statement in body:
                code = compile(ast.Module([statement], []), str(cell.line.where), "exec")
                if setup and isinstance(statement, ast.Assign):  # load / compute / narrative apart
                    target = ast.unparse(statement.targets[0])
                    timer.run(
                        f"  setup: {target} = {ast.unparse(statement.value)[:40]}", lambda code=code: exec(code, names)
                    )
                else:
                    exec(code, names)
            if last is not None:
                _show(eval(compile(ast.Expression(last.value), str(cell.line.where), "eval"), names))

        timer.run(f"chunk {cell.name}", run_cell)
    inlines = [
        expr for block in qmd.walk(doc.blocks) if isinstance(block, qmd.Markdown) for expr in qmd.inline_exprs(block)
    ]
    timer.run(f"inline expressions ({len(inlines)})", lambda: [str(eval(e.code, names)) for e in inlines])
    return {"stages": timer.rows, "peak_mib": _peak_mib()}


def _instrument_compute(timer: _Timer) -> None:
    """Time the analyses inside compute_results (wrapping the functions it calls)."""
    from analysis.report import results

    for name in (
        "prepare_cohort",
        "compare_continuous",
        "compare_categorical",
        "compare_response",
        "compare_survival",
        "fit_cox",
        "response_effect",
        "univariable_cox",
        "detectable_hazard_ratio_for",
        "kinetics_samples",
        "patient_kinetics",
        "with_groupings",
        "compare_peak",
        "compare_kinetics",
        "visit_samples",
        "kinetics_profile",
        "_competing_and_landmark",
        "center_supplement",
        "median_followup",
        "_time_dependent",
        "_trend_onset_and_transplant",
        "data_quality",
        "_e_values",
        "collect_pvalues",
    ):
        original = getattr(results, name)
        row = {"stage": f"    compute: {name}", "wall": 0.0, "cpu": 0.0, "peak_mib": 0.0, "calls": 0, "detail": True}
        timer.rows.append(row)

        def wrapped(*args, _original=original, _row=row, **kwargs):
            return timer.run(_row["stage"], lambda: _original(*args, **kwargs), _row)

        setattr(results, name, wrapped)


def child_generate(n: int, seed: int, out: str) -> dict:
    from analysis.demo.synthetic import write_synthetic

    write_synthetic(out, n, seed)
    return {}


def run_child(args: list[str]) -> tuple[dict, float, float, float]:
    """(the child's JSON, wall s, CPU s (user+sys), peak RSS MiB of the largest reaped process)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0), err.seek(0)
        text, errors = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0 or not text.strip():
        raise RuntimeError(f"child {' '.join(args)} failed:\n{errors[-3000:]}")
    return (json.loads(text.strip().splitlines()[-1]), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def render(cohort: Path, kinetics: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="cartox-scale-") as tmp:
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "renderer",
                    "report.qmd",
                    "--cohort",
                    str(cohort),
                    "--kinetics",
                    str(kinetics),
                    "--cutoff",
                    CUTOFF,
                    "--no-cache",
                    "--output-dir",
                    f"{tmp}/out",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            err.seek(0)
            log = err.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"render failed:\n{log[-3000:]}")
        sizes = {p.name: p.stat().st_size for p in Path(f"{tmp}/out").iterdir()}
    done = re.search(r"done in .*", log)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
        "renderer": done.group(0) if done else "",
        "outputs": sizes,
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6")
    parser.add_argument(
        "--data",
        default=str(Path(tempfile.gettempdir()) / "cartox-scale-data"),
        help="folder of the generated registries (n<size>/cohort.csv), reused",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--no-stages", action="store_true")
    parser.add_argument("--compute-detail", action="store_true", help="time each analysis of compute_results")
    args = parser.parse_args()

    for n in (int(float(s)) for s in args.sizes.split(",")):
        folder = Path(args.data) / f"n{n:.0e}".replace("+0", "").replace("+", "")
        cohort, kinetics = folder / "cohort.csv", folder / "kinetics.csv"
        if not (cohort.exists() and kinetics.exists()):
            folder.mkdir(parents=True, exist_ok=True)
            _, wall, _, _ = run_child(["--child-generate", str(n), str(args.seed), str(folder)])
            print(f"generated {folder} in {wall:.1f} s")
        print(f"\n== {n:,} patients ({folder}) ==")
        if not args.no_stages:
            print(f"load average before: {_load()}")
            child = ["--child-stages", str(cohort), str(kinetics)] + (
                ["--compute-detail"] if args.compute_detail else []
            )
            result, wall, cpu, peak = run_child(child)
            print(f"{'stage':<58} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}")
            for row in sorted(result["stages"], key=lambda row: "detail" in row):  # analyses last
                stage = row["stage"] + (f" x{row['calls']}" if "detail" in row else "")
                print(f"{stage[:58]:<58} {row['wall']:>8.2f} {row['cpu']:>8.2f} {row['peak_mib']:>9.0f}")
            print(f"{'all chunks (child process, incl. imports)':<58} {wall:>8.2f} {cpu:>8.2f} {peak:>9.0f}")
            print(f"load average after: {_load()}")
        if not args.no_render:
            print(f"load average before render: {_load()}")
            r = render(cohort, kinetics)
            print(
                f"{'full render html+pdf+docx (no cache)':<58} {r['wall']:>8.2f} {r['cpu']:>8.2f} {r['peak_mib']:>9.0f}"
            )
            print(f"  renderer: {r['renderer']}")
            print("  outputs: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(r["outputs"].items())))
            print(f"load average after: {_load()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-generate":
        print(json.dumps(child_generate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-stages":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(child_stages(sys.argv[2], sys.argv[3], "--compute-detail" in sys.argv)))
    else:
        main()
