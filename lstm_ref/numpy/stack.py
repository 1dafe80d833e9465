"""Layers and directions: the one place where single-direction recurrences are composed.

Every cell module (``rnn.py``, ``lstm.py``, ``gru.py``, ``peephole.py``) provides a pair of
functions that run ONE layer in ONE direction over a whole sequence:

    forward(x, state, params)        -> out (B, T, H), final_state, cache
    backward(dout, dfinal_state, cache) -> dx (B, T, D_in), dinitial_state, grads

where ``state`` is a tuple ``(h,)`` or ``(h, c)`` of (B, H) arrays and ``params`` is a dict
with the short names ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (plus any extra
vectors such as the peepholes). :class:`RecurrentStack` does the rest, exactly as
``torch.nn.LSTM`` does:

* the backward direction is the forward recurrence run on the time-reversed sequence,
  its output reversed back;
* the two directions' outputs are concatenated along the feature axis, giving
  (B, T, 2H), and that is the input of the next layer;
* states are stacked as (num_layers * num_directions, B, H), index = layer * D + direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._checks import (
    SUPPORTED_DTYPES,
    check_array_shape,
    check_parameter_dict,
    check_sequence,
    check_state_tuple,
)

BASE_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass(frozen=True)
class CellSpec:
    """What the stack needs to know about one kind of recurrent layer."""

    gate_count: int                      # G: blocks stacked in weight_ih (1, 3 or 4)
    state_names: tuple[str, ...]         # ("h0",) or ("h0", "c0"), used in error messages
    forward: Callable                    # one layer, one direction (see module docstring)
    backward: Callable
    extra_vectors: tuple[str, ...] = ()  # (H,)-shaped parameters, e.g. peephole weights
    # when True, forward also receives ``previous=``: the cache of the same layer and
    # direction from the previous call (or None), whose buffers it may recycle
    recycles_cache: bool = False


def parameter_shapes(input_size: int, hidden_size: int, num_layers: int,
                     bidirectional: bool, gate_count: int,
                     extra_vectors: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Names and shapes of all parameters, in ``torch.nn.LSTM``'s state_dict order."""
    num_directions = 2 if bidirectional else 1
    shapes = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else hidden_size * num_directions
        for suffix in ("", "_reverse")[:num_directions]:
            shapes[f"weight_ih_l{layer}{suffix}"] = (gate_count * hidden_size, layer_input)
            shapes[f"weight_hh_l{layer}{suffix}"] = (gate_count * hidden_size, hidden_size)
            shapes[f"bias_ih_l{layer}{suffix}"] = (gate_count * hidden_size,)
            shapes[f"bias_hh_l{layer}{suffix}"] = (gate_count * hidden_size,)
            for name in extra_vectors:
                shapes[f"{name}_l{layer}{suffix}"] = (hidden_size,)
    return shapes


def _check_size(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


class RecurrentStack:
    """Parameters, state_dict, and the layer/direction loops shared by the four models.

    Subclasses build a :class:`CellSpec` and expose ``forward``/``backward`` with the
    return types of the public API (``out, h_n`` or ``out, (h_n, c_n)``).
    """

    def __init__(self, cell: CellSpec, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, *, seed=None, rng=None, dtype=np.float64):
        self.input_size = _check_size(input_size, "input_size")
        self.hidden_size = _check_size(hidden_size, "hidden_size")
        self.num_layers = _check_size(num_layers, "num_layers")
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        if np.dtype(dtype) not in SUPPORTED_DTYPES:
            raise ValueError(f"dtype: expected float32 or float64, got {np.dtype(dtype)}")
        self.dtype = np.dtype(dtype)
        if seed is not None and rng is not None:
            raise ValueError("expected at most one of seed and rng, got both")
        if rng is None:
            rng = np.random.default_rng(seed)
        self.cell = cell
        self._shapes = parameter_shapes(input_size, hidden_size, num_layers, bidirectional,
                                        cell.gate_count, cell.extra_vectors)
        # As in torch.nn: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).
        bound = 1.0 / np.sqrt(hidden_size)
        #: The live parameter arrays (optimisers update these in place).
        self.params = {name: rng.uniform(-bound, bound, size=shape).astype(self.dtype)
                       for name, shape in self._shapes.items()}
        #: Gradients of the last backward call, keyed like :meth:`state_dict`.
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None

    # ------------------------------------------------------------------ parameters
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, named and shaped exactly as in ``torch.nn``."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state_dict) -> None:
        """Copy parameters in; keys and shapes must match exactly (ValueError otherwise).

        Accepts the dict of a ``torch.nn`` module: ``{k: v.numpy() for k, v in
        module.state_dict().items()}`` (CPU tensors themselves work too).
        """
        checked = check_parameter_dict(state_dict, self._shapes)
        for name, value in checked.items():
            np.copyto(self.params[name], value, casting="unsafe")

    def _direction_params(self, layer: int, direction: int, dtype) -> dict[str, np.ndarray]:
        suffix = "_reverse" if direction == 1 else ""
        names = BASE_PARAMETERS + self.cell.extra_vectors
        return {short: self.params[f"{short}_l{layer}{suffix}"].astype(dtype, copy=False)
                for short in names}

    def _state_shape(self, batch: int) -> tuple[int, int, int]:
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    # ------------------------------------------------------------------ sequences
    def _forward(self, x, state):
        """Run all layers and directions; returns out (B, T, D*H) and a tuple of final states."""
        x = check_sequence(x, self.input_size)
        dtype = x.dtype
        batch, steps, _ = x.shape
        shape = self._state_shape(batch)
        names = self.cell.state_names
        if state is None:
            initial = tuple(np.zeros(shape, dtype) for _ in names)
        else:
            initial = check_state_tuple(state, names, shape, dtype)
        finals = tuple(np.empty(shape, dtype) for _ in names)
        previous = self._cache[0] if self._cache is not None else []
        self._cache = None          # its buffers may be recycled below
        caches = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                params = self._direction_params(layer, direction, dtype)
                sequence = layer_input if direction == 0 else layer_input[:, ::-1]
                extra = {}
                if self.cell.recycles_cache:
                    extra["previous"] = previous[index] if index < len(previous) else None
                out, final, cache = self.cell.forward(
                    sequence, tuple(s[index] for s in initial), params, **extra)
                if direction == 1:
                    out = out[:, ::-1]
                for stacked, value in zip(finals, final):
                    stacked[index] = value
                outputs.append(out)
                caches.append(cache)
            layer_input = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)
        self._cache = (caches, x.shape, dtype)
        return layer_input, finals

    def _backward(self, dout, dstate):
        """Backpropagate through all layers and directions; fills ``self.grads``."""
        if self._cache is None:
            raise ValueError("backward: expected a previous call to forward, got none")
        caches, (batch, steps, _), dtype = self._cache
        hidden = self.hidden_size
        dout = check_array_shape(dout, (batch, steps, self.num_directions * hidden), "dout", dtype)
        shape = self._state_shape(batch)
        names = tuple("d" + n.replace("0", "_n") for n in self.cell.state_names)
        if dstate is None:
            dfinals = tuple(np.zeros(shape, dtype) for _ in names)
        else:
            dfinals = check_state_tuple(dstate, names, shape, dtype)
        dinitial = tuple(np.empty(shape, dtype) for _ in names)
        grads = {}
        d_layer_output = dout
        for layer in reversed(range(self.num_layers)):
            d_layer_input = None
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                suffix = "_reverse" if direction == 1 else ""
                d_out = d_layer_output[..., direction * hidden:(direction + 1) * hidden]
                if direction == 1:
                    d_out = d_out[:, ::-1]
                dx, d_state0, direction_grads = self.cell.backward(
                    d_out, tuple(d[index] for d in dfinals), caches[index])
                if direction == 1:
                    dx = dx[:, ::-1]
                d_layer_input = dx if d_layer_input is None else d_layer_input + dx
                for stacked, value in zip(dinitial, d_state0):
                    stacked[index] = value
                for short, value in direction_grads.items():
                    grads[f"{short}_l{layer}{suffix}"] = value
            d_layer_output = d_layer_input
        self.grads = {name: grads[name] for name in self._shapes}
        return np.ascontiguousarray(d_layer_output), dinitial

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_size={self.input_size}, "
                f"hidden_size={self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dtype={self.dtype.name})")
