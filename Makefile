# Two commands set up a fresh machine: `make run` and `make test`. Both reuse .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The local dataset mirror beside the checkout, if there is one. Empty (no ../shared/datasets)
# means no `mirror` key: the download rule then uses the official URLs (SHA-256 checked either
# way); `mirror=` with nothing after it would be an empty string, which the schema refuses.
MIRROR ?= $(firstword $(wildcard ../shared/datasets))

.PHONY: run test bench test-cluster lint clean

# Reinstall only when a requirements file or constraints.txt (every transitive pin) changed. The
# package itself is not installed: the workflow imports src/mlpcompare from its own checkout
# (rules/common.smk), pytest likewise (pyproject.toml), so a copy of the repository always runs
# its own code.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores 8

test: $(STAMP)
	$(BIN)/python -m pytest

# The MNIST comparison (every framework x 3 seeds, tuned and idiomatic), then its training
# throughput table with roofline fractions and the test accuracy of each framework. PYTHONPATH: the package is not installed (above).
bench: $(STAMP)
	$(BIN)/snakemake --cores 8 --config datasets='[mnist]' $(if $(MIRROR),mirror=$(MIRROR))
	PYTHONPATH=src $(BIN)/python -m mlpcompare.aggregating.throughput_table results/throughput.csv results/summary.csv

# The workflow through a real single-node SLURM with fake GPUs (profiles/slurm). Needs root and
# apt-get: installs and starts munge and SLURM, and stops them again (README: Running on a SLURM cluster).
test-cluster: $(STAMP)
	SNAKEMAKE=$(BIN)/snakemake bash tests/cluster/run.sh

lint: $(STAMP)
	$(BIN)/ruff check src scripts tests tools
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs benchmarks .snakemake
