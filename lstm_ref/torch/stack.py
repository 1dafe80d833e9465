"""Layers and directions: the one place that composes cells into a deep, bidirectional net.

Every model in this package is a *cell* (one time step, written out in its own file)
plus the same plumbing, which lives here:

* :class:`RecurrentBase` holds what ``torch.nn.RNNBase`` holds (``input_size``,
  ``hidden_size``, ``num_layers``, ``bias``, ``batch_first``, ``dropout``,
  ``bidirectional``, ``proj_size``), checks it as ``torch.nn`` does, and prints as
  ``torch.nn`` prints;
* :func:`create_parameters` registers ``weight_ih_l{k}``, ``weight_hh_l{k}``,
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}``, ``_reverse`` twins) with
  ``torch.nn``'s names, shapes, order and initialisation, so ``state_dict`` s move between
  our models and ``torch.nn.RNN/LSTM/GRU``;
* :func:`scan` runs a cell over the time steps of one layer in one direction;
* :func:`run` accepts what ``torch.nn`` accepts (time-major, batch-first or unbatched
  tensors, or a ``PackedSequence``; ``hx`` or zeros), checks it, and feeds layer ``k``'s
  output (both directions concatenated, dropout in training) to layer ``k + 1``.

Inside, sequences are time-major, ``(T, B, D)``, as in ``torch.nn``.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstm_ref.torch._checks import (InputError, check_input, check_options, check_rank,
                                    check_sizes, check_state)

#: the four parameters every layer and direction has, in torch.nn's order
BASE_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def suffix(layer: int, direction: int) -> str:
    """Name suffix of a layer/direction, as in torch.nn: ``_l0``, ``_l0_reverse``, ..."""
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


class RecurrentBase(nn.Module):
    """What every model shares: ``torch.nn.RNNBase``'s attributes, checks and printing.

    Subclasses call :meth:`setup` from their ``__init__`` (which spells out the
    ``torch.nn`` signature) and implement ``forward`` with :func:`run`.
    """

    def setup(self, input_size, hidden_size, num_layers, bias, batch_first, dropout,
              bidirectional, proj_size, gate_count, vector_names=(), dtype=None, device=None):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        check_sizes(input_size, hidden_size, num_layers)
        check_options(self)
        self.dropout = float(dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout acts between recurrent layers (not after the last one), "
                          f"so dropout={dropout} with num_layers=1 has no effect",
                          stacklevel=3)
        create_parameters(self, gate_count, vector_names, dtype=dtype, device=device)

    def reset_parameters(self):
        reset_parameters(self)

    def flatten_parameters(self):
        """Does nothing: there is no cuDNN weight buffer to compact (as torch.nn on the CPU)."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters of each layer and direction, as ``torch.nn``'s ``all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        return extra_repr(self)


def create_parameters(module: nn.Module, gate_count: int, vector_names: Sequence[str] = (),
                      dtype=None, device=None) -> None:
    """Register the parameters of every layer and direction on ``module``.

    ``module`` must already have ``input_size``, ``hidden_size``, ``num_layers``,
    ``bidirectional`` and optionally ``bias`` (default True) and ``proj_size`` (default 0).
    For layer ``k`` the input size is ``D`` for ``k = 0`` and ``num_directions * H_out``
    above it, where ``H_out`` is ``proj_size`` if set, else ``H``.

    Inputs:
        gate_count: ``G``, the number of gate blocks stacked in the weights
            (1 for the RNN, 3 for the GRU, 4 for the LSTM).
        vector_names: extra per-layer vectors of shape ``(H,)`` (the peephole weights).

    Shapes: ``weight_ih`` ``(G*H, D_in)``, ``weight_hh`` ``(G*H, H_out)``, biases ``(G*H,)``,
    ``weight_hr`` ``(P, H)`` (only with ``proj_size = P > 0``).
    """
    check_sizes(module.input_size, module.hidden_size, module.num_layers)
    hidden = module.hidden_size
    bias = getattr(module, "bias", True)
    proj_size = getattr(module, "proj_size", 0)
    hidden_out = proj_size or hidden
    factory = {"dtype": dtype, "device": device}
    num_directions = 2 if module.bidirectional else 1
    module._all_weights = []
    for layer in range(module.num_layers):
        layer_input = module.input_size if layer == 0 else num_directions * hidden_out
        for direction in range(num_directions):
            shapes = {"weight_ih": (gate_count * hidden, layer_input),
                      "weight_hh": (gate_count * hidden, hidden_out)}
            if bias:
                shapes.update(bias_ih=(gate_count * hidden,), bias_hh=(gate_count * hidden,))
            if proj_size:
                shapes["weight_hr"] = (proj_size, hidden)
            shapes.update({name: (hidden,) for name in vector_names})
            names = []
            for name, shape in shapes.items():
                parameter = nn.Parameter(torch.empty(shape, **factory))
                module.register_parameter(name + suffix(layer, direction), parameter)
                names.append(name + suffix(layer, direction))
            module._all_weights.append(names)
    reset_parameters(module)


def reset_parameters(module: nn.Module) -> None:
    """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-bound, bound)


def layer_weights(module: nn.Module, names: Sequence[str], layer: int,
                  direction: int) -> list[torch.Tensor]:
    """The parameters ``names`` of one layer and direction, in that order.

    Without biases (``bias=False``) the biases are zeros that need no gradient, so every
    cell can add them as if they were there.
    """
    weights = []
    for name in names:
        parameter = getattr(module, name + suffix(layer, direction), None)
        if parameter is None and name.startswith("bias_"):
            rows = getattr(module, "weight_ih" + suffix(layer, direction)).shape[0]
            parameter = module.weight_ih_l0.new_zeros(rows)
        weights.append(parameter)
    return weights


def scan(cell: Callable, x: torch.Tensor, state: tuple, weights: Sequence[torch.Tensor],
         reverse: bool = False, mask=None):
    """Run ``cell`` over every time step of one layer in one direction.

    The cell is called as ``cell(x_t, *state, *weights)`` and returns the new state,
    either a tensor ``h_t`` or a tuple whose first element is ``h_t``.

    Inputs:
        x: ``(T, B, D_in)``, time-major; state: tuple of ``(B, H)`` tensors.
        reverse: walk from ``t = T-1`` down to 0 (the backward direction).
        mask: ``None``, or per step a ``(B, 1)`` bool tensor, False where a sequence has
            already ended (a padded step): there the state is carried over unchanged, so
            each sequence's final state is the one at its own last step, and the reversed
            direction starts at each sequence's own last step.

    Outputs:
        out: ``(T, B, H)``, ``h_t`` at every step (in the original time order);
        state: the final state, a tuple like the one given.
    """
    steps = range(x.shape[0])
    outputs = [None] * x.shape[0]
    for t in (reversed(steps) if reverse else steps):
        new_state = cell(x[t], *state, *weights)
        if not isinstance(new_state, tuple):
            new_state = (new_state,)
        if mask is not None:
            new_state = tuple(torch.where(mask[t], new, old)
                              for new, old in zip(new_state, state))
        state = new_state
        outputs[t] = state[0]
    return torch.stack(outputs), state


def run(module: nn.Module, x, hx, state_names: Sequence[str], layer_fn: Callable,
        weight_names: Sequence[str] = BASE_WEIGHTS, state_sizes: Sequence[int] | None = None):
    """Forward pass of a stacked (and possibly bidirectional) recurrent net, as torch.nn's.

    Inputs:
        x: ``(T, B, D)``, or ``(B, T, D)`` if ``module.batch_first``, or ``(T, D)``
            (unbatched), or a ``PackedSequence`` (sequences of different lengths).
        hx: ``None`` (zeros) or a tuple of tensors of shape
            ``(num_layers * num_directions, B, H)`` (``(num_layers * num_directions, H)``
            unbatched), one per name in ``state_names``, in the caller's batch order.
        layer_fn: ``layer_fn(x, state, weights, reverse=..., mask=...) -> (out, final)``
            for one layer and direction on time-major ``x``, e.g.
            ``functools.partial(scan, cell)``.
        weight_names: which parameters ``layer_fn`` receives, in order.
        state_sizes: the last dimension of each state (default ``hidden_size`` for all).

    Outputs:
        out: like ``x``: ``(T, B, num_directions * H)`` (batch-first if ``batch_first``,
            ``(T, num_directions * H)`` unbatched, a ``PackedSequence`` if ``x`` is one),
            always contiguous;
        final: tuple of ``(num_layers * num_directions, B, H)`` tensors.
    """
    reference = module.weight_ih_l0
    packed = isinstance(x, PackedSequence)
    mask = None
    if packed:
        batch_sizes, sorted_indices, unsorted_indices = (
            x.batch_sizes, x.sorted_indices, x.unsorted_indices)
        if not isinstance(x.data, torch.Tensor) or x.data.dim() != 2:
            raise InputError(f"expected a PackedSequence whose data has shape (N, D), got "
                             f"{tuple(getattr(x.data, 'shape', ()))}")
        x, lengths = pad_packed_sequence(PackedSequence(x.data, x.batch_sizes))
        if lengths.numel() and lengths[-1] != lengths[0]:       # lengths are sorted
            steps = torch.arange(x.shape[0]).unsqueeze(1)
            mask = (steps < lengths.unsqueeze(0)).to(x.device).unsqueeze(2).unbind(0)
        if hx is not None and sorted_indices is not None:
            hx = tuple(s.index_select(1, sorted_indices) if isinstance(s, torch.Tensor)
                       else s for s in hx)
        layout, batched = "(T, B, D)", True
    else:
        check_rank(x, module.batch_first)
        batched = x.dim() == 3
        if batched:
            layout = "(B, T, D)" if module.batch_first else "(T, B, D)"
            if module.batch_first:
                x = x.transpose(0, 1)
        else:
            layout = "(T, D)"
            x = x.unsqueeze(1)
        if hx is not None:
            want = 3 if batched else 2
            given = [s.dim() for s in hx if isinstance(s, torch.Tensor)]
            if any(rank != want for rank in given):
                raise InputError(f"for {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                                 f"expected {' and '.join(state_names)} of rank {want}, got "
                                 f"rank {', '.join(map(str, given))}")
            if not batched:
                hx = tuple(s.unsqueeze(1) for s in hx)
    check_input(x, module.input_size, reference.dtype, reference.device, layout)

    num_directions = 2 if module.bidirectional else 1
    sizes = state_sizes or [module.hidden_size] * len(state_names)
    shapes = [(module.num_layers * num_directions, x.shape[1], size) for size in sizes]
    if hx is None:
        # created from x, so they live on x's device with x's dtype
        hx = tuple(x.new_zeros(shape) for shape in shapes)
    for name, tensor, shape in zip(state_names, hx, shapes):
        check_state(name, tensor, shape, x.dtype, x.device)

    layer_input = x
    finals = []
    for layer in range(module.num_layers):
        if layer > 0 and module.dropout > 0 and module.training:
            layer_input = nn.functional.dropout(layer_input, module.dropout, training=True)
        outputs = []
        for direction in range(num_directions):
            index = layer * num_directions + direction
            weights = layer_weights(module, weight_names, layer, direction)
            out, final = layer_fn(layer_input, tuple(s[index] for s in hx), weights,
                                  reverse=direction == 1, mask=mask)
            outputs.append(out)
            finals.append(final)
        layer_input = torch.cat(outputs, dim=2) if num_directions == 2 else outputs[0]

    final_state = tuple(torch.stack([f[i] for f in finals]) for i in range(len(state_names)))
    out = layer_input
    if packed:
        data = pack_padded_sequence(out, lengths).data
        out = PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)
        if unsorted_indices is not None:
            final_state = tuple(s.index_select(1, unsorted_indices) for s in final_state)
        return out, final_state
    if not batched:
        return out.squeeze(1).contiguous(), tuple(s.squeeze(1) for s in final_state)
    if module.batch_first:
        out = out.transpose(0, 1)
    return out.contiguous(), final_state


def extra_repr(module: nn.Module) -> str:
    """The one-line summary printed by ``repr(module)``: exactly ``torch.nn``'s."""
    text = f"{module.input_size}, {module.hidden_size}"
    if getattr(module, "proj_size", 0) != 0:
        text += f", proj_size={module.proj_size}"
    if module.num_layers != 1:
        text += f", num_layers={module.num_layers}"
    if getattr(module, "bias", True) is not True:
        text += f", bias={module.bias}"
    if module.batch_first is not False:
        text += f", batch_first={module.batch_first}"
    if getattr(module, "dropout", 0) != 0:
        text += f", dropout={module.dropout}"
    if module.bidirectional is not False:
        text += f", bidirectional={module.bidirectional}"
    return text
