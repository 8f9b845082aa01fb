"""The HTML report: the result files read into one context dict, rendered with Jinja.

The template formats and never computes: every number it shows comes from a result file, and
the summary table shows ``results/summary.csv`` cell by cell (each cell keeps the raw CSV text
in ``data-raw``). The page is one file that opens offline: figures are base64 PNG data URIs, the
stylesheet is inline, and a Content-Security-Policy forbids the page any request at all.
Autoescaping is on, so a string from the config or the data cannot inject markup.

What the report says beside the numbers lives in ``report/``: the template and stylesheet,
each figure's caption (``captions/<figure>.rst``, shared with Snakemake's ``--report``), the
column headings (``labels.yaml``) and the reference results (``references.yaml``). Paths of
results come from :mod:`mlpcompare.layout`, figures from :mod:`mlpcompare.presenting.figures`, frameworks
from :mod:`mlpcompare.frameworks`.
"""

from __future__ import annotations

import base64
import datetime
import re
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import jinja2
import markupsafe
import yaml

from mlpcompare import frameworks, io
from mlpcompare.aggregating import conclusions
from mlpcompare.config import architectures
from mlpcompare.data.fetch import redact
from mlpcompare.layout import ARCH_TABLES, Layout
from mlpcompare.measuring.devexp import ASPECTS
from mlpcompare.presenting.figures import EDA_FIGURES, FIGURES
from mlpcompare.presenting.report_format import (
    aligned,
    flatten,
    fmt,
    is_number,
    label,
    percent,
    records_table,
    sideways,
    summary_rows,
)

GROUP_COLUMNS = ("dataset", "arch", "framework")
SIDEWAYS_TABLES = ("quality", "performance")  # a row per framework: shown a column per framework
# No request of any kind: images are data URIs, the stylesheet is inline, there is no script.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


class Results:
    """Reads the files of a results folder, by the paths :class:`~mlpcompare.layout.Layout` gives."""

    def __init__(self, root: str | Path):
        self.layout = Layout(str(root))

    def csv(self, path: str) -> dict:
        """A CSV as ``{"columns": [...], "rows": [[raw cell text, ...], ...]}``."""
        rows = io.read_csv(path)
        columns = list(rows[0]) if rows else []
        return aligned({"columns": columns, "rows": [list(row.values()) for row in rows]})

    @staticmethod
    def png(path: str) -> str:
        """A PNG as a data URI, so the page needs no file beside it."""
        data = Path(path).read_bytes()
        if not data.startswith(b"\x89PNG"):
            raise ValueError(f"{path}: not a PNG file")
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class Assets:
    """The report's own files under ``report/``: template, stylesheet, captions, data."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.template = self.folder / "templates" / "report.html.j2"
        self.labels = self._yaml("labels.yaml")
        self.references = self._yaml("references.yaml")

    def _yaml(self, name: str) -> dict:
        return yaml.safe_load((self.folder / name).read_text())

    def css(self) -> str:
        """The stylesheet, plus each framework's colour (registry) as its ``fw-<name>`` class."""
        css = (self.folder / "style.css").read_text()
        colours = "".join(
            f".fw-{name} {{ border-color: {fw.colour}; }}\n"
            for name, fw in frameworks.REGISTRY.items()
        )
        return css + colours

    def caption(self, figure: str, **wildcards: str) -> str:
        """Figure ``figure``'s caption (``captions/<figure>.rst``) for ``wildcards``, as plain
        text: the reStructuredText marks (``literal``, **strong**) dropped."""
        text = (self.folder / "captions" / f"{figure}.rst").read_text()
        context = {"snakemake": SimpleNamespace(wildcards=SimpleNamespace(**wildcards))}
        text = jinja2.Template(text).render(context)
        return " ".join(re.sub(r"``|\*\*", "", text).split())


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
        train = io.read_json(results.layout.run_file(run, "train.json"))
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
        "layer_sizes": [split["n_features"], *spec["hidden"], split["n_classes"]],
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
    split = io.read_json(layout.split_info(dataset))
    return {
        "name": dataset,
        "split": split,
        "sanity": io.read_json(layout.eda(dataset, "sanity.json")),
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


def load_context(results: Results, assets: Assets, *, config: dict, runs: list[dict]) -> dict:
    """Everything the template shows, read from ``results`` and ``assets``.

    ``config`` is the configuration the workflow ran with (defaults filled in), ``runs`` every
    run record (dataset, arch, framework, seed).
    """
    if config.get("mirror"):  # a mirror URL's user, password or token never reaches the page
        config = {**config, "mirror": redact(config["mirror"])}
    css = assets.css()
    if "</style" in css.lower():
        raise ValueError("the stylesheet must not contain '</style'")
    layout = results.layout
    summary = results.csv(layout.top("summary.csv"))
    roofline = io.read_json(layout.machine("roofline.json"))
    archs = architectures(config)
    *others, last = [frameworks.get(fw).label for fw in config["frameworks"]]
    labels = f"{', '.join(others)} and {last}" if others else last
    return {
        "title": f"mlpcompare: one MLP in {labels}",
        "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "csp": CONTENT_SECURITY_POLICY,
        "css": markupsafe.Markup(css),  # our own stylesheet, checked above: not escaped
        "config": config,
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        "overrides": config.get("framework_overrides") or {},
        "frameworks": config["frameworks"],
        "seeds": config["seeds"],
        "archs": archs,
        "diverged": diverged_runs(results, runs),
        "summary": summary_groups(summary, assets.labels),
        "references": references(summary_rows(summary), assets.references),
        "datasets": [dataset_section(results, assets, d, archs) for d in config["datasets"]],
        "throughput": throughput_section(
            results.csv(layout.top("throughput.csv")),
            results.csv(layout.top("idiomatic.csv")) if config["bench"]["idiomatic"] else None,
        ),
        "roofline": {
            "method": roofline.get("method", ""),
            "threads": roofline.get("threads", ""),
            "table": records_table(roofline.get("entries", []), ROOFLINE_COLUMNS),
        },
        "development": development(results.csv(layout.top("devexp.csv")), config["frameworks"]),
        "conclusions": conclusions.conclusions(
            layout, [(d, arch) for d in config["datasets"] for arch in archs]
        ),
        "environment": environment_section(io.read_json(layout.machine("environment.json"))),
    }


def environment_for(template_dir: str | Path, labels: dict[str, str]) -> jinja2.Environment:
    """The Jinja environment: autoescaping for ``.html.j2`` (and anything else), strict
    undefined names (a typo in the template fails instead of printing nothing), the ``num``,
    ``percent`` and ``label`` filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2", "j2"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    env.filters["label"] = partial(label, labels=labels)
    env.filters["percent"] = percent
    env.tests["number"] = is_number
    return env


def render(context: dict, template: str | Path, labels: dict[str, str]) -> str:
    """The page for ``context`` from the template file ``template``."""
    template = Path(template)
    env = environment_for(template.parent, labels)
    return env.get_template(template.name).render(context)


def write_report(*, root: str, assets: str, config: dict, runs: list[dict], output: str) -> None:
    """Read the results under ``root`` and the report's files under ``assets`` (``report/``),
    render the page and write it to ``output``."""
    assets = Assets(assets)
    context = load_context(Results(root), assets, config=config, runs=runs)
    page = render(context, assets.template, assets.labels)
    with io.atomic_path(output, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
