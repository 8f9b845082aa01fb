"""A study's report: its figures and tables, and sentences computed from its effects table.

Every sentence comes from a row of ``effects.csv`` and says what its interval supports: an
effect whose 95 % interval excludes "no change" is stated with the interval; otherwise the
sentence says the seeds cannot tell the levels apart, with the interval that shows why.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import markupsafe
import pandas as pd

from mlpcompare import frameworks, io
from mlpcompare.presenting.report import CONTENT_SECURITY_POLICY, environment_for
from mlpcompare.presenting.report_files import Assets, png_uri
from mlpcompare.studies import MEASURES, published
from mlpcompare.studies.plots import FIGURES

FIGURE_TITLES = {
    "learning_curves": "learning curves (validation accuracy, mean over seeds)",
    "intensity": "training samples/s (and, when measured, the fraction of the in-run ceiling) "
    "against the arithmetic intensity of the step's matrix products",
}
# A speed ratio within this much of 1 is not worth a sentence even when it is significant.
NOTABLE_SPEED_RATIO = 0.10


def _finite(*values) -> bool:
    """Every value a finite real number, Python's or NumPy's (a table's integer column, such as
    ``n_seeds``, holds NumPy integers, which are not ``int``)."""
    return all(isinstance(v, numbers.Real) and math.isfinite(v) for v in values)


def _seeds(row) -> str:
    """ "3 seeds": what an effect's interval is over (:func:`mlpcompare.studies.tables.paired`);
    tables written before it was recorded count pairs only."""
    n = row.get("n_seeds")
    return "the seeds" if not _finite(n) else f"{int(n)} seed" + ("s" if n != 1 else "")


def accuracy_sentence(axis: str, rows: pd.DataFrame, n_seeds: int) -> str | None:
    """The level whose test accuracy differs most from the reference, with its interval."""
    rows = rows[rows["effect"].apply(_finite)]
    if rows.empty:
        return None
    row = rows.loc[rows["effect"].abs().idxmax()]
    if not _finite(row["low"], row["high"]):
        return (
            f"{axis}: the largest difference in test accuracy, {row['level']} against "
            f"{row['reference']}, is {row['effect']:+.2f} points over {int(row['n_pairs'])} "
            "paired run(s), too few for an interval: no claim is made."
        )
    interval = f"95 % CI {row['low']:+.2f} to {row['high']:+.2f}"
    if _finite(row["low"], row["high"]) and (row["low"] > 0 or row["high"] < 0):
        return (
            f"{axis} {row['level']} against {row['reference']}: test accuracy "
            f"{row['effect']:+.2f} points ({interval} over {_seeds(row)}; "
            f"{int(row['n_pairs'])} paired runs)."
        )
    return (
        f"{axis}: no level changes test accuracy detectably against {row['reference']} with "
        f"{n_seeds} seeds; the largest difference, {row['level']}, is {row['effect']:+.2f} "
        f"points ({interval})."
    )


def gap_sentence(axis: str, rows: pd.DataFrame, accuracy: pd.DataFrame | None = None) -> str | None:
    """The largest change of the generalisation gap, only when its interval excludes zero.
    A gap narrowed at a level whose test accuracy (``accuracy``: its effects rows) is lower
    too is said to come with worse learning: a network that learns less also overfits less."""
    rows = rows[rows["effect"].apply(_finite) & rows["low"].apply(_finite)]
    rows = rows[(rows["low"] > 0) | (rows["high"] < 0)]
    if rows.empty:
        return None
    row = rows.loc[rows["effect"].abs().idxmax()]
    direction = "widens" if row["effect"] > 0 else "narrows"
    sentence = (
        f"{axis} {row['level']} {direction} the generalisation gap (train − validation "
        f"accuracy) by {abs(row['effect']):.2f} points against {row['reference']} "
        f"(95 % CI {row['low']:+.2f} to {row['high']:+.2f})"
    )
    same = accuracy[accuracy["level"] == row["level"]] if accuracy is not None else None
    high = same["high"].iloc[0] if same is not None and len(same) else math.nan
    if direction == "narrows" and _finite(high) and high < 0:
        lower = abs(same["effect"].iloc[0])
        return (f"{sentence}, with test accuracy {lower:.2f} points lower: it learns "
                "less, which is not better generalisation.")  # fmt: skip
    return sentence + "."


# A speed ratio's levels ran in jobs one after another: what the machine did between them (the
# reference VM drifts by up to 30 % over minutes; another job beside them) is in the ratio, which
# no seed interval can show. Alternating timings are make bench's and the tools' (performance.md).
DRIFT = "The levels ran one after another, so any drift of the machine between them is in it."


def speed_sentences(axis: str, rows: pd.DataFrame, per_framework: bool) -> list[str]:
    """Training speed ratios: every framework's (a device axis), else the largest notable one."""
    rows = rows[rows["effect"].apply(_finite) & rows["low"].apply(_finite)]
    if per_framework:
        return [
            f"{axis} {row['level']}: {frameworks.get(row['framework']).label} trains at "
            f"{row['effect']:.2f}× its samples/s on {row['reference']} "
            f"(95 % CI {row['low']:.2f}–{row['high']:.2f}). {DRIFT}"
            for _, row in rows.iterrows()
        ]
    rows = rows[(rows["framework"] == "all") & ((rows["low"] > 1) | (rows["high"] < 1))]
    rows = rows[(rows["effect"] - 1).abs() >= NOTABLE_SPEED_RATIO]
    if rows.empty:
        return []
    row = rows.loc[(rows["effect"].apply(math.log)).abs().idxmax()]
    return [
        f"{axis} {row['level']} trains at {row['effect']:.2f}× the samples/s of "
        f"{row['reference']} over all frameworks (95 % CI {row['low']:.2f}–{row['high']:.2f}). "
        + DRIFT
    ]


def sentences(effects: pd.DataFrame, study: dict, n_seeds: int, speed: bool = True) -> list[str]:
    """What the study found, axis by axis, each sentence from one effects row (``speed``:
    with the training-speed ratios; the findings page leaves speed to ``make bench``)."""
    found = []
    for axis in study["axes"]:
        rows = effects[effects["axis"] == axis["name"]]
        pooled = rows[rows["framework"] == "all"]
        measure = lambda name, table=pooled: table[table["measure"] == name]  # noqa: E731
        found.append(accuracy_sentence(axis["name"], measure("test_accuracy"), n_seeds))
        found.append(
            gap_sentence(axis["name"], measure("generalisation_gap"), measure("test_accuracy"))
        )
        if not speed:
            continue
        rates = rows[rows["measure"] == "samples_per_s"]
        is_device = axis["name"] == "device"
        found += speed_sentences(
            axis["name"], rates[rates["framework"] != "all"] if is_device else rates, is_device
        )
    return [s for s in found if s]


def summary_table(summary: pd.DataFrame, study: dict) -> dict:
    """Variant x framework rows: each measure as mean [95 % interval]."""
    columns = ["variant", "framework", "n_seeds", "n_diverged", *MEASURES]
    rows = []
    for _, row in summary.iterrows():
        cells = [row["variant"], frameworks.get(row["framework"]).label, int(row["n_seeds"]),
                 int(row["n_diverged"])]  # fmt: skip
        for measure in MEASURES:
            mean, low, high = (row[f"{measure}_{k}"] for k in ("mean", "low", "high"))
            if not _finite(mean):
                cells.append("–")
            elif _finite(low, high):
                cells.append(f"{mean:.3g} [{low:.3g}, {high:.3g}]")
            else:
                cells.append(f"{mean:.3g}")
        rows.append(cells)
    return {"columns": columns, "rows": rows}


def write_report(*, study: dict, seeds, tables: dict, figures: dict, assets: str, output: str):
    """Render the study's page (figures embedded) to ``output``."""
    summary = pd.read_csv(tables["summary"], dtype={a["name"]: str for a in study["axes"]})
    effects = pd.read_csv(tables["effects"], dtype={"level": str, "reference": str})
    assets = Assets(assets)
    context = {
        "title": f"mlpcompare study: {study['name']}",
        "csp": CONTENT_SECURITY_POLICY,
        "css": markupsafe.Markup(assets.css()),  # our own stylesheet: not escaped
        "study": study,
        "seeds": list(seeds),
        "findings": sentences(effects, study, len(seeds))
        + published.sentences(study["name"], summary, assets.references),
        "figures": [
            {
                "name": name,
                "title": FIGURE_TITLES.get(name) or MEASURES[name],
                "src": png_uri(figures[name]),
            }  # fmt: skip
            for name in FIGURES
            if name != "intensity" or summary["arithmetic_intensity"].nunique() > 1
        ],
        "summary": summary_table(summary, study),
        "measures": MEASURES,
    }
    env = environment_for(Path(assets.template).parent, assets.labels)
    page = env.get_template("study.html.j2").render(context)
    with io.atomic_path(output, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
