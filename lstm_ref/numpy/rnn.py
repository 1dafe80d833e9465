r"""Vanilla (Elman) RNN in NumPy: one time step, one sequence, and the stacked model.

Notation (the book's, and ``torch.nn.RNN``'s): B batch, T time steps, D input features,
H hidden units.

.. math::

    a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}, \qquad h_t = \phi(a_t)

with :math:`\phi = \tanh` (default) or ReLU. Backpropagation through one step, given
:math:`\partial L / \partial h_t`:

.. math::

    \delta_t = \frac{\partial L}{\partial h_t} \odot \phi'(a_t), \quad
    \frac{\partial L}{\partial x_t} = \delta_t W_{ih}, \quad
    \frac{\partial L}{\partial h_{t-1}} = \delta_t W_{hh}, \quad
    \frac{\partial L}{\partial W_{ih}} = \delta_t^\top x_t, \quad
    \frac{\partial L}{\partial W_{hh}} = \delta_t^\top h_{t-1}, \quad
    \frac{\partial L}{\partial b} = \textstyle\sum_{\text{batch}} \delta_t.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 1
(``book/01_rnn_limits.ipynb``, section *The vanilla RNN*); its twin
``lstm_ref/torch/rnn.py``; tests ``tests/numpy/test_numpy_rnn.py``; exercise
``exercises/01_rnn_limits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs
from .activations import relu, relu_backward, tanh, tanh_backward
from .stack import CellSpec, RecurrentStack

NONLINEARITIES = {"tanh": (tanh, tanh_backward), "relu": (relu, relu_backward)}


def _check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


@dataclass(frozen=True)
class RNNStepCache:
    """What :func:`rnn_step_backward` needs from the forward step."""

    x_t: np.ndarray       # (B, D)
    h_prev: np.ndarray    # (B, H)
    h_t: np.ndarray       # (B, H)  phi(a_t): phi' is computed from it
    W_ih: np.ndarray      # (H, D)
    W_hh: np.ndarray      # (H, H)
    nonlinearity: str


class RNNStepGrads(NamedTuple):
    dx_t: np.ndarray      # (B, D)
    dh_prev: np.ndarray   # (B, H)
    dW_ih: np.ndarray     # (H, D)
    dW_hh: np.ndarray     # (H, H)
    db_ih: np.ndarray     # (H,)
    db_hh: np.ndarray     # (H,)


class RNNGrads(NamedTuple):
    dx: np.ndarray        # (B, T, D)
    dh0: np.ndarray       # (B, H)
    dW_ih: np.ndarray
    dW_hh: np.ndarray
    db_ih: np.ndarray
    db_hh: np.ndarray


def rnn_step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One RNN step: h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    Inputs:
        x_t: (B, D) input at time t.
        h_prev: (B, H) hidden state h_{t-1}.
        W_ih: (H, D), W_hh: (H, H), b_ih: (H,), b_hh: (H,) -- torch.nn.RNN's layout.
        nonlinearity: "tanh" or "relu".
    Returns:
        h_t: (B, H) and an :class:`RNNStepCache` for the backward step.
    """
    phi, _ = NONLINEARITIES[_check_nonlinearity(nonlinearity)]
    check_step_inputs(1, x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
    a_t = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    h_t = phi(a_t)
    return h_t, RNNStepCache(x_t, h_prev, h_t, W_ih, W_hh, nonlinearity)


def rnn_step_backward(dh_t, cache: RNNStepCache) -> RNNStepGrads:
    """Backward through one RNN step.

    Inputs:
        dh_t: (B, H) gradient of the loss with respect to h_t (from the output at time t
            plus from step t+1).
        cache: from :func:`rnn_step_forward`.
    Returns:
        :class:`RNNStepGrads` ``(dx_t, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    check_gradient_shape(dh_t, cache.h_t.shape, "dh_t")
    _, phi_backward = NONLINEARITIES[cache.nonlinearity]
    delta = phi_backward(dh_t, cache.h_t)               # dL/da_t, (B, H)
    db = delta.sum(axis=0)
    return RNNStepGrads(
        dx_t=delta @ cache.W_ih,
        dh_prev=delta @ cache.W_hh,
        dW_ih=delta.T @ cache.x_t,
        dW_hh=delta.T @ cache.h_prev,
        db_ih=db,
        db_hh=db.copy(),
    )


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    """Run the RNN over a whole sequence (one layer, one direction).

    Inputs:
        x: (B, T, D) batch-first sequence; h0: (B, H) initial hidden state.
        W_ih, W_hh, b_ih, b_hh: as in :func:`rnn_step_forward`.
    Returns:
        h: (B, T, H) all hidden states h_1..h_T, and the list of T step caches.
    """
    check_sequence_inputs(x, h0)
    batch, steps, _ = x.shape
    h = np.empty((batch, steps, W_hh.shape[0]), dtype=x.dtype)
    caches = []
    h_t = h0
    for t in range(steps):
        h_t, cache = rnn_step_forward(x[:, t], h_t, W_ih, W_hh, b_ih, b_hh, nonlinearity)
        h[:, t] = h_t
        caches.append(cache)
    return h, caches


def rnn_backward(dh, caches, dh_n=None) -> RNNGrads:
    """Backpropagation through time for :func:`rnn_forward`.

    Inputs:
        dh: (B, T, H) gradient of the loss with respect to every h_t, coming from above
            (the outputs), not from the recurrence.
        caches: from :func:`rnn_forward`.
        dh_n: optional (B, H) gradient with respect to the final state h_T.
    Returns:
        :class:`RNNGrads` ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    steps = len(caches)
    first = caches[0]
    check_gradient_shape(dh, (first.h_t.shape[0], steps, first.h_t.shape[1]), "dh")
    if dh_n is not None:
        check_gradient_shape(dh_n, first.h_t.shape, "dh_n")
    dx = np.empty(dh.shape[:2] + first.x_t.shape[1:], dtype=dh.dtype)
    dW_ih = np.zeros_like(first.W_ih, dtype=dh.dtype)
    dW_hh = np.zeros_like(first.W_hh, dtype=dh.dtype)
    db = np.zeros(first.W_hh.shape[0], dtype=dh.dtype)
    dh_next = np.zeros_like(dh[:, 0]) if dh_n is None else dh_n   # gradient from step t+1
    for t in reversed(range(steps)):
        step = rnn_step_backward(dh[:, t] + dh_next, caches[t])
        dx[:, t] = step.dx_t
        dh_next = step.dh_prev
        dW_ih += step.dW_ih
        dW_hh += step.dW_hh
        db += step.db_ih
    return RNNGrads(dx, dh_next, dW_ih, dW_hh, db, db.copy())


def _direction_forward(x, state, params, nonlinearity):
    h, caches = rnn_forward(x, state[0], params["weight_ih"], params["weight_hh"],
                            params["bias_ih"], params["bias_hh"], nonlinearity)
    return h, (h[:, -1],), caches


def _direction_backward(dout, dfinal, caches):
    g = rnn_backward(dout, caches, dh_n=dfinal[0])
    return g.dx, (g.dh0,), {"weight_ih": g.dW_ih, "weight_hh": g.dW_hh,
                            "bias_ih": g.db_ih, "bias_hh": g.db_hh}


class RNN(RecurrentStack):
    r"""Multi-layer Elman RNN, parameter-compatible with ``torch.nn.RNN(batch_first=True)``.

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Args:
        input_size: D. hidden_size: H. num_layers: stacked layers (layer k > 0 reads the
            outputs of layer k - 1). bidirectional: add a layer reading the reversed sequence.
        nonlinearity: "tanh" (default) or "relu".
        seed / rng: for the U(-1/sqrt(H), 1/sqrt(H)) initialisation (give at most one).
        dtype: of the parameters; computations follow the input's dtype.

    ``forward(x (B, T, D), h0=None) -> out (B, T, num_directions*H), h_n
    (num_layers*num_directions, B, H)``; ``backward(dout, dh_n=None) -> dx, dh0`` and
    fills ``self.grads``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, *,
                 nonlinearity="tanh", seed=None, rng=None, dtype=np.float64):
        self.nonlinearity = _check_nonlinearity(nonlinearity)
        cell = CellSpec(gate_count=1, state_names=("h0",),
                        forward=partial(_direction_forward, nonlinearity=nonlinearity),
                        backward=_direction_backward)
        super().__init__(cell, input_size, hidden_size, num_layers, bidirectional,
                         seed=seed, rng=rng, dtype=dtype)

    def forward(self, x, state=None):
        """Returns ``out, h_n``; ``state`` is h0 of shape (num_layers*num_directions, B, H)."""
        out, (h_n,) = self._forward(x, state)
        return out, h_n

    def backward(self, dout, dstate=None):
        """Returns ``dx, dh0``; ``dstate`` is the gradient with respect to h_n (or None)."""
        dx, (dh0,) = self._backward(dout, dstate)
        return dx, dh0
