"""The optimizers in the textbook forms every framework uses, and the weight decay they carry.

Written in ``keras.ops``, so they run on any backend: on JAX inside ``optimizer.stateless_apply``,
compiled with the rest of the step by ``jax.jit``, where XLA fuses each variable's handful of
element-wise ops. The TensorFlow backend runs the same updates as TensorFlow's fused kernels,
which keep them cheap there (:mod:`mlpcompare.frameworks.keras.optim`).
"""

from __future__ import annotations

import keras
from keras import ops

from mlpcompare.frameworks.keras_common.model import dense_layers
from mlpcompare.spec import DECOUPLED_DECAY, TrainSpec


class TextbookAdam(keras.optimizers.Adam):
    """Adam as in Kingma & Ba's Algorithm 1 and ``torch.optim.Adam``: eps is added to sqrt(v_hat).

    Keras' own Adam folds both bias corrections into the step size and adds eps to sqrt(v), which
    amounts to an effective eps of ``eps * sqrt(1 - beta2**t)``. Where gradients are tiny that
    changes a parameter's step by up to ~1e-3 relative to torch and NumPy, so the framework would
    no longer be the only variable. Only ``update_step`` differs; state and config are Adam's.
    ``amsgrad`` is not supported.
    """

    def update_step(self, gradient, variable, learning_rate):
        """One textbook Adam update of ``variable`` (called per variable by ``apply``)."""
        dtype = variable.dtype
        lr, gradient = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign(m, beta_1 * m + (1 - beta_1) * gradient)
        self.assign(v, beta_2 * v + (1 - beta_2) * ops.square(gradient))
        m_hat = m / (1 - ops.power(beta_1, step))
        v_hat = v / (1 - ops.power(beta_2, step))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))


class HeavyBallSGD(keras.optimizers.SGD):
    """SGD with momentum in ``torch.optim.SGD``'s form: ``buf = mu*buf + g; p -= lr*buf``.

    Keras' SGD keeps a velocity that already includes the rate (``v = mu*v - lr*g; p += v``).
    For a constant rate both are the same sequence of parameters, but when the rate changes
    between steps (``lr_decay`` at an epoch boundary) Keras' velocity still carries the old rate
    and the two diverge; storing the rate-free buffer keeps every framework on torch's form.
    """

    def update_step(self, gradient, variable, learning_rate):
        """One heavy-ball update of ``variable`` (called per variable by ``apply``)."""
        lr, gradient = ops.cast(learning_rate, variable.dtype), ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, lr * gradient)
            return
        # buf starts at zero, so the first step gives buf = g, as torch's first step does.
        buf = self.momentums[self._get_variable_index(variable)]
        self.assign(buf, ops.cast(self.momentum, variable.dtype) * buf + gradient)
        self.assign_sub(variable, lr * buf)


def l2_penalty(train_spec: TrainSpec) -> float:
    """The coupled L2 factor the loss carries: ``weight_decay``, or 0 where decay is decoupled."""
    return 0.0 if train_spec.optimizer in DECOUPLED_DECAY else train_spec.weight_decay


def build_optimizer(
    train_spec: TrainSpec,
    model: keras.Sequential,
    adam: type[TextbookAdam] = TextbookAdam,
    sgd: type[HeavyBallSGD] = HeavyBallSGD,
) -> keras.optimizers.Optimizer:
    """The optimizer of ``train_spec`` for ``model``, an ``adam`` or an ``sgd`` (a backend may
    pass its own kernels of the same updates); the trainer sets its rate for every step.

    ``adamw`` is ``adam`` with Keras' decoupled ``weight_decay``: before the update, Keras'
    ``apply`` shrinks each decayed variable by ``variable * weight_decay * lr`` at the current
    rate, which is PyTorch's ``W <- W * (1 - lr * lambda)``; the Adam maths stays in one place.
    Only the Dense kernels decay: biases and BatchNorm's gamma and beta are excluded.
    """
    if train_spec.optimizer == "sgd":
        return sgd(learning_rate=train_spec.lr, momentum=float(train_spec.momentum))
    decoupled = train_spec.optimizer in DECOUPLED_DECAY
    optimizer = adam(
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
