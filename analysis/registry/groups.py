"""Groupings of the report (data dictionary, section 3) and derived endpoints.

Every grouping and every derived column is defined here once; the statistics
modules, the results object, the tables and the figures all read them from the
frame returned by :func:`prepare_cohort`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.registry.contract import RESPONSE_ASSESSMENT_DAY, not_done_column

#: Days per month used for every time-to-event endpoint (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: Bone-marrow blast threshold of the multivariable model (Table 2).
BLAST_THRESHOLD_PCT = 20.0

#: Event-free survival: the day (after infusion) of the event of a patient not in CR at the
#: day-30 assessment. Day 0, the convention of the FDA's guidance for acute leukemia trials
#: (induction failure is an event on the first day), not the assessment day 30, which would
#: credit a non-responder with 30 event-free days it never had (Methods states it).
EFS_NO_CR_DAY = 0


@dataclass(frozen=True)
class Level:
    """One level of a grouping: a stable machine key and a reader-facing label."""

    key: str
    label: str
    #: the label where a table row gives it less room (Table 3), defined in the table's legend
    short: str = ""

    @property
    def row_label(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class Grouping:
    name: str
    title: str
    levels: tuple[Level, ...]

    @property
    def column(self) -> str:
        """Column of the prepared cohort holding this grouping's level key."""
        return f"grp_{self.name}"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    def label(self, key: str) -> str:
        return next(level.label for level in self.levels if level.key == key)


_NONE_12_GE3 = ("none", "grade_1_2", "grade_ge3")

GROUPINGS: dict[str, Grouping] = {
    g.name: g
    for g in (
        Grouping("crs", "CRS", (Level("no", "No CRS"), Level("yes", "CRS"))),
        Grouping("icans", "ICANS", (Level("no", "No ICANS"), Level("yes", "ICANS"))),
        Grouping(
            "concurrent",
            "Concurrent CRS and ICANS",
            (Level("both", "CRS and ICANS"), Level("others", "Others")),
        ),
        Grouping(
            "crs_grade",
            "CRS grade",
            tuple(Level(k, label) for k, label in zip(_NONE_12_GE3, ("No CRS", "CRS grade 1–2", "CRS grade ≥3"))),
        ),
        Grouping(
            "icans_grade",
            "ICANS grade",
            tuple(
                Level(k, label)
                for k, label in zip(_NONE_12_GE3, ("No ICANS", "ICANS grade 1–2", "ICANS grade ≥3 or seizure"))
            ),
        ),
        Grouping(
            "severity",
            "CRS/ICANS severity",
            (
                # in order of severity, the order of every display (review 29)
                Level("none", "No CRS or ICANS"),
                Level("other", "Others (grade 1–2 CRS and/or ICANS)", short="Grade 1–2 only"),
                Level("severe", "Grade ≥3 CRS or severe ICANS", short="Grade ≥3 or severe"),
            ),
        ),
        Grouping("steroids", "Steroids", (Level("no", "No steroids"), Level("yes", "Steroids"))),
        Grouping("tocilizumab", "Tocilizumab", (Level("no", "No tocilizumab"), Level("yes", "Tocilizumab"))),
    )
}

#: Reference level of every grouping: effects (and the exposure terms of the multivariable
#: model) are "level versus reference": no toxicity, no treatment; for concurrent CRS and
#: ICANS, the other patients.
REFERENCE_LEVELS: dict[str, str] = {
    "crs": "no",
    "icans": "no",
    "concurrent": "others",
    "crs_grade": "none",
    "icans_grade": "none",
    "severity": "none",
    "steroids": "no",
    "tocilizumab": "no",
}

#: Groupings with a level in which none of these toxicities occurs (the severity group "No CRS
#: or ICANS"): a treatment of them cannot be given in that level, so it is not compared across
#: the grouping (:meth:`analysis.registry.concepts.Variable.tested_by`).
WITHOUT_TOXICITY: dict[str, tuple[str, ...]] = {"severity": ("crs", "icans")}

#: Ordered groupings and the score of each level for a test of trend across them (R
#: ``prop.trend.test(x, n, score)`` for response rates, a Cox model with the score as one
#: numeric covariate for survival): none < grade 1-2 < grade >=3 (severe), and for the
#: severity groups none < others (grade 1-2) < severe.
TREND_SCORES: dict[str, dict[str, int]] = {
    "crs_grade": {"none": 0, "grade_1_2": 1, "grade_ge3": 2},
    "icans_grade": {"none": 0, "grade_1_2": 1, "grade_ge3": 2},
    "severity": {"none": 0, "other": 1, "severe": 2},
}


def display_order(grouping: str | None, keys) -> list[int]:
    """The positions of ``keys`` (a grouping's level keys, as a result holds them) in the order a
    display shows them: by the trend score of an ordered grouping (none < grade 1–2 < grade ≥3;
    no CRS or ICANS < others (grade 1–2) < grade ≥3 CRS or severe ICANS: review 29, the severity
    legends listed grade ≥3 before grade 1–2), else as the grouping defines them."""
    keys = list(keys)
    scores = TREND_SCORES.get(grouping or "", {})
    return sorted(range(len(keys)), key=lambda i: (scores.get(keys[i], i), i))


#: The three groupings of Table 1, in display order.
TABLE1_GROUPINGS = ("crs", "icans", "concurrent")

#: The groupings defined by CRS and ICANS alone (not by their treatment).
#: The toxicity groupings of the manuscript's main text and displays; the grade-level
#: groupings and the treatments of toxicity are analysed in the supplement.
MAIN_GROUPINGS = ("crs", "icans", "concurrent", "severity")
TOXICITY_GROUPINGS = ("crs", "icans", "concurrent", "crs_grade", "icans_grade", "severity")

#: The groupings of the CAR-T kinetics table (Cmax, Tmax, AUC with effect sizes), in order.
KINETICS_TABLE_GROUPINGS = ("crs", "icans", "concurrent", "severity")

#: The patients with CAR-T kinetics data against the others: how the kinetics subset was
#: selected (STROBE 12c, 14a). Not a grouping of the analyses (not in GROUPINGS): it has only
#: its own comparison (:func:`analysis.estimators.comparisons.compare_subset`).
KINETICS_DATA = Grouping(
    "kinetics_data", "CAR-T kinetics data", (Level("with", "With kinetics data"), Level("without", "Without"))
)


def _grade_band(grade: np.ndarray, severe: np.ndarray) -> np.ndarray:
    """Codes of (none, grade 1-2, grade >=3 or severe)."""
    return np.select([(grade == 0) & ~severe, severe], [0, 2], default=1).astype(np.int8)


def toxicity_codes(crs_grade, icans_grade, seizure) -> dict[str, np.ndarray]:
    """Level codes (positions in :data:`GROUPINGS`' levels) of every toxicity grouping, from
    the CRS and ICANS grades and seizures: the one definition of the toxicity groupings,
    read by :func:`prepare_cohort` (one row per patient) and by the time-dependent analyses
    (one row per interval, the grades of toxicities not yet begun set to 0). Missing grades
    count as 0 (the contract requires them)."""
    crs = np.nan_to_num(np.asarray(crs_grade, dtype=float))
    icans = np.nan_to_num(np.asarray(icans_grade, dtype=float))
    seizure = np.asarray(seizure, dtype=bool)
    crs_any, crs_severe = crs > 0, crs >= 3
    icans_severe = (icans >= 3) | seizure
    icans_any = (icans > 0) | icans_severe
    concurrent = crs_any & icans_any
    any_tox, severe_tox = crs_any | icans_any, crs_severe | icans_severe
    return {
        "crs": crs_any.astype(np.int8),
        "icans": icans_any.astype(np.int8),
        "concurrent": np.where(concurrent, 0, 1).astype(np.int8),  # levels: both, others
        "crs_grade": _grade_band(crs, crs_severe),
        "icans_grade": _grade_band(icans, icans_severe),
        "severity": np.select([~any_tox, severe_tox], [0, 2], default=1).astype(np.int8),  # none, other, severe
    }


def _from_codes(codes: np.ndarray, grouping: Grouping) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(grouping.keys), ordered=True)


def _categorical(values, grouping: Grouping) -> pd.Categorical:
    """Level keys -> ordered categorical (a value that is no key becomes missing).

    Built from integer codes: comparing a fixed-width numpy string array with each key is
    vectorised, while ``pd.Categorical(values)`` hashes every value as a Python string
    (~0.2 s per grouping at 10^6 patients)."""
    values = np.asarray(values)
    codes = np.full(values.shape, -1, dtype=np.int8)
    for code, key in enumerate(grouping.keys):
        codes[values == key] = code
    return pd.Categorical.from_codes(codes, categories=list(grouping.keys), ordered=True)


def _flag(df: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of the loaded cohort, False where the frame has none (a frame built by hand)."""
    if column not in df:
        return pd.Series(False, index=df.index)
    return df[column].astype("boolean").fillna(False).astype(bool)


def prepare_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a validated cohort with endpoints and grouping columns.

    Added columns: ``crs_any``, ``crs_severe``, ``icans_any``, ``icans_severe``
    (grade ≥ 3 or a seizure), ``concurrent``; the responses ``cr_response`` (CR at day
    30; False for a patient who died or was not followed up beyond the assessment,
    :data:`analysis.registry.concepts.RESPONSE_RULE`; missing when the response of a patient
    followed beyond it was not evaluable) and ``mrd_negative_cr`` (missing for
    a patient in CR whose MRD was not assessed, and when the response was not evaluable:
    "not done" is never counted as positive or negative), ``response_evaluable``,
    ``mrd_assessed`` and ``mrd_not_assessed`` (patients in CR with and without an MRD result),
    ``bm_blasts_ge20``, ``os_months``/``os_event``, ``lfs_months``/``lfs_event``
    (missing for patients not in CR), ``efs_months``/``efs_event`` (every patient: no CR at
    day 30 is an event at :data:`EFS_NO_CR_DAY`) and one ``grp_<name>`` ordered categorical
    per grouping of :data:`GROUPINGS`, holding level keys.
    """
    df = cohort.copy()
    codes = add_toxicity_flags(df)
    # "not done" is a value of its own: never counted as a response or as its absence, except
    # for a patient who died or was not followed up beyond the assessment, who is not in CR
    # (concepts.RESPONSE_RULE: intention to treat)
    not_evaluable = _flag(df, not_done_column("cr_day30")) & followed_beyond_assessment(df)
    cr = df["cr_day30"].astype(bool) & ~not_evaluable
    mrd = df["mrd_negative"].astype("boolean")
    df["response_evaluable"] = ~not_evaluable
    df["cr_response"] = pd.array(cr.to_numpy(), dtype="boolean")
    df.loc[not_evaluable, "cr_response"] = pd.NA
    df["mrd_assessed"] = cr & mrd.notna().to_numpy()
    df["mrd_not_assessed"] = cr & ~df["mrd_assessed"]
    mrd_negative_cr = pd.array((cr & mrd.fillna(False).astype(bool)).to_numpy(), dtype="boolean")
    df["mrd_negative_cr"] = mrd_negative_cr
    df.loc[not_evaluable | df["mrd_not_assessed"], "mrd_negative_cr"] = pd.NA
    df["bm_blasts_ge20"] = df["bm_blasts_pct"].ge(BLAST_THRESHOLD_PCT)

    died = df["death_date"].notna()
    os_end = df["death_date"].where(died, df["last_followup_date"])
    df["os_months"] = (os_end - df["infusion_date"]).dt.days / DAYS_PER_MONTH
    df["os_event"] = died

    relapse_or_death = df[["relapse_date", "death_date"]].min(axis=1)
    lfs_event = relapse_or_death.notna()
    lfs_end = relapse_or_death.where(lfs_event, df["last_followup_date"])
    df["lfs_months"] = ((lfs_end - df["cr_date"]).dt.days / DAYS_PER_MONTH).where(cr)
    df["lfs_event"] = lfs_event.where(cr)

    # EFS from infusion: no CR at the day-30 assessment is an event at day 0 (EFS_NO_CR_DAY),
    # otherwise relapse or death, whichever comes first, or censoring at last follow-up.
    efs_days = (lfs_end - df["infusion_date"]).dt.days.where(cr, EFS_NO_CR_DAY)
    df["efs_months"] = efs_days / DAYS_PER_MONTH
    df["efs_event"] = (lfs_event | ~cr).astype(bool)

    add_groupings(df, codes)
    return df


def followed_beyond_assessment(df: pd.DataFrame) -> pd.Series:
    """Whether each patient was alive and followed up beyond the day-30 response assessment
    (death or last follow-up more than ``RESPONSE_ASSESSMENT_DAY`` days after infusion); the
    others count as not in CR unless they were in CR (:data:`analysis.registry.concepts.RESPONSE_RULE`)."""
    end = df["death_date"].where(df["death_date"].notna(), df["last_followup_date"])
    return ((end - df["infusion_date"]).dt.days > RESPONSE_ASSESSMENT_DAY).fillna(False).astype(bool)


def add_toxicity_flags(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Add ``crs_any``, ``crs_severe``, ``icans_severe`` (grade ≥ 3 or a seizure),
    ``icans_any`` and ``concurrent`` to a cohort of any disease profile (in place); returns
    the toxicity groupings' level codes (:func:`toxicity_codes`)."""
    seizure = (
        df["seizure"].astype("boolean").fillna(False).astype(bool)
        if "seizure" in df
        else pd.Series(False, index=df.index)
    )
    codes = toxicity_codes(
        df["crs_grade"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        df["icans_grade"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        seizure,
    )
    df["crs_any"] = codes["crs"] == 1
    df["crs_severe"] = codes["crs_grade"] == 2
    df["icans_severe"] = codes["icans_grade"] == 2
    df["icans_any"] = codes["icans"] == 1
    df["concurrent"] = codes["concurrent"] == 0
    return codes


def add_groupings(df: pd.DataFrame, codes: dict[str, np.ndarray] | None = None) -> None:
    """Add one ``grp_<name>`` column per grouping of :data:`GROUPINGS` (in place; needs
    ``crs_grade``, ``icans_grade``, ``steroids`` and ``tocilizumab``; ``codes``: those
    :func:`add_toxicity_flags` returned, recomputed when not given)."""
    if codes is None:
        codes = add_toxicity_flags(df)
    for name in TOXICITY_GROUPINGS:
        df[GROUPINGS[name].column] = _from_codes(codes[name], GROUPINGS[name])
    yes_no = lambda flag: np.where(flag, "yes", "no")  # noqa: E731
    for name in ("steroids", "tocilizumab"):
        df[GROUPINGS[name].column] = _categorical(yes_no(df[name].astype(bool)), GROUPINGS[name])
