r"""The LSTM's fast path: one layer and direction as a ``torch.autograd.Function``.

:func:`lstm_ref.torch.lstm.lstm_cell` in a loop lets autograd record about a dozen small
operations per step and replay them backwards one by one. This module computes the
same numbers with the backward pass written out (the derivation is chapter 3's):

* every step's inputs live side by side in one buffer, row ``t`` holding
  :math:`z_t = [x_t, h_{t-1}]` (the concatenated form :math:`W [x_t, h_{t-1}] + b` that
  some texts write for the cell);
* the input's share of every gate, :math:`W_x x_t + b_x + b_h`, is computed for all
  ``T`` steps in one matrix product before the loop; per step only :math:`W_h h_{t-1}`
  and the gate arithmetic remain, written into preallocated buffers;
* backward, per step, with :math:`\delta h_t` the gradient reaching :math:`h_t` and
  :math:`a_t` the gates' input (before the activations):

  .. math::

      \begin{aligned}
      \delta c_t &\mathrel{+}= \delta h_t \odot o_t \odot (1 - \tanh^2 c_t) \\
      \delta a_t &= [\delta c_t \odot g_t \odot i_t (1 - i_t);\
                    \delta c_t \odot c_{t-1} \odot f_t (1 - f_t);\
                    \delta c_t \odot i_t \odot (1 - g_t^2);\
                    \delta h_t \odot \tanh c_t \odot o_t (1 - o_t)] \\
      \delta h_{t-1} &= \delta \mathrm{out}_{t-1} + W_h^\top \delta a_t, \qquad
      \delta c_{t-1} = \delta c_t \odot f_t
      \end{aligned}

* after the loop, both weight gradients come from ONE matrix product over all steps,
  :math:`[\nabla W_x, \nabla W_h] = \sum_t \delta a_t z_t^\top`, and the biases'
  from one sum, :math:`\nabla b_x = \nabla b_h = \sum_t \delta a_t`.

Two shortcuts for speed on the CPU: :math:`\tanh a = 2\sigma(2a) - 1`, exact in real
arithmetic (PyTorch's float32 sigmoid is several times faster than its tanh, and one
sigmoid over all four gates replaces a sigmoid and a tanh once the candidate's rows of
the weights are doubled), and constants held as 0-d tensors (a Python number is
converted to a tensor on every call).

Only device-agnostic tensor operations are used, so this runs on CUDA unchanged.
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
        batch, steps, inputs = x.shape
        hidden = h0.shape[1]
        two, minus_one = x.new_tensor(2.0), x.new_tensor(-1.0)

        # row t of step_inputs is z_t = [x_t, h_{t-1}]; row T holds h_T
        step_inputs = x.new_empty(steps + 1, batch, inputs + hidden)
        x_steps = x.transpose(0, 1)
        step_inputs[:steps, :, :inputs] = x_steps.flip(0) if reverse else x_steps
        step_inputs[0, :, inputs:] = h0

        # W_x, W_h and b_x + b_h with the candidate's rows doubled (tanh via sigmoid)
        W_x, W_h, bias = W_ih.clone(), W_hh.clone(), b_ih + b_hh
        for weight in (W_x, W_h, bias):
            weight[2 * hidden:3 * hidden] *= 2
        # gates starts as the input's share of every gate for all steps (one product);
        # the loop adds W_h h_{t-1} in place and applies the activations
        gates = x.new_empty(steps, batch, 4 * hidden)
        torch.addmm(bias, step_inputs[:steps, :, :inputs].reshape(steps * batch, -1), W_x.T,
                    out=gates.view(steps * batch, 4 * hidden))
        cells = x.new_empty(steps + 1, batch, hidden)      # c_0 .. c_T
        tanh_cells = x.new_empty(steps, batch, hidden)     # tanh(c_1) .. tanh(c_T)
        cells[0] = c0
        # per-step views made once (unbind is one call; indexing in the loop is not free)
        hidden_at = step_inputs[:, :, inputs:].unbind(0)   # h_{t-1} at t
        gate_at, cell_at, tanh_cell_at = (
            buffer.unbind(0) for buffer in (gates, cells, tanh_cells))
        i_at, f_at, g_at, o_at = (block.unbind(0) for block in gates.chunk(4, dim=2))
        W_h_T = W_h.T
        for t in range(steps):
            gate_at[t].addmm_(hidden_at[t], W_h_T)
            gate_at[t].sigmoid_()
            torch.addcmul(minus_one, g_at[t], two, out=g_at[t])     # g = 2 sigmoid(2a) - 1
            torch.mul(f_at[t], cell_at[t], out=cell_at[t + 1])
            cell_at[t + 1].addcmul_(i_at[t], g_at[t])
            torch.mul(cell_at[t + 1], two, out=tanh_cell_at[t])      # tanh c = 2 sigmoid(2c) - 1
            tanh_cell_at[t].sigmoid_()
            torch.addcmul(minus_one, tanh_cell_at[t], two, out=tanh_cell_at[t])
            torch.mul(o_at[t], tanh_cell_at[t], out=hidden_at[t + 1])

        ctx.save_for_backward(step_inputs, W_ih, W_hh, gates, cells, tanh_cells)
        ctx.reverse = reverse
        out = step_inputs[1:, :, inputs:]
        out = (out.flip(0) if reverse else out).transpose(0, 1).contiguous()
        return out, hidden_at[steps].clone(), cell_at[steps].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        step_inputs, W_ih, W_hh, gates, cells, tanh_cells = ctx.saved_tensors
        steps, batch, hidden = tanh_cells.shape
        inputs = W_ih.shape[1]
        grad_out = grad_out.transpose(0, 1)                # time-major view, (T, B, H)
        if ctx.reverse:
            grad_out = grad_out.flip(0)

        grad_pre = gates.new_empty(steps, batch, 4 * hidden)     # dL/da_t
        grad_gate = gates.new_empty(batch, 4 * hidden)           # dL/d[i, f, g, o]_t
        slope = gates.new_empty(batch, 4 * hidden)               # d[i, f, g, o]_t / da_t
        scratch = gates.new_empty(batch, hidden)
        ones = gates.new_ones(batch, hidden)
        gate_at, cell_at, tanh_cell_at, grad_pre_at, grad_out_at = (
            buffer.unbind(0) for buffer in (gates, cells, tanh_cells, grad_pre, grad_out))
        i_at, f_at, g_at, o_at = (block.unbind(0) for block in gates.chunk(4, dim=2))
        d_i, d_f, d_g, d_o = grad_gate.chunk(4, dim=1)
        slope_g = slope[:, 2 * hidden:3 * hidden]
        grad_h = grad_h_n + grad_out_at[steps - 1]
        grad_c = grad_c_n.clone()
        for t in reversed(range(steps)):
            # dc_t += dh_t * o_t * (1 - tanh^2 c_t)
            torch.addcmul(ones, tanh_cell_at[t], tanh_cell_at[t], value=-1, out=scratch)
            scratch.mul_(o_at[t])
            grad_c.addcmul_(grad_h, scratch)
            torch.mul(grad_c, g_at[t], out=d_i)
            torch.mul(grad_c, cell_at[t], out=d_f)
            torch.mul(grad_c, i_at[t], out=d_g)
            torch.mul(grad_h, tanh_cell_at[t], out=d_o)
            # sigmoid' = s (1 - s) for i, f, o; tanh' = 1 - g^2 for g
            torch.addcmul(gate_at[t], gate_at[t], gate_at[t], value=-1, out=slope)
            torch.addcmul(ones, g_at[t], g_at[t], value=-1, out=slope_g)
            torch.mul(grad_gate, slope, out=grad_pre_at[t])
            grad_c.mul_(f_at[t])
            if t > 0:
                grad_h = torch.addmm(grad_out_at[t - 1], grad_pre_at[t], W_hh)
            else:
                grad_h = grad_pre_at[0] @ W_hh

        flat_grad_pre = grad_pre.view(steps * batch, 4 * hidden)
        grad_x = grad_W_ih = grad_W_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (flat_grad_pre @ W_ih).view(steps, batch, inputs)
            grad_x = (grad_x.flip(0) if ctx.reverse else grad_x).transpose(0, 1)
        if any(ctx.needs_input_grad[3:7]):
            # sum_t da_t z_t^T = [dW_x, dW_h] in one product
            grad_weights = flat_grad_pre.T @ step_inputs[:steps].reshape(steps * batch, -1)
            grad_W_ih, grad_W_hh = grad_weights[:, :inputs], grad_weights[:, inputs:]
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
