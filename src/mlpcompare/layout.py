"""Where every artifact lives: the one module that builds results paths.

The rules build their input and output patterns with these functions (called with wildcard
strings such as ``"{dataset}"``), and every piece of Python that reads results builds the same
paths from the same functions (called with values). A run travels as a record keyed by its
wildcards (``dataset``, ``arch``, ``framework``, ``seed``), never as a position in parallel
lists, so a path cannot drift between the rule that declares a file and the code that reads it.

The paths are the public contract of ``../shared/DESIGN.md``; ``tests/test_layout.py`` pins them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlpcompare import frameworks

RUN_KEYS = ("dataset", "arch", "framework", "seed")
# The tables over the runs of one dataset x architecture (rule `tables`), by name.
ARCH_TABLES = ("quality", "significance", "performance", "inference")
# What a wildcard pattern passes for each key, so the same function serves rules and readers.
WILDCARDS = {key: f"{{{key}}}" for key in RUN_KEYS}


def run_records(
    datasets: Iterable[str], archs: Iterable[str], names: Iterable[str], seeds: Iterable[int]
) -> list[dict]:
    """Every run as ``{"dataset", "arch", "framework", "seed"}``, datasets outermost."""
    archs, names, seeds = list(archs), list(names), list(seeds)
    return [
        {"dataset": d, "arch": a, "framework": fw, "seed": seed}
        for d in datasets
        for a in archs
        for fw in names
        for seed in seeds
    ]


@dataclass(frozen=True)
class Layout:
    """Paths under one results folder (``results`` in the workflow; a test's folder elsewhere)."""

    root: str = "results"

    def _path(self, *parts) -> str:
        return os.path.join(self.root, *(str(part) for part in parts))

    # Data, per dataset.
    def split(self, dataset: str) -> str:
        return self._path(dataset, "data", "split.npz")

    def split_info(self, dataset: str) -> str:
        return self._path(dataset, "data", "split.json")

    def eda(self, dataset: str, name: str) -> str:
        """``name``: stats.json, sanity.json or a figure's file name (samples.png, ...)."""
        return self._path(dataset, "eda", name)

    # Per dataset x architecture.
    def init(self, dataset: str, arch: str, seed) -> str:
        return self._path(dataset, arch, "init", f"seed{seed}.npz")

    def table(self, dataset: str, arch: str, name: str) -> str:
        """One of the tables over the architecture's runs (quality, significance, ...)."""
        return self._path(dataset, arch, f"{name}.csv")

    def figure(self, dataset: str, arch: str, name: str) -> str:
        return self._path(dataset, arch, "plots", f"{name}.png")

    def idiomatic(self, dataset: str, arch: str, framework: str) -> str:
        return self._path(dataset, arch, framework, "idiomatic.json")

    # Per run.
    def run_file(self, run: Mapping, name: str) -> str:
        """File ``name`` of the run ``run`` (a record with the four run keys)."""
        return self._path(run["dataset"], run["arch"], run["framework"], f"seed{run['seed']}", name)

    def model(self, run: Mapping) -> str:
        """The trained model, in the framework's own format (registry: ``model_file``)."""
        return self.run_file(run, frameworks.get(run["framework"]).model_file)

    # Over everything.
    def top(self, name: str) -> str:
        """summary.csv, throughput.csv, loc.csv, report.html."""
        return self._path(name)

    def machine(self, name: str) -> str:
        """roofline.json, environment.json: what the machine measured and is."""
        return self._path("machine", name)


RESULTS = Layout()


def run_pattern(framework: str, seed="{seed}") -> dict:
    """A run record whose dataset and arch (and by default seed) are wildcards, for rules."""
    return {**WILDCARDS, "framework": framework, "seed": seed}
