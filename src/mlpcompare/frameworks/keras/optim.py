"""The optimizers in the textbook forms every framework uses, and the weight decay they carry."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mlpcompare.frameworks.keras.model import dense_layers
from mlpcompare.spec import DECOUPLED_DECAY, TrainSpec


class TextbookAdam(keras.optimizers.Adam):
    """Adam as in Kingma & Ba's Algorithm 1 and ``torch.optim.Adam``: eps is added to sqrt(v_hat).

    Keras' own Adam folds both bias corrections into the step size and adds eps to sqrt(v), which
    amounts to an effective eps of ``eps * sqrt(1 - beta2**t)``. Where gradients are tiny that
    changes a parameter's step by up to ~1e-3 relative to torch and NumPy, so the framework would
    no longer be the only variable. Only ``update_step`` differs; state and config are Adam's.
    ``amsgrad`` is not supported.

    The update runs as TensorFlow's fused Adam kernel, one op per variable: Keras' update written
    in ``keras.ops`` is a dozen graph ops per variable, and at MNIST sizes running them cost about
    as much as the matrix products (docs/performance.md). The kernel computes
    ``lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)``; given
    ``epsilon = eps * sqrt(1 - beta2**t)`` that is exactly ``lr * m_hat / (sqrt(v_hat) + eps)``.
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


class HeavyBallSGD(keras.optimizers.SGD):
    """SGD with momentum in ``torch.optim.SGD``'s form: ``buf = mu*buf + g; p -= lr*buf``.

    Keras' SGD keeps a velocity that already includes the rate (``v = mu*v - lr*g; p += v``).
    For a constant rate both are the same sequence of parameters, but when the rate changes
    between steps (``lr_decay`` at an epoch boundary) Keras' velocity still carries the old rate
    and the two diverge; storing the rate-free buffer keeps every framework on torch's form.
    TensorFlow's fused momentum kernel is exactly that form (one op per variable, as in
    :class:`TextbookAdam`).
    """

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


def l2_penalty(train_spec: TrainSpec) -> float:
    """The coupled L2 factor the loss carries: ``weight_decay``, or 0 where decay is decoupled."""
    return 0.0 if train_spec.optimizer in DECOUPLED_DECAY else train_spec.weight_decay


def build_optimizer(train_spec: TrainSpec, model: keras.Sequential) -> keras.optimizers.Optimizer:
    """The optimizer of ``train_spec`` for ``model``; its rate is overwritten before every use.

    ``adamw`` is :class:`TextbookAdam` with Keras' decoupled ``weight_decay``: before the update,
    Keras' ``apply`` shrinks each decayed variable by ``variable * weight_decay * lr`` at the
    current rate, which is PyTorch's ``W <- W * (1 - lr * lambda)``; the Adam maths stays in one
    place. Only the Dense kernels decay: biases and BatchNorm's gamma and beta are excluded.
    """
    if train_spec.optimizer == "sgd":
        return HeavyBallSGD(learning_rate=train_spec.lr, momentum=float(train_spec.momentum))
    decoupled = train_spec.optimizer in DECOUPLED_DECAY
    optimizer = TextbookAdam(
        learning_rate=train_spec.lr,
        beta_1=train_spec.beta1,
        beta_2=train_spec.beta2,
        epsilon=train_spec.eps,
        weight_decay=train_spec.weight_decay if decoupled else None,
    )
    if decoupled:
        kernels = {id(dense.kernel) for dense in dense_layers(model)}
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in model.trainable_variables if id(v) not in kernels]
        )
    return optimizer
