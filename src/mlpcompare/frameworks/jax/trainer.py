"""Training: :func:`update` is the one step, compiled once by ``jax.jit``, that returns new
parameters, stats and optimizer state; :func:`train_blocks` runs an epoch's full batches in one
``lax.scan``. Everything that must match the other frameworks (initial weights, batch order,
loss, BatchNorm's conventions, optimizer constants, weight decay) comes from
:mod:`mlpcompare.spec`; nothing here chooses its own.

Randomness: one key from the run's seed; the dropout masks of global step ``t`` use
``fold_in(key, t)`` and, within it, ``fold_in(., layer)``. A step's masks depend only on the seed
and the step's number, so a whole epoch and the same batches stepped one by one are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlpcompare import frameworks
from mlpcompare.frameworks.jax.canonical import canonical_from_params, params_from_canonical
from mlpcompare.frameworks.jax.model import Params, Stats, loss, penalty, predict
from mlpcompare.frameworks.jax.optim import optimizer, reported_l2
from mlpcompare.frameworks.jax_common.runtime import jax_device, resolve_device
from mlpcompare.io import write_npz

# Rows per forward pass in inference: bounds activation memory on big sets (registry: eval_chunk).
EVAL_CHUNK = frameworks.get("jax").eval_chunk


def update(
    params: Params,
    stats: Stats,
    opt_state: optax.OptState,
    x: jax.Array,
    y: jax.Array,
    lr: jax.Array,
    key: jax.Array,
    *,
    tx: optax.GradientTransformation,
    activation: str,
    rate: float,
    l2: float,
) -> tuple[Params, Stats, optax.OptState, jax.Array, jax.Array]:
    """One optimizer step on ``x`` ``(b, n_in)``, ``y`` ``(b,)`` at rate ``lr``.

    Returns the new parameters, running statistics and optimizer state, the loss before the step
    (cross-entropy plus the penalty ``l2/2 * sum(W**2)``) and the number of correctly classified
    rows (training mode, before the step).
    """
    (cross_entropy, (logits, stats)), grads = jax.value_and_grad(loss, has_aux=True)(
        params, stats, x, y, activation, rate, key
    )
    updates, opt_state = tx.update(grads, opt_state, params)  # the decay needs the weights
    updates = jax.tree.map(lambda u: -lr * u, updates)
    reported = cross_entropy + penalty(params, l2)  # at the weights before the step
    correct = jnp.sum(jnp.argmax(logits, axis=1) == y)
    return optax.apply_updates(params, updates), stats, opt_state, reported, correct


def train_blocks(
    params: Params,
    stats: Stats,
    opt_state: optax.OptState,
    x: jax.Array,
    y: jax.Array,
    blocks: jax.Array,
    lr: jax.Array,
    key: jax.Array,
    t0: jax.Array,
    *,
    step: Callable,
) -> tuple[Params, Stats, optax.OptState, jax.Array, jax.Array]:
    """``step`` (:func:`update`, options bound) over the index ``blocks`` ``(k, b)``, in order.

    One ``lax.scan``: the whole run of equal-sized batches is one compiled loop on the device, with
    no return to Python between batches. Block ``j`` is global step ``t0 + j``, which keys its
    dropout masks. Returns the new parameters, running statistics and optimizer state, the summed
    loss times batch size and the summed correct count.
    """

    def one_batch(carry, index):
        params, stats, opt_state, t, loss_sum, correct = carry
        params, stats, opt_state, batch_loss, n_correct = step(
            params, stats, opt_state, x[index], y[index], lr, jax.random.fold_in(key, t)
        )
        loss_sum, correct = loss_sum + batch_loss * len(index), correct + n_correct
        return (params, stats, opt_state, t + 1, loss_sum, correct), None

    start = (params, stats, opt_state, t0, jnp.float32(0), jnp.int32(0))
    (params, stats, opt_state, _, loss_sum, correct), _ = jax.lax.scan(one_batch, start, blocks)
    return params, stats, opt_state, loss_sum, correct


def cross_entropy_and_correct(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Summed cross-entropy and correct count of ``logits`` ``(n, k)`` against ``y`` ``(n,)``."""
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y)
    return jnp.sum(ce), jnp.sum(jnp.argmax(logits, axis=1) == y)


class Trainer:
    """Trains the parameter pytree on arrays held on ``device``; ``training.Trainer``'s surface.

    Holds no global state (the dropout key is its own), so trainers do not disturb each other.
    """

    # The constructor every trainer has (mlpcompare.training.loop.Trainer documents the arguments).
    def __init__(self, model_spec, train_spec, weights, x_train, y_train, *, seed, device):
        self.model_spec = model_spec
        self.batch_size = train_spec.batch_size
        self.device = jax_device(resolve_device(device))
        self.params, self.stats = params_from_canonical(weights, model_spec, self.device)
        tx = optimizer(train_spec)
        self.opt_state = jax.device_put(tx.init(self.params), self.device)
        self.key = jax.device_put(jax.random.key(seed), self.device)
        self.t = 0  # optimizer steps taken: numbers the dropout keys
        # Copied to the device once; each batch is then an index into these arrays.
        self.x = jax.device_put(np.asarray(x_train, dtype=np.float32), self.device)
        self.y = jax.device_put(np.asarray(y_train, dtype=np.int32), self.device)
        step = partial(
            update,
            tx=tx,
            activation=model_spec.activation,
            rate=model_spec.dropout,
            l2=reported_l2(train_spec),
        )
        # The old parameters, stats and state are dead after a step: donating them lets XLA
        # update them in place instead of allocating new buffers every batch.
        self._step = jax.jit(step, donate_argnums=(0, 1, 2))
        self._blocks = jax.jit(partial(train_blocks, step=step), donate_argnums=(0, 1, 2))
        self._predict = jax.jit(partial(predict, activation=model_spec.activation))
        self._score = jax.jit(cross_entropy_and_correct)

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One update on the batch ``xb`` ``(b, n_in)``, ``yb`` ``(b,)``; its loss before it."""
        xb = jax.device_put(np.asarray(xb, dtype=np.float32), self.device)
        yb = jax.device_put(np.asarray(yb, dtype=np.int32), self.device)
        key = jax.random.fold_in(self.key, self.t)
        self.params, self.stats, self.opt_state, batch_loss, _ = self._step(
            self.params, self.stats, self.opt_state, xb, yb, lr, key
        )
        self.t += 1
        return float(batch_loss)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``; sample-weighted mean loss and accuracy.

        The loss includes the L2 penalty of ``sgd`` and ``adam`` (``adamw`` has none). The batches are the consecutive blocks of :func:`mlpcompare.spec.batches`: the full ones
        in one compiled loop (:func:`train_blocks`), a smaller last one, if any, as one more step.
        """
        n_full = len(order) // self.batch_size
        split = n_full * self.batch_size
        index = jax.device_put(np.asarray(order, dtype=np.int32), self.device)  # once per epoch
        loss_sum, correct = jnp.float32(0), jnp.int32(0)
        if n_full:
            blocks = index[:split].reshape(n_full, self.batch_size)
            self.params, self.stats, self.opt_state, loss_sum, correct = self._blocks(
                self.params, self.stats, self.opt_state, self.x, self.y, blocks, lr,
                self.key, self.t,
            )  # fmt: skip
            self.t += n_full
        if split < len(order):
            rest = index[split:]
            self.params, self.stats, self.opt_state, batch_loss, batch_correct = self._step(
                self.params, self.stats, self.opt_state, self.x[rest], self.y[rest], lr,
                jax.random.fold_in(self.key, self.t),
            )  # fmt: skip
            self.t += 1
            loss_sum = loss_sum + batch_loss * len(rest)
            correct = correct + batch_correct
        loss_sum, correct = jax.device_get((loss_sum, correct))  # the epoch's one sync
        return float(loss_sum) / len(order), int(correct) / len(order)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self._logits(x)
        labels = jax.device_put(np.asarray(y, dtype=np.int32), self.device)
        ce_sum, correct = jax.device_get(self._score(logits, labels))
        return float(ce_sum) / len(y), int(correct) / len(y)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(n, n_out)``, float32, inference mode."""
        return np.asarray(self._logits(x))

    def get_weights(self) -> dict[str, np.ndarray]:
        return canonical_from_params(self.params, self.stats)

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        self.params, self.stats = params_from_canonical(params, self.model_spec, self.device)

    def save(self, path: str) -> None:
        """Write the parameters and running statistics as an .npz of plain float32 arrays
        (``W0, b0, ...``, BatchNorm's ``gamma0, beta0, mean0, var0, ...``), atomically."""
        write_npz(self.get_weights(), path)

    def _logits(self, x: np.ndarray) -> jax.Array:
        x = np.asarray(x, dtype=np.float32)
        parts = [
            self._predict(
                self.params, self.stats, jax.device_put(x[i : i + EVAL_CHUNK], self.device)
            )
            for i in range(0, len(x), EVAL_CHUNK)
        ]
        return parts[0] if len(parts) == 1 else jnp.concatenate(parts)
