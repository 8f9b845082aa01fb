"""Measure each framework's peak memory while training, and write it beside the estimate.

Usage: python tools/measure_memory.py [--mirror ../shared/datasets] [--out docs/memory.csv]

Each case trains one seed of MNIST through the training job's own function
(:func:`mlpcompare.training.runs.train`, split and initial weights read from files, the model
written) in a fresh interpreter, and takes that process's peak resident set size from the
kernel when it exits (``wait4``'s ``ru_maxrss``: imports, data, training and saving included).
The cases span what the estimate of :mod:`mlpcompare.training.limits` is made of:

* ``mnist``: the shipped recipe (config.yaml) on MNIST, the runtime and the data dominate;
* ``wide``: hidden layers of 4096 and 4096, the parameters and optimizer state dominate;
* ``large-batch``: the shipped network at a batch of 8192, the activations dominate.

One epoch each, since a run's peak is reached in its first epoch (every buffer is allocated by
then) and later ones only repeat it. The file holds, per framework and case, the shapes the
estimate needs, the measured peak and the estimate when it was written; ``tests/test_limits.py``
recomputes the estimate from those shapes and checks it is at least the peak and at most 1.5
times it. Peak memory, unlike time, does not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

# Only what the training process needs: it runs this file too, and what it imports is measured.
from mlpcompare import io  # noqa: E402
from mlpcompare.frameworks import REGISTRY  # noqa: E402

DATASET = "mnist"
# name -> what changes in the shipped architecture and recipe
CASES = {
    "mnist": ({}, {}),
    "wide": ({"hidden": [4096, 4096]}, {}),
    "large-batch": ({}, {"batch_size": 8192}),
}
EPOCHS = 1
COLUMNS = [
    "framework", "case", "hidden", "dropout", "batch_size", "optimizer", "in_run_ceiling", "threads",
    "n_samples", "n_features", "n_classes", "n_train", "n_val", "peak_mib", "estimate_mib",
    "ratio",
]  # fmt: skip


def shipped_config() -> dict:
    """config.yaml with the schema's defaults filled in, as the workflow sees it."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))  # fills the defaults
    return config


def case_recipe(config: dict, framework: str, case: str) -> tuple[dict, dict]:
    """(architecture, training) of ``case`` for ``framework``."""
    from mlpcompare import config as cfg

    arch_changes, training_changes = CASES[case]
    [arch] = list(cfg.architectures(config).values())[:1]
    training = cfg.training_for(config, framework, DATASET)
    return {**arch, **arch_changes}, {**training, **training_changes, "epochs": EPOCHS}


def train_one(work: Path, framework: str, case: str) -> float:
    """Train ``case`` with ``framework`` in this process (the child's part, which imports what a
    training job imports and no more); return this process's peak RSS in MiB.

    The peak is the kernel's ``VmHWM`` of this process's memory map, made new at ``exec``. Not
    ``ru_maxrss``: that keeps the parent's peak from before the ``exec`` (Linux carries it over
    from the forked copy), which here would count the parent's split, and in a workflow job
    Snakemake's own memory.
    """
    from mlpcompare.training import runs

    recipe = io.read_json(work / f"{framework}-{case}.json")
    out = work / f"{framework}-{case}"
    out.mkdir(exist_ok=True)
    outputs = argparse.Namespace(
        model=str(out / REGISTRY[framework].model_file),
        history=str(out / "history.csv"),
        train=str(out / "train.json"),
    )
    runs.train(
        framework=framework, split_path=str(work / "split.npz"),
        init_path=str(work / f"{case}-init.npz"), arch=recipe["arch"],
        training=recipe["training"], seed=0, device="cpu", threads=recipe["threads"],
        outputs=outputs, in_run_ceiling=recipe["in_run_ceiling"],
    )  # fmt: skip
    status = Path("/proc/self/status").read_text()
    [kib] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(kib) / 1024


def peak_mib(work: Path, framework: str, case: str) -> float:
    """The peak RSS of a fresh interpreter that trains ``case`` with ``framework``, in MiB."""
    command = [sys.executable, __file__, "--child", str(work), framework, case]
    env = {**os.environ, **REGISTRY[framework].import_environment, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if run.returncode:
        raise SystemExit(f"{framework} {case}: the training process failed ({run.returncode})")
    return float(run.stdout.split()[-1])


def estimate(row: dict):
    """The start-up estimate (:func:`mlpcompare.training.limits.training_bytes`) of a row of
    the table, whose values may be the strings read back from it."""
    from mlpcompare.training import limits

    return limits.training_bytes(
        int(row["n_samples"]), int(row["n_features"]), int(row["n_classes"]),
        [int(width) for width in str(row["hidden"]).split("-")], int(row["batch_size"]),
        row["optimizer"], dropout=float(row["dropout"]),
        in_run_ceiling=str(row["in_run_ceiling"]) == "True", framework=row["framework"],
        n_train=int(row["n_train"]), n_val=int(row["n_val"]),
    )  # fmt: skip


def with_estimate(row: dict) -> dict:
    """``row`` with the estimate in MiB and its ratio to the measured peak."""
    mib = estimate(row).total / 2**20
    return {**row, "estimate_mib": round(mib), "ratio": round(mib / float(row["peak_mib"]), 2)}


def markdown(rows: list[dict]) -> str:
    """The table as docs/troubleshooting.md shows it: per framework and case, the measured peak,
    the estimate and how many times the peak it is."""
    cases = list(CASES)
    lines = [
        "| framework | " + " | ".join(f"{case}: peak, estimate" for case in cases) + " |",
        "| --- |" + " --- |" * len(cases),
    ]
    for framework in dict.fromkeys(row["framework"] for row in rows):
        cells = []
        for case in cases:
            [row] = [r for r in rows if r["framework"] == framework and r["case"] == case]
            cells.append(f"{row['peak_mib']} MiB, {row['estimate_mib']} MiB ({row['ratio']}x)")
        lines.append(f"| {framework} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure(mirror: Path, frameworks: list[str], threads: int) -> list[dict]:
    """One row per framework and case (:data:`COLUMNS`), the split made once in ``mirror``'s MNIST."""
    from mlpcompare import data, spec

    config = shipped_config()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        split = config["split"]
        arrays, info = data.make_split(
            DATASET, raw_dir=mirror / DATASET, val_fraction=split["val_fraction"],
            test_fraction=None, seed=split["seed"],
        )  # fmt: skip
        io.write_npz(arrays, work / "split.npz")
        io.write_json(info, work / "split.json")
        n_samples = sum(info["counts"].values())
        for framework in frameworks:
            for case in CASES:
                arch, training = case_recipe(config, framework, case)
                model_spec = spec.ModelSpec.from_config(arch, info["n_features"], info["n_classes"])
                io.write_npz(spec.init_weights(model_spec, 0), work / f"{case}-init.npz")
                recipe = {"arch": arch, "training": training, "threads": threads,
                          "in_run_ceiling": config["bench"]["in_run_ceiling"]}  # fmt: skip
                io.write_json(recipe, work / f"{framework}-{case}.json")
                row = {
                    "framework": framework, "case": case,
                    "hidden": "-".join(map(str, arch["hidden"])),
                    "dropout": arch["dropout"], "batch_size": training["batch_size"],
                    "optimizer": training["optimizer"],
                    "in_run_ceiling": recipe["in_run_ceiling"], "threads": threads,
                    "n_samples": n_samples, "n_features": info["n_features"],
                    "n_classes": info["n_classes"], "n_train": info["counts"]["train"],
                    "n_val": info["counts"]["val"],
                    "peak_mib": round(peak_mib(work, framework, case)),
                }  # fmt: skip
                row = with_estimate(row)
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "datasets",
                        help="folder holding mnist/ (default: ../shared/datasets)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "memory.csv",
                        help="the table written (default: docs/memory.csv)")  # fmt: skip
    parser.add_argument("--frameworks", nargs="+", default=list(REGISTRY),
                        help="frameworks measured (default: all of the registry)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per run (default: config.yaml's threads)")  # fmt: skip
    parser.add_argument("--markdown", action="store_true",
                        help="measure nothing: print --out as docs/troubleshooting.md's table")  # fmt: skip
    parser.add_argument("--refresh", action="store_true",
                        help="measure nothing: recompute the estimates of --out's rows, after "
                             "a change of the estimate")  # fmt: skip
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(io.read_csv(args.out)))
        return
    if args.refresh:
        rows = [with_estimate(row) for row in io.read_csv(args.out)]
    else:
        threads = args.threads or shipped_config()["threads"]
        rows = measure(args.mirror, args.frameworks, threads)
        # Measuring some frameworks replaces their rows and keeps the others' (registry order).
        if args.out.is_file():
            kept = [r for r in io.read_csv(args.out) if r["framework"] not in args.frameworks]
            order = list(REGISTRY)
            rows = sorted(kept + rows, key=lambda r: order.index(r["framework"]))
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        work, framework, case = sys.argv[2:5]
        print(train_one(Path(work), framework, case))
    else:
        main()
