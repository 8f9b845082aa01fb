"""A :class:`~mlpcompare.comparing.compare.Comparison` as Markdown (the terminal) and HTML (a
page beside it). Both show the same cells, formatted once here; the template only lays them out.
"""

from __future__ import annotations

import math
from itertools import groupby
from pathlib import Path

import jinja2

from mlpcompare.comparing.compare import (
    BETTER,
    MIN_FACTOR,
    WORSE,
    Comparison,
    Estimate,
    Measure,
    Row,
)

TEMPLATE = Path(__file__).with_name("compare.html.j2")
ROW_HEADERS = ("framework", "measure", "A", "B", "change", "verdict")
RULE = (
    "A and B: each run over its seeds, 95 % interval; change: B against A seed by seed, 95 % "
    "interval. Better or worse: that interval excludes no change, the change exceeds the seeds' "
    f"range within each run, and rates, times and memory changed by {MIN_FACTOR:g}x or more."
)


def value(x: float, measure: Measure) -> str:
    """One figure in the measure's unit: 96.39 %, 12,345 samples/s, 1.23 s, 0.0412 ms, 310 MB."""
    if not math.isfinite(x):
        return "—"
    if measure.scale == "difference":
        return f"{100 * x:.2f} %"
    if measure.unit == "samples/s":
        return f"{x:,.0f}"
    if measure.unit == "MB":
        return f"{x:,.0f} MB"
    return f"{x:.3g} {measure.unit}"


def interval(est: Estimate, measure: Measure) -> str:
    """ "96.39 % [95.10–97.68], 3 seeds": the centre, its 95 % interval in the same unit (none
    with one seed) and the seeds it is taken over."""
    seeds = f"{est.n} seed" + ("s" if est.n != 1 else "")
    if not math.isfinite(est.low):
        return f"{value(est.centre, measure)} ({seeds})"
    low, high = (value(x, measure).removesuffix(f" {measure.unit}") for x in (est.low, est.high))
    return f"{value(est.centre, measure)} [{low}–{high}], {seeds}"


def change(row: Row) -> str:
    """B against A over the paired seeds, with its 95 % interval: "+0.28 points [-0.40–+0.96]"
    (accuracies) or "2.00× [1.91–2.09]" (rates, times, memory)."""
    effect = row.effect
    if row.measure.scale == "difference":
        low, centre, high = (f"{100 * x:+.2f}" for x in (effect.low, effect.centre, effect.high))
        text, bounds = f"{centre} points", f"[{low}–{high}]"
    else:
        low, centre, high = (f"{x:.2f}" for x in (effect.low, effect.centre, effect.high))
        text, bounds = f"{centre}×", f"[{low}–{high}]"
    return f"{text} {bounds}" if math.isfinite(effect.low) else text


def cells(row: Row) -> list[str]:
    return [
        row.key[2],
        row.measure.label,
        interval(row.a, row.measure),
        interval(row.b, row.measure),
        change(row),
        row.verdict,
    ]


def sections(comparison: Comparison) -> list[tuple[str, list[list[str]]]]:
    """Per dataset x architecture (in A's order): its title and its table's cells."""
    by_group = groupby(comparison.rows, key=lambda row: row.key[:2])
    return [
        (f"{dataset} · {arch}", [cells(row) for row in rows]) for (dataset, arch), rows in by_group
    ]


def describe(side: str, comparison: Comparison) -> str:
    """ "A: results (commit 1a2b3c4, uncommitted changes; 2026-12-06T07:10:00+00:00)"."""
    results = comparison.a if side == "A" else comparison.b
    run = results.run or {}
    git = run.get("git", {})
    parts = []
    if git.get("commit"):
        parts.append(
            f"commit {git['commit'][:10]}" + (", uncommitted changes" if git.get("dirty") else "")
        )
    elif results.run is not None:
        parts.append(f"no commit: {git.get('note') or 'unknown'}")
    if run.get("created"):
        parts.append(run["created"])
    return f"{side}: {results.label}" + (f" ({'; '.join(parts)})" if parts else "")


def verdict_counts(comparison: Comparison) -> str:
    counts = {}
    for row in comparison.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def only_lines(comparison: Comparison) -> list[str]:
    return [
        f"only in {side}: {' / '.join(key)}"
        for side, keys in (("A", comparison.only_a), ("B", comparison.only_b))
        for key in keys
    ]


def regression_line(regressed: list[Row], threshold_pct: float) -> str:
    """What --fail-on-regression found: the measures worse beyond the threshold, or none."""
    if not regressed:
        return f"No accuracy or speed measure is worse by more than {threshold_pct:g} % beyond the seeds' spread."
    found = "; ".join(
        f"{' / '.join(row.key)} {row.measure.label} {row.worse_pct:.1f} % worse"
        for row in regressed
    )
    return f"Worse by more than {threshold_pct:g} % beyond the seeds' spread: {found}."


def markdown(comparison: Comparison, regression: str | None = None) -> str:
    """The comparison as Markdown: environment differences, then a table per dataset x arch."""
    lines = [
        "# mlpcompare compare",
        "",
        describe("A", comparison),
        "",
        describe("B", comparison),
        "",
    ]
    lines += ["## Environment", ""]
    if comparison.environment:
        lines += _table(("", "A", "B"), [list(change) for change in comparison.environment])
    else:
        lines.append("Same commit, machine, packages and config.")
    lines += [*(f"- {note}" for note in comparison.notes), ""]
    for title, rows in sections(comparison):
        lines += [f"## {title}", ""]
        lines += _table(ROW_HEADERS, [[*row[:5], _bold(row[5])] for row in rows])
        lines.append("")
    if comparison.only_a or comparison.only_b:
        lines += ["## In one run only", "", *(f"- {line}" for line in only_lines(comparison)), ""]
    lines += [f"Verdicts: {verdict_counts(comparison)}.", "", RULE]
    if regression:
        lines += ["", regression]
    return "\n".join(lines) + "\n"


def _bold(verdict: str) -> str:
    return f"**{verdict}**" if verdict == WORSE else verdict


def _table(headers, rows: list[list[str]]) -> list[str]:
    """A Markdown table, columns padded so it also reads as plain text."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(row):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def html(comparison: Comparison, regression: str | None = None) -> str:
    """The comparison as one self-contained HTML page (autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(TEMPLATE.name).render(
        a=describe("A", comparison),
        b=describe("B", comparison),
        environment=comparison.environment,
        notes=comparison.notes,
        headers=ROW_HEADERS,
        sections=sections(comparison),
        worse=WORSE,
        better=BETTER,
        only=only_lines(comparison),
        counts=verdict_counts(comparison),
        regression=regression,
        rule=RULE,
    )
