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
  of ones; the loop writes :math:`h_t` straight into :math:`z_{t+1}`; each row is padded
  to a multiple of 16 numbers, so that every :math:`h_t` starts on a 64-byte boundary);
* the gate rows are reordered from i, f, g, o to o, i, f, g, so that one ``sigmoid``
  covers the three sigmoid gates and one ``tanh`` the candidate;
* the cell update is :math:`c_t = i_t g_t + f_t c_{t-1}` with :math:`i_t g_t` kept,
  and the candidate :math:`g_t` is written next to :math:`c_{t-1}`, so that ONE product
  of :math:`[g_t, c_{t-1}]` and :math:`[i_t', f_t']` gives two of the coefficients below;
* when a gradient will be needed, the step also stores the coefficients that backward
  needs, computed while their inputs are in the cache (``'`` is the activation's slope,
  :math:`\sigma' = \sigma(1 - \sigma)`, :math:`\tanh' = 1 - \tanh^2`):

  .. math::

      \kappa_t = [g_t i_t',\ c_{t-1} f_t',\ i_t g_t',\ f_t], \qquad
      \eta_t = [o_t (1 - \tanh^2 c_t),\ \tanh(c_t)\, o_t'],

  side by side in one ``(T, B, 6, H)`` buffer, as
  :math:`[\eta_{t,2}, \kappa_t, \eta_{t,1}]`, with
  :math:`i_t g_t' = i_t - (i_t g_t) g_t` and
  :math:`o_t (1 - \tanh^2 c_t) = o_t - h_t \tanh c_t` (one operation each).

A forward step is then 7 operations (13 with the coefficients), where autograd through
the step loop records about a dozen and replays twice as many backwards.

Backward, per step, four operations (:math:`\delta h_t` the gradient reaching
:math:`h_t`, :math:`\delta c` the one reaching the cell state from step ``t + 1``):

.. math::

    \delta c_t = \delta c + \delta h_t \odot \eta_{t,1}, \qquad
    [\delta a_{t,i}, \delta a_{t,f}, \delta a_{t,g}, \delta c_{t-1}]
        = \delta c_t \odot \kappa_t, \qquad
    \delta a_{t,o} = \delta h_t \odot \eta_{t,2}, \qquad
    \delta h_{t-1} = \delta \mathrm{out}_{t-1} + W_{hh}^\top \delta a_t

(the second is one broadcast product whose result lands where the next two need it).
They work in place: each overwrites the coefficient it has just read, so step ``t``'s
row of the buffer becomes :math:`[\delta a_{t,o}, \delta a_{t,i}, \delta a_{t,f},
\delta a_{t,g}, \delta c_{t-1}, \delta c_t]`, and the gradients are written to memory
that is already in the cache instead of to a fresh buffer. The buffer is therefore kept on
``ctx`` rather than among the saved tensors, and a second backward through the same
graph (``retain_graph=True``) recomputes it from the saved inputs. Once backward is done
with it, the buffer and its per-step views go to a small pool (CPU only, at most
:data:`POOL_BYTES`) for the next call of the same shape. After the loop ONE matrix product over all steps gives every weight and bias gradient,
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

import threading

import torch


class _CoefficientRows:
    """A ``(T, B, 6, H)`` coefficient buffer with its per-step views, built once.

    Making the ~1400 per-step views of a T = 100 buffer costs about as much as a few
    steps of the layer, so a buffer that a backward pass has finished with goes to a
    small pool (:func:`_take_rows`, :func:`_give_back_rows`) and serves the next call of
    the same shape, views included.
    """

    def __init__(self, steps, batch, hidden, like):
        self.tensor = rows = like.new_empty(steps, batch, 6, hidden)
        # forward: a_t over slots 2-5, [o, i, f] = slots 2-4, each gate, then the
        # coefficients' slots 0 and 1-2
        self.forward_views = tuple(zip(
            rows[:, :, 2:].flatten(2).unbind(0), rows[:, :, 2:5].flatten(2).unbind(0),
            *(rows[:, :, k].unbind(0) for k in (2, 3, 4, 5)),
            rows[:, :, 0].unbind(0), rows[:, :, 1:3].unbind(0)))
        self._backward_views = None

    @property
    def backward_views(self):
        """Per step: dc_t (slot 5, ``(B, H)`` and ``(B, 1, H)``), slots 1-4, slot 0,
        dc_{t-1} (slot 4) and da_t (slots 0-3 as ``(B, 4H)``)."""
        if self._backward_views is None:
            rows = self.tensor
            self._backward_views = tuple(zip(
                rows[:, :, 5].unbind(0), rows[:, :, 5:].unbind(0), rows[:, :, 1:5].unbind(0),
                rows[:, :, 0].unbind(0), rows[:, :, 4].unbind(0),
                rows[:, :, :4].flatten(2).unbind(0)))
        return self._backward_views


#: finished coefficient buffers kept for reuse (CPU only: on a GPU the caching allocator
#: already reuses memory, and a buffer must not move between streams), most recent last
_POOL: list[_CoefficientRows] = []
_POOL_LOCK = threading.Lock()
#: the most memory the pool may hold, in bytes
POOL_BYTES = 64 * 2 ** 20


def _take_rows(steps, batch, hidden, like) -> _CoefficientRows:
    """A pooled buffer of this shape, dtype and device if there is one, else a new one."""
    with _POOL_LOCK:
        for k in range(len(_POOL) - 1, -1, -1):
            rows = _POOL[k].tensor
            if (rows.shape == (steps, batch, 6, hidden) and rows.dtype == like.dtype
                    and rows.device == like.device):
                return _POOL.pop(k)
    return _CoefficientRows(steps, batch, hidden, like)


def _give_back_rows(rows: _CoefficientRows) -> None:
    """Keep a buffer that nothing uses any more for the next call (oldest dropped first)."""
    size = rows.tensor.numel() * rows.tensor.element_size()
    if rows.tensor.device.type != "cpu" or size > POOL_BYTES:
        return
    with _POOL_LOCK:
        _POOL.append(rows)
        while sum(r.tensor.numel() * r.tensor.element_size() for r in _POOL) > POOL_BYTES:
            _POOL.pop(0)


def _to_internal_order(rows: torch.Tensor, hidden: int) -> torch.Tensor:
    """Gate blocks (along dim 0) from PyTorch's i, f, g, o to o, i, f, g."""
    return torch.roll(rows, hidden, 0)


def _internal_columns(out: torch.Tensor, rows: torch.Tensor, hidden: int) -> None:
    """Write ``rows`` (``(4H, ...)``, gate blocks i, f, g, o) transposed into ``out``
    (``(..., 4H)``), with the gate blocks in the order o, i, f, g."""
    out[..., hidden:] = rows[:3 * hidden].transpose(0, -1)
    out[..., :hidden] = rows[3 * hidden:].transpose(0, -1)


def _pytorch_rows(columns: torch.Tensor, hidden: int) -> torch.Tensor:
    """The inverse of :func:`_internal_columns`: ``(..., 4H)`` columns in the order
    o, i, f, g to a new contiguous ``(4H, ...)`` in the order i, f, g, o."""
    rows = columns.new_empty(columns.transpose(0, -1).shape)
    rows[:3 * hidden] = columns[..., hidden:].transpose(0, -1)
    rows[3 * hidden:] = columns[..., :hidden].transpose(0, -1)
    return rows


def _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, for_backward):
    """The forward loop; with ``for_backward`` it also fills the coefficients.

    Returns ``out (T, B, H)`` (a view), ``h_n``, ``c_n`` and, with ``for_backward``,
    ``(step_inputs (T+1, B, D+1+H), rows, weights_t (D+1+H, 4H))``, where ``rows`` is a
    :class:`_CoefficientRows` holding the ``(T, B, 6, H)`` coefficients.
    """
    steps, batch, inputs = x.shape
    hidden = h0.shape[1]
    ones_column = inputs                     # z_t = [x_t, 1, h_{t-1}]
    first_h = inputs + 1
    # row t of step_inputs is z_t; row T holds h_T in its last H columns
    width = first_h + hidden
    step_inputs = x.new_empty(steps + 1, batch, -(-width // 16) * 16)[:, :, :width]
    step_inputs[:steps, :, :inputs] = x.flip(0) if reverse else x
    step_inputs[:, :, ones_column] = 1
    step_inputs[0, :, first_h:] = h0
    # W^T with the gate columns in the order o, i, f, g: (D + 1 + H, 4H)
    weights_t = x.new_empty(first_h + hidden, 4 * hidden)
    _internal_columns(weights_t[:inputs], W_ih, hidden)
    _internal_columns(weights_t[ones_column], b_ih + b_hh, hidden)
    _internal_columns(weights_t[first_h:], W_hh, hidden)

    # two alternating [g_t, c_{t-1}] pairs: step t reads c_{t-1} from one and writes c_t
    # into the other
    pairs = x.new_empty(2, batch, 2, hidden)
    pairs[0, :, 1] = c0
    pair_at = pairs.unbind(0)
    candidate_at, cell_before_at = pairs[:, :, 0].unbind(0), pairs[:, :, 1].unbind(0)
    tanh_cell = x.new_empty(batch, hidden)
    input_candidate = x.new_empty(batch, hidden)     # i g
    z_at = step_inputs.unbind(0)
    hidden_at = step_inputs[:, :, first_h:].unbind(0)
    if not for_backward:
        pre = x.new_empty(batch, 4 * hidden)          # a_t = [a_o, a_i, a_f, a_g]
        sigmoid_gates, candidate_pre = pre[:, :3 * hidden], pre[:, 3 * hidden:]
        o, i, f = sigmoid_gates.unflatten(1, (3, hidden)).unbind(1)
        for t in range(steps):
            now, after = t % 2, (t + 1) % 2
            g, cell = candidate_at[now], cell_before_at[after]
            torch.mm(z_at[t], weights_t, out=pre)
            sigmoid_gates.sigmoid_()
            torch.tanh(candidate_pre, out=g)
            torch.mul(i, g, out=input_candidate)
            torch.addcmul(input_candidate, f, cell_before_at[now], out=cell)
            torch.tanh(cell, out=tanh_cell)
            torch.mul(o, tanh_cell, out=hidden_at[t + 1])
        saved = None
    else:
        # coefficients[t] ends as [tanh(c) o', g i', c_{t-1} f', i g', f, o - h tanh(c)]
        # (backward overwrites slot 0 with da_o, slots 1-4 with [da_i, da_f, da_g,
        # dc_{t-1}]); the step's product writes a_t = [a_o, a_i, a_f, a_g] into slots 2-5,
        # so that f is already in its place once activated
        rows = _take_rows(steps, batch, hidden, x)
        slopes = x.new_empty(batch, 3 * hidden)       # [o', i', f']
        slope_o, slopes_if = slopes[:, :hidden], slopes[:, hidden:].unflatten(1, (2, hidden))
        mm, mul, addcmul, tanh = torch.mm, torch.mul, torch.addcmul, torch.tanh
        per_step = zip(z_at, hidden_at[1:], rows.forward_views)
        for t, (z, h, (pre, gates, o, i, f, candidate_pre, eta_o, kappa_if)) in enumerate(
                per_step):
            pair, g, cell_before = pair_at[t % 2], candidate_at[t % 2], cell_before_at[t % 2]
            cell = cell_before_at[(t + 1) % 2]
            mm(z, weights_t, out=pre)
            gates.sigmoid_()                                       # [o, i, f]
            tanh(candidate_pre, out=g)
            mul(i, g, out=input_candidate)
            addcmul(input_candidate, f, cell_before, out=cell)     # c = f c_{t-1} + i g
            tanh(cell, out=tanh_cell)
            mul(o, tanh_cell, out=h)
            addcmul(gates, gates, gates, value=-1, out=slopes)     # s (1 - s)
            mul(tanh_cell, slope_o, out=eta_o)                     # tanh(c) o'
            addcmul(o, h, tanh_cell, value=-1, out=candidate_pre)  # o (1 - tanh^2 c)
            mul(pair, slopes_if, out=kappa_if)                     # [g i', c_{t-1} f'] over o
            addcmul(i, input_candidate, g, value=-1, out=i)        # i (1 - g^2), over i
        saved = (step_inputs, rows, weights_t)
    out = step_inputs[1:, :, first_h:]
    out = out.flip(0) if reverse else out
    h_n, c_n = hidden_at[steps].clone(), cell_before_at[steps % 2].clone()
    return out, h_n, c_n, saved


class LSTMLayer(torch.autograd.Function):
    """One LSTM layer in one direction, time-major as ``torch.nn``.

    Inputs (of ``apply``): x ``(T, B, D)``, h0 and c0 ``(B, H)``, W_ih ``(4H, D)``,
    W_hh ``(4H, H)``, b_ih and b_hh ``(4H,)``, reverse (bool), and optionally reference:
    the same layer as a plain step loop, ``reference(x, (h0, c0), weights, reverse=...)``
    (e.g. ``partial(stack.scan, lstm_cell)``), differentiated when the backward pass must
    itself be differentiable.

    Outputs: out ``(T, B, H)`` (a view in time order; ``stack.run`` makes it contiguous),
    h_n and c_n ``(B, H)``.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, reference=None):
        out, h_n, c_n, (step_inputs, rows, weights_t) = _forward(
            x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse, for_backward=True)
        ctx.save_for_backward(step_inputs, weights_t, x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        # backward overwrites the coefficients with the gradients (their memory is in the
        # cache just then), so they are kept outside the saved tensors, whose version
        # counters would otherwise forbid a second backward (retain_graph=True), which
        # recomputes them instead
        ctx.rows = rows
        ctx.reverse, ctx.reference = reverse, reference
        return out, h_n, c_n

    @staticmethod
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        if torch.is_grad_enabled():
            # the gradient's own graph is wanted (create_graph=True)
            return reference_backward(ctx, "LSTMLayer", 2, (grad_out, grad_h_n, grad_c_n))
        step_inputs, weights_t = ctx.saved_tensors[:2]
        W_hh = ctx.saved_tensors[6]
        rows, ctx.rows = ctx.rows, None
        if rows is None:                  # a second backward: the first one consumed them
            step_inputs, rows, weights_t = _forward(
                *ctx.saved_tensors[2:], ctx.reverse, for_backward=True)[3]
        coefficients = rows.tensor
        steps, batch, _, hidden = coefficients.shape
        inputs = step_inputs.shape[2] - hidden - 1
        if ctx.reverse:
            grad_out = grad_out.flip(0)
        W_hh_internal = _to_internal_order(W_hh, hidden)          # (4H, H), rows o, i, f, g

        # in place, step t's row becomes [da_o, da_i, da_f, da_g, dc_{t-1}, dc_t]
        grad_out_at = grad_out.unbind(0)
        grad_hs = coefficients.new_empty(2, batch, hidden).unbind(0)  # alternating dh_{t-1}

        grad_h = grad_h_n + grad_out_at[steps - 1]
        grad_c_after = grad_c_n
        mul, addcmul, addmm = torch.mul, torch.addcmul, torch.addmm
        per_step = zip(rows.backward_views, (None,) + grad_out_at[:-1])
        for t, ((grad_c, grad_c_column, kappa, grad_o, grad_c_before, grad_a_t),
                grad_out_before) in zip(range(steps - 1, -1, -1), reversed(list(per_step))):
            addcmul(grad_c_after, grad_h, grad_c, out=grad_c)      # dc_t (over eta_cell)
            mul(grad_c_column, kappa, out=kappa)                   # [da_i, da_f, da_g, dc_{t-1}]
            mul(grad_h, grad_o, out=grad_o)                        # da_o (over eta_o)
            grad_c_after = grad_c_before
            if t > 0:
                grad_h = addmm(grad_out_before, grad_a_t, W_hh_internal, out=grad_hs[t % 2])
            else:
                grad_h = grad_a_t @ W_hh_internal                  # dL/dh0

        grad_a = coefficients[:, :, :4].reshape(steps * batch, 4 * hidden)
        grad_x = grad_W_ih = grad_W_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_a @ weights_t[:inputs].T).view(steps, batch, inputs)
            grad_x = grad_x.flip(0) if ctx.reverse else grad_x
        if any(ctx.needs_input_grad[3:7]):
            # sum_t z_t da_t^T, (D + 1 + H, 4H); then each part to PyTorch's layout
            flat_inputs = step_inputs[:steps].reshape(steps * batch, step_inputs.shape[2])
            grad_weights_t = flat_inputs.T @ grad_a
            grad_W_ih = _pytorch_rows(grad_weights_t[:inputs], hidden)
            grad_bias = _pytorch_rows(grad_weights_t[inputs], hidden)
            grad_W_hh = _pytorch_rows(grad_weights_t[inputs + 1:], hidden)
        grad_c0 = coefficients[0, :, 4].clone()
        _give_back_rows(rows)             # nothing refers to its memory any more
        return grad_x, grad_h, grad_c0, grad_W_ih, grad_W_hh, grad_bias, grad_bias, None, None


def reference_backward(ctx, layer: str, num_states: int, output_grads) -> tuple:
    """A fast layer's backward pass as a graph: autograd through the step loop ``reference``.

    Used when autograd asks for the gradient's own graph (``create_graph=True``).
    The last ``1 + num_states + 4`` saved tensors must be the layer's inputs
    ``(x, *states, W_ih, W_hh, b_ih, b_hh)`` (``num_states`` states: (h0, c0) for the LSTM,
    (h0,) for the GRU) and ``output_grads``
    the gradients of ``(out, *final_states)``. Returns one gradient per argument of
    ``apply`` (``None`` for reverse and reference).
    """
    if ctx.reference is None:
        raise RuntimeError(f"{layer}: higher-order gradients need the step loop as "
                           f"`reference` ({layer}.apply(..., reverse, reference))")
    inputs = ctx.saved_tensors[-(1 + num_states + 4):]
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
