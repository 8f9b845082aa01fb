"""The best recipe, chosen from the collected studies on validation accuracy only.

Every variant of a collected study is a complete recipe. The candidates are the variants
trained on MNIST in the studies that change the recipe (:data:`CANDIDATE_STUDIES`), every run
finished. Each is scored by its validation accuracy, the mean over frameworks of each
framework's mean over seeds; test accuracy is never read.

A study varies one or two settings, so its best level answers one question. The chosen recipe
puts the answers together: each study's best-scoring level is set against the project's recipe
(config.yaml's, which several studies train as one of their levels), paired run by run over the
same frameworks and seeds; every one whose validation accuracy is higher with a 95 % interval
above zero lends the chosen recipe its changes (the settings in which it differs from the
project's), the better-scoring study first where two studies change the same setting. Whether
the changes add up is not assumed: ``presets/best.yaml`` trains the chosen recipe beside the
project's, and only that study's test accuracy says what the choice is worth.
"""

from __future__ import annotations

import copy
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
    "test accuracy plays no part. Each study's best-scoring variant is set against the "
    "project's recipe, paired run by run over the same frameworks and seeds (the interval over "
    "the seeds, each seed's mean difference one observation); every one whose "
    "validation accuracy is higher with a 95 % interval above zero lends the chosen recipe the "
    "settings in which it differs from the project's (the better-scoring study first where two "
    "change the same setting). The chosen recipe is then trained beside the project's in "
    "`presets/best.yaml`: its test accuracy there says what the choice is worth."
)


# What the best recipe is for (the findings issue): this test accuracy in every framework, mean
# over seeds, and the frameworks this close to each other. Reported, never chosen on.
GOAL_ACCURACY = 98.5
GOAL_SPREAD = 0.2


def goal(summary: pd.DataFrame, variants: list[dict], made: dict) -> dict | None:
    """How the chosen recipe did in the best study (its ``summary`` and ``variants``) against
    :data:`GOAL_ACCURACY` and :data:`GOAL_SPREAD`; None when the study has no ``chosen``
    level. ``current`` is False when that level's recipe is not the one ``made`` chose now
    (the study ran an earlier choice); ``crossing`` names the frameworks whose 95 % interval
    over the seeds could overturn the verdict, with that interval."""
    level = next((v for v in variants if v["name"] == "chosen"), None)
    if level is None:
        return None
    rows = summary[summary["variant"] == "chosen"]
    per_framework = {
        row["framework"]: float(row["test_accuracy_mean"]) for _, row in rows.iterrows()
    }
    interval = {
        row["framework"]: (float(row["test_accuracy_low"]), float(row["test_accuracy_high"]))
        for _, row in rows.iterrows()
    }
    low, high = min(per_framework.values()), max(per_framework.values())
    met = low >= GOAL_ACCURACY and high - low <= GOAL_SPREAD
    # A mean over a few seeds is uncertain: name the frameworks whose 95 % interval crosses the
    # goal's accuracy on the side that could overturn the verdict (below it where the goal is
    # met; above it for a framework that misses it).
    if met:
        crossing = {fw: span for fw, span in interval.items() if span[0] < GOAL_ACCURACY}
    else:
        crossing = {fw: span for fw, span in interval.items()
                    if per_framework[fw] < GOAL_ACCURACY <= span[1]}  # fmt: skip
    return {
        "current": recipe(level["arch"], level["training"]) == made.get("chosen"),
        "per_framework": per_framework,
        "seeds": int(rows["n_seeds"].min()),
        "low": low, "high": high, "spread": high - low,
        "met": met, "crossing": crossing,
    }  # fmt: skip


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
    best first, each study's best against the project's recipe (``adopted`` when it lends the
    chosen recipe its changes), and the recipe chosen, if any."""
    folder = Path(folder)
    found = candidates(folder, studies).sort_values("val_accuracy", ascending=False, kind="stable")
    project = project_recipe(config)
    studies_named = ", ".join(CANDIDATE_STUDIES)
    choice = {"how": HOW.format(studies=studies_named), "decision": "not-enough",
              "candidates": [{k: row[k] for k in ("study", "variant", "val_accuracy")}
                             for _, row in found.head(5).iterrows()],
              "project": project, "studies": [], "chosen": None}  # fmt: skip
    reference = found[found["recipe"].apply(lambda r: r == project)]
    if found.empty or reference.empty:
        choice["why"] = "No collected MNIST study trains the project's recipe beside others yet."
        return choice
    ref = reference.iloc[0]
    ref_runs = runs_of(folder, ref["study"], ref["variant"])
    chosen, taken = copy.deepcopy(project), set()  # no shared lists: no YAML aliases
    for _, best in found.drop_duplicates("study").iterrows():  # each study's best, best first
        changes = {k: v for k, v in best["recipe"].items() if project.get(k) != v}
        runs = runs_of(folder, best["study"], best["variant"])
        both = runs.index.intersection(ref_runs.index)
        effect = tables.paired(runs.loc[both], ref_runs.loc[both], "val_accuracy")
        better = math.isfinite(effect["low"]) and effect["low"] > 0 and bool(changes)
        clash = sorted(set(changes) & taken)
        entry = {"study": best["study"], "variant": best["variant"],
                 "val_accuracy": float(best["val_accuracy"]), "changes": changes,
                 **{k: effect[k] for k in ("n_pairs", "n_seeds", "effect", "low", "high")},
                 "adopted": better and not clash,
                 "verdict": verdict(changes, effect, better, clash)}  # fmt: skip
        choice["studies"].append(entry)
        if entry["adopted"]:
            chosen.update(changes)
            taken |= set(changes)
    adopted = [e for e in choice["studies"] if e["adopted"]]
    choice["against"] = {"study": ref["study"], "variant": ref["variant"]}
    if adopted:
        choice["decision"], choice["chosen"] = "chosen", chosen
        parts = [f"{e['study']} {e['variant']} ({e['effect']:+.2f} points, 95 % CI "
                 f"{e['low']:+.2f} to {e['high']:+.2f})" for e in adopted]  # fmt: skip
        choice["why"] = ("The chosen recipe is the project's with the changes of "
                         f"{_join(parts)}: "
                         + ("each beats" if len(parts) > 1 else "it beats")
                         + " the project's recipe on validation accuracy.")  # fmt: skip
    else:
        choice["decision"] = "project"
        choice["why"] = (
            "No study's best variant beats the project's recipe on validation "
            "accuracy with an interval above zero, so the project's recipe stands."
        )
    return choice


def verdict(changes: dict, effect: dict, better: bool, clash: list) -> str:
    """What the interval allows: higher (adopted unless a setting is taken), lower, or
    cannot tell apart; never "the same"."""
    if not changes:
        return "the project's recipe"
    if not math.isfinite(effect["low"]):
        return "no interval"
    if not better:
        return "lower" if effect["high"] < 0 else "cannot tell apart"
    if clash:
        return "higher; " + ", ".join(clash) + " already set by a better-scoring study"
    return "higher: adopted"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
