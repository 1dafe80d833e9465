r"""Classification metrics computed from labels, written out so a reader can check them by hand.

Conventions (the same as scikit-learn's, which the course does not depend on):

* a confusion matrix has one row per **true** class and one column per **predicted** class,
  so for two classes ``[[TN, FP], [FN, TP]]``;
* precision, recall and F1 are those of the positive class (``positive=1`` by default);
  a ratio whose denominator is zero (no predicted positives, or no true positives) is 0.0.

.. math::

    \text{precision} = \frac{TP}{TP + FP}, \qquad
    \text{recall} = \frac{TP}{TP + FN}, \qquad
    F_1 = \frac{2\,\text{precision}\cdot\text{recall}}{\text{precision} + \text{recall}}
        = \frac{2\,TP}{2\,TP + FP + FN}

Labels may be lists, NumPy arrays or torch tensors (on any device) of integers or booleans.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class PrecisionRecallF1(NamedTuple):
    precision: float
    recall: float
    f1: float


def _labels(name: str, values) -> np.ndarray:
    """``values`` as a 1-D int64 array, or a ValueError naming what was given."""
    if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of labels, got shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.int64)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not (np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))):
            raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    return array.astype(np.int64)


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if true.shape != pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {true.shape[0]} "
                         f"and {pred.shape[0]}")
    if true.size == 0:
        raise ValueError("y_true and y_pred are empty; expected at least one label")
    return true, pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of positions where the prediction equals the label."""
    true, pred = _pair(y_true, y_pred)
    return float(np.mean(true == pred))


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` int64 counts: entry ``[i, j]`` = true ``i`` predicted ``j``."""
    true, pred = _pair(y_true, y_pred)
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    for name, array in (("y_true", true), ("y_pred", pred)):
        bad = array[(array < 0) | (array >= num_classes)]
        if bad.size:
            raise ValueError(f"{name} must hold labels in [0, {num_classes}), "
                             f"got {sorted(set(bad.tolist()))[:5]}")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    return counts


def binary_confusion(y_true, y_pred) -> np.ndarray:
    """The 2x2 confusion matrix ``[[TN, FP], [FN, TP]]`` of 0/1 labels."""
    return confusion_matrix(y_true, y_pred, num_classes=2)


def precision_recall_f1(y_true, y_pred, positive: int = 1) -> PrecisionRecallF1:
    """Precision, recall and F1 of class ``positive`` (one-vs-rest if there are more classes)."""
    true, pred = _pair(y_true, y_pred)
    true_positive = int(np.sum((pred == positive) & (true == positive)))
    false_positive = int(np.sum((pred == positive) & (true != positive)))
    false_negative = int(np.sum((pred != positive) & (true == positive)))
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive + false_negative else 0.0
    denominator = 2 * true_positive + false_positive + false_negative
    f1 = 2 * true_positive / denominator if denominator else 0.0
    return PrecisionRecallF1(float(precision), float(recall), float(f1))


def binary_report(y_true, y_pred) -> dict[str, float]:
    """Accuracy, precision, recall and F1 (positive class 1) in one dict."""
    scores = precision_recall_f1(y_true, y_pred, positive=1)
    return {"accuracy": accuracy(y_true, y_pred), **scores._asdict()}


def plot_confusion(matrix, class_names: Sequence[str], ax=None, title: str = "Confusion matrix"):
    """Draw a confusion matrix (rows true, columns predicted) with its counts written in."""
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    k = len(class_names)
    if matrix.shape != (k, k):
        raise ValueError(f"matrix must have shape ({k}, {k}) for {k} class names, "
                         f"got {matrix.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            dark = matrix[i, j] > matrix.max() / 2
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center",
                    color="white" if dark else "black")
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax
