"""Presentation of the per-center supplement (analysis.centers): one row per center."""
from __future__ import annotations

from .centers import CENTER_COUNTS, CenterSupplement
from .formatting import fmt_count_pct
from .tables import Cell, Table, _Spec


def center_table(supplement: CenterSupplement) -> Table:
    """Patients, toxicity and response by center, n (%) of the center's patients."""
    keys = list(CENTER_COUNTS)
    spec = _Spec(
        ["center", "n", *keys], ["Center", "Patients", *CENTER_COUNTS.values()],
        ["", "Patients", *CENTER_COUNTS.values()], [14, 10] + [12] * len(keys),
    )
    for row in supplement.rows:
        spec.add("variable", Cell(row.label), f"{row.n:,}",
                 *[fmt_count_pct(row.counts[k], row.percents[k]) for k in keys])
    spec.footnotes.append((None, "n (%) of the center's patients. Centers are numbered by decreasing size; "
                                 "their names are not shown. CR, complete remission; MRD, measurable residual "
                                 "disease; severe ICANS, grade ≥3 or a seizure"))
    return Table(spec)
