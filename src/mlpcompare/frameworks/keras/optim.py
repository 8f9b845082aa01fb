"""The textbook optimizers (:mod:`mlpcompare.frameworks.keras_common.optim`), each update run as
TensorFlow's fused kernel: one op per variable.

Their updates written in ``keras.ops`` are a dozen graph ops per variable, and at MNIST sizes
running them cost about as much as the matrix products (docs/performance.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mlpcompare.frameworks.keras_common import optim as textbook
from mlpcompare.spec import TrainSpec


class TextbookAdam(textbook.TextbookAdam):
    """:class:`~mlpcompare.frameworks.keras_common.optim.TextbookAdam` as TensorFlow's fused Adam
    kernel. The kernel computes ``lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) +
    epsilon)``; given ``epsilon = eps * sqrt(1 - beta2**t)`` that is exactly
    ``lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    def update_step(self, gradient, variable, learning_rate):
        """One textbook Adam update of ``variable`` (called per variable by ``apply``)."""
        dtype = variable.dtype
        # Powers formed in float64 and then cast, as torch forms them in Python.
        step = ops.cast(self.iterations + 1, "float64")
        beta1_power = ops.power(ops.cast(self.beta_1, "float64"), step)
        beta2_power = ops.power(ops.cast(self.beta_2, "float64"), step)
        epsilon = self.epsilon * ops.sqrt(1 - beta2_power)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.cast(beta1_power, dtype),
            beta2_power=ops.cast(beta2_power, dtype),
            lr=ops.cast(learning_rate, dtype),
            beta1=ops.cast(self.beta_1, dtype),
            beta2=ops.cast(self.beta_2, dtype),
            epsilon=ops.cast(epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )


class HeavyBallSGD(textbook.HeavyBallSGD):
    """:class:`~mlpcompare.frameworks.keras_common.optim.HeavyBallSGD` as TensorFlow's fused
    momentum kernel, which is exactly torch's form."""

    def update_step(self, gradient, variable, learning_rate):
        """One heavy-ball update of ``variable`` (called per variable by ``apply``)."""
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=lr, delta=gradient)
            return
        # buf starts at zero, so the first step gives buf = g, as torch's first step does.
        tf.raw_ops.ResourceApplyMomentum(
            var=variable.handle,
            accum=self.momentums[self._get_variable_index(variable)].handle,
            lr=lr,
            grad=gradient,
            momentum=ops.cast(self.momentum, variable.dtype),
        )


def build_optimizer(train_spec: TrainSpec, model: keras.Sequential) -> keras.optimizers.Optimizer:
    """The optimizer of ``train_spec`` for ``model``, run by the fused kernels (decay as
    :func:`~mlpcompare.frameworks.keras_common.optim.build_optimizer` gives it)."""
    return textbook.build_optimizer(train_spec, model, adam=TextbookAdam, sgd=HeavyBallSGD)
