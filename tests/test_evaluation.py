"""Evaluate and benchmark one run directory, with the NumPy model (no framework import needed)."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import threadpoolctl

from mlpcompare import evaluation, io, metrics
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


def evaluate(run_dir):
    outputs = SimpleNamespace(
        metrics=run_dir / "metrics.json",
        predictions=run_dir / "predictions.npz",
        confusion=run_dir / "confusion.csv",
    )
    evaluation.evaluate(
        framework="numpy",
        model_path=str(run_dir / "model.npz"),
        split_path=str(run_dir / "split.npz"),
        info_path=str(run_dir / "split.json"),
        train_path=str(run_dir / "train.json"),
        arch=ARCH,
        device="cpu",
        threads=1,
        outputs=outputs,
    )
    return outputs


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


def test_a_diverged_run_gets_null_metrics_without_loading_its_model(run_dir):
    io.write_json({"status": "diverged", "seed": 0}, run_dir / "train.json")
    (run_dir / "model.npz").write_bytes(b"not a model")  # would fail if it were loaded
    outputs = evaluate(run_dir)
    report = io.read_json(outputs.metrics)
    assert report["status"] == "diverged" and report["accuracy"] is None
    saved = io.read_npz(outputs.predictions)
    assert (saved["y_pred"] == metrics.NO_PREDICTION).all() and np.isnan(saved["proba"]).all()


def test_benchmark_times_every_batch_size_and_records_the_job(run_dir):
    outputs = SimpleNamespace(inference=run_dir / "inference.csv", info=run_dir / "inference.json")
    evaluation.benchmark(
        framework="numpy",
        model_path=str(run_dir / "model.npz"),
        split_path=str(run_dir / "split.npz"),
        info_path=str(run_dir / "split.json"),
        arch=ARCH,
        device="auto",
        threads=1,
        settings=QUICK,
        outputs=outputs,
    )
    with open(outputs.inference) as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["api"], r["batch_size"]) for r in rows] == [
        ("forward", "1"),
        ("forward", "4"),
        ("forward", "12"),  # 100 > 12 test samples: skipped
    ]
    assert all(float(r["p50_ms"]) > 0 and int(r["repeats"]) >= 5 for r in rows)
    record = io.read_json(outputs.info)
    assert record["device"] == "cpu" and record["apis"] == ["forward"]
    assert record["peak_rss_mb"] > 0 and record["environment"]["framework"] == "numpy"
    assert isinstance(record["contention"], bool)


def test_only_the_named_arrays_are_read(run_dir):
    assert list(io.read_npz(str(run_dir / "split.npz"), ["y_test"])) == ["y_test"]
