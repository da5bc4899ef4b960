"""The bundled demo: the synthetic cohort calibrated to the publication (:mod:`.synthetic`)
and the comparison of the demo's results with the published values (:mod:`.reproduction`,
``data/published.yml``). Nothing outside the demo depends on it but the report's
reproduction appendix and the command line.
"""
