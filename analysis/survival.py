"""Kaplan-Meier, log-rank and reverse-KM follow-up (Figures 2-3).

CONTRACT (field names used by results.py, tables.py and figures.py — do not rename):
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LANDMARK_MONTHS = (12, 24, 36)


@dataclass(frozen=True)
class KMCurve:
    """Step function for plotting: S(t) right-continuous, starting at (0, 1)."""
    times: np.ndarray          # 0 then each distinct event time (months)
    survival: np.ndarray
    ci_low: np.ndarray         # log-transformed CI as R survfit(conf.type="log")
    ci_high: np.ndarray
    censor_times: np.ndarray   # distinct censoring times (for '+' marks)
    censor_survival: np.ndarray


@dataclass(frozen=True)
class Landmark:
    months: int
    survival: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None   # e.g. "no patient followed to 36 months"


@dataclass(frozen=True)
class KMSummary:
    key: str
    label: str
    n: int
    events: int
    median_months: float | None          # None when not reached
    median_ci_low: float | None
    median_ci_high: float | None          # None when the upper limit is not reached
    median_reason: str | None
    landmarks: tuple[Landmark, ...]
    curve: KMCurve


@dataclass(frozen=True)
class SurvivalComparison:
    endpoint: str              # "os" | "lfs"
    grouping: str | None       # None for the whole cohort
    levels: tuple[KMSummary, ...]
    logrank_chisq: float | None
    df: int | None
    logrank_p: float | None
    reason: str | None
    risk_times: tuple[float, ...]           # 0, 12, 24, ... months
    at_risk: dict[str, tuple[int, ...]] = field(default_factory=dict)  # level key -> n at risk at risk_times


@dataclass(frozen=True)
class FollowUp:
    median_months: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None
