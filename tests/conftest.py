"""Shared fixtures: repository paths, the local dataset mirror, a way to run Snakemake."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlpcompare import frameworks

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


def _no_slurm_controller_wait() -> None:
    """Every Snakemake start imports its SLURM executor plugin (installed for `make
    test-cluster`), which, where `sinfo` is on the PATH, asks `scontrol show config` for a
    default. Where the SLURM client is installed but no controller runs (the cluster test stops
    the one it started), that ask waits about 9 s, then fails, and the plugin goes on without
    the answer. The tests run Snakemake locally only (tests/cluster is not run by pytest): for
    this session and its child processes, a `scontrol` that fails at once, ahead on the PATH,
    gives the plugin that same outcome without the wait."""
    import atexit
    import tempfile

    if not (shutil.which("sinfo") and shutil.which("scontrol")):
        return
    folder = Path(tempfile.mkdtemp(prefix="mlpcompare-tests-bin-"))
    stub = folder / "scontrol"
    stub.write_text(
        "#!/bin/sh\necho 'scontrol: not for the tests (tests/conftest.py)' >&2\nexit 1\n"
    )
    stub.chmod(0o755)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


_no_slurm_controller_wait()


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
    return job_counts(dry.stdout + dry.stderr)


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's job stats table in ``output`` (empty: none planned).
    Rule names may hold a hyphen (``train_keras-jax``)."""
    stats = output.split("Job stats:")
    if len(stats) == 1:
        return {}
    rows = re.findall(r"^([\w-]+)\s+(\d+)$", stats[1].split("total")[0], re.M)
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


# --- frameworks that cannot share this process -------------------------------------------------
# Keras fixes its backend when it is first imported, so Keras on TensorFlow and Keras on JAX never
# run in one process. A framework whose import environment contradicts an earlier registry
# entry's (KERAS_BACKEND) has its tests run in one child pytest process of their own, whatever
# the order of the test files: the tests parametrised by ``framework`` with it, and those marked
# ``@pytest.mark.framework(name)``. The child's reports come back as this process's.
OWN_PROCESS = "MLPCOMPARE_TEST_OWN_PROCESS"  # in a child: the framework whose tests it runs
CHILD_REPORTS = "MLPCOMPARE_TEST_REPORTS"  # in a child: where it writes its reports


def needs_own_process(name: str) -> bool:
    """Whether ``name`` starts a library another way than a framework before it in the registry."""
    wanted = frameworks.get(name).import_environment
    earlier = frameworks.NAMES[: frameworks.NAMES.index(name)]
    return any(
        frameworks.get(other).import_environment.get(key, value) != value
        for other in earlier
        for key, value in wanted.items()
    )


def framework_of(item) -> str | None:
    """The framework an item tests: its ``framework`` parameter or ``framework`` marker."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    marker = item.get_closest_marker("framework")
    name = params.get("framework") or (marker.args[0] if marker else None)
    return name if name in frameworks.REGISTRY else None


_CHILD_RESULTS = pytest.StashKey[dict]()  # framework -> its child's reports by node id
_CONFIG: list = []  # this process's pytest config: a report hook is given no config


def pytest_configure(config):
    config.addinivalue_line("markers", "framework(name): tests of one framework's own code")
    config.stash[_CHILD_RESULTS] = {}
    _CONFIG[:] = [config]


def _run_child(session, name: str) -> dict[str, list]:
    """Run every selected test of ``name`` in one child pytest; its reports by node id."""
    nodeids = [item.nodeid for item in session.items if framework_of(item) == name]
    with tempfile.TemporaryDirectory() as folder:
        reports = Path(folder) / "reports.jsonl"
        env = {**os.environ, **frameworks.get(name).import_environment,
               OWN_PROCESS: name, CHILD_REPORTS: str(reports)}  # fmt: skip
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *nodeids],
            cwd=session.config.rootpath, env=env, capture_output=True, text=True,
        )  # fmt: skip
        lines = reports.read_text().splitlines() if reports.exists() else []
    by_node: dict[str, list] = {}
    for line in lines:
        report = session.config.hook.pytest_report_from_serializable(
            config=session.config, data=json.loads(line)
        )
        if isinstance(report.longrepr, list):  # a skip's (path, line, reason): JSON made a list
            report.longrepr = tuple(report.longrepr)
        by_node.setdefault(report.nodeid, []).append(report)
    if not by_node:  # the child died before any test: say why, once per test
        by_node["error"] = [child.stdout[-3000:] + child.stderr[-3000:]]
    return by_node


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """A test of a framework that needs its own process: its child's reports, run no setup here."""
    name = framework_of(item)
    if name is None or not needs_own_process(name) or os.environ.get(OWN_PROCESS) == name:
        return None
    results = item.config.stash[_CHILD_RESULTS]
    if name not in results:
        results[name] = _run_child(item.session, name)
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = results[name].get(item.nodeid)
    if reports is None:
        why = results[name].get("error", ["the child process did not run it"])[0]
        reports = [pytest.TestReport(item.nodeid, item.location, {}, "failed",
                                     f"not run in its own process:\n{why}", "call")]  # fmt: skip
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    # Nothing was set up here for this item, but the item run here before it may hold fixtures
    # (its module's, its class's) that the next item does not need: tear those down, as pytest's
    # own protocol does after every item, or the next item's setup finds them still up.
    item.session._setupstate.teardown_exact(nextitem)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_runtest_logreport(report):
    """In a child: every report, serialised for the parent (:func:`_run_child`)."""
    path = os.environ.get(CHILD_REPORTS)
    if path:
        config = _CONFIG[0]
        data = config.hook.pytest_report_to_serializable(config=config, report=report)
        with open(path, "a") as out:
            out.write(json.dumps(data) + "\n")
