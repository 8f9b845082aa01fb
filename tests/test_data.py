"""Download (checksummed, atomic), IDX parsing, embedded/synthetic sets, the split, sanity checks."""

import gzip
import shutil
import struct

import numpy as np
import pytest

from mlpcompare import data, eda


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


# --- download ------------------------------------------------------------------------------------


def test_download_from_local_mirror_verifies_sha256(tmp_path, mirror):
    paths = data.download("mnist", tmp_path / "res", mirror=str(mirror))
    assert [p.name for p in paths] == list(data.IDX_FILES)
    for p in paths:
        assert p.read_bytes() == (mirror / "mnist" / p.name).read_bytes()
    assert not list((tmp_path / "res").glob(".*tmp*"))  # no temp files left behind


def test_checksum_mismatch_names_file_expected_and_actual_and_leaves_nothing(tmp_path, mirror):
    bad = tmp_path / "mirror" / "mnist"
    shutil.copytree(mirror / "mnist", bad)
    target = bad / "train-labels-idx1-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    actual = data.file_hash(target, "sha256")
    dest = tmp_path / "res"
    with pytest.raises(data.DataError) as err:
        data.download("mnist", dest, mirror=str(tmp_path / "mirror"))
    message = str(err.value)
    assert "train-labels-idx1-ubyte.gz" in message
    assert "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c" in message
    assert actual in message
    assert not (dest / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_existing_good_file_is_kept_and_corrupt_one_refetched(tmp_path, mirror):
    dest = tmp_path / "res"
    data.download("mnist", dest, mirror=str(mirror))
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    data.download("mnist", dest, mirror=str(mirror))
    assert (dest / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        mirror / "mnist" / "t10k-labels-idx1-ubyte.gz"
    ).read_bytes()


def test_missing_mirror_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataError, match="mirror folder not found: .*nowhere"):
        data.download("mnist", tmp_path, mirror=str(tmp_path / "nowhere"))


def test_unreachable_sources_report_every_attempt(tmp_path, monkeypatch):
    # Port 9 (discard) on loopback refuses connections: an offline machine in miniature.
    monkeypatch.setitem(
        data.REMOTE, "kmnist", data.RemoteDataset(
            urls=("http://127.0.0.1:9/kmnist/",),
            hashes=data.REMOTE["kmnist"].hashes,
            classes=data.REMOTE["kmnist"].classes,
        )
    )  # fmt: skip
    with pytest.raises(
        data.DataError,
        match=r"kmnist/train-images-idx3-ubyte.gz: no source worked \(could not download http://127.0.0.1:9/",
    ):
        data.download("kmnist", tmp_path / "res", mirror="http://127.0.0.1:9/mirror")
    assert not (tmp_path / "res" / "train-images-idx3-ubyte.gz").exists()


def test_every_remote_dataset_pins_a_hash_for_each_file():
    for name, remote in data.REMOTE.items():
        assert set(remote.hashes) == set(data.IDX_FILES), name
        assert all(h.split(":")[0] in ("sha256", "md5") for h in remote.hashes.values())
        assert len(remote.classes) == 10


# --- split -----------------------------------------------------------------------------------------


def test_mnist_smoke_download_parse_split(tmp_path, mirror):
    raw = tmp_path / "resources" / "mnist"
    data.download("mnist", raw, mirror=str(mirror))
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
