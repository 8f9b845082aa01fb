"""Serving a saved model: the :class:`Predictor` a benchmark times, and its ONNX export."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import numpy as np

from mlpcompare.frameworks.jax.canonical import canonical_from_params, params_from_canonical
from mlpcompare.frameworks.jax.model import Params, Stats, predict
from mlpcompare.frameworks.jax.trainer import EVAL_CHUNK
from mlpcompare.frameworks.jax_common.runtime import jax_device, resolve_device
from mlpcompare.io import read_npz
from mlpcompare.spec import ModelSpec


class Predictor:
    """A loaded model for inference: NumPy ``(n, n_in)`` in, float32 logits ``(n, n_out)`` out."""

    def __init__(self, params: Params, stats: Stats, model_spec: ModelSpec, device: jax.Device):
        self.params = params
        self.stats = stats
        self.device = device
        self.model_spec = model_spec
        self._apply = jax.jit(partial(predict, activation=model_spec.activation))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate(
            [self._jit_apply(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        )

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Named ways to run inference for the benchmark; each includes host -> device and back.

        The jitted predict is also JAX's serving path: compiled once per input shape (in the
        benchmark's warm-up), then one XLA call; there is no eager call to set beside it.
        """
        return {"jit_apply": self._jit_apply}

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path``; returns how. JAX has no ONNX exporter of its
        own: the graph is written with the ``onnx`` helpers from the canonical weights."""
        # Imported here: onnx takes ~0.2 s to import, which every training job would pay.
        from mlpcompare.serving import onnx_graph

        weights = canonical_from_params(self.params, self.stats)
        onnx_graph.write(weights, self.model_spec, path)
        return "onnx.helper graph from the canonical weights"

    def _jit_apply(self, x: np.ndarray) -> np.ndarray:
        x = jax.device_put(np.asarray(x, np.float32), self.device)
        logits = self._apply(self.params, self.stats, x)
        return np.asarray(logits)  # waits for the device and copies back: timings are complete


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load an .npz written by :meth:`Trainer.save`; never unpickles (``allow_pickle=False``).

    A file that is not such an .npz, or whose layers do not match ``model_spec``, raises
    ``ValueError`` naming the file.
    """
    target = jax_device(resolve_device(device))
    weights = read_npz(path)  # a file that is not an .npz of arrays: ValueError naming it
    try:
        params, stats = params_from_canonical(weights, model_spec, target)
    except ValueError as err:
        raise ValueError(f"{path} does not hold the {model_spec.layer_sizes} MLP: {err}") from err
    return Predictor(params, stats, model_spec, target)
