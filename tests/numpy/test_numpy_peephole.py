"""lstm_ref.numpy PeepholeLSTM: Gers et al.'s equations, gradients, reduction to the LSTM."""

import numpy as np
import pytest
import torch

from lstm_ref.numpy import LSTM, PeepholeLSTM, check_gradients

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)


def _peephole_torch(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Gers et al.'s peephole LSTM written independently with torch autograd."""
    outputs = []
    for t in range(x.shape[1]):
        a_i, a_f, a_g, a_o = (x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
        i = torch.sigmoid(a_i + w_ci * c)
        f = torch.sigmoid(a_f + w_cf * c)
        c = f * c + i * torch.tanh(a_g)
        o = torch.sigmoid(a_o + w_co * c)
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h, c


def test_matches_independent_autograd_version():
    model = PeepholeLSTM(D, H, seed=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, D))
    h0, c0 = rng.standard_normal((1, B, H)), rng.standard_normal((1, B, H))
    dout, dh_n, dc_n = (rng.standard_normal(s) for s in ((B, T, H), (1, B, H), (1, B, H)))
    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.state_dict().items()}
    x_t = torch.tensor(x, requires_grad=True)
    h0_t, c0_t = torch.tensor(h0[0], requires_grad=True), torch.tensor(c0[0], requires_grad=True)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co")
    out_t, h_n_t, c_n_t = _peephole_torch(x_t, h0_t, c0_t, *(params[f"{n}_l0"] for n in names))
    loss = ((out_t * torch.tensor(dout)).sum() + (h_n_t * torch.tensor(dh_n[0])).sum()
            + (c_n_t * torch.tensor(dc_n[0])).sum())
    loss.backward()

    out, (h_n, c_n) = model.forward(x, (h0, c0))
    dx, (dh0, dc0) = model.backward(dout, (dh_n, dc_n))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(c_n[0], c_n_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0[0], h0_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(dc0[0], c0_t.grad.numpy(), **TOL)
    for name, tensor in params.items():
        np.testing.assert_allclose(model.grads[name], tensor.grad.numpy(), **TOL, err_msg=name)


def test_state_dict_has_peephole_vectors():
    model = PeepholeLSTM(D, H, 2, True, seed=0)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    for suffix in ("_l0", "_l1", "_l0_reverse", "_l1_reverse"):
        for name in ("weight_ci", "weight_cf", "weight_co"):
            assert shapes[name + suffix] == (H,)
    torch_keys = torch.nn.LSTM(D, H, 2, bidirectional=True).state_dict().keys()
    assert set(shapes) - set(torch_keys) == {k for k in shapes if k.startswith(("weight_c"))}


@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_zero_peepholes_reduce_to_lstm(num_layers, bidirectional):
    peephole = PeepholeLSTM(D, H, num_layers, bidirectional, seed=1)
    lstm = LSTM(D, H, num_layers, bidirectional, seed=5)
    weights = peephole.state_dict()
    for name in weights:
        if name.startswith(("weight_ci", "weight_cf", "weight_co")):
            weights[name][:] = 0.0
    peephole.load_state_dict(weights)
    lstm.load_state_dict({k: v for k, v in weights.items() if not k.startswith("weight_c")})
    x = np.random.default_rng(0).standard_normal((B, T, D))
    out_p, (h_p, c_p) = peephole.forward(x)
    out_l, (h_l, c_l) = lstm.forward(x)
    np.testing.assert_allclose(out_p, out_l, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_p, c_l, rtol=1e-12, atol=1e-14)
    dout = np.random.default_rng(1).standard_normal(out_p.shape)
    dx_p, _ = peephole.backward(dout)
    dx_l, _ = lstm.backward(dout)
    np.testing.assert_allclose(dx_p, dx_l, rtol=1e-12, atol=1e-14)
    for name, grad in lstm.grads.items():
        np.testing.assert_allclose(peephole.grads[name], grad, rtol=1e-12, atol=1e-14)


def test_gradient_check():
    model = PeepholeLSTM(3, 2, 2, True, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3))
    state = (rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 2)))
    errors = check_gradients(model, x, state)
    assert set(errors) == set(model.params) | {"x", "h0", "c0"}
    assert max(errors.values()) < 1e-6, errors


def test_float32_input_stays_float32():
    model = PeepholeLSTM(D, H, seed=0)
    x = np.random.default_rng(0).standard_normal((B, T, D)).astype(np.float32)
    out, (h_n, c_n) = model.forward(x)
    dx, (dh0, dc0) = model.backward(np.ones_like(out))
    for array in (out, h_n, c_n, dx, dh0, dc0, *model.grads.values()):
        assert array.dtype == np.float32
