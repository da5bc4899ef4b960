"""Synthetic LBCL and MM cohorts (SYNTHETIC — not real patients), shared machinery.

A :class:`Calibration` (``synthetic_lbcl``, ``synthetic_mm``) gives the published counts
the cohort reproduces exactly (toxicity grades, response levels, treatment of toxicity,
MRD) and a few model parameters for what a publication does not tabulate per patient
(times to progression and death, day-30/day-90 responses). Counts are allocated
deterministically by ranking one latent "expansion" score per patient (higher: more
CRS/ICANS and a better response, the association the report looks for, of moderate
size); times are drawn from a seeded model. ``data/README.md`` lists the figures used
and how close the drawn outcomes come to the published ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.demo.synthetic import format_cohort, marker_line
from analysis.inputs.outfiles import spreadsheet_cell
from analysis.registry.diseases import disease

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Calibration:
    disease: str
    n: int
    seed: int
    first_infusion: str
    last_infusion: str
    cutoff: str
    #: exact counts per level, best/most severe order as in the lists below
    crs_grades: dict[int, int]  # grade -> patients (0 = no CRS)
    icans_grades: dict[int, int]
    best_response: dict[str, int]  # scale key -> patients
    tocilizumab: int
    steroids: int
    #: weight of the latent expansion score in toxicity and response (0: independent)
    association: float
    #: median months to progression by best response level (Weibull shape below)
    progression_median: dict[str, float]
    shape: float
    #: monthly hazard of death after progression, and of early non-relapse death
    death_after_progression_median: float
    nrm: int  # deaths without progression (toxicity, infection)
    age: tuple[float, float, float]  # median, min, max
    extra: dict = field(default_factory=dict)


def _allocate(score: np.ndarray, counts: dict, order: list) -> np.ndarray:
    """Give the patients with the highest score the first value of ``order``, and so on, by counts."""
    out = np.empty(score.size, dtype=object)
    ranked = np.argsort(-score, kind="stable")
    start = 0
    for value in order:
        k = counts[value]
        out[ranked[start : start + k]] = value
        start += k
    if start != score.size:
        raise ValueError(f"counts add up to {start}, not {score.size}")
    return out


def _pick(rng, mask: np.ndarray, k: int, weight: np.ndarray | None = None) -> np.ndarray:
    """k patients of ``mask`` (with probability proportional to ``weight``)."""
    idx = np.flatnonzero(mask)
    p = None if weight is None else weight[idx] / weight[idx].sum()
    chosen = rng.choice(idx, size=k, replace=False, p=p)
    out = np.zeros(mask.size, dtype=bool)
    out[chosen] = True
    return out


def _ages(rng, n: int, median: float, low: float, high: float) -> np.ndarray:
    ages = np.sort(np.clip(np.round(rng.normal(median, (high - low) / 5, n)), low, high))
    ages[: n // 2] = np.minimum(ages[: n // 2], median)  # the published median, min and max exactly
    ages[n // 2 :] = np.maximum(ages[n // 2 :], median)
    ages[n // 2], ages[0], ages[-1] = median, low, high
    return rng.permutation(ages).astype(int)


def synthesize(cal: Calibration) -> pd.DataFrame:
    """The cohort of a calibration, in contract columns (``disease(cal.disease).fields``)."""
    profile = disease(cal.disease)
    scale = profile.scale
    assert scale is not None
    rng = np.random.default_rng(cal.seed)
    n = cal.n
    latent = rng.normal(size=n)

    def score() -> np.ndarray:
        return cal.association * latent + np.sqrt(1 - cal.association**2) * rng.normal(size=n)

    crs = _allocate(score(), cal.crs_grades, sorted(cal.crs_grades, reverse=True)).astype(int)
    icans = _allocate(score() + 0.8 * (crs >= 2), cal.icans_grades, sorted(cal.icans_grades, reverse=True))
    icans = icans.astype(int)
    best = _allocate(score(), cal.best_response, list(scale.keys))
    toxic = (crs + icans) > 0
    severity = crs + 2 * icans + rng.uniform(0, 0.5, n)
    tocilizumab = _pick(rng, crs > 0, cal.tocilizumab, np.exp(severity))
    steroids = _pick(rng, toxic, cal.steroids, np.exp(severity + 2 * (icans > 0)))

    start, end = pd.Timestamp(cal.first_infusion), pd.Timestamp(cal.last_infusion)
    infusion = start + pd.to_timedelta(np.sort(rng.integers(0, (end - start).days + 1, n)), unit="D")
    cutoff = pd.Timestamp(cal.cutoff)
    potential = np.asarray((cutoff - pd.DatetimeIndex(infusion)).days)
    # a few patients lost earlier (withdrawal), the others followed to the cut-off
    followup = np.where(rng.uniform(size=n) < 0.05, (potential * rng.uniform(0.3, 0.9, n)).astype(int), potential)

    responders = set(profile.responder("orr").levels)
    is_responder = np.isin(best, list(responders))
    response_day = np.where(
        is_responder, np.where(np.isin(best, ["CR", "sCR"]), rng.integers(28, 92, n), rng.integers(26, 35, n)), 0
    )
    # time to progression (days): Weibull with the level's median; PD as best: by day 30
    medians = np.array([cal.progression_median[b] for b in best]) * DAYS_PER_MONTH
    scale_days = medians / np.log(2) ** (1 / cal.shape)
    progression_day = np.ceil(scale_days * rng.weibull(cal.shape, n)).astype(int)
    progression_day = np.where(best == "PD", rng.integers(14, 29, n), np.maximum(progression_day, 35))
    progression_day = np.where(is_responder, np.maximum(progression_day, response_day + 14), progression_day)
    death_after = (
        np.ceil(cal.death_after_progression_median * DAYS_PER_MONTH / np.log(2) * rng.exponential(size=n)).astype(int)
        + 7
    )
    death_day = progression_day + death_after
    # non-relapse deaths: early, among the most toxic patients without a durable response
    nrm = _pick(rng, ~np.isin(best, ["PD"]), cal.nrm, np.exp(severity))
    nrm_day = rng.integers(20, 300, n)
    progression_day = np.where(nrm, 10**6, progression_day)
    death_day = np.where(nrm, np.maximum(nrm_day, response_day + 1), death_day)

    died = death_day <= followup
    last_day = np.where(died, death_day, followup)
    progressed = (progression_day <= last_day) & ~nrm
    if (np.isin(best, ["PD"]) & ~progressed).any():  # PD as best response is a progression
        pd_mask = np.isin(best, ["PD"])
        last_day = np.where(pd_mask & ~progressed, np.maximum(last_day, progression_day), last_day)
        progressed |= pd_mask
    day = pd.to_timedelta

    def date(days, mask):
        return pd.Series(infusion + day(np.where(mask, days, 0), unit="D")).where(mask)

    crs_onset = np.where(crs > 0, np.clip(np.round(rng.gamma(2.0, 1.2, n)) + 1, 1, 12), np.nan)
    icans_onset = np.where(icans > 0, np.clip(np.nan_to_num(crs_onset, nan=3) + rng.integers(1, 5, n), 1, 30), np.nan)
    ids = [f"{profile.abbreviation}-{i + 1:03d}" for i in range(n)]
    centers = np.array(["Center A", "Center B", "Center C", "Center D", "Center E"])[
        np.minimum((rng.uniform(size=n) ** 1.3 * 5).astype(int), 4)
    ]
    out = pd.DataFrame(
        {
            "patient_id": ids,
            "center": centers,
            "infusion_date": infusion,
            "age": _ages(rng, n, *cal.age),
            "sex": np.where(rng.uniform(size=n) < cal.extra.get("male", 0.65), "M", "F"),
        }
    )
    for column, values in cal.extra.get("baseline", lambda rng, n: {})(rng, n).items():
        out[column] = values
    out["prior_lines"] = cal.extra["prior_lines"](rng, n)
    out["cart_dose_1e6_per_kg"] = cal.extra["dose"](rng, n)
    out["crs_grade"] = crs
    out["crs_onset_day"] = pd.Series(crs_onset).astype("Int64")
    out["icans_grade"] = icans
    out["icans_onset_day"] = pd.Series(icans_onset).astype("Int64")
    out["seizure"] = (icans >= 3) & (rng.uniform(size=n) < 0.15)
    out["steroids"] = steroids
    out["tocilizumab"] = tocilizumab
    cal.extra.get("assessments", lambda *a: None)(rng, out, best, progression_day, last_day, progressed)
    out["best_response"] = best
    if "mrd" in cal.extra:
        out["mrd_negative"] = cal.extra["mrd"](rng, best, latent)
    out["response_date"] = date(response_day, is_responder)
    out["progression_date"] = date(progression_day, progressed)
    out["death_date"] = date(last_day, died)
    out["last_followup_date"] = date(last_day, np.ones(n, dtype=bool))
    # ensure a response is dated before the end of follow-up (early death of a responder)
    late = out["response_date"] > out["last_followup_date"]
    out.loc[late, "response_date"] = out.loc[late, "last_followup_date"] - pd.Timedelta(days=1)
    columns = [f.name for f in profile.fields if f.name in out]
    return out[columns]


def write(cal: Calibration, path: str | Path) -> Path:
    """Write the cohort CSV with the synthetic marker line (byte-identical for a calibration)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = format_cohort(synthesize(cal))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(marker_line(cal.seed) + "\n")
        frame.map(lambda v: spreadsheet_cell(v) if isinstance(v, str) else v).to_csv(
            fh, index=False, lineterminator="\n"
        )
    return path
