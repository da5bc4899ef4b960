"""Text a team typed (the study file) placed into the manuscript as text, never as markup.

Every study-file string that reaches a document (title, subtitle, author names,
affiliations, the corresponding author's e-mail, every ``product:`` field) is written
into the document's Pandoc Markdown through this module. Pandoc then writes it into
HTML, DOCX and Typst with each format's own escaping, so escaping for Markdown is
escaping for every target: what Pandoc reads as text (its ``Str`` elements) cannot
become a script, raw HTML/Typst/LaTeX, an image or a link (so no file is embedded), a
citation (``@handle``), math, a footnote, a Quarto shortcode or a heading.

* :func:`plain` — text only: every ASCII punctuation character but the quotes is
  backslash-escaped (Pandoc reads any escaped punctuation literally; quotes become
  typographic quotes, as in the rest of the text); line breaks and other control
  characters become spaces; the bidirectional embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069: a right-to-left override would display text reversed)
  are left out; Quarto's shortcode delimiters ``{{<`` and ``>}}`` get a
  zero-width space inside (Quarto finds shortcodes in the *text* of metadata, escaped or
  not). For names, affiliations, e-mail addresses shown as text.
* :func:`styled` — the same, with a small allow-list of inline styles for titles and
  product names, written as in Pandoc's Markdown: ``*emphasis*``, ``**strong**``,
  ``^superscript^`` and ``~subscript~`` (super/subscripts without spaces: ``CD19^+^``,
  ``10^6^``, ``CO~2~``, ``Kymriah^®^``). The text inside emphasis is escaped like the
  rest. The text inside a super/subscript may hold only letters, digits, ``+ - . , / %
  = ( )`` and non-ASCII symbols or punctuation (``®``, ``™``, ``−``, ``′``): Pandoc (3.x)
  undoes backslash escapes and character entities inside ``^...^``/``~...~`` and reads
  what is left as Markdown again (``^\\!\\[\\](/etc/passwd)^`` becomes an image), so no
  escaping can make other characters safe there; a super/subscript holding anything else
  is printed as typed, markers included. A marker without its partner is text.
* :func:`mailto` — an e-mail address as a ``mailto:`` link when it is one (letters,
  digits and ``.!#$%&'*+/=?^_`{|}~-`` before the ``@``, a dotted domain after it; the
  target percent-encoded), else as :func:`plain` text.
* :class:`MarkdownText` — a ``str`` that says it is Markdown: an inline expression
  returning one is inserted as it is by both renderers (Quarto would otherwise escape a
  plain string's repr its own, partial way; the built-in renderer inserts ``str()``).

Public API: :func:`plain`, :func:`styled`, :func:`mailto`, :class:`MarkdownText`.
"""

from __future__ import annotations

import re
import string
import unicodedata
from urllib.parse import quote

#: The title, author and affiliation a proposed study file starts with (``map``): visible
#: placeholders, listed at the end of the render until the team writes its own.
TEMPLATE_TITLE = "[to be completed: the study's title (study file: title)]"
TEMPLATE_AUTHOR = "[to be completed: the authors (study file: authors)]"
TEMPLATE_AFFILIATION = "[to be completed: the affiliation (study file: authors)]"

#: ASCII punctuation: each has a meaning somewhere in Pandoc's or Quarto's Markdown (``<``
#: raw HTML, ``@`` citations, ``!``/``[`` images and links, ``$`` math, backticks raw
#: code/Typst/LaTeX, ``{``/``}`` attributes and shortcodes, ``#`` headings, ``|`` tables,
#: ``:`` divs, ``&`` entities, ``-`` lists and dashes...). Quotes are left to Pandoc's
#: typographic quotes (a pair of them only ever makes quoted text).
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation.replace("'", "").replace('"', "")) + "])")
#: Line breaks, tabs and other control characters (a Markdown line break would end a
#: paragraph or start a block); also the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
#: Unicode's explicit bidirectional formatting characters (UAX #9): embeddings and overrides
#: U+202A-U+202E, isolates U+2066-U+2069. A right-to-left override (U+202E) makes a title
#: display its text reversed ("Trojan Source", CVE-2021-42574): they are left out. The
#: implicit marks (U+200E, U+200F, U+061C), which reorder nothing but neutral characters
#: next to them, stay for names written in right-to-left scripts.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

#: The allow-list of :func:`styled`: strong, emphasis (no space inside the markers), and
#: super/subscripts (no space at all, as Pandoc requires).
_STYLE = re.compile(
    r"\*\*(?P<strong>(?=\S)[^*]+?(?<=\S))\*\*"
    r"|\*(?P<emph>(?=\S)[^*]+?(?<=\S))\*"
    r"|\^(?P<sup>[^\s^]+)\^"
    r"|~(?P<sub>[^\s~]+)~"
)
_MARKERS = {"strong": "**", "emph": "*", "sup": "^", "sub": "~"}
#: ASCII characters a super/subscript may hold: none is Markdown syntax on its own or with
#: the others (Pandoc re-reads the inside of ``^...^``/``~...~`` with escapes undone).
_SCRIPT_ASCII = frozenset(string.ascii_letters + string.digits + "+-.,/%=()")


def _script_safe(inner: str) -> bool:
    """Whether ``inner`` can be a super/subscript's text however often Pandoc reads it:
    the ASCII of :data:`_SCRIPT_ASCII`, and non-ASCII letters, digits, marks, symbols and
    punctuation (never Markdown syntax); no space, control or format character."""
    return all(c in _SCRIPT_ASCII if c.isascii() else unicodedata.category(c)[0] in "LNMSP" for c in inner)


#: An e-mail address shown as a link (WHATWG HTML's "valid e-mail address", ASCII only).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


class MarkdownText(str):
    """A string of Pandoc Markdown (see the module docstring): displayed as ``text/markdown``."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return str(self)


def _one_line(text: object) -> str:
    text = _SPACES.sub(" ", _CONTROL.sub(" ", _BIDI.sub("", str(text)))).strip()
    # Quarto looks for shortcodes in the text of metadata (title, subtitle) after Markdown
    # is read, escapes or not: "{{< env HOME >}}" in a title would print an environment
    # variable, "{{< include FILE >}}" fails the render. A zero-width space keeps the
    # delimiters from being seen (and the text from looking any different).
    return text.replace("{{<", "{{\u200b<").replace(">}}", ">\u200b}}")


def _escape(text: str) -> str:
    return _PUNCTUATION.sub(r"\\\1", text)


def plain(text: object) -> MarkdownText:
    """``text`` as Markdown that Pandoc reads back as exactly this text (whitespace
    collapsed to single spaces): ``plain("<b>@x</b>")`` -> ``\\<b\\>\\@x\\</b\\>``."""
    return MarkdownText(_escape(_one_line(text)))


def styled(text: object) -> MarkdownText:
    """Like :func:`plain`, keeping the allow-listed styles: ``styled("CD19^+^ *in vivo*")``
    -> ``CD19^\\+^ *in vivo*``; anything else is text."""
    return MarkdownText(_styled(_one_line(text)))


def _styled(text: str) -> str:
    out, at = [], 0
    for m in _STYLE.finditer(text):
        out.append(_escape(text[at : m.start()]))
        kind = m.lastgroup
        assert kind is not None
        inner = m.group(kind)
        if kind in ("sup", "sub") and not _script_safe(inner):
            out.append(_escape(m.group(0)))  # text, markers included
        else:
            # styles nest one level (strong or emphasis around a super/subscript)
            content = _styled(inner) if kind in ("strong", "emph") else _escape(inner)
            out.append(f"{_MARKERS[kind]}{content}{_MARKERS[kind]}")
        at = m.end()
    out.append(_escape(text[at:]))
    return "".join(out)


def mailto(address: object) -> MarkdownText:
    """A ``mailto:`` link showing the address, or the text itself when it is not an
    e-mail address (never a raw autolink ``<...>``, which Pandoc would read as HTML)."""
    text = _one_line(address)
    if not _EMAIL.fullmatch(text):
        return plain(text)
    return MarkdownText(f"[{_escape(text)}](mailto:{quote(text, safe='@.-_')})")
