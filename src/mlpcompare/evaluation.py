"""Evaluate and benchmark one trained model, from files to files (one run directory).

Like :mod:`mlpcompare.runs`, framework-agnostic: the framework module is imported by name and
its threads are pinned before it builds anything. A diverged run is evaluated without loading
its model (its weights are NaN): the files are written with ``status: diverged`` so the rest of
the workflow carries on and the report can show it.
"""

from __future__ import annotations

import logging

import numpy as np

from mlpcompare import bench, envinfo, io, metrics
from mlpcompare.runs import peak_rss_mb, prepare_framework
from mlpcompare.spec import ModelSpec

log = logging.getLogger(__name__)


def load_model(framework: str, model_path: str, arch: dict, info: dict, device: str, threads: int):
    """Pin threads, pick the device, load the saved model; returns (model, device used, module)."""
    module, used_device = prepare_framework(framework, threads, device)
    spec = ModelSpec.from_config(arch, info["n_features"], info["n_classes"])
    return module.load_model(model_path, spec, used_device), used_device, module


def evaluate(
    *, framework, model_path, split_path, info_path, train_path, arch, device, threads, outputs
):
    """Test-set predictions and metrics; ``outputs`` has metrics, predictions, confusion paths."""
    info = io.read_json(info_path)
    train = io.read_json(train_path)
    classes = info["classes"]
    test = io.read_npz(split_path, ["x_test", "y_test"])
    y_true = test["y_test"].astype(np.int64)
    if train["status"] == "ok":
        model, used_device, _ = load_model(framework, model_path, arch, info, device, threads)
        y_pred, proba = metrics.predictions(model.predict_logits(test["x_test"]))
        report = metrics.classification(y_true, y_pred, proba, classes)
        log.info("%s on %s: test accuracy %.4f", framework, used_device, report["accuracy"])
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


def benchmark(
    *, framework, model_path, split_path, info_path, arch, device, threads, settings, outputs
):
    """Inference latency per API and batch size (``outputs.inference``), and the job's record
    (``outputs.info``: device, threads, settings, peak RSS, the framework's environment)."""
    info = io.read_json(info_path)
    settings = bench.Settings.from_config(settings)
    model, used_device, module = load_model(framework, model_path, arch, info, device, threads)
    x_test = io.read_npz(split_path, ["x_test"])["x_test"]
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
        "peak_rss_mb": peak_rss_mb(),
        "load_average": load,
        "contention": envinfo.contention(load, threads),
        "environment": module.environment(),
    }
    io.write_json(record, outputs.info)
    return record
