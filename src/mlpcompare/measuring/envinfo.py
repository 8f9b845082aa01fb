"""The machine and software the figures were measured on, written next to them.

Nothing here imports a deep-learning framework: package versions come from the installed
metadata, and each framework's own account of itself (threads, BLAS, device) is the one its
training job recorded in ``train.json``, in the environment it actually ran in.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np  # loads NumPy's BLAS, so threadpoolctl can report it
import psutil
import threadpoolctl

from mlpcompare import frameworks

# The workflow's own libraries, then every framework's (registry: ``packages``).
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "threadpoolctl",
    "snakemake",
    "matplotlib",
    "jinja2",
    *(package for fw in frameworks.REGISTRY.values() for package in fw.packages),
)


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask a scheduler or container set)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, ours included); None where unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def contention(load: float | None, threads: int) -> bool:
    """Whether more work was runnable than the cores could take besides a ``threads`` job.

    Then another process shared the cores with a timed job and its latencies are inflated,
    multi-threaded kernels most (a descheduled thread stalls the others at the next barrier).
    """
    return load is not None and load > max(usable_cores(), threads) + 0.5


def blas() -> list[dict]:
    """NumPy's BLAS (and any other native thread pool loaded): library, version, threads."""
    return [
        {
            key: pool.get(key)
            for key in (
                "user_api",
                "internal_api",
                "version",
                "num_threads",
                "threading_layer",
                "architecture",
                "filepath",
            )
        }
        for pool in threadpoolctl.threadpool_info()
    ]


def machine() -> dict:
    """CPU, cores, memory, operating system and Python of this machine."""
    return {
        "cpu": cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": usable_cores(),
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def packages(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when it is not installed here)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def gpus() -> list[dict]:
    """NVIDIA GPUs as ``nvidia-smi`` lists them; empty without the tool or a GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    query = "name,memory.total,driver_version"
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={query}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    keys = query.split(",")
    return [
        dict(zip(keys, (v.strip() for v in line.split(",")), strict=False))
        for line in out.splitlines()
        if line.strip()
    ]


def frameworks(train_records: list[dict]) -> dict[str, dict]:
    """Each framework's self-report (threads, BLAS, device, versions) from its first train.json."""
    found: dict[str, dict] = {}
    for record in train_records:
        found.setdefault(
            record["framework"],
            {
                "device": record.get("device"),
                "threads": record.get("threads"),
                "python": record.get("python"),
                "platform": record.get("platform"),
                "environment": record.get("environment"),
            },
        )
    return found


def environment(train_records: list[dict], *, threads: int, device: str) -> dict:
    """Everything environment.json holds: this machine, packages, GPUs, and each framework."""
    return {
        "machine": machine(),
        "threads_per_job": threads,
        "device_requested": device,
        "numpy_version": np.__version__,
        # Libraries only: this job's thread count is not the timed jobs' (those are recorded
        # by each framework below and in roofline.json).
        "blas": [{k: v for k, v in pool.items() if k != "num_threads"} for pool in blas()],
        "packages": packages(),
        "gpus": gpus(),
        "frameworks": frameworks(train_records),
    }
