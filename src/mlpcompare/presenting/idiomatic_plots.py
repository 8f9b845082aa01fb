"""Learning curves of the idiomatic runs beside the tuned ones, one column per framework.

The tuned run is a solid line, the idiomatic run of the same framework a dashed one in the same
colour: each the mean over seeds with a min-max band
(:func:`mlpcompare.presenting.plot_style.seed_band`). The top row is validation accuracy (what
early stopping watches by default), the bottom row training loss; a circle marks each variant's
median kept epoch. Diverged seeds are left out, as in every figure over seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from mlpcompare import io
from mlpcompare.layout import Layout
from mlpcompare.presenting.plot_style import by_framework, colour, ok, save, seed_band

# How each variant is drawn: line style, band opacity.
STYLES = {"tuned": ("-", 0.18), "idiomatic": ("--", 0.08)}
ROWS = (("val_accuracy", "validation accuracy"), ("train_loss", "training loss"))


def read_runs(runs: Iterable[Mapping], layout: Layout) -> dict[str, list[dict]]:
    """variant -> each run of ``runs`` with its train.json and history.csv (rows of numbers),
    read from the tuned and the idiomatic run folders."""
    files = {"tuned": layout.run_file, "idiomatic": layout.idiomatic_run_file}
    return {
        variant: [_loaded(run, run_file) for run in runs] for variant, run_file in files.items()
    }


def _loaded(run: Mapping, run_file) -> dict:
    history = [
        {k: float(v) if v != "" else np.nan for k, v in row.items()}
        for row in io.read_csv(run_file(run, "history.csv"))
    ]
    return {**run, "train": io.read_json(run_file(run, "train.json")), "history": history}


def learning_curves(variants: Mapping[str, list[dict]], path: str) -> None:
    """The figure, from ``variants``: ``tuned`` and ``idiomatic`` loaded runs of one dataset x
    architecture (:func:`read_runs`), each with ``framework``, ``train`` and ``history``."""
    groups = {variant: by_framework(runs) for variant, runs in variants.items()}
    names = list(groups["tuned"] | groups["idiomatic"])
    fig, axes = plt.subplots(
        len(ROWS), len(names), figsize=(3.2 * len(names) + 1, 5.6), sharex=True, sharey="row",
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for col, fw in enumerate(names):
        axes[0, col].set_title(fw)
        for variant, by_fw in groups.items():
            _draw(axes[:, col], by_fw.get(fw, []), variant, colour(fw))
    for row, (_, label) in enumerate(ROWS):
        axes[row, 0].set_ylabel(label)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    axes[1, 0].set_yscale("log")
    handles = [Line2D([], [], color="#444", ls=style, label=variant)
               for variant, (style, _) in STYLES.items()]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle("Tuned (solid) and idiomatic (dashed) runs: mean over seeds, band = min to max")
    save(fig, path)


def arch_learning_curves(data, path: str) -> None:
    """The figure registry's entry (``data``: a :class:`mlpcompare.presenting.figures.ArchData`); a note
    instead of curves when the idiomatic variant is off."""
    if not data.idiomatic_runs:
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "The idiomatic variant is off (bench.idiomatic: false).",
                ha="center", va="center")  # fmt: skip
        save(fig, path)
        return
    learning_curves({"tuned": data.runs, "idiomatic": data.idiomatic_runs}, path)


def _draw(column, runs: list[dict], variant: str, line_colour: str) -> None:
    """One variant's curves in one framework's column, and its median kept epoch."""
    style, alpha = STYLES[variant]
    histories = [run["history"] for run in runs if ok(run)]
    for ax, (metric, _) in zip(column, ROWS, strict=True):
        band = seed_band(histories, metric)
        if band is None:
            continue
        epochs, mean, low, high = band
        ax.plot(epochs, mean, color=line_colour, ls=style, lw=1.5)
        ax.fill_between(epochs, low, high, color=line_colour, alpha=alpha, lw=0)
        kept = [run["train"]["best_epoch"] for run in runs if ok(run)]
        if kept:
            epoch = int(np.median(kept))
            ax.plot(epoch, mean[epoch - 1], "o", color=line_colour, mfc="white", ms=5)
