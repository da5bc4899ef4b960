"""Load and validate a cohort and its CAR-T kinetics against the data contract.

The public entry points. The contract itself (columns, kinds, allowed values, rules) is
declared in :mod:`analysis.registry.contract` and written for users in ``data/README.md``; files
are read and cells parsed by :mod:`analysis.inputs.readers`; the rules are run by
:mod:`analysis.inputs.rules`. Every violation of both files is raised together as one
:class:`InputError`.

Public API: :func:`load_cohort`, :func:`load_kinetics`, :func:`load_study`,
:class:`Study`, :class:`Violation`, :class:`InputError`, :func:`parse_cutoff`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.inputs.errors import InputError, Violation
from analysis.inputs.readers import (
    NO_MAPPING,
    ColumnMapping,
    check_header,
    is_marker_line,
    open_source,
    parse_chunk,
    parse_column,
)
from analysis.inputs.rules import days_to_last_followup, schema_violations
from analysis.registry.contract import (
    BOOLEAN,
    COHORT_FIELDS,
    COHORT_RULES,
    DEFAULT_CUTOFF,
    INTEGER,
    ISO_DATE,
    KINETICS_FIELDS,
    NUMBER,
    RESPONSE_ASSESSMENT_DAY,
    SEX,
    STATUS,
    TEXT,
    Field,
    kinetics_rules,
)

__all__ = ["InputError", "Study", "Violation", "load_cohort", "load_kinetics", "load_study", "parse_cutoff"]


def parse_cutoff(value: str | dt.date | None) -> dt.date:
    """The data cut-off as a date: ``YYYY-MM-DD`` text, a date or a datetime."""
    if value is None:
        value = DEFAULT_CUTOFF
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(ISO_DATE, value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"the cut-off must be a date YYYY-MM-DD, got {value!r}")


# --------------------------------------------------------------------------- one table


@dataclass
class _Loaded:
    frame: pd.DataFrame | None  # parsed frame (index: data row - 2), None when unreadable
    violations: list[Violation]
    comments: list[str]
    notes: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # columns that may be absent and were (Field.may_be_absent)


def _load(
    path,
    fields: tuple[Field, ...],
    rules,
    *,
    what: str,
    cutoff: dt.date | None,
    mapping: ColumnMapping = NO_MAPPING,
    sheet: str | None = None,
) -> _Loaded:
    """Read and validate one table; file-level problems end the reading early."""
    path = Path(path)
    try:
        source = open_source(path, sheet=sheet, headers=mapping.headers(fields))
        positions, violations = check_header(source.header, fields, what)
        numbers = {
            positions[f.name]
            for f in fields
            if f.kind in (NUMBER, INTEGER) and f.name in positions and f.name not in mapping.values
        }  # mapped cells are read as text
        parsed = [parse_chunk(chunk, fields, positions, mapping) for chunk in source.chunks(numbers)]
    except InputError as err:
        return _Loaded(None, _with_file(err.violations, path), [])

    frame = pd.concat([p[0] for p in parsed]) if parsed else pd.DataFrame()
    bad = pd.concat([p[1] for p in parsed]) if parsed else pd.DataFrame()
    violations += [v for p in parsed for v in p[2]]
    if frame.empty:
        noun = "patients" if what == "cohort" else "samples"
        violations.append(Violation(None, None, None, f"no {noun}: the file has a header but no data rows"))
        return _Loaded(None, _with_file(violations, path), source.comments, source.notes)

    absent = tuple(f.name for f in fields if f.may_be_absent and f.name not in frame)
    for field in fields:  # a missing column: all missing, already reported once (or allowed to be absent)
        if field.name not in frame:
            frame[field.name] = parse_column(pd.Series("", index=frame.index, dtype=object), field.kind)[0]
            bad[field.name] = not field.may_be_absent
    frame = frame[[f.name for f in fields]]
    violations += schema_violations(frame, bad, fields, rules, cutoff)
    order = {f.name: i for i, f in enumerate(fields)}
    violations.sort(key=lambda v: (v.row is not None, v.row or 0, order.get(v.column, len(order))))
    return _Loaded(frame, _with_file(violations, path), source.comments, source.notes, absent)


def _with_file(violations: Iterable[Violation], path: Path) -> list[Violation]:
    return [Violation(v.row, v.patient_id, v.column, v.rule, v.value, str(path), v.related) for v in violations]


def _finish(frame: pd.DataFrame, fields: tuple[Field, ...]) -> pd.DataFrame:
    """The validated frame in its output dtypes (see data/README.md)."""
    out = frame.reset_index(drop=True)
    for field in fields:
        if field.kind == INTEGER and field.required:
            out[field.name] = out[field.name].astype("int64")
        elif field.kind == BOOLEAN and field.required:
            out[field.name] = out[field.name].astype(bool)
        elif field.kind in (TEXT, SEX, STATUS):
            out[field.name] = out[field.name].astype(object)
    if "seizure" in out:
        out["seizure"] = out["seizure"].fillna(False)
    return out


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, eq=False)
class Study:
    """A validated cohort (raw-normalised, not yet prepared) and its kinetics.

    ``notes`` are for the user, not errors: e.g. which sheet of a workbook holding
    several tables was read."""

    cohort: pd.DataFrame
    kinetics: pd.DataFrame | None
    cutoff: dt.date
    cohort_path: Path
    kinetics_path: Path | None
    is_synthetic: bool
    notes: tuple[str, ...] = ()
    #: optional columns the cohort file did not have (``hsct_date``): read as empty, and the
    #: report says they were not recorded rather than that nothing happened
    absent_columns: tuple[str, ...] = ()


def _empty_path(path) -> bool:
    """An empty file name (``Path("")`` would be the current folder)."""
    return isinstance(path, str) and not path.strip()


def _empty_name(what: str) -> _Loaded:
    return _Loaded(
        None, [Violation(None, None, None, f"no file name given for the {what} table (an empty path)", file=what)], []
    )


def _cohort(path, cutoff, sheet: str | None = None, mapping: ColumnMapping = NO_MAPPING) -> _Loaded:
    if _empty_path(path):
        return _empty_name("cohort")
    loaded = _load(
        path, COHORT_FIELDS, COHORT_RULES, what="cohort", cutoff=parse_cutoff(cutoff), sheet=sheet, mapping=mapping
    )
    if loaded.frame is not None and not loaded.violations:
        loaded.violations += _with_file(_followup_violations(loaded.frame), Path(path))
    return loaded


def _followup_violations(frame: pd.DataFrame) -> list[Violation]:
    """A cohort in which no patient is followed beyond the day of infusion (everyone censored
    or dead on day 0) is refused as a whole: no survival or response analysis is possible."""
    days = (frame["last_followup_date"] - frame["infusion_date"]).dt.days
    if days.isna().any() or (days > 0).any():
        return []
    died = int(frame["death_date"].notna().sum())
    n = len(frame)
    whom = f"all {n} patients" if n > 1 else "the only patient"
    return [
        Violation(
            None,
            None,
            "last_followup_date",
            f"no patient is followed beyond the day of infusion ({whom}: {died} died on day 0, {n - died} censored "
            "on day 0): no survival or response analysis is possible; check last_followup_date and death_date",
        )
    ]


def _kinetics(
    path, cohort_ids: pd.Series | None, followup_days: pd.Series | None = None, mapping: ColumnMapping = NO_MAPPING
) -> _Loaded:
    if _empty_path(path):
        return _empty_name("kinetics")
    return _load(
        path, KINETICS_FIELDS, kinetics_rules(cohort_ids, followup_days), what="kinetics", cutoff=None, mapping=mapping
    )


def load_cohort(path, cutoff=DEFAULT_CUTOFF, sheet: str | None = None) -> pd.DataFrame:
    """Read and validate a cohort table; raise :class:`InputError` listing every violation.
    ``sheet`` names the sheet of a workbook to read (default: its active visible sheet)."""
    loaded = _cohort(path, cutoff, sheet)
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, COHORT_FIELDS)


def load_kinetics(path, cohort: pd.DataFrame) -> pd.DataFrame:
    """Read and validate a kinetics table against a validated cohort."""
    loaded = _kinetics(path, cohort["patient_id"], days_to_last_followup(cohort))
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, KINETICS_FIELDS)


def load_study(
    cohort_path,
    kinetics_path=None,
    cutoff=DEFAULT_CUTOFF,
    *,
    sheet: str | None = None,
    mapping: ColumnMapping = NO_MAPPING,
) -> Study:
    """Load a cohort and optionally its kinetics; the violations of both files are raised together.

    ``sheet`` names the sheet of the cohort workbook to read (default: its active visible
    sheet); ``mapping`` (from a study file) maps the export's headers and values onto the
    contract.
    """
    cutoff = parse_cutoff(cutoff)
    cohort = _cohort(cohort_path, cutoff, sheet, mapping)
    violations = list(cohort.violations)
    kinetics = None
    if kinetics_path is not None:
        ids = None if cohort.frame is None else cohort.frame["patient_id"]
        if ids is not None and ids.isna().all():  # no usable patient_id column: nothing to check against
            ids = None
        kinetics = _kinetics(kinetics_path, ids, None if ids is None else days_to_last_followup(cohort.frame), mapping)
        violations += kinetics.violations
    if violations:
        raise InputError(violations)
    return Study(
        cohort=_finish(cohort.frame, COHORT_FIELDS),
        kinetics=None if kinetics is None else _finish(kinetics.frame, KINETICS_FIELDS),
        cutoff=cutoff,
        cohort_path=Path(cohort_path),
        kinetics_path=None if kinetics_path is None else Path(kinetics_path),
        is_synthetic=bool(cohort.comments) and is_marker_line(cohort.comments[0]),
        notes=cohort.notes
        + _short_cr_notes(cohort.frame, Path(cohort_path))
        + (() if kinetics is None else kinetics.notes),
        absent_columns=cohort.absent,
    )


def _short_cr_notes(frame: pd.DataFrame, path: Path) -> tuple[str, ...]:
    """A note counting the patients in CR at day 30 whose follow-up ends before day 30."""
    days = (frame["last_followup_date"] - frame["infusion_date"]).dt.days
    short = frame["cr_day30"].fillna(False).astype(bool) & (days < RESPONSE_ASSESSMENT_DAY).fillna(False)
    n = int(short.sum())
    if not n:
        return ()
    who = "patient" if n == 1 else "patients"
    return (
        f"{path.name}: {n} {who} in CR at day {RESPONSE_ASSESSMENT_DAY} (cr_day30) followed for fewer than "
        f"{RESPONSE_ASSESSMENT_DAY} days (last follow-up on day {int(days[short].min())}"
        + (f"–{int(days[short].max())}" if days[short].max() > days[short].min() else "")
        + f"): the flow diagram counts them as evaluable in CR, and a landmark analysis at day "
        f"{RESPONSE_ASSESSMENT_DAY} or later leaves them out (their follow-up ends before it)",
    )
