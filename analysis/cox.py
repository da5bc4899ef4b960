"""Multivariable Cox model (Table 2) with Efron ties and R's cox.zph test.

CONTRACT (field names used by results.py and tables.py — do not rename):
"""
from __future__ import annotations

from dataclasses import dataclass

#: Terms of Table 2 in display order: key -> label.
COX_TERMS = {
    "bm_blasts_ge20": "BM blasts ≥20% vs <20%",
    "steroids": "Received steroids",
    "tocilizumab": "Received tocilizumab",
    "severity_ge3": "Grade ≥3 CRS or severe ICANS",
    "severity_other": "Others (grade 1–2 CRS and/or ICANS)",
}


@dataclass(frozen=True)
class CoxTerm:
    key: str
    label: str
    coef: float | None
    se: float | None
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None            # Wald
    reason: str | None = None


@dataclass(frozen=True)
class PHTest:
    term: str                  # term key or "GLOBAL"
    chisq: float | None
    df: int | None
    p: float | None


@dataclass(frozen=True)
class CoxResult:
    endpoint: str              # "os" | "lfs"
    n: int
    events: int
    ties: str                  # "efron"
    terms: tuple[CoxTerm, ...]
    severity_global_chisq: float | None
    severity_global_p: float | None   # joint Wald test of severity_ge3 + severity_other
    ph_tests: tuple[PHTest, ...]      # per term then GLOBAL, as R survival >= 3 cox.zph(transform="km")
    ph_test_global_p: float | None
    reason: str | None = None
