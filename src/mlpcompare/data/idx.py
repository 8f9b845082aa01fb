"""IDX, the MNIST family's file format: parsed with its header checked against its payload."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from mlpcompare.data.datasets import DataError

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
