"""Start-up cannot be made to hang: a config whose YAML aliases expand to millions of values, or
that nests deeper than any real one, is refused in under a second with one line."""

import time

import pytest
import yaml
from conftest import ROOT, copy_workflow, snakemake
from snakemake.common.configfile import load_configfile

from mlpcompare import config_size


def laughs(levels: int) -> str:
    """A "billion laughs" config: ``seeds`` holds 10**levels values, the file a few hundred
    bytes (each level an alias list of ten of the level below)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"seeds: [*l{levels - 1}]", ""])


def nested(depth: int) -> str:
    """A config nesting ``depth`` levels: its mapping, then lists in lists."""
    return f"seeds: {'[' * (depth - 1)}0{']' * (depth - 1)}\n"


@pytest.mark.parametrize("levels", [7, 9])
def test_an_expanding_config_is_refused_within_a_second_as_snakemake_loads_it(tmp_path, levels):
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(levels))
    assert path.stat().st_size < 1000
    start = time.perf_counter()
    config = load_configfile(str(path))  # Snakemake's own loader, as --configfile uses it
    line = config_size.size_problem(config)
    assert time.perf_counter() - start < 1.0
    assert line == (
        "the config holds more than 100,000 values once its YAML aliases are expanded "
        "(a real one: under a thousand)"
    )


def test_a_config_nested_deeper_than_any_real_one_is_refused():
    assert config_size.size_problem(yaml.safe_load(nested(config_size.MAX_DEPTH))) is None
    assert config_size.size_problem(yaml.safe_load(nested(config_size.MAX_DEPTH + 1))) == (
        f"the config nests deeper than {config_size.MAX_DEPTH} levels (a real one: under 10)"
    )


def test_an_alias_inside_itself_is_refused():
    config = yaml.safe_load("seeds: &s [0, *s]")  # PyYAML builds a list that holds itself
    assert config_size.size_problem(config) == (
        "the config holds an alias inside itself: it expands without end"
    )


def test_shared_values_count_each_time_they_appear():
    config = yaml.safe_load("a: &a [1, 2, 3]\nb: [*a, *a]")
    # the mapping's a and b, a's 3 items, b's 2 items and a's 3 items twice through them
    assert config_size.size_problem(config, max_values=13) is None
    assert config_size.size_problem(config, max_values=12) is not None


def test_a_file_too_deep_for_yaml_itself_is_one_line_for_the_command(tmp_path):
    # Snakemake's reader stops on it with a RecursionError traceback before the workflow runs;
    # a command that passes --configfile (mlpcompare run) can ask first
    path = tmp_path / "deep.yaml"
    path.write_text(nested(5000))
    assert config_size.file_problem(path) == (
        f"{path}: the config nests deeper than {config_size.MAX_DEPTH} levels (a real one: under 10)"
    )
    path.write_text(laughs(8))
    assert config_size.file_problem(path).startswith(f"{path}: the config holds more than 100,000")
    assert config_size.file_problem(ROOT / "config.yaml") is None


def test_the_shipped_config_and_presets_are_far_inside_the_bounds():
    for path in [ROOT / "config.yaml", *sorted((ROOT / "presets").glob("*.yaml"))]:
        config = yaml.safe_load(path.read_text())
        assert config_size.size_problem(config, max_values=2000, max_depth=10) is None, path.name


def test_the_workflow_refuses_it_first_in_one_line_without_a_traceback(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "laughs.yaml").write_text(laughs(8))
    start = time.perf_counter()
    run = snakemake(workdir, "-n", "--configfile", "laughs.yaml", timeout=120)
    elapsed = time.perf_counter() - start
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        "config error: the config holds more than 100,000 values once its YAML aliases are "
        "expanded (a real one: under a thousand)"
    ]
    # Snakemake's own start-up and nothing more (walking 10**8 values took minutes)
    assert elapsed < 60
