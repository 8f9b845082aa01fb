"""The train/validation/test split: stratified, every class in every part, and its sizes known
before it is made."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mlpcompare.data.datasets import (
    IDX_TEST_SIZE,
    IDX_TRAIN_SIZE,
    REMOTE,
    SYNTHETIC,
    DataError,
    dataset_shape,
    embedded_dataset,
)
from mlpcompare.data.idx import load_idx_dataset


def scale_unit(x_fit: np.ndarray, *xs: np.ndarray) -> list[np.ndarray]:
    """Min-max scale every array to [0, 1] by the range of ``x_fit`` (the training part), clipped."""
    lo, hi = x_fit.min(axis=0), x_fit.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return [np.clip((x - lo) / span, 0.0, 1.0).astype(np.float32) for x in (x_fit, *xs)]


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
    from sklearn.model_selection import train_test_split  # here: see embedded_dataset

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
