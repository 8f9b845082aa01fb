"""The model: pure functions of a parameter pytree, in the style of jax-ml/jax
``mnist_classifier_fromscratch.py``.

The parameters are a plain pytree, a list with one tuple per Linear layer in the canonical layout
(``W`` is ``(n_in, n_out)``, so weights pass in and out untransposed): ``(W, b)``, or
``(W, b, gamma, beta)`` for a hidden layer followed by BatchNorm. BatchNorm's running statistics
are not trained, so they are not parameters: they are a second pytree, the *stats*, one
``(mean, var)`` per BatchNorm layer (an empty list without BatchNorm, so that network's compiled
step is the same as if BatchNorm did not exist). :func:`forward` and :func:`loss` read top to
bottom and mutate nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mlpcompare.frameworks.jax.runtime import PRECISION
from mlpcompare.spec import BN_EPS, BN_MOMENTUM

_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}

Params = list[tuple[jax.Array, ...]]  # per layer (W, b), or (W, b, gamma, beta) with BatchNorm
Stats = list[tuple[jax.Array, jax.Array]]  # per BatchNorm layer its running (mean, var)


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
    """Inverted dropout: zero each unit with probability ``rate``, scale the kept by ``1/(1-rate)``.

    A unit is dropped when a uniform 32-bit integer falls below ``round(rate * 2**32)``: the test
    of the NumPy MLP (``uniform(0, 1) < rate`` to within 2**-32), from raw ``jax.random.bits``.
    """
    threshold = jnp.uint32(min(round(rate * 2**32), 2**32 - 1))
    keep = jax.random.bits(key, x.shape, jnp.uint32) >= threshold
    return jnp.where(keep, x * jnp.float32(1 / (1 - rate)), 0)


def batch_norm(
    z: jax.Array,
    gamma: jax.Array,
    beta: jax.Array,
    running: tuple[jax.Array, jax.Array],
    training: bool,
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """BatchNorm of ``z`` ``(b, width)`` by the spec's conventions; the running stats after it.

    Training normalises with the batch mean and *biased* variance (divided by ``b``) and moves the
    running ``(mean, var)`` towards them by ``BN_MOMENTUM``; inference normalises with the running
    statistics and returns them unchanged.
    """
    if training:
        mean = jnp.mean(z, axis=0)
        var = jnp.mean(jnp.square(z - mean), axis=0)  # biased: divided by b, not b - 1
        running_mean, running_var = running
        running = (
            (1 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean,
            (1 - BN_MOMENTUM) * running_var + BN_MOMENTUM * var,
        )
    else:
        mean, var = running
    return gamma * (z - mean) * jax.lax.rsqrt(var + BN_EPS) + beta, running


def forward(
    params: Params,
    stats: Stats,
    x: jax.Array,
    activation: str,
    rate: float = 0.0,
    key: jax.Array | None = None,
) -> tuple[jax.Array, Stats]:
    """Logits ``(n, n_out)`` of ``x`` ``(n, n_in)`` and the running statistics after the pass.

    A hidden layer is Linear, BatchNorm (if its tuple holds gamma and beta), activation, dropout.
    With a ``key`` this is training mode: BatchNorm uses the batch's statistics (and updates the
    running ones), and dropout of ``rate`` follows every hidden activation, layer ``i`` masked from
    ``fold_in(key, i)``. Without one it is inference: running statistics, no dropout.
    """
    act = _ACTIVATIONS[activation]
    training = key is not None
    *hidden, (w_out, b_out) = params
    new_stats = []
    for i, (w, b, *scale_shift) in enumerate(hidden):
        x = jnp.dot(x, w, precision=PRECISION) + b
        if scale_shift:
            x, running = batch_norm(x, *scale_shift, stats[i], training)
            new_stats.append(running)
        x = act(x)
        if training and rate > 0:
            x = dropout(x, rate, jax.random.fold_in(key, i))
    return jnp.dot(x, w_out, precision=PRECISION) + b_out, new_stats


def predict(params: Params, stats: Stats, x: jax.Array, activation: str = "relu") -> jax.Array:
    """Inference-mode logits ``(n, n_out)`` of ``x`` ``(n, n_in)`` (no dropout, running stats)."""
    logits, _ = forward(params, stats, x, activation)
    return logits


def loss(
    params: Params,
    stats: Stats,
    x: jax.Array,
    y: jax.Array,
    activation: str,
    rate: float,
    key: jax.Array | None,
) -> tuple[jax.Array, tuple[jax.Array, Stats]]:
    """Batch-mean softmax cross-entropy of ``x`` ``(b, n_in)`` for labels ``y`` ``(b,)``.

    The auxiliary output is the logits and the running statistics after the forward pass.
    """
    logits, new_stats = forward(params, stats, x, activation, rate, key)
    cross_entropy = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return cross_entropy, (logits, new_stats)


def penalty(params: Params, weight_decay: float) -> jax.Array:
    """``weight_decay/2 * sum(W**2)`` over the weight matrices (nothing else is penalised)."""
    return weight_decay / 2 * sum(jnp.sum(jnp.square(layer[0])) for layer in params)
