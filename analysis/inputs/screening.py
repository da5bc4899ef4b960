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
                    self.counts[i] = self.counts.get(i, 0) + int(hit.sum())
                    left_out |= hit
            if left_out.any():
                if id_position is not None:
                    self.excluded_ids.update(_key(v) for v in chunk.loc[left_out, id_position] if not pd.isna(v))
                chunk = chunk.loc[~left_out]
            if id_position is not None and rules:
                self.kept_ids.update(_key(v) for v in chunk[id_position] if not pd.isna(v))
            yield chunk

    def shared_ids(self) -> list[Violation]:
        """After the rows were read: an identifier of a row a rule left out that another,
        analysed row also has is an error (attack 28b: a not-infused first record of a patient
        took the kinetics samples of the same patient's analysed record with it, and the
        patient counted as excluded and analysed; the export's duplicate went unreported)."""
        both = sorted(self.excluded_ids & self.kept_ids)
        if not both:
            return []
        shown = ", ".join(both[:5]) + (f" and {len(both) - 5} more" if len(both) > 5 else "")
        return [
            Violation(
                None,
                None,
                "patient_id",
                f"{len(both)} patient_id value(s) ({shown}) have a row a screening rule excluded and another "
                "row that is analysed: a patient is either excluded or analysed; remove the extra row or "
                "correct its identifier",
            )
        ]

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
