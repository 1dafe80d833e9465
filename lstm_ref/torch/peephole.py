r"""The peephole LSTM (Gers, Schraudolph and Schmidhuber, 2002) in PyTorch.

The gates also look at the cell state through diagonal ("peephole") weights: the input
and forget gates see :math:`c_{t-1}`, the output gate sees the new :math:`c_t`.

.. math::

    \begin{aligned}
    i_t &= \sigma\left(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1}\right) \\
    f_t &= \sigma\left(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1}\right) \\
    g_t &= \tanh\left(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}\right) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    o_t &= \sigma\left(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t\right) \\
    h_t &= o_t \odot \tanh(c_t)
    \end{aligned}

With :math:`w_{ci} = w_{cf} = w_{co} = 0` this is exactly :class:`lstm_ref.torch.LSTM`.

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 4
(``book/04_variants.ipynb``, section *2. Peephole connections*); its twin
``lstm_ref/numpy/peephole.py``; tests ``tests/torch/test_torch_variants.py``.
"""

from __future__ import annotations

from functools import partial

import torch

from lstm_ref.torch import stack
from lstm_ref.torch._checks import check_state_pair

PEEPHOLE_WEIGHTS = ("weight_ci", "weight_cf", "weight_co")


def peephole_lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, W_hr=None):
    r"""One peephole-LSTM step (equations in the module docstring).

    Inputs:
        x_t: ``(B, D)``, the input at step ``t``.
        h, c: ``(B, H)``, the previous hidden and cell states :math:`h_{t-1}, c_{t-1}`.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``, blocks i, f, g, o.
        w_ci, w_cf, w_co: ``(H,)``, the diagonal peephole weights.
        W_hr: ``None``, or a projection ``(P, H)`` of :math:`h_t` as in ``torch.nn.LSTM``.

    Outputs:
        h_t, c_t: ``(B, H)`` each.
    """
    pre_activation = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = pre_activation.chunk(4, dim=1)
    input_gate = torch.sigmoid(i + w_ci * c)
    forget_gate = torch.sigmoid(f + w_cf * c)
    candidate = torch.tanh(g)
    cell_state = forget_gate * c + input_gate * candidate
    output_gate = torch.sigmoid(o + w_co * cell_state)
    hidden_state = output_gate * torch.tanh(cell_state)
    if W_hr is not None:
        hidden_state = hidden_state @ W_hr.T
    return hidden_state, cell_state


class PeepholeLSTM(stack.RecurrentBase):
    r"""A stacked, optionally bidirectional peephole LSTM (no ``torch.nn`` equivalent).

    For every layer and direction, at every step:

    .. math::

        \begin{aligned}
        i_t &= \sigma(W_{xi} x_t + b_{xi} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1}) &
        f_t &= \sigma(W_{xf} x_t + b_{xf} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1}) \\
        g_t &= \tanh(W_{xg} x_t + b_{xg} + W_{hg} h_{t-1} + b_{hg}) &
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{xo} x_t + b_{xo} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t) &
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    Args (those of ``torch.nn.LSTM``, in its order and with its defaults):
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        bias: ``False`` drops ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: ``x`` is ``(B, T, D)`` rather than ``(T, B, D)`` (default).
        dropout: probability of zeroing each output of every layer but the last, in training.
        bidirectional: also run a reversed copy and concatenate the outputs.
        proj_size: ``P > 0`` projects :math:`h_t` to ``P`` features (``weight_hr_l{k}``).
        device, dtype: of the parameters.

    Parameters: those of ``torch.nn.LSTM`` (``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, gate blocks i, f, g, o) plus the peephole vectors
    ``weight_ci_l{k}`` :math:`w_{ci}`, ``weight_cf_l{k}`` :math:`w_{cf}` and
    ``weight_co_l{k}`` :math:`w_{co}`, each ``(H,)``; suffix ``_reverse`` for the backward
    direction. All are initialised ~ U(-1/sqrt(H), 1/sqrt(H)).

    Inputs: ``input``, ``(h0, c0)``, as :class:`lstm_ref.torch.LSTM`'s
        input: ``(T, B, D)``, ``(B, T, D)`` with ``batch_first``, ``(T, D)`` unbatched, or a
        ``PackedSequence``. h0, c0: ``(num_layers * num_directions, B, H)``; the pair may be
        ``None`` (zeros, created on the input's device with its dtype).

    Outputs: ``out``, ``(h_n, c_n)``
        out: ``(T, B, num_directions * H)`` (laid out as the input), the last layer's
        :math:`h_t` for every ``t``.
        h_n, c_n: ``(num_layers * num_directions, B, H)``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = "LSTM"
        self.setup(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                   bidirectional, proj_size, gate_count=4, vector_names=PEEPHOLE_WEIGHTS,
                   dtype=dtype, device=device)

    def forward(self, input, hx=None):
        if hx is not None:
            hx = check_state_pair(hx)
        weight_names = (stack.BASE_WEIGHTS + PEEPHOLE_WEIGHTS
                        + (("weight_hr",) if self.proj_size else ()))
        out, (h_n, c_n) = stack.run(self, input, hx, ("h0", "c0"),
                                    partial(stack.scan, peephole_lstm_cell), weight_names,
                                    state_sizes=(self.proj_size or self.hidden_size,
                                                 self.hidden_size))
        return out, (h_n, c_n)
