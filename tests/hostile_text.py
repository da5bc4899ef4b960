"""A hostile corpus for the study file's text fields (issue 22): what a title, an author's
name or a product field could try to smuggle into the manuscript.

Every payload that would act if it were read as markup leaves a trace that the payload's
own text does not contain: a script builds "RAN-<field>" by concatenation, a file read
would bring the bytes of :data:`SECRET` (whose name is in the payload, not its contents),
a citation would print "[n]" instead of "@kaplan1958".
"""

from __future__ import annotations

from pathlib import Path

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
        "{{< env CARTOX_HOSTILE_ENV >}} {{{< env CARTOX_HOSTILE_ENV >}}}",
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
    for field in FIELDS:
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
    }
