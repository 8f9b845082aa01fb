"""The MLP: a list of layers run forward in order and backward in reverse."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from mlpcompare.frameworks.numpy.layers import (
    BatchNorm,
    Dropout,
    Layer,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
)
from mlpcompare.spec import BN_PARAMS, BN_STATS, ModelSpec

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def param_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Canonical array names and shapes: ``W{i}`` (n_in, n_out) and ``b{i}`` (n_out,); with
    BatchNorm also ``gamma{i}``, ``beta{i}``, ``mean{i}`` and ``var{i}`` (hidden[i],)."""
    sizes = spec.layer_sizes
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        shapes[f"W{i}"] = (n_in, n_out)
        shapes[f"b{i}"] = (n_out,)
    if spec.batch_norm:
        for i, width in enumerate(spec.hidden):
            for name in (*BN_PARAMS, *BN_STATS):
                shapes[f"{name}{i}"] = (width,)
    return shapes


def check_params(spec: ModelSpec, params: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless ``params`` has exactly the canonical names and shapes of ``spec``."""
    expected = param_shapes(spec)
    if set(params) != set(expected):
        raise ValueError(f"parameters {sorted(params)} do not match the spec's {sorted(expected)}")
    for name, shape in expected.items():
        if np.shape(params[name]) != shape:
            raise ValueError(f"{name} has shape {np.shape(params[name])}, the spec needs {shape}")


def _is_running_stat(name: str) -> bool:
    return name.rstrip("0123456789") in BN_STATS


class MLP:
    """Per hidden layer ``Linear [-> BatchNorm] -> activation [-> Dropout]``, then a ``Linear``
    giving the logits.

    params : canonical dict (``W0, b0, W1, b1, ...`` and, with BatchNorm, ``gamma{i}, beta{i},
    mean{i}, var{i}``); copied, and computed in its dtype.
    rng : draws the dropout masks; needed only to train with dropout.

    ``self.params`` / ``self.grads`` map the names of the trainable arrays to the layers' own
    arrays, so an optimizer given ``self.params`` updates the layers in place. BatchNorm's running
    statistics are state, not parameters: they live in ``self.stats``, which training-mode
    forward passes update, and have no gradient. The trainable arrays are views into two flat
    buffers, exposed as ``flat_params`` and ``flat_grads``: ``"W"`` holds every weight matrix and
    ``"b"`` everything weight decay leaves alone (the biases, then BatchNorm's gamma and beta).
    An optimizer given those does each elementwise pass of its update once over every parameter
    rather than once per layer, and decays only the ``"W"`` buffer.
    """

    def __init__(
        self, spec: ModelSpec, params: dict[str, np.ndarray], rng: np.random.Generator | None = None
    ):
        check_params(spec, params)
        self.spec = spec
        dtype = np.result_type(*params.values())
        shapes = param_shapes(spec)
        weights = {name: shape for name, shape in shapes.items() if name.startswith("W")}
        undecayed = {
            name: shape
            for name, shape in shapes.items()
            if not name.startswith("W") and not _is_running_stat(name)
        }
        self.flat_params = {"W": _flat(weights, dtype), "b": _flat(undecayed, dtype)}
        self.flat_grads = {"W": _flat(weights, dtype), "b": _flat(undecayed, dtype)}
        self.params = {
            **_views(self.flat_params["W"], weights),
            **_views(self.flat_params["b"], undecayed),
        }
        self.grads = {
            **_views(self.flat_grads["W"], weights),
            **_views(self.flat_grads["b"], undecayed),
        }
        self.stats = {
            name: np.zeros(shape, dtype) for name, shape in shapes.items() if _is_running_stat(name)
        }
        self.set_params(params)
        self.layers = self._build_layers(rng)

    def _build_layers(self, rng: np.random.Generator | None) -> list[Layer]:
        """The layers, holding this model's arrays (not copies)."""
        spec, p, g = self.spec, self.params, self.grads
        layers: list[Layer] = []
        for i in range(spec.n_layers):
            linear = Linear(p[f"W{i}"], p[f"b{i}"], g[f"W{i}"], g[f"b{i}"])
            # Nothing upstream of the input to pass a gradient to.
            linear.input_grad = i > 0
            layers.append(linear)
            if i == spec.n_layers - 1:  # the output layer
                break
            if spec.batch_norm:
                gamma, beta = p[f"gamma{i}"], p[f"beta{i}"]
                mean, var = self.stats[f"mean{i}"], self.stats[f"var{i}"]
                layers.append(BatchNorm(gamma, beta, mean, var, g[f"gamma{i}"], g[f"beta{i}"]))
            layers.append(ACTIVATIONS[spec.activation]())
            if spec.dropout > 0:
                layers.append(Dropout(spec.dropout, rng))
        return layers

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Inputs (n, n_in) -> logits (n, n_out).

        ``training``: dropout active, BatchNorm normalises with the batch's statistics and
        updates the running ones; otherwise BatchNorm uses the running statistics.
        """
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Backpropagate dLoss/dlogits (n, n_out); fills ``self.grads`` (after a training
        ``forward``)."""
        grad = dlogits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def get_params(self) -> dict[str, np.ndarray]:
        """Copies of every canonical array (running statistics included), canonical order."""
        arrays = {**self.params, **self.stats}
        return {name: arrays[name].copy() for name in param_shapes(self.spec)}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy ``params`` into the existing arrays (which the optimizer and layers keep
        references to)."""
        check_params(self.spec, params)
        for name, p in {**self.params, **self.stats}.items():
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
