"""The MLP trained the way a notebook writes it in NumPy: the idiomatic variant's NumPy path.

A textbook loop (in the spirit of Nielsen's ``network.py``): forward pass, softmax
cross-entropy, backward pass and SGD, Adam or AdamW, each a plain expression that allocates its
result, batches from ``rng.permutation``; the rate decayed once per epoch, the validation set
scored after each epoch, early stopping and the best epoch's weights kept by hand: NumPy has no
conveniences to lean on. :mod:`mlpcompare.frameworks.numpy` is the tuned version of the same maths
(buffers allocated once and written through ``out=``, the shared batch order).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from mlpcompare.io import write_npz
from mlpcompare.spec import BN_EPS, BN_MOMENTUM, DECOUPLED_DECAY, ModelSpec, TrainSpec
from mlpcompare.training.loop import FitResult

API = "plain NumPy loop: expressions that allocate, rng.permutation batches, early stopping by hand"
INFERENCE_API = "forward"
log = logging.getLogger(__name__)
# The loss this loop reports includes the L2 penalty of sgd and adam (it adds it).
LOSS_INCLUDES_PENALTY = True

# Each activation with its derivative written in terms of its own output ``a``.
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
}


def forward(p: dict, x: np.ndarray, spec: ModelSpec, rng=None):
    """Logits of ``x`` and what backward needs; training mode (batch statistics, dropout, running
    statistics updated in ``p``) when an ``rng`` is given, inference otherwise."""
    act = ACTIVATIONS[spec.activation][0]
    cache = []
    for i in range(len(spec.hidden)):
        layer = {"x": x}
        z = x @ p[f"W{i}"] + p[f"b{i}"]
        if spec.batch_norm:
            z, layer["bn"] = batch_norm(p, i, z, training=rng is not None)
        a = layer["a"] = act(z)
        layer["mask"] = 1.0
        if rng is not None and spec.dropout:  # inverted dropout: inference needs no change
            keep = rng.random(a.shape, dtype=np.float32) >= spec.dropout
            layer["mask"] = keep / np.float32(1 - spec.dropout)
        x = a * layer["mask"]
        cache.append(layer)
    out = len(spec.hidden)
    cache.append({"x": x})
    return x @ p[f"W{out}"] + p[f"b{out}"], cache


def batch_norm(p: dict, i: int, z: np.ndarray, training: bool):
    """BatchNorm of layer ``i``: batch mean and biased variance in training (the running ones
    moved towards them), the running ones in inference; returns the output and its cache."""
    if not training:
        return p[f"gamma{i}"] * (z - p[f"mean{i}"]) / np.sqrt(p[f"var{i}"] + BN_EPS) + p[
            f"beta{i}"
        ], None
    mu, var = z.mean(axis=0), z.var(axis=0)
    p[f"mean{i}"] = (1 - BN_MOMENTUM) * p[f"mean{i}"] + BN_MOMENTUM * mu
    p[f"var{i}"] = (1 - BN_MOMENTUM) * p[f"var{i}"] + BN_MOMENTUM * var
    inv_std = 1 / np.sqrt(var + BN_EPS)
    xhat = (z - mu) * inv_std
    return p[f"gamma{i}"] * xhat + p[f"beta{i}"], (xhat, inv_std)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy (through a max-shifted log-softmax) and d loss / d logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    return float(-log_p[rows, y].mean()), grad / len(y)


def backward(p: dict, cache: list, grad: np.ndarray, spec: ModelSpec) -> dict:
    """Gradients of the cross-entropy for every trainable array of ``p``, layer by layer."""
    act_grad = ACTIVATIONS[spec.activation][1]
    grads = {}
    for i in reversed(range(spec.n_layers)):
        grads[f"W{i}"] = cache[i]["x"].T @ grad
        grads[f"b{i}"] = grad.sum(axis=0)
        if i == 0:
            break
        below = cache[i - 1]
        grad = (grad @ p[f"W{i}"].T) * below["mask"] * act_grad(below["a"])
        if spec.batch_norm:  # through BatchNorm: the batch mean and variance depend on z too
            xhat, inv_std = below["bn"]
            grads[f"gamma{i - 1}"] = (grad * xhat).sum(axis=0)
            grads[f"beta{i - 1}"] = grad.sum(axis=0)
            n = len(grad)
            grad = (
                p[f"gamma{i - 1}"]
                * inv_std
                * (grad - grads[f"beta{i - 1}"] / n - xhat * grads[f"gamma{i - 1}"] / n)
            )
    return grads


def penalty(p: dict, train_spec: TrainSpec) -> float:
    """The L2 term ``wd/2 * sum(W**2)`` of the reported loss; none for decoupled decay."""
    if train_spec.optimizer in DECOUPLED_DECAY or not train_spec.weight_decay:
        return 0.0
    return (
        train_spec.weight_decay / 2 * sum(float((w**2).sum()) for k, w in p.items() if k[0] == "W")
    )


def step(p: dict, grads: dict, m: dict, v: dict, lr: float, t: int, ts: TrainSpec) -> None:
    """One update of every trainable array, in place; only the weight matrices decay."""
    for k, g in grads.items():
        if k.startswith("W") and ts.optimizer in DECOUPLED_DECAY:  # AdamW: shrink, then Adam
            p[k] *= 1 - lr * ts.weight_decay
        elif k.startswith("W"):  # L2: the penalty's gradient
            g = g + ts.weight_decay * p[k]
        if ts.optimizer == "sgd":  # heavy-ball momentum in torch's form (0 = plain SGD)
            m[k] = ts.momentum * m[k] + g
            p[k] -= lr * m[k]
            continue
        m[k] = ts.beta1 * m[k] + (1 - ts.beta1) * g
        v[k] = ts.beta2 * v[k] + (1 - ts.beta2) * g**2
        m_hat, v_hat = m[k] / (1 - ts.beta1**t), v[k] / (1 - ts.beta2**t)
        p[k] -= lr * m_hat / (np.sqrt(v_hat) + ts.eps)


def fit(model_spec, train_spec, weights, data, *, seed, device, model_path) -> FitResult:
    """Train with the full recipe; write the best epoch's weights to ``model_path`` (.npz).

    ``device`` is always "cpu" here (``runs.prepare_framework`` resolved it); it is taken so that
    every idiomatic path shares one signature (:mod:`mlpcompare.training.idiomatic`).
    """
    # float32 like the data and the other frameworks: the variant is about allocation, not precision.
    p = {name: np.array(w, dtype=np.float32) for name, w in weights.items()}
    trainable = [k for k in p if not k.startswith(("mean", "var"))]
    m = {k: np.zeros_like(p[k]) for k in trainable}  # Adam's first moment, or SGD's momentum
    v = {k: np.zeros_like(p[k]) for k in trainable}
    rng = np.random.default_rng(seed)  # batch order and dropout masks
    x, y = np.asarray(data["x_train"], dtype=np.float32), np.asarray(data["y_train"])
    x_val, y_val = np.asarray(data["x_val"], dtype=np.float32), np.asarray(data["y_val"])
    result, best_score, since_best, t = FitResult(), -np.inf, 0, 0
    best = p  # replaced by a copy at every improvement; the last weights if none ever comes
    for epoch in range(train_spec.epochs):
        lr = train_spec.lr_at(epoch)
        start, losses, correct = time.perf_counter(), [], 0
        order = rng.permutation(len(x))
        for i in range(0, len(x), train_spec.batch_size):
            idx = order[i : i + train_spec.batch_size]
            logits, cache = forward(p, x[idx], model_spec, rng)
            loss, grad = cross_entropy(logits, y[idx])
            losses.append((loss + penalty(p, train_spec)) * len(idx))
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
            t += 1
            step(p, backward(p, cache, grad, model_spec), m, v, lr, t, train_spec)
        seconds = time.perf_counter() - start
        val_logits = forward(p, x_val, model_spec)[0]
        val_loss, _ = cross_entropy(val_logits, y_val)
        val_acc = float((val_logits.argmax(axis=1) == y_val).mean())
        result.history.append({
            "epoch": epoch + 1, "lr": lr, "train_loss": sum(losses) / len(x),
            "train_accuracy": correct / len(x), "val_loss": val_loss, "val_accuracy": val_acc,
            "epoch_seconds": seconds,
        })  # fmt: skip
        log.info("epoch %d: %s", epoch + 1, result.history[-1])
        # Early stopping by hand: higher is better, so the loss enters negated.
        score = val_acc if train_spec.monitor == "val_accuracy" else -val_loss
        if score > best_score:
            best_score, since_best, result.best_epoch = score, 0, epoch + 1
            best = {k: a.copy() for k, a in p.items()}
        else:
            since_best += 1
            if train_spec.patience and since_best >= train_spec.patience:
                result.stopped_early = True
                break
    write_npz(best, model_path, compressed=False)
    return result
