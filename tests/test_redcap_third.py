"""A third registry's REDCap export (the new-user trial of issue 19): what `map` got wrong
and what `validate` did not say.

The export (tests/registry_exports.py, :func:`write_third_registry`) is the raw repeating
export of test_redcap.py with three fields named and coded as that registry does: the
transplant as a yes/no ``allo_yn`` followed by its date ``allo_dt``; MRD as ``mrd_fcm``
("MRD by flow cytometry at day 30": 1 Negative, 2 Positive, 8 Not done); the Philadelphia
chromosome as ``ph_status`` (1 Ph-positive, 2 Ph-negative). The truth is the contract-form
cohort the export was written from (:func:`redcap_truth`), counted here with pandas.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from registry_exports import REDCAP_CUTOFF, redcap_truth, write_redcap_export, write_third_registry

from analysis import cli
from analysis.inputs import mapping
from analysis.inputs.errors import InputError, Violation
from analysis.inputs.problems import HintContext, hints, refusal
from analysis.inputs.studyfile import load_settings, resolve_study


def _set_cutoff(study: Path) -> Path:
    text = study.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^  cutoff:.*$", f"  cutoff: {REDCAP_CUTOFF}", text)
    assert edited != text
    study.write_text(edited, encoding="utf-8")
    return study


def _edit(study: Path, old: str, new: str) -> None:
    text = study.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    study.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def third(tmp_path_factory):
    folder = tmp_path_factory.mktemp("third")
    export, dictionary = write_third_registry(folder)
    return export, dictionary, mapping.propose_mapping(export)


def _found(proposal) -> dict[str, tuple[str | None, str]]:
    return {m.name: (m.header, m.how) for m in proposal.cohort_matches}


# --------------------------------------------------------------------------- r1: a date is a date field


def test_a_date_column_is_the_date_field_not_the_yes_no_one(third):
    """hsct_date: 'allo_yn' ("Allogeneic HSCT after CAR-T", a yesno field) names the transplant
    better than 'allo_dt' ("Date of allo-HSCT", date_ymd), but only the date field holds dates."""
    _, _, proposal = third
    assert _found(proposal)["hsct_date"] == ("allo_dt", "known label")
    assert not any("allo_yn" in d for d in proposal.doubts)


def test_without_the_dictionary_the_values_say_which_column_holds_dates(third, tmp_path):
    export, _, _ = third
    alone = tmp_path / "alone" / export.name  # no dictionary beside it
    alone.parent.mkdir()
    alone.write_bytes(export.read_bytes())
    proposal = mapping.propose_mapping(alone)
    assert proposal.dictionary_file is None
    assert _found(proposal)["hsct_date"][0] != "allo_yn"  # 0/1 are not dates, whatever the name says


def test_what_a_header_holds_from_its_dictionary_entry_or_its_cells():
    dictionary = mapping.Dictionary(
        labels={"allo_yn": "Allogeneic HSCT", "allo_dt": "Date of allo-HSCT", "note": "Note"},
        types={"allo_yn": "yesno", "allo_dt": "text", "note": "text"},
        validations={"allo_dt": "date_ymd", "note": ""},
    )
    cells = pd.Series(["", "2021-03-04", ""])
    assert mapping._header_kind(pd.Series(["1", "0"]), dictionary, "allo_yn") == mapping.CHOICE_FIELD
    assert mapping._header_kind(pd.Series(["", ""]), dictionary, "allo_dt") == mapping.DATE_FIELD  # empty: its type
    assert mapping._header_kind(cells, None, "x") == mapping.DATE_FIELD
    assert mapping._header_kind(pd.Series(["04/03/2021", "x", "1"]), None, "x") == mapping.NOT_DATES  # 1 of 3
    assert mapping._header_kind(pd.Series(["", ""]), None, "x") == mapping.UNKNOWN_KIND
    assert not mapping._kind_fits(mapping.CHOICE_FIELD, "date")
    assert not mapping._kind_fits(mapping.NOT_DATES, "date")
    assert not mapping._kind_fits(mapping.DATE_FIELD, "boolean")
    assert mapping._kind_fits(mapping.UNKNOWN_KIND, "date") and mapping._kind_fits(mapping.CHOICE_FIELD, "boolean")


def test_a_date_column_whose_values_are_not_dates_is_held_back(tmp_path):
    frame = pd.DataFrame({"allo_yn": ["0", "1", "0", "1"], "inf": ["2020-01-01"] * 4}, dtype=str)
    found = mapping._content_doubts(
        frame,
        [
            mapping.ColumnMatch("hsct_date", "allo_yn", "exact", 1.0),
            mapping.ColumnMatch("infusion_date", "inf", "known label", 1.0),
        ],
        {},
        {"allo_yn": {"1": "Yes", "0": "No"}},
        None,
        tmp_path / "x.csv",
    )
    assert found == [
        (
            "hsct_date",
            "hsct_date <- 'allo_yn': 4 of its 4 values are not dates (No, Yes): a date column holds dates",
            True,
        )
    ]


# --------------------------------------------------------------------------- r3: MRD and Ph by their values


def test_mrd_by_flow_cytometry_is_mapped_with_not_done_kept_apart(third):
    _, _, proposal = third
    header, how = _found(proposal)["mrd_negative"]
    assert (header, how) == ("mrd_fcm", "known label")
    assert proposal.values["mrd_negative"] == {1: True, 2: False, 8: "not done"}
    assert "mrd_negative" not in proposal.not_collected
    assert not any("mrd" in d.lower() for d in proposal.doubts)


def test_ph_status_words_read_as_ph_positive(third):
    _, _, proposal = third
    assert _found(proposal)["ph_positive"] == ("ph_status", "known label")
    assert proposal.values["ph_positive"] == {1: True, 2: False}
    assert not any("ph_positive" in d for d in proposal.doubts)


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        ("ph_positive", {"1": "Ph-positive", "2": "Ph-negative"}, {"1": True, "2": False}),
        ("ph_positive", {"1": "Ph+", "2": "Ph negative", "3": "Not tested"}, {"1": True, "2": False, "3": None}),
        ("mrd_negative", {"1": "MRD-negative", "2": "MRD-positive"}, {"1": True, "2": False}),
    ],
)
def test_positive_and_negative_words_of_a_result_column(name, labels, expected):
    table, _ = mapping._boolean_values(sorted(labels), labels, name)
    assert table == expected


def test_words_that_turn_a_result_round_are_not_read():
    found = mapping._boolean_values(["1", "2"], {"1": "Not positive", "2": "Ph-positive (weak)"}, "ph_positive")
    assert found is not None and found[0] == {"2": True} and "not recognised: 1" in found[1]


def test_an_mrd_column_without_negative_and_positive_values_is_not_taken(tmp_path):
    """The name alone ("MRD ...") is not enough: an MRD date, or a percentage, is not the result."""
    path = tmp_path / "export.csv"
    pd.DataFrame({"patient_id": ["1", "2"], "mrd_fcm_pct": ["0.01", "1.5"], "mrd_fcm_dt": ["2020-01-02", ""]}).to_csv(
        path, index=False
    )
    assert _found(mapping.propose_mapping(path))["mrd_negative"][1] in ("guess", "unmapped")


# --------------------------------------------------------------------------- map -> validate, no hand edit


def test_the_third_registry_needs_only_the_cutoff(third, tmp_path, capsys):
    export, _, _ = third
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    capsys.readouterr()
    settings = resolve_study(_set_cutoff(study))
    assert cli.main(["validate", "--study", str(study)]) == 0
    assert "OK: 150 patients" in capsys.readouterr().out
    loaded = load_settings(settings).cohort.set_index("patient_id").sort_index()
    truth, _ = redcap_truth()
    truth = truth.set_index("patient_id").sort_index()
    assert loaded["hsct_date"].notna().sum() == truth["hsct_date"].notna().sum() > 0
    assert (loaded["hsct_date"].dropna() == truth["hsct_date"].dropna()).all()
    assert loaded["ph_positive"].astype(bool).tolist() == truth["ph_positive"].astype(bool).tolist()
    assert int(loaded["mrd_negative_not_done"].sum()) == int(truth["mrd_negative_not_done"].sum()) == 3
    in_cr = truth["cr_day30"].astype(bool) & ~truth["mrd_negative_not_done"]
    assert int(loaded["mrd_negative"].eq(True).sum()) == int(truth.loc[in_cr, "mrd_negative"].eq(True).sum())
    assert int(loaded["mrd_negative"].eq(False).sum()) == int(truth.loc[in_cr, "mrd_negative"].eq(False).sum())


# --------------------------------------------------------------------------- r1b: validate's hints


@pytest.fixture()
def mapped(third, tmp_path, capsys):
    export, _, _ = third
    study = tmp_path / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    capsys.readouterr()
    return _set_cutoff(study)


def _line_of(study: Path, text: str) -> int:
    return next(i for i, line in enumerate(study.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_a_wrongly_mapped_date_column_names_its_line_and_the_date_field(mapped, capsys):
    """The trial's mapping hsct_date <- 'allo_yn': every value "a number, not a date"; on a CSV
    the hint speaks of no workbook, names the study file's line and the date field."""
    _edit(mapped, 'hsct_date: "allo_dt"', 'hsct_date: "allo_yn"')
    assert cli.main(["validate", "--study", str(mapped)]) == 1
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if line.startswith("  - hsct_date"))
    line = _line_of(mapped, 'hsct_date: "allo_yn"')
    assert f'study.yml line {line}: `hsct_date: "allo_yn"`' in hint
    assert "150 of the 150 values of 'allo_yn' are not dates (0, 1)" in hint
    assert "'allo_dt' ('Date of allo-HSCT'; a date field)" in hint and 'write `hsct_date: "allo_dt"`' in hint
    assert "cr_dt" not in hint  # mapped to cr_date already
    assert "workbook" not in out


def test_a_held_back_column_is_pointed_to_in_the_study_file(mapped, capsys):
    _edit(
        mapped,
        '  ph_positive: "ph_status"  # known label',
        '  # ph_positive: "ph_status"  # HELD BACK, not read until you check it: none of its values reads as yes',
    )
    assert cli.main(["validate", "--study", str(mapped)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\n +1  ph_positive +missing column\n", out)
    hint = next(line for line in out.splitlines() if line.startswith("  - ph_positive"))
    line = _line_of(mapped, "# ph_positive:")
    assert f'study.yml line {line} is commented out (`# ph_positive: "ph_status"`)' in hint
    assert "remove the '#'" in hint and "1 = Ph-positive, 2 = Ph-negative" in hint


def test_a_column_not_found_is_pointed_to_in_the_study_file(tmp_path):
    study = tmp_path / "study.yml"
    study.write_text(
        'columns:\n  patient_id: "id"\n  # cr_day30:   # NOT FOUND: write the export\'s header here\n'
        "values:\n  sex: {1: M}\n",
        encoding="utf-8",
    )
    found = hints([Violation(None, None, "cr_day30", "missing column")], HintContext(study_file=study))
    assert found == [
        "cr_day30: study.yml line 3 is commented out (`# cr_day30:   # NOT FOUND: write the export's "
        "header here`): `map` did not find the column; write the export's header there "
        "(`cr_day30: \"HEADER\"`) and remove the '#', or list cr_day30 under `not_collected:` if the "
        "registry does not collect it and the contract allows it."
    ]


@pytest.mark.parametrize(("file", "workbook"), [("cohort.xlsx", True), ("cohort.csv", False)])
def test_the_number_in_a_date_column_hint_fits_the_file(file, workbook):
    violations = [
        Violation(r, str(r), "infusion_date", "a number, not a date: use YYYY-MM-DD", "44197", file)
        for r in range(2, 6)
    ]
    found = hints(violations)
    assert len(found) == 1
    assert ("not formatted as dates" in found[0]) is workbook


def test_the_render_refusal_shows_the_export_column_names():
    """Item 8: the refusal's summary is validate's, with the export's own header beside the contract's."""
    err = InputError([Violation(2, "1", "hsct_date", "a number, not a date: use YYYY-MM-DD", "0")])
    text = refusal(err, "python -m analysis validate --study study.yml", HintContext(headers={"hsct_date": "allo_yn"}))
    assert "hsct_date ('allo_yn')  a number, not a date" in text


def test_the_issue_export_still_maps_as_before(tmp_path):
    """The kinds do not take away what the first registry's mapping found."""
    export, _ = write_redcap_export(tmp_path, "repeating", errors=False)
    found = _found(mapping.propose_mapping(export))
    assert found["mrd_negative"][0] == "mrd_d30" and found["ph_positive"][0] == "ph_pos"
    assert found["infusion_date"][0] == "cart_date" and found["cr_date"][0] == "cr_dt"


# --------------------------------------------------------------------------- r4, r6: one definition


@pytest.fixture(scope="module")
def loaded_third(third, tmp_path_factory):
    """The third registry mapped by `map`, with a cut-off two years after the export's: its
    living patients last seen before 2024-03-01 are lost to follow-up (warnings)."""
    export, _, _ = third
    folder = tmp_path_factory.mktemp("loaded-third")
    study = folder / "study.yml"
    assert cli.main(["map", str(export), "-o", str(study)]) == 0
    text = re.sub(r"(?m)^  cutoff:.*$", "  cutoff: 2025-03-01", study.read_text(encoding="utf-8"))
    study.write_text(text, encoding="utf-8")
    settings = resolve_study(study)
    return settings, load_settings(settings)


def test_the_report_counts_the_warnings_validate_prints(loaded_third, capsys):
    """r4: validate printed "3 plausibility warnings" (lost to follow-up) while the report said
    "It raised no plausibility warning": both now count every rule's warnings."""
    from collections import Counter

    from analysis.estimators.quality import data_quality
    from analysis.registry.contract import plausibility_rules

    settings, study = loaded_third
    assert cli.main(["validate", "--study", str(settings.study_file)]) == 0
    printed = re.search(r"(\d+) plausibility warnings?", capsys.readouterr().out)
    assert printed is not None
    quality = data_quality(study.cohort, study.cutoff, study.not_collected)
    phrase = {r.message: r.phrase or r.message for r in plausibility_rules(study.cutoff)}
    by_rule = Counter(phrase[v.rule] for v in study.warnings)
    assert quality.n_warnings == len(study.warnings) == int(printed[1]) > 0
    assert quality.warnings == dict(by_rule)
    assert quality.warnings["lost to follow-up"] == quality.lost_to_followup > 0


def test_centers_count_responses_over_the_patients_whose_response_is_known(loaded_third):
    """r6: CR at day 30 over the evaluable patients, MRD-negative CR over those whose status is
    known, per center, as the text counts them; counted here from the truth by data access group."""
    from registry_exports import REDCAP_GROUPS

    from analysis.estimators.centers import center_supplement
    from analysis.registry.groups import prepare_cohort

    _, study = loaded_third
    rows = center_supplement(prepare_cohort(study.cohort)).rows
    truth, _ = redcap_truth()
    truth = truth.assign(group=truth["center"].map(lambda c: REDCAP_GROUPS[c][0]))
    evaluable = ~truth["cr_day30_not_done"]
    cr = truth["cr_day30"].astype(bool) & evaluable
    mrd_known = evaluable & ~(cr & truth["mrd_negative_not_done"])
    mrd_negative_cr = cr & truth["mrd_negative"].eq(True)
    want = sorted(
        (
            len(g),
            int(cr[g.index].sum()),
            int(evaluable[g.index].sum()),
            int(mrd_negative_cr[g.index].sum()),
            int(mrd_known[g.index].sum()),
        )
        for _, g in truth.groupby("group")
    )
    got = sorted(
        (
            r.n,
            r.counts["cr_day30"],
            r.denominators["cr_day30"],
            r.counts["mrd_negative_cr"],
            r.denominators["mrd_negative_cr"],
        )
        for r in rows
    )
    assert got == want
    assert sum(d for *_, d in got) < len(truth)  # the MRD-not-done patients are in no denominator
    for r in rows:
        assert r.percents["cr_day30"] == pytest.approx(100 * r.counts["cr_day30"] / r.denominators["cr_day30"])
        assert r.denominators["crs_any"] == r.n


def test_the_center_table_shows_each_denominator():
    from analysis.estimators.centers import CenterRow, CenterSupplement
    from analysis.report.tables import center_table

    counts = {"crs_any": 20, "crs_severe": 3, "icans_any": 9, "icans_severe": 2, "cr_day30": 21, "mrd_negative_cr": 18}
    over = {"crs_any": 26, "crs_severe": 26, "icans_any": 26, "icans_severe": 26, "cr_day30": 22, "mrd_negative_cr": 20}
    row = CenterRow("Center 3", 26, counts, {k: 100 * counts[k] / over[k] for k in counts}, 1, over)
    table = center_table(CenterSupplement((row,), {}, n_centers=1))
    text = table.to_markdown() if hasattr(table, "to_markdown") else str(table)
    assert "21/22 (95.5%)" in text and "18/20 (90.0%)" in text and "20 (76.9%)" in text
    assert "21 (80.8%)" not in text


# --------------------------------------------------------------------------- r4, r5, r7: the sentences


@pytest.fixture(scope="module")
def narrative(loaded_third):
    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    settings, study = loaded_third
    return Narrative(compute_results(study, **settings.analysis.model_dump()))


def _said(section: str, begins: str, text) -> str:
    from test_narrative import said

    return " ".join(said(section, begins, text).split())


def test_the_data_quality_sentence_counts_validates_warnings(loaded_third, narrative):
    _, study = loaded_third
    sentence = _said("_appendix", "text.choose(text.warnings_any", narrative)
    n = len(study.warnings)
    assert sentence.startswith(f"The check raised {n} plausibility warnings")
    assert "no plausibility warning" not in sentence and "lost to follow-up (" in sentence


def test_each_mrd_fraction_says_what_it_counts(narrative):
    """r5: "of the patients whose MRD status is known, 78 of 102" counted the evaluable patients
    not in CR (who have no MRD status) as known. Counted here from the truth."""
    truth, _ = redcap_truth()
    evaluable = ~truth["cr_day30_not_done"]
    cr = truth["cr_day30"].astype(bool) & evaluable
    assessed = cr & ~truth["mrd_negative_not_done"]
    negative = int((assessed & truth["mrd_negative"].eq(True)).sum())
    not_assessed = int((cr & truth["mrd_negative_not_done"]).sum())
    known = int(evaluable.sum()) - not_assessed
    sentence = _said("_results-response", "text.choose(text.response_not_evaluable", narrative)
    assert (
        f"MRD was assessed in {int(assessed.sum())} of the {int(cr.sum())} patients in CR and was negative in "
        f"{negative} of {int(assessed.sum())} ({100 * negative / assessed.sum():.1f}%)" in sentence
    )
    assert (
        f"leaving out the {not_assessed} in CR without an MRD result, {negative} of {known} "
        f"({100 * negative / known:.1f}%) evaluable patients were in MRD-negative CR" in sentence
    )
    assert "whose MRD status is known" not in sentence


def test_what_is_not_collected_says_what_is_left_out(narrative):
    """r7: "...the cumulative tocilizumab dose; what would need them is left out of this report"."""
    assert narrative.results.not_collected == ("dex_equiv_cum_mg", "tocilizumab_cum_mg")
    assert narrative.not_collected == "the cumulative corticosteroid dose and the cumulative tocilizumab dose"
    assert narrative.not_collected_left_out == (
        "the median cumulative corticosteroid dose of the patients given corticosteroids and the median "
        "cumulative tocilizumab dose of the patients given tocilizumab"
    )
    methods = (Path(__file__).resolve().parent.parent / "sections" / "_methods.qmd").read_text(encoding="utf-8")
    assert "so this report leaves out\n`{python} text.not_collected_left_out`." in methods
    assert "what would need them" not in methods
