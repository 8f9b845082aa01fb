"""A study's figures: each measure against the axis, one line per framework with its 95 % seed
band, and the learning curves of every variant. Like :mod:`mlpcompare.presenting.plots`, these only draw
numbers the study's tables hold (and, for the curves, the runs' histories)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlpcompare import frameworks, io
from mlpcompare.presenting.plot_style import colour, no_data, plain_ticks, plt, save
from mlpcompare.studies import MEASURES, STUDY_FIGURES
from mlpcompare.studies.tables import run_keys

FIGURES = STUDY_FIGURES


def positions(axis: dict) -> tuple[np.ndarray, bool]:
    """x positions of an axis' levels and whether they are its numbers on a log scale (a
    numeric axis spanning a factor of 10 or more), else evenly spaced categories."""
    values = axis["numeric"]
    if values and min(values) > 0 and max(values) / min(values) >= 10:
        return np.asarray(values, dtype=float), True
    if values:
        return np.asarray(values, dtype=float), False
    return np.arange(len(axis["labels"]), dtype=float), False


def measure_figure(summary: pd.DataFrame, study: dict, measure: str, path: str) -> None:
    """``measure`` against the first axis; a panel per level of the second axis (if any)."""
    axis, *rest = study["axes"]
    panels = rest[0]["labels"] if rest else [None]
    x, log_scale = positions(axis)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels) + 0.8, 3.4), squeeze=False, sharey=True
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        rows = summary if panel is None else summary[summary[rest[0]["name"]].astype(str) == panel]
        if not np.isfinite(rows[f"{measure}_mean"].to_numpy(float)).any():
            # e.g. no run reached the time-to-accuracy target: say so instead of empty axes
            no_data(ax, "no run reached the target" if "target" in measure else "no data")
        for fw, group in rows.groupby("framework", sort=False):
            by_level = group.set_index(group[axis["name"]].astype(str))
            at = [lvl for lvl in axis["labels"] if lvl in by_level.index]
            xs = x[[axis["labels"].index(lvl) for lvl in at]]
            mean = by_level.loc[at, f"{measure}_mean"].to_numpy(float)
            low = by_level.loc[at, f"{measure}_low"].to_numpy(float)
            high = by_level.loc[at, f"{measure}_high"].to_numpy(float)
            ax.plot(xs, mean, marker="o", color=colour(fw), label=frameworks.get(fw).label)
            if np.isfinite(low).any():
                ax.fill_between(xs, low, high, color=colour(fw), alpha=0.18, linewidth=0)
        if log_scale:
            ax.set_xscale("log")
            plain_ticks(ax.xaxis, minor=False)
        if measure == "samples_per_s":  # frameworks differ by orders of magnitude at small sizes
            ax.set_yscale("log")
        ax.set_xticks(x, axis["labels"], rotation=30 if not axis["numeric"] else 0)
        title = f"{rest[0]['name']} {panel}" if panel is not None else None
        ax.set(xlabel=axis["name"], title=title)
    axes[0][0].set_ylabel(MEASURES[measure])
    axes[0][-1].legend(fontsize=8)
    save(fig, path)


def learning_curves(study: dict, seeds, histories: list, path: str) -> None:
    """Validation accuracy per epoch, mean over seeds: a panel per framework, a line per
    variant (darker = later level). ``histories``: every run's history.csv, in
    :func:`~mlpcompare.studies.tables.run_keys` order."""
    history = {
        (variant["name"], fw, seed): file
        for (variant, fw, seed), file in zip(run_keys(study, seeds), histories, strict=True)
    }
    names = list(dict.fromkeys(fw for v in study["variants"] for fw in v["frameworks"]))
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False, sharey=True
    )
    shades = plt.get_cmap("viridis")(np.linspace(0.05, 0.9, len(study["variants"])))
    for ax, fw in zip(axes[0], names, strict=True):
        for shade, variant in zip(shades, study["variants"], strict=True):
            if fw not in variant["frameworks"]:
                continue
            curves = [
                [float(row["val_accuracy"]) * 100
                 for row in io.read_csv(history[variant["name"], fw, seed])]
                for seed in seeds
            ]  # fmt: skip
            longest = max(len(c) for c in curves)
            padded = np.full((len(curves), longest), math.nan)
            for i, curve in enumerate(curves):
                padded[i, : len(curve)] = curve
            with np.errstate(all="ignore"):
                mean = np.nanmean(padded, axis=0)
            ax.plot(np.arange(1, longest + 1), mean, color=shade, label=variant["name"])
        ax.set(title=frameworks.get(fw).label, xlabel="epoch")
    axes[0][0].set_ylabel("validation accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    save(fig, path)


def intensity_figure(summary: pd.DataFrame, path: str) -> None:
    """Training samples/s and the fraction of the in-run ceiling against the arithmetic
    intensity of the step's matrix products: one point per variant and framework (not joined:
    neighbouring intensities can belong to different widths), so the overhead-bound (left) and
    compute-bound (right) regimes show."""
    measured = np.isfinite(summary["roofline_fraction_mean"].to_numpy(float)).any()
    fig, axes = plt.subplots(1, 1 + measured, figsize=(4.8 + 4.7 * measured, 3.4), squeeze=False)
    speed, share = axes[0][0], axes[0][-1] if measured else None
    for fw, group in summary.groupby("framework", sort=False):
        x = group["arithmetic_intensity"].to_numpy(float)
        style = {"marker": "o", "linestyle": "none", "alpha": 0.8, "color": colour(fw),
                 "label": frameworks.get(fw).label}  # fmt: skip
        speed.plot(x, group["samples_per_s_mean"].to_numpy(float), **style)
        if share is not None:
            share.plot(x, group["roofline_fraction_mean"].to_numpy(float), **style)
    intensity = summary["arithmetic_intensity"].to_numpy(float)
    low, high = np.floor(np.log10(intensity.min())), np.ceil(np.log10(intensity.max()))
    ticks = [m * 10**e for e in range(int(low), int(high) + 1) for m in (1, 2, 5)]
    for ax in axes[0]:
        ax.set_xscale("log")
        # 10, 20, 50, 100: a study spans a decade or two, too few powers of ten to read by
        ax.set_xticks([t for t in ticks if intensity.min() / 1.5 <= t <= intensity.max() * 1.5])
        plain_ticks(ax.xaxis, minor=False)
        ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    speed.set(yscale="log", ylabel="training samples/s")
    if share is not None:  # only with the in-run ceiling (bench.in_run_ceiling)
        share.axhline(1.0, color="k", linestyle="--", linewidth=0.8)
        share.set(ylabel="fraction of the in-run ceiling")
    axes[0][-1].legend(fontsize=8)
    save(fig, path)


def draw(study: dict, seeds, summary_path: str, histories: list, outputs: dict) -> None:
    """Every figure of :data:`FIGURES` (``outputs``: name -> path) from the study's summary.csv
    and its runs' ``histories`` (see :func:`learning_curves`)."""
    summary = pd.read_csv(summary_path, dtype={a["name"]: str for a in study["axes"]})
    for measure in MEASURES:
        measure_figure(summary, study, measure, outputs[measure])
    learning_curves(study, seeds, histories, outputs["learning_curves"])
    intensity_figure(summary, outputs["intensity"])
