"""Evaluate and benchmark trained models, from files to files (every seed of one framework).

Like :mod:`mlpcompare.training.runs`, framework-agnostic: the framework module is imported by name and
its threads are pinned before it builds anything. A diverged run (NaN weights) gets null metrics
and predictions, written with ``status: diverged`` so the rest of the workflow carries on and the
report can show it; its inference is still timed (the arithmetic costs the same).

Each model is also exported to ONNX (``model.onnx``, the framework's ``export_onnx``) and served
by ONNX Runtime: its predictions on the test set must be the framework's (same classes,
probabilities within :data:`~mlpcompare.serving.onnx_serving.PROBA_TOLERANCE`, or the job stops with one
line), and it is timed beside the framework's own APIs as the ``onnxruntime`` rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from mlpcompare import io
from mlpcompare.logs import UserError
from mlpcompare.measuring import bench, envinfo, metrics
from mlpcompare.serving import onnx_serving
from mlpcompare.spec import ModelSpec
from mlpcompare.training.runs import prepare_framework, provenance

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
    spec = ModelSpec.from_info(arch, info)
    test = io.read_npz(split_path, ["x_test", "y_test"])
    settings = bench.Settings.from_config(settings).shared_by(len(seeds))
    reports = []
    for i, seed in enumerate(seeds):
        train = io.read_json(train_paths[i])
        run = SimpleNamespace(**{name: paths[i] for name, paths in vars(outputs).items()})
        log.info("%s seed %d: evaluating on %s", framework, seed, used_device)
        model = load_model(module, model_paths[i], spec, used_device)
        reports.append(evaluate(model, framework, train, test, info, run))
        served = serve_onnx(model, framework, train, test["x_test"], threads, run.onnx)
        benchmark(
            model, framework, module, used_device, test["x_test"], threads, settings, run, served
        )
    return reports


@dataclass(frozen=True)
class Served:
    """A model exported to ONNX and loaded in ONNX Runtime: its inference call and how it was
    made and checked (inference.json's ``onnx``)."""

    call: Callable[[np.ndarray], np.ndarray]
    record: dict


def serve_onnx(model, framework: str, train: dict, x_test, threads: int, path: str) -> Served:
    """Export ``model`` to ``path``, load it in ONNX Runtime and check its test-set predictions
    against the framework's (:class:`~mlpcompare.serving.onnx_serving.MismatchError` if they differ).
    A diverged run's NaN predictions cannot be compared: its export is timed, not checked."""
    start = time.perf_counter()
    exporter = model.export_onnx(path)
    export_seconds = time.perf_counter() - start
    call = onnx_serving.logits_call(onnx_serving.session(path, threads))
    record = {
        "exporter": exporter,
        "export_seconds": export_seconds,
        "onnxruntime_version": onnx_serving.runtime_version(),
        "threads": threads,
    }
    if train["status"] != "ok":
        log.warning("training %s: ONNX predictions not checked", train["status"])
        return Served(call, record | {"checked": False})
    result = onnx_serving.agreement(model.predict_logits(x_test), call(x_test))
    onnx_serving.check(result, framework, path)
    log.info(
        "%s: ONNX Runtime agrees (%d classes differ, probabilities within %.2g); exported by %s",
        framework,
        result.classes_differing,
        result.max_abs_proba_diff,
        exporter,
    )
    return Served(call, record | {"checked": True, **vars(result)})


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


def benchmark(
    model, framework, module, used_device, x_test, threads, settings, outputs, served=None
) -> dict:
    """Inference latency per API and batch size (``outputs.inference``), and the job's record
    (``outputs.info``: device, threads, settings, peak RSS, the framework's environment).
    ``served``: the model in ONNX Runtime (:func:`serve_onnx`), timed as one more API."""
    apis = model.inference_apis()
    if served is not None:
        apis = apis | {bench.ONNX_RUNTIME_API: served.call}
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
    if served is not None:
        record["onnx"] = served.record
    io.write_json(record, outputs.info)
    return record
