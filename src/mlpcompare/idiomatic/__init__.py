"""The idiomatic variant: each framework's convenient training path, timed for throughput only.

The tuned trainers (registry: ``trainer``) feed every framework the same mini-batches from arrays already in
memory; they are the reference for accuracy. The idiomatic variant trains the same network from
the same initial weights with the same hyper-parameters (learning rate and decay, Adam's betas
and epsilon, weight decay, batch size, dropout) but lets the convenient API decide batching and
shuffling, as a user following the framework's documentation would:

* :mod:`.numpy_loop`: a plain NumPy loop whose expressions allocate (what a notebook writes);
* :mod:`.torch_loop`: ``TensorDataset`` + ``DataLoader(shuffle=True)`` + the textbook loop;
* :mod:`.keras_fit`: ``model.compile`` + ``model.fit(shuffle=True)``;
* :mod:`.jax_optax`: a ``jax.jit`` step with an optax optimizer over ``jax.random`` shuffles.

The registry (:mod:`mlpcompare.frameworks`, ``idiomatic``) names each framework's module.

Each exposes ``train_epochs(model_spec, train_spec, weights, x_train, y_train, *, seed, device,
epochs)`` returning per-epoch ``epoch``, ``epoch_seconds`` and ``train_loss``, and ``API``, the
path in a few words. :func:`measure` runs one framework over every seed and writes
``idiomatic.json``; it imports only that framework.
"""

from __future__ import annotations

import logging
import math

from mlpcompare import frameworks, io
from mlpcompare.logs import UserError
from mlpcompare.runs import model_spec_for, prepare_framework, provenance, train_spec_for
from mlpcompare.training import steady_throughput

log = logging.getLogger(__name__)


def module(framework: str):
    """The idiomatic module of ``framework`` (registry: ``idiomatic``; imports the framework)."""
    return frameworks.get(framework).idiomatic_module()


def seed_record(seed: int, history: list[dict], n_train: int) -> dict:
    """One seed's entry of idiomatic.json from its per-epoch history."""
    return {
        "seed": seed,
        "epoch_seconds": [h["epoch_seconds"] for h in history],
        "first_epoch_seconds": history[0]["epoch_seconds"] if history else None,
        "steady_samples_per_s": steady_throughput(history, n_train),
        "train_loss": [h["train_loss"] for h in history],
    }


def measure(
    *, framework, split_path, init_paths, seeds, arch, training, device, threads, epochs, output
) -> dict:
    """Train ``framework``'s idiomatic path ``epochs`` epochs per seed; write ``output`` (JSON).

    ``init_paths`` are the init files of ``seeds``, in the same order. Threads and device are
    set by :func:`mlpcompare.runs.prepare_framework`, exactly as for the tuned trainers. Steady
    samples/s is the training set size over the median epoch time after the first epoch
    (:func:`mlpcompare.training.steady_throughput`), as for the tuned trainers.
    """
    if epochs < 1:
        raise UserError(f"bench.idiomatic_epochs is {epochs}: the idiomatic variant is off")
    tuned, used_device = prepare_framework(framework, threads, device)
    path = module(framework)
    data = io.read_npz(split_path, ["x_train", "y_train"])
    n_train, n_in = data["x_train"].shape
    train_spec = train_spec_for(training, n_train)
    records, model_spec = [], None
    for seed, init_path in zip(seeds, init_paths, strict=True):
        weights = io.read_npz(init_path)
        model_spec = model_spec_for(arch, weights, n_in)
        log.info(
            "%s idiomatic (%s), seed %d: %s on %s, %d threads, %d epochs",
            framework, path.API, seed, model_spec.layer_sizes, used_device, threads, epochs,
        )  # fmt: skip
        history = path.train_epochs(
            model_spec, train_spec, weights, data["x_train"], data["y_train"],
            seed=seed, device=used_device, epochs=epochs,
        )  # fmt: skip
        record = seed_record(seed, history, n_train)
        if not all(math.isfinite(loss) for loss in record["train_loss"]):
            log.warning("seed %d: training loss not finite (%s)", seed, record["train_loss"])
        log.info("seed %d: %.0f samples/s (steady)", seed, record["steady_samples_per_s"])
        records.append(record)
    result = {
        "framework": framework,
        "variant": "idiomatic",
        "api": path.API,
        "epochs": epochs,
        "n_train": n_train,
        "layer_sizes": model_spec.layer_sizes if model_spec else None,
        "training": training,
        "device": used_device,
        "threads": threads,
        "seeds": records,
        **provenance(tuned),
    }
    io.write_json(result, output)
    return result
