"""Figures of one dataset x architecture (rule ``plots``): ``data`` is a
:class:`mlpcompare.presenting.figures.ArchData`. Functions here only draw: they take numbers
already computed and write a PNG. What they derive is what a figure shows and no table does: a
mean line and its band over seeds, a row-normalised confusion matrix.

A *run* is one (framework, seed) record with what its files hold: ``train`` (train.json),
``history``, ``confusion`` (CSV rows) and ``metrics`` (metrics.json). Diverged seeds are left out
of every line and bar, as the aggregate tables leave them out, and the legend says how many there
were. Speed figures are in :mod:`mlpcompare.presenting.perf_plots`.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np

from mlpcompare.presenting.plot_style import (
    by_framework,
    colour,
    framework_label,
    legend_handles,
    no_data,
    ok,
    plain_ticks,
    plt,
    save,
    seed_band,
)


def learning_curves(data, path: str) -> None:
    """Loss and accuracy per epoch, training and validation: each framework's mean over seeds
    with a min-max band. Runs need ``train`` and ``history`` (history.csv rows)."""
    runs = data.runs
    groups = by_framework(runs)
    fig, axes = plt.subplots(
        2, 2, figsize=(10, 6.6), sharex=True, sharey="row", layout="constrained"
    )
    for fw, group in groups.items():
        histories = [run["history"] for run in group if ok(run)]
        for col, split in enumerate(("train", "val")):
            for row, metric in enumerate(("loss", "accuracy")):
                band = seed_band(histories, f"{split}_{metric}")
                if band is None:
                    continue
                epochs, mean, low, high = band
                axes[row, col].plot(epochs, mean, color=colour(fw), lw=1.6)
                axes[row, col].fill_between(epochs, low, high, color=colour(fw), alpha=0.2, lw=0)
    for col, split in enumerate(("training", "validation")):
        axes[0, col].set_title(f"{split} loss")
        axes[1, col].set_title(f"{split} accuracy")
        axes[1, col].set_xlabel("epoch")
    if not any(map(ok, runs)):
        for ax in axes.ravel():
            no_data(ax, "every run diverged")
    axes[0, 0].set(yscale="log", ylabel="cross-entropy (log)")
    plain_ticks(axes[0, 0].yaxis)
    axes[1, 0].set_ylabel("accuracy")
    fig.suptitle("Learning curves: mean over seeds, band = min to max")
    fig.legend(handles=legend_handles(groups), loc="outside lower center", ncols=len(groups))
    save(fig, path)


def time_to_accuracy(data, path: str) -> None:
    """Validation accuracy against cumulative training time, one thin line per seed, with the
    target accuracy of ``train.json``. Runs need ``train`` and ``history``."""
    runs = data.runs
    groups = by_framework(runs)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    targets = set()
    for fw, group in groups.items():
        for run in filter(ok, group):
            seconds = np.cumsum([float(row["epoch_seconds"]) for row in run["history"]])
            accuracy = [float(row["val_accuracy"]) for row in run["history"]]
            ax.plot(seconds, accuracy, color=colour(fw), lw=1, marker=".", ms=3, alpha=0.8)
            targets.add(run["train"]["target_val_accuracy"])
    for target in sorted(targets):
        ax.axhline(target, color="k", lw=0.8, ls="--")
        ax.annotate(
            f"target {target:g}",
            (0, target),
            xycoords=("axes fraction", "data"),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
        )
    if not targets:
        no_data(ax, "every run diverged")
    else:
        ax.set_xscale("log")
        plain_ticks(ax.xaxis, minor=False)
    ax.set(
        xlabel="cumulative training time (s, log; validation excluded)",
        ylabel="validation accuracy",
        title="Time to accuracy, one line per seed",
    )
    ax.legend(handles=legend_handles(groups), fontsize=8, loc="lower right")
    save(fig, path)


def confusion_counts(rows: list[dict]) -> tuple[list[str], np.ndarray]:
    """(class names, counts (k, k)) from confusion.csv rows: row = true, column = predicted."""
    classes = [row["true"] for row in rows]
    return classes, np.array([[int(row[c]) for c in classes] for row in rows])


def confusion_matrices(data, path: str) -> None:
    """Row-normalised confusion matrices side by side, counts summed over a framework's seeds.
    Runs need ``train`` and ``confusion`` (confusion.csv rows)."""
    runs = data.runs
    groups = by_framework(runs)
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(3.7 * n + 0.8, 3.9), squeeze=False)
    image = None
    for ax, (fw, group) in zip(axes[0], groups.items(), strict=True):
        good = [run for run in group if ok(run)]
        ax.set_title(framework_label(fw, group) if good else fw, fontsize=9)
        if not good:
            ax.set_axis_off()
            no_data(ax, "every seed diverged:\nno predictions")
            continue
        classes, counts = confusion_counts(good[0]["confusion"])
        counts = sum(confusion_counts(run["confusion"])[1] for run in good[1:]) + counts
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        ax.grid(False)
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, classes, rotation=90 if max(map(len, classes)) > 2 else 0, fontsize=7)
        ax.set_yticks(ticks, classes, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true")
        if len(classes) <= 12:
            for (i, j), value in np.ndenumerate(share):
                if value >= 0.005:
                    ax.text(
                        j,
                        i,
                        f"{100 * value:.0f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if value > 0.5 else "black",
                    )
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), fraction=0.02, label="share of the true class")
    fig.suptitle("Confusion matrices (test set, % of each true class, seeds summed)")
    save(fig, path)


def per_class_f1(data, path: str) -> None:
    """Test F1 per class: grouped bars, mean over seeds with min-max whiskers.
    Runs need ``train`` and ``metrics`` (metrics.json)."""
    runs = data.runs
    groups = by_framework(runs)
    classes = list(runs[0]["metrics"]["per_class"])
    pos = np.arange(len(classes))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(max(6.5, 0.75 * len(classes) + 2), 3.8), layout="constrained")
    for i, (fw, group) in enumerate(groups.items()):
        f1 = np.array(
            [[run["metrics"]["per_class"][c]["f1"] for c in classes] for run in group if ok(run)]
        )
        x = pos + (i - (len(groups) - 1) / 2) * width
        if not len(f1):
            ax.bar(
                x, np.zeros(len(classes)), width, color=colour(fw), label=framework_label(fw, group)
            )
            continue
        mean = f1.mean(axis=0)
        whiskers = np.vstack([mean - f1.min(axis=0), f1.max(axis=0) - mean])
        ax.bar(
            x,
            mean,
            width,
            yerr=whiskers,
            capsize=2,
            color=colour(fw),
            error_kw={"lw": 0.8},
            label=framework_label(fw, group),
        )
    if not any(map(ok, runs)):
        no_data(ax, "every run diverged")
    low = min((p.get_height() for p in ax.patches if p.get_height() > 0), default=0.0)
    ax.set_ylim(max(0.0, low - 0.1), 1.0)
    ax.set_xticks(pos, classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    ax.set(xlabel="class", ylabel="F1 (test)")
    fig.suptitle("Per-class F1: mean over seeds, whiskers min to max")
    fig.legend(loc="outside lower center", ncols=len(groups), fontsize=8)
    save(fig, path)


def quality_intervals(data, path: str) -> None:
    """Test accuracy and macro F1 per framework: the mean over seeds with its 95 % t-interval,
    as quality.csv gives them (``data.quality``). A framework whose seeds all diverged, or with
    one seed (no interval), is drawn without a bar."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    rows = data.quality
    names = [row["framework"] for row in rows]
    for ax, metric, title in zip(axes, ("accuracy", "f1_macro"), ("test accuracy", "macro F1"),
                                 strict=True):  # fmt: skip
        for i, row in enumerate(rows):
            if row[f"{metric}_mean"] == "":
                ax.annotate("diverged", (0.5, i), xycoords=("axes fraction", "data"),
                            ha="center", va="center", color="#A33")  # fmt: skip
                continue
            mean = float(row[f"{metric}_mean"])
            low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
            error = None if low == "" else [[mean - float(low)], [float(high) - mean]]
            ax.errorbar(mean, i, xerr=error, fmt="o", color=colour(row["framework"]), capsize=4)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set(title=f"{title}: mean, 95 % interval", xlabel=title)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.2%}"))
    if not rows:
        no_data(axes[0], "no quality table")
    fig.suptitle("Test-set quality over seeds (Student-t interval of the mean)")
    save(fig, path)
