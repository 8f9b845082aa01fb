"""Where the JAX MLP runs: CPU threads, the device, and the record of both."""

from __future__ import annotations

import contextlib
import logging
import os
from functools import partial
from importlib.metadata import version

import jax
import jax.numpy as jnp
import optax

DEVICES = ("auto", "cpu", "cuda")
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


def configure_threads(n: int) -> None:
    """Let this process run on ``n`` CPUs: the only thread setting XLA's CPU backend obeys.

    XLA has no thread-count option (``--xla_cpu_multi_thread_eigen=false`` and the old
    ``intra_op_parallelism_threads`` no longer limit it: a 2048x2048 product still kept four
    threads busy here). Its CPU client sizes its thread pools by the CPUs the process may run on
    (``sched_getaffinity``) when the backend starts, so the CPU affinity is narrowed to ``n`` of
    the allowed CPUs, for every thread of the process (threads made later inherit it). Called
    before the first array, the pools get ``n`` threads; called later, the existing threads still
    share those ``n`` CPUs. Under SLURM the job's cgroup usually allows exactly ``n`` CPUs already
    and nothing changes. :func:`environment` records the CPUs in effect.
    """
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    if not hasattr(os, "sched_setaffinity"):  # not Linux: XLA uses every CPU
        return
    allowed = sorted(os.sched_getaffinity(0))
    if n >= len(allowed):
        return
    cpus = set(allowed[:n])
    for thread_id in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended since the listing
            os.sched_setaffinity(int(thread_id), cpus)


def resolve_device(requested: str) -> str:
    """``"auto"`` -> ``"cuda"`` if JAX has a CUDA device, else ``"cpu"``; checks ``"cuda"``."""
    if requested not in DEVICES:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    has_cuda = bool(cuda_devices())
    if requested == "cuda" and not has_cuda:
        raise RuntimeError(
            f"device 'cuda' was requested but JAX finds no CUDA device (jax {jax.__version__}, "
            f"backend {jax.default_backend()!r}; a GPU site installs jax[cuda12]); "
            f"use 'auto' or 'cpu'"
        )
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    return requested


def environment() -> dict:
    """Versions, backend, devices, threads (CPUs) and the x64 flag, for the run's record."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "framework": "jax",
        "versions": {
            "jax": jax.__version__,
            "jaxlib": version("jaxlib"),
            "optax": optax.__version__,
        },
        "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()],
        "device": jax.devices()[0].device_kind if cuda_devices() else "cpu",
        "threads": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_affinity": affinity,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "x64": bool(jax.config.read("jax_enable_x64")),
        "matmul_precision": PRECISION.name,
        "default_matmul_precision": jax.config.jax_default_matmul_precision,
    }


def cuda_devices() -> list[jax.Device]:
    try:
        return jax.devices("cuda")
    except RuntimeError:  # no CUDA backend in this jaxlib, or it failed to start
        return []


def jax_device(name: str) -> jax.Device:
    return cuda_devices()[0] if name == "cuda" else jax.devices("cpu")[0]


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
