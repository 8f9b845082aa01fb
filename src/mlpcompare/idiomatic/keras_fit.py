"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``.

``fit`` takes the arrays and decides the rest: it wraps them in a ``tf.data`` pipeline, shuffles
every epoch, compiles its own train step, and uses Keras' own Adam (or SGD). A callback reads the
clock at each epoch's start and end. :class:`mlpcompare.keras_mlp.Trainer` is the tuned version
(tensors made once, indexed by the shared permutation, the whole epoch in one ``tf.function``,
textbook Adam).
"""

from __future__ import annotations

import logging
import time

# First: keras_mlp sets the environment TensorFlow reads when it starts (backend, logging, kernels),
# so both variants run on the same TF set-up.
from mlpcompare.keras_mlp import build_model, set_params  # isort: skip

import keras
import numpy as np

from mlpcompare.spec import ModelSpec, TrainSpec

API = "model.compile + model.fit(shuffle=True), keras.optimizers.Adam/SGD"
KERAS_DEVICES = {"cpu": "cpu:0", "cuda": "gpu:0"}
log = logging.getLogger(__name__)
# The loss fit reports includes the L2 penalty (the kernel regularisers' losses).
LOSS_INCLUDES_PENALTY = True


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch of ``fit`` and the loss it reports."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs
        self.history: list[dict] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        train_loss = float(logs["loss"])  # a device value: reading it waits for the epoch's work
        seconds = time.perf_counter() - self._start
        self.history.append(
            {"epoch": epoch + 1, "epoch_seconds": seconds, "train_loss": train_loss}
        )
        log.info("epoch %d/%d  train loss %.4f  %.2fs", epoch + 1, self.epochs, train_loss, seconds)


def build_optimizer(train_spec: TrainSpec, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Keras' own Adam or SGD; ``lr_decay`` as a schedule stepping once per epoch."""
    lr = train_spec.lr
    if train_spec.lr_decay != 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=steps_per_epoch, decay_rate=train_spec.lr_decay, staircase=True
        )
    if train_spec.optimizer == "adam":
        return keras.optimizers.Adam(
            learning_rate=lr,
            beta_1=train_spec.beta1,
            beta_2=train_spec.beta2,
            epsilon=train_spec.eps,
        )
    return keras.optimizers.SGD(learning_rate=lr, momentum=train_spec.momentum)


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

    Returns per epoch ``epoch``, ``epoch_seconds`` and ``train_loss`` (fit's epoch loss: batch
    cross-entropy plus the L2 penalty, averaged over the epoch).
    """
    keras.utils.set_random_seed(seed)  # fit's shuffling and the dropout masks
    steps_per_epoch = -(-len(x_train) // train_spec.batch_size)
    timer = EpochTimer(epochs)
    with keras.device(KERAS_DEVICES[device]):
        model = build_model(model_spec, train_spec.weight_decay)
        set_params(model, weights)
        model.compile(
            optimizer=build_optimizer(train_spec, steps_per_epoch),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(
            np.asarray(x_train, dtype=np.float32),
            np.asarray(y_train, dtype=np.int64),
            batch_size=train_spec.batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=[timer],
        )
    return timer.history
