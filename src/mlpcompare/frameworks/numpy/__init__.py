"""The MLP written from scratch in NumPy: the reference the frameworks are compared against.

Read in this order: :mod:`.layers` (forward and backward of each layer), :mod:`.losses`
(softmax cross-entropy), :mod:`.model` (the layers chained), :mod:`.optim` (SGD, Adam and AdamW),
:mod:`.trainer` (the training front end) and :mod:`.runtime` (threads and device).
"""

from mlpcompare.frameworks.numpy.runtime import (
    configure_threads,
    environment,
    resolve_device,
    step_products,
)
from mlpcompare.frameworks.numpy.trainer import Trainer, load_model

__all__ = [
    "Trainer",
    "configure_threads",
    "environment",
    "load_model",
    "resolve_device",
    "step_products",
]
