"""PyTorch's tuned trainer eager against compiled, NumPy's as the yardstick, in alternating epochs.

    python tools/torch_compile_vs_eager.py [--rounds 10] [--batches N] [--threads 2] \
        [--out benchmarks/torch-compile.csv]

Full MNIST-shaped epochs (60,000 x 784 float32, 10 classes, synthetic: speed does not depend on
the pixels) at the recipe and architecture of config.yaml (batch 128, 784-256-128-64-10 ReLU,
dropout 0.2, Adam), threads pinned as a training job pins them. Each round runs one epoch of each
variant in turn, so a machine that drifts moves all three alike; the first round, which holds
compiling (and every variant's warm-up), is written to the CSV but kept out of the medians and
reported apart, as a run's first epoch is. NumPy trains in a child process of its own: its
OpenBLAS threads, spinning after an epoch, would slow the next PyTorch epoch in this one
(docs/performance.md). docs/torch-compile.md says what the figures decide.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("torch eager", "torch compiled", "numpy")


def build(framework: str, threads: int, n: int, compile_step: bool | None = None):
    """A tuned trainer of ``framework`` on ``n`` synthetic MNIST-shaped rows; with its spec."""
    sys.path.insert(0, str(ROOT / "src"))
    from mlpcompare.spec import init_weights
    from mlpcompare.training import runs

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    module, device = runs.prepare_framework(framework, threads, "cpu")
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    train_spec = runs.train_spec_for(config["training"], n)
    names = {f"{kind}{i}": None for i in range(4) for kind in "Wb"} | {"b3": np.zeros(10)}
    model_spec = runs.model_spec_for(config["architectures"]["mlp-256-128-64"], names, 784)
    options = {} if compile_step is None else {"compile": compile_step}
    weights = init_weights(model_spec, 0)
    trainer = module.Trainer(model_spec, train_spec, weights, x, y, seed=0, device=device,
                             **options)  # fmt: skip
    return trainer, train_spec


def epoch_seconds(trainer, train_spec, n: int, epoch: int) -> float:
    from mlpcompare.spec import batch_order

    order = batch_order(0, epoch, n)
    start = time.perf_counter()
    trainer.train_epoch(order, train_spec.lr_at(epoch))
    return time.perf_counter() - start


def numpy_worker(conn, threads: int, n: int) -> None:
    """Child process: one NumPy epoch per request, its seconds sent back."""
    trainer, train_spec = build("numpy", threads, n)
    while (epoch := conn.recv()) is not None:
        conn.send(epoch_seconds(trainer, train_spec, n, epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds after the first")
    parser.add_argument("--batches", type=int, default=None,
                        help="batches per epoch (default: a full epoch, 469)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "torch-compile.csv"))
    args = parser.parse_args()
    n = 60000 if args.batches is None else 128 * args.batches

    parent, child = multiprocessing.get_context("spawn").Pipe()
    worker = multiprocessing.get_context("spawn").Process(
        target=numpy_worker, args=(child, args.threads, n)
    )
    worker.start()
    torch_trainers = {
        "torch eager": build("torch", args.threads, n, compile_step=False),
        "torch compiled": build("torch", args.threads, n, compile_step=True),
    }
    rows = []
    for epoch in range(args.rounds + 1):
        for variant in VARIANTS:
            if variant == "numpy":
                parent.send(epoch)
                seconds = parent.recv()
            else:
                seconds = epoch_seconds(*torch_trainers[variant], n, epoch)
            rows.append({"round": epoch, "variant": variant, "first": epoch == 0,
                         "seconds": seconds, "samples_per_s": n / seconds})  # fmt: skip
            time.sleep(0.05)  # let the last variant's threads go idle before the next
    parent.send(None)
    worker.join()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report(rows, n, out)


def report(rows: list[dict], n: int, out: Path) -> None:
    """Medians of the timed rounds, ratios per round (then their median), first epochs apart."""
    timed = {v: np.array([r["seconds"] for r in rows if r["variant"] == v and not r["first"]])
             for v in VARIANTS}  # fmt: skip
    first = {r["variant"]: r["seconds"] for r in rows if r["first"]}
    print(f"{n} samples an epoch, {len(timed['numpy'])} timed rounds; CSV: {out}")
    print(
        f"{'variant':16s} {'median s':>9s} {'samples/s':>10s} {'x numpy':>8s} {'first epoch s':>14s}"
    )
    for variant, seconds in timed.items():
        ratio = np.median(timed["numpy"] / seconds) if len(seconds) else float("nan")
        median = np.median(seconds) if len(seconds) else float("nan")
        print(f"{variant:16s} {median:9.3f} {n / median:10.0f} {ratio:8.3f} {first[variant]:14.2f}")
    if len(timed["torch eager"]):
        speedup = np.median(timed["torch eager"] / timed["torch compiled"])
        print(f"compiled / eager speed: {speedup:.3f} (above 1: compiling wins on this device)")


if __name__ == "__main__":
    main()
