"""Truncated backpropagation through time (TBPTT).

A long sequence is cut into chunks of ``k`` steps. Each chunk starts from the state the
previous chunk ended in (the state is CARRIED forward), but its backward pass stops at the
chunk's start: the gradient does not flow into earlier chunks. Memory then grows with k,
not with T, at the price of not learning dependencies longer than k steps. With k >= T it
is ordinary (full) BPTT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from lstm_ref._validation import check_positive_int


class TBPTTResult(NamedTuple):
    loss: float                    # sum of the chunk losses
    grads: dict                    # accumulated over chunks, keyed like model.state_dict()
    state: object                  # final state, to carry into the next call


def truncated_bptt(model, x, k: int, loss_fn: Callable, state=None) -> TBPTTResult:
    """Forward and backward over ``x`` (B, T, D) in chunks of ``k`` time steps.

    Inputs:
        model: a :mod:`lstm_ref.numpy` model (RNN, LSTM, GRU, PeepholeLSTM).
        x: (B, T, D) input sequence.
        k: chunk length (truncation window), k >= 1.
        loss_fn: ``loss_fn(out_chunk, time_slice) -> (loss, dout_chunk)``; ``time_slice``
            says which steps of the full sequence the chunk covers, e.g. to pick targets.
        state: initial state (as for ``model.forward``) or None.
    Returns:
        :class:`TBPTTResult` ``(loss, grads, state)``; ``model.grads`` is set to ``grads``.
    """
    check_positive_int("k", k)
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x: expected a 3-D array (B, T, D), got shape {x.shape}")
    steps = x.shape[1]
    total_loss = 0.0
    grads = None
    for start in range(0, steps, k):
        time_slice = slice(start, min(start + k, steps))
        out, state = model.forward(x[:, time_slice], state)
        loss, dout = loss_fn(out, time_slice)
        model.backward(dout)            # no gradient arrives from later chunks
        total_loss += float(loss)
        if grads is None:
            grads = {name: g.copy() for name, g in model.grads.items()}
        else:
            for name, g in model.grads.items():
                grads[name] += g
    model.grads = grads
    return TBPTTResult(total_loss, grads, state)
