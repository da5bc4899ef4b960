"""Exports that lost patients or changed values without a word (attack 27 on main).

* a REDCap record that exists only in rows of a repeating instrument (no row of its own)
  vanished: "30 records" for an export of 31;
* a double quote opened in an unread column (``notes``) swallowed the rows below it into one
  value: "OK: 27 patients" for 30, 204 kinetics samples for 214;
* Excel cells formatted as percentages (45% is stored as 0.45) were read as fractions:
  marrow blasts median 0.2547 instead of 25.47, and no patient at or above the model's 20%;
* the patients on a workbook's other sheets were dropped with a note that did not count
  them, and the report said nothing.

Each test asserts the clear outcome: an error naming the rows and patients, or the value
read as the user sees it with a note saying so, or the count of what was left out in
``validate`` and in the report.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import COHORT, read_cohort_text

from analysis.inputs.errors import InputError
from analysis.inputs.loading import load_study

CUTOFF = "2023-03-01"


def _violations(cohort, kinetics=None, **options) -> list:
    with pytest.raises(InputError) as info:
        load_study(cohort, kinetics, CUTOFF, **options)
    return info.value.violations


# --------------------------------------------------------------------------- REDCap


def _redcap_export(tmp_path, orphans: dict[str, list[str]]) -> tuple:
    """The demo as a REDCap flat export with a repeating instrument ``adverse_events`` (one
    instance for the first patient), plus records that have only rows of the repeating
    instruments ``orphans`` names (record -> instruments)."""
    from analysis.inputs import redcap

    cohort = read_cohort_text(COHORT)[1]
    instrument, instance = "redcap_repeat_instrument", "redcap_repeat_instance"
    base = cohort.assign(**{instrument: "", instance: "", "ae_term": ""})
    extra = [{"patient_id": cohort["patient_id"][0], instrument: "adverse_events", instance: "1", "ae_term": "fever"}]
    for record, instruments in orphans.items():
        for k, name in enumerate(instruments, start=1):
            extra.append({"patient_id": record, instrument: name, instance: str(k), "ae_term": "rash"})
    rows = pd.concat([base, pd.DataFrame(extra)], ignore_index=True).fillna("")
    rows = rows[
        ["patient_id", instrument, instance]
        + [c for c in base.columns if c not in ("patient_id", instrument, instance)]
    ]
    path = tmp_path / "redcap.csv"
    rows.to_csv(path, index=False)
    assert redcap.shape_of(list(rows.columns)) is not None
    return path, rows, len(cohort)


def test_a_redcap_record_only_in_a_repeating_instrument_is_an_error_with_the_count(tmp_path):
    path, rows, n = _redcap_export(tmp_path, {"SYN-777": ["adverse_events"]})
    [v] = _violations(path)
    assert v.patient_id == "SYN-777" and v.row == len(rows) + 1  # its row, the header being row 1
    assert v.rule == (
        "a record with rows of repeating instrument 'adverse_events' (1 row) only and no row of its own: a patient "
        f"without cohort data, who would be left out (1 of the export's {n + 1} records has no row of their own); "
        "export the record's own row, or delete its rows"
    )


def test_every_record_without_a_row_is_named(tmp_path):
    path, rows, n = _redcap_export(tmp_path, {"SYN-777": ["adverse_events", "adverse_events"], "SYN-778": ["followup"]})
    found = {v.patient_id: v for v in _violations(path)}
    assert set(found) == {"SYN-777", "SYN-778"}
    assert "'adverse_events' (2 rows)" in found["SYN-777"].rule and "'followup' (1 row)" in found["SYN-778"].rule
    assert all(f"(2 of the export's {n + 2} records have no row of their own)" in v.rule for v in found.values())


def test_a_redcap_export_whose_records_all_have_a_row_reads_every_patient(tmp_path):
    path, _, n = _redcap_export(tmp_path, {})
    assert len(load_study(path, None, CUTOFF).cohort) == n
