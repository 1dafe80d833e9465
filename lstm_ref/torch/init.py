"""Two initialisations for LSTMs: a positive forget-gate bias and orthogonal recurrent weights.

Both work on any module whose LSTM parameters follow ``torch.nn``'s names and layout
(``weight_hh*``, ``bias_ih*``, ``bias_hh*``, gate blocks stacked i, f, g, o): ``torch.nn.LSTM``,
``lstm_ref.torch.LSTM``, :class:`lstm_ref.torch.layernorm_lstm.LayerNormLSTM`, or a model that holds
one of them (the names are matched anywhere in the parameter's dotted name).

* :func:`set_forget_bias` -- Gers et al. (2000) and Jozefowicz et al. (2015): starting with
  :math:`f_t = \\sigma(b_f)` near 1 lets the cell state (and its gradient) pass through many
  steps from the first update on, instead of decaying by about one half per step.
* :func:`chrono_init_` -- Tallec & Ollivier (2018): forget-gate biases
  :math:`b_f = \\log u`, :math:`u \\sim U[1, T_{\\max} - 1]`, and input-gate biases
  :math:`b_i = -b_f`, so the units start with memory time scales spread between 1 and
  about :math:`T_{\\max}` steps (a unit with :math:`f = \\sigma(b_f)` keeps
  :math:`f^k \\approx e^{-k/u}` of its content after ``k`` steps).
* :func:`orthogonal_recurrent_` -- every gate's ``(H, H)`` block of ``W_h`` becomes a random
  orthogonal matrix: all its singular values are 1, so it neither shrinks nor grows the
  vector it multiplies.
"""

from __future__ import annotations

import torch
from torch import nn


def _lstm_parameters(module: nn.Module, kind: str) -> list[tuple[str, nn.Parameter]]:
    found = [(name, p) for name, p in module.named_parameters()
             if name.rsplit(".", 1)[-1].startswith(kind)]
    if not found:
        raise ValueError(f"module: expected LSTM parameters named {kind}* (torch.nn layout), "
                         f"found none among {[n for n, _ in module.named_parameters()][:8]}")
    for name, p in found:
        if p.shape[0] % 4:
            raise ValueError(f"{name}: expected 4H rows (gates i, f, g, o), got shape "
                             f"{tuple(p.shape)}")
    return found


@torch.no_grad()
def set_forget_bias(module: nn.Module, value: float) -> nn.Module:
    """Set the forget gate's total bias ``b_xf + b_hf`` to ``value`` in every LSTM layer.

    ``bias_ih``'s forget block gets ``value`` and ``bias_hh``'s forget block gets 0; the other
    gates' biases are left as they are.  Returns ``module``.
    """
    value = float(value)
    for kind, fill in (("bias_ih", value), ("bias_hh", 0.0)):
        for _, p in _lstm_parameters(module, kind):
            hidden = p.shape[0] // 4
            p[hidden:2 * hidden] = fill
    return module


@torch.no_grad()
def chrono_init_(module: nn.Module, max_steps: float,
                 generator: torch.Generator | None = None) -> nn.Module:
    r"""Chrono initialisation (Tallec & Ollivier, 2018) of every LSTM layer's gate biases.

    For each unit, :math:`u \sim U[1, T_{\max} - 1]` with ``T_max = max_steps``; the forget
    gate's total bias :math:`b_{xf} + b_{hf}` becomes :math:`\log u` and the input gate's
    :math:`b_{xi} + b_{hi}` becomes :math:`-\log u` (whole value in ``bias_ih``, 0 in
    ``bias_hh``). Candidate and output biases are left as they are. With small weights,
    :math:`f_t \approx \sigma(\log u) = u / (1 + u)`, so the cell forgets on a time scale of
    about ``u`` steps: the layer starts with memories from one step to about ``T_max``.

    Args:
        module: an LSTM in ``torch.nn``'s layout (or a module holding one).
        max_steps: :math:`T_{\max}`, the longest dependency expected, > 2.
        generator: optional ``torch.Generator`` for the draws of ``u``.
    Returns:
        ``module``.
    """
    max_steps = float(max_steps)
    if not max_steps > 2:
        raise ValueError(f"max_steps: expected a number of steps > 2, got {max_steps!r}")
    for (_, b_ih), (_, b_hh) in zip(_lstm_parameters(module, "bias_ih"),
                                    _lstm_parameters(module, "bias_hh")):
        hidden = b_ih.shape[0] // 4
        u = torch.rand(hidden, generator=generator, dtype=torch.float64)
        forget = torch.log(1 + u * (max_steps - 2)).to(device=b_ih.device, dtype=b_ih.dtype)
        b_ih[hidden:2 * hidden] = forget
        b_ih[:hidden] = -forget
        b_hh[:2 * hidden] = 0.0
    return module


@torch.no_grad()
def orthogonal_recurrent_(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Replace each gate's ``(H, H)`` block of every ``weight_hh`` by a random orthogonal matrix.

    The matrices are the Q factors of Gaussian matrices (signs fixed so the distribution is
    uniform over orthogonal matrices).  Returns ``module``.
    """
    for name, p in _lstm_parameters(module, "weight_hh"):
        hidden = p.shape[0] // 4
        if p.shape[1] != hidden:
            raise ValueError(f"{name}: expected shape (4H, H), got {tuple(p.shape)}")
        for k in range(4):
            gaussian = torch.randn(hidden, hidden, generator=generator, dtype=torch.float64)
            q, r = torch.linalg.qr(gaussian)
            q = q * torch.sign(torch.diagonal(r))
            p[k * hidden:(k + 1) * hidden] = q.to(device=p.device, dtype=p.dtype)
    return module
