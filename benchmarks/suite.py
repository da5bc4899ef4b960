"""Time the test suite and show where its CPU goes (issue 23: `make test` ≤ 120 s and
`make test-fast` ≤ 30 s on a 2-core machine with nothing else running).

    .venv/bin/python benchmarks/suite.py [--fast] [--top 15] [--json figures.json] [-- PYTEST ARGS]

Runs the suite as the Makefile does (``pytest -q -n 2 --dist loadfile``; ``--fast``: ``-m "not
slow"``, as ``make test-fast``) and prints: wall time; CPU time of the whole process tree
(pytest, its workers and every process they started: renders, kernels, Pandoc, Typst); the
CPU spent inside the test functions and fixtures of the workers (measured per test by a
small plugin), the rest being processes started by the tests and pytest's own start-up and
collection; the load average before and after (a busy machine makes wall time meaningless:
compare CPU then); the files and tests with the most in-process CPU.

Nothing here is a test: the figures are for the closing notes and for finding what to speed
up next. Quarto is used when it is on the PATH, as by `make test`.
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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A pytest plugin writing each test's in-process CPU (setup, call and teardown) to a file.
PLUGIN = """
import os, time, pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    with open(os.environ["CARTOX_SUITE_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{time.process_time() - cpu:.4f}\\t{time.perf_counter() - wall:.4f}\\t{item.nodeid}\\n")
"""


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(fast: bool, pytest_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="cartox-suite-") as tmp:
        plugin_dir = Path(tmp)
        (plugin_dir / "cartox_suite_timer.py").write_text(PLUGIN, encoding="utf-8")
        log = plugin_dir / "tests.tsv"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as the Makefile
        env["CARTOX_SUITE_LOG"] = str(log)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH", "")]))
        command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "cartox_suite_timer"]
        command += (["-m", "not slow"] if fast else []) + pytest_args
        load_before = os.getloadavg()
        cpu_before, started = _cpu_of_children(), time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, _cpu_of_children() - cpu_before
        load_after = os.getloadavg()
        tests = []
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                test_cpu, test_wall, nodeid = line.split("\t", 2)
                tests.append((float(test_cpu), float(test_wall), nodeid))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    return {
        "command": " ".join(command[1:]),
        "returncode": proc.returncode,
        "summary": summary,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "in_test_cpu_s": round(sum(t[0] for t in tests), 1),
        "tests": len(tests),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "per_test": tests,
    }


def report(figures: dict, top: int) -> str:
    lines = [
        f"$ python {figures['command']}",
        f"  {figures['summary']}",
        f"  wall {figures['wall_s']} s; CPU {figures['cpu_s']} s (every process); "
        f"in the tests' own code {figures['in_test_cpu_s']} s over {figures['tests']} tests",
        f"  load average before {figures['load_before']}, after {figures['load_after']} (2 cores: above ~0.5 "
        "before, the wall time is not the suite's)",
    ]
    by_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for cpu, _, nodeid in figures["per_test"]:
        entry = by_file[nodeid.split("::", 1)[0]]
        entry[0] += cpu
        entry[1] += 1
    lines.append(f"  files with the most in-process CPU (top {top}):")
    for name, (cpu, n) in sorted(by_file.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"    {cpu:7.1f} s  {n:4d} tests  {name}")
    lines.append(f"  tests with the most in-process CPU (top {top}; a render's own processes are not in it):")
    for cpu, wall, nodeid in sorted(figures["per_test"], reverse=True)[:top]:
        lines.append(f"    {cpu:7.2f} s  (wall {wall:6.1f} s)  {nodeid}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help='the quick loop: -m "not slow" (make test-fast)')
    parser.add_argument("--top", type=int, default=15, help="files and tests listed (default 15)")
    parser.add_argument("--json", type=Path, help="also write the figures (and every test's CPU) to this file")
    args = parser.parse_args(argv)
    figures = run(args.fast, pytest_args)
    print(report(figures, args.top))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures["returncode"]


if __name__ == "__main__":
    sys.exit(main())
