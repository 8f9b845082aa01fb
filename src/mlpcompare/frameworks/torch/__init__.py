"""The MLP in PyTorch, in the style of pytorch/examples ``mnist/main.py``.

Read in this order: :mod:`.dropout` (inverted dropout from raw random integers), :mod:`.model`
(the ``nn.Module`` and its BatchNorm), :mod:`.optim` (SGD, Adam and AdamW, and how weight decay
maps onto them), :mod:`.trainer` (the training front end), :mod:`.serving` (a saved model for
inference, and its ONNX export) and :mod:`.runtime` (threads and device). :mod:`.idiomatic` is
the same network trained the way the PyTorch examples teach.
"""

from mlpcompare.frameworks.torch.dropout import Dropout
from mlpcompare.frameworks.torch.model import MLP, BatchNorm
from mlpcompare.frameworks.torch.optim import build_optimizer
from mlpcompare.frameworks.torch.runtime import (
    configure_threads,
    environment,
    resolve_device,
    step_products,
)
from mlpcompare.frameworks.torch.serving import Predictor, load_model
from mlpcompare.frameworks.torch.trainer import Trainer, evaluate, predict

__all__ = [
    "MLP",
    "BatchNorm",
    "Dropout",
    "Predictor",
    "Trainer",
    "build_optimizer",
    "configure_threads",
    "environment",
    "evaluate",
    "load_model",
    "predict",
    "resolve_device",
    "step_products",
]
