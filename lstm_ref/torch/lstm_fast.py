r"""The LSTM's fast path: one layer and direction as a ``torch.autograd.Function``.

:func:`lstm_ref.torch.lstm.lstm_cell` in a loop lets autograd record about a dozen small
operations per step and replay them backwards one by one. This module computes the
same numbers with the backward pass written out (the derivation is chapter 3's):

* the input's share of every gate, :math:`W_x x_t + b_x + b_h`, for all ``T`` steps in
  one matrix product before the loop;
* per step only :math:`W_h h_{t-1}` and the gate arithmetic, written into preallocated
  buffers (time-major, so each step's slice is contiguous);
* backward: per step, with :math:`\delta h_t` the gradient reaching :math:`h_t`,

  .. math::

      \begin{aligned}
      \delta c_t &\mathrel{+}= \delta h_t \odot o_t \odot (1 - \tanh^2 c_t), \qquad
      \delta o_t = \delta h_t \odot \tanh c_t, \\
      \delta i_t &= \delta c_t \odot g_t, \quad \delta f_t = \delta c_t \odot c_{t-1}, \quad
      \delta g_t = \delta c_t \odot i_t, \\
      \delta a_t &= [\delta i_t \, i_t(1-i_t);\ \delta f_t \, f_t(1-f_t);\
                    \delta g_t (1-g_t^2);\ \delta o_t \, o_t(1-o_t)], \\
      \delta h_{t-1} &= \delta \text{out}_{t-1} + W_h^\top \delta a_t, \qquad
      \delta c_{t-1} = \delta c_t \odot f_t,
      \end{aligned}

  and, after the loop, each weight gradient as ONE matrix product over all steps:
  :math:`\nabla W_x = \sum_t \delta a_t x_t^\top`, :math:`\nabla W_h = \sum_t \delta a_t
  h_{t-1}^\top`, :math:`\nabla b = \sum_t \delta a_t`.

The code uses only device-agnostic tensor operations, so it runs on CUDA unchanged.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class LSTMLayer(torch.autograd.Function):
    """One LSTM layer in one direction, time-major inside, batch-first at the edges.

    Inputs (of ``apply``): x ``(B, T, D)``, h0 and c0 ``(B, H)``, W_ih ``(4H, D)``,
    W_hh ``(4H, H)``, b_ih and b_hh ``(4H,)``, reverse (bool).

    Outputs: out ``(B, T, H)``, h_n and c_n ``(B, H)``.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse):
        batch, steps, _ = x.shape
        hidden = h0.shape[1]
        # time-major copy of the input, in processing order
        x_steps = x.transpose(0, 1)
        x_steps = (x_steps.flip(0) if reverse else x_steps).contiguous()
        x_part = torch.addmm(b_ih + b_hh, x_steps.view(steps * batch, -1), W_ih.T)
        x_part = x_part.view(steps, batch, 4 * hidden)

        gates = x.new_empty(steps, batch, 4 * hidden)      # i, f, g, o after activation
        cells = x.new_empty(steps + 1, batch, hidden)      # c_0 .. c_T
        hiddens = x.new_empty(steps + 1, batch, hidden)    # h_0 .. h_T
        tanh_cells = x.new_empty(steps, batch, hidden)     # tanh(c_t)
        cells[0] = c0
        hiddens[0] = h0
        W_hh_T = W_hh.T
        for t in range(steps):
            gate = gates[t]
            pre_activation = torch.addmm(x_part[t], hiddens[t], W_hh_T)
            torch.sigmoid(pre_activation, out=gate)
            torch.tanh(pre_activation[:, 2 * hidden:3 * hidden],
                       out=gate[:, 2 * hidden:3 * hidden])
            i, f, g, o = gate.chunk(4, dim=1)
            torch.mul(f, cells[t], out=cells[t + 1])
            cells[t + 1].addcmul_(i, g)
            torch.tanh(cells[t + 1], out=tanh_cells[t])
            torch.mul(o, tanh_cells[t], out=hiddens[t + 1])

        ctx.save_for_backward(x_steps, W_ih, W_hh, gates, cells, hiddens, tanh_cells)
        ctx.reverse = reverse
        out = hiddens[1:].flip(0) if reverse else hiddens[1:]
        return out.transpose(0, 1).contiguous(), hiddens[steps].clone(), cells[steps].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        x_steps, W_ih, W_hh, gates, cells, hiddens, tanh_cells = ctx.saved_tensors
        steps, batch, hidden = tanh_cells.shape
        grad_out = grad_out.transpose(0, 1)                # time-major view, (T, B, H)
        if ctx.reverse:
            grad_out = grad_out.flip(0)

        # everything that does not depend on the recurrence, for all steps at once
        i, f, g, o = gates.chunk(4, dim=2)
        activation_slope = gates * (1 - gates)             # sigmoid' for i, f, o
        activation_slope[:, :, 2 * hidden:3 * hidden] = 1 - g * g   # tanh' for g
        cell_from_hidden = o * (1 - tanh_cells * tanh_cells)       # dh_t -> dc_t
        # dc_t -> (di, df, dg): multiply by (g_t, c_{t-1}, i_t), stacked as (T, B, 3, H)
        cell_to_gates = torch.stack((g, cells[:-1], i), dim=2)

        grad_pre = x_steps.new_empty(steps, batch, 4 * hidden)
        grad_gate = x_steps.new_empty(batch, 4 * hidden)
        grad_h = grad_h_n + grad_out[steps - 1]
        grad_c = grad_c_n.clone()
        for t in reversed(range(steps)):
            grad_c.addcmul_(grad_h, cell_from_hidden[t])
            torch.mul(grad_c.unsqueeze(1), cell_to_gates[t],
                      out=grad_gate.view(batch, 4, hidden)[:, :3])
            torch.mul(grad_h, tanh_cells[t], out=grad_gate[:, 3 * hidden:])
            torch.mul(grad_gate, activation_slope[t], out=grad_pre[t])
            grad_c.mul_(f[t])
            if t > 0:
                grad_h = torch.addmm(grad_out[t - 1], grad_pre[t], W_hh)
            else:
                grad_h = grad_pre[0] @ W_hh

        flat_grad_pre = grad_pre.view(steps * batch, 4 * hidden)
        grad_x = grad_W_ih = grad_W_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (flat_grad_pre @ W_ih).view(steps, batch, -1)
            grad_x = (grad_x.flip(0) if ctx.reverse else grad_x).transpose(0, 1)
        if ctx.needs_input_grad[3]:
            grad_W_ih = flat_grad_pre.T @ x_steps.view(steps * batch, -1)
        if ctx.needs_input_grad[4]:
            grad_W_hh = flat_grad_pre.T @ hiddens[:-1].reshape(steps * batch, hidden)
        if ctx.needs_input_grad[5] or ctx.needs_input_grad[6]:
            grad_bias = flat_grad_pre.sum(dim=0)
        return grad_x, grad_h, grad_c, grad_W_ih, grad_W_hh, grad_bias, grad_bias, None


def lstm_layer_fast(x, state, weights, reverse=False):
    """One layer and direction, with the signature :func:`lstm_ref.torch.stack.run` expects.

    Inputs:
        x: ``(B, T, D_in)``; state: ``(h0, c0)``, each ``(B, H)``;
        weights: ``(W_ih, W_hh, b_ih, b_hh)``; reverse: run from the last step to the first.

    Outputs:
        out: ``(B, T, H)``; ``(h_n, c_n)``, each ``(B, H)``.
    """
    h0, c0 = state
    out, h_n, c_n = LSTMLayer.apply(x, h0, c0, *weights, reverse)
    return out, (h_n, c_n)
