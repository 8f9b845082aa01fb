"""SGD with momentum and Adam, written out as formulas.

Both optimizers hold references to the model's parameter arrays and update them IN PLACE, so the
layers see the new values without any copying. All buffers are allocated once, up front: each
update is computed in a scratch array through ``out=`` arguments, because allocating fresh
(n_in, n_out) temporaries every step (page faults on every allocation) cost several times more
than the arithmetic itself when measured at MNIST sizes.

Weight decay is the coupled L2 form shared by all three frameworks: the gradient of
``weight_decay / 2 * sum(W**2)`` is added to the gradient, ``g + weight_decay * W``, for the weight
matrices only (canonical names ``W{i}``), never the biases ``b{i}``.
"""

from __future__ import annotations

import numpy as np

from mlpcompare.spec import TrainSpec


class Optimizer:
    """What SGD and Adam share: the parameters, weight decay and one scratch array per parameter."""

    def __init__(self, params: dict[str, np.ndarray], weight_decay: float):
        self.params = params
        self.weight_decay = weight_decay
        self.tmp = {name: np.empty_like(p) for name, p in params.items()}

    def full_grad(self, name: str, grads: dict[str, np.ndarray]) -> np.ndarray:
        """dLoss/dparam including the penalty: ``g + weight_decay * W`` for a weight matrix.

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

    def __init__(self, params: dict[str, np.ndarray], momentum: float, weight_decay: float):
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
        self.m = {name: np.zeros_like(p) for name, p in params.items()}  # first moment
        self.v = {name: np.zeros_like(p) for name, p in params.items()}  # second moment
        self.t = 0  # steps taken, for the bias correction

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        correction1 = 1 - b1**self.t
        correction2 = 1 - b2**self.t
        for name, p in self.params.items():
            g = self.full_grad(name, grads)
            m, v, tmp = self.m[name], self.v[name], self.tmp[name]
            # m = b1 * m + (1 - b1) * g
            m *= b1
            m += np.multiply(g, 1 - b1, out=tmp)
            # v = b2 * v + (1 - b2) * g**2
            v *= b2
            v += np.multiply(np.square(g, out=tmp), 1 - b2, out=tmp)
            # tmp = sqrt(v_hat) + eps
            np.sqrt(np.divide(v, correction2, out=tmp), out=tmp)
            tmp += self.eps
            # p -= lr * m_hat / tmp, with m_hat = m / correction1 folded into the step size
            np.divide(m, tmp, out=tmp)
            p -= np.multiply(tmp, lr / correction1, out=tmp)


def make_optimizer(train_spec: TrainSpec, params: dict[str, np.ndarray]) -> SGD | Adam:
    """The optimizer ``train_spec`` names, bound to ``params`` (canonical names)."""
    if train_spec.optimizer == "sgd":
        return SGD(params, momentum=train_spec.momentum, weight_decay=train_spec.weight_decay)
    return Adam(
        params,
        beta1=train_spec.beta1,
        beta2=train_spec.beta2,
        eps=train_spec.eps,
        weight_decay=train_spec.weight_decay,
    )
