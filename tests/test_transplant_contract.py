"""hsct_date, the allogeneic transplant after CAR-T: an optional column of the contract
(a file may leave it out), its date rules, and the REDCap vocabulary that maps it."""

from __future__ import annotations

import pandas as pd
import pytest
from corpus import VALID_COHORT

from analysis.inputs.loading import InputError, load_cohort
from analysis.inputs.mapping import SYNONYMS
from analysis.inputs.readers import normal_name


def _cohort_with_hsct(tmp_path, dates: dict[int, str]):
    """The valid corpus cohort with an hsct_date column; ``dates``: row position -> text."""
    frame = pd.read_csv(VALID_COHORT, dtype=str, keep_default_na=False, comment=None)
    frame["hsct_date"] = [dates.get(i, "") for i in range(len(frame))]
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_file_without_the_column_loads_as_no_transplant_recorded():
    cohort = load_cohort(VALID_COHORT)
    assert "hsct_date" not in VALID_COHORT.read_text(encoding="utf-8").splitlines()[0]
    assert cohort["hsct_date"].isna().all()
    assert str(cohort["hsct_date"].dtype) == "datetime64[ns]"


def test_a_valid_transplant_date_is_read(tmp_path):
    frame = pd.read_csv(VALID_COHORT, dtype=str, keep_default_na=False)
    alive = frame.index[frame["death_date"].eq("")][0]
    day = (pd.Timestamp(frame.loc[alive, "infusion_date"]) + pd.Timedelta(days=1)).date().isoformat()
    path, _ = _cohort_with_hsct(tmp_path, {alive: day})
    cohort = load_cohort(path)
    assert cohort["hsct_date"].notna().sum() == 1
    assert cohort.loc[alive, "hsct_date"] == pd.Timestamp(day)


def test_transplant_dates_out_of_order_are_each_reported(tmp_path):
    frame = pd.read_csv(VALID_COHORT, dtype=str, keep_default_na=False)
    died = frame.index[frame["death_date"].ne("")][0]
    alive = [i for i in frame.index[frame["death_date"].eq("")]][:2]

    def day(row, column, shift):
        return (pd.Timestamp(frame.loc[row, column]) + pd.Timedelta(days=shift)).date().isoformat()

    path, _ = _cohort_with_hsct(
        tmp_path,
        {
            alive[0]: day(alive[0], "infusion_date", 0),  # on the infusion day: not after it
            died: day(died, "death_date", 1),  # after death
            alive[1]: day(alive[1], "last_followup_date", 1),  # after the last follow-up
        },
    )
    with pytest.raises(InputError) as info:
        load_cohort(path)
    found = {(v.row, v.column, v.rule) for v in info.value.violations}
    assert found == {
        (alive[0] + 2, "hsct_date", "must be after infusion_date"),
        (died + 2, "hsct_date", "must be on or before death_date"),
        (died + 2, "hsct_date", "must be on or before last_followup_date"),
        (alive[1] + 2, "hsct_date", "must be on or before last_followup_date"),
    }


def test_redcap_names_of_the_transplant_map_onto_hsct_date():
    known = set(SYNONYMS["hsct_date"])
    for header in ("hsct_post", "allo-HSCT after CAR-T", "Consolidative HSCT", "Date of HSCT after CAR-T"):
        assert normal_name(header).replace("_", " ") in known, header
