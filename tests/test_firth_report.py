"""The rendered report on a small cohort whose LFS events are separated by steroids and
tocilizumab (issue 11, item 3): Table 2 shows the Firth-penalized fit, every term with a
finite HR and CI, and the footnote naming the method and why.

The cohort is 45 patients of the bundled export with the relapses and deaths of patients
in CR removed unless they received steroids and no tocilizumab.
"""
from __future__ import annotations

import pytest
from conftest import COHORT, html_text, read_cohort_text, render_report, write_cohort_text

from analysis.cox import COX_TERMS, FIRTH
from analysis.formatting import fmt_ci, fmt_hr
from analysis.loading import load_study
from analysis.results import compute_results

CUTOFF = "2023-03-01"


@pytest.fixture(scope="module")
def separated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("firth-report")
    header, frame = read_cohort_text(COHORT)
    frame = frame.iloc[:45].copy()
    in_cr = frame["cr_day30"].eq("yes")
    steroids_only = frame["steroids"].eq("yes") & frame["tocilizumab"].eq("no")
    frame.loc[in_cr & ~steroids_only, ["relapse_date", "death_date"]] = ""
    path = write_cohort_text(tmp / "cohort.csv", header, frame)
    proc = render_report(tmp / "out", cohort=path, kinetics="", to="html")
    return path, proc, tmp / "out" / "report.html"


def test_table2_of_the_report_shows_the_firth_fit(separated):
    path, proc, html = separated
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = compute_results(load_study(path, None, CUTOFF))
    lfs = results.cox["lfs"]
    assert lfs.method == FIRTH and lfs.reason is None
    assert "Received steroids" in lfs.method_reason and "Received tocilizumab" in lfs.method_reason
    text = html_text(html)
    assert "Leukemia-free survival: fitted by Firth's penalized partial likelihood" in text
    assert "profile penalized likelihood" in text
    assert [t.key for t in lfs.terms] == list(COX_TERMS)
    for term in lfs.terms:   # finite HR and CI for every term, printed in the table
        assert term.hr is not None and term.ci_low is not None and term.p is not None, term
        assert f"{fmt_hr(term.hr)} {fmt_ci(term.ci_low, term.ci_high)}" in text, term.key
