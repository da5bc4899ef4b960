"""The validation report a data manager reads: a per-column summary, hints for a
column that fails as a whole, the detail, and a CSV of every problem.

:class:`~analysis.inputs.loading.InputError` holds the violations; this module only words
and writes them (``python -m analysis validate`` prints it on standard output).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.inputs.errors import InputError, Violation, format_violations
from analysis.inputs.outfiles import csv_text, write_atomic

#: Columns of ``validate --problems FILE`` (severity: ``error``, or ``warning`` for a
#: plausibility warning, which does not stop the report).
CSV_COLUMNS = ("file", "row", "record", "column", "export_column", "rule", "value", "related_value", "severity")

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
        return (
            f"these look like dates written with '{separator}' but day and month cannot be told "
            "apart (no value above 12): set `date_format:` in the study file to the export's order, "
            f'e.g. "%d{separator}%m{separator}%Y"'
        )
    return (
        f'these look like {order.format(separator)}: add `date_format: "{fmt.format(separator)}"` '
        "to the study file (python -m analysis map proposes it)"
    )


@dataclass
class HintContext:
    """What the hints may say beyond the violations: the study file's mapping (contract
    column -> the export's header) and where its lines are, and the export itself (read
    once, when a hint needs it: which columns could hold a column that fails as a whole)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    study_file: Path | None = None
    export: Path | None = None
    sheet: str | None = None
    _evidence: object = field(default=None, repr=False)
    _read: bool = field(default=False, repr=False)

    def evidence(self):
        """The export's :class:`~analysis.inputs.mapping.ExportEvidence`, or None."""
        if not self._read and self.export is not None:
            from analysis.inputs.mapping import export_evidence

            self._evidence, self._read = export_evidence(self.export, self.sheet), True
        return self._evidence

    def study_line(self, column: str, commented: bool = False) -> tuple[int, str] | None:
        """(line number, text) of the line of ``columns:`` in the study file that maps
        ``column`` (``commented``: the line ``map`` wrote commented out, held back or not found)."""
        if self.study_file is None:
            return None
        try:
            lines = Path(self.study_file).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        inside = False
        pattern = re.compile(rf"^\s*#\s*{re.escape(column)}\s*:" if commented else rf"^\s+{re.escape(column)}\s*:")
        for number, line in enumerate(lines, start=1):
            if re.match(r"^[A-Za-z_]", line):
                inside = line.split(":", 1)[0].strip() == "columns"
            elif inside and pattern.match(line):
                return number, line.strip()
        return None

    @property
    def study_name(self) -> str:
        return Path(self.study_file).name if self.study_file is not None else "the study file"


#: Rules of a cell that does not read as its column's kind (a whole column of them: the
#: wrong export column mapped?).
_KIND_RULES = ("a number, not a date", "not a date", "not a number")


def _whole_column_hint(
    where: str, column: str, rule: str, group: list[Violation], context: HintContext, show_values: bool = True
) -> str | None:
    """A mapped column most of whose cells fail its kind: name the mapping line and the
    export columns that could hold it instead (``show_values``: quote five of the values)."""
    header = context.headers.get(column)
    evidence = context.evidence()
    if header is None or evidence is None:
        return None
    filled = evidence.filled.get(header, 0)
    if not filled or len(group) < 0.5 * filled:
        return None
    shown = _examples([v.value or "" for v in group], 5, show_values)
    line = context.study_line(column)
    at = f" ({context.study_name} line {line[0]}: `{line[1].split('  #')[0].strip()}`)" if line else ""
    kind = "dates" if "date" in rule else "numbers" if "number" in rule else "yes/no values"
    text = (
        f"{where}: {len(group)} of the {filled} values of '{header}' are not {kind}{shown}: "
        f"the study file maps {column} to '{header}'{at}; is it the right column?"
    )
    better = evidence.candidates(column, exclude={header, *context.headers.values()})
    if better:
        text += (
            f" Export columns that could hold {column}: {', '.join(c.describe() for c in better)}; "
            f'write `{column}: "{better[0].header}"` under `columns:` if so '
            "(`python -m analysis map` proposes the mapping again)."
        )
    return text


def _held_back_hint(column: str, context: HintContext) -> str | None:
    """A missing column that ``map`` held back or did not find: the commented line, and what to write."""
    line = context.study_line(column, commented=True)
    if line is None:
        return None
    number, text = line
    where = f"{context.study_name} line {number}"
    if m := re.match(r"#\s*\w+\s*:\s*(\"[^\"]*\"|'[^']*'|[^#\s][^#]*?)\s*(?:#\s*(.*))?$", text):
        header = m[1].strip().strip("\"'")
        why = (m[2] or "").replace("HELD BACK, not read until you check it: ", "")
        evidence = context.evidence()
        codes = evidence.choices(header) if evidence is not None else {}
        listed = f" (its values: {', '.join(f'{k} = {v}' for k, v in list(codes.items())[:6])})" if codes else ""
        return (
            f'{column}: not read because {where} is commented out (`# {column}: "{header}"`): `map` held '
            "it back" + (f": {why}" if why else "") + f". If '{header}' holds {column}, remove the '#' and map "
            f"its values under `values: {column}:`{listed}, each to what the contract reads (true/false for a "
            "yes/no column); otherwise write the export's header of the column there."
        )
    return (
        f"{column}: {where} is commented out (`{text[:120]}`): `map` did not find the column; write the "
        f"export's header there (`{column}: \"HEADER\"`) and remove the '#', or list {column} under "
        "`not_collected:` if the registry does not collect it and the contract allows it."
    )


def _examples(values: list[str], n: int, show: bool) -> str:
    """' (a, b, c)': up to ``n`` distinct values a hint quotes; '' when ``show`` is False."""
    return f" ({', '.join(sorted(set(values))[:n])})" if show else ""


def hints(violations: Iterable[Violation], context: HintContext | None = None, show_values: bool = True) -> list[str]:
    """How to fix problems that affect a whole column (or the whole header) at once.
    ``context``: the study file and the export, for hints naming a mapping line and better
    export columns. ``show_values``: quote a few of the export's values (``validate``, for the
    data manager); the render's refusal passes False: its log (a CI log) shows counts and
    column names, never a value that may be a patient's date or identifier (attack 29/08)."""
    violations = list(violations)
    context = context or HintContext()
    out = []
    missing = [v for v in violations if v.rule == "missing column"]
    for v in missing:
        if v.column and (hint := _held_back_hint(v.column, context)):
            out.append(hint)
    if len(missing) >= 5:
        out.append(
            f"{len(missing)} contract columns are missing: if the export names its columns its own "
            "way (REDCap labels, raw variable names), run `python -m analysis map EXPORT -o study.yml` "
            "and validate with --study study.yml"
        )
    by_column: dict[tuple[str | None, str | None, str], list[Violation]] = {}
    for v in violations:
        by_column.setdefault((v.file, v.column, rule_family(v.rule)), []).append(v)
    for (file, column, rule), group in by_column.items():
        if len(group) < HINT_MIN_CELLS:
            continue
        values = [v.value or "" for v in group]
        where = f"{column}" + (f" ({Path(file).name})" if file else "")
        if (
            column
            and rule.startswith(_KIND_RULES)
            and not date_order_hint(values)
            and (hint := _whole_column_hint(where, column, rule, group, context, show_values))
        ):
            out.append(hint)
        elif rule.startswith("a number, not a date"):
            source = Path(file) if file else context.export
            if source is not None and source.suffix.lower() in (".xlsx", ".xlsm"):
                out.append(
                    f"{where}: {len(group)} cells are numbers in a date column: in the workbook, cells "
                    "not formatted as dates? Format the column as Date, or write YYYY-MM-DD"
                )
            else:
                out.append(
                    f"{where}: {len(group)} cells are numbers, not dates{_examples(values, 5, show_values)}:"
                    " write YYYY-MM-DD, or check that the column mapped here holds the dates"
                )
        elif rule.startswith("not a date"):
            hint = date_order_hint(values)
            if hint:
                out.append(f"{where}: {len(group)} cells are not YYYY-MM-DD; {hint}")
        elif "decimal separator" in rule:
            out.append(
                f"{where}: {len(group)} numbers use a decimal comma: export with a dot as the decimal "
                "separator (or save the sheet with an English number format)"
            )
        elif rule.startswith("not a whole number") and any(not v.replace(".", "").isdigit() for v in values):
            out.append(
                f"{where}: {len(group)} cells are words, not numbers{_examples(values, 6, show_values)}: map them to "
                'numbers under `values:` in the study file (e.g. "Grade II": 2)'
            )
        elif (m := re.match(r"must be (?:on or )?(after|before) (\w+)$", rule)) and len(group) >= HINT_MIN_CELLS:
            out.append(
                f"{where}: {len(group)} cells are {'before' if m[1] == 'after' else 'after'} {m[2]}: "
                f"if that is most patients, are {column} and {m[2]} mapped to the right columns?"
            )
        elif rule.startswith(("not a boolean", "must be M or F", "must be relapsed")):
            out.append(
                f"{where}: {len(group)} cells hold values outside the contract{_examples(values, 6, show_values)}: "
                "map them under `values:` in the study file"
            )
    return out


def format_report(err: InputError, headers: Mapping[str, str] | None = None, context: HintContext | None = None) -> str:
    """Summary, hints, then every problem (the detail table of :meth:`InputError.format`).

    ``headers``: contract column -> the export's own header (a study file's mapping), shown
    beside the contract name so that a data manager finds the column in the sheet.
    ``context``: for the hints (:class:`HintContext`)."""
    headers = headers or (context.headers if context is not None else {})
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
    found = hints(violations, context or HintContext(headers=headers))
    if found:
        lines += ["", "Hints:"] + [f"  - {h}" for h in found]
    lines += ["", "Detail:", err.format()]
    return "\n".join(lines)


def write_problems_csv(
    violations: Iterable[Violation], path, headers: dict[str, str] | None = None, warnings: Iterable[Violation] = ()
) -> Path:
    """Every problem (then every plausibility warning) as a CSV for the data manager (UTF-8
    with BOM, so Excel reads accents); ``export_column`` is the export's own header where a
    study file maps it. Cells are spreadsheet-safe (:func:`analysis.inputs.outfiles.spreadsheet_cell`):
    a value such as ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``, shown and never evaluated."""
    headers = headers or {}
    rows: list[Sequence] = [CSV_COLUMNS]
    for severity, listed in (("error", violations), ("warning", warnings)):
        for v in listed:
            rows.append(
                [
                    v.file or "",
                    "" if v.row is None else v.row,
                    v.patient_id or "",
                    v.column or "",
                    headers.get(v.column or "", ""),
                    v.rule,
                    v.value or "",
                    v.related or "",
                    severity,
                ]
            )
    # every cell quoted, and a cell a spreadsheet would evaluate (=, +, -, @ ...) as text; the
    # file holds patient ids, individual values and dates: readable by its owner only (0600)
    return write_atomic(path, csv_text(rows), encoding="utf-8-sig", private=True)


def format_warnings(warnings: Iterable[Violation]) -> str:
    """The plausibility warnings ``validate`` prints: a count per rule, then each with its
    row and record. Warnings do not stop the report; its data-quality paragraph counts them."""
    warnings = list(warnings)
    n = len(warnings)
    if not n:
        return ""
    lines = [
        f"{n} plausibility warning{'s' if n != 1 else ''} (not errors: each value is valid, "
        "the combination is unlikely; check these records at the source):"
    ]
    rows = summary(warnings)
    width = max(len(column) for _, column, _, _ in rows)
    for _, column, rule, count in rows:
        lines.append(f"  {count:>6}  {column.ljust(width)}  {rule}")
    lines += ["", format_violations(warnings, noun="warning")]
    return "\n".join(lines)


def refusal(err: InputError, validate_command: str, context: HintContext | None = None) -> str:
    """What the report says when it refuses to render invalid data: the validator's summary,
    once and in its words (the export's own column names beside the contract's, as
    ``validate`` shows them), and the command that lists every problem and writes the CSV."""
    context = context or HintContext()
    n = len(err.violations)
    rows = summary(err.violations)
    several_files = len({f for f, *_ in rows}) > 1
    lines = [
        f"The data do not pass validation: {n} problem{'s' if n != 1 else ''} found. Nothing was rendered.",
        "",
        "Summary (problems per column and rule):",
    ]
    headers = context.headers
    named = {column: f"{column} ('{headers[column]}')" if column in headers else column for _, column, _, _ in rows}
    width = max(len(name) for name in named.values())
    for file, column, rule, count in rows:
        prefix = f"{Path(file).name}: " if several_files else ""
        lines.append(f"  {count:>6}  {prefix}{named[column].ljust(width)}  {rule}")
    found = hints(err.violations, context, show_values=False)  # the values: validate's detail
    if found:
        lines += ["", "Hints:"] + [f"  - {h}" for h in found]
    lines += [
        "",
        "Every problem, with its row and record, and a CSV for the data manager:",
        f"  {validate_command} --problems problems.csv",
    ]
    return "\n".join(lines)
