"""lstm_ref.numpy RNN: parity with torch.nn.RNN in float64, gradients, dtypes."""

import numpy as np
import pytest
import torch

from lstm_ref.numpy import RNN, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)


def torch_state_dict(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_torch_rnn(nonlinearity, num_layers, bidirectional, with_state):
    torch.manual_seed(0)
    reference = torch.nn.RNN(D, H, num_layers, nonlinearity=nonlinearity, batch_first=True,
                             bidirectional=bidirectional, dtype=torch.float64)
    model = RNN(D, H, num_layers, bidirectional, nonlinearity=nonlinearity, seed=123)
    model.load_state_dict(torch_state_dict(reference))
    for key, value in torch_state_dict(reference).items():
        np.testing.assert_array_equal(model.state_dict()[key], value)

    rng = np.random.default_rng(1)
    directions = 2 if bidirectional else 1
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((num_layers * directions, B, H)) if with_state else None
    dout = rng.standard_normal((B, T, directions * H))
    dh_n = rng.standard_normal((num_layers * directions, B, H)) if with_state else None

    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0 if with_state else np.zeros((num_layers * directions, B, H)),
                        requires_grad=True)
    out_t, h_n_t = reference(x_t, h0_t)
    loss = (out_t * torch.tensor(dout)).sum()
    if with_state:
        loss = loss + (h_n_t * torch.tensor(dh_n)).sum()
    loss.backward()

    out, h_n = model.forward(x, h0)
    dx, dh0 = model.backward(dout, dh_n)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy(), **TOL)
    assert list(model.grads) == list(reference.state_dict())
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(model.grads[name], parameter.grad.numpy(), **TOL,
                                   err_msg=name)


def test_float32_input_stays_float32():
    model = RNN(D, H, 2, True, seed=0)
    x = np.random.default_rng(0).standard_normal((B, T, D)).astype(np.float32)
    out, h_n = model.forward(x)
    dx, dh0 = model.backward(np.ones_like(out))
    assert out.dtype == h_n.dtype == dx.dtype == dh0.dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads.values())
    out64, _ = model.forward(x.astype(np.float64))
    assert out64.dtype == np.float64
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


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_step_backward_matches_finite_differences(nonlinearity):
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    W_ih, W_hh = rng.standard_normal((H, D)) * 0.5, rng.standard_normal((H, H)) * 0.5
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    dh = rng.standard_normal((B, H))

    def loss():
        return np.sum(rnn_step_forward(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity)[0] * dh)

    _, cache = rnn_step_forward(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity)
    grads = rnn_step_backward(dh, cache)
    for analytic, array in zip(grads, (x, h, W_ih, W_hh, b_ih, b_hh)):
        np.testing.assert_allclose(analytic, _numerical_grad(loss, array), rtol=1e-6, atol=1e-8)


def test_sequence_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5))
    W_ih, W_hh = rng.standard_normal((5, 3)) * 0.5, rng.standard_normal((5, 5)) * 0.5
    b_ih, b_hh = rng.standard_normal(5), rng.standard_normal(5)
    dh, dh_n = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 5))

    def loss():
        h, _ = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
        return np.sum(h * dh) + np.sum(h[:, -1] * dh_n)

    _, caches = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
    grads = rnn_backward(dh, caches, dh_n)
    for analytic, array in zip(grads, (x, h0, W_ih, W_hh, b_ih, b_hh)):
        np.testing.assert_allclose(analytic, _numerical_grad(loss, array), rtol=1e-6, atol=1e-8)


def test_init_like_torch_and_seeded():
    a, b = RNN(D, 16, 2, True, seed=7), RNN(D, 16, 2, True, seed=7)
    bound = 1 / np.sqrt(16)
    for name, value in a.state_dict().items():
        assert np.all(np.abs(value) <= bound)
        np.testing.assert_array_equal(value, b.state_dict()[name])
    assert a.params["weight_hh_l1_reverse"].shape == (16, 16)
    assert a.params["weight_ih_l1"].shape == (16, 32)
    assert not np.array_equal(RNN(D, 16, seed=1).params["weight_ih_l0"],
                              RNN(D, 16, seed=2).params["weight_ih_l0"])


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_model_gradient_check(nonlinearity):
    from lstm_ref.numpy import check_gradients

    model = RNN(3, 2, 2, True, nonlinearity=nonlinearity, seed=0)
    rng = np.random.default_rng(0)
    errors = check_gradients(model, rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 2, 2)))
    assert set(errors) == set(model.params) | {"x", "h0"}
    assert max(errors.values()) < 1e-6, errors
