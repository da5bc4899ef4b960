"""The output folder: checked before any work, replaced as a whole when a render succeeds.

A render writes its formats into a new sibling folder (`.<name>.cartox-new-XXXX`, same
file system) and then swaps it with the output folder, atomically where the system can
exchange two paths (Linux `renameat2(RENAME_EXCHANGE)`), otherwise by two renames.
The output folder therefore always holds one consistent set: the formats of one render.
Formats not produced by the latest render (`--to html` after a full render) are gone,
not silently left beside newer ones; the progress output lists them. Files of the
user's own in the folder (anything not named `<stem>.*`) are carried over.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

from renderer import leftovers
from renderer.errors import RenderError

# Free space the temporary folder needs for one render (measured: about 6 MB for the
# manuscript's three formats and their intermediate files, so 64 MB leaves ample room);
# checked before executing.
MIN_FREE_BYTES = 64 * 1024 * 1024
#: The new output set, staged beside the output folder (claimed: renderer.leftovers), and
#: the old one where the system cannot exchange the two folders in one step.
NEW, OLD = "cartox-new-", "cartox-old-"
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
    """Names a render of `stem` (one document's stem, or several: a manuscript and its
    supplement rendered together) writes into its output folder (or older versions wrote)."""
    if not isinstance(stem, str):
        return any(is_own(name, s) for s in stem)
    return name.startswith(f"{stem}.") or name == f"{stem}_files" or name.startswith(f".{stem}.")


def check_output_dir(out_dir, stem, project_dir):
    """Fail before executing anything when the output folder cannot be replaced."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RenderError(f"the output folder {out_dir} is a file, not a folder (--output-dir)")
    if out_dir.resolve() in (Path(project_dir).resolve(), *Path(project_dir).resolve().parents):
        raise RenderError(
            f"the output folder {out_dir} contains the project: it is replaced as a "
            f"whole, so choose a dedicated folder with --output-dir"
        )
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RenderError(f"cannot create the output folder {out_dir}: {existing} is a file")
    # The folder is replaced through its parent, where the new set is staged: try it
    # (permission bits say nothing to root, nor about read-only mounts).
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=f".{out_dir.name}.probe-", dir=parent))
    except OSError as exc:
        raise environment_error(exc, "write the output folder", f"{out_dir} (in {parent})") from None


def _carry_over(old_dir, staging, stem):
    """Files of the user's own in the output folder move on to the new set (hard links
    where possible, so nothing is copied twice and the originals stay until the swap)."""

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    for entry in old_dir.iterdir():
        if is_own(entry.name, stem):
            continue
        target = staging / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=link_or_copy)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        else:
            link_or_copy(entry, target)


def check_free_space(folder, needed=MIN_FREE_BYTES):
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise RenderError(
            f"only {free // 2**20} MB free in {folder}, a render needs about "
            f"{needed // 2**20} MB (free some space or point TMPDIR elsewhere)"
        )


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
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{OLD}", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    return old


def publish(produced, out_dir, stem, progress=lambda msg: None):
    """Replace `out_dir` by a folder holding the files `produced` (and the user's own files
    already there, if any: every file named `<stem>.*` belongs to the render; `stem` may
    be several documents' stems, published together)."""
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise environment_error(exc, "create the output folder", out_dir.parent) from None
    try:
        # claimed: swept by a later render only if this one is killed (renderer.leftovers)
        staging = leftovers.make_dir(f".{out_dir.name}.{NEW}", out_dir.parent)
    except OSError as exc:
        raise environment_error(exc, "write the output folder", f"{out_dir} (in {out_dir.parent})") from None
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
        if out_dir.is_dir():
            try:
                _carry_over(out_dir, staging, stem)
            except OSError as exc:
                raise environment_error(exc, "carry over", exc.filename) from None
        try:
            old = _swap_in(staging, out_dir)
        except OSError as exc:
            raise environment_error(exc, "replace the output folder", out_dir) from None
        dropped = [
            n for n in before if is_own(n, stem) and not n.startswith(".") and n not in {p.name for p in produced}
        ]
        if dropped:
            progress(f"removed from {out_dir}: {', '.join(dropped)} (not produced by this render)")
    finally:
        # On success `staging` is the output folder (or, after an exchange, holds the old set).
        for leftover in (old, staging):
            if (
                leftover is not None
                and leftover != out_dir
                and leftover.exists()
                and leftover.resolve() != out_dir.resolve()
            ):
                shutil.rmtree(leftover, ignore_errors=True)
        leftovers.release(staging)


def sweep(out_dir, progress=lambda msg: None) -> list[Path]:
    """Remove the staged new and old output sets that killed renders into ``out_dir`` left
    beside it (renderer.leftovers: never those of a render running now)."""
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    return leftovers.sweep(
        out_dir.parent, [f".{out_dir.name}.{NEW}*"], stale=[f".{out_dir.name}.{OLD}*"], progress=progress
    )
