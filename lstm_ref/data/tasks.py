"""Synthetic sequence tasks with a dependency of controlled length.

Each generator returns NumPy arrays, batch-first, and takes a ``numpy.random.Generator`` so a
notebook can reproduce its data exactly.  They are the yardsticks of chapters 1, 2 and 4: a
network that cannot carry information across ``T`` steps fails them as ``T`` grows.
"""

from __future__ import annotations

import numpy as np

#: A correct answer on the adding problem.  Hochreiter & Schmidhuber (1997) accept an error
#: below 0.04 on a target that spans an interval of width 1; our target, the plain sum of two
#: values in [0, 1], spans [0, 2], so the same relative precision is 0.08.
ADDING_TOLERANCE = 0.08


def _check_lengths(num_sequences: int, seq_len: int, min_len: int) -> None:
    if int(num_sequences) != num_sequences or num_sequences < 1:
        raise ValueError(f"num_sequences must be a positive integer, got {num_sequences!r}")
    if int(seq_len) != seq_len or seq_len < min_len:
        raise ValueError(f"seq_len must be an integer >= {min_len}, got {seq_len!r}")


def adding_problem(num_sequences: int, seq_len: int, rng: np.random.Generator,
                   dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber, 1997).

    Each input step carries two features: a value drawn uniformly from [0, 1] and a marker
    that is 1 at exactly two steps and 0 elsewhere.  As in Le, Jaitly & Hinton (2015), the
    first marked step is drawn uniformly from the first half of the sequence
    (``0 <= t < seq_len // 2``) and the second from the second half, so the answer depends
    on a value seen on average ``seq_len / 2`` steps before the second one (at least one
    step, at most ``seq_len - 1``).  The target is the sum of the two marked values.
    Predicting the mean (1.0) gives a mean squared error of about 1/6.

    Returns:
        x: ``(num_sequences, seq_len, 2)``; y: ``(num_sequences,)``.
    """
    _check_lengths(num_sequences, seq_len, 4)
    values = rng.random((num_sequences, seq_len))
    markers = np.zeros((num_sequences, seq_len))
    rows = np.arange(num_sequences)
    first = rng.integers(0, seq_len // 2, size=num_sequences)
    second = rng.integers(seq_len // 2, seq_len, size=num_sequences)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second]).astype(dtype)
    return x, y


def recall_problem(num_sequences: int, seq_len: int, rng: np.random.Generator,
                   num_symbols: int = 8, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """First-symbol recall: after ``seq_len`` steps, name the symbol shown at step 0.

    Every step shows one of ``num_symbols`` symbols, one-hot encoded and drawn uniformly at
    random, so steps 1..T-1 are distractors.  The label is the symbol at step 0, so the
    dependency spans the whole sequence.  Chance accuracy is ``1 / num_symbols``.

    Returns:
        x: ``(num_sequences, seq_len, num_symbols)`` one-hot; y: ``(num_sequences,)`` int64.
    """
    _check_lengths(num_sequences, seq_len, 1)
    if int(num_symbols) != num_symbols or num_symbols < 2:
        raise ValueError(f"num_symbols must be an integer >= 2, got {num_symbols!r}")
    symbols = rng.integers(0, num_symbols, size=(num_sequences, seq_len))
    x = np.eye(num_symbols, dtype=dtype)[symbols]
    return x, symbols[:, 0].astype(np.int64)


def adding_accuracy(prediction: np.ndarray, target: np.ndarray,
                    tolerance: float = ADDING_TOLERANCE) -> float:
    """Fraction of predictions within ``tolerance`` of the target sum."""
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction and target must have the same length, "
                         f"got {prediction.shape[0]} and {target.shape[0]}")
    return float(np.mean(np.abs(prediction - target) < tolerance))
