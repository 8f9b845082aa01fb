"""A small but complete ``results/`` tree for the report and plot tests, made in seconds.

Per-run files are invented (no training); the tables over runs are made by the workflow's own
functions (:mod:`mlpcompare.aggregating`, :mod:`mlpcompare.presenting.plots`), so they have
exactly the format the workflow writes. :func:`declared` lists the inputs the rules declare.
"""

from __future__ import annotations

import copy
import math
import shutil
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml

from mlpcompare import io, layout
from mlpcompare.aggregating import idiomatic, serving, summary, tables, throughput
from mlpcompare.config import resolve_target
from mlpcompare.layout import Layout
from mlpcompare.measuring import devexp, metrics
from mlpcompare.presenting import eda_plots, figures, report

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "report"
CLASSES = ["a", "b", "c"]
N_TEST = 60
EPOCHS = 4
# environment.json as the environment rule writes it, abridged.
ENVIRONMENT = {
    "machine": {"cpu": "test CPU", "usable_cores": 1, "memory_gb": 1.5},
    "threads_per_job": 1,
    "device_requested": "auto",
    "blas": [{"user_api": "blas", "internal_api": "openblas", "num_threads": 1}],
    "packages": {"numpy": "2.4.6", "tensorflow": None},
    "gpus": [],
    "frameworks": {"torch": {"device": "cpu", "environment": {"build": ["a", "b"]}}},
}
SPLIT = {
    "seed": 0,
    "n_features": 4,
    "n_classes": len(CLASSES),
    "classes": CLASSES,
    "image_shape": None,
    "counts": {"train": 200, "val": 20, "test": N_TEST},
    "class_counts": {"train": [67, 67, 66]},
}
SANITY = {
    "passed": False,
    "checks": [
        {"check": "finite", "passed": True, "detail": "0 NaN/inf values"},
        {"check": "test classes balanced", "passed": False, "detail": "shares 0.1..0.6"},
    ],
}
HISTORY_COLUMNS = [
    "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds",
]  # fmt: skip


def config(**changes) -> dict:
    """The repository's config.yaml with ``changes`` applied at the top level."""
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    base.update(
        datasets=["digits"],
        seeds=[0, 1],
        architectures={"mlp-8": {"hidden": [8], "activation": "relu", "dropout": 0.0}},
        run_architectures=None,
    )
    base.update(copy.deepcopy(changes))
    return base


def run_keys(cfg: dict) -> list[dict]:
    archs = cfg["run_architectures"] or cfg["architectures"]
    return layout.run_records(cfg["datasets"], archs, cfg["frameworks"], cfg["seeds"])


def _history(seed: int, diverged: bool) -> list[dict]:
    """Loss falling, accuracy rising; a diverged run's last epoch has NaN losses."""
    rows = []
    for epoch in range(1, EPOCHS + 1):
        acc = 0.5 + 0.1 * epoch + 0.01 * seed
        values = [epoch, 1e-3, 1.5 / epoch, acc, 1.6 / epoch, acc - 0.02, 0.2 + 0.01 * seed]
        rows.append(dict(zip(HISTORY_COLUMNS, values, strict=True)))
    if diverged:
        rows[-1] |= {"train_loss": math.nan, "val_loss": math.nan}
    return rows


def _train(key: dict, cfg: dict, diverged: bool) -> dict:
    training = resolve_target(cfg["training"], key["dataset"])  # as the train job records it
    return {
        "framework": key["framework"],
        "status": "diverged" if diverged else "ok",
        "diverged_epoch": EPOCHS if diverged else None,
        "seed": key["seed"],
        "epochs_run": EPOCHS,
        "best_epoch": EPOCHS,
        "total_seconds": 0.8 + 0.1 * key["seed"],
        "first_epoch_seconds": 0.3,
        "steady_samples_per_s": 5000.0 + 100 * key["seed"],
        "time_to_target_s": None,
        "target_val_accuracy": training["target_val_accuracy"],
        "training": training,
        "device": "cpu",
        "threads": 1,
        "peak_rss_mb": 100.0,
        "n_parameters": 67,
        "python": "3.11",
        "platform": "test",
        "environment": {"framework": key["framework"], "version": "0"},
    }


def _predictions(seed: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = np.arange(N_TEST) % len(CLASSES)
    y_pred = np.where(rng.random(N_TEST) < 0.1 + 0.05 * offset, (y_true + 1) % 3, y_true)
    return y_true, y_pred


def write_run(results: Path, key: dict, cfg: dict, diverged: bool, offset: int) -> None:
    """train.json, history.csv, metrics.json, predictions.npz, confusion.csv, inference.csv/json."""
    path = partial(Layout(str(results)).run_file, key)
    io.write_json(_train(key, cfg, diverged), path("train.json"))
    io.write_csv(_history(key["seed"], diverged), path("history.csv"), HISTORY_COLUMNS)
    y_true, y_pred = _predictions(key["seed"], offset)
    if diverged:
        y_pred, proba = metrics.no_predictions(N_TEST, len(CLASSES))
        report = metrics.diverged(N_TEST, CLASSES) | {"status": "diverged"}
    else:
        proba = np.eye(len(CLASSES), dtype=np.float32)[y_pred] * 0.9 + 0.1 / len(CLASSES)
        report = metrics.classification(y_true, y_pred, proba, CLASSES)
    io.write_json(
        {"framework": key["framework"], "seed": key["seed"], **report}, path("metrics.json")
    )
    io.write_npz({"y_true": y_true, "y_pred": y_pred, "proba": proba}, path("predictions.npz"))
    matrix = metrics.confusion(y_true, y_pred, len(CLASSES))
    io.write_csv(metrics.confusion_rows(matrix, CLASSES), path("confusion.csv"), ["true", *CLASSES])
    apis = ["direct_call", "predict"] if key["framework"] == "keras" else ["forward"]
    rows = [
        {"api": api, "batch_size": batch, "p50_ms": 0.01 * batch * (i + 1),
         "p90_ms": 0.015 * batch * (i + 1), "samples_per_s": 1e5 / (i + 1), "repeats": 30}
        for i, api in enumerate(apis)
        for batch in (1, 32, N_TEST)
    ]  # fmt: skip
    io.write_csv(rows, path("inference.csv"), list(rows[0]))
    io.write_json({"framework": key["framework"], "peak_rss_mb": 90.0}, path("inference.json"))


def idiomatic_record(framework: str, cfg: dict) -> dict:
    """An idiomatic.json: each seed at a third of the tuned rate of _train()."""
    seeds = [
        {"seed": seed, "epoch_seconds": [0.5, 0.3, 0.3], "first_epoch_seconds": 0.5,
         "steady_samples_per_s": (5000.0 + 100 * seed) / 3, "train_loss": [1.5, 1.0, 0.8]}
        for seed in cfg["seeds"]
    ]  # fmt: skip
    return {
        "framework": framework, "variant": "idiomatic", "api": f"{framework} convenient path",
        "epochs": 3, "training": cfg["training"], "seeds": seeds,
    }  # fmt: skip


def write_results(
    results: Path, cfg: dict, diverged=frozenset(), idiomatic: bool = True
) -> list[dict]:
    """Every file the plots and report rules read, under ``results``; returns the run keys.

    ``diverged``: (framework, seed) pairs whose training diverged. ``idiomatic``: whether the
    idiomatic variant was measured (bench.idiomatic on).
    """
    keys = run_keys(cfg)
    paths = Layout(str(results))
    for i, key in enumerate(keys):
        write_run(results, key, cfg, (key["framework"], key["seed"]) in diverged, i % 3)
    if idiomatic:
        for key in framework_keys(keys):
            io.write_json(idiomatic_record(key["framework"], cfg), idiomatic_path(paths, key))
        for key in keys:  # what throughput.csv reads: each seed at a third of the tuned rate
            train = {**_train(key, cfg, diverged=False), "variant": "idiomatic",
                     "api": f"{key['framework']} convenient path"}  # fmt: skip
            train["steady_samples_per_s"] /= 3
            io.write_json(train, paths.idiomatic_run_file(key, "train.json"))
            for name in ("metrics.json", "history.csv"):  # the same accuracy and curves
                shutil.copyfile(paths.run_file(key, name), paths.idiomatic_run_file(key, name))
    for dataset in cfg["datasets"]:
        io.write_json({"dataset": dataset, **SPLIT}, paths.split_info(dataset))
        io.write_json({"dataset": dataset, **SANITY}, paths.eda(dataset, "sanity.json"))
        for name in figures.EDA_FIGURES:  # any PNG will do
            eda_plots.class_balance({}, SPLIT, paths.eda(dataset, f"{name}.png"))
    _tables(results, keys)
    return keys


# A run's files by the name the rules give their inputs.
RUN_INPUTS = {
    "metrics": "metrics.json", "train": "train.json", "inference": "inference.csv",
    "inference_info": "inference.json", "predictions": "predictions.npz",
    "history": "history.csv", "confusion": "confusion.csv",
}  # fmt: skip


def declared(paths: Layout, runs: list[dict], idiomatic_runs: list[dict] = ()) -> dict:
    """The named inputs the rules over runs declare (summary, tables, throughput, idiomatic,
    plots): per file of :data:`RUN_INPUTS` a path per run of ``runs``, per idiomatic run its
    ``idiomatic`` (train.json), ``idiomatic_train``, ``idiomatic_metrics`` and
    ``idiomatic_history``, and the files over every run."""
    inputs = {part: [paths.run_file(r, name) for r in runs] for part, name in RUN_INPUTS.items()}
    for part, name in (("train", "train.json"), ("metrics", "metrics.json"),
                       ("history", "history.csv")):  # fmt: skip
        inputs[f"idiomatic_{part}"] = [paths.idiomatic_run_file(r, name) for r in idiomatic_runs]
    inputs["idiomatic"] = inputs["idiomatic_train"]
    return inputs | {
        "roofline": paths.machine("roofline.json"),
        "loc": paths.top("loc.csv"),
        "summary": paths.top("summary.csv"),
        "throughput": paths.top("throughput.csv"),
    }


def arch_inputs(paths: Layout, runs: list[dict], idiomatic_runs: list[dict] = ()) -> dict:
    """What the plots rule of the runs' dataset x architecture declares."""
    dataset, arch = runs[0]["dataset"], runs[0]["arch"]
    tables = {name: paths.table(dataset, arch, name) for name in layout.ARCH_TABLES}
    return declared(paths, runs, idiomatic_runs) | tables


def every_file(results: Path) -> list[str]:
    """Every file under ``results``: what a reader may read when no rule is in between."""
    return [str(path) for path in Path(results).rglob("*") if path.is_file()]


def framework_keys(keys: list[dict]) -> list[dict]:
    """The (dataset, arch, framework) of run keys, once each, in first-seen order."""
    found = {(k["dataset"], k["arch"], k["framework"]): None for k in keys}
    return [dict(zip(("dataset", "arch", "framework"), key, strict=True)) for key in found]


def idiomatic_path(paths: Layout, key: dict) -> str:
    return paths.idiomatic(key["dataset"], key["arch"], key["framework"])


def _tables(results: Path, keys: list[dict]) -> None:
    """The machine, aggregate and plot files, made by the workflow's own functions."""
    paths = Layout(str(results))
    pairs = dict.fromkeys((k["dataset"], k["arch"]) for k in keys)
    batch = io.read_json(paths.run_file(keys[0], "train.json"))["training"]["batch_size"]
    entries = [
        {"dataset": d, "arch": a, "batch_size": batch, "flops_per_sample": 100.0,
         "gflops_per_s": 1.0, "ceiling_samples_per_s": 20000.0}
        for d, a in pairs
    ]  # fmt: skip
    io.write_json(
        {"method": "fake GEMM timings", "threads": 1, "entries": entries},
        paths.machine("roofline.json"),
    )
    io.write_json(ENVIRONMENT, paths.machine("environment.json"))
    frameworks = list(dict.fromkeys(k["framework"] for k in keys))
    loc = [{"framework": fw, "files": 1, "loc": 100 + i} for i, fw in enumerate(frameworks)]
    io.write_csv(loc, paths.top("loc.csv"), ["framework", "files", "loc"])
    summary.write_summary(keys, declared(paths, keys), paths.top("summary.csv"))
    serving.write_serving(keys, declared(paths, keys), paths.top("serving.csv"))
    measured = [key for key in framework_keys(keys) if Path(idiomatic_path(paths, key)).is_file()]
    idiomatic_runs = [key for key in keys if framework_keys([key])[0] in measured]
    throughput.write_throughput(
        keys, idiomatic_runs, declared(paths, keys, idiomatic_runs), paths.top("throughput.csv")
    )
    if idiomatic_runs:
        idiomatic.write_idiomatic(
            idiomatic_runs,
            declared(paths, idiomatic_runs, idiomatic_runs),
            paths.top("idiomatic.csv"),
        )
    for i, fw in enumerate(frameworks):  # install sizes and import times, invented
        first_use = {
            "install_bytes": {fw: 10_000_000 * (i + 1)},
            "import_seconds": [0.1 * (i + 1)] * 3,
        }
        io.write_json(first_use, paths.first_use(fw))
    devexp.write_devexp(
        names=frameworks, runs=keys, idiomatic=measured, repo=str(ROOT),
        first_use_files=[paths.first_use(fw) for fw in frameworks],
        train_files=[paths.run_file(k, "train.json") for k in keys],
        idiomatic_files=[paths.idiomatic(r["dataset"], r["arch"], r["framework"]) for r in measured],
        output=paths.top("devexp.csv"),
    )  # fmt: skip
    for dataset, arch in pairs:
        arch_keys = [k for k in keys if (k["dataset"], k["arch"]) == (dataset, arch)]
        outputs = {t: paths.table(dataset, arch, t) for t in layout.ARCH_TABLES}
        tables.write_tables(arch_keys, declared(paths, arch_keys), SimpleNamespace(**outputs))
        outputs = {name: paths.figure(dataset, arch, name) for name in figures.FIGURES}
        figures.draw(figures.read_arch_data(arch_keys, arch_inputs(paths, arch_keys)), outputs)


def render(results: Path, cfg: dict, keys: list[dict]) -> str:
    """The report page for the files under ``results``, with the repository's report files."""
    assets = report.Assets(ASSETS)
    results = report.Results(results, every_file(results))
    context = report.load_context(results, assets, config=cfg, runs=keys)
    return report.render(context, assets.template, assets.labels)
