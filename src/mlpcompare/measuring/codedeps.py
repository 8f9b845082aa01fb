"""Which source files a job executes, derived from the code: the rerun trigger for code edits.

Snakemake reruns a job when its script changes, not when the package code the script calls
does. The rules therefore list, as inputs, every module of this package that a job's entry
point imports, transitively, read from the code itself (Python's own parser): editing
``torch_mlp.py`` reruns the jobs that run it and their dependants, and nothing else. Two kinds
of reference are followed: ``import`` statements of ``mlpcompare`` modules, and string constants
that name one (``"mlpcompare.presenting.plots:learning_curves"``, as registries do). The frameworks'
modules, which :mod:`mlpcompare.frameworks` loads by the name in its data file, are given by the
rules from the registry.

The script itself is among the files: with Snakemake's own code trigger (script modification
time) switched off in the profiles, content decides, as for every other input: a ``touch``
reruns nothing, an edit reruns what runs the edited code.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

PACKAGE = "mlpcompare"
# A module named in a string: "mlpcompare.presenting.plots" or "mlpcompare.presenting.plots:function".
NAMED = re.compile(rf"^({PACKAGE}(?:\.\w+)*)(?::\w+)?$")


def module_file(src: Path, name: str) -> Path | None:
    """The file of module ``name`` under ``src`` (a module or a package), or None."""
    base = src.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _references(tree: ast.AST) -> set[str]:
    """Module names a file refers to: its imports and the module names in its strings."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from mlpcompare import io` imports the submodule mlpcompare.io
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = NAMED.match(node.value)
            if match:
                names.add(match.group(1))
    return {name for name in names if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


@cache
def _imports(path: Path, mtime_ns: int) -> frozenset[str]:
    """``_references`` of the file at ``path`` as it was at ``mtime_ns`` (the cache key)."""
    return frozenset(_references(ast.parse(path.read_text(), filename=str(path))))


def sources(src: str | Path, entry: str | Path, modules: tuple[str, ...] = ()) -> list[str]:
    """``entry`` (a script) and every file of the package under ``src`` that it and ``modules``
    reach. Parent packages come with their modules (importing ``a.b`` runs ``a/__init__.py``).
    Sorted, so the rule's input list is stable.
    """
    src = Path(src)
    todo = [Path(entry)] + [f for name in modules if (f := module_file(src, name))]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path, path.stat().st_mtime_ns):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # the package, then each level down
                found = module_file(src, ".".join(parts[:depth]))
                if found and found not in seen:
                    todo.append(found)
    return sorted(str(path) for path in seen)
