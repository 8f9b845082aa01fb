"""The scaling study as a Markdown table: samples/s and fraction of the in-run ceiling per
variant and framework, ordered by arithmetic intensity.

    PYTHONPATH=src python tools/scaling_table.py results/studies/scaling/summary.csv

docs/performance.md holds its output for the measured run. Per row: batch size, width, the
arithmetic intensity of the step's matrix products, then per framework "samples/s (fraction)",
and NumPy's speed over the fastest framework's (the issue's "within 1.3x" check).
"""

from __future__ import annotations

import sys

import pandas as pd

from mlpcompare import frameworks


def cell(row: pd.Series) -> str:
    rate, share = row["samples_per_s_mean"], row["roofline_fraction_mean"]
    return f"{rate:,.0f}" + ("" if pd.isna(share) else f" ({share:.0%})")


def table(summary: pd.DataFrame) -> str:
    names = [fw for fw in frameworks.NAMES if fw in set(summary["framework"])]
    header = ["batch", "width", "FLOP/byte", *(frameworks.get(fw).label for fw in names)]
    lines = ["| " + " | ".join(header) + " | fastest / NumPy |",
             "|" + " ---: |" * (len(header) + 1)]  # fmt: skip
    by_variant = summary.groupby("variant", sort=False)
    order = by_variant["arithmetic_intensity"].first().sort_values().index
    for variant in order:
        rows = by_variant.get_group(variant).set_index("framework")
        first = rows.iloc[0]
        cells = [
            str(first["batch_size"]),
            str(first["width"]),
            f"{first['arithmetic_intensity']:.0f}",
        ]
        cells += [cell(rows.loc[fw]) if fw in rows.index else "—" for fw in names]
        rates = rows["samples_per_s_mean"]
        ratio = rates.max() / rates["numpy"] if "numpy" in rates else float("nan")
        lines.append("| " + " | ".join([*cells, f"{ratio:.2f}"]) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(pd.read_csv(argv[0], dtype={"batch_size": str, "width": str})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
