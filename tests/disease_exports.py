"""A lymphoma team's and a myeloma team's own exports, for the ``map`` tests of the disease
profiles (issue 24), as :mod:`registry_exports` writes a leukaemia team's.

Each is the bundled demo's cohort (:func:`analysis.demo.synthetic_disease.synthesize`, the
truth the tests count against) written the way a registry writes it: its own headers
(:data:`LBCL_HEADERS`, :data:`MM_HEADERS`), its own codes (``Y``/``N``, ``Stage IV``,
``R-ISS II``, ``Grade 2``, "Complete metabolic response (Deauville 1-3)", "Very good
partial response (VGPR)", MRD "Negative"/"Positive"/"Not assessed"), text dates day
first, and columns the contract does not read ("PFS event", "Histology").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.demo import synthetic_lbcl, synthetic_mm
from analysis.demo.synthetic_disease import synthesize

#: contract column -> the lymphoma team's header
LBCL_HEADERS = {
    "patient_id": "Patient ID",
    "center": "Treating centre",
    "infusion_date": "Date of CAR-T infusion",
    "age": "Age at infusion",
    "sex": "Gender",
    "ecog": "ECOG PS",
    "ann_arbor_stage": "Ann Arbor stage",
    "ldh_elevated": "LDH > ULN",
    "bulky_disease": "Bulky",
    "ipi": "IPI score",
    "bridging": "Bridging therapy",
    "prior_lines": "Number of prior lines",
    "cart_dose_1e6_per_kg": "CAR-T dose (x10^6/kg)",
    "crs_grade": "CRS grade (ASTCT)",
    "crs_onset_day": "Day of CRS onset",
    "icans_grade": "ICANS grade (ASTCT)",
    "icans_onset_day": "Day of ICANS onset",
    "seizure": "Seizure",
    "steroids": "Corticosteroids",
    "tocilizumab": "Tocilizumab given",
    "response_day30": "D30 response",
    "response_day90": "D90 response",
    "best_response": "Best response (Lugano)",
    "response_date": "Date of first response",
    "progression_date": "Date of progression",
    "death_date": "Date of death",
    "last_followup_date": "Date of last follow-up",
}

#: contract column -> the myeloma team's header
MM_HEADERS = {
    "patient_id": "Subject ID",
    "center": "Site",
    "infusion_date": "Infusion date",
    "age": "Age (years)",
    "sex": "Sex",
    "r_iss": "R-ISS",
    "high_risk_cytogenetics": "High-risk cytogenetics",
    "extramedullary": "Extramedullary disease",
    "triple_class_refractory": "Triple-class refractory",
    "prior_lines": "Prior lines of therapy",
    "cart_dose_1e6_per_kg": "Cell dose",
    "crs_grade": "CRS grade",
    "crs_onset_day": "CRS onset day",
    "icans_grade": "ICANS grade",
    "icans_onset_day": "ICANS onset day",
    "seizure": "Seizures",
    "steroids": "Steroids given",
    "tocilizumab": "Tocilizumab",
    "parkinsonism": "Parkinsonism",
    "cranial_nerve_palsy": "Cranial nerve palsy",
    "best_response": "Best overall response",
    "mrd_negative": "MRD 10^-5",
    "response_date": "First response date",
    "progression_date": "PFS event date",
    "death_date": "Date of death",
    "last_followup_date": "Last contact date",
}

_LUGANO_WORDS = {
    "CR": "Complete metabolic response (Deauville 1-3)",
    "PR": "Partial metabolic response (Deauville 4-5)",
    "SD": "No metabolic response",
    "PD": "Progressive metabolic disease",
}
_IMWG_WORDS = {
    "sCR": "Stringent complete response (sCR)",
    "CR": "Complete response (CR)",
    "VGPR": "Very good partial response (VGPR)",
    "PR": "Partial response (PR)",
    "MR": "Minimal response (MR)",
    "SD": "Stable disease (SD)",
    "PD": "Progressive disease (PD)",
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def truth(disease: str) -> pd.DataFrame:
    """The cohort the export is written from, in contract columns and values."""
    return synthesize({"lbcl": synthetic_lbcl.CALIBRATION, "mm": synthetic_mm.CALIBRATION}[disease])


def _yn(value) -> str:
    return "Y" if bool(value) else "N"


def _date(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%d/%m/%Y")


def _grade(value) -> str:
    return "None" if int(value) == 0 else f"Grade {int(value)}"


def _export(frame: pd.DataFrame, headers: dict[str, str], coders: dict, extra: dict) -> pd.DataFrame:
    out = {}
    for column, header in headers.items():
        coder = coders.get(column)
        cells = frame[column]
        if coder is None and str(cells.dtype).startswith("datetime"):
            coder = _date
        elif coder is None and cells.dtype == bool:
            coder = _yn
        out[header] = [
            coder(v) if coder is not None and not (pd.isna(v) and coder is not _date) else ("" if pd.isna(v) else v)
            for v in cells
        ]
    out.update(extra)
    return pd.DataFrame(out)


def write_lbcl_export(folder: Path) -> Path:
    """The lymphoma team's CSV export of the LBCL demo cohort."""
    frame = truth("lbcl")
    coders = {
        "sex": lambda v: {"M": "Male", "F": "Female"}[v],
        "ann_arbor_stage": lambda v: f"Stage {_ROMAN[int(v)]}",
        "crs_grade": _grade,
        "icans_grade": _grade,
        "response_day30": _LUGANO_WORDS.get,
        "response_day90": _LUGANO_WORDS.get,
        "best_response": lambda v: {"CR": "CMR", "PR": "PMR", "SD": "NMR", "PD": "PMD"}[v],
    }
    extra = {
        "PFS event": [
            "Y" if pd.notna(p) or pd.notna(d) else "N" for p, d in zip(frame["progression_date"], frame["death_date"])
        ],
        "Histology": ["DLBCL NOS" if i % 3 else "tFL" for i in range(len(frame))],
    }
    path = folder / "lymphoma_registry_export.csv"
    _export(frame, LBCL_HEADERS, coders, extra).to_csv(path, index=False)
    return path


def write_mm_export(folder: Path) -> Path:
    """The myeloma team's CSV export of the MM demo cohort."""
    frame = truth("mm")
    coders = {
        "sex": lambda v: {"M": "male", "F": "female"}[v],
        "r_iss": lambda v: f"R-ISS {_ROMAN[int(v)]}",
        "crs_grade": _grade,
        "icans_grade": _grade,
        "best_response": _IMWG_WORDS.get,
        "mrd_negative": lambda v: {"yes": "Negative", "no": "Positive", "not done": "Not assessed"}[v],
    }
    extra = {
        "PFS event": [int(pd.notna(p) or pd.notna(d)) for p, d in zip(frame["progression_date"], frame["death_date"])]
    }
    path = folder / "myeloma_export.csv"
    _export(frame, MM_HEADERS, coders, extra).to_csv(path, index=False)
    return path
