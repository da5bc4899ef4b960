"""Run the data contract's checks on a parsed table and report every :class:`Violation`.

Required values, ranges, plausible dates and numbers (:data:`~analysis.registry.contract.EARLIEST_DATE`,
the data cut-off, today, :data:`~analysis.registry.contract.MAX_NUMBER`), uniqueness and the
cross-column rules declared in :mod:`analysis.registry.contract` are pandera checks run lazily, so
every violation of a file is collected; a cell that could not be parsed is reported once
(by :mod:`analysis.inputs.readers`), not again by the rules that read it.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.inputs.errors import Violation
from analysis.inputs.readers import cell_text
from analysis.registry.contract import (
    BOOLEAN,
    DATE,
    EARLIEST_DATE,
    INTEGER,
    MAX_NUMBER,
    NUMBER,
    SEX,
    STATUS,
    TEXT,
    TOO_EARLY,
    TOO_LARGE,
    Rule,
    duplicate_key,
    identity_key,
    plausibility_rules,
    required_unless_not_done,
)
from analysis.registry.diseases import SCALES

if TYPE_CHECKING:  # pandera (~0.25 s) is imported when a table is validated, not when a
    # cached analysis is restored (its objects import analysis.inputs.loading)
    import pandera.pandas as pa

#: pandas dtype of each kind of column while it is validated (nullable everywhere).
_PANDERA_DTYPE = {
    TEXT: object,
    SEX: object,
    STATUS: object,  # str values; "object" spares a per-cell type check
    NUMBER: "float64",
    INTEGER: "Int64",
    DATE: "datetime64[ns]",
    BOOLEAN: "boolean",
    **{kind: object for kind in SCALES},  # the response scales of the disease profiles
}


def days_to_last_followup(cohort: pd.DataFrame | None) -> pd.Series | None:
    """Days from infusion to last follow-up by patient_id (patients with a unique id and
    both dates), or None without a usable cohort."""
    if cohort is None or not {"patient_id", "infusion_date", "last_followup_date"} <= set(cohort.columns):
        return None
    days = (cohort["last_followup_date"] - cohort["infusion_date"]).dt.days
    known = cohort["patient_id"].notna() & ~cohort["patient_id"].duplicated(keep=False) & days.notna()
    return pd.Series(days[known].to_numpy(dtype=float), index=cohort["patient_id"][known].to_numpy())


#: Whether a value passes a range check (:class:`~analysis.registry.contract.Range` and the
#: date bounds), on a numpy array; a comparison with NaN or NaT is False, so missing values are
#: let through separately, as pandera's built-in checks (ignore_na) do.
_PASSES: dict[str, Callable[..., np.ndarray]] = {
    "in_range": lambda x, lo, hi: (x >= lo) & (x <= hi),
    "ge": lambda x, bound: x >= bound,
    "gt": lambda x, bound: x > bound,
    "le": lambda x, bound: x <= bound,
}


def _range_check(pa, name: str, args: tuple, error: str) -> pa.Check:
    """A pandera check equal to ``pa.Check.<name>(*args, error=error)``, computed on the
    column's numpy array: a column that passes costs one comparison, not pandera's
    dropna and pandas comparisons (a table validates ~70 such checks); a failing column
    gives the same failure cases (the rows whose value is out of range)."""
    passes = _PASSES[name]
    args = tuple(np.datetime64(a, "ns") if isinstance(a, pd.Timestamp) else a for a in args)

    def check(column: pd.Series):
        if column.dtype.kind == "M":
            values = column.to_numpy()
            missing = np.isnat(values)
        else:
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            ok = passes(values, *args) | missing
        return True if ok.all() else pd.Series(ok, index=column.index)

    return pa.Check(check, name=name, error=error, ignore_na=False)


class _Validated:
    """The frame being validated and its rules, read by the cross-column checks of a cached
    schema (a pandera column check is given its column only); set under :data:`_SCHEMA_LOCK`."""

    frame: pd.DataFrame | None = None
    rules: tuple[Rule, ...] = ()


_VALIDATED = _Validated()


def _rule_check(i: int, column: pd.Series):
    ok = ~_VALIDATED.rules[i].violated(_VALIDATED.frame).astype(bool)
    return True if ok.all() else ok


def _schema(fields, rules, cutoff: dt.date | None) -> pa.DataFrameSchema:
    """The pandera schema of a parsed frame (built once per contract, rules, cut-off and day:
    see :func:`_built_schema`)."""
    return _built_schema(tuple(fields), tuple((rule.column, rule.key) for rule in rules), cutoff, dt.date.today())


@functools.lru_cache(maxsize=32)
def _built_schema(fields, rules: tuple[tuple[str, str], ...], cutoff: dt.date | None, today: dt.date):
    """The pandera schema of a parsed frame of ``fields``; ``rules``: (column, key) of each
    cross-column rule, whose check reads the rule and the frame being validated
    (:data:`_VALIDATED`).

    Column checks: type, required, range and the data cut-off. A cross-column rule is a
    check on the column it is reported on that reads the frame's other columns.
    (pandera's frame-wide checks would do too, but they report a failing row cell by
    cell through DataFrame.stack, about 1 ms per failing row with pandas 2.3: minutes
    for the 10^5 failing rows of a badly exported registry.)
    """
    import pandera.pandas as pa

    checks = {field.name: [_range_check(pa, r.check, r.args, r.error) for r in field.checks] for field in fields}
    dates = [field.name for field in fields if field.kind == DATE]
    for name in dates:
        checks[name].append(_range_check(pa, "ge", (pd.Timestamp(EARLIEST_DATE),), TOO_EARLY))
    if cutoff is not None:
        after = _range_check(pa, "le", (pd.Timestamp(cutoff),), f"after the data cut-off ({cutoff.isoformat()})")
        for name in dates:
            checks[name].append(after)
    if cutoff is None or cutoff > today:  # otherwise the cut-off check covers it
        future = _range_check(pa, "le", (pd.Timestamp(today),), f"in the future (after today, {today.isoformat()})")
        for name in dates:
            checks[name].append(future)
    for field in fields:
        if field.kind in (NUMBER, INTEGER):
            checks[field.name].append(_range_check(pa, "le", (MAX_NUMBER,), TOO_LARGE))
    for i, (column, key) in enumerate(rules):
        checks[column].append(pa.Check(functools.partial(_rule_check, i), error=key, ignore_na=False))
    return pa.DataFrameSchema(
        {
            field.name: pa.Column(
                _PANDERA_DTYPE[field.kind],
                nullable=not field.required or field.not_done is not None,  # "not done": a rule of its own
                checks=checks[field.name],
            )
            for field in fields
        }
    )


_SCHEMA_LOCK = threading.Lock()  # pandera renames a schema's columns while it validates


def schema_violations(frame: pd.DataFrame, bad: pd.DataFrame, fields, rules, cutoff) -> list[Violation]:
    """Run the pandera checks lazily; translate the failure cases into violations."""
    from pandera.errors import SchemaErrors

    rules = tuple(rules) + tuple(required_unless_not_done(f) for f in fields if f.required and f.not_done)
    try:
        schema = _schema(fields, rules, cutoff)
        with _SCHEMA_LOCK, warnings.catch_warnings():  # pandera's own pandas deprecation notices
            warnings.simplefilter("ignore", FutureWarning)
            _VALIDATED.frame, _VALIDATED.rules = frame, rules
            try:
                schema.validate(frame, lazy=True, inplace=True)
            finally:
                _VALIDATED.frame, _VALIDATED.rules = None, ()
        return []
    except SchemaErrors as err:
        cases = err.failure_cases
    rules_by_key = {rule.key: rule for rule in rules}
    patient_ids = frame["patient_id"].to_numpy()
    violations, duplicates = [], []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        rule = rules_by_key.get(check)
        message = rule.message if rule else "required (the cell is empty)" if check == "not_nullable" else str(check)
        unplaced = group["index"].isna()
        if column not in frame or unplaced.any():  # not expected: a check that failed as a whole
            violations.append(Violation(None, None, column, message, cell_text(group["failure_case"].iloc[0])))
            if column not in frame:
                continue
            group = group[~unplaced]
        at = frame.index.get_indexer(group["index"])
        at = at[(at >= 0) & ~bad[column].to_numpy()[at]]  # unparseable cells are already reported
        values = frame[column].to_numpy()[at]
        others = [c for c in rule.columns if c != column] if rule is not None and not rule.duplicate else []
        compared = [frame[c].to_numpy()[at] for c in others]  # the cells of the failing rows, read once per column
        for i, (position, value) in enumerate(zip(at, values)):  # the violations only
            pid = patient_ids[position]
            related = "; ".join(f"{c} = {cell_text(v[i]) or '(empty)'}" for c, v in zip(others, compared)) or None
            violation = Violation(
                int(frame.index[position]) + 2,
                None if pd.isna(pid) else pid,
                column,
                message,
                cell_text(value),
                related=related,
            )
            if rule is not None and rule.duplicate:
                duplicates.append((violation, rule))
            else:
                violations.append(violation)
    return violations + _name_duplicate_rows(frame, duplicates)


def _name_duplicate_rows(frame: pd.DataFrame, duplicates) -> list[Violation]:
    """Add the rows sharing each duplicated key to the rule's message (keys compared as
    :func:`~analysis.registry.contract.duplicate_key` does; spellings that differ are said)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    spellings: dict[tuple, set[tuple]] = defaultdict(set)
    keyed = []
    for violation, rule in duplicates:
        cells = tuple(cell_text(frame.at[violation.row - 2, c]) for c in rule.columns)
        key = (rule.key, *(duplicate_key(c) for c in cells))
        groups[key].append(violation.row)
        spellings[key].add(cells)
        keyed.append((violation, key))
    out = []
    for violation, key in keyed:
        rows = sorted(groups[key])
        listed = ", ".join(map(str, rows[:6])) + (", ..." if len(rows) > 6 else "")
        if len({tuple(identity_key(c) for c in cells) for cells in spellings[key]}) > 1:
            listed += (
                "; spelled differently, equal as numbers ("
                + " = ".join(sorted({c[0] for c in spellings[key]})[:4])
                + "): leading zeros dropped or '.0' added, as a spreadsheet does to an id it takes for a number"
            )
        elif len(spellings[key]) > 1:
            listed += (
                "; spelled differently, the same once case, width, accents, dashes, "
                "and invisible characters are ignored"
            )
        out.append(
            Violation(
                violation.row,
                violation.patient_id,
                violation.column,
                f"{violation.rule} (rows {listed})",
                violation.value,
                violation.file,
            )
        )
    return out


def plausibility_warnings(
    frame: pd.DataFrame, cutoff: dt.date | None, skip: set[str] | frozenset = frozenset(), rules=None
) -> list[Violation]:
    """The contract's plausibility rules (:func:`~analysis.registry.contract.plausibility_rules`)
    on a parsed cohort: one :class:`Violation` per implausible row, with the compared
    values; warnings, never errors. Rules reading a column in ``skip`` (not collected) are not run."""
    out = []
    patient_ids = frame["patient_id"].to_numpy()
    for rule in plausibility_rules(cutoff) if rules is None else rules:  # rules: a disease profile's
        if skip & set(rule.columns):
            continue
        hit = np.flatnonzero(warning_mask(frame, rule))
        if not hit.size:
            continue
        others = [c for c in rule.columns if c != rule.column]
        # the cells of the hit rows, read once per column (a registry can have 10^5 warnings)
        values = frame[rule.column].iloc[hit].tolist()
        compared = [frame[c].iloc[hit].tolist() for c in others]
        lines = frame.index[hit].tolist()
        for i, position in enumerate(hit):
            pid = patient_ids[position]
            related = "; ".join(f"{c} = {cell_text(v[i]) or '(empty)'}" for c, v in zip(others, compared)) or None
            out.append(
                Violation(
                    int(lines[i]) + 2,
                    None if pd.isna(pid) else pid,
                    rule.column,
                    rule.message,
                    cell_text(values[i]),
                    related=related,
                )
            )
    return out


def warning_mask(frame: pd.DataFrame, rule: Rule) -> np.ndarray:
    """Rows breaking a plausibility rule (missing values never do)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return rule.violated(frame).fillna(False).to_numpy(dtype=bool)
