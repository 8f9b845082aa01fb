"""docs/findings.md from the committed files under docs/findings/ alone: per study its question,
a compact table, its figure and the sentences its report computes, with where the numbers came
from. The same files give the same bytes (tests/test_findings.py rebuilds the page)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from mlpcompare import io
from mlpcompare.findings import SECTIONS, STUDY_FILES, choice, figure
from mlpcompare.studies import published
from mlpcompare.studies import report as study_report
from mlpcompare.studies import tables as study_tables

INTRO = """\
# Findings

What the studies ([studies.md](studies.md)) found on MNIST, one section per study. Written by
`make findings` from the small tables committed under `docs/findings/` (copied from each finished
study's `results/studies/<study>/`); a study not run yet says so. Accuracies are means over
seeds and frameworks; each sentence comes from the study's paired effects with its 95 %
interval, as in the study's own report. Speed belongs to `make bench` and
[performance.md](performance.md): time to target is given here in epochs to the validation
accuracy of `training.target_val_accuracy` (MNIST 97 %, Fashion-MNIST 87 %), which a busy or
paused machine cannot change; a study's seconds are in its own report.

A figure repeats to the bit only on the same CPU and the same libraries: the same code on another
CPU moved MNIST accuracies by up to 0.12 points (Keras 98.26 → 98.21 %, JAX 98.12 → 98.24 %).
Each section names the commit, date and machine its tables were computed at, on the same machine
as its runs; runs are trained again only when the training code changes, tables are recomputed
from them when their computation does.
"""
NOT_RUN = "Not yet run on MNIST."
# Studies whose one axis is a path, each level one change on the one before (path_lines).
PATH_STUDIES = ("seed-notebook",)


def question(presets: Path, study: str) -> str:
    path = presets / f"{study}.yaml"
    if not path.is_file():
        return "The recipe chosen on validation accuracy against the project's recipe."
    return yaml.safe_load(path.read_text())["studies"][study]["description"]


def study_of(summary: pd.DataFrame) -> dict:
    """The axes a study's summary holds (the columns between ``variant`` and ``framework``),
    levels in the study's order: what the report's sentences need."""
    columns = list(summary.columns)
    names = columns[columns.index("variant") + 1 : columns.index("framework")]
    return {"axes": [{"name": n, "labels": list(dict.fromkeys(summary[n]))} for n in names]}


def _cell(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def compact_table(summary: pd.DataFrame) -> list[str]:
    """A row per variant: each measure's mean over frameworks (of their means over seeds)."""
    lines = ["| variant | test accuracy % (lowest–highest framework) | validation accuracy % "
             "| generalisation gap (points) | epochs run | epochs to target |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for variant, rows in summary.groupby("variant", sort=False):
        test = rows["test_accuracy_mean"].astype(float)
        mean = lambda column, r=rows: float(r[column].astype(float).mean())  # noqa: E731
        cells = [
            f"{_cell(test.mean())} ({_cell(test.min())}–{_cell(test.max())})",
            _cell(mean("val_accuracy_mean")),
            _cell(mean("generalisation_gap_mean")),
            _cell(mean("epochs_run_mean"), 1),
            _cell(mean("epochs_to_target_mean"), 1),
        ]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return lines


def _interval(row: pd.Series) -> str:
    """``+0.13 (+0.06 to +0.21)``, or the effect alone where too few pairs gave no interval."""
    if not (math.isfinite(row["effect"]) and math.isfinite(row["low"])):
        return _cell(float(row["effect"])) if math.isfinite(row["effect"]) else "–"
    return f"{row['effect']:+.2f} ({row['low']:+.2f} to {row['high']:+.2f})"


def _verdict(row: pd.Series | None) -> str:
    if row is None or not (math.isfinite(row["low"]) and math.isfinite(row["high"])):
        return "no interval"
    if row["low"] > 0:
        return "higher"
    if row["high"] < 0:
        return "lower"
    return "cannot tell apart"


def effects_table(effects: pd.DataFrame) -> list[str]:
    """Every level against its axis' reference, pooled over frameworks: the test accuracy and
    generalisation gap differences with their 95 % intervals, and what each interval allows:
    "higher" or "lower" where it excludes zero, "cannot tell apart" where it holds zero."""
    pooled = effects[effects["framework"] == "all"]
    lines = ["| level against reference | test accuracy (points, 95 % CI) | verdict "
             "| generalisation gap (points, 95 % CI) | verdict | paired runs (seeds) |",
             "| --- | ---: | --- | ---: | --- | ---: |"]  # fmt: skip
    several_axes = pooled["axis"].nunique() > 1
    for (axis, level, reference), rows in pooled.groupby(
        ["axis", "level", "reference"], sort=False
    ):
        by_measure = {m: r.iloc[0] for m, r in rows.groupby("measure", sort=False)}
        test, gap = by_measure.get("test_accuracy"), by_measure.get("generalisation_gap")
        name = (
            f"{axis} {level} against {reference}"
            if several_axes
            else f"{level} against {reference}"
        )
        pairs = _pairs(test) if test is not None else "0"
        cells = [_interval(test) if test is not None else "–", _verdict(test),
                 _interval(gap) if gap is not None else "–", _verdict(gap), pairs]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def path_lines(runs: pd.DataFrame, axis: str, levels: list[str]) -> list[str]:
    """A study whose levels are a path (each one change on the one before: the seed notebook's
    recipe to this project's): each level against the previous one, paired run by run, and
    which change closes most of the gap from the first level to the last."""
    ok = runs[runs["status"] == "ok"].astype({axis: str})
    lines = ["One change at a time, each level against the one before it:", "",
             "| change | test accuracy (points, 95 % CI) | verdict | paired runs (seeds) |",
             "| --- | ---: | --- | ---: |"]  # fmt: skip
    steps = []
    for before, after in zip(levels, levels[1:], strict=False):
        pairs = study_tables.paired_runs(ok, axis, after, before, ["framework", "seed"])
        row = pd.Series(study_tables.paired(
            pairs["test_accuracy"], pairs["test_accuracy_ref"], "test_accuracy"))  # fmt: skip
        steps.append((before, after, row))
        lines.append(f"| {before} → {after} | {_interval(row)} | {_verdict(row)} "
                     f"| {_pairs(row)} |")  # fmt: skip
    total = sum(row["effect"] for *_, row in steps if math.isfinite(row["effect"]))
    if steps and total > 0:
        before, after, row = max(steps, key=lambda step: step[2]["effect"])
        lines += ["", f"Of the {total:.2f}-point gain from {levels[0]} to {levels[-1]}, "
                      f"{before} → {after} gives {row['effect']:.2f} points "
                      f"({100 * row['effect'] / total:.0f} %)."]  # fmt: skip
    return lines


def provenance_line(prov: dict, summary: pd.DataFrame) -> str:
    seeds = int(summary["n_seeds"].max())
    where = f" ({prov['source']})" if prov["source"] else ""
    versions = ", ".join(f"{k} {v}" for k, v in prov["packages"].items())
    return (f"Numbers from commit {prov['commit']}, {prov['date']}, on {prov['machine']}"
            f"{where}; {seeds} seeds" + (f"; {versions}." if versions else "."))  # fmt: skip


def read_summary(path: Path) -> pd.DataFrame:
    """A study's summary.csv with its level labels as text (``0.001``, ``256``), as written."""
    columns = list(pd.read_csv(path, nrows=0).columns)
    labels = columns[: columns.index("framework")]
    return pd.read_csv(path, dtype=dict.fromkeys(labels, str))


def study_section(folder: Path, study: str, references: dict) -> list[str]:
    summary = read_summary(folder / study / "summary.csv")
    effects = pd.read_csv(folder / study / "effects.csv", dtype={"level": str, "reference": str})
    prov = io.read_json(folder / study / "provenance.json")
    variants = io.read_json(folder / study / "variants.json")["variants"]
    datasets = sorted({v["dataset"] for v in variants})
    axes = study_of(summary)
    seeds = int(summary["n_seeds"].max())
    found = study_report.sentences(effects, axes, seeds, speed=False)
    found += published.sentences(study, summary, references)
    figure.accuracy_figure(summary, study, folder / f"{study}.svg")
    lines = [f"Dataset: {', '.join(datasets)}. " + provenance_line(prov, summary), ""]
    lines += compact_table(summary)
    lines += [
        "",
        "Each level against the reference, paired run by run (same framework, same seed); each "
        "interval is over the seeds, since one seed's runs share their initial weights and batch "
        "order in every framework:",
        "",
    ]
    lines += effects_table(effects)
    if study in PATH_STUDIES:
        runs = pd.read_csv(folder / study / "runs.csv")
        axis = axes["axes"][0]
        lines += ["", *path_lines(runs, axis["name"], axis["labels"])]
    lines += ["", f"![test accuracy per variant and framework, {study}](findings/{study}.svg)", ""]
    lines += [f"- {sentence}" for sentence in found] or ["- No sentence: too few runs."]
    return lines


def _pairs(row) -> str:
    """ "15 (3)": the paired runs and the seeds an interval is over."""
    seeds = row.get("n_seeds")
    if seeds is None or not math.isfinite(float(seeds)):
        return str(int(row["n_pairs"]))
    return f"{int(row['n_pairs'])} ({int(seeds)})"


def _points(entry: dict) -> str:
    if not entry["changes"]:
        return "—"
    if entry["n_pairs"] == 0:
        return "no paired runs"
    if not math.isfinite(entry["low"]):
        return f"{entry['effect']:+.2f} (no interval)"
    return f"{entry['effect']:+.2f} ({entry['low']:+.2f} to {entry['high']:+.2f})"


def _changes(changes: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in changes.items()) or "none"


def best_lines(folder: Path) -> list[str]:
    path = folder / "best.json"
    if not path.is_file():
        how = choice.HOW.format(studies=", ".join(choice.CANDIDATE_STUDIES))
        return [f"How it is chosen: {how}", "",
                "No choice yet: `make findings` chooses once MNIST studies are collected."]  # fmt: skip
    made = io.read_json(path)
    lines = [f"How it is chosen: {made['how']}", "", f"Choice: {made['why']}"]
    if made.get("studies"):
        lines += [
            "",
            "Each study's best variant against the project's recipe, validation "
            "accuracy paired run by run:",
            "",
            "| study | best variant | validation % | against the project's (points, "
            "95 % CI) | changes | verdict |",
            "| --- | --- | ---: | --- | --- | --- |",
        ]
        lines += [f"| {e['study']} | {e['variant']} | {e['val_accuracy']:.2f} | "
                  f"{_points(e)} | {_changes(e['changes'])} | {e['verdict']} |"
                  for e in made["studies"]]  # fmt: skip
    elif made["candidates"]:
        lines += ["", "| candidate | validation accuracy % |", "| --- | ---: |"]
        lines += [f"| {c['study']} {c['variant']} | {c['val_accuracy']:.2f} |"
                  for c in made["candidates"]]  # fmt: skip
    if made["decision"] == "chosen":
        lines += ["", "`presets/best.yaml` trains it beside the project's recipe on MNIST:", "",
                  "```bash",
                  "snakemake --cores 8 --configfile presets/best.yaml --config mirror=../shared/datasets",
                  "```"]  # fmt: skip
    if all((folder / "best" / name).is_file() for name in STUDY_FILES):
        lines += ["", *goal_lines(folder, made)]
    return lines


def goal_lines(folder: Path, made: dict) -> list[str]:
    """The best study's chosen level against the goal (choice.GOAL_ACCURACY, GOAL_SPREAD)."""
    summary = read_summary(folder / "best" / "summary.csv")
    variants = io.read_json(folder / "best" / "variants.json")["variants"]
    found = choice.goal(summary, variants, made)
    if found is None:
        return ["The best study below has no chosen level."]
    if not found["current"]:
        return ["The best study below trained an earlier choice, not the recipe chosen above: "
                "run `presets/best.yaml` again."]  # fmt: skip
    each = ", ".join(f"{fw} {acc:.2f} %" for fw, acc in found["per_framework"].items())
    verdict = "met" if found["met"] else "not met"
    line = (f"The chosen recipe's test accuracy, mean of {found['seeds']} seeds: {each}; "
            f"{found['low']:.2f} to {found['high']:.2f} %, {found['spread']:.2f} points apart. "
            f"The goal, at least {choice.GOAL_ACCURACY} % in every framework and within "
            f"{choice.GOAL_SPREAD} points of each other: {verdict}.")  # fmt: skip
    if found["crossing"]:
        which = ", ".join(
            f"{fw} ({lo:.2f} to {hi:.2f} %)" for fw, (lo, hi) in found["crossing"].items()
        )
        side, these, others = (
            ("below", "meet", "miss") if found["met"] else ("above", "miss", "meet")
        )
        line += (f" The 95 % intervals over the seeds of {which} reach {side} "
                 f"{choice.GOAL_ACCURACY} %: these seeds' means {these} it, other seeds could "
                 f"{others} it.")  # fmt: skip
    return [line]


def render(folder: str | Path, presets: str | Path, references: dict) -> str:
    """The page's text; also (re)draws each collected study's figure ``<folder>/<study>.svg``."""
    folder, presets = Path(folder), Path(presets)
    lines = [INTRO]
    for study, heading in SECTIONS.items():
        lines += [f"## {heading}", "",
                  f"Question (`presets/{study}.yaml`): {question(presets, study)}", ""]  # fmt: skip
        if study == "best":
            lines += [*best_lines(folder), ""]
        collected = all((folder / study / name).is_file() for name in STUDY_FILES)
        lines += [*(study_section(folder, study, references) if collected else [NOT_RUN]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write(folder, presets, references_path, output) -> None:
    text = render(folder, presets, yaml.safe_load(Path(references_path).read_text()))
    with io.atomic_path(output, suffix=".md") as tmp:
        tmp.write_text(text, encoding="utf-8")
