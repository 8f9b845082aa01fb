"""A model's ``.keras`` file: written atomically, read back in safe mode and checked.

The model is never compiled, so the file holds architecture and weights only (BatchNorm's moving
statistics are weights of its layer): no optimizer state and no custom objects, and it loads with
``safe_mode=True`` (no arbitrary code runs).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager

import keras
from keras.src.utils import module_utils

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
    # Keras insists on the suffix of the temporary file too.
    with atomic_path(path, suffix=".keras") as tmp, tensorflow_not_asked():
        model.save(tmp)


@contextlib.contextmanager
def tensorflow_not_asked() -> Iterator[None]:
    """Tell Keras that TensorFlow is absent unless this process imported it (while saving, or
    seeding with ``keras.utils.set_random_seed``).

    Keras' serializer asks whether TensorFlow is installed, importing it to find out (~6 s, the
    largest part of a Keras-on-JAX training job on digits), only to test whether a config value
    is a TensorFlow shape, dtype or type spec. In a process that never imported TensorFlow no
    value can be one, so "absent" gives the same file. The answer lives on Keras' lazy module
    (``keras.src.utils.module_utils.tensorflow``); where a Keras version lacks it, or the
    question was already answered, nothing changes (tests/test_keras_jax_mlp.py checks that
    TensorFlow stays out). ``set_random_seed`` asks the same question to seed TensorFlow's
    generator, which nothing on the JAX backend draws from."""
    lazy = getattr(module_utils, "tensorflow", None)
    if "tensorflow" in sys.modules or getattr(lazy, "_available", True) is not None:
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = None


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
