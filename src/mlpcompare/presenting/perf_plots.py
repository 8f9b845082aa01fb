"""Figures of speed: training time and throughput against the roofline, inference latency.

Like :mod:`mlpcompare.presenting.plots`, with the style and helpers of
:mod:`mlpcompare.presenting.plot_style`, these only draw. ``data`` is
a :class:`mlpcompare.presenting.figures.ArchData`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from mlpcompare.presenting.plot_style import API_STYLES, colour, no_data, plain_ticks, save


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


def training_performance(data, path: str) -> None:
    """Training time and steady-state throughput per framework, median bars with IQR whiskers
    (``data.performance``: performance.csv rows), and the shared ceiling in samples/s at each
    framework's batch size and device (``data.ceilings``: the fastest any framework or the BLAS
    ran the step's products, throughput.csv's ``shared_ceiling_samples_per_s``), with each
    framework's fraction of it.

    ``data.idiomatic``: framework -> its idiomatic row of throughput.csv, drawn as a hatched bar
    beside the tuned one in the throughput panel (training time is the tuned trainers' only).
    """
    rows, ceilings, idiomatic = data.performance, data.ceilings, data.idiomatic
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
            label = _first_label(ax_rate, "shared ceiling (fastest products on this device)")
            ax_rate.hlines(ceiling, i - 0.4, i + 0.4, colors="k", linestyles="--", label=label)
            rate_span.append(ceiling)
            top = np.nanmax([rate, _value(row, "train_samples_per_s_q3")])  # above the whisker
            ax_rate.annotate(
                f"{rate / ceiling:.1%} of shared ceiling",
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


def inference_latency(data, path: str) -> None:
    """Inference p50 latency (whisker to p90) and throughput against batch size, log-log, one
    line per framework and API (``data.inference``: inference.csv rows)."""
    rows = data.inference
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
            no_data(ax, "no measurements: every run diverged")
    else:
        for ax in (ax_lat, ax_rate):
            ax.set(xscale="log", yscale="log", xlabel="batch size (log)")
            plain_ticks(ax.xaxis, minor=False)
            plain_ticks(ax.yaxis, minor=False)
        fig.legend(loc="outside lower center", ncols=min(4, len(lines)), fontsize=8)
    ax_lat.set(ylabel="ms per call (log)", title="Latency: p50, whisker to p90")
    ax_rate.set(ylabel="samples/s at p50 (log)", title="Inference throughput")
    save(fig, path)
