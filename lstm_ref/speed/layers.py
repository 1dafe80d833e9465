r"""One LSTM layer written six ways, from the slowest correct version to the fastest.

Every version computes the same function as ``torch.nn.LSTM`` (one layer, one direction,
time-major): for each step, with the book's gate order i, f, g, o,

.. math::

    a_t = W_x x_t + b_x + W_h h_{t-1} + b_h, \quad
    c_t = f_t \odot c_{t-1} + i_t \odot g_t, \quad h_t = o_t \odot \tanh(c_t)

with :math:`[i_t; f_t; g_t; o_t] = [\sigma; \sigma; \tanh; \sigma](a_t)`. They differ
in how many operations they ask PyTorch for, and so in how much they pay for each call:

1. :func:`per_step_loop`: each gate's two products at every step (eight matrix
   products per step), differentiated by autograd;
2. :func:`hoisted_loop`: :math:`W_x x_t + b_x + b_h` for all ``T`` steps in ONE product
   before the loop; four recurrent products per step remain;
3. :func:`fused_loop`: the four gates' recurrent products fused into one,
   :math:`W_h h_{t-1}` with the stacked :math:`W_h`;
4. the hand-written backward pass (chapter 3's equations) as a
   ``torch.autograd.Function``: :func:`lstm_ref.torch.lstm_fast.lstm_layer_fast`;
5. ``torch.compile`` of the fused step (:func:`compiled_loop`);
6. ``torch.nn.LSTM`` (oneDNN on the CPU, cuDNN on a GPU).

All take ``x`` ``(T, B, D)`` and :class:`Weights` and return the outputs ``(T, B, H)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from lstm_ref.torch.lstm_fast import lstm_layer_fast


class Weights(NamedTuple):
    """One layer's parameters, shaped as ``torch.nn.LSTM``'s (gate blocks i, f, g, o).

    W_ih: ``(4H, D)`` (:math:`W_x`); W_hh: ``(4H, H)`` (:math:`W_h`);
    b_ih, b_hh: ``(4H,)`` (:math:`b_x, b_h`).
    """

    W_ih: torch.Tensor
    W_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor

    @classmethod
    def of(cls, module: torch.nn.LSTM) -> "Weights":
        """The (shared, not copied) parameters of a one-layer ``torch.nn.LSTM``."""
        if not isinstance(module, torch.nn.LSTM) or module.num_layers != 1 or (
                module.bidirectional or module.proj_size or not module.bias):
            raise ValueError("expected a torch.nn.LSTM with one layer, one direction, "
                             f"biases and no projection, got {module!r}")
        return cls(module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0,
                   module.bias_hh_l0)


def _zeros(x: torch.Tensor, hidden: int) -> torch.Tensor:
    return x.new_zeros(x.shape[1], hidden)


def per_step_loop(x: torch.Tensor, w: Weights) -> torch.Tensor:
    """Version 1: every gate's input and recurrent product at every step.

    :math:`a_{*,t} = W_{x*} x_t + b_{x*} + W_{h*} h_{t-1} + b_{h*}` for * in i, f, g, o:
    eight matrix products and about twenty other operations per step, each recorded by
    autograd and replayed backwards.
    """
    hidden = w.W_hh.shape[1]
    W_x, W_h = w.W_ih.chunk(4), w.W_hh.chunk(4)
    b_x, b_h = w.b_ih.chunk(4), w.b_hh.chunk(4)
    h, c = _zeros(x, hidden), _zeros(x, hidden)
    outputs = []
    for x_t in x:
        i, f, g, o = (x_t @ W_x[k].T + b_x[k] + h @ W_h[k].T + b_h[k] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def input_projection(x: torch.Tensor, w: Weights) -> torch.Tensor:
    """:math:`W_x x_t + b_x + b_h` for every step in one product: ``(T, B, 4H)``."""
    steps, batch, inputs = x.shape
    projected = torch.addmm(w.b_ih + w.b_hh, x.reshape(steps * batch, inputs), w.W_ih.T)
    return projected.view(steps, batch, -1)


def hoisted_loop(x: torch.Tensor, w: Weights) -> torch.Tensor:
    """Version 2: the input's share of all gates hoisted out of the loop as one product;
    per step, four recurrent products :math:`W_{h*} h_{t-1}`."""
    hidden = w.W_hh.shape[1]
    W_h = w.W_hh.chunk(4)
    h, c = _zeros(x, hidden), _zeros(x, hidden)
    outputs = []
    for a_x in input_projection(x, w):
        a_i, a_f, a_g, a_o = a_x.chunk(4, dim=1)
        i = torch.sigmoid(a_i + h @ W_h[0].T)
        f = torch.sigmoid(a_f + h @ W_h[1].T)
        g = torch.tanh(a_g + h @ W_h[2].T)
        o = torch.sigmoid(a_o + h @ W_h[3].T)
        c = f * c + i * g
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def fused_step(a_x: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
               W_hh_T: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One step given the hoisted input share ``a_x`` ``(B, 4H)``: one recurrent product
    ``h @ W_hh_T`` (``W_hh_T`` is :math:`W_h^\\top`, ``(H, 4H)``), then the gates."""
    a = torch.addmm(a_x, h, W_hh_T)
    i, f, g, o = a.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def fused_loop(x: torch.Tensor, w: Weights,
               step: Callable = fused_step) -> torch.Tensor:
    """Version 3: input share hoisted and the four recurrent products fused into one."""
    hidden = w.W_hh.shape[1]
    h, c = _zeros(x, hidden), _zeros(x, hidden)
    W_hh_T = w.W_hh.T
    outputs = []
    for a_x in input_projection(x, w):
        h, c = step(a_x, h, c, W_hh_T)
        outputs.append(h)
    return torch.stack(outputs)


def autograd_function(x: torch.Tensor, w: Weights) -> torch.Tensor:
    """Version 4: the hand-written backward pass, ``lstm_ref.torch``'s fast path."""
    hidden = w.W_hh.shape[1]
    out, _ = lstm_layer_fast(x, (_zeros(x, hidden), _zeros(x, hidden)), tuple(w))
    return out


def compiled_loop(compiled_step: Callable) -> Callable:
    """Version 5: :func:`fused_loop` with ``compiled_step = torch.compile(fused_step)``,
    which fuses the step's elementwise operations (forward and backward) into generated
    kernels; the loop and the matrix products stay as they were."""
    def run(x: torch.Tensor, w: Weights) -> torch.Tensor:
        return fused_loop(x, w, step=compiled_step)
    return run


def torch_nn(module: torch.nn.LSTM) -> Callable:
    """Version 6: ``torch.nn.LSTM`` itself (one call for the whole sequence)."""
    def run(x: torch.Tensor, w: Weights) -> torch.Tensor:
        return module(x)[0]
    return run


#: the eager versions in the chapter's order (the compiled one needs a compile first)
EAGER_VERSIONS = {"per-step loop": per_step_loop, "input hoisted": hoisted_loop,
                  "gates fused": fused_loop, "hand-written backward": autograd_function}
