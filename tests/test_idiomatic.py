"""The idiomatic variant: each framework's convenient path trains the same network from the same
weights with the full recipe (schedule, early stopping, best epoch kept), saves a model the tuned
loader reads, and the driver writes and evaluates every seed where the layout says."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from mlpcompare import frameworks, io, layout, spec
from mlpcompare.aggregating import frames
from mlpcompare.aggregating.idiomatic import IDIOMATIC_COLUMNS, idiomatic_table
from mlpcompare.frameworks.numpy import Trainer as NumpyTrainer
from mlpcompare.layout import Layout
from mlpcompare.presenting import idiomatic_plots
from mlpcompare.training import idiomatic
from mlpcompare.training.loop import fit as tuned_fit
from mlpcompare.training.runs import HISTORY_COLUMNS

N, N_IN, N_OUT = 192, 8, 3
MODEL = spec.ModelSpec(N_IN, (16,), N_OUT, "relu", 0.0)
WEIGHTS = spec.init_weights(MODEL, 0)
FRAMEWORKS = frameworks.NAMES


def blobs(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters in N_IN dimensions: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_OUT, N_IN)) * 2
    y = np.arange(n) % N_OUT
    return (centres[y] + rng.normal(size=(n, N_IN))).astype(np.float32), y.astype(np.int64)


def split(seed: int = 0) -> dict:
    x, y = blobs(N + 96, seed)
    return {"x_train": x[:N], "y_train": y[:N], "x_val": x[N : N + 48], "y_val": y[N : N + 48],
            "x_test": x[N + 48 :], "y_test": y[N + 48 :]}  # fmt: skip


def tuned_module(framework):
    """The framework's module, its threads left as the test process has them: TensorFlow fixes
    its pools once, and an earlier test in the session may have started it."""
    return frameworks.get(framework).trainer_module()


def train(framework, model, train_spec, weights, tmp_path, data=None):
    """Fit ``framework``'s idiomatic path; the result and the saved model, loaded back by the
    tuned trainer's loader."""
    tuned, device = tuned_module(framework), "cpu"
    path = str(tmp_path / frameworks.get(framework).model_file)
    data = data or split()
    result = idiomatic.module(framework).fit(
        model, train_spec, weights, data, seed=0, device=device, model_path=path
    )
    return result, tuned.load_model(path, model, device), data


def accuracy(loaded, x, y) -> float:
    return float(np.mean(loaded.predict_logits(x).argmax(axis=1) == y))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_full_recipe_early_stopping_keeps_the_best_epoch(framework, tmp_path):
    """The schedule is lr * lr_decay**epoch, training stops after ``patience`` epochs without a
    better validation accuracy, and the saved model is the best epoch's: reloaded, it scores
    that epoch's validation accuracy."""
    train_spec = spec.TrainSpec(lr=0.05, lr_decay=0.8, batch_size=32, epochs=30, patience=2)
    result, loaded, data = train(framework, MODEL, train_spec, WEIGHTS, tmp_path)
    history = result.history
    # Every column of a tuned history but the in-run roofline ceiling, which it does not measure.
    assert all(set(HISTORY_COLUMNS) - set(row) <= {"ceiling_samples_per_s"} for row in history)
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert [h["lr"] for h in history] == pytest.approx(
        [train_spec.lr_at(e) for e in range(len(history))]
    )
    assert all(0 < h["epoch_seconds"] < 60 for h in history)
    val = [h["val_accuracy"] for h in history]
    assert result.best_epoch == 1 + int(np.argmax(val))  # the first epoch with the best score
    assert result.stopped_early and len(history) == result.best_epoch + train_spec.patience
    assert accuracy(loaded, data["x_val"], data["y_val"]) == pytest.approx(max(val), abs=1e-9)
    assert history[-1]["train_loss"] < history[0]["train_loss"] < 3 * math.log(N_OUT)
    assert isinstance(idiomatic.module(framework).API, str)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_idiomatic_reaches_the_tuned_accuracy(framework, tmp_path):
    """On a separable problem the convenient path and the tuned trainer of the same framework,
    from the same weights with the same recipe, end at the same test accuracy (within 2 of 96
    samples; the batch orders and dropout masks differ)."""
    model = spec.ModelSpec(N_IN, (32, 16), N_OUT, "relu", 0.1)
    weights = spec.init_weights(model, 1)
    train_spec = spec.TrainSpec(lr=0.01, lr_decay=0.95, batch_size=32, epochs=8, patience=3)
    result, loaded, data = train(framework, model, train_spec, weights, tmp_path)
    tuned, device = tuned_module(framework), "cpu"
    trainer = tuned.Trainer(model, train_spec, weights, data["x_train"], data["y_train"],
                            seed=0, device=device)  # fmt: skip
    tuned_fit(trainer, N, data["x_val"], data["y_val"], train_spec, seed=0)
    idiomatic_acc = accuracy(loaded, data["x_test"], data["y_test"])
    tuned_acc = accuracy(trainer, data["x_test"], data["y_test"])
    assert idiomatic_acc > 0.9 and abs(idiomatic_acc - tuned_acc) <= 2 / 48


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_same_weights_and_recipe_as_the_tuned_numpy_trainer(framework, optimizer, tmp_path):
    """With one batch per epoch (order does not matter then) and no dropout, each epoch's loss
    is the full-batch loss before that epoch's step: the same as the tuned NumPy trainer's at the
    same step if initial weights, loss, Adam constants, weight decay (coupled L2 or AdamW's
    decoupled shrink) and the rate's decay all agree. (Keras' own Adam puts epsilon elsewhere;
    with these gradients that is far below the tolerance.)"""
    data = split()
    x, y = data["x_train"], data["y_train"]
    path = idiomatic.module(framework)
    train_spec = spec.TrainSpec(optimizer=optimizer, lr=0.05, lr_decay=0.5, weight_decay=0.01,
                                batch_size=N, epochs=3, patience=0)  # fmt: skip
    tuned = NumpyTrainer(MODEL, train_spec, WEIGHTS, x, y, seed=0, device="cpu")
    expected = []
    for epoch in range(3):
        penalty = sum(
            0.5 * train_spec.weight_decay * float(np.sum(w.astype(np.float64) ** 2))
            for name, w in tuned.get_weights().items()
            if name.startswith("W")
        )
        loss = tuned.step(x, y, train_spec.lr_at(epoch))  # cross-entropy (+ penalty for adam)
        coupled = optimizer == "adam"
        expected.append(loss - penalty if coupled and not path.LOSS_INCLUDES_PENALTY else loss)
    result, _, _ = train(framework, MODEL, train_spec, WEIGHTS, tmp_path, data)
    assert [h["train_loss"] for h in result.history] == pytest.approx(expected, rel=2e-4)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_batch_norm_trains_and_its_statistics_are_saved(framework, optimizer, tmp_path):
    """BatchNorm the framework's own way: the model learns, and the saved file holds the
    running statistics the tuned loader normalises with at inference (reloaded, it scores the
    kept epoch's validation accuracy)."""
    model = spec.ModelSpec(N_IN, (16, 8), N_OUT, "tanh", 0.2, batch_norm=True)
    weights = spec.init_weights(model, 2)
    options = {"lr": 0.1, "momentum": 0.9} if optimizer == "sgd" else {"lr": 0.01}
    train_spec = spec.TrainSpec(optimizer=optimizer, weight_decay=0.01, batch_size=32,
                                epochs=4, patience=0, **options)  # fmt: skip
    result, loaded, data = train(framework, model, train_spec, weights, tmp_path)
    history = result.history
    assert len(history) == 4 and not result.stopped_early
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    best = history[result.best_epoch - 1]["val_accuracy"]
    assert best > 0.8
    assert accuracy(loaded, data["x_val"], data["y_val"]) == pytest.approx(best, abs=1e-9)


def run_all(tmp_path, framework, seeds=(0, 1)):
    """The driver over ``seeds`` with files where the layout puts them; returns the layout."""
    data = split()
    io.write_npz(data, tmp_path / "split.npz")
    classes = [str(c) for c in range(N_OUT)]
    io.write_json({"n_features": N_IN, "n_classes": N_OUT, "classes": classes},
                  tmp_path / "split.json")  # fmt: skip
    paths = Layout(str(tmp_path / "results"))
    runs = layout.run_records(["d"], ["a"], [framework], seeds)
    inits = [str(tmp_path / f"init{seed}.npz") for seed in seeds]
    for seed, init in zip(seeds, inits, strict=True):
        io.write_npz(spec.init_weights(MODEL, seed), init)
    # The rule's output names (rules/idiomatic.smk), each a list over the seeds.
    files = {"history": "history.csv", "train": "train.json", "metrics": "metrics.json",
             "predictions": "predictions.npz", "confusion": "confusion.csv",
             "inference": "inference.csv", "info": "inference.json"}  # fmt: skip
    outputs = SimpleNamespace(
        model=[paths.idiomatic_model(r) for r in runs],
        summary=paths.idiomatic("d", "a", framework),
        **{name: [paths.idiomatic_run_file(r, file) for r in runs] for name, file in files.items()},
    )
    bench = {"batch_sizes": [1, 8], "full_test_set": True, "warmup_calls": 1, "min_repeats": 3,
             "min_seconds": 0.01, "rounds": 1}  # fmt: skip
    idiomatic.run_all(
        framework=framework, split_path=tmp_path / "split.npz", info_path=tmp_path / "split.json",
        init_paths=inits, seeds=list(seeds), arch={"hidden": [16]}, device="cpu", threads=1,
        training={"lr": 0.01, "batch_size": 32, "epochs": 4, "patience": 2}, settings=bench,
        outputs=outputs,
    )  # fmt: skip
    return paths, runs


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_run_all_trains_and_evaluates_every_seed_where_the_layout_says(tmp_path, framework):
    paths, runs = run_all(tmp_path, framework)
    module = idiomatic.module(framework)
    for run in runs:
        folder = f"{paths.root}/d/a/{framework}/idiomatic/seed{run['seed']}"
        assert paths.idiomatic_model(run).startswith(folder)
        assert (
            layout.producer(paths.idiomatic_model(run), paths.root)
            == f"train_idiomatic_{framework}"
        )
        train = io.read_json(paths.idiomatic_run_file(run, "train.json"))
        assert (train["variant"], train["api"], train["status"]) == ("idiomatic", module.API, "ok")
        assert train["inference_api"] == module.INFERENCE_API and train["seed"] == run["seed"]
        history = io.read_csv(paths.idiomatic_run_file(run, "history.csv"))
        assert list(history[0]) == HISTORY_COLUMNS and len(history) == train["epochs_run"]
        assert train["total_seconds"] == pytest.approx(
            sum(float(h["epoch_seconds"]) for h in history)
        )
        metrics = io.read_json(paths.idiomatic_run_file(run, "metrics.json"))
        assert metrics["accuracy"] > 0.8
        inference = io.read_csv(paths.idiomatic_run_file(run, "inference.csv"))
        assert {row["api"] for row in inference} == {module.INFERENCE_API}
        assert {int(row["batch_size"]) for row in inference} == {1, 8, 48}
        confusion = io.read_csv(paths.idiomatic_run_file(run, "confusion.csv"))
        assert sum(int(v) for row in confusion for k, v in row.items() if k != "true") == 48
    summary = io.read_json(paths.idiomatic("d", "a", framework))
    assert [s["seed"] for s in summary["seeds"]] == [0, 1] and summary["variant"] == "idiomatic"


def loaded(framework, seed, accuracy, seconds, rate, epochs=5, status="ok"):
    return {"dataset": "d", "arch": "a", "framework": framework, "seed": seed,
            "metrics": {"accuracy": accuracy if status == "ok" else None},
            "train": {"status": status, "total_seconds": seconds, "epochs_run": epochs,
                      "steady_samples_per_s": rate, "api": "loop", "training": {"batch_size": 4}}}  # fmt: skip


def test_idiomatic_table_by_hand():
    tuned = [loaded("np", s, a, 10.0, 1000.0) for s, a in enumerate([0.90, 0.92, 0.94])]
    variant = [loaded("np", 0, 0.91, 30.0, 500.0, 7), loaded("np", 1, 0.92, 20.0, 400.0, 6),
               loaded("np", 2, 0.0, 40.0, 450.0, status="diverged")]  # fmt: skip
    [row] = frames.cleaned(idiomatic_table(tuned, variant)).to_dict("records")
    assert list(row) == IDIOMATIC_COLUMNS
    assert (row["framework"], row["api"], row["n_seeds"]) == ("np", "loop", 3)
    assert row["tuned_accuracy_mean"] == pytest.approx(0.92)
    assert row["idiomatic_accuracy_mean"] == pytest.approx(0.915)
    # The per-seed differences of the seeds both variants finished: +1 and 0 points.
    assert row["accuracy_diff_points"] == pytest.approx(0.5)
    assert row["accuracy_diff_points_ci_low"] < 0 < row["accuracy_diff_points_ci_high"]
    assert row["train_time_ratio"] == pytest.approx(2.5)  # median 25 s against 10 s
    assert row["samples_per_s_ratio"] == pytest.approx(0.45)  # the diverged seed is left out
    assert (row["tuned_epochs_median"], row["idiomatic_epochs_median"]) == (5, 6.5)
    assert row["status"] == "idiomatic: 1 of 3 seeds diverged"
    assert idiomatic_table(tuned, []).empty  # no idiomatic runs, no rows


def test_learning_curves_beside_the_tuned_ones(tmp_path, monkeypatch):
    """Both variants of every framework are read from their folders and drawn in its column:
    solid tuned, dashed idiomatic, the idiomatic loss higher in these invented histories."""
    paths = Layout(str(tmp_path))
    runs = layout.run_records(["d"], ["a"], ["numpy", "torch"], [0, 1])
    for run in runs:
        for variant, run_file in (
            ("tuned", paths.run_file),
            ("idiomatic", paths.idiomatic_run_file),
        ):
            scale = 1.0 if variant == "tuned" else 1.5
            history = [{"epoch": e, "train_loss": scale / e, "val_accuracy": 0.8 + 0.02 * e / scale}
                       for e in range(1, 6)]  # fmt: skip
            io.write_csv(history, run_file(run, "history.csv"))
            io.write_json({"status": "ok", "best_epoch": 4}, run_file(run, "train.json"))
    drawn = {}
    monkeypatch.setattr(idiomatic_plots, "save", lambda fig, path: drawn.update(fig=fig, path=path))
    idiomatic_plots.learning_curves(idiomatic_plots.read_runs(runs, paths), "out.png")
    axes = drawn["fig"].axes
    assert [ax.get_title() for ax in axes[:2]] == ["numpy", "torch"]
    loss = axes[2]  # numpy's training loss
    styles = [line.get_linestyle() for line in loss.lines if len(line.get_xdata()) == 5]
    assert styles == ["-", "--"]
    tuned, idio = (line.get_ydata() for line in loss.lines if len(line.get_xdata()) == 5)
    assert np.allclose(idio, 1.5 * tuned)
