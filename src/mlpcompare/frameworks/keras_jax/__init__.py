"""The MLP in Keras 3 on the JAX backend: Keras layers, JAX's compiler.

Read in this order: :mod:`.runtime` (the backend check, matmul precision and the run's record;
threads and device are :mod:`mlpcompare.frameworks.jax_common.runtime`'s, shared with the JAX
framework), then what it shares with the TensorFlow-backed Keras framework,
:mod:`mlpcompare.frameworks.keras_common`: the model (a plain ``keras.Sequential`` of ``Dense``
layers and its canonical parameters) and the optimizers (Adam and SGD in the textbook forms every
framework uses, written in ``keras.ops``); then :mod:`.trainer` (``model.stateless_call`` and
``optimizer.stateless_apply`` in one ``jax.jit`` step, an epoch's full batches in one
``lax.scan``) and :mod:`.serving` (a saved model for inference, and its ONNX export).
:mod:`.idiomatic` is the same network trained the way the Keras guides teach. Only Keras and JAX
are imported: this runs where TensorFlow is not installed.
"""

import os
import sys

from mlpcompare import frameworks

# Keras fixes its backend when it is first imported in a process. Set here, before any module of
# this package, or of keras_common, imports it, and forced rather than defaulted: a KERAS_BACKEND
# left in the environment (by a shell, or by the TensorFlow-backed Keras framework in a parent
# process) must not turn this framework into another one. runtime.py refuses a Keras imported
# earlier otherwise.
if "keras" not in sys.modules:
    os.environ.update(frameworks.get("keras-jax").import_environment)

from mlpcompare.frameworks.jax_common.runtime import configure_threads, resolve_device  # noqa: E402
from mlpcompare.frameworks.keras_common.model import build_model, get_params, set_params  # noqa: E402
from mlpcompare.frameworks.keras_common.optim import (  # noqa: E402
    HeavyBallSGD,
    TextbookAdam,
    build_optimizer,
    l2_penalty,
)
from mlpcompare.frameworks.keras_jax.runtime import environment, step_products  # noqa: E402
from mlpcompare.frameworks.keras_jax.serving import Predictor, load_model  # noqa: E402
from mlpcompare.frameworks.keras_jax.trainer import Trainer  # noqa: E402

__all__ = [
    "HeavyBallSGD",
    "Predictor",
    "TextbookAdam",
    "Trainer",
    "build_model",
    "build_optimizer",
    "configure_threads",
    "environment",
    "get_params",
    "l2_penalty",
    "load_model",
    "resolve_device",
    "set_params",
    "step_products",
]
