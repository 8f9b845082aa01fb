"""results/throughput.csv: training throughput of the tuned trainers and of the idiomatic
variant, each row's fraction of its device's shared ceiling (``roofline_fraction``) and of its own
framework's products (``own_ceiling_fraction``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlpcompare import frameworks, io
from mlpcompare.aggregating.frames import cleaned, grouped, own_ceilings, shared_ceilings, spread
from mlpcompare.aggregating.runs import GROUP, load_runs, run_frame

THROUGHPUT_COLUMNS = [
    "dataset", "arch", "framework", "variant", "api", "n_seeds", "samples_per_s_median",
    "samples_per_s_q1", "samples_per_s_q3", "roofline_fraction", "shared_ceiling_samples_per_s",
    "shared_ceiling_set_by", "own_ceiling_fraction", "own_ceiling_samples_per_s",
    "own_ceiling_q1", "own_ceiling_q3", "slowdown_vs_tuned",
]  # fmt: skip
RATE_COLUMNS = [*GROUP, "variant", "api", "batch_size", "device", "rate"]


def throughput_table(runs: list[dict], idiomatic: list[dict], roofline_data: dict) -> pd.DataFrame:
    """throughput.csv: per (dataset, arch, framework) a ``tuned`` row, then an ``idiomatic``
    row where that variant was measured. ``n_seeds``: the seeds the median is taken over.

    ``runs``, ``idiomatic``: loaded tuned and idiomatic runs (``train`` is all it reads). Each
    non-diverged seed's steady-state samples/s (train.json; diverged seeds are left out as in
    summary.csv); ``api``: the registry's description of the tuned trainer, the idiomatic
    train.json's of the variant.

    ``roofline_fraction``: the median over the row's device's shared ceiling
    (:func:`~mlpcompare.aggregating.frames.shared_ceilings`; ``shared_ceiling_set_by`` names
    what set it), one yardstick for every framework. ``own_ceiling_fraction``: the median over
    the framework's own products' ceiling (its tuned runs' in-run ceiling, median over seeds,
    ``own_ceiling_q1``/``q3`` its spread over epochs, at least the row's rate:
    :func:`~mlpcompare.aggregating.frames.own_ceilings`), a measure of the framework's overhead
    over its own kernels; blank for a variant at another batch size than the tuned runs timed
    them. ``slowdown_vs_tuned`` is the tuned median over the variant's (2 = the variant trains
    half as fast; the tuned row is 1 by definition).
    """
    frame = run_frame(runs)
    tuned = frame.assign(
        variant="tuned", api=frame["framework"].map(_api), rate=frame["steady_samples_per_s"]
    )
    variant = run_frame(idiomatic)
    measured = variant.assign(
        variant="idiomatic",
        api=[run["train"]["api"] for run in idiomatic],
        rate=variant["steady_samples_per_s"],
    )
    rates = pd.concat([tuned[RATE_COLUMNS], measured[RATE_COLUMNS]], ignore_index=True)
    rates["rate"] = rates["rate"].astype("float64")
    by_variant = grouped(rates, [*GROUP, "variant"])
    table = by_variant.agg(
        api=("api", "first"),
        batch_size=("batch_size", "first"),
        device=("device", "first"),
        n_seeds=("rate", "count"),
    )
    rate = spread(by_variant["rate"])
    table = table.join(rate.add_prefix("samples_per_s_")).reset_index()
    # Each framework's tuned row, then its idiomatic row; a variant without tuned runs is dropped.
    keys = grouped(frame, GROUP).size().index
    position = pd.Series(np.arange(len(keys)), index=keys, name="position")
    table = table.join(position, on=GROUP, how="inner")
    table["order"] = 2 * table["position"] + (table["variant"] == "idiomatic")
    table = table.sort_values("order", kind="stable").reset_index(drop=True)
    median = table["samples_per_s_median"]
    # The framework's in-run ceiling (medians over its tuned seeds of each run's median and
    # quartiles over its steady epochs), for both variants where they train at the same batch
    # size on the same device: the idiomatic runs do not time one.
    in_run = grouped(frame, GROUP).agg(
        products=("ceiling_samples_per_s", "median"),
        own_ceiling_q1=("ceiling_q1", "median"),
        own_ceiling_q3=("ceiling_q3", "median"),
        tuned_batch_size=("batch_size", "first"),
        tuned_device=("device", "first"),
    )
    table = table.join(in_run, on=GROUP)
    same_shape = (table["batch_size"] == table["tuned_batch_size"]) & (
        table["device"] == table["tuned_device"]
    )
    for column in ("products", "own_ceiling_q1", "own_ceiling_q3"):
        table[column] = table[column].astype("float64").where(same_shape)
    table["own_ceiling_samples_per_s"] = own_ceilings(table["products"], median)
    table["own_ceiling_fraction"] = median / table["own_ceiling_samples_per_s"]
    trained_as = table["framework"] + np.where(
        table["variant"] == "tuned", " training", " idiomatic training"
    )
    shared = shared_ceilings(table.assign(rate=median, trained_as=trained_as), roofline_data)
    table = table.join(shared)
    table["roofline_fraction"] = median / table["shared_ceiling_samples_per_s"]
    medians = table[table["variant"] == "tuned"].set_index(GROUP)["samples_per_s_median"]
    tuned_median = table.join(medians.rename("tuned"), on=GROUP)["tuned"]
    table["slowdown_vs_tuned"] = (tuned_median / median).where(median > 0)
    return table[THROUGHPUT_COLUMNS]


def _api(name: str) -> str:
    """How the tuned trainer of ``name`` trains (registry); blank for a name it does not know."""
    entry = frameworks.REGISTRY.get(name)
    return entry.api if entry else ""


def write_throughput(runs: list[Mapping], idiomatic: list[Mapping], inputs: Mapping,
                     output: str | os.PathLike) -> None:  # fmt: skip
    """results/throughput.csv from every run's train.json (``inputs["train"]``, a path per run
    of ``runs``), the train.json of every idiomatic run (``inputs["idiomatic"]``, a path per
    record of ``idiomatic``; none when the variant is off) and the roofline
    (``inputs["roofline"]``)."""
    table = throughput_table(
        load_runs(runs, inputs, ["train"]),
        load_runs(idiomatic, {"train": inputs["idiomatic"]}, ["train"]),
        io.read_json(inputs["roofline"]),
    )
    io.write_csv(cleaned(table), output, THROUGHPUT_COLUMNS)
