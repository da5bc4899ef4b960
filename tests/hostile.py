"""Hostile workbooks (issue 22): builders shared by tests/test_hostile_inputs.py and
benchmarks/hostile_inputs.py.

Each builder writes an ``.xlsx`` whose parts are spelled out here, byte for byte, so a test
knows exactly what the reader was given: the 93 patients of the bundled synthetic cohort
(``data/cohort.csv``) in a workbook with a stale declared range, entity attacks, deep
nesting, a zip bomb, rows wider than Excel allows, and workbooks of many cells made small
by compression (the shapes that took gigabytes or minutes before the reader stopped
trusting them).
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "cohort.csv"
DATES = {"infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date"}
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<workbook xmlns="{MAIN}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="cohort" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
#: Style 1 is a date (built-in number format 14), as Excel marks a date cell.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def bundled_rows() -> tuple[list[str], list[list[str]]]:
    """The header and the 93 patients of the bundled synthetic cohort, as text."""
    with open(BUNDLED, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if row and not row[0].startswith("#")]
    return rows[0], rows[1:]


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_xml(column: int, row: int, name: str, text: str) -> str:
    """One cell as Excel writes it: a number, a date (serial number, date style), a boolean
    or an inline string."""
    ref = f"{column_letter(column)}{row}"
    if text == "":
        return ""
    if name in DATES:
        serial = (dt.date.fromisoformat(text) - dt.date(1899, 12, 30)).days
        return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
    if text in ("yes", "no"):
        return f'<c r="{ref}" t="b"><v>{int(text == "yes")}</v></c>'
    try:
        float(text)
    except ValueError:
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
    return f'<c r="{ref}"><v>{text}</v></c>'


def row_xml(number: int, header: list[str], values: list[str], extra: str = "") -> str:
    cells = "".join(cell_xml(i, number, name, text) for i, (name, text) in enumerate(zip(header, values), start=1))
    return f'<row r="{number}">{cells}{extra}</row>'


def header_xml(header: list[str]) -> str:
    cells = "".join(
        f'<c r="{column_letter(i)}1" t="inlineStr"><is><t>{escape(name)}</t></is></c>'
        for i, name in enumerate(header, start=1)
    )
    return f'<row r="1">{cells}</row>'


def sheet_xml(
    rows: Iterable[str], dimension: str | None = None, prologue: str = "", before_data: str = ""
) -> Iterator[str]:
    """A worksheet part in pieces (it can be larger than memory): ``prologue`` goes between the
    XML declaration and the root element (a DOCTYPE), ``before_data`` before ``<sheetData>``."""
    yield SHEET_HEAD + prologue + f'<worksheet xmlns="{MAIN}">'
    if dimension is not None:
        yield f'<dimension ref="{dimension}"/>'
    yield before_data + "<sheetData>"
    yield from rows
    yield "</sheetData></worksheet>"


def write_xlsx(path: Path, sheet: Iterable[str], parts: dict[str, str] | None = None, level: int = 6) -> Path:
    """A workbook whose first sheet is ``sheet`` (pieces of XML, streamed into the zip) and whose
    other parts are the minimal ones above, replaced or added by ``parts``."""
    fixed = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        STYLES: _STYLES,
    }
    fixed.update(parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, text in fixed.items():
            archive.writestr(name, text)
        with archive.open(SHEET, "w", force_zip64=True) as fh:
            buffer: list[str] = []
            size = 0
            for piece in sheet:
                buffer.append(piece)
                size += len(piece)
                if size > 1 << 20:
                    fh.write("".join(buffer).encode("utf-8"))
                    buffer, size = [], 0
            fh.write("".join(buffer).encode("utf-8"))
    return path


def bundled_sheet_rows(n: int | None = None, extra=lambda number: "") -> Iterator[str]:
    """The header and ``n`` patients (default: the 93 bundled ones; more cycle through them
    with new ids), each row followed by ``extra(row number)``."""
    header, data = bundled_rows()
    yield header_xml(header)
    for i in range(len(data) if n is None else n):
        values = list(data[i % len(data)])
        if i >= len(data):
            values[0] = f"X{i:07d}"
        yield row_xml(i + 2, header, values, extra(i + 2))


# --------------------------------------------------------------------------- the hostile corpus


def last_column() -> str:
    """The letter of the bundled cohort's last column (AB for its 28 columns)."""
    return column_letter(len(bundled_rows()[0]))


def bundled_workbook(path: Path, dimension: str | None = "exact") -> Path:
    """The 93 bundled patients (rows 2..94), the declared range correct ("exact"), absent
    (None) or as given."""
    dimension = f"A1:{last_column()}94" if dimension == "exact" else dimension
    return write_xlsx(path, sheet_xml(bundled_sheet_rows(), dimension))


def stale_range(path: Path) -> Path:
    """The 93 patients with the declared range ``<dimension ref="A1:{last}50">`` left stale by the
    writer: a reader trusting it reads 49 patients."""
    return write_xlsx(path, sheet_xml(bundled_sheet_rows(), f"A1:{last_column()}50"))


#: Nine levels of ten: 10^9 copies of "lol" from a few hundred bytes.
BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)


def entity_cell_row(entity: str) -> str:
    """A patient whose centre cell is the entity ``&entity;``."""
    header, data = bundled_rows()
    row = row_xml(2, header, data[0])
    return row.replace(f"<t>{escape(data[0][1])}</t>", f"<t>&{entity};</t>", 1)


def billion_laughs(path: Path, part: str = SHEET) -> Path:
    """Entity expansion (the 'billion laughs'), in the sheet or in another part."""
    if part == SHEET:
        return write_xlsx(
            path,
            sheet_xml([header_xml(bundled_rows()[0]), entity_cell_row("lol9")], f"A1:{last_column()}2", BILLION_LAUGHS),
        )
    styles = _STYLES.replace(SHEET_HEAD, SHEET_HEAD + BILLION_LAUGHS.replace("worksheet", "styleSheet"))
    styles = styles.replace('<name val="Calibri"/>', '<name val="&lol9;"/>')
    return write_xlsx(path, sheet_xml(bundled_sheet_rows()), {part: styles})


def external_entity(path: Path, target: Path) -> Path:
    """An external entity: the centre cell would hold the contents of ``target``."""
    prologue = f'<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file://{target}">]>'
    return write_xlsx(
        path, sheet_xml([header_xml(bundled_rows()[0]), entity_cell_row("secret")], f"A1:{last_column()}2", prologue)
    )


def deep_nesting(path: Path, depth: int = 20_000, part: str = SHEET) -> Path:
    """Elements nested ``depth`` deep: inside a cell of the sheet, or in the styles part."""
    nest = "<x>" * depth + "</x>" * depth
    if part == SHEET:
        header, data = bundled_rows()
        row = row_xml(2, header, data[0]).replace("</t></is>", f"</t>{nest}</is>", 1)
        return write_xlsx(path, sheet_xml([header_xml(header), row]))
    styles = _STYLES.replace("</styleSheet>", f"{nest}</styleSheet>")
    return write_xlsx(path, sheet_xml(bundled_sheet_rows()), {part: styles})


def zip_bomb(path: Path, megabytes: int = 200) -> Path:
    """The 93 patients followed by ``megabytes`` MiB of blanks inside the sheet (valid XML),
    which deflate packs about 1000:1."""
    blank = " " * (1 << 20)
    return write_xlsx(path, sheet_xml([*bundled_sheet_rows(), *(blank for _ in range(megabytes))]), level=9)


def wide_rows(path: Path, n: int) -> Path:
    """``n`` patients, each row with one more cell in the last column Excel has (XFD): a
    reader padding every row to its widest holds 16,384 values per patient."""
    return write_xlsx(
        path,
        sheet_xml(bundled_sheet_rows(n, lambda r: f'<c r="XFD{r}"><v>1</v></c>'), f"A1:XFD{n + 1}"),
        level=9,
    )


def giant_row(path: Path, cells: int) -> Path:
    """The 93 patients, then one row of ``cells`` cells (Excel allows 16,384)."""
    rows = [*bundled_sheet_rows(), '<row r="95">', *("<c><v>1</v></c>" for _ in range(cells)), "</row>"]
    return write_xlsx(path, sheet_xml(rows), level=9)


def many_rows(path: Path, n: int) -> Path:
    """``n`` patients (the 93 repeated with new ids): many cells from a small file."""
    return write_xlsx(path, sheet_xml(bundled_sheet_rows(n)), level=9)


def far_row_number(path: Path, number: int) -> Path:
    """The 93 patients and one more whose row number is ``number``."""
    header, data = bundled_rows()
    values = list(data[0])
    values[0] = "FAR-1"
    return write_xlsx(path, sheet_xml([*bundled_sheet_rows(), row_xml(number, header, values)]))


def repeated_row_number(path: Path) -> Path:
    """The 93 patients, the last one written twice under the same row number (openpyxl
    skips the second silently)."""
    header, data = bundled_rows()
    values = list(data[-1])
    values[0] = "DUP-1"
    return write_xlsx(path, sheet_xml([*bundled_sheet_rows(), row_xml(94, header, values)]))
