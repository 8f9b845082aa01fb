"""The one failure path: what a user can cause is one line and exit status 1, a bug a traceback."""

import errno
import logging

import pytest

from mlpcompare import logs


def test_a_user_error_is_one_logged_line_and_exit_status_1(caplog):
    error = logs.UserError("training.batch_size 128 is larger than the training set")
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(SystemExit) as caught,
        logs.one_line_errors(),
    ):
        raise error
    assert caught.value.code == "error: training.batch_size 128 is larger than the training set"
    assert caplog.messages == ["training.batch_size 128 is larger than the training set"]


def test_a_full_disk_or_a_missing_permission_is_one_line_naming_the_file():
    with pytest.raises(SystemExit) as caught, logs.one_line_errors():
        raise OSError(errno.ENOSPC, "No space left on device", "results/summary.csv")
    assert caught.value.code == "error: No space left on device: results/summary.csv"


def test_running_out_of_memory_says_what_to_change():
    with pytest.raises(SystemExit, match="out of memory"), logs.one_line_errors():
        raise MemoryError


def test_a_bug_keeps_its_traceback():
    with pytest.raises(KeyError), logs.one_line_errors():
        raise KeyError("not the user's doing")


def test_run_returns_what_main_returns():
    assert logs.run(lambda a, b=0: a + b, 1, b=2) == 3
