"""One study variant in one framework: every seed trained and measured in one process.

A study multiplies runs (variants x frameworks x seeds), so a job per seed would pay the
framework's start (TensorFlow ~6 s) again and again. Each seed is trained exactly like a run of
the main comparison (:func:`mlpcompare.training.runs.fit_run`), then measured in inference mode on the
training, validation and test sets: the generalisation gap is train minus validation accuracy of
the kept weights, both without dropout.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from mlpcompare import frameworks, io
from mlpcompare.layout import STUDY_RUN_FILES
from mlpcompare.measuring import metrics
from mlpcompare.measuring.envinfo import packages
from mlpcompare.studies.finished_seeds import FOLDER, FinishedSeeds, run_key
from mlpcompare.training.runs import fit_run, prepare_framework

log = logging.getLogger(__name__)


def run_variant(*, framework, seeds, split_path, init_paths, arch, training, device, threads,
                outputs, in_run_ceiling=False, code_paths=()):  # fmt: skip
    """Train and measure every seed; ``init_paths`` and each of ``outputs.history``,
    ``outputs.train``, ``outputs.metrics`` are lists in the order of ``seeds``.

    A seed an earlier, cut-off run of this job finished with the same inputs, settings and code
    (``code_paths``: the files the job runs) is copied back instead of trained again
    (:mod:`mlpcompare.studies.finished_seeds`)."""
    module, used_device = prepare_framework(framework, threads, device)
    data = io.read_npz(split_path)
    finished = FinishedSeeds(Path(outputs.train[0]).parents[1] / FOLDER)
    for i, seed in enumerate(seeds):
        files = {name: getattr(outputs, name)[i] for name in STUDY_RUN_FILES}
        key = run_key(
            files={"split": split_path, "init": init_paths[i],
                   **{f"code:{path}": path for path in code_paths}},
            framework=framework, seed=seed, arch=arch, training=training, device=used_device,
            threads=threads, in_run_ceiling=in_run_ceiling,
            versions=packages(frameworks.get(framework).packages),
        )  # fmt: skip
        if finished.restore(seed, key, files):
            log.info("%s seed %d: finished by an earlier run of this job, kept", framework, seed)
            continue
        log.info("%s seed %d of %s", framework, seed, list(seeds))
        trainer, summary = fit_run(
            module, framework, data, io.read_npz(init_paths[i]), arch, training, seed,
            device=used_device, threads=threads, history_path=outputs.history[i],
            in_run_ceiling=in_run_ceiling,
        )  # fmt: skip
        io.write_json(measure(trainer, data, summary["status"]), outputs.metrics[i])
        io.write_json(summary, outputs.train[i])
        finished.keep(seed, key, files)
    finished.clear()


def measure(trainer, data: dict, status: str) -> dict:
    """Accuracy on each part, the generalisation gap, and the test set's macro F1 and loss."""
    if status != "ok":
        nan = math.nan
        return {"status": status, "train_accuracy": nan, "val_accuracy": nan,
                "test_accuracy": nan, "generalisation_gap": nan, "f1_macro": nan,
                "test_loss": nan}  # fmt: skip
    accuracy = {
        part: trainer.evaluate(data[f"x_{part}"], data[f"y_{part}"])[1] for part in ("train", "val")
    }
    logits = trainer.predict_logits(data["x_test"])
    y_pred, proba = metrics.predictions(logits)
    n_classes = proba.shape[1]
    test = metrics.classification(data["y_test"], y_pred, proba, [str(c) for c in range(n_classes)])
    return {
        "status": "ok",
        "train_accuracy": float(accuracy["train"]),
        "val_accuracy": float(accuracy["val"]),
        "test_accuracy": test["accuracy"],
        "generalisation_gap": float(accuracy["train"] - accuracy["val"]),
        "f1_macro": test["f1_macro"],
        "test_loss": test["test_loss"],
    }


def epochs_to_target(history: list[dict], target: float) -> float:
    """The first epoch (1-based) whose validation accuracy reached ``target``; NaN if none."""
    for row in history:
        if float(row["val_accuracy"]) >= target:
            return float(row["epoch"])
    return math.nan
