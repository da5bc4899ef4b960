"""The benchmark's scaffolding: the script starts, the R peers exist and parse, and the
number-by-number comparison of the R peer with cartox flags what it should.

Nothing here times anything (benchmarks/bench.py prints figures; CI never asserts a time).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "benchmarks" / "peer"
sys.path.insert(0, str(PEER))

from compare import TOLERANCE, compare  # noqa: E402

R_CHUNK = re.compile(r"^```\{r[^}]*\}\n(.*?)^```", re.S | re.M)


def test_bench_help_runs_and_names_the_peer_options():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for option in ("--sizes", "--peer-sizes", "--no-render", "--json"):
        assert option in proc.stdout


def test_peer_files_exist():
    for name in ("analysis.R", "render.R", "report.Rmd", "compare.py", "cmprsk_overflow.R"):
        assert (PEER / name).is_file(), name
    chunks = R_CHUNK.findall((PEER / "report.Rmd").read_text(encoding="utf-8"))
    assert len(chunks) >= 15  # setup, tables and every figure chunk
    assert any('source("analysis.R")' in chunk for chunk in chunks)  # the report's statistics are the script's


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on the PATH: the R peers are not parsed")
def test_peer_r_code_parses(tmp_path):
    chunks = tmp_path / "report-chunks.R"
    chunks.write_text("\n".join(R_CHUNK.findall((PEER / "report.Rmd").read_text(encoding="utf-8"))), encoding="utf-8")
    files = [PEER / "analysis.R", PEER / "render.R", PEER / "cmprsk_overflow.R", chunks]
    expr = "for (f in commandArgs(TRUE)) invisible(parse(f, encoding = 'UTF-8')); cat('parsed')"
    proc = subprocess.run(["Rscript", "-e", expr, *map(str, files)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "parsed", proc.stderr


def test_compare_flags_a_disagreement_and_numbers_on_one_side_only():
    cartox = {
        "survival": {"os": {"crs": {"logrank_p": 0.924, "df": 1, "levels": {"no": {"median_ci_high": None}}}}},
        "cox": {"os": {"terms": {"steroids": {"hr": 2.0, "p": 0.01}}}},
    }
    r = {
        "survival": {
            "os": {
                "crs": {"logrank_p": 0.924 * (1 + TOLERANCE / 10), "df": 1, "levels": {"no": {"median_ci_high": 40.0}}}
            }
        },
        "cox": {"os": {"terms": {"steroids": {"hr": 2.001, "p": 0.01}, "tocilizumab": {"hr": 1.0}}}},
    }
    sections = compare(r, cartox)
    assert sections["survival"]["compared"] == 2 and sections["survival"]["bad"] == []
    assert sections["survival"]["only_r"] == ["survival.os.crs.levels.no.median_ci_high"]
    assert [b[0] for b in sections["cox"]["bad"]] == ["cox.os.terms.steroids.hr"]
    assert sections["cox"]["bad"][0][3] == pytest.approx(0.001 / 2.0)  # relative difference
    assert sections["cox"]["only_r"] == ["cox.os.terms.tocilizumab.hr"]


def _bench_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cartox_bench", ROOT / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_r_rows_are_skipped_with_a_reason_without_rscript(monkeypatch):
    bench = _bench_module()
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    assert bench.r_unavailable(bench.R_REPORT_PACKAGES) == "Rscript is not on the PATH"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on the PATH: no package check to test")
def test_r_rows_are_skipped_naming_a_missing_package():
    bench = _bench_module()
    assert bench.r_unavailable(("survival", "no.such.package.cartox")) == (
        "R package(s) not installed: no.such.package.cartox"
    )
    assert bench.r_unavailable(("survival",)) is None


def test_the_p_value_tables_are_compared_row_by_path_not_by_position():
    """R lists the rows in another order than cartox: matched by position, every Holm and BH
    value would be compared with another test's; by path, each with its own."""
    from compare import pvalue_agreement

    def row(family, path, p, holm, bh):
        return {"family": family, "path": path, "label": "x", "test": "y", "p": p, "p_holm": holm, "p_bh": bh}

    cartox = {
        "pvalues": {
            "rows": [
                row("landmark", "landmark/os/crs/survival/logrank_p", 0.01, 0.02, 0.02),
                row("landmark", "landmark/os/icans/survival/logrank_p", 0.30, 0.30, 0.30),
                row("trend", "survival_trend/os/severity/p", 0.04, 0.04, 0.04),
            ]
        }
    }
    r = {
        "pvalues": {
            "rows": [
                row("trend", "survival_trend/os/severity/p", 0.04, 0.04, 0.04),
                row("landmark", "landmark/os/icans/survival/logrank_p", 0.30, 0.30, 0.30 + 5e-9),
                row("landmark", "landmark/os/crs/survival/logrank_p", 0.01, 0.02, 0.02),
            ]
        }
    }
    same = pvalue_agreement(r, cartox)
    assert (same["matched"], same["same_family"]) == (3, 3)
    assert same["agree"] == {"p": 3, "p_holm": 3, "p_bh": 3}  # 5e-9 is within 1e-8
    # by position the first rows would be compared: 0.04 against 0.01
    assert compare(r, cartox)["pvalues"]["bad"] == []
    r["pvalues"]["rows"][0] = row("landmark", "survival_trend/os/severity/p", 0.04, 0.08, 0.06)  # another family
    r["pvalues"]["rows"].append(row("trend", "response_trend/cr/severity/p", 0.5, 0.5, 0.5))
    other = pvalue_agreement(r, cartox)
    assert (other["matched"], other["same_family"], other["only_r"]) == (3, 2, ["response_trend/cr/severity/p"])
    assert other["agree"] == {"p": 3, "p_holm": 2, "p_bh": 2}
    assert other["worst"]["p_holm"] == (pytest.approx(0.04), "survival_trend/os/severity/p")


@pytest.mark.slow
def test_the_r_peer_builds_cartox_p_value_table_on_the_demo(tmp_path):
    """benchmarks/peer/analysis.R computes every p-value of the supplementary table, in the same
    families (so that its Holm and BH adjustments are over the same tests): on the bundled demo
    every row matches by path and every p, Holm p and BH p agrees within 1e-8."""
    bench = _bench_module()
    reason = bench.r_unavailable(bench.R_ANALYSIS_PACKAGES)
    if reason:
        pytest.skip(reason)
    from compare import pvalue_agreement, run_cartox, run_r

    cohort, kinetics = str(ROOT / "data" / "cohort.csv"), str(ROOT / "data" / "kinetics.csv")
    r = run_r(cohort, kinetics, "2023-03-01", tmp_path / "r.json")
    cartox = run_cartox(cohort, kinetics, "2023-03-01")
    table = pvalue_agreement(r, cartox)
    n = len(cartox["pvalues"]["rows"])
    repeated = [row for row in cartox["pvalues"]["rows"] if row.get("same_as")]
    assert n - len(repeated) == cartox["pvalues"]["n"] == r["pvalues"]["n"] > 200
    # the demo's repeats: the six Mantel-Byar tests (no event while a toxicity was to come) and the
    # kinetics comparisons by concurrent CRS and ICANS (every patient with kinetics and ICANS had CRS)
    assert len(repeated) == 9
    assert (table["r_rows"], table["matched"], table["same_family"], table["same_twin"]) == (n, n, n, n), (
        table["only_cartox"],
        table["only_r"],
    )
    assert table["agree"] == {"p": n, "p_holm": n, "p_bh": n}, table["worst"]
    assert {f: r["pvalues"]["families"][f]["n"] for f in r["pvalues"]["families"]} == {
        f: v["n"] for f, v in cartox["pvalues"]["families"].items()
    }


def test_the_suite_timer_sums_each_files_tests_and_lists_the_heaviest_first():
    """benchmarks/suite.py: the per-file sums and the order of its listing (the figures of issue 23)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cartox_suite", ROOT / "benchmarks" / "suite.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    figures = {
        "command": "-m pytest -q",
        "summary": "3 passed",
        "wall_s": 10.0,
        "cpu_s": 18.0,
        "in_test_cpu_s": 3.5,
        "tests": 3,
        "load_before": [0.1, 0.1, 0.1],
        "load_after": [1.0, 0.5, 0.2],
        "per_test": [
            (0.5, 1.0, "tests/test_a.py::x"),
            (2.0, 2.5, "tests/test_b.py::y"),
            (1.0, 1.0, "tests/test_a.py::z"),
        ],
    }
    lines = suite.report(figures, top=2).splitlines()
    files = lines[lines.index("  files with the most in-process CPU (top 2):") + 1 :][:2]
    assert [line.split() for line in files] == [
        ["2.0", "s", "1", "tests", "tests/test_b.py"],
        ["1.5", "s", "2", "tests", "tests/test_a.py"],
    ]
    assert lines[-2].strip().startswith("2.00 s") and lines[-2].endswith("tests/test_b.py::y")
    assert lines[-1].endswith("tests/test_a.py::z")  # top 2: the 0.5 s test is left out
