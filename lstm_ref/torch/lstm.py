r"""The long short-term memory network (LSTM) in PyTorch.

One step of the cell, in the book's notation (gate order i, f, g, o as in ``torch.nn``):

.. math::

    \begin{aligned}
    i_t &= \sigma\left(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi}\right) \\
    f_t &= \sigma\left(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf}\right) \\
    g_t &= \tanh\left(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}\right) \\
    o_t &= \sigma\left(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho}\right) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)
    \end{aligned}

With a projection (``proj_size`` :math:`P > 0`, as in ``torch.nn.LSTM``) the hidden state
is :math:`h_t = W_{hr} (o_t \odot \tanh(c_t))`, of size :math:`P`.

:func:`lstm_cell` is that step, and with ``fast=False`` the model is that step in a loop,
differentiated by autograd. The default fast path (:mod:`lstm_ref.torch.lstm_fast`)
computes the same numbers with a hand-written backward pass; the tests hold the two equal.
Where the fast path has nothing to offer, the model takes the step loop: with a
projection, for sequences of different lengths (a ``PackedSequence``), and under
``torch.func`` transforms or forward-mode AD; double backward through the fast path
differentiates the step loop.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 2
(``book/02_lstm_cell.ipynb``, section *The six equations*); its twin
``lstm_ref/numpy/lstm.py``; tests ``tests/torch/test_torch_parity.py``,
``tests/torch/test_torch_fast.py``, ``tests/torch/test_torch_nn_dropin.py``; exercise
``exercises/02_lstm_cell``.
"""

from __future__ import annotations

from functools import partial

import torch
from torch.autograd import forward_ad

from lstm_ref.torch import stack
from lstm_ref.torch._checks import check_state_pair
from lstm_ref.torch.lstm_fast import lstm_layer_fast


def lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh, W_hr=None):
    r"""One LSTM step.

    The four gates' pre-activations come from one product each with the stacked
    weights :math:`W_x = [W_{xi}; W_{xf}; W_{xg}; W_{xo}]` and
    :math:`W_h = [W_{hi}; W_{hf}; W_{hg}; W_{ho}]`, then are split in gate order i, f, g, o.

    Inputs:
        x_t: ``(B, D)``, the input at step ``t``.
        h, c: ``(B, H)``, the previous hidden and cell states :math:`h_{t-1}, c_{t-1}`.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.
        W_hr: ``None``, or the projection ``(P, H)``; then ``h`` and ``h_t`` are ``(B, P)``
            and ``W_hh`` is ``(4H, P)``.

    Outputs:
        h_t, c_t: ``(B, H)`` each.
    """
    pre_activation = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = pre_activation.chunk(4, dim=1)
    input_gate, forget_gate, output_gate = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    candidate = torch.tanh(g)
    cell_state = forget_gate * c + input_gate * candidate
    hidden_state = output_gate * torch.tanh(cell_state)
    if W_hr is not None:
        hidden_state = hidden_state @ W_hr.T
    return hidden_state, cell_state


def plain_path_needed() -> bool:
    """Whether a ``torch.func`` transform (grad, vmap, jacrev, ...) or forward-mode AD is
    active: the fast path's ``autograd.Function`` supports neither, the step loop both."""
    return torch._C._are_functorch_transforms_active() or forward_ad._current_level >= 0


def lstm_layer(x, state, weights, reverse=False, mask=None, fast=True):
    """One layer and direction, by the fast path where it applies, else the step loop.

    Inputs and outputs as :func:`lstm_ref.torch.stack.scan`'s with :func:`lstm_cell`.
    """
    plain = partial(stack.scan, lstm_cell)
    if fast and mask is None and len(weights) == 4 and not plain_path_needed():
        return lstm_layer_fast(x, state, weights, reverse, reference=plain)
    return plain(x, state, weights, reverse=reverse, mask=mask)


class LSTM(stack.RecurrentBase):
    r"""A stacked, optionally bidirectional LSTM, a drop-in for ``torch.nn.LSTM``.

    For every layer and direction, at every step:

    .. math::

        \begin{aligned}
        i_t &= \sigma(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi}) &
        f_t &= \sigma(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}) &
        o_t &= \sigma(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t &
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    where :math:`x_t` is the network input for layer 0 and the previous layer's output
    (both directions concatenated, with dropout in training) above it.

    Args (``torch.nn.LSTM``'s, in its order and with its defaults):
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        bias: ``False`` drops ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: ``x`` is ``(B, T, D)`` rather than ``(T, B, D)`` (default).
        dropout: probability of zeroing each output of every layer but the last, in training.
        bidirectional: also run a reversed copy and concatenate the outputs.
        proj_size: ``P > 0`` projects :math:`h_t` to ``P`` features with
            ``weight_hr_l{k}`` ``(P, H)``.
        device, dtype: of the parameters.
        fast (keyword only, ours): use the hand-written backward pass of
            :mod:`lstm_ref.torch.lstm_fast` where it applies (default); ``False`` always
            loops :func:`lstm_cell` and lets autograd differentiate it. Both give the same
            numbers, higher-order gradients and ``torch.func`` transforms included.

    Parameters (as in ``torch.nn.LSTM``): ``weight_ih_l{k}`` :math:`W_x` ``(4H, D_in)``,
    ``weight_hh_l{k}`` :math:`W_h` ``(4H, H)``, ``bias_ih_l{k}`` :math:`b_x` and
    ``bias_hh_l{k}`` :math:`b_h` ``(4H,)``, gate blocks stacked i, f, g, o;
    suffix ``_reverse`` for the backward direction.

    Inputs: ``input``, ``(h0, c0)``
        input: ``(T, B, D)``, ``(B, T, D)`` with ``batch_first``, ``(T, D)`` unbatched, or a
        ``PackedSequence``. h0: ``(num_layers * num_directions, B, H_out)`` (``H_out`` is
        ``proj_size`` if set, else ``H``), c0: ``(num_layers * num_directions, B, H)``; the
        pair may be ``None`` (zeros, created on the input's device with its dtype).

    Outputs: ``out``, ``(h_n, c_n)``
        out: ``(T, B, num_directions * H_out)`` (laid out as the input, a
        ``PackedSequence`` if the input is one), the last layer's :math:`h_t` for every ``t``.
        h_n, c_n: ``(num_layers * num_directions, B, H_out)`` and ``(..., B, H)``, the
        final hidden and cell states of each layer and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *,
                 fast=True):
        super().__init__()
        self.mode = "LSTM"
        self.fast = fast
        self.setup(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                   bidirectional, proj_size, gate_count=4, dtype=dtype, device=device)

    def forward(self, input, hx=None):
        if hx is not None:
            hx = check_state_pair(hx)
        weight_names = stack.BASE_WEIGHTS + (("weight_hr",) if self.proj_size else ())
        out, (h_n, c_n) = stack.run(self, input, hx, ("h0", "c0"),
                                    partial(lstm_layer, fast=self.fast), weight_names,
                                    state_sizes=(self.proj_size or self.hidden_size,
                                                 self.hidden_size))
        return out, (h_n, c_n)

    def extra_repr(self):
        return stack.extra_repr(self) + ("" if self.fast else ", fast=False")
