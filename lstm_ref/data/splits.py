"""Reproducible train / validation / test splits."""

from __future__ import annotations

import numpy as np


def train_val_test_split(n: int, rng: np.random.Generator, val: float = 0.1,
                         test: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled index arrays ``(train, val, test)`` covering ``range(n)`` once each."""
    if n < 3:
        raise ValueError(f"need at least 3 items to split, got {n}")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions with val + test < 1, got {val}, {test}")
    order = rng.permutation(n)
    n_test = max(1, int(round(n * test)))
    n_val = max(1, int(round(n * val)))
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]
