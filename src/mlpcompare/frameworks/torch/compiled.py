"""The tuned trainer's step, compiled: ``torch.compile`` on the CPU, one CUDA graph on a GPU.

A step here is a full batch already gathered into the trainer's batch buffers: the L2 penalty
(reported only), forward, loss, backward and optimizer update, with the batch's loss and correct
count added into the trainer's accumulators on the device. The learning rate is a 0-d tensor
the optimizer reads (:func:`~mlpcompare.frameworks.torch.optim.build_optimizer`), so a new rate
is a new value in that tensor: never a recompile or a recapture.

* :class:`CompiledStep` (any device, the CPU's choice when it compiles): forward and loss in one
  graph, whose backward AOTAutograd compiles with it, and the optimizer's update in a second
  (``loss.backward()`` is a graph break; the docs' recipe for the optimizer is its own
  ``torch.compile``). Dropout bits are drawn before the graph (:meth:`MLP.draw_dropout_bits`).
* :class:`CudaGraphStep` (CUDA only): the whole eager step captured once into a CUDA graph and
  replayed per batch, one launch where the eager step issues some hundred.

Which devices compile by default is :data:`COMPILE_BY_DEFAULT`. The first epoch includes the
compiling (or the warm-up and capture), as for JAX: it is the run's ``first_epoch_seconds``,
left out of its steady throughput (:func:`mlpcompare.training.loop.steady`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mlpcompare.frameworks.torch.model import MLP

# Whether the tuned Trainer compiles its step when not told (``compile=None``), by device type.
# From docs/performance.md ("PyTorch compiled"; tools/torch_compile_vs_eager.py measures it): on
# the 2-core reference CPU at batch 128 a compiled step took 3.3-3.8 ms against 2.4-2.7 ms eager,
# after ~20 s of compiling, so the CPU stays eager. On a GPU the eager step is launch-bound
# (~2.2 ms issuing kernels for 0.24 ms of products), which one graph replay removes.
COMPILE_BY_DEFAULT = {"cpu": False, "cuda": True}

# Eager steps on a side stream before capture: they allocate the optimizer state, the dropout
# storage and cuBLAS's workspace, which a capture may not (PyTorch's CUDA graphs notes: three).
WARMUP_STEPS = 3


def compiles(device: torch.device, requested: bool | None) -> bool:
    """Whether a trainer on ``device`` compiles: ``requested``, or the device's default."""
    return COMPILE_BY_DEFAULT.get(device.type, False) if requested is None else requested


def use_compile_cache() -> str:
    """Point inductor's FX graph cache (on by default) at a folder under the job's temporary
    directory (``TMPDIR``; a SLURM job's own), unless ``TORCHINDUCTOR_CACHE_DIR`` already says
    where: a second run of the same shapes then loads its kernels instead of compiling them, and
    nothing is written into the source tree. Returns the folder."""
    default = os.path.join(tempfile.gettempdir(), f"mlpcompare-torchinductor-{os.getuid()}")
    return os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", default)


class CompiledStep:
    """One step of a full batch through ``torch.compile`` (inductor): see the module doc.

    ``penalty`` returns the reported L2 penalty at the current weights; ``batch`` is the
    trainer's ``(x, y)`` buffers and ``totals`` its ``(loss_sum, correct)`` accumulators.
    """

    def __init__(
        self,
        model: MLP,
        optimizer: torch.optim.Optimizer,
        penalty: Callable[[], torch.Tensor | float],
        batch: tuple[torch.Tensor, torch.Tensor],
        totals: tuple[torch.Tensor, torch.Tensor],
    ):
        use_compile_cache()
        self.model, self.optimizer, self.penalty = model, optimizer, penalty
        self.batch, self.totals = batch, totals
        # Static shapes: every call is a full batch (the trainer steps a last, smaller one eagerly).
        self._forward = torch.compile(self._forward_loss, dynamic=False)
        self._update = torch.compile(self._optimizer_step, dynamic=False)

    def __call__(self) -> None:
        xb, yb = self.batch
        # Outside the graph, in the eager forward's order: the same bits from the same stream.
        bits = self.model.draw_dropout_bits(len(xb))
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._forward(xb, yb, bits, *self.totals)
        loss.backward()  # the backward graph compiled with the forward
        self._update()

    def _forward_loss(self, xb, yb, bits, loss_sum, correct) -> torch.Tensor:
        penalty = self.penalty()  # at the weights the gradient is taken at, before the update
        logits = self.model(xb, bits)
        loss = F.cross_entropy(logits, yb)
        loss_sum.add_((loss.detach() + penalty) * len(xb))
        correct.add_((logits.detach().argmax(dim=1) == yb).sum())
        return loss

    def _optimizer_step(self) -> None:
        self.optimizer.step()


class CudaGraphStep:
    """CUDA only: the trainer's eager full-batch step (``eager_step``, reading the batch
    buffers and adding into the accumulators) captured once into a CUDA graph; a call replays it.

    Capture records kernels on fixed addresses: the batch buffers, accumulators, parameters,
    gradients, optimizer state, dropout storage and learning-rate tensor must all stay where
    they are, which the trainer's in-place updates (``load_canonical``, ``fill_``) keep. The
    warm-up steps that capture needs change the weights; :func:`warm_up` puts them back, so the
    run is the same run as eager.
    """

    def __init__(
        self, model: MLP, optimizer: torch.optim.Optimizer, eager_step: Callable[[], None]
    ):
        side = torch.cuda.Stream()  # PyTorch's whole-network capture recipe: warm up aside
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            warm_up(model, optimizer, eager_step, WARMUP_STEPS)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            eager_step()

    def __call__(self) -> None:
        self.graph.replay()


def warm_up(
    model: MLP, optimizer: torch.optim.Optimizer, step: Callable[[], None], steps: int
) -> None:
    """Run ``steps`` steps, then restore in place what they changed: the model's parameters and
    buffers, the optimizer's state (zero, as a fresh state is: Adam's moments and step count,
    SGD's momentum, whose first update ``0 * m + g`` is the fresh ``g``) and the device's random
    stream. Device-agnostic, so the CPU tests check it."""
    device = next(model.parameters()).device
    saved = {name: t.detach().clone() for name, t in model.state_dict().items()}
    rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()
    for _ in range(steps):
        step()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            tensor.copy_(saved[name])
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, torch.Tensor):
                    value.zero_()
    if device.type == "cuda":
        torch.cuda.set_rng_state(rng, device)
    else:
        torch.set_rng_state(rng)
