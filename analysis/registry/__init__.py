"""What things are, declared once: the data contract's columns (:mod:`.contract`), the
concept registry of endpoints, responses, Table 1 variables, tests and options
(:mod:`.concepts`), and the toxicity groupings (:mod:`.groups`).

The bottom layer: it imports nothing else of the library, and every other layer reads it.
"""
