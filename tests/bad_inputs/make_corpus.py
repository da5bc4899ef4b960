"""Derive the committed corpus from the valid 5-patient fixture (valid_cohort.csv,
valid_kinetics.csv): the bad files under cohort/ and kinetics/, their expected errors
in cases.csv, and the files under accepted/ that must load. Run it after changing the
fixture: python tests/bad_inputs/make_corpus.py. Cases that need binary or very large
files (Excel workbooks, 100 MB of garbage) are generated at test time (tests/corpus.py)."""

import csv
import io
from pathlib import Path

root = Path(__file__).resolve().parent
rows = list(csv.DictReader(open(root / "valid_cohort.csv", newline="")))
cols = list(rows[0].keys())
krows = list(csv.DictReader(open(root / "valid_kinetics.csv", newline="")))
kcols = list(krows[0].keys())


def write(path, header, records, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", **kw)
    w.writerow(header)
    for r in records:
        w.writerow([r.get(c, "") for c in header] if isinstance(r, dict) else r)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return buf.getvalue()


def edited(edits):  # edits: {patient_index: {col: value}}
    out = [dict(r) for r in rows]
    for i, e in edits.items():
        out[i].update(e)
    return out


manifest = []  # (case, cohort, kinetics, column, rule)


def case(name, edits=None, expect=(), header=None, records=None):
    path = root / "cohort" / f"{name}.csv"
    write(path, header or cols, records if records is not None else edited(edits or {}))
    for column, rule in expect:
        manifest.append((name, f"cohort/{name}.csv", "", column, rule))


case("missing_column", header=[c for c in cols if c != "age"], expect=[("age", "missing column")])
hdr = ["infusion_dat" if c == "infusion_date" else c for c in cols]
recs = [[r[c] for c in cols] for r in rows]
case(
    "misspelled_column",
    header=hdr,
    records=recs,
    expect=[("infusion_date", "missing column"), ("infusion_dat", "did you mean infusion_date")],
)
hdr = ["Patient_ID" if c == "patient_id" else c for c in cols]
case(
    "column_in_wrong_case",
    header=hdr,
    records=recs,
    expect=[("patient_id", "missing column"), ("Patient_ID", "did you mean patient_id")],
)
hdr = cols + ["age"]
case(
    "duplicate_column",
    header=hdr,
    records=[[r[c] for c in cols] + [r["age"]] for r in rows],
    expect=[("age", "duplicate column")],
)
case("age_as_word", {2: {"age": "seven"}}, [("age", "not a number")])
case("age_out_of_range", {0: {"age": "134"}}, [("age", "between 0 and 120")])
case("decimal_comma", {0: {"bm_blasts_pct": "45,5"}}, [("bm_blasts_pct", "decimal separator")])
case("na_text_for_missing", {0: {"il6_peak_pg_ml": "NA"}}, [("il6_peak_pg_ml", "leave the cell empty")])
case("impossible_date", {1: {"infusion_date": "2023/13/45"}}, [("infusion_date", "not a date")])
case(
    "day_first_date",
    {1: {"death_date": "20/05/2020", "last_followup_date": "20/05/2020"}},
    [("death_date", "YYYY-MM-DD"), ("last_followup_date", "YYYY-MM-DD")],
)
case("not_a_calendar_date", {0: {"cr_date": "2019-02-30"}}, [("cr_date", "not a valid calendar date")])
case("duplicate_patient_id", {3: {"patient_id": "P02"}}, [("patient_id", "duplicate patient_id")])
case("empty_patient_id", {4: {"patient_id": ""}}, [("patient_id", "required")])
case("empty_center", {2: {"center": " "}}, [("center", "required")])
case("crs_grade_out_of_range", {0: {"crs_grade": "6"}}, [("crs_grade", "between 0 and 5")])
case("icans_grade_negative", {3: {"icans_grade": "-1"}}, [("icans_grade", "between 0 and 5")])
case("fractional_grade", {0: {"crs_grade": "2.5"}}, [("crs_grade", "not a whole number")])
case("onset_without_grade", {2: {"crs_onset_day": "4"}}, [("crs_onset_day", "must be empty when crs_grade is 0")])
case("grade_without_onset", {3: {"icans_onset_day": ""}}, [("icans_onset_day", "required when icans_grade > 0")])
case("negative_onset_day", {0: {"crs_onset_day": "-2"}}, [("crs_onset_day", ">= 0")])
case("seizure_without_icans", {0: {"seizure": "yes"}}, [("seizure", "requires icans_grade > 0")])
case("bad_sex", {1: {"sex": "X"}}, [("sex", "M or F")])
case("bad_boolean", {2: {"steroids": "maybe"}}, [("steroids", "not a boolean")])
case(
    "bad_disease_status", {0: {"disease_status": "refractory"}}, [("disease_status", "relapsed or primary_refractory")]
)
case("negative_relapses", {0: {"n_relapses": "-1"}}, [("n_relapses", ">= 0")])
case("blasts_over_100", {0: {"bm_blasts_pct": "104"}}, [("bm_blasts_pct", "between 0 and 100")])
case("zero_dose", {1: {"cart_dose_1e6_per_kg": "0"}}, [("cart_dose_1e6_per_kg", "> 0")])
case("negative_lab", {0: {"ferritin_peak_ng_ml": "-15"}}, [("ferritin_peak_ng_ml", ">= 0")])
case("mrd_for_non_cr", {2: {"mrd_negative": "yes"}}, [("mrd_negative", "when cr_day30 is false")])
case("mrd_missing_for_cr", {0: {"mrd_negative": ""}}, [("mrd_negative", "required when cr_day30 is true")])
case("cr_date_missing_for_cr", {3: {"cr_date": ""}}, [("cr_date", "required when cr_day30 is true")])
case("cr_date_without_cr", {2: {"cr_date": "2020-02-20"}}, [("cr_date", "must be empty when cr_day30 is false")])
case("cr_before_infusion", {0: {"cr_date": "2019-03-01"}}, [("cr_date", "on or after infusion_date")])
case("relapse_before_cr", {4: {"relapse_date": "2021-06-01"}}, [("relapse_date", "after cr_date")])
case("relapse_without_cr", {2: {"relapse_date": "2020-05-01"}}, [("relapse_date", "only for patients in CR")])
case(
    "relapse_after_death",
    {1: {"relapse_date": "2020-06-01", "death_date": "2020-05-20"}},
    [("relapse_date", "on or before death_date")],
)
case(
    "death_before_infusion",
    {2: {"death_date": "2020-01-10", "last_followup_date": "2020-01-10"}},
    [("death_date", "on or after infusion_date"), ("last_followup_date", "on or after infusion_date")],
)
case(
    "followup_before_death",
    {1: {"last_followup_date": "2020-04-30"}},
    [("last_followup_date", "must equal death_date")],
)
case(
    "followup_after_death", {2: {"last_followup_date": "2020-10-01"}}, [("last_followup_date", "must equal death_date")]
)
case(
    "followup_before_relapse",
    {4: {"last_followup_date": "2022-01-01"}},
    [("last_followup_date", "on or after relapse_date")],
)
case(
    "followup_after_cutoff",
    {0: {"last_followup_date": "2023-06-01"}},
    [("last_followup_date", "after the data cut-off")],
)
case(
    "infusion_after_cutoff",
    {
        4: {
            "infusion_date": "2023-04-01",
            "cr_date": "",
            "cr_day30": "no",
            "mrd_negative": "",
            "relapse_date": "",
            "last_followup_date": "2023-04-02",
        }
    },
    [("infusion_date", "after the data cut-off"), ("last_followup_date", "after the data cut-off")],
)
case("header_only", records=[], expect=[("-", "no patients")])
# Implausible values (issue 15): bounded dates and numbers, each said so.
case("infusion_in_1900", {0: {"infusion_date": "1900-01-01"}}, [("infusion_date", "before 2000-01-01")])
case("date_before_1677", {1: {"infusion_date": "1600-01-01"}}, [("infusion_date", "before 2000-01-01")])
case(
    "date_in_year_3000",
    {2: {"death_date": "3000-01-01", "last_followup_date": "3000-01-01"}},
    [("death_date", "far in the future"), ("last_followup_date", "far in the future")],
)
case("huge_lab_value", {0: {"il6_peak_pg_ml": "1e308"}}, [("il6_peak_pg_ml", "implausibly large")])
case("number_in_date_column", {3: {"infusion_date": "2019"}}, [("infusion_date", "a number, not a date")])
# A data row is never dropped silently: a comment line below the header, a row with
# values only in ignored columns.
lines = (root / "valid_cohort.csv").read_text(encoding="utf-8").splitlines()


def raw_case(name, text, expect):
    path = root / "cohort" / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    for column, rule in expect:
        manifest.append((name, f"cohort/{name}.csv", "", column, rule))


raw_case(
    "comment_below_header",
    "\n".join(lines[:3] + ["# P03 withdrew consent"] + lines[3:]) + "\n",
    [("-", "comment line below the header")],
)
raw_case(
    "values_only_in_extra_columns",
    "\n".join([lines[0] + ",notes"] + [line + "," for line in lines[1:]] + ["," * lines[0].count(",") + ",total"])
    + "\n",
    [("-", "values only in columns that are not read")],
)


def raw(name, data, expect, kind="cohort", ext="csv"):
    path = root / kind / f"{name}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for column, rule in expect:
        manifest.append((name, f"{kind}/{name}.{ext}", "", column, rule))


base = (root / "valid_cohort.csv").read_bytes()
raw("empty", b"", [("-", "empty file")])
raw("blank_lines_only", b"\n  \n\n", [("-", "empty file")])
raw("comments_only", b"# SYNTHETIC nothing here\n# really nothing\n", [("-", "empty file")])
raw(
    "latin1",
    base.decode().replace("Center C", "Centre Hôpital").encode("latin-1"),
    [("-", "re-save the file as UTF-8")],
)
raw("utf16", base.decode().encode("utf-16"), [("-", "UTF-16")])
raw("semicolon", base.replace(b",", b";"), [("-", "commas as separators")])
raw("tab_separated", base.replace(b",", b"\t"), [("-", "commas as separators")], ext="tsv")
raw("unquoted_comma", base.replace(b"Center B,2020-11-02", b"Center B, Lyon,2020-11-02"), [("-", "double quotes")])
raw("unclosed_quote", base.replace(b"P04,Center B", b'P04,"Center B'), [("-", "quote")])
raw(
    "prose_not_a_table",
    b"Dear colleague,\nplease find attached the cohort.\nBest wishes\n",
    [("-", "not a cohort table")],
    ext="txt",
)
raw(
    "html_page",
    b"<!DOCTYPE html>\n<html><body><table><tr><td>patient</td></tr></table></body></html>\n",
    [("-", "not a cohort table")],
    ext="html",
)
raw("json_records", b'[{"patient_id": "P01", "age": 34}]\n', [("-", "not a cohort table")], ext="json")
raw("fake_xlsx", base, [("-", "not a valid .xlsx")], ext="xlsx")
raw("mixed_line_endings", base.replace(b"\n", b"\r", 1), [("-", "mixed line endings")])
raw("utf16_without_bom", base.decode().encode("utf-16-le"), [("-", "UTF-16")])
raw("utf16_big_endian_without_bom", base.decode().encode("utf-16-be"), [("-", "UTF-16")])


# Kinetics cases (with the valid cohort).
def kcase(name, records, expect, header=None):
    path = root / "kinetics" / f"{name}.csv"
    write(path, header or kcols, records)
    for column, rule in expect:
        manifest.append((f"kinetics_{name}", "valid_cohort.csv", f"kinetics/{name}.csv", column, rule))


kcase(
    "negative_copies",
    [dict(r) for r in krows[:3]] + [{"patient_id": "P02", "day": "7", "car_copies_per_ug": "-40"}],
    [("car_copies_per_ug", ">= 0")],
)
kcase(
    "unknown_patient",
    [dict(r) for r in krows] + [{"patient_id": "P99", "day": "7", "car_copies_per_ug": "10"}],
    [("patient_id", "not a patient_id of the cohort")],
)
kcase(
    "duplicate_sample",
    [dict(r) for r in krows] + [{"patient_id": "P01", "day": "7", "car_copies_per_ug": "15000"}],
    [("day", "duplicate sample")],
)
kcase(
    "negative_day",
    [dict(r) for r in krows] + [{"patient_id": "P04", "day": "-3", "car_copies_per_ug": "10"}],
    [("day", ">= 0")],
)
kcase(
    "fractional_day",
    [dict(r) for r in krows] + [{"patient_id": "P04", "day": "10.5", "car_copies_per_ug": "10"}],
    [("day", "not a whole number")],
)
kcase(
    "missing_copies_column",
    [{k: v for k, v in r.items() if k != "car_copies_per_ug"} for r in krows],
    [("car_copies_per_ug", "missing column")],
    header=["patient_id", "day"],
)
kcase(
    "empty_copies",
    [dict(r) for r in krows[:5]] + [{"patient_id": "P04", "day": "7", "car_copies_per_ug": ""}],
    [("car_copies_per_ug", "required")],
)
kcase("header_only", [], [("-", "no samples")])
kcase(
    "sample_after_followup",
    [dict(r) for r in krows] + [{"patient_id": "P04", "day": "99999", "car_copies_per_ug": "10"}],
    [("day", "after the patient's last follow-up")],
)
kcase(
    "huge_copies",
    [dict(r) for r in krows[:5]] + [{"patient_id": "P04", "day": "7", "car_copies_per_ug": "1e308"}],
    [("car_copies_per_ug", "implausibly large")],
)

with open(root / "cases.csv", "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["case", "cohort", "kinetics", "column", "rule"])
    w.writerows(manifest)
print(len({m[0] for m in manifest}), "cases,", len(manifest), "expectations")

# Accepted inputs: each loads to exactly the frame of valid_cohort.csv.
acc = root / "accepted"
acc.mkdir(exist_ok=True)
(acc / "utf8_bom.csv").write_bytes(b"\xef\xbb\xbf" + base)
(acc / "crlf_line_endings.csv").write_bytes(base.replace(b"\n", b"\r\n"))
lines = base.decode().splitlines()
# Comments only above the header (below it, a line starting with # is reported); the word
# SYNTHETIC in a comment does not make the data synthetic (only the generator's marker line).
(acc / "comments_and_blank_lines.csv").write_text(
    "# SYNTHETIC test cohort: five invented patients\n# second comment line\n\n"
    + lines[0]
    + "\n"
    + lines[1]
    + "\n\n"
    + lines[2]
    + "\n\n"
    + "\n".join(lines[3:])
    + "\n\n\n",
    encoding="utf-8",
)
# Excel for Mac "CSV (Macintosh)": lines end with CR alone.
(acc / "cr_line_endings.csv").write_bytes(base.replace(b"\n", b"\r"))
(acc / "cr_line_endings_with_comments.csv").write_bytes(b"# export of 2023-03-01\r\r" + base.replace(b"\n", b"\r"))
# Other spellings of the same values, padding, an extra column, a new column order.
spell = {
    "M": [" m", "Male ", "MALE"],
    "F": ["female", "F "],
    "no": ["No", "N", "false", "0"],
    "yes": ["YES", "y", "True", "1"],
}
order = cols[::-1] + ["notes"]
out = []
for i, r in enumerate(rows):
    r = dict(r)
    for c in ("sex", "ph_positive", "seizure", "steroids", "tocilizumab", "cr_day30", "mrd_negative"):
        if r[c] in spell:
            options = spell[r[c]]
            r[c] = options[i % len(options)]
    r["crs_grade"] = r["crs_grade"] + ".0"
    r["age"] = f"  {r['age']} "
    r["disease_status"] = {"relapsed": "Relapsed", "primary_refractory": "Primary refractory"}[r["disease_status"]]
    r["notes"] = "free text, with a comma"
    out.append(r)
write(acc / "other_spellings.csv", order, out)
print("accepted:", sorted(p.name for p in acc.iterdir()))
