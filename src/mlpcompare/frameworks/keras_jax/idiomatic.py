"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``, on JAX.

The same code as the TensorFlow-backed Keras framework's idiomatic variant: the backend changes
what runs underneath, not what a user writes. ``fit`` takes the arrays and decides the rest: it
batches them with Keras' own data adapter (no ``tf.data`` on this backend), shuffles every epoch,
compiles its train step with ``jax.jit``, scores ``validation_data`` after each epoch, and uses
Keras' own Adam, AdamW (``exclude_from_weight_decay`` keeps biases and BatchNorm undecayed) or
SGD. The recipe is callbacks: ``LearningRateScheduler`` for the per-epoch rate,
``EarlyStopping(restore_best_weights=True)`` for the stop and the kept epoch; one more reads the
clock. :class:`mlpcompare.frameworks.keras_jax.Trainer` is the tuned version (arrays made once,
indexed by the shared permutation, the whole epoch in one ``lax.scan``, textbook Adam).

Where Keras' conveniences differ from the tuned recipe: its Adam adds epsilon to ``sqrt(v)``
rather than ``sqrt(v_hat)``, its SGD velocity carries the rate, and the ``val_loss`` that ``fit``
reports, and ``monitor: val_loss`` watches, includes the kernels' L2 terms.
"""

from __future__ import annotations

import logging
import time

# First: the package selects the JAX backend before anything imports Keras.
from mlpcompare.frameworks.keras_jax.model import build_model, set_params  # isort: skip
from mlpcompare.frameworks.keras_jax.optim import l2_penalty  # isort: skip

import keras
import numpy as np

from mlpcompare.io import atomic_path
from mlpcompare.spec import TrainSpec
from mlpcompare.training.loop import FitResult

API = (
    "model.compile + model.fit(shuffle=True, validation_data) on the JAX backend, "
    "keras.optimizers.Adam/AdamW/SGD, LearningRateScheduler and EarlyStopping callbacks"
)
INFERENCE_API = "predict"  # model.predict(x)
KERAS_DEVICES = {"cpu": "cpu:0", "cuda": "gpu:0"}
log = logging.getLogger(__name__)
# The loss fit reports includes the L2 penalty (the kernel regularisers' losses).
LOSS_INCLUDES_PENALTY = True


class EpochClock(keras.callbacks.Callback):
    """Each epoch's training time: from its start to the start of its validation pass."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        # Reading a variable the steps wrote waits for them (they may still be queued on a GPU).
        self.model.optimizer.iterations.numpy()
        self.seconds.append(time.perf_counter() - self._start)


def build_optimizer(train_spec: TrainSpec, model: keras.Model) -> keras.optimizers.Optimizer:
    """Keras' own SGD, Adam or AdamW (decaying the Dense kernels only); the rate is the
    LearningRateScheduler's."""
    if train_spec.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=train_spec.lr, momentum=train_spec.momentum)
    adam = {"learning_rate": train_spec.lr, "beta_1": train_spec.beta1,
            "beta_2": train_spec.beta2, "epsilon": train_spec.eps}  # fmt: skip
    if train_spec.optimizer == "adam":
        return keras.optimizers.Adam(**adam)
    optimizer = keras.optimizers.AdamW(weight_decay=train_spec.weight_decay, **adam)
    kernels = {id(layer.kernel) for layer in model.layers if isinstance(layer, keras.layers.Dense)}
    optimizer.exclude_from_weight_decay(
        var_list=[v for v in model.trainable_variables if id(v) not in kernels]
    )
    return optimizer


def fit(model_spec, train_spec, weights, data, *, seed, device, model_path) -> FitResult:
    """Train with the full recipe; write the restored best epoch's model to ``model_path``."""
    keras.utils.set_random_seed(seed)  # fit's shuffling and the dropout masks
    clock = EpochClock()
    stopper = keras.callbacks.EarlyStopping(
        monitor=train_spec.monitor,
        mode="max" if train_spec.monitor == "val_accuracy" else "min",
        # patience 0 means "never stop" in the recipe, but "stop at once" to Keras.
        patience=train_spec.patience or train_spec.epochs,
        restore_best_weights=True,
    )
    with keras.device(KERAS_DEVICES[device]):
        model = build_model(model_spec, l2_penalty(train_spec), seed)
        set_params(model, weights)
        model.compile(
            optimizer=build_optimizer(train_spec, model),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        history = model.fit(
            np.asarray(data["x_train"], dtype=np.float32),
            np.asarray(data["y_train"], dtype=np.int64),
            batch_size=train_spec.batch_size,
            epochs=train_spec.epochs,
            validation_data=(
                np.asarray(data["x_val"], dtype=np.float32),
                np.asarray(data["y_val"], dtype=np.int64),
            ),
            shuffle=True,
            verbose=0,
            callbacks=[keras.callbacks.LearningRateScheduler(train_spec.lr_at), stopper, clock],
        )
        with atomic_path(model_path, suffix=".keras") as tmp:  # Keras insists on the suffix
            model.save(tmp)
    logs = history.history
    result = FitResult(best_epoch=stopper.best_epoch + 1, stopped_early=stopper.stopped_epoch > 0)
    for i, seconds in enumerate(clock.seconds):
        result.history.append({
            "epoch": i + 1, "lr": train_spec.lr_at(i), "train_loss": logs["loss"][i],
            "train_accuracy": logs["accuracy"][i], "val_loss": logs["val_loss"][i],
            "val_accuracy": logs["val_accuracy"][i], "epoch_seconds": seconds,
        })  # fmt: skip
    return result
