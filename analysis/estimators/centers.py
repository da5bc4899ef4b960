"""Per-center supplement (issue 11, item 4): counts and rates by center, and the Table 2
Cox model stratified by center as a sensitivity analysis (the study's multivariable model;
the publication's by default, whose R reference the tests hold).

Centers are shown only as "Center 1" ... "Center k", numbered by decreasing number of
patients (ties in the order of their names, which are never shown). The stratified
model gives each center its own baseline hazard, as R::

    coxph(Surv(time, status) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity + strata(center))
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.estimators.cox import PUBLICATION_MODEL, CoxResult, ModelSpec, _failed, fit_cox
from analysis.registry.concepts import ENDPOINTS, RESPONSES

CENTER_COLUMN = "center"
#: Counted per center: prepared-cohort column -> label.
CENTER_COUNTS = {
    "crs_any": "CRS",
    "crs_severe": "Grade ≥3 CRS",
    "icans_any": "ICANS",
    "icans_severe": "Severe ICANS",
    "cr_day30": "CR at day 30",
    "mrd_negative_cr": RESPONSES["mrd_negative_cr"].label,
}
SINGLE_CENTER_REASON = "a single center: the center-stratified model is the unstratified model"


@dataclass(frozen=True)
class CenterRow:
    label: str                         # "Center 1" ... never the center's name
    n: int
    counts: dict[str, int]             # CENTER_COUNTS key -> patients with it
    percents: dict[str, float | None]  # 0-100, None when n == 0


@dataclass(frozen=True)
class CenterSupplement:
    rows: tuple[CenterRow, ...]
    cox: dict[str, CoxResult]          # endpoint -> model stratified by center (not estimable: a reason)
    cox_reason: str | None = None


def center_labels(centers: pd.Series) -> dict[str, str]:
    """Center name -> "Center i", i by decreasing number of patients (ties by name)."""
    sizes = centers.value_counts()
    order = sorted(sizes.index, key=lambda name: (-int(sizes[name]), str(name)))
    return {name: f"Center {i}" for i, name in enumerate(order, start=1)}


def center_supplement(df: pd.DataFrame, model: ModelSpec = PUBLICATION_MODEL) -> CenterSupplement:
    """Per-center counts and the center-stratified Cox models (of ``model``: the report passes
    the study's own) on a prepared cohort."""
    centers = df[CENTER_COLUMN].dropna()
    labels = center_labels(centers)
    # one pass over the count columns (a per-center subset of the whole frame is O(n * centers))
    flags = pd.DataFrame({key: df[key].fillna(False).astype(bool).to_numpy() for key in CENTER_COUNTS},
                         index=df.index)
    sums = flags.groupby(df[CENTER_COLUMN], sort=False, observed=True).sum()
    sizes = centers.value_counts()
    rows = []
    for name, label in labels.items():
        n = int(sizes[name])
        counts = {key: int(sums.at[name, key]) for key in CENTER_COUNTS}
        rows.append(CenterRow(label, n, counts, {k: (100.0 * v / n if n else None) for k, v in counts.items()}))
    if len(labels) < 2:
        plain = {endpoint: fit_cox(df, endpoint, model=model) for endpoint in ENDPOINTS}
        cox = {e: _failed(e, r.n, r.events, SINGLE_CENTER_REASON, model) for e, r in plain.items()}
        return CenterSupplement(tuple(rows), cox, SINGLE_CENTER_REASON)
    cox = {endpoint: fit_cox(df, endpoint, strata=CENTER_COLUMN, model=model) for endpoint in ENDPOINTS}
    return CenterSupplement(tuple(rows), cox, None)
