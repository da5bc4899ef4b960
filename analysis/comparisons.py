"""Group comparisons: Table 1 rows and response rates (Figure 1).

CONTRACT (filled in by the implementation; field names are used by results.py,
tables.py and figures.py — do not rename):
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TestResult:
    test: str | None          # "mann_whitney" | "kruskal_wallis" | "chi_square" | "fisher_exact" | None
    p: float | None
    statistic: float | None
    reason: str | None = None  # why p is None


@dataclass(frozen=True)
class ContinuousLevel:
    key: str
    label: str
    n: int                    # non-missing values
    median: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True)
class CategoryCount:
    category: str             # e.g. "M", "F", True/False rendered as "yes"/"no", "relapsed"
    count: int
    percent: float | None     # of the level's non-missing n, 0-100


@dataclass(frozen=True)
class CategoricalLevel:
    key: str
    label: str
    n: int
    categories: tuple[CategoryCount, ...]


@dataclass(frozen=True)
class Comparison:
    variable: str
    grouping: str
    kind: str                 # "continuous" | "categorical"
    levels: tuple             # ContinuousLevel or CategoricalLevel, in grouping order
    result: TestResult


@dataclass(frozen=True)
class RateLevel:
    key: str
    label: str
    n: int
    events: int
    rate: float | None
    ci_low: float | None      # exact Clopper-Pearson 95%
    ci_high: float | None


@dataclass(frozen=True)
class ResponseComparison:
    response: str             # "cr" | "mrd_negative_cr"
    grouping: str
    levels: tuple[RateLevel, ...]
    result: TestResult
