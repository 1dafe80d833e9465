"""lstm_ref.torch against torch.nn in float64: outputs, final states and every gradient.

Each case builds one of our models, copies its state_dict into the torch.nn twin, runs
both on the same input and initial state, back-propagates the same random weighting
of the outputs and final states, and compares everything to float64 round-off.
"""

import math

import pytest
import torch

import lstm_ref.torch as ours

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=1e-10, atol=1e-10)


def build(kind, num_layers, bidirectional, **options):
    """Our model and the torch.nn one, holding the same parameters (float64)."""
    torch.manual_seed(0)
    ours_class, torch_class, torch_options = {
        "rnn_tanh": (ours.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
        "rnn_relu": (ours.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
        "lstm": (ours.LSTM, torch.nn.LSTM, {}),
        "gru": (ours.GRU, torch.nn.GRU, {}),
    }[kind]
    options = {"batch_first": True, **options}
    model = ours_class(D, H, num_layers, bidirectional=bidirectional, dtype=torch.float64,
                       **torch_options, **options)
    reference = torch_class(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                            dtype=torch.float64, **torch_options)
    reference.load_state_dict(model.state_dict())
    return model, reference


def run_and_backprop(model, x, state, n_state, batch_first=True):
    """Forward, then backward a fixed random weighting of out and the final states.

    Returns the outputs, the final states, and the gradients of x, the initial
    states and every named parameter.
    """
    x = x.clone().requires_grad_(True)
    initial = None if state is None else [s.clone().requires_grad_(True) for s in state]
    if initial is None:
        out, final = model(x)
    elif n_state == 1:
        out, final = model(x, initial[0])
    else:
        out, final = model(x, tuple(initial))
    finals = [final] if n_state == 1 else list(final)
    generator = torch.Generator().manual_seed(1)
    out_weights = torch.randn(B, T, out.shape[2], generator=generator, dtype=out.dtype)
    loss = (out * (out_weights if batch_first else out_weights.transpose(0, 1))).sum()
    for f in finals:
        loss = loss + (f * torch.randn(f.shape, generator=generator, dtype=f.dtype)).sum()
    model.zero_grad()
    loss.backward()
    grads = {"x": x.grad}
    if initial is not None:
        grads.update({f"state{i}": s.grad for i, s in enumerate(initial)})
    grads.update({name: p.grad for name, p in model.named_parameters()})
    return out, finals, grads


def assert_parity(model, reference, n_state, with_state, batch_first=True):
    torch.manual_seed(2)
    x = torch.randn(B, T, D, dtype=torch.float64)
    num_directions = 2 if reference.bidirectional else 1
    state = None
    if with_state:
        state = [torch.randn(reference.num_layers * num_directions, B, H, dtype=torch.float64)
                 for _ in range(n_state)]
    out, finals, grads = run_and_backprop(model, x if batch_first else x.transpose(0, 1),
                                          state, n_state, batch_first)
    ref_out, ref_finals, ref_grads = run_and_backprop(reference, x, state, n_state)
    if not batch_first:
        out = out.transpose(0, 1)
        grads["x"] = grads["x"].transpose(0, 1)
    torch.testing.assert_close(out, ref_out, **TOL)
    for final, ref_final in zip(finals, ref_finals):
        torch.testing.assert_close(final, ref_final, **TOL)
    assert grads.keys() == ref_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], ref_grads[name], **TOL, msg=name)


LAYOUTS = [(1, False), (1, True), (2, False), (2, True)]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("num_layers,bidirectional", LAYOUTS,
                         ids=["1layer", "1layer_bi", "2layers", "2layers_bi"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "gru"])
def test_rnn_and_gru_match_torch(kind, num_layers, bidirectional, with_state):
    model, reference = build(kind, num_layers, bidirectional)
    assert_parity(model, reference, 1, with_state)


def test_rnn_time_major_matches_torch():
    model, _ = build("rnn_tanh", 2, True, batch_first=False)
    reference = torch.nn.RNN(D, H, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    reference.load_state_dict(model.state_dict())
    assert_parity(model, reference, 1, True, batch_first=False)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("num_layers,bidirectional", LAYOUTS,
                         ids=["1layer", "1layer_bi", "2layers", "2layers_bi"])
def test_lstm_matches_torch(num_layers, bidirectional, with_state, fast):
    model, reference = build("lstm", num_layers, bidirectional, fast=fast)
    assert_parity(model, reference, 2, with_state)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_lstm_time_major_matches_torch(fast):
    model, _ = build("lstm", 2, True, batch_first=False, fast=fast)
    reference = torch.nn.LSTM(D, H, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    reference.load_state_dict(model.state_dict())
    assert_parity(model, reference, 2, True, batch_first=False)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_round_trip_both_ways(kind):
    model, reference = build(kind, 2, True)
    # the parameters are registered in torch.nn's order with torch.nn's shapes
    assert [(n, p.shape) for n, p in model.named_parameters()] == \
        [(n, p.shape) for n, p in reference.named_parameters()]
    # torch.nn -> ours: a freshly initialised torch.nn model loads strictly into ours
    fresh_reference = type(reference)(D, H, 2, bidirectional=True, batch_first=True,
                                      dtype=torch.float64)
    model.load_state_dict(fresh_reference.state_dict())
    for name, parameter in model.state_dict().items():
        assert torch.equal(parameter, fresh_reference.state_dict()[name])
    # ours -> torch.nn, after drawing new values so that the copy has something to move
    torch.manual_seed(5)
    model.reset_parameters()
    assert not torch.equal(model.weight_hh_l1_reverse, fresh_reference.weight_hh_l1_reverse)
    fresh_reference.load_state_dict(model.state_dict())
    for name, parameter in fresh_reference.state_dict().items():
        assert torch.equal(parameter, model.state_dict()[name])


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_initialisation_is_torch_nn_uniform(kind):
    torch.manual_seed(0)
    model, _ = build(kind, 1, False)
    bound = 1 / math.sqrt(H)
    values = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert values.abs().max() <= bound
    # U(-a, a) has standard deviation a / sqrt(3); with a few hundred draws, within 20 %
    assert abs(values.std().item() - bound / math.sqrt(3)) < 0.2 * bound / math.sqrt(3)


def test_rnn_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="'tanh' or 'relu'.*'sigmoid'"):
        ours.RNN(D, H, nonlinearity="sigmoid")
