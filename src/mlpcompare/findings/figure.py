"""One figure per collected study: test accuracy of each level, a line per framework with its
95 % seed band, drawn from the committed summary.csv alone. SVG with a fixed hash salt and no
date, so the same tables and libraries give the same bytes (tests/test_findings.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpcompare import frameworks
from mlpcompare.io import atomic_path
from mlpcompare.presenting.plot_style import colour, plt

# What makes matplotlib's SVG the same bytes every time: element ids from a fixed salt, text as
# text (not glyph paths, which depend on the fonts installed), no creation date.
DETERMINISTIC = {"svg.hashsalt": "mlpcompare-findings", "svg.fonttype": "none"}
METADATA = {"Date": None, "Creator": "mlpcompare"}


def accuracy_figure(summary: pd.DataFrame, title: str, path) -> None:
    """Test accuracy (%) against the study's variants, in the study's order."""
    levels = list(dict.fromkeys(summary["variant"]))
    with plt.rc_context(DETERMINISTIC):
        fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(levels) + 2.5), 3.2))
        for fw, group in summary.groupby("framework", sort=False):
            by_level = group.set_index("variant")
            at = [lvl for lvl in levels if lvl in by_level.index]
            xs = np.array([levels.index(lvl) for lvl in at], dtype=float)
            mean = by_level.loc[at, "test_accuracy_mean"].to_numpy(float)
            low = by_level.loc[at, "test_accuracy_low"].to_numpy(float)
            high = by_level.loc[at, "test_accuracy_high"].to_numpy(float)
            ax.plot(xs, mean, marker="o", color=colour(fw), label=frameworks.get(fw).label)
            if np.isfinite(low).any():
                ax.fill_between(xs, low, high, color=colour(fw), alpha=0.18, linewidth=0)
        ax.set_xticks(range(len(levels)), levels, rotation=30, ha="right")
        ax.set(ylabel="test accuracy (%)", title=title)
        ax.legend(fontsize=8)
        with atomic_path(path, suffix=".svg") as tmp:
            fig.savefig(tmp, format="svg", bbox_inches="tight", metadata=METADATA)
        plt.close(fig)
