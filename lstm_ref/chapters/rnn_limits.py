r"""How far back a vanilla RNN's gradient reaches: measurements for chapter 1.

Backpropagating through the step :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
multiplies the gradient by the Jacobian

.. math::

    \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(1 - h_t^2)\, W_{hh},

so :math:`\partial h_T / \partial h_{T-k}` is a product of ``k`` such factors.

* :func:`scale_to_spectral_radius` rescales a matrix to a chosen spectral radius;
* :func:`state_jacobian_norms` measures :math:`\lVert \partial h_T / \partial h_{T-k} \rVert_2`
  for every distance ``k`` by backpropagating the identity matrix with
  :func:`lstm_ref.numpy.rnn_step_backward`.
"""

from __future__ import annotations

import numpy as np

from lstm_ref.numpy import rnn_forward, rnn_step_backward


def spectral_radius(W: np.ndarray) -> float:
    """The largest absolute value of the eigenvalues of the square matrix ``W``."""
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square matrix, got shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def scale_to_spectral_radius(W: np.ndarray, radius: float) -> np.ndarray:
    """``W`` multiplied by a positive number so that its spectral radius is ``radius``.

    Inputs:
        W: (H, H) float matrix with at least one non-zero eigenvalue.
        radius: the target spectral radius, >= 0.
    Returns:
        (H, H) array of W's dtype: ``W * radius / spectral_radius(W)``.
    """
    W = np.asarray(W)
    if not np.issubdtype(W.dtype, np.floating):
        raise ValueError(f"W must hold floats, got dtype {W.dtype}")
    if not np.isfinite(radius) or radius < 0:
        raise ValueError(f"radius must be a finite number >= 0, got {radius!r}")
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("W has spectral radius 0 (nilpotent or zero): it cannot be rescaled")
    return (W * (radius / current)).astype(W.dtype, copy=False)


def state_jacobian_norms(x: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray,
                         b_ih: np.ndarray, b_hh: np.ndarray,
                         h0: np.ndarray | None = None) -> np.ndarray:
    r"""Spectral norms :math:`\lVert \partial h_T / \partial h_{T-k} \rVert_2`, ``k = 0 .. T``.

    The RNN (tanh) runs forward over each sequence; then the gradient of every component of
    :math:`h_T` is carried back at once: the rows of the identity matrix are ``H`` "upstream
    gradients", and after ``k`` calls of :func:`lstm_ref.numpy.rnn_step_backward` they are
    the rows of :math:`\partial h_T / \partial h_{T-k}`.  (``k = T`` reaches ``h_0``.)

    Inputs:
        x: (B, T, D) input sequences. W_ih: (H, D). W_hh: (H, H). b_ih, b_hh: (H,).
        h0: (B, H) initial states, zeros if None.
    Returns:
        norms: (B, T + 1) float64, ``norms[b, k]`` for sequence ``b`` and distance ``k``
        (``norms[:, 0]`` is 1, the norm of the identity).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (B, T, D), got shape {x.shape}")
    batch, steps, features = x.shape
    hidden = np.shape(W_hh)[0]
    expected = {"W_ih": (hidden, features), "W_hh": (hidden, hidden),
                "b_ih": (hidden,), "b_hh": (hidden,)}
    given = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
    for name, shape in expected.items():
        if np.shape(given[name]) != shape:
            raise ValueError(f"{name} must have shape {shape} for x of shape {x.shape} and "
                             f"H = {hidden}, got {np.shape(given[name])}")
    if h0 is None:
        h0 = np.zeros((batch, hidden))
    elif np.shape(h0) != (batch, hidden):
        raise ValueError(f"h0 must have shape (B, H) = {(batch, hidden)}, got {np.shape(h0)}")
    params = [np.asarray(p, dtype=np.float64) for p in (W_ih, W_hh, b_ih, b_hh)]

    # Each sequence is repeated H times so that each copy carries one row of the identity.
    x_copies = np.repeat(x, hidden, axis=0)
    h0_copies = np.repeat(np.asarray(h0, dtype=np.float64), hidden, axis=0)
    _, caches = rnn_forward(x_copies, h0_copies, *params)
    rows = np.tile(np.eye(hidden), (batch, 1))                  # dh_T / dh_T = I
    norms = np.empty((batch, steps + 1))
    norms[:, 0] = 1.0
    for k, t in enumerate(reversed(range(steps)), start=1):
        rows = rnn_step_backward(rows, caches[t]).dh_prev        # rows of dh_T / dh_{t-1}
        norms[:, k] = np.linalg.norm(rows.reshape(batch, hidden, hidden), ord=2, axis=(1, 2))
    return norms
