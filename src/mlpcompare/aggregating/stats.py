"""Statistics over seeds and between frameworks: pure functions on plain numbers.

Seeds are few (three by default), so spreads are sample standard deviations (``ddof=1``) and
confidence intervals use Student's t, not the normal approximation. Two frameworks are compared
on the same test set by McNemar's exact test, which only looks at the samples they disagree on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as st


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for no values."""
    return float(np.mean(values)) if len(values) else math.nan


def std(values: Sequence[float]) -> float:
    """Sample standard deviation (``ddof=1``); NaN with fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def median(values: Sequence[float]) -> float:
    """Median; NaN for no values."""
    return float(np.median(values)) if len(values) else math.nan


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """First and third quartile (linear interpolation, NumPy's default); NaNs for no values."""
    if not len(values):
        return math.nan, math.nan
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1), float(q3)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Student-t confidence interval for the mean of ``values``.

    ``mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n)``; NaNs with fewer than two values (no
    spread to estimate).
    """
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    half = st.t.ppf((1 + confidence) / 2, n - 1) * std(values) / math.sqrt(n)
    centre = mean(values)
    return centre - half, centre + half


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test on paired predictions of models A and B.

    ``b``: samples A classifies correctly and B does not; ``c``: the reverse. Under the null
    hypothesis (equal error rates) each disagreement is a fair coin flip, so ``min(b, c)`` follows
    Binomial(b + c, 1/2); ``statistic`` is that ``min(b, c)``, ``p_value`` its two-sided tail.
    """

    b: int
    c: int
    statistic: int
    p_value: float


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's exact test from two boolean arrays "prediction was right", one per model."""
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape:
        raise ValueError(
            f"paired predictions differ in shape: {correct_a.shape} vs {correct_b.shape}"
        )
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    k = min(b, c)
    # The binomial with p = 1/2 is symmetric: the two-sided tail is twice the smaller one,
    # capped at 1 (when b == c the two tails overlap at the centre).
    p_value = 1.0 if b + c == 0 else min(1.0, 2.0 * float(st.binom.cdf(k, b + c, 0.5)))
    return McNemar(b=b, c=c, statistic=k, p_value=p_value)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given), for a family of tests.

    Sorted ascending, the i-th smallest (0-based) of m is multiplied by ``m - i``; a running
    maximum keeps the adjusted values monotone; all are capped at 1.
    """
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[index])))
        adjusted[index] = running
    return adjusted
