"""The initialisation schemes (architecture setting ``init``): one canonical file per run, the
same for every framework; He-normal, the default, is byte for byte what it always was."""

from itertools import pairwise

import numpy as np
import pytest

from mlpcompare import initialisation, spec

MODEL = spec.ModelSpec(784, (256, 128, 64), 10)


def test_he_normal_is_the_default_and_unchanged():
    assert initialisation.DEFAULT == "he-normal"
    assert initialisation.scheme_of({"hidden": [3]}) == "he-normal"
    default = initialisation.initial_weights(MODEL, 3)
    before = spec.init_weights(MODEL, 3)  # what every finished run started from
    assert default.keys() == before.keys()
    assert all(np.array_equal(default[k], before[k]) for k in before)


@pytest.mark.parametrize("scheme", initialisation.SCHEMES)
def test_every_scheme_gives_float32_canonical_shapes_and_zero_biases(scheme):
    weights = initialisation.initial_weights(MODEL, 0, scheme)
    for i, (fan_in, fan_out) in enumerate(pairwise(MODEL.layer_sizes)):
        assert weights[f"W{i}"].shape == (fan_in, fan_out)
        assert weights[f"W{i}"].dtype == np.float32
        assert not weights[f"b{i}"].any()


def test_he_normal_and_glorot_uniform_have_their_scales():
    he = initialisation.initial_weights(MODEL, 1, "he-normal")
    glorot = initialisation.initial_weights(MODEL, 1, "glorot-uniform")
    for i, (fan_in, fan_out) in enumerate(pairwise(MODEL.layer_sizes)):
        assert he[f"W{i}"].std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.1)
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(glorot[f"W{i}"]).max() <= limit
        # U(-a, a) has standard deviation a / sqrt(3)
        assert glorot[f"W{i}"].std() == pytest.approx(limit / np.sqrt(3), rel=0.1)
    again = initialisation.initial_weights(MODEL, 1, "glorot-uniform")
    assert np.array_equal(again["W0"], glorot["W0"])  # seeded
    assert not np.array_equal(initialisation.initial_weights(MODEL, 2, "glorot-uniform")["W0"],
                              glorot["W0"])  # fmt: skip


def test_zeros_are_zeros_and_batch_norm_keeps_its_arrays():
    model = spec.ModelSpec(6, (5, 4), 3, batch_norm=True)
    weights = initialisation.initial_weights(model, 0, "zeros")
    assert not any(weights[f"W{i}"].any() for i in range(model.n_layers))
    assert np.array_equal(weights["gamma0"], np.ones(5, np.float32))
    assert set(weights) == set(spec.init_weights(model, 0))


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="init must be one of"):
        initialisation.initial_weights(MODEL, 0, "orthogonal")
