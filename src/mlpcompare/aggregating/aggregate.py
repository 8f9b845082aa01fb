"""Many runs into a few tables: summary.csv, throughput.csv (training throughput of the tuned
trainers and of the idiomatic variant) and idiomatic.csv (the idiomatic variant against the tuned
runs: accuracy, time, throughput) here; per dataset x architecture the quality (95 % CIs),
significance (McNemar), performance (medians and IQR) and inference tables in
:mod:`mlpcompare.aggregating.tables`.

A run travels as its record (``dataset``, ``arch``, ``framework``, ``seed``: see
:mod:`mlpcompare.layout`); :func:`load_runs` adds what its jobs wrote: ``metrics``
(metrics.json), ``train`` (train.json), ``inference`` (inference.csv rows) and
``inference_info`` (inference.json). The table functions are pure: they take loaded runs and
return a DataFrame with NaN (or ``<NA>``) where a figure is undefined; :func:`cleaned` turns it
into what the files hold (six significant digits, blanks), and the ``write_*`` functions read
the files through a :class:`~mlpcompare.layout.Layout` and write the tables.

Diverged seeds (train.json ``status`` other than ``ok``) are left out of every figure taken over
seeds: their quality is undefined, and their time and epoch counts stop short. They still count
in ``n_seeds``, and the ``status`` column says how many there were. Groups keep their first-seen
order (frameworks in run order).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from mlpcompare import frameworks, io
from mlpcompare.aggregating import stats
from mlpcompare.layout import RUN_KEYS, Layout
from mlpcompare.measuring import bench, roofline

SUMMARY_COLUMNS = [
    "dataset", "arch", "framework", "n_seeds", "accuracy_mean", "accuracy_std",
    "precision_macro_mean", "recall_macro_mean", "f1_macro_mean", "f1_macro_std",
    "train_time_s_median", "epochs_median", "train_samples_per_s_median", "roofline_fraction",
    "infer_p50_ms_batch1", "infer_samples_per_s_best", "peak_rss_mb", "loc",
    # Beyond the contract's columns: which seeds diverged (they are left out of the figures).
    "status",
]  # fmt: skip
THROUGHPUT_COLUMNS = [
    "dataset", "arch", "framework", "variant", "api", "n_seeds", "samples_per_s_median",
    "samples_per_s_q1", "samples_per_s_q3", "roofline_fraction", "ceiling_samples_per_s",
    "ceiling_q1", "ceiling_q3", "slowdown_vs_tuned",
]  # fmt: skip
SERVING_COLUMNS = [
    "dataset", "arch", "framework", "api", "n_ok", "p50_ms_batch1", "samples_per_s_best",
    "best_batch_size", "onnx_classes_differing", "onnx_max_abs_proba_diff",
]  # fmt: skip
GROUP = ["dataset", "arch", "framework"]
# What a run's files contribute to the tables: loaded-run part -> file name in the run folder.
RUN_FILES = {
    "metrics": "metrics.json",
    "train": "train.json",
    "inference": "inference.csv",
    "inference_info": "inference.json",
}
METRIC_FIELDS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "test_loss")
TRAIN_FIELDS = (
    "total_seconds", "epochs_run", "steady_samples_per_s", "first_epoch_seconds",
    "time_to_target_s", "peak_rss_mb", "n_parameters", "roofline_fraction",
    "ceiling_samples_per_s", "ceiling_q1", "ceiling_q3",
)  # fmt: skip
FIGURES = [*METRIC_FIELDS, *TRAIN_FIELDS, "inference_peak_rss_mb"]
INFERENCE_FIGURES = ["p50_ms", "p90_ms", "samples_per_s"]
RATE_COLUMNS = [*GROUP, "variant", "api", "batch_size", "rate"]
IDIOMATIC_COLUMNS = [
    "dataset", "arch", "framework", "api", "n_seeds",
    "tuned_accuracy_mean", "tuned_accuracy_ci_low", "tuned_accuracy_ci_high",
    "idiomatic_accuracy_mean", "idiomatic_accuracy_ci_low", "idiomatic_accuracy_ci_high",
    "accuracy_diff_points", "accuracy_diff_points_ci_low", "accuracy_diff_points_ci_high",
    "train_time_ratio", "samples_per_s_ratio", "tuned_epochs_median", "idiomatic_epochs_median",
    "status",
]  # fmt: skip


# --- loading ----------------------------------------------------------------------------------


def load_runs(
    runs: Iterable[Mapping],
    layout: Layout,
    parts: Iterable[str] = tuple(RUN_FILES),
    idiomatic: bool = False,
) -> list[dict]:
    """Each run record with the files ``parts`` (keys of :data:`RUN_FILES`) read into it: the
    tuned run's, or with ``idiomatic`` the idiomatic run's of the same key."""
    parts = list(parts)
    run_file = layout.idiomatic_run_file if idiomatic else layout.run_file
    return [
        {key: run[key] for key in RUN_KEYS}
        | {part: _read(run_file(run, RUN_FILES[part])) for part in parts}
        for run in runs
    ]


def _read(path: str):
    return io.read_csv(path) if path.endswith(".csv") else io.read_json(path)


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


# --- shared pieces ----------------------------------------------------------------------------


def grouped(frame: pd.DataFrame, keys: list[str]):
    """``frame`` grouped by ``keys``, groups in first-seen order."""
    return frame.groupby(keys, sort=False)


def spread(values) -> pd.DataFrame:
    """Median, first and third quartile (linear interpolation) of a grouped column."""
    return pd.DataFrame(
        {"median": values.median(), "q1": values.quantile(0.25), "q3": values.quantile(0.75)}
    )


def status(n_seeds: pd.Series, n_ok: pd.Series) -> pd.Series:
    """ "ok", or how many seeds diverged, e.g. "diverged (1 of 3 seeds)"."""
    bad = n_seeds - n_ok
    text = "diverged (" + bad.astype(str) + " of " + n_seeds.astype(str) + " seeds)"
    return text.where(bad > 0, "ok")


def inference_medians(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys``, API and batch size: medians over the non-diverged seeds of p50, p90 and
    samples/s, and the quartiles of samples/s (the seeds' spread); ``frame``:
    :func:`inference_frame`; ``n_ok``: the seeds they are taken over."""
    by_api = grouped(frame, [*keys, "api", "batch_size"])
    medians = by_api.agg(
        n_ok=("p50_ms", "size"), **{name: (name, "median") for name in INFERENCE_FIGURES}
    )
    quartiles = spread(by_api["samples_per_s"])[["q1", "q3"]].add_prefix("samples_per_s_")
    return medians.join(quartiles).reset_index()


def ceilings(keys: pd.DataFrame, roofline_data: dict) -> pd.Series:
    """The roofline job's ceiling (samples/s) at each row's ``dataset``, ``arch`` and
    ``batch_size`` (:func:`mlpcompare.measuring.roofline.find`); NaN where none was measured, and for a
    row whose ``device`` is CUDA: the job times the CPU, which says nothing about a GPU."""
    found = (
        roofline.find(roofline_data, dataset, arch, int(batch))
        for dataset, arch, batch in keys[["dataset", "arch", "batch_size"]].itertuples(index=False)
    )
    values = [entry["ceiling_samples_per_s"] if entry else math.nan for entry in found]
    return pd.Series(values, index=keys.index, dtype="float64").where(keys["device"] != "cuda")


def _clean(value):
    """Tables hold numbers or blanks: NaN, None and <NA> become an empty cell."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return float(f"{value:.6g}")  # six significant digits: what the measurements support
    if isinstance(value, np.integer):
        return int(value)
    return value


def cleaned(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as its file holds it: floats to six significant digits, blanks for NaN."""
    return table.astype(object).map(_clean)


# --- summary.csv ------------------------------------------------------------------------------


def summary_table(runs: list[dict], roofline_data: dict, loc: Mapping[str, int]) -> pd.DataFrame:
    """summary.csv: one row per (dataset, arch, framework).

    Quality: mean and sample std over seeds. Times, epochs, throughput: medians over seeds.
    ``roofline_fraction``: the median over seeds of each run's steady-state samples/s over the
    ceiling timed between its own epochs (train.json); without one, the median samples/s over
    the roofline job's ceiling for this dataset, architecture and batch size.
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
        in_run_fraction=("roofline_fraction", "median"),
        device=("device", "first"),
    )
    table = table.reset_index()
    # Each run's fraction of the ceiling timed between its own epochs, on its own device
    # (train.json); a CPU run without one (bench.in_run_ceiling off) falls back to the roofline
    # job's ceiling (a GPU run never does: :func:`ceilings`).
    job_fraction = table["train_samples_per_s_median"] / ceilings(table, roofline_data)
    table["roofline_fraction"] = table["in_run_fraction"].fillna(job_fraction)
    infer = inference_medians(inference_frame(runs), GROUP)
    infer = infer[infer["api"] != bench.ONNX_RUNTIME_API]
    batch1 = grouped(infer[infer["batch_size"] == 1], GROUP)["p50_ms"].min()
    table = table.join(batch1.rename("infer_p50_ms_batch1"), on=GROUP)
    best = grouped(infer, GROUP)["samples_per_s"].max()
    table = table.join(best.rename("infer_samples_per_s_best"), on=GROUP)
    table["loc"] = table["framework"].map(dict(loc)).astype("Int64")
    table["status"] = status(table["n_seeds"], table["n_ok"])
    return table[SUMMARY_COLUMNS].reset_index(drop=True)


# --- serving.csv ------------------------------------------------------------------------------


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


# --- throughput.csv ---------------------------------------------------------------------------


def throughput_table(runs: list[dict], idiomatic: list[dict], roofline_data: dict) -> pd.DataFrame:
    """throughput.csv: per (dataset, arch, framework) a ``tuned`` row, then an ``idiomatic``
    row where that variant was measured. ``n_seeds``: the seeds the median is taken over.

    ``runs``, ``idiomatic``: loaded tuned and idiomatic runs (``train`` is all it reads). Each
    non-diverged seed's steady-state samples/s (train.json; diverged seeds are left out as in
    summary.csv); ``api``: the registry's description of the tuned trainer, the idiomatic
    train.json's of the variant. The ceiling (``ceiling_q1``/``ceiling_q3``: its spread over
    epochs) is the tuned runs' in-run one, else the roofline entry at the batch size the
    variant trained with; ``slowdown_vs_tuned`` is the tuned median over the variant's (2 = the
    variant trains half as fast; the tuned row is 1 by definition).
    """
    frame = run_frame(runs)
    tuned = frame.assign(
        variant="tuned", api=frame["framework"].map(_api), rate=frame["steady_samples_per_s"]
    )
    variant = run_frame(idiomatic)
    measured = variant.assign(
        variant="idiomatic",
        api=[run["train"]["api"] for run in idiomatic],
        rate=variant["steady_samples_per_s"],
    )
    rates = pd.concat([tuned[RATE_COLUMNS], measured[RATE_COLUMNS]], ignore_index=True)
    rates["rate"] = rates["rate"].astype("float64")
    by_variant = grouped(rates, [*GROUP, "variant"])
    table = by_variant.agg(
        api=("api", "first"), batch_size=("batch_size", "first"), n_seeds=("rate", "count")
    )
    rate = spread(by_variant["rate"])
    table = table.join(rate.add_prefix("samples_per_s_")).reset_index()
    # Each framework's tuned row, then its idiomatic row; a variant without tuned runs is dropped.
    keys = grouped(frame, GROUP).size().index
    position = pd.Series(np.arange(len(keys)), index=keys, name="position")
    table = table.join(position, on=GROUP, how="inner")
    table["order"] = 2 * table["position"] + (table["variant"] == "idiomatic")
    table = table.sort_values("order", kind="stable").reset_index(drop=True)
    median = table["samples_per_s_median"]
    # The framework's in-run ceiling (medians over its tuned seeds of each run's median and
    # quartiles over epochs) for both variants where they train at the same batch size: the
    # idiomatic runs do not time one. Otherwise the roofline job's entry (CPU runs only).
    in_run = grouped(frame, GROUP).agg(
        in_run=("ceiling_samples_per_s", "median"),
        ceiling_q1=("ceiling_q1", "median"),
        ceiling_q3=("ceiling_q3", "median"),
        tuned_batch_size=("batch_size", "first"),
        device=("device", "first"),
    )
    table = table.join(in_run, on=GROUP)
    same_batch = table["batch_size"] == table["tuned_batch_size"]
    for column in ("in_run", "ceiling_q1", "ceiling_q3"):
        table[column] = table[column].astype("float64").where(same_batch)
    table["ceiling_samples_per_s"] = table["in_run"].fillna(ceilings(table, roofline_data))
    table["roofline_fraction"] = median / table["ceiling_samples_per_s"]
    medians = table[table["variant"] == "tuned"].set_index(GROUP)["samples_per_s_median"]
    tuned_median = table.join(medians.rename("tuned"), on=GROUP)["tuned"]
    table["slowdown_vs_tuned"] = (tuned_median / median).where(median > 0)
    return table[THROUGHPUT_COLUMNS]


# --- idiomatic.csv ----------------------------------------------------------------------------


def idiomatic_table(runs: list[dict], idiomatic: list[dict]) -> pd.DataFrame:
    """idiomatic.csv: per (dataset, arch, framework) with idiomatic runs, the tuned and the
    idiomatic test accuracy (mean and 95 % Student-t interval over the non-diverged seeds), the
    idiomatic minus the tuned accuracy in points with the 95 % interval of the per-seed
    differences (seed against seed: both start from the same weights), and the ratios idiomatic
    over tuned of the median training time (``train_time_ratio`` 3 = three times as long) and of
    the median steady samples/s (``samples_per_s_ratio`` 0.5 = half as fast), and each variant's
    median epochs run (early stopping decides them). ``runs``, ``idiomatic``: loaded tuned and
    idiomatic runs (``metrics`` and ``train``); a framework without idiomatic runs has no row.
    """
    tuned, variant = run_frame(runs), run_frame(idiomatic)
    pairs = tuned.merge(variant, on=list(RUN_KEYS), suffixes=("_tuned", "_idiomatic"))
    apis = {tuple(run[key] for key in GROUP): run["train"]["api"] for run in idiomatic}
    rows = [
        _idiomatic_row(dict(zip(GROUP, key, strict=True)), group, apis[key])
        for key, group in grouped(pairs, GROUP)
    ]
    return pd.DataFrame(rows, columns=IDIOMATIC_COLUMNS)


def _idiomatic_row(key: dict, pairs: pd.DataFrame, api: str) -> dict:
    """One row of idiomatic.csv from the seed-by-seed ``pairs`` of one framework."""
    row = {**key, "api": api, "n_seeds": len(pairs)}
    for variant in ("tuned", "idiomatic"):
        accuracy = pairs[f"accuracy_{variant}"].dropna().tolist()
        low, high = stats.t_interval(accuracy)
        row |= {f"{variant}_accuracy_mean": stats.mean(accuracy),
                f"{variant}_accuracy_ci_low": low, f"{variant}_accuracy_ci_high": high,
                f"{variant}_epochs_median": stats.median(pairs[f"epochs_run_{variant}"].dropna())}  # fmt: skip
    differences = (100 * (pairs["accuracy_idiomatic"] - pairs["accuracy_tuned"])).dropna().tolist()
    low, high = stats.t_interval(differences)
    row |= {"accuracy_diff_points": stats.mean(differences),
            "accuracy_diff_points_ci_low": low, "accuracy_diff_points_ci_high": high}  # fmt: skip
    for column, figure in (("train_time_ratio", "total_seconds"),
                           ("samples_per_s_ratio", "steady_samples_per_s")):  # fmt: skip
        tuned = stats.median(pairs[f"{figure}_tuned"].dropna())
        row[column] = (
            stats.median(pairs[f"{figure}_idiomatic"].dropna()) / tuned if tuned else math.nan
        )
    row["status"] = _pair_status(pairs)
    return row


def _pair_status(pairs: pd.DataFrame) -> str:
    """ "ok", or which variant's seeds diverged, e.g. "idiomatic: 1 of 3 seeds diverged"."""
    diverged = {v: int((~pairs[f"ok_{v}"]).sum()) for v in ("tuned", "idiomatic")}
    found = [f"{v}: {n} of {len(pairs)} seeds diverged" for v, n in diverged.items() if n]
    return "; ".join(found) or "ok"


def _api(name: str) -> str:
    """How the tuned trainer of ``name`` trains (registry); blank for a name it does not know."""
    entry = frameworks.REGISTRY.get(name)
    return entry.api if entry else ""


# --- files ------------------------------------------------------------------------------------


def write_summary(runs: list[Mapping], layout: Layout, output: str | os.PathLike) -> None:
    """results/summary.csv from every run's files, the roofline and the code sizes."""
    table = summary_table(
        load_runs(runs, layout),
        io.read_json(layout.machine("roofline.json")),
        read_loc(layout.top("loc.csv")),
    )
    io.write_csv(cleaned(table), output, SUMMARY_COLUMNS)


def write_serving(runs: list[Mapping], layout: Layout, output: str | os.PathLike) -> None:
    """results/serving.csv from every run's train.json, inference.csv and inference.json."""
    loaded = load_runs(runs, layout, ["train", "inference", "inference_info"])
    io.write_csv(cleaned(serving_table(loaded)), output, SERVING_COLUMNS)


def write_throughput(
    runs: list[Mapping], idiomatic: list[Mapping], layout: Layout, output: str | os.PathLike
) -> None:
    """results/throughput.csv from every run's train.json, the train.json of every idiomatic run
    (``idiomatic``: their run records; none when the variant is off) and the roofline."""
    table = throughput_table(
        load_runs(runs, layout, ["train"]),
        load_runs(idiomatic, layout, ["train"], idiomatic=True),
        io.read_json(layout.machine("roofline.json")),
    )
    io.write_csv(cleaned(table), output, THROUGHPUT_COLUMNS)


def write_idiomatic(idiomatic: list[Mapping], layout: Layout, output: str | os.PathLike) -> None:
    """results/idiomatic.csv from the metrics.json and train.json of every idiomatic run
    (``idiomatic``: their run records) and of the tuned run of the same key (seed against seed)."""
    table = idiomatic_table(
        load_runs(idiomatic, layout, ["metrics", "train"]),
        load_runs(idiomatic, layout, ["metrics", "train"], idiomatic=True),
    )
    io.write_csv(cleaned(table), output, IDIOMATIC_COLUMNS)
