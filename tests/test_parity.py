"""One specification, every implementation: from the same weights on the same batch, each
framework in the registry computes the same logits and loss and takes the same SGD and Adam steps
as the NumPy reference (one framework per test, beside NumPy: a framework that cannot share this
process runs its tests in one of its own, tests/conftest.py)."""

import numpy as np
import pytest

from mlpcompare import frameworks, spec
from mlpcompare.training.loop import fit

FRAMEWORKS = frameworks.NAMES
OTHERS = tuple(fw for fw in FRAMEWORKS if fw != "numpy")  # each compared with the NumPy reference
TOL = 1e-5  # float32; issue 4's bound on the max abs difference


def problem(seed=0, n=64, n_in=20, hidden=(16, 12), n_out=5, activation="relu"):
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_in), dtype=np.float32)
    y = rng.integers(0, n_out, n).astype(np.int64)
    model_spec = spec.ModelSpec(n_in, hidden, n_out, activation=activation)
    return model_spec, spec.init_weights(model_spec, seed), x, y


def trainers(framework, model_spec, train_spec, weights, x, y):
    """``framework``'s trainer and the NumPy reference's, from the same weights."""
    made = {}
    for fw in ("numpy", framework):
        module = frameworks.get(fw).trainer_module()
        made[fw] = module.Trainer(model_spec, train_spec, weights, x, y, seed=0, device="cpu")
    return made


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


@pytest.mark.parametrize("framework", OTHERS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_same_logits_and_loss_from_the_same_weights(activation, framework):
    model_spec, weights, x, y = problem(activation=activation)
    train_spec = spec.TrainSpec(weight_decay=0.01)
    ts = trainers(framework, model_spec, train_spec, weights, x, y)
    logits = {fw: t.predict_logits(x) for fw, t in ts.items()}
    losses = {fw: t.evaluate(x, y)[0] for fw, t in ts.items()}
    assert np.abs(logits[framework] - logits["numpy"]).max() <= TOL
    assert losses[framework] == pytest.approx(losses["numpy"], abs=TOL)


@pytest.mark.parametrize("framework", OTHERS)
@pytest.mark.parametrize(
    "optimizer,extra",
    [("sgd", {"momentum": 0.0}), ("sgd", {"momentum": 0.9}), ("adam", {})],
)
def test_one_and_two_optimizer_steps_give_the_same_parameters(optimizer, extra, framework):
    model_spec, weights, x, y = problem()
    train_spec = spec.TrainSpec(optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 1e-3,
                                weight_decay=0.01, **extra)  # fmt: skip
    ts = trainers(framework, model_spec, train_spec, weights, x, y)
    for step in range(2):  # the second step exercises momentum buffers and bias correction
        xb, yb = x[step * 32 : (step + 1) * 32], y[step * 32 : (step + 1) * 32]
        losses = {fw: t.step(xb, yb, train_spec.lr) for fw, t in ts.items()}
        params = {fw: t.get_weights() for fw, t in ts.items()}
        assert losses[framework] == pytest.approx(losses["numpy"], abs=TOL), step
        assert max_diff(params[framework], params["numpy"]) <= TOL, step
        # the step really moved the weights, so equality is not the trivial "nothing happened"
        assert max_diff(params["numpy"], weights) > 10 * TOL


@pytest.mark.parametrize("framework", OTHERS)
def test_adam_steps_differ_where_gradients_are_tiny_if_eps_were_placed_differently(framework):
    """Guard against a framework silently using eps on sqrt(v) (Keras' built-in form)."""
    model_spec, weights, x, y = problem(seed=3)
    weights = {k: (v * 1e-3 if k.startswith("W") else v) for k, v in weights.items()}
    train_spec = spec.TrainSpec(optimizer="adam", lr=1e-3, eps=1e-7)
    ts = trainers(framework, model_spec, train_spec, weights, x, y)
    for t in ts.values():
        t.step(x, y, train_spec.lr)
    params = {fw: t.get_weights() for fw, t in ts.items()}
    assert max_diff(params[framework], params["numpy"]) <= TOL


@pytest.mark.parametrize("framework", OTHERS)
def test_whole_epochs_stay_together_with_the_shared_batch_order(framework):
    model_spec, weights, x, y = problem(n=300)
    train_spec = spec.TrainSpec(optimizer="adam", lr=1e-3, batch_size=64, epochs=2, patience=0)
    ts = trainers(framework, model_spec, train_spec, weights, x, y)
    results = {fw: fit(t, len(x), x[:50], y[:50], train_spec, seed=5) for fw, t in ts.items()}
    params = {fw: t.get_weights() for fw, t in ts.items()}
    assert max_diff(params[framework], params["numpy"]) <= 1e-4
    for a, b in zip(results[framework].history, results["numpy"].history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=1 / 50)
