"""The JAX trainer against hand-written NumPy formulas (float64), on tiny arrays."""

import json
import os
import subprocess
import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT
from jax.flatten_util import ravel_pytree
from reference_mlp import (
    BN_SPEC,
    FORWARD_SPECS,
    SPEC,
    assert_a_new_rate_does_not_retrace,
    assert_params_close,
    by_epoch_and_by_step,
    numpy_forward,
    tiny_problem,
)

from mlpcompare import frameworks
from mlpcompare.frameworks import jax as jax_mlp
from mlpcompare.frameworks.jax_common import runtime as jax_runtime
from mlpcompare.io import ArtifactError
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    ModelSpec,
    TrainSpec,
    batch_order,
    init_weights,
)

CPU = jax.devices("cpu")[0]
cuda_only = pytest.mark.skipif(not jax_runtime.cuda_devices(), reason="needs a CUDA device")


def make_trainer(ts, x, y, weights, spec=SPEC, seed=0):
    return jax_mlp.Trainer(spec, ts, weights, x, y, seed=seed, device="cpu")


@pytest.mark.parametrize("spec", FORWARD_SPECS.values(), ids=FORWARD_SPECS)
def test_layout_round_trip_and_forward_match_numpy(spec):
    x, y, weights = tiny_problem(spec=spec)
    params, stats = jax_mlp.params_from_canonical(weights, spec, CPU)
    assert_params_close(jax_mlp.canonical_from_params(params, stats), weights, atol=0)
    want, _ = numpy_forward(weights, x.astype(np.float64), spec.activation)
    # Without a key the forward pass is inference: dropout must be off, whatever its probability.
    got, _ = jax_mlp.forward(params, stats, jnp.asarray(x), spec.activation, spec.dropout)
    got = np.asarray(got)
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
    params, stats = jax_mlp.params_from_canonical(weights, spec, CPU)
    inference, _ = jax_mlp.forward(params, stats, jnp.asarray(x), "relu", 0.5)
    training, _ = jax_mlp.forward(params, stats, jnp.asarray(x), "relu", 0.5, jax.random.key(0))
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


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
@pytest.mark.parametrize("n", [15, 12], ids=["full-blocks-only", "with-remainder"])
def test_epoch_scan_equals_the_same_steps_one_by_one(n, batch_norm):
    """Two epochs, then the same batches one by one: identical weights, dropout included (its
    masks depend on the step number only) and BatchNorm's running statistics, which the scan must
    carry from batch to batch as the single steps do."""
    spec = ModelSpec(n_in=5, hidden=(16, 8), n_out=3, dropout=0.4, batch_norm=batch_norm)
    ts = TrainSpec(optimizer="adam", batch_size=5)
    x, y, _ = tiny_problem(n=n, spec=spec)
    weights = init_weights(spec, 0)
    new_trainer = partial(make_trainer, ts, x, y, weights, spec=spec)
    trained, stepped = by_epoch_and_by_step(new_trainer, x, y, ts.batch_size)
    assert_params_close(trained, stepped, atol=1e-6)
    if batch_norm:  # six or eight updates of the running statistics, not one or none
        assert not np.allclose(trained["mean0"], 0) and not np.allclose(trained["var1"], 1)


def test_batch_norm_layers_are_absent_from_the_pytrees_without_batch_norm():
    """The network without BatchNorm compiles to the same step as before BatchNorm existed."""
    _, _, weights = tiny_problem()
    params, stats = jax_mlp.params_from_canonical(weights, SPEC, CPU)
    assert [len(layer) for layer in params] == [2, 2, 2] and stats == []
    _, _, weights = tiny_problem(spec=BN_SPEC)
    params, stats = jax_mlp.params_from_canonical(weights, BN_SPEC, CPU)
    assert [len(layer) for layer in params] == [4, 4, 2]  # (W, b, gamma, beta); output (W, b)
    assert [tuple(a.shape for a in pair) for pair in stats] == [((4,), (4,)), ((3,), (3,))]


def test_batch_norm_normalises_by_the_batch_or_the_running_statistics():
    rng = np.random.default_rng(0)
    z, gamma, beta, mean, var = (rng.normal(size=shape) for shape in [(6, 4)] + [(4,)] * 4)
    var = np.abs(var) + 0.5
    args = [jnp.asarray(a, jnp.float32) for a in (z, gamma, beta)]
    running = (jnp.asarray(mean, jnp.float32), jnp.asarray(var, jnp.float32))

    y, (new_mean, new_var) = jax_mlp.batch_norm(*args, running, training=True)
    batch_var = z.var(axis=0)  # biased (divided by 6): the spec's, not torch's unbiased one
    want = gamma * (z - z.mean(axis=0)) / np.sqrt(batch_var + BN_EPS) + beta
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-5)
    m = BN_MOMENTUM
    np.testing.assert_allclose(new_mean, (1 - m) * mean + m * z.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(new_var, (1 - m) * var + m * batch_var, rtol=0, atol=1e-6)

    y, unchanged = jax_mlp.batch_norm(*args, running, training=False)
    want = gamma * (z - mean) / np.sqrt(var + BN_EPS) + beta
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-5)
    assert unchanged is running


def test_a_new_learning_rate_does_not_retrace_the_compiled_steps():
    x, y, weights = tiny_problem(spec=BN_SPEC)
    train_spec = TrainSpec(optimizer="adamw", weight_decay=0.1, batch_size=5)
    trainer = make_trainer(train_spec, x, y, weights, spec=BN_SPEC)
    assert_a_new_rate_does_not_retrace(trainer, x, y)


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
from mlpcompare.frameworks import jax as jax_mlp
from mlpcompare.frameworks.jax import runtime as jax_runtime
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


@pytest.mark.parametrize(
    "activation,rate,batch_norm",
    [
        ("relu", 0.0, False),
        ("tanh", 0.3, False),
        ("sigmoid", 0.0, False),
        ("relu", 0.0, True),
        ("tanh", 0.3, True),
    ],
)
def test_gradient_matches_finite_differences_in_float64(activation, rate, batch_norm):
    """jax.grad of cross-entropy + penalty against central differences of the same function,
    in training mode (a fixed dropout mask; BatchNorm on the batch's statistics)."""
    spec = ModelSpec(5, (4, 3), 3, activation=activation, dropout=rate, batch_norm=batch_norm)
    x, y, weights = tiny_problem(spec=spec)
    wd, h = 0.1, 1e-6
    with jax.enable_x64(True):
        params, stats = jax.tree.map(
            lambda a: jnp.asarray(a, jnp.float64), jax_mlp.params_from_canonical(weights, spec, CPU)
        )
        key = jax.random.key(3)
        xs, ys = jnp.asarray(x, jnp.float64), jnp.asarray(y)

        @jax.jit
        def objective(params):
            ce, _ = jax_mlp.loss(params, stats, xs, ys, activation, rate, key)
            return ce + jax_mlp.penalty(params, wd)

        flat, unflatten = ravel_pytree(params)
        assert flat.dtype == jnp.float64
        assert flat.size == spec.n_weights  # gamma and beta are differentiated too
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


def test_the_model_file_holds_plain_canonical_float32_arrays(tmp_path):
    x, y, weights = tiny_problem()
    path = tmp_path / frameworks.get("jax").model_file
    make_trainer(TrainSpec(), x, y, weights).save(str(path))
    with np.load(path, allow_pickle=False) as saved:
        assert sorted(saved.files) == ["W0", "W1", "W2", "b0", "b1", "b2"]
        assert all(saved[name].dtype == np.float32 for name in saved.files)
        assert saved["W0"].shape == (5, 4)


CACHE_SCRIPT = """
import json, numpy as np
from mlpcompare.frameworks import jax as jax_mlp
from mlpcompare.spec import ModelSpec, TrainSpec, init_weights, batch_order
spec = ModelSpec(n_in=4, hidden=(3,), n_out=2)
x = np.random.default_rng(0).random((10, 4), dtype=np.float32); y = np.arange(10) % 2
t = jax_mlp.Trainer(spec, TrainSpec(batch_size=4), init_weights(spec, 0), x, y, seed=0,
                    device="cpu")
t.train_epoch(batch_order(0, 0, 10), 0.01)
print(json.dumps(jax_mlp.environment()["compilation_cache"]))
"""


def test_a_second_process_loads_what_the_first_compiled(tmp_path):
    """The persistent compilation cache (jax_common.runtime.use_compilation_cache): every
    executable the first process compiles, the second loads, and the run's record counts both."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path),
    }
    env.pop("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", None)

    def cache_record():
        out = subprocess.run([sys.executable, "-c", CACHE_SCRIPT], capture_output=True,
                             text=True, check=True, env=env)  # fmt: skip
        return json.loads(out.stdout.splitlines()[-1])

    first, second = cache_record(), cache_record()
    assert first["dir"] == str(tmp_path)
    assert first["misses"] > 0 and first["hits"] == 0
    assert second == {**first, "hits": first["misses"], "misses": 0}


def test_the_idiomatic_paths_compile_afresh(tmp_path):
    """compile_afresh (the idiomatic variants' first call) leaves the cache out of the process:
    nothing is looked up or written, so a user's first epoch is timed with its compiling."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path),
    }
    script = CACHE_SCRIPT.replace(
        "from mlpcompare.frameworks import jax as jax_mlp\n",
        "from mlpcompare.frameworks import jax as jax_mlp\n"
        "from mlpcompare.frameworks.jax_common.runtime import compile_afresh\n"
        "compile_afresh()\n",
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=env)  # fmt: skip
    record = json.loads(out.stdout.splitlines()[-1])
    assert record["hits"] == record["misses"] == 0
    assert list(tmp_path.iterdir()) == []
