r"""A layer-normalised LSTM (Ba, Kiros & Hinton, 2016), built on the book's cell equations.

Layer normalisation rescales one example's vector of pre-activations to zero mean and unit
variance over its *features*, then applies a learned gain :math:`\gamma` and shift
:math:`\beta`:

.. math::

    \operatorname{LN}(a) = \gamma \odot \frac{a - \mu(a)}{\sqrt{\sigma^2(a) + \epsilon}} + \beta,
    \qquad \mu(a) = \tfrac{1}{n}\textstyle\sum_k a_k,\quad
    \sigma^2(a) = \tfrac{1}{n}\textstyle\sum_k (a_k - \mu(a))^2 .

Unlike batch normalisation it uses no statistics over the batch, so it behaves the same at
every time step, for every sequence length and at batch size one.  Following Ba et al., the
input and recurrent projections are normalised separately (over all four gate blocks
together) before the biases are added, and the cell state is normalised before the output
``tanh``:

.. math::

    \begin{aligned}
    [a_i; a_f; a_g; a_o] &= \operatorname{LN}_x(W_x x_t) + \operatorname{LN}_h(W_h h_{t-1})
                           + b_x + b_h \\
    i_t, f_t, o_t &= \sigma(a_i), \sigma(a_f), \sigma(a_o), \qquad g_t = \tanh(a_g) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(\operatorname{LN}_c(c_t))
    \end{aligned}

With the three normalisations replaced by the identity (``layer_norm=False``) these are
exactly the equations of :func:`lstm_ref.torch.lstm.lstm_cell` and ``torch.nn.LSTMCell``;
the parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` have the names and
shapes of ``torch.nn.LSTMCell``'s (gate blocks stacked i, f, g, o).

Where it lives (``book/model_map.md`` has the whole map): equations in chapter 6
(``book/06_training.ipynb``, section *Normalisation: layer norm, not batch norm*); tests
``tests/torch/test_layernorm_lstm.py``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from lstm_ref._validation import check_positive_int


class LayerNormLSTMCell(nn.Module):
    """One step of the layer-normalised LSTM (see the module docstring for the equations).

    Args:
        input_size: ``D``. hidden_size: ``H``.
        layer_norm: normalise (default); ``False`` puts ``nn.Identity`` in place of the three
            normalisations, which gives the plain LSTM cell.
        eps: the :math:`\\epsilon` of the normalisations.

    Inputs: ``x_t (B, D)``, ``state = (h, c)`` with ``(B, H)`` each, or ``None`` (zeros).
    Outputs: ``(h_t, c_t)``, ``(B, H)`` each.
    """

    def __init__(self, input_size: int, hidden_size: int, layer_norm: bool = True,
                 eps: float = 1e-5, *, dtype=None, device=None):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.layer_norm = bool(layer_norm)
        options = {"dtype": dtype, "device": device}
        gates = 4 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size, **options))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size, **options))
        self.bias_ih = nn.Parameter(torch.empty(gates, **options))
        self.bias_hh = nn.Parameter(torch.empty(gates, **options))
        if self.layer_norm:
            self.norm_ih = nn.LayerNorm(gates, eps=eps, **options)
            self.norm_hh = nn.LayerNorm(gates, eps=eps, **options)
            self.norm_cell = nn.LayerNorm(hidden_size, eps=eps, **options)
        else:
            self.norm_ih, self.norm_hh, self.norm_cell = nn.Identity(), nn.Identity(), nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights and biases uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` as in ``torch.nn``;
        normalisation gains 1 and shifts 0."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)
        for norm in (self.norm_ih, self.norm_hh, self.norm_cell):
            if isinstance(norm, nn.LayerNorm):
                norm.reset_parameters()

    def forward(self, x_t: torch.Tensor, state=None):
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"x_t: expected shape (B, {self.input_size}), got {tuple(x_t.shape)}")
        if x_t.dtype != self.weight_ih.dtype:
            raise ValueError(f"x_t: expected dtype {self.weight_ih.dtype}, got {x_t.dtype}")
        batch = x_t.shape[0]
        if state is None:
            h = x_t.new_zeros(batch, self.hidden_size)
            c = x_t.new_zeros(batch, self.hidden_size)
        else:
            h, c = state
            expected = (batch, self.hidden_size)
            for name, s in (("h", h), ("c", c)):
                if tuple(s.shape) != expected:
                    raise ValueError(f"{name}: expected shape {expected}, got {tuple(s.shape)}")
        pre_activation = (self.norm_ih(x_t @ self.weight_ih.T) + self.norm_hh(h @ self.weight_hh.T)
                          + self.bias_ih + self.bias_hh)
        i, f, g, o = pre_activation.chunk(4, dim=1)
        cell_state = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        hidden_state = torch.sigmoid(o) * torch.tanh(self.norm_cell(cell_state))
        return hidden_state, cell_state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, layer_norm={self.layer_norm}"


class LayerNormLSTM(nn.Module):
    """A stack of :class:`LayerNormLSTMCell` run over a batch-first sequence.

    Args:
        input_size: ``D``. hidden_size: ``H``. num_layers: stacked layers.
        layer_norm: as in :class:`LayerNormLSTMCell`.

    The cells are ``cells[k]``, so parameters are named ``cells.{k}.weight_ih`` etc.

    Inputs: ``x (B, T, D)``, ``state = (h0, c0)`` with ``(num_layers, B, H)`` each, or ``None``.
    Outputs: ``out (B, T, H)`` (the last layer's :math:`h_t` for every ``t``) and
    ``(h_n, c_n)``, ``(num_layers, B, H)`` each -- ``lstm_ref.torch.LSTM(..., batch_first=True)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 layer_norm: bool = True, eps: float = 1e-5, *, dtype=None, device=None):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.cells = nn.ModuleList(
            LayerNormLSTMCell(input_size if k == 0 else hidden_size, hidden_size, layer_norm, eps,
                              dtype=dtype, device=device)
            for k in range(num_layers))

    def forward(self, x: torch.Tensor, state=None):
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x: expected shape (B, T, {self.input_size}), got {tuple(x.shape)}")
        batch, steps = x.shape[0], x.shape[1]
        if steps < 1:
            raise ValueError(f"x: expected at least one time step, got shape {tuple(x.shape)}")
        if state is not None:
            h0, c0 = state
            expected = (self.num_layers, batch, self.hidden_size)
            for name, s in (("h0", h0), ("c0", c0)):
                if tuple(s.shape) != expected:
                    raise ValueError(f"{name}: expected shape {expected}, got {tuple(s.shape)}")
        layer_input, h_n, c_n = x, [], []
        for k, cell in enumerate(self.cells):
            layer_state = None if state is None else (state[0][k], state[1][k])
            outputs = []
            for t in range(steps):
                layer_state = cell(layer_input[:, t], layer_state)
                outputs.append(layer_state[0])
            layer_input = torch.stack(outputs, dim=1)
            h_n.append(layer_state[0])
            c_n.append(layer_state[1])
        return layer_input, (torch.stack(h_n), torch.stack(c_n))
