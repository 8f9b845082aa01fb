"""SGD with momentum, Adam and AdamW, written out as formulas.

The optimizers hold references to the model's parameter arrays and update them IN PLACE, so the
layers see the new values without any copying. All buffers are allocated once, up front: each
update is computed in a scratch array through ``out=`` arguments, because allocating fresh
(n_in, n_out) temporaries every step (page faults on every allocation) cost several times more
than the arithmetic itself when measured at MNIST sizes.

Where the time goes: an update is a dozen elementwise passes over every parameter, each limited
by memory bandwidth rather than arithmetic (docs/performance.md). So the model hands the optimizer
all its weights as ONE flat array (see ``MLP.flat_params``): a dozen NumPy calls per step instead
of a dozen per layer. (Splitting the passes over two threads was measured too: slower, as both
threads wait on the same memory.)

Weight decay touches the weight matrices only (names starting with ``W``), never the biases or
BatchNorm's gamma and beta. For SGD and Adam it is the coupled L2 form: the gradient of
``weight_decay / 2 * sum(W**2)`` is added to the gradient, ``g + weight_decay * W``. AdamW decouples
it: ``W <- W * (1 - lr * weight_decay)`` before an Adam step on the gradient without penalty.
"""

from __future__ import annotations

import math

import numpy as np

from mlpcompare.spec import TrainSpec


class Optimizer:
    """What SGD and Adam share: the parameters, weight decay and one scratch array per parameter."""

    def __init__(self, params: dict[str, np.ndarray], weight_decay: float):
        self.params = params
        self.weight_decay = weight_decay
        self.tmp = {name: np.empty_like(p) for name, p in params.items()}

    def full_grad(self, name: str, grads: dict[str, np.ndarray]) -> np.ndarray:
        """dLoss/dparam including the penalty: ``g + weight_decay * W`` for a weight array.

        The decay term is added to ``grads[name]`` in place: that buffer is rewritten by the next
        backward pass anyway.
        """
        g = grads[name]
        if self.weight_decay and name.startswith("W"):
            g += np.multiply(self.params[name], self.weight_decay, out=self.tmp[name])
        return g


class SGD(Optimizer):
    """torch.optim.SGD semantics: ``buf = momentum * buf + g; p -= lr * buf`` (no dampening).

    Without momentum this is plain ``p -= lr * g``.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        momentum: float,
        weight_decay: float,
    ):
        super().__init__(params, weight_decay)
        self.momentum = momentum
        # Zero-initialised, so the first step gives buf = g exactly, as torch's does.
        self.buf = {name: np.zeros_like(p) for name, p in params.items()} if momentum else {}

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        for name, p in self.params.items():
            g = self.full_grad(name, grads)
            if self.momentum:
                buf = self.buf[name]
                buf *= self.momentum
                buf += g
                g = buf
            p -= np.multiply(g, lr, out=self.tmp[name])


class Adam(Optimizer):
    """Adam as in Kingma & Ba (2015) and torch.optim.Adam, with bias correction::

        m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)               v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    ``eps`` is added to ``sqrt(v_hat)``, the bias-corrected root (not to ``sqrt(v)``).

    Computed with two passes fewer, the same numbers to rounding: the arrays hold
    ``M = m / (1 - beta1)`` and ``V = v / (1 - beta2)``, which update as ``M = beta1 * M + g``
    and ``V = beta2 * V + g**2``, and every constant factor moves into two scalars::

        p -= step * M / (sqrt(V) + eps_V)    step  = lr * (1 - beta1) / c1 * sqrt(c2 / (1 - beta2))
                                             eps_V = eps * sqrt(c2 / (1 - beta2))

    with ``c1 = 1 - beta1**t`` and ``c2 = 1 - beta2**t`` (multiply the fraction's top and bottom
    by ``sqrt(c2 / (1 - beta2))`` to get back the textbook line). :meth:`moments` returns m and v.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
    ):
        super().__init__(params, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.M = {name: np.zeros_like(p) for name, p in params.items()}  # m / (1 - beta1)
        self.V = {name: np.zeros_like(p) for name, p in params.items()}  # v / (1 - beta2)
        self.t = 0  # steps taken, for the bias correction

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        scale = math.sqrt((1 - b2**self.t) / (1 - b2))
        step = lr * (1 - b1) / (1 - b1**self.t) * scale
        eps = self.eps * scale
        for name, p in self.params.items():
            g = self.full_grad(name, grads)
            M, V, tmp = self.M[name], self.V[name], self.tmp[name]
            M *= b1
            M += g
            V *= b2
            V += np.square(g, out=tmp)
            # p -= step * M / (sqrt(V) + eps)
            np.sqrt(V, out=tmp)
            tmp += eps
            np.divide(M, tmp, out=tmp)
            p -= np.multiply(tmp, step, out=tmp)

    def moments(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The textbook first and second moments m and v (copies)."""
        m = {name: M * (1 - self.beta1) for name, M in self.M.items()}
        v = {name: V * (1 - self.beta2) for name, V in self.V.items()}
        return m, v


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW's form)::

        W <- W * (1 - lr * weight_decay)         (weight matrices only, this step's lr)
        then the Adam step of :class:`Adam` on the gradient of the loss WITHOUT any penalty.

    Biases and BatchNorm's gamma and beta are not decayed (the model keeps them apart from ``W``).
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
    ):
        # No coupled decay: the Adam part must see the loss's own gradient.
        super().__init__(params, beta1, beta2, eps, weight_decay=0.0)
        self.decoupled_decay = weight_decay

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        if self.decoupled_decay:
            for name, p in self.params.items():
                if name.startswith("W"):
                    p *= 1 - lr * self.decoupled_decay
        super().step(grads, lr)


ADAM_VARIANTS = {"adam": Adam, "adamw": AdamW}


def make_optimizer(train_spec: TrainSpec, params: dict[str, np.ndarray]) -> SGD | Adam:
    """The optimizer ``train_spec`` names, bound to ``params``."""
    if train_spec.optimizer == "sgd":
        return SGD(params, momentum=train_spec.momentum, weight_decay=train_spec.weight_decay)
    return ADAM_VARIANTS[train_spec.optimizer](
        params,
        beta1=train_spec.beta1,
        beta2=train_spec.beta2,
        eps=train_spec.eps,
        weight_decay=train_spec.weight_decay,
    )
