"""The MLP in PyTorch, in the style of pytorch/examples ``mnist/main.py``.

A small ``nn.Module`` whose ``forward`` reads top to bottom, a :class:`Trainer` that moves the
data to the device once and indexes it with the shared permutation, and an :func:`evaluate` in
``model.eval()`` under ``torch.no_grad()``. Everything that must match the other frameworks
(initial weights, batch order, loss, optimizer constants, weight decay) comes from
:mod:`mlpcompare.spec`; nothing here chooses its own.

Weight decay touches the weight matrices only, through torch's ``weight_decay`` on the weights'
parameter group (0 on the group of biases, gamma and beta). For ``sgd`` and ``adam`` our loss is
``cross_entropy + wd/2 * sum(W**2)``: its gradient ``wd * W`` is exactly what torch's
``weight_decay`` adds to ``W.grad`` before the Adam moments or the SGD momentum (coupled L2). The
penalty is computed only for the loss we report; it never enters autograd. For ``adamw``,
``torch.optim.AdamW`` shrinks ``W`` by ``(1 - lr * wd)`` before its Adam step, which is the spec's
decoupled decay, and the reported loss has no penalty.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlpcompare.io import atomic_path
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    BN_PARAMS,
    BN_STATS,
    DECOUPLED_DECAY,
    ModelSpec,
    TrainSpec,
    canonical_from_torch,
    torch_layout,
)

MODEL_FILE = "model.pt"
EVAL_CHUNK = 8192  # rows per forward pass in inference: bounds activation memory on big sets
# Dropout masks of at least this many units on the CPU are drawn in MASK_CHUNKS parallel chunks.
PARALLEL_UNITS = 2**20
MASK_CHUNKS = 4

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@functools.cache
def _mask_pool() -> ThreadPoolExecutor:
    """Threads that draw dropout chunks: as many as torch's (pinned before the first step)."""
    return ThreadPoolExecutor(max_workers=min(MASK_CHUNKS, torch.get_num_threads()))


class Dropout(nn.Module):
    """Inverted dropout, as ``nn.Dropout``, with masks drawn from raw random integers.

    ``nn.Dropout`` on the CPU draws one Bernoulli variate per unit, which measured ~9 ns each
    here: a third of a MNIST training step. A unit is dropped here when a uniform 31-bit integer
    from torch's generator (``random_()``, ~3 ns) falls below ``round(p * 2**31)``: the same test
    as ``uniform(0, 1) < p`` to within 2**-31, and the NumPy MLP's. Kept units are scaled by
    ``1 / (1 - p)``; autograd differentiates the product.

    One instance per layer keeps its bits, its keep flags and its mask between steps, as large as
    the largest batch seen: on the CPU torch takes an array this large fresh from the system and
    gives it back when freed (the C library maps anything over 32 MB anew), so a 64 MB array
    (batch 4096, width 4096) paid ~20 ms of page faults, each of them every step. Autograd keeps the
    mask for the backward pass, and the next step overwrites it only after that; a second
    forward before the backward is refused by autograd's version check, never given a stale
    mask.

    torch's CPU generator is serial (~2 ns a unit, a tenth of a step at batch 4096 x width 4096),
    so a mask of at least :data:`PARALLEL_UNITS` units on the CPU is drawn in
    :data:`MASK_CHUNKS` chunks, each from a generator of its own (seeded from torch's seed, the
    layer and the chunk) on the job's threads. The chunks are fixed, so the masks do not depend
    on the thread count; smaller masks, and every mask on a GPU, come from torch's generator.
    """

    def __init__(self, p: float, layer: int = 0):
        super().__init__()
        self.p = p
        self.layer = layer
        self.threshold = min(round(p * 2**31), 2**31 - 1)
        # Plain attributes, not in the state dict: storage (see _views) and chunk generators.
        self.storage: tuple[torch.Tensor, ...] = ()
        self.generators: list[torch.Generator] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        bits, keep, mask = self._views(x)
        self._draw(bits)
        torch.ge(bits, self.threshold, out=keep)
        mask.copy_(keep).mul_(1 / (1 - self.p))  # 0 or 1 / (1 - p)
        return x * mask

    def _views(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Bits, keep flags and mask shaped like ``x``, from storage reallocated to fit."""
        n, width = x.shape
        mask = self.storage[-1] if self.storage else None
        if mask is None or mask.shape[0] < n or mask.shape[1] != width or (
            mask.device != x.device or mask.dtype != x.dtype
        ):  # fmt: skip
            self.storage = tuple(
                torch.empty((n, width), dtype=dtype, device=x.device)
                for dtype in (torch.int32, torch.bool, x.dtype)
            )
        # The first n rows of C-ordered storage: contiguous, so random_() fills them in the
        # order it fills a fresh (n, width) tensor, and the masks are the same.
        return tuple(t[:n] for t in self.storage)

    def _draw(self, bits: torch.Tensor) -> None:
        """Fill ``bits`` with uniform 31-bit integers (in chunks on threads where it is large)."""
        if bits.device.type != "cpu" or bits.numel() < PARALLEL_UNITS:
            bits.random_()
            return
        if not self.generators:  # seeded on first use: torch's own stream is left untouched
            base = torch.initial_seed() * 2**16 + self.layer * 2**8
            self.generators = [
                torch.Generator().manual_seed((base + chunk) % 2**63)
                for chunk in range(MASK_CHUNKS)
            ]
        chunks = bits.view(-1).chunk(MASK_CHUNKS)
        # random_ releases the GIL, so the chunks fill side by side.
        list(_mask_pool().map(lambda c, g: c.random_(generator=g), chunks, self.generators))


class BatchNorm(nn.Module):
    """BatchNorm over the features of ``(n, width)``, to the spec's conventions.

    Trainable ``gamma`` and ``beta`` are Parameters; the running ``mean`` and ``var`` are buffers,
    so they are in the state dict (saved with the model) and follow it to its device. The
    attribute names are the canonical ones (:data:`~mlpcompare.spec.BN_PARAMS`,
    :data:`~mlpcompare.spec.BN_STATS`). ``nn.BatchNorm1d`` is not used: it updates the running
    variance with the *unbiased* batch variance (divided by n - 1), where the spec, Keras and
    the normalisation itself use the biased one (divided by n).
    """

    def __init__(self, width: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(width))
        self.beta = nn.Parameter(torch.zeros(width))
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("var", torch.ones(width))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(
                z, self.mean, self.var, self.gamma, self.beta, training=False, eps=BN_EPS
            )
        # torch's own kernel (what F.batch_norm calls) normalises with the batch's biased
        # variance; no running stats are passed, so it leaves them to _update_running_stats.
        # F.batch_norm itself refuses a one-row batch, which the spec defines (variance 0,
        # output beta) and a last partial batch can be.
        normalised = torch.batch_norm(
            z, self.gamma, self.beta, None, None, True, 0.0, BN_EPS, torch.backends.cudnn.enabled
        )
        self._update_running_stats(z)
        return normalised

    @torch.no_grad()
    def _update_running_stats(self, z: torch.Tensor) -> None:
        """``running = (1 - m) * running + m * batch`` with the batch's biased variance."""
        var, mean = torch.var_mean(z, dim=0, correction=0)
        self.mean.mul_(1 - BN_MOMENTUM).add_(mean, alpha=BN_MOMENTUM)
        self.var.mul_(1 - BN_MOMENTUM).add_(var, alpha=BN_MOMENTUM)


class MLP(nn.Module):
    """``n_in -> hidden... -> n_out``: Linear, BatchNorm (if on), activation, Dropout (if p > 0)
    per hidden layer.

    Input ``(n, n_in)`` float32, output logits ``(n, n_out)``. Parameters (and BatchNorm's
    running statistics) are set from the canonical dict with :meth:`load_canonical`, never by
    torch's own initialiser.
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        sizes = spec.layer_sizes
        self.hidden = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1], strict=True)
        )
        # Identity holds no state, so a model without BatchNorm keeps its state dict's keys.
        self.norms = nn.ModuleList(
            BatchNorm(width) if spec.batch_norm else nn.Identity() for width in spec.hidden
        )
        self.output = nn.Linear(sizes[-2], sizes[-1])
        self.activation = _ACTIVATIONS[spec.activation]()
        # One per layer: each keeps its own mask for the backward pass (see Dropout).
        self.dropouts = nn.ModuleList(
            Dropout(spec.dropout, layer=i) if spec.dropout > 0 else nn.Identity()
            for i in range(len(spec.hidden))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, norm, dropout in zip(self.hidden, self.norms, self.dropouts, strict=True):
            x = dropout(self.activation(norm(layer(x))))
        return self.output(x)

    def linears(self) -> list[nn.Linear]:
        """The Linear layers in order; layer ``i`` holds canonical ``W{i}``, ``b{i}``."""
        return [*self.hidden, self.output]

    def canonical_tensors(self) -> dict[str, torch.Tensor]:
        """Canonical name -> the tensor holding it, in torch layout (``W{i}`` is transposed)."""
        tensors = {}
        for i, layer in enumerate(self.linears()):
            tensors[f"W{i}"], tensors[f"b{i}"] = layer.weight, layer.bias
        for i, norm in enumerate(self.norms):
            if isinstance(norm, BatchNorm):
                tensors.update({f"{name}{i}": getattr(norm, name) for name in BN_PARAMS + BN_STATS})
        return tensors

    @torch.no_grad()
    def load_canonical(self, params: dict[str, np.ndarray]) -> None:
        """Copy canonical weights in, in place (the optimizer keeps pointing at the same tensors)."""
        tensors = self.canonical_tensors()
        # An array this model has no place for (BatchNorm's, say) must not be dropped silently.
        if params.keys() != tensors.keys():
            raise ValueError(
                f"canonical arrays {sorted(params)} do not match the model's {sorted(tensors)}"
            )
        for name, value in torch_layout(params).items():
            tensor = tensors[name]
            value = torch.from_numpy(np.asarray(value, dtype=np.float32))
            # copy_ broadcasts, so a wrong layout could slip through silently without this.
            if value.shape != tensor.shape:
                shapes = f"{tuple(value.shape)}, expected {tuple(tensor.shape)}"
                raise ValueError(f"{name} has torch shape {shapes}")
            tensor.copy_(value)

    def canonical_weights(self) -> dict[str, np.ndarray]:
        """Current parameters and running statistics in canonical layout, as float32 copies."""
        torch_params = {
            name: tensor.detach().cpu().numpy() for name, tensor in self.canonical_tensors().items()
        }
        return canonical_from_torch(torch_params)


def build_optimizer(model: MLP, train_spec: TrainSpec, fused: bool = True) -> torch.optim.Optimizer:
    """SGD, Adam or AdamW with two groups: the weight matrices decayed by
    ``train_spec.weight_decay``; biases, gamma and beta not.

    The same groups serve both forms of decay: Adam and SGD add ``wd * W`` to the gradient
    (coupled L2), AdamW shrinks ``W`` by ``(1 - lr * wd)`` before its step (decoupled).
    ``fused=True`` runs each parameter's update as one kernel: on CPU it is the same formula as
    the per-op implementation (float64 results are identical, float32 within an ulp), it is
    elementwise and so deterministic, and it made a training epoch about 20 % faster here.
    The learning rate is a placeholder: every step sets the caller's ``lr`` (see ``_set_lr``).
    """
    weights = [layer.weight for layer in model.linears()]
    decayed = {id(weight) for weight in weights}
    groups = [
        {"params": weights, "weight_decay": train_spec.weight_decay},
        {"params": [p for p in model.parameters() if id(p) not in decayed], "weight_decay": 0.0},
    ]
    if train_spec.optimizer in ("adam", "adamw"):
        adam = torch.optim.AdamW if train_spec.optimizer == "adamw" else torch.optim.Adam
        betas = (train_spec.beta1, train_spec.beta2)
        return adam(groups, lr=train_spec.lr, betas=betas, eps=train_spec.eps, fused=fused)
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
        # The L2 penalty's weight in the reported loss: none where the decay is decoupled.
        decoupled = train_spec.optimizer in DECOUPLED_DECAY
        self.penalty_weight = 0.0 if decoupled else train_spec.weight_decay
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
        """Batches of ``order`` at rate ``lr``; sample-weighted mean loss (with any L2 penalty) and accuracy."""
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
        """One optimizer step; the loss before it (with any L2 penalty) and the correct count, on device."""
        penalty = self._penalty()  # at the weights the gradient is taken at, before the update
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        self.optimizer.step()  # applies weight_decay to the weight matrices (see module doc)
        correct = (logits.detach().argmax(dim=1) == yb).sum()
        return loss.detach() + penalty, correct

    @torch.no_grad()
    def _penalty(self) -> torch.Tensor | float:
        """``wd/2 * sum(W**2)`` over the weight matrices, for the reported loss only (0 for adamw)."""
        if not self.penalty_weight:
            return 0.0
        squares = torch.stack([layer.weight.square().sum() for layer in self.model.linears()])
        return self.penalty_weight / 2 * squares.sum()

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
        """Named ways to run inference for the benchmark; each includes host -> device and back.

        ``inference_mode`` is the serving path: no autograd bookkeeping at all (no version
        counters or views tracked), where ``no_grad`` only stops recording. ``torch.compile`` is
        not offered: on the CPU it took ~37 s to compile this MLP and was slower afterwards
        (15 ms against 0.14 ms at batch 1, 0.59 against 0.47 ms at 256, measured on 2 cores).
        """
        return {
            "module_call_no_grad": self._module_call_no_grad,
            "inference_mode": self._inference_mode,
        }

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path`` with ``torch.onnx.export``; returns how.

        The ``torch.export``-based exporter (torch's default; the TorchScript one is deprecated
        and to be removed), from a CPU copy: ONNX Runtime serves it on the CPU. The batch
        dimension is dynamic, so one file serves every batch size.
        """
        model = copy.deepcopy(self.model).cpu().eval()
        # Two rows: torch.export specialises a dimension of size 0 or 1 to a constant.
        example = (torch.zeros(2, model.linears()[0].in_features),)
        program = torch.onnx.export(
            model,
            example,
            dynamo=True,
            input_names=["x"],
            output_names=["logits"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
        with atomic_path(path, suffix=".onnx") as tmp:
            program.save(str(tmp), external_data=False)  # one file, weights inside
        return "torch.onnx.export(dynamo=True)"

    def _module_call_no_grad(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return logits.cpu().numpy()  # .cpu() waits for the device, so timings are complete

    def _inference_mode(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return logits.cpu().numpy()


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


def step_products(
    pairs: list[tuple[np.ndarray, np.ndarray]], device: str
) -> Callable[[], list[torch.Tensor]]:
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with torch's own product on
    ``device``, one eager ``mm`` after another as the trainer's step runs them, finished when
    it returns (and returned): what the in-run ceiling times
    (:class:`mlpcompare.measuring.roofline.RunCeiling`). A transposed view stays a view (torch hands BLAS
    a transpose flag, as in the backward pass)."""
    tensors = [tuple(torch.from_numpy(m).to(device) for m in pair) for pair in pairs]
    outs = [torch.empty((a.shape[0], b.shape[1]), device=device) for a, b in tensors]

    def call():
        products = [torch.mm(a, b, out=out) for (a, b), out in zip(tensors, outs, strict=True)]
        if device != "cpu":
            torch.cuda.synchronize()  # a CUDA kernel returns at launch; time it to its end
        return products

    return call


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
