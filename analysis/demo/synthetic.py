"""A synthetic 93-patient cohort calibrated to the publication (SYNTHETIC — not real patients).

The categorical structure is built deterministically: the patients are split into four
toxicity cells (concurrent CRS+ICANS ``C``, ICANS only ``I``, CRS only ``R``, neither
``N``) and every count of Table 1 is allocated to the cells exactly. Continuous values
are drawn inside *bands* whose pinned values and counts reproduce the printed medians
and ranges of every Table 1 column (where the publication is self-consistent; see
``data/README.md``). Dates, outcomes and kinetics are then sampled from a seeded
model: death and relapse times are proportional-hazards Weibull times whose log-hazards
use the published Table 2 coefficients, with accrual and censoring chosen for the
published median follow-up; the seed is chosen offline by
``benchmarks/calibrate_synthetic.py``.

For ``n_patients != 93`` the same templates are scaled proportionally, so the
generator stays vectorised (no per-patient Python loop) up to 10^6 patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.inputs.outfiles import spreadsheet_cell
from analysis.inputs.readers import MARKER_LINE

#: Seed chosen by benchmarks/calibrate_synthetic.py (see data/README.md).
DEFAULT_SEED = 142
N_PUBLISHED = 93
CUTOFF = pd.Timestamp("2023-03-01")
FIRST_INFUSION = pd.Timestamp("2016-05-01")
LAST_INFUSION = pd.Timestamp("2022-12-31")
CENTERS = ("Center A", "Center B", "Center C", "Center D")
CENTER_SHARES = (38, 25, 18, 12)

#: Toxicity cells and their sizes in the publication (76 CRS, 16 ICANS, 15 both).
CELLS = ("C", "I", "R", "N")
CELL_SIZES = {"C": 15, "I": 1, "R": 61, "N": 16}

#: Exact per-cell counts of Table 1 and of the text (see data/README.md for the derivation).
CELL_COUNTS = {
    "male": {"C": 8, "I": 0, "R": 33, "N": 6},
    "ph_positive": {"C": 3, "I": 0, "R": 10, "N": 5},
    "primary_refractory": {"C": 3, "I": 0, "R": 6, "N": 3},
    "steroids": {"C": 13, "I": 0, "R": 38, "N": 0},
    "tocilizumab": {"C": 12, "I": 0, "R": 33, "N": 0},
    "crs_severe": {"C": 7, "I": 0, "R": 12, "N": 0},
    "icans_severe": {"C": 8, "I": 0, "R": 0, "N": 0},
    "non_cr": {"C": 2, "I": 0, "R": 5, "N": 0},
    "mrd_negative_cr": {"C": 9, "I": 1, "R": 54, "N": 10},
    "kinetics": {"C": 4, "I": 0, "R": 15, "N": 5},
}
#: Severe-ICANS patients whose severity comes from a seizure at grade 2.
N_SEIZURE_GRADE2 = 2

#: Outcome model. Hazard ratios of Table 2 (blasts >= 20%, steroids, tocilizumab,
#: severity grade >= 3 and other grades vs none) used as the true log-hazard coefficients.
COX_HR = {"os": np.array([0.890, 0.547, 1.031, 2.021, 1.379]), "lfs": np.array([1.441, 0.698, 1.207, 0.785, 0.788])}
NON_CR_HR = 3.0  # patients not in CR at day 30 die sooner (not a Table 2 term)
WEIBULL_SHAPE = 0.8  # decreasing hazard: early events, then a plateau
OS_SCALE_MONTHS = 30.0  # Weibull scale of death / relapse times at the reference levels
RELAPSE_SCALE_MONTHS = 24.0
INFUSION_BETA = (1.05, 1.0)  # accrual over May 2016 - Dec 2022, slightly increasing
LOST_TO_FOLLOWUP = 0.05

#: Allogeneic HSCT after CAR-T. Drawn from a random stream of its own (``HSCT_STREAM``), after
#: every other column, so that adding it changed no other value of the bundled data: the
#: published counts, tests and the reproduction table are those of the cohort without it.
#: Consolidation: a share of the patients in CR is referred, and transplanted 1-4 months after
#: the CR date if still alive, in CR and in follow-up then; after relapse: a share of the
#: relapsed patients, 1-3 months after the relapse if alive and followed. The outcome model
#: does not use the transplant (its effect in the demo is nil, so a time-dependent analysis
#: should find none, while a comparison that ignores when it happened credits it with the time
#: its patients had to survive to reach it).
HSCT_STREAM = 0x45C7
HSCT_CONSOLIDATION_SHARE = 0.35
HSCT_DAYS_AFTER_CR = (30, 120)
HSCT_AFTER_RELAPSE_SHARE = 0.25
HSCT_DAYS_AFTER_RELAPSE = (30, 90)


@dataclass(frozen=True)
class Band:
    """``count`` values drawn in [lo, hi]; lo == hi pins a value (a printed median or bound)."""

    lo: float
    hi: float
    count: int


def _b(*rows) -> tuple[Band, ...]:
    return tuple(Band(*r) for r in rows)


def _hist(**counts) -> tuple[Band, ...]:
    """Integer histogram, e.g. _hist(v1=4, v2=6): value 1 four times, value 2 six times."""
    return tuple(Band(int(k[1:]), int(k[1:]), c) for k, c in counts.items())


@dataclass(frozen=True)
class Variable:
    bands: dict  # stratum -> tuple[Band, ...]
    decimals: int  # rounding of the drawn values
    log: bool = False  # draw log-uniformly inside a band
    scale: float = 1.0  # multiply after drawing (tocilizumab in 80 mg vials)


# Bands per cell. Pinned values sit at the order statistics that make each printed
# median of Table 1 come out exactly for the unions of cells forming each column:
# CRS yes = C+R, CRS no = N+I, ICANS yes = C+I, ICANS no = R+N, concurrent = C, others = R+N+I.
TABLE1_VARIABLES: dict[str, Variable] = {
    "age": Variable(
        {
            "C": _b((6, 6, 1), (7, 18, 6), (19, 19, 1), (21, 21, 1), (33, 67, 5), (68, 68, 1)),
            "I": _b((25, 25, 1)),
            "R": _b((2, 2, 1), (3, 27, 26), (28, 28, 1), (30, 30, 1), (32, 32, 1), (32, 69, 30), (70, 70, 1)),
            "N": _b((2, 2, 1), (3, 25, 6), (26, 26, 1), (27, 27, 1), (33, 65, 6), (66, 66, 1)),
        },
        decimals=0,
    ),
    "prior_lines": Variable(
        {
            "C": _hist(v1=2, v2=6, v3=4, v6=3),
            "I": _hist(v2=1),
            "R": _hist(v1=6, v2=10, v3=10, v4=9, v5=10, v6=7, v7=2, v9=4, v12=2, v13=1),
            "N": _hist(v0=3, v2=1, v4=4, v5=1, v6=3, v7=4),
        },
        decimals=0,
    ),
    # the primary-refractory patients of each cell (CELL_COUNTS) never reached remission, so
    # they have no relapse: the 0s (the ICANS minima of 0; data/README.md, row 15)
    "n_relapses": Variable(
        {
            "C": _hist(v0=3, v1=9, v2=3),
            "I": _hist(v1=1),
            "R": _hist(v0=6, v1=32, v2=16, v3=5, v4=2),
            "N": _hist(v0=3, v1=4, v2=3, v3=5, v4=1),
        },
        decimals=0,
    ),
    "il6_peak_pg_ml": Variable(
        {
            "C": _b((12, 12, 1), (13, 60, 5), (88, 88, 1), (100, 100, 1), (530, 4000, 6), (10952.9, 10952.9, 1)),
            "I": _b((7.6, 7.6, 1)),
            "R": _b(
                (3.1, 3.1, 1),
                (3.2, 253, 21),
                (254, 254, 1),
                (255, 255, 1),
                (256, 509, 5),
                (510, 510, 1),
                (524, 524, 1),
                (525, 27000, 29),
                (27231, 27231, 1),
            ),
            "N": _b((2.4, 2.4, 1), (2.5, 8.8, 6), (8.9, 8.9, 1), (9.0, 253, 7), (481, 481, 1)),
        },
        decimals=1,
        log=True,
    ),
    "ferritin_peak_ng_ml": Variable(
        {
            "C": _b((788, 788, 1), (789, 1999, 6), (9987, 9987, 1), (9988, 45322, 6), (45323, 45323, 1)),
            "I": (),  # missing: makes the ICANS-yes column equal to the concurrent one, as printed
            "R": _b(
                (153, 153, 1),
                (154, 1999, 28),
                (2000, 2000, 1),
                (2700, 2700, 1),
                (2862, 2862, 1),
                (2863, 76300, 28),
                (76301, 76301, 1),
            ),
            "N": _b(
                (106, 106, 1), (107, 1399, 6), (1400, 1400, 1), (1519, 1519, 1), (2900, 9000, 6), (67385, 67385, 1)
            ),
        },
        decimals=0,
        log=True,
    ),
    "bm_blasts_pct": Variable(
        {
            "C": _b((8, 8, 1), (20, 32.9, 5), (48, 48, 1), (62, 62, 1), (62.1, 79.9, 6), (80, 80, 1)),
            "I": _b((0, 0, 1)),
            "R": _b((0, 0, 1), (0.1, 25, 28), (33, 33, 4), (33.1, 91.9, 27), (92, 92, 1)),
            "N": _b((0.1, 5.1, 7), (5.15, 5.15, 1), (33.1, 94.9, 7), (95, 95, 1)),
        },
        decimals=2,
    ),
    "cart_dose_1e6_per_kg": Variable(
        {
            "C": _b((1.0, 1.0, 8), (1.2, 3.9, 6), (4.0, 4.0, 1)),
            "I": _b((0.9, 0.9, 1)),
            "R": _b((0.4, 0.4, 1), (0.5, 0.9, 14), (1.0, 1.0, 14), (1.2, 1.2, 2), (1.3, 4.2, 29), (4.3, 4.3, 1)),
            "N": _b((0.5, 0.5, 1), (0.6, 0.9, 5), (1.0, 1.0, 5), (1.1, 2.9, 4), (3.0, 3.0, 1)),
        },
        decimals=1,
    ),
}

# Text of the Results: onset by severity, cumulative doses among treated patients.
CRS_ONSET = Variable(
    {
        "severe": _b((1, 1, 1), (2, 4, 8), (5, 5, 1), (6, 12, 8), (13, 13, 1)),
        "mild": _b((1, 4, 28), (5, 5, 3), (6, 13, 25), (14, 14, 1)),
    },
    decimals=0,
)
ICANS_ONSET = Variable(
    {
        "severe": _hist(v5=1, v6=1, v7=3, v10=1, v12=1, v19=1),
        "mild": _hist(v4=1, v6=1, v8=2, v9=1, v11=1, v14=1, v16=1),
    },
    decimals=0,
)
DEX_CUM_MG = Variable(
    {"yes": _b((7.5, 7.5, 1), (8, 114, 24), (115, 115, 1), (116, 955, 24), (956, 956, 1))}, decimals=1, log=True
)
TOCI_CUM_MG = Variable({"yes": _b((1, 1, 1), (2, 5, 21), (6, 6, 1), (7, 15, 21), (16, 16, 1))}, decimals=0, scale=80.0)


# ---------------------------------------------------------------- allocation helpers


def _scaled(counts: np.ndarray, size: int) -> np.ndarray:
    """Template counts, or for another stratum size their largest-remainder rescaling."""
    total = int(counts.sum())
    if total == size or total == 0:
        return counts.astype(int) if total == size else np.zeros_like(counts, dtype=int)
    raw = counts * (size / total)
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: size - out.sum()]] += 1
    return out


def _cell_sizes(n: int) -> dict[str, int]:
    sizes = _scaled(np.array([CELL_SIZES[c] for c in CELLS]), n)
    return dict(zip(CELLS, sizes.tolist()))


def _flag_top(rng, strata: np.ndarray, counts: dict, template: dict, score=None) -> np.ndarray:
    """Exactly counts[s] (rescaled to the stratum size) True flags per stratum, given to the highest score."""
    score = rng.random(strata.size) if score is None else score + 1e-6 * rng.random(strata.size)
    flag = np.zeros(strata.size, dtype=bool)
    for s, k in counts.items():
        idx = np.flatnonzero(strata == s)
        k = int(_scaled(np.array([k, template[s] - k]), idx.size)[0]) if idx.size else 0
        flag[idx[np.argsort(-score[idx], kind="stable")[:k]]] = True
    return flag


def _draw(rng, strata: np.ndarray, var: Variable, order=None) -> np.ndarray:
    """Values of ``var`` per stratum, sorted onto the patients by ``order`` (random if None)."""
    out = np.full(strata.size, np.nan)
    order = rng.random(strata.size) if order is None else order + 1e-6 * rng.random(strata.size)
    for s, bands in var.bands.items():
        idx = np.flatnonzero(strata == s)
        if idx.size == 0 or not bands:
            continue
        counts = _scaled(np.array([b.count for b in bands]), idx.size)
        lo = np.repeat([b.lo for b in bands], counts)
        hi = np.repeat([b.hi for b in bands], counts)
        u = rng.random(lo.size)
        if var.log:
            v = np.exp(np.log(np.maximum(lo, 1e-9)) + u * (np.log(np.maximum(hi, 1e-9)) - np.log(np.maximum(lo, 1e-9))))
        elif var.decimals == 0:
            v = np.floor(lo + u * (hi - lo + 1))  # integers inclusive of both bounds
        else:
            v = lo + u * (hi - lo)
        v = np.clip(np.round(v, var.decimals), lo, hi) * var.scale
        out[idx[np.argsort(order[idx], kind="stable")]] = np.sort(v)
    return out


# ---------------------------------------------------------------- the generator


def synthesize(n_patients: int = N_PUBLISHED, seed: int = DEFAULT_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(cohort, kinetics)`` in the shape of the data dictionary (typed, not yet formatted)."""
    rng = np.random.default_rng(seed)
    sizes = _cell_sizes(n_patients)
    cell = np.repeat(np.array(CELLS), [sizes[c] for c in CELLS])
    n = cell.size
    crs_any, icans_any = np.isin(cell, ("C", "R")), np.isin(cell, ("C", "I"))

    # --- toxicity grades
    crs_severe = _flag_top(rng, cell, CELL_COUNTS["crs_severe"], CELL_SIZES)
    icans_severe = _flag_top(rng, cell, CELL_COUNTS["icans_severe"], CELL_SIZES)
    crs_grade = np.where(crs_severe, 3 + (rng.random(n) < 0.25), np.where(crs_any, 1 + (rng.random(n) < 0.5), 0))
    seizure_rank = np.where(icans_severe, rng.random(n), -1.0)
    n_seiz = int(
        _scaled(
            np.array([N_SEIZURE_GRADE2, CELL_COUNTS["icans_severe"]["C"] - N_SEIZURE_GRADE2]), int(icans_severe.sum())
        )[0]
    )
    seizure = np.zeros(n, dtype=bool)
    seizure[np.argsort(-seizure_rank, kind="stable")[:n_seiz]] = True
    icans_grade = np.select(
        [seizure, icans_severe, icans_any], [2, 3 + (rng.random(n) < 0.3), 1 + (rng.random(n) < 0.5)], 0
    )
    severe_any = crs_severe | icans_severe

    # --- treatment: steroids and tocilizumab go preferentially to the more severe patients
    steroids = _flag_top(rng, cell, CELL_COUNTS["steroids"], CELL_SIZES, score=1.5 * severe_any + rng.random(n))
    tocilizumab = _flag_top(rng, cell, CELL_COUNTS["tocilizumab"], CELL_SIZES, score=0.5 * crs_grade + rng.random(n))

    # --- baseline characteristics
    male = _flag_top(rng, cell, CELL_COUNTS["male"], CELL_SIZES)
    ph = _flag_top(rng, cell, CELL_COUNTS["ph_positive"], CELL_SIZES)
    refractory = _flag_top(rng, cell, CELL_COUNTS["primary_refractory"], CELL_SIZES)
    # the fewest relapses go to the primary-refractory patients (the same random numbers are drawn)
    values = {
        name: _draw(rng, cell, var, order=(~refractory).astype(float) if name == "n_relapses" else None)
        for name, var in TABLE1_VARIABLES.items()
        if name != "il6_peak_pg_ml"
    }
    # at another cohort size the rounded counts may differ: no relapse exactly when primary refractory
    values["n_relapses"] = np.where(refractory, 0, np.maximum(values["n_relapses"], 1))
    # IL-6 is higher with higher tumour burden (Discussion): sort IL-6 onto blasts within each cell.
    values["il6_peak_pg_ml"] = _draw(
        rng, cell, TABLE1_VARIABLES["il6_peak_pg_ml"], order=values["bm_blasts_pct"] / 100 + 0.8 * rng.random(n)
    )

    crs_onset = _draw(rng, np.where(crs_severe, "severe", np.where(crs_any, "mild", "")), CRS_ONSET)
    icans_onset = _draw(rng, np.where(icans_severe, "severe", np.where(icans_any, "mild", "")), ICANS_ONSET)
    dex = _draw(rng, np.where(steroids, "yes", ""), DEX_CUM_MG, order=severe_any + rng.random(n))
    toci_mg = _draw(rng, np.where(tocilizumab, "yes", ""), TOCI_CUM_MG, order=crs_grade + rng.random(n))

    # --- response at day 30
    non_cr = _flag_top(
        rng, cell, CELL_COUNTS["non_cr"], CELL_SIZES, score=values["bm_blasts_pct"] / 100 + rng.random(n)
    )
    cr = ~non_cr
    mrd_neg = _flag_top(
        rng,
        np.where(cr, cell, ""),
        CELL_COUNTS["mrd_negative_cr"],
        {c: CELL_SIZES[c] - CELL_COUNTS["non_cr"][c] for c in CELLS},
    )

    # --- dates and outcomes
    span = (LAST_INFUSION - FIRST_INFUSION).days
    inf_day = np.floor(span * rng.beta(*INFUSION_BETA, n)).astype(int)
    if n >= 2:  # the enrolment window is May 2016 - December 2022, both ends reached
        inf_day[np.argmin(inf_day)] = rng.integers(0, 31)
        inf_day[np.argmax(inf_day)] = span - rng.integers(0, 31)
    infusion = FIRST_INFUSION + pd.to_timedelta(inf_day, unit="D")
    admin = (CUTOFF - infusion).days.to_numpy() - rng.integers(0, 45, n)
    lost = rng.random(n) < LOST_TO_FOLLOWUP
    censor_day = np.where(lost, np.floor(admin * rng.uniform(0.2, 1.0, n)), admin).astype(int)
    censor_day = np.maximum(censor_day, 35)

    # Proportional-hazards Weibull times whose log-hazards use the published Table 2
    # coefficients (OS in all patients, relapse in the patients in CR), so that the
    # Cox model of the synthetic cohort estimates them up to sampling noise.
    covariates = np.column_stack(
        [values["bm_blasts_pct"] >= 20, steroids, tocilizumab, severe_any, (crs_any | icans_any) & ~severe_any]
    ).astype(float)
    cr_day = 28 + rng.integers(0, 6, n)
    lp_os = covariates @ np.log(COX_HR["os"]) + np.log(NON_CR_HR) * non_cr
    lp_lfs = covariates @ np.log(COX_HR["lfs"])

    def _weibull_days(scale_months, lp):
        t = scale_months * (rng.exponential(1.0, n) * np.exp(-lp)) ** (1.0 / WEIBULL_SHAPE)
        return np.ceil(np.minimum(t, 600.0) * 30.4375).astype(np.int64) + 1

    death_day = 20 + _weibull_days(OS_SCALE_MONTHS, lp_os)
    death_day = np.where(cr, np.maximum(death_day, cr_day + 1), death_day)  # in CR means alive at CR
    relapse_day = np.where(cr, cr_day + _weibull_days(RELAPSE_SCALE_MONTHS, lp_lfs), np.iinfo(np.int32).max)
    censor_day = np.where(cr, np.maximum(censor_day, cr_day), censor_day)
    died = death_day <= censor_day
    relapsed = cr & (relapse_day < np.minimum(death_day, censor_day + 1))
    last_day = np.where(died, death_day, censor_day)

    def _date(days, mask):
        return (infusion + pd.to_timedelta(np.where(mask, days, 0), unit="D")).where(mask)

    hsct_day, transplanted = _transplants(
        np.random.default_rng((seed, HSCT_STREAM)), cr, cr_day, relapsed, relapse_day, last_day
    )

    cohort = pd.DataFrame(
        {
            "patient_id": [f"SYN-{i:0{max(3, len(str(n)))}d}" for i in range(1, n + 1)],
            "center": np.array(CENTERS)[
                np.searchsorted(np.cumsum(CENTER_SHARES) / sum(CENTER_SHARES), rng.random(n), side="right")
            ],
            "infusion_date": infusion,
            "age": values["age"].astype(int),
            "sex": np.where(male, "M", "F"),
            "ph_positive": ph,
            "disease_status": np.where(refractory, "primary_refractory", "relapsed"),
            "n_relapses": values["n_relapses"].astype(int),
            "prior_lines": values["prior_lines"].astype(int),
            "bm_blasts_pct": values["bm_blasts_pct"],
            "cart_dose_1e6_per_kg": values["cart_dose_1e6_per_kg"],
            "il6_peak_pg_ml": values["il6_peak_pg_ml"],
            "ferritin_peak_ng_ml": values["ferritin_peak_ng_ml"],
            "crs_grade": crs_grade.astype(int),
            "crs_onset_day": pd.array(np.where(crs_any, crs_onset, np.nan), dtype="Int64"),
            "icans_grade": icans_grade.astype(int),
            "icans_onset_day": pd.array(np.where(icans_any, icans_onset, np.nan), dtype="Int64"),
            "seizure": seizure,
            "steroids": steroids,
            "dex_equiv_cum_mg": dex,
            "tocilizumab": tocilizumab,
            "tocilizumab_cum_mg": toci_mg,
            "cr_day30": cr,
            "mrd_negative": pd.array(np.where(cr, mrd_neg, None), dtype="boolean"),  # type: ignore[call-overload]  # None: object scalar
            "cr_date": _date(cr_day, cr),
            "relapse_date": _date(relapse_day, relapsed),
            "death_date": _date(death_day, died),
            "last_followup_date": _date(last_day, np.ones(n, dtype=bool)),
            "hsct_date": _date(hsct_day, transplanted),
        }
    )
    # Row order is shuffled so that the cell structure is not visible from the IDs.
    ids = cohort["patient_id"].to_numpy()
    cohort = cohort.iloc[rng.permutation(n)].reset_index(drop=True)
    cohort["patient_id"] = ids
    return cohort, _kinetics(rng, cohort)


def _transplants(rng, cr, cr_day, relapsed, relapse_day, last_day) -> tuple[np.ndarray, np.ndarray]:
    """Day of an allogeneic HSCT after CAR-T (see ``HSCT_CONSOLIDATION_SHARE``) and who had one:
    consolidation in CR before any relapse, or after a relapse; always before the end of
    follow-up (death or censoring)."""
    n = cr.size
    referred = rng.random(n) < HSCT_CONSOLIDATION_SHARE
    consolidation_day = cr_day + rng.integers(HSCT_DAYS_AFTER_CR[0], HSCT_DAYS_AFTER_CR[1] + 1, n)
    after_relapse = rng.random(n) < HSCT_AFTER_RELAPSE_SHARE
    salvage_day = np.where(relapsed, relapse_day, 0) + rng.integers(
        HSCT_DAYS_AFTER_RELAPSE[0], HSCT_DAYS_AFTER_RELAPSE[1] + 1, n
    )
    in_cr_then = cr & referred & (consolidation_day < np.where(relapsed, relapse_day, np.iinfo(np.int64).max))
    consolidation = in_cr_then & (consolidation_day < last_day)
    salvage = relapsed & ~consolidation & after_relapse & (salvage_day < last_day)
    day = np.where(consolidation, consolidation_day, np.where(salvage, salvage_day, 0))
    return day, consolidation | salvage


def _kinetics(rng, cohort: pd.DataFrame) -> pd.DataFrame:
    """CAR copies per µg DNA for the sampled patients: a log-normal-shaped expansion."""
    crs = cohort["crs_grade"].to_numpy() > 0
    icans = cohort["icans_grade"].to_numpy() > 0
    cell = np.select([crs & icans, icans, crs], ["C", "I", "R"], "N")
    followup = (cohort["last_followup_date"] - cohort["infusion_date"]).dt.days.to_numpy()
    sampled = _flag_top(rng, cell, CELL_COUNTS["kinetics"], CELL_SIZES, score=(followup >= 28) + rng.random(cell.size))
    ids = cohort["patient_id"].to_numpy()[sampled]
    k = ids.size
    days = np.array([0, 4, 7, 10, 14, 21, 28, 60, 90, 180])
    peak = np.clip(rng.normal(3.7 + 0.3 * crs[sampled], 0.6, k), 2.0, 5.2)
    tmax = rng.choice([7, 10, 14], k)
    width = rng.uniform(1.2, 2.2, k)
    log_c = peak[:, None] - width[:, None] * np.log((days[None, :] + 1) / (tmax[:, None] + 1)) ** 2
    log_c = log_c + rng.normal(0, 0.12, log_c.shape)
    copies = np.where(days[None, :] == 0, 0.0, np.round(10**log_c))
    keep = (days[None, :] <= followup[sampled][:, None]) & ((rng.random(log_c.shape) > 0.15) | (days[None, :] <= 14))
    pid, col = np.nonzero(keep)
    return pd.DataFrame({"patient_id": ids[pid], "day": days[col], "car_copies_per_ug": copies[pid, col]})


# ---------------------------------------------------------------- writing


def _fmt_number(s: pd.Series, decimals: int) -> pd.Series:
    out = s.map(
        lambda v: "" if pd.isna(v) else (f"{v:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{int(v)}")
    )
    return out


def format_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    """String-formatted copy: dates YYYY-MM-DD, booleans yes/no, empty cells for missing."""
    out = cohort.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[col] = s.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
        elif pd.api.types.is_integer_dtype(s):
            out[col] = _fmt_number(s, 0)
        elif pd.api.types.is_float_dtype(s):
            out[col] = _fmt_number(s, 2)
    return out


def marker_line(seed: int) -> str:
    return MARKER_LINE.format(seed=int(seed))


def _header(seed: int) -> str:
    return marker_line(seed) + "\n"


def write_synthetic(
    out_dir: str | Path = "data", n_patients: int = N_PUBLISHED, seed: int = DEFAULT_SEED
) -> tuple[Path, Path]:
    """Write ``cohort.csv`` and ``kinetics.csv`` (byte-identical for the same arguments)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cohort, kinetics = synthesize(n_patients, seed)
    paths = out_dir / "cohort.csv", out_dir / "kinetics.csv"
    for path, frame in zip(paths, (format_cohort(cohort), format_cohort(kinetics))):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(_header(seed))
            # (spreadsheet-safe like every CSV the project writes; a synthetic cell never needs it)
            safe = frame.map(lambda v: spreadsheet_cell(v) if isinstance(v, str) else v)
            safe.to_csv(fh, index=False, lineterminator="\n")
    return paths
