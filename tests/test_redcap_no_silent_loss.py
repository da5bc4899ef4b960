"""REDCap flat exports lose no value silently (issue 22; attack repros 15 and 20).

- A cohort column (``death_date``) filled on the rows of a repeating instrument that is not
  the kinetics (vital status recorded per follow-up visit) was dropped with the note "not
  read (not part of the contract)": 0 deaths instead of 55. A record's one value there is
  now read into its row (and said in a note); two different values, or a value that differs
  from the record's own row, are a violation naming both; a value of a record without a row
  of its own is a violation too.
- Kinetics samples in a longitudinal event that the study file's ``redcap: kinetics_events``
  does not list were merged into the patient's row and lost: each such event is a violation
  with the count of its values and the line to add.

The exports are written here from the bundled demo (contract headers plus REDCap's columns),
and what is read is compared with the demo itself.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, read_cohort_text

from analysis.inputs import redcap
from analysis.inputs.errors import InputError
from analysis.inputs.loading import load_study

CUTOFF = "2023-03-01"
INSTRUMENT, INSTANCE, EVENT = "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_event_name"


def _cohort() -> pd.DataFrame:
    return read_cohort_text(COHORT)[1]


# --------------------------------------------------------------------------- a cohort column on repeating rows


def _followup_export(tmp_path, edit=None):
    """The demo as a flat export whose death dates are recorded on a repeating instrument
    ``followup`` (instance 1 holds the death date; a second, empty instance for every patient),
    the records' own rows holding none."""
    cohort = _cohort()
    base = cohort.assign(**{INSTRUMENT: "", INSTANCE: "", "death_date": ""})
    visits = []
    for instance in ("1", "2"):
        visit = pd.DataFrame("", index=cohort.index, columns=base.columns)
        visit["patient_id"], visit[INSTRUMENT], visit[INSTANCE] = cohort["patient_id"], "followup", instance
        if instance == "1":
            visit["death_date"] = cohort["death_date"]
        visits.append(visit)
    rows = pd.concat([base, *visits], ignore_index=True)
    rows = rows[["patient_id", INSTRUMENT, INSTANCE] + [c for c in cohort.columns if c != "patient_id"]]
    if edit is not None:
        rows = edit(rows)
    path = tmp_path / "followup.csv"
    rows.to_csv(path, index=False)
    return path, rows


def _row_of(rows: pd.DataFrame, patient: str, instrument: str = "", instance: str = "") -> int:
    match = rows.index[rows["patient_id"].eq(patient) & rows[INSTRUMENT].eq(instrument) & rows[INSTANCE].eq(instance)]
    return int(match[0])


def test_a_cohort_column_on_a_repeating_instrument_is_read_one_value_per_patient(tmp_path):
    path, _ = _followup_export(tmp_path)
    study = load_study(path, None, CUTOFF)
    truth = pd.to_datetime(_cohort().set_index("patient_id")["death_date"].replace("", None))
    read = study.cohort.set_index("patient_id")["death_date"]
    assert int(read.notna().sum()) == int(truth.notna().sum()) == 55
    pd.testing.assert_series_equal(read.loc[truth.index], truth, check_names=False, check_dtype=False)
    assert (
        "186 rows of repeating instrument followup: death_date (55 patients) read from them "
        "(one value per patient); their other columns are not part of the contract"
    ) in study.notes
    assert not any("not read (not part of the contract)" in note for note in study.notes)


def test_two_values_of_a_cohort_column_for_one_patient_are_a_violation(tmp_path):
    dead = _cohort().query("death_date != ''").iloc[0]
    patient = dead["patient_id"]

    def edit(rows):
        second = _row_of(rows, patient, "followup", "2")
        rows.loc[second, "death_date"] = "2022-12-31"  # instance 1 holds the true date
        return rows

    path, rows = _followup_export(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    [violation] = info.value.violations
    assert (violation.row, violation.patient_id, violation.column, violation.value) == (
        _row_of(rows, patient, "followup", "2") + 2,
        patient,
        "death_date",
        "2022-12-31",
    )
    assert violation.rule == (
        "two values for one patient, on repeating instrument 'followup' instance 1 and on repeating instrument "
        "'followup' instance 2 (a column of the cohort holds one value per patient)"
    )
    assert violation.related == f"death_date = {dead['death_date']} on repeating instrument 'followup' instance 1"


def test_a_repeating_value_that_contradicts_the_records_own_row_is_a_violation(tmp_path):
    cohort = _cohort()
    dead, alive = cohort.query("death_date != ''").iloc[0], cohort.query("death_date == ''").iloc[0]

    def edit(rows):
        rows.loc[_row_of(rows, dead["patient_id"]), "death_date"] = dead["death_date"]  # the same date: fine
        rows.loc[_row_of(rows, alive["patient_id"]), "death_date"] = "2021-01-01"
        rows.loc[_row_of(rows, alive["patient_id"], "followup", "2"), "death_date"] = "2021-02-02"
        return rows

    path, rows = _followup_export(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    [violation] = [v for v in info.value.violations if "two values" in v.rule]
    assert (violation.row, violation.patient_id, violation.value) == (
        _row_of(rows, alive["patient_id"], "followup", "2") + 2,
        alive["patient_id"],
        "2021-02-02",
    )
    assert violation.rule.startswith("two values for one patient, on the record's own row and on repeating")
    assert violation.related == "death_date = 2021-01-01 on the record's own row"


def test_a_value_of_a_record_without_a_row_of_its_own_is_a_violation(tmp_path):
    def edit(rows):
        extra = rows.iloc[[-1]].copy()
        extra[["patient_id", "death_date"]] = ["NOBODY-1", "2021-03-03"]
        return pd.concat([rows, extra], ignore_index=True)

    path, rows = _followup_export(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF)
    [violation] = info.value.violations
    assert (violation.row, violation.patient_id, violation.column) == (len(rows) + 1, "NOBODY-1", "death_date")
    assert "of a record without a row of its own" in violation.rule


def test_a_repeating_instrument_without_cohort_values_is_still_only_named():
    header = ["record_id", INSTRUMENT, INSTANCE, "age", "ae_term"]
    frame = pd.DataFrame([["1", "", "", "40", ""], ["1", "ae", "1", "", "fever"]]).set_axis(range(5), axis=1)
    split = redcap.split(frame, header, redcap.shape_of(header), merged=[3])
    assert split.violations == [] and split.notes == [
        "not read (not part of the contract): 1 rows of repeating instrument ae"
    ]


# --------------------------------------------------------------------------- samples in an unlisted event


def _longitudinal_export(tmp_path, events: dict[str, int]):
    """The demo as a longitudinal export: the cohort at baseline_arm_1, and the kinetics
    samples of days 7, 14 and 28 at day_7_arm_1, day_14_arm_1 and day_28_arm_1; the study
    file lists ``events`` as the sampling events."""
    cohort = _cohort().assign(**{EVENT: "baseline_arm_1", "car_copies_per_ug": ""})
    kinetics = pd.read_csv(KINETICS, comment="#", dtype=str, keep_default_na=False)
    kinetics = kinetics[kinetics["day"].isin(["7", "14", "28"])]
    samples = pd.DataFrame("", index=kinetics.index, columns=cohort.columns)
    samples["patient_id"], samples["car_copies_per_ug"] = kinetics["patient_id"], kinetics["car_copies_per_ug"]
    samples[EVENT] = "day_" + kinetics["day"] + "_arm_1"
    rows = pd.concat([cohort, samples], ignore_index=True)
    rows = rows[["patient_id", EVENT] + [c for c in rows.columns if c not in ("patient_id", EVENT)]]
    rows.to_csv(tmp_path / "long.csv", index=False)
    listed = ", ".join(f"{event}: {day}" for event, day in events.items())
    study = tmp_path / "study.yml"
    study.write_text(
        f"data: {{cohort: long.csv, cutoff: {CUTOFF}}}\nredcap:\n  kinetics_events: {{{listed}}}\n", encoding="utf-8"
    )
    return study, rows, kinetics


def test_samples_in_an_event_the_study_file_does_not_list_are_a_violation(tmp_path):
    from analysis.inputs.studyfile import load_settings, resolve_study

    study, rows, kinetics = _longitudinal_export(tmp_path, {"day_7_arm_1": 7, "day_14_arm_1": 14})
    with pytest.raises(InputError) as info:
        load_settings(resolve_study(study))
    [violation] = info.value.violations
    n_day28 = int(kinetics["day"].eq("28").sum())
    first = int(rows.index[rows[EVENT].eq("day_28_arm_1")][0])
    assert n_day28 == 20
    assert (violation.row, violation.patient_id, violation.column) == (
        first + 2,
        rows.loc[first, "patient_id"],
        "car_copies_per_ug",
    )
    assert violation.rule == (
        "20 values in event 'day_28_arm_1', which is not a sampling event of the study file's redcap: "
        "kinetics_events (day_7_arm_1, day_14_arm_1): add it with its day (day_28_arm_1: 28) so that they are "
        "read, or remove them"
    )
    # listed, every sample is read, with the day its event says
    study, _, _ = _longitudinal_export(tmp_path, {"day_7_arm_1": 7, "day_14_arm_1": 14, "day_28_arm_1": 28})
    loaded = load_settings(resolve_study(study))
    assert len(loaded.kinetics) == len(kinetics) == 68
    assert sorted(loaded.kinetics["day"].astype(int).value_counts().items()) == [(7, 24), (14, 24), (28, 20)]


def test_samples_on_another_repeating_instrument_are_a_violation():
    header = ["record_id", INSTRUMENT, INSTANCE, "age", "car_copies_per_ug"]
    frame = pd.DataFrame(
        [["1", "", "", "40", ""], ["1", "cart_kinetics", "1", "", "10"], ["1", "labs", "1", "", "12"]]
    ).set_axis(range(5), axis=1)
    layout = redcap.Layout(kinetics_instrument="cart_kinetics")
    split = redcap.split(frame, header, redcap.shape_of(header), layout, merged=[3], sample_values=[4])
    [violation] = split.violations
    assert (violation.row, violation.patient_id, violation.column, violation.value) == (
        4,
        "1",
        "car_copies_per_ug",
        "12",
    )
    assert violation.rule.startswith("1 value on rows of repeating instrument 'labs', which is not the kinetics")
    assert split.kinetics_rows == 1


# --------------------------------------------------------------------------- a cohort column on the kinetics rows


def _kinetics_instrument_export(tmp_path, edit=None):
    """The demo as a repeating-instrument export: the records' own rows, then one
    ``cart_kinetics`` row per sample (patient_id, day, car_copies_per_ug; the cohort's
    columns empty on them)."""
    cohort = _cohort().assign(**{INSTRUMENT: "", INSTANCE: "", "day": "", "car_copies_per_ug": ""})
    kinetics = pd.read_csv(KINETICS, comment="#", dtype=str, keep_default_na=False)
    samples = pd.DataFrame("", index=kinetics.index, columns=cohort.columns)
    samples["patient_id"], samples["day"] = kinetics["patient_id"], kinetics["day"]
    samples["car_copies_per_ug"] = kinetics["car_copies_per_ug"]
    samples[INSTRUMENT] = "cart_kinetics"
    samples[INSTANCE] = (samples.groupby("patient_id").cumcount() + 1).astype(str)
    rows = pd.concat([cohort, samples], ignore_index=True)
    rows = rows[
        ["patient_id", INSTRUMENT, INSTANCE]
        + [c for c in rows.columns if c not in ("patient_id", INSTRUMENT, INSTANCE)]
    ]
    if edit is not None:
        rows = edit(rows)
    path = tmp_path / "kinetics_instrument.csv"
    rows.to_csv(path, index=False)
    return path, rows


def test_a_cohort_value_on_a_kinetics_instrument_row_is_read_or_a_violation(tmp_path):
    """Attack 29/02: a death date typed on a ``cart_kinetics`` repeating row was dropped
    unseen (the patient counted alive) while the same value on any other repeating
    instrument is read; now the kinetics rows' cohort cells are read the same way."""
    layout = redcap.Layout(kinetics_instrument="cart_kinetics")
    cohort = _cohort()
    sampled = set(pd.read_csv(KINETICS, comment="#", dtype=str)["patient_id"])
    alive_row = cohort[cohort["death_date"].eq("") & cohort["patient_id"].isin(sampled)].iloc[0]
    alive, last_seen = alive_row["patient_id"], alive_row["last_followup_date"]
    dead = cohort[cohort["death_date"].ne("") & cohort["patient_id"].isin(sampled)].iloc[0]

    def last_kinetics_row(rows, patient):
        return int(rows.index[rows["patient_id"].eq(patient) & rows[INSTRUMENT].eq("cart_kinetics")][-1])

    # a value only there: read (as on any repeating instrument, and as a sampling event's value is)
    def only_there(rows):
        rows.loc[last_kinetics_row(rows, alive), "death_date"] = last_seen  # died at the last contact
        return rows

    path, _ = _kinetics_instrument_export(tmp_path, only_there)
    study = load_study(path, None, CUTOFF, layout=layout)
    deaths = study.cohort.set_index("patient_id")["death_date"]
    assert int(deaths.notna().sum()) == int(cohort["death_date"].ne("").sum()) + 1
    assert deaths[alive] == pd.Timestamp(last_seen)
    assert "214 rows of repeating instrument cart_kinetics: death_date (1 patient) read from them" in " ".join(
        study.notes
    )
    assert len(study.kinetics) == 214  # the samples themselves still all read

    # a value that contradicts the record's own row: a violation naming the record and field
    def conflicting(rows):
        rows.loc[last_kinetics_row(rows, dead["patient_id"]), "death_date"] = "2022-12-31"
        return rows

    path, rows = _kinetics_instrument_export(tmp_path, conflicting)
    with pytest.raises(InputError) as info:
        load_study(path, None, CUTOFF, layout=layout)
    [violation] = info.value.violations
    row = last_kinetics_row(rows, dead["patient_id"])
    assert (violation.row, violation.patient_id, violation.column, violation.value) == (
        row + 2,
        dead["patient_id"],
        "death_date",
        "2022-12-31",
    )
    assert violation.rule.startswith(
        "two values for one patient, on the record's own row and on repeating instrument 'cart_kinetics' instance"
    )
