"""The MLP in JAX with optax, in the style of jax-ml/jax ``mnist_classifier_fromscratch.py``.

The parameters are a plain pytree, a list with one tuple per Linear layer in the canonical layout
(``W`` is ``(n_in, n_out)``, so weights pass in and out untransposed): ``(W, b)``, or
``(W, b, gamma, beta)`` for a hidden layer followed by BatchNorm. BatchNorm's running statistics
are not trained, so they are not parameters: they are a second pytree, the *stats*, one
``(mean, var)`` per BatchNorm layer (an empty list without BatchNorm, so that network's compiled
step is the same as if BatchNorm did not exist). :func:`forward` and :func:`loss` are pure
functions that read top to bottom; :func:`update` is the one step, compiled once by ``jax.jit``,
that returns new parameters, stats and optimizer state; nothing is mutated. Everything that must
match the other frameworks (initial weights, batch order, loss, BatchNorm's conventions, optimizer
constants, weight decay) comes from :mod:`mlpcompare.spec`; nothing here chooses its own.

Optimizer: an optax chain in the textbook forms every framework uses. For ``sgd`` and ``adam``
weight decay is the coupled L2 of the spec, the gradient ``wd * W`` of ``wd/2 * sum(W**2)`` added
before the moments (as torch's ``weight_decay``), by ``optax.add_decayed_weights`` masked to the
weight matrices; then Adam with eps added to ``sqrt(v_hat)`` (``scale_by_adam`` with
``eps_root=0``) or torch's heavy-ball ``buf = momentum * buf + g`` (``optax.trace``). For
``adamw`` the same masked ``add_decayed_weights`` comes *after* Adam (as in ``optax.adamw``), so
the step ``-lr * (adam + wd * W)`` is torch's ``W * (1 - lr * wd)`` followed by the Adam step.
Then the step ``-lr * update``, with ``lr`` an argument of the compiled step, so the per-epoch
rate never retraces it. The L2 penalty is computed only for the loss we report (and not at all
for ``adamw``, whose loss has none); it never enters the gradient.

Randomness: one key from the run's seed; the dropout masks of global step ``t`` use
``fold_in(key, t)`` and, within it, ``fold_in(., layer)``. A step's masks depend only on the seed
and the step's number, so a whole epoch and the same batches stepped one by one are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import pairwise

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlpcompare.frameworks.jax.runtime import (  # noqa: F401 - the trainer module's surface (runs.py)
    PRECISION,
    configure_threads,
    environment,
    jax_device,
    resolve_device,
    step_products,
)
from mlpcompare.io import read_npz, write_npz
from mlpcompare.spec import (
    BN_EPS,
    BN_MOMENTUM,
    BN_PARAMS,
    BN_STATS,
    DECOUPLED_DECAY,
    ModelSpec,
    TrainSpec,
)

MODEL_FILE = "model.npz"
EVAL_CHUNK = 8192  # rows per forward pass in inference: bounds activation memory on big sets

_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
# The canonical name stems of one layer's parameter tuple, in order.
_LAYER_PARAMS = ("W", "b", *BN_PARAMS)

Params = list[tuple[jax.Array, ...]]  # per layer (W, b), or (W, b, gamma, beta) with BatchNorm
Stats = list[tuple[jax.Array, jax.Array]]  # per BatchNorm layer its running (mean, var)


# --- the model: pure functions --------------------------------------------------------------------


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
    """Inverted dropout: zero each unit with probability ``rate``, scale the kept by ``1/(1-rate)``.

    A unit is dropped when a uniform 32-bit integer falls below ``round(rate * 2**32)``: the test
    of the NumPy MLP (``uniform(0, 1) < rate`` to within 2**-32), from raw ``jax.random.bits``.
    """
    threshold = jnp.uint32(min(round(rate * 2**32), 2**32 - 1))
    keep = jax.random.bits(key, x.shape, jnp.uint32) >= threshold
    return jnp.where(keep, x * jnp.float32(1 / (1 - rate)), 0)


def batch_norm(
    z: jax.Array,
    gamma: jax.Array,
    beta: jax.Array,
    running: tuple[jax.Array, jax.Array],
    training: bool,
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """BatchNorm of ``z`` ``(b, width)`` by the spec's conventions; the running stats after it.

    Training normalises with the batch mean and *biased* variance (divided by ``b``) and moves the
    running ``(mean, var)`` towards them by ``BN_MOMENTUM``; inference normalises with the running
    statistics and returns them unchanged.
    """
    if training:
        mean = jnp.mean(z, axis=0)
        var = jnp.mean(jnp.square(z - mean), axis=0)  # biased: divided by b, not b - 1
        running_mean, running_var = running
        running = (
            (1 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean,
            (1 - BN_MOMENTUM) * running_var + BN_MOMENTUM * var,
        )
    else:
        mean, var = running
    return gamma * (z - mean) * jax.lax.rsqrt(var + BN_EPS) + beta, running


def forward(
    params: Params,
    stats: Stats,
    x: jax.Array,
    activation: str,
    rate: float = 0.0,
    key: jax.Array | None = None,
) -> tuple[jax.Array, Stats]:
    """Logits ``(n, n_out)`` of ``x`` ``(n, n_in)`` and the running statistics after the pass.

    A hidden layer is Linear, BatchNorm (if its tuple holds gamma and beta), activation, dropout.
    With a ``key`` this is training mode: BatchNorm uses the batch's statistics (and updates the
    running ones), and dropout of ``rate`` follows every hidden activation, layer ``i`` masked from
    ``fold_in(key, i)``. Without one it is inference: running statistics, no dropout.
    """
    act = _ACTIVATIONS[activation]
    training = key is not None
    *hidden, (w_out, b_out) = params
    new_stats = []
    for i, (w, b, *scale_shift) in enumerate(hidden):
        x = jnp.dot(x, w, precision=PRECISION) + b
        if scale_shift:
            x, running = batch_norm(x, *scale_shift, stats[i], training)
            new_stats.append(running)
        x = act(x)
        if training and rate > 0:
            x = dropout(x, rate, jax.random.fold_in(key, i))
    return jnp.dot(x, w_out, precision=PRECISION) + b_out, new_stats


def predict(params: Params, stats: Stats, x: jax.Array, activation: str = "relu") -> jax.Array:
    """Inference-mode logits ``(n, n_out)`` of ``x`` ``(n, n_in)`` (no dropout, running stats)."""
    logits, _ = forward(params, stats, x, activation)
    return logits


def loss(
    params: Params,
    stats: Stats,
    x: jax.Array,
    y: jax.Array,
    activation: str,
    rate: float,
    key: jax.Array | None,
) -> tuple[jax.Array, tuple[jax.Array, Stats]]:
    """Batch-mean softmax cross-entropy of ``x`` ``(b, n_in)`` for labels ``y`` ``(b,)``.

    The auxiliary output is the logits and the running statistics after the forward pass.
    """
    logits, new_stats = forward(params, stats, x, activation, rate, key)
    cross_entropy = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return cross_entropy, (logits, new_stats)


def penalty(params: Params, weight_decay: float) -> jax.Array:
    """``weight_decay/2 * sum(W**2)`` over the weight matrices (nothing else is penalised)."""
    return weight_decay / 2 * sum(jnp.sum(jnp.square(layer[0])) for layer in params)


def weight_matrices(params: Params) -> list[tuple[bool, ...]]:
    """The mask of the weight matrices: the first entry of every layer's tuple."""
    return [tuple(j == 0 for j in range(len(layer))) for layer in params]


def optimizer(train_spec: TrainSpec) -> optax.GradientTransformation:
    """The update direction, before ``-lr``: Adam or heavy-ball, and the weight decay.

    Coupled L2 (``sgd``, ``adam``) adds ``wd * W`` to the gradient before the moments; decoupled
    decay (``adamw``) adds it to Adam's direction after them.
    """
    decay = optax.add_decayed_weights(train_spec.weight_decay, mask=weight_matrices)
    if train_spec.optimizer == "sgd":
        moments = optax.trace(decay=train_spec.momentum)  # buf = momentum * buf + g; 0 = plain
    else:
        moments = optax.scale_by_adam(
            b1=train_spec.beta1, b2=train_spec.beta2, eps=train_spec.eps, eps_root=0.0
        )
    if train_spec.optimizer in DECOUPLED_DECAY:
        return optax.chain(moments, decay)
    return optax.chain(decay, moments)


def reported_l2(train_spec: TrainSpec) -> float:
    """The L2 weight of the loss a trainer reports: the penalty's, none for decoupled decay."""
    return 0.0 if train_spec.optimizer in DECOUPLED_DECAY else train_spec.weight_decay


def update(
    params: Params,
    stats: Stats,
    opt_state: optax.OptState,
    x: jax.Array,
    y: jax.Array,
    lr: jax.Array,
    key: jax.Array,
    *,
    tx: optax.GradientTransformation,
    activation: str,
    rate: float,
    l2: float,
) -> tuple[Params, Stats, optax.OptState, jax.Array, jax.Array]:
    """One optimizer step on ``x`` ``(b, n_in)``, ``y`` ``(b,)`` at rate ``lr``.

    Returns the new parameters, running statistics and optimizer state, the loss before the step
    (cross-entropy plus the penalty ``l2/2 * sum(W**2)``) and the number of correctly classified
    rows (training mode, before the step).
    """
    (cross_entropy, (logits, stats)), grads = jax.value_and_grad(loss, has_aux=True)(
        params, stats, x, y, activation, rate, key
    )
    updates, opt_state = tx.update(grads, opt_state, params)  # the decay needs the weights
    updates = jax.tree.map(lambda u: -lr * u, updates)
    reported = cross_entropy + penalty(params, l2)  # at the weights before the step
    correct = jnp.sum(jnp.argmax(logits, axis=1) == y)
    return optax.apply_updates(params, updates), stats, opt_state, reported, correct


def train_blocks(
    params: Params,
    stats: Stats,
    opt_state: optax.OptState,
    x: jax.Array,
    y: jax.Array,
    blocks: jax.Array,
    lr: jax.Array,
    key: jax.Array,
    t0: jax.Array,
    *,
    step: Callable,
) -> tuple[Params, Stats, optax.OptState, jax.Array, jax.Array]:
    """``step`` (:func:`update`, options bound) over the index ``blocks`` ``(k, b)``, in order.

    One ``lax.scan``: the whole run of equal-sized batches is one compiled loop on the device, with
    no return to Python between batches. Block ``j`` is global step ``t0 + j``, which keys its
    dropout masks. Returns the new parameters, running statistics and optimizer state, the summed
    loss times batch size and the summed correct count.
    """

    def one_batch(carry, index):
        params, stats, opt_state, t, loss_sum, correct = carry
        params, stats, opt_state, batch_loss, n_correct = step(
            params, stats, opt_state, x[index], y[index], lr, jax.random.fold_in(key, t)
        )
        loss_sum, correct = loss_sum + batch_loss * len(index), correct + n_correct
        return (params, stats, opt_state, t + 1, loss_sum, correct), None

    start = (params, stats, opt_state, t0, jnp.float32(0), jnp.int32(0))
    (params, stats, opt_state, _, loss_sum, correct), _ = jax.lax.scan(one_batch, start, blocks)
    return params, stats, opt_state, loss_sum, correct


def cross_entropy_and_correct(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Summed cross-entropy and correct count of ``logits`` ``(n, k)`` against ``y`` ``(n,)``."""
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y)
    return jnp.sum(ce), jnp.sum(jnp.argmax(logits, axis=1) == y)


# --- at the edges: canonical dicts <-> the parameter and stats pytrees ----------------------------


def canonical_shapes(model_spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """The shape of every canonical array of ``model_spec``, in :func:`spec.init_weights`' order."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(pairwise(model_spec.layer_sizes)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (n_in, n_out), (n_out,)
    if model_spec.batch_norm:
        for i, width in enumerate(model_spec.hidden):
            shapes.update({f"{stem}{i}": (width,) for stem in (*BN_PARAMS, *BN_STATS)})
    return shapes


def params_from_canonical(
    weights: dict[str, np.ndarray], model_spec: ModelSpec, device: jax.Device
) -> tuple[Params, Stats]:
    """``{"W0", "b0", ...}`` to the parameters and running statistics, float32 on ``device``.

    Every array is checked: the canonical layout is JAX's own (``x @ W``), so nothing is
    transposed, and a wrong shape would otherwise only surface as an XLA shape error deep inside
    the first step.
    """
    sizes = model_spec.layer_sizes
    shapes = canonical_shapes(model_spec)
    arrays = {}
    for name, shape in shapes.items():
        if name not in weights:
            raise ValueError(f"{name} is missing (expected layers {sizes})")
        # A copy: on the CPU, device_put may share the NumPy buffer, and the trainer's steps
        # donate (overwrite) the parameters' buffers.
        value = np.array(weights[name], dtype=np.float32)
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
        arrays[name] = jax.device_put(value, device)
    extra = set(weights) - set(shapes)
    if extra:
        raise ValueError(f"unexpected arrays {sorted(extra)} (expected layers {sizes})")
    params = [
        tuple(arrays[f"{stem}{i}"] for stem in _LAYER_PARAMS if f"{stem}{i}" in arrays)
        for i in range(model_spec.n_layers)
    ]
    stats = [
        tuple(arrays[f"{stem}{i}"] for stem in BN_STATS)
        for i in range(len(model_spec.hidden))
        if model_spec.batch_norm
    ]
    return params, stats


def canonical_from_params(params: Params, stats: Stats) -> dict[str, np.ndarray]:
    """The parameters and running statistics as ``{"W0", "b0", ...}``: float32 NumPy copies."""
    params, stats = jax.device_get((params, stats))
    weights = {}
    for stems, layers in ((_LAYER_PARAMS, params), (BN_STATS, stats)):
        for i, layer in enumerate(layers):
            for stem, value in zip(stems, layer, strict=False):
                weights[f"{stem}{i}"] = np.array(value, dtype=np.float32)
    return weights


# --- the trainer --------------------------------------------------------------------------------


class Trainer:
    """Trains the parameter pytree on arrays held on ``device``; ``training.Trainer``'s surface.

    Holds no global state (the dropout key is its own), so trainers do not disturb each other.
    """

    # The constructor every trainer has (mlpcompare.training.loop.Trainer documents the arguments).
    def __init__(self, model_spec, train_spec, weights, x_train, y_train, *, seed, device):
        self.model_spec = model_spec
        self.batch_size = train_spec.batch_size
        self.device = jax_device(resolve_device(device))
        self.params, self.stats = params_from_canonical(weights, model_spec, self.device)
        tx = optimizer(train_spec)
        self.opt_state = jax.device_put(tx.init(self.params), self.device)
        self.key = jax.device_put(jax.random.key(seed), self.device)
        self.t = 0  # optimizer steps taken: numbers the dropout keys
        # Copied to the device once; each batch is then an index into these arrays.
        self.x = jax.device_put(np.asarray(x_train, dtype=np.float32), self.device)
        self.y = jax.device_put(np.asarray(y_train, dtype=np.int32), self.device)
        step = partial(
            update,
            tx=tx,
            activation=model_spec.activation,
            rate=model_spec.dropout,
            l2=reported_l2(train_spec),
        )
        # The old parameters, stats and state are dead after a step: donating them lets XLA
        # update them in place instead of allocating new buffers every batch.
        self._step = jax.jit(step, donate_argnums=(0, 1, 2))
        self._blocks = jax.jit(partial(train_blocks, step=step), donate_argnums=(0, 1, 2))
        self._predict = jax.jit(partial(predict, activation=model_spec.activation))
        self._score = jax.jit(cross_entropy_and_correct)

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One update on the batch ``xb`` ``(b, n_in)``, ``yb`` ``(b,)``; its loss before it."""
        xb = jax.device_put(np.asarray(xb, dtype=np.float32), self.device)
        yb = jax.device_put(np.asarray(yb, dtype=np.int32), self.device)
        key = jax.random.fold_in(self.key, self.t)
        self.params, self.stats, self.opt_state, batch_loss, _ = self._step(
            self.params, self.stats, self.opt_state, xb, yb, lr, key
        )
        self.t += 1
        return float(batch_loss)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``; sample-weighted mean loss and accuracy.

        The loss includes the L2 penalty of ``sgd`` and ``adam`` (``adamw`` has none). The batches are the consecutive blocks of :func:`mlpcompare.spec.batches`: the full ones
        in one compiled loop (:func:`train_blocks`), a smaller last one, if any, as one more step.
        """
        n_full = len(order) // self.batch_size
        split = n_full * self.batch_size
        index = jax.device_put(np.asarray(order, dtype=np.int32), self.device)  # once per epoch
        loss_sum, correct = jnp.float32(0), jnp.int32(0)
        if n_full:
            blocks = index[:split].reshape(n_full, self.batch_size)
            self.params, self.stats, self.opt_state, loss_sum, correct = self._blocks(
                self.params, self.stats, self.opt_state, self.x, self.y, blocks, lr,
                self.key, self.t,
            )  # fmt: skip
            self.t += n_full
        if split < len(order):
            rest = index[split:]
            self.params, self.stats, self.opt_state, batch_loss, batch_correct = self._step(
                self.params, self.stats, self.opt_state, self.x[rest], self.y[rest], lr,
                jax.random.fold_in(self.key, self.t),
            )  # fmt: skip
            self.t += 1
            loss_sum = loss_sum + batch_loss * len(rest)
            correct = correct + batch_correct
        loss_sum, correct = jax.device_get((loss_sum, correct))  # the epoch's one sync
        return float(loss_sum) / len(order), int(correct) / len(order)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self._logits(x)
        labels = jax.device_put(np.asarray(y, dtype=np.int32), self.device)
        ce_sum, correct = jax.device_get(self._score(logits, labels))
        return float(ce_sum) / len(y), int(correct) / len(y)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(n, n_out)``, float32, inference mode."""
        return np.asarray(self._logits(x))

    def get_weights(self) -> dict[str, np.ndarray]:
        return canonical_from_params(self.params, self.stats)

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        self.params, self.stats = params_from_canonical(params, self.model_spec, self.device)

    def save(self, path: str) -> None:
        """Write the parameters and running statistics as an .npz of plain float32 arrays
        (``W0, b0, ...``, BatchNorm's ``gamma0, beta0, mean0, var0, ...``), atomically."""
        write_npz(self.get_weights(), path)

    def _logits(self, x: np.ndarray) -> jax.Array:
        x = np.asarray(x, dtype=np.float32)
        parts = [
            self._predict(
                self.params, self.stats, jax.device_put(x[i : i + EVAL_CHUNK], self.device)
            )
            for i in range(0, len(x), EVAL_CHUNK)
        ]
        return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


# --- inference from a saved model -----------------------------------------------------------------


class Predictor:
    """A loaded model for inference: NumPy ``(n, n_in)`` in, float32 logits ``(n, n_out)`` out."""

    def __init__(self, params: Params, stats: Stats, model_spec: ModelSpec, device: jax.Device):
        self.params = params
        self.stats = stats
        self.device = device
        self.model_spec = model_spec
        self._apply = jax.jit(partial(predict, activation=model_spec.activation))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate(
            [self._jit_apply(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        )

    def inference_apis(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Named ways to run inference for the benchmark; each includes host -> device and back.

        The jitted predict is also JAX's serving path: compiled once per input shape (in the
        benchmark's warm-up), then one XLA call; there is no eager call to set beside it.
        """
        return {"jit_apply": self._jit_apply}

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path``; returns how. JAX has no ONNX exporter of its
        own: the graph is written with the ``onnx`` helpers from the canonical weights."""
        # Imported here: onnx takes ~0.2 s to import, which every training job would pay.
        from mlpcompare.serving import onnx_graph

        weights = canonical_from_params(self.params, self.stats)
        onnx_graph.write(weights, self.model_spec, path)
        return "onnx.helper graph from the canonical weights"

    def _jit_apply(self, x: np.ndarray) -> np.ndarray:
        x = jax.device_put(np.asarray(x, np.float32), self.device)
        logits = self._apply(self.params, self.stats, x)
        return np.asarray(logits)  # waits for the device and copies back: timings are complete


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load an .npz written by :meth:`Trainer.save`; never unpickles (``allow_pickle=False``).

    A file that is not such an .npz, or whose layers do not match ``model_spec``, raises
    ``ValueError`` naming the file.
    """
    target = jax_device(resolve_device(device))
    weights = read_npz(path)  # a file that is not an .npz of arrays: ValueError naming it
    try:
        params, stats = params_from_canonical(weights, model_spec, target)
    except ValueError as err:
        raise ValueError(f"{path} does not hold the {model_spec.layer_sizes} MLP: {err}") from err
    return Predictor(params, stats, model_spec, target)
