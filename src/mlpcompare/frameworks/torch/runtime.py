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


# Device memory for the operands of one CUDA-graphed ceiling call: up to this many bytes, each
# step's products read and write operands of their own, as a training step's fresh activations
# are; beyond it (wide layers at large batches) steps take the sets in turn.
DISTINCT_OPERAND_BYTES = 2**30


def step_products(
    pairs: list[tuple[np.ndarray, np.ndarray]], device: str, steps: int = 1
) -> Callable[[], list[torch.Tensor] | float]:
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with torch's own product on
    ``device``, one eager ``mm`` after another as the trainer's step runs them, finished when
    it returns (and returned): what the in-run ceiling times
    (:class:`mlpcompare.measuring.roofline.RunCeiling`). A transposed view stays a view (torch hands BLAS
    a transpose flag, as in the backward pass).

    On CUDA with ``steps`` > 1, one call replays a CUDA graph of ``steps`` steps' products and
    returns their device seconds between two CUDA events (:func:`_graphed_products`), so
    neither a launch nor the host's dispatch is in the figure. The CPU ignores ``steps``.
    """
    if device == "cuda" and steps > 1:
        return _graphed_products(pairs, steps)
    tensors = [tuple(torch.from_numpy(m).to(device) for m in pair) for pair in pairs]
    outs = [torch.empty((a.shape[0], b.shape[1]), device=device) for a, b in tensors]

    def call():
        products = [torch.mm(a, b, out=out) for (a, b), out in zip(tensors, outs, strict=True)]
        if device != "cpu":
            torch.cuda.synchronize()  # a CUDA kernel returns at launch; time it to its end
        return products

    return call


def operand_sets(pairs: list[tuple[np.ndarray, np.ndarray]], steps: int,
                 budget: int = DISTINCT_OPERAND_BYTES) -> int:  # fmt: skip
    """How many distinct copies of a step's operands and outputs ``steps`` steps get within
    ``budget`` bytes (float32): one per step where they fit, at least one."""
    per_step = sum(4 * (a.size + b.size + a.shape[0] * b.shape[1]) for a, b in pairs)
    return max(1, min(steps, budget // per_step))


def _graphed_products(
    pairs: list[tuple[np.ndarray, np.ndarray]], steps: int
) -> Callable[[], float]:
    """CUDA only: ``steps`` steps' products captured into one CUDA graph; the call replays it
    and returns the seconds the device spent, from CUDA events around the replay."""
    sets = operand_sets(pairs, steps)
    first = [tuple(torch.from_numpy(m).to("cuda") for m in pair) for pair in pairs]
    # clone keeps a transposed view's strides, so every set hands cuBLAS the same transposes.
    operands = [first] + [[(a.clone(), b.clone()) for a, b in first] for _ in range(sets - 1)]
    outs = [[torch.empty((a.shape[0], b.shape[1]), device="cuda") for a, b in step]
            for step in operands]  # fmt: skip

    def products(step: int) -> None:
        for (a, b), out in zip(operands[step % sets], outs[step % sets], strict=True):
            torch.mm(a, b, out=out)

    side = torch.cuda.Stream()  # cuBLAS sets up its handle and workspace before the capture
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        products(0)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for step in range(steps):
            products(step)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def call() -> float:
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3  # milliseconds -> seconds

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
