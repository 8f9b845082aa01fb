"""The loss: mean softmax cross-entropy on logits, plus the L2 penalty on the weights."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Batch-mean cross-entropy and its gradient with respect to the logits.

    logits : ndarray of shape (n, k); y : integer labels of shape (n,).
    Returns the loss and dlogits of shape (n, k): ``(softmax(logits) - onehot(y)) / n``.
    """
    n = len(y)
    rows = np.arange(n)
    # Log-sum-exp: subtracting each row's maximum leaves the result unchanged but keeps exp <= 1,
    # so logits of 1e4 do not overflow; exp(shifted) is computed once and becomes the softmax
    # in place (this runs every training step).
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    sums = probs.sum(axis=1, keepdims=True)
    loss = float(np.log(sums).sum() - shifted[rows, y].sum()) / n
    probs *= 1 / (n * sums)  # softmax / n
    probs[rows, y] -= 1 / n
    return loss, probs


def l2_penalty(params: dict[str, np.ndarray], weight_decay: float) -> float:
    """``weight_decay / 2 * sum(W**2)`` over the weight matrices ``W{i}`` (biases are not penalised).

    Its gradient, ``weight_decay * W``, is added by the optimizer (see :mod:`.optim`).
    """
    if not weight_decay:
        return 0.0
    squares = sum(float(np.vdot(p, p)) for name, p in params.items() if name.startswith("W"))
    return 0.5 * weight_decay * squares
