"""Datasets: what each is (:mod:`.datasets`), the IDX format (:mod:`.idx`), the split
(:mod:`.split`), fetching the downloaded ones (:mod:`.fetch`) and their sanity checks (:mod:`.eda`).

Downloaded files live under ``resources/{dataset}/``; everything here returns arrays and dicts
and leaves writing to :mod:`mlpcompare.io`. The names the rest of the workflow uses are
re-exported here (``data.make_split``, ``from mlpcompare.data import IDX_FILES, REMOTE``).
"""

from mlpcompare.data.datasets import (
    DATASETS,
    EMBEDDED,
    IDX_FILES,
    IDX_TEST_SIZE,
    IDX_TRAIN_SIZE,
    REMOTE,
    SYNTHETIC,
    DataError,
    RemoteDataset,
    dataset_shape,
    embedded_dataset,
    xor_set,
)
from mlpcompare.data.idx import load_idx_dataset, read_idx
from mlpcompare.data.split import make_split, row_hashes, scale_unit, split_sizes, stratified_split

__all__ = [
    "DATASETS", "EMBEDDED", "IDX_FILES", "IDX_TEST_SIZE", "IDX_TRAIN_SIZE", "REMOTE", "SYNTHETIC",
    "DataError", "RemoteDataset", "dataset_shape", "embedded_dataset", "load_idx_dataset",
    "make_split", "read_idx", "row_hashes", "scale_unit", "split_sizes", "stratified_split",
    "xor_set",
]  # fmt: skip
