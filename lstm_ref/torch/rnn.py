r"""The vanilla (Elman) recurrent network in PyTorch.

One step of the cell, in the book's notation:

.. math::

    h_t = \phi\left(W_x x_t + b_x + W_h h_{t-1} + b_h\right),
    \qquad \phi \in \{\tanh, \mathrm{ReLU}\}

Autograd provides backpropagation through time; the NumPy twin
(:mod:`lstm_ref.numpy.rnn`) writes it out by hand.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 1
(``book/01_rnn_limits.ipynb``, section *The vanilla RNN*); its twin
``lstm_ref/numpy/rnn.py``; tests ``tests/torch/test_torch_parity.py``,
``tests/torch/test_torch_nn_dropin.py``; exercise ``exercises/01_rnn_limits``.
"""

from __future__ import annotations

from functools import partial

import torch

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


class RNN(stack.RecurrentBase):
    r"""A stacked, optionally bidirectional vanilla RNN, a drop-in for ``torch.nn.RNN``.

    For every layer and direction, at every step:

    .. math::

        h_t = \phi\left(W_x x_t + b_x + W_h h_{t-1} + b_h\right)

    where :math:`x_t` is the network input for layer 0 and the previous layer's output
    (both directions concatenated, with dropout in training) above it.

    Args (``torch.nn.RNN``'s, in its order and with its defaults):
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias: ``False`` drops ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: ``x`` is ``(B, T, D)`` rather than ``(T, B, D)`` (default).
        dropout: probability of zeroing each output of every layer but the last, in training.
        bidirectional: also run a reversed copy and concatenate the outputs.
        device, dtype: of the parameters.

    Parameters (as in ``torch.nn.RNN``): ``weight_ih_l{k}`` :math:`W_x` ``(H, D_in)``,
    ``weight_hh_l{k}`` :math:`W_h` ``(H, H)``, ``bias_ih_l{k}`` :math:`b_x` and
    ``bias_hh_l{k}`` :math:`b_h` ``(H,)``; suffix ``_reverse`` for the backward direction.

    Inputs: ``input``, ``hx``
        input: ``(T, B, D)``, ``(B, T, D)`` with ``batch_first``, ``(T, D)`` unbatched, or a
        ``PackedSequence``. hx: ``(num_layers * num_directions, B, H)`` or ``None`` (zeros).

    Outputs: ``out``, ``h_n``
        out: ``(T, B, num_directions * H)`` (laid out as the input, a ``PackedSequence``
        if the input is one), the last layer's :math:`h_t` for every ``t``.
        h_n: ``(num_layers * num_directions, B, H)``, the final hidden state of each layer
        and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.setup(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                   bidirectional, proj_size=0, gate_count=1, dtype=dtype, device=device)

    def forward(self, input, hx=None):
        cell = partial(rnn_cell, nonlinearity=self.nonlinearity)
        initial = None if hx is None else (hx,)
        out, (h_n,) = stack.run(self, input, initial, ("h0",), partial(stack.scan, cell))
        return out, h_n
