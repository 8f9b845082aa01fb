"""The figure registry: every figure's name, title and drawing function, in one place.

The rules expand their outputs from it, the report lays out what it lists, and each figure's
caption is ``report/captions/<name>.rst`` (shown by Snakemake's ``--report`` and by our HTML
report alike). Drawing functions are named, not imported, so reading the registry (every
Snakemake start does) does not load matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mlpcompare import io


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
    "samples": Figure("Training samples", "mlpcompare.presenting.eda_plots:sample_grid"),
    "class_balance": Figure("Class balance", "mlpcompare.presenting.eda_plots:class_balance"),
    "pixel_stats": Figure("Input values", "mlpcompare.presenting.eda_plots:pixel_stats"),
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
    the architecture's tables (rows); ``ceilings``: framework -> the shared ceiling (samples/s)
    of its device and batch size, throughput.csv's ``shared_ceiling_samples_per_s`` (None where
    not measured); ``idiomatic``: framework -> its idiomatic row
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
    runs: list[dict], inputs: Mapping, idiomatic_seeds: Iterable[int] = ()
) -> ArchData:
    """Read the files of one dataset x architecture (``runs``: its run records) from the paths
    the ``plots`` rule declares (``inputs``): per run of ``runs`` its ``train``, ``history``,
    ``confusion`` and ``metrics``; the architecture's ``performance``, ``inference`` and
    ``quality`` tables, ``throughput`` and ``roofline``; and per idiomatic run (the runs of
    ``idiomatic_seeds``, none when the variant is off) its ``idiomatic_train`` and
    ``idiomatic_history``."""
    loaded = [
        {
            **run,
            "train": io.read_json(train),
            "history": io.read_csv(history),
            "confusion": io.read_csv(confusion),
            "metrics": io.read_json(metrics),
        }
        for run, train, history, confusion, metrics in zip(
            runs, inputs["train"], inputs["history"], inputs["confusion"], inputs["metrics"],
            strict=True,
        )
    ]  # fmt: skip
    dataset, arch = runs[0]["dataset"], runs[0]["arch"]
    throughput = [
        row
        for row in io.read_csv(inputs["throughput"])
        if (row["dataset"], row["arch"]) == (dataset, arch)
    ]
    # The shared ceiling of each framework's device and batch size (throughput.csv's tuned row).
    ceilings = {}
    for row in throughput:
        if row["variant"] == "tuned":
            value = row["shared_ceiling_samples_per_s"]
            ceilings[row["framework"]] = float(value) if value else None
    idiomatic_runs = [run for run in runs if run["seed"] in idiomatic_seeds]
    return ArchData(
        runs=loaded,
        performance=io.read_csv(inputs["performance"]),
        inference=io.read_csv(inputs["inference"]),
        ceilings=ceilings,
        idiomatic={row["framework"]: row for row in throughput if row["variant"] == "idiomatic"},
        quality=io.read_csv(inputs["quality"]),
        idiomatic_runs=[
            {**run, "train": io.read_json(train), "history": io.read_csv(history)}
            for run, train, history in zip(
                idiomatic_runs, inputs["idiomatic_train"], inputs["idiomatic_history"], strict=True
            )
        ],
    )


def draw(data, outputs: dict[str, str], registry: dict[str, Figure] = FIGURES) -> None:
    """Draw every figure of ``registry`` from ``data`` to ``outputs[name]``."""
    for name, figure in registry.items():
        figure.function()(data, outputs[name])
