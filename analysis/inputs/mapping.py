"""``python -m analysis map``: propose the study file that maps an export onto the contract.

A registry export rarely uses the contract's column names: REDCap writes field labels
("Date of CAR-T infusion") or raw variable names (``cart_inf_dt``), with coded values
("1, Yes | 0, No") and local date formats, often in one flat file whose repeating
instruments or events hold the CAR-T kinetics. :func:`propose_mapping` reads the export,
its data dictionary (REDCap's CSV beside the export, named with ``--dictionary`` or
found on its own, or a dictionary sheet of the workbook), splits a REDCap flat export
into its cohort and kinetics rows (:mod:`analysis.inputs.redcap`), and proposes for
every contract column the export header that holds it, with how sure it is:

* ``exact``: the contract name itself;
* ``same name``: equal once case, spaces and punctuation are ignored;
* ``known label``: a label or variable name registries use for it (:data:`SYNONYMS`,
  the report's own names of the variable, common clinical abbreviations such as BM,
  FU, tox), of the header or of its data-dictionary label; a checkbox option
  (``icans_sx___2`` = "Seizure") for a yes/no column;
* ``guess``: the closest spelling (difflib ratio or shared words) above
  :data:`GUESS_MIN`; the file marks it to be checked.

It proposes ``values:`` for yes/no-like, response, sex, disease-status and grade columns
whose cells the contract does not read as they are (``Checked``, ``Grade 2``, REDCap
codes, "Not done"), and the ``date_format`` of text dates (day-first when a first number
is above 12).

No mapping is more certain than its evidence: values proposed under a guessed column are
guesses too, and before a column is called mapped its values are checked against what
the contract column means (:func:`_content_doubts`: a "CR" column whose "yes" patients
have no CR date, a dose in mg that holds small whole numbers, dates before 2000 or after
the export). Everything to check is listed first ("Check these before you validate"),
and ``map`` says "every required column is mapped" only when nothing is in doubt.

The contract mapped onto is that of the disease profile the export speaks of
(:func:`detect_disease`, or ``--disease``): headers naming a column only one profile has,
in the words of its ``vocabulary`` (:mod:`analysis.registry.diseases`: "Best response
(Lugano)", "R-ISS", "Bulky"), and cells holding levels only its response scale has (CMR,
VGPR). The study file gets ``disease:`` with why (GUESS when the evidence is thin or mixed),
and response cells are mapped onto the scale's keys ("Complete metabolic response
(Deauville 1-3)" -> CR).
"""

from __future__ import annotations

import codecs
import collections
import datetime as dt
import difflib
import functools
import html
import json
import os
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.inputs import redcap, yamlstrict
from analysis.inputs.errors import InputError
from analysis.inputs.paths import check_regular
from analysis.inputs.readers import misnamed_workbook, normal_name, open_source
from analysis.inputs.usertext import TEMPLATE_AFFILIATION, TEMPLATE_AUTHOR, TEMPLATE_TITLE
from analysis.inputs.xlsx import check_archive
from analysis.registry.concepts import ENDPOINTS, OPTIONS, VARIABLES
from analysis.registry.contract import (
    BOOLEAN_WORDS,
    COHORT_FIELDS,
    EARLIEST_DATE,
    KINETICS_FIELDS,
    NOT_DONE_WORDS,
    SEX_WORDS,
    STATUS_WORDS,
)
from analysis.registry.diseases import DEFAULT_DISEASE, DISEASES, SCALES, Profile, Scale
from analysis.registry.diseases import disease as disease_profile

#: Labels and variable names that registries use for each contract column (normalised
#: as :func:`analysis.inputs.readers.normal_name` does). The report's own names of a
#: Table 1 variable (:data:`analysis.registry.concepts.VARIABLES`) count too.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "record id",
        "record",
        "patient id",
        "patient",
        "subject id",
        "study id",
        "id",
        "upn",
        "patient number",
        "pt id",
        "study number",
        "participant id",
    ),
    "center": (
        "centre",
        "site",
        "center name",
        "centre name",
        "institution",
        "hospital",
        "data access group",
        "redcap data access group",
        "center id",
        "site id",
        "treating center",
        "treating centre",
        "treating site",
        "treating hospital",
        "study site",
        "transplant center",
    ),
    "infusion_date": (
        "date of car t infusion",
        "car t infusion date",
        "infusion date",
        "date of infusion",
        "cart infusion date",
        "cart inf dt",
        "inf date",
        "car t cell infusion date",
        "infusion day 0 date",
        "date of car t cell infusion",
        "date of car t",
        "car t date",
        "date of car t cells",
        "day 0 date",
        "date of cell infusion",
    ),
    "age": (
        "age at infusion",
        "age years",
        "age at car t infusion",
        "age at infusion years",
        "age yrs",
        "age at car t",
        "age years at car t",
        "age years at infusion",
        "age at treatment",
    ),
    "sex": ("gender", "sex at birth", "patient sex"),
    "ph_positive": (
        "ph",
        "philadelphia chromosome",
        "ph chromosome",
        "ph positive all",
        "bcr abl1",
        "philadelphia chromosome positive",
        "ph status",
        "bcr abl",
        "ph positive",
        "philadelphia positive",
    ),
    "disease_status": (
        "disease status at infusion",
        "relapsed or refractory",
        "status at infusion",
        "disease status",
        "r r status",
        "refractory status",
        "disease status before car t",
        "disease state",
        "disease state before car t",
        "disease state at infusion",
    ),
    "n_relapses": (
        "number of relapses",
        "relapses",
        "prior relapses",
        "no of relapses",
        "n relapses",
        "number of prior relapses",
    ),
    "prior_lines": (
        "prior lines of therapy",
        "number of prior lines",
        "prior therapy lines",
        "lines of therapy",
        "prior treatments",
        "prior lines",
        "number of prior lines of therapy",
        "number of prior treatment lines",
        "prior treatment lines",
        "number of prior therapies",
        "number of lines of therapy",
        "previous therapy lines",
        "previous lines of therapy",
    ),
    "bm_blasts_pct": (
        "bone marrow blasts",
        "marrow blasts",
        "bm blasts",
        "bone marrow blasts before infusion",
        "bm blasts percent",
        "blasts in bone marrow",
        "pre infusion marrow blasts",
        "bone marrow blasts before car t",
        "bone marrow blasts pre infusion",
        "bone marrow blast percent pre infusion",
        "marrow blasts before car t",
        "marrow blasts at lymphodepletion",
        "bone marrow blasts at lymphodepletion",
    ),
    "cart_dose_1e6_per_kg": (
        "car t dose",
        "cell dose",
        "car t cell dose",
        "dose 10 6 cells kg",
        "infused dose",
        "cart dose",
        "car t dose x10 6 kg",
        "dose x10 6 kg",
        "car t cells infused",
        "cells infused",
        "infused car t cells",
    ),
    "il6_peak_pg_ml": ("peak il 6", "il 6 peak", "il6 peak", "peak il6", "peak interleukin 6", "maximum il 6"),
    "ferritin_peak_ng_ml": ("peak ferritin", "ferritin peak", "maximum ferritin", "ferritin max"),
    "crs_grade": (
        "crs grade astct",
        "crs grade",
        "cytokine release syndrome grade",
        "grade of crs",
        "crs grd",
        "max crs grade",
        "maximum crs grade",
        "peak crs grade",
    ),
    "crs_onset_day": (
        "crs onset day",
        "day of crs onset",
        "crs onset",
        "onset of crs day",
        "crs onset d",
        "days to crs",
        "crs onset days after infusion",
        "first day of crs",
        "crs start",
        "start of crs",
        "crs start day",
    ),
    "icans_grade": (
        "icans grade astct",
        "icans grade",
        "neurotoxicity grade",
        "grade of icans",
        "icans grd",
        "max icans grade",
        "maximum icans grade",
        "peak icans grade",
        "immune effector cell associated neurotoxicity syndrome grade",
    ),
    "icans_onset_day": (
        "icans onset day",
        "day of icans onset",
        "icans onset",
        "onset of icans day",
        "days to icans",
        "icans onset days after infusion",
        "first day of icans",
        "icans start",
        "start of icans",
        "icans start day",
    ),
    "seizure": ("seizures", "seizure during icans", "any seizure", "seizure"),
    "steroids": (
        "corticosteroids",
        "steroid treatment",
        "corticosteroid treatment",
        "steroids given",
        "dexamethasone given",
        "received steroids",
        "steroid use",
        "corticosteroids given",
        "corticosteroids for crs icans",
        "steroids for crs icans",
        "steroids for toxicity",
        "corticosteroids for toxicity",
        "toxicity steroids",
        "toxicity corticosteroids",
        "steroids given for toxicity",
        "corticosteroids given for toxicity",
        "steroids administered",
    ),
    "dex_equiv_cum_mg": (
        "cumulative dexamethasone equivalent",
        "cumulative steroid dose",
        "dexamethasone equivalent dose",
        "cumulative dexamethasone mg",
        "dex equivalent mg",
        "cumulative steroid dose mg dexamethasone equivalent",
        "cumulative dexamethasone dose",
        "dexamethasone total",
        "total dexamethasone dose",
        "total dexamethasone",
        "total dexamethasone equivalent dose",
        "dexamethasone equivalent",
    ),
    "tocilizumab": (
        "tocilizumab given",
        "received tocilizumab",
        "toci",
        "tocilizumab treatment",
        "tocilizumab use",
        "tocilizumab for crs",
        "toxicity tocilizumab",
        "tocilizumab administered",
    ),
    "tocilizumab_cum_mg": (
        "cumulative tocilizumab dose",
        "tocilizumab dose",
        "tocilizumab mg",
        "cumulative tocilizumab mg",
        "toci dose",
        "total tocilizumab dose",
    ),
    "cr_day30": (
        "cr at day 30",
        "complete remission at day 30",
        "complete response at day 30",
        "d30 cr",
        "day 30 cr",
        "cr d30",
        "response day 30 cr",
        "response at day 30",
        "day 30 response",
        "best response day 30",
        "response d30",
        "d30 response",
        "best response by day 28",
        "best response by day 30",
        "response at day 28",
        "day 28 response",
        "response by day 28",
        "response by day 30",
        "response day 28",
    ),
    "mrd_negative": (
        "mrd negative",
        "mrd negativity",
        "mrd negative cr",
        "mrd neg",
        "mrd status negative",
        "mrd negative at day 30",
        "mrd status",
        "mrd day 30",
        "mrd d30",
        "mrd at day 30",
        "mrd result",
        "mrd",
        "mrd at response",
        "mrd flow",
        "mrd status at response",
        "mrd flow at cr",
        "mrd by ngs",
        "mrd by flow",
        "mrd day 28",
        "mrd d28",
    ),
    "cr_date": (
        "date of cr",
        "date of complete remission",
        "cr date",
        "complete remission date",
        "date of complete response",
        "date of response",
        "response date",
        "date of remission",
        "remission date",
        "date of first cr",
    ),
    "relapse_date": (
        "date of relapse",
        "relapse date",
        "date of progression or relapse",
        "date of progression",
        "progression date",
    ),
    "death_date": ("date of death", "death date", "dod"),
    "last_followup_date": (
        "date of last follow up",
        "last follow up",
        "last follow up date",
        "date last known alive",
        "last contact date",
        "date of last contact",
        "last fu date",
        "date of last follow up or death",
        "last seen",
        "date last seen",
        "date of last visit",
        "last visit date",
        "last visit",
    ),
    "hsct_date": (
        "hsct post",
        "hsct post date",
        "hsct post dt",
        "hsct date",
        "date of hsct",
        "allo hsct after car t",
        "date of allo hsct after car t",
        "allo hsct date",
        "consolidative hsct",
        "consolidative hsct date",
        "date of consolidative hsct",
        "hsct after car t",
        "date of hsct after car t",
        "post car t hsct",
        "post car t hsct date",
        "allogeneic transplant date",
        "date of allogeneic transplant",
        "allogeneic hsct after car t",
        "sct date",
        "date of sct",
        "transplant date",
        "date of transplant",
        "allo sct date",
    ),
    "day": (
        "day after infusion",
        "days after infusion",
        "sample day",
        "study day",
        "day post infusion",
        "timepoint day",
        "day of sample",
        "sampling day",
        "days since infusion",
        "day since infusion",
    ),
    "car_copies_per_ug": (
        "car copies per ug",
        "car transgene copies",
        "car copies ug dna",
        "transgene copies per ug gdna",
        "car t copies",
        "car copies",
        "copies ug",
        "car t copies per ug dna",
        "car transgene copies per ug dna",
        "car t expansion",
        "car transgene",
        "car t transgene",
        "car vector copies",
        "car t qpcr",
        "car qpcr",
        "qpcr car copies ug gdna",
        "car copies ug gdna",
        "qpcr car copies",
        "car vector copies per ug dna",
        "vector copies per ug dna",
    ),
}

#: Abbreviations of clinical registries, read as the words they stand for when headers
#: and labels are matched ("BM blasts" = "bone marrow blasts", "Date of last FU").
ABBREVIATIONS: dict[str, str] = {
    "bm": "bone marrow",
    "tox": "toxicity",
    "resp": "response",
    "inf": "infusion",
    "fu": "follow up",
    "dx": "diagnosis",
    "allo": "allogeneic",
    "ice": "immune effector cell",
    "tx": "treatment",
    "pt": "patient",
    "pts": "patients",
    "dt": "date",
    "yrs": "years",
    "yr": "years",
    "max": "peak",
    "cum": "cumulative",
    "cumul": "cumulative",
    "dex": "dexamethasone",
    "toci": "tocilizumab",
    "tcz": "tocilizumab",
    "rel": "relapse",
    "grd": "grade",
    "gr": "grade",
    "sz": "seizure",
    "lfu": "last follow up",
    "dod": "date of death",
    "dob": "date of birth",
    "num": "number",
    "nb": "number",
    "lot": "lines of therapy",
    "neuro": "neurotoxicity",
    "pos": "positive",
    "neg": "negative",
    "ctr": "center",
    "d": "day",
    "pct": "percent",
    "perc": "percent",
    "cs": "corticosteroids",
    "cort": "corticosteroids",
    "il6": "il 6",
    "cart": "car t",
    "nt": "neurotoxicity",
    "dz": "disease",
    "plus": "positive",
    "n": "number",
    "bl": "blasts",
    "vcn": "vector copy number",
    "highest": "peak",
    "maximum": "peak",
    "pd": "progression",
}

#: Words that name an optional column: a header holding one is a candidate for it, so that the
#: column is not written off as "not collected" without a word (``map``'s doubts).
_OPTIONAL_WORDS = {
    "il6_peak_pg_ml": {"il", "il6", "interleukin"},
    "ferritin_peak_ng_ml": {"ferritin"},
    "seizure": {"seizure", "convulsion", "epilepsy"},
    "dex_equiv_cum_mg": {"dexamethasone", "steroid", "corticosteroid"},
    "tocilizumab_cum_mg": {"tocilizumab"},
    "mrd_negative": {"mrd", "residual"},
}

#: Least similarity for a guessed header (below it, the column is left unmapped).
GUESS_MIN = 0.72

#: Column of the contract whose values are a dose in mg: small whole numbers there are
#: probably a count of doses. At most this value, all whole numbers: doubted.
DOSE_COUNT_MAX = 10

_HOW_ORDER = ("exact", "same name", "known label", "guess")

#: A proposed column whose values contradict its contract column: written commented out.
HELD_BACK = "held back"
#: The kinetics day of a longitudinal export: the sampling event's day.
FROM_EVENT = "from event"

_YES = {"yes", "y", "true", "1", "checked", "present", "positive", "pos", "+", "x", "ja", "oui", "si", "sí"}
_NO = {"no", "n", "false", "0", "unchecked", "absent", "negative", "neg", "-", "nein", "non"}
_NOT_DONE = set(NOT_DONE_WORDS) | {
    "not applicable",
    "n/a",
    "na",
    "missing",
    "not performed",
    "not tested",
    "pending",
    "not available",
    "not assessable",
    "not evaluated",
    "inevaluable",
}
#: A test result under ``*_negative`` (MRD): these words mean negative (true) or positive (false).
_RESULT_NEGATIVE = {"negative", "neg", "-", "undetectable", "not detected", "below detection", "below lod"}
_RESULT_POSITIVE = {"positive", "pos", "+", "detectable", "detected"}
#: Words of a day-30 response: complete remission (CR with or without count recovery) or not.
_CR_YES = {
    "cr",
    "cri",
    "crh",
    "crp",
    "complete remission",
    "complete response",
    "cr with incomplete count recovery",
    "cr with incomplete hematologic recovery",
    "mrd negative cr",
    "mrd positive cr",
    "cr mrd negative",
    "cr mrd positive",
    "cr mrd neg",
    "cr mrd pos",
}
_CR_NO = {
    "pr",
    "partial response",
    "partial remission",
    "sd",
    "stable disease",
    "pd",
    "progressive disease",
    "nr",
    "no response",
    "non response",
    "refractory",
    "no remission",
    "no cr",
    "relapse",
}
_NONE_GRADE = {"none", "no", "no crs", "no icans", "absent", "grade 0", "0", "not present"}
_MALE, _FEMALE = {"male", "m", "man", "masculine", "h"}, {"female", "f", "woman", "feminine"}

#: REDCap field types whose "Choices, Calculations, OR Slider Labels" cell is not a list of choices.
_NOT_CHOICES = {"calc", "slider", "descriptive", "sql", "file", "notes", "text"}
#: REDCap field types with implicit choices.
_IMPLICIT_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}


@dataclass(frozen=True)
class ColumnMatch:
    name: str  # contract column
    header: str | None  # export header, None when unmapped
    how: str  # exact | same name | known label | guess | unmapped
    score: float
    via: str = ""  # the label or synonym that matched

    @property
    def comment(self) -> str:
        if self.how == FROM_EVENT:
            return "from the event names (redcap: kinetics_events)"
        if self.header is None:
            return "NOT FOUND: write the export's header here"
        if self.how == "guess":
            return f"GUESS (similarity {self.score:.2f}): check"
        if self.how == HELD_BACK:
            return f"HELD BACK, not read until you check it: {self.via}"
        if self.how == "known label" and self.via:
            return f"known label ({self.via})"
        return self.how


@dataclass(frozen=True)
class DiseaseGuess:
    """The disease profile ``map`` proposes (:func:`detect_disease`)."""

    key: str  # analysis.registry.diseases.DISEASES key
    how: str  # given (--disease) | sure | guess | default (nothing spoke of another profile)
    why: str = ""

    @property
    def comment(self) -> str:
        if self.how == "given":
            return "given to map (--disease)"
        if self.how == "guess":
            return f"GUESS: {self.why}: check"
        return self.why


#: How many unused headers the summary names (an export may have thousands of columns).
UNUSED_SHOWN = 12


@dataclass
class Proposal:
    export: Path
    kinetics: Path | None
    sheet: str | None
    cohort_matches: list[ColumnMatch]
    kinetics_matches: list[ColumnMatch]
    values: dict[str, dict] = field(default_factory=dict)
    value_notes: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    date_note: str = ""
    latest_date: dt.date | None = None
    dictionary_sheet: str | None = None
    #: the data dictionary read: a sheet name, or a CSV file
    dictionary_file: Path | None = None
    #: a REDCap flat export: how to split it, and what was found ("150 records, ...")
    layout: redcap.Layout | None = None
    found: str = ""
    #: what to check before validating, most important first
    doubts: list[str] = field(default_factory=list)
    #: optional contract columns the export does not have
    not_collected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: contract column -> {code: the dictionary's label}, shown beside coded values
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the disease profile proposed (:func:`detect_disease`) and why
    disease: DiseaseGuess = field(default_factory=lambda: DiseaseGuess(DEFAULT_DISEASE, "default", ""))
    #: the export's cohort headers no contract column was mapped to (a screening rule may name
    #: one: new user 31 had an "infused" column and no word that it was left aside)
    unused_headers: list[str] = field(default_factory=list)

    @property
    def fields(self) -> tuple:
        """The cohort contract mapped onto: the disease profile's."""
        return disease_profile(self.disease.key).fields

    @property
    def missing_required(self) -> list[str]:
        required = {f.name for f in self.fields if f.required}
        out = [m.name for m in self.cohort_matches if (m.header is None or m.how == HELD_BACK) and m.name in required]
        if self.has_kinetics:
            required_k = {f.name for f in KINETICS_FIELDS if f.required}
            from_event = self.layout is not None and any(d is not None for d in self.layout.kinetics_events.values())
            out += [
                f"{m.name} (kinetics)"
                for m in self.kinetics_matches
                if m.header is None and m.name in required_k and not (m.name == "day" and from_event)
            ]
        return out

    @property
    def has_kinetics(self) -> bool:
        return self.kinetics is not None or (self.layout is not None and self.layout.has_kinetics)

    @property
    def complete(self) -> bool:
        return not self.missing_required

    def report(self) -> str:
        """The table printed by ``map``: what to check first, then contract column, export
        header, how matched."""
        source = [f"Mapping of {self.export.name}" + (f" (sheet '{self.sheet}')" if self.sheet else "")]
        if self.dictionary_sheet:
            source.append(f"data dictionary from sheet '{self.dictionary_sheet}'")
        elif self.dictionary_file is not None:
            source.append(f"data dictionary {self.dictionary_file.name}")
        lines = [", ".join(source)]
        if self.disease.how != "default":
            lines.append(f"disease: {self.disease.key} ({self.disease.comment})")
        if self.found:
            lines.append(self.found)
        lines += [f"note: {note}" for note in self.notes]
        if self.doubts:
            lines.append(f"\nCheck these before you validate ({len(self.doubts)}):")
            lines += [f"  {i}. {doubt}" for i, doubt in enumerate(self.doubts, start=1)]
        for title, matches in (("cohort", self.cohort_matches), ("kinetics", self.kinetics_matches)):
            if not matches:
                continue
            width = max(len(m.name) for m in matches)
            lines.append(f"\n{title} columns:")
            for m in matches:
                header = "-" if m.header is None else repr(m.header)
                lines.append(f"  {m.name.ljust(width)}  <- {header}   [{m.comment}]")
        counts = {
            how: sum(m.how == how for m in self.cohort_matches + self.kinetics_matches)
            for how in (*_HOW_ORDER, HELD_BACK, "unmapped")
        }
        lines.append("\n" + ", ".join(f"{n} {how}" for how, n in counts.items()))
        for column, table in self.values.items():
            note = self.value_notes.get(column, "")
            lines.append(
                f"values of {column}: "
                + ", ".join(f"{k!r} -> {v!r}" for k, v in table.items())
                + (f"   [{note}]" if note else "")
            )
        if self.date_format:
            lines.append(f"date_format: {self.date_format}   [{self.date_note}]")
        if self.unused_headers:
            shown = ", ".join(repr(h) for h in self.unused_headers[:UNUSED_SHOWN])
            more = len(self.unused_headers) - UNUSED_SHOWN
            lines.append(
                f"export columns not mapped ({len(self.unused_headers)}): {shown}"
                + (f" and {more} more" if more > 0 else "")
                + " (not read; a screening rule may name one: `screening: excluded:` in the study file)"
            )
        if self.not_collected:
            lines.append(f"not collected (optional, not found in the export): {', '.join(self.not_collected)}")
        if self.missing_required:
            lines.append(
                "\nRequired columns still unmapped: "
                + ", ".join(self.missing_required)
                + "\nWrite their export headers under `columns:` (`kinetics_columns:` for the kinetics "
                "table) in the study file."
            )
        elif self.doubts:
            n = len(self.doubts)
            lines.append(
                f"\nEvery required column has a proposal, but {n} point{'s' if n != 1 else ''} above "
                f"need{'' if n != 1 else 's'} checking before you validate."
            )
        else:
            lines.append("\nEvery required column is mapped.")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the data dictionary


@dataclass
class Dictionary:
    """A REDCap-like data dictionary, by variable (checkbox options as ``name___code``)."""

    labels: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)
    #: checkbox option column -> (the field's label, the option's label)
    options: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: text field -> its validation ("date_ymd", "integer", "number", ...)
    validations: dict[str, str] = field(default_factory=dict)

    def variable_of(self, header: str) -> str | None:
        """The variable a header names: itself (raw export), its label (label export) or a
        checkbox option's label export header "Label (choice=Option)"."""
        if header in self.labels:
            return header
        key = _label_key(header)
        if not hasattr(self, "_by_label"):
            by_label: dict[str, str] = {}
            for variable, label in self.labels.items():
                by_label.setdefault(_label_key(label), variable)
            for variable, (label, option) in self.options.items():
                by_label.setdefault(_label_key(f"{label} (choice={option})"), variable)
            self._by_label = by_label
        return self._by_label.get(key)


def _label_key(text: str) -> str:
    return markup_text(str(text)).lower()


#: Something a text holds only as HTML: a tag (``<p>``, ``</span>``, ``<br/>``) or a character
#: reference (``&amp;``, ``&#39;``, ``&#x3b1;``). Only a text holding one is read as HTML
#: ("IL-6 <100 pg/mL" or "CD4<CD8" is not HTML).
_MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
#: Elements that end a line or a block: a space between the words on either side.
_BREAKING = frozenset({"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})


class _TextOf(HTMLParser):
    """The text of an HTML fragment: tags left out (the content of ``<script>`` and
    ``<style>`` too), character references decoded, a line or block element a space."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in _BREAKING:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in _BREAKING:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAKING:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


@functools.lru_cache(maxsize=65536)
def markup_text(text: str) -> str:
    """What a label written as HTML reads: REDCap's rich-text label editor stores
    ``<p><span style="font-weight: normal;">Peak IL-6 (pg/mL)</span></p>`` for "Peak IL-6
    (pg/mL)", and a label export may carry it into its headers. Tags are left out, entities
    decoded (the standard library's HTML parser, not a pattern over the HTML), spaces
    collapsed. A text with no tag and no character reference is only stripped and its spaces
    collapsed ("IL-6 <100" is text)."""
    if _MARKUP.search(text):
        parser = _TextOf()
        parser.feed(text)
        parser.close()
        text = html.unescape("".join(parser.parts))  # a reference the parser left (no ';' at the end)
    return " ".join(text.split())


_DICT_VARIABLE = ("variable field name", "variable name", "field name", "variable")
_DICT_LABEL = ("field label", "label")
_DICT_CHOICES = ("choices calculations or slider labels", "choices", "codes", "value labels")
_DICT_TYPE = ("field type", "type")
_DICT_FORM = ("form name", "form", "instrument")
_DICT_VALIDATION = (
    "text validation type or show slider number",
    "validation type",
    "text validation type",
    "validation",
)


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _parse_choices(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if label.strip():
            pairs[code.strip()] = markup_text(label)
    return pairs


def _dictionary(frame: pd.DataFrame) -> Dictionary | None:
    """A REDCap-like data dictionary (REDCap's own CSV layout, or a sheet like it)."""
    columns = {normal_name(str(c)).replace("_", " "): c for c in frame.columns}

    def find(names):
        return next((columns[n] for n in names if n in columns), None)

    variable, label = find(_DICT_VARIABLE), find(_DICT_LABEL)
    if variable is None or label is None:
        return None
    choice_col, type_col, form_col = find(_DICT_CHOICES), find(_DICT_TYPE), find(_DICT_FORM)
    validation_col = find(_DICT_VALIDATION)
    out = Dictionary()
    for _, row in frame.iterrows():
        var = _cell_text(row[variable])
        if not var:
            continue
        kind = _cell_text(row[type_col]).lower() if type_col is not None else ""
        if kind == "descriptive":  # text on a form, no data
            continue
        text = markup_text(_cell_text(row[label]))  # the rich-text editor's HTML: its text
        out.labels[var] = text
        out.types[var] = kind
        if form_col is not None:
            out.forms[var] = _cell_text(row[form_col])
        if validation_col is not None and kind not in ("slider", "calc"):
            out.validations[var] = _cell_text(row[validation_col]).lower()
        pairs = _IMPLICIT_CHOICES.get(kind) or (
            {} if kind in _NOT_CHOICES or choice_col is None else _parse_choices(_cell_text(row[choice_col]))
        )
        if kind == "checkbox":  # one 0/1 column per option: name___code
            for code, option in pairs.items():
                column = f"{var}___{code.lower().replace('-', '_')}"
                out.labels[column] = f"{text}: {option}"
                out.types[column] = "checkbox"
                out.choices[column] = {"1": "Checked", "0": "Unchecked"}
                out.options[column] = (text, option)
                if form_col is not None:
                    out.forms[column] = out.forms[var]
        elif pairs:
            out.choices[var] = pairs
    return out


def _read_dictionary_csv(path: Path) -> Dictionary | None:
    try:
        check_regular(path)  # a named pipe would hang the read
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    return _dictionary(frame)


def find_dictionary(export: Path) -> Path | None:
    """REDCap's data-dictionary CSV beside an export: a CSV whose name says "dictionary"
    (``MyStudy_DataDictionary_2026-11-02.csv``), the one sharing most of the export's name
    when there are several."""
    try:
        siblings = [p for p in export.parent.iterdir() if p.is_file() and p.resolve() != export.resolve()]
    except OSError:
        return None
    found = [p for p in siblings if p.suffix.lower() == ".csv" and "dictionary" in p.stem.lower().replace("_", "")]

    def shared(path: Path) -> int:
        return len(os.path.commonprefix([path.stem.lower(), export.stem.lower()]))

    return max(found, key=lambda p: (shared(p), p.name), default=None)


# --------------------------------------------------------------------------- reading


@dataclass
class _Table:
    frame: pd.DataFrame  # text cells ("" = empty)
    sheet: str | None
    labels: dict[str, str]  # header -> data-dictionary label
    choices: dict[str, dict[str, str]]  # header -> {code: label}
    dictionary_sheet: str | None = None
    dictionary: Dictionary | None = None
    #: header -> what it holds, as far as its dictionary entry or its cells tell (:func:`_header_kind`)
    kinds: dict[str, str] = field(default_factory=dict)


#: The most columns ``map`` compares with the contract's (CSV and workbook alike): each header
#: is compared with every contract column's names, and an export wider than this is no
#: registry export but a sheet to cut down (the contract reads some 30 columns; Excel's
#: widest sheet has 16,384).
MAX_MAP_COLUMNS = 5_000


def _not_too_wide(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame.columns) > MAX_MAP_COLUMNS:
        raise ValueError(
            f"{path}: {len(frame.columns):,} columns: map compares at most {MAX_MAP_COLUMNS:,} with the "
            "contract's; keep the columns of the study (copy them to a new sheet or file) and map that"
        )
    return frame


def _read(path: Path, sheet: str | None = None) -> tuple[pd.DataFrame, str | None, str | None, Dictionary | None]:
    """(text cells, the sheet read when there are several, the dictionary sheet, its dictionary)."""
    try:
        check_regular(path)  # a named pipe would hang the open below; a device never ends
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PK\x03\x04":
        if why := misnamed_workbook(path):  # as validate says it (readers.open_source)
            raise ValueError(f"{path}: {why}")
        check_archive(path)  # a zip bomb, entities, deep nesting: refused before pandas reads it
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, header=0, keep_default_na=False, na_values=[""])
        dictionary_sheet, dictionary = None, None
        data_sheets = []
        for name, frame in sheets.items():
            found = _dictionary(frame)
            if found is not None and name != sheet:
                dictionary_sheet, dictionary = name, found
            else:
                data_sheets.append(name)
        if sheet is not None:
            if sheet not in sheets:
                raise ValueError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(sheets)})")
            chosen = sheet
        elif data_sheets:
            chosen = data_sheets[0]
        else:
            raise ValueError(f"{path}: no data sheet (only a data dictionary)")
        frame = _not_too_wide(path, sheets[chosen]).map(_cell_text)
        frame.columns = [_cell_text(c) for c in frame.columns]
        return frame, chosen if len(sheets) > 1 else None, dictionary_sheet, dictionary
    # validate's reader first: an empty file, another encoding, an unclosed quote... get the
    # messages data/README.md promises, not the parser's ("Error tokenizing data", "'utf-8'
    # codec can't decode byte 0xc4 in position 375"; attack 29/06)
    try:
        for _ in open_source(path).chunks(set()):
            pass
    except InputError as err:
        raise InputError([replace(v, file=str(path)) for v in err.violations]) from None
    skip = 0  # comment and blank lines above the header (data/README.md), as validate reads them
    with open(path, "rb") as fh:
        for line in fh:
            text = line.removeprefix(codecs.BOM_UTF8).strip() if skip == 0 else line.strip()
            if text and not text.startswith(b"#"):
                break
            skip += 1
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None, encoding="utf-8-sig", skiprows=skip)
    frame = _not_too_wide(path, frame)
    frame = frame[~frame.iloc[:, 0].astype(str).str.startswith("#")] if len(frame.columns) else frame
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.map(lambda v: v.strip() if isinstance(v, str) else _cell_text(v)), None, None, None


def _table(frame: pd.DataFrame, sheet, dictionary_sheet, dictionary: Dictionary | None) -> _Table:
    labels: dict[str, str] = {}
    choices: dict[str, dict[str, str]] = {}
    if dictionary is not None:
        for header in frame.columns:
            variable = dictionary.variable_of(header)
            if variable is None:
                continue
            if variable in dictionary.labels and variable == header:  # a raw export: the label helps
                labels[header] = dictionary.labels[variable]
            if variable in dictionary.choices and variable == header:  # raw codes: their labels
                choices[header] = dictionary.choices[variable]
            elif variable in dictionary.choices:  # a label export: every label it may hold
                choices[header] = {label: label for label in dictionary.choices[variable].values()}
            if variable in dictionary.options:
                labels[header] = dictionary.labels[variable]
    kinds = {header: _header_kind(frame[header], dictionary, header) for header in frame.columns}
    return _Table(frame, sheet, labels, choices, dictionary_sheet, dictionary, kinds)


#: What a header holds (:func:`_header_kind`): a date; a coded choice (yes/no, radio, dropdown,
#: checkbox); values that are not dates; unknown (no dictionary entry, no value).
DATE_FIELD, CHOICE_FIELD, NOT_DATES, UNKNOWN_KIND = "date", "choice", "not dates", ""
_CHOICE_TYPES = {"yesno", "truefalse", "radio", "dropdown", "checkbox"}
#: Least share of a column's cells that must read as dates for it to be a date column.
DATE_SHARE = 0.5


def _header_kind(cells: pd.Series, dictionary: Dictionary | None, header: str) -> str:
    """A date field (REDCap's date/datetime validation, or cells that read as dates), a coded
    choice field (the dictionary's yes/no, radio, dropdown, checkbox), a column of values
    that are not dates, or unknown."""
    variable = dictionary.variable_of(header) if dictionary is not None else None
    if variable is not None and dictionary is not None:
        if dictionary.types.get(variable) in _CHOICE_TYPES:
            return CHOICE_FIELD
        if dictionary.validations.get(variable, "").startswith(("date", "datetime")):
            return DATE_FIELD
    filled = [str(v).strip() for v in cells if str(v).strip()]
    if not filled:
        return UNKNOWN_KIND
    dated = sum(bool(_ISO.match(v) or _TEXT_DATE.match(v)) for v in filled)
    return DATE_FIELD if dated >= DATE_SHARE * len(filled) else NOT_DATES


def _kind_fits(kind: str, field_kind: str) -> bool:
    """Whether a header of this kind may hold a contract column of this kind: a date column
    is never a yes/no or other coded field nor a column of other values; no other column
    is a date field."""
    if field_kind == "date":
        return kind in (DATE_FIELD, UNKNOWN_KIND)
    return kind != DATE_FIELD


# --------------------------------------------------------------------------- matching


@functools.lru_cache(maxsize=65536)
def _expand(text: str) -> str:
    """Normalised words with the clinical abbreviations written out ("bm_blasts" ->
    "bone_marrow_blasts"; "Ph+" -> "ph_positive")."""
    text = markup_text(text)  # a label-export header written as HTML: its text
    words = [w for w in normal_name(re.sub(r"(?<=\w)\+", " positive ", text)).split("_") if w]
    words = [
        "number" if w == "no" and i + 1 < len(words) and words[i + 1] == "of" else w  # "No. of relapses"
        for i, w in enumerate(words)
    ]
    return "_".join(ABBREVIATIONS.get(w, w) for w in words).replace(" ", "_")


@functools.lru_cache(maxsize=65536)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(t for t in _expand(text).split("_") if t and t not in {"of", "the", "at", "in", "a", "to"})


@functools.lru_cache(maxsize=65536)
def _stems(text: str) -> frozenset[str]:
    """The words of a header, abbreviations written out, plurals singular, small words and
    units left out: "CRS (ASTCT grade)" and "CRS grade ASTCT" have the same."""
    small = {"of", "the", "at", "in", "a", "to", "by", "for", "mg", "per", "and", "or", "yn", "administered"}
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in _tokens(text)
        if w not in small
    )


@functools.lru_cache(maxsize=262144)
def _similarity(a: str, b: str, floor: float = 0.0) -> float:
    """The larger of the word overlap (Jaccard) and difflib's ratio of the two names (as
    written, and with abbreviations expanded). Exact when it is at least `floor`; below it,
    some smaller value (a ratio is computed only when its cheap upper bound could lift the
    result to `floor`, or above the best so far)."""
    na, nb = normal_name(a), normal_name(b)
    if na == nb:
        return 1.0
    ta, tb = _tokens(a), _tokens(b)
    best = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    for x, y in ((na, nb), (_expand(a), _expand(b))):
        bar = max(best, floor)
        # difflib's real_quick_ratio and quick_ratio bounds, computed without building a
        # SequenceMatcher (its construction indexes the second string: on an export of
        # thousands of columns, building one per pair was nearly all of `map`'s time)
        total = len(x) + len(y)
        if not total or 2.0 * min(len(x), len(y)) / total < bar:
            continue
        cx, cy = _letters(x), _letters(y)
        if 2.0 * sum(min(n, cy[c]) for c, n in cx.items() if c in cy) / total < bar:
            continue
        best = max(best, difflib.SequenceMatcher(None, x, y).ratio())
    return best


@functools.lru_cache(maxsize=65536)
def _letters(text: str) -> collections.Counter:
    """How many times each character occurs in ``text`` (difflib's quick_ratio, cached)."""
    return collections.Counter(text)


def _synonyms(name: str, vocabulary: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The names a column goes by: its own, :data:`SYNONYMS`, the report's, and the disease
    profile's ``vocabulary`` (:attr:`analysis.registry.diseases.Profile.vocabulary`)."""
    own = (VARIABLES[name].name, VARIABLES[name].phrase) if name in VARIABLES else ()
    return (name.replace("_", " "),) + SYNONYMS.get(name, ()) + own + (vocabulary or {}).get(name, ())


def _without_units(text: str) -> str:
    return re.sub(r"\([^)]*\)|\[[^]]*\]", " ", text)


def _candidates(
    name: str,
    header: str,
    label: str | None,
    option: tuple[str, str] | None = None,
    vocabulary: dict[str, tuple[str, ...]] | None = None,
    floor: float | None = 0.0,
) -> tuple[str, float, str]:
    """(how, score, via) of one header for one contract column. A guess's score is exact
    when it is at least `floor` (see :func:`_similarity`); ``floor=None``: the caller only
    asks whether the header is a match, and a guess scores 0."""
    if header == name:
        return "exact", 3.0, ""
    shown = markup_text(header)  # a label-export header written as HTML: its text
    if normal_name(shown) == name:
        return "same name", 2.5, ""
    texts = [shown] + ([label] if label else [])
    texts += [_without_units(t) for t in texts if "(" in t or "[" in t]  # units: "Peak IL-6 (pg/mL)"
    synonyms = _synonyms(name, vocabulary)
    for text in texts:
        normal, expanded = normal_name(text), _expand(text)
        for synonym in synonyms:
            if normal == normal_name(synonym) or expanded == _expand(synonym):
                from_dictionary = label is not None and text in (label, _without_units(label))
                via = f"dictionary label '{label}'" if from_dictionary else ""
                shortened = [w for w in normal.split("_") if w in ABBREVIATIONS]
                if normal != normal_name(synonym) and shortened:
                    via = ", ".join(
                        filter(
                            None,
                            [via, "abbreviations " + ", ".join(f"{w.upper()} = {ABBREVIATIONS[w]}" for w in shortened)],
                        )
                    )
                return "known label", 2.0, via
    for text in texts:  # the same words in another order ("CRS (ASTCT grade)" = "CRS grade ASTCT")
        words = _stems(text)
        for synonym in synonyms:
            if (len(words) > 1 or len(min(words, default="")) > 5) and words == _stems(synonym):
                return "known label", 1.9, f"the words of '{synonym}'"
    if option is not None:  # a checkbox option: "Seizure" of "ICANS symptoms"
        field_label, choice = option
        if any(_expand(choice) == _expand(s) for s in synonyms):
            return "known label", 1.8, f"checkbox option '{choice}' of '{field_label}'"
    if floor is None:
        return "guess", 0.0, ""
    best = max(_similarity(text, synonym, floor) for text in texts for synonym in synonyms)
    return "guess", best, ""


#: A test-result column (``*_negative``/``*_positive``): words that name the test in a header or
#: label. Such a header whose values read as negative and positive is a known label for it
#: ("MRD by flow cytometry at day 30": 1, Negative | 2, Positive | 8, Not done).
_RESULT_WORDS = {"mrd_negative": {"mrd", "residual"}, "ph_positive": {"ph", "philadelphia", "bcr"}}


def _result_column(name: str, header: str, label: str | None, evidence: _Table | None) -> str | None:
    """Why a header holds a test-result column, or None: it names the test and its values (or
    its dictionary's choices) read as both results."""
    words = _stems(header) | (_stems(label) if label else frozenset())
    if name not in _RESULT_WORDS or not words & _RESULT_WORDS[name] or evidence is None:
        return None
    if evidence.kinds.get(header) == DATE_FIELD:
        return None
    codes = evidence.choices.get(header, {})
    distinct = sorted(set(codes) | {v for v in evidence.frame[header] if v})[:20]
    found = _boolean_values(distinct, codes, name)
    if found is None or "not recognised" in found[1] or {True, False} - set(found[0].values()):
        return None
    shown = sorted({codes.get(k, k) for k, v in found[0].items() if v in (True, False)})
    return f"{' '.join(sorted(words & _RESULT_WORDS[name])).upper()} field whose values read {'/'.join(shown[:3])}"


def _match(
    headers: list[str],
    fields,
    labels: dict[str, str],
    options: dict[str, tuple[str, str]] | None = None,
    preset: dict[str, ColumnMatch] | None = None,
    evidence: _Table | None = None,
    vocabulary: dict[str, tuple[str, ...]] | None = None,
) -> list[ColumnMatch]:
    """One header per contract column, best pairs first (a header is used once). With the
    export's ``evidence`` (its dictionary entries and cells), a header whose kind cannot hold
    the column is never proposed for it (a yes/no field for a date: :func:`_kind_fits`)
    unless its name is the column's own, and a test-result column is found by its values."""
    options = options or {}
    kinds = evidence.kinds if evidence is not None else {}
    chosen: dict[str, ColumnMatch] = dict(preset or {})
    used: set[str] = {m.header for m in chosen.values() if m.header}
    scored = []
    for f in fields:
        if f.name in chosen:
            continue
        for header in headers:
            if not header or header in used:
                continue
            how, score, via = _candidates(
                f.name, header, labels.get(header), options.get(header), vocabulary, floor=GUESS_MIN
            )
            if how not in ("exact", "same name") and not _kind_fits(kinds.get(header, UNKNOWN_KIND), f.kind):
                continue
            if how == "guess" and (why := _result_column(f.name, header, labels.get(header), evidence)):
                how, score, via = "known label", 1.7, why
            if how != "guess" or score >= GUESS_MIN:
                scored.append((score, f.name, header, how, via))
    scored.sort(key=lambda item: -item[0])
    for score, name, header, how, via in scored:
        if name in chosen or header in used:
            continue
        chosen[name] = ColumnMatch(name, header, how, min(score, 1.0) if how == "guess" else 1.0, via)
        used.add(header)
    return [chosen.get(f.name, ColumnMatch(f.name, None, "unmapped", 0.0)) for f in fields]


# --------------------------------------------------------------------------- values


def _boolean_values(distinct: list[str], choices: dict[str, str], name: str = "") -> tuple[dict, str] | None:
    """Yes/no-like words -> booleans; for a column that accepts it (``not_done``), "not
    done"-like words -> "not done" (else empty). A test result column of the form
    Negative/Positive under ``*_negative`` reads Negative as true."""
    accepts_not_done = name in _NOT_DONE_COLUMNS
    negative_is_yes = name.endswith("_negative")
    positive_is_yes = name.endswith("_positive")
    table: dict[str, bool | str | None] = {}
    unknown = []
    for value in distinct:
        low = re.sub(r"\s*\([^)]*\)", "", choices.get(value, value)).strip().lower()  # "Negative (<0.01%)"
        meaning: bool | None = True if low in _YES else False if low in _NO else None
        if negative_is_yes and low in _RESULT_NEGATIVE | _RESULT_POSITIVE:
            meaning = low in _RESULT_NEGATIVE
        elif (negative_is_yes or positive_is_yes) and meaning is None:
            # "Ph-positive" / "Ph-negative" under ph_positive, "MRD-negative" under mrd_negative:
            # one of the two words, and nothing that turns it round ("not", "unknown")
            words = set(_expand(low).split("_"))
            said = words & {"positive", "negative"}
            if len(said) == 1 and not words & {"not", "no", "unknown", "equivocal", "borderline", "weak"}:
                meaning = ("negative" in said) == negative_is_yes
        if name == "cr_day30" and meaning is None:
            parts = {part.strip() for part in re.split(r"[/,;]| or ", low)}  # "CR/CRi"
            meaning = True if parts <= _CR_YES else False if parts <= _CR_NO else None
        if meaning is not None and value not in choices and BOOLEAN_WORDS.get(value.strip().lower()) == meaning:
            continue  # the contract reads the cell as it is (a coded value is written out all the same)
        if meaning is not None:
            table[value] = meaning
        elif low in _NOT_DONE or low.replace("_", " ") in _NOT_DONE:
            if accepts_not_done and low in NOT_DONE_WORDS and value.strip().lower() == low:
                continue  # read as it is
            table[value] = "not done" if accepts_not_done else None
        else:
            unknown.append(value)
    notes = []
    if negative_is_yes and any(
        re.sub(r"\s*\([^)]*\)", "", choices.get(v, v)).strip().lower() in _RESULT_NEGATIVE for v in table
    ):
        notes.append("a test result: negative (undetectable) read as true")
    if unknown:
        notes.append(f"not recognised: {', '.join(unknown)}")
    return (table, "; ".join(notes)) if table or unknown else None


def _sex_values(distinct: list[str], choices: dict[str, str], name: str = "") -> tuple[dict, str] | None:
    table, unknown = {}, []
    for value in distinct:
        text = choices.get(value, value).strip().lower()
        if text in SEX_WORDS and choices.get(value, value) == value:
            continue
        if text in _MALE:
            table[value] = "M"
        elif text in _FEMALE:
            table[value] = "F"
        else:
            unknown.append(value)
    note = f"not recognised: {', '.join(unknown)}" if unknown else ""
    return (table, note) if table or unknown else None


def _status_values(distinct: list[str], choices: dict[str, str], name: str = "") -> tuple[dict, str] | None:
    table, unknown = {}, []
    for value in distinct:
        text = choices.get(value, value).strip().lower()
        if text in STATUS_WORDS and choices.get(value, value) == value:
            continue
        if "refract" in text and "relaps" in text and "primary" not in text:
            unknown.append(value)  # "refractory relapse": relapsed, refractory to salvage? ask
        elif "refract" in text:
            table[value] = "primary_refractory"
        elif "relaps" in text:
            table[value] = "relapsed"
        else:
            unknown.append(value)
    guessed = (
        "check: 'refractory' read as primary_refractory"
        if any(v == "primary_refractory" and "primary" not in choices.get(k, k).lower() for k, v in table.items())
        else ""
    )
    note = "; ".join(filter(None, [guessed, f"not recognised: {', '.join(unknown)}" if unknown else ""]))
    return (table, note) if table or unknown else None


def _grade_values(distinct: list[str], choices: dict[str, str], name: str = "") -> tuple[dict, str] | None:
    table, unknown = {}, []
    for value in distinct:
        text = choices.get(value, value).strip().lower()
        if re.fullmatch(r"\d+(\.0)?", value) and (
            value not in choices or (digits := re.search(r"\d+", text)) is None or digits[0] == value.split(".")[0]
        ):
            continue  # already a number (or a code whose label is the same grade)
        if text in _NONE_GRADE:
            table[value] = 0
        elif m := re.search(r"\b(?:grade\s*)?([0-5]|i{1,3}|iv|v)\b", text):
            roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
            table[value] = roman[m[1]] if m[1] in roman else int(m[1])
        else:
            unknown.append(value)
    note = f"not recognised: {', '.join(unknown)}" if unknown else ""
    return (table, note) if table or unknown else None


def _spellings(text: str) -> list[str]:
    """The ways a cell may spell a response level: itself, with its brackets left out, what
    is inside them ("Complete metabolic response (Deauville 1-3)", "Stringent CR (sCR)"), and
    each with underscores and hyphens read as spaces (lower case)."""
    low = re.sub(r"\s+", " ", text.strip().lower())
    tries = [low, re.sub(r"\s*\([^)]*\)|\s*\[[^]]*\]", "", low).strip(), *re.findall(r"\(([^)]*)\)", low)]
    tries += [re.sub(r"[_\-]+", " ", t).strip() for t in tries]
    return [t.strip() for t in tries if t.strip()]


def _scale_level(text: str, scale: Scale) -> str | None:
    """The level of a response scale a cell names, in any of its :func:`_spellings`
    (:attr:`analysis.registry.diseases.Scale.words`)."""
    return next((scale.words[t] for t in _spellings(text) if t in scale.words), None)


def _scale_values(scale: Scale):
    """The proposer of a response column on ``scale``: each export value -> the level's key;
    "not evaluable"-like words -> "not done"; a spelling the scale reads as it is, unmapped."""

    def propose(distinct: list[str], choices: dict[str, str], name: str = "") -> tuple[dict, str] | None:
        table: dict[str, str] = {}
        unknown = []
        for value in distinct:
            text = choices.get(value, value)
            low = text.strip().lower()
            if text == value and low in scale.words:
                continue  # read as it is
            level = _scale_level(text, scale)
            if level is not None:
                table[value] = level
            elif low in _NOT_DONE or low.replace("_", " ") in _NOT_DONE:
                if text == value and low in NOT_DONE_WORDS:
                    continue
                table[value] = "not done"
            else:
                unknown.append(value)
        note = f"{scale.name} levels: {', '.join(scale.keys)}"
        if unknown:
            note += f"; not recognised: {', '.join(unknown)}"
        return (table, note) if table or unknown else None

    return propose


_VALUE_PROPOSERS = {
    "boolean": _boolean_values,
    "sex": _sex_values,
    "status": _status_values,
    **{kind: _scale_values(scale) for kind, scale in SCALES.items()},
}
#: Columns that accept "not done" (any disease profile's: MRD not assessed, response not evaluable).
_NOT_DONE_COLUMNS = {f.name for p in DISEASES.values() for f in p.fields if f.not_done}
#: A disease profile's own whole-number scores (ECOG, Ann Arbor stage, IPI, R-ISS): written in
#: words or Roman numerals ("Stage IV", "R-ISS II") they are read as grades are.
_LEVEL_COLUMNS = {
    f.name
    for p in DISEASES.values()
    for f in p.fields
    if f.kind == "integer" and f.name not in {c.name for c in COHORT_FIELDS}
}


def _propose_values(frame: pd.DataFrame, choices: dict, matches: list[ColumnMatch], fields) -> tuple[dict, dict]:
    kinds = {f.name: f.kind for f in fields}
    values, notes = {}, {}
    for m in matches:
        if m.header is None:
            continue
        kind = kinds[m.name]
        proposer = _VALUE_PROPOSERS.get(kind) or (
            _grade_values if m.name.endswith("_grade") or m.name in _LEVEL_COLUMNS else None
        )
        if proposer is None:
            continue
        codes = choices.get(m.header, {})
        distinct = sorted({v for v in frame[m.header] if v != ""} | set(codes))[:50]  # next export's codes too
        found = proposer(distinct, codes, m.name)
        if found is None:
            continue
        mapped, note = found
        if m.how == "guess":  # no value mapping is more certain than its column
            note = "; ".join(filter(None, ["GUESS: the column itself is a guess", note]))
        if mapped:
            values[m.name] = {_yaml_key(k): v for k, v in mapped.items()}
        if note:
            notes[m.name] = note
    return values, notes


def _yaml_key(text: str):
    """Keep codes as numbers in the file where they are numbers ('1' -> 1)."""
    return int(text) if re.fullmatch(r"-?\d+", text) else text


# --------------------------------------------------------------------------- dates

_TEXT_DATE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _date_format(frame: pd.DataFrame, matches: list[ColumnMatch], fields) -> tuple[str | None, str, dt.date | None]:
    """(format, note, latest readable date) from the date columns' cells."""
    date_columns = [m.header for m in matches if m.header and m.name in {f.name for f in fields if f.kind == "date"}]
    cells = [v for h in date_columns for v in frame[h] if v]
    texts = [m.groups() for m in map(_TEXT_DATE.match, cells) if m]
    fmt, note = None, ""
    if texts:
        sep = texts[0][1]
        if any(int(t[0]) > 12 for t in texts):
            fmt, note = f"%d{sep}%m{sep}%Y", f"{len(texts)} text dates, day first (a first number above 12)"
        elif any(int(t[2]) > 12 for t in texts):
            fmt, note = f"%m{sep}%d{sep}%Y", f"{len(texts)} text dates, month first (a second number above 12)"
        else:
            fmt, note = f"%d{sep}%m{sep}%Y", (f"{len(texts)} text dates; no number above 12, day first ASSUMED: check")
    dates = [d for h in date_columns for d in _dates(frame[h], fmt) if d is not None]
    return fmt, note, max(dates, default=None)


def _dates(cells: pd.Series, fmt: str | None) -> list[dt.date | None]:
    """The date of each cell: ISO (its first 10 characters), else a text date in `fmt`;
    None where neither reads."""
    text = pd.Series(cells, dtype=object).fillna("").astype(str)
    out: list[dt.date | None] = [None] * len(text)
    iso = text.str.match(_ISO.pattern).to_numpy(dtype=bool)
    parts = [(iso, lambda t: pd.to_datetime(t.str[:10], format="%Y-%m-%d", errors="coerce"))]
    if fmt:
        other = ~iso & text.str.match(_TEXT_DATE.pattern).to_numpy(dtype=bool)
        parts.append((other, lambda t: pd.to_datetime(t, format=fmt, errors="coerce")))
    for where, parse in parts:  # each kind of cell parsed at once, only where there is one
        if where.any():
            for i, date in zip(np.flatnonzero(where).tolist(), parse(text[where])):
                if not pd.isna(date):
                    out[i] = date.date()
    return out


def _export_date(path: Path) -> tuple[dt.date, str]:
    """When the export was made: the date in its name (REDCap writes
    ``MyStudy_DATA_2026-11-02_1015.csv``), else the file's modification date."""
    if m := re.search(r"(20\d{2})[-_]?(\d{2})[-_]?(\d{2})", path.stem):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])), "the date in its name"
        except ValueError:
            pass
    try:
        return dt.date.fromtimestamp(path.stat().st_mtime), "the file's date"
    except OSError:
        return dt.date.today(), "today"


# --------------------------------------------------------------------------- content checks


def _contract_values(cells: pd.Series, table: dict | None) -> pd.Series:
    """Cells as the contract will read them once ``values:`` applies (lower-cased text)."""
    text = cells.fillna("").astype(str).str.strip()
    if table:
        lookup = {str(k).strip().lower(): ("" if v is None else str(v).lower()) for k, v in table.items()}
        low = text.str.lower()
        text = low.map(lambda v: lookup.get(v, v))
    return text.str.lower()


def _content_doubts(
    frame: pd.DataFrame,
    matches: list[ColumnMatch],
    values: dict,
    choices: dict,
    date_format: str | None,
    export: Path,
    fields=COHORT_FIELDS,
) -> list[tuple[str, str, bool]]:
    """What a column's values say against what its contract column means: (contract
    column, what is wrong, whether the mapping is held back: written commented out, so that
    nothing is read from a column whose values contradict its meaning)."""
    by_name = {m.name: m for m in matches if m.header is not None}
    found: list[tuple[str, str, bool]] = []

    def as_bool(name: str) -> pd.Series | None:
        m = by_name.get(name)
        if m is None:
            return None
        text = _contract_values(frame[m.header], values.get(name))
        return text.map(
            lambda v: True if BOOLEAN_WORDS.get(v) is True else False if BOOLEAN_WORDS.get(v) is False else None
        )

    cr = by_name.get("cr_day30")
    if cr is not None:
        labels = {choices.get(cr.header, {}).get(v, v).strip().lower() for v in frame[cr.header] if v}
        if labels & {"positive", "negative", "pos", "neg"}:
            listed = ", ".join(sorted(labels))
            found.append(
                (
                    "cr_day30",
                    f"cr_day30 <- {cr.header!r}: its values are {listed}: a test result "
                    "(MRD?), not a response at day 30",
                    True,
                )
            )
        elif len(labels) >= 3 and labels & {"not done", "not assessed", "not performed", "not tested"}:
            done = sorted(labels & _NOT_DONE)[0]
            found.append(
                (
                    "cr_day30",
                    f"cr_day30 <- {cr.header!r}: three levels with one '{done}': "
                    "a response is evaluated, an assessment (MRD?) is done",
                    True,
                )
            )
        in_cr, date = as_bool("cr_day30"), by_name.get("cr_date")
        if in_cr is not None and date is not None:
            has_date = frame[date.header].fillna("").astype(str).str.strip().ne("")
            yes_without = int((in_cr.eq(True) & ~has_date).sum())
            no_with = int((in_cr.eq(False) & has_date).sum())
            known = int(in_cr.notna().sum())
            if known and (yes_without + no_with) > max(2, 0.1 * known):
                found.append(
                    (
                        "cr_day30",
                        f"cr_day30 <- {cr.header!r}: {yes_without} patients read as in CR have "
                        "no CR date "
                        f"({date.header!r}) and {no_with} read as not in CR have one: is this the CR column, "
                        "and are its values the right way round?",
                        True,
                    )
                )
    mrd = by_name.get("mrd_negative")
    if mrd is not None:
        negative = as_bool("mrd_negative")
        in_cr = as_bool("cr_day30")
        if negative is not None and in_cr is not None:
            outside = int((negative.notna() & in_cr.eq(False)).sum())
            known = int(negative.notna().sum())
            if known and outside > max(2, 0.1 * known):
                found.append(
                    (
                        "mrd_negative",
                        f"mrd_negative <- {mrd.header!r}: {outside} of the {known} patients "
                        "with an MRD value "
                        "are read as not in CR (the contract's MRD is that of patients in CR)",
                        True,
                    )
                )
    kinds = {f.name: f.kind for f in fields}
    for yes_no in by_name.values():  # a yes/no column whose values are neither yes nor no
        if kinds.get(yes_no.name) != "boolean":
            continue
        cells = frame[yes_no.header].fillna("").astype(str).str.strip()
        codes = choices.get(yes_no.header, {})
        distinct = sorted(set(cells[cells.ne("")]))
        found_values = _boolean_values(distinct, codes, yes_no.name)
        unknown = (
            set(found_values[1].split("not recognised: ", 1)[1].split(", "))
            if found_values and "not recognised: " in found_values[1]
            else set()
        )
        if distinct and set(distinct) <= unknown:  # a code is read by its label, not as the digit it is
            shown = ", ".join(sorted({codes.get(v, v) for v in distinct})[:4])
            found.append(
                (
                    yes_no.name,
                    f"{yes_no.name} <- {yes_no.header!r}: none of its values ({shown}) reads as yes or no",
                    True,
                )
            )
    for name in ("tocilizumab_cum_mg", "dex_equiv_cum_mg"):
        m = by_name.get(name)
        if m is None:
            continue
        numbers = pd.to_numeric(frame[m.header].replace("", np.nan), errors="coerce").dropna()
        words = _tokens(m.header) | (_tokens(m.via) if m.via else set())
        if len(numbers) and (numbers == numbers.round()).all() and numbers.max() <= DOSE_COUNT_MAX:
            found.append(
                (
                    name,
                    f"{name} <- {m.header!r}: every value is a small whole number "
                    f"({int(numbers.min())}-{int(numbers.max())}): a number of doses, not mg?",
                    True,
                )
            )
        elif words & {"doses", "number", "count", "n"}:
            found.append(
                (name, f"{name} <- {m.header!r}: the header speaks of a count of doses; the contract wants mg", True)
            )
    infusion = by_name.get("infusion_date")
    if infusion is not None:  # the infusion is the first date of a patient's course
        start = pd.Series(_dates(frame[infusion.header], date_format), index=frame.index)
        for other in ("cr_date", "last_followup_date"):
            m = by_name.get(other)
            if m is None:
                continue
            later = pd.Series(_dates(frame[m.header], date_format), index=frame.index)
            both = start.notna() & later.notna()
            before = int(sum(a < b for a, b in zip(later[both], start[both])))
            if both.sum() and before > 0.5 * both.sum():
                text = (
                    f"{other} <- {m.header!r} precedes infusion_date <- {infusion.header!r} in {before} of "
                    f"{int(both.sum())} patients: are the two columns swapped?"
                )
                found += [("infusion_date", text, True), (other, text, True)]
    latest, where = _export_date(export)
    birth = next(
        (
            h
            for h in frame.columns
            if _expand(h) in ("date_of_birth", "birth_date", "birthdate")
            or normal_name(h) in ("dob", "date_of_birth", "birth_date")
        ),
        None,
    )
    births = pd.Series(_dates(frame[birth], date_format), index=frame.index) if birth else None
    for f in fields:
        m = by_name.get(f.name)
        if f.kind != "date" or m is None:
            continue
        dates = pd.Series(_dates(frame[m.header], date_format), index=frame.index)
        known = dates.dropna()
        filled = frame[m.header].fillna("").astype(str).str.strip()
        filled = filled[filled.ne("")]
        if len(filled) and len(known) < DATE_SHARE * len(filled):
            shown = ", ".join(sorted({choices.get(m.header, {}).get(v, v) for v in filled})[:4])
            found.append(
                (
                    f.name,
                    f"{f.name} <- {m.header!r}: {len(filled) - len(known)} of its {len(filled)} values "
                    f"are not dates ({shown}): a date column holds dates",
                    True,
                )
            )
            continue
        if known.empty:
            continue
        early = known[known < EARLIEST_DATE]
        late = known[known > latest]
        if births is not None:
            before = int(sum(d is not None and b is not None and d < b for d, b in zip(dates, births)))
            if before:
                found.append(
                    (
                        f.name,
                        f"{f.name} <- {m.header!r}: {before} dates precede the patient's date of birth ({birth!r})",
                        before >= len(known) / 2,
                    )
                )
        if len(early):
            found.append(
                (
                    f.name,
                    f"{f.name} <- {m.header!r}: {len(early)} dates before {EARLIEST_DATE.year} (earliest "
                    f"{min(early).isoformat()}): a date of birth or of diagnosis?",
                    len(early) >= len(known) / 2,
                )
            )
        if len(late):
            found.append(
                (
                    f.name,
                    f"{f.name} <- {m.header!r}: {len(late)} dates after the export was made "
                    f"({latest.isoformat()}, {where}): a planned date, or another column?",
                    len(late) >= len(known) / 2,
                )
            )
    return found


# --------------------------------------------------------------------------- REDCap flat exports


_KINETICS_HINTS = ("kinetic", "pcr", "expansion", "persistence", "vcn", "copies", "transgene", "car_t_level")


def _nonempty_columns(frame: pd.DataFrame, rows: pd.Series) -> set[str]:
    part = frame[rows.to_numpy()]
    return {c for c in frame.columns if part[c].astype(str).str.strip().ne("").any()}


def _kinetics_fields() -> tuple:
    return tuple(f for f in KINETICS_FIELDS if f.name != "patient_id")


def _best_kinetics(
    headers: list[str], labels: dict[str, str], evidence: _Table | None = None
) -> tuple[ColumnMatch | None, ColumnMatch | None]:
    matches = {m.name: m for m in _match(headers, _kinetics_fields(), labels, evidence=evidence)}
    found = [matches.get(name) for name in ("car_copies_per_ug", "day")]
    return tuple(m if m is not None and m.header is not None else None for m in found)  # type: ignore[return-value]


@dataclass
class _Split:
    cohort: pd.DataFrame
    kinetics: pd.DataFrame | None
    cohort_headers: list[str]
    kinetics_headers: list[str]
    layout: redcap.Layout
    found: str
    doubts: list[str]
    notes: list[str]


def _split_redcap(table: _Table, shape: redcap.Shape, export: Path) -> _Split:
    """Which rows are the cohort and which the kinetics table, and the layout saying so."""
    frame = table.frame
    headers = list(frame.columns)
    positional = frame.set_axis(range(len(headers)), axis=1)
    instruments, events = redcap.describe_rows(positional, shape)
    system = {
        headers[i] for i in shape.system if headers[i] != (headers[shape.group] if shape.group is not None else None)
    }
    record = headers[0]
    forms = table.dictionary.forms if table.dictionary is not None else {}
    instrument = frame[headers[shape.instrument]].str.strip() if shape.instrument is not None else None
    event = frame[headers[shape.event]].str.strip() if shape.event is not None else None
    repeating = instrument.ne("") if instrument is not None else pd.Series(False, index=frame.index)
    doubts: list[str] = []
    notes: list[str] = []
    layout = redcap.NO_LAYOUT
    kinetics_rows = pd.Series(False, index=frame.index)
    kinetics_columns: set[str] = set()
    copies_header = None  # the CAR copies column of sampling events

    def candidate_columns(rows: pd.Series) -> list[str]:
        filled = _nonempty_columns(frame, rows)
        return [h for h in headers if h in filled and h not in system and h != record]

    # a repeating instrument holding CAR copies (its name, its form's fields, its values)
    best = None
    for name, n in instruments.items():
        assert instrument is not None  # repeating instruments: the instrument column
        rows = instrument.eq(name)
        columns = candidate_columns(rows)
        copies, day = _best_kinetics(columns, table.labels, table)
        form_fields = [h for h in columns if normal_name(forms.get(h, "")) == normal_name(name)]
        hinted = any(hint in normal_name(name) for hint in _KINETICS_HINTS)
        if copies is None:
            continue
        score = (copies.how != "guess", hinted, bool(form_fields), copies.score, day is not None)
        if best is None or score > best[0]:
            best = (score, name, rows, columns, n, copies)
    if best is not None:
        _, name, rows, columns, n, copies = best
        layout = redcap.Layout(kinetics_instrument=name)
        kinetics_rows, kinetics_columns = rows, set(columns)
        found = f"{n} rows of repeating instrument {name} -> kinetics"
        if copies.how == "guess" and not any(hint in normal_name(name) for hint in _KINETICS_HINTS):
            doubts.append(
                f"kinetics from repeating instrument {name!r}: its column {copies.header!r} is only a "
                "guess for CAR copies"
            )
    elif event is not None:
        # sampling events: events whose rows hold CAR copies (the column best matching them)
        columns = [h for h in headers if h not in system and h != record]
        copies, _ = _best_kinetics(columns, table.labels, table)
        day = None
        if copies is not None:
            copies_header = copies.header
            has_copies = frame[copies.header].str.strip().ne("") & ~repeating
            sampling = [e for e in events if (has_copies & event.eq(e)).any()]
            # a day column is one filled wherever a sample is
            filled = [
                h for h in columns if h != copies.header and frame.loc[has_copies, h].str.strip().ne("").mean() >= 0.9
            ]
            _, day = _best_kinetics(filled, table.labels, table)
            days: dict[str, int | None] = {}
            for e in sampling:
                days[e] = None if day is not None else redcap.event_day(e)
            missing = [e for e, d in days.items() if d is None and day is None]
            if missing:
                doubts.append(
                    f"kinetics events {', '.join(map(repr, missing))}: no day after infusion in the "
                    "event name and no day column: write each day under `redcap: kinetics_events:`"
                )
            layout = redcap.Layout(kinetics_events=days)
            kinetics_rows = event.isin(sampling) & has_copies
            kinetics_columns = set(candidate_columns(event.isin(sampling) & ~repeating))
            n = int(kinetics_rows.sum())
            source = "the event names" if day is None else f"column {day.header!r}"
            found = f"{n} rows of {len(sampling)} sampling events -> kinetics (day after infusion from {source})"
        else:
            found = "no kinetics (no event holds CAR copies)"
    else:
        found = "no kinetics (no repeating instrument holds CAR copies)"
    others = [
        f"{n} rows of repeating instrument {name}"
        for name, n in instruments.items()
        if name != layout.kinetics_instrument
    ]
    if others:
        notes.append("not read (not part of the contract): " + ", ".join(others))
    copies_at = [headers.index(copies_header)] if copies_header is not None else []
    split = redcap.split(
        positional,
        headers,
        shape,
        layout,
        record=0,
        merged=[i for i, h in enumerate(headers) if h not in kinetics_columns],
        sample_values=copies_at,
    )
    cohort = split.cohort.set_axis(headers, axis=1).fillna("")
    kinetics = None
    kinetics_headers: list[str] = []
    if split.kinetics is not None:
        kinetics = split.kinetics[kinetics_rows.loc[split.kinetics.index].to_numpy()]
        extra = ["day (from the event)"] if split.day_column is not None else []
        kinetics = kinetics.set_axis(headers + extra, axis=1).fillna("")
        kinetics_headers = [record] + [h for h in headers if h in kinetics_columns] + extra
    only_kinetics = kinetics_columns - _nonempty_columns(frame, ~kinetics_rows & ~repeating)
    only_kinetics |= {
        h
        for h in headers
        if layout.kinetics_instrument is not None
        and normal_name(forms.get(h, "")) == normal_name(layout.kinetics_instrument)
    }
    cohort_headers = [h for h in headers if h not in system and h not in only_kinetics]
    if shape.group is not None:
        cohort_headers = [h for h in cohort_headers if h != headers[shape.group]] + [headers[shape.group]]
    records = split.records
    what = [f"{records} records"]
    if events:
        what.append(f"{len(events)} events ({', '.join(list(events)[:6])}{', ...' if len(events) > 6 else ''})")
    what.append(found)
    text = "REDCap flat export: " + ", ".join(what)
    return _Split(cohort, kinetics, cohort_headers, kinetics_headers, layout, text, doubts, notes)


# --------------------------------------------------------------------------- the disease profile

_MATCHED = ("exact", "same name", "known label")


@functools.lru_cache(maxsize=1)
def _profile_evidence() -> tuple[dict[str, set[str]], set[str], dict[str, set[str]], dict[str, str], dict[str, str]]:
    """What tells the profiles apart, all read from :data:`analysis.registry.diseases.DISEASES`:
    (profile -> the contract columns no other profile has (B-ALL: its required ones); the
    columns every non-default profile shares and B-ALL lacks (best response, progression
    date); profile -> the response-level spellings no other profile's scale has (CMR, VGPR);
    scale-name word -> profile ("lugano", "imwg"); endpoint abbreviation -> profile ("pfs"),
    for endpoints B-ALL does not have)."""
    names = {key: {f.name for f in p.fields} for key, p in DISEASES.items()}
    own = {}
    for key, p in DISEASES.items():
        others = set().union(*(n for k, n in names.items() if k != key))
        own[key] = {f.name for f in p.fields if f.name not in others and (key != DEFAULT_DISEASE or f.required)}
    profiles = [n for k, n in names.items() if k != DEFAULT_DISEASE]
    shared: set[str] = set.intersection(*profiles) - names[DEFAULT_DISEASE] if profiles else set()
    levels = {}
    for key, p in DISEASES.items():
        if p.scale is None:
            continue
        rest = set().union(*(set(q.scale.words) for k, q in DISEASES.items() if k != key and q.scale is not None))
        levels[key] = set(p.scale.words) - rest
    scale_names = {p.scale.name.split()[0].lower(): key for key, p in DISEASES.items() if p.scale is not None}
    endpoints = {
        e.abbreviation.lower(): key
        for key, p in DISEASES.items()
        if key != DEFAULT_DISEASE
        for e in p.endpoints
        if e.key not in ENDPOINTS
    }
    return own, shared, levels, scale_names, endpoints


def detect_disease(
    headers: list[str],
    labels: dict[str, str],
    frame: pd.DataFrame,
    choices: dict[str, dict[str, str]] | None = None,
    kinds: dict[str, str] | None = None,
) -> DiseaseGuess:
    """The disease profile an export speaks of, and why. Evidence for a profile: a header (or
    its dictionary label) naming one of the columns only that profile has, in the words of
    its ``vocabulary`` (:attr:`analysis.registry.diseases.Profile.vocabulary`: "R-ISS",
    "Bulky", "LDH > ULN") or the B-ALL contract's :data:`SYNONYMS`; a header naming the
    profile's response scale ("Best response (Lugano)"); a column whose values are levels
    only that profile's scale has (CMR, PMR; VGPR, sCR). A header naming another profile's
    column too counts for neither. Sure when one profile has at least two pieces and no
    other has any; a GUESS otherwise; B-ALL (the default) when nothing speaks of another
    profile."""
    choices, kinds = choices or {}, kinds or {}
    own, shared, levels, scale_names, endpoints = _profile_evidence()
    found: dict[str, list[str]] = {key: [] for key in DISEASES}
    generic: list[str] = []
    for header in headers:
        label = labels.get(header)
        words = _tokens(header) | (_tokens(label) if label else frozenset())
        speaks = {
            key
            for key, columns in own.items()
            for column in columns
            if _candidates(column, header, label, vocabulary=DISEASES[key].vocabulary, floor=None)[0] in _MATCHED
        }
        speaks |= {key for word, key in scale_names.items() if word in words}
        if len(speaks) == 1:
            found[speaks.pop()].append(repr(header))
        elif not speaks and (
            words & set(endpoints)
            or any(
                _candidates(column, header, label, vocabulary=p.vocabulary, floor=None)[0] in _MATCHED
                for column in shared
                for key, p in DISEASES.items()
                if key != DEFAULT_DISEASE
            )
        ):
            if not any(_candidates(f.name, header, label, floor=None)[0] in _MATCHED for f in COHORT_FIELDS):
                generic.append(repr(header))
        if kinds.get(header) == DATE_FIELD or header not in frame:
            continue
        column = frame[header]
        if isinstance(column, pd.DataFrame):  # a header written twice
            column = column.iloc[:, 0]
        cells = {choices.get(header, {}).get(v, v) for v in column.head(5000) if v}
        if len(cells) > 50:
            continue
        for key, spelled in levels.items():
            hits = sorted({cell for cell in cells if set(_spellings(cell)) & spelled})
            if hits:
                found[key].append(f"values {', '.join(hits[:3])} of {header!r}")
    scores = {key: len(items) for key, items in found.items() if key != DEFAULT_DISEASE}
    if not scores:
        return DiseaseGuess(DEFAULT_DISEASE, "default", "")
    top = max(scores, key=lambda k: scores[k])  # the first profile on a tie
    runner = max((n for k, n in scores.items() if k != top), default=0)
    b_all = len(found[DEFAULT_DISEASE])
    profile = DISEASES[top]
    if scores[top] == 0:
        if not generic:
            return DiseaseGuess(DEFAULT_DISEASE, "default", "")
        return DiseaseGuess(
            top,
            "guess",
            f"{', '.join(generic[:3])} speak of a lymphoma or myeloma study, but no "
            f"column or response level of one profile only was found (mm: myeloma)",
        )
    said = f"{', '.join(found[top][:4])} speak of {profile.name}"
    if b_all >= scores[top]:
        return DiseaseGuess(
            DEFAULT_DISEASE,
            "guess",
            f"{', '.join(found[DEFAULT_DISEASE][:3])} speak of {DISEASES[DEFAULT_DISEASE].name}, but {said}",
        )
    others = [f"{', '.join(items[:2])} of {DISEASES[k].name}" for k, items in found.items() if items and k != top]
    if runner or b_all or scores[top] < 2:
        return DiseaseGuess(top, "guess", said + (f"; but {'; '.join(others)}" if others else ""))
    return DiseaseGuess(top, "sure", said)


# --------------------------------------------------------------------------- public


def propose_mapping(
    export, kinetics=None, sheet: str | None = None, dictionary=None, disease: str | None = None
) -> Proposal:
    """Read an export (and its kinetics, and its data dictionary) and propose the mapping;
    nothing is written. ``dictionary``: REDCap's data-dictionary CSV (default: one found
    beside the export, or a dictionary sheet of the workbook). ``disease``: the disease
    profile whose contract to map onto (default: the one the export speaks of,
    :func:`detect_disease`; B-ALL when nothing speaks of another)."""
    export = Path(export)
    frame, chosen_sheet, dictionary_sheet, sheet_dictionary = _read(export, sheet)
    notes: list[str] = []
    dictionary_file = None
    found_dictionary = sheet_dictionary
    named = Path(dictionary) if dictionary else None
    if named is None and sheet_dictionary is None:
        named = find_dictionary(export)
        if named is not None and _read_dictionary_csv(named) is None:
            notes.append(
                f"{named.name} was not read as a data dictionary (no 'Variable / Field Name' and 'Field Label' columns)"
            )
            named = None
    if named is not None:
        found_dictionary = _read_dictionary_csv(named)
        if found_dictionary is None:
            raise ValueError(
                f"{named}: not a data dictionary (REDCap's CSV has the columns 'Variable / Field "
                "Name', 'Form Name', 'Field Type', 'Field Label', 'Choices, Calculations, OR Slider "
                "Labels')"
            )
        dictionary_file = named
    table = _table(frame, chosen_sheet, dictionary_sheet, found_dictionary)
    options = {}
    if found_dictionary is not None:
        for header in frame.columns:
            variable = found_dictionary.variable_of(header)
            if variable in found_dictionary.options:
                options[header] = found_dictionary.options[variable]

    shape = redcap.shape_of(list(frame.columns))
    kinetics_path = Path(kinetics) if kinetics else None
    split = None
    cohort_frame, cohort_headers = frame, [h for h in frame.columns if not redcap.is_form_status(h)]
    if shape is not None:
        split = _split_redcap(table, shape, export)
        cohort_frame, cohort_headers = split.cohort, split.cohort_headers
        notes += split.notes
    preset = {}
    if shape is not None:  # REDCap's record id is the first column, whatever its name
        first = str(frame.columns[0])
        how, _, via = _candidates("patient_id", first, table.labels.get(first), floor=None)
        if how == "guess":
            preset["patient_id"] = ColumnMatch(
                "patient_id", first, "known label", 1.0, "REDCap record id: first column"
            )
    if disease is not None:
        guess = DiseaseGuess(disease_profile(disease).key, "given")
    else:
        guess = detect_disease(cohort_headers, table.labels, cohort_frame, table.choices, table.kinds)
    profile: Profile = disease_profile(guess.key)
    fields = profile.fields
    cohort_matches = _match(
        cohort_headers, fields, table.labels, options, preset, evidence=table, vocabulary=profile.vocabulary
    )
    values, value_notes = _propose_values(cohort_frame, table.choices, cohort_matches, fields)
    fmt, date_note, latest = _date_format(cohort_frame, cohort_matches, fields)

    kinetics_matches: list[ColumnMatch] = []
    if kinetics_path is not None:
        kframe, _, _, kdictionary = _read(kinetics_path)
        ktable = _table(kframe, None, None, kdictionary or found_dictionary)
        kinetics_matches = _match(list(kframe.columns), KINETICS_FIELDS, ktable.labels, evidence=ktable)
    elif split is not None and split.kinetics is not None:
        record = str(frame.columns[0])
        kpreset = {"patient_id": ColumnMatch("patient_id", record, "known label", 1.0, "REDCap record id")}
        headers = [h for h in split.kinetics_headers if h != "day (from the event)"]
        kinetics_matches = _match(headers, KINETICS_FIELDS, table.labels, preset=kpreset, evidence=table)
        if any(d is not None for d in split.layout.kinetics_events.values()):
            kinetics_matches = [
                ColumnMatch("day", None, FROM_EVENT, 1.0, "the event name")
                if m.name == "day" and m.header is None
                else m
                for m in kinetics_matches
            ]

    doubts = list(split.doubts) if split is not None else []
    if guess.how == "guess":
        doubts.append(f"disease: {guess.key} is a GUESS: {guess.why}")
    doubts += [
        f"{m.name} <- {m.header!r} is a GUESS (similarity {m.score:.2f})"
        for m in cohort_matches + kinetics_matches
        if m.how == "guess"
    ]
    content = _content_doubts(cohort_frame, cohort_matches, values, table.choices, fmt, export, fields)
    held = {name: text.split(": ", 1)[1] for name, text, hold in content if hold}
    doubts = [d for d in doubts if d.split(" <- ")[0] not in held]  # its content says more than its name
    doubts += list(dict.fromkeys(text for _, text, _ in content))
    cohort_matches = [
        ColumnMatch(m.name, m.header, HELD_BACK, m.score, held[m.name]) if m.name in held else m for m in cohort_matches
    ]
    values = {column: table for column, table in values.items() if column not in held}
    doubts += [
        f"values of {column}: {note}"
        for column, note in value_notes.items()
        if "not recognised" in note or "check" in note or "GUESS" in note
    ]
    if "ASSUMED" in date_note:
        doubts.append(f"date_format {fmt}: {date_note}")
    not_collected = [
        m.name
        for m in cohort_matches
        if m.header is None and any(f.name == m.name and f.optional_column for f in fields)
    ]
    used = {m.header for m in cohort_matches if m.header}
    for name in not_collected:  # "not collected" only where no header speaks of it
        key = _OPTIONAL_WORDS.get(name, set())
        near = [h for h in cohort_headers if h not in used and _stems(h) & key]
        if near:
            doubts.append(
                f"{name}: not found, so written as not collected, but {', '.join(map(repr, near[:3]))} "
                "may hold it: map it under columns: if so"
            )
    value_labels = {
        m.name: table.choices[m.header] for m in cohort_matches if m.name in values and m.header in table.choices
    }
    return Proposal(
        export,
        kinetics_path,
        table.sheet,
        cohort_matches,
        kinetics_matches,
        values,
        value_notes,
        fmt,
        date_note,
        latest,
        table.dictionary_sheet,
        dictionary_file,
        None if split is None else split.layout,
        "" if split is None else split.found,
        doubts,
        not_collected,
        notes,
        value_labels,
        guess,
        [h for h in cohort_headers if h not in used],
    )


def _q(value) -> str:
    """One YAML scalar on one line: text double-quoted with line breaks escaped, so that a
    header or a value of the export can never spill onto a line of its own."""
    return yamlstrict.scalar(value)


def _disease_lines(guess: DiseaseGuess) -> list[str]:
    """The study file's ``disease:`` line with why (a comment only for the default)."""
    valid = ", ".join(DISEASES)
    if guess.how == "default":
        return [f"# disease: {guess.key}  # the default: nothing in the export speaks of another profile ({valid})"]
    return [
        f"# The disease profile ({valid}): its contract is the one mapped below.",
        f"disease: {guess.key}  # {guess.comment}",
    ]


def study_file_text(proposal: Proposal, target: Path) -> str:
    """The proposed study file, commented line by line."""

    def rel(path: Path) -> str:
        return os.path.relpath(path.resolve(), target.resolve().parent)

    lines = [
        "# Study file proposed by `python -m analysis map` on "
        f"{dt.date.today().isoformat()}. Review every line marked GUESS, CHECK or NOT FOUND.",
        "# The keys are documented in study.example.yml.",
    ]
    if proposal.doubts:
        lines.append("# CHECK these before you validate:")
        lines += [f"#   {i}. {doubt}" for i, doubt in enumerate(proposal.doubts, start=1)]
    lines += [
        # until edited, the title and the author print as visible placeholders, not as a real title
        f'title: "{MAP_TITLE}"  # EDIT: your title',
        '# subtitle: "..."',
        "authors:",
        f'  - name: "{MAP_AUTHOR}"  # EDIT',
        f'    affiliation: "{MAP_AFFILIATION}"',
        "    corresponding: true",
        "date: today",
        *_disease_lines(proposal.disease),
        "",
        "data:",
        f"  cohort: {_q(rel(proposal.export))}",
    ]
    if proposal.kinetics is not None:
        lines.append(f"  kinetics: {_q(rel(proposal.kinetics))}")
    elif proposal.layout is not None and proposal.layout.has_kinetics:
        lines.append("  # kinetics: the export's own rows (redcap: below)")
    else:
        lines.append("  kinetics: none  # no CAR-T kinetics table; or the path of one")
    # month and year only: the latest date is one patient's, and a study file is shared
    latest = f" (the export's latest date is in {proposal.latest_date:%B %Y})" if proposal.latest_date else ""
    lines.append(f"  cutoff:   # REQUIRED: the data cut-off, YYYY-MM-DD{latest}")
    if proposal.sheet:
        lines.append(f"  sheet: {_q(proposal.sheet)}")
    if proposal.layout is not None:
        lines += ["", f"# {proposal.found}", "redcap:"]
        if proposal.layout.kinetics_instrument is not None:
            lines.append(
                f"  kinetics_instrument: {_q(proposal.layout.kinetics_instrument)}  # its rows are the kinetics table"
            )
        elif proposal.layout.kinetics_events:
            lines.append("  kinetics_events:  # sampling event: day after infusion (null: from the day column)")
            lines += [f"    {_q(e)}: {_q(d)}" for e, d in proposal.layout.kinetics_events.items()]
        else:
            lines.append("  # kinetics_instrument: NAME  # the repeating instrument holding CAR-T kinetics, if any")
    lines += ["", "# contract column: export header"]
    lines.append("columns:")
    for m in proposal.cohort_matches:
        if m.header is None:
            lines.append(f"  # {m.name}:   # {m.comment}")
        elif m.how == HELD_BACK:
            lines.append(f"  # {m.name}: {_q(m.header)}  # {m.comment}")
        elif m.how != "exact":
            lines.append(f"  {m.name}: {_q(m.header)}  # {m.comment}")
    kinetics_lines = [
        f"  {m.name}: {_q(m.header)}  # {m.comment}"
        for m in proposal.kinetics_matches
        if m.header is not None and m.how != "exact"
    ]
    kinetics_lines += [
        f"  # {m.name}:   # {m.comment}" for m in proposal.kinetics_matches if m.header is None and m.how != FROM_EVENT
    ]
    if kinetics_lines:
        lines += ["kinetics_columns:"] + kinetics_lines
    if proposal.values:
        lines += ["", "# export value: contract value, per contract column", "values:"]
        for column, table in proposal.values.items():
            note = proposal.value_notes.get(column)
            lines.append(f"  {column}:" + (f"  # {note}" if note else ""))
            labels = proposal.value_labels.get(column, {})
            for k, v in table.items():
                label = labels.get(str(k), str(k))
                lines.append(f"    {_q(k)}: {_q(v)}" + (f"  # {label}" if label != str(k) else ""))
    for column, note in proposal.value_notes.items():
        if column not in proposal.values:
            lines.append(f"# values of {column}: {note}")
    if proposal.date_format:
        lines += ["", f"date_format: {_q(proposal.date_format)}  # {proposal.date_note}"]
    if proposal.not_collected:
        lines += [
            "",
            "# Optional columns not found in the export: the report leaves out what they would show.",
            "# If the export has one, map it under columns: and remove it here.",
            f"not_collected: [{', '.join(proposal.not_collected)}]",
        ]
    lines += [
        "",
        "# What Methods says about the product (at least its name or lymphodepletion); until one key",
        '# is given, Methods prints "[to be completed: ...]" there; a key left out is not stated.',
        "product:",
        '  # name: "tisagenlecleucel"',
        '  # target: "CD19"',
        '  # costimulatory_domain: "4-1BB"',
        '  # vector: "lentiviral"',
        '  # lymphodepletion: "fludarabine-cyclophosphamide"',
        "",
        "# What the data cannot say (see study.example.yml). Until a key is given, the manuscript",
        '# prints "[to be completed: ...]" in its place and the render lists it.',
        "declarations:",
        '  # design: "retrospective multicenter cohort study"',
        '  # registry: "the CAR-T registry of ..."',
        '  # setting: "university hospitals"  # The <n> participating centers were <setting> in <region>.',
        # the region and the screening: printed by the B-ALL documents only (refused for LBCL/MM)
        *(['  # region: "the country or region of the centers"'] if proposal.disease.key == "b-all" else []),
        '  # eligibility: "Consecutive patients ... were eligible; ... were excluded."',
        '  # relapse: "Relapse was ..."',
        '  # measurement: "CRS and ICANS were graded by ...; response was assessed ..."',
        '  # ethics_committee: "the Ethics Committee of ..."',
        '  # ethics_approval: "approval number"',
        '  # consent: "..."',
        '  # funding: "..."',
        '  # conflicts: "..."',
        '  # data_availability: "..."',
        # why a covariate of the plan's covariate_cutoffs is cut where it is (B-ALL: marrow blasts at 20%)
        *(['  # cutoff_rationale: "..."'] if proposal.disease.key == "b-all" else []),
        *(_SCREENING_LINES if proposal.disease.key == "b-all" else []),
        "",
        "analysis:",
        *(f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in _plan_defaults(proposal).items()),
    ]
    # Comments echo the export's own words (labels, unrecognised values): a line break in
    # one (an Alt+Enter cell) is written as "\n", never as a new line that YAML would read.
    text = "\n".join(yamlstrict.comment(line) for line in lines) + "\n"
    _check_reads_back(text, proposal, rel)
    return text


#: The title and author a proposed study file starts with: visible placeholders in the documents
#: (review 28: "CAR-T cell therapy cohort report" and "Your Name" printed as if they were real);
#: defined with the study file, which turns the older template's values into them (review 29).
MAP_TITLE, MAP_AUTHOR, MAP_AFFILIATION = TEMPLATE_TITLE, TEMPLATE_AUTHOR, TEMPLATE_AFFILIATION


#: The ``screening:`` block of a proposed B-ALL study file.
_SCREENING_LINES = (
    "",
    "# Patients screened and not analyzed, with the reason (STROBE 13a/13b; see study.example.yml):",
    "# a count for patients the export does not contain, or a rule over a column of the export.",
    "# `excluded: []` declares none; until the key is given, a placeholder shows.",
    "screening:",
    "  # excluded:",
    '  #   - {reason: "did not meet the eligibility criteria", count: 0}',
    '  #   - {reason: "product not infused", column: "Infused", values: ["No"]}',
)


def _plan_defaults(proposal: Proposal) -> dict:
    """The analysis plan the proposed file starts from: the default of every option the export's
    disease profile reads (``Option.diseases``: a lymphoma or myeloma study file refuses B-ALL's
    others), the model's covariates and cut-offs those of that profile (B-ALL's are not
    columns of a lymphoma or myeloma contract)."""
    key = proposal.disease.key
    plan = {k: o.default for k, o in OPTIONS.items() if o.diseases is None or key in o.diseases}
    if key != DEFAULT_DISEASE:
        profile = disease_profile(key)
        plan["covariates"] = list(profile.covariates)
        plan["covariate_cutoffs"] = {column: cut for column, cut in profile.covariate_cutoffs}
    return plan


def _check_reads_back(text: str, proposal: Proposal, rel) -> None:
    """Parse the proposed file back (strictly: a duplicate key is an error) and check that it
    says exactly what was proposed; a file that does not is never written."""
    expected = {
        "columns": {
            m.name: m.header
            for m in proposal.cohort_matches
            if m.header is not None and m.how not in ("exact", HELD_BACK)
        },
        "kinetics_columns": {
            m.name: m.header for m in proposal.kinetics_matches if m.header is not None and m.how != "exact"
        },
        "values": {column: dict(table) for column, table in proposal.values.items()},
        "date_format": proposal.date_format,
        "cohort": rel(proposal.export),
        "kinetics": rel(proposal.kinetics)
        if proposal.kinetics is not None
        else None
        if proposal.layout is not None and proposal.layout.has_kinetics
        else "none",
        "sheet": proposal.sheet,
        "disease": None if proposal.disease.how == "default" else proposal.disease.key,
    }
    try:
        parsed = yamlstrict.load(text)
        data = parsed.get("data") or {}
        found = {
            "columns": parsed.get("columns") or {},
            "kinetics_columns": parsed.get("kinetics_columns") or {},
            "values": parsed.get("values") or {},
            "date_format": parsed.get("date_format"),
            "cohort": data.get("cohort"),
            "kinetics": data.get("kinetics"),
            "sheet": data.get("sheet"),
            "disease": parsed.get("disease"),
        }
    except (yaml.YAMLError, ValueError, AttributeError) as exc:
        raise MappingOutputError(f"the proposed study file does not parse back ({exc}); nothing was written") from None
    differ = [key for key in expected if found[key] != expected[key]]
    if differ:
        raise MappingOutputError(
            f"the proposed study file does not read back as proposed ({', '.join(differ)}); nothing was written"
        )


class MappingOutputError(ValueError):
    """``map`` would have written a study file that does not say what it proposed."""


def write_study_file(proposal: Proposal, target) -> Path:
    from analysis.inputs.outfiles import write_atomic

    return write_atomic(target, study_file_text(proposal, Path(target)))


# --------------------------------------------------------------------------- validate's hints


@dataclass(frozen=True)
class Candidate:
    """An export column that may hold a contract column (``validate``'s hints)."""

    header: str
    label: str | None
    kind: str
    how: str  # known label | guess | kind (a field of the right kind, no name evidence)

    def describe(self) -> str:
        what = {DATE_FIELD: "a date field", CHOICE_FIELD: "a coded field"}.get(self.kind, "")
        said = "; ".join(filter(None, [f"'{self.label}'" if self.label and self.label != self.header else "", what]))
        return f"{self.header!r}" + (f" ({said})" if said else "")


@dataclass
class ExportEvidence:
    """What ``validate``'s hints need to know about an export: its headers' kinds and labels,
    and how many cells of each hold a value (the patients' rows of a REDCap flat export)."""

    table: _Table
    filled: dict[str, int]

    def candidates(self, column: str, exclude=(), limit: int = 3) -> list[Candidate]:
        """Export columns (not in ``exclude``: those already mapped) that may hold ``column``:
        of the right kind (a date field for a date), known labels, else close spellings, else
        (for a date column) any date field."""
        fields = {f.name: f for p in DISEASES.values() for f in p.fields} | {f.name: f for f in KINETICS_FIELDS}
        vocabulary: dict[str, tuple[str, ...]] = {}
        for p in DISEASES.values():  # every profile's words for the column
            for name, words in p.vocabulary.items():
                vocabulary[name] = vocabulary.get(name, ()) + words
        f = fields.get(column)
        if f is None:
            return []
        scored = []
        for header in self.table.frame.columns:
            if header in exclude or redcap.is_form_status(header) or redcap.shape_of([header]) is not None:
                continue
            kind = self.table.kinds.get(header, UNKNOWN_KIND)
            if not _kind_fits(kind, f.kind) or (f.kind == "date" and kind != DATE_FIELD):
                continue
            label = self.table.labels.get(header)
            how, score, _ = _candidates(column, header, label, vocabulary=vocabulary)
            if how == "guess" and score < GUESS_MIN:
                if f.kind != "date":
                    continue
                how, score = "kind", score - 1.0
            scored.append((score, Candidate(header, label, kind, how)))
        scored.sort(key=lambda item: -item[0])
        for how in ("known label", "exact", "same name", "guess", "kind"):
            if found := [c for _, c in scored if c.how == how]:
                return found[:limit]
        return []

    def choices(self, header: str) -> dict[str, str]:
        """A coded column's {code: label}, from the dictionary."""
        return dict(self.table.choices.get(header, {}))


def export_evidence(export, sheet: str | None = None, dictionary=None) -> ExportEvidence | None:
    """Read an export (and the dictionary beside it) for ``validate``'s hints; None when it
    cannot be read (the validator has said why)."""
    try:
        export = Path(export)
        frame, chosen, dictionary_sheet, sheet_dictionary = _read(export, sheet)
        found = sheet_dictionary
        named = Path(dictionary) if dictionary else find_dictionary(export) if sheet_dictionary is None else None
        if named is not None:
            found = _read_dictionary_csv(named) or found
        table = _table(frame, chosen, dictionary_sheet, found)
    except (OSError, ValueError, KeyError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    rows = pd.Series(True, index=table.frame.index)
    shape = redcap.shape_of(list(table.frame.columns))
    if shape is not None and shape.instrument is not None:  # the patients' rows
        rows = table.frame.iloc[:, shape.instrument].astype(str).str.strip().eq("")
    filled = {h: int(table.frame.loc[rows, h].astype(str).str.strip().ne("").sum()) for h in table.frame.columns}
    return ExportEvidence(table, filled)
