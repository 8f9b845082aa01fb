"""The figure registry: every figure's name, title and drawing function, in one place.

The rules expand their outputs from it, the report lays out what it lists, and each figure's
caption is ``report/captions/<name>.rst`` (shown by Snakemake's ``--report`` and by our HTML
report alike). Drawing functions are named, not imported, so reading the registry (every
Snakemake start does) does not load matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlpcompare import io
from mlpcompare.layout import Layout
from mlpcompare.measuring import roofline


@dataclass(frozen=True)
class Figure:
    """``draw``: ``"mlpcompare.<module>:<function>"``, called as ``function(data, path)``.

    The full module name also lets :mod:`mlpcompare.measuring.codedeps` see which code a figure runs.
    """

    title: str
    draw: str

    def function(self):
        module, name = self.draw.split(":")
        return getattr(importlib.import_module(module), name)


# Per dataset (rule `eda`): ``data`` is the split's arrays and split.json.
EDA_FIGURES = {
    "samples": Figure("Training samples", "mlpcompare.presenting.plots:sample_grid"),
    "class_balance": Figure("Class balance", "mlpcompare.presenting.plots:class_balance"),
    "pixel_stats": Figure("Input values", "mlpcompare.presenting.plots:pixel_stats"),
}
# Per dataset x architecture (rule `plots`): ``data`` is a :class:`mlpcompare.presenting.plots.ArchData`.
FIGURES = {
    "learning_curves": Figure("Learning curves", "mlpcompare.presenting.plots:learning_curves"),
    "time_to_accuracy": Figure("Time to accuracy", "mlpcompare.presenting.plots:time_to_accuracy"),
    "quality": Figure(
        "Test accuracy and macro F1", "mlpcompare.presenting.plots:quality_intervals"
    ),
    "confusion": Figure("Confusion matrices", "mlpcompare.presenting.plots:confusion_matrices"),
    "per_class_f1": Figure("Per-class F1", "mlpcompare.presenting.plots:per_class_f1"),
    "training": Figure(
        "Training time and throughput", "mlpcompare.presenting.perf_plots:training_performance"
    ),
    "inference": Figure("Inference latency", "mlpcompare.presenting.perf_plots:inference_latency"),
    "idiomatic_curves": Figure(
        "Tuned and idiomatic learning curves",
        "mlpcompare.presenting.idiomatic_plots:arch_learning_curves",
    ),
}


@dataclass
class ArchData:
    """What the figures of one dataset x architecture draw from.

    ``runs``: one record per (framework, seed) with ``train`` (train.json), ``history`` and
    ``confusion`` (CSV rows) and ``metrics`` (metrics.json); ``performance`` and ``inference``:
    the architecture's tables (rows); ``ceilings``: framework -> roofline samples/s at the batch
    size it trained with (None where not measured); ``idiomatic``: framework -> its idiomatic row
    of throughput.csv, where that variant was measured; ``quality``: the architecture's
    quality.csv rows (means and 95 % intervals); ``idiomatic_runs``: the idiomatic runs of the
    same records with ``train`` and ``history`` (empty when the variant is off).
    """

    runs: list[dict]
    performance: list[dict]
    inference: list[dict]
    ceilings: dict[str, float | None]
    idiomatic: dict[str, dict]
    quality: list[dict]
    idiomatic_runs: list[dict] = field(default_factory=list)


def read_arch_data(
    runs: list[dict], results: Layout, idiomatic_seeds: Iterable[int] = ()
) -> ArchData:
    """Read the files of one dataset x architecture (``runs``: its run records) under
    ``results``; and the training records and histories of the idiomatic runs of
    ``idiomatic_seeds`` (none: the variant is off)."""
    loaded = [
        {
            **run,
            "train": io.read_json(results.run_file(run, "train.json")),
            "history": io.read_csv(results.run_file(run, "history.csv")),
            "confusion": io.read_csv(results.run_file(run, "confusion.csv")),
            "metrics": io.read_json(results.run_file(run, "metrics.json")),
        }
        for run in runs
    ]
    dataset, arch = runs[0]["dataset"], runs[0]["arch"]
    machine = io.read_json(results.machine("roofline.json"))
    ceilings = {}
    for run in loaded:  # a framework's batch size may differ (framework_overrides)
        entry = roofline.find(machine, dataset, arch, run["train"]["training"]["batch_size"])
        ceilings.setdefault(run["framework"], entry["ceiling_samples_per_s"] if entry else None)
    return ArchData(
        runs=loaded,
        performance=io.read_csv(results.table(dataset, arch, "performance")),
        inference=io.read_csv(results.table(dataset, arch, "inference")),
        ceilings=ceilings,
        idiomatic={
            row["framework"]: row
            for row in io.read_csv(results.top("throughput.csv"))
            if (row["dataset"], row["arch"], row["variant"]) == (dataset, arch, "idiomatic")
        },
        quality=io.read_csv(results.table(dataset, arch, "quality")),
        idiomatic_runs=[
            {
                **run,
                "train": io.read_json(results.idiomatic_run_file(run, "train.json")),
                "history": io.read_csv(results.idiomatic_run_file(run, "history.csv")),
            }
            for run in runs
            if run["seed"] in idiomatic_seeds
        ],
    )


def draw(data, outputs: dict[str, str], registry: dict[str, Figure] = FIGURES) -> None:
    """Draw every figure of ``registry`` from ``data`` to ``outputs[name]``."""
    for name, figure in registry.items():
        figure.function()(data, outputs[name])
