"""Training and inference front end: the ``Trainer`` that :func:`mlpcompare.training.loop.fit` drives."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mlpcompare.frameworks.numpy.losses import l2_penalty, softmax_cross_entropy
from mlpcompare.frameworks.numpy.model import MLP
from mlpcompare.frameworks.numpy.optim import make_optimizer
from mlpcompare.frameworks.numpy.runtime import resolve_device
from mlpcompare.io import read_npz, write_npz
from mlpcompare.spec import DECOUPLED_DECAY, ModelSpec, TrainSpec, batches


class Trainer:
    """Trains an :class:`MLP` in float32 with the shared batch order; arrays in and out are NumPy.

    weights : initial parameters, canonical layout. seed : seeds the dropout masks.
    """

    def __init__(
        self,
        model_spec: ModelSpec,
        train_spec: TrainSpec,
        weights: dict[str, np.ndarray],
        x_train: np.ndarray,
        y_train: np.ndarray,
        *,
        seed: int,
        device: str,
    ):
        resolve_device(device)
        self.train_spec = train_spec
        weights32 = {name: np.asarray(w, dtype=np.float32) for name, w in weights.items()}
        self.model = MLP(model_spec, weights32, rng=np.random.default_rng(seed))
        self.optimizer = make_optimizer(train_spec, self.model.flat_params)
        # The L2 penalty the reported loss includes: none where the decay is decoupled (AdamW).
        coupled = train_spec.optimizer not in DECOUPLED_DECAY
        self.loss_weight_decay = train_spec.weight_decay if coupled else 0.0
        # Converted once; each batch is then gathered from these arrays into reused buffers.
        self.x_train = np.ascontiguousarray(x_train, dtype=np.float32)
        self.y_train = np.asarray(y_train, dtype=np.int64)
        self._xb = np.empty((train_spec.batch_size, self.x_train.shape[1]), np.float32)
        self._yb = np.empty(train_spec.batch_size, np.int64)

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One optimizer step on one batch; returns its loss before the step (CE, plus the L2
        penalty unless the weight decay is decoupled)."""
        loss, _ = self._train_batch(np.asarray(xb, dtype=np.float32), np.asarray(yb), lr)
        return loss

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """All batches of ``order``; sample-weighted mean loss (as :meth:`step`) and accuracy."""
        loss_sum, n_correct = 0.0, 0
        for idx in batches(order, self.train_spec.batch_size):
            # mode="clip": with the default "raise", take copies through a temporary array.
            xb = np.take(self.x_train, idx, axis=0, out=self._xb[: len(idx)], mode="clip")
            yb = np.take(self.y_train, idx, out=self._yb[: len(idx)], mode="clip")
            loss, correct = self._train_batch(xb, yb, lr)
            loss_sum += loss * len(idx)
            n_correct += correct
        return loss_sum / len(order), n_correct / len(order)

    def _train_batch(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> tuple[float, int]:
        """Forward, backward, update. Loss and number correct are measured before the update."""
        logits = self.model.forward(xb, training=True)
        loss, dlogits = softmax_cross_entropy(logits, yb)
        # The penalty is computed here only to report it; its gradient is added by the optimizer.
        loss += l2_penalty(self.model.params, self.loss_weight_decay)
        n_correct = int(np.count_nonzero(logits.argmax(axis=1) == yb))
        self.model.backward(dlogits)
        self.optimizer.step(self.model.flat_grads, lr)
        return loss, n_correct

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self.predict_logits(x)
        loss, _ = softmax_cross_entropy(logits, y)
        return loss, float(np.mean(logits.argmax(axis=1) == y))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out), float32, inference mode (no dropout, BatchNorm's running stats)."""
        return self.model.forward(np.asarray(x, dtype=np.float32), training=False)

    def get_weights(self) -> dict[str, np.ndarray]:
        return self.model.get_params()

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        self.model.set_params(params)

    def save(self, path: str) -> None:
        """Write every canonical array (BatchNorm's running statistics included) as an .npz of
        plain arrays, atomically."""
        write_npz(self.model.get_params(), path, compressed=False)


class LoadedModel:
    """A saved MLP ready for inference."""

    def __init__(self, model: MLP):
        self.model = model

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out), float32."""
        return self.model.forward(np.asarray(x, dtype=np.float32), training=False)

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """The ways to run inference a benchmark times: NumPy has just the forward pass, which
        is also how it would serve."""
        return {"forward": self.predict_logits}

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path``; returns how. NumPy has no exporter: the graph is
        written with the ``onnx`` helpers from the canonical weights."""
        # Imported here: onnx takes ~0.2 s to import, which every training job would pay.
        from mlpcompare.serving import onnx_graph

        onnx_graph.write(self.model.get_params(), self.model.spec, path)
        return "onnx.helper graph from the canonical weights"


def load_model(path: str, model_spec: ModelSpec, device: str) -> LoadedModel:
    """Load a model written by :meth:`Trainer.save`; never unpickles (object arrays are refused)."""
    resolve_device(device)
    return LoadedModel(MLP(model_spec, read_npz(path)))
