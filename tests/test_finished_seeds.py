"""A study job cut off after some seeds trains only the rest when run again
(mlpcompare.studies.finished_seeds), and only while nothing it depends on changed."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mlpcompare import io
from mlpcompare.layout import STUDY_RUN_FILES
from mlpcompare.spec import ModelSpec, init_weights
from mlpcompare.studies import runs as study_runs
from mlpcompare.studies.finished_seeds import FOLDER

ARCH = {"hidden": [8], "activation": "relu", "dropout": 0.0}
TRAINING = {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "epochs": 2,
            "target_val_accuracy": 0.5}  # fmt: skip
SEEDS = [0, 1]


@pytest.fixture
def job(tmp_path):
    """A numpy study job's arguments on a tiny split: two seeds, outputs under tmp_path."""
    rng = np.random.default_rng(0)
    split = {}
    for part, n in (("train", 64), ("val", 32), ("test", 32)):
        split[f"x_{part}"] = rng.random((n, 5), dtype=np.float32)
        split[f"y_{part}"] = rng.integers(0, 3, n)
    io.write_npz(split, tmp_path / "split.npz")
    spec = ModelSpec(n_in=5, hidden=(8,), n_out=3)
    inits = []
    for seed in SEEDS:
        inits.append(tmp_path / f"init{seed}.npz")
        io.write_npz(init_weights(spec, seed), inits[-1])
    code = tmp_path / "code.py"
    code.write_text("# the job's code\n")
    base = tmp_path / "s" / "v" / "numpy"
    outputs = SimpleNamespace(**{name: [str(base / f"seed{seed}" / file) for seed in SEEDS]
                                 for name, file in STUDY_RUN_FILES.items()})  # fmt: skip
    return {"framework": "numpy", "seeds": SEEDS, "split_path": str(tmp_path / "split.npz"),
            "init_paths": [str(p) for p in inits], "arch": ARCH, "training": TRAINING,
            "device": "cpu", "threads": 1, "outputs": outputs, "code_paths": [str(code)]}  # fmt: skip


def cut_off_after_first_seed(monkeypatch):
    """Make the second seed's training fail, as a job stopped halfway does; count the seeds
    trained."""
    trained = []
    real = study_runs.fit_run

    def fit_run(*args, **kwargs):
        seed = args[6]
        trained.append(seed)
        if seed == SEEDS[1] and len(trained) == 2:
            raise KeyboardInterrupt("cut off")
        return real(*args, **kwargs)

    monkeypatch.setattr(study_runs, "fit_run", fit_run)
    return trained


def outputs_of(job):
    return {path: Path(path).read_bytes() for paths in vars(job["outputs"]).values()
            for path in paths}  # fmt: skip


def remove_outputs(job):
    """What Snakemake does to an incomplete job's outputs before running it again."""
    for paths in vars(job["outputs"]).values():
        for path in paths:
            Path(path).unlink(missing_ok=True)


def test_a_rerun_keeps_the_finished_seed_and_clears_up(job, monkeypatch):
    trained = cut_off_after_first_seed(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        study_runs.run_variant(**job)
    first_seed = Path(job["outputs"].train[0]).read_bytes()
    remove_outputs(job)
    study_runs.run_variant(**job)
    assert trained == [0, 1, 1]  # seed 0 not trained again
    assert Path(job["outputs"].train[0]).read_bytes() == first_seed
    assert all(len(v) > 0 for v in outputs_of(job).values())
    folder = Path(job["outputs"].train[0]).parents[1] / FOLDER
    assert not folder.exists()


@pytest.mark.parametrize("change", ["training", "code", "init"])
def test_a_changed_input_trains_the_seed_again(job, monkeypatch, change):
    trained = cut_off_after_first_seed(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        study_runs.run_variant(**job)
    if change == "training":
        job["training"] = {**TRAINING, "lr": 0.02}
    elif change == "code":
        Path(job["code_paths"][0]).write_text("# changed\n")
    else:
        spec = ModelSpec(n_in=5, hidden=(8,), n_out=3)
        io.write_npz(init_weights(spec, 7), job["init_paths"][0])
    remove_outputs(job)
    study_runs.run_variant(**job)
    assert trained == [0, 1, 0, 1]
