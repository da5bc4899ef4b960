"""Parsing a .qmd file: front matter, includes, code cells, fenced divs, inline code.

Every line keeps its origin (file, line number) through include expansion so that
errors can name the place in the source the user edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from renderer.errors import RenderError


@dataclass(frozen=True)
class Line:
    text: str
    file: Path
    lineno: int

    @property
    def where(self):
        return f"{_display_path(self.file)}:{self.lineno}"


def _display_path(path):
    # Relative to the working directory when possible: shorter messages, same meaning.
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass
class Markdown:
    lines: list  # of Line
    code: list  # per line: True when inside a plain (non-executed) fenced code block
    inlines: list = field(default_factory=list)  # InlineExpr, filled in when building the notebook


@dataclass
class Cell:
    source: str  # verbatim, including the `#|` option lines (keeps traceback line numbers)
    options: dict
    line: Line  # the opening ```{python} fence
    index: int = 0  # 1-based position among all code cells
    outputs: list = field(default_factory=list)  # filled in by execution

    @property
    def label(self):
        return self.options.get("label")

    @property
    def name(self):
        return self.label or f"#{self.index} ({self.line.where})"


@dataclass
class Div:
    ident: str | None
    classes: list
    attrs: dict
    children: list
    line: Line
    fence: str = ":::"


@dataclass
class InlineExpr:
    code: str
    line: Line
    value: str | None = None


# Cell options the renderer implements; anything else is an error rather than ignored.
CELL_OPTIONS = {
    "label",
    "fig-cap",
    "tbl-cap",
    "fig-subcap",
    "layout-ncol",
    "layout-nrow",
    "echo",
    "output",
    "include",
    "eval",
    "warning",
    "tags",
    "fig-width",
    "fig-height",
    "fig-alt",
}

# Div classes / ids Quarto treats specially; only callouts and fig/tbl cross-ref divs are
# implemented, the rest would silently render wrong.
CALLOUT_KINDS = {"note", "warning", "important", "tip", "caution"}
SPECIAL_CLASS_PREFIXES = (
    "panel-",
    "column-",
    "content-visible",
    "content-hidden",
    "callout",
    "cell",
    "hidden",
    "aside",
    "page-columns",
    "quarto-",
    "r-",
)
SPECIAL_ATTRS = {
    "layout",
    "layout-ncol",
    "layout-nrow",
    "layout-align",
    "when-format",
    "unless-format",
    "fig-align",
    "collapse",
    "appearance",
    "icon",
}
UNSUPPORTED_REF_PREFIXES = ("eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def", "exm", "exr", "sol", "rem", "alg")

INLINE_RE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")
INLINE_OTHER_RE = re.compile(r"`\{(r|julia|ojs|bash|sql)\}[^`]*`")
SHORTCODE_RE = re.compile(r"\{\{<\s*([\w-]+)\s*(.*?)\s*>\}\}")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*?)\s*$")
CELL_INFO_RE = re.compile(r"^\{\s*([\w-]+)\s*([^}]*)\}$")
DIV_OPEN_RE = re.compile(r"^(:{3,})\s*(\{.*\}|[^\s{}:]+)\s*:*\s*$")
DIV_CLOSE_RE = re.compile(r"^(:{3,})\s*$")
ATTR_TOKEN_RE = re.compile(r"""#([\w:.-]+)|\.([\w-]+)|([\w-]+)=("[^"]*"|'[^']*'|\S+)|(-)""")


def split_front_matter(text, path):
    """Return (metadata dict, body text, number of lines the front matter took)."""
    if not text.startswith("---"):
        return {}, text, 0
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text, 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            try:
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                raise RenderError(f"invalid YAML front matter: {exc}", f"{path}:1") from None
            if not isinstance(meta, dict):
                raise RenderError("front matter must be a YAML mapping", f"{path}:1")
            return meta, "\n".join(lines[i + 1 :]), i + 1
    raise RenderError("front matter starting with '---' is never closed", f"{path}:1")


def read_lines(path, stack=()):
    """Lines of `path` with `{{< include >}}` shortcodes expanded recursively."""
    path = Path(path)
    if path in stack:
        raise RenderError(f"include cycle: {' -> '.join(map(str, stack + (path,)))}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"cannot read {path}: {exc.strerror}") from None
    offset = 0
    if not stack:
        _, text, offset = split_front_matter(text, path)
    out = []
    in_fence = None
    for n, raw in enumerate(text.split("\n"), start=offset + 1):
        line = Line(raw.rstrip("\r"), path, n)
        fm = FENCE_RE.match(line.text)
        if in_fence:
            if fm and fm.group(2)[0] == in_fence[0] and len(fm.group(2)) >= len(in_fence) and not fm.group(3):
                in_fence = None
            out.append(line)
            continue
        if fm:
            in_fence = fm.group(2)
            out.append(line)
            continue
        m = SHORTCODE_RE.search(line.text)
        if m:
            name, arg = m.group(1), m.group(2)
            if name != "include":
                raise RenderError(f"unsupported shortcode '{{{{< {name} >}}}}' (only include is supported)", line.where)
            if line.text.strip() != m.group(0):
                raise RenderError("an include shortcode must be alone on its line", line.where)
            target = (path.parent / arg.strip().strip("'\"")).resolve()
            if not target.exists():
                raise RenderError(f"included file not found: {arg}", line.where)
            out.extend(read_lines(target, stack + (path,)))
            continue
        out.append(line)
    return out


def parse_attrs(spec, where):
    """Pandoc attribute block `{#id .class key=value}` (or a bare class word)."""
    spec = spec.strip()
    if not spec.startswith("{"):
        return None, [spec], {}
    body = spec[1:-1].strip()
    ident, classes, attrs = None, [], {}
    pos = 0
    while pos < len(body):
        if body[pos].isspace():
            pos += 1
            continue
        m = ATTR_TOKEN_RE.match(body, pos)
        if not m:
            raise RenderError(f"cannot parse attributes '{spec}'", where)
        if m.group(1):
            ident = m.group(1)
        elif m.group(2):
            classes.append(m.group(2))
        elif m.group(3):
            attrs[m.group(3)] = m.group(4).strip("\"'")
        else:
            classes.append("unnumbered")
        pos = m.end()
    return ident, classes, attrs


def parse_cell_options(lines, fence_line):
    """YAML from the leading `#| key: value` lines of a cell."""
    opt_lines = []
    for line in lines:
        if line.text.startswith("#|"):
            opt_lines.append(line.text[2:].removeprefix(" "))
        else:
            break
    if not opt_lines:
        return {}
    try:
        opts = yaml.safe_load("\n".join(opt_lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid cell options: {exc}", fence_line.where) from None
    if not isinstance(opts, dict):
        raise RenderError("cell options must be `#| key: value` lines", fence_line.where)
    for key in opts:
        if key not in CELL_OPTIONS:
            raise RenderError(
                f"unsupported cell option '{key}' (supported: {', '.join(sorted(CELL_OPTIONS))})", fence_line.where
            )
    return opts


def check_div(ident, classes, attrs, where):
    conditional = [c for c in classes if c in ("content-visible", "content-hidden")]
    if conditional:  # resolved by renderer.conditions on metadata (when-meta only)
        if len(conditional) > 1 or set(attrs) != {"when-meta"}:
            raise RenderError(f"'.{conditional[0]}' is supported with a single when-meta=\"key\" condition", where)
        classes = [c for c in classes if c not in conditional]
        attrs = {}
    for cls in classes:
        if cls.startswith("callout-") and cls[8:] in CALLOUT_KINDS:
            continue
        if cls.startswith(SPECIAL_CLASS_PREFIXES) or cls == "callout":
            raise RenderError(f"unsupported Quarto div class '.{cls}'", where)
    for key in attrs:
        if key in ("layout-ncol", "layout-nrow") and (ident or "").startswith("fig-"):
            continue  # panel layout of a figure div
        if key in SPECIAL_ATTRS:
            raise RenderError(f"unsupported Quarto div attribute '{key}'", where)
    if ident and "-" in ident and ident.split("-")[0] in UNSUPPORTED_REF_PREFIXES:
        raise RenderError(f"unsupported cross-reference type '#{ident}'", where)


def parse(lines):
    """Block tree (Markdown / Cell / Div) from expanded lines."""
    root = []
    stack = [(root, None)]
    md = None
    cells = 0

    def add_md(line, code):
        nonlocal md
        if md is None:
            md = Markdown([], [])
            stack[-1][0].append(md)
        md.lines.append(line)
        md.code.append(code)

    i = 0
    while i < len(lines):
        line = lines[i]
        fm = FENCE_RE.match(line.text)
        if fm:
            fence, info = fm.group(2), fm.group(3)
            body, j = [], i + 1
            while j < len(lines):
                close = FENCE_RE.match(lines[j].text)
                if close and close.group(2)[0] == fence[0] and len(close.group(2)) >= len(fence) and not close.group(3):
                    break
                body.append(lines[j])
                j += 1
            else:
                raise RenderError("code block is never closed", line.where)
            cm = CELL_INFO_RE.match(info)
            if cm and not info.startswith("{."):
                engine = cm.group(1)
                if engine != "python":
                    raise RenderError(
                        f"unsupported executable cell engine '{{{engine}}}' (only {{python}} is supported)", line.where
                    )
                else:
                    cells += 1
                    opts = parse_cell_options(body, line)
                    src = "\n".join(b.text for b in body)
                    stack[-1][0].append(Cell(src, opts, line, cells))
                    md = None
                    i = j + 1
                    continue
            add_md(line, False)
            for b in body:
                add_md(b, True)
            add_md(lines[j], False)
            i = j + 1
            continue
        dm = DIV_OPEN_RE.match(line.text)
        if dm:
            ident, classes, attrs = parse_attrs(dm.group(2), line.where)
            check_div(ident, classes, attrs, line.where)
            div = Div(ident, classes, attrs, [], line, dm.group(1))
            stack[-1][0].append(div)
            stack.append((div.children, div))
            md = None
            i += 1
            continue
        if DIV_CLOSE_RE.match(line.text):
            if len(stack) == 1:
                raise RenderError("':::' closes a div that was never opened", line.where)
            stack.pop()
            md = None
            i += 1
            continue
        add_md(line, False)
        i += 1
    if len(stack) > 1:
        raise RenderError("div is never closed", stack[-1][1].line.where)
    return root


def walk(blocks):
    """All blocks depth-first in document order."""
    for b in blocks:
        yield b
        if isinstance(b, Div):
            yield from walk(b.children)


def code_spans(text):
    """(start, end) ranges of inline code spans (`...`), including inline {python} spans."""
    spans = []
    for m in re.finditer(r"(`+)(.+?)(?<!`)\1(?!`)", text):
        spans.append((m.start(), m.end()))
    return spans


def check_unsupported_inline(blocks):
    for b in walk(blocks):
        if isinstance(b, Markdown):
            for line, code in zip(b.lines, b.code):
                if not code and INLINE_OTHER_RE.search(line.text):
                    raise RenderError("unsupported inline code engine (only `{python} ...`)", line.where)


def inline_exprs(md):
    """InlineExpr objects for a Markdown block, in order."""
    out = []
    for line, code in zip(md.lines, md.code):
        if code:
            continue
        for m in INLINE_RE.finditer(line.text):
            out.append(InlineExpr(m.group(1), line))
    return out


def params_cell_names(cell):
    """Names assigned in the parameters cell (so overrides of unknown names fail loudly)."""
    import ast

    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise RenderError(f"parameters cell is not valid Python: {exc.msg}", cell.line.where) from None
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, ast.Name):
                names.add(t.id)
    return names


@dataclass
class Document:
    path: Path
    meta: dict
    blocks: list
    cells: list = field(default_factory=list)


def load(path):
    path = Path(path).resolve()
    text = path.read_text(encoding="utf-8")
    meta, _, _ = split_front_matter(text, path)
    blocks = parse(read_lines(path))
    check_unsupported_inline(blocks)
    cells = [b for b in walk(blocks) if isinstance(b, Cell)]
    return Document(path, meta, blocks, cells)
