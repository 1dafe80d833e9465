"""lstm_ref.numpy utilities: activations, losses, optimisers, clipping, gradcheck, TBPTT."""

import warnings

import numpy as np
import pytest
import torch

from lstm_ref.numpy import (
    GRU,
    LSTM,
    RNN,
    SGD,
    Adam,
    PeepholeLSTM,
    check_gradients,
    clip_grad_norm,
    max_relative_error,
    mse,
    numerical_gradient,
    sigmoid,
    softmax_cross_entropy,
    truncated_bptt,
)

# ---------------------------------------------------------------- activations

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_silent_and_accurate(dtype):
    x = np.array([-1e4, -800.0, -50.0, -3.0, 0.0, 2.5, 60.0, 900.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        y = sigmoid(x)
    assert y.dtype == dtype
    assert np.all((y >= 0) & (y <= 1))
    assert y[0] < 1e-9 and y[-1] == 1.0 and y[4] == 0.5
    moderate = np.linspace(-20, 20, 81).astype(dtype)
    exact = 1.0 / (1.0 + np.exp(-moderate.astype(np.float64)))
    np.testing.assert_allclose(sigmoid(moderate), exact, rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("model_class", [RNN, LSTM, GRU, PeepholeLSTM])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_inputs_stay_finite(model_class, dtype):
    model = model_class(5, 7, 2, True, seed=0)
    x = (np.random.default_rng(0).standard_normal((3, 6, 5)) * 1e4).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out, state = model.forward(x)
        # backward multiplies gradients by gate values near 0: those may underflow to 0
        # (harmless), but nothing may overflow or turn into NaN
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            dx, dstate = model.backward(np.full_like(out, 1e3))
    states = state if isinstance(state, tuple) else (state,)
    assert np.isfinite(out).all() and all(np.isfinite(s).all() for s in states)
    assert np.isfinite(dx).all()
    assert all(np.isfinite(g).all() for g in model.grads.values())


# ---------------------------------------------------------------- losses

def test_cross_entropy_matches_torch_and_finite_differences():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 5)) * 3
    targets = rng.integers(0, 5, size=(2, 3))
    loss, dlogits = softmax_cross_entropy(logits, targets)
    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, 5), torch.tensor(targets).reshape(-1))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, logits_t.grad.numpy(), rtol=1e-10, atol=1e-14)

    def loss_and_grads(arrays):
        value, grad = softmax_cross_entropy(arrays["logits"], targets)
        return value, {"logits": grad}

    errors = check_gradients(loss_and_grads, arrays={"logits": logits.copy()})
    assert errors["logits"] < 1e-7


def test_cross_entropy_mask_ignores_padding():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((2, 4, 3))
    targets = rng.integers(0, 3, size=(2, 4))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=bool)
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    kept_loss, kept_grad = softmax_cross_entropy(logits[mask], targets[mask])
    assert loss == pytest.approx(kept_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits[mask], kept_grad, rtol=1e-12)
    assert np.all(dlogits[~mask] == 0)
    with np.errstate(all="raise"):
        big_loss, big_grad = softmax_cross_entropy(logits * 1e4, targets)
    assert np.isfinite(big_loss) and np.isfinite(big_grad).all()


def test_cross_entropy_rejects_bad_targets():
    logits = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"expected values in \[0, 4\)"):
        softmax_cross_entropy(logits, np.full((2, 3), 4))
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\)"):
        softmax_cross_entropy(logits, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="expected integer class indices"):
        softmax_cross_entropy(logits, np.zeros((2, 3)))


def test_mse_value_and_gradient():
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    loss, dpred = mse(pred, target)
    pred_t = torch.tensor(pred, requires_grad=True)
    loss_t = torch.nn.functional.mse_loss(pred_t, torch.tensor(target))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(dpred, pred_t.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected shape \(3, 4, 2\)"):
        mse(pred, target[:, :3])


# ---------------------------------------------------------------- optimisers

def _torch_params(params):
    return {k: torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()}


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_torch(weight_decay):
    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(4)}
    reference = _torch_params(params)
    ours = Adam(params, lr=0.01, betas=(0.8, 0.99), weight_decay=weight_decay)
    theirs = torch.optim.Adam(reference.values(), lr=0.01, betas=(0.8, 0.99),
                              weight_decay=weight_decay)
    for _ in range(5):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        ours.step(grads)
        for k, p in reference.items():
            p.grad = torch.tensor(grads[k])
        theirs.step()
    for k in params:
        np.testing.assert_allclose(params[k], reference[k].detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(momentum):
    rng = np.random.default_rng(4)
    params = {"W": rng.standard_normal((2, 3))}
    reference = _torch_params(params)
    ours, theirs = SGD(params, lr=0.1, momentum=momentum), torch.optim.SGD(
        reference.values(), lr=0.1, momentum=momentum)
    for _ in range(4):
        grads = {"W": rng.standard_normal((2, 3))}
        ours.step(grads)
        reference["W"].grad = torch.tensor(grads["W"])
        theirs.step()
    np.testing.assert_allclose(params["W"], reference["W"].detach().numpy(), rtol=1e-13)


def test_optimiser_trains_a_model_in_place():
    model, teacher = LSTM(2, 8, seed=0), LSTM(2, 8, seed=1)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6, 2))
    target, _ = teacher.forward(x)          # a target the model can represent
    optimiser = Adam(model.params, lr=0.02)
    losses = []
    for _ in range(40):
        out, _ = model.forward(x)
        loss, dout = mse(out, target)
        model.backward(dout)
        optimiser.step(model.grads)
        losses.append(loss)
    assert losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="missing"):
        optimiser.step({})


# ---------------------------------------------------------------- clipping

def test_clip_grad_norm_scales_to_max_norm_like_torch():
    rng = np.random.default_rng(6)
    grads = {"a": rng.standard_normal((3, 4)) * 10, "b": rng.standard_normal(5) * 10}
    expected_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    tensors = [torch.tensor(g) for g in grads.values()]
    parameters = [torch.nn.Parameter(torch.zeros_like(t)) for t in tensors]
    for p, t in zip(parameters, tensors):
        p.grad = t.clone()
    torch_norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm=1.5)

    norm = clip_grad_norm(grads, max_norm=1.5)
    assert norm == pytest.approx(expected_norm, rel=1e-12)
    assert norm == pytest.approx(torch_norm.item(), rel=1e-12)
    clipped_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    assert clipped_norm == pytest.approx(1.5, rel=1e-5)
    for g, p in zip(grads.values(), parameters):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = {"a": np.array([0.3, 0.4])}
    assert clip_grad_norm(grads, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])
    with pytest.raises(ValueError, match="max_norm: expected a positive number"):
        clip_grad_norm(grads, 0.0)


# ---------------------------------------------------------------- gradcheck

def test_gradcheck_accepts_right_and_flags_wrong_gradients():
    rng = np.random.default_rng(7)
    arrays = {"W": rng.standard_normal((3, 2)), "v": rng.standard_normal(2)}

    def right(a):  # L = sum(tanh(W v))
        y = np.tanh(a["W"] @ a["v"])
        dy = 1 - y ** 2
        return y.sum(), {"W": np.outer(dy, a["v"]), "v": a["W"].T @ dy}

    def wrong(a):  # forgets the tanh' factor in dv
        loss, grads = right(a)
        grads["v"] = a["W"].T @ np.ones(3)
        return loss, grads

    assert max(check_gradients(right, arrays=arrays).values()) < 1e-8
    errors = check_gradients(wrong, arrays=arrays)
    assert errors["W"] < 1e-8 and errors["v"] > 1e-2


def test_numerical_gradient_orders_and_relative_error():
    x = np.array([0.3, -1.2, 2.0])

    def f():
        return float(np.sum(np.sin(x) * x))

    exact = np.sin(x) + x * np.cos(x)
    assert max_relative_error(exact, numerical_gradient(f, x, 1e-5)) < 1e-8
    assert max_relative_error(exact, numerical_gradient(f, x, 1e-3, order=4)) < 1e-11
    assert max_relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert max_relative_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(f, x.astype(np.float32))


# ---------------------------------------------------------------- truncated BPTT

def _sum_loss(targets):
    def loss_fn(out, time_slice):
        diff = out - targets[:, time_slice]
        return 0.5 * np.sum(diff * diff), diff
    return loss_fn


@pytest.mark.parametrize("model_class", [LSTM, GRU])
def test_tbptt_with_k_at_least_T_is_full_bptt(model_class):
    rng = np.random.default_rng(8)
    x, targets = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 7, 4))
    model = model_class(3, 4, 2, seed=0)
    out, final = model.forward(x)
    full_loss, dout = _sum_loss(targets)(out, slice(0, 7))
    model.backward(dout)
    full_grads = {k: v.copy() for k, v in model.grads.items()}
    for k in (7, 10):
        result = truncated_bptt(model, x, k, _sum_loss(targets))
        assert result.loss == pytest.approx(full_loss, rel=1e-13)
        for name in full_grads:
            np.testing.assert_allclose(result.grads[name], full_grads[name], rtol=1e-12, atol=1e-14)


def test_tbptt_carries_state_but_not_gradient():
    rng = np.random.default_rng(9)
    x, targets = rng.standard_normal((2, 8, 3)), rng.standard_normal((2, 8, 4))
    model = LSTM(3, 4, seed=1)
    out_full, (h_full, c_full) = model.forward(x)
    full_loss, dout = _sum_loss(targets)(out_full, slice(0, 8))
    model.backward(dout)
    full_grads = {k: v.copy() for k, v in model.grads.items()}

    result = truncated_bptt(model, x, 3, _sum_loss(targets))
    # the forward values do not depend on k: same loss, same final state
    assert result.loss == pytest.approx(full_loss, rel=1e-12)
    np.testing.assert_allclose(result.state[0], h_full, rtol=1e-12)
    np.testing.assert_allclose(result.state[1], c_full, rtol=1e-12)
    # the gradient is the sum of three independent chunk gradients ...
    expected = None
    state = None
    for start in (0, 3, 6):
        chunk = slice(start, min(start + 3, 8))
        out, next_state = model.forward(x[:, chunk], state)
        model.backward(_sum_loss(targets)(out, chunk)[1])
        expected = ({k: v.copy() for k, v in model.grads.items()} if expected is None
                    else {k: expected[k] + model.grads[k] for k in expected})
        state = next_state
    for name in expected:
        np.testing.assert_allclose(result.grads[name], expected[name], rtol=1e-12, atol=1e-14)
    # ... which is not the full gradient (the cut paths are missing)
    assert max(np.abs(result.grads[n] - full_grads[n]).max() for n in full_grads) > 1e-4
    with pytest.raises(ValueError, match="k: expected an integer >= 1"):
        truncated_bptt(model, x, 0, _sum_loss(targets))
