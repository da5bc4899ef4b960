"""The validation report a data manager reads: a per-column summary, hints for a
column that fails as a whole, the detail, and a CSV of every problem.

:class:`~analysis.inputs.loading.InputError` holds the violations; this module only words
and writes them (``python -m analysis validate`` prints it on standard output).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from analysis.inputs.errors import InputError, Violation
from analysis.inputs.outfiles import csv_text, write_atomic

#: Columns of ``validate --problems FILE``.
CSV_COLUMNS = ("file", "row", "record", "column", "export_column", "rule", "value", "related_value")

#: A problem family shared by this many cells of a column gets a hint.
HINT_MIN_CELLS = 3

_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})$")


def rule_family(rule: str) -> str:
    """The rule without the parts that name rows: 'duplicate patient_id (rows 3, 9)' ->
    'duplicate patient_id'."""
    return re.sub(r"\s*\(rows [^)]*\)$", "", rule)


def summary(violations: Iterable[Violation]) -> list[tuple[str, str, str, int]]:
    """(file, column, rule, count), most frequent first."""
    counts = Counter((v.file or "input", v.column or "-", rule_family(v.rule)) for v in violations)
    return [(f, c, r, n) for (f, c, r), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def date_order_hint(values: list[str]) -> str | None:
    """'DD/MM/YYYY' or 'MM/DD/YYYY' when the cells' shape tells, with the study-file line."""
    parts = [m.groups() for m in map(_DAY_MONTH_YEAR.match, values) if m]
    if len(parts) < max(1, len(values) // 2):
        return None
    separator = parts[0][1]
    if any(int(p[0]) > 12 for p in parts):
        order, fmt = "DD{0}MM{0}YYYY", "%d{0}%m{0}%Y"
    elif any(int(p[2]) > 12 for p in parts):
        order, fmt = "MM{0}DD{0}YYYY", "%m{0}%d{0}%Y"
    else:
        return (f"these look like dates written with '{separator}' but day and month cannot be told "
                "apart (no value above 12): set `date_format:` in the study file to the export's order, "
                f"e.g. \"%d{separator}%m{separator}%Y\"")
    return (f"these look like {order.format(separator)}: add `date_format: \"{fmt.format(separator)}\"` "
            "to the study file (python -m analysis map proposes it)")


def hints(violations: Iterable[Violation]) -> list[str]:
    """How to fix problems that affect a whole column (or the whole header) at once."""
    violations = list(violations)
    out = []
    missing = [v for v in violations if v.rule == "missing column"]
    if len(missing) >= 5:
        out.append(f"{len(missing)} contract columns are missing: if the export names its columns its own "
                   "way (REDCap labels, raw variable names), run `python -m analysis map EXPORT -o study.yml` "
                   "and validate with --study study.yml")
    by_column: dict[tuple[str | None, str | None, str], list[Violation]] = {}
    for v in violations:
        by_column.setdefault((v.file, v.column, rule_family(v.rule)), []).append(v)
    for (file, column, rule), group in by_column.items():
        if len(group) < HINT_MIN_CELLS:
            continue
        values = [v.value or "" for v in group]
        where = f"{column}" + (f" ({Path(file).name})" if file else "")
        if rule.startswith("not a date"):
            hint = date_order_hint(values)
            if hint:
                out.append(f"{where}: {len(group)} cells are not YYYY-MM-DD; {hint}")
        elif "decimal separator" in rule:
            out.append(f"{where}: {len(group)} numbers use a decimal comma: export with a dot as the decimal "
                       "separator (or save the sheet with an English number format)")
        elif rule.startswith("not a whole number") and any(not v.replace(".", "").isdigit() for v in values):
            distinct = sorted(set(values))[:6]
            out.append(f"{where}: {len(group)} cells are words, not numbers ({', '.join(distinct)}): map them to "
                       "numbers under `values:` in the study file (e.g. \"Grade II\": 2)")
        elif rule.startswith("not a boolean") or rule.startswith("must be "):
            distinct = sorted(set(values))[:6]
            out.append(f"{where}: {len(group)} cells hold values outside the contract ({', '.join(distinct)}): "
                       "map them under `values:` in the study file")
    return out


def format_report(err: InputError, headers: dict[str, str] | None = None) -> str:
    """Summary, hints, then every problem (the detail table of :meth:`InputError.format`).

    ``headers``: contract column -> the export's own header (a study file's mapping), shown
    beside the contract name so that a data manager finds the column in the sheet."""
    headers = headers or {}
    violations = err.violations
    n = len(violations)
    lines = [f"{n} problem{'s' if n != 1 else ''} found", "", "Summary (problems per column and rule):"]
    rows = summary(violations)
    named = {column: f"{column} ('{headers[column]}')" if column in headers else column for _, column, _, _ in rows}
    width = max(len(name) for name in named.values())
    several_files = len({f for f, *_ in rows}) > 1
    for file, column, rule, count in rows:
        prefix = f"{Path(file).name}: " if several_files else ""
        lines.append(f"  {count:>6}  {prefix}{named[column].ljust(width)}  {rule}")
    found = hints(violations)
    if found:
        lines += ["", "Hints:"] + [f"  - {h}" for h in found]
    lines += ["", "Detail:", err.format()]
    return "\n".join(lines)


def write_problems_csv(violations: Iterable[Violation], path, headers: dict[str, str] | None = None) -> Path:
    """Every problem as a CSV for the data manager (UTF-8 with BOM, so Excel reads accents);
    ``export_column`` is the export's own header where a study file maps it. Cells are
    spreadsheet-safe (:func:`analysis.inputs.outfiles.spreadsheet_cell`): a value such as
    ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``, shown and never evaluated."""
    headers = headers or {}
    rows: list[Sequence] = [CSV_COLUMNS]
    for v in violations:
        rows.append([v.file or "", "" if v.row is None else v.row, v.patient_id or "", v.column or "",
                     headers.get(v.column or "", ""), v.rule, v.value or "", v.related or ""])
    # every cell quoted, and a cell a spreadsheet would evaluate (=, +, -, @ ...) as text
    return write_atomic(path, csv_text(rows), encoding="utf-8-sig")
