"""Training as the Keras guides write a custom loop for the JAX backend: the model's state as
arrays, ``model.stateless_call`` for the forward pass, ``jax.value_and_grad`` for the gradients and
``optimizer.stateless_apply`` for the update, in one ``jax.jit`` step; an epoch's full batches in
one ``lax.scan`` (as the JAX framework runs them). The shared permutation decides the batches and
the optimizer maths is the textbook forms every framework uses
(:mod:`mlpcompare.frameworks.keras_common.optim`).

Randomness: each Dropout layer's seed generator is state like BatchNorm's moving statistics (a
non-trainable variable, from the run's seed:
:func:`mlpcompare.frameworks.keras_common.model.build_model`), carried from step to step, so a
whole epoch and the same batches stepped one by one draw the same masks.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import keras
import numpy as np

from mlpcompare import frameworks
from mlpcompare.frameworks.jax_common.runtime import jax_device, resolve_device
from mlpcompare.frameworks.keras_common.model import build_model, get_params, set_params
from mlpcompare.frameworks.keras_common.optim import build_optimizer, l2_penalty
from mlpcompare.frameworks.keras_common.serving import save_model

# Rows per forward pass in inference: bounds activation memory (registry: eval_chunk).
EVAL_CHUNK = frameworks.get("keras-jax").eval_chunk


class State(NamedTuple):
    """Everything a step changes, as arrays: the model's trainable and non-trainable variables
    (BatchNorm's moving statistics, Dropout's seed states) and the optimizer's variables."""

    trainable: list[jax.Array]
    non_trainable: list[jax.Array]
    optimizer: list[jax.Array]


def values(variables: list[keras.Variable], device: jax.Device) -> list[jax.Array]:
    """Copies of the current values of Keras ``variables``, as arrays on ``device``.

    Copies: a variable's own buffer is donated by Keras' compiled functions (``model.predict``)
    and our steps donate the state's, so the two never share one.
    """
    return [jax.device_put(jnp.array(v.value, copy=True), device) for v in variables]


def inference_logits(model: keras.Model, trainable, non_trainable, x: jax.Array) -> jax.Array:
    """Inference-mode logits (no dropout, BatchNorm's moving statistics) of ``x`` (n, n_in)."""
    logits, _ = model.stateless_call(trainable, non_trainable, x, training=False)
    return logits


class Trainer:
    """Trains one Keras MLP on the JAX backend from given weights with the shared batches
    (``training.Trainer``'s surface). Holds no global state: the model's state is its own."""

    # The constructor every trainer has (mlpcompare.training.loop.Trainer documents the arguments).
    def __init__(self, model_spec, train_spec, weights, x_train, y_train, *, seed, device):
        self.model_spec, self.batch_size = model_spec, train_spec.batch_size
        self.device = jax_device(resolve_device(device))
        self.model = build_model(model_spec, l2_penalty(train_spec), seed)
        set_params(self.model, weights)
        self.optimizer = build_optimizer(train_spec, self.model)
        self.optimizer.build(self.model.trainable_variables)
        self.state = self._read_state()
        # Copied to the device once; each batch is then an index into these arrays.
        self.x = jax.device_put(np.asarray(x_train, dtype=np.float32), self.device)
        self.y = jax.device_put(np.asarray(y_train, dtype=np.int32), self.device)
        rate = self.optimizer.learning_rate  # a variable of the optimizer: its slot in the state
        step = partial(
            train_step,
            model=self.model,
            optimizer=self.optimizer,
            rate_slot=next(i for i, v in enumerate(self.optimizer.variables) if v is rate),
        )
        # The old state is dead after a step: donating it lets XLA update it in place.
        self._step = jax.jit(step, donate_argnums=0)
        self._blocks = jax.jit(partial(train_blocks, step=step), donate_argnums=0)
        self._predict = jax.jit(partial(inference_logits, self.model))

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One update on the batch ``xb`` ``(b, n_in)``, ``yb`` ``(b,)``; its loss before it."""
        xb = jax.device_put(np.asarray(xb, dtype=np.float32), self.device)
        yb = jax.device_put(np.asarray(yb, dtype=np.int32), self.device)
        self.state, loss, _ = self._step(self.state, xb, yb, jnp.float32(lr))
        return float(loss)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``: mean training loss (CE [+ L2]) and accuracy.

        The L2 term is there for ``sgd`` and ``adam`` only (``adamw``'s decay is not in the loss).
        The batches are the consecutive blocks of :func:`mlpcompare.spec.batches`: the full ones
        in one compiled loop (:func:`train_blocks`), a smaller last one, if any, as one more step.
        """
        n_full = len(order) // self.batch_size
        split = n_full * self.batch_size
        index = jax.device_put(np.asarray(order, dtype=np.int32), self.device)  # once per epoch
        lr = jnp.float32(lr)
        loss_sum, correct = jnp.float32(0), jnp.int32(0)
        if n_full:
            blocks = index[:split].reshape(n_full, self.batch_size)
            self.state, loss_sum, correct = self._blocks(self.state, self.x, self.y, blocks, lr)
        if split < len(order):
            rest = index[split:]
            self.state, loss, n_correct = self._step(self.state, self.x[rest], self.y[rest], lr)
            loss_sum, correct = loss_sum + loss * len(rest), correct + n_correct
        loss_sum, correct = jax.device_get((loss_sum, correct))  # the epoch's one sync
        return float(loss_sum) / len(order), int(correct) / len(order)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self.predict_logits(x)
        y = np.asarray(y, dtype=np.int64)
        log_p = jax.nn.log_softmax(jnp.asarray(logits, jnp.float32))
        cross_entropy = -float(jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1)))
        return cross_entropy, float(np.mean(logits.argmax(axis=1) == y))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(n, n_out)``, float32, inference mode, ``EVAL_CHUNK`` rows at a time."""
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate([
            np.asarray(self._predict(*self.state[:2], jax.device_put(x[i : i + EVAL_CHUNK], self.device)))
            for i in range(0, len(x), EVAL_CHUNK)
        ])  # fmt: skip

    def get_weights(self) -> dict[str, np.ndarray]:
        """Current parameters and BatchNorm's moving statistics in canonical layout (copies)."""
        self._write_back()
        return get_params(self.model)

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite the parameters (and moving statistics); optimizer state is left alone."""
        self._write_back()
        set_params(self.model, params)
        self.state = self._read_state()

    def save(self, path: str) -> None:
        """Write a ``.keras`` file atomically: architecture and weights, no optimizer state
        (:func:`~mlpcompare.frameworks.keras_common.serving.save_model`)."""
        self._write_back()
        save_model(self.model, path)

    def _read_state(self) -> State:
        """The Keras objects' variables as the arrays a step takes, on the trainer's device."""
        return State(values(self.model.trainable_variables, self.device),
                     values(self.model.non_trainable_variables, self.device),
                     values(self.optimizer.variables, self.device))  # fmt: skip

    def _write_back(self) -> None:
        """Attach the state to the Keras objects (until then, they hold their values at build)."""
        variables = (self.model.trainable_variables, self.model.non_trainable_variables,
                     self.optimizer.variables)  # fmt: skip
        for group, values in zip(variables, self.state, strict=True):
            for variable, value in zip(group, values, strict=True):
                variable.assign(jnp.array(value, copy=True))  # the next step donates value


def train_step(state, x, y, lr, *, model, optimizer, rate_slot):
    """One update on ``x`` ``(b, n_in)``, ``y`` ``(b,)`` at rate ``lr``: the new state, the loss
    before the step (cross-entropy plus the kernels' L2 terms) and the correct count."""

    def loss_fn(trainable, non_trainable):
        # Training mode: dropout masks, and BatchNorm normalises with the batch's statistics and
        # moves its moving ones (returned among the non-trainable variables).
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        # The kernels' regularisers, weight_decay/2 * sum(W**2) (none for adamw), at the values
        # being differentiated: model.losses would read the variables, not these arrays.
        penalty = sum(
            v.regularizer(value)
            for v, value in zip(model.trainable_variables, trainable, strict=True)
            if v.regularizer is not None
        )
        return jnp.mean(cross_entropy) + penalty, (logits, non_trainable)

    (loss, (logits, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.trainable, state.non_trainable
    )
    # The rate is an optimizer variable: this step's replaces it, so a new rate never retraces.
    optimizer_vars = [lr if i == rate_slot else v for i, v in enumerate(state.optimizer)]
    trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, state.trainable)
    correct = jnp.sum(jnp.argmax(logits, axis=1) == y)
    return State(trainable, non_trainable, optimizer_vars), loss, correct


def train_blocks(state, x, y, blocks, lr, *, step):
    """``step`` (:func:`train_step`, options bound) over the index ``blocks`` ``(k, b)``, in order,
    as one ``lax.scan``: returns the new state, the summed loss times batch size and the summed
    correct count."""

    def one_batch(carry, index):
        state, loss_sum, correct = carry
        state, loss, n_correct = step(state, x[index], y[index], lr)
        return (state, loss_sum + loss * len(index), correct + n_correct), None

    (state, loss_sum, correct), _ = jax.lax.scan(
        one_batch, (state, jnp.float32(0), jnp.int32(0)), blocks
    )
    return state, loss_sum, correct
