"""Figures. Functions here only draw: they take numbers already computed (or read the result
files that hold them) and write a PNG. What they derive is what a figure shows and no table
does: a mean line and its band over seeds, a row-normalised confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.lines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from mlpcompare import frameworks  # noqa: E402
from mlpcompare.io import atomic_path  # noqa: E402

SPLIT_COLOURS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
    }
)


def save(fig: plt.Figure, path: str) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


# --- Figures of one dataset (rule `eda`): ``arrays`` from split.npz, ``info`` its split.json ----


def sample_grid(arrays: dict, info: dict, path: str, per_class: int = 8) -> None:
    """``per_class`` training examples of every class, one row per class (images or 2-D points)."""
    x, y = arrays["x_train"], arrays["y_train"]
    classes, image_shape = info["classes"], info["image_shape"]
    k = len(classes)
    if image_shape is None or len(image_shape) != 2:
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for c in range(k):
            pts = x[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, label=classes[c])
        ax.set(title="Training points", xlabel="x1 (scaled)", ylabel="x2 (scaled)")
        ax.legend(title="class")
        save(fig, path)
        return
    fig, axes = plt.subplots(k, per_class, figsize=(per_class * 0.7, k * 0.7))
    for c in range(k):
        idx = np.flatnonzero(y == c)[:per_class]
        for j in range(per_class):
            ax = axes[c, j]
            ax.axis("off")
            if j < len(idx):
                ax.imshow(x[idx[j]].reshape(image_shape), cmap="gray_r", vmin=0, vmax=1)
        axes[c, 0].set_title(classes[c], fontsize=7, loc="left", pad=1)
    fig.suptitle("Training samples, one row per class")
    save(fig, path)


def class_balance(arrays: dict, info: dict, path: str) -> None:
    """Class share per split, grouped bars."""
    class_counts, classes = info["class_counts"], info["classes"]
    fig, ax = plt.subplots(figsize=(max(5, len(classes) * 0.6), 3.2))
    width = 0.8 / len(class_counts)
    pos = np.arange(len(classes))
    for i, (part, counts) in enumerate(class_counts.items()):
        share = np.asarray(counts) / max(1, sum(counts))
        ax.bar(pos + i * width, share, width, label=part, color=SPLIT_COLOURS.get(part))
    ax.set_xticks(pos + width * (len(class_counts) - 1) / 2, classes, rotation=45, ha="right")
    ax.axhline(1 / len(classes), color="k", lw=0.8, ls="--", label="uniform")
    ax.set(ylabel="share of split", title="Class balance")
    ax.legend(ncols=4, fontsize=8)
    save(fig, path)


def pixel_stats(arrays: dict, info: dict, path: str) -> None:
    """Histogram of input values and, for images, the mean image."""
    x, image_shape = arrays["x_train"], info["image_shape"]
    images = image_shape is not None and len(image_shape) == 2
    fig, axes = plt.subplots(1, 2 if images else 1, figsize=(8 if images else 4.5, 3.2))
    ax = axes[0] if images else axes
    ax.hist(x.ravel(), bins=50, color="#4C72B0", log=True)
    ax.set(title="Input values (train)", xlabel="scaled value", ylabel="count (log)")
    if images:
        im = axes[1].imshow(x.mean(axis=0).reshape(image_shape), cmap="viridis")
        axes[1].set_title("Mean training image")
        axes[1].axis("off")
        fig.colorbar(im, ax=axes[1], fraction=0.046)
    save(fig, path)


# --- Figures of one dataset x architecture (rule `plots`): ``data`` is a figures.ArchData -------
# A *run* is one (framework, seed) record with what its files hold: ``train`` (train.json),
# ``history``, ``confusion`` (CSV rows) and ``metrics`` (metrics.json). Diverged seeds are left out of every line and
# bar, as the aggregate tables leave them out, and the legend says how many there were.

API_STYLES = ("-", "--", ":", "-.")  # line style per inference API of one framework


def ok(run: dict) -> bool:
    return run["train"]["status"] == "ok"


def by_framework(runs: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by framework, frameworks in first-seen order."""
    grouped: dict[str, list[dict]] = {}
    for run in runs:
        grouped.setdefault(run["framework"], []).append(run)
    return grouped


def framework_label(framework: str, group: list[dict]) -> str:
    """``"torch"``, or ``"torch (diverged: 1 of 3 seeds)"`` when some seeds diverged."""
    bad = sum(not ok(run) for run in group)
    return framework if bad == 0 else f"{framework} (diverged: {bad} of {len(group)} seeds)"


def colour(framework: str) -> str:
    """The framework's colour in every figure (registry: ``colour``)."""
    return frameworks.get(framework).colour


def seed_band(histories: list[list[dict]], column: str) -> tuple[np.ndarray, ...] | None:
    """(epochs, mean, min, max) of ``column`` over seeds, epoch by epoch; None without seeds.

    Runs stopped early are shorter: each epoch summarises the seeds that reached it.
    """
    if not histories:
        return None
    length = max(len(h) for h in histories)
    values = np.full((len(histories), length), np.nan)
    for i, history in enumerate(histories):
        values[i, : len(history)] = [float(row[column]) for row in history]
    epochs = np.arange(1, length + 1)
    return epochs, np.nanmean(values, 0), np.nanmin(values, 0), np.nanmax(values, 0)


def _legend_handles(groups: dict[str, list[dict]]) -> list:
    return [
        matplotlib.lines.Line2D([], [], color=colour(fw), lw=2, label=framework_label(fw, group))
        for fw, group in groups.items()
    ]


def _plain(value: float, _=None) -> str:
    """A tick label as a plain number: 0.3, 2, 100, 10,000 (not 1e+04)."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:g}"


def _plain_ticks(axis, minor: bool = True) -> None:
    """Tick labels of a log axis as plain numbers rather than powers of ten; minor ticks
    labelled at 2, 3 and 5 times a power of ten, or not at all."""
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
    axis.set_minor_formatter(
        matplotlib.ticker.FuncFormatter(
            lambda value, _: _plain(value) if minor and f"{value:e}"[0] in "235" else ""
        )
    )


def _no_data(ax: plt.Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#A33")


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
            _no_data(ax, "every run diverged")
    axes[0, 0].set(yscale="log", ylabel="cross-entropy (log)")
    _plain_ticks(axes[0, 0].yaxis)
    axes[1, 0].set_ylabel("accuracy")
    fig.suptitle("Learning curves: mean over seeds, band = min to max")
    fig.legend(handles=_legend_handles(groups), loc="outside lower center", ncols=len(groups))
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
        _no_data(ax, "every run diverged")
    else:
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis, minor=False)
    ax.set(
        xlabel="cumulative training time (s, log; validation excluded)",
        ylabel="validation accuracy",
        title="Time to accuracy, one line per seed",
    )
    ax.legend(handles=_legend_handles(groups), fontsize=8, loc="lower right")
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
            _no_data(ax, "every seed diverged:\nno predictions")
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
        _no_data(ax, "every run diverged")
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
        _no_data(axes[0], "no quality table")
    fig.suptitle("Test-set quality over seeds (Student-t interval of the mean)")
    save(fig, path)
