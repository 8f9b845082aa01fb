"""results/throughput.csv as an aligned text table, the one ``make bench`` prints.

    python -m mlpcompare.throughput_table [results/throughput.csv]

Samples/s: median over seeds with the interquartile range; roofline: that median as a share of
the ceiling; vs tuned: the tuned median over the row's (2.0x = half as fast). The API of every
row is listed under the table.
"""

from __future__ import annotations

import csv
import sys

from mlpcompare.aggregate import THROUGHPUT_COLUMNS

HEADERS = ("dataset", "arch", "framework", "variant", "samples/s", "IQR", "roofline", "vs tuned")
TEXT_COLUMNS = 4  # the first four are text (left-aligned), the rest numbers (right-aligned)


def _number(value: str, pattern: str) -> str:
    return "-" if value == "" else pattern.format(float(value))


def cells(row: dict) -> list[str]:
    """One table line from a throughput.csv row (raw text)."""
    return [
        row["dataset"],
        row["arch"],
        row["framework"],
        row["variant"],
        _number(row["samples_per_s_median"], "{:,.0f}"),
        f"{_number(row['samples_per_s_q1'], '{:,.0f}')}-{_number(row['samples_per_s_q3'], '{:,.0f}')}",
        _number(row["roofline_fraction"], "{:.1%}"),
        _number(row["slowdown_vs_tuned"], "{:.2f}x"),
    ]


def table(rows: list[dict]) -> str:
    """The aligned table of ``rows`` (throughput.csv rows), then each row's API."""
    lines = [list(HEADERS), *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    text = [
        "  ".join(
            cell.ljust(width) if i < TEXT_COLUMNS else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    apis = {(row["framework"], row["variant"]): row["api"] for row in rows}
    text += ["", "APIs:"] + [f"  {fw} {variant}: {api}" for (fw, variant), api in apis.items()]
    return "\n".join(text)


def read_rows(path: str) -> list[dict]:
    """throughput.csv's rows; a file with other columns is refused (it is not one)."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != THROUGHPUT_COLUMNS:
            raise ValueError(f"{path}: not a throughput.csv (columns {reader.fieldnames})")
        return list(reader)


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "results/throughput.csv"
    sys.stdout.write(table(read_rows(path)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
