"""How big a config may be, checked before anything walks it: the first thing the workflow does
with its config (rules/common.smk), so that a config cannot make start-up hang.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# Bounds on the config's size, checked before anything walks it. config.yaml with every preset's
# studies holds under a thousand values nested under ten deep; a YAML file of a few hundred bytes
# can hold aliases that expand to billions of values ("billion laughs"). PyYAML builds an alias as
# a reference to the same object, so loading it is quick, but every walk over it (coercion, the
# schema, the studies) visits each expanded value. These bounds sit far above a real config and
# far below a walk that would take a second.
MAX_VALUES = 100_000
MAX_DEPTH = 32


def size_problem(config, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH) -> str | None:
    """One line if ``config`` holds more than ``max_values`` values (mapping entries and list
    items, a value reached through several aliases counted each time) or nests mappings and
    lists more than ``max_depth`` deep (``training: {lr: 0.1}`` is 2); else None.

    Each distinct mapping or list is sized once (an alias is the same object), so the check
    costs what the file's text does, whatever its aliases expand to; it keeps a stack of its
    own, so no nesting reaches Python's recursion limit. An alias inside itself (``&a [*a]``,
    which PyYAML builds as a list holding itself) expands forever, and is refused too.
    """
    sized: dict[int, tuple[int, int]] = {}  # id -> (values, depth) of a container sized
    open_ids: set[int] = set()  # containers whose sizing has begun: the path from the top
    stack = [(config, False)]
    while stack:
        node, children_sized = stack.pop()
        if not isinstance(node, dict | list) or id(node) in sized:
            continue
        items = list(node.values() if isinstance(node, dict) else node)
        children = [item for item in items if isinstance(item, dict | list)]
        if not children_sized:
            if id(node) in open_ids:
                return "the config holds an alias inside itself: it expands without end"
            open_ids.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        values = len(items) + sum(sized[id(child)][0] for child in children)
        depth = 1 + max((sized[id(child)][1] for child in children), default=0)
        sized[id(node)] = (values, depth)
        open_ids.discard(id(node))
        if depth > max_depth:
            return f"the config nests deeper than {max_depth} levels (a real one: under 10)"
        if values > max_values:
            return (
                f"the config holds more than {max_values:,} values once its YAML aliases are "
                "expanded (a real one: under a thousand)"
            )
    return None


def file_problem(path: str | os.PathLike) -> str | None:
    """:func:`size_problem` of the YAML file ``path``, for a command that starts Snakemake with
    it (``--configfile``): Snakemake's own reader stops with a ``RecursionError`` traceback on a
    file nesting a few hundred levels deep, before the workflow can say anything."""
    try:
        config = yaml.safe_load(Path(path).read_text())
    except RecursionError:
        return f"{path}: the config nests deeper than {MAX_DEPTH} levels (a real one: under 10)"
    except (OSError, yaml.YAMLError):
        return None  # Snakemake reports these in its own words
    found = size_problem(config)
    return f"{path}: {found}" if found else None
