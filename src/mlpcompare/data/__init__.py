"""Datasets: what each is, IDX parsing, the embedded and synthetic sets, the split (fetching the
downloaded ones is :mod:`mlpcompare.data.fetch`).

Downloaded files live under ``resources/{dataset}/``; everything here returns arrays and dicts
and leaves writing to :mod:`mlpcompare.io`.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_circles
from sklearn.model_selection import train_test_split

from mlpcompare.logs import UserError

log = logging.getLogger(__name__)

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class DataError(UserError):
    """A dataset problem the user can fix (bad mirror, corrupt file, wrong checksum)."""


@dataclass(frozen=True)
class RemoteDataset:
    """An IDX dataset published as four gzipped files under each of ``urls``.

    ``hashes`` are pooch-style ``"sha256:..."`` (or ``"md5:..."`` where the authors publish only
    MD5) keyed by file name.
    """

    urls: tuple[str, ...]
    hashes: dict[str, str]
    classes: tuple[str, ...]


REMOTE = {
    "mnist": RemoteDataset(
        urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        hashes={
            "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        classes=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": RemoteDataset(
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        hashes={
            "train-images-idx3-ubyte.gz": "sha256:3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "sha256:a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "sha256:346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "sha256:67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),  # fmt: skip
    ),
    # KMNIST's authors publish MD5 only (the same values torchvision pins).
    "kmnist": RemoteDataset(
        urls=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        hashes={
            "train-images-idx3-ubyte.gz": "md5:bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "md5:e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "md5:5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "md5:7320c461ea6c1c855c0b718fb2a4b134",
        },
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
}
# Generated from `synthetic.n_samples` and `synthetic.noise`; digits ships with scikit-learn.
SYNTHETIC = ("xor", "circles")
EMBEDDED = ("digits", *SYNTHETIC)
DATASETS = (*EMBEDDED, *REMOTE)


# --- IDX ----------------------------------------------------------------------------------------

_IDX_UBYTE = 0x08


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """Parse a gzipped IDX file of unsigned bytes with ``ndim`` dimensions.

    The header is checked against what follows: magic (two zero bytes, type 0x08, ndim), then
    one big-endian uint32 per dimension; the payload must hold exactly their product in bytes.
    """
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable gzip file ({exc})") from exc
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != _IDX_UBYTE or dims != ndim:
        raise DataError(
            f"{path}: bad IDX magic 0x{raw[:4].hex()} (expected 0x000008{ndim:02x}: ubyte, {ndim}-D)"
        )
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX header says shape {shape} ({expected} bytes), "
            f"file holds {len(raw) - header} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx_dataset(folder: str | Path) -> dict[str, np.ndarray]:
    """Official train and test arrays of an MNIST-like dataset: images (n, 28, 28) uint8, labels (n,)."""
    folder = Path(folder)
    arrays = {
        "x_train": read_idx(folder / "train-images-idx3-ubyte.gz", 3),
        "y_train": read_idx(folder / "train-labels-idx1-ubyte.gz", 1),
        "x_test": read_idx(folder / "t10k-images-idx3-ubyte.gz", 3),
        "y_test": read_idx(folder / "t10k-labels-idx1-ubyte.gz", 1),
    }
    for part in ("train", "test"):
        n_x, n_y = len(arrays[f"x_{part}"]), len(arrays[f"y_{part}"])
        if n_x != n_y:
            raise DataError(f"{folder}: {n_x} {part} images but {n_y} labels")
        if arrays[f"y_{part}"].max(initial=0) > 9:
            raise DataError(f"{folder}: {part} labels outside 0..9")
    return arrays


# --- embedded and synthetic sets ----------------------------------------------------------------


def xor_set(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled by the sign of x*y (the classic non-linearly-separable XOR)."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0.0, noise, size=x.shape), y


def embedded_dataset(name: str, n_samples: int, noise: float, seed: int) -> dict:
    """Features (n, d) float64 in their natural range, labels (n,), image shape or None, classes."""
    if name == "digits":
        bunch = load_digits()
        return {"x": bunch.data / 16.0, "y": bunch.target, "image_shape": (8, 8),
                "classes": [str(c) for c in bunch.target_names]}  # fmt: skip
    rng = np.random.default_rng(seed)
    if name == "xor":
        x, y = xor_set(n_samples, noise, rng)
    elif name == "circles":
        x, y = make_circles(n_samples, noise=noise, factor=0.5, random_state=seed)
    else:
        raise DataError(f"unknown dataset {name!r}")
    return {"x": x, "y": y, "image_shape": None, "classes": ["0", "1"]}


def scale_unit(x_fit: np.ndarray, *xs: np.ndarray) -> list[np.ndarray]:
    """Min-max scale every array to [0, 1] by the range of ``x_fit`` (the training part), clipped."""
    lo, hi = x_fit.min(axis=0), x_fit.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return [np.clip((x - lo) / span, 0.0, 1.0).astype(np.float32) for x in (x_fit, *xs)]


# --- split ----------------------------------------------------------------------------------------


def stratified_split(
    x: np.ndarray,
    y: np.ndarray,
    fraction: float,
    seed: int,
    *,
    name: str = "data",
    key: str = "fraction",
    parts: tuple[str, str] = ("kept", "held-out"),
    classes: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_keep, x_held, y_keep, y_held) with ``fraction`` held out, class proportions preserved.

    Every class must land in both parts. A ``fraction`` that leaves a class without a sample in
    one of them raises :class:`DataError` naming ``name`` (the dataset), the class
    (``classes[label]``), the part (``parts``: kept, held out), ``key`` (the config key that
    sets ``fraction``) and a value that works. scikit-learn holds out ``ceil(fraction * n)``
    samples and shares them out in proportion to the class sizes, so ``fraction >= 1 / c`` for
    the smallest class's size ``c`` gives every class a held-out sample.
    """
    keep_part, held_part = parts
    setting = key.rpartition(".")[2]
    if not 0 < fraction < 1:
        empty = held_part if fraction <= 0 else keep_part
        raise DataError(
            f"{name}: {key} {fraction:g} leaves no {empty} data (use a value between 0 and 0.5)"
        )
    y = np.asarray(y)
    counts = np.bincount(y.astype(np.int64), minlength=len(classes) if classes else 0)
    labels = list(classes) if classes else [str(c) for c in range(len(counts))]

    def refuse(label: int, part: str):
        count = int(counts[label])
        smallest = int(counts.min())
        if part == keep_part:
            fix = f"use a smaller {setting}"
        elif smallest > 2:
            need = 1.0 / smallest  # rounded up to two significant digits
            scale = 10.0 ** (1 - np.floor(np.log10(need)))
            fix = f"use {setting} >= {np.ceil(need * scale - 1e-9) / scale:g}"
        elif name in SYNTHETIC:
            fix = "too few samples to split: raise synthetic.n_samples"
        else:
            fix = "too few samples to split"
        noun = "sample" if count == 1 else "samples"
        raise DataError(
            f"{name}: {key} {fraction:g} leaves class {labels[label]!r} without a {part} sample "
            f"(it has {count} {noun} to split; {fix})"
        )

    # What scikit-learn cannot do at all: a class of one sample, fewer samples in a part than
    # classes. The smallest class is the one left out.
    smallest_class = int(np.argmin(counts))
    n_held = int(np.ceil(fraction * len(y)))
    n_classes = int(np.count_nonzero(counts))
    if counts[smallest_class] == 0:
        refuse(smallest_class, keep_part)
    if counts[smallest_class] < 2 or n_held < n_classes:
        refuse(smallest_class, held_part)
    if len(y) - n_held < n_classes:
        refuse(smallest_class, keep_part)
    x_keep, x_held, y_keep, y_held = train_test_split(
        x, y, test_size=fraction, stratify=y, random_state=seed
    )
    # What its rounding may still do: share a part out without one of the classes.
    for part, got in ((keep_part, y_keep), (held_part, y_held)):
        missing = np.flatnonzero(np.bincount(got.astype(np.int64), minlength=len(counts)) == 0)
        if len(missing):
            refuse(int(missing[0]), part)
    return x_keep, x_held, y_keep, y_held


def make_split(
    dataset: str,
    *,
    raw_dir: str | Path | None,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    n_samples: int = 2000,
    noise: float = 0.1,
) -> tuple[dict[str, np.ndarray], dict]:
    """Train/validation/test arrays (x float32 in [0, 1], flattened; y int64) and their description.

    MNIST-like sets keep their official 10,000-image test set and hold ``val_fraction`` of the
    official training set out for validation (54,000 / 6,000 for MNIST). Embedded sets first hold
    ``test_fraction`` out as test, then ``val_fraction`` of the rest as validation.
    """
    if dataset in REMOTE:
        raw = load_idx_dataset(raw_dir)
        x_all, y_all = raw["x_train"], raw["y_train"]
        x_test, y_test = raw["x_test"], raw["y_test"]
        image_shape, classes = x_all.shape[1:], list(REMOTE[dataset].classes)
        x_all = x_all.reshape(len(x_all), -1) / np.float32(255)
        x_test = x_test.reshape(len(x_test), -1) / np.float32(255)
    else:
        emb = embedded_dataset(dataset, n_samples, noise, seed)
        image_shape, classes = emb["image_shape"], emb["classes"]
        x_all, x_test, y_all, y_test = stratified_split(
            emb["x"], emb["y"], test_fraction, seed,
            name=dataset, key="split.test_fraction", parts=("training", "test"), classes=classes,
        )  # fmt: skip
    # Every class in every part, checked before anything is written: else the sanity checks,
    # per-class metrics and confusion matrices would see a class that was never there.
    x_train, x_val, y_train, y_val = stratified_split(
        x_all, y_all, val_fraction, seed,
        name=dataset, key="split.val_fraction", parts=("training", "validation"), classes=classes,
    )  # fmt: skip
    if image_shape is None:  # synthetic: features are coordinates, scale by the training range
        x_train, x_val, x_test = scale_unit(x_train, x_val, x_test)
    arrays = {
        "x_train": x_train.astype(np.float32),
        "y_train": y_train.astype(np.int64),
        "x_val": x_val.astype(np.float32),
        "y_val": y_val.astype(np.int64),
        "x_test": x_test.astype(np.float32),
        "y_test": y_test.astype(np.int64),
    }
    n_classes = len(classes)
    info = {
        "dataset": dataset,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": None if dataset in REMOTE else test_fraction,
        "n_features": int(x_train.shape[1]),
        "n_classes": n_classes,
        "classes": classes,
        "image_shape": list(image_shape) if image_shape is not None else None,
        "counts": {part: int(len(arrays[f"y_{part}"])) for part in ("train", "val", "test")},
        "class_counts": {
            part: np.bincount(arrays[f"y_{part}"], minlength=n_classes).tolist()
            for part in ("train", "val", "test")
        },
    }
    return arrays, info


# The MNIST family's official parts (train-* and t10k-* files): 60,000 and 10,000 images.
IDX_TRAIN_SIZE, IDX_TEST_SIZE = 60_000, 10_000


def dataset_shape(dataset: str, n_samples: int = 2000) -> tuple[int, int, int]:
    """(samples, features, classes) of ``dataset`` without downloading or generating it.

    The MNIST family: 70,000 28x28 images of 10 classes; digits: 1,797 8x8 images of 10
    classes; xor and circles: ``n_samples`` (config ``synthetic.n_samples``) points of 2
    coordinates in 2 classes. The start-up checks (:mod:`mlpcompare.training.limits`) size runs by it.
    """
    if dataset in REMOTE:
        return IDX_TRAIN_SIZE + IDX_TEST_SIZE, 28 * 28, len(REMOTE[dataset].classes)
    if dataset == "digits":
        return 1797, 64, 10
    if dataset in SYNTHETIC:
        return int(n_samples), 2, 2
    raise DataError(f"unknown dataset {dataset!r}")


def split_sizes(
    dataset: str, *, val_fraction: float, test_fraction: float | None, n_samples: int = 2000
) -> dict[str, int]:
    """Samples in each part of :func:`make_split`'s split, by part (train, val, test), without
    making it: scikit-learn holds out ``ceil(fraction * n)`` of ``n`` samples."""
    if dataset in REMOTE:
        test, pool = IDX_TEST_SIZE, IDX_TRAIN_SIZE
    else:
        total = dataset_shape(dataset, n_samples)[0]
        test = int(np.ceil(test_fraction * total))
        pool = total - test
    val = int(np.ceil(val_fraction * pool))
    return {"train": pool - val, "val": val, "test": test}


def row_hashes(x: np.ndarray) -> set[bytes]:
    """A digest per row, to find samples shared between two splits."""
    return {hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in x}
