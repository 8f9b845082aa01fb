"""The timing loop, with a fake clock where exact counts matter."""

import gc
import itertools

import numpy as np
import pytest

from mlpcompare.measuring import bench

FAST = bench.Settings(batch_sizes=(1, 4), warmup_calls=5, min_repeats=6, min_seconds=0.0, rounds=2)


class FakeClock:
    """Each reading advances by ``step`` seconds: every timed call takes exactly ``step``."""

    def __init__(self, step):
        self.ticks = itertools.count()
        self.step = step

    def __call__(self):
        return next(self.ticks) * self.step


def test_warmup_calls_are_not_timed_and_repeats_reach_the_count():
    calls = []
    seconds = bench.time_calls(
        lambda: calls.append(1), warmup=5, min_calls=10, min_seconds=0.0, clock=FakeClock(0.001)
    )
    assert len(calls) == 15 and len(seconds) == 10
    assert seconds == pytest.approx([0.001] * 10)


def test_repeats_continue_until_the_minimum_time():
    seconds = bench.time_calls(
        lambda: None, warmup=5, min_calls=3, min_seconds=0.1, clock=FakeClock(0.01)
    )
    assert len(seconds) == 10  # 3 calls are not 0.1 s; 10 calls of 0.01 s are


def test_measure_pools_the_rounds():
    counts = {"x": 0, "y": 0}
    calls = {key: (lambda k=key: counts.__setitem__(k, counts[k] + 1)) for key in counts}
    pooled = bench.measure(calls, FAST)
    assert {k: len(v) for k, v in pooled.items()} == {"x": 6, "y": 6}  # 3 per round, 2 rounds
    assert counts == {"x": 12, "y": 12}  # plus 5 warm-up calls, then 1 in the second round


def test_no_garbage_collection_inside_timed_calls():
    states = []
    bench.measure({"x": lambda: states.append(gc.isenabled())}, FAST)
    assert states and not any(states)
    assert gc.isenabled()  # restored afterwards


def test_batch_sizes_skip_what_the_test_set_cannot_fill_and_add_the_full_set():
    assert bench.batch_sizes(bench.Settings(batch_sizes=(1, 32, 256)), 100) == [1, 32, 100]
    assert bench.batch_sizes(bench.Settings(batch_sizes=(1, 32), full_test_set=False), 10) == [1]


def test_latency_row_percentiles_and_throughput():
    seconds = [0.001 * i for i in range(1, 11)]  # 1 .. 10 ms
    row = bench.latency_row("forward", 32, seconds)
    assert row["p50_ms"] == pytest.approx(5.5)
    assert row["p90_ms"] == pytest.approx(9.1)
    assert row["samples_per_s"] == pytest.approx(32 / 0.0055)
    assert row["repeats"] == 10


def test_inference_times_every_api_and_batch_with_the_first_rows():
    seen = []

    def api(x):
        seen.append(x.shape)
        return x

    x = np.zeros((6, 3), dtype=np.float64)
    rows = bench.inference({"one": api, "two": api}, x, FAST)
    assert [(r["api"], r["batch_size"]) for r in rows] == [
        ("one", 1),
        ("one", 4),
        ("one", 6),
        ("two", 1),
        ("two", 4),
        ("two", 6),
    ]
    assert set(seen) == {(1, 3), (4, 3), (6, 3)}
    assert all(r["repeats"] == 6 and r["p50_ms"] >= 0 for r in rows)
    assert list(rows[0]) == bench.INFERENCE_COLUMNS


def test_settings_from_the_config_mapping():
    settings = bench.Settings.from_config(
        {
            "batch_sizes": [1, 8],
            "full_test_set": False,
            "warmup_calls": 7,
            "min_repeats": 9,
            "min_seconds": 0.5,
            "rounds": 1,
        }
    )
    assert settings == bench.Settings((1, 8), False, 7, 9, 0.5, 1)


def test_settings_defaults_are_the_schemas():
    import dataclasses
    from pathlib import Path

    import yaml

    schema = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml").read_text()
    )
    keys = schema["properties"]["bench"]["properties"]
    for field in dataclasses.fields(bench.Settings):
        default = keys[field.name]["default"]
        assert field.default == (tuple(default) if isinstance(default, list) else default), field


def test_the_seeds_models_share_one_measurements_calls_and_seconds():
    settings = bench.Settings(warmup_calls=5, min_repeats=30, min_seconds=0.3, rounds=3)
    each = settings.shared_by(3)
    assert (each.min_repeats, each.min_seconds, each.warmup_calls) == (10, pytest.approx(0.1), 5)
    assert settings.shared_by(1) == settings
    # never fewer timed calls than rounds: every round times every case
    assert settings.shared_by(100).min_repeats == 3
