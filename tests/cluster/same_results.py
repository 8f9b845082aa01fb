"""Exit 1 unless two workflow copies hold the same numbers for the given runs.

Usage: same_results.py DIR_A DIR_B RESULT...  where each RESULT is a path relative to both
directories: a ``train.json`` (compared with its ``history.csv``) or a ``metrics.json`` (with
its ``predictions.npz``). Timings, memory and the software environment may differ between the
two places; every other value must be identical, floats bit for bit (same seeds, same threads).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

# Keys that describe where and how fast a run went, not what it computed.
VOLATILE = {
    "total_seconds",
    "first_epoch_seconds",
    "steady_samples_per_s",
    "time_to_target_s",
    "epoch_seconds",
    # the in-run ceiling: timed between epochs (bench.in_run_ceiling)
    "ceiling_samples_per_s",
    "ceiling_q1",
    "ceiling_q3",
    "roofline_fraction",
    # the framework's import time, taken in the training job (scripts/train.py)
    "import_seconds",
    "peak_rss_mb",
    "platform",
    "environment",
}
COMPANIONS = {"train.json": "history.csv", "metrics.json": "predictions.npz"}


def _strip(value):
    """``value`` with the volatile keys removed at every depth."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _load(path: Path):
    """The comparable content of a result file."""
    if path.suffix == ".json":
        return _strip(json.loads(path.read_text()))
    if path.suffix == ".csv":
        with path.open(newline="") as f:
            return [_strip(row) for row in csv.DictReader(f)]
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


def differences(dir_a: Path, dir_b: Path, results: list[str]) -> list[str]:
    """One line per result file (or companion) whose content differs between the two dirs."""
    files = []
    for result in results:
        files += [result, str(Path(result).with_name(COMPANIONS[Path(result).name]))]
    return [f for f in files if not _same(_load(dir_a / f), _load(dir_b / f))]


def main(argv: list[str]) -> int:
    dir_a, dir_b, *results = argv
    if not results:
        print("same_results: no result files given", file=sys.stderr)
        return 1
    differ = differences(Path(dir_a), Path(dir_b), results)
    for name in differ:
        print(f"same_results: differs: {name}", file=sys.stderr)
    n_files = 2 * len(results)
    print(f"same_results: {n_files - len(differ)} of {n_files} files identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
