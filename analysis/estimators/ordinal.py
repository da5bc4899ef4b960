"""Ordered responses of the disease profiles (LBCL: Lugano; MM: IMWG) by toxicity group.

Pure: a prepared cohort (:func:`analysis.registry.disease_groups.prepare_disease_cohort`)
in, dataclasses out.

- :func:`response_distribution`: patients per response level in each level of a
  grouping, and a rank test across groups on the ordinal scores — Wilcoxon–Mann–Whitney
  for two groups, Kruskal–Wallis for three or more (R ``wilcox.test(score ~ group)``,
  ``kruskal.test(score ~ group)``: normal approximation with tie correction and, for two
  groups, continuity correction; :func:`analysis.estimators.comparisons.rank_test`).
- :func:`responder_rates`: a responder definition's rate per group with the Wilson score
  95% CI (R ``prop.test(k, n, correct = FALSE)$conf.int``), the difference of a two-level
  grouping with Newcombe's hybrid score CI, and chi-square/Fisher as for the B-ALL
  responses (:func:`analysis.estimators.comparisons.table_test`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.estimators.comparisons import TestResult, rank_test, table_test
from analysis.estimators.effects import ProportionDifference, newcombe_difference, reference_level, wilson_interval
from analysis.registry.disease_groups import responder_column, score_column
from analysis.registry.diseases import Profile
from analysis.registry.groups import GROUPINGS


@dataclass(frozen=True)
class DistributionLevel:
    key: str  # grouping level key
    label: str
    n: int  # patients with a known response
    counts: tuple[int, ...]  # per scale level, best first


@dataclass(frozen=True)
class ResponseDistribution:
    assessment: str
    grouping: str | None  # None: every patient
    scale: tuple[str, ...]  # level keys, best first
    levels: tuple[DistributionLevel, ...]
    result: TestResult
    not_assessed: int  # patients without a known response at this assessment


@dataclass(frozen=True)
class RateGroup:
    key: str
    label: str
    n: int
    events: int
    rate: float | None
    ci_low: float | None  # Wilson 95%
    ci_high: float | None


@dataclass(frozen=True)
class ResponderRates:
    responder: str
    assessment: str
    grouping: str | None
    groups: tuple[RateGroup, ...]
    result: TestResult
    #: exposed minus reference rate, two-level groupings only
    difference: ProportionDifference | None = None
    not_assessed: int = 0


def _levels(df: pd.DataFrame, grouping: str | None):
    if grouping is None:
        return [("all", "All patients", np.ones(len(df), dtype=bool))]
    g = GROUPINGS[grouping]
    codes = pd.Categorical(df[g.column], categories=list(g.keys)).codes
    return [(lv.key, lv.label, codes == i) for i, lv in enumerate(g.levels)]


def response_distribution(
    df: pd.DataFrame, profile: Profile, assessment: str, grouping: str | None = None
) -> ResponseDistribution:
    assert profile.scale is not None
    a = profile.assessment(assessment)
    values = df[a.column].where(df[score_column(assessment)].notna())
    scores = df[score_column(assessment)].to_numpy(dtype=float, na_value=np.nan)
    keys = profile.scale.keys
    out = []
    samples = []
    for key, label, mask in _levels(df, grouping):
        known = mask & ~np.isnan(scores)
        counts = tuple(int(np.sum(values[known] == k)) for k in keys)
        out.append(DistributionLevel(key, label, int(known.sum()), counts))
        samples.append(scores[known])
    result = rank_test(samples) if grouping is not None else TestResult(None, None, None, "no grouping: no test")
    return ResponseDistribution(assessment, grouping, keys, tuple(out), result, int(np.isnan(scores).sum()))


def responder_rates(df: pd.DataFrame, responder: str, assessment: str, grouping: str | None = None) -> ResponderRates:
    column = df[responder_column(responder, assessment)]
    known = column.notna().to_numpy()
    hit = column.fillna(False).astype(bool).to_numpy()
    groups, table = [], []
    for key, label, mask in _levels(df, grouping):
        n, k = int((mask & known).sum()), int((mask & hit).sum())
        low, high = wilson_interval(k, n) if n else (None, None)
        groups.append(RateGroup(key, label, n, k, k / n if n else None, low, high))
        table.append([k, n - k])
    difference = None
    if grouping is None:
        result = TestResult(None, None, None, "no grouping: no test")
    else:
        result = table_test(table)
        if len(groups) == 2:
            ref = reference_level(grouping)
            exposed = next(g for g in groups if g.key != ref)
            reference = next(g for g in groups if g.key == ref)
            difference = newcombe_difference(exposed.events, exposed.n, reference.events, reference.n)
    return ResponderRates(responder, assessment, grouping, tuple(groups), result, difference, int((~known).sum()))
