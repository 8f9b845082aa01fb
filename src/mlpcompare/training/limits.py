"""What a run needs, checked at start-up against what a job has: memory, and the batch size.

:func:`training_bytes` estimates the memory of one training job from the shapes alone (no data,
no framework imported), so a config whose runs cannot fit is refused before any job starts,
with one line that gives both numbers, instead of a job killed for memory hours later. The
dataset's shape comes from :func:`mlpcompare.data.dataset_shape`, without downloading anything.

The estimate of a training job, in bytes (float32 = 4, int64 labels = 8), for ``P`` parameters
(weights and biases of every layer):

* weights: 3 x 4P (the model's, the initial ones read from the init file, the best epoch's copy
  that early stopping keeps);
* gradients: 4P;
* optimizer state: 4P per moment (Adam 2, SGD with momentum 1, plain SGD 0), plus 4P of update
  scratch (the NumPy optimizer keeps it; the others allocate temporaries of that size);
* activations: per sample of a batch, the input, two values per hidden unit (before and after
  the activation; three with dropout, for the mask) and two per class (logits, softmax), each
  with its gradient: ``2 x 4 x batch x (n_features + (2|3) x sum(hidden) + 2 x n_classes)``;
* validation pass: one forward pass over ``min(n_val, eval_chunk)`` rows (the registry entry's;
  all ``n_val`` where it is null, as for NumPy, which does not chunk): ``4 x rows x (n_features + sum(hidden) + n_classes)``;
* data: the whole split in memory (``n_samples x (4 x n_features + 8)``) and the framework's
  device copy of the training set (``n_train x (4 x n_features + 8)``; not for NumPy, which
  trains on the array it read);
* the in-run ceiling (``bench.in_run_ceiling``): the operands and results of every matrix
  product of a training step, held for the run (:func:`mlpcompare.measuring.roofline.
  training_gemms`): ``4 x sum(m k + k n + m n)``, about three weight-sized arrays per layer and
  twice the activations;
* allocator slack: :data:`SLACK` times the terms above (freed blocks the allocators keep);
* the framework's runtime: its registry entry's ``runtime_mib``.

It is an estimate of the peak, checked against measurements: ``make memory``
(tools/measure_memory.py) records each framework's peak resident memory training MNIST at three
sizes in docs/memory.csv, and tests/test_limits.py requires the estimate to be at least each
peak and at most 1.5 times it (the margins: docs/troubleshooting.md). ``runtime_mib`` is what
the framework's imports, thread pools and workspaces take beyond the terms, fitted to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import psutil

from mlpcompare import config as cfg
from mlpcompare import data, frameworks
from mlpcompare.frameworks import REGISTRY
from mlpcompare.measuring.roofline import training_gemms
from mlpcompare.spec import OPTIMIZERS, ModelSpec

FLOAT32, INT64 = 4, 8
MiB, GiB = 2**20, 2**30
# A framework's runtime memory, device copy and chunked validation come from the registry
# (`runtime_mib`, `device_copy`, `eval_chunk`: the measurements behind them are documented in
# mlpcompare.frameworks). Without a framework, the largest runtime, with a copy, is assumed.
WEIGHT_COPIES = 3  # the model's, the initial weights read from init.npz, the best epoch's
# Allocator slack on the computed terms: freed blocks the allocators keep, fragmentation. With
# it a fixed runtime per framework covers the peaks measured at all three sizes (docs/memory.csv).
SLACK = 1.1


def size(n_bytes: float) -> str:
    """``n_bytes`` for a person: 23.4 GiB, 370 MiB, 12 KiB."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{int(n_bytes)} B"


@dataclass(frozen=True)
class Estimate:
    """The bytes of one training job, by what holds them (see the module's docstring)."""

    weights: int  # one copy
    gradients: int
    moments: int
    scratch: int
    activations: int
    evaluation: int
    data: int
    ceiling: int
    runtime: int
    batch_size: int
    optimizer: str
    framework: str | None

    @property
    def computed(self) -> int:
        """The terms computed from the shapes (all but the runtime), before the slack."""
        return (
            WEIGHT_COPIES * self.weights
            + self.gradients
            + self.moments
            + self.scratch
            + self.activations
            + self.evaluation
            + self.data
            + self.ceiling
        )

    @property
    def total(self) -> int:
        return int(SLACK * self.computed) + self.runtime

    def breakdown(self) -> str:
        """What the total is made of, largest parts first in the order a reader checks them."""
        moments = {"adam": "Adam moments", "sgd": "momentum"}[self.optimizer]
        parts = [
            f"weights {WEIGHT_COPIES} x {size(self.weights)}",
            f"gradients {size(self.gradients)}",
        ]
        if self.moments:
            parts.append(f"{moments} {size(self.moments)}")
        parts += [
            f"update scratch {size(self.scratch)}",
            f"activations {size(self.activations)} at batch {self.batch_size}",
            f"validation pass {size(self.evaluation)}",
            f"data {size(self.data)}",
            *([f"in-run ceiling {size(self.ceiling)}"] if self.ceiling else []),
            f"slack {SLACK - 1:.0%}",
            f"{self.framework or 'framework'} runtime {size(self.runtime)}",
        ]
        return ", ".join(parts)


def n_parameters(layer_sizes: Sequence[int]) -> int:
    """Weights and biases of the dense layers ``layer_sizes[0] -> ... -> layer_sizes[-1]``."""
    return sum(a * b + b for a, b in pairwise(layer_sizes))


def training_bytes(
    n_samples: int,
    n_features: int,
    n_classes: int,
    hidden: Sequence[int],
    batch_size: int,
    optimizer: str,
    *,
    momentum: float = 0.0,
    dropout: float = 0.0,
    batch_norm: bool = False,
    in_run_ceiling: bool = False,
    framework: str | None = None,
    n_train: int | None = None,
    n_val: int | None = None,
) -> Estimate:
    """The memory one training job needs, estimated from shapes (module docstring: the terms).

    ``n_train`` and ``n_val`` (the split's training and validation sizes) default to
    ``n_samples``, an upper bound; ``framework`` picks the runtime allowance and whether the
    training set is copied (None: as much as the largest, TensorFlow, with a copy);
    ``in_run_ceiling`` adds the ceiling's products (config ``bench.in_run_ceiling``).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    n_train = n_samples if n_train is None else n_train
    n_val = n_samples if n_val is None else n_val
    widths = sum(hidden)
    params = FLOAT32 * n_parameters([n_features, *hidden, n_classes])
    n_moments = 2 if optimizer != "sgd" else (1 if momentum else 0)
    # before and after the activation (and the dropout mask; BatchNorm's normalised values)
    per_unit = 2 + bool(dropout) + bool(batch_norm)
    batch = batch_size * (n_features + per_unit * widths + 2 * n_classes)
    fw = frameworks.get(framework) if framework else None
    runtime_mib = fw.runtime_mib if fw else max(f.runtime_mib for f in REGISTRY.values())
    chunk = fw.eval_chunk if fw else max(f.eval_chunk or 0 for f in REGISTRY.values())
    rows = min(n_val, chunk) if chunk else n_val
    sample = FLOAT32 * n_features + INT64
    copy = n_train * sample if fw is None or fw.device_copy else 0
    gemms = training_gemms(ModelSpec(n_features, tuple(hidden), n_classes), batch_size)
    ceiling = sum(g.m * g.k + g.k * g.n + g.m * g.n for g in gemms) if in_run_ceiling else 0
    return Estimate(
        weights=params,
        gradients=params,
        moments=n_moments * params,
        scratch=params,
        activations=2 * FLOAT32 * batch,
        evaluation=FLOAT32 * rows * (n_features + widths + n_classes),
        data=n_samples * sample + copy,
        ceiling=FLOAT32 * ceiling,
        runtime=runtime_mib * MiB,
        batch_size=batch_size,
        optimizer=optimizer,
        framework=framework,
    )


def machine_memory() -> int:
    """This machine's total memory in bytes: what a local job can have at most."""
    return psutil.virtual_memory().total


def _batch_keys(config: dict) -> dict[str, int]:
    """Config key -> batch size, for the shared recipe and every framework that overrides it."""
    keys = {}
    for fw in config["frameworks"]:
        override = config["framework_overrides"].get(fw, {})
        key = f"framework_overrides.{fw}.batch_size" if "batch_size" in override else None
        keys[key or "training.batch_size"] = cfg.training_for(config, fw)["batch_size"]
    return keys


def problems(config: dict, available_bytes: int, where: str = "here") -> list[str]:
    """One line per dataset whose training set is smaller than a batch, and per dataset x
    architecture whose training job needs more than ``available_bytes`` (the largest estimate
    over the frameworks run, each with its own recipe), sorted. ``config`` has its defaults
    filled in; ``where`` ends the memory line ("a job has here", "a job has with mem_mb=4000").
    """
    lines = []
    split, synthetic = config["split"], config["synthetic"]
    for dataset in config["datasets"]:
        n_samples, n_features, n_classes = data.dataset_shape(dataset, synthetic["n_samples"])
        sizes = data.split_sizes(
            dataset,
            val_fraction=split["val_fraction"],
            test_fraction=split["test_fraction"],
            n_samples=synthetic["n_samples"],
        )
        for key, batch_size in _batch_keys(config).items():
            if batch_size > sizes["train"]:
                lines.append(
                    f"{key} {batch_size} is larger than the training set "
                    f"({sizes['train']} samples) of {dataset}"
                )
        for name, arch in cfg.architectures(config).items():
            estimates = []
            for fw in config["frameworks"]:
                training = cfg.training_for(config, fw)
                estimates.append(
                    training_bytes(
                        n_samples, n_features, n_classes, arch["hidden"],
                        min(training["batch_size"], sizes["train"]), training["optimizer"],
                        momentum=training["momentum"], dropout=arch["dropout"],
                        batch_norm=arch["batch_norm"],
                        in_run_ceiling=config["bench"]["in_run_ceiling"],
                        framework=fw, n_train=sizes["train"], n_val=sizes["val"],
                    )
                )  # fmt: skip
            worst = max(estimates, key=lambda e: e.total)
            if worst.total > available_bytes:
                shape = "-".join(str(n) for n in (n_features, *arch["hidden"], n_classes))
                lines.append(
                    f"{dataset} x {name} ({shape}): training needs about {size(worst.total)} "
                    f"with {worst.framework} ({worst.breakdown()}), more than the "
                    f"{size(available_bytes)} a job has {where}"
                )
    return sorted(lines)


def check(config: dict, available_bytes: int, where: str = "here") -> None:
    """Raise :class:`mlpcompare.config.ConfigError` listing :func:`problems`, one per line.

    Call after Snakemake's ``validate`` (it needs the defaults filled in); locally with
    ``available_bytes=machine_memory()``, for a cluster with the training rule's ``mem_mb *
    2**20`` and ``where=f"with mem_mb={mem_mb}"``.
    """
    found = problems(config, available_bytes, where)
    if found:
        raise cfg.ConfigError("\n".join(found))
