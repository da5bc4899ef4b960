"""cartox analysis library: load a CAR-T cohort, compute every statistic of the report."""

__version__ = "0.1.0"
