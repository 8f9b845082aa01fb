"""Runs as the aggregate tables read them: each run's record with its files read in, and the
runs as frames of numbers.

A run travels as its record (``dataset``, ``arch``, ``framework``, ``seed``: see
:mod:`mlpcompare.layout`); :func:`load_runs` adds what its jobs wrote, read from the paths the
rule declares: ``metrics`` (metrics.json), ``train`` (train.json), ``inference`` (inference.csv
rows) and ``inference_info`` (inference.json).

Diverged seeds (train.json ``status`` other than ``ok``) are left out of every figure taken over
seeds: their quality is undefined, and their time and epoch counts stop short. They still count
in ``n_seeds``, and the ``status`` column says how many there were.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pandas as pd

from mlpcompare import io
from mlpcompare.layout import RUN_KEYS

# What a run's files contribute to the tables, by the name of the rule's input that lists them
# (one path per run, in the order of the rule's ``runs`` param).
RUN_PARTS = ("metrics", "train", "inference", "inference_info")
# What the tables over runs group by (frameworks keep their first-seen order).
GROUP = ["dataset", "arch", "framework"]
METRIC_FIELDS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "test_loss")
TRAIN_FIELDS = (
    "total_seconds", "epochs_run", "steady_samples_per_s", "first_epoch_seconds",
    "time_to_target_s", "peak_rss_mb", "n_parameters", "roofline_fraction",
    "ceiling_samples_per_s", "ceiling_q1", "ceiling_q3",
)  # fmt: skip
FIGURES = [*METRIC_FIELDS, *TRAIN_FIELDS, "inference_peak_rss_mb"]
INFERENCE_FIGURES = ["p50_ms", "p90_ms", "samples_per_s"]


def load_runs(
    runs: Iterable[Mapping], inputs: Mapping, parts: Iterable[str] = RUN_PARTS
) -> list[dict]:
    """Each run record with its files of ``parts`` read into it: ``inputs[part]`` lists a path
    per run, in the order of ``runs`` (a rule's named input, such as every run's train.json)."""
    runs, parts = list(runs), list(parts)
    paths = {part: list(inputs[part]) for part in parts}
    for part, files in paths.items():
        if len(files) != len(runs):
            raise ValueError(f"{len(files)} {part} files for {len(runs)} runs")
    return [
        {key: run[key] for key in RUN_KEYS} | {part: _read(paths[part][i]) for part in parts}
        for i, run in enumerate(runs)
    ]


def _read(path: str | os.PathLike):
    return io.read_csv(path) if str(path).endswith(".csv") else io.read_json(path)


def read_loc(path: str | os.PathLike) -> dict[str, int]:
    """loc.csv as framework -> lines of code."""
    return {row["framework"]: int(row["loc"]) for row in io.read_csv(path)}


def ok(run: Mapping) -> bool:
    return run["train"]["status"] == "ok"


def run_frame(runs: list[dict]) -> pd.DataFrame:
    """One row per loaded run: its keys, ``ok``, the training ``batch_size`` and the figures of
    :data:`FIGURES` (``inference_peak_rss_mb`` from inference.json). A diverged run's figures
    are NaN, so every aggregate over seeds leaves it out; a part not loaded leaves NaN too."""
    rows = []
    for run in runs:
        train = run["train"]
        rows.append(
            {key: run[key] for key in RUN_KEYS}
            | {"ok": ok(run), "batch_size": train["training"]["batch_size"]}
            | {"device": train.get("device", "cpu")}
            | {name: run.get("metrics", {}).get(name) for name in METRIC_FIELDS}
            | {name: train.get(name) for name in TRAIN_FIELDS}
            | {"inference_peak_rss_mb": run.get("inference_info", {}).get("peak_rss_mb")}
        )
    frame = pd.DataFrame(rows, columns=[*RUN_KEYS, "ok", "batch_size", "device", *FIGURES])
    frame["ok"] = frame["ok"].astype(bool)
    frame[FIGURES] = frame[FIGURES].apply(pd.to_numeric).where(frame["ok"], axis=0)
    return frame


def inference_frame(runs: list[dict]) -> pd.DataFrame:
    """Every inference.csv row of the non-diverged runs, with the run's keys, as numbers."""
    rows = [
        {key: run[key] for key in RUN_KEYS} | {"api": row["api"], "batch_size": row["batch_size"]}
        | {name: row[name] for name in INFERENCE_FIGURES}
        for run in runs
        if ok(run)
        for row in run["inference"]
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=[*RUN_KEYS, "api", "batch_size", *INFERENCE_FIGURES])
    return frame.astype({"batch_size": "int64", **dict.fromkeys(INFERENCE_FIGURES, "float64")})
