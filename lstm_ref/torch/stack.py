"""Layers and directions: the one place that composes cells into a deep, bidirectional net.

Every model in this package is a *cell* (one time step, written out in its own file)
plus the same plumbing, which lives here:

* :func:`create_parameters` registers ``weight_ih_l{k}``, ``weight_hh_l{k}``,
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``_reverse`` twins) with ``torch.nn``'s
  names, shapes and initialisation, so ``state_dict`` s move between our models
  and ``torch.nn.RNN/LSTM/GRU``;
* :func:`scan` runs a cell over the time steps of one layer in one direction;
* :func:`run` checks the input, creates zero initial states on the input's device,
  and feeds layer ``k``'s output (both directions concatenated) to layer ``k + 1``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from lstm_ref.torch._checks import check_input, check_sizes, check_state

#: the four parameters every layer and direction has, in torch.nn's order
BASE_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def suffix(layer: int, direction: int) -> str:
    """Name suffix of a layer/direction, as in torch.nn: ``_l0``, ``_l0_reverse``, ..."""
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


def create_parameters(module: nn.Module, gate_count: int, vector_names: Sequence[str] = (),
                      dtype=None, device=None) -> None:
    """Register the parameters of every layer and direction on ``module``.

    ``module`` must already have ``input_size``, ``hidden_size``, ``num_layers`` and
    ``bidirectional``. For layer ``k`` the input size is ``D`` for ``k = 0`` and
    ``num_directions * H`` above it.

    Inputs:
        gate_count: ``G``, the number of gate blocks stacked in the weights
            (1 for the RNN, 3 for the GRU, 4 for the LSTM).
        vector_names: extra per-layer vectors of shape ``(H,)`` (the peephole weights).

    Shapes: ``weight_ih`` ``(G*H, D_in)``, ``weight_hh`` ``(G*H, H)``, biases ``(G*H,)``.
    """
    check_sizes(module.input_size, module.hidden_size, module.num_layers)
    hidden = module.hidden_size
    factory = {"dtype": dtype, "device": device}
    num_directions = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        layer_input = module.input_size if layer == 0 else num_directions * hidden
        for direction in range(num_directions):
            shapes = {
                "weight_ih": (gate_count * hidden, layer_input),
                "weight_hh": (gate_count * hidden, hidden),
                "bias_ih": (gate_count * hidden,),
                "bias_hh": (gate_count * hidden,),
            }
            shapes.update({name: (hidden,) for name in vector_names})
            for name, shape in shapes.items():
                parameter = nn.Parameter(torch.empty(shape, **factory))
                module.register_parameter(name + suffix(layer, direction), parameter)
    reset_parameters(module)


def reset_parameters(module: nn.Module) -> None:
    """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-bound, bound)


def layer_weights(module: nn.Module, names: Sequence[str], layer: int,
                  direction: int) -> list[torch.Tensor]:
    """The parameters ``names`` of one layer and direction, in that order."""
    return [getattr(module, name + suffix(layer, direction)) for name in names]


def scan(cell: Callable, x: torch.Tensor, state: tuple, weights: Sequence[torch.Tensor],
         reverse: bool = False):
    """Run ``cell`` over every time step of one layer in one direction.

    The cell is called as ``cell(x_t, *state, *weights)`` and returns the new state,
    either a tensor ``h_t`` or a tuple whose first element is ``h_t``.

    Inputs:
        x: ``(B, T, D_in)``; state: tuple of ``(B, H)`` tensors.
        reverse: walk from ``t = T-1`` down to 0 (the backward direction).

    Outputs:
        out: ``(B, T, H)``, ``h_t`` at every step (in the original time order);
        state: the final state, a tuple like the one given.
    """
    steps = range(x.shape[1])
    outputs = [None] * x.shape[1]
    for t in (reversed(steps) if reverse else steps):
        state = cell(x[:, t], *state, *weights)
        if not isinstance(state, tuple):
            state = (state,)
        outputs[t] = state[0]
    return torch.stack(outputs, dim=1), state


def run(module: nn.Module, x: torch.Tensor, state, state_names: Sequence[str],
        layer_fn: Callable, weight_names: Sequence[str] = BASE_WEIGHTS):
    """Forward pass of a stacked (and possibly bidirectional) recurrent net.

    Inputs:
        x: ``(B, T, D)`` if ``module.batch_first`` else ``(T, B, D)``.
        state: ``None`` (zeros) or a tuple of tensors of shape
            ``(num_layers * num_directions, B, H)``, one per name in ``state_names``.
        layer_fn: ``layer_fn(x, state, weights, reverse) -> (out, final_state)`` for one
            layer and direction, e.g. ``functools.partial(scan, cell)``.
        weight_names: which parameters ``layer_fn`` receives, in order.

    Outputs:
        out: ``(B, T, num_directions * H)`` (time-major if not ``batch_first``);
        final: tuple of ``(num_layers * num_directions, B, H)`` tensors.
    """
    reference = module.weight_ih_l0
    check_input(x, module.input_size, reference.dtype, reference.device, module.batch_first)
    if not module.batch_first:
        x = x.transpose(0, 1)
    num_directions = 2 if module.bidirectional else 1
    state_shape = (module.num_layers * num_directions, x.shape[0], module.hidden_size)
    if state is None:
        # created from x, so they live on x's device with x's dtype
        state = tuple(x.new_zeros(state_shape) for _ in state_names)
    for name, tensor in zip(state_names, state):
        check_state(name, tensor, state_shape, x.dtype, x.device)

    layer_input = x
    finals = []
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(num_directions):
            index = layer * num_directions + direction
            weights = layer_weights(module, weight_names, layer, direction)
            out, final = layer_fn(layer_input, tuple(s[index] for s in state), weights,
                                  reverse=direction == 1)
            outputs.append(out)
            finals.append(final)
        layer_input = torch.cat(outputs, dim=2) if num_directions == 2 else outputs[0]

    final_state = tuple(torch.stack([f[i] for f in finals]) for i in range(len(state_names)))
    out = layer_input if module.batch_first else layer_input.transpose(0, 1)
    return out, final_state


def extra_repr(module: nn.Module) -> str:
    """The one-line summary printed by ``repr(module)``."""
    text = f"{module.input_size}, {module.hidden_size}"
    if module.num_layers != 1:
        text += f", num_layers={module.num_layers}"
    if module.bidirectional:
        text += ", bidirectional=True"
    if not module.batch_first:
        text += ", batch_first=False"
    return text
