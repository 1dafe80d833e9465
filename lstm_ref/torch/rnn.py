r"""The vanilla (Elman) recurrent network in PyTorch.

One step of the cell, in the book's notation:

.. math::

    h_t = \phi\left(W_x x_t + b_x + W_h h_{t-1} + b_h\right),
    \qquad \phi \in \{\tanh, \mathrm{ReLU}\}

Autograd provides backpropagation through time; the NumPy twin
(:mod:`lstm_ref.numpy.rnn`) writes it out by hand.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from lstm_ref.torch import stack

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def rnn_cell(x_t, h, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    r"""One step of the vanilla RNN: :math:`h_t = \phi(W_x x_t + b_x + W_h h_{t-1} + b_h)`.

    Inputs:
        x_t: ``(B, D)``, the input at step ``t``.
        h: ``(B, H)``, the previous hidden state :math:`h_{t-1}`.
        W_ih: ``(H, D)``; W_hh: ``(H, H)``; b_ih, b_hh: ``(H,)``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Outputs:
        h_t: ``(B, H)``.
    """
    return NONLINEARITIES[nonlinearity](x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


class RNN(nn.Module):
    r"""A stacked, optionally bidirectional vanilla RNN, a drop-in for ``torch.nn.RNN``.

    For every layer and direction, at every step:

    .. math::

        h_t = \phi\left(W_x x_t + b_x + W_h h_{t-1} + b_h\right)

    where :math:`x_t` is the network input for layer 0 and the previous layer's output
    (both directions concatenated) above it.

    Args:
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        bidirectional: also run a reversed copy and concatenate the outputs.
        batch_first: ``x`` is ``(B, T, D)`` (default) rather than ``(T, B, D)``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        dtype, device: of the parameters.

    Parameters (as in ``torch.nn.RNN``): ``weight_ih_l{k}`` :math:`W_x` ``(H, D_in)``,
    ``weight_hh_l{k}`` :math:`W_h` ``(H, H)``, ``bias_ih_l{k}`` :math:`b_x` and
    ``bias_hh_l{k}`` :math:`b_h` ``(H,)``; suffix ``_reverse`` for the backward direction.

    Inputs: ``x``, ``h0``
        x: ``(B, T, D)``. h0: ``(num_layers * num_directions, B, H)`` or ``None`` (zeros).

    Outputs: ``out``, ``h_n``
        out: ``(B, T, num_directions * H)``, the last layer's :math:`h_t` for every ``t``.
        h_n: ``(num_layers * num_directions, B, H)``, the final hidden state of each layer
        and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False,
                 batch_first=True, nonlinearity="tanh", *, dtype=None, device=None):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.batch_first = batch_first
        self.nonlinearity = nonlinearity
        stack.create_parameters(self, gate_count=1, dtype=dtype, device=device)

    def reset_parameters(self):
        stack.reset_parameters(self)

    def forward(self, x, state=None):
        cell = partial(rnn_cell, nonlinearity=self.nonlinearity)
        initial = None if state is None else (state,)
        out, (h_n,) = stack.run(self, x, initial, ("h0",), partial(stack.scan, cell))
        return out, h_n

    def extra_repr(self):
        return stack.extra_repr(self) + f", nonlinearity={self.nonlinearity!r}"
