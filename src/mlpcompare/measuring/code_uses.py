"""What some code uses, read with :mod:`ast` (nothing is imported or run): the framework API names
it refers to, the methods it calls, the functions it defines and its lines of code.

A framework API name is an attribute chain rooted at a name imported from one of the framework's
packages (``torch.nn.functional.cross_entropy``, ``jax.numpy.dot``), aliases resolved. Code may
borrow definitions from other files (the idiomatic variant's model class, from the tuned code):
:func:`analyse` follows those imports, and the imports of what it borrowed, to the definitions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlpcompare.measuring import codesize


@dataclass
class Uses:
    """What some code uses: ``api`` (framework API names), ``methods`` (``.name`` called on an
    object that is not an imported module), ``defs`` (``def name``), ``own_methods`` (``.name``
    of the methods its classes define), ``modules`` (framework modules it imports) and its
    ``lines`` of code."""

    api: set[str]
    methods: set[str]
    defs: set[str]
    own_methods: set[str]
    modules: list[str]
    lines: int

    def all(self) -> set[str]:
        """Every use; a method one of the code's classes defines (``def backward`` in a class)
        is its own, not the framework's, when called. A function defined outside a class
        (``def fit``) is no method: ``model.fit(...)`` still calls the framework's."""
        return self.api | (self.methods - self.own_methods) | self.defs


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


def framework_modules(tree: ast.Module, roots: set[str]) -> list[str]:
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
    api, methods, defs, own_methods = set(), set(), set(), set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.add(f"def {node.name}")
            if isinstance(parents.get(node), ast.ClassDef):
                own_methods.add(f".{node.name}")
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
    modules = framework_modules(tree, roots) if names is None else []
    return Uses(api, methods, defs, own_methods, modules, len(rows))


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


def borrowed(
    source: str, own: set[Path], src: Path, names: set[str] | None = None
) -> dict[Path, set[str]]:
    """The names ``source`` imports from the files ``own`` (a framework's tuned code), by file.

    ``names``: only the imports that its definitions of ``names`` refer to, or that bind one of
    ``names`` (a package's ``__init__`` re-exporting a submodule's definition), else all.
    """
    tree = ast.parse(source)
    if names is not None:
        nodes = (n for top in _definitions(tree, names) for n in ast.walk(top))
        wanted = set(names) | {n.id for n in nodes if isinstance(n, ast.Name)}
    found: dict[Path, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            path = module_path(node.module, src).resolve()
            picked = {a.name for a in node.names if names is None or (a.asname or a.name) in wanted}
            if path in own and picked:
                found.setdefault(path, set()).update(picked)
    return found


def analyse(files: list[Path], roots: set[str], borrow_from: Iterable[Path] = (), *, src: Path):
    """The :class:`Uses` of a variant: every file of ``files``, plus the definitions they import
    from ``borrow_from`` (the framework's tuned files, for the idiomatic variant)."""
    own = {Path(p).resolve() for p in borrow_from}
    parts = []
    for path in files:
        source = Path(path).read_text()
        parts.append(scan(source, roots))
        parts += [
            scan(other.read_text(), roots, names)
            for other, names in _borrowed_all(source, own, src).items()
        ]
    return Uses(
        api=set().union(*(p.api for p in parts)),
        methods=set().union(*(p.methods for p in parts)),
        defs=set().union(*(p.defs for p in parts)),
        own_methods=set().union(*(p.own_methods for p in parts)),
        modules=list(dict.fromkeys(m for p in parts for m in p.modules)),
        lines=sum(p.lines for p in parts),
    )


def _borrowed_all(source: str, own: set[Path], src: Path) -> dict[Path, set[str]]:
    """What ``source`` borrows from ``own``, and what that borrows in turn, until nothing new:
    the names to read in each file (each file read once, so no line counts twice)."""
    wanted = borrowed(source, own, src)
    todo = list(wanted)
    while todo:
        path = todo.pop()
        for other, names in borrowed(path.read_text(), own, src, wanted[path]).items():
            if not names <= wanted.get(other, set()):
                wanted[other] = wanted.get(other, set()) | names
                todo.append(other)
    return wanted
