r"""Peephole LSTM (Gers, Schraudolph & Schmidhuber, 2002) in NumPy.

The gates also look at the cell state through DIAGONAL weights (vectors of shape (H,)):
the input and forget gates at :math:`c_{t-1}`, the output gate at the new :math:`c_t`.

.. math::

    i_t &= \sigma(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1}) \\
    f_t &= \sigma(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1}) \\
    g_t &= \tanh(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    o_t &= \sigma(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t) \\
    h_t &= o_t \odot \tanh(c_t)

Parameters are those of ``torch.nn.LSTM`` plus ``weight_ci_l{k}``, ``weight_cf_l{k}``,
``weight_co_l{k}``. With the three vectors at zero it is exactly the LSTM.

Backward: because o_t reads c_t, the gradient reaching c_t has a third path,
:math:`\delta c = \delta c_t + \delta h_t o_t (1 - \tanh^2 c_t) + \delta a_o \odot w_{co}`,
and :math:`c_{t-1}` receives
:math:`\delta c \odot f_t + \delta a_i \odot w_{ci} + \delta a_f \odot w_{cf}`.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 4
(``book/04_variants.ipynb``, section *2. Peephole connections*); its twin
``lstm_ref/torch/peephole.py``; tests ``tests/numpy/test_numpy_peephole.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_gradient_shape, check_sequence_inputs, check_step_inputs
from .activations import sigmoid, sigmoid_backward, tanh, tanh_backward
from .stack import CellSpec, RecurrentStack

PEEPHOLE_VECTORS = ("weight_ci", "weight_cf", "weight_co")


@dataclass(frozen=True)
class PeepholeStepCache:
    """What :func:`peephole_step_backward` needs from the forward step."""

    x_t: np.ndarray       # (B, D)
    h_prev: np.ndarray    # (B, H)
    c_prev: np.ndarray    # (B, H)
    c_t: np.ndarray       # (B, H)
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray
    W_ih: np.ndarray      # (4H, D)
    W_hh: np.ndarray      # (4H, H)
    w_ci: np.ndarray      # (H,)
    w_cf: np.ndarray      # (H,)
    w_co: np.ndarray      # (H,)


class PeepholeStepGrads(NamedTuple):
    dx_t: np.ndarray
    dh_prev: np.ndarray
    dc_prev: np.ndarray
    dW_ih: np.ndarray
    dW_hh: np.ndarray
    db_ih: np.ndarray
    db_hh: np.ndarray
    dw_ci: np.ndarray     # (H,)
    dw_cf: np.ndarray
    dw_co: np.ndarray


class PeepholeGrads(NamedTuple):
    dx: np.ndarray        # (B, T, D)
    dh0: np.ndarray
    dc0: np.ndarray
    dW_ih: np.ndarray
    dW_hh: np.ndarray
    db_ih: np.ndarray
    db_hh: np.ndarray
    dw_ci: np.ndarray
    dw_cf: np.ndarray
    dw_co: np.ndarray


def peephole_step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """One peephole-LSTM step (equations in the module docstring).

    Inputs:
        x_t: (B, D); h_prev, c_prev: (B, H); W_ih: (4H, D), W_hh: (4H, H),
        b_ih, b_hh: (4H,) with gate blocks i, f, g, o; w_ci, w_cf, w_co: (H,).
    Returns:
        h_t (B, H), c_t (B, H) and a :class:`PeepholeStepCache`.
    """
    check_step_inputs(4, x_t, h_prev, W_ih, W_hh, b_ih, b_hh, c_prev=c_prev,
                      vectors={"w_ci": w_ci, "w_cf": w_cf, "w_co": w_co})
    a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i = sigmoid(a_i + w_ci * c_prev)
    f = sigmoid(a_f + w_cf * c_prev)
    g = tanh(a_g)
    c_t = f * c_prev + i * g
    o = sigmoid(a_o + w_co * c_t)          # the output gate looks at the NEW cell state
    tanh_c = tanh(c_t)
    h_t = o * tanh_c
    cache = PeepholeStepCache(x_t, h_prev, c_prev, c_t, i, f, g, o, tanh_c,
                              W_ih, W_hh, w_ci, w_cf, w_co)
    return h_t, c_t, cache


def peephole_step_backward(dh_t, dc_t, cache: PeepholeStepCache) -> PeepholeStepGrads:
    """Backward through one peephole-LSTM step.

    Inputs:
        dh_t: (B, H) total gradient reaching h_t; dc_t: (B, H) gradient reaching c_t from
        step t+1; cache: from :func:`peephole_step_forward`.
    Returns:
        :class:`PeepholeStepGrads` (those of the LSTM step plus dw_ci, dw_cf, dw_co).
    """
    k = cache
    check_gradient_shape(dh_t, k.c_t.shape, "dh_t")
    check_gradient_shape(dc_t, k.c_t.shape, "dc_t")
    da_o = sigmoid_backward(dh_t * k.tanh_c, k.o)
    dc = dc_t + tanh_backward(dh_t * k.o, k.tanh_c) + da_o * k.w_co
    da_i = sigmoid_backward(dc * k.g, k.i)
    da_f = sigmoid_backward(dc * k.c_prev, k.f)
    da_g = tanh_backward(dc * k.i, k.g)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
    db = da.sum(axis=0)
    return PeepholeStepGrads(
        dx_t=da @ k.W_ih,
        dh_prev=da @ k.W_hh,
        dc_prev=dc * k.f + da_i * k.w_ci + da_f * k.w_cf,
        dW_ih=da.T @ k.x_t,
        dW_hh=da.T @ k.h_prev,
        db_ih=db,
        db_hh=db.copy(),
        dw_ci=(da_i * k.c_prev).sum(axis=0),
        dw_cf=(da_f * k.c_prev).sum(axis=0),
        dw_co=(da_o * k.c_t).sum(axis=0),
    )


def peephole_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Run the peephole LSTM over a sequence (one layer, one direction).

    Returns h (B, T, H), c_n (B, H) and the list of T step caches.
    """
    check_sequence_inputs(x, h0)
    batch, steps, _ = x.shape
    h = np.empty((batch, steps, h0.shape[1]), dtype=x.dtype)
    caches = []
    h_t, c_t = h0, c0
    for t in range(steps):
        h_t, c_t, cache = peephole_step_forward(x[:, t], h_t, c_t, W_ih, W_hh, b_ih, b_hh,
                                                w_ci, w_cf, w_co)
        h[:, t] = h_t
        caches.append(cache)
    return h, c_t, caches


def peephole_backward(dh, caches, dh_n=None, dc_n=None) -> PeepholeGrads:
    """Backpropagation through time for :func:`peephole_forward`.

    Inputs:
        dh: (B, T, H) gradient with respect to every h_t from above; caches; optional
        dh_n, dc_n (B, H) gradients with respect to the final states.
    Returns:
        :class:`PeepholeGrads`.
    """
    first = caches[0]
    state_shape = first.c_t.shape
    check_gradient_shape(dh, (state_shape[0], len(caches), state_shape[1]), "dh")
    for name, value in (("dh_n", dh_n), ("dc_n", dc_n)):
        if value is not None:
            check_gradient_shape(value, state_shape, name)
    dtype = dh.dtype
    dx = np.empty(dh.shape[:2] + first.x_t.shape[1:], dtype=dtype)
    totals = [np.zeros_like(a, dtype=dtype) for a in (first.W_ih, first.W_hh)]
    totals += [np.zeros(first.W_ih.shape[0], dtype)] + [np.zeros_like(first.w_ci, dtype=dtype)
                                                        for _ in range(3)]
    dW_ih, dW_hh, db, dw_ci, dw_cf, dw_co = totals
    dh_next = np.zeros_like(dh[:, 0]) if dh_n is None else dh_n
    dc_next = np.zeros_like(dh[:, 0]) if dc_n is None else dc_n
    for t in reversed(range(len(caches))):
        step = peephole_step_backward(dh[:, t] + dh_next, dc_next, caches[t])
        dx[:, t] = step.dx_t
        dh_next, dc_next = step.dh_prev, step.dc_prev
        dW_ih += step.dW_ih
        dW_hh += step.dW_hh
        db += step.db_ih
        dw_ci += step.dw_ci
        dw_cf += step.dw_cf
        dw_co += step.dw_co
    return PeepholeGrads(dx, dh_next, dc_next, dW_ih, dW_hh, db, db.copy(), dw_ci, dw_cf, dw_co)


def _direction_forward(x, state, params):
    h, c_n, caches = peephole_forward(
        x, state[0], state[1], params["weight_ih"], params["weight_hh"], params["bias_ih"],
        params["bias_hh"], params["weight_ci"], params["weight_cf"], params["weight_co"])
    return h, (h[:, -1], c_n), caches


def _direction_backward(dout, dfinal, caches):
    g = peephole_backward(dout, caches, dh_n=dfinal[0], dc_n=dfinal[1])
    return g.dx, (g.dh0, g.dc0), {
        "weight_ih": g.dW_ih, "weight_hh": g.dW_hh, "bias_ih": g.db_ih, "bias_hh": g.db_hh,
        "weight_ci": g.dw_ci, "weight_cf": g.dw_cf, "weight_co": g.dw_co}


class PeepholeLSTM(RecurrentStack):
    r"""Multi-layer LSTM with diagonal peephole connections (Gers et al., 2002).

    .. math::

        i_t = \sigma(\dots + w_{ci} \odot c_{t-1}),\;
        f_t = \sigma(\dots + w_{cf} \odot c_{t-1}),\;
        o_t = \sigma(\dots + w_{co} \odot c_t)

    Same constructor, ``forward``/``backward`` and state layout as
    :class:`~lstm_ref.numpy.LSTM`; the state_dict adds ``weight_ci_l{k}``,
    ``weight_cf_l{k}``, ``weight_co_l{k}`` (shape (H,), suffix ``_reverse``), also
    initialised U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, *,
                 seed=None, rng=None, dtype=np.float64):
        cell = CellSpec(gate_count=4, state_names=("h0", "c0"), forward=_direction_forward,
                        backward=_direction_backward, extra_vectors=PEEPHOLE_VECTORS)
        super().__init__(cell, input_size, hidden_size, num_layers, bidirectional,
                         seed=seed, rng=rng, dtype=dtype)

    def forward(self, x, state=None):
        """Returns ``out, (h_n, c_n)``; ``state`` is ``(h0, c0)`` or None (zeros)."""
        out, (h_n, c_n) = self._forward(x, state)
        return out, (h_n, c_n)

    def backward(self, dout, dstate=None):
        """Returns ``dx, (dh0, dc0)``; ``dstate`` is ``(dh_n, dc_n)`` or None."""
        dx, (dh0, dc0) = self._backward(dout, dstate)
        return dx, (dh0, dc0)
