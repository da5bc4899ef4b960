"""The single home of every variable, endpoint, test and option of the report.

Each concept is declared here once, as a frozen dataclass in a dict keyed by its machine
key (the model is :data:`analysis.registry.groups.GROUPINGS`, the one home of the groupings).
The statistics, the tables, the figures, the prose helpers (``text.…``) and the JSON
export all read these entries; none of them types a title, a label or a default of its
own, so a word changed here changes everywhere it is shown.

- :data:`ENDPOINTS` — time-to-event endpoints (OS, LFS, EFS): title, abbreviation, the
  prepared cohort's time and event columns, the time axis and the population.
- :data:`RESPONSES` — response endpoints (CR, MRD-negative CR): label and column.
- :data:`VARIABLES` — the Table 1 characteristics, in display order: row label,
  phrase used in prose, kind and category order.
- :data:`TESTS` — the statistical tests a comparison can report: name in a figure,
  footnote in a table; :data:`TWO_GROUP_RESPONSE_TESTS` — which of them compares a response
  rate between two groups (the one the printed odds ratio's CI inverts).
- :data:`OPTIONS` — the study file's ``analysis:`` options with their defaults and
  bounds (:class:`analysis.inputs.studyfile.AnalysisOptions` is built from them).
- :data:`KINETIC_METRICS` — the per-patient CAR-T kinetics summaries (Cmax, Tmax, AUC(0–28)).
- :data:`NO_KINETICS_REASON` — why there is no kinetics analysis.
- :data:`SOFTWARE` — the packages whose versions the report lists (and the execution
  cache keys on).

To add a Table 1 variable: make sure the data contract provides the column, with its
unit (``analysis/registry/contract.py``, ``docs/data-dictionary.md``), then add one ``Variable``
line to :data:`VARIABLES` at the row where Table 1 should show it (the row label is the
name and the contract's unit: "LDH, U/L")::

    Variable("ldh_u_l", "LDH", "lactate dehydrogenase", CONTINUOUS),

It is then compared by every Table 1 grouping (:func:`analysis.report.results.compute_results`),
shown in Table 1 (:func:`analysis.report.tables.table1`), exported in ``table1`` of the JSON,
named in prose by ``text.table1_differences`` and accepted by ``text.p("ldh_u_l",
by="crs")``. A categorical variable lists its categories in display order, each with
its Table 1 sub-row label; a yes/no variable (kind :data:`YES_NO`) shows one row, the
number of "yes" (``tests/test_concepts.py`` adds one this way). A response needs its
boolean column in the prepared cohort (:func:`analysis.registry.groups.prepare_cohort`); an endpoint
also its time and event columns there and its landmark cohort
(:func:`analysis.estimators.landmark.landmark_cohort`); an option its field in
:class:`analysis.inputs.studyfile.AnalysisOptions` (a test checks that the two match).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint of the prepared cohort (:func:`analysis.registry.groups.prepare_cohort`)."""

    key: str
    title: str  # "Overall survival": table blocks, figure titles
    abbreviation: str  # "OS": inside sentences
    time_column: str
    event_column: str
    time_axis: str  # "Months since infusion": where the clock starts, as an axis label
    population: str  # "all patients": whom the endpoint is defined for
    event_phrase: str = "death"  # what it counts, in "HR ... for death"

    @property
    def columns(self) -> tuple[str, str]:
        return (self.time_column, self.event_column)

    @property
    def survival_axis(self) -> str:
        """The y-axis label of its Kaplan–Meier plots: 'Overall survival (%)'."""
        return f"{self.title} (%)"


ENDPOINTS: dict[str, Endpoint] = {
    e.key: e
    for e in (
        Endpoint("os", "Overall survival", "OS", "os_months", "os_event", "Months since infusion", "all patients"),
        Endpoint(
            "lfs",
            "Leukemia-free survival",
            "LFS",
            "lfs_months",
            "lfs_event",
            "Months since CR",
            "patients in CR",
            "relapse or death",
        ),
        Endpoint(
            "efs",
            "Event-free survival",
            "EFS",
            "efs_months",
            "efs_event",
            "Months since infusion",
            "all patients",
            "no CR at day 30, relapse or death",
        ),
    )
}


@dataclass(frozen=True)
class Response:
    """A response at the day-30 assessment; the denominator is every patient whose
    response is known: every infused patient (a patient who died or was not followed up
    before the assessment is not in CR, :data:`RESPONSE_RULE`) except one followed beyond it
    whose assessment was not done (left out, never counted as a responder or a non-responder)."""

    key: str
    label: str  # "MRD-negative CR": figures, prose
    column: str  # nullable boolean column of the prepared cohort (missing: not assessed)
    #: contract columns it needs; when the registry does not collect one, it is not reported
    needs: tuple[str, ...] = ("cr_day30",)


#: The one rule for the day-30 response of an infused patient who died, or was not followed
#: up, before the assessment (intention to treat on every infused patient): such a patient
#: counts as not in CR. :func:`analysis.registry.groups.prepare_cohort` applies it (also to a
#: response recorded as "not done"), the flow diagram draws it and the Methods state it in
#: these words; only the response of a patient followed beyond the assessment can be "not
#: evaluable" (left out of the rates).
RESPONSE_RULE = (
    "a patient who died or left follow-up before the day-30 assessment counted as not in CR "
    "(intention to treat: every infused patient is in the response rates)"
)

RESPONSES: dict[str, Response] = {
    r.key: r
    for r in (
        Response("cr", "CR", "cr_response"),
        Response("mrd_negative_cr", "MRD-negative CR", "mrd_negative_cr", ("cr_day30", "mrd_negative")),
    )
}


def reported_responses(not_collected=()) -> tuple[str, ...]:
    """The responses the report compares: those whose contract columns (:attr:`Response.needs`)
    the registry collects (MRD-negative CR drops out when ``mrd_negative`` is not collected). The
    one rule the p-value table's families and the prose's families of tests follow."""
    missing = set(not_collected)
    return tuple(key for key, r in RESPONSES.items() if not missing & set(r.needs))


#: Kinds of a Table 1 variable: median (range) and a rank test; n (%) per category and
#: chi-square/Fisher; a categorical yes/no variable shown as one row (the "yes" count).
CONTINUOUS, CATEGORICAL, YES_NO = "continuous", "categorical", "yes_no"


@dataclass(frozen=True)
class Category:
    value: str  # as in the data contract
    label: str  # Table 1 sub-row label


@dataclass(frozen=True)
class Variable:
    """A patient characteristic of Table 1."""

    key: str  # column of the data contract
    name: str  # Table 1 row label without its unit: "Peak IL-6"
    phrase: str  # inside a sentence: "peak IL-6"
    kind: str  # CONTINUOUS, CATEGORICAL or YES_NO
    categories: tuple[Category, ...] = ()  # CATEGORICAL: display order and sub-row labels
    #: Measured or given after the infusion (the course table), not a baseline characteristic
    after_infusion: bool = False
    #: A treatment of these toxicities: given by indication, so not tested between patients
    #: with and without them (a patient without the toxicity has no reason to receive it)
    treats: tuple[str, ...] = ()

    def tested_by(self, grouping: str) -> bool:
        """Whether the report tests this characteristic between the groups of ``grouping``: a
        treatment of a toxicity is tested neither by that toxicity, nor by concurrent CRS and
        ICANS, nor by a grouping with a level where none of the toxicities it treats can occur
        (the severity group "No CRS or ICANS": a group that cannot have the characteristic;
        :data:`analysis.registry.groups.WITHOUT_TOXICITY`) — the one definition the tables, the
        p-value table and its counts follow."""
        from analysis.registry.groups import WITHOUT_TOXICITY

        if not self.treats:
            return True
        without = WITHOUT_TOXICITY.get(grouping, ())
        return grouping not in self.treats and grouping != "concurrent" and not set(self.treats) <= set(without)

    @property
    def label(self) -> str:
        """Table 1 row label: the name and the unit the data contract declares for the
        column ("Peak IL-6"); the unit has one home, :mod:`analysis.registry.contract`."""
        from analysis.registry.contract import unit_of  # here: reading the registry needs no pandera

        unit = unit_of(self.key)
        return f"{self.name}, {unit}" if unit else self.name

    @property
    def compared_as(self) -> str:
        """The comparison run on it: 'continuous' or 'categorical' (a yes/no is categorical)."""
        return CONTINUOUS if self.kind == CONTINUOUS else CATEGORICAL

    @property
    def rows(self) -> tuple[Category, ...]:
        """What Table 1 shows under the variable's row: its categories, or for a yes/no
        variable the single "yes" count on the row itself."""
        return (Category("yes", ""),) if self.kind == YES_NO else self.categories


VARIABLES: dict[str, Variable] = {
    v.key: v
    for v in (
        Variable("age", "Age", "age", CONTINUOUS),
        Variable("sex", "Sex", "sex", CATEGORICAL, (Category("M", "Male"), Category("F", "Female"))),
        Variable("ph_positive", "Ph-positive", "Ph-chromosome status", YES_NO),
        Variable("il6_peak_pg_ml", "Peak IL-6", "peak IL-6", CONTINUOUS, after_infusion=True),
        Variable("ferritin_peak_ng_ml", "Peak ferritin", "peak ferritin", CONTINUOUS, after_infusion=True),
        Variable("prior_lines", "Prior therapy lines", "number of prior therapy lines", CONTINUOUS),
        Variable(
            "disease_status",
            "Disease status",
            "disease status",
            CATEGORICAL,
            (Category("relapsed", "Relapsed"), Category("primary_refractory", "Primary refractory")),
        ),
        Variable("n_relapses", "Number of relapses", "number of relapses", CONTINUOUS),
        Variable(
            "steroids", "Received steroids", "corticosteroid use", YES_NO, after_infusion=True, treats=("crs", "icans")
        ),
        Variable(
            "tocilizumab",
            "Received tocilizumab",
            "tocilizumab use",
            YES_NO,
            after_infusion=True,
            treats=("crs", "icans"),
        ),
        Variable("bm_blasts_pct", "BM blasts", "bone-marrow blasts", CONTINUOUS),
        Variable("cart_dose_1e6_per_kg", "CAR-T dose", "infused CAR-T cell dose", CONTINUOUS),
    )
}


#: What the patients with CAR-T kinetics data are compared with the others on (how the
#: kinetics subset was selected, STROBE 12c/14a): the baseline characteristics of Table 1 and
#: the occurrence of the two toxicities (columns of the prepared cohort).
KINETICS_SELECTION_VARIABLES: dict[str, Variable] = {
    **{k: v for k, v in VARIABLES.items() if not v.after_infusion},
    "crs_any": Variable("crs_any", "CRS", "CRS", YES_NO),
    "icans_any": Variable("icans_any", "ICANS", "ICANS", YES_NO),
}


#: The LBCL and MM profiles' own characteristics (:mod:`analysis.registry.diseases`; the shared
#: ones are :data:`VARIABLES`): the name in tables and model terms, the phrase in prose. One
#: definition, read by Table 1, the multivariable model's terms (:func:`covariate_name`) and the prose.
DISEASE_VARIABLES: dict[str, Variable] = {
    v.key: v
    for v in (
        Variable("ecog", "ECOG performance status", "ECOG performance status", CONTINUOUS),
        Variable("ann_arbor_stage", "Ann Arbor stage", "Ann Arbor stage", CONTINUOUS),
        Variable("ldh_elevated", "Elevated LDH", "elevated LDH", YES_NO),
        Variable("bulky_disease", "Bulky disease", "bulky disease", YES_NO),
        Variable("ipi", "IPI score", "IPI score", CONTINUOUS),
        Variable("bridging", "Bridging therapy", "bridging therapy", YES_NO),
        Variable("r_iss", "R-ISS stage", "R-ISS stage", CONTINUOUS),
        Variable("high_risk_cytogenetics", "High-risk cytogenetics", "high-risk cytogenetics", YES_NO),
        Variable("extramedullary", "Extramedullary disease", "extramedullary disease", YES_NO),
        Variable("triple_class_refractory", "Triple-class refractory", "triple-class refractory disease", YES_NO),
    )
}


def variable_of(column: str) -> Variable | None:
    """The characteristic of a cohort column of any profile (B-ALL's registry first)."""
    return VARIABLES.get(column) or DISEASE_VARIABLES.get(column)


#: How a model term names a covariate whose Table 1 name reads badly beside a cut-off or
#: a unit ("BM blasts ≥20% vs <20%", not "BM blasts before CAR-T ≥20% ...").
MODEL_NAMES = {"bm_blasts_pct": "BM blasts"}


def covariate_name(column: str) -> str:
    """The name of a cohort column in a model's term label: :data:`MODEL_NAMES`, else the
    Table 1 name (of any disease profile), else the column with spaces ('dex equiv cum mg')."""
    if column in MODEL_NAMES:
        return MODEL_NAMES[column]
    variable = variable_of(column)
    if variable is not None:
        return variable.name
    return column.replace("_", " ")


#: How a sentence names a yes/no covariate's coefficient where the Table 1 phrase names the
#: variable, not its "yes" ("HR 3.27 for Ph-positive disease", not "... for Ph-chromosome status").
MODEL_PHRASES = {"ph_positive": "Ph-positive disease"}


def covariate_phrase(column: str, coefficient: bool = False) -> str:
    """A cohort column inside a sentence: the Table 1 phrase ('bone-marrow blasts'), else the
    column with spaces; ``coefficient``: its yes-versus-no coefficient (:data:`MODEL_PHRASES`)."""
    if coefficient and column in MODEL_PHRASES:
        return MODEL_PHRASES[column]
    variable = variable_of(column)
    return variable.phrase if variable is not None else column.replace("_", " ")


@dataclass(frozen=True)
class StatisticalTest:
    """A test named by ``TestResult.test``."""

    key: str
    name: str  # short, beside a p in a figure: "Mann–Whitney p = 0.342"
    footnote: str  # in full, in a table's footnote


TESTS: dict[str, StatisticalTest] = {
    t.key: t
    for t in (
        StatisticalTest("mann_whitney", "Mann–Whitney", "Mann–Whitney U test"),
        StatisticalTest("kruskal_wallis", "Kruskal–Wallis", "Kruskal–Wallis test"),
        StatisticalTest("chi_square", "Chi-square", "Pearson chi-square test without continuity correction"),
        StatisticalTest("fisher_exact", "Fisher's exact", "Fisher's exact test"),
        StatisticalTest("cochran_armitage", "Cochran–Armitage trend", "Cochran–Armitage test for trend in proportions"),
        StatisticalTest(
            "fisher_central",
            "Fisher's exact",
            "Fisher's exact test, two-sided p twice the smaller one-sided p (the test the OR's exact CI inverts)",
        ),
        StatisticalTest(
            "firth_lr",
            "Firth LR",
            "penalized likelihood-ratio test of Firth's logistic regression (the test its profile CI inverts)",
        ),
    )
}

#: The test of a response rate between the two groups of a two-level grouping, where the
#: report prints an odds ratio with its 95% CI beside the p: the test whose inversion is
#: that CI, so that p < 0.05 exactly when the CI excludes 1 and a reader never sees a
#: significant p beside a CI that includes 1 (Fay 2010, Biostatistics 11:373). Keyed by the
#: odds ratio shown (``ResponseEffect.odds_ratio_method``): the conditional MLE with R
#: ``fisher.test``'s exact CI, which inverts the two one-sided conditional tests, goes with
#: the central Fisher p, ``min(1, 2 * min(P[X <= x], P[X >= x]))``; with a zero cell, Firth's
#: odds ratio with its profile penalized-likelihood CI goes with the penalized
#: likelihood-ratio test (R ``logistf``'s p). Groupings of three or more levels print no
#: odds ratio and keep the rule of Table 1 (chi-square, or Fisher's exact test when an
#: expected count is below 5).
TWO_GROUP_RESPONSE_TESTS: dict[str, str] = {"conditional_mle": "fisher_central", "firth": "firth_lr"}


@dataclass(frozen=True)
class Option:
    """An option of the study file's ``analysis:`` section: the analysis plan.

    ``kind`` is the type a value must have (a pydantic annotation; default: the type of
    ``default``); ``choices`` the valid values (for a list, its items; for a mapping, its
    keys), a tuple or a function returning one (read when a study file is checked: the
    data contract and the endpoints are read lazily); a name outside them is an error that
    lists them. ``kind`` "nullable int" etc. allow ``null`` (the option then does nothing).
    """

    key: str
    default: Any
    description: str
    #: pydantic Field constraints: (("gt", 0), ("lt", 0.5))
    bounds: tuple[tuple[str, float], ...] = ()
    kind: Any = None
    choices: tuple[str, ...] | Callable[..., tuple[str, ...]] | None = None
    #: a further check of a value, returning it (normalised): a ValueError says what is wrong
    check: Callable[[Any], Any] | None = None
    #: the valid names depend on the study's disease profile: ``choices`` takes its key
    #: (``analysis.registry.diseases.DISEASES``; None: B-ALL)
    by_disease: bool = False
    #: the disease profiles whose report reads the option (``analysis.registry.diseases.DISEASES``
    #: keys); None: every profile. A study file of another profile that sets it is refused, so
    #: that no setting is silently ignored.
    diseases: tuple[str, ...] | None = None

    def valid(self, disease: str | None = None) -> tuple[str, ...]:
        """The valid names ('' when any value of the kind is valid); ``disease``: the profile
        whose names an option :attr:`by_disease` takes (None: B-ALL's)."""
        if self.choices is None:
            return ()
        if not callable(self.choices):
            return tuple(self.choices)
        return tuple(self.choices(disease) if self.by_disease else self.choices())


#: Why a survival comparison's p and its hazard ratios' 95% CIs can disagree (review 29,
#: finding 5): the one statement of it, in the Methods and under every table that prints both.
#: The p is the log-rank test (a score test, all groups of the grouping at once); each HR's CI
#: is the Wald interval of that group against the reference in a univariable Cox model.
SURVIVAL_P_AND_CI = (
    "Log-rank p-values test all groups of a grouping together, and each hazard ratio's 95% CI is a Wald "
    "interval for one group against the reference; the two tests can disagree near p = 0.05, and with three "
    "groups a CI can exclude 1 while the joint test is not significant."
)


#: Why the p-value printed beside a difference in response rates and the difference's 95% CI can
#: disagree (review 30, finding 2: 'p < 0.05 exactly when the interval excludes 1' was read as
#: true of the difference's interval, which excluded 0 beside Fisher's p = 0.080): the one
#: statement, in the Methods; ``{alpha}``: the study's. The sentence of the Results that names
#: each disagreement is :meth:`analysis.report.narrative.response.Response.difference_test_disagreement`.
RESPONSE_P_AND_CI = (
    "p < {alpha} exactly when the odds ratio's interval excludes 1; the difference's interval does not invert "
    "the test and can disagree with it near p = {alpha}."
)


#: The method of the absolute differences in survival at fixed times (STROBE 16c; review 30,
#: finding 5: the supplement described it both as a Wald interval from the sum of Greenwood
#: variances and as Newcombe's MOVER, and its table printed log-scale group intervals beside a
#: difference built from log-log ones): the one statement, in the supplement's Methods; the
#: table prints the group intervals the difference is built from
#: (:func:`analysis.estimators.absolute.difference_of`).
SURVIVAL_DIFFERENCE_METHOD = (
    "Each group's Kaplan–Meier survival has Greenwood's standard error and a 95% confidence interval on the "
    "complementary log-log scale, which stays within 0–100%; the difference from the reference group has the "
    "95% confidence interval of Newcombe's hybrid score method (method 10) with these intervals in place of the "
    "Wilson intervals (the method of variance estimates recovery of Zou and Donner), so that it stays within "
    "±100 percentage points. The survival tables and curves give the same estimates with log-scale intervals, "
    "which differ slightly."
)
#: The transform of the group intervals printed beside a survival difference (table footnote).
SURVIVAL_DIFFERENCE_CI = "complementary log-log"


#: How printed differences relate to printed values (review 29, finding 32): the one
#: statement, in the Methods and under the table of absolute survival differences.
ROUNDING_RULE = "Differences used unrounded estimates."


#: Column kinds of the data contract a Cox model can adjust for (text and dates cannot).
MODEL_KINDS = ("number", "integer", "boolean", "sex", "status")


def covariate_columns(disease: str | None = None) -> tuple[str, ...]:
    """Cohort columns of B-ALL's data contract a multivariable model can name as covariates
    (``disease`` other than B-ALL: :mod:`analysis.registry.diseases`, which imports this
    module, registers :func:`analysis.registry.diseases.covariate_columns` as the option's
    choices, for every profile)."""
    from analysis.registry.contract import COHORT_FIELDS  # lazily: reading the registry needs no pandas

    return tuple(f.name for f in COHORT_FIELDS if f.kind in MODEL_KINDS)


def numeric_columns(disease: str | None = None) -> tuple[str, ...]:
    """Cohort columns of B-ALL's data contract holding numbers: those a covariate cut-off can
    apply to (another profile's: registered by :mod:`analysis.registry.diseases`, as for
    :func:`covariate_columns`)."""
    from analysis.registry.contract import COHORT_FIELDS

    return tuple(f.name for f in COHORT_FIELDS if f.kind in ("number", "integer"))


def _endpoint_keys() -> tuple[str, ...]:
    return tuple(ENDPOINTS)


def _exposure_keys() -> tuple[str, ...]:
    from analysis.registry.groups import TOXICITY_GROUPINGS

    return TOXICITY_GROUPINGS


#: Response criteria the day-30 CR can follow (``response_criteria``): key -> what Methods says.
RESPONSE_CRITERIA = {
    "cr_cri": "regardless of blood count recovery (CR or CR with incomplete count recovery, CRi)",
    "cr": "with recovery of blood counts (absolute neutrophil count ≥1.0 × 10⁹/L and platelets ≥100 × 10⁹/L)",
}
#: MRD methods (``mrd_method``): key -> how Methods names it.
MRD_METHODS = {
    "flow": "multicolor flow cytometry",
    "ngs": "next-generation sequencing of immunoglobulin gene rearrangements",
    "pcr": "allele-specific quantitative PCR of immunoglobulin/T-cell receptor rearrangements",
}
#: Toxicity grading systems (``toxicity_grading``): key -> how Methods names it. ASTCT is
#: cited in the section (it is the system of the publication); the others are named.
TOXICITY_GRADING = {
    "astct": "the ASTCT consensus criteria",
    "ctcae": "the Common Terminology Criteria for Adverse Events (CTCAE) version 5.0",
    "lee2014": "the revised CRS grading system of Lee et al. (2014) and CTCAE for neurotoxicity",
    "penn": "the Penn CRS grading scale and CTCAE for neurotoxicity",
}
#: Each grading system's short name, for the abstract ("CRS and ICANS (ASTCT grading)") and
#: the Discussion's limits of generalisability.
TOXICITY_GRADING_SHORT = {"astct": "ASTCT", "ctcae": "CTCAE", "lee2014": "Lee 2014", "penn": "Penn"}

#: The baseline confounders adjusted for by default: measured before infusion, so they
#: cannot be consequences of CRS/ICANS (corticosteroids and tocilizumab are).
BASELINE_COVARIATES = ("age", "bm_blasts_pct", "ph_positive", "cart_dose_1e6_per_kg")


OPTIONS: dict[str, Option] = {
    o.key: o
    for o in (
        Option("alpha", 0.05, "two-sided significance level of every verdict in the prose", (("gt", 0), ("lt", 0.5))),
        Option(
            "primary_endpoint",
            "os",
            "the primary endpoint: its model is the abstract's headline",
            choices=_endpoint_keys,
            diseases=("b-all",),
        ),
        Option(
            "exposure",
            "severity",
            "the exposure of the multivariable model: a toxicity grouping, each level against no toxicity",
            choices=_exposure_keys,
            diseases=("b-all",),
        ),
        Option(
            "covariates",
            list(BASELINE_COVARIATES),
            "the adjustment covariates of the multivariable model: data-contract columns of the study's "
            "disease profile measured before infusion (a column without any value is left out and Methods says "
            "so); LBCL and MM without it: the profile's own baseline covariates",
            kind=list[str],
            choices=covariate_columns,
            by_disease=True,
        ),
        Option(
            "covariate_cutoffs",
            {"bm_blasts_pct": 20},
            "covariates entered as 'at or above the cut-off' versus below instead of per unit",
            kind=dict[str, float],
            choices=numeric_columns,
            by_disease=True,
        ),
        Option(
            "landmark_day", 30, "landmark (days after infusion) for comparisons by toxicity", (("ge", 0), ("le", 3650))
        ),
        Option(
            "sensitivity_landmark_day",
            90,
            "a second landmark (days after infusion) for the multivariable landmark model; null: none",
            (("ge", 0), ("le", 3650)),
            kind=int | None,
            diseases=("b-all",),
        ),
        Option(
            "survival_times_months",
            [12, 24],
            "times (months from the endpoint's start) at which the Kaplan–Meier survival of each group and "
            "its absolute difference from the reference group are reported (STROBE 16c)",
            kind=list[float],
            check=lambda times: survival_times(times),
            diseases=("b-all",),
        ),
        Option(
            "response_criteria",
            "cr_cri",
            "what a day-30 CR required: 'cr_cri' (regardless of count recovery) or 'cr' (with count recovery)",
            choices=tuple(RESPONSE_CRITERIA),
            diseases=("b-all",),
        ),
        Option(
            "mrd_method",
            "flow",
            "how MRD was measured: 'flow', 'ngs' or 'pcr'",
            choices=tuple(MRD_METHODS),
            diseases=("b-all",),
        ),
        Option(
            "mrd_threshold_pct",
            0.01,
            "MRD negativity: fewer leukemic cells than this percentage",
            (("gt", 0), ("lt", 5)),
            diseases=("b-all",),
        ),
        Option(
            "toxicity_grading",
            "astct",
            "the CRS/ICANS grading system: 'astct', 'ctcae', 'lee2014' or 'penn'",
            choices=tuple(TOXICITY_GRADING),
        ),
        Option(
            "min_cell_size",
            5,
            "fewest patients a row of the per-center supplement shows (smaller centers are pooled)",
            (("ge", 1), ("le", 1000)),
            diseases=("b-all",),
        ),
        Option(
            "visit_windows",
            {7: 3, 14: 3, 21: 3, 28: 3, 60: 14, 90: 14, 180: 30},
            "kinetics visits for the profiles over time: nominal day after infusion: half-width in days "
            "(a sample counts for the visit whose window holds it; per patient and visit, the sample "
            "closest to the nominal day)",
            kind=dict[int, int],
            # sorted by day; overlapping windows are an error
            check=lambda windows: dict(visit_windows(windows)),
            diseases=("b-all",),
        ),
    )
}


def survival_times(times) -> list[float]:
    """The ``survival_times_months`` option checked: one to six times, each above 0 and at most
    600 months (50 years: 1e9 printed "at 1e+09 months"), none twice; sorted (whole months as
    integers: 12, not 12.0). ValueError says what is wrong."""
    values = list(times)
    if not 1 <= len(values) <= 6:
        raise ValueError(f"give one to six times in months; got {len(values)}")
    if any(isinstance(v, bool) or not 0 < float(v) <= 600 for v in values):
        raise ValueError(f"a time is a number of months above 0 and at most 600; got {values!r}")
    if len(set(float(v) for v in values)) != len(values):
        raise ValueError(f"a time is given twice: {values!r}")
    return sorted(int(v) if float(v).is_integer() else float(v) for v in values)


def visit_windows(windows) -> tuple[tuple[int, int], ...]:
    """The ``visit_windows`` option as ((nominal day, half-width), ...) sorted by day, checked:
    days and half-widths are whole numbers >= 0 and no two windows overlap (a sample would
    belong to both). A mapping ``{7: 3, ...}`` or pairs ``[(7, 3), ...]``; ValueError says what
    is wrong."""
    pairs = list(windows.items()) if hasattr(windows, "items") else [tuple(w) for w in windows]
    if not pairs:
        raise ValueError("at least one visit window is needed")
    out = []
    for pair in pairs:
        if len(pair) != 2 or any(isinstance(v, bool) or not float(v).is_integer() or v < 0 for v in pair):
            raise ValueError(f"a visit window is a day and a half-width, whole numbers >= 0; got {pair!r}")
        out.append((int(pair[0]), int(pair[1])))
    out.sort()
    for (day, within), (next_day, next_within) in zip(out, out[1:]):
        if day == next_day:
            raise ValueError(f"day {day} has two visit windows")
        if day + within >= next_day - next_within:
            raise ValueError(
                f"the visit windows of day {day} (± {within}) and day {next_day} (± {next_within}) "
                "overlap: a sample would belong to both"
            )
    return tuple(out)


@dataclass(frozen=True)
class KineticMetric:
    """A per-patient CAR-T kinetics summary (:func:`analysis.estimators.kinetics.patient_kinetics`)."""

    key: str
    column: str  # column of the per-patient frame
    name: str  # "Cmax": table rows, inside sentences
    description: str  # "peak CAR copies": what it is, in words
    unit: str
    ratio: bool  # effect between groups as a ratio (Hodges–Lehmann on the log scale), else a shift


KINETIC_METRICS: dict[str, KineticMetric] = {
    m.key: m
    for m in (
        KineticMetric("cmax", "peak_copies", "Cmax", "peak CAR copies", "copies/µg DNA", True),
        KineticMetric("tmax", "peak_day", "Tmax", "day of the peak", "days", False),
        KineticMetric(
            "auc", "auc_0_28", "AUC(0–28)", "area under the curve from day 0 to 28", "copies·day/µg DNA", True
        ),
    )
}

#: Why the report has no kinetics analysis (the JSON's reason, the tests' "not estimable (…)").
NO_KINETICS_REASON = "no CAR-T kinetics table was supplied"

#: Packages whose versions the appendix lists (PyPI names); the execution cache keys on them too.
SOFTWARE = ("numpy", "pandas", "scipy", "lifelines", "matplotlib", "great_tables", "pandera")


def outcome_phrase(key: str) -> str:
    """How a sentence names a response or an endpoint: 'MRD-negative CR', 'OS'."""
    return RESPONSES[key].label if key in RESPONSES else ENDPOINTS[key].abbreviation
