"""Route a rule's logging, warnings and stderr to its log file (``log:`` in the rule)."""

from __future__ import annotations

import logging
import sys


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


class UserError(Exception):
    """A problem the user can fix (bad input, bad data): reported as one line, no traceback."""


def run(main, *args, **kwargs):
    """Call ``main``; a :class:`UserError` becomes one logged line and exit status 1."""
    try:
        return main(*args, **kwargs)
    except UserError as err:
        logging.getLogger("mlpcompare").error("%s", err)
        sys.exit(f"error: {err}")
