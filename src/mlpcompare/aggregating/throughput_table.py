"""results/throughput.csv and results/summary.csv as aligned text tables: what ``make bench``
prints.

    python -m mlpcompare.aggregating.throughput_table [results/throughput.csv [results/summary.csv]]

Samples/s: median over seeds with the interquartile range; of shared ceiling: that median as a
share of the device's shared ceiling (the fastest any framework or the BLAS ran the step's
products; what set it is listed under the table), the one yardstick for all frameworks; of own
ceiling: as a share of the framework's own products' speed (its overhead); vs tuned: the tuned
median over the row's (2.0x = half as fast). The API of every row is listed under the table.
With summary.csv, a second table gives each framework's test accuracy (mean and standard
deviation over seeds), macro F1 and fraction of the shared ceiling.
"""

from __future__ import annotations

import sys

from mlpcompare import io
from mlpcompare.aggregating.throughput import THROUGHPUT_COLUMNS

HEADERS = ("dataset", "arch", "framework", "variant", "samples/s", "IQR", "of shared ceiling",
           "of own ceiling", "vs tuned")  # fmt: skip
TEXT_COLUMNS = 4  # the first four are text (left-aligned), the rest numbers (right-aligned)
ACCURACY_HEADERS = ("dataset", "arch", "framework", "seeds", "accuracy", "std", "macro F1",
                    "of shared ceiling", "status")  # fmt: skip


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
        _number(row["own_ceiling_fraction"], "{:.1%}"),
        _number(row["slowdown_vs_tuned"], "{:.2f}x"),
    ]


def aligned(headers, lines: list[list[str]], text_columns: int = TEXT_COLUMNS) -> list[str]:
    """``headers`` and ``lines`` in columns: text left-aligned, numbers right-aligned."""
    lines = [list(headers), *lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    text = [
        "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    return text


def table(rows: list[dict]) -> str:
    """The aligned table of ``rows`` (throughput.csv rows), then each row's API and each shared
    ceiling with what set it."""
    text = aligned(HEADERS, [cells(row) for row in rows])
    apis = {(row["framework"], row["variant"]): row["api"] for row in rows}
    text += ["", "APIs:"] + [f"  {fw} {variant}: {api}" for (fw, variant), api in apis.items()]
    shared = {
        (row["dataset"], row["arch"], row["shared_ceiling_samples_per_s"]): row
        for row in rows
        if row["shared_ceiling_samples_per_s"] != ""
    }
    text += ["", "Shared ceilings (samples/s, set by):"] + [
        f"  {dataset} {arch}: {_number(ceiling, '{:,.0f}')} ({row['shared_ceiling_set_by']})"
        for (dataset, arch, ceiling), row in shared.items()
    ]
    return "\n".join(text)


def accuracy_table(rows: list[dict]) -> str:
    """The aligned accuracy table of summary.csv's ``rows`` (raw text)."""
    lines = [
        [
            row["dataset"], row["arch"], row["framework"], row["n_seeds"],
            _number(row["accuracy_mean"], "{:.2%}"), _number(row["accuracy_std"], "{:.2%}"),
            _number(row["f1_macro_mean"], "{:.4f}"), _number(row["roofline_fraction"], "{:.1%}"),
            row["status"],
        ]
        for row in rows
    ]  # fmt: skip
    return "\n".join(aligned(ACCURACY_HEADERS, lines, text_columns=3))


def read_rows(path: str) -> list[dict]:
    """throughput.csv's rows; a file with other columns (or no rows) is refused."""
    rows = io.read_csv(path)
    columns = list(rows[0]) if rows else []
    if columns != THROUGHPUT_COLUMNS:
        raise ValueError(f"{path}: not a throughput.csv (columns {columns})")
    return rows


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "results/throughput.csv"
    sys.stdout.write(table(read_rows(path)) + "\n")
    if len(argv) > 1:
        sys.stdout.write("\nTest accuracy:\n" + accuracy_table(io.read_csv(argv[1])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
