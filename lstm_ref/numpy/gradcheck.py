"""Numerical gradient checks: is a hand-written backward pass right?

Central differences approximate each partial derivative with an error of order eps²:

    dL/dθ_j ≈ (L(θ + eps e_j) - L(θ - eps e_j)) / (2 eps)

Compare in float64. With eps = 1e-6 the quotient carries a round-off error near 1e-10, so
entries whose true gradient is ~1e-5 can only be checked to ~1e-5 relative error; the
fourth-order stencil (``order=4``, eps = 1e-3) brings that down to ~1e-8. A wrong backward
pass shows relative errors near 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6,
                       order: int = 2) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``order=2``: (f(θ+ε) - f(θ-ε)) / 2ε, error O(ε²) -- the textbook formula.
    ``order=4``: (8[f(θ+ε) - f(θ-ε)] - [f(θ+2ε) - f(θ-2ε)]) / 12ε, error O(ε⁴); with
    ε = 1e-3 its round-off is a thousand times smaller, which matters for gradient
    entries near 1e-6 (their relative error is otherwise dominated by round-off).

    ``array`` is perturbed IN PLACE, one element at a time, and restored, so ``f`` must read
    it (e.g. a model parameter or an input that ``f`` closes over).
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        raise ValueError(
            "numerical_gradient: expected a float64 ndarray to perturb in place, got "
            f"{type(array).__name__} with dtype {getattr(array, 'dtype', None)}")
    if order not in (2, 4):
        raise ValueError(f"numerical_gradient: expected order 2 or 4, got {order!r}")

    def f_at(index, offset):
        array[index] = original + offset
        return float(f())

    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        central = f_at(index, eps) - f_at(index, -eps)
        if order == 2:
            grad[index] = central / (2 * eps)
        else:
            wide = f_at(index, 2 * eps) - f_at(index, -2 * eps)
            grad[index] = (8 * central - wide) / (12 * eps)
        array[index] = original
    return grad


def max_relative_error(analytic, numeric, floor: float = 1e-8) -> float:
    """max over elements of |a - n| / max(|a| + |n|, floor).

    The floor keeps elements whose true gradient is zero from dividing round-off by zero.
    """
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"max_relative_error: expected equal shapes, got {analytic.shape} and {numeric.shape}")
    if analytic.size == 0:
        return 0.0
    denominator = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return float(np.max(np.abs(analytic - numeric) / denominator))


def _as_state_tuple(final):
    return final if isinstance(final, tuple) else (final,)


def _check_model(model, x, state, eps, order, seed) -> dict[str, float]:
    if any(p.dtype != np.float64 for p in model.params.values()):
        raise ValueError("check_gradients: expected a model with float64 parameters "
                         "(dtype=np.float64); float32 differences are too coarse")
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    out, final = model.forward(x, state)
    finals = _as_state_tuple(final)
    if state is None:  # check the initial-state gradient at the zero state
        state = tuple(np.zeros_like(s) for s in finals)
    state = tuple(np.array(s, dtype=np.float64) for s in _as_state_tuple(state))
    call_state = state if len(state) > 1 else state[0]
    # L = sum(out * R) + sum_k sum(final_k * S_k): random projections exercise every output
    project_out = rng.standard_normal(out.shape)
    project_final = tuple(rng.standard_normal(s.shape) for s in finals)

    def loss() -> float:
        out, final = model.forward(x, call_state)
        total = np.sum(out * project_out)
        for value, weight in zip(_as_state_tuple(final), project_final):
            total += np.sum(value * weight)
        return float(total)

    model.forward(x, call_state)
    dstate = project_final if len(project_final) > 1 else project_final[0]
    dx, dinitial = model.backward(project_out, dstate)
    analytic = {name: g.copy() for name, g in model.grads.items()}
    analytic["x"] = dx
    names = ("h0", "c0")[:len(state)]
    for name, value in zip(names, _as_state_tuple(dinitial)):
        analytic[name] = value
    arrays = dict(model.params, x=x, **dict(zip(names, state)))
    return {name: max_relative_error(analytic[name], numerical_gradient(loss, arrays[name], eps, order))
            for name in analytic}


def check_gradients(model_or_fn, x=None, state=None, *, arrays: Mapping | None = None,
                    eps: float = 1e-3, order: int = 4, seed: int = 0) -> dict[str, float]:
    """Max relative error between analytic and numerical gradients, per array.

    Two ways to call it:

    * ``check_gradients(model, x, state=None)`` for the models of :mod:`lstm_ref.numpy`
      (float64). The loss is a random projection of the output and of the final states;
      the report covers every parameter plus ``"x"``, ``"h0"`` (and ``"c0"``).
    * ``check_gradients(fn, arrays={"W": W, ...})`` where ``fn(arrays) -> (loss, grads)``
      returns the scalar loss and a dict of analytic gradients with the same keys; the
      float64 arrays are perturbed in place.

    Differences are fourth-order central differences with eps = 1e-3 by default
    (see :func:`numerical_gradient`). Returns ``{name: max relative error}``; below about
    1e-6 means the backward pass agrees.
    """
    if hasattr(model_or_fn, "forward") and hasattr(model_or_fn, "backward"):
        if x is None:
            raise ValueError("check_gradients: expected an input x for the model, got None")
        return _check_model(model_or_fn, x, state, eps, order, seed)
    if not callable(model_or_fn):
        raise ValueError("check_gradients: expected a model with forward/backward or a "
                         f"callable fn(arrays) -> (loss, grads), got {type(model_or_fn).__name__}")
    if not arrays:
        raise ValueError("check_gradients: expected arrays={name: float64 array} for fn, got none")
    _, analytic = model_or_fn(arrays)
    missing = [name for name in arrays if name not in analytic]
    if missing:
        raise ValueError(f"check_gradients: expected fn to return gradients for {list(arrays)}, "
                         f"missing {missing}")
    analytic = {name: np.array(analytic[name], dtype=np.float64) for name in arrays}
    return {name: max_relative_error(
                analytic[name],
                numerical_gradient(lambda: model_or_fn(arrays)[0], arrays[name], eps, order))
            for name in arrays}
