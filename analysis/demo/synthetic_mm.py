"""The synthetic MM demo (SYNTHETIC — not real patients), calibrated to KarMMa.

Munshi NC, Anderson LD Jr, Shah N, et al. Idecabtagene vicleucel in relapsed and
refractory multiple myeloma. N Engl J Med 2021;384:705-16. The figures reproduced
(:data:`TARGETS`) are those of its abstract and are listed in ``data/README.md``; the
split of the responses below CR and above PR, MRD-positive versus not assessed, the
treatment of toxicity, the dates and the baseline details are modeled.
``python -m analysis synthesize --disease mm`` writes ``data/mm/cohort.csv``.
"""

from __future__ import annotations

import numpy as np

from analysis.demo.synthetic_disease import Calibration
from analysis.registry.diseases import disease

#: The published figures the demo reproduces (n = 128 patients who received ide-cel).
TARGETS = {
    "n": 128,
    "orr": 94,  # partial response or better (73%)
    "cr_or_better": 42,  # (33%)
    "mrd_negative": 33,  # MRD-negative (10^-5), 26% of 128 and 79% of the 42 with >=CR
    "crs_any": 107,  # (84%)
    "crs_ge3": 7,  # (5%)
    "neurotoxic_any": 23,  # (18%)
    "neurotoxic_ge3": 4,  # grade 3 (3%), none higher
    "median_pfs_months": 8.8,
}


def _baseline(rng, n):
    return {
        "r_iss": np.where(rng.uniform(size=n) < 0.16, 3, rng.integers(1, 3, n)),
        "high_risk_cytogenetics": rng.uniform(size=n) < 0.35,
        "extramedullary": rng.uniform(size=n) < 0.39,
        "triple_class_refractory": rng.uniform(size=n) < 0.84,
        "parkinsonism": np.zeros(n, dtype=bool),
        "cranial_nerve_palsy": rng.uniform(size=n) < 0.01,
    }


def _mrd(rng, best, latent):
    """33 MRD-negative among the 42 with CR or better (the deepest latent scores), 5
    MRD-positive, 4 not assessed; no result below CR (the IMWG rule)."""
    out = np.full(best.size, None, dtype=object)
    idx = np.flatnonzero(np.isin(best, ["sCR", "CR"]))
    idx = idx[np.argsort(-latent[idx] + rng.normal(0, 0.5, idx.size))]
    out[idx[:33]] = "yes"
    out[idx[33:38]] = "no"
    out[idx[38:]] = "not done"
    return out


CALIBRATION = Calibration(
    disease="mm",
    n=128,
    seed=11,
    first_infusion="2019-02-01",
    last_infusion="2020-01-31",
    cutoff=disease("mm").demo.cutoff,  # type: ignore[union-attr]
    crs_grades={0: 21, 1: 78, 2: 22, 3: 6, 4: 1},  # any 107 (84%), >=3: 7 (5%)
    icans_grades={0: 105, 1: 12, 2: 7, 3: 4},  # any 23 (18%), grade 3: 4 (3%)
    best_response={"sCR": 12, "CR": 30, "VGPR": 25, "PR": 27, "MR": 6, "SD": 20, "PD": 8},
    tocilizumab=67,
    steroids=19,
    association=0.3,
    progression_median={"sCR": 26.0, "CR": 24.0, "VGPR": 14.0, "PR": 6.5, "MR": 3.0, "SD": 2.5, "PD": 0.8},
    shape=1.1,
    death_after_progression_median=12.0,
    nrm=4,
    age=(61, 33, 78),
    extra={
        "male": 0.59,
        "baseline": _baseline,
        "prior_lines": lambda rng, n: np.clip(np.round(rng.normal(6, 1.8, n)), 3, 16).astype(int),
        "dose": lambda rng, n: np.round(rng.choice([1.9, 3.8, 5.7], n, p=[0.1, 0.55, 0.35]), 2),
        "mrd": _mrd,
    },
)
