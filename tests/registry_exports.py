"""Registry-style exports for the study-file tests: what a team's REDCap gives them.

Two flavours of one 140-patient cohort (drawn by the synthetic generator with a seed
of its own, so it is not the bundled demo), both Excel workbooks with a "Data
dictionary" sheet:

* ``labels``: headers are field labels ("Date of CAR-T infusion", "CRS grade (ASTCT)"),
  cells are choice labels ("Yes", "Grade 2", "Checked", "Male");
* ``raw``: headers are raw variable names (``cart_inf_dt``, ``crs_grd``), cells are
  choice codes (1/0, sex 1/2, disease status 1/2).

Dates are dd/mm/yyyy text on odd rows and Excel date cells on even rows. Three true
data-entry errors are planted (:data:`PLANTED_ERRORS`); nothing else is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.demo.synthetic import synthesize
from analysis.inputs.readers import cell_text
from analysis.registry.contract import COHORT_FIELDS

N_PATIENTS = 140
SEED = 20261127

#: contract column -> (field label, raw variable name)
FIELDS = {
    "patient_id": ("Record ID", "record_id"),
    "center": ("Data Access Group", "redcap_data_access_group"),
    "infusion_date": ("Date of CAR-T infusion", "cart_inf_dt"),
    "age": ("Age at infusion (years)", "age_inf"),
    "sex": ("Sex", "sex_pt"),
    "ph_positive": ("Philadelphia chromosome", "ph_pos"),
    "disease_status": ("Disease status at infusion", "dis_stat"),
    "n_relapses": ("Number of relapses", "n_rel"),
    "prior_lines": ("Prior lines of therapy", "prior_lot"),
    "bm_blasts_pct": ("Bone marrow blasts (%)", "bm_blast"),
    "cart_dose_1e6_per_kg": ("CAR-T dose (x10^6/kg)", "cart_dose"),
    "il6_peak_pg_ml": ("Peak IL-6 (pg/mL)", "il6_max"),
    "ferritin_peak_ng_ml": ("Peak ferritin (ng/mL)", "ferr_max"),
    "crs_grade": ("CRS grade (ASTCT)", "crs_grd"),
    "crs_onset_day": ("Day of CRS onset", "crs_on"),
    "icans_grade": ("ICANS grade (ASTCT)", "icans_grd"),
    "icans_onset_day": ("Day of ICANS onset", "icans_on"),
    "seizure": ("Seizure", "seiz"),
    "steroids": ("Corticosteroids", "ster"),
    "dex_equiv_cum_mg": ("Cumulative dexamethasone equivalent (mg)", "dex_cum"),
    "tocilizumab": ("Tocilizumab given", "toci"),
    "tocilizumab_cum_mg": ("Cumulative tocilizumab dose (mg)", "toci_cum"),
    "cr_day30": ("CR at day 30", "cr_d30"),
    "mrd_negative": ("MRD negative", "mrd_neg"),
    "cr_date": ("Date of CR", "cr_dt"),
    "relapse_date": ("Date of relapse", "rel_dt"),
    "death_date": ("Date of death", "death_dt"),
    "last_followup_date": ("Date of last follow-up", "lfu_dt"),
    "hsct_date": ("Date of allo-HSCT after CAR-T", "hsct_post"),
}
KINETICS_FIELDS = {
    "patient_id": ("Record ID", "record_id"),
    "day": ("Day after infusion", "pcr_day"),
    "car_copies_per_ug": ("CAR transgene copies (copies/ug DNA)", "car_cp"),
}

_YES_NO = "1, Yes | 0, No"
_GRADE = "0, None | 1, Grade 1 | 2, Grade 2 | 3, Grade 3 | 4, Grade 4 | 5, Grade 5"
CHOICES = {
    "sex": "1, Male | 2, Female",
    "disease_status": "1, Relapsed | 2, Primary refractory",
    "crs_grade": _GRADE,
    "icans_grade": _GRADE,
    "seizure": "1, Checked | 0, Unchecked",
    **{name: _YES_NO for name in ("ph_positive", "steroids", "tocilizumab", "cr_day30", "mrd_negative")},
}

#: (contract column, rule fragment) of the three planted errors, reported and nothing else.
PLANTED_ERRORS = (
    ("age", "must be between 0 and 120"),
    ("relapse_date", "not a date"),
    ("cr_date", "must be on or after infusion_date"),
)


def _choice_label(column: str, value) -> str:
    """The label REDCap exports for a contract value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if column == "sex":
        return {"M": "Male", "F": "Female"}[value]
    if column == "disease_status":
        return {"relapsed": "Relapsed", "primary_refractory": "Primary refractory"}[value]
    if column in ("crs_grade", "icans_grade"):
        return "None" if int(value) == 0 else f"Grade {int(value)}"
    if column == "seizure":
        return "Checked" if value else "Unchecked"
    return "Yes" if value else "No"


def _choice_code(column: str, value) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if column == "sex":
        return {"M": 1, "F": 2}[value]
    if column == "disease_status":
        return {"relapsed": 1, "primary_refractory": 2}[value]
    if column in ("crs_grade", "icans_grade"):
        return int(value)
    return 1 if value else 0


def cohort_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contract-form cohort and kinetics behind both exports (before errors)."""
    cohort, kinetics = synthesize(N_PATIENTS, SEED)
    cohort = cohort.copy()
    cohort["patient_id"] = [f"{i:03d}" for i in range(1, len(cohort) + 1)]
    cohort["center"] = cohort["center"].map(
        lambda c: "St Elsewhere Hospital" if c in ("Center A", "Center C") else "Mercy General"
    )
    ids = dict(zip(synthesize(N_PATIENTS, SEED)[0]["patient_id"], cohort["patient_id"]))
    kinetics = kinetics.assign(patient_id=kinetics["patient_id"].map(ids))
    return cohort, kinetics


def _date_cell(value, row: int):
    if value is None or pd.isna(value):
        return None
    day = pd.Timestamp(value).date()
    return day.strftime("%d/%m/%Y") if row % 2 else dt.datetime(day.year, day.month, day.day)


def write_export(folder: Path, flavour: str = "labels", errors: bool = True) -> tuple[Path, Path]:
    """Write ``<flavour>_export.xlsx`` and ``<flavour>_kinetics.csv``; return their paths."""
    assert flavour in ("labels", "raw")
    position = 0 if flavour == "labels" else 1
    cohort, kinetics = cohort_frame()
    kinds = {f.name: f.kind for f in COHORT_FIELDS}
    rows = []
    for i, patient in enumerate(cohort.to_dict("records")):
        row = {}
        for name, headers in FIELDS.items():
            value = patient[name]
            if kinds[name] == "date":
                cell = _date_cell(value, i)
            elif name in CHOICES:
                cell = _choice_label(name, value) if flavour == "labels" else _choice_code(name, value)
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                cell = None
            else:
                cell = value
            row[headers[position]] = cell
        row["Complete?" if flavour == "labels" else "cart_followup_complete"] = "Complete" if flavour == "labels" else 2
        rows.append(row)
    frame = pd.DataFrame(rows)
    if errors:
        age, relapse, cr, infusion = (FIELDS[c][position] for c in ("age", "relapse_date", "cr_date", "infusion_date"))
        frame.loc[5, age] = 150
        relapsed = frame.index[frame[relapse].notna()]
        frame.loc[relapsed[0], relapse] = "31/02/2021"
        in_cr = [r for r in frame.index[frame[cr].notna()] if r not in (5, relapsed[0])]
        when = frame.loc[in_cr[0], infusion]
        when = when if isinstance(when, dt.datetime) else dt.datetime.strptime(when, "%d/%m/%Y")
        frame.loc[in_cr[0], cr] = (when - dt.timedelta(days=5)).strftime("%d/%m/%Y")
    described = {**FIELDS, **{k: v for k, v in KINETICS_FIELDS.items() if k != "patient_id"}}
    dictionary = pd.DataFrame(
        {
            "Variable / Field Name": [h[1] for h in described.values()],
            "Form Name": [
                "cart_kinetics" if n in KINETICS_FIELDS and n != "patient_id" else "cart_followup" for n in described
            ],
            "Field Type": ["radio" if n in CHOICES else "text" for n in described],
            "Field Label": [h[0] for h in described.values()],
            "Choices, Calculations, OR Slider Labels": [CHOICES.get(n, "") for n in described],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / f"{flavour}_export.xlsx"
    with pd.ExcelWriter(export, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Export", index=False)
        dictionary.to_excel(writer, sheet_name="Data dictionary", index=False)
    kin = kinetics.rename(columns={k: v[position] for k, v in KINETICS_FIELDS.items()})
    kinetics_path = folder / f"{flavour}_kinetics.csv"
    kin.to_csv(kinetics_path, index=False)
    return export, kinetics_path


# ======================================================================================
# REDCap flat exports (issue 19): one file per project, as "Export data -> CSV" writes it
# ======================================================================================
# A 150-patient registry (its own seed) with three data access groups, exported the
# standard way: raw (variable names, choice codes) or with labels (field labels, choice
# labels; "ICANS symptoms (choice=Seizure)"), as CSV or as the .xlsx a user saves from it,
# with REDCap's data-dictionary CSV beside it (real header layout: checkbox, radio,
# dropdown, yesno, calc and descriptive fields). Two project designs:
#
# * "repeating": a classic project whose CAR-T kinetics are the repeating instrument
#   cart_kinetics (a day field and a copies field), plus a repeating adverse_events
#   instrument that the contract does not read;
# * "events": a longitudinal project: the patient's forms are spread over the events
#   baseline_arm_1, day_30_arm_1 and follow_up_arm_1, the PCR form (copies only) is
#   filled in the sampling events day_0_arm_1 ... day_180_arm_1, whose names give the day.
#
# What a registry really holds and the contract must take: the response at day 30 as
# CR / CRi / PR / No response / Not evaluable (the two patients not in CR with the shortest
# follow-up are "Not evaluable": one died by day 30, so counts as not in CR, one later), MRD as Negative / Positive / Not done (three patients in CR "Not
# done"), the seizure as an option of the ICANS-symptoms checkbox, no cumulative steroid
# or tocilizumab dose in mg (not collected) but a "Number of tocilizumab doses" field
# that must not be read as mg, a date of birth, and the record id, DAG and form-status
# columns REDCap adds. Three data-entry errors are planted (REDCAP_PLANTED_ERRORS).

REDCAP_N = 150
REDCAP_SEED = 20261204
REDCAP_CUTOFF = "2023-03-01"
REDCAP_PROJECT = "CARTRegistry"
REDCAP_EXPORT_DATE = "2026-12-01"


@dataclass(frozen=True)
class RedcapField:
    variable: str
    form: str
    kind: str  # REDCap field type
    label: str
    choices: str = ""
    validation: str = ""
    contract: str | None = None  # the contract column it holds (None: not read)


_GRADES = " | ".join(["0, None"] + [f"{g}, Grade {g}" for g in range(1, 6)])
#: The dictionary, in form order (forms: enrolment, disease, toxicity, response, follow_up,
#: then the PCR form and the adverse events).
REDCAP_FIELDS: tuple[RedcapField, ...] = (
    RedcapField("record_id", "enrolment", "text", "Record ID", contract="patient_id"),
    RedcapField("dob", "enrolment", "text", "Date of birth", validation="date_ymd"),
    RedcapField(
        "cart_date", "enrolment", "text", "Date of CAR-T cell infusion", validation="date_ymd", contract="infusion_date"
    ),
    RedcapField("age_inf", "enrolment", "text", "Age at infusion (years)", validation="number", contract="age"),
    RedcapField("gender", "enrolment", "radio", "Gender", "1, Male | 2, Female", contract="sex"),
    RedcapField("weight", "enrolment", "text", "Weight (kg)", validation="number"),
    RedcapField("height", "enrolment", "text", "Height (cm)", validation="number"),
    RedcapField("bmi", "enrolment", "calc", "BMI (kg/m2)", "round([weight]/(([height]/100)^2), 1)"),
    RedcapField("ph_pos", "disease", "yesno", "Ph+ ALL (BCR-ABL1)", contract="ph_positive"),
    RedcapField(
        "dis_stat",
        "disease",
        "radio",
        "Disease status at infusion",
        "1, Relapsed | 2, Primary refractory",
        contract="disease_status",
    ),
    RedcapField("n_rel", "disease", "text", "Number of relapses", validation="integer", contract="n_relapses"),
    RedcapField("prior_lot", "disease", "text", "Prior lines of therapy", validation="integer", contract="prior_lines"),
    RedcapField(
        "bm_blasts", "disease", "text", "BM blasts before CAR-T (%)", validation="number", contract="bm_blasts_pct"
    ),
    RedcapField(
        "cart_dose",
        "disease",
        "text",
        "CAR-T dose (x10^6 cells/kg)",
        validation="number",
        contract="cart_dose_1e6_per_kg",
    ),
    RedcapField("tox_intro", "toxicity", "descriptive", "<b>Toxicity</b>, graded by the ASTCT consensus"),
    RedcapField("il6_max", "toxicity", "text", "Peak IL-6 (pg/mL)", validation="number", contract="il6_peak_pg_ml"),
    RedcapField(
        "ferritin_max", "toxicity", "text", "Peak ferritin (ng/mL)", validation="number", contract="ferritin_peak_ng_ml"
    ),
    RedcapField("crs_grade", "toxicity", "dropdown", "Maximum CRS grade (ASTCT)", _GRADES, contract="crs_grade"),
    RedcapField("crs_onset", "toxicity", "text", "Day of CRS onset", validation="integer", contract="crs_onset_day"),
    RedcapField("icans_grade", "toxicity", "dropdown", "Maximum ICANS grade (ASTCT)", _GRADES, contract="icans_grade"),
    RedcapField(
        "icans_onset", "toxicity", "text", "Day of ICANS onset", validation="integer", contract="icans_onset_day"
    ),
    RedcapField(
        "icans_sx",
        "toxicity",
        "checkbox",
        "ICANS symptoms",
        "1, Tremor | 2, Seizure | 3, Aphasia | 4, Cerebral edema",
        contract="seizure",
    ),
    RedcapField("tox_steroids", "toxicity", "yesno", "Corticosteroids for CRS/ICANS", contract="steroids"),
    RedcapField("tox_toci", "toxicity", "yesno", "Tocilizumab given", contract="tocilizumab"),
    RedcapField("toci_doses", "toxicity", "text", "Number of tocilizumab doses", validation="integer"),
    RedcapField(
        "resp_d30",
        "response",
        "radio",
        "Response at day 30",
        "1, CR | 2, CRi | 3, PR | 4, No response | 5, Not evaluable",
        contract="cr_day30",
    ),
    RedcapField(
        "mrd_d30",
        "response",
        "radio",
        "MRD at day 30 (flow cytometry)",
        "1, Negative | 2, Positive | 3, Not done",
        contract="mrd_negative",
    ),
    RedcapField("cr_dt", "response", "text", "Date of CR", validation="date_ymd", contract="cr_date"),
    RedcapField("rel_dt", "follow_up", "text", "Date of relapse", validation="date_ymd", contract="relapse_date"),
    RedcapField("death_dt", "follow_up", "text", "Date of death", validation="date_ymd", contract="death_date"),
    RedcapField("lfu_dt", "follow_up", "text", "Date of last FU", validation="date_ymd", contract="last_followup_date"),
    RedcapField("pcr_day", "cart_kinetics", "text", "Day after infusion", validation="integer", contract="day"),
    RedcapField(
        "car_copies",
        "cart_kinetics",
        "text",
        "CAR transgene (copies/ug DNA)",
        validation="number",
        contract="car_copies_per_ug",
    ),
    RedcapField("ae_term", "adverse_events", "text", "Adverse event"),
    RedcapField(
        "ae_grade", "adverse_events", "dropdown", "AE grade (CTCAE)", " | ".join(f"{g}, {g}" for g in range(1, 6))
    ),
)
REDCAP_FORM_LABELS = {
    "enrolment": "Enrolment",
    "disease": "Disease",
    "toxicity": "Toxicity",
    "response": "Response",
    "follow_up": "Follow-up",
    "cart_kinetics": "CAR-T Kinetics",
    "adverse_events": "Adverse Events",
}
REDCAP_GROUPS = {
    "Center A": ("st_elsewhere", "St Elsewhere Hospital"),
    "Center B": ("mercy_general", "Mercy General"),
    "Center C": ("city_childrens", "City Children's"),
    "Center D": ("city_childrens", "City Children's"),
}
#: Longitudinal design: the event of each form (the PCR form of the events variant has no day field).
REDCAP_EVENT_OF_FORM = {
    "enrolment": "baseline_arm_1",
    "disease": "baseline_arm_1",
    "toxicity": "day_30_arm_1",
    "response": "day_30_arm_1",
    "follow_up": "follow_up_arm_1",
    "adverse_events": "day_30_arm_1",
}
REDCAP_SAMPLING_DAYS = (0, 4, 7, 10, 14, 21, 28, 60, 90, 180)


def redcap_event_label(event: str) -> str:
    """How a label export names an event ("Day 7 (Arm 1: Arm 1)")."""
    names = {"baseline_arm_1": "Baseline", "day_30_arm_1": "Day 30 assessment", "follow_up_arm_1": "Follow-up"}
    name = names.get(event) or "Day " + event.split("_")[1]
    return f"{name} (Arm 1: Arm 1)"


def redcap_events() -> list[str]:
    sampling = [f"day_{d}_arm_1" for d in REDCAP_SAMPLING_DAYS]
    return ["baseline_arm_1", *sampling[:7], "day_30_arm_1", *sampling[7:], "follow_up_arm_1"]


#: (contract column, rule fragment) of the three planted errors.
REDCAP_PLANTED_ERRORS = (
    ("age", "must be between 0 and 120"),
    ("cr_date", "must be on or after infusion_date"),
    ("seizure", "a seizure is an ICANS event"),
)
#: Patients (0-based rows of the cohort) whose values make the registry's own cases.
MRD_NOT_DONE, NOT_EVALUABLE = 3, 2


def redcap_truth() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry's patients in contract form (before errors), with the registry's own
    cases: MRD not done in three patients in CR, response not evaluable in the two patients
    not in CR with the shortest follow-up (one by day 30: not in CR by the rule; one after it), every patient's date of birth."""
    cohort, kinetics = synthesize(REDCAP_N, REDCAP_SEED)
    cohort = cohort.copy()
    ids = {old: f"{i + 101}" for i, old in enumerate(cohort["patient_id"])}
    cohort["patient_id"] = cohort["patient_id"].map(ids)
    kinetics = kinetics.assign(patient_id=kinetics["patient_id"].map(ids))
    cohort["cr_day30_not_done"] = False
    cohort["mrd_negative_not_done"] = False
    in_cr = cohort.index[cohort["cr_day30"]]
    for row in in_cr[[10, 40, 70]]:
        cohort.loc[row, ["mrd_negative", "mrd_negative_not_done"]] = [pd.NA, True]
    survival = (cohort["last_followup_date"] - cohort["infusion_date"]).dt.days
    early = survival[~cohort["cr_day30"]].sort_values(kind="stable").index[:NOT_EVALUABLE]  # died first
    cohort.loc[early, "cr_day30_not_done"] = True
    rng = np.random.default_rng(REDCAP_SEED)
    cohort["dob"] = cohort["infusion_date"] - pd.to_timedelta(
        (cohort["age"].astype(float) * 365.25 + rng.integers(1, 300, len(cohort))).round(), unit="D"
    )
    return cohort, kinetics


def _redcap_value(f: RedcapField, patient: dict, labels: bool) -> str:
    """One cell of a patient's row."""
    column = f.contract
    value = patient.get(column) if column else patient.get(f.variable)
    missing = value is None or (not isinstance(value, str) and pd.isna(value))
    if f.variable == "resp_d30":
        code = "5" if patient["cr_day30_not_done"] else ("1" if value else "4")
        if value and int(patient["patient_id"]) % 3 == 0:
            code = "2"  # CR with incomplete count recovery
        return {"1": "CR", "2": "CRi", "3": "PR", "4": "No response", "5": "Not evaluable"}[code] if labels else code
    if f.variable == "mrd_d30":
        if patient["mrd_negative_not_done"]:
            code = "3"
        elif missing or not patient["cr_day30"]:
            return ""
        else:
            code = "1" if value else "2"
        return {"1": "Negative", "2": "Positive", "3": "Not done"}[code] if labels else code
    if f.variable == "toci_doses":
        return str(1 + int(patient["patient_id"]) % 3) if patient["tocilizumab"] else ""
    if f.variable in ("weight", "height"):
        return str(
            {"weight": 40 + int(patient["patient_id"]) % 50, "height": 150 + int(patient["patient_id"]) % 40}[
                f.variable
            ]
        )
    if f.variable == "bmi":
        w, h = 40 + int(patient["patient_id"]) % 50, 150 + int(patient["patient_id"]) % 40
        return f"{w / (h / 100) ** 2:.1f}"
    if f.kind == "descriptive" or f.form == "adverse_events" or missing:
        return ""
    if f.validation == "date_ymd":
        return pd.Timestamp(value).date().isoformat()
    if f.kind == "yesno":
        return ("Yes" if value else "No") if labels else ("1" if value else "0")
    if f.kind == "radio" and column == "sex":
        return ({"M": "Male", "F": "Female"} if labels else {"M": "1", "F": "2"})[value]
    if f.kind == "radio" and column == "disease_status":
        return (
            {"relapsed": "Relapsed", "primary_refractory": "Primary refractory"}
            if labels
            else {"relapsed": "1", "primary_refractory": "2"}
        )[value]
    if f.kind == "dropdown":
        return ("None" if int(value) == 0 else f"Grade {int(value)}") if labels else str(int(value))
    return cell_text(value)


def _redcap_header(f: RedcapField, labels: bool) -> list[tuple[str, str]]:
    """(raw header, label header) of the export columns of one field."""
    if f.kind == "descriptive":
        return []
    if f.kind == "checkbox":
        return [
            (f"{f.variable}___{code.strip()}", f"{f.label} (choice={text.strip()})")
            for code, text in (part.split(",", 1) for part in f.choices.split("|"))
        ]
    return [(f.variable, f.label)]


def write_redcap_export(
    folder: Path, design: str = "repeating", labels: bool = False, excel: bool = False, errors: bool = True
) -> tuple[Path, Path]:
    """Write a REDCap flat export and its data dictionary CSV into ``folder``; return their paths."""
    assert design in ("repeating", "events")
    cohort, kinetics = redcap_truth()
    pcr_form = "cart_kinetics"
    fields = [f for f in REDCAP_FIELDS if not (design == "events" and f.variable == "pcr_day")]
    forms = list(dict.fromkeys(f.form for f in fields))
    system = [("record_id", "Record ID")]
    if design == "events":
        system.append(("redcap_event_name", "Event Name"))
    system += [
        ("redcap_repeat_instrument", "Repeat Instrument"),
        ("redcap_repeat_instance", "Repeat Instance"),
        ("redcap_data_access_group", "Data Access Group"),
    ]
    columns: list[tuple[str, str, RedcapField | None]] = [(raw, lab, None) for raw, lab in system]
    for form in forms:
        for f in fields:
            if f.form == form and f.variable != "record_id":
                columns += [(raw, lab, f) for raw, lab in _redcap_header(f, labels)]
        columns.append((f"{form}_complete", "Complete?", None))
    position = 1 if labels else 0
    header = [c[position] for c in columns]

    def blank_row(patient: dict) -> dict:
        group = REDCAP_GROUPS[patient["center"]]
        row = {raw: "" for raw, _, _ in columns}
        row["record_id"] = patient["patient_id"]
        row["redcap_data_access_group"] = group[1] if labels else group[0]
        return row

    def fill(row: dict, patient: dict, form: str) -> None:
        for raw, _, f in columns:
            if f is None or f.form != form:
                continue
            if f.kind == "checkbox":
                checked = raw.endswith("___2") and bool(patient["seizure"])
                row[raw] = ("Checked" if checked else "Unchecked") if labels else ("1" if checked else "0")
            else:
                row[raw] = _redcap_value(f, patient, labels)
        row[f"{form}_complete"] = "Complete" if labels else "2"

    rows: list[dict] = []
    patients = cohort.to_dict("records")
    samples = {pid: group for pid, group in kinetics.groupby("patient_id")}
    patient_forms = [f for f in forms if f not in (pcr_form, "adverse_events")]
    for i, patient in enumerate(patients):
        if design == "repeating":
            row = blank_row(patient)
            for form in patient_forms:
                fill(row, patient, form)
            rows.append(row)
        else:
            for event in redcap_events():
                in_event = [f for f in patient_forms if REDCAP_EVENT_OF_FORM[f] == event]
                sample = None
                if event.startswith("day_") and event != "day_30_arm_1" and patient["patient_id"] in samples:
                    day = int(event.split("_")[1])
                    got = samples[patient["patient_id"]]
                    sample = got[got["day"] == day]
                    sample = None if sample.empty else sample.iloc[0]
                if not in_event and sample is None:
                    continue
                row = blank_row(patient)
                row["redcap_event_name"] = redcap_event_label(event) if labels else event
                for form in in_event:
                    fill(row, patient, form)
                if sample is not None:
                    row["car_copies"] = cell_text(sample["car_copies_per_ug"])
                    row[f"{pcr_form}_complete"] = "Complete" if labels else "2"
                rows.append(row)
        if design == "repeating" and patient["patient_id"] in samples:
            for instance, sample in enumerate(samples[patient["patient_id"]].itertuples(), start=1):
                row = blank_row(patient)
                row["redcap_repeat_instrument"] = REDCAP_FORM_LABELS[pcr_form] if labels else pcr_form
                row["redcap_repeat_instance"] = str(instance)
                row["pcr_day"] = str(sample.day)
                row["car_copies"] = cell_text(sample.car_copies_per_ug)
                row[f"{pcr_form}_complete"] = "Complete" if labels else "2"
                rows.append(row)
        if i % 7 == 0:  # adverse events: a repeating instrument the contract does not read
            for instance in (1, 2):
                row = blank_row(patient)
                if design == "events":
                    row["redcap_event_name"] = redcap_event_label("day_30_arm_1") if labels else "day_30_arm_1"
                row["redcap_repeat_instrument"] = REDCAP_FORM_LABELS["adverse_events"] if labels else "adverse_events"
                row["redcap_repeat_instance"] = str(instance)
                row["ae_term"] = "Febrile neutropenia" if instance == 1 else "Hypokalemia"
                row["ae_grade"] = "3" if instance == 1 else "2"
                row["adverse_events_complete"] = "Complete" if labels else "2"
                rows.append(row)
    frame = pd.DataFrame(rows, columns=[c[0] for c in columns])
    if errors:
        _plant_redcap_errors(frame, cohort, labels)
    frame.columns = header
    folder.mkdir(parents=True, exist_ok=True)
    kind = "DATA_LABELS" if labels else "DATA"
    export = folder / f"{REDCAP_PROJECT}_{kind}_{REDCAP_EXPORT_DATE}_1030.{'xlsx' if excel else 'csv'}"
    if excel:
        frame.to_excel(export, index=False, sheet_name=f"{REDCAP_PROJECT}_{kind}")
    else:
        frame.to_csv(export, index=False, encoding="utf-8-sig" if labels else "utf-8")
    return export, write_redcap_dictionary(folder, fields)


def _plant_redcap_errors(frame: pd.DataFrame, cohort: pd.DataFrame, labels: bool) -> None:
    """Age 150; a CR date five days before infusion; a seizure without ICANS."""

    def row_of(record: str, column: str) -> int:
        return frame.index[(frame["record_id"] == record) & frame[column].ne("")][0]

    frame.loc[row_of(cohort["patient_id"].iloc[5], "age_inf"), "age_inf"] = "150"
    in_cr = cohort[cohort["cr_day30"]]
    patient = in_cr.iloc[7]
    frame.loc[row_of(patient["patient_id"], "cr_dt"), "cr_dt"] = (
        (patient["infusion_date"] - pd.Timedelta(days=5)).date().isoformat()
    )
    no_icans = cohort[cohort["icans_grade"].eq(0)].iloc[3]
    frame.loc[row_of(no_icans["patient_id"], "icans_sx___2"), "icans_sx___2"] = "Checked" if labels else "1"


def write_redcap_dictionary(folder: Path, fields=REDCAP_FIELDS) -> Path:
    """REDCap's data dictionary CSV, with its real header."""
    header = [
        "Variable / Field Name",
        "Form Name",
        "Section Header",
        "Field Type",
        "Field Label",
        "Choices, Calculations, OR Slider Labels",
        "Field Note",
        "Text Validation Type OR Show Slider Number",
        "Text Validation Min",
        "Text Validation Max",
        "Identifier?",
        "Branching Logic (Show field only if...)",
        "Required Field?",
        "Custom Alignment",
        "Question Number (surveys only)",
        "Matrix Group Name",
        "Matrix Ranking?",
        "Field Annotation",
    ]
    path = folder / f"{REDCAP_PROJECT}_DataDictionary_{REDCAP_EXPORT_DATE}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for f in fields:
            row = [f.variable, f.form, "", f.kind, f.label, f.choices, "", f.validation] + [""] * 10
            if f.variable == "dob":
                row[10] = "y"
            writer.writerow(row)
    return path


# ======================================================================================
# A third registry (the new-user trial of issue 19, shaped as that registry's export):
# the repeating raw export above, with the fields named and coded as that registry does.
# ======================================================================================
# * the transplant after CAR-T as two fields, in this order: a yes/no ``allo_yn``
#   ("Allogeneic HSCT after CAR-T") and its date ``allo_dt`` ("Date of allo-HSCT",
#   date_ymd, shown only if allo_yn = 1): the date column must be the date field;
# * MRD as ``mrd_fcm`` ("MRD by flow cytometry at day 30"; 1, Negative (<10^-4) |
#   2, Positive | 8, Not done): the name says MRD but none of the known labels;
# * the Philadelphia chromosome as ``ph_status`` (radio: 1, Ph-positive | 2, Ph-negative).

THIRD_FIELDS = {
    "mrd_fcm": (
        "response",
        "radio",
        "MRD by flow cytometry at day 30",
        "1, Negative (<10^-4) | 2, Positive | 8, Not done",
        "",
    ),
    "ph_status": ("disease", "radio", "Philadelphia chromosome / BCR::ABL1", "1, Ph-positive | 2, Ph-negative", ""),
    "allo_yn": ("follow_up", "yesno", "Allogeneic HSCT after CAR-T", "", ""),
    "allo_dt": ("follow_up", "text", "Date of allo-HSCT", "", "date_ymd"),
}


def write_third_registry(folder: Path) -> tuple[Path, Path]:
    """The third registry's raw CSV export (no planted errors) and its dictionary CSV."""
    export, dictionary = write_redcap_export(folder, "repeating", errors=False)
    cohort, _ = redcap_truth()
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"mrd_d30": "mrd_fcm", "ph_pos": "ph_status"})
    frame["mrd_fcm"] = frame["mrd_fcm"].replace({"3": "8"})
    frame["ph_status"] = frame["ph_status"].replace({"0": "2"})
    transplant = dict(zip(cohort["patient_id"], cohort["hsct_date"]))
    patient_rows = frame["redcap_repeat_instrument"].eq("")
    when = frame["record_id"].map(lambda r: transplant.get(r))
    frame["allo_yn"] = ""
    frame["allo_dt"] = ""
    frame.loc[patient_rows, "allo_yn"] = when[patient_rows].map(lambda d: "0" if pd.isna(d) else "1")
    frame.loc[patient_rows, "allo_dt"] = when[patient_rows].map(
        lambda d: "" if pd.isna(d) else pd.Timestamp(d).date().isoformat()
    )
    order = list(frame.columns)
    order = (
        order[: order.index("follow_up_complete")]
        + ["allo_yn", "allo_dt"]
        + [c for c in order[order.index("follow_up_complete") :] if c not in ("allo_yn", "allo_dt")]
    )
    frame[order].to_csv(export, index=False)
    rows = list(csv.reader(dictionary.read_text(encoding="utf-8").splitlines()))
    out = [rows[0]]
    for row in rows[1:]:
        if row[0] == "mrd_d30":
            row = ["mrd_fcm", *row[1:]]
        if row[0] == "ph_pos":
            row = ["ph_status", *row[1:]]
        if row[0] in THIRD_FIELDS:
            form, kind, label, choices, validation = THIRD_FIELDS[row[0]]
            row[1], row[3], row[4], row[5], row[7] = form, kind, label, choices, validation
        out.append(row)
        if row[0] == "lfu_dt":
            for variable in ("allo_yn", "allo_dt"):
                form, kind, label, choices, validation = THIRD_FIELDS[variable]
                extra = [variable, form, "", kind, label, choices, "", validation] + [""] * 10
                if variable == "allo_dt":
                    extra[11] = "[allo_yn] = '1'"
                out.append(extra)
    with open(dictionary, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(out)
    return export, dictionary
