"""Where the Keras-on-JAX MLP runs: the backend it needs, the matmul precision, the record of the
run's environment and the matrix products of the in-run ceiling. CPU threads and the device are
those of every framework on JAX (:mod:`mlpcompare.frameworks.jax_common.runtime`)."""

from __future__ import annotations

import logging
from importlib.metadata import version

import jax
import keras

from mlpcompare.frameworks.jax_common.runtime import devices_and_threads, jax_device

# The package sets KERAS_BACKEND before anything imports Keras; a process that imported Keras
# earlier with another backend (the TensorFlow-backed framework) cannot run this one.
if keras.backend.backend() != "jax":
    raise ImportError(
        f"mlpcompare.frameworks.keras_jax needs Keras on the JAX backend, but Keras was already "
        f"imported in this process with {keras.backend.backend()!r}; run it in a process of its own"
    )

# JAX probes for a TPU at start-up and logs, at INFO, that it found none: noise in every job's log.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
# float32 products in full float32, as the JAX framework asks of each product it writes. Keras'
# Dense layers call jnp.matmul without a precision argument, so the process-wide default is the
# only way to reach them (and model.fit, model.predict): on recent NVIDIA GPUs JAX's default
# rounds the operands to TF32 (10-bit mantissa), which torch does not. On the CPU nothing changes.
jax.config.update("jax_default_matmul_precision", "highest")


def environment() -> dict:
    """Versions, backend, devices, threads (CPUs) and matmul precision, for the run's record."""
    return {
        "framework": "keras-jax",
        "versions": {
            "keras": keras.__version__,
            "jax": jax.__version__,
            "jaxlib": version("jaxlib"),
        },
        "backend": keras.backend.backend(),
        "jax_backend": jax.default_backend(),
        **devices_and_threads(),
        "matmul_precision": jax.config.jax_default_matmul_precision,
    }


def step_products(pairs, device: str):
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with the product Keras' Dense runs
    on this backend (``keras.ops.matmul``, full float32) on ``device``, all in one jitted function
    as the trainer's steps run inside one, finished when it returns (and returned): what the
    in-run ceiling times (:class:`mlpcompare.measuring.roofline.RunCeiling`)."""
    where = jax_device(device)
    operands = [tuple(jax.device_put(m, where) for m in pair) for pair in pairs]

    @jax.jit
    def products(ops):
        return [keras.ops.matmul(a, b) for a, b in ops]

    return lambda: jax.block_until_ready(products(operands))
