"""The report's sections, each a plain dict for the template: read from the result files
through :class:`~mlpcompare.presenting.report_files.Results` (only the paths the report rule
declares), the tables kept as raw CSV text for the template to format.
"""

from __future__ import annotations

from mlpcompare.aggregating import conclusions
from mlpcompare.aggregating.sentences import Group
from mlpcompare.layout import ARCH_TABLES
from mlpcompare.measuring.devexp import ASPECTS
from mlpcompare.presenting.figures import EDA_FIGURES, FIGURES
from mlpcompare.presenting.report_files import Assets, Results
from mlpcompare.presenting.report_format import (
    aligned,
    flatten,
    label,
    records_table,
    sideways,
    summary_rows,
)
from mlpcompare.spec import ModelSpec

GROUP_COLUMNS = ("dataset", "arch", "framework")
SIDEWAYS_TABLES = ("quality", "performance")  # a row per framework: shown a column per framework
# The tables of one dataset x architecture that the closing section reads.
CONCLUSION_TABLES = ("quality", "significance", "performance", "inference")


def summary_groups(table: dict, labels: dict[str, str]) -> list[dict]:
    """summary.csv turned sideways for reading: one table per dataset x architecture, a row per
    measure and a column per framework. Cells keep their raw CSV text."""
    columns = table["columns"]
    measures = [c for c in columns if c not in GROUP_COLUMNS]
    groups: dict[tuple[str, str], list[dict]] = {}
    for cells in table["rows"]:
        row = dict(zip(columns, cells, strict=True))
        groups.setdefault((row["dataset"], row["arch"]), []).append(row)
    return [
        {
            "dataset": dataset,
            "arch": arch,
            "frameworks": [
                {"name": row["framework"], "status": row.get("status", "ok")} for row in rows
            ],
            "measures": [
                {
                    "column": measure,
                    "label": label(measure, labels),
                    "cells": [row[measure] for row in rows],
                }
                for measure in measures
            ],
        }
        for (dataset, arch), rows in groups.items()
    ]


def error_percent(accuracy: str) -> str:
    """Test error in % (as LeCun's table gives it) from an accuracy cell; blank stays blank."""
    return "" if accuracy == "" else f"{100 * (1 - float(accuracy)):.2f}"


def references(summary: list[dict], reference: dict) -> dict:
    """The reference tables (``reference``: references.yaml) and this run's figures beside them:
    the notebook's per framework, LeCun's beside this run's MNIST rows (the only ones on the
    same test set)."""
    this_run = [
        {key: row[key] for key in ("dataset", "arch", "framework", "status")}
        | {
            "accuracy": row["accuracy_mean"],
            "train_time_s": row["train_time_s_median"],
            "epochs": row["epochs_median"],
            "error_percent": error_percent(row["accuracy_mean"]),
        }
        for row in summary
    ]
    return {
        "notebook": [
            {**ref, "this_run": [row for row in this_run if row["framework"] == ref["framework"]]}
            for ref in reference["notebook"]
        ],
        "lecun": reference["lecun"],
        "this_run_mnist": [row for row in this_run if row["dataset"] == "mnist"],
    }


def throughput_section(table: dict, idiomatic: dict | None) -> dict:
    """throughput.csv grouped per dataset x architecture (rows as dicts of raw text), each group
    with its rows of idiomatic.csv (tuned vs idiomatic accuracy and time; None when the
    idiomatic variant is off, ``bench.idiomatic: false``)."""
    rows = summary_rows(table)
    accuracy = summary_rows(idiomatic) if idiomatic else []
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["dataset"], row["arch"]), []).append(row)
    return {
        "groups": [
            {
                "dataset": dataset,
                "arch": arch,
                "rows": group,
                "accuracy": [r for r in accuracy if (r["dataset"], r["arch"]) == (dataset, arch)],
            }
            for (dataset, arch), group in grouped.items()
        ],
        "idiomatic": any(row["variant"] == "idiomatic" for row in rows),
    }


def environment_section(env: dict) -> dict:
    """environment.json as tables: the machine, the job settings, NumPy's BLAS, package versions,
    GPUs, and each framework's own account of itself."""
    return {
        "machine": flatten(env.get("machine", {})),
        "settings": [
            ("threads per job", str(env.get("threads_per_job", "—"))),
            ("device requested", str(env.get("device_requested", "—"))),
        ],
        "blas": records_table(env.get("blas", [])),
        "packages": [
            (name, version or "not installed") for name, version in env.get("packages", {}).items()
        ],
        "gpus": [", ".join(str(v) for v in gpu.values()) for gpu in env.get("gpus", [])],
        "frameworks": {fw: flatten(record) for fw, record in env.get("frameworks", {}).items()},
    }


ROOFLINE_COLUMNS = [
    "dataset", "arch", "batch_size", "gflops_per_s", "flops_per_sample", "ceiling_samples_per_s",
]  # fmt: skip


def diverged_runs(results: Results, runs: list[dict]) -> list[dict]:
    """Runs whose training stopped as diverged (loss not finite or blown up), with the epoch."""
    found = []
    for run in runs:
        train = results.json(results.layout.run_file(run, "train.json"))
        if train["status"] != "ok":
            found.append({**run, "status": train["status"], "epoch": train["diverged_epoch"]})
    return found


def arch_section(
    results: Results, assets: Assets, dataset: str, arch: str, spec: dict, split: dict
) -> dict:
    """One dataset x architecture: its figures (registry order) and its tables."""
    layout = results.layout
    tables = {
        name: results.csv(layout.table(dataset, arch, name))
        for name in ARCH_TABLES
        if name not in SIDEWAYS_TABLES
    }
    for name in SIDEWAYS_TABLES:
        tables[name] = sideways(results.csv(layout.table(dataset, arch, name)), assets.labels)
    tables["per_class"] = per_class(tables["per_class"])
    serving = results.csv(layout.top("serving.csv"))
    keep = [
        row[2:]  # without dataset and arch: the section names them
        for row in serving["rows"]
        if row[:2] == [dataset, arch]
    ]
    tables["serving"] = aligned({"columns": serving["columns"][2:], "rows": keep})
    return {
        "name": arch,
        "spec": spec,
        "layer_sizes": ModelSpec.from_info(spec, split).layer_sizes,
        "figures": [
            {
                "name": name,
                "title": figure.title,
                "caption": assets.caption(name, dataset=dataset, arch=arch),
                "src": results.png(layout.figure(dataset, arch, name)),
            }
            for name, figure in FIGURES.items()
        ],
        "tables": tables,
    }


def dataset_section(results: Results, assets: Assets, dataset: str, archs: dict[str, dict]) -> dict:
    """Split, sanity checks, EDA figures and each architecture's section."""
    layout = results.layout
    split = results.json(layout.split_info(dataset))
    return {
        "name": dataset,
        "split": split,
        "sanity": results.json(layout.eda(dataset, "sanity.json")),
        "eda": [
            {"title": figure.title, "src": results.png(layout.eda(dataset, f"{name}.png"))}
            for name, figure in EDA_FIGURES.items()
        ],
        "archs": [
            arch_section(results, assets, dataset, arch, spec, split)
            for arch, spec in archs.items()
        ],
    }


def per_class(table: dict) -> dict:
    """per_class.csv as one row per class and, per framework, its precision, recall and F1
    (means over seeds; raw text)."""
    rows = summary_rows(table)
    names = list(dict.fromkeys(row["framework"] for row in rows))
    classes = list(dict.fromkeys(row["class"] for row in rows))
    cell = {(row["framework"], row["class"]): row for row in rows}
    measures = ("precision_mean", "recall_mean", "f1_mean")
    return {
        "frameworks": names,
        "measures": measures,
        "rows": [
            [name, *(cell[(fw, name)][m] for fw in names for m in measures)] for name in classes
        ],
    }


def development(table: dict, names: list[str]) -> dict:
    """devexp.csv for the report: the code rows (the same for every dataset x architecture: taken
    from the first), the aspects' columns and labels, and time to first result per dataset x
    architecture."""
    rows = [row for row in summary_rows(table) if row["framework"] in names]
    first = (rows[0]["dataset"], rows[0]["arch"]) if rows else None
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["arch"]), []).append(row)
    return {
        "code": groups.get(first, []),
        "aspects": [(column, aspect.label) for column, aspect in ASPECTS.items()],
        "timing": [{"dataset": d, "arch": a, "rows": group} for (d, a), group in groups.items()],
    }


def read_conclusions(results: Results, pairs: list[tuple[str, str]], idiomatic: bool) -> dict:
    """The closing section (:func:`mlpcompare.aggregating.conclusions.conclusions`) from the
    tables of each dataset x architecture of ``pairs``, throughput.csv, devexp.csv and, with
    ``idiomatic`` (the variant on), idiomatic.csv."""
    layout = results.layout
    throughput = results.rows(layout.top("throughput.csv"))
    compared = results.rows(layout.top("idiomatic.csv")) if idiomatic else []
    groups = [
        Group(
            dataset, arch,
            **{name: results.rows(layout.table(dataset, arch, name)) for name in CONCLUSION_TABLES},
            throughput=[r for r in throughput if (r["dataset"], r["arch"]) == (dataset, arch)],
            idiomatic=[r for r in compared if (r["dataset"], r["arch"]) == (dataset, arch)],
        )
        for dataset, arch in pairs
    ]  # fmt: skip
    return conclusions.conclusions(groups, results.rows(layout.top("devexp.csv")))
