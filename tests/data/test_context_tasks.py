"""lstm_ref.data.context_tasks: labels really are the shifted symbols; causal models are at chance."""

import numpy as np
import pytest

from lstm_ref.data.context_tasks import (IGNORE_INDEX, accuracy_by_step, hold_first_symbol, masked_accuracy,
                                   shifted_symbols)


@pytest.mark.parametrize("shift", [-3, -1, 1, 4])
def test_labels_are_shifted_symbols(shift):
    x, y = shifted_symbols(5, 12, np.random.default_rng(0), shift=shift, num_symbols=6)
    assert x.shape == (5, 12, 6) and x.dtype == np.float32
    assert y.shape == (5, 12) and y.dtype == np.int64
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)
    symbols = x.argmax(axis=-1)
    for t in range(12):
        source = t + shift
        if 0 <= source < 12:
            np.testing.assert_array_equal(y[:, t], symbols[:, source])
        else:
            assert (y[:, t] == IGNORE_INDEX).all()
    assert (y == IGNORE_INDEX).sum() == 5 * abs(shift)


def test_reproducible_and_dtype():
    a = shifted_symbols(3, 7, np.random.default_rng(5), shift=2, dtype=np.float64)
    b = shifted_symbols(3, 7, np.random.default_rng(5), shift=2, dtype=np.float64)
    assert a[0].dtype == np.float64
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_best_causal_guess_is_at_chance_for_a_future_shift():
    # Any function of the past, e.g. "repeat the current symbol", scores about 1/S on a
    # future shift, and exactly 1 on the matching past shift when the data says so.
    x, y = shifted_symbols(4000, 10, np.random.default_rng(1), shift=2, num_symbols=4)
    current = x.argmax(axis=-1)
    assert abs(masked_accuracy(current, y) - 0.25) < 0.02
    x, y = shifted_symbols(50, 10, np.random.default_rng(1), shift=-2, num_symbols=4)
    echo = np.roll(x.argmax(axis=-1), 2, axis=1)
    assert masked_accuracy(echo, y) == 1.0


def test_masked_accuracy_ignores_unlabelled_steps_and_takes_scores():
    target = np.array([[1, 2, IGNORE_INDEX], [0, IGNORE_INDEX, IGNORE_INDEX]])
    predicted = np.array([[1, 0, 3], [0, 3, 3]])
    assert masked_accuracy(predicted, target) == pytest.approx(2 / 3)
    scores = np.eye(4)[predicted]
    assert masked_accuracy(scores, target) == pytest.approx(2 / 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(shift=0), "shift"), (dict(shift=10), "shift"), (dict(shift=1.5), "shift"),
    (dict(shift=1, num_symbols=1), "num_symbols"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        shifted_symbols(2, 10, np.random.default_rng(0), **kwargs)


def test_masked_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        masked_accuracy(np.zeros((2, 3)), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="no labelled"):
        masked_accuracy(np.zeros((1, 2)), np.full((1, 2), IGNORE_INDEX))


def test_hold_first_symbol_labels_every_later_step_with_the_first_symbol():
    x, y = hold_first_symbol(6, 9, np.random.default_rng(3), num_symbols=5)
    assert x.shape == (6, 9, 5) and y.shape == (6, 9) and y.dtype == np.int64
    assert (y[:, 0] == IGNORE_INDEX).all()
    np.testing.assert_array_equal(y[:, 1:], np.repeat(x[:, :1].argmax(-1), 8, axis=1))
    # the same inputs as recall_problem for the same generator state
    from lstm_ref.data.tasks import recall_problem
    x_recall, y_recall = recall_problem(6, 9, np.random.default_rng(3), num_symbols=5)
    np.testing.assert_array_equal(x, x_recall)
    np.testing.assert_array_equal(y[:, -1], y_recall)
    with pytest.raises(ValueError, match="seq_len"):
        hold_first_symbol(2, 1, np.random.default_rng(0))


def test_accuracy_by_step_counts_only_labelled_steps():
    target = np.array([[IGNORE_INDEX, 1, 2], [IGNORE_INDEX, 1, 0]])
    predicted = np.array([[5, 1, 2], [5, 0, 0]])
    by_step = accuracy_by_step(predicted, target)
    assert np.isnan(by_step[0])
    np.testing.assert_allclose(by_step[1:], [0.5, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        accuracy_by_step(predicted[:, :2], target)
