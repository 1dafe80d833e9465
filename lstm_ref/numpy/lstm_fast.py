r"""A fast LSTM sequence path: same numbers as :func:`lstm.lstm_forward`, less overhead.

The readable path in ``lstm.py`` allocates a dozen small arrays per time step. Here:

* the input projections of all time steps are computed up front (one BLAS call per
  step, outside the recurrence), with the biases as an extra weight column against a
  column of ones in x; only the recurrent product is left inside the loop;
* every buffer is allocated once and the loop works in place (``out=`` arguments);
  a :class:`Workspace` lets repeated calls (training) reuse the buffers of the previous
  call: fresh multi-megabyte arrays cost page faults, about a fifth of the run time;
* states are kept feature-major, (H, B) per step instead of (B, H): a gate is then a
  block of ROWS of the (4H, B) pre-activation, i.e. contiguous memory, and the
  element-wise operations run about twice as fast as on column slices;
* the gate rows are permuted from i, f, g, o to i, f, o, g so that the three sigmoid
  gates are one contiguous block, and the sigmoid rows are pre-scaled by 1/2 so that
  one ``tanh`` over all 4H rows gives every gate, using
  :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))` (exact scaling by a power of two; no
  ``exp``, hence no overflow);
* the forward pass keeps each gate's local derivative, :math:`1 - \tanh^2`, so backward
  needs one product per step to go through all four nonlinearities;
* backward keeps the pre-activation gradients of all steps, lays them side by side as
  (4H, T*B) and forms the weight gradients with one matmul each after the loop:
  :math:`\delta W_{ih} = \sum_t \delta a_t^\top x_t`, :math:`\delta W_{hh} = \sum_t
  \delta a_t^\top h_{t-1}`, and :math:`\delta x = \delta a\, W_{ih}` for all t at once.

Shapes and return values are those of :func:`lstm.lstm_forward` / :func:`lstm.lstm_backward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs


def _gate_permutation(hidden: int) -> np.ndarray:
    """Row order i, f, o, g (from PyTorch's i, f, g, o)."""
    blocks = np.arange(4 * hidden).reshape(4, hidden)
    return blocks[[0, 1, 3, 2]].ravel()


class Workspace:
    """Named scratch arrays that the next call may overwrite (and so reuse)."""

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array of this shape and dtype, recycled when possible."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = np.empty(shape, dtype=dtype)
        return array


class LSTMGrads(NamedTuple):
    """What :func:`lstm_ref.numpy.lstm.lstm_backward` and :func:`lstm_backward_fast` return
    (defined here, not in ``lstm.py``, so that ``lstm.py`` imports this module and not the
    other way round)."""
    dx: np.ndarray        # (B, T, D)
    dh0: np.ndarray       # (B, H)
    dc0: np.ndarray       # (B, H)
    dW_ih: np.ndarray
    dW_hh: np.ndarray
    db_ih: np.ndarray
    db_hh: np.ndarray


@dataclass
class FastLSTMCache:
    x: np.ndarray          # (T*B, D+1) input, time-major, with a column of ones (bias)
    h: np.ndarray          # (T+1, H, B) h_0..h_T, feature-major
    c: np.ndarray          # (T+1, H, B) c_0..c_T
    tanh_c: np.ndarray     # (T, H, B)
    gates: np.ndarray      # (T, 4H, B) activations, rows i, f, o, g
    slopes: np.ndarray     # (T, 4H, B) 1 - tanh^2 of each row (see lstm_forward_fast)
    W_ih: np.ndarray       # (4H, D) rows permuted to i, f, o, g, sigmoid rows times 1/4
    W_hh_T: np.ndarray     # (H, 4H) transpose of W_hh, permuted and scaled likewise
    row_scale: np.ndarray  # (4H,) 1/4 for the sigmoid rows, 1 for g
    permutation: np.ndarray
    workspace: Workspace   # owns the arrays above; reused by the next call that gets it


def lstm_forward_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh, workspace: Workspace | None = None):
    """Vectorised :func:`lstm.lstm_forward`: returns h (B, T, H), c_n (B, H), cache.

    ``workspace``: optional :class:`Workspace` whose buffers may be overwritten, e.g. the
    ``cache.workspace`` of a previous call whose cache is no longer needed.
    """
    check_sequence_inputs(x, h0)
    check_step_inputs(4, x[:, 0], h0, W_ih, W_hh, b_ih, b_hh, c_prev=c0)
    batch, steps, features = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    perm = _gate_permutation(H)
    W_ih_p, W_hh_p = W_ih[perm].astype(dtype), W_hh[perm].astype(dtype)
    scale = np.ones(4 * H, dtype=dtype)
    scale[:3 * H] = 0.5                           # sigmoid rows: tanh(a / 2)

    ws = Workspace() if workspace is None else workspace
    # x with a column of ones, (T, B, D+1): the biases ride along as a last weight column,
    # so the input projection includes them and backward gets db with dW_ih
    x_tm = ws.array("x", (steps, batch, features + 1), dtype)
    np.copyto(x_tm[..., :features], x.transpose(1, 0, 2))
    x_tm[..., features] = 1
    W_ih_bias = np.concatenate([W_ih_p, (b_ih + b_hh)[perm, None].astype(dtype)], axis=1)
    # all input projections at once: gates[t] = W_ih x_t^T + b, (T, 4H, B), a BLAS call per t
    gates = ws.array("gates", (steps, 4 * H, batch), dtype)
    np.matmul(W_ih_bias * scale[:, None], x_tm.transpose(0, 2, 1), out=gates)
    W_hh_scaled = W_hh_p * scale[:, None]                            # (4H, H)

    h = ws.array("h", (steps + 1, H, batch), dtype)
    c = ws.array("c", (steps + 1, H, batch), dtype)
    tanh_c = ws.array("tanh_c", (steps, H, batch), dtype)
    slopes = ws.array("slopes", (steps, 4 * H, batch), dtype)
    h[0], c[0] = h0.T, c0.T
    recurrent = np.empty((4 * H, batch), dtype=dtype)
    product = np.empty((H, batch), dtype=dtype)
    for t in range(steps):
        a = gates[t]
        np.matmul(W_hh_scaled, h[t], out=recurrent)
        a += recurrent
        np.tanh(a, out=a)
        # local derivatives, kept for backward: 1 - tanh^2 is tanh'(a) for g, and four
        # times sigma'(a) = (1 - tanh^2(a/2)) / 4 for the sigmoid gates (the 1/4 is
        # folded into the weights that backward multiplies by)
        slope = slopes[t]
        np.multiply(a, a, out=slope)
        np.subtract(1, slope, out=slope)
        sig = a[:3 * H]
        sig *= 0.5
        sig += 0.5                                # now i, f, o = sigma(.), g = tanh(.)
        i, f, o, g = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=product)
        c[t + 1] += product                       # c_t = f * c_{t-1} + i * g
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])   # h_t = o * tanh(c_t)

    row_scale = scale * scale                     # 1/4 for sigmoid rows, 1 for g
    cache = FastLSTMCache(x_tm.reshape(steps * batch, features + 1), h, c, tanh_c, gates,
                          slopes, W_ih_p * row_scale[:, None],
                          np.ascontiguousarray((W_hh_p * row_scale[:, None]).T), row_scale,
                          perm, ws)
    out = np.ascontiguousarray(h[1:].transpose(2, 0, 1))             # (B, T, H)
    return out, np.ascontiguousarray(c[steps].T), cache


def lstm_backward_fast(dh, cache: FastLSTMCache, dh_n=None, dc_n=None):
    """Vectorised :func:`lstm.lstm_backward`; returns the same ``LSTMGrads``."""

    k = cache
    steps, H, batch = k.tanh_c.shape
    dtype = k.h.dtype
    check_gradient_shape(dh, (batch, steps, H), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, (batch, H), name)
    ws = k.workspace
    dh_fm = ws.array("dh", (steps, H, batch), dtype)
    np.copyto(dh_fm, np.asarray(dh).transpose(1, 2, 0))              # (T, H, B)
    dh_next = np.zeros((H, batch), dtype) if dh_n is None else np.array(dh_n, dtype).T.copy()
    dc_next = np.zeros((H, batch), dtype) if dc_n is None else np.array(dc_n, dtype).T.copy()
    # dL/da_t for every step, (T, 4H, B), rows i, f, o, g; the sigmoid rows are 4x too
    # large (the slopes lack the 1/4), so every product with them uses row_scale-d weights
    d_pre = ws.array("d_pre", (steps, 4 * H, batch), dtype)
    dh_total = np.empty((H, batch), dtype=dtype)
    dc = np.empty((H, batch), dtype=dtype)
    work = np.empty((H, batch), dtype=dtype)
    for t in reversed(range(steps)):
        act, tanh_c, da = k.gates[t], k.tanh_c[t], d_pre[t]
        i, f, o, g = act[:H], act[H:2 * H], act[2 * H:3 * H], act[3 * H:]
        da_i, da_f, da_o, da_g = da[:H], da[H:2 * H], da[2 * H:3 * H], da[3 * H:]
        np.add(dh_fm[t], dh_next, out=dh_total)
        np.multiply(dh_total, tanh_c, out=da_o)               # do
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
        np.matmul(k.W_hh_T, da, out=dh_next)                  # dh_{t-1}

    # one copy to (4H, T*B) so that each weight gradient is a single matmul over all steps
    d_all = ws.array("d_all", (4 * H, steps, batch), dtype)
    np.copyto(d_all, d_pre.transpose(1, 0, 2))
    d_all = d_all.reshape(4 * H, steps * batch)

    features = k.x.shape[1] - 1
    dx_fm = ws.array("dx", (features, steps * batch), dtype)
    np.matmul(k.W_ih.T, d_all, out=dx_fm)
    dx = np.ascontiguousarray(dx_fm.reshape(features, steps, batch).transpose(2, 1, 0))
    h_prev = ws.array("h_prev", (H, steps, batch), dtype)
    np.copyto(h_prev, k.h[:steps].transpose(1, 0, 2))
    h_prev = h_prev.reshape(H, steps * batch)
    scale = k.row_scale[:, None]
    dW_ih, dW_hh, db = (np.empty((4 * H, features), dtype), np.empty((4 * H, H), dtype),
                        np.empty(4 * H, dtype))
    dW_ih_bias = (d_all @ k.x) * scale                 # (4H, D+1): last column is db
    dW_ih[k.permutation] = dW_ih_bias[:, :features]
    db[k.permutation] = dW_ih_bias[:, features]
    dW_hh[k.permutation] = (d_all @ h_prev.T) * scale
    return LSTMGrads(dx, np.ascontiguousarray(dh_next.T), np.ascontiguousarray(dc_next.T),
                     dW_ih, dW_hh, db, db.copy())
