"""Temporary files and folders that a killed render leaves behind, swept by the next render.

A render works in folders and files that it removes when it ends, even on an error, Ctrl-C
or SIGTERM: the working folder in the system's temporary folder (``cartox-render-XXXX``,
``cartox-quarto-XXXX`` for real Quarto: the executed document, its figures and all three
outputs), the new output set staged beside the output folder (``.<out>.cartox-new-XXXX``)
and the old one being replaced where folders cannot be exchanged atomically
(``.<out>.cartox-old-XXXX``), the setup snapshot being written into the cache (the analysed
data, patient identifiers included) and a cache file being written (both
``.<name>.<pid>...claimed.tmp``). After ``kill -9`` (or a power cut) they stay; the next
render removes them. (The names are the project's own: another program's temporary
files, or an older version's, are never touched.)

What is removed is known to be abandoned, never guessed from its age: each of these is
*claimed* when it is created — created under a hidden name, locked with ``flock`` by the
process that owns it, and only then renamed to the name the sweep looks for — and the lock
is held until it is removed. The kernel drops a dead process's locks, so an entry the
sweep can lock is one whose owner is gone; the entry of a render running at the same time
is locked, and left alone. (A ``.claim-`` name is only ever seen for the instant between
creation and the rename; one older than :data:`STALE_CLAIM` seconds is also removed, as
is an old output set, which is never claimed, left that long.)

On systems without ``fcntl`` (Windows) nothing is claimed and nothing is swept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Prefix of an entry between its creation and its lock.
CLAIM = ".claim-"
#: Suffix of a claimed temporary file (the cache's files being written).
CLAIMED_TMP = ".claimed.tmp"
#: Age (seconds) after which an unrenamed claim is abandoned (its owner was killed in the
#: microseconds between creating and renaming it).
STALE_CLAIM = 3600

_held: dict[str, int] = {}  # path -> file descriptor holding its lock


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def make_dir(prefix: str, parent=None) -> Path:
    """A new folder ``<parent>/<prefix>XXXXXXXX`` (as :func:`tempfile.mkdtemp`, mode 0700),
    claimed by this process until :func:`release`."""
    if fcntl is None:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    hidden = Path(tempfile.mkdtemp(prefix=f"{CLAIM}{prefix}", dir=parent))
    fd = os.open(hidden, os.O_RDONLY | os.O_DIRECTORY)
    _lock(fd)  # a new folder: no one else can hold it
    final = hidden.with_name(prefix + hidden.name[len(CLAIM) + len(prefix) :])
    try:
        os.rename(hidden, final)
    except BaseException:
        os.close(fd)
        shutil.rmtree(hidden, ignore_errors=True)
        raise
    _held[str(final)] = fd
    return final


def open_claimed(path, mode: int = 0o600) -> int:
    """Create the file ``path`` (``mode``) and return a descriptor open for writing that
    holds its claim for as long as it stays open."""
    path = Path(path)
    if fcntl is None:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    hidden = path.with_name(f"{CLAIM}{path.name}")
    fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    _lock(fd)
    try:
        os.rename(hidden, path)
    except BaseException:
        os.close(fd)
        os.unlink(hidden)
        raise
    return fd


def make_file(path, mode: int = 0o600) -> Path:
    """Create the empty file ``path`` (``mode``), claimed by this process until
    :func:`release`; whoever writes it afterwards opens it by name."""
    _held[str(path)] = open_claimed(path, mode)
    return Path(path)


def release(path) -> None:
    """Give up the claim on ``path`` (after removing or renaming it)."""
    fd = _held.pop(str(path), None)
    if fd is not None:
        os.close(fd)


def _lock_abandoned(path: Path) -> int | None:
    """A descriptor holding ``path``'s lock when no live process holds it (the caller
    removes the entry under that lock, then closes the descriptor), else None."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    if _lock(fd):
        return fd
    os.close(fd)
    return None


def sweep(folder, patterns, *, stale=(), progress=None) -> list[Path]:
    """Remove the entries of ``folder`` matching ``patterns`` (glob; names only claimed
    entries have) that belong to this user and that no live process holds; also the
    stale claims of those patterns, and entries matching ``stale`` (never claimed) last
    changed more than :data:`STALE_CLAIM` seconds ago. Returns what was removed and says
    so through ``progress``."""
    if fcntl is None:
        return []
    folder = Path(folder)
    candidates = [(p, False) for pattern in patterns for p in folder.glob(pattern)]
    candidates += [(p, True) for pattern in patterns for p in folder.glob(f"{CLAIM}{pattern}")]
    candidates += [(p, True) for pattern in stale for p in folder.glob(pattern)]
    removed = [path for path, by_age in candidates if _remove_abandoned(path, by_age)]
    if removed and progress is not None:
        names = ", ".join(str(p) for p in removed[:4]) + (f" and {len(removed) - 4} more" if len(removed) > 4 else "")
        progress(f"removed {len(removed)} leftover{'s' if len(removed) > 1 else ''} of an interrupted render: {names}")
    return removed


def _remove_abandoned(path: Path, by_age: bool) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    if info.st_uid != os.getuid() or path.is_symlink() or str(path) in _held:
        return False
    if by_age and time.time() - max(info.st_mtime, info.st_ctime) < STALE_CLAIM:
        return False
    fd = _lock_abandoned(path)
    if fd is None:
        return False  # a render running now
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
