"""The initial weights' scheme, an architecture setting (``init``): He-normal, Glorot-uniform or
all zeros, one canonical file per run that every framework loads.

He-normal is :func:`mlpcompare.spec.init_weights`, unchanged, so an architecture without
``init`` gets the same bytes as before the setting existed. The other schemes start from those
arrays (their shapes, biases and BatchNorm arrays) and replace only the weight matrices. This
module, not spec.py, holds them: spec.py is imported by every training job, and editing it would
rerun every finished run.
"""

from __future__ import annotations

import numpy as np

from mlpcompare import spec

SCHEMES = ("he-normal", "glorot-uniform", "zeros")
# What an architecture without ``init`` means. The schema gives no default for the key on
# purpose: Snakemake would fill it into every architecture, and the changed params of the init
# and training rules would rerun every finished run of the main comparison.
DEFAULT = "he-normal"


def scheme_of(arch: dict) -> str:
    """The scheme an architecture entry (config ``architectures``) asks for."""
    return arch.get("init", DEFAULT)


def initial_weights(model_spec: spec.ModelSpec, seed: int, scheme: str = DEFAULT) -> dict:
    """Canonical initial weights (float32, zero biases) of ``model_spec`` under ``scheme``.

    * ``he-normal``: ``W{i}`` ~ N(0, 2 / fan_in) (:func:`mlpcompare.spec.init_weights`);
    * ``glorot-uniform``: ``W{i}`` ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), from the
      same seed;
    * ``zeros``: every weight 0. Every hidden unit of a layer then computes the same function
      and gets the same gradient (with ReLU, none at all), so the network cannot learn more
      than the output bias: the symmetry problem the initialisation study shows.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"init must be one of {SCHEMES}, got {scheme!r}")
    params = spec.init_weights(model_spec, seed)
    if scheme == "he-normal":
        return params
    rng = np.random.default_rng(seed)
    for i in range(spec.n_linear_layers(params)):
        fan_in, fan_out = params[f"W{i}"].shape
        if scheme == "zeros":
            params[f"W{i}"] = np.zeros((fan_in, fan_out), dtype=np.float32)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            draw = rng.uniform(-limit, limit, size=(fan_in, fan_out))
            params[f"W{i}"] = draw.astype(np.float32)
    return params
