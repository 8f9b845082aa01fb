"""results/run.json: what the comparison's results were made from and on.

The commit and whether the checkout had changes, the configuration the comparison ran with,
every installed package's version, the machine (CPU, cores, memory, GPUs) and the date. The
report shows it in its header, and ``mlpcompare compare`` lists where two runs differ in it
before their figures.

``schema_version`` counts changes a reader must know about (a key renamed or removed; new keys
are not one); a reader refuses a record newer than :data:`SCHEMA_VERSION` rather than misread it.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from importlib import metadata

from mlpcompare.logs import UserError
from mlpcompare.measuring import envinfo

SCHEMA_VERSION = 1


def git_state(repo: str | os.PathLike) -> dict:
    """The commit checked out at ``repo`` and whether the tree differs from it (tracked changes
    or files git does not ignore); both None, with ``note`` saying why, without git or a
    checkout (a copy of the files, an unpacked archive)."""
    exe = shutil.which("git")
    if exe is None:
        return {"commit": None, "dirty": None, "note": "git is not installed"}

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [exe, "-C", str(repo), *args], capture_output=True, text=True, timeout=60
        )

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        reason = (head.stderr.strip().splitlines() or ["git rev-parse HEAD failed"])[-1]
        if "not a git repository" in reason:
            reason = "not a git checkout"
        return {"commit": None, "dirty": None, "note": reason}
    changes = git("status", "--porcelain")
    return {
        "commit": head.stdout.strip(),
        "dirty": bool(changes.stdout.strip()) if changes.returncode == 0 else None,
        "note": None,
    }


def installed_packages() -> dict[str, str]:
    """Every distribution installed in this interpreter's environment -> its version, by name."""
    found = {dist.metadata["Name"]: dist.version for dist in metadata.distributions()}
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def record(config: dict, repo: str | os.PathLike, now: datetime.datetime | None = None) -> dict:
    """Everything run.json holds; ``repo``: the workflow's checkout, ``now``: the date (UTC)."""
    now = now or datetime.datetime.now(datetime.UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "created": now.isoformat(timespec="seconds"),
        "git": git_state(repo),
        "config": config,
        "machine": {**envinfo.machine(), "gpus": envinfo.gpus()},
        "python_executable": sys.executable,
        "packages": installed_packages(),
    }


def check_schema(run: dict, where: str) -> None:
    """Raise a one-line error when ``run`` (a run.json) was written by a newer mlpcompare."""
    version = run.get("schema_version")
    if not isinstance(version, int):
        raise UserError(
            f"{where}: run.json has no schema_version; it was not written by mlpcompare"
        )
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{where} was written by a newer mlpcompare (run.json schema {version}; this one "
            f"reads up to {SCHEMA_VERSION}): upgrade mlpcompare to read it"
        )


def headline(run: dict) -> dict[str, str]:
    """run.json as the report's header shows it: commit, date, machine, Python, packages."""
    git, machine = run["git"], run["machine"]
    if git["commit"]:
        commit = git["commit"][:10] + (" with uncommitted changes" if git["dirty"] else "")
    else:
        commit = f"unknown ({git['note']})"
    gpus = ", ".join(gpu.get("name", "?") for gpu in machine.get("gpus", [])) or "no GPU"
    created = datetime.datetime.fromisoformat(run["created"]).astimezone(datetime.UTC)
    return {
        "commit": commit,
        "created": created.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{machine['cpu']}, {machine['usable_cores']} cores, "
        f"{machine['memory_gb']:.1f} GB, {gpus}",
        "python": machine["python"],
        "packages": f"{len(run['packages'])} packages",
    }
