"""The reference every framework's trainer is tested against: an MLP's forward pass, gradients
and optimizer steps written out in float64 NumPy, on tiny arrays (the gold-standard pattern of
micrograd and numpy-ml); and the problems and checks the trainers' tests share."""

import numpy as np

from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    BN_STATS,
    ModelSpec,
    batch_order,
    batches,
    init_weights,
    n_linear_layers,
)

SPEC = ModelSpec(n_in=5, hidden=(4, 3), n_out=3)  # no square layer: a transposition would show
BN_SPEC = ModelSpec(n_in=5, hidden=(4, 3), n_out=3, batch_norm=True)
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
        # b{i} and beta{i}: non-zero, so decaying one by mistake would change it.
        if name.startswith("b"):
            weights[name] = rng.normal(0, 0.1, weights[name].shape).astype(np.float32)
    return x, y, weights


def varied_bn_weights(spec=BN_SPEC, seed=1, spread=0.3):
    """Weights whose every array matters: non-zero biases, and BatchNorm gamma, beta and running
    stats far from their initial values (biases, beta and means drawn with sd ``spread``)."""
    rng = np.random.default_rng(seed)
    params = init_weights(spec, seed)
    for name in params:
        if name.startswith(("b", "beta", "mean")):
            params[name] = rng.normal(0, spread, params[name].shape).astype(np.float32)
        elif name.startswith(("gamma", "var")):
            params[name] = rng.uniform(0.5, 2.0, params[name].shape).astype(np.float32)
    return params


def assert_a_new_rate_does_not_retrace(trainer, x, y):
    """Steps and epochs of a jitted trainer (batches of 5, on 12 rows of ``x``, ``y``) at three
    rates compile its step and its epoch once each: the per-epoch rate is an argument of both,
    never a constant in them (AdamW's decoupled decay uses it too)."""
    for epoch, lr in enumerate([0.01, 0.005, 0.0025]):
        trainer.step(x[:5], y[:5], lr)
        trainer.train_epoch(batch_order(0, epoch, len(x) - 2), lr)  # 10 rows: full blocks only
    assert trainer._step._cache_size() == 1
    assert trainer._blocks._cache_size() == 1


def by_epoch_and_by_step(new_trainer, x, y, batch_size, epochs=2):
    """The weights of two trainers from ``new_trainer()`` after ``epochs`` epochs of ``x``, ``y``
    at rate 0.01: one trained an epoch per ``train_epoch``, the other on the same batches one
    ``step`` at a time."""
    by_epoch, by_step = new_trainer(), new_trainer()
    for epoch in range(epochs):
        order = batch_order(0, epoch, len(x))
        by_epoch.train_epoch(order, lr=0.01)
        for index in batches(order, batch_size):
            by_step.step(x[index], y[index], lr=0.01)
    return by_epoch.get_weights(), by_step.get_weights()


def numpy_forward(params, x, activation="relu"):
    """Logits of the canonical ``params`` for ``x`` in inference mode (BatchNorm, where ``params``
    has it, with the running statistics); also the layer inputs (for backprop)."""
    logits, inputs, _ = _forward(params, x, activation, training=False)
    return logits, inputs


def numpy_train_forward(params, x, activation="relu"):
    """Training-mode forward: logits, the Linear layers' inputs and, per BatchNorm layer, what
    its backward needs (``z`` its input, the batch's ``mu`` and biased ``var``, ``xhat``)."""
    return _forward(params, x, activation, training=True)


def _forward(params, x, activation, training):
    n_layers = n_linear_layers(params)
    inputs, norms = [x], []
    for i in range(n_layers - 1):
        z = inputs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        if f"gamma{i}" in params:
            if training:
                mu, var = z.mean(axis=0), ((z - z.mean(axis=0)) ** 2).mean(axis=0)  # biased
            else:
                mu, var = params[f"mean{i}"], params[f"var{i}"]
            xhat = (z - mu) / np.sqrt(var + BN_EPS)
            norms.append({"z": z, "mu": mu, "var": var, "xhat": xhat})
            z = params[f"gamma{i}"] * xhat + params[f"beta{i}"]
        inputs.append(NUMPY_ACTIVATIONS[activation](z))
    last = n_layers - 1
    return inputs[-1] @ params[f"W{last}"] + params[f"b{last}"], inputs, norms


def numpy_cross_entropy(logits, y):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean(), np.exp(log_p)


def numpy_gradients(params, x, y):
    """Gradients of the batch-mean cross-entropy of a ReLU MLP in training mode (no penalty),
    BatchNorm's ``gamma{i}`` and ``beta{i}`` included where ``params`` has them."""
    logits, inputs, norms = numpy_train_forward(params, x)
    _, probs = numpy_cross_entropy(logits, y)
    delta = probs.copy()
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)
    grads = {}
    for i in reversed(range(n_linear_layers(params))):
        grads[f"W{i}"] = inputs[i].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i:
            delta = (delta @ params[f"W{i}"].T) * (inputs[i] > 0)
            if f"gamma{i - 1}" in params:
                delta = _batch_norm_backward(delta, norms[i - 1], params, i - 1, grads)
    return grads


def _batch_norm_backward(dy, norm, params, i, grads):
    """dLoss/dz of BatchNorm layer ``i`` from dLoss/dy, stage by stage through the batch mean and
    variance (the textbook chain rule, not the compact formula the NumPy layer uses); writes
    ``gamma{i}`` and ``beta{i}``'s gradients into ``grads``."""
    z, mu, var, xhat = norm["z"], norm["mu"], norm["var"], norm["xhat"]
    n = len(z)
    grads[f"gamma{i}"] = (dy * xhat).sum(axis=0)
    grads[f"beta{i}"] = dy.sum(axis=0)
    dxhat = dy * params[f"gamma{i}"]
    dvar = (dxhat * (z - mu)).sum(axis=0) * -0.5 * (var + BN_EPS) ** -1.5
    dmu = -dxhat.sum(axis=0) / np.sqrt(var + BN_EPS) + dvar * (-2 * (z - mu)).mean(axis=0)
    return dxhat / np.sqrt(var + BN_EPS) + dvar * 2 * (z - mu) / n + dmu / n


def numpy_running_stats(params, x):
    """The running statistics after one training-mode forward pass of ``params`` on ``x``:
    ``(1 - BN_MOMENTUM) * running + BN_MOMENTUM * batch`` (biased batch variance)."""
    _, _, norms = numpy_train_forward(params, x)
    stats = {}
    for i, norm in enumerate(norms):
        for name in BN_STATS:
            batch = norm["mu"] if name == "mean" else norm["var"]
            stats[f"{name}{i}"] = (1 - BN_MOMENTUM) * params[f"{name}{i}"] + BN_MOMENTUM * batch
    return stats


def decayed(grads, params, wd):
    """Coupled L2 on the weights only: ``g + wd * W``; biases, gamma and beta untouched."""
    return {k: g + wd * params[k] if k.startswith("W") else g for k, g in grads.items()}


def numpy_adam(params, x, y, lrs, ts):
    """Textbook Adam (Kingma & Ba), one step per learning rate in ``lrs``; coupled L2 decay."""
    return _adam_steps(params, x, y, lrs, ts, decoupled=False)


def numpy_adamw(params, x, y, lrs, ts):
    """AdamW (Loshchilov & Hutter, torch's form): ``W *= 1 - lr * wd``, then Adam on the
    gradient without penalty; one step per learning rate in ``lrs``."""
    return _adam_steps(params, x, y, lrs, ts, decoupled=True)


def _adam_steps(params, x, y, lrs, ts, decoupled):
    p = {k: v.astype(np.float64) for k, v in params.items()}
    m, v = {}, {}
    for t, lr in enumerate(lrs, start=1):
        grads = numpy_gradients(p, x, y)
        p.update(numpy_running_stats(p, x))  # from this step's forward pass, before the update
        if decoupled:
            p.update({k: w * (1 - lr * ts.weight_decay) for k, w in p.items() if k.startswith("W")})
        else:
            grads = decayed(grads, p, ts.weight_decay)
        for k, g in grads.items():
            m[k] = ts.beta1 * m.get(k, 0.0) + (1 - ts.beta1) * g
            v[k] = ts.beta2 * v.get(k, 0.0) + (1 - ts.beta2) * g**2
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
        p.update(numpy_running_stats(p, x))
        buf = grads if buf is None else {k: ts.momentum * buf[k] + g for k, g in grads.items()}
        p.update({k: p[k] - lr * buf[k] for k in buf})
    return p


def assert_params_close(got, want, atol):
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol, err_msg=k)
