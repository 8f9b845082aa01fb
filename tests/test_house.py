"""The package stays a house a newcomer can walk: no module over 300 lines, no import circle.

The import graph is read from the source (``ast``), not by importing it: every import a module
runs when it is imported (anything outside a function body), each resolved to the module it
loads. ``from mlpcompare.x import y`` loads ``mlpcompare.x.y`` when ``y`` is a submodule, else
``mlpcompare.x``; loading a module first loads the packages above it.
"""

import ast
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src"
PACKAGE = "mlpcompare"
MAX_LINES = 300


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def import_time_nodes(tree: ast.Module):
    """The import statements run when the module is imported: all but those in function bodies."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that importing ``name`` (its file ``path``) loads directly."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in import_time_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the package, one level up per extra dot
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    loaded = {t for t in targets if t in known}
    own = set(ancestors(name))  # being imported, its own packages are already loading
    loaded |= {a for t in loaded for a in ancestors(t) if a in known and a not in own}
    return loaded - {name}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None (depth-first, colours)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_is_over_300_lines():
    over = {
        str(path.relative_to(ROOT)): n
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_graph_resolves_submodules_and_finds_a_circle():
    graph = import_graph()
    assert "mlpcompare.aggregating.runs" in graph["mlpcompare.aggregating.summary"]
    assert "mlpcompare.studies.design" in graph["mlpcompare.studies"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
