"""`--inline-log FILE`: every inline expression of the rendered document and its value.

One JSON object per line, in document order (content hidden by a condition left out):
{"file": ..., "line": ..., "expression": ..., "value": ...}. Tests read it to check
each paragraph of the output against its source, value by value, in place.
"""

from __future__ import annotations

import json
from pathlib import Path

from renderer.qmd import Markdown, walk


def write_inline_log(blocks, path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for block in walk(blocks):
            if isinstance(block, Markdown):
                for expr in block.inlines:
                    fh.write(
                        json.dumps(
                            {
                                "file": str(Path(expr.line.file).resolve()),
                                "line": expr.line.lineno,
                                "expression": expr.code,
                                "value": expr.value,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
