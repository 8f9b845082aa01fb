"""Serving a saved model: the :class:`Predictor` a benchmark times, and its ONNX export."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mlpcompare.frameworks.keras.runtime import TF_DEVICES, resolve_device
from mlpcompare.frameworks.keras.trainer import chunked_logits
from mlpcompare.frameworks.keras_common.serving import load_checked
from mlpcompare.io import atomic_path
from mlpcompare.spec import ModelSpec


class Predictor:
    """A loaded model: ``predict_logits`` and the inference APIs a benchmark times."""

    def __init__(self, model: keras.Sequential, device: str, model_spec: ModelSpec):
        self.model = model
        self.model_spec = model_spec
        self._tf_device = TF_DEVICES[device]
        self._serve = serving_function(model, model_spec.n_in)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out) float32, inference mode."""
        with tf.device(self._tf_device):
            return chunked_logits(self.model, x)

    def inference_apis(self) -> dict:
        """Named ways to get logits from an (n, n_in) array, each returning NumPy."""

        def direct_call(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self.model(x, training=False).numpy()

        def predict(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self.model.predict(x, batch_size=len(x), verbose=0)

        def tf_function(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self._serve(x).numpy()

        return {"direct_call": direct_call, "predict": predict, "tf_function": tf_function}

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path`` with Keras' own exporter; returns how.

        ``model.export(format="onnx")`` traces the inference-mode call and converts it with
        ``tf2onnx`` on the TensorFlow backend. It refuses a model that was never called, which a
        model loaded from its file may be: one call on a zero row builds the call first.
        """
        with tf.device(self._tf_device):
            self.model(np.zeros((1, self.model_spec.n_in), dtype=np.float32), training=False)
            with atomic_path(path, suffix=".onnx") as tmp:
                self.model.export(str(tmp), format="onnx", verbose=False)
        return "keras model.export(format='onnx') via tf2onnx"


def serving_function(model: keras.Sequential, n_in: int) -> tf.types.experimental.Function:
    """``model`` in inference mode as a compiled ``tf.function``: what a deployer serves.

    Eager ``model(x)`` pays ~9 ms of Python and dispatch per call at batch 1; traced once for
    any batch size (the signature's ``None``), a call is one graph execution, as the serving
    signature of ``model.export`` would run it.
    """
    signature = [tf.TensorSpec(shape=(None, n_in), dtype=tf.float32)]
    return tf.function(lambda x: model(x, training=False), input_signature=signature)


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load a file written by :meth:`Trainer.save` (safe mode: no arbitrary code runs)."""
    device = resolve_device(device)
    model = load_checked(path, model_spec, tf.device(TF_DEVICES[device]))
    return Predictor(model, device, model_spec)
