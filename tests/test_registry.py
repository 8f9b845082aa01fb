"""The framework registry is the one list of frameworks: the schema agrees with it, every entry
points at files that exist, and no other code keeps a list or table of frameworks by hand."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from mlpcompare import frameworks

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
NAMES = set(frameworks.NAMES)


def test_schema_enums_are_the_registry():
    props = SCHEMA["properties"]
    assert props["frameworks"]["items"]["enum"] == list(frameworks.NAMES)
    assert props["frameworks"]["default"] == list(frameworks.NAMES)
    assert props["gpu_jobs"]["items"]["enum"] == list(frameworks.NAMES)
    assert list(props["framework_overrides"]["properties"]) == list(frameworks.NAMES)


def test_config_compares_every_framework_by_default():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert config["frameworks"] == list(frameworks.NAMES)


@pytest.mark.parametrize("name", frameworks.NAMES)
def test_every_entry_points_at_what_exists(name):
    fw = frameworks.get(name)
    assert fw.name == name
    assert (ROOT / fw.env).is_file(), fw.env
    for source in fw.sources:
        assert (ROOT / source).exists(), source
    # find_spec locates a module without running it (no framework is imported here)
    assert importlib.util.find_spec(fw.trainer) is not None, fw.trainer
    assert importlib.util.find_spec(fw.idiomatic) is not None, fw.idiomatic
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", fw.colour)
    assert fw.model_file.startswith("model.")
    assert fw.packages and fw.api and fw.label


def test_colours_tell_frameworks_apart():
    colours = [fw.colour.lower() for fw in frameworks.REGISTRY.values()]
    assert len(set(colours)) == len(colours)


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="known: numpy, torch"):
        frameworks.get("mxnet")


def _own_files(fw) -> set[Path]:
    """A framework's own modules: its sources and its idiomatic module."""
    files = set()
    for source in fw.sources:
        path = ROOT / source
        files |= set(path.rglob("*.py")) if path.is_dir() else {path}
    files.add(ROOT / "src" / (fw.idiomatic.replace(".", "/") + ".py"))
    return files


def hand_kept_lists(source: str) -> list[str]:
    """Literal collections naming two or more frameworks, and dicts keyed by a framework."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
            if any(isinstance(k, ast.Constant) and k.value in NAMES for k in items):
                found.append(f"line {node.lineno}: a dict keyed by framework")
                continue
        else:
            continue
        named = [e.value for e in items if isinstance(e, ast.Constant) and e.value in NAMES]
        if len(named) >= 2:
            found.append(f"line {node.lineno}: {named}")
    return found


def test_the_scan_finds_a_hand_kept_list():
    assert hand_kept_lists('MODULES = {"numpy": "numpy_mlp"}')
    assert hand_kept_lists('for fw in ("torch", "keras"): pass')
    assert not hand_kept_lists('PACKAGES = ("numpy", "scipy")')


def test_no_python_outside_the_registry_lists_frameworks():
    own = set().union(*(_own_files(fw) for fw in frameworks.REGISTRY.values()))
    exempt = own | {ROOT / "src" / "mlpcompare" / "frameworks.py"}
    files = [
        *(ROOT / "src").rglob("*.py"),
        *(ROOT / "scripts").glob("*.py"),
        *(ROOT / "tools").glob("*.py"),
    ]
    problems = {
        str(path.relative_to(ROOT)): hand_kept_lists(path.read_text())
        for path in files
        if path not in exempt
    }
    assert {path: found for path, found in problems.items() if found} == {}


def _code(text: str) -> str:
    """The text without comments (``#`` to the end of a line; enough for these files)."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_rules_profiles_and_report_name_no_framework():
    files = [
        ROOT / "Snakefile",
        *(ROOT / "rules").glob("*.smk"),
        *(ROOT / "profiles").rglob("*.yaml"),
        ROOT / "report" / "style.css",
        *(ROOT / "report" / "templates").glob("*.j2"),
    ]
    pattern = re.compile(r"\b(" + "|".join(frameworks.NAMES) + r")\b")
    named = {
        str(path.relative_to(ROOT)): pattern.findall(_code(path.read_text())) for path in files
    }
    assert {path: names for path, names in named.items() if names} == {}
