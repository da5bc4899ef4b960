"""Toxicity as a time-dependent exposure against R survival 3.5-3.

``tests/reference/r_timevarying.R`` builds the counting-process data from the raw export
``data/cohort.csv`` with ``tmerge`` and fits the models; each literal below is what it
printed, next to the call that printed it.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.timevarying import ZERO_TIME_REASON, counting_process
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def cohort():
    from conftest import COHORT, KINETICS, report_parameter

    return prepare_cohort(load_study(COHORT, KINETICS, report_parameter("cutoff")).cohort)


def _os_days(df):
    died = df["death_date"].notna()
    return (df["death_date"].where(died, df["last_followup_date"]) - df["infusion_date"]).dt.days, died


def _onset(df, tox):
    return df[f"{tox}_onset_day"].where(df[f"{tox}_grade"].gt(0))


# --------------------------------------------------------------------------- the builder (R tmerge)


def test_counting_process_equals_r_tmerge_on_the_demo(cohort):
    # R> td <- tmerge(d[, c("patient_id", "os_days", "os_event")], d, id = patient_id,
    # R+              death = event(os_days, os_event))
    # R> td <- tmerge(td, d, id = patient_id, crs = tdc(crs_on), icans = tdc(icans_on))
    # == tmerge OS: rows 185 patients 93 events 55 crs rows 85 icans rows 22   (written to tmerge_os.csv)
    days, died = _os_days(cohort)
    cp = counting_process(days, died, {"crs": _onset(cohort, "crs"), "icans": _onset(cohort, "icans")})
    assert (cp.n_rows, cp.n_patients, int(cp.event.sum())) == (185, 93, 55)
    assert (int(cp.exposed["crs"].sum()), int(cp.exposed["icans"].sum())) == (85, 22)
    mine = cp.frame(index=cohort["patient_id"].to_numpy())
    r = pd.read_csv(REF / "tmerge_os.csv")
    assert mine["id"].tolist() == r["patient_id"].tolist()
    for column, r_column in (
        ("tstart", "tstart"),
        ("tstop", "tstop"),
        ("event", "death"),
        ("crs", "crs"),
        ("icans", "icans"),
    ):
        assert mine[column].astype(float).tolist() == r[r_column].astype(float).tolist(), column


def test_tmerge_conventions_on_a_toy_cohort():
    # R> d <- data.frame(id = 1:6, time = c(10, 8, 5, 7, 6, 4), status = c(1, 0, 1, 0, 1, 1),
    # R+                 crs = c(3, NA, 0, 4, 6, 4), icans = c(3, 2, 9, 5, NA, 1))
    # R> td <- tmerge(d[, 1:3], d, id = id, death = event(time, status)); tmerge(td, d, id = id, crs = tdc(crs), icans = tdc(icans))
    r = [  # id tstart tstop death crs icans
        (1, 0, 3, 0, 0, 0),
        (1, 3, 10, 1, 1, 1),  # equal onsets: one split
        (2, 0, 2, 0, 0, 0),
        (2, 2, 8, 0, 0, 1),  # a missing onset: never exposed
        (3, 0, 5, 1, 1, 0),  # onset at 0: exposed from the start; after the end: never
        (4, 0, 4, 0, 0, 0),
        (4, 4, 5, 0, 1, 0),
        (4, 5, 7, 0, 1, 1),
        (5, 0, 6, 1, 0, 0),  # onset on the event day counts after it
        (6, 0, 1, 0, 0, 0),
        (6, 1, 4, 1, 0, 1),
    ]
    cp = counting_process(
        [10, 8, 5, 7, 6, 4], [1, 0, 1, 0, 1, 1], {"crs": [3, np.nan, 0, 4, 6, 4], "icans": [3, 2, 9, 5, None, 1]}
    )
    got = cp.frame(index=np.arange(1, 7))
    assert [tuple(int(v) for v in row) for row in got[["id", "tstart", "tstop", "event", "crs", "icans"]].values] == r


def test_zero_follow_up_has_no_interval_and_is_counted():
    cp = counting_process([0, 3], [True, False], {"x": [np.nan, 1]})
    assert cp.n_zero_time == 1 and cp.patient.tolist() == [1, 1]
    assert "stop > start" in ZERO_TIME_REASON


def test_bad_times_are_refused():
    with pytest.raises(ValueError, match="known and >= 0"):
        counting_process([np.nan, 3], [True, False], {})
    with pytest.raises(ValueError, match="differ in length"):
        counting_process([1, 3], [True, False], {"x": [1]})
