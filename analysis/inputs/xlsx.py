"""Read one sheet of an Excel ``.xlsx`` workbook without trusting anything in it.

A workbook is a zip archive of XML parts, written by whatever program the user had;
nothing it declares is believed:

- **Sizes**: before any part is unpacked, the sizes the archive declares are checked
  (a part at most :data:`XLSX_MAX_PART_BYTES`, all at most :data:`XLSX_MAX_TOTAL_BYTES`, a
  part above 1 MiB packed at most :data:`XLSX_MAX_RATIO`:1 — a zip bomb is refused). Python's
  zipfile never unpacks more than a part's declared size (a lie is a CRC error).
- **XML**: every part is parsed by defusedxml's hardened expat parser with a document type
  declaration refused (so no entity is ever expanded and no external entity read: the
  "billion laughs" and XXE attacks; Excel never writes a DTD), and elements nested at most
  :data:`XML_MAX_DEPTH` deep.
- **Rows**: the sheet is streamed row by row by its row numbers, never by the range it
  declares (``<dimension>``, which some writers leave stale: a reader trusting it loses the
  rows below); a declared range that stops short of the values is noted. Row numbers must
  increase (openpyxl skips a repeated one silently) and stay within Excel's rows.
- **Cells**: counted as they start, before their row is complete — at most Excel's 16,384
  in a row and :data:`XLSX_MAX_CELLS` in the sheet, as the XML holds them and as the table
  spans them (down to its last value) — and their text at most Excel's 32,767 characters
  each and :data:`XLSX_MAX_TEXT_CHARS` together. Memory stays that of one block of rows
  plus the table itself; a larger table is read as CSV, whose reader streams.

openpyxl reads the workbook's structure, styles and shared strings (with defusedxml, which
it uses when installed) and converts each cell (its type, a date style, the 1904 date
system); it never parses a worksheet itself (its read-only sheets parse a whole sheet
without ``<dimension>`` on opening).
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import TreeBuilder

from analysis.inputs.errors import InputError, clip, file_error

#: Excel's own limits: rows and columns of a sheet, characters of a cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767
#: A part of the workbook unpacks to at most this (a sheet of XLSX_MAX_CELLS cells is
#: about 70 MiB of XML), all of them together to at most XLSX_MAX_TOTAL_BYTES.
XLSX_MAX_PART_BYTES = 128 << 20
XLSX_MAX_TOTAL_BYTES = 256 << 20
#: A part above XLSX_RATIO_FROM_BYTES packs at most 100:1 (Apache POI's default against
#: zip bombs); spreadsheet XML packs about 5-20:1, the most repetitive about 50:1.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM_BYTES = 1 << 20
#: Cells of the sheet read: about 70,000 patients of the contract's 28-29 columns.
XLSX_MAX_CELLS = 2_000_000
#: Characters of the sheet's text cells together (a shared string counts once per cell).
XLSX_MAX_TEXT_CHARS = 64 << 20
#: Nesting of XML elements (a sheet Excel writes nests about 10 deep).
XML_MAX_DEPTH = 64

SAVE_AS_CSV = "save the sheet as CSV UTF-8 (comma delimited), which is read as it streams"

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: Element names as expat reports them (namespace and local name separated by "}").
_SHEET_DATA, _ROW, _CELL, _DIMENSION = (f"{_MAIN_NS}}}{name}" for name in ("sheetData", "row", "c", "dimension"))


# --------------------------------------------------------------------------- the archive


def _is_xml_part(name: str) -> bool:
    return name.endswith((".xml", ".rels", ".vml"))


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def check_archive(path: Path) -> dict[str, str | None]:
    """Refuse a workbook whose parts would unpack beyond the limits (a zip bomb), or whose XML
    parts declare a document type or entities or nest too deep: every XML part but the
    worksheets is parsed here, and each worksheet up to its rows. Returns the range each
    worksheet declares (``<dimension ref>``; None without one)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        why = f"{type(exc).__name__}: {clip(str(exc), 80)}"
        raise file_error(f"cannot open as an Excel .xlsx workbook ({why})") from None
    dimensions: dict[str, str | None] = {}
    with archive:
        infos = archive.infolist()
        total = 0
        for info in infos:
            size, packed = info.file_size, max(info.compress_size, 1)
            total += size
            if size > XLSX_MAX_PART_BYTES:
                raise file_error(
                    f"the workbook's part '{clip(info.filename, 60)}' unpacks to {size:,} bytes, more than the "
                    f"{XLSX_MAX_PART_BYTES:,} a workbook may hold here: {SAVE_AS_CSV}"
                )
            if size > XLSX_RATIO_FROM_BYTES and size > XLSX_MAX_RATIO * packed:
                raise file_error(
                    f"the workbook's part '{clip(info.filename, 60)}' unpacks {size / packed:,.0f} times larger "
                    f"than it is packed ({packed:,} to {size:,} bytes; a spreadsheet packs at most about 50:1): "
                    "refused as a zip bomb"
                )
        if total > XLSX_MAX_TOTAL_BYTES:
            raise file_error(
                f"the workbook unpacks to {total:,} bytes, more than the {XLSX_MAX_TOTAL_BYTES:,} a workbook may "
                f"hold here: {SAVE_AS_CSV}"
            )
        for info in infos:
            if _is_xml_part(info.filename):
                handler = _Nesting(info.filename, stop_at_rows=_is_worksheet(info.filename))
                with archive.open(info) as source:
                    for _ in parse_part(source, info.filename, handler):
                        if handler.stopped:
                            break
                if handler.stop_at_rows:
                    dimensions[info.filename] = handler.dimension
    return dimensions


# --------------------------------------------------------------------------- XML


class _StopParsing(Exception):
    """Raised by an expat callback when the rest of a part is not needed."""


def _too_deep(part: str) -> InputError:
    return file_error(
        f"the workbook's part '{clip(part, 60)}' nests XML elements more than {XML_MAX_DEPTH} deep (a workbook "
        "Excel writes nests about 10): refused"
    )


class _Nesting:
    """expat callbacks that bound the nesting of elements; with ``stop_at_rows``, they stop
    at a worksheet's ``<sheetData>`` and keep the range it declares."""

    def __init__(self, part: str, stop_at_rows: bool = False):
        self.part, self.stop_at_rows = part, stop_at_rows
        self.depth = 0
        self.stopped = False
        self.dimension: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > XML_MAX_DEPTH:
            raise _too_deep(self.part)
        if self.stop_at_rows:
            if name == _DIMENSION:
                self.dimension = attrs.get("ref")
            elif name == _SHEET_DATA:
                self.stopped = True
                raise _StopParsing

    def end(self, name: str) -> None:
        self.depth -= 1

    def data(self, text: str) -> None:
        pass


def parse_part(source, part: str, handler) -> Iterator[None]:
    """Feed an XML part, block by block, to defusedxml's hardened expat parser (a document
    type declaration, an entity or an external reference is refused) with ``handler``'s
    element callbacks; yields after each block, once the handler has taken what it keeps."""
    from xml.etree.ElementTree import ParseError
    from xml.parsers.expat import ExpatError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    expat = DefusedXMLParser(forbid_dtd=True).parser  # with defusedxml's DTD and entity handlers
    expat.ordered_attributes = False
    expat.StartElementHandler = handler.start
    expat.EndElementHandler = handler.end
    expat.CharacterDataHandler = handler.data
    try:
        while block := source.read(1 << 16):
            expat.Parse(block, False)
            yield
        expat.Parse(b"", True)
        yield
    except _StopParsing:
        yield
    except (DefusedXmlException, ExpatError, ParseError) as exc:
        raise xml_refusal(exc, part) from None


def xml_refusal(exc: Exception, part: str | None) -> InputError:
    """The error for an XML part that defusedxml refused or that is not well-formed."""
    from defusedxml import DefusedXmlException

    where = "a part of the workbook" if part is None else f"the workbook's part '{clip(part, 60)}'"
    if isinstance(exc, DefusedXmlException):
        return file_error(
            f"{where} declares an XML document type or entities ({type(exc).__name__}): refused (Excel never "
            "writes one; entities are how a file expands a billion-fold or reads another file)"
        )
    return file_error(
        f"{where} is not well-formed XML ({clip(str(exc), 80)}): the file is damaged; open and save it in Excel"
    )


def too_many_cells(what: str) -> InputError:
    return file_error(
        f"the sheet holds {what} (a workbook may hold at most {XLSX_MAX_CELLS:,} cells and "
        f"{XLSX_MAX_TEXT_CHARS >> 20} MiB of text here): {SAVE_AS_CSV}"
    )


class _SheetCells(_Nesting):
    """expat callbacks for a worksheet: every ``<c>`` directly in a ``<row>`` is built as a
    small element (for openpyxl's cell parser) and the rows are kept as they end, nothing
    else; cells are counted as they start."""

    def __init__(self, part: str):
        super().__init__(part)
        self.rows: list[tuple[str | None, list]] = []  # (its r attribute, its cells), taken by the reader
        #: positions in the sheet's rows (0 = first <row>) of those hidden (filtered out or in a
        #: collapsed group: ``hidden="1"``), taken by the reader with ``rows``
        self.hidden: set[int] = set()
        self.cells = 0
        self.row: list | None = None
        self.row_attr: str | None = None
        self.row_depth = self.cell_depth = 0
        self.builder: Any = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if self.builder is not None:  # inside a cell: its value, formula, inline string
            if depth > XML_MAX_DEPTH:
                raise _too_deep(self.part)
            self.builder.start("{" + name if "}" in name else name, attrs)
        elif name == _CELL:
            self.cells += 1
            if self.cells > XLSX_MAX_CELLS:
                raise too_many_cells(f"more than {XLSX_MAX_CELLS:,} cells")
            if self.row is not None and depth == self.row_depth + 1:
                if len(self.row) >= EXCEL_MAX_COLUMNS:
                    raise file_error(
                        f"a row of the sheet has more than {EXCEL_MAX_COLUMNS:,} cells, Excel's columns: the "
                        "workbook is damaged"
                    )
                self.builder = TreeBuilder()
                self.builder.start("{" + name, attrs)
                self.cell_depth = depth
        elif name == _ROW and self.row is None:
            self.row, self.row_attr, self.row_depth = [], attrs.get("r"), depth
            if str(attrs.get("hidden", "")).strip().lower() in ("1", "true"):
                self.hidden.add(len(self.rows))
        elif depth > XML_MAX_DEPTH:
            raise _too_deep(self.part)

    def end(self, name: str) -> None:
        if self.builder is not None:
            self.builder.end("{" + name if "}" in name else name)
            if self.depth == self.cell_depth:
                self.row.append(self.builder.close())  # type: ignore[union-attr]
                self.builder = None
        elif self.row is not None and self.depth == self.row_depth:
            self.rows.append((self.row_attr, self.row))
            self.row = None
        self.depth -= 1

    def data(self, text: str) -> None:
        if self.builder is not None:
            self.builder.data(text)


# --------------------------------------------------------------------------- the workbook


@dataclass(frozen=True)
class _Sheet:
    title: str
    state: str  # visible, hidden, veryHidden
    part: str
    chart: bool


@dataclass
class _Workbook:
    """What openpyxl read of a workbook: its sheets (none parsed), the active one, the shared
    strings and what its cell parser needs (date styles, date system)."""

    archive: zipfile.ZipFile
    sheets: list[_Sheet]
    active: _Sheet | None
    shared_strings: list
    epoch: Any
    date_formats: set
    timedelta_formats: set
    dimensions: dict[str, str | None] = field(default_factory=dict)
    #: cell styles whose number format shows a percentage (``0%``, ``0.0%``): Excel stores
    #: 45% as 0.45
    percent_formats: set = field(default_factory=set)


class Percent(float):
    """A number a workbook cell shows as a percentage: its stored value (0.45), which the
    cell shows multiplied by 100 (45%). :attr:`shown` is the number the user sees."""

    __slots__ = ()

    @property
    def shown(self) -> float:
        """The percentage the cell shows (0.2547 -> 25.47), without the binary noise of the
        multiplication (25.470000000000002)."""
        return float(f"{float(self) * 100:.12g}")


def is_percent_format(code: str) -> bool:
    """Whether an Excel number format shows its number as a percentage: a ``%`` outside
    quoted text, escapes and ``[...]`` (colors, conditions, locales)."""
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code or "")
    return "%" in bare


def _percent_formats(wb) -> set[int]:
    """The cell styles (their index, as a cell's ``s`` attribute) showing a percentage."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, builtin_format_code

    out = set()
    for index, style in enumerate(wb._cell_styles):
        number = style.numFmtId
        if number is None:
            continue
        if number < BUILTIN_FORMATS_MAX_SIZE:
            code = builtin_format_code(number)
        else:
            custom = number - BUILTIN_FORMATS_MAX_SIZE
            code = wb._number_formats[custom] if 0 <= custom < len(wb._number_formats) else None
        if code and is_percent_format(str(code)):
            out.add(index)
    return out


def _open_workbook(path: Path, dimensions: dict[str, str | None]) -> _Workbook:
    from defusedxml import DefusedXmlException
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = None
    try:
        reader = ExcelReader(path, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            _Sheet(sheet.name, sheet.state or "visible", rel.target, "chartsheet" in rel.Type)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files
        ]
    except DefusedXmlException as exc:
        if reader is not None:
            reader.archive.close()
        raise xml_refusal(exc, None) from None
    except Exception as exc:  # a damaged or foreign zip: bad input, never a crash
        if reader is not None:
            reader.archive.close()
        raise file_error(
            f"cannot open as an Excel .xlsx workbook ({type(exc).__name__}: {clip(str(exc), 120)})"
        ) from None
    wb = reader.wb
    index = wb._active_sheet_index
    return _Workbook(
        reader.archive,
        sheets,
        sheets[index] if isinstance(index, int) and 0 <= index < len(sheets) else None,
        reader.shared_strings,
        wb.epoch,
        wb._date_formats,
        wb._timedelta_formats,
        dimensions,
        _percent_formats(wb),
    )


def _row_number(text: str | None, previous: int, part: str) -> int:
    """A ``<row r="...">`` number (the next one when absent), checked: increasing (openpyxl
    skips a row whose number repeats or goes back, silently) and within Excel's rows."""
    if text is None:
        number = previous + 1
    else:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value.is_integer():
            raise file_error(f"the workbook's part '{clip(part, 60)}' has a row numbered {clip(text, 20)!r}: damaged")
        number = int(value)
    if number <= previous:
        raise file_error(
            f"row {number} of the sheet comes after row {previous} (a row written twice, or rows out of order): "
            "the workbook is damaged; open and save it in Excel"
        )
    if number > EXCEL_MAX_ROWS:
        raise file_error(f"the sheet has a row numbered {number:,}, beyond Excel's {EXCEL_MAX_ROWS:,} rows: damaged")
    return number


#: (row number, [(column, value)], [(column, formula)]) of one row of a sheet: the cells
#: holding a value (a formula's saved result), and the formulas without a saved result.
_Row = tuple[int, list[tuple[int, Any]], list[tuple[int, str]]]


def _sheet_rows(book: _Workbook, sheet: _Sheet, hidden: set[int] | None = None) -> Generator[_Row, None, None]:
    """The rows of a sheet as its XML holds them, streamed (memory: one block of rows);
    ``hidden`` collects the numbers of the rows the workbook hides (read all the same)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    values = WorkSheetParser(
        None,
        book.shared_strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book.date_formats,
        timedelta_formats=book.timedelta_formats,
    )
    formulas = WorkSheetParser(None, book.shared_strings)  # the text of a formula without a result
    handler = _SheetCells(sheet.part)
    previous = 0
    with book.archive.open(sheet.part) as source:
        for _ in parse_part(source, sheet.part, handler):
            for position, (attr, elements) in enumerate(handler.rows):
                number = previous = _row_number(attr, previous, sheet.part)
                if hidden is not None and position in handler.hidden:
                    hidden.add(number)
                values.row_counter, values.col_counter = number, 0
                row: list[tuple[int, Any]] = []
                missing: list[tuple[int, str]] = []
                seen: set[int] = set()
                for cell in elements:
                    counter = values.col_counter  # the cell's place in its row, for a message naming it
                    if cell.get("t") == "s":  # openpyxl reads index -1 as the last shared string
                        index = (cell.findtext(VALUE_TAG) or "").strip()
                        if index and not re.fullmatch(r"[0-9]+", index):
                            where = _where(cell, number, counter)
                            raise file_error(
                                f"cell {where} of the sheet points to shared string {clip(index, 20)!r}, which "
                                "cannot exist: the workbook is damaged; open and save it in Excel"
                            )
                    try:
                        parsed = values.parse_cell(cell)
                        text = None if cell.find(FORMULA_TAG) is None else formulas.parse_formula(cell)
                    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
                        where = _where(cell, number, counter)
                        raise file_error(
                            f"cell {where} of the sheet cannot be read ({type(exc).__name__}): the "
                            "workbook is damaged; open and save it in Excel"
                        ) from None
                    if parsed["row"] != number or parsed["column"] in seen:
                        # a value written twice would silently replace the first; one in the
                        # wrong row would move to another patient
                        why = "is written twice in its row" if parsed["row"] == number else f"lies in row {number}"
                        where = _where(cell, number, counter)
                        raise file_error(
                            f"cell {where} of the sheet {why}: the workbook is damaged; open and save it in Excel"
                        )
                    seen.add(parsed["column"])
                    value = parsed["value"]
                    if (
                        parsed["data_type"] == "n"
                        and parsed["style_id"] in book.percent_formats
                        and isinstance(value, int | float)
                        and not isinstance(value, bool)
                    ):
                        value = Percent(value)  # shown as value x 100 %
                    if value is not None:
                        row.append((parsed["column"], value))
                    elif text is not None:
                        missing.append((parsed["column"], str(text)))
                yield number, row, missing
            handler.rows.clear()
            handler.hidden.clear()


def _where(cell, number: int, counter: int) -> str:
    """How a message names a cell of row ``number``: its reference, else its place in the
    row (``counter`` cells before it); only ever built for a message (escaping the text of
    every cell cost a third of the reading of a workbook)."""
    return clip(cell.get("r") or f"row {number}, column {counter + 1}", 20)


def _count_cells(book: _Workbook, sheet: _Sheet) -> None:
    """Refuse a sheet whose unpacked XML holds more cell tags than :data:`XLSX_MAX_CELLS`
    before parsing it: counting bytes takes a fraction of a second where parsing the cells up
    to the limit takes seconds. (A cell written with a namespace prefix is not seen here; the
    parser counts every cell as it streams all the same.)"""
    count, tail = 0, b""
    with book.archive.open(sheet.part) as source:
        while block := source.read(1 << 22):
            block = tail + block
            count += block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/")
            tail = block[-2:]  # a tag cut by the boundary is found in the next block (never twice: 3 bytes)
            if count > XLSX_MAX_CELLS:
                raise too_many_cells(f"more than {XLSX_MAX_CELLS:,} cells")


def _dense(cells: list[tuple[int, Any]]) -> tuple:
    out: list[Any] = [None] * max((column for column, _ in cells), default=0)
    for column, value in cells:
        out[column - 1] = value
    return tuple(out)


def _first_row(book: _Workbook, sheet: _Sheet) -> tuple:
    """Row 1 of a sheet (empty when it has none), reading no further."""
    with contextlib.closing(_sheet_rows(book, sheet)) as rows:
        number, cells, _ = next(rows, (0, [], []))
    return _dense(cells) if number == 1 else ()


# --------------------------------------------------------------------------- reading a table


@dataclass(frozen=True)
class SheetTable:
    """A sheet read for its table.

    ``header``: row 1 as names (``names_of``), trailing empty names removed; ``body``: the
    rows below it down to the last value (row 2 first; ``()`` for a blank row), each cut to
    the header's width plus one column holding the first value right of the header, if any;
    ``missing``: formulas without a saved result in the header's columns (index in
    ``body``, column index, formula); ``notes`` for the user (the sheet read when others
    hold a table; a stale declared range)."""

    title: str
    header: tuple[str, ...]
    body: list[tuple]
    missing: list[tuple[int, int, str]]
    notes: tuple[str, ...]
    #: the other sheets holding a table, not read
    others: tuple[OtherSheet, ...] = ()


@dataclass(frozen=True)
class OtherSheet:
    """A sheet of the workbook holding a table that was not read: how much it holds."""

    title: str
    hidden: bool
    #: its rows below the header that hold a value (None: it could not be counted)
    rows: int | None
    #: distinct values of its ``patient_id`` column (None: no such column, or not counted)
    patients: int | None
    #: its header names the same columns of the contract as the sheet read (the same table)
    same_table: bool

    def counted(self) -> str:
        """'15 rows, 15 patients' (what a note says of it)."""
        if self.rows is None:
            return "not counted: too large or damaged"
        text = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        if self.patients is not None:
            text += f", {self.patients:,} patient{'s' if self.patients != 1 else ''}"
        return text


def _count_rows(
    book: _Workbook, sheet: _Sheet, names_of: Callable[[tuple], list[str]]
) -> tuple[int | None, int | None]:
    """(rows below the header holding a value, distinct patient_id values or None) of a sheet
    that is not read, streamed with the same limits as the sheet read; (None, None) when it is
    too large or damaged (that sheet is not read: it cannot stop the reading)."""
    from analysis.registry.contract import identity_key

    try:
        _count_cells(book, sheet)
        rows, ids, position = 0, set(), None
        for number, cells, formulas in _sheet_rows(book, sheet):
            if number == 1:
                names = names_of(_dense(cells))
                position = names.index("patient_id") + 1 if "patient_id" in names else None
                continue
            if cells or formulas:
                rows += 1
            if position is not None:
                value = next((v for column, v in cells if column == position), None)
                if value is not None and str(value).strip():
                    ids.add(identity_key(value))
    except InputError:
        return None, None
    return rows, (len(ids) if position is not None else None)


def _choose_sheet(
    book: _Workbook,
    sheet: str | None,
    path: Path,
    names_of: Callable[[tuple], list[str]],
    is_table: Callable[[list[str]], bool],
    same_table: Callable[[list[str], list[str]], bool],
) -> tuple[_Sheet, list[str], tuple[OtherSheet, ...]]:
    """The sheet to read, a note naming it and counting what the other sheets holding a
    table hold (rows, patients), and those sheets.

    Without a named sheet: the active sheet when it is visible, otherwise the first
    visible one. A hidden sheet (an old export left in the workbook) is never read
    unless named. Another visible sheet holding the same table (the same columns of the
    contract: patients split over sheets) is an error counting each sheet's rows, unless a
    sheet is named: no patient is dropped because a workbook has two sheets."""
    names = [s.title for s in book.sheets]
    worksheets = [s for s in book.sheets if not s.chart]
    if not worksheets:
        raise file_error("the workbook has no worksheet")
    if sheet is not None:
        if sheet not in names:
            raise file_error(
                f"no sheet named '{sheet}' in the workbook (its sheets: {', '.join(repr(name) for name in names)})"
            )
        chosen = book.sheets[names.index(sheet)]
        if chosen.chart:
            raise file_error(f"sheet '{sheet}' is a chart, not a table")
        why = "the sheet named"
    else:
        visible = [s for s in worksheets if s.state == "visible"]
        if not visible:
            raise file_error("every sheet of the workbook is hidden: name the sheet to read")
        active = book.active
        chosen, why = (active, "the active sheet") if active in visible else (visible[0], "the first visible sheet")
    header = names_of(_first_row(book, chosen))
    others = []
    for other in worksheets:
        if other is chosen:
            continue
        names = names_of(_first_row(book, other))
        if is_table(names):
            rows, patients = _count_rows(book, other, names_of)
            others.append(OtherSheet(other.title, other.state != "visible", rows, patients, same_table(header, names)))
    if not others:
        return chosen, [], ()
    split = [o for o in others if o.same_table and not o.hidden]
    if sheet is None and split:
        rows, patients = _count_rows(book, chosen, names_of)
        read = OtherSheet(chosen.title, False, rows, patients, True)
        listed = ", ".join(f"'{o.title}' ({o.counted()})" for o in [read, *split])
        raise file_error(
            f"{len(split) + 1} visible sheets hold the same table: {listed}. Only one sheet is read: put every "
            "patient on one sheet, or name the sheet that is the cohort (study file: data: sheet:, or --sheet)"
        )
    listed = ", ".join(
        f"'{o.title}' ({'hidden; ' if o.hidden else ''}{o.counted()}{'; the same columns' if o.same_table else ''})"
        for o in others
    )
    note = f"{path.name}: read sheet '{chosen.title}' ({why}); other sheets with a table were not read: {listed}." + (
        "" if sheet is not None else " Name the sheet to read if that is not the right one."
    )
    return chosen, [note], tuple(others)


def _hidden_rows_note(rows: list[int], sheet: _Sheet, path: Path) -> list[str]:
    """A note counting the rows of values the workbook hides (filtered out by an autoFilter,
    collapsed in an outline group, or hidden by hand): they are read like every row, so the
    count differs from what Excel shows."""
    if not rows:
        return []
    listed = ", ".join(map(str, rows[:8])) + (", ..." if len(rows) > 8 else "")
    n = len(rows)
    return [
        f"{path.name}: {n} row{'s' if n != 1 else ''} of sheet '{sheet.title}' {'are' if n != 1 else 'is'} hidden in "
        f"the workbook (filtered out, in a collapsed group, or hidden; rows {listed}) and read like every other "
        "row: Excel shows fewer rows than are analyzed. Delete the rows that are not part of the study from the export."
    ]


def _stale_range_note(book: _Workbook, sheet: _Sheet, last_row: int, last_column: int, path: Path) -> list[str]:
    """A note when the range the sheet declares (``<dimension>``) stops short of its values."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import range_boundaries

    declared = book.dimensions.get(sheet.part)
    try:
        _, _, columns, rows = range_boundaries(declared) if declared else (None, None, None, None)
    except (ValueError, TypeError):
        return []
    if rows is None or columns is None or (last_row <= rows and last_column <= columns):
        return []
    return [
        f"{path.name}: sheet '{sheet.title}' declares its used range as {clip(declared or '', 30)} but holds values "
        f"down to row {last_row} and across to column {get_column_letter(last_column)}: every row was read (the "
        "program that wrote the workbook left the range stale)"
    ]


def read_table(
    path: Path,
    sheet: str | None,
    names_of: Callable[[tuple], list[str]],
    is_header: Callable[[list[str]], bool],
    is_table: Callable[[list[str]], bool],
    same_table: Callable[[list[str], list[str]], bool] = lambda a, b: False,
) -> SheetTable:
    """The table of a workbook's sheet (``sheet``, else the active visible one), header on row 1.

    ``names_of`` reads a row as column names; ``is_header(names)``: whether row 1 is the
    table's header (else a header found on rows 2-50 is an error naming its row);
    ``is_table(names)``: whether row 1 of another sheet is a table's header (for the note);
    ``same_table(read, other)``: whether two headers are those of one table (patients split
    over visible sheets are an error, see :func:`_choose_sheet`)."""
    from openpyxl.utils import get_column_letter

    book = _open_workbook(path, check_archive(path))
    try:
        chosen, notes, others = _choose_sheet(book, sheet, path, names_of, is_table, same_table)
        _count_cells(book, chosen)
        header: list[str] = []
        header_found = False
        body: list[tuple] = []
        missing: list[tuple[int, int, str]] = []
        early: list[tuple[int, list[tuple[int, Any]]]] = []  # rows 2-50 while row 1 is no header
        chars = last_row = last_column = 0
        width = 0
        hidden: set[int] = set()
        hidden_read: list[int] = []
        for number, cells, formulas in _sheet_rows(book, chosen, hidden):
            for column, value in cells:
                if isinstance(value, str):
                    chars += len(value)
                    if len(value) > EXCEL_MAX_CELL_CHARS:
                        raise file_error(
                            f"cell {get_column_letter(column)}{number} holds {len(value):,} characters, more than "
                            f"Excel's {EXCEL_MAX_CELL_CHARS:,}: the workbook was not written by Excel"
                        )
            if chars > XLSX_MAX_TEXT_CHARS:
                raise too_many_cells(f"more than {XLSX_MAX_TEXT_CHARS:,} characters of text")
            if cells:
                last_row = number
                last_column = max(last_column, max(column for column, _ in cells))
            if number == 1:
                header = names_of(_dense(cells))
                header_found = is_header(header)
                while header and not header[-1]:
                    header.pop()
                width = len(header)
                continue
            if not (cells or formulas):
                continue
            if not header_found and number <= 50:
                early.append((number, cells))
            if (number - 1) * max(width, 1) > XLSX_MAX_CELLS:
                raise too_many_cells(
                    f"a value on row {number:,} ({number - 1:,} rows of {width} columns are more than "
                    f"{XLSX_MAX_CELLS:,} cells: delete the rows below the table, or {SAVE_AS_CSV})"
                )
            row: list[Any] = [None] * (width + 1)
            beyond = False
            for column, value in cells:
                if column <= width:
                    row[column - 1] = value
                elif not beyond:
                    row[width], beyond = value, True
            if number in hidden:
                hidden_read.append(number)
            index = number - 2
            body.extend([()] * (index - len(body)))
            body.append(tuple(row))
            missing += [(index, column - 1, formula) for column, formula in formulas if column <= width]
        if last_row == 0:
            raise file_error(f"empty workbook (sheet '{chosen.title}' has no values)")
        if not header_found:
            for number, cells in early:
                if is_table(names_of(_dense(cells))):
                    raise file_error(
                        f"the header must be on row 1 of sheet '{chosen.title}' (it is on row {number}): "
                        "delete the rows above it"
                    )
        notes += _stale_range_note(book, chosen, last_row, last_column, path)
        notes += _hidden_rows_note(hidden_read, chosen, path)
    finally:
        book.archive.close()
    return SheetTable(chosen.title, tuple(header), body, missing, tuple(notes), others)
