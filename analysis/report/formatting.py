"""How numbers are printed: one place for prose, tables and figures.

Conventions (the same everywhere in the report):

* p-values: three decimals, ``"p = 0.342"``; below 0.001 ``"p < 0.001"``; a value that
  rounds to 1 at three decimals prints ``"p > 0.99"`` (a table cell ``">0.99"``), never
  ``"p = 1.000"`` (no test gives certainty; Holm-adjusted values capped at 1 included).
  A p whose three decimals would print the study's alpha (0.05 unless the study sets
  another), or put it on the other side of it, gets the digits that show its side: 0.0496 ->
  ``"p = 0.0496"``, 0.0504 -> ``"p = 0.0504"``, never ``"p = 0.050"`` for both (the printed
  p and the verdict agree). Nowhere else: 0.1002 prints ``"p = 0.100"`` and 0.0103 ``"p =
  0.010"`` (review 30, finding 10: four digits near 0.01 and 0.1, where no verdict is
  drawn, read as an inconsistent precision).
* A statistic that could not be estimated (``None`` or NaN) never prints as
  "nan" or "None": prose gets :data:`NOT_ESTIMABLE` ("not estimable", with the
  reason in parentheses when one is known), table cells get :data:`CELL_MISSING`
  (an em dash). Every formatter takes ``missing=`` to choose; tables pass
  ``missing=CELL_MISSING``.
* Counts and whole numbers: integers with thousands separators ("27,231").
  Other numbers: one decimal ("3.1"); non-zero values below 0.1 keep two
  significant digits so they never collapse to "0.0"; from 1,000 on, whole numbers
  ("10,953", not "10,952.9": the decimal is noise at that size).
* Numbers shown together (a median and its range, a CI) share one precision, that of the
  most precise number the rule above gives any of them (whole numbers when any is 1,000 or
  more, at most two decimals when any is 0.1 or more): "0.3 (0.1–5.0)", never
  "0.3 (0.1–5)"; "12 (2–70)" when all are whole; "10,953 (12–27,231)"; "1.15 (0.02–3.00)".
* Percentages: one decimal ("92.5%"). Hazard and odds ratios: two decimals; a limit below
  0.01 keeps one significant digit and the other numbers of its interval take as many
  decimals ("0.26 (0.002–2.360)", never "0.002–2.36" nor "0.00–2.36"); a limit that is not 1
  but would print as 1 takes the decimals that show its side of 1, and so do the other
  numbers of its interval ("0.9950 (0.9900–0.9997)", never "1.00 (0.99–1.00)").
* Counts: :func:`fmt_count` ("1,234"), in prose, tables and figure labels alike.
* Ranges use an en dash ("2–70").
* Rounding is half up on the number's shortest decimal form (1.15 -> "1.2"),
  which is what a reader checking by hand expects.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from analysis.registry.concepts import OPTIONS

NOT_ESTIMABLE = "not estimable"
CELL_MISSING = "—"

#: The significance level a printed p must never seem to sit on, or on the wrong side of
#: (:func:`fmt_p_bare`), where the caller does not pass the study's own: the plan's default.
DEFAULT_ALPHA = OPTIONS["alpha"].default
#: The most decimals a p-value or a ratio limit near a boundary gets.
MAX_DECIMALS = 8

__all__ = [
    "CELL_MISSING",
    "NOT_ESTIMABLE",
    "fmt_ci",
    "fmt_count",
    "fmt_count_pct",
    "RATIO_RULE",
    "WHOLE",
    "fmt_median",
    "fmt_hr",
    "ratio_decimals",
    "fmt_hr_ci",
    "fmt_median_range",
    "fmt_month",
    "fmt_months",
    "fmt_n_of",
    "fmt_number",
    "fmt_numbers",
    "fmt_p",
    "fmt_p_bare",
    "fmt_pct",
    "fmt_ratio_ci",
    "fmt_shift_ci",
    "fmt_signed",
    "fmt_tick",
    "is_missing",
    "number_words",
    "sentence_start",
    "sentences_starting_with_numeral",
    "shared_decimals",
]


def is_missing(x) -> bool:
    """True for None, NaN and infinities (an infinite bound is not a printable estimate)."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _fixed(x: float, decimals: int, thousands: bool = False) -> str:
    """Round half up on the shortest decimal form of ``x``, as a reader would by hand.

    Binary floats make ``f"{1.15:.1f}"`` print "1.1"; the printed value of 1.15 is "1.2".
    """
    rounded = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.0"
    return f"{rounded:,f}" if thousands else f"{rounded:f}"


def _missing_text(missing: str, reason: str | None) -> str:
    if reason and missing == NOT_ESTIMABLE:
        return f"{NOT_ESTIMABLE} ({reason})"
    return missing


def fmt_p_bare(p, reason: str | None = None, missing: str = CELL_MISSING, alpha: float | None = None) -> str:
    """A p-value for a table cell: ``"0.342"``, ``"<0.001"``, ``">0.99"`` (it rounds to 1);
    missing -> "—". Next to the study's ``alpha`` (:data:`DEFAULT_ALPHA` when not given) the
    digits that show its side, ``"0.0496"``; three decimals everywhere else (``"0.100"``)."""
    if is_missing(p):
        return _missing_text(missing, reason)
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value must lie in [0, 1], got {p!r}")
    if p < 0.001:
        return "<0.001"
    levels = (DEFAULT_ALPHA if alpha is None else float(alpha),)
    decimals = 3
    while decimals < MAX_DECIMALS and not _p_side_shown(p, _fixed(p, decimals), levels):
        decimals += 1
    text = _fixed(p, decimals)
    return ">0.99" if float(text) == 1.0 else text


def _p_side_shown(p: float, text: str, levels) -> bool:
    """Whether a printed p reads on the same side of every level as p itself, and does not
    print a level it is not equal to ("0.050" for 0.0496 or 0.0504)."""
    printed = float(text)
    return all((printed < a) == (p < a) and (printed != a or p == a) for a in levels)


def fmt_p(p, reason: str | None = None, missing: str = NOT_ESTIMABLE, alpha: float | None = None) -> str:
    """A p-value for prose and figures: ``"p = 0.342"``, ``"p < 0.001"``, ``"p > 0.99"``;
    ``"p = 0.0496"`` next to the study's alpha (:func:`fmt_p_bare`).

    ``fmt_p(None, "no events")`` -> ``"not estimable (no events)"``.
    """
    if is_missing(p):
        return _missing_text(missing, reason)
    bare = fmt_p_bare(p, alpha=alpha)
    return f"p {bare[0]} {bare[1:]}" if bare.startswith(("<", ">")) else f"p = {bare}"


def _decimals(x: float) -> int:
    """Decimals :func:`fmt_number` gives ``x``: 0 for whole numbers and from 1,000 on, two
    significant digits below 0.1, else one."""
    if x == round(x) or abs(x) >= 1000:
        return 0
    if abs(x) < 0.1:
        return 1 - math.floor(math.log10(abs(x)))  # two significant digits, never "1e-05"
    return 1


def fmt_number(x, missing: str = NOT_ESTIMABLE, decimals: int | None = None) -> str:
    """A descriptive number: ``27231`` -> ``"27,231"``, ``3.14`` -> ``"3.1"``, ``0.042`` -> ``"0.042"``,
    ``10952.9`` -> ``"10,953"``; ``decimals`` forces a precision (numbers shown together)."""
    if is_missing(x):
        return missing
    x = float(x)
    return _fixed(x, _decimals(x) if decimals is None else decimals, thousands=True)


def shared_decimals(*values) -> int:
    """One precision for numbers shown together: the largest :func:`fmt_number` would give any
    of them, but at most one decimal when any is 1,000 or more ("10,953 (12–27,231)")."""
    finite = [float(v) for v in values if not is_missing(v)]
    if not finite:
        return 0
    decimals = max(_decimals(v) for v in finite)
    if any(abs(v) >= 1000 for v in finite):
        decimals = 0
    elif decimals > 2 and any(abs(v) >= 0.1 for v in finite):
        decimals = 2  # "1.15 (0.02–3.00)": a small minimum does not lengthen the others
    return decimals


def fmt_numbers(*values, missing: str = NOT_ESTIMABLE) -> list[str]:
    """Several numbers at one precision (:func:`shared_decimals`): ``fmt_numbers(0.3, 0.1, 5)``
    -> ``['0.3', '0.1', '5.0']``."""
    decimals = shared_decimals(*values)
    return [fmt_number(v, missing, decimals) for v in values]


#: The precision of a row of whole numbers (counts such as prior lines or relapses, ages in
#: whole years): whole minimum and maximum, and a median with one decimal only where it falls
#: halfway between two ("3.5 (0–13)" beside "4 (0–7)"; review 29, finding 15: counts were
#: summarised as "4.0 (0.0–13.0)" and ages as "27.5 (2.0–70.0)").
WHOLE = -1


def _whole(value) -> bool:
    return not is_missing(value) and float(value).is_integer()


def row_decimals(*distributions) -> int:
    """One precision for every median (range) of one variable (a row of Table 1 and of the
    course table, across its columns, and the text's median (range) of the variable): the
    :func:`shared_decimals` of the medians, minima and maxima of all its ``distributions``
    (objects with ``median``, ``min`` and ``max``; ``None`` is skipped): "3.5 (1.5–13.0)" beside
    "4.0 (0.5–7.0)", never beside "4 (0–7)". A row of whole numbers under 1,000 (every minimum
    and maximum whole, every median whole or halfway) is :data:`WHOLE`."""
    shown = [d for d in distributions if d is not None and not is_missing(d.median)]
    values = [x for d in shown for x in (d.median, d.min, d.max)]
    if (
        shown
        and all(_whole(d.min) and _whole(d.max) and _whole(2 * float(d.median)) for d in shown)
        and all(abs(float(v)) < 1000 for v in values)
    ):
        return WHOLE
    return shared_decimals(*(x for d in distributions if d is not None for x in (d.median, d.min, d.max)))


def fmt_median(median, decimals: int | None = None, missing: str = NOT_ESTIMABLE) -> str:
    """A median at its row's precision (:func:`row_decimals`): under :data:`WHOLE`, "4" or "3.5"."""
    if decimals == WHOLE:
        return fmt_number(median, missing, 0 if _whole(median) else 1)
    return fmt_number(median, missing, decimals)


def fmt_median_range(median, low, high, missing: str = NOT_ESTIMABLE, decimals: int | None = None) -> str:
    """``"31 (2–70)"``, ``"0.3 (0.1–5.0)"``: the three numbers at one precision
    (:func:`fmt_numbers`; ``decimals``: the precision of the variable's row, :func:`row_decimals`;
    :data:`WHOLE`: "27.5 (2–70)"). A missing median (no values) prints ``missing`` alone.
    """
    if is_missing(median):
        return missing
    if decimals == WHOLE:
        return f"{fmt_median(median, WHOLE, missing)} ({fmt_number(low, missing, 0)}–{fmt_number(high, missing, 0)})"
    if decimals is None:
        decimals = shared_decimals(median, low, high)
    m, lo, hi = (fmt_number(v, missing, decimals) for v in (median, low, high))
    return f"{m} ({lo}–{hi})"


def fmt_pct(percent, digits: int = 1, missing: str = NOT_ESTIMABLE) -> str:
    """A percentage given on the 0–100 scale: ``92.473`` -> ``"92.5%"``."""
    if is_missing(percent):
        return missing
    return f"{_fixed(percent, digits)}%"


def fmt_n_of(k, n, missing: str = NOT_ESTIMABLE) -> str:
    """``fmt_n_of(86, 93)`` -> ``"86 of 93 (92.5%)"``; with ``n == 0`` the percentage is missing."""
    if is_missing(k) or is_missing(n):
        return missing
    k, n = int(k), int(n)
    percent = fmt_pct(100.0 * k / n) if n > 0 else missing
    return f"{k:,} of {n:,} ({percent})"


def fmt_count(n, missing: str = NOT_ESTIMABLE) -> str:
    """A count with thousands separators, in prose, tables and figure labels: ``1234`` ->
    ``"1,234"``; a count that is not whole is a number (:func:`fmt_number`)."""
    if is_missing(n):
        return missing
    return f"{int(n):,}" if float(n) == int(n) else fmt_number(n, missing)


def fmt_count_noun(n, noun: str, plural: str | None = None, missing: str = NOT_ESTIMABLE) -> str:
    """A count with its noun, singular for one: ``fmt_count_noun(1, "patient")`` -> ``"1 patient"``,
    ``fmt_count_noun(93, "patient")`` -> ``"93 patients"``, ``fmt_count_noun(0, "center")`` ->
    ``"0 centers"``; ``plural`` for a noun that does not take an s."""
    if is_missing(n):
        return missing
    return f"{fmt_count(n)} {noun if n == 1 else plural or noun + 's'}"


def fmt_tick(x) -> str:
    """An axis tick or a nominal value as given (no trailing zeros), with thousands
    separators: ``0.25`` -> ``"0.25"``, ``1095`` -> ``"1,095"``."""
    return f"{float(x):,g}"


def fmt_count_pct(k, percent, missing: str = CELL_MISSING) -> str:
    """A table cell ``"41 (54.0%)"``; the percentage is supplied (0–100), never recomputed."""
    if is_missing(k):
        return missing
    return f"{int(k):,} ({fmt_pct(percent, missing=missing)})"


#: The one rule for ratios (HR, OR, Hodges–Lehmann ratios, E-values), stated in the Methods:
#: two decimals; a value that two decimals would print as 0.00 prints "<0.01" (review 29,
#: finding 15: "0.265 (0.002–2.360)" beside "0.49 (0.07–5.64)"); a confidence limit within
#: 0.005 of 1 (but not 1) gets three decimals, or more when three still print 1 (0.9997:
#: attack 29), with the estimate and the other limit, to show on which side of 1 it lies
#: ("0.570 (0.320–0.998)", not "0.57 (0.32–1.00)"; review 28).
RATIO_RULE = (
    "Ratios have two decimals, more when a confidence limit would otherwise print as 1 (to show its side of 1), "
    "and <0.01 below 0.005."
)
_BELOW = 0.005  # two decimals print anything smaller as 0.00


def _ratio_decimals(*values, limits: tuple = ()) -> int:
    """Decimals of ratios shown together (an estimate and the ``limits`` of its interval): two,
    or more when a confidence limit that is not 1 would print as 1 (0.998 -> 3, 0.9997 -> 4:
    its side of 1 shows), for every one of them (:data:`RATIO_RULE`)."""
    # a limit near 1 but not 1 gets the decimals that show on which side of 1 it lies
    # ("0.32–0.998", not "0.32–1.00", which reads as touching the null; review 28, attack 29)
    near_one = [_one_side_decimals(float(v)) for v in limits if not is_missing(v) and float(v) != 1.0]
    return max([2, *near_one])


def _one_side_decimals(limit: float) -> int:
    """The fewest decimals (at least two, at most :data:`MAX_DECIMALS`) at which ``limit``
    does not print as 1: 0.998 -> 3, 0.9997 -> 4, 1.00004 -> 5, 0.62 -> 2."""
    decimals = 2
    while decimals < MAX_DECIMALS and Decimal(_fixed(limit, decimals)) == 1:
        decimals += 1
    return decimals


def _ratio(x, decimals: int | None = None) -> str:
    """A ratio at ``decimals`` (default :func:`_ratio_decimals`); a positive value two decimals
    would print as 0.00 is "<0.01" (a Firth or exact limit of 0.0003 must not read as zero)."""
    if 0 < abs(float(x)) < _BELOW:
        return "<0.01"
    return _fixed(float(x), _ratio_decimals(x) if decimals is None else decimals)


def fmt_hr(hr, missing: str = NOT_ESTIMABLE, decimals: int | None = None) -> str:
    """A hazard (or odds) ratio with two decimals: ``"2.02"``; ``"<0.01"`` below 0.005;
    ``decimals``: the precision of the interval shown with it (:func:`ratio_decimals`)."""
    return missing if is_missing(hr) else _ratio(hr, decimals)


def ratio_decimals(estimate, low, high) -> int:
    """The one precision of an estimate and its interval shown in separate cells or pieces
    (:data:`RATIO_RULE`): ``ratio_decimals(0.63, 0.392, 1.001)`` -> 3 (the table printed
    "0.63 (0.392–1.001)", review 29, finding 15)."""
    return _ratio_decimals(estimate, limits=(low, high))


def fmt_ci(low, high, missing: str = NOT_ESTIMABLE, decimals: int | None = None) -> str:
    """A confidence interval of a ratio ``"0.65–6.26"``: both limits at one precision
    (:data:`RATIO_RULE`: ``"<0.01–2.36"``, ``"0.320–0.998"``); either bound missing
    -> ``missing``. ``decimals``: the precision of the estimate shown with it."""
    if is_missing(low) or is_missing(high):
        return missing
    d = _ratio_decimals(limits=(low, high)) if decimals is None else decimals
    return f"{_ratio(low, d)}–{_ratio(high, d)}"


def fmt_hr_ci(hr, low, high, missing: str = NOT_ESTIMABLE) -> str:
    """``"2.02 (0.65–6.26)"``, ``"0.26 (<0.01–2.36)"`` (one precision for the three); an HR
    without a finite interval prints ``"2.02 (95% CI <missing>)"``."""
    if is_missing(hr):
        return missing
    if is_missing(low) or is_missing(high):
        return f"{fmt_hr(hr)} (95% CI {missing})"
    d = _ratio_decimals(hr, limits=(low, high))
    return f"{_ratio(hr, d)} ({fmt_ci(low, high, decimals=d)})"


def fmt_ratio_ci(name: str, estimate, low, high, missing: str = NOT_ESTIMABLE) -> str:
    """A named ratio with its interval for prose: ``"HR 2.02 (95% CI 0.65–6.26)"``,
    ``"Firth OR 0.26 (95% CI <0.01–2.36)"``; a missing or infinite limit:
    ``"HR 2.02 (95% CI not estimable)"``."""
    if is_missing(estimate):
        return f"{name} {missing}".strip()
    if is_missing(low) or is_missing(high):
        return f"{name} {fmt_hr(estimate)} (95% CI {missing})".strip()
    d = _ratio_decimals(estimate, limits=(low, high))
    return f"{name} {_ratio(estimate, d)} (95% CI {fmt_ci(low, high, decimals=d)})".strip()


def fmt_signed(x, decimals: int = 1, missing: str = NOT_ESTIMABLE) -> str:
    """A signed number with a true minus sign and no negative zero: ``-3.99`` -> ``"−4.0"``,
    ``-0.00003`` -> ``"0.0"`` (a location shift in days)."""
    if is_missing(x):
        return missing
    text = _fixed(float(x), decimals, thousands=True)
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def fmt_shift_ci(estimate, low, high, missing: str = NOT_ESTIMABLE) -> str:
    """A shift with its interval: ``"−3.8 (−7.0 to 0.0)"`` ("to": the limits may be negative)."""
    if is_missing(estimate):
        return missing
    if is_missing(low) or is_missing(high):
        return f"{fmt_signed(estimate)} (95% CI {missing})"
    return f"{fmt_signed(estimate)} ({fmt_signed(low)} to {fmt_signed(high)})"


def fmt_date(day) -> str:
    """A date as a reader writes it: '1 March 2023' (the data cut-off; never a patient's date)."""
    return f"{day.day} {day.strftime('%B %Y')}"


def fmt_month(value) -> str:
    """A month as a reader writes it, never a day: '2016-05' (or a date) -> 'May 2016'."""
    day = dt.date.fromisoformat(f"{value}-01") if isinstance(value, str) else value
    return day.strftime("%B %Y")


def fmt_months(x, missing: str = NOT_ESTIMABLE) -> str:
    """``38.27`` -> ``"38.3 months"`` (one decimal)."""
    if is_missing(x):
        return missing
    return f"{_fixed(x, 1)} months"


def and_list(items, last: str = "and", separator: str = ", ") -> str:
    """One list-joining rule for every list of the prose (US style, with the serial comma):
    'a', 'a and b', 'a, b, and c'; ``last="or"``: 'a, b, or c'. Items that hold commas
    themselves are joined with ``separator="; "``: 'a, x; b; and c'."""
    items = [str(x) for x in items]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {last} {items[1]}"
    return separator.join(items[:-1]) + f"{separator.rstrip()} {last} " + items[-1]


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """A whole number in words, as US journals spell it at the start of a sentence (no 'and'):
    ``15`` -> 'fifteen', ``93`` -> 'ninety-three', ``139`` -> 'one hundred thirty-nine',
    ``1204`` -> 'one thousand two hundred four'."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, rest = divmod(n, size)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


_LEADING_COUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?![\d.,]\d)")


def sentence_start(text: str) -> str:
    """Text that begins a sentence: a leading whole number is spelt out and capitalised, as
    journals forbid a sentence beginning with a numeral (``'15 of 93 (16.1%) patients'`` ->
    ``'Fifteen of 93 (16.1%) patients'``, ``'1,204 patients'`` -> ``'One thousand two hundred
    four patients'``); any other text gets a capital first letter. A leading decimal
    (``'5.6 months'``) cannot be spelt: the sentence must be reordered, which
    :func:`starts_with_numeral` lets a test find."""
    text = str(text)
    m = _LEADING_COUNT.match(text)
    if m:
        words = number_words(int(m.group(1).replace(",", "")))
        return words[:1].upper() + words[1:] + text[m.end() :]
    return text[:1].upper() + text[1:]


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=\S)")


def sentences_starting_with_numeral(paragraph: str) -> list[str]:
    """The sentences of a paragraph of prose that begin with a digit (journals forbid them):
    a sentence begins at the paragraph's start or after '.', '?' or '!' and a space; an
    abbreviation such as 'vs.' or 'e.g.' followed by a number is not a sentence end."""
    found = []
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(paragraph)]
    for start in starts:
        before = paragraph[max(0, start - 6) : start].rstrip()
        if start and re.search(r"(?:\b(?:vs|e\.g|i\.e|no|ref|approx|Fig|cf)\.)$", before, flags=re.IGNORECASE):
            continue
        if paragraph[start : start + 1].isdigit():
            found.append(paragraph[start : start + 60])
    return found
