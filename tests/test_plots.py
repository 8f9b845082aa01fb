"""The comparison figures: what they derive is right, and every case draws, diverged runs too."""

import numpy as np
import pytest

from mlpcompare import io, plots

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


MIXED = [run("numpy", 0), run("numpy", 1, epochs=3), run("keras", 0), run("keras", 1, "diverged")]
ALL_DIVERGED = [run("numpy", 0, "diverged"), run("keras", 0, "diverged")]


def is_png(path) -> bool:
    return path.read_bytes()[:4] == b"\x89PNG"


def test_seed_band_summarises_the_seeds_that_reached_each_epoch():
    epochs, mean, low, high = plots.seed_band([history(3), history(2, 1.0)], "train_loss")
    assert list(epochs) == [1, 2, 3]
    np.testing.assert_allclose(mean, [1.5, 1.0, 1 / 3])
    np.testing.assert_allclose(low, [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(high, [2.0, 1.5, 1 / 3])
    assert plots.seed_band([], "train_loss") is None


def test_frameworks_keep_their_order_and_diverged_seeds_are_named():
    groups = plots.by_framework(MIXED)
    assert list(groups) == ["numpy", "keras"]
    assert plots.framework_label("numpy", groups["numpy"]) == "numpy"
    assert plots.framework_label("keras", groups["keras"]) == "keras (diverged: 1 of 2 seeds)"


def test_confusion_counts_read_rows_as_true_by_predicted():
    classes, counts = plots.confusion_counts(run("numpy", 0)["confusion"])
    assert classes == CLASSES
    assert counts.shape == (3, 3) and counts.trace() == 30 and counts.sum() == 36


def test_roofline_ceiling_is_taken_at_each_frameworks_batch_size():
    roofline = {"entries": [
        {"dataset": "d", "arch": "a", "batch_size": 8, "ceiling_samples_per_s": 5e4},
        {"dataset": "d", "arch": "a", "batch_size": 64, "ceiling_samples_per_s": 9e4},
    ]}  # fmt: skip
    runs = [run("numpy", 0), run("keras", 0)]
    runs[1]["train"]["training"] = {"batch_size": 64}
    assert plots.roofline_ceilings(roofline, "d", "a", runs) == {"numpy": 5e4, "keras": 9e4}
    assert plots.roofline_ceilings(roofline, "d", "other", runs) == {"numpy": None, "keras": None}


@pytest.mark.parametrize("runs", [MIXED, ALL_DIVERGED], ids=["mixed", "all-diverged"])
def test_run_figures_draw_with_diverged_seeds(runs, tmp_path):
    for draw in (
        plots.learning_curves,
        plots.time_to_accuracy,
        plots.confusion_matrices,
        plots.per_class_f1,
    ):
        path = tmp_path / f"{draw.__name__}.png"
        draw(runs, path)
        assert is_png(path), draw.__name__


def test_training_figure_draws_bars_ceilings_and_diverged(tmp_path):
    rows = [performance("numpy"), performance("torch"), performance("keras", ok=False)]
    path = tmp_path / "training.png"
    plots.training_performance(rows, {"numpy": 2e4, "torch": None, "keras": 2e4}, path)
    assert is_png(path)


def test_inference_figure_draws_one_line_per_framework_and_api(tmp_path):
    plots.inference_latency(inference_rows(), tmp_path / "inference.png")
    plots.inference_latency([], tmp_path / "none.png")  # every run diverged: nothing measured
    assert is_png(tmp_path / "inference.png") and is_png(tmp_path / "none.png")


def test_read_runs_reads_json_and_csv_in_key_order(tmp_path):
    keys = [{"framework": "numpy", "seed": 0}, {"framework": "torch", "seed": 0}]
    for key in keys:
        io.write_json({"status": key["framework"]}, tmp_path / f"{key['framework']}.json")
        io.write_csv([{"epoch": 1}], tmp_path / f"{key['framework']}.csv")
    runs = plots.read_runs(
        keys,
        train=[tmp_path / "numpy.json", tmp_path / "torch.json"],
        history=[tmp_path / "numpy.csv", tmp_path / "torch.csv"],
    )
    assert [r["train"]["status"] for r in runs] == ["numpy", "torch"]
    assert runs[0]["history"] == [{"epoch": "1"}]


def test_training_figure_draws_the_idiomatic_variant_hatched_beside_the_tuned(
    tmp_path, monkeypatch
):
    drawn = []
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig))
    rows = [performance("numpy"), performance("torch"), performance("keras", ok=False)]
    idiomatic = {
        fw: {"framework": fw, "samples_per_s_median": "300", "samples_per_s_q1": "250",
             "samples_per_s_q3": "350"}
        for fw in ("numpy", "keras")
    }  # fmt: skip
    plots.training_performance(rows, {"numpy": 2e4, "torch": 2e4}, tmp_path / "t.png", idiomatic)
    rate = drawn[0].axes[1]
    bars = {(round(p.get_x() + p.get_width() / 2, 2), p.get_height(), bool(p.get_hatch()))
            for p in rate.patches}  # fmt: skip
    # numpy: tuned moved left, idiomatic hatched on the right; torch: one full-width bar;
    # keras: diverged tuned runs, its idiomatic bar still drawn
    assert bars == {(-0.2, 1000.0, False), (0.2, 300.0, True), (1.0, 1000.0, False),
                    (2.2, 300.0, True)}  # fmt: skip
    assert "idiomatic variant (hatched)" in rate.get_legend_handles_labels()[1]
