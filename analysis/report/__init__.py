"""The report: every statistic of the manuscript computed once (:mod:`.results`), its
sentences' building blocks (:mod:`.narrative`), tables (:mod:`.tables`), figures
(:mod:`.figures`), the flow diagram's counts (:mod:`.cohort_flow`), number formatting
(:mod:`.formatting`) and the JSON export (:mod:`.export`).

The top layer of the library: it may read every layer below it.
"""
