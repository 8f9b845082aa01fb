"""Development experience, measured from the code: what each framework's user writes, and how
long a new user waits before the first result.

Per framework and variant (``tuned``: the registry's ``sources``; ``idiomatic``: its
``idiomatic`` module, with the shared idiomatic module it runs as its own where two frameworks
share one (:func:`idiomatic_files`), plus the definitions they borrow from those sources, such as
the model class):

* code lines, as :mod:`mlpcompare.measuring.codesize` counts them (comments, docstrings, blanks out);
* the distinct framework API names used (:mod:`mlpcompare.measuring.code_uses`); for NumPy,
  NumPy is the framework;
* for each :data:`ASPECTS` entry, whether the framework provides it or the user writes it by hand,
  decided by what the code calls or defines (``loss.backward()`` -> provided, ``def backward``
  -> by hand), with the names that decided it as evidence; "not found in the code" where
  neither shows. Which API names show it is a fact of
  each framework, kept in its registry entry (``provides``, ``by_hand``); what any code shows
  (``def backward``) is kept here.

Nothing here imports a framework: the code is read with :mod:`ast`. The install size is read by
:func:`first_use` in the framework's own environment, one job per framework; import times (each
training job takes one: mlpcompare.training.import_clock) and first-epoch times come from train.json, and
the idiomatic variant's first epochs from idiomatic.json.
"""

from __future__ import annotations

import ast
import importlib.metadata
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from mlpcompare import frameworks, io
from mlpcompare.measuring import codesize
from mlpcompare.measuring.code_uses import Uses, analyse, framework_modules, module_path

VARIANTS = ("tuned", "idiomatic")


@dataclass(frozen=True)
class Aspect:
    """One thing a training program needs. ``rules``: (verdict, patterns) in order, each verdict
    once; the first rule one of whose patterns matches a use of the code decides, with the
    matching uses as its evidence; :data:`NOT_FOUND` when none does: reading the code is no
    proof that the user does not write it (the tuned trainers' batches come from the shared
    loop, outside their files), so no verdict is given without evidence. A framework's registry
    entry adds its API names to the rule of its verdict (:func:`rules`).

    A use is a framework API name (``torch.save``), a method called on an object (``.backward``)
    or a function the code defines (``def backward``); patterns are shell-style (``torch.optim.*``).
    """

    label: str
    rules: tuple[tuple[str, tuple[str, ...]], ...]


PROVIDED, BY_HAND, NOT_FOUND, CPU_ONLY = "provided", "by hand", "not found in the code", "CPU only"
# What any code shows written by hand, whatever its framework: its own backward pass, optimizer
# step (as torch.optim's `step`), shuffled batches (a permutation of the samples drawn per epoch).
SHUFFLES = (".permutation", "*.random.permutation", ".shuffle", "*.random.shuffle")
ASPECTS = {
    "backward_pass": Aspect("backward pass", ((PROVIDED, ()), (BY_HAND, ("def backward",)))),
    "optimizer": Aspect("optimizer", ((PROVIDED, ()), (BY_HAND, ("def step",)))),
    "batching_shuffling": Aspect("batching and shuffling", ((PROVIDED, ()), (BY_HAND, SHUFFLES))),
    # Moving arrays by hand comes first: a device scope with explicit moves is still by hand.
    "device_placement": Aspect("device placement", ((BY_HAND, ()), (PROVIDED, ()))),
    "checkpointing": Aspect("checkpointing", ((PROVIDED, ()), (BY_HAND, ("def save",)))),
    "evaluation_loop": Aspect("evaluation loop", ((PROVIDED, ()), (BY_HAND, ("def evaluate",)))),
}
# Between the names in an ``*_evidence`` cell: a name may hold a space (``def backward``).
EVIDENCE_SEPARATOR = ", "
CODE_COLUMNS = [
    "framework", "variant", "files", "code_lines", "api_names",
    *[column for name in ASPECTS for column in (name, f"{name}_evidence")], "api_list",
]  # fmt: skip
DEVEXP_COLUMNS = [
    "dataset", "arch", *CODE_COLUMNS[:-1], "install_mb", "import_s_median", "import_s_min",
    "import_s_max", "first_epoch_s_median", "api_list",
]  # fmt: skip


# --- the code part of devexp.csv ----------------------------------------------------------


def import_names(packages: Iterable[str]) -> set[str]:
    """The top-level modules of distributions ``packages`` (registry): the distribution name as
    Python spells a module (``tensorflow-cpu`` -> ``tensorflow_cpu``, which imports nothing)."""
    return {name.replace("-", "_") for name in packages}


def rules(name: str, fw: frameworks.Framework) -> list[tuple[str, tuple[str, ...]]]:
    """The rules of aspect ``name`` for framework ``fw``: its registry entry's API names
    (``provides``, ``by_hand``) with those of any code, in the aspect's order."""
    apis = {PROVIDED: fw.provides.get(name, ()), BY_HAND: fw.by_hand.get(name, ())}
    return [(verdict, apis[verdict] + patterns) for verdict, patterns in ASPECTS[name].rules]


def judge(name: str, fw: frameworks.Framework, uses: set[str]) -> tuple[str, list[str]]:
    """The verdict on aspect ``name`` for code of ``fw`` with ``uses``, and the uses that
    decided it."""
    for verdict, patterns in rules(name, fw):
        evidence = sorted(u for u in uses if any(fnmatchcase(u, p) for p in patterns))
        if evidence:
            return verdict, evidence
    return NOT_FOUND, []


def code_row(fw: frameworks.Framework, variant: str, files: list[Path], uses: Uses) -> dict:
    """One row of the code part of devexp.csv (:data:`CODE_COLUMNS`)."""
    row = {
        "framework": fw.name,
        "variant": variant,
        "files": len(files),
        "code_lines": uses.lines,
        "api_names": len(uses.api),
    }
    for name in ASPECTS:
        verdict, evidence = judge(name, fw, uses.all())
        if name == "device_placement" and not fw.gpu:
            verdict, evidence = CPU_ONLY, []  # nothing to place: the framework has one device
        row[name] = verdict
        row[f"{name}_evidence"] = EVIDENCE_SEPARATOR.join(evidence)
    return row | {"api_list": " ".join(sorted(uses.api))}


def idiomatic_files(fw: frameworks.Framework, src: Path) -> list[Path]:
    """The idiomatic module of ``fw`` under the source root ``src``, then the shared idiomatic
    modules it imports, whose code is its own: the two Keras frameworks' ``fit`` is
    ``keras_common.idiomatic``'s, what a Keras user writes on either backend."""
    path = module_path(fw.idiomatic, src)
    shared = [
        node.module
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith(f"{frameworks.__name__}.")
        and node.module.endswith(".idiomatic")
    ]
    return [path, *(module_path(name, src) for name in dict.fromkeys(shared))]


def variant_files(fw: frameworks.Framework, repo: Path) -> dict[str, tuple[list[Path], list[Path]]]:
    """Per variant: (its files, the files it may borrow definitions from)."""
    tuned = [f for source in fw.sources for f in codesize.python_files(repo / source)]
    return {"tuned": (tuned, []), "idiomatic": (idiomatic_files(fw, repo / "src"), tuned)}


def code_rows(names: Iterable[str], repo: str | Path) -> list[dict]:
    """The code part of devexp.csv for frameworks ``names``, from the code under ``repo``."""
    repo = Path(repo)
    rows = []
    for name in names:
        fw = frameworks.get(name)
        roots = import_names(fw.packages)
        for variant, (files, borrow_from) in variant_files(fw, repo).items():
            uses = analyse(files, roots, borrow_from, src=repo / "src")
            rows.append(code_row(fw, variant, files, uses))
    return rows


def idiomatic_imports(name: str, repo: str | Path) -> list[str]:
    """The framework modules the idiomatic code of ``name`` imports (:func:`idiomatic_files`):
    what a new user types."""
    fw = frameworks.get(name)
    roots = import_names(fw.packages)
    found = [
        module
        for path in idiomatic_files(fw, Path(repo) / "src")
        for module in framework_modules(ast.parse(path.read_text()), roots)
    ]
    return list(dict.fromkeys(found))


# --- time to first result (run in the framework's environment) --------------------------------


def install_bytes(packages: Iterable[str]) -> dict[str, int | None]:
    """Per distribution: the bytes of the files its metadata lists (None: not installed)."""
    sizes = {}
    for name in packages:
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            sizes[name] = None
            continue
        paths = (Path(f.locate()) for f in files)
        sizes[name] = sum(p.stat().st_size for p in paths if p.is_file())
    return sizes


def first_use(name: str, trains: Iterable[Mapping]) -> dict:
    """first_use.json of framework ``name``: install size of its packages, and the import time
    of the modules its idiomatic code imports as each of its training jobs (``trains``: their
    train.json) took it, first thing in a fresh interpreter (mlpcompare.training.import_clock)."""
    taken = [train["first_use"] for train in trains]
    return {
        "framework": name,
        "install_bytes": install_bytes(frameworks.get(name).packages),
        "modules": taken[0]["modules"] if taken else [],
        "import_seconds": [t["import_seconds"] for t in taken],
    }


# --- devexp.csv -------------------------------------------------------------------------------


def first_epochs(trains: Iterable[Mapping], idiomatic: Iterable[Mapping]) -> dict[tuple, float]:
    """(dataset, arch, framework, variant) -> median first-epoch seconds over the seeds (tuned:
    train.json of non-diverged runs; idiomatic: the seeds of idiomatic.json)."""
    seconds: dict[tuple, list[float]] = {}
    for run in trains:
        if run["train"]["status"] == "ok":
            key = (run["dataset"], run["arch"], run["framework"], "tuned")
            seconds.setdefault(key, []).append(run["train"]["first_epoch_seconds"])
    for record in idiomatic:
        key = (record["dataset"], record["arch"], record["framework"], "idiomatic")
        seconds.setdefault(key, []).extend(s["first_epoch_seconds"] for s in record["seeds"])
    return {key: statistics.median(values) for key, values in seconds.items() if values}


def devexp_table(
    code: list[dict], first: Mapping[str, dict], epochs: Mapping[tuple, float], pairs
) -> list[dict]:
    """devexp.csv: per dataset x arch (``pairs``) every ``code`` row with the framework's install
    size (MB) and median import time (``first``: framework -> first_use.json) and the variant's
    median first epoch (``epochs``: :func:`first_epochs`; blank where not measured)."""
    rows = []
    for dataset, arch in pairs:
        for row in code:
            fw, variant = row["framework"], row["variant"]
            use = first[fw]
            installed = [b for b in use["install_bytes"].values() if b is not None]
            rows.append(
                {"dataset": dataset, "arch": arch, **row}
                | {
                    "install_mb": round(sum(installed) / 1e6, 1),
                    "import_s_median": statistics.median(use["import_seconds"]),
                    "import_s_min": min(use["import_seconds"]),
                    "import_s_max": max(use["import_seconds"]),
                    "first_epoch_s_median": epochs.get((dataset, arch, fw, variant), ""),
                }
            )
    return rows


def write_devexp(
    *,
    names: list[str],
    runs: list[Mapping],
    idiomatic: list[Mapping],
    repo: str,
    first_use_files: list[str],
    train_files: list[str],
    idiomatic_files: list[str],
    output,
) -> None:
    """results/devexp.csv: the code of frameworks ``names`` under ``repo`` and the files the
    devexp rule declares: one first_use.json per name, one train.json per record of ``runs``
    and one idiomatic.json per record of ``idiomatic``, each list in its records' order."""
    for what, files, records in (
        ("first_use", first_use_files, names),
        ("train", train_files, runs),
        ("idiomatic", idiomatic_files, idiomatic),
    ):
        if len(files) != len(records):
            raise ValueError(f"devexp: {len(files)} {what} files for {len(records)} records")
    trains = [{**run, "train": io.read_json(f)} for run, f in zip(runs, train_files, strict=True)]
    measured = [{**io.read_json(f), **r} for r, f in zip(idiomatic, idiomatic_files, strict=True)]
    pairs = list(dict.fromkeys((run["dataset"], run["arch"]) for run in runs))
    table = devexp_table(
        code_rows(names, repo),
        {name: io.read_json(f) for name, f in zip(names, first_use_files, strict=True)},
        first_epochs(trains, measured),
        pairs,
    )
    io.write_csv(table, output, DEVEXP_COLUMNS)
