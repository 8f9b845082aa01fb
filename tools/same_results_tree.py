"""Exit 1 unless two results folders hold the same numbers, timing fields aside.

Usage: python tools/same_results_tree.py RESULTS_A RESULTS_B

Every ``.json``, ``.csv`` and ``.npz`` file under either folder is compared: the same files on
both sides, and in each the same values, floats bit for bit, once the fields that describe how
fast or where a run went are dropped (:data:`VOLATILE`). This is the check that a change which
must not change a result (moving code between modules, say) did not: run the same small config
before and after, then compare the two ``results/`` folders. Figures (``.png``), models and the
HTML report are left out: they embed dates, paths or timings.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

# Keys and columns that say how fast, how big or where a run went, not what it computed.
VOLATILE = re.compile(
    r"(second|_s$|_s_|_ms|time|per_s|samples_per|ceiling|fraction|speedup|slowdown|rss|"
    r"latency|p50|p90|q1|q3|iqr|platform|environment|created|date|version|host|cpu|"
    r"blas|install|mib|mb$|path|threads_used|gflops|flops|calls|repeats|rounds|spread|best_batch)",
    re.I,
)
# Files that are timings or provenance through and through (a benchmark's table, the machine's
# GEMM rates, the record of where and when a run went).
TIMING_FILES = {
    "inference.csv",
    "roofline.json",
    "environment.json",
    "inference.json",
    "run.json",  # provenance: date, machine, installed packages
}
# Code measures: a file's non-blank lines change when code moves between modules.
CODE_MEASURES = {"loc", "loc.csv", "lines", "code_lines", "files"}


def _strip(value):
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if not VOLATILE.search(str(k)) and str(k) not in CODE_MEASURES
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _load(path: Path):
    if path.suffix == ".json":
        return _strip(json.loads(path.read_text()))
    if path.suffix == ".csv":
        with path.open(newline="") as f:
            return [_strip(row) for row in csv.DictReader(f)]
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def result_files(root: Path) -> set[str]:
    """The comparable files under ``root``, relative to it."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix in (".json", ".csv", ".npz") and p.name not in TIMING_FILES | CODE_MEASURES
    }


def differences(a: Path, b: Path) -> list[str]:
    """One line per file present on one side only, or whose comparable content differs."""
    files_a, files_b = result_files(a), result_files(b)
    lines = [f"only in {a}: {f}" for f in sorted(files_a - files_b)]
    lines += [f"only in {b}: {f}" for f in sorted(files_b - files_a)]
    for f in sorted(files_a & files_b):
        if not _same(_load(a / f), _load(b / f)):
            lines.append(f"differs: {f}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    a, b = map(Path, argv)
    for root in (a, b):
        if not root.is_dir():
            print(f"same_results_tree: {root} is not a folder", file=sys.stderr)
            return 2
    lines = differences(a, b)
    for line in lines:
        print(line)
    count = len(result_files(a) & result_files(b))
    print(f"{count} files compared, {len(lines)} differences")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
