"""Tables built from hand-made results: both representations carry the same content."""

import re

from analysis.estimators.comparisons import (
    CategoricalLevel,
    CategoryCount,
    Comparison,
    ContinuousLevel,
    TestResult,
)
from analysis.estimators.cox import COX_TERMS, CoxResult, CoxTerm, PHTest
from analysis.registry.concepts import VARIABLES
from analysis.registry.groups import GROUPINGS
from analysis.report.tables import (
    Table,
    baseline_variables,
    course_variables,
    md_escape,
    reproduction_table,
    table1,
    table2,
)

# Publication Table 1 (level order of analysis.registry.groups: crs no/yes, icans no/yes, concurrent both/others).
_N = {"crs": (17, 76), "icans": (77, 16), "concurrent": (15, 78)}
_CONTINUOUS = {
    "age": {
        "crs": ((26, 2, 66), (31, 2, 70), 0.735),
        "icans": ((32, 2, 70), (20, 6, 68), 0.460),
        "concurrent": ((19, 6, 68), (31, 2, 70), 0.344),
    },
    "il6_peak_pg_ml": {
        "crs": ((8.9, 2.4, 481), (517, 3.1, 27231), 0.0004),
        "icans": ((255, 2.4, 27231), (94, 7.6, 10952.9), 0.173),
        "concurrent": ((5000, 12, 10952.9), (261, 6, 5000), 0.072),
    },
    "ferritin_peak_ng_ml": {
        "crs": ((1459.5, 106, 67385), (2781, 153, 76301), 0.141),
        "icans": ((2000, 106, 76301), (9987, 788, 45323), 0.248),
        "concurrent": ((9987, 788, 45323), (2000, 106, 76301), 0.248),
    },
    "prior_lines": {
        "crs": ((4, 0, 7), (3.5, 1, 13), 0.510),
        "icans": ((4, 0, 13), (2, 1, 6), 0.019),
        "concurrent": ((2, 1, 6), (4, 1, 13), 0.046),
    },
    "n_relapses": {
        "crs": ((2, 1, 4), (1, 1, 4), 0.056),
        "icans": ((1, 0, 4), (1, 0, 2), 0.063),
        "concurrent": ((1, 1, 2), (1, 1, 4), 0.063),
    },
    "bm_blasts_pct": {
        "crs": ((5.15, 0, 95), (23.75, 0, 92), 0.445),
        "icans": ((33, 0, 95), (55, 0, 80), 0.191),
        "concurrent": ((62, 8, 80), (33, 0, 95), 0.098),
    },
    "cart_dose_1e6_per_kg": {
        "crs": ((1.0, 0.5, 3), (1.2, 0.4, 4.3), 0.025),
        "icans": ((1, 0.4, 4.3), (1, 0.9, 4), 0.420),
        "concurrent": ((1, 1, 4), (1, 0.4, 2), 0.513),
    },
}
_CATEGORICAL = {
    "sex": (
        "M",
        "F",
        {
            "crs": ((6, 41), 0.164, "chi_square"),
            "icans": ((39, 8), 0.962, "chi_square"),
            "concurrent": ((8, 39), 0.962, "chi_square"),
        },
    ),
    "ph_positive": (
        "yes",
        "no",
        {
            "crs": ((5, 13), 0.246, "fisher_exact"),
            "icans": ((15, 3), 0.946, "fisher_exact"),
            "concurrent": ((3, 15), 0.945, "fisher_exact"),
        },
    ),
    "disease_status": (
        "primary_refractory",
        "relapsed",
        {
            "crs": ((3, 9), 0.704, "fisher_exact"),
            "icans": ((9, 3), 0.443, "fisher_exact"),
            "concurrent": ((3, 9), 0.371, "fisher_exact"),
        },
    ),
    "steroids": (
        "yes",
        "no",
        {
            "crs": ((0, 51), 0.0001, "chi_square"),
            "icans": ((38, 13), 0.002, "chi_square"),
            "concurrent": ((13, 38), 0.007, "chi_square"),
        },
    ),
    "tocilizumab": (
        "yes",
        "no",
        {
            "crs": ((0, 45), 0.0002, "chi_square"),
            "icans": ((33, 12), 0.019, "chi_square"),
            "concurrent": ((12, 33), 0.007, "chi_square"),
        },
    ),
}


def publication_table1():
    comparisons = {}
    for variable, by_grouping in _CONTINUOUS.items():
        for g, (a, b, p) in by_grouping.items():
            levels = tuple(
                ContinuousLevel(lv.key, lv.label, n - (2 if variable == "il6_peak_pg_ml" and i == 0 else 0), *vals)
                for i, (lv, n, vals) in enumerate(zip(GROUPINGS[g].levels, _N[g], (a, b)))
            )
            test = "mann_whitney"
            comparisons[(variable, g)] = Comparison(variable, g, "continuous", levels, TestResult(test, p, 1.0))
    for variable, (first, second, by_grouping) in _CATEGORICAL.items():
        for g, (counts, p, test) in by_grouping.items():
            levels = []
            for lv, n, k in zip(GROUPINGS[g].levels, _N[g], counts):
                levels.append(
                    CategoricalLevel(
                        lv.key,
                        lv.label,
                        n,
                        (CategoryCount(first, k, 100 * k / n), CategoryCount(second, n - k, 100 * (n - k) / n)),
                    )
                )
            comparisons[(variable, g)] = Comparison(
                variable, g, "categorical", tuple(levels), TestResult(test, p, None)
            )
    return comparisons


def _term(key, hr, lo, hi, p, reason=None):
    return CoxTerm(key, COX_TERMS[key], None, None, hr, lo, hi, p, reason)


def publication_cox():
    os_ = CoxResult(
        "os",
        93,
        41,
        "efron",
        (
            _term("bm_blasts_ge20", 0.890, 0.485, 1.633, 0.707),
            _term("steroids", 0.547, 0.271, 1.103, 0.092),
            _term("tocilizumab", 1.031, 0.512, 2.076, 0.932),
            _term("severity_ge3", 2.021, 0.653, 6.256, 0.222),
            _term("severity_other", 1.379, 0.611, 3.116, 0.439),
        ),
        1.52,
        0.468,
        (PHTest("GLOBAL", 3.1, 5, 0.684),),
        0.684,
    )
    lfs = CoxResult(
        "lfs",
        86,
        44,
        "efron",
        (
            _term("bm_blasts_ge20", 1.441, 0.761, 2.732, 0.262),
            _term("steroids", 0.698, 0.334, 1.458, 0.338),
            _term("tocilizumab", 1.207, 0.561, 2.598, 0.630),
            _term("severity_ge3", 0.785, 0.250, 2.466, 0.678),
            _term("severity_other", None, None, None, None, "no events in the group"),
        ),
        0.31,
        0.855,
        (PHTest("GLOBAL", 2.0, 5, 0.0004),),
        0.0004,
    )
    return {"os": os_, "lfs": lfs}


def _md_plain(markdown: str) -> str:
    """The Markdown with its backslash escapes and superscript marks removed (what a reader sees)."""
    return re.sub(r"\^[a-h]\^", "", re.sub(r"\\(.)", r"\1", markdown))


def _md_rows(markdown: str):
    return [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines() if line.startswith("|")]


# --------------------------------------------------------------------------- Table 1


def test_table1_markdown_has_every_characteristic_and_every_p():
    table = table1(publication_table1())
    assert isinstance(table, Table)
    md = table._repr_markdown_()
    plain = _md_plain(md)
    for variable in VARIABLES.values():
        assert variable.label in plain
        for category in variable.rows:
            assert category.label in plain
    for variable, by_grouping in _CONTINUOUS.items():
        for g, (_, _, p) in by_grouping.items():
            expected = "<0.001" if p < 0.001 else f"{p:.3f}"
            assert expected in plain, (variable, g)
    rows = _md_rows(md)
    header, body = [h.replace("\u00a0", " ") for h in rows[0]], rows[2:]
    assert header[1:4] == ["No CRS (n = 17)", "CRS (n = 76)", "p"]
    assert header[-3:] == ["CRS and ICANS (n = 15)", "Others (n = 78)", "p"]
    assert len(header) == 10 and all(len(r) == 10 for r in body)
    age = next(r for r in body if r[0] == "Age, years")
    assert age[1:4] == ["26 (2–66)", "31 (2–70)", "0.735^a^"]
    il6 = next(r for r in body if r[0] == "Peak IL-6, pg/mL")
    assert il6[2] == "517 (3–27,231)" and il6[3] == "\\<0.001^a^"
    male = next(r for r in body if r[0].endswith("Male"))
    assert male[1:3] == ["6 (35.3%)", "41 (53.9%)"] and male[3] == ""  # p sits on the variable row
    steroids = next(r for r in body if r[0].startswith("Received steroids"))
    assert steroids[1:3] == ["0 (0.0%)", "51 (67.1%)"]


def test_table1_splits_baseline_from_the_course_after_infusion_and_adds_all_patients():
    """Issue 21: Table 1 mixed baseline with what followed the infusion, had no overall
    column, and tested the drugs "p < 0.001" against patients who could not have received
    them (no CRS, no treatment: 0 of 17)."""
    from analysis.estimators.comparisons import CategoricalLevel, CategoryCount, ContinuousLevel

    overall = {
        "age": ContinuousLevel("all", "All patients", 93, 30.0, 2.0, 70.0),
        "steroids": CategoricalLevel(
            "all", "All patients", 93, (CategoryCount("yes", 51, 54.8387), CategoryCount("no", 42, 45.1613))
        ),
    }
    baseline = table1(publication_table1(), overall=overall, variables=baseline_variables())
    rows = _md_rows(baseline.markdown)
    header, body = [h.replace("\u00a0", " ") for h in rows[0]], rows[2:]
    assert header[1] == "All patients (n = 93)"
    assert next(r for r in body if r[0] == "Age, years")[1] == "30 (2–70)"
    labels = " ".join(r[0] for r in body)
    assert "Peak IL-6" not in labels and "steroids" not in labels and "BM blasts" in labels

    course = table1(publication_table1(), overall=overall, variables=course_variables(), first="After infusion")
    rows = _md_rows(course.markdown)
    body = rows[2:]
    steroids = next(r for r in body if r[0].startswith("Received steroids"))
    assert steroids[1] == "51 (54.8%)" and steroids[2:4] == ["0 (0.0%)", "51 (67.1%)"]
    assert [steroids[4], steroids[7], steroids[10]] == ["—^†^"] * 3  # no p by CRS, ICANS or concurrent
    il6 = next(r for r in body if r[0].startswith("Peak IL-6"))
    assert il6[4] == "\\<0.001^a^"  # the inflammatory markers are still compared
    assert "Not tested: corticosteroids and tocilizumab are given to treat CRS or ICANS" in course.markdown
    assert "Not tested" not in baseline.markdown


def test_table1_footnotes_name_each_test_by_its_mark():
    md = table1(publication_table1())._repr_markdown_()
    notes = md.split("\n\n", 1)[1]
    assert "^a^ Mann–Whitney U test." in notes
    assert "^b^ Pearson chi-square test without continuity correction." in notes
    assert "^c^ Fisher's exact test." in notes
    # the sex p-value is a chi-square, Ph a Fisher test
    body = _md_rows(md)[2:]
    assert next(r for r in body if r[0].startswith("Sex"))[3] == "0.164^b^"
    assert next(r for r in body if r[0].startswith("Ph-positive"))[3] == "0.246^c^"
    # IL-6 has two missing values in the "No CRS" level (a footnote, not a silent n)
    assert "Patients without a value, by column: Peak IL-6 (No CRS 2, No ICANS 2, CRS and ICANS 2)" in notes


def test_table1_html_has_spanners_marks_and_no_nan():
    html = table1(publication_table1())._repr_html_()
    for spanner in ("CRS", "ICANS", "Concurrent CRS + ICANS"):
        assert f'<span class="gt_column_spanner">{spanner}</span>' in html
    assert "0.735<sup>a</sup>" in html and "&lt;0.001<sup>a</sup>" in html
    assert "Fisher&#x27;s exact test" in html or "Fisher's exact test" in html
    assert "nan" not in html.lower().replace("nanoplot", "") and "None" not in html


def test_table1_missing_statistics_print_a_dash():
    comparisons = publication_table1()
    key = ("ferritin_peak_ng_ml", "crs")
    old = comparisons[key]
    comparisons[key] = Comparison(
        old.variable,
        old.grouping,
        "continuous",
        (
            ContinuousLevel("no", "No CRS", 0, None, None, None),
            old.levels[1],
        ),
        TestResult(None, None, None, "fewer than two groups with values"),
    )
    md = table1(comparisons)._repr_markdown_()
    ferritin = next(r for r in _md_rows(md) if r[0] == "Peak ferritin, ng/mL")
    assert ferritin[1] == "—" and ferritin[3] == "—"
    assert "nan" not in md.lower() and "None" not in md


# --------------------------------------------------------------------------- Table 2


def test_table2_blocks_reference_rows_and_global_p():
    table = table2(publication_cox())
    md = table._repr_markdown_()
    rows = _md_rows(md)
    assert rows[0] == ["Variable", "HR", "95% CI", "p"]
    labels = [r[0] for r in rows[2:]]
    # a label alone in its row: one line across the row in the PDF (filters/group-rows.lua)
    assert labels[0] == "[**Overall survival (all patients, n = 93; 41 events)**]{.cx-group}"
    assert "[**Leukemia-free survival (patients in CR, n = 86; 44 events)**]{.cx-group}" in labels
    assert labels.count("CRS/ICANS group") == 2
    os_block = rows[2:10]
    assert os_block[1] == ["BM blasts ≥20% vs <20%".replace("<", "\\<"), "0.89", "0.49–1.63", "0.707"]
    group = next(r for r in os_block if r[0] == "CRS/ICANS group")
    assert group[3] == "0.468" and group[1] == ""
    assert next(r for r in os_block if r[0].endswith("No CRS or ICANS"))[1] == "Reference"
    assert next(r for r in os_block if r[0].endswith("Grade ≥3 CRS or severe ICANS"))[1:] == [
        "2.02",
        "0.65–6.26",
        "0.222",
    ]
    lfs_other = [r for r in rows if r[0].endswith("Others (grade 1–2 CRS and/or ICANS)")][1]
    assert lfs_other[1:] == ["—", "—", "—"]
    notes = md.split("\n\n", 1)[1]
    assert "Overall survival p = 0.684" in notes and "Leukemia-free survival p \\< 0.001" in notes
    assert "no events in the group" in notes


def test_table2_html_groups_rows_without_nan():
    html = table2(publication_cox())._repr_html_()
    assert "Reference" in html and "0.468" in html and "2.02" in html
    assert "nan" not in html.lower().replace("nanoplot", "") and ">None<" not in html


# --------------------------------------------------------------------------- reproduction table


def test_reproduction_table_rows_and_escaping():
    rows = [
        dict(
            id="cr_crs_p",
            description="CR rate, CRS vs no CRS: p",
            where="Results",
            published=0.342,
            computed=0.3421,
            difference=0.0001,
            status="reproduced",
            conclusion_agrees=True,
        ),
        dict(
            id="n_patients",
            description="Patients",
            where="Abstract",
            published=93,
            computed=93,
            difference=0,
            status="reproduced",
            conclusion_agrees=None,
        ),
        dict(
            id="x",
            description="<script>alert(1)</script> center",
            where="Table 1",
            published="5.3%",
            computed=None,
            difference=None,
            status="not computed",
            conclusion_agrees=False,
        ),
    ]
    table = reproduction_table(rows)
    md = table._repr_markdown_()
    body = _md_rows(md)[2:]
    # computed value and difference at the published precision (issue 21, finding 13: ".4g" printed
    # "1.095e+04", "1460" and "0.7845" beside "0.735")
    assert body[0] == ["CR rate, CRS vs no CRS: p", "Results", "0.342", "0.342", "0.000", "reproduced", "Yes"]
    assert body[1][2:] == ["93", "93", "0", "reproduced", "—"]
    assert body[2][0] == "\\<script\\>alert(1)\\</script\\> center" and body[2][-1] == "No"
    assert "cr_crs_p" not in md and "n_patients" not in md
    html = table._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_escape_neutralises_inline_syntax():
    assert md_escape("a|b *c* @ref <b>") == "a\\|b \\*c\\* \\@ref \\<b\\>"
    assert md_escape("plain 2–70 (x)") == "plain 2–70 (x)"


def test_reproduction_table_accepts_the_reproduction_object_and_keeps_qualifiers():
    from analysis.demo.reproduction import ReproductionRow, ReproductionSummary, ReproductionTable

    row = ReproductionRow(
        "il6_crs_p",
        "Peak IL-6, CRS: p",
        "Table 1",
        "p",
        "table1.il6.crs.p",
        0.001,
        "<",
        0.00042,
        -0.00058,
        -0.58,
        "exact",
        True,
    )
    table = reproduction_table(ReproductionTable((row,), ReproductionSummary(1, 1, 0, 0, 0, 1, 1)))
    body = _md_rows(table._repr_markdown_())[2:]
    # a p as every p of the report; no difference to a bound ("< 0.001")
    assert body == [["Peak IL-6, CRS: p", "Table 1", "\\<0.001", "\\<0.001", "—", "exact", "Yes"]]


def test_reproduction_table_prints_years_without_thousands_separator():
    rows = [
        {
            "description": "First infusion year",
            "where": "Methods",
            "kind": "year",
            "published": 2016,
            "computed": 2016,
            "difference": 0,
            "status": "exact",
            "conclusion_agrees": None,
        },
        {
            "description": "Peak IL-6 max",
            "where": "Table 1",
            "kind": "max",
            "published": 27231,
            "computed": 27231,
            "difference": 0,
            "status": "exact",
            "conclusion_agrees": None,
        },
    ]
    markdown = reproduction_table(rows)._repr_markdown_()
    assert "| 2016 | 2016 |" in markdown and "2,016" not in markdown
    assert "27,231" in markdown


# --------------------------------------------------------------------------- Table 3


def _table3_inputs():
    """OS by concurrent CRS + ICANS: hand-made KM summaries (one level without a 24-month
    estimate, one median not reached) and univariable HRs."""
    import numpy as np

    from analysis.estimators.effects import HazardRatio, UnivariableCox
    from analysis.estimators.survival import KMCurve, KMSummary, Landmark, SurvivalComparison

    empty = KMCurve(*(np.array([]) for _ in range(6)))

    def km(key, label, n, events, median, lo, hi, marks):
        return KMSummary(
            key, label, n, events, median, lo, hi, None, tuple(Landmark(m, *v) for m, v in marks.items()), empty
        )

    all_ = km(
        "all",
        "All patients",
        93,
        55,
        24.43,
        14.6,
        33.31,
        {12: (0.63412, 0.54049, 0.74401), 24: (0.5105, 0.4133, 0.6327)},
    )
    both = km(
        "both",
        "CRS and ICANS",
        15,
        9,
        None,
        6.7,
        None,
        {12: (0.5926, 0.3871, 0.9071), 24: (None, None, None, "no patient followed to 24 months")},
    )
    others = km(
        "others", "Others", 78, 46, 24.4, 14.1, 32.3, {12: (0.6429, 0.5413, 0.7634), 24: (0.5118, 0.4049, 0.6470)}
    )
    survival = {
        ("os", "all"): SurvivalComparison("os", None, (all_,), None, None, None, "no grouping", (0.0,)),
        ("os", "concurrent"): SurvivalComparison("os", "concurrent", (both, others), 0.018, 1, 0.8937, None, (0.0,)),
    }
    hrs = {
        ("os", "concurrent"): UnivariableCox(
            "os", "concurrent", "others", 93, 55, (HazardRatio("both", "CRS and ICANS", 0.9503, 0.4648, 1.9429, 0.889),)
        )
    }
    return survival, hrs


def test_table3_rows_reference_and_log_rank_p():
    from analysis.report.tables import table3

    survival, hrs = _table3_inputs()
    md = table3(survival, hrs, groupings=["concurrent"], endpoints=["os"]).markdown
    rows = _md_rows(md)
    assert rows[0] == [
        "Group",
        "n",
        "Events",
        "Median, months (95% CI)",
        "12-month survival, % (95% CI)",
        "24-month survival, % (95% CI)",
        "HR (95% CI)",
        "p",
    ]
    body = {r[0].strip("\u2003*"): r[1:] for r in rows[2:]}
    # the endpoint's row by its abbreviation (the legend spells it out): its label fits its column
    assert body["OS (all patients)"][:5] == [
        "93",
        "55",
        "24.4 (14.6–33.3)",
        "63.4 (54.0–74.4)",
        "51.1 (41.3–63.3)",
    ]
    assert body["Concurrent CRS and ICANS"][-1] == "0.894"
    assert body["CRS and ICANS"] == ["15", "9", "NR (6.7–NR)", "59.3 (38.7–90.7)", "—", "0.95 (0.46–1.94)", ""]
    assert body["Others"][-2] == "Reference"
    notes = md.split("\n\n", 1)[1]
    assert "NR, not reached" in notes and "no patient followed to 24 months" in notes
    # review 29, finding 5: "EFS by CRS (p = 0.046)" beside "0.63 (0.392–1.001)": the footnote
    # says which test gives the p and which the CI, and why the two can disagree
    assert "Log-rank p-values test all groups of a grouping together" in notes
    assert "a Wald interval for one group against the reference" in notes
    assert "a CI can exclude 1 while the joint test is not significant" in notes
    assert "OS, overall survival" in notes
    assert "nan" not in md.lower() and "None" not in md
    html = table3(survival, hrs, groupings=["concurrent"], endpoints=["os"])._repr_html_()
    assert "Reference" in html and "0.95 (0.46–1.94)" in html


def test_course_table_counts_a_missing_value_in_every_column_it_shortens(bundled_results):
    """Review 29, finding 3: the demo patient without a peak ferritin (CRS grade 0, ICANS
    grade 2) was counted in the footnote under "No CRS" only, although they are missing from
    the All, ICANS and "Others" columns too. The expected counts are taken from the CSV itself
    (pandas, not the library's loader): each column's patients without a ferritin value."""
    import pandas as pd

    from tests.conftest import COHORT

    raw = pd.read_csv(COHORT, comment="#")
    crs = raw["crs_grade"].fillna(0) > 0
    icans = (raw["icans_grade"].fillna(0) > 0) | (raw["seizure"] == "yes")
    both = crs & icans
    missing = raw["ferritin_peak_ng_ml"].isna()
    columns = {
        "All patients": missing.sum(),
        "No CRS": (missing & ~crs).sum(),
        "CRS": (missing & crs).sum(),
        "No ICANS": (missing & ~icans).sum(),
        "ICANS": (missing & icans).sum(),
        "CRS and ICANS": (missing & both).sum(),
        "Others": (missing & ~both).sum(),
    }
    expected = ", ".join(f"{label} {int(n)}" for label, n in columns.items() if n)
    assert expected == "All patients 1, No CRS 1, ICANS 1, Others 1"  # the demo's one patient (SYN-023)
    r = bundled_results
    course = table1(r.table1, overall=r.table1_overall, variables=course_variables(), first="After infusion")
    assert f"Peak ferritin ({expected})" in course.markdown
    # every column's n: the header's n less the footnote's count is the row's n
    rows = _md_rows(course.markdown)
    header = [h.replace("\u00a0", " ") for h in rows[0]]
    assert header[1] == f"All patients (n = {len(raw)})"
    assert r.table1_overall["ferritin_peak_ng_ml"].n == len(raw) - columns["All patients"]


def test_the_label_column_is_widened_to_its_longest_label():
    """fitted_widths: a label column narrower than its longest label needs (TABLE_LINE_CHARS)
    is widened, the other columns give up the width in proportion; a wide enough one is kept."""
    from analysis.report.tables import TABLE_LINE_CHARS, Cell, _Spec, fitted_widths

    spec = _Spec(["label", "a", "b"], ["", "A", "B"], ["", "A", "B"], [10, 45, 45])
    spec.add("variable", Cell("x" * 30), "1", "2")
    widths = fitted_widths(spec)
    share = widths[0] / sum(widths)
    assert share >= 30 / TABLE_LINE_CHARS and widths[1] == widths[2]
    short = _Spec(["label", "a"], ["", "A"], ["", "A"], [40, 60])
    short.add("variable", Cell("Age"), "1")
    assert fitted_widths(short) == [40, 60]


def test_no_header_is_narrower_than_its_longest_word():
    """Review 30 (F11): widening the label column of the reproduction table left "Published",
    "Computed" and "Difference" 6% of the line each, and they ran into each other. Every
    header now gets the share its longest word needs; the label column gives width back, never
    below its own share."""
    from analysis.report.tables import _CELL_PAD_CHARS, TABLE_LINE_CHARS, Cell, _Spec, fitted_widths

    headers = ["Quantity", "Where", "Published", "Computed", "Difference", "Status", "Same conclusion"]
    spec = _Spec(list("qwpcdsa"), headers, headers, [36, 26, 8, 8, 8, 8, 8])
    spec.add("variable", Cell("x" * 55), "Results", "1", "1", "0", "exact", "—")
    widths = fitted_widths(spec)
    shares = [w / sum(widths) for w in widths]
    for share, header in zip(shares[1:], headers[1:]):
        longest = max(len(word) for word in header.split())
        assert share >= (longest + _CELL_PAD_CHARS) / TABLE_LINE_CHARS - 0.006, (header, share)
    assert 36 / 102 <= shares[0] < (55 + _CELL_PAD_CHARS) / TABLE_LINE_CHARS  # gave some back
    assert fitted_widths(_spec_two_columns()) == [40, 60]  # nothing to fit: the spec's widths


def _spec_two_columns():
    from analysis.report.tables import Cell, _Spec

    spec = _Spec(["label", "a"], ["", "Value"], ["", "Value"], [40, 60])
    spec.add("variable", Cell("Age"), "1")
    return spec


def test_the_reproduction_table_keeps_room_for_where_each_number_is():
    """Review 30 (N10): with its label column widened and its headers fitted, the reproduction
    table left "Where" 7% of the line and ran to 11 pages; its quantities wrap instead, and the
    label and "Where" columns share what the headers leave in the spec's proportion (36:26)."""
    from analysis.report.tables import fitted_widths, reproduction_table

    row = {
        "description": "Infused CAR-T cells, 10⁶/kg, CRS yes: median",
        "where": "Results, Patient characteristics",
        "published": 1.1,
        "computed": 1.0,
        "difference": -0.1,
        "status": "within 10%",
        "conclusion_agrees": None,
    }
    spec = reproduction_table([row])._spec
    widths = fitted_widths(spec)
    shares = [w / sum(widths) for w in widths]
    assert shares[1] >= 0.2 and abs(shares[0] / shares[1] - 36 / 26) < 0.05, shares
