"""Config checking: one readable line per problem, defaults from the schema, per-framework views."""

import copy
import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_workflow, job_counts, snakemake
from dry_runs import DryRun, dry_run_all

from mlpcompare import config as cfg

SCHEMA = cfg.load_schema(ROOT / "schemas" / "config.schema.yaml")
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def problems_with(**changes):
    config = copy.deepcopy(DEFAULT)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = config
        for p in parents:
            node = node[p]
        node[key] = value
    return cfg.problems(config, SCHEMA)


def test_the_shipped_config_and_presets_are_valid():
    assert cfg.problems(DEFAULT, SCHEMA) == []
    for preset in (ROOT / "presets").glob("*.yaml"):
        merged = {**DEFAULT, **yaml.safe_load(preset.read_text())}
        assert cfg.problems(merged, SCHEMA) == [], preset.name


def test_unknown_top_level_key_suggests_the_close_one():
    assert problems_with(seedz=[1]) == ["seedz: unknown key (did you mean 'seeds'?)"]


def test_unknown_nested_key_is_named_with_its_path():
    assert problems_with(training__lrr=0.1) == ["training.lrr: unknown key (did you mean 'lr'?)"]


def test_wrong_type_names_key_expected_and_given():
    assert problems_with(threads="four") == ["threads: expected integer, got str 'four'"]


def test_enum_value_typo_suggests_the_close_one():
    [line] = problems_with(frameworks=["numpy", "pytorch"])
    assert line.startswith("frameworks.1: 'pytorch' is not one of: numpy, torch, keras")
    assert "did you mean 'torch'" in line


def test_out_of_range_values_are_reported_each_on_its_own_line():
    lines = problems_with(training__lr=-1, split__val_fraction=0.9)
    assert len(lines) == 2
    assert lines[0].startswith("split.val_fraction: 0.9 is greater than or equal to")
    assert lines[1].startswith("training.lr: -1 is less than or equal to")


def test_framework_override_is_checked_against_training_after_merging():
    assert problems_with(framework_overrides={"numpy": {"lr": "fast"}}) == [
        "framework_overrides.numpy.lr: expected number, got str 'fast'"
    ]
    [line] = problems_with(framework_overrides={"numpy": {"lrate": 0.1}})
    assert "framework_overrides.numpy" in line and "'lrate'" in line


def test_run_architectures_must_name_defined_ones():
    assert problems_with(run_architectures=["mlp-256-128-46"]) == [
        "run_architectures: 'mlp-256-128-46' is not defined in architectures "
        "(did you mean 'mlp-256-128-64'?)"
    ]


def test_training_for_applies_only_that_frameworks_overrides():
    config = copy.deepcopy(DEFAULT)
    config["framework_overrides"] = {"numpy": {"optimizer": "sgd", "lr": 0.01}}
    assert cfg.training_for(config, "numpy")["optimizer"] == "sgd"
    assert cfg.training_for(config, "numpy")["epochs"] == DEFAULT["training"]["epochs"]
    assert cfg.training_for(config, "torch") == DEFAULT["training"]


def test_idiomatic_is_an_on_off_switch():
    schema = SCHEMA["properties"]["bench"]["properties"]["idiomatic"]
    assert schema["default"] is DEFAULT["bench"]["idiomatic"] is True
    for fine in (True, False):
        assert problems_with(bench__idiomatic=fine) == []
    assert problems_with(bench__idiomatic=3) == ["bench.idiomatic: expected boolean, got int 3"]
    assert cfg.coerce_strings({"bench": {"idiomatic": "false"}}, SCHEMA) == {
        "bench": {"idiomatic": False}
    }


def test_idiomatic_seeds_is_a_count_or_all():
    assert DEFAULT["bench"]["idiomatic_seeds"] == 1
    for fine in (1, 3, None):
        assert problems_with(bench__idiomatic_seeds=fine) == []
    assert problems_with(bench__idiomatic_seeds=0) != []


# The dry runs of the default config the tests below look at (a copy of the workflow each, as a
# user's fresh clone has it): name -> Snakemake's arguments after -n.
DEFAULT_DRY_RUNS = {
    "default": (),
    "idiomatic off": ("--config", "bench={idiomatic: false}"),
    "idiomatic seeds 2": ("--config", "bench={idiomatic_seeds: 2}"),
    "idiomatic seeds all": ("--config", "bench={idiomatic_seeds: null}"),
    "partial configfile": ("--configfile", "small.yaml", "--quiet", "rules"),
    "partial configfile summary": ("--configfile", "small.yaml", "--summary"),
}


@pytest.fixture(scope="module")
def default_workdir(tmp_path_factory) -> Path:
    """A fresh copy of the workflow, with a partial config file (small.yaml)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("config-wf"))
    (workdir / "small.yaml").write_text("seeds: [5]\ntraining: {epochs: 2}\n")
    return workdir


@pytest.fixture(scope="module")
def default_dry_runs(default_workdir, tmp_path_factory) -> dict[str, DryRun]:
    """:data:`DEFAULT_DRY_RUNS` in :func:`default_workdir`, in one process (tests/dry_runs.py):
    each of them as a `snakemake -n` on its own would run it."""
    runs = {name: DryRun(args) for name, args in DEFAULT_DRY_RUNS.items()}
    dry_run_all(default_workdir, list(runs.values()), tmp_path_factory.mktemp("config-dry-runs"))
    return runs


def job_stats(run: DryRun) -> dict[str, int]:
    """Rule -> planned job count of a dry run (Snakemake's job stats table)."""
    assert run.code == 0, run.output[-2000:]
    assert "Job stats:" in run.output, run.output[-2000:]
    return job_counts(run.output)


@pytest.mark.slow
def test_idiomatic_jobs_are_planned_only_when_switched_on(default_dry_runs):
    planned = job_stats(default_dry_runs["default"])
    for fw in ("numpy", "torch", "keras"):
        assert planned[f"train_idiomatic_{fw}"] == 1  # one job per framework covers every seed
    assert planned["throughput"] == planned["idiomatic"] == 1  # idiomatic.csv
    off = job_stats(default_dry_runs["idiomatic off"])
    assert not [rule for rule in off if "idiomatic" in rule]  # the table too
    assert off["throughput"] == 1 and off["evaluate_numpy"] == planned["evaluate_numpy"] == 1


@pytest.mark.slow
def test_the_idiomatic_variant_trains_the_first_idiomatic_seeds(default_dry_runs):
    def seeds(name: str) -> set[str]:
        run = default_dry_runs[name]
        assert run.code == 0, run.output[-2000:]
        return set(re.findall(r"numpy/idiomatic/seed(\d+)/train\.json", run.output))

    assert seeds("default") == {"0"}
    assert seeds("idiomatic seeds 2") == {"0", "1"}
    assert seeds("idiomatic seeds all") == {"0", "1", "2"}


@pytest.mark.slow
def test_snakemake_stops_before_any_job_with_one_line_per_problem(tmp_path):
    copy_workflow(tmp_path)
    run = snakemake(tmp_path, "-n", "--config", "trainng={lr: 1}", "threads=two")
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("config error:")]
    assert errors == [
        "config error: threads: expected integer, got str 'two'",
        "config error: trainng: unknown key (did you mean 'training'?)",
    ]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_partial_configfile_keeps_defaults_for_the_rest(default_dry_runs, default_workdir):
    run = default_dry_runs["partial configfile"]
    assert run.code == 0, run.stderr
    listed = default_dry_runs["partial configfile summary"]
    assert "seed5/train.json" in listed.stdout and "seed0" not in listed.stdout
    assert os.path.exists(default_workdir / "config.yaml")


def test_command_line_strings_are_coerced_to_the_types_the_schema_expects():
    # what `--config seeds=[0, 1] training={lr: 0.1, batch_size: 64} mirror=123` hands over
    given = {"seeds": ["0", "1"], "training": {"lr": "0.1", "batch_size": "64"}, "mirror": "123",
             "architectures": {"a": {"hidden": ["8"], "dropout": "0"}}}  # fmt: skip
    coerced = cfg.coerce_strings(given, SCHEMA)
    assert coerced["seeds"] == [0, 1]
    assert coerced["training"] == {"lr": 0.1, "batch_size": 64}
    assert coerced["mirror"] == "123"  # a string key stays a string
    assert coerced["architectures"]["a"] == {"hidden": [8], "dropout": 0}
    overrides = {
        "framework_overrides": {"numpy": {"lr": "1e-3", "optimizer": "sgd", "epochs": "5"}}
    }
    assert cfg.coerce_strings(overrides, SCHEMA)["framework_overrides"]["numpy"] == {
        "lr": 0.001,
        "optimizer": "sgd",
        "epochs": 5,
    }
    # what does not parse as the expected type is left for the schema to report
    assert cfg.coerce_strings({"threads": "two", "seeds": ["1.5"]}, SCHEMA) == {
        "threads": "two",
        "seeds": ["1.5"],
    }


# --- limits: values the schema's ranges let through that would crash or mislead a job ------------

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "changes,line",
    [
        ({"training__lr": NAN}, "training.lr: nan is not a finite number"),
        ({"training__momentum": NAN}, "training.momentum: nan is not a finite number"),
        (
            {"architectures__mlp-256-128-64__dropout": NAN},
            "architectures.mlp-256-128-64.dropout: nan is not a finite number",
        ),
        # the schema's maximum of 600 would also flag inf: one line for the key all the same
        ({"bench__min_seconds": INF}, "bench.min_seconds: inf is not a finite number"),
        ({"bench__batch_sizes": [1, INF]}, "bench.batch_sizes.1: inf is not a finite number"),
        ({"split__val_fraction": NAN}, "split.val_fraction: nan is not a finite number"),
        ({"sanity__balance_tolerance": INF}, "sanity.balance_tolerance: inf is not a finite number"),
        ({"training__target_val_accuracy": -INF}, "training.target_val_accuracy: -inf is not a finite number"),
        (
            {"framework_overrides": {"torch": {"lr": NAN}}},
            "framework_overrides.torch.lr: nan is not a finite number",
        ),
    ],
)  # fmt: skip
def test_every_number_must_be_finite(changes, line):
    assert problems_with(**changes) == [line]


def test_nan_from_the_command_line_is_caught_too():
    given = cfg.coerce_strings({"training": {"lr": "nan"}, "bench": {"min_seconds": "inf"}}, SCHEMA)
    config = copy.deepcopy(DEFAULT)
    config["training"].update(given["training"])
    config["bench"].update(given["bench"])
    assert cfg.problems(config, SCHEMA) == [
        "bench.min_seconds: inf is not a finite number",
        "training.lr: nan is not a finite number",
    ]


def test_epsilon_must_not_vanish_in_float32():
    assert problems_with(training__eps=1e-60) == [
        "training.eps: 1e-60 is 0 in float32 (smallest normal 1.2e-38)"
    ]
    assert problems_with(training__eps=1e-40) == [
        "training.eps: 1e-40 is subnormal, flushed to 0 by TensorFlow and XLA, in float32 "
        "(smallest normal 1.2e-38)"
    ]
    assert problems_with(framework_overrides={"keras": {"eps": 1e-50}}) == [
        "framework_overrides.keras.eps: 1e-50 is 0 in float32 (smallest normal 1.2e-38)"
    ]
    assert problems_with(training__eps=1.2e-38) == []  # just above the smallest normal
    assert problems_with(training__eps=1e-8) == []


def test_learning_rate_must_not_vanish_in_float32():
    assert problems_with(training__lr=1e-50) == [
        "training.lr: 1e-50 is 0 in float32 (smallest normal 1.2e-38)"
    ]
    assert problems_with(training__lr=1e-30) == []


def test_decay_rates_and_dropout_must_stay_below_one_in_float32():
    assert problems_with(training__beta2=0.99999999) == [
        "training.beta2: 0.99999999 is 1 in float32 (use at most 0.99999994)"
    ]
    assert problems_with(framework_overrides={"numpy": {"momentum": 0.999999999}}) == [
        "framework_overrides.numpy.momentum: 0.999999999 is 1 in float32 (use at most 0.99999994)"
    ]
    assert problems_with(**{"architectures__mlp-256-128-64__dropout": 0.99999997}) == [
        "architectures.mlp-256-128-64.dropout: 0.99999997 is 1 in float32 (use at most 0.99999994)"
    ]
    assert problems_with(training__beta2=0.9999999, training__beta1=0.99999994) == []


def test_seeds_must_fit_the_32_bits_the_libraries_take():
    top = 2**32 - 1  # scikit-learn's random_state, NumPy's legacy seed (Keras seeds it)
    for prop in (SCHEMA["properties"]["seeds"]["items"], SCHEMA["properties"]["split"]["properties"]["seed"]):  # fmt: skip
        assert prop["minimum"] == 0 and prop["maximum"] == top
    assert problems_with(split__seed=top, seeds=[0, top]) == []
    assert problems_with(split__seed=2**32) == [
        "split.seed: 4294967296 is greater than the maximum of 4294967295"
    ]
    assert problems_with(seeds=[0, 2**40]) == [
        "seeds.1: 1099511627776 is greater than the maximum of 4294967295"
    ]


def test_other_ranges_stay_with_the_schema():
    [lr] = problems_with(training__lr=0)
    assert lr.startswith("training.lr: 0 is less than or equal to the minimum of 0")
    [beta] = problems_with(training__beta1=1.0)
    assert beta.startswith("training.beta1: 1.0 is greater than or equal to the maximum of 1")
    [batch] = problems_with(training__batch_size=0)
    assert batch.startswith("training.batch_size: 0 is less than the minimum of 1")
