"""Every framework's trainer against the float64 NumPy reference (tests/reference_mlp.py): the
optimizer steps, the reported loss, the epoch as steps over the shared batches, learning, and
seeded dropout. Framework-specific behaviour is tested in each framework's own test file."""

import os

import numpy as np
import pytest
from reference_mlp import (
    SPEC,
    assert_params_close,
    numpy_adam,
    numpy_cross_entropy,
    numpy_forward,
    numpy_sgd,
    tiny_problem,
)

from mlpcompare import frameworks
from mlpcompare.spec import ModelSpec, TrainSpec, batch_order, batches, init_weights
from mlpcompare.training.loop import fit

pytestmark = pytest.mark.parametrize("framework", frameworks.NAMES)


def make_trainer(framework, ts, x, y, weights, spec=SPEC, seed=0, device="cpu"):
    module = frameworks.get(framework).trainer_module()
    return module.Trainer(spec, ts, weights, x, y, seed=seed, device=device)


@pytest.mark.parametrize("eps", [1e-7, 1e-2], ids=["default-eps", "large-eps"])
def test_two_adam_steps_match_textbook_adam(framework, eps):
    # A large epsilon makes its placement (added to sqrt(v_hat)) visible in the result.
    ts = TrainSpec(optimizer="adam", weight_decay=0.1, eps=eps, beta1=0.8, beta2=0.95)
    x, y, weights = tiny_problem()
    trainer = make_trainer(framework, ts, x, y, weights)
    lrs = [0.01, 0.004]  # different rates: each call's lr must be the one applied
    for lr in lrs:
        trainer.step(x, y, lr)
    assert_params_close(trainer.get_weights(), numpy_adam(weights, x, y, lrs, ts), atol=1e-5)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_two_sgd_steps_match_heavy_ball(framework, momentum):
    ts = TrainSpec(optimizer="sgd", momentum=momentum, weight_decay=0.1)
    x, y, weights = tiny_problem()
    trainer = make_trainer(framework, ts, x, y, weights)
    lrs = [0.5, 0.2]
    for lr in lrs:
        trainer.step(x, y, lr)
    assert_params_close(trainer.get_weights(), numpy_sgd(weights, x, y, lrs, ts), atol=1e-5)


def test_reported_loss_includes_the_weight_penalty_and_evaluate_excludes_it(framework):
    wd = 0.3
    x, y, weights = tiny_problem()
    trainer = make_trainer(framework, TrainSpec(weight_decay=wd), x, y, weights)
    logits, _ = numpy_forward(weights, x.astype(np.float64))
    cross_entropy, _ = numpy_cross_entropy(logits, y)
    penalty = wd / 2 * sum(np.sum(weights[f"W{i}"].astype(np.float64) ** 2) for i in range(3))
    loss, accuracy = trainer.evaluate(x, y)
    assert loss == pytest.approx(cross_entropy, abs=1e-5)
    assert accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == y))
    assert trainer.step(x, y, lr=1e-3) == pytest.approx(cross_entropy + penalty, abs=1e-5)


def test_train_epoch_is_steps_over_the_shared_batches(framework):
    ts = TrainSpec(optimizer="adam", weight_decay=0.05, batch_size=5)
    x, y, weights = tiny_problem(n=12)
    order = batch_order(seed=3, epoch=0, n=len(x))
    by_epoch = make_trainer(framework, ts, x, y, weights)
    loss, accuracy = by_epoch.train_epoch(order, lr=0.01)

    by_step = make_trainer(framework, ts, x, y, weights)
    losses, sizes, correct = [], [], 0
    for index in batches(order, ts.batch_size):  # sizes 5, 5, 2
        correct += np.sum(by_step.predict_logits(x[index]).argmax(axis=1) == y[index])
        losses.append(by_step.step(x[index], y[index], lr=0.01))
        sizes.append(len(index))
    assert_params_close(by_epoch.get_weights(), by_step.get_weights(), atol=1e-6)
    assert loss == pytest.approx(np.average(losses, weights=sizes), abs=1e-6)
    assert accuracy == pytest.approx(correct / len(x))


def test_fit_learns_a_separable_problem(framework):
    rng = np.random.default_rng(0)
    spec = ModelSpec(n_in=6, hidden=(16,), n_out=3)
    centres = rng.random((3, 6)) * 4

    def blobs(n):
        y = rng.integers(0, 3, n)
        x = centres[y] + rng.normal(0, 0.3, (n, 6))
        return (x / 5).astype(np.float32), y

    (x, y), (x_val, y_val) = blobs(150), blobs(60)
    ts = TrainSpec(lr=0.02, batch_size=16, epochs=6, patience=0)
    trainer = make_trainer(framework, ts, x, y, init_weights(spec, 0), spec=spec)
    _, accuracy_before = trainer.evaluate(x_val, y_val)
    result = fit(trainer, len(x), x_val, y_val, ts, seed=0)
    history = result.history
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > accuracy_before
    assert history[-1]["val_accuracy"] >= 0.9


def test_same_seed_gives_identical_weights_with_dropout(framework):
    spec = ModelSpec(n_in=5, hidden=(32, 16), n_out=3, dropout=0.5)
    ts = TrainSpec(batch_size=4)
    x, y, _ = tiny_problem(n=16, spec=spec)
    weights = init_weights(spec, 0)
    order = batch_order(0, 0, len(x))

    def weights_after_epoch(seed):
        trainer = make_trainer(framework, ts, x, y, weights, spec=spec, seed=seed)
        trainer.train_epoch(order, lr=0.01)
        return trainer.get_weights()

    first = weights_after_epoch(0)
    assert_params_close(weights_after_epoch(0), first, atol=0)
    # Dropout masks come from the seed: if the seed did not matter, dropout would not be applied.
    assert not np.array_equal(weights_after_epoch(1)["W0"], first["W0"])


def test_cuda_training_matches_cpu_and_saves_portably(framework, tmp_path):
    module = frameworks.get(framework).trainer_module()
    if not frameworks.get(framework).gpu or module.resolve_device("auto") != "cuda":
        pytest.skip(f"{framework}: no CUDA device (or not GPU-capable)")
    ts = TrainSpec(optimizer="adam", weight_decay=0.1, batch_size=5)
    x, y, weights = tiny_problem()
    order = batch_order(0, 0, len(x))
    results = {}
    for device in ("cpu", "cuda"):
        trainer = make_trainer(framework, ts, x, y, weights, device=device)
        loss, _ = trainer.train_epoch(order, lr=0.01)
        results[device] = loss, trainer.get_weights(), trainer.evaluate(x, y)
    assert results["cuda"][0] == pytest.approx(results["cpu"][0], abs=1e-5)
    assert_params_close(results["cuda"][1], results["cpu"][1], atol=1e-5)
    assert results["cuda"][2] == pytest.approx(results["cpu"][2], abs=1e-5)
    path = str(tmp_path / frameworks.get(framework).model_file)
    trainer.save(path)  # the CUDA trainer; the file must load on the CPU
    on_cpu = module.load_model(path, SPEC, "cpu").predict_logits(x)
    np.testing.assert_allclose(on_cpu, trainer.predict_logits(x), rtol=0, atol=1e-5)


def test_save_and_load_give_identical_logits_through_every_inference_api(framework, tmp_path):
    spec = ModelSpec(n_in=5, hidden=(4, 3), n_out=3, dropout=0.5)  # inference must switch it off
    x, y, weights = tiny_problem(spec=spec)
    trainer = make_trainer(framework, TrainSpec(), x, y, weights, spec=spec)
    trainer.step(x, y, lr=0.01)
    model_file = frameworks.get(framework).model_file
    trainer.save(str(tmp_path / model_file))
    assert os.listdir(tmp_path) == [model_file]  # no temporary file left behind
    module = frameworks.get(framework).trainer_module()
    predictor = module.load_model(str(tmp_path / model_file), spec, "cpu")
    want = trainer.predict_logits(x)
    assert want.dtype == np.float32
    # The APIs first: none may rely on predict_logits having set inference mode.
    for name, api in predictor.inference_apis().items():
        np.testing.assert_allclose(api(x), want, rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(predictor.predict_logits(x), want)


def test_resolve_device_names_what_it_cannot_give(framework):
    module = frameworks.get(framework).trainer_module()
    assert module.resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="tpu"):
        module.resolve_device("tpu")
    if module.resolve_device("auto") == "cpu" and frameworks.get(framework).gpu:
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            module.resolve_device("cuda")
