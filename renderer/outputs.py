"""The output folder: checked before any work, replaced as a whole when a render succeeds.

A render writes its formats into a new sibling folder (`.<name>.new-XXXX`, same file
system) and then swaps it with the output folder, atomically where the system can
exchange two paths (Linux `renameat2(RENAME_EXCHANGE)`), otherwise by two renames.
The output folder therefore always holds one consistent set: the formats of one render.
Formats not produced by the latest render (`--to html` after a full render) are gone,
not silently left beside newer ones; the progress output lists them.
"""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

from renderer.errors import RenderError

# Free space the temporary folder needs for one render (measured: about 25 MB for the
# manuscript's three formats and their intermediate files); checked before executing.
MIN_FREE_BYTES = 64 * 1024 * 1024
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def environment_error(exc, action, path=None):
    """An OSError as a RenderError naming the path and the cause."""
    path = path or exc.filename or "?"
    cause = exc.strerror or type(exc).__name__
    hint = ""
    if exc.errno == errno.ENOSPC:
        hint = " (free some space, or point TMPDIR/--output-dir elsewhere)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = " (choose a writable folder with --output-dir)"
    return RenderError(f"cannot {action} {path}: {cause}{hint}")


def is_own(name, stem):
    """Names a render of `stem` writes into its output folder (or older versions wrote)."""
    return (name.startswith(f"{stem}.") or name == f"{stem}_files"
            or name.startswith(f".{stem}."))


def check_output_dir(out_dir, stem):
    """Fail before executing anything when the output folder cannot be replaced."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RenderError(f"the output folder {out_dir} is a file, not a folder (--output-dir)")
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RenderError(f"cannot create the output folder {out_dir}: {existing} is a file")
    if existing == out_dir:
        foreign = sorted(p.name for p in out_dir.iterdir() if not is_own(p.name, stem))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise RenderError(f"the output folder {out_dir} holds files this render did not write "
                              f"({shown}); it is replaced as a whole, so choose an empty or "
                              f"dedicated folder with --output-dir")
        existing = out_dir.parent
    # The folder is replaced through its parent: that is where the new set is staged.
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RenderError(f"cannot write the output folder {out_dir}: {existing} is not writable")


def check_free_space(folder, needed=MIN_FREE_BYTES):
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise RenderError(f"only {free // 2**20} MB free in {folder}, a render needs about "
                          f"{needed // 2**20} MB (free some space or point TMPDIR elsewhere)")


def _exchange(a, b):
    """Atomically swap two paths; False when the system cannot (then the caller renames)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(staging, out_dir):
    """Make `staging` the output folder; returns the folder now holding the old set (or None)."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return None
    if _exchange(staging, out_dir):
        return staging
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    return old


def publish(produced, out_dir, progress=lambda msg: None):
    """Replace `out_dir` by a folder holding exactly the files `produced`."""
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise environment_error(exc, "create the output folder", out_dir.parent) from None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    except OSError as exc:
        raise environment_error(exc, "write the output folder's parent", out_dir.parent) from None
    old = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; outputs are not
        for path in produced:
            try:
                shutil.copyfile(path, staging / path.name)
            except OSError as exc:
                raise environment_error(exc, "write", out_dir / path.name) from None
        before = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
        try:
            old = _swap_in(staging, out_dir)
        except OSError as exc:
            raise environment_error(exc, "replace the output folder", out_dir) from None
        dropped = [n for n in before if n not in {p.name for p in produced} and not n.startswith(".")]
        if dropped:
            progress(f"removed from {out_dir}: {', '.join(dropped)} (not produced by this render)")
    finally:
        # On success `staging` is the output folder (or, after an exchange, holds the old set).
        for leftover in (old, staging):
            if leftover is not None and leftover != out_dir and leftover.exists() \
                    and leftover.resolve() != out_dir.resolve():
                shutil.rmtree(leftover, ignore_errors=True)
