"""Where the PyTorch MLP runs: threads, the device, and the environment recorded with each result."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import numpy as np
import torch


def resolve_device(requested: str) -> str:
    """``"auto"`` -> ``"cuda"`` if a CUDA device is usable, else ``"cpu"``; checks ``"cuda"``."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device 'cuda' was requested but torch finds no CUDA device (torch "
            f"{torch.__version__}, built with CUDA {torch.version.cuda}); use 'auto' or 'cpu'"
        )
    return requested


def configure_threads(n: int) -> None:
    """Use ``n`` intra-op threads; call before building any model or tensor."""
    torch.set_num_threads(n)
    # An MLP is one chain of dependent ops: inter-op threads would have nothing to run side by
    # side and would only compete with the n intra-op threads for the job's cores. Torch lets
    # this be set once per process, before any parallel work; a later call keeps the first.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def step_products(
    pairs: list[tuple[np.ndarray, np.ndarray]], device: str
) -> Callable[[], list[torch.Tensor]]:
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with torch's own product on
    ``device``, one eager ``mm`` after another as the trainer's step runs them, finished when
    it returns (and returned): what the in-run ceiling times
    (:class:`mlpcompare.measuring.roofline.RunCeiling`). A transposed view stays a view (torch hands BLAS
    a transpose flag, as in the backward pass)."""
    tensors = [tuple(torch.from_numpy(m).to(device) for m in pair) for pair in pairs]
    outs = [torch.empty((a.shape[0], b.shape[1]), device=device) for a, b in tensors]

    def call():
        products = [torch.mm(a, b, out=out) for (a, b), out in zip(tensors, outs, strict=True)]
        if device != "cpu":
            torch.cuda.synchronize()  # a CUDA kernel returns at launch; time it to its end
        return products

    return call


def environment() -> dict:
    """Framework, versions, device, threads and BLAS, recorded with every result."""
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    cuda = torch.cuda.is_available()
    return {
        "framework": "torch",
        "version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas.group(1) if blas else None,
        "mkldnn": torch.backends.mkldnn.is_available(),
        # The build summary (compiler, MKL and oneDNN versions), without the long flags line.
        "build": [
            line.strip(" -")
            for line in config.splitlines()[1:]
            if line.strip() and "Build settings" not in line
        ],
    }
