"""The GPU set-up (`make run DEVICE=cuda`) and the device script stay in step with the CPU set-up:
requirements-cuda.txt is requirements.txt with the CUDA builds, every pin is constrained, the
Makefile installs them into their own venv, and tools/gpu_workflow.sh is what the docs show."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# The lines requirements-cuda.txt changes, by package: requirements.txt's -> its.
CUDA_BUILDS = {
    "jax": "jax[cuda12]==0.10.2",
    "tensorflow": "tensorflow[and-cuda]==2.21.0",
    "torch": "torch===2.13.0",
}


def requirements(name: str) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def version(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator in ("==", "==="), req
    return spec.version


def test_cuda_requirements_are_the_cpu_ones_with_the_cuda_builds():
    cpu = {}
    for req in requirements("requirements.txt"):
        name = "tensorflow" if req.name == "tensorflow-cpu" else req.name
        cpu.setdefault(name, set()).add(version(req))
    cuda = {req.name: req for req in requirements("requirements-cuda.txt")}
    assert set(cuda) == set(cpu), set(cuda) ^ set(cpu)
    for name, req in cuda.items():
        assert {version(req)} == cpu[name], f"{req}: requirements.txt has {cpu[name]}"
        assert req.marker is None, f"{req}: the CUDA set-up is for Linux x86_64 alone"
        if name in CUDA_BUILDS:
            assert str(req) == CUDA_BUILDS[name]
        else:
            assert not req.extras and str(req.specifier).startswith("=="), req


def test_every_cuda_requirement_is_pinned_by_the_two_constraints_files():
    cpu = {}
    for req in requirements("constraints.txt"):
        cpu.setdefault(req.name, []).append(req)
    cuda = requirements("constraints-cuda.txt")
    pins = {req.name: version(req) for req in cuda}
    assert len(pins) == len(cuda), "constraints-cuda.txt names a package twice"
    for name in pins:
        linux = [r for r in cpu.get(name, []) if r.marker is None or r.marker.evaluate(
            {"sys_platform": "linux", "platform_machine": "x86_64"})]  # fmt: skip
        assert not linux, f"{name}: pinned for Linux x86_64 in constraints.txt already"
        assert "+" not in pins[name], f"constraints-cuda.txt: {name} has a local version label"
    for req in requirements("requirements-cuda.txt"):
        pinned = pins.get(req.name) or next(
            version(r) for r in cpu[req.name]
        )  # fmt: skip
        assert pinned == version(req), f"{req}: constrained to {pinned}"
    # What the CUDA builds bring: torch's CUDA 13 stack and triton, the CUDA 12 stack that
    # tensorflow[and-cuda] and jax[cuda12] share, and JAX's CUDA plugin.
    for name in ("triton", "nvidia-cudnn-cu12", "nvidia-cudnn-cu13", "jax-cuda12-plugin",
                 "jax-cuda12-pjrt", "tensorflow"):  # fmt: skip
        assert name in pins, name


def make_dry_run(*args: str) -> subprocess.CompletedProcess:
    """``make -n`` as a user types it, also when the tests themselves run under `make test`
    (a sub-make would print its directory and inherit the outer make's flags)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-n", "-B", *args], cwd=ROOT,
                          capture_output=True, text=True, env=env)  # fmt: skip


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_device_cuda_installs_the_cuda_set_into_its_own_venv_and_runs_on_cuda():
    cuda = make_dry_run("run", "DEVICE=cuda")
    assert cuda.returncode == 0, cuda.stderr
    lines = cuda.stdout.splitlines()
    assert any("python3.11 -m venv .venv-cuda" in line for line in lines), lines
    assert (".venv-cuda/bin/python -m pip install --quiet -r requirements-cuda.txt -r "
            "requirements-dev.txt -c constraints.txt -c constraints-cuda.txt") in lines  # fmt: skip
    # The package's declared dependencies are requirements.txt's, tensorflow-cpu among them.
    assert any("--no-deps -e ." in line for line in lines), lines
    assert lines[-1] == ".venv-cuda/bin/snakemake --cores 8 --config device=cuda"
    bench = make_dry_run("bench", "DEVICE=cuda", "MIRROR=")
    assert ".venv-cuda/bin/snakemake --cores 8 --config datasets='[mnist]' device=cuda" in (
        bench.stdout
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_without_device_is_the_cpu_set_up_and_a_wrong_device_stops():
    cpu = make_dry_run("run")
    assert cpu.returncode == 0, cpu.stderr
    lines = cpu.stdout.splitlines()
    assert (".venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt "
            "-c constraints.txt") in lines  # fmt: skip
    assert "cuda" not in cpu.stdout and lines[-1].strip() == ".venv/bin/snakemake --cores 8"
    wrong = make_dry_run("run", "DEVICE=gpu")
    assert wrong.returncode != 0 and "DEVICE is cuda or unset" in wrong.stderr


def test_the_device_scripts_folders_are_ignored_and_its_wheels_pinned():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    # .venv and .venv-cuda without a slash: a venv may be a link to one elsewhere.
    assert {".venv", ".venv-cuda", ".gpu-wheels/", ".gpu-mnist/"} <= set(ignored)
    constraints = {req.name for req in requirements("constraints.txt")}
    wheels = requirements("tools/gpu-wheels.txt")
    assert wheels and all(not req.specifier for req in wheels)  # constraints.txt pins them
    assert {req.name for req in wheels} <= constraints
    assert {"snakemake", "keras", "jsonschema"} <= {req.name for req in wheels}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_device_script_parses_and_says_how_to_call_it():
    script = ROOT / "tools" / "gpu_workflow.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "prepare|run" in usage.stderr
    no_out = subprocess.run(
        ["bash", str(script), "run"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )
    assert no_out.returncode != 0 and "OUT" in no_out.stderr


def test_the_docs_show_the_device_call_the_script_serves():
    text = (ROOT / "docs" / "cluster-and-gpu.md").read_text()
    section = text[text.index("### GPU figures") :]
    assert "bash tools/gpu_workflow.sh prepare" in section
    assert "bash tools/gpu_workflow.sh run" in section
    assert re.search(r"carry.*\.gpu-wheels.*\.gpu-mnist", section), section[:600]
