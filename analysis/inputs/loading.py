"""Load and validate a cohort and its CAR-T kinetics against the data contract.

The public entry points. The contract itself (columns, kinds, allowed values, rules) is
declared in :mod:`analysis.registry.contract` and written for users in ``data/README.md``; files
are read and cells parsed by :mod:`analysis.inputs.readers`; the rules are run by
:mod:`analysis.inputs.rules`. Every violation of both files is raised together as one
:class:`InputError`.

Public API: :func:`load_cohort`, :func:`load_kinetics`, :func:`load_study`,
:class:`Study`, :class:`Violation`, :class:`InputError`, :func:`parse_cutoff`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.inputs import redcap
from analysis.inputs.errors import InputError, Violation, clip
from analysis.inputs.readers import (
    NO_MAPPING,
    ColumnMapping,
    OtherSheet,
    Source,
    check_header,
    is_marker_line,
    normal_name,
    open_source,
    parse_chunk,
    parse_column,
)
from analysis.inputs.rules import days_to_last_followup, plausibility_warnings, schema_violations
from analysis.inputs.screening import Excluded, Exclusion, RowFilter, drop_excluded_samples
from analysis.registry.contract import (
    BOOLEAN,
    COHORT_FIELDS,
    COHORT_RULES,
    DEFAULT_CUTOFF,
    EARLIEST_DATE,
    INTEGER,
    ISO_DATE,
    KINETICS_FIELDS,
    NUMBER,
    RESPONSE_ASSESSMENT_DAY,
    SEX,
    STATUS,
    TEXT,
    Field,
    FractionColumn,
    identity_keys,
    is_invisible,
    kinetics_rules,
    not_done_column,
    percentages_as_fractions,
)
from analysis.registry.diseases import DEFAULT_DISEASE, Profile, disease_plausibility_rules
from analysis.registry.diseases import disease as disease_profile

__all__ = ["InputError", "Study", "Violation", "load_cohort", "load_kinetics", "load_study", "parse_cutoff"]


#: Latest cut-off the analysis can hold: dates are pandas timestamps (nanoseconds), which
#: end on 2262-04-11.
LATEST_CUTOFF = pd.Timestamp.max.date()


def check_cutoff(value: dt.date) -> dt.date:
    """``value`` when it can be a data cut-off (from :data:`EARLIEST_DATE`, before which no
    CAR-T date is plausible, to :data:`LATEST_CUTOFF`); otherwise a ValueError saying so."""
    if value < EARLIEST_DATE:
        raise ValueError(
            f"the cut-off {value.isoformat()} is before {EARLIEST_DATE.isoformat()}: every date of the "
            "cohort would be after it; write the date the data were frozen"
        )
    if value > LATEST_CUTOFF:
        raise ValueError(
            f"the cut-off {value.isoformat()} is after {LATEST_CUTOFF.isoformat()}, the last date the "
            "analysis can hold; write the date the data were frozen"
        )
    return value


def parse_cutoff(value: str | dt.date | None) -> dt.date:
    """The data cut-off as a date: ``YYYY-MM-DD`` text, a date or a datetime (checked by
    :func:`check_cutoff`)."""
    if value is None:
        value = DEFAULT_CUTOFF
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return check_cutoff(value.date())
    if isinstance(value, dt.date):
        return check_cutoff(value)
    if isinstance(value, str) and re.fullmatch(ISO_DATE, value.strip()):
        try:
            date = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return check_cutoff(date)
    raise ValueError(f"the cut-off must be a date YYYY-MM-DD, got {value!r}")


# --------------------------------------------------------------------------- one table


@dataclass
class _Loaded:
    frame: pd.DataFrame | None  # parsed frame (index: data row - 2), None when unreadable
    violations: list[Violation]
    comments: list[str]
    notes: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # columns that may be absent and were (Field.may_be_absent)
    not_collected: tuple[str, ...] = ()  # optional columns the file does not have (Field.optional_column)
    others: tuple[OtherSheet, ...] = ()  # the workbook's other sheets holding a table, not read
    excluded: tuple[Excluded, ...] = ()  # the study file's exclusions, counted (cohort)
    excluded_ids: frozenset[str] = frozenset()  # patients a rule left out (their kinetics go too)
    samples_excluded: int = 0  # kinetics rows of those patients, left out


def _load(
    path,
    fields: tuple[Field, ...],
    rules,
    *,
    what: str,
    cutoff: dt.date | None,
    mapping: ColumnMapping = NO_MAPPING,
    sheet: str | None = None,
    source: Source | None = None,
    not_collected: tuple[str, ...] = (),
    exclusions: tuple[Exclusion, ...] = (),
    excluded_ids: frozenset[str] = frozenset(),
) -> _Loaded:
    """Read and validate one table; file-level problems end the reading early.

    ``source``: the table already opened (a part of a REDCap flat export);
    ``not_collected``: optional columns the study file declares not collected (read as
    absent, whatever the file holds); ``exclusions``: the study file's reasons for exclusion
    (:mod:`analysis.inputs.screening`), whose rules leave rows out before they are validated,
    counted; ``excluded_ids``: patients so left out of the cohort, whose kinetics rows go too."""
    path = Path(path)
    row_filter = None
    samples_excluded = [0]
    try:
        if source is None:
            source = open_source(path, sheet=sheet, headers=mapping.headers(fields))
        positions, violations = check_header(source.header, fields, what)
        violations = _mapped_headers_missing(source.header, positions, violations, fields, mapping, not_collected)
        for name in not_collected:
            positions.pop(name, None)
        uncollected = tuple(f.name for f in fields if f.optional_column and f.name not in positions)
        rules = tuple(rule for rule in rules if not set(uncollected) & set(rule.columns))
        numbers = {
            positions[f.name]
            for f in fields
            if f.kind in (NUMBER, INTEGER) and f.name in positions and f.name not in mapping.values
        }  # mapped cells are read as text
        chunks = source.chunks(numbers)
        if exclusions:
            row_filter = RowFilter(tuple(exclusions), tuple(source.header), mapping.headers(fields))
            violations = list(violations) + row_filter.violations()
            chunks = row_filter(chunks)
        if excluded_ids:
            id_position = positions.get("patient_id")
            chunks = drop_excluded_samples(chunks, id_position, set(excluded_ids), samples_excluded)
        parsed = [parse_chunk(chunk, fields, positions, mapping) for chunk in chunks]
    except InputError as err:
        return _Loaded(None, _with_file(err.violations, path), [])
    violations = list(violations)

    frame = pd.concat([p[0] for p in parsed]) if parsed else pd.DataFrame()
    bad = pd.concat([p[1] for p in parsed]) if parsed else pd.DataFrame()
    violations += [v for p in parsed for v in p[2]]
    if row_filter is not None:
        violations += row_filter.shared_ids()
    if frame.empty:
        noun = "patients" if what == "cohort" else "samples"
        left_out = len(row_filter.excluded_rows) if row_filter is not None else 0
        why = (
            f"the screening rules (screening: excluded) left out all {left_out} rows"
            if left_out
            else "the file has a header but no data rows"
        )
        violations.append(Violation(None, None, None, f"no {noun}: {why}"))
        return _Loaded(None, _with_file(violations, path), source.comments, tuple(source.notes))

    absent = tuple(f.name for f in fields if f.may_be_absent and f.name not in frame)
    for field in fields:  # a missing column: all missing, already reported once (or allowed to be absent)
        if field.name not in frame:
            frame[field.name] = parse_column(pd.Series("", index=frame.index, dtype=object), field.kind)[0]
            bad[field.name] = not field.may_be_absent
        if field.not_done is not None:
            done = not_done_column(field.name)
            frame[done] = frame[done].fillna(False).astype(bool) if done in frame else False
    frame = frame[[f.name for f in fields] + [not_done_column(f.name) for f in fields if f.not_done is not None]]
    violations += schema_violations(frame, bad, fields, rules, cutoff)
    order = {f.name: i for i, f in enumerate(fields)}
    violations.sort(key=lambda v: (v.row is not None, v.row or 0, order.get(v.column, len(order))))
    return _Loaded(
        frame,
        _with_file(violations, path),
        source.comments,
        tuple(source.notes),
        absent,
        uncollected,
        source.others,
        excluded=() if row_filter is None else row_filter.excluded(),
        excluded_ids=frozenset() if row_filter is None else frozenset(row_filter.excluded_ids),
        samples_excluded=samples_excluded[0],
    )


def _mapped_headers_missing(header, positions, violations, fields, mapping: ColumnMapping, not_collected):
    """A header the study file maps (``columns:``, ``kinetics_columns:``) that the export
    lacks is an error naming the header, with the closest header of the export: the study
    file says the column is collected, so it is never taken as "not collected" (an optional
    column would vanish from the report: next month's export renamed "MRD negative" to
    "MRD neg (flow)"). It replaces the plain "missing column" of a required column."""
    expected = {f.name for f in fields}
    unread = [str(h) for h in header if str(h).strip() and h not in expected]
    out = list(violations)
    for export_header, name in mapping.headers(fields).items():
        if name in positions or name in not_collected:
            continue
        close = difflib.get_close_matches(export_header.lower(), [h.lower() for h in unread], n=1, cutoff=0.5)
        near = [h for h in unread if close and h.lower() == close[0]] or [
            h
            for h in unread
            if normal_name(h).startswith(name)  # "Age at infusion" for age
        ]
        if near:
            hint = f"did you mean '{clip(near[0], 60)}'?"
        elif unread:
            hint = "headers of the export not read: " + ", ".join(f"'{clip(h, 40)}'" for h in unread[:5])
        else:
            hint = "every header of the export is read"
        out = [v for v in out if not (v.row is None and v.column == name and v.rule == "missing column")]
        out.append(
            Violation(
                None,
                None,
                name,
                f"the study file maps {name} to the header '{clip(export_header, 60)}', which the export does "
                f"not have ({hint}); correct the study file's `columns:` (or, for a column the registry does "
                f"not collect, list {name} under `not_collected:`)",
                export_header,
            )
        )
    return out


def _with_file(violations: Iterable[Violation], path: Path) -> list[Violation]:
    return [Violation(v.row, v.patient_id, v.column, v.rule, v.value, str(path), v.related) for v in violations]


def _finish(frame: pd.DataFrame, fields: tuple[Field, ...]) -> pd.DataFrame:
    """The validated frame in its output dtypes (see data/README.md)."""
    out = frame.reset_index(drop=True)
    for field in fields:
        if field.kind == INTEGER and field.required:
            out[field.name] = out[field.name].astype("int64")
        elif field.kind == BOOLEAN and field.required:  # "not done" (its own column): False here
            out[field.name] = out[field.name].astype("boolean").fillna(False).astype(bool)
        elif field.kind in (TEXT, SEX, STATUS):
            out[field.name] = out[field.name].astype(object)
    if "seizure" in out:
        out["seizure"] = out["seizure"].fillna(False)
    return out


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, eq=False)
class Study:
    """A validated cohort (raw-normalized, not yet prepared) and its kinetics.

    ``notes`` are for the user, not errors: e.g. which sheet of a workbook holding
    several tables was read, or how a REDCap flat export was split. ``warnings`` are the
    contract's plausibility warnings (:func:`analysis.registry.contract.plausibility_rules`),
    ``not_collected`` the optional columns the registry does not collect (absent from the
    export or declared in the study file)."""

    cohort: pd.DataFrame
    kinetics: pd.DataFrame | None
    cutoff: dt.date
    cohort_path: Path
    kinetics_path: Path | None
    is_synthetic: bool
    notes: tuple[str, ...] = ()
    warnings: tuple[Violation, ...] = ()
    not_collected: tuple[str, ...] = ()
    #: optional columns the cohort file did not have (``hsct_date``): read as empty, and the
    #: report says they were not recorded rather than that nothing happened
    absent_columns: tuple[str, ...] = ()
    #: the disease profile whose contract the cohort was read with (analysis.registry.diseases)
    disease: str = DEFAULT_DISEASE
    #: the other sheets of the cohort's (and the kinetics') workbook that hold a table and
    #: were not read, with what they hold (:class:`~analysis.inputs.xlsx.OtherSheet`); the
    #: report counts those holding the same table
    other_sheets: tuple[OtherSheet, ...] = ()
    #: columns of percentages whose every value is at most 1 (fractions, probably)
    fraction_columns: tuple[FractionColumn, ...] = ()
    #: the study file's reasons for exclusion, counted (:mod:`analysis.inputs.screening`); None:
    #: the study file does not say (a placeholder in the report), (): it declares none
    excluded: tuple[Excluded, ...] | None = None
    #: kinetics samples of patients a rule excluded, left out with them
    samples_excluded: int = 0


def _empty_path(path) -> bool:
    """An empty file name (``Path("")`` would be the current folder)."""
    return isinstance(path, str) and not path.strip()


def _empty_name(what: str) -> _Loaded:
    return _Loaded(
        None, [Violation(None, None, None, f"no file name given for the {what} table (an empty path)", file=what)], []
    )


def _cohort(
    path,
    cutoff,
    sheet: str | None = None,
    mapping: ColumnMapping = NO_MAPPING,
    source: Source | None = None,
    not_collected: tuple[str, ...] = (),
    profile: Profile | None = None,
    exclusions: tuple[Exclusion, ...] = (),
) -> _Loaded:
    if _empty_path(path):
        return _empty_name("cohort")
    loaded = _load(
        path,
        COHORT_FIELDS if profile is None else profile.fields,
        COHORT_RULES if profile is None else profile.rules,
        what="cohort",
        cutoff=parse_cutoff(cutoff),
        sheet=sheet,
        mapping=mapping,
        source=source,
        not_collected=not_collected,
        exclusions=exclusions,
    )
    if loaded.frame is not None and not loaded.violations:
        loaded.violations += _with_file(_followup_violations(loaded.frame), Path(path))
    return loaded


def _followup_violations(frame: pd.DataFrame) -> list[Violation]:
    """A cohort in which no patient is followed beyond the day of infusion (everyone censored
    or dead on day 0) is refused as a whole: no survival or response analysis is possible."""
    days = (frame["last_followup_date"] - frame["infusion_date"]).dt.days
    if days.isna().any() or (days > 0).any():
        return []
    died = int(frame["death_date"].notna().sum())
    n = len(frame)
    whom = f"all {n} patients" if n > 1 else "the only patient"
    return [
        Violation(
            None,
            None,
            "last_followup_date",
            f"no patient is followed beyond the day of infusion ({whom}: {died} died on day 0, {n - died} censored "
            "on day 0): no survival or response analysis is possible; check last_followup_date and death_date",
        )
    ]


def _kinetics(
    path,
    cohort_ids: pd.Series | None,
    followup_days: pd.Series | None = None,
    mapping: ColumnMapping = NO_MAPPING,
    source: Source | None = None,
    excluded_ids: frozenset[str] = frozenset(),
) -> _Loaded:
    if _empty_path(path):
        return _empty_name("kinetics")
    return _load(
        path,
        KINETICS_FIELDS,
        kinetics_rules(cohort_ids, followup_days),
        what="kinetics",
        cutoff=None,
        mapping=mapping,
        source=source,
        excluded_ids=excluded_ids,
    )


def load_cohort(path, cutoff=DEFAULT_CUTOFF, sheet: str | None = None) -> pd.DataFrame:
    """Read and validate a cohort table; raise :class:`InputError` listing every violation.
    ``sheet`` names the sheet of a workbook to read (default: its active visible sheet)."""
    loaded = _cohort(path, cutoff, sheet)
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, COHORT_FIELDS)


def load_kinetics(path, cohort: pd.DataFrame) -> pd.DataFrame:
    """Read and validate a kinetics table against a validated cohort."""
    loaded = _kinetics(path, cohort["patient_id"], days_to_last_followup(cohort))
    if loaded.violations:
        raise InputError(loaded.violations)
    return _finish(loaded.frame, KINETICS_FIELDS)


def load_study(
    cohort_path,
    kinetics_path=None,
    cutoff=DEFAULT_CUTOFF,
    *,
    sheet: str | None = None,
    mapping: ColumnMapping = NO_MAPPING,
    layout: redcap.Layout | None = None,
    not_collected: tuple[str, ...] | list[str] = (),
    disease: str | None = None,
    exclusions: tuple[Exclusion, ...] | None = None,
) -> Study:
    """Load a cohort and optionally its kinetics; the violations of both files are raised together.

    ``sheet`` names the sheet of the cohort workbook to read (default: its active visible
    sheet); ``mapping`` (from a study file) maps the export's headers and values onto the
    contract. A REDCap flat export (repeating instruments, events) is split into its
    cohort rows and, when ``layout`` names the kinetics instrument or events and no
    ``kinetics_path`` is given, its kinetics rows (:mod:`analysis.inputs.redcap`).
    ``not_collected``: optional columns the registry does not collect. ``disease``: the
    disease profile whose contract the cohort follows (default B-ALL). ``exclusions``: the
    study file's reasons for exclusion (:mod:`analysis.inputs.screening`): the rows a rule
    matches are left out before validation and counted (``Study.excluded``), with the kinetics
    samples of those patients; None: the study file does not declare its exclusions.
    """
    profile = disease_profile(disease)
    fields = profile.fields
    cutoff = parse_cutoff(cutoff)
    not_collected = tuple(not_collected)
    parts = _redcap_parts(cohort_path, sheet, mapping, layout, use_kinetics=kinetics_path is None, fields=fields)
    cohort_source = kinetics_source = None
    split_violations: list[Violation] = []
    notes: tuple[str, ...] = ()
    if isinstance(parts, _Loaded):  # the file could not be read: its problems, as any file's
        raise InputError(parts.violations)
    if parts is not None:
        cohort_source, kinetics_source, split_violations, notes = parts
        if kinetics_source is not None:
            kinetics_path = cohort_path
    cohort = _cohort(
        cohort_path, cutoff, sheet, mapping, cohort_source, not_collected, profile, tuple(exclusions or ())
    )
    violations = _with_file(split_violations, Path(cohort_path)) + list(cohort.violations)
    kinetics = None
    if kinetics_path is not None:
        ids = None if cohort.frame is None else cohort.frame["patient_id"]
        if ids is not None and ids.isna().all():  # no usable patient_id column: nothing to check against
            ids = None
        kinetics = _kinetics(
            kinetics_path,
            ids,
            None if ids is None else days_to_last_followup(cohort.frame),
            mapping,
            kinetics_source,
            cohort.excluded_ids,
        )
        violations += kinetics.violations
    unread = tuple(dict.fromkeys(not_collected + cohort.not_collected))
    warnings: tuple[Violation, ...] = ()
    if cohort.frame is not None:
        plausible = None if profile.key == DEFAULT_DISEASE else disease_plausibility_rules(cutoff)
        warnings = tuple(
            _with_file(plausibility_warnings(cohort.frame, cutoff, set(unread), plausible), Path(cohort_path))
        )
    if violations:
        raise InputError(violations, warnings=warnings)
    cohort_frame, pooled = _pool_center_spellings(_finish(cohort.frame, fields))
    fractions = percentages_as_fractions(cohort_frame, fields)
    return Study(
        cohort=cohort_frame,
        kinetics=None if kinetics is None else _finish(kinetics.frame, KINETICS_FIELDS),
        cutoff=cutoff,
        cohort_path=Path(cohort_path),
        kinetics_path=None if kinetics_path is None else Path(kinetics_path),
        is_synthetic=bool(cohort.comments) and is_marker_line(cohort.comments[0]),
        notes=notes
        + cohort.notes
        + (
            _short_cr_notes(cohort.frame, Path(cohort_path))
            if profile.key == DEFAULT_DISEASE
            else _short_response_notes(cohort.frame, Path(cohort_path), profile)
        )
        + (() if kinetics is None else kinetics.notes)
        + pooled
        + tuple(_fraction_note(f, Path(cohort_path)) for f in fractions),
        warnings=warnings,
        not_collected=unread,
        absent_columns=cohort.absent,
        disease=profile.key,
        other_sheets=cohort.others + (() if kinetics is None or kinetics_source is not None else kinetics.others),
        fraction_columns=fractions,
        excluded=None if exclusions is None else cohort.excluded,
        samples_excluded=0 if kinetics is None else kinetics.samples_excluded,
    )


def _fraction_note(f: FractionColumn, path: Path) -> str:
    return (
        f"{path.name}: {f.column}: every value is at most 1 ({f.n} patients, median {f.median:g}, at most "
        f"{f.largest:g}): percentages written as fractions? The column holds percentages (45% is 45, not 0.45); "
        "the values are analyzed as they are"
    )


def _shown_spelling(text: str) -> str:
    """A spelling as a note shows it: quoted, with what makes it differ visible (invisible
    characters and accents written as separate characters as \\u escapes)."""
    if text.isprintable() and unicodedata.is_normalized("NFC", text) and not any(map(is_invisible, text)):
        return f"'{text}'"
    return "'" + "".join(c if c.isascii() and c.isprintable() else _escaped(c) for c in text) + "'"


def _escaped(char: str) -> str:
    """A character as a Python escape: \\x7f, \\u200b, \\U000e0100."""
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _pool_center_spellings(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Centers written in several ways (NFC/NFD accents, a zero-width space, case, width:
    :func:`~analysis.registry.contract.identity_key`) counted as one center, under the
    spelling most rows use (the first in the file on a tie), with a note listing the
    spellings merged (the note names centers: it is for the user, never printed in a
    report)."""
    if "center" not in frame:
        return frame, ()
    centers = frame["center"]
    notes = []
    for _, group in centers.groupby(identity_keys(centers), sort=False):
        counts = group.value_counts(sort=False)
        if len(counts) < 2:
            continue
        chosen = max(counts.index, key=lambda spelling: counts[spelling])
        frame.loc[group.index, "center"] = chosen
        rows = ", ".join(f"{_shown_spelling(s)} ({n} {'row' if n == 1 else 'rows'})" for s, n in counts.items())
        notes.append(
            f"center: {rows} counted as one center, {_shown_spelling(chosen)} (they differ only in case, width, "
            "accents, dashes or invisible characters); write them alike in the file to silence this note"
        )
    return frame, tuple(notes)


def _short_response_notes(frame: pd.DataFrame, path: Path, profile) -> tuple[str, ...]:
    """The disease profiles' counterpart of :func:`_short_cr_notes` (attack 29/04: a day-90 CR of
    an LBCL patient dead on day 60 was counted without a word): per assessment due on a day, a
    note counting the patients recorded as responding then (CR or PR) whose follow-up ends
    before that day. Progression carried to a later assessment (PD at day 90 after progressing
    on day 44) is no response and not counted."""
    responding = {level for r in profile.responders for level in r.levels}
    days = (frame["last_followup_date"] - frame["infusion_date"]).dt.days
    notes = []
    for assessment in profile.assessments:
        if assessment.day is None or assessment.column not in frame:
            continue
        short = frame[assessment.column].isin(responding) & (days < assessment.day).fillna(False)
        n = int(short.sum())
        if not n:
            continue
        who = "patient" if n == 1 else "patients"
        low, high = int(days[short].min()), int(days[short].max())
        notes.append(
            f"{path.name}: {n} {who} responding (CR or PR) at day {assessment.day} ({assessment.column}) followed "
            f"for fewer than {assessment.day} days (last follow-up on day {low}"
            + (f"–{high}" if high > low else "")
            + f"): the day-{assessment.day} response rates count them as assessed at day {assessment.day}; check "
            "the assessment or the follow-up (a death before the assessment ends the follow-up)"
        )
    return tuple(notes)


def _short_cr_notes(frame: pd.DataFrame, path: Path) -> tuple[str, ...]:
    """A note counting the patients in CR at day 30 whose follow-up ends before day 30."""
    days = (frame["last_followup_date"] - frame["infusion_date"]).dt.days
    short = frame["cr_day30"].fillna(False).astype(bool) & (days < RESPONSE_ASSESSMENT_DAY).fillna(False)
    n = int(short.sum())
    if not n:
        return ()
    who = "patient" if n == 1 else "patients"
    return (
        f"{path.name}: {n} {who} in CR at day {RESPONSE_ASSESSMENT_DAY} (cr_day30) followed for fewer than "
        f"{RESPONSE_ASSESSMENT_DAY} days (last follow-up on day {int(days[short].min())}"
        + (f"–{int(days[short].max())}" if days[short].max() > days[short].min() else "")
        + f"): the flow diagram counts them as evaluable in CR, and a landmark analysis at day "
        f"{RESPONSE_ASSESSMENT_DAY} or later leaves them out (their follow-up ends before it)",
    )


def _redcap_parts(
    path,
    sheet,
    mapping: ColumnMapping,
    layout: redcap.Layout | None,
    use_kinetics: bool,
    fields: tuple[Field, ...] = COHORT_FIELDS,
):
    """The cohort and kinetics parts of a REDCap flat export, as sources, with the
    violations of the split and notes saying what was found; None for any other table
    (read as it is); a :class:`_Loaded` holding the file's problems when it cannot be read."""
    if _empty_path(path):
        return None
    path = Path(path)
    try:
        source = open_source(path, sheet=sheet)
    except InputError:
        return None  # reported when the cohort is read
    shape = redcap.shape_of(source.header)
    if shape is None:
        return None
    layout = layout if layout is not None and use_kinetics else redcap.NO_LAYOUT
    try:
        frame = pd.concat(list(source.chunks(set())))
    except InputError as err:
        return _Loaded(None, _with_file(err.violations, path), [])
    cohort_headers = mapping.headers(fields)
    cohort_header = tuple(cohort_headers.get(str(h).strip(), h) for h in source.header)
    record = cohort_header.index("patient_id") if "patient_id" in cohort_header else 0
    read = [i for i, name in enumerate(cohort_header) if name in {f.name for f in fields}]
    kinetics_headers = mapping.headers(KINETICS_FIELDS)
    kinetics_header = tuple(kinetics_headers.get(str(h).strip(), h) for h in source.header)
    samples = [i for i, name in enumerate(kinetics_header) if name == "car_copies_per_ug"]
    kinetics_read = [i for i, name in enumerate(kinetics_header) if name in {f.name for f in KINETICS_FIELDS}]
    split = redcap.split(
        frame,
        cohort_header,
        shape,
        layout,
        record=record,
        merged=read,
        sample_values=samples,
        kinetics_columns=[i for i in kinetics_read if i != record],
    )
    instruments, events = redcap.describe_rows(frame, shape)
    what = [f"{path.name} is a REDCap flat export: {split.records} records"]
    if layout.kinetics_instrument is not None:
        what.append(f"{split.kinetics_rows} rows of repeating instrument {layout.kinetics_instrument} -> kinetics")
    elif layout.kinetics_events:
        what.append(f"{split.kinetics_rows} rows of {len(layout.kinetics_events)} sampling events -> kinetics")
    if events:
        what.append(f"{len(events)} events merged per record")
    notes = ["; ".join(what)] + split.notes
    if instruments and not layout.has_kinetics and use_kinetics:
        notes.append(
            "no kinetics table: the study file names no kinetics instrument "
            f"(`redcap: kinetics_instrument: NAME`; repeating instruments here: {', '.join(instruments)})"
        )
    cohort_source = Source(
        cohort_header, lambda numbers: iter([split.cohort]), source.comments, source.others, list(source.notes)
    )
    kinetics_source = None
    if split.kinetics is not None:
        header = kinetics_header
        if split.day_column is not None:  # the day after infusion, from the event
            header = header + ("",) * (split.day_column - len(header)) + ("day",)
        kinetics_source = Source(header, lambda numbers: iter([split.kinetics]), [])
    return cohort_source, kinetics_source, split.violations, tuple(notes)
