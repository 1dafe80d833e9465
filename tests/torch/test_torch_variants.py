"""Models with no torch.nn twin: Cho et al.'s GRU and the peephole LSTM.

Without a reference to compare with, they are checked against finite differences
(torch.autograd.gradcheck, float64), against the special cases that do have a reference,
and against the NumPy backend.
"""

import pytest
import torch
from torch.func import functional_call

import lstm_ref.torch as ours

B, T, D, H = 2, 4, 3, 3


def gradcheck_model(model, n_state):
    """gradcheck of out and final states w.r.t. x, the initial state and every parameter.

    Deep models use gradcheck's fast mode (a random projection of the Jacobian instead of
    all of it) to keep the run short; one-layer models get the full Jacobian.
    """
    torch.manual_seed(3)
    num_directions = 2 if model.bidirectional else 1
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(model.num_layers * num_directions, B, H, dtype=torch.float64,
                          requires_grad=True) for _ in range(n_state)]

    def function(x, *rest):
        state = rest[:n_state]
        parameters = dict(zip(names, rest[n_state:]))
        out, final = functional_call(model, parameters,
                                     (x, state[0] if n_state == 1 else tuple(state)))
        return (out, final) if n_state == 1 else (out, *final)

    assert torch.autograd.gradcheck(function, (x, *states, *params), eps=1e-6, atol=1e-7,
                                    fast_mode=model.num_layers > 1)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_classic_gru_passes_gradcheck(num_layers, bidirectional):
    model = ours.GRU(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                     reset_after=False, dtype=torch.float64)
    gradcheck_model(model, 1)


def test_classic_gru_differs_from_pytorch_gru_on_the_same_parameters():
    torch.manual_seed(0)
    classic = ours.GRU(D, H, batch_first=True, reset_after=False, dtype=torch.float64)
    pytorch_form = ours.GRU(D, H, batch_first=True, dtype=torch.float64)
    pytorch_form.load_state_dict(classic.state_dict())
    reference = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    reference.load_state_dict(classic.state_dict())
    x = torch.randn(B, T, D, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    with torch.no_grad():
        out_classic, _ = classic(x, h0)
        out_pytorch_form, _ = pytorch_form(x, h0)
        out_reference, _ = reference(x, h0)
    torch.testing.assert_close(out_pytorch_form, out_reference, rtol=1e-12, atol=1e-12)
    assert (out_classic - out_reference).abs().max() > 1e-3
    # With h0 = 0 the first steps differ only through b_hn, which Cho et al. add after the
    # reset gate and PyTorch before it: with b_hn = 0 they agree.
    zeros = torch.zeros(1, B, H, dtype=torch.float64)
    with torch.no_grad():
        assert (classic(x[:, :1], zeros)[0] - pytorch_form(x[:, :1], zeros)[0]).abs().max() > 1e-6
        classic.bias_hh_l0[2 * H:] = 0
        pytorch_form.bias_hh_l0[2 * H:] = 0
        torch.testing.assert_close(classic(x[:, :1], zeros)[0], pytorch_form(x[:, :1], zeros)[0],
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_peephole_passes_gradcheck(num_layers, bidirectional):
    model = ours.PeepholeLSTM(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                              dtype=torch.float64)
    gradcheck_model(model, 2)


def test_peephole_parameters_are_lstm_parameters_plus_three_vectors():
    peephole = ours.PeepholeLSTM(D, H, 2, bidirectional=True)
    lstm_names = set(torch.nn.LSTM(D, H, 2, bidirectional=True).state_dict())
    peephole_names = set(peephole.state_dict())
    assert lstm_names <= peephole_names
    extra = peephole_names - lstm_names
    assert extra == {f"weight_c{gate}_l{k}{suffix}" for gate in "ifo" for k in (0, 1)
                     for suffix in ("", "_reverse")}
    assert all(peephole.state_dict()[name].shape == (H,) for name in extra)


def test_peephole_with_zero_peepholes_is_the_lstm():
    torch.manual_seed(0)
    peephole = ours.PeepholeLSTM(D, H, 2, bidirectional=True, batch_first=True,
                                 dtype=torch.float64)
    with torch.no_grad():
        for name, parameter in peephole.named_parameters():
            if name.startswith(("weight_ci", "weight_cf", "weight_co")):
                parameter.zero_()
    reference = torch.nn.LSTM(D, H, 2, bidirectional=True, batch_first=True,
                              dtype=torch.float64)
    reference.load_state_dict(peephole.state_dict(), strict=False)
    x = torch.randn(B, T, D, dtype=torch.float64)
    with torch.no_grad():
        out, (h_n, c_n) = peephole(x)
        ref_out, (ref_h_n, ref_c_n) = reference(x)
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c_n, ref_c_n, rtol=1e-12, atol=1e-12)
    # and the peepholes matter once they are not zero
    with torch.no_grad():
        peephole.weight_co_l1.fill_(0.5)
        assert (peephole(x)[0] - ref_out).abs().max() > 1e-3


def test_peephole_output_gate_looks_at_the_new_cell_state():
    """Hand-computed single step: o_t must use c_t, i_t and f_t must use c_{t-1}."""
    torch.manual_seed(1)
    model = ours.PeepholeLSTM(D, H, batch_first=True, dtype=torch.float64)
    x = torch.randn(B, 1, D, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    c0 = torch.randn(1, B, H, dtype=torch.float64)
    with torch.no_grad():
        out, (h_n, c_n) = model(x, (h0, c0))
        pre = (x[:, 0] @ model.weight_ih_l0.T + model.bias_ih_l0
               + h0[0] @ model.weight_hh_l0.T + model.bias_hh_l0)
        a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
        i = torch.sigmoid(a_i + model.weight_ci_l0 * c0[0])
        f = torch.sigmoid(a_f + model.weight_cf_l0 * c0[0])
        c1 = f * c0[0] + i * torch.tanh(a_g)
        o = torch.sigmoid(a_o + model.weight_co_l0 * c1)
    torch.testing.assert_close(c_n[0], c1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_n[0], o * torch.tanh(c1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_peephole_agrees_with_numpy_backend(num_layers, bidirectional):
    numpy_backend = pytest.importorskip("lstm_ref.numpy")
    if not hasattr(numpy_backend, "PeepholeLSTM"):
        pytest.skip("lstm_ref.numpy.PeepholeLSTM does not exist yet")
    torch.manual_seed(4)
    model = ours.PeepholeLSTM(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                              dtype=torch.float64)
    reference = numpy_backend.PeepholeLSTM(D, H, num_layers=num_layers,
                                           bidirectional=bidirectional)
    reference.load_state_dict({k: v.detach().numpy().copy()
                               for k, v in model.state_dict().items()})
    num_directions = 2 if bidirectional else 1
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(num_layers * num_directions, B, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(num_layers * num_directions, B, H, dtype=torch.float64, requires_grad=True)
    out, (h_n, c_n) = model(x, (h0, c0))
    d_out = torch.randn(out.shape, dtype=torch.float64)
    d_h_n = torch.randn(h_n.shape, dtype=torch.float64)
    d_c_n = torch.randn(c_n.shape, dtype=torch.float64)
    torch.autograd.backward((out, h_n, c_n), (d_out, d_h_n, d_c_n))

    np_out, (np_h_n, np_c_n) = reference.forward(x.detach().numpy(),
                                                 (h0.detach().numpy(), c0.detach().numpy()))
    np_dx, (np_dh0, np_dc0) = reference.backward(d_out.numpy(),
                                                 (d_h_n.numpy(), d_c_n.numpy()))
    close = dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(torch.from_numpy(np_out), out.detach(), **close)
    torch.testing.assert_close(torch.from_numpy(np_h_n), h_n.detach(), **close)
    torch.testing.assert_close(torch.from_numpy(np_c_n), c_n.detach(), **close)
    torch.testing.assert_close(torch.from_numpy(np_dx), x.grad, **close)
    torch.testing.assert_close(torch.from_numpy(np_dh0), h0.grad, **close)
    torch.testing.assert_close(torch.from_numpy(np_dc0), c0.grad, **close)
    assert set(reference.grads) == {name for name, _ in model.named_parameters()}
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(torch.from_numpy(reference.grads[name]), parameter.grad,
                                   **close, msg=name)
