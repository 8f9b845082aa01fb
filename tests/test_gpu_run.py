"""tools/gpu_run.py: the GPU path without Snakemake runs what the rules run (here on the CPU)."""

import csv
import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import MIRROR, ROOT

spec = importlib.util.spec_from_file_location("gpu_run", ROOT / "tools" / "gpu_run.py")
gpu_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_run)


def test_scaling_variants_are_the_presets_grid_corner_first():
    config = gpu_run.load_config()
    variants = gpu_run.scaling_variants(config, epochs=5)
    points = [(v["batch_size"], v["width"]) for v in variants]
    assert points[:4] == list(gpu_run.CORNER)
    assert sorted(points) == sorted(
        (b, w) for b in (32, 128, 1024, 4096) for w in (256, 1024, 4096)
    )
    last = variants[-1]
    assert last["arch"] == {"hidden": [last["width"]], "activation": "relu", "dropout": 0.2}
    assert last["training"]["epochs"] == 5 and last["training"]["patience"] == 0
    assert last["training"]["batch_size"] == last["batch_size"]
    # the rules get MNIST's own target, not the per-dataset mapping
    assert last["training"]["target_val_accuracy"] == 0.97


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.exists(), reason="needs the local MNIST mirror")
def test_run_on_the_cpu_checks_parity_trains_evaluates_and_tabulates(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    command = [sys.executable, str(ROOT / "tools" / "gpu_run.py"), "run", "--raw",
               str(MIRROR / "mnist"), "--out", str(out), "--work", str(work), "--device", "cpu",
               "--frameworks", "torch", "--seeds", "0", "--epochs", "1", "--budget-s", "0",
               "--grace-s", "300"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert "time budget spent" in run.stdout  # no scaling variant after --budget-s
    [parity] = json.loads((out / "parity.json").read_text())
    assert parity["within_tolerance"] and parity["device"] == "cpu"
    [row] = list(csv.DictReader((out / "reference.csv").open()))
    assert row["framework"] == "torch" and row["epochs_run"] == "1"
    assert float(row["test_accuracy"]) > 0.9 and float(row["ceiling_samples_per_s"]) > 0
    apis = {r["api"] for r in csv.DictReader((out / "inference.csv").open())}
    assert apis == {"module_call_no_grad", "inference_mode", "onnxruntime"}
    assert (out / "gpu-results.tgz").stat().st_size > 0
