"""The MLP trained the way pytorch/examples ``mnist/main.py`` does: the idiomatic PyTorch path.

A ``TensorDataset`` in a shuffling ``DataLoader`` (each batch collated from single samples, moved
to the device at the batch boundary), ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()`` and ``running_loss += loss.item()`` per batch, ``torch.optim``'s default
implementation. :class:`mlpcompare.torch_mlp.Trainer` is the tuned version (tensors on the device
once, indexed by the shared permutation, fused optimizer, one device sync per epoch).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from mlpcompare.spec import ModelSpec, TrainSpec
from mlpcompare.torch_mlp import MLP, build_optimizer

API = "TensorDataset + DataLoader(shuffle=True) + training loop, torch.optim default implementation"
log = logging.getLogger(__name__)
# The loss this loop reports is the criterion's alone: weight_decay never enters the loss.
LOSS_INCLUDES_PENALTY = False


def train_epoch(model: MLP, device: torch.device, loader: DataLoader, optimizer) -> float:
    """One pass over ``loader``; the mean of the batch losses, as the loop reports it."""
    model.train()
    running_loss = 0.0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    return running_loss / len(loader)


def train_epochs(
    model_spec: ModelSpec,
    train_spec: TrainSpec,
    weights: dict[str, np.ndarray],
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    seed: int,
    device: str,
    epochs: int,
) -> list[dict]:
    """Train ``epochs`` epochs from ``weights`` (canonical layout) on ``x_train`` (n, n_in).

    Returns per epoch ``epoch``, ``epoch_seconds`` and ``train_loss`` (mean batch cross-entropy).
    """
    torch.manual_seed(seed)  # dropout masks
    device = torch.device(device)
    model = MLP(model_spec, dropout=torch.nn.Dropout)
    model.load_canonical(weights)
    model.to(device)
    optimizer = build_optimizer(model, train_spec, fused=False)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=train_spec.lr_decay)
    dataset = TensorDataset(
        torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.int64)
    )
    # Its own seeded generator: the batch order does not depend on anything else drawing.
    loader = DataLoader(
        dataset,
        batch_size=train_spec.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, device, loader, optimizer)
        seconds = time.perf_counter() - start  # loss.item() waited for the device every batch
        scheduler.step()
        history.append({"epoch": epoch, "epoch_seconds": seconds, "train_loss": train_loss})
        log.info("epoch %d/%d  train loss %.4f  %.2fs", epoch, epochs, train_loss, seconds)
    return history
