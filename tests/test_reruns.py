"""Reruns follow what changed, content not time: code edits rerun exactly the jobs that run the
code and their dependants; settings a job's output does not depend on rerun nothing; a damaged
model is one line naming the file and how to rebuild it. On the shared tiny digits run."""

import os
import shutil
from pathlib import Path

import pytest
from conftest import copy_workflow, planned_jobs, snakemake
from dry_runs import DryRun, dry_run_all

from mlpcompare import frameworks

pytestmark = pytest.mark.slow
FRAMEWORK_RULES = ("train", "evaluate", "train_idiomatic")


def framework_jobs(planned: dict[str, int], framework: str) -> dict[str, int]:
    return {rule: n for rule, n in planned.items() if rule.rsplit("_", 1)[-1] == framework}


SETTINGS = (
    "mirror=/somewhere/else",  # where a checksummed file comes from
    "synthetic={n_samples: 500, noise: 0.3}",  # only xor and circles
    "frameworks=[numpy, torch]",  # a subset: nothing new to make
)


def framework_module(tiny_run: Path, framework: str) -> Path:
    """A module of ``framework``'s own code in ``tiny_run`` (its model, where it is a package)."""
    module = Path(frameworks.get(framework).sources[0])
    return tiny_run / (module / "model.py" if (tiny_run / module).is_dir() else module)


@pytest.fixture(scope="module")
def plans(tiny_run, tmp_path_factory) -> dict[tuple[str, str], DryRun]:
    """The dry runs of the tiny run after each edit or setting the tests below look at, in one
    process (tests/dry_runs.py), every edit undone after its run; each test reads its plan.
    Keys: ("finished", ""), ("framework", name), ("shared", ""), ("setting", text),
    ("test_fraction", "")."""
    tiny = ("--configfile", "tiny.yaml")
    runs = {("finished", ""): DryRun(tiny)}
    for name in frameworks.NAMES:
        runs["framework", name] = DryRun(tiny, ((framework_module(tiny_run, name), "# edited\n"),))
    loop = tiny_run / "src/mlpcompare/training/loop.py"
    runs["shared", ""] = DryRun(tiny, ((loop, "# edited\n"),))
    for setting in SETTINGS:
        runs["setting", setting] = DryRun((*tiny, "--config", setting))
    runs["test_fraction", ""] = DryRun((*tiny, "--config", "split={test_fraction: 0.25}"))
    dry_run_all(tiny_run, list(runs.values()), tmp_path_factory.mktemp("reruns"))
    return runs


def test_a_finished_run_has_nothing_to_do(plans):
    assert plans["finished", ""].jobs() == {}


# Not named `framework`: a test with that parameter may run in a child pytest of its own
# (conftest.py), which would make a tiny run of its own for one dry run; nothing here imports one.
@pytest.mark.parametrize("edited_framework", frameworks.NAMES)
def test_editing_a_frameworks_module_reruns_its_jobs_and_their_dependants_only(
    plans, edited_framework
):
    framework = edited_framework
    planned = plans["framework", framework].jobs()
    assert {f"{rule}_{framework}" for rule in FRAMEWORK_RULES} <= set(planned)
    assert planned[f"train_{framework}"] == 2  # both seeds
    for other in frameworks.NAMES:
        if other != framework:
            assert framework_jobs(planned, other) == {}, other
    assert {"split", "init", "eda", "roofline"}.isdisjoint(planned)
    assert {"tables", "summary", "plots", "report"} <= set(planned)  # the dependants


def test_editing_shared_code_reruns_every_framework(plans):
    planned = plans["shared", ""].jobs()
    assert all(planned.get(f"train_{fw}") == 2 for fw in frameworks.NAMES)
    assert "split" not in planned and "eda" not in planned


@pytest.mark.parametrize("setting", SETTINGS)
def test_settings_the_outputs_do_not_depend_on_rerun_nothing(plans, setting):
    planned = plans["setting", setting].jobs()
    assert {r for r in planned if r.startswith(("train_", "evaluate_", "split"))} == set()


def test_the_test_fraction_resplits_a_set_without_an_official_test_set(plans):
    planned = plans["test_fraction", ""].jobs()
    assert planned.get("split") == 1


def test_touching_every_file_reruns_nothing(tiny_run):
    for folder in ("src", "scripts", "rules", "report", "results"):
        for path in (tiny_run / folder).rglob("*"):
            if path.is_file():
                path.touch()
    assert planned_jobs(tiny_run) == {}


def test_a_truncated_model_is_one_line_naming_it_and_how_to_rebuild_it(tmp_path, tiny_run):
    workdir = copy_workflow(tmp_path)
    shutil.copytree(tiny_run / "results", workdir / "results")
    shutil.copy(tiny_run / "tiny.yaml", workdir / "tiny.yaml")
    model = Path("results/digits/mlp-32/torch/seed0/model.pt")
    (workdir / model).write_bytes((workdir / model).read_bytes()[:100])
    run = snakemake(
        workdir, "--cores", "2", "--configfile", "tiny.yaml", "--forcerun", "evaluate_torch"
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"error: {model} cannot be read" in output
    assert "rebuild it: snakemake --forcerun train_torch" in output
    assert "Traceback" not in output
    assert not any(p.name.startswith(".") for p in (workdir / model).parent.iterdir())


def test_rebuilding_the_damaged_model_as_the_line_says_completes(tmp_path, tiny_run):
    workdir = copy_workflow(tmp_path)
    shutil.copytree(tiny_run / "results", workdir / "results")
    shutil.copytree(tiny_run / ".snakemake", workdir / ".snakemake", symlinks=True)
    shutil.copy(tiny_run / "tiny.yaml", workdir / "tiny.yaml")
    model = workdir / "results/digits/mlp-32/numpy/seed1/model.npz"
    model.write_bytes(b"PK\x03\x04 truncated")
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns))
    run = snakemake(
        workdir, "--cores", "2", "--configfile", "tiny.yaml", "--forcerun", "train_numpy"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert planned_jobs(workdir) == {}
