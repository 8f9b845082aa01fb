"""The MLP trained the way pytorch/examples ``mnist/main.py`` does: the idiomatic PyTorch path.

An ``nn.Sequential`` of torch's own layers (``nn.BatchNorm1d``, ``nn.Dropout``), a
``TensorDataset`` in a shuffling ``DataLoader`` (each batch collated from single samples, moved to
the device at the batch boundary), ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()`` and ``running_loss += loss.item()`` per batch, ``torch.optim``'s default
implementation with ``lr_scheduler.ExponentialLR``, a ``model.eval()`` / ``torch.no_grad()``
validation pass after each epoch, and early stopping by hand on a copy of the best
``state_dict()`` (torch has none built in). :class:`mlpcompare.frameworks.torch.Trainer` is the tuned
version (tensors on the device once, indexed by the shared permutation, fused optimizer, one
device sync per epoch).

One convention differs from the tuned trainer: ``nn.BatchNorm1d`` moves its running variance
towards the batch's *unbiased* variance (``n / (n - 1)`` times the biased one the spec uses);
training is the same, inference normalises by a variance larger by that factor (under 1 % at
batch 128).
"""

from __future__ import annotations

import copy
import logging
import time
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mlpcompare.frameworks.torch.model import MLP
from mlpcompare.io import atomic_path
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    ModelSpec,
    TrainSpec,
    canonical_from_torch,
    torch_layout,
)
from mlpcompare.training.loop import FitResult

API = (
    "nn.Sequential + DataLoader(shuffle=True) + training loop, torch.optim default "
    "implementation, lr_scheduler.ExponentialLR, early stopping by hand"
)
INFERENCE_API = "module_call_no_grad"  # model.eval(); with torch.no_grad(): model(x)
log = logging.getLogger(__name__)
# The loss this loop reports is the criterion's alone: weight_decay never enters the loss.
LOSS_INCLUDES_PENALTY = False

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def build_model(spec: ModelSpec) -> nn.Sequential:
    """Linear, BatchNorm1d (if on), activation, Dropout (if p > 0) per hidden layer; Linear."""
    layers: list[nn.Module] = []
    for n_in, n_out in pairwise(spec.layer_sizes[:-1]):
        layers.append(nn.Linear(n_in, n_out))
        if spec.batch_norm:
            layers.append(nn.BatchNorm1d(n_out, eps=BN_EPS, momentum=BN_MOMENTUM))
        layers.append(ACTIVATIONS[spec.activation]())
        if spec.dropout > 0:
            layers.append(nn.Dropout(spec.dropout))
    layers.append(nn.Linear(spec.layer_sizes[-2], spec.n_out))
    return nn.Sequential(*layers)


def canonical_tensors(model: nn.Sequential) -> dict[str, torch.Tensor]:
    """Canonical name -> the tensor holding it (torch layout): how the shared initial weights
    get in and the tuned model file gets written; a user starting from scratch needs neither."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    norms = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    tensors = {}
    for i, layer in enumerate(linears):
        tensors[f"W{i}"], tensors[f"b{i}"] = layer.weight, layer.bias
    for i, norm in enumerate(norms):
        tensors.update({f"gamma{i}": norm.weight, f"beta{i}": norm.bias})
        tensors.update({f"mean{i}": norm.running_mean, f"var{i}": norm.running_var})
    return tensors


@torch.no_grad()
def load_canonical(model: nn.Sequential, weights: dict) -> None:
    tensors = canonical_tensors(model)
    for name, value in torch_layout(weights).items():
        tensors[name].copy_(torch.as_tensor(value, dtype=torch.float32))


def save(model: nn.Sequential, spec: ModelSpec, path: str) -> None:
    """Write the tuned run's format: the state dict of :class:`mlpcompare.frameworks.torch.MLP`."""
    tuned = MLP(spec)
    tensors = canonical_tensors(model)
    tuned.load_canonical(
        canonical_from_torch({name: t.detach().cpu().numpy() for name, t in tensors.items()})
    )
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(tuned.state_dict(), tmp)


def build_optimizer(model: nn.Sequential, train_spec: TrainSpec) -> torch.optim.Optimizer:
    """SGD, Adam or AdamW; ``weight_decay`` on the Linear weights only (not biases, BatchNorm)."""
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    decayed = {id(w) for w in weights}
    groups = [
        {"params": weights, "weight_decay": train_spec.weight_decay},
        {"params": [p for p in model.parameters() if id(p) not in decayed], "weight_decay": 0.0},
    ]
    if train_spec.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=train_spec.lr, momentum=train_spec.momentum)
    adam = torch.optim.AdamW if train_spec.optimizer == "adamw" else torch.optim.Adam
    betas = (train_spec.beta1, train_spec.beta2)
    return adam(groups, lr=train_spec.lr, betas=betas, eps=train_spec.eps)


def train_epoch(model, device, loader, optimizer) -> tuple[float, float]:
    """One pass over ``loader``: mean batch loss and accuracy, as the loop reports them."""
    model.train()
    running_loss, correct = 0.0, 0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * len(data)
        correct += (output.argmax(dim=1) == target).sum().item()
    return running_loss / len(loader.dataset), correct / len(loader.dataset)


def test(model, device, loader) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in evaluation mode."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(dim=1) == target).sum().item()
    return loss / len(loader.dataset), correct / len(loader.dataset)


def loader(x, y, batch_size: int, **kwargs) -> DataLoader:
    dataset = TensorDataset(
        torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    )
    return DataLoader(dataset, batch_size=batch_size, **kwargs)


def fit(model_spec, train_spec, weights, data, *, seed, device, model_path) -> FitResult:
    """Train with the full recipe; write the best epoch's model to ``model_path`` (.pt)."""
    torch.manual_seed(seed)  # dropout masks
    device = torch.device(device)
    model = build_model(model_spec)
    load_canonical(model, weights)
    model.to(device)
    optimizer = build_optimizer(model, train_spec)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=train_spec.lr_decay)
    # Its own seeded generator: the batch order does not depend on anything else drawing.
    generator = torch.Generator().manual_seed(seed)
    train_loader = loader(data["x_train"], data["y_train"], train_spec.batch_size,
                          shuffle=True, generator=generator)  # fmt: skip
    val_loader = loader(data["x_val"], data["y_val"], 1000)
    result, best_score, since_best = FitResult(), float("-inf"), 0
    best_state = None  # the last weights are kept if no epoch ever scores (a NaN loss)
    for epoch in range(1, train_spec.epochs + 1):
        lr = scheduler.get_last_lr()[0]
        start = time.perf_counter()
        train_loss, train_acc = train_epoch(model, device, train_loader, optimizer)
        seconds = time.perf_counter() - start  # loss.item() waited for the device every batch
        val_loss, val_acc = test(model, device, val_loader)
        scheduler.step()
        result.history.append({
            "epoch": epoch, "lr": lr, "train_loss": train_loss, "train_accuracy": train_acc,
            "val_loss": val_loss, "val_accuracy": val_acc, "epoch_seconds": seconds,
        })  # fmt: skip
        log.info("epoch %d: %s", epoch, result.history[-1])
        score = val_acc if train_spec.monitor == "val_accuracy" else -val_loss
        if score > best_score:
            best_score, since_best, result.best_epoch = score, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if train_spec.patience and since_best >= train_spec.patience:
                result.stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    save(model, model_spec, model_path)
    return result
