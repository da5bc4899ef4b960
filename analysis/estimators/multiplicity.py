"""Multiplicity and robustness: adjusted p-values and E-values.

* :func:`p_adjust` — R ``p.adjust(p, method = "holm")`` (Holm 1979, step-down
  family-wise error control) and ``p.adjust(p, method = "BH")`` (Benjamini & Hochberg 1995,
  false discovery rate), with R's arithmetic and order of operations:
  ``holm``: ``pmin(1, cummax((n - i + 1) * p[o]))[ro]`` over p sorted increasingly;
  ``BH``: ``pmin(1, cummin(n / i * p[o]))[ro]`` over p sorted decreasingly, ``i = n..1``.
  Missing p-values (None/NaN) stay missing and do not count in ``n``, as in R.
* :func:`e_value_hr` — the E-value of a hazard ratio and of its confidence limit closest to
  1 (VanderWeele & Ding, Ann Intern Med 2017;167:268-74): the minimum strength of
  association, on the risk-ratio scale, that an unmeasured confounder would need with both
  the exposure and the outcome to explain the estimate away. As the R package ``EValue``'s
  ``evalues.HR``: a rare outcome (under 15% at the end of follow-up) takes the HR as a risk
  ratio; a common one converts it first, ``RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``;
  then ``E = RR + sqrt(RR (RR - 1))`` for RR >= 1 (``1/RR`` first when RR < 1). The limit's
  E-value is 1 when the interval contains 1.
* :func:`split_key` — what makes two comparisons the same test: the same outcome on the same
  patients divided into the same groups (level names and order aside). When every patient has
  CRS, "concurrent CRS and ICANS versus others" divides them exactly as "ICANS versus no ICANS":
  the two rows print one test, which the report counts and adjusts once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: The adjustments reported, as R's ``p.adjust`` names them.
ADJUSTMENTS = ("holm", "BH")

#: VanderWeele & Ding's rule: an outcome is rare when fewer than this share of patients
#: have it by the end of follow-up (then HR ~ RR).
RARE_OUTCOME_SHARE = 0.15


def p_adjust(p: Sequence[float | None], method: str) -> list[float | None]:
    """R ``p.adjust(p, method)`` for ``"holm"`` and ``"BH"``; None/NaN stay None."""
    values = np.array([np.nan if v is None else float(v) for v in p], dtype=float)
    present = ~np.isnan(values)
    out = np.full(values.size, np.nan)
    q = values[present]
    n = q.size
    if n:
        if method == "holm":
            o = np.argsort(q, kind="stable")
            i = np.arange(1, n + 1, dtype=float)
            adjusted = np.minimum(1.0, np.maximum.accumulate((n - i + 1) * q[o]))
        elif method == "BH":
            o = np.argsort(-q, kind="stable")  # R: order(p, decreasing = TRUE)
            i = np.arange(n, 0, -1, dtype=float)
            adjusted = np.minimum(1.0, np.minimum.accumulate(n / i * q[o]))
        else:
            raise ValueError(f"unknown adjustment {method!r}; the adjustments are: {', '.join(ADJUSTMENTS)}")
        result = np.empty(n)
        result[o] = adjusted
        out[present] = result
    return [None if math.isnan(v) else float(v) for v in out]


def split_key(outcome: str, masks: Iterable[np.ndarray]) -> str:
    """A digest of a comparison's data: the ``outcome`` and the partition of the patients the
    test uses into its groups (``masks``: one boolean array per group, over the same rows; the
    rows of no group are not in the test). Two comparisons with the same key test the same
    patients in the same groups (whatever the groups are called and in whichever order they
    come) on the same outcome, so their tests are one test. The key holds no patient
    identifier: positions of rows, hashed."""
    groups = [np.flatnonzero(np.asarray(m, dtype=bool)) for m in masks]
    groups = sorted((g for g in groups if g.size), key=lambda g: int(g[0]))  # order-free
    digest = hashlib.blake2b(outcome.encode(), digest_size=16)
    for g in groups:
        digest.update(g.astype(np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


@dataclass(frozen=True)
class EValue:
    """E-value of a hazard ratio (``point``) and of its CI limit closest to 1 (``ci``)."""

    hr: float | None
    ci_low: float | None
    ci_high: float | None
    rare: bool | None  # outcome rare (HR taken as RR) or common (square-root conversion)
    point: float | None
    ci: float | None  # 1 when the CI contains 1
    reason: str | None = None


def hr_to_rr(hr: float) -> float:
    """VanderWeele's conversion of a hazard ratio to a risk ratio for a common outcome:
    ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` (EValue's ``HR_to_RR``)."""
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: ``RR + sqrt(RR (RR - 1))`` after inverting an RR below 1."""
    if rr < 1:
        rr = 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value_hr(hr: float | None, ci_low: float | None, ci_high: float | None, rare: bool) -> EValue:
    """E-values of a hazard ratio and of its CI limit closest to 1 (``evalues.HR(hr, lo, hi,
    rare)`` of R's EValue). A missing or non-positive HR gives None with a reason; a missing
    limit on the side of 1 gives a point E-value only."""
    if hr is None or not math.isfinite(hr) or hr <= 0:
        return EValue(hr, ci_low, ci_high, rare, None, None, "no hazard ratio")
    convert = (lambda v: v) if rare else hr_to_rr
    point = e_value_rr(convert(hr))
    limit = ci_low if hr > 1 else ci_high if hr < 1 else None
    if hr == 1:
        ci: float | None = 1.0
    elif limit is None or not math.isfinite(limit) or limit <= 0:
        ci = None
    elif (hr > 1 and limit <= 1) or (hr < 1 and limit >= 1):
        ci = 1.0
    else:
        ci = e_value_rr(convert(limit))
    reason = "the confidence limit is not estimable" if ci is None else None
    return EValue(hr, ci_low, ci_high, rare, point, ci, reason)


def rare_outcome(events: int, n: int) -> bool:
    """Whether an outcome counts as rare for :func:`e_value_hr` (under 15% of patients)."""
    return n > 0 and events / n < RARE_OUTCOME_SHARE
