"""Where the Keras-on-JAX MLP runs: the backend it needs, CPU threads, the device, the matmul
precision, and the record of all of them."""

from __future__ import annotations

import contextlib
import logging
import os
from importlib.metadata import version

import jax
import keras

# The package sets KERAS_BACKEND before anything imports Keras; a process that imported Keras
# earlier with another backend (the TensorFlow-backed framework) cannot run this one.
if keras.backend.backend() != "jax":
    raise ImportError(
        f"mlpcompare.frameworks.keras_jax needs Keras on the JAX backend, but Keras was already "
        f"imported in this process with {keras.backend.backend()!r}; run it in a process of its own"
    )

DEVICES = ("auto", "cpu", "cuda")
KERAS_DEVICES = {"cpu": "cpu:0", "cuda": "gpu:0"}
# JAX probes for a TPU at start-up and logs, at INFO, that it found none: noise in every job's log.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
# float32 products in full float32, as the JAX framework asks of each product it writes. Keras'
# Dense layers call jnp.matmul without a precision argument, so the process-wide default is the
# only way to reach them (and model.fit, model.predict): on recent NVIDIA GPUs JAX's default
# rounds the operands to TF32 (10-bit mantissa), which torch does not. On the CPU nothing changes.
jax.config.update("jax_default_matmul_precision", "highest")


def configure_threads(n: int) -> None:
    """Let this process run on ``n`` CPUs: the only thread setting XLA's CPU backend obeys.

    As for the JAX framework (mlpcompare.frameworks.jax.runtime, whose docstring has the
    measurements): XLA sizes its CPU thread pools by the CPUs the process may run on when the
    backend starts, so the affinity of every thread is narrowed to ``n`` of the allowed CPUs.
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


def cuda_devices() -> list[jax.Device]:
    try:
        return jax.devices("cuda")
    except RuntimeError:  # no CUDA backend in this jaxlib, or it failed to start
        return []


def resolve_device(requested: str) -> str:
    """``"auto"`` -> ``"cuda"`` if JAX has a CUDA device, else ``"cpu"``; checks ``"cuda"``."""
    if requested not in DEVICES:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    has_cuda = bool(cuda_devices())
    if requested == "cuda" and not has_cuda:
        raise RuntimeError(
            f"device 'cuda' was requested but JAX finds no CUDA device (jax {jax.__version__}; "
            f"a GPU site installs jax[cuda12]); use 'auto' or 'cpu'"
        )
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    return requested


def jax_device(name: str) -> jax.Device:
    return cuda_devices()[0] if name == "cuda" else jax.devices("cpu")[0]


def environment() -> dict:
    """Versions, backend, devices, threads (CPUs) and matmul precision, for the run's record."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "framework": "keras-jax",
        "versions": {
            "keras": keras.__version__,
            "jax": jax.__version__,
            "jaxlib": version("jaxlib"),
        },
        "backend": keras.backend.backend(),
        "jax_backend": jax.default_backend(),
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()],
        "device": jax.devices()[0].device_kind if cuda_devices() else "cpu",
        "threads": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_affinity": affinity,
        "xla_flags": os.environ.get("XLA_FLAGS"),
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
