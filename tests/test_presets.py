"""Running a preset leaves the main comparison alone: no file `make run` or `make bench` makes
(their runs, tables and report) is among those a preset's dry run plans, so a study run beside a
finished benchmark neither overwrites nor reruns any of it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, copy_workflow

PRESETS = sorted((ROOT / "presets").glob("*.yaml"))
# The main comparison as the Makefile runs it: `make run` (config.yaml) and `make bench` (MNIST).
MAIN = {"make run": [], "make bench": ["--config", "datasets=[mnist]"]}

# Every dry run in one interpreter (Snakemake's command-line entry point), each one's summary
# (a line per planned output file) written to its own file: imports are paid once.
DRIVER = """\
import contextlib, json, sys
from snakemake.cli import main

codes = []
for i, argv in enumerate(json.load(open(sys.argv[1]))):
    with open(f"{sys.argv[2]}/{i}.tsv", "w") as out, contextlib.redirect_stdout(out):
        try:
            main(argv)
        except SystemExit as end:
            codes.append(end.code or 0)
        else:
            codes.append(0)
json.dump(codes, open(f"{sys.argv[2]}/codes.json", "w"))
"""


def shared(path: str) -> bool:
    """Inputs every run reads and makes alike from the same config: the downloaded files and a
    dataset's split (results/<dataset>/data/)."""
    parts = path.split("/")
    return parts[0] == "resources" or (len(parts) > 2 and parts[2] == "data")


def summary_paths(text: str) -> set[str]:
    """The output files of a `snakemake --summary` table."""
    rows = [line.split("\t") for line in text.splitlines()]
    return {
        row[0] for row in rows if len(row) > 2 and row[0].startswith(("results/", "resources/"))
    }


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, set[str]]:
    """Per command (``make run``, ``make bench``, each preset): the files its dry run plans, in
    a fresh copy of the workflow, where every output is still to be made."""
    base = tmp_path_factory.mktemp("presets")
    (base / "main").mkdir()
    workdir = copy_workflow(base / "main")
    shutil.copytree(ROOT / "presets", workdir / "presets")
    commands = MAIN | {f"presets/{p.name}": ["--configfile", f"presets/{p.name}"] for p in PRESETS}
    argvs = [["-n", "--summary", *args] for args in commands.values()]
    (base / "argv.json").write_text(json.dumps(argvs))
    (base / "driver.py").write_text(DRIVER)
    run = subprocess.run(
        [sys.executable, str(base / "driver.py"), str(base / "argv.json"), str(base)],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    codes = json.loads((base / "codes.json").read_text())
    failed = [name for name, code in zip(commands, codes, strict=True) if code]
    assert not failed, f"dry runs that fail: {failed}\n{run.stderr[-3000:]}"
    return {name: summary_paths((base / f"{i}.tsv").read_text()) for i, name in enumerate(commands)}


def test_the_main_comparison_plans_its_runs_tables_and_report(planned):
    """The guard below means something: the main runs plan what a preset must not touch."""
    for name in MAIN:
        own = {p for p in planned[name] if not shared(p)}
        assert {"results/summary.csv", "results/report.html"} <= own, name
        assert any(p.endswith("/seed0/metrics.json") for p in own), name


@pytest.mark.parametrize("preset", [f"presets/{p.name}" for p in PRESETS])
def test_a_preset_plans_no_file_of_the_main_comparison(planned, preset):
    main = {p for name in MAIN for p in planned[name] if not shared(p)}
    assert planned[preset], f"{preset} plans nothing"
    clash = sorted(planned[preset] & main)
    assert not clash, f"{preset} would write the main comparison's {clash[:5]}"


@pytest.mark.parametrize("preset", [f"presets/{p.name}" for p in PRESETS])
def test_a_preset_writes_under_its_studies_only(planned, preset):
    """Beyond the shared inputs, a preset's files lie under results/studies/<name>/."""
    stray = sorted(p for p in planned[preset] if not shared(p) and "/studies/" not in p)
    assert not stray, f"{preset} writes outside results/studies/: {stray[:5]}"
