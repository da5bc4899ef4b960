"""Headers an export may carry that the readers must not trust to be simple (issue 22,
attack 28): a header name holding a line break, dictionary labels and label-export
headers written as HTML by REDCap's rich-text label editor.

All in process, on the small valid cohort of tests/bad_inputs (no render).
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pandas as pd
import pytest
import yaml
from registry_exports import REDCAP_FIELDS, write_redcap_dictionary, write_redcap_export

from analysis.inputs.loading import InputError, load_study
from analysis.inputs.mapping import markup_text, propose_mapping, study_file_text
from analysis.inputs.readers import ColumnMapping, open_source
from analysis.registry.contract import COHORT_FIELDS

ROOT = Path(__file__).resolve().parents[1]
VALID = (ROOT / "tests" / "bad_inputs" / "valid_cohort.csv").read_text(encoding="utf-8").splitlines()
CUTOFF = "2023-03-01"

#: A header name over three lines of the file (valid CSV: a REDCap label export of a label
#: with line breaks, Alt+Enter in an Excel header cell).
SPANNING = "ICANS grade\n(ASTCT\n2019)"
MAPPING = ColumnMapping(columns={"icans_grade": SPANNING})


def _write(tmp_path: Path, rows: list[str], newline: str = "\n") -> Path:
    header = VALID[0].replace("icans_grade", '"' + SPANNING.replace("\n", newline) + '"')
    path = tmp_path / "cohort.csv"
    path.write_bytes(("# exported 2023-03-01" + newline + header + newline + newline.join(rows) + newline).encode())
    return path


def _violations(path: Path, mapping: ColumnMapping = MAPPING):
    with pytest.raises(InputError) as err:
        load_study(path, None, CUTOFF, mapping=mapping)
    return err.value.violations


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_a_header_name_over_several_lines_is_read_as_one_record(tmp_path, newline):
    """Before: the header was the first physical line (16 of 28 names), every row 'N values
    but the header has 16 columns: two rows joined on one line'. After: the header record."""
    path = _write(tmp_path, VALID[1:], newline)
    source = open_source(path, headers=MAPPING.headers(COHORT_FIELDS))
    assert len(source.header) == 28 and "icans_grade" in source.header
    study = load_study(path, None, CUTOFF, mapping=MAPPING)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cohort.csv").write_text("\n".join(VALID) + "\n", encoding="utf-8")
    expected = load_study(plain / "cohort.csv", None, CUTOFF)
    assert study.cohort["icans_grade"].tolist() == expected.cohort["icans_grade"].tolist()
    assert study.cohort.equals(expected.cohort)


def test_rows_and_lines_named_after_a_spanning_header_are_the_file_s(tmp_path):
    """Rows are records (the header row 1, however many lines it takes); lines are the
    file's physical lines: comment line 1, the header lines 2-4, P01 on line 5."""
    long_row = VALID[3] + ",extra"  # P03 with one value too many
    path = _write(tmp_path, [VALID[1], VALID[2], long_row, VALID[4]])
    [v] = _violations(path)
    assert (v.row, v.patient_id) == (4, "P03")
    assert "29 values but the header has 28 columns" in v.rule

    cells = VALID[2].split(",")
    cells[6] = '"primary_refractory'  # a stray quote in P02's disease_status swallows the rows below
    path = _write(tmp_path, [VALID[1], ",".join(cells)] + VALID[3:])
    [v] = _violations(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (v.row, v.patient_id) == (3, "P02")
    assert "opened on line 6 " in v.rule and lines[6 - 1].startswith("P02,")


def test_the_note_on_values_over_lines_counts_the_header_s_lines(tmp_path):
    cells = VALID[1].split(",")
    cells[1] = '"Center\nA"'
    path = _write(tmp_path, [",".join(cells)] + VALID[2:])
    study = load_study(path, None, CUTOFF, mapping=MAPPING)
    [note] = [n for n in study.notes if "over several lines" in n]
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert f"lines 2–{n_lines} of the file hold the header and 5 rows" in note


def test_a_quote_opened_in_the_header_and_never_closed_is_refused(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(VALID[0].replace("icans_grade", '"icans_grade') + "\n" + "\n".join(VALID[1:]) + "\n")
    [v] = _violations(path, ColumnMapping())
    assert 'unclosed double quote (") in the header' in v.rule


def test_a_stray_quote_inside_an_unquoted_header_name_stays_on_its_line(tmp_path):
    """A quote inside a name (``height 5'10"``) is a character, as to pandas and Excel: the
    header is still its one line."""
    path = tmp_path / "cohort.csv"
    path.write_text(VALID[0] + ",height 5'10\"\n" + "\n".join(row + ",170" for row in VALID[1:]) + "\n")
    source = open_source(path)
    assert source.header[-1] == "height 5'10\"" and len(source.header) == 29


# --------------------------------------------------------------------------- HTML labels


def _rich(text: str) -> str:
    """A label as REDCap's rich-text label editor stores it."""
    return f'<p><span style="font-weight: normal;">{html.escape(text, quote=False)}</span></p>'


def _rich_fields():
    """REDCAP_FIELDS with rich-text labels and choice labels (``<b>``, entities)."""
    out = []
    for f in REDCAP_FIELDS:
        choices = (
            "|".join(
                f"{code},<b>{html.escape(text.strip(), quote=False)}</b>"
                for code, text in (part.split(",", 1) for part in f.choices.split("|"))
            )
            if f.choices and f.kind != "calc"
            else f.choices
        )
        out.append(dataclasses.replace(f, label=_rich(f.label) if f.label else f.label, choices=choices))
    return out


def _proposal_text(folder: Path, fields) -> tuple[str, object]:
    export, dictionary = write_redcap_export(folder, "repeating", errors=False)
    dictionary.unlink()
    dictionary = write_redcap_dictionary(folder, fields)
    proposal = propose_mapping(export, dictionary=dictionary)
    return study_file_text(proposal, folder / "study.yml"), proposal


def test_a_dictionary_with_rich_text_labels_maps_as_the_plain_one(tmp_path):
    """Before: 24 of 29 columns NOT FOUND and `not_collected: [il6_peak_pg_ml, ...]` (the
    export holds them) with the rich-text editor's labels. After: the same study file."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "rich").mkdir()
    plain, plain_proposal = _proposal_text(tmp_path / "plain", REDCAP_FIELDS)
    rich, rich_proposal = _proposal_text(tmp_path / "rich", _rich_fields())
    mapped = {m.name for m in plain_proposal.cohort_matches if m.header}
    assert len(mapped) >= 25 and {"age", "crs_grade", "infusion_date"} <= mapped
    assert rich == plain
    assert [(m.name, m.header, m.how) for m in rich_proposal.kinetics_matches] == [
        (m.name, m.header, m.how) for m in plain_proposal.kinetics_matches
    ]


@pytest.mark.parametrize(
    "label,text",
    [
        ('<p><span style="font-weight: normal;">Peak IL-6 (pg/mL)</span></p>', "Peak IL-6 (pg/mL)"),
        ("<script>alert(1)</script>Age at infusion (years)", "Age at infusion (years)"),
        ("CRS&nbsp;grade<br/>(ASTCT&#41;", "CRS grade (ASTCT)"),
        ("Ferritin &amp; IL&#x2D;6", "Ferritin & IL-6"),
        ("IL-6 <100 pg/mL", "IL-6 <100 pg/mL"),  # not HTML: kept
        ("CD4<CD8 ratio", "CD4<CD8 ratio"),
    ],
)
def test_markup_text_reads_what_a_label_shows(label, text):
    assert markup_text(label) == text


def test_a_label_export_with_html_headers_maps_and_keeps_the_exact_header(tmp_path):
    """Before: '<span style="color:red">Age at infusion</span> (years)' and the other HTML
    headers of a label export were NOT FOUND. After: matched on their text, the study file
    naming the header as the export writes it (the loader matches it exactly)."""
    export, dictionary = write_redcap_export(tmp_path, "repeating", labels=True, errors=False)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    plain = propose_mapping(export, dictionary=dictionary)
    frame.columns = [f'<span style="color:red">{html.escape(c, quote=False)}</span>' for c in frame.columns]
    frame.to_csv(export, index=False)
    proposal = propose_mapping(export, dictionary=dictionary)
    assert [(m.name, markup_text(m.header) if m.header else None, m.how) for m in proposal.cohort_matches] == [
        (m.name, m.header, m.how) for m in plain.cohort_matches
    ]
    written = yaml.safe_load(study_file_text(proposal, tmp_path / "study.yml"))
    age = next(m.header for m in proposal.cohort_matches if m.name == "age")
    assert age.startswith('<span style="color:red">') and written["columns"]["age"] == age


# --------------------------------------------------------------------------- attack 30, findings 4, 5 and 10


def _wide_csv(path: Path, extra: int) -> Path:
    """The valid cohort with ``extra`` columns c0, c1... added (empty cells)."""
    lines = [VALID[0] + "".join(f",c{i}" for i in range(extra))]
    lines += [line + "," * extra for line in VALID[1:4]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_wide_export_maps_without_building_a_matcher_per_pair(tmp_path, monkeypatch):
    """2,000 extra columns: `map` built 1.3 million difflib matchers (16 s); the cheap bounds
    now decide almost every pair, and the proposal is the same."""
    import difflib

    from analysis.inputs import mapping

    built = []
    real = difflib.SequenceMatcher

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mapping.difflib, "SequenceMatcher", counting)
    mapping._similarity.cache_clear()
    proposal = propose_mapping(_wide_csv(tmp_path / "wide.csv", 2_000))
    assert proposal.complete
    assert all(m.how == "exact" for m in proposal.cohort_matches if m.header), proposal.cohort_matches
    assert len(built) < 20_000, len(built)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_wider_than_the_limit_is_refused_by_map_with_the_limit(tmp_path, kind):
    from analysis.inputs.mapping import MAX_MAP_COLUMNS

    extra = MAX_MAP_COLUMNS  # with the contract's columns: over the limit
    path = _wide_csv(tmp_path / "wide.csv", extra)
    if kind == "xlsx":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        path = tmp_path / "wide.xlsx"
        frame.to_excel(path, index=False)
    with pytest.raises(ValueError) as err:
        propose_mapping(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and f"at most {MAX_MAP_COLUMNS:,}" in message, message
    assert f"{extra + len(VALID[0].split(',')):,} columns" in message


def test_map_refuses_a_named_pipe_at_once(tmp_path, capsys):
    """`map` on a FIFO waited forever (validate already said 'cannot read the file')."""
    import os

    from analysis import cli

    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    assert cli.main(["map", str(fifo)]) == 1  # the test hangs if map opens it
    assert "cannot read the file: it is a named pipe (FIFO), not a file" in capsys.readouterr().err
    dictionary = tmp_path / "DataDictionary.csv"
    os.mkfifo(dictionary)
    good = _wide_csv(tmp_path / "cohort.csv", 0)
    assert cli.main(["map", str(good), "--dictionary", str(dictionary)]) == 1
    assert "not a data dictionary" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["export.csv", "export"])
def test_a_workbook_not_named_xlsx_gets_the_same_answer_from_map_and_validate(tmp_path, capsys, name):
    """Before: map read it by its content and proposed a study file validate could not read
    (openpyxl's "does not support .csv file format")."""
    from analysis import cli

    frame = pd.read_csv(_wide_csv(tmp_path / "plain.csv", 0), dtype=str, keep_default_na=False)
    frame.to_excel(tmp_path / "book.xlsx", index=False)
    path = tmp_path / name
    (tmp_path / "book.xlsx").rename(path)
    words = "an Excel workbook (its content is an .xlsx zip archive)"
    assert cli.main(["map", str(path)]) == 1
    err = capsys.readouterr().err
    assert words in err and "rename it to .xlsx" in err, err
    assert cli.main(["validate", str(path), "--cutoff", CUTOFF, "--kinetics", "none"]) == 1
    out = capsys.readouterr().out
    assert words in out and "rename it to .xlsx" in out and "openpyxl" not in out
    # renamed, it maps and validates
    path.rename(tmp_path / "book.xlsx")
    assert cli.main(["validate", str(tmp_path / "book.xlsx"), "--cutoff", CUTOFF, "--kinetics", "none"]) == 0
