"""Bad input never costs a traceback or a silently wrong result (issue 8).

Each case runs the real workflow in a fresh copy and asserts the exit status, the one line that
names the cause, that no Python traceback reached the user, and that no output was left behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_workflow, snakemake
from dry_runs import DryRun, dry_run_all

from mlpcompare import config, io

pytestmark = pytest.mark.slow

TINY = """\
seeds: [0]
run_architectures: [mlp-16]
architectures:
  mlp-16: {hidden: [16]}
training: {epochs: 2, patience: 0}
threads: 1
bench: {batch_sizes: [1], warmup_calls: 5, min_repeats: 5, min_seconds: 0.01, rounds: 1}
"""


@pytest.fixture
def workdir(tmp_path):
    copy_workflow(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


def fresh_copy(tmp_path_factory) -> Path:
    """What :func:`workdir` gives, for a module-scoped fixture."""
    folder = tmp_path_factory.mktemp("case")
    copy_workflow(folder)
    (folder / "tiny.yaml").write_text(TINY)
    return folder


def outputs(workdir):
    """Every artifact the run left (results and downloads), ignoring logs and benchmarks."""
    found = []
    for folder in ("results", "resources"):
        if (workdir / folder).exists():
            found += [p for p in (workdir / folder).rglob("*") if p.is_file()]
    return found


def assert_fails_with(run, message):
    text = run.stdout + run.stderr
    assert run.returncode != 0, text[-2000:]
    assert "Traceback" not in text, text[-4000:]
    matching = [line for line in text.splitlines() if message in line]
    assert matching, f"no line contains {message!r}:\n{text[-3000:]}"


CONFIG_CASES = {
    "typo in a top-level key": (
        ["seedz=[1]"],
        "config error: seedz: unknown key (did you mean 'seeds'?)",
    ),
    "typo in a nested key": (
        ["training={lrr: 0.1}"],
        "config error: training.lrr: unknown key (did you mean 'lr'?)",
    ),
    "wrong type": (["threads=two"], "config error: threads: expected integer, got str 'two'"),
    "misspelt framework": (["frameworks=[numpy,pytorch]"], "did you mean 'torch'?"),
    "unknown dataset": (["datasets=[mnsit]"], "config error: datasets.0: 'mnsit' is not one of"),
    "negative learning rate": (
        ["training={lr: -1}"],
        "config error: training.lr: -1 is less than or equal to the minimum of 0",
    ),
    "zero batch size": (
        ["training={batch_size: 0}"],
        "config error: training.batch_size: 0 is less than the minimum of 1",
    ),
    "dropout of one": (
        ["architectures={mlp-16: {hidden: [16], dropout: 1.0}}"],
        "config error: architectures.mlp-16.dropout: 1.0 is greater than or equal to the maximum of 1",
    ),
    "empty seed list": (["seeds=[]"], "config error: seeds: [] should be non-empty"),
    "architecture not defined": (
        ["run_architectures=[mlp-61]"],
        "config error: run_architectures: 'mlp-61' is not defined in architectures (did you mean 'mlp-16'?)",
    ),
    "bad framework override": (
        ["framework_overrides={numpy: {lr: fast}}"],
        "config error: framework_overrides.numpy.lr: expected number, got str 'fast'",
    ),
    "unknown device": (
        ["device=gpu"],
        "config error: device: 'gpu' is not one of: auto, cpu, cuda",
    ),
    "NaN learning rate": (
        ["training={lr: nan}"],
        "config error: training.lr: nan is not a finite number",
    ),
    "epsilon that is 0 in float32": (
        ["training={eps: 1e-60}"],
        "config error: training.eps: 1e-60 is 0 in float32 (smallest normal 1.2e-38)",
    ),
    "split seed beyond 32 bits": (
        ["split={seed: 4294967296}"],
        "config error: split.seed: 4294967296 is greater than the maximum of 4294967295",
    ),
    "network too large for the memory": (
        ["architectures={mlp-16: {hidden: [65536, 65536, 65536, 65536]}}"],
        "config error: digits x mlp-16 (64-65536-65536-65536-65536-10): training needs about",
    ),
}


@pytest.fixture(scope="module")
def config_mistakes(tmp_path_factory) -> dict[str, DryRun]:
    """Each of :data:`CONFIG_CASES` run (not dry), each in a fresh copy of the workflow, one
    after another in one process (tests/dry_runs.py)."""
    runs = {
        case: DryRun(("--cores", "1", "--configfile", "tiny.yaml", "--config", *args), dry=False,
                     workdir=fresh_copy(tmp_path_factory))
        for case, (args, _) in CONFIG_CASES.items()
    }  # fmt: skip
    scratch = tmp_path_factory.mktemp("config-mistakes-runs")
    dry_run_all(scratch, list(runs.values()), scratch)
    return runs


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_config_mistakes_stop_before_any_job(config_mistakes, case):
    _, message = CONFIG_CASES[case]
    run = config_mistakes[case]
    assert_fails_with(run, message)
    assert outputs(run.workdir) == []
    assert not (run.workdir / "logs").exists()


def mnist_args(mirror) -> tuple[str, ...]:
    # the target comes first: everything after --config is read as key=value
    return ("results/mnist/data/split.npz", "--cores", "1", "--configfile", "tiny.yaml",
            "--config", "datasets=[mnist]", f"mirror={mirror}")  # fmt: skip


def run_mnist(workdir, mirror):
    return snakemake(workdir, *mnist_args(mirror))


def test_missing_mirror_folder(workdir):
    run = run_mnist(workdir, workdir / "no-such-mirror")
    assert_fails_with(run, "error: mirror folder not found:")
    assert outputs(workdir) == []


def corrupted_mirror(workdir, mirror, name, mangle):
    bad = workdir / "bad-mirror"
    shutil.copytree(mirror / "mnist", bad / "mnist")
    path = bad / "mnist" / name
    path.write_bytes(mangle(path.read_bytes()))
    return bad


CORRUPTIONS = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "one flipped byte": lambda raw: raw[:50] + bytes([raw[50] ^ 1]) + raw[51:],
    "not gzip at all": lambda raw: b"<html>404 Not Found</html>",
}


@pytest.fixture(scope="module")
def mirror_runs(mirror, tmp_path_factory) -> dict[str, DryRun]:
    """The MNIST runs of the tests below (not dry), each case in a fresh copy of the workflow,
    one after another in one process (tests/dry_runs.py): the test images corrupted each way
    of :data:`CORRUPTIONS`; then, in one copy, the training labels cut short ("fix: bad") and
    the same run from the good mirror ("fix: good")."""
    runs = {}
    for how, mangle in CORRUPTIONS.items():
        folder = fresh_copy(tmp_path_factory)
        bad = corrupted_mirror(folder, mirror, "t10k-images-idx3-ubyte.gz", mangle)
        runs[how] = DryRun(mnist_args(bad), dry=False, workdir=folder)
    folder = fresh_copy(tmp_path_factory)
    bad = corrupted_mirror(folder, mirror, "train-labels-idx1-ubyte.gz", lambda raw: raw[:-10])
    runs["fix: bad"] = DryRun(mnist_args(bad), dry=False, workdir=folder)
    runs["fix: good"] = DryRun(mnist_args(mirror), dry=False, workdir=folder)
    scratch = tmp_path_factory.mktemp("mirror-runs")
    dry_run_all(scratch, list(runs.values()), scratch)
    return runs


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupted_archive_is_caught_by_its_checksum(mirror_runs, how):
    run, workdir = mirror_runs[how], mirror_runs[how].workdir
    assert_fails_with(run, "error: checksum mismatch for")
    line = next(ln for ln in (run.stdout + run.stderr).splitlines() if "checksum mismatch" in ln)
    assert "t10k-images-idx3-ubyte.gz" in line
    assert "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6" in line
    assert not (workdir / "resources" / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert not (workdir / "results").exists()


def test_batch_larger_than_training_set(workdir):
    run = snakemake(
        workdir, "--cores", "1", "--configfile", "tiny.yaml",
        "--config", "datasets=[xor]", "synthetic={n_samples: 40}", "frameworks=[numpy]",
    )  # fmt: skip
    assert_fails_with(
        run, "error: training.batch_size 128 is larger than the training set (28 samples)"
    )
    assert not list((workdir / "results" / "xor").rglob("train.json"))


def test_fixing_the_input_then_rerunning_completes(mirror_runs):
    assert mirror_runs["fix: bad"].returncode != 0
    fixed = mirror_runs["fix: good"]
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert (fixed.workdir / "results" / "mnist" / "data" / "split.npz").is_file()


@pytest.mark.skipif(config.nvidia_gpu_visible(), reason="this machine has a GPU")
def test_cuda_requested_without_a_gpu_stops_before_any_job(workdir):
    run = snakemake(workdir, "--cores", "1", "--configfile", "tiny.yaml", "--config", "device=cuda")
    assert_fails_with(run, "config error: device: cuda, but this machine shows no NVIDIA GPU")
    assert outputs(workdir) == []


def test_absurd_learning_rate_finishes_with_the_framework_marked_diverged(workdir):
    run = snakemake(
        workdir, "--cores", "2", "--configfile", "tiny.yaml",
        "--config", "framework_overrides={numpy: {lr: 1000}}", "frameworks=[numpy,torch]",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {row["framework"]: row for row in io.read_csv(workdir / "results" / "summary.csv")}
    assert rows["numpy"]["status"] == "diverged (1 of 1 seeds)"
    assert rows["numpy"]["accuracy_mean"] == ""  # no meaningless accuracy
    assert rows["torch"]["status"] == "ok" and float(rows["torch"]["accuracy_mean"]) > 0
    page = (workdir / "results" / "report.html").read_text()
    assert 'id="diverged-flag"' in page and "seed 0: diverged at epoch 1" in page


def test_sigterm_mid_training_leaves_nothing_a_rerun_would_trust(workdir):
    exe = Path(sys.executable).with_name("snakemake")
    run_dir = workdir / "results" / "digits" / "mlp-16" / "numpy" / "seed0"
    # the training job's own output as the target: the data it needs, not the whole workflow
    args = [str(exe), str((run_dir / "train.json").relative_to(workdir)), "--cores", "1",
            "--configfile", "tiny.yaml", "--config",
            "frameworks=[numpy]", "training={epochs: 10000, patience: 0}"]  # fmt: skip
    job = subprocess.Popen(args, cwd=workdir, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = workdir / "logs" / "train" / "digits" / "mlp-16" / "numpy" / "seed0.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "epoch 3/" in log.read_text()):
        assert time.monotonic() < deadline and job.poll() is None, "training never got going"
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGTERM)  # what a scheduler or Ctrl-C sends
    assert job.wait(timeout=60) != 0
    left = sorted(p.name for p in run_dir.iterdir()) if run_dir.exists() else []
    assert left == [], left
    again = snakemake(workdir, "-n", "--configfile", "tiny.yaml", "--config", "frameworks=[numpy]")
    assert "train_numpy" in again.stdout + again.stderr  # the rerun trains again
