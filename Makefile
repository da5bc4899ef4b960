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
# Disease profile (b-all, lbcl, mm); empty: the study file's `disease:`, else B-ALL.
# lbcl and mm render report-disease.qmd and supplement-disease.qmd (their bundled demo without a
# study file or cohort).
DISEASE ?=
# Formats to render, comma-separated (html,pdf,docx); empty: all of _quarto.yml.
TO ?=
# B-ALL: the manuscript and its supplement, rendered together (the supplement's STROBE
# checklist reads the manuscript's pages; both land in _output/ in one swap); LBCL and MM
# likewise; the documents of a study come from `python -m analysis document`.
# Only the settings given are passed on, so that the study file fills in the rest.
RENDER_ARGS := $(if $(STUDY),--study "$(STUDY)") $(if $(COHORT),--cohort "$(COHORT)") \
  $(if $(KINETICS),--kinetics "$(KINETICS)") $(if $(CUTOFF),--cutoff "$(CUTOFF)")
DISEASE_ARG := $(if $(DISEASE),-P disease:$(DISEASE))
QUARTO_ARGS := $(if $(STUDY),-P study:"$(STUDY)") $(if $(COHORT),-P cohort:"$(COHORT)") \
  $(if $(KINETICS),-P kinetics:"$(KINETICS)") $(if $(CUTOFF),-P cutoff:"$(CUTOFF)")

.PHONY: report preview test test-fast lint lock env clean clean-cache

env: $(VENV)/.installed

# requirements.lock pins every package with its hashes (pip then requires them); the
# project itself is installed in editable mode on top, without dependencies, for the
# `cartox` command (the lock holds setuptools, its build backend).
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

# Two test processes (pytest-xdist), whole files each; the report renders the tests read
# are produced once, in the background, shared by both (tests/conftest.py).
# Bytecode is written (into the ignored __pycache__ folders) even where the environment
# says PYTHONDONTWRITEBYTECODE: the suite starts about a hundred Python processes (command
# line, renderer, kernels), each of which would otherwise compile the library again.
test: env
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n 2 --dist loadfile

# ruff (lint and format, configured in pyproject.toml) on the whole project, mypy on analysis/.
lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Recompile requirements.lock from pyproject.toml (direct dependencies and the test extra),
# with the hashes of the files PyPI serves. Existing pins are kept unless a requirement
# changed; `make lock UPGRADE=1` upgrades everything.
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --disable-pip-version-check pip-tools==7.6.2
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(VENV)-lock/bin/pip-compile --quiet --generate-hashes \
	  --extra test --strip-extras --all-build-deps --allow-unsafe $(if $(UPGRADE),--upgrade) \
	  --index-url https://pypi.org/simple --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

# The quick loop: everything but the tests marked `slow` (renders, kernels, whole exports
# through the command line, long property runs: tests/conftest.py).
test-fast: env
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow"

# Quarto when the user has it; otherwise the built-in renderer (same sources, same outputs).
# Either way the output folder is replaced as a whole by the formats of this render.
report: env
	@if [ -z "$(STUDY)$(COHORT)" ] && [ ! -f study.yml ]; then \
	  echo "No study.yml and no STUDY= or COHORT=: rendering the bundled SYNTHETIC demo (see README, 'Your study')."; \
	fi
	@doc=$$($(BIN)/python -m analysis document $(if $(STUDY),--study "$(STUDY)") $(if $(DISEASE),--disease "$(DISEASE)")) \
	  || exit 1; \
	if command -v quarto >/dev/null 2>&1; then \
	  QUARTO_PYTHON="$(abspath $(BIN))/python" $(BIN)/python -m renderer.quarto $$doc $(if $(TO),--to "$(TO)") -- \
	    $(QUARTO_ARGS) $(DISEASE_ARG); \
	else \
	  $(BIN)/python -m renderer $$doc $(if $(TO),--to "$(TO)") $(RENDER_ARGS) $(DISEASE_ARG); \
	fi

# Re-render the HTML into _preview/ on every save (sources, study file, data), using the cache.
preview: env
	$(BIN)/python -m renderer.preview report.qmd $(RENDER_ARGS)

clean:
	rm -rf _output _preview .cache $(VENV)-lock

# The execution cache holds the analysed data (patient identifiers included): remove it
# before copying or sharing the project folder.
clean-cache:
	rm -rf .cache
