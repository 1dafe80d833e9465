"""Optimisers over parameter dicts, updating the arrays IN PLACE.

``opt = Adam(model.params, lr=1e-3)`` then, after each ``model.backward``,
``opt.step(model.grads)``. The update rules are PyTorch's (``torch.optim.SGD`` and
``torch.optim.Adam`` with their default options), so the same gradients give the same
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _check_params(params) -> dict:
    if not isinstance(params, Mapping) or not params:
        raise ValueError(f"params: expected a non-empty dict of arrays, got {type(params).__name__}")
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise ValueError(f"params[{name!r}]: expected a float ndarray (updated in place), "
                             f"got {type(value).__name__}")
    return dict(params)


def _check_grads(grads, params) -> None:
    missing = [name for name in params if name not in grads]
    if missing:
        raise ValueError(f"grads: expected a gradient for every parameter, missing {missing}")
    for name, value in params.items():
        if np.shape(grads[name]) != value.shape:
            raise ValueError(f"grads[{name!r}]: expected shape {value.shape}, "
                             f"got {np.shape(grads[name])}")


class SGD:
    """θ ← θ - lr · v, with v ← momentum · v + g (v = g when momentum = 0)."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0):
        if lr <= 0 or momentum < 0:
            raise ValueError(f"expected lr > 0 and momentum >= 0, got lr={lr}, momentum={momentum}")
        self.params = _check_params(params)
        self.lr, self.momentum = lr, momentum
        self.velocity = {name: None for name in self.params}

    def step(self, grads) -> None:
        _check_grads(grads, self.params)
        for name, param in self.params.items():
            update = np.asarray(grads[name], dtype=param.dtype)
            if self.momentum:
                if self.velocity[name] is None:
                    self.velocity[name] = update.copy()
                else:
                    self.velocity[name] = self.momentum * self.velocity[name] + update
                update = self.velocity[name]
            param -= self.lr * update


class Adam:
    r"""Adam (Kingma & Ba, 2015), as in ``torch.optim.Adam``.

    .. math::

        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
        \quad \theta \leftarrow \theta - \frac{\mathrm{lr}}{1-\beta_1^t}
        \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if lr <= 0 or not all(0 <= b < 1 for b in betas) or eps <= 0 or weight_decay < 0:
            raise ValueError(f"expected lr > 0, 0 <= betas < 1, eps > 0, weight_decay >= 0; got "
                             f"lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.params = _check_params(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.t = 0
        self.m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: np.zeros_like(p) for name, p in self.params.items()}

    def step(self, grads) -> None:
        _check_grads(grads, self.params)
        beta1, beta2 = self.betas
        self.t += 1
        correction1, correction2 = 1 - beta1 ** self.t, 1 - beta2 ** self.t
        for name, param in self.params.items():
            g = np.asarray(grads[name], dtype=param.dtype)
            if self.weight_decay:
                g = g + self.weight_decay * param
            m, v = self.m[name], self.v[name]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            denominator = np.sqrt(v) / np.sqrt(correction2) + self.eps
            param -= (self.lr / correction1) * m / denominator
