"""Table of the competing-risks analysis (cumulative incidence of relapse and NRM at
12 and 24 months by group, Gray's p), built with :mod:`analysis.tables`' two-faced
table (GT HTML and a Pandoc pipe table). Presentation only."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from .competing import CIF_MONTHS, CompetingRisks, summary_rows
from .formatting import CELL_MISSING, fmt_p_bare, fmt_pct
from .groups import GROUPINGS
from .tables import _INDENT, Cell, Table, _Spec


def _percent(x) -> str:
    return fmt_pct(100 * x).removesuffix("%")   # the header says "%"


def _cif_cell(point) -> str:
    if point.estimate is None:
        return CELL_MISSING
    if point.ci_low is None:
        return _percent(point.estimate)
    return f"{_percent(point.estimate)} ({_percent(point.ci_low)}–{_percent(point.ci_high)})"


def cif_table(competing: Mapping[str, CompetingRisks], groupings: Sequence[str]) -> Table:
    """Relapse and NRM incidence at :data:`CIF_MONTHS` per level, with Gray's p per
    cause and grouping (in the row of the grouping's first level)."""
    headers = ["Group", "n", *(f"{cause} {m} mo, %" for cause in ("Relapse", "NRM") for m in CIF_MONTHS),
               "Gray p, relapse", "Gray p, NRM"]
    ids = ["group", "n", *(f"{c}_{m}" for c in ("relapse", "nrm") for m in CIF_MONTHS), "p_relapse", "p_nrm"]
    spec = _Spec(ids, headers, headers, [26, 6, 14, 14, 14, 14, 6, 6])
    notes = []
    for name in groupings:
        result = competing[name]
        rows = summary_rows(result)
        spec.add("group", Cell(GROUPINGS[name].title if name in GROUPINGS else "All patients in CR"))
        by = {(r.cause, r.level): r for r in rows}
        levels = [r for r in rows if r.cause == "relapse"]
        for i, row in enumerate(levels):
            nrm = by[("nrm", row.level)]
            p_cells = ["", ""]
            if i == 0 and name in GROUPINGS:
                p_cells = [fmt_p_bare(row.gray_p), fmt_p_bare(nrm.gray_p)]
                for cause, r in (("relapse", row), ("NRM", nrm)):
                    if r.gray_p is None and r.gray_reason:
                        notes.append(f"{GROUPINGS[name].title}, {cause}: Gray's test not estimable ({r.gray_reason})")
            spec.add("sub", Cell(_INDENT + row.level_label), f"{row.n:,}",
                     *(_cif_cell(p) for p in row.points), *(_cif_cell(p) for p in nrm.points), *p_cells)
    spec.footnotes.append((None, "Cumulative incidence (%) with 95% CI (log(−log) transform) from the date of CR, "
                                 "Aalen–Johansen estimator with relapse and death without relapse (NRM) as competing "
                                 "events; p: Gray's test; —: after the last follow-up of the group."))
    for note in notes:
        spec.footnotes.append((None, note))
    return Table(spec)
