"""Time training steps of one framework on a prepared split, to profile before optimising.

    python tools/profile_step.py numpy results/mnist/data/split.npz \
        results/mnist/mlp-256-128-64/init/seed0.npz [--src OTHER_CHECKOUT/src] [--parts]

Trains ``--epochs`` short epochs of ``--batches`` batches with the recipe and architecture of
config.yaml (the trainer and its thread pinning exactly as a training job uses them) and prints
milliseconds per step, min and median over the epochs after the first two. ``--src`` imports
mlpcompare from another checkout, so a change can be timed before and after on the same data;
``--parts`` (numpy only) adds each layer's forward and backward, the loss and the optimizer.
docs/performance.md reports what it found.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def timed(obj, name: str, label: str, spent: dict) -> None:
    """Wrap ``obj.name`` so that every call adds its seconds to ``spent[label]``."""
    inner = getattr(obj, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = inner(*args, **kwargs)
        spent[label].append(time.perf_counter() - start)
        return result

    setattr(obj, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("framework", help="a name of the registry (mlpcompare.frameworks)")
    parser.add_argument("split")
    parser.add_argument("init")
    parser.add_argument("--src", default=str(ROOT / "src"), help="mlpcompare to import")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--arch", default="mlp-256-128-64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=100, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--parts", action="store_true", help="numpy: time each part of a step")
    args = parser.parse_args()

    sys.path.insert(0, args.src)
    from mlpcompare import frameworks, io
    from mlpcompare.spec import batch_order
    from mlpcompare.training import runs

    if args.framework not in frameworks.NAMES:
        parser.error(f"framework must be one of {', '.join(frameworks.NAMES)}")

    config = yaml.safe_load(Path(args.config).read_text())
    module, device = runs.prepare_framework(args.framework, args.threads, "cpu")
    data = io.read_npz(args.split)
    weights = io.read_npz(args.init)
    n = config["training"]["batch_size"] * args.batches
    x, y = data["x_train"][:n], data["y_train"][:n]
    train_spec = runs.train_spec_for(config["training"], len(x))
    model_spec = runs.model_spec_for(config["architectures"][args.arch], weights, x.shape[1])
    trainer = module.Trainer(model_spec, train_spec, weights, x, y, seed=0, device=device)

    spent = defaultdict(list)
    if args.parts:
        for i, layer in enumerate(trainer.model.layers):
            timed(layer, "forward", f"{i} {type(layer).__name__} forward", spent)
            timed(layer, "backward", f"{i} {type(layer).__name__} backward", spent)
        timed(trainer.optimizer, "step", "optimizer", spent)
    epochs = []
    for epoch in range(args.epochs):
        if epoch == 2:
            spent.clear()  # the first epochs warm up (allocation, tracing, caches)
        start = time.perf_counter()
        trainer.train_epoch(batch_order(0, epoch, n), train_spec.lr)
        epochs.append((time.perf_counter() - start) / args.batches)
    steady = np.array(epochs[2:]) * 1e3
    print(
        f"{args.framework} ({args.src}): ms/step min {steady.min():.3f} "
        f"median {np.median(steady):.3f} -> {train_spec.batch_size / np.median(steady) * 1e3:.0f} "
        "samples/s"
    )
    for label, seconds in spent.items():
        print(f"  {label:24s} median {np.median(seconds) * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
