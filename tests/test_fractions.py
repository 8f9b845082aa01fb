"""No fraction above 100 %: every column named ``*fraction*`` in every CSV under results/.

A fraction is a run's speed over a ceiling that some measured products (or, where a framework
trained faster than every product was timed, that training itself) reached on the same device
(:func:`mlpcompare.aggregating.frames.shared_ceilings`, :func:`mlpcompare.training.loop.
ceiling_summary`), so it cannot exceed 1. These tests hold the tables the workflow's own
functions make to that: from the fake results, from the fake results with in-run ceilings where
one framework beats its own products' timing, and (slow) from a real tiny workflow run.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from fake_results import _tables, config, write_results

from mlpcompare import io
from mlpcompare.layout import Layout
from mlpcompare.training.loop import ceiling_summary

# Per framework: its in-run products' ceiling as a multiple of its steady rate. Keras's products
# timed slower than it trains (one dispatch per call its compiled epoch does not pay: 111 % of
# its own ceiling before the bound), torch's the fastest of all.
PRODUCTS_OVER_RATE = {"keras": 0.9, "torch": 6.0, "numpy": 2.0, "jax": 3.0}


def fractions(results: Path) -> dict[tuple[str, str], list[float]]:
    """(CSV path, column) -> the numbers of every column whose name contains ``fraction``."""
    found = {}
    for path in sorted(results.rglob("*.csv")):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        for column in rows[0] if rows else []:
            if "fraction" in column:
                values = [row[column] for row in rows if row[column] not in ("", None)]
                found[(str(path.relative_to(results)), column)] = [float(v) for v in values]
    return found


def assert_no_fraction_above_one(results: Path) -> int:
    """Every fraction is a number in [0, 1]; returns how many were checked."""
    found = fractions(results)
    above = {key: [v for v in values if not 0 <= v <= 1.0] for key, values in found.items()}
    assert not any(above.values()), {key: bad for key, bad in above.items() if bad}
    return sum(len(values) for values in found.values())


def with_in_run_ceilings(results: Path, keys: list[dict], cuda: str | None = None) -> None:
    """Give every run an in-run ceiling (:data:`PRODUCTS_OVER_RATE`) as the train job writes it,
    ``cuda``'s runs on a GPU, then remake the tables with the workflow's own functions."""
    paths = Layout(str(results))
    for key in keys:
        path = paths.run_file(key, "train.json")
        train = io.read_json(path)
        rate = train["steady_samples_per_s"]
        history = [
            {"ceiling_samples_per_s": rate * PRODUCTS_OVER_RATE.get(key["framework"], 2.0)}
        ] * 3
        train |= ceiling_summary(history, rate)
        if key["framework"] == cuda:
            train["device"] = "cuda"
        io.write_json(train, path)
    _tables(results, keys)


def test_the_fake_results_tables_hold_no_fraction_above_one(tmp_path):
    results = tmp_path / "results"
    write_results(results, config(), diverged={("keras", 1)})
    assert assert_no_fraction_above_one(results) > 0
    columns = {column for _, column in fractions(results)}
    assert {"roofline_fraction", "own_ceiling_fraction"} <= columns


@pytest.mark.parametrize("cuda", [None, "jax"])
def test_a_framework_faster_than_its_own_products_reads_at_most_one(tmp_path, cuda):
    results = tmp_path / "results"
    cfg = config()
    keys = write_results(results, cfg, diverged={("keras", 1)})
    with_in_run_ceilings(results, keys, cuda)
    assert assert_no_fraction_above_one(results) > 0
    rows = {(r["framework"], r["variant"]): r for r in io.read_csv(results / "throughput.csv")}
    # Keras's own ceiling is its training rate (its products were timed slower): 100 %.
    assert float(rows[("keras", "tuned")]["own_ceiling_fraction"]) == 1.0
    assert float(rows[("keras", "tuned")]["roofline_fraction"]) < 1.0
    # One yardstick on the CPU: torch's products, the fastest there.
    on_cpu = [r for r in rows.values() if r["framework"] != cuda]
    assert {r["shared_ceiling_set_by"] for r in on_cpu} == {"torch products"}
    if cuda in cfg["frameworks"]:  # a GPU run has its own yardstick: its own products
        assert rows[(cuda, "tuned")]["shared_ceiling_set_by"] == f"{cuda} products"


def test_the_check_catches_a_fraction_above_one(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "t.csv").write_text("framework,own_ceiling_fraction\nkeras,1.11\n")
    with pytest.raises(AssertionError, match="1.11"):
        assert_no_fraction_above_one(results)
    assert math.isclose(fractions(results)[("t.csv", "own_ceiling_fraction")][0], 1.11)


@pytest.mark.slow
def test_the_workflows_tables_hold_no_fraction_above_one(tiny_run):
    results = tiny_run / "results"
    assert assert_no_fraction_above_one(results) > 0
    columns = {column for _, column in fractions(results)}
    assert {"roofline_fraction", "own_ceiling_fraction"} <= columns
