"""lstm_ref.numpy: every bad input raises ValueError naming what was expected and given."""

import numpy as np
import pytest
import torch

from lstm_ref.numpy import GRU, LSTM, RNN, PeepholeLSTM

MODELS = [RNN, LSTM, GRU, PeepholeLSTM]
B, T, D, H = 2, 3, 4, 5


def _state(model_class, shape):
    if model_class in (LSTM, PeepholeLSTM):
        return (np.zeros(shape), np.zeros(shape))
    return np.zeros(shape)


@pytest.mark.parametrize("model_class", MODELS)
class TestForwardInputs:
    def test_wrong_rank(self, model_class):
        with pytest.raises(ValueError, match=r"expected a 3-D array .*\(B, T, 4\), got 2-D with shape \(3, 4\)"):
            model_class(D, H).forward(np.zeros((T, D)))

    def test_wrong_feature_size(self, model_class):
        with pytest.raises(ValueError, match=r"expected feature size 4 .*got 7"):
            model_class(D, H).forward(np.zeros((B, T, 7)))

    @pytest.mark.parametrize("bad, dtype_name", [
        (np.zeros((B, T, D), dtype=np.int64), "int64"),
        (np.zeros((B, T, D), dtype=bool), "bool"),
        (np.zeros((B, T, D), dtype=object), "object"),
        (np.zeros((B, T, D), dtype=np.complex128), "complex128"),
    ])
    def test_non_float_input(self, model_class, bad, dtype_name):
        with pytest.raises(ValueError, match=f"expected dtype float32 or float64, got {dtype_name}"):
            model_class(D, H).forward(bad)

    def test_ragged_input(self, model_class):
        with pytest.raises(ValueError, match="expected an array of float32 or float64"):
            model_class(D, H).forward([[[0.0] * D], [[0.0] * D, [0.0] * D]])

    def test_empty_sequence(self, model_class):
        with pytest.raises(ValueError, match="at least one sequence and one time step"):
            model_class(D, H).forward(np.zeros((B, 0, D)))

    def test_state_with_wrong_batch(self, model_class):
        model = model_class(D, H, 2, True)
        with pytest.raises(ValueError, match=r"h0: expected shape \(4, 2, 5\), got \(4, 3, 5\)"):
            model.forward(np.zeros((B, T, D)), _state(model_class, (4, 3, H)))

    def test_state_with_wrong_layer_count(self, model_class):
        model = model_class(D, H, 2, True)
        with pytest.raises(ValueError, match=r"expected shape \(4, 2, 5\), got \(2, 2, 5\)"):
            model.forward(np.zeros((B, T, D)), _state(model_class, (2, B, H)))

    def test_integer_state(self, model_class):
        model = model_class(D, H)
        state = _state(model_class, (1, B, H))
        state = (tuple(s.astype(int) for s in state) if isinstance(state, tuple)
                 else state.astype(int))
        with pytest.raises(ValueError, match="h0: expected dtype float32 or float64, got int64"):
            model.forward(np.zeros((B, T, D)), state)

    def test_dout_shape(self, model_class):
        model = model_class(D, H, 1, True)
        model.forward(np.zeros((B, T, D)))
        with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3, 10\), got \(2, 3, 5\)"):
            model.backward(np.zeros((B, T, H)))

    def test_dstate_shape(self, model_class):
        model = model_class(D, H)
        model.forward(np.zeros((B, T, D)))
        with pytest.raises(ValueError, match=r"dh_n: expected shape \(1, 2, 5\), got \(1, 2, 6\)"):
            model.backward(np.zeros((B, T, H)), _state(model_class, (1, B, 6)))

    def test_backward_before_forward(self, model_class):
        with pytest.raises(ValueError, match="expected a previous call to forward"):
            model_class(D, H).backward(np.zeros((B, T, H)))


@pytest.mark.parametrize("model_class", [LSTM, PeepholeLSTM])
def test_lstm_state_must_be_a_pair(model_class):
    model = model_class(D, H)
    with pytest.raises(ValueError, match=r"expected a tuple \(h0, c0\) .*got a single ndarray"):
        model.forward(np.zeros((B, T, D)), np.zeros((1, B, H)))
    with pytest.raises(ValueError, match=r"expected a tuple \(h0, c0\) .*got a tuple of length 1"):
        model.forward(np.zeros((B, T, D)), (np.zeros((1, B, H)),))


@pytest.mark.parametrize("model_class", [RNN, GRU])
def test_rnn_state_must_be_one_array(model_class):
    with pytest.raises(ValueError, match=r"h0: expected one array of shape \(1, 2, 5\), got a tuple"):
        model_class(D, H).forward(np.zeros((B, T, D)), (np.zeros((1, B, H)), np.zeros((1, B, H))))


@pytest.mark.parametrize("model_class", MODELS)
class TestStateDict:
    def test_missing_key(self, model_class):
        model = model_class(D, H, 2)
        weights = model.state_dict()
        del weights["bias_hh_l1"]
        with pytest.raises(ValueError, match=r"missing keys \['bias_hh_l1'\]"):
            model.load_state_dict(weights)

    def test_unexpected_key(self, model_class):
        model = model_class(D, H)
        weights = dict(model.state_dict(), weight_ih_l0_reverse=np.zeros((H, D)))
        with pytest.raises(ValueError, match=r"unexpected keys \['weight_ih_l0_reverse'\]"):
            model.load_state_dict(weights)

    def test_wrong_shape(self, model_class):
        model = model_class(D, H)
        weights = model.state_dict()
        rows = weights["weight_hh_l0"].shape[0]
        weights["weight_hh_l0"] = np.zeros((rows, H + 1))
        with pytest.raises(ValueError, match=rf"state_dict\['weight_hh_l0'\]: expected shape \({rows}, 5\), got \({rows}, 6\)"):
            model.load_state_dict(weights)

    def test_integer_values(self, model_class):
        model = model_class(D, H)
        weights = model.state_dict()
        weights["bias_ih_l0"] = weights["bias_ih_l0"].astype(np.int32)
        with pytest.raises(ValueError, match="bias_ih_l0.*expected dtype float32 or float64, got int32"):
            model.load_state_dict(weights)

    def test_failed_load_changes_nothing(self, model_class):
        model = model_class(D, H)
        before = model.state_dict()
        weights = {k: np.ones_like(v) for k, v in before.items()}
        weights["bias_hh_l0"] = np.ones(3)
        with pytest.raises(ValueError):
            model.load_state_dict(weights)
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[name])

    def test_float32_arrays_and_tensors_are_accepted(self, model_class):
        model = model_class(D, H)
        weights32 = {k: v.astype(np.float32) for k, v in model.state_dict().items()}
        model.load_state_dict(weights32)
        assert all(v.dtype == np.float64 for v in model.params.values())
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights32.items()})
        np.testing.assert_array_equal(model.params["weight_ih_l0"], weights32["weight_ih_l0"])

    def test_not_a_dict(self, model_class):
        with pytest.raises(ValueError, match="expected a dict of arrays, got list"):
            model_class(D, H).load_state_dict([1, 2])


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_size=0, hidden_size=H), "input_size: expected an integer >= 1, got 0"),
    (dict(input_size=D, hidden_size=2.5), "hidden_size: expected an integer >= 1, got 2.5"),
    (dict(input_size=D, hidden_size=H, num_layers=0), "num_layers: expected an integer >= 1, got 0"),
    (dict(input_size=D, hidden_size=H, dtype=np.int32), "dtype: expected float32 or float64, got int32"),
    (dict(input_size=D, hidden_size=H, seed=1, rng=np.random.default_rng(1)),
     "expected at most one of seed and rng"),
])
@pytest.mark.parametrize("model_class", MODELS)
def test_bad_constructor_arguments(model_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_class(**kwargs)


def test_bad_rnn_nonlinearity():
    with pytest.raises(ValueError, match="expected 'tanh' or 'relu', got 'sigmoid'"):
        RNN(D, H, nonlinearity="sigmoid")


def test_step_and_sequence_functions_name_the_bad_argument():
    from lstm_ref.numpy import (
        gru_step_forward,
        lstm_backward,
        lstm_forward,
        lstm_forward_fast,
        lstm_step_forward,
        peephole_step_forward,
        rnn_forward,
        rnn_step_backward,
        rnn_step_forward,
    )

    x, h = np.zeros((B, D)), np.zeros((B, H))
    W1, W4 = np.zeros((H, D)), np.zeros((4 * H, D))
    with pytest.raises(ValueError, match=r"W_hh: expected shape \(5, 5\).*got \(5, 4\)"):
        rnn_step_forward(x, h, W1, np.zeros((H, D)), np.zeros(H), np.zeros(H))
    with pytest.raises(ValueError, match=r"h_prev: expected shape \(B, H\) with B = 2"):
        rnn_step_forward(x, np.zeros((3, H)), W1, np.zeros((H, H)), np.zeros(H), np.zeros(H))
    with pytest.raises(ValueError, match=r"x_t: expected a float array, got dtype int64"):
        rnn_step_forward(x.astype(np.int64), h, W1, np.zeros((H, H)), np.zeros(H), np.zeros(H))
    _, cache = rnn_step_forward(x, h, W1, np.zeros((H, H)), np.zeros(H), np.zeros(H))
    with pytest.raises(ValueError, match=r"dh_t: expected shape \(2, 5\), got \(5,\)"):
        rnn_step_backward(np.zeros(H), cache)
    with pytest.raises(ValueError, match=r"b_ih: expected shape \(20,\)"):
        lstm_step_forward(x, h, h, W4, np.zeros((4 * H, H)), np.zeros(H), np.zeros(4 * H))
    with pytest.raises(ValueError, match=r"W_ih: expected shape \(15, 4\)"):
        gru_step_forward(x, h, W4, np.zeros((3 * H, H)), np.zeros(3 * H), np.zeros(3 * H))
    with pytest.raises(ValueError, match=r"w_co: expected shape \(5,\)"):
        peephole_step_forward(x, h, h, W4, np.zeros((4 * H, H)), np.zeros(4 * H),
                              np.zeros(4 * H), np.zeros(H), np.zeros(H), np.zeros(H + 1))
    with pytest.raises(ValueError, match=r"x: expected a 3-D array \(B, T, D\)"):
        rnn_forward(x, h, W1, np.zeros((H, H)), np.zeros(H), np.zeros(H))
    weights = (W4, np.zeros((4 * H, H)), np.zeros(4 * H), np.zeros(4 * H))
    with pytest.raises(ValueError, match=r"c_prev: expected shape \(2, 5\)"):
        lstm_forward_fast(np.zeros((B, T, D)), h, np.zeros((B, H + 1)), *weights)
    _, _, caches = lstm_forward(np.zeros((B, T, D)), h, h, *weights)
    with pytest.raises(ValueError, match=r"dh: expected shape \(2, 3, 5\), got \(2, 5\)"):
        lstm_backward(np.zeros((B, H)), caches)
