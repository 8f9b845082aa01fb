"""The Keras trainer against hand-written NumPy: forward, loss, gradients, Adam, AdamW and SGD
steps, and Keras' BatchNormalization held to the spec's conventions."""

import os

import numpy as np
import pytest
from reference_mlp import NUMPY_ACTIVATIONS, numpy_cross_entropy, varied_bn_weights

from mlpcompare import frameworks
from mlpcompare.frameworks import keras as keras_mlp
from mlpcompare.frameworks.keras import runtime as keras_runtime
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    ModelSpec,
    TrainSpec,
    batch_order,
    init_weights,
    n_linear_layers,
)
from mlpcompare.training.loop import fit

keras = keras_runtime.keras
tf = keras_runtime.tf
MODEL_FILE = frameworks.get("keras").model_file

SPEC = ModelSpec(n_in=6, hidden=(8, 5), n_out=3)
BN_SPEC = ModelSpec(n_in=6, hidden=(8, 5), n_out=3, batch_norm=True)


def _data(n=16, spec=SPEC, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, spec.n_in), dtype=np.float32)
    y = rng.integers(0, spec.n_out, n)
    return x, y


def _trainer(train_spec, spec=SPEC, weights=None, data=None, seed=0):
    x, y = data if data is not None else _data(spec=spec)
    weights = weights if weights is not None else init_weights(spec, seed=1)
    return keras_mlp.Trainer(spec, train_spec, weights, x, y, seed=seed, device="cpu")


def _forward(params, x, activation="relu"):
    """Plain NumPy forward in float64; returns logits and the per-layer inputs/pre-activations."""
    n_layers = n_linear_layers(params)
    a, inputs, pre = np.asarray(x, np.float64), [], []
    for i in range(n_layers):
        inputs.append(a)
        z = a @ params[f"W{i}"].astype(np.float64) + params[f"b{i}"]
        pre.append(z)
        a = NUMPY_ACTIVATIONS[activation](z) if i < n_layers - 1 else z
    return a, inputs, pre


def _loss_and_grads(params, x, y, weight_decay):
    """Mean softmax CE + weight_decay/2 * sum W^2 and its gradients (ReLU net, float64)."""
    logits, inputs, pre = _forward(params, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    weights = [params[k].astype(np.float64) for k in params if k.startswith("W")]
    loss = -log_p[np.arange(n), y].mean() + weight_decay / 2 * sum((w**2).sum() for w in weights)
    delta = np.exp(log_p)
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads = {}
    for i in reversed(range(len(weights))):
        grads[f"W{i}"] = inputs[i].T @ delta + weight_decay * weights[i]
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ weights[i].T) * (pre[i - 1] > 0)
    return loss, grads


def _numpy_adam(params, grads_per_step, lr, b1=0.9, b2=0.999, eps=1e-7):
    """Textbook Adam (Kingma & Ba, torch form) over a list of gradient dicts, float64."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(w) for k, w in p.items()}
    for t, grads in enumerate(grads_per_step, start=1):
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def _bn_forward(params, x, training):
    """NumPy float64 ReLU forward with BatchNorm; returns logits and each hidden layer's batch
    (mean, biased variance) of the pre-BatchNorm values."""
    n_layers = n_linear_layers(params)
    a, batch_stats = np.asarray(x, np.float64), []
    for i in range(n_layers - 1):
        z = a @ params[f"W{i}"].astype(np.float64) + params[f"b{i}"]
        batch_stats.append((z.mean(axis=0), z.var(axis=0)))  # np.var divides by n
        mean, var = batch_stats[-1] if training else (params[f"mean{i}"], params[f"var{i}"])
        a = np.maximum(
            params[f"gamma{i}"] * (z - mean) / np.sqrt(var + BN_EPS) + params[f"beta{i}"], 0
        )
    last = n_layers - 1
    return a @ params[f"W{last}"].astype(np.float64) + params[f"b{last}"], batch_stats


def _assert_params_close(actual, expected, atol):
    assert actual.keys() == expected.keys()
    for k in expected:
        np.testing.assert_allclose(actual[k], expected[k], rtol=0, atol=atol, err_msg=k)


@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
def test_forward_matches_numpy(activation):
    spec = ModelSpec(n_in=6, hidden=(8, 5), n_out=3, activation=activation)
    params = init_weights(spec, seed=3)
    params = {k: v + 0.1 if k.startswith("b") else v for k, v in params.items()}  # biases count
    x, _ = _data(spec=spec)
    trainer = _trainer(TrainSpec(), spec=spec, weights=params)
    expected, _, _ = _forward(params, x, activation)
    np.testing.assert_allclose(trainer.predict_logits(x), expected, rtol=0, atol=1e-5)


def test_reported_loss_is_cross_entropy_plus_half_wd_sum_w2():
    wd = 0.05
    x, y = _data()
    params = init_weights(SPEC, seed=1)
    trainer = _trainer(TrainSpec(optimizer="sgd", weight_decay=wd), weights=params, data=(x, y))
    expected, _ = _loss_and_grads(params, x, y, wd)
    assert trainer.step(x, y, lr=0.1) == pytest.approx(expected, abs=1e-5)
    ce, _ = _loss_and_grads(params, x, y, 0.0)
    assert expected - ce > 1e-3  # the penalty is large enough for the check above to see it


def test_two_adam_steps_with_weight_decay_match_numpy():
    wd, lr = 0.01, 1e-2
    x, y = _data()
    params = init_weights(SPEC, seed=1)
    trainer = _trainer(TrainSpec(optimizer="adam", weight_decay=wd), weights=params, data=(x, y))
    grads_per_step, p = [], params
    for _ in range(2):
        trainer.step(x, y, lr)
        _, grads = _loss_and_grads(p, x, y, wd)
        grads_per_step.append(grads)
        p = _numpy_adam(params, grads_per_step, lr)
    _assert_params_close(trainer.get_weights(), p, atol=1e-5)


def _one_adam_step(optimizer, start, gradient):
    variable = keras.Variable(start)
    optimizer.apply_gradients([(tf.constant(gradient), variable)])
    return variable.numpy()


def test_builtin_adam_misses_textbook_step_where_gradients_are_tiny():
    start = np.zeros(4, np.float32)
    gradient = np.array([1e-7, -3e-7, 1e-6, 1e-3], np.float32)
    expected = _numpy_adam({"p": start}, [{"p": gradient.astype(np.float64)}], lr=1e-3)["p"]
    ours = _one_adam_step(keras_mlp.TextbookAdam(learning_rate=1e-3, epsilon=1e-7), start, gradient)
    builtin = _one_adam_step(
        keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7), start, gradient
    )
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    assert np.abs(builtin - expected).max() > 1e-5


@pytest.mark.parametrize("lrs", [(0.1, 0.1), (0.1, 0.02)], ids=["constant-lr", "lr-changes"])
def test_sgd_momentum_steps_match_torch_form(lrs):
    mu, wd = 0.9, 0.01
    x, y = _data()
    params = init_weights(SPEC, seed=1)
    train_spec = TrainSpec(optimizer="sgd", momentum=mu, weight_decay=wd)
    trainer = _trainer(train_spec, weights=params, data=(x, y))
    p = {k: v.astype(np.float64) for k, v in params.items()}
    buf = None
    for lr in lrs:
        trainer.step(x, y, lr)
        _, grads = _loss_and_grads(p, x, y, wd)
        buf = grads if buf is None else {k: mu * buf[k] + grads[k] for k in grads}  # torch form
        p = {k: p[k] - lr * buf[k] for k in p}
    _assert_params_close(trainer.get_weights(), p, atol=1e-5)


def test_builtin_sgd_differs_from_torch_form_when_lr_changes():
    start, g1, g2 = np.zeros(1, np.float32), np.ones(1, np.float32), np.ones(1, np.float32)
    expected = start - 0.1 * g1 - 0.02 * (0.9 * g1 + g2)  # torch: buf = mu*buf + g; p -= lr*buf
    results = {}
    for name, cls in [("ours", keras_mlp.HeavyBallSGD), ("builtin", keras.optimizers.SGD)]:
        optimizer, variable = cls(learning_rate=0.1, momentum=0.9), keras.Variable(start)
        optimizer.apply_gradients([(tf.constant(g1), variable)])
        optimizer.learning_rate.assign(0.02)
        optimizer.apply_gradients([(tf.constant(g2), variable)])
        results[name] = variable.numpy()
    np.testing.assert_allclose(results["ours"], expected, rtol=1e-6)
    assert np.abs(results["builtin"] - expected).max() > 1e-2


def test_train_epoch_equals_steps_over_the_shared_batches():
    x, y = _data(n=40)
    train_spec = TrainSpec(optimizer="adam", batch_size=16, weight_decay=0.01)
    order = batch_order(0, 0, len(x))
    by_epoch, by_step = _trainer(train_spec, data=(x, y)), _trainer(train_spec, data=(x, y))
    loss, _ = by_epoch.train_epoch(order, lr=1e-2)
    losses, sizes = [], []
    for start in range(0, len(order), 16):
        idx = order[start : start + 16]  # last batch has 8 samples
        losses.append(by_step.step(x[idx], y[idx], 1e-2))
        sizes.append(len(idx))
    assert loss == pytest.approx(np.average(losses, weights=sizes), abs=1e-6)
    _assert_params_close(by_epoch.get_weights(), by_step.get_weights(), atol=1e-6)


def test_fit_learns_separable_problem():
    spec = ModelSpec(n_in=4, hidden=(16,), n_out=2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 240)
    x = (rng.normal(0.0, 0.1, (240, 4)) + 0.5 + np.where(y[:, None] == 1, 0.2, -0.2)).astype(
        np.float32
    )
    train_spec = TrainSpec(optimizer="adam", lr=1e-2, batch_size=32, epochs=8, patience=0)
    trainer = _trainer(
        train_spec, spec=spec, weights=init_weights(spec, 0), data=(x[:200], y[:200])
    )
    result = fit(trainer, 200, x[200:], y[200:], train_spec, seed=0)
    history = result.history
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.7
    assert history[-1]["train_accuracy"] > history[0]["train_accuracy"]
    assert trainer.evaluate(x[200:], y[200:])[1] >= 0.9


def _weights_after_dropout_epoch(seed):
    spec = ModelSpec(n_in=6, hidden=(8, 5), n_out=3, dropout=0.5)
    x, y = _data(n=48, spec=spec)
    trainer = _trainer(TrainSpec(batch_size=16), spec=spec, data=(x, y), seed=seed)
    trainer.train_epoch(batch_order(0, 0, len(x)), lr=1e-2)
    return trainer.get_weights()


def test_training_with_dropout_is_deterministic_given_the_seed():
    first, again, other = (_weights_after_dropout_epoch(s) for s in (0, 0, 1))
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    assert any(not np.array_equal(first[k], other[k]) for k in first)  # dropout did act


def test_dropout_is_off_in_inference():
    spec = ModelSpec(n_in=6, hidden=(8, 5), n_out=3, dropout=0.5)
    params = init_weights(spec, seed=3)
    x, _ = _data(spec=spec)
    trainer = _trainer(TrainSpec(), spec=spec, weights=params)
    np.testing.assert_allclose(trainer.predict_logits(x), _forward(params, x)[0], atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    spec = ModelSpec(n_in=6, hidden=(8, 5), n_out=3, dropout=0.2)
    x, y = _data(spec=spec)
    trainer = _trainer(TrainSpec(weight_decay=0.01), spec=spec, data=(x, y))
    trainer.step(x, y, 1e-2)
    path = str(tmp_path / MODEL_FILE)
    trainer.save(path)
    assert sorted(os.listdir(tmp_path)) == [MODEL_FILE]  # temp file renamed away
    predictor = keras_mlp.load_model(path, spec, "cpu")
    expected = trainer.predict_logits(x)
    np.testing.assert_array_equal(predictor.predict_logits(x), expected)
    apis = predictor.inference_apis()
    assert set(apis) == {"direct_call", "predict", "tf_function"}
    for name, api in apis.items():
        np.testing.assert_allclose(api(x), expected, rtol=0, atol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="layer sizes"):
        keras_mlp.load_model(path, ModelSpec(n_in=6, hidden=(8,), n_out=3), "cpu")


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_get_and_set_weights_round_trip(batch_norm):
    spec = BN_SPEC if batch_norm else SPEC
    trainer = _trainer(TrainSpec(), spec=spec)
    params = init_weights(spec, seed=7)
    params = {k: v + 0.5 if not k.startswith("W") else v for k, v in params.items()}
    trainer.set_weights(params)
    got = trainer.get_weights()
    _assert_params_close(got, params, atol=0)
    got["W0"][:] = 0.0  # a copy: changing it leaves the model alone
    _assert_params_close(trainer.get_weights(), params, atol=0)


def test_resolve_device():
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert keras_mlp.resolve_device("cpu") == "cpu"
    assert keras_mlp.resolve_device("auto") == ("cuda" if has_gpu else "cpu")
    with pytest.raises(ValueError):
        keras_mlp.resolve_device("tpu")
    if not has_gpu:
        with pytest.raises(RuntimeError, match="no CUDA device"):
            keras_mlp.resolve_device("cuda")


def test_environment_names_the_framework():
    env = keras_mlp.environment()
    assert env["framework"] == "keras"
    assert env["backend"] == "tensorflow"
    assert env["tensorflow_version"] == tf.__version__


def test_batch_norm_sits_between_dense_and_activation_with_spec_constants():
    model = keras_mlp.build_model(BN_SPEC, weight_decay=0.0)
    kinds = [type(layer).__name__ for layer in model.layers]
    hidden_block = ["Dense", "BatchNormalization", "Activation"]
    assert kinds == [*hidden_block, *hidden_block, "Dense"]
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.momentum == pytest.approx(1 - BN_MOMENTUM)  # Keras keeps `momentum`
            assert layer.epsilon == BN_EPS
        if isinstance(layer, keras.layers.Dense):
            assert layer.activation is keras.activations.linear  # the activation follows BN


def test_batch_norm_training_step_uses_batch_stats_and_updates_moving_ones_biased():
    x, y = _data(spec=BN_SPEC)
    params = varied_bn_weights(BN_SPEC)
    trainer = _trainer(TrainSpec(optimizer="sgd"), spec=BN_SPEC, weights=params, data=(x, y))
    loss = trainer.step(x, y, lr=0.0)  # rate 0: only the moving statistics change
    logits, batch_stats = _bn_forward(params, x, training=True)
    assert loss == pytest.approx(numpy_cross_entropy(logits, y)[0], abs=1e-5)
    got = trainer.get_weights()
    for i, (mean, var) in enumerate(batch_stats):
        m = BN_MOMENTUM
        np.testing.assert_allclose(
            got[f"mean{i}"], (1 - m) * params[f"mean{i}"] + m * mean, atol=1e-6
        )
        np.testing.assert_allclose(got[f"var{i}"], (1 - m) * params[f"var{i}"] + m * var, atol=1e-6)
        unbiased = var * len(x) / (len(x) - 1)  # PyTorch's running_var would use this
        assert np.abs(got[f"var{i}"] - ((1 - m) * params[f"var{i}"] + m * unbiased)).max() > 1e-3


def test_batch_norm_inference_uses_moving_statistics():
    x, y = _data(spec=BN_SPEC)
    params = varied_bn_weights(BN_SPEC)
    trainer = _trainer(TrainSpec(), spec=BN_SPEC, weights=params, data=(x, y))
    expected, _ = _bn_forward(params, x, training=False)
    np.testing.assert_allclose(trainer.predict_logits(x), expected, rtol=0, atol=1e-5)
    training_mode, _ = _bn_forward(params, x, training=True)
    assert np.abs(training_mode - expected).max() > 1e-2  # the two modes are told apart
    _assert_params_close(trainer.get_weights(), params, atol=0)  # inference updated nothing


def test_batch_norm_state_survives_save_and_load(tmp_path):
    x, y = _data(spec=BN_SPEC)
    trainer = _trainer(TrainSpec(), spec=BN_SPEC, weights=varied_bn_weights(BN_SPEC), data=(x, y))
    trainer.step(x, y, 1e-2)
    path = str(tmp_path / MODEL_FILE)
    trainer.save(path)
    predictor = keras_mlp.load_model(path, BN_SPEC, "cpu")
    loaded = keras_mlp.get_params(predictor.model)
    _assert_params_close(loaded, trainer.get_weights(), atol=0)  # moving stats included
    expected = trainer.predict_logits(x)
    np.testing.assert_array_equal(predictor.predict_logits(x), expected)
    for name, api in predictor.inference_apis().items():
        np.testing.assert_allclose(api(x), expected, rtol=0, atol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="batch_norm"):
        keras_mlp.load_model(path, SPEC, "cpu")


def test_adamw_decays_only_kernels_and_leaves_the_loss_without_penalty():
    x, y = _data(spec=BN_SPEC)
    params, lr, wd = varied_bn_weights(BN_SPEC), 1e-2, 0.5
    adamw = _trainer(TrainSpec(optimizer="adamw", weight_decay=wd), BN_SPEC, params, (x, y))
    adam = _trainer(TrainSpec(optimizer="adam"), BN_SPEC, params, (x, y))
    assert adamw.model.losses == []  # no L2 regulariser
    assert adamw.step(x, y, lr) == adam.step(x, y, lr)
    # Same gradients (taken before the decay), so the two differ by the decay term alone.
    decayed, plain = adamw.get_weights(), adam.get_weights()
    for name in params:
        if name.startswith("W"):
            np.testing.assert_allclose(
                decayed[name], plain[name] - lr * wd * params[name], rtol=0, atol=1e-6
            )
        else:  # biases, gamma, beta and the moving statistics
            np.testing.assert_array_equal(decayed[name], plain[name], err_msg=name)


def test_two_adamw_steps_match_numpy_decoupled_form():
    wd, lrs = 0.1, (1e-2, 4e-3)  # the rate changes: the decay must use each step's rate
    x, y = _data()
    params = init_weights(SPEC, seed=1)
    params = {k: v + 0.5 if k.startswith("b") else v for k, v in params.items()}  # would decay
    trainer = _trainer(TrainSpec(optimizer="adamw", weight_decay=wd), weights=params, data=(x, y))
    p = {k: v.astype(np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(w) for k, w in p.items()}
    for t, lr in enumerate(lrs, start=1):
        loss = trainer.step(x, y, lr)
        expected_loss, grads = _loss_and_grads(p, x, y, 0.0)
        assert loss == pytest.approx(expected_loss, abs=1e-6)
        for k, g in grads.items():
            if k.startswith("W"):
                p[k] = p[k] * (1 - lr * wd)  # PyTorch's order: decay, then the Adam step
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g**2
            p[k] = p[k] - lr * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-7)
    _assert_params_close(trainer.get_weights(), p, atol=1e-5)
