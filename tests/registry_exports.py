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

import datetime as dt
from pathlib import Path

import pandas as pd

from analysis.demo.synthetic import synthesize
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
KINETICS_FIELDS = {"patient_id": ("Record ID", "record_id"), "day": ("Day after infusion", "pcr_day"),
                   "car_copies_per_ug": ("CAR transgene copies (copies/ug DNA)", "car_cp")}

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
    cohort["center"] = cohort["center"].map(lambda c: "St Elsewhere Hospital" if c in ("Center A", "Center C")
                                           else "Mercy General")
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
    dictionary = pd.DataFrame({
        "Variable / Field Name": [h[1] for h in described.values()],
        "Form Name": ["cart_kinetics" if n in KINETICS_FIELDS and n != "patient_id" else "cart_followup"
                      for n in described],
        "Field Type": ["radio" if n in CHOICES else "text" for n in described],
        "Field Label": [h[0] for h in described.values()],
        "Choices, Calculations, OR Slider Labels": [CHOICES.get(n, "") for n in described],
    })
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / f"{flavour}_export.xlsx"
    with pd.ExcelWriter(export, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Export", index=False)
        dictionary.to_excel(writer, sheet_name="Data dictionary", index=False)
    kin = kinetics.rename(columns={k: v[position] for k, v in KINETICS_FIELDS.items()})
    kinetics_path = folder / f"{flavour}_kinetics.csv"
    kin.to_csv(kinetics_path, index=False)
    return export, kinetics_path
