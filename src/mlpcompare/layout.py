"""Where every artifact lives: the one module that builds results paths.

The rules build their input and output patterns with these functions (called with wildcard
strings such as ``"{dataset}"``), and every piece of Python that reads results builds the same
paths from the same functions (called with values). A run travels as a record keyed by its
wildcards (``dataset``, ``arch``, ``framework``, ``seed``), never as a position in parallel
lists, so a path cannot drift between the rule that declares a file and the code that reads it.
The studies' paths (:class:`StudyLayout`) and the sets of file names a rule writes (a run
folder's :data:`TRAIN_FILES`, :data:`EVALUATION_FILES`, ...) live here too, and nowhere else.

The paths are the public contract of ``../shared/DESIGN.md``; ``tests/test_layout.py`` pins them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlpcompare import frameworks

RUN_KEYS = ("dataset", "arch", "framework", "seed")
# The tables over the runs of one dataset x architecture (rule `tables`), by name.
ARCH_TABLES = ("quality", "significance", "performance", "inference", "per_class")
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
        """The idiomatic variant's per-seed epoch times (what devexp reads), one per framework."""
        return self._path(dataset, arch, framework, "idiomatic.json")

    # Per run.
    def run_file(self, run: Mapping, name: str) -> str:
        """File ``name`` of the run ``run`` (a record with the four run keys)."""
        return self._path(run["dataset"], run["arch"], run["framework"], f"seed{run['seed']}", name)

    def model(self, run: Mapping) -> str:
        """The trained model, in the framework's own format (registry: ``model_file``)."""
        return self.run_file(run, frameworks.get(run["framework"]).model_file)

    # Per run of the idiomatic variant: the same files as a tuned run, in a folder of their own.
    def idiomatic_run_file(self, run: Mapping, name: str) -> str:
        """File ``name`` of the idiomatic run ``run`` (a record with the four run keys)."""
        return self._path(
            run["dataset"], run["arch"], run["framework"], "idiomatic", f"seed{run['seed']}", name
        )

    def idiomatic_model(self, run: Mapping) -> str:
        """The idiomatic run's model, in the tuned run's format (registry: ``model_file``)."""
        return self.idiomatic_run_file(run, frameworks.get(run["framework"]).model_file)

    # Over everything.
    def top(self, name: str) -> str:
        """summary.csv, throughput.csv, idiomatic.csv, loc.csv, report.html."""
        return self._path(name)

    def machine(self, name: str) -> str:
        """roofline.json, environment.json: what the machine measured and is."""
        return self._path("machine", name)

    def first_use(self, framework: str) -> str:
        """What a new user of ``framework`` waits for: install size and import time."""
        return self._path("machine", "first_use", f"{framework}.json")


RESULTS = Layout()
# What a run folder holds, by the rule that writes it and by that rule's output name (the model
# file: train, registry ``model_file``; see producer()). The idiomatic runs write the same
# training and evaluation files (no ONNX export).
TRAIN_FILES = {"history": "history.csv", "train": "train.json"}
EVALUATION_FILES = {
    "metrics": "metrics.json", "predictions": "predictions.npz", "confusion": "confusion.csv",
    "inference": "inference.csv", "info": "inference.json",
}  # fmt: skip
EXPORT_FILES = {"onnx": "model.onnx"}
TOP_FILES = {"summary.csv": "summary", "serving.csv": "serving",
             "throughput.csv": "throughput", "loc.csv": "loc",
             "devexp.csv": "devexp", "idiomatic.csv": "idiomatic",
             "run.json": "provenance", "report.html": "report"}  # fmt: skip


def producer(path: str | os.PathLike, root: str = RESULTS.root) -> str | None:
    """The rule that writes ``path`` (a file under ``root``), to name in a hint such as
    ``--forcerun train_torch``; None for a file no rule writes."""
    try:
        parts = Path(path).resolve().relative_to(Path(root).resolve()).parts
    except ValueError:
        return None
    name = parts[-1]
    if parts[0] == "studies":
        return _study_producer(parts[1:])
    if len(parts) == 1:
        return TOP_FILES.get(name)
    if parts[0] == "machine":
        if len(parts) == 3 and parts[1] == "first_use":
            return f"first_use_{Path(name).stem}"
        return Path(name).stem  # roofline, environment
    if parts[1] in ("data", "eda"):
        return "split" if parts[1] == "data" else "eda"
    if len(parts) == 3:
        return "tables" if Path(name).stem in ARCH_TABLES else None
    kind, framework = parts[2], parts[2]
    if kind == "init":
        return "init"
    if kind == "plots":
        return "plots"
    if framework not in frameworks.REGISTRY:
        return None
    if name == "idiomatic.json" or (len(parts) == 6 and parts[3] == "idiomatic"):
        return f"train_idiomatic_{framework}"
    if name in TRAIN_FILES.values() or name == frameworks.get(framework).model_file:
        return f"train_{framework}"
    evaluation = (*EVALUATION_FILES.values(), *EXPORT_FILES.values())
    return f"evaluate_{framework}" if name in evaluation else None


def _study_producer(parts: tuple[str, ...]) -> str | None:
    """The rule that writes a study's file: ``{study}/...`` (see :class:`StudyLayout`)."""
    if len(parts) == 2:
        named = {"report.html": "study_report", "run.json": "study_provenance"}
        return named.get(parts[1], "study_tables")
    if len(parts) == 3:
        return "study_report" if parts[1] == "plots" else None
    if len(parts) == 4 and parts[2] == "init":
        return "study_init"
    if len(parts) == 5 and parts[2] in frameworks.REGISTRY:
        return f"study_run_{parts[2]}"
    return None


def run_pattern(framework: str, seed="{seed}") -> dict:
    """A run record whose dataset and arch (and by default seed) are wildcards, for rules."""
    return {**WILDCARDS, "framework": framework, "seed": seed}


@dataclass(frozen=True)
class StudyLayout:
    """Paths of every study's artifacts under one results folder: ``studies/{study}/``, then a
    folder per variant shaped like the main comparison's (``init/``, ``{framework}/seed{seed}/``),
    and the study's tables, figures and report. The main comparison's paths never change."""

    root: str = "results"

    def _path(self, *parts) -> str:
        return os.path.join(self.root, "studies", *(str(part) for part in parts))

    def init(self, study: str, variant: str, seed) -> str:
        return self._path(study, variant, "init", f"seed{seed}.npz")

    def run_file(self, study: str, variant: str, framework: str, seed, name: str) -> str:
        """File ``name`` (:data:`STUDY_RUN_FILES`) of one seed of ``framework`` in a variant."""
        return self._path(study, variant, framework, f"seed{seed}", name)

    def table(self, study: str, name: str) -> str:
        """One of :data:`STUDY_TABLES`: runs (one row per run), summary (per variant x
        framework), effects (per axis level)."""
        return self._path(study, f"{name}.csv")

    def figure(self, study: str, name: str) -> str:
        return self._path(study, "plots", f"{name}.png")

    def report(self, study: str) -> str:
        return self._path(study, "report.html")

    def provenance(self, study: str) -> str:
        """The study's run.json: commit, config, packages and machine its tables came from."""
        return self._path(study, "run.json")


STUDY_RESULTS = StudyLayout()
# What a study run folder holds (rule study_run_{framework}), by output name.
STUDY_RUN_FILES = {"history": "history.csv", "train": "train.json", "metrics": "metrics.json"}
# The tables of one study (rule study_tables).
STUDY_TABLES = ("runs", "summary", "effects")
