"""Every p-value of the report, once, with its family and its Holm and Benjamini–Hochberg
adjustments (the supplementary p-value table, the prose's count of tests, the JSON's
``pvalues``).

How a p-value gets here: :func:`collect_pvalues` **walks the results object**. Every
attribute named ``p`` or ending in ``_p`` of every dataclass reachable from a field of
:class:`analysis.report.results.Results` (through dicts, tuples and nested dataclasses) is a
p-value of the report, unless :data:`NOT_REPORTED` names its class and attribute (with the
reason it is not printed) or the object says ``reported = False``. An object reached twice
(the peak comparison shared by the kinetics table and the peak figure) counts once. So a new
analysis whose result carries a ``p`` (or ``..._p``) lands in the table, the count and the
JSON with nothing else to do; its family is the field of ``Results`` that holds it
(:data:`FAMILIES` gives the known ones a title; a new field gets its name as title until one
is added there), and its label is read from the keys and attributes on the way (endpoint,
response, metric, variable, term, grouping: :func:`_token`), or is the object's own
``p_label`` when it has one.

Adjustments are within each family (the comparisons that answer one question), as R
``p.adjust(p, "holm")`` and ``p.adjust(p, "BH")`` on the family's p-values
(:func:`analysis.estimators.multiplicity.p_adjust`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from analysis.estimators.competing import CAUSES
from analysis.estimators.cox import COX_TERMS, FIRTH
from analysis.estimators.multiplicity import p_adjust
from analysis.registry.concepts import (
    ENDPOINTS,
    KINETIC_METRICS,
    KINETICS_SELECTION_VARIABLES,
    RESPONSES,
    TESTS,
    VARIABLES,
    reported_responses,
)
from analysis.registry.groups import GROUPINGS, KINETICS_DATA, TOXICITY_GROUPINGS


@dataclass(frozen=True)
class Family:
    key: str
    title: str  # "Response and survival by toxicity"


def _by_grouping(toxicity: str, treatment: str) -> Callable[[tuple], str]:
    """Family of a response or survival test: toxicity groupings vs treatment groupings."""

    def family(path: tuple) -> str:
        grouping = next((part for part in _flat(path) if part in GROUPINGS), None)
        return toxicity if grouping in TOXICITY_GROUPINGS else treatment

    return family


#: The families of the report's tests, in the table's order: the field of ``Results``
#: holding the test -> family key (or a function of the path choosing it), and the titles.
FAMILY_TITLES: dict[str, str] = {
    "efficacy_by_toxicity": "Response and survival by toxicity",
    "efficacy_by_treatment": "Response, expansion and survival by treatment of toxicity",
    "baseline": "Baseline characteristics by toxicity",
    "course": "Course after infusion by toxicity",
    "kinetics": "CAR-T kinetics by toxicity",
    "multivariable": "Multivariable Cox models",
    "model_checks": "Model checks: proportional hazards (global and per term) and linearity of continuous covariates",
    "competing": "Relapse and non-relapse mortality among patients in CR",
    "landmark": "Landmark analysis",
    "centers": "Center-stratified Cox models (sensitivity analysis)",
    "il6": "Peak IL-6 by marrow blasts ≥20%",
    "publication_model": "The publication's multivariable model (sensitivity analysis)",
    "time_dependent": "Survival by toxicity from its onset (Mantel–Byar)",
    "exposure_models": "The multivariable model's exposure time-dependent and at the landmarks",
    "ph_sensitivity": "The multivariable model with proportional hazards relaxed (sensitivity analysis)",
    "trend": "Trend across ordered grades",
    "transplant": "Allogeneic HSCT after CAR-T (time-dependent covariate; censored at HSCT)",
    # the disease profiles' report (analysis.report.disease_results.DISEASE_FAMILIES)
    "progression": "Progression and non-relapse mortality from infusion",
    "landmark_models": "The multivariable model at the landmark",
    "kinetics_selection": "Patients with CAR-T kinetics data versus the others",
}
FAMILIES: dict[str, str | Callable[[tuple], str]] = {
    "response": _by_grouping("efficacy_by_toxicity", "efficacy_by_treatment"),
    "survival": _by_grouping("efficacy_by_toxicity", "efficacy_by_treatment"),
    # the characteristics known at infusion and the course after it are two tables, two families
    "table1": lambda path: "course" if VARIABLES[path[1][0]].after_infusion else "baseline",
    # expansion by the treatment of toxicity answers the treatment question, with response and survival
    "kinetics_peak": _by_grouping("kinetics", "efficacy_by_treatment"),
    "kinetics_metrics": _by_grouping("kinetics", "efficacy_by_treatment"),
    "cox": "multivariable",
    "competing": "competing",
    "landmark": "landmark",
    "centers": "centers",
    "il6_by_blasts": "il6",
    "cox_publication": "publication_model",
    "time_dependent": "time_dependent",
    "time_dependent_cox": "exposure_models",
    "landmark_models": "exposure_models",
    "response_trend": "trend",
    "survival_trend": "trend",
    "transplant": "transplant",
    "functional_forms": "model_checks",
    "kinetics_selection": "kinetics_selection",
}

#: The display that shows each family's tests (its label; ``text.ref`` numbers it), so that
#: the p-value table names a family after its table: "Baseline characteristics by toxicity
#: (Table 1 of the manuscript)".
FAMILY_DISPLAYS: dict[str, str] = {
    "baseline": "tbl-characteristics",
    "course": "tbl-course",
    "multivariable": "tbl-cox",
    "competing": "tbl-cif",
    "centers": "tbl-centers-cox",
    "kinetics": "tbl-kinetics",
    "model_checks": "tbl-ph",
    "kinetics_selection": "tbl-kinetics-selection",
}


def family_display(key: str, ref: Callable[[str], str] | None) -> str:
    """Where a family's tests are shown ('Table 1 of the manuscript'); '' without ``ref``, for a
    family without a display, or when the display is not in this report."""
    if ref is None or key not in FAMILY_DISPLAYS:
        return ""
    try:
        where = ref(FAMILY_DISPLAYS[key])
    except KeyError:
        return ""
    return "" if where.startswith("[") else where


def ph_term_label(term: str, result: Any = None) -> str:
    """The label of a term of cox.zph's table (one row per model term): the Cox table's label
    of a one-coefficient term; the exposure grouping, tested as one term, with its df: 'CRS/ICANS
    group (2 df)'."""
    if result is not None:
        label = next((t.label for t in result.terms if t.key == term), None)
        if label is not None:
            return label
        exposure = getattr(result, "exposure", "severity")
        if term == exposure:
            title = "CRS/ICANS group" if exposure == "severity" else GROUPINGS[exposure].title
            df = next((t.df for t in result.ph_tests if t.term == term), None)
            return f"{title} ({df} df)" if df else title
    if term == "severity":
        return "CRS/ICANS group (2 df)"
    return COX_TERMS.get(term, term)


def _not_tested(path: tuple) -> bool:
    """A Table 1/course comparison the tables do not test (a treatment by its toxicity,
    :meth:`analysis.registry.concepts.Variable.tested_by`): not a p-value of the report."""
    if path[0] not in ("table1", "table1_by", "course_by") or not isinstance(path[1], tuple):
        return False
    variable, grouping = path[1]
    return variable in VARIABLES and not VARIABLES[variable].tested_by(grouping)


#: Attributes whose p-values form a family of their own wherever they are (model checks are
#: not comparisons: they are not adjusted together with the estimates of the same model).
FAMILY_OF_ATTRIBUTE: dict[str, str] = {"ph_test_global_p": "model_checks", "nonlinearity_p": "model_checks"}

#: p-values the results hold but the report does not print, by (class, attribute), with why.
NOT_REPORTED: dict[tuple[str, str], str] = {
    ("HazardRatio", "p"): "Wald test of a univariable hazard ratio: the log-rank test of the comparison is reported",
    ("LandmarkHR", "p"): "Wald test of a landmark hazard ratio: the log-rank test of the comparison is reported",
    ("FirthOddsRatio", "lr_p"): "penalized likelihood-ratio test of a Firth odds ratio: the response "
    "comparison's chi-square or Fisher test is reported",
}

#: Attributes of results not walked, by (class, attribute), with why: what they hold is printed
#: elsewhere or not at all.
NOT_WALKED: dict[tuple[str, str], str] = {
    ("TimeDependentComparison", "cox"): "its Wald tests are not printed: the Mantel–Byar test of the comparison is",
    ("TimeDependentComparison", "curves"): "the Simon–Makuch curves repeat the Mantel–Byar p for the figure",
}
#: Models of which only the joint test of the exposure is printed (the HRs without p):
#: ``CoxResult.model`` values, or their prefix.
JOINT_ONLY_MODELS = ("time-dependent", "landmark day", "proportional-hazards sensitivity")

#: Fields of ``Results`` that hold no test (or this table itself): not walked.
SKIPPED_FIELDS = ("pvalues", "kinetics_patients", "kinetics_profiles", "swimmer", "cohort_flow")

#: Attributes naming the test behind a p, when its object has no ``test`` field.
_TEST_OF_ATTRIBUTE = {
    "logrank_p": "Log-rank",
    "severity_global_p": "Wald, joint (2 df)",
    "ph_test_global_p": "Schoenfeld residuals, global",
    "nonlinearity_p": "Wald, spline nonlinear term",
}
_TEST_OF_CLASS = {
    "CoxTerm": "Wald",
    "GrayTest": "Gray",
    "CoxTrend": "Wald, Cox score term",
    "TDTerm": "Wald",
    "PHTest": "Schoenfeld residuals, per term",
    "MantelByar": "Mantel–Byar",
}
#: The test of every p of a Firth-penalised Cox model (its proportional-hazards test aside).
_FIRTH_TEST = "Penalized likelihood ratio"
#: Words for attributes that are not the plain ``p`` of their object.
_ATTRIBUTE_LABEL = {
    "severity_global_p": "CRS/ICANS group as a whole",
    "ph_test_global_p": "proportional hazards",
    "censored": "censored at HSCT",
    "ph_tests": "proportional hazards",
    "nonlinearity_p": "linearity",
}
#: Path parts that are structure, not meaning.
_STRUCTURE = {
    "result",
    "comparison",
    "terms",
    "causes",
    "gray",
    "survival",
    "cox",
    "stratified_cox",
    "p",
    "logrank_p",
    "all",
    "levels",
    "effects",
    "mantel_byar",
    "baseline",
}


@dataclass(frozen=True)
class PValueRow:
    family: str  # key of FAMILY_TITLES (or a new field's name)
    label: str  # "OS by CRS"
    test: str  # "Log-rank"
    p: float
    p_holm: float  # within the family
    p_bh: float
    path: str  # where it is in the results: "survival/os/crs/logrank_p"
    #: the path of the row holding the same test (:func:`twin_of`): this row repeats it for its
    #: own display, is not adjusted or counted again, and carries the twin's adjusted values
    same_as: str | None = None


@dataclass(frozen=True)
class FamilySummary:
    key: str
    title: str
    n: int  # distinct tests (a row that repeats another's test is not counted)
    n_significant: int  # unadjusted p < alpha
    n_holm: int  # Holm-adjusted p < alpha
    n_bh: int  # BH-adjusted p < alpha


@dataclass(frozen=True)
class PValueTable:
    rows: tuple[PValueRow, ...]
    families: tuple[FamilySummary, ...]
    alpha: float

    @property
    def n(self) -> int:
        """Distinct tests: a row that repeats another's test (``same_as``) is not counted."""
        return sum(r.same_as is None for r in self.rows)

    @property
    def n_repeated(self) -> int:
        """Rows that repeat another row's test."""
        return len(self.rows) - self.n

    def row(self, path: str) -> PValueRow:
        return next(r for r in self.rows if r.path == path)

    def family(self, key: str) -> FamilySummary:
        for f in self.families:
            if f.key == key:
                return f
        raise KeyError(f"no family {key!r}; the families are: {', '.join(f.key for f in self.families)}")

    @property
    def n_significant(self) -> int:
        return sum(f.n_significant for f in self.families)

    @property
    def n_holm(self) -> int:
        return sum(f.n_holm for f in self.families)

    @property
    def n_bh(self) -> int:
        return sum(f.n_bh for f in self.families)


def _flat(path: tuple) -> Iterator[Any]:
    for part in path:
        if isinstance(part, tuple):
            yield from part
        else:
            yield part


def _token(part: Any, names: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(kind, words) of one part of a path: a grouping ('by', 'CRS'), an outcome, a term...

    A part is a plain key, or (kind, key) when the walk knows its role: ("by", "steroids") is
    the steroids grouping, ("what", "steroids") the Table 1 variable. ``names``: words for keys
    of another report's results (a disease profile's endpoints, responders, assessments)."""
    kind = None
    if isinstance(part, tuple) and len(part) == 2 and part[0] in ("what", "by"):
        kind, part = part
    if not isinstance(part, str):
        return None
    if part in GROUPINGS and kind != "what":
        return "by", _in_sentence(GROUPINGS[part].title)
    if part == KINETICS_DATA.name:  # the patients with kinetics data against the others
        return "by", "kinetics data (with versus without)"
    if names and part in names:
        return "what", names[part]
    if part in ENDPOINTS:
        return "what", ENDPOINTS[part].abbreviation
    if part in RESPONSES:
        return "what", RESPONSES[part].label
    if part in KINETIC_METRICS:
        return "what", KINETIC_METRICS[part].name
    metric = next((m for m in KINETIC_METRICS.values() if m.column == part), None)
    if metric is not None:
        return "what", metric.name
    if part in VARIABLES:
        return "what", VARIABLES[part].name
    if part in KINETICS_SELECTION_VARIABLES:
        return "what", KINETICS_SELECTION_VARIABLES[part].name
    if part in CAUSES:
        return "what", CAUSES[part][1]
    if part in _ATTRIBUTE_LABEL:
        return "what", _ATTRIBUTE_LABEL[part]
    if part in _STRUCTURE:
        return None
    return "what", part.replace("_", " ")


def _in_sentence(title: str) -> str:
    """'Concurrent CRS and ICANS' -> 'concurrent CRS and ICANS'; 'CRS grade' keeps its capitals."""
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        return title[0].lower() + title[1:]
    return title


def _key_parts(key: Any) -> list[Any]:
    """The parts of a dict key: in a tuple key, the last element is the grouping when it is one
    (``("steroids", "crs")``: the steroids variable by CRS), the others are what is compared."""
    if not isinstance(key, tuple):
        return [("by", key) if key in GROUPINGS else ("what", key)]
    *what, last = key
    return [("what", k) for k in what] + [("by", last) if last in GROUPINGS else ("what", last)]


def _label(parts: list[Any], names: Mapping[str, str] | None = None) -> str:
    """'OS by CRS', 'OS, Received steroids', 'Relapse by CRS/ICANS severity'."""
    what: list[str] = []
    by: list[str] = []
    for part in parts:
        token = _token(part, names)
        if token is None:
            continue
        kind, words = token
        target = by if kind == "by" else what
        if words not in target:
            target.append(words)
    text = ", ".join(what)
    if by:
        text = f"{text} by {' and '.join(by)}".strip()
    return text[:1].upper() + text[1:]


#: Values :func:`_walk` finds nothing below (not a dataclass, dict, list or tuple), skipped
#: without a call: the survival curves' thousands of numbers
_LEAVES = (str, int, float, type(None))


def _walk(
    value: Any,
    path: tuple,
    parts: list[Any],
    seen: set[int],
    out: list,
    method: str | None = None,
    split: str | None = None,
) -> None:
    """Append (path, label parts, test, p, split) for every reported p-value below ``value``;
    ``method``: the test a Firth-penalized model's p-values come from, ``split``: the digest of
    the comparison's outcome, patients and groups (``split`` of a response or survival
    comparison: :func:`analysis.estimators.multiplicity.split_key`), both set on the way down."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if id(value) in seen:
            return
        seen.add(id(value))
        cls = type(value).__name__
        own_split = getattr(value, "split", None)
        if isinstance(own_split, str):
            split = own_split
        if getattr(value, "method", None) == FIRTH:
            method = _FIRTH_TEST
        own = list(parts)
        for attr in ("endpoint", "response", "metric", "variable", "cause", "grouping"):
            v = getattr(value, attr, None)
            if isinstance(v, str):
                own.append(("by" if attr == "grouping" else "what", v))
        label = getattr(value, "label", None)
        if cls in ("CoxTerm",) and isinstance(label, str):
            own.append(label)
        if cls == "PHTest":
            term = str(getattr(value, "term", ""))
            if term == "GLOBAL":  # the model's global test: ph_test_global_p
                return
            own.append(term)  # labelled in collect_pvalues, which knows the model
        p_label = getattr(value, "p_label", None)
        if isinstance(p_label, str):  # an estimate that words its own p
            own = [p_label]
        model = getattr(value, "model", None) if cls == "CoxResult" else None
        if isinstance(model, str):
            own.append(model)  # 'landmark day 30', 'time-dependent', 'publication' ('baseline': Table 2)
        joint_only = isinstance(model, str) and model.startswith(JOINT_ONLY_MODELS)
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if (cls, f.name) in NOT_WALKED or (joint_only and f.name == "terms"):
                continue
            if f.name == "p" or f.name.endswith("_p"):
                if getattr(value, "reported", True) is False:  # an estimate the report does not print
                    continue
                if (cls, f.name) in NOT_REPORTED or not isinstance(v, (int, float)) or isinstance(v, bool):
                    continue
                if math.isnan(float(v)):
                    continue
                test = getattr(value, "test", None)
                if method is not None and f.name != "ph_test_global_p":
                    test = method
                elif isinstance(test, str):
                    test = TESTS[test].name if test in TESTS else test
                else:
                    test = _TEST_OF_ATTRIBUTE.get(f.name) or _TEST_OF_CLASS.get(cls, "")
                out.append(((*path, f.name), [*own, f.name], test, float(v), split))
            elif not isinstance(v, _LEAVES):
                _walk(v, (*path, f.name), [*own, f.name], seen, out, method, split)
    elif isinstance(value, dict):
        for key, v in value.items():
            _walk(v, (*path, key), [*parts, *_key_parts(key)], seen, out, method)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if isinstance(v, _LEAVES):
                continue
            key = getattr(v, "key", None)  # a term or level: its key in the path
            _walk(v, (*path, key if isinstance(key, str) else i), parts, seen, out, method, split)


def _path_text(path: tuple) -> str:
    return "/".join(str(p) for p in _flat(path))


def twin_of(results: Any, path: tuple) -> str | None:
    """The path of the earlier row that holds the same test as ``path``, or None: the report
    shows it twice, it is counted and adjusted once.

    * The Mantel–Byar test of a toxicity from its onset is the log-rank test from infusion
      when no event occurred while a patient at risk still had that toxicity to come and no
      patient was left out for a follow-up of 0 days: every risk set is then the same
      (``TimeDependentComparison.n_events_affected``, ``n_zero_time``).
    * A kinetics comparison by a grouping that divides the patients with kinetics into the
      same groups as an earlier grouping (concurrent CRS and ICANS is ICANS when every patient
      with kinetics and ICANS also had CRS: ``Results.kinetics_same_split``) is that grouping's.

    Response and survival comparisons carry their own ``split`` (the outcome, the patients and
    their groups): :func:`collect_pvalues` pairs those with the same one, whatever the grouping."""
    head = path[0]
    if head == "time_dependent" and len(path) >= 2 and isinstance(path[1], tuple):
        endpoint, grouping = path[1]
        td = getattr(results, "time_dependent", {}).get((endpoint, grouping))
        if td is not None and td.n_events_affected == 0 and td.n_zero_time == 0:
            return f"survival/{endpoint}/{grouping}/logrank_p"
        return None
    if head in ("kinetics_peak", "kinetics_metrics") and hasattr(results, "kinetics_same_split"):
        key = path[1]
        grouping = key if isinstance(key, str) else key[-1]
        if grouping not in GROUPINGS:
            return None
        earlier = list(GROUPINGS)[: list(GROUPINGS).index(grouping)]
        twin = results.kinetics_same_split(grouping, earlier)
        if twin is None:
            return None
        twin_key = twin if isinstance(key, str) else (*key[:-1], twin)
        return _path_text((head, twin_key, *path[2:]))
    return None


def collect_pvalues(
    results: Any,
    alpha: float,
    family_map: Mapping[str, str | Callable[[tuple], str]] | None = None,
    names: Mapping[str, str] | None = None,
) -> PValueTable:
    """Every p-value the report prints, by family, adjusted within each family (see the module).

    ``family_map`` and ``names``: the field -> family map and the words of the keys of another
    report's results (the disease profiles': :func:`analysis.report.disease_results.disease_pvalues`);
    default :data:`FAMILIES` and the registry's words."""
    family_map = FAMILIES if family_map is None else family_map
    found: list[tuple[str, tuple, list[Any], str, float, str | None]] = []
    seen: set[int] = set()
    # comparisons of a response the registry does not collect (MRD-negative CR without MRD)
    # exist in the results only as empty shells: no p-value of the report, none of a family
    unreported = set(RESPONSES) - set(reported_responses(getattr(results, "not_collected", ())))
    for f in dataclasses.fields(results):
        if f.name in SKIPPED_FIELDS:
            continue
        family_of = family_map.get(f.name, f.name)
        out: list = []
        _walk(getattr(results, f.name), (f.name,), [], seen, out)
        for path, parts, test, p, split in out:
            if _not_tested(path):  # computed, but the tables say "not tested" and print none
                continue
            if unreported and unreported & set(_flat(path)):
                continue
            if "ph_tests_by_coef" in path:  # R's terms = FALSE rows: the per-term rows are printed
                continue
            if "ph_tests" in path:
                # the per-term tests of the manuscript's model are printed (their supplementary
                # table), those of the other models are not
                if path[0] != "cox":
                    continue
                model = results.cox[path[1]]
                parts = [*parts[:-2], ph_term_label(parts[-2], model), parts[-1]]
            family = family_of(path) if callable(family_of) else family_of
            family = FAMILY_OF_ATTRIBUTE.get(path[-1], family)
            if "ph_tests" in path:  # per-term proportional-hazards tests: model checks too
                family = "model_checks"
            found.append((family, path, parts, test, p, split))
    order = list(FAMILY_TITLES) + [f for f in dict.fromkeys(x[0] for x in found) if f not in FAMILY_TITLES]
    paths = {_path_text(x[1]) for x in found}
    twins = {_path_text(x[1]): t for x in found if (t := twin_of(results, x[1])) is not None and t in paths}
    # the same outcome on the same patients in the same groups, by the same test: one test (the
    # first row found holds it; each later one names it)
    first: dict[tuple, str] = {}
    for family, path, _, test, _, split in found:
        if split is None:
            continue
        text = _path_text(path)
        same = (family, split, path[-1], test)
        if same in first and text not in twins:
            twins[text] = first[same]
        first.setdefault(same, text)
    # a row may repeat one that itself repeats another (a Mantel–Byar test is the log-rank test by
    # a grouping that splits the patients as an earlier one does): each names the first
    for repeat, earlier in list(twins.items()):
        while earlier in twins and twins[earlier] != repeat:
            earlier = twins[earlier]
        twins[repeat] = earlier
    adjusted: dict[str, tuple[float, float]] = {}
    summaries: dict[str, FamilySummary] = {}
    for key in order:
        # each distinct test once: a row repeating another's is left out of its family's adjustment
        members = [x for x in found if x[0] == key and _path_text(x[1]) not in twins]
        if not members:
            continue
        ps = [x[4] for x in members]
        holm, bh = p_adjust(ps, "holm"), p_adjust(ps, "BH")
        for x, h, b in zip(members, holm, bh):
            adjusted[_path_text(x[1])] = (float(h or 0.0), float(b or 0.0))
        summaries[key] = FamilySummary(
            key,
            family_title(key),
            len(ps),
            sum(p < alpha for p in ps),
            sum(h is not None and h < alpha for h in holm),
            sum(b is not None and b < alpha for b in bh),
        )
    rows: list[PValueRow] = []
    for key in order:
        for _, path, parts, test, p, _ in (x for x in found if x[0] == key):
            text = _path_text(path)
            twin = twins.get(text)
            h, b = adjusted[twin if twin is not None else text]
            label = _label(parts, names) or family_title(key)
            rows.append(PValueRow(key, label, test, p, h, b, text, twin))
    families = tuple(summaries[k] for k in order if k in summaries)
    return PValueTable(tuple(rows), families, alpha)


def family_title(key: str) -> str:
    """The family's title (a family without a declared one: its field name, in words)."""
    return FAMILY_TITLES.get(key) or key.replace("_", " ").capitalize()
