"""Input validation for the PyTorch models.

Each check raises ``ValueError`` with a message that names what was expected and
what was given, so that a wrong shape never surfaces as a matmul error deep inside
a time loop.
"""

from __future__ import annotations

import torch


def check_sizes(input_size, hidden_size, num_layers) -> None:
    """Check a model's sizes: positive integers."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def check_input(x, input_size: int, dtype: torch.dtype, device: torch.device,
                batch_first: bool) -> None:
    """Check the input sequence ``x`` of a recurrent model.

    Inputs:
        x: the sequence, shape ``(B, T, D)`` if ``batch_first`` else ``(T, B, D)``.
        input_size: the expected ``D``.
        dtype, device: those of the model's parameters.
    """
    layout = "(B, T, D)" if batch_first else "(T, B, D)"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"expected x to be a torch.Tensor of shape {layout}, "
                         f"got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"expected x of rank 3 with shape {layout}, "
                         f"got rank {x.dim()} with shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point x of dtype {dtype}, got dtype {x.dtype}")
    if x.shape[2] != input_size:
        raise ValueError(f"expected x.shape[2] == input_size == {input_size} "
                         f"(x has shape {layout}), got x.shape = {tuple(x.shape)}")
    if x.shape[1 if batch_first else 0] == 0:
        raise ValueError(f"expected at least one time step, got x.shape = {tuple(x.shape)}")
    if x.dtype != dtype:
        raise ValueError(f"expected x of dtype {dtype} (the parameters' dtype), got dtype "
                         f"{x.dtype}; convert the input with x.to({dtype}) or the model with .to()")
    if x.device != device:
        raise ValueError(f"expected x on device {device} (where the parameters are), "
                         f"got x on {x.device}")


def check_state(name: str, state, expected_shape: tuple, dtype: torch.dtype,
                device: torch.device) -> None:
    """Check one initial state tensor (``h0`` or ``c0``).

    Inputs:
        name: what to call it in the message, e.g. ``"h0"``.
        state: the tensor, expected shape ``(num_layers * num_directions, B, H)``.
        expected_shape, dtype, device: what it must have.
    """
    if not isinstance(state, torch.Tensor):
        raise ValueError(f"expected {name} to be a torch.Tensor of shape {expected_shape} "
                         f"(num_layers * num_directions, B, H), got {type(state).__name__}")
    if tuple(state.shape) != tuple(expected_shape):
        raise ValueError(f"expected {name} of shape {tuple(expected_shape)} "
                         f"(num_layers * num_directions, B, H), got {tuple(state.shape)}")
    if state.dtype != dtype:
        raise ValueError(f"expected {name} of dtype {dtype}, got dtype {state.dtype}")
    if state.device != device:
        raise ValueError(f"expected {name} on device {device}, got {state.device}")


def check_state_pair(state) -> tuple:
    """Check that an LSTM state is a pair ``(h0, c0)`` and return it as a tuple."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        given = (f"a {type(state).__name__} of length {len(state)}"
                 if isinstance(state, (tuple, list)) else type(state).__name__)
        raise ValueError(f"expected state to be a pair (h0, c0), got {given}")
    return tuple(state)
