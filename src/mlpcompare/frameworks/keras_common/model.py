"""The model: a plain ``keras.Sequential`` of ``Dense`` layers, and its canonical parameters.

Dense kernels are ``(n_in, n_out)``, the canonical layout, so weights pass in and out
untransposed; Keras' own ``BatchNormalization`` sits before each hidden activation when the spec
asks for it.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from mlpcompare.spec import BN_EPS, ModelSpec, keras_bn_momentum, keras_l2_factor


def build_model(spec: ModelSpec, weight_decay: float, seed: int | None = None) -> keras.Sequential:
    """``n_in -> Dense(h) [-> BatchNorm] -> act [-> Dropout] ... -> Dense(n_out)``: logits.

    ``weight_decay`` is the coupled L2 penalty (pass 0 for a decoupled optimizer, see
    :func:`.optim.l2_penalty`): a kernel regulariser with Keras' factor on every kernel, the output
    layer's too, and on no bias (gradient ``+ weight_decay * W``). The activation is a layer of its
    own so that BatchNorm can sit between the Dense and it; without BatchNorm it is fused into the
    Dense, as before. With a ``seed``, hidden layer ``i``'s Dropout draws from its own stream of
    it, so the masks depend on the run's seed and nothing global (the JAX backend's trainer
    carries each layer's seed state); without, from Keras' global seed generator, which
    ``keras.utils.set_random_seed`` seeds (the TensorFlow backend's trainer).
    """

    def l2():
        return keras.regularizers.L2(keras_l2_factor(weight_decay)) if weight_decay else None

    if seed is None:
        dropout_seeds = [None] * len(spec.hidden)
    else:
        streams = np.random.SeedSequence(seed).generate_state(len(spec.hidden))
        dropout_seeds = [int(stream) for stream in streams]
    hidden = []
    for width, dropout_seed in zip(spec.hidden, dropout_seeds, strict=True):
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
            hidden.append(layers.Dropout(spec.dropout, seed=dropout_seed))
    output = layers.Dense(spec.n_out, kernel_regularizer=l2())
    return keras.Sequential([layers.Input(shape=(spec.n_in,)), *hidden, output])


def dense_layers(model: keras.Sequential) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)]


def batch_norm_layers(model: keras.Sequential) -> list[layers.BatchNormalization]:
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
    for i, dense in enumerate(dense_layers(model)):
        variables[f"W{i}"], variables[f"b{i}"] = dense.kernel, dense.bias
    for i, bn in enumerate(batch_norm_layers(model)):
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
    """Copy a canonical dict into ``model``; a Dense kernel already is (n_in, n_out). Every array
    is checked, as a wrong shape would otherwise only surface deep inside the first step (as an
    XLA shape error on the JAX backend)."""
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
