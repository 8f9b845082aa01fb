"""Development experience, measured from the code: what each framework's user writes, and how
long a new user waits before the first result.

Per framework and variant (``tuned``: the registry's ``sources``; ``idiomatic``: its
``idiomatic`` module plus the definitions it borrows from those sources, such as the model class):

* code lines, as :mod:`mlpcompare.measuring.codesize` counts them (comments, docstrings, blanks out);
* the distinct framework API names used: attribute chains rooted at a name imported from one of
  the framework's packages (``torch.nn.functional.cross_entropy``, ``jax.numpy.dot``), aliases
  resolved; for NumPy, NumPy is the framework;
* for each :data:`ASPECTS` entry, whether the framework provides it or the user writes it by hand,
  decided by what the code calls or defines (``loss.backward()`` -> provided, ``def backward``
  -> by hand), with the names that decided it as evidence.

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

VARIANTS = ("tuned", "idiomatic")


@dataclass(frozen=True)
class Aspect:
    """One thing a training program needs. ``rules``: (verdict, patterns) in order; the first
    rule one of whose patterns matches a use of the code decides; ``otherwise`` when none does.

    A use is a framework API name (``torch.save``), a method called on an object (``.backward``)
    or a function the code defines (``def backward``); patterns are shell-style (``torch.optim.*``).
    """

    label: str
    rules: tuple[tuple[str, tuple[str, ...]], ...]
    otherwise: str


PROVIDED, BY_HAND, ABSENT, CPU_ONLY = "provided", "by hand", "not in this code", "CPU only"
# `.fit` does the whole loop (gradients, optimizer steps, batches); frameworks' autodiff entry
# points (autograd, GradientTape, function transformations) provide the backward pass.
ASPECTS = {
    "backward_pass": Aspect(
        "backward pass",
        (
            (PROVIDED, (".backward", ".gradient", "jax.grad", "jax.value_and_grad", ".fit")),
            (BY_HAND, ("def backward",)),
        ),
        BY_HAND,
    ),
    "optimizer": Aspect(
        "optimizer",
        (
            (
                PROVIDED,
                ("torch.optim.*", "keras.optimizers.*", "optax.adam", "optax.sgd", "optax.chain"),
            ),
        ),
        BY_HAND,
    ),
    "batching_shuffling": Aspect(
        "batching and shuffling",
        ((PROVIDED, ("torch.utils.data.DataLoader", ".fit", "tensorflow.data.*")),),
        BY_HAND,
    ),
    # Moving arrays by hand comes first: a device scope with explicit moves is still by hand.
    "device_placement": Aspect(
        "device placement",
        (
            (BY_HAND, (".to", ".cuda", "jax.device_put")),
            (PROVIDED, ("keras.device", "jax.default_device", "tensorflow.device")),
        ),
        PROVIDED,
    ),
    "checkpointing": Aspect(
        "checkpointing",
        (
            (PROVIDED, ("torch.save", ".save", ".save_weights", "keras.saving.*")),
            (BY_HAND, ("def save", "numpy.save*")),
        ),
        ABSENT,
    ),
    "evaluation_loop": Aspect(
        "evaluation loop",
        ((PROVIDED, (".evaluate",)), (BY_HAND, ("def evaluate",))),
        ABSENT,
    ),
}
CODE_COLUMNS = [
    "framework", "variant", "files", "code_lines", "api_names",
    *[column for name in ASPECTS for column in (name, f"{name}_evidence")], "api_list",
]  # fmt: skip
DEVEXP_COLUMNS = [
    "dataset", "arch", *CODE_COLUMNS[:-1], "install_mb", "import_s_median", "import_s_min",
    "import_s_max", "first_epoch_s_median", "api_list",
]  # fmt: skip


# --- reading the code -------------------------------------------------------------------------


def import_names(packages: Iterable[str]) -> set[str]:
    """The top-level modules of distributions ``packages`` (registry): the distribution name as
    Python spells a module (``tensorflow-cpu`` -> ``tensorflow_cpu``, which imports nothing)."""
    return {name.replace("-", "_") for name in packages}


@dataclass
class Uses:
    """What some code uses: ``api`` (framework API names), ``methods`` (``.name`` called on an
    object that is not an imported module), ``defs`` (``def name``), ``modules`` (framework
    modules it imports) and its ``lines`` of code."""

    api: set[str]
    methods: set[str]
    defs: set[str]
    modules: list[str]
    lines: int

    def all(self) -> set[str]:
        """Every use; a method the code defines itself (``def backward``) is its own, not the
        framework's, when called."""
        called = {m for m in self.methods if f"def {m[1:]}" not in self.defs}
        return self.api | called | self.defs


def _imports(tree: ast.Module) -> dict[str, str]:
    """Every name an import statement binds in ``tree``, as the dotted name it stands for."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`
                local = alias.asname or alias.name.split(".")[0]
                bound[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _framework_modules(tree: ast.Module, roots: set[str]) -> list[str]:
    """The framework modules ``tree`` imports (``torch.utils.data``, ``keras``), first-seen order."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return list(dict.fromkeys(m for m in found if m.split(".")[0] in roots))


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def scan(source: str, roots: set[str], names: set[str] | None = None) -> Uses:
    """What ``source`` uses; ``roots``: the framework's top-level modules. ``names``: only these
    top-level definitions (and what they refer to in the same module), else the whole module."""
    tree = ast.parse(source)
    bound = _imports(tree)
    framework = {local: full for local, full in bound.items() if full.split(".")[0] in roots}
    if names is None:
        nodes, rows = [tree], codesize.code_rows(source)
    else:
        nodes = _definitions(tree, names)
        spans = {
            row
            for node in nodes
            for row in range(_first_line(node), node.end_lineno + 1)
        }  # fmt: skip
        rows = codesize.code_rows(source) & spans
    parents = {child: parent for node in nodes for parent in ast.walk(node)
               for child in ast.iter_child_nodes(parent)}  # fmt: skip
    api, methods, defs = set(), set(), set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.add(f"def {node.name}")
        if not isinstance(node, ast.Attribute | ast.Name):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # part of a longer chain: the chain's end is what is used
        chain = _chain(node)
        if chain and chain[0] in framework:
            api.add(".".join([framework[chain[0]], *chain[1:]]))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(parent, ast.Call)
            and parent.func is node
            and not (chain and (chain[0] in bound or chain == ["self", node.attr]))
        ):
            methods.add(f".{node.attr}")  # a method of an object, not of a module or of self
    modules = _framework_modules(tree, roots) if names is None else []
    return Uses(api, methods, defs, modules, len(rows))


def _first_line(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _defined(node: ast.stmt) -> set[str]:
    """The names a top-level statement defines (functions, classes, assigned names)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _definitions(tree: ast.Module, names: set[str]) -> list[ast.stmt]:
    """The top-level statements defining ``names``, and those they refer to, transitively."""
    by_name = {name: node for node in tree.body for name in _defined(node)}
    wanted, todo = [], [name for name in names if name in by_name]
    while todo:
        node = by_name[todo.pop()]
        if node in wanted:
            continue
        wanted.append(node)
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in by_name]
    return sorted(wanted, key=lambda node: node.lineno)


def module_path(module: str, src: Path) -> Path:
    """The file of module ``module`` under the source root ``src`` (a package: its __init__)."""
    base = src / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def borrowed(source: str, own: set[Path], src: Path) -> dict[Path, set[str]]:
    """The names ``source`` imports from the files ``own`` (a framework's tuned code), by file."""
    found: dict[Path, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            path = module_path(node.module, src).resolve()
            if path in own:
                found.setdefault(path, set()).update(a.name for a in node.names)
    return found


def analyse(files: list[Path], roots: set[str], borrow_from: Iterable[Path] = (), *, src: Path):
    """The :class:`Uses` of a variant: every file of ``files``, plus the definitions they import
    from ``borrow_from`` (the framework's tuned files, for the idiomatic variant)."""
    own = {Path(p).resolve() for p in borrow_from}
    parts = []
    for path in files:
        source = Path(path).read_text()
        parts.append(scan(source, roots))
        for other, names in borrowed(source, own, src).items():
            parts.append(scan(other.read_text(), roots, names))
    return Uses(
        api=set().union(*(p.api for p in parts)),
        methods=set().union(*(p.methods for p in parts)),
        defs=set().union(*(p.defs for p in parts)),
        modules=list(dict.fromkeys(m for p in parts for m in p.modules)),
        lines=sum(p.lines for p in parts),
    )


def judge(aspect: Aspect, uses: set[str]) -> tuple[str, list[str]]:
    """The verdict on ``aspect`` for code with ``uses``, and the uses that decided it."""
    for verdict, patterns in aspect.rules:
        evidence = sorted(u for u in uses if any(fnmatchcase(u, p) for p in patterns))
        if evidence:
            return verdict, evidence
    return aspect.otherwise, []


def code_row(framework: str, variant: str, files: list[Path], uses: Uses, *, gpu: bool) -> dict:
    """One row of the code part of devexp.csv (:data:`CODE_COLUMNS`)."""
    row = {
        "framework": framework,
        "variant": variant,
        "files": len(files),
        "code_lines": uses.lines,
        "api_names": len(uses.api),
    }
    for name, aspect in ASPECTS.items():
        verdict, evidence = judge(aspect, uses.all())
        if name == "device_placement" and not gpu:
            verdict, evidence = CPU_ONLY, []  # nothing to place: the framework has one device
        row[name] = verdict
        row[f"{name}_evidence"] = " ".join(evidence)
    return row | {"api_list": " ".join(sorted(uses.api))}


def variant_files(fw: frameworks.Framework, repo: Path) -> dict[str, tuple[list[Path], list[Path]]]:
    """Per variant: (its files, the files it may borrow definitions from)."""
    tuned = [f for source in fw.sources for f in codesize.python_files(repo / source)]
    idiomatic = module_path(fw.idiomatic, repo / "src")
    return {"tuned": (tuned, []), "idiomatic": ([idiomatic], tuned)}


def code_rows(names: Iterable[str], repo: str | Path) -> list[dict]:
    """The code part of devexp.csv for frameworks ``names``, from the code under ``repo``."""
    repo = Path(repo)
    rows = []
    for name in names:
        fw = frameworks.get(name)
        roots = import_names(fw.packages)
        for variant, (files, borrow_from) in variant_files(fw, repo).items():
            uses = analyse(files, roots, borrow_from, src=repo / "src")
            rows.append(code_row(name, variant, files, uses, gpu=fw.gpu))
    return rows


def idiomatic_imports(name: str, repo: str | Path) -> list[str]:
    """The framework modules the idiomatic module of ``name`` imports: what a new user types."""
    fw = frameworks.get(name)
    path = module_path(fw.idiomatic, Path(repo) / "src")
    return _framework_modules(ast.parse(path.read_text()), import_names(fw.packages))


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
    *, names: list[str], runs: list[Mapping], idiomatic: list[Mapping], repo: str, layout, output
) -> None:
    """results/devexp.csv: the code of frameworks ``names`` under ``repo``, their first_use.json,
    the train.json of ``runs`` and the idiomatic.json of each record in ``idiomatic`` (read
    through ``layout``)."""
    trains = [{**run, "train": io.read_json(layout.run_file(run, "train.json"))} for run in runs]
    measured = [
        {**io.read_json(layout.idiomatic(r["dataset"], r["arch"], r["framework"])), **r}
        for r in idiomatic
    ]
    pairs = list(dict.fromkeys((run["dataset"], run["arch"]) for run in runs))
    table = devexp_table(
        code_rows(names, repo),
        {name: io.read_json(layout.first_use(name)) for name in names},
        first_epochs(trains, measured),
        pairs,
    )
    io.write_csv(table, output, DEVEXP_COLUMNS)
