"""One specification, every implementation: from the same weights on the same batch, each
framework in the registry computes the same logits and loss and takes the same SGD and Adam steps
as the NumPy reference."""

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


def trainers(model_spec, train_spec, weights, x, y):
    made = {}
    for fw in FRAMEWORKS:
        module = frameworks.get(fw).trainer_module()
        made[fw] = module.Trainer(model_spec, train_spec, weights, x, y, seed=0, device="cpu")
    return made


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_same_logits_and_loss_from_the_same_weights(activation):
    model_spec, weights, x, y = problem(activation=activation)
    train_spec = spec.TrainSpec(weight_decay=0.01)
    ts = trainers(model_spec, train_spec, weights, x, y)
    logits = {fw: t.predict_logits(x) for fw, t in ts.items()}
    losses = {fw: t.evaluate(x, y)[0] for fw, t in ts.items()}
    for fw in OTHERS:
        assert np.abs(logits[fw] - logits["numpy"]).max() <= TOL, fw
        assert losses[fw] == pytest.approx(losses["numpy"], abs=TOL), fw


@pytest.mark.parametrize(
    "optimizer,extra",
    [("sgd", {"momentum": 0.0}), ("sgd", {"momentum": 0.9}), ("adam", {})],
)
def test_one_and_two_optimizer_steps_give_the_same_parameters(optimizer, extra):
    model_spec, weights, x, y = problem()
    train_spec = spec.TrainSpec(optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 1e-3,
                                weight_decay=0.01, **extra)  # fmt: skip
    ts = trainers(model_spec, train_spec, weights, x, y)
    for step in range(2):  # the second step exercises momentum buffers and bias correction
        xb, yb = x[step * 32 : (step + 1) * 32], y[step * 32 : (step + 1) * 32]
        losses = {fw: t.step(xb, yb, train_spec.lr) for fw, t in ts.items()}
        params = {fw: t.get_weights() for fw, t in ts.items()}
        for fw in OTHERS:
            assert losses[fw] == pytest.approx(losses["numpy"], abs=TOL), (fw, step)
            assert max_diff(params[fw], params["numpy"]) <= TOL, (fw, step)
        # the step really moved the weights, so equality is not the trivial "nothing happened"
        assert max_diff(params["numpy"], weights) > 10 * TOL


def test_adam_steps_differ_where_gradients_are_tiny_if_eps_were_placed_differently():
    """Guard against a framework silently using eps on sqrt(v) (Keras' built-in form)."""
    model_spec, weights, x, y = problem(seed=3)
    weights = {k: (v * 1e-3 if k.startswith("W") else v) for k, v in weights.items()}
    train_spec = spec.TrainSpec(optimizer="adam", lr=1e-3, eps=1e-7)
    ts = trainers(model_spec, train_spec, weights, x, y)
    for t in ts.values():
        t.step(x, y, train_spec.lr)
    params = {fw: t.get_weights() for fw, t in ts.items()}
    for fw in OTHERS:
        assert max_diff(params[fw], params["numpy"]) <= TOL, fw


def test_whole_epochs_stay_together_with_the_shared_batch_order():
    model_spec, weights, x, y = problem(n=300)
    train_spec = spec.TrainSpec(optimizer="adam", lr=1e-3, batch_size=64, epochs=2, patience=0)
    ts = trainers(model_spec, train_spec, weights, x, y)
    results = {fw: fit(t, len(x), x[:50], y[:50], train_spec, seed=5) for fw, t in ts.items()}
    params = {fw: t.get_weights() for fw, t in ts.items()}
    for fw in OTHERS:
        assert max_diff(params[fw], params["numpy"]) <= 1e-4, fw
        for a, b in zip(results[fw].history, results["numpy"].history, strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
            assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=1 / 50)
