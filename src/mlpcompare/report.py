"""The HTML report: the result files read into one context dict, rendered with Jinja.

The template formats and never computes: every number it shows comes from a result file, and
the summary table shows ``results/summary.csv`` cell by cell (each cell keeps the raw CSV text
in ``data-raw``). The page is one file that opens offline: figures are base64 PNG data URIs, the
stylesheet is inline, and a Content-Security-Policy forbids the page any request at all.
Autoescaping is on, so a string from the config or the data cannot inject markup.
"""

from __future__ import annotations

import base64
import csv
import datetime
import math
from pathlib import Path

import jinja2
import markupsafe
import yaml

from mlpcompare.config import architectures
from mlpcompare.io import atomic_path, read_json

# Figures of one dataset x architecture (rule `plots`): file stem, title, what to read in it.
FIGURES = {
    "learning_curves": (
        "Learning curves",
        "Loss and accuracy per epoch on the training batches (before each update, dropout on) "
        "and on the validation set. Line: mean over seeds; band: min to max.",
    ),
    "time_to_accuracy": (
        "Time to accuracy",
        "Validation accuracy against cumulative training time, one line per seed; the dashed "
        "line is the target accuracy. The tables' time to target also counts the validation "
        "passes.",
    ),
    "confusion": (
        "Confusion matrices",
        "Test-set predictions summed over seeds, each row normalised to the true class.",
    ),
    "per_class_f1": ("Per-class F1", "Test F1 per class: mean over seeds, whiskers min to max."),
    "training": (
        "Training time and throughput",
        "Left: total training time (hatched: the first epoch, which includes warm-up). Right: "
        "steady-state samples/s (median over epochs after the first) against the roofline "
        "ceiling, the rate the MLP's own matrix products allow on this machine; where it was "
        "measured, the idiomatic variant's hatched bar stands beside each framework's.",
    ),
    "inference": (
        "Inference latency",
        "Per-call latency against batch size, log-log: p50 with a whisker to p90, one line per "
        "framework and inference API; right, the samples/s this gives.",
    ),
}
EDA_FIGURES = {
    "samples": "Training samples",
    "class_balance": "Class balance",
    "pixel_stats": "Input values",
}
ARCH_TABLES = ("significance", "inference")
SIDEWAYS_TABLES = ("quality", "performance")  # a row per framework: shown a column per framework

COLUMN_LABELS = {
    "n_seeds": "seeds",
    "accuracy_mean": "test accuracy, mean",
    "accuracy_std": "test accuracy, std",
    "precision_macro_mean": "macro precision, mean",
    "recall_macro_mean": "macro recall, mean",
    "f1_macro_mean": "macro F1, mean",
    "f1_macro_std": "macro F1, std",
    "train_time_s_median": "training time (s), median",
    "epochs_median": "epochs, median",
    "train_samples_per_s_median": "steady-state training samples/s, median",
    "roofline_fraction": "fraction of the roofline ceiling",
    "infer_p50_ms_batch1": "inference p50 at batch 1 (ms), best API",
    "infer_samples_per_s_best": "inference samples/s, best batch and API",
    "n_ok": "seeds not diverged",
    "accuracy_ci_low": "accuracy, 95 % CI low",
    "accuracy_ci_high": "accuracy, 95 % CI high",
    "f1_macro_ci_low": "macro F1, 95 % CI low",
    "f1_macro_ci_high": "macro F1, 95 % CI high",
    "test_loss_mean": "test loss, mean",
    "train_time_s_q1": "training time (s), Q1",
    "train_time_s_q3": "training time (s), Q3",
    "first_epoch_s_median": "first epoch (s), median",
    "train_samples_per_s_q1": "samples/s, Q1",
    "train_samples_per_s_q3": "samples/s, Q3",
    "time_to_target_s_median": "time to target accuracy (s), median",
    "reached_target": "seeds that reached the target",
    "peak_rss_mb_train": "peak memory, training (MiB)",
    "peak_rss_mb_inference": "peak memory, inference (MiB)",
    "p50_ms": "p50 (ms)",
    "p90_ms": "p90 (ms)",
    "samples_per_s": "samples/s",
    "framework_a": "framework A",
    "framework_b": "framework B",
    "n_test": "n",
    "accuracy_a": "accuracy A",
    "accuracy_b": "accuracy B",
    "b": "b (A only right)",
    "c": "c (B only right)",
    "statistic": "min(b, c)",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "batch_size": "batch",
    "gflops_per_s": "GEMM GFLOP/s",
    "flops_per_sample": "FLOPs per sample",
    "ceiling_samples_per_s": "ceiling samples/s",
    "peak_rss_mb": "peak memory in training (MiB)",
    "loc": "lines of code",
    "status": "status",
    "variant": "variant",
    "api": "API",
    "samples_per_s_median": "samples/s, median",
    "samples_per_s_q1": "samples/s, Q1",
    "samples_per_s_q3": "samples/s, Q3",
    "slowdown_vs_tuned": "slowdown vs tuned (tuned / this)",
}
GROUP_COLUMNS = ("dataset", "arch", "framework")

# The original notebook this project started from: MNIST, 10 epochs, batch 128; NumPy trained
# with plain SGD at lr 1e-3, PyTorch and Keras with Adam (presets/seed-notebook.yaml).
NOTEBOOK = [
    {"framework": "numpy", "accuracy": 0.8762, "train_time_s": 4.24},
    {"framework": "torch", "accuracy": 0.9766, "train_time_s": 6.12},
    {"framework": "keras", "accuracy": 0.9773, "train_time_s": 7.96},
]
# Multilayer perceptrons in LeCun, Cortes and Burges' MNIST table: test error in %.
LECUN_MLPS = [
    ("2-layer NN, 300 hidden units, mean square error", "none", 4.7, "LeCun et al. 1998"),
    ("2-layer NN, 1000 hidden units", "none", 4.5, "LeCun et al. 1998"),
    ("3-layer NN, 300+100 hidden units", "none", 3.05, "LeCun et al. 1998"),
    ("3-layer NN, 500+150 hidden units", "none", 2.95, "LeCun et al. 1998"),
    (
        "3-layer NN, 500+300 HU, softmax, cross entropy, weight decay",
        "none",
        1.53,
        "Hinton, unpublished, 2005",
    ),
    ("2-layer NN, 800 HU, cross-entropy loss", "none", 1.6, "Simard et al., ICDAR 2003"),
    (
        "2-layer NN, 800 HU, cross-entropy [elastic distortions]",
        "none",
        0.7,
        "Simard et al., ICDAR 2003",
    ),
    (
        "6-layer NN 784-2500-2000-1500-1000-500-10 (on GPU) [elastic distortions]",
        "none",
        0.35,
        "Ciresan et al., Neural Computation 2010",
    ),
]
# What each implementation leaves to its framework, as this project's code uses it.
AUTOMATES = {
    "numpy": {
        "gradients": "hand-written backward pass per layer (checked against finite differences)",
        "optimizer": "hand-written SGD and Adam",
        "data pipeline": "arrays indexed by the shared permutation",
        "checkpoint": "model.npz: plain arrays, loaded with allow_pickle=False",
    },
    "torch": {
        "gradients": "autograd (loss.backward())",
        "optimizer": "built in: torch.optim.Adam / SGD",
        "data pipeline": "tensors made once, indexed by the shared permutation (no DataLoader)",
        "checkpoint": "model.pt: state dict, loaded with weights_only=True",
    },
    "keras": {
        "gradients": "autograd (tf.GradientTape), epoch loop compiled by tf.function",
        "optimizer": "built-in keras.optimizers.Adam / SGD with the update step overridden "
        "to the textbook form",
        "data pipeline": "tensors made once, indexed by the shared permutation (no model.fit)",
        "checkpoint": "model.keras: zip of config and weights, loaded with safe_mode=True",
    },
}
# No request of any kind: images are data URIs, the stylesheet is inline, there is no script.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def aligned(table: dict) -> dict:
    """``table`` with ``numeric``: per column, whether most of its filled cells are numbers
    (its heading is then right-aligned, like the numbers under it)."""
    numeric = []
    for i in range(len(table["columns"])):
        filled = [row[i] for row in table["rows"] if row[i] != ""]
        numeric.append(sum(map(is_number, filled)) > len(filled) / 2)
    return {**table, "numeric": numeric}


class Results:
    """Reads files under a results folder and remembers which (see :func:`undeclared`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.read: list[Path] = []

    def path(self, relative: str) -> Path:
        path = self.root / relative
        self.read.append(path)
        return path

    def json(self, relative: str) -> dict:
        return read_json(self.path(relative))

    def csv(self, relative: str) -> dict:
        """A CSV as ``{"columns": [...], "rows": [[raw cell text, ...], ...]}``."""
        with open(self.path(relative), newline="") as fh:
            reader = csv.reader(fh)
            columns = next(reader)
            return aligned({"columns": columns, "rows": list(reader)})

    def png(self, relative: str) -> str:
        """A PNG as a data URI, so the page needs no file beside it."""
        data = self.path(relative).read_bytes()
        if not data.startswith(b"\x89PNG"):
            raise ValueError(f"{self.root / relative}: not a PNG file")
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def undeclared(read: list[Path], declared: list[str]) -> list[str]:
    """Files that were read but are not among ``declared`` (the rule's inputs): a rule that
    reads undeclared files would not rerun when they change."""
    known = {Path(p).resolve() for p in declared}
    return sorted({str(p) for p in read if p.resolve() not in known})


def fmt(value) -> str:
    """How the report writes a number: four significant digits, thousands grouped from 1,000
    up, integers without a decimal point; a blank cell is a dash; text stays as it is."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, bool) or not math.isfinite(number):
        return str(value)
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    if number == int(number):
        return str(int(number))
    return f"{number:.4g}"


def percent(value) -> str:
    """A fraction as a percentage with one decimal (0.1234 -> "12.3 %"); a blank cell is a dash."""
    return "—" if not is_number(value) else f"{100 * float(value):.1f} %"


def label(column: str) -> str:
    """A table column's heading: its summary label, else the name with spaces."""
    return COLUMN_LABELS.get(column, column.replace("_", " "))


def is_number(value) -> bool:
    """Whether a cell holds a number (tables align those right, text left)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def summary_groups(table: dict) -> list[dict]:
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
                    "label": label(measure),
                    "cells": [row[measure] for row in rows],
                }
                for measure in measures
            ],
        }
        for (dataset, arch), rows in groups.items()
    ]


def sideways(table: dict) -> dict:
    """A table with one row per framework turned into one row per measure, a column per
    framework (narrow enough to read without scrolling). Cells keep their raw text."""
    columns, rows = table["columns"], table["rows"]
    return aligned(
        {
            "columns": ["measure", *(row[0] for row in rows)],
            "rows": [[label(c), *(row[i] for row in rows)] for i, c in enumerate(columns) if i],
        }
    )


def summary_rows(table: dict) -> list[dict]:
    """A table's rows (summary.csv, throughput.csv) as dicts (raw text)."""
    return [dict(zip(table["columns"], cells, strict=True)) for cells in table["rows"]]


def error_percent(accuracy: str) -> str:
    """Test error in % (as LeCun's table gives it) from an accuracy cell; blank stays blank."""
    return "" if accuracy == "" else f"{100 * (1 - float(accuracy)):.2f}"


def references(summary: list[dict]) -> dict:
    """The reference tables and this run's figures beside them: the notebook's per framework,
    LeCun's beside this run's MNIST rows (the only ones on the same test set)."""
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
            for ref in NOTEBOOK
        ],
        "lecun": [
            {"model": m, "preprocessing": p, "error_percent": e, "source": s}
            for m, p, e, s in LECUN_MLPS
        ],
        "this_run_mnist": [row for row in this_run if row["dataset"] == "mnist"],
    }


def throughput_section(table: dict) -> dict:
    """throughput.csv grouped per dataset x architecture (rows as dicts of raw text), and
    whether the idiomatic variant was measured at all (``bench.idiomatic_epochs`` > 0)."""
    rows = summary_rows(table)
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["dataset"], row["arch"]), []).append(row)
    return {
        "groups": [
            {"dataset": dataset, "arch": arch, "rows": group}
            for (dataset, arch), group in grouped.items()
        ],
        "idiomatic": any(row["variant"] == "idiomatic" for row in rows),
    }


def flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts and lists as ("a.b", "text") pairs, for key/value tables."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return [pair for i, v in enumerate(value) for pair in flatten(v, f"{prefix}{i}.")]
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return [(prefix.rstrip("."), "—" if value is None else str(value))]


def records_table(records: list[dict], columns: list[str] | None = None) -> dict:
    """A list of dicts as a table (``columns`` default: every key, in first-seen order);
    a missing value is a blank cell."""
    columns = columns or list(dict.fromkeys(key for record in records for key in record))
    return aligned(
        {
            "columns": columns,
            "rows": [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in records],
        }
    )


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
    """Runs whose training stopped as diverged (loss not finite or blown up), with the epoch it happened."""
    found = []
    for key in runs:
        train = results.json(
            f"{key['dataset']}/{key['arch']}/{key['framework']}/seed{key['seed']}/train.json"
        )
        if train["status"] != "ok":
            found.append({**key, "status": train["status"], "epoch": train["diverged_epoch"]})
    return found


def arch_section(results: Results, dataset: str, arch: str, spec: dict, split: dict) -> dict:
    """One dataset x architecture: its figures and its tables."""
    tables = {name: results.csv(f"{dataset}/{arch}/{name}.csv") for name in ARCH_TABLES}
    for name in SIDEWAYS_TABLES:
        tables[name] = sideways(results.csv(f"{dataset}/{arch}/{name}.csv"))
    return {
        "name": arch,
        "spec": spec,
        "layer_sizes": [split["n_features"], *spec["hidden"], split["n_classes"]],
        "figures": [
            {
                "name": stem,
                "title": title,
                "caption": caption,
                "src": results.png(f"{dataset}/{arch}/plots/{stem}.png"),
            }
            for stem, (title, caption) in FIGURES.items()
        ],
        "tables": tables,
    }


def dataset_section(results: Results, dataset: str, archs: dict[str, dict]) -> dict:
    """Split, sanity checks, EDA figures and each architecture's section."""
    split = results.json(f"{dataset}/data/split.json")
    return {
        "name": dataset,
        "split": split,
        "sanity": results.json(f"{dataset}/eda/sanity.json"),
        "eda": [
            {"title": title, "src": results.png(f"{dataset}/eda/{stem}.png")}
            for stem, title in EDA_FIGURES.items()
        ],
        "archs": [
            arch_section(results, dataset, arch, spec, split) for arch, spec in archs.items()
        ],
    }


def implementations(loc: dict, frameworks: list[str]) -> list[dict]:
    """Per framework: lines of code and files (loc.csv) and what the framework automates."""
    counts = {row[0]: dict(zip(loc["columns"], row, strict=True)) for row in loc["rows"]}
    return [
        {
            "framework": fw,
            "loc": counts.get(fw, {}).get("loc", ""),
            "files": counts.get(fw, {}).get("files", ""),
            "facts": AUTOMATES.get(fw, {}),
        }
        for fw in frameworks
    ]


def load_context(
    results: Results,
    *,
    config: dict,
    runs: list[dict],
    css: str,
) -> dict:
    """Everything the template shows, read from ``results`` (a :class:`Results`).

    ``config`` is the configuration the workflow ran with (defaults filled in), ``runs`` every
    run key (dataset, arch, framework, seed); ``css`` the stylesheet to inline.
    """
    if "</style" in css.lower():
        raise ValueError("the stylesheet must not contain '</style'")
    summary = results.csv("summary.csv")
    rows = summary_rows(summary)
    roofline = results.json("machine/roofline.json")
    archs = architectures(config)
    return {
        "title": "mlpcompare: one MLP in NumPy, PyTorch and Keras",
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
        "summary": summary_groups(summary),
        "references": references(rows),
        "datasets": [dataset_section(results, d, archs) for d in config["datasets"]],
        "throughput": throughput_section(results.csv("throughput.csv")),
        "roofline": {
            "method": roofline.get("method", ""),
            "threads": roofline.get("threads", ""),
            "table": records_table(roofline.get("entries", []), ROOFLINE_COLUMNS),
        },
        "implementations": implementations(results.csv("loc.csv"), config["frameworks"]),
        "environment": environment_section(results.json("machine/environment.json")),
    }


def environment_for(template_dir: str | Path) -> jinja2.Environment:
    """The Jinja environment: autoescaping for ``.html.j2`` (and anything else), strict
    undefined names (a typo in the template fails instead of printing nothing), the ``num``
    filter."""
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
    env.filters["label"] = label
    env.filters["percent"] = percent
    env.tests["number"] = is_number
    return env


def render(context: dict, template: str | Path) -> str:
    """The page for ``context`` from the template file ``template``."""
    template = Path(template)
    return environment_for(template.parent).get_template(template.name).render(context)


def write_report(
    *,
    root: str,
    template: str,
    style: str,
    config: dict,
    runs: list[dict],
    declared: list[str],
    output: str,
) -> None:
    """Read the results under ``root``, render ``template`` with ``style`` inline, write
    ``output``. Fails if a file was read that is not in ``declared`` (the rule's inputs)."""
    results = Results(root)
    context = load_context(results, config=config, runs=runs, css=Path(style).read_text())
    missing = undeclared(results.read, declared)
    if missing:
        raise RuntimeError(f"the report read files its rule does not declare: {missing}")
    with atomic_path(output, suffix=".html") as tmp:
        tmp.write_text(render(context, template), encoding="utf-8")
