r"""The gated recurrent unit (GRU) in PyTorch, in both of its published forms.

One step of the cell, in the book's notation (gate order r, z, n as in ``torch.nn``):

.. math::

    \begin{aligned}
    r_t &= \sigma\left(W_{xr} x_t + b_{xr} + W_{hr} h_{t-1} + b_{hr}\right) \\
    z_t &= \sigma\left(W_{xz} x_t + b_{xz} + W_{hz} h_{t-1} + b_{hz}\right) \\
    n_t &= \tanh\left(W_{xn} x_t + b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\right)
        && \text{(reset after the product: PyTorch, cuDNN)} \\
    n_t &= \tanh\left(W_{xn} x_t + b_{xn} + W_{hn} (r_t \odot h_{t-1}) + b_{hn}\right)
        && \text{(reset before the product: Cho et al., 2014)} \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
    \end{aligned}

The two forms have the same parameters but compute different functions; ``reset_after``
picks one. PyTorch's form lets all three recurrent products be done in one matrix product
before the reset gate is known, which is why cuDNN and ``torch.nn.GRU`` use it.

With ``fast=True`` (the default) PyTorch's form runs through the hand-written backward
pass of :mod:`lstm_ref.torch.gru_fast` where it applies (``reset_after=True``, with
biases, no ``PackedSequence`` of different lengths, no ``torch.func`` transform);
``fast=False`` always loops :func:`gru_cell` under autograd. The tests hold the two
equal.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 4
(``book/04_variants.ipynb``, section *1. The gated recurrent unit*); its twin
``lstm_ref/numpy/gru.py``; tests ``tests/torch/test_torch_variants.py``,
``tests/torch/test_torch_fast.py``; exercise ``exercises/04_variants``.
"""

from __future__ import annotations

from functools import partial

import torch

from lstm_ref.torch import stack
from lstm_ref.torch.gru_fast import gru_layer_fast
from lstm_ref.torch.lstm import plain_path_needed


def gru_cell(x_t, h, W_ih, W_hh, b_ih, b_hh, reset_after=True):
    r"""One GRU step (see the module docstring for both forms of :math:`n_t`).

    Inputs:
        x_t: ``(B, D)``, the input at step ``t``.
        h: ``(B, H)``, the previous hidden state :math:`h_{t-1}`.
        W_ih: ``(3H, D)``; W_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)``, blocks r, z, n.
        reset_after: ``True`` for PyTorch's form, ``False`` for Cho et al.'s.

    Outputs:
        h_t: ``(B, H)``.
    """
    hidden = h.shape[1]
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    if reset_after:
        h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
        reset_gate = torch.sigmoid(x_r + h_r)
        update_gate = torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + reset_gate * h_n)
    else:
        h_r, h_z = (h @ W_hh[:2 * hidden].T + b_hh[:2 * hidden]).chunk(2, dim=1)
        reset_gate = torch.sigmoid(x_r + h_r)
        update_gate = torch.sigmoid(x_z + h_z)
        reset_hidden = reset_gate * h
        candidate = torch.tanh(x_n + reset_hidden @ W_hh[2 * hidden:].T + b_hh[2 * hidden:])
    return (1 - update_gate) * candidate + update_gate * h


def gru_layer(x, state, weights, reverse=False, mask=None, reset_after=True, fast=True):
    """One GRU layer and direction: the fast path where it applies, else the step
    loop.

    Inputs and outputs as :func:`lstm_ref.torch.stack.scan`'s with :func:`gru_cell`.
    """
    plain = partial(stack.scan, partial(gru_cell, reset_after=reset_after))
    if (fast and reset_after and mask is None and len(weights) == 4
            and not plain_path_needed()):
        return gru_layer_fast(x, state, weights, reverse, reference=plain)
    return plain(x, state, weights, reverse=reverse, mask=mask)


class GRU(stack.RecurrentBase):
    r"""A stacked, optionally bidirectional GRU, a drop-in for ``torch.nn.GRU``.

    For every layer and direction, at every step:

    .. math::

        \begin{aligned}
        r_t &= \sigma(W_{xr} x_t + b_{xr} + W_{hr} h_{t-1} + b_{hr}) &
        z_t &= \sigma(W_{xz} x_t + b_{xz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{xn} x_t + b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) &
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    With ``reset_after=False`` the candidate is Cho et al.'s
    :math:`n_t = \tanh(W_{xn} x_t + b_{xn} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})`,
    same parameters, different function.

    Args (``torch.nn.GRU``'s, in its order and with its defaults):
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        bias: ``False`` drops ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: ``x`` is ``(B, T, D)`` rather than ``(T, B, D)`` (default).
        dropout: probability of zeroing each output of every layer but the last, in training.
        bidirectional: also run a reversed copy and concatenate the outputs.
        device, dtype: of the parameters.
        reset_after (keyword only, ours): where the reset gate acts (see above); ``True``
            (default) matches ``torch.nn.GRU``.
        fast (keyword only, ours): use the hand-written backward pass of
            :mod:`lstm_ref.torch.gru_fast` where it applies (default); ``False`` always
            loops :func:`gru_cell` under autograd. Both give the same numbers.

    Parameters (as in ``torch.nn.GRU``): ``weight_ih_l{k}`` :math:`W_x` ``(3H, D_in)``,
    ``weight_hh_l{k}`` :math:`W_h` ``(3H, H)``, ``bias_ih_l{k}`` :math:`b_x` and
    ``bias_hh_l{k}`` :math:`b_h` ``(3H,)``, gate blocks stacked r, z, n;
    suffix ``_reverse`` for the backward direction.

    Inputs: ``input``, ``hx``
        input: ``(T, B, D)``, ``(B, T, D)`` with ``batch_first``, ``(T, D)`` unbatched, or a
        ``PackedSequence``. hx: ``(num_layers * num_directions, B, H)`` or ``None`` (zeros).

    Outputs: ``out``, ``h_n``
        out: ``(T, B, num_directions * H)`` (laid out as the input, a ``PackedSequence``
        if the input is one), the last layer's :math:`h_t` for every ``t``.
        h_n: ``(num_layers * num_directions, B, H)``, the final hidden state of each layer
        and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *,
                 reset_after=True, fast=True):
        super().__init__()
        self.mode = "GRU"
        self.reset_after = reset_after
        self.fast = fast
        self.setup(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                   bidirectional, proj_size=0, gate_count=3, dtype=dtype, device=device)

    def forward(self, input, hx=None):
        initial = None if hx is None else (hx,)
        layer = partial(gru_layer, reset_after=self.reset_after, fast=self.fast)
        out, (h_n,) = stack.run(self, input, initial, ("h0",), layer)
        return out, h_n

    def extra_repr(self):
        return (stack.extra_repr(self)
                + ("" if self.reset_after else ", reset_after=False")
                + ("" if self.fast else ", fast=False"))
