"""lstm_ref.chapters.applications.char_language_model and lstm_ref.chapters.applications.min_char_lstm: metrics, baselines, sampling, models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_ref.chapters.applications import min_char_lstm
from lstm_ref.data import CharVocab, shakespeare_text
from lstm_ref.chapters.applications.char_language_model import (CharLM, TextStream, bigram_counts, bigram_perplexity,
                                     entropy, evaluate_nll, generate, perplexity, sample_next,
                                     softmax_with_temperature, unigram_perplexity)
from lstm_ref.numpy import max_relative_error, numerical_gradient


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------------- softmax / sampling

@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_softmax_with_temperature_matches_torch(rng, temperature):
    logits = rng.normal(size=(4, 3, 7)) * 3
    expected = torch.softmax(torch.from_numpy(logits) / temperature, dim=-1).numpy()
    probs = softmax_with_temperature(logits, temperature)
    assert probs.shape == logits.shape and probs.dtype == np.float64
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-14)


def test_softmax_with_temperature_extremes(rng):
    logits = np.array([[1e4, -1e4, 0.0, 9999.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        probs = softmax_with_temperature(logits, 1.0)
        cold = softmax_with_temperature(logits, 1e-12)
    np.testing.assert_allclose(probs, [[1 / (1 + np.exp(-1)), 0, 0, np.exp(-1) / (1 + np.exp(-1))]],
                               atol=1e-15)
    np.testing.assert_array_equal(cold, [[1.0, 0.0, 0.0, 0.0]])
    hot = softmax_with_temperature(rng.normal(size=10), 1e9)
    np.testing.assert_allclose(hot, np.full(10, 0.1), atol=1e-8)
    half = softmax_with_temperature(np.float32([1, 2, 3]), 0.5)
    assert half.dtype == np.float32


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_softmax_with_temperature_rejects_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        softmax_with_temperature(np.zeros(3), bad)


def test_softmax_rejects_non_finite_logits():
    with pytest.raises(ValueError, match="finite"):
        softmax_with_temperature(np.array([0.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., V\)"):
        softmax_with_temperature(np.float64(3.0), 1.0)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_next_frequencies_match_softmax(rng, temperature):
    logits = rng.normal(size=6) * 2
    draws = 40_000
    ids = sample_next(np.tile(logits, (draws, 1)), temperature, rng)
    assert ids.shape == (draws,) and ids.dtype == np.int64
    freq = np.bincount(ids, minlength=6) / draws
    p = softmax_with_temperature(logits, temperature)
    sigma = np.sqrt(p * (1 - p) / draws)
    assert np.all(np.abs(freq - p) < 5 * sigma + 1e-12), (freq, p)


def test_sample_next_one_row_and_determinism(rng):
    logits = rng.normal(size=9)
    first = [sample_next(logits, 1.0, np.random.default_rng(7)) for _ in range(3)]
    assert all(isinstance(i, int) for i in first) and len(set(first)) == 1
    runs = []
    for _ in range(2):
        generator = np.random.default_rng(3)
        runs.append([sample_next(logits, 1.0, generator) for _ in range(50)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
    assert sample_next(np.array([0.0, 50.0, 0.0]), 0.01, rng) == 1
    # a probability that underflows to exactly 0 is never drawn, even by u = 0
    assert set(sample_next(np.tile([-800.0, 0.0], (1000, 1)), 1.0, rng)) == {1}


def test_sample_next_rejects_bad_input(rng):
    with pytest.raises(ValueError, match="rng"):
        sample_next(np.zeros(3), 1.0, np.random.RandomState(0))
    with pytest.raises(ValueError, match=r"\(V,\) or \(B, V\)"):
        sample_next(np.zeros((2, 2, 3)), 1.0, rng)


# ----------------------------------------------------------------------- perplexity, entropy

def test_perplexity_matches_torch_cross_entropy(rng):
    logits = rng.normal(size=(5, 11, 13)) * 4
    targets = rng.integers(0, 13, size=(5, 11))
    expected = torch.exp(torch.nn.functional.cross_entropy(
        torch.from_numpy(logits).reshape(-1, 13), torch.from_numpy(targets).reshape(-1))).item()
    assert perplexity(logits, targets) == pytest.approx(expected, rel=1e-12)
    log_probs = torch.log_softmax(torch.from_numpy(logits), -1).numpy()
    assert perplexity(log_probs, targets) == pytest.approx(expected, rel=1e-12)


def test_perplexity_uniform_is_vocabulary_size_and_stable(rng):
    assert perplexity(np.zeros((20, 17)), rng.integers(0, 17, 20)) == pytest.approx(17, rel=1e-12)
    huge = np.array([[1e5, 1e5 - 3.0, -1e5]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert perplexity(huge, np.array([0])) == pytest.approx(1 + np.exp(-3.0), rel=1e-12)
        assert perplexity(huge, np.array([1])) == pytest.approx(np.exp(3.0) + 1, rel=1e-12)


def test_perplexity_rejects_bad_targets(rng):
    with pytest.raises(ValueError, match=r"expected shape \(4,\)"):
        perplexity(np.zeros((4, 3)), np.zeros((5,), dtype=int))
    with pytest.raises(ValueError, match="integer"):
        perplexity(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        perplexity(np.zeros((4, 3)), np.array([0, 1, 2, 3]))


def test_entropy_bits():
    np.testing.assert_allclose(entropy(np.full((2, 8), 1 / 8)), [3.0, 3.0], atol=1e-14)
    assert entropy(np.array([0.0, 1.0, 0.0])) == 0.0
    assert entropy(np.array([0.5, 0.5]), base=np.e) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="sum to 1"):
        entropy(np.array([0.5, 0.6]))


# ----------------------------------------------------------------------- count baselines

def test_unigram_perplexity_by_hand():
    train = np.array([0, 0, 0, 1])                  # counts 3, 1, 0 -> +1 each: 4, 2, 1 over 7
    evaluation = np.array([2, 0, 1])                # scored positions: 0 and 1
    expected = np.exp(-(np.log(4 / 7) + np.log(2 / 7)) / 2)
    assert unigram_perplexity(train, evaluation, 3) == pytest.approx(expected, rel=1e-14)
    assert unigram_perplexity(train, evaluation, 3, alpha=1e12) == pytest.approx(3, rel=1e-9)


def test_bigram_counts_and_perplexity_by_hand():
    train = np.array([0, 1, 0, 1, 2])
    counts = bigram_counts(train, 3)
    np.testing.assert_array_equal(counts, [[0, 2, 0], [1, 0, 1], [0, 0, 0]])
    evaluation = np.array([0, 1, 2, 2])
    # p(1|0) = 3/5, p(2|1) = 2/5, p(2|2) = 1/3 with add-one smoothing
    expected = np.exp(-(np.log(3 / 5) + np.log(2 / 5) + np.log(1 / 3)) / 3)
    assert bigram_perplexity(train, evaluation, 3) == pytest.approx(expected, rel=1e-14)


def test_bigram_beats_unigram_on_real_text():
    text = shakespeare_text(("sonnets",), max_chars=60_000)
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    train, evaluation = ids[:50_000], ids[50_000:]
    uni = unigram_perplexity(train, evaluation, len(vocab))
    bi = bigram_perplexity(train, evaluation, len(vocab))
    assert bi < 0.6 * uni < 0.6 * len(vocab)


def test_count_baselines_reject_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        bigram_perplexity(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="1-D integer"):
        unigram_perplexity(np.array([0.0, 1.0]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="alpha"):
        unigram_perplexity(np.array([0, 1]), np.array([0, 1]), 3, alpha=0)


# ----------------------------------------------------------------------- PyTorch pieces

def test_text_stream_windows_continue_each_other():
    ids = np.arange(103)
    stream = TextStream(ids, batch_size=4, seq_len=6)
    assert len(stream) == (25 - 1) // 6
    x0, y0 = stream.window(0)
    x1, _ = stream.window(1)
    assert x0.shape == y0.shape == (4, 6) and x0.dtype == torch.int64
    assert torch.equal(y0, x0 + 1)                          # next character
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)             # each row continues itself
    assert torch.equal(x0[:, 0], torch.tensor([0, 25, 50, 75]))
    assert torch.equal(stream.window(len(stream))[0], x0)   # wraps around
    assert len(list(stream)) == len(stream)
    with pytest.raises(ValueError, match="at least"):
        TextStream(np.arange(10), batch_size=4, seq_len=6)
    with pytest.raises(ValueError, match="1-D integer"):
        TextStream(np.zeros(100), batch_size=4, seq_len=6)


def test_char_lm_carried_state_equals_one_long_pass(rng):
    torch.manual_seed(0)
    model = CharLM(vocab_size=11, embed_size=5, hidden_size=7, num_layers=2).double()
    ids = torch.as_tensor(rng.integers(0, 11, size=(3, 12)))
    whole, (h, c) = model(ids)
    first, state = model(ids[:, :5])
    second, state = model(ids[:, 5:], state)
    assert whole.shape == (3, 12, 11) and h.shape == c.shape == (2, 3, 7)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=0, atol=1e-13)
    torch.testing.assert_close(state[1], c, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="int64"):
        model(ids.float())
    with pytest.raises(ValueError, match="hidden_size"):
        CharLM(11, 5, 0)


def test_evaluate_nll_matches_one_pass_and_uniform(rng):
    torch.manual_seed(1)
    model = CharLM(9, 4, 6).double()
    ids = rng.integers(0, 9, size=2 * 31)
    stream = TextStream(ids, batch_size=2, seq_len=5)       # 6 windows of 5 per row
    covered = torch.as_tensor(ids).reshape(2, 31)[:, :31]
    logits, _ = model(covered[:, :30])
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 9), covered[:, 1:31].reshape(-1))
    assert evaluate_nll(model, stream) == pytest.approx(expected.item(), rel=1e-12)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert evaluate_nll(model, stream) == pytest.approx(np.log(9), rel=1e-12)
    model.train()
    evaluate_nll(model, stream)
    assert model.training


def test_generate_is_reproducible_and_stays_in_vocabulary():
    vocab = CharVocab("abcdefgh ")
    torch.manual_seed(2)
    model = CharLM(len(vocab), 4, 8)
    one = generate(model, vocab, "abc", 40, 0.8, np.random.default_rng(5))
    two = generate(model, vocab, "abc", 40, 0.8, np.random.default_rng(5))
    assert one == two and one.startswith("abc") and len(one) == 43 and set(one) <= set(vocab.chars)
    with torch.no_grad():                                   # make "h" overwhelmingly likely
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([50.0 if ch == "h" else 0.0 for ch in vocab.chars]))
    assert generate(model, vocab, "a", 10, 1.0, np.random.default_rng(0)) == "a" + "h" * 10
    with pytest.raises(ValueError, match="prompt"):
        generate(model, vocab, "", 3, 1.0, np.random.default_rng(0))


# ----------------------------------------------------------------------- min_char_lstm

def _tiny_problem(rng, B=2, T=4, V=5, H=3):
    params = min_char_lstm.init_params(V, H, rng)
    for key in ("b_ih", "b_hh", "b_y"):
        params[key] = rng.normal(size=params[key].shape) * 0.5
    inputs, targets = rng.integers(0, V, size=(2, B, T))
    h, c = rng.normal(size=(2, B, H)) * 0.5
    return params, inputs, targets, h, c


def test_min_char_lstm_gradients_numerically(rng):
    params, inputs, targets, h, c = _tiny_problem(rng)
    _, grads, _ = min_char_lstm.loss_and_grads(params, inputs, targets, h, c)
    for name, array in params.items():
        numeric = numerical_gradient(
            lambda: min_char_lstm.loss_and_grads(params, inputs, targets, h, c)[0], array)
        assert max_relative_error(grads[name], numeric) < 1e-5, name


def test_min_char_lstm_matches_torch_autograd(rng):
    params, inputs, targets, h, c = _tiny_problem(rng, B=3, T=6, V=7, H=4)
    loss, grads, (h_n, c_n) = min_char_lstm.loss_and_grads(params, inputs, targets, h, c)
    lstm = torch.nn.LSTM(7, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for ours, theirs in zip(min_char_lstm.CELL, ("weight_ih_l0", "weight_hh_l0",
                                                      "bias_ih_l0", "bias_hh_l0")):
            getattr(lstm, theirs).copy_(torch.from_numpy(params[ours]))
    W_hy = torch.tensor(params["W_hy"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    x = torch.nn.functional.one_hot(torch.from_numpy(inputs), 7).double()
    out, (th, tc) = lstm(x, (torch.from_numpy(h)[None], torch.from_numpy(c)[None]))
    t_loss = torch.nn.functional.cross_entropy((out @ W_hy.T + b_y).reshape(-1, 7),
                                               torch.from_numpy(targets).reshape(-1))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(h_n, th[0].detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(c_n, tc[0].detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(grads["W_hy"], W_hy.grad.numpy(), atol=1e-13)
    np.testing.assert_allclose(grads["W_hh"], lstm.weight_hh_l0.grad.numpy(), atol=1e-13)
    np.testing.assert_allclose(grads["b_ih"], lstm.bias_ih_l0.grad.numpy(), atol=1e-13)


def test_min_char_lstm_windows_continue():
    ids = np.arange(2 * 23)
    wins = list(min_char_lstm.windows(ids, 2, 5))
    assert len(wins) == 4                                    # starts 0, 5, 10, 15 (need +1)
    x0, y0 = wins[0]
    np.testing.assert_array_equal(y0, x0 + 1)
    np.testing.assert_array_equal(wins[1][0][:, 0], x0[:, -1] + 1)


def test_min_char_lstm_learns_below_unigram_and_samples():
    text = shakespeare_text(("sonnets",), max_chars=30_000)
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    train, val = ids[:26_000], ids[26_000:]
    params, losses = min_char_lstm.train(train, len(vocab), hidden_size=32, batch_size=8,
                                         seq_len=16, steps=120, lr=2e-2, seed=0)
    assert len(losses) == 120 and losses[0] == pytest.approx(np.log(len(vocab)), abs=0.1)
    val_loss = min_char_lstm.mean_loss(params, val, batch_size=8, seq_len=16)
    assert val_loss < np.log(unigram_perplexity(train, val, len(vocab))) - 0.15
    sample = min_char_lstm.sample(params, np.zeros((1, 32)), np.zeros((1, 32)), 0, 30,
                                  np.random.default_rng(0), temperature=0.7)
    assert len(sample) == 30 and all(0 <= i < len(vocab) for i in sample)
