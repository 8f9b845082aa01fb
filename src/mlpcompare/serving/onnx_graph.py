"""The MLP as an ONNX graph, written with the ``onnx`` helpers from canonical weights.

Framework-free (``onnx`` and NumPy only): the NumPy and JAX models have no exporter of their own
(PyTorch and Keras use theirs). The graph is the inference-mode network
of :mod:`mlpcompare.spec`: per hidden layer ``Gemm`` (``x @ W + b``, W in the canonical
``(n_in, n_out)`` layout), ``BatchNormalization`` with the running statistics and ``BN_EPS``
when the spec has BatchNorm, then the activation; dropout is off at inference, so it has no
node. Input ``x`` ``(batch, n_in)`` float32, output ``logits`` ``(batch, n_out)``.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from mlpcompare.io import atomic_path
from mlpcompare.spec import BN_EPS, BN_PARAMS, BN_STATS, ModelSpec

# Opset 17 has every operator used here in its current form, and every ONNX Runtime since 1.12
# runs it: a deployer's runtime need not be the newest.
OPSET = 17
INPUT_NAME = "x"
OUTPUT_NAME = "logits"
_ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def from_canonical(weights: dict[str, np.ndarray], spec: ModelSpec) -> onnx.ModelProto:
    """The inference-mode graph of ``spec`` with ``weights`` (canonical dict) as initialisers."""
    nodes, initialisers = [], []
    current = INPUT_NAME
    for i in range(spec.n_layers):
        is_output = i == spec.n_layers - 1
        gemm_out = OUTPUT_NAME if is_output else f"linear{i}"
        initialisers += _initialisers(weights, [f"W{i}", f"b{i}"])
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [gemm_out]))
        current = gemm_out
        if is_output:
            break
        if spec.batch_norm:
            names = [f"{name}{i}" for name in BN_PARAMS + BN_STATS]  # ONNX's input order
            initialisers += _initialisers(weights, names)
            nodes.append(
                helper.make_node(
                    "BatchNormalization", [current, *names], [f"norm{i}"], epsilon=BN_EPS
                )
            )
            current = f"norm{i}"
        op = _ACTIVATION_OPS[spec.activation]
        nodes.append(helper.make_node(op, [current], [f"hidden{i}"]))
        current = f"hidden{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", spec.n_in])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", spec.n_out])],
        initialisers,
    )
    model = helper.make_model_gen_version(
        graph, producer_name="mlpcompare", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _initialisers(weights: dict[str, np.ndarray], names: list[str]) -> list[onnx.TensorProto]:
    return [
        numpy_helper.from_array(np.asarray(weights[name], dtype=np.float32), name) for name in names
    ]


def save(model: onnx.ModelProto, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically, weights inside the one file."""
    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save_model(model, tmp)


def write(weights: dict[str, np.ndarray], spec: ModelSpec, path: str | os.PathLike) -> None:
    """:func:`from_canonical`, saved to ``path``: the export of a model without an exporter."""
    save(from_canonical(weights, spec), path)
