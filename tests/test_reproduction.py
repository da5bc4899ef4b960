"""Published-vs-computed table on a hand-made results dictionary."""

from pathlib import Path

import pytest

from analysis.demo.reproduction import load_published, lookup, reproduce

ROOT = Path(__file__).resolve().parents[1]

PUBLISHED_YML = """
- {id: n, description: patients, where: Abstract, kind: count, published: 93, path: n_patients}
- {id: p_round, description: a p, where: Text, kind: p, published: 0.210, decimals: 3, path: response.cr.icans.p}
- {id: p_lt, description: p below, where: Table 1, kind: p, published: "< 0.001", path: table1.il6.crs.p}
- {id: p_lt_miss, description: p below missed, where: Table 1, kind: p, published: "< 0.001", path: table1.il6.icans.p}
- {id: p_flip, description: conclusion flips, where: Text, kind: p, published: 0.099, path: survival.os.steroids.logrank_p}
- {id: hr, description: an HR, where: Table 2, kind: hr, published: 2.021, path: cox.os.terms.severity_ge3.hr}
- {id: count, description: men with CRS, where: Table 1, kind: count, published: 41,
   path: table1.sex.crs.levels.yes.counts.M}
- {id: median, description: a median, where: Table 1, kind: median, published: 1459.5,
   path: table1.ferritin.crs.levels.no.median}
- {id: null_value, description: not estimable, where: Text, kind: months, published: 38.3, path: followup.median_months}
- {id: no_path, description: not in the contract, where: Discussion, kind: p, published: "< 0.001"}
- {id: bad_path, description: missing key, where: Text, kind: p, published: 0.5, path: survival.os.nonexistent.logrank_p}
"""

RESULTS = {
    "n_patients": 93,
    "response": {"cr": {"icans": {"p": 0.21049}}},
    "table1": {
        "il6": {"crs": {"p": 0.00042}, "icans": {"p": 0.00105}},
        "sex": {"crs": {"levels": {"yes": {"n": 76, "counts": {"M": 40, "F": 36}}}}},
        "ferritin": {"crs": {"levels": {"no": {"n": 16, "median": 1459.5}}}},
    },
    "survival": {"os": {"steroids": {"logrank_p": 0.0312}}},
    "cox": {"os": {"terms": {"severity_ge3": {"hr": 2.2}}}},
    "followup": {"median_months": None, "median_months_reason": "not reached"},
}


@pytest.fixture()
def table(tmp_path):
    path = tmp_path / "published.yml"
    path.write_text(PUBLISHED_YML, encoding="utf-8")
    return reproduce(RESULTS, load_published(path))


def _row(table, id_):
    return next(r for r in table.rows if r.id == id_)


def test_statuses(table):
    assert _row(table, "n").status == "exact"
    assert _row(table, "p_round").status == "exact"  # 0.21049 prints as 0.210
    assert _row(table, "p_lt").status == "exact"  # any p < 0.001 matches "< 0.001"
    assert _row(table, "p_lt_miss").status == "within 10%"  # 0.00105 vs 0.001
    assert _row(table, "hr").status == "within 10%"  # 2.2 vs 2.021: +8.9%
    assert _row(table, "count").status == "within 10%"  # 40 vs 41
    assert _row(table, "median").status == "exact"
    assert _row(table, "p_flip").status == "differs"
    for id_ in ("null_value", "no_path", "bad_path"):
        row = _row(table, id_)
        assert row.status == "not computed" and row.computed is None and row.conclusion_agrees is None


def test_differences_and_conclusions(table):
    hr = _row(table, "hr")
    assert hr.difference == pytest.approx(2.2 - 2.021)
    assert hr.relative_difference == pytest.approx((2.2 - 2.021) / 2.021)
    assert hr.conclusion_agrees is None  # only p-values carry a conclusion
    assert _row(table, "p_flip").conclusion_agrees is False  # 0.099 vs 0.031
    assert _row(table, "p_round").conclusion_agrees is True
    assert _row(table, "p_lt").qualifier == "<" and _row(table, "p_lt").published == 0.001
    assert _row(table, "p_lt_miss").conclusion_agrees is True


def test_summary(table):
    s = table.summary
    assert (s.total, s.exact, s.within_10pct, s.differs, s.not_computed) == (11, 4, 3, 1, 3)
    assert (s.p_values, s.conclusions_agree) == (4, 3)
    assert len(table.to_records()) == 11


def test_rounding_is_half_up_at_printed_precision(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("- {id: a, description: d, where: w, kind: p, published: 0.211, decimals: 3, path: x}\n")
    pub = load_published(path)
    assert reproduce({"x": 0.2105}, pub).rows[0].status == "exact"
    assert reproduce({"x": 0.2104}, pub).rows[0].status == "within 10%"


def test_duplicate_ids_are_rejected(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("- {id: a, description: d, where: w, kind: count, published: 1, path: x}\n" * 2)
    with pytest.raises(ValueError, match="duplicate"):
        load_published(path)


def test_lookup_ignores_non_numbers():
    assert lookup({"a": {"b": True}}, "a.b") is None
    assert lookup({"a": {"b": "text"}}, "a.b") is None
    assert lookup({"a": {"b": 3}}, "a.b") == 3.0
    assert lookup({"a": 1}, "a.b") is None


def test_committed_published_values_are_well_formed():
    published = load_published(ROOT / "analysis" / "demo" / "data" / "published.yml")
    assert len(published) >= 60
    tops = {
        "n_patients",
        "n_centers",
        "n_male",
        "n_female",
        "n_crs",
        "n_crs_severe",
        "n_icans",
        "n_icans_severe",
        "n_concurrent",
        "n_steroids",
        "n_tocilizumab",
        "n_cr",
        "n_kinetics_patients",
        "first_infusion_year",
        "last_infusion_year",
        "followup",
        "descriptives",
        "table1",
        "response",
        "survival",
        "cox_publication",
        "kinetics",
        "extra",
    }
    kinds = {"count", "year", "percent", "median", "min", "max", "p", "hr", "ci_low", "ci_high", "months"}
    for pub in published:
        assert pub.kind in kinds, pub.id
        assert pub.path is None or pub.path.split(".")[0] in tops, pub.id
        if pub.kind == "p":
            assert 0 < pub.published <= 1, pub.id
    ids = {p.id for p in published}
    # a few anchors of the publication, read correctly
    by_id = {p.id: p for p in published}
    assert by_id["t1_il6_peak_pg_ml_crs_p"].qualifier == "<"
    assert by_id["os_steroids_logrank_p"].published == 0.099
    assert by_id["cox_os_severity_ge3_hr"].published == 2.021
    assert by_id["t1_prior_lines_crs_yes_median"].published == 3.5
    assert {"n_crs", "followup_median", "cox_lfs_severity_global_p"} <= ids
