r"""A fast GRU sequence path: same numbers as :func:`gru.gru_forward`, less overhead.

The readable path in ``gru.py`` loops over :func:`gru.gru_step_forward`, which allocates
a dozen small arrays per step. Here, with the tricks of ``lstm_fast.py``:

* the input projections of all time steps are computed up front, with ``b_ih`` as an
  extra weight column against a row of ones under each x_t; the recurrent biases
  ``b_hh`` ride the same way on a row of ones under each h, so the one product left
  inside the loop gives :math:`a^h_t = W_h h_{t-1} + b_h` whole (``b_hn`` must stay
  inside it: the reset gate multiplies it);
* every buffer is allocated once and the loop works in place (``out=`` arguments); a
  :class:`~lstm_ref.numpy.lstm_fast.Workspace` lets repeated calls reuse the buffers;
* states are feature-major, (H, B) per step: a gate is a block of rows, contiguous;
  x, the outputs and their gradients change layout one step at a time (a single
  transposing copy of a whole (T, F, B) array is several times slower);
* the r and z rows of the weights are pre-scaled by 1/2 so that one ``tanh`` gives
  both sigmoids, :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))`;
* backward: every local derivative of the GRU depends on forward values only, so the
  coefficients that turn :math:`\delta h_t` into the pre-activation gradients are
  computed for all steps at once, before the loop. For PyTorch's form
  (``reset_after=True``), with :math:`A_t = (1 - z_t)(1 - n_t^2)`:

  .. math::

      \delta a^h_t = \begin{bmatrix} A_t\, (W_{hn} h_{t-1} + b_{hn})\, r_t (1 - r_t) \\
          (h_{t-1} - n_t)\, z_t (1 - z_t) \\ A_t\, r_t \end{bmatrix} \odot \delta h_t,
      \qquad
      \delta h_{t-1} = \delta \mathrm{out}_{t-1} + W_h^\top \delta a^h_t
          + z_t \odot \delta h_t

  so a step costs one broadcast product, one matrix product, one product for
  :math:`z_t \odot \delta h_t` and two additions. The input side differs only in its
  n block, :math:`\delta a^x_{t,n} = A_t \delta h_t`;
* after the loop the gradients of all steps are laid side by side, (3H, T*B), and each
  weight gradient (with its bias as the extra column) is one matrix product:
  :math:`\delta W_h = \sum_t \delta a^h_t h_{t-1}^\top`,
  :math:`\delta W_x = \sum_t \delta a^x_t x_t^\top`, :math:`\delta x = \delta a^x W_x`.

The classic form (``reset_after=False``, Cho et al.) needs :math:`r_t` before its second
recurrent product :math:`W_{hn} (r_t \odot h_{t-1})`, so its loop makes two products
each way; the rest is shared.

Shapes and return values are those of :func:`gru.gru_forward` / :func:`gru.gru_backward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs
from .lstm_fast import Workspace, _batch_major


class GRUGrads(NamedTuple):
    """What :func:`lstm_ref.numpy.gru.gru_backward` and :func:`gru_backward_fast` return
    (defined here so that ``gru.py`` imports this module and not the other way round)."""
    dx: np.ndarray        # (B, T, D)
    dh0: np.ndarray       # (B, H)
    dW_ih: np.ndarray     # (3H, D)
    dW_hh: np.ndarray     # (3H, H)
    db_ih: np.ndarray     # (3H,)
    db_hh: np.ndarray     # (3H,)


@dataclass
class FastGRUCache:
    """What :func:`gru_backward_fast` needs from :func:`gru_forward_fast` (it only reads
    these arrays, so backward may run more than once on one cache)."""

    x: np.ndarray            # (T, D+1, B) input, feature-major, with a row of ones (b_ih)
    h: np.ndarray            # (T+1, H+1, B) h_0..h_T feature-major, last row ones (b_hh)
    gates: np.ndarray        # (T, 3H, B) r, z, n
    recurrent: np.ndarray    # (T, 3H, B) W_hh h_{t-1} + b_hh (n rows: see reset_h)
    reset_h: np.ndarray | None  # (T, H+1, B) r_t * h_{t-1} and ones (reset_after=False)
    W_ih: np.ndarray         # (3H, D), as given, in the input's dtype
    W_hh: np.ndarray         # (3H, H)
    reset_after: bool
    workspace: Workspace     # owns the arrays above; reused by the next call that gets it


def gru_forward_fast(x, h0, W_ih, W_hh, b_ih, b_hh, reset_after=True,
                     workspace: Workspace | None = None):
    """Vectorised :func:`gru.gru_forward`: returns h (B, T, H) and a :class:`FastGRUCache`.

    Inputs: x (B, T, D); h0 (B, H); W_ih (3H, D), W_hh (3H, H), b_ih, b_hh (3H,), gate
    blocks r, z, n; reset_after as in :func:`gru.gru_step_forward`. ``workspace``: an
    optional :class:`~lstm_ref.numpy.lstm_fast.Workspace` whose buffers may be
    overwritten, e.g. the ``cache.workspace`` of a previous call no longer needed.
    Computes in x's dtype (h0 and the weights are cast to it, as the models cast their
    parameters), where the readable path would promote mixed dtypes to the wider one.
    """
    check_sequence_inputs(x, h0)
    check_step_inputs(3, x[:, 0], h0, W_ih, W_hh, b_ih, b_hh)
    x = np.asarray(x)
    batch, steps, features = x.shape
    H = np.shape(h0)[1]
    dtype = x.dtype
    W_ih, W_hh, b_ih, b_hh = (np.asarray(w, dtype) for w in (W_ih, W_hh, b_ih, b_hh))
    scale = np.ones((3 * H, 1), dtype=dtype)
    scale[:2 * H] = 0.5                                   # r, z rows: tanh(a / 2)

    ws = Workspace() if workspace is None else workspace
    # x feature-major with a row of ones, (T, D+1, B); copied step by step (see
    # _batch_major) and kept for backward
    x_fm = ws.array("x", (steps, features + 1, batch), dtype)
    for t in range(steps):
        x_fm[t, :features] = x[:, t].T
    x_fm[:, features] = 1
    # a^x_t for all t, (T, 3H, B), b_ih included, r and z rows halved
    gates = ws.array("gates", (steps, 3 * H, batch), dtype)
    W_x = np.concatenate([W_ih, b_ih[:, None]], axis=1) * scale
    np.matmul(W_x, x_fm, out=gates)
    W_h = np.concatenate([W_hh, b_hh[:, None]], axis=1) * scale        # (3H, H+1)
    W_h_rz, W_h_n = W_h[:2 * H], W_h[2 * H:]

    h = ws.array("h", (steps + 1, H + 1, batch), dtype)
    h[0, :H] = np.asarray(h0).T
    h[:, H] = 1
    recurrent = ws.array("recurrent", (steps, 3 * H, batch), dtype)
    reset_h = None
    if not reset_after:
        reset_h = ws.array("reset_h", (steps, H + 1, batch), dtype)
        reset_h[:, H] = 1
    work = np.empty((H, batch), dtype=dtype)
    for t in range(steps):
        a, rec = gates[t], recurrent[t]
        if reset_after:
            np.matmul(W_h, h[t], out=rec)
        else:
            np.matmul(W_h_rz, h[t], out=rec[:2 * H])
        rz = a[:2 * H]
        rz += rec[:2 * H]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                         # r, z = sigma(.)
        r, z, n = a[:H], a[H:2 * H], a[2 * H:]
        if reset_after:
            np.multiply(r, rec[2 * H:], out=work)         # r * (W_hn h + b_hn)
            n += work
        else:
            np.multiply(r, h[t, :H], out=reset_h[t, :H])
            np.matmul(W_h_n, reset_h[t], out=rec[2 * H:])  # W_hn (r * h) + b_hn
            n += rec[2 * H:]
        np.tanh(n, out=n)
        np.subtract(h[t, :H], n, out=work)
        work *= z
        np.add(n, work, out=h[t + 1, :H])                 # h_t = n + z (h_{t-1} - n)

    cache = FastGRUCache(x_fm, h, gates, recurrent, reset_h, W_ih, W_hh,
                         bool(reset_after), ws)
    return _batch_major(h[1:, :H], np.empty((x.shape[0], x.shape[1], H), h.dtype)), cache


def _coefficients(k: FastGRUCache, ws: Workspace):
    r"""Local derivatives of every step, computed before the loop.

    Returns ``A = (1 - z)(1 - n^2)`` (T, H, B) and ``coef`` (T, 3, H, B) with blocks

    * r: :math:`A \, (W_{hn} h_{t-1} + b_{hn})\, r (1 - r)` for reset_after=True
      (:math:`\delta a_r` = this times :math:`\delta h_t`), :math:`h_{t-1} r (1 - r)`
      for reset_after=False (times :math:`W_{hn}^\top \delta a_n`);
    * z: :math:`(h_{t-1} - n)\, z (1 - z)`, so that :math:`\delta a_z` = this times
      :math:`\delta h_t`;
    * n: :math:`A r` for reset_after=True (the gradient of the recurrent product
      :math:`W_{hn} h_{t-1} + b_{hn}` per :math:`\delta h_t`), :math:`A` otherwise.
    """
    steps, three_h, batch = k.gates.shape
    H = three_h // 3
    dtype = k.gates.dtype
    r, z, n = k.gates[:, :H], k.gates[:, H:2 * H], k.gates[:, 2 * H:]
    h_prev = k.h[:steps, :H]
    work = ws.array("work", (steps, H, batch), dtype)
    coef = ws.array("coef", (steps, 3, H, batch), dtype)
    coef_r, coef_z, coef_n = coef[:, 0], coef[:, 1], coef[:, 2]
    A = ws.array("A", (steps, H, batch), dtype) if k.reset_after else coef_n
    np.multiply(n, n, out=A)
    np.subtract(1, A, out=A)
    np.subtract(1, z, out=work)
    A *= work                                             # (1 - z)(1 - n^2)
    np.multiply(work, z, out=coef_z)                      # z (1 - z)
    np.subtract(h_prev, n, out=work)
    coef_z *= work                                        # (h_{t-1} - n) z (1 - z)
    np.subtract(1, r, out=coef_r)
    if k.reset_after:
        np.multiply(A, r, out=coef_n)
        coef_r *= k.recurrent[:, 2 * H:]
        coef_r *= coef_n                                  # A (W_hn h + b_hn) r (1 - r)
    else:
        coef_r *= r
        coef_r *= h_prev                                  # h_{t-1} r (1 - r)
    return A, coef


def gru_backward_fast(dh, cache: FastGRUCache, dh_n=None) -> GRUGrads:
    """Vectorised :func:`gru.gru_backward`; returns the same :class:`GRUGrads`.

    Inputs: dh (B, T, H) gradient with respect to every h_t from above; cache from
    :func:`gru_forward_fast`; dh_n: optional (B, H) gradient with respect to h_T.
    """
    k = cache
    steps, three_h, batch = k.gates.shape
    H = three_h // 3
    dtype = k.gates.dtype
    check_gradient_shape(dh, (batch, steps, H), "dh")
    if dh_n is not None:
        check_gradient_shape(dh_n, (batch, H), "dh_n")
    ws = k.workspace
    # dh_total[t] (T, H, B): dh from above, plus (filled in by the loop) from step t+1
    dh_total = ws.array("dh", (steps, H, batch), dtype)
    dh = np.asarray(dh)
    for t in range(steps):
        dh_total[t] = dh[:, t].T
    if dh_n is not None:
        dh_total[-1] += np.asarray(dh_n, dtype).T
    A, coef = _coefficients(k, ws)
    z = k.gates[:, H:2 * H]
    # d_pre[t] (3H, B): for reset_after, d(W_hh h + b_hh); else d(W_ih x + b_ih)
    d_pre = ws.array("d_pre", (steps, 3 * H, batch), dtype)
    carry, z_dh = np.empty((H, batch), dtype), np.empty((H, batch), dtype)
    if k.reset_after:
        W_hh_T = np.ascontiguousarray(k.W_hh.T)          # (H, 3H)
    else:
        d_reset_h = np.empty((H, batch), dtype)
        W_hn_T = np.ascontiguousarray(k.W_hh[2 * H:].T)  # (H, H)
        W_rz_T = np.ascontiguousarray(k.W_hh[:2 * H].T)  # (H, 2H)
    for t in reversed(range(steps)):
        dh_t, d = dh_total[t], d_pre[t]
        if k.reset_after:
            np.multiply(coef[t], dh_t, out=d.reshape(3, H, batch))
            np.matmul(W_hh_T, d, out=carry)
        else:
            np.multiply(coef[t, 2], dh_t, out=d[2 * H:])           # da_n
            np.matmul(W_hn_T, d[2 * H:], out=d_reset_h)            # d(r * h_{t-1})
            np.multiply(d_reset_h, coef[t, 0], out=d[:H])          # da_r
            np.multiply(coef[t, 1], dh_t, out=d[H:2 * H])          # da_z
            np.matmul(W_rz_T, d[:2 * H], out=carry)
            d_reset_h *= k.gates[t, :H]
            carry += d_reset_h
        np.multiply(dh_t, z[t], out=z_dh)
        if t:
            carry += dh_total[t - 1]
        np.add(carry, z_dh, out=dh_total[t - 1] if t else carry)   # dh_{t-1}

    # (3H, T*B): each weight gradient is one product over all steps
    d_all = ws.array("d_all", (3 * H, steps, batch), dtype)
    np.copyto(d_all, d_pre.transpose(1, 0, 2))
    d_flat = d_all.reshape(3 * H, steps * batch)
    h_prev = ws.array("h_prev", (H + 1, steps, batch), dtype)
    np.copyto(h_prev, k.h[:steps].transpose(1, 0, 2))
    h_flat = h_prev.reshape(H + 1, steps * batch)
    if k.reset_after:
        dW_hh_bias = d_flat @ h_flat.T                            # (3H, H+1)
        # the input side's n block is A dh (the recurrent one is A r dh)
        np.multiply(A.transpose(1, 0, 2), dh_total.transpose(1, 0, 2), out=d_all[2 * H:])
    else:
        reset_h = ws.array("reset_h_all", (H + 1, steps, batch), dtype)
        np.copyto(reset_h, k.reset_h.transpose(1, 0, 2))
        dW_hh_bias = np.concatenate(
            [d_flat[:2 * H] @ h_flat.T,
             d_flat[2 * H:] @ reset_h.reshape(H + 1, steps * batch).T])
    features = k.x.shape[1] - 1
    x_all = ws.array("x_all", (features + 1, steps, batch), dtype)
    np.copyto(x_all, k.x.transpose(1, 0, 2))
    dW_ih_bias = d_flat @ x_all.reshape(features + 1, steps * batch).T   # (3H, D+1)
    dx = (d_flat.T @ k.W_ih).reshape(steps, batch, features).transpose(1, 0, 2)
    return GRUGrads(np.ascontiguousarray(dx), np.ascontiguousarray(carry.T),
                    np.ascontiguousarray(dW_ih_bias[:, :features]),
                    np.ascontiguousarray(dW_hh_bias[:, :H]),
                    dW_ih_bias[:, features].copy(), dW_hh_bias[:, H].copy())
