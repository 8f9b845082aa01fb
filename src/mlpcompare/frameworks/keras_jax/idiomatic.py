"""The MLP trained the way the Keras 3 guides do: ``model.compile`` + ``model.fit``, on JAX.

The same code as the TensorFlow-backed Keras framework's idiomatic variant
(:mod:`mlpcompare.frameworks.keras_common.idiomatic`, which says where Keras' conveniences differ
from the tuned recipe): the backend changes what runs underneath, not what a user writes. On
JAX, ``fit`` batches the arrays with Keras' own data adapter (no ``tf.data`` on this backend) and
compiles its train step with ``jax.jit``. ``keras.utils.set_random_seed``, which the guides
use and this variant keeps, would also import TensorFlow where it is installed, only to seed it;
nothing on the JAX backend draws from it, so the variant is told TensorFlow is absent there
(:func:`~mlpcompare.frameworks.keras_common.serving.tensorflow_not_asked`) and starts, and takes
memory, as on a machine with JAX alone (its environment, ``envs/keras-jax.yaml``).
:class:`mlpcompare.frameworks.keras_jax.Trainer` is the tuned version (arrays made once, indexed
by the shared permutation, the whole epoch in one ``lax.scan``, textbook Adam).
"""

from mlpcompare.frameworks.jax_common.runtime import compile_afresh
from mlpcompare.frameworks.keras_common.idiomatic import INFERENCE_API, LOSS_INCLUDES_PENALTY
from mlpcompare.frameworks.keras_common.idiomatic import fit as keras_fit
from mlpcompare.training.loop import FitResult

API = (
    "model.compile + model.fit(shuffle=True, validation_data) on the JAX backend, "
    "keras.optimizers.Adam/AdamW/SGD, LearningRateScheduler and EarlyStopping callbacks"
)


def fit(model_spec, train_spec, weights, data, *, seed, device, model_path) -> FitResult:
    """Keras' ``fit`` path (keras_common.idiomatic.fit), each Dropout seeded from the run's seed
    as the tuned trainer builds the model, compiling afresh as a new user's first run does."""
    compile_afresh()
    return keras_fit(model_spec, train_spec, weights, data, seed=seed, device=device,
                     model_path=model_path, seeded_dropout=True)  # fmt: skip


__all__ = ["API", "INFERENCE_API", "LOSS_INCLUDES_PENALTY", "fit"]
