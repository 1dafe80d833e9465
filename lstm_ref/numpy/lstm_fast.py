r"""A fast LSTM sequence path: same numbers as :func:`lstm.lstm_forward`, less overhead.

The readable path in ``lstm.py`` allocates a dozen small arrays per time step. Here (the
design of :mod:`lstm_ref.torch.lstm_fast`, in NumPy's terms):

* one product per step gives the whole pre-activation: :math:`z_t = [x_t; 1; h_{t-1}]`
  against :math:`W = [W_{ih} \mid b_{ih} + b_{hh} \mid W_{hh}]` (the biases ride on a
  row of ones); the loop writes :math:`h_t` into :math:`z_{t+1}`;
* every buffer is allocated once and the loops work in place (``out=`` arguments); a
  :class:`Workspace` lets repeated calls (training) reuse the buffers of the previous
  call (fresh multi-megabyte arrays cost page faults, about a fifth of the run time),
  and also the per-step views into them and the loops' scratch arrays (made anew at
  every call, they cost about 15% of the run time at B = 1);
* gates, cell states and gradients are kept feature-major, (H, B) per step instead of
  (B, H): a gate is then a block of ROWS, i.e. contiguous memory, and an element-wise
  operation is one inner loop instead of one per batch row (blocks that are strided,
  even only between steps, made the forward pass take 1.5 times as long); the product's
  input :math:`z_t` alone is stored batch-major, (B, D+1+H) per step (BLAS reads
  ``z[t].T`` as a transposed operand at no cost): x is copied in and the outputs are
  copied out without transposing, and the (T*B, D+1+H) matrix of all steps is the
  weight gradient's operand as it stands;
* the gate rows are permuted from i, f, g, o to o, i, f, g so that the three sigmoid
  gates are one contiguous block, and the sigmoid rows are pre-scaled by 1/2 so that
  :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))` (exact scaling by a power of two; no
  ``exp``, hence no overflow);
* the forward step also computes what backward needs, while the step's values are in
  the cache, into ONE (6H, B) block per step of a (T, 6H, B) buffer (``'`` the
  activation's slope, :math:`\sigma' = \sigma (1 - \sigma)`, :math:`\tanh' = 1 - \tanh^2`):

  .. math::

      [\tanh(c_t)\, o',\ g\, i',\ c_{t-1} f',\ i g',\ f,\ o (1 - \tanh^2 c_t)];

  the step's product writes :math:`[a_o, a_i, a_f, a_g]` straight into slots 2-5, so
  that once activated f is already in slot 4; o, i and :math:`a_g` are overwritten by
  coefficients once used. :math:`g` is written next to :math:`c_{t-1}` (two
  alternating pairs), so that one product of [i, f] and [g, c_{t-1}] gives both terms
  of :math:`c_t`, and one of [g, c_{t-1}] and [i', f'] gives slots 1-2;
  :math:`i g' = i - (i g) g` and :math:`o (1 - \tanh^2 c_t) = o - h_t \tanh c_t` take
  one operation each after the products already made;
* backward works in place on that block (memory that forward filled, no fresh gradient
  buffer), four element-wise operations and one product per step:

  .. math::

      [\delta c_t;\ \delta a_o] = \delta h_t \odot [\text{slot } 5;\ \text{slot } 0]
          \ (+\, \delta c \text{ for } \delta c_t), \qquad
      [\delta a_i;\ \delta a_f;\ \delta a_g;\ \delta c_{t-1}] =
          \delta c_t \odot \text{slots } 1\text{-}4, \qquad
      \delta h_{t-1} = \delta \mathrm{out}_{t-1} + W_{hh}^\top \delta a_t,

  after which slots 0-3 are :math:`\delta a_t` in the weights' row order. Backward
  thus destroys the coefficients: the cache records it (``rows_hold``), and a second
  backward on the same cache first recomputes them from the stored inputs;
* the weight gradients need :math:`\delta a` of many steps side by side, as one
  matrix: every :func:`block_steps` steps (16 at B = 32, all of them at B = 1) the loop
  copies the block's :math:`\delta a_t` into a (4H, steps*B) buffer while they are still
  in the cache, and two products give the block's share of every weight and bias
  gradient, :math:`\delta W \mathrel{+}= \sum_t \delta a_t z_t^\top` (against z as
  stored), and of :math:`\delta x = \delta a\, W_{ih}`. (A copy of all steps after the
  loop, or one step at a time, was slower; so was a (6H, T*B) buffer whose all-steps
  block is a matrix without any copy: see the third point.)

At B = 32, T = 100, D = 64, H = 128 (float32, one thread, OpenBLAS) these matrix
products alone take about as long as all of ``torch.nn.LSTM`` (oneDNN), forward and
backward (:func:`lstm_ref.speed.numpy_blas_seconds` times them); the rest of the run
time is element-wise NumPy operations and copies, a few microseconds each.

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
        self._views: dict[str, tuple] = {}

    def array(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array of this shape and dtype, recycled when possible."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = np.empty(shape, dtype=dtype)
        return array

    def views(self, name: str, bases: tuple, make):
        """``make()`` (e.g. per-step views of ``bases``), made again only when one of
        the arrays ``bases`` is not the one it was made from: repeated calls of one
        shape reuse both the buffers and the views into them."""
        entry = self._views.get(name)
        if entry is None or len(entry[0]) != len(bases) or any(
                a is not b for a, b in zip(entry[0], bases)):
            entry = self._views[name] = (bases, make())
        return entry[1]


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
    """What :func:`lstm_backward_fast` needs from :func:`lstm_forward_fast`.

    Backward overwrites the coefficients in ``rows`` with the gradients (in place: that
    memory is in the CPU's cache just then), and sets ``rows_hold`` to ``"gradients"``; a second backward
    on the same cache then recomputes the coefficients from ``z`` and ``c0`` first.
    """

    z: np.ndarray          # (T+1, B, D+1+H) [x_t; 1; h_{t-1}] batch-major (z[T]: h_T only)
    rows: np.ndarray       # (T, 6H, B): step t's coefficients, see _forward_loop
    c0: np.ndarray         # (H, B)
    W: np.ndarray          # (4H, D+1+H) [W_ih | b_ih + b_hh | W_hh], rows o, i, f, g
    W_scaled: np.ndarray   # W with the sigmoid rows (o, i, f) halved
    c_n: np.ndarray        # (H, B)
    permutation: np.ndarray
    workspace: Workspace   # owns the arrays above; reused by the next call that gets it
    rows_hold: str = "coefficients"


def _batch_major(steps_fm: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(T, F, B) -> ``out`` (B, T, F), one step at a time: a single transposing copy of
    the whole 3-D array walks memory so badly that it is several times slower once the
    arrays outgrow the caches (used by ``gru_fast.py``; the LSTM keeps its outputs
    batch-major in ``z`` and needs no transpose)."""
    for t in range(steps_fm.shape[0]):
        out[:, t] = steps_fm[t].T
    return out



def _forward_views(z, rows, h_cols, pairs):
    """Per step, every view the forward loop uses (made once: see Workspace.views)."""
    steps, H = rows.shape[0], rows.shape[1] // 6
    batch = rows.shape[2]
    return [(r[2 * H:], r[2 * H:5 * H], r[5 * H:], pairs[t % 2, 0],
             r[3 * H:5 * H].reshape(2, H, batch), pairs[t % 2], pairs[(t + 1) % 2, 1],
             r[2 * H:3 * H], z[t].T, z[t + 1, :, h_cols], r[:H], r[5 * H:],
             r[H:3 * H].reshape(2, H, batch), r[3 * H:4 * H])
            for t, r in enumerate(rows)]


def _forward_loop(z, W_scaled, c0, rows, h_cols, c_n, ws: Workspace):
    r"""Run the steps: write :math:`h_t` into ``z[t+1]`` and, per step, the coefficients

    :math:`[\tanh(c_t)\, o',\ g\, i',\ c_{t-1} f',\ i g',\ f,\ o - h_t \tanh c_t]`
    into step t's (6H, B) block of ``rows`` (``'`` the activation's slope), and
    :math:`c_T` into ``c_n``.
    """
    steps, batch = z.shape[0] - 1, z.shape[1]
    H = c0.shape[0]
    dtype = z.dtype
    # alternating [g_t; c_{t-1}] pairs: step t reads c_{t-1} from one, writes c_t into the other
    pairs = ws.array("pairs", (2, 2, H, batch), dtype)
    pairs[0, 1] = c0
    products = ws.array("products", (2, H, batch), dtype)      # [i g, f c_{t-1}]
    input_candidate, forget_carry = products
    tanh_c = ws.array("tanh_c", (H, batch), dtype)
    h = ws.array("h", (H, batch), dtype)
    slopes = ws.array("slopes", (3 * H, batch), dtype)       # [o', i', f']
    slope_o, slopes_if = slopes[:H], slopes[H:].reshape(2, H, batch)
    per_step = ws.views("forward", (z, rows, pairs),
                        lambda: _forward_views(z, rows, h_cols, pairs))
    mul, add, sub, tanh, matmul = np.multiply, np.add, np.subtract, np.tanh, np.matmul
    for (pre, sig, pre_g, g, i_f, pair, cell, o, z_t, h_next, eta_o, eta_c, kappa_if,
         i) in per_step:
        matmul(W_scaled, z_t, out=pre)                            # [a_o, a_i, a_f, a_g]
        tanh(sig, out=sig)
        tanh(pre_g, out=g)
        sig *= 0.5
        sig += 0.5                                # slots 2-4: o, i, f = sigma(.)
        mul(i_f, pair, out=products)
        add(input_candidate, forget_carry, out=cell)              # c_t = i g + f c_{t-1}
        tanh(cell, out=tanh_c)
        mul(o, tanh_c, out=h)                                     # h_t = o tanh(c_t)
        h_next[...] = h.T
        mul(sig, sig, out=slopes)
        sub(sig, slopes, out=slopes)                              # s (1 - s)
        mul(tanh_c, slope_o, out=eta_o)                           # tanh(c) o'
        mul(h, tanh_c, out=eta_c)
        sub(o, eta_c, out=eta_c)                                  # o (1 - tanh^2 c)
        mul(pair, slopes_if, out=kappa_if)                        # [g i', c_{t-1} f'] over o
        input_candidate *= g
        sub(i, input_candidate, out=i)                            # i g' = i - (i g) g
    np.copyto(c_n, pairs[steps % 2, 1])


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
    W = ws.array("W", (4 * H, features + 1 + H), dtype)
    W[:, :features] = W_ih[perm]
    W[:, features] = (b_ih + b_hh)[perm]
    W[:, features + 1:] = W_hh[perm]
    W_scaled = ws.array("W_scaled", W.shape, dtype)
    np.multiply(W[:3 * H], 0.5, out=W_scaled[:3 * H])       # sigmoid rows: tanh(a / 2)
    W_scaled[3 * H:] = W[3 * H:]

    h_cols = slice(features + 1, features + 1 + H)
    z = ws.array("z", (steps + 1, batch, features + 1 + H), dtype)
    z[:steps, :, :features] = x.transpose(1, 0, 2)
    z[:, :, features] = 1
    z[0, :, h_cols] = h0
    c0_fm = ws.array("c0", (H, batch), dtype)
    c0_fm[...] = np.asarray(c0).T
    c_n = ws.array("c_n", (H, batch), dtype)
    rows = ws.array("rows", (steps, 6 * H, batch), dtype)
    _forward_loop(z, W_scaled, c0_fm, rows, h_cols, c_n, ws)

    cache = FastLSTMCache(z, rows, c0_fm, W, W_scaled, c_n, perm, ws)
    out = z[1:, :, h_cols].transpose(1, 0, 2).copy()                  # (B, T, H)
    return out, c_n.T.copy(), cache                       # never a view of the workspace


#: a block of steps for the weight gradients has at least this many steps and columns
#: (steps times B): at B = 32, 16 steps; at B = 256, 8; at B = 1, all steps, one product
BLOCK_STEPS, BLOCK_COLUMNS = 8, 512


def block_steps(steps: int, batch: int) -> int:
    """Steps per block of backward's weight-gradient products (see :data:`BLOCK_STEPS`)."""
    return min(steps, max(BLOCK_STEPS, -(-BLOCK_COLUMNS // batch)))


def _backward_views(rows):
    """Per step: slots 5 and 0, slot 5, slots 1-4 as (4, H, B), slots 0-3, slot 4."""
    H, batch = rows.shape[1] // 6, rows.shape[2]
    views = []
    for r in rows:
        slots = r.reshape(6, H, batch)
        views.append((slots[5::-5], r[5 * H:], slots[1:5], r[:4 * H], r[4 * H:5 * H]))
    return views


def lstm_backward_fast(dh, cache: FastLSTMCache, dh_n=None, dc_n=None):
    """Vectorised :func:`lstm.lstm_backward`; returns the same ``LSTMGrads``."""

    k = cache
    steps = k.z.shape[0] - 1
    H, batch = k.c0.shape
    dtype = k.z.dtype
    check_gradient_shape(dh, (batch, steps, H), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, (batch, H), name)
    inputs = k.z.shape[2]
    features = inputs - 1 - H
    if k.rows_hold != "coefficients":     # a previous backward turned them into gradients
        _forward_loop(k.z, k.W_scaled, k.c0, k.rows, slice(features + 1, inputs), k.c_n,
                      k.workspace)
    k.rows_hold = "gradients"
    ws = k.workspace
    W_hh_T = ws.array("W_hh_T", (H, 4 * H), dtype)
    W_hh_T[...] = k.W[:, features + 1:].T
    dh = np.asarray(dh)
    dh_prev = ws.array("dh_prev", (H, batch), dtype)   # C-contiguous: matmul writes into it
    if dh_n is None:
        dh_prev[...] = 0
    else:
        dh_prev[...] = np.asarray(dh_n).T
    dh_t = ws.array("dh_t", (H, batch), dtype)
    dc = np.zeros((H, batch), dtype) if dc_n is None else np.asarray(dc_n, dtype).T
    dh_steps = dh.transpose(1, 2, 0)                              # (T, H, B), a view
    # in place, step t's block becomes [da_o, da_i, da_f, da_g, dc_{t-1}, dc_t]
    per_step = ws.views("backward", (k.rows,), lambda: _backward_views(k.rows))
    mul, add, matmul = np.multiply, np.add, np.matmul
    # every `block` steps, the block's gradients are copied side by side, (4H, block*B),
    # while in the cache, and give their share of the weight gradients (one product,
    # summed over blocks) and of dx (one product)
    block = block_steps(steps, batch)
    d_block = ws.array("d_block", (4 * H, block, batch), dtype)
    dW = ws.array("dW", (4 * H, inputs), dtype)
    dW_part = ws.array("dW_part", (4 * H, inputs), dtype)
    dx = ws.array("dx", (steps, batch, features), dtype)
    z_flat = k.z[:steps].reshape(steps * batch, inputs)
    dx_flat = dx.reshape(steps * batch, features)
    first = True
    for t in reversed(range(steps)):
        ends, dc_t, kappa, da, dc_before = per_step[t]
        add(dh_steps[t], dh_prev, out=dh_t)                       # from above and t+1
        mul(ends, dh_t, out=ends)                                 # [dh eta_c, da_o]
        dc_t += dc                                                # dc_t
        mul(kappa, dc_t, out=kappa)                               # [da_i, da_f, da_g, dc_{t-1}]
        matmul(W_hh_T, da, out=dh_prev)                           # dh_{t-1}
        dc = dc_before
        if t % block == 0:
            t1 = min(steps, t + block)
            n = t1 - t
            np.copyto(d_block[:, :n], k.rows[t:t1, :4 * H].transpose(1, 0, 2))
            d_flat = d_block.reshape(4 * H, block * batch)[:, :n * batch]
            cols = slice(t * batch, t1 * batch)
            matmul(d_flat, z_flat[cols], out=dW if first else dW_part)
            if not first:
                dW += dW_part
            first = False
            matmul(d_flat.T, k.W[:, :features], out=dx_flat[cols])

    dW_ih, dW_hh, db = (np.empty((4 * H, features), dtype), np.empty((4 * H, H), dtype),
                        np.empty(4 * H, dtype))
    dW_ih[k.permutation] = dW[:, :features]
    db[k.permutation] = dW[:, features]
    dW_hh[k.permutation] = dW[:, features + 1:]
    # copies (not ascontiguousarray): at B = 1 a transpose is contiguous, and the workspace
    # itself would be returned
    return LSTMGrads(dx.transpose(1, 0, 2).copy(), dh_prev.T.copy(),
                     dc.T.copy(), dW_ih, dW_hh, db, db.copy())
