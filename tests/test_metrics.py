"""Classification metrics and confusion matrices on hand-made predictions."""

import math

import numpy as np
import pytest

from mlpcompare.measuring import metrics

CLASSES = ["a", "b", "c"]
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    proba = metrics.softmax(np.array([[0.0, 0.0], [1000.0, 0.0]], dtype=np.float32))
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba, [[0.5, 0.5], [1.0, 0.0]], atol=1e-7)


def test_predictions_are_the_argmax():
    y_pred, proba = metrics.predictions(np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]]))
    assert y_pred.tolist() == [1, 0] and y_pred.dtype == np.int64
    assert proba.shape == (2, 3)


def test_classification_by_hand():
    proba = np.eye(3, dtype=np.float32)[Y_PRED]
    report = metrics.classification(Y_TRUE, Y_PRED, proba, CLASSES)
    assert report["accuracy"] == pytest.approx(4 / 6)
    # a: predicted 0 at 0, 5 -> precision 1/2; true a at 0, 1 -> recall 1/2; F1 1/2
    # b: predicted at 1, 2, 3 -> precision 2/3; recall 2/2; F1 0.8
    # c: predicted at 4 -> precision 1; recall 1/2; F1 2/3
    assert report["precision_macro"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert report["recall_macro"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert report["f1_macro"] == pytest.approx((1 / 2 + 0.8 + 2 / 3) / 3)
    assert report["per_class"]["b"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    # two samples have probability 0 on the true class: clipped at 1e-12, not infinite
    assert report["test_loss"] == pytest.approx(2 * -math.log(1e-12) / 6)


def test_a_class_never_predicted_scores_zero_not_an_error():
    report = metrics.classification(
        np.array([0, 1, 2]), np.array([0, 1, 1]), np.full((3, 3), 1 / 3), CLASSES
    )
    assert report["per_class"]["c"]["precision"] == 0.0


def test_confusion_rows_are_true_columns_predicted():
    matrix = metrics.confusion(Y_TRUE, Y_PRED, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    rows = metrics.confusion_rows(matrix, CLASSES)
    assert rows[2] == {"true": "c", "a": 1, "b": 0, "c": 1}


def test_diverged_run_has_null_metrics_and_an_empty_confusion():
    y_pred, proba = metrics.no_predictions(6, 3)
    assert np.isnan(proba).all() and (y_pred == metrics.NO_PREDICTION).all()
    assert metrics.confusion(Y_TRUE, y_pred, 3).sum() == 0
    report = metrics.diverged(6, CLASSES)
    assert report["status"] == "diverged" and report["accuracy"] is None
    assert set(report) == set(metrics.classification(Y_TRUE, Y_PRED, np.eye(3)[Y_PRED], CLASSES))
