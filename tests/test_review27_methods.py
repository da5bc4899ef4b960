"""Issue #21: a journal methods reviewer's findings on the demo manuscript (reviewer 27, part c):
a cross-reference to a display that does not hold what it is cited for, the covariates of
the multivariable model read as effects ("Table 2 fallacy"), LFS in the abstract without its
population (patients in CR), a count of peak comparisons two of which coincide, and Table 1
rows whose cells print one variable at different precisions."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, captions, report_parameter
from test_review_findings import _prose, _said

from analysis.inputs.loading import load_study
from analysis.report import tables
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results


@pytest.fixture(scope="module")
def results():
    return compute_results(load_study(COHORT, KINETICS, report_parameter("cutoff")))


@pytest.fixture(scope="module")
def text(results):
    return Narrative(results)


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(COHORT, comment="#", dtype=str, keep_default_na=False)


def _sentences(prose: str) -> list[str]:
    return re.split(r"(?<=[.;]) (?=[A-Z(])", prose)


# --------------------------------------------------------------------------- 1. a cross-reference to the right display


def test_survival_by_treatment_of_toxicity_is_cited_where_it_is_shown(text):
    """Results 3.5 sent "survival by grade and by treatment of toxicity" to Supplementary
    Figure S4, which draws the grades only; survival by tocilizumab and corticosteroids is in
    Supplementary Table S2 (no figure draws it)."""
    figure = text.ref("fig-km-grade")
    table = text.ref("tbl-survival-grade")
    caps = captions(document="supplement")
    km_grade = [
        c
        for c in caps["fig-cap"]
        if c.startswith("Kaplan–Meier estimates of overall survival and leukemia-free survival by CRS grade")
    ]
    assert len(km_grade) == 1 and "treatment" not in km_grade[0] and "tocilizumab" not in km_grade[0]
    assert any(c.startswith("Survival by CRS grade") and "by treatment of toxicity" in c for c in caps["tbl-cap"])
    # no figure of the supplement draws survival by treatment
    assert not any("Kaplan" in c and ("treatment" in c or "tocilizumab" in c) for c in caps["fig-cap"])

    survival = _said("_results-survival", text)
    (sentence,) = [s for s in _sentences(survival) if "treatment of toxicity" in s]
    after = sentence[sentence.index("treatment of toxicity") :]
    assert figure not in after and table in after, sentence
    assert figure in sentence  # survival by grade still points to its curves
