"""The data contract: the columns of the cohort and kinetics tables and the rules between them.

This is the module a data manager reads and edits. It declares, top to bottom:

1. the plausibility bounds every value must respect (dates, numbers) and the default
   data cut-off;
2. the values accepted in words (booleans, sex, disease status) and the placeholders
   rejected as "missing" (``NA``, ``-``...);
3. the kinds of column and the two tables (:data:`COHORT_FIELDS`,
   :data:`KINETICS_FIELDS`): each column's name, kind, whether it is required and its
   range checks;
4. the cross-column rules (:data:`COHORT_RULES`, :func:`kinetics_rules`).

How a file is read is in :mod:`analysis.inputs.readers`; how the rules are run and reported is
in :mod:`analysis.inputs.rules`; :mod:`analysis.inputs.loading` composes them. The same contract is
written for users in ``docs/data-dictionary.md`` and ``data/README.md``;
``tests/test_contract.py`` checks that those pages and this module list the same columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# --------------------------------------------------------------------------- bounds

#: Data cut-off of the publication; every date after it is an error.
DEFAULT_CUTOFF = "2023-03-01"

#: Plausible dates: no CAR-T infusion, and so no later event of the cohort, before this
#: date; none after the data cut-off or after today (a cut-off in the future allows none).
EARLIEST_DATE = dt.date(2000, 1, 1)
#: Largest number accepted in any number column: far above any laboratory value, and far
#: enough below the float maximum (1.8e308) that sums and means of a million values stay finite.
MAX_NUMBER = 1e12

TOO_EARLY = f"before {EARLIEST_DATE.isoformat()}: not a plausible date of a CAR-T therapy"
TOO_LARGE = f"implausibly large (at most {MAX_NUMBER:.0e})"

#: A date is written year-month-day (``2021-03-04``; ``2021-3-4`` is read as the same date).
ISO_DATE = r"\d{4}-\d{2}-\d{2}"

# --------------------------------------------------------------------------- values

#: Accepted in a boolean column, in any case.
BOOLEAN_WORDS = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False, "y": True, "n": False}
#: Accepted in the sex column, in any case; stored as M/F.
SEX_WORDS = {"m": "M", "male": "M", "f": "F", "female": "F"}
#: Accepted in the disease_status column, in any case.
STATUS_WORDS = {
    "relapsed": "relapsed",
    "primary_refractory": "primary_refractory",
    "primary refractory": "primary_refractory",
    "primary-refractory": "primary_refractory",
}
#: Placeholders reported with the hint to leave the cell empty (only an empty cell is
#: missing: in a number or date column they may hide a value that was never entered).
MISSING_WORDS = {"NA", "N/A", "NAN", "NULL", "NONE", "MISSING", "-", "."}

# --------------------------------------------------------------------------- columns

TEXT, NUMBER, INTEGER, DATE, BOOLEAN, SEX, STATUS = ("text", "number", "integer", "date", "boolean", "sex", "status")


@dataclass(frozen=True)
class Range:
    """A range check of a column's values: the name of the ``pandera.Check`` that
    :mod:`analysis.inputs.rules` runs, its arguments and the message of a failure (declared as
    data so that reading the contract does not import pandera)."""

    check: str  # "in_range", "ge" or "gt"
    args: tuple[float, ...]
    error: str


@dataclass(frozen=True)
class Field:
    """One column: its name, its kind (above), whether a value is required, its range
    checks and the unit its numbers are in (None: not a measurement). ``may_be_absent``:
    the file may leave the column out altogether, which reads as every cell empty (a column
    the contract added later, that older exports do not carry); every other column must be
    in the header, even when its cells may be empty."""

    name: str
    kind: str
    required: bool = False
    checks: tuple[Range, ...] = ()
    unit: str | None = None
    may_be_absent: bool = False


def unit_of(column: str) -> str | None:
    """The unit of a cohort column's numbers (None: not a measurement), shown beside the
    variable wherever it is displayed (Table 1 row labels)."""
    return next((f.unit for f in COHORT_FIELDS if f.name == column), None)


def _between(lo, hi) -> Range:
    return Range("in_range", (lo, hi), f"must be between {lo} and {hi}")


_GE0 = Range("ge", (0,), "must be >= 0")
_GT0 = Range("gt", (0,), "must be > 0")
_GRADE = _between(0, 5)

#: The cohort table, one row per patient, in the order of the loaded frame.
COHORT_FIELDS: tuple[Field, ...] = (
    Field("patient_id", TEXT, True),
    Field("center", TEXT, True),
    Field("infusion_date", DATE, True),
    Field("age", NUMBER, True, (_between(0, 120),), unit="years"),
    Field("sex", SEX, True),
    Field("ph_positive", BOOLEAN, True),
    Field("disease_status", STATUS, True),
    Field("n_relapses", INTEGER, True, (_GE0,)),
    Field("prior_lines", INTEGER, True, (_GE0,)),
    Field("bm_blasts_pct", NUMBER, True, (_between(0, 100),), unit="%"),
    Field("cart_dose_1e6_per_kg", NUMBER, True, (_GT0,), unit="10⁶ cells/kg"),
    Field("il6_peak_pg_ml", NUMBER, False, (_GE0,), unit="pg/mL"),
    Field("ferritin_peak_ng_ml", NUMBER, False, (_GE0,), unit="ng/mL"),
    Field("crs_grade", INTEGER, True, (_GRADE,)),
    Field("crs_onset_day", INTEGER, False, (_GE0,), unit="days after infusion"),
    Field("icans_grade", INTEGER, True, (_GRADE,)),
    Field("icans_onset_day", INTEGER, False, (_GE0,), unit="days after infusion"),
    Field("seizure", BOOLEAN, False),
    Field("steroids", BOOLEAN, True),
    Field("dex_equiv_cum_mg", NUMBER, False, (_GE0,), unit="mg"),
    Field("tocilizumab", BOOLEAN, True),
    Field("tocilizumab_cum_mg", NUMBER, False, (_GE0,), unit="mg"),
    Field("cr_day30", BOOLEAN, True),
    Field("mrd_negative", BOOLEAN, False),
    Field("cr_date", DATE, False),
    Field("relapse_date", DATE, False),
    Field("death_date", DATE, False),
    Field("last_followup_date", DATE, True),
    Field("hsct_date", DATE, False, may_be_absent=True),
)

#: The CAR-T kinetics table, one row per blood sample.
KINETICS_FIELDS: tuple[Field, ...] = (
    Field("patient_id", TEXT, True),
    Field("day", INTEGER, True, (_GE0,), unit="days after infusion"),
    Field("car_copies_per_ug", NUMBER, True, (_GE0,), unit="copies/µg DNA"),
)

# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """A cross-column rule: ``violated(frame)`` is True on rows breaking it.

    It is written null-safe (a missing or unparseable value never breaks it) and is
    reported on ``column``. ``columns`` are the columns it reads; for a ``duplicate``
    rule, the key whose other rows the message lists.
    """

    column: str
    message: str
    columns: tuple[str, ...]
    violated: Callable[[pd.DataFrame], pd.Series]
    duplicate: bool = False  # list the other rows holding the same key in the message

    @property
    def key(self) -> str:
        return f"{self.column}: {self.message}"


def _true(s: pd.Series) -> pd.Series:
    """Nullable boolean -> plain bool, missing counting as False."""
    return s.fillna(False).astype(bool)


#: Day of the response assessment that defines "in CR" (column ``cr_day30``); a patient in
#: CR followed for fewer days is noted when the cohort is loaded.
RESPONSE_ASSESSMENT_DAY = 30


def _onset_rules(event: str) -> tuple[Rule, ...]:
    grade, onset = f"{event}_grade", f"{event}_onset_day"
    return (
        Rule(onset, f"required when {grade} > 0", (grade, onset), lambda d: _true(d[grade].gt(0)) & d[onset].isna()),
        Rule(
            onset,
            f"must be empty when {grade} is 0",
            (grade, onset),
            lambda d: _true(d[grade].eq(0)) & d[onset].notna(),
        ),
    )


def _date_order(column: str, other: str, strict: bool = False, before: bool = False) -> Rule:
    """``column`` must be on or after ``other`` (``strict``: after; ``before``: on or before)."""
    if before:
        message, violated = f"must be on or before {other}", lambda d: d[column] > d[other]
    elif strict:
        message, violated = f"must be after {other}", lambda d: d[column] <= d[other]
    else:
        message, violated = f"must be on or after {other}", lambda d: d[column] < d[other]
    return Rule(column, message, (column, other), violated)


COHORT_RULES: tuple[Rule, ...] = (
    Rule(
        "patient_id",
        "duplicate patient_id",
        ("patient_id",),
        lambda d: d["patient_id"].notna() & d["patient_id"].duplicated(keep=False),
        duplicate=True,
    ),
    *_onset_rules("crs"),
    *_onset_rules("icans"),
    Rule(
        "seizure",
        "a seizure is an ICANS event: requires icans_grade > 0",
        ("seizure", "icans_grade"),
        lambda d: _true(d["seizure"]) & _true(d["icans_grade"].eq(0)),
    ),
    Rule(
        "mrd_negative",
        "required when cr_day30 is true",
        ("cr_day30", "mrd_negative"),
        lambda d: _true(d["cr_day30"]) & d["mrd_negative"].isna(),
    ),
    Rule(
        "mrd_negative",
        "must be empty or false when cr_day30 is false",
        ("cr_day30", "mrd_negative"),
        lambda d: _true(d["cr_day30"].eq(False)) & _true(d["mrd_negative"]),
    ),
    Rule(
        "cr_date",
        "required when cr_day30 is true",
        ("cr_day30", "cr_date"),
        lambda d: _true(d["cr_day30"]) & d["cr_date"].isna(),
    ),
    Rule(
        "cr_date",
        "must be empty when cr_day30 is false",
        ("cr_day30", "cr_date"),
        lambda d: _true(d["cr_day30"].eq(False)) & d["cr_date"].notna(),
    ),
    _date_order("cr_date", "infusion_date"),
    Rule(
        "relapse_date",
        "only for patients in CR (cr_day30 true)",
        ("cr_day30", "relapse_date"),
        lambda d: _true(d["cr_day30"].eq(False)) & d["relapse_date"].notna(),
    ),
    _date_order("relapse_date", "cr_date", strict=True),
    _date_order("relapse_date", "death_date", before=True),
    _date_order("death_date", "infusion_date"),
    _date_order("death_date", "cr_date"),
    _date_order("last_followup_date", "infusion_date"),
    _date_order("last_followup_date", "cr_date"),
    _date_order("last_followup_date", "relapse_date"),
    _date_order("hsct_date", "infusion_date", strict=True),
    _date_order("hsct_date", "death_date", before=True),
    _date_order("hsct_date", "last_followup_date", before=True),
    Rule(
        "last_followup_date",
        "must equal death_date for a patient who died",
        ("last_followup_date", "death_date"),
        lambda d: (
            d["death_date"].notna() & d["last_followup_date"].notna() & d["last_followup_date"].ne(d["death_date"])
        ),
    ),
)


def kinetics_rules(cohort_ids: pd.Series | None, followup_days: pd.Series | None = None) -> tuple[Rule, ...]:
    """The kinetics table's rules; those against the cohort only when it was read:
    ``cohort_ids`` (its patient_id column), ``followup_days`` (days from infusion to last
    follow-up by patient_id, :func:`analysis.inputs.rules.days_to_last_followup`)."""
    rules = [
        Rule(
            "day",
            "duplicate sample: same patient_id and day",
            ("patient_id", "day"),
            lambda d: d["patient_id"].notna() & d["day"].notna() & d.duplicated(["patient_id", "day"], keep=False),
            duplicate=True,
        ),
    ]
    if cohort_ids is not None:
        known = pd.Index(cohort_ids.dropna().unique())
        rules.append(
            Rule(
                "patient_id",
                "not a patient_id of the cohort",
                ("patient_id",),
                lambda d: d["patient_id"].notna() & ~d["patient_id"].isin(known),
            )
        )
    if followup_days is not None:
        rules.append(
            Rule(
                "day",
                "after the patient's last follow-up (last_followup_date - infusion_date in the cohort)",
                ("patient_id", "day"),
                lambda d: _true(d["day"].astype("Float64") > d["patient_id"].map(followup_days)),
            )
        )
    return tuple(rules)
