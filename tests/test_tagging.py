"""lstm_ref.tagging: per-step classifiers built from every lstm_ref.torch network, and training."""

import numpy as np
import pytest
import torch

from lstm_ref.context_tasks import shifted_symbols
from lstm_ref.parameter_count import parameter_count
from lstm_ref.tagging import (KINDS, Tagger, count_parameters, evaluate, fit_tagger, make_body,
                              predict, time_epoch)

REFERENCE = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_shapes_and_parameter_counts(kind, bidirectional):
    body = make_body(kind, 3, 5, num_layers=2, bidirectional=bidirectional)
    counted_kind = "gru" if kind == "gru_reset_before" else kind
    assert count_parameters(body) == parameter_count(counted_kind, 3, 5, 2, bidirectional)
    tagger = Tagger(body, 7)
    logits = tagger(torch.zeros(4, 6, 3))
    assert logits.shape == (4, 6, 7)
    assert tagger.head.in_features == 5 * (2 if bidirectional else 1)


@pytest.mark.parametrize("kind", sorted(REFERENCE))
def test_body_matches_torch_nn(kind):
    torch.manual_seed(0)
    reference = REFERENCE[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True)
    body = make_body(kind, 3, 4, num_layers=2, bidirectional=True)
    body.load_state_dict(reference.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(body(x)[0], reference(x)[0], rtol=1e-5, atol=1e-6)


def test_make_body_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        make_body("transformer", 3, 4)


def test_fit_tagger_learns_a_one_step_echo_and_time_epoch_leaves_the_model_alone():
    rng = np.random.default_rng(0)
    train = shifted_symbols(256, 8, rng, shift=-1, num_symbols=4)
    test = shifted_symbols(200, 8, rng, shift=-1, num_symbols=4)
    torch.manual_seed(0)
    model = Tagger(make_body("gru", 4, 16), 4)
    before = evaluate(model, *test)
    result = fit_tagger(model, train, test, epochs=6, batch_size=32, lr=1e-2)
    assert result.test_accuracy > 0.9 > before + 0.3
    assert result.model is model and result.seconds_per_epoch > 0
    assert len(result.history["loss"]) == len(result.history["step"]) > 1
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert predict(model, test[0]).shape == test[1].shape
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    assert time_epoch(model, train, batch_size=64) > 0
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=0)


def test_fit_tagger_rejects_mismatched_data():
    model = Tagger(make_body("rnn", 4, 3), 4)
    x = np.zeros((5, 6, 4), np.float32)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        fit_tagger(model, (x, np.zeros((5, 7), np.int64)), (x, np.zeros((5, 6), np.int64)), 1)
    with pytest.raises(ValueError, match="epochs"):
        fit_tagger(model, (x, np.zeros((5, 6), np.int64)), (x, np.zeros((5, 6), np.int64)), 0)
