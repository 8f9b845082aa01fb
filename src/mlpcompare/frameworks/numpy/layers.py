"""Layers with their forward and backward passes side by side.

Every layer follows one small interface (numpy-ml / micrograd style):

- ``forward(x, training)`` computes the output and caches what ``backward`` will need;
- ``backward(grad)`` takes dLoss/dOutput, stores dLoss/dParam in ``grads`` and returns dLoss/dInput;
- ``params`` and ``grads`` are dicts of arrays with the same keys (empty for parameter-free layers).

Shapes: ``n`` is the batch size. Layers compute in the dtype of their inputs and parameters, so the
same code runs in float32 for training and in float64 for the finite-difference gradient check.

In training mode a layer writes its output into an array it keeps from one batch to the next
(:meth:`Layer.buffer`), and backward passes update the incoming gradient in place where nothing
else needs it: allocating fresh activations every step costs page faults, not arithmetic.
Inference allocates, so the arrays it returns belong to the caller.
"""

from __future__ import annotations

import numpy as np

from mlpcompare.spec import BN_EPS, BN_MOMENTUM


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buffers: dict[tuple, np.ndarray] = {}

    def buffer(self, key: str, shape: tuple[int, ...], dtype, training: bool) -> np.ndarray:
        """An uninitialised array for an output: kept and reused when ``training``, else new."""
        if not training:
            return np.empty(shape, dtype)
        array = self._buffers.get((key, shape, dtype))
        if array is None:
            array = self._buffers[(key, shape, dtype)] = np.empty(shape, dtype)
        return array

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Linear(Layer):
    """Fully connected layer ``Z = X @ W + b``.

    W : ndarray of shape (n_in, n_out); b : ndarray of shape (n_out,).
    dW, db : where backward writes the gradients (new zero arrays if not given).
    The arrays are used as given (not copied): the optimizer updates them in place.
    """

    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        dW: np.ndarray | None = None,
        db: np.ndarray | None = None,
    ):
        super().__init__()
        self.params = {"W": W, "b": b}
        # Preallocated once; backward writes into them, the optimizer reads them.
        self.grads = {
            "W": np.zeros_like(W) if dW is None else dW,
            "b": np.zeros_like(b) if db is None else db,
        }
        # The network's input needs no gradient: the model switches this off for its first layer,
        # which saves one matrix product per step (torch and TF skip it too).
        self.input_grad = True
        self.X: np.ndarray | None = None  # cache: the last input, (n, n_in)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """(n, n_in) -> (n, n_out)."""
        self.X = x
        W = self.params["W"]
        z = self.buffer("out", (len(x), W.shape[1]), x.dtype, training)
        np.matmul(x, W, out=z)
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
        W = self.params["W"]
        dx = self.buffer("dx", (len(grad), W.shape[0]), grad.dtype, training=True)
        return np.matmul(grad, W.T, out=dx)


class BatchNorm(Layer):
    """Batch normalisation of each unit, ``y = gamma * (z - mu) / sqrt(var + BN_EPS) + beta``.

    gamma, beta : trainable scale and shift, shape (d,); mean, var : running statistics, (d,).
    dgamma, dbeta : where backward writes the gradients (new zero arrays if not given).
    All arrays are used as given (not copied): the optimizer and :meth:`forward` update them in
    place.

    In training mode ``mu`` and ``var`` are the batch's mean and *biased* variance (divided by n),
    and each forward pass moves the running statistics towards them by ``BN_MOMENTUM`` (the
    convention of :mod:`mlpcompare.spec`). In inference mode the running statistics are used.
    """

    def __init__(
        self,
        gamma: np.ndarray,
        beta: np.ndarray,
        mean: np.ndarray,
        var: np.ndarray,
        dgamma: np.ndarray | None = None,
        dbeta: np.ndarray | None = None,
    ):
        super().__init__()
        self.params = {"gamma": gamma, "beta": beta}
        self.grads = {
            "gamma": np.zeros_like(gamma) if dgamma is None else dgamma,
            "beta": np.zeros_like(beta) if dbeta is None else dbeta,
        }
        self.stats = {"mean": mean, "var": var}
        self.xhat: np.ndarray | None = None  # cache: the normalised input, (n, d)
        self.inv_std: np.ndarray | None = None  # cache: 1 / sqrt(batch var + eps), (d,)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """(n, d) -> (n, d)."""
        if not training:
            mean, var = self.stats["mean"], self.stats["var"]
            return self.params["gamma"] * (x - mean) / np.sqrt(var + BN_EPS) + self.params["beta"]
        mu = x.mean(axis=0)
        xhat = self.xhat = self.buffer("xhat", x.shape, x.dtype, training)
        np.subtract(x, mu, out=xhat)
        batch_var = np.einsum("ij,ij->j", xhat, xhat) / len(x)  # biased: divided by n
        self.inv_std = 1 / np.sqrt(batch_var + BN_EPS)
        xhat *= self.inv_std
        self._update_running_stats(mu, batch_var)
        out = self.buffer("out", x.shape, x.dtype, training)
        np.multiply(xhat, self.params["gamma"], out=out)
        out += self.params["beta"]
        return out

    def _update_running_stats(self, mu: np.ndarray, batch_var: np.ndarray) -> None:
        """``running = (1 - BN_MOMENTUM) * running + BN_MOMENTUM * batch``, in place."""
        for running, batch in ((self.stats["mean"], mu), (self.stats["var"], batch_var)):
            running *= 1 - BN_MOMENTUM
            running += BN_MOMENTUM * batch

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """dY (n, d) -> dZ (n, d), in place in ``grad``, by the compact formula::

            dgamma = sum(dY * xhat)        dbeta = sum(dY)        (sums over the batch)
            dZ = gamma * inv_std * (dY - dbeta / n - xhat * dgamma / n)

        (the chain rule through the batch mean and variance, collected into two batch sums).
        """
        n, xhat = len(grad), self.xhat
        dgamma, dbeta = self.grads["gamma"], self.grads["beta"]
        tmp = self.buffer("tmp", grad.shape, grad.dtype, training=True)
        np.multiply(grad, xhat, out=tmp).sum(axis=0, out=dgamma)
        grad.sum(axis=0, out=dbeta)
        grad -= dbeta / n
        grad -= np.multiply(xhat, dgamma / n, out=tmp)
        grad *= self.params["gamma"] * self.inv_std
        return grad


class ReLU(Layer):
    """``max(x, 0)``; its derivative is 1 where the output is positive, else 0."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        out = self.buffer("out", x.shape, x.dtype, training)
        self.out = np.maximum(x, 0, out=out)  # cache: output, (n, d)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad *= self.out > 0  # in place: the caller's gradient array is not needed any more
        return grad


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

    A unit is dropped when a uniform 32-bit integer falls below ``round(p * 2**32)``: the same
    test as ``uniform(0, 1) < p`` to within 2**-32, from raw generator output, which is about 4x
    cheaper than drawing floats (masks were ~10 % of a MNIST training step).
    """

    def __init__(self, p: float, rng: np.random.Generator | None):
        super().__init__()
        self.p = p
        self.rng = rng
        self.threshold = np.uint32(min(round(p * 2**32), 2**32 - 1))
        self.mask: np.ndarray | None = None  # cache: 0 or 1/(1-p) per unit, (n, d); None = identity

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training:
            self.mask = None
            return x
        if self.rng is None:
            raise RuntimeError("Dropout needs a np.random.Generator to run in training mode")
        # Two 32-bit draws per 64-bit word of the generator.
        bits = self.rng.bit_generator.random_raw((x.size + 1) // 2).view(np.uint32)[: x.size]
        keep = (bits >= self.threshold).reshape(x.shape)
        self.mask = self.buffer("mask", x.shape, x.dtype, training)
        np.multiply(keep, x.dtype.type(1 / (1 - self.p)), out=self.mask)
        out = self.buffer("out", x.shape, x.dtype, training)
        return np.multiply(x, self.mask, out=out)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self.mask is not None:
            grad *= self.mask  # in place, as in ReLU.backward
        return grad
