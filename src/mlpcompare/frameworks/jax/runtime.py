"""Where the JAX MLP runs: the matmul precision, the record of the run's environment and the
matrix products of the in-run ceiling. CPU threads and the device are those of every framework on
JAX (:mod:`mlpcompare.frameworks.jax_common.runtime`).
"""

from __future__ import annotations

import logging
from functools import partial
from importlib.metadata import version

import jax
import jax.numpy as jnp
import optax

from mlpcompare.frameworks.jax_common.runtime import devices_and_threads, jax_device

# JAX probes for a TPU at start-up and logs, at INFO, that it found none: noise in every job's
# log on a machine without one. Warnings and errors still come through.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
# float32 products in full float32. On the CPU that is what XLA does anyway; on recent NVIDIA GPUs
# JAX's default precision rounds the operands to TF32 (10-bit mantissa), which torch does not.
# The model passes it to every product it writes (their gradients inherit it); the process
# default covers any product that names none (a library's), as torch's
# allow_tf32 = False does for PyTorch.
PRECISION = jax.lax.Precision.HIGHEST
jax.config.update("jax_default_matmul_precision", "highest")


def environment() -> dict:
    """Versions, backend, devices, threads (CPUs) and the x64 flag, for the run's record."""
    return {
        "framework": "jax",
        "versions": {
            "jax": jax.__version__,
            "jaxlib": version("jaxlib"),
            "optax": optax.__version__,
        },
        "backend": jax.default_backend(),
        **devices_and_threads(),
        "x64": bool(jax.config.read("jax_enable_x64")),
        "matmul_precision": PRECISION.name,
        "default_matmul_precision": jax.config.jax_default_matmul_precision,
    }


def step_products(pairs, device: str, steps: int = 1):
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with XLA's product (full float32
    precision, as in training) on ``device``, all in one jitted function as the trainer's steps
    run inside one, finished when it returns (and returned): what the in-run ceiling times
    (:class:`mlpcompare.measuring.roofline.RunCeiling`).

    With ``steps`` above 1 (RunCeiling asks for that on a GPU) one call runs ``steps`` steps'
    products in one ``lax.scan``, as the trainer runs an epoch's batches (:func:`_scanned_products`):
    one dispatch and one wait (``block_until_ready``) for all of them, so that on a GPU, where a
    step's small products take microseconds, the host's launch and sync are spread over
    ``steps`` steps rather than set against each. It returns the last step's products; the
    ceiling divides the call's host-clock time by ``steps``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    where = jax_device(device)
    operands = [tuple(jax.device_put(m, where) for m in pair) for pair in pairs]
    if steps == 1:
        products = jax.jit(_products)
    else:
        products = jax.jit(partial(_scanned_products, steps=steps))
    return lambda: jax.block_until_ready(products(operands))


def _products(ops):
    return [jnp.matmul(a, b, precision=PRECISION) for a, b in ops]


def _scanned_products(ops, steps: int):
    """``steps`` steps' products, each step's computed anew, in one ``lax.scan``.

    The operands are the same every step, so XLA would hoist the products out of the loop (loop-
    invariant code motion) and time one step's for all of them. Each step therefore takes them
    from the loop's carry through ``optimization_barrier``, which XLA cannot see through: for
    the compiler every step's operands, and so its products, are new (a test reads the compiled
    HLO: the products stay inside the loop). The barrier is no operation at run time and copies
    nothing. The products go into the carry too, so none of them is dead.
    """

    def step(carry, _):
        operands, _last = carry
        operands = jax.lax.optimization_barrier(operands)
        return (operands, _products(operands)), None

    first = [jnp.zeros((a.shape[0], b.shape[1]), jnp.result_type(a, b)) for a, b in ops]
    (_, last), _ = jax.lax.scan(step, (ops, first), None, length=steps)
    return last
