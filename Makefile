# cartox — two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COHORT ?= data/cohort.csv
KINETICS ?= data/kinetics.csv
CUTOFF ?= 2023-03-01

.PHONY: report test env clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

test: env
	$(BIN)/python -m pytest -q

# Quarto when the user has it; otherwise the built-in renderer (same sources, same outputs).
report: env
	@if command -v quarto >/dev/null 2>&1; then \
	  QUARTO_PYTHON="$(abspath $(BIN))/python" quarto render report.qmd \
	    -P cohort:"$(COHORT)" -P kinetics:"$(KINETICS)" -P cutoff:"$(CUTOFF)"; \
	else \
	  $(BIN)/python -m renderer report.qmd --cohort "$(COHORT)" --kinetics "$(KINETICS)" --cutoff "$(CUTOFF)"; \
	fi

clean:
	rm -rf _output .cache
