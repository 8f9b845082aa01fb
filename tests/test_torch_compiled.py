"""The PyTorch trainer's compiled step (torch.compile on the CPU) against its eager step and the
NumPy reference, and everything of the CUDA-graph path that runs without a GPU."""

import inspect
import shutil

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters

from mlpcompare.frameworks import torch as torch_mlp
from mlpcompare.frameworks.torch import compiled, runtime
from mlpcompare.measuring.roofline import RunCeiling
from mlpcompare.spec import ModelSpec, TrainSpec, batch_order, init_weights

TOL = 1e-5  # tests/test_parity.py's bound


def problem(dropout=0.0, n=200):
    rng = np.random.default_rng(0)
    x = rng.random((n, 12), dtype=np.float32)
    y = rng.integers(0, 4, n).astype(np.int64)
    model_spec = ModelSpec(12, (10, 8), 4, dropout=dropout)
    return model_spec, init_weights(model_spec, 0), x, y


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def test_each_device_has_its_default_and_an_explicit_choice_wins():
    assert compiled.compiles(torch.device("cpu"), None) is compiled.COMPILE_BY_DEFAULT["cpu"]
    assert compiled.compiles(torch.device("cuda"), None) is compiled.COMPILE_BY_DEFAULT["cuda"]
    assert compiled.compiles(torch.device("cpu"), True) is True
    assert compiled.compiles(torch.device("cuda"), False) is False
    model_spec, weights, x, y = problem()
    trainer = torch_mlp.Trainer(model_spec, TrainSpec(), weights, x, y, seed=0, device="cpu")
    assert trainer.compiled is compiled.COMPILE_BY_DEFAULT["cpu"]


def test_the_compile_cache_stays_out_of_the_source_tree(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    assert compiled.use_compile_cache().startswith(str(tmp_path))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/elsewhere")
    assert compiled.use_compile_cache() == "/elsewhere"


def test_drawing_dropout_bits_ahead_gives_the_eager_forwards_masks():
    model_spec, weights, x, _ = problem(dropout=0.3)
    model = torch_mlp.MLP(model_spec).train()
    model.load_canonical(weights)
    xb = torch.from_numpy(x[:32])
    with torch.no_grad():
        torch.manual_seed(3)
        eager = model(xb)
        torch.manual_seed(3)
        ahead = model(xb, model.draw_dropout_bits(len(xb)))
    torch.testing.assert_close(ahead, eager, rtol=0, atol=0)
    assert torch_mlp.MLP(ModelSpec(12, (10,), 4)).draw_dropout_bits(5) is None


def test_a_tensor_learning_rate_is_set_in_place():
    model_spec, weights, x, y = problem()
    trainer = torch_mlp.Trainer(model_spec, TrainSpec(), weights, x, y, seed=0, device="cpu",
                                compile=True)  # fmt: skip
    rates = [group["lr"] for group in trainer.optimizer.param_groups]
    trainer._set_lr(0.25)
    assert all(
        group["lr"] is rate
        for group, rate in zip(trainer.optimizer.param_groups, rates, strict=True)
    )
    assert all(float(rate) == 0.25 for rate in rates)


def test_warm_up_for_capture_leaves_the_run_as_it_was():
    """The CUDA graph's warm-up steps, run and undone on the CPU: the next epoch is bit for bit
    a fresh trainer's."""
    model_spec, weights, x, y = problem(dropout=0.2)
    train_spec = TrainSpec(optimizer="adam", batch_size=50)
    order = batch_order(1, 0, len(x))
    fresh = torch_mlp.Trainer(model_spec, train_spec, weights, x, y, seed=0, device="cpu")
    want = fresh.train_epoch(order, 1e-2), fresh.get_weights()
    warmed = torch_mlp.Trainer(model_spec, train_spec, weights, x, y, seed=0, device="cpu")
    warmed.batch[0].copy_(warmed.x[:50])
    warmed.batch[1].copy_(warmed.y[:50])
    warmed.model.train()
    compiled.warm_up(warmed.model, warmed.optimizer, warmed._eager_full_step, 3)
    got = warmed.train_epoch(order, 1e-2), warmed.get_weights()
    assert got[0] == want[0]
    assert max_diff(got[1], want[1]) == 0


def test_a_cuda_trainer_takes_the_graph_path(monkeypatch):
    """Path selection up to the device boundary: a CUDA trainer's full batches go to
    CudaGraphStep, built once from the eager step."""
    model_spec, weights, x, y = problem()
    trainer = torch_mlp.Trainer(model_spec, TrainSpec(batch_size=50), weights, x, y, seed=0,
                                device="cpu", compile=True)  # fmt: skip
    built = []

    class Recorder:
        def __init__(self, model, optimizer, eager_step):
            built.append(eager_step)

        def __call__(self):
            built[0]()

    monkeypatch.setattr("mlpcompare.frameworks.torch.trainer.CudaGraphStep", Recorder)
    trainer.batch[0].copy_(trainer.x[:50])
    trainer.batch[1].copy_(trainer.y[:50])
    trainer.device = torch.device("cuda")  # only the choice of step reads it here
    trainer.model.train()
    for _ in range(2):
        trainer._compiled_step()
    assert built == [trainer._eager_full_step]


def test_step_products_take_steps_and_the_cpu_ignores_them():
    assert "steps" in inspect.signature(torch_mlp.step_products).parameters
    model_spec = ModelSpec(12, (10, 8), 4)
    ceiling = RunCeiling(model_spec, 16, torch_mlp.step_products, "cpu")
    assert ceiling.steps == 1
    assert ceiling.measure(0.0) > 0
    pairs = [(np.zeros((128, 784), np.float32), np.zeros((784, 256), np.float32))]
    per_step = 4 * (128 * 784 + 784 * 256 + 128 * 256)
    assert runtime.operand_sets(pairs, 32) == 32
    assert runtime.operand_sets(pairs, 32, budget=3 * per_step + 1) == 3
    assert runtime.operand_sets(pairs, 32, budget=1) == 1


needs_compiler = pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++")), reason="inductor needs a C++ compiler"
)


@needs_compiler
def test_compiled_step_on_the_cpu_keeps_dropout_parity_and_never_recompiles():
    """One compile (tiny shapes, dropout on): whole epochs at a changing rate, a last smaller
    batch (eager), and a single step all match the eager trainer's, whose NumPy parity
    tests/test_parity.py checks; masks from the same bits, no graph added by a new rate."""
    model_spec, weights, x, y = problem(dropout=0.3)
    train_spec = TrainSpec(optimizer="adam", batch_size=64, lr=1e-2)
    make = {mode: torch_mlp.Trainer(model_spec, train_spec, weights, x, y, seed=0,
                                    device="cpu", compile=mode)
            for mode in (False, True)}  # fmt: skip
    results = {}
    for mode, trainer in make.items():
        torch.manual_seed(0)  # each trainer from the seeded stream it was built with
        epochs, graphs = [], []
        for epoch in range(2):  # a new rate each epoch
            try:
                epochs.append(
                    trainer.train_epoch(batch_order(0, epoch, len(x)), 1e-2 / (epoch + 1))
                )
            except torch._dynamo.exc.BackendCompilerFailed as err:
                pytest.skip(f"inductor cannot compile here: {err}")
            graphs.append(counters["stats"]["unique_graphs"])
        step = trainer.step(x[:64], y[:64], 1e-3)
        results[mode] = epochs, step, trainer.get_weights(), graphs
    eager, eager_step, eager_w, _ = results[False]
    comp, comp_step, comp_w, graphs = results[True]
    assert max_diff(comp_w, eager_w) <= TOL
    np.testing.assert_allclose(comp, eager, rtol=0, atol=TOL)
    assert comp_step == pytest.approx(eager_step, abs=TOL)
    assert graphs[1] == graphs[0]  # epoch 2's rate compiled nothing
