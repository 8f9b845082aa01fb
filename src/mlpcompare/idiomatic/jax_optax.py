"""The MLP trained the way the JAX and optax documentation write it: the idiomatic JAX path.

A ``@jax.jit`` train step built on ``jax.value_and_grad``, ``optax.adam`` (or ``optax.sgd``)
chained after ``optax.add_decayed_weights`` with the rate's decay as an optax schedule, a fresh
``jax.random.permutation`` of the training set every epoch from a key split off the run's key,
dropout masks from ``jax.random.bernoulli``, and a Python loop that slices each batch out of the
permuted arrays. :class:`mlpcompare.jax_mlp.Trainer` is the tuned version (the shared batch
order, a whole epoch of batches in one compiled ``lax.scan``, one device sync per epoch).
"""

from __future__ import annotations

import logging
import time

import jax
import jax.numpy as jnp
import optax

from mlpcompare.jax_mlp import PRECISION
from mlpcompare.spec import TrainSpec

API = "jax.jit step + optax.adam/sgd chain, jax.random.permutation batches"
log = logging.getLogger(__name__)
# The loss this loop reports is the cross-entropy alone: the decay lives in the optimizer chain.
LOSS_INCLUDES_PENALTY = False

_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}


def build_optimizer(train_spec: TrainSpec, steps_per_epoch: int) -> optax.GradientTransformation:
    """optax's Adam or SGD after an L2 decay of the weight matrices; ``lr_decay`` once per epoch."""
    schedule = optax.exponential_decay(
        train_spec.lr,
        transition_steps=steps_per_epoch,
        decay_rate=train_spec.lr_decay,
        staircase=True,
    )
    if train_spec.optimizer == "adam":
        base = optax.adam(schedule, b1=train_spec.beta1, b2=train_spec.beta2, eps=train_spec.eps)
    else:
        base = optax.sgd(schedule, momentum=train_spec.momentum or None)
    return optax.chain(optax.add_decayed_weights(train_spec.weight_decay, _weights_only), base)


def _weights_only(params: list[tuple]) -> list[tuple[bool, bool]]:
    """The decay mask: each layer's ``W``, never its ``b``."""
    return [(True, False) for _ in params]


# The signature every idiomatic path has (mlpcompare.idiomatic documents the arguments).
def train_epochs(model_spec, train_spec, weights, x_train, y_train, *, seed, device, epochs):
    """Train ``epochs`` epochs from ``weights`` (canonical layout) on ``x_train`` (n, n_in).

    Returns per epoch ``epoch``, ``epoch_seconds`` and ``train_loss`` (mean batch
    cross-entropy: the decay lives in the optimizer, so the loss has no penalty term).
    ``device`` is ``"cpu"`` or ``"cuda"`` (resolved by ``runs.prepare_framework``).
    """
    act, rate = _ACTIVATIONS[model_spec.activation], model_spec.dropout

    # Full float32 products, as the tuned trainer (see jax_mlp.PRECISION): on a GPU, JAX's
    # default would be TF32, and the variant would no longer train the same float32 network.
    def predict(params, x, key=None):
        *hidden, (w_out, b_out) = params
        for w, b in hidden:
            x = act(jnp.dot(x, w, precision=PRECISION) + b)
            if key is not None and rate > 0:
                key, layer_key = jax.random.split(key)
                x = jnp.where(jax.random.bernoulli(layer_key, 1 - rate, x.shape), x / (1 - rate), 0)
        return jnp.dot(x, w_out, precision=PRECISION) + b_out

    def loss_fn(params, x, y, key):
        logits = predict(params, x, key)
        return optax.losses.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    n, batch_size = len(x_train), train_spec.batch_size
    tx = build_optimizer(train_spec, steps_per_epoch=-(-n // batch_size))

    @jax.jit
    def train_step(params, opt_state, x, y, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y, key)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    with jax.default_device(_device(device)):
        n_layers = model_spec.n_layers
        params = [
            (jnp.asarray(weights[f"W{i}"], jnp.float32), jnp.asarray(weights[f"b{i}"], jnp.float32))
            for i in range(n_layers)
        ]
        opt_state = tx.init(params)
        x, y = jnp.asarray(x_train, jnp.float32), jnp.asarray(y_train, jnp.int32)
        key = jax.random.key(seed)
        history = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            key, perm_key = jax.random.split(key)
            perm = jax.random.permutation(perm_key, n)
            x_epoch, y_epoch = x[perm], y[perm]
            losses = []
            for i in range(0, n, batch_size):
                key, dropout_key = jax.random.split(key)
                params, opt_state, loss = train_step(
                    params, opt_state, x_epoch[i : i + batch_size], y_epoch[i : i + batch_size],
                    dropout_key,
                )  # fmt: skip
                losses.append(loss)
            train_loss = float(jnp.mean(jnp.stack(losses)))  # waits for the epoch's last step
            seconds = time.perf_counter() - start
            history.append({"epoch": epoch, "epoch_seconds": seconds, "train_loss": train_loss})
            log.info("epoch %d/%d  train loss %.4f  %.2fs", epoch, epochs, train_loss, seconds)
    return history


def _device(name: str) -> jax.Device:
    return jax.devices("cuda" if name == "cuda" else "cpu")[0]
