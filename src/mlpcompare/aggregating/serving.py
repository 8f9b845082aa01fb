"""results/serving.csv: deployment inference per framework and API (eager call, serving path,
ONNX Runtime serving the export), with the export's check against the framework."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from mlpcompare import io
from mlpcompare.aggregating.frames import cleaned, grouped, inference_medians
from mlpcompare.aggregating.runs import GROUP, inference_frame, load_runs, ok
from mlpcompare.measuring import bench

SERVING_COLUMNS = [
    "dataset", "arch", "framework", "api", "n_ok", "p50_ms_batch1", "samples_per_s_best",
    "best_batch_size", "onnx_classes_differing", "onnx_max_abs_proba_diff",
]  # fmt: skip


def serving_table(runs: list[dict]) -> pd.DataFrame:
    """serving.csv: per (dataset, arch, framework) every inference API — the eager call, the
    serving path and ONNX Runtime serving the export — with its p50 at batch 1 and samples/s
    at its best batch size (medians over the non-diverged seeds, as inference.csv). On the
    ``onnxruntime`` rows, the export's check against the framework over those seeds (inference.json
    ``onnx``): predicted classes that differ (total) and the largest probability difference."""
    infer = inference_medians(inference_frame(runs), GROUP)
    keys = [*GROUP, "api"]
    best = infer.loc[grouped(infer, keys)["samples_per_s"].idxmax()]
    table = best.rename(
        columns={"samples_per_s": "samples_per_s_best", "batch_size": "best_batch_size"}
    ).set_index(keys)
    table["p50_ms_batch1"] = infer[infer["batch_size"] == 1].set_index(keys)["p50_ms"]
    table = table.reset_index().join(onnx_checks(runs), on=GROUP)
    on_onnx = table["api"] == bench.ONNX_RUNTIME_API
    for column in ("onnx_classes_differing", "onnx_max_abs_proba_diff"):
        table[column] = table[column].where(on_onnx)
    return table[SERVING_COLUMNS].astype({"onnx_classes_differing": "Int64"})


def onnx_checks(runs: list[dict]) -> pd.DataFrame:
    """Per (dataset, arch, framework): the ONNX checks of its non-diverged seeds, pooled."""
    rows = [
        {key: run[key] for key in GROUP} | {
            "onnx_classes_differing": check["classes_differing"],
            "onnx_max_abs_proba_diff": check["max_abs_proba_diff"],
        }
        for run in runs
        if ok(run) and (check := run.get("inference_info", {}).get("onnx", {})).get("checked")
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=[*GROUP, "onnx_classes_differing", "onnx_max_abs_proba_diff"]
    )
    return grouped(frame, GROUP).agg(
        onnx_classes_differing=("onnx_classes_differing", "sum"),
        onnx_max_abs_proba_diff=("onnx_max_abs_proba_diff", "max"),
    )


def write_serving(runs: list[Mapping], inputs: Mapping, output: str | os.PathLike) -> None:
    """results/serving.csv from every run's ``train``, ``inference`` and ``inference_info``
    (``inputs``: a path per run of ``runs``)."""
    loaded = load_runs(runs, inputs, ["train", "inference", "inference_info"])
    io.write_csv(cleaned(serving_table(loaded)), output, SERVING_COLUMNS)
