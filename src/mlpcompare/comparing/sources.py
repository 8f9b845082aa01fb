"""A finished run to compare: a results folder, or an archive made by ``mlpcompare pack``.

What is read: summary.csv (which dataset x architecture x framework the run has), each seed's
train.json, metrics.json and inference.csv (the values over seeds), run.json (provenance) and
machine/environment.json (the machine, for runs made before run.json existed). An archive is
unpacked into a scratch folder first, so both are read the same way.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mlpcompare import io
from mlpcompare.layout import Layout
from mlpcompare.logs import UserError
from mlpcompare.measuring import provenance

Key = tuple[str, str, str]  # dataset, arch, framework
SEED_FOLDER = re.compile(r"seed(\d+)")
WHAT_IS_EXPECTED = (
    "give the results/ folder of a finished run, or an archive made by mlpcompare pack"
)


@dataclass
class Results:
    """One run's results, ready to read. ``label``: the path as the user gave it."""

    label: str
    root: Path
    summary: list[dict]
    run: dict | None
    environment: dict | None

    def keys(self) -> list[Key]:
        """Every dataset x architecture x framework of summary.csv, in its order."""
        return [(row["dataset"], row["arch"], row["framework"]) for row in self.summary]

    def seeds(self, key: Key) -> list[dict]:
        """Each seed's records of ``key``: ``seed``, ``train``, ``metrics`` and ``inference``
        (inference.csv rows); a file the folder lacks is None (an empty list for inference)."""
        layout = Layout(str(self.root))
        keys = dict(zip(("dataset", "arch", "framework"), key, strict=True))
        pattern = Path(layout.run_file({**keys, "seed": "*"}, "train.json"))
        found = []
        for path in sorted(self.root.glob(str(pattern.relative_to(self.root)))):
            match = SEED_FOLDER.fullmatch(path.parent.name)
            if match is None:
                continue
            run = {**keys, "seed": match[1]}
            metrics = Path(layout.run_file(run, "metrics.json"))
            inference = Path(layout.run_file(run, "inference.csv"))
            found.append(
                {
                    "seed": int(match[1]),
                    "train": io.read_json(path),
                    "metrics": io.read_json(metrics) if metrics.is_file() else None,
                    "inference": io.read_csv(inference) if inference.is_file() else [],
                }
            )
        return found


def open_results(path: str | Path, scratch: Path) -> Results:
    """The run at ``path`` (a results folder, the checkout holding one, or a packed archive);
    an archive is unpacked under ``scratch``. Raises a one-line :class:`UserError` for anything
    else, and for a run written by a newer mlpcompare."""
    label = str(path)
    path = Path(path)
    if not path.exists():
        raise UserError(f"{label} does not exist ({WHAT_IS_EXPECTED})")
    if path.is_dir():
        root = _results_folder(path)
        if root is None:
            raise UserError(f"{label} is not a results folder: no summary.csv ({WHAT_IS_EXPECTED})")
    elif zipfile.is_zipfile(path):
        root = _unpack(path, label, scratch)
    else:
        raise UserError(
            f"{label} is neither a results folder nor a zip archive ({WHAT_IS_EXPECTED})"
        )
    run_path, env_path = root / "run.json", Path(Layout(str(root)).machine("environment.json"))
    run = io.read_json(run_path) if run_path.is_file() else None
    if run is not None:
        provenance.check_schema(run, label)
    summary = io.read_csv(root / "summary.csv")
    if summary and not {"dataset", "arch", "framework"} <= set(summary[0]):
        raise UserError(f"{label}: summary.csv lacks the dataset, arch and framework columns")
    return Results(
        label=label,
        root=root,
        summary=summary,
        run=run,
        environment=io.read_json(env_path) if env_path.is_file() else None,
    )


def _results_folder(path: Path) -> Path | None:
    """``path`` if it holds summary.csv, its results/ if that does (a checkout), else None."""
    for candidate in (path, path / "results"):
        if (candidate / "summary.csv").is_file():
            return candidate
    return None


def _unpack(archive: Path, label: str, scratch: Path) -> Path:
    """The archive's results folder, unpacked under ``scratch`` (zipfile drops absolute paths
    and ``..`` from member names, so nothing lands outside it)."""
    target = scratch / f"archive{len(list(scratch.iterdir()))}"
    try:
        with zipfile.ZipFile(archive) as packed:
            packed.extractall(target)
    except (zipfile.BadZipFile, OSError) as err:
        raise UserError(f"{label} cannot be unpacked ({err})") from err
    folders = [target, *(p for p in target.iterdir() if p.is_dir())]
    root = next((p for p in folders if (p / "summary.csv").is_file()), None)
    if root is None:
        raise UserError(
            f"{label} is a zip archive but not one made by mlpcompare pack (no summary.csv in it)"
        )
    return root
