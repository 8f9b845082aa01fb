"""Where the NumPy MLP runs: threads, device and the environment recorded with each result."""

from __future__ import annotations

import logging

import numpy as np
import threadpoolctl

from mlpcompare.measuring.envinfo import cpu_model

DEVICES = ("auto", "cpu", "cuda")
log = logging.getLogger(__name__)

# threadpoolctl applies the limit when the object is made; the reference keeps it (and the
# promise not to restore the original limits) for the whole process.
_thread_limits: threadpoolctl.threadpool_limits | None = None


def configure_threads(n: int) -> None:
    """Limit the BLAS (and any other native) thread pools to ``n`` threads for this process."""
    global _thread_limits
    _thread_limits = threadpoolctl.threadpool_limits(limits=n)


def resolve_device(requested: str) -> str:
    """The device actually used: always ``"cpu"``.

    ``device: cuda`` in the config means "frameworks that can use CUDA do"; NumPy has no GPU
    path, so it says so in the log and runs on the CPU (the result records ``cpu``) rather than
    failing a whole comparison.
    """
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {requested!r}")
    if requested == "cuda":
        log.warning("device 'cuda' requested: the NumPy MLP has no GPU path and runs on the CPU")
    return "cpu"


def step_products(pairs: list[tuple[np.ndarray, np.ndarray]], device: str):
    """A call that computes every ``lhs @ rhs`` of ``pairs`` as the trainer does (this BLAS,
    one product after another into preallocated arrays) and returns them: what the in-run
    ceiling times (:class:`mlpcompare.measuring.roofline.RunCeiling`)."""
    outs = [np.empty((lhs.shape[0], rhs.shape[1]), dtype=np.float32) for lhs, rhs in pairs]
    return lambda: [np.matmul(*pair, out=out) for pair, out in zip(pairs, outs, strict=True)]


def environment() -> dict:
    """Framework, versions, device, threads in effect and the BLAS libraries numpy loaded."""
    pools = threadpoolctl.threadpool_info()
    blas_threads = [pool["num_threads"] for pool in pools if pool["user_api"] == "blas"]
    return {
        "framework": "numpy",
        "versions": {"numpy": np.__version__, "threadpoolctl": threadpoolctl.__version__},
        "device": "cpu",
        "device_name": cpu_model(),
        "threads": max(blas_threads, default=None),
        "blas": pools,
    }
