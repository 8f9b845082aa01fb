"""Evaluate and benchmark trained models, from files to files (every seed of one framework).

Like :mod:`mlpcompare.runs`, framework-agnostic: the framework module is imported by name and
its threads are pinned before it builds anything. A diverged run (NaN weights) gets null metrics
and predictions, written with ``status: diverged`` so the rest of the workflow carries on and the
report can show it; its inference is still timed (the arithmetic costs the same).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np

from mlpcompare import bench, envinfo, io, metrics
from mlpcompare.logs import UserError
from mlpcompare.runs import prepare_framework, provenance
from mlpcompare.spec import ModelSpec

log = logging.getLogger(__name__)


def evaluate_runs(
    *,
    framework,
    seeds,
    model_paths,
    train_paths,
    split_path,
    info_path,
    arch,
    device,
    threads,
    settings,
    outputs,
):
    """Evaluate and benchmark every seed's model of one framework, in one process.

    ``model_paths``, ``train_paths`` and each field of ``outputs`` (metrics, predictions,
    confusion, inference, info) are lists in the order of ``seeds``. The framework is imported
    and its threads pinned once for all of them: starting TensorFlow alone takes ~6 s, which
    a job per seed and step paid again and again.
    """
    module, used_device = prepare_framework(framework, threads, device)
    info = io.read_json(info_path)
    spec = ModelSpec.from_config(arch, info["n_features"], info["n_classes"])
    test = io.read_npz(split_path, ["x_test", "y_test"])
    settings = bench.Settings.from_config(settings)
    reports = []
    for i, seed in enumerate(seeds):
        train = io.read_json(train_paths[i])
        run = SimpleNamespace(**{name: paths[i] for name, paths in vars(outputs).items()})
        log.info("%s seed %d: evaluating on %s", framework, seed, used_device)
        model = load_model(module, model_paths[i], spec, used_device)
        reports.append(evaluate(model, framework, train, test, info, run))
        benchmark(model, framework, module, used_device, test["x_test"], threads, settings, run)
    return reports


def load_model(module, path: str, spec: ModelSpec, device: str):
    """``module.load_model``; a file it cannot load (a crash between training and evaluation
    truncated it, or something else wrote it) is one line naming the file and how to rebuild
    it, and the loader's traceback goes to the log."""
    try:
        return module.load_model(path, spec, device)
    except (UserError, FileNotFoundError):
        raise
    except Exception as err:  # each framework's loader raises its own types for a bad file
        log.error("loading %s failed: %s: %s", path, type(err).__name__, err)
        raise io.ArtifactError(path, f"{type(err).__name__}: {err}") from err


def evaluate(model, framework: str, train: dict, test: dict, info: dict, outputs) -> dict:
    """Test-set predictions and metrics of ``model`` (``outputs``: metrics, predictions,
    confusion paths). A diverged run (``train["status"]``) gets null metrics instead."""
    classes = info["classes"]
    y_true = test["y_test"].astype(np.int64)
    if train["status"] == "ok":
        y_pred, proba = metrics.predictions(model.predict_logits(test["x_test"]))
        report = metrics.classification(y_true, y_pred, proba, classes)
        log.info("%s: test accuracy %.4f", framework, report["accuracy"])
    else:
        log.warning("training %s: no predictions, metrics are null", train["status"])
        y_pred, proba = metrics.no_predictions(len(y_true), len(classes))
        report = metrics.diverged(len(y_true), classes)
        report["status"] = train["status"]
    report = {"framework": framework, "seed": train["seed"], **report}
    io.write_npz({"y_true": y_true, "y_pred": y_pred, "proba": proba}, outputs.predictions)
    io.write_json(report, outputs.metrics)
    matrix = metrics.confusion(y_true, y_pred, len(classes))
    io.write_csv(metrics.confusion_rows(matrix, classes), outputs.confusion, ["true", *classes])
    return report


def benchmark(model, framework, module, used_device, x_test, threads, settings, outputs) -> dict:
    """Inference latency per API and batch size (``outputs.inference``), and the job's record
    (``outputs.info``: device, threads, settings, peak RSS, the framework's environment)."""
    apis = model.inference_apis()
    log.info(
        "%s on %s, %d threads: APIs %s, batch sizes %s",
        framework,
        used_device,
        threads,
        list(apis),
        bench.batch_sizes(settings, len(x_test)),
    )
    rows = bench.inference(apis, x_test, settings)
    load = envinfo.load_average()
    if envinfo.contention(load, threads):
        log.warning("load average %.1f: other processes shared the cores, timings inflated", load)
    for row in rows:
        log.info("%s", row)
    io.write_csv(rows, outputs.inference, bench.INFERENCE_COLUMNS)
    record = {
        "framework": framework,
        "device": used_device,
        "threads": threads,
        "apis": list(apis),
        "n_test": len(x_test),
        "settings": settings.__dict__,
        "load_average": load,
        "contention": envinfo.contention(load, threads),
        **provenance(module),
    }
    io.write_json(record, outputs.info)
    return record
