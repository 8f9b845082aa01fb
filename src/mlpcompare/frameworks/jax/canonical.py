"""At the edges: canonical dicts of NumPy arrays <-> the parameter and stats pytrees."""

from __future__ import annotations

from itertools import pairwise

import jax
import numpy as np

from mlpcompare.frameworks.jax.model import Params, Stats
from mlpcompare.spec import BN_PARAMS, BN_STATS, ModelSpec

# The canonical name stems of one layer's parameter tuple, in order.
_LAYER_PARAMS = ("W", "b", *BN_PARAMS)


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
