"""The text classifier reads each row up to its true length: parity with torch.nn on a packed
batch, logits independent of padding, and the helpers on hand-checked cases."""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_ref.chapters.applications.text_classifier import (LSTMClassifier, last_real_step, length_bucketed_batches,
                                      masked_mean, reverse_padded)


def _batch(seed=0, B=5, T=9, V=30):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([9, 1, 4, 7, 2])[:B]
    ids = torch.randint(2, V, (B, T), generator=generator)
    ids[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return ids, lengths


def test_reverse_padded_by_hand_and_twice_is_identity():
    x = torch.tensor([[1, 2, 3, 0], [5, 6, 0, 0], [7, 8, 9, 4]])
    lengths = torch.tensor([3, 2, 4])
    expected = torch.tensor([[3, 2, 1, 0], [6, 5, 0, 0], [4, 9, 8, 7]])
    assert torch.equal(reverse_padded(x, lengths), expected)
    features = torch.randn(3, 4, 2)
    assert torch.equal(reverse_padded(reverse_padded(features, lengths), lengths), features)
    assert torch.equal(reverse_padded(features, lengths)[1, 0], features[1, 1])


def test_last_real_step_and_masked_mean_by_hand():
    out = torch.arange(12.0).reshape(2, 3, 2)      # row 0: [0,1],[2,3],[4,5]; row 1: [6,7],...
    lengths = torch.tensor([2, 3])
    assert torch.equal(last_real_step(out, lengths), torch.tensor([[2.0, 3.0], [10.0, 11.0]]))
    assert torch.allclose(masked_mean(out, lengths), torch.tensor([[1.0, 2.0], [8.0, 9.0]]))


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_logits_do_not_depend_on_padding(pooling, bidirectional):
    torch.manual_seed(0)
    model = LSTMClassifier(30, 6, 5, num_classes=3, bidirectional=bidirectional,
                           pooling=pooling).double().eval()
    ids, lengths = _batch()
    batched = model(ids, lengths)
    for row in range(len(ids)):
        alone = model(ids[row:row + 1, :lengths[row]], lengths[row:row + 1])
        torch.testing.assert_close(batched[row:row + 1], alone, rtol=0, atol=1e-12)
    # more padding appended changes nothing either
    wider = torch.cat([ids, torch.zeros(len(ids), 4, dtype=torch.int64)], dim=1)
    torch.testing.assert_close(model(wider, lengths), batched, rtol=0, atol=1e-12)


def test_features_match_torch_nn_lstm_on_a_packed_batch():
    torch.manual_seed(1)
    model = LSTMClassifier(30, 6, 5, bidirectional=True, pooling="last").double().eval()
    reference = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True, dtype=torch.float64)
    weights = {name: p for name, p in model.forward_lstm.state_dict().items()}
    weights.update({name + "_reverse": p for name, p in model.backward_lstm.state_dict().items()})
    reference.load_state_dict(weights)
    ids, lengths = _batch(seed=3)
    packed = pack_padded_sequence(model.embedding(ids), lengths, batch_first=True,
                                  enforce_sorted=False)
    _, (h_n, _) = reference(packed)
    expected = torch.cat([h_n[0], h_n[1]], dim=1)
    torch.testing.assert_close(model.features(ids, lengths), expected, rtol=0, atol=1e-12)


def test_classifier_learns_a_length_independent_rule():
    # label = does token 2 occur; rows padded to different widths
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, T = 256, 10
    lengths = torch.from_numpy(rng.integers(1, T + 1, n))
    ids = torch.from_numpy(rng.integers(3, 12, (n, T)))
    has = torch.from_numpy(rng.random(n) < 0.5)
    where = torch.from_numpy(rng.integers(0, T, n)) % lengths
    ids[has, where[has]] = 2
    ids[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    labels = (ids == 2).any(1).long()
    model = LSTMClassifier(12, 8, 16, pooling="mean")
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(80):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(ids, lengths), labels)
        loss.backward()
        optimiser.step()
    accuracy = (model(ids, lengths).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.95, f"training accuracy {accuracy:.2f}, expected > 0.95"


def test_length_bucketed_batches_cover_everything_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, 1000)
    batches = length_bucketed_batches(lengths, 32, rng, pool_batches=10)
    together = np.concatenate(batches)
    assert sorted(together.tolist()) == list(range(1000))
    assert max(len(b) for b in batches) == 32
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 10, f"mean length range within a batch {spread:.1f}, expected small"
    again = length_bucketed_batches(lengths, 32, rng, pool_batches=10)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_bad_input_raises_value_error():
    model = LSTMClassifier(10, 4, 3)
    ids = torch.zeros(2, 5, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T\] = \[1, 5\]"):
        model(ids, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(B,\) = \(2,\), got \(3,\)"):
        model(ids, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="ids must be an int64 tensor of shape"):
        model(ids.float(), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="pooling must be"):
        LSTMClassifier(10, 4, 3, pooling="max")
