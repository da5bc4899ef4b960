"""Bad input: a :class:`Violation` per broken rule, raised together as one :class:`InputError`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.registry.contract import is_invisible


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    ``row`` is the row a user sees in a spreadsheet: the header is row 1, so the first
    patient is row 2 (comment lines above the header of a CSV file are not counted).
    ``row`` is ``None`` for a problem with the whole file (encoding, missing column...).
    ``file`` names the file when a study has two (cohort and kinetics). ``related``
    shows the other values a cross-column rule compared (``"cr_date = 2024-03-20"``).
    """

    row: int | None
    patient_id: str | None
    column: str | None
    rule: str
    value: str | None = None
    file: str | None = None
    related: str | None = None


class InputError(Exception):
    """Bad input: every :class:`Violation` found, raised together."""

    def __init__(self, violations: Iterable[Violation], warnings: Iterable[Violation] = ()):
        self.violations: list[Violation] = list(violations)
        #: plausibility warnings found in the same data (not errors; shown after them)
        self.warnings: list[Violation] = list(warnings)
        super().__init__(self.violations, self.warnings)  # args round-trip through pickle

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        """A readable table per file: row, patient_id, column, rule, value."""
        return format_violations(self.violations)


def format_violations(violations: Iterable[Violation], noun: str = "problem") -> str:
    """Violations (or warnings, ``noun="warning"``) as a readable table per file: row,
    patient_id, column, rule, value."""
    by_file: dict[str | None, list[Violation]] = defaultdict(list)
    for v in violations:
        by_file[v.file].append(v)
    blocks = []
    for file, group in by_file.items():
        n = len(group)
        title = f"{file or 'input'}: {n} {noun}{'s' if n != 1 else ''}"
        if any(v.row is not None for v in group):
            title += " (rows numbered as in a spreadsheet: the header is row 1)"
        cells: list[tuple[str, ...]] = [("row", "patient_id", "column", "rule", "value", "related value")]
        cells += [
            (
                "-" if v.row is None else str(v.row),
                clip(v.patient_id, 20) if v.patient_id is not None else "-",
                v.column or "-",
                v.rule,
                clip(v.value, 40) if v.value is not None else "",
                clip(v.related, 40) if v.related is not None else "",
            )
            for v in group
        ]
        if not any(v.related for v in group):
            cells = [c[:5] for c in cells]
        widths = [
            min(max(len(c[i]) for c in cells), cap) for i, cap in enumerate((7, 20, 24, 64, 40, 40)[: len(cells[0])])
        ]
        lines = [title]
        for c in cells:
            line = "  ".join(text.ljust(width) for text, width in zip(c, widths))
            lines.append("  " + line.rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class DataRefused(Exception):
    """The report refuses to render invalid data: its message is the validator's summary and
    the command that lists every problem (:func:`analysis.inputs.problems.refusal`). The
    renderers print it as it is, once, without their own internals."""


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: every character that is not printable but the
    line break (ESC and the other control characters, which a terminal obeys: clear the
    screen, hide what follows; bidirectional overrides; zero-width characters) and every
    character that prints as nothing (:func:`analysis.registry.contract.is_invisible`: a
    Hangul filler, a variation selector, the braille blank) shown as its backslash escape
    (``\\x1b``, ``\\u3164``), everything else as it is."""
    return "".join(
        c if c == "\n" or (c.isprintable() and not is_invisible(c)) else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def clip(text: str, width: int) -> str:
    """``text`` at most ``width`` characters long, escaped when it holds a character that is
    not printable or prints as nothing (an id whose copies differ by a Hangul filler shows it)."""
    if not text.isprintable() or any(map(is_invisible, text)):
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 3] + "..."


def file_error(rule: str, value: str | None = None, *, row: int | None = None, column: str | None = None) -> InputError:
    return InputError([Violation(row, None, column, rule, value)])
