r"""A fast LSTM sequence path: same numbers as :func:`lstm.lstm_forward`, less overhead.

The readable path in ``lstm.py`` allocates a dozen small arrays per time step. Here:

* the input projections of all time steps are ONE matmul, ``x @ W_ih.T``, done up front
  (only ``h_{t-1} @ W_hh.T`` is left inside the loop);
* the sequence is stored time-major (T, B, ...) so that each step reads contiguous memory;
* every buffer is allocated once and the loop works in place (``out=`` arguments);
* the gate rows are permuted from i, f, g, o to i, f, o, g so that the three sigmoid
  gates are one contiguous block, and the sigmoid rows are pre-scaled by 1/2 so that
  one ``tanh`` over all 4H columns gives every gate, using
  :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))` (exact scaling by a power of two; no
  ``exp``, hence no overflow);
* backward stores the pre-activation gradients of all steps, (T, B, 4H), and forms the
  weight gradients with one matmul each after the loop:
  :math:`\delta W_{ih} = \sum_t \delta a_t^\top x_t`, :math:`\delta W_{hh} = \sum_t
  \delta a_t^\top h_{t-1}`, and :math:`\delta x = \delta a\, W_{ih}` for all t at once.

Shapes and return values are those of :func:`lstm.lstm_forward` / :func:`lstm.lstm_backward`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs


def _gate_permutation(hidden: int) -> np.ndarray:
    """Row order i, f, o, g (from PyTorch's i, f, g, o)."""
    blocks = np.arange(4 * hidden).reshape(4, hidden)
    return blocks[[0, 1, 3, 2]].ravel()


@dataclass
class FastLSTMCache:
    x: np.ndarray          # (T, B, D) time-major copy of the input
    h: np.ndarray          # (T+1, B, H) h_0..h_T
    c: np.ndarray          # (T+1, B, H) c_0..c_T
    tanh_c: np.ndarray     # (T, B, H)
    gates: np.ndarray      # (T, B, 4H) activations, columns i, f, o, g
    slopes: np.ndarray     # (T, B, 4H) 1 - tanh^2 of each column (see lstm_forward_fast)
    W_ih: np.ndarray       # (4H, D) rows permuted to i, f, o, g, sigmoid rows times 1/4
    W_hh: np.ndarray       # (4H, H) likewise
    row_scale: np.ndarray  # (4H,) 1/4 for the sigmoid rows, 1 for g
    permutation: np.ndarray


def lstm_forward_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Vectorised :func:`lstm.lstm_forward`: returns h (B, T, H), c_n (B, H), cache."""
    check_sequence_inputs(x, h0)
    check_step_inputs(4, x[:, 0], h0, W_ih, W_hh, b_ih, b_hh, c_prev=c0)
    batch, steps, _ = x.shape
    hidden = h0.shape[1]
    dtype = x.dtype
    perm = _gate_permutation(hidden)
    W_ih_p, W_hh_p = W_ih[perm], W_hh[perm]
    scale = np.ones(4 * hidden, dtype=dtype)
    scale[:3 * hidden] = 0.5                      # sigmoid rows: tanh(a / 2)

    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))
    gates = (x_tm.reshape(steps * batch, -1) @ (W_ih_p * scale[:, None]).T).reshape(
        steps, batch, 4 * hidden)
    gates += (b_ih + b_hh)[perm] * scale
    W_hh_scaled_T = np.ascontiguousarray((W_hh_p * scale[:, None]).T)   # (H, 4H)

    h = np.empty((steps + 1, batch, hidden), dtype=dtype)
    c = np.empty((steps + 1, batch, hidden), dtype=dtype)
    tanh_c = np.empty((steps, batch, hidden), dtype=dtype)
    slopes = np.empty((steps, batch, 4 * hidden), dtype=dtype)
    h[0], c[0] = h0, c0
    recurrent = np.empty((batch, 4 * hidden), dtype=dtype)
    product = np.empty((batch, hidden), dtype=dtype)
    H = hidden
    for t in range(steps):
        a = gates[t]
        np.matmul(h[t], W_hh_scaled_T, out=recurrent)
        a += recurrent
        np.tanh(a, out=a)
        # local derivatives, kept for backward: 1 - tanh^2 is tanh'(a) for g, and four
        # times sigma'(a) = (1 - tanh^2(a/2)) / 4 for the sigmoid gates (the 1/4 is
        # folded into the weights that backward multiplies by)
        slope = slopes[t]
        np.multiply(a, a, out=slope)
        np.subtract(1, slope, out=slope)
        sig = a[:, :3 * H]
        sig *= 0.5
        sig += 0.5                                # now i, f, o = sigma(.), g = tanh(.)
        i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=product)
        c[t + 1] += product                       # c_t = f * c_{t-1} + i * g
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])   # h_t = o * tanh(c_t)

    row_scale = scale * scale                     # 1/4 for sigmoid rows, 1 for g
    cache = FastLSTMCache(x_tm, h, c, tanh_c, gates, slopes, W_ih_p * row_scale[:, None],
                          W_hh_p * row_scale[:, None], row_scale, perm)
    return np.ascontiguousarray(h[1:].transpose(1, 0, 2)), c[steps].copy(), cache


def lstm_backward_fast(dh, cache: FastLSTMCache, dh_n=None, dc_n=None):
    """Vectorised :func:`lstm.lstm_backward`; returns the same ``LSTMGrads``."""
    from .lstm import LSTMGrads

    k = cache
    steps, batch, hidden = k.tanh_c.shape
    H = hidden
    dtype = k.h.dtype
    check_gradient_shape(dh, (batch, steps, H), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, (batch, H), name)
    dh_tm = dh.transpose(1, 0, 2)
    # dL/da_t, columns i, f, o, g, with the sigmoid columns 4x too large (slopes lack the
    # 1/4): every product with d_pre below uses weights or factors scaled by row_scale
    d_pre = np.empty((steps, batch, 4 * H), dtype=dtype)
    dh_next = np.zeros((batch, H), dtype) if dh_n is None else np.array(dh_n, dtype=dtype)
    dc_next = np.zeros((batch, H), dtype) if dc_n is None else np.array(dc_n, dtype=dtype)
    dh_total = np.empty((batch, H), dtype=dtype)
    dc = np.empty((batch, H), dtype=dtype)
    work = np.empty((batch, H), dtype=dtype)
    for t in reversed(range(steps)):
        act, da = k.gates[t], d_pre[t]
        i, f, o, g = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        da_i, da_f, da_o, da_g = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
        tanh_c = k.tanh_c[t]
        np.add(dh_tm[t], dh_next, out=dh_total)
        np.multiply(dh_total, tanh_c, out=da_o)                 # do
        np.multiply(tanh_c, tanh_c, out=work)
        np.subtract(1, work, out=work)
        work *= o
        work *= dh_total
        np.add(dc_next, work, out=dc)                         # dc = dc_t + dh o (1 - tanh^2 c)
        np.multiply(dc, g, out=da_i)                          # di
        np.multiply(dc, k.c[t], out=da_f)                     # df (k.c[t] is c_{t-1})
        np.multiply(dc, i, out=da_g)                          # dg
        np.multiply(dc, f, out=dc_next)                       # dc_{t-1}
        da *= k.slopes[t]                                     # through sigma and tanh
        np.matmul(da, k.W_hh, out=dh_next)                    # dh_{t-1}

    flat = d_pre.reshape(steps * batch, 4 * H)
    dx = np.ascontiguousarray((flat @ k.W_ih).reshape(steps, batch, -1).transpose(1, 0, 2))
    dW_ih, dW_hh, db = (np.empty((4 * H, k.x.shape[2]), dtype), np.empty((4 * H, H), dtype),
                        np.empty(4 * H, dtype))
    scale = k.row_scale[:, None]
    dW_ih[k.permutation] = (flat.T @ k.x.reshape(steps * batch, -1)) * scale
    dW_hh[k.permutation] = (flat.T @ k.h[:steps].reshape(steps * batch, H)) * scale
    db[k.permutation] = flat.sum(axis=0) * k.row_scale
    return LSTMGrads(dx, dh_next, dc_next, dW_ih, dW_hh, db, db.copy())
