"""``python -m analysis map``: propose the study file that maps an export onto the contract.

A registry export rarely uses the contract's column names: REDCap writes field labels
("Date of CAR-T infusion") or raw variable names (``cart_inf_dt``), with coded values
("1, Yes | 0, No") and local date formats. :func:`propose_mapping` reads the export
(and its data-dictionary sheet when the workbook has one), and proposes for every
contract column the export header that holds it, with how sure it is:

* ``exact``: the contract name itself;
* ``same name``: equal once case, spaces and punctuation are ignored;
* ``known label``: a label or variable name registries use for it (:data:`SYNONYMS`),
  of the header or of its data-dictionary label;
* ``guess``: the closest spelling (difflib ratio or shared words) above
  :data:`GUESS_MIN`; the file marks it to be checked.

It proposes ``values:`` for yes/no-like, sex, disease-status and grade columns whose
cells the contract does not read as they are (``Checked``, ``Grade 2``, REDCap codes),
and the ``date_format`` of text dates (day-first when a first number is above 12).
Nothing is guessed silently: the printed table and the comments in the file say what
was matched how.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis.inputs import yamlstrict
from analysis.inputs.readers import normal_name
from analysis.inputs.xlsx import check_archive
from analysis.registry.concepts import OPTIONS
from analysis.registry.contract import BOOLEAN_WORDS, COHORT_FIELDS, KINETICS_FIELDS, SEX_WORDS, STATUS_WORDS

#: Labels and variable names that registries use for each contract column (normalised
#: as :func:`analysis.inputs.readers.normal_name` does).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": ("record id", "record", "patient id", "patient", "subject id", "study id", "id", "upn",
                   "patient number", "pt id"),
    "center": ("centre", "site", "center name", "centre name", "institution", "hospital", "data access group",
               "redcap data access group", "center id", "site id"),
    "infusion_date": ("date of car t infusion", "car t infusion date", "infusion date", "date of infusion",
                      "cart infusion date", "cart inf dt", "inf date", "car t cell infusion date"),
    "age": ("age at infusion", "age years", "age at car t infusion", "age at infusion years", "age yrs"),
    "sex": ("gender", "sex at birth", "patient sex"),
    "ph_positive": ("ph", "philadelphia chromosome", "ph chromosome", "ph positive all", "bcr abl1",
                    "philadelphia chromosome positive", "ph status", "bcr abl"),
    "disease_status": ("disease status at infusion", "relapsed or refractory", "status at infusion",
                       "disease status", "r r status", "refractory status"),
    "n_relapses": ("number of relapses", "relapses", "prior relapses", "no of relapses", "n relapses"),
    "prior_lines": ("prior lines of therapy", "number of prior lines", "prior therapy lines", "lines of therapy",
                    "prior treatments", "prior lines"),
    "bm_blasts_pct": ("bone marrow blasts", "marrow blasts", "bm blasts", "bone marrow blasts before infusion",
                      "bm blasts percent", "blasts in bone marrow", "pre infusion marrow blasts"),
    "cart_dose_1e6_per_kg": ("car t dose", "cell dose", "car t cell dose", "dose 10 6 cells kg",
                             "infused dose", "cart dose", "car t dose x10 6 kg", "dose x10 6 kg"),
    "il6_peak_pg_ml": ("peak il 6", "il 6 peak", "il6 peak", "peak il6", "peak interleukin 6",
                       "maximum il 6"),
    "ferritin_peak_ng_ml": ("peak ferritin", "ferritin peak", "maximum ferritin", "ferritin max"),
    "crs_grade": ("crs grade astct", "crs grade", "cytokine release syndrome grade", "grade of crs",
                  "crs grd", "max crs grade", "maximum crs grade"),
    "crs_onset_day": ("crs onset day", "day of crs onset", "crs onset", "onset of crs day", "crs onset d",
                      "days to crs", "crs onset days after infusion"),
    "icans_grade": ("icans grade astct", "icans grade", "neurotoxicity grade", "grade of icans", "icans grd",
                    "max icans grade", "maximum icans grade"),
    "icans_onset_day": ("icans onset day", "day of icans onset", "icans onset", "onset of icans day",
                        "days to icans", "icans onset days after infusion"),
    "seizure": ("seizures", "seizure during icans", "any seizure"),
    "steroids": ("corticosteroids", "steroid treatment", "corticosteroid treatment", "steroids given",
                 "dexamethasone given", "received steroids", "steroid use"),
    "dex_equiv_cum_mg": ("cumulative dexamethasone equivalent", "cumulative steroid dose",
                         "dexamethasone equivalent dose", "cumulative dexamethasone mg",
                         "dex equivalent mg", "cumulative steroid dose mg dexamethasone equivalent"),
    "tocilizumab": ("tocilizumab given", "received tocilizumab", "toci", "tocilizumab treatment",
                    "tocilizumab use"),
    "tocilizumab_cum_mg": ("cumulative tocilizumab dose", "tocilizumab dose", "tocilizumab mg",
                           "cumulative tocilizumab mg", "toci dose"),
    "cr_day30": ("cr at day 30", "complete remission at day 30", "complete response at day 30", "d30 cr",
                 "day 30 cr", "cr d30", "response day 30 cr"),
    "mrd_negative": ("mrd negative", "mrd negativity", "mrd negative cr", "mrd neg", "mrd status negative",
                     "mrd negative at day 30"),
    "cr_date": ("date of cr", "date of complete remission", "cr date", "complete remission date",
                "date of complete response"),
    "relapse_date": ("date of relapse", "relapse date", "date of progression or relapse"),
    "death_date": ("date of death", "death date", "dod"),
    "last_followup_date": ("date of last follow up", "last follow up", "last follow up date",
                           "date last known alive", "last contact date", "date of last contact",
                           "last fu date", "date of last follow up or death"),
    "hsct_date": ("hsct post", "hsct post date", "hsct post dt", "hsct date", "date of hsct",
                  "allo hsct after car t", "date of allo hsct after car t", "allo hsct date",
                  "consolidative hsct", "consolidative hsct date", "date of consolidative hsct",
                  "hsct after car t", "date of hsct after car t", "post car t hsct", "post car t hsct date",
                  "allogeneic transplant date", "date of allogeneic transplant", "allogeneic hsct after car t",
                  "sct date", "date of sct", "transplant date", "date of transplant", "allo sct date"),
    "day": ("day after infusion", "days after infusion", "sample day", "study day", "day post infusion",
            "timepoint day"),
    "car_copies_per_ug": ("car copies per ug", "car transgene copies", "car copies ug dna",
                          "transgene copies per ug gdna", "car t copies", "car copies", "copies ug"),
}

#: Least similarity for a guessed header (below it, the column is left unmapped).
GUESS_MIN = 0.72

_HOW_ORDER = ("exact", "same name", "known label", "guess")

_YES = {"yes", "y", "true", "1", "checked", "present", "positive", "pos", "+", "x", "ja", "oui", "si", "sí"}
_NO = {"no", "n", "false", "0", "unchecked", "absent", "negative", "neg", "-", "nein", "non"}
_NONE_GRADE = {"none", "no", "no crs", "no icans", "absent", "grade 0", "0", "not present"}
_MALE, _FEMALE = {"male", "m", "man", "masculine", "h"}, {"female", "f", "woman", "feminine"}


@dataclass(frozen=True)
class ColumnMatch:
    name: str  # contract column
    header: str | None  # export header, None when unmapped
    how: str  # exact | same name | known label | guess | unmapped
    score: float
    via: str = ""  # the label or synonym that matched

    @property
    def comment(self) -> str:
        if self.header is None:
            return "NOT FOUND: write the export's header here"
        if self.how == "guess":
            return f"GUESS (similarity {self.score:.2f}): check"
        if self.how == "known label" and self.via:
            return f"known label ({self.via})"
        return self.how


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

    @property
    def missing_required(self) -> list[str]:
        required = {f.name for f in COHORT_FIELDS if f.required}
        out = [m.name for m in self.cohort_matches if m.header is None and m.name in required]
        if self.kinetics is not None:
            required_k = {f.name for f in KINETICS_FIELDS if f.required}
            out += [f"{m.name} (kinetics)" for m in self.kinetics_matches if m.header is None
                    and m.name in required_k]
        return out

    @property
    def complete(self) -> bool:
        return not self.missing_required

    def report(self) -> str:
        """The table printed by ``map``: contract column, export header, how matched."""
        lines = [f"Mapping of {self.export.name}" + (f" (sheet '{self.sheet}')" if self.sheet else "")
                 + (f", data dictionary from sheet '{self.dictionary_sheet}'" if self.dictionary_sheet else "")]
        for title, matches in (("cohort", self.cohort_matches), ("kinetics", self.kinetics_matches)):
            if not matches:
                continue
            width = max(len(m.name) for m in matches)
            lines.append(f"\n{title} columns:")
            for m in matches:
                header = "-" if m.header is None else repr(m.header)
                lines.append(f"  {m.name.ljust(width)}  <- {header}   [{m.comment}]")
        counts = {how: sum(m.how == how for m in self.cohort_matches + self.kinetics_matches)
                  for how in (*_HOW_ORDER, "unmapped")}
        lines.append("\n" + ", ".join(f"{n} {how}" for how, n in counts.items()))
        for column, table in self.values.items():
            note = self.value_notes.get(column, "")
            lines.append(f"values of {column}: " + ", ".join(f"{k!r} -> {v!r}" for k, v in table.items())
                         + (f"   [{note}]" if note else ""))
        if self.date_format:
            lines.append(f"date_format: {self.date_format}   [{self.date_note}]")
        if self.missing_required:
            lines.append("\nRequired columns still unmapped: " + ", ".join(self.missing_required)
                         + "\nWrite their export headers under `columns:` (`kinetics_columns:` for the kinetics "
                           "table) in the study file.")
        else:
            lines.append("\nEvery required column is mapped.")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading


@dataclass
class _Table:
    frame: pd.DataFrame  # text cells ("" = empty)
    sheet: str | None
    labels: dict[str, str]  # header -> data-dictionary label
    choices: dict[str, dict[str, str]]  # header -> {code: label}
    dictionary_sheet: str | None = None
    dictionary: dict[str, str] = field(default_factory=dict)  # every variable -> label


_DICT_VARIABLE = ("variable field name", "variable name", "field name", "variable")
_DICT_LABEL = ("field label", "label")
_DICT_CHOICES = ("choices calculations or slider labels", "choices", "codes", "value labels")


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


def _dictionary(frame: pd.DataFrame) -> tuple[dict, dict] | None:
    """(variable -> label, variable -> {code: label}) of a REDCap-like data dictionary."""
    columns = {normal_name(str(c)).replace("_", " "): c for c in frame.columns}

    def find(names):
        return next((columns[n] for n in names if n in columns), None)

    variable, label = find(_DICT_VARIABLE), find(_DICT_LABEL)
    if variable is None or label is None:
        return None
    choice_col = find(_DICT_CHOICES)
    labels, choices = {}, {}
    for _, row in frame.iterrows():
        var = _cell_text(row[variable])
        if not var:
            continue
        labels[var] = _cell_text(row[label])
        if choice_col is not None and _cell_text(row[choice_col]):
            pairs = {}
            for part in _cell_text(row[choice_col]).split("|"):
                code, _, text = part.partition(",")
                if text.strip():
                    pairs[code.strip()] = text.strip()
            if pairs:
                choices[var] = pairs
    return labels, choices


def _read(path: Path, sheet: str | None = None) -> _Table:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PK\x03\x04":
        check_archive(path)  # a zip bomb, entities, deep nesting: refused before pandas reads it
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, header=0, keep_default_na=False, na_values=[""])
        dictionary_sheet = None
        labels: dict[str, str] = {}
        choices: dict[str, dict[str, str]] = {}
        data_sheets = []
        for name, frame in sheets.items():
            found = _dictionary(frame)
            if found is not None and name != sheet:
                dictionary_sheet, (labels, choices) = name, found
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
        frame = sheets[chosen].map(_cell_text)
        frame.columns = [_cell_text(c) for c in frame.columns]
        labels_by_header = _by_header(frame.columns, labels)
        choices_by_header = _by_header(frame.columns, choices)
        return _Table(frame, chosen if len(sheets) > 1 else None, labels_by_header, choices_by_header,
                      dictionary_sheet, labels)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None, encoding="utf-8-sig")
    frame = frame[~frame.iloc[:, 0].astype(str).str.startswith("#")] if len(frame.columns) else frame
    frame.columns = [str(c).strip() for c in frame.columns]
    return _Table(frame.map(lambda v: v.strip() if isinstance(v, str) else _cell_text(v)), None, {}, {})


def _by_header(headers, by_variable: dict) -> dict:
    """Dictionary entries keyed by export header. A raw export's headers are the
    variables; a label export's headers are the labels and its cells the choice labels,
    so it needs no dictionary."""
    return {header: by_variable[header] for header in headers if header in by_variable}


# --------------------------------------------------------------------------- matching


def _tokens(text: str) -> set[str]:
    return {t for t in normal_name(text).split("_") if t and t not in {"of", "the", "at", "in", "a", "to"}}


def _similarity(a: str, b: str) -> float:
    na, nb = normal_name(a), normal_name(b)
    if na == nb:
        return 1.0
    ratio = difflib.SequenceMatcher(None, na, nb).ratio()
    ta, tb = _tokens(a), _tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(ratio, jaccard)


def _candidates(name: str, header: str, label: str | None) -> tuple[str, float, str]:
    """(how, score, via) of one header for one contract column."""
    if header == name:
        return "exact", 3.0, ""
    if normal_name(header) == name:
        return "same name", 2.5, ""
    texts = [header] + ([label] if label else [])
    texts += [re.sub(r"\([^)]*\)", " ", t) for t in texts if "(" in t]  # units: "Peak IL-6 (pg/mL)"
    synonyms = (name.replace("_", " "),) + SYNONYMS.get(name, ())
    for text in texts:
        normal = normal_name(text)
        for synonym in synonyms:
            if normal == normal_name(synonym):
                from_dictionary = label is not None and normal in (normal_name(label),
                                                                   normal_name(re.sub(r"\([^)]*\)", " ", label)))
                return "known label", 2.0, f"dictionary label '{label}'" if from_dictionary else ""
    best = max(_similarity(text, synonym) for text in texts for synonym in synonyms)
    return "guess", best, ""


def _match(headers: list[str], fields, labels: dict[str, str]) -> list[ColumnMatch]:
    """One header per contract column, best pairs first (a header is used once)."""
    scored = []
    for f in fields:
        for header in headers:
            if not header:
                continue
            how, score, via = _candidates(f.name, header, labels.get(header))
            if how != "guess" or score >= GUESS_MIN:
                scored.append((score, f.name, header, how, via))
    scored.sort(key=lambda item: -item[0])
    chosen: dict[str, ColumnMatch] = {}
    used: set[str] = set()
    for score, name, header, how, via in scored:
        if name in chosen or header in used:
            continue
        chosen[name] = ColumnMatch(name, header, how, min(score, 1.0) if how == "guess" else 1.0, via)
        used.add(header)
    return [chosen.get(f.name, ColumnMatch(f.name, None, "unmapped", 0.0)) for f in fields]


# --------------------------------------------------------------------------- values


def _boolean_values(distinct: list[str], choices: dict[str, str]) -> tuple[dict, str] | None:
    table: dict[str, bool | None] = {}
    unknown = []
    for value in distinct:
        low = choices.get(value, value).strip().lower()
        meaning = True if low in _YES else False if low in _NO else None
        if meaning is not None and BOOLEAN_WORDS.get(value.strip().lower()) == meaning:
            continue  # the contract reads the cell as it is
        if meaning is not None:
            table[value] = meaning
        elif low in {"unknown", "not done", "not assessed", "n/a", "na", "missing"}:
            table[value] = None
        else:
            unknown.append(value)
    note = f"not recognised: {', '.join(unknown)}" if unknown else ""
    return (table, note) if table or unknown else None


def _sex_values(distinct: list[str], choices: dict[str, str]) -> tuple[dict, str] | None:
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


def _status_values(distinct: list[str], choices: dict[str, str]) -> tuple[dict, str] | None:
    table, unknown = {}, []
    for value in distinct:
        text = choices.get(value, value).strip().lower()
        if text in STATUS_WORDS and choices.get(value, value) == value:
            continue
        if "refract" in text:
            table[value] = "primary_refractory"
        elif "relaps" in text:
            table[value] = "relapsed"
        else:
            unknown.append(value)
    guessed = "check: 'refractory' read as primary_refractory" if any(
        v == "primary_refractory" and "primary" not in choices.get(k, k).lower() for k, v in table.items()) else ""
    note = "; ".join(filter(None, [guessed, f"not recognised: {', '.join(unknown)}" if unknown else ""]))
    return (table, note) if table or unknown else None


def _grade_values(distinct: list[str], choices: dict[str, str]) -> tuple[dict, str] | None:
    table, unknown = {}, []
    for value in distinct:
        text = choices.get(value, value).strip().lower()
        if re.fullmatch(r"\d+(\.0)?", value) and (value not in choices
                                                  or (digits := re.search(r"\d+", text)) is None
                                                  or digits[0] == value.split(".")[0]):
            continue  # already a number (or a code whose label is the same grade)
        if text in _NONE_GRADE:
            table[value] = 0
        elif m := re.search(r"\b(?:grade\s*)?([0-5])\b", text):
            table[value] = int(m[1])
        else:
            unknown.append(value)
    note = f"not recognised: {', '.join(unknown)}" if unknown else ""
    return (table, note) if table or unknown else None


_VALUE_PROPOSERS = {"boolean": _boolean_values, "sex": _sex_values, "status": _status_values}


def _propose_values(table: _Table, matches: list[ColumnMatch], fields) -> tuple[dict, dict]:
    kinds = {f.name: f.kind for f in fields}
    values, notes = {}, {}
    for m in matches:
        if m.header is None:
            continue
        kind = kinds[m.name]
        proposer = _VALUE_PROPOSERS.get(kind) or (_grade_values if m.name.endswith("_grade") else None)
        if proposer is None:
            continue
        distinct = sorted({v for v in table.frame[m.header] if v != ""})[:50]
        found = proposer(distinct, table.choices.get(m.header, {}))
        if found is None:
            continue
        mapped, note = found
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
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_format(table: _Table, matches: list[ColumnMatch], fields) -> tuple[str | None, str, dt.date | None]:
    """(format, note, latest ISO-readable date) from the date columns' cells."""
    date_columns = [m.header for m in matches if m.header and m.name in {f.name for f in fields if f.kind == "date"}]
    cells = [v for h in date_columns for v in table.frame[h] if v]
    texts = [m.groups() for m in map(_TEXT_DATE.match, cells) if m]
    fmt, note = None, ""
    if texts:
        sep = texts[0][1]
        if any(int(t[0]) > 12 for t in texts):
            fmt, note = f"%d{sep}%m{sep}%Y", f"{len(texts)} text dates, day first (a first number above 12)"
        elif any(int(t[2]) > 12 for t in texts):
            fmt, note = f"%m{sep}%d{sep}%Y", f"{len(texts)} text dates, month first (a second number above 12)"
        else:
            fmt, note = f"%d{sep}%m{sep}%Y", (f"{len(texts)} text dates; no number above 12, day first ASSUMED: "
                                              "check")
    latest = None
    for value in cells:
        parsed = None
        if _ISO.match(value):
            parsed = pd.to_datetime(value, errors="coerce")
        elif fmt and _TEXT_DATE.match(value):
            parsed = pd.to_datetime(value, format=fmt, errors="coerce")
        if parsed is not None and not pd.isna(parsed) and (latest is None or parsed.date() > latest):
            latest = parsed.date()
    return fmt, note, latest


# --------------------------------------------------------------------------- public


def propose_mapping(export, kinetics=None, sheet: str | None = None) -> Proposal:
    """Read an export (and its kinetics) and propose the mapping; nothing is written."""
    export = Path(export)
    table = _read(export, sheet)
    headers = list(table.frame.columns)
    cohort_matches = _match(headers, COHORT_FIELDS, table.labels)
    values, notes = _propose_values(table, cohort_matches, COHORT_FIELDS)
    fmt, date_note, latest = _date_format(table, cohort_matches, COHORT_FIELDS)
    kinetics_matches: list[ColumnMatch] = []
    kinetics_path = Path(kinetics) if kinetics else None
    if kinetics_path is not None:
        ktable = _read(kinetics_path)
        # A kinetics export from the same project is described by the cohort's dictionary.
        labels = ktable.labels or _by_header(ktable.frame.columns, table.dictionary)
        kinetics_matches = _match(list(ktable.frame.columns), KINETICS_FIELDS, labels)
    return Proposal(export, kinetics_path, table.sheet, cohort_matches, kinetics_matches, values, notes,
                    fmt, date_note, latest, table.dictionary_sheet)


def _q(value) -> str:
    """One YAML scalar on one line: text double-quoted with line breaks escaped, so that a
    header or a value of the export can never spill onto a line of its own."""
    return yamlstrict.scalar(value)


def study_file_text(proposal: Proposal, target: Path) -> str:
    """The proposed study file, commented line by line."""
    def rel(path: Path) -> str:
        return os.path.relpath(path.resolve(), target.resolve().parent)

    lines = [
        "# Study file proposed by `python -m analysis map` on "
        f"{dt.date.today().isoformat()}. Review every line marked GUESS or NOT FOUND.",
        "# The keys are documented in study.example.yml.",
        "title: \"CAR-T cell therapy cohort report\"  # EDIT: your title",
        "# subtitle: \"...\"",
        "authors:",
        "  - name: \"Your Name\"  # EDIT",
        "    affiliation: \"Your institution\"",
        "    corresponding: true",
        "date: today",
        "",
        "data:",
        f"  cohort: {_q(rel(proposal.export))}",
    ]
    if proposal.kinetics is not None:
        lines.append(f"  kinetics: {_q(rel(proposal.kinetics))}")
    else:
        lines.append("  kinetics: none  # no CAR-T kinetics table; or the path of one")
    latest = f" (the latest date in the export is {proposal.latest_date.isoformat()})" if proposal.latest_date else ""
    lines.append(f"  cutoff:   # REQUIRED: the data cut-off, YYYY-MM-DD{latest}")
    if proposal.sheet:
        lines.append(f"  sheet: {_q(proposal.sheet)}")
    lines += ["", "# contract column: export header"]
    lines.append("columns:")
    for m in proposal.cohort_matches:
        if m.header is None:
            lines.append(f"  # {m.name}:   # {m.comment}")
        elif m.how != "exact":
            lines.append(f"  {m.name}: {_q(m.header)}  # {m.comment}")
    kinetics_lines = [f"  {m.name}: {_q(m.header)}  # {m.comment}" for m in proposal.kinetics_matches
                      if m.header is not None and m.how != "exact"]
    kinetics_lines += [f"  # {m.name}:   # {m.comment}" for m in proposal.kinetics_matches if m.header is None]
    if kinetics_lines:
        lines += ["kinetics_columns:"] + kinetics_lines
    if proposal.values:
        lines += ["", "# export value: contract value, per contract column", "values:"]
        for column, table in proposal.values.items():
            note = proposal.value_notes.get(column)
            lines.append(f"  {column}:" + (f"  # {note}" if note else ""))
            lines += [f"    {_q(k)}: {_q(v)}" for k, v in table.items()]
    for column, note in proposal.value_notes.items():
        if column not in proposal.values:
            lines.append(f"# values of {column}: {note}")
    if proposal.date_format:
        lines += ["", f"date_format: {_q(proposal.date_format)}  # {proposal.date_note}"]
    lines += [
        "",
        "# What Methods says about the product; leave out what you do not want stated.",
        "product:",
        "  # name: \"tisagenlecleucel\"",
        "  # target: \"CD19\"",
        "  # costimulatory_domain: \"4-1BB\"",
        "  # vector: \"lentiviral\"",
        "  # lymphodepletion: \"fludarabine-cyclophosphamide\"",
        "",
        "analysis:",
        *(f"  {key}: {json.dumps(option.default, ensure_ascii=False)}" for key, option in OPTIONS.items()),
    ]
    # Comments echo the export's own words (labels, unrecognised values): a line break in
    # one (an Alt+Enter cell) is written as "\n", never as a new line that YAML would read.
    text = "\n".join(yamlstrict.comment(line) for line in lines) + "\n"
    _check_reads_back(text, proposal, rel)
    return text


def _check_reads_back(text: str, proposal: Proposal, rel) -> None:
    """Parse the proposed file back (strictly: a duplicate key is an error) and check that it
    says exactly what was proposed; a file that does not is never written."""
    expected = {
        "columns": {m.name: m.header for m in proposal.cohort_matches if m.header is not None and m.how != "exact"},
        "kinetics_columns": {m.name: m.header for m in proposal.kinetics_matches
                             if m.header is not None and m.how != "exact"},
        "values": {column: dict(table) for column, table in proposal.values.items()},
        "date_format": proposal.date_format,
        "cohort": rel(proposal.export),
        "kinetics": rel(proposal.kinetics) if proposal.kinetics is not None else "none",
        "sheet": proposal.sheet,
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
        }
    except (yaml.YAMLError, ValueError, AttributeError) as exc:
        raise MappingOutputError(f"the proposed study file does not parse back ({exc}); nothing was written") from None
    differ = [key for key in expected if found[key] != expected[key]]
    if differ:
        raise MappingOutputError(f"the proposed study file does not read back as proposed ({', '.join(differ)}); "
                                 "nothing was written")


class MappingOutputError(ValueError):
    """``map`` would have written a study file that does not say what it proposed."""


def write_study_file(proposal: Proposal, target) -> Path:
    from analysis.inputs.outfiles import write_atomic

    return write_atomic(target, study_file_text(proposal, Path(target)))
