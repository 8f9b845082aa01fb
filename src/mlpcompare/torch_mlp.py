"""The MLP in PyTorch, in the style of pytorch/examples ``mnist/main.py``.

A small ``nn.Module`` whose ``forward`` reads top to bottom, a :class:`Trainer` that moves the
data to the device once and indexes it with the shared permutation, and an :func:`evaluate` in
``model.eval()`` under ``torch.no_grad()``. Everything that must match the other frameworks
(initial weights, batch order, loss, optimizer constants, weight decay) comes from
:mod:`mlpcompare.spec`; nothing here chooses its own.

Weight decay: our loss is ``cross_entropy + wd/2 * sum(W**2)`` over the weight matrices only.
Its gradient ``wd * W`` is exactly what torch's ``weight_decay`` adds to ``W.grad`` before the
Adam moments or the SGD momentum (coupled L2), so the optimizer applies it with
``weight_decay=wd`` on the weights' parameter group and 0 on the biases'. The penalty is computed
only for the loss we report; it never enters autograd.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlpcompare.io import atomic_path
from mlpcompare.spec import ModelSpec, TrainSpec, canonical_from_torch, torch_layout

MODEL_FILE = "model.pt"
EVAL_CHUNK = 8192  # rows per forward pass in inference: bounds activation memory on big sets

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class Dropout(nn.Module):
    """Inverted dropout, as ``nn.Dropout``, with masks drawn from raw random integers.

    ``nn.Dropout`` on the CPU draws one Bernoulli variate per unit, which measured ~9 ns each
    here: a third of a MNIST training step. A unit is dropped here when a uniform 31-bit integer
    from torch's generator (``random_()``, ~3 ns) falls below ``round(p * 2**31)``: the same test
    as ``uniform(0, 1) < p`` to within 2**-31, and the NumPy MLP's. Kept units are scaled by
    ``1 / (1 - p)``; autograd differentiates the product.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.threshold = min(round(p * 2**31), 2**31 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        bits = torch.empty(x.shape, dtype=torch.int32, device=x.device).random_()
        keep = (bits >= self.threshold).to(x.dtype)
        return x * keep.mul_(1 / (1 - self.p))


class MLP(nn.Module):
    """``n_in -> hidden... -> n_out``: Linear, activation, Dropout (if p > 0) per hidden layer.

    Input ``(n, n_in)`` float32, output logits ``(n, n_out)``. Parameters are set from the
    canonical dict with :meth:`load_canonical`, never by torch's own initialiser.
    ``dropout`` : the dropout module class (``nn.Dropout`` for the idiomatic variant).
    """

    def __init__(self, spec: ModelSpec, dropout: type[nn.Module] = Dropout):
        super().__init__()
        sizes = spec.layer_sizes
        self.hidden = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1], strict=True)
        )
        self.output = nn.Linear(sizes[-2], sizes[-1])
        self.activation = _ACTIVATIONS[spec.activation]()
        self.dropout = dropout(spec.dropout) if spec.dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = self.dropout(self.activation(layer(x)))
        return self.output(x)

    def linears(self) -> list[nn.Linear]:
        """The Linear layers in order; layer ``i`` holds canonical ``W{i}``, ``b{i}``."""
        return [*self.hidden, self.output]

    @torch.no_grad()
    def load_canonical(self, params: dict[str, np.ndarray]) -> None:
        """Copy canonical weights in, in place (the optimizer keeps pointing at the same tensors)."""
        torch_params = torch_layout(params)
        for i, layer in enumerate(self.linears()):
            for name, tensor in ((f"W{i}", layer.weight), (f"b{i}", layer.bias)):
                value = torch.from_numpy(np.asarray(torch_params[name], dtype=np.float32))
                # copy_ broadcasts, so a wrong layout could slip through silently without this.
                if value.shape != tensor.shape:
                    shapes = f"{tuple(value.shape)}, expected {tuple(tensor.shape)}"
                    raise ValueError(f"{name} has torch shape {shapes}")
                tensor.copy_(value)

    def canonical_weights(self) -> dict[str, np.ndarray]:
        """Current parameters in canonical layout, as float32 NumPy copies."""
        torch_params = {}
        for i, layer in enumerate(self.linears()):
            torch_params[f"W{i}"] = layer.weight.detach().cpu().numpy()
            torch_params[f"b{i}"] = layer.bias.detach().cpu().numpy()
        return canonical_from_torch(torch_params)


def build_optimizer(model: MLP, train_spec: TrainSpec, fused: bool = True) -> torch.optim.Optimizer:
    """Adam or SGD with two groups: weights decayed by ``train_spec.weight_decay``, biases not.

    ``fused=True`` runs each parameter's update as one kernel: on CPU it is the same formula as
    the per-op implementation (float64 results are identical, float32 within an ulp), it is
    elementwise and so deterministic, and it made a training epoch about 20 % faster here.
    The learning rate is a placeholder: every step sets the caller's ``lr`` (see ``_set_lr``).
    """
    layers = model.linears()
    groups = [
        {"params": [layer.weight for layer in layers], "weight_decay": train_spec.weight_decay},
        {"params": [layer.bias for layer in layers], "weight_decay": 0.0},
    ]
    if train_spec.optimizer == "adam":
        betas = (train_spec.beta1, train_spec.beta2)
        return torch.optim.Adam(
            groups, lr=train_spec.lr, betas=betas, eps=train_spec.eps, fused=fused
        )
    return torch.optim.SGD(groups, lr=train_spec.lr, momentum=train_spec.momentum, fused=fused)


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
    ):
        torch.manual_seed(seed)
        self.device = torch.device(resolve_device(device))
        self.batch_size = train_spec.batch_size
        self.weight_decay = train_spec.weight_decay
        self.model = MLP(model_spec)
        self.model.load_canonical(weights)
        self.model.to(self.device)
        self.optimizer = build_optimizer(self.model, train_spec)
        # Copied to the device once; each batch is then an index into these tensors.
        self.x = torch.tensor(x_train, dtype=torch.float32, device=self.device)
        self.y = torch.tensor(y_train, dtype=torch.int64, device=self.device)

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One update on the batch ``xb`` ``(b, n_in)``, ``yb`` ``(b,)``; its loss before the update."""
        self.model.train()
        self._set_lr(lr)
        loss, _ = self._train_batch(self._inputs(xb), self._labels(yb))
        return loss.item()

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``; sample-weighted mean loss (with penalty) and accuracy."""
        self.model.train()
        self._set_lr(lr)
        index = torch.as_tensor(order, dtype=torch.int64, device=self.device)  # once per epoch
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        for batch in index.split(self.batch_size):  # the consecutive blocks of spec.batches
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
        """One optimizer step; the loss before it (with penalty) and the correct count, on device."""
        penalty = self._penalty()  # at the weights the gradient is taken at, before the update
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        self.optimizer.step()  # adds weight_decay * W to the weights' gradients (see module doc)
        correct = (logits.detach().argmax(dim=1) == yb).sum()
        return loss.detach() + penalty, correct

    @torch.no_grad()
    def _penalty(self) -> torch.Tensor | float:
        """``wd/2 * sum(W**2)`` over the weight matrices, for the reported loss only."""
        if not self.weight_decay:
            return 0.0
        squares = torch.stack([layer.weight.square().sum() for layer in self.model.linears()])
        return self.weight_decay / 2 * squares.sum()

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _inputs(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32, device=self.device)

    def _labels(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y, dtype=torch.int64, device=self.device)


class Predictor:
    """A loaded model for inference: NumPy ``(n, n_in)`` in, float32 logits ``(n, n_out)`` out."""

    def __init__(self, model: MLP, device: str):
        self.model = model.eval()
        self.device = torch.device(device)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        return predict(self.model, x).cpu().numpy()

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Named ways to run inference for the benchmark; each includes host -> device and back."""
        return {"module_call_no_grad": self._module_call_no_grad}

    def _module_call_no_grad(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return logits.cpu().numpy()  # .cpu() waits for the device, so timings are complete


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load a state dict written by :meth:`Trainer.save`.

    ``weights_only=True`` restricts unpickling to tensors and plain containers, so a crafted
    file cannot run code; anything else is refused with ``pickle.UnpicklingError``.
    """
    device = resolve_device(device)
    model = MLP(model_spec)
    model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return Predictor(model.to(device), device)


def resolve_device(requested: str) -> str:
    """``"auto"`` -> ``"cuda"`` if a CUDA device is usable, else ``"cpu"``; checks ``"cuda"``."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device 'cuda' was requested but torch finds no CUDA device (torch "
            f"{torch.__version__}, built with CUDA {torch.version.cuda}); use 'auto' or 'cpu'"
        )
    return requested


def configure_threads(n: int) -> None:
    """Use ``n`` intra-op threads; call before building any model or tensor."""
    torch.set_num_threads(n)
    # An MLP is one chain of dependent ops: inter-op threads would have nothing to run side by
    # side and would only compete with the n intra-op threads for the job's cores. Torch lets
    # this be set once per process, before any parallel work; a later call keeps the first.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def environment() -> dict:
    """Framework, versions, device, threads and BLAS, recorded with every result."""
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    cuda = torch.cuda.is_available()
    return {
        "framework": "torch",
        "version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas.group(1) if blas else None,
        "mkldnn": torch.backends.mkldnn.is_available(),
        # The build summary (compiler, MKL and oneDNN versions), without the long flags line.
        "build": [
            line.strip(" -")
            for line in config.splitlines()[1:]
            if line.strip() and "Build settings" not in line
        ],
    }
