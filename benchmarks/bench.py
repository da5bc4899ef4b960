"""Performance benchmark of cartox against its peers (a benchmark, not a test: CI never runs or times it).

    .venv/bin/python benchmarks/bench.py [--sizes 1e3,1e4,1e5,1e6] [--peer-sizes 1e5,1e6] [--no-render]
                                         [--seed 1] [--json figures.json]

Prints one table, every figure measured in this run:

* render of the bundled report, each from a fresh copy of the project without any cache:
  cartox's built-in renderer, HTML + PDF + DOCX and HTML only (with its own per-stage
  times: parse, execute, assemble, convert, publish), and the re-render after a
  prose-only edit (the execution cache must hit);
* the R Markdown peer (``benchmarks/peer/report.Rmd``: the same statistics, tables and
  39 figure panels, survminer KM panels with risk tables), HTML only, with the same Pandoc
  (the venv's pypandoc-binary, through ``RSTUDIO_PANDOC``), and its stages (R start-up,
  the analysis chunk, the figure chunks, knitting + Pandoc); the ratios cartox / peer;
* real Quarto rendering the same ``report.qmd`` to HTML when ``quarto`` is on the PATH,
  and the ratio cartox (all three formats) / Quarto (HTML);
* for each synthetic registry size n: cartox's analysis in a child process — loading with
  validation, every statistic (``compute_results``) and every figure panel drawn to PNG at
  200 dpi — per stage, with the child's peak resident memory from the OS (``os.wait4``
  ``ru_maxrss``) and its peak after the statistics (``getrusage`` before the figures);
  the log-log growth exponent of the analysis time;
* at the ``--peer-sizes``: ``benchmarks/peer/analysis.R`` (R survival, cmprsk, data.table)
  on the same CSVs, per stage, its process wall and CPU time and peak memory (``os.wait4``),
  the ratios cartox statistics / R script (time and memory), and how many of the R
  script's numbers agree with cartox's results JSON (``benchmarks/peer/compare.py``): the
  evidence that both do the same work.

Everything R-dependent is skipped, with the reason printed, when ``Rscript`` or an R
package is missing; Quarto's row when ``quarto`` is not on the PATH. ``--json`` writes
every figure (and the machine, its load and the date) for the README's table.

Targets (2-core machine, issue 13): cold render html+pdf+docx <= 1.0 x the R Markdown
peer's html-only render and <= 0.5 x Quarto's html-only render; prose-only re-render
<= 3 s; 10^6-patient analysis <= 60 s and <= 2 GiB; the statistics <= 0.25 x the R
script's time, and (issue 20) <= 0.3 x its CPU time at 10^5; growth close to n log n.
Timings are wall clock unless marked CPU: run on an otherwise idle machine and report its
load (printed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from analysis.report.export import results_to_json

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "benchmarks" / "peer"
PROJECT_FILES = (
    "report.qmd",
    "_quarto.yml",
    "references.bib",
    "vancouver.csl",
    "typst-include.typ",
    "filters",
    "sections",
    "analysis",
    "data",
)
PROSE_FILE = "sections/_introduction.qmd"
CUTOFF = "2023-03-01"
#: R packages of the peer analysis script, and of the R Markdown peer on top of it.
R_ANALYSIS_PACKAGES = ("survival", "cmprsk", "data.table", "jsonlite")
R_REPORT_PACKAGES = (*R_ANALYSIS_PACKAGES, "rmarkdown", "knitr", "ggplot2", "survminer")


# --- child processes -------------------------------------------------------------------------


def child_generate(n: int, seed: int, out: str) -> dict:
    from analysis.demo.synthetic import synthesize, write_synthetic

    t0 = time.perf_counter()
    cohort, kinetics = synthesize(n, seed)
    t1 = time.perf_counter()
    del cohort, kinetics
    write_synthetic(out, n, seed)  # synthesises again: the write time is the difference
    t2 = time.perf_counter()
    return {"synthesize": t1 - t0, "write": (t2 - t1) - (t1 - t0)}


def child_analyse(cohort: str, kinetics: str, results_json: str | None = None) -> dict:
    import io
    import resource

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = time.perf_counter()
    import scipy.stats  # noqa: F401  (imported by the statistics on first use; R's packages load before its clock starts too)

    from analysis.inputs.loading import load_study
    from analysis.registry.groups import GROUPINGS
    from analysis.report import figures
    from analysis.report.results import compute_results

    t1 = time.perf_counter()
    cpu1 = time.process_time()
    study = load_study(cohort, kinetics, CUTOFF)
    t2 = time.perf_counter()
    R = compute_results(study)
    t3 = time.perf_counter()
    stats_cpu = time.process_time() - cpu1  # CPU seconds of load + compute (all threads)
    stats_maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # peak so far: the statistics
    # every panel of the report's figures (and a few more groupings), drawn to PNG
    panels = []
    for g in GROUPINGS:
        panels.append(
            ("bars", lambda g=g: figures.response_bars(R.response[("cr", g)], R.response[("mrd_negative_cr", g)]))
        )
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
    t4 = time.perf_counter()
    if results_json:  # for the comparison with the R peer (not timed)
        Path(results_json).write_text(results_to_json(R), encoding="utf-8")
    return {
        "import": t1 - t0,
        "load": t2 - t1,
        "compute": t3 - t2,
        "figures": t4 - t3,
        "km_figures": per_kind.get("km", 0.0),
        "figures_by_kind": per_kind,
        "n_figures": len(panels),
        "stats_maxrss_mib": stats_maxrss_kib / 1024,
        "stats_cpu": stats_cpu,
        "n_patients": R.counts["n_patients"],
        "n_samples": R.counts["n_kinetics_samples"],
    }


class Measured:
    """A finished process: its output, wall and CPU seconds and peak RSS (MiB) from the OS."""

    def __init__(self, cmd: list[str], cwd: Path = ROOT, env: dict | None = None):
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=env)
            _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own rusage (and its children's)
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.wall = time.perf_counter() - start
            out.seek(0), err.seek(0)
            self.stdout, self.stderr = out.read(), err.read()
        self.returncode = proc.returncode
        self.cpu = usage.ru_utime + usage.ru_stime
        self.maxrss_mib = usage.ru_maxrss / 1024  # KiB on Linux
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({self.returncode}):\n{self.stderr[-3000:]}")

    def last_json(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_child(args: list[str]) -> tuple[dict, Measured]:
    """A child of this script: (its JSON result, the measured process)."""
    m = Measured([sys.executable, __file__, *args])
    return m.last_json(), m


# --- R and Quarto ------------------------------------------------------------------------------


def r_unavailable(packages: tuple[str, ...]) -> str | None:
    """Why the R peer cannot run here (None when it can)."""
    if shutil.which("Rscript") is None:
        return "Rscript is not on the PATH"
    check = "for (p in commandArgs(TRUE)) if (!requireNamespace(p, quietly = TRUE)) cat(p, '')"
    proc = subprocess.run(["Rscript", "-e", check, *packages], capture_output=True, text=True)
    missing = proc.stdout.split()
    if proc.returncode != 0 or missing:
        return f"R package(s) not installed: {', '.join(missing) or proc.stderr.strip()[-200:]}"
    return None


def r_version() -> str | None:
    if shutil.which("Rscript") is None:
        return None
    proc = subprocess.run(["Rscript", "-e", "cat(R.version.string)"], capture_output=True, text=True)
    return proc.stdout.strip() or None


def pandoc_dir() -> str:
    """Folder of the venv's Pandoc (pypandoc-binary), the one cartox uses."""
    import pypandoc

    return str(Path(pypandoc.get_pandoc_path()).parent)


# --- render timings --------------------------------------------------------------------------


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def render_cartox(project: Path, to: str | None = None) -> tuple[Measured, dict[str, float]]:
    """The built-in renderer in ``project``: the process and its stages ("done in ... (parse 0.1, ...)")."""
    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"}
    m = Measured([sys.executable, "-m", "renderer", "report.qmd", *(["--to", to] if to else [])], project, env)
    done = re.search(r"done in [\d.]+ s \(([^)]*)\)", m.stderr)
    stages = {}
    for part in done.group(1).split(", ") if done else []:
        name, _, seconds = part.rpartition(" ")
        stages[name] = float(seconds)
    return m, stages


def render_peer(out_dir: Path) -> tuple[Measured, dict]:
    """The R Markdown peer to HTML with the venv's Pandoc; (process, its stages)."""
    env = {**os.environ, "RSTUDIO_PANDOC": pandoc_dir()}
    m = Measured(["Rscript", str(PEER / "render.R"), str(out_dir)], ROOT, env)
    return m, m.last_json()


def render_quarto(project: Path) -> Measured:
    env = {**os.environ, "QUARTO_PYTHON": sys.executable, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"}
    return Measured(["quarto", "render", "report.qmd", "--to", "html"], project, env)


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


def size_label(n: int) -> str:
    return f"n = {n:.0e}".replace("e+0", "e")


def stages_text(stages: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in stages.items())


def parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


class Table:
    """Rows of the printed table and the flat figures of --json."""

    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []
        self.figures: dict[str, object] = {}
        self.skipped: dict[str, str] = {}

    def row(
        self, measure: str, value: str, target: str = "", met: bool | None = None, figures: dict | None = None, **more
    ) -> None:
        """One printed row; ``figures`` (or keyword arguments) go to --json under their keys."""
        self.rows.append((measure, value, target, "" if met is None else ("yes" if met else "NO")))
        self.figures.update(figures or {}, **more)
        print(f"  {measure}: {value}", file=sys.stderr, flush=True)

    def skip(self, what: str, reason: str) -> None:
        self.skipped[what] = reason
        self.row(what, "skipped", reason)

    def print(self) -> None:
        """Aligned columns; a long value (a list of stages) is printed after its measure instead."""
        short = [r for r in self.rows if len(r[1]) <= 24]
        w = max((len(r[0]) for r in short), default=40)
        print(f"\n{'measure':<{w}}  {'value':>24}  {'target':>16}  met")
        print("-" * (w + 49))
        for measure, value, target, met in self.rows:
            if len(value) > 24:
                print(f"{measure}: {value}")
            else:
                print(f"{measure:<{w}}  {value:>24}  {target:>16}  {met}")


def attempt(table: Table, what: str, run):
    """``run()``, or None with a skipped row saying why a peer failed (the benchmark goes on)."""
    try:
        return run()
    except RuntimeError as err:
        lines = [line for line in str(err).splitlines() if line.strip() and line.strip() != "Execution halted"]
        table.skip(what, "failed: " + (lines[-1] if lines else "?")[:200])
        return None


def bench_render(table: Table) -> None:
    with tempfile.TemporaryDirectory(prefix="cartox-bench-render-") as tmp:
        tmp = Path(tmp)
        project = copy_project(tmp / "all")
        cold, stages = render_cartox(project)
        table.row(
            "cartox cold render html+pdf+docx (s)",
            f"{cold.wall:.1f}",
            figures={"render.cartox_all_s": cold.wall, "render.cartox_all_cpu_s": cold.cpu},
        )
        table.row("  its stages (s)", stages_text(stages), figures={"render.cartox_all_stages": stages})
        prose_edit(project)
        warm, _ = render_cartox(project)
        hit = "cache hit" in warm.stderr
        table.row(
            "re-render after prose edit (s)",
            f"{warm.wall:.1f}" + ("" if hit else " (cache MISSED)"),
            "<= 3",
            warm.wall <= 3 and hit,
            **{"render.prose_edit_s": warm.wall},
        )
        html, html_stages = render_cartox(copy_project(tmp / "html"), "html")
        table.row(
            "cartox cold render html only (s)",
            f"{html.wall:.1f}",
            figures={"render.cartox_html_s": html.wall, "render.cartox_html_cpu_s": html.cpu},
        )
        table.row("  its stages (s)", stages_text(html_stages), figures={"render.cartox_html_stages": html_stages})

        reason = r_unavailable(R_REPORT_PACKAGES)
        peer_run = None
        if reason:
            table.skip("R Markdown peer render", reason)
        else:
            peer_run = attempt(table, "R Markdown peer render", lambda: render_peer(tmp / "peer"))
        if peer_run is not None:
            peer, info = peer_run
            table.row(
                f"R Markdown peer render html only (s), Pandoc {info['pandoc']}",
                f"{peer.wall:.1f}",
                figures={"render.peer_html_s": peer.wall, "render.peer_html_cpu_s": peer.cpu},
            )
            table.row("  its stages (s)", stages_text(info["stages"]), figures={"render.peer_stages": info["stages"]})
            ratio = cold.wall / peer.wall
            table.row(
                "ratio cartox html+pdf+docx / peer html",
                f"{ratio:.2f}",
                "<= 1.0",
                ratio <= 1.0,
                **{"render.ratio_all_vs_peer_html": ratio},
            )
            ratio = html.wall / peer.wall
            table.row(
                "ratio cartox html / peer html", f"{ratio:.2f}", figures={"render.ratio_html_vs_peer_html": ratio}
            )
            cpu = cold.cpu / peer.cpu
            table.row(
                "  same, CPU time: cartox html+pdf+docx / peer html",
                f"{cpu:.2f}",
                figures={"render.cpu_ratio_all_vs_peer_html": cpu},
            )

        quarto = None
        if shutil.which("quarto") is None:
            table.skip("Quarto render", "quarto is not on the PATH")
        else:
            quarto = attempt(table, "Quarto render", lambda: render_quarto(copy_project(tmp / "quarto")))
        if quarto is not None:
            version = subprocess.run(["quarto", "--version"], capture_output=True, text=True).stdout.strip()
            table.row(
                f"real Quarto {version} render html only (s)",
                f"{quarto.wall:.1f}",
                figures={"render.quarto_html_s": quarto.wall, "render.quarto_version": version},
            )
            ratio = cold.wall / quarto.wall
            table.row(
                "ratio cartox html+pdf+docx / Quarto html",
                f"{ratio:.2f}",
                "<= 0.5",
                ratio <= 0.5,
                **{"render.ratio_all_vs_quarto_html": ratio},
            )


def bench_peer_analysis(table: Table, n: int, out: Path, res: dict, cartox_json: Path, reason: str | None) -> None:
    label = size_label(n)
    if reason:
        table.skip(f"{label}: R analysis.R", reason)
        return
    r_json = out / "r-results.json"
    cmd = ["Rscript", str(PEER / "analysis.R"), str(out / "cohort.csv"), str(out / "kinetics.csv")]
    r = attempt(table, f"{label}: R analysis.R", lambda: Measured([*cmd, "--cutoff", CUTOFF, "--json", str(r_json)]))
    if r is None:
        return
    timings = r.last_json()["timings"]
    stages = {k: v["wall"] for k, v in timings.items() if k != "total"}
    r_total = timings["total"]["wall"]
    key = f"analysis.{n}"
    table.row(f"{label}: R analysis.R stages (s)", stages_text(stages), figures={f"{key}.r_stages": stages})
    table.row(
        f"{label}: R analysis.R statistics / process wall / CPU (s)",
        f"{r_total:.1f} / {r.wall:.1f} / {r.cpu:.1f}",
        figures={f"{key}.r_stats_s": r_total, f"{key}.r_process_s": r.wall, f"{key}.r_cpu_s": r.cpu},
    )
    table.row(
        f"{label}: R peak memory (MiB, maxrss)", f"{r.maxrss_mib:.0f}", figures={f"{key}.r_maxrss_mib": r.maxrss_mib}
    )
    stats = res["load"] + res["compute"]
    ratio = stats / r_total
    table.row(
        f"{label}: ratio cartox load+compute / R script",
        f"{ratio:.2f}",
        "<= 0.25",
        ratio <= 0.25,
        **{f"{key}.ratio_stats_vs_r": ratio},
    )
    r_cpu = timings["total"]["cpu"]
    cpu = res["stats_cpu"] / r_cpu
    table.row(
        f"{label}: same, CPU time: cartox {res['stats_cpu']:.1f} s / R {r_cpu:.1f} s",
        f"{cpu:.2f}",
        "<= 0.3 (issue 20)",
        cpu <= 0.3,
        figures={
            f"{key}.cartox_stats_cpu_s": res["stats_cpu"],
            f"{key}.r_stats_cpu_s": r_cpu,
            f"{key}.cpu_ratio_stats_vs_r": cpu,
        },
    )
    mem = res["stats_maxrss_mib"] / r.maxrss_mib
    table.row(
        f"{label}: ratio of peak memory, cartox statistics / R script",
        f"{mem:.2f}",
        figures={f"{key}.ratio_memory_vs_r": mem},
    )
    sys.path.insert(0, str(PEER))
    from compare import compare, coverage, pvalue_agreement

    r_results, py_results = json.loads(r_json.read_text()), json.loads(cartox_json.read_text())
    sections = compare(r_results, py_results)
    covered, numbers = coverage(r_results, py_results)
    table.row(
        f"{label}: numbers of cartox's results JSON also computed by the R script",
        f"{covered} of {numbers}",
        figures={f"{key}.coverage": {"covered": covered, "numbers": numbers}},
    )
    total = sum(s["compared"] for s in sections.values())
    bad = sum(len(s["bad"]) for s in sections.values())
    worst = max(s["max_diff"] for s in sections.values())
    table.row(
        f"{label}: R numbers agreeing with cartox (rel. diff <= 1e-6)",
        f"{total - bad} of {total}, max {worst:.0e}",
        f"all {total}",
        bad == 0,
        **{f"{key}.agreement": {"compared": total, "disagree": bad, "max_rel_diff": worst}},
    )
    agreement = pvalue_agreement(r_results, py_results)
    agree, n_rows = agreement["agree"], agreement["cartox_rows"]
    complete = n_rows == agreement["r_rows"] == agreement["matched"] == agreement["same_family"]
    table.row(
        f"{label}: p-value table rows matched by path (in the same family); p, Holm p, BH p within 1e-8",
        f"{agreement['matched']} of {n_rows} ({agreement['same_family']}); {agree['p']}, {agree['p_holm']}, "
        f"{agree['p_bh']}",
        f"all {n_rows}",
        complete and all(v == n_rows for v in agree.values()),
        **{
            f"{key}.pvalue_table": {
                **{k: agreement[k] for k in ("cartox_rows", "r_rows", "matched", "same_family", "agree")},
                "largest_difference": {f: {"diff": d, "path": p} for f, (d, p) in agreement["worst"].items()},
                "only_cartox": agreement["only_cartox"][:20],
                "only_r": agreement["only_r"][:20],
            }
        },
    )
    worst_rows = sorted((b for s in sections.values() for b in s["bad"]), key=lambda b: -b[3])[:5]
    for path, r_value, py_value, _ in worst_rows:  # which numbers, so that a reader can judge who is right
        shown = [f"{v:.6g}" if isinstance(v, (int, float)) else repr(v) for v in (r_value, py_value)]
        table.row(f"  disagrees: {path}", f"R {shown[0]} vs cartox {shown[1]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="registry sizes, comma-separated")
    ap.add_argument(
        "--peer-sizes", default="1e5,1e6", help="sizes (among --sizes) at which the R analysis script runs too"
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic registries")
    ap.add_argument("--no-render", action="store_true", help="skip the render timings")
    ap.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            result = child_generate(int(rest[0]), int(rest[1]), rest[2])
        else:
            result = child_analyse(*rest)
        print(json.dumps(result))
        return 0

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    table = Table()
    if not args.no_render:
        bench_render(table)

    sizes = parse_sizes(args.sizes)
    peer_sizes = set(parse_sizes(args.peer_sizes)) & set(sizes)
    r_reason = r_unavailable(R_ANALYSIS_PACKAGES) if peer_sizes else None
    times, stats_times = {}, {}
    with tempfile.TemporaryDirectory(prefix="cartox-bench-data-") as tmp:
        for n in sizes:
            out = Path(tmp) / str(n)
            gen, _ = run_child(["--child", "generate", str(n), str(args.seed), str(out)])
            cartox_json = out / "cartox-results.json"
            child = ["--child", "analyse", str(out / "cohort.csv"), str(out / "kinetics.csv")]
            res, proc = run_child(child + ([str(cartox_json)] if n in peer_sizes and not r_reason else []))
            analysis = res["load"] + res["compute"] + res["figures"]
            times[n] = analysis
            stats_times[n] = res["load"] + res["compute"]
            size_mib = sum(p.stat().st_size for p in out.iterdir()) / 2**20
            label, key = size_label(n), f"analysis.{n}"
            table.row(
                f"{label}: synthesize / write CSV (s), {size_mib:.0f} MiB",
                f"{gen['synthesize']:.1f} / {gen['write']:.1f}",
            )
            table.row(
                f"{label}: load / compute / {res['n_figures']} figures (KM {res['km_figures']:.1f}) (s)",
                f"{res['load']:.1f} / {res['compute']:.1f} / {res['figures']:.1f}",
                **{
                    f"{key}.load_s": res["load"],
                    f"{key}.compute_s": res["compute"],
                    f"{key}.figures_s": res["figures"],
                },
            )
            big = n >= 10**6
            table.row(
                f"{label}: analysis time (s), process CPU (s)",
                f"{analysis:.1f}, {proc.cpu:.1f}",
                "<= 60" if big else "",
                analysis <= 60 if big else None,
                **{f"{key}.analysis_s": analysis, f"{key}.cpu_s": proc.cpu},
            )
            table.row(
                f"{label}: peak memory (MiB, child maxrss), after the statistics",
                f"{proc.maxrss_mib:.0f}, {res['stats_maxrss_mib']:.0f}",
                "<= 2048" if big else "",
                proc.maxrss_mib <= 2048 if big else None,
                **{f"{key}.maxrss_mib": proc.maxrss_mib, f"{key}.stats_maxrss_mib": res["stats_maxrss_mib"]},
            )
            if n in peer_sizes:
                bench_peer_analysis(table, n, out, res, cartox_json, r_reason)
            shutil.rmtree(out, ignore_errors=True)
    fit = [n for n in sizes if n >= 10**4] or sizes
    if len(fit) >= 2:
        s = slope(fit, [times[n] for n in fit])
        ref = slope(fit, [n * math.log(n) for n in fit])
        span = f"n = {fit[0]:.0e}..{fit[-1]:.0e}".replace("e+0", "e")
        table.row(
            f"growth exponent of analysis time (log-log slope, {span})",
            f"{s:.2f}",
            f"~{ref:.2f} (n log n)",
            s <= ref + 0.15,
            **{"analysis.growth_exponent": s},
        )
        s2 = slope(fit, [stats_times[n] for n in fit])
        table.row(
            "  same, load + compute only (figures excluded)",
            f"{s2:.2f}",
            f"~{ref:.2f} (n log n)",
            s2 <= ref + 0.15,
            **{"analysis.growth_exponent_stats": s2},
        )

    load_after = os.getloadavg()
    table.print()
    machine = (
        f"{os.cpu_count()} CPUs, {platform.platform()}, load {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(f"\n{started:%Y-%m-%d %H:%M} UTC; {machine}")
    if args.json:
        document = {
            "date": started.isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "r": r_version(),
                "load_1min_before": load_before[0],
                "load_1min_after": load_after[0],
            },
            "arguments": {"sizes": sizes, "peer_sizes": sorted(peer_sizes), "render": not args.no_render},
            "figures": table.figures,
            "skipped": table.skipped,
            "rows": [dict(zip(("measure", "value", "target", "met"), r)) for r in table.rows],
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
