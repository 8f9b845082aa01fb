"""The PyTorch trainer against hand-written NumPy formulas (float64), on tiny arrays."""

import pickle

import numpy as np
import pytest
import torch
from reference_mlp import (
    FORWARD_SPECS,
    SPEC,
    assert_params_close,
    numpy_forward,
    tiny_problem,
)

from mlpcompare import torch_mlp
from mlpcompare.spec import ModelSpec

cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


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


def test_load_canonical_rejects_a_transposed_weight():
    _, _, weights = tiny_problem()
    weights["W0"] = weights["W0"].T.copy()
    with pytest.raises(ValueError, match="W0"):
        torch_mlp.MLP(SPEC).load_canonical(weights)


UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append("code ran")


class _Payload:
    """Unpickling this calls a function of ours: the shape of an arbitrary-code exploit."""

    def __reduce__(self):
        return _record_unpickling, ()  # a module-level function is pickled by reference


def test_load_refuses_arbitrary_pickled_objects(tmp_path):
    path = tmp_path / torch_mlp.MODEL_FILE
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
