"""docs/findings.md: the studies' tables collected into committed files, the best recipe chosen
from them on validation accuracy only, and the page written from those files alone, the same
bytes every time."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, copy_workflow, snakemake

from mlpcompare import config as cfg
from mlpcompare import io
from mlpcompare.findings import SECTIONS, choice, collect, page
from mlpcompare.layout import StudyLayout
from mlpcompare.measuring import provenance
from mlpcompare.studies import config_problems
from mlpcompare.studies import tables as study_tables

SCHEMA = cfg.load_schema(ROOT / "schemas" / "config.schema.yaml")
REFERENCES = yaml.safe_load((ROOT / "report" / "references.yaml").read_text())
MNIST_CONFIG = {**yaml.safe_load((ROOT / "config.yaml").read_text()), "datasets": ["mnist"]}
LEVELS = ["0.0001", "0.0003", "0.001", "0.003", "0.01", "0.03", "0.1"]  # presets/learning-rate


def fake_study(results: Path, val_bump: float, test_bump: float = 0.0, noise=0.0005,
               study="learning-rate", axis="lr", levels=LEVELS, bumped="0.003",
               prefix="lr-", preset_path=None) -> None:  # fmt: skip
    """A finished study on MNIST under ``results`` (by default presets/learning-rate): level
    ``bumped`` is ``val_bump`` above the others in validation accuracy, the last level
    ``test_bump`` above in test accuracy."""
    rows = []
    for level in levels:
        for fw in ("numpy", "torch"):
            for seed in range(3):
                jitter = noise * (seed - 1)
                val = 0.975 + jitter + (val_bump if level == bumped else 0.0)
                test = 0.978 + jitter + (test_bump if level == levels[-1] else 0.0)
                rows.append({"variant": f"{prefix}{level}", axis: level, "framework": fw,
                             "seed": seed, "status": "ok", "test_accuracy": test,
                             "f1_macro": test, "train_accuracy": 0.995, "val_accuracy": val,
                             "generalisation_gap": 0.995 - val, "epochs_run": 12,
                             "epochs_to_target": 2.0, "time_to_target_s": 9.0,
                             "samples_per_s": 5e4, "roofline_fraction": 0.3,
                             "arithmetic_intensity": 20.0})  # fmt: skip
    runs = pd.DataFrame(rows)
    described = {"axes": [{"name": axis, "labels": list(levels)}]}
    layout = StudyLayout(str(results))
    Path(layout.table(study, "runs")).parent.mkdir(parents=True, exist_ok=True)
    runs.to_csv(layout.table(study, "runs"), index=False)
    study_tables.summarise(runs, described).to_csv(layout.table(study, "summary"), index=False)
    study_tables.effects(runs, described).to_csv(layout.table(study, "effects"), index=False)
    preset_path = preset_path or ROOT / "presets" / f"{study}.yaml"
    preset = yaml.safe_load(Path(preset_path).read_text())
    config = {**MNIST_CONFIG, "studies": preset["studies"]}
    io.write_json(provenance.record(config, ROOT), layout.provenance(study))


def collect_and_choose(tmp_path: Path, **bumps) -> tuple[Path, dict]:
    fake_study(tmp_path / "results", **bumps)
    out = tmp_path / "docs" / "findings"
    studies = collect.collect(tmp_path / "results", ROOT / "presets", MNIST_CONFIG, SECTIONS,
                              ("mnist",), out)  # fmt: skip
    assert studies == ["learning-rate"]
    made = choice.choose(out, studies, MNIST_CONFIG)
    choice.write(made, out / "best.json", tmp_path / "best.yaml")
    return out, made


def test_a_recipe_that_beats_the_projects_on_validation_is_chosen_and_written_as_a_preset(
    tmp_path,
):
    out, made = collect_and_choose(tmp_path, val_bump=0.004)
    assert made["decision"] == "chosen"
    assert made["against"]["variant"] == "lr-0.001"  # the project's recipe, lr 0.001
    [best] = made["studies"]
    assert (best["variant"], best["changes"], best["adopted"]) == ("lr-0.003", {"lr": 0.003}, True)
    assert best["effect"] == pytest.approx(0.4) and best["low"] > 0
    preset = yaml.safe_load((tmp_path / "best.yaml").read_text())
    levels = preset["studies"]["best"]["axes"]["recipe"]
    assert {k for k in levels["project"] if levels["project"][k] != levels["chosen"][k]} == {"lr"}
    assert config_problems({**MNIST_CONFIG, **preset}, SCHEMA) == []
    assert preset["comparison"] is False  # never the main comparison's results


def test_test_accuracy_plays_no_part_and_noise_keeps_the_projects_recipe(tmp_path):
    _, made = collect_and_choose(tmp_path, val_bump=0.0, test_bump=0.05, noise=0.002)
    assert made["decision"] == "project" and made["chosen"] is None
    [best] = made["studies"]
    assert best["variant"] != "lr-0.1" and not best["adopted"]
    assert not (tmp_path / "best.yaml").exists()


def test_the_chosen_recipe_takes_every_studys_better_level_and_the_better_one_on_a_clash(
    tmp_path,
):
    results = tmp_path / "results"
    fake_study(results, val_bump=0.004)  # lr 0.003: +0.4 points
    fake_study(
        results,
        val_bump=0.006,
        study="regularization",
        axis="regularization",
        levels=["none", "dropout", "l2", "batchnorm", "all"],
        bumped="all",
        prefix="",
    )
    fake_study(
        results,
        val_bump=0.002,
        study="optimizers",
        axis="optimizer",
        levels=["sgd", "momentum", "adam", "adamw"],
        bumped="adamw",
        prefix="",
    )
    out = tmp_path / "docs" / "findings"
    studies = collect.collect(results, ROOT / "presets", MNIST_CONFIG, SECTIONS, ("mnist",), out)
    made = choice.choose(out, studies, MNIST_CONFIG)
    by_study = {e["study"]: e for e in made["studies"]}
    assert [e["study"] for e in made["studies"]] == [
        "regularization",
        "learning-rate",
        "optimizers",
    ]
    assert by_study["regularization"]["adopted"] and by_study["learning-rate"]["adopted"]
    # AdamW is better too, but its weight decay is regularization all's setting already.
    assert (
        not by_study["optimizers"]["adopted"]
        and "weight_decay" in by_study["optimizers"]["verdict"]
    )
    changed = {k: v for k, v in made["chosen"].items() if made["project"][k] != v}
    assert changed == {"batch_norm": True, "weight_decay": 0.0001, "lr": 0.003}
    assert "regularization all" in made["why"] and "learning-rate lr-0.003" in made["why"]
    choice.write(made, out / "best.json", tmp_path / "best.yaml")
    text = page.render(out, ROOT / "presets", REFERENCES)
    assert "| optimizers | adamw |" in text and "already set by a better-scoring study" in text


# The fake seeds are 0.05 points apart, so a mean's 95 % interval is about ±0.12 points.
@pytest.mark.parametrize("test_bump, verdict, doubt", [
    (0.012, "met", None),  # 99.00 %, its interval well above 98.5
    (0.008, "met", "numpy (98.48 to 98.72 %), torch (98.48 to 98.72 %) reach below 98.5 %: "
                   "these seeds' means meet it, other seeds could miss it."),
    (0.006, "not met", "numpy (98.28 to 98.52 %), torch (98.28 to 98.52 %) reach above "
                       "98.5 %: these seeds' means miss it, other seeds could meet it."),
    (0.004, "not met", None),  # 98.20 %, its interval well below
])  # fmt: skip
def test_the_page_says_whether_the_best_study_meets_the_goal(tmp_path, test_bump, verdict, doubt):
    out, made = collect_and_choose(tmp_path, val_bump=0.004)
    fake_study(tmp_path / "results", val_bump=0.0, test_bump=test_bump, study="best",
               axis="recipe", levels=["project", "chosen"], bumped="none", prefix="",
               preset_path=tmp_path / "best.yaml")  # fmt: skip
    collect.collect(tmp_path / "results", ROOT / "presets", MNIST_CONFIG, SECTIONS, ("mnist",), out)
    text = page.render(out, ROOT / "presets", REFERENCES)
    accuracy = 97.8 + test_bump * 100
    assert f"numpy {accuracy:.2f} %, torch {accuracy:.2f} %" in text
    assert f"within 0.2 points of each other: {verdict}." in text
    if doubt:
        assert f"The 95 % intervals over the seeds of {doubt}" in text
    else:
        assert "95 % intervals over the seeds of" not in text
    # A best study of an earlier choice is not taken for the current one.
    made["chosen"] = {**made["chosen"], "lr": 0.01}
    io.write_json(made, out / "best.json")
    assert "trained an earlier choice" in page.render(out, ROOT / "presets", REFERENCES)


def test_the_page_shows_a_collected_study_and_says_which_are_not_run(tmp_path):
    out, _ = collect_and_choose(tmp_path, val_bump=0.004)
    text = page.render(out, ROOT / "presets", REFERENCES)
    section = text.split("## Learning rate")[1].split("\n## ")[0]
    assert "Numbers from commit" in section and "3 seeds" in section
    assert "| lr-0.003 | 97.80 (97.80–97.80) | 97.90 |" in section
    assert "![test accuracy per variant and framework, learning-rate]" in section
    assert "lr: no level changes test accuracy detectably" in section or "test accuracy" in section
    assert "samples/s" not in section  # speed belongs to make bench
    assert text.count("Not yet run on MNIST.") == len(SECTIONS) - 1
    assert "learning-rate lr-0.003 (+0.40 points, 95 % CI" in text
    assert "| learning-rate | lr-0.003 | 97.90 | +0.40 (" in text
    assert "snakemake --cores 8 --configfile presets/best.yaml" in text
    svg = (out / "learning-rate.svg").read_bytes()
    assert page.render(out, ROOT / "presets", REFERENCES) == text
    assert (out / "learning-rate.svg").read_bytes() == svg  # deterministic figure


def test_the_committed_page_is_what_the_committed_tables_give(tmp_path):
    """docs/findings.md and its figures, rebuilt from docs/findings/: the same bytes."""
    folder = shutil.copytree(ROOT / "docs" / "findings", tmp_path / "findings")
    text = page.render(folder, ROOT / "presets", REFERENCES)
    assert text == (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    for figure in sorted((ROOT / "docs" / "findings").glob("*.svg")):
        assert (folder / figure.name).read_bytes() == figure.read_bytes(), figure.name


def test_the_seed_notebook_section_sets_the_published_figures_beside_the_measured():
    from mlpcompare.studies import published

    summary = pd.DataFrame([
        {"variant": "notebook-sgd", "framework": "numpy", "test_accuracy_mean": 91.0,
         "test_accuracy_low": 90.5, "test_accuracy_high": 91.5},
        {"variant": "notebook-adam", "framework": "keras", "test_accuracy_mean": 97.9,
         "test_accuracy_low": 97.8, "test_accuracy_high": 98.0},
    ])  # fmt: skip
    found = published.sentences("seed-notebook", summary, REFERENCES)
    assert found[0] == ("Published: NumPy 87.62 % test accuracy; measured here in notebook-sgd: "
                        "91.00 % (95 % CI 90.50 to 91.50), +3.38 points from it.")  # fmt: skip
    assert any("PyTorch 97.66 %" in s and "notebook-adam was not run here" in s for s in found)
    assert published.sentences("regularization", summary, REFERENCES) == []


@pytest.mark.slow
def test_a_study_run_by_the_workflow_is_collected_and_rendered(tmp_path):
    """The whole path: a tiny study on digits, then `findings` collects it (digits allowed
    here) and writes the page."""
    workdir = copy_workflow(tmp_path)
    shutil.copytree(ROOT / "presets", workdir / "presets")
    (workdir / "study.yaml").write_text(
        "comparison: false\nframeworks: [numpy]\nseeds: [0, 1]\nthreads: 1\nstudies:\n"
        "  initialisation:\n    base: {epochs: 2, patience: 0}\n"
        "    axes: {init: [he-normal, zeros]}\n"
    )
    run = snakemake(workdir, "--cores", "2", "--configfile", "study.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (workdir / "results" / "studies" / "initialisation" / "run.json").is_file()
    out = workdir / "docs" / "findings"
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    studies = collect.collect(workdir / "results", workdir / "presets", config, SECTIONS,
                              ("digits",), out)  # fmt: skip
    assert studies == ["initialisation"]
    text = page.render(out, workdir / "presets", REFERENCES)
    section = text.split("## Initialisation")[1].split("\n## ")[0]
    assert "Dataset: digits." in section and "init-zeros" in section
    assert "init zeros against he-normal: test accuracy -" in section  # zeros cannot learn


def test_the_effects_table_says_higher_lower_or_cannot_tell_apart_from_each_interval():
    def row(level, measure, effect, low, high, framework="all"):
        return {"axis": "regularization", "level": level, "reference": "none",
                "framework": framework, "measure": measure, "kind": "difference",
                "n_pairs": 15, "effect": effect, "low": low, "high": high}  # fmt: skip

    nan = float("nan")
    effects = pd.DataFrame([
        row("dropout", "test_accuracy", 0.13, 0.06, 0.21),
        row("dropout", "generalisation_gap", -0.15, -0.22, -0.09),
        row("dropout", "test_accuracy", 0.9, 0.5, 1.3, framework="numpy"),  # not pooled: left out
        row("l2", "test_accuracy", -0.03, -0.11, 0.05),
        row("l2", "generalisation_gap", 0.04, nan, nan),
    ])  # fmt: skip
    lines = page.effects_table(effects)
    assert lines[2] == ("| dropout against none | +0.13 (+0.06 to +0.21) | higher "
                        "| -0.15 (-0.22 to -0.09) | lower | 15 |")  # fmt: skip
    assert lines[3] == ("| l2 against none | -0.03 (-0.11 to +0.05) | cannot tell apart "
                        "| 0.04 | no interval | 15 |")  # fmt: skip
    assert len(lines) == 4


def test_a_path_study_sets_each_level_against_the_one_before_and_names_the_change_that_closes_the_gap():
    rows = []
    for fw in ("numpy", "torch"):
        for seed in range(3):
            jitter = 0.001 * (seed - 1)
            for level, accuracy in (("sgd", 0.87), ("adam", 0.97), ("dropout", 0.97)):
                # adam: 10 points above sgd in every pair; dropout: the same as adam, within noise
                noise = 0.0005 * (-1) ** seed if level == "dropout" else 0.0
                rows.append({"recipe": level, "framework": fw, "seed": seed, "status": "ok",
                             "test_accuracy": accuracy + jitter + noise})  # fmt: skip
    lines = page.path_lines(pd.DataFrame(rows), "recipe", ["sgd", "adam", "dropout"])
    assert lines[4].startswith("| sgd → adam | +10.00 (+10.00 to +10.00) | higher | 6 (3) |")
    assert "| adam → dropout |" in lines[5] and "| cannot tell apart | 6 (3) |" in lines[5]
    assert lines[-1].startswith("Of the 10.02-point gain from sgd to dropout, sgd → adam gives")
