"""Serving an exported model with ONNX Runtime, and checking it against the framework's own.

Framework-free (``onnxruntime`` and NumPy): every framework's ``model.onnx`` is run the same way,
on the CPU, with the job's threads, so the ``onnxruntime`` rows of the inference benchmark
compare the frameworks' exports and not the runtimes' settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from mlpcompare.logs import UserError
from mlpcompare.measuring import metrics

# How far ONNX Runtime's probabilities may be from the framework's own (float32 arithmetic in
# another order: measured differences are ~1e-7).
PROBA_TOLERANCE = 1e-5


class MismatchError(UserError):
    """The exported model's predictions are not the framework's: the export is wrong.

    A :class:`~mlpcompare.logs.UserError` so that the job stops with this one line: the
    deployer's question (does the export predict what the model does?) answered no."""


def session(path: str | os.PathLike, threads: int) -> ort.InferenceSession:
    """An ONNX Runtime CPU session for ``path`` with ``threads`` intra-op threads.

    One inter-op thread and sequential execution: an MLP is one chain of dependent nodes, so
    parallel branches do not exist, and extra threads would only compete for the job's cores.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(
        os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def runtime_version() -> str:
    return ort.__version__


def logits_call(sess: ort.InferenceSession) -> Callable[[np.ndarray], np.ndarray]:
    """The session as an inference API: float32 ``(n, n_in)`` in, logits ``(n, n_out)`` out."""
    input_name = sess.get_inputs()[0].name
    output_name = sess.get_outputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return sess.run([output_name], {input_name: x})[0]

    return run


@dataclass(frozen=True)
class Agreement:
    """ONNX Runtime's predictions against the framework's on the same inputs."""

    n: int
    classes_differing: int
    max_abs_proba_diff: float

    @property
    def ok(self) -> bool:
        return self.classes_differing == 0 and self.max_abs_proba_diff <= PROBA_TOLERANCE


def agreement(framework_logits: np.ndarray, onnx_logits: np.ndarray) -> Agreement:
    """Predicted classes and softmax probabilities of both, compared."""
    classes, proba = metrics.predictions(framework_logits)
    onnx_classes, onnx_proba = metrics.predictions(onnx_logits)
    return Agreement(
        n=len(classes),
        classes_differing=int(np.count_nonzero(classes != onnx_classes)),
        max_abs_proba_diff=float(np.max(np.abs(proba - onnx_proba), initial=0.0)),
    )


def check(result: Agreement, framework: str, path: str | os.PathLike) -> None:
    """Raise :class:`MismatchError` (one line) unless ``result`` is within tolerance."""
    if not result.ok:
        raise MismatchError(
            f"{path}: ONNX Runtime disagrees with {framework}: {result.classes_differing} of "
            f"{result.n} predicted classes differ, probabilities up to "
            f"{result.max_abs_proba_diff:.3g} apart (tolerance {PROBA_TOLERANCE:g})"
        )
