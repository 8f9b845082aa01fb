"""A rule's logging and its one failure path.

:func:`to_file` routes logging, warnings and stderr to the rule's log (``log:`` in the rule) and
makes SIGTERM (Snakemake cancelling a job, a scheduler's time limit) unwind the Python stack, so
every half-written temporary file is removed on the way out (see :func:`mlpcompare.io.atomic_path`).
:func:`one_line_errors` turns every failure a user can cause into one line naming its cause.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

log = logging.getLogger("mlpcompare")


class UserError(Exception):
    """A problem the user can fix (bad input, bad data): reported as one line, no traceback."""


def to_file(path: str, level: int = logging.INFO) -> None:
    """Send logging and stderr to ``path`` (line-buffered, so progress shows while a job runs)."""
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum, frame) -> None:
    """SIGTERM as an exception: ``finally`` blocks run (temporary files are removed)."""
    raise SystemExit(f"error: stopped by signal {signal.Signals(signum).name}")


def one_line(err: BaseException) -> str | None:
    """The line that reports ``err`` if a user can cause it, else None (a bug: a traceback)."""
    if isinstance(err, UserError):
        return str(err)
    if isinstance(err, MemoryError):
        return "out of memory (use a smaller architecture, batch size or dataset, or more memory)"
    if isinstance(err, OSError) and err.errno is not None:  # disk full, permission denied, ...
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where}"
    return None


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Report a failure a user can cause as one logged line and exit status 1 (no traceback)."""
    try:
        yield
    except Exception as err:
        line = one_line(err)
        if line is None:
            raise
        log.error("%s", line)
        sys.exit(f"error: {line}")


def run(main, *args, **kwargs):
    """Call ``main`` under :func:`one_line_errors`."""
    with one_line_errors():
        return main(*args, **kwargs)
