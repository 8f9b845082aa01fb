"""The seeds a cut-off study job had finished, kept aside so that its rerun trains only the rest.

A study job trains every seed of one variant in one framework, one after the other: at the widest
levels on a CPU, an hour or more. Snakemake removes the outputs of a job that was cut off (power
loss, the OOM killer, a SLURM time limit) before it runs it again, so without this the seeds it had
finished would be trained again. Each finished seed's files are also copied into a folder beside
the job's outputs, with a key: a digest of everything the run depends on (the framework, seed,
recipe, device and threads, the bytes of the split, the initial weights and the code the job runs,
the framework's package versions, Python and the CPU). A rerun whose key matches copies them back
instead of training; any difference trains afresh. The folder goes once the job has finished.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Mapping
from pathlib import Path

from mlpcompare.io import atomic_path
from mlpcompare.measuring.envinfo import cpu_model

FOLDER = ".finished-seeds"  # beside the job's per-seed folders: {variant}/{framework}/


def digest(path: str | Path) -> str:
    """sha256 of a file's bytes (read once per job: an MNIST split is ~200 MB)."""
    stat = os.stat(path)
    return _digest(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def run_key(*, files: Mapping[str, str | Path], **settings) -> str:
    """A digest of ``settings`` (JSON-able) and of the bytes of ``files`` (name -> path), with the
    Python version and the CPU: equal keys, the same run."""
    parts = {
        "settings": settings,
        "files": {name: digest(path) for name, path in sorted(files.items())},
        "python": platform.python_version(),
        "cpu": cpu_model(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class FinishedSeeds:
    """``folder``/seed{n}/: a finished seed's files and the key of the run that wrote them."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def restore(self, seed: int, key: str, outputs: Mapping[str, str | Path]) -> bool:
        """Copy the seed's kept files to ``outputs`` (name -> path) if it was finished by a run
        with ``key``; whether it was."""
        kept = self.folder / f"seed{seed}"
        key_file = kept / "key"
        if not key_file.is_file() or key_file.read_text().strip() != key:
            return False
        if not all((kept / name).is_file() for name in outputs):
            return False
        for name, path in outputs.items():
            with atomic_path(path) as tmp:
                shutil.copyfile(kept / name, tmp)
        return True

    def keep(self, seed: int, key: str, outputs: Mapping[str, str | Path]) -> None:
        """Copy a finished seed's ``outputs`` aside; the key last, so that a copy cut off halfway
        is never taken for a finished one."""
        kept = self.folder / f"seed{seed}"
        kept.mkdir(parents=True, exist_ok=True)
        (kept / "key").unlink(missing_ok=True)
        for name, path in outputs.items():
            shutil.copyfile(path, kept / name)
        with atomic_path(kept / "key") as tmp:
            Path(tmp).write_text(key + "\n")

    def clear(self) -> None:
        """The job has finished: its outputs hold every seed."""
        shutil.rmtree(self.folder, ignore_errors=True)
