"""Exploratory statistics and sanity checks of a split (numbers only; drawing is in plots.py)."""

from __future__ import annotations

import numpy as np

from mlpcompare.data import row_hashes

PARTS = ("train", "val", "test")


def stats(arrays: dict[str, np.ndarray], info: dict) -> dict:
    """Per-split sizes, class shares, and pixel (feature) statistics of the training inputs."""
    x = arrays["x_train"]
    return {
        "dataset": info["dataset"],
        "n_features": int(x.shape[1]),
        "n_classes": info["n_classes"],
        "counts": info["counts"],
        "class_share": {
            part: (
                np.bincount(arrays[f"y_{part}"], minlength=info["n_classes"])
                / len(arrays[f"y_{part}"])
            ).tolist()
            for part in PARTS
        },  # fmt: skip
        "train_pixel_mean": float(x.mean()),
        "train_pixel_std": float(x.std()),
        "train_fraction_zero": float((x == 0).mean()),
        "train_min": float(x.min()),
        "train_max": float(x.max()),
    }


def sanity(arrays: dict[str, np.ndarray], info: dict, balance_tolerance: float) -> dict:
    """Named pass/fail checks of a split, each with the figure it was judged on.

    ``balance_tolerance``: every class share must lie within ``(1 ± tolerance) / n_classes``.
    """
    checks = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"check": name, "passed": bool(passed), "detail": detail})

    xs = [arrays[f"x_{p}"] for p in PARTS]
    n_bad = sum(int((~np.isfinite(x)).sum()) for x in xs)
    check("finite", n_bad == 0, f"{n_bad} NaN/inf values")
    lo, hi = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
    check(
        "range",
        lo >= 0.0 and hi <= 1.0,
        f"inputs span [{lo:.3g}, {hi:.3g}], expected within [0, 1]",
    )
    train = row_hashes(arrays["x_train"])
    for other in ("val", "test"):
        shared = len(train & row_hashes(arrays[f"x_{other}"]))
        check(f"train/{other} disjoint", shared == 0, f"{shared} identical inputs in both")
    k = info["n_classes"]
    for part in PARTS:
        share = np.bincount(arrays[f"y_{part}"], minlength=k) / len(arrays[f"y_{part}"])
        lo_ok, hi_ok = (1 - balance_tolerance) / k, (1 + balance_tolerance) / k
        check(
            f"{part} classes balanced",
            bool(share.min() >= lo_ok and share.max() <= hi_ok),
            f"class shares {share.min():.3f}..{share.max():.3f}, allowed {lo_ok:.3f}..{hi_ok:.3f}",
        )
    return {
        "dataset": info["dataset"],
        "passed": all(c["passed"] for c in checks),
        "checks": checks,
    }
