"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``, the same code
on every backend (the backend changes what runs underneath, not what a user writes).

``fit`` takes the arrays and decides the rest: it batches them and shuffles every epoch, compiles
its own train step, scores ``validation_data`` after each epoch, and uses Keras' own Adam, AdamW
(``exclude_from_weight_decay`` keeps biases and BatchNorm undecayed) or SGD. The recipe is
callbacks: ``LearningRateScheduler`` for the per-epoch rate,
``EarlyStopping(restore_best_weights=True)`` for the stop and the kept epoch; one more reads the
clock. Each framework's ``idiomatic`` module says what its backend runs underneath.

Where Keras' conveniences differ from the tuned recipe: its Adam adds epsilon to ``sqrt(v)``
rather than ``sqrt(v_hat)`` (an effective epsilon ``eps * sqrt(1 - beta2**t)``), its SGD velocity
carries the rate (the same steps as torch's at a constant rate, not across a decay), and the
``val_loss`` that ``fit`` reports, and ``monitor: val_loss`` watches, includes the kernels' L2
terms as its training loss does.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from mlpcompare.frameworks.keras_common.model import build_model, set_params
from mlpcompare.frameworks.keras_common.optim import l2_penalty
from mlpcompare.frameworks.keras_common.serving import (
    KERAS_DEVICES,
    save_model,
    tensorflow_not_asked,
)
from mlpcompare.spec import TrainSpec
from mlpcompare.training.loop import FitResult

INFERENCE_API = "predict"  # model.predict(x)
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


def fit(
    model_spec, train_spec, weights, data, *, seed, device, model_path, seeded_dropout
) -> FitResult:
    """Train with the full recipe; write the restored best epoch's model to ``model_path``.

    ``seeded_dropout``: build the model as the framework's tuned trainer does, each Dropout layer
    seeded from ``seed`` (:func:`.model.build_model`), or drawing from Keras' global seed
    generator, which ``set_random_seed`` seeds here.
    """
    # fit's shuffling and the dropout masks. It also seeds TensorFlow where TensorFlow is
    # installed, importing it to ask (~6 s); on the JAX backend, in a process that never
    # imported it, nothing here uses it, so the variant starts as on a machine with JAX alone.
    with tensorflow_not_asked():
        keras.utils.set_random_seed(seed)
    clock = EpochClock()
    stopper = keras.callbacks.EarlyStopping(
        monitor=train_spec.monitor,
        mode="max" if train_spec.monitor == "val_accuracy" else "min",
        # patience 0 means "never stop" in the recipe, but "stop at once" to Keras.
        patience=train_spec.patience or train_spec.epochs,
        restore_best_weights=True,
    )
    with keras.device(KERAS_DEVICES[device]):
        model = build_model(model_spec, l2_penalty(train_spec), seed if seeded_dropout else None)
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
        save_model(model, model_path)
    logs = history.history
    result = FitResult(best_epoch=stopper.best_epoch + 1, stopped_early=stopper.stopped_epoch > 0)
    for i, seconds in enumerate(clock.seconds):
        result.history.append({
            "epoch": i + 1, "lr": train_spec.lr_at(i), "train_loss": logs["loss"][i],
            "train_accuracy": logs["accuracy"][i], "val_loss": logs["val_loss"][i],
            "val_accuracy": logs["val_accuracy"][i], "epoch_seconds": seconds,
        })  # fmt: skip
    return result
