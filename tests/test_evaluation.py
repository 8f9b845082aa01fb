"""Evaluate and benchmark one run directory, with the NumPy model (no framework import needed)."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import threadpoolctl

from mlpcompare import io
from mlpcompare.measuring import evaluation, metrics
from mlpcompare.serving import onnx_graph, onnx_serving
from mlpcompare.spec import ModelSpec, init_weights

ARCH = {"hidden": [8], "activation": "relu", "dropout": 0.0}
CLASSES = ["zero", "one", "two"]
QUICK = {
    "batch_sizes": [1, 4, 100],
    "full_test_set": True,
    "warmup_calls": 5,
    "min_repeats": 5,
    "min_seconds": 0.0,
    "rounds": 2,
}


@pytest.fixture(autouse=True)
def restore_thread_limits():
    """The jobs pin BLAS threads for their whole process; give the test process its own back."""
    with threadpoolctl.threadpool_limits(limits=None):
        yield


@pytest.fixture
def run_dir(tmp_path):
    rng = np.random.default_rng(0)
    x_test = rng.random((12, 5), dtype=np.float32)
    y_test = np.arange(12) % 3
    io.write_npz(
        {"x_train": x_test, "y_train": y_test, "x_test": x_test, "y_test": y_test},
        tmp_path / "split.npz",
    )
    io.write_json({"n_features": 5, "n_classes": 3, "classes": CLASSES}, tmp_path / "split.json")
    params = init_weights(ModelSpec(5, (8,), 3), seed=0)
    np.savez(tmp_path / "model.npz", **params)
    io.write_json({"status": "ok", "seed": 0}, tmp_path / "train.json")
    return tmp_path


FILES = {
    "metrics": "metrics.json",
    "predictions": "predictions.npz",
    "confusion": "confusion.csv",
    "inference": "inference.csv",
    "info": "inference.json",
    "onnx": "model.onnx",
}


def evaluate_dirs(dirs, seeds, device="auto"):
    """Both steps for a run folder per seed, through the function the evaluate rule runs."""
    outputs = SimpleNamespace(**{name: [d / file for d in dirs] for name, file in FILES.items()})
    evaluation.evaluate_runs(
        framework="numpy",
        seeds=seeds,
        model_paths=[str(d / "model.npz") for d in dirs],
        train_paths=[str(d / "train.json") for d in dirs],
        split_path=str(dirs[0] / "split.npz"),
        info_path=str(dirs[0] / "split.json"),
        arch=ARCH,
        device=device,
        threads=1,
        settings=QUICK,
        outputs=outputs,
    )
    return outputs


def evaluate(run_dir):
    """One seed's outputs, by name."""
    outputs = evaluate_dirs([run_dir], [0])
    return SimpleNamespace(**{name: paths[0] for name, paths in vars(outputs).items()})


def test_evaluate_writes_metrics_predictions_and_confusion(run_dir):
    outputs = evaluate(run_dir)
    report = io.read_json(outputs.metrics)
    saved = io.read_npz(outputs.predictions)
    assert report["status"] == "ok" and report["framework"] == "numpy" and report["seed"] == 0
    assert set(saved) == {"y_true", "y_pred", "proba"}
    assert report["accuracy"] == pytest.approx(np.mean(saved["y_pred"] == saved["y_true"]))
    np.testing.assert_allclose(saved["proba"].sum(axis=1), 1, rtol=1e-5)
    with open(outputs.confusion) as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["true", *CLASSES]
    assert sum(int(v) for row in rows for k, v in row.items() if k != "true") == 12


def test_a_diverged_run_gets_null_metrics_and_its_inference_is_still_timed(run_dir):
    io.write_json({"status": "diverged", "seed": 0}, run_dir / "train.json")
    params = init_weights(ModelSpec(5, (8,), 3), seed=0)
    np.savez(run_dir / "model.npz", **{k: np.full_like(v, np.nan) for k, v in params.items()})
    outputs = evaluate(run_dir)
    report = io.read_json(outputs.metrics)
    assert report["status"] == "diverged" and report["accuracy"] is None
    saved = io.read_npz(outputs.predictions)
    assert (saved["y_pred"] == metrics.NO_PREDICTION).all() and np.isnan(saved["proba"]).all()
    record = io.read_json(outputs.info)
    assert record["apis"] == ["forward", "onnxruntime"]
    assert record["onnx"]["checked"] is False  # NaN predictions cannot be compared


def test_benchmark_times_every_batch_size_and_records_the_job(run_dir):
    outputs = evaluate(run_dir)
    with open(outputs.inference) as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["api"], r["batch_size"]) for r in rows] == [
        ("forward", "1"),
        ("forward", "4"),
        ("forward", "12"),  # 100 > 12 test samples: skipped
        ("onnxruntime", "1"),
        ("onnxruntime", "4"),
        ("onnxruntime", "12"),
    ]
    assert all(float(r["p50_ms"]) > 0 and int(r["repeats"]) >= 5 for r in rows)
    record = io.read_json(outputs.info)
    assert record["device"] == "cpu" and record["apis"] == ["forward", "onnxruntime"]
    assert record["peak_rss_mb"] > 0 and record["environment"]["framework"] == "numpy"
    assert isinstance(record["contention"], bool)


def test_the_model_is_exported_to_onnx_and_checked_against_the_framework(run_dir):
    outputs = evaluate(run_dir)
    assert outputs.onnx.is_file()
    check = io.read_json(outputs.info)["onnx"]
    assert check["checked"] and check["n"] == 12 and check["classes_differing"] == 0
    assert check["max_abs_proba_diff"] <= onnx_serving.PROBA_TOLERANCE
    assert check["threads"] == 1 and check["exporter"]


def test_an_export_that_disagrees_with_the_framework_stops_the_job(run_dir, monkeypatch):
    """A wrong export (here: another seed's weights) is one line, not an inference row."""
    wrong = init_weights(ModelSpec(5, (8,), 3), seed=7)
    monkeypatch.setattr(
        "mlpcompare.frameworks.numpy.trainer.LoadedModel.export_onnx",
        lambda self, path: onnx_graph.write(wrong, self.model.spec, path),
    )
    with pytest.raises(onnx_serving.MismatchError, match="ONNX Runtime disagrees with numpy"):
        evaluate(run_dir)
    assert not (run_dir / "inference.csv").exists()


def test_every_seed_gets_its_own_files(tmp_path, run_dir):
    """One job, several seeds: each model's predictions land in its own run folder."""
    other = tmp_path / "seed1"
    other.mkdir()
    params = init_weights(ModelSpec(5, (8,), 3), seed=1)
    np.savez(other / "model.npz", **params)
    io.write_json({"status": "ok", "seed": 1}, other / "train.json")
    dirs = [run_dir, other]
    evaluate_dirs(dirs, [0, 1], device="cpu")
    seeds = [io.read_json(d / "metrics.json")["seed"] for d in dirs]
    assert seeds == [0, 1]
    logits = [io.read_npz(d / "predictions.npz")["proba"] for d in dirs]
    assert not np.allclose(logits[0], logits[1])  # two models, not one written twice


def test_only_the_named_arrays_are_read(run_dir):
    assert list(io.read_npz(str(run_dir / "split.npz"), ["y_test"])) == ["y_test"]
