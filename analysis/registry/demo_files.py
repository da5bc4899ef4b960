"""The bundled synthetic demos' data files, relative to the project folder.

The B-ALL demo's cohort and kinetics table, and each disease profile's demo cohort (by
profile key; analysis.registry.diseases names them from here). A module of its own, without
imports, so that the renderer's cache key digests these files without importing pandas and
the registry (about a second of every render's start); tests/test_cache_keys.py checks that
they are the registry's demo cohorts.
"""

DEMO_COHORT_FILE = "data/cohort.csv"
DEMO_KINETICS_FILE = "data/kinetics.csv"
DISEASE_DEMO_COHORTS = {"lbcl": "data/lbcl/cohort.csv", "mm": "data/mm/cohort.csv"}
