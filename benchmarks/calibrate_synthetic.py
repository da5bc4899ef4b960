"""Choose the seed of the bundled synthetic cohort (offline; not run in CI).

For every candidate seed the cohort is generated, written, loaded through the real
loader, analysed with the real results object and compared with ``analysis/demo/data/published.yml``.
A seed is admissible only when every published test keeps its conclusion (p < 0.05 or
not), the Discussion's IL-6 by blasts >= 20% test stays significant and at least
``MIN_EXACT`` published values are matched exactly. Among those the seed with the highest
score wins: published values matched exactly or within 10%, plus Table 2 hazard ratios
on the published side of 1; ties go to the smallest distance to the published
p-values, hazard ratios and follow-up. The categorical counts and Table 1
medians/ranges hold for every seed by construction (tests/test_synthetic.py checks them).

    .venv/bin/python benchmarks/calibrate_synthetic.py --start 1 --count 400 --jobs 2
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.demo.reproduction import load_published, reproduce  # noqa: E402
from analysis.demo.synthetic import write_synthetic  # noqa: E402
from analysis.estimators.comparisons import rank_test  # noqa: E402
from analysis.inputs.loading import load_study  # noqa: E402
from analysis.report.export import results_to_dict
from analysis.report.results import compute_results  # noqa: E402

PUBLISHED = load_published(ROOT / "analysis" / "demo" / "data" / "published.yml")
#: Exact matches every admissible seed must keep (the Table 1 / count targets).
MIN_EXACT = 222


def il6_by_blasts_p(cohort) -> float:
    high = cohort["bm_blasts_pct"] >= 20
    return rank_test([cohort.loc[high, "il6_peak_pg_ml"].dropna(), cohort.loc[~high, "il6_peak_pg_ml"].dropna()]).p


def evaluate(seed: int) -> dict:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        cohort_path, kinetics_path = write_synthetic(tmp, seed=seed)
        study = load_study(cohort_path, kinetics_path)
        results = results_to_dict(compute_results(study))
    table = reproduce(results, PUBLISHED)
    distance, disagreements, hr_sides = 0.0, [], 0
    for row in table.rows:
        if row.computed is None:
            continue
        if row.kind == "hr" and (row.computed > 1) == (row.published > 1):
            hr_sides += 1
        if row.conclusion_agrees is False:
            disagreements.append(row.id)
        if row.kind == "p":
            distance += abs(math.log(max(row.computed, 1e-4) / max(row.published, 1e-4)))
        elif row.kind == "hr" or (row.kind in ("ci_low", "ci_high") and row.id.startswith("cox_")):
            distance += 0.5 * abs(math.log(row.computed / row.published))
        elif row.id.startswith("followup"):
            distance += 3.0 * abs(math.log(row.computed / row.published))
    il6_p = il6_by_blasts_p(study.cohort)
    if il6_p >= 0.001:
        disagreements.append("il6_by_blasts20_p")
    s = table.summary
    if s.exact < MIN_EXACT:
        disagreements.append(f"exact {s.exact} < {MIN_EXACT}")
    return dict(
        seed=seed,
        admissible=not disagreements,
        distance=distance,
        disagreements=disagreements,
        exact=s.exact,
        within=s.within_10pct,
        matched=s.exact + s.within_10pct,
        hr_sides=hr_sides,
        agree=f"{s.conclusions_agree}/{s.p_values}",
        il6_p=il6_p,
    )


def rank(r: dict) -> tuple:
    """Smaller is better: most values exact or within 10% plus HRs on the published side, then distance."""
    return (-(r["matched"] + r["hr_sides"]), r["distance"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    seeds = range(args.start, args.start + args.count)
    best = None
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(evaluate, seeds, chunksize=4):
            if r["admissible"] and (best is None or rank(r) < rank(best)):
                best = r
                print(f"best so far: {r}", flush=True)
            elif not r["admissible"] and r["seed"] % 50 == 0:
                print(f"seed {r['seed']}: {len(r['disagreements'])} disagreements", flush=True)
    print(f"chosen: {best}")


if __name__ == "__main__":
    main()
