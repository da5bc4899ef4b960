"""The readers apply a study file's header mapping as they read, without mutating anything
the caller holds (the header used to be renamed in place after reading)."""

from __future__ import annotations

import copy
import datetime as dt

import openpyxl
import pandas as pd
import pytest
from corpus import VALID_COHORT, write_workbook

from analysis.inputs.loading import InputError, load_cohort, load_study
from analysis.inputs.readers import ColumnMapping, open_source, parse_chunk
from analysis.registry.contract import COHORT_FIELDS, KINETICS_FIELDS

#: Contract name -> the export's own header (REDCap-like labels).
EXPORT_HEADERS = {
    "patient_id": "Record ID",
    "infusion_date": "Date of CAR-T infusion",
    "last_followup_date": "Last follow-up",
    "age": "Age (years)",
}


def _csv_export(tmp_path) -> tuple:
    """The valid cohort with some headers renamed as an export names them."""
    lines = VALID_COHORT.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    lines[0] = ",".join(EXPORT_HEADERS.get(name, name) for name in header)
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, header


def _rename_workbook_header(path, renamed: dict[str, str], row: int = 1) -> None:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["cohort"]
    for cell in sheet[row]:
        cell.value = renamed.get(cell.value, cell.value)
    workbook.save(path)


def test_reader_returns_contract_names_and_mutates_nothing(tmp_path):
    path, contract_header = _csv_export(tmp_path)
    mapping = ColumnMapping(columns=dict(EXPORT_HEADERS))
    before = copy.deepcopy(mapping)
    headers = mapping.headers(COHORT_FIELDS)
    headers_before = dict(headers)

    mapped = open_source(path, headers=headers)
    raw = open_source(path)

    assert mapped.header == tuple(contract_header)
    assert raw.header == tuple(EXPORT_HEADERS.get(name, name) for name in contract_header)
    assert isinstance(mapped.header, tuple)  # no reader or caller can rename it in place
    with pytest.raises(AttributeError):
        mapped.header = ()  # type: ignore[misc]  # frozen
    assert headers == headers_before
    load_study(path, mapping=mapping)
    assert mapping == before


def test_mapped_csv_export_loads_as_the_contract_file(tmp_path):
    path, _ = _csv_export(tmp_path)
    mapping = ColumnMapping(columns=dict(EXPORT_HEADERS))
    pd.testing.assert_frame_equal(load_study(path, mapping=mapping).cohort, load_cohort(VALID_COHORT))


def test_mapped_workbook_reads_date_cells_of_renamed_columns(tmp_path):
    """A date-time cell in a date column is read as its date. The workbook reader decides
    which columns hold dates by their contract name, so it must see the mapped header:
    read under the export's name "Date of CAR-T infusion", the cell would be the text
    "2019-03-04 10:30:00", which no date parser accepts."""
    path = write_workbook(tmp_path / "export.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["cohort"]["C2"] = dt.datetime(2019, 3, 4, 10, 30)  # infusion_date of P01, with a time of day
    workbook.save(path)
    _rename_workbook_header(path, EXPORT_HEADERS)

    cohort = load_study(path, mapping=ColumnMapping(columns=dict(EXPORT_HEADERS))).cohort

    assert cohort.loc[0, "infusion_date"] == pd.Timestamp("2019-03-04")
    pd.testing.assert_frame_equal(cohort, load_cohort(VALID_COHORT))


def test_mapped_workbook_with_title_rows_names_the_header_row(tmp_path):
    """Where the header is found is judged on the mapped names too: an export whose own
    headers (none of them a contract name) sit on row 3 gets the row-1 hint, not
    "not a cohort table: the header has none of the expected columns"."""
    renamed = {f.name: f.name.upper().replace("_", " ") for f in COHORT_FIELDS}  # "PATIENT ID"
    path = write_workbook(tmp_path / "export.xlsx", rows_above=[["CAR-T registry export"], []])
    _rename_workbook_header(path, renamed, row=3)

    with pytest.raises(InputError) as info:
        load_study(path, mapping=ColumnMapping(columns=renamed))

    [violation] = info.value.violations
    assert "the header must be on row 1 of sheet 'cohort' (it is on row 3)" in violation.rule


def test_parsing_a_chunk_leaves_the_callers_frame_as_it_was():
    """Value mapping and the second, stripped parsing pass work on copies: the chunk a
    reader hands over (and any frame a caller passes in) keeps its cells."""
    raw = pd.DataFrame(
        {
            0: [" P01 ", "P02", "P03"],  # padded text: parsed again, stripped
            1: [0.0, 7.0, 14.0],  # a number column the CSV reader already parsed
            2: [" 12.5 ", "below detection", "3e2"],  # padded, mapped, plain
        }
    )
    before = raw.copy(deep=True)
    mapping = ColumnMapping(values={"car_copies_per_ug": {"Below detection": 0}})

    typed, bad, violations = parse_chunk(
        raw, KINETICS_FIELDS, {f.name: i for i, f in enumerate(KINETICS_FIELDS)}, mapping
    )

    pd.testing.assert_frame_equal(raw, before)
    assert typed["patient_id"].tolist() == ["P01", "P02", "P03"]
    assert typed["car_copies_per_ug"].tolist() == [12.5, 0.0, 300.0]
    assert typed["day"].tolist() == [0, 7, 14]
    assert violations == [] and not bad.to_numpy().any()
