"""The start-up limits: a run's memory estimate against what a job has, and the batch size."""

import copy
import sys

import numpy as np
import pytest
import yaml
from conftest import ROOT
from snakemake.utils import validate

from mlpcompare import config as cfg
from mlpcompare import data, frameworks, io
from mlpcompare.data import fetch
from mlpcompare.frameworks import REGISTRY
from mlpcompare.measuring.roofline import training_gemms
from mlpcompare.spec import ModelSpec
from mlpcompare.training import limits

sys.path.insert(0, str(ROOT / "tools"))
import measure_memory  # noqa: E402

DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
MNIST = dict(n_samples=70000, n_features=784, n_classes=10, n_train=54000, n_val=6000)
GIB = 2**30


def with_(**changes) -> dict:
    """The shipped config with ``changes``, its defaults filled in as the workflow's are."""
    config = copy.deepcopy(DEFAULT)
    config.update(copy.deepcopy(changes))
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))
    return config


def estimate(hidden=(256, 128, 64), batch_size=128, optimizer="adam", **kwargs):
    return limits.training_bytes(
        MNIST["n_samples"], MNIST["n_features"], MNIST["n_classes"], hidden, batch_size,
        optimizer, n_train=MNIST["n_train"], n_val=MNIST["n_val"], **kwargs,
    )  # fmt: skip


def test_the_default_recipe_on_mnist_fits_in_2_gib():
    config = with_(datasets=["mnist"])
    assert limits.problems(config, 2 * GIB) == []
    for fw in config["frameworks"]:
        total = estimate(dropout=0.2, framework=fw).total
        # the split alone is 210 MiB: an estimate below it has lost a term
        assert 300 * 2**20 < total < 2 * GIB, fw


# Each framework's peak memory training MNIST at three sizes, as `make memory` last measured it.
MEASURED = io.read_csv(ROOT / "docs" / "memory.csv")
CASES = ("mnist", "wide", "large-batch")


def test_every_framework_was_measured_at_every_size():
    assert sorted((row["framework"], row["case"]) for row in MEASURED) == sorted(
        (fw, case) for fw in REGISTRY for case in CASES
    )


@pytest.mark.parametrize("row", MEASURED, ids=lambda row: f"{row['framework']}-{row['case']}")
def test_the_estimate_bounds_the_measured_peak_within_1_5_times(row):
    total = measure_memory.estimate(row).total
    peak = float(row["peak_mib"]) * 2**20
    assert peak <= total <= 1.5 * peak, f"{total / peak:.2f} x the peak"


def test_the_measured_cases_use_the_shipped_recipe():
    config = with_(datasets=["mnist"])
    [arch] = config["architectures"].values()
    for row in MEASURED:
        assert row["optimizer"] == config["training"]["optimizer"]
        assert float(row["dropout"]) == arch["dropout"]
        assert row["in_run_ceiling"] == str(config["bench"]["in_run_ceiling"])
        if row["case"] != "wide":
            assert row["hidden"] == "-".join(map(str, arch["hidden"]))


def test_a_60000_wide_net_is_refused_with_both_numbers():
    config = with_(datasets=["mnist"], architectures={"wide": {"hidden": [60000, 60000]}})
    available = int(23.4 * GIB)
    [line] = limits.problems(config, available)
    assert line.startswith(
        "mnist x wide (784-60000-60000-10): training needs about 155 GiB with keras-jax "
        "(weights 3 x 13.6 GiB, gradients 13.6 GiB, Adam moments 27.2 GiB,"
    )
    assert ", in-run ceiling 41.1 GiB, slack 10%, keras-jax runtime " in line
    assert line.endswith("more than the 23.4 GiB a job has here")
    with pytest.raises(cfg.ConfigError, match=r"with mem_mb=4000$"):
        limits.check(config, 4000 * 2**20, where="with mem_mb=4000")
    # enough memory: no line
    assert limits.problems(config, 300 * GIB) == []


def test_only_the_architectures_run_are_checked():
    wide = {"hidden": [60000, 60000]}
    config = with_(
        architectures={**DEFAULT["architectures"], "wide": wide},
        run_architectures=list(DEFAULT["architectures"]),
    )
    assert limits.problems(config, 2 * GIB) == []
    config["run_architectures"] = None
    assert [line.split(":")[0] for line in limits.problems(config, 2 * GIB)] == [
        "digits x wide (64-60000-60000-10)"
    ]


def test_the_estimate_grows_with_the_batch_size():
    small, large = estimate(batch_size=128), estimate(batch_size=1024)
    assert large.total > small.total
    assert large.activations == 8 * small.activations
    assert large.computed - small.computed == large.activations - small.activations


def test_adam_needs_more_than_sgd_with_momentum_more_than_plain_sgd():
    adam = estimate(optimizer="adam")
    momentum = estimate(optimizer="sgd", momentum=0.9)
    plain = estimate(optimizer="sgd")
    params = 4 * ModelSpec(784, (256, 128, 64), 10).n_weights
    assert adam.computed - momentum.computed == params  # two moments against one
    assert momentum.computed - plain.computed == params
    assert plain.moments == 0


def test_the_in_run_ceiling_holds_every_product_of_a_step():
    with_ceiling, without = estimate(in_run_ceiling=True), estimate()
    gemms = training_gemms(ModelSpec(784, (256, 128, 64), 10), 128)
    assert with_ceiling.ceiling == 4 * sum(g.m * g.k + g.k * g.n + g.m * g.n for g in gemms)
    assert without.ceiling == 0 and with_ceiling.total > without.total
    # the workflow's check follows the config's switch
    wide = {"wide": {"hidden": [8192, 8192]}}
    on = with_(datasets=["mnist"], architectures=wide)
    off = with_(datasets=["mnist"], architectures=wide, bench={"in_run_ceiling": False})
    assert "in-run ceiling" in limits.problems(on, GIB)[0]
    assert "in-run ceiling" not in limits.problems(off, GIB)[0]


def test_weights_gradients_and_scratch_are_the_parameters_in_float32():
    e = estimate(hidden=(1000, 500))
    params = 4 * ModelSpec(784, (1000, 500), 10).n_weights
    assert e.weights == e.gradients == e.scratch == params
    assert e.total >= limits.WEIGHT_COPIES * params + 4 * params


def test_numpy_trains_on_the_array_it_read_the_others_on_a_copy():
    numpy, torch = estimate(framework="numpy"), estimate(framework="torch")
    assert torch.data - numpy.data == 54000 * (4 * 784 + 8)
    assert numpy.data == 70000 * (4 * 784 + 8)
    # an unknown framework is sized like the largest runtime of the registry
    largest = max(frameworks.get(name).runtime_mib for name in frameworks.NAMES)
    assert estimate(framework=None).runtime == largest * 2**20


def test_per_framework_recipes_are_estimated_each():
    # numpy alone with a huge batch: the estimate follows the override, and names numpy
    config = with_(
        datasets=["mnist"],
        frameworks=["numpy", "torch"],
        architectures={"big": {"hidden": [4096, 4096]}},
        framework_overrides={"numpy": {"batch_size": 50000}},
    )
    [line] = limits.problems(config, 2 * GIB)
    assert "with numpy (" in line and "at batch 50000" in line
    config["framework_overrides"] = {}
    assert limits.problems(config, 2 * GIB) == []


def test_a_batch_larger_than_the_training_set_is_refused_at_start_up():
    config = with_(datasets=["digits", "xor"], synthetic={"n_samples": 40, "noise": 0.1})
    assert limits.problems(config, 64 * GIB) == [
        "training.batch_size 128 is larger than the training set (28 samples) of xor"
    ]
    config["framework_overrides"] = {"torch": {"batch_size": 2000}}
    assert limits.problems(config, 64 * GIB) == [
        "framework_overrides.torch.batch_size 2000 is larger than the training set "
        "(1293 samples) of digits",
        "framework_overrides.torch.batch_size 2000 is larger than the training set "
        "(28 samples) of xor",
        "training.batch_size 128 is larger than the training set (28 samples) of xor",
    ]


def test_sizes_print_in_readable_units():
    assert limits.size(23.4 * GIB) == "23.4 GiB"
    assert limits.size(372 * 2**20) == "372 MiB"
    assert limits.size(12 * 1024) == "12 KiB"
    assert limits.size(5) == "5 B"


# --- the dataset's shape, known before the split exists ------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kmnist"])
def test_the_mnist_family_shape_needs_no_download(name):
    assert data.dataset_shape(name) == (70000, 784, 10)
    assert data.split_sizes(name, val_fraction=0.1, test_fraction=None) == {
        "train": 54000, "val": 6000, "test": 10000,
    }  # fmt: skip


@pytest.mark.parametrize(
    "name,n_samples,val_fraction,test_fraction",
    [
        ("digits", 2000, 0.1, 0.2),
        ("digits", 2000, 0.0123, 0.333),
        ("xor", 40, 0.1, 0.2),
        ("circles", 997, 0.37, 0.11),
        ("xor", 20, 0.1, 0.2),
    ],
)
def test_shape_and_split_sizes_match_the_split_made(name, n_samples, val_fraction, test_fraction):
    arrays, info = data.make_split(
        name, raw_dir=None, val_fraction=val_fraction, test_fraction=test_fraction, seed=0,
        n_samples=n_samples,
    )  # fmt: skip
    n = sum(info["counts"].values())
    assert data.dataset_shape(name, n_samples) == (n, info["n_features"], info["n_classes"])
    sizes = data.split_sizes(
        name, val_fraction=val_fraction, test_fraction=test_fraction, n_samples=n_samples
    )
    assert sizes == info["counts"]
    assert np.bincount(arrays["y_train"]).size == info["n_classes"]


def test_mnist_split_sizes_match_the_split_made(mirror, tmp_path):
    raw = tmp_path / "mnist"
    fetch.download("mnist", raw, mirror=str(mirror))
    _, info = data.make_split("mnist", raw_dir=raw, val_fraction=0.05, test_fraction=None, seed=0)
    assert data.split_sizes("mnist", val_fraction=0.05, test_fraction=None) == info["counts"]
    assert data.dataset_shape("mnist")[1:] == (info["n_features"], info["n_classes"])


def test_an_unknown_dataset_is_a_data_error():
    with pytest.raises(data.DataError, match="unknown dataset 'mnsit'"):
        data.dataset_shape("mnsit")
