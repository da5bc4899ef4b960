"""REDCap flat exports: one file holding the cohort and, in other rows, the CAR-T kinetics.

REDCap's "Export data" writes one flat table (CSV, or the Excel a user saves from it),
raw (variable names, choice codes) or with labels (field labels, choice labels):

* a project with **repeating instruments** writes one row per record for the
  non-repeating forms (``redcap_repeat_instrument`` empty) and one row per instance of
  each repeating instrument (``redcap_repeat_instrument`` = its name,
  ``redcap_repeat_instance`` = 1, 2, ...), the other fields of those rows empty;
* a **longitudinal** project writes one row per record and event
  (``redcap_event_name``): the patient's fields are spread over the events
  (baseline, day 30, follow-up), and a sampling visit is an event of its own;
* ``redcap_data_access_group`` names the record's data access group (the center).

This module recognizes those columns (raw names or the labels REDCap writes:
"Repeat Instrument", "Event Name", ...), and splits such an export into the cohort
(non-repeating rows; a record's rows of every non-kinetics event merged into one) and
the kinetics table (the rows of the kinetics instrument, or of the sampling events,
whose day after infusion may come from the event). How to split is the study file's
``redcap:`` section (:class:`Layout`), proposed by ``python -m analysis map``.
Row numbers stay those of the file: a violation names the row a spreadsheet shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.inputs.errors import Violation
from analysis.inputs.readers import normal_name

#: REDCap's own columns, by role: raw variable names and the headers of a label export.
SYSTEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "instrument": ("redcap_repeat_instrument", "repeat_instrument"),
    "instance": ("redcap_repeat_instance", "repeat_instance"),
    "event": ("redcap_event_name", "event_name"),
    "arm": ("redcap_arm", "arm"),
    "group": ("redcap_data_access_group", "data_access_group"),
    "survey": ("redcap_survey_identifier", "survey_identifier"),
}


@dataclass(frozen=True)
class Layout:
    """How a flat export splits into the two tables (the study file's ``redcap:``).

    ``kinetics_instrument``: the repeating instrument whose rows are the kinetics table
    (as the export writes it: ``cart_kinetics``, or its label in a label export).
    ``kinetics_events``: event -> day after infusion of the sampling events (None: the
    day is read from the kinetics table's ``day`` column)."""

    kinetics_instrument: str | None = None
    kinetics_events: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def has_kinetics(self) -> bool:
        return self.kinetics_instrument is not None or bool(self.kinetics_events)


NO_LAYOUT = Layout()


@dataclass(frozen=True)
class Shape:
    """Positions of REDCap's own columns in a header (None: absent)."""

    instrument: int | None = None
    instance: int | None = None
    event: int | None = None
    group: int | None = None
    system: tuple[int, ...] = ()  # every REDCap column, including *_complete form status

    @property
    def is_flat_export(self) -> bool:
        """Rows are not all patients: repeating instruments or events."""
        return self.instrument is not None or self.event is not None


def _role(name: str) -> str | None:
    normal = normal_name(name)
    return next((role for role, names in SYSTEM_COLUMNS.items() if normal in names), None)


def is_form_status(name: str) -> bool:
    """A form's completion status column (``cart_followup_complete``, "Complete?")."""
    normal = re.sub(r"_\d+$", "", normal_name(name))  # "Complete?.1": a repeated header, numbered by the reader
    return normal.endswith("_complete") or normal == "complete"


def shape_of(header: Sequence[str]) -> Shape | None:
    """The REDCap columns of a header, or None when it has neither repeating instruments
    nor events (a plain table, read as it is)."""
    roles: dict[str, int] = {}
    system = []
    for position, name in enumerate(header):
        role = _role(str(name))
        if role is not None and role not in roles:
            roles[role] = position
            system.append(position)
        elif is_form_status(str(name)):
            system.append(position)
    shape = Shape(roles.get("instrument"), roles.get("instance"), roles.get("event"), roles.get("group"), tuple(system))
    return shape if shape.is_flat_export else None


def same_name(a: str, b: str) -> bool:
    """An instrument or event named as the export writes it, in any case or spacing."""
    return a.strip() == b.strip() or normal_name(a) == normal_name(b)


_DAY = re.compile(r"(?:^|_)(?:day|d|dag|jour|tag)_?(\d{1,4})(?:_|$)")
_WEEK = re.compile(r"(?:^|_)(?:week|wk|w)_?(\d{1,3})(?:_|$)")


def event_day(event: str) -> int | None:
    """The day after infusion an event's name says ("day_14_arm_1", "Day 14 (Arm 1: Arm 1)",
    "D+7"); None when it says none. Weeks are not read (week 1 may be day 7 or day 8)."""
    normal = normal_name(re.sub(r"\(arm[^)]*\)", " ", event, flags=re.IGNORECASE))
    normal = re.sub(r"_arm_\d+$", "", normal)
    match = _DAY.search(normal)
    return int(match[1]) if match else None


def _text(column: pd.Series) -> pd.Series:
    return column.fillna("").astype(str).str.strip()


@dataclass
class Split:
    """An export split into the cohort rows and the kinetics rows (columns by position,
    index: data row - 2, as the file's rows)."""

    cohort: pd.DataFrame
    kinetics: pd.DataFrame | None
    violations: list[Violation]
    notes: list[str]
    records: int
    kinetics_rows: int
    #: position of the column ``day`` added to the kinetics rows from the events (None: none added)
    day_column: int | None = None


def describe_rows(frame: pd.DataFrame, shape: Shape) -> tuple[dict[str, int], dict[str, int]]:
    """(repeating instrument -> rows, event -> rows) of an export (frame: columns by position)."""
    instruments: dict[str, int] = {}
    events: dict[str, int] = {}
    if shape.instrument is not None:
        names = _text(frame[shape.instrument])
        instruments = {k: int(v) for k, v in names[names.ne("")].value_counts(sort=False).items()}
    if shape.event is not None:
        names = _text(frame[shape.event])
        events = {k: int(v) for k, v in names[names.ne("")].value_counts(sort=False).items()}
    return instruments, events


def split(
    frame: pd.DataFrame,
    header: Sequence[str],
    shape: Shape,
    layout: Layout = NO_LAYOUT,
    record: int = 0,
    merged: Sequence[int] | None = None,
    sample_values: Sequence[int] = (),
    kinetics_columns: Sequence[int] = (),
) -> Split:
    """Split a flat export (text cells, columns by position) into cohort and kinetics rows.

    Cohort: the rows of no repeating instrument; a record's rows of several events are
    merged into one (its first row's number), and a column holding two different values
    for one record is a violation (checked for the ``merged`` positions, the columns the
    cohort reads). Kinetics: the rows of ``layout.kinetics_instrument``, and the rows of
    ``layout.kinetics_events`` holding a value in a ``sample_values`` column (a visit
    without a sample is no sample), with a last column ``day`` from the event when the
    layout gives the event's day. Other repeating instruments are left out and named in
    a note, except the cohort columns filled on their rows (:func:`_read_repeating`; on the
    kinetics instrument's rows too, its ``sample_values`` and ``kinetics_columns`` left out); a
    kinetics value on a row that is not a kinetics row is a violation (:func:`_stray_samples`):
    nothing is dropped silently."""
    notes: list[str] = []
    instrument = _text(frame[shape.instrument]) if shape.instrument is not None else pd.Series("", index=frame.index)
    event = _text(frame[shape.event]) if shape.event is not None else pd.Series("", index=frame.index)
    repeating = instrument.ne("")
    is_kinetics = pd.Series(False, index=frame.index)
    if layout.kinetics_instrument is not None:
        is_kinetics |= instrument.map(lambda name: bool(name) and same_name(name, layout.kinetics_instrument))
    sampling = dict(layout.kinetics_events)
    if sampling:
        at_visit = event.map(lambda name: bool(name) and any(same_name(name, e) for e in sampling))
        sampled = pd.Series(not sample_values, index=frame.index)
        for position in sample_values:
            sampled |= _text(frame[position]).ne("")
        is_kinetics |= at_visit & ~repeating & sampled
    ignored = repeating & ~is_kinetics
    cohort_rows = frame[~repeating]
    violations: list[Violation] = []
    if shape.event is not None:
        cohort_rows, violations = _merge_events(cohort_rows, header, shape, record, merged)
    read_from: dict[str, list[str]] = {}
    # the kinetics instrument's rows carry the cohort's columns too (a death date typed on a
    # sampling form): read like any repeating instrument's, its own (kinetics) columns left out
    kinetics_repeating = repeating & is_kinetics
    to_read = ignored | kinetics_repeating
    if to_read.any():
        checked = (set(range(len(header))) if merged is None else set(merged)) - set(shape.system) - {record}
        rows = frame[to_read]
        own = sorted((set(sample_values) | set(kinetics_columns)) & set(rows.columns))
        if kinetics_repeating.any() and own:
            rows = rows.copy()
            rows.loc[kinetics_repeating[to_read].to_numpy(), own] = ""
        cohort_rows, found, read_from = _read_repeating(
            cohort_rows, rows, header, shape, record, sorted(checked), instrument
        )
        violations += found
        counts = instrument[to_read].value_counts(sort=False)
        unread = [
            (name, n) for name, n in instrument[ignored].value_counts(sort=False).items() if name not in read_from
        ]
        if unread:
            listed = ", ".join(f"{n} rows of repeating instrument {name}" for name, n in unread)
            notes.append(f"not read (not part of the contract): {listed}")
        for name, read in read_from.items():
            notes.append(
                f"{counts[name]} rows of repeating instrument {name}: {'; '.join(read)} read from them "
                "(one value per patient); their other columns are not part of the contract"
            )
    violations += _records_without_a_row(frame, cohort_rows, record, ignored, instrument, violations)
    if layout.has_kinetics and sample_values:
        violations += _stray_samples(frame, header, record, layout, is_kinetics, instrument, event, sample_values)
    kinetics = None
    day_column = None
    if layout.has_kinetics:
        kinetics = frame[is_kinetics].copy()
        days = {name: day for name, day in sampling.items() if day is not None}
        if days:
            day_column = int(max(frame.columns)) + 1 if len(frame.columns) else 0
            kinetics[day_column] = event[is_kinetics].map(
                lambda name: next((str(d) for e, d in days.items() if same_name(name, e)), "")
            )
    ids = _text(cohort_rows[record])
    records = int(ids[ids.ne("")].nunique())
    return Split(
        cohort_rows, kinetics, violations, notes, records, 0 if kinetics is None else len(kinetics), day_column
    )


def _records_without_a_row(
    frame: pd.DataFrame,
    cohort_rows: pd.DataFrame,
    record: int,
    ignored: pd.Series,
    instrument: pd.Series,
    found: list[Violation],
) -> list[Violation]:
    """Records that have rows of a repeating instrument (not the kinetics) but no row of their
    own: patients without cohort data, who would vanish from the count ("30 records" for an
    export of 31). One violation per record, at its first row, with the count of the export's
    records; a record whose values on those rows are already a violation is not repeated."""
    ids = _text(frame[record])
    own = set(_text(cohort_rows[record])) - {""}
    orphan = ignored & ids.ne("") & ~ids.isin(own)
    if not orphan.any():
        return []
    reported = {v.patient_id for v in found}
    total = len(own | set(ids[orphan]))
    records = ids[orphan].drop_duplicates()
    n = len(records)
    count = f"{n} of the export's {total} records {'has' if n == 1 else 'have'} no row of their own"
    out = []
    for at, rec in records.items():
        if rec in reported:
            continue
        rows = ids[orphan].eq(rec)
        places = instrument[orphan][rows].value_counts(sort=False)
        listed = ", ".join(f"'{name}' ({k} row{'s' if k != 1 else ''})" for name, k in places.items())
        out.append(
            Violation(
                int(at) + 2,
                rec,
                None,
                f"a record with rows of repeating instrument {listed} only and no row of its own: a patient "
                f"without cohort data, who would be left out ({count}); export the record's own row, or delete "
                "its rows",
            )
        )
    return out


def _read_repeating(
    cohort_rows: pd.DataFrame,
    rows: pd.DataFrame,
    header: Sequence[str],
    shape: Shape,
    record: int,
    positions: Sequence[int],
    instrument: pd.Series,
) -> tuple[pd.DataFrame, list[Violation], dict[str, list[str]]]:
    """Values of cohort columns on the rows of a repeating instrument that is not the kinetics
    (vital status recorded per follow-up visit: ``death_date`` on one ``followup`` instance).
    A cohort column holds one value per patient: a record's one value is taken into its row;
    two different values (or one that differs from the record's own row) are a violation; a
    value of a record without a row of its own, too. Nothing is left behind silently.
    Returns the cohort rows, the violations, and instrument -> ["death_date (55 patients)"]."""
    violations: list[Violation] = []
    read_from: dict[str, list[str]] = {}
    ids = _text(rows[record])
    cohort_ids = _text(cohort_rows[record])
    target_of = pd.Series(cohort_rows.index, index=cohort_ids.to_numpy())
    target_of = target_of[~target_of.index.duplicated() & (target_of.index != "")]
    instance = _text(rows[shape.instance]) if shape.instance is not None else pd.Series("", index=rows.index)
    copied = False

    def where(row) -> str:
        number = f" instance {instance[row]}" if instance[row] else ""
        return f"repeating instrument '{instrument[row]}'{number}"

    for position in positions:
        cells = _text(rows[position])
        filled = cells.ne("")
        if not filled.any():
            continue
        name = str(header[position])
        taken: dict[str, int] = {}
        for rec, values in cells[filled].groupby(ids[filled], sort=False):
            first_row = values.index[0]
            if rec not in target_of.index:
                violations.append(
                    Violation(
                        int(first_row) + 2,
                        rec or None,
                        name,
                        f"a value on a row of {where(first_row)} of a record without a row of its own "
                        "(no patient to give it to)",
                        values.iloc[0],
                    )
                )
                continue
            target = target_of[rec]
            base = str(cohort_rows.at[target, position]).strip() if pd.notna(cohort_rows.at[target, position]) else ""
            first = base or values.iloc[0]
            differing = values[values.ne(first)]
            if not differing.empty:
                at = differing.index[0]
                origin = "the record's own row" if base else where(first_row)
                violations.append(
                    Violation(
                        int(at) + 2,
                        rec,
                        name,
                        f"two values for one patient, on {origin} and on {where(at)} "
                        "(a column of the cohort holds one value per patient)",
                        differing.iloc[0],
                        related=f"{name} = {first} on {origin}",
                    )
                )
                continue
            if not base:
                if not copied:
                    cohort_rows, copied = cohort_rows.copy(), True
                cohort_rows.at[target, position] = first
                for origin_instrument in instrument[values.index].unique():
                    taken[origin_instrument] = taken.get(origin_instrument, 0) + 1
        for origin_instrument, n in taken.items():
            read_from.setdefault(origin_instrument, []).append(f"{name} ({n} patient{'s' if n != 1 else ''})")
    return cohort_rows, violations, read_from


def _stray_samples(
    frame: pd.DataFrame,
    header: Sequence[str],
    record: int,
    layout: Layout,
    is_kinetics: pd.Series,
    instrument: pd.Series,
    event: pd.Series,
    sample_values: Sequence[int],
) -> list[Violation]:
    """Kinetics values on rows that are not kinetics rows (an event the study file's
    ``kinetics_events`` does not list, another repeating instrument): a violation per event or
    instrument with their count, instead of samples merged into the patient's row and lost."""
    violations = []
    for position in sample_values:
        stray = _text(frame[position]).ne("") & ~is_kinetics
        if not stray.any():
            continue
        name = str(header[position])
        repeating = instrument[stray]
        places = pd.Series(
            [("instrument", r) if r else ("event", e) for r, e in zip(repeating, event[stray])], index=repeating.index
        )
        for (kind, place), rows in places.groupby(places, sort=False):
            n = len(rows)
            values = f"{n} value{'s' if n != 1 else ''}"
            if kind == "event" and place:
                day = event_day(place)
                listed = ", ".join(str(e) for e in layout.kinetics_events) or "none"
                how = f"add it with its day ({place}: {day})" if day is not None else "add it with its day"
                rule = (
                    f"{values} in event '{place}', which is not a sampling event of the study file's "
                    f"redcap: kinetics_events ({listed}): {how} so that they are read, or remove them"
                )
            elif kind == "event":
                rule = (
                    f"{values} on rows of no repeating instrument, while the kinetics are read from repeating "
                    f"instrument {layout.kinetics_instrument}: they would not be read"
                )
            else:
                kinetics = layout.kinetics_instrument or "none"
                rule = (
                    f"{values} on rows of repeating instrument '{place}', which is not the kinetics instrument "
                    f"of the study file (redcap: kinetics_instrument: {kinetics}): they would not be read"
                )
            first = rows.index[0]
            patient = _text(frame[record])[first] or None
            violations.append(Violation(int(first) + 2, patient, name, rule, _text(frame[position])[first]))
    return violations


def _merge_events(
    rows: pd.DataFrame, header: Sequence[str], shape: Shape, record: int, merged: Sequence[int] | None
) -> tuple[pd.DataFrame, list[Violation]]:
    """One row per record: the first non-empty value of each column over its events."""
    key = _text(rows[record])
    blank = key.eq("")  # a row without a record id is a patient of its own (the validator reports it)
    key = key.where(~blank, "\x00row" + pd.Series(rows.index.astype(str), index=rows.index))
    if not key.duplicated().any():
        return rows, []
    event = _text(rows[shape.event])
    first_row = pd.Series(rows.index, index=rows.index).groupby(key, sort=False).transform("min")
    out = {}
    violations: list[Violation] = []
    checked = set(range(len(header))) if merged is None else set(merged)
    checked -= set(shape.system) | {record}
    for position in rows.columns:
        cells = _text(rows[position])
        cells = cells.mask(cells.eq(""))
        grouped = cells.groupby(key, sort=False)
        out[position] = grouped.first()
        if position in checked:
            distinct = grouped.nunique()
            for rec in distinct.index[distinct.gt(1)]:
                values = cells[key.eq(rec) & cells.notna()]
                where = event[values.index]
                first, second = values.iloc[0], next(v for v in values.iloc[1:] if v != values.iloc[0])
                at = values.index[values.ne(first)][0]
                violations.append(
                    Violation(
                        int(at) + 2,
                        rec,
                        str(header[position]),
                        f"two values for one patient, in events '{where.iloc[0]}' and '{where[at]}' "
                        "(a column of the cohort holds one value per patient)",
                        second,
                        related=f"{header[position]} = {first} in event '{where.iloc[0]}'",
                    )
                )
    merged_frame = pd.DataFrame(out).fillna("")
    merged_frame.index = first_row.groupby(key, sort=False).first().loc[merged_frame.index].to_numpy()
    merged_frame.index.name = None
    merged_frame = merged_frame[list(rows.columns)].sort_index()
    if shape.event is not None:  # the merged row belongs to no single event
        merged_frame[shape.event] = ""
    return merged_frame, violations
