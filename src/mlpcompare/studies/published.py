"""Published figures a study reproduces, set beside what it measured.

The seed notebook (report/references.yaml, ``notebook``) published one MNIST test accuracy per
framework; the seed-notebook study (presets/seed-notebook.yaml) runs its recipes in every
framework. Each published figure is compared with the level that trains its recipe, named by
the entry's ``level`` in references.yaml: the notebook's NumPy used plain SGD
(``notebook-sgd``), its Keras and PyTorch Adam (``notebook-adam``).
"""

from __future__ import annotations

import math

import pandas as pd

from mlpcompare import frameworks

# study -> the references.yaml entry whose figures it reproduces (each names its ``level``)
PUBLISHED = {"seed-notebook": "notebook"}


def beside_measured(study: str, summary: pd.DataFrame, references: dict) -> list[dict]:
    """One row per published figure of ``study``: framework, level, the published test accuracy
    and the measured mean with its 95 % interval (percent; NaN where the level was not run)."""
    if study not in PUBLISHED:
        return []
    rows = []
    for entry in references.get(PUBLISHED[study], []):
        fw, level = entry["framework"], entry.get("level")
        measured = summary[(summary["variant"] == level) & (summary["framework"] == fw)]
        cells = {"mean": math.nan, "low": math.nan, "high": math.nan}
        if not measured.empty:
            cells = {k: float(measured.iloc[0][f"test_accuracy_{k}"]) for k in cells}
        rows.append({"framework": fw, "level": level,
                     "published": float(entry["accuracy"]) * 100, **cells})  # fmt: skip
    return rows


def sentences(study: str, summary: pd.DataFrame, references: dict) -> list[str]:
    """Each published figure beside the measured one, as a sentence."""
    found = []
    for row in beside_measured(study, summary, references):
        name = frameworks.get(row["framework"]).label
        if not math.isfinite(row["mean"]):
            measured = f"{row['level']} was not run here"
        elif math.isfinite(row["low"]):
            measured = (f"measured here in {row['level']}: {row['mean']:.2f} % "
                        f"(95 % CI {row['low']:.2f} to {row['high']:.2f}), "
                        f"{row['mean'] - row['published']:+.2f} points from it")  # fmt: skip
        else:
            measured = (f"measured here in {row['level']}: {row['mean']:.2f} % (one run), "
                        f"{row['mean'] - row['published']:+.2f} points from it")  # fmt: skip
        found.append(f"Published: {name} {row['published']:.2f} % test accuracy; {measured}.")
    return found
