r"""Losses with their gradients: each returns ``loss, dloss/dinput``.

Softmax cross-entropy over the last axis, averaged over the (unmasked) positions:

.. math::

    p_{v} = \frac{e^{z_v}}{\sum_u e^{z_u}}, \qquad
    L = -\frac{1}{\sum m} \sum_{b,t} m_{bt} \log p_{y_{bt}}, \qquad
    \frac{\partial L}{\partial z_{btv}} = \frac{m_{bt}}{\sum m} (p_{btv} - [v = y_{bt}])
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array
from .activations import _exp_cap


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy of ``softmax(logits)`` against integer ``targets``.

    Inputs:
        logits: (B, T, V) float (any leading shape works, e.g. (N, V)).
        targets: (B, T) integers in [0, V).
        mask: optional (B, T) of booleans or non-negative weights; padding positions get 0.
    Returns:
        loss (a float) and dlogits with the shape and dtype of ``logits``.
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim < 1:
        raise ValueError("logits: expected shape (B, T, V), got a scalar")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise ValueError(f"targets: expected integer class indices, got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets: expected shape {logits.shape[:-1]} (logits without the "
                         f"class axis), got {targets.shape}")
    vocab = logits.shape[-1]
    if targets.size and (targets.min() < 0 or targets.max() >= vocab):
        raise ValueError(f"targets: expected values in [0, {vocab}), got range "
                         f"[{targets.min()}, {targets.max()}]")
    if mask is None:
        weights = np.ones(targets.shape, dtype=logits.dtype)
    else:
        weights = np.asarray(mask)
        if weights.shape != targets.shape:
            raise ValueError(f"mask: expected shape {targets.shape}, got {weights.shape}")
        if weights.dtype.kind not in "biuf":
            raise ValueError(f"mask: expected booleans or float weights, got dtype {weights.dtype}")
        weights = weights.astype(logits.dtype)
    total = weights.sum()
    if total <= 0:
        raise ValueError("mask: expected at least one position with positive weight, got none")

    # exp only ever sees numbers in [-cap, 0]: no overflow, no underflow warning; the cap
    # (about 177 in float64, 22 in float32) changes probabilities below e^-cap only
    floor = -_exp_cap(logits.dtype)
    shifted = logits - logits.max(axis=-1, keepdims=True)          # largest logit -> 0
    log_probs = shifted - np.log(np.exp(np.maximum(shifted, floor)).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = float(-(picked * weights).sum() / total)

    dlogits = np.exp(np.maximum(log_probs, floor))                 # softmax probabilities
    np.put_along_axis(dlogits, targets[..., None],
                      np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1, axis=-1)
    dlogits *= (weights / total)[..., None]
    return loss, dlogits


def mse(pred, target):
    """Mean squared error L = mean((pred - target)²) and dL/dpred = 2 (pred - target) / N."""
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"target: expected shape {pred.shape} (that of pred), got {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff
