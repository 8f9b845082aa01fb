"""A model's ``.keras`` file: written atomically, read back in safe mode and checked.

The model is never compiled, so the file holds architecture and weights only (BatchNorm's moving
statistics are weights of its layer): no optimizer state and no custom objects, and it loads with
``safe_mode=True`` (no arbitrary code runs).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import keras

from mlpcompare.frameworks.keras_common.model import batch_norm_layers, dense_layers
from mlpcompare.io import atomic_path
from mlpcompare.spec import ModelSpec

# The device ``keras.device`` places a model on, by the workflow's device name.
KERAS_DEVICES = {"cpu": "cpu:0", "cuda": "gpu:0"}


def save_model(model: keras.Sequential, path: str) -> None:
    """Write ``model`` to ``path``, a ``.keras`` file, atomically (temp file in the same folder,
    then rename)."""
    if not str(path).endswith(".keras"):
        raise ValueError(f"a Keras model file must end with .keras, got {path!r}")
    with atomic_path(path, suffix=".keras") as tmp:  # Keras insists on the suffix
        model.save(tmp)


def load_checked(
    path: str, model_spec: ModelSpec, placement: AbstractContextManager
) -> keras.Sequential:
    """The model of the file at ``path``, loaded within ``placement`` (the backend's device
    scope), after checking it is the network ``model_spec`` describes."""
    with placement:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    sizes = [model.input_shape[-1], *(d.units for d in dense_layers(model))]
    if sizes != model_spec.layer_sizes:
        raise ValueError(f"{path} has layer sizes {sizes}, expected {model_spec.layer_sizes}")
    if bool(batch_norm_layers(model)) != model_spec.batch_norm:
        raise ValueError(f"{path} does not match batch_norm={model_spec.batch_norm}")
    return model
