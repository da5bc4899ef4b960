"""No patient lost or counted twice by the shape of a row (issue 22, attack on main).

* a CSV row with more values than the header: pandas compares a row with the row before
  only, so the first data row (and the first row of every chunk it reads) lost its extra
  values silently -- two patients joined on one line became one ('OK: 92 patients');
  U+2028, form feed, RS or NEL where a line break was meant did the same;
* patient ids that differ only invisibly or by case, full-width digits, NFC/NFD: the same
  patient counted twice;
* center names spelled differently (NFC/NFD, a zero-width space, case): one center
  counted as several;
* an .xlsx whose cell coordinate is written twice in a row, or whose shared-string index
  is negative: a cell silently replaced or read from another cell.

Each test asserts the clear outcome: a problem with its row (or cell), or the merge noted.
"""

from __future__ import annotations

import csv
import io
import shutil
import unicodedata
from pathlib import Path

import hostile
import pytest

import analysis.inputs.readers as readers
from analysis.inputs.loading import InputError, load_study

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2023-03-01"
KINETICS = ROOT / "data" / "kinetics.csv"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _violations(cohort: Path, kinetics: Path | None = None) -> list:
    with pytest.raises(InputError) as info:
        load_study(cohort, kinetics, CUTOFF)
    return info.value.violations


def _cohort_lines() -> tuple[str, list[str]]:
    """The bundled cohort's header line and its 93 patient lines, as written."""
    header, data = hostile.bundled_rows()
    return _csv([header]).rstrip("\n"), [_csv([row]).rstrip("\n") for row in data]


# --------------------------------------------------------------------------- rows longer than the header


def test_the_first_two_patients_joined_on_one_line_are_a_problem_not_92_patients(tmp_path):
    header, lines = _cohort_lines()
    joined = tmp_path / "joined.csv"
    joined.write_text("\n".join([header, lines[0] + "," + lines[1], *lines[2:]]) + "\n", encoding="utf-8")
    [v] = _violations(joined)
    width = len(header.split(","))
    assert v.row == 2 and v.patient_id == lines[0].split(",")[0]
    assert v.rule.startswith(f"{2 * width} values but the header has {width} columns")
    assert "two rows joined" in v.rule


def test_one_extra_value_on_the_first_row_is_a_problem_not_dropped(tmp_path):
    header, lines = _cohort_lines()
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join([header, lines[0] + ",withdrew", *lines[1:]]) + "\n", encoding="utf-8")
    [v] = _violations(extra)
    assert v.row == 2 and v.rule.startswith(f"{len(header.split(',')) + 1} values")


@pytest.mark.parametrize(
    "separator, name",
    [
        ("\u2028", "line separator (U+2028)"),
        ("\x0c", "form feed (U+000C)"),
        ("\x1e", "record separator (U+001E)"),
        ("\x85", "next line (U+0085)"),
    ],
)
def test_a_character_shown_as_a_line_break_that_is_none_is_named(tmp_path, separator, name):
    """Word pastes U+2028 or a form feed where a line break was meant: an editor shows two
    rows, a CSV reader reads one (the first patient's extra values were dropped)."""
    header, lines = _cohort_lines()
    path = tmp_path / "pasted.csv"
    rows = [header + ",notes", lines[0] + ",seen" + separator + lines[1] + ",x", *[line + "," for line in lines[2:]]]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 94  # two lines for Python's str
    [v] = _violations(path)
    assert v.row == 2 and name in v.rule and "replace it by a line break" in v.rule


def test_a_long_row_opening_a_later_chunk_is_a_problem_too(tmp_path, monkeypatch):
    """pandas reads the first row of every chunk without comparing it (silently cut), and
    the rows after it as long as it."""
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10)
    header, lines = _cohort_lines()
    rows = [header, *lines]
    rows[11] = rows[11] + ",late"  # row 12: the first of the second chunk
    rows[12] = rows[12] + ",later"
    path = tmp_path / "late.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert [v.row for v in _violations(path)] == [12, 13]


def test_a_quoted_value_over_two_lines_counts_as_one_row(tmp_path):
    header, lines = _cohort_lines()
    path = tmp_path / "quoted.csv"
    rows = [header + ",notes", lines[0] + ',"seen,\ntwice"', *[line + "," for line in lines[1:]]]
    rows[5] += ",x"  # row 6 as a spreadsheet counts it (the quoted value is one cell)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    [v] = _violations(path)
    assert v.row == 6 and v.patient_id == lines[4].split(",")[0]


def test_two_kinetics_samples_joined_on_one_line_are_a_problem(tmp_path):
    lines = KINETICS.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("patient_id"))
    lines[at + 1] = lines[at + 1] + "," + lines.pop(at + 2)
    path = tmp_path / "kinetics.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [v] = _violations(ROOT / "data" / "cohort.csv", path)
    assert v.row == 2 and v.file == str(path) and v.rule.startswith("6 values but the header has 3 columns")


def test_rows_as_long_as_the_header_read_every_patient():
    assert len(load_study(ROOT / "data" / "cohort.csv", KINETICS, CUTOFF).cohort) == 93


# --------------------------------------------------------------------------- ids and centers spelled differently


@pytest.mark.parametrize(
    "spelling",
    [
        "{id}\u200b",  # a zero-width space after it
        "\ufeff{id}",  # a byte-order mark before it (a pasted cell)
        "{id}\u00ad",  # a soft hyphen
        # attack 27: characters that print as nothing beyond Unicode's format characters (Cf)
        "{id}\x7f",  # DEL
        "{id}\x07",  # BEL, a C0 control
        "\x81{id}",  # a C1 control
        "{id}\u034f",  # COMBINING GRAPHEME JOINER
        "{id}\ufe0f",  # VARIATION SELECTOR-16
        "{id}\U000e0100",  # VARIATION SELECTOR-17
        "{id}\u3164",  # HANGUL FILLER
        "\u115f{id}\u1160",  # HANGUL CHOSEONG and JUNGSEONG FILLER
        "{id}\uffa0",  # HALFWIDTH HANGUL FILLER
        "{id}\u2800",  # BRAILLE PATTERN BLANK
        "{id}\U000e0041",  # TAG LATIN CAPITAL LETTER A
        "fullwidth",  # ＰＴ... : full-width letters and digits
        "lower",  # the same id in lower case
        "nfd",  # an accent written as a separate character
        # attack 30: a dash or minus sign for the hyphen (Word's autocorrect, a pasted cell)
        "dash:\u2010",  # HYPHEN
        "dash:\u2011",  # NON-BREAKING HYPHEN
        "dash:\u2012",  # FIGURE DASH
        "dash:\u2013",  # EN DASH
        "dash:\u2014",  # EM DASH
        "dash:\u2212",  # MINUS SIGN
        "dash:\ufe58",  # SMALL EM DASH
        "dash:\uff0d",  # FULLWIDTH HYPHEN-MINUS
    ],
)
def test_a_patient_whose_copies_differ_invisibly_is_a_duplicate(tmp_path, spelling):
    header, data = hostile.bundled_rows()
    first = list(data[0])
    if spelling == "nfd":  # both copies carry an accent: NFC in one, NFD in the other
        first[0] = first[0][:-1] + "\u00e9"
        copy = first[0][:-1] + "e\u0301"
    elif spelling == "fullwidth":
        copy = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in first[0])
    elif spelling == "lower":
        copy = first[0].lower()
    elif spelling.startswith("dash:"):
        assert "-" in first[0]
        copy = first[0].replace("-", spelling[5:])
    else:
        copy = spelling.format(id=first[0])
    assert copy != first[0]
    path = tmp_path / "twice.csv"
    path.write_text(_csv([header, first, *data[1:], [copy, *first[1:]]]), encoding="utf-8")
    violations = _violations(path)
    assert [(v.row, v.column) for v in violations] == [(2, "patient_id"), (95, "patient_id")]
    assert all(v.rule.startswith("duplicate patient_id (rows 2, 95; spelled differently") for v in violations)


def _perl_default_ignorable() -> set[int]:
    """Unicode's Default_Ignorable_Code_Point property as Perl's regular expressions know it
    (an independent source: Perl ships its own Unicode tables)."""
    import subprocess

    perl = shutil.which("perl")
    if perl is None:
        pytest.skip("perl is not installed: no independent table of the Default_Ignorable_Code_Point property")
    script = (
        "for my $c (0..0x10FFFF) { next if $c >= 0xD800 && $c <= 0xDFFF; "
        'print "$c\\n" if chr($c) =~ /\\p{Default_Ignorable_Code_Point}/ }'
    )
    out = subprocess.run([perl, "-e", script], capture_output=True, text=True, check=True).stdout
    return {int(line) for line in out.split()}


def test_every_character_that_prints_as_nothing_is_ignored_in_an_identity():
    """The principled set: controls (Cc) but white space, format characters (Cf), every
    Default_Ignorable_Code_Point (checked against Perl's Unicode tables) and the braille
    blank; white space separates words and is collapsed."""
    import unicodedata as ud

    from analysis.registry.contract import identity_key, is_invisible

    ignorable = _perl_default_ignorable()
    assert {0x034F, 0x3164, 0xFE0F, 0xE0100, 0x115F, 0xFFA0} <= ignorable
    ours = {c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and is_invisible(chr(c))}
    controls = {c for c in range(0x110000) if ud.category(chr(c)) in ("Cc", "Cf") and not chr(c).isspace()}
    assert ours == (ignorable | controls | {0x2800}) - {c for c in ignorable if chr(c).isspace()}
    for c in sorted(ours)[:: max(1, len(ours) // 400)] + [0x7F, 0x81, 0x2800]:
        assert identity_key(f"SYN{chr(c)}-001") == identity_key("syn-001"), hex(c)
    assert identity_key("SYN\t001") == identity_key("syn 001") != identity_key("syn001")  # a tab is a space


def test_ids_that_differ_visibly_are_two_patients():
    """The comparison ignores only what a reader cannot see (PTQX0001 and PTQX0010 differ)."""
    from analysis.registry.contract import identity_key

    assert identity_key("PTQX0001") != identity_key("PTQX0010")
    assert identity_key("P-1") != identity_key("P1") and identity_key("Zoë") != identity_key("Zoe")
    assert identity_key("  ＰＴ\u200bＱＸ  0001 ") == identity_key("ptqx 0001")
    assert identity_key("SYN\u2013005") == identity_key("SYN-005") != identity_key("SYN005")  # a dash is not nothing
    assert identity_key("SYN\u2013005") != identity_key("SYN_005") and identity_key("SYN~005") != identity_key(
        "SYN-005"
    )


@pytest.mark.parametrize(
    ("original", "copy"),
    [("7", "007"), ("12", "12.0"), ("0012", "12.00"), ("3.50", "3.5"), ("0", "000"), ("４２", "42.0")],
)
def test_ids_equal_as_numbers_are_one_patient_counted_twice(tmp_path, original, copy):
    """A spreadsheet drops leading zeros ("007" -> "7") or adds ".0" ("12" -> "12.0") to an
    id column it took for numbers; both spellings in one export are one patient twice
    (before: 'OK: 95 patients' for 93), an error naming both rows."""
    header, data = hostile.bundled_rows()
    first = [original, *data[0][1:]]
    path = tmp_path / "twice.csv"
    path.write_text(_csv([header, first, *data[1:], [copy, *first[1:]]]), encoding="utf-8")
    violations = _violations(path)
    assert [(v.row, v.column) for v in violations] == [(2, "patient_id"), (95, "patient_id")]
    for v in violations:
        assert v.rule.startswith("duplicate patient_id (rows 2, 95; spelled differently, equal as numbers ("), v.rule


def test_ids_that_are_different_numbers_or_not_numbers_stay_apart():
    from analysis.registry.contract import duplicate_key

    assert duplicate_key("7") != duplicate_key("70") != duplicate_key("0.7")
    assert duplicate_key("12.5") != duplicate_key("125") and duplicate_key("1e1") != duplicate_key("10")
    assert duplicate_key("P007") != duplicate_key("P7")  # a code with letters keeps its zeros
    assert duplicate_key("-7") != duplicate_key("7")


def test_kinetics_samples_of_one_patient_spelled_twice_on_one_day_are_duplicates(tmp_path):
    lines = KINETICS.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("patient_id"))
    pid, rest = lines[at + 1].split(",", 1)
    lines.append(f"{pid.lower()},{rest}")
    path = tmp_path / "kinetics.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    duplicates = [v for v in _violations(ROOT / "data" / "cohort.csv", path) if v.rule.startswith("duplicate sample")]
    assert [v.row for v in duplicates] == [2, len(lines) - at]


def test_one_center_spelled_four_ways_is_one_center_and_the_merge_is_noted(tmp_path):
    header, data = hostile.bundled_rows()
    c = header.index("center")
    original = load_study(ROOT / "data" / "cohort.csv", None, CUTOFF).cohort["center"]
    largest = original.value_counts().index[0]
    name = "H\u00f4pital " + largest  # an accent, written precomposed (NFC) by most rows
    rows = [i for i, row in enumerate(data) if row[c] == largest]
    variants = ["h\u00f4pital " + largest.lower(), name + "\u200b", unicodedata.normalize("NFD", name)]
    for i in rows:
        data[i][c] = name
    for i, variant in zip(rows, variants):
        data[i][c] = variant
    path = tmp_path / "centers.csv"
    path.write_text(_csv([header, *data]), encoding="utf-8")
    study = load_study(path, None, CUTOFF)
    assert study.cohort["center"].nunique() == original.nunique()
    assert (
        study.cohort.groupby("center").size().sort_values().tolist() == original.value_counts().sort_values().tolist()
    )
    assert set(study.cohort["center"]) == set(original) - {largest} | {name}
    [note] = [n for n in study.notes if n.startswith("center:")]
    assert f"counted as one center, '{name}'" in note and "(1 row)" in note
    assert "\\u200b" in note and "\\u0302" in note  # the invisible differences shown


@pytest.mark.parametrize("invisible", ["\x7f", "\x07", "\u034f", "\ufe0f", "\u3164", "\u2800"])
def test_a_center_spelled_with_a_character_that_prints_as_nothing_is_the_same_center(tmp_path, invisible):
    """Attack 27: 'Center B' and 'Center\\x7f B' were two centers (OK: 5 centers for 4)."""
    header, data = hostile.bundled_rows()
    c = header.index("center")
    original = load_study(ROOT / "data" / "cohort.csv", None, CUTOFF).cohort["center"]
    name = data[0][c]
    data[0][c] = name[:3] + invisible + name[3:]
    path = tmp_path / "centers.csv"
    path.write_text(_csv([header, *data]), encoding="utf-8")
    study = load_study(path, None, CUTOFF)
    assert study.cohort["center"].nunique() == original.nunique()
    [note] = [n for n in study.notes if n.startswith("center:")]
    escaped = invisible.encode("unicode_escape").decode("ascii")
    assert f"'{name[:3]}{escaped}{name[3:]}' (1 row)" in note  # the difference shown


def test_a_nul_byte_beyond_the_sniffed_head_is_refused(tmp_path):
    """Attack 27: the binary sniff reads the first 64 KB; a NUL byte further down was data
    ('Ce\\x00nter C' a fifth center)."""
    header, data = hostile.bundled_rows()
    c = header.index("center")
    rows = [header] + [list(data[i % len(data)]) for i in range(1200)]
    for i, row in enumerate(rows[1:]):
        row[0] = f"P{i:05d}"
    text = _csv(rows)
    line = 1000
    assert len(_csv(rows[: line - 1]).encode()) > readers.SNIFF_BYTES
    rows[line - 1][c] = rows[line - 1][c][:2] + "\x00" + rows[line - 1][c][2:]
    path = tmp_path / "nul.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    assert text != path.read_text(encoding="utf-8")
    [v] = _violations(path)
    assert v.rule == (
        f"not a CSV table: a NUL byte (binary data) on line {line:,} of the file; re-save the table as CSV UTF-8 "
        "(comma delimited)"
    )


def test_the_center_note_is_not_in_the_report_only_in_validate(tmp_path, capsys):
    """A note naming centers is for the user at the terminal (validate), never in a document."""
    from analysis.cli import main

    header, data = hostile.bundled_rows()
    c = header.index("center")
    data[0][c] = data[0][c].lower()
    path = tmp_path / "centers.csv"
    path.write_text(_csv([header, *data]), encoding="utf-8")
    assert main(["validate", str(path), "--cutoff", CUTOFF]) == 0
    out = capsys.readouterr().out
    assert f"'{data[0][c]}' (1 row)" in out and "counted as one center" in out


# --------------------------------------------------------------------------- workbook cells


def _refusal(path: Path) -> str:
    [v] = _violations(path)
    assert v.row is None and v.file == str(path)
    return v.rule


def test_a_cell_written_twice_in_its_row_is_refused_not_replaced(tmp_path):
    """openpyxl keeps the second <c r="A3">: patient 2's id silently became another."""
    rows = hostile.bundled_sheet_rows(
        extra=lambda n: '<c r="A3" t="inlineStr"><is><t>PTZZ9999</t></is></c>' if n == 3 else ""
    )
    rule = _refusal(hostile.write_xlsx(tmp_path / "twice.xlsx", hostile.sheet_xml(rows)))
    assert (
        rule == "cell A3 of the sheet is written twice in its row: the workbook is damaged; open and save it in Excel"
    )


def test_a_cell_placed_in_another_row_is_refused_not_moved(tmp_path):
    rows = hostile.bundled_sheet_rows(
        extra=lambda n: '<c r="AZ7" t="inlineStr"><is><t>moved</t></is></c>' if n == 4 else ""
    )
    assert _refusal(hostile.write_xlsx(tmp_path / "moved.xlsx", hostile.sheet_xml(rows))).startswith(
        "cell AZ7 of the sheet lies in row 4: the workbook is damaged"
    )


_SST_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)


def _shared_center_workbook(path: Path, index: str) -> tuple[Path, list[str]]:
    """The bundled patients, row 3's center a shared string at ``index`` of a table holding
    every center name."""
    header, data = hostile.bundled_rows()
    c = header.index("center")
    names = sorted({row[c] for row in data})
    sst = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{hostile.MAIN}" count="{len(names)}" '
        f'uniqueCount="{len(names)}">' + "".join(f"<si><t>{n}</t></si>" for n in names) + "</sst>"
    )
    ref = f"{hostile.column_letter(c + 1)}3"

    def rows():
        for number, xml in enumerate(hostile.bundled_sheet_rows(), start=1):
            if number == 3:
                cell = hostile.cell_xml(c + 1, 3, "center", data[1][c])
                xml = xml.replace(cell, f'<c r="{ref}" t="s"><v>{index}</v></c>')
            yield xml

    types = hostile._CONTENT_TYPES.replace("</Types>", _SST_TYPE)
    return hostile.write_xlsx(
        path, hostile.sheet_xml(rows()), {"[Content_Types].xml": types, "xl/sharedStrings.xml": sst}
    ), names


def test_a_negative_shared_string_index_is_refused_not_read_from_the_end(tmp_path):
    path, names = _shared_center_workbook(tmp_path / "first.xlsx", "0")
    assert load_study(path, None, CUTOFF).cohort["center"].iloc[1] == names[0]  # the table is read
    path, _ = _shared_center_workbook(tmp_path / "negative.xlsx", "-1")
    rule = _refusal(path)
    assert rule.startswith("cell B3 of the sheet points to shared string '-1', which cannot exist")
    assert "damaged" in rule
