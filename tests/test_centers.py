"""Per-center supplement (issue 11, item 4): counts by center with anonymous labels, and the
Table 2 model stratified by center against R ``coxph(... + strata(center))``.

R references come from ``tests/reference/r_centers.R`` (R 4.x, survival 3.5-3); each
literal is preceded by the R call and what R printed.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.centers import SINGLE_CENTER_REASON, center_labels, center_supplement
from analysis.estimators.cox import fit_cox
from analysis.inputs.loading import load_study
from analysis.registry.concepts import ENDPOINTS
from analysis.registry.groups import prepare_cohort
from analysis.report.export import results_to_dict
from analysis.report.tables import center_table

ROOT = Path(__file__).resolve().parent.parent
REF = Path(__file__).parent / "reference"
REL = 1e-6


@pytest.fixture(scope="module")
def bundled():
    return prepare_cohort(load_study(ROOT / "data" / "cohort.csv", None, "2023-03-01").cohort)


def _model_frame(df):
    """The R input: model columns and centers coded c1..c4 in the order of their names."""
    codes = {name: f"c{i}" for i, name in enumerate(sorted(df["center"].unique()), start=1)}
    out = df[["os_months", "os_event", "lfs_months", "lfs_event", "bm_blasts_ge20", "steroids", "tocilizumab",
              "grp_severity"]].copy()
    for column in ("os_event", "bm_blasts_ge20", "steroids", "tocilizumab"):
        out[column] = out[column].astype(int)
    out["lfs_event"] = out["lfs_event"].astype("Int64")
    out["center"] = df["center"].map(codes)
    return out


def test_the_r_input_file_is_the_bundled_cohort(bundled):
    want = _model_frame(bundled).reset_index(drop=True)
    got = pd.read_csv(REF / "centers_cohort.csv")
    np.testing.assert_allclose(got["os_months"], want["os_months"], rtol=1e-15)
    np.testing.assert_allclose(got["lfs_months"], want["lfs_months"].astype(float), rtol=1e-15)
    for column in ("os_event", "bm_blasts_ge20", "steroids", "tocilizumab", "center"):
        assert list(got[column]) == list(want[column]), column
    assert list(got["grp_severity"]) == list(want["grp_severity"].astype(str))


# R> f <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity
#              + strata(center), data = s)
# R> cbind(coef(f), sqrt(diag(vcov(f))), summary(f)$coefficients[, 5]); c(f$n, f$nevent)   -> 93 55
# R> (same on d <- subset(s, !is.na(lfs_months)) for LFS)                                      -> 86 69
R_STRATIFIED = {
    "os": {
        "bm_blasts_ge20": (-0.3812316936914, 0.312239597496, 0.222101608066),
        "steroids": (-0.3226835307043, 0.354547072283, 0.362754544201),
        "tocilizumab": (-0.0889734619795, 0.335040279166, 0.790577714707),
        "severity_ge3": (0.6595060097896, 0.671748980427, 0.326210960452),
        "severity_other": (0.2884610482798, 0.482058992224, 0.549577290156),
    },
    "lfs": {
        "bm_blasts_ge20": (-0.3581276147621, 0.288637365499, 0.214697088497),
        "steroids": (0.0340015052076, 0.349644251871, 0.922531037751),
        "tocilizumab": (-0.2277737263671, 0.318292894879, 0.474231910217),
        "severity_ge3": (0.0120513504072, 0.590823930483, 0.983726252109),
        "severity_other": (-0.1883066144266, 0.417737878605, 0.652150302578),
    },
}
# R> i <- 4:5; b <- coef(m)[i]; w <- t(b) %*% solve(vcov(m)[i, i]) %*% b; pchisq(w, 2, lower.tail = FALSE)
R_STRATIFIED_SEVERITY = {"os": (1.054151594935, 0.590328688845), "lfs": (0.558276650721, 0.756435261798)}


@pytest.mark.parametrize("endpoint,n,events", [("os", 93, 55), ("lfs", 86, 69)])
def test_center_stratified_cox_matches_r(bundled, endpoint, n, events):
    res = center_supplement(bundled).cox[endpoint]
    assert (res.n, res.events, res.reason, res.converged, res.method) == (n, events, None, True, "cox")
    terms = {t.key: t for t in res.terms}
    for key, (coef, se, p) in R_STRATIFIED[endpoint].items():
        assert (terms[key].coef, terms[key].se, terms[key].p) == pytest.approx((coef, se, p), rel=REL), key
    chisq, p = R_STRATIFIED_SEVERITY[endpoint]
    assert (res.severity_global_chisq, res.severity_global_p) == pytest.approx((chisq, p), rel=REL)
    assert res.ph_tests == () and "stratified" in res.ph_test_reason
    # stratification changes the estimates (the unstratified fit is another model)
    plain = {t.key: t.coef for t in fit_cox(bundled, endpoint).terms}
    assert plain["bm_blasts_ge20"] != pytest.approx(terms["bm_blasts_ge20"].coef, rel=1e-3)


def test_per_center_counts_and_anonymous_labels(bundled):
    s = center_supplement(bundled)
    sizes = bundled["center"].value_counts()
    assert [r.label for r in s.rows] == [f"Center {i}" for i in range(1, len(sizes) + 1)]
    assert [r.n for r in s.rows] == sorted(sizes.tolist(), reverse=True)
    assert sum(r.n for r in s.rows) == len(bundled)
    for key in ("crs_any", "icans_severe", "cr_day30", "mrd_negative_cr"):
        assert sum(r.counts[key] for r in s.rows) == int(bundled[key].astype(bool).sum()), key
    # by hand for the largest center: the rows of its name
    name = center_labels(bundled["center"])
    first = next(c for c, label in name.items() if label == "Center 1")
    rows = bundled[bundled["center"] == first]
    assert s.rows[0].counts["crs_severe"] == int(rows["crs_severe"].sum())
    assert s.rows[0].percents["cr_day30"] == pytest.approx(100 * rows["cr_day30"].astype(bool).mean())
    markdown = center_table(s)._repr_markdown_()
    for center in bundled["center"].unique():      # names are never printed
        assert center not in markdown and center not in center_table(s)._repr_html_()
    assert "| Center 1 |" in markdown


def test_center_labels_order_by_size_then_name():
    labels = center_labels(pd.Series(["Zeta", "Alpha", "Zeta", "Beta", "Beta", "Beta"]))
    assert labels == {"Beta": "Center 1", "Zeta": "Center 2", "Alpha": "Center 3"}


def test_a_single_center_gives_a_reason(bundled):
    one = bundled[bundled["center"] == bundled["center"].iloc[0]]
    s = center_supplement(one)
    assert s.cox_reason == SINGLE_CENTER_REASON and len(s.rows) == 1
    for res in s.cox.values():   # "not estimable (reason)", never an exception
        assert res.reason == SINGLE_CENTER_REASON and all(t.hr is None for t in res.terms)


def test_a_covariate_constant_within_every_center_is_left_out_as_r_na(bundled):
    # steroids given at every patient of the first two centers and at none of the others:
    # no within-center contrast, so the stratified model has no information on it.
    # R> s$steroids <- as.numeric(s$center %in% c("c1", "c2"))      (s: centers_cohort.csv)
    # R> coef(coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity
    #               + strata(center), data = s))
    #    -0.346943755672  NA  -0.115025350541  0.342608063050  0.123476267025
    df = bundled.copy()
    first_two = sorted(df["center"].unique())[:2]
    df["steroids"] = df["center"].isin(first_two)
    res = fit_cox(df, "os", strata="center")
    terms = {t.key: t for t in res.terms}
    assert terms["steroids"].hr is None and "no information" in terms["steroids"].reason
    want = {"bm_blasts_ge20": -0.346943755672, "tocilizumab": -0.115025350541, "severity_ge3": 0.342608063050,
            "severity_other": 0.123476267025}
    for key, coef in want.items():
        assert terms[key].coef == pytest.approx(coef, rel=REL), key


def test_the_results_json_has_the_center_supplement_without_names():
    """issue 11 item 5: JSON keys for every new statistic; centers only as "Center k"."""
    import json
    from pathlib import Path

    from analysis.inputs.loading import load_study
    from analysis.report.results import compute_results

    root = Path(__file__).resolve().parents[1]
    study = load_study(root / "data/cohort.csv", root / "data/kinetics.csv", "2023-03-01")
    exported = results_to_dict(compute_results(study))["centers"]
    names = set(study.cohort["center"])
    text = json.dumps(exported)
    assert not any(name in text for name in names)
    assert [row["label"] for row in exported["rows"]] == [f"Center {k}" for k in range(1, len(names) + 1)]
    assert sum(row["n"] for row in exported["rows"]) == len(study.cohort)
    assert set(exported["stratified_cox"]) == set(ENDPOINTS)
    assert exported["stratified_cox"]["os"]["model"] == "baseline"  # the study's model (Table 2), by center
    assert exported["stratified_cox"]["os"]["terms"]["ph_positive"]["hr"] > 0
