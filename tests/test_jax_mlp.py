"""The JAX trainer against hand-written NumPy formulas (float64), on tiny arrays."""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT
from jax.flatten_util import ravel_pytree
from reference_mlp import (
    FORWARD_SPECS,
    SPEC,
    assert_params_close,
    numpy_forward,
    tiny_problem,
)

from mlpcompare import jax_mlp, jax_runtime
from mlpcompare.idiomatic import jax_optax
from mlpcompare.io import ArtifactError
from mlpcompare.numpy_mlp import Trainer as NumpyTrainer
from mlpcompare.spec import ModelSpec, TrainSpec, batch_order, batches, init_weights

CPU = jax.devices("cpu")[0]
cuda_only = pytest.mark.skipif(not jax_runtime.cuda_devices(), reason="needs a CUDA device")


def make_trainer(ts, x, y, weights, spec=SPEC, seed=0):
    return jax_mlp.Trainer(spec, ts, weights, x, y, seed=seed, device="cpu")


@pytest.mark.parametrize("spec", FORWARD_SPECS.values(), ids=FORWARD_SPECS)
def test_layout_round_trip_and_forward_match_numpy(spec):
    x, y, weights = tiny_problem(spec=spec)
    params = jax_mlp.params_from_canonical(weights, spec, CPU)
    assert_params_close(jax_mlp.canonical_from_params(params), weights, atol=0)
    want, _ = numpy_forward(weights, x.astype(np.float64), spec.activation)
    # Without a key predict is inference: dropout must be off, whatever its probability.
    got = np.asarray(jax_mlp.predict(params, jnp.asarray(x), spec.activation, spec.dropout))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    trainer = make_trainer(TrainSpec(), x, y, weights, spec=spec)
    np.testing.assert_allclose(trainer.predict_logits(x), want, rtol=0, atol=1e-5)


def test_params_from_canonical_rejects_a_transposed_or_missing_weight():
    _, _, weights = tiny_problem()
    with pytest.raises(ValueError, match="W0 has shape"):
        jax_mlp.params_from_canonical({**weights, "W0": weights["W0"].T}, SPEC, CPU)
    del weights["b2"]
    with pytest.raises(ValueError, match="b2 is missing"):
        jax_mlp.params_from_canonical(weights, SPEC, CPU)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_rate_scaling_and_numpy_threshold(rate):
    key = jax.random.key(7)
    x = jnp.ones((400, 500), jnp.float32)
    out = np.asarray(jax_mlp.dropout(x, rate, key))
    dropped = out == 0
    assert abs(dropped.mean() - rate) < 0.005  # 200,000 units: the std of the mean is ~0.001
    np.testing.assert_array_equal(out[~dropped], np.float32(1 / (1 - rate)))  # inverted scaling
    # The NumPy MLP's definition: dropped exactly where the raw 32-bit draw is below round(p*2**32).
    bits = np.asarray(jax.random.bits(key, x.shape, jnp.uint32)).astype(np.int64)
    np.testing.assert_array_equal(dropped, bits < round(rate * 2**32))


def test_dropout_is_active_in_training_mode_only():
    spec = ModelSpec(5, (64,), 3, dropout=0.5)
    x, _, weights = tiny_problem(spec=spec)
    params = jax_mlp.params_from_canonical(weights, spec, CPU)
    inference = jax_mlp.predict(params, jnp.asarray(x), "relu", 0.5)
    training = jax_mlp.predict(params, jnp.asarray(x), "relu", 0.5, jax.random.key(0))
    assert not np.allclose(training, inference)


def test_weight_decay_moves_the_weights_and_never_the_biases():
    x, y, weights = tiny_problem()
    lr, wd = 0.1, 0.5
    after = {}
    for decay in (0.0, wd):
        trainer = make_trainer(TrainSpec(optimizer="sgd", weight_decay=decay), x, y, weights)
        trainer.step(x, y, lr)
        after[decay] = trainer.get_weights()
    for name, value in weights.items():
        if name.startswith("b"):
            np.testing.assert_array_equal(after[wd][name], after[0.0][name], err_msg=name)
        else:  # plain SGD: the decay adds exactly -lr * wd * W
            np.testing.assert_allclose(
                after[wd][name] - after[0.0][name], -lr * wd * value, rtol=0, atol=1e-6
            )


@pytest.mark.parametrize("n", [15, 12], ids=["full-blocks-only", "with-remainder"])
def test_dropout_masks_depend_on_the_step_number_only(n):
    """Two epochs, then the same batches one by one: identical weights, dropout included."""
    spec = ModelSpec(n_in=5, hidden=(16, 8), n_out=3, dropout=0.4)
    ts = TrainSpec(optimizer="adam", batch_size=5)
    x, y, _ = tiny_problem(n=n, spec=spec)
    weights = init_weights(spec, 0)
    by_epoch, by_step = (make_trainer(ts, x, y, weights, spec=spec) for _ in range(2))
    for epoch in range(2):
        order = batch_order(0, epoch, n)
        by_epoch.train_epoch(order, lr=0.01)
        for index in batches(order, ts.batch_size):
            by_step.step(x[index], y[index], lr=0.01)
    assert_params_close(by_epoch.get_weights(), by_step.get_weights(), atol=1e-6)


def test_trainer_leaves_the_callers_weights_alone():
    """The steps donate their parameter buffers; they must never be the caller's arrays."""
    x, y, weights = tiny_problem()
    before = {k: v.copy() for k, v in weights.items()}
    trainer = make_trainer(TrainSpec(), x, y, weights)
    trainer.train_epoch(batch_order(0, 0, len(x)), lr=0.1)
    trainer.set_weights(weights)
    trainer.step(x, y, lr=0.1)
    assert_params_close(weights, before, atol=0)


def test_load_gives_a_clear_error_for_a_bad_file(tmp_path):
    x, y, weights = tiny_problem()
    good = tmp_path / "good.npz"
    make_trainer(TrainSpec(), x, y, weights).save(str(good))
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "garbage.npz": b"this is not a model" * 10,
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ArtifactError, match="not a readable"):
            jax_mlp.load_model(str(tmp_path / name), SPEC, "cpu")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3, np.float32))
    with pytest.raises(ArtifactError, match="one array, not an .npz archive"):
        jax_mlp.load_model(str(single), SPEC, "cpu")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ArtifactError, match="not a readable"):
        jax_mlp.load_model(str(pickled), SPEC, "cpu")
    other = ModelSpec(n_in=5, hidden=(4, 4), n_out=3)
    with pytest.raises(ValueError, match=r"does not hold the \[5, 4, 4, 3\] MLP: W1 has shape"):
        jax_mlp.load_model(str(good), other, "cpu")
    with pytest.raises(FileNotFoundError):
        jax_mlp.load_model(str(tmp_path / "absent.npz"), SPEC, "cpu")


def test_resolve_device_picks_cuda_when_jax_has_it(monkeypatch):
    monkeypatch.setattr(jax_runtime, "cuda_devices", lambda: ["gpu"])
    assert jax_mlp.resolve_device("auto") == "cuda"
    assert jax_mlp.resolve_device("cuda") == "cuda"


THREADS_SCRIPT = """
import json, os
from mlpcompare import jax_mlp, jax_runtime
import jax.numpy as jnp
jax_mlp.configure_threads(1)
(jnp.ones((64, 64)) @ jnp.ones((64, 64))).block_until_ready()  # the backend starts after it
env = jax_mlp.environment()
threads = {len(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")}
print(json.dumps({"env": env, "per_thread_cpus": sorted(threads)}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_configure_threads_and_environment():
    # A child process: the affinity applies to the whole process, and the backend reads it once.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True, check=True, env=env
    )
    record = json.loads(out.stdout.splitlines()[-1])
    env = record["env"]
    assert env["framework"] == "jax" and env["versions"]["jax"] == jax.__version__
    assert env["threads"] == 1 and len(env["cpu_affinity"]) == 1
    assert record["per_thread_cpus"] == [1]  # every thread, XLA's pools included
    assert env["x64"] is False and env["backend"] in ("cpu", "gpu", "cuda")
    with pytest.raises(ValueError, match="at least 1"):
        jax_mlp.configure_threads(0)


@pytest.mark.parametrize("activation,rate", [("relu", 0.0), ("tanh", 0.3), ("sigmoid", 0.0)])
def test_gradient_matches_finite_differences_in_float64(activation, rate):
    """jax.grad of cross-entropy + penalty against central differences of the same function."""
    spec = ModelSpec(5, (4, 3), 3, activation=activation, dropout=rate)
    x, y, weights = tiny_problem(spec=spec)
    wd, h = 0.1, 1e-6
    with jax.enable_x64(True):
        params = [
            (jnp.asarray(weights[f"W{i}"], jnp.float64), jnp.asarray(weights[f"b{i}"], jnp.float64))
            for i in range(spec.n_layers)
        ]
        key = jax.random.key(3) if rate else None  # a fixed key: a fixed dropout mask
        xs, ys = jnp.asarray(x, jnp.float64), jnp.asarray(y)

        @jax.jit
        def objective(params):
            ce, _ = jax_mlp.loss(params, xs, ys, activation, rate, key)
            return ce + jax_mlp.penalty(params, wd)

        flat, unflatten = ravel_pytree(params)
        assert flat.dtype == jnp.float64
        analytic = np.asarray(ravel_pytree(jax.grad(objective)(params))[0])
        numeric = np.empty_like(analytic)
        for j in range(flat.size):
            step = jnp.zeros_like(flat).at[j].set(h)
            numeric[j] = (objective(unflatten(flat + step)) - objective(unflatten(flat - step))) / (
                2 * h
            )
    relative = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert relative < 1e-6, relative
    assert np.abs(analytic).max() > 1e-3  # not trivially zero


def blobs(n=192, n_in=8, n_out=3, seed=0):
    """Three Gaussian clusters in ``n_in`` dimensions: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_out, n_in)) * 2
    y = np.arange(n) % n_out
    return (centres[y] + rng.normal(size=(n, n_in))).astype(np.float32), y.astype(np.int64)


@pytest.mark.parametrize(
    "optimizer",
    [{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}],
)
def test_idiomatic_path_trains(optimizer):
    x, y = blobs()
    spec = ModelSpec(8, (16,), 3, "relu", 0.2)
    ts = TrainSpec(batch_size=32, weight_decay=0.01, **optimizer)
    history = jax_optax.train_epochs(
        spec, ts, init_weights(spec, 0), x, y, seed=0, device="cpu", epochs=3
    )
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(0 < h["epoch_seconds"] < 60 for h in history)
    losses = [h["train_loss"] for h in history]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] < 3 * math.log(3)
    assert isinstance(jax_optax.API, str) and len(jax_optax.API) > 10


def test_idiomatic_path_has_the_tuned_recipe():
    """One batch per epoch and no dropout: each epoch's loss is the full-batch cross-entropy
    before that epoch's step, as the tuned NumPy trainer computes it, if initial weights, Adam's
    constants, weight decay and the rate's per-epoch decay all agree."""
    x, y = blobs()
    spec = ModelSpec(8, (16,), 3)
    ts = TrainSpec(lr=0.05, lr_decay=0.5, weight_decay=0.01, batch_size=len(x))
    weights = init_weights(spec, 0)
    tuned = NumpyTrainer(spec, ts, weights, x, y, seed=0, device="cpu")
    expected = []
    for epoch in range(3):
        expected.append(tuned.evaluate(x, y)[0])  # cross-entropy, as the optax loop reports it
        tuned.step(x, y, ts.lr_at(epoch))
    history = jax_optax.train_epochs(spec, ts, weights, x, y, seed=0, device="cpu", epochs=3)
    assert [h["train_loss"] for h in history] == pytest.approx(expected, abs=1e-5)


def test_idiomatic_path_trains_on_the_device_it_is_given(monkeypatch):
    x, y = blobs(n=32)
    spec = ModelSpec(8, (4,), 3)
    used = []
    real_device = jax_optax._device
    monkeypatch.setattr(jax_optax, "_device", lambda name: used.append(name) or real_device(name))
    jax_optax.train_epochs(
        spec, TrainSpec(batch_size=16), init_weights(spec, 0), x, y, seed=0, device="cpu", epochs=1
    )
    assert used == ["cpu"]
    if not jax_runtime.cuda_devices():
        with pytest.raises(RuntimeError):
            jax_optax.train_epochs(
                spec, TrainSpec(batch_size=16), init_weights(spec, 0), x, y,
                seed=0, device="cuda", epochs=1,
            )  # fmt: skip


def test_the_model_file_holds_plain_canonical_float32_arrays(tmp_path):
    x, y, weights = tiny_problem()
    path = tmp_path / jax_mlp.MODEL_FILE
    make_trainer(TrainSpec(), x, y, weights).save(str(path))
    with np.load(path, allow_pickle=False) as saved:
        assert sorted(saved.files) == ["W0", "W1", "W2", "b0", "b1", "b2"]
        assert all(saved[name].dtype == np.float32 for name in saved.files)
        assert saved["W0"].shape == (5, 4)
