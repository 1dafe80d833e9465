"""Input validation shared by the NumPy models.

Every check raises ``ValueError`` with a message that says what was expected and what
was given, so that a learner never has to read a traceback from deep inside NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value, name: str) -> np.ndarray:
    """Return ``value`` as a float32/float64 array, rejecting every other dtype.

    Integer, boolean, complex and object arrays are refused rather than silently cast:
    an integer array passed as ``x`` is almost always a bug (token ids instead of
    embeddings).
    """
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists, tensors that need grad, ...
        raise ValueError(
            f"{name}: expected an array of float32 or float64, got {type(value).__name__} "
            f"that NumPy cannot convert ({error})"
        ) from None
    if array.dtype not in SUPPORTED_DTYPES:
        raise ValueError(
            f"{name}: expected dtype float32 or float64, got {array.dtype}"
            + (" (cast with .astype(np.float32) or .astype(np.float64))"
               if array.dtype.kind in "iub" else "")
        )
    return array


def check_sequence(x, input_size: int, name: str = "x") -> np.ndarray:
    """Validate a batch-first sequence ``x`` of shape (B, T, input_size)."""
    x = as_float_array(x, name)
    if x.ndim != 3:
        raise ValueError(
            f"{name}: expected a 3-D array (batch, time, features) = (B, T, {input_size}), "
            f"got {x.ndim}-D with shape {x.shape}"
        )
    batch, steps, features = x.shape
    if features != input_size:
        raise ValueError(
            f"{name}: expected feature size {input_size} (shape (B, T, {input_size})), "
            f"got {features} (shape {x.shape})"
        )
    if batch == 0 or steps == 0:
        raise ValueError(f"{name}: expected at least one sequence and one time step, got shape {x.shape}")
    return x


def check_array_shape(value, expected_shape: tuple, name: str, dtype=None) -> np.ndarray:
    """Validate that ``value`` is a float array of exactly ``expected_shape``.

    When ``dtype`` is given the array is cast to it (states follow the input's dtype).
    """
    array = as_float_array(value, name)
    if array.shape != tuple(expected_shape):
        raise ValueError(f"{name}: expected shape {tuple(expected_shape)}, got {array.shape}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def check_state_tuple(state, names: tuple[str, ...], expected_shape: tuple, dtype):
    """Validate a recurrent state: one array (RNN, GRU) or a pair ``(h, c)`` (LSTM).

    Returns a tuple of arrays, one per name in ``names``, cast to ``dtype``.
    """
    if len(names) == 1:
        if isinstance(state, (tuple, list)):
            raise ValueError(
                f"{names[0]}: expected one array of shape {tuple(expected_shape)}, "
                f"got a {type(state).__name__} of length {len(state)}"
            )
        return (check_array_shape(state, expected_shape, names[0], dtype),)
    if not isinstance(state, (tuple, list)) or len(state) != len(names):
        given = (f"a {type(state).__name__} of length {len(state)}"
                 if isinstance(state, (tuple, list)) else f"a single {type(state).__name__}")
        raise ValueError(
            f"state: expected a tuple ({', '.join(names)}) of arrays with shape "
            f"{tuple(expected_shape)}, got {given}"
        )
    return tuple(check_array_shape(s, expected_shape, n, dtype) for s, n in zip(state, names))


def check_parameter_dict(params: Mapping, expected_shapes: Mapping[str, tuple]) -> dict:
    """Validate a state_dict: the exact keys, each with the exact shape, float values.

    Arrays from PyTorch (``tensor.numpy()`` or CPU tensors themselves) are accepted.
    """
    if not isinstance(params, Mapping):
        raise ValueError(f"state_dict: expected a dict of arrays, got {type(params).__name__}")
    missing = [k for k in expected_shapes if k not in params]
    unexpected = [k for k in params if k not in expected_shapes]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        raise ValueError(
            f"state_dict: expected keys {list(expected_shapes)}, got {'; '.join(parts)}"
        )
    checked = {}
    for key, shape in expected_shapes.items():
        value = params[key]
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
            value = value.detach().cpu().numpy()
        checked[key] = check_array_shape(value, shape, f"state_dict[{key!r}]")
    return checked


def _float_ndarray(value, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise ValueError(f"{name}: expected a float array, got dtype {array.dtype}")
    return array


def check_step_inputs(gate_count: int, x_t, h_prev, W_ih, W_hh, b_ih, b_hh,
                      c_prev=None, vectors: dict | None = None) -> None:
    """Validate the arguments of a ``*_step_forward`` function (shapes and float dtypes).

    x_t (B, D), h_prev (B, H), W_ih (G*H, D), W_hh (G*H, H), b_ih and b_hh (G*H,),
    optionally c_prev (B, H) and (H,)-vectors such as peephole weights.
    """
    x_t, h_prev = _float_ndarray(x_t, "x_t"), _float_ndarray(h_prev, "h_prev")
    if x_t.ndim != 2:
        raise ValueError(f"x_t: expected a 2-D array (B, D), got shape {x_t.shape}")
    if h_prev.ndim != 2 or h_prev.shape[0] != x_t.shape[0]:
        raise ValueError(f"h_prev: expected shape (B, H) with B = {x_t.shape[0]} (from x_t), "
                         f"got {h_prev.shape}")
    batch, features = x_t.shape
    hidden = h_prev.shape[1]
    rows = gate_count * hidden
    expected = {"W_ih": ((rows, features), W_ih), "W_hh": ((rows, hidden), W_hh),
                "b_ih": ((rows,), b_ih), "b_hh": ((rows,), b_hh)}
    if c_prev is not None:
        expected["c_prev"] = ((batch, hidden), c_prev)
    for name, value in (vectors or {}).items():
        expected[name] = ((hidden,), value)
    for name, (shape, value) in expected.items():
        array = _float_ndarray(value, name)
        if array.shape != shape:
            raise ValueError(f"{name}: expected shape {shape} (G={gate_count}, H={hidden}, "
                             f"D={features}), got {array.shape}")


def check_sequence_inputs(x, h0, name_h0: str = "h0") -> None:
    """Validate the x (B, T, D) and h0 (B, H) of a sequence function."""
    x = _float_ndarray(x, "x")
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"x: expected a 3-D array (B, T, D) with T >= 1, got shape {x.shape}")
    h0 = _float_ndarray(h0, name_h0)
    if h0.ndim != 2 or h0.shape[0] != x.shape[0]:
        raise ValueError(f"{name_h0}: expected shape (B, H) with B = {x.shape[0]} (from x), "
                         f"got {h0.shape}")


def check_gradient_shape(grad, expected_shape: tuple, name: str) -> None:
    """Validate an upstream gradient passed to a backward function."""
    shape = np.shape(grad)
    if shape != tuple(expected_shape):
        raise ValueError(f"{name}: expected shape {tuple(expected_shape)}, got {shape}")
