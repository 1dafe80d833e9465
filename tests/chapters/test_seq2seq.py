"""Greedy decoding and beam search: width 1 is greedy, scores are sorted and equal the model's
own log-probabilities, and beam search beats greedy where a hand-built model makes it possible."""

import math

import numpy as np
import pytest
import torch

from lstm_ref.chapters.applications.seq2seq import (Seq2Seq, beam_search, equal_length_batches, greedy_decode,
                              sequence_log_prob, strip)

BOS, EOS = 5, 6


def _random_model(seed=0):
    torch.manual_seed(seed)
    model = Seq2Seq(source_vocab=9, target_vocab=7, embed_size=4, hidden_size=8).double().eval()
    with torch.no_grad():   # a sharper output layer, so hypotheses differ clearly
        model.head.weight.mul_(4.0)
    source = torch.randint(0, 9, (6, 5), generator=torch.Generator().manual_seed(seed + 1))
    return model, source


def test_beam_width_one_equals_greedy():
    model, source = _random_model()
    with torch.no_grad():
        greedy_tokens, greedy_scores = greedy_decode(model.step, model.encode(source), 6, BOS,
                                                     EOS, max_len=8)
        beam = beam_search(model.step, model.encode(source), 6, BOS, EOS, beam_width=1,
                           max_len=8)
    assert beam.tokens.shape == (6, 1, 8) and beam.scores.shape == (6, 1)
    assert torch.equal(beam.tokens[:, 0], greedy_tokens)
    torch.testing.assert_close(beam.scores[:, 0], greedy_scores, rtol=0, atol=1e-12)


@pytest.mark.parametrize("width", [2, 3, 5])
def test_beams_are_sorted_and_scores_are_the_models_log_probabilities(width):
    model, source = _random_model(seed=2)
    with torch.no_grad():
        beam = beam_search(model.step, model.encode(source), 6, BOS, EOS, width, max_len=8)
        assert torch.all(beam.scores[:, :-1] >= beam.scores[:, 1:])
        for k in range(width):
            rescored = sequence_log_prob(model, source, beam.tokens[:, k], BOS, EOS)
            torch.testing.assert_close(beam.scores[:, k], rescored, rtol=0, atol=1e-10)
        # the hypotheses of one input are different sequences
        for row in beam.tokens:
            kept = {tuple(strip(h, EOS)) for h in row}
            assert len(kept) == width
        # the best beam is never worse than greedy
        _, greedy_scores = greedy_decode(model.step, model.encode(source), 6, BOS, EOS, 8)
    assert torch.all(beam.scores[:, 0] >= greedy_scores - 1e-12)


def _markov_step(table):
    """A step function whose next-token distribution depends only on the previous token."""
    log_table = torch.log(torch.tensor(table, dtype=torch.float64).clamp_min(1e-30))

    def step(prev, state):
        return log_table[prev], state
    return step


def test_beam_search_finds_a_sequence_greedy_misses():
    # tokens: 0 = a, 1 = b, 2 = x, 3 = y, 4 = eos, 5 = bos
    # from bos: a 0.6, b 0.4; after a: x 0.5, y 0.5; after b: x 0.95, y 0.05; then eos.
    table = np.zeros((6, 6))
    table[5, [0, 1]] = [0.6, 0.4]
    table[0, [2, 3]] = [0.5, 0.5]
    table[1, [2, 3]] = [0.95, 0.05]
    table[2, 4] = table[3, 4] = table[4, 4] = 1.0
    step = _markov_step(table)
    greedy_tokens, greedy_score = greedy_decode(step, None, 1, bos=5, eos=4, max_len=5)
    assert strip(greedy_tokens[0], 4)[0] == 0                      # greedy commits to "a"
    assert greedy_score.item() == pytest.approx(math.log(0.6 * 0.5))
    beam = beam_search(step, None, 1, bos=5, eos=4, beam_width=2, max_len=5)
    assert strip(beam.tokens[0, 0], 4) == [1, 2]                   # "b x": 0.38 > 0.30
    assert beam.scores[0, 0].item() == pytest.approx(math.log(0.4 * 0.95))
    assert beam.scores[0, 1].item() == pytest.approx(math.log(0.6 * 0.5))


def test_finished_hypotheses_keep_their_score_and_compete():
    # from bos: eos 0.5 (a finished, short sequence) or a 0.5; after a: x 0.9 then eos.
    table = np.zeros((6, 6))
    table[5, [4, 0]] = [0.5, 0.5]
    table[0, [2, 3]] = [0.9, 0.1]
    table[2, 4] = table[3, 4] = table[4, 4] = 1.0
    beam = beam_search(_markov_step(table), None, 1, bos=5, eos=4, beam_width=3, max_len=6)
    assert [strip(h, 4) for h in beam.tokens[0]] == [[], [0, 2], [0, 3]]
    expected = [math.log(0.5), math.log(0.45), math.log(0.05)]
    assert beam.scores[0].tolist() == pytest.approx(expected)


def test_teacher_forcing_logits_match_step_by_step_decoding():
    model, source = _random_model(seed=4)
    target = torch.randint(0, 5, (6, 4), generator=torch.Generator().manual_seed(9))
    target_in = torch.cat([torch.full((6, 1), BOS), target[:, :-1]], dim=1)
    with torch.no_grad():
        forced = torch.log_softmax(model(source, target_in), dim=-1)
        state = model.encode(source)
        for t in range(4):
            log_probs, state = model.step(target_in[:, t], state)
            torch.testing.assert_close(log_probs, forced[:, t], rtol=0, atol=1e-12)


def test_seq2seq_learns_to_reverse_short_sequences():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = Seq2Seq(source_vocab=5, target_vocab=7, embed_size=8, hidden_size=32)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(250):
        source = torch.randint(0, 5, (64, 4), generator=generator)
        target = torch.cat([source.flip(1), torch.full((64, 1), EOS)], dim=1)
        target_in = torch.cat([torch.full((64, 1), BOS), target[:, :-1]], dim=1)
        logits = model(source, target_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 7), target.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    source = torch.randint(0, 5, (200, 4), generator=generator)
    with torch.no_grad():
        tokens, _ = greedy_decode(model.step, model.encode(source), 200, BOS, EOS, max_len=6)
    exact = np.mean([strip(t, EOS) == s.flip(0).tolist() for t, s in zip(tokens, source)])
    assert exact > 0.9, f"exact match {exact:.2f}, expected > 0.9"


def test_equal_length_batches():
    lengths = np.array([3, 5, 3, 3, 5, 7, 3])
    batches = equal_length_batches(lengths, 2)
    assert [b.tolist() for b in batches] == [[0, 2], [3, 6], [1, 4], [5]]
    shuffled = equal_length_batches(lengths, 2, np.random.default_rng(0))
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(7))
    assert all(len(set(lengths[b])) == 1 for b in shuffled)


def test_bad_input_raises_value_error():
    model, source = _random_model()
    with pytest.raises(ValueError, match=r"source must be an int64 tensor of shape \(B, T\)"):
        model.encode(source.float())
    with pytest.raises(ValueError, match=r"prev_tokens must be an int64 tensor of shape \(N,\)"):
        model.step(torch.zeros(2, 1, dtype=torch.int64), model.encode(source[:2]))
    with pytest.raises(ValueError, match="beam_width, max_len and batch_size must be >= 1"):
        beam_search(model.step, None, 1, BOS, EOS, beam_width=0, max_len=3)
