r"""A fast LSTM sequence path: same numbers as :func:`lstm.lstm_forward`, less overhead.

The readable path in ``lstm.py`` allocates a dozen small arrays per time step. Here:

* one product per step gives the whole pre-activation: :math:`z_t = [x_t; 1; h_{t-1}]`
  against :math:`W = [W_{ih} \mid b_{ih} + b_{hh} \mid W_{hh}]` (the biases ride on a
  row of ones); the loop writes :math:`h_t` straight into :math:`z_{t+1}`;
* every buffer is allocated once and the loop works in place (``out=`` arguments);
  a :class:`Workspace` lets repeated calls (training) reuse the buffers of the previous
  call: fresh multi-megabyte arrays cost page faults, about a fifth of the run time;
* gates, cell states and gradients are kept feature-major, (H, B) per step instead of
  (B, H): a gate is then a block of ROWS of the (4H, B) pre-activation, i.e. contiguous
  memory, and the element-wise operations run about twice as fast as on column slices;
  the product's input :math:`z_t` alone is stored batch-major, (B, D+1+H) per step
  (BLAS reads ``z[t].T`` as a transposed operand at no cost): x is copied in and the
  outputs are copied out without transposing (dh is read transposed one step at a
  time), and the (T*B, D+1+H) matrix of all steps is the weight gradient's operand as
  it stands (a transposing copy of it in backward cost more than writing :math:`h_t`
  transposed in forward);
* the gate rows are permuted from i, f, g, o to o, i, f, g so that the three sigmoid
  gates are one contiguous block, and the sigmoid rows are pre-scaled by 1/2 so that
  one ``tanh`` over all 4H rows gives every gate, using
  :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))` (exact scaling by a power of two; no
  ``exp``, hence no overflow); :math:`c_{t-1}` is stored right after g, so one product
  of the blocks [i; f] and [g; c_{t-1}] gives both terms of :math:`c_t`;
* backward: every local derivative depends on forward values only, so the coefficients
  that turn :math:`\delta h_t` and :math:`\delta c` into gradients are computed for many
  steps at once (:func:`_coefficients`), in chunks of steps small enough to stay in the
  cache; a step then costs four element-wise operations and one matrix product:

  .. math::

      [\delta c;\ \delta a_o] = [o (1 - \tanh^2 c_t);\ \tanh(c_t)\, o (1 - o)]
          \odot \delta h_t, \qquad \delta c \mathrel{+}= \delta c_t, \\
      [\delta a_i;\ \delta a_f;\ \delta a_g;\ \delta c_{t-1}] =
          [g\, i (1 - i);\ c_{t-1} f (1 - f);\ i (1 - g^2);\ f] \odot \delta c, \qquad
      \delta h_{t-1} = \delta \mathrm{out}_{t-1} + W_{hh}^\top \delta a_t;

* each chunk's pre-activation gradients are laid side by side as (4H, T*B) while they
  are in the cache, and after the loop one product gives every weight and bias
  gradient, :math:`\delta W = \sum_t \delta a_t z_t^\top` (against z as stored), and
  one more :math:`\delta x = \delta a\, W_{ih}` for all t at once.

At B = 32, T = 100, D = 64, H = 128 (float32, one thread, OpenBLAS) these matrix
products alone take about as long as all of ``torch.nn.LSTM`` (oneDNN), forward and
backward (:func:`lstm_ref.speed.numpy_blas_seconds` times them); the rest of the run
time is element-wise NumPy passes and copies.

Shapes and return values are those of :func:`lstm.lstm_forward` / :func:`lstm.lstm_backward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs


def _gate_permutation(hidden: int) -> np.ndarray:
    """Row order o, i, f, g (from PyTorch's i, f, g, o)."""
    blocks = np.arange(4 * hidden).reshape(4, hidden)
    return blocks[[3, 0, 1, 2]].ravel()


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
    """What :func:`lstm_backward_fast` needs from :func:`lstm_forward_fast` (it only reads
    these arrays, so backward may run more than once on one cache)."""

    z: np.ndarray          # (T+1, B, D+1+H) [x_t; 1; h_{t-1}] batch-major (z[T]: h_T only)
    gates: np.ndarray      # (T+1, 5H, B) rows o, i, f, g (activations), c_{t-1} (gates[T]:
                           # c_T only)
    tanh_c: np.ndarray     # (T, H, B)
    W: np.ndarray          # (4H, D+1+H) [W_ih | b_ih + b_hh | W_hh], rows o, i, f, g
    permutation: np.ndarray
    workspace: Workspace   # owns the arrays above; reused by the next call that gets it


def _batch_major(steps_fm: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(T, F, B) -> ``out`` (B, T, F), one step at a time: a single transposing copy of
    the whole 3-D array walks memory so badly that it is several times slower once the
    arrays outgrow the caches (used by ``gru_fast.py``; the LSTM keeps its outputs
    batch-major in ``z`` and needs no transpose)."""
    for t in range(steps_fm.shape[0]):
        out[:, t] = steps_fm[t].T
    return out


def lstm_forward_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh, workspace: Workspace | None = None):
    """Vectorised :func:`lstm.lstm_forward`: returns h (B, T, H), c_n (B, H), cache.

    ``workspace``: optional :class:`Workspace` whose buffers may be overwritten, e.g. the
    ``cache.workspace`` of a previous call whose cache is no longer needed.
    """
    check_sequence_inputs(x, h0)
    check_step_inputs(4, x[:, 0], h0, W_ih, W_hh, b_ih, b_hh, c_prev=c0)
    x = np.asarray(x)
    batch, steps, features = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    perm = _gate_permutation(H)
    ws = Workspace() if workspace is None else workspace
    # [W_ih | b_ih + b_hh | W_hh] with rows o, i, f, g, in the workspace: fresh arrays of
    # this size cost page faults, about 5% of forward + backward at B = 1
    W = ws.array("W", (4 * H, features + 1 + H), dtype)
    W[:, :features] = W_ih[perm]
    W[:, features] = (b_ih + b_hh)[perm]
    W[:, features + 1:] = W_hh[perm]
    W_scaled = ws.array("W_scaled", W.shape, dtype)
    np.multiply(W[:3 * H], 0.5, out=W_scaled[:3 * H])       # sigmoid rows: tanh(a / 2)
    W_scaled[3 * H:] = W[3 * H:]

    # z[t] = [x_t; 1; h_{t-1}] stored batch-major, (B, D+1+H) per step: one product per
    # step (against z[t].T, which BLAS reads as a transposed operand) gives the whole
    # pre-activation, biases included; x is copied in without a transpose, and the
    # (T*B, D+1+H) matrix of all steps is the weight gradient's operand as it stands
    h_cols = slice(features + 1, features + 1 + H)
    z = ws.array("z", (steps + 1, batch, features + 1 + H), dtype)
    z[:steps, :, :features] = x.transpose(1, 0, 2)
    z[:, :, features] = 1
    z[0, :, h_cols] = h0
    # gates[t] = [o; i; f; g; c_{t-1}] (5H, B): g next to c_{t-1}, so that one product
    # of the (2, H, B) blocks [i; f] and [g; c_{t-1}] gives i * g and f * c_{t-1}
    gates = ws.array("gates", (steps + 1, 5 * H, batch), dtype)
    gates[0, 4 * H:] = np.asarray(c0).T
    tanh_c = ws.array("tanh_c", (steps, H, batch), dtype)
    products = np.empty((2, H, batch), dtype=dtype)
    for t in range(steps):
        a = gates[t, :4 * H]
        np.matmul(W_scaled, z[t].T, out=a)
        np.tanh(a, out=a)
        sig = a[:3 * H]
        sig *= 0.5
        sig += 0.5                                # now o, i, f = sigma(.), g = tanh(.)
        np.multiply(gates[t, H:3 * H].reshape(2, H, batch),
                    gates[t, 3 * H:].reshape(2, H, batch), out=products)
        c_t = gates[t + 1, 4 * H:]
        np.add(products[0], products[1], out=c_t)  # c_t = f * c_{t-1} + i * g
        np.tanh(c_t, out=tanh_c[t])
        np.multiply(a[:H], tanh_c[t], out=z[t + 1, :, h_cols].T)  # h_t = o * tanh(c_t)

    cache = FastLSTMCache(z, gates, tanh_c, W, perm, ws)
    out = z[1:, :, h_cols].transpose(1, 0, 2).copy()                  # (B, T, H)
    return out, gates[steps, 4 * H:].T.copy(), cache      # never a view of the workspace


def _chunk_steps(steps: int, rows: int, batch: int, itemsize: int) -> int:
    """Steps per chunk of backward, so that a chunk's (steps, rows, B) buffers of local
    derivatives and gradients stay in the cache between the passes over them."""
    return max(1, min(steps, CHUNK_BYTES // (rows * batch * itemsize)))


CHUNK_BYTES = 1 << 20


def _coefficients(k: FastLSTMCache, t0: int, t1: int, coef: np.ndarray) -> None:
    r"""Local derivatives of steps t0..t1-1 into ``coef`` (t1 - t0, 6H, B), rows

    * :math:`o (1 - \tanh^2 c_t)`, so that :math:`\delta c = \delta c_t` + this times
      :math:`\delta h_t`;
    * :math:`\tanh(c_t)\, o (1 - o)`: :math:`\delta a_o` per :math:`\delta h_t`;
    * :math:`g\, i (1 - i)`, :math:`c_{t-1} f (1 - f)`, :math:`i (1 - g^2)` and
      :math:`f`: :math:`\delta a_i, \delta a_f, \delta a_g` and :math:`\delta c_{t-1}`
      per :math:`\delta c`.
    """
    H = k.tanh_c.shape[1]
    gates, tanh_c = k.gates[t0:t1], k.tanh_c[t0:t1]
    o, i, f, g, c_prev = (gates[:, n * H:(n + 1) * H] for n in range(5))
    slope_c, coef_o, coef_i, coef_f, coef_g, coef_carry = (coef[:, n * H:(n + 1) * H]
                                                            for n in range(6))
    sigmoid_slopes = coef[:, H:4 * H]
    np.subtract(1, gates[:, :3 * H], out=sigmoid_slopes)
    sigmoid_slopes *= gates[:, :3 * H]            # o (1 - o), i (1 - i), f (1 - f)
    coef_o *= tanh_c
    coef_i *= g
    coef_f *= c_prev
    np.multiply(g, g, out=coef_g)
    np.subtract(1, coef_g, out=coef_g)
    coef_g *= i
    np.multiply(tanh_c, tanh_c, out=slope_c)
    np.subtract(1, slope_c, out=slope_c)
    slope_c *= o
    np.copyto(coef_carry, f)


def lstm_backward_fast(dh, cache: FastLSTMCache, dh_n=None, dc_n=None):
    """Vectorised :func:`lstm.lstm_backward`; returns the same ``LSTMGrads``."""

    k = cache
    steps, H, batch = k.tanh_c.shape
    dtype = k.gates.dtype
    check_gradient_shape(dh, (batch, steps, H), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, (batch, H), name)
    ws = k.workspace
    chunk = _chunk_steps(steps, 6 * H, batch, dtype.itemsize)
    coef = ws.array("coef", (chunk, 6 * H, batch), dtype)
    # d[l] (6H, B) for step t0 + l of the chunk: rows dc, then da_o, da_i, da_f, da_g
    # (the pre-activation gradient, rows o, i, f, g), then dc_{t-1}
    d = ws.array("d_pre", (chunk, 6 * H, batch), dtype)
    d[0, 5 * H:] = 0 if dc_n is None else np.asarray(dc_n, dtype).T
    # the pre-activation gradients of all steps side by side, (4H, T*B), filled chunk
    # by chunk while they are in the cache
    d_all = ws.array("d_all", (4 * H, steps, batch), dtype)
    W_hh_T = np.ascontiguousarray(k.W[:, -H:].T)                     # (H, 4H)
    dh = np.asarray(dh)
    dh_prev = np.zeros((H, batch), dtype)         # C-contiguous: matmul writes into it
    if dh_n is not None:
        dh_prev[...] = np.asarray(dh_n).T
    dh_t = np.empty((H, batch), dtype)
    for t0 in reversed(range(0, steps, chunk)):
        length = min(chunk, steps - t0)
        _coefficients(k, t0, t0 + length, coef[:length])
        for t in reversed(range(t0, t0 + length)):
            l = t - t0
            d_t = d[l]
            np.add(dh[:, t].T, dh_prev, out=dh_t)                    # from above and t+1
            np.multiply(coef[l, :2 * H].reshape(2, H, batch), dh_t,
                        out=d_t[:2 * H].reshape(2, H, batch))
            d_t[:H] += d[l + 1 if l + 1 < length else 0, 5 * H:]     # dc
            np.multiply(coef[l, 2 * H:].reshape(4, H, batch), d_t[:H],
                        out=d_t[2 * H:].reshape(4, H, batch))
            np.matmul(W_hh_T, d_t[H:5 * H], out=dh_prev)             # dh_{t-1}
        np.copyto(d_all[:, t0:t0 + length], d[:length, H:5 * H].transpose(1, 0, 2))

    # each weight gradient (biases included) is one product over all steps
    d_flat = d_all.reshape(4 * H, steps * batch)
    inputs = k.z.shape[2]
    features = inputs - 1 - H
    dW = ws.array("dW", (4 * H, inputs), dtype)
    np.matmul(d_flat, k.z[:steps].reshape(steps * batch, inputs), out=dW)  # (4H, D+1+H)
    dx = ws.array("dx", (steps, batch, features), dtype)
    np.matmul(d_flat.T, k.W[:, :features], out=dx.reshape(steps * batch, features))
    dW_ih, dW_hh, db = (np.empty((4 * H, features), dtype), np.empty((4 * H, H), dtype),
                        np.empty(4 * H, dtype))
    dW_ih[k.permutation] = dW[:, :features]
    db[k.permutation] = dW[:, features]
    dW_hh[k.permutation] = dW[:, features + 1:]
    # copies (not ascontiguousarray): at B = 1 a transpose is contiguous, and the workspace
    # itself would be returned
    return LSTMGrads(dx.transpose(1, 0, 2).copy(), dh_prev.T.copy(),
                     d[0, 5 * H:].T.copy(), dW_ih, dW_hh, db, db.copy())
