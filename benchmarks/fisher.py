"""Time the exact r×c Fisher test (``analysis.estimators.comparisons.fisher_exact_rxc``, the
network algorithm) against R's ``fisher.test`` on a few tables (a benchmark, not a test).

    .venv/bin/python benchmarks/fisher.py [--realistic 100] [--seed 1]

Prints, per table: its shape and n, cartox's p and CPU seconds, and R's p and seconds
(``system.time``, default workspace; "refused" when FEXACT's default workspace is too small)
when ``Rscript`` is on the PATH. ``--realistic N`` adds N random Table 1-like tables (2–3
groups, 2–6 categories, 40–300 patients, some expected count below 5, as ``table_test``
sends to Fisher) and prints cartox's total, median and largest time over them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.estimators.comparisons import TableTooLargeError, _fisher_exact_rxc, fisher_exact_rxc  # noqa: E402

TABLES = {
    "Agresti job satisfaction 4x4": [[1, 3, 10, 6], [2, 3, 10, 7], [1, 6, 14, 12], [0, 1, 9, 11]],
    "5x6, n = 54": [[2, 3, 2, 3, 2, 1], [2, 0, 3, 3, 2, 3], [1, 1, 2, 1, 0, 1], [2, 1, 2, 2, 1, 2], [3, 3, 3, 0, 1, 2]],
    "3x6, n = 79": [[4, 8, 7, 8, 2, 2], [5, 0, 2, 3, 8, 8], [3, 6, 4, 0, 3, 6]],
    "4x4, n = 92": [[0, 8, 6, 7], [6, 7, 7, 8], [3, 2, 5, 6], [3, 8, 7, 9]],
}


def cartox(table) -> tuple[float | None, float]:
    _fisher_exact_rxc.cache_clear()
    started = time.process_time()
    try:
        p = fisher_exact_rxc(table)
    except TableTooLargeError:
        p = None
    return p, time.process_time() - started


def r_fisher(table) -> str:
    if shutil.which("Rscript") is None:
        return "Rscript not on the PATH"
    t = np.asarray(table)
    cells = ",".join(str(int(x)) for x in t.ravel())
    code = (
        f"m <- matrix(c({cells}), {t.shape[0]}, byrow = TRUE); "
        "tm <- system.time(r <- try(fisher.test(m), silent = TRUE)); "
        "if (inherits(r, 'try-error')) cat('refused (default workspace)') "
        "else cat(format(r$p.value, digits = 12), 'in', tm[['elapsed']], 's')"
    )
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
    return proc.stdout.strip() or proc.stderr.strip()[-200:]


def realistic(count: int, seed: int) -> list[np.ndarray]:
    rng, out = np.random.default_rng(seed), []
    while len(out) < count:
        groups, categories, n = rng.integers(2, 4), rng.integers(2, 7), rng.integers(40, 300)
        probs = rng.dirichlet(np.ones(categories) * 2)
        t = np.array([rng.multinomial(max(1, n // groups), probs) for _ in range(groups)])
        t = t[t.sum(1) > 0][:, t.sum(0) > 0]
        if min(t.shape) >= 2 and (np.outer(t.sum(1), t.sum(0)) / t.sum()).min() < 5:
            out.append(t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realistic", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cartox([[3, 1], [1, 3]])  # imports SciPy's special functions, outside the timings
    for name, table in TABLES.items():
        p, seconds = cartox(table)
        shown = "too large" if p is None else f"{p:.12g}"
        print(f"{name:32s} cartox {shown:>18s} in {seconds:6.3f} s | R {r_fisher(table)}")
    if args.realistic:
        times, refused = [], 0
        for table in realistic(args.realistic, args.seed):
            p, seconds = cartox(table)
            times.append(seconds)
            refused += p is None
        print(
            f"{args.realistic} Table 1-like tables: total {sum(times):.2f} s, median {statistics.median(times):.4f} s, "
            f"largest {max(times):.2f} s, too large {refused}"
        )


if __name__ == "__main__":
    main()
