"""Statistics against values worked out by hand on tiny fixtures."""

import math

import numpy as np
import pytest

from mlpcompare.aggregating import stats

T_975_DF2 = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom (tables)


def test_mean_and_sample_std_of_three_seeds():
    values = [0.90, 0.92, 0.94]
    assert stats.mean(values) == pytest.approx(0.92)
    # deviations -0.02, 0, 0.02: sum of squares 0.0008, / (3 - 1) = 0.0004, sqrt = 0.02
    assert stats.std(values) == pytest.approx(0.02)


def test_spread_of_one_value_is_undefined_not_zero():
    assert math.isnan(stats.std([0.9]))
    assert all(math.isnan(v) for v in stats.t_interval([0.9]))
    assert math.isnan(stats.mean([])) and math.isnan(stats.median([]))


def test_t_interval_of_three_seeds():
    low, high = stats.t_interval([0.90, 0.92, 0.94], 0.95)
    half = T_975_DF2 * 0.02 / math.sqrt(3)  # 0.049683...
    assert low == pytest.approx(0.92 - half)
    assert high == pytest.approx(0.92 + half)
    assert half == pytest.approx(0.0496827, abs=1e-6)


def test_median_and_quartiles():
    assert stats.median([3.0, 1.0, 2.0, 10.0]) == 2.5
    # NumPy's linear interpolation: positions 0.75 and 2.25 of the sorted [1, 2, 3, 10]
    assert stats.quartiles([3.0, 1.0, 2.0, 10.0]) == (1.75, 4.75)


def test_mcnemar_counts_only_the_disagreements():
    a = np.array([1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
    b = np.array([1, 0, 1, 1, 1, 1, 1, 1], dtype=bool)
    # a right & b wrong: index 1 -> b = 1; a wrong & b right: 3, 4, 7 -> c = 3
    test = stats.mcnemar_exact(a, b)
    assert (test.b, test.c, test.statistic) == (1, 3, 1)
    # P(X <= 1), X ~ Binomial(4, 1/2) = (1 + 4) / 16; two-sided: 10/16
    assert test.p_value == pytest.approx(10 / 16)


def test_mcnemar_exact_p_value_one_against_five():
    a = np.array([True] * 1 + [False] * 5 + [True] * 10)
    b = np.array([False] * 1 + [True] * 5 + [True] * 10)
    test = stats.mcnemar_exact(a, b)
    assert (test.b, test.c) == (1, 5)
    # P(X <= 1), X ~ Binomial(6, 1/2) = (1 + 6) / 64; two-sided: 14/64
    assert test.p_value == pytest.approx(14 / 64)


def test_mcnemar_identical_or_balanced_predictions_give_p_one():
    same = np.array([True, False, True])
    assert stats.mcnemar_exact(same, same).p_value == 1.0
    a = np.array([True, True, False, False])
    b = np.array([False, False, True, True])
    assert stats.mcnemar_exact(a, b).p_value == 1.0  # 2 vs 2: the tails overlap, capped


def test_mcnemar_refuses_unpaired_predictions():
    with pytest.raises(ValueError, match="paired"):
        stats.mcnemar_exact(np.ones(3, bool), np.ones(4, bool))


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04; running max 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []
