"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``, on JAX.

The same code as the TensorFlow-backed Keras framework's idiomatic variant
(:mod:`mlpcompare.frameworks.keras_common.idiomatic`, which says where Keras' conveniences differ
from the tuned recipe): the backend changes what runs underneath, not what a user writes. On
JAX, ``fit`` batches the arrays with Keras' own data adapter (no ``tf.data`` on this backend) and
compiles its train step with ``jax.jit``. ``keras.utils.set_random_seed``, which the guides
use and this variant keeps, also seeds TensorFlow when TensorFlow is installed, so on such a
machine this variant's process loads it (start-up and memory, not the epochs' clock); the tuned
trainer seeds each generator itself and never does. :class:`mlpcompare.frameworks.keras_jax.Trainer` is the
tuned version (arrays made once, indexed by the shared permutation, the whole epoch in one
``lax.scan``, textbook Adam).
"""

from functools import partial

from mlpcompare.frameworks.keras_common.idiomatic import INFERENCE_API, LOSS_INCLUDES_PENALTY
from mlpcompare.frameworks.keras_common.idiomatic import fit as keras_fit

API = (
    "model.compile + model.fit(shuffle=True, validation_data) on the JAX backend, "
    "keras.optimizers.Adam/AdamW/SGD, LearningRateScheduler and EarlyStopping callbacks"
)
# Each Dropout seeded from the run's seed, as the tuned trainer builds the model.
fit = partial(keras_fit, seeded_dropout=True)

__all__ = ["API", "INFERENCE_API", "LOSS_INCLUDES_PENALTY", "fit"]
