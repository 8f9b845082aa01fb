"""A framework's import time, taken first thing in a training job's fresh interpreter.

Every training job starts a fresh interpreter and imports its framework, so timing that import
there measures "time to first result" once per seed, and no interpreter is started only to time
it. Standard library only: nothing the timed modules load may be loaded before them.
"""

import importlib
import os
import time
from collections.abc import Mapping


def set_environment(environment: Mapping[str, str]) -> None:
    """Set ``environment`` in this process, over any value inherited: these variables decide how
    the framework starts (``KERAS_BACKEND`` is which framework it is), and a shell or a parent
    process that set them for another framework must not change it."""
    os.environ.update(environment)


def import_seconds(modules: list[str], environment: Mapping[str, str] | None = None) -> float:
    """Seconds to import ``modules``, in order, in this process, with ``environment`` set first
    (a framework's registry entry ``import_environment``: its trainer starts the framework so,
    and a framework starts once per process)."""
    set_environment(environment or {})
    start = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    return time.perf_counter() - start
