"""The tables of one dataset x architecture over its runs: quality.csv (95 % CIs),
significance.csv (McNemar), performance.csv (medians and IQR), inference.csv and per_class.csv
(precision, recall and F1 of each class).

As in the tables over every run (:mod:`mlpcompare.aggregating.summary` and beside it; the runs
loaded by :mod:`mlpcompare.aggregating.runs`, the shared pieces in
:mod:`mlpcompare.aggregating.frames`), the table functions are pure (loaded runs in, a DataFrame
out, NaN where a figure is undefined), diverged seeds are left out of every figure but counted
in ``n_seeds``, and frameworks keep run order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from mlpcompare import io
from mlpcompare.aggregating import stats
from mlpcompare.aggregating.frames import cleaned, grouped, inference_medians, spread
from mlpcompare.aggregating.runs import inference_frame, load_runs, run_frame
from mlpcompare.layout import ARCH_TABLES

QUALITY_COLUMNS = [
    "framework", "n_seeds", "n_ok",
    "accuracy_mean", "accuracy_std", "accuracy_ci_low", "accuracy_ci_high",
    "f1_macro_mean", "f1_macro_std", "f1_macro_ci_low", "f1_macro_ci_high",
    "precision_macro_mean", "recall_macro_mean", "test_loss_mean",
]  # fmt: skip
PERFORMANCE_COLUMNS = [
    "framework", "n_ok", "train_time_s_median", "train_time_s_q1", "train_time_s_q3",
    "first_epoch_s_median", "train_samples_per_s_median", "train_samples_per_s_q1",
    "train_samples_per_s_q3", "epochs_median", "time_to_target_s_median", "reached_target",
    "peak_rss_mb_train", "peak_rss_mb_inference", "n_parameters", "roofline_fraction_median",
    "ceiling_samples_per_s_median", "ceiling_q1_median", "ceiling_q3_median",
]  # fmt: skip
INFERENCE_COLUMNS = [
    "framework", "api", "batch_size", "n_ok", "p50_ms", "p90_ms", "samples_per_s",
    "samples_per_s_q1", "samples_per_s_q3",
]  # fmt: skip
PER_CLASS_COLUMNS = [
    "framework", "class", "support", "precision_mean", "recall_mean", "f1_mean", "f1_std",
]  # fmt: skip
SIGNIFICANCE_COLUMNS = [
    "seed", "framework_a", "framework_b", "n_test", "accuracy_a", "accuracy_b",
    "b", "c", "statistic", "p_value", "p_holm",
]  # fmt: skip
# Counts that stay integers where some rows are blank.
SIGNIFICANCE_COUNTS = ("n_test", "b", "c", "statistic")
CONFIDENCE = 0.95


def _interval(values) -> pd.DataFrame:
    """``stats.t_interval`` of each group of a grouped column, as ``ci_low`` and ``ci_high``."""
    bounds = values.apply(lambda sample: stats.t_interval(sample.dropna().tolist(), CONFIDENCE))
    return pd.DataFrame(bounds.tolist(), index=bounds.index, columns=["ci_low", "ci_high"])


def quality_table(runs: list[dict]) -> pd.DataFrame:
    """quality.csv: per framework, mean, std and 95 % t-interval over seeds."""
    by_framework = grouped(run_frame(runs), ["framework"])
    table = by_framework.agg(n_seeds=("ok", "size"), n_ok=("ok", "sum"))
    for name in ("accuracy", "f1_macro"):
        values = by_framework[name]
        table[f"{name}_mean"] = values.mean()
        table[f"{name}_std"] = values.std()
        table = table.join(_interval(values).add_prefix(f"{name}_"))
    for name in ("precision_macro", "recall_macro", "test_loss"):
        table[f"{name}_mean"] = by_framework[name].mean()
    return table.reset_index()[QUALITY_COLUMNS]


def performance_table(runs: list[dict]) -> pd.DataFrame:
    """performance.csv: training time and throughput (median, IQR), time to the target accuracy
    (``reached_target``: of the non-diverged seeds, how many reached it), peak memory of
    training and inference, per framework."""
    by_framework = grouped(run_frame(runs), ["framework"])
    table = by_framework.agg(
        n_ok=("ok", "sum"),
        first_epoch_s_median=("first_epoch_seconds", "median"),
        epochs_median=("epochs_run", "median"),
        time_to_target_s_median=("time_to_target_s", "median"),
        reached=("time_to_target_s", "count"),
        peak_rss_mb_train=("peak_rss_mb", "max"),
        peak_rss_mb_inference=("inference_peak_rss_mb", "max"),
        n_parameters=("n_parameters", "max"),
        # The in-run ceiling: each run's median and quartiles over its epochs, then the median
        # over seeds, so the spread across epochs shows beside the fraction.
        roofline_fraction_median=("roofline_fraction", "median"),
        ceiling_samples_per_s_median=("ceiling_samples_per_s", "median"),
        ceiling_q1_median=("ceiling_q1", "median"),
        ceiling_q3_median=("ceiling_q3", "median"),
    )
    table = table.join(spread(by_framework["total_seconds"]).add_prefix("train_time_s_"))
    rates = spread(by_framework["steady_samples_per_s"]).add_prefix("train_samples_per_s_")
    table = table.join(rates)
    table["reached_target"] = table["reached"].astype(str) + " of " + table["n_ok"].astype(str)
    return table.reset_index()[PERFORMANCE_COLUMNS]


def inference_table(runs: list[dict]) -> pd.DataFrame:
    """inference.csv: every framework, API and batch size (medians over the seeds)."""
    table = inference_medians(inference_frame(runs), ["framework"])
    order = {name: i for i, name in enumerate(dict.fromkeys(run["framework"] for run in runs))}
    table = table.sort_values("framework", key=lambda names: names.map(order), kind="stable")
    return table.reset_index(drop=True)[INFERENCE_COLUMNS]


def per_class_table(runs: list[dict]) -> pd.DataFrame:
    """per_class.csv: per framework and class (metrics.json ``per_class``), the mean precision,
    recall and F1 over the non-diverged seeds and the F1's standard deviation."""
    rows = [
        {"framework": run["framework"], "class": name, **scores}
        for run in runs
        if run["train"]["status"] == "ok"
        for name, scores in run["metrics"]["per_class"].items()
    ]
    frame = pd.DataFrame(
        rows, columns=["framework", "class", "precision", "recall", "f1", "support"]
    )
    table = grouped(frame, ["framework", "class"]).agg(
        support=("support", "first"),
        precision_mean=("precision", "mean"),
        recall_mean=("recall", "mean"),
        f1_mean=("f1", "mean"),
        f1_std=("f1", "std"),
    )
    return table.reset_index()[PER_CLASS_COLUMNS]


def significance_table(runs: list[dict], predictions: Mapping[tuple, dict]) -> pd.DataFrame:
    """significance.csv: McNemar's exact test for every framework pair and seed, on the same
    test samples; ``p_holm`` adjusts for all the tests in the file.

    ``predictions`` maps (framework, seed) to a predictions.npz (``y_true``, ``y_pred``). A pair
    with a diverged run has no test: its row is kept with blank figures.
    """
    frame = run_frame(runs)
    ok = dict(zip(zip(frame["framework"], frame["seed"], strict=True), frame["ok"], strict=True))
    rows = []
    for seed in frame["seed"].unique():
        for fw_a, fw_b in combinations(frame["framework"].unique(), 2):
            row = {"seed": seed, "framework_a": fw_a, "framework_b": fw_b}
            if ok[(fw_a, seed)] and ok[(fw_b, seed)]:
                row |= _mcnemar(predictions[(fw_a, seed)], predictions[(fw_b, seed)], row)
            rows.append(row)
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
    table = table.astype(dict.fromkeys(SIGNIFICANCE_COUNTS, "Int64"))
    tested = table["p_value"].notna()
    table["p_holm"] = pd.Series(
        stats.holm(table.loc[tested, "p_value"].tolist()), index=table.index[tested], dtype=float
    )
    return table


def _mcnemar(pa: dict, pb: dict, key: dict) -> dict:
    """The test's figures for the paired predictions ``pa`` and ``pb`` (``key``: for errors)."""
    if not np.array_equal(pa["y_true"], pb["y_true"]):
        raise ValueError(
            f"seed {key['seed']}: {key['framework_a']} and {key['framework_b']} saw different "
            "test labels"
        )
    correct_a = pa["y_pred"] == pa["y_true"]
    correct_b = pb["y_pred"] == pb["y_true"]
    return {
        "n_test": len(correct_a),
        "accuracy_a": float(np.mean(correct_a)),
        "accuracy_b": float(np.mean(correct_b)),
        **dataclasses.asdict(stats.mcnemar_exact(correct_a, correct_b)),
    }


def write_tables(runs: list[Mapping], inputs: Mapping, outputs) -> None:
    """The tables of one dataset x arch (:data:`~mlpcompare.layout.ARCH_TABLES`) from its runs'
    files: ``inputs`` lists a path per run of ``runs`` for each of ``metrics``, ``train``,
    ``inference``, ``inference_info`` and ``predictions`` (Snakemake's named input);
    ``outputs`` has a path attribute per table name (Snakemake's named output)."""
    loaded = load_runs(runs, inputs)
    predictions = {
        (run["framework"], run["seed"]): io.read_npz(path, ["y_true", "y_pred"])
        for run, path in zip(runs, inputs["predictions"], strict=True)
    }
    made = {
        "quality": (quality_table(loaded), QUALITY_COLUMNS),
        "significance": (significance_table(loaded, predictions), SIGNIFICANCE_COLUMNS),
        "performance": (performance_table(loaded), PERFORMANCE_COLUMNS),
        "inference": (inference_table(loaded), INFERENCE_COLUMNS),
        "per_class": (per_class_table(loaded), PER_CLASS_COLUMNS),
    }
    for name in ARCH_TABLES:
        table, columns = made[name]
        io.write_csv(cleaned(table), getattr(outputs, name), columns)
