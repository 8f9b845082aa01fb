# Two commands set up a fresh machine: `make run` and `make test`. Both reuse .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean

# Reinstall only when a requirements file or the package metadata changed.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores 8

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src scripts tests
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs benchmarks .snakemake
