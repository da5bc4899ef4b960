"""Writing an output file so that an earlier one is never half-overwritten.

The text goes to a partial file beside the target (created exclusively, so never through
a planted link) and is renamed over it; a symlink is written through (its target is
replaced, the link stays); any failure removes the partial file.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolve_output(path) -> Path:
    """The file that will be written (symlinks followed); OSError when it exists and is not
    a regular file (a folder, a pipe or a device is never replaced)."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise IsADirectoryError(f"{path}: not a regular file; give the path of a file to write")
    return target


def write_atomic(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` all at once (see the module docstring)."""
    target = resolve_output(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a killed run
    try:
        with open(partial, "x", encoding=encoding, newline="") as fh:
            fh.write(text)
        partial.replace(target)
    except BaseException:  # a full disk, a failed rename, an interrupt: no partial file is left
        partial.unlink(missing_ok=True)
        raise
    return Path(path)
