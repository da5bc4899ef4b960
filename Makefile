# cartox — two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Empty means "not given": the study file (STUDY, else study.yml when present) decides,
# else the bundled synthetic demo. KINETICS=none: no kinetics table.
STUDY ?=
COHORT ?=
KINETICS ?=
CUTOFF ?=
# Formats to render, comma-separated (html,pdf,docx); empty: all of _quarto.yml.
TO ?=
# Only the settings given are passed on, so that the study file fills in the rest.
RENDER_ARGS := $(if $(STUDY),--study "$(STUDY)") $(if $(COHORT),--cohort "$(COHORT)") \
  $(if $(KINETICS),--kinetics "$(KINETICS)") $(if $(CUTOFF),--cutoff "$(CUTOFF)")
QUARTO_ARGS := $(if $(STUDY),-P study:"$(STUDY)") $(if $(COHORT),-P cohort:"$(COHORT)") \
  $(if $(KINETICS),-P kinetics:"$(KINETICS)") $(if $(CUTOFF),-P cutoff:"$(CUTOFF)")

.PHONY: report preview test test-fast env clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

test: env
	$(BIN)/python -m pytest -q

# Everything but the tests that render the whole report (marked `slow`).
test-fast: env
	$(BIN)/python -m pytest -q -m "not slow"

# Quarto when the user has it; otherwise the built-in renderer (same sources, same outputs).
# Either way the output folder is replaced as a whole by the formats of this render.
report: env
	@if [ -z "$(STUDY)$(COHORT)" ] && [ ! -f study.yml ]; then \
	  echo "No study.yml and no STUDY= or COHORT=: rendering the bundled SYNTHETIC demo (see README, 'Your study')."; \
	fi
	@if command -v quarto >/dev/null 2>&1; then \
	  QUARTO_PYTHON="$(abspath $(BIN))/python" $(BIN)/python -m renderer.quarto report.qmd $(if $(TO),--to "$(TO)") -- \
	    $(QUARTO_ARGS); \
	else \
	  $(BIN)/python -m renderer report.qmd $(if $(TO),--to "$(TO)") $(RENDER_ARGS); \
	fi

# Re-render the HTML into _preview/ on every save (sources, study file, data), using the cache.
preview: env
	$(BIN)/python -m renderer.preview report.qmd $(RENDER_ARGS)

clean:
	rm -rf _output _preview .cache
