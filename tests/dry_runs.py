"""Several Snakemake dry runs in one process: each `snakemake -n` started on its own pays
Snakemake's and the workflow's imports (several seconds) before it plans anything; one process
that runs them in turn (Snakemake's own command-line entry point, as tests/test_docs.py does)
pays them once. A run may edit files first (a line appended, as :func:`conftest.edited` does):
each is restored, content and modification time, before the next run starts."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from conftest import SHARED_TIMING, job_counts

DRIVER = """\
import json, os, sys
from snakemake.cli import main

runs, out = json.load(open(sys.argv[1])), sys.argv[2]
home = os.getcwd()
results = []
for i, run in enumerate(runs):
    os.chdir(run["workdir"] or home)
    saved = []
    try:
        for path, line in run["edits"]:
            stat = os.stat(path)
            original = open(path).read()
            saved.append((path, original, stat))
            with open(path, "w") as handle:
                handle.write(original + line)
        logs = [os.path.join(out, f"{i}.{stream}") for stream in ("stdout", "stderr")]
        sys.stdout.flush(), sys.stderr.flush()
        keep = os.dup(1), os.dup(2)
        fds = [os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) for log in logs]
        os.dup2(fds[0], 1), os.dup2(fds[1], 2)
        try:
            main(run["argv"])
        except SystemExit as end:  # as the interpreter ends on it: a message, printed, is 1
            code = end.code or 0
            if not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        else:
            code = 0
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(keep[0], 1), os.dup2(keep[1], 2)
            for fd in (*fds, *keep):
                os.close(fd)
    finally:
        for path, original, stat in reversed(saved):
            with open(path, "w") as handle:
                handle.write(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    results.append({"code": code, "logs": logs})
json.dump(results, open(os.path.join(out, "results.json"), "w"))
"""


@dataclass
class DryRun:
    """One `snakemake -n ARGS` (the tests' shared timing added), after ``edits``: (path, line)
    pairs, the line appended to the file for this run only. ``dry=False``: without -n."""

    args: tuple[str, ...]
    edits: tuple[tuple[Path, str], ...] = ()
    dry: bool = True
    workdir: Path | None = None  # where it runs, if not in the folder given to dry_run_all
    code: int | None = field(default=None, init=False)
    stdout: str = field(default="", init=False)
    stderr: str = field(default="", init=False)

    @property
    def returncode(self) -> int | None:
        """The exit status, by the name subprocess gives it."""
        return self.code

    @property
    def output(self) -> str:
        """stdout and stderr, one after the other."""
        return self.stdout + self.stderr

    def jobs(self) -> dict[str, int]:
        """Rule -> planned job count (Snakemake's job stats table; empty when nothing to do)."""
        assert self.code == 0, self.output[-2000:]
        return job_counts(self.output)


def dry_run_all(workdir: Path, runs: list[DryRun], scratch: Path) -> list[DryRun]:
    """Run each of ``runs`` in ``workdir`` (or its own), in order, in one process; fills in their exit code
    and output (stdout, stderr). ``scratch``: an empty folder for the driver."""
    argv = [{"argv": [*(["-n"] if run.dry else []), *run.args, *SHARED_TIMING],
             "edits": [[str(path), line] for path, line in run.edits],
             "workdir": str(run.workdir) if run.workdir else None} for run in runs]  # fmt: skip
    (scratch / "runs.json").write_text(json.dumps(argv))
    (scratch / "driver.py").write_text(DRIVER)
    driver = subprocess.run(
        [sys.executable, str(scratch / "driver.py"), str(scratch / "runs.json"), str(scratch)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    for run, result in zip(runs, json.loads((scratch / "results.json").read_text()), strict=True):
        run.code = result["code"]
        run.stdout, run.stderr = (Path(log).read_text() for log in result["logs"])
    return runs
