"""Gradient clipping by global norm: the standard remedy for exploding gradients.

LSTM gating mitigates VANISHING gradients; it does not stop them from exploding, so
training code clips. The rule is ``torch.nn.utils.clip_grad_norm_``'s.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def clip_grad_norm(grads: Mapping, max_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients IN PLACE so their joint L2 norm is at most ``max_norm``.

    The total norm is ||g|| = sqrt(sum over every array of sum(g²)). When it exceeds
    ``max_norm`` each array is multiplied by max_norm / (||g|| + eps).

    Returns the total norm BEFORE clipping (plot it to see explosions).
    """
    if not isinstance(grads, Mapping) or not grads:
        raise ValueError(f"grads: expected a non-empty dict of arrays, got {type(grads).__name__}")
    if not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive number, got {max_norm!r}")
    for name, g in grads.items():
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            raise ValueError(f"grads[{name!r}]: expected a float ndarray (scaled in place), "
                             f"got {type(g).__name__}")
    total_norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    scale = max_norm / (total_norm + eps)
    if scale < 1.0:
        for g in grads.values():
            g *= scale
    return total_norm
