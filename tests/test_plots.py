"""The comparison figures: what they derive is right, and every case draws, diverged runs too."""

from pathlib import Path

import numpy as np
import pytest
from fake_results import arch_inputs

from mlpcompare import io
from mlpcompare.layout import Layout
from mlpcompare.presenting import figures, perf_plots, plot_style, plots
from mlpcompare.presenting.figures import ArchData

CLASSES = ["0", "1", "2"]


def history(n_epochs: int, shift: float = 0.0) -> list[dict]:
    """history.csv rows as read from file (text)."""
    return [
        {
            "epoch": str(e), "lr": "0.001", "train_loss": str(1.0 / e + shift),
            "train_accuracy": str(0.5 + 0.1 * e), "val_loss": str(1.2 / e + shift),
            "val_accuracy": str(0.45 + 0.1 * e), "epoch_seconds": "0.5",
        }
        for e in range(1, n_epochs + 1)
    ]  # fmt: skip


def run(framework: str, seed: int, status: str = "ok", epochs: int = 4) -> dict:
    ok = status == "ok"
    confusion = [{"true": c, **{p: str(10 if p == c else 1) for p in CLASSES}} for c in CLASSES]
    f1 = {c: {"f1": (0.8 + 0.05 * seed) if ok else None} for c in CLASSES}
    return {
        "dataset": "d", "arch": "a", "framework": framework, "seed": seed,
        "train": {"status": status, "target_val_accuracy": 0.9, "training": {"batch_size": 8}},
        "history": history(epochs, 0.1 * seed),
        "confusion": confusion,
        "metrics": {"per_class": f1},
    }  # fmt: skip


def performance(framework: str, ok: bool = True) -> dict:
    """A performance.csv row; a framework whose seeds all diverged has blank figures."""
    values = {
        "train_time_s_median": "2.0", "train_time_s_q1": "1.5", "train_time_s_q3": "2.5",
        "first_epoch_s_median": "0.5", "train_samples_per_s_median": "1000",
        "train_samples_per_s_q1": "900", "train_samples_per_s_q3": "1100",
    }  # fmt: skip
    return {"framework": framework, **(values if ok else dict.fromkeys(values, ""))}


def inference_rows() -> list[dict]:
    return [
        {"framework": fw, "api": api, "batch_size": str(b), "n_ok": "2",
         "p50_ms": str(0.1 * b), "p90_ms": str(0.2 * b), "samples_per_s": str(1e4 / (1 + b))}
        for fw, apis in (("numpy", ["forward"]), ("keras", ["direct_call", "predict"]))
        for api in apis
        for b in (1, 32, 100)
    ]  # fmt: skip


def quality_rows() -> list[dict]:
    """quality.csv rows: numpy with an interval, keras with one seed (none), jax diverged."""
    figures = ("accuracy_mean", "accuracy_ci_low", "accuracy_ci_high", "f1_macro_mean",
               "f1_macro_ci_low", "f1_macro_ci_high")  # fmt: skip
    values = {"numpy": ("0.9", "0.88", "0.92") * 2, "keras": ("0.91", "", "") * 2,
              "jax": ("",) * 6}  # fmt: skip
    return [{"framework": fw, **dict(zip(figures, v, strict=True))} for fw, v in values.items()]


MIXED = [run("numpy", 0), run("numpy", 1, epochs=3), run("keras", 0), run("keras", 1, "diverged")]
ALL_DIVERGED = [run("numpy", 0, "diverged"), run("keras", 0, "diverged")]


def arch_data(
    runs=(), performance=(), inference=(), ceilings=None, idiomatic=None, quality=()
) -> ArchData:
    return ArchData(
        list(runs), list(performance), list(inference), ceilings or {}, idiomatic or {},
        list(quality),
    )  # fmt: skip


def is_png(path) -> bool:
    return path.read_bytes()[:4] == b"\x89PNG"


def test_seed_band_summarises_the_seeds_that_reached_each_epoch():
    epochs, mean, low, high = plot_style.seed_band([history(3), history(2, 1.0)], "train_loss")
    assert list(epochs) == [1, 2, 3]
    np.testing.assert_allclose(mean, [1.5, 1.0, 1 / 3])
    np.testing.assert_allclose(low, [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(high, [2.0, 1.5, 1 / 3])
    assert plot_style.seed_band([], "train_loss") is None


def test_frameworks_keep_their_order_and_diverged_seeds_are_named():
    groups = plot_style.by_framework(MIXED)
    assert list(groups) == ["numpy", "keras"]
    assert plot_style.framework_label("numpy", groups["numpy"]) == "numpy"
    assert plot_style.framework_label("keras", groups["keras"]) == "keras (diverged: 1 of 2 seeds)"


def test_confusion_counts_read_rows_as_true_by_predicted():
    classes, counts = plots.confusion_counts(run("numpy", 0)["confusion"])
    assert classes == CLASSES
    assert counts.shape == (3, 3) and counts.trace() == 30 and counts.sum() == 36


def write_arch_tree(root, runs, batch_sizes, shared=None) -> Layout:
    """The files the plots rule reads for ``runs`` (records with their contents), under ``root``;
    ``shared``: framework -> its tuned row's shared ceiling in throughput.csv (blank if absent)."""
    results = Layout(str(root))
    for run in runs:
        io.write_json(run["train"], results.run_file(run, "train.json"))
        io.write_json(run["metrics"], results.run_file(run, "metrics.json"))
        io.write_csv(run["history"], results.run_file(run, "history.csv"))
        io.write_csv(run["confusion"], results.run_file(run, "confusion.csv"))
    entries = [
        {"dataset": "d", "arch": "a", "batch_size": b, "ceiling_samples_per_s": c}
        for b, c in batch_sizes.items()
    ]
    io.write_json({"entries": entries}, results.machine("roofline.json"))
    io.write_csv([performance("numpy")], results.table("d", "a", "performance"))
    io.write_csv(inference_rows(), results.table("d", "a", "inference"))
    io.write_csv(quality_rows(), results.table("d", "a", "quality"))
    shared = shared or {}
    throughput = [
        {
            "dataset": "d",
            "arch": "a",
            "framework": fw,
            "variant": v,
            "samples_per_s_median": "1",
            "shared_ceiling_samples_per_s": shared.get(fw, "") if v == "tuned" else "",
        }
        for fw, v in [*((r["framework"], "tuned") for r in runs), ("keras", "idiomatic")]
    ]
    io.write_csv(throughput, results.top("throughput.csv"))
    return results


def test_arch_data_reads_each_runs_files_and_its_shared_ceiling(tmp_path):
    runs = [run("numpy", 0), run("keras", 0)]
    runs[1]["train"]["training"] = {"batch_size": 64}
    results = write_arch_tree(tmp_path, runs, {8: 5e4, 64: 9e4}, {"numpy": 5e4, "keras": 9e4})
    records = [{k: r[k] for k in ("dataset", "arch", "framework", "seed")} for r in runs]
    data = figures.read_arch_data(records, arch_inputs(results, records))
    assert [r["framework"] for r in data.runs] == ["numpy", "keras"]
    assert data.runs[0]["history"][0]["epoch"] == "1"
    assert data.ceilings == {"numpy": 5e4, "keras": 9e4}
    assert list(data.idiomatic) == ["keras"]
    assert data.performance[0]["framework"] == "numpy"
    assert [row["framework"] for row in data.quality] == ["numpy", "keras", "jax"]


def test_quality_chart_draws_intervals_single_seeds_and_diverged(tmp_path):
    path = tmp_path / "quality.png"
    plots.quality_intervals(arch_data(quality=quality_rows()), str(path))
    assert is_png(path)


def test_a_ceiling_not_measured_is_none(tmp_path):
    results = write_arch_tree(tmp_path, [run("numpy", 0)], {256: 5e4})
    records = [{"dataset": "d", "arch": "a", "framework": "numpy", "seed": 0}]
    data = figures.read_arch_data(records, arch_inputs(results, records))
    assert data.ceilings == {"numpy": None}


def test_a_cuda_run_has_no_ceiling_from_the_cpu_roofline(tmp_path):
    """throughput.csv leaves its shared ceiling blank (no product timed on the GPU)."""
    runs = [run("torch", 0)]
    runs[0]["train"]["device"] = "cuda"
    results = write_arch_tree(tmp_path, runs, {8: 5e4})
    records = [{k: r[k] for k in ("dataset", "arch", "framework", "seed")} for r in runs]
    data = figures.read_arch_data(records, arch_inputs(results, records))
    assert data.ceilings == {"torch": None}


def test_every_registered_figure_has_a_drawing_function_and_a_caption():
    root = Path(__file__).resolve().parent.parent
    for name, figure in {**figures.FIGURES, **figures.EDA_FIGURES}.items():
        assert callable(figure.function()), name
    for name in figures.FIGURES:
        assert (root / "report" / "captions" / f"{name}.rst").is_file(), name


@pytest.mark.parametrize("runs", [MIXED, ALL_DIVERGED], ids=["mixed", "all-diverged"])
def test_run_figures_draw_with_diverged_seeds(runs, tmp_path):
    for draw in (
        plots.learning_curves,
        plots.time_to_accuracy,
        plots.confusion_matrices,
        plots.per_class_f1,
    ):
        path = tmp_path / f"{draw.__name__}.png"
        draw(arch_data(runs), path)
        assert is_png(path), draw.__name__


def test_training_figure_draws_bars_ceilings_and_diverged(tmp_path):
    rows = [performance("numpy"), performance("torch"), performance("keras", ok=False)]
    path = tmp_path / "training.png"
    ceilings = {"numpy": 2e4, "torch": None, "keras": 2e4}
    perf_plots.training_performance(arch_data(performance=rows, ceilings=ceilings), path)
    assert is_png(path)


def test_inference_figure_draws_one_line_per_framework_and_api(tmp_path):
    perf_plots.inference_latency(arch_data(inference=inference_rows()), tmp_path / "inference.png")
    # every run diverged: nothing measured
    perf_plots.inference_latency(arch_data(), tmp_path / "none.png")
    assert is_png(tmp_path / "inference.png") and is_png(tmp_path / "none.png")


def test_draw_makes_every_figure_of_a_registry(tmp_path):
    outputs = {name: str(tmp_path / f"{name}.png") for name in figures.FIGURES}
    data = arch_data(MIXED, [performance("numpy"), performance("keras")], inference_rows())
    figures.draw(data, outputs)
    assert all(is_png(Path(path)) for path in outputs.values())


def test_training_figure_draws_the_idiomatic_variant_hatched_beside_the_tuned(
    tmp_path, monkeypatch
):
    drawn = []
    monkeypatch.setattr(perf_plots, "save", lambda fig, path: drawn.append(fig))
    rows = [performance("numpy"), performance("torch"), performance("keras", ok=False)]
    idiomatic = {
        fw: {"framework": fw, "samples_per_s_median": "300", "samples_per_s_q1": "250",
             "samples_per_s_q3": "350"}
        for fw in ("numpy", "keras")
    }  # fmt: skip
    data = arch_data(performance=rows, ceilings={"numpy": 2e4, "torch": 2e4}, idiomatic=idiomatic)
    perf_plots.training_performance(data, tmp_path / "t.png")
    rate = drawn[0].axes[1]
    bars = {(round(p.get_x() + p.get_width() / 2, 2), p.get_height(), bool(p.get_hatch()))
            for p in rate.patches}  # fmt: skip
    # numpy: tuned moved left, idiomatic hatched on the right; torch: one full-width bar;
    # keras: diverged tuned runs, its idiomatic bar still drawn
    assert bars == {(-0.2, 1000.0, False), (0.2, 300.0, True), (1.0, 1000.0, False),
                    (2.2, 300.0, True)}  # fmt: skip
    assert "idiomatic variant (hatched)" in rate.get_legend_handles_labels()[1]
