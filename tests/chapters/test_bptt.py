"""Tests for lstm_ref.chapters.bptt (chapter 3's truncated-BPTT and clipping experiments)."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from lstm_ref.chapters.bptt import (detach_state, train_adding_sgd, train_delayed_echo,
                           truncated_forward)
from lstm_ref.torch import LSTM, RNN

matplotlib.use("Agg")


def _lstm(seed=0):
    torch.manual_seed(seed)
    return LSTM(3, 5, batch_first=True, dtype=torch.float64)


def test_truncated_forward_keeps_the_forward_pass():
    lstm = _lstm()
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    full, (h_full, c_full) = lstm(x)
    for k in (1, 2, 4, 9, 20):
        out, (h_n, c_n) = truncated_forward(lstm, x, k)
        torch.testing.assert_close(out, full, rtol=0, atol=1e-12)
        torch.testing.assert_close(h_n, h_full, rtol=0, atol=1e-12)
        torch.testing.assert_close(c_n, c_full, rtol=0, atol=1e-12)


def test_truncated_backward_stops_at_the_chunk_start():
    lstm = _lstm(1)
    x = torch.randn(2, 8, 3, dtype=torch.float64, requires_grad=True)
    out, _ = truncated_forward(lstm, x, 3)        # chunks [0, 3), [3, 6), [6, 8)
    out[:, 7].sum().backward()
    per_step = x.grad.abs().sum(dim=(0, 2))
    assert torch.all(per_step[:6] == 0), per_step
    assert torch.all(per_step[6:] > 0), per_step


def test_truncation_at_or_beyond_length_is_full_bptt():
    lstm = _lstm(2)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    weight = torch.randn(3, 6, 5, dtype=torch.float64)
    (lstm(x)[0] * weight).sum().backward()
    full = lstm.weight_hh_l0.grad.clone()
    lstm.zero_grad()
    (truncated_forward(lstm, x, 6)[0] * weight).sum().backward()
    torch.testing.assert_close(lstm.weight_hh_l0.grad, full, rtol=1e-12, atol=1e-12)
    lstm.zero_grad()
    (truncated_forward(lstm, x, 2)[0] * weight).sum().backward()
    assert not torch.allclose(lstm.weight_hh_l0.grad, full)


def test_detach_state_handles_tensor_tuple_and_none():
    rnn = RNN(2, 3)
    x = torch.randn(1, 4, 2)
    _, h = rnn(x)
    assert h.requires_grad and not detach_state(h).requires_grad
    pair = (h, h * 2)
    assert all(not s.requires_grad for s in detach_state(pair))
    assert detach_state(None) is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_truncated_forward_rejects_bad_k(bad):
    with pytest.raises(ValueError, match="k: expected an integer"):
        truncated_forward(_lstm(), torch.zeros(1, 3, 3, dtype=torch.float64), bad)


def test_delayed_echo_learns_only_when_the_window_spans_the_delay():
    options = dict(seq_len=12, num_symbols=6, hidden_size=16, num_steps=250, device="cpu")
    short = train_delayed_echo(2, 4, **options)
    full = train_delayed_echo(12, 4, **options)
    assert short.chance_accuracy == pytest.approx(1 / 6)
    # k=2 < delay: no gradient ever links a target to its symbol, so it stays near chance
    assert short.test_accuracy < 0.35, short.test_accuracy
    assert full.test_accuracy > short.test_accuracy + 0.25, (short.test_accuracy,
                                                             full.test_accuracy)
    assert len(full.history["loss"]) == len(full.history["step"]) > 1


def test_delayed_echo_rejects_delay_beyond_sequence():
    with pytest.raises(ValueError, match="delay"):
        train_delayed_echo(2, 10, seq_len=10, device="cpu")


def test_adding_sgd_with_clipping_stays_finite_and_logs_the_unclipped_norm():
    lr, max_norm = 0.5, 0.1
    history = train_adding_sgd("lstm", recurrent_scale=4.0, lr=lr, max_norm=max_norm,
                               num_steps=20, device="cpu")
    assert history["diverged_at"] == []
    assert len(history["grad_norm"]) == 20
    # the recorded norm is the one BEFORE clipping, so it may exceed max_norm
    assert max(history["grad_norm"]) > max_norm
    assert all(math.isfinite(v) for v in history["loss"])


def test_adding_sgd_records_divergence():
    history = train_adding_sgd("rnn", recurrent_scale=8.0, lr=50.0, num_steps=40,
                               device="cpu")
    assert history["diverged_at"], "an RNN with lr 50 and a x8 recurrent matrix should blow up"
    first = history["diverged_at"][0]
    assert all(math.isnan(v) for v in history["loss"][first + 1:])


def test_adding_sgd_rejects_bad_max_norm():
    with pytest.raises(ValueError, match="max_norm"):
        train_adding_sgd(max_norm=0.0, num_steps=1, device="cpu")


def test_draw_unrolled_marks_every_boundary():
    import matplotlib.pyplot as plt

    from lstm_ref.chapters.unrolled_figure import draw_unrolled

    ax = draw_unrolled(steps=6, truncate_every=2)
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 2          # boundaries between steps 2|3 and 4|5
    with pytest.raises(ValueError, match="steps"):
        draw_unrolled(steps=0)
    plt.close("all")
