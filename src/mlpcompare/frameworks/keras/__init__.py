"""The MLP in Keras 3 on the TensorFlow backend.

The model is a plain ``keras.Sequential`` of ``Dense`` layers (kernels are ``(n_in, n_out)``, the
canonical layout, so weights pass through untransposed), with Keras' own ``BatchNormalization``
before each hidden activation when the spec asks for it. Training is a custom step rather than
``model.fit``: the shared permutation decides the batches, and the optimizer maths must be the
textbook forms every framework uses (see :class:`TextbookAdam` and :class:`HeavyBallSGD`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from mlpcompare import frameworks

# Backend, logging and CPU kernels are read once, when TensorFlow and Keras are first imported:
# the registry's import_environment for Keras (frameworks.yaml, where each is explained).
frameworks.get("keras").set_import_environment()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

from mlpcompare.io import atomic_path  # noqa: E402
from mlpcompare.spec import (  # noqa: E402
    BN_EPS,
    DECOUPLED_DECAY,
    ModelSpec,
    TrainSpec,
    keras_bn_momentum,
    keras_l2_factor,
)

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"mlpcompare.frameworks.keras needs the TensorFlow backend, but KERAS_BACKEND selects "
        f"{keras.backend.backend()!r}"
    )

MODEL_FILE = "model.keras"
_TF_DEVICES = {"cpu": "/CPU:0", "cuda": "/GPU:0"}
_PREDICT_CHUNK = 8192  # rows per forward call when predicting: bounds activation memory


class TextbookAdam(keras.optimizers.Adam):
    """Adam as in Kingma & Ba's Algorithm 1 and ``torch.optim.Adam``: eps is added to sqrt(v_hat).

    Keras' own Adam folds both bias corrections into the step size and adds eps to sqrt(v), which
    amounts to an effective eps of ``eps * sqrt(1 - beta2**t)``. Where gradients are tiny that
    changes a parameter's step by up to ~1e-3 relative to torch and NumPy, so the framework would
    no longer be the only variable. Only ``update_step`` differs; state and config are Adam's.
    ``amsgrad`` is not supported.

    The update runs as TensorFlow's fused Adam kernel, one op per variable: Keras' update written
    in ``keras.ops`` is a dozen graph ops per variable, and at MNIST sizes running them cost about
    as much as the matrix products (docs/performance.md). The kernel computes
    ``lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)``; given
    ``epsilon = eps * sqrt(1 - beta2**t)`` that is exactly ``lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    def update_step(self, gradient, variable, learning_rate):
        """One textbook Adam update of ``variable`` (called per variable by ``apply``)."""
        dtype = variable.dtype
        # Powers formed in float64 and then cast, as torch forms them in Python.
        step = ops.cast(self.iterations + 1, "float64")
        beta1_power = ops.power(ops.cast(self.beta_1, "float64"), step)
        beta2_power = ops.power(ops.cast(self.beta_2, "float64"), step)
        epsilon = self.epsilon * ops.sqrt(1 - beta2_power)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.cast(beta1_power, dtype),
            beta2_power=ops.cast(beta2_power, dtype),
            lr=ops.cast(learning_rate, dtype),
            beta1=ops.cast(self.beta_1, dtype),
            beta2=ops.cast(self.beta_2, dtype),
            epsilon=ops.cast(epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )


class HeavyBallSGD(keras.optimizers.SGD):
    """SGD with momentum in ``torch.optim.SGD``'s form: ``buf = mu*buf + g; p -= lr*buf``.

    Keras' SGD keeps a velocity that already includes the rate (``v = mu*v - lr*g; p += v``).
    For a constant rate both are the same sequence of parameters, but when the rate changes
    between steps (``lr_decay`` at an epoch boundary) Keras' velocity still carries the old rate
    and the two diverge; storing the rate-free buffer keeps every framework on torch's form.
    TensorFlow's fused momentum kernel is exactly that form (one op per variable, as in
    :class:`TextbookAdam`).
    """

    def update_step(self, gradient, variable, learning_rate):
        """One heavy-ball update of ``variable`` (called per variable by ``apply``)."""
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=lr, delta=gradient)
            return
        # buf starts at zero, so the first step gives buf = g, as torch's first step does.
        tf.raw_ops.ResourceApplyMomentum(
            var=variable.handle,
            accum=self.momentums[self._get_variable_index(variable)].handle,
            lr=lr,
            grad=gradient,
            momentum=ops.cast(self.momentum, variable.dtype),
        )


def configure_threads(n: int) -> None:
    """Pin TF's thread pools: ``n`` threads inside an op, at most two ops at a time.

    The forward and backward passes are a chain, but the optimizer's per-variable updates are
    independent small ops; letting two overlap was slightly faster on 2 cores, more would only
    compete with the intra-op pool. TF fixes both pools once its runtime starts.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(min(n, 2))
    except RuntimeError as err:
        raise RuntimeError(
            "configure_threads must run before TensorFlow initialises (before any tensor is made)"
        ) from err


def resolve_device(requested: str) -> str:
    """Map ``"auto" | "cpu" | "cuda"`` to the device used: ``"cpu"`` or ``"cuda"``."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if requested == "cuda" and not has_gpu:
        raise RuntimeError("device 'cuda' requested, but TensorFlow sees no CUDA device (GPU)")
    if requested == "auto":
        return "cuda" if has_gpu else "cpu"
    return requested


def step_products(
    pairs: list[tuple[np.ndarray, np.ndarray]], device: str
) -> Callable[[], list[tf.Tensor]]:
    """A call that computes every ``lhs @ rhs`` of ``pairs`` with TensorFlow's own product (the
    kernel Keras' Dense layers run) on ``device``, all in one ``tf.function`` as the trainer's
    step runs inside one, finished when it returns (and returned): what the in-run ceiling
    times (:class:`mlpcompare.measuring.roofline.RunCeiling`). The operands are the function's arguments,
    so no graph optimisation can fold the products away as constants."""
    with tf.device(_TF_DEVICES[device]):
        operands = [tf.constant(m) for pair in pairs for m in pair]

    @tf.function
    def products(*ops):
        return [tf.linalg.matmul(ops[i], ops[i + 1]) for i in range(0, len(ops), 2)]

    def call():
        with tf.device(_TF_DEVICES[device]):
            result = products(*operands)
        if device == "cuda":
            tf.test.experimental.sync_devices()  # a GPU op returns at launch; time it to its end
        return result

    return call


def environment() -> dict:
    """Versions, device and thread settings in effect, for the run's record."""
    gpus = tf.config.list_physical_devices("GPU")
    build = tf.sysconfig.get_build_info()
    return {
        "framework": "keras",
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "backend": keras.backend.backend(),
        "device": (
            tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
            if gpus
            else "cpu"
        ),
        # 0 means TF chooses (one thread per core).
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        # TF's CPU kernels use oneDNN (on by default for x86 builds) and Eigen, not a system BLAS.
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "cuda_build": bool(build.get("is_cuda_build", False)),
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
    }


def build_model(spec: ModelSpec, weight_decay: float) -> keras.Sequential:
    """``n_in -> Dense(h) [-> BatchNorm] -> act [-> Dropout] ... -> Dense(n_out)``: logits.

    ``weight_decay`` is the coupled L2 penalty (pass 0 for a decoupled optimizer, see
    :func:`l2_penalty`): a kernel regulariser with Keras' factor on every kernel, the output
    layer's too, and on no bias (gradient ``+ weight_decay * W``). The activation is a layer of its
    own so that BatchNorm can sit between the Dense and it; without BatchNorm it is fused into the
    Dense, as before.
    """

    def l2():
        return keras.regularizers.L2(keras_l2_factor(weight_decay)) if weight_decay else None

    hidden = []
    for width in spec.hidden:
        if spec.batch_norm:
            hidden += [
                layers.Dense(width, kernel_regularizer=l2()),
                # Keras' momentum is the share the moving value keeps (spec.keras_bn_momentum).
                layers.BatchNormalization(momentum=keras_bn_momentum(), epsilon=BN_EPS),
                layers.Activation(spec.activation),
            ]
        else:
            hidden.append(layers.Dense(width, activation=spec.activation, kernel_regularizer=l2()))
        if spec.dropout > 0:
            hidden.append(layers.Dropout(spec.dropout))
    output = layers.Dense(spec.n_out, kernel_regularizer=l2())
    return keras.Sequential([layers.Input(shape=(spec.n_in,)), *hidden, output])


def l2_penalty(train_spec: TrainSpec) -> float:
    """The coupled L2 factor the loss carries: ``weight_decay``, or 0 where decay is decoupled."""
    return 0.0 if train_spec.optimizer in DECOUPLED_DECAY else train_spec.weight_decay


def build_optimizer(train_spec: TrainSpec, model: keras.Sequential) -> keras.optimizers.Optimizer:
    """The optimizer of ``train_spec`` for ``model``; its rate is overwritten before every use.

    ``adamw`` is :class:`TextbookAdam` with Keras' decoupled ``weight_decay``: before the update,
    Keras' ``apply`` shrinks each decayed variable by ``variable * weight_decay * lr`` at the
    current rate, which is PyTorch's ``W <- W * (1 - lr * lambda)``; the Adam maths stays in one
    place. Only the Dense kernels decay: biases and BatchNorm's gamma and beta are excluded.
    """
    if train_spec.optimizer == "sgd":
        return HeavyBallSGD(learning_rate=train_spec.lr, momentum=float(train_spec.momentum))
    decoupled = train_spec.optimizer in DECOUPLED_DECAY
    optimizer = TextbookAdam(
        learning_rate=train_spec.lr,
        beta_1=train_spec.beta1,
        beta_2=train_spec.beta2,
        epsilon=train_spec.eps,
        weight_decay=train_spec.weight_decay if decoupled else None,
    )
    if decoupled:
        kernels = {id(dense.kernel) for dense in _dense_layers(model)}
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in model.trainable_variables if id(v) not in kernels]
        )
    return optimizer


def _dense_layers(model: keras.Sequential) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)]


def _batch_norm_layers(model: keras.Sequential) -> list[layers.BatchNormalization]:
    return [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]


def _batch_norm_variables(bn: layers.BatchNormalization, i: int) -> dict:
    """Canonical names of hidden layer ``i``'s BatchNorm arrays -> the layer's variables."""
    return {
        f"gamma{i}": bn.gamma,
        f"beta{i}": bn.beta,
        f"mean{i}": bn.moving_mean,
        f"var{i}": bn.moving_variance,
    }


def _canonical_variables(model: keras.Sequential) -> dict:
    """Every canonical name (``W{i}``, ``b{i}``, BatchNorm's arrays) -> its Keras variable."""
    variables = {}
    for i, dense in enumerate(_dense_layers(model)):
        variables[f"W{i}"], variables[f"b{i}"] = dense.kernel, dense.bias
    for i, bn in enumerate(_batch_norm_layers(model)):
        variables.update(_batch_norm_variables(bn, i))
    return variables


def get_params(model: keras.Sequential) -> dict[str, np.ndarray]:
    """Canonical dict copied out of ``model``: ``W{i}`` (n_in, n_out), ``b{i}`` (n_out,) and, with
    BatchNorm, ``gamma{i}``, ``beta{i}`` and the moving statistics ``mean{i}``, ``var{i}``."""
    return {
        name: np.array(variable.numpy(), dtype=np.float32)
        for name, variable in _canonical_variables(model).items()
    }


def set_params(model: keras.Sequential, params: dict[str, np.ndarray]) -> None:
    """Copy a canonical dict into ``model``; a Dense kernel already is (n_in, n_out)."""
    for name, variable in _canonical_variables(model).items():
        variable.assign(np.asarray(params[name], dtype=np.float32))


def _logits(model: keras.Sequential, x: np.ndarray) -> np.ndarray:
    """Inference-mode logits (n, n_out) by direct calls, ``_PREDICT_CHUNK`` rows at a time."""
    x = np.asarray(x, dtype=np.float32)
    chunks = [
        model(x[i : i + _PREDICT_CHUNK], training=False).numpy()
        for i in range(0, len(x), _PREDICT_CHUNK)
    ]
    return np.concatenate(chunks)


class Trainer:
    """Trains one Keras MLP from given weights with the shared batches (see ``training.Trainer``)."""

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
        # Seeds Python, NumPy and TF, from which Dropout's seed generators draw: set before
        # building. Op determinism makes TF pick reproducible kernels (matters on GPU).
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        self.model_spec, self.train_spec = model_spec, train_spec
        self.device = resolve_device(device)
        self._tf_device = _TF_DEVICES[self.device]
        with tf.device(self._tf_device):
            self.model = build_model(model_spec, l2_penalty(train_spec))
            set_params(self.model, weights)
            self.optimizer = build_optimizer(train_spec, self.model)
            self.optimizer.build(self.model.trainable_variables)
            self._x = tf.constant(np.asarray(x_train, dtype=np.float32))
            self._y = tf.constant(np.asarray(y_train, dtype=np.int64))
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # Graph mode without XLA: jit_compile=True was no faster per batch on CPU, and the
        # epoch loop (whose last batch may be smaller) did not finish compiling in minutes.
        self._step_fn = tf.function(self._train_batch, reduce_retracing=True)
        self._epoch_fn = tf.function(self._train_batches)

    def _train_batch(self, xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One update on ``xb`` (b, n_in), ``yb`` (b,); returns (loss, correct) before it."""
        with tf.GradientTape() as tape:
            # Training mode: dropout masks, and BatchNorm normalises with the batch's statistics
            # and updates its moving ones (Keras assigns them inside the call).
            logits = self.model(xb, training=True)
            # model.losses holds the kernels' L2 terms, weight_decay/2 * sum(W**2) (none for adamw).
            loss = self._loss(yb, logits) + sum(self.model.losses)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply(grads, variables)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=1), yb), tf.int64))
        return loss, correct

    def _train_batches(self, order: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """All batches of ``order`` in one graph: (sample-weighted loss sum, correct count).

        One call per epoch rather than per batch: on 2 CPU cores the per-call overhead made a
        Python loop over batches about half as fast. ``order`` is (n,) int64 row indices.
        """
        batch_size = self.train_spec.batch_size
        n = tf.shape(order, out_type=tf.int64)[0]
        loss_sum = tf.zeros((), tf.float64)
        correct = tf.zeros((), tf.int64)
        for start in tf.range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss, n_correct = self._train_batch(tf.gather(self._x, idx), tf.gather(self._y, idx))
            loss_sum += tf.cast(loss, tf.float64) * tf.cast(tf.size(idx), tf.float64)
            correct += n_correct
        return loss_sum, correct

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
        """One optimizer step on one batch at rate ``lr``; returns its loss (CE [+ L2]) before."""
        self.optimizer.learning_rate.assign(lr)
        with tf.device(self._tf_device):
            loss, _ = self._step_fn(
                tf.constant(np.asarray(xb, dtype=np.float32)),
                tf.constant(np.asarray(yb, dtype=np.int64)),
            )
        return float(loss)

    def train_epoch(self, order: np.ndarray, lr: float) -> tuple[float, float]:
        """Batches of ``order`` at rate ``lr``: mean training loss (CE [+ L2]) and accuracy.

        The L2 term is there for ``sgd`` and ``adam`` only: ``adamw``'s decay is not in the loss.
        """
        self.optimizer.learning_rate.assign(lr)
        with tf.device(self._tf_device):
            loss_sum, correct = self._epoch_fn(tf.constant(np.asarray(order, dtype=np.int64)))
        n = len(order)
        return float(loss_sum) / n, float(correct) / n

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cross-entropy (no penalty) and accuracy in inference mode."""
        logits = self.predict_logits(x)
        y = np.asarray(y, dtype=np.int64)
        loss = float(self._loss(y, logits))
        return loss, float(np.mean(np.argmax(logits, axis=1) == y))

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out) float32, inference mode (dropout off, BatchNorm's moving statistics)."""
        with tf.device(self._tf_device):
            return _logits(self.model, x)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Current parameters and BatchNorm's moving statistics in canonical layout (copies)."""
        return get_params(self.model)

    def set_weights(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite the parameters (and moving statistics); optimizer state is left alone."""
        set_params(self.model, params)

    def save(self, path: str) -> None:
        """Write a ``.keras`` file atomically (temp file in the same folder, then rename).

        The model is never compiled, so the file holds architecture and weights only (BatchNorm's
        moving statistics are weights of its layer): no optimizer state and no custom objects,
        and it loads with ``safe_mode=True``.
        """
        if not str(path).endswith(".keras"):
            raise ValueError(f"a Keras model file must end with .keras, got {path!r}")
        with atomic_path(path, suffix=".keras") as tmp:  # Keras insists on the suffix
            self.model.save(tmp)


class Predictor:
    """A loaded model: ``predict_logits`` and the inference APIs a benchmark times."""

    def __init__(self, model: keras.Sequential, device: str, model_spec: ModelSpec):
        self.model = model
        self.model_spec = model_spec
        self._tf_device = _TF_DEVICES[device]
        self._serve = serving_function(model, model_spec.n_in)

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, n_out) float32, inference mode."""
        with tf.device(self._tf_device):
            return _logits(self.model, x)

    def inference_apis(self) -> dict:
        """Named ways to get logits from an (n, n_in) array, each returning NumPy."""

        def direct_call(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self.model(x, training=False).numpy()

        def predict(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self.model.predict(x, batch_size=len(x), verbose=0)

        def tf_function(x: np.ndarray) -> np.ndarray:
            with tf.device(self._tf_device):
                return self._serve(x).numpy()

        return {"direct_call": direct_call, "predict": predict, "tf_function": tf_function}

    def export_onnx(self, path: str) -> str:
        """Write the model as ONNX to ``path`` with Keras' own exporter; returns how.

        ``model.export(format="onnx")`` traces the inference-mode call and converts it with
        ``tf2onnx`` on the TensorFlow backend. It refuses a model that was never called, which a
        model loaded from its file may be: one call on a zero row builds the call first.
        """
        with tf.device(self._tf_device):
            self.model(np.zeros((1, self.model_spec.n_in), dtype=np.float32), training=False)
            with atomic_path(path, suffix=".onnx") as tmp:
                self.model.export(str(tmp), format="onnx", verbose=False)
        return "keras model.export(format='onnx') via tf2onnx"


def serving_function(model: keras.Sequential, n_in: int) -> tf.types.experimental.Function:
    """``model`` in inference mode as a compiled ``tf.function``: what a deployer serves.

    Eager ``model(x)`` pays ~9 ms of Python and dispatch per call at batch 1; traced once for
    any batch size (the signature's ``None``), a call is one graph execution, as the serving
    signature of ``model.export`` would run it.
    """
    signature = [tf.TensorSpec(shape=(None, n_in), dtype=tf.float32)]
    return tf.function(lambda x: model(x, training=False), input_signature=signature)


def load_model(path: str, model_spec: ModelSpec, device: str) -> Predictor:
    """Load a file written by :meth:`Trainer.save` (safe mode: no arbitrary code runs)."""
    device = resolve_device(device)
    with tf.device(_TF_DEVICES[device]):
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    sizes = [model.input_shape[-1], *(d.units for d in _dense_layers(model))]
    if sizes != model_spec.layer_sizes:
        raise ValueError(f"{path} has layer sizes {sizes}, expected {model_spec.layer_sizes}")
    if bool(_batch_norm_layers(model)) != model_spec.batch_norm:
        raise ValueError(f"{path} does not match batch_norm={model_spec.batch_norm}")
    return Predictor(model, device, model_spec)
