"""Pieces every aggregate table shares: groups in first-seen order (frameworks in run order),
medians and quartiles, the ``status`` column, the inference medians, the roofline job's ceiling
per row, and cells as the files hold them (:func:`cleaned`).

The table functions are pure: they take loaded runs (:mod:`mlpcompare.aggregating.runs`) and
return a DataFrame with NaN (or ``<NA>``) where a figure is undefined; :func:`cleaned` turns it
into what the files hold (six significant digits, blanks).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlpcompare.aggregating.runs import INFERENCE_FIGURES
from mlpcompare.measuring import roofline


def grouped(frame: pd.DataFrame, keys: list[str]):
    """``frame`` grouped by ``keys``, groups in first-seen order."""
    return frame.groupby(keys, sort=False)


def spread(values) -> pd.DataFrame:
    """Median, first and third quartile (linear interpolation) of a grouped column."""
    return pd.DataFrame(
        {"median": values.median(), "q1": values.quantile(0.25), "q3": values.quantile(0.75)}
    )


def status(n_seeds: pd.Series, n_ok: pd.Series) -> pd.Series:
    """ "ok", or how many seeds diverged, e.g. "diverged (1 of 3 seeds)"."""
    bad = n_seeds - n_ok
    text = "diverged (" + bad.astype(str) + " of " + n_seeds.astype(str) + " seeds)"
    return text.where(bad > 0, "ok")


def inference_medians(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys``, API and batch size: medians over the non-diverged seeds of p50, p90 and
    samples/s, and the quartiles of samples/s (the seeds' spread); ``frame``:
    :func:`inference_frame`; ``n_ok``: the seeds they are taken over."""
    by_api = grouped(frame, [*keys, "api", "batch_size"])
    medians = by_api.agg(
        n_ok=("p50_ms", "size"), **{name: (name, "median") for name in INFERENCE_FIGURES}
    )
    quartiles = spread(by_api["samples_per_s"])[["q1", "q3"]].add_prefix("samples_per_s_")
    return medians.join(quartiles).reset_index()


def ceilings(keys: pd.DataFrame, roofline_data: dict) -> pd.Series:
    """The roofline job's ceiling (samples/s) at each row's ``dataset``, ``arch``,
    ``batch_size`` and ``device`` (:func:`mlpcompare.measuring.roofline.job_ceiling`: NaN where
    none was measured, and for a CUDA row)."""
    values = [
        roofline.job_ceiling(roofline_data, dataset, arch, batch, device)
        for dataset, arch, batch, device in keys[
            ["dataset", "arch", "batch_size", "device"]
        ].itertuples(index=False)
    ]
    return pd.Series(values, index=keys.index, dtype="float64")


def _clean(value):
    """Tables hold numbers or blanks: NaN, None and <NA> become an empty cell."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return float(f"{value:.6g}")  # six significant digits: what the measurements support
    if isinstance(value, np.integer):
        return int(value)
    return value


def cleaned(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as its file holds it: floats to six significant digits, blanks for NaN."""
    return table.astype(object).map(_clean)
