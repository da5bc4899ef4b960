"""Draw every figure panel of the report to PNG straight from ``compute_results``, to look at
them at registry scale without a full render (a check by eye, not a test)::

    .venv/bin/python benchmarks/figure_panels.py /work/scale-data/n1e6 /tmp/panels-1e6 [resp km ...]
    .venv/bin/python benchmarks/figure_panels.py data /tmp/panels-demo

The folder holds ``cohort.csv`` and ``kinetics.csv``; the optional names keep only the panels
whose file names begin with them. The cut-off is the demo's (the synthetic registries use it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from analysis.inputs.loading import load_study  # noqa: E402
from analysis.report import figures  # noqa: E402
from analysis.report.results import compute_results  # noqa: E402


def panels(R):
    """(file name, figure) of every panel, in the report's order."""
    for g in ("crs", "icans", "crs_grade", "icans_grade", "concurrent", "severity"):
        yield f"resp-{g}", lambda g=g: figures.response_bars(R.response[("cr", g)], R.response[("mrd_negative_cr", g)])
    for g in ("crs", "icans", "concurrent", "crs_grade", "icans_grade", "severity"):
        for e in ("os", "lfs"):
            yield f"km-{e}-{g}", lambda e=e, g=g: figures.km_plot(R.survival[(e, g)])
    for g in ("crs", "icans", "severity"):
        for c in ("relapse", "nrm"):
            yield f"cif-{c}-{g}", lambda c=c, g=g: figures.cif_plot(R.competing[g], c)
    for g in ("crs", "icans"):
        for e in ("os", "lfs"):
            yield f"landmark-{e}-{g}", lambda e=e, g=g: figures.landmark_km_plot(R.landmark[(e, g)])
    yield "flow", lambda: figures.flow_diagram(R.cohort_flow)
    yield "swimmer", lambda: figures.swimmer_plot(R.swimmer)
    for g in ("crs", "icans", "severity", "concurrent", "tocilizumab", "steroids"):
        yield f"peak-{g}", lambda g=g: figures.peak_strip(R.kinetics_peak[g], R.kinetics_values(g))
    for g in ("crs", "severity"):
        yield f"kinetics-{g}", lambda g=g: figures.kinetics_profile_plot(R.kinetics_profiles[g], g)
    yield "forest", lambda: figures.forest_plot(R.cox)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder with cohort.csv and kinetics.csv")
    parser.add_argument("out", type=Path, help="folder for the PNGs")
    parser.add_argument("only", nargs="*", help="keep the panels whose names begin with these")
    parser.add_argument("--cutoff", default="2023-03-01")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args()
    start = time.perf_counter()
    R = compute_results(load_study(args.data / "cohort.csv", args.data / "kinetics.csv", args.cutoff))
    print(f"results in {time.perf_counter() - start:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in panels(R):
        if not args.only or name.startswith(tuple(args.only)):
            draw().savefig(args.out / f"{name}.png", dpi=args.dpi)
            print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
