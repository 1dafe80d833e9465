r"""Looking inside an LSTM cell: the notations, and the gates at work.

Chapter 2 of the book uses these to connect the equations to a trained network:

* :func:`concat_to_split` turns the *concatenated* notation that many texts use,
  :math:`\sigma(W \cdot [h_{t-1}, x_t] + b)`, one matrix ``W`` of shape ``(4H, H + D)``
  and one bias, into ``torch.nn.LSTM``'s layout ``weight_ih (4H, D)``, ``weight_hh (4H, H)``,
  ``bias_ih``, ``bias_hh`` with the gate blocks in the order i, f, g, o;
* :func:`lstm_gate_trace` runs one layer of an LSTM given as a ``state_dict`` and returns
  every gate's activation at every step (what the chapter's heatmaps show);
* :func:`symbol_selectivity` measures how much of each unit's variation a label explains;
* :func:`state_gradient_norms` measures how strongly the loss depends on the hidden (and cell)
  state ``k`` steps before the end, for a trained RNN or LSTM;
* :func:`draw_lstm_cell` draws the cell as a diagram.

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


def state_gradient_norms(recurrent, head, loss_fn, x, y) -> dict:
    r"""How strongly the loss at the end of a sequence depends on each earlier state.

    Runs one layer of ``recurrent`` (an RNN or LSTM from :mod:`lstm_ref.torch` or
    ``torch.nn``, one layer, one direction) step by step in float64 on ``x``, applies
    ``head`` to the last hidden state :math:`h_T`, takes ``loss_fn(head(h_T), y)`` and
    back-propagates it to every :math:`h_t` (and :math:`c_t` for an LSTM).

    Inputs:
        recurrent: the network (its ``state_dict`` is read; the model itself is unchanged).
        head: a module mapping ``(B, H)`` to the output (it is run in float64 on a copy).
        loss_fn: ``loss_fn(output, y)``, a mean over the batch.
        x: ``(B, T, D)`` tensor; y: the targets ``loss_fn`` expects.

    Returns:
        a dict of NumPy arrays of length ``T`` indexed by the distance ``k``: entry ``k`` is
        the batch mean of :math:`\lVert \partial L^{(b)} / \partial h_{T-k} \rVert` under
        ``"h"`` (and of :math:`\lVert \partial L^{(b)} / \partial c_{T-k} \rVert` under
        ``"c"`` for an LSTM), where :math:`L^{(b)}` is sequence ``b``'s own loss.  Both are
        total derivatives, every path included (for :math:`c_t` also the one through
        :math:`h_t = o_t \odot \tanh(c_t)`), as back-propagation through time carries them.
    """
    import copy

    import torch

    from lstm_ref.torch import lstm_cell, rnn_cell

    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError(f"x must be a (B, T, D) tensor, got {type(x).__name__} "
                         f"of shape {tuple(getattr(x, 'shape', ()))}")
    params = {k: v.detach().to(torch.float64) for k, v in recurrent.state_dict().items()}
    if any(not k.endswith("_l0") for k in params):
        raise ValueError(f"state_gradient_norms needs a one-layer, one-direction network; "
                         f"its parameters are {sorted(params)}")
    W_ih, W_hh, b_ih, b_hh = (params[f"{n}_l0"] for n in
                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    hidden = W_hh.shape[1]
    gates = W_hh.shape[0] // hidden
    if gates not in (1, 4):
        raise ValueError(f"expected an RNN (H rows per weight) or an LSTM (4H rows), got "
                         f"weight_hh_l0 of shape {tuple(W_hh.shape)}")
    nonlinearity = getattr(recurrent, "nonlinearity", "tanh")
    head64 = copy.deepcopy(head).to(torch.float64)
    x = x.detach().to(torch.float64)
    batch, steps, _ = x.shape
    # zero initial states that require grad, so that every later state is in the graph
    h = x.new_zeros(batch, hidden).requires_grad_(True)
    c = x.new_zeros(batch, hidden).requires_grad_(True)
    hs, cs = [], []
    for t in range(steps):
        if gates == 4:
            h, c = lstm_cell(x[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
            c.retain_grad()
            cs.append(c)
        else:
            h = rnn_cell(x[:, t], h, W_ih, W_hh, b_ih, b_hh, nonlinearity)
        h.retain_grad()
        hs.append(h)
    loss = loss_fn(head64(h), y)
    loss.backward()

    def norms(states):
        per_step = torch.stack([s.grad.norm(dim=1).mean() for s in reversed(states)])
        return (per_step * batch).cpu().numpy()     # undo the batch mean: per-sequence loss

    result = {"h": norms(hs)}
    if gates == 4:
        result["c"] = norms(cs)
    return result


def symbol_selectivity(values, labels):
    r"""How much of each unit's variation a discrete label explains, in [0, 1].

    For every unit (column of ``values``) the ratio of the variance between the label's
    groups to the total variance (the :math:`\eta^2` of a one-way analysis of variance):
    1 when the unit's value is a function of the label, near 0 when it ignores it.  Chapter 2
    uses it to find the units of a trained LSTM whose cell state remembers the first symbol.

    Inputs:
        values: ``(N, H)`` array or tensor; labels: ``(N,)`` integer labels.
    Returns:
        ``(H,)`` NumPy array (0 for a unit that never varies).
    """
    import numpy as np

    values = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values,
                        dtype=np.float64)
    labels = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if values.ndim != 2 or labels.shape != (values.shape[0],):
        raise ValueError(f"expected values (N, H) and labels (N,), got {values.shape} and "
                         f"{labels.shape}")
    centred = values - values.mean(axis=0)
    total = (centred ** 2).sum(axis=0)
    # a unit whose spread is round-off only counts as constant
    varies = np.sqrt(total / len(values)) > 1e-12 * (1.0 + np.abs(values).max(axis=0))
    between = np.zeros(values.shape[1])
    for label in np.unique(labels):
        group = centred[labels == label]
        between += group.shape[0] * group.mean(axis=0) ** 2
    return np.where(varies, between / np.where(varies, total, 1.0), 0.0)


def draw_lstm_cell(ax=None):
    """Draw one LSTM step as a diagram: the cell state runs along the top, the gates below.

    Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 4.6))
    colours = {"f": "#d95f02", "i": "#1b9e77", "g": "#7570b3", "o": "#1f78b4"}
    arrow = dict(arrowstyle="-|>", color="#333333", lw=1.4, shrinkA=0, shrinkB=0)

    def line(start, end, **kwargs):
        ax.annotate("", xy=end, xytext=start, arrowprops={**arrow, **kwargs})

    def node(xy, text):
        ax.add_patch(Circle(xy, 0.28, facecolor="white", edgecolor="#333333", lw=1.4, zorder=3))
        ax.text(*xy, text, ha="center", va="center", fontsize=13, zorder=4)

    def gate(x, letter, function, name):
        ax.add_patch(FancyBboxPatch((x - 0.45, 2.2), 0.9, 0.7, boxstyle="round,pad=0.05",
                                    facecolor=colours[letter], edgecolor="none", alpha=0.9,
                                    zorder=3))
        ax.text(x, 2.55, function, ha="center", va="center", color="white", fontsize=12,
                zorder=4)
        ax.text(x, 3.0, f"{name} ${letter}_t$", ha="center", va="bottom", fontsize=9,
                color=colours[letter])
        line((x, 1.0), (x, 2.15))

    ax.add_patch(FancyBboxPatch((0.3, 0.4), 9.2, 5.2, boxstyle="round,pad=0.1",
                                facecolor="#f4f4f4", edgecolor="#999999", zorder=0))
    # the cell state: in at the left, out at the right, touched only by * and +
    line((-0.8, 5.0), (2.22, 5.0))
    node((2.5, 5.0), r"$\times$")
    line((2.78, 5.0), (5.72, 5.0))
    node((6.0, 5.0), "+")
    line((6.28, 5.0), (10.6, 5.0))
    ax.text(-0.9, 5.0, "$c_{t-1}$", ha="right", va="center", fontsize=13)
    ax.text(10.7, 5.0, "$c_t$", ha="left", va="center", fontsize=13)
    # h_{t-1} and x_t join on one bus that feeds all four gates
    line((-0.8, 1.0), (7.6, 1.0), arrowstyle="-")
    ax.text(-0.9, 1.0, "$h_{t-1}$", ha="right", va="center", fontsize=13)
    line((1.0, -0.5), (1.0, 1.0), arrowstyle="-")
    ax.text(1.0, -0.6, "$x_t$", ha="center", va="top", fontsize=13)
    gate(2.5, "f", r"$\sigma$", "forget")
    gate(4.2, "i", r"$\sigma$", "input")
    gate(6.0, "g", "tanh", "candidate")
    gate(7.6, "o", r"$\sigma$", "output")
    line((2.5, 3.45), (2.5, 4.72))                 # f_t scales c_{t-1}
    node((6.0, 4.0), r"$\times$")                  # i_t * g_t
    line((4.2, 3.45), (5.74, 3.9))
    line((6.0, 3.45), (6.0, 3.72))
    line((6.0, 4.28), (6.0, 4.72))
    # output: tanh(c_t) scaled by o_t
    ax.add_patch(FancyBboxPatch((8.45, 3.75), 0.9, 0.5, boxstyle="round,pad=0.05",
                                facecolor="white", edgecolor="#333333", zorder=3))
    ax.text(8.9, 4.0, "tanh", ha="center", va="center", fontsize=11, zorder=4)
    line((8.9, 5.0), (8.9, 4.3))
    node((8.9, 2.55), r"$\times$")
    line((8.9, 3.7), (8.9, 2.83))
    line((8.05, 2.55), (8.62, 2.55))
    line((9.18, 2.55), (10.6, 2.55))
    ax.text(10.7, 2.55, "$h_t$", ha="left", va="center", fontsize=13)
    ax.set_xlim(-1.8, 11.5)
    ax.set_ylim(-1.1, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("One LSTM step: the cell state runs along the top, the gates act on it")
    return ax


__all__ = ["TORCH_GATE_ORDER", "concat_to_split", "lstm_gate_trace", "state_gradient_norms",
           "symbol_selectivity", "draw_lstm_cell"]
