"""One training run from files to files: load split and initial weights, train, write artifacts.

Framework-agnostic: the framework module is imported by name, so a job imports only the
framework it trains (and a NumPy job never pays for importing TensorFlow).
"""

from __future__ import annotations

import logging
import platform
import resource
import sys

from mlpcompare import frameworks, io, spec
from mlpcompare.logs import UserError
from mlpcompare.measuring.roofline import RunCeiling
from mlpcompare.spec import ModelSpec, TrainSpec
from mlpcompare.training.loop import ceiling_summary, divergence_limit, fit

log = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds",
    "ceiling_samples_per_s",
]  # fmt: skip


def framework_module(name: str):
    """The module implementing ``name`` (see :class:`mlpcompare.training.loop.Trainer`)."""
    return frameworks.get(name).trainer_module()


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def provenance(module) -> dict:
    """What every job that ran a framework records beside its numbers: this process's peak
    memory, Python, the platform and the framework's own account of itself."""
    return {
        "peak_rss_mb": peak_rss_mb(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "environment": module.environment(),
    }


def prepare_framework(name: str, threads: int, device: str):
    """Import ``name``'s module, pin its threads (before it builds anything), pick the device.

    Returns (module, device used). A device that cannot be had is the user's to fix.
    """
    module = framework_module(name)
    module.configure_threads(threads)
    try:
        return module, module.resolve_device(device)
    except RuntimeError as err:
        raise UserError(str(err)) from err


def model_spec_for(arch: dict, weights: dict, n_in: int) -> ModelSpec:
    """The network of ``arch`` for ``n_in`` inputs, as wide at the output as ``weights`` (an init
    file: ``W0, b0, ..., b{L-1}``, whose last bias has one entry per class)."""
    n_out = weights[f"b{spec.n_linear_layers(weights) - 1}"].shape[0]
    return ModelSpec.from_config(arch, n_in, n_out)


def train_spec_for(training: dict, n_train: int) -> TrainSpec:
    """The recipe of ``training``; a batch larger than the training set is the user's to fix."""
    train_spec = TrainSpec.from_config(training)
    if train_spec.batch_size > n_train:
        raise UserError(
            f"training.batch_size {train_spec.batch_size} is larger than the training set "
            f"({n_train} samples)"
        )
    return train_spec


def train(*, framework, split_path, init_path, arch, training, seed, device, threads, outputs,
          in_run_ceiling=False, first_use=None):  # fmt: skip
    """Train ``framework`` on the split from the shared initial weights; write model, history, summary.

    ``outputs`` has ``model``, ``history`` and ``train`` paths. A diverged run (loss not finite,
    or over :func:`~mlpcompare.training.loop.divergence_limit`) is not an error: it is written with
    ``status: diverged`` so the workflow carries on and the report can show it. ``first_use``
    (the import time the job's script took: scripts/train.py) goes into the summary as is.
    """
    module, used_device = prepare_framework(framework, threads, device)
    data = io.read_npz(split_path)
    trainer, summary = fit_run(
        module, framework, data, io.read_npz(init_path), arch, training, seed,
        device=used_device, threads=threads, history_path=outputs.history,
        in_run_ceiling=in_run_ceiling,
    )  # fmt: skip
    if first_use is not None:
        summary["first_use"] = first_use
    trainer.save(outputs.model)
    io.write_json(summary, outputs.train)
    return summary


def run_record(result, framework, seed, model_spec, n_train, training, device, threads, module):
    """What the train.json of every run holds, tuned or idiomatic (``result``: its
    :class:`~mlpcompare.training.loop.FitResult`): how it ended, its times, the network and recipe,
    where it ran, and the framework's provenance (``module``: its trainer module)."""
    return {
        "framework": framework,
        "status": result.status,
        "diverged_epoch": result.diverged_epoch,
        "seed": seed,
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "total_seconds": result.total_seconds,
        "first_epoch_seconds": result.first_epoch_seconds,
        "steady_samples_per_s": result.steady_samples_per_s,
        "best_val_loss": min((h["val_loss"] for h in result.history), default=None),
        "best_val_accuracy": max((h["val_accuracy"] for h in result.history), default=None),
        "n_train": n_train,
        "layer_sizes": model_spec.layer_sizes,
        "n_parameters": model_spec.n_weights,
        "training": training,
        "device": device,
        "threads": threads,
        **provenance(module),
    }


def fit_run(module, framework, data, weights, arch, training, seed, *, device, threads,
            history_path, in_run_ceiling=False):  # fmt: skip
    """Train one seed in this process (framework already imported and pinned); write its
    history to ``history_path``. Returns the trainer and the run's summary (train.json)."""
    n_train, n_in = data["x_train"].shape
    model_spec = model_spec_for(arch, weights, n_in)
    train_spec = train_spec_for(training, n_train)
    log.info(
        "%s: %s on %s, %d threads, %d training samples, %s",
        framework, model_spec.layer_sizes, device, threads, n_train, train_spec,
    )  # fmt: skip
    trainer = module.Trainer(
        model_spec,
        train_spec,
        weights,
        data["x_train"],
        data["y_train"],
        seed=seed,
        device=device,
    )
    # The in-run ceiling (bench.in_run_ceiling): the framework's own product on the run's device.
    ceiling = (
        RunCeiling(model_spec, train_spec.batch_size, module.step_products, device)
        if in_run_ceiling
        else None
    )
    result = fit(
        trainer, n_train, data["x_val"], data["y_val"], train_spec, seed,
        loss_limit=divergence_limit(model_spec.n_out),
        ceiling=ceiling.measure if ceiling else None,
    )  # fmt: skip
    io.write_csv(result.history, history_path, HISTORY_COLUMNS)
    summary = run_record(
        result, framework, seed, model_spec, n_train, training, device, threads, module
    ) | {
        "time_to_target_s": result.time_to_target_s,
        **ceiling_summary(result.history, result.steady_samples_per_s),
        "target_val_accuracy": train_spec.target_val_accuracy,
    }
    log.info(
        "done: %s, %d epochs, best epoch %d", result.status, len(result.history), result.best_epoch
    )
    return trainer, summary
