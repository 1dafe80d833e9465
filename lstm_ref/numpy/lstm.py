r"""LSTM in NumPy: one time step, one sequence, and the stacked model.

Notation (the book's, gate order as in ``torch.nn.LSTM``): B batch, T time steps,
D input features, H hidden units; ``W_ih`` (4H, D) and ``W_hh`` (4H, H) stack the gate
blocks i, f, g, o.

.. math::

    i_t &= \sigma(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi}) \\
    f_t &= \sigma(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf}) \\
    g_t &= \tanh(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}) \\
    o_t &= \sigma(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho}) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)

Backward through one step, given :math:`\delta h_t = \partial L/\partial h_t` and
:math:`\delta c_t` (the gradient reaching :math:`c_t` from step t+1):

.. math::

    \delta o_t &= \delta h_t \odot \tanh(c_t), \qquad
    \delta c = \delta c_t + \delta h_t \odot o_t \odot (1 - \tanh^2 c_t) \\
    \delta i_t &= \delta c \odot g_t, \quad \delta f_t = \delta c \odot c_{t-1}, \quad
    \delta g_t = \delta c \odot i_t, \quad \delta c_{t-1} = \delta c \odot f_t

then through the nonlinearities (:math:`\sigma' = \sigma(1-\sigma)`,
:math:`\tanh' = 1 - \tanh^2`) to the pre-activations :math:`\delta a_t` (B, 4H), and
:math:`\delta x_t = \delta a_t W_{ih}`, :math:`\delta h_{t-1} = \delta a_t W_{hh}`,
:math:`\delta W_{ih} = \delta a_t^\top x_t`, :math:`\delta W_{hh} = \delta a_t^\top h_{t-1}`.

The readable functions here loop over :func:`lstm_step_forward`; ``lstm_fast.py`` holds
an equivalent, faster sequence path that :class:`LSTM` uses by default.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 2
(``book/02_lstm_cell.ipynb``, section *The six equations*) and chapter 3 for the
backward pass; its twin ``lstm_ref/torch/lstm.py``; tests
``tests/numpy/test_numpy_lstm.py``; exercise ``exercises/02_lstm_cell``,
``exercises/03_bptt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs
from .activations import sigmoid, sigmoid_backward, tanh, tanh_backward
from .lstm_fast import LSTMGrads, lstm_backward_fast, lstm_forward_fast
from .stack import CellSpec, RecurrentStack


@dataclass(frozen=True)
class LSTMStepCache:
    """What :func:`lstm_step_backward` needs from the forward step."""

    x_t: np.ndarray       # (B, D)
    h_prev: np.ndarray    # (B, H)
    c_prev: np.ndarray    # (B, H)
    i: np.ndarray         # (B, H) input gate
    f: np.ndarray         # (B, H) forget gate
    g: np.ndarray         # (B, H) candidate
    o: np.ndarray         # (B, H) output gate
    tanh_c: np.ndarray    # (B, H) tanh(c_t)
    W_ih: np.ndarray      # (4H, D)
    W_hh: np.ndarray      # (4H, H)


class LSTMStepGrads(NamedTuple):
    dx_t: np.ndarray      # (B, D)
    dh_prev: np.ndarray   # (B, H)
    dc_prev: np.ndarray   # (B, H)
    dW_ih: np.ndarray     # (4H, D)
    dW_hh: np.ndarray     # (4H, H)
    db_ih: np.ndarray     # (4H,)
    db_hh: np.ndarray     # (4H,)


def lstm_step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step (equations in the module docstring).

    Inputs:
        x_t: (B, D); h_prev, c_prev: (B, H) -- h_{t-1} and c_{t-1}.
        W_ih: (4H, D), W_hh: (4H, H), b_ih, b_hh: (4H,) -- gate blocks i, f, g, o.
    Returns:
        h_t (B, H), c_t (B, H) and an :class:`LSTMStepCache`.
    """
    check_step_inputs(4, x_t, h_prev, W_ih, W_hh, b_ih, b_hh, c_prev=c_prev)
    a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh          # (B, 4H) pre-activations
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f * c_prev + i * g
    tanh_c = tanh(c_t)
    h_t = o * tanh_c
    return h_t, c_t, LSTMStepCache(x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_ih, W_hh)


def lstm_step_backward(dh_t, dc_t, cache: LSTMStepCache) -> LSTMStepGrads:
    """Backward through one LSTM step.

    Inputs:
        dh_t: (B, H) total gradient reaching h_t (output at t plus step t+1).
        dc_t: (B, H) gradient reaching c_t from step t+1.
        cache: from :func:`lstm_step_forward`.
    Returns:
        :class:`LSTMStepGrads` ``(dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    k = cache
    check_gradient_shape(dh_t, k.tanh_c.shape, "dh_t")
    check_gradient_shape(dc_t, k.tanh_c.shape, "dc_t")
    do = dh_t * k.tanh_c
    dc = dc_t + tanh_backward(dh_t * k.o, k.tanh_c)          # all paths into c_t
    di, df, dg = dc * k.g, dc * k.c_prev, dc * k.i
    da = np.concatenate([sigmoid_backward(di, k.i), sigmoid_backward(df, k.f),
                         tanh_backward(dg, k.g), sigmoid_backward(do, k.o)], axis=1)
    db = da.sum(axis=0)
    return LSTMStepGrads(
        dx_t=da @ k.W_ih,
        dh_prev=da @ k.W_hh,
        dc_prev=dc * k.f,
        dW_ih=da.T @ k.x_t,
        dW_hh=da.T @ k.h_prev,
        db_ih=db,
        db_hh=db.copy(),
    )


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Run the LSTM over a sequence (one layer, one direction), step by step.

    Inputs:
        x: (B, T, D); h0, c0: (B, H); weights as in :func:`lstm_step_forward`.
    Returns:
        h: (B, T, H) hidden states h_1..h_T, c_n: (B, H) final cell state, and the list
        of T step caches.
    """
    check_sequence_inputs(x, h0)
    batch, steps, _ = x.shape
    h = np.empty((batch, steps, h0.shape[1]), dtype=x.dtype)
    caches = []
    h_t, c_t = h0, c0
    for t in range(steps):
        h_t, c_t, cache = lstm_step_forward(x[:, t], h_t, c_t, W_ih, W_hh, b_ih, b_hh)
        h[:, t] = h_t
        caches.append(cache)
    return h, c_t, caches


def lstm_backward(dh, caches, dh_n=None, dc_n=None) -> LSTMGrads:
    """Backpropagation through time for :func:`lstm_forward`.

    Inputs:
        dh: (B, T, H) gradient with respect to every h_t from above (the outputs).
        caches: from :func:`lstm_forward`.
        dh_n, dc_n: optional (B, H) gradients with respect to the final h_T and c_T.
    Returns:
        :class:`LSTMGrads` ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    first = caches[0]
    state_shape = first.tanh_c.shape
    check_gradient_shape(dh, (state_shape[0], len(caches), state_shape[1]), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, state_shape, name)
    dx = np.empty(dh.shape[:2] + first.x_t.shape[1:], dtype=dh.dtype)
    dW_ih = np.zeros_like(first.W_ih, dtype=dh.dtype)
    dW_hh = np.zeros_like(first.W_hh, dtype=dh.dtype)
    db = np.zeros(first.W_hh.shape[0], dtype=dh.dtype)
    dh_next = np.zeros_like(dh[:, 0]) if dh_n is None else dh_n
    dc_next = np.zeros_like(dh[:, 0]) if dc_n is None else dc_n
    for t in reversed(range(len(caches))):
        step = lstm_step_backward(dh[:, t] + dh_next, dc_next, caches[t])
        dx[:, t] = step.dx_t
        dh_next, dc_next = step.dh_prev, step.dc_prev
        dW_ih += step.dW_ih
        dW_hh += step.dW_hh
        db += step.db_ih
    return LSTMGrads(dx, dh_next, dc_next, dW_ih, dW_hh, db, db.copy())


def _direction_forward(x, state, params, fast, previous=None):
    weights = (params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"])
    if fast:
        # recycle the buffers of this layer/direction's previous (now stale) cache
        workspace = previous[1].workspace if previous is not None and previous[0] else None
        h, c_n, cache = lstm_forward_fast(x, state[0], state[1], *weights, workspace=workspace)
    else:
        h, c_n, cache = lstm_forward(x, state[0], state[1], *weights)
    return h, (h[:, -1], c_n), (fast, cache)


def _direction_backward(dout, dfinal, cache):
    fast, inner = cache
    run = lstm_backward_fast if fast else lstm_backward
    g = run(dout, inner, dh_n=dfinal[0], dc_n=dfinal[1])
    return g.dx, (g.dh0, g.dc0), {"weight_ih": g.dW_ih, "weight_hh": g.dW_hh,
                                  "bias_ih": g.db_ih, "bias_hh": g.db_hh}


class LSTM(RecurrentStack):
    r"""Multi-layer LSTM, parameter-compatible with ``torch.nn.LSTM(batch_first=True)``.

    .. math::

        i_t, f_t, o_t = \sigma(W_{x\ast} x_t + b_{x\ast} + W_{h\ast} h_{t-1} + b_{h\ast}),\;
        g_t = \tanh(\dots),\;
        c_t = f_t \odot c_{t-1} + i_t \odot g_t,\; h_t = o_t \odot \tanh(c_t)

    Args:
        input_size: D. hidden_size: H. num_layers: stacked layers. bidirectional: add a
            layer reading the reversed sequence (outputs concatenated, 2H features).
        seed / rng: for the U(-1/sqrt(H), 1/sqrt(H)) initialisation (give at most one).
        dtype: of the parameters; computations follow the input's dtype.
        fast: use the vectorised sequence path of ``lstm_fast.py`` (default) instead of
            looping over :func:`lstm_step_forward`; both give the same numbers. The fast
            path recycles the internal buffers of the previous forward call (only the
            last call can be backpropagated anyway); returned arrays are always new.

    ``forward(x (B, T, D), (h0, c0)=None) -> out (B, T, num_directions*H), (h_n, c_n)``
    with states of shape (num_layers*num_directions, B, H);
    ``backward(dout, (dh_n, dc_n)=None) -> dx, (dh0, dc0)`` and fills ``self.grads``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, *,
                 seed=None, rng=None, dtype=np.float64, fast=True):
        self.fast = bool(fast)
        cell = CellSpec(gate_count=4, state_names=("h0", "c0"), forward=self._run_direction,
                        backward=_direction_backward, recycles_cache=True)
        super().__init__(cell, input_size, hidden_size, num_layers, bidirectional,
                         seed=seed, rng=rng, dtype=dtype)

    def _run_direction(self, x, state, params, previous=None):
        return _direction_forward(x, state, params, self.fast, previous)

    def forward(self, x, state=None):
        """Returns ``out, (h_n, c_n)``; ``state`` is ``(h0, c0)`` or None (zeros)."""
        out, (h_n, c_n) = self._forward(x, state)
        return out, (h_n, c_n)

    def backward(self, dout, dstate=None):
        """Returns ``dx, (dh0, dc0)``; ``dstate`` is ``(dh_n, dc_n)`` or None."""
        dx, (dh0, dc0) = self._backward(dout, dstate)
        return dx, (dh0, dc0)
