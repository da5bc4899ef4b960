"""Disease profiles: what differs between a B-ALL, a lymphoma and a myeloma cohort.

The study file's ``disease:`` (``b-all``, the default, ``lbcl`` or ``mm``) chooses one
:class:`Profile` of :data:`DISEASES`. A profile declares, once:

- its response scale (:class:`Scale`: the levels in order, best first, with their labels
  and the words an export may use for them) and the assessments recorded on it (day 30,
  day 90, best overall response);
- its responder definitions (:class:`Responder`: ORR and CR rate for LBCL; ORR, ≥VGPR,
  ≥CR and MRD-negative ≥CR for MM);
- its time-to-event endpoints (PFS, DoR, OS) and the event that ends a response
  ("progression" where B-ALL says "relapse");
- the default baseline covariates and the Table 1 variables;
- its disease-specific contract columns and cross-column rules (the shared columns —
  identifiers, dates, CRS, ICANS and their treatment — are those of
  :mod:`analysis.registry.contract`, taken by name);
- the Methods wording keys and the vocabulary ``map`` recognizes in an export's headers.

The B-ALL profile names what the existing report (``report.qmd``) already does and
changes nothing in it: its contract is :data:`analysis.registry.contract.COHORT_FIELDS`.
The LBCL and MM profiles are analyzed by :mod:`analysis.report.disease_results` and
rendered by ``report-disease.qmd``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from analysis.registry.concepts import (
    CONTINUOUS,
    DISEASE_VARIABLES,
    ENDPOINTS,
    MODEL_KINDS,
    OPTIONS,
    VARIABLES,
    YES_NO,
    Endpoint,
    Variable,
    variable_of,
)
from analysis.registry.contract import (
    BOOLEAN,
    COHORT_FIELDS,
    COHORT_RULES,
    DATE,
    INTEGER,
    Field,
    Range,
    Rule,
    not_done_column,
)
from analysis.registry.demo_files import DISEASE_DEMO_COHORTS

#: The profile of a study file without ``disease:``.
DEFAULT_DISEASE = "b-all"


@dataclass(frozen=True)
class Level:
    """One level of a response scale."""

    key: str  # as stored in the loaded frame: "CR"
    label: str  # "Complete response"
    words: tuple[str, ...] = ()  # other spellings an export uses, lower case ("complete metabolic response")


@dataclass(frozen=True)
class Scale:
    """An ordered response scale, best level first (the contract column kind of its name)."""

    kind: str  # the contract kind of a column holding it: "lugano"
    name: str  # "Lugano 2014"
    levels: tuple[Level, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    def label(self, key: str) -> str:
        return next(level.label for level in self.levels if level.key == key)

    def score(self, key: str) -> int:
        """Ordinal score, higher is better (the worst level scores 0)."""
        return len(self.levels) - 1 - self.keys.index(key)

    @property
    def words(self) -> dict[str, str]:
        """Every accepted spelling (lower case) -> level key."""
        out: dict[str, str] = {}
        for level in self.levels:
            for word in (level.key.lower(), level.label.lower(), *level.words):
                out[word] = level.key
        return out

    def at_least(self, key: str) -> tuple[str, ...]:
        """The levels as good as ``key`` or better."""
        return self.keys[: self.keys.index(key) + 1]


@dataclass(frozen=True)
class Assessment:
    """A response assessment recorded on the profile's scale."""

    key: str  # "day30"
    column: str  # contract column: "response_day30"
    label: str  # "Day 30": table headers, figure panels
    phrase: str  # "at day 30": inside a sentence
    day: int | None = None  # the day after infusion it is due (None: the best response, at any time)


@dataclass(frozen=True)
class Responder:
    """A binary response derived from the scale: the levels that count as responding."""

    key: str  # "orr"
    label: str  # "Overall response": table rows, figure titles
    abbreviation: str  # "ORR": inside sentences
    levels: tuple[str, ...]  # scale keys counted as responders
    #: when set, the responder is also MRD-negative (the contract column), and the
    #: denominator is every patient with a known response whose MRD is known or not needed
    mrd_column: str | None = None


@dataclass(frozen=True)
class Demo:
    """The bundled synthetic cohort of a profile and the publication it is calibrated to."""

    cohort: str  # path relative to the project folder
    cutoff: str
    title: str
    citation: str  # bibliography key of references.bib
    source: str  # "ZUMA-1 (Neelapu et al., N Engl J Med 2017)"
    product: tuple[tuple[str, str], ...] = ()  # what the demo's Methods say about the product


@dataclass(frozen=True)
class Profile:
    key: str  # "lbcl"
    name: str  # "large B-cell lymphoma": inside sentences
    abbreviation: str  # "LBCL"
    scale: Scale | None
    assessments: tuple[Assessment, ...]
    primary_assessment: str  # the assessment whose rates are the headline ("best")
    responders: tuple[Responder, ...]
    endpoints: tuple[Endpoint, ...]
    #: the event ending a response and PFS: "progression" (B-ALL: "relapse")
    progression: str
    #: the baseline confounders of the multivariable model (those with a value in the data are used)
    covariates: tuple[str, ...]
    fields: tuple[Field, ...]  # the full cohort contract
    rules: tuple[Rule, ...]
    #: Table 1: (column, label, kind) with kind "continuous", "yes_no" or "ordinal"
    table1: tuple[tuple[str, str, str], ...] = ()
    #: Methods wording (keys used by sections/disease/*.qmd through text.methods(key))
    methods: dict[str, str] = field(default_factory=dict)
    #: header spellings ``map`` recognises for the profile's columns (lower case)
    vocabulary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    demo: Demo | None = None
    #: covariates entered as "at or above the cut-off vs below" (as Table 1 shows them: stage III–IV)
    covariate_cutoffs: tuple[tuple[str, float], ...] = ()
    #: the Introduction's sentences of the profile, with their citations (keys used by
    #: sections/disease/_introduction.qmd through text.introduction(key): "activity", "toxicity")
    introduction: dict[str, str] = field(default_factory=dict)
    #: the effect of CAR-T cells on the disease, inside a sentence: "anti-lymphoma"
    effect: str = "antitumor"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def responder(self, key: str) -> Responder:
        return next(r for r in self.responders if r.key == key)

    def assessment(self, key: str) -> Assessment:
        return next(a for a in self.assessments if a.key == key)

    def endpoint(self, key: str) -> Endpoint:
        return next(e for e in self.endpoints if e.key == key)

    @property
    def baseline_table1(self) -> tuple[tuple[str, str, str], ...]:
        """Table 1's rows known at infusion (the treatments of CRS/ICANS are given after it)."""
        return tuple(row for row in self.table1 if not (row[0] in VARIABLES and VARIABLES[row[0]].after_infusion))

    @property
    def course_table(self) -> tuple[tuple[str, str, str], ...]:
        """The rows of the course after infusion (corticosteroids and tocilizumab, given because
        of CRS or ICANS): not baseline characteristics, shown in a table of their own."""
        return tuple(row for row in self.table1 if row not in self.baseline_table1)

    def table1_variable(self, column: str) -> Variable:
        """A Table 1 row as a :class:`~analysis.registry.concepts.Variable` (its label and kind):
        a count row ("stage III–IV", yes/no) is a yes/no variable of the row's flag."""
        label, kind = next((label, kind) for c, label, kind in self.table1 if c == column)
        if column in VARIABLES:  # a characteristic every profile shares (age, prior lines): its label has its unit
            return VARIABLES[column]
        known = variable_of(column)
        phrase = known.phrase if known is not None else label.lower()
        return Variable(column, label, phrase, CONTINUOUS if kind == "continuous" else YES_NO)


# --------------------------------------------------------------------------- scales

LUGANO = Scale(
    "lugano",
    "Lugano 2014",
    (
        Level("CR", "Complete response", ("complete metabolic response", "cmr", "complete remission")),
        Level("PR", "Partial response", ("partial metabolic response", "pmr", "partial remission")),
        Level("SD", "Stable disease", ("no metabolic response", "nmr", "stable")),
        Level("PD", "Progressive disease", ("progressive metabolic disease", "pmd", "progression")),
    ),
)

IMWG = Scale(
    "imwg",
    "IMWG 2016",
    (
        Level("sCR", "Stringent complete response", ("stringent cr", "s-cr", "scr")),
        Level("CR", "Complete response", ("complete remission",)),
        Level("VGPR", "Very good partial response", ("very good pr",)),
        Level("PR", "Partial response", ("partial remission",)),
        Level("MR", "Minimal response", ("minor response",)),
        Level("SD", "Stable disease", ("stable",)),
        Level("PD", "Progressive disease", ("progression",)),
    ),
)

#: Contract kinds of the response scales: kind -> scale (the readers parse them as words).
SCALES: dict[str, Scale] = {s.kind: s for s in (LUGANO, IMWG)}

# --------------------------------------------------------------------------- contract

_SHARED = {f.name: f for f in COHORT_FIELDS}


def _shared(*names: str, **changes) -> tuple[Field, ...]:
    """Columns of the B-ALL contract reused as they are (``changes``: per-name replacements)."""
    return tuple(replace(_SHARED[n], **changes[n]) if n in changes else _SHARED[n] for n in names)


_HEAD = _shared("patient_id", "center", "infusion_date", "age", "sex")
_TOXICITY = _shared(
    "crs_grade", "crs_onset_day", "icans_grade", "icans_onset_day", "seizure", "steroids", "tocilizumab"
)
_TAIL = _shared("death_date", "last_followup_date")
_DOSE = _shared(
    "prior_lines", "cart_dose_1e6_per_kg",
    cart_dose_1e6_per_kg=dict(required=False, optional_column=True),  # flat-dose products (liso-cel, cilta-cel)
)  # fmt: skip
_NOT_EVALUABLE = "response not evaluable"


def _response(column: str, scale: Scale, required: bool) -> Field:
    """A response column; one that is not required may be not collected (no day-90 visit)."""
    return Field(column, scale.kind, required, not_done=_NOT_EVALUABLE, optional_column=not required)


_LBCL_FIELDS: tuple[Field, ...] = (
    *_HEAD,
    Field("ecog", INTEGER, True, (Range("in_range", (0, 4), "must be between 0 and 4"),)),
    Field("ann_arbor_stage", INTEGER, True, (Range("in_range", (1, 4), "must be between 1 and 4"),)),
    Field("ldh_elevated", BOOLEAN, True),
    Field("bulky_disease", BOOLEAN, False, optional_column=True),
    Field("ipi", INTEGER, False, (Range("in_range", (0, 5), "must be between 0 and 5"),), optional_column=True),
    Field("bridging", BOOLEAN, False, optional_column=True),
    *_DOSE,
    *_TOXICITY,
    _response("response_day30", LUGANO, True),
    _response("response_day90", LUGANO, False),
    _response("best_response", LUGANO, True),
    Field("response_date", DATE, False),
    Field("progression_date", DATE, False),
    *_TAIL,
)

_MM_FIELDS: tuple[Field, ...] = (
    *_HEAD,
    Field("r_iss", INTEGER, False, (Range("in_range", (1, 3), "must be between 1 and 3"),), optional_column=True),
    Field("high_risk_cytogenetics", BOOLEAN, True),
    Field("extramedullary", BOOLEAN, True),
    Field("triple_class_refractory", BOOLEAN, True),
    *_DOSE,
    *_TOXICITY,
    Field("parkinsonism", BOOLEAN, False, optional_column=True),
    Field("cranial_nerve_palsy", BOOLEAN, False, optional_column=True),
    _response("best_response", IMWG, True),
    Field("mrd_negative", BOOLEAN, False, optional_column=True, not_done="MRD not assessed"),
    Field("response_date", DATE, False),
    Field("progression_date", DATE, False),
    *_TAIL,
)


def _true(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


def _in(d: pd.DataFrame, column: str, keys) -> pd.Series:
    return _true(d[column].isin(list(keys)) & d[column].notna())


def _not_done(d: pd.DataFrame, name: str) -> pd.Series:
    column = not_done_column(name)
    return _true(d[column]) if column in d else pd.Series(False, index=d.index)


def _order(column: str, other: str, strict: bool = False, before: bool = False) -> Rule:
    if before:
        return Rule(column, f"must be on or before {other}", (column, other), lambda d: d[column] > d[other])
    if strict:
        return Rule(column, f"must be after {other}", (column, other), lambda d: d[column] <= d[other])
    return Rule(column, f"must be on or after {other}", (column, other), lambda d: d[column] < d[other])


def _shared_rules(*columns: str) -> tuple[Rule, ...]:
    """The B-ALL contract's rules that read only the shared columns (duplicate ids, onset
    days, seizure, the death and follow-up dates)."""
    allowed = set(_SHARED) - {"cr_day30", "cr_date", "relapse_date", "mrd_negative", "hsct_date"}
    return tuple(r for r in COHORT_RULES if set(r.columns) <= allowed and set(r.columns) <= set(columns))


def _response_rules(scale: Scale, responders: tuple[str, ...], assessments: tuple[str, ...]) -> tuple[Rule, ...]:
    """Rules of a profile's response columns: a responder has a response date, a
    non-responder none; best response at least as good as every assessment; progressive
    disease at an assessment needs a progression date; dates in order."""
    rules = [
        Rule(
            "response_date",
            f"required when best_response is {'/'.join(responders)}",
            ("best_response", "response_date"),
            lambda d: _in(d, "best_response", responders) & d["response_date"].isna(),
        ),
        Rule(
            "response_date",
            f"must be empty when best_response is not {'/'.join(responders)}",
            ("best_response", "response_date"),
            lambda d: d["best_response"].notna() & ~_in(d, "best_response", responders) & d["response_date"].notna(),
        ),
        _order("response_date", "infusion_date", strict=True),
        _order("progression_date", "infusion_date", strict=True),
        _order("progression_date", "response_date", strict=True),
        _order("progression_date", "death_date", before=True),
        _order("progression_date", "last_followup_date", before=True),
        _order("response_date", "last_followup_date", before=True),
    ]
    score = {k: i for i, k in enumerate(scale.keys)}  # 0 = best
    for column in assessments:
        if column == "best_response":
            continue
        rules.append(
            Rule(
                "best_response",
                f"worse than {column} (the best overall response is at least as good as every assessment)",
                ("best_response", column),
                _worse_than(column, score),
            )
        )
        rules.append(
            Rule(
                "progression_date",
                f"required when {column} is PD",
                (column, "progression_date"),
                _pd_without_date(column),
            )
        )
    return tuple(rules)


def _worse_than(column: str, score: dict[str, int]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _true(d["best_response"].map(score) > d[column].map(score))


def _pd_without_date(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _true(d[column].eq("PD")) & d["progression_date"].isna()


_LBCL_RESPONDERS = ("CR", "PR")
_LBCL_RULES = (
    *_shared_rules(*(f.name for f in _LBCL_FIELDS)),
    *_response_rules(LUGANO, _LBCL_RESPONDERS, ("response_day30", "response_day90", "best_response")),
)
_MM_RESPONDERS = IMWG.at_least("PR")
_MM_RULES = (
    *_shared_rules(*(f.name for f in _MM_FIELDS)),
    *_response_rules(IMWG, _MM_RESPONDERS, ("best_response",)),
    Rule(
        "mrd_negative",
        "an MRD result only for a patient in CR or sCR (IMWG: MRD negativity is assessed in complete response)",
        ("best_response", "mrd_negative"),
        lambda d: d["mrd_negative"].notna() & d["best_response"].notna() & ~_in(d, "best_response", ("sCR", "CR")),
    ),
    Rule(
        "mrd_negative",
        "required when best_response is CR or sCR (write 'not done' when MRD was not assessed)",
        ("best_response", "mrd_negative"),
        lambda d: _in(d, "best_response", ("sCR", "CR")) & d["mrd_negative"].isna() & ~_not_done(d, "mrd_negative"),
    ),
)

# --------------------------------------------------------------------------- endpoints

OS = ENDPOINTS["os"]
_MONTHS, _ALL = OS.time_axis, OS.population
PFS = Endpoint("pfs", "Progression-free survival", "PFS", "pfs_months", "pfs_event", _MONTHS, _ALL)
DOR = Endpoint(
    "dor", "Duration of response", "DoR", "dor_months", "dor_event", "Months since response", "responding patients"
)

#: Every profile endpoint, by key (the survival estimators look keys up here after
#: :data:`analysis.registry.concepts.ENDPOINTS`).
DISEASE_ENDPOINTS: dict[str, Endpoint] = {e.key: e for e in (PFS, DOR)}

# --------------------------------------------------------------------------- characteristics


def field_kind(column: str) -> str | None:
    """The contract kind of a cohort column of any profile (B-ALL's contract first): how a
    model enters it (a yes/no as 0/1, a number per unit)."""
    for f in (*COHORT_FIELDS, *_LBCL_FIELDS, *_MM_FIELDS):
        if f.name == column:
            return f.kind
    return None


_V = DISEASE_VARIABLES

# --------------------------------------------------------------------------- profiles

_COMMON_METHODS = {
    "pfs": "Progression-free survival (PFS) was measured from infusion to progression or death from any cause",
    "os": f"{OS.title} ({OS.abbreviation}) was measured from infusion to death from any cause",
    "competing": (
        "The cumulative incidence of progression, with death without progression (non-relapse mortality, NRM) "
        "as a competing event, was estimated from infusion (Aalen–Johansen) and compared with Gray's test"
    ),
    "ordinal": (
        "Because response levels are ordered, their distribution was compared between toxicity groups with the "
        "Wilcoxon–Mann–Whitney test (two groups) or the Kruskal–Wallis test (three groups) on the ordinal "
        "response scores, with the normal approximation and tie correction"
    ),
    "rates": (
        "Response rates are given with Wilson score 95% confidence intervals, differences between two groups with "
        "Newcombe's hybrid score interval, and compared with Pearson's chi-square test or Fisher's exact test"
    ),
}

DISEASES: dict[str, Profile] = {
    p.key: p
    for p in (
        Profile(
            key="b-all",
            name="B-cell acute lymphoblastic leukemia",
            abbreviation="B-ALL",
            scale=None,  # CR at day 30 (yes/no) and MRD: analysis.registry.concepts.RESPONSES
            assessments=(),
            primary_assessment="day30",
            responders=(),
            endpoints=(),  # analysis.registry.concepts.ENDPOINTS
            progression="relapse",
            covariates=("age", "bm_blasts_pct", "ph_positive", "prior_lines", "cart_dose_1e6_per_kg"),
            fields=COHORT_FIELDS,
            rules=COHORT_RULES,
        ),
        Profile(
            key="lbcl",
            name="large B-cell lymphoma",
            abbreviation="LBCL",
            scale=LUGANO,
            assessments=(
                Assessment("day30", "response_day30", "Day 30", "at day 30", 30),
                Assessment("day90", "response_day90", "Day 90", "at day 90", 90),
                Assessment("best", "best_response", "Best overall response", "as best overall response"),
            ),
            primary_assessment="best",
            responders=(
                Responder("orr", "Overall response (CR or PR)", "ORR", _LBCL_RESPONDERS),
                Responder("cr", "Complete response", "CR rate", ("CR",)),
            ),
            endpoints=(PFS, DOR, OS),
            progression="progression",
            # not the IPI: it is a score of age, ECOG, stage and LDH (and extranodal sites), which
            # the model adjusts for one by one; adjusting for both counts them twice and makes the
            # terms collinear (Table 1 still shows it; Methods says why: text.methods("model"))
            covariates=(
                "age",
                "ecog",
                "ann_arbor_stage",
                "ldh_elevated",
                "bulky_disease",
                "prior_lines",
                "bridging",
            ),
            fields=_LBCL_FIELDS,
            rules=_LBCL_RULES,
            covariate_cutoffs=(("ann_arbor_stage", 3),),  # stage III–IV vs I–II, as Table 1
            table1=(
                ("age", VARIABLES["age"].label, "continuous"),
                ("ecog", _V["ecog"].name, "continuous"),
                ("ann_arbor_stage", f"{_V['ann_arbor_stage'].name} III–IV", "stage34"),
                ("ldh_elevated", _V["ldh_elevated"].name, "yes_no"),
                ("bulky_disease", _V["bulky_disease"].name, "yes_no"),
                ("ipi", _V["ipi"].name, "continuous"),
                ("prior_lines", VARIABLES["prior_lines"].name, "continuous"),
                ("bridging", _V["bridging"].name, "yes_no"),
                ("steroids", VARIABLES["steroids"].name, "yes_no"),
                ("tocilizumab", VARIABLES["tocilizumab"].name, "yes_no"),
            ),
            methods={
                **_COMMON_METHODS,
                "response": (
                    "Response was assessed by PET-CT according to the Lugano 2014 classification (complete, partial "
                    "response, stable or progressive disease) at day 30 and day 90 after infusion; the best overall "
                    "response is the best response recorded at any time before progression or new therapy"
                ),
                "responders": (
                    "The overall response rate (ORR) counts complete and partial responses; the CR rate counts "
                    "complete responses"
                ),
                "dor": (
                    "Duration of response (DoR) was measured in responding patients from the first documented response "
                    "to progression or death from any cause"
                ),
                "model": (
                    "Each baseline characteristic of Table 1 entered the model as a term of its own except the "
                    "International Prognostic Index (IPI): a score of age, ECOG performance status, stage, LDH and "
                    "extranodal involvement, it would have counted the components the model adjusts for twice and "
                    "made the terms collinear"
                ),
            },
            introduction={
                "activity": (
                    "CD19-directed CAR-T cells induce durable remissions in a proportion of patients with relapsed "
                    "or refractory large B-cell lymphoma, as the pivotal trials of axicabtagene ciloleucel, "
                    "tisagenlecleucel and lisocabtagene maraleucel showed [@neelapu2017; @schuster2019; @abramson2020]"
                ),
                "toxicity": (
                    "In these trials, CRS and neurological events were frequent, and their incidence and severity "
                    "differed between the products, which were also graded with different systems "
                    "[@neelapu2017; @schuster2019; @abramson2020]"
                ),
                "trials": "[@neelapu2017; @schuster2019; @abramson2020]",
            },
            effect="anti-lymphoma",
            vocabulary={
                "best_response": ("best response (lugano)", "best overall response", "bor", "best response"),
                "response_day30": ("response day 30", "d30 response", "day 30 response (lugano)", "response d30"),
                "response_day90": ("response day 90", "d90 response", "day 90 response (lugano)", "response d90"),
                "progression_date": ("pfs event date", "date of progression", "progression date", "pd date"),
                "response_date": ("date of first response", "first response date", "response date"),
                "ldh_elevated": ("ldh > uln", "elevated ldh", "ldh elevated", "ldh above uln", "ldh", "ldh status"),
                "ann_arbor_stage": ("stage", "ann arbor", "ann arbor stage"),
                "bulky_disease": ("bulky", "bulky disease"),
                "ecog": ("ecog ps", "ecog performance status", "performance status"),
                "ipi": ("ipi score", "international prognostic index"),
                "bridging": ("bridging therapy", "bridging"),
            },
            demo=Demo(
                DISEASE_DEMO_COHORTS["lbcl"],
                "2017-08-11",
                "CRS, ICANS and response to axicabtagene ciloleucel in refractory large B-cell lymphoma",
                "neelapu2017",
                "ZUMA-1 (Neelapu et al., N Engl J Med 2017)",
                (
                    ("name", "axicabtagene ciloleucel"),
                    ("target", "CD19"),
                    ("costimulatory_domain", "CD28"),
                    ("vector", "gammaretroviral"),
                    ("lymphodepletion", "fludarabine–cyclophosphamide"),
                ),
            ),
        ),
        Profile(
            key="mm",
            name="multiple myeloma",
            abbreviation="MM",
            scale=IMWG,
            assessments=(Assessment("best", "best_response", "Best overall response", "as best overall response"),),
            primary_assessment="best",
            responders=(
                Responder("orr", "Overall response (≥PR)", "ORR", _MM_RESPONDERS),
                Responder("vgpr", "Very good partial response or better (≥VGPR)", "≥VGPR rate", IMWG.at_least("VGPR")),
                Responder("cr", "Complete response or better (≥CR)", "≥CR rate", IMWG.at_least("CR")),
                Responder(
                    "mrd_cr",
                    "MRD-negative ≥CR (10⁻⁵)",
                    "MRD-negative ≥CR rate",
                    IMWG.at_least("CR"),
                    mrd_column="mrd_negative",
                ),
            ),
            endpoints=(PFS, DOR, OS),
            progression="progression",
            covariates=(
                "age",
                "r_iss",
                "high_risk_cytogenetics",
                "extramedullary",
                "prior_lines",
                "triple_class_refractory",
            ),
            fields=_MM_FIELDS,
            rules=_MM_RULES,
            covariate_cutoffs=(("r_iss", 3),),  # R-ISS III vs I–II, as Table 1
            table1=(
                ("age", VARIABLES["age"].label, "continuous"),
                ("r_iss", f"{_V['r_iss'].name} III", "riss3"),
                ("high_risk_cytogenetics", _V["high_risk_cytogenetics"].name, "yes_no"),
                ("extramedullary", _V["extramedullary"].name, "yes_no"),
                ("prior_lines", VARIABLES["prior_lines"].name, "continuous"),
                ("triple_class_refractory", _V["triple_class_refractory"].name, "yes_no"),
                ("steroids", VARIABLES["steroids"].name, "yes_no"),
                ("tocilizumab", VARIABLES["tocilizumab"].name, "yes_no"),
            ),
            methods={
                **_COMMON_METHODS,
                "response": (
                    "Response was assessed according to the International Myeloma Working Group (IMWG) 2016 criteria "
                    "(stringent complete, complete, very good partial, partial and minimal response, stable or "
                    "progressive disease); the best overall response is reported"
                ),
                "responders": (
                    "The overall response rate (ORR) counts partial responses or better; the ≥VGPR and ≥CR rates "
                    "count very good partial and complete responses or better; minimal residual disease (MRD) was "
                    "assessed in patients with CR or better by next-generation sequencing or flow cytometry at a "
                    "sensitivity of 10⁻⁵, and a patient in CR whose MRD was not assessed is left out of the "
                    "MRD-negative ≥CR rate"
                ),
                "dor": (
                    "Duration of response (DoR) was measured in patients with a partial response or better from the "
                    "first documented response to progression or death from any cause"
                ),
                "model": "Each baseline characteristic of Table 1 entered the model as a term of its own",
            },
            introduction={
                "activity": (
                    "B-cell maturation antigen (BCMA)-directed CAR-T cells induce deep responses in relapsed and "
                    "refractory multiple myeloma after several prior lines of therapy, as the pivotal trials of "
                    "idecabtagene vicleucel and ciltacabtagene autoleucel showed [@munshi2021; @berdeja2021]"
                ),
                "toxicity": (
                    "In these trials, CRS occurred in most patients and neurotoxicity in a minority "
                    "[@munshi2021; @berdeja2021]"
                ),
                "trials": "[@munshi2021; @berdeja2021]",
            },
            effect="anti-myeloma",
            vocabulary={
                "best_response": ("best response (imwg)", "best overall response", "bor", "best response"),
                "progression_date": ("pfs event date", "date of progression", "progression date", "pd date"),
                "response_date": ("date of first response", "first response date", "response date"),
                "mrd_negative": ("mrd negative 10-5", "mrd 10^-5", "mrd negativity", "mrd negative", "mrd status"),
                "r_iss": ("r-iss", "riss", "revised iss", "r-iss stage"),
                "high_risk_cytogenetics": (
                    "high-risk cytogenetics",
                    "high risk cytogenetics",
                    "hr cytogenetics",
                    "high-risk fish",
                ),
                "extramedullary": ("extramedullary disease", "emd", "extramedullary plasmacytoma"),
                "triple_class_refractory": ("triple-class refractory", "triple class refractory", "tcr"),
                "parkinsonism": ("parkinsonism", "movement and neurocognitive toxicity", "mnt"),
                "cranial_nerve_palsy": ("cranial nerve palsy", "cn palsy", "facial palsy"),
            },
            demo=Demo(
                DISEASE_DEMO_COHORTS["mm"],
                "2020-10-16",
                "CRS, ICANS and response to idecabtagene vicleucel in relapsed and refractory multiple myeloma",
                "munshi2021",
                "KarMMa (Munshi et al., N Engl J Med 2021)",
                (
                    ("name", "idecabtagene vicleucel"),
                    ("target", "BCMA"),
                    ("costimulatory_domain", "4-1BB"),
                    ("vector", "lentiviral"),
                    ("lymphodepletion", "fludarabine–cyclophosphamide"),
                ),
            ),
        ),
    )
}


def disease(key: str | None) -> Profile:
    """The profile of a ``disease:`` value (None: the default); ValueError lists the valid ones."""
    key = DEFAULT_DISEASE if key is None else str(key).strip().lower()
    if key not in DISEASES:
        raise ValueError(f"unknown disease {key!r}; valid values: {', '.join(DISEASES)}")
    return DISEASES[key]


def endpoint_of(key: str) -> Endpoint:
    """A time-to-event endpoint of any profile by key (B-ALL's first)."""
    from analysis.registry.concepts import ENDPOINTS

    if key in ENDPOINTS:
        return ENDPOINTS[key]
    if key in DISEASE_ENDPOINTS:
        return DISEASE_ENDPOINTS[key]
    raise KeyError(key)


def disease_plausibility_rules(cutoff) -> tuple[Rule, ...]:
    """The plausibility warnings of the LBCL and MM profiles: the B-ALL contract's that read
    only the shared columns (a seizure below ICANS grade 3, onset after the end of
    follow-up, lost to follow-up, no prior line)."""
    from analysis.registry.contract import plausibility_rules

    shared = set(_SHARED) - {
        "cr_day30",
        "cr_date",
        "relapse_date",
        "mrd_negative",
        "hsct_date",
        "disease_status",
        "n_relapses",
    }
    return tuple(r for r in plausibility_rules(cutoff) if set(r.columns) <= shared)


def covariate_columns(key: str | None = None) -> tuple[str, ...]:
    """Cohort columns of a disease profile's data contract (its own columns and the shared
    ones; None: B-ALL's) a multivariable model can name as covariates."""
    return tuple(f.name for f in disease(key).fields if f.kind in MODEL_KINDS)


def numeric_columns(key: str | None = None) -> tuple[str, ...]:
    """Cohort columns of a disease profile's data contract holding numbers (None: B-ALL's): those
    a covariate cut-off (``covariate_cutoffs``) can apply to."""
    return tuple(f.name for f in disease(key).fields if f.kind in ("number", "integer"))


# The ``covariates`` and ``covariate_cutoffs`` options of the analysis plan take the columns of
# the study's profile: their valid names are registered here, where the profiles are (concepts
# cannot import this module, which imports it).
OPTIONS["covariates"] = replace(OPTIONS["covariates"], choices=covariate_columns, by_disease=True)
OPTIONS["covariate_cutoffs"] = replace(OPTIONS["covariate_cutoffs"], choices=numeric_columns, by_disease=True)
