"""Groupings and derived endpoints, checked on hand-built patients."""

import pandas as pd
import pytest

from analysis.registry.groups import DAYS_PER_MONTH, GROUPINGS, prepare_cohort


def _patient(**overrides):
    row = dict(
        patient_id="P1",
        crs_grade=0,
        icans_grade=0,
        seizure=False,
        steroids=False,
        tocilizumab=False,
        cr_day30=True,
        mrd_negative=True,
        bm_blasts_pct=20.0,
        infusion_date="2020-01-01",
        cr_date="2020-01-31",
        relapse_date=None,
        death_date=None,
        last_followup_date="2021-01-01",
    )
    row.update(overrides)
    return row


def _prepare(rows):
    df = pd.DataFrame(rows)
    for col in ("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date"):
        df[col] = pd.to_datetime(df[col])
    return prepare_cohort(df)


def test_severity_levels_follow_the_dictionary():
    df = _prepare(
        [
            _patient(),  # no CRS, no ICANS
            _patient(crs_grade=2),  # other
            _patient(crs_grade=3),  # severe CRS
            _patient(crs_grade=1, icans_grade=1, seizure=True),  # seizure makes ICANS severe
            _patient(icans_grade=2),  # other, ICANS only
        ]
    )
    assert list(df["grp_severity"]) == ["none", "other", "severe", "severe", "other"]
    assert list(df["grp_icans_grade"]) == ["none", "none", "none", "grade_ge3", "grade_1_2"]
    assert list(df["grp_crs_grade"]) == ["none", "grade_1_2", "grade_ge3", "grade_1_2", "none"]
    assert list(df["grp_concurrent"]) == ["others", "others", "others", "both", "others"]
    assert bool(df["bm_blasts_ge20"].iloc[0]) is True  # 20% is ">= 20%"


def test_endpoints_in_months():
    df = _prepare(
        [
            _patient(death_date="2020-07-01", last_followup_date="2020-07-01", relapse_date="2020-05-01"),
            _patient(cr_day30=False, mrd_negative=None, cr_date=None),
        ]
    )
    assert df["os_months"].iloc[0] == pytest.approx(182 / DAYS_PER_MONTH)  # 2020 is a leap year
    assert bool(df["os_event"].iloc[0])
    assert df["lfs_months"].iloc[0] == pytest.approx(91 / DAYS_PER_MONTH)  # CR 31 Jan -> relapse 1 May
    assert bool(df["lfs_event"].iloc[0])
    assert pd.isna(df["lfs_months"].iloc[1]) and pd.isna(df["lfs_event"].iloc[1])
    assert not df["mrd_negative_cr"].iloc[1]
    assert df["os_months"].iloc[1] == pytest.approx(366 / DAYS_PER_MONTH)


def test_every_grouping_has_distinct_keys():
    for grouping in GROUPINGS.values():
        assert len(set(grouping.keys)) == len(grouping.keys) >= 2
