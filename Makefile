# Two commands set up a fresh machine: `make run` and `make test`. Both reuse .venv.
PYTHON ?= python3.11

# DEVICE=cuda (make run DEVICE=cuda, make test DEVICE=cuda, ...): the GPU set-up, in a venv of its
# own, .venv-cuda, from requirements-cuda.txt (the CUDA builds of PyTorch, TensorFlow and JAX;
# Linux x86_64 with an NVIDIA driver), and the workflow with device=cuda (docs/installation.md).
# Its own venv: tensorflow-cpu and tensorflow cannot share one, and a venv switched between the
# two sets would be neither. The package goes in with --no-deps there, as its declared
# dependencies are requirements.txt's, tensorflow-cpu included.
DEVICE ?=
ifeq ($(DEVICE),cuda)
VENV := .venv-cuda
REQUIREMENTS := requirements-cuda.txt
CONSTRAINTS := constraints.txt constraints-cuda.txt
PACKAGE_FLAGS := --no-deps
DEVICE_CONFIG := device=cuda
else ifeq ($(DEVICE),)
VENV := .venv
REQUIREMENTS := requirements.txt
CONSTRAINTS := constraints.txt
else
$(error DEVICE is cuda or unset (the CPU set-up), not '$(DEVICE)')
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The local dataset mirror beside the checkout, if there is one. Empty (no ../shared/datasets)
# means no `mirror` key: the download rule then uses the official URLs (SHA-256 checked either
# way); `mirror=` with nothing after it would be an empty string, which the schema refuses.
MIRROR ?= $(firstword $(wildcard ../shared/datasets))

.PHONY: run resume test bench findings memory test-cluster lint clean

# Reinstall only when a requirements file, constraints.txt (every transitive pin) or pyproject.toml
# changed. Then the package, editable, for the `mlpcompare` command (docs/command.md); its pins
# are those just installed, and --no-build-isolation builds it with the venv's own setuptools
# (no download). The workflow still imports src/mlpcompare from its own checkout
# (rules/common.smk), pytest likewise (pyproject.toml).
$(STAMP): $(REQUIREMENTS) requirements-dev.txt $(CONSTRAINTS) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS) -r requirements-dev.txt $(addprefix -c ,$(CONSTRAINTS))
	$(BIN)/python -m pip install --quiet --no-build-isolation $(PACKAGE_FLAGS) -e . -c constraints.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores 8 $(if $(DEVICE_CONFIG),--config $(DEVICE_CONFIG))

# After a hard stop (power loss, the OOM killer, SIGKILL): unlock, but only when no Snakemake
# process still runs here, then rerun the cut-off jobs and the rest (docs/troubleshooting.md).
# ARGS: the options the stopped run had, e.g. make resume ARGS='--configfile my.yaml'.
resume: $(STAMP)
	PYTHONPATH=src $(BIN)/python -m mlpcompare.resume --cores 8 $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

# The MNIST comparison (every framework x 3 seeds, tuned and idiomatic), then its training
# throughput table with roofline fractions and the test accuracy of each framework.
# PYTHONPATH: this checkout's package, ahead of any installed one.
bench: $(STAMP)
	$(BIN)/snakemake --cores 8 --config datasets='[mnist]' $(DEVICE_CONFIG) $(if $(MIRROR),mirror=$(MIRROR))
	PYTHONPATH=src $(BIN)/python -m mlpcompare.aggregating.throughput_table results/throughput.csv results/summary.csv

# docs/findings.md from the studies' tables: each finished study under results/studies/ copied
# into docs/findings/, the best recipe chosen on validation accuracy, then the page written from
# the committed files (docs/studies.md). Forced: seconds of work, and the copies must follow the
# results even where Snakemake's records of them are from another checkout.
findings: $(STAMP)
	$(BIN)/snakemake --cores 1 findings --forcerun findings_tables findings_page

# Each framework's peak memory while training MNIST at three sizes, beside the start-up estimate
# (docs/memory.csv, read by tests/test_limits.py; docs/troubleshooting.md). Minutes of CPU.
memory: $(STAMP)
	$(BIN)/python tools/measure_memory.py $(if $(MIRROR),--mirror $(MIRROR))

# The workflow through a real single-node SLURM with fake GPUs (profiles/slurm). Needs root and
# apt-get: installs and starts munge and SLURM, and stops them again (docs/cluster-and-gpu.md).
test-cluster: $(STAMP)
	SNAKEMAKE=$(BIN)/snakemake bash tests/cluster/run.sh

lint: $(STAMP)
	$(BIN)/ruff check src scripts tests tools
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs benchmarks .snakemake
