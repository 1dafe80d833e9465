"""Forget-gate bias and orthogonal recurrent initialisation on torch.nn layouts."""

import pytest
import torch

from lstm_ref.torch.layernorm_lstm import LayerNormLSTM
from lstm_ref.torch.init import chrono_init_, orthogonal_recurrent_, set_forget_bias
from lstm_ref.torch import LSTM


@pytest.mark.parametrize("make", [lambda: LSTM(3, 5, num_layers=2),
                                  lambda: torch.nn.LSTM(3, 5, num_layers=2),
                                  lambda: LayerNormLSTM(3, 5, num_layers=2)])
def test_forget_bias_sets_only_the_forget_block(make):
    torch.manual_seed(0)
    module = make()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    set_forget_bias(module, 2.0)
    H = 5
    names = [k for k in before if "bias_ih" in k]
    assert len(names) == 2
    for name in names:
        other = name.replace("bias_ih", "bias_hh")
        total = module.state_dict()[name] + module.state_dict()[other]
        torch.testing.assert_close(total[H:2 * H], torch.full((H,), 2.0))
        for block in (slice(0, H), slice(2 * H, 4 * H)):   # i, g, o untouched
            torch.testing.assert_close(module.state_dict()[name][block], before[name][block])
            torch.testing.assert_close(module.state_dict()[other][block], before[other][block])


def test_forget_bias_opens_the_forget_gate():
    torch.manual_seed(1)
    module = LSTM(2, 4)
    set_forget_bias(module, 3.0)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("weight"):
                p.zero_()
        _, (_, c_n) = module(torch.zeros(1, 1, 2), (torch.zeros(1, 1, 4), torch.ones(1, 1, 4)))
    # with zero weights: f = sigmoid(3), i * g = sigmoid(b_i) * tanh(b_g)
    b = module.bias_ih_l0 + module.bias_hh_l0
    expected = torch.sigmoid(torch.tensor(3.0)) + torch.sigmoid(b[:4]) * torch.tanh(b[8:12])
    torch.testing.assert_close(c_n[0, 0], expected.detach())


def test_orthogonal_blocks():
    torch.manual_seed(2)
    module = torch.nn.LSTM(3, 6, num_layers=2)
    before_ih = module.weight_ih_l0.detach().clone()
    orthogonal_recurrent_(module, generator=torch.Generator().manual_seed(0))
    for layer in range(2):
        w = getattr(module, f"weight_hh_l{layer}").detach().double()
        blocks = w.reshape(4, 6, 6)
        for q in blocks:
            torch.testing.assert_close(q.T @ q, torch.eye(6, dtype=torch.float64), atol=1e-6,
                                       rtol=0)
        assert not torch.allclose(blocks[0], blocks[1])
    assert torch.equal(module.weight_ih_l0, before_ih)


def test_modules_without_lstm_parameters_are_refused():
    with pytest.raises(ValueError, match="bias_ih"):
        set_forget_bias(torch.nn.Linear(3, 4), 1.0)
    with pytest.raises(ValueError, match="weight_hh"):
        orthogonal_recurrent_(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match="4H rows"):
        set_forget_bias(torch.nn.RNN(3, 5), 1.0)


@pytest.mark.parametrize("make", [lambda: LSTM(3, 50, num_layers=2),
                                  lambda: torch.nn.LSTM(3, 50, num_layers=2)])
def test_chrono_init_spreads_forget_time_scales(make):
    torch.manual_seed(3)
    module = make()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    chrono_init_(module, 100, generator=torch.Generator().manual_seed(0))
    H = 50
    state = module.state_dict()
    for layer in range(2):
        b = state[f"bias_ih_l{layer}"] + state[f"bias_hh_l{layer}"]
        b_i, b_f = b[:H], b[H:2 * H]
        torch.testing.assert_close(b_i, -b_f)                      # input bias = -forget bias
        u = torch.exp(b_f)                                         # b_f = log u
        assert u.min() >= 1 - 1e-5 and u.max() <= 99 + 1e-4
        assert u.max() - u.min() > 50                              # spread over [1, T - 1]
        f = torch.sigmoid(b_f)                                     # f = u / (1 + u)
        torch.testing.assert_close(f, u / (1 + u))
        for name in (f"bias_ih_l{layer}", f"bias_hh_l{layer}"):    # g, o untouched
            torch.testing.assert_close(state[name][2 * H:], before[name][2 * H:])
        torch.testing.assert_close(state[f"weight_hh_l{layer}"], before[f"weight_hh_l{layer}"])
    other = make()
    chrono_init_(other, 100, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(other.bias_ih_l0[H:2 * H], module.bias_ih_l0[H:2 * H])


def test_chrono_init_rejects_bad_input():
    with pytest.raises(ValueError, match="max_steps"):
        chrono_init_(LSTM(2, 4), 2)
    with pytest.raises(ValueError, match="bias_ih"):
        chrono_init_(torch.nn.Linear(3, 4), 10)
