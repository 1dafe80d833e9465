"""LayerNorm-LSTM: shapes, float64 gradcheck, reduction to the plain LSTM, scale invariance."""

import pytest
import torch

from lstm_ref.torch.layernorm_lstm import LayerNormLSTM, LayerNormLSTMCell
from lstm_ref.torch.lstm import lstm_cell


def test_shapes_and_state_carry():
    torch.manual_seed(0)
    model = LayerNormLSTM(3, 5, num_layers=2)
    x = torch.randn(4, 7, 3)
    out, (h_n, c_n) = model(x)
    assert out.shape == (4, 7, 5) and h_n.shape == (2, 4, 5) and c_n.shape == (2, 4, 5)
    assert torch.equal(out[:, -1], h_n[-1])
    # running the sequence in two halves with the state carried gives the same output
    first, state = model(x[:, :3])
    second, state2 = model(x[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), out)
    torch.testing.assert_close(state2[1], c_n)


def test_gradcheck_float64():
    torch.manual_seed(1)
    cell = LayerNormLSTMCell(3, 4, dtype=torch.float64)
    with torch.no_grad():   # move the norms off their default gain 1 / shift 0
        for norm in (cell.norm_ih, cell.norm_hh, cell.norm_cell):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in cell.parameters()]

    def step(x, h, c, *weights):
        return torch.func.functional_call(cell, dict(zip(names, weights)), (x, (h, c)))

    assert torch.autograd.gradcheck(step, (x, h, c, *params), eps=1e-6, atol=1e-7)


def test_identity_norms_give_the_plain_lstm_cell():
    torch.manual_seed(2)
    cell = LayerNormLSTMCell(3, 4, layer_norm=False, dtype=torch.float64)
    reference = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    reference.load_state_dict(cell.state_dict())    # same names and shapes as torch.nn
    x, h, c = (torch.randn(5, n, dtype=torch.float64) for n in (3, 4, 4))
    h1, c1 = cell(x, (h, c))
    h2, c2 = reference(x, (h, c))
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-12)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-12)
    h3, c3 = lstm_cell(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(h1, h3, rtol=0, atol=1e-12)
    torch.testing.assert_close(c1, c3, rtol=0, atol=1e-12)


def test_layer_norm_changes_the_output_and_is_invariant_to_weight_scale():
    torch.manual_seed(3)
    cell = LayerNormLSTMCell(3, 4, dtype=torch.float64, eps=1e-12)
    plain = LayerNormLSTMCell(3, 4, layer_norm=False, dtype=torch.float64)
    plain.load_state_dict({k: v for k, v in cell.state_dict().items() if "norm" not in k})
    x, h, c = (torch.randn(5, n, dtype=torch.float64) for n in (3, 4, 4))
    h1, c1 = cell(x, (h, c))
    assert not torch.allclose(h1, plain(x, (h, c))[0])
    with torch.no_grad():      # LN(a W x) = LN(W x) for a > 0: the normalised cell ignores scale
        cell.weight_ih.mul_(7.0)
        cell.weight_hh.mul_(0.2)
    h2, c2 = cell(x, (h, c))
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-9)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-9)


def test_bad_input_raises_value_error():
    cell = LayerNormLSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"expected shape \(B, 3\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match="dtype"):
        cell(torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="h: expected shape"):
        cell(torch.randn(2, 3), (torch.zeros(3, 4), torch.zeros(2, 4)))
    model = LayerNormLSTM(3, 4)
    with pytest.raises(ValueError, match=r"expected shape \(B, T, 3\)"):
        model(torch.randn(2, 3))
    with pytest.raises(ValueError, match="hidden_size"):
        LayerNormLSTM(3, 0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_and_matches_the_cpu():
    torch.manual_seed(4)
    model = LayerNormLSTM(3, 5, num_layers=2, dtype=torch.float64)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out_cpu, _ = model(x)
    out_gpu, (h_n, _) = model.to("cuda")(x.to("cuda"))
    assert out_gpu.device.type == "cuda" and h_n.device.type == "cuda"
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=0, atol=1e-10)
