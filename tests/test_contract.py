"""The data contract in code (analysis/registry/contract.py) and on the pages users read
(docs/data-dictionary.md, data/README.md) say the same: the same columns in the same
order, kinds, required or not, ranges, units, accepted words, bounds and cross-column rules."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from analysis.registry import contract
from analysis.registry.contract import COHORT_FIELDS, COHORT_RULES, KINETICS_FIELDS, Field

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "docs" / "data-dictionary.md"
DATA_README = ROOT / "data" / "README.md"

#: How each page heads the table of each contract table.
SECTIONS = {
    (DICTIONARY, "cohort"): "## 1. Cohort table",
    (DICTIONARY, "kinetics"): "## 2. CAR-T kinetics table",
    (DATA_README, "cohort"): "## Cohort table",
    (DATA_README, "kinetics"): "## CAR-T kinetics table",
}
FIELDS = {"cohort": COHORT_FIELDS, "kinetics": KINETICS_FIELDS}

#: How the "type" column of the pages starts for each kind of column.
KIND_WORDS = {
    contract.TEXT: "text",
    contract.NUMBER: "number",
    contract.INTEGER: "integer",
    contract.DATE: "date",
    contract.BOOLEAN: "boolean",
    contract.SEX: "`M` / `F`",
    contract.STATUS: "`relapsed` / `primary_refractory`",
}


def _rows(page: Path, heading: str) -> dict[str, tuple[str, str]]:
    """column -> (type, rule) of the first table below ``heading``, in the page's order."""
    text = page.read_text(encoding="utf-8")
    start = text.index(heading)
    rows: dict[str, tuple[str, str]] = {}
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0] not in ("column", "---"):
            assert cells[0] not in rows, f"{page.name}: {cells[0]} listed twice"
            rows[cells[0]] = (cells[1], cells[2])
        elif rows and not line.startswith("|"):
            break
    return rows


def _range_words(field: Field) -> list[str]:
    """How the pages write each range check of a column."""
    words = []
    for check in field.checks:
        message = check.error
        if m := re.fullmatch(r"must be between (\S+) and (\S+)", message):
            words.append(f"{m[1]}–{m[2]}")
        elif message == "must be >= 0":
            words.append("≥ 0")
        elif message == "must be > 0":
            words.append("> 0")
        else:
            raise AssertionError(f"{field.name}: no documented wording for the check {message!r}")
    return words


@pytest.mark.parametrize(("page", "table"), list(SECTIONS), ids=lambda x: getattr(x, "name", x))
def test_every_contract_column_is_documented_and_vice_versa(page, table):
    rows = _rows(page, SECTIONS[(page, table)])
    assert list(rows) == [f.name for f in FIELDS[table]], (
        f"{page.name}: columns differ from analysis/registry/contract.py"
    )


@pytest.mark.parametrize(("page", "table"), list(SECTIONS), ids=lambda x: getattr(x, "name", x))
def test_kind_required_range_and_unit_agree(page, table):
    rows = _rows(page, SECTIONS[(page, table)])
    problems = []
    for field in FIELDS[table]:
        kind, rule = rows[field.name]
        if not kind.startswith(KIND_WORDS[field.kind]):
            problems.append(f"{field.name}: type {kind!r}, contract: {field.kind}")
        documented_required = rule.startswith("required") and not rule.startswith("required when")
        if documented_required != field.required:
            problems.append(f"{field.name}: rule {rule!r}, contract: required={field.required}")
        for words in _range_words(field):
            if words not in f"{kind} {rule}":
                problems.append(f"{field.name}: range {words} not on the page")
        if field.unit is not None and field.unit not in f"{kind} {rule}":
            problems.append(f"{field.name}: unit {field.unit} not on the page")
    assert not problems, f"{page.name} disagrees with analysis/registry/contract.py:\n" + "\n".join(problems)


def test_cross_column_rules_name_the_columns_they_compare():
    """data/README.md (the refined contract) states every cross-column rule of the cohort in
    the row of the column it is reported on, naming the other columns it reads."""
    rows = _rows(DATA_README, SECTIONS[(DATA_README, "cohort")])
    missing = [
        f"{rule.column}: {rule.message} (reads {other})"
        for rule in COHORT_RULES
        if not rule.duplicate
        for other in rule.columns
        if other != rule.column and other not in rows[rule.column][1]
    ]
    assert not missing, "rules not stated in data/README.md:\n" + "\n".join(missing)


def test_accepted_words_and_bounds_are_the_documented_ones():
    dictionary = DICTIONARY.read_text(encoding="utf-8")
    readme = DATA_README.read_text(encoding="utf-8")
    booleans = re.search(r"Booleans accept (.*)in any case", dictionary)
    assert booleans is not None
    documented = {word for pair in re.findall(r"`([^`]+)`", booleans[1]) for word in pair.split("/")}
    assert documented == set(contract.BOOLEAN_WORDS)
    sex = re.search(r"\*\*sex\*\*: (.*)", readme)
    assert sex is not None
    assert {word.lower() for word in re.findall(r"`([^`/]+)`", sex[1].replace("/", "`/`"))} == set(contract.SEX_WORDS)
    for page in (dictionary, readme):
        assert contract.DEFAULT_CUTOFF in page
    assert contract.EARLIEST_DATE.isoformat() in readme
    assert f"10^{round(math.log10(contract.MAX_NUMBER))}" in readme


def test_the_dictionary_points_to_the_contract_module():
    assert "analysis/registry/contract.py" in DICTIONARY.read_text(encoding="utf-8")
    assert "analysis/registry/contract.py" in DATA_README.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- disease profiles

#: How docs/data-dictionary.md heads each disease profile's cohort table.
PROFILE_SECTIONS = {"lbcl": "### LBCL cohort table", "mm": "### MM cohort table"}


@pytest.mark.parametrize("key", list(PROFILE_SECTIONS))
def test_every_profile_column_is_documented_with_its_kind_rule_and_range(key):
    """docs/data-dictionary.md section 5 lists each profile's contract (analysis/registry/
    diseases.py): the same columns in the same order, kinds (a response column by its
    scale's name), required or not, ranges, units, and every cross-column rule in the row
    of the column it is reported on, naming the other columns it reads."""
    from analysis.registry.diseases import DISEASES, SCALES

    profile = DISEASES[key]
    rows = _rows(DICTIONARY, PROFILE_SECTIONS[key])
    assert list(rows) == list(profile.field_names)
    words = {**KIND_WORDS, **{kind: f"{scale.name} response" for kind, scale in SCALES.items()}}
    problems = []
    for field in profile.fields:
        kind, rule = rows[field.name]
        if not kind.startswith(words[field.kind]):
            problems.append(f"{field.name}: type {kind!r}, contract: {field.kind}")
        documented_required = rule.startswith("required") and not rule.startswith("required when")
        if documented_required != field.required:
            problems.append(f"{field.name}: rule {rule!r}, contract: required={field.required}")
        if field.optional_column != rule.endswith("optional column"):
            problems.append(f"{field.name}: optional column={field.optional_column}, rule {rule!r}")
        problems += [f"{field.name}: range {w}" for w in _range_words(field) if w not in f"{kind} {rule}"]
        if field.unit is not None and field.unit not in f"{kind} {rule}":
            problems.append(f"{field.name}: unit {field.unit} not on the page")
    problems += [
        f"{rule.column}: {rule.message} (reads {other})"
        for rule in profile.rules
        if not rule.duplicate
        for other in rule.columns
        if other != rule.column and other not in rows[rule.column][1]
    ]
    assert not problems, "docs/data-dictionary.md disagrees with analysis/registry/diseases.py:\n" + "\n".join(problems)
    scale = profile.scale
    assert scale is not None
    dictionary = DICTIONARY.read_text(encoding="utf-8")
    line = next(text for text in dictionary.splitlines() if text.startswith(f"| {scale.name} |"))
    assert all(f"`{level}`" in line for level in scale.keys)
    assert {w.lower() for w in re.findall(r"[(,·] ?([^(),·`]+?)(?= ?[),])", line)} <= set(scale.words)
