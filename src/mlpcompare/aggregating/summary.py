"""results/summary.csv: one row per (dataset, arch, framework), the columns of DESIGN.md."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from mlpcompare import io
from mlpcompare.aggregating.frames import (
    cleaned,
    grouped,
    inference_medians,
    own_ceilings,
    shared_ceilings,
    status,
)
from mlpcompare.aggregating.runs import GROUP, inference_frame, load_runs, read_loc, run_frame
from mlpcompare.measuring import bench

SUMMARY_COLUMNS = [
    "dataset", "arch", "framework", "n_seeds", "accuracy_mean", "accuracy_std",
    "precision_macro_mean", "recall_macro_mean", "f1_macro_mean", "f1_macro_std",
    "train_time_s_median", "epochs_median", "train_samples_per_s_median", "roofline_fraction",
    "infer_p50_ms_batch1", "infer_samples_per_s_best", "peak_rss_mb", "loc",
    # Beyond the contract's columns: which seeds diverged (they are left out of the figures);
    # the shared ceiling that roofline_fraction divides by and what set it; the fraction of the
    # framework's own products' ceiling (its overhead over its own kernels).
    "status", "shared_ceiling_samples_per_s", "shared_ceiling_set_by", "own_ceiling_fraction",
]  # fmt: skip


def summary_table(runs: list[dict], roofline_data: dict, loc: Mapping[str, int]) -> pd.DataFrame:
    """summary.csv: one row per (dataset, arch, framework).

    Quality: mean and sample std over seeds. Times, epochs, throughput: medians over seeds.
    ``roofline_fraction``: the median steady-state samples/s over the shared ceiling of the
    run's device (:func:`~mlpcompare.aggregating.frames.shared_ceilings`: the fastest of every
    framework's in-run products, the roofline job's BLAS and every framework's training, at this
    dataset, architecture and batch size), the same yardstick for every framework.
    ``own_ceiling_fraction``: the same median over the framework's own in-run ceiling (median
    over seeds; :func:`~mlpcompare.aggregating.frames.own_ceilings`).
    Inference: the best of the framework's own APIs (eager and serving path; not ONNX Runtime,
    which serves its export: serving.csv) — p50 at batch 1 (lowest) and samples/s at the best
    batch size (highest), each a median over seeds; the per-API figures are in the
    architecture's inference.csv. ``peak_rss_mb``: the largest training peak over seeds.
    """
    frame = run_frame(runs)
    table = grouped(frame, GROUP).agg(
        n_seeds=("ok", "size"),
        n_ok=("ok", "sum"),
        batch_size=("batch_size", "first"),
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        precision_macro_mean=("precision_macro", "mean"),
        recall_macro_mean=("recall_macro", "mean"),
        f1_macro_mean=("f1_macro", "mean"),
        f1_macro_std=("f1_macro", "std"),
        train_time_s_median=("total_seconds", "median"),
        epochs_median=("epochs_run", "median"),
        train_samples_per_s_median=("steady_samples_per_s", "median"),
        peak_rss_mb=("peak_rss_mb", "max"),
        products=("ceiling_samples_per_s", "median"),
        device=("device", "first"),
    )
    table = table.reset_index()
    rate = table["train_samples_per_s_median"]
    trained_as = table["framework"] + " training"
    table = table.join(
        shared_ceilings(table.assign(rate=rate, trained_as=trained_as), roofline_data)
    )
    table["roofline_fraction"] = rate / table["shared_ceiling_samples_per_s"]
    table["own_ceiling_fraction"] = rate / own_ceilings(table["products"], rate)
    infer = inference_medians(inference_frame(runs), GROUP)
    infer = infer[infer["api"] != bench.ONNX_RUNTIME_API]
    batch1 = grouped(infer[infer["batch_size"] == 1], GROUP)["p50_ms"].min()
    table = table.join(batch1.rename("infer_p50_ms_batch1"), on=GROUP)
    best = grouped(infer, GROUP)["samples_per_s"].max()
    table = table.join(best.rename("infer_samples_per_s_best"), on=GROUP)
    table["loc"] = table["framework"].map(dict(loc)).astype("Int64")
    table["status"] = status(table["n_seeds"], table["n_ok"])
    return table[SUMMARY_COLUMNS].reset_index(drop=True)


def write_summary(runs: list[Mapping], inputs: Mapping, output: str | os.PathLike) -> None:
    """results/summary.csv from every run's files (``inputs``: ``metrics``, ``train``,
    ``inference`` and ``inference_info``, a path per run of ``runs``), the roofline
    (``inputs["roofline"]``) and the code sizes (``inputs["loc"]``)."""
    table = summary_table(
        load_runs(runs, inputs),
        io.read_json(inputs["roofline"]),
        read_loc(inputs["loc"]),
    )
    io.write_csv(cleaned(table), output, SUMMARY_COLUMNS)
