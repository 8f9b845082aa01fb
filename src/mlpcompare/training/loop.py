"""The training loop every framework shares: epochs, timing, early stopping, divergence.

The framework modules (``numpy_mlp``, ``torch_mlp``, ``keras_mlp``) each provide a ``Trainer``
with the small surface described by :class:`Trainer`; this module drives it. Keeping the epoch
loop here means early stopping, the learning-rate schedule, the clock and the divergence check are
literally the same code for all three, and only the work inside an epoch differs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mlpcompare.spec import TrainSpec, batch_order

# The in-run ceiling's slice after each epoch: this share of the epoch's time, within bounds
# (a few calls of each product at least; never long next to a big model's epoch).
CEILING_SHARE = 0.05
CEILING_MIN_S = 0.002
CEILING_MAX_S = 0.5
# A loss this many times the chance level (ln n_classes, what uniform guessing scores) means the
# run has blown up even if it is still finite: an absurd learning rate kills every ReLU and leaves
# logits of 1e6, a loss of 1e6 that never becomes NaN.
DIVERGENCE_FACTOR = 100.0

log = logging.getLogger(__name__)


class Trainer(Protocol):
    """What a framework module's ``Trainer`` offers (all arrays in and out are NumPy).

    Built as ``Trainer(model_spec, train_spec, weights, x_train, y_train, *, seed, device)``:
    ``weights`` in canonical layout (see :mod:`mlpcompare.spec`); the training arrays are moved
    to the framework (and device) once, then indexed by the shared permutation.
    """

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One optimizer step on one batch; returns that batch's loss before the step."""

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """All mini-batches of ``order`` (consecutive blocks of ``batch_size``) at rate ``lr``.

        Returns the sample-weighted mean training loss (cross-entropy + L2 penalty) and accuracy
        over the epoch, measured in training mode on each batch before its update.
        """

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode (no dropout)."""

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits of shape (n, n_out), float32, inference mode."""

    def get_weights(self) -> dict[str, np.ndarray]:
        """Current parameters in canonical layout (copies)."""

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite the parameters (canonical layout); optimizer state is left alone."""

    def save(self, path: str) -> None:
        """Write the model in the framework's own format (.npz, .pt state dict, .keras)."""


@dataclass
class FitResult:
    """What :func:`fit` learned about a run; the training script turns it into files."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0  # 1-based epoch whose weights were kept
    stopped_early: bool = False
    diverged: bool = False
    diverged_epoch: int | None = None
    total_seconds: float = 0.0  # all epochs' training time, validation excluded
    first_epoch_seconds: float = 0.0
    steady_samples_per_s: float = float("nan")
    time_to_target_s: float | None = None  # wall time (training + validation) to reach target
    best_weights: dict[str, np.ndarray] | None = None

    @property
    def status(self) -> str:
        return "diverged" if self.diverged else "ok"


def fit(
    trainer: Trainer,
    n_train: int,
    x_val: np.ndarray,
    y_val: np.ndarray,
    train_spec: TrainSpec,
    seed: int,
    loss_limit: float = math.inf,
    ceiling: Callable[[float], float] | None = None,
) -> FitResult:
    """Train with the shared batch order, schedule and early stopping; keep the best weights.

    Early stopping watches ``train_spec.monitor`` (validation accuracy, higher is better, or
    validation loss, lower is better): after ``patience`` epochs without a strict improvement the
    run stops and the weights of the best epoch are restored. A training or validation loss that
    is not finite or exceeds ``loss_limit`` stops the run as diverged (no exception): the caller
    records it and moves on.

    ``ceiling`` (a :meth:`mlpcompare.measuring.roofline.RunCeiling.measure`), when given, is called after
    every epoch, outside the epoch clock and the time-to-target clock, with a budget of
    CEILING_SHARE of that epoch's time; its samples/s go into the history. The slice after the
    first epoch is recorded but, like that epoch, left out of the run's figures
    (:func:`ceiling_summary`).
    """
    result = FitResult()
    # Scores are "higher is better": the loss enters negated.
    sign = 1.0 if train_spec.monitor == "val_accuracy" else -1.0
    best_score = -math.inf
    since_best = 0
    wall = 0.0
    for epoch in range(train_spec.epochs):
        lr = train_spec.lr_at(epoch)
        order = batch_order(seed, epoch, n_train)
        t0 = time.perf_counter()
        train_loss, train_acc = trainer.train_epoch(order, lr)
        epoch_s = time.perf_counter() - t0
        val_loss, val_acc = trainer.evaluate(x_val, y_val)
        wall += time.perf_counter() - t0
        budget = min(CEILING_MAX_S, max(CEILING_MIN_S, CEILING_SHARE * epoch_s))
        ceiling_rate = ceiling(budget) if ceiling else math.nan
        result.history.append(
            {
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": train_loss,
                "train_accuracy": train_acc,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "epoch_seconds": epoch_s,
                "ceiling_samples_per_s": ceiling_rate,
            }
        )
        result.total_seconds += epoch_s
        if epoch == 0:
            result.first_epoch_seconds = epoch_s
        log.info(
            "epoch %d/%d  lr %.3g  train loss %.4f acc %.4f  val loss %.4f acc %.4f  %.2fs",
            epoch + 1, train_spec.epochs, lr, train_loss, train_acc, val_loss, val_acc, epoch_s,
        )  # fmt: skip
        if diverged(train_loss, val_loss, loss_limit):
            result.diverged, result.diverged_epoch = True, epoch + 1
            log.warning(
                "diverged at epoch %d: loss %.4g (train) / %.4g (val) is not finite or above %.4g",
                epoch + 1, train_loss, val_loss, loss_limit,
            )  # fmt: skip
            break
        if result.time_to_target_s is None and val_acc >= train_spec.target_val_accuracy:
            result.time_to_target_s = wall
        score = sign * (val_acc if train_spec.monitor == "val_accuracy" else val_loss)
        if score > best_score:
            best_score, since_best = score, 0
            result.best_epoch = epoch + 1
            result.best_weights = trainer.get_weights()
        else:
            since_best += 1
            if train_spec.patience and since_best >= train_spec.patience:
                result.stopped_early = True
                log.info("early stop after epoch %d (best: %d)", epoch + 1, result.best_epoch)
                break
    if result.best_weights is not None:
        trainer.set_weights(result.best_weights)
    result.steady_samples_per_s = steady_throughput(result.history, n_train)
    return result


def divergence_limit(n_classes: int) -> float:
    """The loss above which a run of ``n_classes`` classes has diverged (DIVERGENCE_FACTOR
    times chance)."""
    return DIVERGENCE_FACTOR * math.log(n_classes)


def diverged(train_loss: float, val_loss: float, limit: float) -> bool:
    """The divergence rule of every run, tuned or idiomatic: an epoch's training or validation
    loss is not finite or exceeds ``limit`` (:func:`divergence_limit`)."""
    return not all(math.isfinite(loss) and abs(loss) <= limit for loss in (train_loss, val_loss))


def steady(history: list[dict]) -> list[dict]:
    """The epochs after the first (warm-up: tracing, allocation, caches); with a single epoch
    there is no steady state, and that epoch is returned. Throughput and ceiling both take their
    medians over these, so a run's fraction compares the same minutes on both sides."""
    return history[1:] or history


def steady_throughput(history: list[dict], n_train: int) -> float:
    """Median samples/s over the :func:`steady` epochs."""
    seconds = [h["epoch_seconds"] for h in steady(history)]
    if not seconds:
        return float("nan")
    return float(n_train / np.median(seconds))


def ceiling_summary(history: list[dict], steady_samples_per_s: float) -> dict:
    """The in-run ceiling over the :func:`steady` epochs' slices (median, quartiles), and this
    run's fraction of its own framework's ceiling (``roofline_fraction`` in train.json).

    The fraction is never above 1: a trainer that ran faster than its products were timed
    (their timing held a dispatch its compiled epoch does not pay) ran those products at least
    as fast as its whole step, so its steady rate bounds its own ceiling from below.
    """
    rates = [
        h["ceiling_samples_per_s"]
        for h in steady(history)
        if math.isfinite(h.get("ceiling_samples_per_s", math.nan))
    ]
    if not rates:
        return {"ceiling_samples_per_s": None, "ceiling_q1": None, "ceiling_q3": None,
                "roofline_fraction": None}  # fmt: skip
    median = float(np.median(rates))
    q1, q3 = (float(q) for q in np.percentile(rates, [25, 75]))
    own = max(median, steady_samples_per_s)  # NaN (a diverged run's rate) leaves the median
    return {"ceiling_samples_per_s": median, "ceiling_q1": q1, "ceiling_q3": q3,
            "roofline_fraction": steady_samples_per_s / own}  # fmt: skip
