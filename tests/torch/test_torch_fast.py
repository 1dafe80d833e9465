"""The LSTM fast path (hand-written backward) equals the plain lstm_cell loop."""

import pytest
import torch

import lstm_ref.torch as ours
from lstm_ref.torch.lstm import lstm_cell
from lstm_ref.torch.lstm_fast import LSTMLayer, lstm_layer_fast
from lstm_ref.torch.stack import scan

B, T, D, H = 3, 6, 4, 5


def fast_and_plain(num_layers, bidirectional, dtype):
    torch.manual_seed(0)
    fast = ours.LSTM(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                     dtype=dtype)
    plain = ours.LSTM(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                      dtype=dtype, fast=False)
    plain.load_state_dict(fast.state_dict())
    return fast, plain


def forward_backward(model, x, state, weights):
    """Outputs and the gradients of a random weighting of (out, h_n, c_n)."""
    x = x.clone().requires_grad_(True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    out, (h_n, c_n) = model(x, state)
    loss = sum((tensor * weight).sum() for tensor, weight in zip((out, h_n, c_n), weights))
    model.zero_grad()
    loss.backward()
    grads = {"x": x.grad, "h0": state[0].grad, "c0": state[1].grad}
    grads.update({name: p.grad for name, p in model.named_parameters()})
    return (out, h_n, c_n), grads


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)],
                         ids=["float64", "float32"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (1, True), (3, True)])
def test_fast_path_equals_plain_path(num_layers, bidirectional, dtype, tol):
    fast, plain = fast_and_plain(num_layers, bidirectional, dtype)
    generator = torch.Generator().manual_seed(1)
    rows = num_layers * (2 if bidirectional else 1)
    x = torch.randn(B, T, D, generator=generator, dtype=dtype)
    state = (torch.randn(rows, B, H, generator=generator, dtype=dtype),
             torch.randn(rows, B, H, generator=generator, dtype=dtype))
    weights = [torch.randn(shape, generator=generator, dtype=dtype)
               for shape in ((B, T, H * (2 if bidirectional else 1)), (rows, B, H), (rows, B, H))]
    fast_values, fast_grads = forward_backward(fast, x, state, weights)
    plain_values, plain_grads = forward_backward(plain, x, state, weights)
    for fast_value, plain_value in zip(fast_values, plain_values):
        torch.testing.assert_close(fast_value, plain_value, rtol=tol, atol=tol)
    assert fast_grads.keys() == plain_grads.keys()
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], plain_grads[name], rtol=tol, atol=tol,
                                   msg=name)


@pytest.mark.parametrize("reverse", [False, True])
def test_fast_layer_passes_gradcheck(reverse):
    generator = torch.Generator().manual_seed(2)

    def leaf(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64,
                           requires_grad=True)

    inputs = (leaf(4, 2, 3), leaf(2, 3), leaf(2, 3), leaf(12, 3), leaf(12, 3), leaf(12),
              leaf(12))                                  # x is time-major (T, B, D)
    assert torch.autograd.gradcheck(lambda *a: LSTMLayer.apply(*a, reverse), inputs)


def test_fast_path_large_pre_activations_stay_finite():
    """Saturated gates must stay finite, forward and backward (no inf or nan)."""
    torch.manual_seed(0)
    model = ours.LSTM(D, H, batch_first=True)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(200)
    x = (100 * torch.randn(B, T, D)).requires_grad_()
    out, (h_n, c_n) = model(x)
    assert torch.isfinite(out).all() and torch.isfinite(c_n).all()
    assert out.abs().max() <= 1
    (out.sum() + c_n.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    plain = ours.LSTM(D, H, batch_first=True, fast=False)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(out, plain(x)[0], rtol=1e-5, atol=1e-5)


def test_fast_path_without_autograd_and_for_input_gradients_only():
    fast, plain = fast_and_plain(2, True, torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fast(x)[0], plain(x)[0], rtol=1e-12, atol=1e-12)
    # parameters frozen: only x needs a gradient
    for model in (fast, plain):
        model.requires_grad_(False)
    x_fast = x.clone().requires_grad_(True)
    x_plain = x.clone().requires_grad_(True)
    fast(x_fast)[0].sum().backward()
    plain(x_plain)[0].sum().backward()
    torch.testing.assert_close(x_fast.grad, x_plain.grad, rtol=1e-12, atol=1e-12)


# --- the GRU's fast path (lstm_ref.torch.gru_fast) ---------------------------------

def gru_fast_and_plain(num_layers, bidirectional, dtype):
    torch.manual_seed(0)
    fast = ours.GRU(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                    dtype=dtype)
    plain = ours.GRU(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                     dtype=dtype, fast=False)
    plain.load_state_dict(fast.state_dict())
    return fast, plain


def gru_forward_backward(model, x, h0, weights):
    """Outputs and the gradients of a random weighting of (out, h_n)."""
    x = x.clone().requires_grad_(True)
    h0 = h0.clone().requires_grad_(True)
    out, h_n = model(x, h0)
    loss = (out * weights[0]).sum() + (h_n * weights[1]).sum()
    model.zero_grad()
    loss.backward()
    grads = {"x": x.grad, "h0": h0.grad}
    grads.update({name: p.grad for name, p in model.named_parameters()})
    return (out, h_n), grads


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)],
                         ids=["float64", "float32"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (1, True), (3, True)])
def test_gru_fast_path_equals_plain_path(num_layers, bidirectional, dtype, tol):
    fast, plain = gru_fast_and_plain(num_layers, bidirectional, dtype)
    generator = torch.Generator().manual_seed(1)
    rows = num_layers * (2 if bidirectional else 1)
    x = torch.randn(B, T, D, generator=generator, dtype=dtype)
    h0 = torch.randn(rows, B, H, generator=generator, dtype=dtype)
    weights = [torch.randn(shape, generator=generator, dtype=dtype)
               for shape in ((B, T, H * (2 if bidirectional else 1)), (rows, B, H))]
    fast_values, fast_grads = gru_forward_backward(fast, x, h0, weights)
    plain_values, plain_grads = gru_forward_backward(plain, x, h0, weights)
    for fast_value, plain_value in zip(fast_values, plain_values):
        torch.testing.assert_close(fast_value, plain_value, rtol=tol, atol=tol)
    assert fast_grads.keys() == plain_grads.keys()
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], plain_grads[name], rtol=tol,
                                   atol=tol, msg=name)


def test_gru_fast_path_matches_torch_nn():
    torch.manual_seed(3)
    reference = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    fast = ours.GRU(D, H, batch_first=True, dtype=torch.float64)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, D, dtype=torch.float64)
    for model in (reference, fast):
        out, h_n = model(x)
        (out.sin().sum() + h_n.sum()).backward()
    torch.testing.assert_close(fast(x)[0], reference(x)[0], rtol=1e-12, atol=1e-12)
    for (name, ours_p), ref_p in zip(fast.named_parameters(), reference.parameters()):
        torch.testing.assert_close(ours_p.grad, ref_p.grad, rtol=1e-10, atol=1e-12,
                                   msg=name)


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_fast_layer_passes_gradcheck_and_gradgradcheck(reverse):
    from functools import partial

    from lstm_ref.torch import stack
    from lstm_ref.torch.gru import gru_cell
    from lstm_ref.torch.gru_fast import GRULayer

    generator = torch.Generator().manual_seed(2)

    def leaf(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64,
                           requires_grad=True)

    inputs = (leaf(4, 2, 3), leaf(2, 3), leaf(9, 3), leaf(9, 3), leaf(9), leaf(9))
    reference = partial(stack.scan, gru_cell)
    assert torch.autograd.gradcheck(lambda *a: GRULayer.apply(*a, reverse), inputs)
    if not reverse:                   # double backward differentiates `reference` (slow)
        assert torch.autograd.gradgradcheck(
            lambda *a: GRULayer.apply(*a, reverse, reference), inputs)


def test_gru_fast_path_saturates_and_falls_back_where_it_must():
    torch.manual_seed(0)
    model = ours.GRU(D, H, batch_first=True)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(200)
    x = 100 * torch.randn(B, T, D)
    out, h_n = model(x)
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    plain = ours.GRU(D, H, batch_first=True, fast=False)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(out, plain(x)[0], rtol=1e-5, atol=1e-5)
    assert "fast=False" in repr(plain) and "fast" not in repr(model)
    # Cho et al.'s form has no fast path: fast and plain are the same loop
    cho_fast = ours.GRU(D, H, reset_after=False)
    cho_plain = ours.GRU(D, H, reset_after=False, fast=False)
    cho_plain.load_state_dict(cho_fast.state_dict())
    x = torch.randn(T, B, D)
    torch.testing.assert_close(cho_fast(x)[0], cho_plain(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_forward_without_gradient_equals_forward_with_one(reverse, batch):
    """Under no_grad the fast path skips the backward coefficients: same outputs."""
    generator = torch.Generator().manual_seed(3)
    x, h0, c0 = (torch.randn(*shape, generator=generator, dtype=torch.float64)
                 for shape in ((T, batch, D), (batch, H), (batch, H)))
    weights = [torch.randn(*shape, generator=generator, dtype=torch.float64,
                           requires_grad=True)
               for shape in ((4 * H, D), (4 * H, H), (4 * H,), (4 * H,))]
    with_graph = lstm_layer_fast(x, (h0, c0), weights, reverse)
    assert with_graph[0].grad_fn is not None
    with torch.no_grad():
        without = lstm_layer_fast(x, (h0, c0), weights, reverse)
    assert without[0].grad_fn is None
    for a, b in zip((with_graph[0], *with_graph[1]), (without[0], *without[1])):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    plain = scan(lstm_cell, x, (h0, c0), weights, reverse=reverse)
    torch.testing.assert_close(without[0], plain[0], rtol=1e-12, atol=1e-12)


def test_a_second_backward_gives_the_same_gradients():
    """Backward overwrites its stored coefficients with gradients; a second backward
    through the same graph (retain_graph=True) must recompute them, not reuse them."""
    fast, plain = fast_and_plain(2, True, torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    for model in (fast, plain):
        out, (h_n, c_n) = model(x)
        loss = (out ** 2).sum() + h_n.sum() + (c_n ** 3).sum()
        first = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
        second = torch.autograd.grad(loss, list(model.parameters()))
        for a, b in zip(first, second):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        model.gradients = first
    for a, b in zip(fast.gradients, plain.gradients):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_interleaved_graphs_of_one_shape_keep_their_own_buffers():
    """Backward hands its coefficient buffer to a pool for the next call of the same
    shape; graphs alive at the same time must never share one."""
    fast, plain = fast_and_plain(1, False, torch.float64)
    generator = torch.Generator().manual_seed(4)
    xs = [torch.randn(B, T, D, generator=generator, dtype=torch.float64) for _ in range(3)]

    def loss(model, x):
        out, (h_n, c_n) = model(x)
        return (out ** 2).sum() + (h_n * c_n).sum()

    def gradients(model, value):
        return torch.autograd.grad(value, list(model.parameters()))

    expected = [gradients(plain, loss(plain, x)) for x in xs]
    first, second = loss(fast, xs[0]), loss(fast, xs[1])
    got = {0: gradients(fast, first)}          # its buffer goes back to the pool
    third = loss(fast, xs[2])                  # may take that buffer
    got[1], got[2] = gradients(fast, second), gradients(fast, third)
    for k in range(3):
        for a, b in zip(got[k], expected[k]):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_the_buffer_pool_stays_within_its_bound():
    from lstm_ref.torch import lstm_fast

    for steps in range(1, 40):
        x = torch.randn(steps, 64, 8, requires_grad=True)
        weights = [torch.randn(*shape, requires_grad=True)
                   for shape in ((4 * 256, 8), (4 * 256, 256), (4 * 256,), (4 * 256,))]
        out, _ = lstm_layer_fast(x, (torch.zeros(64, 256), torch.zeros(64, 256)), weights)
        out.sum().backward()
    pooled = sum(r.tensor.numel() * r.tensor.element_size() for r in lstm_fast._POOL)
    assert 0 < pooled <= lstm_fast.POOL_BYTES
