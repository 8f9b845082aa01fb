"""A framework's import time, taken first thing in a training job's fresh interpreter.

Every training job starts a fresh interpreter and imports its framework, so timing that import
there measures "time to first result" once per seed, and no interpreter is started only to time
it. Standard library only: nothing the timed modules load may be loaded before them.
"""

import importlib
import time


def import_seconds(modules: list[str]) -> float:
    """Seconds to import ``modules``, in order, in this process."""
    start = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    return time.perf_counter() - start
