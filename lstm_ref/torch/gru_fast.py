r"""The GRU's fast path: one layer and direction as a ``torch.autograd.Function``.

The same numbers as :func:`lstm_ref.torch.gru.gru_cell` (PyTorch's form, the reset gate
applied after the recurrent product) in a loop, with the backward pass written out, as
:mod:`lstm_ref.torch.lstm_fast` does for the LSTM. Per step :math:`k = 0, \dots, T-1`
(producing :math:`h_{k+1}` from :math:`h_k`), with :math:`a^x_k = W_x x_k + b_x`
computed for all steps in ONE matrix product before the loop and
:math:`a^h_k = W_h h_k + b_h` the one product left inside it:

.. math::

    \begin{aligned}
    [r_k; z_k] &= \sigma(a^x_{k,rz} + a^h_{k,rz}), \qquad
    n_k = \tanh(a^x_{k,n} + r_k \odot a^h_{k,n}), \\
    h_{k+1} &= n_k + z_k \odot (h_k - n_k)
    \end{aligned}

(the last line is one ``torch.lerp``).

Backward: unlike the LSTM's, every local derivative of the GRU depends on forward values
only, so all of them are computed for the whole sequence at once, before the loop. With
:math:`\delta h_{k+1}` the gradient reaching :math:`h_{k+1}`:

.. math::

    \begin{aligned}
    \delta a^x_{k,n} &= \delta h_{k+1} \odot (1 - z_k)(1 - n_k^2), &
    \delta a^h_{k,n} &= r_k \odot \delta a^x_{k,n}, \\
    \delta a_{k,z} &= \delta h_{k+1} \odot (h_k - n_k)\, z_k (1 - z_k), &
    \delta a_{k,r} &= \delta a^x_{k,n} \odot a^h_{k,n}\, r_k (1 - r_k), \\
    \delta h_k &= \delta \mathrm{out}_{k-1} + \delta h_{k+1} \odot z_k
                 + W_h^\top \delta a^h_k
    \end{aligned}

so the loop does three operations per step: one broadcast product for
:math:`\delta a^h_k`, one matrix product, one ``addcmul``. After it, the weight
gradients are one product each over all steps:
:math:`\nabla W_x = \sum_k \delta a^x_k x_k^\top`,
:math:`\nabla W_h = \sum_k \delta a^h_k h_k^\top`, and :math:`\nabla b_x, \nabla b_h`
are sums. Higher-order gradients differentiate the step loop given as ``reference``.
"""

from __future__ import annotations

import torch

from .lstm_fast import reference_backward


class GRULayer(torch.autograd.Function):
    """One GRU layer (``reset_after=True``), one direction, time-major as ``torch.nn``.

    Inputs (of ``apply``): x ``(T, B, D)``, h0 ``(B, H)``, W_ih ``(3H, D)``,
    W_hh ``(3H, H)``, b_ih and b_hh ``(3H,)`` (blocks r, z, n), reverse (bool), and
    optionally reference: the same layer as a step loop,
    ``reference(x, (h0,), weights, reverse=...)``, differentiated for higher-order
    gradients.

    Outputs: out ``(T, B, H)``, h_n ``(B, H)``.
    """

    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, reverse, reference=None):
        steps, batch, inputs = x.shape
        hidden = h0.shape[1]
        x_forward = x.flip(0) if reverse else x
        # a^x for every step at once, (T, B, 3H)
        input_part = torch.addmm(b_ih, x_forward.reshape(steps * batch, inputs), W_ih.T)
        input_part = input_part.view(steps, batch, 3 * hidden)
        hiddens = x.new_empty(steps + 1, batch, hidden)           # h_0 .. h_T
        recurrent = x.new_empty(steps, batch, 3 * hidden)         # a^h_k
        reset_update = x.new_empty(steps, batch, 2 * hidden)      # [r_k, z_k]
        candidates = x.new_empty(steps, batch, hidden)            # n_k
        hiddens[0] = h0
        hidden_at, recurrent_at, rz_at, n_at = (
            buffer.unbind(0)
            for buffer in (hiddens, recurrent, reset_update, candidates))
        x_rz_at = input_part[:, :, :2 * hidden].unbind(0)
        x_n_at = input_part[:, :, 2 * hidden:].unbind(0)
        h_n_at = recurrent[:, :, 2 * hidden:].unbind(0)
        r_at = reset_update[:, :, :hidden].unbind(0)
        z_at = reset_update[:, :, hidden:].unbind(0)
        W_hh_T = W_hh.T.contiguous()      # a contiguous right operand: a faster product
        for k in range(steps):
            torch.addmm(b_hh, hidden_at[k], W_hh_T, out=recurrent_at[k])
            rz = torch.add(x_rz_at[k], recurrent_at[k][:, :2 * hidden], out=rz_at[k])
            rz.sigmoid_()
            n = torch.addcmul(x_n_at[k], r_at[k], h_n_at[k], out=n_at[k]).tanh_()
            torch.lerp(n, hidden_at[k], z_at[k], out=hidden_at[k + 1])

        ctx.save_for_backward(hiddens, recurrent, reset_update, candidates,
                              x, h0, W_ih, W_hh, b_ih, b_hh)
        ctx.reverse, ctx.reference = reverse, reference
        out = hiddens[1:]
        out = out.flip(0) if reverse else out
        return out, hiddens[steps].clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h_n):
        if torch.is_grad_enabled():
            return reference_backward(ctx, "GRULayer", 1, (grad_out, grad_h_n))
        hiddens, recurrent, reset_update, candidates, x, _, W_ih, W_hh, _, _ = (
            ctx.saved_tensors)
        steps, batch, hidden = candidates.shape
        inputs = W_ih.shape[1]
        if ctx.reverse:
            grad_out = grad_out.flip(0)
        r, z = reset_update.chunk(2, dim=2)
        n, h_prev = candidates, hiddens[:steps]
        # the local derivatives of every step at once: factors of dh_{k+1}
        from_n = (1 - z) * (1 - n * n)                            # da_n / dh
        factors = torch.empty(steps, batch, 3, hidden, dtype=n.dtype, device=n.device)
        torch.mul(from_n * recurrent[:, :, 2 * hidden:], r * (1 - r),
                  out=factors[:, :, 0])
        torch.mul(h_prev - n, z * (1 - z), out=factors[:, :, 1])
        torch.mul(from_n, r, out=factors[:, :, 2])
        grad_recurrent = torch.empty_like(recurrent)              # da^h_k, (T, B, 3H)
        grad_hiddens = torch.empty_like(hiddens)                  # dh_k, k = 0 .. T
        grad_hiddens[steps] = grad_h_n + grad_out[steps - 1]
        dh_at, factor_at, z_at, grad_out_at = (
            tensor.unbind(0) for tensor in (grad_hiddens, factors, z, grad_out))
        grad_rec_at = grad_recurrent.view(steps, batch, 3, hidden).unbind(0)
        grad_rec_flat_at = grad_recurrent.unbind(0)
        for k in reversed(range(steps)):
            torch.mul(dh_at[k + 1].unsqueeze(1), factor_at[k], out=grad_rec_at[k])
            if k > 0:
                torch.addmm(grad_out_at[k - 1], grad_rec_flat_at[k], W_hh, out=dh_at[k])
            else:
                torch.mm(grad_rec_flat_at[0], W_hh, out=dh_at[0])
            dh_at[k].addcmul_(dh_at[k + 1], z_at[k])

        # da^x equals da^h but in the candidate's block: dh (1 - z)(1 - n^2), without r
        grad_input_part = grad_recurrent.clone()
        torch.mul(grad_hiddens[1:], from_n, out=grad_input_part[:, :, 2 * hidden:])
        flat_input = grad_input_part.view(steps * batch, 3 * hidden)
        flat_recurrent = grad_recurrent.view(steps * batch, 3 * hidden)
        grad_x = grad_W_ih = grad_W_hh = grad_b_ih = grad_b_hh = None
        if ctx.needs_input_grad[0]:
            grad_x = (flat_input @ W_ih).view(steps, batch, inputs)
            grad_x = grad_x.flip(0) if ctx.reverse else grad_x
        if ctx.needs_input_grad[2]:
            x_forward = x.flip(0) if ctx.reverse else x
            grad_W_ih = flat_input.T @ x_forward.reshape(steps * batch, inputs)
        if ctx.needs_input_grad[3]:
            grad_W_hh = flat_recurrent.T @ h_prev.reshape(steps * batch, hidden)
        if ctx.needs_input_grad[4]:
            grad_b_ih = flat_input.sum(dim=0)
        if ctx.needs_input_grad[5]:
            grad_b_hh = flat_recurrent.sum(dim=0)
        return (grad_x, grad_hiddens[0], grad_W_ih, grad_W_hh, grad_b_ih, grad_b_hh,
                None, None)


def gru_layer_fast(x, state, weights, reverse=False, reference=None):
    """One GRU layer and direction, with the signature :func:`lstm_ref.torch.stack.run`
    expects.

    Inputs:
        x: ``(T, B, D_in)``; state: ``(h0,)``, ``(B, H)``;
        weights: ``(W_ih, W_hh, b_ih, b_hh)``; reverse: from the last step to the first;
        reference: the plain step loop, for higher-order gradients.

    Outputs:
        out: ``(T, B, H)``; ``(h_n,)``, ``(B, H)``.
    """
    (h0,) = state
    out, h_n = GRULayer.apply(x, h0, *weights, reverse, reference)
    return out, (h_n,)
