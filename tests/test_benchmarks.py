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
