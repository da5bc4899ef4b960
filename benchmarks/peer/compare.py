"""Compare the R peer's statistics (benchmarks/peer/analysis.R) with cartox's, number by number.

    .venv/bin/python benchmarks/peer/compare.py [COHORT.csv KINETICS.csv] [--cutoff 2023-03-01]

Runs ``Rscript analysis.R ... --json`` and ``analysis.report.results.compute_results`` on the same
CSVs (default: the bundled demo data) and compares every number the R script exports with
cartox's results JSON at the same key (docs/results.md). Prints, per section, how many
numbers were compared and the largest relative difference, then the worst disagreements.
This shows that the peer computes the same statistics (so that timing it is a fair
comparison); it is not a test of cartox (the tests record R's output with its call).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().parent
#: Two numbers agree when their relative (or, near 0, absolute) difference is below this.
TOLERANCE = 1e-6


def leaves(tree, path=()):
    """(path, value) of every scalar of a JSON tree."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, (*path, str(key)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaves(value, (*path, str(i)))
    else:
        yield path, tree


def lookup(tree, path):
    for key in path:
        if isinstance(tree, list):
            i = int(key)
            if i >= len(tree):
                return KeyError
            tree = tree[i]
        elif isinstance(tree, dict) and key in tree:
            tree = tree[key]
        else:
            return KeyError
    return tree


def difference(r_value, py_value) -> float:
    """Relative difference (absolute below 1)."""
    if isinstance(r_value, bool) or isinstance(py_value, bool):
        return 0.0 if bool(r_value) == bool(py_value) else math.inf
    return abs(r_value - py_value) / max(1.0, abs(py_value))


def keyed(results: dict) -> dict:
    """``results`` with the p-value table's rows keyed by their ``path`` (where the p-value sits
    in cartox's results) instead of by position: the two programs list the rows in different
    orders, and a row is the same test only when its path is."""
    table = results.get("pvalues")
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list):
        return results
    rows = {row["path"]: {k: v for k, v in row.items() if k != "path"} for row in table["rows"]}
    return {**results, "pvalues": {**table, "rows": rows}}


def pvalue_agreement(r_results: dict, py_results: dict, tolerance: float = 1e-8) -> dict:
    """The p-value tables row by row (by path): how many of cartox's rows the R script has, in
    the same family, and how many of their p, Holm- and BH-adjusted p agree within ``tolerance``
    (absolute: p-values are at most 1); the rows only one of them has."""
    r_rows = keyed(r_results).get("pvalues", {}).get("rows", {})
    py_rows = keyed(py_results).get("pvalues", {}).get("rows", {})
    out = {
        "cartox_rows": len(py_rows),
        "r_rows": len(r_rows),
        "matched": 0,
        "same_family": 0,
        "same_twin": 0,  # rows that both call a repeat of the same other row's test, or both distinct
        "agree": {},
        "worst": {},
        "only_cartox": sorted(set(py_rows) - set(r_rows)),
        "only_r": sorted(set(r_rows) - set(py_rows)),
    }
    for field in ("p", "p_holm", "p_bh"):
        out["agree"][field] = 0
        out["worst"][field] = (0.0, None)
    for path, row in py_rows.items():
        if path not in r_rows:
            continue
        out["matched"] += 1
        out["same_family"] += r_rows[path].get("family") == row["family"]
        out["same_twin"] += r_rows[path].get("same_as") == row.get("same_as")
        for field in ("p", "p_holm", "p_bh"):
            diff = abs(float(r_rows[path][field]) - float(row[field]))
            out["agree"][field] += diff <= tolerance
            if diff > out["worst"][field][0]:
                out["worst"][field] = (diff, path)
    return out


def compare(r_results: dict, py_results: dict) -> dict:
    """Per top-level section: compared count, max difference, disagreements, R-only numbers
    (the p-value tables' rows matched by path, :func:`keyed`)."""
    r_results, py_results = keyed(r_results), keyed(py_results)
    sections: dict[str, dict] = {}
    for path, r_value in leaves(r_results):
        section = sections.setdefault(
            path[0], {"compared": 0, "max_diff": 0.0, "worst": None, "bad": [], "only_r": [], "only_cartox": []}
        )
        py_value = lookup(py_results, path)
        if py_value is KeyError:
            section["only_r"].append(".".join(path))
            continue
        if isinstance(r_value, str) or isinstance(py_value, str):
            section["compared"] += 1
            if str(r_value) != str(py_value):
                section["bad"].append((".".join(path), r_value, py_value, math.inf))
            continue
        if r_value is None or py_value is None:
            if (r_value is None) != (py_value is None):
                (section["only_cartox"] if r_value is None else section["only_r"]).append(".".join(path))
            continue
        diff = difference(r_value, py_value)
        section["compared"] += 1
        if diff > section["max_diff"]:
            section["max_diff"], section["worst"] = diff, ".".join(path)
        if diff > TOLERANCE:
            section["bad"].append((".".join(path), r_value, py_value, diff))
    return sections


def run_r(cohort: str, kinetics: str | None, cutoff: str, out: Path) -> dict:
    proc = subprocess.run(
        ["Rscript", str(PEER / "analysis.R"), cohort, kinetics or "none", "--cutoff", cutoff, "--json", str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"analysis.R failed:\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def run_cartox(cohort: str, kinetics: str | None, cutoff: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from analysis.inputs.loading import load_study
    from analysis.report.export import results_to_dict
    from analysis.report.results import compute_results

    return results_to_dict(compute_results(load_study(cohort, kinetics, cutoff)))


def coverage(r_results: dict, py_results: dict) -> tuple[int, int]:
    """(cartox's numbers that the R script also exports, cartox's numbers): how much of the work R repeats."""
    r_results, py_results = keyed(r_results), keyed(py_results)
    r_paths = {path for path, _ in leaves(r_results)}
    numbers = [p for p, v in leaves(py_results) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(p in r_paths for p in numbers), len(numbers)


def report(sections: dict, out=sys.stdout, show: int = 8) -> tuple[int, int]:
    """Print the comparison; returns (numbers compared, disagreements)."""
    total = bad = 0
    print(f"{'section':<14} {'compared':>8} {'max rel. diff':>14}  disagree  (worst at)", file=out)
    for name, s in sections.items():
        total += s["compared"]
        bad += len(s["bad"])
        print(
            f"{name:<14} {s['compared']:>8} {s['max_diff']:>14.1e}  {len(s['bad']):>8}  ({s['worst'] or '-'})", file=out
        )
    print(f"{'all':<14} {total:>8}  within {TOLERANCE:g}: {total - bad}, disagree: {bad}", file=out)
    worst = sorted((b for s in sections.values() for b in s["bad"]), key=lambda b: -b[3])[:show]
    for path, r_value, py_value, diff in worst:
        print(f"  {path}: R {r_value!r} vs cartox {py_value!r} (diff {diff:.1e})", file=out)
    only_r = [p for s in sections.values() for p in s["only_r"]]
    only_cartox = [p for s in sections.values() for p in s["only_cartox"]]
    if only_r:
        print(f"  a number in R only ({len(only_r)}): {', '.join(only_r[:show])}", file=out)
    if only_cartox:
        print(f"  a number in cartox only ({len(only_cartox)}): {', '.join(only_cartox[:show])}", file=out)
    return total, bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cohort", nargs="?", default=str(ROOT / "data" / "cohort.csv"))
    ap.add_argument("kinetics", nargs="?", default=str(ROOT / "data" / "kinetics.csv"))
    ap.add_argument("--cutoff", default="2023-03-01")
    args = ap.parse_args(argv)
    kinetics = None if args.kinetics == "none" else args.kinetics
    with tempfile.TemporaryDirectory(prefix="cartox-peer-") as tmp:
        r_results = run_r(args.cohort, kinetics, args.cutoff, Path(tmp) / "r.json")
    py_results = run_cartox(args.cohort, kinetics, args.cutoff)
    report(compare(r_results, py_results))
    agreement = pvalue_agreement(r_results, py_results)
    print(
        f"p-value table: cartox {agreement['cartox_rows']} rows, R {agreement['r_rows']}, matched by path "
        f"{agreement['matched']} ({agreement['same_family']} in the same family); within 1e-8: "
        + ", ".join(f"{k} {v}" for k, v in agreement["agree"].items())
    )
    for field, (diff, path) in agreement["worst"].items():
        if path is not None:
            print(f"  largest {field} difference: {diff:.1e} at {path}")
    for side in ("only_cartox", "only_r"):
        if agreement[side]:
            print(f"  rows in {side.replace('_', ' ')}: {', '.join(agreement[side][:10])}")
    covered, numbers = coverage(r_results, py_results)
    print(f"cartox's results JSON: {numbers} numbers, {covered} of them also computed by the R script")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
