"""Two runs compared: their environments first, then every measure over seeds, with a verdict.

For each dataset x architecture x framework both runs have, each measure of :data:`MEASURES`
is taken per seed. Each run's value is shown over its own non-diverged seeds with a 95 %
Student-t interval (:func:`mlpcompare.aggregating.stats.t_interval`, the report's quality
intervals): accuracies on their own scale (the mean), rates and times on a log scale (the
geometric mean), since a slowdown is a factor.

The verdict pairs the seeds: seed s of A and seed s of B start from the same initial weights and
see the same batches, so their difference is the change alone. The effect is B - A in points
(accuracies) or log(B / A) (rates, times, memory) per seed, and its 95 % t-interval over the
seeds both runs have, as the studies' effects and the tuned-vs-idiomatic table pair their runs.
**better** or **worse** when that interval excludes no change *and* the effect is larger than
the seeds' range within either run (a change every seed shows, and more than one seed differs
from another), otherwise **no detectable change**; with fewer than two paired seeds there is no
spread to judge by (**too few seeds**). Rates, times and memory must also change by at least
:data:`MIN_FACTOR`. The last two conditions keep a shift all seeds share (a few hundred kB of
memory, a busier machine during one run) from being called a change.

Pure functions on :class:`~mlpcompare.comparing.sources.Results` (what they read is in memory).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mlpcompare.aggregating import stats
from mlpcompare.comparing.environment import environment_changes
from mlpcompare.comparing.sources import Key, Results
from mlpcompare.logs import UserError
from mlpcompare.measuring.bench import ONNX_RUNTIME_API

BETTER, WORSE, SAME, TOO_FEW = "better", "worse", "no detectable change", "too few seeds"
# The smallest ratio a rate, time or memory figure must change by to be called (asv compare's
# default factor): a machine's speed drifts by a few per cent between two runs of the same code
# (other load, clocks, caches), and the seeds of one run, timed close together, cannot show it.
MIN_FACTOR = 1.1
# Measures whose regression --fail-on-regression acts on (memory is reported, never failed).
GATED = ("accuracy", "speed")


@dataclass(frozen=True)
class Measure:
    """One figure per seed. ``scale``: "difference" (a fraction; mean, change in points) or
    "ratio" (positive; geometric mean, change as B / A). ``kind``: accuracy, speed or memory."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    scale: str
    kind: str


MEASURES = (
    Measure("accuracy", "test accuracy", "%", True, "difference", "accuracy"),
    Measure("f1_macro", "macro F1", "%", True, "difference", "accuracy"),
    Measure("train_samples_per_s", "training samples/s", "samples/s", True, "ratio", "speed"),
    Measure("train_time_s", "training time", "s", False, "ratio", "speed"),
    Measure("first_epoch_s", "first epoch", "s", False, "ratio", "speed"),
    Measure("infer_p50_ms_batch1", "inference p50, batch 1", "ms", False, "ratio", "speed"),
    Measure("infer_samples_per_s_best", "inference samples/s, best batch", "samples/s", True,
            "ratio", "speed"),
    Measure("peak_rss_mb", "training peak memory", "MB", False, "ratio", "memory"),
)  # fmt: skip


def seed_figures(seed: Mapping) -> dict[str, float]:
    """Each measure of one seed (``Results.seeds`` item); none for a diverged seed, whose
    figures every table of the report leaves out too. Inference: the framework's own APIs (not
    ONNX Runtime, as summary.csv): the lowest p50 at batch 1, the highest samples/s."""
    train, metrics = seed["train"], seed["metrics"] or {}
    if train.get("status") != "ok":
        return {}
    own = [row for row in seed["inference"] if row["api"] != ONNX_RUNTIME_API]
    batch1 = [float(row["p50_ms"]) for row in own if int(row["batch_size"]) == 1]
    found = {
        "accuracy": metrics.get("accuracy"),
        "f1_macro": metrics.get("f1_macro"),
        "train_samples_per_s": train.get("steady_samples_per_s"),
        "train_time_s": train.get("total_seconds"),
        "first_epoch_s": train.get("first_epoch_seconds"),
        "infer_p50_ms_batch1": min(batch1) if batch1 else None,
        "infer_samples_per_s_best": max((float(r["samples_per_s"]) for r in own), default=None),
        "peak_rss_mb": train.get("peak_rss_mb"),
    }
    return {name: float(value) for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class Estimate:
    """A measure over seeds: the centre and its 95 % interval (NaN with fewer than 2 seeds)."""

    centre: float
    low: float
    high: float
    n: int


def estimate(values: Iterable[float], scale: str) -> Estimate:
    """Mean and t-interval (``difference``), or their log-scale counterparts (``ratio``)."""
    values = [v for v in values if math.isfinite(v) and (scale == "difference" or v > 0)]
    if scale == "difference":
        low, high = stats.t_interval(values)
        return Estimate(stats.mean(values), low, high, len(values))
    logs = [math.log(v) for v in values]
    low, high = stats.t_interval(logs)
    return Estimate(*(math.exp(x) for x in (stats.mean(logs), low, high)), len(values))


def paired_effect(a: Mapping[int, float], b: Mapping[int, float], scale: str) -> Estimate:
    """B against A over the seeds both have (``seed -> value``): the mean difference and its
    t-interval (``difference``), or the geometric mean ratio B / A and its interval (``ratio``)."""
    seeds = [s for s in a if s in b and (scale == "difference" or (a[s] > 0 and b[s] > 0))]
    if scale == "difference":
        diffs = [b[s] - a[s] for s in seeds]
        low, high = stats.t_interval(diffs)
        return Estimate(stats.mean(diffs), low, high, len(diffs))
    logs = [math.log(b[s] / a[s]) for s in seeds]
    low, high = stats.t_interval(logs)
    return Estimate(*(math.exp(x) for x in (stats.mean(logs), low, high)), len(logs))


def seed_range(values: Iterable[float], scale: str) -> float:
    """How far a run's seeds lie apart: the range of the values (``difference``) or of their
    logarithms (``ratio``); 0 for one seed."""
    values = [
        v if scale == "difference" else math.log(v)
        for v in values
        if v > 0 or scale == "difference"
    ]
    return max(values) - min(values) if values else math.nan


def verdict(effect: Estimate, spread: float, measure: Measure) -> str:
    """better / worse (B against A) when the effect's interval excludes no change, the effect
    is larger than ``spread``, the seeds' range within a run (:func:`seed_range`, on the
    effect's scale), and a ratio is at least :data:`MIN_FACTOR` away from 1."""
    if effect.n < 2:
        return TOO_FEW
    none = 0.0 if measure.scale == "difference" else 1.0
    size = abs(effect.centre if measure.scale == "difference" else math.log(effect.centre))
    small = measure.scale == "ratio" and size < math.log(MIN_FACTOR)
    if effect.low <= none <= effect.high or size <= spread or small:
        return SAME
    return BETTER if (effect.centre > none) == measure.higher_is_better else WORSE


def worsening_pct(a: Estimate, effect: Estimate, measure: Measure) -> float:
    """How much worse B is than A, in percent of A (negative: better). For accuracy, the change
    as a share of A's accuracy (about the change in points, as accuracies are close to 1)."""
    if measure.scale == "difference":
        change = effect.centre / a.centre * 100 if a.centre else math.nan
    else:
        change = (effect.centre - 1) * 100
    return -change if measure.higher_is_better else change


@dataclass(frozen=True)
class Row:
    """One measure of one key: each run over its seeds, the paired effect and the verdict."""

    key: Key
    measure: Measure
    a: Estimate
    b: Estimate
    effect: Estimate
    verdict: str
    worse_pct: float


@dataclass
class Comparison:
    """Everything the Markdown and HTML show. ``environment``: (what, A, B) where they differ."""

    a: Results
    b: Results
    environment: list[tuple[str, str, str]]
    notes: list[str]
    rows: list[Row]
    only_a: list[Key] = field(default_factory=list)
    only_b: list[Key] = field(default_factory=list)


def compare(a: Results, b: Results) -> Comparison:
    """Every measure of every key both runs have; the keys only one has are listed."""
    keys_a, keys_b = a.keys(), b.keys()
    shared = [key for key in keys_a if key in keys_b]
    if not shared:
        raise UserError(
            f"{a.label} and {b.label} share no dataset x architecture x framework "
            f"(A has {_names(keys_a)}; B has {_names(keys_b)})"
        )
    rows = []
    for key in shared:
        seeds_a = {seed["seed"]: seed_figures(seed) for seed in a.seeds(key)}
        seeds_b = {seed["seed"]: seed_figures(seed) for seed in b.seeds(key)}
        for measure in MEASURES:
            values_a = {s: f[measure.name] for s, f in seeds_a.items() if measure.name in f}
            values_b = {s: f[measure.name] for s, f in seeds_b.items() if measure.name in f}
            if not values_a or not values_b:
                continue
            est_a = estimate(values_a.values(), measure.scale)
            effect = paired_effect(values_a, values_b, measure.scale)
            spread = max(seed_range(v.values(), measure.scale) for v in (values_a, values_b))
            rows.append(
                Row(key, measure, est_a, estimate(values_b.values(), measure.scale), effect,
                    verdict(effect, spread, measure), worsening_pct(est_a, effect, measure))
            )  # fmt: skip
    changes, notes = environment_changes(a, b)
    return Comparison(
        a=a,
        b=b,
        environment=changes,
        notes=notes,
        rows=rows,
        only_a=[key for key in keys_a if key not in keys_b],
        only_b=[key for key in keys_b if key not in keys_a],
    )


def regressions(comparison: Comparison, threshold_pct: float) -> list[Row]:
    """Accuracy and speed measures that got worse beyond the seeds' spread (the verdict) and
    by more than ``threshold_pct`` percent of A's value (the paired effect's centre)."""
    return [
        row
        for row in comparison.rows
        if row.verdict == WORSE and row.measure.kind in GATED and row.worse_pct > threshold_pct
    ]


def _names(keys: list[Key]) -> str:
    return ", ".join(" / ".join(key) for key in keys) or "nothing"
