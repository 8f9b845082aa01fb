"""The shared epoch loop, driven by a scripted fake trainer (no framework needed)."""

import math
import time

import numpy as np
import pytest

from mlpcompare.spec import ModelSpec, TrainSpec, batch_order
from mlpcompare.training import loop as training


class ScriptedTrainer:
    """Replays given (train_loss, val_loss, val_acc) per epoch; its 'weights' are the epoch count."""

    framework = "fake"

    def __init__(self, script):
        self.script = list(script)
        self.epoch = 0
        self.orders, self.lrs = [], []
        self.weights = {"W0": np.zeros(1)}

    def train_epoch(self, order, lr):
        self.orders.append(order.copy())
        self.lrs.append(lr)
        self.epoch += 1
        self.weights = {"W0": np.full(1, self.epoch)}
        return self.script[self.epoch - 1][0], 0.5

    def evaluate(self, x, y):
        _, val_loss, val_acc = self.script[self.epoch - 1]
        return val_loss, val_acc

    def get_weights(self):
        return {k: v.copy() for k, v in self.weights.items()}

    def set_weights(self, params):
        self.weights = params


def run(script, **spec_kwargs):
    trainer = ScriptedTrainer(script)
    spec = TrainSpec(**{"epochs": len(script), **spec_kwargs})
    result = training.fit(trainer, 20, np.zeros((2, 1)), np.zeros(2), spec, seed=7)
    return trainer, result


def test_fit_uses_the_shared_batch_order_and_schedule():
    trainer, result = run([(1.0, 1.0, 0.5)] * 3, lr=0.1, lr_decay=0.5)
    for epoch, order in enumerate(trainer.orders):
        assert np.array_equal(order, batch_order(7, epoch, 20))
    assert trainer.lrs == pytest.approx([0.1, 0.05, 0.025])
    assert [h["lr"] for h in result.history] == pytest.approx([0.1, 0.05, 0.025])


def test_early_stopping_on_validation_loss_restores_the_best_epoch():
    script = [(1, 0.9, 0.6), (1, 0.5, 0.8), (1, 0.6, 0.85), (1, 0.7, 0.9), (1, 0.4, 0.95)]
    trainer, result = run(script, patience=2, monitor="val_loss")
    assert result.stopped_early
    assert len(result.history) == 4  # epochs 3 and 4 did not improve on epoch 2
    assert result.best_epoch == 2
    assert trainer.weights["W0"][0] == 2  # weights of epoch 2 restored
    assert result.status == "ok"


def test_early_stopping_on_validation_accuracy_keeps_the_most_accurate_epoch():
    # loss keeps falling while accuracy peaks at epoch 2: accuracy decides
    script = [(1, 0.9, 0.6), (1, 0.8, 0.9), (1, 0.7, 0.9), (1, 0.6, 0.85), (1, 0.5, 0.95)]
    trainer, result = run(script, patience=2, monitor="val_accuracy")
    assert result.stopped_early and len(result.history) == 4  # a tie is not an improvement
    assert result.best_epoch == 2 and trainer.weights["W0"][0] == 2


def test_patience_zero_never_stops_early():
    script = [(1, 0.5, 0.6)] + [(1, 0.9, 0.5)] * 6
    _, result = run(script, patience=0)
    assert not result.stopped_early and len(result.history) == 7


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_is_recorded_as_diverged_not_raised(bad):
    script = [(1, 0.5, 0.6), (bad, 0.4, 0.7), (1, 0.3, 0.8)]
    trainer, result = run(script)
    assert result.diverged and result.diverged_epoch == 2
    assert result.status == "diverged"
    assert len(result.history) == 2
    assert trainer.weights["W0"][0] == 1  # the last finite best is kept


def test_a_finite_loss_far_above_the_limit_counts_as_diverged():
    trainer = ScriptedTrainer([(1.0, 0.9, 0.5), (5e6, 4e6, 0.1), (1.0, 0.5, 0.9)])
    spec = TrainSpec(epochs=3)
    result = training.fit(
        trainer, 20, np.zeros((2, 1)), np.zeros(2), spec, seed=0, loss_limit=230.0
    )
    assert result.diverged and result.diverged_epoch == 2
    assert trainer.weights["W0"][0] == 1


def test_one_divergence_rule_for_tuned_and_idiomatic_runs():
    limit = training.divergence_limit(10)
    assert limit == pytest.approx(100 * math.log(10))  # a hundred times chance
    assert not training.diverged(2.3, 2.2, limit)
    assert training.diverged(limit * 1.01, 2.2, limit)
    assert training.diverged(2.3, float("nan"), limit)
    assert training.diverged(-math.inf, 1.0, limit)


def test_a_split_info_gives_the_network_its_input_and_output_widths():
    arch = {"hidden": [8, 4], "activation": "tanh", "dropout": 0.1}
    model = ModelSpec.from_info(arch, {"n_features": 64, "n_classes": 10})
    assert model == ModelSpec(64, (8, 4), 10, "tanh", 0.1)


def test_time_to_target_is_set_when_validation_accuracy_first_reaches_it():
    script = [(1, 0.9, 0.5), (1, 0.8, 0.97), (1, 0.7, 0.99)]
    _, result = run(script, target_val_accuracy=0.97)
    assert result.time_to_target_s is not None
    assert 0 < result.time_to_target_s <= result.total_seconds + 1.0
    _, never = run(script, target_val_accuracy=0.999)
    assert never.time_to_target_s is None


def test_steady_throughput_skips_the_warm_up_epoch():
    history = [{"epoch_seconds": s} for s in (10.0, 1.0, 2.0, 1.0)]
    assert training.steady_throughput(history, 100) == pytest.approx(100.0)
    assert training.steady_throughput(history[:1], 100) == pytest.approx(10.0)
    assert math.isnan(training.steady_throughput([], 100))


def test_the_in_run_ceiling_is_timed_after_each_epoch_outside_both_clocks():
    budgets = []

    def ceiling(budget):
        budgets.append(budget)
        time.sleep(0.05)  # would show in epoch_seconds or time-to-target if it were counted
        return 1000.0 * len(budgets)

    trainer = ScriptedTrainer([(1.0, 1.0, 0.99)] * 3)
    spec = TrainSpec(epochs=3, target_val_accuracy=0.5)
    result = training.fit(trainer, 20, np.zeros((2, 1)), np.zeros(2), spec, seed=7, ceiling=ceiling)
    assert [h["ceiling_samples_per_s"] for h in result.history] == [1000.0, 2000.0, 3000.0]
    assert all(training.CEILING_MIN_S <= b <= training.CEILING_MAX_S for b in budgets)
    assert result.total_seconds < 0.05 and result.time_to_target_s < 0.05


def test_throughput_and_ceiling_take_the_same_steady_epochs():
    history = [
        {"epoch_seconds": s, "ceiling_samples_per_s": c}
        for s, c in ((10.0, 9e9), (1.0, 300.0), (2.0, 200.0), (1.0, 100.0))
    ]
    assert training.steady(history) == history[1:] and training.steady(history[:1]) == history[:1]
    # Epoch 1's slice (9e9) is out of the ceiling as epoch 1 is out of the throughput.
    summary = training.ceiling_summary(history, training.steady_throughput(history, 100))
    assert summary["ceiling_samples_per_s"] == 200.0 and summary["roofline_fraction"] == 0.5


def test_without_a_ceiling_the_history_says_not_measured():
    _, result = run([(1.0, 1.0, 0.5)] * 2)
    assert all(math.isnan(h["ceiling_samples_per_s"]) for h in result.history)
