"""lstm_ref.numpy LSTM: parity with torch.nn.LSTM (float64), fast path == step path."""

import numpy as np
import pytest
import torch

from lstm_ref.numpy import (
    LSTM,
    lstm_backward,
    lstm_backward_fast,
    lstm_forward,
    lstm_forward_fast,
    lstm_step_backward,
    lstm_step_forward,
)

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)


def torch_state_dict(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_torch_lstm(fast, num_layers, bidirectional, with_state):
    torch.manual_seed(0)
    reference = torch.nn.LSTM(D, H, num_layers, batch_first=True,
                              bidirectional=bidirectional, dtype=torch.float64)
    model = LSTM(D, H, num_layers, bidirectional, seed=5, fast=fast)
    model.load_state_dict(torch_state_dict(reference))

    rng = np.random.default_rng(1)
    directions = 2 if bidirectional else 1
    state_shape = (num_layers * directions, B, H)
    x = rng.standard_normal((B, T, D))
    h0, c0 = rng.standard_normal(state_shape), rng.standard_normal(state_shape)
    dout = rng.standard_normal((B, T, directions * H))
    dh_n, dc_n = rng.standard_normal(state_shape), rng.standard_normal(state_shape)
    if not with_state:
        h0, c0 = np.zeros(state_shape), np.zeros(state_shape)

    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    c0_t = torch.tensor(c0, requires_grad=True)
    out_t, (h_n_t, c_n_t) = reference(x_t, (h0_t, c0_t))
    loss = (out_t * torch.tensor(dout)).sum()
    if with_state:
        loss = loss + (h_n_t * torch.tensor(dh_n)).sum() + (c_n_t * torch.tensor(dc_n)).sum()
    loss.backward()

    out, (h_n, c_n) = model.forward(x, (h0, c0) if with_state else None)
    dx, (dh0, dc0) = model.backward(dout, (dh_n, dc_n) if with_state else None)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(c_n, c_n_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dc0, c0_t.grad.numpy(), **TOL)
    assert list(model.grads) == list(reference.state_dict())
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(model.grads[name], parameter.grad.numpy(), **TOL,
                                   err_msg=name)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fast_path_equals_step_path(dtype, tol):
    rng = np.random.default_rng(4)
    b, t, d, h = 4, 9, 5, 7
    x = rng.standard_normal((b, t, d)).astype(dtype)
    h0, c0 = (rng.standard_normal((b, h)).astype(dtype) for _ in range(2))
    W_ih = (rng.standard_normal((4 * h, d)) * 0.5).astype(dtype)
    W_hh = (rng.standard_normal((4 * h, h)) * 0.5).astype(dtype)
    b_ih, b_hh = (rng.standard_normal(4 * h).astype(dtype) for _ in range(2))
    dh = rng.standard_normal((b, t, h)).astype(dtype)
    dh_n, dc_n = (rng.standard_normal((b, h)).astype(dtype) for _ in range(2))

    h_slow, c_slow, cache_slow = lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    h_fast, c_fast, cache_fast = lstm_forward_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    assert h_fast.dtype == c_fast.dtype == dtype
    np.testing.assert_allclose(h_fast, h_slow, rtol=tol, atol=tol)
    np.testing.assert_allclose(c_fast, c_slow, rtol=tol, atol=tol)
    slow = lstm_backward(dh, cache_slow, dh_n, dc_n)
    fast = lstm_backward_fast(dh, cache_fast, dh_n, dc_n)
    assert slow._fields == fast._fields
    for name, a, b_ in zip(slow._fields, fast, slow):
        assert a.dtype == dtype, name
        np.testing.assert_allclose(a, b_, rtol=tol, atol=tol, err_msg=name)


def test_fast_and_step_models_agree_bidirectional_stack():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 3))
    fast, slow = LSTM(3, 4, 2, True, seed=0, fast=True), LSTM(3, 4, 2, True, seed=0, fast=False)
    out_f, (h_f, c_f) = fast.forward(x)
    out_s, (h_s, c_s) = slow.forward(x)
    np.testing.assert_allclose(out_f, out_s, rtol=1e-12, atol=1e-14)
    dout = rng.standard_normal(out_f.shape)
    dx_f, _ = fast.backward(dout)
    dx_s, _ = slow.backward(dout)
    np.testing.assert_allclose(dx_f, dx_s, rtol=1e-12, atol=1e-14)
    for name in fast.grads:
        np.testing.assert_allclose(fast.grads[name], slow.grads[name], rtol=1e-12, atol=1e-14)


def test_float32_input_stays_float32():
    model = LSTM(D, H, 2, True, seed=0)   # float64 parameters
    x = np.random.default_rng(0).standard_normal((B, T, D)).astype(np.float32)
    out, (h_n, c_n) = model.forward(x)
    dx, (dh0, dc0) = model.backward(np.ones_like(out))
    for array in (out, h_n, c_n, dx, dh0, dc0, *model.grads.values()):
        assert array.dtype == np.float32
    out64, _ = model.forward(x.astype(np.float64))
    np.testing.assert_allclose(out, out64, atol=1e-5)


def _numerical_grad(f, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        plus = f()
        array[index] = old - eps
        minus = f()
        array[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def test_step_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, h, c = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W_ih, W_hh = rng.standard_normal((4 * H, D)) * 0.5, rng.standard_normal((4 * H, H)) * 0.5
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def loss():
        h_t, c_t, _ = lstm_step_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return np.sum(h_t * dh) + np.sum(c_t * dc)

    *_, cache = lstm_step_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
    grads = lstm_step_backward(dh, dc, cache)
    for name, analytic, array in zip(grads._fields, grads, (x, h, c, W_ih, W_hh, b_ih, b_hh)):
        np.testing.assert_allclose(analytic, _numerical_grad(loss, array), rtol=1e-6, atol=1e-8,
                                   err_msg=name)


def test_state_dict_roundtrip_into_torch():
    model = LSTM(D, H, 2, True, seed=3)
    reference = torch.nn.LSTM(D, H, 2, batch_first=True, bidirectional=True, dtype=torch.float64)
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((B, T, D))
    out, (h_n, c_n) = model.forward(x)
    with torch.no_grad():
        out_t, (h_n_t, c_n_t) = reference(torch.from_numpy(x))
    np.testing.assert_allclose(out, out_t.numpy(), **TOL)
    np.testing.assert_allclose(c_n, c_n_t.numpy(), **TOL)


@pytest.mark.parametrize("fast", [True, False])
def test_model_gradient_check(fast):
    from lstm_ref.numpy import check_gradients

    model = LSTM(3, 2, 2, True, seed=0, fast=fast)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3))
    state = (rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 2)))
    errors = check_gradients(model, x, state)
    assert set(errors) == set(model.params) | {"x", "h0", "c0"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("batch, steps", [(1, 1), (1, 4), (3, 1)])
def test_edge_sizes_match_torch(batch, steps):
    torch.manual_seed(1)
    reference = torch.nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True, dtype=torch.float64)
    model = LSTM(3, 4, 2, True)
    model.load_state_dict(torch_state_dict(reference))
    x = np.random.default_rng(0).standard_normal((batch, steps, 3))
    x_t = torch.tensor(x, requires_grad=True)
    out_t, _ = reference(x_t)
    out_t.sum().backward()
    out, _ = model.forward(x)
    dx, _ = model.backward(np.ones_like(out))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(model.grads[name], parameter.grad.numpy(), **TOL)


def test_recycled_buffers_do_not_leak_between_calls():
    """The fast path reuses the previous call's buffers: results must not depend on it."""
    rng = np.random.default_rng(11)
    model, fresh = LSTM(3, 4, 2, True, seed=2), LSTM(3, 4, 2, True, seed=2)
    first_out, _ = model.forward(rng.standard_normal((5, 7, 3)))
    first_copy = first_out.copy()
    for batch, steps in [(5, 7), (2, 3), (5, 7)]:
        x = rng.standard_normal((batch, steps, 3))
        dout = rng.standard_normal((batch, steps, 8))
        model.forward(rng.standard_normal((batch, steps, 3)))       # a stale call
        out, (h_n, c_n) = model.forward(x)
        dx, (dh0, dc0) = model.backward(dout)
        out_f, (h_f, c_f) = fresh.forward(x)
        dx_f, (dh0_f, dc0_f) = fresh.backward(dout)
        for a, b in [(out, out_f), (c_n, c_f), (dx, dx_f), (dh0, dh0_f), (dc0, dc0_f)]:
            np.testing.assert_array_equal(a, b)
        for name in model.grads:
            np.testing.assert_array_equal(model.grads[name], fresh.grads[name])
        fresh = LSTM(3, 4, 2, True, seed=2)
    np.testing.assert_array_equal(first_out, first_copy)   # returned arrays are never reused


def _forward_both_paths(seed, b, t=7, d=4, h=5):
    """A random float64 problem run forward by the readable and the fast path: returns
    dh (B, T, H), dh_n, dc_n (B, H) and the two caches."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, t, d))
    h0, c0, dh_n, dc_n = rng.standard_normal((4, b, h))
    weights = [rng.standard_normal(shape) * 0.5
               for shape in ((4 * h, d), (4 * h, h), (4 * h,), (4 * h,))]
    dh = rng.standard_normal((b, t, h))
    _, _, cache_slow = lstm_forward(x, h0, c0, *weights)
    _, _, cache_fast = lstm_forward_fast(x, h0, c0, *weights)
    return dh, dh_n, dc_n, cache_slow, cache_fast


@pytest.mark.parametrize("batch", [1, 3])
def test_second_backward_on_one_cache_recomputes_the_coefficients(batch):
    """Backward overwrites the coefficients that forward stored with the gradients (in
    place); the cache says so, and a second backward on it recomputes them first: every
    backward must give the readable path's numbers, and the same ones twice."""
    dh, dh_n, dc_n, cache_slow, cache_fast = _forward_both_paths(seed=batch, b=batch)
    assert cache_fast.rows_hold == "coefficients"
    first = None
    for final in [(dh_n, dc_n), (None, None), (dh_n, dc_n)]:
        slow = lstm_backward(dh, cache_slow, *final)
        fast = lstm_backward_fast(dh, cache_fast, *final)
        assert cache_fast.rows_hold == "gradients"
        for name, a, b_ in zip(slow._fields, fast, slow):
            np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-13, err_msg=name)
        if first is None:
            first = fast
    for name, a, b_ in zip(fast._fields, fast, first):
        np.testing.assert_array_equal(a, b_, err_msg=name)


@pytest.mark.parametrize("block", [1, 2, 4])
def test_fast_backward_in_blocks_equals_step_path(monkeypatch, block):
    """Backward's weight-gradient products run over blocks of steps; blocks of 1, 2 and
    4 steps over 7 steps (the last block partial) must give the readable path's numbers."""
    from lstm_ref.numpy import lstm_fast

    monkeypatch.setattr(lstm_fast, "BLOCK_STEPS", block)
    monkeypatch.setattr(lstm_fast, "BLOCK_COLUMNS", 1)
    assert lstm_fast.block_steps(7, 3) == block
    dh, dh_n, dc_n, cache_slow, cache_fast = _forward_both_paths(seed=block, b=3)
    slow = lstm_backward(dh, cache_slow, dh_n, dc_n)
    fast = lstm_backward_fast(dh, cache_fast, dh_n, dc_n)
    for name, a, b_ in zip(slow._fields, fast, slow):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-13, err_msg=name)


def test_fast_path_returns_no_view_of_its_buffers_at_batch_one():
    """At B = 1 a transposed (H, 1) buffer is contiguous, so a careless
    ``ascontiguousarray`` would hand out the workspace that the next call overwrites."""
    rng = np.random.default_rng(12)
    weights = [rng.standard_normal(shape) for shape in ((8, 3), (8, 2), (8,), (8,))]
    x, dh = rng.standard_normal((1, 4, 3)), rng.standard_normal((1, 4, 2))
    zeros = np.zeros((1, 2))
    _, c_n, cache = lstm_forward_fast(x, zeros, zeros, *weights)
    grads = lstm_backward_fast(dh, cache)
    kept = [c_n.copy()] + [g.copy() for g in grads]
    _, _, again = lstm_forward_fast(2 * x, zeros + 1, zeros + 1, *weights,
                                    workspace=cache.workspace)
    lstm_backward_fast(-dh, again, zeros + 1, zeros + 1)
    for before, now in zip(kept, [c_n, *grads]):
        np.testing.assert_array_equal(before, now)
