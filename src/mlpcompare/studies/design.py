"""A study as variants: its axes from the config, and each combination of their levels as a
complete recipe (architecture, training, dataset, device, frameworks).

A variant starts from the base recipe (the main comparison's first dataset and architecture and
its ``training``, changed by the study's ``base``), then applies one level of every axis. An axis
is a config key with a list of values or a mapping of named levels to the keys they set
(:data:`ARCH_KEYS`, the training keys, :data:`RUN_KEYS`, or :data:`SHAPE_KEYS`, which rebuild
``hidden``). What a study may not say is checked in :mod:`mlpcompare.studies.checks`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from mlpcompare import config as cfg
from mlpcompare import frameworks

ARCH_KEYS = ("hidden", "activation", "dropout", "batch_norm", "init")
SHAPE_KEYS = ("width", "depth")
RUN_KEYS = ("device", "dataset")


def training_keys(schema: dict) -> tuple[str, ...]:
    return tuple(schema["$defs"]["training"]["properties"])


def axis_keys(schema: dict) -> tuple[str, ...]:
    """Every key an axis (or a named level, or a study's ``base``) may set."""
    return ARCH_KEYS + SHAPE_KEYS + training_keys(schema) + RUN_KEYS


@dataclass(frozen=True)
class Axis:
    """One varied setting: its name, the label of each level, and what each level sets."""

    name: str
    labels: tuple[str, ...]
    settings: tuple[dict, ...]
    reference: str  # the label of the level the others are compared with

    @property
    def numeric_values(self) -> tuple[float, ...] | None:
        """The levels as numbers, when the axis is one numeric key (for a numeric x axis)."""
        values = []
        for setting in self.settings:
            value = setting.get(self.name)
            if len(setting) != 1 or isinstance(value, bool) or not isinstance(value, int | float):
                return None
            values.append(float(value))
        return tuple(values)


@dataclass(frozen=True)
class Variant:
    """One combination of axis levels: a complete recipe."""

    study: str
    name: str
    levels: tuple[str, ...]  # the label of its level on each axis, in axis order
    dataset: str
    device: str
    arch: dict
    training: dict  # before framework_overrides (see training_for)
    frameworks: tuple[str, ...]

    def training_for(self, config: dict, framework: str) -> dict:
        """The recipe ``framework`` trains with: overrides applied, target set for the dataset."""
        recipe = {**self.training, **config["framework_overrides"].get(framework, {})}
        return cfg.resolve_target(recipe, self.dataset)

    def as_config(self, config: dict) -> dict:
        """The main config as if it ran only this variant (for the start-up limit checks)."""
        return {
            **config,
            "datasets": [self.dataset],
            "frameworks": list(self.frameworks),
            "architectures": {"variant": self.arch},
            "run_architectures": None,
            "training": self.training,
            "device": self.device,
        }


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...] = field(repr=False)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.dataset for v in self.variants))

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.device for v in self.variants))

    def describe(self, config: dict) -> dict:
        """What the tables and the report need, as plain data (a rule's params): the axes and,
        per variant, its levels, frameworks, dataset, device and time-to-accuracy target."""
        return {
            "name": self.name,
            "description": self.description,
            "axes": [
                {
                    "name": a.name,
                    "labels": list(a.labels),
                    "numeric": a.numeric_values,
                    "reference": a.reference,
                }
                for a in self.axes
            ],
            "variants": [
                {
                    "name": v.name,
                    "levels": list(v.levels),
                    "frameworks": list(v.frameworks),
                    "dataset": v.dataset,
                    "device": v.device,
                    "target": cfg.resolve_target(v.training, v.dataset)["target_val_accuracy"],
                }
                for v in self.variants
            ],
        }


def label(value) -> str:
    """A level's label, readable and safe in a path: 0.001, 256-128, true, adamw."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "-".join(label(v) for v in value)
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if "e" not in text else f"{value:.10f}".rstrip("0")
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-").lower()


def axis_from_config(name: str, levels, reference=None) -> Axis:
    """An axis from its config: a list of values of key ``name``, or named levels; its
    ``reference`` (a value or a level's name; None = the first level)."""
    if isinstance(levels, dict):
        labels, settings = tuple(levels), tuple(dict(s) for s in levels.values())
    else:
        labels, settings = tuple(label(v) for v in levels), tuple({name: v} for v in levels)
    ref = labels[0] if reference is None else reference_label(levels, reference)
    return Axis(name, labels, settings, ref)


def reference_label(levels, reference) -> str:
    """The label of the level ``reference`` names: a level's name, or a value of the axis."""
    return str(reference) if isinstance(levels, dict) else label(reference)


def apply(arch: dict, training: dict, run: dict, setting: dict) -> None:
    """Apply one level's ``setting`` to the recipe parts, in place. ``width`` and ``depth``
    rebuild ``hidden``: every layer ``width`` wide, ``depth`` layers (of the first width)."""
    for key, value in setting.items():
        if key in ARCH_KEYS:
            arch[key] = value
        elif key in RUN_KEYS:
            run[key] = value
        elif key not in SHAPE_KEYS:
            training[key] = value
    if "width" in setting or "depth" in setting:
        width = setting.get("width", arch["hidden"][0])
        depth = setting.get("depth", len(arch["hidden"]))
        arch["hidden"] = [width] * depth


def base_architecture(config: dict, spec: dict) -> dict:
    name = spec.get("architecture") or next(iter(cfg.architectures(config)))
    return dict(config["architectures"][name])


def build(name: str, spec: dict, config: dict) -> Study:
    """The study ``name`` of the config as variants (the config checked first:
    :func:`mlpcompare.studies.checks.problems`)."""
    references = spec.get("reference") or {}
    axes = tuple(
        axis_from_config(key, levels, references.get(key)) for key, levels in spec["axes"].items()
    )
    variants = []
    for combo in itertools.product(*(range(len(axis.labels)) for axis in axes)):
        arch = base_architecture(config, spec)
        training = dict(config["training"])
        run = {"dataset": spec.get("dataset") or config["datasets"][0], "device": config["device"]}
        apply(arch, training, run, spec.get("base", {}))
        for axis, i in zip(axes, combo, strict=True):
            apply(arch, training, run, axis.settings[i])
        levels = tuple(axis.labels[i] for axis, i in zip(axes, combo, strict=True))
        names = [
            level if isinstance(spec["axes"][axis.name], dict) else f"{axis.name}-{level}"
            for axis, level in zip(axes, levels, strict=True)
        ]
        # A CUDA variant is a question about the GPU-capable frameworks (NumPy has no GPU path).
        fws = tuple(
            fw for fw in config["frameworks"] if run["device"] != "cuda" or frameworks.get(fw).gpu
        )
        variants.append(
            Variant(name, "_".join(names), levels, run["dataset"], run["device"], arch,
                    training, fws)
        )  # fmt: skip
    return Study(name, spec.get("description", ""), axes, tuple(variants))


def from_config(config: dict) -> dict[str, Study]:
    """Every study of the config, by name."""
    return {name: build(name, spec, config) for name, spec in config["studies"].items()}
