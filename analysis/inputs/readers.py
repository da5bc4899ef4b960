"""Read a cohort or kinetics table into typed columns: CSV and XLSX reading, header
mapping, cell parsers.

Reading
    CSV (UTF-8, a UTF-8 byte-order mark is accepted; lines above the header beginning
    with ``#`` are comments; LF, CR LF or CR line endings) or Excel ``.xlsx`` (the named
    sheet, else the active visible one; header on row 1; every row by its number, read by
    :mod:`analysis.inputs.xlsx`, which trusts nothing in a workbook). The first
    bytes of a file are sniffed before anything else, so a file that is not a table
    fails fast; a path that is not a regular file (a FIFO) is never opened; nothing in a
    data file is ever executed or unpickled. No row is dropped without a reported reason
    except a blank one. An error never shows a line of a file that is not a table.

Parsing
    Every cell is parsed with vectorised pandas operations into the kind its column
    has in :mod:`analysis.registry.contract` (numbers, whole numbers, ``YYYY-MM-DD`` dates,
    booleans, sex, disease status); a cell that does not parse is a :class:`Violation`.
    The contract's other rules are run by :mod:`analysis.inputs.rules`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import functools
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field  # 'field' names a data-contract field below
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.inputs.errors import InputError, Violation, clip, file_error
from analysis.inputs.paths import not_a_file
from analysis.inputs.xlsx import OtherSheet, Percent, read_table
from analysis.registry.contract import (
    BOOLEAN,
    BOOLEAN_WORDS,
    COHORT_FIELDS,
    DATE,
    EARLIEST_DATE,
    INTEGER,
    ISO_DATE,
    KINETICS_FIELDS,
    MISSING_WORDS,
    NOT_DONE_WORDS,
    NUMBER,
    SEX,
    SEX_WORDS,
    STATUS,
    STATUS_WORDS,
    TEXT,
    TOO_EARLY,
    Field,
    not_done_column,
)
from analysis.registry.diseases import DISEASES, SCALES

#: Bytes read to recognise a file (encoding, separator, header) before parsing it.
SNIFF_BYTES = 64 * 1024

#: CSV rows parsed at a time: raw text is only ever held for one chunk.
CHUNK_ROWS = 200_000

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other MS Office binaries)

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

    def headers(self, fields: tuple[Field, ...]) -> dict[str, str]:
        """Export header -> contract name, for the contract columns of ``fields``."""
        names = {f.name for f in fields}
        chosen = {k: v for k, v in self.columns.items() if k in names}
        if fields is KINETICS_FIELDS:
            chosen.update(self.kinetics_columns)
        return {one_line_break(str(header).strip()): name for name, header in chosen.items()}

    def value_table(self, column: str) -> dict[str, str] | None:
        """Lower-cased export text -> contract text ("" = empty) for one column."""
        table = self.values.get(column)
        if not table:
            return None
        return {value_key(k): "" if v is None else cell_text(v) for k, v in table.items()}


def value_key(value: object) -> str:
    """How an export value of a ``values:`` table is matched: its cell text, stripped,
    in lower case (``" F "`` and ``"f"`` are one value)."""
    return cell_text(value).strip().lower()


NO_MAPPING = ColumnMapping()


# --------------------------------------------------------------------------- parsing
# A parser takes the cells of one column as text ("" = empty; CSV and Excel cells
# alike) and returns (values, ok): the parsed values (missing where not ok, a Series)
# and whether each cell parsed (a numpy bool array). It runs on the text as found; only the cells that fail
# are stripped of surrounding spaces and parsed again (see parse_column), so the
# common, clean cell costs a single vectorised pass. A message function words the
# violation for a cell that still fails; it is only ever called on those cells.


def cell_text(value) -> str:
    """A value as the text a CSV cell would hold, as the user would have typed it ("" =
    empty): an Excel cell, a study file's YAML scalar, a parsed value. ``True`` ->
    "true", ``1.0`` -> "1", a date (or a date-time at midnight) -> ``YYYY-MM-DD``."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    # NaN: a cell past the end of a short workbook row
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _na_hint(message: str, value: str) -> str:
    if value.upper() in MISSING_WORDS:
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
    ok = values.to_numpy(dtype=bool)  # not empty
    return values.where(ok), ok


def _parse_number(s: pd.Series):
    values = s if s.dtype != object else pd.to_numeric(s, errors="coerce")
    x = np.array(values.to_numpy(), dtype="float64")  # a copy: the cells that are not finite become NaN
    ok = np.isfinite(x)
    x[~ok] = np.nan
    return pd.Series(x, index=s.index, name=s.name), ok


def _number_message(value: str) -> str:
    if re.fullmatch(r"[+-]?\d*,\d+", value):
        return "not a number (use a dot as the decimal separator)"
    return _na_hint("not a number", value)


def _parse_integer(s: pd.Series):
    numbers, finite = _parse_number(s)
    x = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        ok = finite & (x == np.floor(x)) & (np.abs(x) < 2**53)
    whole = np.where(ok, x, 0).astype("int64")
    return pd.Series(pd.arrays.IntegerArray(whole, ~ok), index=s.index), ok


def _integer_message(value: str) -> str:
    return _na_hint("not a whole number", value)


def _parse_date(s: pd.Series, date_format: str | None = None):
    # format="%Y-%m-%d": "04/03/2021" fails; pandas accepts "2021-3-4" (documented in data/README.md).
    values = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    if date_format is not None:  # the study file's format, for the cells that are not ISO
        other = values.isna() & s.astype(bool)
        if other.any():
            values.loc[other] = pd.to_datetime(s[other], format=date_format, errors="coerce")
    return values, values.notna().to_numpy()


def _date_message(value: str) -> str:
    if re.fullmatch(ISO_DATE, value):
        return "not a valid calendar date"
    return _na_hint("not a date (use YYYY-MM-DD, e.g. 2021-03-04)", value)


def _word_codes(s: pd.Series, meaning: Mapping[str, object]) -> tuple[np.ndarray, list, np.ndarray]:
    """The cells' codes in :func:`pandas.factorize` (missing: -1), the meaning of each distinct
    spelling and whether it has one, both ending with the entry of a missing cell."""
    codes, spellings = pd.factorize(s)  # a column holds few distinct spellings: look those up
    found = [meaning.get(spelling.strip().lower()) for spelling in spellings] + [None]
    return codes, found, np.array([value is not None for value in found])


def _words(s: pd.Series, meaning: Mapping[str, object]):
    """Cells matching a word of ``meaning`` in any case -> (the words' meanings, ok)."""
    codes, found, known = _word_codes(s, meaning)
    values = np.array(found, dtype=object)[codes]
    return pd.Series(values, index=s.index), known[codes]


def _parse_boolean(s: pd.Series):
    codes, found, known = _word_codes(s, BOOLEAN_WORDS)
    ok = known[codes]
    flags = np.array([bool(value) if value is not None else False for value in found])[codes]
    return pd.Series(pd.arrays.BooleanArray(flags, ~ok), index=s.index), ok


def _boolean_message(value: str) -> str:
    return _na_hint("not a boolean (use yes/no, true/false, 1/0 or y/n)", value)


_PARSERS = {
    TEXT: (_parse_text, None),
    NUMBER: (_parse_number, _number_message),
    INTEGER: (_parse_integer, _integer_message),
    DATE: (_parse_date, lambda v: _date_cell_message(v)),  # defined with the plausibility bounds
    BOOLEAN: (_parse_boolean, _boolean_message),
    SEX: (lambda s: _words(s, SEX_WORDS), lambda v: _na_hint("must be M or F (male/female accepted)", v)),
    STATUS: (lambda s: _words(s, STATUS_WORDS), lambda v: _na_hint("must be relapsed or primary_refractory", v)),
}


# Disease profiles (analysis.registry.diseases): a response-scale column's kind is the
# scale's; its cells are the scale's levels in any of their spellings.
def _scale_parsers(scale) -> tuple[Callable, Callable]:
    words = scale.words
    expected = f"not a {scale.name} response (one of {', '.join(scale.keys)})"
    return (lambda s: _words(s, words)), (lambda v: _na_hint(expected, v))


for _scale in SCALES.values():
    _PARSERS[_scale.kind] = _scale_parsers(_scale)


def parse_column(raw: pd.Series, kind: str, date_format: str | None = None):
    """Parse one column -> (values, cells, present, bad).

    ``raw`` is text ("" = empty), or numbers the CSV reader already parsed (empty =
    NaN). ``cells`` are the cells as found, stripped where the first pass failed;
    ``bad`` marks the non-empty cells that did not parse.
    """
    parse = _PARSERS[kind][0]
    if kind == DATE and date_format is not None:
        parse = lambda s: _parse_date(s, date_format)  # noqa: E731
    if raw.dtype != object:
        values, ok = parse(raw)
        present = raw.notna().to_numpy()
        return values, raw, pd.Series(present, index=raw.index), pd.Series(present & ~ok, index=raw.index)
    if kind in (NUMBER, INTEGER) and raw.hasnans:
        raw = raw.fillna("")  # the CSV reader's NaN for empty cells of a number column
    values, ok = parse(raw)
    present = raw.to_numpy(dtype=bool)  # non-empty text
    retry = present & ~ok
    if retry.any():  # padded cells, whitespace-only cells and true failures
        stripped = raw[retry].str.strip()
        values.loc[retry], ok[retry] = parse(stripped)
        raw = raw.copy()
        raw.loc[retry] = stripped
        present[retry] = stripped.ne("").to_numpy()
    return values, raw, pd.Series(present, index=raw.index), pd.Series(present & ~ok, index=raw.index)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Source:
    """A table being read: header names (contract names where the study file maps a
    header), then raw text chunks (columns by position)."""

    header: tuple[str, ...]
    chunks: Callable[[set[int]], Iterator[pd.DataFrame]]  # argument: positions of number columns
    comments: list[str]
    #: the sheets of a workbook that hold a table and were not read (:class:`~analysis.inputs.xlsx.OtherSheet`)
    others: tuple[OtherSheet, ...] = ()
    #: for the user, e.g. which sheet of a workbook was read; reading the rows may add to them
    #: (values spanning lines): read them after the chunks
    notes: list[str] = dataclass_field(default_factory=list)


#: The names an Excel workbook is read under (the reader of the .xlsx format refuses others).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def misnamed_workbook(path) -> str | None:
    """Why a file whose content is a zip archive (an Excel workbook) is not read: its name
    does not end in .xlsx (``export.csv`` saved from Excel "as" a workbook); None when it
    does. ``map`` and ``validate`` say the same."""
    suffix = Path(path).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return None
    named = f"named {Path(path).name}" if suffix else "without the .xlsx extension"
    return (
        f"an Excel workbook (its content is an .xlsx zip archive) {named}: rename it to .xlsx, "
        "or save it from Excel as CSV UTF-8"
    )


def open_source(path: Path, sheet: str | None = None, headers: Mapping[str, str] | None = None) -> Source:
    """The table of a file; ``sheet`` names the sheet of a workbook to read; ``headers``
    maps an export's header to its contract name (:meth:`ColumnMapping.headers`), applied
    as the header is read, so everything below it (which workbook columns hold dates, where
    the header row is) sees the contract's names."""
    headers = headers or {}
    try:
        kind = not_a_file(os.stat(path).st_mode)
        if kind is not None:
            raise file_error(f"cannot read the file: it is {kind}, not a file", str(path))
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise file_error(f"cannot read the file: {exc.strerror or exc}", str(path)) from None
    if not head.strip() or head.strip() == codecs.BOM_UTF8:
        raise file_error("empty file")
    if head.startswith(_XLSX_MAGIC):
        if why := misnamed_workbook(path):
            raise file_error(why)
        return _xlsx_source(path, sheet, headers)
    if sheet is not None:
        raise file_error(f"sheet '{sheet}' is named, but the file is not an Excel workbook")
    if head.startswith(_OLE_MAGIC):
        raise file_error("an old binary Excel (.xls) or other Office file: save it as .xlsx or as CSV UTF-8")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise file_error("not a valid .xlsx workbook (the file is not a zip archive)")
    return _csv_source(path, head, headers)


def _refuse_binary(path: Path, newline: bytes = b"\n") -> None:
    """A NUL byte anywhere in a CSV file (the first bytes are sniffed by :func:`_looks_binary`;
    one further down is a damaged or not-CSV file, which pandas would read as a value: a
    center "Center B\\x00" counted as a fifth center). Streamed in blocks."""
    line = 1
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            at = block.find(b"\x00")
            if at >= 0:
                raise file_error(
                    f"not a CSV table: a NUL byte (binary data) on line {line + block.count(newline, 0, at):,} of the "
                    "file; re-save the table as CSV UTF-8 (comma delimited)"
                )
            line += block.count(newline)


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    controls = sum(data.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return controls > max(8, len(data) // 100)


def _line_of(data: bytes, offset: int, newline: bytes = b"\n") -> int:
    return data.count(newline, 0, offset) + 1


def _not_utf8(byte: int, line: int) -> InputError:
    return file_error(
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
    return file_error("not UTF-8 text: re-save the file as UTF-8")


_UTF16 = "UTF-16 text (Excel 'Unicode Text'): re-save the file as CSV UTF-8 (comma delimited)"


def _utf16_without_bom(data: bytes) -> bool:
    """Mostly ASCII text in UTF-16 without a byte-order mark: every other byte is NUL."""
    data = data[:4096]
    data = data[: len(data) // 2 * 2]
    if len(data) < 8:
        return False
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    return any(
        zeros.count(0) >= 0.9 * half and text.count(0) <= 0.1 * half for zeros, text in ((odd, even), (even, odd))
    )  # little- or big-endian


def _csv_source(path: Path, head: bytes, headers: Mapping[str, str]) -> Source:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(head):
        raise file_error(_UTF16)
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if _looks_binary(head[start:]):
        raise file_error("not a CSV table: the file holds binary data")
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
    header_number = 1  # the header's line in the file
    for line in complete:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            header_line = line.rstrip("\r")
            break
        if stripped:
            comments.append(stripped)
        offset += len(line.encode("utf-8")) + 1
        header_number += 1
    else:
        if whole_file:
            raise file_error("empty file (no header line, only comments or blank lines)")
        raise file_error(f"not a CSV table: no header line in the first {SNIFF_BYTES // 1024} KB")
    # The header is a CSV record: a name in double quotes may hold a line break (a REDCap label
    # export of a label with a line break, Alt+Enter in an Excel header), the record then
    # going on over the next lines of the file. The rows are read from `offset` by pandas and
    # counted by _check_rows as records, the header being row 1, so only the header's own
    # reading needs the record.
    header_record = _header_record(complete[header_number - 1 :], newline, whole_file)
    if header_record is not None:
        header_line = header_record

    n_comma, n_semicolon, n_tab = (header_line.count(c) for c in ",;\t")
    if n_semicolon > n_comma:
        raise file_error(
            "semicolon-separated values: save the file with commas as separators "
            "(Excel: 'CSV UTF-8 (comma delimited)')",
            _shown_header(header_line, ";", headers),
        )
    if n_tab > n_comma:
        raise file_error(
            "tab-separated values: save the file with commas as separators", _shown_header(header_line, "\t", headers)
        )
    try:
        header = tuple(_contract_name(name.strip(), headers) for name in next(csv.reader([header_line])))
    except csv.Error:  # a CR inside the line: mixed line endings
        raise file_error(
            "mixed line endings (a CR alone inside the header line): re-save the file as CSV UTF-8 (comma delimited)",
            _shown_header(header_line.replace("\r", ","), ",", headers),
        ) from None

    notes: list[str] = []

    def chunks(numbers: set[int]) -> Iterator[pd.DataFrame]:
        _refuse_binary(path, newline.encode())
        notes.extend(_check_rows(path, offset, header, header_number))
        # Cells are read as text, except number columns: the C reader parses those
        # (empty -> NaN) and falls back to text for a chunk holding a non-number.
        with open(path, "rb") as fh:
            fh.seek(offset)
            try:  # the reader decodes its first block (about 256 KB) when it is created
                reader = pd.read_csv(
                    fh,
                    header=0,
                    names=range(len(header)),
                    index_col=False,
                    engine="c",
                    dtype={i: str for i in range(len(header)) if i not in numbers},
                    keep_default_na=False,
                    na_values={i: [""] for i in numbers},
                    skip_blank_lines=False,
                    encoding="utf-8",
                    chunksize=CHUNK_ROWS,
                    lineterminator=None if newline == "\n" else newline,
                )
                yield from reader
            except UnicodeDecodeError:
                raise _locate_bad_utf8(path, newline.encode()) from None
            except pd.errors.ParserError as exc:
                raise _parser_error(str(exc), len(header)) from None

    return Source(header, chunks, comments, notes=notes)


def _header_record(lines: list[str], newline: str, whole_file: bool) -> str | None:
    """The header record when a value in double quotes carries it over several lines of the
    file (its lines joined as they are in the file); None when it is the first line alone,
    or when the csv module cannot read that line (left to the caller's error). A double quote
    opened in the header and closed nowhere below it is an error: every row would be one
    header name."""
    used = 0

    def physical():
        nonlocal used
        for line in lines:
            used += 1
            yield line + newline

    try:
        next(csv.reader(physical()))
    except (csv.Error, StopIteration):
        return None
    if used <= 1:
        return None
    record = newline.join(lines[:used])
    if used == len(lines):  # the quote may run to the end of what was read
        try:
            next(csv.reader(iter([line + newline for line in lines]), strict=True))
        except csv.Error:
            if whole_file:
                raise file_error(
                    'unclosed double quote (") in the header: the name opened on line 1 of the header runs to the '
                    "end of the file; remove the stray quote, or close it"
                ) from None
            raise file_error(
                f'not a CSV table: a double quote (") opened in the header is not closed in the first '
                f"{SNIFF_BYTES // 1024} KB"
            ) from None
    return record


#: Characters that Python's ``str.splitlines`` (and a text editor) may show as a line
#: break but a CSV reader does not: Word and some exports put them where a line break
#: was meant, joining two rows into one.
_NOT_LINE_BREAKS = {
    "\u2028": "line separator (U+2028)",
    "\u2029": "paragraph separator (U+2029)",
    "\x0c": "form feed (U+000C)",
    "\x0b": "vertical tab (U+000B)",
    "\x1c": "file separator (U+001C)",
    "\x1d": "group separator (U+001D)",
    "\x1e": "record separator (U+001E)",
    "\x85": "next line (U+0085)",
}


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _no_long_rows(path: Path, offset: int, width: int) -> bool:
    """True when a scan of the raw lines shows that :func:`_check_rows` has nothing to say: a
    file without any double quote (so no value spans lines or swallows rows), whose every line
    (split at LF) has at most ``width - 1`` commas and fewer characters than the csv module's
    field limit. Then the records are the lines, or parts of them (a bare CR also ends a
    record), and none is too long. Anything else (quotes, a long line) is left to the exact
    record-by-record reading. A line count at C speed: 10^6 rows in a fraction of a second
    instead of seconds."""
    limit = csv.field_size_limit()
    with open(path, "rb") as raw:
        raw.seek(offset)
        for line in raw:
            if line.count(b",") >= width or b'"' in line or len(line) > limit:
                return False
    return True


def _check_rows(path: Path, offset: int, header: tuple[str, ...], header_line: int = 1) -> list[str]:
    """Every row with more values than the header, and every value in double quotes that
    swallowed rows, as problems with their rows; a note for values that merely span lines.

    pandas cannot be trusted with long rows: it compares a row's values with the row before
    only, so the first row of the file and of every chunk (and the rows after it, as long)
    lose their extra values silently (a ParserWarning for the very first one). Two rows
    joined on one line (a lost line break, or a U+2028/form feed/NEL where it should be)
    would lose a patient. Rows are counted as records (a value in double quotes may span
    lines), as in a spreadsheet: the header is row 1.

    A value in double quotes may hold line breaks (Alt+Enter in a cell: a note over two
    lines); a double quote opened and not closed on its line makes the rows below it part of
    that value, patients lost without a trace in the columns read. Each record spanning more
    than one line of the file is looked at (the reader counts lines, so a file without such
    values costs nothing more): a line inside a value that holds as many values as the header
    is a row swallowed, an error naming the rows and their patients; other line breaks in
    values are counted in the note returned (the file's lines against its rows)."""
    width = len(header)
    if _no_long_rows(path, offset, width):
        return []
    pid = header.index("patient_id") if "patient_id" in header else None
    problems: list[Violation] = []
    spanning: dict[str, list[int]] = {}  # column -> rows whose value spans lines
    inner_lines = 0
    with open(path, "rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        reader = csv.reader(text)
        row = 1
        lines_before = 0
        unclosed: tuple[int, int] | None = None  # (row, line) of a swallowing value ending in a line break
        blank = 0
        try:
            for row, record in enumerate(reader, start=1):
                unclosed = None
                blank += not any(record)
                lines, lines_before = reader.line_num - lines_before, reader.line_num
                if lines > 1 and row > 1:
                    first_line = header_line + reader.line_num - lines
                    swallowed = _swallowed_rows(record, width, pid, header, row, first_line)
                    if swallowed is not None:
                        problems.append(swallowed)
                        # a value ending in a line break: its quote may run to the end of the file
                        unclosed = (row, first_line) if any(v.endswith(("\n", "\r")) for v in record) else None
                    else:
                        inner_lines += lines - 1
                        for column, value in zip(header, record):
                            if _LINE_BREAK.search(value):
                                spanning.setdefault(column or "(no header)", []).append(row)
                if len(record) <= width or row == 1:
                    continue
                rule = f"{len(record)} values but the header has {width} columns"
                joined = sorted({name for c, name in _NOT_LINE_BREAKS.items() for v in record if c in v})
                if joined:
                    rule += f": the row holds a {' and a '.join(joined)} where a line break was probably meant"
                    rule += " (two rows joined): replace it by a line break"
                else:
                    rule += ": two rows joined on one line, or a value that contains a comma not in double quotes"
                first = record[pid] if pid is not None and pid < len(record) else None
                problems.append(Violation(row, clip(first, 40) if first else None, None, rule))
                if len(problems) >= 100:
                    break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit()  # Python's 131,072; Excel's cells hold 32,767
                raise file_error(f"a value longer than {limit:,} characters", row=row + 1) from None
            # otherwise left to pandas, which words its own parse errors
        except UnicodeDecodeError:
            pass  # pandas meets it too, and the error names its line (_locate_bad_utf8)
        finally:
            text.detach()
    if unclosed is not None:  # the last row's quote runs to the end of the file: the rows below it are one value
        at, line = unclosed
        problems[-1] = Violation(
            at,
            problems[-1].patient_id,
            None,
            f'unclosed double quote ("): the value opened on line {line} runs to the end of the file, the rows '
            "below it part of it; remove the stray quote, or close it",
        )
    if problems:
        raise InputError(problems)
    if not spanning:
        return []
    n_rows = len({r for rows in spanning.values() for r in rows})
    where = "; ".join(
        f"column '{clip(column, 40)}', row{'s' if len(rows) > 1 else ''} {_listed(rows)}"
        for column, rows in spanning.items()
    )
    return [
        f"{path.name}: {n_rows} {'row holds a value' if n_rows == 1 else 'rows hold values'} in double quotes over "
        f"several lines of the file ({where}: {inner_lines:,} line break{'s' if inner_lines != 1 else ''} inside "
        f"values), each read as one value: lines {header_line:,}–{header_line + lines_before - 1:,} of the file hold "
        f"the header and {row - 1 - blank:,} rows"
    ]


def _listed(items: Sequence[object], most: int = 10) -> str:
    shown = ", ".join(str(r) for r in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _swallowed_rows(
    record: list[str], width: int, pid: int | None, header: tuple[str, ...], row: int, first_line: int
) -> Violation | None:
    """A value of ``record`` whose lines after its first hold as many values as the header:
    rows of the table inside a value in double quotes (a quote opened and never closed on its
    line), as a problem naming the lines and the patients; None when no value holds such a
    line (a note over several lines)."""
    if width < 2:
        return None
    line = first_line
    for position, value in enumerate(record):
        parts = _LINE_BREAK.split(value)
        rowlike = []
        for k, part in enumerate(parts[1:], start=1):
            values = next(csv.reader([part]), [])
            if len(values) >= width:
                rowlike.append((line + k, values))
        if rowlike:
            column = header[position] if position < len(header) else f"column {position + 1}"
            patients = list(
                dict.fromkeys(values[pid].strip() for _, values in rowlike if pid is not None and values[pid].strip())
            )
            whose = f", patient_id {_listed([clip(p, 20) for p in patients])}" if patients else ""
            n = len(rowlike)
            lines = f"line {rowlike[0][0]}" if n == 1 else f"lines {rowlike[0][0]}–{rowlike[-1][0]}"
            first = record[pid] if pid is not None and pid < len(record) else None
            return Violation(
                row,
                clip(first, 40) if first else None,
                column or None,
                f"a value in double quotes spans lines {line}–{line + len(parts) - 1} of the file and holds {n} "
                f"line{'s' if n != 1 else ''} shaped like rows of the table ({lines}{whose}): a double quote "
                f"opened in this cell and not closed on its line made {'that row' if n == 1 else 'those rows'} part "
                "of the value; remove the stray quote, or close it",
                clip(parts[0].strip(), 40),
            )
        line += len(parts) - 1
    return None


def _shown_header(line: str, separator: str, headers: Mapping[str, str]) -> str | None:
    """A header line as an error may show it: only when it names a column of the contract
    (a table's header). The first line of any other file (``cohort: /etc/shadow``) is never
    echoed."""
    names = {_contract_name(name.strip().strip('"'), headers) for name in line.split(separator)}
    return clip(line, 60) if names & _KNOWN else None


def _parser_error(message: str, n_columns: int) -> InputError:
    if m := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message):
        return file_error(
            f"{m[3]} values but the header has {n_columns} columns: put values that contain a comma in double quotes",
            row=int(m[2]),
        )
    if m := re.search(r"EOF inside string starting at row (\d+)", message):
        return file_error('unclosed double quote (")', row=int(m[1]) + 1)
    return file_error(f"cannot parse the CSV file: {message}")


# Excel ---------------------------------------------------------------------------


def _xlsx_date_text(value):
    """A date cell (a date-formatted cell; a time of day is dropped). A plain number is
    not read as a date serial: ``2019`` typed in a date column would become 1905-07-11;
    it stays a number, which the date parser rejects."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return cell_text(value)


def _contract_name(header: str, headers: Mapping[str, str]) -> str:
    """An export's (stripped) header under its contract name, if the study file maps it;
    a line break inside it is LF whatever the file wrote (:func:`one_line_break`)."""
    header = one_line_break(header)
    return headers.get(header, header)


def one_line_break(text: str) -> str:
    """``text`` with each line break (CR LF, CR) written LF: a header name over two lines is
    the same name in a CR LF file, in an LF file and in the study file."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


#: Every column name of the contract: a row naming two of them is a table's header.
_KNOWN = frozenset(f.name for f in COHORT_FIELDS + KINETICS_FIELDS)
_ALL_FIELDS = {f.name: f for f in KINETICS_FIELDS + tuple(f for p in DISEASES.values() for f in p.fields)}
#: Columns of numbers in percent (unit "%": ``bm_blasts_pct``) and the other columns of numbers,
#: of every disease profile: a workbook cell formatted as a percentage is read as it shows in
#: the first, refused in the others.
_PERCENT_COLUMNS = frozenset(name for name, f in _ALL_FIELDS.items() if f.unit == "%")
_NUMBER_COLUMNS = frozenset(name for name, f in _ALL_FIELDS.items() if f.kind in (NUMBER, INTEGER))


def same_table(read: Sequence[str], other: Sequence[str]) -> bool:
    """Whether two headers are those of one table: they share at least two columns of the
    contract, and at least 80% of the contract columns either names (patients split over
    two sheets; a cohort and its kinetics table share only ``patient_id``)."""
    a, b = _KNOWN & set(read), _KNOWN & set(other)
    return len(a & b) >= 2 and len(a & b) >= 0.8 * len(a | b)


def _row_names(row: tuple, headers: Mapping[str, str]) -> list[str]:
    """A workbook row read as a header, with contract names where ``headers`` maps one."""
    return [_contract_name(("" if v is None else str(v)).strip(), headers) for v in row]


def _xlsx_source(path: Path, sheet: str | None, headers: Mapping[str, str]) -> Source:
    """The table of a workbook, read by :mod:`analysis.inputs.xlsx` (which trusts nothing in
    it: sizes, entities, nesting, the declared range, cell counts)."""
    table = read_table(
        path,
        sheet,
        names_of=lambda row: _row_names(row, headers),
        is_header=lambda names: bool(_KNOWN & set(names)),
        is_table=lambda names: len(_KNOWN & set(names)) >= 2,
        same_table=same_table,
    )
    header = table.header
    notes = list(table.notes)

    def chunks(numbers: set[int]) -> Iterator[pd.DataFrame]:
        width = len(header)
        body = pd.DataFrame(table.body, columns=range(width + 1), dtype=object)
        body.index = pd.RangeIndex(len(body))
        problems = []
        for r, i, formula in table.missing:
            if header[i] in _KNOWN:
                pid = body.at[r, header.index("patient_id")] if "patient_id" in header else None
                problems.append(
                    Violation(
                        r + 2,
                        None if pid is None or pd.isna(pid) else cell_text(pid),
                        header[i],
                        "formula without a saved result: open and save the file in Excel, or paste the values only",
                        formula,
                    )
                )
        problems += _percent_cells(body, header, path, notes)
        if problems:
            raise InputError(problems)
        dates = {f.name for f in COHORT_FIELDS if f.kind == DATE}
        for i, name in enumerate(header):
            convert = _xlsx_date_text if name in dates else cell_text
            body[i] = body[i].map(convert)  # per cell: openpyxl reads cell by cell anyway
        body[width] = body[width].map(cell_text)  # a value right of the header: reported if it is all the row holds
        yield body

    return Source(header, chunks, [], table.others, notes)


def _percent_cells(body: pd.DataFrame, header: Sequence[str], path: Path, notes: list[str]) -> list[Violation]:
    """Cells formatted as percentages (Excel stores 45% as 0.45): in a column of percentages
    (``bm_blasts_pct``) replaced by the percentage they show (45), with a note counting them;
    in another column of numbers a problem (what the cell means is not known: 45 typed into a
    cell formatted as a percentage is stored as 0.45 and shown as 45%)."""
    problems = []
    for i, name in enumerate(header):
        if name not in _NUMBER_COLUMNS:
            continue
        column = body[i]
        shown = column.map(lambda v: isinstance(v, Percent))
        if not shown.any():
            continue
        n = int(shown.sum())
        cells = f"{n:,} cell{'s' if n != 1 else ''}"
        first = int(np.flatnonzero(shown.to_numpy())[0])
        example = column.iloc[first]
        if name in _PERCENT_COLUMNS:
            body[i] = column.map(lambda v: v.shown if isinstance(v, Percent) else v)
            notes.append(
                f"{path.name}: {name}: {cells} formatted as percentages in the workbook (Excel stores "
                f"{cell_text(example.shown)}% as {cell_text(float(example))}), read as the percentage they show "
                f"({cell_text(example.shown)})"
            )
        else:
            pid = body.at[body.index[first], header.index("patient_id")] if "patient_id" in header else None
            problems.append(
                Violation(
                    first + 2,
                    None if pid is None or pd.isna(pid) else cell_text(pid),
                    name,
                    f"formatted as a percentage in the workbook (shown as {cell_text(example.shown)}%, stored as "
                    f"{cell_text(float(example))}; {cells} of the column): {name} is not a percentage, and what the "
                    "cell means is not known; format the column as numbers and check its values",
                    cell_text(float(example)),
                )
            )
    return problems


# --------------------------------------------------------------------------- header and rows


def check_header(header: Sequence[str], fields: tuple[Field, ...], what: str):
    """Column positions of the contract's columns, and header violations (an absent
    optional column is none: the registry does not collect it)."""
    expected = [f.name for f in fields]
    positions: dict[str, int] = {}
    violations: list[Violation] = []
    for i, name in enumerate(header):
        if name in expected:
            if name in positions:
                violations.append(
                    Violation(
                        None,
                        None,
                        name,
                        f"duplicate column (columns {positions[name] + 1} and {i + 1}); the first is used",
                        name,
                    )
                )
            else:
                positions[name] = i
    if not positions:
        shape = f"{len(header)} field{'s' if len(header) != 1 else ''}"
        raise file_error(  # the line itself is not shown: the file may be anything (cohort: /etc/shadow)
            f"not a {what} table: the header (first line, {shape}) has none of the expected columns "
            f"({', '.join(expected[:4])}, ...). If the export has its own headers (e.g. REDCap labels), "
            "run `python -m analysis map EXPORT -o study.yml` and use --study study.yml",
        )
    missing = [name for name in expected if name not in positions]
    # absent and not an error: a column the registry does not collect (optional_column), or one
    # the contract added later that older exports do not carry (may_be_absent: every cell empty)
    absent_ok = {f.name for f in fields if f.optional_column or f.may_be_absent}
    violations += [Violation(None, None, name, "missing column") for name in missing if name not in absent_ok]
    for name in header:
        if name and name not in expected:
            match = difflib.get_close_matches(normal_name(name), missing, n=1, cutoff=0.8)
            if match:
                violations.append(Violation(None, None, name, f"unknown column: did you mean {match[0]}?", name))
    return positions, violations


@functools.lru_cache(maxsize=65536)
def normal_name(name: str) -> str:
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
        text = column if column.dtype == object else column.map(cell_text)
        key = text.fillna("").astype(str).str.strip().str.lower()
        hit = key.isin(table.keys())
        if hit.any():
            if out is raw:
                out = raw.copy()
            out[positions[f.name]] = text.mask(hit, key.map(table))
    return out


def parse_chunk(raw: pd.DataFrame, fields, positions, mapping: ColumnMapping = NO_MAPPING):
    """Parse one chunk of text cells -> typed columns, mask of unparseable cells, their violations.

    Blank rows are dropped. A row is never dropped silently otherwise: a row whose only
    value is a first cell starting with ``#`` (a comment below the header) and a row
    with values only in columns the contract does not read are each reported once and
    left out. A row with a first cell such as ``#001`` and other values is data. The
    index (data row - 2) is kept, so row numbers stay those of the file.
    """
    raw = _map_values(raw, fields, positions, mapping)
    raw, not_done = _not_done_cells(raw, fields, positions)
    parsed = {
        f.name: parse_column(raw[positions[f.name]], f.kind, mapping.date_format) for f in fields if f.name in positions
    }
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
        if field.kind == DATE and mapping.date_format:
            message = lambda v, f=mapping.date_format: _na_hint(  # noqa: E731
                f"not a date (expected YYYY-MM-DD or the study file's date_format {f})", v
            )
        for row, pid, cell in zip(raw.index[at], patient_ids[at], cells.to_numpy()[at]):  # violations only
            value = cell_text(cell)
            violations.append(Violation(int(row) + 2, None if pd.isna(pid) else pid, field.name, message(value), value))
    typed = pd.DataFrame({name: p[0] for name, p in parsed.items()}, index=raw.index)
    for name, mask in not_done.items():
        typed[not_done_column(name)] = mask
    bad = pd.DataFrame({name: p[3] for name, p in parsed.items()}, index=raw.index)
    return typed[keep], bad[keep], violations


def _not_done_cells(raw: pd.DataFrame, fields, positions) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The "not done" cells (:data:`NOT_DONE_WORDS`) of the columns that accept them, made
    empty, and a mask of them per column (stored as the column's ``not_done_column``)."""
    masks: dict[str, np.ndarray] = {}
    out = raw
    for f in fields:
        if f.not_done is None or f.name not in positions:
            continue
        column = raw[positions[f.name]]
        if column.dtype != object:
            masks[f.name] = np.zeros(len(raw), dtype=bool)
            continue
        mask = column.fillna("").astype(str).str.strip().str.lower().isin(NOT_DONE_WORDS).to_numpy()
        masks[f.name] = mask
        if mask.any():
            if out is raw:
                out = raw.copy()
            out[positions[f.name]] = column.mask(mask, "")
    return out, masks


def _filled(column: pd.Series) -> np.ndarray:
    """Which cells hold a value (not empty, not only spaces)."""
    if column.dtype != object:
        return column.notna().to_numpy()
    return column.fillna("").astype(str).str.strip().ne("").to_numpy()


COMMENT_BELOW_HEADER = (
    "a comment line below the header: only lines above the header may be comments "
    "(and none in a workbook); delete the line or move it above the header"
)
VALUES_OUTSIDE_CONTRACT = "a row with values only in columns that are not read: fill in the row or delete it"


def _unread_rows(
    raw: pd.DataFrame, read: np.ndarray, read_beyond_first: np.ndarray, contract: set[int]
) -> tuple[list[Violation], np.ndarray]:
    """Rows that hold a value but no patient: a comment line below the header (a first
    cell starting with ``#`` and nothing else) and rows with values only in columns
    that are not read. Returns their violations and a mask of them. Blank rows (no
    value at all) are neither. ``read``/``read_beyond_first``: rows with a value in a
    column of the contract / in one other than the first column."""
    dropped = np.zeros(len(raw), dtype=bool)
    first = raw[0]
    hashed = (
        np.flatnonzero(_starts_with(first, "#") & ~read_beyond_first)
        if first.dtype == object
        else np.array([], dtype=int)
    )
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
    violations = [
        Violation(int(raw.index[k]) + 2, None, None, COMMENT_BELOW_HEADER, clip(first.iloc[k].strip(), 60))
        for k in hashed[lone]
    ]
    for k in unread[extra]:
        cells = [raw[i].iloc[k] for i in raw.columns if i not in contract]
        value = next(cell_text(v).strip() for v in cells if cell_text(v).strip())
        violations.append(Violation(int(raw.index[k]) + 2, None, None, VALUES_OUTSIDE_CONTRACT, value))
    dropped[unread[extra]] = True
    return violations, dropped


def _date_cell_message(value: str) -> str:
    """Why a date cell did not parse, the plausibility bounds first: ``1600-01-01`` is a
    valid calendar date, only out of range; a plain number is not a date (why, the hints of
    :mod:`analysis.inputs.problems` say: a workbook cell not formatted as a date, or a column
    that holds something else)."""
    try:
        date = dt.date.fromisoformat(value) if re.fullmatch(ISO_DATE, value) else None
    except ValueError:
        date = None
    if date is not None:  # beyond what a datetime64[ns] holds (1677-2262)
        return TOO_EARLY if date < EARLIEST_DATE else "far in the future: after the data cut-off"
    if re.fullmatch(r"\d+(\.\d*)?", value):
        return "a number, not a date: use YYYY-MM-DD"
    return _date_message(value)


#: The first line of both files the synthetic demo writes (:mod:`analysis.demo.synthetic`),
#: and the only mark of synthetic data the loader accepts: this exact line (any seed), never
#: a comment mentioning the word. The text is kept as the bundled files carry it.
MARKER_LINE = "# SYNTHETIC data generated by cartox analysis.synthetic (seed {seed}); not real patients"
_MARKER = re.compile(re.escape(MARKER_LINE).replace(re.escape("{seed}"), r"\d+"))


def is_marker_line(line: str) -> bool:
    """Whether a file's first line is the synthetic demo's marker."""
    return _MARKER.fullmatch(line.rstrip("\r\n")) is not None
