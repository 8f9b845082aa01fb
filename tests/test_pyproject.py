"""pyproject.toml in step with the pinned requirements, and the package installable with its data
and its command."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def pins(path: Path) -> list[str]:
    """A requirements file's requirement lines, normalised (comments and blanks dropped)."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [str(Requirement(line)) for line in lines if line]


def normalised(requirements: list[str]) -> list[str]:
    return [str(Requirement(line)) for line in requirements]


def test_dependencies_are_requirements_txt():
    assert normalised(PROJECT["dependencies"]) == pins(ROOT / "requirements.txt")


def test_the_dev_extra_is_requirements_dev_txt():
    assert normalised(PROJECT["optional-dependencies"]["dev"]) == pins(
        ROOT / "requirements-dev.txt"
    )


def test_every_dependency_is_pinned_as_constraints_txt_pins_it():
    constraints = {}
    for line in pins(ROOT / "constraints.txt"):
        req = Requirement(line)
        constraints.setdefault(req.name.lower(), set()).add(str(req.specifier))
    for line in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]:
        req = Requirement(line)
        assert str(req.specifier).startswith("=="), line
        assert str(req.specifier) in constraints.get(req.name.lower(), set()), line


def test_package_data_is_listed_and_there():
    for package, patterns in SETUPTOOLS["package-data"].items():
        folder = ROOT / "src" / Path(*package.split("."))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern}"
    assert "frameworks.yaml" in SETUPTOOLS["package-data"]["mlpcompare.frameworks"]


def test_the_command_is_the_cli_main():
    module, function = PROJECT["scripts"]["mlpcompare"].split(":")
    assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.slow
def test_the_wheel_holds_the_registry_the_template_and_the_command(tmp_path):
    source = tmp_path / "source"  # a copy: building leaves build/ beside pyproject.toml
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("mlpcompare-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlpcompare/frameworks/frameworks.yaml" in names
    assert "mlpcompare/comparing/compare.html.j2" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mlpcompare = mlpcompare.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
