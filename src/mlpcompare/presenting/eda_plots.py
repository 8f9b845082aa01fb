"""Figures of one dataset (rule ``eda``): ``arrays`` from split.npz, ``info`` its split.json.
Like every figure, they only draw (:mod:`mlpcompare.presenting.plot_style`)."""

from __future__ import annotations

import numpy as np

from mlpcompare.presenting.plot_style import plt, save

SPLIT_COLOURS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}


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
