"""A hostile corpus for the study file's text fields (issue 22): what a title, an author's
name or a product field could try to smuggle into the manuscript.

Every payload that would act if it were read as markup leaves a trace that the payload's
own text does not contain: a script builds "RAN-<field>" by concatenation, a file read
would bring the bytes of :data:`SECRET` (whose name is in the payload, not its contents),
a citation would print "[n]" instead of "@kaplan1958".
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from analysis.inputs.studyfile import Declarations
from renderer.pandoc import READER, pandoc_path

#: Contents of the file the payloads try to read or embed (never in any payload).
SECRET = "SECRET-CONTENTS-4f1c9e"
#: Value of the environment variable CARTOX_HOSTILE_ENV, which a Quarto shortcode in a
#: field would print (set for the renders; never in any payload).
SECRET_ENV = "ENV-LEAK-8c1d"

#: The study file's text fields: (YAML path, how the report words it).
FIELDS = (
    "title",
    "subtitle",
    "name",
    "affiliation",
    "email",
    "product_name",
    "target",
    "costimulatory_domain",
    "vector",
    "lymphodepletion",
)

#: The declarations (every key of the schema's ``declarations:``) rendered with the fields
#: above: the committee and approval number rather than the team's own ``ethics`` sentence,
#: which replaces them (test_hostile_fields checks both against every inline expression).
DECLARATION_FIELDS = tuple(key for key in Declarations.model_fields if key != "ethics")
#: Every field of the rendered hostile report.
RENDERED_FIELDS = FIELDS + DECLARATION_FIELDS + ("screening_reason",)  # a reason for exclusion
#: Where each rendered field sits in the study file's schema (test_hostile_fields checks that
#: the rendered corpus holds every prose string of the schema but ``declarations.ethics``).
SCHEMA_PATH = {
    "title": "title",
    "subtitle": "subtitle",
    "name": "authors.name",
    "affiliation": "authors.affiliation",
    "email": "authors.email",
    "product_name": "product.name",
    "target": "product.target",
    "costimulatory_domain": "product.costimulatory_domain",
    "vector": "product.vector",
    "lymphodepletion": "product.lymphodepletion",
    "screening_reason": "screening.excluded.reason",
} | {key: f"declarations.{key}" for key in DECLARATION_FIELDS}


#: Where the payloads point a network fetch when no server is named (nothing listens).
NO_SERVER = "http://127.0.0.1:9"


def payloads(field: str, secret: Path, server: str = NO_SERVER) -> list[str]:
    """Markup of every kind, each marked with ``field`` (``server``: an http:// address a
    fetch would reach, to see that none is made)."""
    ran = f"'RAN'+'-{field}'"
    return [
        *scripted(field, secret, server),
        f"<script>document.title={ran};document.documentElement.setAttribute('data-ran',{ran})</script>",
        f'<img src="{secret}" onerror="document.body.setAttribute(\'data-ran\',{ran})">',
        f"<svg onload=\"document.body.setAttribute('data-ran',{ran})\"></svg>",
        f'<iframe srcdoc="<script>parent.document.title={ran}</script>"></iframe>',
        f"[click](javascript:document.title={ran})",
        f"![x]({secret})",
        "@kaplan1958 [@kaplan1958]",
        f'`#read("{secret}")`{{=typst}}',
        f"`<script>document.title={ran}</script>`{{=html}}",
        f"\\input{{{secret}}} $\\input{{{secret}}}$",
        "{{< env CARTOX_HOSTILE_ENV >}} {{{< env CARTOX_HOSTILE_ENV >}}} {{< meta pagetitle >}}",
        f"{{{{< include {secret} >}}}}",
        "^[a footnote]",
        f"<{secret}>",
        "&lt;b&gt;entity&lt;/b&gt;",
    ]


def scripted(field: str, secret: Path, server: str = NO_SERVER) -> list[str]:
    """Markup inside the allow-listed super/subscripts (no space inside, as they require):
    Pandoc 3 undoes escapes and entities there and reads the rest as Markdown again, so
    an escaped payload would act (attack on main, repros 1-4 and 22)."""
    ran = f"'RAN'+'-{field}'"
    return [
        f"~<svg/onload=document.body.setAttribute('data-ran',{ran})>~",
        f"^<img/src=x/onerror=document.title={ran}>^",
        f"^![]({secret})^",
        f"~![](../../../../../..{secret})~",
        f"^![]({server}/leak-{field}.png?render-time)^",
        f'^`#read("{secret}")`{{=typst}}^',
        f"^`#text(fill:red)[TYPSTRAW{field}]`{{=typst}}^",
        f"~`<w:r><w:t>OPENXMLRAW{field}</w:t></w:r>`{{=openxml}}~",
        f"~`<script>document.title={ran}</script>`{{=html}}~",
        "^@kaplan1958^",
        f"~[x](javascript:document.title={ran})~",
        f"^&#33;&#91;&#93;&#40;{secret}&#41;^",
        f"CD19^\\![]({secret})^",
        "10^$x$^",
    ]


def study_fields(secret: Path, server: str = NO_SERVER) -> dict[str, str]:
    """One string per field: its payloads joined (line breaks included, as Alt+Enter)."""
    out = {}
    for field in RENDERED_FIELDS:
        body = "\n".join(payloads(field, secret, server))
        out[field] = f"{field.upper()}-START " + body + f" {field.upper()}-END"
    out["email"] = f"evil@example.org><script>document.title='RAN'+'-email'</script> <{secret}>"
    return out


def study_yaml(fields: dict[str, str], cohort: Path, kinetics: Path, cutoff: str) -> dict:
    """The study file (as a mapping to dump) carrying the hostile fields."""
    return {
        "title": fields["title"],
        "subtitle": fields["subtitle"],
        "authors": [
            {
                "name": fields["name"],
                "affiliation": [fields["affiliation"], "Second institution"],
                "email": fields["email"],
                "corresponding": True,
            },
        ],
        "data": {"cohort": str(cohort), "kinetics": str(kinetics), "cutoff": cutoff},
        "product": {
            "name": fields["product_name"],
            "target": fields["target"],
            "costimulatory_domain": fields["costimulatory_domain"],
            "vector": fields["vector"],
            "lymphodepletion": fields["lymphodepletion"],
        },
        "declarations": {key: fields[key] for key in DECLARATION_FIELDS if key in fields},
        # a reason for exclusion is printed in Results, the flow figure and the data-quality notes
        "screening": {"excluded": [{"reason": fields.get("screening_reason", "consent withdrawn"), "count": 1}]},
    }


# --------------------------------------------------------------------------- every field of the schema
# The study file's schema is walked, not listed: every string a team can type is found from
# the pydantic models (analysis.inputs.studyfile), so a field added later is hostile in the
# tests the day it is added (tests/test_hostile_fields.py), unless it is one of the
# structural strings below, each with the reason it cannot carry prose into a document.

#: Strings of the schema that are not prose: (path, why). A path is the field's keys from
#: the top (lists and the "one or a list" alternatives folded: ``authors.name``); ``*`` is
#: any key of a mapping. Each is either validated against a closed set or a pattern, or
#: names something the reader opens or matches, and the hostile study of
#: test_hostile_fields makes it hostile where it can (file names, export headers and
#: values, the date format) while the data still load.
STRUCTURAL: dict[str, str] = {
    "disease": "a disease profile key, validated against the registry (analysis.registry.diseases)",
    "authors.orcid": r"an ORCID iD, validated by the pattern \d{4}-\d{4}-\d{4}-\d{3}[\dX]",
    "data.cohort": "a file name: the hostile study names a cohort file whose name is markup",
    "data.kinetics": "a file name: the hostile study names a kinetics file whose name is markup",
    "data.sheet": "a workbook's sheet name (a CSV has none; a named sheet is only read, never printed)",
    "columns.*": "an export header: the hostile study's export has markup headers mapped onto the contract",
    "kinetics_columns.*": "an export header of the kinetics table (as columns)",
    "values.*": "contract column names, then an export value and its contract value: the hostile export holds a "
    "markup value mapped back",
    "date_format": "a strptime format: the hostile study's holds markup around %d/%m/%Y",
    "redcap.kinetics_instrument": "a REDCap instrument name, matched against a REDCap export (test_redcap*.py)",
    "redcap.kinetics_events.*": "a REDCap event name, matched against a REDCap export (test_redcap*.py)",
    "not_collected": "contract column names, validated against the contract",
    "analysis.*": "analysis options: numbers, or names validated against the registry's choices",
    "screening.excluded.column": "an export column a rule of exclusion reads (matched, never printed)",
    "screening.excluded.values": "values of that column that exclude a row (matched, never printed)",
}


def _alternatives(annotation) -> tuple:
    import types
    import typing

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _is_model(annotation) -> bool:
    from pydantic import BaseModel

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _string_paths(annotation, path: tuple[str, ...]):
    import typing

    for alt in _alternatives(annotation):
        origin, args = typing.get_origin(alt), typing.get_args(alt)
        if alt is str:
            yield ".".join(path)
        elif _is_model(alt):
            for name, info in alt.model_fields.items():
                yield from _string_paths(info.annotation, (*path, name))
        elif origin is list:  # a list of X: its items are X (folded into the field's path)
            yield from _string_paths(args[0], path)
        elif origin is dict:
            for part in args:  # keys and values
                yield from _string_paths(part, (*path, "*"))


def schema_strings() -> list[str]:
    """Every place of the study-file schema that holds a string (``declarations.ethics``,
    ``authors.affiliation``, ``columns.*``, ...), found by walking the pydantic models."""
    from analysis.inputs.studyfile import _StudyModel

    return list(dict.fromkeys(_string_paths(_StudyModel, ())))


def _structural(path: str) -> bool:
    return any(path == key or (key.endswith(".*") and path.startswith(key[:-1])) for key in STRUCTURAL)


def free_text_paths() -> list[str]:
    """The schema's prose: every string but the structural ones (a new field is prose)."""
    return [path for path in schema_strings() if not _structural(path)]


def fill_study(text_of: Callable[[str], str]) -> dict:
    """A study-file mapping with every prose string of the schema set to ``text_of(path)``
    (lists get one item, or two for an author's affiliations; the author is the
    corresponding one, so the e-mail is printed)."""
    from analysis.inputs.studyfile import _StudyModel

    free = set(free_text_paths())

    def fill(model, prefix: tuple[str, ...]) -> dict:
        out: dict = {}
        for name, info in model.model_fields.items():
            path = ".".join((*prefix, name))
            alts = _alternatives(info.annotation)
            models = [a for a in alts if _is_model(a)]
            listed = [a for a in alts if typing_origin(a) is list]
            if models and any(p.startswith(path + ".") for p in free):
                out[name] = fill(models[0], (*prefix, name))
            elif listed and _is_model(listed[0].__args__[0]) and any(p.startswith(path + ".") for p in free):
                out[name] = [fill(listed[0].__args__[0], (*prefix, name))]
            elif path in free:  # one string, or several (two: numbered in the byline)
                out[name] = [text_of(path), "Second institution"] if listed else text_of(path)
        if "corresponding" in model.model_fields:
            out["corresponding"] = True
        if "count" in model.model_fields and "reason" in model.model_fields:
            out["count"] = 1  # a reason for exclusion needs its count (or a rule)
        return out

    return fill(_StudyModel, ())


def typing_origin(annotation):
    import typing

    return typing.get_origin(annotation)


# --------------------------------------------------------------------------- reading Markdown as the renderers do


def pandoc_ast(markdown: str) -> dict:
    proc = subprocess.run(
        [pandoc_path(), "-f", READER, "-t", "json"], input=markdown, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def elements(node):
    """Every Pandoc element (a dict with a "t") under ``node``."""
    if isinstance(node, dict):
        if "t" in node:
            yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def stringify(node) -> str:
    """The text of inline elements, as a reader sees it (typographic quotes made plain)."""
    if isinstance(node, list):
        return "".join(stringify(n) for n in node)
    kind, content = node["t"], node.get("c")
    if kind == "Str":
        return content.replace("\u2019", "'").replace("\u2018", "'")
    if kind in ("Space", "SoftBreak"):
        return " "
    if kind == "Quoted":
        mark = '"' if content[0]["t"] == "DoubleQuote" else "'"
        return mark + stringify(content[1]) + mark
    if kind == "Link":
        return stringify(content[1])
    return stringify(content)
