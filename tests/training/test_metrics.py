"""lstm_ref.training.metrics against cases counted by hand, edge cases, and bad input."""

import numpy as np
import pytest
import torch

from lstm_ref.training import metrics

# Ten labels counted by hand:
#   position  0 1 2 3 4 5 6 7 8 9
#   true      1 1 1 1 0 0 0 0 0 1
#   predicted 1 1 0 1 0 1 0 0 1 0
# TP = positions 0, 1, 3 -> 3; FN = 2, 9 -> 2; FP = 5, 8 -> 2; TN = 4, 6, 7 -> 3
TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
PRED = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0]


def test_binary_confusion_counts_by_hand():
    matrix = metrics.binary_confusion(TRUE, PRED)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, [[3, 2], [2, 3]])  # [[TN, FP], [FN, TP]]
    # an asymmetric case, so rows (true) and columns (predicted) cannot be swapped unnoticed
    np.testing.assert_array_equal(metrics.binary_confusion([0, 0, 0, 1], [1, 1, 0, 1]),
                                  [[1, 2], [0, 1]])


def test_precision_recall_f1_by_hand():
    precision, recall, f1 = metrics.precision_recall_f1(TRUE, PRED)
    assert precision == pytest.approx(3 / 5) and recall == pytest.approx(3 / 5)
    assert f1 == pytest.approx(3 / 5)
    # TP = 1, FP = 2, FN = 0: precision 1/3, recall 1, F1 = 2/(3 + 1) = 1/2
    scores = metrics.precision_recall_f1([0, 0, 0, 1], [1, 1, 0, 1])
    assert scores == pytest.approx((1 / 3, 1.0, 0.5))
    assert scores.f1 == pytest.approx(2 * scores.precision * scores.recall
                                      / (scores.precision + scores.recall))
    # the other class as positive: TP = 1 (pos 2), FP = 0, FN = 2 (pos 0, 1)
    assert metrics.precision_recall_f1([0, 0, 0, 1], [1, 1, 0, 1], positive=0) == \
        pytest.approx((1.0, 1 / 3, 0.5))


def test_zero_denominators_give_zero_not_nan():
    # no predicted positives: precision 0/0 -> 0; TP = 0 so F1 = 0
    assert tuple(metrics.precision_recall_f1([1, 0, 1], [0, 0, 0])) == (0.0, 0.0, 0.0)
    # no true positives at all, none predicted either
    assert tuple(metrics.precision_recall_f1([0, 0], [0, 0])) == (0.0, 0.0, 0.0)


def test_accuracy_and_report():
    assert metrics.accuracy(TRUE, PRED) == pytest.approx(0.6)
    report = metrics.binary_report(TRUE, PRED)
    assert report == pytest.approx({"accuracy": 0.6, "precision": 0.6, "recall": 0.6, "f1": 0.6})
    assert all(type(v) is float for v in report.values())


def test_multiclass_confusion_and_one_vs_rest():
    true = [0, 1, 2, 2, 1, 0, 2]
    pred = [0, 2, 2, 1, 1, 0, 2]
    matrix = metrics.confusion_matrix(true, pred, num_classes=4)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0], expected[1, 2], expected[2, 2], expected[2, 1], expected[1, 1] = 2, 1, 2, 1, 1
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == len(true)
    # class 2: TP 2, FP 1 (pos 1), FN 1 (pos 3)
    assert metrics.precision_recall_f1(true, pred, positive=2) == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_accepts_bools_floats_and_tensors():
    as_bool = metrics.binary_confusion(np.array(TRUE, dtype=bool), np.array(PRED, dtype=bool))
    as_tensor = metrics.binary_confusion(torch.tensor(TRUE), torch.tensor(PRED))
    as_float = metrics.binary_confusion(np.array(TRUE, dtype=float), PRED)
    for matrix in (as_bool, as_tensor, as_float):
        np.testing.assert_array_equal(matrix, [[3, 2], [2, 3]])


def test_random_labels_agree_with_a_direct_count():
    rng = np.random.default_rng(0)
    true, pred = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    (tn, fp), (fn, tp) = metrics.binary_confusion(true, pred)
    assert tp == np.sum(true & pred) and tn == np.sum((1 - true) & (1 - pred))
    precision, recall, f1 = metrics.precision_recall_f1(true, pred)
    assert precision == pytest.approx(tp / (tp + fp)) and recall == pytest.approx(tp / (tp + fn))
    assert metrics.accuracy(true, pred) == pytest.approx((tp + tn) / 500)


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"1-D .* got shape \(2, 2\)"):
        metrics.binary_confusion(np.zeros((2, 2), int), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"labels in \[0, 2\), got \[3\]"):
        metrics.binary_confusion([0, 3], [0, 1])
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        metrics.precision_recall_f1([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        metrics.confusion_matrix([0], [0], num_classes=0)


def test_plot_confusion_writes_counts():
    import matplotlib
    matplotlib.use("Agg")
    ax = metrics.plot_confusion([[3, 2], [2, 3]], ["rotten", "fresh"])
    assert sorted(t.get_text() for t in ax.texts) == ["2", "2", "3", "3"]
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        metrics.plot_confusion([[1, 2], [3, 4]], ["a", "b", "c"])
