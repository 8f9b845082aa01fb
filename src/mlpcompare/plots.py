"""Figures. Functions here only draw: they take numbers already computed (or read the result
files that hold them) and write a PNG. What they derive is what a figure shows and no table
does: a mean line and its band over seeds, a row-normalised confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import csv  # noqa: E402

import matplotlib.lines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from mlpcompare.io import atomic_path, read_json  # noqa: E402

FRAMEWORK_COLOURS = {"numpy": "#4C72B0", "torch": "#DD8452", "keras": "#55A868"}
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


def sample_grid(x: np.ndarray, y: np.ndarray, classes: list[str], image_shape, path: str,
                per_class: int = 8) -> None:  # fmt: skip
    """``per_class`` training examples of every class, one row per class (images or 2-D points)."""
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


def class_balance(class_counts: dict[str, list[int]], classes: list[str], path: str) -> None:
    """Class share per split, grouped bars."""
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


def pixel_stats(x: np.ndarray, image_shape, path: str) -> None:
    """Histogram of input values and, for images, the mean image."""
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


# --- Comparison figures of one dataset x architecture -------------------------------------------
# A *run* is one (framework, seed) as :func:`read_runs` returns it: its key, its ``train`` record
# (train.json) and the other files a figure needs. Diverged seeds are left out of every line and
# bar, as the aggregate tables leave them out, and the legend says how many there were.

API_STYLES = ("-", "--", ":", "-.")  # line style per inference API of one framework


def read_runs(keys: list[dict], **files: list[str]) -> list[dict]:
    """Each run key (framework, seed, ...) with its files read: ``.json`` as a dict, ``.csv`` as
    a list of row dicts. Every list of paths in ``files`` is in the order of ``keys``."""
    runs = [dict(key) for key in keys]
    for name, paths in files.items():
        for run, path in zip(runs, paths, strict=True):
            run[name] = read_json(path) if str(path).endswith(".json") else read_csv(path)
    return runs


def read_csv(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


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
    return FRAMEWORK_COLOURS.get(framework, "#8172B3")


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


def learning_curves(runs: list[dict], path: str) -> None:
    """Loss and accuracy per epoch, training and validation: each framework's mean over seeds
    with a min-max band. Runs need ``train`` and ``history`` (history.csv rows)."""
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


def time_to_accuracy(runs: list[dict], path: str) -> None:
    """Validation accuracy against cumulative training time, one thin line per seed, with the
    target accuracy of ``train.json``. Runs need ``train`` and ``history``."""
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


def confusion_matrices(runs: list[dict], path: str) -> None:
    """Row-normalised confusion matrices side by side, counts summed over a framework's seeds.
    Runs need ``train`` and ``confusion`` (confusion.csv rows)."""
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


def per_class_f1(runs: list[dict], path: str) -> None:
    """Test F1 per class: grouped bars, mean over seeds with min-max whiskers.
    Runs need ``train`` and ``metrics`` (metrics.json)."""
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


def _value(row: dict, column: str) -> float:
    """A number from a table row; a blank cell (diverged, not measured) is NaN."""
    return float(row[column]) if row.get(column, "") != "" else np.nan


def _diverged_mark(ax: plt.Axes, x: float) -> None:
    ax.annotate(
        "diverged",
        (x, 0),
        xycoords=("data", "axes fraction"),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        color="#A33",
    )


def _median_bar(
    ax: plt.Axes, x: float, row: dict, stem: str, colour_: str, width: float = 0.6, **style
) -> float:
    """A bar at the median ``{stem}_median`` with a whisker from Q1 to Q3; returns the median."""
    median = _value(row, f"{stem}_median")
    whisker = [[median - _value(row, f"{stem}_q1")], [_value(row, f"{stem}_q3") - median]]
    ax.bar(x, median, width, color=colour_, yerr=whisker, capsize=4, **style)
    return median


def _first_label(ax: plt.Axes, label: str) -> str | None:
    """``label`` unless ``ax`` already has a legend entry of that name (one entry per kind)."""
    return None if label in ax.get_legend_handles_labels()[1] else label


def training_performance(
    rows: list[dict],
    ceilings: dict[str, float | None],
    path: str,
    idiomatic: dict[str, dict] | None = None,
) -> None:
    """Training time and steady-state throughput per framework, median bars with IQR whiskers
    (performance.csv rows), and each framework's roofline ceiling in samples/s (``ceilings``).

    ``idiomatic``: framework -> its idiomatic row of throughput.csv, drawn as a hatched bar
    beside the tuned one in the throughput panel (training time is the tuned trainers' only).
    """
    idiomatic = idiomatic or {}
    fig, (ax_time, ax_rate) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    rate_span = []  # every throughput drawn, so the log axis shows bars and ceilings alike
    for i, row in enumerate(rows):
        fw = row["framework"]
        # With an idiomatic bar, the tuned bar moves left to make room for it on the right.
        shift, width = (0.2, 0.4) if fw in idiomatic else (0.0, 0.6)
        if fw in idiomatic:
            other = idiomatic[fw]
            _median_bar(
                ax_rate, i + shift, other, "samples_per_s", "none", width, edgecolor=colour(fw),
                hatch="///", label=_first_label(ax_rate, "idiomatic variant (hatched)"),
            )  # fmt: skip
            rate_span += [_value(other, "samples_per_s_q1"), _value(other, "samples_per_s_q3")]
        if np.isnan(_value(row, "train_time_s_median")):
            _diverged_mark(ax_time, i)
            _diverged_mark(ax_rate, i - shift)
            continue
        _median_bar(ax_time, i, row, "train_time_s", colour(fw))
        first = _value(row, "first_epoch_s_median")
        label = _first_label(ax_time, "of which the first epoch")
        ax_time.bar(i, first, 0.6, color="none", edgecolor="k", hatch="///", lw=0, label=label)
        rate = _median_bar(ax_rate, i - shift, row, "train_samples_per_s", colour(fw), width)
        rate_span += [_value(row, "train_samples_per_s_q1"), _value(row, "train_samples_per_s_q3")]
        ceiling = ceilings.get(fw)
        if ceiling:
            label = _first_label(ax_rate, "GEMM roofline ceiling")
            ax_rate.hlines(ceiling, i - 0.4, i + 0.4, colors="k", linestyles="--", label=label)
            rate_span.append(ceiling)
            top = np.nanmax([rate, _value(row, "train_samples_per_s_q3")])  # above the whisker
            ax_rate.annotate(
                f"{rate / ceiling:.1%} of ceiling",
                (i - shift, top),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
    for ax in (ax_time, ax_rate):
        ax.set_xticks(np.arange(len(rows)), [row["framework"] for row in rows])
        ax.set_xlim(-0.6, len(rows) - 0.4)
    ax_time.set(ylabel="seconds", title="Training time (all epochs)")
    ax_time.set_ylim(top=ax_time.get_ylim()[1] * 1.15)  # room for the legend
    ax_rate.set(yscale="log", ylabel="samples/s (log)", title="Steady-state training throughput")
    span = [v for v in rate_span if np.isfinite(v) and v > 0]
    if span:
        ax_rate.set_ylim(min(span) / 2, max(span) * 5)
    for ax in (ax_time, ax_rate):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Median over seeds, whiskers = interquartile range")
    save(fig, path)


def inference_latency(rows: list[dict], path: str) -> None:
    """Inference p50 latency (whisker to p90) and throughput against batch size, log-log, one
    line per framework and API (inference.csv rows of a dataset x architecture)."""
    fig, (ax_lat, ax_rate) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    lines: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        lines.setdefault((row["framework"], row["api"]), []).append(row)
    apis: dict[str, list[str]] = {}
    for (fw, api), points in lines.items():
        style = API_STYLES[len(apis.setdefault(fw, [])) % len(API_STYLES)]
        apis[fw].append(api)
        points = sorted(points, key=lambda r: int(r["batch_size"]))
        batch = [int(r["batch_size"]) for r in points]
        p50 = np.array([float(r["p50_ms"]) for r in points])
        p90 = np.array([float(r["p90_ms"]) for r in points])
        kw = {"color": colour(fw), "ls": style, "marker": "o", "ms": 3, "label": f"{fw} · {api}"}
        ax_lat.errorbar(batch, p50, yerr=[np.zeros_like(p50), p90 - p50], capsize=2, **kw)
        kw.pop("label")  # one legend entry per line, from the latency panel
        ax_rate.plot(batch, [float(r["samples_per_s"]) for r in points], **kw)
    if not lines:
        for ax in (ax_lat, ax_rate):
            _no_data(ax, "no measurements: every run diverged")
    else:
        for ax in (ax_lat, ax_rate):
            ax.set(xscale="log", yscale="log", xlabel="batch size (log)")
            _plain_ticks(ax.xaxis, minor=False)
            _plain_ticks(ax.yaxis, minor=False)
        fig.legend(loc="outside lower center", ncols=min(4, len(lines)), fontsize=8)
    ax_lat.set(ylabel="ms per call (log)", title="Latency: p50, whisker to p90")
    ax_rate.set(ylabel="samples/s at p50 (log)", title="Inference throughput")
    save(fig, path)


def roofline_ceilings(roofline: dict, dataset: str, arch: str, runs: list[dict]) -> dict:
    """Framework -> ceiling samples/s of ``roofline.json`` at the batch size it trained with
    (overrides may give frameworks different ones); None where none was measured."""
    found = {}
    for fw, group in by_framework(runs).items():
        batch = group[0]["train"]["training"]["batch_size"]
        found[fw] = next(
            (
                e["ceiling_samples_per_s"]
                for e in roofline["entries"]
                if (e["dataset"], e["arch"], e["batch_size"]) == (dataset, arch, batch)
            ),
            None,
        )
    return found


def comparison(*, keys: list[dict], inputs, outputs) -> None:
    """Every figure of one dataset x architecture (rule ``plots``), from its files.

    ``keys``: the runs (dataset, arch, framework, seed) in the order of the per-run input lists
    ``inputs.train``, ``history``, ``confusion``, ``metrics``; ``inputs`` also has the
    architecture's ``performance`` and ``inference`` tables, the ``roofline`` and
    ``throughput`` (results/throughput.csv: the idiomatic variant's bars). ``outputs``
    has one path per figure.
    """
    runs = read_runs(
        keys,
        train=inputs.train,
        history=inputs.history,
        confusion=inputs.confusion,
        metrics=inputs.metrics,
    )
    learning_curves(runs, outputs.learning_curves)
    time_to_accuracy(runs, outputs.time_to_accuracy)
    confusion_matrices(runs, outputs.confusion)
    per_class_f1(runs, outputs.per_class_f1)
    dataset, arch = keys[0]["dataset"], keys[0]["arch"]
    ceilings = roofline_ceilings(read_json(inputs.roofline), dataset, arch, runs)
    idiomatic = {
        row["framework"]: row
        for row in read_csv(inputs.throughput)
        if (row["dataset"], row["arch"], row["variant"]) == (dataset, arch, "idiomatic")
    }
    training_performance(read_csv(inputs.performance), ceilings, outputs.training, idiomatic)
    inference_latency(read_csv(inputs.inference), outputs.inference)
