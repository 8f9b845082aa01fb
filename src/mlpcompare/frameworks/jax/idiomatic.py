"""The MLP trained the way the JAX and optax documentation write it: the idiomatic JAX path.

A ``@jax.jit`` train step built on ``jax.value_and_grad``, optax's own ``adam``, ``adamw`` (its
``mask`` keeps biases and BatchNorm undecayed) or ``sgd``, with the rate's per-epoch decay as an
``optax.exponential_decay`` schedule (the L2 of ``adam`` and ``sgd`` chained in front with
``optax.add_decayed_weights``), a fresh ``jax.random.permutation`` of the training set every
epoch, a Python loop that slices each batch out of the permuted arrays, a jitted evaluation of
the validation set after each epoch, and early stopping by hand: the parameters are immutable
pytrees, so keeping the best epoch's is keeping a reference. The network itself is
:func:`mlpcompare.frameworks.jax.forward` (pure functions, BatchNorm's running statistics a pytree of
their own). :class:`mlpcompare.frameworks.jax.Trainer` is the tuned version (the shared batch order, a
whole epoch of batches in one compiled ``lax.scan``, one device sync per epoch).
"""

from __future__ import annotations

import logging
import time

import jax
import jax.numpy as jnp
import optax

from mlpcompare.frameworks.jax.canonical import canonical_from_params, params_from_canonical
from mlpcompare.frameworks.jax.model import forward
from mlpcompare.frameworks.jax.optim import weight_matrices
from mlpcompare.frameworks.jax_common.runtime import compile_afresh
from mlpcompare.io import write_npz
from mlpcompare.spec import TrainSpec
from mlpcompare.training.loop import FitResult

API = (
    "jax.jit step + optax.adam/adamw/sgd with an exponential_decay schedule, "
    "jax.random.permutation batches, early stopping by hand"
)
INFERENCE_API = "jit_apply"  # jax.jit(predict)(params, x)
log = logging.getLogger(__name__)
# The loss this loop reports is the cross-entropy alone: the decay lives in the optimizer chain.
LOSS_INCLUDES_PENALTY = False


def build_optimizer(train_spec: TrainSpec, steps_per_epoch: int) -> optax.GradientTransformation:
    """optax's SGD, Adam or AdamW; ``lr_decay`` once per epoch; only weight matrices decay."""
    schedule = optax.exponential_decay(
        train_spec.lr, transition_steps=steps_per_epoch, decay_rate=train_spec.lr_decay,
        staircase=True,
    )  # fmt: skip
    adam = {"b1": train_spec.beta1, "b2": train_spec.beta2, "eps": train_spec.eps}
    if train_spec.optimizer == "adamw":
        return optax.adamw(schedule, weight_decay=train_spec.weight_decay, mask=weight_matrices,
                           **adam)  # fmt: skip
    if train_spec.optimizer == "adam":
        base = optax.adam(schedule, **adam)
    else:
        base = optax.sgd(schedule, momentum=train_spec.momentum or None)
    return optax.chain(optax.add_decayed_weights(train_spec.weight_decay, weight_matrices), base)


def fit(model_spec, train_spec, weights, data, *, seed, device, model_path) -> FitResult:
    """Train with the full recipe; write the best epoch's parameters to ``model_path`` (.npz).

    ``device`` is ``"cpu"`` or ``"cuda"`` (resolved by ``runs.prepare_framework``).
    """
    compile_afresh()  # the first epoch compiles, as a new user's does
    act, rate = model_spec.activation, model_spec.dropout

    def loss_fn(params, stats, x, y, key):
        logits, stats = forward(params, stats, x, act, rate, key)
        loss = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, (stats, jnp.sum(jnp.argmax(logits, axis=1) == y))

    n, batch_size = len(data["x_train"]), train_spec.batch_size
    tx = build_optimizer(train_spec, steps_per_epoch=-(-n // batch_size))

    @jax.jit
    def train_step(params, stats, opt_state, x, y, key):
        (loss, (stats, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, stats, x, y, key
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state, loss, correct

    @jax.jit
    def evaluate(params, stats, x, y):
        logits, _ = forward(params, stats, x, act)
        loss = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, jnp.mean(jnp.argmax(logits, axis=1) == y)

    with jax.default_device(_device(device)):
        params, stats = params_from_canonical(weights, model_spec, _device(device))
        opt_state = tx.init(params)
        x, y = jnp.asarray(data["x_train"], jnp.float32), jnp.asarray(data["y_train"], jnp.int32)
        x_val, y_val = (
            jnp.asarray(data["x_val"], jnp.float32),
            jnp.asarray(data["y_val"], jnp.int32),
        )
        key = jax.random.key(seed)
        result, best_score, since_best = FitResult(), -jnp.inf, 0
        best = None  # the last parameters are kept if no epoch ever scores (a NaN loss)
        for epoch in range(train_spec.epochs):
            start = time.perf_counter()
            key, perm_key = jax.random.split(key)
            perm = jax.random.permutation(perm_key, n)
            x_epoch, y_epoch = x[perm], y[perm]
            losses, correct = [], 0
            for i in range(0, n, batch_size):
                key, dropout_key = jax.random.split(key)
                xb, yb = x_epoch[i : i + batch_size], y_epoch[i : i + batch_size]
                params, stats, opt_state, loss, n_correct = train_step(
                    params, stats, opt_state, xb, yb, dropout_key
                )
                losses.append(loss * len(xb))
                correct += n_correct
            train_loss = float(sum(losses)) / n  # waits for the epoch's last step
            seconds = time.perf_counter() - start
            val_loss, val_acc = (float(v) for v in evaluate(params, stats, x_val, y_val))
            result.history.append({
                "epoch": epoch + 1, "lr": train_spec.lr_at(epoch), "train_loss": train_loss,
                "train_accuracy": int(correct) / n, "val_loss": val_loss, "val_accuracy": val_acc,
                "epoch_seconds": seconds,
            })  # fmt: skip
            log.info("epoch %d: %s", epoch + 1, result.history[-1])
            score = val_acc if train_spec.monitor == "val_accuracy" else -val_loss
            if score > best_score:
                best_score, since_best, result.best_epoch = score, 0, epoch + 1
                best = (params, stats)
            else:
                since_best += 1
                if train_spec.patience and since_best >= train_spec.patience:
                    result.stopped_early = True
                    break
    write_npz(canonical_from_params(*(best or (params, stats))), model_path)
    return result


def _device(name: str) -> jax.Device:
    return jax.devices("cuda" if name == "cuda" else "cpu")[0]
