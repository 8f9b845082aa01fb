"""Timing calls honestly: warm-up, then repeats until enough calls AND enough time, in rounds.

Every figure is a percentile of per-call latencies, never a mean: one call delayed by another
process or a garbage collection moves a mean but not a median. Calls are timed one by one with
``time.perf_counter`` (resolution well under a microsecond; a batch-1 forward takes tens).

Repeats are spread over ``rounds``: each round measures every case in turn, and a case's
latencies are pooled over rounds. A burst of load elsewhere on the machine then touches a part of
every case's sample instead of all of one case's, which keeps medians stable between runs.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

INFERENCE_COLUMNS = ["api", "batch_size", "p50_ms", "p90_ms", "samples_per_s", "repeats"]
# The ``api`` of the rows that time a model exported to ONNX and served by ONNX Runtime, not by
# its framework (named here, where tables that never import onnxruntime can read it).
ONNX_RUNTIME_API = "onnxruntime"


@dataclass(frozen=True)
class Settings:
    """How long to measure; the config's ``bench`` mapping (see the schema for each key)."""

    batch_sizes: tuple[int, ...] = (1, 32, 256)
    full_test_set: bool = True
    warmup_calls: int = 5
    min_repeats: int = 30
    min_seconds: float = 0.3
    rounds: int = 3

    @classmethod
    def from_config(cls, bench: dict) -> Settings:
        return cls(
            batch_sizes=tuple(int(b) for b in bench["batch_sizes"]),
            full_test_set=bool(bench["full_test_set"]),
            warmup_calls=int(bench["warmup_calls"]),
            min_repeats=int(bench["min_repeats"]),
            min_seconds=float(bench["min_seconds"]),
            rounds=int(bench["rounds"]),
        )

    def shared_by(self, n_models: int) -> Settings:
        """The settings for each of ``n_models`` models timed alike (one framework's seeds):
        the timed calls and seconds of a measurement are shared among them, the warm-up is
        not. Latency depends on the shapes, not on the weights' values, so the seeds' models
        are repeats of one measurement; timing each in full multiplied the benchmark's time
        by the number of seeds (summary.csv takes the median over them)."""
        return replace(
            self,
            min_repeats=max(self.rounds, math.ceil(self.min_repeats / n_models)),
            min_seconds=self.min_seconds / n_models,
        )


def batch_sizes(settings: Settings, n_test: int) -> list[int]:
    """The batch sizes to time: those configured that fit in the test set, plus the whole set."""
    sizes = {b for b in settings.batch_sizes if b <= n_test}
    if settings.full_test_set:
        sizes.add(n_test)
    return sorted(sizes)


def time_calls(
    call: Callable[[], object],
    *,
    warmup: int,
    min_calls: int,
    min_seconds: float,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Seconds of each of at least ``min_calls`` calls, spanning at least ``min_seconds`` in all.

    ``warmup`` calls run first and are discarded (tracing, allocation, cold caches).
    """
    for _ in range(warmup):
        call()
    seconds: list[float] = []
    total = 0.0
    while len(seconds) < min_calls or total < min_seconds:
        t0 = clock()
        call()
        elapsed = clock() - t0
        seconds.append(elapsed)
        total += elapsed
    return seconds


def measure(calls: dict[Hashable, Callable[[], object]], settings: Settings) -> dict:
    """Per-call seconds of every case in ``calls``, pooled over ``settings.rounds`` rounds.

    Each round gives every case a share of the repeats and of the time. A case's warm-up
    (tracing, allocation) is done in full before its first round; later rounds start with one
    untimed call, which brings its data back into the caches after the other cases ran.
    """
    per_round_calls = math.ceil(settings.min_repeats / settings.rounds)
    per_round_seconds = settings.min_seconds / settings.rounds
    pooled: dict[Hashable, list[float]] = {key: [] for key in calls}
    # As timeit does: one collection first, then no garbage collector pauses inside timed calls
    # (with TensorFlow loaded a full collection takes ~0.2 s, longer than most calls timed here).
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for round_index in range(settings.rounds):
            for key, call in calls.items():
                pooled[key] += time_calls(
                    call,
                    warmup=settings.warmup_calls if round_index == 0 else 1,
                    min_calls=per_round_calls,
                    min_seconds=per_round_seconds,
                )
    finally:
        if gc_was_enabled:
            gc.enable()
    return pooled


def latency_row(api: str, batch_size: int, seconds: list[float]) -> dict:
    """One line of ``inference.csv``: p50 / p90 latency in ms, samples/s = batch / p50."""
    p50, p90 = np.percentile(seconds, [50, 90])
    return {
        "api": api,
        "batch_size": batch_size,
        "p50_ms": float(p50 * 1e3),
        "p90_ms": float(p90 * 1e3),
        "samples_per_s": float(batch_size / p50),
        "repeats": len(seconds),
    }


def inference(
    apis: dict[str, Callable[[np.ndarray], np.ndarray]], x: np.ndarray, settings: Settings
) -> list[dict]:
    """Latency and throughput of every inference API at every batch size (first rows of ``x``).

    Batches are cut and made contiguous before timing, so the clock sees only the API's call
    (including, for a GPU, the copy in and out that the API performs).
    """
    sizes = batch_sizes(settings, len(x))
    inputs = {size: np.ascontiguousarray(x[:size], dtype=np.float32) for size in sizes}
    calls = {(api, size): partial(fn, inputs[size]) for api, fn in apis.items() for size in sizes}
    pooled = measure(calls, settings)
    return [latency_row(api, size, pooled[(api, size)]) for api, size in calls]
