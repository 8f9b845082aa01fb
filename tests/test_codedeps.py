"""Code triggers: the package files a job runs are read from the code, transitively."""

from pathlib import Path

from mlpcompare import frameworks
from mlpcompare.measuring import codedeps

ROOT = Path(__file__).resolve().parent.parent


def names(files) -> set[str]:
    """The package's files among ``files``, relative to the package."""
    package = ROOT / "src" / "mlpcompare"
    return {Path(f).relative_to(package).as_posix() for f in files if package in Path(f).parents}


def test_imports_strings_and_packages_are_followed_and_nothing_else(tmp_path):
    pkg = tmp_path / "mlpcompare"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from mlpcompare import b\nimport numpy\n",
        "b.py": "FIGURE = 'mlpcompare.sub.c:draw'\n",
        "sub/__init__.py": "",
        "sub/c.py": "import mlpcompare.d\n",
        "d.py": "",
        "unused.py": "",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    entry = tmp_path / "script.py"
    entry.write_text("from mlpcompare import a\n")
    found = {Path(f).relative_to(tmp_path).as_posix() for f in codedeps.sources(tmp_path, entry)}
    package = {"__init__.py", "a.py", "b.py", "sub/__init__.py", "sub/c.py", "d.py"}
    assert found == {"script.py"} | {f"mlpcompare/{name}" for name in package}
    assert {Path(f).name for f in codedeps.sources(tmp_path, entry, ("mlpcompare.unused",))} >= {
        "unused.py"
    }


def test_a_framework_job_runs_its_own_framework_and_no_other():
    """Its own code, and the code it shares with another framework (keras_common/), but nothing
    of that other framework's own."""
    for name, fw in frameworks.REGISTRY.items():
        found = names(codedeps.sources(ROOT / "src", ROOT / "scripts" / "train.py", (fw.trainer,)))
        assert {"training/runs.py", "spec.py", "training/loop.py", "io.py", "logs.py"} <= found, (
            name
        )
        own = {Path(s).relative_to("src/mlpcompare").as_posix() for s in fw.sources}
        assert any(f == o or f.startswith(o + "/") for f in found for o in own), name
        for other in frameworks.REGISTRY.values():
            if other.name != name:
                theirs = {Path(s).relative_to("src/mlpcompare").as_posix() for s in other.sources}
                theirs -= own
                assert not any(f == t or f.startswith(t + "/") for f in found for t in theirs)


def test_the_plots_job_runs_the_drawing_modules_the_figure_registry_names():
    found = names(codedeps.sources(ROOT / "src", ROOT / "scripts" / "plots.py"))
    assert {"presenting/figures.py", "presenting/plots.py", "presenting/perf_plots.py"} <= found
    assert "presenting/report.py" not in found
    assert not any(f.startswith("frameworks/torch/") for f in found)
