"""Load and validate a cohort and its CAR-T kinetics against the data contract.

The contract is written for users in ``data/README.md``; this module enforces it.

Reading
    CSV (UTF-8, a UTF-8 byte-order mark is accepted; lines above the header beginning
    with ``#`` are comments; LF, CR LF or CR line endings) or Excel ``.xlsx`` (the named
    sheet, else the active visible one; header on row 1; the used range only). The first
    bytes of a file are sniffed before anything else, so a file that is not a table
    fails fast; a path that is not a regular file (a FIFO) is never opened; nothing in a
    data file is ever executed or unpickled. No row is dropped without a reported reason
    except a blank one.

Validation
    Every cell is parsed with vectorised pandas operations (numbers, whole numbers,
    ``YYYY-MM-DD`` dates, booleans, sex, disease status). Required values, ranges,
    plausible dates and numbers (:data:`EARLIEST_DATE`, the data cut-off, today,
    :data:`MAX_NUMBER`), uniqueness and the cross-column rules of the data dictionary are
    pandera checks run lazily, so every violation of a file is collected. All of them
    are raised together as one :class:`InputError`; a cell that could not be parsed is
    reported once, not again by the rules that read it.

Public API: :func:`load_cohort`, :func:`load_kinetics`, :func:`load_study`,
:class:`Study`, :class:`Violation`, :class:`InputError`, :func:`parse_cutoff`.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import os
import re
import stat
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field  # 'field' names a data-contract field below
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from analysis.synthetic import is_marker_line

#: Data cut-off of the publication; every date after it is an error.
DEFAULT_CUTOFF = "2023-03-01"

#: Plausible dates: no CAR-T infusion, and so no later event of the cohort, before this
#: date; none after the data cut-off or after today (a cut-off in the future allows none).
EARLIEST_DATE = dt.date(2000, 1, 1)
#: Largest number accepted in any number column: far above any laboratory value, and far
#: enough below the float maximum (1.8e308) that sums and means of a million values stay finite.
MAX_NUMBER = 1e12

#: Bytes read to recognise a file (encoding, separator, header) before parsing it.
SNIFF_BYTES = 64 * 1024

#: CSV rows parsed at a time: raw text is only ever held for one chunk.
CHUNK_ROWS = 200_000

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other MS Office binaries)
_MISSING_WORDS = {"NA", "N/A", "NAN", "NULL", "NONE", "MISSING", "-", "."}


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    ``row`` is the row a user sees in a spreadsheet: the header is row 1, so the first
    patient is row 2 (comment lines above the header of a CSV file are not counted).
    ``row`` is ``None`` for a problem with the whole file (encoding, missing column...).
    ``file`` names the file when a study has two (cohort and kinetics). ``related``
    shows the other values a cross-column rule compared (``"cr_date = 2024-03-20"``).
    """

    row: int | None
    patient_id: str | None
    column: str | None
    rule: str
    value: str | None = None
    file: str | None = None
    related: str | None = None


class InputError(Exception):
    """Bad input: every :class:`Violation` found, raised together."""

    def __init__(self, violations: Iterable[Violation]):
        self.violations: list[Violation] = list(violations)
        super().__init__(self.violations)  # args round-trip through pickle

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        """A readable table per file: row, patient_id, column, rule, value."""
        by_file: dict[str | None, list[Violation]] = defaultdict(list)
        for v in self.violations:
            by_file[v.file].append(v)
        blocks = []
        for file, violations in by_file.items():
            n = len(violations)
            title = f"{file or 'input'}: {n} problem{'s' if n != 1 else ''}"
            if any(v.row is not None for v in violations):
                title += " (rows numbered as in a spreadsheet: the header is row 1)"
            cells: list[tuple[str, ...]] = [("row", "patient_id", "column", "rule", "value", "related value")]
            cells += [
                (
                    "-" if v.row is None else str(v.row),
                    _clip(v.patient_id, 20) if v.patient_id is not None else "-",
                    v.column or "-",
                    v.rule,
                    _clip(v.value, 40) if v.value is not None else "",
                    _clip(v.related, 40) if v.related is not None else "",
                )
                for v in violations
            ]
            if not any(v.related for v in violations):
                cells = [c[:5] for c in cells]
            widths = [min(max(len(c[i]) for c in cells), cap)
                      for i, cap in enumerate((7, 20, 24, 64, 40, 40)[:len(cells[0])])]
            lines = [title]
            for c in cells:
                line = "  ".join(text.ljust(width) for text, width in zip(c, widths))
                lines.append("  " + line.rstrip())
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def _clip(text: str, width: int) -> str:
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= width else text[: width - 3] + "..."


def _file_error(rule: str, value: str | None = None, *, row: int | None = None,
                column: str | None = None) -> InputError:
    return InputError([Violation(row, None, column, rule, value)])


# --------------------------------------------------------------------------- export mapping


@dataclass(frozen=True)
class ColumnMapping:
    """How an export's headers and values map onto the contract (the study file's
    ``columns``, ``kinetics_columns``, ``values`` and ``date_format``), applied while
    reading, before any rule is checked.

    ``columns``: contract name -> export header (both tables; ``kinetics_columns``
    overrides it for the kinetics table). ``values``: contract column -> {export value:
    contract value}, matched on the cell's text without surrounding spaces and in any
    case; a contract value of None makes the cell empty. ``date_format``: a ``strptime``
    format (e.g. ``"%d/%m/%Y"``) read in date columns where a cell is not ``YYYY-MM-DD``.
    """

    columns: dict[str, str] = dataclass_field(default_factory=dict)
    kinetics_columns: dict[str, str] = dataclass_field(default_factory=dict)
    values: dict[str, dict] = dataclass_field(default_factory=dict)
    date_format: str | None = None

    def headers(self, fields: tuple[_Field, ...]) -> dict[str, str]:
        """Export header -> contract name, for the contract columns of ``fields``."""
        names = {f.name for f in fields}
        chosen = {k: v for k, v in self.columns.items() if k in names}
        if fields is KINETICS_FIELDS:
            chosen.update(self.kinetics_columns)
        return {str(header).strip(): name for name, header in chosen.items()}

    def value_table(self, column: str) -> dict[str, str] | None:
        """Lower-cased export text -> contract text ("" = empty) for one column."""
        table = self.values.get(column)
        if not table:
            return None
        return {_value_text(k).strip().lower(): "" if v is None else _value_text(v) for k, v in table.items()}


def _value_text(value) -> str:
    """A YAML scalar as the text a cell holds: true -> "true", 1.0 -> "1"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


NO_MAPPING = ColumnMapping()


# --------------------------------------------------------------------------- contract

_TEXT, _NUMBER, _INTEGER, _DATE, _BOOLEAN, _SEX, _STATUS = (
    "text", "number", "integer", "date", "boolean", "sex", "status"
)

#: pandas dtype of each kind of column while it is validated (nullable everywhere).
_PANDERA_DTYPE = {
    _TEXT: object, _SEX: object, _STATUS: object,  # str values; "object" spares a per-cell type check
    _NUMBER: "float64", _INTEGER: "Int64", _DATE: "datetime64[ns]", _BOOLEAN: "boolean",
}


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str
    required: bool = False
    checks: tuple[pa.Check, ...] = ()


@dataclass(frozen=True)
class _Rule:
    """A cross-column rule: ``violated(frame)`` is True on rows breaking it.

    It is written null-safe (a missing or unparseable value never breaks it) and is
    reported on ``column``. ``columns`` are the columns it reads; for a ``duplicate``
    rule, the key whose other rows the message lists.
    """

    column: str
    message: str
    columns: tuple[str, ...]
    violated: Callable[[pd.DataFrame], pd.Series]
    duplicate: bool = False  # list the other rows holding the same key in the message

    @property
    def key(self) -> str:
        return f"{self.column}: {self.message}"


def _between(lo, hi) -> pa.Check:
    return pa.Check.in_range(lo, hi, error=f"must be between {lo} and {hi}")


_GE0 = pa.Check.ge(0, error="must be >= 0")
_GT0 = pa.Check.gt(0, error="must be > 0")
_GRADE = _between(0, 5)

COHORT_FIELDS: tuple[_Field, ...] = (
    _Field("patient_id", _TEXT, True),
    _Field("center", _TEXT, True),
    _Field("infusion_date", _DATE, True),
    _Field("age", _NUMBER, True, (_between(0, 120),)),
    _Field("sex", _SEX, True),
    _Field("ph_positive", _BOOLEAN, True),
    _Field("disease_status", _STATUS, True),
    _Field("n_relapses", _INTEGER, True, (_GE0,)),
    _Field("prior_lines", _INTEGER, True, (_GE0,)),
    _Field("bm_blasts_pct", _NUMBER, True, (_between(0, 100),)),
    _Field("cart_dose_1e6_per_kg", _NUMBER, True, (_GT0,)),
    _Field("il6_peak_pg_ml", _NUMBER, False, (_GE0,)),
    _Field("ferritin_peak_ng_ml", _NUMBER, False, (_GE0,)),
    _Field("crs_grade", _INTEGER, True, (_GRADE,)),
    _Field("crs_onset_day", _INTEGER, False, (_GE0,)),
    _Field("icans_grade", _INTEGER, True, (_GRADE,)),
    _Field("icans_onset_day", _INTEGER, False, (_GE0,)),
    _Field("seizure", _BOOLEAN, False),
    _Field("steroids", _BOOLEAN, True),
    _Field("dex_equiv_cum_mg", _NUMBER, False, (_GE0,)),
    _Field("tocilizumab", _BOOLEAN, True),
    _Field("tocilizumab_cum_mg", _NUMBER, False, (_GE0,)),
    _Field("cr_day30", _BOOLEAN, True),
    _Field("mrd_negative", _BOOLEAN, False),
    _Field("cr_date", _DATE, False),
    _Field("relapse_date", _DATE, False),
    _Field("death_date", _DATE, False),
    _Field("last_followup_date", _DATE, True),
)

KINETICS_FIELDS: tuple[_Field, ...] = (
    _Field("patient_id", _TEXT, True),
    _Field("day", _INTEGER, True, (_GE0,)),
    _Field("car_copies_per_ug", _NUMBER, True, (_GE0,)),
)


def _true(s: pd.Series) -> pd.Series:
    """Nullable boolean -> plain bool, missing counting as False."""
    return s.fillna(False).astype(bool)


def _onset_rules(event: str) -> tuple[_Rule, ...]:
    grade, onset = f"{event}_grade", f"{event}_onset_day"
    return (
        _Rule(onset, f"required when {grade} > 0", (grade, onset),
              lambda d: _true(d[grade].gt(0)) & d[onset].isna()),
        _Rule(onset, f"must be empty when {grade} is 0", (grade, onset),
              lambda d: _true(d[grade].eq(0)) & d[onset].notna()),
    )


def _date_order(column: str, other: str, strict: bool = False, before: bool = False) -> _Rule:
    """``column`` must be on or after ``other`` (``strict``: after; ``before``: on or before)."""
    if before:
        message, violated = f"must be on or before {other}", lambda d: d[column] > d[other]
    elif strict:
        message, violated = f"must be after {other}", lambda d: d[column] <= d[other]
    else:
        message, violated = f"must be on or after {other}", lambda d: d[column] < d[other]
    return _Rule(column, message, (column, other), violated)


COHORT_RULES: tuple[_Rule, ...] = (
    _Rule("patient_id", "duplicate patient_id", ("patient_id",),
          lambda d: d["patient_id"].notna() & d["patient_id"].duplicated(keep=False), duplicate=True),
    *_onset_rules("crs"),
    *_onset_rules("icans"),
    _Rule("seizure", "a seizure is an ICANS event: requires icans_grade > 0", ("seizure", "icans_grade"),
          lambda d: _true(d["seizure"]) & _true(d["icans_grade"].eq(0))),
    _Rule("mrd_negative", "required when cr_day30 is true", ("cr_day30", "mrd_negative"),
          lambda d: _true(d["cr_day30"]) & d["mrd_negative"].isna()),
    _Rule("mrd_negative", "must be empty or false when cr_day30 is false", ("cr_day30", "mrd_negative"),
          lambda d: _true(d["cr_day30"].eq(False)) & _true(d["mrd_negative"])),
    _Rule("cr_date", "required when cr_day30 is true", ("cr_day30", "cr_date"),
          lambda d: _true(d["cr_day30"]) & d["cr_date"].isna()),
    _Rule("cr_date", "must be empty when cr_day30 is false", ("cr_day30", "cr_date"),
          lambda d: _true(d["cr_day30"].eq(False)) & d["cr_date"].notna()),
    _date_order("cr_date", "infusion_date"),
    _Rule("relapse_date", "only for patients in CR (cr_day30 true)", ("cr_day30", "relapse_date"),
          lambda d: _true(d["cr_day30"].eq(False)) & d["relapse_date"].notna()),
    _date_order("relapse_date", "cr_date", strict=True),
    _date_order("relapse_date", "death_date", before=True),
    _date_order("death_date", "infusion_date"),
    _date_order("death_date", "cr_date"),
    _date_order("last_followup_date", "infusion_date"),
    _date_order("last_followup_date", "cr_date"),
    _date_order("last_followup_date", "relapse_date"),
    _Rule("last_followup_date", "must equal death_date for a patient who died",
          ("last_followup_date", "death_date"),
          lambda d: d["death_date"].notna() & d["last_followup_date"].notna()
          & d["last_followup_date"].ne(d["death_date"])),
)


def _followup_days(cohort: pd.DataFrame | None) -> pd.Series | None:
    """Days from infusion to last follow-up by patient_id (patients with a unique id and
    both dates), or None without a usable cohort."""
    if cohort is None or not {"patient_id", "infusion_date", "last_followup_date"} <= set(cohort.columns):
        return None
    days = (cohort["last_followup_date"] - cohort["infusion_date"]).dt.days
    known = cohort["patient_id"].notna() & ~cohort["patient_id"].duplicated(keep=False) & days.notna()
    return pd.Series(days[known].to_numpy(dtype=float), index=cohort["patient_id"][known].to_numpy())


def _kinetics_rules(cohort_ids: pd.Series | None, followup_days: pd.Series | None = None) -> tuple[_Rule, ...]:
    rules = [
        _Rule("day", "duplicate sample: same patient_id and day", ("patient_id", "day"),
              lambda d: d["patient_id"].notna() & d["day"].notna()
              & d.duplicated(["patient_id", "day"], keep=False), duplicate=True),
    ]
    if cohort_ids is not None:
        known = pd.Index(cohort_ids.dropna().unique())
        rules.append(_Rule("patient_id", "not a patient_id of the cohort", ("patient_id",),
                           lambda d: d["patient_id"].notna() & ~d["patient_id"].isin(known)))
    if followup_days is not None:
        rules.append(_Rule("day", "after the patient's last follow-up (last_followup_date - infusion_date "
                           "in the cohort)", ("patient_id", "day"),
                           lambda d: _true(d["day"].astype("Float64") > d["patient_id"].map(followup_days))))
    return tuple(rules)


# --------------------------------------------------------------------------- parsing
# A parser takes the cells of one column as text ("" = empty; CSV and Excel cells
# alike) and returns (values, ok): the parsed values (missing where not ok) and
# whether each cell parsed. It runs on the text as found; only the cells that fail
# are stripped of surrounding spaces and parsed again (see _parse_column), so the
# common, clean cell costs a single vectorised pass. A message function words the
# violation for a cell that still fails; it is only ever called on those cells.


def _na_hint(message: str, value: str) -> str:
    if value.upper() in _MISSING_WORDS:
        return f"{message} (leave the cell empty for a missing value)"
    return message


#: Longest cell for which text cells are copied to a fixed-width numpy array (whose size
#: is rows x longest cell) to be tested by vectorised string functions.
_FIXED_WIDTH_MAX = 256


def _fixed_width(s: pd.Series) -> np.ndarray | None:
    """The cells as a fixed-width numpy string array, for numpy's vectorised string
    functions (a Python call per cell costs seconds at 10^6 rows); None when a cell is
    not a ``str`` or is longer than :data:`_FIXED_WIDTH_MAX`. (Trailing NUL characters
    are lost in such an array: it is only used to find the cells to look at.)"""
    if s.dtype != object or len(s) == 0 or pd.api.types.infer_dtype(s, skipna=False) != "string":
        return None
    cells = s.to_numpy()
    width = int(np.fromiter(map(len, cells), dtype=np.int64, count=len(cells)).max())
    return cells.astype(f"U{max(width, 1)}") if width <= _FIXED_WIDTH_MAX else None


def _starts_with(s: pd.Series, prefix: str) -> np.ndarray:
    """Which cells are text starting with ``prefix`` (bool array)."""
    fixed = _fixed_width(s)
    if fixed is not None:
        return np.strings.startswith(fixed, prefix)
    return s.str.startswith(prefix).to_numpy(dtype=bool, na_value=False)


def _parse_text(s: pd.Series):
    fixed = _fixed_width(s)
    if fixed is None:
        values = s.str.strip()
    else:  # only the padded cells (same whitespace as str.strip) are stripped one by one
        padded = np.strings.str_len(np.strings.strip(fixed)) != np.strings.str_len(fixed)
        values = s.copy()
        if padded.any():
            values[padded] = s[padded].str.strip()
    ok = pd.Series(values.to_numpy(dtype=bool), index=s.index)  # not empty
    return values.where(ok), ok


def _parse_number(s: pd.Series):
    values = s if s.dtype != object else pd.to_numeric(s, errors="coerce")
    values = values.astype("float64")
    ok = pd.Series(np.isfinite(values.to_numpy()), index=s.index)
    return values.where(ok), ok


def _number_message(value: str) -> str:
    if re.fullmatch(r"[+-]?\d*,\d+", value):
        return "not a number (use a dot as the decimal separator)"
    return _na_hint("not a number", value)


def _parse_integer(s: pd.Series):
    numbers, ok = _parse_number(s)
    x = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        ok &= (x == np.floor(x)) & (np.abs(x) < 2**53)
    whole = np.where(ok, x, 0).astype("int64")
    return pd.Series(pd.arrays.IntegerArray(whole, ~ok.to_numpy()), index=s.index), ok


def _integer_message(value: str) -> str:
    return _na_hint("not a whole number", value)


def _parse_date(s: pd.Series, date_format: str | None = None):
    # format="%Y-%m-%d": "04/03/2021" fails; pandas accepts "2021-3-4" (documented in data/README.md).
    values = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    if date_format is not None:  # the study file's format, for the cells that are not ISO
        other = values.isna() & s.astype(bool)
        if other.any():
            values.loc[other] = pd.to_datetime(s[other], format=date_format, errors="coerce")
    return values, values.notna()


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def _date_message(value: str) -> str:
    if re.fullmatch(_ISO_DATE, value):
        return "not a valid calendar date"
    return _na_hint("not a date (use YYYY-MM-DD, e.g. 2021-03-04)", value)


def _words(s: pd.Series, meaning: Mapping[str, object]):
    """Cells matching a word of ``meaning`` in any case -> (the words' meanings, ok)."""
    codes, spellings = pd.factorize(s)  # a column holds few distinct spellings: look those up
    found = [meaning.get(spelling.strip().lower()) for spelling in spellings]
    ok = np.array([value is not None for value in found] + [False])[codes]
    values = np.array(found + [None], dtype=object)[codes]
    return pd.Series(values, index=s.index), pd.Series(ok, index=s.index)


_BOOLEAN_WORDS = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False,
                  "y": True, "n": False}


def _parse_boolean(s: pd.Series):
    values, ok = _words(s, _BOOLEAN_WORDS)
    flags = values.where(ok, False).astype(bool).to_numpy()
    return pd.Series(pd.arrays.BooleanArray(flags, ~ok.to_numpy()), index=s.index), ok


def _boolean_message(value: str) -> str:
    return _na_hint("not a boolean (use yes/no, true/false, 1/0 or y/n)", value)


_SEX_WORDS = {"m": "M", "male": "M", "f": "F", "female": "F"}
_STATUS_WORDS = {"relapsed": "relapsed", "primary_refractory": "primary_refractory",
                 "primary refractory": "primary_refractory", "primary-refractory": "primary_refractory"}

_PARSERS = {
    _TEXT: (_parse_text, None),
    _NUMBER: (_parse_number, _number_message),
    _INTEGER: (_parse_integer, _integer_message),
    _DATE: (_parse_date, lambda v: _date_cell_message(v)),  # defined with the plausibility bounds
    _BOOLEAN: (_parse_boolean, _boolean_message),
    _SEX: (lambda s: _words(s, _SEX_WORDS), lambda v: _na_hint("must be M or F (male/female accepted)", v)),
    _STATUS: (lambda s: _words(s, _STATUS_WORDS),
              lambda v: _na_hint("must be relapsed or primary_refractory", v)),
}


def _parse_column(raw: pd.Series, kind: str, date_format: str | None = None):
    """Parse one column -> (values, cells, present, bad).

    ``raw`` is text ("" = empty), or numbers the CSV reader already parsed (empty =
    NaN). ``cells`` are the cells as found, stripped where the first pass failed;
    ``bad`` marks the non-empty cells that did not parse.
    """
    parse = _PARSERS[kind][0]
    if kind == _DATE and date_format is not None:
        parse = lambda s: _parse_date(s, date_format)  # noqa: E731
    if raw.dtype != object:
        values, ok = parse(raw)
        present = raw.notna()
        return values, raw, present, present & ~ok
    if kind in (_NUMBER, _INTEGER):
        raw = raw.fillna("")  # the CSV reader's NaN for empty cells of a number column
    values, ok = parse(raw)
    present = pd.Series(raw.to_numpy(dtype=bool), index=raw.index)  # non-empty text
    retry = present & ~ok
    if retry.any():  # padded cells, whitespace-only cells and true failures
        stripped = raw[retry].str.strip()
        values.loc[retry], ok.loc[retry] = parse(stripped)
        raw = raw.copy()
        raw.loc[retry] = stripped
        present.loc[retry] = stripped.ne("")
    return values, raw, present, present & ~ok


def parse_cutoff(value: str | dt.date | None) -> dt.date:
    """The data cut-off as a date: ``YYYY-MM-DD`` text, a date or a datetime."""
    if value is None:
        value = DEFAULT_CUTOFF
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(_ISO_DATE, value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"the cut-off must be a date YYYY-MM-DD, got {value!r}")


# --------------------------------------------------------------------------- reading


@dataclass
class _Source:
    """A table being read: header names, then raw text chunks (columns by position)."""

    header: list[str]
    chunks: Callable[[set[int]], Iterator[pd.DataFrame]]  # argument: positions of number columns
    comments: list[str]
    notes: tuple[str, ...] = ()  # for the user, e.g. which sheet of a workbook was read


def _not_a_file(mode: int) -> str | None:
    """What a path that is not a regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"  # opening it would wait for a writer, possibly forever
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def _open_source(path: Path, sheet: str | None = None) -> _Source:
    """The table of a file; ``sheet`` names the sheet of a workbook to read."""
    try:
        kind = _not_a_file(os.stat(path).st_mode)
        if kind is not None:
            raise _file_error(f"cannot read the file: it is {kind}, not a file", str(path))
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise _file_error(f"cannot read the file: {exc.strerror or exc}", str(path)) from None
    if not head.strip() or head.strip() == codecs.BOM_UTF8:
        raise _file_error("empty file")
    if head.startswith(_XLSX_MAGIC):
        return _xlsx_source(path, sheet=sheet)
    if sheet is not None:
        raise _file_error(f"sheet '{sheet}' is named, but the file is not an Excel workbook")
    if head.startswith(_OLE_MAGIC):
        raise _file_error("an old binary Excel (.xls) or other Office file: save it as .xlsx or as CSV UTF-8")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise _file_error("not a valid .xlsx workbook (the file is not a zip archive)")
    return _csv_source(path, head)


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    controls = sum(data.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return controls > max(8, len(data) // 100)


def _line_of(data: bytes, offset: int, newline: bytes = b"\n") -> int:
    return data.count(newline, 0, offset) + 1


def _not_utf8(byte: int, line: int) -> InputError:
    return _file_error(
        f"not UTF-8 text (byte 0x{byte:02X} on line {line} of the file, probably Latin-1/Windows-1252): "
        "re-save the file as UTF-8, e.g. Excel 'CSV UTF-8 (comma delimited)'"
    )


def _locate_bad_utf8(path: Path, newline: bytes = b"\n") -> InputError:
    """Error path only: find the first byte that is not UTF-8, and its line."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line = 1
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the last block
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = min(max(exc.start - pending, 0), len(block) - 1)
                return _not_utf8(block[bad], line + block.count(newline, 0, bad))
            line += block.count(newline)
    return _file_error("not UTF-8 text: re-save the file as UTF-8")


_UTF16 = "UTF-16 text (Excel 'Unicode Text'): re-save the file as CSV UTF-8 (comma delimited)"


def _utf16_without_bom(data: bytes) -> bool:
    """Mostly ASCII text in UTF-16 without a byte-order mark: every other byte is NUL."""
    data = data[:4096]
    data = data[: len(data) // 2 * 2]
    if len(data) < 8:
        return False
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    return any(zeros.count(0) >= 0.9 * half and text.count(0) <= 0.1 * half
               for zeros, text in ((odd, even), (even, odd)))  # little- or big-endian


def _csv_source(path: Path, head: bytes) -> _Source:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(head):
        raise _file_error(_UTF16)
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if _looks_binary(head[start:]):
        raise _file_error("not a CSV table: the file holds binary data")
    # Lines end with LF or CR LF; CR alone is Excel for Mac's "CSV (Macintosh)".
    newline = "\r" if b"\r" in head and b"\n" not in head else "\n"
    whole_file = len(head) < SNIFF_BYTES
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head[start:], final=whole_file)
    except UnicodeDecodeError as exc:
        raise _not_utf8(head[start + exc.start], _line_of(head, start + exc.start, newline.encode())) from None

    # Comment and blank lines above the header; the header is the first other line.
    lines = text.split(newline)
    complete = lines if whole_file else lines[:-1]
    comments: list[str] = []
    offset = start
    for line in complete:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            header_line = line.rstrip("\r")
            break
        if stripped:
            comments.append(stripped)
        offset += len(line.encode("utf-8")) + 1
    else:
        if whole_file:
            raise _file_error("empty file (no header line, only comments or blank lines)")
        raise _file_error(f"not a CSV table: no header line in the first {SNIFF_BYTES // 1024} KB")

    n_comma, n_semicolon, n_tab = (header_line.count(c) for c in ",;\t")
    if n_semicolon > n_comma:
        raise _file_error("semicolon-separated values: save the file with commas as separators "
                          "(Excel: 'CSV UTF-8 (comma delimited)')", _clip(header_line, 60))
    if n_tab > n_comma:
        raise _file_error("tab-separated values: save the file with commas as separators",
                          _clip(header_line, 60))
    try:
        header = [name.strip() for name in next(csv.reader([header_line]))]
    except csv.Error:  # a CR inside the line: mixed line endings
        raise _file_error("mixed line endings (a CR alone inside the header line): re-save the file as "
                          "CSV UTF-8 (comma delimited)", _clip(header_line, 60)) from None

    def chunks(numbers: set[int]) -> Iterator[pd.DataFrame]:
        # Cells are read as text, except number columns: the C reader parses those
        # (empty -> NaN) and falls back to text for a chunk holding a non-number.
        with open(path, "rb") as fh:
            fh.seek(offset)
            try:  # the reader decodes its first block (about 256 KB) when it is created
                reader = pd.read_csv(
                    fh, header=0, names=range(len(header)), index_col=False, engine="c",
                    dtype={i: str for i in range(len(header)) if i not in numbers},
                    keep_default_na=False, na_values={i: [""] for i in numbers},
                    skip_blank_lines=False, encoding="utf-8", chunksize=CHUNK_ROWS,
                    lineterminator=None if newline == "\n" else newline,
                )
                yield from reader
            except UnicodeDecodeError:
                raise _locate_bad_utf8(path, newline.encode()) from None
            except pd.errors.ParserError as exc:
                raise _parser_error(str(exc), len(header)) from None

    return _Source(header, chunks, comments)


def _parser_error(message: str, n_columns: int) -> InputError:
    if m := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message):
        return _file_error(
            f"{m[3]} values but the header has {n_columns} columns: "
            "put values that contain a comma in double quotes", row=int(m[2]))
    if m := re.search(r"EOF inside string starting at row (\d+)", message):
        return _file_error('unclosed double quote (")', row=int(m[1]) + 1)
    return _file_error(f"cannot parse the CSV file: {message}")


# Excel ---------------------------------------------------------------------------


def _is_formula(value) -> bool:
    if isinstance(value, str):
        return value.startswith("=") and len(value) > 1
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def _xlsx_text(value):
    """An Excel cell as the text a CSV export would hold ("" = empty)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):  # NaN: a short row
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _xlsx_date_text(value):
    """A date cell (a date-formatted cell; a time of day is dropped). A plain number is
    not read as a date serial: ``2019`` typed in a date column would become 1905-07-11;
    it stays a number, which the date parser rejects."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return _xlsx_text(value)


def _has_value(row: tuple) -> bool:
    return row.count(None) != len(row)  # counted in C: the rows below the data can be a million


def _table_header(worksheet) -> bool:
    """Whether row 1 of a sheet names at least two columns of the contract."""
    known = {f.name for f in COHORT_FIELDS + KINETICS_FIELDS}
    first = next(worksheet.iter_rows(max_row=1, values_only=True), ())
    return len(known & {str(v).strip() for v in first if v is not None}) >= 2


def _choose_sheet(workbook, sheet: str | None, path: Path):
    """The sheet to read and a note naming it when other sheets hold a table too.

    Without a named sheet: the active sheet when it is visible, otherwise the first
    visible one. A hidden sheet (an old export left in the workbook) is never read
    unless named."""
    worksheets = workbook.worksheets
    if not worksheets:
        raise _file_error("the workbook has no worksheet")
    if sheet is not None:
        if sheet not in workbook.sheetnames:
            raise _file_error(f"no sheet named '{sheet}' in the workbook (its sheets: "
                              f"{', '.join(repr(name) for name in workbook.sheetnames)})")
        chosen = workbook[sheet]
        if chosen not in worksheets:
            raise _file_error(f"sheet '{sheet}' is a chart, not a table")
        return chosen, []
    visible = [ws for ws in worksheets if ws.sheet_state == "visible"]
    if not visible:
        raise _file_error("every sheet of the workbook is hidden: name the sheet to read")
    active = workbook.active
    chosen, why = (active, "the active sheet") if active in visible else (visible[0], "the first visible sheet")
    others = [ws for ws in worksheets if ws is not chosen and _table_header(ws)]
    if not others:
        return chosen, []
    listed = ", ".join(f"'{ws.title}'" + ("" if ws.sheet_state == "visible" else " (hidden)") for ws in others)
    return chosen, [f"{path.name}: read sheet '{chosen.title}' ({why}); other sheets with a table were not read: "
                    f"{listed}. Name the sheet to read if that is not the right one."]


def _xlsx_source(path: Path, sheet: str | None = None) -> _Source:
    import openpyxl  # only needed for workbooks

    def read(data_only: bool, sheet: str | None):
        """The rows of the sheet up to its last value, its title and the notes."""
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
        except Exception as exc:  # a damaged or foreign zip: bad input, never a crash
            raise _file_error(f"cannot open as an Excel .xlsx workbook ({type(exc).__name__}: {exc})") from None
        try:
            worksheet, notes = _choose_sheet(wb, sheet, path)
            rows, blank = [], 0
            # One formatted empty cell on row 1,048,576 makes openpyxl yield every row above
            # it: blank rows are counted, and kept only when a value follows them.
            for row in worksheet.iter_rows(values_only=True):
                if _has_value(row):
                    rows.extend([()] * blank)
                    blank = 0
                    rows.append(row)
                else:
                    blank += 1
            return rows, worksheet.title, notes
        finally:
            wb.close()

    rows, title, notes = read(data_only=False, sheet=sheet)
    if not rows:
        raise _file_error(f"empty workbook (sheet '{title}' has no values)")
    known = {f.name for f in COHORT_FIELDS + KINETICS_FIELDS}
    names = lambda row: [("" if v is None else str(v)).strip() for v in row]  # noqa: E731
    header = names(rows[0])
    if not known & set(header):
        for number, row in enumerate(rows[1:50], start=2):
            if len(known & set(names(row))) >= 2:
                raise _file_error(f"the header must be on row 1 of sheet '{title}' (it is on row {number}): "
                                  "delete the rows above it")
    while header and not header[-1]:
        header.pop()

    def chunks(numbers: set[int]) -> Iterator[pd.DataFrame]:
        width = len(header)
        body = pd.DataFrame([row[:width] for row in rows[1:]], columns=range(width), dtype=object)
        body.index = pd.RangeIndex(len(body))
        formulas = body.map(_is_formula) if len(body) else body.astype(bool)
        known_cols = [i for i, name in enumerate(header) if name in known]
        if formulas[known_cols].to_numpy().any():
            cached = pd.DataFrame([row[:width] for row in read(data_only=True, sheet=title)[0][1:]],
                                  columns=range(width), dtype=object)
            problems = []
            for i in known_cols:
                for r in formulas.index[formulas[i]]:  # the formula cells only
                    if pd.isna(cached.at[r, i]):
                        pid = body.at[r, header.index("patient_id")] if "patient_id" in header else None
                        problems.append(Violation(
                            r + 2, None if pid is None else str(pid), header[i],
                            "formula without a saved result: open and save the file in Excel, "
                            "or paste the values only", str(body.at[r, i])))
            if problems:
                raise InputError(problems)
            body = body.where(~formulas, cached)
        dates = {f.name for f in COHORT_FIELDS if f.kind == _DATE}
        for i, name in enumerate(header):
            convert = _xlsx_date_text if name in dates else _xlsx_text
            body[i] = body[i].map(convert)  # per cell: openpyxl reads cell by cell anyway
        yield body

    return _Source(header, chunks, [], tuple(notes))


# --------------------------------------------------------------------------- validation


@dataclass
class _Loaded:
    frame: pd.DataFrame | None  # parsed frame (index: data row - 2), None when unreadable
    violations: list[Violation]
    comments: list[str]
    notes: tuple[str, ...] = ()


def _check_header(header: list[str], fields: tuple[_Field, ...], what: str):
    """Column positions of the contract's columns, and header violations."""
    expected = [f.name for f in fields]
    positions: dict[str, int] = {}
    violations: list[Violation] = []
    for i, name in enumerate(header):
        if name in expected:
            if name in positions:
                violations.append(Violation(None, None, name, f"duplicate column (columns {positions[name] + 1} "
                                            f"and {i + 1}); the first is used", name))
            else:
                positions[name] = i
    if not positions:
        raise _file_error(
            f"not a {what} table: the header (first line) has none of the expected columns "
            f"({', '.join(expected[:4])}, ...). If the export has its own headers (e.g. REDCap labels), "
            "run `python -m analysis map EXPORT -o study.yml` and use --study study.yml",
            _clip(",".join(header), 60))
    missing = [name for name in expected if name not in positions]
    violations += [Violation(None, None, name, "missing column") for name in missing]
    for name in header:
        if name and name not in expected:
            match = difflib.get_close_matches(_normal_name(name), missing, n=1, cutoff=0.8)
            if match:
                violations.append(Violation(None, None, name, f"unknown column: did you mean {match[0]}?", name))
    return positions, violations


def _normal_name(name: str) -> str:
    """'Patient ID ' -> 'patient_id': case, spaces and punctuation do not matter."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _map_values(raw: pd.DataFrame, fields, positions, mapping: ColumnMapping) -> pd.DataFrame:
    """Replace export values by contract values (the study file's ``values``)."""
    out = raw
    for f in fields:
        table = mapping.value_table(f.name) if f.name in positions else None
        if table is None:
            continue
        column = raw[positions[f.name]]
        text = column if column.dtype == object else column.map(_display)
        key = text.fillna("").astype(str).str.strip().str.lower()
        hit = key.isin(table.keys())
        if hit.any():
            if out is raw:
                out = raw.copy()
            out[positions[f.name]] = text.mask(hit, key.map(table))
    return out


def _parse_chunk(raw: pd.DataFrame, fields, positions, mapping: ColumnMapping = NO_MAPPING):
    """Parse one chunk of text cells -> typed columns, mask of unparseable cells, their violations.

    Blank rows are dropped. A row is never dropped silently otherwise: a row whose only
    value is a first cell starting with ``#`` (a comment below the header) and a row
    with values only in columns the contract does not read are each reported once and
    left out. A row with a first cell such as ``#001`` and other values is data. The
    index (data row - 2) is kept, so row numbers stay those of the file.
    """
    raw = _map_values(raw, fields, positions, mapping)
    parsed = {f.name: _parse_column(raw[positions[f.name]], f.kind, mapping.date_format)
              for f in fields if f.name in positions}
    keep = np.zeros(len(raw), dtype=bool)
    beyond_first = np.zeros(len(raw), dtype=bool)  # a value in a column other than the first
    for name, (_, _, present, _) in parsed.items():
        keep |= present.to_numpy()
        if positions[name] != 0:
            beyond_first |= present.to_numpy()
    violations, unread = _unread_rows(raw, keep, beyond_first, set(positions.values()))
    keep &= ~unread
    patient_ids = parsed["patient_id"][0].to_numpy() if "patient_id" in parsed else np.full(len(raw), None)
    for field in fields:
        if field.name not in parsed:
            continue
        _, cells, _, bad = parsed[field.name]
        at = np.flatnonzero(bad.to_numpy() & keep)
        message = _PARSERS[field.kind][1]
        if message is None:  # text cells are never invalid
            continue
        if field.kind == _DATE and mapping.date_format:
            message = lambda v, f=mapping.date_format: _na_hint(  # noqa: E731
                f"not a date (expected YYYY-MM-DD or the study file's date_format {f})", v)
        for row, pid, cell in zip(raw.index[at], patient_ids[at], cells.to_numpy()[at]):  # violations only
            value = _display(cell)
            violations.append(Violation(int(row) + 2, None if pd.isna(pid) else pid, field.name,
                                        message(value), value))
    typed = pd.DataFrame({name: p[0] for name, p in parsed.items()}, index=raw.index)
    bad = pd.DataFrame({name: p[3] for name, p in parsed.items()}, index=raw.index)
    return typed[keep], bad[keep], violations


def _filled(column: pd.Series) -> np.ndarray:
    """Which cells hold a value (not empty, not only spaces)."""
    if column.dtype != object:
        return column.notna().to_numpy()
    return column.fillna("").astype(str).str.strip().ne("").to_numpy()


COMMENT_BELOW_HEADER = ("a comment line below the header: only lines above the header may be comments "
                        "(and none in a workbook); delete the line or move it above the header")
VALUES_OUTSIDE_CONTRACT = ("a row with values only in columns that are not read: "
                           "fill in the row or delete it")


def _unread_rows(raw: pd.DataFrame, read: np.ndarray, read_beyond_first: np.ndarray,
                 contract: set[int]) -> tuple[list[Violation], np.ndarray]:
    """Rows that hold a value but no patient: a comment line below the header (a first
    cell starting with ``#`` and nothing else) and rows with values only in columns
    that are not read. Returns their violations and a mask of them. Blank rows (no
    value at all) are neither. ``read``/``read_beyond_first``: rows with a value in a
    column of the contract / in one other than the first column."""
    dropped = np.zeros(len(raw), dtype=bool)
    first = raw[0]
    hashed = np.flatnonzero(_starts_with(first, "#") & ~read_beyond_first) if first.dtype == object \
        else np.array([], dtype=int)
    lone = np.ones(len(hashed), dtype=bool)
    for i in raw.columns[1:]:
        if i not in contract:  # the contract's columns are known empty on these rows
            lone &= ~_filled(raw[i].iloc[hashed])
    dropped[hashed[lone]] = True
    unread = np.flatnonzero(~read & ~dropped)
    extra = np.zeros(len(unread), dtype=bool)
    for i in raw.columns:
        if i not in contract:
            extra |= _filled(raw[i].iloc[unread])
    violations = [Violation(int(raw.index[k]) + 2, None, None, COMMENT_BELOW_HEADER, _clip(first.iloc[k].strip(), 60))
                  for k in hashed[lone]]
    for k in unread[extra]:
        cells = [raw[i].iloc[k] for i in raw.columns if i not in contract]
        value = next(_display(v).strip() for v in cells if _display(v).strip())
        violations.append(Violation(int(raw.index[k]) + 2, None, None, VALUES_OUTSIDE_CONTRACT, value))
    dropped[unread[extra]] = True
    return violations, dropped


def _display(value) -> str:
    """A parsed value as the user would have typed it."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


_TOO_EARLY = f"before {EARLIEST_DATE.isoformat()}: not a plausible date of a CAR-T therapy"
_TOO_LARGE = f"implausibly large (at most {MAX_NUMBER:.0e})"


def _date_cell_message(value: str) -> str:
    """Why a date cell did not parse, the plausibility bounds first: ``1600-01-01`` is a
    valid calendar date, only out of range; a plain number is not a date (in a workbook:
    a cell not formatted as a date)."""
    try:
        date = dt.date.fromisoformat(value) if re.fullmatch(_ISO_DATE, value) else None
    except ValueError:
        date = None
    if date is not None:  # beyond what a datetime64[ns] holds (1677-2262)
        return _TOO_EARLY if date < EARLIEST_DATE else "far in the future: after the data cut-off"
    if re.fullmatch(r"\d+(\.\d*)?", value):
        return "a number, not a date (a workbook cell not formatted as a date?): use YYYY-MM-DD or a date cell"
    return _date_message(value)


def _schema(frame: pd.DataFrame, fields, rules, cutoff: dt.date | None) -> pa.DataFrameSchema:
    """The pandera schema of a parsed frame.

    Column checks: type, required, range and the data cut-off. A cross-column rule is a
    check on the column it is reported on that reads the frame's other columns.
    (pandera's frame-wide checks would do too, but they report a failing row cell by
    cell through DataFrame.stack, about 1 ms per failing row with pandas 2.3: minutes
    for the 10^5 failing rows of a badly exported registry.)
    """
    checks = {field.name: list(field.checks) for field in fields}
    dates = [field.name for field in fields if field.kind == _DATE]
    for name in dates:
        checks[name].append(pa.Check.ge(pd.Timestamp(EARLIEST_DATE), error=_TOO_EARLY))
    if cutoff is not None:
        after = pa.Check.le(pd.Timestamp(cutoff), error=f"after the data cut-off ({cutoff.isoformat()})")
        for name in dates:
            checks[name].append(after)
    today = dt.date.today()
    if cutoff is None or cutoff > today:  # otherwise the cut-off check covers it
        future = pa.Check.le(pd.Timestamp(today), error=f"in the future (after today, {today.isoformat()})")
        for name in dates:
            checks[name].append(future)
    for field in fields:
        if field.kind in (_NUMBER, _INTEGER):
            checks[field.name].append(pa.Check.le(MAX_NUMBER, error=_TOO_LARGE))
    for rule in rules:
        checks[rule.column].append(pa.Check(
            lambda column, r=rule: ~r.violated(frame).astype(bool), error=rule.key, ignore_na=False))
    return pa.DataFrameSchema({
        field.name: pa.Column(_PANDERA_DTYPE[field.kind], nullable=not field.required, checks=checks[field.name])
        for field in fields
    })


def _schema_violations(frame: pd.DataFrame, bad: pd.DataFrame, fields, rules, cutoff) -> list[Violation]:
    """Run the pandera checks lazily; translate the failure cases into violations."""
    try:
        with warnings.catch_warnings():  # pandera's own pandas deprecation notices
            warnings.simplefilter("ignore", FutureWarning)
            _schema(frame, fields, rules, cutoff).validate(frame, lazy=True, inplace=True)
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
            violations.append(Violation(None, None, column, message, _display(group["failure_case"].iloc[0])))
            if column not in frame:
                continue
            group = group[~unplaced]
        at = frame.index.get_indexer(group["index"])
        at = at[(at >= 0) & ~bad[column].to_numpy()[at]]  # unparseable cells are already reported
        values = frame[column].to_numpy()[at]
        others = [c for c in rule.columns if c != column] if rule is not None and not rule.duplicate else []
        for position, value in zip(at, values):  # the violations only
            pid = patient_ids[position]
            related = "; ".join(f"{c} = {_display(frame[c].iloc[position]) or '(empty)'}" for c in others) or None
            violation = Violation(int(frame.index[position]) + 2, None if pd.isna(pid) else pid, column,
                                  message, _display(value), related=related)
            if rule is not None and rule.duplicate:
                duplicates.append((violation, rule))
            else:
                violations.append(violation)
    return violations + _name_duplicate_rows(frame, duplicates)


def _name_duplicate_rows(frame: pd.DataFrame, duplicates) -> list[Violation]:
    """Add the rows sharing each duplicated key to the rule's message."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    keyed = []
    for violation, rule in duplicates:
        key = (rule.key, *(_display(frame.at[violation.row - 2, c]) for c in rule.columns))
        groups[key].append(violation.row)
        keyed.append((violation, key))
    out = []
    for violation, key in keyed:
        rows = sorted(groups[key])
        listed = ", ".join(map(str, rows[:6])) + (", ..." if len(rows) > 6 else "")
        out.append(Violation(violation.row, violation.patient_id, violation.column,
                             f"{violation.rule} (rows {listed})", violation.value, violation.file))
    return out


def _load(path, fields: tuple[_Field, ...], rules, *, what: str, cutoff: dt.date | None,
          mapping: ColumnMapping = NO_MAPPING, sheet: str | None = None) -> _Loaded:
    """Read and validate one table; file-level problems end the reading early."""
    path = Path(path)
    try:
        source = _open_source(path, sheet=sheet)
        renamed = mapping.headers(fields)
        # In place: a reader's chunk function reads the header (e.g. which columns hold
        # dates) when it is called.
        source.header[:] = [renamed.get(name.strip(), name) for name in source.header]
        positions, violations = _check_header(source.header, fields, what)
        numbers = {positions[f.name] for f in fields if f.kind in (_NUMBER, _INTEGER) and f.name in positions
                   and f.name not in mapping.values}  # mapped cells are read as text
        parsed = [_parse_chunk(chunk, fields, positions, mapping) for chunk in source.chunks(numbers)]
    except InputError as err:
        return _Loaded(None, _with_file(err.violations, path), [])

    frame = pd.concat([p[0] for p in parsed]) if parsed else pd.DataFrame()
    bad = pd.concat([p[1] for p in parsed]) if parsed else pd.DataFrame()
    violations += [v for p in parsed for v in p[2]]
    if frame.empty:
        noun = "patients" if what == "cohort" else "samples"
        violations.append(Violation(None, None, None, f"no {noun}: the file has a header but no data rows"))
        return _Loaded(None, _with_file(violations, path), source.comments, source.notes)

    for field in fields:  # a missing column: all missing, already reported once
        if field.name not in frame:
            frame[field.name] = _parse_column(pd.Series("", index=frame.index, dtype=object), field.kind)[0]
            bad[field.name] = True
    frame = frame[[f.name for f in fields]]
    violations += _schema_violations(frame, bad, fields, rules, cutoff)
    order = {f.name: i for i, f in enumerate(fields)}
    violations.sort(key=lambda v: (v.row is not None, v.row or 0, order.get(v.column, len(order))))
    return _Loaded(frame, _with_file(violations, path), source.comments, source.notes)


def _with_file(violations: Iterable[Violation], path: Path) -> list[Violation]:
    return [Violation(v.row, v.patient_id, v.column, v.rule, v.value, str(path), v.related) for v in violations]


def _finish(frame: pd.DataFrame, fields: tuple[_Field, ...]) -> pd.DataFrame:
    """The validated frame in its output dtypes (see data/README.md)."""
    out = frame.reset_index(drop=True)
    for field in fields:
        if field.kind == _INTEGER and field.required:
            out[field.name] = out[field.name].astype("int64")
        elif field.kind == _BOOLEAN and field.required:
            out[field.name] = out[field.name].astype(bool)
        elif field.kind in (_TEXT, _SEX, _STATUS):
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


def _empty_path(path) -> bool:
    """An empty file name (``Path("")`` would be the current folder)."""
    return isinstance(path, str) and not path.strip()


def _empty_name(what: str) -> _Loaded:
    return _Loaded(None, [Violation(None, None, None, f"no file name given for the {what} table (an empty path)",
                                    file=what)], [])


def _cohort(path, cutoff, sheet: str | None = None, mapping: ColumnMapping = NO_MAPPING) -> _Loaded:
    if _empty_path(path):
        return _empty_name("cohort")
    return _load(path, COHORT_FIELDS, COHORT_RULES, what="cohort", cutoff=parse_cutoff(cutoff), sheet=sheet,
                 mapping=mapping)


def _kinetics(path, cohort_ids: pd.Series | None, followup_days: pd.Series | None = None,
              mapping: ColumnMapping = NO_MAPPING) -> _Loaded:
    if _empty_path(path):
        return _empty_name("kinetics")
    return _load(path, KINETICS_FIELDS, _kinetics_rules(cohort_ids, followup_days), what="kinetics", cutoff=None,
                 mapping=mapping)


def load_cohort(path, cutoff=DEFAULT_CUTOFF, sheet: str | None = None) -> pd.DataFrame:
    """Read and validate a cohort table; raise :class:`InputError` listing every violation.
    ``sheet`` names the sheet of a workbook to read (default: its active visible sheet)."""
    loaded = _cohort(path, cutoff, sheet)
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, COHORT_FIELDS)


def load_kinetics(path, cohort: pd.DataFrame) -> pd.DataFrame:
    """Read and validate a kinetics table against a validated cohort."""
    loaded = _kinetics(path, cohort["patient_id"], _followup_days(cohort))
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, KINETICS_FIELDS)


def load_study(cohort_path, kinetics_path=None, cutoff=DEFAULT_CUTOFF, *, sheet: str | None = None,
               mapping: ColumnMapping = NO_MAPPING) -> Study:
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
        kinetics = _kinetics(kinetics_path, ids, None if ids is None else _followup_days(cohort.frame), mapping)
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
        notes=cohort.notes + (() if kinetics is None else kinetics.notes),
    )
