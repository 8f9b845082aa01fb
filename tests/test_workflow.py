"""The whole workflow on the embedded digits set, in a fresh copy, as a user would run it."""

import json

import pytest
from conftest import copy_workflow, snakemake

from mlpcompare import frameworks


@pytest.mark.slow
def test_every_framework_and_seed_trained_from_the_shared_initialisation(tiny_run):
    runs = tiny_run / "results" / "digits" / "mlp-32"
    for fw in frameworks.NAMES:
        for seed in (0, 1):
            summary = json.loads((runs / fw / f"seed{seed}" / "train.json").read_text())
            assert summary["status"] == "ok"
            assert summary["epochs_run"] == 3
            assert summary["layer_sizes"] == [64, 32, 10]
            assert summary["best_val_accuracy"] > 0.5
            history = (runs / fw / f"seed{seed}" / "history.csv").read_text().splitlines()
            assert history[0].startswith("epoch,lr,train_loss") and len(history) == 4
    assert sorted(p.name for p in (runs / "init").iterdir()) == ["seed0.npz", "seed1.npz"]


@pytest.mark.slow
def test_each_training_job_times_the_import_and_starts_the_framework_as_its_trainer_does(
    tiny_run,
):
    """The import is timed before the trainer module is loaded, so the timing must set the
    registry's import environment itself: TensorFlow started with oneDNN trains differently."""
    runs = tiny_run / "results" / "digits" / "mlp-32"
    for fw in frameworks.NAMES:
        for seed in (0, 1):
            summary = json.loads((runs / fw / f"seed{seed}" / "train.json").read_text())
            # What a new user imports first: the framework's own package (keras for keras-jax).
            assert summary["first_use"]["modules"][0] == frameworks.get(fw).packages[0]
            assert 0 < summary["first_use"]["import_seconds"] < 60
            if fw == "keras":
                assert summary["environment"]["onednn_opts"] == "0"
    first_use = json.loads(
        (tiny_run / "results" / "machine" / "first_use" / "keras.json").read_text()
    )
    assert len(first_use["import_seconds"]) == 2  # one per training job


@pytest.mark.slow
def test_data_stage_artifacts_and_logs(tiny_run):
    data = tiny_run / "results" / "digits"
    split = json.loads((data / "data" / "split.json").read_text())
    assert split["counts"] == {"train": 1293, "val": 144, "test": 360}
    assert json.loads((data / "eda" / "sanity.json").read_text())["passed"]
    for png in ("samples.png", "class_balance.png", "pixel_stats.png"):
        assert (data / "eda" / png).read_bytes()[:4] == b"\x89PNG"
    log = (tiny_run / "logs" / "train" / "digits" / "mlp-32" / "torch" / "seed0.log").read_text()
    assert "epoch 3/3" in log  # progress lines reach the rule's log


@pytest.mark.slow
def test_second_run_has_nothing_to_do(tiny_run):
    again = snakemake(tiny_run, "-n", "--configfile", "tiny.yaml")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


def test_the_workflow_passes_snakemakes_linter(tmp_path):
    # The linter flags, among others, a path a rule reads without declaring it (a params
    # prefix), which a cluster without a shared file system would not have.
    work = copy_workflow(tmp_path)
    study = work / "results" / "studies" / "learning-rate"  # a finished study for findings
    study.mkdir(parents=True)
    for name in ("runs", "summary", "effects"):
        (study / f"{name}.csv").touch()
    lint = snakemake(work, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr, (
        lint.stdout + lint.stderr
    )[-3000:]


DESIGN_COLUMNS = [
    "dataset",
    "arch",
    "framework",
    "n_seeds",
    "accuracy_mean",
    "accuracy_std",
    "precision_macro_mean",
    "recall_macro_mean",
    "f1_macro_mean",
    "f1_macro_std",
    "train_time_s_median",
    "epochs_median",
    "train_samples_per_s_median",
    "roofline_fraction",
    "infer_p50_ms_batch1",
    "infer_samples_per_s_best",
    "peak_rss_mb",
    "loc",
]


@pytest.mark.slow
def test_summary_has_every_design_column_filled_for_each_framework(tiny_run):
    lines = (tiny_run / "results" / "summary.csv").read_text().splitlines()
    header = lines[0].split(",")
    # the contract's columns first, then the documented ones after them (DESIGN.md)
    assert header == [
        *DESIGN_COLUMNS, "status", "shared_ceiling_samples_per_s", "shared_ceiling_set_by",
        "own_ceiling_fraction",
    ]  # fmt: skip
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [r["framework"] for r in rows] == list(frameworks.NAMES)
    for row in rows:
        assert all(row[c] != "" for c in DESIGN_COLUMNS), row
        assert row["n_seeds"] == "2" and row["status"] == "ok"
        assert 0.5 < float(row["accuracy_mean"]) <= 1.0
        assert 0 < float(row["roofline_fraction"]) <= float(row["own_ceiling_fraction"]) <= 1
    for name in ("significance.csv", "quality.csv"):
        assert (tiny_run / "results" / "digits" / "mlp-32" / name).is_file()
