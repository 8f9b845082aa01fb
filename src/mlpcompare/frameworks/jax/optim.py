"""The optimizer: an optax chain in the textbook forms every framework uses.

For ``sgd`` and ``adam`` weight decay is the coupled L2 of the spec, the gradient ``wd * W`` of
``wd/2 * sum(W**2)`` added before the moments (as torch's ``weight_decay``), by
``optax.add_decayed_weights`` masked to the weight matrices; then Adam with eps added to
``sqrt(v_hat)`` (``scale_by_adam`` with ``eps_root=0``) or torch's heavy-ball
``buf = momentum * buf + g`` (``optax.trace``). For ``adamw`` the same masked
``add_decayed_weights`` comes *after* Adam (as in ``optax.adamw``), so the step
``-lr * (adam + wd * W)`` is torch's ``W * (1 - lr * wd)`` followed by the Adam step. The trainer
then steps by ``-lr * update``, with ``lr`` an argument of the compiled step, so the per-epoch
rate never retraces it. The L2 penalty is computed only for the loss we report (and not at all
for ``adamw``, whose loss has none); it never enters the gradient.
"""

from __future__ import annotations

import optax

from mlpcompare.frameworks.jax.model import Params
from mlpcompare.spec import DECOUPLED_DECAY, TrainSpec


def weight_matrices(params: Params) -> list[tuple[bool, ...]]:
    """The mask of the weight matrices: the first entry of every layer's tuple."""
    return [tuple(j == 0 for j in range(len(layer))) for layer in params]


def optimizer(train_spec: TrainSpec) -> optax.GradientTransformation:
    """The update direction, before ``-lr``: Adam or heavy-ball, and the weight decay.

    Coupled L2 (``sgd``, ``adam``) adds ``wd * W`` to the gradient before the moments; decoupled
    decay (``adamw``) adds it to Adam's direction after them.
    """
    decay = optax.add_decayed_weights(train_spec.weight_decay, mask=weight_matrices)
    if train_spec.optimizer == "sgd":
        moments = optax.trace(decay=train_spec.momentum)  # buf = momentum * buf + g; 0 = plain
    else:
        moments = optax.scale_by_adam(
            b1=train_spec.beta1, b2=train_spec.beta2, eps=train_spec.eps, eps_root=0.0
        )
    if train_spec.optimizer in DECOUPLED_DECAY:
        return optax.chain(moments, decay)
    return optax.chain(decay, moments)


def reported_l2(train_spec: TrainSpec) -> float:
    """The L2 weight of the loss a trainer reports: the penalty's, none for decoupled decay."""
    return 0.0 if train_spec.optimizer in DECOUPLED_DECAY else train_spec.weight_decay
