"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``.

The code is the same on every backend (:mod:`mlpcompare.frameworks.keras_common.idiomatic`, which
says where Keras' conveniences differ from the tuned recipe). On TensorFlow, ``fit`` wraps the
arrays in a ``tf.data`` pipeline and compiles its train step as a ``tf.function``.
:class:`mlpcompare.frameworks.keras.Trainer` is the tuned version (tensors made once, indexed by
the shared permutation, the whole epoch in one ``tf.function``, textbook Adam).
"""

from functools import partial

from mlpcompare.frameworks.keras_common.idiomatic import INFERENCE_API, LOSS_INCLUDES_PENALTY
from mlpcompare.frameworks.keras_common.idiomatic import fit as keras_fit

API = (
    "model.compile + model.fit(shuffle=True, validation_data), keras.optimizers.Adam/AdamW/SGD, "
    "LearningRateScheduler and EarlyStopping(restore_best_weights) callbacks"
)
# Dropout draws from Keras' global seed generator, as in the tuned trainer.
fit = partial(keras_fit, seeded_dropout=False)

__all__ = ["API", "INFERENCE_API", "LOSS_INCLUDES_PENALTY", "fit"]
