r"""The LSTM's fast path: one layer and direction as a ``torch.autograd.Function``.

:func:`lstm_ref.torch.lstm.lstm_cell` in a loop lets autograd record about a dozen small
operations per step and replay them backwards one by one. This module computes the same
numbers with the backward pass written out (the derivation is chapter 3's). On the CPU
each small PyTorch call costs a few microseconds however little it computes (on a GPU,
each is a kernel launch), and an operation over a large array costs the memory traffic
of reading and writing it; so the code asks for as few operations per step as it can,
and works on the step's data while it is still in the cache.

Forward, per step:

* ONE matrix product gives the whole pre-activation: row ``t`` of a buffer holds
  :math:`z_t = [x_t, 1, h_{t-1}]`, and :math:`a_t = z_t W^\top` with
  :math:`W = [W_{ih} \mid b_{ih} + b_{hh} \mid W_{hh}]` (the biases ride on the column
  of ones; the loop writes :math:`h_t` straight into :math:`z_{t+1}`);
* the gate rows are reordered from i, f, g, o to o, i, f, g, so that one ``sigmoid``
  covers the three sigmoid gates and one ``tanh`` the candidate;
* the candidate :math:`g_t` is written next to :math:`c_{t-1}`, so that ONE product of
  :math:`[g_t, c_{t-1}]` and :math:`[i_t', f_t']` gives two of the coefficients below;
* when a gradient will be needed, the step also stores the coefficients that backward
  needs, computed while their inputs are in the cache (``'`` is the activation's slope,
  :math:`\sigma' = \sigma(1 - \sigma)`, :math:`\tanh' = 1 - \tanh^2`):

  .. math::

      \kappa_t = [g_t i_t',\ c_{t-1} f_t',\ i_t g_t',\ f_t], \qquad
      \eta_t = [o_t (1 - \tanh^2 c_t),\ \tanh(c_t)\, o_t'],

  with :math:`o_t (1 - \tanh^2 c_t) = o_t - h_t \tanh c_t` (one operation).

Backward, per step, four operations (:math:`\delta h_t` the gradient reaching
:math:`h_t`, :math:`\delta c` the one reaching the cell state from step ``t + 1``):

.. math::

    \delta c_t = \delta c + \delta h_t \odot \eta_{t,1}, \qquad
    [\delta a_{t,i}, \delta a_{t,f}, \delta a_{t,g}, \delta c_{t-1}]
        = \delta c_t \odot \kappa_t, \qquad
    \delta a_{t,o} = \delta h_t \odot \eta_{t,2}, \qquad
    \delta h_{t-1} = \delta \mathrm{out}_{t-1} + W_{hh}^\top \delta a_t

(the second is one broadcast product whose result lands where the next two need it).
After the loop ONE matrix product over all steps gives every weight and bias gradient,
:math:`[\nabla W_{ih}, \nabla b, \nabla W_{hh}] = \sum_t \delta a_t z_t^\top`
(:math:`\nabla b_{ih} = \nabla b_{hh} = \nabla b`), and one more gives
:math:`\delta x_t = W_{ih}^\top \delta a_t` for all steps.

Without a gradient to compute (``torch.no_grad()``, or no input that requires one),
:func:`lstm_layer_fast` runs the forward loop alone, without the coefficients.

Only device-agnostic tensor operations are used, so this runs on CUDA unchanged.

The hand-written backward pass is itself differentiable: when autograd asks for the graph
of the gradient (``create_graph=True``: double backward, ``gradgradcheck``), it
differentiates the step loop it is given as ``reference`` instead, so higher-order
gradients are exact too.
"""

from __future__ import annotations

import torch


def _to_internal_order(rows: torch.Tensor, hidden: int) -> torch.Tensor:
    """Gate blocks (along dim 0) from PyTorch's i, f, g, o to o, i, f, g."""
    return torch.roll(rows, hidden, 0)


def _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, for_backward):
    """The forward loop, feature-major; with ``for_backward`` it also fills the coefficients.

    Returns ``out (T, B, H)`` (a strided view), ``h_n``, ``c_n`` and, with
    ``for_backward``, ``(step_inputs (T+1, D+1+H, B), kappa (T, 4, H, B),
    eta (T, 2, H, B), weights (4H, D+1+H))``.
    """
    steps, batch, inputs = x.shape
    hidden = h0.shape[1]
    ones_row = inputs                        # z_t = [x_t; 1; h_{t-1}]
    first_h = inputs + 1
    # step_inputs[t] is z_t as a column per sequence, (D + 1 + H, B); [T] holds h_T
    step_inputs = x.new_empty(steps + 1, first_h + hidden, batch)
    step_inputs[:steps, :inputs] = (x.flip(0) if reverse else x).transpose(1, 2)
    step_inputs[:, ones_row] = 1
    step_inputs[0, first_h:] = h0.T
    # W = [W_ih | b_ih + b_hh | W_hh] with the gate rows in the order o, i, f, g
    weights = _to_internal_order(
        torch.cat([W_ih, (b_ih + b_hh).unsqueeze(1), W_hh], dim=1), hidden)

    pre = x.new_empty(4 * hidden, batch)              # a_t, then [o; i; f; a_g]
    sigmoid_gates, candidate_pre = pre[:3 * hidden], pre[3 * hidden:]
    o, i, f = sigmoid_gates.unflatten(0, (3, hidden)).unbind(0)
    # two alternating [g_t; c_{t-1}] pairs: step t reads c_{t-1} from one and writes c_t
    # into the other
    pairs = x.new_empty(2, 2, hidden, batch)
    pairs[0, 1] = c0.T
    pair_at = pairs.unbind(0)
    candidate_at, cell_before_at = pairs[:, 0].unbind(0), pairs[:, 1].unbind(0)
    tanh_cell = x.new_empty(hidden, batch)
    z_at = step_inputs.unbind(0)
    hidden_at = step_inputs[:, first_h:].unbind(0)
    if for_backward:
        slopes = x.new_empty(3 * hidden, batch)       # [o'; i'; f']
        slope_o, slopes_if = slopes[:hidden], slopes[hidden:].unflatten(0, (2, hidden))
        candidate_slope = x.new_empty(hidden, batch)  # g' = 1 - g^2
        kappa = x.new_empty(steps, 4, hidden, batch)
        eta = x.new_empty(steps, 2, hidden, batch)
        kappa_at, eta_at = kappa.unbind(0), eta.unbind(0)
        one = x.new_tensor(1.0)
    for t in range(steps):
        now, after = t % 2, (t + 1) % 2
        g, cell_before, cell = candidate_at[now], cell_before_at[now], cell_before_at[after]
        torch.mm(weights, z_at[t], out=pre)
        sigmoid_gates.sigmoid_()
        torch.tanh(candidate_pre, out=g)
        torch.mul(f, cell_before, out=cell)
        cell.addcmul_(i, g)
        torch.tanh(cell, out=tanh_cell)
        torch.mul(o, tanh_cell, out=hidden_at[t + 1])
        if for_backward:
            kappa_t, eta_t = kappa_at[t], eta_at[t]
            torch.addcmul(sigmoid_gates, sigmoid_gates, sigmoid_gates, value=-1, out=slopes)
            torch.mul(pair_at[now], slopes_if, out=kappa_t[:2])      # [g i'; c_{t-1} f']
            torch.addcmul(one, g, g, value=-1, out=candidate_slope)
            torch.mul(i, candidate_slope, out=kappa_t[2])            # i g'
            kappa_t[3].copy_(f)
            # o (1 - tanh^2 c) = o - h tanh c
            torch.addcmul(o, hidden_at[t + 1], tanh_cell, value=-1, out=eta_t[0])
            torch.mul(tanh_cell, slope_o, out=eta_t[1])              # tanh(c) o'
    out = step_inputs[1:, first_h:].transpose(1, 2)
    out = out.flip(0) if reverse else out
    h_n, c_n = hidden_at[steps].T.contiguous(), cell_before_at[steps % 2].T.contiguous()
    saved = (step_inputs, kappa, eta, weights) if for_backward else None
    return out, h_n, c_n, saved


class LSTMLayer(torch.autograd.Function):
    """One LSTM layer in one direction, time-major as ``torch.nn``.

    Inputs (of ``apply``): x ``(T, B, D)``, h0 and c0 ``(B, H)``, W_ih ``(4H, D)``,
    W_hh ``(4H, H)``, b_ih and b_hh ``(4H,)``, reverse (bool), and optionally reference:
    the same layer as a plain step loop, ``reference(x, (h0, c0), weights, reverse=...)``
    (e.g. ``partial(stack.scan, lstm_cell)``), differentiated when the backward pass must
    itself be differentiable.

    Outputs: out ``(T, B, H)`` (a strided view; ``stack.run`` makes it contiguous),
    h_n and c_n ``(B, H)``.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, reference=None):
        out, h_n, c_n, saved = _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse,
                                        for_backward=True)
        ctx.save_for_backward(*saved, x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        ctx.reverse, ctx.reference = reverse, reference
        return out, h_n, c_n

    @staticmethod
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        if torch.is_grad_enabled():
            # the gradient's own graph is wanted (create_graph=True)
            return reference_backward(ctx, "LSTMLayer", 2, (grad_out, grad_h_n, grad_c_n))
        step_inputs, kappa, eta, weights = ctx.saved_tensors[:4]
        steps, _, hidden, batch = kappa.shape
        first_h = step_inputs.shape[1] - hidden
        inputs = first_h - 1
        if ctx.reverse:
            grad_out = grad_out.flip(0)
        grad_out_at = grad_out.transpose(1, 2).contiguous().unbind(0)   # (H, B) each
        W_hh_t = weights[:, first_h:].T.contiguous()                     # (H, 4H)

        # grad_pre[t] = [da_o; da_i; da_f; da_g; dc_{t-1}], (5H, B)
        grad_pre = kappa.new_empty(steps, 5 * hidden, batch)
        grad_a_at = grad_pre[:, :4 * hidden].unbind(0)
        grad_o_at = grad_pre[:, :hidden].unbind(0)
        grad_ifg_c_at = grad_pre[:, hidden:].unflatten(1, (4, hidden)).unbind(0)
        grad_c_before_at = grad_pre[:, 4 * hidden:].unbind(0)
        kappa_at = kappa.unbind(0)
        eta_cell_at, eta_o_at = eta[:, 0].unbind(0), eta[:, 1].unbind(0)
        grad_hs = kappa.new_empty(2, hidden, batch).unbind(0)   # alternating dh_{t-1}
        grad_c = kappa.new_empty(hidden, batch)

        grad_h = grad_h_n.T + grad_out_at[steps - 1]
        grad_c_after = grad_c_n.T
        for t in range(steps - 1, -1, -1):
            torch.addcmul(grad_c_after, grad_h, eta_cell_at[t], out=grad_c)
            torch.mul(grad_c, kappa_at[t], out=grad_ifg_c_at[t])
            torch.mul(grad_h, eta_o_at[t], out=grad_o_at[t])
            grad_c_after = grad_c_before_at[t]
            if t > 0:
                grad_h = torch.addmm(grad_out_at[t - 1], W_hh_t, grad_a_at[t],
                                     out=grad_hs[t % 2])
            else:
                grad_h = W_hh_t @ grad_a_at[0]                    # dL/dh0, (H, B)

        # the steps side by side: da as (4H, T*B)
        grad_a = grad_pre[:, :4 * hidden].transpose(0, 1).reshape(4 * hidden, steps * batch)
        grad_x = grad_W_ih = grad_W_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (weights[:, :inputs].T @ grad_a).view(inputs, steps, batch)
            grad_x = grad_x.permute(1, 2, 0)
            grad_x = grad_x.flip(0) if ctx.reverse else grad_x
        if any(ctx.needs_input_grad[3:7]):
            # sum_t da_t z_t^T, then the gate blocks back to i, f, g, o: (4H, D + 1 + H)
            flat_inputs = step_inputs[:steps].transpose(0, 1).reshape(
                first_h + hidden, steps * batch)
            grad_weights = torch.roll(flat_inputs @ grad_a.T, -hidden, 1).T
            grad_W_ih = grad_weights[:, :inputs]
            grad_bias = grad_weights[:, inputs]
            grad_W_hh = grad_weights[:, first_h:]
        grad_c0 = grad_c_before_at[0].T.contiguous()
        return (grad_x, grad_h.T, grad_c0, grad_W_ih, grad_W_hh, grad_bias, grad_bias,
                None, None)


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

    Where no gradient will be asked for, the forward loop runs alone (no coefficients).
    """
    h0, c0 = state
    if torch.is_grad_enabled() and any(
            tensor.requires_grad for tensor in (x, h0, c0, *weights)):
        out, h_n, c_n = LSTMLayer.apply(x, h0, c0, *weights, reverse, reference)
    else:
        out, h_n, c_n, _ = _forward(x, h0, c0, *weights, reverse, for_backward=False)
    return out, (h_n, c_n)
