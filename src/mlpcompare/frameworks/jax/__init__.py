"""The MLP in JAX with optax, in the style of jax-ml/jax ``mnist_classifier_fromscratch.py``.

Read in this order: :mod:`.model` (the parameter pytree and the pure functions ``forward`` and
``loss``), :mod:`.optim` (the optax chain and how weight decay maps onto it), :mod:`.canonical`
(canonical dicts <-> the pytrees, at the edges), :mod:`.trainer` (the jitted step, an epoch in one
``lax.scan``, and the training front end), :mod:`.serving` (a saved model for inference, and its
ONNX export) and :mod:`.runtime` (matmul precision and the run's record; threads and device are
:mod:`mlpcompare.frameworks.jax_common.runtime`'s, shared with Keras on JAX). :mod:`.idiomatic`
is the same network trained the way the JAX and optax documentation teach.
"""

from mlpcompare.frameworks.jax.canonical import canonical_from_params, params_from_canonical
from mlpcompare.frameworks.jax.model import batch_norm, dropout, forward, loss, penalty, predict
from mlpcompare.frameworks.jax.optim import optimizer, weight_matrices
from mlpcompare.frameworks.jax.runtime import environment, step_products
from mlpcompare.frameworks.jax.serving import Predictor, load_model
from mlpcompare.frameworks.jax.trainer import Trainer, update
from mlpcompare.frameworks.jax_common.runtime import configure_threads, resolve_device

__all__ = [
    "Predictor",
    "Trainer",
    "batch_norm",
    "canonical_from_params",
    "configure_threads",
    "dropout",
    "environment",
    "forward",
    "load_model",
    "loss",
    "optimizer",
    "params_from_canonical",
    "penalty",
    "predict",
    "resolve_device",
    "step_products",
    "update",
    "weight_matrices",
]
