"""Studies: variants from config, their checks, their tables and sentences, and how they sit
beside the main comparison in the workflow (never rerunning or overwriting it)."""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, copy_workflow, planned_jobs, snakemake

from mlpcompare import config as cfg
from mlpcompare import frameworks
from mlpcompare.layout import STUDY_RESULTS, StudyLayout
from mlpcompare.studies import build, config_problems, from_config, label
from mlpcompare.studies import report as study_report
from mlpcompare.studies import tables as study_tables

SCHEMA = cfg.load_schema(ROOT / "schemas" / "config.schema.yaml")


def main_config(**changes) -> dict:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    return {**config, **changes}


def study_config(spec: dict, **changes) -> dict:
    return main_config(studies={"s": spec}, **changes)


def test_a_list_axis_gives_one_variant_per_value_each_with_its_own_folder():
    study = build("s", {"axes": {"dropout": [0.0, 0.5]}}, main_config())
    assert [v.name for v in study.variants] == ["dropout-0", "dropout-0.5"]
    assert [v.arch["dropout"] for v in study.variants] == [0.0, 0.5]
    assert study.variants[0].arch["hidden"] == [256, 128, 64]  # the rest is the base recipe
    paths = {STUDY_RESULTS.run_file("s", v.name, "numpy", 0, "train.json") for v in study.variants}
    assert paths == {
        "results/studies/s/dropout-0/numpy/seed0/train.json",
        "results/studies/s/dropout-0.5/numpy/seed0/train.json",
    }


def test_two_axes_give_every_combination_and_base_applies_to_all():
    spec = {"base": {"epochs": 4}, "axes": {"lr": [0.001, 0.01], "batch_size": [32, 64, 128]}}
    study = build("s", spec, main_config())
    assert len(study.variants) == 6
    assert study.variants[1].name == "lr-0.001_batch_size-64"
    assert {(v.training["lr"], v.training["batch_size"]) for v in study.variants} == {
        (lr, b) for lr in (0.001, 0.01) for b in (32, 64, 128)
    }
    assert all(v.training["epochs"] == 4 for v in study.variants)


def test_named_levels_set_several_keys_and_width_and_depth_shape_the_layers():
    spec = {"axes": {"opt": {"momentum": {"optimizer": "sgd", "momentum": 0.9, "lr": 0.01}},
                     "depth": [1, 3]}}  # fmt: skip
    study = build("s", spec, main_config())
    assert [v.name for v in study.variants] == ["momentum_depth-1", "momentum_depth-3"]
    assert study.variants[0].training["optimizer"] == "sgd"
    assert [v.arch["hidden"] for v in study.variants] == [[256], [256, 256, 256]]
    wide = build("s", {"axes": {"width": [32]}}, main_config()).variants[0]
    assert wide.arch["hidden"] == [32, 32, 32]


def test_a_cuda_variant_trains_only_the_gpu_capable_frameworks():
    study = build("s", {"axes": {"device": ["cpu", "cuda"]}}, main_config())
    cpu, cuda = study.variants
    assert "numpy" in cpu.frameworks and "numpy" not in cuda.frameworks
    gpu = {fw for fw in main_config()["frameworks"] if frameworks.get(fw).gpu}
    assert cuda.device == "cuda" and set(cuda.frameworks) == gpu >= {"torch", "keras", "jax"}


def test_the_time_to_accuracy_target_is_per_dataset():
    study = build("s", {"axes": {"dataset": ["digits", "fashion-mnist"]}}, main_config())
    targets = [
        v.training_for(main_config(), "torch")["target_val_accuracy"] for v in study.variants
    ]
    assert targets == [0.95, 0.87]
    one = {**main_config()["training"], "target_val_accuracy": 0.5}
    assert cfg.resolve_target(one, "mnist")["target_val_accuracy"] == 0.5


def test_labels_are_readable_and_safe_in_a_path():
    assert [label(v) for v in (0.0001, 1e-7, 0.5, [256, 128], True, "Fashion MNIST")] == [
        "0.0001", "0.0000001", "0.5", "256-128", "true", "fashion-mnist",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"axes": {"dropuot": [0.1]}},
         "studies.s.axes.dropuot: not a key a study can vary (did you mean 'dropout'?)"),
        ({"axes": {"dropout": [0.1, 1.5]}}, "studies.s.axes.dropout[1].dropout: 1.5 is"),
        ({"axes": {"opt": {"fast": {"lr": 0.1, "momentun": 0.9}}}},
         "studies.s.axes.opt.fast.momentun: not a key a study can vary (did you mean 'momentum'?)"),
        ({"axes": {"optimizer": ["adamw", "rmsprop"]}}, "studies.s.axes.optimizer[1].optimizer:"),
        ({"axes": {"device": ["gpu"]}}, "studies.s.axes.device[0].device: 'gpu' is not one of"),
        ({"axes": {"width": [0]}}, "studies.s.axes.width[0].width: expected a positive integer"),
        ({"architecture": "mlp-256", "axes": {"lr": [0.1]}},
         "studies.s.architecture: 'mlp-256' is not defined in architectures (did you mean"),
        ({"axes": {"dropout": [0.1]}, "bsae": {}}, "studies.s.bsae: unknown key (did you mean 'base'?)"),
        ({"axes": {"a": [1], "b": [2], "c": [3]}}, "studies.s.axes: {"),
        ({"axes": {"lr": [0.1, 0.01]}, "reference": {"lr": 0.001}},
         "studies.s.reference.lr: 0.001 is not one of its levels (0.1, 0.01)"),
        ({"axes": {"lr": [0.1, 0.01]}, "reference": {"dropout": 0.0}},
         "studies.s.reference: 'dropout' is not an axis of the study (axes: lr)"),
    ],
)  # fmt: skip
def test_a_mistake_in_a_study_is_one_line_naming_the_key(spec, expected):
    found = config_problems(study_config(spec), SCHEMA)
    assert any(line.startswith(expected) for line in found), found


def test_the_presets_are_valid_studies_that_skip_the_main_comparison():
    for preset in sorted((ROOT / "presets").glob("*.yaml")):
        config = {**main_config(), **yaml.safe_load(preset.read_text())}
        assert config_problems(config, SCHEMA) == [], preset.name
        if "studies" in config and config["studies"]:
            assert config["comparison"] is False, preset.name
            assert all(len(s.variants) >= 2 for s in from_config(config).values())


# --- Tables and sentences, from made-up runs ---------------------------------------------------

STUDY = {
    "name": "s",
    "axes": [{"name": "dropout", "labels": ["0", "0.5"], "numeric": [0.0, 0.5]}],
    "variants": [
        {"name": f"dropout-{lvl}", "levels": [lvl], "frameworks": ["numpy", "torch"],
         "dataset": "digits", "device": "cpu", "target": 0.9}
        for lvl in ("0", "0.5")
    ],
}  # fmt: skip


def fake_runs(shift: float, noise=(0.0, 0.002, -0.001)) -> pd.DataFrame:
    """Runs whose test accuracy under dropout 0.5 is ``shift`` above dropout 0, per seed."""
    rows = []
    for lvl, delta in (("0", 0.0), ("0.5", shift)):
        for fw in ("numpy", "torch"):
            for seed, jitter in enumerate(noise):
                accuracy = 0.95 + delta + jitter
                rows.append({"variant": f"dropout-{lvl}", "dropout": lvl, "framework": fw,
                             "seed": seed, "status": "ok", "test_accuracy": accuracy,
                             "f1_macro": accuracy, "train_accuracy": 0.99,
                             "val_accuracy": accuracy, "generalisation_gap": 0.99 - accuracy,
                             "epochs_to_target": 3.0, "time_to_target_s": 1.0, "epochs_run": 5,
                             "samples_per_s": 1000.0 * (2 if lvl == "0.5" else 1), "roofline_fraction": 0.3, "arithmetic_intensity": 10.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_effects_are_paired_differences_and_ratios_with_intervals():
    effects = study_tables.effects(fake_runs(0.01), STUDY)
    pooled = effects[(effects["framework"] == "all")].set_index("measure")
    assert pooled.loc["test_accuracy", "effect"] == pytest.approx(1.0)  # points
    assert pooled.loc["test_accuracy", "n_pairs"] == 6
    # The seed noise is shared by the pair, so the paired interval is exact here.
    assert pooled.loc["test_accuracy", "low"] == pytest.approx(1.0)
    assert pooled.loc["samples_per_s", "effect"] == pytest.approx(2.0)
    assert set(effects["framework"]) == {"all", "numpy", "torch"}


def test_an_interval_is_over_the_seeds_when_a_seed_moves_every_framework():
    """Both frameworks gain 0, 1 and 2 points at seeds 0, 1 and 2: six pairs, but three seeds'
    worth of evidence. The interval is the t interval of the three seed means (t with 2 degrees
    of freedom), wider than one over six pairs as if independent."""
    runs = fake_runs(0.0, noise=(0.0, 0.0, 0.0))
    gain = (runs["dropout"] == "0.5") * runs["seed"] * 0.01
    runs["test_accuracy"] += gain
    pooled = study_tables.effects(runs, STUDY)
    row = pooled[(pooled["framework"] == "all") & (pooled["measure"] == "test_accuracy")].iloc[0]
    assert (row["n_pairs"], row["n_seeds"], row["effect"]) == (6, 3, pytest.approx(1.0))
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd(0, 1, 2) / sqrt(3)
    assert (row["low"], row["high"]) == (pytest.approx(1.0 - half), pytest.approx(1.0 + half))
    one = pooled[(pooled["framework"] == "numpy") & (pooled["measure"] == "test_accuracy")]
    assert one[["low", "high"]].iloc[0].tolist() == pytest.approx([1.0 - half, 1.0 + half])


def test_a_named_reference_is_what_every_other_level_is_measured_against():
    spec = {"axes": {"lr": [0.0001, 0.001, 0.01]}, "reference": {"lr": 0.001}}
    described = build("s", spec, study_config(spec)).describe(study_config(spec))
    assert described["axes"][0]["reference"] == "0.001"
    assert config_problems(study_config(spec), SCHEMA) == []
    # The same fake runs read from the other side: 0.5 is the reference, 0 is 1 point under it.
    study = {**STUDY, "axes": [{**STUDY["axes"][0], "reference": "0.5"}]}
    pooled = study_tables.effects(fake_runs(0.01), study)
    pooled = pooled[(pooled["framework"] == "all") & (pooled["measure"] == "test_accuracy")]
    assert list(pooled["level"]) == ["0"] and list(pooled["reference"]) == ["0.5"]
    assert pooled["effect"].iloc[0] == pytest.approx(-1.0)


def test_summary_gives_each_variant_and_framework_a_mean_and_interval():
    summary = study_tables.summarise(fake_runs(0.01), STUDY)
    row = summary[(summary["variant"] == "dropout-0.5") & (summary["framework"] == "torch")].iloc[0]
    assert row["test_accuracy_mean"] == pytest.approx(96.0333, abs=1e-3)
    assert row["test_accuracy_low"] < row["test_accuracy_mean"] < row["test_accuracy_high"]
    assert row["n_seeds"] == 3 and row["n_diverged"] == 0


def test_a_summary_interval_stops_where_the_measure_can_go_no_further():
    """A rate that fails to train: accuracies of 5, 20 and 35 % give a t-interval from -17 %,
    and a time to target's from below 0 s; each stops at 0. A tight one is left as it is."""
    runs = fake_runs(0.0)
    failing = (runs["dropout"] == "0.5") & (runs["framework"] == "numpy")
    runs.loc[failing, "test_accuracy"] = [0.05, 0.20, 0.35]
    runs.loc[failing, "time_to_target_s"] = [1.0, 1.0, 40.0]
    summary = study_tables.summarise(runs, STUDY).set_index(["variant", "framework"])
    row = summary.loc[("dropout-0.5", "numpy")]
    assert row["test_accuracy_mean"] == pytest.approx(20.0)
    assert row["test_accuracy_low"] == 0.0 and row["test_accuracy_high"] < 100.0
    assert row["time_to_target_s_low"] == 0.0
    untouched = summary.loc[("dropout-0", "numpy")]
    assert 0 < untouched["test_accuracy_low"] < untouched["test_accuracy_mean"]
    assert math.isnan(study_tables.within((math.nan, math.nan), (0.0, 1.0))[0])
    # Its paired effect, -75 points against 95 %, is no more than 100 points down either.
    effects = study_tables.effects(runs, STUDY).set_index(["framework", "measure"])
    effect = effects.loc[("numpy", "test_accuracy")]
    assert effect["effect"] == pytest.approx(-75.0, abs=0.1) and effect["low"] == -100.0


def test_the_sentences_follow_the_numbers():
    def found(shift, noise):
        runs = fake_runs(shift, noise)
        runs.loc[(runs["dropout"] == "0.5") & (runs["seed"] == 0), "test_accuracy"] += noise[0]
        return study_report.sentences(study_tables.effects(runs, STUDY), STUDY, n_seeds=3)

    clear = found(0.02, (0.0, 0.001, -0.001))
    assert any(
        re.search(r"dropout 0.5 against 0: test accuracy \+2\.\d\d points", s) for s in clear
    )
    assert any("over 3 seeds; 6 paired runs" in s for s in clear), clear
    unclear = found(0.0, (0.02, -0.01, 0.0))
    assert any("no level changes test accuracy detectably" in s for s in unclear), unclear
    assert not any("against 0: test accuracy" in s for s in unclear)
    assert any("trains at 2.00× the samples/s" in s and "drift" in s for s in clear)


def test_a_gap_narrowed_by_learning_less_is_not_called_better_generalisation():
    runs = fake_runs(-0.2)  # dropout 0.5: 20 points lower in test accuracy...
    runs["generalisation_gap"] = 0.05 - 0.01 * (runs["dropout"] == "0.5")  # ...a narrower gap
    found = study_report.sentences(study_tables.effects(runs, STUDY), STUDY, n_seeds=3)
    [gap] = [s for s in found if "generalisation gap" in s]
    assert "narrows" in gap and "20.00 points lower: it learns less" in gap
    runs = fake_runs(0.0)  # the same narrower gap at the same accuracy: no such clause
    runs["generalisation_gap"] = 0.05 - 0.01 * (runs["dropout"] == "0.5")
    found = study_report.sentences(study_tables.effects(runs, STUDY), STUDY, n_seeds=3)
    [gap] = [s for s in found if "generalisation gap" in s]
    assert "narrows" in gap and "learns less" not in gap and gap.endswith(").")


def test_a_device_axis_gives_every_frameworks_speed_up():
    study = {**STUDY, "axes": [{"name": "device", "labels": ["cpu", "cuda"], "numeric": None}]}
    runs = fake_runs(0.0).rename(columns={"dropout": "device"})
    runs["device"] = runs["device"].map({"0": "cpu", "0.5": "cuda"})
    found = study_report.sentences(study_tables.effects(runs, study), study, n_seeds=3)
    assert sum("device cuda: " in s and "2.00× its samples/s on cpu" in s for s in found) == 2


# --- In the workflow --------------------------------------------------------------------------

STUDY_YAML = """\
studies:
  drop:
    base: {epochs: 2}
    axes: {dropout: [0.0, 0.5]}
"""


@pytest.mark.slow
def test_a_study_beside_a_finished_comparison_plans_only_its_own_jobs(tiny_run):
    (tiny_run / "study.yaml").write_text(STUDY_YAML)
    planned = planned_jobs(tiny_run, "study.yaml")  # a second config file after tiny.yaml
    names = yaml.safe_load((ROOT / "config.yaml").read_text())["frameworks"]
    assert planned == {
        "study_init": 2, "study_tables": 1, "study_report": 1, "study_provenance": 1, "all": 1,
        **{f"study_run_{fw}": 2 for fw in names},
    }, planned  # fmt: skip
    dry = snakemake(tiny_run, "-n", "--configfile", "tiny.yaml", "study.yaml")
    for path in ("results/studies/drop/dropout-0.5/keras/seed1/metrics.json",
                 "results/studies/drop/report.html"):  # fmt: skip
        assert path in dry.stdout
    assert planned_jobs(tiny_run) == {}  # and the comparison alone still has nothing to do


@pytest.mark.slow
def test_a_study_runs_end_to_end_and_its_report_states_its_finding(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "study.yaml").write_text(
        "comparison: false\nframeworks: [numpy]\nseeds: [0, 1]\nthreads: 1\n"
        "studies:\n  lr:\n    base: {epochs: 2, patience: 0}\n    axes: {lr: [0.0001, 0.01]}\n"
    )
    run = snakemake(workdir, "--cores", "2", "--configfile", "study.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    layout = StudyLayout(str(workdir / "results"))
    runs = pd.read_csv(layout.table("lr", "runs"))
    assert len(runs) == 4 and set(runs["status"]) == {"ok"}
    assert all(math.isfinite(v) for v in runs["generalisation_gap"])
    page = Path(layout.report("lr")).read_text()
    assert "lr 0.01 against 0.0001: test accuracy +" in page  # 2 epochs at 1e-4 barely learn
    assert not (workdir / "results" / "summary.csv").exists()  # the comparison did not run


def test_a_study_file_names_the_rule_that_rebuilds_it():
    from mlpcompare.layout import producer

    assert producer("results/studies/s/v/torch/seed0/train.json") == "study_run_torch"
    assert producer("results/studies/s/v/init/seed0.npz") == "study_init"
    assert producer("results/studies/s/effects.csv") == "study_tables"
    assert producer("results/studies/s/plots/test_accuracy.png") == "study_report"
    assert producer("results/studies/s/run.json") == "study_provenance"


def test_without_an_interval_no_claim_is_made():
    one_seed = fake_runs(0.02, noise=(0.0,))
    found = study_report.sentences(study_tables.effects(one_seed, STUDY), STUDY, n_seeds=1)
    effects = study_tables.effects(one_seed.iloc[[0, 2]], STUDY)  # one framework, one pair
    single = study_report.sentences(effects, STUDY, n_seeds=1)
    assert any("too few for an interval: no claim is made" in s for s in single), single
    assert not any("nan" in s for s in found + single)
