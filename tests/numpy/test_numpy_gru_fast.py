"""lstm_ref.numpy.gru_fast: the fast GRU path gives the readable path's numbers and errors."""

import numpy as np
import pytest

from lstm_ref.numpy import (
    GRU,
    gru_backward,
    gru_backward_fast,
    gru_forward,
    gru_forward_fast,
)
from lstm_ref.numpy.lstm_fast import Workspace

TOLERANCE = {np.float64: 1e-12, np.float32: 3e-5}
# (B, T, D, H): general, B=1 and T=1, B=1, T=1, H > D, H < D
SHAPES = [(3, 5, 4, 6), (1, 1, 2, 3), (1, 6, 5, 2), (4, 1, 3, 7), (2, 4, 9, 3)]


def _problem(rng, batch, steps, features, hidden, dtype, with_state):
    """Random inputs, weights and upstream gradients; zeros for h0 and no dh_n without
    state (the models' defaults)."""
    def array(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    x = array(batch, steps, features)
    h0 = array(batch, hidden) if with_state else np.zeros((batch, hidden), dtype)
    weights = (array(3 * hidden, features, scale=0.6), array(3 * hidden, hidden, scale=0.6),
               array(3 * hidden), array(3 * hidden))
    dh = array(batch, steps, hidden)
    dh_n = array(batch, hidden) if with_state else None
    return x, h0, weights, dh, dh_n


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_state", [True, False])
def test_fast_path_equals_readable_path(dtype, reset_after, shape, with_state):
    rng = np.random.default_rng(abs(hash((shape, reset_after, with_state))) % 2**32)
    x, h0, weights, dh, dh_n = _problem(rng, *shape, dtype, with_state)
    inputs = [x, h0, *weights, dh] + ([dh_n] if with_state else [])
    originals = [array.copy() for array in inputs]
    tol = TOLERANCE[dtype]

    h_slow, caches = gru_forward(x, h0, *weights, reset_after)
    h_fast, cache = gru_forward_fast(x, h0, *weights, reset_after)
    assert h_fast.shape == h_slow.shape == shape[:2] + shape[3:]
    assert h_fast.dtype == dtype and h_fast.flags.c_contiguous
    np.testing.assert_allclose(h_fast, h_slow, rtol=tol, atol=tol)
    slow = gru_backward(dh, caches, dh_n)
    fast = gru_backward_fast(dh, cache, dh_n)
    assert type(fast) is type(slow)
    for name, a, b in zip(slow._fields, fast, slow):
        assert a.shape == b.shape and a.dtype == dtype, name
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)
    # the fast path works on copies: nothing given to it is modified
    for array, original in zip(inputs, originals):
        np.testing.assert_array_equal(array, original)


@pytest.mark.parametrize("reset_after", [True, False])
def test_fast_path_matches_finite_differences(reset_after):
    """Central differences of L = sum(h * dh) + sum(h_T * dh_n) for every input."""
    rng = np.random.default_rng(7)
    x, h0, weights, dh, dh_n = _problem(rng, 2, 3, 3, 2, np.float64, with_state=True)
    arrays = [x, h0, *weights]

    def loss():
        h, _ = gru_forward_fast(*arrays, reset_after)
        return np.sum(h * dh) + np.sum(h[:, -1] * dh_n)

    _, cache = gru_forward_fast(*arrays, reset_after)
    grads = gru_backward_fast(dh, cache, dh_n)
    eps = 1e-6
    for name, analytic, array in zip(grads._fields, grads, arrays):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            old = array[index]
            array[index] = old + eps
            plus = loss()
            array[index] = old - eps
            minus = loss()
            array[index] = old
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_and_readable_models_agree_bidirectional_stack(reset_after, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 3)).astype(dtype)
    h0 = rng.standard_normal((4, 2, 5)).astype(dtype)
    fast = GRU(3, 5, 2, True, reset_after=reset_after, seed=1, dtype=dtype)
    slow = GRU(3, 5, 2, True, reset_after=reset_after, seed=1, dtype=dtype, fast=False)
    assert fast.fast and not slow.fast
    tol = TOLERANCE[dtype]
    out_f, h_n_f = fast.forward(x, h0)
    out_s, h_n_s = slow.forward(x, h0)
    np.testing.assert_allclose(out_f, out_s, rtol=tol, atol=tol)
    np.testing.assert_allclose(h_n_f, h_n_s, rtol=tol, atol=tol)
    dout, dh_n = rng.standard_normal(out_f.shape).astype(dtype), rng.standard_normal(
        h_n_f.shape).astype(dtype)
    dx_f, dh0_f = fast.backward(dout, dh_n)
    dx_s, dh0_s = slow.backward(dout, dh_n)
    np.testing.assert_allclose(dx_f, dx_s, rtol=tol, atol=tol)
    np.testing.assert_allclose(dh0_f, dh0_s, rtol=tol, atol=tol)
    assert list(fast.grads) == list(slow.grads)
    for name in fast.grads:
        assert fast.grads[name].dtype == dtype, name
        np.testing.assert_allclose(fast.grads[name], slow.grads[name], rtol=tol, atol=tol,
                                   err_msg=name)


def test_recycled_buffers_do_not_leak_between_calls():
    """The model reuses the previous call's buffers: results must not depend on it."""
    rng = np.random.default_rng(11)
    model = GRU(3, 4, 2, True, seed=2)
    first_out, _ = model.forward(rng.standard_normal((5, 7, 3)))
    first_dx, _ = model.backward(np.ones_like(first_out))
    first_arrays = [first_out, first_dx, *model.grads.values()]
    first_copies = [array.copy() for array in first_arrays]
    for batch, steps in [(5, 7), (2, 3), (5, 7)]:
        x = rng.standard_normal((batch, steps, 3))
        dout = rng.standard_normal((batch, steps, 8))
        model.forward(rng.standard_normal((batch, steps, 3)))        # a stale call
        out, h_n = model.forward(x)
        dx, dh0 = model.backward(dout)
        fresh = GRU(3, 4, 2, True, seed=2)
        out_f, h_n_f = fresh.forward(x)
        dx_f, dh0_f = fresh.backward(dout)
        for a, b in [(out, out_f), (h_n, h_n_f), (dx, dx_f), (dh0, dh0_f)]:
            np.testing.assert_array_equal(a, b)
        for name in model.grads:
            np.testing.assert_array_equal(model.grads[name], fresh.grads[name])
    for array, copy in zip(first_arrays, first_copies):    # returned arrays are never reused
        np.testing.assert_array_equal(array, copy)


def test_explicit_workspace_gives_the_same_numbers():
    rng = np.random.default_rng(3)
    x, h0, weights, dh, dh_n = _problem(rng, 3, 4, 2, 5, np.float64, with_state=True)
    h_new, cache_new = gru_forward_fast(x, h0, *weights)
    _, caches = gru_forward(x, h0, *weights)
    grads_new = gru_backward_fast(dh, cache_new, dh_n)
    workspace = Workspace()
    gru_forward_fast(x[:, :2] * 3, h0, *weights, workspace=workspace)   # other contents
    h_old, cache_old = gru_forward_fast(x, h0, *weights, workspace=workspace)
    assert cache_old.workspace is workspace
    np.testing.assert_array_equal(h_old, h_new)
    for a, b in zip(gru_backward_fast(dh, cache_old, dh_n), grads_new):
        np.testing.assert_array_equal(a, b)
    # backward leaves the cache intact: a second call (other dh) is as good as a first
    for a, b in zip(gru_backward_fast(2 * dh, cache_old), gru_backward(2 * dh, caches)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _bad_forward_inputs(x, h0, W_ih, W_hh, b_ih, b_hh):
    """(label, arguments) pairs that the readable path refuses."""
    return [
        ("x is 2-D", (x[:, 0], h0, W_ih, W_hh, b_ih, b_hh)),
        ("no time steps", (x[:, :0], h0, W_ih, W_hh, b_ih, b_hh)),
        ("h0 batch", (x, h0[:1], W_ih, W_hh, b_ih, b_hh)),
        ("h0 is 3-D", (x, h0[None], W_ih, W_hh, b_ih, b_hh)),
        ("W_ih for 4 gates", (x, h0, np.vstack([W_ih, W_ih[:2]]), W_hh, b_ih, b_hh)),
        ("W_ih for other D", (x, h0, W_ih[:, 1:], W_hh, b_ih, b_hh)),
        ("W_hh transposed", (x, h0, W_ih, W_hh.T, b_ih, b_hh)),
        ("b_ih length", (x, h0, W_ih, W_hh, b_ih[1:], b_hh)),
        ("b_hh 2-D", (x, h0, W_ih, W_hh, b_ih, b_hh[None])),
        ("integer x", (np.ones(x.shape, dtype=np.int64), h0, W_ih, W_hh, b_ih, b_hh)),
        ("integer W_hh", (x, h0, W_ih, W_hh.astype(np.int32), b_ih, b_hh)),
        ("boolean h0", (x, h0 > 0, W_ih, W_hh, b_ih, b_hh)),
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bad_inputs_give_the_readable_paths_errors(dtype):
    rng = np.random.default_rng(5)
    x, h0, weights, dh, dh_n = _problem(rng, 2, 3, 4, 5, dtype, with_state=True)
    for label, arguments in _bad_forward_inputs(x, h0, *weights):
        with pytest.raises(ValueError) as readable:
            gru_forward(*arguments)
        with pytest.raises(ValueError) as fast:
            gru_forward_fast(*arguments)
        assert str(fast.value) == str(readable.value), label
        assert "expected" in str(fast.value), label

    _, caches = gru_forward(x, h0, *weights)
    _, cache = gru_forward_fast(x, h0, *weights)
    bad_gradients = [("dh transposed", dh.transpose(0, 2, 1), None),
                     ("dh one step short", dh[:, 1:], None),
                     ("dh_n batch", dh, dh_n[:1]),
                     ("dh_n 3-D", dh, dh_n[None])]
    for label, d_out, d_final in bad_gradients:
        with pytest.raises(ValueError) as readable:
            gru_backward(d_out, caches, d_final)
        with pytest.raises(ValueError) as fast:
            gru_backward_fast(d_out, cache, d_final)
        assert str(fast.value) == str(readable.value), label
        assert "expected shape" in str(fast.value), label
