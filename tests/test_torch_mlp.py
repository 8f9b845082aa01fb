"""The PyTorch trainer against hand-written NumPy formulas (float64), on tiny arrays."""

import os
import pickle

import numpy as np
import pytest
import torch

from mlpcompare import torch_mlp
from mlpcompare.spec import ModelSpec, TrainSpec, batch_order, batches, init_weights
from mlpcompare.training import fit

SPEC = ModelSpec(n_in=5, hidden=(4, 3), n_out=3)  # no square layer: a transposition would show
NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}
cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def tiny_problem(n=12, spec=SPEC, seed=0):
    """Random inputs in [0, 1) ``(n, n_in)``, labels ``(n,)`` and weights with non-zero biases."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, spec.n_in), dtype=np.float32)
    y = rng.integers(0, spec.n_out, n)
    weights = init_weights(spec, seed)
    for name in weights:
        if name.startswith("b"):  # non-zero, so decaying a bias by mistake would change it
            weights[name] = rng.normal(0, 0.1, weights[name].shape).astype(np.float32)
    return x, y, weights


def numpy_forward(params, x, activation="relu"):
    """Logits of the canonical ``params`` for ``x``; also the layer inputs (for backprop)."""
    n_layers = len(params) // 2
    inputs = [x]
    for i in range(n_layers - 1):
        inputs.append(NUMPY_ACTIVATIONS[activation](inputs[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    last = n_layers - 1
    return inputs[-1] @ params[f"W{last}"] + params[f"b{last}"], inputs


def numpy_cross_entropy(logits, y):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean(), np.exp(log_p)


def numpy_gradients(params, x, y):
    """Gradients of the batch-mean cross-entropy of a ReLU MLP (no penalty)."""
    logits, inputs = numpy_forward(params, x)
    _, probs = numpy_cross_entropy(logits, y)
    delta = probs.copy()
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)
    grads = {}
    for i in reversed(range(len(params) // 2)):
        grads[f"W{i}"] = inputs[i].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i:
            delta = (delta @ params[f"W{i}"].T) * (inputs[i] > 0)
    return grads


def decayed(grads, params, wd):
    """Coupled L2 on the weights only: ``g + wd * W``; biases untouched."""
    return {k: g + wd * params[k] if k.startswith("W") else g for k, g in grads.items()}


def numpy_adam(params, x, y, lrs, ts):
    """Textbook Adam (Kingma & Ba), one step per learning rate in ``lrs``."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    for t, lr in enumerate(lrs, start=1):
        grads = decayed(numpy_gradients(p, x, y), p, ts.weight_decay)
        for k, g in grads.items():
            m[k] = ts.beta1 * m[k] + (1 - ts.beta1) * g
            v[k] = ts.beta2 * v[k] + (1 - ts.beta2) * g**2
            m_hat = m[k] / (1 - ts.beta1**t)
            v_hat = v[k] / (1 - ts.beta2**t)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + ts.eps)
    return p


def numpy_sgd(params, x, y, lrs, ts):
    """Heavy-ball SGD as torch.optim.SGD: the buffer starts as the first gradient."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    buf = None
    for lr in lrs:
        grads = decayed(numpy_gradients(p, x, y), p, ts.weight_decay)
        buf = grads if buf is None else {k: ts.momentum * buf[k] + g for k, g in grads.items()}
        p = {k: p[k] - lr * buf[k] for k in p}
    return p


def make_trainer(ts, x, y, weights, spec=SPEC, seed=0):
    return torch_mlp.Trainer(spec, ts, weights, x, y, seed=seed, device="cpu")


def assert_params_close(got, want, atol):
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol, err_msg=k)


@pytest.mark.parametrize(
    "spec",
    [SPEC, ModelSpec(5, (4, 3), 3, activation="tanh"), ModelSpec(5, (4,), 3, "sigmoid", 0.5)],
    ids=["relu", "tanh", "sigmoid-dropout"],
)
def test_layout_round_trip_and_forward_match_numpy(spec):
    x, y, weights = tiny_problem(spec=spec)
    model = torch_mlp.MLP(spec)
    model.load_canonical(weights)
    assert_params_close(model.canonical_weights(), weights, atol=0)
    want, _ = numpy_forward(weights, x.astype(np.float64), spec.activation)
    # predict runs in eval mode: dropout must be off, whatever its probability.
    got = torch_mlp.predict(model, torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_dropout_is_active_in_training_mode_only():
    spec = ModelSpec(5, (64,), 3, dropout=0.5)
    x, _, weights = tiny_problem(spec=spec)
    model = torch_mlp.MLP(spec)
    model.load_canonical(weights)
    inference = torch_mlp.predict(model, torch.from_numpy(x))
    with torch.no_grad():
        training = model.train()(torch.from_numpy(x))
    assert not torch.allclose(training, inference)


def test_load_canonical_rejects_a_transposed_weight():
    _, _, weights = tiny_problem()
    weights["W0"] = weights["W0"].T.copy()
    with pytest.raises(ValueError, match="W0"):
        torch_mlp.MLP(SPEC).load_canonical(weights)


@pytest.mark.parametrize("eps", [1e-7, 1e-2], ids=["default-eps", "large-eps"])
def test_two_adam_steps_match_textbook_adam(eps):
    # A large epsilon makes its placement (added to sqrt(v_hat)) visible in the result.
    ts = TrainSpec(optimizer="adam", weight_decay=0.1, eps=eps, beta1=0.8, beta2=0.95)
    x, y, weights = tiny_problem()
    trainer = make_trainer(ts, x, y, weights)
    lrs = [0.01, 0.004]  # different rates: each call's lr must be the one applied
    for lr in lrs:
        trainer.step(x, y, lr)
    assert_params_close(trainer.get_weights(), numpy_adam(weights, x, y, lrs, ts), atol=1e-5)


def test_two_sgd_momentum_steps_match_heavy_ball():
    ts = TrainSpec(optimizer="sgd", momentum=0.9, weight_decay=0.1)
    x, y, weights = tiny_problem()
    trainer = make_trainer(ts, x, y, weights)
    lrs = [0.5, 0.2]
    for lr in lrs:
        trainer.step(x, y, lr)
    assert_params_close(trainer.get_weights(), numpy_sgd(weights, x, y, lrs, ts), atol=1e-5)


def test_reported_loss_includes_the_weight_penalty_and_evaluate_excludes_it():
    wd = 0.3
    x, y, weights = tiny_problem()
    trainer = make_trainer(TrainSpec(weight_decay=wd), x, y, weights)
    logits, _ = numpy_forward(weights, x.astype(np.float64))
    cross_entropy, _ = numpy_cross_entropy(logits, y)
    penalty = wd / 2 * sum(np.sum(weights[f"W{i}"].astype(np.float64) ** 2) for i in range(3))
    loss, accuracy = trainer.evaluate(x, y)
    assert loss == pytest.approx(cross_entropy, abs=1e-5)
    assert accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == y))
    assert trainer.step(x, y, lr=1e-3) == pytest.approx(cross_entropy + penalty, abs=1e-5)


def test_train_epoch_is_steps_over_the_shared_batches():
    ts = TrainSpec(optimizer="adam", weight_decay=0.05, batch_size=5)
    x, y, weights = tiny_problem(n=12)
    order = batch_order(seed=3, epoch=0, n=len(x))
    by_epoch = make_trainer(ts, x, y, weights)
    loss, accuracy = by_epoch.train_epoch(order, lr=0.01)

    by_step = make_trainer(ts, x, y, weights)
    losses, sizes, correct = [], [], 0
    for index in batches(order, ts.batch_size):  # sizes 5, 5, 2
        correct += np.sum(by_step.predict_logits(x[index]).argmax(axis=1) == y[index])
        losses.append(by_step.step(x[index], y[index], lr=0.01))
        sizes.append(len(index))
    assert_params_close(by_epoch.get_weights(), by_step.get_weights(), atol=1e-6)
    assert loss == pytest.approx(np.average(losses, weights=sizes), abs=1e-6)
    assert accuracy == pytest.approx(correct / len(x))


def test_fit_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    spec = ModelSpec(n_in=6, hidden=(16,), n_out=3)
    centres = rng.random((3, 6)) * 4

    def blobs(n):
        y = rng.integers(0, 3, n)
        x = centres[y] + rng.normal(0, 0.3, (n, 6))
        return (x / 5).astype(np.float32), y

    (x, y), (x_val, y_val) = blobs(150), blobs(60)
    ts = TrainSpec(lr=0.02, batch_size=16, epochs=6, patience=0)
    trainer = make_trainer(ts, x, y, init_weights(spec, 0), spec=spec)
    _, accuracy_before = trainer.evaluate(x_val, y_val)
    result = fit(trainer, len(x), x_val, y_val, ts, seed=0)
    history = result.history
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > accuracy_before
    assert history[-1]["val_accuracy"] >= 0.9


def test_same_seed_gives_identical_weights_with_dropout():
    spec = ModelSpec(n_in=5, hidden=(32, 16), n_out=3, dropout=0.5)
    ts = TrainSpec(batch_size=4)
    x, y, _ = tiny_problem(n=16, spec=spec)
    weights = init_weights(spec, 0)
    order = batch_order(0, 0, len(x))

    def weights_after_epoch(seed):
        trainer = make_trainer(ts, x, y, weights, spec=spec, seed=seed)
        trainer.train_epoch(order, lr=0.01)
        return trainer.get_weights()

    first = weights_after_epoch(0)
    assert_params_close(weights_after_epoch(0), first, atol=0)
    # Dropout masks come from the seed: if the seed did not matter, dropout would not be applied.
    assert not np.array_equal(weights_after_epoch(1)["W0"], first["W0"])


def test_save_and_load_give_identical_logits(tmp_path):
    spec = ModelSpec(n_in=5, hidden=(4, 3), n_out=3, dropout=0.5)  # inference must switch it off
    x, y, weights = tiny_problem(spec=spec)
    trainer = make_trainer(TrainSpec(), x, y, weights, spec=spec)
    trainer.step(x, y, lr=0.01)
    path = tmp_path / torch_mlp.MODEL_FILE
    trainer.save(str(path))
    assert os.listdir(tmp_path) == [torch_mlp.MODEL_FILE]  # no temporary file left behind
    predictor = torch_mlp.load_model(str(path), spec, "cpu")
    want = trainer.predict_logits(x)
    assert want.dtype == np.float32
    # The module call first: it must not rely on predict_logits having set eval mode.
    np.testing.assert_array_equal(predictor.inference_apis()["module_call_no_grad"](x), want)
    np.testing.assert_array_equal(predictor.predict_logits(x), want)


UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append("code ran")


class _Payload:
    """Unpickling this calls a function of ours: the shape of an arbitrary-code exploit."""

    def __reduce__(self):
        return _record_unpickling, ()  # a module-level function is pickled by reference


def test_load_refuses_arbitrary_pickled_objects(tmp_path):
    path = tmp_path / torch_mlp.MODEL_FILE
    torch.save({"output.weight": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch_mlp.load_model(str(path), SPEC, "cpu")
    assert UNPICKLED == []


def test_resolve_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_mlp.resolve_device("cpu") == "cpu"
    assert torch_mlp.resolve_device("auto") == "cpu"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        torch_mlp.resolve_device("cuda")
    with pytest.raises(ValueError, match="tpu"):
        torch_mlp.resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_mlp.resolve_device("auto") == "cuda"


def test_configure_threads_and_environment():
    before = torch.get_num_threads()
    try:
        torch_mlp.configure_threads(1)
        torch_mlp.configure_threads(1)  # a second call must not fail on the inter-op setting
        env = torch_mlp.environment()
    finally:
        torch.set_num_threads(before)
    assert env["framework"] == "torch" and env["version"] == torch.__version__
    assert env["threads"] == 1
    assert env["device"] == (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")


@cuda_only
def test_cuda_training_matches_cpu_and_saves_portably(tmp_path):
    ts = TrainSpec(optimizer="adam", weight_decay=0.1, batch_size=5)
    x, y, weights = tiny_problem()
    order = batch_order(0, 0, len(x))
    results = {}
    for device in ("cpu", "cuda"):
        trainer = torch_mlp.Trainer(SPEC, ts, weights, x, y, seed=0, device=device)
        loss, _ = trainer.train_epoch(order, lr=0.01)
        results[device] = loss, trainer.get_weights(), trainer.evaluate(x, y)
    assert results["cuda"][0] == pytest.approx(results["cpu"][0], abs=1e-5)
    assert_params_close(results["cuda"][1], results["cpu"][1], atol=1e-5)
    assert results["cuda"][2] == pytest.approx(results["cpu"][2], abs=1e-5)
    path = str(tmp_path / torch_mlp.MODEL_FILE)
    trainer.save(path)  # the CUDA trainer; the file must load on the CPU
    on_cpu = torch_mlp.load_model(path, SPEC, "cpu").predict_logits(x)
    np.testing.assert_allclose(on_cpu, trainer.predict_logits(x), rtol=0, atol=1e-5)
