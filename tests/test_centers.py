"""Per-center supplement (issue 11, item 4): counts by center with anonymous labels, and the
Table 2 model stratified by center against R ``coxph(... + strata(center))``.

R references come from ``tests/reference/r_centers.R`` (R 4.x, survival 3.5-3); each
literal is preceded by the R call and what R printed.
"""

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.centers import (
    CENTER_COUNTS,
    OTHER_CENTERS,
    SINGLE_CENTER_REASON,
    center_labels,
    center_supplement,
    pooled_centers,
    tie_key,
)
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
    out = df[
        [
            "os_months",
            "os_event",
            "lfs_months",
            "lfs_event",
            "bm_blasts_ge20",
            "steroids",
            "tocilizumab",
            "grp_severity",
        ]
    ].copy()
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
    name = center_labels(bundled["center"], tie_key(bundled))
    first = next(c for c, label in name.items() if label == "Center 1")
    rows = bundled[bundled["center"] == first]
    assert s.rows[0].counts["crs_severe"] == int(rows["crs_severe"].sum())
    assert s.rows[0].percents["cr_day30"] == pytest.approx(100 * rows["cr_day30"].astype(bool).mean())
    markdown = center_table(s)._repr_markdown_()
    for center in bundled["center"].unique():  # names are never printed
        assert center not in markdown and center not in center_table(s)._repr_html_()
    assert "| Center 1 |" in markdown


def test_center_labels_order_by_size_then_a_keyed_hash_of_the_name():
    centers = pd.Series(["Zeta", "Alpha", "Zeta", "Beta", "Beta", "Beta", "Alpha", "Gamma"])
    key = b"k" * 32
    labels = center_labels(centers, key)
    assert labels["Beta"] == "Center 1" and labels["Gamma"] == "Center 4"  # by size
    # Zeta and Alpha (2 each): by HMAC-SHA-256(key, name), computed here with the standard library
    tied = sorted(["Zeta", "Alpha"], key=lambda name: hmac.new(key, name.encode(), hashlib.sha256).digest())
    assert [labels[tied[0]], labels[tied[1]]] == ["Center 2", "Center 3"]


def test_equal_sized_centers_are_not_numbered_by_their_names(bundled):
    """Two equal-sized centers: which one is "Center 1" follows the cohort's key, not the names
    (alphabetical numbering decodes "Center k" for anyone who knows the centers)."""
    two = bundled[bundled["center"].isin(["Center A", "Center B"])]  # 31 patients each
    assert two["center"].value_counts().tolist() == [31, 31]
    firsts = set()
    for shift in range(12):  # the same centers and sizes, infusion dates shifted: other keys
        cohort = two.assign(infusion_date=two["infusion_date"] + pd.Timedelta(days=shift))
        key = hashlib.sha256(
            "\x1e".join(sorted(f"{c}\x1f{d}" for c, d in zip(cohort["center"], cohort["infusion_date"]))).encode()
        ).digest()  # the key as documented, written out independently of the library
        assert tie_key(cohort) == key
        labels = center_labels(cohort["center"], key)
        firsts.add(next(name for name, label in labels.items() if label == "Center 1"))
        assert center_supplement(cohort).rows[0].label == "Center 1"
        renamed = cohort.assign(patient_id=[f"X{i}" for i in range(len(cohort))]).iloc[::-1]
        assert tie_key(renamed) == key  # the ids and the order of the rows do not change it
    assert firsts == {"Center A", "Center B"}  # both orders occur: the names do not decide


@pytest.mark.parametrize(
    "sizes,k,pooled",
    [
        ([31, 31, 16, 15], 5, 0),  # every center large enough
        ([31, 31, 16, 15, 1, 1], 5, 3),  # two single-patient centers (2 < 5) pull in the 15
        ([8, 3, 3], 5, 2),  # 3 + 3 = 6: the pool stands on its own
        ([10, 4], 5, 2),  # 4 alone would follow from the totals: 10 joins, no row left
        ([4, 3], 5, 2),  # no center reaches 5
        ([31, 31, 16, 15], 20, 2),  # a larger minimum from the study file
        ([5, 5], 5, 0),  # the minimum itself is shown
    ],
)
def test_pooling_by_hand(sizes, k, pooled):
    assert pooled_centers(sizes, k) == pooled


def test_single_patient_centers_are_pooled_never_shown(bundled):
    df = bundled.copy()
    df.loc[df.index[:2], "center"] = ["Solo 1", "Solo 2"]  # two centers of one patient each
    sizes = sorted(df["center"].value_counts().tolist(), reverse=True)
    s = center_supplement(df)
    assert [r.n for r in s.rows] == [*sizes[:3], sum(sizes[3:])] and min(r.n for r in s.rows) >= 5
    assert [r.label for r in s.rows] == ["Center 1", "Center 2", "Center 3", OTHER_CENTERS]
    assert (s.rows[-1].centers, s.pooled_centers, s.pooled_patients) == (3, 3, sum(sizes[3:]))
    for key in CENTER_COUNTS:  # nothing lost: the rows add up to the cohort
        assert sum(r.counts[key] for r in s.rows) == int(df[key].fillna(False).astype(bool).sum()), key
    pooled = df[~df["center"].isin(df["center"].value_counts().index[:3])]  # by hand: the pooled patients
    assert s.rows[-1].counts["crs_any"] == int(pooled["crs_any"].astype(bool).sum())
    markdown = center_table(s)._repr_markdown_()
    assert "| Other centers (3) |" in markdown
    assert (
        "Other centers (3): the 2 centers with fewer than 5 patients (the fewest a row shows), pooled with the "
        "smallest other center so that no count of a small center follows from the totals"
    ) in markdown
    assert "Solo" not in markdown and "Solo" not in center_table(s)._repr_html_()
    patients = [
        int(line.split("|")[2].replace(",", ""))
        for line in markdown.splitlines()
        if line.startswith(("| Center ", "| Other")) and not line.startswith("| Center |")
    ]
    assert min(patients) >= 5


def test_a_cohort_below_the_minimum_shows_no_center_row(bundled):
    small = bundled.groupby("center").head(1)  # one patient per center
    s = center_supplement(small)
    assert s.rows == () and s.suppressed and s.n_centers == small["center"].nunique()
    assert "No center has 5 or more patients" in center_table(s)._repr_markdown_()


def test_the_minimum_comes_from_the_study_file(tmp_path):
    from analysis.inputs.studyfile import load_settings, resolve_study
    from analysis.report.results import compute_results

    study = tmp_path / "study.yml"
    study.write_text(
        f"data: {{cohort: {ROOT / 'data' / 'cohort.csv'}, cutoff: 2023-03-01}}\nanalysis: {{min_cell_size: 20}}\n",
        encoding="utf-8",
    )
    settings = resolve_study(study)
    assert settings.analysis.min_cell_size == 20
    results = compute_results(load_settings(settings), **settings.analysis.model_dump())
    assert [r.n for r in results.centers.rows] == [31, 31, 31]  # 16 and 15 pooled
    exported = results_to_dict(results)["centers"]
    assert (exported["min_cell_size"], exported["pooled_centers"], exported["pooled_patients"]) == (20, 2, 31)
    assert exported["rows"][-1]["label"] == OTHER_CENTERS and exported["rows"][-1]["centers"] == 2


def test_a_single_center_gives_a_reason(bundled):
    one = bundled[bundled["center"] == bundled["center"].iloc[0]]
    s = center_supplement(one)
    assert s.cox_reason == SINGLE_CENTER_REASON and len(s.rows) == 1
    for res in s.cox.values():  # "not estimable (reason)", never an exception
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
    want = {
        "bm_blasts_ge20": -0.346943755672,
        "tocilizumab": -0.115025350541,
        "severity_ge3": 0.342608063050,
        "severity_other": 0.123476267025,
    }
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


def test_pooled_centers_all_below_the_minimum_are_said_so(bundled):
    s = center_supplement(bundled, min_cell_size=17)  # 16 and 15 patients: 31 together
    assert [r.n for r in s.rows] == [31, 31, 31] and (s.below_minimum, s.pooled_centers) == (2, 2)
    note = "Other centers (2): the 2 centers with fewer than 17 patients (the fewest a row shows), pooled."
    assert note in center_table(s)._repr_markdown_()


# --------------------------------------------------------------------------- review 30, finding 7
# The demo's own model (the study's: age, blasts >=20%, Ph+, dose, severity) stratified by center,
# as the Results sentence reports it. R 4.x, survival 3.5-x, on the prepared demo cohort (93
# patients, no missing value; centers coded c1..c4, grp_severity none/other/severe):
# R> f <- coxph(Surv(os_months, os_event) ~ age + bm_blasts_ge20 + ph_positive + cart_dose_1e6_per_kg
#               + grp_severity + strata(center), data = s, ties = "efron")
# R> summary(f)$coefficients; summary(f)$conf.int
#    grp_severityother   coef -0.04221349650619 se 0.44414642216570 p 0.924279799525094
#                        HR 0.958665087075888 (0.401429044270105-2.28941767492000)
#    grp_severitysevere  coef  0.27386569736084 se 0.51049108529326 p 0.591630319757588
#                        HR 1.315038177280587 (0.483512339003024-3.57659002306171)
# R> i <- grep("grp_severity", names(coef(f))); b <- coef(f)[i]
# R> w <- t(b) %*% solve(vcov(f)[i, i]) %*% b; pchisq(w, 2, lower.tail = FALSE)
#    0.788979195205691 0.674023974921145;  c(f$n, f$nevent) -> 93 55
R_STUDY_STRATIFIED_OS = {
    "severity_other": (-0.04221349650619423, 0.44414642216570305, 0.924279799525094),
    "severity_ge3": (0.27386569736084054, 0.51049108529325704, 0.591630319757588),
}


def test_the_stratified_sentence_reports_every_exposure_level_and_the_joint_p(bundled_results):
    """Review 30, finding 7: the center-stratified sensitivity model reported only the grade >=3
    level; it now gives every level of the exposure (HR and CI; each Wald p in Table S12) and the
    exposure's joint p, as the main model does."""
    from analysis.report.narrative import Narrative

    cox = bundled_results.centers.cox["os"]
    terms = {t.key: t for t in cox.terms}
    for key, (coef, se, p) in R_STUDY_STRATIFIED_OS.items():
        assert (terms[key].coef, terms[key].se, terms[key].p) == pytest.approx((coef, se, p), rel=REL), key
    assert (cox.severity_global_chisq, cox.severity_global_p) == pytest.approx(
        (0.788979195205691, 0.674023974921145), rel=REL
    )
    text = Narrative(bundled_results).stratified_headline
    # R's numbers rounded by hand (ratios two decimals, p three)
    assert text == (
        "others (grade 1–2 CRS and/or ICANS) had HR 0.96 (95% CI 0.40–2.29) and grade ≥3 CRS or severe ICANS "
        "HR 1.32 (95% CI 0.48–3.58) for death (joint p = 0.674)"
    )
