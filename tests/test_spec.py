import numpy as np
import pytest

from mlpcompare import spec


def test_model_spec_sizes_and_parameter_count():
    m = spec.ModelSpec(n_in=784, hidden=(256, 128, 64), n_out=10)
    assert m.layer_sizes == [784, 256, 128, 64, 10]
    assert m.n_layers == 4
    # 784*256+256 + 256*128+128 + 128*64+64 + 64*10+10
    assert m.n_weights == 242_762


def test_batch_norm_adds_gamma_and_beta_to_the_parameter_count():
    m = spec.ModelSpec(n_in=784, hidden=(256, 128, 64), n_out=10, batch_norm=True)
    # The Linear layers' 242_762 plus a gamma and a beta per hidden unit (running stats are state).
    assert m.n_weights == 242_762 + 2 * (256 + 128 + 64)


def test_model_spec_rejects_unknown_activation_and_bad_dropout():
    with pytest.raises(ValueError, match="activation"):
        spec.ModelSpec(4, (3,), 2, activation="gelu")
    with pytest.raises(ValueError, match="dropout"):
        spec.ModelSpec(4, (3,), 2, dropout=1.0)


def test_init_weights_are_he_normal_float32_with_zero_bias_and_seeded():
    m = spec.ModelSpec(n_in=400, hidden=(300,), n_out=10)
    w = spec.init_weights(m, seed=3)
    assert set(w) == {"W0", "b0", "W1", "b1"}
    assert w["W0"].shape == (400, 300) and w["W0"].dtype == np.float32
    assert w["W1"].shape == (300, 10)
    assert not w["b0"].any() and w["b0"].shape == (300,)
    assert w["W0"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert abs(w["W0"].mean()) < 0.002
    again = spec.init_weights(m, seed=3)
    other = spec.init_weights(m, seed=4)
    assert np.array_equal(w["W0"], again["W0"])
    assert not np.array_equal(w["W0"], other["W0"])


def test_init_weights_with_batch_norm_adds_its_arrays_and_keeps_the_weights():
    m = spec.ModelSpec(n_in=6, hidden=(5, 4), n_out=3, batch_norm=True)
    w = spec.init_weights(m, seed=2)
    plain = spec.init_weights(spec.ModelSpec(6, (5, 4), 3), seed=2)
    assert set(w) == set(plain) | {
        f"{n}{i}" for n in ("gamma", "beta", "mean", "var") for i in (0, 1)
    }
    for name, array in plain.items():  # BatchNorm draws no random numbers
        np.testing.assert_array_equal(w[name], array)
    for i, width in enumerate(m.hidden):
        for name, value in (("gamma", 1.0), ("beta", 0.0), ("mean", 0.0), ("var", 1.0)):
            array = w[f"{name}{i}"]
            assert array.dtype == np.float32 and array.shape == (width,), f"{name}{i}"
            assert (array == value).all(), f"{name}{i}"
    assert spec.n_linear_layers(w) == m.n_layers == 3


def test_batch_order_is_a_permutation_fixed_by_seed_and_epoch():
    a = spec.batch_order(seed=1, epoch=0, n=1000)
    assert sorted(a.tolist()) == list(range(1000))
    assert np.array_equal(a, spec.batch_order(1, 0, 1000))
    assert not np.array_equal(a, spec.batch_order(1, 1, 1000))
    assert not np.array_equal(a, spec.batch_order(2, 0, 1000))


def test_batches_cover_the_order_with_a_smaller_last_batch():
    order = np.arange(10)
    blocks = spec.batches(order, 4)
    assert [b.tolist() for b in blocks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_torch_layout_transposes_weights_only_and_round_trips():
    w = spec.init_weights(spec.ModelSpec(5, (4,), 3), seed=0)
    t = spec.torch_layout(w)
    assert t["W0"].shape == (4, 5) and t["b0"].shape == (4,)
    back = spec.canonical_from_torch(t)
    assert all(np.array_equal(w[k], back[k]) for k in w)


def test_keras_l2_factor_matches_our_penalty_gradient():
    # ours: d/dW (lambda/2 * W^2) = lambda * W ; Keras L2(l): d/dW (l * W^2) = 2 l W
    lam = 0.01
    assert 2 * spec.keras_l2_factor(lam) == pytest.approx(lam)


def test_train_spec_schedule_and_from_config():
    t = spec.TrainSpec.from_config({"lr": 0.1, "lr_decay": 0.5, "optimizer": "sgd", "unknown": 1})
    assert t.optimizer == "sgd"
    assert [t.lr_at(e) for e in range(3)] == [0.1, 0.05, 0.025]
    with pytest.raises(ValueError, match="optimizer"):
        spec.TrainSpec(optimizer="rmsprop")
    assert spec.TrainSpec.from_config({"optimizer": "adamw"}).optimizer in spec.DECOUPLED_DECAY


def test_training_flops_per_sample():
    assert spec.training_flops_per_sample(spec.ModelSpec(10, (5,), 2)) == 6 * (10 * 5 + 5 * 2)
