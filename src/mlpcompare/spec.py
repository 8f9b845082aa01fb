"""The one specification every framework implements.

Everything that must be identical across the frameworks lives here: layer sizes and activation,
BatchNorm's conventions, the initial weights, the mini-batch order, the loss, the optimizer
constants and the weight-decay definitions. The framework modules read these values; none of them
chooses its own.

Canonical weight layout: ``W{i}`` has shape ``(n_in, n_out)`` so a layer is ``x @ W + b``
(the NumPy and Keras layout). PyTorch's ``Linear.weight`` is ``(n_out, n_in)``; the torch module
converts with :func:`torch_layout` / :func:`canonical_from_torch` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("sgd", "adam", "adamw")
# Optimizers whose ``weight_decay`` is decoupled (applied to the weights, not added to the loss).
DECOUPLED_DECAY = ("adamw",)

# BatchNorm, one convention for every framework (a hidden layer is Linear -> BatchNorm ->
# activation -> dropout). Momentum in PyTorch's form: running = (1 - m) * running + m * batch,
# which is Keras' momentum 1 - m (keras_bn_momentum). The running variance is updated with the
# batch's *biased* variance (divided by n, as Keras and the normalisation itself use), not
# PyTorch's unbiased one, so every framework keeps the same running statistics.
BN_MOMENTUM = 0.1
BN_EPS = 1e-5
# Canonical names of hidden layer i's BatchNorm arrays: trainable scale and shift, running stats.
BN_PARAMS = ("gamma", "beta")
BN_STATS = ("mean", "var")
MONITORS = ("val_accuracy", "val_loss")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture: ``n_in -> hidden[0] -> ... -> hidden[-1] -> n_out``.

    ``dropout`` is the drop probability applied after every hidden activation (0 disables it).
    ``batch_norm`` puts a BatchNorm between every hidden Linear layer and its activation
    (conventions: ``BN_MOMENTUM``, ``BN_EPS``; arrays ``gamma{i}``, ``beta{i}``, ``mean{i}``,
    ``var{i}`` of width ``hidden[i]``).
    """

    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def layer_sizes(self) -> list[int]:
        return [self.n_in, *self.hidden, self.n_out]

    @property
    def n_layers(self) -> int:
        """Number of Linear layers (hidden layers + output layer)."""
        return len(self.hidden) + 1

    @property
    def n_weights(self) -> int:
        """Trainable parameters (weights and biases)."""
        sizes = self.layer_sizes
        linear = sum(a * b + b for a, b in pairwise(sizes))
        return linear + (2 * sum(self.hidden) if self.batch_norm else 0)

    @classmethod
    def from_config(cls, arch: dict, n_in: int, n_out: int) -> ModelSpec:
        """Build from one entry of the config's ``architectures`` mapping."""
        return cls(
            n_in=int(n_in),
            hidden=tuple(int(h) for h in arch["hidden"]),
            n_out=int(n_out),
            activation=arch.get("activation", "relu"),
            dropout=float(arch.get("dropout", 0.0)),
            batch_norm=bool(arch.get("batch_norm", False)),
        )

    @classmethod
    def from_info(cls, arch: dict, info: dict) -> ModelSpec:
        """The network of ``arch`` for a split (``info``: its split.json): one input per
        feature, one output per class."""
        return cls.from_config(arch, info["n_features"], info["n_classes"])


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation recipe, identical for every framework.

    ``weight_decay`` (lambda) applies to the weight matrices only (never biases or BatchNorm's
    gamma and beta). For ``sgd`` and ``adam`` it is an L2 penalty added to the batch-mean loss:
    ``loss + lambda/2 * sum(W**2)``, whose gradient is ``lambda * W``; :func:`keras_l2_factor`
    maps it to Keras' convention. For ``adamw`` it is decoupled (Loshchilov & Hutter), in
    PyTorch's form: each step first shrinks ``W <- W * (1 - lr * lambda)`` with the step's
    learning rate, then takes the Adam step on the loss without any penalty.

    The learning rate of epoch ``e`` (0-based) is ``lr * lr_decay**e`` (see :meth:`lr_at`).
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    lr_decay: float = 1.0
    momentum: float = 0.0  # SGD only; heavy-ball as torch.optim.SGD (dampening 0, no Nesterov)
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7  # Adam's epsilon, added to sqrt(v_hat) (Keras' default, set in torch too)
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 30
    patience: int = 5  # epochs without a better monitored value before stopping; 0 = never
    monitor: str = "val_accuracy"  # what picks the kept epoch and drives early stopping
    target_val_accuracy: float = 0.97
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {self.monitor!r}")

    def lr_at(self, epoch: int) -> float:
        """Learning rate used throughout 0-based ``epoch``."""
        return float(self.lr * self.lr_decay**epoch)

    @classmethod
    def from_config(cls, training: dict) -> TrainSpec:
        """Build from the config's ``training`` mapping (schema-validated, defaults filled)."""
        names = {f for f in cls.__dataclass_fields__ if f != "extra"}
        known = {k: v for k, v in training.items() if k in names}
        return cls(**known)


def init_weights(spec: ModelSpec, seed: int) -> dict[str, np.ndarray]:
    """He-normal initial weights (float32, canonical layout), zero biases.

    ``W{i}`` ~ N(0, 2 / fan_in) of shape (n_in, n_out); ``b{i}`` zeros of shape (n_out,).
    With ``batch_norm``, hidden layer i also gets ``gamma{i}`` ones, ``beta{i}`` zeros and its
    running statistics ``mean{i}`` zeros and ``var{i}`` ones (drawing no random numbers, so the
    weights equal those of the same network without BatchNorm).
    Written once by the ``init`` rule and loaded by every framework, so no framework's own
    initialiser (or its random stream) ever decides the starting point.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    sizes = spec.layer_sizes
    for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        std = np.sqrt(2.0 / fan_in)
        params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) * std).astype(np.float32)
        params[f"b{i}"] = np.zeros(fan_out, dtype=np.float32)
    if spec.batch_norm:
        for i, width in enumerate(spec.hidden):
            params[f"gamma{i}"] = np.ones(width, dtype=np.float32)
            params[f"beta{i}"] = np.zeros(width, dtype=np.float32)
            params[f"mean{i}"] = np.zeros(width, dtype=np.float32)
            params[f"var{i}"] = np.ones(width, dtype=np.float32)
    return params


def n_linear_layers(params: dict[str, np.ndarray]) -> int:
    """How many Linear layers a canonical ``params`` dict holds (its ``W{i}`` arrays)."""
    return sum(1 for name in params if name.startswith("W"))


def keras_bn_momentum() -> float:
    """Keras' BatchNormalization keeps ``momentum`` of the running value: ``1 - BN_MOMENTUM``."""
    return 1.0 - BN_MOMENTUM


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of ``range(n)`` that defines epoch ``epoch``'s mini-batches.

    One generator per (seed, epoch), so every framework — and a resumed run — sees the same
    order without sharing generator state.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split a permutation into consecutive index blocks; the last one may be smaller."""
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def torch_layout(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical -> torch: ``Linear.weight`` is (out, in), the transpose of our (in, out)."""
    return {k: (v.T.copy() if k.startswith("W") else v.copy()) for k, v in params.items()}


def canonical_from_torch(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Torch -> canonical: the inverse of :func:`torch_layout`."""
    return torch_layout(params)


def keras_l2_factor(weight_decay: float) -> float:
    """Keras' ``L2(l)`` adds ``l * sum(W**2)`` (gradient ``2 l W``); our lambda/2 convention needs l = lambda/2."""
    return weight_decay / 2.0


def training_flops_per_sample(spec: ModelSpec) -> float:
    """Multiply-adds of forward + backward per sample, as FLOPs: 2 (fwd) + 4 (bwd) per weight."""
    sizes = spec.layer_sizes
    return 6.0 * sum(a * b for a, b in pairwise(sizes))
