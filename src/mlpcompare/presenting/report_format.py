"""How the report writes numbers and lays out tables: pure functions of raw CSV text.

A table is ``{"columns": [...], "rows": [[raw cell text, ...], ...], "numeric": [...]}``; cells
keep the text of the result file they come from, and the template formats them with
:func:`fmt`, :func:`percent` and :func:`label`.
"""

from __future__ import annotations

import math


def aligned(table: dict) -> dict:
    """``table`` with ``numeric``: per column, whether most of its filled cells are numbers
    (its heading is then right-aligned, like the numbers under it)."""
    numeric = []
    for i in range(len(table["columns"])):
        filled = [row[i] for row in table["rows"] if row[i] != ""]
        numeric.append(sum(map(is_number, filled)) > len(filled) / 2)
    return {**table, "numeric": numeric}


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


def label(column: str, labels: dict[str, str]) -> str:
    """A table column's heading: its label in ``labels`` (report/labels.yaml), else the name
    with spaces."""
    return labels.get(column, column.replace("_", " "))


def is_number(value) -> bool:
    """Whether a cell holds a number (tables align those right, text left)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def sideways(table: dict, labels: dict[str, str]) -> dict:
    """A table with one row per framework turned into one row per measure, a column per
    framework (narrow enough to read without scrolling). Cells keep their raw text."""
    columns, rows = table["columns"], table["rows"]
    return aligned(
        {
            "columns": ["measure", *(row[0] for row in rows)],
            "rows": [
                [label(c, labels), *(row[i] for row in rows)] for i, c in enumerate(columns) if i
            ],
        }
    )


def summary_rows(table: dict) -> list[dict]:
    """A table's rows (summary.csv, throughput.csv) as dicts (raw text)."""
    return [dict(zip(table["columns"], cells, strict=True)) for cells in table["rows"]]


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
