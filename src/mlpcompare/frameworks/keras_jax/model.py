"""The model: a plain ``keras.Sequential`` of ``Dense`` layers, and its canonical parameters.

The same network as the TensorFlow-backed Keras framework builds (Dense kernels are
``(n_in, n_out)``, the canonical layout, so weights pass in and out untransposed; Keras' own
``BatchNormalization`` before each hidden activation when the spec asks for it). Each
``Dropout`` gets its own seed, so a trainer's masks depend on its run's seed and nothing global.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from mlpcompare.spec import BN_EPS, ModelSpec, keras_bn_momentum, keras_l2_factor


def build_model(spec: ModelSpec, weight_decay: float, seed: int = 0) -> keras.Sequential:
    """``n_in -> Dense(h) [-> BatchNorm] -> act [-> Dropout] ... -> Dense(n_out)``: logits.

    ``weight_decay`` is the coupled L2 penalty (0 for a decoupled optimizer): a kernel
    regulariser with Keras' factor on every kernel and on no bias (gradient
    ``+ weight_decay * W``). Hidden layer ``i``'s Dropout draws from its own stream of ``seed``.
    """

    def l2():
        return keras.regularizers.L2(keras_l2_factor(weight_decay)) if weight_decay else None

    streams = np.random.SeedSequence(seed).generate_state(len(spec.hidden))
    hidden = []
    for width, stream in zip(spec.hidden, streams, strict=True):
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
            hidden.append(layers.Dropout(spec.dropout, seed=int(stream)))
    output = layers.Dense(spec.n_out, kernel_regularizer=l2())
    return keras.Sequential([layers.Input(shape=(spec.n_in,)), *hidden, output])


def dense_layers(model: keras.Sequential) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)]


def batch_norm_layers(model: keras.Sequential) -> list[layers.BatchNormalization]:
    return [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]


def _canonical_variables(model: keras.Sequential) -> dict:
    """Every canonical name (``W{i}``, ``b{i}``, BatchNorm's arrays) -> its Keras variable."""
    variables = {}
    for i, dense in enumerate(dense_layers(model)):
        variables[f"W{i}"], variables[f"b{i}"] = dense.kernel, dense.bias
    for i, bn in enumerate(batch_norm_layers(model)):
        variables.update({f"gamma{i}": bn.gamma, f"beta{i}": bn.beta,
                          f"mean{i}": bn.moving_mean, f"var{i}": bn.moving_variance})  # fmt: skip
    return variables


def get_params(model: keras.Sequential) -> dict[str, np.ndarray]:
    """Canonical dict copied out of ``model``: ``W{i}`` (n_in, n_out), ``b{i}`` (n_out,) and, with
    BatchNorm, ``gamma{i}``, ``beta{i}`` and the moving statistics ``mean{i}``, ``var{i}``."""
    return {
        name: np.array(variable.numpy(), dtype=np.float32)
        for name, variable in _canonical_variables(model).items()
    }


def set_params(model: keras.Sequential, params: dict[str, np.ndarray]) -> None:
    """Copy a canonical dict into ``model``; every array is checked, as a wrong shape would
    otherwise only surface as an XLA shape error deep inside the first step."""
    variables = _canonical_variables(model)
    extra = set(params) - set(variables)
    if extra:
        raise ValueError(f"unexpected arrays {sorted(extra)}")
    for name, variable in variables.items():
        if name not in params:
            raise ValueError(f"{name} is missing")
        value = np.asarray(params[name], dtype=np.float32)
        if value.shape != tuple(variable.shape):
            raise ValueError(f"{name} has shape {value.shape}, expected {tuple(variable.shape)}")
        variable.assign(value)
