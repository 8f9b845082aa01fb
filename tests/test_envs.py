"""envs/*.yaml (one per rule family) must not drift from the pinned requirements."""

import re

import yaml
from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def pins(lines):
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


REQUIREMENTS = pins((ROOT / "requirements.txt").read_text().splitlines())


def env_pins(name):
    env = yaml.safe_load((ROOT / "envs" / f"{name}.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    return pins(pip)


def test_every_env_pin_equals_the_requirements_pin():
    for env in ("base", "numpy", "torch", "keras"):
        for package, version in env_pins(env).items():
            assert REQUIREMENTS.get(package) == version, f"envs/{env}.yaml: {package}=={version}"


def test_each_framework_env_has_its_framework_and_no_other():
    frameworks = {"torch": "torch", "keras": "tensorflow-cpu"}
    for env in ("base", "numpy", "torch", "keras"):
        have = env_pins(env)
        for fw, package in frameworks.items():
            assert (package in have) == (env == fw), f"envs/{env}.yaml and {package}"
    assert "keras" in env_pins("keras")


def test_torch_is_pinned_to_the_offline_cpu_build():
    assert REQUIREMENTS["torch"] == "2.13.0"
    assert REQUIREMENTS["snakemake"].startswith("9.")
    assert REQUIREMENTS["keras"].startswith("3.")
