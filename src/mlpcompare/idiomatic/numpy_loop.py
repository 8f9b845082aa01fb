"""The MLP trained the way a notebook writes it in NumPy: the idiomatic variant's NumPy path.

A textbook loop (in the spirit of Nielsen's ``network.py``): forward pass, softmax
cross-entropy, backward pass and Adam or SGD, each a plain expression that allocates its result,
batches from ``rng.permutation``. :mod:`mlpcompare.numpy_mlp` is the tuned version of the same
maths (buffers allocated once and written through ``out=``, the shared batch order).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from mlpcompare.spec import ModelSpec, TrainSpec

API = "plain NumPy loop: expressions that allocate, rng.permutation batches, textbook Adam/SGD"
log = logging.getLogger(__name__)
# The loss this loop reports includes the L2 penalty (it adds it).
LOSS_INCLUDES_PENALTY = True

# Each activation with its derivative written in terms of its own output ``a``.
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
}


def train_epochs(
    model_spec: ModelSpec,
    train_spec: TrainSpec,
    weights: dict[str, np.ndarray],
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    seed: int,
    device: str,
    epochs: int,
) -> list[dict]:
    """Train ``epochs`` epochs from ``weights`` (canonical layout) on ``x_train`` (n, n_in).

    Returns per epoch ``epoch``, ``epoch_seconds`` and ``train_loss`` (mean of the batch losses,
    cross-entropy + L2). ``device`` is always "cpu" here (``runs.prepare_framework`` resolved it);
    it is taken so that the three idiomatic paths share one signature.
    """
    act, act_grad = ACTIVATIONS[model_spec.activation]
    drop, keep = model_spec.dropout, 1.0 - model_spec.dropout
    n_layers, wd = model_spec.n_layers, train_spec.weight_decay
    b1, b2, eps = train_spec.beta1, train_spec.beta2, train_spec.eps
    # float32 like the data and the other frameworks: the variant is about allocation, not precision.
    Ws = [np.array(weights[f"W{i}"], dtype=np.float32) for i in range(n_layers)]
    bs = [np.array(weights[f"b{i}"], dtype=np.float32) for i in range(n_layers)]
    params = Ws + bs  # the same array objects: updating params[k] in place updates Ws / bs
    m = [np.zeros_like(p) for p in params]  # Adam's first moment, or SGD's momentum buffer
    v = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(seed)  # batch order and dropout masks
    x, y, n, t = np.asarray(x_train, dtype=np.float32), np.asarray(y_train), len(x_train), 0
    history = []
    for epoch in range(epochs):
        lr = train_spec.lr_at(epoch)
        start, losses = time.perf_counter(), []
        order = rng.permutation(n)
        for i in range(0, n, train_spec.batch_size):
            idx = order[i : i + train_spec.batch_size]
            xb, yb = x[idx], y[idx]
            # Forward: keep each layer's input, activation output and dropout mask for backward.
            a, inputs, outs, masks = xb, [], [], []
            for W, b in zip(Ws[:-1], bs[:-1], strict=True):
                out, mask = act(a @ W + b), 1.0
                if drop:  # inverted dropout: scale the kept units now, so inference needs no change
                    mask = (rng.random(out.shape, dtype=np.float32) >= drop) / np.float32(keep)
                inputs.append(a)
                outs.append(out)
                masks.append(mask)
                a = out * mask
            inputs.append(a)
            z = a @ Ws[-1] + bs[-1]
            # Softmax cross-entropy through log-softmax, shifted by the row max against overflow.
            z = z - z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            rows = np.arange(len(yb))
            loss = -log_p[rows, yb].mean()
            if wd:  # the L2 penalty, weights only (skipped at 0, as a notebook would)
                loss += wd / 2 * sum((W**2).sum() for W in Ws)
            losses.append(float(loss))
            # Backward: d loss / d logits is (softmax - one-hot) / batch size.
            grad = np.exp(log_p)
            grad[rows, yb] -= 1
            grad /= len(yb)
            gWs, gbs = [None] * n_layers, [None] * n_layers
            for layer in reversed(range(n_layers)):
                gWs[layer] = inputs[layer].T @ grad
                if wd:
                    gWs[layer] = gWs[layer] + wd * Ws[layer]
                gbs[layer] = grad.sum(axis=0)
                if layer:
                    grad = (grad @ Ws[layer].T) * masks[layer - 1] * act_grad(outs[layer - 1])
            # Update every parameter in place, so Ws and bs see it.
            t += 1
            for k, g in enumerate(gWs + gbs):
                if train_spec.optimizer == "adam":
                    m[k] = b1 * m[k] + (1 - b1) * g
                    v[k] = b2 * v[k] + (1 - b2) * g**2
                    m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
                    params[k] -= lr * m_hat / (np.sqrt(v_hat) + eps)
                else:  # heavy-ball momentum in torch's form (0 = plain SGD)
                    m[k] = train_spec.momentum * m[k] + g
                    params[k] -= lr * m[k]
        seconds, train_loss = time.perf_counter() - start, float(np.mean(losses))
        history.append({"epoch": epoch + 1, "epoch_seconds": seconds, "train_loss": train_loss})
        log.info("epoch %d/%d  train loss %.4f  %.2fs", epoch + 1, epochs, train_loss, seconds)
    return history
