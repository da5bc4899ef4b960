# cartox — two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COHORT ?= data/cohort.csv
KINETICS ?= data/kinetics.csv
CUTOFF ?= 2023-03-01
# Formats to render, comma-separated (html,pdf,docx); empty: all of _quarto.yml.
TO ?=

.PHONY: report preview test env clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

test: env
	$(BIN)/python -m pytest -q

# Quarto when the user has it; otherwise the built-in renderer (same sources, same outputs).
# Either way the output folder is replaced as a whole by the formats of this render.
report: env
	@if command -v quarto >/dev/null 2>&1; then \
	  QUARTO_PYTHON="$(abspath $(BIN))/python" $(BIN)/python -m renderer.quarto report.qmd $(if $(TO),--to "$(TO)") -- \
	    -P cohort:"$(COHORT)" -P kinetics:"$(KINETICS)" -P cutoff:"$(CUTOFF)"; \
	else \
	  $(BIN)/python -m renderer report.qmd $(if $(TO),--to "$(TO)") --cohort "$(COHORT)" --kinetics "$(KINETICS)" --cutoff "$(CUTOFF)"; \
	fi

# Re-render the HTML into _preview/ on every save (sources, study file, data), using the cache.
preview: env
	$(BIN)/python -m renderer.preview report.qmd --cohort "$(COHORT)" --kinetics "$(KINETICS)" --cutoff "$(CUTOFF)"

clean:
	rm -rf _output _preview .cache
