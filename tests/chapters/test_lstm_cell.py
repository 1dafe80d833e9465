"""lstm_ref.chapters.lstm_cell against torch.nn.LSTM: notation conversion and gate traces."""

import numpy as np
import pytest
import torch

from lstm_ref.chapters.lstm_cell import concat_to_split, lstm_gate_trace
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


def suffix_gradient_norm(net, head, x, y, k):
    """||dL/dh_{T-k}|| per sequence (and dL/dc_{T-k}), by restarting torch.nn at step T-k.

    Each L^(b) depends only on sequence b's states, so the gradient of the summed loss
    holds every sequence's own gradient."""
    steps = x.shape[1]
    is_lstm = isinstance(net, torch.nn.LSTM)
    _, state = net(x[:, :steps - k])                  # the state after step T-k
    state = tuple(s.detach().requires_grad_(True) for s in (state if is_lstm else (state,)))
    if k == 0:
        h_last = state[0][0]
    else:
        out, _ = net(x[:, steps - k:], state if is_lstm else state[0])
        h_last = out[:, -1]
    loss = torch.nn.functional.cross_entropy(head(h_last), y, reduction="sum")
    grads = torch.autograd.grad(loss, state, allow_unused=True)
    return [None if g is None else g[0].norm(dim=1).mean().item() for g in grads]


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_state_gradient_norms_match_restarted_torch(kind):
    from lstm_ref.chapters.lstm_cell import state_gradient_norms

    torch.manual_seed(3)
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.RNN
    net = cls(D, H, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(H, 3, dtype=torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    y = torch.randint(0, 3, (B,))
    norms = state_gradient_norms(net, head, torch.nn.functional.cross_entropy, x, y)
    assert sorted(norms) == (["c", "h"] if kind == "lstm" else ["h"])
    for k in range(T):
        expected = suffix_gradient_norm(net, head, x, y, k)
        np.testing.assert_allclose(norms["h"][k], expected[0], rtol=1e-10)
    if kind == "lstm":
        np.testing.assert_allclose(norms["c"], total_cell_gradient_norms(net, head, x, y),
                                   rtol=1e-10)


def total_cell_gradient_norms(net, head, x, y):
    """||dL/dc_{T-k}||, every path included, from the NumPy backend's hand-written backward."""
    from lstm_ref.numpy import lstm_forward, lstm_step_backward

    params = [p.detach().numpy() for p in (net.weight_ih_l0, net.weight_hh_l0,
                                           net.bias_ih_l0, net.bias_hh_l0)]
    zeros = np.zeros((x.shape[0], H))
    h, _, caches = lstm_forward(x.numpy(), zeros, zeros, *params)
    h_last = torch.from_numpy(h[:, -1]).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(head(h_last), y, reduction="sum")
    dh_next = torch.autograd.grad(loss, h_last)[0].numpy()
    dc_next = np.zeros_like(dh_next)
    norms = []
    for cache in reversed(caches):
        dc_total = dc_next + dh_next * cache.o * (1.0 - cache.tanh_c ** 2)
        norms.append(np.linalg.norm(dc_total, axis=1).mean())
        step = lstm_step_backward(dh_next, dc_next, cache)
        dh_next, dc_next = step.dh_prev, step.dc_prev
    return np.array(norms)


def test_state_gradient_norms_rejects_stacked_networks():
    from lstm_ref.chapters.lstm_cell import state_gradient_norms

    net = torch.nn.LSTM(D, H, num_layers=2, batch_first=True)
    with pytest.raises(ValueError, match="one-layer"):
        state_gradient_norms(net, torch.nn.Linear(H, 2), torch.nn.functional.cross_entropy,
                             torch.randn(B, T, D), torch.zeros(B, dtype=torch.long))


def test_symbol_selectivity():
    from lstm_ref.chapters.lstm_cell import symbol_selectivity

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=400)
    values = np.stack([labels * 1.5 - 2.0,                    # a function of the label
                       rng.normal(size=400),                  # ignores it
                       np.full(400, 0.7)], axis=1)            # never varies
    score = symbol_selectivity(values, labels)
    assert score.shape == (3,)
    np.testing.assert_allclose(score[0], 1.0, rtol=1e-12)
    assert score[1] < 0.05 and score[2] == 0.0
    with pytest.raises(ValueError, match="labels"):
        symbol_selectivity(values, labels[:-1])


def test_draw_lstm_cell_labels_every_part():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstm_ref.chapters.lstm_cell import draw_lstm_cell

    ax = draw_lstm_cell()
    texts = " ".join(t.get_text() for t in ax.texts)
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "forget", "input",
                  "candidate", "output"):
        assert label in texts
    assert ax.get_title()
    plt.close(ax.figure)
