"""Many runs into a few tables: summary.csv, throughput.csv (training throughput of the tuned
trainers and of the idiomatic variant), and per dataset x architecture the quality (95 % CIs),
significance (McNemar), performance (medians and IQR) and inference tables.

A *run* here is one (dataset, arch, framework, seed) as a dict of what its jobs wrote:
``metrics`` (metrics.json), ``train`` (train.json), ``inference`` (inference.csv rows) and
``inference_info`` (inference.json). The table functions are pure; :func:`load_runs` reads files.

Diverged seeds (train.json ``status`` other than ``ok``) are left out of every figure taken over
seeds: their quality is undefined, and their time and epoch counts stop short. They still count
in ``n_seeds``, and the ``status`` column says how many there were.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable
from itertools import combinations

import numpy as np

from mlpcompare import io, roofline, stats

SUMMARY_COLUMNS = [
    "dataset", "arch", "framework", "n_seeds", "accuracy_mean", "accuracy_std",
    "precision_macro_mean", "recall_macro_mean", "f1_macro_mean", "f1_macro_std",
    "train_time_s_median", "epochs_median", "train_samples_per_s_median", "roofline_fraction",
    "infer_p50_ms_batch1", "infer_samples_per_s_best", "peak_rss_mb", "loc",
    # Beyond the contract's columns: which seeds diverged (they are left out of the figures).
    "status",
]  # fmt: skip
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
    "peak_rss_mb_train", "peak_rss_mb_inference",
]  # fmt: skip
INFERENCE_COLUMNS = ["framework", "api", "batch_size", "n_ok", "p50_ms", "p90_ms", "samples_per_s"]
SIGNIFICANCE_COLUMNS = [
    "seed", "framework_a", "framework_b", "n_test", "accuracy_a", "accuracy_b",
    "b", "c", "statistic", "p_value", "p_holm",
]  # fmt: skip
THROUGHPUT_COLUMNS = [
    "dataset", "arch", "framework", "variant", "api", "n_seeds", "samples_per_s_median",
    "samples_per_s_q1", "samples_per_s_q3", "roofline_fraction", "ceiling_samples_per_s",
    "slowdown_vs_tuned",
]  # fmt: skip
# How the tuned trainers (the accuracy reference) train, for throughput.csv's api column; the
# idiomatic variant names its own path in idiomatic.json.
TUNED_APIS = {
    "numpy": "numpy_mlp.Trainer: buffers allocated once, arrays indexed by the shared permutation",
    "torch": "torch_mlp.Trainer: tensors indexed by the shared permutation, fused Adam/SGD",
    "keras": "keras_mlp.Trainer: tensors indexed by the shared permutation, epoch in one tf.function",
}
CONFIDENCE = 0.95


def ok(run: dict) -> bool:
    return run["train"]["status"] == "ok"


def _clean(value):
    """Tables hold numbers or blanks: NaN and None become an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return float(f"{value:.6g}")  # six significant digits: what the measurements support
    return value


def _row(values: dict, columns: list[str]) -> dict:
    return {column: _clean(values.get(column)) for column in columns}


def groups(runs: Iterable[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    """Runs grouped by the values of ``keys``, groups and runs in first-seen order."""
    grouped: dict[tuple, list[dict]] = {}
    for run in runs:
        grouped.setdefault(tuple(run[k] for k in keys), []).append(run)
    return grouped


def status(runs: list[dict]) -> str:
    """ "ok", or how many seeds diverged, e.g. "diverged (1 of 3 seeds)"."""
    bad = sum(not ok(run) for run in runs)
    return "ok" if bad == 0 else f"diverged ({bad} of {len(runs)} seeds)"


def _metric(runs: list[dict], name: str) -> list[float]:
    return [run["metrics"][name] for run in runs if ok(run)]


def _train(runs: list[dict], name: str) -> list[float]:
    return [run["train"][name] for run in runs if ok(run) and run["train"][name] is not None]


def inference_medians(runs: list[dict]) -> list[dict]:
    """Per API and batch size: medians over the non-diverged seeds of p50, p90 and samples/s."""
    cases: dict[tuple, list[dict]] = {}
    for run in runs:
        if ok(run):
            for row in run["inference"]:
                cases.setdefault((row["api"], int(row["batch_size"])), []).append(row)
    return [
        {
            "api": api,
            "batch_size": batch,
            "n_ok": len(rows),
            "p50_ms": stats.median([float(r["p50_ms"]) for r in rows]),
            "p90_ms": stats.median([float(r["p90_ms"]) for r in rows]),
            "samples_per_s": stats.median([float(r["samples_per_s"]) for r in rows]),
        }
        for (api, batch), rows in cases.items()
    ]


def summary_row(runs: list[dict], roofline_data: dict, loc: dict[str, int]) -> dict:
    """One summary.csv row for the seeds of one (dataset, arch, framework).

    Quality: mean and sample std over seeds. Times, epochs, throughput: medians over seeds.
    ``roofline_fraction``: median steady-state training samples/s over the ceiling measured for
    this dataset, architecture and the framework's batch size. Inference: the best API's p50 at
    batch 1 (lowest) and samples/s at the best batch size (highest), each a median over seeds;
    the per-API figures are in the architecture's inference.csv. ``peak_rss_mb``: the largest
    training peak over seeds.
    """
    first = runs[0]
    samples_per_s = stats.median(_train(runs, "steady_samples_per_s"))
    entry = roofline.find(
        roofline_data, first["dataset"], first["arch"], first["train"]["training"]["batch_size"]
    )
    infer = inference_medians(runs)
    batch1 = [row["p50_ms"] for row in infer if row["batch_size"] == 1]
    values = {
        "dataset": first["dataset"],
        "arch": first["arch"],
        "framework": first["framework"],
        "n_seeds": len(runs),
        "accuracy_mean": stats.mean(_metric(runs, "accuracy")),
        "accuracy_std": stats.std(_metric(runs, "accuracy")),
        "precision_macro_mean": stats.mean(_metric(runs, "precision_macro")),
        "recall_macro_mean": stats.mean(_metric(runs, "recall_macro")),
        "f1_macro_mean": stats.mean(_metric(runs, "f1_macro")),
        "f1_macro_std": stats.std(_metric(runs, "f1_macro")),
        "train_time_s_median": stats.median(_train(runs, "total_seconds")),
        "epochs_median": stats.median(_train(runs, "epochs_run")),
        "train_samples_per_s_median": samples_per_s,
        "roofline_fraction": samples_per_s / entry["ceiling_samples_per_s"] if entry else None,
        "infer_p50_ms_batch1": min(batch1, default=None),
        "infer_samples_per_s_best": max((r["samples_per_s"] for r in infer), default=None),
        "peak_rss_mb": max(_train(runs, "peak_rss_mb"), default=None),
        "loc": loc.get(first["framework"]),
        "status": status(runs),
    }
    return _row(values, SUMMARY_COLUMNS)


def summary_rows(runs: list[dict], roofline_data: dict, loc: dict[str, int]) -> list[dict]:
    """summary.csv: one row per (dataset, arch, framework)."""
    grouped = groups(runs, ("dataset", "arch", "framework"))
    return [summary_row(group, roofline_data, loc) for group in grouped.values()]


def throughput_row(
    key: tuple[str, str, str], variant: str, api: str, rates: list[float], entry: dict | None,
    tuned_median: float,
) -> dict:  # fmt: skip
    """One throughput.csv row: median and quartiles of ``rates`` (one per seed), the fraction of
    the roofline ``entry``'s ceiling, and ``slowdown_vs_tuned`` = tuned median / this median."""
    median = stats.median(rates)
    ceiling = entry["ceiling_samples_per_s"] if entry else None
    q1, q3 = stats.quartiles(rates)
    values = {
        **dict(zip(("dataset", "arch", "framework"), key, strict=True)),
        "variant": variant,
        "api": api,
        "n_seeds": len(rates),
        "samples_per_s_median": median,
        "samples_per_s_q1": q1,
        "samples_per_s_q3": q3,
        "roofline_fraction": median / ceiling if ceiling else None,
        "ceiling_samples_per_s": ceiling,
        "slowdown_vs_tuned": tuned_median / median if median > 0 else None,
    }
    return _row(values, THROUGHPUT_COLUMNS)


def throughput_rows(runs: list[dict], idiomatic: list[dict], roofline_data: dict) -> list[dict]:
    """throughput.csv: per (dataset, arch, framework) a ``tuned`` row, then an ``idiomatic``
    row where that variant was measured. ``n_seeds``: the seeds the median is taken over.

    ``tuned``: each non-diverged seed's steady-state samples/s (train.json; diverged seeds are
    left out as in summary.csv). ``idiomatic``: one idiomatic.json per (dataset, arch,
    framework) with its key, each seed's steady samples/s. The ceiling is the roofline entry at
    the batch size the variant trained with; ``slowdown_vs_tuned`` is the tuned median over the
    variant's (2 = the variant trains half as fast; the tuned row is 1 by definition).
    """
    measured = {(r["dataset"], r["arch"], r["framework"]): r for r in idiomatic}
    rows = []
    for key, group in groups(runs, ("dataset", "arch", "framework")).items():
        dataset, arch, framework = key
        tuned = _train(group, "steady_samples_per_s")
        tuned_median = stats.median(tuned)
        batch = group[0]["train"]["training"]["batch_size"]
        entry = roofline.find(roofline_data, dataset, arch, batch)
        api = TUNED_APIS.get(framework, "")
        rows.append(throughput_row(key, "tuned", api, tuned, entry, tuned_median))
        if key in measured:
            record = measured[key]
            rates = [seed["steady_samples_per_s"] for seed in record["seeds"]]
            batch = record["training"]["batch_size"]
            entry = roofline.find(roofline_data, dataset, arch, batch)
            rows.append(throughput_row(key, "idiomatic", record["api"], rates, entry, tuned_median))
    return rows


def quality_rows(runs: list[dict]) -> list[dict]:
    """quality.csv of one dataset x arch: per framework, mean, std and 95 % t-interval over seeds."""
    rows = []
    for (framework,), group in groups(runs, ("framework",)).items():
        values = {"framework": framework, "n_seeds": len(group), "n_ok": sum(map(ok, group))}
        for name in ("accuracy", "f1_macro"):
            sample = _metric(group, name)
            low, high = stats.t_interval(sample, CONFIDENCE)
            values |= {
                f"{name}_mean": stats.mean(sample),
                f"{name}_std": stats.std(sample),
                f"{name}_ci_low": low,
                f"{name}_ci_high": high,
            }
        for name in ("precision_macro", "recall_macro", "test_loss"):
            values[f"{name}_mean"] = stats.mean(_metric(group, name))
        rows.append(_row(values, QUALITY_COLUMNS))
    return rows


def performance_rows(runs: list[dict]) -> list[dict]:
    """performance.csv of one dataset x arch: training time and throughput (median, IQR),
    time to the target accuracy, peak memory of training and inference, per framework."""
    rows = []
    for (framework,), group in groups(runs, ("framework",)).items():
        good = [run for run in group if ok(run)]
        times = _train(group, "total_seconds")
        rates = _train(group, "steady_samples_per_s")
        reached = _train(group, "time_to_target_s")
        values = {
            "framework": framework,
            "n_ok": len(good),
            "train_time_s_median": stats.median(times),
            "first_epoch_s_median": stats.median(_train(group, "first_epoch_seconds")),
            "train_samples_per_s_median": stats.median(rates),
            "epochs_median": stats.median(_train(group, "epochs_run")),
            "time_to_target_s_median": stats.median(reached),
            "reached_target": f"{len(reached)} of {len(good)}",
            "peak_rss_mb_train": max(_train(group, "peak_rss_mb"), default=None),
            "peak_rss_mb_inference": max(
                (run["inference_info"]["peak_rss_mb"] for run in good), default=None
            ),
        }
        values["train_time_s_q1"], values["train_time_s_q3"] = stats.quartiles(times)
        q1, q3 = stats.quartiles(rates)
        values["train_samples_per_s_q1"], values["train_samples_per_s_q3"] = q1, q3
        rows.append(_row(values, PERFORMANCE_COLUMNS))
    return rows


def inference_rows(runs: list[dict]) -> list[dict]:
    """inference.csv of one dataset x arch: every framework, API and batch size (seed medians)."""
    return [
        _row({"framework": framework, **row}, INFERENCE_COLUMNS)
        for (framework,), group in groups(runs, ("framework",)).items()
        for row in inference_medians(group)
    ]


def significance_rows(runs: list[dict], predictions: dict[tuple[str, int], dict]) -> list[dict]:
    """significance.csv of one dataset x arch: McNemar's exact test for every framework pair and
    seed, on the same test samples; ``p_holm`` adjusts for all the tests in the file.

    ``predictions`` maps (framework, seed) to a predictions.npz (``y_true``, ``y_pred``). A pair
    with a diverged run has no test: its row is kept with blank figures.
    """
    by_key = {(run["framework"], run["seed"]): run for run in runs}
    frameworks = list(dict.fromkeys(run["framework"] for run in runs))
    seeds = list(dict.fromkeys(run["seed"] for run in runs))
    values = []
    for seed in seeds:
        for fw_a, fw_b in combinations(frameworks, 2):
            row = {"seed": seed, "framework_a": fw_a, "framework_b": fw_b}
            if ok(by_key[(fw_a, seed)]) and ok(by_key[(fw_b, seed)]):
                pa, pb = predictions[(fw_a, seed)], predictions[(fw_b, seed)]
                if not np.array_equal(pa["y_true"], pb["y_true"]):
                    raise ValueError(f"seed {seed}: {fw_a} and {fw_b} saw different test labels")
                correct_a = pa["y_pred"] == pa["y_true"]
                correct_b = pb["y_pred"] == pb["y_true"]
                test = stats.mcnemar_exact(correct_a, correct_b)
                row |= {
                    "n_test": len(correct_a),
                    "accuracy_a": float(np.mean(correct_a)),
                    "accuracy_b": float(np.mean(correct_b)),
                    **dataclasses.asdict(test),
                }
            values.append(row)
    tested = [i for i, row in enumerate(values) if "p_value" in row]
    for i, p in zip(tested, stats.holm([values[i]["p_value"] for i in tested]), strict=True):
        values[i]["p_holm"] = p
    return [_row(row, SIGNIFICANCE_COLUMNS) for row in values]


def read_csv(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def load_runs(keys: list[dict], *, metrics, train, inference, inference_info) -> list[dict]:
    """Read the files of every run; ``keys`` (dataset, arch, framework, seed) and the path lists
    are in the same order."""
    return [
        {
            **key,
            "metrics": io.read_json(m),
            "train": io.read_json(t),
            "inference": read_csv(i),
            "inference_info": io.read_json(j),
        }
        for key, m, t, i, j in zip(keys, metrics, train, inference, inference_info, strict=True)
    ]


def read_loc(path: str) -> dict[str, int]:
    """loc.csv as framework -> lines of code."""
    return {row["framework"]: int(row["loc"]) for row in read_csv(path)}


def write_compare(*, runs: list[dict], predictions: list[str], outputs) -> None:
    """The four tables of one dataset x arch; ``predictions`` are paths in the order of ``runs``."""
    arrays = {
        (run["framework"], run["seed"]): io.read_npz(path)
        for run, path in zip(runs, predictions, strict=True)
    }
    io.write_csv(quality_rows(runs), outputs.quality, QUALITY_COLUMNS)
    io.write_csv(significance_rows(runs, arrays), outputs.significance, SIGNIFICANCE_COLUMNS)
    io.write_csv(performance_rows(runs), outputs.performance, PERFORMANCE_COLUMNS)
    io.write_csv(inference_rows(runs), outputs.inference, INFERENCE_COLUMNS)


def write_summary(*, runs: list[dict], roofline_path: str, loc_path: str, output: str) -> None:
    """results/summary.csv from every run, the roofline and the code sizes."""
    rows = summary_rows(runs, io.read_json(roofline_path), read_loc(loc_path))
    io.write_csv(rows, output, SUMMARY_COLUMNS)


def write_throughput(
    *, runs: list[dict], train: list[str], idiomatic_keys: list[dict], idiomatic: list[str],
    roofline_path: str, output: str,
) -> None:  # fmt: skip
    """results/throughput.csv from every run's train.json (``runs``: keys in the order of the
    ``train`` paths), the idiomatic.json files (``idiomatic_keys`` in the order of
    ``idiomatic``; none when the variant is off) and the roofline."""
    tuned = [{**key, "train": io.read_json(path)} for key, path in zip(runs, train, strict=True)]
    measured = [
        {**io.read_json(path), **key} for key, path in zip(idiomatic_keys, idiomatic, strict=True)
    ]
    rows = throughput_rows(tuned, measured, io.read_json(roofline_path))
    io.write_csv(rows, output, THROUGHPUT_COLUMNS)
