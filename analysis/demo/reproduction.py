"""Published-vs-computed reproduction table.

``analysis/demo/data/published.yml`` (package data) lists every number of the publication that the library can
recompute, each with a ``path`` into the results JSON (``docs/results.md``).
:func:`reproduce` looks every path up in a results dictionary and classifies the match:

- ``exact``: the computed value, rounded to the printed precision, equals the printed
  value (a p-value printed as ``< 0.001`` is matched exactly by any computed p < 0.001);
- ``within 10%``: relative difference at most 10%;
- ``differs``: otherwise;
- ``not computed``: no path, or the results hold no number there.

For p-values ``conclusion_agrees`` says whether both sides fall on the same side of the
default alpha (0.05, :data:`analysis.registry.concepts.OPTIONS`), the level the publication tested at.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from analysis.registry.concepts import OPTIONS

TOLERANCE = 0.10
STATUSES = ("exact", "within 10%", "differs", "not computed")
_QUALIFIED = re.compile(r"^\s*([<>]=?|≤|≥)\s*([0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class PublishedValue:
    id: str
    description: str
    where: str
    kind: str  # count, year, percent, median, min, max, p, hr, ci_low, ci_high, months
    published: float
    qualifier: str | None  # "<" for a p printed as "< 0.001", else None
    decimals: int  # printed precision
    path: str | None  # into the results JSON; None when the library does not compute it
    printed: str | None = None  # the text as printed, when it differs from the reading
    note: str | None = None


@dataclass(frozen=True)
class ReproductionRow:
    id: str
    description: str
    where: str
    kind: str
    path: str | None
    published: float
    qualifier: str | None
    computed: float | None
    difference: float | None  # computed - published
    relative_difference: float | None
    status: str
    conclusion_agrees: bool | None  # p-values only


@dataclass(frozen=True)
class ReproductionSummary:
    total: int
    exact: int
    within_10pct: int  # not exact, but within 10%
    differs: int
    not_computed: int
    p_values: int  # p-values with a computed value
    conclusions_agree: int
    #: the level both conclusions are read at: the default alpha, at which the publication tested
    alpha: float = OPTIONS["alpha"].default

    @property
    def alpha_level(self) -> str:
        """'5%'."""
        return f"{self.alpha * 100:g}%"


@dataclass(frozen=True)
class ReproductionTable:
    rows: tuple[ReproductionRow, ...]
    summary: ReproductionSummary

    def to_records(self) -> list[dict]:
        return [row.__dict__.copy() for row in self.rows]


def _decimals(value) -> int:
    text = repr(float(value))
    return 0 if float(value).is_integer() else len(text.split(".")[1]) if "e" not in text else 6


def _parse_value(raw) -> tuple[float, str | None]:
    if isinstance(raw, str):
        m = _QUALIFIED.match(raw)
        if m:
            op = {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
            return float(m.group(2)), op
        return float(raw), None
    return float(raw), None


#: The publication's numbers with where they are printed, shipped inside the package.
PUBLISHED_VALUES = files("analysis.demo") / "data" / "published.yml"


def load_published(path: str | Path | None = None) -> tuple[PublishedValue, ...]:
    """Read ``published.yml`` (a list of mappings; see ``data/README.md``): the package's own
    (:data:`PUBLISHED_VALUES`) unless another file is given."""
    source = PUBLISHED_VALUES if path is None else Path(path)
    entries = yaml.safe_load(source.read_text(encoding="utf-8"))
    if isinstance(entries, dict):
        entries = entries["values"]
    out, seen = [], set()
    for e in entries:
        if e["id"] in seen:
            raise ValueError(f"duplicate id in {path}: {e['id']}")
        seen.add(e["id"])
        value, qualifier = _parse_value(e["published"])
        out.append(
            PublishedValue(
                id=e["id"],
                description=e["description"],
                where=e["where"],
                kind=e["kind"],
                published=value,
                qualifier=qualifier,
                decimals=int(e["decimals"]) if "decimals" in e else _decimals(value),
                path=e.get("path"),
                printed=e.get("printed"),
                note=e.get("note"),
            )
        )
    return tuple(out)


def lookup(results: dict, path: str | None) -> float | None:
    """The number at a dotted path of the results dictionary, or None."""
    if not path:
        return None
    node = results
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return None if math.isnan(float(node)) else float(node)


def _status(pub: PublishedValue, computed: float) -> str:
    if pub.qualifier in ("<", "<="):
        exact = computed < pub.published if pub.qualifier == "<" else computed <= pub.published
    elif pub.qualifier in (">", ">="):
        exact = computed > pub.published if pub.qualifier == ">" else computed >= pub.published
    else:
        # round half away from zero on a decimal string, as printed tables do
        exact = math.isclose(_round_half_up(computed, pub.decimals), pub.published, abs_tol=1e-9)
    if exact:
        return "exact"
    denom = abs(pub.published)
    rel = abs(computed - pub.published) / denom if denom else math.inf
    return "within 10%" if rel <= TOLERANCE else "differs"


def _round_half_up(x: float, decimals: int) -> float:
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def reproduce_results(exported: dict) -> ReproductionTable:
    """The publication's numbers (:data:`PUBLISHED_VALUES`) against those of a report's results,
    given as their JSON export (:func:`analysis.report.export.results_to_dict`, keys in
    ``docs/results.md``): the demo reads the report's output and imports nothing of it."""
    return reproduce(exported, load_published())


def reproduce(results: dict, published) -> ReproductionTable:
    """Compare every published value with the results dictionary."""
    if isinstance(published, (str, Path)):
        published = load_published(published)
    rows = []
    for pub in published:
        computed = lookup(results, pub.path)
        diff = rel = agrees = None
        row_status = "not computed"
        if computed is not None:
            diff = computed - pub.published
            rel = diff / abs(pub.published) if pub.published else None
            row_status = _status(pub, computed)
            if pub.kind == "p":
                alpha = ReproductionSummary.alpha  # the publication tested at the default level
                agrees = (pub.published < alpha) == (computed < alpha)
        rows.append(
            ReproductionRow(
                pub.id,
                pub.description,
                pub.where,
                pub.kind,
                pub.path,
                pub.published,
                pub.qualifier,
                computed,
                diff,
                rel,
                row_status,
                agrees,
            )
        )
    status = [r.status for r in rows]
    p_rows = [r for r in rows if r.conclusion_agrees is not None]
    summary = ReproductionSummary(
        total=len(rows),
        exact=status.count("exact"),
        within_10pct=status.count("within 10%"),
        differs=status.count("differs"),
        not_computed=status.count("not computed"),
        p_values=len(p_rows),
        conclusions_agree=sum(bool(r.conclusion_agrees) for r in p_rows),
    )
    return ReproductionTable(tuple(rows), summary)
