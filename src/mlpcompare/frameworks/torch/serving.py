"""Serving a saved model: the :class:`Predictor` a benchmark times, and its ONNX export."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import numpy as np
import torch

from mlpcompare.frameworks.torch.model import MLP
from mlpcompare.frameworks.torch.runtime import resolve_device
from mlpcompare.frameworks.torch.trainer import predict
from mlpcompare.io import atomic_path
from mlpcompare.spec import ModelSpec

# Loggers of torch.onnx.export and the ONNX libraries it drives, and the least level they log.
QUIET_EXPORT_LOGGERS = {
    "torch.onnx._internal.exporter._registration": logging.ERROR,
    "onnx_ir": logging.WARNING,
    "onnxscript": logging.WARNING,
}


class Predictor:
    """A loaded model for inference: NumPy ``(n, n_in)`` in, float32 logits ``(n, n_out)`` out."""

    def __init__(self, model: MLP, device: str):
        self.model = model.eval()
        self.device = torch.device(device)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        return predict(self.model, x).cpu().numpy()

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Named ways to run inference for the benchmark; each includes host -> device and back.

        ``inference_mode`` is the serving path: no autograd bookkeeping at all (no version
        counters or views tracked), where ``no_grad`` only stops recording. ``torch.compile`` is
        not offered: on the CPU it took ~37 s to compile this MLP and was slower afterwards
        (15 ms against 0.14 ms at batch 1, 0.59 against 0.47 ms at 256, measured on 2 cores).
        """
        return {
            "module_call_no_grad": self._module_call_no_grad,
            "inference_mode": self._inference_mode,
        }

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path`` with ``torch.onnx.export``; returns how.

        The ``torch.export``-based exporter (torch's default; the TorchScript one is deprecated
        and to be removed), from a CPU copy: ONNX Runtime serves it on the CPU. The batch
        dimension is dynamic, so one file serves every batch size.
        """
        # The exporter's own chatter, kept out of the job's log: a warning per torchvision
        # operator it cannot register (no MLP uses one) and its optimiser passes at INFO.
        for name, level in QUIET_EXPORT_LOGGERS.items():
            logging.getLogger(name).setLevel(level)
        model = copy.deepcopy(self.model).cpu().eval()
        # Two rows: torch.export specialises a dimension of size 0 or 1 to a constant.
        example = (torch.zeros(2, model.linears()[0].in_features),)
        program = torch.onnx.export(
            model,
            example,
            dynamo=True,
            input_names=["x"],
            output_names=["logits"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
        with atomic_path(path, suffix=".onnx") as tmp:
            program.save(str(tmp), external_data=False)  # one file, weights inside
        return "torch.onnx.export(dynamo=True)"

    def _module_call_no_grad(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return logits.cpu().numpy()  # .cpu() waits for the device, so timings are complete

    def _inference_mode(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return logits.cpu().numpy()


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load a state dict written by :meth:`Trainer.save`.

    ``weights_only=True`` restricts unpickling to tensors and plain containers, so a crafted
    file cannot run code; anything else is refused with ``pickle.UnpicklingError``.
    """
    device = resolve_device(device)
    model = MLP(model_spec)
    model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return Predictor(model.to(device), device)
