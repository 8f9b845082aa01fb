"""The idiomatic variant: each framework's convenient path, trained and evaluated like the tuned run.

The tuned trainers (registry: ``trainer``) feed every framework the same mini-batches from arrays
already in memory, driven by one shared loop (:func:`mlpcompare.training.loop.fit`); they are the
reference for accuracy. The idiomatic variant trains the same network from the same initial
weights with the same full recipe (epochs, ``lr * lr_decay**epoch``, early stopping on
``monitor`` with ``patience``, the best epoch's weights kept) but each framework's own way, with
its own conveniences where it has them, as a user following its documentation would:

* NumPy (``frameworks/numpy/idiomatic.py``): a plain NumPy loop whose expressions allocate
  (what a notebook writes);
* PyTorch (``frameworks/torch/idiomatic.py``): ``nn.Sequential``, ``DataLoader(shuffle=True)``,
  the textbook loop, ``torch.optim`` and ``lr_scheduler.ExponentialLR``, early stopping by hand;
* Keras on TensorFlow and on JAX (``frameworks/keras_common/idiomatic.py``, shared):
  ``model.compile`` + ``model.fit(validation_data=...)`` with the ``LearningRateScheduler`` and
  ``EarlyStopping(restore_best_weights=True)`` callbacks;
* JAX (``frameworks/jax/idiomatic.py``): a ``jax.jit`` step with an optax optimizer and schedule
  over ``jax.random`` shuffles, early stopping by hand.

The registry (:mod:`mlpcompare.frameworks`, ``idiomatic``) names each framework's module. Each
exposes ``API`` (the path in a few words), ``INFERENCE_API`` (the call its users predict with: a
key of the tuned loader's ``inference_apis()``), ``LOSS_INCLUDES_PENALTY`` (whether the training
loss it reports carries the L2 term) and ``fit(model_spec, train_spec, weights, data, *, seed,
device, model_path)``: ``data`` holds ``x_train``, ``y_train``, ``x_val``, ``y_val``; it trains,
writes the kept epoch's model to ``model_path`` in the tuned run's format (registry:
``model_file``) and returns a :class:`mlpcompare.training.loop.FitResult` with ``history`` (rows of
:data:`mlpcompare.training.runs.HISTORY_COLUMNS`), ``best_epoch`` and ``stopped_early``.

:func:`run_all` runs one framework over every seed: it writes each seed's history.csv and
train.json, then evaluates the saved model with :mod:`mlpcompare.measuring.evaluation` (metrics,
predictions, confusion matrix, inference timed through ``INFERENCE_API`` only); it imports only
that framework.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from mlpcompare import frameworks, io
from mlpcompare.measuring import bench, evaluation
from mlpcompare.spec import ModelSpec
from mlpcompare.training.loop import FitResult, diverged, divergence_limit, steady_throughput
from mlpcompare.training.runs import (
    HISTORY_COLUMNS,
    model_spec_for,
    prepare_framework,
    run_record,
    train_spec_for,
)

log = logging.getLogger(__name__)
VARIANT = "idiomatic"
SPLIT_ARRAYS = ["x_train", "y_train", "x_val", "y_val", "x_test", "y_test"]


def module(framework: str):
    """The idiomatic module of ``framework`` (registry: ``idiomatic``; imports the framework)."""
    return frameworks.get(framework).idiomatic_module()


def run_all(
    *, framework, split_path, info_path, init_paths, seeds, arch, training, device, threads,
    settings, outputs,
) -> list[dict]:  # fmt: skip
    """Train and evaluate ``framework``'s idiomatic path once per seed; returns the train.json
    records.

    ``init_paths`` and each field of ``outputs`` but ``summary`` (model, history, train, metrics,
    predictions, confusion, inference, info) are lists in the order of ``seeds``;
    ``outputs.summary`` is idiomatic.json. Threads and device are set by
    :func:`mlpcompare.training.runs.prepare_framework`, exactly as for the tuned trainers; ``settings``
    is the inference benchmark's (config ``bench``).
    """
    tuned, used_device = prepare_framework(framework, threads, device)
    path = module(framework)
    data = io.read_npz(split_path, SPLIT_ARRAYS)
    info = io.read_json(info_path)
    settings = bench.Settings.from_config(settings).shared_by(len(seeds))
    records = []
    for i, seed in enumerate(seeds):
        run = SimpleNamespace(
            **{name: paths[i] for name, paths in vars(outputs).items() if name != "summary"}
        )
        weights = io.read_npz(init_paths[i])
        record = train_one(path, tuned, framework, data, weights, arch, training, seed,
                           device=used_device, threads=threads, outputs=run)  # fmt: skip
        evaluate_one(path, tuned, framework, record, data, info, arch, settings,
                     device=used_device, threads=threads, outputs=run)  # fmt: skip
        records.append(record)
    io.write_json(epoch_times(framework, path.API, records), outputs.summary)
    return records


def train_one(path, tuned, framework, data, weights, arch, training, seed, *, device, threads,
              outputs) -> dict:  # fmt: skip
    """Train one seed with the idiomatic ``path``; write its model, history.csv and train.json."""
    n_train, n_in = data["x_train"].shape
    model_spec = model_spec_for(arch, weights, n_in)
    train_spec = train_spec_for(training, n_train)
    log.info(
        "%s idiomatic (%s), seed %d: %s on %s, %d threads, %s",
        framework, path.API, seed, model_spec.layer_sizes, device, threads, train_spec,
    )  # fmt: skip
    result = path.fit(
        model_spec, train_spec, weights, data, seed=seed, device=device, model_path=outputs.model
    )
    summarise(result, n_train, loss_limit=divergence_limit(model_spec.n_out))
    io.write_csv(result.history, outputs.history, HISTORY_COLUMNS)
    record = run_record(
        result, framework, seed, model_spec, n_train, training, device, threads, tuned
    ) | {
        "variant": VARIANT,
        "api": path.API,
        "inference_api": path.INFERENCE_API,
        "train_loss_includes_penalty": path.LOSS_INCLUDES_PENALTY,
    }
    io.write_json(record, outputs.train)
    log.info(
        "seed %d: %s, %d epochs, best epoch %d, %.0f samples/s (steady)",
        seed, result.status, len(result.history), result.best_epoch,
        result.steady_samples_per_s,
    )  # fmt: skip
    return record


def summarise(result: FitResult, n_train: int, loss_limit: float) -> None:
    """Fill in what the history implies: times, steady throughput and divergence.

    The idiomatic loops, like the frameworks' own, do not stop on a blown-up loss; a run with an
    epoch whose losses :func:`mlpcompare.training.loop.diverged` rejects is marked diverged, as
    :func:`mlpcompare.training.loop.fit` marks a tuned run, so its metrics are null.
    """
    seconds = [h["epoch_seconds"] for h in result.history]
    result.total_seconds = float(sum(seconds))
    result.first_epoch_seconds = seconds[0] if seconds else 0.0
    result.steady_samples_per_s = steady_throughput(result.history, n_train)
    for h in result.history:
        if diverged(h["train_loss"], h["val_loss"], loss_limit):
            result.diverged, result.diverged_epoch = True, h["epoch"]
            log.warning("diverged at epoch %d: loss %.4g (train) / %.4g (val)",
                        h["epoch"], h["train_loss"], h["val_loss"])  # fmt: skip
            break


def evaluate_one(path, tuned, framework, record, data, info, arch, settings, *, device, threads,
                 outputs) -> None:  # fmt: skip
    """Evaluate the saved model as a tuned run is evaluated, timing only ``path.INFERENCE_API``."""
    model_spec = ModelSpec.from_info(arch, info)
    model = evaluation.load_model(tuned, outputs.model, model_spec, device)
    test = {"x_test": data["x_test"], "y_test": data["y_test"]}
    evaluation.evaluate(model, framework, record, test, info, outputs)
    timed = only_api(model, path.INFERENCE_API)
    evaluation.benchmark(
        timed, framework, tuned, device, data["x_test"], threads, settings, outputs
    )


def only_api(model, api: str) -> SimpleNamespace:
    """``model`` offering just its inference call ``api`` to :func:`evaluation.benchmark`."""
    calls = model.inference_apis()
    return SimpleNamespace(inference_apis=lambda: {api: calls[api]})


def epoch_times(framework: str, api: str, records: list[dict]) -> dict:
    """idiomatic.json: each seed's first-epoch time and steady samples/s, which the
    development-experience table reads (mlpcompare.measuring.devexp); train.json holds the rest."""
    keys = ("seed", "first_epoch_seconds", "steady_samples_per_s")
    return {
        "framework": framework,
        "variant": VARIANT,
        "api": api,
        "seeds": [{key: record[key] for key in keys} for record in records],
    }
