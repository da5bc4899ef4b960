"""Figures drawn from hand-built result objects: what is on the axes, not how it looks."""

import matplotlib

matplotlib.use("Agg")

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.estimators.comparisons import Comparison, ContinuousLevel, RateLevel, ResponseComparison, TestResult
from analysis.estimators.survival import KMCurve, KMSummary, SurvivalComparison
from analysis.report.figures import (
    MAX_CENSOR_MARKS,
    MEANING_COLORS,
    censor_marks_drawn,
    forest_plot,
    group_color,
    kinetics_profile_plot,
    km_plot,
    peak_strip,
    response_bars,
)

# --------------------------------------------------------------------------- builders


def _rate(key, label, events, n, low, high):
    return RateLevel(key, label, n, events, events / n if n else None, low, high)


def crs_responses():
    cr = ResponseComparison(
        "cr",
        "crs",
        (
            _rate("no", "No CRS", 15, 17, 0.636, 0.985),
            _rate("yes", "CRS", 71, 76, 0.853, 0.979),
        ),
        TestResult("fisher_exact", 0.342, None),
    )
    mrd = ResponseComparison(
        "mrd_negative_cr",
        "crs",
        (
            _rate("no", "No CRS", 11, 17, 0.383, 0.858),
            _rate("yes", "CRS", 62, 76, 0.710, 0.895),
        ),
        TestResult("chi_square", 0.122, 2.39),
    )
    return cr, mrd


def severity_responses():
    levels = (
        ("none", "No CRS or ICANS", 14, 16),
        ("severe", "Grade ≥3 CRS or severe ICANS", 19, 22),
        ("other", "Others (grade 1–2 CRS and/or ICANS)", 53, 55),
    )
    cr = ResponseComparison(
        "cr",
        "severity",
        tuple(_rate(k, l, e, n, max(e / n - 0.2, 0), min(e / n + 0.08, 1)) for k, l, e, n in levels),
        TestResult("fisher_exact", 0.260, None),
    )
    mrd = ResponseComparison(
        "mrd_negative_cr",
        "severity",
        tuple(_rate(k, l, e - 3, n, max((e - 3) / n - 0.2, 0), min((e - 3) / n + 0.1, 1)) for k, l, e, n in levels),
        TestResult("fisher_exact", 0.136, None),
    )
    return cr, mrd


def _km_level(key, label, n, event_times, survival, censor_times, censor_survival):
    curve = KMCurve(
        times=np.array([0.0, *event_times]),
        survival=np.array([1.0, *survival]),
        ci_low=np.array([1.0, *survival]) * 0.8,
        ci_high=np.minimum(np.array([1.0, *survival]) * 1.2, 1),
        censor_times=np.array(censor_times, dtype=float),
        censor_survival=np.array(censor_survival, dtype=float),
    )
    return KMSummary(key, label, n, len(event_times), None, None, None, "not reached", (), curve)


def crs_os():
    no = _km_level(
        "no",
        "No CRS",
        17,
        [2.0, 5.5, 9.1, 20.0],
        [0.94, 0.88, 0.82, 0.72],
        [14.0, 30.5, 47.9, 61.0],
        [0.82, 0.72, 0.72, 0.72],
    )
    yes = _km_level(
        "yes",
        "CRS",
        76,
        [1.0, 3.0, 4.2, 8.0, 11.0, 15.0, 26.0, 33.0],
        [0.97, 0.93, 0.89, 0.84, 0.78, 0.71, 0.64, 0.58],
        [6.0, 18.0, 40.0, 52.0, 70.3],
        [0.89, 0.71, 0.58, 0.58, 0.58],
    )
    return SurvivalComparison(
        "os",
        "crs",
        (no, yes),
        0.17,
        1,
        0.677,
        None,
        risk_times=(0.0, 12.0, 24.0, 36.0, 48.0, 60.0, 72.0),
        at_risk={"no": (17, 13, 10, 8, 4, 1, 0), "yes": (76, 55, 41, 30, 18, 9, 0)},
    )


def severity_lfs_with_empty_level():
    none = _km_level("none", "No CRS or ICANS", 15, [3.0, 10.0], [0.93, 0.85], [20.0, 44.0], [0.85, 0.85])
    severe = _km_level("severe", "Grade ≥3 CRS or severe ICANS", 0, [], [], [], [])
    other = _km_level(
        "other",
        "Others (grade 1–2 CRS and/or ICANS)",
        50,
        [2.0, 6.0, 12.5, 30.0],
        [0.96, 0.9, 0.8, 0.7],
        [8.0, 25.0, 50.0],
        [0.9, 0.8, 0.7],
    )
    return SurvivalComparison(
        "lfs",
        "severity",
        (none, severe, other),
        3.1,
        1,
        0.85,
        None,
        risk_times=(0.0, 12.0, 24.0, 36.0, 48.0),
        at_risk={"none": (15, 13, 11, 6, 0), "severe": (0, 0, 0, 0, 0), "other": (50, 40, 31, 20, 3)},
    )


def crs_peaks():
    comparison = Comparison(
        "peak_copies",
        "crs",
        "continuous",
        (
            ContinuousLevel("no", "No CRS", 5, 8000.0, 0.0, 61000.0),
            ContinuousLevel("yes", "CRS", 19, 42000.0, 950.0, 2.4e6),
        ),
        TestResult("mann_whitney", 0.205, 31.0),
    )
    values = pd.DataFrame(
        {
            "level": ["no"] * 5 + ["yes"] * 19,
            "peak_copies": [0.0, 1200.0, 8000.0, 15000.0, 61000.0, *np.geomspace(950.0, 2.4e6, 19)],
        }
    )
    return comparison, values


def severity_profile():
    rows = []
    for key, scale in (("none", 1.0), ("severe", 4.0), ("other", 2.0)):
        for day, base in ((0, 0.0), (4, 2e3), (7, 3e4), (10, 5e4), (14, 2e4), (21, 6e3), (28, 1e3)):
            median = base * scale
            rows.append(dict(level=key, day=day, n=6, median=median, q1=median / 3, q3=median * 3))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- helpers


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _visible_xticks(ax):
    low, high = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if low - 1e-9 <= t <= high + 1e-9]


def _legend_labels(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


# --------------------------------------------------------------------------- Figure 1


def test_response_bars_draw_one_bar_per_level_and_response_with_ci():
    fig = response_bars(*crs_responses())
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == sorted(round(100 * e / n, 3) for e, n in ((15, 17), (71, 76), (11, 17), (62, 76)))
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 100
    assert [t.get_text() for t in ax.get_xticklabels()] == ["15/17", "71/76", "11/17", "62/76"]
    # each p names its test (review 29, finding 26)
    assert "Fisher's exact p = 0.342" in _texts(fig) and "Chi-square p = 0.122" in _texts(fig)
    assert _legend_labels(fig) == ["No CRS", "CRS"]
    # error bars span the exact CI (in %)
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted((round(s[0][1], 1), round(s[1][1], 1)) for s in segments)
    assert (63.6, 98.5) in spans and (71.0, 89.5) in spans


def test_response_bars_colour_levels_by_meaning_and_name_both_responses():
    fig = response_bars(*severity_responses())
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    colors = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    # shown none, grade 1–2, grade ≥3 (the registry's trend order, review 29 finding 25): reference
    # blue, then the lightest and the darkest step of the severity scale
    expected = [MEANING_COLORS["reference"], MEANING_COLORS["grade_1_2"], MEANING_COLORS["grade_ge3"]]
    assert colors[:3] == expected == colors[3:]
    texts = _texts(fig)
    assert "CR" in texts and "MRD-negative CR" in texts
    assert {"Fisher's exact p = 0.260", "Fisher's exact p = 0.136"} <= set(texts)


def test_each_count_sits_under_its_own_bar_when_the_display_reorders_the_levels():
    """The fixture's levels are in the order none, severe, other; the figure shows none, grade
    1–2, grade ≥3 — the "responders/patients" label under each bar is that bar's (review 30, F1:
    the counts followed the data's order while the bars followed the display's)."""
    cr, mrd = severity_responses()
    ax = response_bars(cr, mrd).axes[0]
    bars = sorted((round(p.get_x() + p.get_width() / 2, 6), p.get_height()) for p in ax.patches)
    ticks = sorted(zip((round(x, 6) for x in ax.get_xticks()), (t.get_text() for t in ax.get_xticklabels())))
    assert [x for x, _ in bars] == [x for x, _ in ticks]
    for (_, height), (_, label) in zip(bars, ticks):
        events, n = map(int, label.split("/"))
        assert height == pytest.approx(100 * events / n)
    assert [label for _, label in ticks][:3] == ["14/16", "53/55", "19/22"]


# --------------------------------------------------------------------------- Figures 2–3


def test_km_plot_curves_marks_axes_and_pvalue():
    comparison = crs_os()
    fig = km_plot(comparison)
    ax, ax_risk = fig.axes
    steps = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    marks = [ln for ln in ax.lines if ln.get_marker() == "+"]
    assert len(steps) == 2 and len(marks) == 2
    assert [len(m.get_xdata()) for m in marks] == [4, 5]
    # curves in percent, extended to the last censoring time
    assert steps[0].get_ydata()[0] == 100 and steps[0].get_xdata()[-1] == pytest.approx(61.0)
    assert steps[1].get_xdata()[-1] == pytest.approx(70.3)
    assert ax.get_ylim() == (0, 102)
    assert _visible_xticks(ax) == [0, 12, 24, 36, 48, 60, 72]
    assert ax.get_xlim() == (0, 72)
    assert ax.get_xlabel() == "Months since infusion" and ax.get_ylabel() == "Overall survival (%)"
    assert "Log-rank p = 0.677" in [t.get_text() for t in ax.texts]
    assert _legend_labels(fig) == ["No CRS", "CRS"]
    assert [matplotlib.colors.to_hex(s.get_color()) for s in steps] == [
        MEANING_COLORS["reference"],
        MEANING_COLORS["any_toxicity"],
    ]


def test_km_risk_table_shows_the_given_numbers_under_each_time():
    comparison = crs_os()
    fig = km_plot(comparison)
    ax, ax_risk = fig.axes
    numbers = [t for t in ax_risk.texts if t.get_gid() == "at_risk"]
    by_row = {}
    for t in numbers:
        by_row.setdefault(t.get_position()[1], []).append((t.get_position()[0], int(t.get_text().replace(",", ""))))
    assert [[n for _, n in sorted(row)] for _, row in sorted(by_row.items())] == [
        list(comparison.at_risk["no"]),
        list(comparison.at_risk["yes"]),
    ]
    assert sorted({x for row in by_row.values() for x, _ in row}) == list(comparison.risk_times)
    # same time axis as the curves, and the numbers coloured like their curve
    assert ax_risk.get_xlim() == ax.get_xlim()
    row_colors = {matplotlib.colors.to_hex(t.get_color()) for t in numbers if t.get_position()[1] == 0}
    assert row_colors == {MEANING_COLORS["reference"]}
    # the risk table lies entirely below the survival axes
    assert ax_risk.get_position().y1 < ax.get_position().y0


def test_km_plot_skips_empty_levels_and_takes_the_axis_labels():
    comparison = severity_lfs_with_empty_level()
    fig = km_plot(comparison, ylabel="Leukemia-free survival (%)", xlabel="Months since CR")
    ax, ax_risk = fig.axes
    assert ax.get_xlabel() == "Months since CR" and ax.get_ylabel() == "Leukemia-free survival (%)"
    assert len([ln for ln in ax.lines if ln.get_marker() == "+"]) == 2
    assert _legend_labels(fig) == ["No CRS or ICANS", "Others (grade 1–2 CRS and/or ICANS)"]
    rows = {t.get_position()[1] for t in ax_risk.texts if t.get_gid() == "at_risk"}
    assert len(rows) == 2
    # the third level keeps its own colour although the second is skipped
    steps = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    assert matplotlib.colors.to_hex(steps[1].get_color()) == MEANING_COLORS["grade_1_2"]
    assert "Log-rank p = 0.850" in [t.get_text() for t in ax.texts]


def test_km_plot_draws_a_million_patient_cohort_from_aggregates():
    rng = np.random.default_rng(1)
    n = 1_000_000
    event_times = np.sort(rng.uniform(0, 80, 200_000))
    survival = np.linspace(0.999, 0.3, event_times.size)
    censor_times = np.sort(rng.uniform(0, 84, 300_000))
    censor_survival = np.interp(censor_times, event_times, survival)
    level = _km_level("yes", "CRS", n, event_times, survival, censor_times, censor_survival)
    comparison = SurvivalComparison(
        "os",
        "crs",
        (level,),
        None,
        None,
        None,
        "single group",
        risk_times=tuple(range(0, 85, 12)),
        at_risk={"yes": (1_000_000, 850_000, 700_000, 520_000, 390_000, 200_000, 90_000, 1_000)},
    )
    fig = km_plot(comparison)
    fig.savefig(io.BytesIO(), format="png")
    ax, ax_risk = fig.axes
    assert not [ln for ln in ax.lines if ln.get_marker() == "+"]  # 300,000 marks would be a smear
    # printed in full; with neighbours too close, every second 12-month column is shown
    shown = sorted((t.get_position()[0], t.get_text()) for t in ax_risk.texts if t.get_gid() == "at_risk")
    assert shown == [(0, "1,000,000"), (24, "700,000"), (48, "390,000"), (72, "90,000")]
    assert not fig.legends  # a single curve needs no legend


# --------------------------------------------------------------------------- Figure 4


def test_peak_strip_points_median_bars_and_log_axis():
    comparison, values = crs_peaks()
    fig = peak_strip(comparison, values)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "Peak CAR copies per µg DNA"
    offsets = [c.get_offsets() for c in ax.collections]
    assert [len(o) for o in offsets] == [5, 19]
    # the zero peak sits on the floor, below every detectable value, and is labelled "0"
    floor = offsets[0][:, 1].min()
    assert floor < 950 and ax.get_ylim()[0] < floor
    medians = sorted(ln.get_ydata()[0] for ln in ax.lines if ln.get_gid() == "median")
    assert medians == [8000.0, 42000.0]
    assert "Mann–Whitney p = 0.205" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["No CRS\n(n = 5)", "CRS\n(n = 19)"]
    # deterministic jitter: the same input draws the same points
    again = peak_strip(comparison, values).axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(again, offsets[0])


def test_kinetics_profile_by_visit_with_n_per_window():
    profile = severity_profile().assign(within=3.0)
    profile.loc[profile["day"] == 0, "within"] = 0.0
    profile.loc[(profile["level"] == "other") & (profile["day"] == 28), "n"] = 2
    fig = kinetics_profile_plot(profile, "severity")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    medians = [ln for ln in ax.lines if ln.get_gid() == "median"]
    zeros = [ln for ln in ax.lines if ln.get_gid() == "median-zero"]
    # the median's line joins only visits whose median is above 0; day 0 (median 0) is an
    # open point on the "0" floor, not joined to them: no line crosses the axis break (issue 21)
    assert len(medians) == 3 and len(zeros) == 3
    assert len([c for c in ax.collections if c.get_gid() == "iqr"]) == 3
    floor = zeros[0].get_ydata()[0]
    assert floor < 2000 / 3 and all(min(ln.get_ydata()) > floor * 10**0.5 for ln in medians)
    assert zeros[0].get_markerfacecolor() in ("white", (1.0, 1.0, 1.0, 1.0))
    # visits equally spaced, each labelled with its nominal day and window; levels side by side
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0\n±0",
        "4\n±3",
        "7\n±3",
        "10\n±3",
        "14\n±3",
        "21\n±3",
        "28\n±3",
    ]
    assert medians[0].get_xdata()[0] < 1 < medians[2].get_xdata()[0]
    assert "0" in [t.get_text() for t in _in_view(ax.get_yticklabels(), ax.get_ylim(), 1)]
    assert ax.get_xlabel() == "Visit, days after infusion (± window)"
    assert _legend_labels(fig) == [
        "No CRS or ICANS",
        "Others (grade 1–2 CRS and/or ICANS)",
        "Grade ≥3 CRS or severe ICANS",
    ]
    # the patients sampled per window and level, in the level's row
    counts = [t.get_text() for t in fig.axes[1].texts if t.get_gid() == "n_sampled"]
    assert counts == ["6"] * 7 + ["6"] * 6 + ["2"] + ["6"] * 7  # rows in the display order


def test_kinetics_profile_draws_a_zero_lower_quartile_dashed_to_the_break():
    profile = severity_profile()
    profile.loc[profile["day"] == 28, "q1"] = 0.0
    ax = kinetics_profile_plot(profile, "severity").axes[0]
    dashed = [c for c in ax.collections if c.get_gid() == "iqr-to-zero"]
    assert len(dashed) == 3
    floor = min(ln.get_ydata()[0] for ln in ax.lines if ln.get_gid() == "median-zero")
    assert all(seg[0][1] > floor for c in dashed for seg in c.get_segments())  # it stops at the break


def test_kinetics_profile_without_any_visit_says_so():
    empty = severity_profile().iloc[0:0]
    fig = kinetics_profile_plot(empty, "severity")
    assert [t.replace("\n", " ") for t in _texts(fig)] == ["No kinetics sample falls in a visit window."]


def test_figures_are_panel_sized_and_save_to_png(tmp_path):
    figures = {
        "response": response_bars(*crs_responses()),
        "km": km_plot(crs_os()),
        "peak": peak_strip(*crs_peaks()),
        "profile": kinetics_profile_plot(severity_profile(), "severity"),
    }
    for name, fig in figures.items():
        w, h = fig.get_size_inches()
        assert 3.0 <= w <= 3.6 and 2.5 <= h <= 4.0, name
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.stat().st_size > 10_000


def _in_view(labels, limits, index):
    low, high = sorted(limits)
    return [t for t in labels if low - 1e-9 <= t.get_position()[index] <= high + 1e-9]


def _all_texts(fig):
    """Every drawn text (tick labels only inside the view limits: the others are not drawn)."""
    texts = [
        t
        for ax in fig.axes
        for t in (
            *ax.texts,
            *_in_view(ax.get_xticklabels(), ax.get_xlim(), 0),
            *_in_view(ax.get_yticklabels(), ax.get_ylim(), 1),
            ax.xaxis.label,
            ax.yaxis.label,
            ax.title,
        )
    ]
    texts += [t for leg in fig.legends for t in leg.get_texts()]
    return [t for t in texts if t.get_text() and t.get_visible()]


def _severity_peaks(n_scale=1):
    """``n_scale``: the groups' n as a registry reports them (the points drawn stay the same)."""
    comparison = Comparison(
        "peak_copies",
        "severity",
        "continuous",
        (
            ContinuousLevel("none", "No CRS or ICANS", 4 * n_scale, 3000.0, 500.0, 9e4),
            ContinuousLevel("severe", "Grade ≥3 CRS or severe ICANS", 6 * n_scale, 8e4, 2e3, 3e6),
            ContinuousLevel("other", "Others (grade 1–2 CRS and/or ICANS)", 14 * n_scale, 3e4, 900.0, 1e6),
        ),
        TestResult("kruskal_wallis", 0.281, 2.5),
    )
    values = pd.DataFrame(
        {
            "level": ["none"] * 4 + ["severe"] * 6 + ["other"] * 14,
            "peak_copies": [500, 2000, 4000, 9e4, *np.geomspace(2e3, 3e6, 6), *np.geomspace(900, 1e6, 14)],
        }
    )
    return comparison, values


@pytest.mark.parametrize(
    "make",
    [
        lambda: response_bars(*severity_responses()),
        lambda: km_plot(severity_lfs_with_empty_level()),
        lambda: peak_strip(*_severity_peaks()),
        lambda: peak_strip(*_severity_peaks(n_scale=100_007)),  # "(n = 1,400,098)" under each group
        lambda: kinetics_profile_plot(severity_profile(), "severity"),
    ],
)
def test_text_is_readable_at_print_size_and_tick_labels_do_not_overlap(make):
    fig = make()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert all(t.get_fontsize() >= 6 for t in _all_texts(fig))
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        boxes = [
            t.get_window_extent(renderer) for t in _in_view(ax.get_xticklabels(), ax.get_xlim(), 0) if t.get_text()
        ]
        for a, b in zip(boxes, boxes[1:]):
            assert a.x1 <= b.x0, "neighbouring x tick labels overlap"
    # nothing is drawn outside the figure (a clipped label would be lost in print)
    width, height = canvas.get_width_height()
    for t in _all_texts(fig):
        box = t.get_window_extent(renderer)
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, t.get_text()


def test_km_plot_labels_follow_the_endpoint():
    # LFS starts at CR, OS at infusion: a default label must not call LFS "overall survival".
    lfs_ax = km_plot(severity_lfs_with_empty_level()).axes[0]
    assert (lfs_ax.get_ylabel(), lfs_ax.get_xlabel()) == ("Leukemia-free survival (%)", "Months since CR")
    os_ax = km_plot(crs_os()).axes[0]
    assert (os_ax.get_ylabel(), os_ax.get_xlabel()) == ("Overall survival (%)", "Months since infusion")


def test_peak_strip_thins_large_groups_to_quantiles_and_says_so():
    from analysis.estimators.comparisons import compare_continuous
    from analysis.report.figures import MAX_STRIP_POINTS

    rng = np.random.default_rng(3)
    n = 5 * MAX_STRIP_POINTS
    level = np.where(np.arange(n) % 5 == 0, "no", "yes")  # 1,000 and 4,000 patients
    peaks = np.round(10 ** rng.normal(4, 1, n))
    df = pd.DataFrame({"peak_copies": peaks, "grp_crs": pd.Categorical(level, ["no", "yes"])})
    comparison = compare_continuous(df, "peak_copies", "crs")
    values = pd.DataFrame({"level": level, "peak_copies": peaks})
    ax = peak_strip(comparison, values).axes[0]
    offsets = [c.get_offsets() for c in ax.collections]
    assert [len(o) for o in offsets] == [MAX_STRIP_POINTS, MAX_STRIP_POINTS]
    big = np.sort(peaks[level == "yes"])
    ys = np.sort(offsets[1][:, 1])
    assert ys[0] == big[0] and ys[-1] == big[-1]  # the whole range is kept
    assert abs(np.median(ys) - np.median(big)) <= np.diff(big).max() + 1e-9
    medians = sorted(ln.get_ydata()[0] for ln in ax.lines if ln.get_gid() == "median")
    assert medians == sorted([np.median(peaks[level == "no"]), np.median(big)])  # from all patients
    assert any(t.get_gid() == "thinned-note" for t in ax.texts)
    small = peak_strip(*crs_peaks()).axes[0]
    assert not any(t.get_gid() == "thinned-note" for t in small.texts)


# --------------------------------------------------------------------------- colours, CI bands, forest plot


def test_every_level_has_one_colour_per_meaning():
    from analysis.estimators.effects import REFERENCE_LEVELS
    from analysis.registry.groups import GROUPINGS
    from analysis.report.figures import SEVERITY_SCALE, level_meaning

    for name, grouping in GROUPINGS.items():
        for key in grouping.keys:
            assert level_meaning(name, key) is not None, (name, key)
        # the reference group has the same colour in every grouping
        assert group_color(name, REFERENCE_LEVELS[name]) == MEANING_COLORS["reference"]
    assert group_color("concurrent", "others") == MEANING_COLORS["reference"]  # listed second, still reference
    assert (
        group_color("crs_grade", "grade_ge3")
        == group_color("severity", "severe")
        == group_color("icans_grade", "grade_ge3")
    )

    # severity scale: strictly darker (lower relative luminance) with severity
    def luminance(hex_color):
        rgb = np.array(matplotlib.colors.to_rgb(hex_color))
        lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(lin @ [0.2126, 0.7152, 0.0722])

    steps = [luminance(MEANING_COLORS[m]) for m in SEVERITY_SCALE]
    assert steps == sorted(steps, reverse=True) and len(set(steps)) == 3
    assert len(set(MEANING_COLORS.values())) == len(MEANING_COLORS)


def _bands(ax):
    return [c for c in ax.collections if c.get_gid() == "ci_band"]


def test_km_ci_bands_on_by_default_for_two_groups_and_drawn_from_the_log_ci():
    comparison = crs_os()
    ax = km_plot(comparison).axes[0]
    bands = _bands(ax)
    assert len(bands) == 2
    for band, level in zip(bands, comparison.levels):
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(100 * level.curve.ci_low.min())
        assert ys.max() == pytest.approx(100 * level.curve.ci_high.max())
        assert matplotlib.colors.to_hex(band.get_facecolor()[0]) == group_color("crs", level.key)
    assert not _bands(km_plot(comparison, ci=False).axes[0])
    # three groups: off by default (overlapping bands would hide the curves), on when asked
    severity = severity_lfs_with_empty_level()
    three = SurvivalComparison(
        **{
            **severity.__dict__,
            "levels": tuple(
                lv if lv.n else severity.levels[0].__class__(**{**severity.levels[0].__dict__, "key": "severe"})
                for lv in severity.levels
            ),
        }
    )
    assert not _bands(km_plot(three).axes[0])
    assert len(_bands(km_plot(three, ci=True).axes[0])) == 3


def _cox_for_forest():
    from analysis.estimators.cox import COX_TERMS, CoxResult, CoxTerm

    def result(endpoint, values, joint_p):
        terms = tuple(
            CoxTerm(k, COX_TERMS[k], None, None, *values[k], reason=None if values[k][0] else "no event")
            for k in COX_TERMS
        )
        return CoxResult(endpoint, 93, 55, "efron", terms, 1.5, joint_p, (), None)

    os_ = {
        "bm_blasts_ge20": (0.89, 0.49, 1.63, 0.707),
        "steroids": (0.7, 0.37, 1.33, 0.28),
        "tocilizumab": (0.94, 0.5, 1.75, 0.84),
        "severity_ge3": (2.02, 0.65, 6.26, 0.222),
        "severity_other": (1.5, 0.62, 3.6, 0.37),
    }
    lfs = dict(os_, severity_other=(None, None, None, None))
    return {"os": result("os", os_, 0.468), "lfs": result("lfs", lfs, 0.0004)}


def test_forest_plot_draws_table2_on_a_log_axis_with_reference_rows():
    cox = _cox_for_forest()
    fig = forest_plot(cox)
    os_ax, lfs_ax = fig.axes
    for ax in (os_ax, lfs_ax):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "Hazard ratio (log scale)"
        assert any(ln.get_xdata()[0] == 1 for ln in ax.lines if ln.get_linestyle() not in ("None", "-"))
        reference = [ln for ln in ax.lines if ln.get_gid() == "reference"]
        assert len(reference) == 1 and reference[0].get_xdata()[0] == 1.0
        assert matplotlib.colors.to_hex(reference[0].get_markeredgecolor()) == MEANING_COLORS["reference"]
    estimates = {
        ax: sorted(ln.get_xdata()[0] for ln in ax.lines if ln.get_gid() == "estimate") for ax in (os_ax, lfs_ax)
    }
    assert estimates[os_ax] == [0.7, 0.89, 0.94, 1.5, 2.02]
    assert estimates[lfs_ax] == [0.7, 0.89, 0.94, 2.02]
    assert [t.get_text() for t in lfs_ax.texts if t.get_gid() == "not_estimable"] == ["not estimable"]
    assert [t.get_text() for t in os_ax.texts if t.get_gid() == "joint_p"] == ["joint p = 0.468"]
    assert [t.get_text() for t in lfs_ax.texts if t.get_gid() == "joint_p"] == ["joint p < 0.001"]
    labels = [t.get_text() for t in os_ax.texts if t.get_gid() == "row_label"]
    assert labels[0] == "BM blasts ≥20% vs <20%" and "No CRS or ICANS" in labels and len(labels) == 7
    severe = next(ln for ln in os_ax.lines if ln.get_gid() == "estimate" and ln.get_xdata()[0] == 2.02)
    assert matplotlib.colors.to_hex(severe.get_color()) == MEANING_COLORS["grade_ge3"]
    # every CI inside the axis
    low, high = os_ax.get_xlim()
    assert low < 0.37 and high > 6.26
    assert "Overall survival" in os_ax.get_title() and "Leukemia-free survival" in lfs_ax.get_title()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    width, height = canvas.get_width_height()
    for t in _all_texts(fig):
        box = t.get_window_extent(canvas.get_renderer())
        assert box.x0 >= -1 and box.x1 <= width + 1 and box.y0 >= -1 and box.y1 <= height + 1, t.get_text()


def test_forest_plot_ticks_stay_readable_on_any_range():
    import dataclasses

    """A wide range gets 1-2-5 ticks, every one inside the axis, labels not overlapping."""
    base = _cox_for_forest()
    for low, high in ((0.18, 6.87), (0.004, 250.0), (0.3, 3.0)):
        cox = {
            e: dataclasses.replace(
                r,
                terms=tuple(
                    dataclasses.replace(t, ci_low=low, ci_high=high) if t.hr is not None else t for t in r.terms
                ),
            )
            for e, r in base.items()
        }
        fig = forest_plot(cox)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        for ax in fig.axes:
            lo, hi = ax.get_xlim()
            shown = [t for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]
            assert len(shown) >= 3, (low, high, [t.get_text() for t in shown])
            boxes = [t.get_window_extent(canvas.get_renderer()) for t in shown]
            assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), (low, high)


# --------------------------------------------------------------------------- registry scale


def _censor_mark_lines(fig):
    return [ln for ln in fig.axes[0].lines if ln.get_marker() == "+"]


def _km_with_censorings(n_censored_per_level):
    """Two levels with the given numbers of distinct censoring times."""
    levels = []
    for key, n_censored in zip(("no", "yes"), n_censored_per_level):
        censor_times = np.linspace(1.0, 70.0, n_censored)
        levels.append(
            _km_level(
                key,
                key,
                10 * n_censored + 5,
                [0.5, 30.0],
                [0.9, 0.6],
                censor_times,
                np.where(censor_times < 30.0, 0.9, 0.6),
            )
        )
    return SurvivalComparison(
        "os", "crs", tuple(levels), 1.0, 1, 0.3, None, risk_times=(0.0, 12.0), at_risk={"no": (10, 5), "yes": (10, 5)}
    )


def test_km_censor_marks_every_distinct_time_up_to_the_threshold_and_none_above():
    below = _km_with_censorings([MAX_CENSOR_MARKS, 7])
    assert censor_marks_drawn(below)
    lines = _censor_mark_lines(km_plot(below))
    assert sorted(len(ln.get_xdata()) for ln in lines) == [7, MAX_CENSOR_MARKS]  # one mark per time, none dropped

    # one curve above the threshold: no marks on either curve (a bare curve beside a marked
    # one would read as a group without censoring)
    above = _km_with_censorings([MAX_CENSOR_MARKS + 1, 7])
    assert not censor_marks_drawn(above)
    assert _censor_mark_lines(km_plot(above)) == []


def test_report_censor_marks_says_all_none_or_some():
    from types import SimpleNamespace

    from analysis.report.figures import report_censor_marks

    few, many = _km_with_censorings([5, 5]), _km_with_censorings([5, MAX_CENSOR_MARKS + 1])
    not_estimable = SimpleNamespace(survival=None)
    assert report_censor_marks(SimpleNamespace(survival={"a": few}, landmark={"b": not_estimable})) is True
    assert report_censor_marks(SimpleNamespace(survival={"a": many}, landmark={"b": not_estimable})) is False
    assert (
        report_censor_marks(SimpleNamespace(survival={"a": few}, landmark={"b": SimpleNamespace(survival=many)}))
        is None
    )


def _registry_responses(levels):
    """Response comparisons with registry-sized counts: ``levels`` is (key, label, cr, mrd, n)."""

    def comparison(response, index):
        return ResponseComparison(
            response,
            "severity" if len(levels) == 3 else "crs",
            tuple(
                _rate(key, label, counts[index], n, counts[index] / n - 0.001, min(counts[index] / n + 0.001, 1))
                for key, label, *counts, n in levels
            ),
            TestResult("chi_square", 1e-9, 300.0),
        )

    return comparison("cr", 0), comparison("mrd_negative_cr", 1)


REGISTRY_COUNTS = {
    # the 10^6-patient synthetic registry's counts (/work/scale-data/n1e6)
    "2 levels, 10^6": [("no", "No CRS", 182_796, 118_280, 182_796), ("yes", "CRS", 741_936, 677_420, 817_204)],
    "3 levels, 10^6": [
        ("none", "No CRS or ICANS", 172_043, 107_527, 172_043),
        ("other", "Others (grade 1–2 CRS and/or ICANS)", 529_514, 501_350, 577_870),
        ("severe", "Grade ≥3 CRS or severe ICANS", 223_175, 186_823, 250_087),
    ],
    "3 levels, 10^7": [
        ("none", "No CRS or ICANS", 1_720_043, 1_075_270, 1_720_043),
        ("other", "Others (grade 1–2 CRS and/or ICANS)", 5_295_140, 5_013_500, 5_778_700),
        ("severe", "Grade ≥3 CRS or severe ICANS", 2_231_750, 1_868_230, 2_500_870),
    ],
    "3 levels, demo": [
        ("none", "No CRS or ICANS", 16, 10, 16),
        ("other", "Others (grade 1–2 CRS and/or ICANS)", 49, 47, 54),
        ("severe", "Grade ≥3 CRS or severe ICANS", 21, 17, 23),
    ],
}


@pytest.mark.parametrize("size", REGISTRY_COUNTS)
def test_response_count_labels_never_overlap_and_stay_readable(size):
    fig = response_bars(*_registry_responses(REGISTRY_COUNTS[size]))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    counts = [t for t in ax.get_xticklabels() if t.get_text()]
    assert len(counts) == 2 * len(REGISTRY_COUNTS[size])
    # every count is printed in full (no rounding to "183k")
    printed = [t.get_text().replace("\n", "") for t in counts]
    expected = [f"{lv[2 + i]:,}/{lv[4]:,}" for i in (0, 1) for lv in REGISTRY_COUNTS[size]]
    assert printed == expected
    assert all(t.get_fontsize() >= 6 for t in counts)
    # no two texts of the panel overlap: the counts, the response names under them, the p-values
    texts = counts + [t for t in ax.texts if t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    for i, (text_a, a) in enumerate(boxes):
        for text_b, b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"{text_a!r} overlaps {text_b!r}"
    # and all of them are inside the figure
    width, height = canvas.get_width_height()
    for text, box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, text


@pytest.mark.parametrize("draw", ["km", "cif"])
def test_p_value_is_placed_where_no_curve_runs(draw):
    """A fast-falling LFS curve runs through the lower left corner, where the p-value used to sit."""
    times = np.linspace(0.2, 60.0, 300)
    if draw == "km":
        survival = np.exp(-times / 5.0)
        levels = tuple(
            _km_level(key, key, 400, times, survival * factor, [61.0], [survival[-1] * factor])
            for key, factor in (("no", 1.0), ("yes", 0.9))
        )
        comparison = SurvivalComparison(
            "lfs", "crs", levels, 1.0, 1, 0.3, None, risk_times=(0.0, 12.0), at_risk={"no": (400, 50), "yes": (400, 40)}
        )
        fig = km_plot(comparison)
    else:
        from types import SimpleNamespace

        def cif_level(key, factor):  # incidence rising fast to 90%: the upper left corner is taken
            curve = SimpleNamespace(times=times, estimate=0.97 * factor * (1 - np.exp(-times / 2.0)), last_time=61.0)
            return SimpleNamespace(key=key, label=key, n=400, curve=curve)

        cause = SimpleNamespace(
            label="Relapse",
            levels=(cif_level("no", 1.0), cif_level("yes", 0.9)),
            gray=SimpleNamespace(p=0.02, reason=None),
        )
        result = SimpleNamespace(
            grouping="crs",
            causes={"relapse": cause},
            risk_times=(0.0, 12.0),
            at_risk={"no": (400, 50), "yes": (400, 40)},
        )
        from analysis.report.figures import cif_plot

        fig = cif_plot(result, "relapse")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    [p_text] = [t for t in ax.texts if t.get_gid() == "p_value"]
    box = p_text.get_window_extent(canvas.get_renderer())
    for line in ax.lines:
        if line.get_linestyle() != "-":
            continue
        points = line.get_transform().transform(line.get_path().interpolated(20).vertices)
        assert not any(box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1 for x, y in points), p_text.get_text()
