"""One zip archive of a finished run: what ``mlpcompare compare`` reads and a colleague opens.

It holds the report, every table and record (``.csv``, ``.json``: summary.csv, run.json, each
seed's train.json, metrics.json, history.csv, inference.csv ...) and the figures (``.png``),
under one folder named like the archive. Left out: the data (split.npz), the initial weights
and predictions (``.npz``), and the trained models unless asked for (``models``): those are
large and rebuilt by the workflow.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from mlpcompare import frameworks, io
from mlpcompare.logs import UserError

KEPT_SUFFIXES = (".html", ".csv", ".json", ".png")
# Every framework's model file (registry) and the ONNX export of it (evaluate jobs).
MODEL_FILES = frozenset({fw.model_file for fw in frameworks.REGISTRY.values()} | {"model.onnx"})


def is_model(path: Path) -> bool:
    """Whether ``path`` is a trained model: a model file inside a seed's folder."""
    return path.name in MODEL_FILES and path.parent.name.startswith("seed")


def members(results: Path, models: bool = False) -> list[Path]:
    """The files of ``results`` the archive holds, relative to it, sorted."""
    return sorted(
        path.relative_to(results)
        for path in results.rglob("*")
        if path.is_file()
        and not path.name.startswith(".")  # a writer's temporary file (mlpcompare.io)
        and ((path.suffix in KEPT_SUFFIXES) or (models and is_model(path)))
    )


def default_name(run: dict | None) -> str:
    """mlpcompare-<date>-<commit>.zip from run.json (mlpcompare-results.zip without one)."""
    if run is None:
        return "mlpcompare-results.zip"
    date = (run.get("created") or "")[:16].replace(":", "").replace("T", "-")
    commit = (run.get("git", {}).get("commit") or "nogit")[:7]
    return f"mlpcompare-{date}-{commit}.zip"


def pack(
    results: str | os.PathLike, archive: str | os.PathLike | None, models: bool = False
) -> Path:
    """Write the archive of ``results`` (default name: :func:`default_name`, in the current
    folder); returns its path."""
    results = Path(results)
    if not (results / "summary.csv").is_file():
        raise UserError(
            f"{results} is not a results folder: no summary.csv (give the results/ folder of a finished run)"
        )
    run_path = results / "run.json"
    run = io.read_json(run_path) if run_path.is_file() else None
    archive = Path(archive or default_name(run))
    folder = archive.name.removesuffix(".zip")
    with io.atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for member in members(results, models):
            out.write(results / member, f"{folder}/{member.as_posix()}")
    return archive
