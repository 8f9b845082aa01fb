"""Layers with their forward and backward passes side by side.

Every layer follows one small interface (numpy-ml / micrograd style):

- ``forward(x, training)`` computes the output and caches what ``backward`` will need;
- ``backward(grad)`` takes dLoss/dOutput, stores dLoss/dParam in ``grads`` and returns dLoss/dInput;
- ``params`` and ``grads`` are dicts of arrays with the same keys (empty for parameter-free layers).

Shapes: ``n`` is the batch size. Layers compute in the dtype of their inputs and parameters, so the
same code runs in float32 for training and in float64 for the finite-difference gradient check.
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Linear(Layer):
    """Fully connected layer ``Z = X @ W + b``.

    W : ndarray of shape (n_in, n_out); b : ndarray of shape (n_out,).
    The arrays are used as given (not copied): the optimizer updates them in place.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray):
        super().__init__()
        self.params = {"W": W, "b": b}
        # Preallocated once; backward writes into them, the optimizer reads them.
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        # The network's input needs no gradient: the model switches this off for its first layer,
        # which saves one matrix product per step (torch and TF skip it too).
        self.input_grad = True
        self.X: np.ndarray | None = None  # cache: the last input, (n, n_in)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """(n, n_in) -> (n, n_out)."""
        self.X = x
        z = x @ self.params["W"]
        z += self.params["b"]  # in place: no second (n, n_out) array
        return z

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """dZ (n, n_out) -> dX (n, n_in), or None for the first layer.

        dW = X.T @ dZ (n_in, n_out) and db = sum of dZ over the batch (n_out,).
        """
        np.matmul(self.X.T, grad, out=self.grads["W"])
        grad.sum(axis=0, out=self.grads["b"])
        if not self.input_grad:
            return None
        return grad @ self.params["W"].T


class ReLU(Layer):
    """``max(x, 0)``; its derivative is 1 where the output is positive, else 0."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.out = np.maximum(x, 0)  # cache: output, (n, d)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * (self.out > 0)


class Tanh(Layer):
    """``tanh(x)``; its derivative ``1 - tanh(x)**2`` is computed from the cached output."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.out = np.tanh(x)  # cache: output, (n, d)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * (1 - self.out * self.out)


class Sigmoid(Layer):
    """``1 / (1 + exp(-x))``; its derivative ``s * (1 - s)`` is computed from the cached output."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        # The identity sigmoid(x) = (1 + tanh(x/2)) / 2 never overflows, unlike exp(-x) for x << 0.
        self.out = 0.5 * (1 + np.tanh(0.5 * x))  # cache: output, (n, d)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.out * (1 - self.out)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the kept ones
    by ``1 / (1 - p)``, so inference needs no rescaling and is the identity.

    rng : the generator that draws the masks (needed only in training mode).
    """

    def __init__(self, p: float, rng: np.random.Generator | None):
        super().__init__()
        self.p = p
        self.rng = rng
        self.mask: np.ndarray | None = None  # cache: 0 or 1/(1-p) per unit, (n, d); None = identity

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training:
            self.mask = None
            return x
        if self.rng is None:
            raise RuntimeError("Dropout needs a np.random.Generator to run in training mode")
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self.mask = keep.astype(x.dtype) * (1 / (1 - self.p))
        return x * self.mask

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad if self.mask is None else grad * self.mask
