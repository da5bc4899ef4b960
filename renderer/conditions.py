"""Conditional content: `::: {.content-visible when-meta="key"}` and `.content-hidden`.

As in Quarto, the condition is a metadata value that is `true`, and metadata may be set
by a chunk that displays a YAML metadata block as Markdown (the manuscript sets
`cartox.kinetics` that way, so that a report without a kinetics table leaves out the
kinetics section and its figures). Conditions are resolved after execution and before
cross-references are numbered, so a hidden figure takes no number.
"""

from __future__ import annotations

from dataclasses import replace

import yaml

from renderer.qmd import Cell, Div, walk

CONDITIONAL_CLASSES = ("content-visible", "content-hidden")

_YAML_BLOCK_START = "---\n"


def output_metadata(blocks, base: dict | None = None) -> dict:
    """Front-matter metadata updated by every YAML block the chunks displayed, in order
    (a later block wins, as in Pandoc)."""
    meta = dict(base or {})
    for block in walk(blocks):
        if not isinstance(block, Cell):
            continue
        for out in block.outputs or []:
            text = (out.get("data") or {}).get("text/markdown")
            if isinstance(text, list):
                text = "".join(text)
            if not text or not text.startswith(_YAML_BLOCK_START):
                continue
            end = text.find("\n---", len(_YAML_BLOCK_START) - 1)
            try:
                values = yaml.safe_load(text[len(_YAML_BLOCK_START) : end]) if end > 0 else None
            except yaml.YAMLError:
                continue
            if isinstance(values, dict):
                meta.update(values)
    return meta


def _meta_true(meta: dict, dotted: str) -> bool:
    value = meta
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return value is True


def is_conditional(div) -> bool:
    return isinstance(div, Div) and any(c in CONDITIONAL_CLASSES for c in div.classes)


def resolve(blocks, meta: dict) -> list:
    """Blocks with conditional divs removed (condition false) or unwrapped (true)."""
    out = []
    for block in blocks:
        if isinstance(block, Div):
            if is_conditional(block):
                shown = _meta_true(meta, block.attrs.get("when-meta", ""))
                if "content-hidden" in block.classes:
                    shown = not shown
                if shown:
                    out.extend(resolve(block.children, meta))
                continue
            block = replace(block, children=resolve(block.children, meta))
        out.append(block)
    return out
