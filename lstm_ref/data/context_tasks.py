"""Per-step symbol tasks that need the past or the FUTURE of the sequence (chapter 4).

Both tasks label every step, so a network gets a training signal at every step (fast to
learn even on a CPU) and its accuracy can be read as a function of distance in time.

A unidirectional network that emits an output at step ``t`` has read ``x_0 .. x_t`` and
nothing after.  :func:`shifted_symbols` asks at every step for the symbol shown ``shift``
steps away: with ``shift < 0`` the answer is in the past (a delayed echo, a memory task),
with ``shift > 0`` it is in the future, which only a network that also reads the sequence
backwards (a bidirectional one) can know.  Symbols are drawn independently, so a causal
network can do no better than chance, ``1 / num_symbols``, on a future shift.

Positions whose answer would lie outside the sequence are labelled :data:`IGNORE_INDEX`,
the value ``torch.nn.CrossEntropyLoss`` skips by default, and :func:`masked_accuracy`
skips them too.  :func:`hold_first_symbol` is the dense version of
:func:`lstm_ref.data.tasks.recall_problem`: name the FIRST symbol at every later step, so the
distance to the answer grows from 1 to ``seq_len - 1`` within each sequence.
"""

from __future__ import annotations

import numpy as np

#: Label of steps that have no answer (``torch.nn.CrossEntropyLoss``'s default ignore_index).
IGNORE_INDEX = -100


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def shifted_symbols(num_sequences: int, seq_len: int, rng: np.random.Generator, shift: int,
                    num_symbols: int = 8, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """At every step ``t``, name the symbol shown at step ``t + shift``.

    Every step shows one of ``num_symbols`` symbols, one-hot encoded and drawn uniformly
    and independently.  ``shift = -k`` is a delayed echo (answer ``k`` steps in the past);
    ``shift = +k`` asks for the symbol ``k`` steps ahead.  Steps with ``t + shift`` outside
    ``[0, seq_len)`` are labelled :data:`IGNORE_INDEX`.

    Returns:
        x: ``(num_sequences, seq_len, num_symbols)`` one-hot;
        y: ``(num_sequences, seq_len)`` int64, a symbol index or :data:`IGNORE_INDEX`.
    """
    num_sequences = _check_positive_int(num_sequences, "num_sequences")
    seq_len = _check_positive_int(seq_len, "seq_len", 2)
    num_symbols = _check_positive_int(num_symbols, "num_symbols", 2)
    if isinstance(shift, bool) or int(shift) != shift or not 0 < abs(shift) < seq_len:
        raise ValueError(f"shift must be a non-zero integer with |shift| < seq_len = {seq_len}, "
                         f"got {shift!r}")
    shift = int(shift)
    symbols = rng.integers(0, num_symbols, size=(num_sequences, seq_len))
    x = np.eye(num_symbols, dtype=dtype)[symbols]
    y = np.full((num_sequences, seq_len), IGNORE_INDEX, dtype=np.int64)
    if shift > 0:
        y[:, :seq_len - shift] = symbols[:, shift:]
    else:
        y[:, -shift:] = symbols[:, :seq_len + shift]
    return x, y


def hold_first_symbol(num_sequences: int, seq_len: int, rng: np.random.Generator,
                      num_symbols: int = 8, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """At every step ``t >= 1``, name the symbol shown at step 0.

    Inputs are one-hot symbols drawn uniformly and independently (``x`` as in
    :func:`lstm_ref.data.tasks.recall_problem` for the same generator state); step 0 is
    labelled :data:`IGNORE_INDEX`, every later step with the first symbol.  Chance accuracy
    is ``1 / num_symbols``; the answer at step ``t`` lies ``t`` steps back.

    Returns:
        x: ``(num_sequences, seq_len, num_symbols)`` one-hot;
        y: ``(num_sequences, seq_len)`` int64.
    """
    num_sequences = _check_positive_int(num_sequences, "num_sequences")
    seq_len = _check_positive_int(seq_len, "seq_len", 2)
    num_symbols = _check_positive_int(num_symbols, "num_symbols", 2)
    symbols = rng.integers(0, num_symbols, size=(num_sequences, seq_len))
    x = np.eye(num_symbols, dtype=dtype)[symbols]
    y = np.repeat(symbols[:, :1], seq_len, axis=1).astype(np.int64)
    y[:, 0] = IGNORE_INDEX
    return x, y


def masked_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of correct predictions over the steps whose label is not IGNORE_INDEX.

    Inputs:
        predicted: predicted symbol indices, same shape as ``target`` (e.g. ``(N, T)``),
            or scores with one more trailing axis (``(N, T, C)``), reduced by argmax.
        target: labels from :func:`shifted_symbols`.
    """
    predicted = np.asarray(predicted)
    target = np.asarray(target)
    if predicted.ndim == target.ndim + 1:
        predicted = predicted.argmax(axis=-1)
    if predicted.shape != target.shape:
        raise ValueError(f"predicted must have the target's shape {target.shape} (or that shape "
                         f"plus a class axis), got {np.asarray(predicted).shape}")
    keep = target != IGNORE_INDEX
    if not keep.any():
        raise ValueError("target has no labelled steps (all are IGNORE_INDEX)")
    return float(np.mean(predicted[keep] == target[keep]))


def accuracy_by_step(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Accuracy at each step ``t`` over the sequences, ``(T,)``; NaN where no step is labelled.

    Inputs: ``predicted`` and ``target`` of shape ``(N, T)`` (predicted symbol indices).
    """
    predicted = np.asarray(predicted)
    target = np.asarray(target)
    if predicted.shape != target.shape or target.ndim != 2:
        raise ValueError(f"expected predicted and target of the same shape (N, T), "
                         f"got {predicted.shape} and {target.shape}")
    labelled = target != IGNORE_INDEX
    correct = ((predicted == target) & labelled).sum(axis=0)
    counts = labelled.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, correct / np.maximum(counts, 1), np.nan)
