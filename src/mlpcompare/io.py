"""Reading and writing artifacts: the one reader and the one atomic writer of every format.

Every write goes to a temporary file in the same folder, is flushed to disk (fsync), then
renamed over the final path, and the folder entry is synced too. A job killed half-way
(SIGTERM, OOM, a node crash, a full disk) therefore never leaves a file at the final path that a
rerun would trust, and a file that is there survives a power cut. Savers that insist on writing
a path themselves (``torch.save``, Keras' ``model.save``) write to :func:`atomic_path`'s
temporary path.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mlpcompare.logs import UserError


class ArtifactError(UserError):
    """A result file that cannot be read (truncated by a crash, damaged, written by something
    else): one line naming the file and how to rebuild it."""

    def __init__(self, path: str | os.PathLike, reason: object):
        from mlpcompare.layout import producer  # layout reads the registry; io is imported early

        rule = producer(path)
        how = f"snakemake --forcerun {rule}" if rule else "delete it and run again"
        super().__init__(f"{path} cannot be read ({reason}); rebuild it: {how}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    ``suffix`` keeps an extension some writers insist on (np.savez appends ".npz", Keras wants
    ".keras").
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    os.chmod(
        tmp, 0o666 & ~_umask()
    )  # mkstemp makes 0600; results should be as readable as any file
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(final.parent)  # the rename itself is durable only once the folder is synced
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _jsonable(value):
    """NumPy scalars/arrays to Python; NaN/inf to None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: dict, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(path, f"not JSON: {err}") from err


def write_npz(
    arrays: dict[str, np.ndarray], path: str | os.PathLike, compressed: bool = True
) -> None:
    """``arrays`` as an .npz archive; ``compressed=False`` for weights, which barely compress."""
    with atomic_path(path, suffix=".npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


def read_npz(path: str | os.PathLike, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Load the named arrays (default: all); pickled objects are refused (``allow_pickle=False``).

    A member is decompressed only when asked for, so naming a few keeps the rest out of memory
    (the benchmark's peak RSS then excludes the training set). A file that is not a readable
    .npz archive (truncated, corrupt, another format) raises ``ValueError`` naming it; a missing
    file stays ``FileNotFoundError``.
    """
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds one array, not an .npz archive of named arrays")
        with data:
            return {k: data[k] for k in (data.files if names is None else names)}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise ArtifactError(path, f"not a readable .npz archive: {err}") from err


def write_csv(rows, path: str | os.PathLike, fieldnames: list[str] | None = None) -> None:
    """Write ``rows`` (a list of dicts, or a pandas DataFrame) with the columns ``fieldnames``
    (default: the first row's keys, or the frame's columns), in that order."""
    if hasattr(rows, "to_dict"):  # a DataFrame; pandas itself is not needed to write one
        fieldnames = fieldnames or list(rows.columns)
        rows = rows.to_dict("records")
    fieldnames = fieldnames or (list(rows[0]) if rows else [])
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, as dicts of raw text (the table is small)."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ArtifactError(path, f"not CSV: {err}") from err
    if any(None in row or None in row.values() for row in rows):  # a row cut short or too long
        raise ArtifactError(path, "rows do not match the header (truncated?)")
    return rows


def write_bytes(data: bytes, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
