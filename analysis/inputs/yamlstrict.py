"""YAML read strictly, and written so that it reads back as written.

A study file is typed by a person (or proposed by ``map`` from an export) and then trusted
for everything the report says, so its parsing accepts no ambiguity:

* a key given twice in one mapping is an error naming both lines (PyYAML keeps the last
  one silently: ``alpha: 0.05`` ... ``alpha: 0.2`` would change the analysis unseen);
* an explicit tag other than the core scalar ones (``!!str``, ``!!int``, ``!!float``,
  ``!!bool``, ``!!null``) is refused, naming its line: ``cohort: !!binary Y29ob3J0LmNzdg==``
  reads as the file name ``cohort.csv`` that nobody can see in the file (and that a reader
  looking for text, such as the renderer's cache key, does not see either); ``!!set``,
  ``!!omap``, ``!!python/...`` and local ``!tags`` have no place in a study file;
* anchors (``&name``), aliases (``*name``) and merge keys (``<<``) are refused: a study
  file has no use for them, and a few hundred bytes of nested aliases expand to billions
  of strings (the "billion laughs" attack) in every reader that walks the result;
* at most :data:`MAX_BYTES` bytes, :data:`MAX_DEPTH` levels of nesting and
  :data:`MAX_NODES` values, each refused with a message before any work grows with it.

The writers give the other direction: :func:`scalar` is one YAML scalar that cannot span
lines (line breaks and control characters are escaped inside double quotes), and
:func:`comment` is text that stays inside one ``#`` comment whatever it holds (a value of
an export echoed in a comment cannot start a line of its own and become a key).

Public API: :func:`load`, :func:`read_limited`, :class:`StrictYAMLError`, :func:`scalar`,
:func:`comment`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from analysis.inputs.paths import check_regular

#: Largest study file read (bytes). A study file is a few kilobytes; a values table for
#: every coded column of a large registry export stays far below this.
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and lists (a study file uses four levels).
MAX_DEPTH = 32
#: Most values (scalars, mappings, lists) in one file.
MAX_NODES = 100_000


#: The explicit tags accepted: they give the values a plain scalar can have.
ALLOWED_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))


class StrictYAMLError(ValueError):
    """YAML that is well-formed but not accepted (duplicate key, alias, too large or too
    deep); the message says where (line numbers) and why."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, anchors, merge keys or duplicate keys, and with
    limits on depth and size (the pure-Python composer, so that each node can be checked)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else "?"
        if isinstance(event, yaml.AliasEvent):
            raise StrictYAMLError(
                f"line {line}: an alias (*{event.anchor}) is not allowed in a study file; write the value out"
            )
        if getattr(event, "anchor", None) is not None:
            raise StrictYAMLError(
                f"line {line}: an anchor (&{event.anchor}) is not allowed in a study file; "
                "write each value out where it is used"
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ALLOWED_TAGS:
            written = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
            raise StrictYAMLError(
                f"line {line}: the tag {written} is not allowed in a study file; write the value as plain "
                "text (a file name as it is spelled, not encoded)"
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise StrictYAMLError(f"line {line}: more than {MAX_NODES:,} values; a study file holds far fewer")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise StrictYAMLError(f"line {line}: nested more than {MAX_DEPTH} levels deep; a study file needs four")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, f"expected a mapping, found {node.id}", node.start_mark)
        mapping = {}
        first_line = {}  # key -> (line, as written)
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise StrictYAMLError(
                    f"line {line}: a merge key (<<) is not allowed in a study file; write the keys out"
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
                )
            written = key_node.value if isinstance(key_node.value, str) else repr(key)
            if key in first_line:
                raise StrictYAMLError(_duplicate(key, first_line[key], (line, written)))
            first_line[key] = (line, written)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_timestamp(self, node):
        """A date or time that does not exist (``2026-02-30``, ``25:00``) is an error with
        its line, not a traceback."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise StrictYAMLError(
                f"line {node.start_mark.line + 1}: {node.value!r} is not a date ({exc}); write an existing "
                "date as YYYY-MM-DD"
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _duplicate(key: Hashable, first: tuple[int, str], second: tuple[int, str]) -> str:
    """The message for a key given twice: where, and how each was written when YAML reads
    two spellings as one key (``yes`` and ``true``, ``7`` and ``0o7``)."""
    (line_1, written_1), (line_2, written_2) = first, second
    keep = "keep one of them (YAML would silently use the last)"
    if written_1 == written_2:
        where = f"twice on line {line_1}" if line_1 == line_2 else f"on line {line_1} and line {line_2}"
        return f"duplicate key {key!r} {where}: {keep}"
    where = f"both on line {line_1}" if line_1 == line_2 else f"line {line_1} and line {line_2}"
    hint = (
        "; YAML reads yes/no/on/off as true/false: put a word meant as text in quotes" if isinstance(key, bool) else ""
    )
    return f"duplicate key: {written_1!r} and {written_2!r} ({where}) are the same key for YAML ({key!r}{hint}): {keep}"


def load(text: str | bytes) -> Any:
    """Parse one YAML document strictly (see the module docstring).

    Raises :class:`StrictYAMLError` for what is refused and ``yaml.YAMLError`` for what is
    not YAML at all."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > MAX_BYTES:
        raise StrictYAMLError(f"{size:,} bytes; a study file is at most {MAX_BYTES:,} bytes")
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line (1-based) of the value at ``path`` (keys and list indexes from the top) in a
    YAML document that :func:`load` accepted; the line of the deepest part of the path that
    exists, None when not even the first does. For messages: "date_format (line 5): ..."."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next((item for item in node.value if str(item[0].value) == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def read_limited(path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of ``path``; :class:`StrictYAMLError` when it holds more than ``limit``
    (read no further than that: a device or an endless file is never read whole), and
    :class:`~analysis.inputs.paths.NotARegularFile` (an OSError) when ``path`` is a named
    pipe, a device, a folder or a socket: refused before it is opened (opening a FIFO
    waits for a writer forever)."""
    check_regular(path)
    with open(Path(path), "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise StrictYAMLError(f"larger than {limit:,} bytes; a study file is a few kilobytes")
    return data


# --------------------------------------------------------------------------- writing

#: Characters that end a line for YAML (1.1, as PyYAML reads it) or that YAML forbids in a
#: stream; in a comment they are written as escapes.
_UNSAFE_IN_COMMENT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def comment(text: object) -> str:
    """``text`` as it can stand after ``# `` on one line: a line break (or any control
    character) becomes a visible escape such as ``\\n``, so nothing after it can become
    a key of the file."""

    def escape(m: re.Match) -> str:
        char = m.group(0)
        return {"\n": "\\n", "\r": "\\r"}.get(char, f"\\u{ord(char):04x}")

    return _UNSAFE_IN_COMMENT.sub(escape, str(text))


def scalar(value: object) -> str:
    """One YAML scalar on one line: numbers, booleans and None as YAML writes them, text in
    double quotes with every line break and control character escaped (so that it reads
    back as exactly ``value``)."""
    if value is None or isinstance(value, (bool, int, float)):
        style = None
    elif isinstance(value, str):
        style = '"'
    else:
        raise TypeError(f"not a YAML scalar: {type(value).__name__}")
    text = yaml.safe_dump(
        value, default_style=style, default_flow_style=True, allow_unicode=True, width=2**31 - 1, explicit_end=False
    )
    text = text.strip()
    text = text.removesuffix("...").strip()
    if "\n" in text or "\r" in text:  # never expected: the double-quoted style escapes them
        raise ValueError(f"cannot write {value!r} as a one-line YAML scalar")
    return text
