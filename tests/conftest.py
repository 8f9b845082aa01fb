"""Shared fixtures: repository paths, the local dataset mirror, a way to run Snakemake."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "rules",
    "schemas",
    "scripts",
    "src",
    "profiles",
    "envs",
    "report",
)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The byte-exact MNIST / Fashion-MNIST mirror beside the checkout (../shared/datasets)."""
    if not (MIRROR / "mnist" / "SHA256SUMS").is_file():
        pytest.skip(f"dataset mirror not found at {MIRROR}")
    return MIRROR


def copy_workflow(dest: Path) -> Path:
    """A clean copy of the workflow (no results), as a user's fresh clone would have it."""
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


# Tests time nothing: their timed jobs may share the cores (profiles/default otherwise runs each
# alone), which halves a workflow run on 2 cores. Last, so that no list-valued option before it
# (--config, targets) takes it for one of its values.
SHARED_TIMING = ("--resources", "timing=10000", "gpu=1")


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the Snakemake of this interpreter's environment in ``workdir``; output captured as
    text. Timed jobs may run side by side (:data:`SHARED_TIMING`)."""
    exe = Path(sys.executable).with_name("snakemake")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [str(exe), *args, *SHARED_TIMING],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


# One small digits run shared by every test that needs finished results (a workflow run costs
# about a minute on 2 cores; each test module doing its own would triple that).
TINY = """\
seeds: [0, 1]
run_architectures: [mlp-32]
architectures:
  mlp-32: {hidden: [32], activation: relu, dropout: 0.0}
training: {epochs: 3, patience: 0, lr: 0.01}
threads: 1
bench: {batch_sizes: [1, 32], min_repeats: 5, min_seconds: 0.05, rounds: 1, warmup_calls: 5}
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run of the whole workflow on digits with :data:`TINY` as ``tiny.yaml``."""
    workdir = copy_workflow(tmp_path_factory.mktemp("wf"))
    (workdir / "tiny.yaml").write_text(TINY)
    run = snakemake(workdir, "--cores", "2", "--configfile", "tiny.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Rule -> job count of a dry run of the tiny config (Snakemake's job stats table); ``args``
    are more command-line arguments (``--config ...``)."""
    dry = snakemake(workdir, "-n", "--configfile", "tiny.yaml", *args)
    assert dry.returncode == 0, dry.stderr[-2000:]
    stats = (dry.stdout + dry.stderr).split("Job stats:")
    if len(stats) == 1:
        return {}
    rows = re.findall(r"^(\w+)\s+(\d+)$", stats[1].split("total")[0], re.M)
    return {rule: int(count) for rule, count in rows}


@contextlib.contextmanager
def edited(path: Path, line: str):
    """``path`` with ``line`` appended (a change of content: Snakemake ignores a bare touch of
    an input whose checksum it recorded), then restored, modification time included."""
    original, stat = path.read_text(), path.stat()
    path.write_text(original + line)
    try:
        yield
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
