"""The git state of the project a report is rendered from: one definition for what the code
availability statement prints (analysis.report.narrative) and for the render cache's key
(renderer.cache), so that a cached render can never print another commit than a fresh one.

Public API: :func:`git_commit`, :data:`GIT_COMMANDS`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: The commands :func:`git_commit` runs (the render cache follows them through its key, so a
#: run that starts them is still cached; any other program a chunk runs makes it uncacheable).
HEAD_COMMAND = ("git", "rev-parse", "--short=12", "HEAD")
STATUS_COMMAND = ("git", "status", "--porcelain", "--untracked-files=no")
GIT_COMMANDS = (HEAD_COMMAND, STATUS_COMMAND)


def git_commit(folder: str | Path) -> str | None:
    """``'<12 hex digits of HEAD>'``, followed by ``' with local changes'`` when a tracked file
    differs from HEAD (``git status --porcelain --untracked-files=no``); None outside a git
    checkout or without git."""
    try:
        head = subprocess.run(list(HEAD_COMMAND), cwd=folder, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            list(STATUS_COMMAND),
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")
