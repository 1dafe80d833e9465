"""lstm_ref.chapters.rnn_limits against torch autograd and against the linear case."""

import numpy as np
import pytest
import torch

from lstm_ref.chapters.rnn_limits import scale_to_spectral_radius, spectral_radius, state_jacobian_norms


def random_rnn(rng, D=3, H=5):
    return (rng.standard_normal((H, D)), rng.standard_normal((H, H)) / np.sqrt(H),
            0.1 * rng.standard_normal(H), 0.1 * rng.standard_normal(H))


@pytest.mark.parametrize("radius", [0.0, 0.5, 1.0, 2.5])
def test_scale_to_spectral_radius(radius):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 6))
    scaled = scale_to_spectral_radius(W, radius)
    assert scaled.shape == W.shape and scaled.dtype == W.dtype
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(scaled)).max(), radius, atol=1e-12)
    if radius > 0:   # same direction: a positive multiple of W
        ratio = scaled / W
        np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-12)
        assert ratio[0, 0] > 0
    assert scale_to_spectral_radius(W.astype(np.float32), 1.0).dtype == np.float32


def test_scale_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        scale_to_spectral_radius(np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="radius"):
        scale_to_spectral_radius(np.eye(2), -1.0)
    with pytest.raises(ValueError, match="spectral radius 0"):
        scale_to_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)
    with pytest.raises(ValueError, match="dtype"):
        scale_to_spectral_radius(np.eye(2, dtype=int), 1.0)


def test_jacobian_norms_match_torch_autograd():
    rng = np.random.default_rng(1)
    B, T, D, H = 2, 6, 3, 5
    W_ih, W_hh, b_ih, b_hh = random_rnn(rng, D, H)
    x = rng.standard_normal((B, T, D))
    h0 = 0.3 * rng.standard_normal((B, H))
    norms = state_jacobian_norms(x, W_ih, W_hh, b_ih, b_hh, h0)
    assert norms.shape == (B, T + 1) and norms.dtype == np.float64

    params = [torch.tensor(p) for p in (W_ih, W_hh, b_ih, b_hh)]
    xt = torch.tensor(x)

    def run(h, start, stop, b):
        for t in range(start, stop):
            h = torch.tanh(params[0] @ xt[b, t] + params[2] + params[1] @ h + params[3])
        return h

    for b in range(B):
        states = [torch.tensor(h0[b])]
        for t in range(T):
            states.append(run(states[-1], t, t + 1, b))
        for k in range(T + 1):   # h_T as a function of h_{T-k}
            jac = torch.autograd.functional.jacobian(lambda h: run(h, T - k, T, b), states[T - k])
            np.testing.assert_allclose(norms[b, k], torch.linalg.matrix_norm(jac, ord=2).item(),
                                       rtol=1e-10)


def test_small_states_give_powers_of_W_hh():
    # with zero input and h0 = 0 every state is 0, tanh' = 1, and dh_T/dh_{T-k} = W_hh^k
    rng = np.random.default_rng(2)
    W_ih, W_hh, _, _ = random_rnn(rng, 2, 4)
    W_hh = scale_to_spectral_radius(W_hh, 1.5)
    norms = state_jacobian_norms(np.zeros((1, 8, 2)), W_ih, W_hh, np.zeros(4), np.zeros(4))
    expected = [np.linalg.norm(np.linalg.matrix_power(W_hh, k), 2) for k in range(9)]
    np.testing.assert_allclose(norms[0], expected, rtol=1e-12)
    assert spectral_radius(W_hh) == pytest.approx(1.5)


def test_jacobian_norms_check_shapes():
    rng = np.random.default_rng(3)
    W_ih, W_hh, b_ih, b_hh = random_rnn(rng, 3, 5)
    with pytest.raises(ValueError, match=r"W_ih must have shape \(5, 3\)"):
        state_jacobian_norms(np.zeros((1, 4, 3)), W_ih.T, W_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="x must have shape"):
        state_jacobian_norms(np.zeros((4, 3)), W_ih, W_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="h0"):
        state_jacobian_norms(np.zeros((2, 4, 3)), W_ih, W_hh, b_ih, b_hh, np.zeros((1, 5)))
