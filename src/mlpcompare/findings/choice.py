"""The best recipe, chosen from the collected studies on validation accuracy only.

Every variant of a collected study is a complete recipe. The candidates are the variants
trained on MNIST in the studies that change the recipe (:data:`CANDIDATE_STUDIES`), every run
finished. Each is scored by its validation accuracy, the mean over frameworks of each
framework's mean over seeds; test accuracy is never read. The best-scoring candidate replaces
the project's recipe (config.yaml's, which several studies train as one of their levels) only
when its paired difference in validation accuracy against that recipe, run by run over the same
frameworks and seeds, has a 95 % interval above zero. Then ``presets/best.yaml`` trains the two
side by side once more, and only that study's test accuracy says what the choice is worth.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from mlpcompare import io
from mlpcompare.spec import TrainSpec
from mlpcompare.studies import tables

CANDIDATE_STUDIES = (
    "regularization", "size", "learning-rate", "optimizers", "seed-notebook", "initialisation",
)  # fmt: skip
ARCH_DEFAULTS = {"activation": "relu", "dropout": 0.0, "batch_norm": False, "init": "he-normal"}
TRAINING_KEYS = tuple(f for f in TrainSpec.__dataclass_fields__ if f != "extra")
# Per dataset, so not part of what a recipe is; the preset's dataset decides it.
NOT_RECIPE = ("target_val_accuracy",)
HOW = (
    "The candidates are the variants trained on MNIST in the {studies} studies. Each is scored "
    "by its validation accuracy (the mean over frameworks of each framework's mean over seeds); "
    "test accuracy plays no part. The best-scoring one replaces the project's recipe only when "
    "its validation accuracy, paired run by run with the project's recipe over the same "
    "frameworks and seeds, is higher with a 95 % interval above zero."
)


def recipe(arch: dict, training: dict) -> dict:
    """One flat recipe: every architecture and training key, defaults filled."""
    defaults = {f: TrainSpec.__dataclass_fields__[f].default for f in TRAINING_KEYS}
    flat = {**ARCH_DEFAULTS, **arch, **defaults, **training}
    return {key: value for key, value in flat.items() if key not in NOT_RECIPE}


def project_recipe(config: dict) -> dict:
    """config.yaml's recipe: its first architecture and its training."""
    return recipe(next(iter(config["architectures"].values())), config["training"])


def candidates(folder: Path, studies) -> pd.DataFrame:
    """One row per candidate variant: study, variant, its recipe, validation accuracy."""
    rows = []
    for study in studies:
        if study not in CANDIDATE_STUDIES:
            continue
        summary = pd.read_csv(folder / study / "summary.csv", dtype={"variant": str})
        variants = io.read_json(folder / study / "variants.json")["variants"]
        for variant in variants:
            own = summary[summary["variant"] == variant["name"]]
            if variant["dataset"] != "mnist" or own.empty or own["n_diverged"].sum() > 0:
                continue
            rows.append({"study": study, "variant": variant["name"],
                         "recipe": recipe(variant["arch"], variant["training"]),
                         "val_accuracy": float(own["val_accuracy_mean"].mean())})  # fmt: skip
    return pd.DataFrame(rows, columns=["study", "variant", "recipe", "val_accuracy"])


def runs_of(folder: Path, study: str, variant: str) -> pd.DataFrame:
    runs = pd.read_csv(folder / study / "runs.csv", dtype={"variant": str})
    runs = runs[(runs["variant"] == variant) & (runs["status"] == "ok")]
    return runs.set_index(["framework", "seed"])["val_accuracy"]


def choose(folder: str | Path, studies, config: dict) -> dict:
    """The choice as plain data (docs/findings/best.json): how it was made, the candidates
    best first, the winner against the project's recipe, and the recipe chosen, if any."""
    folder = Path(folder)
    found = candidates(folder, studies).sort_values("val_accuracy", ascending=False, kind="stable")
    project = project_recipe(config)
    studies_named = ", ".join(CANDIDATE_STUDIES)
    choice = {"how": HOW.format(studies=studies_named), "decision": "not-enough",
              "candidates": [{k: row[k] for k in ("study", "variant", "val_accuracy")}
                             for _, row in found.head(5).iterrows()],
              "project": project, "chosen": None}  # fmt: skip
    reference = found[found["recipe"].apply(lambda r: r == project)]
    if found.empty or reference.empty:
        choice["why"] = "No collected MNIST study trains the project's recipe beside others yet."
        return choice
    best, ref = found.iloc[0], reference.iloc[0]
    effect = tables.paired(*_aligned(folder, best, ref), "val_accuracy")
    choice["winner"] = {"study": best["study"], "variant": best["variant"]}
    choice["against"] = {"study": ref["study"], "variant": ref["variant"],
                         **{k: effect[k] for k in ("n_pairs", "effect", "low", "high")}}  # fmt: skip
    if best["recipe"] == project:
        choice["decision"], choice["why"] = "project", "The project's recipe scores best."
    elif math.isfinite(effect["low"]) and effect["low"] > 0:
        choice["decision"], choice["chosen"] = "chosen", best["recipe"]
        choice["why"] = (f"{best['study']} {best['variant']} beats the project's recipe on "
                         f"validation accuracy by {effect['effect']:+.2f} points (95 % CI "
                         f"{effect['low']:+.2f} to {effect['high']:+.2f}).")  # fmt: skip
    else:
        choice["decision"] = "project"
        choice["why"] = (f"The best-scoring candidate, {best['study']} {best['variant']}, is "
                         f"{effect['effect']:+.2f} points above the project's recipe on "
                         f"validation accuracy, an interval of {effect['low']:+.2f} to "
                         f"{effect['high']:+.2f}: the seeds cannot tell them apart, so the "
                         "project's recipe stands.")  # fmt: skip
    return choice


def _aligned(folder: Path, best, ref) -> tuple[pd.Series, pd.Series]:
    a = runs_of(folder, best["study"], best["variant"])
    b = runs_of(folder, ref["study"], ref["variant"])
    both = a.index.intersection(b.index)
    return a.loc[both], b.loc[both]


def preset_text(choice: dict) -> str | None:
    """presets/best.yaml for a chosen recipe: the project's and the chosen one, side by side on
    MNIST, every setting named in each level; None when the project's recipe stands."""
    if choice["decision"] != "chosen":
        return None
    levels = {"project": choice["project"], "chosen": choice["chosen"]}
    study = {"description": "The recipe chosen on validation accuracy against the project's.",
             "dataset": "mnist", "axes": {"recipe": levels}}  # fmt: skip
    header = (
        "# Study: the recipe `make findings` chose from the studies' validation accuracy\n"
        "# (mlpcompare.findings.choice, docs/findings.md) against the project's recipe, on MNIST.\n"
        "# Written by `make findings`; edit the studies, not this file.\n"
        "#   snakemake --cores 8 --configfile presets/best.yaml --config mirror=../shared/datasets\n"
    )
    body = {"comparison": False, "studies": {"best": study}}
    return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=None)


def write(choice: dict, json_path: str | Path, preset_path: str | Path) -> None:
    """best.json, and presets/best.yaml when a recipe was chosen (removed when none is)."""
    io.write_json(choice, json_path)
    text, preset = preset_text(choice), Path(preset_path)
    if text is None:
        preset.unlink(missing_ok=True)
    else:
        with io.atomic_path(preset, suffix=".yaml") as tmp:
            tmp.write_text(text)
