"""The model: a small ``nn.Module`` whose ``forward`` reads top to bottom, and its BatchNorm.

Parameters (and BatchNorm's running statistics) come in and go out as the canonical dict of
:mod:`mlpcompare.spec`; torch's own initialiser is never used.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlpcompare.frameworks.torch.dropout import Dropout
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    BN_PARAMS,
    BN_STATS,
    ModelSpec,
    canonical_from_torch,
    torch_layout,
)

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class BatchNorm(nn.Module):
    """BatchNorm over the features of ``(n, width)``, to the spec's conventions.

    Trainable ``gamma`` and ``beta`` are Parameters; the running ``mean`` and ``var`` are buffers,
    so they are in the state dict (saved with the model) and follow it to its device. The
    attribute names are the canonical ones (:data:`~mlpcompare.spec.BN_PARAMS`,
    :data:`~mlpcompare.spec.BN_STATS`). ``nn.BatchNorm1d`` is not used: it updates the running
    variance with the *unbiased* batch variance (divided by n - 1), where the spec, Keras and
    the normalisation itself use the biased one (divided by n).
    """

    def __init__(self, width: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(width))
        self.beta = nn.Parameter(torch.zeros(width))
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("var", torch.ones(width))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(
                z, self.mean, self.var, self.gamma, self.beta, training=False, eps=BN_EPS
            )
        # torch's own kernel (what F.batch_norm calls) normalises with the batch's biased
        # variance; no running stats are passed, so it leaves them to _update_running_stats.
        # F.batch_norm itself refuses a one-row batch, which the spec defines (variance 0,
        # output beta) and a last partial batch can be.
        normalised = torch.batch_norm(
            z, self.gamma, self.beta, None, None, True, 0.0, BN_EPS, torch.backends.cudnn.enabled
        )
        self._update_running_stats(z)
        return normalised

    @torch.no_grad()
    def _update_running_stats(self, z: torch.Tensor) -> None:
        """``running = (1 - m) * running + m * batch`` with the batch's biased variance."""
        var, mean = torch.var_mean(z, dim=0, correction=0)
        self.mean.mul_(1 - BN_MOMENTUM).add_(mean, alpha=BN_MOMENTUM)
        self.var.mul_(1 - BN_MOMENTUM).add_(var, alpha=BN_MOMENTUM)


class MLP(nn.Module):
    """``n_in -> hidden... -> n_out``: Linear, BatchNorm (if on), activation, Dropout (if p > 0)
    per hidden layer.

    Input ``(n, n_in)`` float32, output logits ``(n, n_out)``. Parameters (and BatchNorm's
    running statistics) are set from the canonical dict with :meth:`load_canonical`, never by
    torch's own initialiser.
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        sizes = spec.layer_sizes
        self.hidden = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1], strict=True)
        )
        # Identity holds no state, so a model without BatchNorm keeps its state dict's keys.
        self.norms = nn.ModuleList(
            BatchNorm(width) if spec.batch_norm else nn.Identity() for width in spec.hidden
        )
        self.output = nn.Linear(sizes[-2], sizes[-1])
        self.activation = _ACTIVATIONS[spec.activation]()
        # One per layer: each keeps its own mask for the backward pass (see Dropout).
        self.dropouts = nn.ModuleList(
            Dropout(spec.dropout, layer=i) if spec.dropout > 0 else nn.Identity()
            for i in range(len(spec.hidden))
        )

    def forward(self, x: torch.Tensor, bits: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Logits; ``bits``: each dropout layer's bits for this step, drawn ahead by
        :meth:`draw_dropout_bits` (a compiled step), else each layer draws its own."""
        for i, (layer, norm, dropout) in enumerate(
            zip(self.hidden, self.norms, self.dropouts, strict=True)
        ):
            x = self.activation(norm(layer(x)))
            x = dropout(x) if bits is None else dropout(x, bits[i])
        return self.output(x)

    def draw_dropout_bits(self, n: int) -> list[torch.Tensor] | None:
        """Every dropout layer's bits for a training batch of ``n`` rows, drawn in the order the
        eager forward draws them (layer by layer), so the generator's stream is the same; None
        without dropout."""
        if not any(isinstance(dropout, Dropout) for dropout in self.dropouts):
            return None
        like = self.output.weight  # the activations' device and dtype
        return [
            dropout.draw(n, layer.out_features, like)
            for layer, dropout in zip(self.hidden, self.dropouts, strict=True)
        ]

    def linears(self) -> list[nn.Linear]:
        """The Linear layers in order; layer ``i`` holds canonical ``W{i}``, ``b{i}``."""
        return [*self.hidden, self.output]

    def canonical_tensors(self) -> dict[str, torch.Tensor]:
        """Canonical name -> the tensor holding it, in torch layout (``W{i}`` is transposed)."""
        tensors = {}
        for i, layer in enumerate(self.linears()):
            tensors[f"W{i}"], tensors[f"b{i}"] = layer.weight, layer.bias
        for i, norm in enumerate(self.norms):
            if isinstance(norm, BatchNorm):
                tensors.update({f"{name}{i}": getattr(norm, name) for name in BN_PARAMS + BN_STATS})
        return tensors

    @torch.no_grad()
    def load_canonical(self, params: dict[str, np.ndarray]) -> None:
        """Copy canonical weights in, in place (the optimizer keeps pointing at the same tensors)."""
        tensors = self.canonical_tensors()
        # An array this model has no place for (BatchNorm's, say) must not be dropped silently.
        if params.keys() != tensors.keys():
            raise ValueError(
                f"canonical arrays {sorted(params)} do not match the model's {sorted(tensors)}"
            )
        for name, value in torch_layout(params).items():
            tensor = tensors[name]
            value = torch.from_numpy(np.asarray(value, dtype=np.float32))
            # copy_ broadcasts, so a wrong layout could slip through silently without this.
            if value.shape != tensor.shape:
                shapes = f"{tuple(value.shape)}, expected {tuple(tensor.shape)}"
                raise ValueError(f"{name} has torch shape {shapes}")
            tensor.copy_(value)

    def canonical_weights(self) -> dict[str, np.ndarray]:
        """Current parameters and running statistics in canonical layout, as float32 copies."""
        torch_params = {
            name: tensor.detach().cpu().numpy() for name, tensor in self.canonical_tensors().items()
        }
        return canonical_from_torch(torch_params)
