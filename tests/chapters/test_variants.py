"""lstm_ref.chapters.variants: per-step classifiers built from every lstm_ref.torch network, and training."""

import numpy as np
import pytest
import torch

from lstm_ref.data.context_tasks import shifted_symbols
from lstm_ref.chapters.parameter_count import parameter_count
from lstm_ref.chapters.variants import (KINDS, Tagger, clear_winner, count_parameters,
                              cpu_seconds_per_step, evaluate, fit_steps, fit_tagger,
                              make_body, predict, steps_to_reach, time_epoch)

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


@pytest.mark.parametrize("kind", sorted(REFERENCE))
def test_torch_backend_is_torch_nn_and_computes_the_ref_function(kind):
    body = make_body(kind, 3, 4, backend="torch")
    assert type(body) is REFERENCE[kind]
    ours = make_body(kind, 3, 4)
    ours.load_state_dict(body.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(ours(x)[0], body(x)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, backend",
                         [("lstm", "ref"), ("lstm", "torch"), ("peephole", "ref")])
def test_forget_bias_sets_the_forget_block_only(kind, backend):
    body = make_body(kind, 3, 4, num_layers=2, backend=backend, forget_bias=1.5)
    default = make_body(kind, 3, 4, num_layers=2, backend=backend)
    for layer in (0, 1):
        b_ih = getattr(body, f"bias_ih_l{layer}").detach()
        b_hh = getattr(body, f"bias_hh_l{layer}").detach()
        total = b_ih + b_hh
        torch.testing.assert_close(total[4:8], torch.full((4,), 1.5))
        # the other gates keep a default (small, random) initialisation, not 1.5
        assert (total[:4] != 1.5).all() and (total[8:] != 1.5).all()
        assert getattr(default, f"bias_ih_l{layer}")[4:8].abs().max() < 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="gru", forget_bias=1.0), "forget_bias"),
    (dict(kind="rnn", forget_bias=1.0), "forget_bias"),
    (dict(kind="peephole", backend="torch"), "backend 'torch'"),
    (dict(kind="gru_reset_before", backend="torch"), "backend 'torch'"),
    (dict(kind="lstm", backend="cudnn"), "backend must be"),
])
def test_make_body_rejects_bad_options(kwargs, match):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=match):
        make_body(kind, 3, 4, **kwargs)


def test_fit_steps_learns_an_echo_logs_every_update_and_stops_early():
    rng = np.random.default_rng(0)
    train = shifted_symbols(256, 8, rng, shift=-1, num_symbols=4)
    test = shifted_symbols(200, 8, rng, shift=-1, num_symbols=4)
    torch.manual_seed(0)
    model = Tagger(make_body("gru", 4, 16, backend="torch"), 4)
    result = fit_steps(model, train, test, steps=60, batch_size=32, lr=1e-2)
    assert result.steps == 60 and result.history["step"] == list(range(1, 61))
    assert result.test_accuracy > 0.9 and result.cpu_seconds > 0
    assert result.model is model
    reached = steps_to_reach(result.history, 0.9)
    assert reached is not None and 1 < reached <= 60
    assert all(a < 0.9 for a in result.history["accuracy"][:reached - 1])

    torch.manual_seed(0)
    again = fit_steps(Tagger(make_body("gru", 4, 16, backend="torch"), 4), train, test,
                      steps=400, batch_size=32, lr=1e-2, stop_at=0.9, patience=5)
    # stopped as soon as five consecutive batches were >= 0.9, long before the budget
    assert again.steps < 400
    assert all(a >= 0.9 for a in again.history["accuracy"][-5:])
    assert not all(a >= 0.9 for a in again.history["accuracy"][-6:-1])


def test_fit_steps_rejects_bad_budgets():
    model = Tagger(make_body("rnn", 4, 3), 4)
    data = (np.zeros((5, 6, 4), np.float32), np.zeros((5, 6), np.int64))
    bad = (dict(steps=0), dict(steps=2, batch_size=0), dict(steps=2, patience=0))
    for kwargs in bad:
        with pytest.raises(ValueError, match="must be an integer >= 1"):
            fit_steps(model, data, data, **kwargs)


def test_steps_to_reach():
    history = {"step": [1, 2, 3, 4], "accuracy": [0.2, 0.95, 0.5, 1.0]}
    assert steps_to_reach(history, 0.9) == 2
    assert steps_to_reach(history, 1.0) == 4
    assert steps_to_reach(history, 1.01) is None
    with pytest.raises(ValueError, match="loss"):
        steps_to_reach(history, 0.5, key="loss")


def test_clear_winner_needs_the_worst_seed_to_beat_every_other_best_seed():
    assert clear_winner({"a": [0.9, 0.95], "b": [0.5, 0.85], "c": [0.1]}) == "a"
    assert clear_winner({"a": [0.9, 0.95], "b": [0.5, 0.91]}) is None   # ranges overlap
    assert clear_winner({"a": [0.9, 0.9], "b": [0.9, 0.9]}) is None   # a tie: no win
    # smaller is better: updates needed, with "never" as inf
    assert clear_winner({"a": [100, 140], "b": [150, 300], "c": [np.inf] * 3},
                        higher_is_better=False) == "a"
    overlapping = {"a": [100, 160], "b": [150, 300]}
    assert clear_winner(overlapping, higher_is_better=False) is None
    with pytest.raises(ValueError, match="two names"):
        clear_winner({"a": [1.0]})
    with pytest.raises(ValueError, match="NaN"):
        clear_winner({"a": [1.0], "b": [float("nan")]})


def test_cpu_seconds_per_step_times_copies_and_sees_the_cost_of_width():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    batch = shifted_symbols(32, 20, rng, shift=-1, num_symbols=4)
    small = Tagger(make_body("lstm", 4, 4, backend="torch"), 4)
    large = Tagger(make_body("lstm", 4, 256, backend="torch"), 4)
    weights = {k: v.clone() for k, v in small.state_dict().items()}
    seconds = cpu_seconds_per_step({"small": small, "large": large}, batch, rounds=3)
    assert set(seconds) == {"small", "large"} and seconds["small"] > 0
    assert seconds["large"] > 2 * seconds["small"]   # 64x the width costs clearly more
    for key, value in small.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=0)
