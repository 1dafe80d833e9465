"""Gate nonlinearities, written so that saturated inputs stay finite and silent.

``1 / (1 + exp(-x))`` overflows for ``x`` around -1000 (float64) or -100 (float32) and
``exp`` underflows long before that. :func:`sigmoid` only ever evaluates ``exp`` of a
non-positive number whose magnitude is capped, so it raises no floating-point warning
even under ``np.errstate(all="raise")``; the cap changes outputs only below
``finfo(dtype).tiny ** 0.25`` (about 1e-77 in float64, 3e-10 in float32), where the
gate is shut for every practical purpose.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=None)
def _exp_cap(dtype) -> float:
    """Largest |x| at which exp(-|x|) is still far from underflow in ``dtype``."""
    return float(-np.log(np.finfo(dtype).tiny) / 4)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function σ(x) = 1 / (1 + e^{-x}), element-wise and overflow-free.

    Uses σ(x) = 1 / (1 + e^{-x}) for x >= 0 and σ(x) = e^{x} / (1 + e^{x}) for x < 0, so
    the exponent is never positive.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    z = np.exp(-np.minimum(np.abs(x), _exp_cap(x.dtype)))   # z = e^{-|x|} in (0, 1]
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient through y = σ(a): dL/da = dL/dy · y (1 - y)."""
    return dy * y * (1.0 - y)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's is already overflow-free)."""
    return np.tanh(x)


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient through y = tanh(a): dL/da = dL/dy · (1 - y²)."""
    return dy * (1.0 - y * y)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), element-wise."""
    return np.maximum(x, 0.0)


def relu_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient through y = max(0, a): dL/da = dL/dy where y > 0, else 0."""
    return dy * (y > 0)
