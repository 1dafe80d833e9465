"""lstm_ref.anatomy against torch.nn.LSTM: notation conversion and gate traces."""

import numpy as np
import pytest
import torch

from lstm_ref.anatomy import concat_to_split, lstm_gate_trace
from lstm_ref.numpy import sigmoid

B, T, D, H = 3, 6, 4, 5


def concat_gates(W, b, h_prev, x_t, gate_order):
    """The gates the concatenated notation defines, as a dict of (B, H) arrays."""
    a = np.concatenate([h_prev, x_t], axis=1) @ W.T + b
    blocks = dict(zip(gate_order, np.split(a, 4, axis=1)))
    return {"i": sigmoid(blocks["i"]), "f": sigmoid(blocks["f"]),
            "g": np.tanh(blocks["g"]), "o": sigmoid(blocks["o"])}


@pytest.mark.parametrize("gate_order", ["ifgo", "ifog", "fiog", "ogfi"])
def test_concat_to_split_gives_the_same_cell_as_torch(gate_order):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(4 * H, H + D))
    b = rng.normal(size=4 * H)
    x_t, h_prev, c_prev = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    W_ih, W_hh, b_ih, b_hh = concat_to_split(W, b, D, gate_order)
    assert W_ih.shape == (4 * H, D) and W_hh.shape == (4 * H, H)
    assert b_ih.shape == b_hh.shape == (4 * H,)
    gates = concat_gates(W, b, h_prev, x_t, gate_order)
    c_expected = gates["f"] * c_prev + gates["i"] * gates["g"]
    h_expected = gates["o"] * np.tanh(c_expected)

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                               (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(torch.from_numpy(value))
        h_t, c_t = cell(torch.from_numpy(x_t), (torch.from_numpy(h_prev), torch.from_numpy(c_prev)))
    np.testing.assert_allclose(h_t.numpy(), h_expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_t.numpy(), c_expected, rtol=1e-12, atol=1e-12)


def test_concat_to_split_accepts_tensors_and_keeps_dtype():
    W = torch.randn(4 * H, H + D, dtype=torch.float32)
    b = torch.randn(4 * H, dtype=torch.float32)
    W_ih, W_hh, b_ih, b_hh = concat_to_split(W, b, D, "ifog")
    assert all(torch.is_tensor(p) and p.dtype == torch.float32 for p in (W_ih, W_hh, b_ih, b_hh))
    # the o block (third in "ifog") lands fourth in torch's order
    torch.testing.assert_close(W_ih[3 * H:], W[2 * H:3 * H, H:])
    torch.testing.assert_close(W_hh[2 * H:3 * H], W[3 * H:, :H])


@pytest.mark.parametrize("bad", [dict(gate_order="ifgg"), dict(gate_order="if"),
                                 dict(input_size=D + 1)])
def test_concat_to_split_rejects_bad_input(bad):
    W, b = np.zeros((4 * H, H + D)), np.zeros(4 * H)
    args = dict(input_size=D, gate_order="ifgo") | bad
    with pytest.raises(ValueError, match="expected|gate_order"):
        concat_to_split(W, b, args["input_size"], args["gate_order"])


@pytest.mark.parametrize("num_layers,layer", [(1, 0), (2, 0), (2, 1)])
def test_gate_trace_matches_torch_lstm(num_layers, layer):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(D, H, num_layers, batch_first=True, dtype=torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    trace = lstm_gate_trace(lstm.state_dict(), x, layer=layer)
    out, (h_n, c_n) = lstm(x)
    for key in "ifgoch":
        assert trace[key].shape == (B, T, H)
    if layer == num_layers - 1:
        torch.testing.assert_close(trace["h"], out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(trace["h"][:, -1], h_n[layer], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(trace["c"][:, -1], c_n[layer], rtol=1e-12, atol=1e-12)
    # the recorded gates reproduce the recorded states through the cell's last two equations
    c_prev = torch.cat([torch.zeros(B, 1, H, dtype=x.dtype), trace["c"][:, :-1]], dim=1)
    torch.testing.assert_close(trace["c"], trace["f"] * c_prev + trace["i"] * trace["g"])
    torch.testing.assert_close(trace["h"], trace["o"] * torch.tanh(trace["c"]))
    assert ((trace["f"] > 0) & (trace["f"] < 1)).all()


def test_gate_trace_rejects_bad_input():
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    with pytest.raises(ValueError, match="input features"):
        lstm_gate_trace(lstm.state_dict(), torch.randn(B, T, D + 1))
    with pytest.raises(ValueError, match="layer 1"):
        lstm_gate_trace(lstm.state_dict(), torch.randn(B, T, D), layer=1)
    with pytest.raises(ValueError, match=r"\(B, T, D\)"):
        lstm_gate_trace(lstm.state_dict(), torch.randn(T, D))
