"""BatchNorm and AdamW in every framework against the float64 NumPy reference
(tests/reference_mlp.py): training steps with their running statistics, decoupled weight decay
and the loss it reports, inference with the running statistics, and saved BatchNorm models."""

import numpy as np
import pytest
from reference_mlp import (
    BN_SPEC,
    SPEC,
    assert_params_close,
    numpy_adam,
    numpy_adamw,
    numpy_cross_entropy,
    numpy_forward,
    numpy_running_stats,
    numpy_sgd,
    numpy_train_forward,
    tiny_problem,
)

from mlpcompare import frameworks
from mlpcompare.spec import ModelSpec, TrainSpec

pytestmark = pytest.mark.parametrize("framework", frameworks.NAMES)

BN_DROPOUT_SPEC = ModelSpec(n_in=5, hidden=(4, 3), n_out=3, dropout=0.5, batch_norm=True)
# A Linear bias feeding a BatchNorm has a zero gradient (the batch mean cancels it), which float32
# computes as rounding noise of ~1e-9; Adam with eps = 1e-7 would turn that noise into steps of
# ~lr / 10. An eps of 1e-3 keeps them below 1e-7 and is still small next to the real gradients.
BN_ADAM_EPS = 1e-3
# (optimizer recipe, learning rates of two steps) for the BatchNorm step tests.
RECIPES = {
    "adam": (TrainSpec(optimizer="adam", weight_decay=0.1, eps=BN_ADAM_EPS), [0.01, 0.004]),
    "adamw": (TrainSpec(optimizer="adamw", weight_decay=0.1, eps=BN_ADAM_EPS), [0.01, 0.004]),
    "sgd-momentum": (TrainSpec(optimizer="sgd", momentum=0.9, weight_decay=0.1), [0.5, 0.2]),
}
REFERENCE_STEPS = {"adam": numpy_adam, "adamw": numpy_adamw, "sgd": numpy_sgd}


def make_trainer(framework, ts, x, y, weights, spec=SPEC, seed=0):
    module = frameworks.get(framework).trainer_module()
    return module.Trainer(spec, ts, weights, x, y, seed=seed, device="cpu")


def as_float64(params):
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


@pytest.mark.parametrize("recipe", RECIPES)
def test_batch_norm_steps_match_the_reference_parameters_and_running_stats(framework, recipe):
    ts, lrs = RECIPES[recipe]
    x, y, weights = tiny_problem(spec=BN_SPEC)
    trainer = make_trainer(framework, ts, x, y, weights, spec=BN_SPEC)
    reference = REFERENCE_STEPS[ts.optimizer]
    for n_steps in (1, 2):  # the second step has a different lr: each call's lr must be applied
        trainer.step(x, y, lrs[n_steps - 1])
        want = reference(weights, x, y, lrs[:n_steps], ts)
        # get_weights returns every canonical array: gamma, beta and the running statistics too.
        assert_params_close(trainer.get_weights(), want, atol=1e-5)


def test_two_adamw_steps_decay_the_weights_only(framework):
    ts = TrainSpec(optimizer="adamw", weight_decay=0.1, beta1=0.8, beta2=0.95)
    x, y, weights = tiny_problem()  # non-zero biases: decaying one would move it by lr * 0.1 * b
    trainer = make_trainer(framework, ts, x, y, weights)
    lrs = [0.01, 0.004]
    for lr in lrs:
        trainer.step(x, y, lr)
    want = numpy_adamw(weights, x, y, lrs, ts)
    assert_params_close(trainer.get_weights(), want, atol=1e-5)
    # The test can tell decoupled decay from the L2 penalty that Adam adds to the gradient.
    coupled = numpy_adam(weights, x, y, lrs, ts)
    assert not np.allclose(want["W0"], coupled["W0"], rtol=0, atol=1e-4)


def test_adamw_reports_the_loss_without_penalty(framework):
    wd = 0.3
    x, y, weights = tiny_problem()
    logits, _ = numpy_forward(as_float64(weights), x.astype(np.float64))
    cross_entropy, _ = numpy_cross_entropy(logits, y)
    penalty = wd / 2 * sum(np.sum(as_float64(weights)[f"W{i}"] ** 2) for i in range(3))
    assert penalty > 0.1  # large enough that a penalised loss could not pass for the plain one
    ts = TrainSpec(optimizer="adamw", weight_decay=wd, batch_size=len(x))
    by_step = make_trainer(framework, ts, x, y, weights)
    assert by_step.step(x, y, lr=1e-3) == pytest.approx(cross_entropy, abs=1e-5)
    # The epoch path reports the same loss (one batch holding every sample).
    by_epoch = make_trainer(framework, ts, x, y, weights)
    loss, _ = by_epoch.train_epoch(np.arange(len(x)), lr=1e-3)
    assert loss == pytest.approx(cross_entropy, abs=1e-5)


def test_inference_uses_the_running_statistics(framework):
    ts, lrs = RECIPES["adam"]
    x, y, weights = tiny_problem(spec=BN_SPEC)
    trainer = make_trainer(framework, ts, x, y, weights, spec=BN_SPEC)
    x64 = x.astype(np.float64)
    initial, _ = numpy_forward(as_float64(weights), x64)  # running stats: zeros and ones
    np.testing.assert_allclose(trainer.predict_logits(x), initial, rtol=0, atol=1e-5)

    trainer.step(x, y, lrs[0])
    after = numpy_adam(weights, x, y, lrs[:1], ts)
    want, _ = numpy_forward(after, x64)
    batch_stats_logits, _, _ = numpy_train_forward(after, x64)
    assert not np.allclose(want, batch_stats_logits, rtol=0, atol=1e-2)  # the test can tell
    np.testing.assert_allclose(trainer.predict_logits(x), want, rtol=0, atol=1e-5)
    loss, accuracy = trainer.evaluate(x, y)
    assert loss == pytest.approx(numpy_cross_entropy(want, y)[0], abs=1e-5)
    assert accuracy == pytest.approx(np.mean(want.argmax(axis=1) == y))
    # Inference passes must leave the running statistics where the training step put them.
    assert_params_close(trainer.get_weights(), after, atol=1e-5)


def test_batch_norm_with_dropout_in_training_and_inference(framework):
    """Linear -> BatchNorm -> activation -> dropout: the first BatchNorm's statistics come before
    any dropout, the second's from dropped-out activations; inference uses neither dropout nor
    batch statistics."""
    x, y, weights = tiny_problem(spec=BN_DROPOUT_SPEC)
    trainer = make_trainer(framework, TrainSpec(), x, y, weights, spec=BN_DROPOUT_SPEC)
    trainer.step(x, y, lr=0.01)
    got = trainer.get_weights()
    without_dropout = numpy_running_stats(as_float64(weights), x.astype(np.float64))
    for name in ("mean0", "var0"):
        np.testing.assert_allclose(got[name], without_dropout[name], rtol=0, atol=1e-5)
    assert not np.allclose(got["mean1"], without_dropout["mean1"], rtol=0, atol=1e-4)

    want, _ = numpy_forward(as_float64(got), x.astype(np.float64))
    logits = trainer.predict_logits(x)
    np.testing.assert_allclose(logits, want, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(trainer.predict_logits(x), logits)  # no random mask


def test_save_and_load_keep_batch_norm(framework, tmp_path):
    x, y, weights = tiny_problem(spec=BN_DROPOUT_SPEC)
    ts = TrainSpec(eps=BN_ADAM_EPS)
    trainer = make_trainer(framework, ts, x, y, weights, spec=BN_DROPOUT_SPEC)
    for lr in (0.01, 0.004):  # running statistics far from their initial zeros and ones
        trainer.step(x, y, lr)
    path = str(tmp_path / frameworks.get(framework).model_file)
    trainer.save(path)
    module = frameworks.get(framework).trainer_module()
    predictor = module.load_model(path, BN_DROPOUT_SPEC, "cpu")
    want = trainer.predict_logits(x)
    # The APIs first: none may rely on predict_logits having set inference mode.
    for name, api in predictor.inference_apis().items():
        np.testing.assert_allclose(api(x), want, rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(predictor.predict_logits(x), want)
    # ...and what both give is the inference forward pass with the trained running statistics.
    reference, _ = numpy_forward(as_float64(trainer.get_weights()), x.astype(np.float64))
    np.testing.assert_allclose(want, reference, rtol=0, atol=1e-5)
