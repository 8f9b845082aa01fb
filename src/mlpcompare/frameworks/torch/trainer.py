"""Training, in the style of pytorch/examples ``mnist/main.py``: a :class:`Trainer` that moves the
data to the device once and indexes it with the shared permutation, and an :func:`evaluate` in
``model.eval()`` under ``torch.no_grad()``. Everything that must match the other frameworks
(initial weights, batch order, loss, optimizer constants, weight decay) comes from
:mod:`mlpcompare.spec`; nothing here chooses its own.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mlpcompare import frameworks
from mlpcompare.frameworks.torch.compiled import CompiledStep, CudaGraphStep, compiles
from mlpcompare.frameworks.torch.model import MLP
from mlpcompare.frameworks.torch.optim import build_optimizer
from mlpcompare.frameworks.torch.runtime import resolve_device
from mlpcompare.io import atomic_path
from mlpcompare.spec import DECOUPLED_DECAY, ModelSpec, TrainSpec

# Rows per forward pass in inference: bounds activation memory on big sets (registry: eval_chunk).
EVAL_CHUNK = frameworks.get("torch").eval_chunk


@torch.no_grad()
def predict(model: MLP, x: torch.Tensor, chunk: int = EVAL_CHUNK) -> torch.Tensor:
    """Inference-mode logits ``(n, n_out)`` for ``x`` ``(n, n_in)``, ``chunk`` rows at a time."""
    model.eval()
    return torch.cat([model(part) for part in x.split(chunk)])


def evaluate(model: MLP, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy (no penalty) and accuracy of ``model`` on ``x`` ``(n, n_in)``, ``y`` ``(n,)``."""
    logits = predict(model, x)
    loss = F.cross_entropy(logits, y)
    accuracy = (logits.argmax(dim=1) == y).float().mean()
    loss, accuracy = torch.stack([loss, accuracy]).tolist()  # one device sync for both
    return loss, accuracy


class Trainer:
    """Trains :class:`MLP` on arrays held on ``device``; the surface of ``training.Trainer``.

    Seeds torch's global generator once (dropout draws from it), so one trainer runs at a time:
    a second ``Trainer`` built before the first has trained would reseed the first one's stream.

    ``compile``: step full batches through a compiled step (:mod:`.compiled`: ``torch.compile``
    on the CPU, a CUDA graph on a GPU); None takes the device's default
    (:data:`~mlpcompare.frameworks.torch.compiled.COMPILE_BY_DEFAULT`). The first epoch then
    includes the compiling. A last batch smaller than the rest, and :meth:`step` on any batch of
    another size, run the eager step, with the same optimizer and the same random stream.
    """

    def __init__(
        self,
        model_spec: ModelSpec,
        train_spec: TrainSpec,
        weights: dict[str, np.ndarray],
        x_train: np.ndarray,
        y_train: np.ndarray,
        *,
        seed: int,
        device: str,
        compile: bool | None = None,  # noqa: A002 - the name torch and the issue use
    ):
        torch.manual_seed(seed)
        self.device = torch.device(resolve_device(device))
        self.batch_size = train_spec.batch_size
        # The L2 penalty's weight in the reported loss: none where the decay is decoupled.
        decoupled = train_spec.optimizer in DECOUPLED_DECAY
        self.penalty_weight = 0.0 if decoupled else train_spec.weight_decay
        self.model = MLP(model_spec)
        self.model.load_canonical(weights)
        self.model.to(self.device)
        self.compiled = compiles(self.device, compile)
        self.optimizer = build_optimizer(self.model, train_spec, compiled=self.compiled)
        # Copied to the device once; each batch is then an index into these tensors.
        self.x = torch.tensor(x_train, dtype=torch.float32, device=self.device)
        self.y = torch.tensor(y_train, dtype=torch.int64, device=self.device)
        # A full batch is gathered into these, and its loss and correct count summed into these:
        # fixed tensors, which a compiled step reads and a CUDA graph records by address.
        self.batch = (self.x.new_empty((self.batch_size, self.x.shape[1])),
                      self.y.new_empty((self.batch_size,)))  # fmt: skip
        self.totals = (torch.zeros((), device=self.device),
                       torch.zeros((), dtype=torch.int64, device=self.device))  # fmt: skip
        self._full_step = None  # built at the first full batch: compiling is the first epoch's

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One update on the batch ``xb`` ``(b, n_in)``, ``yb`` ``(b,)``; its loss before the update."""
        self.model.train()
        self._set_lr(lr)
        if not (self.compiled and len(xb) == self.batch_size):
            loss, _ = self._train_batch(self._inputs(xb), self._labels(yb))
            return loss.item()
        for buffer, values in zip(self.batch, (self._inputs(xb), self._labels(yb)), strict=True):
            buffer.copy_(values)
        for total in self.totals:
            total.zero_()
        self._compiled_step()
        return self.totals[0].item() / len(xb)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``; sample-weighted mean loss (with any L2 penalty) and accuracy."""
        self.model.train()
        self._set_lr(lr)
        index = torch.as_tensor(order, dtype=torch.int64, device=self.device)  # once per epoch
        loss_sum, correct = self.totals
        loss_sum.zero_()
        correct.zero_()
        xb, yb = self.batch
        for batch in index.split(self.batch_size):  # the consecutive blocks of spec.batches
            if self.compiled and len(batch) == self.batch_size:
                torch.index_select(self.x, 0, batch, out=xb)
                torch.index_select(self.y, 0, batch, out=yb)
                self._compiled_step()
                continue
            loss, n_correct = self._train_batch(self.x[batch], self.y[batch])
            loss_sum += loss * len(batch)
            correct += n_correct
        totals = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()  # the epoch's sync
        return totals[0] / len(order), totals[1] / len(order)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        return evaluate(self.model, self._inputs(x), self._labels(y))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(n, n_out)``, float32, inference mode."""
        return predict(self.model, self._inputs(x)).cpu().numpy()

    def get_weights(self) -> dict[str, np.ndarray]:
        return self.model.canonical_weights()

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        self.model.load_canonical(params)

    def save(self, path: str) -> None:
        """Write the state dict (CPU tensors, loadable anywhere) to ``path`` atomically."""
        state = {name: tensor.detach().cpu() for name, tensor in self.model.state_dict().items()}
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(state, tmp)

    def _train_batch(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step; the loss before it (with any L2 penalty) and the correct count, on device."""
        penalty = self._penalty()  # at the weights the gradient is taken at, before the update
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        self.optimizer.step()  # applies weight_decay to the weight matrices (see module doc)
        correct = (logits.detach().argmax(dim=1) == yb).sum()
        return loss.detach() + penalty, correct

    def _compiled_step(self) -> None:
        """The full batch in :attr:`batch` through the compiled step, summed into :attr:`totals`."""
        if self._full_step is None:
            if self.device.type == "cuda":
                self._full_step = CudaGraphStep(self.model, self.optimizer, self._eager_full_step)
            else:
                self._full_step = CompiledStep(
                    self.model, self.optimizer, self._penalty, self.batch, self.totals
                )
        self._full_step()

    def _eager_full_step(self) -> None:
        """The step a CUDA graph captures: the batch buffers in, the accumulators summed into."""
        loss, n_correct = self._train_batch(*self.batch)
        self.totals[0].add_(loss * self.batch_size)
        self.totals[1].add_(n_correct)

    @torch.no_grad()
    def _penalty(self) -> torch.Tensor | float:
        """``wd/2 * sum(W**2)`` over the weight matrices, for the reported loss only (0 for adamw)."""
        if not self.penalty_weight:
            return 0.0
        squares = torch.stack([layer.weight.square().sum() for layer in self.model.linears()])
        return self.penalty_weight / 2 * squares.sum()

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):  # read by a compiled step: set in place
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def _inputs(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32, device=self.device)

    def _labels(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y, dtype=torch.int64, device=self.device)
