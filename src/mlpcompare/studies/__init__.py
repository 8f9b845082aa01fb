"""Studies: the questions users bring ("what does dropout do?"), each a few lines of config.

A study starts from a base recipe — the main comparison's dataset, architecture and training
recipe, changed by the study's ``base`` — and varies one or two *axes*. Each combination of axis
levels is a *variant*: a complete recipe with its own results folder,
``results/studies/{study}/{variant}/``, so studies never overwrite each other or the main
comparison (whose paths do not change). The data splits are shared with the main comparison.

An axis is a config key with a list of values (``dropout: [0.0, 0.2, 0.5]``), or a mapping of
named levels to the keys they set (``optimizer: {sgd: {optimizer: sgd, lr: 0.1}, ...}``). The
keys: every architecture key, every training key, ``device``, ``dataset``, and ``width`` /
``depth``, which set every hidden layer's width and the number of hidden layers.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from mlpcompare import config as cfg
from mlpcompare import frameworks

ARCH_KEYS = ("hidden", "activation", "dropout", "batch_norm")
SHAPE_KEYS = ("width", "depth")
RUN_KEYS = ("device", "dataset")
# Files of one variant's run folder (a seed of one framework), written by the study_run rules.
RUN_FILES = ("history.csv", "train.json", "metrics.json")
STUDY_TABLES = ("runs", "summary", "effects")
# What the study report plots against the axis, by column of the study's summary table.
MEASURES = {
    "test_accuracy": "test accuracy",
    "generalisation_gap": "generalisation gap (train − validation accuracy)",
    "epochs_to_target": "epochs to target",
    "time_to_target_s": "time to target (s)",
    "samples_per_s": "training samples/s",
}
# The study report's figures (mlpcompare.studies.plots): each measure, and the learning curves.
STUDY_FIGURES = (*MEASURES, "learning_curves", "intensity")


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
                {"name": a.name, "labels": list(a.labels), "numeric": a.numeric_values}
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


def axis_from_config(name: str, levels) -> Axis:
    if isinstance(levels, dict):
        return Axis(name, tuple(levels), tuple(dict(s) for s in levels.values()))
    return Axis(name, tuple(label(v) for v in levels), tuple({name: v} for v in levels))


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
    """The study ``name`` of the config (schema-checked: see :func:`problems`) as variants."""
    axes = tuple(axis_from_config(key, levels) for key, levels in spec["axes"].items())
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


def problems(config: dict, schema: dict) -> list[str]:
    """One line per problem in ``studies`` that the schema cannot see: a key no axis can
    vary (with the nearest key), a level that makes an invalid recipe (named by its path), a
    base architecture that does not exist, two levels with the same name."""
    studies = config.get("studies")
    if not isinstance(studies, dict):
        return []
    keys = axis_keys(schema)
    arch_schema = schema["properties"]["architectures"]["additionalProperties"]
    lines = []
    for name, spec in studies.items():
        if not isinstance(spec, dict):
            continue
        where = f"studies.{name}"
        arch_name = spec.get("architecture")
        if arch_name is not None and arch_name not in config.get("architectures", {}):
            hint = difflib.get_close_matches(
                str(arch_name), list(config.get("architectures", {})), n=1
            )
            lines.append(
                f"{where}.architecture: {arch_name!r} is not defined in architectures"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        settings = [(f"{where}.base", spec.get("base", {}))]
        for axis, levels in (spec.get("axes") or {}).items():
            if isinstance(levels, dict):
                settings += [(f"{where}.axes.{axis}.{lvl}", s) for lvl, s in levels.items()]
            elif isinstance(levels, list):
                if axis not in keys:
                    lines.append(_unknown(f"{where}.axes", axis, keys))
                    continue
                settings += [(f"{where}.axes.{axis}[{i}]", {axis: v}) for i, v in enumerate(levels)]
                labels = [label(v) for v in levels]
                if len(set(labels)) < len(labels):
                    lines.append(f"{where}.axes.{axis}: two levels have the same name {labels}")
        for path, setting in settings:
            if not isinstance(setting, dict):
                lines.append(f"{path}: expected a mapping of keys to values, got {setting!r}")
                continue
            unknown = [key for key in setting if key not in keys]
            lines += [_unknown(path, key, keys) for key in unknown]
            if unknown:
                continue
            lines += _recipe_problems(config, spec, path, setting, schema, arch_schema)
    return lines


def _unknown(path: str, key, keys) -> str:
    hint = difflib.get_close_matches(str(key), keys, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(keys)})"
    return f"{path}.{key}: not a key a study can vary{suggestion}"


def _recipe_problems(config, spec, path, setting, schema, arch_schema) -> list[str]:
    """What is wrong with the recipe that ``setting`` makes from the base, each line naming the
    setting's key under ``path``."""
    archs, training = config.get("architectures"), config.get("training")
    if not isinstance(archs, dict) or not archs or not isinstance(training, dict):
        return []  # the schema reports these
    arch = dict(archs.get(spec.get("architecture")) or next(iter(archs.values())))
    training = dict(training)
    # A value of the wrong type may break applying it; the schema lines below name its key.
    with contextlib.suppress(TypeError, IndexError, KeyError):
        apply(arch, training, {}, setting)
    lines = []
    for part, part_schema in (
        (arch, arch_schema),
        (training, schema["$defs"]["training"]),
    ):
        for error in jsonschema.Draft202012Validator(part_schema, format_checker=None).iter_errors(
            part
        ):
            key = error.absolute_path[0] if error.absolute_path else None
            if key in setting or (key == "hidden" and set(setting) & set(SHAPE_KEYS)):
                lines.append(f"{path}.{key}: {error.message}")
    for key, values in (("device", ("auto", "cpu", "cuda")), ("dataset", _datasets(schema))):
        if key in setting and setting[key] not in values:
            lines.append(f"{path}.{key}: {setting[key]!r} is not one of: {', '.join(values)}")
    for key in SHAPE_KEYS:
        value = setting.get(key)
        if key in setting and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            lines.append(f"{path}.{key}: expected a positive integer, got {value!r}")
    return lines


def _datasets(schema: dict) -> tuple[str, ...]:
    return tuple(schema["properties"]["datasets"]["items"]["enum"])


@dataclass(frozen=True)
class StudyLayout:
    """Paths of every study's artifacts under one results folder."""

    root: str = "results"

    def _path(self, *parts) -> str:
        return str(Path(self.root, "studies", *(str(p) for p in parts)))

    def init(self, study: str, variant: str, seed) -> str:
        return self._path(study, variant, "init", f"seed{seed}.npz")

    def run_file(self, study: str, variant: str, framework: str, seed, name: str) -> str:
        return self._path(study, variant, framework, f"seed{seed}", name)

    def table(self, study: str, name: str) -> str:
        """runs.csv (one row per run), summary.csv (per variant x framework), effects.csv."""
        return self._path(study, f"{name}.csv")

    def figure(self, study: str, name: str) -> str:
        return self._path(study, "plots", f"{name}.png")

    def report(self, study: str) -> str:
        return self._path(study, "report.html")


STUDY_RESULTS = StudyLayout()
