"""The framework registry: the one place that knows which frameworks exist and what each is.

The entries are data, in ``frameworks.yaml`` beside this module; this module gives them their
type. Rules, aggregation, plots, the report, the environment record and the tests read it;
nothing else lists frameworks (``tests/test_registry.py`` checks that, and the schema's enums
against it). Adding a framework is an entry there plus its own modules, environment and tests
(README, "Extending"). This module imports no framework: the rules and the report import it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlpcompare.training import import_clock


@dataclass(frozen=True)
class Framework:
    """What the workflow needs to know about one framework.

    ``trainer``: module with the training surface (``Trainer``, ``load_model``,
    ``configure_threads``, ``resolve_device``, ``environment``); ``idiomatic``: module with the
    convenient path (``train_epochs``, ``API``); ``model_file``: the trained model's file name
    in a run folder; ``env``: its conda environment under ``envs/``; ``gpu``: whether it can
    train on a GPU; ``sources``: its model and training code (files or folders, relative to the
    repository), counted as its code size; ``api``: how the tuned trainer trains, in a few
    words; ``colour``: its colour in every figure; ``packages``: distributions whose versions
    are recorded with the results (their installed size is measured too, :mod:`mlpcompare.measuring.devexp`;
    what each framework automates is read from the code there, not kept here).
    For the memory estimate of a training job (:mod:`mlpcompare.training.limits`): ``runtime_mib``, the
    runtime's own memory before data or model (the peak RSS of a digits run, where data and
    model take under 2 MiB, rounded up to also cover the MNIST runs' measured peaks);
    ``device_copy``, whether it copies the training set into its own arrays; ``chunked_eval``,
    whether its validation pass runs in chunks of rows. ``import_environment``: environment
    variables the framework reads once, when it is first imported; the trainer module sets them
    (unless set already) before importing it, and so does the import clock of a training job
    (:mod:`mlpcompare.training.import_clock`), so that the framework is only ever started one way.
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
    chunked_eval: bool
    import_environment: dict[str, str] = field(default_factory=dict, compare=False)

    def set_import_environment(self) -> None:
        """Set :attr:`import_environment` where the environment does not say otherwise."""
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
    return {
        name: Framework(
            name=name,
            **{
                key: tuple(value) if key in ("sources", "packages") else value
                for key, value in entry.items()
            },
        )
        for name, entry in entries.items()
    }


REGISTRY: dict[str, Framework] = _load(Path(__file__).with_name("frameworks.yaml"))
NAMES: tuple[str, ...] = tuple(REGISTRY)
GPU_CAPABLE: tuple[str, ...] = tuple(name for name, fw in REGISTRY.items() if fw.gpu)


def get(name: str) -> Framework:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown framework {name!r}; known: {', '.join(NAMES)}") from None
