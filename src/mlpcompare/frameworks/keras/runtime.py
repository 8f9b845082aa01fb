"""Where the Keras MLP runs: threads, the device, and the environment recorded with each result."""

from __future__ import annotations

import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

# The package sets the registry's import_environment before anything imports Keras; a process
# that imported Keras earlier with another backend cannot use this module.
if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"mlpcompare.frameworks.keras needs the TensorFlow backend, but KERAS_BACKEND selects "
        f"{keras.backend.backend()!r}"
    )

TF_DEVICES = {"cpu": "/CPU:0", "cuda": "/GPU:0"}

# float32 products in full float32. On NVIDIA GPUs from Ampere on, TensorFlow by default runs them
# in TF32 (operands rounded to a 10-bit mantissa), which PyTorch (allow_tf32 = False) and JAX
# (precision HIGHEST) do not; off for the whole process, before any op. No effect on the CPU.
tf.config.experimental.enable_tensor_float_32_execution(False)


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
    with tf.device(TF_DEVICES[device]):
        operands = [tf.constant(m) for pair in pairs for m in pair]

    @tf.function
    def products(*ops):
        return [tf.linalg.matmul(ops[i], ops[i + 1]) for i in range(0, len(ops), 2)]

    def call():
        with tf.device(TF_DEVICES[device]):
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
        "tensor_float32": tf.config.experimental.tensor_float_32_execution_enabled(),
        "cuda_build": bool(build.get("is_cuda_build", False)),
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
    }
