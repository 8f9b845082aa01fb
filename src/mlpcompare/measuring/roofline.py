"""The ceiling on training throughput: the MLP's own matrix products, timed alone.

A training step of the MLP is, besides elementwise work, three matrix products per layer at the
training batch size B (layer of ``a`` inputs and ``b`` outputs):

* forward        ``x @ W``    (B, a) @ (a, b)
* weight grad    ``x.T @ dz`` (a, B) @ (B, b)
* input grad     ``dz @ W.T`` (B, b) @ (b, a)

2·B·a·b FLOPs each (:func:`training_gemms`). No trainer computes the first layer's input
gradient (nothing upstream of the data needs it), so the ceiling times only the products the
trainers compute (:func:`trained_gemms`): the samples/s a trainer would reach if it spent all
its time in those products, at the speed they run alone.

Two measurements feed it. The roofline job (:func:`machine_roofline`) times each product with
NumPy's BLAS, warm caches and a preallocated output; its time is the MEDIAN call (at the thread
count, 1 or the job's, that gives the lower median), like the median epoch that steady-state
training throughput is. :class:`RunCeiling` times them inside each training job, between its
epochs, with the job's own framework on its own device. The aggregate tables take the fastest
of all of them per device as the one yardstick (:mod:`mlpcompare.aggregating.frames`).
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import numpy as np
import threadpoolctl

from mlpcompare.measuring import envinfo
from mlpcompare.measuring.bench import Settings, measure
from mlpcompare.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gemm:
    """One matrix product ``(m, k) @ (k, n)``; ``kind`` is forward, weight_grad or input_grad."""

    layer: int
    kind: str
    m: int
    k: int
    n: int

    @property
    def flops(self) -> int:
        """A multiply and an add per inner-product term."""
        return 2 * self.m * self.k * self.n


def training_gemms(spec: ModelSpec, batch_size: int) -> list[Gemm]:
    """The matrix products of one training step at ``batch_size`` (see the module docstring)."""
    gemms = []
    for i, (a, b) in enumerate(pairwise(spec.layer_sizes)):
        gemms.append(Gemm(i, "forward", batch_size, a, b))
        gemms.append(Gemm(i, "weight_grad", a, batch_size, b))
        gemms.append(Gemm(i, "input_grad", batch_size, b, a))
    return gemms


def trained_gemms(spec: ModelSpec, batch_size: int) -> list[Gemm]:
    """The products of :func:`training_gemms` that the trainers compute (what the ceiling times)."""
    return [g for g in training_gemms(spec, batch_size) if is_run_by_trainers(g)]


def arithmetic_intensity(layer_sizes: list[int], batch_size: int) -> float:
    """FLOPs per byte of a training step's matrix products (float32 operands read, result
    written once): low means memory- and overhead-bound, high means compute-bound."""
    gemms = training_gemms(ModelSpec(layer_sizes[0], tuple(layer_sizes[1:-1]), layer_sizes[-1]),
                           batch_size)  # fmt: skip
    moved = sum(4 * (g.m * g.k + g.k * g.n + g.m * g.n) for g in gemms)
    return sum(g.flops for g in gemms) / moved


def is_run_by_trainers(gemm: Gemm) -> bool:
    """False for the first layer's input gradient: nothing upstream of the data needs it."""
    return not (gemm.layer == 0 and gemm.kind == "input_grad")


def operands(gemm: Gemm, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """float32 operands laid out as the trainers hold them, so BLAS gets the same transposes.

    Activations and weights are C-ordered; ``x.T`` and ``W.T`` are transposed views, which
    NumPy hands to BLAS as a transpose flag rather than a copy.
    """

    def rand(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    if gemm.kind == "forward":  # x (B, a) @ W (a, b)
        return rand(gemm.m, gemm.k), rand(gemm.k, gemm.n)
    if gemm.kind == "weight_grad":  # x.T (a, B) @ dz (B, b)
        return rand(gemm.k, gemm.m).T, rand(gemm.k, gemm.n)
    return rand(gemm.m, gemm.k), rand(gemm.n, gemm.k).T  # dz (B, b) @ W.T (b, a)


def time_gemms(
    gemms: list[Gemm], settings: Settings, thread_counts: list[int], seed: int = 0
) -> list[dict]:
    """Median and fastest seconds of each product, with the BLAS thread count that gave them.

    Products write into preallocated outputs (allocation is not GEMM work). Each thread count
    up to the job's is tried: a small product can be faster on one thread than on two, and a
    trainer's BLAS is free to run it so. The thread count with the lower median is kept.
    """
    rng = np.random.default_rng(seed)
    calls = {}
    for index, gemm in enumerate(gemms):
        lhs, rhs = operands(gemm, rng)
        out = np.empty((gemm.m, gemm.n), dtype=np.float32)
        calls[index] = partial(np.matmul, lhs, rhs, out=out)
    best = [{"seconds": math.inf}] * len(gemms)
    for threads in thread_counts:
        with threadpoolctl.threadpool_limits(limits=threads):
            pooled = measure(calls, settings)
        for index, seconds in pooled.items():
            median = float(np.median(seconds))
            if median < best[index]["seconds"]:
                fastest = float(np.min(seconds))
                best[index] = {"seconds": median, "fastest_seconds": fastest, "threads": threads}
    return best


def ceiling(spec: ModelSpec, batch_size: int, gemms: list[Gemm], timed: list[dict]) -> dict:
    """Roofline entry from timed products: GEMM FLOP/s and the training samples/s it allows.

    ``timed`` holds, per product, what :func:`time_gemms` returns. The ceiling counts the
    products the trainers compute (:func:`is_run_by_trainers`); the first layer's input
    gradient, timed all the same, is kept beside it for comparison (docs/performance.md).
    """
    run = [(g, t) for g, t in zip(gemms, timed, strict=True) if is_run_by_trainers(g)]
    flops = sum(g.flops for g, _ in run)
    per_batch = sum(t["seconds"] for _, t in run)
    return {
        "layer_sizes": spec.layer_sizes,
        "batch_size": batch_size,
        "gemms": [
            {
                **g.__dict__,
                "flops": g.flops,
                **t,
                "gflops_per_s": g.flops / t["seconds"] / 1e9,
                "run_by_trainers": is_run_by_trainers(g),
            }
            for g, t in zip(gemms, timed, strict=True)
        ],  # fmt: skip
        "flops_per_sample": flops / batch_size,
        "gemm_seconds_per_batch": per_batch,
        "gflops_per_s": flops / per_batch / 1e9,
        "ceiling_samples_per_s": batch_size / per_batch,
        # For comparison (docs/performance.md): at each product's fastest call, and counting
        # every product, the first layer's input gradient too.
        "ceiling_samples_per_s_fastest_calls": batch_size
        / sum(t["fastest_seconds"] for _, t in run),
        "ceiling_samples_per_s_all_products": batch_size / sum(t["seconds"] for t in timed),
    }


def entry(spec: ModelSpec, batch_size: int, settings: Settings, threads: int) -> dict:
    """Time the products of ``spec`` at ``batch_size`` (1 and ``threads`` BLAS threads)."""
    gemms = training_gemms(spec, batch_size)
    timed = time_gemms(gemms, settings, sorted({1, threads}))
    return ceiling(spec, batch_size, gemms, timed)


# Steps' products per timed call on a GPU, where a framework runs many in one (a CUDA graph
# replay, a jitted lax.scan) and times them with device events: one launch spread over them.
STEPS_ON_GPU = 32


class RunCeiling:
    """The ceiling measured inside a training job, in short slices between its epochs.

    A ceiling timed minutes away from the epochs, in a job of its own, moves with a machine
    whose speed drifts by +-30 %; timed between the epochs it is compared with, it moves with
    them. Each slice times the products of one training step that the trainers compute
    (:func:`trained_gemms`) for a small budget, outside the epoch clock, with the framework's
    own matrix product on the run's device, the way its step runs them (``products``: a
    trainer module's ``step_products``: one eager call after another for NumPy and PyTorch,
    one compiled function for TensorFlow and JAX). Another library's BLAS would share the
    cores with the trainer's thread pool: on 2 cores NumPy's OpenBLAS threads, still spinning
    after a slice, slowed PyTorch's next epochs 5-10x (docs/performance.md).

    On a GPU, a ``step_products`` that takes ``steps`` runs that many steps' products in one
    call (its return value, when a float, the seconds its device events measured), so neither
    a launch nor a host sync is in the ceiling: ``STEPS_ON_GPU`` of them per call.
    """

    def __init__(
        self,
        spec: ModelSpec,
        batch_size: int,
        products: Callable[..., Callable[[], object]],
        device: str = "cpu",
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.gemms = trained_gemms(spec, batch_size)
        takes_steps = "steps" in inspect.signature(products).parameters
        self.steps = STEPS_ON_GPU if takes_steps and device == "cuda" else 1
        pairs = [operands(g, rng) for g in self.gemms]
        options = {"steps": self.steps} if takes_steps else {}
        self.call = products(pairs, device, **options)

    def measure(self, budget_s: float) -> float:
        """One slice: the ceiling in samples/s from the median time of a step's products, timed
        for about ``budget_s`` (at least 3 calls)."""
        return self.batch_size * self.steps / _median_call(self.call, budget_s)


def _median_call(call, seconds: float, min_calls: int = 3) -> float:
    """Median seconds of ``call`` (after one untimed call) over ``seconds``, ``min_calls`` at
    least: the seconds a call returns (a float: timed on the device), else the host clock's."""
    call()
    times, start = [], time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        measured = call()
        host = time.perf_counter() - t0
        times.append(measured if isinstance(measured, float) else host)
    return float(np.median(times))


def find(roofline: dict, dataset: str, arch: str, batch_size: int) -> dict | None:
    """The entry of ``roofline.json`` for one dataset, architecture and batch size, if any."""
    for item in roofline["entries"]:
        if (item["dataset"], item["arch"], item["batch_size"]) == (dataset, arch, batch_size):
            return item
    return None


def job_ceiling(
    roofline: dict, dataset: str, arch: str, batch_size: int, device: str = "cpu"
) -> float | None:
    """The roofline job's ceiling (samples/s) for a run of ``dataset``, ``arch`` and
    ``batch_size`` on ``device`` (``roofline``: roofline.json); None where none was measured,
    and for a CUDA run: the job times the CPU, which says nothing about a GPU."""
    if device == "cuda":
        return None
    entry = find(roofline, dataset, arch, int(batch_size))
    return entry["ceiling_samples_per_s"] if entry else None


def machine_roofline(
    *,
    infos: dict[str, dict],
    archs: dict[str, dict],
    batch_sizes: list[int],
    threads: int,
    settings: Settings,
) -> dict:
    """``roofline.json``: one entry per dataset x architecture x training batch size.

    ``infos`` maps each dataset to its ``split.json`` (input and output widths). BLAS is pinned
    to at most ``threads``, the trainers' setting, and the libraries are recorded.
    """
    entries = []
    for dataset, info in infos.items():
        for arch_name, arch in archs.items():
            spec = ModelSpec.from_info(arch, info)
            for batch_size in sorted(set(batch_sizes)):
                log.info("%s %s batch %d: timing %s", dataset, arch_name, batch_size, spec)
                item = entry(spec, batch_size, settings, threads)
                entries.append({"dataset": dataset, "arch": arch_name, **item})
    with threadpoolctl.threadpool_limits(limits=threads):
        blas = envinfo.blas()
    load = envinfo.load_average()
    if envinfo.contention(load, threads):
        log.warning("load average %.1f: other processes shared the cores, ceiling too low", load)
    return {
        "method": (
            "median call of each GEMM of one training step (6 x weights FLOPs per sample), "
            "NumPy's BLAS (mlpcompare.measuring.roofline)"
        ),
        "threads": threads,
        "cpu": envinfo.cpu_model(),
        "numpy_version": np.__version__,
        "blas": blas,
        "settings": settings.__dict__,
        "load_average": load,
        "contention": envinfo.contention(load, threads),
        "entries": entries,
    }
