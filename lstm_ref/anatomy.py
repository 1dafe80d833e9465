r"""Looking inside an LSTM cell: the notations, and the gates at work.

Chapter 2 of the book uses these to connect the equations to a trained network:

* :func:`concat_to_split` turns the *concatenated* notation that many texts use,
  :math:`\sigma(W \cdot [h_{t-1}, x_t] + b)`, one matrix ``W`` of shape ``(4H, H + D)``
  and one bias, into ``torch.nn.LSTM``'s layout ``weight_ih (4H, D)``, ``weight_hh (4H, H)``,
  ``bias_ih``, ``bias_hh`` with the gate blocks in the order i, f, g, o;
* :func:`lstm_gate_trace` runs one layer of an LSTM given as a ``state_dict`` and returns
  every gate's activation at every step (what the chapter's heatmaps show).

Gate letters: ``i`` input gate, ``f`` forget gate, ``g`` candidate (cell input),
``o`` output gate.
"""

from __future__ import annotations

from typing import Mapping

#: torch.nn.LSTM's order of the four gate blocks in its stacked weights
TORCH_GATE_ORDER = "ifgo"


def _check_gate_order(gate_order) -> list[int]:
    """The permutation that puts blocks given in ``gate_order`` into i, f, g, o order."""
    if not isinstance(gate_order, str) or sorted(gate_order) != sorted(TORCH_GATE_ORDER):
        raise ValueError(f"gate_order must be a permutation of the letters 'ifgo', "
                         f"got {gate_order!r}")
    return [gate_order.index(letter) for letter in TORCH_GATE_ORDER]


def concat_to_split(W, b, input_size: int, gate_order: str = "ifgo"):
    r"""Concatenated-notation weights to ``torch.nn.LSTM``'s split layout.

    The concatenated notation writes every gate as
    :math:`\sigma(W_\ast \cdot [h_{t-1}, x_t] + b_\ast)`: the state comes first, then the
    input.  Stacking the four gates' rows gives ``W`` of shape ``(4H, H + D)``, whose first
    ``H`` columns multiply :math:`h_{t-1}` (they are :math:`W_h`) and whose last ``D``
    columns multiply :math:`x_t` (they are :math:`W_x`).

    Inputs:
        W: ``(4H, H + D)`` NumPy array or torch tensor, gate blocks stacked in ``gate_order``.
        b: ``(4H,)``, the single bias, same gate order.
        input_size: ``D``.
        gate_order: the order of the blocks in ``W`` and ``b``, a permutation of ``"ifgo"``
            (CS231n's assignment uses ``"ifog"``, for example).

    Returns:
        ``(W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,))`` in the order i, f, g, o, of
        the same type and dtype as ``W``.  The whole bias goes to ``b_ih`` and ``b_hh`` is
        zero: the network only ever sees the sum ``b_ih + b_hh``.
    """
    order = _check_gate_order(gate_order)
    if getattr(W, "ndim", None) != 2 or getattr(b, "ndim", None) != 1:
        raise ValueError(f"W must be 2-D (4H, H + D) and b 1-D (4H,), got shapes "
                         f"{tuple(getattr(W, 'shape', ()))} and {tuple(getattr(b, 'shape', ()))}")
    rows, cols = W.shape
    hidden = rows // 4
    if rows % 4 or rows == 0 or cols != hidden + input_size or b.shape[0] != rows:
        raise ValueError(f"expected W of shape (4H, H + D) and b of shape (4H,) with D = "
                         f"{input_size}, got W {tuple(W.shape)} and b {tuple(b.shape)}")
    W_blocks = W.reshape(4, hidden, cols)[order].reshape(rows, cols)
    b_blocks = b.reshape(4, hidden)[order].reshape(rows)
    W_hh = W_blocks[:, :hidden]
    W_ih = W_blocks[:, hidden:]
    b_hh = b_blocks * 0
    return W_ih, W_hh, b_blocks, b_hh


def lstm_gate_trace(state_dict: Mapping, x, layer: int = 0) -> dict:
    r"""Every gate's activation at every step of one LSTM layer.

    Inputs:
        state_dict: parameters of a ``torch.nn.LSTM`` (or ``lstm_ref.torch.LSTM``),
            unidirectional, with keys ``weight_ih_l{k}`` ... for ``k = 0 .. layer``.
        x: ``(B, T, D)`` tensor, batch first, on the parameters' device.
        layer: which layer to trace; the layers below it are run to produce its input.

    Returns:
        a dict of ``(B, T, H)`` tensors: ``"i"``, ``"f"``, ``"g"``, ``"o"`` (the gates and
        the candidate), ``"c"`` (cell state :math:`c_t`) and ``"h"`` (hidden state
        :math:`h_t`), computed without gradients, starting from zero states.
    """
    import torch

    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError(f"x must be a (B, T, D) tensor, got "
                         f"{type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}")
    if any(key.endswith("_reverse") for key in state_dict):
        raise ValueError("lstm_gate_trace traces unidirectional LSTMs; the state_dict has "
                         "'_reverse' parameters")
    layer_input = x
    with torch.no_grad():
        for k in range(layer + 1):
            try:
                W_ih, W_hh, b_ih, b_hh = (state_dict[f"{name}_l{k}"] for name in
                                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            except KeyError:
                raise ValueError(f"state_dict has no parameters for layer {k}; its keys are "
                                 f"{sorted(state_dict)}") from None
            if W_ih.shape[1] != layer_input.shape[2]:
                raise ValueError(f"layer {k} expects {W_ih.shape[1]} input features, "
                                 f"got x with {layer_input.shape[2]}")
            trace = _trace_layer(layer_input, W_ih, W_hh, b_ih, b_hh)
            layer_input = trace["h"]
    return trace


def _trace_layer(x, W_ih, W_hh, b_ih, b_hh) -> dict:
    import torch

    batch, steps, _ = x.shape
    hidden = W_hh.shape[1]
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    input_part = x @ W_ih.T + b_ih + b_hh                     # (B, T, 4H), all steps at once
    trace = {key: [] for key in "ifgoch"}
    for t in range(steps):
        a_i, a_f, a_g, a_o = (input_part[:, t] + h @ W_hh.T).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for key, value in zip("ifgoch", (i, f, g, o, c, h)):
            trace[key].append(value)
    return {key: torch.stack(values, dim=1) for key, values in trace.items()}


__all__ = ["TORCH_GATE_ORDER", "concat_to_split", "lstm_gate_trace"]
