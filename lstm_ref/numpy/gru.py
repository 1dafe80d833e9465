r"""GRU in NumPy: one time step, one sequence, and the stacked model.

Gate blocks r, z, n stacked in ``W_ih`` (3H, D) and ``W_hh`` (3H, H), as in
``torch.nn.GRU``. Two forms of the candidate share the same parameters:

.. math::

    r_t &= \sigma(W_{xr} x_t + b_{xr} + W_{hr} h_{t-1} + b_{hr}) \\
    z_t &= \sigma(W_{xz} x_t + b_{xz} + W_{hz} h_{t-1} + b_{hz}) \\
    n_t &= \tanh(W_{xn} x_t + b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))
        \quad\text{(reset_after=True: PyTorch, cuDNN)} \\
    n_t &= \tanh(W_{xn} x_t + b_{xn} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})
        \quad\text{(reset_after=False: Cho et al., 2014)} \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

The first form applies the reset gate after the recurrent matmul, so all three recurrent
products come from one ``h_{t-1} @ W_hh.T``; the second needs r_t before it can multiply.

Backward through one step, given :math:`\delta h_t`:
:math:`\delta n = \delta h_t (1 - z_t)`, :math:`\delta z = \delta h_t (h_{t-1} - n_t)`,
:math:`\delta h_{t-1} \mathrel{+}= \delta h_t z_t`; then through tanh and σ, and for
reset_after=True :math:`\delta r = \delta a_n \odot (W_{hn} h_{t-1} + b_{hn})`, for
reset_after=False :math:`\delta r = (\delta a_n W_{hn}) \odot h_{t-1}`.

The readable functions here loop over :func:`gru_step_forward`; ``gru_fast.py`` holds an
equivalent, faster sequence path (both forms) that :class:`GRU` uses by default.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 4
(``book/04_variants.ipynb``, section *1. The gated recurrent unit*); its twin
``lstm_ref/torch/gru.py``; tests ``tests/numpy/test_numpy_gru.py``,
``tests/numpy/test_numpy_gru_fast.py``; exercise
``exercises/04_variants``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs
from .activations import sigmoid, sigmoid_backward, tanh, tanh_backward
from .gru_fast import GRUGrads, gru_backward_fast, gru_forward_fast
from .stack import CellSpec, RecurrentStack


@dataclass(frozen=True)
class GRUStepCache:
    """What :func:`gru_step_backward` needs from the forward step."""

    x_t: np.ndarray             # (B, D)
    h_prev: np.ndarray          # (B, H)
    r: np.ndarray               # (B, H) reset gate
    z: np.ndarray               # (B, H) update gate
    n: np.ndarray               # (B, H) candidate
    recurrent_n: np.ndarray     # (B, H) W_hn h_{t-1} + b_hn (reset_after) or r * h_{t-1}
    W_ih: np.ndarray            # (3H, D)
    W_hh: np.ndarray            # (3H, H)
    reset_after: bool


class GRUStepGrads(NamedTuple):
    dx_t: np.ndarray      # (B, D)
    dh_prev: np.ndarray   # (B, H)
    dW_ih: np.ndarray     # (3H, D)
    dW_hh: np.ndarray     # (3H, H)
    db_ih: np.ndarray     # (3H,)
    db_hh: np.ndarray     # (3H,)


def gru_step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, reset_after=True):
    """One GRU step (equations in the module docstring).

    Inputs:
        x_t: (B, D); h_prev: (B, H).
        W_ih: (3H, D), W_hh: (3H, H), b_ih, b_hh: (3H,) -- gate blocks r, z, n.
        reset_after: True for PyTorch's form, False for the classic (Cho et al.) form.
    Returns:
        h_t (B, H) and a :class:`GRUStepCache`.
    """
    check_step_inputs(3, x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
    H = h_prev.shape[1]
    x_r, x_z, x_n = np.split(x_t @ W_ih.T + b_ih, 3, axis=1)
    if reset_after:
        h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        recurrent_n = h_n
    else:
        h_r, h_z = np.split(h_prev @ W_hh[:2 * H].T + b_hh[:2 * H], 2, axis=1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        recurrent_n = r * h_prev
        n = tanh(x_n + recurrent_n @ W_hh[2 * H:].T + b_hh[2 * H:])
    h_t = (1.0 - z) * n + z * h_prev
    return h_t, GRUStepCache(x_t, h_prev, r, z, n, recurrent_n, W_ih, W_hh, reset_after)


def gru_step_backward(dh_t, cache: GRUStepCache) -> GRUStepGrads:
    """Backward through one GRU step.

    Inputs:
        dh_t: (B, H) total gradient reaching h_t; cache: from :func:`gru_step_forward`.
    Returns:
        :class:`GRUStepGrads` ``(dx_t, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    k = cache
    check_gradient_shape(dh_t, k.h_prev.shape, "dh_t")
    H = k.h_prev.shape[1]
    da_n = tanh_backward(dh_t * (1.0 - k.z), k.n)            # through n's tanh
    da_z = sigmoid_backward(dh_t * (k.h_prev - k.n), k.z)
    dh_prev = dh_t * k.z
    if k.reset_after:
        da_r = sigmoid_backward(da_n * k.recurrent_n, k.r)
        d_recurrent = np.concatenate([da_r, da_z, da_n * k.r], axis=1)   # d(h W_hh^T + b_hh)
        dh_prev = dh_prev + d_recurrent @ k.W_hh
        dW_hh = d_recurrent.T @ k.h_prev
        db_hh = d_recurrent.sum(axis=0)
    else:
        d_reset_h = da_n @ k.W_hh[2 * H:]                         # d(r * h_{t-1})
        da_r = sigmoid_backward(d_reset_h * k.h_prev, k.r)
        d_gates = np.concatenate([da_r, da_z], axis=1)
        dh_prev = dh_prev + d_gates @ k.W_hh[:2 * H] + d_reset_h * k.r
        dW_hh = np.concatenate([d_gates.T @ k.h_prev, da_n.T @ k.recurrent_n], axis=0)
        db_hh = np.concatenate([d_gates.sum(axis=0), da_n.sum(axis=0)])
    d_input = np.concatenate([da_r, da_z, da_n], axis=1)          # d(x W_ih^T + b_ih)
    return GRUStepGrads(
        dx_t=d_input @ k.W_ih,
        dh_prev=dh_prev,
        dW_ih=d_input.T @ k.x_t,
        dW_hh=dW_hh,
        db_ih=d_input.sum(axis=0),
        db_hh=db_hh,
    )


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, reset_after=True):
    """Run the GRU over a sequence (one layer, one direction).

    Inputs:
        x: (B, T, D); h0: (B, H); weights as in :func:`gru_step_forward`.
    Returns:
        h: (B, T, H) hidden states h_1..h_T and the list of T step caches.
    """
    check_sequence_inputs(x, h0)
    batch, steps, _ = x.shape
    h = np.empty((batch, steps, h0.shape[1]), dtype=x.dtype)
    caches = []
    h_t = h0
    for t in range(steps):
        h_t, cache = gru_step_forward(x[:, t], h_t, W_ih, W_hh, b_ih, b_hh, reset_after)
        h[:, t] = h_t
        caches.append(cache)
    return h, caches


def gru_backward(dh, caches, dh_n=None) -> GRUGrads:
    """Backpropagation through time for :func:`gru_forward`.

    Inputs:
        dh: (B, T, H) gradient with respect to every h_t from above; caches: from
        :func:`gru_forward`; dh_n: optional (B, H) gradient with respect to h_T.
    Returns:
        :class:`GRUGrads` ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    first = caches[0]
    check_gradient_shape(dh, (first.h_prev.shape[0], len(caches), first.h_prev.shape[1]), "dh")
    if dh_n is not None:
        check_gradient_shape(dh_n, first.h_prev.shape, "dh_n")
    dx = np.empty(dh.shape[:2] + first.x_t.shape[1:], dtype=dh.dtype)
    dW_ih = np.zeros_like(first.W_ih, dtype=dh.dtype)
    dW_hh = np.zeros_like(first.W_hh, dtype=dh.dtype)
    db_ih = np.zeros(first.W_ih.shape[0], dtype=dh.dtype)
    db_hh = np.zeros(first.W_hh.shape[0], dtype=dh.dtype)
    dh_next = np.zeros_like(dh[:, 0]) if dh_n is None else dh_n
    for t in reversed(range(len(caches))):
        step = gru_step_backward(dh[:, t] + dh_next, caches[t])
        dx[:, t] = step.dx_t
        dh_next = step.dh_prev
        dW_ih += step.dW_ih
        dW_hh += step.dW_hh
        db_ih += step.db_ih
        db_hh += step.db_hh
    return GRUGrads(dx, dh_next, dW_ih, dW_hh, db_ih, db_hh)


def _direction_forward(x, state, params, reset_after, fast, previous=None):
    weights = (params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"])
    if fast:
        # recycle the buffers of this layer/direction's previous (now stale) cache
        workspace = previous[1].workspace if previous is not None and previous[0] else None
        h, cache = gru_forward_fast(x, state[0], *weights, reset_after, workspace=workspace)
    else:
        h, cache = gru_forward(x, state[0], *weights, reset_after)
    return h, (h[:, -1],), (fast, cache)


def _direction_backward(dout, dfinal, cache):
    fast, inner = cache
    g = (gru_backward_fast if fast else gru_backward)(dout, inner, dh_n=dfinal[0])
    return g.dx, (g.dh0,), {"weight_ih": g.dW_ih, "weight_hh": g.dW_hh,
                            "bias_ih": g.db_ih, "bias_hh": g.db_hh}


class GRU(RecurrentStack):
    r"""Multi-layer GRU, parameter-compatible with ``torch.nn.GRU(batch_first=True)``.

    .. math::

        r_t, z_t = \sigma(\dots),\;
        n_t = \tanh(W_{xn} x_t + b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn})),\;
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Args:
        input_size, hidden_size, num_layers, bidirectional: as for :class:`~lstm_ref.numpy.LSTM`.
        reset_after: True (default) is PyTorch's GRU; False is the classic form
            n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn), same parameters.
        seed / rng, dtype: as for the other models.
        fast: use the vectorised sequence path of ``gru_fast.py`` (default, both forms)
            instead of looping over :func:`gru_step_forward`; both give the same numbers.
            As for the LSTM, the fast path recycles the buffers of the previous forward
            call; returned arrays are always new.

    ``forward(x, h0=None) -> out, h_n``; ``backward(dout, dh_n=None) -> dx, dh0``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, *,
                 reset_after=True, seed=None, rng=None, dtype=np.float64, fast=True):
        self.reset_after = bool(reset_after)
        self.fast = bool(fast)
        cell = CellSpec(gate_count=3, state_names=("h0",), forward=self._run_direction,
                        backward=_direction_backward, recycles_cache=True)
        super().__init__(cell, input_size, hidden_size, num_layers, bidirectional,
                         seed=seed, rng=rng, dtype=dtype)

    def _run_direction(self, x, state, params, previous=None):
        return _direction_forward(x, state, params, self.reset_after, self.fast, previous)

    def forward(self, x, state=None):
        """Returns ``out, h_n``; ``state`` is h0 of shape (num_layers*num_directions, B, H)."""
        out, (h_n,) = self._forward(x, state)
        return out, h_n

    def backward(self, dout, dstate=None):
        """Returns ``dx, dh0``; ``dstate`` is the gradient with respect to h_n (or None)."""
        dx, (dh0,) = self._backward(dout, dstate)
        return dx, dh0
