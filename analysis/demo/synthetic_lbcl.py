"""The synthetic LBCL demo (SYNTHETIC — not real patients), calibrated to ZUMA-1.

Neelapu SS, Locke FL, Bartlett NL, et al. Axicabtagene ciloleucel CAR T-cell therapy in
refractory large B-cell lymphoma. N Engl J Med 2017;377:2531-44. The figures reproduced
(:data:`TARGETS`) are those of its abstract and are listed in ``data/README.md``; the rest
(day-30/day-90 responses, dates, baseline details) is modeled, not published per patient.
``python -m analysis synthesize --disease lbcl`` writes ``data/lbcl/cohort.csv``.
"""

from __future__ import annotations

import numpy as np

from analysis.demo.synthetic_disease import Calibration
from analysis.registry.diseases import disease

#: The published figures the demo reproduces (n = 101 patients who received axi-cel).
TARGETS = {
    "n": 101,
    "orr_pct": 82,  # objective response (CR or PR), best response
    "cr_pct": 54,  # complete response
    "crs_any_pct": 93,
    "crs_ge3_pct": 13,
    "neuro_any_pct": 64,  # neurologic events (stored as ICANS grades here)
    "neuro_ge3_pct": 28,
    "ongoing_response_pct": 42,  # at a median follow-up of 15.4 months
    "os_18_months_pct": 52,
}


def _baseline(rng, n):
    return {
        "ecog": (rng.uniform(size=n) < 0.58).astype(int),  # ECOG 0 or 1 (trial eligibility)
        "ann_arbor_stage": np.where(rng.uniform(size=n) < 0.85, rng.integers(3, 5, n), rng.integers(1, 3, n)),
        "ldh_elevated": rng.uniform(size=n) < 0.62,
        "bulky_disease": rng.uniform(size=n) < 0.18,
        "ipi": np.clip(np.round(rng.normal(2.5, 1.0, n)), 0, 5).astype(int),
        "bridging": np.zeros(n, dtype=bool),  # ZUMA-1 did not allow bridging therapy
    }


def _assessments(rng, out, best, progression_day, last_day, progressed):
    """Day-30 and day-90 Lugano responses consistent with the best response: a best CR is
    a PR at day 30 in a third of patients (conversion), a response lost by day 90 is PD
    there; a patient followed for fewer than 90 days without progression has no day-90 assessment."""
    n = best.size
    day30 = best.copy()
    converts = (best == "CR") & (rng.uniform(size=n) < 0.35)
    day30[converts] = "PR"
    by90 = progressed & (progression_day <= 90)
    day90 = np.where(by90, "PD", best).astype(object)
    day90[(~by90) & (last_day < 90)] = None
    day30[(best != "PD") & progressed & (progression_day <= 30)] = "PD"
    out["response_day30"] = day30
    out["response_day90"] = day90


CALIBRATION = Calibration(
    disease="lbcl",
    n=101,
    seed=7,
    first_infusion="2015-11-16",
    last_infusion="2016-09-30",
    cutoff=disease("lbcl").demo.cutoff,  # type: ignore[union-attr]
    crs_grades={0: 7, 1: 37, 2: 44, 3: 9, 4: 4},  # any 94 (93%), >=3: 13 (13%)
    icans_grades={0: 36, 1: 19, 2: 18, 3: 24, 4: 4},  # any 65 (64%), >=3: 28 (28%)
    best_response={"CR": 55, "PR": 28, "SD": 11, "PD": 7},  # ORR 83 (82%), CR 55 (54%)
    tocilizumab=43,
    steroids=27,
    association=0.35,
    progression_median={"CR": 32.0, "PR": 3.2, "SD": 2.0, "PD": 0.8},
    shape=0.8,
    death_after_progression_median=5.0,
    nrm=3,
    age=(58, 23, 76),
    extra={
        "male": 0.67,
        "baseline": _baseline,
        "prior_lines": lambda rng, n: np.clip(rng.poisson(2.2, n) + 1, 1, 7),
        "dose": lambda rng, n: np.round(rng.normal(2.0, 0.1, n).clip(1.6, 2.4), 2),
        "assessments": _assessments,
    },
)
