"""Serving a saved model: the :class:`Predictor` a benchmark times, and its ONNX export."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import keras
import numpy as np

from mlpcompare.frameworks.jax_common.runtime import jax_device, resolve_device
from mlpcompare.frameworks.keras_common.model import get_params
from mlpcompare.frameworks.keras_common.serving import KERAS_DEVICES, load_checked
from mlpcompare.frameworks.keras_jax.trainer import EVAL_CHUNK, inference_logits, values
from mlpcompare.spec import ModelSpec


class Predictor:
    """A loaded model for inference: NumPy ``(n, n_in)`` in, float32 logits ``(n, n_out)`` out."""

    def __init__(self, model: keras.Sequential, model_spec: ModelSpec, device: str):
        self.model = model
        self.model_spec = model_spec
        self._keras_device = KERAS_DEVICES[device]
        self._device = jax_device(device)
        self._variables = (values(model.trainable_variables, self._device),
                           values(model.non_trainable_variables, self._device))  # fmt: skip
        self._serve = jax.jit(partial(inference_logits, model))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out) float32, inference mode, ``EVAL_CHUNK`` rows at a time."""
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate(
            [self._jit_stateless(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        )

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Named ways to get logits from an (n, n_in) array, each returning NumPy.

        ``direct_call`` is Keras' eager ``model(x)`` (op by op on this backend), ``predict``
        Keras' own compiled predict loop, ``jit_stateless`` the serving path a JAX deployer
        writes: ``model.stateless_call`` compiled once per input shape by ``jax.jit``.
        """

        def direct_call(x: np.ndarray) -> np.ndarray:
            with keras.device(self._keras_device):
                return np.asarray(self.model(np.asarray(x, np.float32), training=False))

        def predict(x: np.ndarray) -> np.ndarray:
            with keras.device(self._keras_device):
                return self.model.predict(np.asarray(x, np.float32), batch_size=len(x), verbose=0)

        return {"direct_call": direct_call, "predict": predict,
                "jit_stateless": self._jit_stateless}  # fmt: skip

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path``; returns how.

        Keras' ``model.export(format="onnx")`` converts a JAX-backed model with ``jax2onnx``, a
        package outside this environment (on the TensorFlow backend it uses tf2onnx); as for the
        JAX framework, the graph is written with the ``onnx`` helpers from the canonical weights.
        """
        # Imported here: onnx takes ~0.2 s to import, which every training job would pay.
        from mlpcompare.serving import onnx_graph

        onnx_graph.write(get_params(self.model), self.model_spec, path)
        return "onnx.helper graph from the canonical weights"

    def _jit_stateless(self, x: np.ndarray) -> np.ndarray:
        x = jax.device_put(np.asarray(x, np.float32), self._device)
        return np.asarray(
            self._serve(*self._variables, x)
        )  # waits for the device: timings complete


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load a file written by :meth:`Trainer.save` (safe mode: no arbitrary code runs)."""
    device = resolve_device(device)
    model = load_checked(path, model_spec, keras.device(KERAS_DEVICES[device]))
    return Predictor(model, model_spec, device)
