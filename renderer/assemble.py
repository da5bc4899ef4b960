"""One fully resolved Pandoc-markdown document per output format.

Executed outputs are placed as images, raw HTML (html only) or markdown; inline values
and cross-references are substituted; figures and tables get their numbered captions.
Figures/tables are written per format (HTML divs, raw Typst `#figure`, DOCX caption
styles) because pandoc's markdown has no multi-panel figure syntax.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from renderer import crossref
from renderer.errors import RenderError
from renderer.qmd import INLINE_RE, Cell, Div, Markdown, walk

# Typst page geometry of the project (_quarto.yml: A4, 2 cm margins, 10 pt text), used
# to size multi-panel figures so that each fits one page with its caption.
TEXT_WIDTH_CM = 21.0 - 2 * 2.0
TEXT_HEIGHT_CM = 29.7 - 2 * 2.0
GUTTER_CM = 0.35
SUBCAPTION_CM = 0.6
CAPTION_CM = 2.2

EXTERNAL_IMPORT_RE = re.compile(r"@import\s+url\([^)]*\)\s*;?")
FENCE_LINE_RE = re.compile(r"^(:{3,})", re.M)


def _fence(inner):
    """A div fence longer than any fence inside `inner`."""
    longest = max((len(m.group(1)) for m in FENCE_LINE_RE.finditer(inner)), default=2)
    return ":" * max(3, longest + 1)


def _div(attrs, inner):
    f = _fence(inner)
    return f"{f} {{{attrs}}}\n{inner.strip()}\n{f}\n"


def _raw(fmt, code):
    return f"\n```{{={fmt}}}\n{code}\n```\n"


def _grid_table(rows, ncol):
    """A header-less Pandoc grid table; each cell a (panel, sub-caption) pair of paragraphs."""
    cells = [[[panel, "", sub] for panel, sub in row] + [["", "", ""]] * (ncol - len(row)) for row in rows]
    width = max(len(line) for row in cells for cell in row for line in cell) + 2
    rule = "+" + "+".join("-" * width for _ in range(ncol)) + "+"
    out = [rule]
    for row in cells:
        for i in range(3):
            out.append("|" + "|".join(f" {cell[i]}".ljust(width) for cell in row) + "|")
        out.append(rule)
    return "\n".join(out) + "\n"


def _esc_typst_str(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


class Assembler:
    def __init__(self, doc, reg, execute_opts, fmt, opts, workdir):
        self.doc, self.reg, self.fmt, self.opts = doc, reg, fmt, opts
        self.execute_opts = execute_opts
        self.workdir = Path(workdir)
        self.files = self.workdir / "report_files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.number_sections = bool(opts.get("number-sections"))

    # -- document -----------------------------------------------------------------------
    def body(self):
        text = self.blocks(self.doc.blocks, in_callout=False)
        self._check_unresolved(text)
        return text

    def _check_unresolved(self, text):
        in_code = False
        for line in text.split("\n"):
            if line.startswith("```"):
                in_code = not in_code if not line.startswith("```{=") else in_code
            if "`{python}" in line and not in_code:
                raise RenderError(f"unresolved inline code left in the document: {line.strip()[:120]}")

    def blocks(self, blocks, in_callout):
        return "\n".join(self.block(b, in_callout) for b in blocks)

    def block(self, b, in_callout):
        if isinstance(b, Markdown):
            return self.markdown(b, in_callout)
        if isinstance(b, Cell):
            return self.cell(b)
        if isinstance(b, Div):
            return self.div(b, in_callout)
        raise TypeError(b)

    # -- markdown -----------------------------------------------------------------------
    def markdown_lines(self, md, in_callout):
        inlines = iter(md.inlines)
        out = []
        for line, code in zip(md.lines, md.code):
            text = line.text
            if code:
                out.append(text)
                continue

            def sub(m):
                expr = next(inlines)
                if expr.value is None:
                    raise RenderError(f"inline expression `{{python}} {expr.code}` was not evaluated", line.where)  # noqa: B023 (called during this iteration's sub)
                if crossref.INTEXT_RE.search(expr.value):
                    # Quarto inserts inline values after resolving cross-references: "?@tbl-x"
                    raise RenderError(
                        f"the value of `{{python}} {expr.code[:60]}` contains a cross-reference "
                        f"({crossref.INTEXT_RE.search(expr.value).group(0)}), which Quarto leaves "
                        'unresolved in an inline value; write text.ref("...") in the expression, '
                        "or the reference outside it",
                        line.where,  # noqa: B023 (called during this iteration's sub)
                    )
                return expr.value

            text = INLINE_RE.sub(sub, text)
            header = crossref.HEADER_RE.match(text)
            if header and not in_callout and self.number_sections:
                num = self.reg.header_numbers.get((str(line.file), line.lineno))
                if num:
                    text = f"{header.group(1)} [{num}]{{.header-section-number}} " + text[header.end(1) :].lstrip()
            out.append(crossref.resolve(text, self.reg, line.where))
        return out

    def markdown(self, md, in_callout):
        return "\n".join(self.markdown_lines(md, in_callout))

    # -- cells --------------------------------------------------------------------------
    def opts_of(self, cell):
        return {**self.execute_opts, **cell.options}

    def cell_pieces(self, cell):
        """List of ('image', dict) / ('md', text) for a cell's visible outputs."""
        opts = self.opts_of(cell)
        if not opts.get("include", True):
            return []
        pieces = []
        if opts.get("echo") is True:
            src = "\n".join(ln for ln in cell.source.split("\n") if not ln.startswith("#|")).strip("\n")
            pieces.append(("md", f"```python\n{src}\n```\n"))
        if opts.get("output") is False or not opts.get("eval", True):
            return pieces
        asis = opts.get("output") == "asis"
        alts = cell.options.get("fig-alt")
        alts = alts if isinstance(alts, list) else [alts] * 100
        n_img = 0
        for out in cell.outputs:
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stderr" and opts.get("warning") is False:
                    continue
                text = out.get("text", "")
                if not text.strip():
                    continue
                pieces.append(("md", text if asis else f"```\n{text.rstrip()}\n```\n"))
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                if "image/png" in data or "image/jpeg" in data:
                    mime = "image/png" if "image/png" in data else "image/jpeg"
                    n_img += 1
                    stem = re.sub(r"[^\w-]", "-", cell.label or f"chunk-{cell.index}")
                    path = self.files / f"{stem}-{n_img}.{mime.split('/')[1]}"
                    if not path.exists():  # the same file for every format of this render
                        path.write_bytes(base64.b64decode(data[mime]))
                    alt = alts[n_img - 1] if n_img - 1 < len(alts) and alts[n_img - 1] else ""
                    pieces.append(("image", {"path": path.relative_to(self.workdir).as_posix(), "alt": alt}))
                elif self.fmt == "html" and "text/html" in data:
                    html = EXTERNAL_IMPORT_RE.sub("", data["text/html"])
                    pieces.append(("md", _raw("html", html)))
                elif "text/markdown" in data:
                    pieces.append(("md", data["text/markdown"] + "\n"))
                elif "text/html" in data:
                    raise RenderError(
                        f"chunk {cell.name} displays HTML without a text/markdown "
                        f"representation, which cannot be placed in {self.fmt}",
                        cell.line.where,
                    )
                elif set(data) <= {"text/plain"}:
                    text = data.get("text/plain", "")
                    if text.strip():
                        pieces.append(("md", text + "\n" if asis else f"```\n{text}\n```\n"))
                else:
                    raise RenderError(
                        f"chunk {cell.name} produced output of type "
                        f"{', '.join(sorted(data))}, which the renderer cannot place",
                        cell.line.where,
                    )
        return [(k, self._resolve_piece(k, v, cell)) for k, v in pieces]

    def _resolve_piece(self, kind, value, cell):
        if kind != "md" or value.lstrip().startswith("```"):
            return value
        return crossref.resolve(value, self.reg, f"output of chunk {cell.name} ({cell.line.where})")

    def cell(self, cell):
        pieces = self.cell_pieces(cell)
        label = cell.label or ""
        if label.startswith("fig-"):
            cap = cell.options.get("fig-cap")
            if cap is None:
                raise RenderError(f"figure chunk {label} has no fig-cap", cell.line.where)
            caption = crossref.resolve(str(cap), self.reg, cell.line.where)
            images = [v for k, v in pieces if k == "image"]
            others = "\n".join(v for k, v in pieces if k == "md")
            if not images:
                raise RenderError(f"figure chunk {label} produced no image", cell.line.where)
            return others + "\n" + self.figure(label, caption, images, cell.options, cell)
        if label.startswith("tbl-"):
            cap = cell.options.get("tbl-cap")
            if cap is None:
                raise RenderError(f"table chunk {label} has no tbl-cap", cell.line.where)
            caption = crossref.resolve(str(cap), self.reg, cell.line.where)
            return self.table(label, caption, self.pieces_md(pieces))
        return self.pieces_md(pieces)

    def pieces_md(self, pieces):
        out = []
        for kind, value in pieces:
            if kind == "image":
                out.append(f"\n![{value['alt']}]({value['path']}){{width=100%}}\n")
            else:
                out.append("\n" + value)
        return "\n".join(out)

    # -- figures and tables -------------------------------------------------------------
    def figure(self, ident, caption, images, options, where_cell):
        subcaps = options.get("fig-subcap") or []
        if subcaps and not isinstance(subcaps, list):
            raise RenderError("fig-subcap must be a list of sub-captions", where_cell.line.where)
        if subcaps and len(subcaps) != len(images):
            raise RenderError(
                f"{ident}: {len(subcaps)} fig-subcap entries but {len(images)} images", where_cell.line.where
            )
        ncol = int(options.get("layout-ncol") or (1 if len(images) > 1 and not options.get("layout-nrow") else 1))
        if options.get("layout-nrow") and not options.get("layout-ncol"):
            nrow = int(options["layout-nrow"])
            ncol = -(-len(images) // nrow)
        ncol = max(1, min(ncol, len(images)))
        where = where_cell.line.where
        # Sub-captions as Quarto writes them: "(a) text" directly below each panel, in
        # every format (lower-case letters: Quarto's default `subref-labels`).
        subs = [f"\\({chr(97 + i)}) " + crossref.resolve(str(s), self.reg, where) for i, s in enumerate(subcaps)]
        num = self.reg.targets[ident].number
        cap = f"Figure\u00a0{num}: {caption}"
        if self.fmt == "html":
            panels = []
            for i, img in enumerate(images):
                sub = f"\n\n{subs[i]}" if subs else ""
                panels.append(_div(f"#{ident}-{i + 1} .cx-panel", f"![{img['alt']}]({img['path']})" + sub))
            grid = _div(f".cx-panels .cx-ncol-{ncol}", "\n".join(panels))
            return _div(f"#{ident} .cx-figure", grid + "\n" + _div(".cx-caption", cap))
        if self.fmt == "pdf":
            width = self._panel_width_pct(images, ncol, bool(subs))
            parts = [
                _raw(
                    "typst",
                    f"#figure(kind: image, numbering: none, supplement: none,\n"
                    f"grid(columns: (1fr,) * {ncol}, gutter: 1em, align: center + bottom, [",
                )
            ]
            for i, img in enumerate(images):
                if i:
                    parts.append(_raw("typst", "], ["))
                parts.append(f"\n![{img['alt']}]({img['path']}){{width={width}%}}\n")
                if subs:
                    parts.append(f"\n{subs[i]}\n")
            parts.append(_raw("typst", "]), caption: ["))
            parts.append(f"\n{cap}\n")
            parts.append(_raw("typst", f"]) <{ident}>"))
            return "\n".join(parts)
        # docx: panels side by side as inline images in rows; with sub-captions, a layout
        # table (as Quarto's) whose cells hold a panel and its sub-caption below it.
        # (a little narrower in a layout table: its cells have margins)
        width = 100 if ncol == 1 else int((94 if subs else 98) / ncol)
        panels = [f"![{img['alt']}]({img['path']}){{width={width}%}}" for img in images]
        if subs:
            inner = _grid_table(
                [
                    [(p, sub) for p, sub in zip(panels[r : r + ncol], subs[r : r + ncol])]
                    for r in range(0, len(panels), ncol)
                ],
                ncol,
            )
        else:
            inner = "\\\n".join(" ".join(panels[r : r + ncol]) for r in range(0, len(panels), ncol)) + "\n"
        inner += "\n" + _div('custom-style="Image Caption"', cap)
        return _div(f"#{ident}", inner)

    def _panel_width_pct(self, images, ncol, with_subcaptions):
        """Panel width (% of its grid cell) at which all rows and the caption fit one page.

        A figure taller than the page is split by Typst, leaving its caption alone on the
        next page; shrinking the panels keeps a figure and its caption together.
        """
        from PIL import Image  # matplotlib's dependency; only needed for the PDF

        nrow = -(-len(images) // ncol)
        cell_w = (TEXT_WIDTH_CM - (ncol - 1) * GUTTER_CM) / ncol
        heights = []
        for img in images:
            with Image.open(self.workdir / img["path"]) as im:
                w, h = im.size
            heights.append(cell_w * h / w)
        rows = [max(heights[r : r + ncol]) for r in range(0, len(images), ncol)]
        per_row = GUTTER_CM + (SUBCAPTION_CM if with_subcaptions else 0)
        available = TEXT_HEIGHT_CM - CAPTION_CM - nrow * per_row
        return min(100, int(100 * available / sum(rows)))

    def table(self, ident, caption, body):
        num = self.reg.targets[ident].number
        cap = f"Table\u00a0{num}: {caption}"
        if self.fmt == "html":
            return _div(f"#{ident} .cx-table", _div(".cx-caption", cap) + "\n" + body)
        if self.fmt == "pdf":
            return "\n".join(
                [
                    _raw("typst", "#figure(kind: table, numbering: none, supplement: none, caption: ["),
                    f"\n{cap}\n",
                    _raw("typst", "])["),
                    body,
                    _raw("typst", f"] <{ident}>"),
                ]
            )
        return _div(f"#{ident}", _div('custom-style="Table Caption"', cap) + "\n" + body)

    # -- divs ---------------------------------------------------------------------------
    def div(self, div, in_callout):
        kind = (div.ident or "").split("-")[0]
        if div.ident and kind in ("fig", "tbl"):
            return self.xref_div(div, kind, in_callout)
        callout = crossref.is_callout(div)
        inner = self.blocks(div.children, in_callout or callout)
        attrs = " ".join(
            ([f"#{div.ident}"] if div.ident else [])
            + [f".{c}" for c in div.classes]
            + [f'{k}="{v}"' for k, v in div.attrs.items()]
        )
        return "\n" + _div(attrs, inner)

    def xref_div(self, div, kind, in_callout):
        children = list(div.children)
        caption_md = None
        # The caption is the last paragraph of the div (Quarto's convention).
        if children and isinstance(children[-1], Markdown):
            lines = self.markdown_lines(children[-1], in_callout)
            while lines and not lines[-1].strip():
                lines.pop()
            cut = max((i for i, ln in enumerate(lines) if not ln.strip()), default=-1)
            caption_md = " ".join(ln.strip() for ln in lines[cut + 1 :])
            rest = "\n".join(lines[: cut + 1])
            children = children[:-1]
        else:
            rest = ""
        if not caption_md:
            raise RenderError(f"cross-reference div #{div.ident} needs a caption as its last paragraph", div.line.where)
        if kind == "tbl":
            body = "\n".join(self.block(c, in_callout) for c in children) + "\n" + rest
            return self.table(div.ident, caption_md, body)
        images, other, options = [], [], {}
        for c in children:
            if isinstance(c, Cell):
                for k, v in self.cell_pieces(c):
                    (images if k == "image" else other).append(v)
                for key in ("fig-subcap", "layout-ncol", "layout-nrow"):
                    if key in c.options:
                        options[key] = c.options[key]
            else:
                other.append(self.block(c, in_callout))
        for key in ("layout-ncol", "layout-nrow"):
            if key in div.attrs:
                options[key] = div.attrs[key]
        other.append(rest)
        if not images:
            raise RenderError(f"figure div #{div.ident} contains no image output", div.line.where)
        first_cell = next((c for c in walk(children) if isinstance(c, Cell)), None) or div
        return "\n".join(other) + "\n" + self.figure(div.ident, caption_md, images, options, first_cell)
