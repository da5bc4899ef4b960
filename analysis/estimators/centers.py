"""Per-center supplement (issue 11, item 4): counts and rates by center, and the Table 2
Cox model stratified by center as a sensitivity analysis (the study's multivariable model;
the publication's by default, whose R reference the tests hold).

Privacy (issue 22): centers are shown only as "Center 1" ... "Center k", numbered by
decreasing number of patients, ties broken by a keyed hash of their names (HMAC-SHA-256
keyed by the cohort's own centers and infusion dates, which no output shows; not by the
patient ids, which do not change a result), so that neither the order of the names nor a
reader who knows them decodes the numbering.
A center with fewer patients than the minimum cell size (the study file's
``analysis: min_cell_size``, default 5) is never a row of its own: such centers are pooled
into one "other centers" row; when the pool itself is below the minimum, the smallest
shown centers join it until it is not (otherwise the pool's counts would follow by
subtraction from the cohort's totals), and when the whole cohort is below the minimum no
per-center row is shown. The stratified model gives each center its own baseline hazard
(all centers, pooled or not: it reports hazard ratios only), as R::

    coxph(Surv(time, status) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity + strata(center))
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import pandas as pd

from analysis.estimators.cox import PUBLICATION_MODEL, CoxResult, ModelSpec, _failed, fit_cox
from analysis.registry.concepts import ENDPOINTS, OPTIONS, RESPONSES

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
#: Counted among the patients whose value is known, as the text counts them (one definition):
#: CR at day 30 among the patients whose response was evaluable (``cr_response``), MRD-negative
#: CR among those whose MRD-negative CR status is known (not evaluable and MRD not assessed
#: left out, :func:`analysis.registry.groups.prepare_cohort`). Key -> the prepared column read.
CENTER_RESPONSES = {"cr_day30": "cr_response", "mrd_negative_cr": "mrd_negative_cr"}
SINGLE_CENTER_REASON = "a single center: the center-stratified model is the unstratified model"
#: The label of the row pooling the centers below the minimum cell size.
OTHER_CENTERS = "Other centers"
#: The columns whose values key the hash that breaks ties between equal-sized centers.
KEY_COLUMNS = ("center", "infusion_date")


@dataclass(frozen=True)
class CenterRow:
    label: str  # "Center 1" ... or OTHER_CENTERS, never a center's name
    n: int
    counts: dict[str, int]  # CENTER_COUNTS key -> patients with it
    percents: dict[str, float | None]  # 0-100 of the denominator, None when it is 0
    centers: int = 1  # centers in the row (more than one: the pooled row)
    #: CENTER_COUNTS key -> the patients counted over: ``n`` for toxicity, the patients whose
    #: value is known for the responses (:data:`CENTER_RESPONSES`)
    denominators: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CenterSupplement:
    rows: tuple[CenterRow, ...]
    cox: dict[str, CoxResult]  # endpoint -> model stratified by center (not estimable: a reason)
    cox_reason: str | None = None
    min_cell_size: int = OPTIONS["min_cell_size"].default
    n_centers: int = 0  # centers in the cohort
    pooled_centers: int = 0  # centers in the OTHER_CENTERS row (0: none)
    pooled_patients: int = 0
    below_minimum: int = 0  # centers with fewer than min_cell_size patients
    suppressed: bool = False  # the whole cohort is below the minimum: no per-center row


def tie_key(df: pd.DataFrame) -> bytes:
    """The key of the tie-breaking hash: SHA-256 of the cohort's (center, infusion date)
    lines, in sorted order -- the same for the same patients whatever their ids and order,
    unknown to a reader of the report (no individual date is printed)."""
    columns = [c for c in KEY_COLUMNS if c in df]
    if not columns or df.empty:  # every line empty
        return hashlib.sha256(b"\x1e" * max(len(df) - 1, 0)).digest()
    # the distinct lines with their counts (10^6 patients: a few thousand), hashed as the
    # sorted list of every patient's line joined by \x1e would be
    counts = df[columns].groupby(columns, dropna=False, observed=True, sort=False).size()
    keys = counts.index if len(columns) > 1 else ((v,) for v in counts.index)
    lines = sorted(zip(("\x1f".join(str(v) for v in key) for key in keys), counts.to_numpy().tolist()))
    digest = hashlib.sha256()
    for i, (line, count) in enumerate(lines):
        piece = (line + "\x1e").encode("utf-8")
        digest.update(piece * (count if i < len(lines) - 1 else count - 1))
    digest.update(lines[-1][0].encode("utf-8"))
    return digest.digest()


def center_order(centers: pd.Series, key: bytes) -> list:
    """Center names by decreasing number of patients, ties by HMAC-SHA-256(key, name)."""
    sizes = centers.value_counts()

    def tie(name) -> bytes:
        return hmac.new(key, str(name).encode("utf-8"), hashlib.sha256).digest()

    return sorted(sizes.index, key=lambda name: (-int(sizes[name]), tie(name)))


def center_labels(centers: pd.Series, key: bytes) -> dict[str, str]:
    """Center name -> "Center i", i by decreasing number of patients (ties by the keyed hash)."""
    return {name: f"Center {i}" for i, name in enumerate(center_order(centers, key), start=1)}


def pooled_centers(sizes: list[int], min_cell_size: int) -> int:
    """How many of the centers (sizes in decreasing order) go into the pooled row: those below
    the minimum, then the smallest others until the pool reaches it (a pool below it could be
    recovered by subtraction). All of them when the cohort itself is below the minimum."""
    pooled = sum(1 for n in sizes if n < min_cell_size)
    while 0 < pooled < len(sizes) and sum(sizes[len(sizes) - pooled :]) < min_cell_size:
        pooled += 1
    return pooled


def center_supplement(
    df: pd.DataFrame, min_cell_size: int | None = None, model: ModelSpec = PUBLICATION_MODEL
) -> CenterSupplement:
    """Per-center counts (small centers pooled) and the center-stratified Cox models (of
    ``model``: the report passes the study's own) on a prepared cohort; ``min_cell_size``: the
    fewest patients a row may show (default :data:`analysis.registry.concepts.OPTIONS`)."""
    k = OPTIONS["min_cell_size"].default if min_cell_size is None else int(min_cell_size)
    centers = df[CENTER_COLUMN].dropna()
    order = center_order(centers, tie_key(df))
    sizes = centers.value_counts()
    # one pass over the count columns (a per-center subset of the whole frame is O(n * centers))
    columns = {key: df[CENTER_RESPONSES.get(key, key)] for key in CENTER_COUNTS}
    flags = pd.DataFrame({key: c.fillna(False).astype(bool).to_numpy() for key, c in columns.items()}, index=df.index)
    known = pd.DataFrame({key: c.notna().to_numpy() for key, c in columns.items()}, index=df.index)
    sums = flags.groupby(df[CENTER_COLUMN], sort=False, observed=True).sum()
    knowns = known.groupby(df[CENTER_COLUMN], sort=False, observed=True).sum()

    def row(label: str, names: list) -> CenterRow:
        n = int(sum(int(sizes[name]) for name in names))
        counts = {key: int(sum(int(sums.at[name, key]) for name in names)) for key in CENTER_COUNTS}
        over = {
            key: int(sum(int(knowns.at[name, key]) for name in names)) if key in CENTER_RESPONSES else n
            for key in CENTER_COUNTS
        }
        percents = {c: (100.0 * v / over[c] if over[c] else None) for c, v in counts.items()}
        return CenterRow(label, n, counts, percents, len(names), over)

    n_pooled = pooled_centers([int(sizes[name]) for name in order], k)
    shown, pooled = order[: len(order) - n_pooled], order[len(order) - n_pooled :]
    suppressed = bool(order) and not shown
    rows = [row(f"Center {i}", [name]) for i, name in enumerate(shown, start=1)]
    if pooled and not suppressed:
        rows.append(row(OTHER_CENTERS, pooled))
    if len(order) < 2:
        plain = {endpoint: fit_cox(df, endpoint, model=model) for endpoint in ENDPOINTS}
        cox = {e: _failed(e, r.n, r.events, SINGLE_CENTER_REASON, model) for e, r in plain.items()}
        reason: str | None = SINGLE_CENTER_REASON
    else:
        cox = {endpoint: fit_cox(df, endpoint, strata=CENTER_COLUMN, model=model) for endpoint in ENDPOINTS}
        reason = None
    return CenterSupplement(
        tuple(rows),
        cox,
        reason,
        min_cell_size=k,
        n_centers=len(order),
        pooled_centers=0 if suppressed else len(pooled),
        pooled_patients=0 if suppressed else int(sum(int(sizes[name]) for name in pooled)),
        below_minimum=sum(1 for name in order if int(sizes[name]) < k),
        suppressed=suppressed,
    )
