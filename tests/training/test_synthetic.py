"""lstm_ref.training.synthetic: the model wrapper, the tasks' scores and a short training run."""

import numpy as np
import pytest
import torch

import lstm_ref.torch as ours
from lstm_ref.training.synthetic import (TASKS, SequenceModel, distinct_recall_problem, recurrent_class,
                                  train_on_task)
from lstm_ref.torch.init import chrono_init_
from lstm_ref.data.tasks import adding_problem, recall_problem


def test_sequence_model_answers_from_the_last_hidden_state():
    torch.manual_seed(0)
    model = SequenceModel("rnn", input_size=3, hidden_size=5, output_size=2).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    out, _ = model.recurrent(x)
    expected = out[:, -1] @ model.head.weight.T + model.head.bias
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)
    # h_T depends on the first step: changing x_1 changes the answer
    x2 = x.clone()
    x2[:, 0] += 1.0
    assert not torch.allclose(model(x2), model(x))


@pytest.mark.parametrize("name, torch_class", [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM)])
def test_recurrent_part_matches_torch_nn(name, torch_class):
    torch.manual_seed(1)
    model = SequenceModel(name, input_size=3, hidden_size=4, output_size=1).double()
    reference = torch_class(3, 4, batch_first=True, dtype=torch.float64)
    reference.load_state_dict(model.recurrent.state_dict())
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    torch.testing.assert_close(model.recurrent(x)[0], reference(x)[0], rtol=1e-10, atol=1e-10)


def test_bad_names_raise_value_error():
    with pytest.raises(ValueError, match="model_name"):
        recurrent_class("transformer")
    with pytest.raises(ValueError, match="task"):
        train_on_task("rnn", 5, task="copy")
    with pytest.raises(ValueError, match="seq_len"):
        train_on_task("rnn", 0)
    with pytest.raises(ValueError, match="num_steps"):
        train_on_task("rnn", 5, num_steps=2.5)
    if not hasattr(ours, "GRU"):
        with pytest.raises(ValueError, match="no GRU"):
            recurrent_class("gru")


def test_chance_levels():
    rng = np.random.default_rng(0)
    x, y = adding_problem(20000, 10, rng)
    # the recent value + 0.5 is right when |U - 1/2| < 0.08 for the unseen first value: 16%
    assert 0.15 < TASKS["adding"].chance(x, y, 8) < 0.17
    # it is the recent value that it uses: with the first value set to 0.5 it is always right
    first = np.argmax(x[:, :, 1], axis=1)
    x[np.arange(len(x)), first, 0] = 0.5
    y = x[:, :, 0][x[:, :, 1] == 1].reshape(-1, 2).sum(axis=1)
    assert TASKS["adding"].chance(x, y, 8) == 1.0
    x, y = recall_problem(10, 5, rng, num_symbols=4)
    assert TASKS["recall"].chance(x, y, 4) == 0.25


def test_scores_of_perfect_and_wrong_answers():
    y = torch.tensor([0.3, 1.2, 1.9])
    assert TASKS["adding"].accuracy(y[:, None] + 0.01, y) == 1.0
    assert TASKS["adding"].accuracy(y[:, None] + 0.1, y) == 0.0
    labels = torch.tensor([2, 0, 1])
    logits = torch.nn.functional.one_hot(labels, 3).float()
    assert TASKS["recall"].accuracy(logits, labels) == 1.0
    assert TASKS["recall"].accuracy(logits.roll(1, dims=1), labels) == 0.0


def test_short_recall_is_learned_and_reproducible():
    kwargs = dict(task="recall", num_symbols=4, hidden_size=16, num_steps=150, batch_size=64,
                  lr=2e-2, log_every=25, seed=3, device="cpu")
    result = train_on_task("rnn", 3, **kwargs)
    assert result.chance_accuracy == 0.25
    assert result.test_accuracy > 0.95, result
    assert result.history["step"][0] == 0 and result.history["step"][-1] == 149
    assert len(result.history["loss"]) == len(result.history["step"]) == 7
    assert result.history["loss"][-1] < 0.5 * result.history["loss"][0]
    again = train_on_task("rnn", 3, **kwargs)
    assert again.history["loss"] == result.history["loss"]
    assert again.test_accuracy == result.test_accuracy


def test_distinct_recall_keeps_the_symbol_to_recall_out_of_the_distractors():
    x, y = distinct_recall_problem(200, 7, np.random.default_rng(0), num_symbols=3)
    assert x.shape == (200, 7, 6) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.all(x.sum(axis=2) == 1)                          # one-hot at every step
    symbols = x.argmax(axis=2)
    assert np.array_equal(symbols[:, 0], y) and set(y) == {0, 1, 2}
    assert set(np.unique(symbols[:, 1:])) == {3, 4, 5}          # distractors: other alphabet
    assert TASKS["recall_distinct"].chance(x, y, 3) == pytest.approx(1 / 3)
    again, _ = distinct_recall_problem(200, 7, np.random.default_rng(0), num_symbols=3)
    assert np.array_equal(again, x)
    with pytest.raises(ValueError, match="num_symbols"):
        distinct_recall_problem(2, 5, np.random.default_rng(0), num_symbols=1)
    with pytest.raises(ValueError, match="seq_len"):
        distinct_recall_problem(2, 0, np.random.default_rng(0))


def test_lstm_learns_distinct_recall_that_needs_its_first_step():
    result = train_on_task("lstm", 12, task="recall_distinct", num_symbols=4, hidden_size=16,
                           num_steps=200, batch_size=64, lr=2e-2, seed=1, device="cpu",
                           test_size=256, init=lambda model: chrono_init_(model.recurrent, 12))
    assert result.chance_accuracy == 0.25
    assert result.test_accuracy > 0.95, result
    assert result.model.recurrent.input_size == 8 and result.model.head.out_features == 4


def test_init_hook_and_options_reach_the_model():
    seen = []
    result = train_on_task("rnn", 4, num_steps=1, test_size=8, device="cpu",
                           nonlinearity="relu", init=seen.append)
    assert seen == [result.model]
    assert result.model.recurrent.nonlinearity == "relu"
    assert result.task == "adding" and result.seq_len == 4


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda():
    result = train_on_task("rnn", 4, num_steps=2, test_size=8, device="cuda")
    assert next(result.model.parameters()).device.type == "cuda"
