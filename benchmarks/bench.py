"""Performance benchmark of cartox (a benchmark, not a test: CI never runs or times it).

    .venv/bin/python benchmarks/bench.py [--sizes 1e3,1e4,1e5,1e6] [--no-render] [--seed 1]

Prints one table:

* cold render of the bundled report (HTML + PDF + DOCX) in a fresh copy of the project
  (no execution cache), wall time of ``python -m renderer report.qmd``;
* re-render after a prose-only edit (one sentence of the introduction changed): the
  execution cache must hit, so the analysis is not re-run;
* for each synthetic registry size n: the analysis of a child process — loading with
  validation (``analysis.loading.load_study``), every statistic
  (``analysis.results.compute_results``: Table 1 with all tests, KM/log-rank, Cox models,
  kinetics summaries) and every figure of the report drawn to PNG at 200 dpi — with its
  wall time per stage and its peak resident memory as reported by the OS
  (``os.wait4`` rusage ``ru_maxrss`` of the child). The registry CSVs are generated
  beforehand by ``analysis.synthetic.write_synthetic`` in another child (timed apart);
* the fitted growth exponent: slope of log(analysis time) against log(n) (least squares
  over the sizes >= 10^4, where fixed costs no longer dominate), next to the local slope
  of n log n over the same sizes.

Targets (2-core machine): cold render <= 20 s; prose-only re-render <= 3 s; 10^6-patient
analysis <= 60 s with peak memory <= 4 GiB; growth close to n log n. Timings are wall
clock: run on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("report.qmd", "_quarto.yml", "references.bib", "vancouver.csl", "typst-include.typ", "filters",
                 "sections", "analysis", "data")
PROSE_FILE = "sections/_introduction.qmd"


# --- child processes -------------------------------------------------------------------------

def child_generate(n: int, seed: int, out: str) -> dict:
    from analysis.synthetic import format_cohort, synthesize, write_synthetic  # noqa: F401

    t0 = time.perf_counter()
    cohort, kinetics = synthesize(n, seed)
    t1 = time.perf_counter()
    del cohort, kinetics
    write_synthetic(out, n, seed)  # synthesises again: the write time is the difference
    t2 = time.perf_counter()
    return {"synthesize": t1 - t0, "write": (t2 - t1) - (t1 - t0)}


def child_analyse(cohort: str, kinetics: str) -> dict:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = time.perf_counter()
    from analysis import figures
    from analysis.groups import GROUPINGS
    from analysis.loading import load_study
    from analysis.results import compute_results

    t1 = time.perf_counter()
    study = load_study(cohort, kinetics, "2023-03-01")
    t2 = time.perf_counter()
    R = compute_results(study)
    t3 = time.perf_counter()
    # every panel of the report's figures (and a few more groupings), drawn to PNG
    panels = []
    for g in GROUPINGS:
        panels.append(("bars", lambda g=g: figures.response_bars(R.response[("cr", g)],
                                                                 R.response[("mrd_negative_cr", g)])))
        panels.append(("strip", lambda g=g: figures.peak_strip(R.kinetics_peak[g], R.kinetics_values(g))))
        panels.append(("profile", lambda g=g: figures.kinetics_profile_plot(R.kinetics_profiles[g], g)))
    for key in R.survival:
        if key[1] != "all":
            panels.append(("km", lambda k=key: figures.km_plot(R.survival[k])))
    per_kind: dict[str, float] = {}
    for kind, make in panels:
        s = time.perf_counter()
        fig = make()
        fig.savefig(io.BytesIO(), format="png", dpi=200, bbox_inches="tight")
        plt.close(fig)
        per_kind[kind] = per_kind.get(kind, 0.0) + time.perf_counter() - s
    km_time = per_kind.get("km", 0.0)
    t4 = time.perf_counter()
    return {"import": t1 - t0, "load": t2 - t1, "compute": t3 - t2, "figures": t4 - t3,
            "km_figures": km_time, "figures_by_kind": per_kind, "n_figures": len(panels),
            "n_patients": R.counts["n_patients"], "n_samples": R.counts["n_kinetics_samples"]}


def run_child(args: list[str]) -> tuple[dict, float, float]:
    """(the child's JSON result, wall seconds, peak RSS in MiB of that child, from the OS)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0), err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0 or not text.strip():
        raise RuntimeError(f"child {' '.join(args)} failed ({proc.returncode}):\n{errors[-3000:]}")
    return json.loads(text.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024  # KiB on Linux


# --- render timings --------------------------------------------------------------------------

def copy_project(dest: Path) -> Path:
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def render(project: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "renderer", "report.qmd"], cwd=project, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"render failed:\n{proc.stderr[-3000:]}")
    return wall, proc.stderr


def prose_edit(project: Path) -> None:
    path = project / PROSE_FILE
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):  # first plain prose line without inline code
        if line.strip() and line[0].isalpha() and "`" not in line:
            lines[i] = line.rstrip() + " (Edited for the benchmark.)"
            break
    else:
        lines.append("\nEdited for the benchmark.")
    path.write_text("\n".join(lines), encoding="utf-8")


# --- main --------------------------------------------------------------------------------------

def slope(xs, ys) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="registry sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic registries")
    ap.add_argument("--no-render", action="store_true", help="skip the report render timings")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    if args.child:
        kind, *rest = args.child
        result = child_generate(int(rest[0]), int(rest[1]), rest[2]) if kind == "generate" \
            else child_analyse(rest[0], rest[1])
        print(json.dumps(result))
        return 0

    rows = []  # (measure, value, target, met)

    def row(measure, value, target="", met=None):
        rows.append((measure, value, target, "" if met is None else ("yes" if met else "NO")))
        print(f"  {measure}: {value}", file=sys.stderr, flush=True)

    if not args.no_render:
        with tempfile.TemporaryDirectory(prefix="cartox-bench-render-") as tmp:
            project = copy_project(Path(tmp))
            cold, err = render(project)
            row("cold render html+pdf+docx (s)", f"{cold:.1f}", "<= 20", cold <= 20)
            prose_edit(project)
            warm, err = render(project)
            hit = "cache hit" in err
            row("re-render after prose edit (s)", f"{warm:.1f}" + ("" if hit else " (cache MISSED)"),
                "<= 3", warm <= 3 and hit)

    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    times, stats_times = {}, {}
    with tempfile.TemporaryDirectory(prefix="cartox-bench-data-") as tmp:
        for n in sizes:
            out = Path(tmp) / str(n)
            gen, gen_wall, gen_rss = run_child(["--child", "generate", str(n), str(args.seed), str(out)])
            res, wall, rss = run_child(["--child", "analyse", str(out / "cohort.csv"), str(out / "kinetics.csv")])
            analysis = res["load"] + res["compute"] + res["figures"]
            times[n] = analysis
            stats_times[n] = res["load"] + res["compute"]
            size_mib = sum(p.stat().st_size for p in out.iterdir()) / 2**20
            label = f"n = {n:.0e}".replace("e+0", "e")
            row(f"{label}: synthesize / write CSV (s), {size_mib:.0f} MiB",
                f"{gen['synthesize']:.1f} / {gen['write']:.1f}")
            row(f"{label}: load / compute / {res['n_figures']} figures (KM {res['km_figures']:.1f}) (s)",
                f"{res['load']:.1f} / {res['compute']:.1f} / {res['figures']:.1f}")
            big = n >= 10**6
            row(f"{label}: analysis time (s)", f"{analysis:.1f}", "<= 60" if big else "",
                analysis <= 60 if big else None)
            row(f"{label}: peak memory (MiB, child maxrss)", f"{rss:.0f}", "<= 4096" if big else "",
                rss <= 4096 if big else None)
            shutil.rmtree(out, ignore_errors=True)
    fit = [n for n in sizes if n >= 10**4] or sizes
    if len(fit) >= 2:
        s = slope(fit, [times[n] for n in fit])
        ref = slope(fit, [n * math.log(n) for n in fit])
        row(f"growth exponent of analysis time (log-log slope, n = {fit[0]:.0e}..{fit[-1]:.0e})".replace("e+0", "e"),
            f"{s:.2f}", f"~{ref:.2f} (n log n)", s <= ref + 0.15)
        s2 = slope(fit, [stats_times[n] for n in fit])
        row("  same, load + compute only (figures excluded)", f"{s2:.2f}", f"~{ref:.2f} (n log n)", s2 <= ref + 0.15)

    w = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{w}}  {'value':>16}  {'target':>16}  met")
    print("-" * (w + 41))
    for measure, value, target, met in rows:
        print(f"{measure:<{w}}  {value:>16}  {target:>16}  {met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
