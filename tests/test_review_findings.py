"""The findings of a journal methods reviewer (STROBE, SAMPL) on the rendered demo
manuscript and supplement, each checked where it arises: the counts against a direct
pandas count of the raw export, the statistics against R (the call next to the value),
the words against the numbers they must follow.
"""

import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, ROOT, captions, report_parameter, source_text

from analysis.inputs.loading import load_study
from analysis.registry.concepts import RESPONSE_RULE
from analysis.registry.contract import not_done_column
from analysis.registry.groups import prepare_cohort
from analysis.report import figures
from analysis.report.formatting import fmt_p
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results

SECTIONS = ROOT / "sections"


@pytest.fixture(scope="module")
def study(bundled_study):
    return bundled_study  # the session's bundled demo and its results (conftest.py)


@pytest.fixture(scope="module")
def results(bundled_results):
    return bundled_results


@pytest.fixture(scope="module")
def text(results):
    return Narrative(results)


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(COHORT, comment="#", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- 1. response of a patient who died before day 30


def test_a_patient_who_died_before_day_30_is_a_non_responder_everywhere(results, text, raw):
    end = pd.to_datetime(raw["death_date"].where(raw["death_date"] != "", raw["last_followup_date"]))
    followed = (end - pd.to_datetime(raw["infusion_date"])).dt.days > 30
    cr = raw["cr_day30"] == "yes"
    before = int((~cr & ~followed).sum())
    assert before == 1  # the demo's one patient, recorded cr_day30 = no
    flow = results.cohort_flow
    assert flow.before_assessment == before and flow.response_not_evaluable == 0
    assert flow.no_cr_all == int((~cr).sum()) == len(raw) - flow.cr
    # every rate has every infused patient in its denominator (intention to treat)
    for grouping in ("crs", "icans", "concurrent", "severity"):
        rates = results.response[("cr", grouping)]
        assert sum(lv.n for lv in rates.levels) == len(raw) and rates.not_assessed == 0
    # the flow diagram, the Results and the Methods say so, with the same count
    drawn = " ".join(t.get_text() for t in figures.flow_diagram(flow).axes[0].texts)
    assert "counted as not in CR\nn = 1" in drawn and "Not evaluable" not in drawn
    assert text.before_assessment == (
        "before the day-30 assessment, 1 of 93 (1.1%) patients had died or left follow-up and counted as not in CR"
    )
    assert text.outcomes_missing == "by the rule above, 1 of 93 (1.1%) patients counted as not in CR, not as missing"
    assert text.response_rule == RESPONSE_RULE[0].upper() + RESPONSE_RULE[1:] + "."
    methods = source_text(SECTIONS / "_methods.qmd")
    assert "text.response_rule`" in methods and "text.outcomes_missing" in methods
    assert "could not be assessed" not in source_text(SECTIONS / "_results-patients.qmd")
    # Figure 2's caption promises no count it may not show (the figure says it where it applies)
    response_caps = [
        c
        for doc in ("report", "supplement")
        for c in captions(document=doc)["fig-cap"]
        if c.startswith("Response rates at day 30")
    ]
    assert len(response_caps) == 2
    for cap in response_caps:
        assert "not assessed" not in cap and "their number" not in cap


def test_not_done_response_of_a_patient_who_died_before_day_30_counts_as_no_cr(study):
    df = study.cohort.copy()
    flag = not_done_column("cr_day30")
    df[flag] = False
    end = df["death_date"].where(df["death_date"].notna(), df["last_followup_date"])
    days = (end - df["infusion_date"]).dt.days
    early = df.index[(days <= 30) & ~df["cr_day30"].astype(bool)][0]
    late = df.index[(days > 60) & ~df["cr_day30"].astype(bool)][0]
    df.loc[[early, late], flag] = True
    df.loc[[early, late], "cr_day30"] = False
    p = prepare_cohort(df)
    assert p.loc[early, "cr_response"] is False or bool(p.loc[early, "cr_response"]) is False
    assert not pd.isna(p.loc[early, "cr_response"]) and bool(p.loc[early, "response_evaluable"])
    assert pd.isna(p.loc[late, "cr_response"]) and not bool(p.loc[late, "response_evaluable"])


# --------------------------------------------------------------------------- 2. the p-value table counts only tests done


def test_untested_drug_comparisons_are_not_in_the_p_value_table_or_its_counts(results, text):
    from analysis.report import tables

    table = results.pvalues
    labels = {r.label for r in table.rows}
    for drug in ("Received steroids", "Received tocilizumab"):
        for by in ("CRS", "ICANS", "concurrent CRS and ICANS"):
            assert f"{drug} by {by}" not in labels  # Table 2: "† Not tested"
    # the course table's tests are a family of their own, named after that table
    course = [r for r in table.rows if r.family == "course"]
    assert {r.label for r in course} == {
        f"Peak {m} by {by}" for m in ("IL-6", "ferritin") for by in ("CRS", "ICANS", "concurrent CRS and ICANS")
    }
    # R: p.adjust(c(3.2867631835709248e-06, 0.8426549350892474, 0.8796113670091766,
    #              0.14781280399876146, 0.17948643476493942, 0.17948643476493942), "holm")
    # [1] 1.972058e-05 1.000000e+00 1.000000e+00 7.390640e-01 7.390640e-01 7.390640e-01
    assert [r.p_holm for r in course] == pytest.approx([1.972058e-05, 1, 1, 0.739064, 0.739064, 0.739064], rel=1e-6)
    # the Limitations sentence counts the same table
    assert text.significant_count() == str(sum(r.p < 0.05 for r in table.rows))
    assert text.significant_count("holm") == str(sum(f.n_holm for f in table.families))
    refs = {"tbl-characteristics": "Table 1 of the manuscript", "tbl-course": "Table 2 of the manuscript"}
    shown = tables.pvalue_table(table, ref=lambda label: refs.get(label) or "[not shown]").markdown
    assert "Baseline characteristics by toxicity (Table 1 of the manuscript) (24)" in shown
    assert "Course after infusion by toxicity (Table 2 of the manuscript) (6)" in shown
    assert "(Table 1)" not in shown and "Patient characteristics" not in shown


# --------------------------------------------------------------------------- 3. proportional hazards term by term

# R 4.x, survival, on data/cohort.csv (OS from infusion in months of 30.4375 days; blast20 = bm_blasts_pct >= 20;
# sev: none / other / severe, reference none):
#   m <- coxph(Surv(t, ev) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev, d, ties = "efron"); cox.zph(m)$table
#   age 0.04640648125 1 0.82943860290; blast20 5.12267307114 1 0.02361521301; ph 1.98348482412 1 0.15902376868;
#   cart_dose_1e6_per_kg 4.23337084019 1 0.03963664666; sev 2.61128862397 2 0.27099787161; GLOBAL 12.4871140186 6 0.0519
#   the publication's model, coxph(Surv(t, ev) ~ blast20 + ster + toci + sev): blast20 4.0693633902 1 0.04366772878
R_ZPH_OS = {
    "age": (0.04640648125, 0.82943860290),
    "bm_blasts_ge20": (5.12267307114, 0.02361521301),
    "ph_positive": (1.98348482412, 0.15902376868),
    "cart_dose_1e6_per_kg": (4.23337084019, 0.03963664666),
    "severity": (2.61128862397, 0.27099787161),
}


def test_per_term_proportional_hazards_tests_are_reported_and_named(results, text):
    from analysis.report import tables

    os_terms = {t.term: t for t in results.cox["os"].ph_tests}
    for term, (chisq, p) in R_ZPH_OS.items():
        assert os_terms[term].chisq == pytest.approx(chisq, rel=1e-5)
        assert os_terms[term].p == pytest.approx(p, rel=1e-5)
    publication = next(t for t in results.cox_publication["os"].ph_tests if t.term == "bm_blasts_ge20")
    assert publication.p == pytest.approx(0.04366772878, rel=1e-5)
    shown = tables.ph_table(results.cox).markdown
    assert "| 5.12 | 1 | 0.024 |" in shown and "CRS/ICANS group (2 df) | 2.61 | 2 | 0.271 |" in shown
    assert shown.count("Global test") == 3
    # the sentence names every term below alpha, and no other; 15 per-term tests, 0.75 expected by chance
    assert text.ph_terms_flagged
    assert text.ph_terms_below == (
        "BM blasts ≥20% vs <20% in the OS model (p = 0.024) and "
        "CAR-T dose, per 10⁶ cells/kg in the OS model (p = 0.040)"
    )
    assert (text.ph_terms_n, text.ph_terms_expected) == ("15", "0.8")
    # printed, so in the p-value table (model checks); the other models' per-term tests are not printed
    checks = [r for r in results.pvalues.rows if r.family == "model_checks" and "/ph_tests/" in r.path]
    assert len(checks) == 15 and all(r.path.startswith("cox/") for r in checks)
    section = source_text(SECTIONS / "_results-multivariable.qmd")
    assert "text.ph_terms_below" in section and "by chance" in section and "text.ph_sensitivity_summary" in section


def test_the_global_ph_test_is_named_for_every_model(results, text):
    """Review 29, finding 13: the text named the OS and LFS models' global tests and left out
    EFS's (its table footnote gave p = 0.921); the sentence now reads the one list of models.
    R 4.x, survival, tests/reference/demo_cohort.R then (blast20, ph, sev as above; LFS among cr_day30 == "yes"):
      cox.zph(coxph(Surv(os_months, os_event) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev, d))$table["GLOBAL", ]
        chisq 12.48711401860 df 6 p 0.05194343539
      cox.zph(coxph(Surv(lfs_months, lfs_event) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev, l))$table["GLOBAL", ]
        chisq 6.2115028248 df 6 p 0.3999194594"""
    assert results.cox["os"].ph_test_global_p == pytest.approx(0.05194343539, rel=1e-5)
    assert results.cox["lfs"].ph_test_global_p == pytest.approx(0.3999194594, rel=1e-5)
    assert list(results.cox) == ["os", "lfs", "efs"]
    efs = text.ph_p("efs")
    assert text.ph_global == f"p = 0.052 (OS), p = 0.400 (LFS), and {efs} (EFS)"
    section = source_text(SECTIONS / "_results-multivariable.qmd")
    assert "text.ph_global" in section and 'text.ph_p("lfs")' not in section


# --------------------------------------------------------------------------- 4. kinetics: the effect size, and words from its CI


# R: k <- read.csv("data/kinetics.csv", comment.char = "#"); cmax <- aggregate(car_copies_per_ug ~ patient_id, k, max)
#    (merged with the cohort) w <- wilcox.test(log(cmax[crs]), log(cmax[no crs]), conf.int = TRUE)
#    exp(c(w$estimate, w$conf.int)) -> 0.8908775982 0.2930550973 3.2888888889 (19 and 5 patients)
def test_kinetics_peak_by_crs_is_given_with_its_hodges_lehmann_ratio(text):
    assert text.kinetics_effect("cmax", by="crs") == "ratio 0.89 (95% CI 0.29–3.29)"
    assert (text.kinetics_n("cmax", by="crs", level="yes"), text.kinetics_n("cmax", by="crs", level="no")) == (
        "19",
        "5",
    )
    # 1 / 0.2930550973 = 3.41; 3.2888888889 -> 3.3
    assert text.kinetics_ratio_span("cmax", by="crs", noun="peak") == "from a 3.4-fold lower to a 3.3-fold higher peak"
    results_text = source_text(SECTIONS / "_results-kinetics.qmd")
    assert 'text.kinetics_effect("cmax", by="crs")' in results_text
    discussion = source_text(SECTIONS / "_discussion.qmd")
    assert "no evidence" not in discussion and "kinetics_ratio_span" in discussion


# --------------------------------------------------------------------------- 5. what the count of tests counts; pairwise CIs


# R: EFS (no CR at day 30 an event at day 0) by ICANS grade (none, 1–2, ≥3 or seizure):
#    summary(coxph(Surv(t, e) ~ g, ties = "efron"))$conf.int
#    gg12 2.2103650758 ... 1.039324761 4.700853816; gge3 0.7869008916 ... 0.335947480 1.843183980
def test_the_count_says_omnibus_tests_and_pairwise_cis_excluding_1_are_named(text, results):
    hr = next(h for h in results.survival_hr[("efs", "icans_grade")].hazard_ratios if h.hr and h.hr > 2)
    assert (hr.hr, hr.ci_low, hr.ci_high) == pytest.approx((2.2103650758, 1.039324761, 4.700853816), rel=1e-5)
    overall = results.survival[("efs", "icans_grade")].logrank_p  # review 30, F8: the overall test beside it
    assert text.pairwise_beyond_null == (
        f"ICANS grade 1–2 against no ICANS, HR 2.21 (95% CI 1.04–4.70) for EFS (overall log-rank {fmt_p(overall)})"
    )
    # LFS 2.23 (1.00–4.99): its lower limit is below 1 unrounded, so it is not named
    lfs = next(h for h in results.survival_hr[("lfs", "icans_grade")].hazard_ratios if h.hr and h.hr > 2)
    assert lfs.ci_low < 1
    assert text.pairwise_n == "27"  # 3 endpoints x 9 non-reference levels of the 6 toxicity groupings
    for name in ("_abstract.qmd", "_discussion.qmd"):
        section = source_text(SECTIONS / name)
        assert "comparisons of response or survival between toxicity groups" not in section
        # "tests", not "omnibus tests": 12 of the 30 compare two groups (review 29)
        assert "omnibus" not in section and "tests of response or survival across toxicity groups" in section
    assert "text.pairwise_beyond_null" in source_text(SECTIONS / "_discussion.qmd")


def test_a_survival_of_zero_has_a_not_estimable_ci_in_the_tables(results):
    from analysis.report import tables

    shown = tables.table3(results.survival, results.survival_hr, groupings=["icans_grade"], endpoints=["lfs"]).markdown
    # R: summary(survfit(Surv(t2, ev2) ~ icans grade), times = 24): surv 0, lower NA, upper NA
    assert "| 0.0 (NE) |" in shown and "NE, not estimable" in shown
    assert "| 0.0 |" not in shown


# --------------------------------------------------------------------------- 6. the odds ratios the Methods describe are printed


def test_the_odds_ratios_the_methods_promise_are_printed(text):
    # CR by CRS: every patient without CRS responded (17 of 17), a zero cell: Firth's estimate
    assert text.rate_effects("cr", "crs") == (
        "−9.2 percentage points (95% CI −17.8 to 9.8); Firth OR 0.26 (95% CI <0.01–2.36); Firth LR p = 0.284"
    )  # review 30, finding 2: the p of the comparison's test, named, beside the difference
    assert text.rate_effects("cr", "icans").endswith("; OR 0.49 (95% CI 0.07–5.64); Fisher's exact p = 0.691")
    assert text.firth_odds_ratio_shown
    response = source_text(SECTIONS / "_results-response.qmd")
    assert response.count("text.rate_effects(") == 4 and "text.risk_difference(" not in response
    assert "text.firth_odds_ratio_shown" in source_text(SECTIONS / "_methods.qmd")


# --------------------------------------------------------------------------- 7. two onset medians, two names


def test_the_two_onset_medians_are_named_as_different_estimands(text, raw):
    onset = pd.to_numeric(raw["crs_onset_day"][raw["crs_grade"].astype(int) > 0])
    assert text.median_range("crs_onset_day").startswith(f"{onset.median():g} (")  # 5: among patients with CRS
    assert text.onset_median("crs") == "day 6"  # first day the cumulative incidence over all patients reaches 50%
    # over all 93 patients, 50% is 46.5 patients with onset: the 47th smallest onset day
    all_days = onset.sort_values().to_numpy()
    assert all_days[46] == 6
    course = source_text(SECTIONS / "_results-patients.qmd")
    assert "among the patients with CRS it began at a median" in course
    onset_text = source_text(SECTIONS / "_supp-onset.qmd")
    assert "median onset:" not in onset_text and "over all patients" in onset_text


# --------------------------------------------------------------------------- 8. the sensitivity analyses, counted and in the Methods


def test_the_sensitivity_analyses_are_counted_and_each_is_in_the_methods(text):
    # landmark, time-dependent exposure, competing risks, center-stratified, HSCT
    assert text.hsct_analysed and text.sensitivity_count == "Five"
    other = source_text(SECTIONS / "_results-other.qmd")
    assert "Three analyses" not in other and "text.sensitivity_count" in other
    # each analysis the Results summarise is described in the manuscript's Methods (Bias)
    methods = source_text(SECTIONS / "_methods.qmd", hsct=True)
    bias = methods[methods.index("## Bias") : methods.index("## Study size")]
    for words in (
        "landmark analys",
        "time-dependent exposure",
        "competing-risks analysis",
        "center-stratified model",
        "time-dependent covariate",
        "censored at the transplant",
    ):
        assert words in bias, words
    assert (
        "censored at the transplant" not in source_text(SECTIONS / "_methods.qmd", hsct=False).split("## Study size")[0]
    )


# --------------------------------------------------------------------------- 9. citations that support their sentence


def test_citations_fit_their_claims():
    methods = source_text(SECTIONS / "_methods.qmd")
    assert "dohner2017" not in methods  # AML recommendations do not define EFS in B-ALL
    assert "below 5 [@cochran1954]" in methods and "sjoberg2021" not in methods  # the rule is Cochran's
    assert "[@cochran1954]" in source_text(SECTIONS / "_supp-methods.qmd")
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    source = bib[bib.index("@article{source2024") :].split("\n}\n")[0]
    # review 29: the authors and title from the record of the cited document kept in the
    # repository (docs/references/source2024.md, from the publisher's page), none invented
    record = (ROOT / "docs" / "references" / "source2024.md").read_text(encoding="utf-8")
    authors = record.split("- Authors: ")[1].split("\n")[0].split("; ")
    assert len(authors) == 16
    bib_authors = re.search(r"author\s*=\s*\{(.*)\},\n", source).group(1).split(" and ")
    assert [f"{a.split(', ')[1]} {a.split(', ')[0]}" for a in bib_authors] == authors
    title = record.split("- Title: ")[1].split("\n")[0]
    assert re.sub(r"[{}]", "", re.search(r"title\s*=\s*\{(.*)\},\n", source).group(1)).lower() == title.lower()
    assert (ROOT / "docs" / "references" / "source2024.txt").read_text(encoding="utf-8").count("93 patients") >= 1
    assert "note" not in source  # nothing about the project printed in the reference list
    intro = source_text(SECTIONS / "_introduction.qmd")
    paragraphs = [p for p in intro.split("\n\n") if p.strip() and not p.startswith("#")]
    # the two background paragraphs each cite, and every key they cite is in the bibliography
    for paragraph in paragraphs[:2]:
        assert "[@" in paragraph
    for key in re.findall(r"@([a-z0-9]+)", " ".join(paragraphs)):
        assert f"{{{key}," in bib, key


# --------------------------------------------------------------------------- 10. Table 1 differences with their size


def test_table1_differences_give_the_group_medians_and_both_p_values(text, raw):
    dose = pd.to_numeric(raw["cart_dose_1e6_per_kg"])
    crs = raw["crs_grade"].astype(int) > 0
    assert (round(dose[crs].median(), 1), round(dose[~crs].median(), 1)) == (1.2, 1.0)
    # R: p.adjust(<the 24 baseline p-values>, "holm"): the dose by CRS, 2nd smallest, 23 x 0.03077 = 0.708
    assert text.table1_differences("crs") == (
        "infused CAR-T cell dose (median 1.2 (CRS) vs 1.0 (no CRS), in 10⁶ cells/kg; p = 0.031, Holm-adjusted p = 0.708)"
    )
    assert text.table1_differences("icans") == (
        # at the precision of the row of Table 1 (counts: "2 (1–6)" beside "3.5 (1–13)"; reviewers 27 and 29)
        "number of prior therapy lines (median 2 (ICANS) vs 4 (no ICANS); p = 0.021, Holm-adjusted p = 0.499)"
    )


# =========================================================================== findings 11-16
# (the second half of the review: design information instead of power, the E-value of the CI,
# one number format, the STROBE pointers, layout and wording, the word count)

_INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_CHUNK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _said(section: str, text, results=None) -> str:
    """A section as a render prints it (conditional content as in the demo, code chunks left
    out, every inline expression evaluated), on one line; ``section``: a file of sections/
    ("_methods") or a path."""
    path = SECTIONS / f"{section}.qmd" if isinstance(section, str) else section
    source = _CHUNK.sub("", source_text(path))
    evaluated = _INLINE.sub(lambda m: str(eval(m.group(1), {"text": text, "R": results or text.results})), source)
    return re.sub(r"\s+", " ", evaluated)


def _prose(text) -> str:
    from conftest import document_sources

    return " ".join(_said(path, text) for path in document_sources("report"))


# --------------------------------------------------------------------------- 11. no post-hoc power: design information

# R: d <- 55; p <- 17/93; z <- qnorm(0.975) + qnorm(0.8)
#    exp(z / sqrt(d * p * (1 - p))); exp(-z / sqrt(d * p * (1 - p)))  -> 2.657548716 0.376286611
R_MDHR = (2.657548716, 0.376286611)


def test_the_study_size_gives_the_minimum_detectable_hazard_ratio_not_an_observed_power(text, raw):
    """Schoenfeld (1983): d = (z_{1-a/2} + z_{1-b})^2 / (p (1 - p) log(HR)^2), solved for the HR
    with the observed events d and the allocation p (a design property: it does not use the
    observed HR). Hand computation from the raw export, and R's value above."""
    from math import exp, sqrt
    from statistics import NormalDist

    deaths = int((raw["death_date"] != "").sum())
    without = int((raw["crs_grade"] == "0").sum())
    p = without / len(raw)
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    above, below = exp(z / sqrt(deaths * p * (1 - p))), exp(-z / sqrt(deaths * p * (1 - p)))
    assert (deaths, without, len(raw)) == (55, 17, 93)
    assert (above, below) == pytest.approx(R_MDHR, rel=1e-8)
    assert (
        text.detectable_hr("os", "crs")
        == f"{above:.2f} (or {below:.2f} for a lower hazard)"
        == ("2.66 (or 0.38 for a lower hazard)")
    )
    assert text.detectable_allocation("os", "crs") == "17 patients without and 76 with CRS (allocation 1:4.5)"
    methods = _said("_methods", text)
    assert (
        "The minimum detectable hazard ratio given the deaths observed (Schoenfeld's formula [@schoenfeld1983]) "
        "was 2.66 (or 0.38 for a lower hazard) for OS by CRS at 80% power and the 5% level, with 55 deaths and "
        "17 patients without and 76 with CRS (allocation 1:4.5)"
    ) in methods
    # no power is claimed anywhere from the observed effect: "power" only in the design sentence
    prose = _prose(text)
    for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", prose):
        if re.search(r"\bpower\b", sentence):
            assert sentence.startswith("The minimum detectable hazard ratio given the deaths observed"), sentence
    assert "had 80% power" not in prose and "observed power" not in prose
    assert "power" not in _said("_results-survival", text)


# --------------------------------------------------------------------------- 12. the E-value of the CI in the abstract


def _e_value_by_hand(hr: float, common: bool) -> float:
    """VanderWeele & Ding (2017): a common outcome's HR becomes a risk ratio
    (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)); E = RR + sqrt(RR (RR - 1)) for RR >= 1 (1/RR below 1)."""
    from math import sqrt

    rr = (1 - 0.5 ** sqrt(hr)) / (1 - 0.5 ** sqrt(1 / hr)) if common else hr
    rr = max(rr, 1 / rr)
    return rr + sqrt(rr * (rr - 1))


def test_the_abstract_gives_the_e_value_of_the_estimate_and_of_the_ci_limit_nearest_1(text, results, raw):
    deaths = int((raw["death_date"] != "").sum())
    common = deaths / len(raw) >= 0.15  # 55 of 93 died: the square-root conversion
    assert common
    terms = {t.key: t for t in results.cox["os"].terms}
    headline = terms[text.headline_term]
    assert headline.ci_low < 1 < headline.ci_high  # the CI crosses 1: the E-value of the CI is 1
    point = _e_value_by_hand(headline.hr, common)
    assert text.e_value("os", text.headline_term) == f"{point:.2f}" == "1.31"
    assert text.e_value_ci("os", text.headline_term) == "1.00"
    # a term whose CI excludes 1: the E-value of the limit closest to 1 (Ph-positive, lower limit 1.68)
    ph = next(t for t in results.cox["os"].terms if t.hr and t.ci_low and t.ci_low > 1)
    assert text.e_value_ci("os", ph.key) == f"{_e_value_by_hand(ph.ci_low, common):.2f}" == "2.22"
    abstract = _said("_abstract", text)
    # with the joint test of the exposure first (review 28: the primary test's p in the abstract)
    # review 29, finding 18: the E-value of every HR the headline reports, in its order (the
    # abstract gave the first HR's only, whichever term that was)
    exposure = results.cox["os"].exposure_terms
    assert [t.key for t in exposure][0] == text.headline_term and len(exposure) == 2
    points = [f"{_e_value_by_hand(t.hr, common):.2f}" for t in exposure]
    limits = [
        "1.00" if t.ci_low < 1 < t.ci_high else f"{_e_value_by_hand(t.ci_high if t.hr < 1 else t.ci_low, common):.2f}"
        for t in exposure
    ]
    assert points[0] == "1.31" and limits == ["1.00", "1.00"]
    assert f"(joint p = 0.720); E-values {points[0]} and {points[1]} (CI limits 1.00 and 1.00)." in abstract
    results_text = _said("_results-multivariable", text)
    assert f"hazard ratios for death (@tbl-cox) had E-values {points[0]} and {points[1]} (CI limits 1.00 and 1.00)" in (
        results_text
    )
    assert "first HR" not in abstract


def test_the_abstract_e_value_phrase_names_one_hr_when_the_exposure_has_one_term(results):
    """Review 29, finding 18: with one exposure term (exposure: crs) the phrase is singular."""
    import dataclasses

    from analysis.report.narrative import Narrative

    cox = results.cox["os"]
    one = dataclasses.replace(cox, terms=tuple(t for t in cox.terms if t not in cox.exposure_terms[1:]))
    text = Narrative(dataclasses.replace(results, cox={**results.cox, "os": one}))
    assert len(one.exposure_terms) == 1
    phrase = text.headline_e_values
    assert (
        phrase
        == f"E-value {text.e_value('os', text.headline_term)} (CI limit {text.e_value_ci('os', text.headline_term)})"
    )


# --------------------------------------------------------------------------- 13. one number format everywhere


def _display_text(rendered) -> str:
    """The text of a rendered PDF up to its reference list, lines joined (a range broken at the
    line end, "0.48–" / "2.47", is one range again)."""
    text = rendered.pdf_text
    return re.split(r"\bReferences\b(?!.*\bReferences\b)", text, flags=re.S)[0]


_RANGE = re.compile(r"(?<![\d.,\w])(\d[\d,]*(?:\.\d+)?)\s?(?:–|\bto\b)\s?[−-]?(\d[\d,]*(?:\.\d+)?)(?![\d\w])")
_YEAR = re.compile(r"^(19|20)\d\d$")


def number_format_problems(text: str) -> list[str]:
    """Violations of the report's one number format (analysis/report/formatting.py) in a
    document's text: a p-value printed as 1.000, scientific notation, a range whose two ends
    have different decimals, a number of four digits or more without thousands separators."""
    problems = []
    text = re.sub(r"\bcommit [0-9a-f]{7,40}\b", "commit", text)  # the code-availability statement's hash

    def where(m) -> str:
        return text[max(0, m.start() - 30) : m.end() + 10].replace("\n", " ")

    for m in re.finditer(r"(?<![\d.])1\.000(?!\d)|\bp\s*=\s*1(?:\.0+)?\b", text):
        problems.append(f"p of 1: {where(m)!r}")
    # (not inside a word: a commit hash such as 7e1f58b9e219 is no number)
    for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?e[+-]?\d+(?![\w.])", text):
        problems.append(f"scientific notation: {where(m)!r}")
    for m in _RANGE.finditer(text):
        a, b = m.group(1), m.group(2)
        if len(a.partition(".")[2]) != len(b.partition(".")[2]):
            problems.append(f"range with mixed decimals: {where(m)!r}")
    for m in re.finditer(r"(?<![\w.,/:#-])\d{4,}(?![\w,]|\.\d)", text):
        if not _YEAR.match(m.group(0)):
            problems.append(f"no thousands separator: {where(m)!r}")
    return problems


def test_the_number_format_check_finds_each_kind_of_violation():
    bad = "p = 1.000; Holm 1.000; 1.095e+04; 0.3–5; 0.002–2.36; 2–7.25; median 1460 mg; n = 27231"
    assert len(number_format_problems(bad)) == 8
    good = "p > 0.99; 0.3–5.0; 0.26 (<0.01–2.36); −17.8 to 9.8; 1,460 mg; between 2016 and 2022; 10⁶ cells"
    assert number_format_problems(good) == []


@pytest.mark.parametrize("document", ["report", "supplement"])
def test_the_rendered_documents_keep_one_number_format(bundled_render, document):
    rendered = bundled_render if document == "report" else bundled_render.supplement
    problems = number_format_problems(_display_text(rendered))
    assert not problems, "\n".join(problems)


def test_figure_labels_of_a_large_cohort_carry_thousands_separators(tmp_path):
    """Counts of 1,000 or more in the labels of every figure kind (numbers at risk, responders
    under the bars, the flow diagram, group sizes), drawn from a cohort of 3,000 patients."""
    import matplotlib.pyplot as plt

    from analysis.demo.synthetic import synthesize

    cohort, kinetics = synthesize(3000, seed=5)
    cohort.to_csv(tmp_path / "c.csv", index=False)
    kinetics.to_csv(tmp_path / "k.csv", index=False)
    big = compute_results(load_study(tmp_path / "c.csv", tmp_path / "k.csv", report_parameter("cutoff")))
    panels = [
        figures.km_plot(big.survival[("os", "crs")]),
        figures.response_bars(big.response[("cr", "crs")], big.response[("mrd_negative_cr", "crs")]),
        figures.flow_diagram(big.cohort_flow),
        *figures.peak_strips(big, ("crs", "severity")),
        figures.cif_plot(big.competing["crs"], "relapse"),
    ]
    labels = []
    for fig in panels:
        fig.canvas.draw()
        for ax in fig.axes:
            labels += [t.get_text() for t in ax.texts]
            labels += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        plt.close(fig)
    shown = " ".join(labels)
    assert "3,000" in shown  # the flow diagram's infused patients
    bare = [m.group(0) for m in re.finditer(r"(?<![\w.,$^{-])\d{4,}(?![\w,}]|\.\d)", shown)]
    assert not bare, bare


# --------------------------------------------------------------------------- 14. the STROBE checklist's pointers

#: Words the page a checklist row points to must hold, in the manuscript's PDF.
STROBE_WORDS = {
    "12b": ["interaction or subgroup analysis"],
    "12c": ["missing value was left out"],
    "12d": ["lost to follow-up were censored"],
    "12e": ["time-dependent exposure", "landmark analyses address it"],
    "13a": ["patients were analyzed"],  # the screening sentence (review 28, point 1)
    "13b": ["patients were analyzed"],
    "13c": ["Figure 1:"],
    "14b": ["No baseline characteristic was missing"],  # review 30, F9: the demo has no missing value
    "16a": ["baseline confounders, measured before infusion"],
}


def test_the_strobe_checklist_points_to_the_pages_that_hold_its_items(bundled_render):
    from layout import html_parts, pdf_pages, squash

    (table,) = [
        t for t in html_parts(bundled_render.supplement.html).tables if t.header[:2] == ["Item", "Recommendation"]
    ]
    rows = {row[0]: row for row in table.rows}
    pages = [squash(p) for p in pdf_pages(bundled_render.pdf)]
    for item, words in STROBE_WORDS.items():
        page_cell = rows[item][3]
        manuscript = [int(p) for p in re.findall(r"M (\d+)", page_cell)]
        assert manuscript, (item, page_cell)
        # the first place of the item in the manuscript is where its words are
        for w in words:
            assert squash(w) in pages[manuscript[0] - 1], (item, w, manuscript[0])
    assert rows["12e"][2].startswith("M 2.4 Bias") and "M 3.8" not in rows["12e"][2]
    assert "(Figure 1)" in rows["13c"][2] and all(rows[i][2].startswith("M 3.1 Participants") for i in ("13a", "13b"))
    statuses = {item: row[4] for item, row in rows.items()}
    partial = {item for item, s in statuses.items() if s.startswith("partial")}
    # 11: the cut-off's rationale and the splines (supplement); 13b: the study file declares the
    # screened and excluded patients; 8: it declares who assessed grades and response, and how alike
    assert partial == set(), statuses
    assert {s for i, s in statuses.items() if i not in partial | {"6b"}} == {"present"}


# --------------------------------------------------------------------------- 15. layout and wording


def _depth(text: str) -> int:
    deepest = depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("setting", ["two university hospitals (Berlin and Munich)", None])
def test_the_setting_is_never_inside_nested_parentheses(results, setting, tmp_path):
    """The Setting sentence printed the declared setting in parentheses: a setting with its own
    parentheses, or the placeholder "[to be completed: the setting (declarations: setting)]",
    nested them."""
    from analysis.inputs.studyfile import Declarations, resolve_study

    demo = resolve_study("", base=tmp_path)
    declarations = Declarations(
        design="retrospective cohort study", registry="our registry", setting=setting, consent="Consented."
    )
    settings = demo.__class__(**{**demo.__dict__, "declarations": declarations})
    narrative = Narrative(results, settings)  # the demo's results, as `demo` loads them (conftest.py)
    methods = _said("_methods", narrative).replace("\\", "")  # study-file text is printed escaped
    design = methods[methods.index("This is a retrospective") : methods.index("## Participants")]
    assert ("two university hospitals (Berlin and Munich)" if setting else "[to be completed: the setting") in design
    for sentence in re.split(r"(?<=\.) ", design):
        if "setting" in sentence or "Berlin" in sentence:
            assert _depth(sentence) <= 1, sentence
    discussion = _said("_discussion", narrative)
    assert _depth(discussion[discussion.index("## Generalizability") :]) <= 1


def test_figure_4_has_no_text_only_panel_and_names_the_twin_comparison(results, raw):
    """Panels (b) and (d) hold the same patients: among the 24 patients with kinetics every one
    with ICANS also had CRS, so concurrent CRS and ICANS versus the others is ICANS versus no
    ICANS. Counted on the raw export. Panel (d) was a text-only panel (review 28, point 3): it
    now draws its own groups' points (with their own names and colors) and says, under its
    p-value, that panel (b) holds the same patients."""
    kin = pd.read_csv(KINETICS, comment="#", dtype=str)
    sampled = raw[raw["patient_id"].isin(set(kin["patient_id"]))]
    icans = sampled["icans_grade"].astype(int) > 0
    crs = sampled["crs_grade"].astype(int) > 0
    assert len(sampled) == 24 and int(icans.sum()) == 4 and bool((crs[icans]).all())
    assert results.kinetics_same_split("concurrent", ("crs", "icans", "severity")) == "icans"
    assert results.kinetics_level_pairs("concurrent", "icans") == [("both", "yes"), ("others", "no")]
    assert results.kinetics_same_split("severity", ("crs", "icans")) is None
    panels = figures.peak_strips(results, ("crs", "icans", "severity", "concurrent"))
    drawn = [len(p.axes[0].collections) for p in panels]
    assert drawn == [2, 2, 3, 2]  # every panel draws its groups' points: none is text only
    for panel in panels:
        assert panel.axes[0].axison and panel.axes[0].get_yscale() == "log"
    texts = [" ".join(t.get_text().split()) for t in panels[3].axes[0].texts]
    assert any("the same patients as panel (b)" in t for t in texts), texts
    assert not any("same patients" in t.get_text() for p in panels[:3] for t in p.axes[0].texts)
    # the twin draws the same 24 patients as panel (b), in groups of the same sizes
    sizes = [sorted(len(c.get_offsets()) for c in p.axes[0].collections) for p in (panels[1], panels[3])]
    assert sizes[0] == sizes[1] == [4, 20]
    # in a cohort where the two splits differ, no panel says so
    free = figures.peak_strips(results, ("concurrent", "crs"))
    assert not any("same patients" in t.get_text() for p in free for t in p.axes[0].texts)
    caption = captions(document="report")["fig-cap"]
    assert any("its panel says which" in c for c in caption if c.startswith("Peak CAR"))


def test_the_lowest_tick_of_a_log_axis_is_labelled(results):
    """Figure 4's axis stopped between two decades, below the lowest labelled tick (10^3) and
    above a peak of 212 copies: the lowest point sat beside an unlabelled minor tick."""
    import matplotlib.pyplot as plt

    for grouping in ("crs", "icans", "severity", "steroids", "tocilizumab"):
        values = results.kinetics_values(grouping)
        fig = figures.peak_strip(results.kinetics_peak[grouping], values)
        fig.canvas.draw()
        ax = fig.axes[0]
        low, high = ax.get_ylim()
        ticks = zip(ax.get_yticks(), ax.get_yticklabels())
        labelled = [y for y, label in ticks if label.get_text() and low <= y <= high]
        assert labelled and min(labelled) <= values["peak_copies"][values["peak_copies"] > 0].min(), grouping
        plt.close(fig)


# --------------------------------------------------------------------------- 16. the word count


def test_the_main_text_keeps_to_the_journals_limits_with_the_details_in_the_supplement(bundled_render):
    """The demo's main text was 4,053 words (limit 4,000): the adjustment terms of the model,
    the publication's model and detail of the sensitivity analyses moved to the supplement,
    which says them in full (nothing was deleted, no limit raised)."""
    (line,) = [ln for ln in bundled_render.stderr.splitlines() if ln.startswith("manuscript: ")]
    m = re.fullmatch(
        r"manuscript: abstract (\d+) words \(limit 300\), main text ([\d,]+) words \(limit 4,000\), "
        r"(\d+) figures and tables \(limit 8\)",
        line,
    )
    assert m, line
    abstract, main, displays = int(m.group(1)), int(m.group(2).replace(",", "")), int(m.group(3))
    assert abstract <= 300 and main <= 4000 and displays <= 8, line
    assert "warning:" not in bundled_render.stderr
    supplement, manuscript = bundled_render.supplement.pdf_text, bundled_render.pdf_text
    moved = (
        "Among the adjustment terms of the manuscript's multivariable model",
        "the publication's model, which adjusted the CRS/ICANS group for marrow blasts",
    )
    for words in moved:
        assert words in supplement and words not in manuscript, words
    assert "HR 3.27 (95% CI 1.68–6.36), p < 0.001 for Ph-positive disease" in supplement


def test_table1_medians_name_their_groups_and_equal_medians_show_quartiles(results):
    """Review 29, finding 16: "median 1.2 vs 1.0" did not say which group came first, and "number
    of relapses (median 1 vs 1; p = 0.033)" hid the difference the test found. Quartiles are R's
    default (type 7):
      R> quantile(c(1, 1, 1, 1, 5, 5, 5), c(.25, .75))     # 1 5
      R> quantile(c(0, 1, 1, 1, 1, 2, 1), c(.25, .75))     # 1 1"""
    import dataclasses

    from analysis.estimators.comparisons import compare_continuous
    from analysis.report.narrative import Narrative

    text = Narrative(results)
    assert "infused CAR-T cell dose (median 1.2 (CRS) vs 1.0 (no CRS), in 10⁶ cells/kg; p = 0.031" in (
        text.table1_differences("crs")
    )
    frame = pd.DataFrame(
        {
            "n_relapses": [1, 1, 1, 1, 5, 5, 5, 0, 1, 1, 1, 1, 2, 1],
            "grp_crs": ["yes"] * 7 + ["no"] * 7,
        }
    )
    equal = compare_continuous(frame, "n_relapses", "crs")
    yes, no = sorted(equal.levels, key=lambda lv: lv.key == "no")
    assert (yes.q1, yes.q3, no.q1, no.q3) == pytest.approx((1.0, 5.0, 1.0, 1.0))
    shown = dataclasses.replace(equal, result=results.table1[("n_relapses", "crs")].result)
    table1 = {**results.table1, ("n_relapses", "crs"): shown}
    sentence = Narrative(dataclasses.replace(results, table1=table1))._table1_magnitude("n_relapses", "crs")
    # review 30, F6: the ranges, the summary of Table 1 and of the Methods (the quartiles were in neither)
    assert (yes.min, yes.max, no.min, no.max) == (1, 5, 0, 2)
    assert sentence == "median 1 (range 1–5; CRS) vs 1 (range 0–2; no CRS)"


# R 4.x, survival, tests/reference/demo_cohort.R then blast20, ph, sev as in R_ZPH_OS:
#   s <- coxph(Surv(os_months, os_event) ~ age + ph + cart_dose_1e6_per_kg + tt(cart_dose_1e6_per_kg) + sev
#              + strata(blast20), d, tt = function(x, t, ...) x * log(t), ties = "efron")
#   summary(s)$coefficients (coef, se):
#     age -0.00714417531817907... ; phTRUE 1.27388588953 0.350956169614 ; sevother -0.04666784372439 0.42307189254519
#     sevsevere 0.27044718837249 0.49535153146670 ; tt(cart_dose_1e6_per_kg) 0.21870497488716 0.10647575483696
#   i <- c("sevother", "sevsevere"); b <- coef(s)[i]; w <- t(b) %*% solve(vcov(s)[i, i]) %*% b
#   w = 0.799225337351, pchisq(w, 2, lower.tail = FALSE) = 0.670579732276
R_PH_RELAXED_OS = {
    "severity_ge3": (0.27044718837249, 0.49535153146670),
    "severity_other": (-0.04666784372439, 0.42307189254519),
}


def test_the_flagged_covariates_are_relaxed_in_a_sensitivity_model_as_r_fits_it(results, text):
    """Review 29, finding 13: BM blasts (p = 0.024) and dose (p = 0.040) failed the OS model's
    PH test and nothing followed. The OS model is refitted with the yes/no covariate as a stratum
    and the numeric one with dose x log(t) (R's tt()), its exposure agrees with R's coxph, and
    the supplement's table and the Results sentence report it; LFS and EFS (no flagged
    covariate) have no sensitivity model."""
    from analysis.report import tables

    assert set(results.ph_sensitivity) == {"os"}
    found = results.ph_sensitivity["os"]
    assert found.stratified == ("BM blasts ≥20% vs <20%",)
    assert found.time_varying == ("CAR-T dose, per 10⁶ cells/kg",)
    fit = found.result
    assert fit is not None and (fit.n, fit.events) == (93, 55)
    terms = {t.key: t for t in fit.terms}
    assert "bm_blasts_ge20" not in terms  # a stratum has no coefficient
    for key, (coef, se) in R_PH_RELAXED_OS.items():
        assert terms[key].coef == pytest.approx(coef, rel=1e-6)
        assert terms[key].se == pytest.approx(se, rel=1e-6)
    assert terms["ph_positive"].coef == pytest.approx(1.27388588953, rel=1e-6)
    assert fit.severity_global_chisq == pytest.approx(0.799225337351, rel=1e-6)
    assert fit.severity_global_p == pytest.approx(0.670579732276, rel=1e-6)
    shown = tables.ph_sensitivity_table(results).markdown
    assert "| CRS/ICANS group, joint p | 0.720 | 0.671 |" in shown
    assert "| \u2003Grade ≥3 CRS or severe ICANS | 1.41 (0.53–3.72) | 1.31 (0.50–3.46) |" in shown
    assert "Not fitted — LFS: no covariate's proportional-hazards test was below 0.05" in shown
    assert text.ph_sensitivity_any
    assert text.ph_sensitivity_summary == "the exposure's joint p for OS was 0.671 (main model 0.720)"
    said = _said("_results-multivariable", text)
    assert "With them relaxed (Supplementary Table S" in said and "was 0.671 (main model 0.720)." in said
    assert text.ph_sensitivity_intro.endswith(
        "the OS model (BM blasts ≥20% vs <20% as a stratum, CAR-T dose with a time interaction)"
    )
    section = source_text(SECTIONS / "_results-multivariable.qmd")
    assert "text.ph_sensitivity_summary" in section and "text.ref('tbl-ph-sensitivity')" in section
    assert "tables.ph_sensitivity_table(R)" in source_text(SECTIONS / "_supp-grades.qmd")
