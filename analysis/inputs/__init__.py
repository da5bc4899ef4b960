"""Data in: reading a registry export (:mod:`.readers`), proposing a mapping onto the
contract (:mod:`.mapping`), checking it (:mod:`.rules`, :mod:`.problems`), the study file
(:mod:`.studyfile`) and the validated study (:mod:`.loading`).

Reads only :mod:`analysis.registry`.
"""
