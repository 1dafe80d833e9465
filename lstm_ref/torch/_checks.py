"""Input validation for the PyTorch models.

Each check raises :class:`InputError` with a message that names what was expected and
what was given, so that a wrong shape never surfaces as a matmul error deep inside a
time loop. ``InputError`` is both a ``ValueError`` (what the NumPy models raise) and a
``RuntimeError`` (what ``torch.nn.RNN/LSTM/GRU`` raise), so code written for either
catches it.
"""

from __future__ import annotations

import numbers

import torch


class InputError(ValueError, RuntimeError):
    """Bad input to a model: catch it as ``RuntimeError`` (torch.nn) or ``ValueError``."""


class ArgumentTypeError(ValueError, TypeError):
    """A constructor argument of the wrong type: ``TypeError`` in torch.nn, ``ValueError`` here."""


def check_sizes(input_size, hidden_size, num_layers) -> None:
    """Check a model's sizes: positive integers."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"expected {name} to be a positive int, got {value!r}")
        if value < 1:
            raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def check_options(module) -> None:
    """Check ``bias``, ``batch_first``, ``bidirectional``, ``dropout`` and ``proj_size``."""
    for name in ("bias", "batch_first", "bidirectional"):
        value = getattr(module, name)
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"expected {name} to be a bool, got {value!r}")
    dropout = module.dropout
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
            or not 0 <= dropout <= 1:
        raise ValueError(f"expected dropout to be a number in [0, 1] (the probability of "
                         f"zeroing an element), got {dropout!r}")
    proj_size = module.proj_size
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError(f"expected proj_size to be an int >= 0 (0: no projection), "
                         f"got {proj_size!r}")
    if proj_size >= module.hidden_size:
        raise ValueError(f"expected proj_size < hidden_size == {module.hidden_size}, "
                         f"got proj_size = {proj_size}")


def check_input(x, input_size: int, dtype: torch.dtype, device: torch.device,
                layout: str) -> None:
    """Check the input sequence ``x`` of a recurrent model (already made 3-D).

    Inputs:
        x: the sequence, time-major ``(T, B, D)`` (the caller has moved the axes).
        input_size: the expected ``D``.
        dtype, device: those of the model's parameters.
        layout: how the caller's own tensor is laid out, for the messages, e.g. ``(B, T, D)``.
    """
    if not x.is_floating_point():
        raise InputError(f"expected a floating-point x of dtype {dtype}, got dtype {x.dtype}")
    if x.shape[2] != input_size:
        raise InputError(f"expected x.shape[-1] == input_size == {input_size} "
                         f"(x has shape {layout}), got input of shape {layout_shape(x, layout)}")
    if x.shape[0] == 0:
        raise InputError(f"expected at least one time step (x has shape {layout}), "
                         f"got input of shape {layout_shape(x, layout)}")
    if x.dtype != dtype:
        raise InputError(f"expected x of dtype {dtype} (the parameters' dtype), got dtype "
                         f"{x.dtype}; convert the input with x.to({dtype}) or the model with .to()")
    if x.device != device:
        raise InputError(f"expected x on device {device} (where the parameters are), "
                         f"got x on {x.device}")


def layout_shape(x, layout: str) -> tuple:
    """The shape the caller gave, from the time-major 3-D ``x`` and the caller's layout."""
    steps, batch, features = x.shape
    return {"(T, B, D)": (steps, batch, features), "(B, T, D)": (batch, steps, features),
            "(T, D)": (steps, features)}.get(layout, tuple(x.shape))


def check_rank(x, batch_first: bool) -> None:
    """Check that ``x`` is a tensor of rank 2 (unbatched) or 3 (batched)."""
    layout = "(B, T, D)" if batch_first else "(T, B, D)"
    if not isinstance(x, torch.Tensor):
        raise InputError(f"expected x to be a torch.Tensor of shape {layout} (or (T, D) "
                         f"unbatched) or a PackedSequence, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise InputError(f"expected x of rank 3 with shape {layout} or of rank 2 with shape "
                         f"(T, D) (unbatched), got rank {x.dim()} with shape {tuple(x.shape)}")


def check_state(name: str, state, expected_shape: tuple, dtype: torch.dtype,
                device: torch.device) -> None:
    """Check one initial state tensor (``h0`` or ``c0``).

    Inputs:
        name: what to call it in the message, e.g. ``"h0"``.
        state: the tensor, expected shape ``(num_layers * num_directions, B, H)``.
        expected_shape, dtype, device: what it must have.
    """
    if not isinstance(state, torch.Tensor):
        raise InputError(f"expected {name} to be a torch.Tensor of shape {expected_shape} "
                         f"(num_layers * num_directions, B, H), got {type(state).__name__}")
    if tuple(state.shape) != tuple(expected_shape):
        raise InputError(f"expected {name} of shape {tuple(expected_shape)} "
                         f"(num_layers * num_directions, B, H), got {tuple(state.shape)}")
    if state.dtype != dtype:
        raise InputError(f"expected {name} of dtype {dtype}, got dtype {state.dtype}")
    if state.device != device:
        raise InputError(f"expected {name} on device {device}, got {state.device}")


def check_state_pair(state) -> tuple:
    """Check that an LSTM state is a pair ``(h0, c0)`` and return it as a tuple."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        given = (f"a {type(state).__name__} of length {len(state)}"
                 if isinstance(state, (tuple, list)) else type(state).__name__)
        raise InputError(f"expected hx to be a pair (h0, c0), got {given}")
    return tuple(state)
