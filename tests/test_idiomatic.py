"""The idiomatic variant: each framework's convenient path trains the same network from the same
weights with the same recipe, and the driver writes a valid idiomatic.json."""

import json
import math

import numpy as np
import pytest

from mlpcompare import frameworks, idiomatic, io, spec
from mlpcompare.logs import UserError
from mlpcompare.numpy_mlp import Trainer as NumpyTrainer

N, N_IN, N_OUT = 192, 8, 3
MODEL = spec.ModelSpec(N_IN, (16,), N_OUT, "relu", 0.0)
WEIGHTS = spec.init_weights(MODEL, 0)
FRAMEWORKS = frameworks.NAMES


def blobs(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters in N_IN dimensions: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_OUT, N_IN)) * 2
    y = np.arange(n) % N_OUT
    return (centres[y] + rng.normal(size=(n, N_IN))).astype(np.float32), y.astype(np.int64)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_two_epochs_time_and_learn(framework):
    x, y = blobs()
    train_spec = spec.TrainSpec(lr=0.01, batch_size=32)
    module = idiomatic.module(framework)
    history = module.train_epochs(MODEL, train_spec, WEIGHTS, x, y, seed=0, device="cpu", epochs=2)
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(0 < h["epoch_seconds"] < 60 for h in history)
    losses = [h["train_loss"] for h in history]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[1] < losses[0] < 3 * math.log(N_OUT)
    assert isinstance(module.API, str) and len(module.API) > 10


@pytest.mark.parametrize(
    "arch, optimizer",
    [
        ({"activation": "tanh", "dropout": 0.3}, {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}),
        ({"activation": "sigmoid", "dropout": 0.0}, {"optimizer": "sgd", "lr": 0.5}),
    ],
)
def test_numpy_loop_other_activations_dropout_and_sgd(arch, optimizer):
    x, y = blobs()
    model = spec.ModelSpec(N_IN, (16, 8), N_OUT, **arch)
    weights = spec.init_weights(model, 1)
    history = idiomatic.module("numpy").train_epochs(
        model, spec.TrainSpec(batch_size=16, **optimizer), weights, x, y,
        seed=1, device="cpu", epochs=3,
    )  # fmt: skip
    losses = [h["train_loss"] for h in history]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_weights_and_recipe_as_the_tuned_numpy_trainer(framework):
    """With one batch per epoch (order does not matter then) and no dropout, each epoch's loss
    is the full-batch loss before that epoch's step: the same as the tuned NumPy trainer's at the
    same step if initial weights, loss, Adam constants, weight decay and the rate's decay all
    agree. (Keras' own Adam puts epsilon elsewhere; with these gradients that is far below
    the tolerance.)"""
    x, y = blobs()
    path = idiomatic.module(framework)
    train_spec = spec.TrainSpec(lr=0.05, lr_decay=0.5, weight_decay=0.01, batch_size=N)
    tuned = NumpyTrainer(MODEL, train_spec, WEIGHTS, x, y, seed=0, device="cpu")
    expected = []
    for epoch in range(3):
        penalty = sum(
            0.5 * train_spec.weight_decay * float(np.sum(w.astype(np.float64) ** 2))
            for name, w in tuned.get_weights().items()
            if name.startswith("W")
        )
        loss = tuned.step(x, y, train_spec.lr_at(epoch))  # cross-entropy + penalty
        expected.append(loss if path.LOSS_INCLUDES_PENALTY else loss - penalty)
    history = path.train_epochs(MODEL, train_spec, WEIGHTS, x, y, seed=0, device="cpu", epochs=3)
    assert [h["train_loss"] for h in history] == pytest.approx(expected, rel=2e-4)


def write_inputs(tmp_path, seeds=(0, 1)):
    x, y = blobs()
    io.write_npz({"x_train": x, "y_train": y, "x_val": x[:10], "y_val": y[:10]},
                 tmp_path / "split.npz")  # fmt: skip
    inits = []
    for seed in seeds:
        inits.append(tmp_path / f"seed{seed}.npz")
        io.write_npz(spec.init_weights(MODEL, seed), inits[-1])
    return tmp_path / "split.npz", inits


ARCH = {"hidden": [16], "activation": "relu", "dropout": 0.0}
TRAINING = {"optimizer": "adam", "lr": 0.01, "lr_decay": 1.0, "batch_size": 32}


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_measure_writes_idiomatic_json(tmp_path, framework):
    split, inits = write_inputs(tmp_path)
    output = tmp_path / "out" / "idiomatic.json"
    idiomatic.measure(
        framework=framework, split_path=split, init_paths=inits, seeds=[0, 1], arch=ARCH,
        training=TRAINING, device="cpu", threads=1, epochs=3, output=output,
    )  # fmt: skip
    record = json.loads(output.read_text())
    assert record["framework"] == framework and record["variant"] == "idiomatic"
    assert record["api"] == idiomatic.module(framework).API
    assert (record["epochs"], record["n_train"], record["threads"]) == (3, N, 1)
    assert record["device"] == "cpu" and record["layer_sizes"] == [N_IN, 16, N_OUT]
    assert record["training"] == TRAINING
    assert record["environment"]["framework"] == framework
    assert [s["seed"] for s in record["seeds"]] == [0, 1]
    for seed in record["seeds"]:
        seconds = seed["epoch_seconds"]
        assert len(seconds) == 3 and all(s > 0 for s in seconds)
        assert seed["first_epoch_seconds"] == seconds[0]
        assert seed["steady_samples_per_s"] == pytest.approx(N / np.median(seconds[1:]))
        assert len(seed["train_loss"]) == 3 and seed["train_loss"][2] < seed["train_loss"][0]
    # Two seeds, two initialisations: the first epoch's losses differ.
    assert record["seeds"][0]["train_loss"][0] != record["seeds"][1]["train_loss"][0]


def test_measure_refuses_zero_epochs_and_oversized_batches(tmp_path):
    split, inits = write_inputs(tmp_path, seeds=(0,))
    kwargs = dict(
        framework="numpy", split_path=split, init_paths=inits, seeds=[0], arch=ARCH,
        device="cpu", threads=1, output=tmp_path / "idiomatic.json",
    )  # fmt: skip
    with pytest.raises(UserError, match="idiomatic_epochs is 0"):
        idiomatic.measure(**kwargs, training=TRAINING, epochs=0)
    with pytest.raises(UserError, match="larger than the training set"):
        idiomatic.measure(**kwargs, training={**TRAINING, "batch_size": N + 1}, epochs=2)
    assert not (tmp_path / "idiomatic.json").exists()
