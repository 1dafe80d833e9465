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

:func:`lstm_cell` is that step, and with ``fast=False`` the model is that step in a loop,
differentiated by autograd. The default fast path (:mod:`lstm_ref.torch.lstm_fast`)
computes the same numbers with a hand-written backward pass; the tests hold the two equal.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from lstm_ref.torch import stack
from lstm_ref.torch._checks import check_state_pair
from lstm_ref.torch.lstm_fast import lstm_layer_fast


def lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh):
    r"""One LSTM step.

    The four gates' pre-activations come from one product each with the stacked
    weights :math:`W_x = [W_{xi}; W_{xf}; W_{xg}; W_{xo}]` and
    :math:`W_h = [W_{hi}; W_{hf}; W_{hg}; W_{ho}]`, then are split in gate order i, f, g, o.

    Inputs:
        x_t: ``(B, D)``, the input at step ``t``.
        h, c: ``(B, H)``, the previous hidden and cell states :math:`h_{t-1}, c_{t-1}`.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.

    Outputs:
        h_t, c_t: ``(B, H)`` each.
    """
    pre_activation = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = pre_activation.chunk(4, dim=1)
    input_gate, forget_gate, output_gate = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    candidate = torch.tanh(g)
    cell_state = forget_gate * c + input_gate * candidate
    hidden_state = output_gate * torch.tanh(cell_state)
    return hidden_state, cell_state


class LSTM(nn.Module):
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
    (both directions concatenated) above it.

    Args:
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        bidirectional: also run a reversed copy and concatenate the outputs.
        batch_first: ``x`` is ``(B, T, D)`` (default) rather than ``(T, B, D)``.
        dtype, device: of the parameters.
        fast: use the hand-written backward pass of :mod:`lstm_ref.torch.lstm_fast`
            (default); ``False`` loops :func:`lstm_cell` and lets autograd differentiate it,
            which is slower but supports higher-order gradients (``create_graph=True``)
            and ``torch.func`` transforms.

    Parameters (as in ``torch.nn.LSTM``): ``weight_ih_l{k}`` :math:`W_x` ``(4H, D_in)``,
    ``weight_hh_l{k}`` :math:`W_h` ``(4H, H)``, ``bias_ih_l{k}`` :math:`b_x` and
    ``bias_hh_l{k}`` :math:`b_h` ``(4H,)``, gate blocks stacked i, f, g, o;
    suffix ``_reverse`` for the backward direction.

    Inputs: ``x``, ``(h0, c0)``
        x: ``(B, T, D)``. h0, c0: ``(num_layers * num_directions, B, H)``; the pair may be
        ``None`` (zeros, created on ``x``'s device with ``x``'s dtype).

    Outputs: ``out``, ``(h_n, c_n)``
        out: ``(B, T, num_directions * H)``, the last layer's :math:`h_t` for every ``t``.
        h_n, c_n: ``(num_layers * num_directions, B, H)``, the final hidden and cell
        states of each layer and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False,
                 batch_first=True, *, dtype=None, device=None, fast=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.batch_first = batch_first
        self.fast = fast
        stack.create_parameters(self, gate_count=4, dtype=dtype, device=device)

    def reset_parameters(self):
        stack.reset_parameters(self)

    def forward(self, x, state=None):
        if state is not None:
            state = check_state_pair(state)
        layer_fn = lstm_layer_fast if self.fast else partial(stack.scan, lstm_cell)
        out, (h_n, c_n) = stack.run(self, x, state, ("h0", "c0"), layer_fn)
        return out, (h_n, c_n)

    def extra_repr(self):
        return stack.extra_repr(self) + ("" if self.fast else ", fast=False")
