"""Atomic writes and safe reads."""

import json
import math
import os

import numpy as np
import pytest

from mlpcompare import io


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
    with pytest.raises(ValueError, match="allow_pickle"):
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
