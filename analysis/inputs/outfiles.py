"""Writing output files: never half-overwritten, and CSVs that a spreadsheet cannot run.

The text goes to a partial file beside the target (created exclusively, so never through
a planted link) and is renamed over it; a symlink is written through (its target is
replaced, the link stays); any failure removes the partial file.

Every CSV the project writes goes through :func:`spreadsheet_cell` (OWASP's guidance on
CSV injection, https://owasp.org/www-community/attacks/CSV_Injection): a cell that a
spreadsheet would evaluate as a formula (its first character, leading blanks aside, is
``=``, ``+``, ``-``, ``@``, a tab, a carriage return, their full-width forms or NUL)
gets a leading apostrophe, which Excel and LibreOffice read as "text"; plain numbers
(``-2.5``, ``+3``, ``1e-3``) are left as they are. :func:`csv_text` also double-quotes
every cell, so a separator or a line break inside a cell cannot start a new one.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Characters that make a spreadsheet evaluate a cell when they come first.
FORMULA_START = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_cell(value) -> str:
    """The cell as text a spreadsheet shows and never evaluates (see the module docstring):
    ``'=HYPERLINK(...)`` for ``=HYPERLINK(...)``; numbers and ordinary text unchanged."""
    text = "" if value is None else str(value)
    starts = {text[:1], text.lstrip(" ")[:1]} - {""}
    if starts & FORMULA_START and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence]) -> str:
    """Rows as CSV text, every cell made safe by :func:`spreadsheet_cell` and quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])
    return buffer.getvalue()


def resolve_output(path) -> Path:
    """The file that will be written (symlinks followed); OSError when it exists and is not
    a regular file (a folder, a pipe or a device is never replaced)."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise IsADirectoryError(f"{path}: not a regular file; give the path of a file to write")
    return target


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (both existing) the same
    inode (a symlink or a hard link)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): only the resolved paths can tell
        return False


class OutputIsInputError(OSError):
    """An output path that names one of the run's own input files."""


def refuse_input(output, inputs: Iterable[tuple[str, object]], option: str) -> None:
    """Raise :class:`OutputIsInputError` when ``output`` is one of ``inputs`` ((what, path)
    pairs: "the cohort export", "the study file"...): the same resolved path, or the same file
    through a symlink or a hard link. Writing there would replace the file the run has just
    read, often the only copy of a registry export."""
    if output is None:
        return
    for what, path in inputs:
        if path is None or not str(path):
            continue
        if _same_file(Path(output), Path(str(path))):
            raise OutputIsInputError(
                f"{option} {output} is {what} this run reads ({path}): writing there would replace it; "
                "give another file name"
            )


def write_atomic(path, text: str, encoding: str = "utf-8", private: bool = False) -> Path:
    """Write ``text`` to ``path`` all at once (see the module docstring). ``private``: a file
    holding patient data (identifiers, individual values and dates) is created 0600, readable
    by its owner only, whatever the permissions of a file it replaces."""
    target = resolve_output(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a killed run
    try:
        # created exclusively (never through a planted link), 0600 from the start when private
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        with open(descriptor, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
        partial.replace(target)
    except OSError as exc:  # the message names the file the user gave, never the partial one
        partial.unlink(missing_ok=True)
        raise _write_error(exc, path, target) from None
    except BaseException:  # a full disk, a failed rename, an interrupt: no partial file is left
        partial.unlink(missing_ok=True)
        raise
    return Path(path)


def _write_error(exc: OSError, path, target: Path) -> OSError:
    """An OSError of the same kind whose message names ``path`` as the user wrote it (and its
    folder when that is what is missing), not the temporary ``.name.partial`` beside it."""
    if not target.parent.is_dir():
        why = f"the folder {Path(path).parent} does not exist"
    else:
        why = exc.strerror or str(exc)
    try:
        return type(exc)(f"cannot write {path}: {why}")
    except TypeError:  # an OSError subclass with other arguments
        return OSError(f"cannot write {path}: {why}")
