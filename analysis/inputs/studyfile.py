"""The study file (``study.yml``): what a team says about its own study.

One YAML file holds everything that is the team's rather than the software's: the
title and authors, where the export is and when it was frozen, how the export's
headers and values map onto the data contract, what Methods says about the product,
and the analysis options. ``study.example.yml`` at the project root documents every key.

Precedence, for every setting: an explicit argument (command line, ``-P``) over the
study file over the defaults. Without a study file and without a cohort argument, the
bundled synthetic demo is used (its paths and its cut-off); once a cohort is named
anywhere, its cut-off must be named too (the demo's cut-off is never applied to
another export) and the kinetics table is only what is named with it.

Public API: :func:`read_study_file`, :func:`resolve_study`, :class:`StudySettings`,
:class:`StudyFileError`, :func:`load_settings`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from analysis.inputs import usertext, yamlstrict
from analysis.inputs.errors import DataRefused, InputError, clip
from analysis.inputs.loading import Study, check_cutoff, load_study, parse_cutoff
from analysis.inputs.paths import (
    PROJECT_DIR,
    check_regular,
    control_character,
    resolve_path,
)
from analysis.inputs.readers import ColumnMapping, is_marker_line, value_key
from analysis.inputs.redcap import Layout
from analysis.inputs.screening import Exclusion
from analysis.inputs.usertext import TEMPLATE_AFFILIATION, TEMPLATE_AUTHOR, TEMPLATE_TITLE
from analysis.registry.concepts import OPTIONS
from analysis.registry.contract import COHORT_FIELDS, DEFAULT_CUTOFF, KINETICS_FIELDS
from analysis.registry.demo_files import DEMO_COHORT_FILE, DEMO_KINETICS_FILE
from analysis.registry.diseases import DEFAULT_DISEASE
from analysis.registry.diseases import disease as disease_profile

#: The study file read when none is named and it exists in the working directory.
DEFAULT_STUDY_FILE = "study.yml"
#: A folder whose ``study.yml`` is not read by default (the test suite sets it to the project:
#: a team's own study file there must not change the demo the tests check; a new user's
#: ``make test`` failed 98 tests with one, review 30). Naming a study file still reads it.
IGNORE_DEFAULT_STUDY_ENV = "CARTOX_IGNORE_DEFAULT_STUDY_IN"


def default_study_file(base: Path) -> Path | None:
    """``base/study.yml`` when it exists and ``base`` is not the folder
    :data:`IGNORE_DEFAULT_STUDY_ENV` names; else None."""
    candidate = Path(base) / DEFAULT_STUDY_FILE
    if not candidate.exists():
        return None
    ignored = os.environ.get(IGNORE_DEFAULT_STUDY_ENV)
    if ignored and Path(ignored).resolve() == Path(base).resolve():
        return None
    return candidate


#: The bundled synthetic demo: used only when no cohort is named anywhere.
DEMO_COHORT = PROJECT_DIR / DEMO_COHORT_FILE
DEMO_KINETICS = PROJECT_DIR / DEMO_KINETICS_FILE
DEMO_CUTOFF = DEFAULT_CUTOFF

DEMO_TITLE = "Cytokine release syndrome, ICANS and the efficacy of anti-CD19 CAR-T therapy in relapsed/refractory B-ALL"
DEMO_SUBTITLE = "A worked example on the bundled synthetic cohort"
DEFAULT_TITLE = "Toxicity and efficacy of CAR-T cell therapy: a cohort report"
DEMO_AUTHOR = "The cartox team"

#: The values the older template proposed instead (review 29: a study file written before the
#: placeholders printed "CAR-T cell therapy cohort report" and "Your Name" as if they were real):
#: read as the placeholders, so that they are listed too.
OLD_TEMPLATE_VALUES = {
    "CAR-T cell therapy cohort report": TEMPLATE_TITLE,
    "Your Name": TEMPLATE_AUTHOR,
    "Your institution": TEMPLATE_AFFILIATION,
}


def _unedited(value):
    """A title, name or affiliation (or list of them) with the older template's values read as
    the placeholders they stand for."""
    if isinstance(value, list):
        return [_unedited(v) for v in value]
    return OLD_TEMPLATE_VALUES.get(value.strip(), value) if isinstance(value, str) else value


#: The product of the publication the demo is calibrated to (the demo's Methods).
DEMO_PRODUCT_KEYS = dict(
    target="CD19", costimulatory_domain="4-1BB", vector="lentiviral", lymphodepletion="fludarabine–cyclophosphamide"
)

#: A parameter value meaning "no kinetics table" (an empty value means "not given").
NO_KINETICS = "none"


class StudyFileError(ValueError):
    """A study file that cannot be used, or settings that do not make a study; the
    message names the file and the key."""


# --------------------------------------------------------------------------- schema
# pydantic models: unknown keys are errors (a typo such as `cuttoff:` must not be ignored).


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # .nan, .inf, 1e400: refused


def _no_truth_value(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            "a number is expected, not a truth value (YAML reads an unquoted yes/no/on/off/true/false as "
            f"{str(value).lower()}): write the number, or null where the option may be left unset"
        )
    return value


#: The numbers of a study file: types that refuse a truth value. YAML reads an unquoted
#: yes/no/on/off/true/false as one, and pydantic's lax mode made it 1 or 0 (attack 29/12:
#: ``min_cell_size: yes`` turned the per-center pooling off, ``sensitivity_landmark_day: no``
#: fitted a model at day 0). Otherwise lax: YAML 1.1 reads ``1e-4`` as text, pydantic as the
#: number (and its NaN/infinity check applies).
Whole = Annotated[int, BeforeValidator(_no_truth_value)]
Real = Annotated[float, BeforeValidator(_no_truth_value)]


def _not_a_number_date(value: Any) -> Any:
    """A date written as a number (``20230301``, a common export style) is refused with the
    format to write; pydantic read it as seconds since 1970 and spoke of "zero time"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = str(value)
        guess = f" ({digits[:4]}-{digits[4:6]}-{digits[6:]}?)" if isinstance(value, int) and len(digits) == 8 else ""
        raise ValueError(f"{value} is a number, not a date: write the date as YYYY-MM-DD{guess}")
    return value


def _blank_is_absent(value: Any) -> Any:
    """A text of spaces only (a blank cell of a templated study file) is no text: absent."""
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, list):
        kept = [v for v in value if not (isinstance(v, str) and not v.strip())]
        return kept or None
    return value


#: An optional text of the study file printed in the documents (title, product, affiliation):
#: blank or spaces only is absent, as a declaration left blank is (attack 29/09: `title: "  "`
#: printed a manuscript without a title, `target: " "` "autologous -directed CAR-T cells").
Text = Annotated[str | None, BeforeValidator(_blank_is_absent)]


def strict_numbers(annotation: Any) -> Any:
    """``annotation`` with every int and float (inside ``X | None``, lists and mapping values)
    made :data:`Whole` and :data:`Real`: how the analysis plan's kinds (the registry's plain
    types) become the study file's, in this one place."""
    if annotation is int:
        return Whole
    if annotation is float:
        return Real
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(strict_numbers(a) for a in args)]  # noqa: UP007  (built from a tuple)
    if origin is list:
        return list[strict_numbers(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[args[0], strict_numbers(args[1])]  # type: ignore[misc,valid-type]  # keys: 7 or "7", one day
    return annotation


class Author(_Model):
    """One author; ``affiliation`` is one or several institutions."""

    name: str = Field(min_length=1)
    affiliation: Annotated[str | list[str] | None, BeforeValidator(_blank_is_absent)] = None
    email: Text = None
    orcid: str | None = Field(default=None, pattern=r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
    corresponding: bool = False

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the author's name is blank: write the name, or remove the author")
        return value

    @property
    def affiliations(self) -> tuple[str, ...]:
        if self.affiliation is None:
            return ()
        return (self.affiliation,) if isinstance(self.affiliation, str) else tuple(self.affiliation)


class DataSection(_Model):
    cohort: str | None = None
    kinetics: str | None = None
    cutoff: dt.date | None = None
    sheet: str | None = None

    @field_validator("cohort", "kinetics", "sheet")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        """An empty name is refused (data/README.md), never read as "not given": an empty
        cohort would fall back to the synthetic demo."""
        if value is not None and not value.strip():
            raise ValueError(
                "an empty name: write the file's name (kinetics: `none` for no table), or leave the key out"
            )
        if value is not None and (what := control_character(value)) is not None:
            # a "\n" or "\0" escape: a name no one can read off the file (and a NUL no system
            # call accepts), refused when the file is read, before anything resolves it
            raise ValueError(
                f"the name {value!r} holds {what}: rename the file without it and write its name as it reads"
            )
        return value

    @model_validator(mode="after")
    def _cohort_written(self):
        if "cohort" in self.model_fields_set and self.cohort is None:  # `cohort:` with nothing after it
            raise ValueError("cohort: no file name after `cohort:`: write the file's name, or leave the key out")
        return self

    _cutoff_written = field_validator("cutoff", mode="before")(lambda cls, value: _not_a_number_date(value))

    @field_validator("cutoff")
    @classmethod
    def _cutoff(cls, value: dt.date | None) -> dt.date | None:
        return None if value is None else check_cutoff(value)


class Product(_Model):
    """What Methods says about the CAR-T product and the regimen; absent keys are left out
    of the sentence (neutral wording), never filled with the publication's product."""

    name: Text = None
    target: Text = None
    costimulatory_domain: Text = None
    vector: Text = None
    lymphodepletion: Text = None


def _option_field(option) -> tuple[Any, Any]:
    """(annotation, Field) of an option: default, bounds and description from the registry."""
    bounds: dict[str, Any] = dict(option.bounds)
    kind = strict_numbers(option.kind if option.kind is not None else type(option.default))
    if isinstance(option.default, list | dict):
        default = option.default
        field_ = Field(default_factory=lambda: copy.deepcopy(default), description=option.description, **bounds)
    else:
        field_ = Field(default=option.default, description=option.description, **bounds)
    return kind, field_


def _check_choices(option, value, disease: str | None = None):
    """A value outside the option's valid names (those of the ``disease`` profile for an option
    that depends on it) is an error listing them."""
    valid = option.valid(disease)
    if not valid or value is None:
        return value
    if isinstance(value, dict):
        names, what = list(value), "name"
    elif isinstance(value, list):
        names, what = value, "name"
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"named twice: {', '.join(repeated)}")
    else:
        names, what = [value], "value"
    unknown = [str(name) for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"unknown {what}{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the valid ones{_for_disease(option, disease)} are: {', '.join(valid)}"
        )
    return value


def _for_disease(option, disease: str | None) -> str:
    """' for disease: mm' when an option's valid names are those of a profile other than B-ALL."""
    return f" for disease: {disease}" if option.by_disease and disease not in (None, DEFAULT_DISEASE) else ""


def _distinct_days(cls, value: Any) -> Any:
    """``visit_windows``: two keys that are one day (``7`` and ``"7"``) are an error naming
    both (read as whole numbers, the last would win silently)."""
    if isinstance(value, dict):
        seen: dict[str, Any] = {}
        for key in value:
            day = str(key).strip()
            if re.fullmatch(r"[+-]?[0-9]+", day):
                day = str(int(day))  # "07", "+7" and 7 are day 7
            if day in seen:
                raise ValueError(f"{seen[day]!r} and {key!r} are the same day: keep one of them")
            seen[day] = key
    return value


def _check_read_by(option, disease: str | None) -> None:
    """An option the ``disease`` profile's report does not read is an error naming those it
    does (a setting silently ignored would let a team believe its plan was followed)."""
    key = disease or DEFAULT_DISEASE
    if option.diseases is not None and key not in option.diseases:
        read = ", ".join(o.key for o in OPTIONS.values() if o.diseases is None or key in o.diseases)
        only = ", ".join(option.diseases)
        raise ValueError(
            f"is read by the {only.upper()} report only, not by the {key.upper()} report, which reads: {read}; "
            "remove it from the study file"
        )


def _options_validator(cls, value, info):
    option = OPTIONS[info.field_name]
    _check_read_by(option, _context_disease(info))
    value = _check_choices(option, value, _context_disease(info))
    return option.check(value) if option.check is not None and value is not None else value


def _context_disease(info) -> str | None:
    """The study file's disease profile, passed to the ``analysis:`` section's validators as the
    validation context (:func:`read_study_file`); None (B-ALL) when it is not given or invalid
    (its own error says so)."""
    given = (info.context or {}).get("disease")
    try:
        return disease_profile(given).key
    except ValueError:
        return None


#: The ``analysis:`` section: one field per :data:`analysis.registry.concepts.OPTIONS` entry,
#: whose type, default, bounds, description, valid names and check come from there (the single
#: definition of the analysis plan; ``study.example.yml`` documents every key).
if TYPE_CHECKING:  # the fields are made at run time; to mypy, each is an Any attribute

    class AnalysisOptions(_Model):
        def __getattr__(self, name: str) -> Any: ...

else:
    AnalysisOptions = create_model(
        "AnalysisOptions",
        __base__=_Model,
        __validators__={
            "choices": field_validator(*OPTIONS, mode="after")(_options_validator),
            "distinct_days": field_validator("visit_windows", mode="before")(_distinct_days),
        },
        **{key: _option_field(option) for key, option in OPTIONS.items()},
    )


class Declarations(_Model):
    """What the data cannot say and a journal asks for (STROBE items 4-6 and 22, and the
    declarations at the end of the manuscript). Each key left out is printed as a visible
    "[to be completed: ...]" and listed at the end of the render. ``design``, ``registry``,
    ``setting`` and the ethics committee and approval number are phrases placed in a
    sentence; the others are sentences of the team's own."""

    design: str | None = None  # "retrospective multicenter cohort study"
    registry: str | None = None  # "the Example CAR-T registry" (where the data come from)
    setting: str | None = None  # "university hospitals" (after "The 2 participating centers were")
    region: str | None = None  # "Germany", "the north of England": where the centers are
    eligibility: str | None = None  # sentences: inclusion and exclusion criteria
    relapse: str | None = None  # sentence: how relapse after CR was defined
    #: sentence(s), STROBE 8: where the grades and responses come from, who assessed them, and
    #: whether the assessment was alike across centers and groups (central review, one criteria)
    measurement: str | None = None
    ethics_committee: str | None = None
    ethics_approval: str | None = None  # the approval number
    ethics: str | None = None  # instead of committee and number: the team's own sentence(s)
    consent: str | None = None
    funding: str | None = None
    conflicts: str | None = None
    data_availability: str | None = None
    #: sentence(s): why each covariate the plan enters at a cut-off (covariate_cutoffs) is cut there
    cutoff_rationale: str | None = None


def demo_declarations(profile) -> Declarations:
    """The worked example of a disease profile's bundled demo (LBCL, MM): the B-ALL demo's
    declarations with the data source, the eligibility and the data availability of that demo;
    no definition of relapse (the profile's response criteria define progression)."""
    demo = profile.demo
    product = dict(demo.product).get("name", "CAR-T cells")
    return DEMO_DECLARATIONS.model_copy(
        update=dict(
            registry=(
                f"a synthetic data set generated by cartox to reproduce the published summary figures of {demo.source}"
            ),
            eligibility=(
                f"Patients with {profile.name} who received an infusion of {product} at a participating "
                "center were eligible; no infused patient was excluded."
            ),
            relapse=None,
            data_availability=(
                f"The synthetic data set is distributed with cartox ({demo.cohort}) and can be regenerated "
                f"byte for byte with the command python -m analysis synthesize --disease {profile.key}."
            ),
        )
    )


#: The worked example of the bundled demo: what it truthfully declares (synthetic data).
DEMO_DECLARATIONS = Declarations(
    design="retrospective multicenter cohort study",
    registry=(
        "a synthetic data set generated by cartox to reproduce the published summary figures of a "
        "multicenter study of CD19-directed CAR-T cells in relapsed or refractory B-ALL"
    ),
    setting="the centers of that study, numbered and not named",
    region="an unnamed country",  # the publication does not name it
    eligibility=(
        "Patients with relapsed or refractory B-ALL who received an infusion of CD19-directed CAR-T "
        "cells at a participating center were eligible, whatever their age and previous treatment; "
        "no infused patient was excluded."
    ),
    relapse=(
        "Relapse was the reappearance, after CR, of blasts in the blood, of 5% or more blasts in the "
        "marrow, or of extramedullary disease; measurable residual disease alone did not count as relapse."
    ),
    measurement=(
        "The grades, responses and dates are those the generator drew, so no assessment was made (a study "
        "of real patients says here who graded CRS and ICANS and assessed response, from which records, "
        "and whether centrally and alike at every center)."
    ),
    cutoff_rationale=(
        "Marrow blasts were dichotomized at the cut-off of the study whose analysis this example follows, "
        "which separates a high from a low leukemic burden before lymphodepletion."
    ),
    consent="Consent was not needed, for the same reason.",
    ethics=(
        "Ethics approval was not required for this worked example: its data are synthetic and describe "
        "no patient (a study of real patients names its ethics committee and approval number here)."
    ),
    funding="This worked example received no funding.",
    conflicts="The authors of cartox declare no conflict of interest.",
    data_availability=(
        "The synthetic data set is distributed with cartox (data/cohort.csv and data/kinetics.csv) "
        "and can be regenerated byte for byte with the command python -m analysis synthesize."
    ),
)


#: The most exclusion reasons ``screening: excluded:`` may list, and the longest reason (in
#: characters): each reason is a box of the cohort-flow figure and a clause of Results, so
#: a reason is a short phrase ("consent withdrawn"), not a paragraph, and a longer list is
#: grouped into broader reasons (STROBE 13b asks for the reasons, not a line per patient).
MAX_EXCLUSION_REASONS = 30
#: A generous bound (the figure shows 3 lines of a reason, Results all of it): it stops a
#: runaway paragraph (attack 30: one reason of 190,000 words) without refusing a long one.
MAX_REASON_CHARS = 5000


class ExclusionEntry(_Model):
    """One reason why screened patients are not analyzed (``screening: excluded:``): either
    ``count``, patients the export does not contain, or ``column`` and ``values``, the rows of
    the export whose column holds one of the values (text, case and surrounding spaces
    ignored), left out before validation and counted (:mod:`analysis.inputs.screening`)."""

    reason: str = Field(min_length=1)  # "consent withdrawn", "product not infused"
    count: Whole | None = Field(default=None, ge=0, le=10_000_000)  # a typo of many digits is refused
    column: str | None = Field(default=None, min_length=1)
    values: list[str | int | float] = []

    @field_validator("values", mode="before")
    @classmethod
    def _no_booleans(cls, values):
        if isinstance(values, list) and any(isinstance(v, bool) for v in values):
            raise ValueError('YAML reads an unquoted yes/no/true/false as a truth value: quote each value ("No")')
        return values

    @model_validator(mode="after")
    def _count_or_rule(self):
        if not self.reason.strip():
            raise ValueError("reason is empty: say why these patients are not analyzed")
        if len(self.reason.strip()) > MAX_REASON_CHARS:
            raise ValueError(
                f"reason is {len(self.reason.strip()):,} characters long: a reason may have at most "
                f'{MAX_REASON_CHARS:,} characters (a short phrase such as "consent withdrawn", shown in '
                "the cohort-flow figure)"
            )
        rule = self.column is not None or bool(self.values)
        if self.count is not None and rule:
            raise ValueError(
                "give either count (patients the export does not contain) or column and values "
                "(rows of the export to leave out), not both"
            )
        if self.count is None and not rule:
            raise ValueError("give count (patients the export does not contain) or column and values (a rule)")
        if rule and (self.column is None or not self.values):
            raise ValueError("a rule needs both column (a column of the export) and values (those that exclude)")
        return self

    def exclusion(self, index: int) -> Exclusion:
        return Exclusion(
            reason=self.reason.strip(),
            count=self.count,
            column=self.column,
            values=tuple(str(v) for v in self.values),
            where=f"screening: excluded[{index + 1}]",
        )


class Screening(_Model):
    """``screening:``: the patients screened and not analyzed, with reasons (STROBE 13a/13b).
    ``excluded`` left out: not declared (a visible placeholder); an empty list: none excluded."""

    excluded: list[ExclusionEntry] | None = None

    @field_validator("excluded", mode="before")
    @classmethod
    def _few_reasons(cls, excluded):
        if isinstance(excluded, list) and len(excluded) > MAX_EXCLUSION_REASONS:
            raise ValueError(
                f"{len(excluded):,} exclusion reasons: at most {MAX_EXCLUSION_REASONS} may be listed "
                "(each is a box of the cohort-flow figure): group them into broader reasons"
            )
        return excluded

    @property
    def exclusions(self) -> tuple[Exclusion, ...] | None:
        """The declared reasons (None: not declared)."""
        if self.excluded is None:
            return None
        return tuple(e.exclusion(i) for i, e in enumerate(self.excluded))


#: The bundled demo's screening: the publication reports no patient excluded after enrolment
#: (it enrolled 93 patients, all infused and analysed), so none is declared.
DEMO_SCREENING = Screening(excluded=[])


class JournalLimits(_Model):
    """The journal's limits the render checks (and warns about when exceeded)."""

    abstract_words: Whole = Field(default=300, ge=50)
    main_text_words: Whole = Field(default=4000, ge=500)
    displays: Whole = Field(default=8, ge=1)  # figures and tables in the manuscript


class RedcapSection(_Model):
    """``redcap:``: how a REDCap flat export splits into the cohort and the kinetics table
    (:class:`analysis.inputs.redcap.Layout`); proposed by ``map``."""

    kinetics_instrument: str | None = None
    kinetics_events: dict[str, Whole | None] = {}

    @property
    def layout(self) -> Layout:
        return Layout(self.kinetics_instrument, dict(self.kinetics_events))


_Scalar = str | int | float | bool


class _StudyModel(_Model):
    #: the disease profile (analysis.registry.diseases): b-all (default), lbcl, mm; first,
    #: so that the validators of the column names below read its contract
    disease: str = DEFAULT_DISEASE
    title: Text = None  # written but blank: a visible placeholder (resolve_study)
    subtitle: Text = None
    authors: list[Author] = []
    date: dt.date | Literal["today"] | None = None
    data: DataSection = DataSection()
    columns: dict[str, str] = {}
    kinetics_columns: dict[str, str] = {}
    values: dict[str, dict[_Scalar, _Scalar | None]] = {}
    date_format: str | None = None
    redcap: RedcapSection = RedcapSection()
    not_collected: list[str] = []
    product: Product | list[Product] = Product()  # one product, or a list when several were used
    declarations: Declarations = Declarations()
    screening: Screening = Screening()
    journal: JournalLimits = JournalLimits()
    analysis: AnalysisOptions = AnalysisOptions()

    _date_written = field_validator("date", mode="before")(lambda cls, value: _not_a_number_date(value))

    @field_validator("disease")
    @classmethod
    def _disease(cls, value: str) -> str:
        return disease_profile(value).key  # an unknown value: the error lists the valid ones

    @field_validator("not_collected")
    @classmethod
    def _optional_columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        fields = _cohort_fields(info)
        optional = [f.name for f in fields if f.optional_column]
        wrong = [name for name in value if name not in optional]
        if wrong:
            required = [name for name in wrong if name in {f.name for f in fields}]
            why = (
                f"{', '.join(map(repr, required))} cannot be left out: the report needs it. "
                if required
                else f"unknown column {', '.join(map(repr, wrong))}. "
            )
            raise ValueError(f"{why}Only these columns may be not collected: {', '.join(optional)}")
        return value

    @model_validator(mode="after")
    def _one_kinetics_source(self):
        if self.redcap.layout.has_kinetics and self.data.kinetics and self.data.kinetics.strip().lower() != "none":
            raise ValueError(
                "data.kinetics names a kinetics file and redcap: names the export's kinetics rows: "
                "keep one (the kinetics come from one place)"
            )
        return self

    @field_validator("columns", "values")
    @classmethod
    def _cohort_names(cls, value: dict, info: ValidationInfo) -> dict:
        return _known_names(value, _cohort_fields(info) + KINETICS_FIELDS)

    @field_validator("values")
    @classmethod
    def _distinct_values(cls, value: dict) -> dict:
        """Two export values of a column that are one once case and spaces are ignored
        (``"F"`` and ``" f "``; ``yes`` and ``"true"``): an error naming both (the
        reader matches them alike, so the last would win silently)."""
        for column, table in value.items():
            seen: dict[str, Any] = {}
            for key in table:
                same = value_key(key)
                if same in seen:
                    raise ValueError(
                        f"{column}: {seen[same]!r} and {key!r} are the same export value once case "
                        "and spaces are ignored: keep one of them"
                    )
                seen[same] = key
        return value

    @field_validator("kinetics_columns")
    @classmethod
    def _kinetics_names(cls, value: dict) -> dict:
        return _known_names(value, KINETICS_FIELDS)

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not all(code in value for code in ("%d", "%m")) or not re.search(r"%[Yy]", value):
            raise ValueError(f'{value!r} must contain %d, %m and %Y (e.g. "%d/%m/%Y")')
        probe = dt.date(2021, 3, 24)
        try:  # strptime compiles the format to a regular expression: a directive written twice cannot be
            read_back = dt.datetime.strptime(probe.strftime(value), value).date()
        except re.error as exc:
            if "redefinition of group name" in str(exc):
                raise ValueError(f"{value!r} names a directive twice ({_repeated_directives(value)})") from None
            raise ValueError(f"{value!r} is not a date format strptime can read ({exc.msg})") from None
        except ValueError as exc:  # a bad directive ("%Q"), or a format that cannot read what it writes
            raise ValueError(f"{value!r} is not a date format strptime can read ({exc})") from None
        if read_back != probe:
            raise ValueError(f"{value!r} does not read back the dates it writes")
        return value


def _repeated_directives(value: str) -> str:
    """The directives a date format names more than once: '%d twice'."""
    directives = re.findall(r"%.", value.replace("%%", ""))
    twice = [d for d in dict.fromkeys(directives) if directives.count(d) > 1]
    return ", ".join(f"{d} {directives.count(d)} times" if directives.count(d) > 2 else f"{d} twice" for d in twice)


def _cohort_fields(info: ValidationInfo):
    """The cohort contract of the study file's disease profile (B-ALL when it is invalid)."""
    try:
        return disease_profile(info.data.get("disease")).fields
    except ValueError:
        return COHORT_FIELDS


def _known_names(mapping: dict, fields) -> dict:
    names = [f.name for f in fields]
    unknown = [key for key in mapping if key not in names]
    if unknown:
        raise ValueError(
            f"unknown contract column {', '.join(map(repr, unknown))}; "
            f"the contract's columns are: {', '.join(dict.fromkeys(names))}"
        )
    return mapping


DEMO_PRODUCT = Product(**DEMO_PRODUCT_KEYS)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StudyFile:
    """A study file as written, paths resolved against the file's folder."""

    path: Path
    model: _StudyModel

    def data_path(self, value: str | None, key: str = "data") -> Path | None:
        if value is None or not str(value).strip():
            return None
        if (what := control_character(value)) is not None:  # never passed to the system (a NUL: ValueError)
            raise StudyFileError(
                f"{self.path}: {key}: the file name {_shown(value)} holds {what}: rename the file without it "
                "and write its name as it reads"
            )
        return resolve_path(value, self.path.parent)


def _shown(value) -> str:
    """A name as a message may show it: in quotes, control characters escaped (``'x\\x00.csv'``)."""
    return repr(str(value))


def _argument_path(value, what: str, base: Path) -> Path:
    """A path given as an argument (``--cohort``, ``--study``, ``-P cohort:``): one holding a NUL,
    a line break or another control character is refused naming the argument."""
    if (character := control_character(value)) is not None:
        raise StudyFileError(
            f"the {what} argument {_shown(value)} holds {character}: a file name cannot hold one; "
            "write the name as it reads"
        )
    return resolve_path(value, base)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_characters(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(key path, text) of every key or value holding a lone surrogate (YAML's ``"\\ud800"``
    escape reads as one; Pandoc, Typst and any UTF-8 file refuse it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            inner = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                yield inner.encode("utf-8", "backslashreplace").decode("utf-8"), key
            yield from _not_characters(value, inner)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _not_characters(value, f"{where}[{i}]")
    elif isinstance(node, str) and _SURROGATE.search(node):
        yield where.encode("utf-8", "backslashreplace").decode("utf-8") or "(top level)", node


def _not_finite(node: Any, where: tuple = ()) -> Iterator[tuple[tuple, float]]:
    """(key path, value) of every NaN or infinite number (``.nan``, ``.inf``, ``1e400``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, float) and not math.isfinite(key):
                yield (*where, key), key
            yield from _not_finite(value, (*where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _not_finite(value, (*where, i))
    elif isinstance(node, float) and not math.isfinite(node):
        yield where, node


def read_study_file(path) -> StudyFile:
    """Read and check a study file; :class:`StudyFileError` lists every problem found."""
    path = Path(path)
    try:
        text = yamlstrict.read_limited(path).decode("utf-8")
    except OSError as exc:
        raise StudyFileError(f"{path}: cannot read the study file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StudyFileError(f"{path}: not UTF-8 text; save the study file as UTF-8") from None
    except yamlstrict.StrictYAMLError as exc:
        raise StudyFileError(f"{path}: {exc}") from None
    try:
        raw = yamlstrict.load(text)  # duplicate keys, aliases, excessive depth or size: refused
    except yamlstrict.StrictYAMLError as exc:
        raise StudyFileError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise StudyFileError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if raw is None:
        raw = {}
    if broken := list(_not_characters(raw)):
        raise StudyFileError(
            f"{path}: "
            + "; ".join(
                f"{where}: holds '{clip(text, 40)}', a lone surrogate (an escape such as \\ud800 that is no "
                "character; no document can print it): remove it"
                for where, text in broken[:5]
            )
        )
    if not isinstance(raw, dict):
        raise StudyFileError(f"{path}: a study file is a set of `key: value` lines, not a {type(raw).__name__}")
    if infinite := list(_not_finite(raw)):  # also where a key takes any value (a `values:` table)
        raise StudyFileError(
            f"{path}: "
            + "; ".join(
                f"{'.'.join(map(str, loc))}: {value!r} is not a finite number (NaN, infinity or beyond 1e308): "
                f"write the number{_line(text, loc)}"
                for loc, value in infinite[:5]
            )
        )
    raw = {key: value for key, value in raw.items() if value is not None}  # a section left empty
    try:
        # the disease chooses the columns the analysis plan can name (its covariates): the
        # ``analysis:`` section's validators read it from the context
        return StudyFile(path, _StudyModel.model_validate(raw, context={"disease": raw.get("disease")}))
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {_pydantic_message(err)}"
            + _line(text, err["loc"])
            for err in exc.errors()
        ]
        raise StudyFileError(
            f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n" + "\n".join(problems)
        ) from None


def _line(text: str, loc: tuple) -> str:
    """Where a problem is: ' (line 5)', the line of the deepest key of the file on its path
    (pydantic's path may end in the name of a type it tried: ``str``, ``list[str]``)."""
    line = yamlstrict.line_of(text, loc) if loc else None
    return f" (line {line})" if line is not None else ""


def _pydantic_message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (see study.example.yml for the keys a study file can hold)"
    if err["type"] == "finite_number":
        return f"must be a finite number, not {err.get('input')!r} (NaN, infinity or beyond 1e308)"
    message = err["msg"]
    return message.removeprefix("Value error, ")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class StudySettings:
    """The effective settings of one report: every value resolved, with its origin."""

    title: str
    subtitle: str | None
    authors: tuple[Author, ...]
    date: dt.date
    cohort: Path
    kinetics: Path | None
    cutoff: dt.date
    sheet: str | None
    mapping: ColumnMapping
    product: Product | tuple[Product, ...]
    analysis: AnalysisOptions
    study_file: Path | None
    is_demo: bool
    origins: dict[str, str] = field(default_factory=dict)
    declarations: Declarations = Declarations()
    #: patients screened and not analysed, with reasons (``screening:``)
    screening: Screening = Screening()
    journal: JournalLimits = JournalLimits()
    #: how a REDCap flat export splits (None: not a REDCap export, or nothing to say)
    layout: Layout | None = None
    #: optional columns the registry does not collect (the study file's ``not_collected``)
    not_collected: tuple[str, ...] = ()
    #: the disease profile (analysis.registry.diseases.DISEASES key)
    disease: str = DEFAULT_DISEASE

    @property
    def date_text(self) -> str:
        """'27 November 2026'."""
        return format_date(self.date)

    def metadata_block(self, extra: dict | None = None, title: str | None = None, subtitle: str | None = None) -> str:
        """A YAML metadata block (title, subtitle, authors, date) for the document.

        A chunk displays it as Markdown: Pandoc reads metadata blocks anywhere in a
        document and the later block wins, so the study file sets the title block in
        every renderer and format. The authors are printed by :meth:`byline` in the body:
        Quarto's Typst title block ignores authors set after the front matter. ``title``
        and ``subtitle``: another document's (the supplement's) instead of the study's.
        """
        # Pandoc reads metadata strings as Markdown: the study file's are escaped
        # (analysis.inputs.usertext: emphasis, super- and subscripts allowed, nothing else)
        own = title is None
        title = str(usertext.styled(self.title if own else title))
        subtitle = self.subtitle if own else subtitle
        meta: dict[str, Any] = {"title": title, "pagetitle": title}
        if subtitle:
            meta["subtitle"] = str(usertext.styled(subtitle))
        meta["date"] = self.date_text
        meta.update(extra or {})
        return "---\n" + metadata_yaml(meta) + "---\n"

    def byline(self) -> str:
        """Authors with numbered affiliations, and the corresponding author (Markdown; every
        study-file string escaped as text, the e-mail a ``mailto:`` link)."""
        if not self.authors:
            return ""
        institutions: list[str] = []
        for author in self.authors:
            for place in author.affiliations:
                if place not in institutions:
                    institutions.append(place)
        names = []
        for author in self.authors:
            marks = ",".join(str(institutions.index(p) + 1) for p in author.affiliations)
            mark = f"^{marks}^" if marks and len(institutions) > 1 else ""
            star = "\\*" if author.corresponding else ""
            orcid = f" (ORCID [{author.orcid}](https://orcid.org/{author.orcid}))" if author.orcid else ""
            names.append(f"{usertext.plain(author.name)}{mark}{star}{orcid}")
        lines = [", ".join(names)]
        if len(institutions) > 1:
            lines += [f"^{i}^ {usertext.plain(place)}" for i, place in enumerate(institutions, start=1)]
        elif institutions:
            lines.append(usertext.plain(institutions[0]))
        corresponding = [a for a in self.authors if a.corresponding]
        if corresponding:
            who = corresponding[0]
            contact = f": {usertext.mailto(who.email)}" if who.email else ""
            lines.append(f"\\* Corresponding author{contact}")
        return "::: {.byline}\n" + "\n\n".join(lines) + "\n:::\n"

    @property
    def products(self) -> tuple[Product, ...]:
        """The product(s) of the study file, each stated at least in part."""
        given = self.product if isinstance(self.product, tuple) else (self.product,)
        return tuple(p for p in given if any((p.name, p.target, p.costimulatory_domain, p.vector, p.lymphodepletion)))

    def product_sentence(self) -> usertext.MarkdownText:
        """What Methods says about the product(s), from the study file; neutral when absent;
        several products: 'Patients received one of 2 products: ...; or ...'.

        Markdown (:class:`~analysis.inputs.usertext.MarkdownText`): each field is escaped
        as text, with emphasis and super/subscripts allowed (``CD19^+^``)."""
        products = self.products
        if not products:
            return usertext.MarkdownText("")  # nothing stated: nothing assumed
        if len(products) == 1:
            return usertext.MarkdownText(f"Patients received {_product_phrase(products[0])}.")
        phrases = [_product_phrase(p) for p in products]
        return usertext.MarkdownText(
            f"Patients received one of {len(phrases)} products: " + "; ".join(phrases[:-1]) + f"; or {phrases[-1]}."
        )


class _Quoted(str):
    """A metadata string value, written in double quotes (:func:`metadata_yaml`)."""


class _MetadataDumper(yaml.SafeDumper):
    pass


_MetadataDumper.add_representer(
    _Quoted, lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')
)


def _quoted(node: Any) -> Any:
    if isinstance(node, str):
        return _Quoted(node)
    if isinstance(node, dict):
        return {key: _quoted(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_quoted(value) for value in node]
    return node


def metadata_yaml(meta: dict) -> str:
    """A document's metadata as YAML with every string value in double quotes.

    PyYAML (YAML 1.1 for its own reading) leaves ``y``, ``n``, ``0o17``, ``1e3`` or ``0x10``
    unquoted, which Pandoc's YAML reader takes for a boolean or a number: ``title: y``
    printed "true" in the HTML title and left the DOCX without one, ``subtitle: n`` vanished,
    ``0o17`` became 15. A double-quoted scalar is a string to every YAML reader."""
    return yaml.dump(_quoted(meta), Dumper=_MetadataDumper, sort_keys=False, allow_unicode=True, width=10_000)


def _product_phrase(p: Product) -> str:
    """'CD19-directed CAR-T cells (tisagenlecleucel; 4-1BB co-stimulation, lentiviral
    transduction) after fludarabine–cyclophosphamide lymphodepletion' (Markdown, each field
    escaped as text): one parenthesis for the name and the construct; a key left out is left
    out, and nothing is said that no key states (no "autologous": the study file has no key
    for the cells' source)."""
    styled = usertext.styled
    cells = f"{styled(p.target)}-directed CAR-T cells" if p.target else "CAR-T cells"
    details = [
        d
        for d in (
            f"{styled(p.costimulatory_domain)} co-stimulation" if p.costimulatory_domain else None,
            f"{styled(p.vector)} transduction" if p.vector else None,
        )
        if d
    ]
    inside = "; ".join(x for x in (styled(p.name) if p.name else "", ", ".join(details)) if x)
    if inside:
        cells += f" ({inside})"
    if p.lymphodepletion:
        cells += f" after {styled(p.lymphodepletion)} lymphodepletion"
    return cells


def format_date(day: dt.date) -> str:
    """'27 November 2026' (no leading zero, English month)."""
    return f"{day.day} {day.strftime('%B %Y')}"


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


#: How far after the day of the render a manuscript's date may lie (a date set for a submission).
DATE_AHEAD = dt.timedelta(days=366)


def _check_report_date(sf: StudyFile, day: dt.date, cutoff: dt.date, today: dt.date) -> None:
    """The manuscript's ``date:`` on or after the data cut-off and at most :data:`DATE_AHEAD`
    after today (attack 29/13: ``date: 1900-01-01`` printed "1 January 1900" above a March
    2023 cut-off, ``9999-12-31`` was accepted); otherwise an error naming the line."""
    if cutoff <= day <= today + DATE_AHEAD:
        return
    try:
        line = yamlstrict.line_of(sf.path.read_text(encoding="utf-8"), ("date",))
    except (OSError, UnicodeDecodeError, yamlstrict.StrictYAMLError):
        line = None
    at = f" (line {line})" if line is not None else ""
    why = (
        f"is before the data cut-off {cutoff.isoformat()}: a manuscript is written after its data were frozen"
        if day < cutoff
        else f"is more than a year after today ({today.isoformat()})"
    )
    raise StudyFileError(
        f"{sf.path}: date: {day.isoformat()}{at} {why}; write the manuscript's date as YYYY-MM-DD, or `today`"
    )


def resolve_study(
    study=None,
    *,
    cohort=None,
    kinetics="",
    cutoff=None,
    sheet=None,
    base: Path | None = None,
    today: dt.date | None = None,
    disease=None,
) -> StudySettings:
    """Effective settings: arguments > study file > defaults (see the module docstring).

    ``study``: a study-file path, or None/"" to use ``study.yml`` in ``base`` when it
    exists. ``kinetics``: a path; ``None`` or ``"none"`` for no kinetics table; ``""``
    (the default) for "not given".
    Relative argument paths are taken against ``base`` (default: the working directory).
    """
    base = Path.cwd() if base is None else Path(base)
    today = dt.date.today() if today is None else today
    origins: dict[str, str] = {}
    sf: StudyFile | None = None
    if _given(study):
        sf = read_study_file(_argument_path(study, "study", base))
    elif (default := default_study_file(base)) is not None:  # a pipe or a device: refused by the reader
        sf = read_study_file(default)
    m = sf.model if sf else _StudyModel()
    where = f"{sf.path}" if sf else ""
    # disease profile: argument > study file > B-ALL; another profile has its own demo
    try:
        profile = disease_profile(disease if _given(disease) else m.disease)
    except ValueError as exc:
        raise StudyFileError(str(exc)) from None
    if profile.key != m.disease:  # the argument chose another profile than the study file's
        for key in sorted(m.analysis.model_fields_set):
            try:  # read by that profile, with its columns as the valid names
                _check_read_by(OPTIONS[key], profile.key)
                _check_choices(OPTIONS[key], getattr(m.analysis, key), profile.key)
            except ValueError as exc:
                raise StudyFileError(f"{where}: analysis.{key}: {exc}") from None
    if profile.key != DEFAULT_DISEASE:
        # the disease documents print neither a screening flow nor the region yet: a rule would
        # remove export rows no sentence accounts for (attack 28b: LBCL 101 rows -> 66 in silence)
        given = [
            key
            for key, is_set in (
                ("screening", m.screening.excluded is not None),
                ("declarations.region", bool((m.declarations.region or "").strip())),
            )
            if is_set
        ]
        if given:
            raise StudyFileError(
                f"{where}: {' and '.join(given)}: read by the B-ALL report only; the {profile.key.upper()} "
                "documents do not print them, so they are refused rather than ignored (patients the export "
                "holds but the study does not analyze: leave them out of the export and say why in "
                "declarations: eligibility)"
            )
    demo_cohort, demo_kinetics, demo_cutoff = DEMO_COHORT, DEMO_KINETICS, DEMO_CUTOFF
    demo_kinetics_path: Path | None = demo_kinetics
    if profile.demo is not None:
        demo_cohort, demo_kinetics_path, demo_cutoff = PROJECT_DIR / profile.demo.cohort, None, profile.demo.cutoff

    # cohort: argument > study file > demo
    if _given(cohort):
        cohort_path, origins["cohort"] = _argument_path(cohort, "cohort", base), "argument"
    elif sf and (study_cohort := sf.data_path(m.data.cohort, "data.cohort")) is not None:
        cohort_path, origins["cohort"] = study_cohort, f"study file {where}"
    else:
        cohort_path, origins["cohort"] = demo_cohort, "bundled demo"
    is_demo = _is_bundled_demo(cohort_path, demo_cohort)

    if kinetics is None or _given(kinetics):
        no_table = kinetics is None or str(kinetics).strip().lower() == NO_KINETICS
        kinetics_path = None if no_table else _argument_path(kinetics, "kinetics", base)
        origins["kinetics"] = "argument"
    elif sf and m.data.kinetics and origins["cohort"].startswith("study file"):
        # the study file's kinetics belong to its cohort: never paired with another export
        no_table = str(m.data.kinetics).strip().lower() == NO_KINETICS
        kinetics_path = None if no_table else sf.data_path(m.data.kinetics, "data.kinetics")
        origins["kinetics"] = f"study file {where}"
    elif origins["cohort"] == "bundled demo":
        kinetics_path, origins["kinetics"] = demo_kinetics_path, "bundled demo"
    else:
        kinetics_path, origins["kinetics"] = None, "none given"

    if _given(cutoff):
        try:
            cutoff_date = parse_cutoff(cutoff)
        except ValueError as exc:
            raise StudyFileError(str(exc)) from None
        origins["cutoff"] = "argument"
    elif m.data.cutoff is not None and not (origins["cohort"] == "argument" and m.data.cohort):
        # the study file's cut-off belongs to its own export, not to another one named here
        cutoff_date, origins["cutoff"] = m.data.cutoff, f"study file {where}"
    elif is_demo:
        cutoff_date, origins["cutoff"] = parse_cutoff(demo_cutoff), "bundled demo"
    else:
        cohort_given_here = sf and m.data.cohort and origins["cohort"] == "argument"
        hint = (
            "give the cut-off of this export with it (CUTOFF=, --cutoff): the study file's cut-off "
            f"belongs to the export it names ({m.data.cohort})"
            if cohort_given_here
            else f"set `data: cutoff: YYYY-MM-DD` in {where}"
            if sf
            else "give the cut-off (make report CUTOFF=YYYY-MM-DD, --cutoff, -P cutoff:YYYY-MM-DD) "
            "or write it in a study file"
        )
        raise StudyFileError(
            f"no data cut-off for {cohort_path}: the date the export was frozen is needed to censor "
            f"follow-up; {hint}. (The bundled demo's cut-off, {DEMO_CUTOFF}, is only used for the demo.)"
        )

    title: str
    subtitle: str | None
    authors: tuple[Author, ...]
    product: Product | tuple[Product, ...]
    if is_demo and not sf:
        title, subtitle, authors = DEMO_TITLE, DEMO_SUBTITLE, (Author(name=DEMO_AUTHOR),)
        product, declarations, screening = DEMO_PRODUCT, DEMO_DECLARATIONS, DEMO_SCREENING
        if profile.demo is not None:
            title, product = profile.demo.title, Product(**dict(profile.demo.product))
            declarations = demo_declarations(profile)
    else:
        # a title written blank is to be completed (visible, listed at the end of the render);
        # none written: the neutral default
        title = _unedited(m.title) or (TEMPLATE_TITLE if "title" in m.model_fields_set else DEFAULT_TITLE)
        subtitle = m.subtitle
        authors = tuple(
            a.model_copy(update=dict(name=_unedited(a.name), affiliation=_unedited(a.affiliation))) for a in m.authors
        )
        product = tuple(m.product) if isinstance(m.product, list) else m.product
        declarations, screening = m.declarations, m.screening
    report_date = m.date if isinstance(m.date, dt.date) else today  # None or "today": today
    if sf is not None and isinstance(m.date, dt.date):
        _check_report_date(sf, m.date, cutoff_date, today)

    mapping = ColumnMapping(
        columns=dict(m.columns),
        kinetics_columns=dict(m.kinetics_columns),
        values={column: dict(v) for column, v in m.values.items()},
        date_format=m.date_format,
    )
    return StudySettings(
        title=title,
        subtitle=subtitle,
        authors=authors,
        date=report_date,
        cohort=cohort_path,
        kinetics=kinetics_path,
        cutoff=cutoff_date,
        # the study file's sheet belongs to its cohort, as its kinetics do (a cohort named on the
        # command line never borrows it: new user, review 30)
        sheet=sheet if _given(sheet) else (m.data.sheet if origins["cohort"].startswith("study file") else None),
        mapping=mapping,
        product=product,
        analysis=m.analysis,
        study_file=sf.path if sf else None,
        is_demo=is_demo,
        origins=origins,
        declarations=declarations,
        screening=screening,
        journal=m.journal,
        # a kinetics table (or none) named here replaces the export's own kinetics rows
        layout=Layout() if origins["kinetics"] == "argument" else m.redcap.layout,
        not_collected=tuple(m.not_collected),
        disease=profile.key,
    )


def _is_bundled_demo(path: Path, demo: Path) -> bool:
    """Whether ``path`` is the bundled synthetic demo: the demo's file AND still carrying the
    synthetic marker line (:func:`~analysis.inputs.readers.is_marker_line`). A team's own
    export saved over ``data/cohort.csv`` has no marker: it gets no demo cut-off, title or
    "synthetic data" Methods and Declarations."""
    if not _same_file(path, demo):
        return False
    try:
        check_regular(path)
        with open(path, "rb") as fh:
            first = fh.readline(512)
    except OSError:
        return False  # the loader says what is wrong with it
    return is_marker_line(first.decode("utf-8-sig", "replace"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except (OSError, RuntimeError, ValueError):  # a symlink loop: RuntimeError before Python 3.13; a NUL: ValueError
        return False


def load_settings(settings: StudySettings, refuse: bool = False) -> Study:
    """Load and validate the data the settings name (raises :class:`~analysis.inputs.loading.InputError`).

    ``refuse`` (the report): invalid data raise :class:`~analysis.inputs.errors.DataRefused`
    instead, whose message is the validator's summary and the ``validate`` command that
    lists every problem and writes the CSV for the data manager."""
    try:
        return load_study(
            settings.cohort,
            settings.kinetics,
            cutoff=settings.cutoff,
            sheet=settings.sheet,
            mapping=settings.mapping,
            layout=settings.layout,
            not_collected=settings.not_collected,
            disease=settings.disease,
            exclusions=settings.screening.exclusions,
        )
    except InputError as err:
        if not refuse:
            raise
        from analysis.inputs.problems import refusal

        raise DataRefused(refusal(err, validate_command(settings), hint_context(settings))) from None


def hint_context(settings: StudySettings):
    """What the validator's hints may name: the mapping, the study file's lines, the export."""
    from analysis.inputs.problems import HintContext

    return HintContext(
        headers=dict(settings.mapping.columns),
        study_file=settings.study_file,
        export=settings.cohort,
        sheet=settings.sheet,
    )


def validate_command(settings: StudySettings) -> str:
    """The ``validate`` command checking the same data as these settings."""
    import shlex

    words = ["python", "-m", "analysis", "validate"]
    if settings.study_file is not None:
        words += ["--study", str(settings.study_file)]
    if settings.origins.get("cohort") == "argument" or (settings.study_file is None and not settings.is_demo):
        words.append(str(settings.cohort))
    if settings.origins.get("kinetics") == "argument":
        words += ["--kinetics", str(settings.kinetics) if settings.kinetics is not None else NO_KINETICS]
    if settings.origins.get("cutoff") == "argument":
        words += ["--cutoff", settings.cutoff.isoformat()]
    return " ".join(shlex.quote(w) for w in words)
