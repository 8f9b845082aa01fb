"""IDX parsing, embedded/synthetic sets, the split, sanity checks."""

import gzip
import struct

import numpy as np
import pytest

from mlpcompare import data, logs
from mlpcompare.data import eda, fetch


def write_idx(path, array, magic=None):
    header = magic or struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


# --- IDX ---------------------------------------------------------------------------------------


def test_read_idx_round_trips_images_and_labels(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lab.gz", np.array([3, 7]))
    assert np.array_equal(data.read_idx(tmp_path / "img.gz", 3), images)
    assert data.read_idx(tmp_path / "lab.gz", 1).tolist() == [3, 7]


def test_read_idx_rejects_wrong_magic(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((2, 2, 2)), magic=struct.pack(">HBB", 0, 0x0D, 3))
    with pytest.raises(data.DataError, match=r"bad IDX magic 0x00000d03 \(expected 0x00000803"):
        data.read_idx(tmp_path / "x.gz", 3)


def test_read_idx_rejects_labels_read_as_images(tmp_path):
    write_idx(tmp_path / "lab.gz", np.array([1, 2, 3]))
    with pytest.raises(data.DataError, match="bad IDX magic"):
        data.read_idx(tmp_path / "lab.gz", 3)


def test_read_idx_rejects_payload_shorter_than_header_says(tmp_path):
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(struct.pack(">HBB3I", 0, 8, 3, 10, 28, 28) + b"\0" * 100)
    with pytest.raises(
        data.DataError, match=r"shape \(10, 28, 28\) \(7840 bytes\), file holds 100 bytes"
    ):
        data.read_idx(path, 3)


def test_read_idx_rejects_truncated_gzip(tmp_path, mirror):
    raw = (mirror / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataError, match="not a readable gzip file"):
        data.read_idx(path, 1)


# --- split -----------------------------------------------------------------------------------------


def test_mnist_smoke_download_parse_split(tmp_path, mirror):
    raw = tmp_path / "resources" / "mnist"
    fetch.download("mnist", raw, mirror=str(mirror))
    arrays, info = data.make_split(
        "mnist", raw_dir=raw, val_fraction=0.1, test_fraction=0.2, seed=0
    )
    assert info["counts"] == {"train": 54000, "val": 6000, "test": 10000}
    assert arrays["x_train"].shape == (54000, 784) and arrays["x_train"].dtype == np.float32
    assert arrays["x_train"].min() == 0.0 and arrays["x_train"].max() == 1.0
    assert arrays["y_test"].dtype == np.int64
    # stratified: validation class shares follow the training shares closely
    share_train = np.bincount(arrays["y_train"]) / 54000
    share_val = np.bincount(arrays["y_val"]) / 6000
    assert np.abs(share_train - share_val).max() < 0.002
    assert sum(info["class_counts"]["test"]) == 10000
    assert eda.sanity(arrays, info, balance_tolerance=0.5)["passed"]


def test_digits_split_is_stratified_seeded_and_scaled():
    arrays, info = data.make_split(
        "digits", raw_dir=None, val_fraction=0.1, test_fraction=0.2, seed=0
    )
    assert info["counts"] == {"train": 1293, "val": 144, "test": 360}
    assert info["n_features"] == 64 and info["image_shape"] == [8, 8]
    assert arrays["x_train"].max() == 1.0
    again, _ = data.make_split("digits", raw_dir=None, val_fraction=0.1, test_fraction=0.2, seed=0)
    other, _ = data.make_split("digits", raw_dir=None, val_fraction=0.1, test_fraction=0.2, seed=1)
    assert np.array_equal(arrays["y_train"], again["y_train"])
    assert not np.array_equal(arrays["y_train"], other["y_train"])


@pytest.mark.parametrize("name", ["xor", "circles"])
def test_synthetic_sets_are_two_class_two_feature_in_unit_range(name):
    arrays, info = data.make_split(
        name, raw_dir=None, val_fraction=0.1, test_fraction=0.2, seed=0, n_samples=500
    )
    assert info["n_features"] == 2 and info["n_classes"] == 2
    assert sum(info["counts"].values()) == 500
    assert arrays["x_val"].min() >= 0.0 and arrays["x_val"].max() <= 1.0
    assert abs(arrays["y_train"].mean() - 0.5) < 0.1


def test_xor_labels_follow_the_quadrant_rule():
    x, y = data.xor_set(1000, 0.0, np.random.default_rng(0))
    assert np.array_equal(y, (np.sign(x[:, 0]) == np.sign(x[:, 1])).astype(int))


def digits_split(val_fraction=0.1, test_fraction=0.2):
    return data.make_split(
        "digits", raw_dir=None, val_fraction=val_fraction, test_fraction=test_fraction, seed=0
    )


def test_a_val_fraction_leaving_a_class_without_validation_samples_is_refused():
    # 1,437 samples outside the test set: 0.001 holds out 2, for 10 classes
    with pytest.raises(data.DataError) as err:
        digits_split(val_fraction=0.001)
    assert str(err.value) == (
        "digits: split.val_fraction 0.001 leaves class '8' without a validation sample "
        "(it has 139 samples to split; use val_fraction >= 0.0072)"
    )
    assert isinstance(err.value, logs.UserError)  # one line, no traceback
    _, info = digits_split(val_fraction=0.0072)  # the value it suggests works
    assert min(info["class_counts"]["val"]) >= 1


def test_a_test_fraction_leaving_a_class_without_test_samples_is_refused():
    with pytest.raises(data.DataError, match=(
        r"^digits: split.test_fraction 0.001 leaves class '8' without a test sample "
        r"\(it has 174 samples to split; use test_fraction >= 0.0058\)$"
    )):  # fmt: skip
        digits_split(test_fraction=0.001)
    _, info = digits_split(test_fraction=0.0058)
    assert min(info["class_counts"]["test"]) >= 1


def test_a_class_rounded_out_of_a_part_is_refused():
    # 203 samples, 0.02 holds out 5: in proportion a 3-sample class gets 0.07 of one, rounded
    # away, although there are more samples held out than classes
    y = np.repeat([0, 1, 2], [100, 100, 3])
    x = np.arange(len(y), dtype=np.float32)[:, None]
    labels = dict(name="toy", key="split.val_fraction", parts=("training", "validation"),
                  classes=["a", "b", "c"])  # fmt: skip
    with pytest.raises(data.DataError, match=(
        r"toy: split.val_fraction 0.02 leaves class 'c' without a validation sample "
        r"\(it has 3 samples to split; use val_fraction >= 0.34\)"
    )):  # fmt: skip
        data.stratified_split(x, y, 0.02, 0, **labels)
    _, _, y_keep, y_held = data.stratified_split(x, y, 0.34, 0, **labels)
    assert np.bincount(y_keep).min() >= 1 and np.bincount(y_held).min() >= 1


def test_a_class_of_one_sample_cannot_be_split():
    y = np.array([0] * 30 + [1])
    x = np.zeros((31, 2))
    with pytest.raises(data.DataError, match=(
        r"xor: split.val_fraction 0.1 leaves class '1' without a validation sample "
        r"\(it has 1 sample to split; too few samples to split: raise synthetic.n_samples\)"
    )):  # fmt: skip
        data.stratified_split(x, y, 0.1, 0, name="xor", key="split.val_fraction",
                              parts=("training", "validation"), classes=["0", "1"])  # fmt: skip


@pytest.mark.parametrize(
    "fraction,empty", [(1.0, "training"), (1.5, "training"), (0.0, "validation")]
)
def test_fractions_that_leave_a_part_empty_are_refused(fraction, empty):
    with pytest.raises(data.DataError, match=(
        rf"^digits: split.val_fraction {fraction:g} leaves no {empty} data"
    )):  # fmt: skip
        digits_split(val_fraction=fraction)


def test_the_smallest_working_fractions_leave_every_class_in_every_part():
    # xor at the schema's smallest size: 20 points, 16 outside the test set, 2 held for validation
    for seed in range(10):
        _, info = data.make_split(
            "xor", raw_dir=None, val_fraction=0.1, test_fraction=0.2, seed=seed, n_samples=20
        )
        assert all(min(info["class_counts"][p]) >= 1 for p in ("train", "val", "test")), seed


# --- sanity ----------------------------------------------------------------------------------------


def tiny_split():
    rng = np.random.default_rng(0)
    arrays = {f"x_{p}": rng.random((40, 3), dtype=np.float32) for p in eda.PARTS}
    arrays.update({f"y_{p}": np.tile([0, 1], 20) for p in eda.PARTS})
    return arrays, {"dataset": "tiny", "n_classes": 2}


def failed(report):
    return {c["check"] for c in report["checks"] if not c["passed"]}


def test_sanity_passes_a_clean_split():
    arrays, info = tiny_split()
    report = eda.sanity(arrays, info, 0.5)
    assert report["passed"] and failed(report) == set()


def test_sanity_flags_nan_range_leakage_and_imbalance():
    arrays, info = tiny_split()
    arrays["x_val"][0, 0] = np.nan
    arrays["x_train"][1, 1] = 2.0
    arrays["x_test"][5] = arrays["x_train"][7]
    arrays["y_val"] = np.array([0] * 38 + [1] * 2)
    report = eda.sanity(arrays, info, 0.5)
    assert not report["passed"]
    assert failed(report) == {"finite", "range", "train/test disjoint", "val classes balanced"}
