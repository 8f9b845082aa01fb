"""The tables over runs, checked against values computed by hand on a tiny fixture."""

import math
import statistics
from types import SimpleNamespace

import numpy as np
import pytest
from fake_results import declared

from mlpcompare import io
from mlpcompare.aggregating import frames, tables, throughput, throughput_table
from mlpcompare.aggregating.summary import SUMMARY_COLUMNS, summary_table, write_summary
from mlpcompare.layout import ARCH_TABLES, RUN_KEYS, Layout

T_975_DF2 = 4.302652729911275


def per_class(accuracy, status="ok") -> dict:
    """metrics.json ``per_class`` of two classes, ``b`` a point below ``a``."""
    scores = {"a": accuracy, "b": accuracy - 0.01}
    return {
        name: {"precision": None if status != "ok" else value, "recall": value, "f1": value,
               "support": 5}
        for name, value in scores.items()
    }  # fmt: skip


def make_run(
    framework,
    seed,
    accuracy,
    *,
    status="ok",
    seconds=10.0,
    rate=1000.0,
    rss=100.0,
    p50_batch1=0.1,
    batch_size=4,
):
    metrics = {
        "accuracy": accuracy,
        "precision_macro": accuracy - 0.01,
        "recall_macro": accuracy - 0.02,
        "f1_macro": accuracy - 0.03,
        "test_loss": 0.1,
    }
    if status != "ok":
        metrics = dict.fromkeys(metrics)
    return {
        "dataset": "d",
        "arch": "a",
        "framework": framework,
        "seed": seed,
        "metrics": {"status": status, **metrics, "per_class": per_class(accuracy, status)},
        "train": {
            "status": status,
            "total_seconds": seconds,
            "epochs_run": 5,
            "steady_samples_per_s": rate,
            "first_epoch_seconds": 3.0,
            "time_to_target_s": None if seed == 2 else 2.0,
            "peak_rss_mb": rss,
            "training": {"batch_size": batch_size},
        },
        "inference": [
            {
                "api": "call",
                "batch_size": "1",
                "p50_ms": str(p50_batch1),
                "p90_ms": "0.2",
                "samples_per_s": str(1 / p50_batch1 * 1e3),
                "repeats": "30",
            },
            {
                "api": "call",
                "batch_size": "8",
                "p50_ms": "0.4",
                "p90_ms": "0.5",
                "samples_per_s": "20000",
                "repeats": "30",
            },
        ],
        "inference_info": {"peak_rss_mb": rss + 1},
    }


RUNS = [
    make_run("np", 0, 0.90, seconds=10.0, rate=1000.0, p50_batch1=0.10),
    make_run("np", 1, 0.92, seconds=12.0, rate=1200.0, p50_batch1=0.20),
    make_run("np", 2, 0.94, seconds=30.0, rate=900.0, p50_batch1=0.30, rss=150.0),
    make_run("tf", 0, 0.80),
    make_run("tf", 1, 0.0, status="diverged"),
    make_run("tf", 2, 0.84),
]
ROOFLINE = {
    "entries": [{"dataset": "d", "arch": "a", "batch_size": 4, "ceiling_samples_per_s": 4000.0}]
}
LOC = {"np": 120, "tf": 60}


def records(table) -> list[dict]:
    """A table's rows as its file holds them (six significant digits, blanks)."""
    return frames.cleaned(table).to_dict("records")


def summary_rows(runs, roofline, loc):
    return records(summary_table(runs, roofline, loc))


def throughput_rows(runs, idiomatic, roofline):
    return records(throughput.throughput_table(runs, idiomatic, roofline))


def test_summary_columns_are_the_contract_plus_status():
    rows = summary_rows(RUNS, ROOFLINE, LOC)
    assert list(rows[0]) == SUMMARY_COLUMNS
    assert SUMMARY_COLUMNS[18] == "status" and SUMMARY_COLUMNS[13] == "roofline_fraction"
    assert SUMMARY_COLUMNS[19:] == [
        "shared_ceiling_samples_per_s", "shared_ceiling_set_by", "own_ceiling_fraction",
    ]  # fmt: skip


def test_summary_row_by_hand():
    row = summary_rows(RUNS, ROOFLINE, LOC)[0]
    assert row["framework"] == "np" and row["n_seeds"] == 3
    assert row["accuracy_mean"] == pytest.approx(0.92)
    assert row["accuracy_std"] == pytest.approx(0.02)
    assert row["precision_macro_mean"] == pytest.approx(0.91)
    assert row["recall_macro_mean"] == pytest.approx(0.90)
    assert row["f1_macro_mean"] == pytest.approx(0.89)
    assert row["f1_macro_std"] == pytest.approx(0.02)
    assert row["train_time_s_median"] == 12.0  # median of 10, 12, 30: the slow seed moves nothing
    assert row["epochs_median"] == 5
    assert row["train_samples_per_s_median"] == 1000.0  # median of 1000, 1200, 900
    assert row["roofline_fraction"] == pytest.approx(0.25)  # 1000 / 4000
    assert row["infer_p50_ms_batch1"] == pytest.approx(0.2)  # median of 0.1, 0.2, 0.3
    assert row["infer_samples_per_s_best"] == 20000  # batch 8 beats batch 1 (5000/s median)
    assert row["peak_rss_mb"] == 150.0  # the largest training peak
    assert row["loc"] == 120 and row["status"] == "ok"


def test_diverged_seeds_are_left_out_and_flagged():
    row = summary_rows(RUNS, ROOFLINE, LOC)[1]
    assert row["n_seeds"] == 3 and row["status"] == "diverged (1 of 3 seeds)"
    assert row["accuracy_mean"] == pytest.approx(0.82)  # (0.80 + 0.84) / 2
    # sqrt(2 * 0.02^2 / (2 - 1)); tables keep six significant digits
    assert row["accuracy_std"] == pytest.approx(math.sqrt(0.0008), rel=1e-5)


def test_all_diverged_leaves_the_figures_blank():
    runs = [make_run("x", seed, 0.0, status="diverged") for seed in range(2)]
    row = summary_rows(runs, ROOFLINE, {"x": 10})[0]
    assert row["status"] == "diverged (2 of 2 seeds)"
    for column in (
        "accuracy_mean",
        "accuracy_std",
        "f1_macro_mean",
        "train_time_s_median",
        "roofline_fraction",
        "infer_p50_ms_batch1",
        "peak_rss_mb",
    ):
        assert row[column] == "", column
    assert row["loc"] == 10


def test_missing_roofline_entry_leaves_the_fraction_blank():
    row = summary_rows(RUNS[:3], {"entries": []}, LOC)[0]
    assert row["roofline_fraction"] == ""


def test_quality_table_has_t_intervals():
    rows = records(tables.quality_table(RUNS))
    np_row, tf_row = rows
    half = T_975_DF2 * 0.02 / math.sqrt(3)
    assert np_row["accuracy_ci_low"] == pytest.approx(0.92 - half, abs=1e-6)
    assert np_row["accuracy_ci_high"] == pytest.approx(0.92 + half, abs=1e-6)
    assert np_row["f1_macro_ci_low"] == pytest.approx(0.89 - half, abs=1e-6)
    assert (tf_row["n_seeds"], tf_row["n_ok"]) == (3, 2)
    # two seeds: t(0.975, 1) = 12.706204736, s = sqrt(0.0008), n = 2
    half_tf = 12.706204736174707 * math.sqrt(0.0008) / math.sqrt(2)
    assert tf_row["accuracy_ci_high"] == pytest.approx(0.82 + half_tf, abs=1e-5)


def test_performance_table_medians_quartiles_and_memory():
    row = records(tables.performance_table(RUNS))[0]
    assert row["train_time_s_median"] == 12.0
    assert (row["train_time_s_q1"], row["train_time_s_q3"]) == (11.0, 21.0)
    assert row["reached_target"] == "2 of 3" and row["time_to_target_s_median"] == 2.0
    assert row["peak_rss_mb_train"] == 150.0 and row["peak_rss_mb_inference"] == 151.0


def test_per_class_table_means_over_the_seeds_that_did_not_diverge():
    rows = records(tables.per_class_table(RUNS))
    first = next(r for r in rows if (r["framework"], r["class"]) == ("np", "b"))
    accuracy = statistics.mean(
        run["metrics"]["accuracy"] for run in RUNS if run["framework"] == "np"
    )
    assert first["f1_mean"] == pytest.approx(accuracy - 0.01) and first["support"] == 5
    assert [r["class"] for r in rows if r["framework"] == "np"] == ["a", "b"]


def test_inference_table_medians_over_seeds():
    rows = records(tables.inference_table(RUNS))
    assert rows[0] == {
        "framework": "np",
        "api": "call",
        "batch_size": 1,
        "n_ok": 3,
        "p50_ms": 0.2,
        "p90_ms": 0.2,
        "samples_per_s": 5000.0,
        # the seeds' spread of samples/s (quartiles, linear interpolation)
        "samples_per_s_q1": 4166.67,
        "samples_per_s_q3": 7500.0,
    }
    assert [r["n_ok"] for r in rows if r["framework"] == "tf"] == [2, 2]


def predictions(correct):
    y_true = np.zeros(len(correct), dtype=np.int64)
    return {"y_true": y_true, "y_pred": np.where(correct, 0, 1)}


def test_significance_pairs_every_framework_per_seed():
    a = [True] * 10 + [True] + [False] * 5
    b = [True] * 10 + [False] + [True] * 5
    preds = {
        (fw, seed): predictions(a if fw == "np" else b) for fw in ("np", "tf") for seed in range(3)
    }
    rows = records(tables.significance_table(RUNS, preds))
    assert list(rows[0]) == tables.SIGNIFICANCE_COLUMNS
    assert [(r["seed"], r["framework_a"], r["framework_b"]) for r in rows] == [
        (0, "np", "tf"),
        (1, "np", "tf"),
        (2, "np", "tf"),
    ]
    first = rows[0]
    assert (first["b"], first["c"], first["statistic"]) == (1, 5, 1)
    assert first["p_value"] == pytest.approx(14 / 64)
    assert first["p_holm"] == pytest.approx(min(1, 2 * 14 / 64), abs=1e-6)  # two tests made
    assert first["accuracy_a"] == pytest.approx(11 / 16)
    assert rows[1]["p_value"] == "" and rows[1]["b"] == ""  # seed 1 of tf diverged


def test_significance_refuses_different_test_labels():
    preds = {("np", 0): predictions([True, True]), ("tf", 0): predictions([True, False])}
    preds[("tf", 0)]["y_true"] = np.array([0, 1])
    with pytest.raises(ValueError, match="different test labels"):
        records(tables.significance_table([RUNS[0], RUNS[3]], preds))


def key(run: dict) -> dict:
    """A run's record: what the rules pass (``params.runs``)."""
    return {k: run[k] for k in RUN_KEYS}


def write_run_files(layout: Layout, runs: list[dict], correct=(True, False, True)) -> list[dict]:
    """Each run's files where the layout puts them; returns the run records."""
    for run in runs:
        io.write_json(run["metrics"], layout.run_file(run, "metrics.json"))
        io.write_json(run["train"], layout.run_file(run, "train.json"))
        io.write_csv(run["inference"], layout.run_file(run, "inference.csv"))
        io.write_json(run["inference_info"], layout.run_file(run, "inference.json"))
        io.write_npz(predictions(list(correct)), layout.run_file(run, "predictions.npz"))
    io.write_json(ROOFLINE, layout.machine("roofline.json"))
    loc = [{"framework": k, "files": 1, "loc": v} for k, v in LOC.items()]
    io.write_csv(loc, layout.top("loc.csv"))
    return [key(run) for run in runs]


def arch_outputs(layout: Layout, dataset="d", arch="a") -> SimpleNamespace:
    return SimpleNamespace(**{n: layout.table(dataset, arch, n) for n in ARCH_TABLES})


def test_files_in_tables_out(tmp_path):
    layout = Layout(str(tmp_path))
    runs = write_run_files(layout, RUNS)
    outputs = arch_outputs(layout)
    tables.write_tables(runs, declared(layout, runs), outputs)
    assert [r["p_value"] for r in io.read_csv(outputs.significance)] == ["1.0", "", "1.0"]
    assert list(io.read_csv(outputs.quality)[0]) == tables.QUALITY_COLUMNS
    write_summary(runs, declared(layout, runs), layout.top("summary.csv"))
    rows = io.read_csv(layout.top("summary.csv"))
    assert [r["framework"] for r in rows] == ["np", "tf"]
    assert rows[0]["accuracy_mean"] == "0.92" and rows[0]["loc"] == "120"
    assert list(rows[0]) == SUMMARY_COLUMNS


def test_tables_match_a_computation_by_hand(tmp_path):
    """The written files against plain-Python arithmetic on a small case: two frameworks, three
    seeds, tf's seed 1 diverged (out of every figure, in n_seeds and the status)."""
    diverged = make_run("tf", 1, 0.0, status="diverged", seconds=99.0, rate=50.0, rss=999.0)
    case = [*RUNS[:4], diverged, RUNS[5]]  # figures that would show if it were counted
    layout = Layout(str(tmp_path))
    runs = write_run_files(layout, case)
    write_summary(runs, declared(layout, runs), layout.top("summary.csv"))
    tables.write_tables(runs, declared(layout, runs), arch_outputs(layout))
    summary = io.read_csv(layout.top("summary.csv"))
    quality = io.read_csv(layout.table("d", "a", "quality"))
    performance = io.read_csv(layout.table("d", "a", "performance"))

    def same(cell: str, expected) -> bool:
        return cell == "" if expected is None else float(cell) == pytest.approx(expected, rel=1e-5)

    def quartiles(values):  # linear interpolation between closest ranks
        return tuple(statistics.quantiles(values, n=4, method="inclusive")[i] for i in (0, 2))

    for framework, row, q_row, p_row in zip(
        ("np", "tf"), summary, quality, performance, strict=True
    ):
        group = [run for run in case if run["framework"] == framework]
        good = [run for run in group if run["train"]["status"] == "ok"]
        accuracy = [run["metrics"]["accuracy"] for run in good]
        seconds = [run["train"]["total_seconds"] for run in good]
        rates = [run["train"]["steady_samples_per_s"] for run in good]
        p50 = statistics.median(float(run["inference"][0]["p50_ms"]) for run in good)
        bad = len(group) - len(good)
        assert row["framework"] == q_row["framework"] == p_row["framework"] == framework
        assert row["n_seeds"] == q_row["n_seeds"] == str(len(group))
        assert q_row["n_ok"] == p_row["n_ok"] == str(len(good))
        assert row["status"] == ("ok" if bad == 0 else f"diverged ({bad} of {len(group)} seeds)")
        expected = {
            "accuracy_mean": statistics.mean(accuracy),
            "accuracy_std": statistics.stdev(accuracy),
            "f1_macro_mean": statistics.mean(run["metrics"]["f1_macro"] for run in good),
            "train_time_s_median": statistics.median(seconds),
            "train_samples_per_s_median": statistics.median(rates),
            "roofline_fraction": statistics.median(rates) / 4000.0,
            "infer_p50_ms_batch1": p50,
            "infer_samples_per_s_best": max(
                statistics.median(float(run["inference"][i]["samples_per_s"]) for run in good)
                for i in range(2)  # batch 1 and batch 8 of the one API
            ),
            "peak_rss_mb": max(run["train"]["peak_rss_mb"] for run in good),
        }
        for column, value in expected.items():
            assert same(row[column], value), (framework, column, row[column], value)
        t = {3: T_975_DF2, 2: 12.706204736174707}[len(good)]
        half = t * statistics.stdev(accuracy) / math.sqrt(len(good))
        assert same(q_row["accuracy_ci_low"], statistics.mean(accuracy) - half)
        assert same(q_row["accuracy_ci_high"], statistics.mean(accuracy) + half)
        q1, q3 = quartiles(seconds)
        assert same(p_row["train_time_s_q1"], q1) and same(p_row["train_time_s_q3"], q3)
        reached = [r["train"]["time_to_target_s"] for r in good]
        reached = [value for value in reached if value is not None]
        assert p_row["reached_target"] == f"{len(reached)} of {len(good)}"
        assert same(p_row["time_to_target_s_median"], statistics.median(reached))
        rss = max(run["inference_info"]["peak_rss_mb"] for run in good)
        assert same(p_row["peak_rss_mb_inference"], rss)
    # Six significant digits, as written: sqrt(0.0008) = 0.0282842712...
    assert summary[1]["accuracy_std"] == "0.0282843"


# --- throughput.csv: tuned vs idiomatic --------------------------------------------------------


def idiomatic(framework, rates, batch_size=4):
    """Loaded idiomatic runs, one seed per rate, as the idiomatic rule writes them (abridged)."""
    runs = [make_run(framework, seed, 0.9, rate=rate, batch_size=batch_size)
            for seed, rate in enumerate(rates)]  # fmt: skip
    for run in runs:
        run["train"] |= {"variant": "idiomatic", "api": f"{framework} convenient path"}
    return runs


def test_throughput_rows_by_hand():
    rows = throughput_rows(RUNS, idiomatic("np", [400.0, 600.0, 500.0]), ROOFLINE)
    assert [(r["framework"], r["variant"]) for r in rows] == [
        ("np", "tuned"), ("np", "idiomatic"), ("tf", "tuned"),
    ]  # fmt: skip
    assert list(rows[0]) == throughput.THROUGHPUT_COLUMNS
    tuned, idio, tf = rows
    assert tuned["api"] == ""  # no tuned trainer called "np"; the real ones are named:
    torch_row = throughput_rows([make_run("torch", 0, 0.9)], [], ROOFLINE)[0]
    assert torch_row["api"].startswith("frameworks.torch.Trainer:")
    assert (tuned["n_seeds"], tuned["samples_per_s_median"]) == (3, 1000.0)  # 900, 1000, 1200
    assert (tuned["samples_per_s_q1"], tuned["samples_per_s_q3"]) == (950.0, 1100.0)
    assert tuned["roofline_fraction"] == pytest.approx(0.25)  # 1000 / 4000
    assert tuned["shared_ceiling_samples_per_s"] == 4000.0 and tuned["slowdown_vs_tuned"] == 1.0
    assert tuned["shared_ceiling_set_by"] == frames.BLAS_SOURCE
    assert tuned["own_ceiling_fraction"] == "" == tuned["own_ceiling_samples_per_s"]  # not timed
    assert idio["api"] == "np convenient path" and idio["n_seeds"] == 3
    assert (idio["samples_per_s_q1"], idio["samples_per_s_median"]) == (450.0, 500.0)
    assert idio["samples_per_s_q3"] == 550.0
    assert idio["roofline_fraction"] == pytest.approx(0.125)  # 500 / 4000
    assert idio["slowdown_vs_tuned"] == 2.0  # tuned 1000 / idiomatic 500
    # tf: the diverged seed is left out of the median, as in summary.csv
    assert (tf["n_seeds"], tf["samples_per_s_median"]) == (2, 1000.0)


def with_ceiling(run, median, q1=None, q3=None, device="cpu"):
    """``run`` with an in-run ceiling (train.json) and a device."""
    train = run["train"] | {"ceiling_samples_per_s": median, "ceiling_q1": q1, "ceiling_q3": q3}
    return {**run, "train": train | {"device": device}}


def test_throughput_takes_the_tuned_runs_in_run_ceiling_as_own_for_both_variants():
    runs = [
        with_ceiling(make_run("np", seed, 0.9, rate=1000.0), *ceiling)
        for seed, ceiling in enumerate([(2000, 1900, 2100), (4000, 3000, 4500), (3000, 2500, 3200)])
    ]
    tuned, idio = throughput_rows(runs, idiomatic("np", [500.0]), ROOFLINE)
    # medians over seeds: 3000, quartiles 2500 and 3200: np's own ceiling
    assert (tuned["own_ceiling_samples_per_s"], tuned["own_ceiling_q1"]) == (3000.0, 2500.0)
    assert tuned["own_ceiling_q3"] == 3200.0
    assert tuned["own_ceiling_fraction"] == pytest.approx(1 / 3, rel=1e-5)
    assert idio["own_ceiling_samples_per_s"] == 3000.0
    assert idio["own_ceiling_fraction"] == pytest.approx(1 / 6, rel=1e-5)  # six digits in the file
    # The shared yardstick: the roofline job's BLAS (4000) ran the products faster than np.
    assert (tuned["shared_ceiling_samples_per_s"], idio["shared_ceiling_samples_per_s"]) == (
        4000.0, 4000.0,
    )  # fmt: skip
    assert (tuned["roofline_fraction"], idio["roofline_fraction"]) == (0.25, 0.125)


def test_one_yardstick_per_device_the_fastest_products_of_any_framework():
    np_runs = [with_ceiling(make_run("np", s, 0.9, rate=1000.0), 3000.0) for s in range(2)]
    tf_runs = [with_ceiling(make_run("tf", s, 0.9, rate=2000.0), 8000.0) for s in range(2)]
    gpu_runs = [with_ceiling(make_run("jx", s, 0.9, rate=5e4), 1e5, device="cuda") for s in (0, 1)]
    rows = throughput_rows(np_runs + tf_runs + gpu_runs, [], ROOFLINE)
    np_row, tf_row, gpu_row = rows
    assert np_row["shared_ceiling_samples_per_s"] == tf_row["shared_ceiling_samples_per_s"] == 8e3
    assert np_row["shared_ceiling_set_by"] == "tf products"
    assert (np_row["roofline_fraction"], tf_row["roofline_fraction"]) == (0.125, 0.25)
    assert (np_row["own_ceiling_fraction"], tf_row["own_ceiling_fraction"]) == (
        pytest.approx(1 / 3, rel=1e-5), 0.25,
    )  # fmt: skip
    # The GPU is its own device: its own products, not the CPU's BLAS or frameworks.
    assert gpu_row["shared_ceiling_samples_per_s"] == 1e5 and gpu_row["roofline_fraction"] == 0.5
    summary = {row["framework"]: row for row in summary_rows(np_runs + tf_runs + gpu_runs,
                                                             ROOFLINE, LOC)}  # fmt: skip
    for row in rows:  # the same yardstick in summary.csv
        assert summary[row["framework"]]["roofline_fraction"] == row["roofline_fraction"]
        assert summary[row["framework"]]["own_ceiling_fraction"] == row["own_ceiling_fraction"]


def test_a_framework_faster_than_every_product_timed_sets_the_ceiling_itself():
    """Timing its products held a dispatch its compiled epoch does not pay: its training is
    the fastest the products were seen to run, so nothing reads above 100 %."""
    fast = [with_ceiling(make_run("tf", s, 0.9, rate=4800.0), 4000.0) for s in range(2)]
    slow = [with_ceiling(make_run("np", s, 0.9, rate=1200.0), 4500.0) for s in range(2)]
    # The idiomatic variant (6000/s) beat them all: it sets the yardstick of its device.
    rows = throughput_rows(fast + slow, idiomatic("tf", [6000.0]), ROOFLINE)
    assert [(r["framework"], r["variant"]) for r in rows] == [
        ("tf", "tuned"), ("tf", "idiomatic"), ("np", "tuned"),
    ]  # fmt: skip
    assert rows[0]["shared_ceiling_samples_per_s"] == 6000.0
    assert rows[0]["shared_ceiling_set_by"] == "tf idiomatic training"
    assert rows[0]["roofline_fraction"] == 0.8 and rows[1]["roofline_fraction"] == 1.0
    assert rows[0]["own_ceiling_fraction"] == 1.0  # 4800 over max(4000, 4800)
    assert rows[1]["own_ceiling_fraction"] == 1.0  # 6000 over max(4000, 6000)
    # summary.csv has the tuned runs only: tuned tf (4800/s) sets it there.
    summary = summary_rows(fast + slow, ROOFLINE, LOC)
    assert summary[0]["shared_ceiling_set_by"] == "tf training"
    assert summary[0]["roofline_fraction"] == 1.0 and summary[1]["roofline_fraction"] == 0.25
    all_fractions = [row[c] for row in rows + summary for c in row if "fraction" in c]
    assert all(value <= 1.0 for value in all_fractions)


def test_without_any_product_timed_there_is_no_ceiling():
    gpu = with_ceiling(make_run("np", 0, 0.9), None, device="cuda")
    row = throughput_rows([gpu], [], ROOFLINE)[0]
    assert row["roofline_fraction"] == "" == row["shared_ceiling_set_by"]  # not the CPU's BLAS
    assert summary_rows([gpu], ROOFLINE, LOC)[0]["roofline_fraction"] == ""


def test_throughput_without_idiomatic_has_tuned_rows_only():
    rows = throughput_rows(RUNS, [], ROOFLINE)
    assert [(r["framework"], r["variant"]) for r in rows] == [("np", "tuned"), ("tf", "tuned")]


def test_throughput_ceiling_is_taken_at_the_variants_batch_size():
    roofline = {"entries": [*ROOFLINE["entries"], {**ROOFLINE["entries"][0], "batch_size": 8,
                                                   "ceiling_samples_per_s": 1000.0}]}  # fmt: skip
    rows = throughput_rows(RUNS[:3], idiomatic("np", [500.0], 8), roofline)
    assert rows[1]["shared_ceiling_samples_per_s"] == 1000.0 and rows[1]["roofline_fraction"] == 0.5
    rows = throughput_rows(RUNS[:3], idiomatic("np", [500.0], 16), roofline)
    assert rows[1]["roofline_fraction"] == "" and rows[1]["samples_per_s_median"] == 500.0


def test_all_diverged_tuned_leaves_the_slowdown_blank():
    runs = [make_run("x", seed, 0.0, status="diverged") for seed in range(2)]
    rows = throughput_rows(runs, idiomatic("x", [500.0]), ROOFLINE)
    assert rows[0]["n_seeds"] == 0 and rows[0]["samples_per_s_median"] == ""
    assert rows[1]["samples_per_s_median"] == 500.0 and rows[1]["slowdown_vs_tuned"] == ""


def test_write_throughput_from_files(tmp_path):
    layout = Layout(str(tmp_path))
    runs = write_run_files(layout, RUNS)
    for run in idiomatic("tf", [250.0, 250.0, 250.0]):
        io.write_json(run["train"], layout.idiomatic_run_file(run, "train.json"))
    measured = [run for run in runs if run["framework"] == "tf"]
    throughput.write_throughput(
        runs, measured, declared(layout, runs, measured), layout.top("throughput.csv")
    )
    rows = io.read_csv(layout.top("throughput.csv"))
    assert list(rows[0]) == throughput.THROUGHPUT_COLUMNS
    assert [(r["framework"], r["variant"]) for r in rows] == [
        ("np", "tuned"), ("tf", "tuned"), ("tf", "idiomatic"),
    ]  # fmt: skip
    assert rows[2]["dataset"] == "d" and rows[2]["slowdown_vs_tuned"] == "4.0"  # 1000 / 250


def test_bench_prints_an_aligned_table_with_roofline_percentages(tmp_path, capsys):
    rows = throughput_rows(RUNS, idiomatic("np", [400.0, 600.0, 500.0]), ROOFLINE)
    io.write_csv(rows, tmp_path / "throughput.csv", throughput.THROUGHPUT_COLUMNS)
    assert throughput_table.main([str(tmp_path / "throughput.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "dataset", "arch", "framework", "variant", "samples/s", "IQR", "of", "shared", "ceiling",
        "of", "own", "ceiling", "vs", "tuned",
    ]  # fmt: skip
    assert lines[2].split() == [
        "d",
        "a",
        "np",
        "tuned",
        "1,000",
        "950-1,100",
        "25.0%",
        "-",
        "1.00x",
    ]
    assert lines[3].split() == [
        "d",
        "a",
        "np",
        "idiomatic",
        "500",
        "450-550",
        "12.5%",
        "-",
        "2.00x",
    ]
    assert lines[4].split()[:5] == ["d", "a", "tf", "tuned", "1,000"]
    assert len({len(line) for line in lines[:5]}) == 1  # numbers right-aligned to one edge
    assert "  np idiomatic: np convenient path" in lines
    assert "  d a: 4,000 (BLAS (roofline job))" in lines


def test_bench_table_refuses_another_csv(tmp_path):
    io.write_csv(summary_rows(RUNS, ROOFLINE, LOC), tmp_path / "summary.csv")
    with pytest.raises(ValueError, match="not a throughput.csv"):
        throughput_table.read_rows(str(tmp_path / "summary.csv"))


def test_bench_prints_each_frameworks_accuracy_from_summary_csv(tmp_path, capsys):
    rows = throughput_rows(RUNS, [], ROOFLINE)
    io.write_csv(rows, tmp_path / "throughput.csv", throughput.THROUGHPUT_COLUMNS)
    io.write_csv(summary_rows(RUNS, ROOFLINE, LOC), tmp_path / "summary.csv")
    summary = io.read_csv(tmp_path / "summary.csv")
    argv = [str(tmp_path / "throughput.csv"), str(tmp_path / "summary.csv")]
    assert throughput_table.main(argv) == 0
    out = capsys.readouterr().out.split("Test accuracy:\n")[1].splitlines()
    assert out[0].split()[:5] == ["dataset", "arch", "framework", "seeds", "accuracy"]
    for line, row in zip(out[2:], summary, strict=True):
        cells = line.split()
        assert cells[2] == row["framework"]
        assert cells[4] == f"{float(row['accuracy_mean']):.2%}"
        assert line.endswith(row["status"])


def test_the_summary_fraction_is_over_the_shared_ceiling_and_the_own_one_beside_it():
    runs = [with_ceiling(run, 2000.0) for run in RUNS[:3]]  # np: median rate 1000
    row = summary_rows(runs, ROOFLINE, LOC)[0]
    assert row["roofline_fraction"] == 0.25 and row["shared_ceiling_samples_per_s"] == 4000.0
    assert row["own_ceiling_fraction"] == 0.5
    on_gpu = [{**run, "train": {**run["train"], "device": "cuda"}} for run in RUNS[:3]]
    assert summary_rows(on_gpu, ROOFLINE, LOC)[0]["roofline_fraction"] == ""  # no CPU ceiling
