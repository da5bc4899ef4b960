"""Hostile workbooks against the reader: time and memory (a benchmark, not a test).

    .venv/bin/python benchmarks/hostile_inputs.py [--sizes 1.6,12.8] [--source DIR] [--timeout 600]
        [--memory-cap-gib 4] [--keep DIR] [--json FILE]

Builds each shape of ``tests/hostile.py`` at each file size (MB), then loads it in a child
process (``analysis.inputs.loading.load_study``, as ``validate`` does) and prints what came
out (the number of patients read, or the first line of the error), the wall and CPU seconds
and the child's peak resident memory (``os.wait4``):

- ``rows``: patients of the bundled cohort repeated with new ids (a table of real columns,
  packing about 8:1) -- the cell limit;
- ``wide``: the same, each row with one more cell in Excel's last column (XFD), the range
  declared to match -- a reader padding rows to the declared width holds 16,384 values a row;
- ``bomb``: the 93 patients followed by blanks inside the sheet, packing about 1000:1.

``--source DIR`` loads with the ``analysis`` package of another checkout (e.g. ``git archive
main analysis | tar -x -C DIR``), for before/after figures; to emulate a checkout without
defusedxml, run with ``OPENPYXL_DEFUSEDXML=False`` in the environment. The child runs under
an address-space cap (``--memory-cap-gib``): a reader that would take more ends with a
MemoryError at the cap, reported as such, rather than swapping the shared machine; a child
still running at ``--timeout`` seconds is killed and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from analysis.inputs.loading import InputError, load_study
try:
    study = load_study(sys.argv[1], None, "2023-03-01")
    outcome = f"read {len(study.cohort)} patients" + (f"; note: {study.notes[0][:90]}" if study.notes else "")
except InputError as err:
    outcome = "refused: " + err.violations[0].rule[:110]
except MemoryError:
    outcome = "MemoryError"
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - t0}))
"""

SHAPES = {
    "rows": hostile.many_rows,
    "wide": hostile.wide_rows,
    "bomb": hostile.zip_bomb,
}


def build(shape: str, megabytes: float, folder: Path) -> Path:
    """The shape at about ``megabytes`` MB: a small copy measures the bytes per unit."""
    path = folder / f"{shape}-{megabytes:g}MB.xlsx"
    if path.exists():
        return path
    probe = folder / f"probe-{shape}.xlsx"
    unit = 2000 if shape != "bomb" else 20
    SHAPES[shape](probe, unit)
    base = (folder / "base.xlsx").stat().st_size if shape == "bomb" else 0  # the 93 patients before the blanks
    per_unit = (probe.stat().st_size - base) / unit
    probe.unlink()
    SHAPES[shape](path, max(1, round(megabytes * 1e6 / per_unit)))
    return path


def run(path: Path, source: Path | None, timeout: float, cap_gib: float) -> dict:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)

    def limit():
        cap = int(cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=limit,
        cwd=tempfile.gettempdir(),
    )
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            proc.kill()
            killed = True
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.2)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if killed:
        outcome = f"still running after {timeout:.0f} s: killed"
    elif out.strip():
        outcome = json.loads(out.strip().splitlines()[-1])["outcome"]
    else:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {status}"
        outcome = "crashed: " + last[:110]
    return {
        "outcome": outcome,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1.6,12.8", help="file sizes in MB, comma-separated")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="shapes to run, comma-separated")
    parser.add_argument("--source", type=Path, help="a checkout whose analysis package is loaded")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--memory-cap-gib", type=float, default=4.0)
    parser.add_argument("--keep", type=Path, help="folder for the workbooks (kept for the next run)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hostile-xlsx-"))
    folder.mkdir(parents=True, exist_ok=True)
    hostile.bundled_workbook(folder / "base.xlsx")
    print(f"load average {os.getloadavg()[0]:.1f}; reader: {args.source or ROOT}; cap {args.memory_cap_gib:g} GiB")
    print(f"{'workbook':<18} {'MB':>6} {'cells':>10} {'XML MB':>8} {'wall s':>8} {'CPU s':>7} {'peak MiB':>9}  outcome")
    figures = []
    for shape in args.shapes.split(","):
        for megabytes in sizes:
            path = build(shape, megabytes, folder)
            with zipfile.ZipFile(path) as archive:
                sheet = archive.getinfo(hostile.SHEET)
                with archive.open(sheet) as fh:
                    cells = sum(b.count(b"<c ") + b.count(b"<c>") for b in iter(lambda: fh.read(1 << 24), b""))
            result = run(path, args.source, args.timeout, args.memory_cap_gib)
            row = {
                "shape": shape,
                "file_mb": round(path.stat().st_size / 1e6, 2),
                "cells": cells,
                "xml_mb": round(sheet.file_size / 1e6, 1),
                **result,
            }
            figures.append(row)
            print(
                f"{path.name:<18} {row['file_mb']:>6} {cells:>10,} {row['xml_mb']:>8} {row['wall_s']:>8} "
                f"{row['cpu_s']:>7} {row['peak_mib']:>9}  {row['outcome']}",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "source": str(args.source or ROOT)}, indent=1))


if __name__ == "__main__":
    main()
