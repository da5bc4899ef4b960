"""Built-in renderer for the subset of Quarto the cartox manuscript uses.

Used when the `quarto` binary is not available (CI, minimal machines):
`python -m renderer report.qmd` reads the same `_quarto.yml`, `report.qmd` and `sections/`
and writes `_output/report.{html,pdf,docx}`. Anything outside the supported subset is an
error naming the file and line, never a silent approximation.
"""
