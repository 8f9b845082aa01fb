"""The MLP: a list of layers run forward in order and backward in reverse."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from mlpcompare.numpy_mlp.layers import Dropout, Layer, Linear, ReLU, Sigmoid, Tanh
from mlpcompare.spec import ModelSpec

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def param_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Canonical parameter names and shapes: ``W{i}`` (n_in, n_out) and ``b{i}`` (n_out,)."""
    sizes = spec.layer_sizes
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        shapes[f"W{i}"] = (n_in, n_out)
        shapes[f"b{i}"] = (n_out,)
    return shapes


def check_params(spec: ModelSpec, params: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless ``params`` has exactly the canonical names and shapes of ``spec``."""
    expected = param_shapes(spec)
    if set(params) != set(expected):
        raise ValueError(f"parameters {sorted(params)} do not match the spec's {sorted(expected)}")
    for name, shape in expected.items():
        if np.shape(params[name]) != shape:
            raise ValueError(f"{name} has shape {np.shape(params[name])}, the spec needs {shape}")


class MLP:
    """``Linear -> activation [-> Dropout]`` per hidden layer, then a ``Linear`` giving the logits.

    params : canonical dict (``W0, b0, W1, b1, ...``); copied, and computed in its dtype.
    rng : draws the dropout masks; needed only to train with dropout.

    ``self.params`` / ``self.grads`` map the canonical names to the layers' own arrays, so an
    optimizer given ``self.params`` updates the layers in place. Those arrays are views into two
    flat buffers, all weight matrices and then all biases, exposed as ``flat_params`` and
    ``flat_grads`` (``{"W": ..., "b": ...}``): an optimizer given those does each elementwise pass
    of its update once over every weight rather than once per layer.
    """

    def __init__(
        self, spec: ModelSpec, params: dict[str, np.ndarray], rng: np.random.Generator | None = None
    ):
        check_params(spec, params)
        self.spec = spec
        dtype = np.result_type(*params.values())
        shapes = param_shapes(spec)
        weights = {name: shape for name, shape in shapes.items() if name.startswith("W")}
        biases = {name: shape for name, shape in shapes.items() if name.startswith("b")}
        self.flat_params = {"W": _flat(weights, dtype), "b": _flat(biases, dtype)}
        self.flat_grads = {"W": _flat(weights, dtype), "b": _flat(biases, dtype)}
        self.params = {
            **_views(self.flat_params["W"], weights),
            **_views(self.flat_params["b"], biases),
        }
        self.grads = {
            **_views(self.flat_grads["W"], weights),
            **_views(self.flat_grads["b"], biases),
        }
        self.set_params(params)
        linears = [
            Linear(
                self.params[f"W{i}"],
                self.params[f"b{i}"],
                self.grads[f"W{i}"],
                self.grads[f"b{i}"],
            )
            for i in range(spec.n_layers)
        ]
        linears[0].input_grad = False  # nothing upstream of the input to pass a gradient to
        self.layers: list[Layer] = []
        for i, linear in enumerate(linears):
            self.layers.append(linear)
            if i < spec.n_layers - 1:  # hidden layer
                self.layers.append(ACTIVATIONS[spec.activation]())
                if spec.dropout > 0:
                    self.layers.append(Dropout(spec.dropout, rng))

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Inputs (n, n_in) -> logits (n, n_out). Dropout is active only when ``training``."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Backpropagate dLoss/dlogits (n, n_out); fills ``self.grads`` (after a ``forward``)."""
        grad = dlogits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def get_params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, canonical layout."""
        return {name: p.copy() for name, p in self.params.items()}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy ``params`` into the existing arrays (which the optimizer keeps references to)."""
        check_params(self.spec, params)
        for name, p in self.params.items():
            np.copyto(p, params[name])


def _flat(shapes: dict[str, tuple[int, ...]], dtype) -> np.ndarray:
    """A zeroed 1-D array with room for arrays of ``shapes``, one after the other."""
    return np.zeros(sum(math.prod(shape) for shape in shapes.values()), dtype)


def _views(flat: np.ndarray, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Consecutive views of ``flat`` with ``shapes``, by name (writing to one writes ``flat``)."""
    views, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views
