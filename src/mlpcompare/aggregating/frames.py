"""Pieces every aggregate table shares: groups in first-seen order (frameworks in run order),
medians and quartiles, the ``status`` column, the inference medians, the shared ceiling per row
(:func:`shared_ceilings`), and cells as the files hold them (:func:`cleaned`).

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


# What set a shared ceiling: the roofline job's BLAS, a framework's products timed in its runs,
# or (where it beat every product timed) a framework's training itself.
BLAS_SOURCE = "BLAS (roofline job)"
CEILING_KEYS = ["dataset", "arch", "batch_size", "device"]


def shared_ceilings(rows: pd.DataFrame, roofline_data: dict) -> pd.DataFrame:
    """One yardstick per device: each row's shared ceiling and what set it.

    ``rows`` has ``dataset``, ``arch``, ``batch_size``, ``device``, ``framework``, ``rate`` (the
    row's steady samples/s), ``products`` (its framework's in-run ceiling at that batch size,
    NaN where none was timed) and ``trained_as`` (what its training is called, e.g. "keras
    training"). The shared ceiling of a dataset, architecture, batch size and device is the
    fastest of: the roofline job's BLAS ceiling (:func:`mlpcompare.measuring.roofline.
    job_ceiling`: CPU only), every framework's products there, and every row's training rate
    there. The training rates only count where some product rate was measured (without one
    there is no ceiling, NaN), and they make the ceiling a bound: a trainer that beat every
    product timing ran those products at least as fast as its whole step, so no row's rate is
    above its ceiling. Ties name the products. Returns ``shared_ceiling_samples_per_s`` and
    ``shared_ceiling_set_by``, aligned with ``rows``.
    """
    keys = [
        (dataset, arch, int(batch), device)
        for dataset, arch, batch, device in rows[CEILING_KEYS].itertuples(index=False)
    ]
    candidates = [
        (key, roofline.job_ceiling(roofline_data, key[0], key[1], key[2], key[3]), BLAS_SOURCE)
        for key in dict.fromkeys(keys)
    ]
    candidates += [
        (key, products, f"{framework} products")
        for key, products, framework in zip(keys, rows["products"], rows["framework"], strict=True)
    ]
    measured = {key for key, value, _ in candidates if _finite(value)}
    candidates += list(zip(keys, rows["rate"], rows["trained_as"], strict=True))
    best: dict[tuple, tuple[float, str]] = {}
    for key, value, source in candidates:
        if key in measured and _finite(value) and value > best.get(key, (-math.inf, ""))[0]:
            best[key] = (float(value), source)
    found = [best.get(key, (math.nan, "")) for key in keys]
    return pd.DataFrame(
        {
            "shared_ceiling_samples_per_s": [value for value, _ in found],
            "shared_ceiling_set_by": [source for _, source in found],
        },
        index=rows.index,
    )


def own_ceilings(products: pd.Series, rate: pd.Series) -> pd.Series:
    """A framework's own ceiling: its products' in-run rate, or its training rate where that is
    higher (its products ran at least that fast); NaN where its products were not timed."""
    return products.where(products.isna(), np.fmax(products, rate))


def _finite(value) -> bool:
    return value is not None and isinstance(value, int | float | np.number) and math.isfinite(value)


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
