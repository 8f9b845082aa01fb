"""The NumPy MLP against independent references: finite differences, hand-written formulas."""

from __future__ import annotations

import os

import numpy as np
import pytest
import threadpoolctl

from mlpcompare import frameworks
from mlpcompare.frameworks.numpy import (
    Trainer,
    configure_threads,
    environment,
    load_model,
    resolve_device,
)
from mlpcompare.frameworks.numpy.layers import BatchNorm, Dropout
from mlpcompare.frameworks.numpy.losses import l2_penalty, softmax_cross_entropy
from mlpcompare.frameworks.numpy.model import MLP
from mlpcompare.frameworks.numpy.optim import SGD, Adam
from mlpcompare.io import ArtifactError
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    ModelSpec,
    TrainSpec,
    batch_order,
    batches,
    init_weights,
)
from mlpcompare.training.loop import fit

MODEL_FILE = frameworks.get("numpy").model_file
TINY = {"n_in": 5, "hidden": (4, 3), "n_out": 3}


def tiny_problem(activation: str, seed: int) -> tuple[ModelSpec, dict, np.ndarray, np.ndarray]:
    """A 5-4-3-3 MLP in float64 with random (non-zero) biases, and a batch of 6 samples."""
    spec = ModelSpec(**TINY, activation=activation)
    rng = np.random.default_rng(seed)
    params = {k: v.astype(np.float64) for k, v in init_weights(spec, seed).items()}
    for name in params:
        if name.startswith("b"):
            params[name] = rng.normal(0, 0.5, params[name].shape)
    x = rng.normal(0, 1, (6, spec.n_in))
    y = rng.integers(0, spec.n_out, 6)
    return spec, params, x, y


def ce_loss(spec: ModelSpec, params: dict, x: np.ndarray, y: np.ndarray) -> float:
    return softmax_cross_entropy(MLP(spec, params).forward(x, training=False), y)[0]


def numerical_grads(loss_fn, params: dict, eps: float = 1e-6) -> dict:
    """Central differences (L(p + eps) - L(p - eps)) / 2 eps for every entry of every parameter."""
    grads = {}
    for name, p in params.items():
        grads[name] = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = loss_fn(params)
            p[idx] = old - eps
            minus = loss_fn(params)
            p[idx] = old
            grads[name][idx] = (plus - minus) / (2 * eps)
    return grads


def max_relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| / (|a| + |b|) over entries, with a floor for entries that are both ~0."""
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


def relu_margin(spec: ModelSpec, params: dict, x: np.ndarray) -> float:
    """Smallest |pre-activation| of the hidden layers: finite differences must not cross a kink."""
    h, margin = x, np.inf
    for i in range(spec.n_layers - 1):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        margin = min(margin, float(np.abs(z).min()))
        h = np.maximum(z, 0)
    return margin


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_gradients_match_finite_differences(activation):
    seed = 3
    spec, params, x, y = tiny_problem(activation, seed)
    if activation == "relu":
        assert relu_margin(spec, params, x) > 1e-4, "pick another seed: a ReLU input is near 0"
    model = MLP(spec, params)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=True), y)
    model.backward(dlogits)
    numeric = numerical_grads(lambda p: ce_loss(spec, p, x, y), params)
    for name in params:
        assert max_relative_error(model.grads[name], numeric[name]) <= 1e-6, name


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])  # smooth: no kink to step across
def test_batch_norm_gradients_match_finite_differences(activation):
    """Training mode, so the loss depends on W, b, gamma and beta through the batch statistics."""
    spec = ModelSpec(**TINY, activation=activation, batch_norm=True)
    rng = np.random.default_rng(4)
    params = {k: v.astype(np.float64) for k, v in init_weights(spec, 4).items()}
    for name in params:
        if name.startswith(("b", "gamma")):  # b{i}, beta{i}, gamma{i}: away from 0 and 1
            params[name] = params[name] + rng.normal(0, 0.5, params[name].shape)
    x, y = rng.normal(0, 1, (6, spec.n_in)), rng.integers(0, spec.n_out, 6)

    def train_mode_loss(p):
        return softmax_cross_entropy(MLP(spec, p).forward(x, training=True), y)[0]

    model = MLP(spec, params)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=True), y)
    model.backward(dlogits)
    numeric = numerical_grads(train_mode_loss, params)
    assert set(model.grads) == {n for n in params if not n.startswith(("mean", "var"))}
    # The hidden layers' biases feed a BatchNorm, whose batch mean cancels them: no gradient.
    cancelled = {f"b{i}" for i in range(len(spec.hidden))}
    for name, grad in model.grads.items():
        if name in cancelled:
            assert np.abs(grad).max() < 1e-12 and np.abs(numeric[name]).max() < 1e-8, name
        else:
            assert max_relative_error(grad, numeric[name]) <= 1e-6, name


def test_batch_norm_running_stats_follow_the_convention():
    """Training normalises with the batch's mean and biased variance and moves the running
    statistics towards them by BN_MOMENTUM; inference uses (and keeps) the running ones."""
    rng = np.random.default_rng(0)
    gamma, beta = rng.normal(1, 0.2, 3), rng.normal(0, 0.2, 3)
    mean, var = rng.normal(0, 1, 3), rng.uniform(0.5, 2, 3)
    want_mean, want_var = mean.copy(), var.copy()
    layer = BatchNorm(gamma, beta, mean, var)
    for _ in range(2):
        x = rng.normal(2, 3, (8, 3))
        mu, biased = x.mean(axis=0), x.var(axis=0)
        out = layer.forward(x, training=True)
        np.testing.assert_allclose(out, gamma * (x - mu) / np.sqrt(biased + BN_EPS) + beta)
        want_mean = (1 - BN_MOMENTUM) * want_mean + BN_MOMENTUM * mu
        want_var = (1 - BN_MOMENTUM) * want_var + BN_MOMENTUM * biased
        np.testing.assert_allclose(mean, want_mean, rtol=1e-12)  # the given arrays, in place
        np.testing.assert_allclose(var, want_var, rtol=1e-12)
    x = rng.normal(0, 1, (5, 3))
    eval_out = layer.forward(x, training=False)
    np.testing.assert_allclose(eval_out, gamma * (x - mean) / np.sqrt(var + BN_EPS) + beta)
    np.testing.assert_array_equal(mean, want_mean)  # inference leaves the statistics alone
    np.testing.assert_array_equal(var, want_var)


def test_sgd_step_follows_gradient_of_loss_with_weight_decay():
    """With lr = 1 and no momentum, p_before - p_after is the gradient of CE + wd/2 sum(W**2)."""
    spec, params, x, y = tiny_problem("tanh", seed=1)
    wd = 0.3

    def total_loss(p):
        return ce_loss(spec, p, x, y) + l2_penalty(p, wd)

    numeric = numerical_grads(total_loss, params)
    model = MLP(spec, params)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=True), y)
    model.backward(dlogits)
    SGD(model.params, momentum=0.0, weight_decay=wd).step(model.grads, lr=1.0)
    for name in params:
        step = params[name] - model.params[name]
        assert max_relative_error(step, numeric[name]) <= 1e-6, name


def test_l2_penalty_skips_biases():
    params = {"W0": np.full((2, 3), 2.0), "b0": np.full(3, 100.0)}
    assert l2_penalty(params, 0.5) == pytest.approx(0.25 * 6 * 4.0)
    assert l2_penalty(params, 0.0) == 0.0


def test_softmax_cross_entropy_matches_direct_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (7, 4))
    y = rng.integers(0, 4, 7)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(4)[y]
    loss, dlogits = softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(7), y])), rel=1e-12)
    np.testing.assert_allclose(dlogits, (probs - onehot) / 7, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]], dtype=dtype)
    loss, dlogits = softmax_cross_entropy(logits, np.array([1, 0]))
    # Row 0: -log softmax = 1e4 exactly (to rounding); row 1: two equal maxima, log 2.
    assert loss == pytest.approx((1e4 + np.log(2)) / 2, rel=1e-6)
    assert np.isfinite(dlogits).all()
    assert dlogits.dtype == dtype
    np.testing.assert_allclose(dlogits, [[0.5, -0.5, 0.0], [-0.25, 0.25, 0.0]], atol=1e-6)


def two_param_problem():
    rng = np.random.default_rng(7)
    params = {"W0": rng.normal(size=(3, 2)), "b0": rng.normal(size=2)}
    grads_seq = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(2)]
    return params, grads_seq


def test_adam_two_steps_match_hand_computation():
    params, grads_seq = two_param_problem()
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.9, 1e-3, 0.1
    expected = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    for t, grads in enumerate(grads_seq, start=1):
        for k in expected:
            g = grads[k] + (wd * expected[k] if k == "W0" else 0.0)
            m[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v2[k] + (1 - b2) * g**2
            m_hat, v_hat = m[k] / (1 - b1**t), v2[k] / (1 - b2**t)
            expected[k] = expected[k] - lr * m_hat / (np.sqrt(v_hat) + eps)

    arrays = dict(params)  # the optimizer must update these very arrays
    adam = Adam(params, beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
    for grads in grads_seq:
        adam.step({k: g.copy() for k, g in grads.items()}, lr)
    moments = adam.moments()
    for k in params:
        assert params[k] is arrays[k]
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12)
        np.testing.assert_allclose(moments[0][k], m[k], rtol=1e-12)
        np.testing.assert_allclose(moments[1][k], v2[k], rtol=1e-12)


def test_sgd_momentum_two_steps_match_hand_computation():
    params, (g1, g2) = two_param_problem()
    lr, mu, wd = 0.1, 0.9, 0.2
    w0, b0 = params["W0"].copy(), params["b0"].copy()
    # torch.optim.SGD: buf = g at the first step, then buf = mu * buf + g.
    buf_w = g1["W0"] + wd * w0
    w1, b1 = w0 - lr * buf_w, b0 - lr * g1["b0"]
    buf_w = mu * buf_w + g2["W0"] + wd * w1
    buf_b = mu * g1["b0"] + g2["b0"]
    w2, b2 = w1 - lr * buf_w, b1 - lr * buf_b

    sgd = SGD(params, momentum=mu, weight_decay=wd)
    for grads in (g1, g2):
        sgd.step({k: g.copy() for k, g in grads.items()}, lr)
    np.testing.assert_allclose(params["W0"], w2, rtol=1e-12)
    np.testing.assert_allclose(params["b0"], b2, rtol=1e-12)


def test_dropout_scales_kept_units_and_is_identity_at_inference():
    p = 0.3
    layer = Dropout(p, np.random.default_rng(0))
    x = np.ones((400, 50), dtype=np.float32)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    assert set(np.unique(out)) == {np.float32(0), np.float32(1 / (1 - p))}
    assert np.mean(out == 0) == pytest.approx(p, abs=0.02)
    grad = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(grad, 2.0 * out)  # same mask, same scale
    assert layer.forward(x, training=False) is x
    np.testing.assert_array_equal(layer.backward(x), x)


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian blobs in 4-D, scaled to [0, 1]."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.2, 0.2, 0.8, 0.5], [0.8, 0.2, 0.2, 0.5], [0.5, 0.8, 0.5, 0.2]])
    x = np.clip(centres[y] + rng.normal(0, 0.07, (n, 4)), 0, 1)
    return x.astype(np.float32), y.astype(np.int64)


@pytest.mark.parametrize(
    ("train_spec", "batch_norm"),
    [
        (TrainSpec(optimizer="adam", lr=0.01, batch_size=32, epochs=8, patience=0), False),
        (
            TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32, epochs=8, patience=0),
            False,
        ),
        (
            TrainSpec(
                optimizer="adamw", lr=0.01, weight_decay=0.01, batch_size=32, epochs=8, patience=0
            ),
            True,
        ),
    ],
    ids=["adam", "sgd", "adamw-batchnorm"],
)
def test_training_learns_a_separable_problem(train_spec, batch_norm):
    spec = ModelSpec(n_in=4, hidden=(16, 8), n_out=3, batch_norm=batch_norm)
    x, y = blobs(200, seed=0)
    x_val, y_val = blobs(100, seed=1)
    trainer = Trainer(spec, train_spec, init_weights(spec, 0), x, y, seed=0, device="cpu")
    result = fit(trainer, len(x), x_val, y_val, train_spec, seed=0)
    history = result.history
    assert result.status == "ok"
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["val_accuracy"] >= 0.95


def small_trainer(seed: int, dropout: float = 0.0, weight_decay: float = 0.0) -> Trainer:
    spec = ModelSpec(n_in=4, hidden=(16, 8), n_out=3, dropout=dropout)
    train_spec = TrainSpec(batch_size=16, weight_decay=weight_decay)
    x, y = blobs(50, seed=2)
    return Trainer(spec, train_spec, init_weights(spec, 0), x, y, seed=seed, device="cpu")


def test_same_seed_gives_identical_weights_with_dropout():
    order = batch_order(0, 0, 50)
    weights = []
    for seed in (5, 5, 6):
        trainer = small_trainer(seed, dropout=0.5)
        trainer.train_epoch(order, lr=0.01)
        weights.append(trainer.get_weights())
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name])
    assert any(not np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_train_epoch_is_the_sample_weighted_mean_of_steps():
    """An epoch equals stepping through its batches by hand (last batch smaller: 50 = 3*16 + 2)."""
    order = batch_order(1, 0, 50)
    by_epoch, by_step = small_trainer(0, weight_decay=0.01), small_trainer(0, weight_decay=0.01)
    loss, _ = by_epoch.train_epoch(order, lr=0.01)
    losses = [
        by_step.step(by_step.x_train[idx], by_step.y_train[idx], 0.01) * len(idx)
        for idx in batches(order, 16)
    ]
    assert loss == pytest.approx(sum(losses) / 50, rel=1e-6)
    for name, w in by_epoch.get_weights().items():
        np.testing.assert_array_equal(w, by_step.get_weights()[name])


def test_step_reports_penalised_loss_and_evaluate_does_not():
    trainer = small_trainer(0, weight_decay=0.5)
    x, y = trainer.x_train, trainer.y_train
    before = trainer.get_weights()
    ce, _ = softmax_cross_entropy(trainer.predict_logits(x), y)
    assert trainer.evaluate(x, y)[0] == pytest.approx(ce, rel=1e-6)
    assert trainer.step(x, y, lr=0.01) == pytest.approx(ce + l2_penalty(before, 0.5), rel=1e-6)


def test_training_leaves_the_initial_weights_alone():
    spec = ModelSpec(n_in=4, hidden=(16, 8), n_out=3)
    weights = init_weights(spec, 0)
    original = {k: v.copy() for k, v in weights.items()}
    x, y = blobs(50, seed=2)
    trainer = Trainer(spec, TrainSpec(batch_size=16), weights, x, y, seed=0, device="cpu")
    trainer.train_epoch(batch_order(0, 0, 50), lr=0.01)
    for name in weights:
        np.testing.assert_array_equal(weights[name], original[name])
    assert not np.array_equal(trainer.get_weights()["W0"], original["W0"])


def test_get_and_set_weights_use_copies():
    trainer = small_trainer(0)
    weights = trainer.get_weights()
    weights["W0"] += 1.0
    assert not np.array_equal(trainer.get_weights()["W0"], weights["W0"])
    trainer.set_weights(weights)
    np.testing.assert_array_equal(trainer.get_weights()["W0"], weights["W0"])
    with pytest.raises(ValueError, match="shape"):
        trainer.set_weights({**weights, "W0": weights["W0"].T})


def test_save_and_load_give_identical_logits(tmp_path):
    trainer = small_trainer(0)
    trainer.train_epoch(batch_order(0, 0, 50), lr=0.01)
    path = tmp_path / MODEL_FILE
    trainer.save(str(path))
    assert os.listdir(tmp_path) == [MODEL_FILE]  # no temporary file left behind
    loaded = load_model(str(path), trainer.model.spec, "cpu")
    x = trainer.x_train
    expected = trainer.predict_logits(x)
    assert expected.dtype == np.float32
    assert all(w.dtype == np.float32 for w in trainer.get_weights().values())
    np.testing.assert_array_equal(loaded.predict_logits(x), expected)
    np.testing.assert_array_equal(loaded.inference_apis()["forward"](x), expected)


def test_load_refuses_pickled_objects(tmp_path):
    trainer = small_trainer(0)
    weights = trainer.get_weights()
    path = tmp_path / MODEL_FILE
    np.savez(path, **{**weights, "W0": np.array([{"not": "an array"}], dtype=object)})
    with pytest.raises(ArtifactError, match="allow_pickle"):
        load_model(str(path), trainer.model.spec, "cpu")


def test_resolve_device(caplog):
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("cuda") == "cpu"  # NumPy has no GPU path: said in the log, run on CPU
    assert "no GPU path" in caplog.text
    with pytest.raises(ValueError):
        resolve_device("tpu")


def test_configure_threads_and_environment():
    with threadpoolctl.threadpool_limits(limits=None):  # restores this process' limits on exit
        configure_threads(1)
        env = environment()
    assert env["framework"] == "numpy"
    assert env["device"] == "cpu"
    assert env["versions"]["numpy"] == np.__version__
    if env["blas"]:
        assert env["threads"] == 1
