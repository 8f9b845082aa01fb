"""Atomic writes and safe reads."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpcompare import io

SRC = Path(__file__).resolve().parent.parent / "src"


def test_failed_write_leaves_neither_the_final_file_nor_a_temp_file(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_failed_write_keeps_the_previous_version(tmp_path):
    target = tmp_path / "a.json"
    io.write_json({"v": 1}, target)
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("{broken")
        raise RuntimeError
    assert io.read_json(target) == {"v": 1}


def test_json_turns_numpy_values_and_non_finite_floats_into_plain_json(tmp_path):
    io.write_json(
        {"a": np.float32(0.5), "b": np.arange(3), "c": math.nan, "d": [np.inf]}, tmp_path / "x.json"
    )
    assert json.loads((tmp_path / "x.json").read_text()) == {
        "a": 0.5,
        "b": [0, 1, 2],
        "c": None,
        "d": [None],
    }


def test_npz_round_trip_and_pickled_objects_are_refused(tmp_path):
    io.write_npz({"x": np.arange(4, dtype=np.float32)}, tmp_path / "a.npz")
    assert io.read_npz(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2, 3]
    np.savez(tmp_path / "evil.npz", obj=np.array([{"payload": 1}], dtype=object))
    with pytest.raises(io.ArtifactError, match="allow_pickle"):
        io.read_npz(tmp_path / "evil.npz")


def test_csv_has_header_and_rows(tmp_path):
    io.write_csv([{"a": 1, "b": 2}, {"a": 3, "b": 4}], tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["a,b", "1,2", "3,4"]


def test_written_files_get_the_usual_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        io.write_json({}, tmp_path / "p.json")
    finally:
        os.umask(old)
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "name, damage, rule",
    [
        ("model.npz", lambda p: p.write_bytes(p.read_bytes()[:50]), "train_numpy"),
        ("metrics.json", lambda p: p.write_text('{"accuracy": 0.9'), "evaluate_numpy"),
        ("history.csv", lambda p: p.write_text("epoch,lr,train_loss\n1,0.1\n"), "train_numpy"),
    ],
)
def test_a_damaged_artifact_is_one_line_naming_the_file_and_the_rule_that_rebuilds_it(
    tmp_path, monkeypatch, name, damage, rule
):
    monkeypatch.chdir(tmp_path)  # the workflow's working directory: results/ under it
    path = Path("results/digits/mlp-8/numpy/seed0") / name
    writers = {
        ".npz": lambda: io.write_npz({"W0": np.ones((2, 2), np.float32)}, path),
        ".json": lambda: io.write_json({"accuracy": 0.9}, path),
        ".csv": lambda: io.write_csv([{"epoch": 1, "lr": 0.1, "train_loss": 2.0}], path),
    }
    writers[path.suffix]()
    damage(path)
    reader = {".npz": io.read_npz, ".json": io.read_json, ".csv": io.read_csv}[path.suffix]
    with pytest.raises(io.ArtifactError) as caught:
        reader(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert message.endswith(f"rebuild it: snakemake --forcerun {rule}")


def test_a_damaged_file_outside_results_says_to_delete_it(tmp_path):
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(io.ArtifactError, match="delete it and run again"):
        io.read_json(tmp_path / "t.json")


SLOW_WRITER = """
import sys, time
from mlpcompare import io, logs
logs.to_file(sys.argv[2])
with io.atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigterm_while_writing_leaves_neither_the_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out" / "table.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(target), str(tmp_path / "job.log")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "writing"
    assert len(list(target.parent.iterdir())) == 1  # the temporary file, while it writes
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert list(target.parent.iterdir()) == []
    assert "error: stopped by signal SIGTERM" in (tmp_path / "job.log").read_text()
