"""results/idiomatic.csv: the idiomatic variant against the tuned runs, seed against seed
(both start from the same weights): accuracy, training time and throughput."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import pandas as pd

from mlpcompare import io
from mlpcompare.aggregating import stats
from mlpcompare.aggregating.frames import cleaned, grouped
from mlpcompare.aggregating.runs import GROUP, load_runs, run_frame
from mlpcompare.layout import RUN_KEYS

IDIOMATIC_COLUMNS = [
    "dataset", "arch", "framework", "api", "n_seeds",
    "tuned_accuracy_mean", "tuned_accuracy_ci_low", "tuned_accuracy_ci_high",
    "idiomatic_accuracy_mean", "idiomatic_accuracy_ci_low", "idiomatic_accuracy_ci_high",
    "accuracy_diff_points", "accuracy_diff_points_ci_low", "accuracy_diff_points_ci_high",
    "train_time_ratio", "samples_per_s_ratio", "tuned_epochs_median", "idiomatic_epochs_median",
    "status",
]  # fmt: skip


def idiomatic_table(runs: list[dict], idiomatic: list[dict]) -> pd.DataFrame:
    """idiomatic.csv: per (dataset, arch, framework) with idiomatic runs, the tuned and the
    idiomatic test accuracy (mean and 95 % Student-t interval over the non-diverged seeds), the
    idiomatic minus the tuned accuracy in points with the 95 % interval of the per-seed
    differences (seed against seed: both start from the same weights), and the ratios idiomatic
    over tuned of the median training time (``train_time_ratio`` 3 = three times as long) and of
    the median steady samples/s (``samples_per_s_ratio`` 0.5 = half as fast), and each variant's
    median epochs run (early stopping decides them). ``runs``, ``idiomatic``: loaded tuned and
    idiomatic runs (``metrics`` and ``train``); a framework without idiomatic runs has no row.
    """
    tuned, variant = run_frame(runs), run_frame(idiomatic)
    pairs = tuned.merge(variant, on=list(RUN_KEYS), suffixes=("_tuned", "_idiomatic"))
    apis = {tuple(run[key] for key in GROUP): run["train"]["api"] for run in idiomatic}
    rows = [
        _idiomatic_row(dict(zip(GROUP, key, strict=True)), group, apis[key])
        for key, group in grouped(pairs, GROUP)
    ]
    return pd.DataFrame(rows, columns=IDIOMATIC_COLUMNS)


def _idiomatic_row(key: dict, pairs: pd.DataFrame, api: str) -> dict:
    """One row of idiomatic.csv from the seed-by-seed ``pairs`` of one framework."""
    row = {**key, "api": api, "n_seeds": len(pairs)}
    for variant in ("tuned", "idiomatic"):
        accuracy = pairs[f"accuracy_{variant}"].dropna().tolist()
        low, high = stats.t_interval(accuracy)
        row |= {f"{variant}_accuracy_mean": stats.mean(accuracy),
                f"{variant}_accuracy_ci_low": low, f"{variant}_accuracy_ci_high": high,
                f"{variant}_epochs_median": stats.median(pairs[f"epochs_run_{variant}"].dropna())}  # fmt: skip
    differences = (100 * (pairs["accuracy_idiomatic"] - pairs["accuracy_tuned"])).dropna().tolist()
    low, high = stats.t_interval(differences)
    row |= {"accuracy_diff_points": stats.mean(differences),
            "accuracy_diff_points_ci_low": low, "accuracy_diff_points_ci_high": high}  # fmt: skip
    for column, figure in (("train_time_ratio", "total_seconds"),
                           ("samples_per_s_ratio", "steady_samples_per_s")):  # fmt: skip
        tuned = stats.median(pairs[f"{figure}_tuned"].dropna())
        row[column] = (
            stats.median(pairs[f"{figure}_idiomatic"].dropna()) / tuned if tuned else math.nan
        )
    row["status"] = _pair_status(pairs)
    return row


def _pair_status(pairs: pd.DataFrame) -> str:
    """ "ok", or which variant's seeds diverged, e.g. "idiomatic: 1 of 3 seeds diverged"."""
    diverged = {v: int((~pairs[f"ok_{v}"]).sum()) for v in ("tuned", "idiomatic")}
    found = [f"{v}: {n} of {len(pairs)} seeds diverged" for v, n in diverged.items() if n]
    return "; ".join(found) or "ok"


def write_idiomatic(idiomatic: list[Mapping], inputs: Mapping, output: str | os.PathLike) -> None:
    """results/idiomatic.csv from the ``idiomatic_metrics`` and ``idiomatic_train`` of every
    idiomatic run (a path per record of ``idiomatic``) and the ``metrics`` and ``train`` of the
    tuned run of the same key (seed against seed)."""
    parts = ["metrics", "train"]
    table = idiomatic_table(
        load_runs(idiomatic, inputs, parts),
        load_runs(idiomatic, {part: inputs[f"idiomatic_{part}"] for part in parts}, parts),
    )
    io.write_csv(cleaned(table), output, IDIOMATIC_COLUMNS)
