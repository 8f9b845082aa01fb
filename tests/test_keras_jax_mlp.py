"""The Keras-on-JAX trainer against hand-written NumPy (tests/reference_mlp.py): forward with
BatchNorm, the epoch's ``lax.scan`` against single steps (dropout and BatchNorm state carried),
no retracing for a new rate, the run record, and the backend it insists on. Its optimizer steps,
BatchNorm and AdamW are checked with every framework's in the shared tests.

Keras fixes its backend at its first import, and these tests' process may have imported it with
TensorFlow: they run in a process of their own (the ``framework`` marker, tests/conftest.py), so
the framework is imported inside them, never at the top of this file.
"""

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from reference_mlp import (
    BN_SPEC,
    assert_a_new_rate_does_not_retrace,
    assert_params_close,
    by_epoch_and_by_step,
    numpy_forward,
    tiny_problem,
    varied_bn_weights,
)

from mlpcompare.spec import ModelSpec, TrainSpec, init_weights

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.framework("keras-jax")


@pytest.fixture(scope="module")
def keras_jax():
    from mlpcompare.frameworks import keras_jax

    return keras_jax


def test_batch_norm_forward_matches_numpy_and_weights_round_trip(keras_jax):
    x, y, _ = tiny_problem(spec=BN_SPEC)
    weights = varied_bn_weights()
    trainer = keras_jax.Trainer(BN_SPEC, TrainSpec(), weights, x, y, seed=0, device="cpu")
    logits, _ = numpy_forward({k: v.astype(np.float64) for k, v in weights.items()}, x)
    np.testing.assert_allclose(trainer.predict_logits(x), logits, rtol=0, atol=1e-5)
    assert_params_close(trainer.get_weights(), weights, atol=0)
    with pytest.raises(ValueError, match="W0 has shape"):
        trainer.set_weights(weights | {"W0": weights["W0"].T})


def test_epoch_scan_equals_the_same_steps_one_by_one(keras_jax, n=12):
    """Two epochs (two full blocks in the scan, then a smaller batch), then the same batches one
    by one: identical weights, dropout included (each Dropout's seed state is carried from step
    to step) and BatchNorm's running statistics."""
    spec = ModelSpec(n_in=5, hidden=(16, 8), n_out=3, dropout=0.4, batch_norm=True)
    ts = TrainSpec(optimizer="adam", batch_size=5)
    x, y, _ = tiny_problem(n=n, spec=spec)
    weights = init_weights(spec, 0)
    new_trainer = partial(keras_jax.Trainer, spec, ts, weights, x, y, seed=0, device="cpu")
    trained, stepped = by_epoch_and_by_step(new_trainer, x, y, ts.batch_size)
    assert_params_close(trained, stepped, atol=1e-6)
    assert not np.allclose(trained["mean0"], 0) and not np.allclose(trained["var1"], 1)


def test_a_new_rate_does_not_retrace(keras_jax):
    x, y, weights = tiny_problem(spec=BN_SPEC)
    train_spec = TrainSpec(optimizer="adamw", weight_decay=0.1, batch_size=5)
    trainer = keras_jax.Trainer(BN_SPEC, train_spec, weights, x, y, seed=0, device="cpu")
    assert_a_new_rate_does_not_retrace(trainer, x, y)


def last_two_lines_in_a_fresh_interpreter(code: str) -> list[str]:
    """What ``code`` prints last, run by a new Python with this checkout's ``src``: this
    process's other tests (collected beside these) may have imported anything."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.split("\n")[-3:-1]


def test_training_and_saving_start_neither_tensorflow_nor_torch(tmp_path):
    """A machine with JAX alone runs this framework, and a job does not pay TensorFlow's start
    (~6 s) to save its model: Keras' serializer would import it only to ask whether it is there
    (keras_common.serving.tensorflow_not_asked). The file still loads to the same weights."""
    path = tmp_path / "model.keras"
    code = (
        "import sys, numpy as np\n"
        "from mlpcompare.frameworks import keras_jax\n"
        "from mlpcompare.spec import ModelSpec, TrainSpec, init_weights, batch_order\n"
        "spec = ModelSpec(n_in=4, hidden=(3,), n_out=2)\n"
        "x = np.random.default_rng(0).random((8, 4), dtype=np.float32); y = np.arange(8) % 2\n"
        "t = keras_jax.Trainer(spec, TrainSpec(batch_size=4), init_weights(spec, 0), x, y,"
        " seed=0, device='cpu')\n"
        "t.train_epoch(batch_order(0, 0, 8), 0.01)\n"
        f"t.save({str(path)!r})\n"
        "print(sorted({'tensorflow', 'torch'} & set(sys.modules)))\n"
        "from mlpcompare.frameworks.keras_jax.serving import load_model\n"
        f"loaded = load_model({str(path)!r}, spec, 'cpu')\n"
        "print(np.array_equal(loaded.predict_logits(x), t.predict_logits(x)))"
    )
    assert last_two_lines_in_a_fresh_interpreter(code) == ["[]", "True"]


def test_the_idiomatic_variant_does_not_start_tensorflow(tmp_path):
    """keras.utils.set_random_seed would import TensorFlow where it is installed only to seed
    it; the idiomatic variant on JAX runs as on a machine with JAX alone, and still reproduces
    itself from its seed."""
    code = (
        "import sys, numpy as np\n"
        "from mlpcompare.frameworks.keras_jax import idiomatic\n"
        "from mlpcompare.spec import ModelSpec, TrainSpec, init_weights\n"
        "spec = ModelSpec(n_in=4, hidden=(3,), n_out=2, dropout=0.5)\n"
        "rng = np.random.default_rng(0)\n"
        "data = {k: rng.random((8, 4), dtype=np.float32) for k in ('x_train', 'x_val')}\n"
        "data |= {'y_train': np.arange(8) % 2, 'y_val': np.arange(8) % 2}\n"
        "ts = TrainSpec(batch_size=4, epochs=2)\n"
        "runs = [idiomatic.fit(spec, ts, init_weights(spec, 0), data, seed=3, device='cpu',"
        f" model_path={str(tmp_path)!r} + f'/m{{i}}.keras').history for i in range(2)]\n"
        "runs = [[epoch['train_loss'] for epoch in history] for history in runs]\n"
        "print(sorted({'tensorflow', 'torch'} & set(sys.modules)))\n"
        "print(runs[0] == runs[1])"
    )
    assert last_two_lines_in_a_fresh_interpreter(code) == ["[]", "True"]


def test_environment_records_the_backend_precision_and_threads(keras_jax):
    keras_jax.configure_threads(1)
    env = keras_jax.environment()
    assert env["framework"] == "keras-jax" and env["backend"] == "jax"
    assert env["matmul_precision"] == "highest"
    assert set(env["versions"]) == {"keras", "jax", "jaxlib"}
    if hasattr(os, "sched_setaffinity"):
        assert env["threads"] == 1


def test_a_keras_started_with_another_backend_is_refused_in_one_line():
    """Keras on NumPy (the cheapest backend to start) first, then this framework: one line."""
    code = "import keras; import mlpcompare.frameworks.keras_jax"
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == (
        "ImportError: mlpcompare.frameworks.keras_jax needs Keras on the JAX backend, but Keras "
        "was already imported in this process with 'numpy'; run it in a process of its own"
    )
