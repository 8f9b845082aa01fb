"""A study's tables, from its run files: every run, each variant x framework with 95 % seed
intervals, and the effect of each axis level against the axis's reference level (its first,
unless the study names one).

Effects are paired: a level and the reference level are compared run by run over the same
framework, seed and level of the other axis, so the seed-to-seed spread that the pair shares
cancels, and the interval is Student's t over those paired differences. Accuracy effects are
differences in percentage points; speed effects are ratios (the geometric mean of paired ratios,
its interval from the t interval of the log ratios).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlpcompare import io
from mlpcompare.aggregating import stats
from mlpcompare.measuring import roofline
from mlpcompare.studies import MEASURES
from mlpcompare.studies.runs import epochs_to_target

# Measures compared as differences (points or epochs) and those compared as ratios. Validation
# accuracy is there for choosing a recipe (mlpcompare.findings.choice), which never looks at test.
DIFFERENCES = ("test_accuracy", "val_accuracy", "generalisation_gap")
RATIOS = ("samples_per_s",)
PERCENT = ("test_accuracy", "val_accuracy", "generalisation_gap", "f1_macro")
# Summarised beside the plotted MEASURES: validation accuracy (what a recipe is chosen on), the
# epochs each run trained (early stopping included), macro F1 and the fraction of the ceiling.
ALSO_SUMMARISED = ("val_accuracy", "epochs_run", "f1_macro", "roofline_fraction")
# Where each summarised measure's mean can lie (before the percent scale). Three seeds' 95 %
# t-interval can reach past it (a learning rate of 0.1: 20 % test accuracy, -18 to 58 %); the
# part beyond holds no possible mean, so the interval stops at the edge, as a confidence set
# for the mean that keeps its coverage.
DOMAIN = {
    "test_accuracy": (0.0, 1.0), "val_accuracy": (0.0, 1.0), "f1_macro": (0.0, 1.0),
    "generalisation_gap": (-1.0, 1.0), "roofline_fraction": (0.0, 1.0),
    "epochs_to_target": (1.0, math.inf), "epochs_run": (1.0, math.inf),
    "time_to_target_s": (0.0, math.inf), "samples_per_s": (0.0, math.inf),
}  # fmt: skip


def run_keys(study: dict, seeds) -> list[tuple[dict, str, int]]:
    """(variant, framework, seed) of every run of ``study`` (its
    :meth:`~mlpcompare.studies.Study.describe`), in the order the rules list the runs' files:
    variants, then their frameworks, then seeds."""
    return [
        (variant, fw, seed)
        for variant in study["variants"]
        for fw in variant["frameworks"]
        for seed in seeds
    ]


def read_runs(study: dict, seeds, files: dict[str, list]) -> pd.DataFrame:
    """One row per run of ``study``; ``files``: ``train``, ``metrics`` and ``history``, each a
    path per run in :func:`run_keys` order (the rule's declared inputs)."""
    rows = []
    axes = [axis["name"] for axis in study["axes"]]
    for i, (variant, fw, seed) in enumerate(run_keys(study, seeds)):
        train = io.read_json(files["train"][i])
        measured = io.read_json(files["metrics"][i])
        history = io.read_csv(files["history"][i])
        rows.append(
            {
                "variant": variant["name"],
                **dict(zip(axes, variant["levels"], strict=True)),
                "framework": fw,
                "seed": seed,
                "status": measured["status"],
                "test_accuracy": measured["test_accuracy"],
                "f1_macro": measured["f1_macro"],
                "train_accuracy": measured["train_accuracy"],
                "val_accuracy": measured["val_accuracy"],
                "generalisation_gap": measured["generalisation_gap"],
                "epochs_run": train["epochs_run"],
                "epochs_to_target": epochs_to_target(history, variant["target"]),
                "time_to_target_s": _number(train["time_to_target_s"]),
                "samples_per_s": train["steady_samples_per_s"],
                "roofline_fraction": _number(train.get("roofline_fraction")),
                "arithmetic_intensity": roofline.arithmetic_intensity(
                    train["layer_sizes"], train["training"]["batch_size"]
                ),
                "train_seconds": train["total_seconds"],
                "device": train["device"],
                "target": variant["target"],
            }
        )
    return pd.DataFrame(rows)


def within(interval: tuple[float, float], domain: tuple[float, float]) -> tuple[float, float]:
    """``interval`` cut to ``domain``; NaN (fewer than two seeds) stays NaN."""
    (low, high), (bottom, top) = interval, domain
    return (
        low if math.isnan(low) else max(low, bottom),
        high if math.isnan(high) else min(high, top),
    )


def _number(value) -> float:
    return math.nan if value is None else float(value)


def summarise(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Per variant x framework: runs, diverged runs, and each measure's mean and 95 % interval
    over the seeds (percentages for the accuracies)."""
    axes = [axis["name"] for axis in study["axes"]]
    rows = []
    for (variant, fw), group in runs.groupby(["variant", "framework"], sort=False):
        ok = group[group["status"] == "ok"]
        row = {"variant": variant, **group.iloc[0][axes].to_dict(), "framework": fw,
               "n_seeds": len(group), "n_diverged": int((group["status"] != "ok").sum())}  # fmt: skip
        row["arithmetic_intensity"] = group["arithmetic_intensity"].iloc[0]
        for measure in (*MEASURES, *ALSO_SUMMARISED):
            values = [v for v in ok[measure].astype(float) if math.isfinite(v)]
            scale = 100.0 if measure in PERCENT else 1.0
            low, high = within(stats.t_interval(values), DOMAIN[measure])
            row[f"{measure}_mean"] = stats.mean(values) * scale if values else math.nan
            row[f"{measure}_low"] = low * scale
            row[f"{measure}_high"] = high * scale
            row[f"{measure}_n"] = len(values)
        rows.append(row)
    return pd.DataFrame(rows)


def effects(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Each axis level against the axis's reference level, per framework and over all."""
    axes = [axis["name"] for axis in study["axes"]]
    ok = runs[runs["status"] == "ok"]
    rows = []
    for axis in study["axes"]:
        others = [a for a in axes if a != axis["name"]]
        keys = ["framework", "seed", *others]
        reference = axis.get("reference") or axis["labels"][0]
        for level in (label for label in axis["labels"] if label != reference):
            pairs = paired_runs(ok, axis["name"], level, reference, keys)
            for fw in [None, *dict.fromkeys(pairs.index.get_level_values("framework"))]:
                subset = pairs if fw is None else pairs.xs(fw, level="framework", drop_level=False)
                for measure in (*DIFFERENCES, *RATIOS):
                    rows.append(
                        {
                            "axis": axis["name"],
                            "level": level,
                            "reference": reference,
                            "framework": fw or "all",
                            "measure": measure,
                            **paired(subset[measure], subset[f"{measure}_ref"], measure),
                        }  # fmt: skip
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "axis",
            "level",
            "reference",
            "framework",
            "measure",
            "kind",
            "n_pairs",
            "n_seeds",
            "effect",
            "low",
            "high",
        ],  # fmt: skip
    )


def paired_runs(runs: pd.DataFrame, axis: str, level, reference, keys: list[str]) -> pd.DataFrame:
    """The runs of ``level`` of ``axis`` beside those of ``reference`` that share ``keys``
    (framework, seed, the other axes' levels): one row a pair, the reference's columns with
    the suffix ``_ref``."""
    return pd.merge(
        runs[runs[axis] == level].set_index(keys), runs[runs[axis] == reference].set_index(keys),
        left_index=True, right_index=True, suffixes=("", "_ref"),
    )  # fmt: skip


def paired(values: pd.Series, reference: pd.Series, measure: str) -> dict:
    """The paired effect of ``values`` against ``reference`` (aligned run by run, indexed by at
    least ``seed``): a difference in points (or epochs) with its t interval, or for
    :data:`RATIOS` a geometric-mean ratio; the effect is the mean of the seeds' means.

    The interval is over the seeds, not the pairs: each seed's mean difference (over the
    frameworks and any other axis' levels it was paired in) is one observation. Runs of one seed
    share their initial weights and batch order in every framework, and in the MNIST studies
    their differences moved together (a seed effect in a two-way analysis, p < 0.01 for
    regularization ``all`` on validation), so counting each framework's pair as independent
    would narrow the interval by what the seeds share. With one pair per seed (one framework)
    both ways agree."""
    a, b = values.astype(float).to_numpy(), reference.astype(float).to_numpy()
    seeds = values.index.get_level_values("seed").to_numpy()
    keep = np.isfinite(a) & np.isfinite(b) & ((a > 0) & (b > 0) if measure in RATIOS else True)
    a, b, seeds = a[keep], b[keep], seeds[keep]
    ratio = measure in RATIOS
    each = np.log(a / b) if ratio else (a - b) * 100.0
    per_seed = [float(each[seeds == seed].mean()) for seed in dict.fromkeys(seeds)]
    low, high = stats.t_interval(per_seed)
    centre = stats.mean(per_seed) if per_seed else math.nan  # the interval's centre
    counts = {"n_pairs": len(each), "n_seeds": len(per_seed)}
    if ratio:
        return {"kind": "ratio", **counts, "effect": math.exp(centre),
                "low": math.exp(low), "high": math.exp(high)}  # fmt: skip
    # Two means within DOMAIN differ by at most its width: the interval stops there too.
    bottom, top = DOMAIN[measure]
    span = (top - bottom) * 100.0  # in the points of ``each``
    low, high = within((low, high), (-span, span))
    return {"kind": "difference", **counts, "effect": centre, "low": low, "high": high}


def write_tables(study: dict, seeds, files: dict[str, list], outputs: dict) -> None:
    """runs.csv, summary.csv and effects.csv of one study (``files``: see :func:`read_runs`;
    ``outputs``: name -> path)."""
    runs = read_runs(study, seeds, files)
    tables = {"runs": runs, "summary": summarise(runs, study), "effects": effects(runs, study)}
    for name, table in tables.items():
        with io.atomic_path(outputs[name]) as tmp:
            table.to_csv(tmp, index=False)
