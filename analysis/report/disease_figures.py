"""Figures of the disease (LBCL, MM) report, drawn from :class:`~analysis.report.disease_results.DiseaseResults`.

Presentation only, in the style of :mod:`analysis.report.figures` (its :data:`STYLE`, fixed
panel geometry, and its Kaplan–Meier and cumulative-incidence panels); every p-value printed
follows the report's rule (``p > 0.99``, never ``p = 1.000``:
:func:`analysis.report.formatting.fmt_p`). The response
distribution is a stacked bar per toxicity group with one color per response level:
a diverging color-blind-safe scale (ColorBrewer RdBu, reversed: blue for the best
responses, through gray, to red for progression), so the order of the scale is carried
by the colors and the report's blue keeps meaning "good/reference".
"""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.estimators.ordinal import ResponseDistribution
from analysis.registry.diseases import PFS, Scale
from analysis.report import figures
from analysis.report.formatting import fmt_count, fmt_p

#: ColorBrewer RdBu (colour-blind safe), best response first; a scale of k levels takes
#: k evenly spaced colours of it (4: Lugano; 7: IMWG).
RESPONSE_COLORS = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b")
_SEVEN = ("#2166ac", "#4393c3", "#92c5de", "#e0e0e0", "#f4a582", "#d6604d", "#b2182b")
_FOUR = ("#2166ac", "#92c5de", "#bababa", "#b2182b")


def response_colors(scale: Scale) -> tuple[str, ...]:
    """One color per level of the scale, best first."""
    if len(scale.levels) == 4:
        return _FOUR
    if len(scale.levels) == 7:
        return _SEVEN
    step = (len(RESPONSE_COLORS) - 1) / max(1, len(scale.levels) - 1)
    return tuple(RESPONSE_COLORS[round(i * step)] for i in range(len(scale.levels)))


def response_stacked(distribution: ResponseDistribution, scale: Scale, title: str | None = None) -> Figure:
    """Stacked bars: the share of each response level (best at the bottom) per group,
    the group's n under its bar and the rank test's p above the panel."""
    fig = figures._new_figure((3.3, 3.2))
    ax = figures._axes(fig, 0.55, 0.85, 2.0, 1.95)
    colors = response_colors(scale)
    shown = [lv for lv in distribution.levels if lv.n > 0]
    for x, level in enumerate(shown):
        bottom = 0.0
        for count, color in zip(level.counts, colors):
            share = 100 * count / level.n
            ax.bar(x, share, bottom=bottom, width=0.7, color=color, edgecolor="white", linewidth=0.5)
            if share >= 8:
                dark = color in ("#2166ac", "#b2182b", "#4393c3", "#d6604d")
                ax.text(
                    x,
                    bottom + share / 2,
                    f"{round(share)}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "black",
                )
            bottom += share
    ax.set_xticks(range(len(shown)))
    labels = [figures.level_label(distribution.grouping, lv.key, lv.label) for lv in shown]
    wrapped = ["\n".join(textwrap.wrap(label, 11)) for label in labels]
    ax.set_xticklabels([f"{label}\n(n = {fmt_count(lv.n)})" for label, lv in zip(wrapped, shown)], fontsize=6.5)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Patients (%)")
    if distribution.result.test is not None or distribution.result.reason:
        name = figures._test_name(distribution.result.test)
        ax.set_title(f"{name} {fmt_p(distribution.result.p, distribution.result.reason)}", fontsize=8)
    handles = [Patch(facecolor=c, edgecolor="0.6", linewidth=0.4) for c in colors]
    ax.legend(
        handles,
        list(scale.keys),
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        fontsize=7,
        title=title,
        title_fontsize=7,
    )
    return fig


def km(comparison, endpoint) -> Figure:
    """A Kaplan–Meier panel of a profile endpoint (PFS, DoR, OS) with its own axis labels."""
    return figures.km_plot(comparison, ylabel=endpoint.survival_axis, xlabel=endpoint.time_axis)


def cif(result, cause: str) -> Figure:
    """Cumulative incidence of progression or NRM from infusion (every patient)."""
    fig = figures.cif_plot(result, cause)
    for ax in fig.axes:
        if ax.get_xlabel():
            ax.set_xlabel(PFS.time_axis)  # progression and NRM are timed from infusion, as PFS
    return fig


def flow_diagram(flow, profile) -> Figure:
    """Cohort flow of a disease report (a :class:`analysis.report.cohort_flow.DiseaseFlow`):
    infused -> best response evaluable -> responders -> complete response on the main axis,
    with who left each stage to the right, and the outcome of the responders at the bottom."""
    fig = figures._new_figure((6.6, 3.9))
    ax = figures._axes(fig, 0.05, 0.05, 6.5, 3.8)  # one data unit = one inch
    ax.set_xlim(0, 6.5)
    ax.set_ylim(0, 3.8)
    ax.set_axis_off()
    canvas = figures.FlowCanvas(ax)
    box, arrow, pad = canvas.box, canvas.arrow, figures.FlowCanvas.PAD

    orr, cr = profile.responder("orr"), profile.responder("cr")
    levels = "/".join(k for k in profile.scale.keys if k not in orr.levels)
    below_cr = "/".join(k for k in orr.levels if k not in cr.levels)
    complete = f"{cr.label}\nn = {fmt_count(flow.complete)}"
    if flow.mrd_negative is not None:
        complete += f"\nMRD-negative: n = {fmt_count(flow.mrd_negative)}"
        if flow.mrd_not_assessed:
            complete += f"\n(MRD not assessed: n = {fmt_count(flow.mrd_not_assessed)})"
    rows = [
        (
            3.55,
            f"Infused\nn = {fmt_count(flow.infused)}",
            f"Best response not evaluable,\nleft out of the rates\nn = {fmt_count(flow.not_evaluable)}",
        ),
        (
            2.75,
            f"Best response evaluable\nn = {fmt_count(flow.evaluable)}",
            f"No response ({levels})\nn = {fmt_count(flow.non_responders)}",
        ),
        (1.95, f"{orr.label}\nn = {fmt_count(flow.responders)}", f"{below_cr}\nn = {fmt_count(flow.partial)}"),
        (1.15, complete, None),
    ]
    main_x, side_left = 2.0, 3.7

    canvas.stages(rows, main_x, side_left)
    half = figures.FlowCanvas.half
    # the outcome of every responder (complete and partial), at last follow-up
    outcomes = [
        f"Progressed\nn = {fmt_count(flow.progressed)}",
        f"Died without\nprogression\nn = {fmt_count(flow.died_without_progression)}",
        f"Alive without\nprogression\nn = {fmt_count(flow.alive_progression_free)}",
    ]
    y_out, y_bar, xs = 0.27, 0.6, (1.0, 3.25, 5.5)
    # both the complete and the partial responses lead to the outcomes
    partial_y = (rows[2][0] + rows[3][0]) / 2
    partial_x = side_left + 0.35
    ax.plot([partial_x, partial_x], [partial_y - half(rows[2][2] or "") - pad, y_bar], color="black", lw=0.8)
    ax.plot([main_x, main_x], [rows[-1][0] - half(rows[-1][1]) - pad, y_bar], color="black", lw=0.8)
    ax.text(6.25, y_bar + 0.05, "Responders at last follow-up", ha="right", va="bottom", fontsize=7.5, style="italic")
    ax.plot([xs[0], xs[-1]], [y_bar, y_bar], color="black", lw=0.8)
    for x, text in zip(xs, outcomes):
        arrow(x, y_bar, x, y_out + half(text) + pad)
        box(x, y_out, text)
    return fig
