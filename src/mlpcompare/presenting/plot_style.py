"""The look every figure shares, and the helpers the figures draw with: matplotlib set up for
files only, one colour per framework (registry), runs grouped by framework with diverged seeds
named in the legend, a band over seeds, plain-number ticks on log axes.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.lines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from mlpcompare import frameworks  # noqa: E402
from mlpcompare.io import atomic_path  # noqa: E402

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


def legend_handles(groups: dict[str, list[dict]]) -> list:
    return [
        matplotlib.lines.Line2D([], [], color=colour(fw), lw=2, label=framework_label(fw, group))
        for fw, group in groups.items()
    ]


def _plain(value: float, _=None) -> str:
    """A tick label as a plain number: 0.3, 2, 100, 10,000 (not 1e+04)."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:g}"


def plain_ticks(axis, minor: bool = True) -> None:
    """Tick labels of a log axis as plain numbers rather than powers of ten; minor ticks
    labelled at 2, 3 and 5 times a power of ten, or not at all."""
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
    axis.set_minor_formatter(
        matplotlib.ticker.FuncFormatter(
            lambda value, _: _plain(value) if minor and f"{value:e}"[0] in "235" else ""
        )
    )


def no_data(ax: plt.Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#A33")
