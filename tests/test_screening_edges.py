"""Screening rules at their edges (attack 28b on issue 22): a patient with a row a rule
excludes and an analysed row, a rule value written as a decimal, every row excluded."""

import csv

import pandas as pd
import pytest
from conftest import COHORT, KINETICS, ROOT

from analysis.inputs.errors import DataRefused, InputError
from analysis.inputs.screening import Excluded, Exclusion, RowFilter, _key
from analysis.inputs.studyfile import load_settings, resolve_study


def _export(tmp_path, infused) -> tuple:
    """The demo's cohort with an 'Infused' column (``infused(i, row)`` gives each row's cell),
    plus the rows ``infused`` returns as extra (a list of (row, value))."""
    rows = list(csv.reader(COHORT.open(encoding="utf-8")))
    header, data = rows[1], rows[2:]
    out = [[*header, "Infused"]]
    extra = []
    for i, row in enumerate(data):
        value, more = infused(i, row)
        out.append([*row, value])
        extra += more
    out += extra
    path = tmp_path / "cohort.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(out)
    return path, len(data)


def _study(tmp_path, export, values: str):
    study = tmp_path / "study.yml"
    study.write_text(
        f"title: t\ndata:\n  cohort: {export}\n  kinetics: {KINETICS}\n  cutoff: 2026-11-01\n"
        f"screening:\n  excluded:\n    - reason: not infused\n      column: Infused\n      values: {values}\n",
        encoding="utf-8",
    )
    return resolve_study(study, base=ROOT)


def test_a_patient_excluded_by_one_row_and_analysed_by_another_is_an_error(tmp_path):
    """Before: the not-infused first record of SYN-005 took the 8 kinetics samples of the same
    patient's analysed record with it (24 patients with 214 samples became 23 with 206), the
    patient counted as excluded and analysed, and the duplicate identifier went unreported."""
    export, _ = _export(tmp_path, lambda i, row: ("Yes", [[*row, "No"]] if row[0] == "SYN-005" else []))
    with pytest.raises(DataRefused) as err:
        load_settings(_study(tmp_path, export, '["no"]'), refuse=True)
    assert "1 patient_id value has a row a screening rule excluded and another row that is analysed" in str(err.value)
    assert "syn-005" not in str(err.value).lower()  # the summary counts; the identifier is in validate's detail


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2013", "\u2014", "\u2212", "\ufe58", "\uff0d"])
def test_an_excluded_row_spelled_with_another_dash_is_the_analysed_patient(tmp_path, dash):
    """Attack 30 (2): 'SYN–005' (en dash) marked not infused was counted as an excluded patient
    *and* analysed as SYN-005: the flow's screened count held one person twice."""
    export, _ = _export(
        tmp_path, lambda i, row: ("Yes", [[row[0].replace("-", dash), *row[1:], "No"]] if row[0] == "SYN-005" else [])
    )
    with pytest.raises(DataRefused) as err:
        load_settings(_study(tmp_path, export, '["no"]'), refuse=True)
    assert "1 patient_id value has a row a screening rule excluded and another row that is analysed" in str(err.value)


def test_a_rule_value_written_with_decimals_matches_the_whole_number():
    assert _key(1.0) == _key("1.0") == _key(1) == _key(" 1.00 ") == "1"
    assert _key("1.5") == "1.5" and _key("007") == "007" and _key("+2.0") == "2"
    rule = Exclusion("not infused", column="Infused", values=("0.0",))
    chunk = pd.DataFrame({0: ["a", "b", "c"], 1: [1, 0, 0.0]})
    kept = pd.concat(RowFilter((rule,), ("patient_id", "Infused"))(iter([chunk])))
    assert list(kept[0]) == ["a"]  # before: 0 of 2 rows excluded, and they were analysed


def test_a_rule_excluding_every_row_says_so(tmp_path):
    export, n = _export(tmp_path, lambda i, row: ("No", []))
    with pytest.raises(DataRefused) as err:
        load_settings(_study(tmp_path, export, '["no"]'), refuse=True)
    message = str(err.value)
    assert f"the screening rules (screening: excluded) left out all {n} rows" in message
    assert "the file has a header but no data rows" not in message


@pytest.mark.parametrize(
    "text, message",
    [
        ("analysis:\n  survival_times_months: [12, 1e9]\n", "at most 600"),
        ("screening:\n  excluded:\n    - {reason: r, count: 99999999999999}\n", "less than or equal to 10000000"),
    ],
)
def test_numbers_of_many_digits_are_refused(tmp_path, text, message):
    """Attack 28b: 1e9 months printed "OS at 1e+09 months was not estimable (...)" in Results and
    a count of 99999999999999 "100,000,000,000,092 patients screened"."""
    from analysis.inputs.studyfile import StudyFileError

    path = tmp_path / "study.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StudyFileError, match=message):
        resolve_study(path, base=ROOT)


def test_the_console_warning_prints_a_reason_as_text():
    """Attack 28b: the render's data-quality warning printed the reason of a screening rule
    Markdown-escaped ('consent withdrawn \\(n\\/a\\)'); the document keeps its escapes."""
    from analysis.inputs import usertext
    from renderer.journal import console_text

    reason = "consent withdrawn (n/a) *1* [x] 2.5 a\\b"
    assert str(usertext.styled(reason)) != reason  # the document's text is escaped Markdown
    assert console_text(str(usertext.plain(reason))) == reason


def test_excluded_rows_are_counted_as_patients_and_checked_for_duplicates(tmp_path):
    """Attack 29/01: one not-infused patient exported as two rows was '2 product not infused'
    and 95 screened for an export of 94 patients; the duplicate identifier went unreported
    because the duplicate-patient rule saw only the analysed rows. Now a reason counts distinct
    patients, and the same identifier on two excluded rows is a duplicate patient_id."""
    rule = Exclusion("not infused", column="Infused", values=("no",))
    chunk = pd.DataFrame({0: ["A", "B", "SYN-900", "syn-900", "C", None], 1: ["yes", "yes", "no", "no", "no", "no"]})
    row_filter = RowFilter((rule,), ("patient_id", "Infused"))
    kept = pd.concat(row_filter(iter([chunk])))
    assert list(kept[0]) == ["A", "B"]
    # SYN-900 and syn-900 are one patient (as the duplicate rule compares ids), C another, the
    # row without an id a third: 3 patients, not 4 rows
    assert row_filter.excluded() == (Excluded("not infused", 3, True),)
    [duplicate] = row_filter.shared_ids()
    assert (duplicate.row, duplicate.patient_id, duplicate.column) == (5, "syn-900", "patient_id")
    assert duplicate.rule.startswith("duplicate patient_id among the rows a screening rule excluded (rows 4, 5)")

    # through the loader: the export's 93 patients plus SYN-900 twice is refused, not 95 screened
    export, n = _export(tmp_path, lambda i, row: ("Yes", [["SYN-900", *row[1:], "No"]] * 2 if i == 2 else []))
    with pytest.raises(InputError) as err:
        load_settings(_study(tmp_path, export, '["no"]'))
    [violation] = err.value.violations
    assert (violation.row, violation.patient_id) == (n + 3, "SYN-900")  # the second of rows n + 2, n + 3
    assert violation.rule.startswith(
        f"duplicate patient_id among the rows a screening rule excluded (rows {n + 2}, {n + 3})"
    )
    # once, it is one patient excluded and the flow adds up to the export's 94
    export, n = _export(tmp_path, lambda i, row: ("Yes", [["SYN-900", *row[1:], "No"]] if i == 2 else []))
    loaded = load_settings(_study(tmp_path, export, '["no"]'), refuse=True)
    assert [(e.reason, e.n) for e in loaded.excluded] == [("not infused", 1)]
    assert len(loaded.cohort) == n == 93


def test_a_shared_identifier_is_in_the_detail_not_in_the_rules_text(tmp_path):
    """Attack 29/08: the rule's text held up to five identifiers, case-folded ('syn-004'), so
    the render log's summary printed them. Now the text counts, and each detail row holds the
    identifier as the export spells it, with the analysed row it collides with."""
    rule = Exclusion("not infused", column="Infused", values=("no",))
    chunk = pd.DataFrame({0: ["SYN-004", "SYN-005", "SYN-004"], 1: ["yes", "yes", "no"]})
    row_filter = RowFilter((rule,), ("patient_id", "Infused"))
    list(row_filter(iter([chunk])))
    [shared] = row_filter.shared_ids()
    assert (shared.row, shared.patient_id, shared.value, shared.related) == (
        4,
        "SYN-004",
        "SYN-004",
        "analysed on row 2",
    )
    assert "syn" not in shared.rule.lower() and shared.rule.startswith("1 patient_id value has a row a screening rule")
