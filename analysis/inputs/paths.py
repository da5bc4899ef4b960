"""Which file a path the user wrote names, and whether it may be opened.

One definition for everything that reads a file the user named (the loader, the study
file's reader) and for everything that must digest the same file (the renderer's cache
key): if the two resolved a path differently, a new export could be read while the cache
key still digested another file (or none) and printed the old numbers.

* :func:`resolve_path`: ``~`` expanded (``-P cohort:~/exports/x.csv``: the shell does not
  expand ``~`` after ``cohort:``), a relative path taken against ``base`` (the working
  directory for arguments, the study file's folder for the paths it names).
* :func:`not_a_file` / :func:`check_regular`: a path that is not a regular file (a named
  pipe, whose ``open`` waits for a writer forever; a device such as ``/dev/zero``, which
  never ends; a folder; a socket) is refused before it is opened.

* :func:`control_character`: a NUL, a line break or another control character in a path
  as written (refused with the key or argument that names it, never passed to the system).

Public API: :func:`resolve_path`, :func:`not_a_file`, :func:`check_regular`,
:func:`control_character`, :class:`NotARegularFile`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: The parameter (and command-line option) naming the study file: whatever its name or
#: extension, the file it names is a study file (read as one, digested as one).
STUDY_PARAMETER = "study"
#: The parameters whose value is a path (the study file, the export, the kinetics table):
#: given on a command line they stay text whatever they look like (``-P cohort:2023``).
PATH_PARAMETERS = (STUDY_PARAMETER, "cohort", "kinetics")

#: The project folder (the one holding ``analysis/``, ``data/`` and the documents).
PROJECT_DIR = Path(__file__).resolve().parents[2]


#: Characters no file name the user writes may hold: NUL (no system call accepts it: Python
#: raises "embedded null byte"), line breaks, tabs and the other C0 controls, DEL and the C1
#: controls (a name no one can read off a listing, nor a message show as written).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {
    "\x00": "a NUL (\\0)",
    "\n": "a line break (\\n)",
    "\r": "a carriage return (\\r)",
    "\t": "a tab (\\t)",
}


def control_character(value) -> str | None:
    """The first control character of a path as written, in words ("a NUL (\\0)",
    "the control character U+001B"); None when it holds none."""
    found = _CONTROL.search(str(value))
    if found is None:
        return None
    char = found.group(0)
    return _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")


def resolve_path(value, base) -> Path:
    """The path ``value`` names: ``~`` expanded, relative to ``base`` unless absolute."""
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else Path(base) / path


def not_a_file(mode: int) -> str | None:
    """What a path that is not a regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"  # opening it would wait for a writer, possibly forever
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


class NotARegularFile(OSError):
    """A path that exists but is not a regular file (refused before it is opened)."""


def check_regular(path) -> None:
    """Raise :class:`NotARegularFile` (an OSError) when ``path`` (links followed) is not a
    regular file; other OSErrors (missing, no permission) as ``os.stat`` raises them."""
    kind = not_a_file(os.stat(path).st_mode)
    if kind is not None:
        raise NotARegularFile(f"it is {kind}, not a file")
