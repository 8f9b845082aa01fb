"""Restart after a hard stop: `make resume` (mlpcompare.resume) unlocks only when no Snakemake
process holds the folder, reruns the jobs that were cut off, and the results equal an
uninterrupted run's."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_TIMING, WORKFLOW_FILES, snakemake

from mlpcompare import logs, resume

sys.path.insert(0, str(ROOT / "tools"))
from same_results_tree import differences  # noqa: E402

# What `make resume ARGS="--configfile tiny.yaml"` runs (Makefile), at the tests' cores and timing.
RESUME = [sys.executable, "-m", "mlpcompare.resume", "--cores", "2", "--configfile", "tiny.yaml"]


def fake_snakemake(folder: Path) -> subprocess.Popen:
    """A process whose command line names snakemake, running in ``folder``."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=folder
    )


def test_a_folder_without_leftovers_needs_no_hint(tmp_path):
    assert resume.leftovers(tmp_path) == (False, 0)
    assert resume.hint(tmp_path) is None


def test_leftovers_are_named_and_point_to_make_resume(tmp_path, monkeypatch):
    monkeypatch.delenv(resume.RESUMING, raising=False)
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("x")
    (tmp_path / ".snakemake" / "incomplete" / "cmVzdWx0cw").mkdir(parents=True)
    (tmp_path / ".snakemake" / "incomplete" / "cmVzdWx0cw" / "abc").write_text("{}")
    assert resume.leftovers(tmp_path) == (True, 1)
    line = resume.hint(tmp_path)
    assert "left a lock and 1 incomplete output(s)" in line and "'make resume'" in line
    monkeypatch.setenv(resume.RESUMING, "1")  # its own Snakemake runs say nothing
    assert resume.hint(tmp_path) is None


def test_resume_refuses_while_a_snakemake_process_runs_in_the_folder(tmp_path, monkeypatch):
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("x")
    elsewhere = fake_snakemake(ROOT)
    running = fake_snakemake(tmp_path)
    try:
        time.sleep(0.5)  # until /proc shows its command line
        assert [p.pid for p in resume.snakemake_processes(tmp_path)] == [running.pid]
        assert resume.hint(tmp_path) is None  # a live run: Snakemake's lock message is right
        monkeypatch.chdir(tmp_path)
        with pytest.raises(logs.UserError, match=rf"still runs in .*pid {running.pid}"):
            resume.resume(["--cores", "1"])
    finally:
        for process in (running, elsewhere):
            process.kill()
            process.wait()
    assert (tmp_path / ".snakemake" / "locks" / "0.input.lock").exists()  # left alone


def _training_started(workdir: Path) -> bool:
    """Whether a training job has logged its first epoch (it is writing its outputs)."""
    return any("epoch" in log.read_text() for log in workdir.glob("logs/train/*/*/*/seed*.log"))


def finished_copy(tiny_run: Path, dest: Path) -> Path:
    """The finished tiny run as its own folder: its workflow, config, results and Snakemake's
    records of them (not its logs), so that a run there has only what it is told to redo."""
    for name in (*WORKFLOW_FILES, "tiny.yaml", "results", ".snakemake"):
        src = tiny_run / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def test_a_run_killed_hard_while_training_resumes_to_the_uninterrupted_results(tiny_run, tmp_path):
    # The finished run's training redone (numpy's: the cheapest), then cut off: the kill, the
    # resume and the comparison below are those of a run cut off from scratch, at a fraction
    # of the cost; the frameworks' results are compared with the uninterrupted run all the same.
    workdir = finished_copy(tiny_run, tmp_path)
    assert resume.leftovers(workdir) == (False, 0)
    exe = Path(sys.executable).with_name("snakemake")
    run = subprocess.Popen(
        [str(exe), "--cores", "2", "--configfile", "tiny.yaml", "--forcerun", "train_numpy",
         *SHARED_TIMING],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes it and its jobs
    )  # fmt: skip
    deadline = time.monotonic() + 600
    # Killed as soon as a training job has logged an epoch while outputs are being written.
    while not (_training_started(workdir) and resume.leftovers(workdir)[1]):
        assert run.poll() is None, "the run ended before a training job wrote"
        assert time.monotonic() < deadline, "no training job started"
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)  # a power loss, for the workflow and its jobs
    run.wait()
    while resume.snakemake_processes(workdir):  # the jobs' processes, going down
        time.sleep(0.1)
    locked, incomplete = resume.leftovers(workdir)
    assert locked and incomplete, "the kill left nothing to resume"

    # A plain rerun stops on what the kill left, and says first what to run.
    again = snakemake(workdir, "--cores", "2", "--configfile", "tiny.yaml")
    assert again.returncode != 0
    assert "'make resume'" in again.stderr
    assert "LockException" in again.stderr or "incomplete" in again.stderr

    resumed = subprocess.run(
        [*RESUME, *SHARED_TIMING],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resume: {incomplete} incomplete output(s) to redo" in resumed.stderr
    assert "'make resume'" not in resumed.stderr
    assert resume.leftovers(workdir) == (False, 0)
    # run.json records when, where and with which packages, not what was computed
    found = differences(tiny_run / "results", workdir / "results")
    assert [line for line in found if line != "differs: run.json"] == []
