"""The PyTorch trainer against hand-written NumPy formulas (float64), on tiny arrays."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference_mlp import (
    FORWARD_SPECS,
    SPEC,
    assert_params_close,
    numpy_forward,
    tiny_problem,
)
from torch import nn

from mlpcompare import frameworks
from mlpcompare.frameworks import torch as torch_mlp
from mlpcompare.frameworks.torch import dropout as torch_dropout
from mlpcompare.spec import BN_EPS, BN_MOMENTUM, ModelSpec, TrainSpec, init_weights

MODEL_FILE = frameworks.get("torch").model_file

cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


BN_SPEC = ModelSpec(5, (4, 3), 3, batch_norm=True)


def make_trainer(ts, x, y, weights, spec=SPEC, seed=0):
    return torch_mlp.Trainer(spec, ts, weights, x, y, seed=seed, device="cpu")


@pytest.mark.parametrize("spec", FORWARD_SPECS.values(), ids=FORWARD_SPECS)
def test_layout_round_trip_and_forward_match_numpy(spec):
    x, y, weights = tiny_problem(spec=spec)
    model = torch_mlp.MLP(spec)
    model.load_canonical(weights)
    assert_params_close(model.canonical_weights(), weights, atol=0)
    want, _ = numpy_forward(weights, x.astype(np.float64), spec.activation)
    # predict runs in eval mode: dropout must be off, whatever its probability.
    got = torch_mlp.predict(model, torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_dropout_is_active_in_training_mode_only():
    spec = ModelSpec(5, (64,), 3, dropout=0.5)
    x, _, weights = tiny_problem(spec=spec)
    model = torch_mlp.MLP(spec)
    model.load_canonical(weights)
    inference = torch_mlp.predict(model, torch.from_numpy(x))
    with torch.no_grad():
        training = model.train()(torch.from_numpy(x))
    assert not torch.allclose(training, inference)


def dropout_output(dropout, x, seed):
    torch.manual_seed(seed)
    return dropout(x)


def test_small_dropout_masks_are_torchs_own_draws_tested_against_the_threshold():
    dropout = torch_mlp.Dropout(0.3).train()
    x = torch.ones(64, 32)  # below PARALLEL_UNITS: torch's generator, as a fresh tensor draws
    torch.manual_seed(7)
    bits = torch.empty(64, 32, dtype=torch.int32).random_()
    want = (bits >= round(0.3 * 2**31)).float() / 0.7
    torch.testing.assert_close(dropout_output(dropout, x, 7), want, rtol=0, atol=0)
    # a smaller batch reuses the first rows of the storage, and still draws like a fresh tensor
    torch.testing.assert_close(dropout_output(dropout, x[:10], 7), want[:10], rtol=0, atol=0)


def test_large_dropout_masks_drop_p_repeat_with_the_seed_and_ignore_the_thread_count():
    x = torch.ones(1024, torch_dropout.PARALLEL_UNITS // 1024)  # drawn in chunks on threads
    threads = torch.get_num_threads()
    masks = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            torch_dropout._mask_pool.cache_clear()
            dropout = torch_mlp.Dropout(0.2, layer=1).train()
            masks += [dropout_output(dropout, x, 3), dropout(x)]
    finally:
        torch.set_num_threads(threads)
        torch_dropout._mask_pool.cache_clear()
    first, second, first_again, _ = masks
    assert set(first.unique().tolist()) == {0.0, 1.25}
    assert abs((first == 0).float().mean().item() - 0.2) < 0.002
    assert not torch.equal(first, second)  # each step a new mask
    assert torch.equal(first, first_again)  # same seed, other thread count: same mask
    # another layer draws from other generators
    assert not torch.equal(first, dropout_output(torch_mlp.Dropout(0.2, layer=2).train(), x, 3))


def test_dropout_gradient_is_its_own_steps_mask_and_two_forwards_are_refused():
    dropout = torch_mlp.Dropout(0.5).train()
    for seed in (1, 2):  # the second step overwrites the first step's storage
        x = torch.ones(8, 16, requires_grad=True)
        out = dropout_output(dropout, x, seed)
        out.sum().backward()
        torch.testing.assert_close(x.grad, out.detach(), rtol=0, atol=0)  # d(x*mask)/dx = mask
    x = torch.ones(8, 16, requires_grad=True)
    first = dropout(x)
    dropout(x)  # overwrites the mask the first output's backward needs
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        first.sum().backward()


def test_load_canonical_rejects_a_transposed_weight():
    _, _, weights = tiny_problem()
    weights["W0"] = weights["W0"].T.copy()
    with pytest.raises(ValueError, match="W0"):
        torch_mlp.MLP(SPEC).load_canonical(weights)


def test_load_canonical_refuses_arrays_the_model_has_no_place_for():
    with pytest.raises(ValueError, match="gamma0"):
        torch_mlp.MLP(SPEC).load_canonical(init_weights(BN_SPEC, 0))
    with pytest.raises(ValueError, match="gamma0"):
        torch_mlp.MLP(BN_SPEC).load_canonical(init_weights(SPEC, 0))


def test_a_model_without_batch_norm_keeps_the_state_dict_of_saved_models():
    keys = set(torch_mlp.MLP(SPEC).state_dict())
    assert keys == {
        f"{layer}.{p}" for layer in ("hidden.0", "hidden.1", "output") for p in ("weight", "bias")
    }


def test_batch_norm_running_variance_is_the_biased_one_unlike_batchnorm1d():
    z = torch.randn(6, 4, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    ours, theirs = torch_mlp.BatchNorm(4), nn.BatchNorm1d(4, eps=BN_EPS, momentum=BN_MOMENTUM)
    torch.testing.assert_close(ours(z), theirs(z))  # the same normalisation in training mode
    biased = z.var(dim=0, correction=0)
    torch.testing.assert_close(ours.var, (1 - BN_MOMENTUM) + BN_MOMENTUM * biased)
    torch.testing.assert_close(theirs.running_var, (1 - BN_MOMENTUM) + BN_MOMENTUM * biased * 6 / 5)
    torch.testing.assert_close(ours.mean, theirs.running_mean)


def test_batch_norm_trains_on_a_one_row_batch():
    # A last partial batch can hold one row: its variance is 0 and BatchNorm outputs beta.
    x, y, weights = tiny_problem(n=1, spec=BN_SPEC)
    weights["beta0"] = np.array([0.5, -0.5, 0.25, 1.0], dtype=np.float32)
    trainer = make_trainer(TrainSpec(), x, y, weights, spec=BN_SPEC)
    norm = trainer.model.norms[0]
    norm.train()
    z = trainer.model.hidden[0](torch.from_numpy(x))
    # z - mean is 0 to within an ulp of z, which 1/sqrt(BN_EPS) ~ 316 magnifies.
    np.testing.assert_allclose(norm(z).detach().numpy()[0], weights["beta0"], rtol=0, atol=1e-4)
    assert np.isfinite(trainer.step(x, y, lr=0.01))
    assert all(np.isfinite(v).all() for v in trainer.get_weights().values())


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_optimizer_decays_the_weight_matrices_only(optimizer):
    model = torch_mlp.MLP(BN_SPEC)
    opt = torch_mlp.build_optimizer(model, TrainSpec(optimizer=optimizer, weight_decay=0.3))
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] for p in g["params"]}
    assert decayed == {id(layer.weight) for layer in model.linears()}
    grouped = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())  # each one, once
    assert all(g["weight_decay"] in (0.0, 0.3) for g in opt.param_groups)
    want = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    assert type(opt) is want[optimizer]
    if optimizer != "sgd":
        assert all(g["eps"] == TrainSpec().eps for g in opt.param_groups)


def test_fused_and_unfused_adamw_agree():
    # The idiomatic loop asks build_optimizer for torch's unfused implementation.
    x, y, weights = tiny_problem(spec=BN_SPEC)
    ts = TrainSpec(optimizer="adamw", weight_decay=0.3)
    results = []
    for fused in (True, False):
        model = torch_mlp.MLP(BN_SPEC)
        model.load_canonical(weights)
        opt = torch_mlp.build_optimizer(model, ts, fused=fused)
        for _ in range(2):
            opt.zero_grad()
            F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            opt.step()
        results.append(model.canonical_weights())
    assert_params_close(results[0], results[1], atol=1e-6)


def test_saved_state_dict_holds_batch_norm_parameters_and_running_stats(tmp_path):
    x, y, weights = tiny_problem(spec=BN_SPEC)
    trainer = make_trainer(TrainSpec(optimizer="adamw"), x, y, weights, spec=BN_SPEC)
    trainer.step(x, y, lr=0.01)
    path = tmp_path / MODEL_FILE
    trainer.save(str(path))
    state = torch.load(path, weights_only=True)
    trained = trainer.get_weights()
    for i in range(len(BN_SPEC.hidden)):
        for name in ("gamma", "beta", "mean", "var"):
            np.testing.assert_array_equal(state[f"norms.{i}.{name}"].numpy(), trained[f"{name}{i}"])
    # One training step moved the running statistics away from their initial values.
    assert not np.allclose(trained["mean0"], weights["mean0"])
    assert not np.allclose(trained["var0"], weights["var0"])
    loaded = torch_mlp.load_model(str(path), BN_SPEC, "cpu")
    np.testing.assert_array_equal(loaded.predict_logits(x), trainer.predict_logits(x))


@cuda_only
def test_batch_norm_buffers_follow_the_model_to_cuda_and_back(tmp_path):
    x, y, weights = tiny_problem(spec=BN_SPEC)
    # eps as in test_batchnorm_optimizers.py: the biases feeding a BatchNorm have a zero gradient
    # that float32 computes as rounding noise, which Adam with eps 1e-7 turns into steps of ~lr,
    # different noise on each device (it failed so on an H200: b0 off by 0.02).
    ts = TrainSpec(optimizer="adamw", weight_decay=0.1, eps=1e-3, batch_size=5)
    order = np.arange(len(x))
    results = {}
    for device in ("cpu", "cuda"):
        trainer = torch_mlp.Trainer(BN_SPEC, ts, weights, x, y, seed=0, device=device)
        assert all(t.device.type == device for t in trainer.model.state_dict().values())
        trainer.train_epoch(order, lr=0.01)
        results[device] = trainer.get_weights()
    assert_params_close(results["cuda"], results["cpu"], atol=1e-5)
    path = str(tmp_path / MODEL_FILE)
    trainer.save(path)
    on_cpu = torch_mlp.load_model(path, BN_SPEC, "cpu").predict_logits(x)
    np.testing.assert_allclose(on_cpu, trainer.predict_logits(x), rtol=0, atol=1e-5)


UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append("code ran")


class _Payload:
    """Unpickling this calls a function of ours: the shape of an arbitrary-code exploit."""

    def __reduce__(self):
        return _record_unpickling, ()  # a module-level function is pickled by reference


def test_load_refuses_arbitrary_pickled_objects(tmp_path):
    path = tmp_path / MODEL_FILE
    torch.save({"output.weight": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch_mlp.load_model(str(path), SPEC, "cpu")
    assert UNPICKLED == []


def test_resolve_device_picks_cuda_when_torch_has_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_mlp.resolve_device("auto") == "cuda"


def test_configure_threads_and_environment():
    before = torch.get_num_threads()
    try:
        torch_mlp.configure_threads(1)
        torch_mlp.configure_threads(1)  # a second call must not fail on the inter-op setting
        env = torch_mlp.environment()
    finally:
        torch.set_num_threads(before)
    assert env["framework"] == "torch" and env["version"] == torch.__version__
    assert env["threads"] == 1
    assert env["device"] == (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
