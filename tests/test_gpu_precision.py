"""What the GPU path relies on, checked on the CPU: float32 products without TF32 in Keras on
TensorFlow and in JAX (as PyTorch's allow_tf32 = False), and JAX's in-run ceiling on a GPU, many
steps' products in one lax.scan, each step's products computed inside the loop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import jax
import numpy as np
import pytest

from mlpcompare import frameworks
from mlpcompare.frameworks.jax import runtime as jax_runtime
from mlpcompare.measuring import roofline
from mlpcompare.spec import ModelSpec, TrainSpec, init_weights

ROOT = Path(__file__).resolve().parent.parent
SPEC = ModelSpec(n_in=12, hidden=(16, 8), n_out=4)


def pairs_of(spec: ModelSpec, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [roofline.operands(g, rng) for g in roofline.trained_gemms(spec, batch_size)]


# --- JAX: full float32 products -------------------------------------------------------------


def test_every_product_of_a_jax_training_step_is_full_float32():
    """Forward and backward: each dot_general of the jitted step asks for HIGHEST precision,
    which on a GPU means float32, not TF32; the process default says the same for any product
    that names no precision."""
    jax_mlp = frameworks.get("jax").trainer_module()
    rng = np.random.default_rng(0)
    x = rng.random((32, SPEC.n_in), dtype=np.float32)
    y = rng.integers(0, SPEC.n_out, 32)
    trainer = jax_mlp.Trainer(SPEC, TrainSpec(optimizer="adam", lr=1e-3), init_weights(SPEC, 0),
                              x, y, seed=0, device="cpu")  # fmt: skip
    lowered = trainer._step.lower(trainer.params, trainer.stats, trainer.opt_state, trainer.x,
                                  trainer.y, np.float32(1e-3), trainer.key)  # fmt: skip
    dots = [line for line in lowered.as_text().splitlines() if "dot_general" in line]
    # Three products per layer (forward, weight and input gradient), none for the data's gradient.
    assert len(dots) == 3 * 3 - 1, dots
    assert all("precision = [HIGHEST, HIGHEST]" in line for line in dots), dots
    assert jax.config.jax_default_matmul_precision == "highest"
    env = jax_runtime.environment()
    assert env["matmul_precision"] == "HIGHEST" and env["default_matmul_precision"] == "highest"


# --- JAX: many steps' products in one call ----------------------------------------------------


def computations(hlo: str) -> dict[str, list[str]]:
    """An HLO module's text: computation name -> its instruction lines."""
    found, name = {}, None
    for line in hlo.splitlines():
        header = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
        if header:
            name = header.group(1)
            found[name] = []
        elif name and line.startswith(" "):
            found[name].append(line)
    return found


def dots_in(found: dict[str, list[str]], name: str) -> int:
    """Products computed in computation ``name`` and in those it calls (fusions, loops)."""
    count = 0
    for line in found[name]:
        count += bool(re.search(r"= \S+ dot\(", line))
        for callee in re.findall(r"(?:calls|body|to_apply|condition)=%([\w.\-]+)", line):
            count += dots_in(found, callee)
    return count


@pytest.mark.parametrize("steps", [2, 32])
def test_a_call_of_many_steps_computes_each_steps_products_inside_one_loop(steps):
    """Compiled as for a run: one while loop of ``steps`` iterations whose body holds every
    product of a step, so that none is hoisted out and computed once for all the steps."""
    pairs = pairs_of(SPEC, 64)
    scanned = jax.jit(partial(jax_runtime._scanned_products, steps=steps))
    hlo = scanned.lower(pairs).compile().as_text()
    found = computations(hlo)
    (body,) = re.findall(r"while\(.*body=%([\w.\-]+)", hlo)
    entry = re.search(r"^ENTRY %([\w.\-]+)", hlo, re.M).group(1)
    assert dots_in(found, body) == len(pairs)
    assert dots_in(found, entry) == len(pairs)  # the body's, and no other
    assert f'"known_trip_count":{{"n":"{steps}"}}' in hlo


def test_a_call_of_many_steps_returns_the_products():
    pairs = pairs_of(SPEC, 64)
    products = jax_runtime.step_products(pairs, "cpu", steps=4)()
    assert len(products) == len(pairs)
    for (lhs, rhs), product in zip(pairs, products, strict=True):
        np.testing.assert_allclose(np.asarray(product), lhs @ rhs, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        jax_runtime.step_products(pairs, "cpu", steps=0)


def test_the_in_run_ceiling_asks_jax_for_many_steps_on_cuda_and_one_on_the_cpu(monkeypatch):
    """RunCeiling's contract: on "cuda" STEPS_ON_GPU steps per call (here on the CPU device, the
    only one there is), on the CPU one step per call, as before."""
    cpu = roofline.RunCeiling(SPEC, 64, jax_runtime.step_products, "cpu")
    assert cpu.steps == 1 and cpu.measure(0.0) > 0
    monkeypatch.setattr(jax_runtime, "jax_device", lambda name: jax.devices("cpu")[0])
    gpu = roofline.RunCeiling(SPEC, 64, jax_runtime.step_products, "cuda")
    assert gpu.steps == roofline.STEPS_ON_GPU
    assert gpu.measure(0.0) > 0


# --- Keras on TensorFlow: TF32 off --------------------------------------------------------------

KERAS_SCRIPT = """
import json
from mlpcompare import frameworks
keras_mlp = frameworks.get("keras").trainer_module()
import tensorflow as tf
env = keras_mlp.environment()
print(json.dumps({"enabled": tf.config.experimental.tensor_float_32_execution_enabled(),
                  "recorded": env["tensor_float32"]}))
"""


def test_keras_on_tensorflow_turns_tf32_off_for_the_process():
    """TensorFlow runs float32 products in TF32 on Ampere and later GPUs unless told not to;
    importing the Keras framework tells it, and the run's record says so. A fresh process:
    Keras' backend is fixed once per process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("KERAS_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", KERAS_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    record = json.loads(out.stdout.splitlines()[-1])
    assert record == {"enabled": False, "recorded": False}
