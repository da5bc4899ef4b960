"""Patients screened and excluded before the analysis (STROBE 13a/13b): the study file's
``screening: excluded:`` list, each reason either a count the team gives (patients the export
does not contain) or a rule over a column of the export (rows it does contain, left out before
validation: a patient whose product was never infused has no infusion date to validate).

No row is dropped silently: every row a rule leaves out is counted under its reason (the first
rule a row matches), the counts reach the cohort flow, the Results sentence and the
supplement's data-quality notes, and the kinetics samples of those patients are counted too.

Public API: :class:`Exclusion` (one declared reason), :class:`Excluded` (one reason, counted),
:class:`RowFilter` (applies the rules to the raw chunks of an export).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from analysis.inputs.errors import Violation
from analysis.registry.contract import duplicate_key


@dataclass(frozen=True)
class Exclusion:
    """One reason for exclusion as the study file declares it: ``count`` patients the export
    does not contain, or the rows whose export ``column`` holds one of ``values`` (compared as
    text, ignoring case and surrounding spaces). ``where`` names its study-file entry for
    messages ('screening: excluded[2]')."""

    reason: str
    count: int | None = None
    column: str | None = None
    values: tuple[str, ...] = ()
    where: str = "screening: excluded"

    @property
    def is_rule(self) -> bool:
        return self.column is not None


@dataclass(frozen=True)
class Excluded:
    """One reason for exclusion with its number of patients; ``in_export``: rows of the export
    left out by a rule (else a count the study file gives for patients not in the export)."""

    reason: str
    n: int
    in_export: bool


def rows_left_out(excluded) -> list[Excluded]:
    """The reasons whose rule left rows of the export out (counts given for patients not in
    the export are not rows left out), in the study file's order; ``excluded`` may be None."""
    return [e for e in excluded or () if e.in_export and e.n]


_WHOLE_DECIMAL = re.compile(r"^([+-]?[0-9]+)\.0+$")


def _key(value) -> str:
    """A cell or a rule's value as the rule compares them: text, trimmed, case-folded; a whole
    number written with decimals is the whole number (1.0, "1.0" and an Excel 1 are '1': a rule
    ``values: [1.0]`` matched no Excel cell holding 1, attack 28b)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().casefold()
    whole = _WHOLE_DECIMAL.match(text)
    return whole.group(1).lstrip("+") if whole else text


@dataclass
class RowFilter:
    """Leaves out, chunk by chunk, the rows of a cohort export that a rule excludes, counting
    them per reason and keeping the patient identifiers (their kinetics samples are left out
    too). Built from the export's header (contract names where the study file maps a header)
    and ``headers`` (export header -> contract name) to find a rule's column under either name."""

    rules: tuple[Exclusion, ...]
    header: tuple[str, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    excluded_ids: set[str] = field(default_factory=set)
    #: the identifiers of the rows kept: one also excluded is a patient with two rows, one left
    #: out by a rule and one analysed (:meth:`shared_ids`)
    kept_ids: set[str] = field(default_factory=set)
    #: the rows a rule left out: (row of the file, identifier as written or None, reason index)
    excluded_rows: list[tuple[int, str | None, int]] = field(default_factory=list)
    #: identifier (as the duplicate-patient rule compares them) -> first analysed row
    kept_rows: dict[str, int] = field(default_factory=dict)

    def _position(self, column: str) -> int | None:
        names = [str(h).strip() for h in self.header]
        for name in (column.strip(), self.headers.get(column.strip())):
            if name is not None and name in names:
                return names.index(name)
        return None

    def violations(self) -> list[Violation]:
        """A rule whose column the export does not have: an error naming the study-file entry."""
        return [
            Violation(
                None,
                None,
                rule.column,
                f"{rule.where}: column: the export has no column {rule.column!r} "
                f"(the rule excluding patients who {rule.reason!r} cannot be applied)",
            )
            for rule in self.rules
            if rule.is_rule and self._position(str(rule.column)) is None
        ]

    def __call__(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        rules = [(i, self._position(str(r.column)), {_key(v) for v in r.values}) for i, r in enumerate(self.rules)]
        rules = [(i, pos, values) for i, pos, values in rules if self.rules[i].is_rule and pos is not None]
        id_position = self._position("patient_id")
        for chunk in chunks:
            left_out = pd.Series(False, index=chunk.index)
            for i, position, values in rules:
                hit = chunk[position].map(lambda v, values=values: not pd.isna(v) and _key(v) in values) & ~left_out
                if hit.any():
                    for at in chunk.index[hit]:
                        pid = None if id_position is None else chunk.at[at, id_position]
                        pid = None if pid is None or pd.isna(pid) or not str(pid).strip() else str(pid).strip()
                        self.excluded_rows.append((int(at) + 2, pid, i))
                    left_out |= hit
            if left_out.any():
                if id_position is not None:
                    self.excluded_ids.update(_key(v) for v in chunk.loc[left_out, id_position] if not pd.isna(v))
                chunk = chunk.loc[~left_out]
            if id_position is not None and rules:
                for at, v in chunk[id_position].items():
                    if not pd.isna(v) and str(v).strip():
                        self.kept_ids.add(_key(v))
                        self.kept_rows.setdefault(duplicate_key(str(v).strip()), int(at) + 2)
            yield chunk
        self._count()

    def _count(self) -> None:
        """Patients per reason, not rows: rows sharing an identifier (as the duplicate-patient rule
        compares them) are one patient, counted under the first reason one of its rows matched
        (attack 29/01: one not-infused patient exported as two rows counted 2 and screened +1)."""
        seen: set[str] = set()
        counts: dict[int, int] = {}
        for _, pid, i in self.excluded_rows:
            if pid is not None:
                key = duplicate_key(pid)
                if key in seen:
                    continue
                seen.add(key)
            counts[i] = counts.get(i, 0) + 1
        self.counts = counts

    def shared_ids(self) -> list[Violation]:
        """After the rows were read, the identifiers of the rows a rule left out, checked as the
        analysed rows' are: an identifier on two excluded rows is a duplicate patient_id (the
        validator's rule sees only the analysed rows), and one that an analysed row also has is a
        patient both excluded and analysed (attack 28b: a not-infused first record of a patient
        took the kinetics samples of the same patient's analysed record with it). One violation
        per such row, the identifier as the export writes it in the detail, never in the rule's
        text: the rule is what the render log's summary prints (attack 29/08)."""
        rows_of: dict[str, list[int]] = {}
        for row, pid, _ in self.excluded_rows:
            if pid is not None:
                rows_of.setdefault(duplicate_key(pid), []).append(row)
        out = []
        shared = {key for key in rows_of if key in self.kept_rows}
        for row, pid, _ in self.excluded_rows:
            if pid is None:
                continue
            key = duplicate_key(pid)
            rows = rows_of[key]
            if key in shared:
                n = len(shared)
                out.append(
                    Violation(
                        row,
                        pid,
                        "patient_id",
                        f"{n} patient_id value{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} a row a "
                        "screening rule excluded and another row that is analysed: a patient is either excluded "
                        "or analysed; remove the extra row or correct its identifier",
                        pid,
                        related=f"analysed on row {self.kept_rows[key]}",
                    )
                )
            elif len(rows) > 1 and row != rows[0]:
                listed = ", ".join(map(str, rows[:6])) + (", ..." if len(rows) > 6 else "")
                out.append(
                    Violation(
                        row,
                        pid,
                        "patient_id",
                        f"duplicate patient_id among the rows a screening rule excluded (rows {listed}): "
                        "one patient counted once; remove the extra row or correct its identifier",
                        pid,
                    )
                )
        return out

    def excluded(self) -> tuple[Excluded, ...]:
        """Every declared reason in the study file's order, counted."""
        return tuple(
            Excluded(r.reason, self.counts.get(i, 0), True)
            if r.is_rule
            else Excluded(r.reason, int(r.count or 0), False)
            for i, r in enumerate(self.rules)
        )


def drop_excluded_samples(chunks: Iterator[pd.DataFrame], id_position: int | None, ids: set[str], counter: list[int]):
    """The kinetics rows of patients a rule excluded from the cohort, left out and counted in
    ``counter[0]`` (their samples would otherwise name patients the cohort does not have)."""
    for chunk in chunks:
        if id_position is not None and ids:
            hit = chunk[id_position].map(lambda v: not pd.isna(v) and _key(v) in ids)
            if hit.any():
                counter[0] += int(hit.sum())
                chunk = chunk.loc[~hit]
        yield chunk
