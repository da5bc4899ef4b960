"""Review 29 of the manuscript (issue 21): the wording and presentation findings of the methods
reviewer's read of the demo and of a user's REDCap study.

Each test evaluates the sentence a section writes (its words live in ``sections/``, the
Narrative only chooses) on results that trigger the case: the demo cohort edited so that
toxicity goes with longer survival (a third of the patients with CRS or ICANS have no death or
relapse recorded) and so that the patients with CRS have 20 times the CAR transgene copies — the
shape of the user's study (significant log-rank tests, adjusted HRs below 1, a landmark model
whose verdict changes, significant kinetics comparisons).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, read_cohort_text, write_cohort_text

from analysis.inputs.loading import load_study
from analysis.inputs.studyfile import resolve_study
from analysis.inputs.usertext import TEMPLATE_AFFILIATION, TEMPLATE_AUTHOR, TEMPLATE_TITLE
from analysis.registry.groups import TOXICITY_GROUPINGS
from analysis.report import tables
from analysis.report.formatting import and_list, fmt_p, sentences_starting_with_numeral
from analysis.report.narrative import Narrative
from analysis.report.results import compute_results
from renderer.journal import placeholders

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "sections"
CUTOFF = "2023-03-01"


def said(section: str, begins: str, text: Narrative) -> str:
    """The value of the one inline expression of ``sections/<section>.qmd`` that begins with
    ``begins``, for these results: the sentence the document prints."""
    source = (SECTIONS / f"{section}.qmd").read_text(encoding="utf-8")
    found = [code for code in re.findall(r"`\{python\}\s+([^`]+?)\s*`", source) if code.startswith(begins)]
    assert len(found) == 1, (section, begins, found)
    return str(eval(found[0], {"text": text, "R": text.results}))  # noqa: S307 (our own source)


@pytest.fixture(scope="module")
def toxic(tmp_path_factory):
    """Narrative of a cohort where toxicity goes with lower hazards (see the module's docstring)."""
    return toxic_narrative(tmp_path_factory.mktemp("toxic"))


def toxic_narrative(folder: Path) -> Narrative:
    """The demo cohort with a third of the patients with toxicity spared death and relapse
    (toxicity with lower hazards) and 20-fold CAR-T peaks with CRS, written to ``folder``."""
    header, frame = read_cohort_text(COHORT)
    frame = frame.copy()
    toxicity = (frame["crs_grade"].astype(int) > 0) | (frame["icans_grade"].astype(int) > 0)
    spared = toxicity & (frame.index % 3 == 0)
    frame.loc[spared, ["death_date", "relapse_date"]] = ""
    frame.loc[spared, "last_followup_date"] = "2023-02-01"
    cohort = write_cohort_text(folder / "cohort.csv", header, frame)
    kinetics = pd.read_csv(KINETICS, comment="#", dtype=str)
    crs = set(frame.loc[frame["crs_grade"].astype(int) > 0, "patient_id"])
    kinetics["car_copies_per_ug"] = [
        str(float(c) * (20 if pid in crs else 1))
        for pid, c in zip(kinetics["patient_id"], kinetics["car_copies_per_ug"])
    ]
    kinetics.to_csv(folder / "kinetics.csv", index=False)
    return Narrative(compute_results(load_study(cohort, folder / "kinetics.csv", CUTOFF)))


@pytest.fixture(scope="module")
def demo(bundled_results):
    return Narrative(bundled_results)


# --------------------------------------------------------------------------- 6, 20: pairwise HRs


def test_the_pairwise_hrs_beyond_1_are_counted_and_named_in_lower_case(toxic):
    results = toxic.results
    # the count, independently of the narrative: every level against its reference, CI beyond 1
    beyond = [
        hr
        for (_, grouping), uc in results.survival_hr.items()
        if grouping in TOXICITY_GROUPINGS
        for hr in uc.hazard_ratios
        if hr.ci_low is not None and hr.ci_high is not None and (hr.ci_low > 1 or hr.ci_high < 1)
    ]
    assert len(beyond) > 1
    sentence = said("_discussion", "text.choose(text.pairwise_beyond_null_any", toxic)
    assert sentence.startswith(f"The 95% CI excluded 1 for {len(beyond)} of 27 pairwise hazard ratios")
    assert " only " not in sentence and sentence.endswith("these are exploratory findings.")
    # more than three are summed up by direction and endpoint (a list of eight took 150 words of
    # a user's Discussion), the tables that list them cited; counted here from the results
    below = sum(1 for hr in beyond if hr.ci_high < 1)
    assert below == len(beyond)
    assert "(each group against its reference; Table 3 and Supplementary Table S2): all below 1 (" in sentence
    listed = [name for name, _ in re.findall(r"(\d+) for (OS|LFS|EFS)", sentence)]
    assert sum(int(k) for k in listed) == len(beyond)
    # three or fewer are named (test_one_pairwise_hr_beyond_1_is_one_finding)


def test_one_pairwise_hr_beyond_1_is_one_finding(demo):
    sentence = said("_discussion", "text.choose(text.pairwise_beyond_null_any", demo)
    assert sentence == (
        "The 95% CI excluded 1 for 1 of 27 pairwise hazard ratios (each group against its reference; Table 3 "
        "and Supplementary Table S2): "
        "ICANS grade 1–2 against no ICANS, HR 2.21 (95% CI 1.04–4.70) for EFS (overall log-rank p = 0.080); "
        "an exploratory finding."  # review 30, F8: the grouping's overall test beside it
    )


# --------------------------------------------------------------------------- 7: kinetics


def test_separate_kinetics_tests_are_separate_results_without_an_inference_chain(toxic):
    results = toxic.results
    crs = results.kinetics_peak["crs"].result
    icans = results.kinetics_peak["icans"].result
    assert crs.p < 0.05 <= icans.p and crs.test == icans.test == "mann_whitney"
    interpretation = said("_discussion", "text.choose(text.kinetics_tests.any", toxic)
    assert "so expansion differed" not in interpretation and "marker of expansion" not in interpretation
    # after "Here, in the patients with kinetics samples (Figure 4),"
    assert interpretation == (
        "the peak differed significantly in 2 of the 3 comparisons (by CRS and CRS/ICANS severity), "
        "each a separate test in this subset of the cohort; it was higher with CRS "
        f"({toxic.kinetics_effect('cmax', by='crs')}), which bears on expansion, not on the risk of failure."
    )
    results_sentence = said("_results-kinetics", "text.choose(text.kinetics_tests.any", toxic)
    assert not results_sentence.startswith("It differed")
    assert f"peak expansion by CRS (Mann–Whitney {fmt_p(crs.p)})" in results_sentence
    assert f"peak expansion by ICANS (Mann–Whitney {fmt_p(icans.p)}) did not" in results_sentence
    assert "(Kruskal–Wallis p = " in results_sentence  # the severity group: each p names its test
    # the subset: Limitations say how many patients had kinetics, whenever kinetics are reported
    discussion = (SECTIONS / "_discussion.qmd").read_text(encoding="utf-8")
    limitations = discussion[discussion.index("## Limitations") : discussion.index("## Interpretation")]
    assert (
        '::: {.content-visible when-meta="cartox.kinetics"}\nCAR-T expansion was measured in only '
        '`{python} text.n_of("n_kinetics_patients")` patients' in limitations
    )
    assert toxic.n_of("n_kinetics_patients") == "24 of 93 (25.8%)"


# --------------------------------------------------------------------------- 8: a verdict that changed


def test_a_changed_verdict_states_what_changed_and_its_reasons_as_possibilities(toxic):
    assert toxic.td_disagreements == "the sensitivity landmark model for LFS"
    lfs = toxic.results.cox["lfs"]
    day90 = toxic.results.landmark_models[("lfs", int(toxic.sensitivity_landmark_day))].cox
    assert (lfs.severity_global_p < 0.05) != (day90.severity_global_p < 0.05)
    sentence = said("_results-other", "text.choose(text.td_all_agree", toxic)
    assert "which reflects" not in sentence
    assert (
        f"from infusion: joint {fmt_p(lfs.severity_global_p)}; {lfs.n} patients, {lfs.events} events; at day 90: "
        f"joint {fmt_p(day90.severity_global_p)}; {day90.n} patients, {day90.events} events"
    ) in sentence
    assert "; possible reasons are the patients and events a landmark leaves out" in sentence
    supplement = said("_results-timedependent", "text.choose(text.td_all_agree", toxic)
    assert "reflects" not in supplement and "Possible reasons are" in supplement


# --------------------------------------------------------------------------- 9, 12: Interpretation, Limitations


def test_the_interpretation_states_the_direction_of_the_adjusted_association(toxic, demo):
    terms = toxic.results.cox["lfs"].exposure_terms
    assert all(t.ci_high < 1 for t in terms)  # both levels of the severity group: lower hazards of LFS events
    assert toxic.flags["adjusted_direction"] and toxic.adjusted_lower is True
    assert toxic.adjusted_beyond_null_count == "2 of 6" and toxic.adjusted_beyond_null_models == "the LFS model"
    sentence = said("_discussion", "text.choose(text.adjusted_lower", toxic)
    assert sentence.startswith("all below 1, so in these data toxicity went with lower hazards, not higher.")
    # the toxic cohort has no immortal time (the time-dependent analyses coincide): not offered as
    # an explanation the Limitations rule out (review 29 follow-up)
    assert toxic.td_identical
    assert "(immortal time)" not in sentence
    # review 30, F4: not flatly, when the day-90 landmark model changed the LFS verdict
    assert "No immortal time can explain this" not in sentence
    assert "but the verdict changed for the sensitivity landmark model for LFS" in sentence
    # where no adjusted HR's CI excludes 1, no direction is claimed: the paragraph is not shown
    assert not demo.adjusted_beyond_null_any and demo.flags["adjusted_direction"] is False
    discussion = (SECTIONS / "_discussion.qmd").read_text(encoding="utf-8")
    assert '::: {.content-visible when-meta="cartox.adjusted_direction"}\nIn the adjusted models' in discussion


def test_the_limitations_fit_the_results(toxic, demo):
    first = said("_discussion", 'text.choose(text.main_tests.n_significant > 0, "where a test', toxic)
    assert "equivalence" not in first and "moderate effects cannot be excluded" in first
    assert said("_discussion", 'text.choose(text.main_tests.n_significant > 0, "where a test', demo) == (
        "moderate effects cannot be excluded."
    )  # Key results already say that no significant test is no evidence of no effect

    # the family's count and Holm verdict are the Key results' (review 30: the Limitations no
    # longer repeat them, the words that pay for the Interpretation's joint tests)
    family = toxic.results.pvalues.family("efficacy_by_toxicity")
    assert family.n_significant == 3 and family.n_holm == 0
    key = said("_discussion", "text.choose(text.main_tests.any", toxic)
    assert key.startswith(f"3 of {family.n} tests") and "none after Holm's adjustment" in key
    discussion = (SECTIONS / "_discussion.qmd").read_text(encoding="utf-8")
    assert "survival by toxicity. Of all of them, `{python} text.significant_count()` were below" in discussion
    quality = said("_discussion", "text.choose(text.warnings_any", toxic)
    count = toxic.results.data_quality.n_warnings
    assert quality.startswith(f"Data-quality checks raised {count} plausibility warnings, most often for ")
    # the demo has no primary-refractory patient with relapses any more (review 29, finding 10)
    assert "most often for lost to follow-up (4 patients)" in quality
    assert "analyzed as recorded" in quality


# --------------------------------------------------------------------------- 17, 19: counts and lists


def test_the_conclusion_says_tests_and_none_after_holm(toxic):
    conclusion = said("_abstract", "text.choose(text.main_tests.any", toxic)
    # review 30, F3: the adjusted primary verdict first, and the direction instead of the list
    assert conclusion.startswith("The main adjusted analysis (OS) was not significant (joint p = ")
    assert "Three of 30 tests of response or survival across toxicity groups" in conclusion
    assert "omnibus" not in conclusion and "none after Holm's adjustment" in conclusion
    assert "toxicity went with lower hazards (LFS by CRS, CRS grade, and CRS/ICANS severity)." in conclusion


def _with_gray_p(results, grouping, cause, p):
    competing = dict(results.competing)
    group = competing[grouping]
    causes = dict(group.causes)
    causes[cause] = dataclasses.replace(causes[cause], gray=dataclasses.replace(causes[cause].gray, p=p))
    competing[grouping] = dataclasses.replace(group, causes=causes)
    return dataclasses.replace(results, competing=competing)


def test_lists_name_the_tests_and_their_number(toxic):
    landmark = said(
        "_results-competing", 'text.choose(text.tests(["os", "lfs"], by=["crs", "icans"], at="landmark")', toxic
    )
    assert landmark.startswith("Of these four log-rank tests, 1 reached statistical significance (LFS by CRS (p = ")
    assert "At least one" not in landmark
    gray = Narrative(_with_gray_p(toxic.results, "crs", "nrm", 0.02))
    competing = gray.competing_tests
    assert competing.n == 6 and competing.listed_p == "non-relapse mortality by CRS (p = 0.020)"
    sentence = said("_results-other", "text.choose(text.competing_tests.any", gray)
    assert (
        sentence
        == "of the 6 Gray's tests by CRS, ICANS or severity group, 1 reached statistical significance (non-relapse mortality by CRS (p = 0.020; lower with CRS, 24-month 18.7% vs 24.8%))"
    )


def test_one_list_joining_rule_with_the_serial_comma():
    assert and_list([]) == "" and and_list(["a"]) == "a" and and_list(["a", "b"]) == "a and b"
    assert and_list(["a", "b", "c"]) == "a, b, and c"
    assert and_list(["a", "b", "c"], "or") == "a, b, or c"
    assert and_list(["a, x", "b", "c"], separator="; ") == "a, x; b; and c"
    narrative = (ROOT / "analysis" / "report" / "narrative").glob("*.py")
    hand_rolled = [p.name for p in narrative if re.search(r'\+ " and " \+|"; and "', p.read_text(encoding="utf-8"))]
    assert not hand_rolled


# --------------------------------------------------------------------------- 21, 31: tables


def test_no_footnote_of_the_p_value_table_begins_with_a_numeral(demo):
    table = tables.pvalue_table(demo.results.pvalues)
    footnotes = " ".join(text for _, text in table._spec.footnotes)
    assert "distinct p-values in" in footnotes and "repeat a test of another row" in footnotes
    assert not sentences_starting_with_numeral(footnotes)


def test_the_data_summary_prints_the_cut_off_as_month_and_year(demo):
    rows = {row[0].text: row[1].text for row in tables.data_summary(demo.results)._spec.rows}
    assert rows["Data cut-off"] == "March 2023"


# --------------------------------------------------------------------------- 2, 28, 30: the study file


def test_an_old_template_title_and_author_are_listed_as_to_be_completed(tmp_path):
    study = tmp_path / "study.yml"
    study.write_text(
        'title: "CAR-T cell therapy cohort report"\n'
        'authors:\n  - name: "Your Name"\n    affiliation: "Your institution"\n    corresponding: true\n'
        f"data: {{cohort: {COHORT}, cutoff: {CUTOFF}}}\n",
        encoding="utf-8",
    )
    settings = resolve_study(study)
    assert settings.title == TEMPLATE_TITLE
    shown = settings.metadata_block().replace("\\\\", "\\") + settings.byline()  # YAML's doubled backslashes
    assert "Your Name" not in shown and "Your institution" not in shown
    listed = placeholders(re.sub(r"\\(.)", r"\1", shown))
    assert {p for p in listed} >= {
        TEMPLATE_TITLE[len("[to be completed: ") : -1],
        TEMPLATE_AUTHOR[len("[to be completed: ") : -1],
        TEMPLATE_AFFILIATION[len("[to be completed: ") : -1],
    }


def test_the_quoted_placeholder_form_is_not_counted():
    text = (
        'The study file does not yet declare the following; each shows as "[to be completed: …]" '
        "[to be completed: the funding (declarations: funding)] [to be completed: ...]"
    )
    assert placeholders(text) == ["the funding (declarations: funding)"]


def test_the_setting_and_product_sentences_read_as_english(tmp_path):
    import yaml

    example = yaml.safe_load((ROOT / "study.example.yml").read_text(encoding="utf-8"))
    setting = example["declarations"]["setting"]
    assert not re.match(r"(one|two|three|four|five|\d)\b", setting)  # "The 2 participating centers were two ..."
    methods = (SECTIONS / "_methods.qmd").read_text(encoding="utf-8")
    assert '`{python} text.declared("setting")` in `{python} text.declared("region")`.' in methods
    study = tmp_path / "study.yml"
    study.write_text(
        f"data: {{cohort: {COHORT}, cutoff: {CUTOFF}}}\n"
        "product: {name: tisagenlecleucel, target: CD19, costimulatory_domain: 4-1BB, vector: lentiviral}\n",
        encoding="utf-8",
    )
    sentence = re.sub(r"\\(.)", r"\1", resolve_study(study).product_sentence())
    assert sentence == (
        "Patients received CD19-directed CAR-T cells (tisagenlecleucel; 4-1BB co-stimulation, lentiviral transduction)."
    )


# --------------------------------------------------------------------------- 33


def test_no_plan_is_claimed_beyond_what_the_study_file_declares():
    methods = (SECTIONS / "_methods.qmd").read_text(encoding="utf-8")
    discussion = (SECTIONS / "_discussion.qmd").read_text(encoding="utf-8")
    assert "is the one stated in this section" not in methods and "primary endpoint" not in methods
    assert "primary analysis" not in discussion and "study's analysis plan" not in discussion


# --------------------------------------------------------------------------- 23, 25, 26: displays


def test_captions_explain_no_case_that_may_not_apply():
    from conftest import captions

    caps = [c for doc in ("report", "supplement") for c in captions(document=doc)["fig-cap"]]
    flow = next(c for c in caps if c.startswith("Cohort flow"))
    for conditional in ("where the study declares", "When transplants", "where the registry records", "or without MRD"):
        assert conditional not in flow
    response = [c for c in caps if c.startswith("Response rates at day 30")]
    assert len(response) == 2
    for caption in response:
        assert "where the registry records MRD" not in caption and "the test that gave it" in caption


def test_a_reason_shared_by_every_model_is_said_once(demo):
    table = tables.table2(demo.results.centers.cox)
    notes = [text for _, text in table._spec.footnotes if "roportional-hazards" in text]
    assert notes == [
        "Proportional-hazards assumption: not tested in any of these models "
        "(proportional-hazards test not computed for a model stratified by center)."
    ]
    # the study's own models still give each model's p
    main = " ".join(text for _, text in tables.table2(demo.results.cox)._spec.footnotes)
    assert "Overall survival p = " in main and "Leukemia-free survival p = " in main


def _legend(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_the_severity_groups_are_shown_none_then_grade_1_2_then_grade_3(demo):
    from analysis.report import figures

    results = demo.results
    ordered = ["No CRS or ICANS", "Others (grade 1–2 CRS and/or ICANS)", "Grade ≥3 CRS or severe ICANS"]
    response = figures.response_bars(
        results.response[("cr", "severity")], results.response[("mrd_negative_cr", "severity")]
    )
    assert _legend(response) == ordered
    assert _legend(figures.km_plot(results.survival[("os", "severity")])) == ordered
    assert _legend(figures.cif_plot(results.competing["severity"], "relapse")) == ordered
    strip = figures.peak_strip(results.kinetics_peak["severity"], results.kinetics_values("severity"))
    ticks = [t.get_text().split()[0] for t in strip.axes[0].get_xticklabels()]
    assert ticks == [o.split()[0] for o in ordered]
    # an unordered grouping keeps the registry's order
    assert _legend(figures.response_bars(results.response[("cr", "crs")])) == ["No CRS", "CRS"]


def test_each_p_of_the_response_figure_names_its_test(demo):
    from analysis.registry.concepts import TESTS
    from analysis.report import figures

    results = demo.results
    for grouping in ("crs", "severity"):
        cr, mrd = results.response[("cr", grouping)], results.response[("mrd_negative_cr", grouping)]
        texts = [t.get_text() for t in figures.response_bars(cr, mrd).axes[0].texts]
        for comparison in (cr, mrd):
            assert f"{TESTS[comparison.result.test].name} {fmt_p(comparison.result.p)}" in texts
