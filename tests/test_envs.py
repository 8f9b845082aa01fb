"""envs/*.yaml (one per rule family) and constraints.txt must not drift from the pinned requirements.

Requirement lines are parsed with ``packaging`` (markers such as ``; sys_platform == "darwin"``
included), names compared in their canonical form (``PyYAML`` = ``pyyaml``).
"""

import yaml
from conftest import ROOT
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlpcompare import frameworks

BASE_ENV = "envs/base.yaml"

# The conda envs are built where the workflow runs them: Linux x86_64 (envs/keras.yaml pins
# tensorflow-cpu, which has no wheels elsewhere).
LINUX_X86_64 = {**default_environment(), "sys_platform": "linux", "platform_machine": "x86_64"}
PLATFORMS = {
    "linux x86_64": LINUX_X86_64,
    "linux aarch64": {**LINUX_X86_64, "platform_machine": "aarch64"},
    "macos arm64": {**LINUX_X86_64, "sys_platform": "darwin", "platform_machine": "arm64"},
    "windows amd64": {**LINUX_X86_64, "sys_platform": "win32", "platform_machine": "AMD64"},
}


def parse(lines, where):
    """{canonical name: Requirement} of requirement lines; comments and blank lines skipped."""
    found = {}
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in found, f"{where}: {req.name} listed twice"
        found[name] = req
    return found


def read(path):
    return parse((ROOT / path).read_text().splitlines(), path)


def pinned(req, where):
    """The exact version of a `name==version` requirement (fails on anything looser)."""
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{where}: {req} is not an exact pin"
    assert not req.extras, f"{where}: {req} has extras"
    return specs[0].version


REQUIREMENTS = read("requirements.txt")
DEV_REQUIREMENTS = read("requirements-dev.txt")
CONSTRAINTS = read("constraints.txt")


def env_files():
    """The base env and each registered framework's env, as the registry names them."""
    return [BASE_ENV] + [fw.env for fw in frameworks.REGISTRY.values()]


def env_pins(path):
    assert (ROOT / path).is_file(), f"{path} is missing"
    env = yaml.safe_load((ROOT / path).read_text())
    assert "python=3.11" in env["dependencies"], path
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {name: pinned(req, path) for name, req in parse(pip, path).items()}


def own_packages(fw):
    """Distributions only this framework brings (its registry packages not in the base env)."""
    return {canonicalize_name(p) for p in fw.packages} - set(env_pins(BASE_ENV))


def test_every_env_file_is_registered():
    on_disk = {f"envs/{path.name}" for path in (ROOT / "envs").glob("*.yaml")}
    assert on_disk == set(env_files())


def test_every_env_pin_equals_the_requirements_pin():
    for path in env_files():
        for package, version in env_pins(path).items():
            assert package in REQUIREMENTS, f"{path}: {package} is not in requirements.txt"
            want = pinned(REQUIREMENTS[package], "requirements.txt")
            assert version == want, f"{path}: {package}=={version}, requirements.txt: {want}"


def test_each_framework_env_has_its_framework_and_no_other():
    for name, fw in frameworks.REGISTRY.items():
        have = set(env_pins(fw.env))
        # Its own top-level requirements that apply where the envs are built must all be there...
        required = {
            p
            for p in own_packages(fw)
            if p in REQUIREMENTS
            and (REQUIREMENTS[p].marker is None or REQUIREMENTS[p].marker.evaluate(LINUX_X86_64))
        }
        assert required <= have, f"{fw.env} lacks {sorted(required - have)}"
        # ...and nothing only another framework brings (Keras on JAX shares keras with the
        # Keras framework and jax with the JAX framework, not tensorflow or optax).
        for other_name, other in frameworks.REGISTRY.items():
            if other_name != name:
                theirs = own_packages(other) - own_packages(fw)
                assert not theirs & have, f"{fw.env} has {other_name}'s packages"
    base = set(env_pins(BASE_ENV))
    for name, fw in frameworks.REGISTRY.items():
        assert not own_packages(fw) & base, f"{BASE_ENV} has {name}'s packages"
    assert {"keras", "tensorflow-cpu"} <= set(env_pins(frameworks.REGISTRY["keras"].env))
    assert {"jax", "optax"} <= set(env_pins(frameworks.REGISTRY["jax"].env))


def test_torch_is_pinned_to_the_offline_cpu_build():
    assert str(REQUIREMENTS["torch"].specifier) == "==2.13.0"
    assert REQUIREMENTS["torch"].marker is None
    assert pinned(REQUIREMENTS["snakemake"], "requirements.txt").startswith("9.")
    assert pinned(REQUIREMENTS["keras"], "requirements.txt").startswith("3.")


def test_exactly_one_tensorflow_per_platform():
    # tensorflow-cpu has wheels for Linux x86_64 and Windows only; elsewhere tensorflow.
    expected = {
        "linux x86_64": "tensorflow-cpu",
        "linux aarch64": "tensorflow",
        "macos arm64": "tensorflow",
        "windows amd64": "tensorflow-cpu",
    }
    for reqs, where in ((REQUIREMENTS, "requirements.txt"), (CONSTRAINTS, "constraints.txt")):
        versions = {pinned(reqs[p], where) for p in ("tensorflow", "tensorflow-cpu")}
        assert len(versions) == 1, f"{where}: tensorflow and tensorflow-cpu differ: {versions}"
        for platform, env in PLATFORMS.items():
            chosen = [
                p
                for p in ("tensorflow", "tensorflow-cpu")
                if reqs[p].marker is not None and reqs[p].marker.evaluate(env)
            ]
            assert chosen == [expected[platform]], f"{where} on {platform}: {chosen}"


def test_constraints_are_exact_pins_without_local_labels():
    for name, req in CONSTRAINTS.items():
        version = pinned(req, "constraints.txt")
        # 2.13.0 matches both torch 2.13.0+cpu and PyPI's 2.13.0; a local label would not.
        assert "+" not in version, f"constraints.txt: {req} has a local version label"
        assert name != "pip", "constraints.txt: pip is not a dependency"


def test_every_top_level_requirement_is_pinned_in_the_constraints():
    for reqs, where in (
        (REQUIREMENTS, "requirements.txt"),
        (DEV_REQUIREMENTS, "requirements-dev.txt"),
    ):
        for name, req in reqs.items():
            assert name in CONSTRAINTS, f"{where}: {req.name} is not in constraints.txt"
            constraint = CONSTRAINTS[name]
            assert pinned(constraint, "constraints.txt") == pinned(req, where), (
                f"{where}: {req}, constraints.txt: {constraint}"
            )
            # Same platforms: a constraint with a narrower marker would leave the pin loose.
            assert str(constraint.marker) == str(req.marker), (
                f"{where}: {req}, constraints.txt: {constraint}"
            )


def test_every_recorded_framework_package_is_pinned_in_the_constraints():
    # The versions recorded with the results (registry `packages`, jaxlib among them) are pinned.
    for fw in frameworks.REGISTRY.values():
        for package in fw.packages:
            assert canonicalize_name(package) in CONSTRAINTS, f"{fw.name}: {package}"
    assert pinned(CONSTRAINTS["jaxlib"], "constraints.txt") == pinned(
        CONSTRAINTS["jax"], "constraints.txt"
    )
