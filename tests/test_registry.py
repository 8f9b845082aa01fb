"""The framework registry is the one list of frameworks: what adding a framework requires (the
checklist of docs/extending.md, word for word), the schema agreeing with it, every entry pointing
at files that exist, and no other code keeping a list or table of frameworks by hand."""

import ast
import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlpcompare import frameworks
from mlpcompare.measuring import codedeps

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
NAMES = set(frameworks.NAMES)
ENTRIES = yaml.safe_load(
    (ROOT / "src" / "mlpcompare" / "frameworks" / "frameworks.yaml").read_text()
)
GUIDE = ROOT / "docs" / "extending.md"
# What the workflow calls in a framework's trainer package and in its idiomatic module.
TRAINER_SURFACE = {
    "Trainer", "load_model", "configure_threads", "resolve_device", "environment", "step_products",
}  # fmt: skip
IDIOMATIC_SURFACE = {"fit", "API", "INFERENCE_API", "LOSS_INCLUDES_PENALTY"}


# --- what adding a framework requires: one check per item of docs/extending.md's checklist -----


def _bound(path: Path) -> set[str]:
    """The names a module binds at its top level (definitions, assignments, imports)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def check_folder(name: str) -> list[str]:
    """**Folder**: `src/mlpcompare/frameworks/<name>/`, everything of the framework: its trainer
    package (`__init__.py` re-exports `Trainer`, `load_model`, `configure_threads`,
    `resolve_device`, `environment` and `step_products` from its modules) and its idiomatic
    variant `idiomatic.py` (`fit`, `API`, `INFERENCE_API`, `LOSS_INCLUDES_PENALTY`)."""
    package = ROOT / "src" / "mlpcompare" / "frameworks" / frameworks.python_name(name)
    problems = []
    for path, surface in ((package / "__init__.py", TRAINER_SURFACE),
                          (package / "idiomatic.py", IDIOMATIC_SURFACE)):  # fmt: skip
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)} is missing")
        elif surface - _bound(path):
            problems.append(f"{path.relative_to(ROOT)} lacks {sorted(surface - _bound(path))}")
    return problems


def _shared_modules(package: Path) -> set[str]:
    """The modules of a shared folder beside the frameworks' (as `keras_common/`) that the
    trainer package in ``package`` runs, read from the code."""
    if not (package / "__init__.py").is_file():
        return set()
    own = {frameworks.python_name(name) for name in frameworks.NAMES}
    ran = map(Path, codedeps.sources(ROOT / "src", package / "__init__.py"))
    return {
        str(path.relative_to(ROOT))
        for path in ran
        if path.parent.parent == package.parent and path.parent.name not in own
    }


def check_registry_entry(name: str) -> list[str]:
    """**Registry entry**: `<name>:` in `src/mlpcompare/frameworks/frameworks.yaml` with every
    field that `src/mlpcompare/frameworks/__init__.py` documents (`import_environment` only where
    the framework reads variables at import), `trainer` and `idiomatic` naming the two modules
    of its folder, and `sources` listing every other module of its folder and the modules of a
    shared folder (as `keras_common/`, code two frameworks run alike) that its trainer package
    imports."""
    entry = ENTRIES.get(name)
    if entry is None:
        return [f"frameworks.yaml has no entry {name!r}"]
    fields = [f for f in dataclasses.fields(frameworks.Framework) if f.name != "name"]
    required = {f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}  # fmt: skip
    problems = [f"no {field}" for field in sorted(required - set(entry))]
    problems += [f"unknown field {key}" for key in set(entry) - {f.name for f in fields}]
    module = f"mlpcompare.frameworks.{frameworks.python_name(name)}"
    if entry.get("trainer") != module:
        problems.append(f"trainer is not {module}")
    if entry.get("idiomatic") != f"{module}.idiomatic":
        problems.append(f"idiomatic is not {module}.idiomatic")
    package = ROOT / "src" / "mlpcompare" / "frameworks" / frameworks.python_name(name)
    modules = {str(p.relative_to(ROOT)) for p in package.glob("*.py") if p.name != "idiomatic.py"}
    modules |= _shared_modules(package)
    if set(entry.get("sources", ())) != modules:
        problems.append(f"sources {entry.get('sources')} are not the modules {sorted(modules)}")
    return problems


def check_environment(name: str) -> list[str]:
    """**Environment**: `envs/<name>.yaml`, the conda environment its jobs run in, named by the
    entry's `env` (`tests/test_envs.py` holds its pins to `requirements.txt`)."""
    path = f"envs/{name}.yaml"
    problems = [] if (ROOT / path).is_file() else [f"{path} is missing"]
    if ENTRIES.get(name, {}).get("env") != path:
        problems.append(f"the entry's env is not {path}")
    return problems


def _pins(path: str) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / path).read_text().splitlines())
    reqs = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name) for r in reqs if any(s.operator == "==" for s in r.specifier)}


def check_requirements(name: str) -> list[str]:
    """**Requirements**: each of the entry's `packages` pinned (`==`) in `requirements.txt`, or in
    `constraints.txt` where another package brings it in (as `jax` brings `jaxlib`)."""
    pinned = _pins("requirements.txt") | _pins("constraints.txt")
    packages = ENTRIES.get(name, {}).get("packages") or [f"<packages of {name}>"]
    return [f"{p} is pinned nowhere" for p in packages if canonicalize_name(p) not in pinned]


def check_tests(name: str) -> list[str]:
    """**Tests**: `tests/test_<name>_mlp.py`, its trainer against hand-written NumPy formulas (as
    `tests/reference_mlp.py` gives them); the shared tests (one SGD and one Adam step equal in
    every framework, the trainers' surface, the idiomatic variants, ONNX) take it from the
    registry."""
    module = frameworks.python_name(name)
    path = ROOT / "tests" / f"test_{module}_mlp.py"
    if not path.is_file():
        return [f"{path.relative_to(ROOT)} is missing"]
    imports = {f"from mlpcompare.frameworks import {module}", f"mlpcompare.frameworks.{module}"}
    if not any(text in path.read_text() for text in imports):
        return [f"{path.relative_to(ROOT)} does not import mlpcompare.frameworks.{module}"]
    return []


def check_configuration(name: str) -> list[str]:
    """**Configuration**: the name in `schemas/config.schema.yaml` (the enums of `frameworks` and
    `gpu_jobs`, the default of `frameworks`, a `framework_overrides` property) and in
    `config.yaml`'s `frameworks`."""
    props = SCHEMA["properties"]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    places = {
        "the schema's frameworks enum": props["frameworks"]["items"]["enum"],
        "the schema's frameworks default": props["frameworks"]["default"],
        "the schema's gpu_jobs enum": props["gpu_jobs"]["items"]["enum"],
        "the schema's framework_overrides": list(props["framework_overrides"]["properties"]),
        "config.yaml's frameworks": config["frameworks"],
    }
    return [f"{name} is not in {place}" for place, names in places.items() if name not in names]


CHECKLIST = [
    check_folder,
    check_registry_entry,
    check_environment,
    check_requirements,
    check_tests,
    check_configuration,
]


@pytest.mark.parametrize(
    "check", CHECKLIST, ids=lambda check: check.__name__.removeprefix("check_")
)
@pytest.mark.parametrize("name", frameworks.NAMES)
def test_every_framework_has_what_adding_one_requires(name, check):
    assert check(name) == []


@pytest.mark.parametrize(
    "check", CHECKLIST, ids=lambda check: check.__name__.removeprefix("check_")
)
def test_each_check_fails_for_a_framework_that_is_not_there(check):
    assert check("mxnet")


def _guide_checklist() -> list[str]:
    """The bullets of the guide's "## Checklist" section, each joined onto one line."""
    section = GUIDE.read_text().split("\n## Checklist\n", 1)[1].split("\n## ", 1)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- "):
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    return bullets


def test_the_extending_guide_lists_exactly_what_is_checked():
    assert _guide_checklist() == [" ".join(check.__doc__.split()) for check in CHECKLIST]


def test_the_registry_documents_every_field():
    doc = frameworks.Framework.__doc__
    fields = [f.name for f in dataclasses.fields(frameworks.Framework) if f.name != "name"]
    assert [field for field in fields if f"``{field}``" not in doc] == []


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
    # Located by path, not find_spec: finding a submodule runs its package's __init__, which
    # imports the framework (and Keras' two backends cannot share this process).
    src = ROOT / "src"
    assert (src / fw.trainer.replace(".", "/") / "__init__.py").is_file(), fw.trainer
    assert (src / (fw.idiomatic.replace(".", "/") + ".py")).is_file(), fw.idiomatic
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
    exempt = own | {ROOT / "src" / "mlpcompare" / "frameworks" / "__init__.py"}
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
