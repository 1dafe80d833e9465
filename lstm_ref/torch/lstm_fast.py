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

  where every factor that does not involve :math:`\delta h_t` or :math:`\delta c_t`
  (the activations' slopes and their products with :math:`g_t, c_{t-1}, i_t, \tanh c_t`)
  is computed for a block of steps at once, leaving four elementwise operations and
  one matrix product per step;
* after the loop, both weight gradients come from ONE matrix product over all steps,
  :math:`[\nabla W_x, \nabla W_h] = \sum_t \delta a_t z_t^\top`, and the biases'
  from one sum, :math:`\nabla b_x = \nabla b_h = \sum_t \delta a_t`.

What makes it fast is doing fewer, larger operations: on the CPU each small PyTorch
call costs microseconds of overhead, on a GPU each is a kernel launch. Hence also two
shortcuts: the candidate uses :math:`\tanh a = 2\sigma(2a) - 1` (exact in real
arithmetic), so that one sigmoid covers all four gates once the candidate's rows of the
weights are doubled; and constants are 0-d tensors (a Python number is converted to a
tensor on every call).

Only device-agnostic tensor operations are used, so this runs on CUDA unchanged.

The hand-written backward pass is itself differentiable: when autograd asks for the graph
of the gradient (``create_graph=True``: double backward, ``gradgradcheck``), it
differentiates the step loop it is given as ``reference`` instead, so higher-order
gradients are exact too.
"""

from __future__ import annotations

import torch


#: backward computes the local derivatives of this many steps at a time (one operation
#: per factor instead of one per factor and step; small enough to stay in cache)
BLOCK_STEPS = 16


class LSTMLayer(torch.autograd.Function):
    """One LSTM layer in one direction, time-major as ``torch.nn``.

    Inputs (of ``apply``): x ``(T, B, D)``, h0 and c0 ``(B, H)``, W_ih ``(4H, D)``,
    W_hh ``(4H, H)``, b_ih and b_hh ``(4H,)``, reverse (bool), and optionally reference:
    the same layer as a plain step loop, ``reference(x, (h0, c0), weights, reverse=...)``
    (e.g. ``partial(stack.scan, lstm_cell)``), differentiated when the backward pass must
    itself be differentiable.

    Outputs: out ``(T, B, H)`` (contiguous), h_n and c_n ``(B, H)``.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, reference=None):
        steps, batch, inputs = x.shape
        hidden = h0.shape[1]
        two, minus_one = x.new_tensor(2.0), x.new_tensor(-1.0)

        # row t of step_inputs is z_t = [x_t, h_{t-1}]; row T holds h_T
        step_inputs = x.new_empty(steps + 1, batch, inputs + hidden)
        step_inputs[:steps, :, :inputs] = x.flip(0) if reverse else x
        step_inputs[0, :, inputs:] = h0

        # W_x, W_h and b_x + b_h with the candidate's rows doubled (tanh via sigmoid)
        W_x, W_h, bias = W_ih.clone(), W_hh.clone(), b_ih + b_hh
        for weight in (W_x, W_h, bias):
            weight[2 * hidden:3 * hidden] *= 2
        # gates starts as the input's share of every gate for all steps (one product);
        # the loop adds W_h h_{t-1} in place and applies the activations
        gates = x.new_empty(steps, batch, 4 * hidden)
        torch.addmm(bias, step_inputs[:steps, :, :inputs].reshape(steps * batch, inputs), W_x.T,
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
            # tanh c = 2 sigmoid(2c) - 1: PyTorch's CPU tanh is several times slower
            tanh_cell = torch.mul(cell_at[t + 1], two, out=tanh_cell_at[t]).sigmoid_()
            torch.addcmul(minus_one, tanh_cell, two, out=tanh_cell)
            torch.mul(o_at[t], tanh_cell, out=hidden_at[t + 1])

        ctx.save_for_backward(step_inputs, gates, cells, tanh_cells,
                              x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        ctx.reverse, ctx.reference = reverse, reference
        out = step_inputs[1:, :, inputs:]
        out = out.flip(0) if reverse else out     # a view; run() makes the output contiguous
        return out, hidden_at[steps].clone(), cell_at[steps].clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        if torch.is_grad_enabled():
            # the gradient's own graph is wanted (create_graph=True)
            return reference_backward(ctx, "LSTMLayer", 2, (grad_out, grad_h_n, grad_c_n))
        step_inputs, gates, cells, tanh_cells, _, _, _, W_ih, W_hh, _, _ = ctx.saved_tensors
        steps, batch, hidden = tanh_cells.shape
        inputs = W_ih.shape[1]
        if ctx.reverse:
            grad_out = grad_out.flip(0)

        grad_pre = gates.new_empty(steps, batch, 4 * hidden)     # dL/da_t
        grad_pre_at = grad_pre.unbind(0)
        grad_pre_ifg_at = grad_pre.view(steps, batch, 4, hidden)[:, :, :3].unbind(0)
        grad_pre_o_at = grad_pre[:, :, 3 * hidden:].unbind(0)
        grad_out_at = grad_out.unbind(0)
        one = gates.new_tensor(1.0)
        # the local derivatives of a block of steps, (n, B, ...), reused block after block
        block_size = min(BLOCK_STEPS, steps)
        slopes = gates.new_empty(block_size, batch, 4 * hidden)         # d[i, f, g, o] / da
        from_cells = gates.new_empty(block_size, batch, 3, hidden)      # da_{i,f,g} / dc
        from_hiddens = gates.new_empty(block_size, batch, hidden)       # da_o / dh
        cell_from_hiddens = gates.new_empty(block_size, batch, hidden)  # dc / dh
        grad_h = grad_h_n + grad_out_at[steps - 1]
        grad_c = grad_c_n.clone()
        for end in range(steps, 0, -BLOCK_STEPS):
            block = range(max(end - BLOCK_STEPS, 0), end)
            n = len(block)
            gate = gates[block.start:end]
            i, f, g, o = gate.chunk(4, dim=2)                           # (n, B, H) each
            tanh_cell = tanh_cells[block.start:end]
            # sigmoid' = s (1 - s) for i, f, o and tanh' = 1 - g^2 for g
            slope = torch.addcmul(gate, gate, gate, value=-1, out=slopes[:n])
            slope_i, slope_f, slope_g, slope_o = slope.chunk(4, dim=2)
            torch.addcmul(one, g, g, value=-1, out=slope_g)
            # da_t = [dc_t * (g i', c_{t-1} f', i g'), dh_t * tanh(c_t) o']
            from_cell = from_cells[:n]
            torch.mul(g, slope_i, out=from_cell[:, :, 0])
            torch.mul(cells[block.start:end], slope_f, out=from_cell[:, :, 1])
            torch.mul(i, slope_g, out=from_cell[:, :, 2])
            from_hidden = torch.mul(tanh_cell, slope_o, out=from_hiddens[:n])
            # dc_t += dh_t * o_t * (1 - tanh^2 c_t)
            cell_from_hidden = torch.addcmul(one, tanh_cell, tanh_cell, value=-1,
                                             out=cell_from_hiddens[:n]).mul_(o)
            from_cell, from_hidden, cell_from_hidden = (
                buffer.unbind(0) for buffer in (from_cell, from_hidden, cell_from_hidden))
            forget = f.unbind(0)
            for t in reversed(block):
                k = t - block.start
                grad_c.addcmul_(grad_h, cell_from_hidden[k])
                torch.mul(grad_c.unsqueeze(1), from_cell[k], out=grad_pre_ifg_at[t])
                torch.mul(grad_h, from_hidden[k], out=grad_pre_o_at[t])
                grad_c.mul_(forget[k])                     # dc_{t-1}
                if t > 0:                                  # dh_{t-1}
                    grad_h = torch.addmm(grad_out_at[t - 1], grad_pre_at[t], W_hh)
                else:
                    grad_h = grad_pre_at[0] @ W_hh

        flat_grad_pre = grad_pre.view(steps * batch, 4 * hidden)
        grad_x = grad_W_ih = grad_W_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (flat_grad_pre @ W_ih).view(steps, batch, inputs)
            grad_x = grad_x.flip(0) if ctx.reverse else grad_x
        if any(ctx.needs_input_grad[3:7]):
            # sum_t da_t z_t^T = [dW_x, dW_h] in one product
            grad_weights = flat_grad_pre.T @ step_inputs[:steps].reshape(
                steps * batch, inputs + hidden)
            grad_W_ih, grad_W_hh = grad_weights[:, :inputs], grad_weights[:, inputs:]
            grad_bias = flat_grad_pre.sum(dim=0)
        return grad_x, grad_h, grad_c, grad_W_ih, grad_W_hh, grad_bias, grad_bias, None, None


def reference_backward(ctx, layer: str, num_states: int, output_grads) -> tuple:
    """A fast layer's backward pass as a graph: autograd through the step loop ``reference``.

    Used when autograd asks for the gradient's own graph (``create_graph=True``).
    ``ctx.saved_tensors[4:]`` must hold the layer's inputs ``(x, *states, *weights)``
    (``num_states`` states: (h0, c0) for the LSTM, (h0,) for the GRU) and ``output_grads``
    the gradients of ``(out, *final_states)``. Returns one gradient per argument of
    ``apply`` (``None`` for reverse and reference).
    """
    if ctx.reference is None:
        raise RuntimeError(f"{layer}: higher-order gradients need the step loop as "
                           f"`reference` ({layer}.apply(..., reverse, reference))")
    inputs = ctx.saved_tensors[4:]
    x, states, weights = inputs[0], inputs[1:1 + num_states], inputs[1 + num_states:]
    wanted = [k for k, needed in enumerate(ctx.needs_input_grad[:len(inputs)]) if needed]
    with torch.enable_grad():
        out, final_states = ctx.reference(x, tuple(states), tuple(weights), reverse=ctx.reverse)
        grads = torch.autograd.grad((out, *final_states), [inputs[k] for k in wanted],
                                    tuple(output_grads), create_graph=True, allow_unused=True)
    result = [None] * (len(inputs) + 2)
    for k, grad in zip(wanted, grads):
        result[k] = torch.zeros_like(inputs[k]) if grad is None else grad
    return tuple(result)


def lstm_layer_fast(x, state, weights, reverse=False, reference=None):
    """One layer and direction, with the signature :func:`lstm_ref.torch.stack.run` expects.

    Inputs:
        x: ``(T, B, D_in)``; state: ``(h0, c0)``, each ``(B, H)``;
        weights: ``(W_ih, W_hh, b_ih, b_hh)``; reverse: run from the last step to the first;
        reference: the plain step loop, for higher-order gradients (see :class:`LSTMLayer`).

    Outputs:
        out: ``(T, B, H)``; ``(h_n, c_n)``, each ``(B, H)``.
    """
    h0, c0 = state
    out, h_n, c_n = LSTMLayer.apply(x, h0, c0, *weights, reverse, reference)
    return out, (h_n, c_n)
