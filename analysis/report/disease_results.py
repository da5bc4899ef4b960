"""Every number of an LBCL or MM report (a disease profile other than B-ALL), computed once.

:func:`compute_disease_results` is the counterpart of
:func:`analysis.report.results.compute_results` for the profiles of
:data:`analysis.registry.diseases.DISEASES` with an ordered response scale; the
document ``report-disease.qmd`` (prose in ``sections/disease/``) and the JSON export
(:func:`disease_results_to_dict`, keys in ``docs/results.md``) read it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, is_dataclass
from datetime import date

import numpy as np
import pandas as pd

from analysis.estimators.competing import PROGRESSION_CAUSES, CompetingRisks, compare_competing
from analysis.estimators.effects import UnivariableCox, univariable_cox
from analysis.estimators.ordinal import ResponderRates, ResponseDistribution, responder_rates, response_distribution
from analysis.estimators.quality import DataQuality, data_quality
from analysis.estimators.survival import FollowUp, SurvivalComparison, compare_survival, median_followup
from analysis.registry.disease_groups import prepare_disease_cohort
from analysis.registry.diseases import Profile, disease
from analysis.registry.groups import GROUPINGS

#: The toxicity groupings of a disease report: any CRS, any ICANS (two levels), CRS and
#: ICANS grade bands and the CRS/ICANS severity groups (three ordered levels).
DISEASE_GROUPINGS = ("crs", "icans", "crs_grade", "icans_grade", "severity")
#: The two-level groupings (hazard ratios, differences in rates).
TWO_LEVEL = tuple(g for g in DISEASE_GROUPINGS if len(GROUPINGS[g].levels) == 2)


@dataclass(frozen=True)
class Table1Row:
    column: str
    label: str
    kind: str  # "continuous" or "count"
    n: int  # patients with a value
    median: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None  # "count": patients with the characteristic


@dataclass(frozen=True)
class DiseaseResults:
    disease: str
    cutoff: date
    is_synthetic: bool
    counts: dict[str, int]
    followup: FollowUp
    table1: tuple[Table1Row, ...]
    distributions: dict[tuple[str, str], ResponseDistribution]  # (assessment, grouping or "all")
    rates: dict[tuple[str, str, str], ResponderRates]  # (responder, assessment, grouping or "all")
    survival: dict[tuple[str, str], SurvivalComparison]  # (endpoint, grouping or "all")
    hazard_ratios: dict[tuple[str, str], UnivariableCox]  # (endpoint, two-level grouping)
    competing: dict[str, CompetingRisks]  # grouping or "all"
    not_collected: tuple[str, ...] = ()
    data_quality: DataQuality | None = None

    @property
    def profile(self) -> Profile:
        return disease(self.disease)


def _table1(df: pd.DataFrame, profile: Profile, not_collected: tuple[str, ...]) -> tuple[Table1Row, ...]:
    rows = []
    for column, label, kind in profile.table1:
        if column in not_collected or column not in df:
            continue
        values = df[column]
        known = values.dropna()
        if kind == "continuous":
            v = known.astype(float)
            rows.append(
                Table1Row(
                    column,
                    label,
                    "continuous",
                    int(v.size),
                    *((float(v.median()), float(v.min()), float(v.max())) if v.size else (None, None, None)),
                )
            )
            continue
        if kind == "stage34":
            flag = known.astype(int) >= 3
        elif kind == "riss3":
            flag = known.astype(int) == 3
        else:
            flag = known.astype(bool)
        rows.append(Table1Row(column, label, "count", int(known.size), count=int(flag.sum())))
    return tuple(rows)


def _counts(df: pd.DataFrame, profile: Profile) -> dict[str, int]:
    assert profile.scale is not None
    counts = {
        "n_patients": int(len(df)),
        "n_centers": int(df["center"].nunique()),
        "n_crs": int(df["crs_any"].sum()),
        "n_crs_severe": int(df["crs_severe"].sum()),
        "n_icans": int(df["icans_any"].sum()),
        "n_icans_severe": int(df["icans_severe"].sum()),
        "n_tocilizumab": int(df["tocilizumab"].sum()),
        "n_steroids": int(df["steroids"].sum()),
        "n_deaths": int(df["os_event"].sum()),
        "n_progressions": int(df["progression_status"].eq(1).sum()),
        "n_nrm": int(df["progression_status"].eq(2).sum()),
        "n_responders": int(df["dor_months"].notna().sum()),
        "first_infusion_year": int(df["infusion_date"].dt.year.min()),
        "last_infusion_year": int(df["infusion_date"].dt.year.max()),
    }
    for column in ("parkinsonism", "cranial_nerve_palsy"):
        if column in df:
            counts[f"n_{column}"] = int(df[column].fillna(False).astype(bool).sum())
    if "mrd_negative" in df:
        in_cr = df["best_response"].isin(["sCR", "CR"])
        done = df["mrd_negative"].notna()
        counts["n_mrd_assessed"] = int((in_cr & done).sum())
        counts["n_mrd_negative"] = int((in_cr & df["mrd_negative"].fillna(False).astype(bool)).sum())
    return counts


def compute_disease_results(study) -> DiseaseResults:
    """Every statistic of the disease report for a loaded study (``study.disease`` not B-ALL)."""
    profile = disease(study.disease)
    df = prepare_disease_cohort(study.cohort, profile)
    not_collected = tuple(getattr(study, "not_collected", ()))
    groupings: tuple[str | None, ...] = (None, *DISEASE_GROUPINGS)

    def key(g: str | None) -> str:
        return "all" if g is None else g

    assessments = [a for a in profile.assessments if a.column not in not_collected]
    distributions = {
        (a.key, key(g)): response_distribution(df, profile, a.key, g) for a in assessments for g in groupings
    }
    rates = {}
    for r in profile.responders:
        if r.mrd_column is not None and r.mrd_column in not_collected:
            continue
        for a in assessments:
            for g in groupings:
                rates[(r.key, a.key, key(g))] = responder_rates(df, r.key, a.key, g)
    survival = {(e.key, key(g)): compare_survival(df, e.key, g) for e in profile.endpoints for g in groupings}
    hazard_ratios = {(e.key, g): univariable_cox(df, e.key, g) for e in profile.endpoints for g in TWO_LEVEL}
    frame = pd.DataFrame(
        {"months": df["pfs_months"].astype(float).to_numpy(), "status": df["progression_status"].to_numpy()},
        index=df.index,
    )
    competing = {
        key(g): compare_competing(df, g, data=frame, causes=PROGRESSION_CAUSES, population="All patients")
        for g in groupings
    }
    return DiseaseResults(
        disease=profile.key,
        cutoff=pd.Timestamp(study.cutoff).date(),
        is_synthetic=bool(study.is_synthetic),
        counts=_counts(df, profile),
        followup=median_followup(df),
        table1=_table1(df, profile, not_collected),
        distributions=distributions,
        rates=rates,
        survival=survival,
        hazard_ratios=hazard_ratios,
        competing=competing,
        not_collected=not_collected,
        data_quality=data_quality(
            study.cohort,
            study.cutoff,
            tuple(set(not_collected) | _B_ALL_ONLY),
            tuple((o.rows, o.patients) for o in study.other_sheets if o.same_table),
        ),
    )


#: Columns of the B-ALL contract the data-quality count skips for another profile.
_B_ALL_ONLY = frozenset({"disease_status", "n_relapses", "cr_date", "cr_day30", "relapse_date", "hsct_date"})

# --------------------------------------------------------------------------- JSON


def _plain(value):
    """JSON-ready values: dataclasses as dicts (step curves left out), numpy scalars as numbers."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name not in ("curve",)}
    if isinstance(value, dict):
        return {("|".join(k) if isinstance(k, tuple) else str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def disease_results_to_dict(results: DiseaseResults) -> dict:
    """The export: every field of :class:`DiseaseResults`, tuple keys joined with ``|``
    ("orr|best|crs"), step curves left out (no patient-level data)."""
    out = _plain(results)
    out["profile"] = {
        "key": results.disease,
        "name": results.profile.name,
        "scale": list(results.profile.scale.keys) if results.profile.scale else None,
    }
    return out


def disease_results_to_json(results: DiseaseResults, indent: int | None = 2) -> str:
    return json.dumps(disease_results_to_dict(results), indent=indent, allow_nan=False, ensure_ascii=False)
