"""Notebooks as the renderer builds them: dicts with attribute access, as nbformat's
`NotebookNode` (what nbclient reads and writes), made without nbformat, whose import and
schema validation of each of the ~170 cells cost a cached re-render about 0.3 s."""

from __future__ import annotations

import uuid


class Node(dict):
    """A dict whose keys are also attributes; dicts stored in it become Nodes."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __setitem__(self, key, value):
        super().__setitem__(key, from_dict(value) if isinstance(value, dict) and not isinstance(value, Node) else value)


def from_dict(value):
    """`value` with every dict in it (recursively) made a Node."""
    if isinstance(value, dict):
        return Node({k: from_dict(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [from_dict(v) for v in value]
    return value


def new_notebook(metadata=None) -> Node:
    return Node(nbformat=4, nbformat_minor=5, metadata=from_dict(dict(metadata or {})), cells=[])


def new_code_cell(source: str) -> Node:
    return Node(
        id=uuid.uuid4().hex[:8], cell_type="code", metadata=Node(), execution_count=None, source=source, outputs=[]
    )
