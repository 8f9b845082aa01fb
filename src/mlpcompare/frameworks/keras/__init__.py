"""The MLP in Keras 3 on the TensorFlow backend.

Read in this order: the model (a plain ``keras.Sequential`` of ``Dense`` layers and its canonical
parameters) in :mod:`mlpcompare.frameworks.keras_common.model`, the same on either backend;
:mod:`.optim` (Adam and SGD in the textbook forms every framework uses, as TensorFlow's fused
kernels), :mod:`.trainer` (a custom training step rather than ``model.fit``: the shared
permutation decides the batches), :mod:`.serving` (a saved model for inference, and its ONNX
export) and :mod:`.runtime` (threads and device). :mod:`.idiomatic` is the same network trained
the way the Keras guides teach.
"""

from mlpcompare import frameworks

# Backend, logging and CPU kernels are read once, when TensorFlow and Keras are first imported:
# the registry's import_environment for Keras (frameworks.yaml, where each is explained). Set
# here, before any module of this package, or of keras_common, imports them.
frameworks.get("keras").set_import_environment()

from mlpcompare.frameworks.keras.optim import HeavyBallSGD, TextbookAdam, build_optimizer  # noqa: E402
from mlpcompare.frameworks.keras.runtime import (  # noqa: E402
    configure_threads,
    environment,
    resolve_device,
    step_products,
)
from mlpcompare.frameworks.keras.serving import Predictor, load_model, serving_function  # noqa: E402
from mlpcompare.frameworks.keras.trainer import Trainer  # noqa: E402
from mlpcompare.frameworks.keras_common.model import build_model, get_params, set_params  # noqa: E402
from mlpcompare.frameworks.keras_common.optim import l2_penalty  # noqa: E402

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
    "serving_function",
    "set_params",
    "step_products",
]
