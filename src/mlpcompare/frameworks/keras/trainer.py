"""Training: a custom step rather than ``model.fit``, so that the shared permutation decides the
batches and the optimizer maths is the textbook forms every framework uses (:mod:`.optim`)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mlpcompare import frameworks
from mlpcompare.frameworks.keras.optim import build_optimizer
from mlpcompare.frameworks.keras.runtime import TF_DEVICES, resolve_device
from mlpcompare.frameworks.keras_common.model import build_model, get_params, set_params
from mlpcompare.frameworks.keras_common.optim import l2_penalty
from mlpcompare.frameworks.keras_common.serving import save_model
from mlpcompare.spec import ModelSpec, TrainSpec

# Rows per forward call when predicting: bounds activation memory (registry: eval_chunk).
EVAL_CHUNK = frameworks.get("keras").eval_chunk


def chunked_logits(model: keras.Sequential, x: np.ndarray) -> np.ndarray:
    """Inference-mode logits (n, n_out) by direct calls, ``EVAL_CHUNK`` rows at a time."""
    x = np.asarray(x, dtype=np.float32)
    chunks = [
        model(x[i : i + EVAL_CHUNK], training=False).numpy() for i in range(0, len(x), EVAL_CHUNK)
    ]
    return np.concatenate(chunks)


class Trainer:
    """Trains one Keras MLP from given weights with the shared batches (see ``training.Trainer``)."""

    def __init__(
        self,
        model_spec: ModelSpec,
        train_spec: TrainSpec,
        weights: dict[str, np.ndarray],
        x_train: np.ndarray,
        y_train: np.ndarray,
        *,
        seed: int,
        device: str,
    ):
        # Seeds Python, NumPy and TF, from which Dropout's seed generators draw: set before
        # building. Op determinism makes TF pick reproducible kernels (matters on GPU).
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        self.model_spec, self.train_spec = model_spec, train_spec
        self.device = resolve_device(device)
        self._tf_device = TF_DEVICES[self.device]
        with tf.device(self._tf_device):
            self.model = build_model(model_spec, l2_penalty(train_spec))
            set_params(self.model, weights)
            self.optimizer = build_optimizer(train_spec, self.model)
            self.optimizer.build(self.model.trainable_variables)
            self._x = tf.constant(np.asarray(x_train, dtype=np.float32))
            self._y = tf.constant(np.asarray(y_train, dtype=np.int64))
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # Graph mode without XLA: jit_compile=True was no faster per batch on CPU, and the
        # epoch loop (whose last batch may be smaller) did not finish compiling in minutes.
        self._step_fn = tf.function(self._train_batch, reduce_retracing=True)
        self._epoch_fn = tf.function(self._train_batches)

    def _train_batch(self, xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One update on ``xb`` (b, n_in), ``yb`` (b,); returns (loss, correct) before it."""
        with tf.GradientTape() as tape:
            # Training mode: dropout masks, and BatchNorm normalises with the batch's statistics
            # and updates its moving ones (Keras assigns them inside the call).
            logits = self.model(xb, training=True)
            # model.losses holds the kernels' L2 terms, weight_decay/2 * sum(W**2) (none for adamw).
            loss = self._loss(yb, logits) + sum(self.model.losses)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply(grads, variables)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=1), yb), tf.int64))
        return loss, correct

    def _train_batches(self, order: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """All batches of ``order`` in one graph: (sample-weighted loss sum, correct count).

        One call per epoch rather than per batch: on 2 CPU cores the per-call overhead made a
        Python loop over batches about half as fast. ``order`` is (n,) int64 row indices.
        """
        batch_size = self.train_spec.batch_size
        n = tf.shape(order, out_type=tf.int64)[0]
        loss_sum = tf.zeros((), tf.float64)
        correct = tf.zeros((), tf.int64)
        for start in tf.range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss, n_correct = self._train_batch(tf.gather(self._x, idx), tf.gather(self._y, idx))
            loss_sum += tf.cast(loss, tf.float64) * tf.cast(tf.size(idx), tf.float64)
            correct += n_correct
        return loss_sum, correct

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One optimizer step on one batch at rate ``lr``; returns its loss (CE [+ L2]) before."""
        self.optimizer.learning_rate.assign(lr)
        with tf.device(self._tf_device):
            loss, _ = self._step_fn(
                tf.constant(np.asarray(xb, dtype=np.float32)),
                tf.constant(np.asarray(yb, dtype=np.int64)),
            )
        return float(loss)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``: mean training loss (CE [+ L2]) and accuracy.

        The L2 term is there for ``sgd`` and ``adam`` only: ``adamw``'s decay is not in the loss.
        """
        self.optimizer.learning_rate.assign(lr)
        with tf.device(self._tf_device):
            loss_sum, correct = self._epoch_fn(tf.constant(np.asarray(order, dtype=np.int64)))
        n = len(order)
        return float(loss_sum) / n, float(correct) / n

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self.predict_logits(x)
        y = np.asarray(y, dtype=np.int64)
        loss = float(self._loss(y, logits))
        return loss, float(np.mean(np.argmax(logits, axis=1) == y))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out) float32, inference mode (dropout off, BatchNorm's moving statistics)."""
        with tf.device(self._tf_device):
            return chunked_logits(self.model, x)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Current parameters and BatchNorm's moving statistics in canonical layout (copies)."""
        return get_params(self.model)

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite the parameters (and moving statistics); optimizer state is left alone."""
        set_params(self.model, params)

    def save(self, path: str) -> None:
        """Write a ``.keras`` file atomically: architecture and weights, no optimizer state
        (:func:`~mlpcompare.frameworks.keras_common.serving.save_model`)."""
        save_model(self.model, path)
