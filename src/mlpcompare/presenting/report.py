"""The HTML report: the result files read into one context dict, rendered with Jinja.

The template formats and never computes: every number it shows comes from a result file, and
the summary table shows ``results/summary.csv`` cell by cell (each cell keeps the raw CSV text
in ``data-raw``). The page is one file that opens offline: figures are base64 PNG data URIs, the
stylesheet is inline, and a Content-Security-Policy forbids the page any request at all.
Autoescaping is on, so a string from the config or the data cannot inject markup.

What the report says beside the numbers lives in ``report/``: the template and stylesheet,
each figure's caption (``captions/<figure>.rst``, shared with Snakemake's ``--report``), the
column headings (``labels.yaml``) and the reference results (``references.yaml``). Result files
are read through :class:`~mlpcompare.presenting.report_files.Results`, which reads only what the
report rule declares; the sections are built in :mod:`mlpcompare.presenting.report_sections`.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import jinja2
import markupsafe
import yaml

from mlpcompare import frameworks, io
from mlpcompare.config import architectures
from mlpcompare.data.fetch import redact
from mlpcompare.measuring import provenance
from mlpcompare.presenting.report_files import Assets, Results
from mlpcompare.presenting.report_format import (
    fmt,
    is_number,
    label,
    percent,
    records_table,
    summary_rows,
)
from mlpcompare.presenting.report_sections import (
    ROOFLINE_COLUMNS,
    dataset_section,
    development,
    diverged_runs,
    environment_section,
    read_conclusions,
    references,
    summary_groups,
    throughput_section,
)

# No request of any kind: images are data URIs, the stylesheet is inline, there is no script.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


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
    roofline = results.json(layout.machine("roofline.json"))
    # What the results were made from and on (rules/provenance.smk); none in fabricated results.
    run_json = os.path.normpath(layout.top("run.json"))
    run = provenance.headline(results.json(run_json)) if run_json in results.declared else None
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
        "conclusions": read_conclusions(
            results,
            [(d, arch) for d in config["datasets"] for arch in archs],
            idiomatic=config["bench"]["idiomatic"],
        ),
        "environment": environment_section(results.json(layout.machine("environment.json"))),
        "run": run,
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


def write_report(
    *, inputs: Mapping, assets: str | os.PathLike, config: dict, runs: list[dict], output: str
) -> None:
    """Read the result files the report rule declares (``inputs``: its named input, name ->
    path or paths, rooted where its ``summary`` lies) and the report's files under ``assets``
    (``report/``), render the page and write it to ``output``."""
    assets = Assets(assets)
    declared = [
        path
        for _, paths in inputs.items()
        for path in ([paths] if isinstance(paths, str | os.PathLike) else paths)
    ]
    results = Results(os.path.dirname(inputs["summary"]), declared)
    context = load_context(results, assets, config=config, runs=runs)
    page = render(context, assets.template, assets.labels)
    with io.atomic_path(output, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
