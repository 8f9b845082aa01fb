"""Test-set quality of one trained model: pure functions from labels and logits to numbers.

Precision, recall and F1 come from scikit-learn so their edge cases (a class never predicted)
follow its documented convention (``zero_division=0``) rather than one of ours.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

NO_PREDICTION = -1  # y_pred of a diverged run: its model outputs NaN, so it predicts nothing


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities (n, n_classes) from logits (n, n_classes); the row max is subtracted
    first so exp() cannot overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def cross_entropy(proba: np.ndarray, y_true: np.ndarray) -> float:
    """Mean negative log-probability of the true class; probabilities clipped at 1e-12 so one
    confident mistake gives a large finite loss instead of infinity."""
    p = proba[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(p, 1e-12, 1.0))))


def predictions(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class (n,) int64, probabilities (n, n_classes) float32) from logits."""
    proba = softmax(np.asarray(logits, dtype=np.float32))
    return np.argmax(proba, axis=1).astype(np.int64), proba


def no_predictions(n: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """What a diverged run "predicts": :data:`NO_PREDICTION` everywhere, NaN probabilities."""
    return (
        np.full(n, NO_PREDICTION, dtype=np.int64),
        np.full((n, n_classes), np.nan, dtype=np.float32),
    )


def classification(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, classes: list[str]
) -> dict:
    """Accuracy, test loss, macro and per-class precision / recall / F1 / support.

    y_true, y_pred : (n,) integer labels in ``range(len(classes))``; proba : (n, n_classes).
    """
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "status": "ok",
        "n_test": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "test_loss": cross_entropy(proba, y_true),
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
    }


def diverged(n_test: int, classes: list[str]) -> dict:
    """The metrics record of a diverged run: same keys as :func:`classification`, values null."""
    return {
        "status": "diverged",
        "n_test": n_test,
        "accuracy": None,
        "test_loss": None,
        "precision_macro": None,
        "recall_macro": None,
        "f1_macro": None,
        "per_class": {
            name: {"precision": None, "recall": None, "f1": None, "support": None}
            for name in classes
        },
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class.

    Samples without a prediction (:data:`NO_PREDICTION`) are not counted, so a diverged run's
    matrix is all zeros rather than a made-up column.
    """
    keep = y_pred != NO_PREDICTION
    flat = y_true[keep] * n_classes + y_pred[keep]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_rows(matrix: np.ndarray, classes: list[str]) -> list[dict]:
    """The matrix as CSV rows: a ``true`` column naming the class, then one column per prediction."""
    return [
        {"true": name, **{pred: int(n) for pred, n in zip(classes, row, strict=True)}}
        for name, row in zip(classes, matrix, strict=True)
    ]
