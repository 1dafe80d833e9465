"""How many parameters a recurrent network has, from its sizes alone (chapter 4).

Every layer and direction of an RNN, GRU or LSTM holds ``weight_ih`` ``(G*H, D_in)``,
``weight_hh`` ``(G*H, H)`` and two biases ``(G*H,)``, with ``G`` gate blocks (1, 3, 4).
Layer 0 reads the input (``D_in = D``); a layer above reads the outputs of both directions
of the layer below (``D_in = num_directions * H``).  A peephole LSTM adds three ``(H,)``
vectors per layer and direction.  :func:`parameter_count` adds it up; the tests check it
against ``torch.nn`` and the package's own models.
"""

from __future__ import annotations

#: Gate blocks stacked in the weights of each kind of layer (torch.nn's layout).
GATE_COUNT = {"rnn": 1, "gru": 3, "lstm": 4, "peephole": 4}
#: Extra (H,)-vectors per layer and direction (the peephole weights w_ci, w_cf, w_co).
EXTRA_VECTORS = {"rnn": 0, "gru": 0, "lstm": 0, "peephole": 3}


def _check_size(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def parameter_count(kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    bidirectional: bool = False) -> int:
    """Number of scalar parameters of a ``kind`` network ("rnn", "gru", "lstm", "peephole").

    Equals ``sum(p.numel() for p in torch.nn.LSTM(input_size, hidden_size, num_layers,
    bidirectional=bidirectional).parameters())`` for ``kind="lstm"``, and likewise for
    ``torch.nn.RNN`` / ``torch.nn.GRU``.
    """
    if kind not in GATE_COUNT:
        raise ValueError(f"kind must be one of {sorted(GATE_COUNT)}, got {kind!r}")
    input_size = _check_size(input_size, "input_size")
    hidden = _check_size(hidden_size, "hidden_size")
    num_layers = _check_size(num_layers, "num_layers")
    directions = 2 if bidirectional else 1
    gates = GATE_COUNT[kind]
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden
        per_direction = gates * hidden * (layer_input + hidden + 2) + EXTRA_VECTORS[kind] * hidden
        total += directions * per_direction
    return total


def matched_hidden_size(kind: str, target_params: int, input_size: int,
                        num_layers: int = 1, bidirectional: bool = False,
                        num_classes: int = 0) -> int:
    """The hidden size ``H`` whose parameter count is nearest ``target_params``.

    The count is :func:`parameter_count` plus, when ``num_classes > 0``, a linear head
    ``(num_classes, d*H)`` with a bias on top (``d`` = 2 if bidirectional), the
    :class:`lstm_ref.chapters.variants.Tagger` layout.  The count grows with ``H``, so the
    nearest is one of the two sizes around ``target_params``; a tie goes to the smaller
    ``H``.  Use it to compare cells at (nearly) equal size: e.g. the RNN that matches an
    LSTM of width 32.
    """
    target = _check_size(target_params, "target_params")
    if (isinstance(num_classes, bool) or int(num_classes) != num_classes
            or num_classes < 0):
        raise ValueError(f"num_classes must be an integer >= 0, got {num_classes!r}")
    directions = 2 if bidirectional else 1

    def total(hidden: int) -> int:
        head = num_classes * (directions * hidden + 1) if num_classes else 0
        body = parameter_count(kind, input_size, hidden, num_layers, bidirectional)
        return body + head

    hidden = 1
    while total(hidden + 1) <= target:
        hidden += 1
    if total(hidden) > target:   # even H = 1 is larger than the target
        return 1
    above = hidden + 1
    return above if total(above) - target < target - total(hidden) else hidden


def count_with_head(kind: str, input_size: int, hidden_size: int, num_classes: int,
                    num_layers: int = 1, bidirectional: bool = False) -> int:
    """:func:`parameter_count` plus a linear head of ``num_classes`` outputs."""
    directions = 2 if bidirectional else 1
    num_classes = _check_size(num_classes, "num_classes")
    return (parameter_count(kind, input_size, hidden_size, num_layers, bidirectional)
            + num_classes * (directions * _check_size(hidden_size, "hidden_size") + 1))
