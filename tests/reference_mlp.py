"""The reference every framework's trainer is tested against: an MLP's forward pass, gradients
and optimizer steps written out in float64 NumPy, on tiny arrays (the gold-standard pattern of
micrograd and numpy-ml)."""

import numpy as np

from mlpcompare.spec import ModelSpec, init_weights

SPEC = ModelSpec(n_in=5, hidden=(4, 3), n_out=3)  # no square layer: a transposition would show
# Networks whose forward pass each framework must compute like the reference: every activation,
# and dropout, which inference must leave off.
FORWARD_SPECS = {
    "relu": SPEC,
    "tanh": ModelSpec(5, (4, 3), 3, activation="tanh"),
    "sigmoid-dropout": ModelSpec(5, (4,), 3, "sigmoid", 0.5),
}
NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


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


def assert_params_close(got, want, atol):
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol, err_msg=k)
