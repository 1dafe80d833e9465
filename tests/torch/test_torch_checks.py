"""Bad input to lstm_ref.torch models raises an error naming what was expected and given.

The error is an ``lstm_ref.torch.InputError``: both a ``ValueError`` (the NumPy models'
convention) and a ``RuntimeError`` (what ``torch.nn`` raises), so either ``except`` works.
"""

from functools import partial

import pytest
import torch

import lstm_ref.torch as ours

B, T, D, H = 2, 3, 4, 5

# name: (constructor, number of state tensors: 1 for h0, 2 for (h0, c0))
MODELS = {
    "RNN": (ours.RNN, 1),
    "LSTM": (ours.LSTM, 2),
    "LSTM_plain": (partial(ours.LSTM, fast=False), 2),
    "GRU": (ours.GRU, 1),
    "GRU_classic": (partial(ours.GRU, reset_after=False), 1),
    "PeepholeLSTM": (ours.PeepholeLSTM, 2),
}


def initial_state(n_state, shape, dtype=torch.float32):
    tensors = [torch.zeros(shape, dtype=dtype) for _ in range(n_state)]
    return tensors[0] if n_state == 1 else tuple(tensors)


@pytest.fixture(params=sorted(MODELS))
def model_and_states(request):
    model_class, n_state = MODELS[request.param]
    return model_class(D, H, num_layers=2, bidirectional=True, batch_first=True), n_state


def test_errors_are_value_and_runtime_errors():
    assert issubclass(ours.InputError, ValueError) and issubclass(ours.InputError, RuntimeError)


def test_wrong_rank(model_and_states):
    model, _ = model_and_states
    with pytest.raises(ours.InputError,
                       match=r"rank 3.*\(B, T, D\).*rank 2.*got rank 1 with shape \(4,\)"):
        model(torch.zeros(D))


def test_wrong_feature_size(model_and_states):
    model, _ = model_and_states
    with pytest.raises(RuntimeError, match=r"input_size == 4.*got input of shape \(2, 3, 7\)"):
        model(torch.zeros(B, T, 7))


def test_integer_dtype(model_and_states):
    model, _ = model_and_states
    with pytest.raises(ValueError, match=r"floating-point x of dtype torch.float32.*torch.int64"):
        model(torch.zeros(B, T, D, dtype=torch.int64))


def test_dtype_differs_from_parameters(model_and_states):
    model, _ = model_and_states
    with pytest.raises(ValueError, match=r"dtype torch.float32.*got dtype torch.float64"):
        model(torch.zeros(B, T, D, dtype=torch.float64))


def test_not_a_tensor(model_and_states):
    model, _ = model_and_states
    with pytest.raises(ValueError, match=r"torch.Tensor.*got ndarray"):
        model(torch.zeros(B, T, D).numpy())


def test_empty_sequence(model_and_states):
    model, _ = model_and_states
    with pytest.raises(ValueError, match=r"at least one time step.*got input of shape \(2, 0, 4\)"):
        model(torch.zeros(B, 0, D))


def test_state_shape_mismatch(model_and_states):
    model, n_state = model_and_states
    # 2 layers x 2 directions = 4, but only 2 given
    state = initial_state(n_state, (2, B, H))
    with pytest.raises(ValueError, match=r"h0 of shape \(4, 2, 5\).*got \(2, 2, 5\)"):
        model(torch.zeros(B, T, D), state)


def test_state_batch_mismatch(model_and_states):
    model, n_state = model_and_states
    state = initial_state(n_state, (4, B + 1, H))
    with pytest.raises(ValueError, match=r"h0 of shape \(4, 2, 5\).*got \(4, 3, 5\)"):
        model(torch.zeros(B, T, D), state)


def test_state_dtype_mismatch(model_and_states):
    model, n_state = model_and_states
    state = initial_state(n_state, (4, B, H), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"h0 of dtype torch.float32, got dtype torch.float64"):
        model(torch.zeros(B, T, D), state)


def test_time_major_layout_is_named():
    model = ours.RNN(D, H)
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        model(torch.zeros(D))


@pytest.mark.parametrize("model_class", [ours.LSTM, ours.PeepholeLSTM])
def test_lstm_state_must_be_a_pair(model_class):
    model = model_class(D, H)
    with pytest.raises(ValueError, match=r"pair \(h0, c0\), got Tensor"):
        model(torch.zeros(B, T, D), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match=r"pair \(h0, c0\), got a tuple of length 3"):
        model(torch.zeros(B, T, D), (torch.zeros(1, B, H),) * 3)


def test_c0_shape_is_checked_too():
    model = ours.LSTM(D, H, batch_first=True)
    with pytest.raises(ValueError, match=r"c0 of shape \(1, 2, 5\).*got \(1, 2, 4\)"):
        model(torch.zeros(B, T, D), (torch.zeros(1, B, H), torch.zeros(1, B, H - 1)))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("sizes,message", [
    ((0, H, 1), "input_size to be a positive int, got 0"),
    ((D, 2.5, 1), "hidden_size to be a positive int, got 2.5"),
    ((D, H, 0), "num_layers to be a positive int, got 0"),
])
def test_bad_sizes(name, sizes, message):
    constructor, _ = MODELS[name]
    with pytest.raises(ValueError, match=message):
        constructor(*sizes)
