"""Resuming a run that was stopped hard: ``make resume`` (docs/troubleshooting.md).

A hard stop (power loss, the kernel's OOM killer, a scheduler's SIGKILL) gives Snakemake no
chance to clean up. It leaves a lock (``.snakemake/locks/``) and a marker for each output of the
jobs that were running (``.snakemake/incomplete/``); the next run stops on the first, then on the
second, and Snakemake's messages name ``--unlock`` and ``--rerun-incomplete`` without saying in
which order, or when unlocking is safe. :func:`main` does both, safely:

1. it refuses, naming the process, while a Snakemake process (the workflow, or one of its jobs,
   whose command lines name ``.snakemake/scripts``) still runs in the folder: unlocking then
   would let two runs write the same files;
2. it removes the stale lock (``snakemake --unlock``);
3. it runs the workflow with ``--rerun-incomplete``: the jobs that were cut off run again from
   the start (Snakemake deletes their partial outputs first), finished jobs are kept, and what
   was never started runs as in any run.

Only this machine's processes are visible: on a cluster, run it where the workflow ran.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import psutil

from mlpcompare import logs

log = logging.getLogger(__name__)
# Set by main() for the Snakemake runs it starts, so their start-up hint (below) stays quiet.
RESUMING = "MLPCOMPARE_RESUMING"
COMMAND = "make resume"


def _below(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder)


def snakemake_processes(folder: str | os.PathLike) -> list[psutil.Process]:
    """Processes other than this one and its parents that run Snakemake (or a job of it) in
    ``folder`` or below; processes this user may not inspect are passed over."""
    folder = Path(folder).resolve()
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter():
        if process.pid in own:
            continue
        try:
            if any("snakemake" in arg for arg in process.cmdline()) and _below(
                process.cwd(), folder
            ):
                found.append(process)
        except (psutil.Error, OSError):  # gone, a zombie, another user's, a deleted cwd
            continue
    return found


def leftovers(folder: str | os.PathLike) -> tuple[bool, int]:
    """(whether ``folder`` holds a Snakemake lock, how many outputs are marked incomplete)."""
    meta = Path(folder, ".snakemake")
    locks = meta / "locks"
    locked = locks.is_dir() and any(locks.iterdir())
    incomplete = meta / "incomplete"
    markers = (
        [p for p in incomplete.rglob("*") if p.is_file() and p.name != "migration_underway"]
        if incomplete.is_dir()
        else []
    )
    return locked, len(markers)


def hint(folder: str | os.PathLike) -> str | None:
    """One line pointing to :data:`COMMAND` when ``folder`` holds what a hard stop leaves and
    no Snakemake process still runs there; else None. The workflow logs it at start-up, just
    before Snakemake's own lock or incomplete-files message."""
    if os.environ.get(RESUMING):
        return None
    locked, incomplete = leftovers(folder)
    if not (locked or incomplete) or snakemake_processes(folder):
        return None
    what = [
        *(["a lock"] if locked else []),
        *([f"{incomplete} incomplete output(s)"] if incomplete else []),
    ]
    return (
        f"an earlier run here was stopped hard and left {' and '.join(what)}: "
        f"'{COMMAND}' (with the same options, e.g. {COMMAND} ARGS='--configfile my.yaml') "
        "reruns the cut-off jobs safely (docs/troubleshooting.md)"
    )


def _directory(snakemake_args: list[str]) -> Path:
    """The folder Snakemake runs in: ``--directory``/``-d``'s value, else this one."""
    for flag in ("--directory", "-d"):
        if flag in snakemake_args[:-1]:
            return Path(snakemake_args[snakemake_args.index(flag) + 1])
    return Path.cwd()


def resume(snakemake_args: list[str]) -> int:
    """Unlock if no Snakemake process holds the folder, then rerun with ``--rerun-incomplete``
    (module docstring); ``snakemake_args`` go to both Snakemake calls. Snakemake's exit status."""
    folder = _directory(snakemake_args)
    for process in snakemake_processes(folder):
        try:
            command = " ".join(process.cmdline())[:120]
        except psutil.Error:  # it ended meanwhile
            continue
        raise logs.UserError(
            f"a Snakemake process still runs in {folder} (pid {process.pid}: {command}); "
            f"wait for it to end, or stop it (kill {process.pid}), then run {COMMAND} again"
        )
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    env = {**os.environ, RESUMING: "1"}
    locked, incomplete = leftovers(folder)
    if locked:
        unlock = subprocess.run([snakemake, "--unlock", *snakemake_args], env=env)
        if unlock.returncode:
            return unlock.returncode
    log.info("%d incomplete output(s) to redo", incomplete)
    return subprocess.run([snakemake, "--rerun-incomplete", *snakemake_args], env=env).returncode


def main(argv: list[str] | None = None) -> None:
    """``python -m mlpcompare.resume [SNAKEMAKE OPTION ...]``: see the module docstring."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(format="resume: %(message)s", level=logging.INFO)
    try:
        sys.exit(resume(args))
    except logs.UserError as err:
        sys.exit(f"resume: {err}")


if __name__ == "__main__":
    main()
