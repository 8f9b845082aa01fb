"""The roofline: which matrix products, their FLOPs, and the ceiling they give."""

import math

import numpy as np
import pytest
import threadpoolctl

from mlpcompare import frameworks, spec
from mlpcompare.measuring import bench, roofline
from mlpcompare.spec import ModelSpec

SPEC = ModelSpec(n_in=6, hidden=(5, 4), n_out=3)
QUICK = bench.Settings(warmup_calls=5, min_repeats=5, min_seconds=0.0, rounds=1)


def test_three_products_per_layer_six_flops_per_weight():
    gemms = roofline.training_gemms(SPEC, 8)
    shapes = [(g.layer, g.kind, g.m, g.k, g.n) for g in gemms]
    assert shapes == [
        (0, "forward", 8, 6, 5), (0, "weight_grad", 6, 8, 5), (0, "input_grad", 8, 5, 6),
        (1, "forward", 8, 5, 4), (1, "weight_grad", 5, 8, 4), (1, "input_grad", 8, 4, 5),
        (2, "forward", 8, 4, 3), (2, "weight_grad", 4, 8, 3), (2, "input_grad", 8, 3, 4),
    ]  # fmt: skip
    per_sample = sum(g.flops for g in gemms) / 8
    assert per_sample == spec.training_flops_per_sample(SPEC) == 6 * (30 + 20 + 12)
    # Only the data's own gradient is skipped by the trainers.
    skipped = [(g.layer, g.kind) for g in gemms if not roofline.is_run_by_trainers(g)]
    assert skipped == [(0, "input_grad")]


@pytest.mark.parametrize("kind", ["forward", "weight_grad", "input_grad"])
def test_operands_have_the_gemm_shape_and_the_trainers_layout(kind):
    gemm = roofline.Gemm(1, kind, 8, 5, 4)
    lhs, rhs = roofline.operands(gemm, np.random.default_rng(0))
    assert lhs.shape == (8, 5) and rhs.shape == (5, 4)
    assert lhs.dtype == rhs.dtype == np.float32
    # weight grad multiplies x.T, input grad W.T: transposed views, as in the trainers
    assert lhs.flags.f_contiguous == (kind == "weight_grad")
    assert rhs.flags.f_contiguous == (kind == "input_grad")


def test_ceiling_is_batch_over_the_summed_median_time_of_the_products_trainers_compute():
    gemms = roofline.training_gemms(SPEC, 8)
    timed = [{"seconds": 0.001, "fastest_seconds": 0.0005, "threads": 2}] * len(gemms)
    entry = roofline.ceiling(SPEC, 8, gemms, timed)
    # Eight of the nine products: the first layer's input gradient is timed, not counted.
    assert entry["gemm_seconds_per_batch"] == pytest.approx(0.008)
    assert entry["ceiling_samples_per_s"] == pytest.approx(8 / 0.008)
    flops = sum(g.flops for g in roofline.trained_gemms(SPEC, 8))
    assert entry["flops_per_sample"] == flops / 8
    assert entry["gflops_per_s"] == pytest.approx(flops / 0.008 / 1e9)
    assert entry["ceiling_samples_per_s_fastest_calls"] == pytest.approx(8 / 0.004)
    assert entry["ceiling_samples_per_s_all_products"] == pytest.approx(8 / 0.009)
    assert entry["gemms"][0]["threads"] == 2
    assert [g["run_by_trainers"] for g in entry["gemms"]] == [True, True, False] + [True] * 6


def test_machine_roofline_times_every_dataset_arch_and_batch_size():
    result = roofline.machine_roofline(
        infos={"tiny": {"n_features": 6, "n_classes": 3}},
        archs={"a": {"hidden": [5]}, "b": {"hidden": [4, 4]}},
        batch_sizes=[8, 4, 8],
        threads=1,
        settings=QUICK,
    )
    keys = [(e["dataset"], e["arch"], e["batch_size"]) for e in result["entries"]]
    assert keys == [("tiny", "a", 4), ("tiny", "a", 8), ("tiny", "b", 4), ("tiny", "b", 8)]
    assert all(e["ceiling_samples_per_s"] > 0 for e in result["entries"])
    assert result["threads"] == 1 and result["cpu"]
    assert roofline.find(result, "tiny", "b", 8)["layer_sizes"] == [6, 4, 4, 3]
    assert roofline.find(result, "tiny", "b", 16) is None


def test_each_product_counts_at_its_median_call_and_best_thread_count(monkeypatch):
    """The median, like steady-state training's median epoch; the thread count with the lower one."""
    by_threads = {
        1: {0: [0.020, 0.001, 0.002], 1: [0.009, 0.030, 0.008], 2: [0.001] * 3},
        2: {0: [0.020, 0.005, 0.003], 1: [0.003, 0.030, 0.004], 2: [0.002] * 3},
    }

    def measure(calls, settings):
        pools = threadpoolctl.threadpool_info()
        return by_threads[max(p["num_threads"] for p in pools if p["user_api"] == "blas")]

    monkeypatch.setattr(roofline, "measure", measure)
    gemms = roofline.training_gemms(ModelSpec(n_in=2, hidden=(), n_out=2), 4)
    assert roofline.time_gemms(gemms, QUICK, [1, 2]) == [
        {"seconds": 0.002, "fastest_seconds": 0.001, "threads": 1},
        {"seconds": 0.004, "fastest_seconds": 0.003, "threads": 2},
        {"seconds": 0.001, "fastest_seconds": 0.001, "threads": 1},
    ]


def test_the_in_run_ceiling_times_the_same_products_as_the_ceiling_job():
    from mlpcompare.frameworks.numpy import step_products

    spec = ModelSpec(64, (128, 64), 10)
    in_run = roofline.RunCeiling(spec, 32, step_products)
    assert in_run.gemms == roofline.trained_gemms(spec, 32)
    assert len(in_run.gemms) == 3 * 3 - 1  # no first-layer input gradient
    slices = [in_run.measure(0.02) for _ in range(3)]
    job = roofline.entry(spec, 32, bench.Settings(min_repeats=5, min_seconds=0.05, rounds=1), 1)
    # The same products on the same BLAS: the same ceiling, within timing noise.
    assert 0.33 < np.median(slices) / job["ceiling_samples_per_s"] < 3


@pytest.mark.parametrize("framework", frameworks.NAMES)
def test_each_framework_times_its_own_products_of_the_trainers_layouts(framework):
    """The in-run ceiling's calls compute lhs @ rhs, transposed views included (weight and
    input gradients), with the framework's own product."""
    module = frameworks.get(framework).trainer_module()
    rng = np.random.default_rng(0)
    pairs = [roofline.operands(g, rng) for g in roofline.training_gemms(ModelSpec(6, (5,), 3), 4)]
    products = module.step_products(pairs, "cpu")()
    assert len(products) == len(pairs)
    for (lhs, rhs), product in zip(pairs, products, strict=True):
        np.testing.assert_allclose(np.asarray(product), lhs @ rhs, rtol=1e-5, atol=1e-5)


def test_a_runs_fraction_is_its_steady_rate_over_its_steady_epochs_median_ceiling():
    from mlpcompare.training.runs import ceiling_summary

    # Epoch 1's slice (1000) is left out, as epoch 1 is from the throughput.
    history = [{"ceiling_samples_per_s": r} for r in (1000.0, 100.0, 200.0, 300.0)]
    summary = ceiling_summary(history, steady_samples_per_s=50.0)
    assert summary["ceiling_samples_per_s"] == 200.0 and summary["roofline_fraction"] == 0.25
    assert (summary["ceiling_q1"], summary["ceiling_q3"]) == (150.0, 250.0)
    assert ceiling_summary(history[:1], 50.0)["ceiling_samples_per_s"] == 1000.0  # the only one
    assert ceiling_summary([{"ceiling_samples_per_s": math.nan}], 50.0)["roofline_fraction"] is None


def test_a_run_faster_than_its_products_were_timed_reads_one_not_more():
    from mlpcompare.training.runs import ceiling_summary

    history = [{"ceiling_samples_per_s": r} for r in (100.0, 100.0, 100.0)]
    summary = ceiling_summary(history, steady_samples_per_s=111.0)
    assert summary["ceiling_samples_per_s"] == 100.0  # as measured
    assert summary["roofline_fraction"] == 1.0


def test_arithmetic_intensity_counts_each_products_flops_over_its_bytes():
    # One layer 2 -> 2 at batch 2: three 2x2x2 products, 16 FLOPs and 48 bytes each.
    assert roofline.arithmetic_intensity([2, 2], 2) == 16 / 48
    small, big_batch = (roofline.arithmetic_intensity([784, 256, 10], b) for b in (32, 4096))
    wide = roofline.arithmetic_intensity([784, 4096, 10], 32)
    assert small < big_batch and small < wide


def test_the_roofline_jobs_ceiling_is_for_cpu_runs_only():
    measured = {"entries": [{"dataset": "d", "arch": "a", "batch_size": 8,
                             "ceiling_samples_per_s": 5e4}]}  # fmt: skip
    assert roofline.job_ceiling(measured, "d", "a", 8) == 5e4
    assert roofline.job_ceiling(measured, "d", "a", 8.0, "cpu") == 5e4
    assert roofline.job_ceiling(measured, "d", "a", 16) is None  # not measured
    assert roofline.job_ceiling(measured, "d", "a", 8, "cuda") is None  # it timed the CPU


def test_on_a_gpu_many_steps_products_run_in_one_call_timed_by_the_device():
    """Up to the device boundary: a ``step_products`` that takes ``steps`` is asked for
    STEPS_ON_GPU steps per call on "cuda" (one graph replay or scan) and its device-event
    seconds are taken as they are; on the CPU, or without ``steps``, one step per call."""
    asked = []

    def products(pairs, device, steps=1):
        asked.append((len(pairs), device, steps))
        return lambda: 0.002  # seconds, as device events would measure them

    spec = ModelSpec(6, (5,), 3)
    gpu = roofline.RunCeiling(spec, 8, products, "cuda")
    assert asked == [(5, "cuda", roofline.STEPS_ON_GPU)]  # 2 layers x 3 products, minus one
    assert gpu.measure(0.0) == pytest.approx(8 * roofline.STEPS_ON_GPU / 0.002)
    cpu = roofline.RunCeiling(spec, 8, products, "cpu")
    assert asked[-1] == (5, "cpu", 1) and cpu.measure(0.0) == pytest.approx(8 / 0.002)

    def one_step(pairs, device):  # no steps: one step's products per call, host clock
        return lambda: [lhs @ rhs for lhs, rhs in pairs]

    eager = roofline.RunCeiling(spec, 8, one_step, "cuda")
    assert eager.steps == 1 and eager.measure(0.0) > 0
