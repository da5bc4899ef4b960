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
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
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
#: Accepted, in any case, in a column whose :class:`Field` declares ``not_done``: the
#: assessment was not done (MRD not assessed, response not evaluable). It is a value of its
#: own, distinct from "no" and from an empty cell; it is kept in the loaded frame's column
#: :func:`not_done_column` and never counted as positive or negative.
NOT_DONE_WORDS = frozenset(
    {
        "not done",
        "not_done",
        "nd",
        "n.d.",
        "not assessed",
        "not evaluable",
        "not evaluated",
        "ne",
        "n.e.",
        "not determined",
        "unknown",
        "unk",
    }
)

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
    in the header, even when its cells may be empty.

    ``optional_column``: the column may be left out of the export (or declared
    ``not_collected:`` in the study file) when the registry does not collect it; the
    report then leaves out what it would show. ``not_done``: the column accepts the
    :data:`NOT_DONE_WORDS` as a value of its own, and this phrase says what they mean
    ("MRD not assessed")."""

    name: str
    kind: str
    required: bool = False
    checks: tuple[Range, ...] = ()
    unit: str | None = None
    may_be_absent: bool = False
    optional_column: bool = False
    not_done: str | None = None


def not_done_column(name: str) -> str:
    """The loaded frame's boolean column marking the cells of ``name`` that said "not done"."""
    return f"{name}_not_done"


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
    Field("il6_peak_pg_ml", NUMBER, False, (_GE0,), unit="pg/mL", optional_column=True),
    Field("ferritin_peak_ng_ml", NUMBER, False, (_GE0,), unit="ng/mL", optional_column=True),
    Field("crs_grade", INTEGER, True, (_GRADE,)),
    Field("crs_onset_day", INTEGER, False, (_GE0,), unit="days after infusion"),
    Field("icans_grade", INTEGER, True, (_GRADE,)),
    Field("icans_onset_day", INTEGER, False, (_GE0,), unit="days after infusion"),
    Field("seizure", BOOLEAN, False, optional_column=True),
    Field("steroids", BOOLEAN, True),
    Field("dex_equiv_cum_mg", NUMBER, False, (_GE0,), unit="mg", optional_column=True),
    Field("tocilizumab", BOOLEAN, True),
    Field("tocilizumab_cum_mg", NUMBER, False, (_GE0,), unit="mg", optional_column=True),
    Field("cr_day30", BOOLEAN, True, not_done="response not evaluable"),
    Field("mrd_negative", BOOLEAN, False, optional_column=True, not_done="MRD not assessed"),
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
    #: how the report's prose names a plausibility warning ("primary refractory disease with relapses")
    phrase: str = ""

    @property
    def key(self) -> str:
        return f"{self.column}: {self.message}"


#: Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 14-16;
#: Python's unicodedata does not expose it): code points a renderer shows as nothing --
#: format characters, the combining grapheme joiner U+034F, variation selectors, the Hangul
#: fillers U+115F, U+1160, U+3164, U+FFA0, tags and the ranges reserved for more of them.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
#: Blanks that are neither white space to Python nor default-ignorable, yet print as an
#: empty cell: BRAILLE PATTERN BLANK (a favourite "invisible" character of pasted text).
INVISIBLE_BLANKS = frozenset("\u2800")


def is_invisible(char: str) -> bool:
    """Whether a character prints as nothing (and is not white space, which separates
    words): a control character (Unicode category Cc: C0 and C1 controls, DEL), a format
    character (Cf), a default-ignorable code point (:data:`DEFAULT_IGNORABLE`) or an
    invisible blank (:data:`INVISIBLE_BLANKS`)."""
    if char.isspace():
        return False
    if unicodedata.category(char) in ("Cc", "Cf") or char in INVISIBLE_BLANKS:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in DEFAULT_IGNORABLE)


#: Characters read as a hyphen-minus in an id besides the dashes (Unicode category Pd: hyphen
#: U+2010, non-breaking hyphen U+2011, figure dash U+2012, en and em dash U+2013/U+2014, small
#: em dash U+FE58, ...): the minus signs, which NFKC does not map to "-" (U+2212, and the
#: super/subscript minus U+207B/U+208B that NFKC makes U+2212; heavy minus U+2796).
MINUS_SIGNS = frozenset("\u2212\u207b\u208b\u2796")


def _dash_as_hyphen(char: str) -> str:
    return "-" if char in MINUS_SIGNS or unicodedata.category(char) == "Pd" else char


def identity_key(value: object) -> str:
    """How a patient id or a center name is compared: two spellings are the same when
    they differ only by Unicode normalization (NFC/NFD accents, full-width letters and
    digits: NFKC), characters that print as nothing (:func:`is_invisible`: zero-width
    space, byte-order mark, soft hyphen, DEL and other controls, variation selectors, the
    combining grapheme joiner, Hangul fillers, the braille blank), case or runs of white
    space, or the dash between their parts (every dash and minus sign reads as "-": a word
    processor's autocorrect makes " - " an en dash). ``PTQX0001``, ``\ufeffPTQX0001``,
    ``PTQX0001\x7f``, ``ＰＴＱＸ０００１`` and ``ptqx0001`` are one patient; so are ``SYN-005``,
    ``SYN–005`` (en dash) and ``SYN‑005`` (non-breaking hyphen)."""
    text = str(value)
    if text.isascii() and text.isprintable():  # letters, digits, punctuation, spaces: NFKC and
        return " ".join(text.lower().split())  # the invisible characters leave them as they are
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_dash_as_hyphen(c) for c in text if not is_invisible(c))
    return " ".join(unicodedata.normalize("NFKC", text.casefold()).split())


def identity_keys(s: pd.Series) -> pd.Series:
    """:func:`identity_key` of every value of ``s`` (missing stays missing), computed once
    per distinct value."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    keys = np.array([identity_key(v) for v in uniques] + [np.nan], dtype=object)
    return pd.Series(keys[codes], index=s.index, dtype=object, name=s.name)


#: An id that is a plain decimal number once :func:`identity_key` has normalised it.
_DECIMAL_ID = re.compile(r"[0-9]+(?:\.[0-9]*)?")


def duplicate_key(value: object) -> str:
    """How two rows are compared for a duplicate patient: :func:`identity_key`, and ids
    equal as numbers are one (``7``, ``007`` and ``7.0``; ``12`` and ``12.00``): a
    spreadsheet drops leading zeros or adds ``.0`` to an id column it took for numbers,
    so two such spellings in one export are one patient counted twice, not two patients.
    (Matching kinetics rows to the cohort keeps :func:`identity_key`: a spelling that
    differs there is an error of its own.)"""
    key = identity_key(value)
    if len(key) <= 64 and _DECIMAL_ID.fullmatch(key):
        whole, _, fraction = key.partition(".")
        whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
        return f"{whole}.{fraction}" if fraction else whole
    return key


def duplicate_keys(s: pd.Series) -> pd.Series:
    """:func:`duplicate_key` of every value of ``s`` (missing stays missing)."""
    return s.map(duplicate_key, na_action="ignore")


def _true(s: pd.Series) -> pd.Series:
    """Nullable boolean -> plain bool, missing counting as False."""
    return s.fillna(False).astype(bool)


def _not_done(d: pd.DataFrame, name: str) -> pd.Series:
    """Which rows said "not done" in column ``name`` (False where the frame has no such column)."""
    column = not_done_column(name)
    return _true(d[column]) if column in d else pd.Series(False, index=d.index)


def required_unless_not_done(field: Field) -> Rule:
    """A required column that accepts "not done": empty is an error, "not done" is not."""
    return Rule(
        field.name,
        f"required (the cell is empty; write 'not done' when {field.not_done})",
        (field.name,),
        lambda d: d[field.name].isna() & ~_not_done(d, field.name),
    )


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
        lambda d: d["patient_id"].notna() & duplicate_keys(d["patient_id"]).duplicated(keep=False),
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
        "required when cr_day30 is true (write 'not done' when MRD was not assessed)",
        ("cr_day30", "mrd_negative"),
        lambda d: _true(d["cr_day30"]) & d["mrd_negative"].isna() & ~_not_done(d, "mrd_negative"),
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
    Rule(
        "cr_date",
        "must be empty when the response is not evaluable (cr_day30 'not evaluable')",
        ("cr_day30", "cr_date"),
        lambda d: _not_done(d, "cr_day30") & d["cr_date"].notna(),
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
            lambda d: (
                d["patient_id"].notna()
                & d["day"].notna()
                & d.assign(patient_id=duplicate_keys(d["patient_id"])).duplicated(["patient_id", "day"], keep=False)
            ),
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


# --------------------------------------------------------------------------- plausibility


#: A living patient last seen more than this many days before the data cut-off is
#: counted as lost to follow-up (a plausibility warning and a sentence of Results).
@dataclass(frozen=True)
class FractionColumn:
    """A column of percentages (unit "%") whose every value is at most 1: percentages written
    as fractions, probably (45% as 0.45; a workbook's percent cells are read as they show)."""

    column: str
    n: int  # patients with a value
    median: float
    largest: float


def percentages_as_fractions(
    frame: pd.DataFrame, fields: tuple[Field, ...] = COHORT_FIELDS
) -> tuple[FractionColumn, ...]:
    """The columns of percentages of ``frame`` whose values (at least two, one above 0) are
    all at most 1 (see :class:`FractionColumn`); a note for ``validate`` and a caveat of the
    report's data quality."""
    out = []
    for f in fields:
        if f.unit != "%" or f.name not in frame:
            continue
        values = pd.to_numeric(frame[f.name], errors="coerce").dropna()
        if len(values) >= 2 and values.max() <= 1 and values.max() > 0:
            out.append(FractionColumn(f.name, int(len(values)), float(values.median()), float(values.max())))
    return tuple(out)


LOST_TO_FOLLOWUP_DAYS = 365

#: Days after infusion within which a day-30 response is dated; a CR date outside is a warning.
RESPONSE_WINDOW_DAYS = (14, 60)


def _days_after_infusion(d: pd.DataFrame, column: str) -> pd.Series:
    return (d[column] - d["infusion_date"]).dt.days


def _outside(days: pd.Series, low: int, high: int) -> pd.Series:
    return days.notna() & ~days.between(low, high)


def _onset_after_end(event: str) -> Rule:
    onset = f"{event}_onset_day"

    def violated(d: pd.DataFrame) -> pd.Series:
        end = d["death_date"].where(d["death_date"].notna(), d["last_followup_date"])
        days = (end - d["infusion_date"]).dt.days
        return _true(d[onset].astype("Float64") > days.astype("Float64"))

    return Rule(
        onset,
        f"{event.upper()} onset after death or last follow-up",
        (onset, "infusion_date", "death_date", "last_followup_date"),
        violated,
        phrase=f"{event.upper()} onset after the end of follow-up",
    )


def plausibility_rules(cutoff: dt.date | None) -> tuple[Rule, ...]:
    """Warnings, not errors: values each valid on its own whose combination is
    implausible. ``validate`` lists them with the record; the report counts them in its
    data-quality paragraph. ``cutoff``: the data cut-off (the lost-to-follow-up rule needs it)."""
    low, high = RESPONSE_WINDOW_DAYS
    rules = [
        Rule(
            "disease_status",
            "primary refractory disease with relapses recorded (n_relapses > 0)",
            ("disease_status", "n_relapses"),
            lambda d: (
                d["disease_status"].eq("primary_refractory").fillna(False).astype(bool) & _true(d["n_relapses"].gt(0))
            ),
            phrase="primary refractory disease with relapses recorded",
        ),
        Rule(
            "seizure",
            "a seizure with ICANS grade below 3 (ASTCT grades any seizure 3 or higher)",
            ("seizure", "icans_grade"),
            lambda d: _true(d["seizure"]) & _true(d["icans_grade"].between(1, 2)),
            phrase="a seizure with an ICANS grade below 3",
        ),
        Rule(
            "prior_lines",
            "no prior line of therapy in a relapsed/refractory cohort",
            ("prior_lines",),
            lambda d: _true(d["prior_lines"].eq(0)),
            phrase="no prior line of therapy",
        ),
        _onset_after_end("crs"),
        _onset_after_end("icans"),
        Rule(
            "cr_date",
            f"response date far outside the day-30 assessment (not within days {low}-{high} after infusion)",
            ("cr_date", "infusion_date"),
            lambda d: _outside(_days_after_infusion(d, "cr_date"), low, high),
            phrase=f"a CR date outside days {low}–{high} after infusion",
        ),
    ]
    if cutoff is not None:
        limit = pd.Timestamp(cutoff) - pd.Timedelta(days=LOST_TO_FOLLOWUP_DAYS)
        rules.append(
            Rule(
                "last_followup_date",
                f"alive and last seen more than {LOST_TO_FOLLOWUP_DAYS} days before the cut-off "
                f"({cutoff.isoformat()}): lost to follow-up",
                ("last_followup_date", "death_date"),
                lambda d: d["death_date"].isna() & _true(d["last_followup_date"] < limit),
                phrase="lost to follow-up",
            )
        )
    return tuple(rules)


#: The lost-to-follow-up rule's message starts with this (the report counts its patients).
LOST_TO_FOLLOWUP = "alive and last seen more than"
