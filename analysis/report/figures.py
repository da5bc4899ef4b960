"""Figures of the manuscript (Figures 1–4), drawn from the typed result objects.

Presentation only: every function takes already-computed results (and, for the
strip plot, the per-patient values it displays) and returns a
:class:`matplotlib.figure.Figure`; nothing here computes a statistic.

Conventions:

* One style (:data:`STYLE`), applied by :func:`_new_figure` to every figure.
  Panels are drawn at their print size (:data:`PANEL_SIZE`, one panel of a
  two-column layout) so the 8–9 pt fonts are 8–9 pt on paper.
* Colors carry one meaning each, throughout the report (:data:`MEANING_COLORS`,
  :func:`group_color`): the reference group (no toxicity, no treatment, the
  patients without concurrent CRS and ICANS) is always the same blue; toxicity
  is drawn on one sequential color-blind-safe scale, light to dark with
  severity (grade 1–2, any grade, grade ≥3); treatment of toxicity has its own
  color. Kaplan–Meier CI bands, bars, points and the forest plot use the
  same colors.
* Axes geometry is fixed in inches rather than left to an automatic layout,
  so panels of one figure line up when placed side by side.
* Figures are created without pyplot (no global figure registry), so building
  many panels in a loop or in a notebook leaks nothing and is never shown twice.
* p-values go through :func:`analysis.report.formatting.fmt_p`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MultipleLocator, NullFormatter

from analysis.estimators.comparisons import Comparison, ResponseComparison
from analysis.estimators.survival import SurvivalComparison
from analysis.registry.concepts import ENDPOINTS, RESPONSES, TESTS
from analysis.registry.groups import DAYS_PER_MONTH, GROUPINGS, display_order
from analysis.report.formatting import fmt_count, fmt_p, fmt_tick

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe & Ito (2008) colour-blind-safe palette, yellow left out (unreadable on white).
OKABE_ITO = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")

#: One panel of a two-column figure, inches (width, height).
PANEL_SIZE = (3.3, 3.0)

#: Most points drawn per level in a strip plot (Figure 4); larger levels are thinned to
#: evenly spaced quantiles (a registry of 10^6 patients would otherwise draw 10^6 markers).
MAX_STRIP_POINTS = 1000

#: Months between x ticks and risk-table columns of the Kaplan–Meier panels.
KM_TICK_MONTHS = 12

#: Most distinct censoring times a Kaplan–Meier curve may have for its panel to carry '+'
#: censoring marks. survminer draws every mark; a registry's thousands of marks merge into a
#: thick band along the curve, so a panel with a curve above this draws none (the number at
#: risk under it still shows the follow-up) and the Methods say so
#: (:func:`censor_marks_drawn`, :func:`report_censor_marks`).
MAX_CENSOR_MARKS = 100

STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.labelsize": 9,
    "axes.titlesize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "lines.linewidth": 1.3,
    "savefig.dpi": 300,
    "figure.dpi": 150,
    "pdf.fonttype": 42,  # embed TrueType so journals can edit text
    "svg.fonttype": "none",
}


def level_color(position: int) -> str:
    """Okabe–Ito color by position (cycling): the fallback for a level with no meaning below."""
    return OKABE_ITO[position % len(OKABE_ITO)]


# --------------------------------------------------------------------------- colours: one per meaning
#
# The only place where the report's colours are chosen. Every figure asks group_color()
# (or MEANING_COLORS for the forest plot), so a meaning has one colour in every panel.
#
#   meaning          colour                  levels
#   reference        Okabe–Ito blue          no CRS, no ICANS, no CRS or ICANS, no steroids,
#                                            no tocilizumab, others (vs concurrent CRS and ICANS)
#   grade_1_2        ColorBrewer YlOrBr 5/9  CRS/ICANS grade 1–2, severity "others"
#   any_toxicity     ColorBrewer YlOrBr 7/9  CRS, ICANS, concurrent CRS and ICANS (any grade)
#   grade_ge3        ColorBrewer YlOrBr 8/9  CRS grade ≥3, ICANS grade ≥3 or seizure, severe group
#   treated          Okabe–Ito reddish purple  steroids, tocilizumab
#
# YlOrBr is a single-hue sequential scale (colour-blind safe: its order is carried by
# lightness); its darker steps are used so that lines stay readable on white, and not the
# darkest, so that the black CI whiskers stay visible on a grade ≥3 bar.
# Blue against orange-brown and purple stays distinct under every colour-vision deficiency.

#: Colour per meaning.
MEANING_COLORS: dict[str, str] = {
    "reference": "#0072b2",
    "grade_1_2": "#fe9929",
    "any_toxicity": "#cc4c02",
    "grade_ge3": "#993404",
    "treated": "#cc79a7",
}

#: Toxicity severity, light to dark: the sequential scale.
SEVERITY_SCALE = ("grade_1_2", "any_toxicity", "grade_ge3")

#: Meaning of every non-reference level (reference levels: analysis.estimators.effects.REFERENCE_LEVELS).
LEVEL_MEANINGS: dict[tuple[str, str], str] = {
    ("crs", "yes"): "any_toxicity",
    ("icans", "yes"): "any_toxicity",
    ("concurrent", "both"): "any_toxicity",
    ("crs_grade", "grade_1_2"): "grade_1_2",
    ("crs_grade", "grade_ge3"): "grade_ge3",
    ("icans_grade", "grade_1_2"): "grade_1_2",
    ("icans_grade", "grade_ge3"): "grade_ge3",
    ("severity", "other"): "grade_1_2",
    ("severity", "severe"): "grade_ge3",
    ("steroids", "yes"): "treated",
    ("tocilizumab", "yes"): "treated",
}


def level_meaning(grouping: str | None, key: str) -> str | None:
    """'reference', a toxicity step of :data:`SEVERITY_SCALE`, 'treated', or None (unknown level)."""
    from analysis.estimators.effects import REFERENCE_LEVELS

    if grouping is None:
        return None
    if grouping in REFERENCE_LEVELS and REFERENCE_LEVELS[grouping] == key:
        return "reference"
    return LEVEL_MEANINGS.get((grouping, key))


def group_color(grouping: str | None, key: str, fallback_position: int = 0) -> str:
    """The color of a level's meaning; Okabe–Ito by position for a level without one."""
    meaning = level_meaning(grouping, key)
    return MEANING_COLORS[meaning] if meaning else level_color(fallback_position)


def level_label(grouping: str | None, key: str, fallback: str) -> str:
    """Reader-facing label of a level: the grouping's label, else the result's own."""
    if grouping in GROUPINGS and key in GROUPINGS[grouping].keys:
        return GROUPINGS[grouping].label(key)
    return fallback


def _level_position(grouping: str | None, key: str, fallback: int) -> int:
    if grouping in GROUPINGS and key in GROUPINGS[grouping].keys:
        return GROUPINGS[grouping].keys.index(key)
    return fallback


def _in_display_order(grouping: str | None, levels) -> list[tuple[int, Any]]:
    """(position in the result, level) in the order every display shows a grouping's levels
    (:func:`analysis.registry.groups.display_order`)."""
    levels = list(levels)
    return [(i, levels[i]) for i in display_order(grouping, [lv.key for lv in levels])]


#: One math-text parser for every drawing of the report's figures. Each Agg renderer makes its
#: own, whose cache of parsed expressions dies with it, and saving with
#: ``bbox_inches="tight"`` (the renderers and Quarto do) makes two renderers per figure: the
#: log-axis tick labels ("10^2" ...) were parsed twice per panel and again in the next panel,
#: about 30 ms each (pyparsing): a third of the time of a strip-plot panel. The parse depends
#: only on the expression, dpi, font, antialiasing and hinting, all part of the cache's key, so
#: sharing it changes no pixel.
_MATH_TEXT = MathTextParser("path")


class _ReportFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` whose Agg drawings share :data:`_MATH_TEXT`."""

    def draw(self, renderer):
        if isinstance(renderer, RendererAgg):
            renderer.mathtext_parser = _MATH_TEXT
        super().draw(renderer)


def _new_figure(size: tuple[float, float] = PANEL_SIZE) -> Figure:
    with mpl.rc_context(STYLE):
        return _ReportFigure(figsize=size)


def _axes(fig: Figure, left: float, bottom: float, width: float, height: float, **kwargs):
    """Axes placed in inches from the figure's lower-left corner (fixed geometry)."""
    fig_w, fig_h = fig.get_size_inches()
    with mpl.rc_context(STYLE):
        return fig.add_axes((left / fig_w, bottom / fig_h, width / fig_w, height / fig_h), **kwargs)


def _legend_rows(labels: list[str], max_chars: int = 44) -> int:
    """One legend row when the labels fit side by side, else one label per row."""
    return 1 if sum(len(s) + 5 for s in labels) <= max_chars else len(labels)


def _top_legend(fig: Figure, ax, handles, labels, rows: int) -> None:
    with mpl.rc_context(STYLE):
        fig.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            bbox_transform=ax.transAxes,
            ncol=1 if rows > 1 else len(labels),
            handlelength=1.6,
            columnspacing=1.2,
            labelspacing=0.25,
            borderaxespad=0.15,
            borderpad=0.0,
            handletextpad=0.5,
        )


def _test_name(test: str | None) -> str:
    return TESTS[test].name if test in TESTS else ""


# --------------------------------------------------------------------------- Figure 1


def response_bars(cr: ResponseComparison, mrd: ResponseComparison | None = None) -> Figure:
    """Figure 1 panel: CR and MRD-negative CR rates (%) per level with exact 95% CIs.

    Bars are grouped by response and colored by level; each bar carries its
    "responders/patients" count under it (:func:`_count_layout`: on one line, on two
    lines when a registry's counts are too wide, turned upright when even that does not
    fit); the p-value of each response sits on a bracket over its group. Rates are on the
    0–1 scale in the results. Patients whose response was not assessed (not evaluable; MRD
    not done) are left out of the counts, and their number is written under the response's
    name. ``mrd`` None (the registry does not collect MRD): the CR rates alone.
    """
    grouping = cr.grouping
    responses = (cr,) if mrd is None else (cr, mrd)
    n_levels = len(cr.levels)
    order = display_order(grouping, [lv.key for lv in cr.levels])  # one order of the levels in every display
    labels = [level_label(grouping, cr.levels[j].key, cr.levels[j].label) for j in order]
    legend_rows = _legend_rows(labels)

    width, height = PANEL_SIZE
    left, right = 0.55, 0.08
    group_width = 0.86
    x_low, x_high = -0.46, len(responses) - 0.54
    bar_width = group_width / n_levels
    slot_pt = (width - left - right) * 72 * bar_width / (x_high - x_low)
    counts = [(lv.events, lv.n) for comparison in responses for lv in (comparison.levels[j] for j in order)]
    count_labels, count_size, rotation = _count_layout(counts, slot_pt)
    label_h = _text_size_pt(max(count_labels, key=len), count_size, rotation)[1]  # points
    name_offset = 2 + label_h + 4  # below the axis: tick pad, the counts, a gap
    left_out = any(comparison.not_assessed for comparison in responses)
    bottom = (name_offset + 9 * 1.25 * (2 if left_out else 1) + 3) / 72
    top = 0.06 + 0.16 * legend_rows
    fig = _new_figure((width, height))
    ax = _axes(fig, left, bottom, width - left - right, height - bottom - top)

    count_ticks = []
    # (x, rate, color) of every bar, and (x, rate, CI low, CI high) of every whisker: one bar()
    # and one errorbar() call for the panel, not one per level (errorbar makes several artists
    # per call); bars and whiskers never overlap, so the picture is the same.
    bars: list[tuple[float, float, str]] = []
    whiskers: list[tuple[float, float, float, float]] = []
    for g, comparison in enumerate(responses):
        for i, level in enumerate(comparison.levels[j] for j in order):
            x = g + (i - (n_levels - 1) / 2) * bar_width
            color = group_color(grouping, level.key, _level_position(grouping, level.key, i))
            count_ticks.append(x)
            if level.n == 0 or level.rate is None:
                continue
            rate = 100 * level.rate
            bars.append((x, rate, color))
            if level.ci_low is not None and level.ci_high is not None:
                whiskers.append((x, rate, 100 * level.ci_low, 100 * level.ci_high))
        _p_bracket(
            ax,
            g - group_width / 2 + bar_width * 0.1,
            g + group_width / 2 - bar_width * 0.1,
            comparison.result.p,
            comparison.result.reason,
            comparison.result.test,
        )

    if bars:
        xs, rates, colors = zip(*bars)
        ax.bar(xs, rates, width=bar_width * 0.9, color=colors, edgecolor="none")
    if whiskers:
        at, mid, low, high = (np.array(v) for v in zip(*whiskers))
        ax.errorbar(
            at,
            mid,
            yerr=[mid - low, high - mid],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=2.0,
            capthick=0.8,
        )
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(0, 122)  # headroom for the p-value brackets above 100%
    ax.yaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
    ax.spines["left"].set_bounds(0, 100)  # the headroom above 100% is not part of the scale
    ax.set_ylabel("Patients with response (%)")
    ax.set_xticks(
        count_ticks, count_labels, fontsize=count_size, rotation=rotation, linespacing=1.1, va="top", ha="center"
    )
    ax.tick_params(axis="x", length=0, pad=2)
    for g, comparison in enumerate(responses):
        name = RESPONSES[comparison.response].label if comparison.response in RESPONSES else comparison.response
        ax.annotate(
            name,
            xy=(g, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -name_offset),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
        )
        if comparison.not_assessed:  # left out of the counts above; said here, where it applies
            ax.annotate(
                f"{fmt_count(comparison.not_assessed)} not assessed, left out",
                xy=(g, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -name_offset - 9 * 1.25),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=7.5,
                color="0.25",
            )
    handles = [
        Patch(facecolor=group_color(grouping, lv.key, _level_position(grouping, lv.key, i)), edgecolor="none")
        for i, lv in enumerate(cr.levels[j] for j in order)
    ]
    _top_legend(fig, ax, handles, labels, legend_rows)
    return fig


#: Font sizes (pt) of the responders/patients counts under the response bars: the largest
#: used, and the smallest before a count is broken over two lines or turned upright.
COUNT_FONT_MAX, COUNT_FONT_MIN = 7.5, 6.0


def _text_size_pt(text: str, fontsize: float, rotation: float = 0) -> tuple[float, float]:
    """(width, height) of ``text`` in points as drawn in :data:`STYLE`'s font (lines at 1.1)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    props = FontProperties(family=STYLE["font.family"], size=fontsize)
    lines = text.split("\n")
    width = max(TextToPath().get_text_width_height_descent(line, props, ismath=False)[0] for line in lines)
    height = fontsize * (1 + 1.1 * (len(lines) - 1)) + 0.3 * fontsize
    return (height, width) if rotation else (width, height)


def _count_layout(counts: list[tuple[int, int]], slot_pt: float) -> tuple[list[str], float, float]:
    """Labels, font size and rotation of the responders/patients counts under bars ``slot_pt``
    points apart, such that neighbours never touch: "182/200" on one line at the largest size
    that fits (down to :data:`COUNT_FONT_MIN`); else "182,796/" over "182,796"; else (counts
    in the millions with three levels) one line turned upright."""
    gap = 1.5  # points between neighbouring labels
    for template in ("{e}/{n}", "{e}/\n{n}"):
        labels = [template.format(e=fmt_count(e), n=fmt_count(n)) for e, n in counts]
        widest = max(_text_size_pt(s, COUNT_FONT_MAX)[0] for s in labels)
        size = min(COUNT_FONT_MAX, COUNT_FONT_MAX * (slot_pt - gap) / widest)
        if size >= COUNT_FONT_MIN:
            return labels, math.floor(size * 4) / 4, 0.0
    return [f"{fmt_count(e)}/{fmt_count(n)}" for e, n in counts], COUNT_FONT_MIN + 0.5, 90.0


def _p_bracket(ax, x0: float, x1: float, p, reason, test: str | None = None) -> None:
    """A bracket over a response's bars with its p, named by its test ("Fisher's exact p =
    0.342": review 29, the caption could not say which test gave which p)."""
    y = 106
    ax.plot([x0, x0, x1, x1], [y - 2.5, y, y, y - 2.5], color="black", lw=0.7, clip_on=False)
    text = f"{_test_name(test)} {fmt_p(p)}".strip() if p is not None else "p not estimable"
    ax.text((x0 + x1) / 2, y + 1.5, text, ha="center", va="bottom", fontsize=7.5)


# --------------------------------------------------------------------------- Figures 2 and 3


#: Height of the curve axes of a time-to-event panel, inches.
_KM_MAIN_HEIGHT = 1.75


def _panel_with_risk_table(n_rows: int, legend_rows: int, axis_h: float = 0.42):
    """A time-to-event panel: the curve axes above a number-at-risk table of ``n_rows``
    rows sharing its time axis (KM and cumulative-incidence plots alike; the kinetics
    profile's counts per visit). ``axis_h``: inches between them for the x tick labels and
    the axis label. Returns (figure, curve axes, risk-table axes, axes width in inches)."""
    width = PANEL_SIZE[0]
    left, right = 0.55, 0.14
    row_h, risk_bottom, risk_title_h, main_h = 0.15, 0.08, 0.2, _KM_MAIN_HEIGHT  # inches
    risk_h = row_h * max(n_rows, 1)
    top = 0.06 + 0.16 * legend_rows
    height = risk_bottom + risk_h + risk_title_h + axis_h + main_h + top
    fig = _new_figure((width, height))
    ax_width = width - left - right
    ax = _axes(fig, left, risk_bottom + risk_h + risk_title_h + axis_h, ax_width, main_h)
    ax_risk = _axes(fig, left, risk_bottom, ax_width, risk_h, sharex=ax)
    return fig, ax, ax_risk, ax_width


def km_plot(
    comparison: SurvivalComparison,
    ylabel: str | None = None,
    xlabel: str | None = None,
    ci: bool | None = None,
    test: str = "Log-rank",
) -> Figure:
    """Figure 2/3 panel: Kaplan–Meier curves with '+' censor marks (when few enough to be
    read: :func:`censor_marks_drawn`), log-rank p and
    a number-at-risk table under the plot on the same time axis. Axis labels default
    to the endpoint's (:data:`analysis.registry.concepts.ENDPOINTS`: OS runs from infusion, LFS
    from the date of CR).

    ``ci``: shade each curve's pointwise 95% CI (R ``survfit``'s log CI, as computed in
    :mod:`analysis.estimators.survival`) in the curve's color; by default on for panels of one or
    two groups and off for more, where overlapping bands would hide the curves.

    Draws only the aggregated step points of each ``KMSummary.curve``, so its cost
    does not grow with the number of patients. Levels with n = 0 are left out.
    """
    endpoint = ENDPOINTS.get(comparison.endpoint, ENDPOINTS["os"])
    ylabel, xlabel = ylabel or endpoint.survival_axis, xlabel or endpoint.time_axis
    grouping = comparison.grouping
    shown = [(i, lv) for i, lv in _in_display_order(grouping, comparison.levels) if lv.n > 0]
    labels = [level_label(grouping, lv.key, lv.label) for _, lv in shown]
    colors = [group_color(grouping, lv.key, _level_position(grouping, lv.key, i)) for i, lv in shown]
    legend_rows = _legend_rows(labels) if len(shown) > 1 else 0

    fig, ax, ax_risk, ax_width = _panel_with_risk_table(len(shown), legend_rows)

    x_max = max((_curve_end(lv) for _, lv in shown), default=0.0)
    x_right = KM_TICK_MONTHS * max(1, math.ceil(x_max / KM_TICK_MONTHS - 1e-9))
    ax.set_xlim(0, x_right)
    ax.set_ylim(0, 102)
    marks = censor_marks_drawn(comparison)

    if ci is None:
        ci = len(shown) <= 2
    drawn: list[tuple[np.ndarray, ...]] = []  # (times, values drawn over them), for placing the p-value
    for (_, level), color in zip(shown, colors):
        curve = level.curve
        times = np.asarray(curve.times, dtype=float)
        surv = 100 * np.asarray(curve.survival, dtype=float)
        low = 100 * np.asarray(curve.ci_low, dtype=float)
        high = 100 * np.asarray(curve.ci_high, dtype=float)
        end = _curve_end(level)
        if times.size and end > times[-1]:
            times, surv = np.append(times, end), np.append(surv, surv[-1])
            low, high = np.append(low, low[-1]), np.append(high, high[-1])
        if ci and times.size:
            ax.fill_between(times, low, high, step="post", color=color, alpha=0.15, linewidth=0, gid="ci_band")
        ax.step(times, surv, where="post", color=color, lw=1.3, solid_joinstyle="miter")
        drawn.append((times, surv, low, high) if ci else (times, surv))
        if marks:
            ax.plot(
                curve.censor_times,
                100 * np.asarray(curve.censor_survival, float),
                ls="none",
                marker="+",
                ms=4.5,
                mew=0.9,
                color=color,
                gid="censor_marks",
            )

    ax.xaxis.set_major_locator(MultipleLocator(KM_TICK_MONTHS))
    ax.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelbottom=True)

    if len(shown) > 1:
        p_text = f"{test} " + fmt_p(comparison.logrank_p, comparison.reason)
        _p_in_free_corner(ax, p_text, drawn, ("lower left", "upper right", "lower right"), x_right, ax_width)
        handles = [Line2D([], [], color=c, lw=1.5) for c in colors]
        _top_legend(fig, ax, handles, labels, legend_rows)

    _risk_table(ax_risk, comparison, shown, colors, x_right, ax_width)
    return fig


#: Anchor (axes fraction) and alignment of a p-value placed in a corner of a curve panel.
_CORNERS = {
    "lower left": (0.04, 0.05, "left", "bottom"),
    "upper left": (0.04, 0.95, "left", "top"),
    "upper right": (0.96, 0.95, "right", "top"),
    "lower right": (0.96, 0.05, "right", "bottom"),
}


def _p_in_free_corner(ax, p_text: str, drawn, corners, x_right: float, ax_width: float) -> None:
    """The panel's p-value in the first free corner (:func:`_free_corner`), in a white box that
    keeps it readable if every corner has a curve in it."""
    x, y, ha, va = _free_corner(p_text, drawn, corners, x_right, ax_width)
    ax.text(
        x,
        y,
        p_text,
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=8,
        zorder=5,
        gid="p_value",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
    )


def _free_corner(text: str, drawn, corners, x_right: float, ax_width: float, y_top: float = 102.0):
    """The first of ``corners`` whose box for ``text`` (8 pt) no drawn curve or CI band passes
    through, else the one crossed by the fewest; returns (x, y, ha, va) in axes fraction.

    ``drawn``: per curve, its step times and one or more value arrays (curve, CI bounds) on
    the 0–``y_top`` scale, steps after each time, ending at the last time. A fixed corner put
    the p-value over the curves of a fast-falling LFS panel."""
    text_w, text_h = _text_size_pt(text, 8)
    box_w = (text_w + 4) / (ax_width * 72)  # axes fraction, with the box's padding
    box_h = (text_h + 4) / (_KM_MAIN_HEIGHT * 72)

    def crossings(corner: str) -> int:
        x, y, ha, va = _CORNERS[corner]
        x0 = x if ha == "left" else x - box_w
        y0 = y if va == "bottom" else y - box_h
        t0, t1, v0, v1 = x0 * x_right, (x0 + box_w) * x_right, y0 * y_top, (y0 + box_h) * y_top
        count = 0
        for times, *series in drawn:
            times = np.asarray(times, dtype=float)
            if not times.size or times[0] > t1 or times[-1] < t0:
                continue
            first = max(int(np.searchsorted(times, t0, side="right")) - 1, 0)
            last = int(np.searchsorted(times, t1, side="right"))
            values = np.concatenate([np.asarray(v, dtype=float)[first:last] for v in series])
            values = values[np.isfinite(values)]
            if values.size and values.min() <= v1 and values.max() >= v0:
                count += 1
        return count

    best = min(corners, key=lambda c: (crossings(c), corners.index(c)))
    return _CORNERS[best]


def _curve_end(level) -> float:
    """Last time shown for a level: its last event or last censoring, whichever is later."""
    ends = [np.max(level.curve.times) if len(level.curve.times) else 0.0]
    if len(level.curve.censor_times):
        ends.append(np.max(level.curve.censor_times))
    return float(max(ends))


def censor_marks_drawn(comparison: SurvivalComparison) -> bool:
    """Whether :func:`km_plot` marks the censored times of ``comparison``: only when every
    curve it shows has at most :data:`MAX_CENSOR_MARKS` distinct censoring times (one rule
    for the whole panel, so that a curve without marks never reads as a curve without
    censoring next to one with marks)."""
    return all(len(lv.curve.censor_times) <= MAX_CENSOR_MARKS for lv in comparison.levels if lv.n > 0)


def report_censor_marks(results) -> bool | None:
    """Whether the report's Kaplan–Meier panels (every survival comparison of ``results``,
    landmark analyses included) carry censoring marks: True for all, False for none, None
    when some do and some do not — for the Methods sentence
    (``text.choose(text.censor_marks, "...", "...", untested="...")``)."""
    comparisons = list(results.survival.values()) + [
        lm.survival for lm in results.landmark.values() if lm.survival is not None
    ]
    drawn = {censor_marks_drawn(c) for c in comparisons}
    return None if len(drawn) > 1 else drawn.pop() if drawn else True


def _no_axis_lines(ax) -> None:
    """A table under a panel (numbers at risk, patients sampled): no spine, tick or tick label.
    Its axes are hidden as well as their ticks and labels: matplotlib would otherwise still make,
    place and measure a tick per position at each drawing, for nothing."""
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)


def _risk_table(ax, comparison: SurvivalComparison, shown, colors, x_right: float, ax_width: float) -> None:
    n_rows = len(shown)
    ax.set_ylim(n_rows - 0.5, -0.5)  # first level on top, like the legend
    _no_axis_lines(ax)
    ax.set_title("Number at risk", loc="left", fontsize=8, pad=3, x=-0.14)

    columns = [t for t in comparison.risk_times if t <= x_right + 1e-9]
    texts = [[f"{fmt_count(n)}" for n in comparison.at_risk.get(lv.key, ())[: len(columns)]] for _, lv in shown]
    widest = max((len(s) for row in texts for s in row), default=1)
    column_pt = ax_width * 72 * KM_TICK_MONTHS / x_right if x_right else 72
    # Large cohorts: numbers are printed in full, so show every 2nd (3rd, ...) time when
    # neighbours would touch at a readable size.
    min_size, max_size, gap_pt = 6.5, 7.5, 3.0
    if column_pt >= 0.62 * min_size * widest + gap_pt:
        stride, fontsize = 1, min(max_size, (column_pt - gap_pt) / (0.62 * widest))
    else:
        fontsize = max_size
        stride = next((k for k in (2, 3, 4, 6, 12) if k * column_pt >= 0.62 * fontsize * widest + gap_pt), 12)
    axes_pt = ax_width * 72
    first_half_pt = 0.31 * fontsize * max((len(row[0]) for row in texts if row), default=1)
    swatch_end = -(first_half_pt + 4) / axes_pt  # clear of the centred numbers at time 0
    keep = [j for j in range(len(columns)) if j % stride == 0]
    columns = [columns[j] for j in keep]
    texts = [[row[j] for j in keep if j < len(row)] for row in texts]
    for row, ((_, _level), color, row_texts) in enumerate(zip(shown, colors, texts)):
        # A short line in the level's colour names the row (the legend gives the label).
        ax.plot(
            [swatch_end - 14 / axes_pt, swatch_end],
            [row, row],
            transform=ax.get_yaxis_transform(),
            color=color,
            lw=2.0,
            clip_on=False,
            solid_capstyle="butt",
        )
        for t, text in zip(columns, row_texts):
            ax.text(
                t, row, text, ha="center", va="center", color=color, fontsize=fontsize, clip_on=False, gid="at_risk"
            )


# --------------------------------------------------------------------------- Figure 4


def peak_strip(comparison: Comparison, values: pd.DataFrame, same_as: str | None = None) -> Figure:
    """Figure 4 panel: peak CAR copies per µg DNA per level on a log axis.

    ``values`` has one row per patient with columns ``level`` (level key) and
    ``peak_copies``; points are jittered deterministically, the black bar is the
    level's median from ``comparison``. Peaks of 0 (no detectable CAR) cannot sit
    on a log axis and are drawn on a floor line labeled "0".

    A level with more than :data:`MAX_STRIP_POINTS` patients (a registry) is drawn with
    that many points at evenly spaced quantiles of its values (deterministic, the whole
    range kept), and the panel says so; medians and the test always use every patient.

    ``same_as``: the letter of an earlier panel whose groups hold the same patients (the same
    comparison under other names): the panel is drawn all the same, with its own labels and
    colors of meaning, and says so under its p-value.
    """
    grouping = comparison.grouping
    shown = [(i, lv) for i, lv in _in_display_order(grouping, comparison.levels) if lv.n > 0]
    width, height = PANEL_SIZE
    left, right, top = 0.7, 0.1, 0.1
    slot_pt = (width - left - right) * 72 / max(len(shown), 1)
    # a registry's "(n = 140,069)" cannot be wrapped: a smaller font when it would touch its neighbour
    tick_size = float(STYLE["xtick.labelsize"])
    widest_n = max((_text_size_pt(f"(n = {fmt_count(lv.n)})", tick_size)[0] for _, lv in shown), default=0.0)
    if widest_n > slot_pt - 6:
        tick_size = max(6.0, math.floor(4 * tick_size * (slot_pt - 6) / widest_n) / 4)
    wrap_chars = max(8, int(slot_pt / (0.58 * tick_size)) - 1)  # neighbours never touch
    tick_labels = [
        "\n".join(textwrap.wrap(level_label(grouping, lv.key, lv.label), wrap_chars)) + f"\n(n = {fmt_count(lv.n)})"
        for _, lv in shown
    ]
    max_lines = max((s.count("\n") + 1 for s in tick_labels), default=1)
    bottom = 0.12 + 0.135 * max_lines * tick_size / 8
    fig = _new_figure((width, height))
    ax = _axes(fig, left, bottom, width - left - right, height - bottom - top)
    ax.set_yscale("log")

    peaks = pd.to_numeric(values["peak_copies"], errors="coerce")
    positive = peaks[peaks > 0]
    has_zero = bool((peaks == 0).any())
    low_value = positive.min() if len(positive) else 1.0
    floor = 10 ** (math.floor(math.log10(low_value)) - 1)  # where zeros are drawn
    top_value = positive.max() if len(positive) else 10.0

    level_keys = values["level"].astype(str).to_numpy()
    thinned = False
    for x, (i, level) in enumerate(shown):
        color = group_color(grouping, level.key, _level_position(grouping, level.key, i))
        y = np.sort(peaks[level_keys == level.key].dropna().to_numpy(dtype=float))
        if y.size > MAX_STRIP_POINTS:
            y = y[np.round(np.linspace(0, y.size - 1, MAX_STRIP_POINTS)).astype(np.int64)]
            thinned = True
        y_plot = np.where(y > 0, y, floor)
        ax.scatter(
            x + _jitter(len(y)), y_plot, s=16, color=color, alpha=0.85, edgecolor="white", linewidth=0.4, zorder=3
        )
        if level.median is not None:
            median = level.median if level.median > 0 else floor
            ax.plot(
                [x - 0.28, x + 0.28],
                [median, median],
                color="black",
                lw=1.6,
                zorder=4,
                solid_capstyle="butt",
                gid="median",
            )

    # the axis reaches down to the decade below the lowest peak, so that its lowest tick is a
    # labelled one (a point below an unlabelled minor tick cannot be read); zeros sit below it
    bottom = floor if has_zero else 10 ** math.floor(math.log10(low_value))
    decades = max(math.log10(top_value) - math.log10(bottom), 1.0)
    headroom = 0.27 if thinned or same_as else 0.15  # room for the note on thinned points / the twin
    ax.set_ylim(bottom / 10 ** (0.06 * decades), top_value * 10 ** (headroom * decades))
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if has_zero:
        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _: "0" if np.isclose(v, floor) else f"$10^{{{int(round(math.log10(v)))}}}$")
        )
        ax.set_ylim(*ax.get_ylim())  # fixed before the break is placed on it
        _axis_break(ax, floor * 10**0.5)
    ax.set_xlim(-0.6, len(shown) - 0.4)
    ax.set_xticks(range(len(shown)), tick_labels, fontsize=tick_size)
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel("Peak CAR copies per µg DNA")
    test = _test_name(comparison.result.test)
    ax.text(
        0.5,
        0.98,
        f"{test} {fmt_p(comparison.result.p, comparison.result.reason)}".strip()
        + (f"\nthe same patients as panel ({same_as})" if same_as else ""),
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=8,
    )
    if thinned:
        ax.text(
            0.5,
            0.91,
            f"{fmt_count(MAX_STRIP_POINTS)} points per group at evenly spaced quantiles;\n"
            "medians and p from all patients",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=6,
            color="0.3",
            gid="thinned-note",
            zorder=6,
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=0.3),
        )
    return fig


def _axis_break(ax, y: float) -> None:
    """Two short slashes across the y axis at ``y``: the "0" floor is not on the log scale."""
    low, high = (math.log10(v) for v in ax.get_ylim())
    frac = (math.log10(y) - low) / (high - low)
    ax.plot(
        [-0.025, 0.025],
        [frac - 0.005, frac + 0.005],
        transform=ax.transAxes,
        color="white",
        lw=3.0,
        clip_on=False,
        solid_capstyle="butt",
        zorder=5,
    )  # gap in the spine
    for dy in (-0.008, 0.008):
        ax.plot(
            [-0.025, 0.025],
            [frac + dy - 0.012, frac + dy + 0.012],
            transform=ax.transAxes,
            color="black",
            lw=0.8,
            clip_on=False,
            zorder=6,
        )


def _jitter(n: int, width: float = 0.42) -> np.ndarray:
    """Deterministic horizontal offsets: a golden-ratio sequence spread over ``width``."""
    return ((np.arange(n) * 0.6180339887) % 1.0 - 0.5) * width


# --------------------------------------------------------------------------- kinetics over time


def _runs(mask: np.ndarray) -> list[slice]:
    """Slices of the consecutive True runs of ``mask``."""
    runs, start = [], None
    for i, flag in enumerate(list(mask) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append(slice(start, i))
            start = None
    return runs


def kinetics_profile_plot(profile: pd.DataFrame, grouping: str) -> Figure:
    """CAR copies per µg DNA by visit: median (point and line) and interquartile range (bar)
    per level, with the number of patients sampled in each visit window in a table below.

    ``profile`` (:func:`analysis.estimators.kinetics.kinetics_profile`) has columns ``level``
    (level key), ``day`` (the visit's nominal day), ``within`` (its half-width; optional),
    ``n``, ``median``, ``q1``, ``q3``. Visits are equally spaced along the x axis (the
    windows are of unequal width: a time axis would crowd the first weeks), each labeled
    with its nominal day and window. The levels are side by side within a visit. Zeros (no
    detectable CAR, e.g. lost persistence) cannot sit on a log axis: a median of 0 is an open
    point on a floor line labeled "0" below a break in the y axis, never joined to the
    points above it (the median's line runs only between visits whose median is above 0), and
    an interquartile bar whose lower quartile is 0 is dashed down to the break, so that no
    line crosses the break and the loss of CAR-T cells stays visible.
    """
    keys = list(GROUPINGS[grouping].keys) if grouping in GROUPINGS else list(pd.unique(profile["level"]))
    keys = [keys[i] for i in display_order(grouping, keys)]
    present = [k for k in keys if (profile["level"].astype(str) == k).any()]
    if not present:
        return _not_estimable_panel("No kinetics sample falls in a visit window.")
    labels = [level_label(grouping, k, k) for k in present]
    legend_rows = _legend_rows(labels)
    fig, ax, ax_n, ax_width = _panel_with_risk_table(len(present), legend_rows, axis_h=0.6)
    ax.set_yscale("log")

    visits = sorted(float(d) for d in pd.unique(profile["day"]))
    position = {d: i for i, d in enumerate(visits)}
    within = profile.drop_duplicates("day").set_index("day")["within"].to_dict() if "within" in profile.columns else {}
    stats = profile[["median", "q1", "q3"]].apply(pd.to_numeric, errors="coerce")
    positive = stats[stats > 0].stack()
    low_value = positive.min() if len(positive) else 1.0
    top_value = positive.max() if len(positive) else 10.0
    has_zero = bool((stats == 0).any().any())
    floor = 10 ** (math.floor(math.log10(low_value)) - 1)

    handles, colors, counts = [], [], []
    dodge = min(0.12, 0.6 / max(len(present), 1))
    for i, key in enumerate(present):
        color = group_color(grouping, key, keys.index(key))
        rows = profile[profile["level"].astype(str) == key].sort_values("day")
        x = np.array([position[float(d)] for d in rows["day"]]) + (i - (len(present) - 1) / 2) * dodge
        median = rows["median"].to_numpy(dtype=float)
        q1, q3 = rows["q1"].to_numpy(dtype=float), rows["q3"].to_numpy(dtype=float)
        above = q1 > 0
        ax.vlines(x[above], q1[above], q3[above], color=color, lw=1.0, alpha=0.8, gid="iqr")
        to_zero = (q1 <= 0) & (q3 > 0)  # the lower quartile is 0: dashed down to the break
        ax.vlines(
            x[to_zero],
            np.full(int(to_zero.sum()), floor * 10**0.5),
            q3[to_zero],
            color=color,
            lw=1.0,
            alpha=0.8,
            linestyles=(0, (2, 1.5)),
            gid="iqr-to-zero",
        )
        for run in _runs(median > 0):
            ax.plot(x[run], median[run], color=color, marker="o", ms=3, lw=1.1, gid="median")
        zero = median == 0
        if has_zero and zero.any():
            ax.plot(
                x[zero],
                np.full(int(zero.sum()), floor),
                ls="none",
                marker="o",
                ms=3.5,
                mfc="white",
                mec=color,
                mew=1.0,
                gid="median-zero",
            )
        handles.append(Line2D([], [], color=color, marker="o", ms=3, lw=1.1))
        colors.append(color)
        counts.append(dict(zip(rows["day"].astype(float), rows["n"].astype(int))))

    bottom_value = floor if has_zero else low_value
    decades = max(math.log10(top_value) - math.log10(bottom_value), 1.0)
    ax.set_ylim(bottom_value / 10 ** (0.06 * decades), top_value * 10 ** (0.08 * decades))
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if has_zero:
        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _: "0" if np.isclose(v, floor) else f"$10^{{{int(round(math.log10(v)))}}}$")
        )
        _axis_break(ax, floor * 10**0.5)
    ax.set_xlim(-0.5, len(visits) - 0.5)
    ax.set_xticks(range(len(visits)))
    ax.set_xticklabels(
        [fmt_tick(d) + (f"\n±{fmt_tick(within[d])}" if d in within and not pd.isna(within[d]) else "") for d in visits],
        fontsize=7,
    )
    ax.set_xlabel("Visit, days after infusion (± window)", fontsize=8)
    ax.set_ylabel("CAR copies per µg DNA")
    _top_legend(fig, ax, handles, labels, legend_rows)

    # patients with a sample in each window, one row per level (coloured like its line)
    ax_n.set_ylim(len(present) - 0.5, -0.5)
    _no_axis_lines(ax_n)
    ax_n.set_title("Patients sampled in the window", loc="left", fontsize=8, pad=3, x=-0.14)
    widest = max((len(f"{fmt_count(n)}") for row in counts for n in row.values()), default=1)
    column_pt = ax_width * 72 / max(len(visits), 1)
    fontsize = max(5.0, min(7.5, (column_pt - 2) / (0.62 * widest)))
    axes_pt = ax_width * 72
    for row, (color, row_counts) in enumerate(zip(colors, counts)):
        ax_n.plot(
            [-18 / axes_pt, -4 / axes_pt],
            [row, row],
            transform=ax_n.get_yaxis_transform(),
            color=color,
            lw=2.0,
            clip_on=False,
            solid_capstyle="butt",
        )
        for d in visits:
            ax_n.text(
                position[d],
                row,
                f"{fmt_count(row_counts.get(d, 0))}",
                ha="center",
                va="center",
                color=color,
                fontsize=fontsize,
                clip_on=False,
                gid="n_sampled",
            )
    return fig


# --------------------------------------------------------------------------- forest plot of Table 2


def _forest_rows(result) -> list[tuple[str, str | None, str, str | None]]:
    """Rows of Table 2 in its order: (label, Cox term key or None, kind, meaning): the
    covariates, the exposure's header, its reference level and its levels."""
    from analysis.estimators.cox import exposure_term_key
    from analysis.registry.groups import REFERENCE_LEVELS
    from analysis.report.tables import exposure_header

    exposure = result.exposure
    g = GROUPINGS[exposure]
    reference = REFERENCE_LEVELS[exposure]
    rows: list[tuple[str, str | None, str, str | None]] = [
        (t.label, t.key, "term", None) for t in result.covariate_terms
    ]
    rows.append((exposure_header(exposure), None, "header", None))
    rows.append((g.label(reference), None, "reference", "reference"))
    for key in g.keys:
        if key != reference:
            rows.append((g.label(key), exposure_term_key(exposure, key), "sub", level_meaning(exposure, key)))
    return rows


def forest_plot(cox) -> Figure:
    """Forest plot of Table 2: hazard ratio and 95% CI of every term of the multivariable
    Cox model, one panel per endpoint (OS, LFS) on a shared log HR axis (rows: those of the
    first endpoint's model; every endpoint's model has the same terms).

    The reference row of the exposure (the CRS/ICANS group) is marked by an open diamond at
    HR 1 and the word "Reference"; the exposure's terms take the colors of their groups
    (:data:`MEANING_COLORS`), the other covariates are black. A term that is not estimable
    says so at HR 1. The joint p of the CRS/ICANS group is printed on its header row.
    """
    endpoints = [e for e in ENDPOINTS if e in cox] + [e for e in cox if e not in ENDPOINTS]
    rows = _forest_rows(cox[endpoints[0]])
    # the label column fits the longest label (8 pt; the levels indented by 0.18 in)
    longest = max(
        (
            _text_size_pt(label, 8)[0] / 72 + (0.18 if kind in ("reference", "sub") else 0.0)
            for label, _key, kind, _ in rows
        ),
        default=0.0,
    )
    label_w, panel_w, gap, right = max(2.3, longest + 0.2), 2.05, 0.2, 0.12
    row_h, top, bottom = 0.24, 0.42, 0.55
    width = label_w + len(endpoints) * panel_w + (len(endpoints) - 1) * gap + right
    height = bottom + row_h * len(rows) + top
    fig = _new_figure((width, height))

    bounds = [
        v
        for result in cox.values()
        for t in result.terms
        for v in (t.ci_low, t.ci_high)
        if v is not None and np.isfinite(v) and v > 0
    ]
    low = 2.0 ** math.floor(math.log2(min(bounds + [0.5])))
    high = 2.0 ** math.ceil(math.log2(max(bounds + [2.0])))
    ticks = [2.0**k for k in range(int(round(math.log2(low))), int(round(math.log2(high))) + 1)]
    if len(ticks) > 6:  # a wide range: 1-2-5 steps, so that labels such as 0.125 and 0.25 cannot collide
        decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        steps = [(m, k) for k in decades for m in (1, 2, 5) if low <= m * 10.0**k <= high]
        if len(steps) > 7:  # very wide: decades only
            steps = [(m, k) for m, k in steps if m == 1]
        ticks = [m * 10.0**k for m, k in steps]

    y_of = {i: len(rows) - 1 - i for i in range(len(rows))}
    for j, endpoint in enumerate(endpoints):
        result = cox[endpoint]
        ax = _axes(fig, label_w + j * (panel_w + gap), bottom, panel_w, row_h * len(rows))
        ax.set_xscale("log")
        ax.set_xlim(low / 1.15, high * 1.15)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.axvline(1.0, color="0.45", lw=0.8, ls=(0, (3, 2)), zorder=1)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_tick(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", left=False, labelleft=False)
        ax.set_xlabel("Hazard ratio (log scale)")
        title = ENDPOINTS[endpoint].title if endpoint in ENDPOINTS else endpoint.upper()
        ax.set_title(f"{title}\n(n = {fmt_count(result.n)}; {fmt_count(result.events)} events)", fontsize=8.5, pad=4)
        terms = {t.key: t for t in result.terms}
        for i, (_label, key, kind, meaning) in enumerate(rows):
            y = y_of[i]
            color = MEANING_COLORS[meaning] if meaning else "black"
            if kind == "header":
                # the reason can be long; Table 2's footnotes give it
                text = (
                    "joint " + fmt_p(result.severity_global_p)
                    if result.severity_global_p is not None
                    else "joint test not estimable"
                )
                ax.text(
                    0.98,
                    y,
                    text,
                    transform=ax.get_yaxis_transform(),
                    ha="right",
                    va="center",
                    fontsize=7,
                    gid="joint_p",
                )
                continue
            if kind == "reference":
                ax.plot(
                    [1.0], [y], marker="D", ms=5, mfc="white", mec=color, mew=1.2, ls="none", zorder=3, gid="reference"
                )
                ax.annotate(
                    "Reference",
                    (1.0, y),
                    xytext=(6, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                    color="0.25",
                )
                continue
            term = terms.get(key)
            if term is None or term.hr is None or term.ci_low is None or term.ci_high is None:
                ax.annotate(
                    "not estimable",
                    (1.0, y),
                    xytext=(6, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                    color="0.35",
                    gid="not_estimable",
                )
                continue
            ax.plot([term.ci_low, term.ci_high], [y, y], color=color, lw=1.3, solid_capstyle="butt", zorder=2)
            ax.plot([term.hr], [y], marker="s", ms=5, color=color, ls="none", zorder=3, gid="estimate")
        if j == 0:
            # left-aligned in the label column, the CRS/ICANS levels indented under their header
            for i, (label, _key, kind, _) in enumerate(rows):
                indent = 0.18 if kind in ("reference", "sub") else 0.0
                x = -(label_w - 0.08 - indent) / panel_w
                ax.text(
                    x,
                    y_of[i],
                    label,
                    transform=ax.get_yaxis_transform(),
                    ha="left",
                    va="center",
                    fontsize=8,
                    fontweight="bold" if kind == "header" else "normal",
                    gid="row_label",
                )
    return fig


# ======================================================================================
# Competing risks (CIR/NRM) and the landmark analysis (issue 11)
# ======================================================================================

#: y-axis label per cause of the cumulative-incidence panels (time from CR, as LFS).
CIF_AXIS_LABELS = {
    "relapse": "Relapse incidence (%)",
    "nrm": "Non-relapse mortality (%)",
}


def peak_strips(results, groupings: Sequence[str]) -> list[Figure]:
    """Figure 4's panels, one per grouping (:func:`peak_strip`); a grouping that divides the
    patients with kinetics into the groups of an earlier panel is the same comparison: its
    panel is drawn with its own groups' names and says which panel holds the same patients
    (a text-only panel in its place told the reader nothing the data could show)."""
    panels = []
    for i, grouping in enumerate(groupings):
        twin = results.kinetics_same_split(grouping, groupings[:i])
        letter = "abcdefghijklmnopqrstuvwxyz"[groupings.index(twin)] if twin else None
        panels.append(peak_strip(results.kinetics_peak[grouping], results.kinetics_values(grouping), same_as=letter))
    return panels


def _not_estimable_panel(message: str, size: tuple[float, float] = PANEL_SIZE) -> Figure:
    """An empty panel that says why there is nothing to draw (never an exception)."""
    fig = _new_figure(size)
    ax = _axes(fig, 0.2, 0.2, size[0] - 0.4, size[1] - 0.4)
    ax.set_axis_off()
    ax.text(
        0.5, 0.5, "\n".join(textwrap.wrap(message, 40)), ha="center", va="center", fontsize=8.5, transform=ax.transAxes
    )
    return fig


def cif_plot(result, cause: str) -> Figure:
    """Cumulative incidence of ``cause`` ("relapse" or "nrm") among patients in CR, one
    step curve per level of the grouping (Aalen–Johansen, time from CR), Gray's p and a
    number-at-risk table under the plot (patients still in follow-up and event-free:
    the risk set is the same for both causes). Levels with n = 0 are left out.

    ``result`` is an :class:`analysis.estimators.competing.CompetingRisks`.
    """
    comparison = result.causes[cause]
    grouping = result.grouping
    shown = [(i, lv) for i, lv in _in_display_order(grouping, comparison.levels) if lv.n > 0]
    if not shown:
        return _not_estimable_panel(f"{comparison.label}: not estimable (no patient in CR)")
    labels = [level_label(grouping, lv.key, lv.label) for _, lv in shown]
    colors = [group_color(grouping, lv.key, _level_position(grouping, lv.key, i)) for i, lv in shown]
    legend_rows = _legend_rows(labels) if len(shown) > 1 else 0

    fig, ax, ax_risk, ax_width = _panel_with_risk_table(len(shown), legend_rows)

    x_max = max((lv.curve.last_time for _, lv in shown), default=0.0)
    x_right = KM_TICK_MONTHS * max(1, math.ceil(x_max / KM_TICK_MONTHS - 1e-9))
    ax.set_xlim(0, x_right)
    ax.set_ylim(0, 102)
    drawn = []
    for (_, level), color in zip(shown, colors):
        times = np.append(level.curve.times, level.curve.last_time)
        estimate = 100 * np.append(level.curve.estimate, level.curve.estimate[-1])
        ax.step(times, estimate, where="post", color=color, lw=1.3, solid_joinstyle="miter")
        drawn.append((times, estimate))
    ax.xaxis.set_major_locator(MultipleLocator(KM_TICK_MONTHS))
    ax.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    ax.set_xlabel(ENDPOINTS["lfs"].time_axis)  # relapse and NRM are timed from CR, as LFS
    ax.set_ylabel(CIF_AXIS_LABELS.get(cause, comparison.label + " (%)"))
    ax.tick_params(axis="x", labelbottom=True)
    if len(shown) > 1:
        p_text = "Gray's test " + fmt_p(comparison.gray.p, comparison.gray.reason)
        _p_in_free_corner(ax, p_text, drawn, ("upper left", "upper right", "lower right"), x_right, ax_width)
        _top_legend(fig, ax, [Line2D([], [], color=c, lw=1.5) for c in colors], labels, legend_rows)
    _risk_table(ax_risk, result, shown, colors, x_right, ax_width)
    return fig


#: Colour of each toxicity's onset curve: those of its swimmer-plot marker.
ONSET_COLORS = {"crs": OKABE_ITO[4], "icans": OKABE_ITO[3]}
ONSET_LABELS = {"crs": "CRS", "icans": "ICANS"}
#: Tick step of the onset axis, days.
ONSET_TICK_DAYS = 7
#: Size of the onset figure, inches: shown alone at the text width.
ONSET_FIGURE_SIZE = (6.6, 2.8)


def onset_plot(onset: dict) -> Figure:
    """Cumulative incidence of CRS and of ICANS onset from infusion, in days, with death
    before onset as the competing event (``onset``: toxicity -> an
    :class:`analysis.estimators.competing.OnsetIncidence`): one step curve per toxicity with its
    pointwise log(−log) 95% CI band, a dotted line at 50% and the median onset day in the
    legend ("not reached" when the incidence stays below 50%). The axis ends at the later of
    day 28 and the last onset, on a whole week."""
    from analysis.estimators.competing import loglog_ci

    shown = [(key, inc) for key, inc in onset.items() if inc.n > 0]
    if not shown:
        return _not_estimable_panel("Onset of CRS and ICANS: not estimable (no patient)")
    width, height = ONSET_FIGURE_SIZE  # a figure of its own: the text width, as the flow diagram
    legend_rows = 1 if len(shown) < 3 else len(shown)
    ax = _axes(fig := _new_figure((width, height)), 0.55, 0.45, width - 0.69, height - 0.45 - 0.1 - 0.2 * legend_rows)
    last_onset = max(float(inc.curve.times[-1]) for _, inc in shown)
    x_right = ONSET_TICK_DAYS * max(4, math.ceil(last_onset / ONSET_TICK_DAYS + 1e-9))
    handles, labels = [], []
    for key, inc in shown:
        color = ONSET_COLORS.get(key, OKABE_ITO[0])
        times = np.append(inc.curve.times, x_right)
        estimate = np.append(inc.curve.estimate, inc.curve.estimate[-1])
        bounds = [loglog_ci(float(f), float(v)) for f, v in zip(inc.curve.estimate, inc.curve.variance)]
        low = np.array([b[0] if b[0] is not None else f for b, f in zip(bounds, inc.curve.estimate)])
        high = np.array([b[1] if b[1] is not None else f for b, f in zip(bounds, inc.curve.estimate)])
        low, high = np.append(low, low[-1]), np.append(high, high[-1])
        ax.fill_between(times, 100 * low, 100 * high, step="post", color=color, alpha=0.15, linewidth=0, gid="ci_band")
        ax.step(times, 100 * estimate, where="post", color=color, lw=1.3, solid_joinstyle="miter")
        median = f"median day {fmt_tick(inc.median_day)}" if inc.median_day is not None else "median not reached"
        handles.append(Line2D([], [], color=color, lw=1.5))
        labels.append(f"{ONSET_LABELS.get(key, key)} ({fmt_count(inc.onsets)} of {fmt_count(inc.n)}; {median})")
    ax.axhline(50, color="#808080", lw=0.7, ls=(0, (1, 2)), zorder=0)
    ax.set_xlim(0, x_right)
    ax.set_ylim(0, 102)
    ax.xaxis.set_major_locator(MultipleLocator(ONSET_TICK_DAYS))
    ax.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    ax.set_xlabel("Days since infusion")
    ax.set_ylabel("Cumulative incidence of onset (%)")
    _top_legend(fig, ax, handles, labels, legend_rows)
    return fig


def landmark_km_plot(result) -> Figure:
    """Kaplan–Meier panel of the landmark analysis (an
    :class:`analysis.estimators.landmark.LandmarkComparison`): time from the landmark, toxicity as
    known at the landmark; a panel with the reason when it is not estimable."""
    if result.survival is None:
        return _not_estimable_panel(f"Landmark analysis not estimable ({result.reason})")
    return km_plot(
        result.survival,
        ylabel=ENDPOINTS[result.endpoint].survival_axis,
        xlabel=f"Months since the day-{result.landmark_day} landmark",
    )


def simon_makuch_plot(comparison) -> Figure:
    """Simon–Makuch panel of a toxicity as a time-dependent exposure (an
    :class:`analysis.estimators.timevarying.TimeDependentComparison`): each curve follows the
    patients while they are in its group (they move from "no toxicity" to the toxicity's
    group at its onset), with the Mantel–Byar p and the numbers at risk in each group
    (entering the toxicity's group at onset)."""
    return km_plot(comparison.curves, test="Mantel–Byar", ci=False)


# --------------------------------------------------------------------------- cohort flow and swimmer plot

_FLOW_BOX = {"boxstyle": "square,pad=0.45", "facecolor": "white", "edgecolor": "black", "linewidth": 0.8}


class FlowCanvas:
    """Boxes and arrows of a flow diagram, on axes whose data unit is one inch."""

    PAD = 0.06  # a box's padding (0.45 em at 8.5 pt), in inches

    def __init__(self, ax):
        self.ax = ax

    def box(self, x, y, text, ha="center"):
        self.ax.text(x, y, text, ha=ha, va="center", fontsize=8.5, bbox=_FLOW_BOX, multialignment="center")

    def arrow(self, x0, y0, x1, y1):
        self.ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 0.8,
                "color": "black",
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 8,
            },
        )

    @staticmethod
    def half(text: str) -> float:
        """Half the height of a box of this many lines (8.5 pt lines), without its padding."""
        return 0.075 * (text.count("\n") + 1) + 0.01

    def stages(self, rows, main_x: float, side_left: float) -> None:
        """The stages top down: (y, box text, text of the box to the right or None) per row, an
        arrow down between consecutive stages and one to the right to each side box."""
        pad, half = self.PAD, self.half
        for i, (y, text, side) in enumerate(rows):
            self.box(main_x, y, text)
            if i + 1 < len(rows):
                self.arrow(main_x, y - half(text) - pad, main_x, rows[i + 1][0] + half(rows[i + 1][1]) + pad)
            if side:
                y_side = (y + rows[i + 1][0]) / 2
                self.arrow(main_x, y_side, side_left - pad, y_side)
                self.box(side_left, y_side, side, ha="left")


#: The flow figure's box of excluded patients is at most this many lines of reasons, each
#: reason at most FLOW_REASON_LINES lines (wrapped at 34 characters, then cut with "…"): the
#: study file bounds the reasons (analysis.inputs.studyfile.MAX_EXCLUSION_REASONS and
#: MAX_REASON_CHARS), and the figure's height stays bounded whatever it declares; every
#: reason is written in full in Results.
FLOW_REASON_LINES = 3
FLOW_EXCLUDED_LINES = 30


def _reason_lines(reason: str, n: int) -> list[str]:
    """One reason with its count, wrapped at 34 characters in at most FLOW_REASON_LINES lines
    (a longer reason is cut with "…", its count always kept)."""
    lines = textwrap.wrap(f"{reason}: {fmt_count(n)}", 34)
    if len(lines) <= FLOW_REASON_LINES:
        return lines
    cut = textwrap.wrap(reason, 34, max_lines=FLOW_REASON_LINES, placeholder=" …")
    return [*cut[:-1], f"{cut[-1]}: {fmt_count(n)}"]


def _screening_boxes(flow) -> tuple[str, str] | None:
    """The flow's first stage when the study declares reasons for exclusion: the screened
    patients' box and the box of the excluded, one line per reason with its count (a reason of
    the study file wrapped at 34 characters, at most FLOW_REASON_LINES lines; past
    FLOW_EXCLUDED_LINES lines the remaining reasons are summed in one line); None when none is
    declared."""
    if not flow.excluded:
        return None
    lines = [f"Excluded\nn = {fmt_count(flow.n_excluded)}"]
    used = 0
    excluded = list(flow.excluded)
    for i, e in enumerate(excluded):
        reason = e.reason.replace("$", r"\$")  # the study file's words: never matplotlib's math
        wrapped = _reason_lines(reason, e.n)
        if used + len(wrapped) > FLOW_EXCLUDED_LINES - 1 and i < len(excluded) - 1:
            rest = excluded[i:]
            lines.append(f"{len(rest)} other reasons: {fmt_count(sum(r.n for r in rest))}")
            break
        lines.append("\n".join(wrapped))
        used += len(wrapped)
    return f"Screened\nn = {fmt_count(flow.screened)}", "\n".join(lines)


def flow_diagram(flow) -> Figure:
    """Cohort flow (an :class:`analysis.report.cohort_flow.CohortFlow`): infused -> evaluable at
    day 30 -> CR -> MRD-negative CR on the main axis, exclusions to the right, and the
    outcome of the MRD-negative CR patients at the bottom (all patients in CR in brackets); when
    transplants were recorded, a dashed note of the allogeneic HSCTs in CR beside MRD-negative CR."""
    lift = 0.0 if flow.hsct_in_cr is None else 0.45  # room for the HSCT note below MRD-negative CR
    screening = _screening_boxes(flow)
    top = 0.0 if screening is None else max(0.95, 2 * FlowCanvas.half(screening[1]) + 0.35)
    fig = _new_figure((6.6, 4.6 + lift + top))
    ax = _axes(fig, 0.05, 0.05, 6.5, 4.5 + lift + top)  # one data unit = one inch
    ax.set_xlim(0, 6.5)
    ax.set_ylim(0, 4.5 + lift + top)
    ax.set_axis_off()
    canvas = FlowCanvas(ax)
    box, arrow, pad = canvas.box, canvas.arrow, FlowCanvas.PAD

    main_x, side_left = 2.0, 3.7
    # concepts.RESPONSE_RULE: died or not followed up before the assessment = not in CR (in the
    # rates' denominators); a response recorded as not evaluable is left out of the rates
    not_assessed = (
        f"Died or not followed up before\nday 30, counted as not in CR\nn = {fmt_count(flow.before_assessment)}"
    )
    if flow.response_not_evaluable:
        not_assessed += (
            f"\nResponse not evaluable,\nleft out of the rates: n = {fmt_count(flow.response_not_evaluable)}"
        )
    mrd_side = f"MRD-positive CR\nn = {fmt_count(flow.mrd_positive_cr)}"
    mrd_box = f"{RESPONSES['mrd_negative_cr'].label}\nn = {fmt_count(flow.mrd_negative_cr)}"
    if flow.mrd_not_assessed_cr:  # "not done" is counted apart, never as positive or negative
        mrd_side += f"\nMRD not assessed\nn = {fmt_count(flow.mrd_not_assessed_cr)}"
        mrd_box += f"\n(MRD assessed in {fmt_count(flow.cr - flow.mrd_not_assessed_cr)}\nof {fmt_count(flow.cr)} in CR)"
    infused = "Infused and analyzed" if screening is not None else "Infused"
    rows = [
        (4.15 + lift, f"{infused}\nn = {fmt_count(flow.infused)}", not_assessed),
        (3.2 + lift, f"Assessed at day 30\nn = {fmt_count(flow.evaluable)}", f"Not in CR\nn = {fmt_count(flow.no_cr)}"),
        (2.25 + lift, f"{RESPONSES['cr'].label}\nn = {fmt_count(flow.cr)}", mrd_side),
        (1.3 + lift, mrd_box, None),
    ]
    if not flow.mrd_collected:  # the registry does not collect MRD: the flow ends at CR
        rows = rows[:2] + [(2.25 + lift, rows[2][1], None)]

    if screening is not None:  # STROBE 13a/13b: screened -> excluded with reasons -> analysed
        rows = [(4.15 + lift + top, screening[0], screening[1]), *rows]
    canvas.stages(rows, main_x, side_left)
    half = FlowCanvas.half
    outcomes = [
        f"Relapsed\nn = {fmt_count(flow.relapsed_mrd_negative)}\n(all CR: {fmt_count(flow.relapsed)})",
        f"Died without relapse\nn = {fmt_count(flow.died_without_relapse_mrd_negative)}\n"
        f"(all CR: {fmt_count(flow.died_without_relapse)})",
        f"Alive in CR\nn = {fmt_count(flow.alive_in_cr_mrd_negative)}\n(all CR: {fmt_count(flow.alive_in_cr)})",
    ]
    if not flow.mrd_collected:
        outcomes = [
            f"Relapsed\nn = {fmt_count(flow.relapsed)}",
            f"Died without relapse\nn = {fmt_count(flow.died_without_relapse)}",
            f"Alive in CR\nn = {fmt_count(flow.alive_in_cr)}",
        ]
    y_out, y_bar, xs = 0.32, 0.8, (1.0, 3.25, 5.5)
    ax.plot([main_x, main_x], [rows[-1][0] - half(rows[-1][1]) - pad, y_bar], color="black", lw=0.8)
    if flow.hsct_in_cr is not None:
        # a transplant in CR ends no follow-up (the outcomes below include these patients):
        # a dashed side note off the main line, not an exclusion
        y_hsct = 1.3
        ax.annotate(
            "",
            xy=(side_left - pad, y_hsct),
            xytext=(main_x, y_hsct),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 0.8,
                "color": "black",
                "linestyle": (0, (3, 2)),
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 8,
            },
        )
        hsct = (
            f"Allogeneic HSCT in CR\nn = {fmt_count(flow.hsct_in_cr_mrd_negative)}\n"
            f"(all CR: {fmt_count(flow.hsct_in_cr)})"
            if flow.mrd_collected
            else f"Allogeneic HSCT in CR\nn = {fmt_count(flow.hsct_in_cr)}"
        )
        box(side_left, y_hsct, hsct, ha="left")
    ax.plot([xs[0], xs[-1]], [y_bar, y_bar], color="black", lw=0.8)
    for x, text in zip(xs, outcomes):
        arrow(x, y_bar, x, y_out + 0.27 + pad)
        box(x, y_out, text)
    return fig


#: Marker of each event in the swimmer plot: (label, marker, colour, size).
SWIMMER_MARKERS = {
    "crs_onset": ("CRS onset", "o", OKABE_ITO[4], 3.5),
    "icans_onset": ("ICANS onset", "D", OKABE_ITO[3], 3.5),
    "cr": (RESPONSES["cr"].label, "^", OKABE_ITO[2], 4.0),
    "relapse": ("Relapse", "X", OKABE_ITO[1], 5.0),
    "hsct": ("Allogeneic HSCT", "P", OKABE_ITO[5], 4.5),
}


#: Days of the swimmer plot's expanded first panel: the toxicities begin within days.
SWIMMER_EARLY_DAYS = 56


#: Resolution of the swimmer plot after its expanded first weeks, in months: a patient's
#: exact event day is not shown (the first weeks are drawn to the whole day since infusion).
SWIMMER_LATE_ROUNDING = 1.0


def _swimmer_binned(months: np.ndarray, split: float) -> np.ndarray:
    """Swimmer times as drawn: whole days since infusion up to ``split`` months (the expanded
    first panel), else the nearest :data:`SWIMMER_LATE_ROUNDING` months, never back into
    the first panel; NaN stays NaN."""
    months = np.asarray(months, dtype=float)
    days = np.round(months * DAYS_PER_MONTH) / DAYS_PER_MONTH
    late = np.round(months / SWIMMER_LATE_ROUNDING) * SWIMMER_LATE_ROUNDING
    late = np.maximum(late, np.nextafter(split, np.inf))
    return np.where(months > split, late, days)


def _swimmer_bars(ax, y: np.ndarray, start: np.ndarray, end: np.ndarray) -> PolyCollection:
    """One grey bar per patient, from ``start`` to ``end`` on row ``y``: one collection, the
    rectangles ``barh`` draws (one artist each: a quarter of the plot's time at a hundred
    patients, to make and draw)."""
    half = 0.31  # bar height 0.62 of a row
    corners = np.stack(
        [
            np.column_stack([start, y - half]),
            np.column_stack([end, y - half]),
            np.column_stack([end, y + half]),
            np.column_stack([start, y + half]),
        ],
        axis=1,
    )
    bars = PolyCollection(list(corners), facecolors="#d9d9d9", edgecolors="none", zorder=1, gid="follow_up")
    ax.add_collection(bars, autolim=False)
    return bars


def swimmer_bar_ends(ax) -> np.ndarray:
    """Right ends of the follow-up bars of a swimmer panel (one per patient in it), for checks."""
    bars = [c for c in ax.collections if c.get_gid() == "follow_up"]
    return np.array([path.vertices[:, 0].max() for c in bars for path in c.get_paths()])


def swimmer_plot(timelines) -> Figure:
    """Swimmer plot of the per-patient timelines (an
    :class:`analysis.report.cohort_flow.Timelines`): one unlabeled bar per patient from
    infusion to death (black square) or last follow-up (arrow), ordered by follow-up,
    with CRS and ICANS onset, CR and relapse marked. The first :data:`SWIMMER_EARLY_DAYS`
    days, when CRS and ICANS begin (onsets measured in days), have a panel of their own in
    days, left of a break; the rest of follow-up is in months. When the cohort was
    thinned, a note above the plot says how many patients are shown."""

    n = timelines.shown
    if n == 0:
        return _not_estimable_panel("Swimmer plot not estimable (no patient)", (6.6, 2.0))
    row_h = min(0.06, 6.0 / n)
    main_h = max(1.2, row_h * n)
    note_h = 0.22 if timelines.shown < timelines.n_patients else 0.0
    has_hsct = timelines.hsct is not None and not np.isnan(timelines.hsct).all()
    legend_rows = 2 if has_hsct else 1  # seven entries do not fit on one line of the text width
    width, left, right, bottom, top = 6.6, 0.35, 0.15, 0.45, 0.45 + note_h + 0.16 * (legend_rows - 1)
    fig = _new_figure((width, bottom + main_h + top))
    split = SWIMMER_EARLY_DAYS / DAYS_PER_MONTH  # months
    x_max = float(np.nanmax(_swimmer_binned(timelines.follow_up, split))) if n else 1.0
    two_panels = x_max > split * 1.5
    gap = 0.12
    usable = width - left - right
    early_w = usable * 0.34 if two_panels else usable
    ax_early = _axes(fig, left, bottom, early_w, main_h)
    ax_late = _axes(fig, left + early_w + gap, bottom, usable - early_w - gap, main_h) if two_panels else None
    y = np.arange(n)
    # no patient's exact event day beyond the first weeks: times there are drawn to the nearest
    # month (SWIMMER_LATE_ROUNDING), the first weeks to the whole day (the caption says so)
    follow_up = _swimmer_binned(timelines.follow_up, split)
    fu_days = follow_up * DAYS_PER_MONTH
    _swimmer_bars(ax_early, y, np.zeros(n), np.minimum(fu_days, SWIMMER_EARLY_DAYS))
    ax_early.set_xlim(0, SWIMMER_EARLY_DAYS if two_panels else max(x_max * DAYS_PER_MONTH * 1.04, 1.0))
    if ax_late is not None:
        late = follow_up > split
        _swimmer_bars(ax_late, y[late], np.full(int(late.sum()), split), follow_up[late])
        ax_late.set_xlim(split, x_max * 1.04)
    marker_scale = min(1.0, max(0.45, 60 / n))

    def draw(x_months, **style):
        """Plot points (months) in the panel their time falls in (days in the first)."""
        x_months = _swimmer_binned(np.asarray(x_months, dtype=float), split)
        keep = ~np.isnan(x_months)
        early = keep & ((x_months <= split) | (ax_late is None))
        ax_early.plot(x_months[early] * DAYS_PER_MONTH, y[early] if early.size == n else y[:0], **style)
        if ax_late is not None:
            late_pts = keep & ~early
            ax_late.plot(x_months[late_pts], y[late_pts], **style)

    handles, labels = [], []
    for field_name, (label, marker, color, size) in SWIMMER_MARKERS.items():
        x = getattr(timelines, field_name)
        if x is None or (field_name == "hsct" and np.isnan(x).all()):
            continue  # no transplant recorded: no legend entry for it
        draw(x, ls="none", marker=marker, ms=size * marker_scale, color=color, mew=0, zorder=3)
        handles.append(Line2D([], [], ls="none", marker=marker, ms=size, color=color, mew=0))
        labels.append(label)
    dead = timelines.died
    draw(
        np.where(dead, timelines.follow_up, np.nan),
        ls="none",
        marker="s",
        ms=3.5 * marker_scale,
        color="black",
        zorder=4,
    )
    draw(
        np.where(~dead, timelines.follow_up, np.nan),
        ls="none",
        marker=">",
        ms=3.5 * marker_scale,
        color="#595959",
        zorder=4,
    )
    handles += [
        Line2D([], [], ls="none", marker="s", ms=3.5, color="black"),
        Line2D([], [], ls="none", marker=">", ms=3.5, color="#595959"),
    ]
    labels += ["Death", "Alive at last follow-up"]
    for ax in (ax_early, ax_late):
        if ax is None:
            continue
        ax.set_ylim(n - 0.5, -0.5)  # longest follow-up on top
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
    ax_early.xaxis.set_major_locator(MultipleLocator(14))
    ax_early.set_xlabel("Days after infusion")
    ax_early.set_ylabel("Patients (ordered by follow-up)")
    if ax_late is not None:
        ax_late.xaxis.set_major_locator(MultipleLocator(KM_TICK_MONTHS))
        ax_late.set_xlabel("Months after infusion")
        # the break between the panels: two slashes at the foot of each
        for ax, at in ((ax_early, 1.0), (ax_late, 0.0)):
            ax.plot(
                [at - 0.012, at + 0.012],
                [-0.02, 0.02],
                transform=ax.transAxes,
                color="black",
                lw=0.8,
                clip_on=False,
                zorder=6,
            )
    with mpl.rc_context(STYLE):
        fig.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0 + note_h / main_h),
            bbox_transform=ax_early.transAxes,
            ncol=-(-len(labels) // legend_rows),
            handletextpad=0.3,
            columnspacing=1.0,
            borderaxespad=0.1,
            fontsize=7.5,
        )
    if note_h:
        ax_early.text(
            0.0,
            1.0 + 0.03 / main_h,
            f"{fmt_count(timelines.shown)} of {fmt_count(timelines.n_patients)} patients shown, "
            "at evenly spaced ranks of follow-up",
            transform=ax_early.transAxes,
            ha="left",
            va="bottom",
            fontsize=7.5,
            style="italic",
        )
    return fig
