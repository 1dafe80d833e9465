"""lstm_ref.numpy GRU: parity with torch.nn.GRU, the classic (reset-before) form, gradients."""

import numpy as np
import pytest
import torch

from lstm_ref.numpy import GRU, check_gradients, gru_step_backward, gru_step_forward

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)


def torch_state_dict(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_torch_gru(fast, num_layers, bidirectional, with_state):
    torch.manual_seed(0)
    reference = torch.nn.GRU(D, H, num_layers, batch_first=True,
                             bidirectional=bidirectional, dtype=torch.float64)
    model = GRU(D, H, num_layers, bidirectional, seed=9, fast=fast)
    model.load_state_dict(torch_state_dict(reference))

    rng = np.random.default_rng(1)
    directions = 2 if bidirectional else 1
    state_shape = (num_layers * directions, B, H)
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal(state_shape) if with_state else np.zeros(state_shape)
    dout = rng.standard_normal((B, T, directions * H))
    dh_n = rng.standard_normal(state_shape)

    x_t, h0_t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out_t, h_n_t = reference(x_t, h0_t)
    loss = (out_t * torch.tensor(dout)).sum()
    if with_state:
        loss = loss + (h_n_t * torch.tensor(dh_n)).sum()
    loss.backward()

    out, h_n = model.forward(x, h0 if with_state else None)
    dx, dh0 = model.backward(dout, dh_n if with_state else None)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy(), **TOL)
    assert list(model.grads) == list(reference.state_dict())
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(model.grads[name], parameter.grad.numpy(), **TOL,
                                   err_msg=name)


def _classic_gru_torch(x, h, W_ih, W_hh, b_ih, b_hh):
    """Cho et al.'s GRU written independently with torch autograd: n uses W_hn (r * h)."""
    W_ir, W_iz, W_in = W_ih.chunk(3)
    W_hr, W_hz, W_hn = W_hh.chunk(3)
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    outputs = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        r = torch.sigmoid(x_t @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x_t @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = torch.tanh(x_t @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("fast", [True, False])
def test_classic_gru_matches_independent_autograd_version(fast):
    model = GRU(D, H, reset_after=False, seed=4, fast=fast)
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((B, T, D)), rng.standard_normal((1, B, H))
    dout = rng.standard_normal((B, T, H))
    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.state_dict().items()}
    x_t, h0_t = torch.tensor(x, requires_grad=True), torch.tensor(h0[0], requires_grad=True)
    out_t = _classic_gru_torch(x_t, h0_t, *(params[f"{n}_l0"] for n in
                                           ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    (out_t * torch.tensor(dout)).sum().backward()

    out, h_n = model.forward(x, h0)
    dx, dh0 = model.backward(dout)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0[0], h0_t.grad.numpy(), **TOL)
    for name, tensor in params.items():
        np.testing.assert_allclose(model.grads[name], tensor.grad.numpy(), **TOL, err_msg=name)
    # ... and the two forms really differ for the same parameters
    pytorch_form = GRU(D, H, seed=4)
    assert np.abs(pytorch_form.forward(x, h0)[0] - out).max() > 1e-3


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gradient_check(reset_after, fast):
    model = GRU(3, 2, 2, True, reset_after=reset_after, seed=0, fast=fast)
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    errors = check_gradients(model, x, np.random.default_rng(1).standard_normal((4, 2, 2)))
    assert set(errors) == set(model.params) | {"x", "h0"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("reset_after", [True, False])
def test_step_backward_shapes(reset_after):
    rng = np.random.default_rng(3)
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    W_ih, W_hh = rng.standard_normal((3 * H, D)), rng.standard_normal((3 * H, H))
    b_ih, b_hh = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    h_t, cache = gru_step_forward(x, h, W_ih, W_hh, b_ih, b_hh, reset_after)
    grads = gru_step_backward(np.ones_like(h_t), cache)
    for grad, array in zip(grads, (x, h, W_ih, W_hh, b_ih, b_hh)):
        assert grad.shape == array.shape


@pytest.mark.parametrize("fast", [True, False])
def test_float32_input_stays_float32(fast):
    model = GRU(D, H, 2, True, seed=0, fast=fast)
    x = np.random.default_rng(0).standard_normal((B, T, D)).astype(np.float32)
    out, h_n = model.forward(x)
    dx, dh0 = model.backward(np.ones_like(out))
    for array in (out, h_n, dx, dh0, *model.grads.values()):
        assert array.dtype == np.float32
