"""Tables of the manuscript (Table 1, Table 2, reproduction check) from typed results.

Presentation only: nothing here computes a statistic. Each builder returns a
:class:`Table`, which a Jupyter/Quarto chunk displays in two representations
from one description, so they cannot disagree:

* ``_repr_html_`` — a great-tables ``GT`` (spanners, footnote marks) for HTML;
* ``_repr_markdown_`` — a Pandoc pipe table and its footnotes as a paragraph,
  for PDF (Typst) and DOCX. Pipe tables have no spanning headers, so each
  column header names its group in full ("No CRS (n = 17)"); the dashes of the
  separator line set the relative column widths, which Pandoc honours because
  the separator line is longer than its 72-column default.

Text that comes from data is escaped in both representations (HTML by
great-tables, Markdown by backslash-escaping its inline syntax characters).
No patient identifier ever reaches a table: the builders read aggregated
results only. Missing statistics print as an em dash (formatting.CELL_MISSING).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # imported where a table is drawn: restoring cached results skips it
    from great_tables import GT

from analysis.estimators.absolute import SurvivalDifferences
from analysis.estimators.centers import CENTER_COUNTS, CENTER_RESPONSES, OTHER_CENTERS, CenterRow, CenterSupplement
from analysis.estimators.comparisons import CategoricalLevel, Comparison, ContinuousLevel
from analysis.estimators.competing import CIF_MONTHS, CompetingRisks, summary_rows
from analysis.estimators.cox import EPV_RULE, FIRTH, CoxResult, exposure_term_key
from analysis.estimators.effects import UnivariableCox, reference_level
from analysis.estimators.functional import FunctionalForm
from analysis.estimators.kinetics import KineticsComparison
from analysis.estimators.multiplicity import EValue
from analysis.estimators.survival import KMSummary, SurvivalComparison
from analysis.estimators.transplant import HSCT_ENDPOINTS, HSCT_GROUPINGS, HSCT_LABEL, TransplantAnalysis
from analysis.registry.concepts import (
    ENDPOINTS,
    KINETIC_METRICS,
    KINETICS_SELECTION_VARIABLES,
    OPTIONS,
    ROUNDING_RULE,
    SOFTWARE,
    SURVIVAL_DIFFERENCE_CI,
    SURVIVAL_P_AND_CI,
    TESTS,
    VARIABLES,
    Variable,
)
from analysis.registry.groups import (
    GROUPINGS,
    KINETICS_DATA,
    KINETICS_TABLE_GROUPINGS,
    REFERENCE_LEVELS,
    TABLE1_GROUPINGS,
    Grouping,
)
from analysis.registry.groups import MAIN_GROUPINGS as MAIN_GROUPINGS  # for the sections: tables.MAIN_GROUPINGS
from analysis.report.formatting import (
    CELL_MISSING,
    and_list,
    fmt_ci,
    fmt_count,
    fmt_count_pct,
    fmt_hr,
    fmt_hr_ci,
    fmt_median_range,
    fmt_month,
    fmt_number,
    fmt_p,
    fmt_p_bare,
    fmt_pct,
    fmt_shift_ci,
    fmt_signed,
    is_missing,
    ratio_decimals,
    row_decimals,
)
from analysis.report.narrative.parts import relaxed_terms
from analysis.report.pvalues import PValueTable, family_display, ph_term_label

_INDENT = "\u2003"  # em space: survives Pandoc (leading ASCII spaces in a cell do not)


# --------------------------------------------------------------------------- the two-faced table


@dataclass(frozen=True)
class Cell:
    """A table cell: plain text (escaped when rendered) and an optional footnote mark.
    ``md``: the Markdown (PDF, DOCX) to show instead of the escaped text, e.g. with raw Typst
    that finds a page number as the PDF is typeset."""

    text: str
    mark: str | None = None
    md: str | None = None


@dataclass
class _Spec:
    """One table, described once and rendered to both HTML and Markdown."""

    columns: list[str]  # column ids, the first is the row label (stub)
    md_headers: list[str]  # Markdown header per column (full names)
    html_headers: list[str]  # GT column label per column (under its spanner)
    widths: list[int]  # relative widths (Markdown separator dashes)
    rows: list[list[Cell]] = field(default_factory=list)
    row_kinds: list[str] = field(default_factory=list)  # "group" | "variable" | "sub"
    spanners: list[tuple[str, list[str]]] = field(default_factory=list)
    marked_columns: list[str] = field(default_factory=list)  # columns whose cells carry marks
    footnotes: list[tuple[str | None, str]] = field(default_factory=list)  # (mark, text)
    left: list[str] = field(default_factory=list)  # columns of text, aligned left (others centred)
    #: widen the label column to its longest label (False: a table of long labels, which wrap,
    #: whose other columns need their width: the reproduction table)
    fit_label: bool = True

    def add(self, kind: str, *cells: Cell | str) -> None:
        row = [c if isinstance(c, Cell) else Cell(c) for c in cells]
        row += [Cell("")] * (len(self.columns) - len(row))
        self.rows.append(row)
        self.row_kinds.append(kind)


class Table:
    """A table for a notebook chunk: GT HTML for HTML output, a pipe table for PDF/DOCX."""

    def __init__(self, spec: _Spec):
        self._spec = spec
        self.gt = _to_gt(spec)
        self.markdown = _to_markdown(spec)

    def _repr_html_(self) -> str:
        return self.gt.as_raw_html()

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:  # plain-text fallback: the Markdown is readable as is
        return self.markdown


# Characters with an inline meaning in Pandoc Markdown (emphasis, links, raw HTML,
# entities, citations, math, sub/superscript, table pipes).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~^$@&])")


def md_escape(text: str) -> str:
    """Backslash-escape Markdown's inline syntax: data text renders literally in Pandoc."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _md_cell(cell: Cell, bold: bool = False) -> str:
    if cell.md is not None:
        return cell.md
    lead = len(cell.text) - len(cell.text.lstrip(_INDENT))
    body = md_escape(cell.text[lead:])
    if bold and body:
        body = f"**{body}**"
    mark = f"^{cell.mark}^" if cell.mark else ""
    return cell.text[:lead] + body + mark


#: Characters of table text (8 pt in the PDF, typst-include.typ) that the full text width
#: holds, a cell's padding deducted: measured on the demo's PDF, where a 17% column holds
#: "Prior therapy lines" (19) but not "Primary refractory" behind its indent. A row label
#: (the first column) gets at least the share of the width its longest label needs, so that
#: no label wraps (the other columns give it up in proportion).
TABLE_LINE_CHARS = 108
#: What a cell adds to its text's characters (padding), and an indent's em space counts as 2.
_CELL_PAD_CHARS, _INDENT_CHARS, _BOLD_FACTOR = 2.5, 2.0, 1.08


def _label_chars(cell: Cell, bold: bool) -> float:
    """How many characters of plain table text a row label is as wide as."""
    text = cell.text
    lead = len(text) - len(text.lstrip(_INDENT))
    chars = lead * _INDENT_CHARS + len(text[lead:]) + (len(cell.mark) if cell.mark else 0)
    return chars * (_BOLD_FACTOR if bold else 1.0)


def fitted_widths(spec: _Spec) -> list[int]:
    """The relative column widths of the PDF/DOCX table: ``spec.widths``, the first column
    widened to the share its longest label needs (:data:`TABLE_LINE_CHARS`) when it has less,
    and every other column to the share the longest word of its header needs (so that no
    header runs into its neighbour: review 30), on a scale of 200 when changed. The other
    columns give up width in proportion; the label column gives some back, down to its own
    share in ``spec.widths``, only when the headers need it. A group label alone in its row
    spans the row (filters/group-rows.lua) and needs no width."""
    labels = [
        _label_chars(row[0], bold=(kind == "group"))
        for kind, row in zip(spec.row_kinds, spec.rows)
        if row[0].md is None and not (kind == "group" and not any(c.text for c in row[1:]))
    ]
    total = sum(spec.widths)
    shares = [w / total for w in spec.widths]
    need = min(0.6, (max(labels, default=0.0) + _CELL_PAD_CHARS) / TABLE_LINE_CHARS) if spec.fit_label else 0.0
    header_need = [
        (max((len(word) for word in str(h).split()), default=0) + _CELL_PAD_CHARS) / TABLE_LINE_CHARS
        for h in spec.md_headers[1:]
    ]
    if shares[0] >= need and all(s >= m for s, m in zip(shares[1:], header_need)):
        return list(spec.widths)
    if not spec.fit_label:  # every column, the label's too, gives up width for the headers
        return [max(3, round(200 * w)) for w in _shares_with_minimum(shares, [0.0, *header_need], 1.0)]
    first = max(shares[0], min(need, 1 - sum(header_need)))
    others = _shares_with_minimum(shares[1:], header_need, 1 - first)
    return [round(200 * first)] + [max(3, round(200 * w)) for w in others]


def _shares_with_minimum(shares: list[float], minimum: list[float], room: float) -> list[float]:
    """``shares`` scaled to sum to ``room``, none below its ``minimum`` where the room allows
    (the columns above their minimum give up width in proportion)."""
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(shares)) if i not in fixed]
        left = room - sum(fixed.values())
        weight = sum(shares[i] for i in free)
        scaled = {i: left * shares[i] / weight for i in free} if weight > 0 else {}
        short = [i for i in free if scaled[i] < minimum[i]]
        if not short or left <= 0:
            break
        for i in short:
            fixed[i] = minimum[i]
    out = [fixed.get(i, scaled.get(i, 0.0)) for i in range(len(shares))]
    total = sum(out)
    return [w * room / total for w in out] if total > room > 0 else out


def _to_markdown(spec: _Spec) -> str:
    header = "| " + " | ".join(md_escape(h) for h in spec.md_headers) + " |"
    separator = (
        "|"
        + "|".join(
            (":" + "-" * max(3, w) + ("" if i == 0 or spec.columns[i] in spec.left else ":"))
            for i, w in enumerate(fitted_widths(spec))
        )
        + "|"
    )
    lines = [header, separator]
    for kind, row in zip(spec.row_kinds, spec.rows):
        cells = [_md_cell(c, bold=(kind == "group" and i == 0)) for i, c in enumerate(row)]
        if kind == "group" and cells[0] and row[0].md is None and not any(c.text for c in row[1:]):
            # a label alone in its row: printed on one line across the empty cells in the PDF
            # (filters/group-rows.lua), not broken in the narrow first column
            cells[0] = f"[{cells[0]}]{{.cx-group}}"
        lines.append("| " + " | ".join(cells) + " |")
    notes = " ".join(
        (f"^{mark}^ " if mark else "") + md_escape(text).rstrip("\\.") + "." for mark, text in spec.footnotes
    )
    return "\n".join(lines) + ("\n\n" + notes if notes else "") + "\n"


def _html_marked(cell: Cell) -> str:
    # Generated cells only (numbers and marks); escaped anyway, then the mark as <sup>.
    return html.escape(cell.text) + (f"<sup>{html.escape(cell.mark)}</sup>" if cell.mark else "")


def _to_gt(spec: _Spec) -> GT:
    from great_tables import GT, loc, style

    data = {}
    for j, col in enumerate(spec.columns):
        if col in spec.marked_columns:
            data[col] = [_html_marked(row[j]) for row in spec.rows]
        else:
            data[col] = [row[j].text.lstrip(_INDENT) for row in spec.rows]
    frame = pd.DataFrame(data)
    table = GT(frame, rowname_col=spec.columns[0])
    table = table.cols_label(cases=dict(zip(spec.columns[1:], spec.html_headers[1:])))
    if spec.html_headers[0]:
        table = table.tab_stubhead(spec.html_headers[0])
    for label, columns in spec.spanners:
        table = table.tab_spanner(label=label, columns=columns, id=f"spanner-{columns[0]}")
    if spec.marked_columns:
        # markdown rendering of generated HTML only: it turns the <sup> mark into a tag
        table = table.fmt_markdown(columns=spec.marked_columns)
    table = table.cols_align("center", columns=[c for c in spec.columns[1:] if c not in spec.left])
    if spec.left:
        table = table.cols_align("left", columns=spec.left)
    sub_rows = [i for i, k in enumerate(spec.row_kinds) if k == "sub"]
    if sub_rows:
        table = table.tab_stub_indent(rows=sub_rows, indent=2)
    group_rows = [i for i, k in enumerate(spec.row_kinds) if k == "group"]
    if group_rows:
        table = table.tab_style(style.text(weight="bold"), loc.stub(rows=group_rows))
    for mark, text in spec.footnotes:
        table = table.tab_source_note(f"{mark} {text}" if mark else text)
    return table.tab_options(table_font_size="13px", data_row_padding="2px", source_notes_font_size="12px")


# --------------------------------------------------------------------------- Table 1

#: Abbreviations of the disease profiles' Table 1 rows, in its legend.
TABLE1_ABBREVIATIONS = {
    "ecog": "ECOG, Eastern Cooperative Oncology Group",
    "ldh_elevated": "LDH, lactate dehydrogenase",
    "ipi": "IPI, International Prognostic Index",
    "r_iss": "R-ISS, Revised International Staging System",
}

#: Short spanner titles of Table 1.
TABLE1_SPANNERS = {"crs": "CRS", "icans": "ICANS", "concurrent": "Concurrent CRS + ICANS"}


def _test_marks(tests: Iterable[str | None]) -> dict[str, str]:
    """Footnote letters for the tests in order of first use."""
    marks: dict[str, str] = {}
    for test in tests:
        if test and test not in marks:
            marks[test] = "abcdefgh"[len(marks)]
    return marks


def _p_cell(result, marks: Mapping[str, str]) -> Cell:
    if result is None or is_missing(result.p):
        return Cell(CELL_MISSING)
    return Cell(fmt_p_bare(result.p), marks.get(result.test or ""))


def _category(level: CategoricalLevel, category: str | None):
    return next((c for c in level.categories if str(c.category) == category), None)


def _table1_cell(
    comparison: Comparison | None, position: int, category: str | None, decimals: int | None = None
) -> str:
    if comparison is None or position >= len(comparison.levels):
        return CELL_MISSING
    level = comparison.levels[position]
    if isinstance(level, ContinuousLevel) or comparison.kind == "continuous":
        return fmt_median_range(level.median, level.min, level.max, missing=CELL_MISSING, decimals=decimals)
    found = _category(level, category)
    if found is None:  # category never observed in the data: zero of n
        return fmt_count_pct(0, 0.0 if level.n else None) if level.n else CELL_MISSING
    return fmt_count_pct(found.count, found.percent)


#: Footnote of a p cell left empty because the characteristic is a treatment of the grouping's toxicity.
NOT_TESTED = (
    "Not tested: corticosteroids and tocilizumab are given to treat CRS or ICANS, so patients without "
    "the toxicity had no indication for them and the groups cannot be compared"
)


def _overall_cell(level, decimals: int | None = None) -> str:
    if level is None:
        return CELL_MISSING
    if isinstance(level, ContinuousLevel):
        return fmt_median_range(level.median, level.min, level.max, missing=CELL_MISSING, decimals=decimals)
    return ""


def table1_row_decimals(
    comparisons: Mapping[tuple[str, str], Comparison],
    overall: Mapping[str, object] | None,
    variable: str,
    groupings: Sequence[str] = TABLE1_GROUPINGS,
) -> int | None:
    """The precision of a numeric variable's row (:func:`row_decimals` of its cells: all
    patients and each level of each grouping), None for a categorical variable."""
    levels = [overall.get(variable) if overall is not None else None]
    levels += [lv for g in groupings if (variable, g) in comparisons for lv in comparisons[(variable, g)].levels]
    numeric = [lv for lv in levels if isinstance(lv, ContinuousLevel)]
    return row_decimals(*numeric) if numeric else None


def _overall_category(level, category: str | None, decimals: int | None = None) -> str:
    if level is None or isinstance(level, ContinuousLevel):
        return _overall_cell(level, decimals)
    found = next((c for c in level.categories if str(c.category) == category), None)
    if found is None:
        return fmt_count_pct(0, 0.0) if level.n else CELL_MISSING
    return fmt_count_pct(found.count, found.percent)


def baseline_variables() -> list[str]:
    """Table 1's rows: the characteristics known at infusion, in registry order."""
    return [k for k, v in VARIABLES.items() if not v.after_infusion]


def course_variables() -> list[str]:
    """The course table's rows: what was measured or given after the infusion."""
    return [k for k, v in VARIABLES.items() if v.after_infusion]


def table1(
    comparisons: Mapping[tuple[str, str], Comparison],
    groupings: Sequence[str] = TABLE1_GROUPINGS,
    overall: Mapping[str, object] | None = None,
    variables: Sequence[str] | None = None,
    first: str = "Characteristic",
    notes: Sequence[str] = (),
    definitions: Mapping[str, Variable] | None = None,
    grouping_defs: Mapping[str, Grouping] | None = None,
) -> Table:
    """Table 1: characteristics, for all patients and by CRS, ICANS and concurrent CRS + ICANS,
    with p-values (``variables``: the rows, default every registry variable; ``overall``:
    each variable's whole-cohort summary, shown first as "All patients").

    A variable the registry does not collect has no comparison, so no row. ``notes``: more
    footnotes (what was not assessed or not collected: ``text.assessment_notes``).
    ``definitions``: the rows' variables (label, kind, whether a grouping tests it), default the
    registry's :data:`~analysis.registry.concepts.VARIABLES` (a disease profile's Table 1 passes its own).

    Cells: median (range) for numbers, n (%) for categories; one p column per
    grouping, its mark naming the test (footnotes). A treatment of the grouping's toxicity
    (``Variable.treats``) is not tested: its p cell says why in a footnote. Column headers
    give each level's number of patients (the largest n over the rows: rows with missing
    values have fewer, listed in a footnote).
    """
    defined = VARIABLES if definitions is None else definitions
    groups = GROUPINGS if grouping_defs is None else grouping_defs
    variables = list(variables if variables is not None else defined)
    # a variable the registry does not collect has no comparison: no row, no abbreviation
    variables = [v for v in variables if any((v, g) in comparisons for g in groupings)]

    def tested(v: str, g: str) -> bool:
        return defined[v].tested_by(g)

    marks = _test_marks(
        comparisons[(v, g)].result.test for v in variables for g in groupings if (v, g) in comparisons and tested(v, g)
    )
    not_tested_mark = "†"
    columns, md_headers, html_headers, widths, spanners = ["characteristic"], [first], [""], [17], []
    if overall is not None:
        n_all = max((getattr(overall.get(v), "n", 0) for v in variables), default=0)
        columns.append("overall")
        md_headers.append(f"All patients (n\u00a0=\u00a0{fmt_count(n_all)})")
        html_headers.append(f"All patients (n = {fmt_count(n_all)})")
        widths.append(9)
    level_n: dict[tuple[str, int], int] = {}
    for g in groupings:
        grouping = groups[g]
        ids = []
        for i, level in enumerate(grouping.levels):
            n = max((comparisons[(v, g)].levels[i].n for v in variables if (v, g) in comparisons), default=0)
            level_n[(g, i)] = n
            col = f"{g}__{level.key}"
            ids.append(col)
            columns.append(col)
            md_headers.append(f"{level.label} (n\u00a0=\u00a0{fmt_count(n)})")  # "(n = 17)" never splits
            html_headers.append(f"{level.label} (n = {fmt_count(n)})")
            # the levels of every grouping share the width (3 groupings of 2 levels: 55 / 6 each)
            n_levels = sum(len(groups[x].levels) for x in groupings)
            widths.append(int(round((55 if overall is not None else 64) / n_levels)))
        p_col = f"{g}__p"
        columns.append(p_col)
        ids.append(p_col)
        md_headers.append("p")  # the p column closes its group's columns
        html_headers.append("p")
        widths.append(int(round(19 / len(groupings))))
        spanners.append((TABLE1_SPANNERS.get(g, grouping.title), ids))

    spec = _Spec(
        columns, md_headers, html_headers, widths, spanners=spanners, marked_columns=[f"{g}__p" for g in groupings]
    )
    missing_notes = []
    any_not_tested = False
    for variable in variables:
        definition = defined[variable]
        label = definition.label
        categories = [(c.value, c.label) for c in definition.rows]
        present = [g for g in groupings if (variable, g) in comparisons]
        if not present:
            continue
        p_cells = {}
        for g in present:
            if tested(variable, g):
                p_cells[g] = _p_cell(comparisons[(variable, g)].result, marks)
            else:
                p_cells[g] = Cell(CELL_MISSING, not_tested_mark)
                any_not_tested = True
        level_all = overall.get(variable) if overall is not None else None
        decimals = table1_row_decimals(comparisons, overall, variable, groupings)  # one precision per row

        def value_cells(category):
            cells = []
            if overall is not None:
                cells.append(Cell(_overall_category(level_all, category, decimals)))  # noqa: B023
            for g in groupings:
                comparison = comparisons.get((variable, g))  # noqa: B023 (called in this iteration)
                for i, _ in enumerate(groups[g].levels):
                    cells.append(Cell(_table1_cell(comparison, i, category, decimals)))  # noqa: B023
                cells.append(None)  # p placeholder
            return cells

        def with_p(cells, show_p):
            out, k = [], 0
            if overall is not None:
                out.append(cells[0])
                k = 1
            for g in groupings:
                n_levels = len(groups[g].levels)
                out.extend(cells[k : k + n_levels])
                out.append(p_cells.get(g, Cell(CELL_MISSING)) if show_p else Cell(""))  # noqa: B023
                k += n_levels + 1
            return out

        single = len(categories) <= 1
        if single:
            spec.add("variable", Cell(label), *with_p(value_cells(categories[0][0] if categories else None), True))
        else:
            spec.add("variable", Cell(label), *with_p([Cell("")] * len(value_cells(None)), True))
            for category, sub_label in categories:
                spec.add("sub", Cell(_INDENT + sub_label), *with_p(value_cells(category), False))

        # every column a missing value shortens is named: the header's n less the row's n, for
        # all patients and for each level of each grouping (a patient without a value is
        # missing from one level of every grouping, so listing one grouping would hide it from
        # the others' columns)
        gaps = []
        n_overall = getattr(level_all, "n", None)
        if n_overall is not None and n_all - n_overall > 0:
            gaps.append(f"All patients {fmt_count(n_all - n_overall)}")
        for g in present:
            for i, level in enumerate(comparisons[(variable, g)].levels):
                missing_count = level_n[(g, i)] - level.n
                if missing_count > 0:
                    gaps.append(f"{groups[g].levels[i].label} {fmt_count(missing_count)}")
        if gaps:
            missing_notes.append(f"{label.split(',')[0]} ({', '.join(gaps)})")

    abbreviations = [
        "BM, bone marrow" if any(defined[v].label.startswith("BM") for v in variables) else "",
        "Ph, Philadelphia chromosome" if any("Ph" in defined[v].label for v in variables) else "",
        "IL-6, interleukin 6" if "il6_peak_pg_ml" in variables else "",
        *(TABLE1_ABBREVIATIONS[v] for v in variables if v in TABLE1_ABBREVIATIONS and definitions is not None),
    ]
    legend = "Median (range) or n (%)"
    if any(abbreviations):
        legend += ". " + "; ".join(a for a in abbreviations if a)
    spec.footnotes.append((None, legend))
    for test, mark in marks.items():
        spec.footnotes.append((mark, TESTS[test].footnote if test in TESTS else test))
    if any_not_tested:
        spec.footnotes.append((not_tested_mark, NOT_TESTED))
    if missing_notes:
        spec.footnotes.append((None, "Patients without a value, by column: " + "; ".join(missing_notes)))
    spec.footnotes.extend((None, note) for note in notes)
    return Table(spec)


def kinetics_selection_table(selection: Mapping[str, Comparison]) -> Table:
    """The patients with CAR-T kinetics data against the others (how the kinetics subset was
    selected, STROBE 12c/14a): Table 1's rows and tests, plus the two toxicities."""
    return table1(
        {(k, KINETICS_DATA.name): c for k, c in selection.items()},
        groupings=(KINETICS_DATA.name,),
        definitions=KINETICS_SELECTION_VARIABLES,
        grouping_defs={KINETICS_DATA.name: KINETICS_DATA},
    )


# --------------------------------------------------------------------------- Table 2


def _endpoint_title(endpoint: str) -> tuple[str, str | None]:
    """Title and population of an endpoint's block (any profile's: PFS); an endpoint not in a
    registry by its key."""
    from analysis.registry.diseases import endpoint_of

    try:
        e = endpoint_of(endpoint)
    except KeyError:
        return endpoint.upper(), None
    return e.title, e.population


def ph_table(cox: Mapping[str, CoxResult]) -> Table:
    """The proportional-hazards test of each term of the multivariable Cox models and the
    global test, per endpoint: chi-square, df and p, as R's ``cox.zph(fit)`` (scaled Schoenfeld
    residuals, Kaplan–Meier time transform, the severity group as one 2-df term)."""
    headers = ["Term", "Chi-square", "df", "p"]
    spec = _Spec(["term", "chisq", "df", "p"], headers, headers, [52, 16, 8, 14])
    for endpoint, result in cox.items():
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        if not result.ph_tests:
            spec.add(
                "sub",
                Cell(_INDENT + "Not tested"),
                CELL_MISSING,
                CELL_MISSING,
                result.ph_test_reason or result.reason or CELL_MISSING,
            )
            continue
        for t in result.ph_tests:
            label = "Global test" if t.term == "GLOBAL" else ph_term_label(t.term, result)
            chisq = fmt_number(t.chisq, CELL_MISSING, decimals=2)
            spec.add("sub", Cell(_INDENT + label), chisq, CELL_MISSING if t.df is None else str(t.df), fmt_p_bare(t.p))
    spec.footnotes.append(
        (
            None,
            (
                "Test of the proportional-hazards assumption from the scaled Schoenfeld residuals (Grambsch & Therneau "
                "1994), as R's cox.zph(fit) (Kaplan–Meier transform of time; the exposure's groups tested as one "
                "term). A small p suggests that the term's hazard ratio changes over follow-up; its hazard "
                "ratio in the Cox table is then an average over follow-up."
            ),
        )
    )
    return Table(spec)


def ph_sensitivity_table(results) -> Table:
    """The exposure of each multivariable model beside the same model with the covariates
    whose proportional-hazards test is below ``alpha`` relaxed (``results.ph_sensitivity``:
    a yes/no covariate as a stratum, a numeric one with a time interaction x × log(time)):
    HR (95% CI) of each level against the reference, the joint Wald p, patients and events.
    An endpoint without such a covariate has no sensitivity model (a footnote says so).
    ``alpha``: the plan's, which chose the covariates (``results.plan``)."""
    alpha = float(results.plan.get("alpha", OPTIONS["alpha"].default))
    headers = ["Exposure", "Main model", "Proportional hazards relaxed"]
    spec = _Spec(["term", "main", "relaxed"], headers, headers, [46, 27, 27])
    relaxed_notes: list[str] = []
    not_fitted: list[str] = []
    for endpoint, main in results.cox.items():
        title, population = _endpoint_title(endpoint)
        abbreviation = ENDPOINTS[endpoint].abbreviation if endpoint in ENDPOINTS else endpoint.upper()
        found = results.ph_sensitivity.get(endpoint)
        other = found.result if found is not None else None
        if found is None:
            not_fitted.append(f"{abbreviation}: no covariate's proportional-hazards test was below {alpha:g}")
        elif other is None or other.reason:
            not_fitted.append(f"{abbreviation}: {found.reason}")
            other = None
        else:
            relaxed_notes.append(f"{abbreviation}, {' and '.join(relaxed_terms(found))}")
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        models = [main, other]
        spec.add(
            "variable",
            Cell("Patients; events"),
            *[CELL_MISSING if m is None else f"{fmt_count(m.n)}; {fmt_count(m.events)}" for m in models],
        )
        spec.add(
            "variable",
            Cell(exposure_header(main.exposure) + ", joint p"),
            *[CELL_MISSING if m is None else fmt_p_bare(m.severity_global_p) for m in models],
        )
        exposure = GROUPINGS[main.exposure]
        spec.add(
            "sub",
            Cell(_INDENT + exposure.label(REFERENCE_LEVELS[main.exposure])),
            "Reference",
            CELL_MISSING if other is None else "Reference",
        )
        for term in main.exposure_terms:
            cells = [
                CELL_MISSING if m is None else _hr_ci(next((t for t in m.terms if t.key == term.key), None))
                for m in models
            ]
            spec.add("sub", Cell(_INDENT + term.label), *cells)
    spec.footnotes.append(
        (
            None,
            "Main model: the multivariable model of the manuscript. Proportional hazards relaxed: the same "
            f"model with each covariate whose proportional-hazards test was below {alpha:g} relaxed, a "
            "yes/no covariate as a stratum (its own baseline hazard, no coefficient) and a numeric covariate "
            "with a time interaction (the covariate times the logarithm of time in months, R's tt()); "
            + ("; ".join(relaxed_notes) if relaxed_notes else "no model relaxed")
            + ". HR (95% CI) against the reference; joint p, Wald test of the exposure's terms",
        )
    )
    for note in not_fitted:
        spec.footnotes.append((None, "Not fitted — " + note))
    return Table(spec)


def exposure_header(exposure: str) -> str:
    """The row heading the exposure's levels in Table 2 and the forest plot: 'CRS/ICANS group'
    for the severity group, else the grouping's title."""
    return "CRS/ICANS group" if exposure == "severity" else GROUPINGS[exposure].title


def _covariate_list(result: CoxResult) -> str:
    from analysis.registry.concepts import covariate_phrase

    phrases = [covariate_phrase(c) for c in result.covariates]
    return and_list(phrases) if phrases else "no covariate"


def table2(cox: Mapping[str, CoxResult], e_values: Mapping[tuple[str, ...], EValue] | None = None) -> Table:
    """Table 2: a multivariable Cox model for OS and LFS (the study's, or the publication's
    as its sensitivity analysis: the same layout for any :class:`~analysis.estimators.cox.CoxResult`).

    One block per endpoint (n and events in its header row), HR, 95% CI and Wald p per
    term: the covariates, then the exposure's group row, which carries the joint Wald p of
    its terms, its reference level ("Reference") and its levels. Footnotes: what the model
    adjusts for, events per coefficient (with a warning below 10), patients left out for a
    missing covariate, the proportional-hazards test's global p. An endpoint whose partial
    likelihood is monotone (``result.method == "firth"``) shows the Firth-penalized fit,
    with a footnote naming the method, why, and its CIs and tests. ``e_values``: the E-value
    column (``results.e_values``, keyed ("cox", endpoint, term)).
    """
    with_e = bool(e_values)
    columns, headers, widths = ["term", "hr", "ci", "p"], ["Variable", "HR", "95% CI", "p"], [52, 14, 20, 14]
    if with_e:  # E-values (VanderWeele & Ding) of the estimate and of the CI limit closest to 1
        columns, headers, widths = columns + ["e"], headers + ["E-value (CI)"], widths + [16]
    spec = _Spec(columns, headers, ["", *headers[1:]], widths)
    notes: list[str] = []
    ph_notes: list[str] = []
    ph_untested: list[str | None] = []  # why each model's test is missing (None: tested)
    firth_notes: list[str] = []
    epv_notes: list[str] = []
    missing_notes: list[str] = []
    exposures: set[str] = set()
    for endpoint in [e for e in ENDPOINTS if e in cox] + [e for e in cox if e not in ENDPOINTS]:
        result = cox[endpoint]
        exposure = GROUPINGS[result.exposure]
        exposures.add(result.exposure)
        title, population = _endpoint_title(endpoint)
        spec.add(
            "group",
            Cell(
                f"{title} ({population + ', ' if population else ''}n = {fmt_count(result.n)}; "
                f"{fmt_count(result.events)} events)"
            ),
        )
        e_of = {k[2]: e for k, e in (e_values or {}).items() if k[:2] == ("cox", endpoint)} if with_e else None
        for term in result.covariate_terms:  # adjustment terms: no E-value (not effect estimates)
            _add_cox_term(spec, term, term.label, "variable", notes, title, {} if with_e else None, adjustment=True)
        spec.add("variable", Cell(exposure_header(result.exposure)), "", "", Cell(fmt_p_bare(result.severity_global_p)))
        spec.add("sub", Cell(_INDENT + exposure.label(REFERENCE_LEVELS[result.exposure])), "Reference", "", "")
        for term in result.exposure_terms:
            _add_cox_term(spec, term, term.label, "sub", notes, title, e_of)
        if result.reason:
            notes.append(f"{title}: {result.reason}")
        if result.method == FIRTH:
            firth_notes.append(
                f"{title}: fitted by Firth's penalized partial likelihood (Heinze & Schemper 2001; "
                f"Breslow ties, as R coxphf) because the ordinary fit is not defined: {result.method_reason}. "
                "HRs are penalized estimates; 95% CI from the profile penalized likelihood; "
                "p: penalized likelihood-ratio test (group row: joint test)"
            )
        ph_notes.append(f"{title} {fmt_p(result.ph_test_global_p, result.ph_test_reason or result.reason)}")
        ph_untested.append(None if result.ph_test_global_p is not None else result.ph_test_reason or result.reason)
        epv = result.events_per_variable
        if epv is not None:
            low = (
                f", fewer than {EPV_RULE}: the estimates may be biased and their CIs unreliable"
                if epv < EPV_RULE
                else ""
            )
            epv_notes.append(
                f"{title} {fmt_number(epv, decimals=1)} ({fmt_count(result.events)} events, "
                f"{result.n_coefficients} coefficients{low})"
            )
        if result.n_missing:
            missing_notes.append(f"{title} {fmt_count(result.n_missing)}")

    first = next(iter(cox.values()), None)
    if first is not None:
        adjusted = f"Adjusted for {_covariate_list(first)}"
        if any(r.covariate_terms for r in cox.values()):  # the "Table 2 fallacy"
            adjusted += f"; {ADJUSTMENT_NOTE}" + ("; no E-value is given for them" if with_e else "")
        spec.footnotes.append((None, adjusted))
    legend = "HR, hazard ratio; CI, confidence interval"
    if any(c.startswith("bm_") for r in cox.values() for c in r.covariates):
        legend += "; BM, bone marrow (blasts before infusion)"
    if with_e:
        legend += (
            ". E-value (VanderWeele & Ding 2017), for the exposure's terms: the risk ratio an unmeasured "
            "confounder would need with both the term and the outcome, beyond the other terms, to explain the HR "
            "away; in parentheses, to move the confidence limit closest to 1 to 1 (1.00: the CI includes 1). For "
            "an outcome that 15% or more of the patients had, the HR is first converted to a risk ratio"
        )
    if len(firth_notes) < len(cox):  # the Firth notes say how their own p-values are computed
        legend += ". p: Wald test; group row: joint Wald test of the group's terms"
        legend += " (ordinary Cox fits)" if firth_notes else ""
    spec.footnotes.append((None, legend))
    if epv_notes:
        spec.footnotes.append((None, "Events per coefficient: " + "; ".join(epv_notes)))
    if missing_notes:
        spec.footnotes.append((None, "Patients left out for a missing covariate value: " + "; ".join(missing_notes)))
    for note in firth_notes:
        spec.footnotes.append((None, note))
    if ph_notes and len(ph_notes) > 1 and None not in ph_untested and len(set(ph_untested)) == 1:
        # one reason for every model: said once, not once per model (review 29, Table S11)
        spec.footnotes.append(
            (None, f"Proportional-hazards assumption: not tested in any of these models ({ph_untested[0]}).")
        )
    elif ph_notes:
        spec.footnotes.append(
            (None, "Proportional-hazards assumption (Schoenfeld residuals, global test): " + "; ".join(ph_notes))
        )
    for note in notes:
        spec.footnotes.append((None, "Not estimable — " + note))
    return Table(spec)


def _e_value_cell(e: EValue | None) -> str:
    """'2.80 (1.00)': the E-value of the HR and of its CI limit closest to 1."""
    if e is None or is_missing(e.point):
        return CELL_MISSING
    return f"{fmt_hr(e.point)} ({fmt_hr(e.ci, missing=CELL_MISSING)})"


#: Footnote on the covariates of a multivariable model (the "Table 2 fallacy": a model built
#: to estimate the exposure's association does not estimate the covariates' own effects).
ADJUSTMENT_NOTE = (
    "the covariates' rows are adjustment terms, not effect estimates: their hazard ratios are not adjusted "
    "for their own confounders and are conditional on the exposure"
)


def _add_cox_term(
    spec: _Spec,
    term,
    label: str,
    kind: str,
    notes: list[str],
    title: str,
    e_values: Mapping[str, EValue] | None = None,
    adjustment: bool = False,
) -> None:
    indent = _INDENT if kind == "sub" else ""
    if e_values is None:
        e_cell = []
    elif adjustment:  # an adjustment term has no E-value: it is not an effect estimate
        e_cell = [""]
    else:
        e_cell = [_e_value_cell(e_values.get(term.key) if term else None)]
    name = Cell(indent + label)
    if term is None:
        spec.add(kind, name, CELL_MISSING, CELL_MISSING, CELL_MISSING, *e_cell)
        return
    spec.add(
        kind,
        name,
        fmt_hr(term.hr, missing=CELL_MISSING, decimals=ratio_decimals(term.hr, term.ci_low, term.ci_high)),
        fmt_ci(
            term.ci_low,
            term.ci_high,
            missing=CELL_MISSING,
            decimals=ratio_decimals(term.hr, term.ci_low, term.ci_high),
        ),
        fmt_p_bare(term.p),
        *e_cell,
    )
    if term.reason:
        notes.append(f"{title}, {label}: {term.reason}")


# --------------------------------------------------------------------------- Table 3

#: Landmarks shown in Table 3 (months); the results also hold the later ones.
TABLE3_LANDMARKS = (12, 24)

_NOT_REACHED = "NR"
_NOT_ESTIMABLE = "NE"


def _months_1dp(x, not_estimable: bool = False) -> str:
    if is_missing(x):
        return _NOT_ESTIMABLE if not_estimable else _NOT_REACHED
    return fmt_number(x, decimals=1)


def _median_cell(level: KMSummary) -> str:
    """'25.2 (16.0–31.1)'; NR for a median or bound that is not reached, NE for one that is not
    estimable (:attr:`KMSummary.not_estimable`); — without patients."""
    if level.n == 0:
        return CELL_MISSING
    ne = level.not_estimable
    if level.median_months is None and level.median_ci_low is None:
        return _NOT_ESTIMABLE if "median" in ne else _NOT_REACHED
    low = _months_1dp(level.median_ci_low, "median_ci_low" in ne)
    ci = f"{low}–{_months_1dp(level.median_ci_high, 'median_ci_high' in ne)}"
    return f"{_months_1dp(level.median_months, 'median' in ne)} ({ci})"


def _landmark_cell(level: KMSummary, months: int) -> str:
    """'62.1 (52.0–74.2)': survival in percent with its log-scale 95% CI; no event by then as the
    prose words it, '100.0 (no event by 12 months; 95% CI not estimable)' (not '100.0 (100.0–100.0)')."""
    lm = next((x for x in level.landmarks if x.months == months), None)
    if lm is None or lm.survival is None:
        return CELL_MISSING
    value = fmt_pct(100 * lm.survival).rstrip("%")
    if lm.survival == 1:
        return f"{value} (no event by {months:g} months; 95% CI not estimable)"
    if lm.ci_low is None or lm.ci_high is None:
        # R's log-scale CI is undefined where survival is 0 (summary.survfit: lower and upper NA)
        return f"{value} ({_NOT_ESTIMABLE})"
    return f"{value} ({fmt_pct(100 * lm.ci_low).rstrip('%')}–{fmt_pct(100 * lm.ci_high).rstrip('%')})"


def _hr_cell(hr) -> str:
    if hr is None or is_missing(hr.hr):
        return CELL_MISSING
    d = ratio_decimals(hr.hr, hr.ci_low, hr.ci_high)  # one precision for the three
    return f"{fmt_hr(hr.hr, decimals=d)} ({fmt_ci(hr.ci_low, hr.ci_high, missing=CELL_MISSING, decimals=d)})"


def table3(
    survival: Mapping[tuple[str, str], SurvivalComparison],
    hazard_ratios: Mapping[tuple[str, str], UnivariableCox],
    groupings: Sequence[str] | None = None,
    endpoints: Sequence[str] = tuple(ENDPOINTS),
) -> Table:
    """Table 3: survival by group — per endpoint, grouping and level: n, events, median
    (95% CI), survival at 12 and 24 months (95% CI), univariable Cox HR (95% CI) against the
    grouping's reference level, and the log-rank p on the grouping's row.
    """
    groupings = list(groupings or GROUPINGS)
    columns = ["group", "n", "events", "median"] + [f"s{m}" for m in TABLE3_LANDMARKS] + ["hr", "p"]
    headers = (
        ["Group", "n", "Events", "Median, months (95% CI)"]
        + [f"{m}-month survival, % (95% CI)" for m in TABLE3_LANDMARKS]
        + ["HR (95% CI)", "p"]
    )
    spec = _Spec(columns, headers, headers, [30, 6, 7, 17] + [16] * len(TABLE3_LANDMARKS) + [15, 8])
    notes: list[str] = []
    for endpoint in endpoints:
        title, population = _endpoint_title(endpoint)
        overall = survival.get((endpoint, "all"))
        if overall is not None:
            lv = overall.levels[0]
            spec.add(
                "group",
                Cell(_endpoint_row(endpoint, title) + (f" ({population})" if population else "")),
                f"{fmt_count(lv.n)}",
                f"{fmt_count(lv.events)}",
                _median_cell(lv),
                *[_landmark_cell(lv, m) for m in TABLE3_LANDMARKS],
                "",
                "",
            )
        else:
            spec.add("group", Cell(title))
        for g in groupings:
            comparison = survival.get((endpoint, g))
            if comparison is None:
                continue
            cox = hazard_ratios.get((endpoint, g))
            by_level = {hr.level: hr for hr in cox.hazard_ratios} if cox else {}
            ref = reference_level(g)
            spec.add(
                "variable",
                Cell(GROUPINGS[g].title),
                "",
                "",
                "",
                *[""] * len(TABLE3_LANDMARKS),
                "",
                Cell(fmt_p_bare(comparison.logrank_p)),
            )
            if comparison.logrank_p is None and comparison.reason:
                notes.append(f"{title}, {GROUPINGS[g].title}: log-rank test {comparison.reason}")
            for level in comparison.levels:
                hr = by_level.get(level.key)
                hr_text = "Reference" if level.key == ref else _hr_cell(hr)
                if hr is not None and hr.hr is None and level.n > 0:
                    notes.append(f"{title}, {level.label}: HR {hr.reason or (cox.reason if cox else '')}")
                for lm in level.landmarks:
                    if lm.months in TABLE3_LANDMARKS and lm.survival is None and level.n > 0:
                        notes.append(
                            f"{title}, {GROUPINGS[g].title}, {level.label}: {lm.months}-month survival ({lm.reason})"
                        )
                spec.add(
                    "sub",
                    Cell(_INDENT + GROUPINGS[g].levels[GROUPINGS[g].keys.index(level.key)].row_label),
                    f"{fmt_count(level.n)}",
                    f"{fmt_count(level.events)}",
                    _median_cell(level),
                    *[_landmark_cell(level, m) for m in TABLE3_LANDMARKS],
                    hr_text,
                    "",
                )
    cells = " ".join(c.text for row in spec.rows for c in row)
    legend = (
        "Kaplan–Meier estimates with 95% CIs (log transformation; median CI as R's print.survfit). HR, "
        "hazard ratio of the group against the reference group from a univariable Cox model (Efron ties), "
        "Wald 95% CI; p, log-rank test across the groups. CI, confidence interval"
    )
    if _NOT_REACHED in cells.split() or f"–{_NOT_REACHED})" in cells or cells.startswith(_NOT_REACHED):
        legend += "; NR, not reached (the curve, or its confidence band, stays above 50% to the last follow-up)"
    if f"({_NOT_ESTIMABLE})" in cells or any(
        level.not_estimable
        for (endpoint, g), comparison in survival.items()
        if endpoint in endpoints and (g == "all" or g in groupings)
        for level in comparison.levels
    ):
        legend += "; NE, not estimable (no follow-up beyond day 0, or a CI undefined where survival falls to 0)"
    rows = [_endpoint_row(e, _endpoint_title(e)[0]) for e in endpoints]
    legend += "".join(
        f"; {row}, {_endpoint_title(e)[0].lower()}" for e, row in zip(endpoints, rows) if row != _endpoint_title(e)[0]
    )
    shortened = [lv for g in groupings if g in GROUPINGS for lv in GROUPINGS[g].levels if lv.short]
    legend += "".join(f"; {lv.short}, {lv.label[0].lower() + lv.label[1:]}" for lv in shortened)
    spec.footnotes.append((None, legend))
    spec.footnotes.append((None, SURVIVAL_P_AND_CI))  # why a p and a CI of one row can disagree
    for note in notes:
        spec.footnotes.append((None, "Not estimable — " + note))
    return Table(spec)


def _endpoint_row(endpoint: str, title: str) -> str:
    """An endpoint's row in Table 3: its abbreviation ('LFS'; the legend spells it out), so
    that the label with its population fits its column; the title if it has none."""
    from analysis.registry.diseases import endpoint_of

    try:
        return endpoint_of(endpoint).abbreviation or title
    except KeyError:
        return title


def _survival_at_cell(s, months: float) -> str:
    """'56.5 (37.0–86.2)': survival in percent with the curve's 95% CI (the survival differences'
    table: log-log, :data:`~analysis.registry.concepts.SURVIVAL_DIFFERENCE_CI`); 'NE' (not estimable);
    a group with no event by then as the prose words it: '100.0 (no event by 12 months; 95% CI
    not estimable)', never the zero-width '100.0 (100.0–100.0)'."""
    if s.survival is None:
        return _NOT_ESTIMABLE
    value = fmt_pct(100 * s.survival).rstrip("%")
    if s.survival == 1 and s.se == 0:
        return f"{value} (no event by {months:g} months; 95% CI not estimable)"
    if s.ci_low is None or s.ci_high is None:
        return f"{value} ({_NOT_ESTIMABLE})"
    return f"{value} ({fmt_pct(100 * s.ci_low).rstrip('%')}–{fmt_pct(100 * s.ci_high).rstrip('%')})"


def _difference_cell(d) -> str:
    """'+8.5 (−15.0 to 37.0)' percentage points, Newcombe-type 95% CI; 'NE' without an estimate or a CI."""
    if d.difference is None:
        return _NOT_ESTIMABLE
    sign = "+" if round(100 * d.difference, 1) > 0 else ""
    if d.ci_low is None or d.ci_high is None:
        return f"{sign}{fmt_signed(100 * d.difference)} ({_NOT_ESTIMABLE})"
    return f"{sign}{fmt_shift_ci(100 * d.difference, 100 * d.ci_low, 100 * d.ci_high)}"


def survival_difference_table(
    differences: Mapping[tuple[str, str], SurvivalDifferences],
    groupings: Sequence[str] = MAIN_GROUPINGS,
    endpoints: Sequence[str] = tuple(ENDPOINTS),
) -> Table:
    """Survival at the plan's times by group and the absolute difference from the reference
    group (STROBE 16c): per endpoint, grouping and level, the Kaplan–Meier survival (95% CI)
    and the difference in percentage points (Newcombe-type 95% CI) at each time."""
    first = next((differences[(e, g)] for e in endpoints for g in groupings if (e, g) in differences), None)
    times = first.months if first is not None else ()
    columns = ["group"] + [c for t in times for c in (f"s{t:g}", f"d{t:g}")]
    headers = ["Group"] + [
        h for t in times for h in (f"{t:g}-month survival, % (95% CI)", f"Difference at {t:g} months, points (95% CI)")
    ]
    spec = _Spec(columns, headers, headers, [30] + [18, 22] * len(times))
    notes: list[str] = []
    for endpoint in endpoints:
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        for g in groupings:
            result = differences.get((endpoint, g))
            if result is None:
                continue
            spec.add("variable", Cell(GROUPINGS[g].title))
            for level in GROUPINGS[g].levels:
                cells: list[Cell | str] = [Cell(_INDENT + level.label)]
                for t in times:
                    s = result.at[(level.key, t)]
                    cells.append(_survival_at_cell(s, t))
                    if level.key == result.reference:
                        cells.append("Reference")
                        continue
                    d = result.differences[(level.key, t)]
                    cells.append(_difference_cell(d))
                    if (d.difference is None or d.ci_low is None) and d.reason:
                        notes.append(f"{title}, {GROUPINGS[g].title}, {level.label} at {t:g} months: {d.reason}")
                spec.add("sub", *cells)
    spec.footnotes.append(
        (
            None,
            f"Kaplan–Meier survival with the curve's 95% CI ({SURVIVAL_DIFFERENCE_CI} transformation; the "
            "survival tables' log-transformed intervals differ slightly). Difference: survival of the group minus "
            "that of the reference group, in percentage points, with Newcombe's hybrid score 95% CI built from "
            "the two groups' intervals shown (method of variance estimates recovery; within ±100 points); no test "
            "(the log-rank p is in the survival tables). NE, not estimable",
        )
    )
    # "+25.5" from 43.5 vs 17.9
    spec.footnotes.append(
        (None, f"{ROUNDING_RULE[:-1]}, so one can differ by 0.1 from the difference of the printed values.")
    )
    for note in dict.fromkeys(notes):
        spec.footnotes.append((None, "Not estimable — " + note))
    return Table(spec)


def functional_form_table(forms: Mapping[tuple[str, str], FunctionalForm]) -> Table:
    """The functional form of the continuous covariates of the multivariable model: per endpoint
    and covariate, its HR per unit in the model (a covariate the plan cuts: continuous
    instead) and the Wald p of a restricted cubic spline's nonlinear term."""
    from analysis.registry.concepts import covariate_name
    from analysis.registry.contract import unit_of

    headers = ["Covariate", "Entered in the plan's model", "HR (95% CI)", "Per", "Nonlinearity p"]
    spec = _Spec(["covariate", "plan", "hr", "per", "p"], headers, headers, [28, 22, 20, 18, 12])
    notes: list[str] = []
    for endpoint in ENDPOINTS:
        rows = [(c, f) for (e, c), f in forms.items() if e == endpoint]
        if not rows:
            continue
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        for column, f in rows:
            unit = unit_of(column) or "unit"
            unit = {"%": "percentage point", "years": "year"}.get(unit, unit)
            u = "%" if unit_of(column) == "%" else f" {unit_of(column)}" if unit_of(column) else ""
            plan = "per unit" if f.cutoff is None else f"≥{f.cutoff:g}{u} vs <{f.cutoff:g}{u}"
            hr = CELL_MISSING if f.hr is None else fmt_hr_ci(f.hr, f.ci_low, f.ci_high)
            if f.hr is None:
                notes.append(f"{title}, {covariate_name(column)}: {f.reason}")
            if f.nonlinearity_p is None:
                notes.append(f"{title}, {covariate_name(column)}, spline: {f.nonlinearity_reason or f.reason}")
            spec.add(
                "sub",
                Cell(_INDENT + covariate_name(column)),
                plan,
                hr,
                f"{f.per:g} {unit}s" if f.per != 1 else unit,
                fmt_p_bare(f.nonlinearity_p),
            )
    spec.footnotes.append(
        (
            None,
            "The multivariable Cox model of the analysis plan (Efron ties) with the covariate entered per unit "
            "(a covariate the plan enters at a cut-off: continuously instead, the other terms unchanged); HR with "
            "Wald 95% CI. Nonlinearity p: Wald test of the nonlinear term of a restricted cubic spline of the "
            "covariate with 3 knots at its 10th, 50th and 90th percentiles, added to the plan's model; a model "
            "check (the p-value table's family of model checks)",
        )
    )
    for note in dict.fromkeys(notes):
        spec.footnotes.append((None, "Not estimable — " + note))
    return Table(spec)


# --------------------------------------------------------------------------- reproduction check


def _field(row, name):
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def _value(x, thousands: bool = True, decimals: int | None = None, p: bool = False) -> str:
    """A published or computed value through the formatting rules: strings verbatim, years
    as printed ("2016"), p-values as every p of the report ("<0.001", ">0.99"), other numbers
    with ``decimals`` (the published value's precision; whole numbers from 1,000 on) and
    thousands separators, never in scientific notation."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, str):
        return x
    if is_missing(x):
        return CELL_MISSING
    x = float(x)
    if p:
        return fmt_p_bare(min(max(x, 0.0), 1.0))
    if not thousands:
        return str(int(round(x))) if x == round(x) else fmt_number(x).replace(",", "")
    if decimals is None:
        return fmt_number(x)
    return fmt_signed(x, decimals) if x < 0 else fmt_number(x, decimals=decimals)


def _printed_decimals(published) -> int:
    """The precision the publication printed a value with (1459.5 -> 1), 0 from 1,000 on
    (the report's rule: "10,953", not "10,952.9")."""
    if is_missing(published) or isinstance(published, (str, bool)):
        return 0
    value = float(published)
    if abs(value) >= 1000 or value == round(value):
        return 0
    text = repr(value)
    return len(text.split(".")[1]) if "e" not in text else 1 - math.floor(math.log10(abs(value)))


def reproduction_table(rows: Iterable) -> Table:
    """Published versus computed values, one row per checked quantity.

    ``rows`` (or a :class:`analysis.demo.reproduction.ReproductionTable`) are dicts or
    objects with ``description``, ``where``, ``published``, ``computed``,
    ``difference``, ``status``, ``conclusion_agrees`` (True, False or None when
    the quantity carries no conclusion) and optionally ``qualifier`` ("<" for a
    p printed as "< 0.001"). The row ``id`` is an internal key and is not shown.
    """
    spec = _Spec(
        ["quantity", "where", "published", "computed", "difference", "status", "agrees"],
        ["Quantity", "Where", "Published", "Computed", "Difference", "Status", "Same conclusion"],
        ["Quantity", "Where", "Published", "Computed", "Difference", "Status", "Same conclusion"],
        # "Where" holds phrases like "Results, Patient characteristics"; the quantities wrap
        # rather than take the width the "Where" column and the headers need (review 30, N10)
        [36, 26, 8, 8, 8, 8, 8],
        fit_label=False,
    )
    rows = getattr(rows, "rows", rows)  # a reproduction.ReproductionTable or its rows
    for row in rows:
        agrees = _field(row, "conclusion_agrees")
        thousands = _field(row, "kind") != "year"  # "2016", not "2,016"
        is_p = _field(row, "kind") == "p"
        decimals = 3 if is_p else _printed_decimals(_field(row, "published"))
        qualifier = _field(row, "qualifier")  # "<" for a p printed as "< 0.001"
        if qualifier and not is_missing(_field(row, "published")):
            published = f"{qualifier}{_value(_field(row, 'published'), thousands, decimals)}"
        else:
            published = _value(_field(row, "published"), thousands, decimals, p=is_p)
        # the difference to a bound ("< 0.001") is no difference to a value
        difference = CELL_MISSING if qualifier else _value(_field(row, "difference"), True, decimals)
        spec.add(
            "variable",
            Cell(str(_field(row, "description") or "")),
            str(_field(row, "where") or ""),
            published,
            _value(_field(row, "computed"), thousands, decimals, p=is_p),
            difference,
            str(_field(row, "status") or CELL_MISSING),
            CELL_MISSING if agrees is None else ("Yes" if agrees else "No"),
        )
    spec.footnotes.append(
        (
            None,
            "Same conclusion: whether the computed value leads to the published conclusion "
            f"(significant or not at {OPTIONS['alpha'].default:g}); — when the quantity "
            "carries none",
        )
    )
    return Table(spec)


# --------------------------------------------------------------------------- appendix: data and software

#: Optional measurements whose missing values the data summary counts (``Results.missing``).
MISSING_LABELS = {
    "il6_peak_pg_ml": VARIABLES["il6_peak_pg_ml"].phrase,
    "ferritin_peak_ng_ml": VARIABLES["ferritin_peak_ng_ml"].phrase,
    "dex_equiv_cum_mg": "steroid dose (patients given steroids)",
    "tocilizumab_cum_mg": "tocilizumab dose (patients given tocilizumab)",
}


def _two_columns(headers: tuple[str, str], rows: Iterable[tuple[str, str]]) -> Table:
    spec = _Spec(["item", "value"], list(headers), list(headers), [40, 20])
    for label, value in rows:
        spec.add("variable", Cell(label), value)
    return Table(spec)


def data_summary(results) -> Table:
    """The appendix's summary of the data (a :class:`analysis.report.results.Results`): patients,
    centers, years of infusion, the cut-off, events, kinetics samples and missing values."""
    c = results.counts
    rows = [
        ("Patients", _value(c["n_patients"])),
        ("Centers", _value(c["n_centers"])),
        ("Years of infusion", f"{c['first_infusion_year']}–{c['last_infusion_year']}"),
        ("Data cut-off", fmt_month(results.cutoff)),  # month and year, as the README promises
        ("Deaths", _value(c["n_deaths"])),
        ("Patients in CR at day 30", _value(c["n_cr"])),
        ("Relapses or deaths after CR", _value(c["n_lfs_events"])),
        ("Patients with CAR-T kinetics", _value(c["n_kinetics_patients"])),
        ("Kinetics samples", _value(c["n_kinetics_samples"])),
    ] + [(f"Missing: {MISSING_LABELS.get(k, k)}", _value(v)) for k, v in results.missing.items()]
    return _two_columns(("Item", "Value"), rows)


def software_table() -> Table:
    """Versions of cartox, Python and the packages of :data:`analysis.registry.concepts.SOFTWARE`."""
    import platform
    from importlib.metadata import version

    from analysis import __version__

    rows = [("cartox", __version__), ("Python", platform.python_version())]
    rows += [(name, version(name.replace("_", "-"))) for name in SOFTWARE]
    return _two_columns(("Software", "Version"), rows)


# --------------------------------------------------------------------------- STROBE checklist


def _typst_page(label: str) -> str:
    """Typst that prints the page of a heading of the same document, or nothing without it."""
    return (
        f"#context {{ let q = query(<{label}>); "
        f"if q.len() > 0 {{ str(counter(page).at(q.first().location()).first()) }} }}"
    )


def strobe_table(rows: Iterable, document: str = "supplement") -> Table:
    """The STROBE checklist (:func:`analysis.report.strobe.checklist`): item, recommendation,
    where it is met (M, a section of the manuscript; S, of the supplement), the page in that
    document's PDF, and its status. The pages of ``document`` itself (the supplement's own)
    are found by Typst as the PDF is typeset; the manuscript's come with the rows."""
    spec = _Spec(
        ["item", "topic", "where", "page", "status"],
        ["Item", "Recommendation", "Where", "Page (PDF)", "Status"],
        ["Item", "Recommendation", "Where", "Page (PDF)", "Status"],
        [5, 33, 28, 9, 25],
        left=["topic", "where", "status"],
    )
    any_page = False
    for row in rows:
        where = "; ".join(
            f"{'S' if p.document == 'supplement' else 'M'} {p.section}" + (f" ({p.display})" if p.display else "")
            for p in row.places
        )
        text_pages, md_pages = [], []
        for p in row.places:
            letter = "S" if p.document == "supplement" else "M"
            if p.document == document:
                md_pages.append(f"{letter} `{_typst_page(p.label)}`{{=typst}}")
            elif p.page is not None:
                text_pages.append(f"{letter} {p.page}")
                md_pages.append(f"{letter} {p.page}")
        text_pages, md_pages = list(dict.fromkeys(text_pages)), list(dict.fromkeys(md_pages))  # "M 8" once
        any_page = any_page or bool(text_pages)
        text = ", ".join(text_pages) or CELL_MISSING
        md = ", ".join(md_pages) if any(p.document == document for p in row.places) else None
        status = row.status + (f" ({row.note})" if row.note else "")
        spec.add(
            "variable",
            Cell(row.item),
            f"{row.topic}: {row.recommendation}",
            where or CELL_MISSING,
            Cell(text, md=md),
            status,
        )
    legend = (
        "STROBE checklist for cohort studies (von Elm et al., 2007). Where: M, section of the manuscript; "
        "S, section of this supplement. Page: M 4, page 4 of the manuscript's PDF; S 2, page 2 of this "
        "supplement's PDF (the supplement's own pages are given in its PDF only)"
    )
    if not any_page:
        legend += "; the manuscript's pages are given when the two documents are rendered together (make report)"
    spec.footnotes.append((None, legend))
    return Table(spec)


# --------------------------------------------------------------------------- competing risks


def _percent(x) -> str:
    return fmt_pct(100 * x).removesuffix("%")  # the header says "%"


def _cif_cell(point) -> str:
    if point.estimate is None:
        return CELL_MISSING
    if point.ci_low is None:
        return _percent(point.estimate)
    return f"{_percent(point.estimate)} ({_percent(point.ci_low)}–{_percent(point.ci_high)})"


def cif_table(competing: Mapping[str, CompetingRisks], groupings: Sequence[str]) -> Table:
    """Relapse and NRM incidence at :data:`CIF_MONTHS` per level, with Gray's p per
    cause and grouping (in the row of the grouping's first level)."""
    headers = [
        "Group",
        "n",
        *(f"{cause} {m} mo, %" for cause in ("Relapse", "NRM") for m in CIF_MONTHS),
        "Gray p, relapse",
        "Gray p, NRM",
    ]
    ids = ["group", "n", *(f"{c}_{m}" for c in ("relapse", "nrm") for m in CIF_MONTHS), "p_relapse", "p_nrm"]
    spec = _Spec(ids, headers, headers, [26, 6, 14, 14, 14, 14, 6, 6])
    notes = []
    for name in groupings:
        result = competing[name]
        rows = summary_rows(result)
        spec.add("group", Cell(GROUPINGS[name].title if name in GROUPINGS else f"All {ENDPOINTS['lfs'].population}"))
        by = {(r.cause, r.level): r for r in rows}
        levels = [r for r in rows if r.cause == "relapse"]
        for i, row in enumerate(levels):
            nrm = by[("nrm", row.level)]
            p_cells = ["", ""]
            if i == 0 and name in GROUPINGS:
                p_cells = [fmt_p_bare(row.gray_p), fmt_p_bare(nrm.gray_p)]
                for cause, r in (("relapse", row), ("NRM", nrm)):
                    if r.gray_p is None and r.gray_reason:
                        notes.append(f"{GROUPINGS[name].title}, {cause}: Gray's test not estimable ({r.gray_reason})")
            spec.add(
                "sub",
                Cell(_INDENT + row.level_label),
                f"{fmt_count(row.n)}",
                *(_cif_cell(p) for p in row.points),
                *(_cif_cell(p) for p in nrm.points),
                *p_cells,
            )
    spec.footnotes.append(
        (
            None,
            "Cumulative incidence (%) with 95% CI (log(−log) transform) from the date of CR, "
            "Aalen–Johansen estimator with relapse and death without relapse (NRM) as competing "
            "events; p: Gray's test; —: after the last follow-up of the group.",
        )
    )
    for note in notes:
        spec.footnotes.append((None, note))
    return Table(spec)


# --------------------------------------------------------------------------- centers


def center_table(supplement: CenterSupplement) -> Table:
    """Patients, toxicity and response by center: toxicity n (%) of the center's patients, the
    responses n/N (%) of the patients whose response (MRD-negative CR status) is known, as the
    text counts them; centers below the minimum cell size pooled (or, for a cohort below it, no
    row), as the footnotes say."""
    keys = list(CENTER_COUNTS)
    spec = _Spec(
        ["center", "n", *keys],
        ["Center", "Patients", *CENTER_COUNTS.values()],
        ["", "Patients", *CENTER_COUNTS.values()],
        [14, 10] + [12] * len(keys),
    )
    for row in supplement.rows:
        label = row.label if row.centers == 1 else f"{row.label} ({row.centers})"
        spec.add("variable", Cell(label), f"{fmt_count(row.n)}", *[_center_cell(row, k) for k in keys])
    cr, mrd = (CENTER_COUNTS[k] for k in CENTER_RESPONSES)
    spec.footnotes.append(
        (
            None,
            f"CRS and ICANS: n (%) of the center's patients. {cr}: n/N (%), N the patients "
            f"whose response could be evaluated; {mrd}: n/N (%), N those evaluated whose MRD "
            "status is known or who were not in CR (patients in CR without an MRD result are "
            "counted neither as MRD-negative nor as not), as in the text",
        )
    )
    spec.footnotes.append(
        (
            None,
            "Centers are numbered by decreasing size (ties "
            "in an order that does not follow their names); their names are not shown. CR, "
            "complete remission; MRD, measurable residual disease; severe ICANS, grade ≥3 or "
            "a seizure",
        )
    )
    k = supplement.min_cell_size
    if supplement.suppressed:
        whose = "the cohort's center is" if supplement.n_centers == 1 else f"its {supplement.n_centers} centers are"
        spec.footnotes.append(
            (None, f"No center has {k} or more patients, the fewest a row shows: {whose} not shown one by one")
        )
    elif supplement.pooled_centers:
        small, joined = supplement.below_minimum, supplement.pooled_centers - supplement.below_minimum
        note = (
            f"{OTHER_CENTERS} ({supplement.pooled_centers}): the {small} "
            f"{'center' if small == 1 else 'centers'} with fewer than {k} patients (the fewest a row shows)"
        )
        if joined:
            note += (
                f", pooled with the {'smallest other center' if joined == 1 else f'{joined} smallest others'} "
                "so that no count of a small center follows from the totals"
            )
        spec.footnotes.append((None, note + ", pooled" if not joined else note))
    return Table(spec)


def _center_cell(row: CenterRow, key: str) -> str:
    """'21 (80.8%)' of the center's patients; '21/22 (95.5%)' for a response, over the patients
    whose response is known."""
    if key not in CENTER_RESPONSES:
        return fmt_count_pct(row.counts[key], row.percents[key])
    over = row.denominators.get(key, row.n)
    return f"{fmt_count(row.counts[key])}/{fmt_count(over)} ({fmt_pct(row.percents[key], missing=CELL_MISSING)})"


# --------------------------------------------------------------------------- toxicity as a time-dependent exposure


def _hr_ci(term) -> str:
    """'1.41 (0.53–3.72)'; the missing mark when not estimable."""
    if term is None or term.hr is None:
        return CELL_MISSING
    d = ratio_decimals(term.hr, term.ci_low, term.ci_high)  # one precision for the three
    return f"{fmt_hr(term.hr, decimals=d)} ({fmt_ci(term.ci_low, term.ci_high, missing=CELL_MISSING, decimals=d)})"


def time_dependent_table(results) -> Table:
    """Each toxicity grouping from infusion (its level known at time 0: univariable Cox HR and
    log-rank p, as Table 3) beside the same grouping as a time-dependent exposure (Cox HR with
    the toxicity from its onset, Mantel–Byar p), per endpoint."""
    columns = ["group", "hr0", "p0", "hrt", "pt"]
    md = ["Group", "From infusion: HR (95% CI)", "Log-rank p", "Time-dependent: HR (95% CI)", "Mantel–Byar p"]
    html = ["Group", "HR (95% CI)", "Log-rank p", "HR (95% CI)", "Mantel–Byar p"]
    spec = _Spec(
        columns,
        md,
        html,
        [34, 18, 10, 18, 10],
        spanners=[("From infusion", ["hr0", "p0"]), ("Toxicity from its onset", ["hrt", "pt"])],
    )
    notes: list[str] = []
    endpoints = list(dict.fromkeys(e for e, _ in results.time_dependent))
    for endpoint in endpoints:
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        for (e, g), td in results.time_dependent.items():
            if e != endpoint:
                continue
            grouping = GROUPINGS[g]
            time0 = results.survival.get((endpoint, g))
            cox0 = results.survival_hr.get((endpoint, g))
            spec.add(
                "variable",
                Cell(grouping.title),
                "",
                Cell(fmt_p_bare(time0.logrank_p if time0 else None)),
                "",
                Cell(fmt_p_bare(td.mantel_byar.p)),
            )
            if td.mantel_byar.p is None and td.mantel_byar.reason:
                notes.append(f"{title}, {grouping.title}: Mantel–Byar test {td.mantel_byar.reason}")
            before = {hr.level: hr for hr in cox0.hazard_ratios} if cox0 else {}
            after = {t.key: t for t in td.cox.terms}
            ref = REFERENCE_LEVELS[g]
            for level in grouping.levels:
                if level.key == ref:
                    spec.add("sub", Cell(_INDENT + level.label), "Reference", "", "Reference", "")
                    continue
                spec.add(
                    "sub",
                    Cell(_INDENT + level.label),
                    _hr_cell(before.get(level.key)),
                    "",
                    _hr_ci(after.get(exposure_term_key(g, level.key))),
                    "",
                )
    spec.footnotes.append(
        (
            None,
            "From infusion: every patient in the group of the toxicity recorded, from "
            "time 0 (as in the survival table of the manuscript). Time-dependent: each "
            "patient counted without the "
            "toxicity until its onset day and with it (its maximum grade) afterwards "
            "(counting-process data, R tmerge); HR from the Cox model with the toxicity "
            "as a time-dependent covariate (Efron ties, Wald 95% CI); p, Mantel–Byar test. "
            "HR, hazard ratio; CI, confidence interval",
        )
    )
    for note in notes:
        spec.footnotes.append((None, "Not estimable — " + note))
    return Table(spec)


def exposure_models_table(results) -> Table:
    """The multivariable model's exposure in each way of timing it: Table 2 (from infusion),
    the exposure time-dependent, and the model refitted at the landmark and the sensitivity
    landmark (exposure as known then, time from the landmark); HR (95% CI) of each level
    against the reference, the joint test, n and events."""
    models: list[tuple[str, str, Mapping[str, CoxResult]]] = [
        ("t0", "From infusion (the manuscript's model)", results.cox)
    ]
    models.append(("td", "Time-dependent", results.time_dependent_cox))
    for day in dict.fromkeys(day for _, day in results.landmark_models):
        fitted = {e: lm.cox for (e, d), lm in results.landmark_models.items() if d == day and lm.cox is not None}
        models.append((f"lm{day}", f"Landmark day {day}", fitted))
    columns = ["term"] + [key for key, _, _ in models]
    headers = ["Exposure"] + [title for _, title, _ in models]
    spec = _Spec(columns, headers, headers, [34] + [17] * len(models))
    notes: list[str] = []
    for endpoint in ENDPOINTS:
        first = results.cox.get(endpoint)
        if first is None:
            continue
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        spec.add(
            "variable",
            Cell("Patients; events"),
            *[
                (f"{fmt_count(m[endpoint].n)}; {fmt_count(m[endpoint].events)}" if endpoint in m else CELL_MISSING)
                for _, _, m in models
            ],
        )
        spec.add(
            "variable",
            Cell(exposure_header(first.exposure) + ", joint p"),
            *[(fmt_p_bare(m[endpoint].severity_global_p) if endpoint in m else CELL_MISSING) for _, _, m in models],
        )
        exposure = GROUPINGS[first.exposure]
        spec.add("sub", Cell(_INDENT + exposure.label(REFERENCE_LEVELS[first.exposure])), *["Reference"] * len(models))
        for term in first.exposure_terms:
            cells = []
            for _, _, m in models:
                result = m.get(endpoint)
                cells.append(
                    _hr_ci(next((t for t in result.terms if t.key == term.key), None)) if result else CELL_MISSING
                )
            spec.add("sub", Cell(_INDENT + term.label), *cells)
        for (e, day), lm in results.landmark_models.items():
            if e == endpoint and lm.cox is None:
                notes.append(f"{title}, landmark day {day}: {lm.reason}")
    first = next(iter(results.cox.values()), None)
    adjusted = _covariate_list(first) if first is not None else "no covariate"
    spec.footnotes.append(
        (
            None,
            f"Every model adjusted for {adjusted} (at baseline). From infusion: the "
            "exposure as recorded, from time 0 (the manuscript's multivariable model). "
            "Time-dependent: the exposure "
            "from its onset day (counting-process data). Landmark: patients alive and "
            "event-free after the landmark day, the exposure as known by then, time from "
            "the landmark. HR (95% CI) against the reference; joint p, Wald test of the "
            "exposure's terms",
        )
    )
    for note in notes:
        spec.footnotes.append((None, "Not fitted — " + note))
    return Table(spec)


# --------------------------------------------------------------------------- kinetics


def _effect_cell(effect, ratio: bool) -> str:
    shift = effect.shift
    if shift.estimate is None:
        return CELL_MISSING
    if ratio:
        return fmt_hr_ci(shift.estimate, shift.ci_low, shift.ci_high, missing=CELL_MISSING)
    return fmt_shift_ci(shift.estimate, shift.ci_low, shift.ci_high, missing=CELL_MISSING)


def kinetics_table(
    metrics: Mapping[tuple[str, str], KineticsComparison], groupings: Sequence[str] = KINETICS_TABLE_GROUPINGS
) -> Table:
    """CAR-T kinetics by group: per grouping, the p of each metric's rank test on its row, each
    level's median (range) of Cmax, Tmax and AUC(0–28), and each level against the reference:
    the Hodges–Lehmann ratio (Cmax, AUC) or shift in days (Tmax) with its 95% CI."""
    keys = list(KINETIC_METRICS)
    headers = ["Group", "n"] + [f"{m.name}, {m.unit}" for m in KINETIC_METRICS.values()]
    spec = _Spec(["group", "n", *keys], headers, headers, [34, 6] + [22] * len(keys))
    marks = _test_marks(metrics[(m, g)].comparison.result.test for g in groupings for m in keys if (m, g) in metrics)
    notes: list[str] = []
    for g in groupings:
        if (keys[0], g) not in metrics:
            continue
        rows = {m: metrics[(m, g)] for m in keys}
        spec.add("variable", Cell(GROUPINGS[g].title), "", *[_p_cell(rows[m].comparison.result, marks) for m in keys])
        first = rows[keys[0]].comparison
        for position, level in enumerate(first.levels):
            cells = [_table1_cell(rows[m].comparison, position, None) for m in keys]
            spec.add("sub", Cell(_INDENT + level.label), f"{fmt_count(level.n)}", *cells)
        for i, effect in enumerate(rows[keys[0]].effects):
            label = f"{effect.label} vs {GROUPINGS[g].label(effect.reference)}"
            cells = [_effect_cell(rows[m].effects[i], KINETIC_METRICS[m].ratio) for m in keys]
            spec.add("sub", Cell(_INDENT + label), "", *cells)
            for m in keys:
                reason = rows[m].effects[i].shift.reason
                if reason:
                    notes.append(f"{KINETIC_METRICS[m].name}, {label}: {reason}")
        for m in keys:
            for position, level in enumerate(rows[m].comparison.levels):
                if level.n != first.levels[position].n:
                    notes.append(
                        f"{KINETIC_METRICS[m].name}, {GROUPINGS[g].title}, {level.label}: "
                        f"{fmt_count(level.n)} of {fmt_count(first.levels[position].n)} patients have a value"
                    )
    spec.marked_columns = list(keys)
    spec.footnotes.append(
        (
            None,
            "Median (range) of the patients with samples; p on the grouping's row. "
            "Rows “… vs …”: Hodges–Lehmann estimate with its 95% CI against the reference "
            "group, as R's wilcox.test(conf.int = TRUE) — for Cmax and AUC the ratio "
            "(on the log scale), for Tmax the shift in days (the median of all pairwise differences: "
            "with sampling days shared by many patients it can be 0 while the group medians differ)",
        )
    )
    for test, mark in marks.items():
        spec.footnotes.append((mark, TESTS[test].footnote if test in TESTS else test))
    for note in dict.fromkeys(notes):
        spec.footnotes.append((None, note))
    return Table(spec)


# --------------------------------------------------------------------------- p-values


def pvalue_table(table: PValueTable, ref: Callable[[str], str] | None = None) -> Table:
    """Every p-value of the report, once, by family: the test, the p as printed, and the Holm
    and Benjamini–Hochberg adjusted values within the family (R p.adjust). ``ref`` (``text.ref``)
    names the display that shows a family (:data:`analysis.report.pvalues.FAMILY_DISPLAYS`):
    'Baseline characteristics by toxicity (Table 1 of the manuscript)'."""
    from analysis.report.pvalues import family_title

    headers = ["Comparison", "Test", "p", "Holm", "BH"]
    spec = _Spec(["label", "test", "p", "holm", "bh"], headers, headers, [46, 22, 9, 9, 9])
    counts = {f.key: f.n for f in table.families}
    labels = {r.path: r.label for r in table.rows}
    for key in dict.fromkeys(r.family for r in table.rows):
        shown = family_display(key, ref)
        where = f" ({shown})" if shown else ""
        n = counts.get(key, 0)
        count = fmt_count(n) if n else "0: every row repeats a test listed elsewhere"
        spec.add("group", Cell(f"{family_title(key)}{where} ({count})"))
        for row in table.rows:
            if row.family == key:
                spec.add(
                    "sub",
                    Cell(_INDENT + row.label + (f" (same test as {labels[row.same_as]})" if row.same_as else "")),
                    row.test,
                    fmt_p_bare(row.p, alpha=table.alpha),
                    fmt_p_bare(row.p_holm, alpha=table.alpha),
                    fmt_p_bare(row.p_bh, alpha=table.alpha),
                )
    repeated = (
        f" Rows that repeat a test of another row ({fmt_count(table.n_repeated)}; same patients, same risk sets "
        "or groups) are counted and adjusted once, with their twin, and carry the twin's adjusted values."
        if table.n_repeated
        else ""
    )
    spec.footnotes.append(
        (
            None,
            f"The table lists {fmt_count(table.n)} distinct p-values in {len(table.families)} families "
            "(number of distinct p-values in parentheses). Holm: Holm's step-down adjustment "
            "(family-wise error rate); BH: "
            "Benjamini–Hochberg (false discovery rate); both within the family, as R's "
            "p.adjust. The model checks (proportional hazards, linearity) are a family of their own, not "
            "adjusted with the estimates they check." + repeated,
        )
    )
    return Table(spec)


# --------------------------------------------------------------------------- allogeneic HSCT after CAR-T


def _hr_cells(hr) -> tuple[str, str]:
    """(HR (95% CI), p) of a hazard ratio with ``hr``, ``ci_low``, ``ci_high``, ``p``; dashes when missing."""
    if hr is None or hr.hr is None:
        return CELL_MISSING, CELL_MISSING
    d = ratio_decimals(hr.hr, hr.ci_low, hr.ci_high)  # one precision for the three
    ci = "" if is_missing(hr.ci_low) or is_missing(hr.ci_high) else f" ({fmt_ci(hr.ci_low, hr.ci_high, decimals=d)})"
    return f"{fmt_hr(hr.hr, decimals=d)}{ci}", fmt_p_bare(hr.p)


def hsct_table(transplant: TransplantAnalysis, hazard_ratios: Mapping[tuple[str, str], UnivariableCox]) -> Table:
    """Each toxicity's hazard ratio three ways, per endpoint: as in the main analysis (exposure
    at time zero, no regard to HSCT), adjusted for HSCT as a time-dependent covariate, and with
    follow-up censored at HSCT; and the hazard ratio of HSCT itself (time-dependent)."""
    columns = ["term", "main", "td", "p_td", "cens"]
    headers = [
        "",
        "Main analysis, HR (95% CI)",
        "Adjusted for HSCT (time-dependent), HR (95% CI)",
        "p",
        "Censored at HSCT, HR (95% CI)",
    ]
    spec = _Spec(columns, headers, headers, [42, 17, 19, 6, 16])
    for endpoint in HSCT_ENDPOINTS:
        title, population = _endpoint_title(endpoint)
        spec.add("group", Cell(title + (f" ({population})" if population else "")))
        alone = transplant.time_dependent.get((endpoint, "hsct"))
        hsct_term = next((t for t in alone.terms if t.key == "hsct"), None) if alone else None
        spec.add("variable", Cell(HSCT_LABEL), CELL_MISSING, *_hr_cells(hsct_term), CELL_MISSING)
        for grouping in HSCT_GROUPINGS:
            g = GROUPINGS[grouping]
            main = hazard_ratios.get((endpoint, grouping))
            main_hr = main.hazard_ratios[0] if main else None
            td = transplant.time_dependent.get((endpoint, grouping))
            td_hr = next((t for t in td.terms if t.key != "hsct"), None) if td else None
            censored = transplant.censored.get(endpoint)
            cens = censored.hazard_ratios[grouping].hazard_ratios[0] if censored else None
            reference = g.label(g.keys[0])
            label = f"{g.label(g.keys[1])} vs {reference[:1].lower()}{reference[1:]}"  # "CRS vs no CRS"
            spec.add("variable", Cell(label), _hr_cells(main_hr)[0], *_hr_cells(td_hr), _hr_cells(cens)[0])
    spec.footnotes.append(
        (
            None,
            (
                "Cox models with Efron's method for ties, Wald 95% CI, and Wald p of the time-dependent models (the "
                "log-rank p of the other two comparisons are in the survival table and the text). Main analysis: "
                "the toxicity as known at time zero, transplants ignored (the survival table's hazard ratios). "
                "Adjusted for HSCT: the transplant as a time-dependent covariate (counting-process data, 0 before "
                "and 1 after the transplant day), beside the toxicity. Censored at HSCT: follow-up ends at the "
                "transplant (a sensitivity analysis; it assumes that transplanted patients would have fared as those "
                "not transplanted). HSCT row: "
                "the transplant alone as a time-dependent covariate. OS from infusion, LFS from CR."
            ),
        )
    )
    return Table(spec)
