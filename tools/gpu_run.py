"""The GPU path of every GPU-capable framework, once, on a machine that has no Snakemake.

On a GPU machine with the project installed (``make run DEVICE=cuda``), the workflow itself runs
the GPU path: ``snakemake --cores 8 --config device=cuda``. The GPU machine this project is lent
for a few minutes (docs/performance.md, "On a GPU") has PyTorch and JAX built for CUDA, but
neither Snakemake nor TensorFlow, and no network; tools/gpu_workflow.sh carries Snakemake there
as wheels and runs the workflow itself (docs/cluster-and-gpu.md, "GPU figures"). This script
needs nothing carried: it calls the functions the rules call, one fresh process per framework
and part, as the workflow's jobs are:

* ``parity``: from the same weights and batches, two Adam steps on the GPU against the NumPy
  reference on the CPU and the framework on the CPU (tests/test_parity.py's check, on the device).
* ``reference``: the main comparison on MNIST, every seed of config.yaml with its recipe, trained
  by :func:`mlpcompare.training.runs.train` (the ``train`` rule) with the in-run ceiling on the GPU, then
  evaluated, exported to ONNX and timed by :func:`mlpcompare.measuring.evaluation.evaluate_runs`
  (the ``evaluate`` rule).
* ``scaling``: presets/scaling.yaml's grid (batch size x width, one hidden layer), trained by
  :func:`mlpcompare.studies.runs.run_variant` (the ``study_run`` rule); the compute-bound corner
  first, and no new variant once ``--budget-s`` is spent.

The runs' own files go under ``--work``; ``--out`` gets the tables ``reference.csv``,
``inference.csv``, ``scaling.csv`` and ``parity.json``, what the GPU is (``machine.txt``) and
``gpu-results.tgz``, the runs' files but models and arrays. ``summarise DIR`` prints the tables
of docs/performance.md from such a folder.

    PYTHONPATH=src python tools/gpu_run.py run --raw ../shared/datasets/mnist --out /tmp/gpu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import tarfile
import time
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml

from mlpcompare import config as cfg
from mlpcompare import data, frameworks, io, layout, spec, studies

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("gpu_run")

# The compute-bound corner (presets/compute-bound.yaml) runs first: it is what a GPU is for.
CORNER = ((1024, 1024), (1024, 4096), (4096, 1024), (4096, 4096))
PARITY_TOL = 1e-5  # tests/test_parity.py's bound on the max abs difference (float32)


def load_config() -> dict:
    """config.yaml (the embedded default) with presets/scaling.yaml's study, as the rules see
    them for MNIST: the training recipe with MNIST's time-to-accuracy target."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    preset = yaml.safe_load((ROOT / "presets/scaling.yaml").read_text())
    config["studies"] = {"scaling": preset["studies"]["scaling"]}
    config["training"] = cfg.resolve_target(config["training"], "mnist")
    return config


def reference_arch(config: dict) -> tuple[str, dict]:
    return next(iter(config["architectures"].items()))


def scaling_variants(config: dict, epochs: int) -> list[dict]:
    """The scaling study's variants as :func:`mlpcompare.studies.build` makes them for the
    ``study_run`` rules (``depth`` hidden layers of ``width``), ``epochs`` long, corner first."""
    study = studies.build("scaling", config["studies"]["scaling"], config)
    variants = [
        {
            "name": variant.name,
            "batch_size": variant.training["batch_size"],
            "width": variant.arch["hidden"][0],
            "arch": variant.arch,
            "training": {**variant.training, "epochs": epochs},
        }
        for variant in study.variants
    ]
    point = itemgetter("batch_size", "width")
    return sorted(variants, key=lambda v: (point(v) not in CORNER, point(v)))


# --- jobs: each runs in a process of its own and imports one framework -----------------------


def job_parity(fw: str, work: Path, device: str, config: dict) -> dict:
    """Two Adam steps from the same weights: ``fw`` on ``device`` against NumPy and ``fw`` on
    the CPU, on tests/test_parity.py's small problem and on the reference network (without
    dropout, whose masks each framework draws its own way) with MNIST."""
    from mlpcompare.training.runs import prepare_framework

    module, used = prepare_framework(fw, config["threads"], device)
    numpy_module = frameworks.get("numpy").trainer_module()
    split = io.read_npz(work / "split.npz", ["x_train", "y_train"])
    rng = np.random.default_rng(0)
    info = io.read_json(work / "info.json")
    reference = spec.ModelSpec.from_info(reference_arch(config)[1] | {"dropout": 0.0}, info)
    problems = {
        "small 20-16-12-5": (
            spec.ModelSpec(20, (16, 12), 5),
            rng.random((64, 20), dtype=np.float32),
            rng.integers(0, 5, 64).astype(np.int64),
        ),
        "reference " + "-".join(map(str, reference.layer_sizes)): (
            reference,
            split["x_train"][:256],
            split["y_train"][:256].astype(np.int64),
        ),
    }
    train_spec = spec.TrainSpec(optimizer="adam", lr=1e-3, weight_decay=0.01)
    results = {}
    for name, (net, x, y) in problems.items():
        weights = spec.init_weights(net, 0)
        trainers = {
            "numpy-cpu": numpy_module.Trainer(net, train_spec, weights, x, y, seed=0, device="cpu"),
            f"{fw}-cpu": module.Trainer(net, train_spec, weights, x, y, seed=0, device="cpu"),
            f"{fw}-{used}": module.Trainer(net, train_spec, weights, x, y, seed=0, device=used),
        }  # fmt: skip
        logits = {k: t.predict_logits(x) for k, t in trainers.items()}
        half = len(x) // 2
        for step in range(2):
            xb, yb = x[step * half : (step + 1) * half], y[step * half : (step + 1) * half]
            for t in trainers.values():
                t.step(xb, yb, train_spec.lr)
        params = {k: t.get_weights() for k, t in trainers.items()}
        gpu = f"{fw}-{used}"
        results[name] = {
            f"logits {gpu} vs {other}": float(np.abs(logits[gpu] - logits[other]).max())
            for other in ("numpy-cpu", f"{fw}-cpu")
        } | {
            f"params after 2 steps {gpu} vs {other}": max(
                float(np.abs(params[gpu][k] - params[other][k]).max()) for k in params[gpu]
            )
            for other in ("numpy-cpu", f"{fw}-cpu")
        }
    worst = max(v for r in results.values() for v in r.values())
    record = {"framework": fw, "device": used, "tolerance": PARITY_TOL, "max_abs_diff": worst,
              "within_tolerance": worst <= PARITY_TOL, "checks": results,
              "environment": module.environment()}  # fmt: skip
    io.write_json(record, work / fw / "parity.json")
    log.info("%s on %s: parity max |diff| %.2g (tolerance %g)", fw, used, worst, PARITY_TOL)
    return record


def job_reference(fw: str, work: Path, device: str, config: dict, epochs: int | None) -> None:
    """Every seed trained like the ``train`` rule, then evaluated like the ``evaluate`` rule."""
    from mlpcompare.measuring import evaluation
    from mlpcompare.training import runs

    _, arch = reference_arch(config)
    training = config["training"] | ({"epochs": epochs} if epochs else {})
    seeds = config["seeds"]
    threads = config["threads"]
    folders = [work / fw / "reference" / f"seed{s}" for s in seeds]
    for seed, folder in zip(seeds, folders, strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        runs.train(
            framework=fw, split_path=work / "split.npz", init_path=work / f"init-reference-{seed}.npz",
            arch=arch, training=training, seed=seed, device=device, threads=threads,
            in_run_ceiling=True,
            outputs=SimpleNamespace(model=str(folder / frameworks.get(fw).model_file),
                                    **{k: folder / v for k, v in layout.TRAIN_FILES.items()}),
        )  # fmt: skip
    names = {**layout.EVALUATION_FILES, **layout.EXPORT_FILES}  # what the evaluate rule writes
    evaluation.evaluate_runs(
        framework=fw, seeds=seeds,
        model_paths=[str(f / frameworks.get(fw).model_file) for f in folders],
        train_paths=[f / layout.TRAIN_FILES["train"] for f in folders],
        split_path=work / "split.npz", info_path=work / "info.json", arch=arch, device=device,
        threads=threads, settings=config["bench"],
        outputs=SimpleNamespace(**{k: [str(f / v) for f in folders] for k, v in names.items()}),
    )  # fmt: skip


def job_scaling(fw: str, work: Path, device: str, config: dict, epochs: int, deadline: float):
    """The scaling grid like the ``study_run`` rule (seed 0), until ``deadline`` (epoch time)."""
    from mlpcompare.studies import runs as study_runs

    info = io.read_json(work / "info.json")
    for variant in scaling_variants(config, epochs):
        if time.time() > deadline:
            log.warning("%s: time budget spent, %s and later variants not run", fw, variant["name"])
            return
        folder = work / fw / "scaling" / variant["name"]
        folder.mkdir(parents=True, exist_ok=True)
        init = folder / "init.npz"
        io.write_npz(spec.init_weights(spec.ModelSpec.from_info(variant["arch"], info), 0), init)
        study_runs.run_variant(
            framework=fw, seeds=[0], split_path=work / "split.npz", init_paths=[init],
            arch=variant["arch"], training=variant["training"], device=device,
            threads=config["threads"], in_run_ceiling=True,
            outputs=SimpleNamespace(**{k: [folder / v] for k, v in layout.STUDY_RUN_FILES.items()}),
        )  # fmt: skip
        init.unlink()  # 13 MB at width 4096; the seed makes it again


# --- the run: prepare, then every job in its own process --------------------------------------


def prepare(raw: Path, work: Path, config: dict) -> None:
    """MNIST's split (the ``split`` rule) and the reference network's initial weights per seed."""
    arrays, info = data.make_split(
        "mnist", raw_dir=raw, val_fraction=config["split"]["val_fraction"], test_fraction=None,
        seed=config["split"]["seed"],
    )  # fmt: skip
    io.write_npz(arrays, work / "split.npz")
    io.write_json(info, work / "info.json")
    reference = spec.ModelSpec.from_info(reference_arch(config)[1], info)
    for seed in config["seeds"]:
        io.write_npz(spec.init_weights(reference, seed), work / f"init-reference-{seed}.npz")


def machine(out: Path, raw: Path) -> None:
    """What the GPU is, as ``nvidia-smi`` says, and the data files' SHA-256, beside the results
    (the workflow's download rule checks them; here they are only recorded)."""
    query = "name,driver_version,memory.total,clocks.max.sm,power.limit"
    try:
        smi = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        smi = f"nvidia-smi: {err}"
    sums = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(raw.glob("*.gz"))
    )
    (out / "machine.txt").write_text(
        f"{smi}\ncpus: {os.cpu_count()}\npython: {sys.version.split()[0]}\n{sums}"
    )
    log.info("machine: %s", smi.strip().replace("\n", " | "))


def run(args) -> int:
    start = time.time()
    out = Path(args.out).resolve()
    work = Path(args.work).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    config = load_config()
    if args.seeds:
        config["seeds"] = args.seeds
    machine(out, Path(args.raw))
    prepare(Path(args.raw), work, config)
    log.info("split and initial weights ready after %.0f s", time.time() - start)
    deadline = start + args.budget_s
    jobs = [("parity", fw) for fw in args.frameworks] + [
        ("reference", fw) for fw in args.frameworks
    ]
    jobs += [("scaling", fw) for fw in args.frameworks]
    failed = []
    for part, fw in jobs:
        left = deadline + args.grace_s - time.time()
        if left < 10:
            log.warning("no time left for %s %s", part, fw)
            failed.append(f"{part} {fw}: not run")
            continue
        command = [sys.executable, __file__, "job", part, fw, "--work", str(work), "--device",
                   args.device, "--deadline", str(deadline), "--scaling-epochs",
                   str(args.scaling_epochs), "--seeds", *map(str, config["seeds"])]  # fmt: skip
        if args.epochs:
            command += ["--epochs", str(args.epochs)]
        t0 = time.time()
        log.info("--- %s %s (%.0f s left)", part, fw, left)
        try:
            code = subprocess.run(command, timeout=left, check=False).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        log.info("--- %s %s: exit %s after %.0f s", part, fw, code, time.time() - t0)
        if code != 0:
            failed.append(f"{part} {fw}: exit {code}")
    tables(work, out)
    with tarfile.open(out / "gpu-results.tgz", "w:gz") as tar:
        for path in sorted(work.rglob("*")):
            if path.is_file() and path.suffix not in (".npz", ".pt", ".onnx", ".keras"):
                tar.add(path, arcname=str(path.relative_to(work)))
    log.info("done in %.0f s; failed: %s", time.time() - start, failed or "none")
    return 1 if failed else 0


def job(args) -> int:
    work = Path(args.work)
    config = load_config()
    config["seeds"] = args.seeds
    if args.part == "parity":
        job_parity(args.framework, work, args.device, config)
    elif args.part == "reference":
        job_reference(args.framework, work, args.device, config, args.epochs)
    else:
        job_scaling(args.framework, work, args.device, config, args.scaling_epochs, args.deadline)
    return 0


# --- tables ---------------------------------------------------------------------------------

RUN_COLUMNS = ["framework", "device", "gpu", "seed", "epochs_run", "steady_samples_per_s",
               "ceiling_samples_per_s", "ceiling_q1", "ceiling_q3", "roofline_fraction",
               "first_epoch_seconds", "total_seconds"]  # fmt: skip


def run_row(train: dict) -> dict:
    row = {k: train.get(k) for k in RUN_COLUMNS}
    row["gpu"] = train["environment"].get("device")
    return row


def tables(work: Path, out: Path) -> None:
    """reference.csv, inference.csv, scaling.csv and parity.json from the runs' files."""
    reference, inference, scaling, parity = [], [], [], []
    for train_path in sorted(work.glob("*/reference/seed*/train.json")):
        folder = train_path.parent
        row = run_row(io.read_json(train_path))
        metrics = folder / "metrics.json"
        row["test_accuracy"] = io.read_json(metrics)["accuracy"] if metrics.exists() else None
        reference.append(row)
        if (folder / "inference.csv").exists():
            for line in io.read_csv(folder / "inference.csv"):
                inference.append({"framework": row["framework"], "seed": row["seed"], **line})
    for train_path in sorted(work.glob("*/scaling/*/train.json")):
        train = io.read_json(train_path)
        metrics = io.read_json(train_path.parent / "metrics.json")
        scaling.append({**run_row(train), "batch_size": train["training"]["batch_size"],
                        "width": train["layer_sizes"][1],
                        "test_accuracy": metrics["test_accuracy"]})  # fmt: skip
    for path in sorted(work.glob("*/parity.json")):
        parity.append(io.read_json(path))
    if reference:
        io.write_csv(reference, out / "reference.csv")
    if inference:
        io.write_csv(inference, out / "inference.csv")
    if scaling:
        io.write_csv(scaling, out / "scaling.csv")
    (out / "parity.json").write_text(json.dumps(parity, indent=2) + "\n")


def summarise(args) -> int:
    """Markdown tables of a finished run's folder (the tables in docs/performance.md)."""
    import pandas as pd

    folder = Path(args.folder)
    for record in json.loads((folder / "parity.json").read_text()):
        print(f"parity {record['framework']} on {record['device']}: max |diff| "
              f"{record['max_abs_diff']:.2g} (tolerance {record['tolerance']:g})")  # fmt: skip
    if (folder / "reference.csv").exists():
        ref = pd.read_csv(folder / "reference.csv")
        grouped = ref.groupby("framework").agg(
            seeds=("seed", "count"), epochs=("epochs_run", "median"),
            samples_per_s=("steady_samples_per_s", "median"),
            ceiling=("ceiling_samples_per_s", "median"),
            fraction=("roofline_fraction", "median"), accuracy=("test_accuracy", "median"),
        )  # fmt: skip
        print(grouped.to_markdown(floatfmt=",.4g"))
    if (folder / "inference.csv").exists():
        inf = pd.read_csv(folder / "inference.csv")
        pivot = inf.pivot_table(index=["framework", "api"], columns="batch_size",
                                values="p50_ms", aggfunc="median")  # fmt: skip
        print(pivot.to_markdown(floatfmt=".3g"))
    if (folder / "scaling.csv").exists():
        sc = pd.read_csv(folder / "scaling.csv")
        sc["fraction %"] = 100 * sc["roofline_fraction"]
        pivot = sc.pivot_table(index=["batch_size", "width"], columns="framework",
                               values=["steady_samples_per_s", "fraction %"])  # fmt: skip
        print(pivot.to_markdown(floatfmt=",.0f"))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="prepare, then every job; results under --out")
    p.add_argument("--raw", required=True, help="folder with MNIST's four .gz files")
    p.add_argument("--out", required=True)
    p.add_argument("--work", default="/tmp/mlpcompare-gpu", help="the runs' own files")
    p.add_argument("--device", default="cuda")
    p.add_argument("--frameworks", nargs="+",
                   default=[n for n in frameworks.GPU_CAPABLE if n != "keras"],
                   help="default: the GPU-capable ones but Keras (no TensorFlow on the machine)")  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=int, help="default: config.yaml's")
    p.add_argument("--epochs", type=int, help="reference runs' maximum (default config.yaml's)")
    p.add_argument("--scaling-epochs", type=int, default=5)
    p.add_argument("--budget-s", type=float, default=420, help="no new scaling variant after it")
    p.add_argument("--grace-s", type=float, default=60, help="jobs are killed this long after it")
    j = sub.add_parser("job")
    j.add_argument("part", choices=["parity", "reference", "scaling"])
    j.add_argument("framework")
    j.add_argument("--work", required=True)
    j.add_argument("--device", required=True)
    j.add_argument("--deadline", type=float, required=True)
    j.add_argument("--scaling-epochs", type=int, required=True)
    j.add_argument("--seeds", nargs="+", type=int, required=True)
    j.add_argument("--epochs", type=int)
    s = sub.add_parser("summarise")
    s.add_argument("folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    return {"run": run, "job": job, "summarise": summarise}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
