"""Estimators: pure functions from data frames to typed results (dataclasses) — Kaplan–Meier
and log-rank (:mod:`.survival`), Cox and Firth models (:mod:`.cox`, :mod:`.firth`), competing
risks (:mod:`.competing`), group comparisons and effect sizes (:mod:`.comparisons`,
:mod:`.effects`), landmark analyses (:mod:`.landmark`), CAR-T kinetics (:mod:`.kinetics`),
Hodges–Lehmann location shifts (:mod:`.location`), adjusted p-values and E-values
(:mod:`.multiplicity`) and per-center summaries (:mod:`.centers`).

No prose, no plotting, no study file: they read only :mod:`analysis.registry`, so they can be
used on their own, e.g.::

    >>> import pandas as pd
    >>> from analysis.estimators.survival import kaplan_meier
"""
