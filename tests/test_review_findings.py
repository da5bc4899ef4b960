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
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results

SECTIONS = ROOT / "sections"


@pytest.fixture(scope="module")
def study():
    return load_study(COHORT, KINETICS, report_parameter("cutoff"))


@pytest.fixture(scope="module")
def results(study):
    return compute_results(study)


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
        c for doc in ("report", "supplement") for c in captions(document=doc)["fig-cap"] if c.startswith("CR and")
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
        "infused CAR-T dose, per 10⁶ cells/kg in the OS model (p = 0.040)"
    )
    assert (text.ph_terms_n, text.ph_terms_expected) == ("15", "0.8")
    # printed, so in the p-value table (model checks); the other models' per-term tests are not printed
    checks = [r for r in results.pvalues.rows if r.family == "model_checks" and "/ph_tests/" in r.path]
    assert len(checks) == 15 and all(r.path.startswith("cox/") for r in checks)
    section = source_text(SECTIONS / "_results-multivariable.qmd")
    assert "text.ph_terms_below" in section and "weak signal" in section


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
    assert text.pairwise_beyond_null == "ICANS grade 1–2 against no ICANS, HR 2.21 (95% CI 1.04–4.70) for EFS"
    # LFS 2.23 (1.00–4.99): its lower limit is below 1 unrounded, so it is not named
    lfs = next(h for h in results.survival_hr[("lfs", "icans_grade")].hazard_ratios if h.hr and h.hr > 2)
    assert lfs.ci_low < 1
    assert text.pairwise_n == "27"  # 3 endpoints x 9 non-reference levels of the 6 toxicity groupings
    for name in ("_abstract.qmd", "_discussion.qmd"):
        section = source_text(SECTIONS / name)
        assert "comparisons of response or survival between toxicity groups" not in section
        assert "omnibus tests of response or survival across toxicity groups" in section
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
        "−9.2 percentage points (95% CI −17.8 to 9.8); Firth OR 0.26 (95% CI 0.002–2.36)"
    )
    assert text.rate_effects("cr", "icans").endswith("; OR 0.49 (95% CI 0.07–5.64)")
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
    assert "author list is not in the copy" in source  # no authors invented
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
        "infused CAR-T cell dose (median 1.2 vs 1.0, in 10⁶ cells/kg; p = 0.031, Holm-adjusted p = 0.708)"
    )
    assert text.table1_differences("icans") == (
        "number of prior therapy lines (median 2 vs 4; p = 0.021, Holm-adjusted p = 0.499)"
    )
