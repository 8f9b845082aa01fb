"""The framework registry: the one place that knows which frameworks exist and what each is.

The entries are data, in ``frameworks.yaml`` beside this module; this module gives them their
type. Rules, aggregation, plots, the report, the environment record and the tests read it;
nothing else lists frameworks (``tests/test_registry.py`` checks that, and the schema's enums
against it). Adding a framework is its folder ``frameworks/<name>/``, an entry there, its
environment, its requirements lines and its tests (docs/extending.md, which
``tests/test_registry.py`` holds to what it checks). This module imports no framework: the
rules, the report and every framework's own modules import it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlpcompare.training import import_clock


@dataclass(frozen=True)
class Framework:
    """What the workflow needs to know about one framework; every entry has every field but
    ``import_environment``.

    ``label``: its name in tables and figures; ``trainer``: module with the training surface
    (``Trainer``, ``load_model``, ``configure_threads``, ``resolve_device``, ``environment``,
    ``step_products``); ``idiomatic``: module with the convenient path (``fit``, ``API``,
    ``INFERENCE_API``, ``LOSS_INCLUDES_PENALTY``: :mod:`mlpcompare.training.idiomatic`);
    ``model_file``: the trained model's file name in a run folder (the trainers write to the path
    they are given; nothing else names the file); ``env``: its conda environment under
    ``envs/``; ``gpu``: whether it can train on a GPU; ``sources``: its model and training code
    (files or folders, relative to the repository; not the idiomatic module), counted as its code
    size, with the modules it shares with another framework (``keras_common``, ``jax_common``);
    ``api``: how the tuned trainer trains, in a few words; ``colour``: its colour in every
    figure; ``packages``: distributions whose versions are recorded with the results (their
    installed size is measured too, :mod:`mlpcompare.measuring.devexp`).
    For the memory estimate of a training job (:mod:`mlpcompare.training.limits`): ``runtime_mib``,
    what its imports, thread pools and workspaces take beyond the terms the estimate computes,
    fitted to the peaks `make memory` measured (docs/memory.csv);
    ``device_copy``, whether it copies the training set into its own arrays; ``eval_chunk``, the
    rows of one forward pass when its trainer and predictor run inference (bounding activation
    memory on big sets; null: the whole set in one pass), read by the trainer modules too.
    For the development-experience table (:mod:`mlpcompare.measuring.devexp`, whose ``ASPECTS``
    name the aspects): ``provides``, aspect -> the API names (shell patterns: ``torch.optim.*``;
    ``.name`` for a method called on an object) that show the framework doing it for the user;
    ``by_hand``, aspect -> those that show the user doing it with the framework's primitives
    (``.to``: moving tensors). What any code shows (``def backward``) is kept there.
    ``import_environment``: environment variables the framework reads once, when it is first
    imported; the trainer package sets them (over inherited values) before importing it, and so does
    the import clock of a training job (:mod:`mlpcompare.training.import_clock`), so that the
    framework is only ever started one way.
    """

    name: str
    label: str
    trainer: str
    idiomatic: str
    model_file: str
    env: str
    gpu: bool
    sources: tuple[str, ...]
    api: str
    colour: str
    packages: tuple[str, ...]
    runtime_mib: int
    device_copy: bool
    eval_chunk: int | None
    provides: dict[str, tuple[str, ...]] = field(compare=False)
    by_hand: dict[str, tuple[str, ...]] = field(compare=False)
    import_environment: dict[str, str] = field(default_factory=dict, compare=False)

    def set_import_environment(self) -> None:
        """Set :attr:`import_environment` in this process, over any inherited value."""
        import_clock.set_environment(self.import_environment)

    def trainer_module(self):
        """The imported trainer module (imports the framework itself)."""
        return importlib.import_module(self.trainer)

    def idiomatic_module(self):
        """The imported idiomatic module (imports the framework itself)."""
        return importlib.import_module(self.idiomatic)


def _load(path: Path) -> dict[str, Framework]:
    """The entries of ``frameworks.yaml``, in its order (the order of every table and figure)."""
    entries = yaml.safe_load(path.read_text())
    return {name: Framework(name=name, **_fields(entry)) for name, entry in entries.items()}


def _fields(entry: dict) -> dict:
    """An entry's values as :class:`Framework` holds them: lists as tuples."""
    fields = dict(entry)
    for key in ("sources", "packages"):
        fields[key] = tuple(entry[key])
    for key in ("provides", "by_hand"):
        fields[key] = {aspect: tuple(names) for aspect, names in entry[key].items()}
    return fields


REGISTRY: dict[str, Framework] = _load(Path(__file__).with_name("frameworks.yaml"))
NAMES: tuple[str, ...] = tuple(REGISTRY)
GPU_CAPABLE: tuple[str, ...] = tuple(name for name, fw in REGISTRY.items() if fw.gpu)


def python_name(name: str) -> str:
    """``name`` as Python spells it in its package and test module: a registry name may hold a
    hyphen (``keras-jax``, as in file names, wildcards and the config), an identifier may not
    (``mlpcompare.frameworks.keras_jax``, ``tests/test_keras_jax_mlp.py``)."""
    return name.replace("-", "_")


def get(name: str) -> Framework:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown framework {name!r}; known: {', '.join(NAMES)}") from None
